/*
 * redis-bridge.c - flexiai_breaker_sync() for the Redis store: the bridge
 * for Python FlexiAI workers, which open and close their breakers by
 * publishing events only and never write the state documents.
 *
 * It watches the events channel (fx_redis_watch: reconnects with backoff,
 * through Sentinel when configured) and hands every opened / closed /
 * half_open event to bridge.lua on a second connection, which applies it
 * to the state document in one atomic step unless the document changed
 * at or after the event's time.  That one rule makes replays,
 * out-of-order delivery and several bridges on one Redis harmless, and
 * skips flexiai's own events (stamped with the time of the change they
 * announce).  failure / success events carry no transition and are left
 * alone, as the Python workers do.
 */
#include "config.h"

#include "conf/conf.h"
#include "fx.h"
#include "redis-conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* events further in the future than this are a wrong clock: applying one
 * would make every later real event look old */
#define BRIDGE_MAX_SKEW 60.0

struct bridge {
    const struct fx_settings *s;
    struct fx_redis *c; /* the command connection; NULL until needed */
    char sha[41];
    flexiai_sync_fn fn;
    void *ud;
    flexiai_log_fn log;
    void *log_ud;
    int warned;     /* one warning per outage of the command connection */
    long bad_names; /* events ignored for their provider name */
};

static void log_warn(struct bridge *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
log_warn(struct bridge *b, const char *fmt, ...)
{
    if (b->log == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *msg = fxu_vasprintf(fmt, ap);
    va_end(ap);
    b->log(b->log_ud, FLEXIAI_LOG_WARN, msg);
    free(msg);
}

/* The names the bridge writes state for (flexiai-breaker(1), sync): 1 to
 * 128 of A-Z a-z 0-9 . _ - : @ +, not starting with '.'.  Anything else
 * in an event (control characters, '/', spaces, a megabyte) is no
 * breaker's name, and a document under it would only confuse. */
#define BRIDGE_NAME_MAX 128

static int
bridge_name_ok(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > BRIDGE_NAME_MAX || name[0] == '.')
        return 0;
    for (const char *p = name; *p; p++) {
        char c = *p;
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || strchr("._-:@+", c) != NULL))
            return 0;
    }
    return 1;
}

/* Run the script: {applied, document}, or NULL with *err.  NOSCRIPT
 * falls back to EVAL; a reply saying the master moved, or a broken
 * connection, gets one fresh connection (through Sentinel). */
static redisReply *
run_script(struct bridge *b, const char **argv, int argc, char **err)
{
    for (int attempt = 0; attempt < 2; attempt++) {
        if (b->c == NULL || fx_redis_broken(b->c)) {
            fx_redis_free(b->c);
            b->c = NULL;
            if (fx_redis_open_sync(&b->c, &b->s->sync, err) != 0)
                return NULL;
        }
        argv[0] = "EVALSHA";
        argv[1] = b->sha;
        redisReply *r = fx_redis_command(b->c, argc, argv, NULL, err);
        if (r && r->type == REDIS_REPLY_ERROR && r->str &&
            strncmp(r->str, "NOSCRIPT", 8) == 0) {
            freeReplyObject(r);
            argv[0] = "EVAL";
            argv[1] = fx_bridge_lua;
            r = fx_redis_command(b->c, argc, argv, NULL, err);
        }
        if (r && !fx_redis_wants_reresolve(r))
            return r;
        if (r)
            freeReplyObject(r);
        fx_redis_free(b->c);
        b->c = NULL;
    }
    if (err && *err == NULL)
        *err = fxu_strdup("redis: the master keeps moving");
    return NULL;
}

