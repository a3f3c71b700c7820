/*
 * store-redis.c - breaker state documents in Redis, shared by every
 * flexiai process on every host, in the Python FlexiAI layout:
 *
 *   {key_prefix}:state:{provider}   the state document (JSON string, the
 *                                   fx_breaker_doc_to_json shape), expiring
 *                                   state_ttl seconds after its last write
 *   PUBLISH {channel}               CircuitBreakerEvent JSON, as Python's
 *                                   json.dumps() writes it
 *
 * Every update is one server-side Lua script, breaker.lua (EVALSHA, falling
 * back to EVAL when the server does not know it yet): read the document,
 * apply the operation exactly as fx_breaker_apply() does, write it back
 * when it changed, publish the events, in one atomic step and one round
 * trip.  The script mirrors fx_breaker_apply() and fx_breaker_doc_from_json() /
 * fx_breaker_doc_to_json() in breaker.c line by line; change them together
 * (test-store-redis compares the two on random operations).  It encodes
 * the document by hand rather than with cjson.encode so that numbers keep
 * 17 digits (cjson gives 14, and changing its precision would change it
 * for every other script on a shared server) and the bytes equal
 * fx_breaker_doc_to_json's.  Events are concatenated from pieces the C side
 * cuts out of fx_event_json(), so they are Python's json.dumps() bytes.
 *
 * A load is one round trip too (MGET and a TYPE per key, pipelined).
 *
 * One connection per store, made at open over redis-conn (TCP, unix socket
 * or TLS, directly or through Sentinel), every step bounded by
 * redis_timeout.  A READONLY (or MASTERDOWN/LOADING) reply means the
 * master moved: the store reconnects once, re-resolving through Sentinel,
 * and retries the command.  When the connection fails (refused, reset,
 * timed out) the store is marked broken and every later call fails at
 * once: the caller falls back to the file store for the rest of the
 * process rather than paying a timeout per breaker operation.
 *
 * Messages name the server as "redis HOST:PORT" or "redis unix:PATH", never
 * the redis_url or a password.
 */
#include "config.h"

#include "fx.h"
#include "redis-conn.h"
#include "store-redis.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fx_store {
    struct fx_redis *c;
    const struct fx_sync *sync; /* for reconnecting */
    char *where;                /* "redis HOST:PORT" or "redis unix:PATH" */
    char *key_prefix;
    char *channel;
    char *worker; /* worker id in events */
    long state_ttl;
    int publish_outcomes;
    int broken;   /* the connection failed: fail fast from now on */
    char sha[41]; /* SHA-1 of the update script, hex */
};

/* An error or status reply as one line (Redis's are one line). */
static const char *
reply_text(const redisReply *r)
{
    if (r == NULL)
        return "no reply";
    if (r->type == REDIS_REPLY_ERROR || r->type == REDIS_REPLY_STATUS)
        return r->str ? r->str : "";
    return "unexpected reply";
}

/* ---- the store ---------------------------------------------------------- */

static void redis_close(struct fx_store *st);

static int
redis_open(struct fx_store **out, const struct fx_settings *s, char **err)
{
    *out = NULL;
    if (s == NULL) {
        fx_set_err(err, "redis: no settings");
        return -1;
    }
    const struct fx_sync *sync = &s->sync;
    struct fx_store *st = fxu_xcalloc(1, sizeof(*st));
    st->sync = sync;
    st->key_prefix = fxu_strdup(sync->key_prefix ? sync->key_prefix : "");
    st->channel = fxu_strdup(sync->channel ? sync->channel : "");
    st->worker = fxu_strdup(sync->worker_id ? sync->worker_id : "");
    st->state_ttl = sync->state_ttl;
    st->publish_outcomes = sync->publish_outcomes != 0;
    fx_sha1_hex(fx_breaker_lua, strlen(fx_breaker_lua), st->sha);
    if (fx_redis_open_sync(&st->c, sync, err) != 0) {
        redis_close(st);
        return -1;
    }
    st->where = fxu_strdup(fx_redis_where(st->c));
    *out = st;
    return 0;
}

static void
redis_close(struct fx_store *st)
{
    if (st == NULL)
        return;
    fx_redis_free(st->c);
    free(st->where);
    free(st->key_prefix);
    free(st->channel);
    free(st->worker);
    free(st);
}

static char *
state_key(const struct fx_store *st, const char *provider)
{
    return fxu_asprintf("%s:state:%s", st->key_prefix, provider);
}

