/*
 * mockllm-batchapi.h - the providers' batch APIs (mockllm-batchapi.c):
 * OpenAI's files and batches, Anthropic's Message Batches, and their
 * behaviour set with POST /_batchapi/NAME.
 */
#ifndef MOCKLLM_BATCHAPI_H
#define MOCKLLM_BATCHAPI_H

#include <stddef.h>

/* Bodies of batch API requests may be this large (an OpenAI input file
 * is up to 200 MB). */
#define MOCK_BATCHAPI_MAX_BODY (256u * 1024u * 1024u)

/* 1 when `url` is a batch API path (or /_batchapi/). */
int mock_batchapi_path(const char *url);
/* The answer to a batch API request: its status, its body in *out
 * (malloc'ed) and its content type in *out_type.  has_key: the request
 * carried an API key. */
unsigned mock_batchapi_answer(const char *url, const char *method,
                              const char *body, size_t len, const char *ctype,
                              int has_key, char **out, const char **out_type);

/* mockllm-batchapi-gemini.c: 1 when p (after /p/NAME) is a path of
 * Gemini's batch mode; its answer (mockllm-batchapi.c holds the lock). */
int mock_bgem_path(const char *p);
unsigned mock_bgem_answer(const char *route, const char *p, const char *method,
                          const char *body, int has_key, char **out,
                          const char **out_type);

#endif
