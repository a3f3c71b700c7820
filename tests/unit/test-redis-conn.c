/* test-redis-conn.c - the Redis connection layer (lib/redis-conn.c,
 * redis-tls.c, redis-sentinel.c) against real servers started here: plain
 * TCP over IPv4 and IPv6, a unix socket, AUTH, deadlines against stalled
 * servers, TLS with certificates made by the openssl command, pub/sub over
 * TLS, and Sentinel discovery and failover. */
#include "config.h"

#include "fx.h"
#include "http.h"
#include "redis/redis-conn.h"
#include "redis-servers.h"

#include "tap.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define TIMEOUT 0.25

static int
contains(const char *s, const char *part)
{
    return s && strstr(s, part) != NULL;
}

/* a formatted string that lives until a few more calls (for is_str) */
static const char *strf(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static const char *
strf(const char *fmt, ...)
{
    static char buf[4][512];
    static int next;
    char *p = buf[next++ % 4];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p, sizeof(buf[0]), fmt, ap);
    va_end(ap);
    return p;
}

static void
opts_tcp(struct fx_redis_opts *o, const char *host, int port)
{
    memset(o, 0, sizeof(*o));
    o->host = host;
    o->port = port;
    o->timeout = TIMEOUT;
}

static struct fx_redis *
connect_or_say(const struct fx_redis_opts *o, char **err)
{
    struct fx_redis *c = NULL;
    if (fx_redis_connect(&c, o, err) < 0)
        printf("# connect: %s\n", *err ? *err : "(no message)");
    return c;
}

/* one command from a string of words; the reply's text or "(error: ..)" */
static char *
cmd_text(struct fx_redis *c, const char *a, const char *b, const char *d,
         char **err)
{
    const char *argv[] = {a, b, d};
    int argc = d ? 3 : b ? 2 : 1;
    redisReply *r = c ? fx_redis_command(c, argc, argv, NULL, err) : NULL;
    char *s = NULL;
    if (r == NULL)
        s = NULL;
    else if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS)
        s = fxu_strndup(r->str, r->len);
    else if (r->type == REDIS_REPLY_ERROR)
        s = fxu_asprintf("(error: %s)", r->str);
    else if (r->type == REDIS_REPLY_INTEGER)
        s = fxu_asprintf("%lld", r->integer);
    else
        s = fxu_strdup("(other)");
    if (r)
        freeReplyObject(r);
    return s;
}

/* cmd_text, freed here; compares with want */
static int
says(struct fx_redis *c, const char *a, const char *b, const char *d,
     const char *want)
{
    char *err = NULL;
    char *got = cmd_text(c, a, b, d, &err);
    int same = got && strcmp(got, want) == 0;
    if (!same)
        printf("#   %s: got '%s' (%s)\n", a, got ? got : "(null)",
               err ? err : "");
    free(got);
    free(err);
    return same;
}

/* ---- plain connections -------------------------------------------------- */

