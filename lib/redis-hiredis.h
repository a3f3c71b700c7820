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

#endif
