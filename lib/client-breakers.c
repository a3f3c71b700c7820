/*
 * client-breakers.c - a client's breakers: the store it talks to (Redis
 * when configured, falling back to the file store for the rest of the
 * process when Redis fails), warnings about malformed state, and the
 * public flexiai_breaker_* calls.  client.c consults the store through
 * the fx_client_* functions here; nothing here calls into client.c.
 */
#include "config.h"

#include "client.h"
#include "fx.h"
#include "redis/redis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the store, with fallback ----------------------------------------- */

static void
redis_failed(flexiai_client *c, const char *given)
{
    /* "...; using the file store" follows: a server's message ending in a
     * full stop ("... is disabled.") would read ".;" */
    char *why = fxu_strdup(given);
    size_t len = strlen(why);
    while (len > 0 && (why[len - 1] == '.' || why[len - 1] == ' '))
        why[--len] = '\0';
    if (!c->warned_redis)
        fx_client_log(c, FLEXIAI_LOG_WARN, "%s; using the file store", why);
    c->warned_redis = 1;
    free(c->redis_why);
    c->redis_why = why;
    c->redis_down = 1;
    if (c->store != c->file_store)
        c->ops->close(c->store);
    c->ops = &fx_store_file;
    c->store = c->file_store;
}

/* Connect to Redis the first time the store is needed. */
void
fx_client_ensure_store(flexiai_client *c)
{
    if (c->redis_tried || c->s->sync.backend != FX_BACKEND_REDIS)
        return;
    c->redis_tried = 1;
    struct fx_store *st = NULL;
    char *err = NULL;
    if (fx_store_redis.open(&st, c->s, &err) != 0) {
        redis_failed(c, err ? err : "unreachable");
        free(err);
        return;
    }
    c->ops = &fx_store_redis;
    c->store = st;
}

static void
warn_bad(flexiai_client *c, const char *provider)
{
    for (size_t i = 0; i < c->nwarned_bad; i++)
        if (strcmp(c->warned_bad[i], provider) == 0)
            return;
    c->warned_bad =
        fxu_xrealloc(c->warned_bad, (c->nwarned_bad + 1) * sizeof(char *));
    c->warned_bad[c->nwarned_bad++] = fxu_strdup(provider);
    fx_client_log(
        c, FLEXIAI_LOG_WARN,
        "breaker state of '%s' in the %s store is malformed; treated as "
        "closed",
        provider, c->ops->name);
}

void
fx_client_store_load(flexiai_client *c, const char *const *names, size_t n,
                     struct fx_breaker_doc *docs)
{
    fx_client_ensure_store(c);
    int *bad = fxu_xcalloc(n ? n : 1, sizeof(int));
    char *err = NULL;
    if (c->ops->load(c->store, names, n, docs, bad, &err) != 0) {
        if (c->store != c->file_store) {
            redis_failed(c, err ? err : "load failed");
            free(err);
            err = NULL;
            memset(bad, 0, n * sizeof(int));
            if (c->ops->load(c->store, names, n, docs, bad, &err) != 0)
                for (size_t i = 0; i < n; i++)
                    fx_breaker_doc_init(&docs[i]);
        } else {
            for (size_t i = 0; i < n; i++)
                fx_breaker_doc_init(&docs[i]);
            if (!c->warned_write) { /* e.g. an untrusted state directory */
                c->warned_write = 1;
                fx_client_log(c, FLEXIAI_LOG_WARN, "%s",
                              err ? err : "state not read");
            }
        }
        free(err);
    }
    for (size_t i = 0; i < n; i++)
        if (bad[i])
            warn_bad(c, names[i]);
    free(bad);
    /* absurd times from another writer: cut back to what could be true */
    struct fx_breaker_op op;
    fx_client_fill_op(c, &op, FX_BREAKER_ADMIT);
    for (size_t i = 0; i < n; i++)
        fx_breaker_doc_clamp(&docs[i], &op);
}

void
fx_client_fill_op(const flexiai_client *c, struct fx_breaker_op *op, int kind)
{
    memset(op, 0, sizeof(*op));
    op->kind = kind;
    op->now = fxu_wallclock();
    op->worker = c->s->sync.worker_id;
    op->failure_threshold = c->s->failure_threshold;
    op->recovery_timeout = c->s->recovery_timeout;
    op->half_open_max_calls = c->s->half_open_max_calls;
    op->probe_timeout = c->s->probe_timeout;
    op->max_open = c->s->max_open;
}

/* Apply op in the store; on store trouble carry on with the in-memory
 * result (a broken store never fails a request). Returns the event. */
