/*
 * fx.h - what every layer of libflexiai uses: a provider's answer and
 * error (errclass.c), the SSE parser (sse.c), the breaker's state document
 * and machine (breaker.c), the failover decisions (failover.c), the store
 * interface (store-file.c here, redis/store-redis.c) and the Python-format
 * events (event.c).  Not installed.  lib/README maps every file.
 */
#ifndef FX_H
#define FX_H

#include "flexiai.h"
#include "fxu.h"
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct fx_settings;

/* ---- sse.c ------------------------------------------------------------ */

/* Called per dispatched event.  `event` is "" when no event: field was
 * given (callers treat it as "message").  Return non-zero to stop. */
typedef int (*fx_sse_fn)(void *ud, const char *event, const char *data,
                         size_t len);

struct fx_sse {
    fxu_buf line;  /* current partial line */
    fxu_buf data;  /* data lines of the current event, joined by LF */
    fxu_buf event; /* event type of the current event */
    int has_data;
    int last_was_cr; /* previous chunk ended in CR: skip a leading LF */
    int stopped;
};

/* Limits on what one server can make the parser hold; past them
 * fx_sse_feed returns FX_SSE_E_LINE or FX_SSE_E_EVENT. */
#define FX_SSE_LINE_MAX (1u << 20) /* one line, without its end */
#define FX_SSE_DATA_MAX (1u << 20) /* one event's data lines joined */
#define FX_SSE_E_LINE (-2)
#define FX_SSE_E_EVENT (-3)

void fx_sse_init(struct fx_sse *p);
void fx_sse_free(struct fx_sse *p);
/* Feed any split of the byte stream.  Returns 0, or the callback's
 * non-zero value (parsing stops). */
int fx_sse_feed(struct fx_sse *p, const char *buf, size_t n, fx_sse_fn fn,
                void *ud);
/* End of body: returns 1 if an event or line was left incomplete. */
int fx_sse_pending(const struct fx_sse *p);

/* ---- responses, errors ------------------------------------------------ */

struct fx_header {
    char *name; /* lower-cased */
    char *value;
};

struct fx_headers {
    struct fx_header *items;
    size_t n;
};
const char *fx_headers_get(const struct fx_headers *h, const char *name);
void fx_headers_free(struct fx_headers *h);

struct fx_error {
    int cls;            /* enum flexiai_errclass */
    long status;        /* HTTP status, 0 if none */
    double retry_after; /* seconds to wait, -1 when not given */
    char msg[256];      /* short, one line, no secrets */
};
/* Replace *err with a formatted message (nothing when err is NULL): how
 * the internal calls that return -1 say why. */
