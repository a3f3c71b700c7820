/*
 * failover.c - the failover decisions, apart from all I/O: what a failed
 * attempt does to its provider's breaker, what comes after an attempt
 * (retry here, the next provider, stop), how long to back off, and the
 * exit code of a request nothing answered.  client.c runs the attempts
 * and the store and asks these functions at each step, so the rules can
 * be unit-tested (tests/unit/test-failover.c) and an asynchronous engine
 * can drive many requests through the same decisions.
 */
#include "config.h"

#include "conf/conf.h"
#include "fx.h"

#include <string.h>

void
fx_policy_init(struct fx_policy *pol, const struct fx_settings *s,
               const flexiai_request *req)
{
    memset(pol, 0, sizeof(*pol));
    pol->retries = s->retries;
    pol->backoff_base = s->backoff_base;
    pol->backoff_max = s->backoff_max;
    pol->retry_after_max = s->retry_after_max;
    pol->recovery_timeout = s->recovery_timeout;
    pol->max_open = s->max_open;
    pol->failover_on_bad_request = s->failover_on_bad_request;
    pol->count_mask = s->count_mask;
    pol->on_stream_error = req->on_stream_error;
    pol->one_provider = req->no_failover || req->provider != NULL;
}

/* Worth another go at the same provider: nothing reached the output and
 * the provider may answer the same request next time. */
static int
retryable(int cls, size_t emitted)
{
    switch (cls) {
    case FLEXIAI_E_CONNECT:
    case FLEXIAI_E_TIMEOUT:
    case FLEXIAI_E_RATE_LIMIT:
    case FLEXIAI_E_OVERLOADED:
    case FLEXIAI_E_SERVER:
    case FLEXIAI_E_STREAM_ERROR:
    case FLEXIAI_E_LOCAL_RESOURCE:
        return emitted == 0;
    default:
        return 0;
    }
}

/* Would pass if tried later: the request may succeed after a while. */
static int
transient(int cls)
{
    switch (cls) {
    case FLEXIAI_E_CONNECT:
    case FLEXIAI_E_TIMEOUT:
    case FLEXIAI_E_RATE_LIMIT:
    case FLEXIAI_E_OVERLOADED:
    case FLEXIAI_E_SERVER:
    case FLEXIAI_E_STREAM_ERROR:
    case FLEXIAI_E_BREAKER_OPEN:
    case FLEXIAI_E_RATE_LIMITED_LOCAL:
    case FLEXIAI_E_LOCAL_RESOURCE:
    case FLEXIAI_E_BUDGET:
        return 1;
    default:
        return 0;
    }
}

int
fx_failover_may_try(const struct fx_policy *pol, int tried_one)
{
    return !(pol->one_provider && tried_one);
}

int
fx_failover_breaker_op(const struct fx_policy *pol, int cls, double retry_after,
                       double now, double *until)
{
    /* out of quota, or told to wait longer than we would: open the
     * breaker for that long rather than count towards the threshold */
    if (cls == FLEXIAI_E_QUOTA ||
        (retry_after >= 0 && retry_after > pol->retry_after_max)) {
        double wait = retry_after > 0 ? retry_after : pol->recovery_timeout;
        /* never until 9999 because a server said so: max_open at most */
        if (pol->max_open > 0 && wait > pol->max_open)
            wait = pol->max_open;
        *until = now + wait;
        return FX_BREAKER_OPEN_UNTIL;
    }
    if (cls >= 0 && cls < 32 && (pol->count_mask & (1u << cls)))
        return FX_BREAKER_FAILURE;
    return 0;
}

int
fx_failover_success_counts(const struct fx_breaker_doc *doc, int probe,
                           int publish_outcomes)
{
    /* a healthy provider's success changes nothing: skip the store unless
     * watchers asked to hear every outcome */
    return probe || doc->failure_count > 0 || doc->state != FX_CLOSED ||
           publish_outcomes;
}

