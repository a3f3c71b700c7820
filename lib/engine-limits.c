/*
 * engine-limits.c - a provider's limits as the engine asks for them
 * before each attempt: max_concurrency (requests in flight in this
 * process), rpm and tpm (counted in the breaker store, so every process
 * sharing it counts against one window: ratelimit.c, ratelimit.lua).  tpm
 * is charged an estimate before the request (prompt bytes / 4 +
 * max_tokens) and corrected with the usage the provider reports; a
 * request whose estimate alone is over tpm could never go, and is turned
 * away from that provider at once.
 */
#include "config.h"

#include "engine.h"
#include "ratelimit.h"

#include <stdio.h>
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

static size_t
len0(const char *s)
{
    return s ? strlen(s) : 0;
}

/* prompt bytes / 4 + max_tokens.  The prompt: every message's text, tool
 * calls and tool results, in-memory attachments, the system prompt and
 * the tools offered; max_tokens unset: [defaults] max_tokens' default. */
static double
estimate(const struct job *j)
{
    size_t bytes = len0(j->params.system);
    for (size_t i = 0; i < j->nmsgs; i++) {
        const flexiai_message *m = &j->msgs[i];
        bytes += len0(m->content);
        for (size_t k = 0; k < m->ntool_calls; k++)
            bytes +=
                len0(m->tool_calls[k].name) + len0(m->tool_calls[k].arguments);
        for (size_t k = 0; k < m->nattachments; k++)
            bytes += m->attachments[k].data ? m->attachments[k].len : 0;
    }
    for (size_t i = 0; j->tools && i < j->req.ntools; i++)
        bytes += len0(j->tools[i].name) + len0(j->tools[i].description) +
                 len0(j->tools[i].parameters);
    long max_tokens = j->params.max_tokens;
    if (max_tokens <= 0 &&
        fxu_parse_long(fx_config_default("defaults", "max_tokens"),
                       &max_tokens) != 0)
        max_tokens = 0;
    return (double)(bytes / 4) + (double)(max_tokens > 0 ? max_tokens : 0);
}

/* j's estimate alone is over p's tpm: it can never go there.  Recorded
 * as an attempt that sent nothing (class unsupported: waiting does not
 * help, and no breaker counts it); j goes on to the next provider. */
static void
refuse(struct flexiai_batch *b, struct job *j, double cost)
{
    char msg[160];
    snprintf(msg, sizeof(msg),
             "local limit tpm = %ld: the request's estimate of %.0f tokens "
             "is more than the limit, it can never pass",
             j->p->tpm, cost);
    fx_job_add_attempt(j, j->p, "skipped", FLEXIAI_E_UNSUPPORTED, 0, -1, 0, msg,
                       NULL);
    fx_client_log(b->c, FLEXIAI_LOG_ATTEMPT, "%s %s: skipped, %s", j->p->name,
                  j->cur_model, msg);
    j->pi++;
    j->state = J_NEXT;
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
    if (p->tpm > 0 && op.cost > (double)p->tpm) {
        refuse(b, j, op.cost);
        return -1;
    }
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