void fx_set_err(char **err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void fx_error_set(struct fx_error *e, int cls, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

struct fx_response {
    fxu_buf text;    /* in tool mode: the forced tool's input, as JSON */
    char *tool_name; /* a tool call to another tool than ours (schema tool
                        mode), for the validation message; may be NULL */
    char *model;
    char *finish_reason; /* normalised */
    int has_usage;
    long prompt_tokens, completion_tokens, total_tokens;
    /* Parts of the above, 0 when the provider does not say: input read
     * from a prompt cache, input written to it (Anthropic), output spent
     * on reasoning (billed as output). */
    long cached_tokens, cache_write_tokens, reasoning_tokens;
    fxu_buf reasoning; /* reasoning text or summary the API returned */
    /* provider state to keep with the assistant turn (JSON text, see
     * flexiai_message.reasoning_state); may be NULL */
    char *reasoning_state;
    /* the tool calls the answer asks for (request tools, not the schema's
     * forced tool), in order; owned */
    flexiai_tool_call *tool_calls;
    size_t ntool_calls;
};
void fx_response_init(struct fx_response *r);
void fx_response_free(struct fx_response *r);
/* Owned copies of n tool calls (NULL for none), and their release. */
flexiai_tool_call *fx_tool_calls_copy(const flexiai_tool_call *c, size_t n);
void fx_tool_calls_free(flexiai_tool_call *c, size_t n);

/* errclass.c: the generic part of classification, used by providers. */
/* Status alone: 401/403 auth, 429 rate_limit, 503 overloaded, 5xx server,
 * 400/404/413/422 bad_request, other 4xx bad_request. */
int fx_class_from_status(long status);
/* Retry delay from retry-after / retry-after-ms and the given reset
 * headers (NULL-terminated list of names, values being durations like
 * "6m0s" or RFC 3339 times); -1 when none. */
double fx_retry_after(const struct fx_headers *h, const char *const *reset,
                      double now);
/* Case-insensitive substring test (errclass.c); NULL hay gives 0. */
int fx_contains_nocase(const char *hay, const char *needle);
/* True when an error message says the prompt/context is too long. */
int fx_says_too_long(const char *msg);
/* Map a provider's finish value through a NULL-terminated table of
 * {from, to} pairs; unknown values map to "stop"... see errclass.c. */

/* ---- breaker.c: the state machine ------------------------------------- */

enum fx_bstate { FX_CLOSED = 0, FX_OPEN, FX_HALF_OPEN };
#define FX_MAX_PROBES 32

/*
 * The state document, stored as JSON (fx_breaker_doc_to_json / _from_json):
 *   {"state":"open","failure_count":5,"success_count":0,
 *    "opened_at":1795000000.123,"retry_at":1795000060.123,
 *    "changed_at":1795000000.123,"changed_by":"host:123:1795000000123",
 *    "reason":"failure_threshold","forced":false,
 *    "probes":[{"worker":"host:9:17...","expires":1795000090.0}],
 *    "version":1}
 * state/failure_count/success_count are what Python FlexiAI workers read.
 */
struct fx_probe {
    char worker[128];
    double expires;
};
struct fx_breaker_doc {
    int state;
    long failure_count; /* consecutive counted failures */
    long success_count;
    double opened_at;
    double retry_at;
    double changed_at;
    char changed_by[128];
    char reason[64];
    /* the last counted failure, to explain a skip: its class and message */
    char last_class[32];
    char last_error[200];
    int forced; /* opened by hand: no probe before retry_at */
    struct fx_probe probes[FX_MAX_PROBES];
    int nprobes;
};
void fx_breaker_doc_init(struct fx_breaker_doc *d);
struct fx_breaker_op;
/* Clamp times no correct writer could have set (far future, NaN) to their
 * longest length from op->now; 1 when something changed. */
int fx_breaker_doc_clamp(struct fx_breaker_doc *d,
                         const struct fx_breaker_op *op);
char *fx_breaker_doc_to_json(const struct fx_breaker_doc *d);
/* 0 ok, -1 malformed (d is then the closed default). */
int fx_breaker_doc_from_json(const char *json, size_t len,
                             struct fx_breaker_doc *d);
const char *fx_bstate_name(int state);

enum fx_breaker_op_kind {
    FX_BREAKER_ADMIT = 1, /* may a request go now? may take a probe lease */
    FX_BREAKER_SUCCESS,
    FX_BREAKER_FAILURE,    /* counted failure */
    FX_BREAKER_OPEN_UNTIL, /* quota / long Retry-After: open until `until` */
    FX_BREAKER_RESET,
    FX_BREAKER_FORCE_OPEN /* by hand; until <= 0: until reset */
};
struct fx_breaker_op {
    int kind;
    double now;
    double until;
    const char *worker;
    int was_probe; /* success/failure of an admitted probe */
    long failure_threshold;
    double recovery_timeout;
    long half_open_max_calls;
    double probe_timeout;
    /* FAILURE and OPEN_UNTIL: what failed (NULL: keep the last one) */
    const char *err_class;
    const char *err_msg;
    double max_open; /* 0: 3600; open periods trusted up to this */
};
enum fx_bevent {
    FX_EV_NONE = 0,
    FX_EV_OPENED,
    FX_EV_CLOSED,
    FX_EV_HALF_OPEN,
    FX_EV_FAILURE,
    FX_EV_SUCCESS
};
const char *fx_bevent_name(int ev);
enum fx_admit { FX_ADMIT_NO = 0, FX_ADMIT_YES, FX_ADMIT_PROBE };
/*
 * Apply op to d.  Returns the transition event (FX_EV_NONE, _OPENED,
 * _CLOSED, _HALF_OPEN); *admit is set for FX_BREAKER_ADMIT.  *changed says
 * whether d must be written back.
 */
int fx_breaker_apply(struct fx_breaker_doc *d, const struct fx_breaker_op *op,
                     int *admit, int *changed);
/* Read-only: would a request be admitted now without taking a lease?
 * (closed, or open/half_open with a free probe slot after retry_at) */
int fx_breaker_usable(const struct fx_breaker_doc *d, double now,
                      long half_open_max_calls);

/* ---- failover.c: the decisions of the failover engine (no I/O) -------- */

/* What one request's failover runs by: settings and request options. */
struct fx_policy {
    long retries; /* further attempts at one provider */
    double backoff_base, backoff_max;
    double retry_after_max; /* longer Retry-After: open the breaker */
    double recovery_timeout;
    double max_open; /* longest open period a Retry-After may ask for */
    int failover_on_bad_request;
    int on_stream_error; /* enum flexiai_stream_error_mode */
    int one_provider;    /* --no-failover, or a named provider */
    unsigned count_mask; /* bit (1u << errclass) counts as failure */
};
void fx_policy_init(struct fx_policy *pol, const struct fx_settings *s,
                    const flexiai_request *req);

/* One finished attempt, as the decision needs it. */
struct fx_try {
    int ok;
    int cls;            /* enum flexiai_errclass when !ok */
    double retry_after; /* seconds, -1 when none */
    size_t emitted;     /* bytes of this attempt that reached the output */
    long attempt;       /* 0 for the first at this provider */
    int probe;          /* admitted as a half-open probe */
    int breaker_op;     /* what fx_failover_breaker_op() said (0: none) */
    int breaker_opened; /* the store says the breaker is open now */
};

enum fx_step {
    FX_STEP_DONE = 1, /* answered */
    FX_STEP_RETRY,    /* same provider again after `wait` */
    FX_STEP_NEXT,     /* next provider */
    FX_STEP_CONTINUE, /* next provider, asked to continue the text shown */
    FX_STEP_STOP      /* no further attempt; `code` is the exit code */
};
struct fx_decision {
    int step;
    const char *outcome; /* the attempt's record: success, retry, error,
                            interrupted */
    double wait;         /* FX_STEP_RETRY: the provider's Retry-After, or -1 to
                            back off (fx_failover_backoff) */
    int code;            /* FX_STEP_DONE, FX_STEP_STOP */
};
struct fx_decision fx_failover_decide(const struct fx_policy *pol,
                                      const struct fx_try *t);

/* May another provider be tried, one having been tried already? */
int fx_failover_may_try(const struct fx_policy *pol, int tried_one);
/* What a failure of class cls does to the breaker: 0, FX_BREAKER_FAILURE, or
 * FX_BREAKER_OPEN_UNTIL with *until set (quota, or a Retry-After beyond
 * retry_after_max). */
int fx_failover_breaker_op(const struct fx_policy *pol, int cls,
                           double retry_after, double now, double *until);
/* Must a success be written to the store? */
int fx_failover_success_counts(const struct fx_breaker_doc *doc, int probe,
                               int publish_outcomes);
/* Backoff before retry number attempt+1, r uniform in [0, 1). */
double fx_failover_backoff(const struct fx_policy *pol, long attempt, double r);
/* Exit code of a request no provider answered, from its attempts:
 * 130 if cancelled, 69 with nothing tried, 76 every provider answered
 * and no answer matched the schema (invalid_output), 75 all transient
 * (breakers open included), 77 all auth, 65 all invalid requests, 78 all
 * configuration, 69 mixed.  An invalid_output attempt is retried once at
 * its provider (wait 0), then the next provider is tried. */
int fx_failover_exit(const flexiai_attempt *attempts, size_t n);

/* rate limits: lib/ratelimit.h */
struct fx_limit_op;
struct fx_limit_result;

/* ---- stores ----------------------------------------------------------- */

struct fx_store;
struct fx_store_ops {
    const char *name; /* "file", "redis" */
    /* 0 ok; -1 with *err when the store is unusable */
    int (*open)(struct fx_store **out, const struct fx_settings *s, char **err);
    void (*close)(struct fx_store *st);
    /* Read many documents in one go.  Missing -> closed default.  A
     * malformed document -> closed default, and *bad[i] = 1.
     * Returns 0, or -1 with *err on store failure. */
    int (*load)(struct fx_store *st, const char *const *providers, size_t n,
                struct fx_breaker_doc *docs, int *bad, char **err);
    /* Atomically read, fx_breaker_apply(op), write back, publish (Redis).
     * Returns 0 with *event / *admit / *result filled, -1 with *err. */
    int (*update)(struct fx_store *st, const char *provider,
                  const struct fx_breaker_op *op, struct fx_breaker_doc *result,
                  int *event, int *admit, char **err);
    /* Atomically apply a rate-limit operation to the provider's limit
     * document (ratelimit.c; Redis: ratelimit.lua).  0, or -1 with *err
     * (res then says granted: a broken store never blocks traffic). */
    int (*limit)(struct fx_store *st, const char *provider,
                 const struct fx_limit_op *op, struct fx_limit_result *res,
                 char **err);
};
extern const struct fx_store_ops fx_store_file;

/* The Python FlexiAI CircuitBreakerEvent JSON for an event. */
char *fx_event_json(const char *provider, int event, const char *worker,
                    double now, long failure_count, long success_count);
/* Parse one; 0 ok, -1 malformed.  Strings point into *owned (free it). */
int fx_event_parse(const char *json, flexiai_event *ev, void **owned);

/* Parse datetime.isoformat() (naive UTC; a "+00:00" or "Z" suffix is
 * accepted) into epoch seconds.  0, or -1 when malformed (event.c). */
int fx_event_time(const char *iso, double *out);

#endif