struct fx_decision
fx_failover_decide(const struct fx_policy *pol, const struct fx_try *t)
{
    struct fx_decision d = {0, "error", -1, 0};
    if (t->ok) {
        d.step = FX_STEP_DONE;
        d.outcome = "success";
        d.code = FLEXIAI_OK;
        return d;
    }
    if (t->cls == FLEXIAI_E_CANCELLED) {
        d.step = FX_STEP_STOP;
        d.outcome = "interrupted";
        d.code = FLEXIAI_EINTR;
        return d;
    }
    if (t->cls == FLEXIAI_E_INVALID_OUTPUT) {
        /* the answer did not match the schema: once more here, with the
         * validation error in the conversation, then the next provider */
        int again = t->attempt == 0 && t->breaker_op != FX_BREAKER_OPEN_UNTIL &&
                    !t->breaker_opened;
        d.outcome = again ? "retry" : "error";
        d.step = again ? FX_STEP_RETRY : FX_STEP_NEXT;
        d.wait = again ? 0 : -1;
        return d;
    }
    int opened = t->breaker_op == FX_BREAKER_OPEN_UNTIL || t->breaker_opened;
    int can_retry = !opened && !t->probe && retryable(t->cls, t->emitted) &&
                    t->attempt < pol->retries;
    d.outcome = can_retry ? "retry" : "error";

    if (t->emitted > 0) {
        /* text already reached the user: keep it, and either stop or ask
         * the next provider to continue it */
        if (pol->on_stream_error == FLEXIAI_STREAM_FAIL) {
            d.step = FX_STEP_STOP;
            d.code = FLEXIAI_ETEMPFAIL;
        } else {
            d.step = FX_STEP_CONTINUE;
        }
        return d;
    }
    if (t->cls == FLEXIAI_E_BAD_REQUEST && !pol->failover_on_bad_request) {
        /* the request itself is wrong: no provider will take it */
        d.step = FX_STEP_STOP;
        d.code = FLEXIAI_EDATA;
        return d;
    }
    if (!can_retry) {
        d.step = FX_STEP_NEXT;
        return d;
    }
    d.step = FX_STEP_RETRY;
    d.wait = t->retry_after >= 0 && t->retry_after <= pol->retry_after_max
                 ? t->retry_after
                 : -1;
    return d;
}

double
fx_failover_backoff(const struct fx_policy *pol, long attempt, double r)
{
    /* exponential with full jitter: uniform in [0, min(max, base*2^n)] */
    double cap = pol->backoff_base;
    for (long i = 0; i < attempt && cap < pol->backoff_max; i++)
        cap *= 2;
    if (cap > pol->backoff_max)
        cap = pol->backoff_max;
    return cap * r;
}

int
fx_failover_exit(const flexiai_attempt *attempts, size_t n)
{
    int all_transient = 1, all_auth = 1, all_invalid = 1, all_config = 1,
        all_unmatched = 1, any_transient = 0;
    size_t counted = 0;
    for (size_t i = 0; i < n; i++) {
        const flexiai_attempt *a = &attempts[i];
        /* a retried attempt was followed by another at the same provider */
        if (strcmp(a->outcome, "retry") == 0)
            continue;
        counted++;
        if (a->errclass == FLEXIAI_E_CANCELLED)
            return FLEXIAI_EINTR;
        if (!transient(a->errclass))
            all_transient = 0;
        else
            any_transient = 1;
        if (a->errclass != FLEXIAI_E_AUTH)
            all_auth = 0;
        if (a->errclass != FLEXIAI_E_BAD_REQUEST &&
            a->errclass != FLEXIAI_E_CONTEXT_LENGTH &&
            a->errclass != FLEXIAI_E_CONTENT_FILTER &&
            a->errclass != FLEXIAI_E_UNSUPPORTED)
            all_invalid = 0;
        if (a->errclass != FLEXIAI_E_CONFIG)
            all_config = 0;
        if (a->errclass != FLEXIAI_E_INVALID_OUTPUT)
            all_unmatched = 0;
    }
    if (counted == 0)
        return FLEXIAI_EUNAVAILABLE;
    if (all_unmatched)
        return FLEXIAI_EPROTOCOL;
    if (all_transient)
        return FLEXIAI_ETEMPFAIL;
    if (all_auth)
        return FLEXIAI_ENOPERM;
    if (all_invalid)
        return FLEXIAI_EDATA;
    if (all_config)
        return FLEXIAI_ECONFIG;
    /* mixed: a cron job may try later when one provider might answer
     * then; 69 says that no waiting helps */
    if (any_transient)
        return FLEXIAI_ETEMPFAIL;
    return FLEXIAI_EUNAVAILABLE;
}