static int
on_event(void *ud, const flexiai_event *ev)
{
    struct bridge *b = ud;
    const struct fx_sync *y = &b->s->sync;
    if (strcmp(ev->event_type, "opened") != 0 &&
        strcmp(ev->event_type, "closed") != 0 &&
        strcmp(ev->event_type, "half_open") != 0)
        return 0;
    if (!bridge_name_ok(ev->provider)) {
        /* a few warnings, not one per event of a flood */
        if (b->bad_names < 3)
            log_warn(b,
                     "ignoring an event (%s) whose provider name is not "
                     "[A-Za-z0-9._:@+-]{1,%d}%s",
                     ev->event_type, BRIDGE_NAME_MAX,
                     b->bad_names == 2 ? " (further ones silently)" : "");
        b->bad_names++;
        return 0;
    }
    double ts, now = fxu_wallclock();
    if (fx_event_time(ev->timestamp, &ts) != 0) {
        log_warn(b, "ignoring a %s event for %s without a valid timestamp",
                 ev->event_type, ev->provider);
        return 0;
    }
    if (ts > now + BRIDGE_MAX_SKEW) {
        log_warn(b,
                 "ignoring a %s event for %s from %.0f s in the future "
                 "(worker clock wrong?)",
                 ev->event_type, ev->provider, ts - now);
        return 0;
    }
    if (y->state_ttl > 0 && ts < now - (double)y->state_ttl)
        return 0; /* older than any document could be */

    char *key = fxu_asprintf("%s:state:%s", y->key_prefix ? y->key_prefix : "",
                             ev->provider);
    char tsbuf[40], fc[32], sc[32], rec[40], ttl[32];
    snprintf(tsbuf, sizeof(tsbuf), "%.17g", ts);
    snprintf(fc, sizeof(fc), "%ld", ev->failure_count);
    snprintf(sc, sizeof(sc), "%ld", ev->success_count);
    snprintf(rec, sizeof(rec), "%.17g", b->s->recovery_timeout);
    snprintf(ttl, sizeof(ttl), "%ld", y->state_ttl);
    const char *argv[] = {"EVALSHA", b->sha,        "1", key, ev->event_type,
                          tsbuf,     ev->worker_id, fc,  sc,  rec,
                          ttl};
    char *err = NULL;
    redisReply *r =
        run_script(b, argv, (int)(sizeof(argv) / sizeof(*argv)), &err);
    if (r == NULL) {
        if (!b->warned)
            log_warn(b, "cannot apply a %s event for %s (%s)", ev->event_type,
                     ev->provider, err ? err : "no reply");
        b->warned = 1;
        free(err);
        free(key);
        return 0;
    }
    b->warned = 0;
    free(err);
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[0]->type != REDIS_REPLY_INTEGER ||
        r->element[1]->type != REDIS_REPLY_STRING) {
        log_warn(b, "bridge script for %s failed: %s", ev->provider,
                 r->type == REDIS_REPLY_ERROR && r->str ? r->str
                                                        : "unexpected reply");
    } else if (r->element[0]->integer == 1) {
        struct fx_breaker_doc doc;
        fx_breaker_doc_init(&doc);
        const redisReply *d = r->element[1];
        if (fx_breaker_doc_from_json(d->str, d->len, &doc) == 0 && b->fn) {
            flexiai_sync_change ch = {ev->provider,
                                      ev->event_type,
                                      ev->worker_id,
                                      ev->timestamp,
                                      fx_bstate_name(doc.state),
                                      doc.failure_count,
                                      ev->json};
            b->fn(b->ud, &ch);
        }
    }
    freeReplyObject(r);
    free(key);
    return 0;
}

int
fx_redis_bridge(const struct fx_settings *s, flexiai_sync_fn fn, void *ud,
                volatile sig_atomic_t *stop, flexiai_log_fn log, void *log_ud)
{
    if (s == NULL)
        return FLEXIAI_ESOFTWARE;
    struct bridge b;
    memset(&b, 0, sizeof(b));
    b.s = s;
    b.fn = fn;
    b.ud = ud;
    b.log = log;
    b.log_ud = log_ud;
    fx_sha1_hex(fx_bridge_lua, strlen(fx_bridge_lua), b.sha);
    int rc = fx_redis_watch(s, on_event, &b, stop, log, log_ud, NULL);
    fx_redis_free(b.c);
    return rc;
}