int
fx_client_store_update(flexiai_client *c, const char *provider,
                       const struct fx_breaker_op *op,
                       struct fx_breaker_doc *doc, int *admit)
{
    fx_client_ensure_store(c);
    int event = FX_EV_NONE, adm = FX_ADMIT_NO;
    char *err = NULL;
    struct fx_breaker_doc result;
    fx_breaker_doc_init(&result);
    if (c->ops->update(c->store, provider, op, &result, &event, &adm, &err) !=
        0) {
        if (c->store != c->file_store) {
            redis_failed(c, err ? err : "update failed");
            free(err);
            err = NULL;
            fx_breaker_doc_init(&result);
            event = FX_EV_NONE;
            adm = FX_ADMIT_NO;
            if (fx_store_file.update(c->store, provider, op, &result, &event,
                                     &adm, &err) != 0 &&
                !c->warned_write) {
                c->warned_write = 1;
                fx_client_log(c, FLEXIAI_LOG_WARN, "%s",
                              err ? err : "state not saved");
            }
        } else if (!c->warned_write) {
            c->warned_write = 1;
            fx_client_log(c, FLEXIAI_LOG_WARN, "%s",
                          err ? err : "state not saved");
        }
        free(err);
    }
    if (doc)
        *doc = result;
    if (admit)
        *admit = adm;
    return event;
}

/* ---- breakers --------------------------------------------------------- */

static int
valid_name(const char *name)
{
    return name && *name && name[0] != '.' && strchr(name, '/') == NULL &&
           strlen(name) < 200;
}

flexiai_code
flexiai_breaker_status(flexiai_client *c, const char *const *names, size_t n,
                       flexiai_breaker_info **out, size_t *nout)
{
    *out = NULL;
    *nout = 0;
    const char *const *list = names;
    if (n == 0) {
        n = flexiai_config_providers(c->cfg, &list);
    }
    for (size_t i = 0; i < n; i++)
        if (!valid_name(list[i])) {
            fx_client_error_set(c, "invalid provider name '%s'", list[i]);
            return FLEXIAI_EUSAGE;
        }
    struct fx_breaker_doc *docs = fxu_xcalloc(n ? n : 1, sizeof(*docs));
    if (n)
        fx_client_store_load(c, list, n, docs);
    flexiai_breaker_info *info = fxu_xcalloc(n ? n : 1, sizeof(*info));
    double now = fxu_wallclock();
    for (size_t i = 0; i < n; i++) {
        info[i].provider = fxu_strdup(list[i]);
        info[i].state = fxu_strdup(fx_bstate_name(docs[i].state));
        info[i].failure_count = docs[i].failure_count;
        info[i].success_count = docs[i].success_count;
        info[i].changed_at = docs[i].changed_at;
        info[i].opened_at = docs[i].opened_at;
        info[i].retry_at = docs[i].retry_at;
        info[i].changed_by =
            docs[i].changed_by[0] ? fxu_strdup(docs[i].changed_by) : NULL;
        info[i].reason = docs[i].reason[0] ? fxu_strdup(docs[i].reason) : NULL;
        if (docs[i].last_class[0]) {
            info[i].last_error_class = fxu_strdup(docs[i].last_class);
            info[i].last_error = fxu_strdup(docs[i].last_error);
        }
        info[i].backend = c->ops == &fx_store_file ? FLEXIAI_BACKEND_FILE
                                                   : FLEXIAI_BACKEND_REDIS;
        info[i].usable =
            fx_breaker_usable(&docs[i], now, c->s->half_open_max_calls);
    }
    free(docs);
    *out = info;
    *nout = n;
    if (c->s->sync.backend == FX_BACKEND_REDIS && c->redis_down) {
        fx_client_error_set(c, "%s; the rows come from the file store",
                            c->redis_why ? c->redis_why
                                         : "redis is unreachable");
        return FLEXIAI_EUNAVAILABLE;
    }
    return FLEXIAI_OK;
}

void
flexiai_breaker_info_free(flexiai_breaker_info *info, size_t n)
{
    if (info == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        free(info[i].provider);
        free(info[i].state);
        free(info[i].changed_by);
        free(info[i].reason);
        free(info[i].last_error_class);
        free(info[i].last_error);
    }
    free(info);
}

static flexiai_code
admin_update(flexiai_client *c, const char *name, int kind, double until,
             const char *reason)
{
    if (!valid_name(name)) {
        fx_client_error_set(c, "invalid provider name '%s'", name ? name : "");
        return FLEXIAI_EUSAGE;
    }
    /* nothing falls back here: one error says why, no "using the file
     * store" beside it */
    int warned = c->warned_redis;
    c->warned_redis = 1;
    fx_client_ensure_store(c);
    c->warned_redis = warned;
    if (c->s->sync.backend == FX_BACKEND_REDIS && c->redis_down) {
        fx_client_error_set(
            c, "%s; breaker '%s' not changed",
            c->redis_why ? c->redis_why : "redis is unreachable", name);
        return FLEXIAI_ETEMPFAIL;
    }
    struct fx_breaker_op op;
    fx_client_fill_op(c, &op, kind);
    op.until = until;
    if (reason && *reason) {
        /* kept as the last error: status, watch and the event show it */
        op.err_class = "manual";
        op.err_msg = reason;
    }
    struct fx_breaker_doc doc;
    int ev = FX_EV_NONE, adm;
    char *err = NULL;
    if (c->ops->update(c->store, name, &op, &doc, &ev, &adm, &err) != 0) {
        fx_client_error_set(c, "%s", err ? err : "cannot change breaker state");
        free(err);
        return c->store == c->file_store ? FLEXIAI_ESOFTWARE
                                         : FLEXIAI_ETEMPFAIL;
    }
    return FLEXIAI_OK;
}

