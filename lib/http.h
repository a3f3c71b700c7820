/*
 * http.h - the transfer (http.c: libcurl, one reused connection, or one
 * easy handle on the engine's multi) and one attempt at one provider
 * (attempt.c: build, perform, classify).  Not installed.
 */
#ifndef FX_HTTP_H
#define FX_HTTP_H

#include <signal.h>

#include "fx.h"
#include "providers/providers.h"

/* ---- http.c ----------------------------------------------------------- */

struct fx_http; /* one per client: reused connection */
/* libcurl's global start, once for the process (at the first transfer):
 * 0, or -1 when curl_global_init() failed. */
int fx_curl_start(void);

struct fx_http *fx_http_new(void);
void fx_http_free(struct fx_http *h);

struct fx_http_opts {
    double timeout, connect_timeout, idle_timeout;
    int insecure;
    const char *tls_ca; /* CA file or directory; NULL: the system's */
    volatile sig_atomic_t *cancel;
    /* streaming: 2xx bodies go through the SSE parser into parse_event */
    const struct fx_provider_ops *ops;
    struct fx_stream *stream; /* NULL: buffer the body */
    size_t max_response;      /* bytes of one answer; 0: 16 MiB */
};

struct fx_http_result {
    long status;  /* 0: no HTTP answer */
    fxu_buf body; /* whole body unless streamed 2xx */
    struct fx_headers headers;
    int transport_cls; /* FLEXIAI_E_NONE, _CONNECT, _TIMEOUT, _STREAM_ERROR
                          (connection dropped), _CANCELLED */
    char transport_msg[256];
    int stream_incomplete; /* 2xx stream ended without end marker */
    double elapsed_ms;
};
void fx_http_result_free(struct fx_http_result *r);
/* Perform the transfer.  Returns 0 when an HTTP answer arrived (any
 * status), -1 on transport failure (transport_cls says which). */
int fx_http_perform(struct fx_http *h, const struct fx_http_req *req,
                    const struct fx_http_opts *opts,
                    struct fx_http_result *res);

/* One transfer on a caller's easy handle (a CURL *), for a caller that
 * drives its own multi handle (engine.c).  fx_xfer_new() sets the handle's
 * options; the caller adds it to its multi, calls fx_xfer_check() now and
 * then (non-zero: end the transfer now, for that reason), and after
 * removing the handle calls fx_xfer_finish() with why (0 when curl
 * finished it), whether curl reported it done and its CURLcode.  finish
 * fills res as fx_http_perform() does, frees x, and returns 0 or -1. */
struct fx_xfer;
enum {
    FX_XFER_CANCELLED = 1,
    FX_XFER_IDLE,
    FX_XFER_DRAINED,
    FX_XFER_MULTI_ERROR
};
struct fx_xfer *fx_xfer_new(void *easy, const struct fx_http_req *req,
                            const struct fx_http_opts *opts,
                            struct fx_http_result *res);
int fx_xfer_check(struct fx_xfer *x, double now);
int fx_xfer_finish(struct fx_xfer *x, int why, int completed, int curlcode);

/* ---- attempt.c: one attempt at one provider ------------------------- */

struct fx_outcome {
    int ok;
    struct fx_error err;     /* when !ok */
    struct fx_response resp; /* the answer, or the text before a failure */
    size_t emitted;          /* bytes passed to on_text */
    double latency_ms;
    char *url; /* without secrets; may be NULL */
    /* with a schema: the validated answer (ok), or the whole validation
     * message (err.cls == FLEXIAI_E_INVALID_OUTPUT); may be NULL */
    char *json;
    char *verr;
};
/* An attempt between its request being built and its answer classified:
 * what the transfer needs (engine.c keeps one per request in flight). */
struct fx_attempt_io {
    struct fx_http_req hreq;
    struct fx_stream st;
    struct fx_http_opts ho;
    struct fx_http_result hr;
    int stream;
    volatile sig_atomic_t *cancel;
    const struct flexiai_schema *schema; /* check the answer against it */
    const char *key; /* the call's secret: cut out of the error message */
    int tools;       /* the call offered tools: an answer may call them */
};
/* Build the request for call.  0, or -1 with out->err set (class config:
 * nothing to send; io needs no end).  out must stay in place until
 * fx_attempt_end(): the stream parser writes into out->resp. */
int fx_attempt_begin(struct fx_attempt_io *io, const struct fx_call *call,
                     const flexiai_request *req, flexiai_text_fn on_text,
                     void *ud, struct fx_outcome *out);
/* After the transfer (rc as fx_http_perform returns): classify what came
 * back into out, free io's parts. */
void fx_attempt_end(struct fx_attempt_io *io, const struct fx_provider *p,
                    int rc, struct fx_outcome *out);
#endif
