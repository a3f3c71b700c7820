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
    if (!res.granted)
        return res.wait > 0 ? res.wait : 0.001;
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
