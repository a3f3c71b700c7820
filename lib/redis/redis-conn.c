/*
 * redis-conn.c - one Redis connection over TCP, a unix socket or TLS
 * (redis-tls.c): non-blocking connect with a deadline, AUTH and SELECT,
 * commands and pipelines with a deadline per round trip, and subscribe
 * mode.  Commands are formatted by hiredis's redisFormatCommandArgv and
 * replies parsed by its redisReader; the socket is ours, so a deadline is
 * a deadline (hiredis's SO_RCVTIMEO restarts with every byte received).
 *
 * Every descriptor is close-on-exec and non-blocking; writes never raise
 * SIGPIPE (send with MSG_NOSIGNAL).  Any I/O failure, timeout or protocol
 * error drops the connection: later calls fail at once.
 */
#include "config.h"

#include "fx.h"
#include "redis-conn.h"

#include <errno.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define DEFAULT_HOST "127.0.0.1"
#define DEFAULT_PORT 6379
#define READ_CHUNK 16384

struct fx_redis {
    int fd;
    struct fx_tls *tls; /* NULL: plain */
    redisReader *reader;
    fxu_buf out;    /* formatted commands not written yet */
    size_t out_off; /* how much of out is written */
    char *where;
    char *host; /* NULL for unix sockets */
    int port;
    double timeout;
    int broken;
    char *broken_why;
};

/* Drop the connection for good, remembering why for later calls. */
static void
fail(struct fx_redis *c, char **err, const char *why)
{
    if (!c->broken) {
        c->broken = 1;
        c->broken_why = fxu_strdup(why);
        if (c->tls)
            fx_tls_free(c->tls);
        c->tls = NULL;
        if (c->fd >= 0)
            close(c->fd);
        c->fd = -1;
    }
    fx_set_err(err, "%s: %s", c->where, why);
}

static int
check_usable(struct fx_redis *c, char **err)
{
    if (!c->broken)
        return 0;
    fx_set_err(err, "%s: connection dropped after an earlier error (%s)",
               c->where, c->broken_why ? c->broken_why : "unknown");
    return -1;
}

static double
timeout_of(double t)
{
    return t > 0 && isfinite(t) ? t : FX_REDIS_DEFAULT_TIMEOUT;
}

/* ---- raw I/O ------------------------------------------------------------ */

/* TLS trouble is said to be TLS trouble */
static long
tls_result(long r, char **why)
{
    if (r == FX_TLS_ERROR && *why) {
        char *s = fxu_asprintf("TLS: %s", *why);
        free(*why);
        *why = s;
    }
    return r;
}

/* > 0 bytes, 0 closed, FX_TLS_WANT (poll *want), FX_TLS_ERROR (*why) */
static long
raw_read(struct fx_redis *c, char *buf, size_t n, short *want, char **why)
{
    if (c->tls)
        return tls_result(fx_tls_read(c->tls, buf, n, want, why), why);
    ssize_t r = recv(c->fd, buf, n, 0);
    if (r >= 0)
        return (long)r;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        *want = POLLIN;
        return FX_TLS_WANT;
    }
    *why = fxu_strdup(strerror(errno));
    return FX_TLS_ERROR;
}

static long
raw_write(struct fx_redis *c, const char *buf, size_t n, short *want,
          char **why)
{
    if (c->tls)
        return tls_result(fx_tls_write(c->tls, buf, n, want, why), why);
    ssize_t r = send(c->fd, buf, n, MSG_NOSIGNAL);
    if (r >= 0)
        return (long)r;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        *want = POLLOUT;
        return FX_TLS_WANT;
    }
    *why = fxu_strdup(strerror(errno));
    return FX_TLS_ERROR;
}

static void
fail_timeout(struct fx_redis *c, char **err)
{
    char why[64];
    snprintf(why, sizeof(why), "timed out after %.0f ms", c->timeout * 1e3);
    fail(c, err, why);
}

