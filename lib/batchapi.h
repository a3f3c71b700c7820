/*
 * batchapi.h - what batchapi.c (the input and the results),
 * batchapi-http.c (the transfers) and batchapi-gemini.c (Gemini's own
 * shapes) share.  Not installed.
 */
#ifndef FX_BATCHAPI_H
#define FX_BATCHAPI_H

#include "client.h"
#include "flexiai-batchapi.h"
#include "http.h"

enum {
    FX_BATCHAPI_NONE,
    FX_BATCHAPI_OPENAI,    /* Chat Completions lines */
    FX_BATCHAPI_RESPONSES, /* an openai provider with api = responses */
    FX_BATCHAPI_ANTHROPIC,
    FX_BATCHAPI_GEMINI /* type gemini (not vertex): inline requests */
};

/* The provider `name` and its kind; NULL with *err (may be NULL) when it
 * is unknown or has no batch API. */
struct fx_provider *fx_batchapi_provider(flexiai_client *c, const char *name,
                                         int *kind, char **err);
/* The live request `req` would make at p (not streamed): its URL, headers
 * (with the key) and body.  0, or -1 with *err. */
int fx_batchapi_build(struct fx_provider *p, const flexiai_request *req,
                      struct fx_http_req *out, char **err);

/* batchapi-gemini.c.  The model of a live generateContent URL, escaped
 * as the URL has it (caller frees); NULL when the URL names none. */
char *fx_bgem_url_model(const char *url);
/* The API root ({base}/v1beta) of a live generateContent URL; NULL when
 * it has none. */
char *fx_bgem_root(const char *url);
/* The model line of a Gemini input file at path: the model in *model
 * (caller frees) and where the request body starts in *off.  0, or -1
 * with *err. */
int fx_bgem_model_line(const char *path, char **model, long long *off,
                       char **err);
/* 1 when id is a batch ("batches/...") or file ("files/...") name. */
int fx_bgem_id_ok(const char *id);
/* The HTTP status and the name of a google.rpc.Code. */
long fx_bgem_rpc_http(int code, const char **name);
/* The Operation of GET batches/{id} (job) as a status. */
void fx_bgem_status(const char *job, const char *body, size_t len,
                    flexiai_batchapi_status *st);
/* The inlined answers of the batch resource read from in, one JSONL line
 * each, to out (may be NULL), and the rest of the resource, its answers
 * left out, appended to rest (may be NULL): how many answers, or -1 when
 * the resource is not JSON. */
long fx_bgem_inline(FILE *in, FILE *out, fxu_buf *rest);

#endif