/* Fail fast once the connection is gone. */
static int
check_usable(struct fx_store *st, char **err)
{
    if (st->broken || st->c == NULL || fx_redis_broken(st->c)) {
        st->broken = 1;
        fx_set_err(err, "%s: connection unusable after an earlier error",
                   st->where);
        return -1;
    }
    return 0;
}

/* The master moved (READONLY, MASTERDOWN, LOADING): reconnect, through
 * Sentinel when configured.  0, or -1 with the store broken. */
static int
reopen(struct fx_store *st, char **err)
{
    struct fx_redis *c = NULL;
    if (fx_redis_open_sync(&c, st->sync, err) != 0) {
        st->broken = 1;
        return -1;
    }
    fx_redis_free(st->c);
    st->c = c;
    free(st->where);
    st->where = fxu_strdup(fx_redis_where(c));
    return 0;
}

/* n pipelined commands; on a failure the store is broken.  A reply asking
 * to go elsewhere is retried once on a fresh connection. */
static int
pipeline(struct fx_store *st, const struct fx_redis_cmd *cmds, size_t n,
         redisReply **replies, char **err)
{
    for (int attempt = 0;; attempt++) {
        if (fx_redis_pipeline(st->c, cmds, n, replies, err) != 0) {
            st->broken = 1;
            return -1;
        }
        int moved = 0;
        for (size_t i = 0; i < n; i++)
            moved |= fx_redis_wants_reresolve(replies[i]);
        if (!moved || attempt > 0)
            return 0;
        for (size_t i = 0; i < n; i++) {
            freeReplyObject(replies[i]);
            replies[i] = NULL;
        }
        if (reopen(st, err) != 0)
            return -1;
    }
}

static redisReply *
command_argv(struct fx_store *st, int argc, const char **argv,
             const size_t *lens, char **err)
{
    struct fx_redis_cmd cmd = {argc, argv, lens};
    redisReply *r = NULL;
    if (pipeline(st, &cmd, 1, &r, err) != 0)
        return NULL;
    return r;
}

/*
 * MGET of every key and a TYPE of each, in one round trip: MGET answers
 * nil for a key holding a list or hash, which is as wrong as a malformed
 * document and must be reported the same way.
 */
static int
redis_load(struct fx_store *st, const char *const *providers, size_t n,
           struct fx_breaker_doc *docs, int *bad, char **err)
{
    int rc = 0;

    for (size_t i = 0; i < n; i++) {
        fx_breaker_doc_init(&docs[i]);
        if (bad)
            bad[i] = 0;
    }
    if (n == 0)
        return 0;
    if (check_usable(st, err) < 0)
        return -1;

    const char **argv = fxu_xcalloc(n + 1, sizeof(*argv));
    char **keys = fxu_xcalloc(n, sizeof(*keys));
    redisReply **replies = fxu_xcalloc(n + 1, sizeof(*replies));
    argv[0] = "MGET";
    for (size_t i = 0; i < n; i++)
        argv[i + 1] = keys[i] = state_key(st, providers[i]);
    struct fx_redis_cmd *cmds = fxu_xcalloc(n + 1, sizeof(*cmds));
    const char **targv = fxu_xcalloc(2 * n, sizeof(*targv));
    cmds[0] = (struct fx_redis_cmd){(int)n + 1, argv, NULL};
    for (size_t i = 0; i < n; i++) {
        targv[2 * i] = "TYPE";
        targv[2 * i + 1] = keys[i];
        cmds[i + 1] = (struct fx_redis_cmd){2, targv + 2 * i, NULL};
    }
    if (pipeline(st, cmds, n + 1, replies, err) < 0)
        rc = -1;
    free(cmds);
    free(targv);

    const redisReply *mget = replies[0];
    if (rc == 0 && (mget->type != REDIS_REPLY_ARRAY || mget->elements != n)) {
        fx_set_err(err, "%s: MGET failed: %s", st->where, reply_text(mget));
        rc = -1;
    }
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const redisReply *v = mget->element[i];
        const redisReply *t = replies[i + 1];
        int is_bad = 0;
        if (v->type == REDIS_REPLY_STRING)
            is_bad = fx_breaker_doc_from_json(v->str, v->len, &docs[i]) < 0;
        else if (t->type == REDIS_REPLY_STATUS && t->str &&
                 strcmp(t->str, "none") != 0 && strcmp(t->str, "string") != 0)
            is_bad = 1; /* a list, hash, ... where the document belongs */
        if (bad)
            bad[i] = is_bad;
    }
    if (rc < 0)
        for (size_t i = 0; i < n; i++)
            fx_breaker_doc_init(&docs[i]);

    for (size_t i = 0; i <= n; i++)
        if (replies[i])
            freeReplyObject(replies[i]);
    for (size_t i = 0; i < n; i++)
        free(keys[i]);
    free(replies);
    free(keys);
    free(argv);
    return rc;
}