/* Write everything buffered before the deadline.  0 / -1 (dropped). */
static int
write_out(struct fx_redis *c, double deadline, char **err)
{
    while (c->out_off < c->out.len) {
        short want = 0;
        char *why = NULL;
        long r = raw_write(c, c->out.data + c->out_off, c->out.len - c->out_off,
                           &want, &why);
        if (r > 0) {
            c->out_off += (size_t)r;
            continue;
        }
        if (r == FX_TLS_WANT) {
            int w = fx_rsock_wait(c->fd, want, deadline, NULL);
            if (w > 0)
                continue;
            if (w == 0)
                fail_timeout(c, err);
            else
                fail(c, err, strerror(errno));
            return -1;
        }
        fail(c, err, why ? why : "connection closed by the server");
        free(why);
        return -1;
    }
    fxu_buf_reset(&c->out);
    c->out_off = 0;
    return 0;
}

/*
 * Read until the reader holds a whole reply.  1 with *reply, 0 when the
 * deadline passed or *stop (only with quiet_timeout: the connection stays),
 * -1 dropped with *err.
 */
static int
read_reply(struct fx_redis *c, double deadline, volatile sig_atomic_t *stop,
           int quiet_timeout, redisReply **reply, char **err)
{
    char buf[READ_CHUNK];
    *reply = NULL;
    for (;;) {
        void *r = NULL;
        if (redisReaderGetReply(c->reader, &r) != REDIS_OK) {
            char why[200];
            snprintf(why, sizeof(why), "protocol error: %s", c->reader->errstr);
            fail(c, err, why);
            return -1;
        }
        if (r) {
            *reply = r;
            return 1;
        }
        short want = 0;
        char *why = NULL;
        long n = raw_read(c, buf, sizeof(buf), &want, &why);
        if (n > 0) {
            redisReaderFeed(c->reader, buf, (size_t)n);
            continue;
        }
        if (n == FX_TLS_WANT) {
            int w = fx_rsock_wait(c->fd, want, deadline, stop);
            if (w > 0)
                continue;
            if (w == 0 && quiet_timeout)
                return 0;
            if (w == 0)
                fail_timeout(c, err);
            else
                fail(c, err, strerror(errno));
            return -1;
        }
        fail(c, err, why ? why : "connection closed by the server");
        free(why);
        return -1;
    }
}

/* ---- commands ----------------------------------------------------------- */

int
fx_redis_append(struct fx_redis *c, int argc, const char *const *argv,
                const size_t *lens, char **err)
{
    if (check_usable(c, err) < 0)
        return -1;
    char *cmd = NULL;
    long long len =
        redisFormatCommandArgv(&cmd, argc, (const char **)argv, lens);
    if (len < 0 || cmd == NULL) {
        fx_set_err(err, "%s: cannot format the command", c->where);
        return -1;
    }
    fxu_buf_append(&c->out, cmd, (size_t)len);
    redisFreeCommand(cmd);
    return 0;
}

int
fx_redis_flush(struct fx_redis *c, char **err)
{
    if (check_usable(c, err) < 0)
        return -1;
    return write_out(c, fxu_monotonic() + c->timeout, err);
}

int
fx_redis_get_reply(struct fx_redis *c, redisReply **reply, char **err)
{
    *reply = NULL;
    if (check_usable(c, err) < 0)
        return -1;
    double deadline = fxu_monotonic() + c->timeout;
    if (write_out(c, deadline, err) < 0)
        return -1;
    return read_reply(c, deadline, NULL, 0, reply, err) > 0 ? 0 : -1;
}

int
fx_redis_pipeline(struct fx_redis *c, const struct fx_redis_cmd *cmds, size_t n,
                  redisReply **replies, char **err)
{
    for (size_t i = 0; i < n; i++)
        replies[i] = NULL;
    for (size_t i = 0; i < n; i++)
        if (fx_redis_append(c, cmds[i].argc, cmds[i].argv, cmds[i].lens, err) <
            0)
            return -1;
    double deadline = fxu_monotonic() + c->timeout;
    if (write_out(c, deadline, err) < 0)
        return -1;
    for (size_t i = 0; i < n; i++)
        if (read_reply(c, deadline, NULL, 0, &replies[i], err) <= 0) {
            for (size_t j = 0; j < i; j++) {
                freeReplyObject(replies[j]);
                replies[j] = NULL;
            }
            return -1;
        }
    return 0;
}

