/*
 * ratelimit-redis.c - rate limits in Redis: ratelimit.lua, run on the
 * Redis store's connection (fx_store_redis_eval), applies one rpm/tpm
 * operation to {key_prefix}:limit:{provider} atomically, so every process
 * on every host counts against one window.  On failure the request is
 * granted (a broken store never stops traffic) and *err says why.
 */
#include "config.h"

#include "fx.h"
#include "ratelimit.h"
#include "store-redis.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void
num(char *buf, size_t size, double v)
{
    snprintf(buf, size, "%.17g", isfinite(v) ? v : 0.0);
}

int
fx_ratelimit_redis(struct fx_store *st, const char *provider,
                   const struct fx_lop *op, struct fx_lres *res, char **err)
{
    static char sha[41];
    if (sha[0] == '\0')
        fx_sha1_hex(fx_ratelimit_lua, strlen(fx_ratelimit_lua), sha);
    memset(res, 0, sizeof(*res));
    res->granted = 1;

    char kind[8], now[32], window[32], rpm[32], tpm[32], cost[32], slot[32],
        delta[32], ttl[32];
    snprintf(kind, sizeof(kind), "%d", op->kind);
    num(now, sizeof(now), op->now);
    num(window, sizeof(window), op->window);
    snprintf(rpm, sizeof(rpm), "%ld", op->rpm);
    snprintf(tpm, sizeof(tpm), "%ld", op->tpm);
    num(cost, sizeof(cost), op->cost);
    snprintf(slot, sizeof(slot), "%lld", op->slot);
    num(delta, sizeof(delta), op->delta);
    /* the counts outlive their window by one, then go */
    snprintf(ttl, sizeof(ttl), "%ld", (long)(op->window * 2) + 2);
    const char *args[] = {kind, now, window, rpm, tpm, cost, slot, delta, ttl};
    redisReply *r = fx_store_redis_eval(st, fx_ratelimit_lua, sha, "limit",
                                        provider, 9, args, err);
    if (r == NULL)
        return -1;
    int ok = r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
             r->element[0]->type == REDIS_REPLY_INTEGER &&
             r->element[1]->type == REDIS_REPLY_STRING &&
             r->element[2]->type == REDIS_REPLY_INTEGER;
    if (!ok) {
        if (err)
            *err = fxu_asprintf("redis: rate limit for %s failed: %s", provider,
                                r->type == REDIS_REPLY_ERROR && r->str
                                    ? r->str
                                    : "unexpected reply");
        freeReplyObject(r);
        return -1;
    }
    res->granted = r->element[0]->integer != 0;
    res->wait = strtod(r->element[1]->str, NULL);
    res->slot = (long long)r->element[2]->integer;
    freeReplyObject(r);
    return 0;
}
