/*
 * store-redis.h - what the Redis store offers to other scripts of ours on
 * its connection (rate limits: ratelimit-redis.c).  Kept out of fx.h so
 * that only the Redis files see hiredis's reply type.
 */
#ifndef FX_STORE_REDIS_H
#define FX_STORE_REDIS_H

#include <hiredis/hiredis.h>

#include "fx.h"

/* Run `script` (EVALSHA `sha`, EVAL when the server lacks it) on the key
 * {key_prefix}:{what}:{provider} with args on the store's connection.  The
 * reply (free it), or NULL with *err when the connection failed. */
struct fx_store;
redisReply *fx_store_redis_eval(struct fx_store *st, const char *script,
                                const char *sha, const char *what,
                                const char *provider, int nargs,
                                const char **args, char **err);
/* ratelimit-redis.c: the store's limit operation (ratelimit.lua). */
int fx_ratelimit_redis(struct fx_store *st, const char *provider,
                       const struct fx_lop *op, struct fx_lres *res,
                       char **err);

#endif