redisReply *
fx_redis_command(struct fx_redis *c, int argc, const char *const *argv,
                 const size_t *lens, char **err)
{
    struct fx_redis_cmd cmd = {argc, argv, lens};
    redisReply *r = NULL;
    return fx_redis_pipeline(c, &cmd, 1, &r, err) == 0 ? r : NULL;
}

static int
is_error_prefix(const redisReply *r, const char *prefix)
{
    size_t n = strlen(prefix);
    return r && r->type == REDIS_REPLY_ERROR && r->str && r->len >= n &&
           strncmp(r->str, prefix, n) == 0 && (r->len == n || r->str[n] == ' ');
}

int
fx_redis_is_readonly(const redisReply *r)
{
    return is_error_prefix(r, "READONLY");
}

int
fx_redis_wants_reresolve(const redisReply *r)
{
    return is_error_prefix(r, "READONLY") || is_error_prefix(r, "MASTERDOWN") ||
           is_error_prefix(r, "LOADING");
}

/* ---- subscribe mode ----------------------------------------------------- */

int
fx_redis_subscribe(struct fx_redis *c, int nchannels,
                   const char *const *channels, char **err)
{
    const char **argv = fxu_xcalloc((size_t)nchannels + 1, sizeof(*argv));
    argv[0] = "SUBSCRIBE";
    for (int i = 0; i < nchannels; i++)
        argv[i + 1] = channels[i];
    int rc = fx_redis_append(c, nchannels + 1, argv, NULL, err);
    free(argv);
    if (rc < 0)
        return -1;
    double deadline = fxu_monotonic() + c->timeout;
    if (write_out(c, deadline, err) < 0)
        return -1;
    for (int i = 0; i < nchannels; i++) {
        redisReply *r = NULL;
        if (read_reply(c, deadline, NULL, 0, &r, err) <= 0)
            return -1;
        int ok = r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
                 r->element[0]->type == REDIS_REPLY_STRING &&
                 strcmp(r->element[0]->str, "subscribe") == 0;
        if (!ok) {
            fx_set_err(err, "%s: SUBSCRIBE failed: %s", c->where,
                       r->type == REDIS_REPLY_ERROR ? r->str
                                                    : "unexpected reply");
            freeReplyObject(r);
            return -1;
        }
        freeReplyObject(r);
    }
    return 0;
}

int
fx_redis_next_message(struct fx_redis *c, double wait,
                      volatile sig_atomic_t *stop, redisReply **msg, char **err)
{
    *msg = NULL;
    if (check_usable(c, err) < 0)
        return -1;
    double deadline = wait < 0 ? 0 : fxu_monotonic() + wait;
    if (wait == 0)
        deadline = fxu_monotonic(); /* only what is already here */
    return read_reply(c, deadline, stop, 1, msg, err);
}

/* ---- connecting --------------------------------------------------------- */

static char *
name_server(const struct fx_redis_opts *o, const char *host, int port)
{
    if (o->unix_path && *o->unix_path)
        return fxu_asprintf("redis unix:%s", o->unix_path);
    if (strchr(host, ':'))
        return fxu_asprintf("redis [%s]:%d", host, port);
    return fxu_asprintf("redis %s:%d", host, port);
}

static int
tls_start(struct fx_redis *c, const struct fx_redis_tls *tls, double deadline,
          char **err)
{
    char *why = NULL;
    if (fx_tls_new(&c->tls, c->fd, tls, c->host ? c->host : "localhost", &why) <
        0) {
        fx_set_err(err, "%s: TLS: %s", c->where, why);
        free(why);
        return -1;
    }
    for (;;) {
        short want = 0;
        int r = fx_tls_handshake(c->tls, &want, &why);
        if (r > 0)
            return 0;
        if (r < 0) {
            fx_set_err(err, "%s: TLS: %s", c->where, why);
            free(why);
            return -1;
        }
        int w = fx_rsock_wait(c->fd, want, deadline, NULL);
        if (w <= 0) {
            /* a plain Redis port takes the ClientHello for the start of a
             * command and waits for the rest */
            fx_set_err(err, "%s: TLS handshake %s", c->where,
                       w == 0 ? "timed out (is it a TLS port?)"
                              : strerror(errno));
            return -1;
        }
    }
}