static void
test_plain(const struct rs_server *a)
{
    struct fx_redis_opts o;
    char *err = NULL;

    opts_tcp(&o, "127.0.0.1", a->port);
    struct fx_redis *c = connect_or_say(&o, &err);
    ok(c != NULL, "connect over IPv4");
    is_str(c ? fx_redis_where(c) : NULL, strf("redis 127.0.0.1:%d", a->port),
           "named for messages");
    int flags = c ? fcntl(fx_redis_fd(c), F_GETFD) : 0;
    ok(flags & FD_CLOEXEC, "the socket is close-on-exec");
    ok(says(c, "PING", NULL, NULL, "PONG"), "PING");
    ok(says(c, "SET", "conn:k", "v1", "OK") &&
           says(c, "GET", "conn:k", NULL, "v1"),
       "SET and GET");
    ok(says(c, "HGET", "conn:k", "f",
            "(error: WRONGTYPE Operation against a key holding the wrong "
            "kind of value)"),
       "an error reply is a reply");
    ok(c && !fx_redis_broken(c), "and keeps the connection");

    /* binary-safe values and a pipeline */
    const char bin[] = {'a', '\0', 'b', '\r', '\n'};
    const char *set_argv[] = {"SET", "conn:bin", bin};
    const size_t set_lens[] = {3, 8, sizeof(bin)};
    const char *incr_argv[] = {"INCR", "conn:n"};
    const char *get_argv[] = {"GET", "conn:bin"};
    const char *del_argv[] = {"DEL", "conn:n"};
    struct fx_redis_cmd cmds[] = {{2, del_argv, NULL},
                                  {3, set_argv, set_lens},
                                  {2, incr_argv, NULL},
                                  {2, incr_argv, NULL},
                                  {2, get_argv, NULL}};
    redisReply *rep[5];
    int rc = c ? fx_redis_pipeline(c, cmds, 5, rep, &err) : -1;
    ok(rc == 0, "a pipeline of 5 commands");
    if (rc == 0) {
        ok(rep[2]->type == REDIS_REPLY_INTEGER && rep[2]->integer == 1 &&
               rep[3]->integer == 2,
           "its replies in order");
        ok(rep[4]->type == REDIS_REPLY_STRING && rep[4]->len == sizeof(bin) &&
               memcmp(rep[4]->str, bin, sizeof(bin)) == 0,
           "binary-safe arguments");
        for (int i = 0; i < 5; i++)
            freeReplyObject(rep[i]);
    } else {
        ok(0, "its replies in order");
        ok(0, "binary-safe arguments");
    }

    /* the hiredis-shaped pair */
    const char *ping[] = {"PING"};
    redisReply *r1 = NULL, *r2 = NULL;
    ok(c && fx_redis_append(c, 1, ping, NULL, &err) == 0 &&
           fx_redis_append(c, 1, ping, NULL, &err) == 0 &&
           fx_redis_get_reply(c, &r1, &err) == 0 &&
           fx_redis_get_reply(c, &r2, &err) == 0 && r1 && r2 &&
           r1->type == REDIS_REPLY_STATUS && r2->type == REDIS_REPLY_STATUS,
       "append twice, get two replies");
    if (r1)
        freeReplyObject(r1);
    if (r2)
        freeReplyObject(r2);
    fx_redis_free(c);

    /* SELECT */
    o.db = 3;
    c = connect_or_say(&o, &err);
    ok(says(c, "SET", "conn:db", "three", "OK"), "connect with db 3");
    fx_redis_free(c);
    o.db = 0;
    c = connect_or_say(&o, &err);
    ok(says(c, "EXISTS", "conn:db", NULL, "0"), "and SELECT went there");
    fx_redis_free(c);
    o.db = 99;
    ok(fx_redis_connect(&c, &o, &err) < 0 &&
           contains(err, "SELECT 99 failed: ERR DB index is out of range"),
       "a bad db says so: %s", err ? err : "(null)");
    free(err);
    err = NULL;

    opts_tcp(&o, "::1", a->port);
    c = connect_or_say(&o, &err);
    ok(says(c, "PING", NULL, NULL, "PONG"), "connect over IPv6 (::1)");
    is_str(c ? fx_redis_where(c) : NULL, strf("redis [::1]:%d", a->port),
           "named with brackets");
    fx_redis_free(c);

    opts_tcp(&o, "localhost", a->port);
    c = connect_or_say(&o, &err);
    ok(says(c, "PING", NULL, NULL, "PONG"), "connect by name (localhost)");
    fx_redis_free(c);

    memset(&o, 0, sizeof(o));
    o.unix_path = rs_path("redis.sock");
    c = connect_or_say(&o, &err);
    ok(says(c, "PING", NULL, NULL, "PONG"), "connect over a unix socket");
    is_str(c ? fx_redis_where(c) : NULL,
           strf("redis unix:%s", rs_path("redis.sock")), "named by its path");
    fx_redis_free(c);
    free(err);
}

static void
test_auth(const struct rs_server *p)
{
    struct fx_redis_opts o;
    struct fx_redis *c = NULL;
    char *err = NULL;

    opts_tcp(&o, "127.0.0.1", p->port);
    c = connect_or_say(&o, &err);
    ok(says(c, "GET", "x", NULL, "(error: NOAUTH Authentication required.)"),
       "without AUTH: NOAUTH");
    fx_redis_free(c);

    o.password = "def-Pw-91";
    c = connect_or_say(&o, &err);
    ok(says(c, "SET", "auth:k", "1", "OK"), "AUTH with the requirepass");
    fx_redis_free(c);

    o.username = "alice";
    o.password = "alice-Pw-27";
    o.db = 1;
    c = connect_or_say(&o, &err);
    ok(says(c, "ACL", "WHOAMI", NULL, "alice"),
       "AUTH as an ACL user, with SELECT in the same round trip");
    fx_redis_free(c);

    o.password = "Wrong-SECRET-55";
    c = NULL;
    ok(fx_redis_connect(&c, &o, &err) < 0 && c == NULL,
       "a wrong password fails the connect");
    ok(contains(err, "authentication failed: WRONGPASS"), "says so: %s",
       err ? err : "(null)");
    ok(!contains(err, "SECRET"), "without the password");
    free(err);
}

