/*
 * redis-conn.h - our own Redis connection: TCP (IPv4/IPv6), unix socket or
 * TLS (OpenSSL), with hiredis used only for what it is good at and what
 * every version exports: the RESP reader and the command formatter.
 *
 *   redis-conn.c      connect with a deadline, AUTH/SELECT, commands,
 *                     pipelines, subscribe mode
 *   redis-socket.c    non-blocking, close-on-exec connect; poll waits
 *   redis-tls.c       the TLS layer under it (certificates, verification)
 *   redis-sentinel.c  finding the master through Sentinel, and
 *                     fx_redis_open(), which picks direct or Sentinel
 *
 * Every blocking step is bounded by one `timeout` (seconds): the connect
 * (with the TLS handshake), and each command round trip.  When it runs out
 * the connection is dropped and the call fails with "timed out"; from then
 * on every call on that connection fails at once (fx_redis_broken()), and
 * the caller reconnects with fx_redis_open() (which re-resolves the master
 * when Sentinel is configured).
 *
 * Errors are returned as one-line strings in *err (freed by the caller,
 * replaced when already set) that name the server as "redis HOST:PORT" or
 * "redis unix:PATH" and never contain a password.  Replies are hiredis's
 * redisReply, freed with freeReplyObject(); an error reply (-ERR ...) is a
 * reply, not a failure.
 */
#ifndef REDIS_CONN_H
#define REDIS_CONN_H

#include <hiredis/hiredis.h>

#include <signal.h>
#include <stddef.h>

#include "conf/conf.h"
#include "fx.h"
#include "redis.h"

/* breaker.lua as a C string (generated at build time) */
extern const char fx_breaker_lua[];
extern const char fx_bridge_lua[]; /* bridge.lua, for redis-bridge.c */
/* hex SHA-1 of data into out[41], as SCRIPT LOAD names a script (sha1.c) */
void fx_sha1_hex(const void *data, size_t len, char out[41]);

#define FX_REDIS_DEFAULT_TIMEOUT 0.25

struct fx_redis_tls {
    int enabled;
    const char *ca;          /* CA file or directory; NULL: system store */
    const char *cert;        /* client certificate (chain) file, PEM */
    const char *key;         /* its private key, PEM */
    const char *server_name; /* SNI and the name verified; NULL: the host */
    int insecure;            /* no verification at all */
};

/* Sentinel: ask these for the master's address instead of using host. */
struct fx_redis_sentinel {
    const char *const *addrs; /* "HOST:PORT", "[::1]:PORT"; port 26379 */
    size_t naddrs;
    const char *master_name;
    const char *username, *password; /* for the sentinels, may be NULL */
    int tls;                         /* talk TLS to them too (opts' tls) */
};

struct fx_redis_opts {
    const char *host;      /* name or address; NULL: 127.0.0.1 */
    int port;              /* <= 0: 6379 */
    const char *unix_path; /* set: a unix socket instead of host/port */
    const char *username;  /* ACL user, with password */
    const char *password;  /* NULL or "": no AUTH */
    long db;               /* SELECT when not 0 */
    double timeout;        /* seconds; <= 0: FX_REDIS_DEFAULT_TIMEOUT */
    struct fx_redis_tls tls;
    const struct fx_redis_sentinel *sentinel; /* NULL: connect directly */
};

struct fx_redis;

/* One command of a pipeline; lens may be NULL (strlen of each). */
struct fx_redis_cmd {
    int argc;
    const char *const *argv;
    const size_t *lens;
};

/* ---- redis-conn.c ------------------------------------------------------ */

/* Connect to opts' host/port or unix_path (opts->sentinel is ignored here:
 * see fx_redis_open), do the TLS handshake, AUTH and SELECT (pipelined, no
 * round trip without them).  0, or -1 with *err. */
int fx_redis_connect(struct fx_redis **out, const struct fx_redis_opts *opts,
                     char **err);
void fx_redis_free(struct fx_redis *c);

/* "redis HOST:PORT" or "redis unix:PATH", as messages name the server */
const char *fx_redis_where(const struct fx_redis *c);
/* The port connected to (for Sentinel's answer); 0 for unix. */
int fx_redis_port(const struct fx_redis *c);
/* The socket, for poll() beside other descriptors; -1 once dropped.
 * With TLS, data may be buffered that poll() does not see: call
 * fx_redis_next_message(c, 0, ...) until it returns 0 before polling. */
int fx_redis_fd(const struct fx_redis *c);
/* The connection failed (timeout, reset, protocol error): reconnect. */
int fx_redis_broken(const struct fx_redis *c);

/* One command, one round trip.  The reply, or NULL with *err. */
redisReply *fx_redis_command(struct fx_redis *c, int argc,
                             const char *const *argv, const size_t *lens,
                             char **err);
/* n commands written at once, n replies read, all within one timeout.
 * 0 with replies[0..n-1] set, or -1 with *err and replies all NULL. */
