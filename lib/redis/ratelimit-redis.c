/*
 * ratelimit-redis.c - rate limits in Redis: ratelimit.lua, which the Redis
 * store runs on its connection (store-redis.c), applies one rpm/tpm
 * operation to {key_prefix}:limit:{provider} atomically, so every process
 * on every host counts against one window.  Here: the script's arguments
 * from an operation, and its reply read back.
 */
#include "config.h"

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

void
fx_limit_lua_args(const struct fx_limit_op *op, struct fx_limit_lua_args *a)
{
    snprintf(a->buf[0], sizeof(a->buf[0]), "%d", op->kind);
    num(a->buf[1], sizeof(a->buf[1]), op->now);
    num(a->buf[2], sizeof(a->buf[2]), op->window);
    snprintf(a->buf[3], sizeof(a->buf[3]), "%ld", op->rpm);
    snprintf(a->buf[4], sizeof(a->buf[4]), "%ld", op->tpm);
    num(a->buf[5], sizeof(a->buf[5]), op->cost);
    snprintf(a->buf[6], sizeof(a->buf[6]), "%lld", op->slot);
    num(a->buf[7], sizeof(a->buf[7]), op->delta);
    /* the counts outlive their window by one, then go */
    snprintf(a->buf[8], sizeof(a->buf[8]), "%ld", (long)(op->window * 2) + 2);
    for (int i = 0; i < FX_LIMIT_LUA_NARGS; i++)
        a->argv[i] = a->buf[i];
}

int
fx_limit_lua_reply(const redisReply *r, const char *provider,
                   struct fx_limit_result *res, char **err)
{
    memset(res, 0, sizeof(*res));
    res->granted = 1;
    int ok = r->type == REDIS_REPLY_ARRAY &&
             (r->elements == 3 || r->elements == 4) &&
             r->element[0]->type == REDIS_REPLY_INTEGER &&
             r->element[1]->type == REDIS_REPLY_STRING &&
             r->element[2]->type == REDIS_REPLY_INTEGER;
    if (!ok) {
        if (err)
            *err = fxu_asprintf("redis: rate limit for %s failed: %s", provider,
                                r->type == REDIS_REPLY_ERROR && r->str
                                    ? r->str
                                    : "unexpected reply");
        return -1;
    }
    res->granted = r->element[0]->integer != 0;
    res->wait = strtod(r->element[1]->str, NULL);
    res->slot = (long long)r->element[2]->integer;
    if (r->elements == 4 && r->element[3]->type == REDIS_REPLY_INTEGER)
        res->which = (int)r->element[3]->integer;
    return 0;
}
