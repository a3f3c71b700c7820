/*
 * cache-redis.c - the response cache in Redis, shared by every host that
 * names the same server ([sync] connection settings: TLS and Sentinel
 * included), and the shared spend counters of the budgets.
 *
 *   PREFIX:cache:KEY          an entry (JSON), expiring after the ttl it
 *                             was stored with
 *   PREFIX:cache-hits         hits and misses counted (INCR)
 *   PREFIX:cache-misses
 *   PREFIX:spend:day:YYYY-MM-DD   the money spent that UTC day and month
 *   PREFIX:spend:month:YYYY-MM    (INCRBYFLOAT; expire after 2 / 32 days)
 */
#include "config.h"

#include "cache.h"
#include "redis-conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct fx_cache_redis {
    struct fx_redis *r;
    char *prefix;
};

struct fx_cache_redis *
fx_cache_redis_open(const struct fx_sync *sync, char **err)
{
    struct fx_redis *r = NULL;
    if (fx_redis_open_sync(&r, sync, err) != 0)
        return NULL;
    struct fx_cache_redis *c = fxu_xcalloc(1, sizeof(*c));
    c->r = r;
    c->prefix = fxu_strdup(sync->key_prefix ? sync->key_prefix : "flexiai");
    return c;
}

void
fx_cache_redis_close(struct fx_cache_redis *c)
{
    if (c == NULL)
        return;
    fx_redis_free(c->r);
    free(c->prefix);
    free(c);
}

const char *
fx_cache_redis_where(const struct fx_cache_redis *c)
{
    return fx_redis_where(c->r);
}

/* One command; NULL with *err also for an error reply. */
static redisReply *
cmd(struct fx_cache_redis *c, int argc, const char *const *argv,
    const size_t *lens, char **err)
{
    redisReply *rep = fx_redis_command(c->r, argc, argv, lens, err);
    if (rep && rep->type == REDIS_REPLY_ERROR) {
        free(*err);
        *err = fxu_asprintf("%s: %s", fx_redis_where(c->r), rep->str);
        freeReplyObject(rep);
        return NULL;
    }
    return rep;
}

static void
incr(struct fx_cache_redis *c, const char *what)
{
    char *key = fxu_asprintf("%s:cache-%s", c->prefix, what);
    const char *argv[] = {"INCR", key};
    char *err = NULL;
    redisReply *rep = cmd(c, 2, argv, NULL, &err);
    if (rep)
        freeReplyObject(rep);
    free(err); /* a lost count is no failure */
    free(key);
}

int
fx_cache_redis_get(struct fx_cache_redis *c, const char *key, char **value,
                   size_t *len, char **err)
{
    char *k = fxu_asprintf("%s:cache:%s", c->prefix, key);
    const char *argv[] = {"GET", k};
    redisReply *rep = cmd(c, 2, argv, NULL, err);
    free(k);
    if (rep == NULL)
        return -1;
    int found = rep->type == REDIS_REPLY_STRING;
    if (found) {
        *value = fxu_strndup(rep->str, rep->len);
        *len = rep->len;
    }
    freeReplyObject(rep);
    incr(c, found ? "hits" : "misses");
    return found;
}

int
fx_cache_redis_put(struct fx_cache_redis *c, const char *key, const char *value,
                   size_t len, double ttl, char **err)
{
    char *k = fxu_asprintf("%s:cache:%s", c->prefix, key);
    char ms[32];
    snprintf(ms, sizeof(ms), "%lld", (long long)(ttl * 1000) + 1);
    const char *argv[] = {"SET", k, value, "PX", ms};
    size_t lens[] = {3, strlen(k), len, 2, strlen(ms)};
    redisReply *rep = cmd(c, 5, argv, lens, err);
    free(k);
    if (rep == NULL)
        return -1;
    freeReplyObject(rep);
    return 0;
}

/* Every entry key, through SCAN: fn(ud, key) for each. */
static int
each_key(struct fx_cache_redis *c, int (*fn)(void *, const char *), void *ud,
         char **err)
{
    char *match = fxu_asprintf("%s:cache:*", c->prefix);
    char cursor[32] = "0";
    int rc = 0;
    do {
        const char *argv[] = {"SCAN", cursor, "MATCH", match, "COUNT", "1000"};
        redisReply *rep = cmd(c, 6, argv, NULL, err);
        if (rep == NULL || rep->type != REDIS_REPLY_ARRAY ||
            rep->elements != 2) {
            if (rep)
                freeReplyObject(rep);
            rc = -1;
            break;
        }
        snprintf(cursor, sizeof(cursor), "%s", rep->element[0]->str);
        redisReply *keys = rep->element[1];
        for (size_t i = 0; rc == 0 && i < keys->elements; i++)
            if (fn(ud, keys->element[i]->str) != 0)
                rc = -1;
        freeReplyObject(rep);
    } while (rc == 0 && strcmp(cursor, "0") != 0);
    free(match);
    return rc;
}

struct walk {
    struct fx_cache_redis *c;
    struct fx_cache_stats *st;
    double before; /* prune: entries created before this go */
    int clear;
    long long removed;
    char **err;
};