/* ---- deadlines ---------------------------------------------------------- */

/* A loopback port that listens and never accepts. */
static int
mute_listener(int *port)
{
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(fd, 16) < 0 || getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
        return -1;
    *port = ntohs(sa.sin_port);
    return fd;
}

static void
test_deadlines(const struct rs_server *a)
{
    struct fx_redis_opts o;
    struct fx_redis *c = NULL;
    char *err = NULL;
    double t;

    /* nobody listens: refused at once */
    opts_tcp(&o, "127.0.0.1", rs_free_port());
    t = fxu_monotonic();
    ok(fx_redis_connect(&c, &o, &err) < 0 &&
           contains(err, "Connection refused") && fxu_monotonic() - t < 0.5,
       "a dead port fails fast (%.0f ms): %s", (fxu_monotonic() - t) * 1e3,
       err ? err : "(null)");

    /* a listening socket that never answers */
    int port = 0, lfd = mute_listener(&port);
    ok(lfd >= 0, "a mute listener");
    opts_tcp(&o, "127.0.0.1", port);
    c = connect_or_say(&o, &err);
    ok(c != NULL, "connect to it (the kernel accepts)");
    t = fxu_monotonic();
    char *got = cmd_text(c, "PING", NULL, NULL, &err);
    double took = fxu_monotonic() - t;
    ok(got == NULL && took >= 0.2 && took < 1.0,
       "PING fails after the timeout (%.0f ms)", took * 1e3);
    is_str(err, strf("redis 127.0.0.1:%d: timed out after 250 ms", port),
           "with a clear message");
    ok(c && fx_redis_broken(c) && fx_redis_fd(c) < 0,
       "and the connection is dropped");
    /* no new round trip: the reason is the earlier one, not a timeout */
    ok(cmd_text(c, "PING", NULL, NULL, &err) == NULL &&
           contains(err, "dropped after an earlier error (timed out"),
       "later calls fail at once: %s", err ? err : "(null)");
    fx_redis_free(c);

    o.tls.enabled = 1;
    o.tls.ca = rs_path("ca.crt");
    t = fxu_monotonic();
    ok(fx_redis_connect(&c, &o, &err) < 0 && contains(err, "timed out") &&
           fxu_monotonic() - t < 1.0,
       "a TLS handshake with it times out (%.0f ms): %s",
       (fxu_monotonic() - t) * 1e3, err ? err : "(null)");
    close(lfd);

    /* a real server busy for 2 s */
    redisContext *busy = redisConnect("127.0.0.1", a->port);
    int done = 0;
    ok(busy && !busy->err &&
           redisAppendCommand(busy, "DEBUG SLEEP 2") == REDIS_OK,
       "a server in DEBUG SLEEP 2");
    while (busy && !done && redisBufferWrite(busy, &done) == REDIS_OK)
        ;
    usleep(100000);
    opts_tcp(&o, "127.0.0.1", a->port);
    c = connect_or_say(&o, &err);
    t = fxu_monotonic();
    got = cmd_text(c, "GET", "conn:k", NULL, &err);
    took = fxu_monotonic() - t;
    ok(got == NULL && contains(err, "timed out") && took < 1.0,
       "a command to it fails within the timeout (%.0f ms): %s", took * 1e3,
       err ? err : "(null)");
    fx_redis_free(c);
    if (busy) { /* wait for the sleep to end before the next tests */
        redisReply *r = NULL;
        struct timeval tv = {5, 0};
        redisSetTimeout(busy, tv);
        if (redisGetReply(busy, (void **)&r) == REDIS_OK && r)
            freeReplyObject(r);
        redisFree(busy);
    }
    free(err);
}

/* ---- TLS ---------------------------------------------------------------- */

