/*
 * engine.h - what the request engine (engine.c: requests as state
 * machines on one curl multi handle), its result bookkeeping
 * (engine-result.c) and its rate limits (engine-limits.c) share.
 */
#ifndef FX_ENGINE_H
#define FX_ENGINE_H

#include "client.h"
#include "fx.h"
#include "http.h"
#include "curl-load.h"

enum job_state {
    J_NEXT = 1, /* pick the next provider */
    J_START,    /* limits, then start an attempt at j->p */
    J_WAIT,     /* until wake_at: backoff, or a limit's refill */
    J_FLIGHT,   /* a transfer on the multi handle */
    J_DONE
};

/* One request in progress. */
struct job {
    struct job *next, *prev;
    struct flexiai_batch *b;
    void *tag;
    flexiai_request req;   /* a copy; strings below are owned */
    flexiai_message *msgs; /* owned copies, room for a continuation */
    size_t nmsgs, nowned;
    char *model, *system, *provider;
    char **stop;         /* the request's stop list, NULL-terminated; or NULL */
    flexiai_tool *tools; /* the request's tools, owned; or NULL */
    flexiai_result res;
    flexiai_code code;
    int state;
    struct fx_policy pol;
    fxu_buf answer;       /* text shown from broken streams */
    size_t emitted_total; /* what reached on_text */
    const struct fx_provider *first_failed;
    struct fx_error first_err;
    /* the last stream that broke after showing text, for the notice */
    const struct fx_provider *broke;
    int broke_cls;
    /* who answers after a failure is said before its first text */
    int notice_due;
    /* the invalid answer and the repair message of a schema retry */
    char *repair_answer, *repair_msg;
    double started;
    /* the provider being tried */
    size_t pi; /* index in the settings' providers */
    int tried_one;
    struct fx_provider *p;
    const char *cur_model; /* p's model, or the request's override */
    const char *key;
    int probe;
    long attempt;
    int waiting_limit; /* J_WAIT for a limit, not a backoff */
    double limit_deadline;
    double wake_at;
    struct fx_params params;
    long tokens;     /* charged against tpm for the attempt in flight */
    long long lslot; /* the window slot it was charged to */
    int limit_which; /* waiting for a limit: enum fx_limit_which */
    /* in flight */
    CURL *easy;
    struct fx_xfer *x;
    struct fx_attempt_io io;
    struct fx_outcome o;
};

/* The opaque flexiai_batch of flexiai.h: the engine. */
struct flexiai_batch {
    flexiai_client *c;
    const struct fx_settings *s;
    CURLM *multi;
    CURL **pool; /* idle easy handles */
    size_t npool, cappool;
    struct job *head, *tail;   /* running, in submit order */
    struct job *dhead, *dtail; /* finished, not collected */
    size_t nactive, ndone;
    /* breaker documents of every provider, reloaded when stale */
    struct fx_breaker_doc *docs;
    double docs_at;
    long *inflight; /* per provider */
    volatile sig_atomic_t cancel_all;
    struct fx_cache *cache; /* the response cache, opened on first use */
    int cache_failed;       /* it could not be: not tried again */
};

/* engine-result.c: the attempts and the result of a job */
void fx_job_add_attempt(struct job *j, const struct fx_provider *p,
                        const char *outcome, int cls, long status,
                        double retry_after, double latency_ms,
                        const char *message, const char *url);
void fx_job_success(struct job *j);
/* The usage the provider reported, on the attempt just added. */
void fx_job_attempt_usage(struct job *j, const struct fx_response *r);
void fx_job_cancelled(struct job *j);
void fx_job_keep_partial(struct job *j, int stop);
/* The end of a request: rc as try_provider gave it (-1: nothing
 * answered), the result completed as flexiai_complete() returns it. */
int fx_job_conclude(struct job *j, int rc);
void fx_job_free(struct job *j);
int fx_job_copy(struct job *j, const flexiai_request *req);
/* The settings of an attempt at p: p's, with the request's overrides. */
void fx_job_params(struct job *j, const struct fx_provider *p);

/* engine-limits.c: rpm, tpm, max_concurrency.  0: go now; > 0: seconds
 * to wait before asking again (tokens were not taken); < 0: never at this
 * provider (over tpm alone): the attempt is recorded, j is in J_NEXT. */
double fx_limits_acquire(struct flexiai_batch *b, struct job *j, double now);
/* After the attempt: correct the tpm estimate with the reported usage. */
void fx_limits_settle(struct flexiai_batch *b, struct job *j);
/* Whether j waits for its provider's rpm/tpm however long: a request
 * asking for it (wait_limits) on the last provider it may try. */
int fx_limits_wait_always(const struct job *j);
/* "rpm" or "tpm": what j waits for. */
const char *fx_limits_which(const struct job *j);

/* engine-cache.c: the response cache and the budget.  1 when an answer
 * kept for j at p finished it (a hit: no traffic); store j's successful
 * answer; 1 when j's next attempt is over its budget (a skipped attempt,
 * class budget, is added). */
int fx_engine_cache_lookup(struct job *j, struct fx_provider *p);
void fx_engine_cache_store(struct job *j);
int fx_engine_over_budget(struct job *j);
/* What j's next attempt may cost: prompt bytes / 4 tokens at the input
 * price, max_tokens (else 1024) at the output price; 0 unpriced. */
double fx_engine_estimate(struct job *j);

#endif