static int
walk_key(void *ud, const char *key)
{
    struct walk *w = ud;
    if (w->clear) {
        const char *argv[] = {"UNLINK", key};
        redisReply *rep = cmd(w->c, 2, argv, NULL, w->err);
        if (rep == NULL)
            return -1;
        w->removed += rep->type == REDIS_REPLY_INTEGER ? rep->integer : 0;
        freeReplyObject(rep);
        return 0;
    }
    const char *argv[] = {"GET", key};
    redisReply *rep = cmd(w->c, 2, argv, NULL, w->err);
    if (rep == NULL)
        return -1;
    struct fx_cache_entry e;
    if (rep->type == REDIS_REPLY_STRING &&
        fx_cache_entry_decode(rep->str, rep->len, &e) == 0) {
        if (w->st) {
            w->st->entries++;
            w->st->bytes += (long long)(rep->len + strlen(key));
            if (w->st->oldest == 0 || e.created < w->st->oldest)
                w->st->oldest = e.created;
        } else if (e.created < w->before) {
            const char *del[] = {"UNLINK", key};
            redisReply *d = cmd(w->c, 2, del, NULL, w->err);
            if (d)
                freeReplyObject(d);
            w->removed++;
        }
        fx_cache_entry_free(&e);
    }
    freeReplyObject(rep);
    return 0;
}

static long long
counter(struct fx_cache_redis *c, const char *what)
{
    char *key = fxu_asprintf("%s:cache-%s", c->prefix, what);
    const char *argv[] = {"GET", key};
    char *err = NULL;
    redisReply *rep = cmd(c, 2, argv, NULL, &err);
    long long n = 0;
    if (rep && rep->type == REDIS_REPLY_STRING)
        n = strtoll(rep->str, NULL, 10);
    if (rep)
        freeReplyObject(rep);
    free(err);
    free(key);
    return n;
}

int
fx_cache_redis_stats(struct fx_cache_redis *c, struct fx_cache_stats *st,
                     char **err)
{
    memset(st, 0, sizeof(*st));
    struct walk w = {.c = c, .st = st, .err = err};
    if (each_key(c, walk_key, &w, err) != 0)
        return -1;
    st->hits = counter(c, "hits");
    st->misses = counter(c, "misses");
    return 0;
}

int
fx_cache_redis_clear(struct fx_cache_redis *c, long long *removed, char **err)
{
    struct walk w = {.c = c, .clear = 1, .err = err};
    int rc = each_key(c, walk_key, &w, err);
    *removed = w.removed;
    char *h = fxu_asprintf("%s:cache-hits", c->prefix);
    char *m = fxu_asprintf("%s:cache-misses", c->prefix);
    const char *argv[] = {"DEL", h, m};
    redisReply *rep = rc == 0 ? cmd(c, 3, argv, NULL, err) : NULL;
    if (rep)
        freeReplyObject(rep);
    free(h);
    free(m);
    return rc;
}

/* Redis expires entries itself, and evicts by its own maxmemory: prune
 * removes what is older than the ttl now asked for. */
int
fx_cache_redis_prune(struct fx_cache_redis *c, double before,
                     long long *removed, char **err)
{
    struct walk w = {.c = c, .before = before, .err = err};
    int rc = each_key(c, walk_key, &w, err);
    *removed = w.removed;
    return rc;
}

/* ---- budgets' shared spend ---------------------------------------------- */

static void
spend_keys(struct fx_cache_redis *c, double now, char **day, char **month)
{
    time_t t = (time_t)now;
    struct tm tm;
    gmtime_r(&t, &tm);
    char d[16], m[16];
    strftime(d, sizeof(d), "%Y-%m-%d", &tm);
    strftime(m, sizeof(m), "%Y-%m", &tm);
    *day = fxu_asprintf("%s:spend:day:%s", c->prefix, d);
    *month = fxu_asprintf("%s:spend:month:%s", c->prefix, m);
}

int
fx_cache_redis_spent(struct fx_cache_redis *c, double now, double *day,
                     double *month, char **err)
{
    char *dk, *mk;
    spend_keys(c, now, &dk, &mk);
    const char *argv[] = {"MGET", dk, mk};
    redisReply *rep = cmd(c, 3, argv, NULL, err);
    free(dk);
    free(mk);
    if (rep == NULL)
        return -1;
    *day = *month = 0;
    if (rep->type == REDIS_REPLY_ARRAY && rep->elements == 2) {
        if (rep->element[0]->type == REDIS_REPLY_STRING)
            *day = strtod(rep->element[0]->str, NULL);
        if (rep->element[1]->type == REDIS_REPLY_STRING)
            *month = strtod(rep->element[1]->str, NULL);
    }
    freeReplyObject(rep);
    return 0;
}

int
fx_cache_redis_spend(struct fx_cache_redis *c, double now, double cost,
                     char **err)
{
    char *dk, *mk;
    spend_keys(c, now, &dk, &mk);
    char amount[48];
    snprintf(amount, sizeof(amount), "%.10f", cost);
    struct fx_redis_cmd cmds[4] = {
        {3, (const char *[]){"INCRBYFLOAT", dk, amount}, NULL},
        {3, (const char *[]){"EXPIRE", dk, "172800"}, NULL},
        {3, (const char *[]){"INCRBYFLOAT", mk, amount}, NULL},
        {3, (const char *[]){"EXPIRE", mk, "2764800"}, NULL},
    };
    redisReply *replies[4];
    int rc = fx_redis_pipeline(c->r, cmds, 4, replies, err);
    if (rc == 0)
        for (int i = 0; i < 4; i++)
            freeReplyObject(replies[i]);
    free(dk);
    free(mk);
    return rc;
}