/*
 * The parts of fx_event_json()'s output around the event name and around
 * the counts, which only the script knows:
 *   head: {"provider_name": "P", "event_type": "
 *   mid:  ", "worker_id": "W", "timestamp": "T", "metadata": {"failure_count":
 * The cuts are unambiguous: inside a JSON string every quote is escaped,
 * so the first unescaped `, "event_type": "` follows the provider name.
 */
static int
event_pieces(const char *provider, const char *worker, double now, char **head,
             char **mid)
{
    static const char name_key[] = ", \"event_type\": \"";
    static const char count_key[] = "\"metadata\": {\"failure_count\": ";
    static const char name[] = "opened";
    char *json = fx_event_json(provider, FX_EV_OPENED, worker, now, 0, 0);
    char *a = strstr(json, name_key);
    char *b = a ? a + strlen(name_key) : NULL;
    char *c = b && strncmp(b, name, strlen(name)) == 0
                  ? strstr(b + strlen(name), count_key)
                  : NULL;
    if (c == NULL) {
        free(json);
        return -1;
    }
    *head = fxu_strndup(json, (size_t)(b - json));
    b += strlen(name);
    c += strlen(count_key);
    *mid = fxu_strndup(b, (size_t)(c - b));
    free(json);
    return 0;
}

/* An exact decimal form of a double for the script (tonumber reads it
 * back bit for bit). */
static void
fmt_double(char *buf, size_t size, double v)
{
    snprintf(buf, size, "%.17g", isfinite(v) ? v : 0.0);
}

static int
is_noscript(const redisReply *r)
{
    return r && r->type == REDIS_REPLY_ERROR && r->str &&
           strncmp(r->str, "NOSCRIPT", 8) == 0;
}

/* {event, admit, document, malformed} from the script */
static int
script_result(const redisReply *r)
{
    return r->type == REDIS_REPLY_ARRAY && r->elements == 4 &&
           r->element[0]->type == REDIS_REPLY_INTEGER &&
           r->element[1]->type == REDIS_REPLY_INTEGER &&
           r->element[2]->type == REDIS_REPLY_STRING &&
           r->element[3]->type == REDIS_REPLY_INTEGER;
}

/*
 * On failure the result, event and admit outputs hold the operation applied
 * to a closed default in memory, as the file store does, so a caller may
 * carry on.
 */
