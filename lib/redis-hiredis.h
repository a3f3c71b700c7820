/*
 * redis-hiredis.h - internal interface of redis-hiredis.c, shared by the Redis
 * store and the event watcher.  Kept out of fx.h so that only these files
 * see hiredis.
 */
#ifndef FX_REDIS_HIREDIS_H
#define FX_REDIS_HIREDIS_H

#include <hiredis/hiredis.h>
#include <signal.h>

#include "fx.h"

void fx_redis_set_err(char **err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* How messages name the server: "redis HOST:PORT" or "redis unix:PATH",
 * never the url, which may hold a password.  Caller frees. */
char *fx_redis_server_name(const struct fx_sync *s);

/* hiredis's error as a message ("timed out" for a read timeout). */
const char *fx_redis_io_error(const redisContext *c);

/* An error or status reply as one line. */
const char *fx_redis_reply_text(const redisReply *r);

/*
 * hiredis writes with write(2): a server that went away would kill the
 * process with SIGPIPE.  Block it around our I/O (on ... off).
 */
struct fx_pipe_guard {
    sigset_t old;
    int was_pending;
};
void fx_redis_pipe_guard_on(struct fx_pipe_guard *g);
void fx_redis_pipe_guard_off(struct fx_pipe_guard *g);

/* Connect, authenticate and select the database.  Returns the context
 * with the command timeout set, or NULL with *err. */
redisContext *fx_redis_hiredis_connect(const struct fx_sync *s,
                                       const char *where, char **err);

/* store-redis.c: run one of our scripts (EVALSHA sha, EVAL script when
 * the server lacks it) with the key {key_prefix}:{what}:{provider} and
 * args on the store's connection.  The reply (free it), or NULL with *err
 * when the connection failed (the store is then broken). */
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
