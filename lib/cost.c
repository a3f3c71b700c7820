/*
 * cost.c - token counts into money at the configured prices (cost.h).
 */
#include "config.h"

#include "cost.h"

double
fx_cost(const struct fx_prices *p, const struct fx_usage *u)
{
    long cached = u->cached > 0 ? u->cached : 0;
    long write = u->cache_write > 0 ? u->cache_write : 0;
    long plain = u->prompt - cached - write;
    if (plain < 0)
        plain = 0;
    long out = u->completion > 0 ? u->completion : 0;
    return ((double)plain * p->input + (double)cached * p->cached_input +
            (double)write * p->cache_write + (double)out * p->output) /
           1e6;
}
