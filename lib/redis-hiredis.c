/*
 * redis-hiredis.c - what the Redis store (store-redis.c) and the event
 * watcher (redis-watch.c) share: connecting (AUTH, SELECT, timeouts), how
 * messages name the server, and the SIGPIPE guard around hiredis I/O.
 * Calls nothing in either of them.
 */
#include "config.h"

#include "fx.h"
#include "redis-hiredis.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

void
fx_redis_set_err(char **err, const char *fmt, ...)
{
    if (err == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    free(*err);
    *err = fxu_vasprintf(fmt, ap);
    va_end(ap);
}

/* How messages name the server: never the url, which may hold a password */
char *
fx_redis_server_name(const struct fx_sync *s)
{
    if (s->redis_unix && *s->redis_unix)
        return fxu_asprintf("redis unix:%s", s->redis_unix);
    const char *host = s->redis_host ? s->redis_host : "";
    long port = s->redis_port;
    if (strchr(host, ':'))
        return fxu_asprintf("redis [%s]:%ld", host, port);
    return fxu_asprintf("redis %s:%ld", host, port);
}

static struct timeval
to_timeval(double seconds)
{
    struct timeval tv = {0, 0};
    if (seconds > 0 && isfinite(seconds)) {
        tv.tv_sec = (time_t)seconds;
        tv.tv_usec = (suseconds_t)((seconds - (double)tv.tv_sec) * 1e6);
        if (tv.tv_sec == 0 && tv.tv_usec == 0)
            tv.tv_usec = 1;
    }
    return tv;
}

/* hiredis says "Resource temporarily unavailable" for a read timeout */
const char *
fx_redis_io_error(const redisContext *c)
{
    if (c->err == REDIS_ERR_IO && strcmp(c->errstr, strerror(EAGAIN)) == 0)
        return "timed out";
    return c->errstr[0] ? c->errstr : "connection error";
}

/*
 * hiredis writes with write(2): a server that went away would kill the
 * process with SIGPIPE.  Block it around our I/O and swallow one raised by
 * us, leaving the process's own handling of SIGPIPE (and any SIGPIPE that
 * was already pending) alone.
 */
void
fx_redis_pipe_guard_on(struct fx_pipe_guard *g)
{
    sigset_t set, pending;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    sigemptyset(&pending);
    sigpending(&pending);
    g->was_pending = sigismember(&pending, SIGPIPE) == 1;
    pthread_sigmask(SIG_BLOCK, &set, &g->old);
}

void
fx_redis_pipe_guard_off(struct fx_pipe_guard *g)
{
    int saved = errno;
    if (!g->was_pending) {
        sigset_t set, pending;
        sigemptyset(&pending);
        sigpending(&pending);
        if (sigismember(&pending, SIGPIPE) == 1) {
            struct timespec zero = {0, 0};
            sigemptyset(&set);
            sigaddset(&set, SIGPIPE);
            while (sigtimedwait(&set, NULL, &zero) < 0 && errno == EINTR)
                ;
        }
    }
    pthread_sigmask(SIG_SETMASK, &g->old, NULL);
    errno = saved;
}

/* An error reply as one line (Redis error messages are one line). */
const char *
fx_redis_reply_text(const redisReply *r)
{
    if (r == NULL)
        return "no reply";
    if (r->type == REDIS_REPLY_ERROR || r->type == REDIS_REPLY_STATUS)
        return r->str ? r->str : "";
    return "unexpected reply";
}

/* ---- connecting -------------------------------------------------------- */

/*
 * Connect, authenticate and select the database (AUTH and SELECT pipelined
 * in one round trip; none at all without them).  Returns the context with
 * the command timeout set, or NULL with *err.
 */
redisContext *
fx_redis_hiredis_connect(const struct fx_sync *s, const char *where, char **err)
{
    redisContext *c;
    struct timeval ctv = to_timeval(s->redis_socket_connect_timeout);
    int has_timeout = ctv.tv_sec > 0 || ctv.tv_usec > 0;

    if (s->redis_ssl) {
#ifdef HAVE_HIREDIS_SSL
        /* TODO: redisInitiateSSLWithContext() once a TLS-capable hiredis
         * can be tested; until then refuse rather than talk in clear */
        fx_redis_set_err(
            err, "%s: TLS connections to Redis are not implemented yet", where);
#else
        fx_redis_set_err(
            err,
            "%s: this build of flexiai has no TLS support for Redis "
            "(hiredis without SSL)",
            where);
#endif
        return NULL;
    }

    if (s->redis_unix && *s->redis_unix)
        c = has_timeout ? redisConnectUnixWithTimeout(s->redis_unix, ctv)
                        : redisConnectUnix(s->redis_unix);
    else {
        const char *host = s->redis_host ? s->redis_host : "";
        int port = (int)s->redis_port;
        c = has_timeout ? redisConnectWithTimeout(host, port, ctv)
                        : redisConnect(host, port);
    }
    if (c == NULL) {
        fx_redis_set_err(err, "%s: cannot allocate a connection", where);
        return NULL;
    }
    if (c->err) {
        fx_redis_set_err(err, "%s: %s", where, c->errstr);
        redisFree(c);
        return NULL;
    }
    redisSetTimeout(c, to_timeval(s->redis_socket_timeout));

    int nsent = 0, auth = 0;
    if (s->redis_password && *s->redis_password) {
        if (s->redis_username && *s->redis_username) {
            const char *argv[] = {"AUTH", s->redis_username, s->redis_password};
            redisAppendCommandArgv(c, 3, argv, NULL);
        } else {
            const char *argv[] = {"AUTH", s->redis_password};
            redisAppendCommandArgv(c, 2, argv, NULL);
        }
        auth = 1;
        nsent++;
    }
    if (s->redis_db != 0) {
        char db[32];
        snprintf(db, sizeof(db), "%ld", s->redis_db);
        const char *argv[] = {"SELECT", db};
        redisAppendCommandArgv(c, 2, argv, NULL);
        nsent++;
    }

    struct fx_pipe_guard g;
    int failed = 0;
    fx_redis_pipe_guard_on(&g);
    for (int i = 0; i < nsent; i++) {
        redisReply *r = NULL;
        if (redisGetReply(c, (void **)&r) != REDIS_OK) {
            fx_redis_set_err(err, "%s: %s", where, fx_redis_io_error(c));
            failed = 1;
            break;
        }
        if (r->type == REDIS_REPLY_ERROR && !failed) {
            /* Redis's messages never echo the password */
            if (auth && i == 0)
                fx_redis_set_err(err, "%s: authentication failed: %s", where,
                                 r->str);
            else
                fx_redis_set_err(err, "%s: SELECT %ld failed: %s", where,
                                 s->redis_db, r->str);
            failed = 1;
        }
        freeReplyObject(r);
    }
    fx_redis_pipe_guard_off(&g);
    if (failed) {
        redisFree(c);
        return NULL;
    }
    return c;
}
