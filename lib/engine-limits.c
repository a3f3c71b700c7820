/*
 * engine-limits.c - a provider's limits as the engine asks for them
 * before each attempt: max_concurrency (requests in flight in this
 * process), rpm and tpm (counted in the breaker store, so every process
 * sharing it counts against one window: ratelimit.c, ratelimit.lua).  tpm
 * is charged an estimate before the request (prompt bytes / 4 +
 * max_tokens) and corrected with the usage the provider reports.
 */
#include "config.h"

#include "engine.h"
#include "ratelimit.h"

#include <stdlib.h>
#include <string.h>

/* How often a request waiting for max_concurrency looks again. */
#define CONCURRENCY_POLL 0.005

/* Apply op in the client's store; Redis trouble falls back to the file
 * store's counts (and says so once); a store that cannot count grants. */
static void
store_limit(flexiai_client *c, const char *provider,
            const struct fx_limit_op *op, struct fx_limit_result *res)
{
    fx_client_ensure_store(c);
    char *err = NULL;
    if (c->ops->limit(c->store, provider, op, res, &err) == 0)
        return;
    if (c->store != c->file_store) {
        free(err);
        err = NULL;
        if (fx_store_file.limit(c->file_store, provider, op, res, &err) == 0)
            return;
    }
    if (!c->warned_write) {
        c->warned_write = 1;
        fx_client_log(c, FLEXIAI_LOG_WARN, "%s; rate limits not counted",
                      err ? err : "rate limits not counted");
    }
    free(err);
    res->granted = 1;
}

/* prompt bytes / 4 + max_tokens */
static double
estimate(const struct job *j)
{
    size_t bytes = 0;
    for (size_t i = 0; i < j->nmsgs; i++)
        bytes += strlen(j->msgs[i].content);
    if (j->params.system)
        bytes += strlen(j->params.system);
    return (double)(bytes / 4) +
           (double)(j->params.max_tokens > 0 ? j->params.max_tokens : 0);
}

double
fx_limits_acquire(struct flexiai_batch *b, struct job *j, double now)
{
    (void)now;
    const struct fx_provider *p = j->p;
    j->tokens = 0;
    if (p->max_concurrency > 0 && b->inflight[j->pi] >= p->max_concurrency)
        return CONCURRENCY_POLL;
    if (p->rpm <= 0 && p->tpm <= 0)
        return 0;
    struct fx_limit_op op = {
        .kind = FX_LIMIT_ACQUIRE,
        .now = fxu_wallclock(),
        .window = b->s->limit_window,
        .rpm = p->rpm,
        .tpm = p->tpm,
        .cost = p->tpm > 0 ? estimate(j) : 0,
    };
    struct fx_limit_result res;
    store_limit(b->c, p->name, &op, &res);
    if (!res.granted) {
        j->limit_which = res.which    ? res.which
                         : p->rpm > 0 ? FX_LIMIT_RPM
                                      : FX_LIMIT_TPM;
        return res.wait > 0 ? res.wait : 0.001;
    }
    j->tokens = (long)op.cost;
    j->lslot = res.slot;
    return 0;
}

void
fx_limits_settle(struct flexiai_batch *b, struct job *j)
{
    const struct fx_provider *p = j->p;
    if (p->tpm <= 0 || j->tokens <= 0)
        return;
    const struct fx_outcome *o = &j->o;
    double used;
    if (o->resp.has_usage && o->resp.total_tokens >= 0)
        used = (double)o->resp.total_tokens;
    else if (!o->ok && o->err.status == 0 && o->emitted == 0 &&
             o->err.cls == FLEXIAI_E_CONNECT)
        used = 0; /* never reached the provider */
    else
        used = (double)j->tokens; /* no usage reported: keep the estimate */
    struct fx_limit_op op = {
        .kind = FX_LIMIT_ADJUST,
        .now = fxu_wallclock(),
        .window = b->s->limit_window,
        .rpm = p->rpm,
        .tpm = p->tpm,
        .slot = j->lslot,
        .delta = used - (double)j->tokens,
    };
    j->tokens = 0;
    if (op.delta == 0)
        return;
    struct fx_limit_result res;
    store_limit(b->c, p->name, &op, &res);
}

int
fx_limits_wait_always(const struct job *j)
{
    if (!j->req.wait_limits)
        return 0;
    if (j->req.no_failover || j->req.provider)
        return 1;
    const struct fx_settings *s = j->b->s;
    for (size_t i = j->pi + 1; i < s->nproviders; i++)
        if (s->providers[i].ops != NULL)
            return 0; /* it may go there instead */
    return 1;
}

const char *
fx_limits_which(const struct job *j)
{
    return j->limit_which == FX_LIMIT_TPM ? "tpm" : "rpm";
}

size_t
flexiai_batch_waiting(const flexiai_batch *b, const char **provider,
                      const char **limit, double *seconds)
{
    size_t n = 0;
    const struct job *first = NULL;
    for (const struct job *j = b->head; j; j = j->next) {
        if (j->state != J_WAIT || !j->waiting_limit)
            continue;
        n++;
        if (first == NULL || j->wake_at < first->wake_at)
            first = j;
    }
    if (provider)
        *provider = first ? first->p->name : NULL;
    if (limit)
        *limit = first ? fx_limits_which(first) : NULL;
    if (seconds) {
        double w = first ? first->wake_at - fxu_monotonic() : 0;
        *seconds = w > 0 ? w : 0;
    }
    return n;
}
