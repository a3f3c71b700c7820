/*
 * flexiai-batchapi.h - the providers' own batch APIs (half price, answers
 * within a day): OpenAI's Batch API (a JSONL file uploaded with purpose
 * "batch", then POST /v1/batches), Anthropic's Message Batches (POST
 * /v1/messages/batches) and Gemini's batch mode (POST v1beta/models/
 * {m}:batchGenerateContent with the requests inline).  The conventions of
 * flexiai.h hold here.
 *
 * A program writes each item's request into an input file with a writer
 * (the same request body a live request sends, made by the same provider
 * code), submits the file, polls the job's status, downloads its results
 * into a file and turns each result line into a flexiai_result priced with
 * the provider's price_batch_factor.
 *
 * Gemini: a provider of type gemini only.  Vertex AI's batch prediction is
 * another API (input and output in Cloud Storage or BigQuery), not spoken:
 * flexiai_batchapi_supported() says 0 for type vertex.  A Gemini job has
 * one model (it is in the URL): flexiai_batchapi_add() refuses an item of
 * another model than the writer's first with FLEXIAI_EDATA (a new writer
 * takes it).  The job id is the batch's name, "batches/...".  Its answers
 * come inside the batch (flexiai_batchapi_download() writes them one a
 * line) or in a responses file ("files/...", downloaded as it is).
 */
#ifndef FLEXIAI_BATCHAPI_H
#define FLEXIAI_BATCHAPI_H

#include "flexiai.h"

#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The most items and input bytes one provider job takes (OpenAI: 50 000
 * requests, 200 MB; Anthropic: 100 000 requests, 256 MB; Gemini: inline
 * requests under 20 MB, and 10 000 items, flexiai's number: Google
 * documents no count). */
typedef struct flexiai_batchapi_limits {
    long max_items;
    long long max_bytes;
} flexiai_batchapi_limits;

/* 1 when the provider `name` has a batch API flexiai speaks (with its
 * limits in *lim, which may be NULL); 0 otherwise. */
int flexiai_batchapi_supported(flexiai_client *c, const char *name,
                               flexiai_batchapi_limits *lim);

/* An input file being written for provider `name` (fp stays the
 * caller's).  NULL with *err when the provider has no batch API. */
typedef struct flexiai_batchapi_writer flexiai_batchapi_writer;
flexiai_batchapi_writer *flexiai_batchapi_writer_new(flexiai_client *c,
                                                     const char *name, FILE *fp,
                                                     char **err);
/* One item: its request body as a live request makes it (not streamed),
 * under custom_id (letters, digits, '-' and '_', at most 64).  FLEXIAI_OK,
 * or FLEXIAI_EDATA (the item cannot join this job: Gemini, another model)
 * / FLEXIAI_ECONFIG / FLEXIAI_EUSAGE with *err (nothing written), or
 * FLEXIAI_EIO. */
flexiai_code flexiai_batchapi_add(flexiai_batchapi_writer *w,
                                  const char *custom_id,
                                  const flexiai_request *req, char **err);
/* Bytes written so far. */
long long flexiai_batchapi_bytes(const flexiai_batchapi_writer *w);
/* Ends the file (closing brackets); FLEXIAI_OK or FLEXIAI_EIO. */
flexiai_code flexiai_batchapi_finish(flexiai_batchapi_writer *w);
void flexiai_batchapi_writer_free(flexiai_batchapi_writer *w);

/* Submit the finished input file at `path`: the provider's job id in
 * *job (caller frees).  FLEXIAI_OK, or with *err a flexiai_code as
 * flexiai_complete() returns for the provider's refusal (75 transient). */
flexiai_code flexiai_batchapi_submit(flexiai_client *c, const char *name,
                                     const char *path, char **job, char **err);

/* A job as the provider reports it. */
typedef struct flexiai_batchapi_status {
    char *status; /* the provider's word: in_progress, ended, completed...
                     (Gemini: its state without BATCH_STATE_, lower case:
                     pending, running, succeeded, expired...) */
    int ended;    /* 1: no more answers will come */
    long total, succeeded, failed, processing; /* failed: errored, expired,
                                                  canceled together */
    char *results;     /* what flexiai_batchapi_download() takes; NULL: none */
    char *errors;      /* OpenAI's error file; NULL: none */
    double expires_at; /* epoch seconds; 0 unknown */
} flexiai_batchapi_status;
void flexiai_batchapi_status_free(flexiai_batchapi_status *st);
flexiai_code flexiai_batchapi_status_get(flexiai_client *c, const char *name,
                                         const char *job,
                                         flexiai_batchapi_status *st,
                                         char **err);
flexiai_code flexiai_batchapi_cancel(flexiai_client *c, const char *name,
                                     const char *job, char **err);
/* The results (or errors) `what` of a status into the file at `path`
 * (created or truncated).  FLEXIAI_OK, else with *err. */
flexiai_code flexiai_batchapi_download(flexiai_client *c, const char *name,
                                       const char *what, const char *path,
                                       char **err);

/* One line of a results (or errors) file: its custom_id in *custom_id
 * (caller frees; NULL when the line has none) and the answer in *res,
 * priced with price_batch_factor.  Returns the item's code: FLEXIAI_OK
 * answered, FLEXIAI_ETEMPFAIL expired or canceled (may run again),
 * FLEXIAI_EDATA / EUNAVAILABLE for a request the provider refused or
 * failed (res->error says why), FLEXIAI_EPROTOCOL for a line that is not
 * a result. */
flexiai_code flexiai_batchapi_result(flexiai_client *c, const char *name,
                                     const char *line, size_t len,
                                     char **custom_id, flexiai_result *res);

/* The provider's price_batch_factor (default 0.5 for openai, anthropic
 * and gemini, 1 otherwise). */
double flexiai_batchapi_price_factor(const flexiai_config *cfg,
                                     const char *name);

/* Where a program keeps its jobs: the state directory ([sync]
 * state_dir), owned by cfg; NULL before flexiai_config_validate(). */
const char *flexiai_batchapi_state_dir(const flexiai_config *cfg);

#ifdef __cplusplus
}
#endif
#endif