flexiai_code
flexiai_breaker_reset(flexiai_client *c, const char *name)
{
    return admin_update(c, name, FX_BREAKER_RESET, 0, NULL);
}

flexiai_code
flexiai_breaker_open(flexiai_client *c, const char *name, double seconds)
{
    return flexiai_breaker_open_reason(c, name, seconds, NULL);
}

flexiai_code
flexiai_breaker_open_reason(flexiai_client *c, const char *name, double seconds,
                            const char *reason)
{
    if (reason)
        for (const unsigned char *p = (const unsigned char *)reason; *p; p++)
            if (*p < 0x20 || *p > 0x7e) {
                fx_client_error_set(c, "a reason is one line of printable "
                                       "ASCII");
                return FLEXIAI_EUSAGE;
            }
    double until = seconds > 0 ? fxu_wallclock() + seconds : 0;
    return admin_update(c, name, FX_BREAKER_FORCE_OPEN, until, reason);
}

flexiai_backend
flexiai_breaker_backend(flexiai_client *c)
{
    fx_client_ensure_store(c);
    return c->ops == &fx_store_file ? FLEXIAI_BACKEND_FILE
                                    : FLEXIAI_BACKEND_REDIS;
}

int
flexiai_breaker_store_ok(flexiai_client *c)
{
    fx_client_ensure_store(c);
    return !(c->s->sync.backend == FX_BACKEND_REDIS && c->redis_down);
}

/* The user's callback, and the client to read state with for a resync. */
struct watch_wrap {
    flexiai_client *c;
    flexiai_event_fn fn;
    void *ud;
};

static int
wrap_event(void *ud, const flexiai_event *ev)
{
    struct watch_wrap *w = ud;
    return w->fn ? w->fn(w->ud, ev) : 0;
}

static const char *
state_event(const char *state)
{
    if (strcmp(state, "open") == 0)
        return "opened";
    return state; /* closed, half_open */
}

/* Say where we listen; after a reconnect, events may have been missed:
 * deliver every configured breaker's state, marked as a resync. */
static void
on_subscribed(void *ud, const char *where, int again)
{
    struct watch_wrap *w = ud;
    fx_client_log(w->c, FLEXIAI_LOG_NOTICE, "watching %s on %s%s",
                  w->c->s->sync.channel, where,
                  again ? " again (resync: events may have been missed)" : "");
    if (!again || w->fn == NULL)
        return;
    /* the store's own connection died with the old one: connect afresh
     * (quietly: the watcher already said what happened) */
    flexiai_client *c = w->c;
    if (c->store && c->store != c->file_store)
        c->ops->close(c->store);
    c->store = c->file_store;
    c->ops = &fx_store_file;
    c->redis_down = 0;
    c->redis_tried = 0;
    flexiai_breaker_info *info = NULL;
    size_t n = 0;
    flexiai_breaker_status(w->c, NULL, 0, &info, &n);
    for (size_t i = 0; i < n; i++) {
        flexiai_event ev = {
            .provider = info[i].provider,
            .event_type = state_event(info[i].state),
            .worker_id = info[i].changed_by,
            .timestamp = NULL,
            .failure_count = info[i].failure_count,
            .success_count = info[i].success_count,
            .json = NULL,
            .resync = 1,
            .reason = info[i].reason,
        };
        if (w->fn(w->ud, &ev) != 0)
            break;
    }
    flexiai_breaker_info_free(info, n);
}

flexiai_code
flexiai_breaker_watch(flexiai_client *c, flexiai_event_fn fn, void *ud,
                      volatile sig_atomic_t *stop)
{
    if (c->s->sync.backend != FX_BACKEND_REDIS) {
        fx_client_error_set(c, "watching breaker events needs the Redis store "
                               "([sync] backend = redis)");
        return FLEXIAI_EUNAVAILABLE;
    }
    struct watch_wrap w = {c, fn, ud};
    return fx_redis_watch(c->s, wrap_event, &w, stop, c->log, c->log_ud,
                          on_subscribed);
}

flexiai_code
flexiai_breaker_sync(flexiai_client *c, flexiai_sync_fn fn, void *ud,
                     volatile sig_atomic_t *stop)
{
    if (c->s->sync.backend != FX_BACKEND_REDIS) {
        fx_client_error_set(c, "the bridge needs the Redis store "
                               "([sync] backend = redis)");
        return FLEXIAI_EUNAVAILABLE;
    }
    return fx_redis_bridge(c->s, fn, ud, stop, c->log, c->log_ud);
}