static void
opts_tls(struct fx_redis_opts *o, const char *host, int port, const char *ca)
{
    opts_tcp(o, host, port);
    o->timeout = 2; /* handshakes on a busy machine: no flakes */
    o->tls.enabled = 1;
    o->tls.ca = ca;
}

/* connect and PING; NULL when it worked, else the error (to free) */
static char *
tls_try(const struct fx_redis_opts *o)
{
    struct fx_redis *c = NULL;
    char *err = NULL;
    if (fx_redis_connect(&c, o, &err) == 0) {
        char *got = cmd_text(c, "PING", NULL, NULL, &err);
        if (got && strcmp(got, "PONG") == 0) {
            free(got);
            free(err);
            fx_redis_free(c);
            return NULL;
        }
        free(got);
    }
    fx_redis_free(c);
    return err ? err : fxu_strdup("(no message)");
}

static void
test_tls(const struct rs_server *t, const struct rs_server *tc,
         const struct rs_server *a)
{
    struct fx_redis_opts o;
    char *err;

    opts_tls(&o, "127.0.0.1", t->port, rs_path("ca.crt"));
    err = tls_try(&o);
    ok(err == NULL, "TLS with the right CA file, verified against the IP: %s",
       err ? err : "ok");
    free(err);

    opts_tls(&o, "127.0.0.1", t->port, rs_path("cadir"));
    err = tls_try(&o);
    ok(err == NULL, "TLS with a CA directory: %s", err ? err : "ok");
    free(err);

    opts_tls(&o, "127.0.0.1", t->port, rs_path("ca.crt"));
    o.tls.server_name = "localhost";
    err = tls_try(&o);
    ok(err == NULL, "TLS with server_name localhost: %s", err ? err : "ok");
    free(err);

    opts_tls(&o, "::1", t->port, rs_path("ca.crt"));
    err = tls_try(&o);
    ok(err == NULL, "TLS over IPv6: %s", err ? err : "ok");
    free(err);

    opts_tls(&o, "127.0.0.1", t->port, rs_path("other-ca.crt"));
    err = tls_try(&o);
    is_str(err,
           strf("redis 127.0.0.1:%d: TLS: certificate verify failed "
                "(self-signed certificate in certificate chain)",
                t->port),
           "a wrong CA: verify error");
    free(err);

    o.tls.insecure = 1;
    err = tls_try(&o);
    ok(err == NULL, "insecure works with the wrong CA: %s", err ? err : "ok");
    free(err);

    opts_tls(&o, "127.0.0.1", t->port, rs_path("ca.crt"));
    o.tls.server_name = "redis.wrong.example";
    err = tls_try(&o);
    is_str(err,
           strf("redis 127.0.0.1:%d: TLS: server name mismatch (the "
                "certificate is not for redis.wrong.example)",
                t->port),
           "a wrong server name: mismatch");
    free(err);

    opts_tls(&o, "127.0.0.1", t->port, rs_path("no-such-ca.crt"));
    err = tls_try(&o);
    ok(contains(err, "TLS: CA ") && contains(err, "No such file"),
       "a missing CA file: %s", err ? err : "(null)");
    free(err);

    /* the server wants a client certificate */
    opts_tls(&o, "127.0.0.1", tc->port, rs_path("ca.crt"));
    err = tls_try(&o);
    ok(contains(err, "TLS: the server requires a client certificate"),
       "no client certificate: %s", err ? err : "(null)");
    free(err);
    o.tls.cert = rs_path("client.crt");
    o.tls.key = rs_path("client.key");
    err = tls_try(&o);
    ok(err == NULL, "with the client certificate: %s", err ? err : "ok");
    free(err);
    o.tls.key = rs_path("server.key");
    err = tls_try(&o);
    ok(contains(err, "TLS: key ") && contains(err, "does not match"),
       "a key of another certificate: %s", err ? err : "(null)");
    free(err);

    /* TLS to a plain port */
    opts_tls(&o, "127.0.0.1", a->port, rs_path("ca.crt"));
    err = tls_try(&o);
    ok(contains(err, "TLS") && contains(err, "is it a TLS port?"),
       "TLS to a plain port: %s", err ? err : "(null)");
    free(err);
}

