/*
 * batchapi.h - what batchapi.c (the input and the results) and
 * batchapi-http.c (the transfers) share.  Not installed.
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
    FX_BATCHAPI_ANTHROPIC
};

/* The provider `name` and its kind; NULL with *err (may be NULL) when it
 * is unknown or has no batch API. */
struct fx_provider *fx_batchapi_provider(flexiai_client *c, const char *name,
                                         int *kind, char **err);
/* The live request `req` would make at p (not streamed): its URL, headers
 * (with the key) and body.  0, or -1 with *err. */
int fx_batchapi_build(struct fx_provider *p, const flexiai_request *req,
                      struct fx_http_req *out, char **err);

#endif