static int
redis_update(struct fx_store *st, const char *provider,
             const struct fx_breaker_op *op, struct fx_breaker_doc *result,
             int *event, int *admit, char **err)
{
    struct fx_breaker_doc doc;
    int ev = FX_EV_NONE, adm = FX_ADMIT_NO, rc = -1;
    char *key = NULL, *head = NULL, *mid = NULL;
    redisReply *r = NULL;

    fx_breaker_doc_init(&doc);
    if (provider == NULL) {
        fx_set_err(err, "%s: no provider name", st->where);
        goto fallback;
    }
    if (check_usable(st, err) < 0)
        goto fallback;
    const char *worker = op->worker ? op->worker : st->worker;
    if (event_pieces(provider, worker, op->now, &head, &mid) < 0) {
        fx_set_err(err, "%s: cannot build the event for %s", st->where,
                   provider);
        goto fallback;
    }

    char kind[16], now[32], until[32], threshold[32], recovery[32],
        max_calls[32], probe_timeout[32], ttl[32], max_open[32];
    fmt_double(max_open, sizeof(max_open), op->max_open);
    snprintf(kind, sizeof(kind), "%d", op->kind);
    fmt_double(now, sizeof(now), op->now);
    fmt_double(until, sizeof(until), op->until);
    snprintf(threshold, sizeof(threshold), "%ld", op->failure_threshold);
    fmt_double(recovery, sizeof(recovery), op->recovery_timeout);
    snprintf(max_calls, sizeof(max_calls), "%ld", op->half_open_max_calls);
    fmt_double(probe_timeout, sizeof(probe_timeout), op->probe_timeout);
    snprintf(ttl, sizeof(ttl), "%ld", st->state_ttl);
    key = state_key(st, provider);

    const char *argv[] = {
        "EVALSHA",
        st->sha,
        "1",
        key,
        kind,
        now,
        until,
        worker,
        op->was_probe ? "1" : "0",
        threshold,
        recovery,
        max_calls,
        probe_timeout,
        ttl,
        st->channel,
        st->publish_outcomes ? "1" : "0",
        head,
        mid,
        op->err_class ? op->err_class : "",
        op->err_msg ? op->err_msg : "",
        max_open,
    };
    int argc = (int)(sizeof(argv) / sizeof(argv[0]));
    r = command_argv(st, argc, argv, NULL, err);
    if (r && is_noscript(r)) {
        /* first use on this server (or after SCRIPT FLUSH): EVAL also
         * caches the script for everyone's next EVALSHA */
        freeReplyObject(r);
        argv[0] = "EVAL";
        argv[1] = fx_breaker_lua;
        r = command_argv(st, argc, argv, NULL, err);
    }
    if (r == NULL)
        goto fallback;
    if (r->type == REDIS_REPLY_ERROR || !script_result(r)) {
        fx_set_err(err, "%s: breaker update for %s failed: %s", st->where,
                   provider, reply_text(r));
        goto fallback;
    }
    const redisReply *d = r->element[2];
    if (fx_breaker_doc_from_json(d->str, d->len, &doc) < 0) {
        fx_set_err(err,
                   "%s: breaker update for %s returned a malformed "
                   "document",
                   st->where, provider);
        goto fallback;
    }
    ev = (int)r->element[0]->integer;
    adm = (int)r->element[1]->integer;
    /* element[3] says a malformed document (or a key of another type) was
     * overwritten.  Nothing to add here: the client reports malformed
     * state from load(), which every request does before updating. */
    rc = 0;
    goto done;

fallback:
    fx_breaker_doc_init(&doc);
    ev = fx_breaker_apply(&doc, op, &adm, NULL);
done:
    if (r)
        freeReplyObject(r);
    free(key);
    free(head);
    free(mid);
    if (result)
        *result = doc;
    if (event)
        *event = ev;
    if (admit)
        *admit = adm;
    return rc;
}

/* Run `script` (EVALSHA `sha`, EVAL when the server lacks it) on the key
 * {key_prefix}:{what}:{provider} with args.  The reply (free it), or NULL
 * with *err when the connection failed. */
static redisReply *
script_eval(struct fx_store *st, const char *script, const char *sha,
            const char *what, const char *provider, int nargs,
            const char **args, char **err)
{
    if (check_usable(st, err) < 0)
        return NULL;
    char *key = fxu_asprintf("%s:%s:%s", st->key_prefix, what, provider);
    const char **argv = fxu_xcalloc((size_t)nargs + 4, sizeof(char *));
    argv[0] = "EVALSHA";
    argv[1] = sha;
    argv[2] = "1";
    argv[3] = key;
    for (int i = 0; i < nargs; i++)
        argv[4 + i] = args[i];
    redisReply *r = command_argv(st, nargs + 4, argv, NULL, err);
    if (r && is_noscript(r)) {
        freeReplyObject(r);
        argv[0] = "EVAL";
        argv[1] = script;
        r = command_argv(st, nargs + 4, argv, NULL, err);
    }
    free(argv);
    free(key);
    return r;
}

/* One rate-limit operation (ratelimit.lua): on failure the request is
 * granted (a broken store never stops traffic) and *err says why. */
static int
redis_limit(struct fx_store *st, const char *provider,
            const struct fx_limit_op *op, struct fx_limit_result *res,
            char **err)
{
    static char sha[41];
    if (sha[0] == '\0')
        fx_sha1_hex(fx_ratelimit_lua, strlen(fx_ratelimit_lua), sha);
    memset(res, 0, sizeof(*res));
    res->granted = 1;
    struct fx_limit_lua_args a;
    fx_limit_lua_args(op, &a);
    redisReply *r = script_eval(st, fx_ratelimit_lua, sha, "limit", provider,
                                FX_LIMIT_LUA_NARGS, a.argv, err);
    if (r == NULL)
        return -1;
    int rc = fx_limit_lua_reply(r, provider, res, err);
    freeReplyObject(r);
    if (rc != 0)
        res->granted = 1;
    return rc;
}

const struct fx_store_ops fx_store_redis = {
    "redis", redis_open, redis_close, redis_load, redis_update, redis_limit,
};