static void
test_pubsub_tls(const struct rs_server *t)
{
    struct fx_redis_opts o;
    struct fx_redis *sub = NULL, *pub = NULL;
    redisReply *msg = NULL;
    char *err = NULL;
    const char *channels[] = {"conn:ch", "conn:other"};
    volatile sig_atomic_t stop = 0;

    opts_tls(&o, "127.0.0.1", t->port, rs_path("ca.crt"));
    o.timeout = TIMEOUT * 4;
    sub = connect_or_say(&o, &err);
    pub = connect_or_say(&o, &err);
    ok(sub && fx_redis_subscribe(sub, 2, channels, &err) == 0,
       "SUBSCRIBE to two channels over TLS");
    ok(says(pub, "PUBLISH", "conn:ch", "hello over TLS", "1"),
       "PUBLISH reaches one subscriber");
    int rc = sub ? fx_redis_next_message(sub, 2.0, &stop, &msg, &err) : -1;
    ok(rc == 1 && msg && msg->type == REDIS_REPLY_ARRAY && msg->elements == 3 &&
           strcmp(msg->element[0]->str, "message") == 0 &&
           strcmp(msg->element[1]->str, "conn:ch") == 0 &&
           strcmp(msg->element[2]->str, "hello over TLS") == 0,
       "the message arrives");
    if (msg)
        freeReplyObject(msg);
    msg = NULL;

    double t0 = fxu_monotonic();
    rc = sub ? fx_redis_next_message(sub, 0.3, &stop, &msg, &err) : -1;
    double took = fxu_monotonic() - t0;
    ok(rc == 0 && msg == NULL && took >= 0.25 && took < 1.0,
       "nothing within the wait: 0 after %.0f ms", took * 1e3);
    ok(sub && !fx_redis_broken(sub), "and the connection stays");

    stop = 1;
    t0 = fxu_monotonic();
    rc = sub ? fx_redis_next_message(sub, -1, &stop, &msg, &err) : -1;
    /* an endless wait (-1) that returns was ended by the flag */
    ok(rc == 0, "the stop flag ends a wait");
    stop = 0;

    const char *ping[] = {"PING"};
    ok(sub && fx_redis_append(sub, 1, ping, NULL, &err) == 0 &&
           fx_redis_flush(sub, &err) == 0 &&
           fx_redis_next_message(sub, 2.0, &stop, &msg, &err) == 1 && msg &&
           msg->type == REDIS_REPLY_ARRAY &&
           strcmp(msg->element[0]->str, "pong") == 0,
       "a PING while subscribed answers pong");
    if (msg)
        freeReplyObject(msg);
    msg = NULL;

    /* two messages in one TLS record burst: both delivered */
    ok(says(pub, "PUBLISH", "conn:other", "one", "1") &&
           says(pub, "PUBLISH", "conn:other", "two", "1"),
       "two more messages");
    int got = 0;
    while (sub && fx_redis_next_message(sub, 1.0, &stop, &msg, &err) == 1) {
        got++;
        freeReplyObject(msg);
        msg = NULL;
        if (got == 2)
            break;
    }
    is_int(got, 2, "both arrive");
    fx_redis_free(pub);

    /* the server goes away: -1 */
    fx_redis_free(sub);
    free(err);
}

/* A server that goes away under a subscriber and a client. */
static void
test_lost(struct rs_server *g)
{
    struct fx_redis_opts o;
    struct fx_redis *sub = NULL, *c = NULL;
    redisReply *msg = NULL;
    char *err = NULL;
    const char *channels[] = {"conn:ch"};

    opts_tcp(&o, "127.0.0.1", g->port);
    sub = connect_or_say(&o, &err);
    c = connect_or_say(&o, &err);
    ok(sub && fx_redis_subscribe(sub, 1, channels, &err) == 0,
       "subscribed to a server about to die");
    rs_stop(g);
    double t0 = fxu_monotonic();
    int rc = sub ? fx_redis_next_message(sub, 5.0, NULL, &msg, &err) : 0;
    ok(rc == -1 && contains(err, "connection closed by the server") &&
           fxu_monotonic() - t0 < 1.0,
       "the subscriber hears of it at once: %s", err ? err : "(null)");
    char *got = cmd_text(c, "PING", NULL, NULL, &err);
    ok(got == NULL && c && fx_redis_broken(c), "a command fails: %s",
       err ? err : "(null)");
    free(got);
    fx_redis_free(sub);
    fx_redis_free(c);
    free(err);
}