/* AUTH and SELECT in one round trip. */
static int
login(struct fx_redis *c, const struct fx_redis_opts *o, char **err)
{
    struct fx_redis_cmd cmds[2];
    const char *auth[3], *select[2];
    char db[32];
    size_t n = 0;
    int has_auth = o->password && *o->password;

    if (has_auth) {
        auth[0] = "AUTH";
        if (o->username && *o->username) {
            auth[1] = o->username;
            auth[2] = o->password;
            cmds[n++] = (struct fx_redis_cmd){3, auth, NULL};
        } else {
            auth[1] = o->password;
            cmds[n++] = (struct fx_redis_cmd){2, auth, NULL};
        }
    }
    if (o->db != 0) {
        snprintf(db, sizeof(db), "%ld", o->db);
        select[0] = "SELECT";
        select[1] = db;
        cmds[n++] = (struct fx_redis_cmd){2, select, NULL};
    }
    if (n == 0)
        return 0;
    redisReply *replies[2] = {NULL, NULL};
    if (fx_redis_pipeline(c, cmds, n, replies, err) < 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        if (replies[i]->type != REDIS_REPLY_ERROR)
            continue;
        /* Redis's messages never echo the password */
        if (has_auth && i == 0)
            fx_set_err(err, "%s: authentication failed: %s", c->where,
                       replies[i]->str);
        else
            fx_set_err(err, "%s: SELECT %ld failed: %s", c->where, o->db,
                       replies[i]->str);
        rc = -1;
    }
    for (size_t i = 0; i < n; i++)
        freeReplyObject(replies[i]);
    return rc;
}

int
fx_redis_connect(struct fx_redis **out, const struct fx_redis_opts *o,
                 char **err)
{
    *out = NULL;
    int is_unix = o->unix_path && *o->unix_path;
    const char *host = o->host && *o->host ? o->host : DEFAULT_HOST;
    int port = o->port > 0 ? o->port : DEFAULT_PORT;
    struct fx_redis *c = fxu_xcalloc(1, sizeof(*c));
    fxu_buf_init(&c->out);
    c->fd = -1;
    c->where = name_server(o, host, port);
    c->host = is_unix ? NULL : fxu_strdup(host);
    c->port = is_unix ? 0 : port;
    c->timeout = timeout_of(o->timeout);
    c->reader = redisReaderCreate();
    if (c->reader == NULL) {
        fx_set_err(err, "%s: out of memory", c->where);
        goto fail;
    }

    double deadline = fxu_monotonic() + c->timeout;
    char *why = NULL;
    c->fd = is_unix ? fx_rsock_connect_unix(o->unix_path, deadline, &why)
                    : fx_rsock_connect_tcp(host, port, deadline, &why);
    if (c->fd < 0) {
        fx_set_err(err, "%s: %s", c->where, why ? why : "cannot connect");
        free(why);
        goto fail;
    }
    if (o->tls.enabled && tls_start(c, &o->tls, deadline, err) < 0)
        goto fail;
    if (login(c, o, err) < 0)
        goto fail;
    *out = c;
    return 0;

fail:
    fx_redis_free(c);
    return -1;
}

void
fx_redis_free(struct fx_redis *c)
{
    if (c == NULL)
        return;
    if (c->tls)
        fx_tls_free(c->tls);
    if (c->fd >= 0)
        close(c->fd);
    if (c->reader)
        redisReaderFree(c->reader);
    fxu_buf_free(&c->out);
    free(c->where);
    free(c->host);
    free(c->broken_why);
    free(c);
}

const char *
fx_redis_where(const struct fx_redis *c)
{
    return c->where;
}

int
fx_redis_port(const struct fx_redis *c)
{
    return c->port;
}

int
fx_redis_fd(const struct fx_redis *c)
{
    return c->fd;
}

int
fx_redis_broken(const struct fx_redis *c)
{
    return c->broken;
}
