/*
 * engine-limits.c - per provider limits as the engine asks for them:
 * max_concurrency (requests in flight in this process), rpm and tpm.
 */
#include "config.h"

#include "engine.h"

double
fx_limits_acquire(struct flexiai_batch *b, struct job *j, double now)
{
    (void)now;
    const struct fx_provider *p = j->p;
    if (p->max_concurrency > 0 && b->inflight[j->pi] >= p->max_concurrency)
        return 0.01;
    return 0;
}

void
fx_limits_settle(struct flexiai_batch *b, struct job *j)
{
    (void)b;
    (void)j;
}
