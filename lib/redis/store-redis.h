/*
 * store-redis.h - what the Redis store takes from ratelimit-redis.c: the
 * rate-limit script's arguments and reply.  Kept out of redis.h so that
 * only the Redis files see hiredis's reply type.
 */
#ifndef FX_STORE_REDIS_H
#define FX_STORE_REDIS_H

#include <hiredis/hiredis.h>

#include "ratelimit.h"
#include "redis-conn.h"

/* ratelimit-redis.c: ratelimit.lua's arguments for an operation, and its
 * reply read back (0, or -1 with *err: the reply was not the script's). */
#define FX_LIMIT_LUA_NARGS 9
struct fx_limit_lua_args {
    char buf[FX_LIMIT_LUA_NARGS][32];
    const char *argv[FX_LIMIT_LUA_NARGS];
};
void fx_limit_lua_args(const struct fx_limit_op *op,
                       struct fx_limit_lua_args *a);
int fx_limit_lua_reply(const redisReply *r, const char *provider,
                       struct fx_limit_result *res, char **err);
/* ratelimit.lua as a C string (generated at build time) */
extern const char fx_ratelimit_lua[];

#endif