/* ---- Sentinel ----------------------------------------------------------- */

/* hiredis straight to a server, to watch the set-up converge */
static long
count_entries(int port, const char *cmd)
{
    struct timeval tv = {1, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    long n = -1;
    if (c && !c->err) {
        redisSetTimeout(c, tv);
        redisReply *r = redisCommand(c, cmd);
        if (r && r->type == REDIS_REPLY_ARRAY)
            n = (long)r->elements;
        if (r)
            freeReplyObject(r);
    }
    if (c)
        redisFree(c);
    return n;
}

static int
replica_synced(int port)
{
    struct timeval tv = {1, 0};
    redisContext *c = redisConnectWithTimeout("127.0.0.1", port, tv);
    int up = 0;
    if (c && !c->err) {
        redisSetTimeout(c, tv);
        redisReply *r = redisCommand(c, "INFO replication");
        up = r && r->type == REDIS_REPLY_STRING &&
             strstr(r->str, "master_link_status:up") != NULL;
        if (r)
            freeReplyObject(r);
    }
    if (c)
        redisFree(c);
    return up;
}

/* Wait until the replica is in sync and every sentinel knows the replica
 * and the other two sentinels: only then can they agree on a failover. */
static int
sentinels_ready(struct rs_server *sent, int n, int replica_port)
{
    double until = fxu_monotonic() + 30;
    while (fxu_monotonic() < until) {
        int ready = replica_synced(replica_port);
        for (int i = 0; ready && i < n; i++)
            ready =
                count_entries(sent[i].port, "SENTINEL sentinels m") == n - 1 &&
                count_entries(sent[i].port, "SENTINEL replicas m") == 1;
        if (ready)
            return 1;
        usleep(100000);
    }
    return 0;
}

static void
test_sentinel(struct rs_server *master, struct rs_server *replica,
              struct rs_server *sent, int nsent)
{
    struct fx_redis_opts o;
    struct fx_redis_sentinel so;
    struct fx_redis *c = NULL;
    char *err = NULL, *host = NULL;
    int port = 0;
    char addrs_buf[4][64];
    const char *addrs[4];

    /* a dead sentinel first: it is skipped */
    snprintf(addrs_buf[0], sizeof(addrs_buf[0]), "127.0.0.1:%d",
             rs_free_port());
    for (int i = 0; i < nsent; i++)
        snprintf(addrs_buf[i + 1], sizeof(addrs_buf[0]),
                 i == 1 ? "[::1]:%d" : "127.0.0.1:%d", sent[i].port);
    for (int i = 0; i < 4; i++)
        addrs[i] = addrs_buf[i];
    memset(&so, 0, sizeof(so));
    so.addrs = addrs;
    so.naddrs = (size_t)nsent + 1;
    so.master_name = "m";
    opts_tcp(&o, NULL, 0);
    o.timeout = 1; /* WAIT below, and a machine busy with other tests */
    o.sentinel = &so;

    ok(sentinels_ready(sent, nsent, replica->port),
       "three sentinels agree on a master and a replica");

    ok(fx_redis_sentinel_resolve(&o, &host, &port, &err) == 0 &&
           strcmp(host, "127.0.0.1") == 0 && port == master->port,
       "resolve: the master, past a dead sentinel (%s:%d) %s",
       host ? host : "-", port, err ? err : "");
    free(host);
    host = NULL;

    ok(fx_redis_open(&c, &o, &err) == 0 && fx_redis_port(c) == master->port,
       "open connects to the master");
    /* WAIT: replication is asynchronous, the replica must have it before
     * the master dies */
    /* the replica may still be in its first sync on a busy machine: WAIT
     * again (each within the 1 s command timeout) rather than fail */
    int replicated = says(c, "SET", "conn:sentinel", "before", "OK");
    for (int i = 0; replicated && i < 10; i++) {
        if (says(c, "WAIT", "1", "900", "1"))
            break;
        if (i == 9)
            replicated = 0;
    }
    ok(replicated, "and writes, replicated");
    fx_redis_free(c);
    c = NULL;

    so.master_name = "nosuch";
    ok(fx_redis_open(&c, &o, &err) < 0 &&
           contains(err, "no master named 'nosuch'"),
       "an unknown master name: %s", err ? err : "(null)");
    so.master_name = "m";

    /* READONLY from the replica */
    struct fx_redis_opts ro;
    opts_tcp(&ro, "127.0.0.1", replica->port);
    c = connect_or_say(&ro, &err);
    const char *set[] = {"SET", "conn:ro", "x"};
    redisReply *r = c ? fx_redis_command(c, 3, set, NULL, &err) : NULL;
    ok(r && fx_redis_is_readonly(r) && fx_redis_wants_reresolve(r),
       "a write to the replica: READONLY is recognised (%s)",
       r && r->str ? r->str : "-");
    if (r)
        freeReplyObject(r);
    const char *bad[] = {"NOSUCHCOMMAND"};
    r = c ? fx_redis_command(c, 1, bad, NULL, &err) : NULL;
    ok(r && r->type == REDIS_REPLY_ERROR && !fx_redis_is_readonly(r) &&
           !fx_redis_wants_reresolve(r),
       "another error is not");
    if (r)
        freeReplyObject(r);
    fx_redis_free(c);
    c = NULL;

    /* the master dies: re-resolution finds the promoted replica */
    rs_stop(master);
    double t0 = fxu_monotonic(), until = t0 + 30;
    int found = 0, tries = 0;
    while (!found && fxu_monotonic() < until) {
        tries++;
        if (fx_redis_open(&c, &o, &err) == 0) {
            found = fx_redis_port(c) == replica->port;
            if (!found) {
                fx_redis_free(c);
                c = NULL;
            }
        }
        if (!found)
            usleep(100000);
    }
    ok(found,
       "after the master dies, re-resolution finds the promoted "
       "replica (%.1f s, %d tries)",
       fxu_monotonic() - t0, tries);
    if (!found)
        printf("#   last error: %s\n", err ? err : "(none)");
    ok(says(c, "GET", "conn:sentinel", NULL, "before"),
       "which has the master's data");
    ok(says(c, "SET", "conn:sentinel", "after", "OK"), "and takes writes");
    fx_redis_free(c);
    free(err);
}

int
main(void)
{
    static struct rs_server a = {.name = "plain"}, p = {.name = "auth"},
                            t = {.name = "tls"}, tc = {.name = "tls-clients"},
                            m = {.name = "master"}, r = {.name = "replica"},
                            g = {.name = "doomed"};
    static struct rs_server sent[3] = {
        {.name = "sentinel"}, {.name = "sentinel"}, {.name = "sentinel"}};
    char master_port[16];

    rs_init();
    if (rs_make_certs() < 0) {
        printf("Bail out! openssl could not make the test certificates "
               "(see %s)\n",
               rs_path("openssl.log"));
        return 1;
    }

    /* the sentinel set-up first: it takes seconds to converge */
    rs_start(&m, NULL);
    snprintf(master_port, sizeof(master_port), "%d", m.port);
    const char *replica_args[] = {"--replicaof", "127.0.0.1", master_port,
                                  NULL};
    rs_start(&r, replica_args);
    for (int i = 0; i < 3; i++)
        rs_start_sentinel(&sent[i], m.port, "m");

    const char *plain_args[] = {"--enable-debug-command",
                                "yes",
                                "--unixsocket",
                                rs_path("redis.sock"),
                                "--unixsocketperm",
                                "700",
                                NULL};
    rs_start(&a, plain_args);
    const char *auth_args[] = {
        "--requirepass", "def-Pw-91", "--user", "alice", "on",
        ">alice-Pw-27",  "~*",        "&*",     "+@all", NULL};
    rs_start(&p, auth_args);
    const char *tls_args[] = {"TLS",
                              "--tls-cert-file",
                              rs_path("server-chain.crt"),
                              "--tls-key-file",
                              rs_path("server.key"),
                              "--tls-ca-cert-file",
                              rs_path("ca.crt"),
                              "--tls-auth-clients",
                              "no",
                              NULL};
    rs_start(&t, tls_args);
    tls_args[8] = "yes";
    rs_start(&tc, tls_args);
    rs_start(&g, NULL);

    test_plain(&a);
    test_auth(&p);
    test_deadlines(&a);
    test_tls(&t, &tc, &a);
    test_pubsub_tls(&t);
    test_lost(&g);
    test_sentinel(&m, &r, sent, 3);
    return tap_done();
}
