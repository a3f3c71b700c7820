/*
 * redis-watch.c - flexiai_breaker_watch() for the Redis store: subscribe to
 * the events channel and hand each CircuitBreakerEvent to the caller,
 * reconnecting with backoff when the connection is lost.  Connections go
 * through redis-conn (TCP, unix socket, TLS; through Sentinel when
 * configured, so a reconnect after a failover finds the new master).
 */
#include "config.h"

#include "conf/conf.h"
#include "fx.h"
#include "redis-conn.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* the reconnect backoff, and the keepalive that notices a silently dead
 * connection */
#define WATCH_BACKOFF_MIN 0.1
#define WATCH_BACKOFF_MAX 5.0
#define WATCH_PING_IDLE 30.0
#define WATCH_PING_WAIT 10.0

static void log_warn(flexiai_log_fn log, void *ud, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
log_warn(flexiai_log_fn log, void *ud, const char *fmt, ...)
{
    if (log == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *msg = fxu_vasprintf(fmt, ap);
    va_end(ap);
    log(ud, FLEXIAI_LOG_WARN, msg);
    free(msg);
}

static int
is_stopped(volatile sig_atomic_t *stop)
{
    return stop && *stop;
}

static struct fx_redis *
watch_subscribe(const struct fx_sync *s, const char *channel, char **err)
{
    struct fx_redis *c = NULL;
    if (fx_redis_open_sync(&c, s, err) != 0)
        return NULL;
    if (fx_redis_subscribe(c, 1, &channel, err) != 0) {
        fx_redis_free(c);
        return NULL;
    }
    return c;
}

/* A message as it may appear in a one-line log: printable, shortened. */
static char *
log_excerpt(const char *s, size_t len)
{
    size_t max = 80, n = len < max ? len : max;
    char *out = fxu_xmalloc(n + 4);
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        out[i] = ch < 0x20 || ch == 0x7f ? '?' : (char)ch;
    }
    strcpy(out + n, len > max ? "..." : "");
    return out;
}

struct watch {
    const char *channel;
    flexiai_event_fn fn;
    void *ud;
    volatile sig_atomic_t *stop;
    flexiai_log_fn log;
    void *log_ud;
    /* malformed-event warnings: at most one a second, with a count */
    double warned_at;
    long unwarned;
};

/* One pushed reply.  Returns non-zero when the callback asks to stop. */
static int
watch_message(struct watch *w, const redisReply *r)
{
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 3 ||
        r->element[0]->type != REDIS_REPLY_STRING ||
        strcmp(r->element[0]->str, "message") != 0 ||
        r->element[2]->type != REDIS_REPLY_STRING)
        return 0; /* subscribe confirmations, pongs */

    const redisReply *payload = r->element[2];
    flexiai_event ev;
    void *owned = NULL;
    if (strlen(payload->str) != payload->len ||
        fx_event_parse(payload->str, &ev, &owned) < 0) {
        /* a flood of junk must not flood the terminal */
        double now = fxu_monotonic();
        if (w->warned_at > 0 && now - w->warned_at < 1.0) {
            w->unwarned++;
            return 0;
        }
        char *text = log_excerpt(payload->str, payload->len);
        if (w->unwarned)
            log_warn(w->log, w->log_ud,
                     "ignoring malformed event on %s: %s (and %ld more "
                     "since the last warning)",
                     w->channel, text, w->unwarned);
        else
            log_warn(w->log, w->log_ud, "ignoring malformed event on %s: %s",
                     w->channel, text);
        free(text);
        w->warned_at = now;
        w->unwarned = 0;
        return 0;
    }
    int rc = w->fn ? w->fn(w->ud, &ev) : 0;
    free(owned);
    return rc;
}

/*
 * Deliver messages until the callback or *stop ends it (1), or the
 * connection is lost (-1 with *err).  A quiet connection gets a PING: a
 * silent server and a vanished one look the same otherwise.
 */
static int
watch_read(struct watch *w, struct fx_redis *c, char **err)
{
    int pinged = 0;
    for (;;) {
        redisReply *r = NULL;
        int rc = fx_redis_next_message(
            c, pinged ? WATCH_PING_WAIT : WATCH_PING_IDLE, w->stop, &r, err);
        if (rc < 0)
            return -1;
        if (is_stopped(w->stop))
            return 1;
        if (rc > 0) {
            pinged = 0;
            int done = watch_message(w, r);
            freeReplyObject(r);
            if (done)
                return 1;
            continue;
        }
        if (pinged) {
            free(*err);
            *err = fxu_asprintf("%s: no answer to PING", fx_redis_where(c));
            return -1;
        }
        const char *argv[] = {"PING"};
        if (fx_redis_append(c, 1, argv, NULL, err) != 0 ||
            fx_redis_flush(c, err) != 0)
            return -1;
        pinged = 1;
    }
}

/*
 * Subscribe and deliver events until *stop or the callback says so.
 * Neither a failed first connection nor a lost one ends the watch: it
 * reconnects with backoff (100 ms doubling to 5 s) and says so through
 * the log callback, once per outage.
 */
int
fx_redis_watch(const struct fx_settings *s, flexiai_event_fn fn, void *ud,
               volatile sig_atomic_t *stop, flexiai_log_fn log, void *log_ud,
               fx_watch_subscribed_fn subscribed)
{
    int subscribed_before = 0;
    if (s == NULL)
        return FLEXIAI_ESOFTWARE;
    const struct fx_sync *sync = &s->sync;
    struct watch w = {sync->channel, fn, ud, stop, log, log_ud, 0, 0};
    double delay = WATCH_BACKOFF_MIN;
    enum { FINE, NEVER_CONNECTED, LOST } trouble = FINE;

    while (!is_stopped(stop)) {
        char *err = NULL;
        struct fx_redis *c = watch_subscribe(sync, w.channel, &err);
        if (c == NULL) {
            if (trouble == FINE) {
                log_warn(log, log_ud, "cannot connect to redis (%s); retrying",
                         err);
                trouble = NEVER_CONNECTED;
            }
            free(err);
            fxu_sleep(delay, stop);
            delay =
                delay * 2 < WATCH_BACKOFF_MAX ? delay * 2 : WATCH_BACKOFF_MAX;
            continue;
        }
        if (trouble == LOST)
            log_warn(log, log_ud, "reconnected to redis");
        else if (trouble == NEVER_CONNECTED)
            log_warn(log, log_ud, "connected to redis");
        trouble = FINE;
        delay = WATCH_BACKOFF_MIN;
        if (subscribed)
            subscribed(ud, fx_redis_where(c), subscribed_before);
        subscribed_before = 1;

        int rc = watch_read(&w, c, &err);
        fx_redis_free(c);
        if (rc > 0) {
            free(err);
            break;
        }
        log_warn(log, log_ud, "redis connection lost (%s); reconnecting", err);
        free(err);
        trouble = LOST;
        fxu_sleep(delay, stop);
        delay = delay * 2 < WATCH_BACKOFF_MAX ? delay * 2 : WATCH_BACKOFF_MAX;
    }
    return 0;
}