int fx_redis_pipeline(struct fx_redis *c, const struct fx_redis_cmd *cmds,
                      size_t n, redisReply **replies, char **err);

/* The hiredis-shaped pair, for code written against redisAppendCommandArgv
 * and redisGetReply: append only buffers; get_reply writes what is
 * buffered and reads one reply within one timeout.  0 / -1 with *err. */
int fx_redis_append(struct fx_redis *c, int argc, const char *const *argv,
                    const size_t *lens, char **err);
int fx_redis_get_reply(struct fx_redis *c, redisReply **reply, char **err);
/* Write what is buffered without waiting for replies (a PING while
 * subscribed).  0 / -1 with *err. */
int fx_redis_flush(struct fx_redis *c, char **err);

/* Subscribe mode: SUBSCRIBE to the channels and wait for every
 * confirmation.  0 / -1 with *err.  Only fx_redis_next_message,
 * fx_redis_append + fx_redis_flush (PING, more SUBSCRIBEs) make sense
 * afterwards. */
int fx_redis_subscribe(struct fx_redis *c, int nchannels,
                       const char *const *channels, char **err);
/* Wait up to `wait` seconds (< 0: forever) for the next pushed reply
 * (["message", channel, payload], ["pong", ""], ...), returning early when
 * *stop becomes non-zero (checked at least every 100 ms and after a
 * signal).  1 with *msg set, 0 when the wait ended or *stop, -1 with *err
 * when the connection is lost. */
int fx_redis_next_message(struct fx_redis *c, double wait,
                          volatile sig_atomic_t *stop, redisReply **msg,
                          char **err);

/* An error reply saying the server is a replica now (READONLY ...): the
 * master moved, re-resolve through Sentinel. */
int fx_redis_is_readonly(const redisReply *r);
/* An error reply that means "reconnect elsewhere": READONLY, or MASTERDOWN
 * / LOADING from a server between roles. */
int fx_redis_wants_reresolve(const redisReply *r);

/* ---- redis-socket.c: used by redis-conn.c only ------------------------- */

/* Wait until fd is ready for events or the deadline (monotonic seconds,
 * 0: none) passes: 1 ready, 0 timed out (or *stop), -1 error (errno).
 * With stop, looks at it every 100 ms and after a signal. */
int fx_rsock_wait(int fd, short events, double deadline,
                  volatile sig_atomic_t *stop);
/* A connected non-blocking, close-on-exec socket, or -1 with *why. */
int fx_rsock_connect_tcp(const char *host, int port, double deadline,
                         char **why);
int fx_rsock_connect_unix(const char *path, double deadline, char **why);

/* ---- redis-tls.c: used by redis-conn.c only ---------------------------- */

/* I/O results: > 0 bytes, FX_TLS_CLOSED, FX_TLS_WANT (poll for *want
 * and call again), FX_TLS_ERROR (*why set). */
#define FX_TLS_CLOSED 0
#define FX_TLS_WANT (-1)
#define FX_TLS_ERROR (-2)

struct fx_tls;
/* Set up TLS on a connected socket for `host` (verified unless insecure).
 * 0, or -1 with *why (a reason without the server's name). */
int fx_tls_new(struct fx_tls **out, int fd, const struct fx_redis_tls *opts,
               const char *host, char **why);
/* One step of the handshake: 1 done, 0 poll for *want, -1 with *why. */
int fx_tls_handshake(struct fx_tls *t, short *want, char **why);
long fx_tls_read(struct fx_tls *t, void *buf, size_t n, short *want,
                 char **why);
long fx_tls_write(struct fx_tls *t, const void *buf, size_t n, short *want,
                  char **why);
void fx_tls_free(struct fx_tls *t);

/* ---- redis-sentinel.c --------------------------------------------------- */

/* Ask the sentinels in turn for the master's address: 0 with *host (to
 * free) and *port, or -1 with *err. */
int fx_redis_sentinel_resolve(const struct fx_redis_opts *opts, char **host,
                              int *port, char **err);
/* Connect: directly, or with opts->sentinel set, to the address a sentinel
 * gives, confirmed by ROLE to be a master, trying the next sentinel on any
 * failure.  Call it again to re-resolve after a lost connection or a
 * READONLY reply.  0, or -1 with *err. */
int fx_redis_open(struct fx_redis **out, const struct fx_redis_opts *opts,
                  char **err);

/* ---- redis-sentinel.c: from the [sync] settings ------------------------ */

struct fx_sync;
/* fx_redis_open() with options built from [sync]: host/port or unix
 * socket, AUTH, SELECT, redis_timeout, TLS (rediss://, redis_ssl,
 * redis_tls_*), Sentinel (redis_sentinels, redis_sentinel_*). */
int fx_redis_open_sync(struct fx_redis **out, const struct fx_sync *s,
                       char **err);
#endif
