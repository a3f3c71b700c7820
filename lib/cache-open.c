/*
 * cache-open.c - the response cache as the rest sees it: the backend
 * [cache] names opened once per client (an SQLite file beside the ledger,
 * or Redis through [sync]), the calls that go to whichever it is, and the
 * public flexiai_cache_* and flexiai_budget_* calls.
 */
#include "config.h"

#include "cache.h"
#include "client.h"
#include "redis/redis.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct fx_cache {
    int backend;
    struct fx_cache_sqlite *sq;
    struct fx_cache_redis *rd;
    char *where;
};

/* [cache] path; else cache.db in the ledger's directory ([log] path's, or
 * $XDG_DATA_HOME/flexiai, or ~/.local/share/flexiai). */
static char *
cache_path(const flexiai_config *cfg, char **err)
{
    const char *p = fx_config_value(cfg, "cache", "path");
    if (p)
        return fxu_strdup(p);
    const char *log = fx_config_value(cfg, "log", "path");
    if (log) {
        const char *slash = strrchr(log, '/');
        if (slash == NULL)
            return fxu_strdup("cache.db");
        return fxu_asprintf("%.*s/cache.db", (int)(slash - log), log);
    }
    const char *xdg = getenv("XDG_DATA_HOME");
    if (xdg && *xdg == '/')
        return fxu_asprintf("%s/flexiai/cache.db", xdg);
    const char *home = getenv("HOME");
    if (home && *home)
        return fxu_asprintf("%s/.local/share/flexiai/cache.db", home);
    *err = fxu_strdup("no cache path: neither XDG_DATA_HOME nor HOME is set");
    return NULL;
}

struct fx_cache *
fx_cache_open(const flexiai_config *cfg, char **err)
{
    struct fx_cache_conf cc;
    fx_cache_conf_read(cfg, &cc);
    struct fx_cache *ch = fxu_xcalloc(1, sizeof(*ch));
    ch->backend = cc.backend;
    if (cc.backend == FX_CACHE_REDIS) {
        ch->rd = fx_cache_redis_open(&fx_config_settings(cfg)->sync, err);
        if (ch->rd)
            ch->where = fxu_strdup(fx_cache_redis_where(ch->rd));
    } else {
        char *path = cache_path(cfg, err);
        if (path)
            ch->sq = fx_cache_sqlite_open(path, err);
        ch->where = path;
    }
    if (ch->sq == NULL && ch->rd == NULL) {
        fx_cache_close(ch);
        return NULL;
    }
    return ch;
}

void
fx_cache_close(struct fx_cache *ch)
{
    if (ch == NULL)
        return;
    fx_cache_sqlite_close(ch->sq);
    fx_cache_redis_close(ch->rd);
    free(ch->where);
    free(ch);
}

const char *
fx_cache_where(const struct fx_cache *ch)
{
    return ch->where;
}

int
fx_cache_get(struct fx_cache *ch, const char *key, double ttl, char **value,
             size_t *len, char **err)
{
    if (ch->sq)
        return fx_cache_sqlite_get(ch->sq, key, fxu_wallclock(), ttl, value,
                                   len, err);
    int rc = fx_cache_redis_get(ch->rd, key, value, len, err);
    if (rc != 1)
        return rc;
    /* Redis expires an entry at the ttl it was stored with; a shorter ttl
     * asked for now is checked here */
    struct fx_cache_entry e;
    if (fx_cache_entry_decode(*value, *len, &e) != 0 ||
        e.created < fxu_wallclock() - ttl) {
        if (e.text)
            fx_cache_entry_free(&e);
        free(*value);
        *value = NULL;
        return 0;
    }
    fx_cache_entry_free(&e);
    return 1;
}

int
fx_cache_put(struct fx_cache *ch, const char *key, const char *value,
             size_t len, double created, double ttl, char **err)
{
    if (ch->sq)
        return fx_cache_sqlite_put(ch->sq, key, value, len, created, err);
    return fx_cache_redis_put(ch->rd, key, value, len, ttl, err);
}

int
fx_cache_stats_read(struct fx_cache *ch, struct fx_cache_stats *st, char **err)
{
    if (ch->sq)
        return fx_cache_sqlite_stats(ch->sq, st, err);
    return fx_cache_redis_stats(ch->rd, st, err);
}

int
fx_cache_clear_all(struct fx_cache *ch, long long *removed, char **err)
{
    if (ch->sq)
        return fx_cache_sqlite_clear(ch->sq, removed, err);
    return fx_cache_redis_clear(ch->rd, removed, err);
}

int
fx_cache_prune_old(struct fx_cache *ch, double ttl, long long max_bytes,
                   long long *removed, char **err)
{
    double before = fxu_wallclock() - ttl;
    if (ch->sq)
        return fx_cache_sqlite_prune(ch->sq, before, max_bytes, removed, err);
    return fx_cache_redis_prune(ch->rd, before, removed, err);
}

/* ---- the public face --------------------------------------------------- */

static flexiai_code
open_for(flexiai_client *c, struct fx_cache **ch)
{
    char *err = NULL;
    *ch = fx_cache_open(c->cfg, &err);
    if (*ch == NULL) {
        fx_client_error_set(c, "cache: %s", err ? err : "cannot open");
        free(err);
        return FLEXIAI_EUNAVAILABLE;
    }
    return FLEXIAI_OK;
}

static flexiai_code
failed(flexiai_client *c, struct fx_cache *ch, char *err)
{
    fx_client_error_set(c, "cache: %s", err ? err : "failed");
    free(err);
    fx_cache_close(ch);
    return FLEXIAI_EUNAVAILABLE;
}

flexiai_code
flexiai_cache_stats(flexiai_client *c, flexiai_cache_info *out)
{
    memset(out, 0, sizeof(*out));
    struct fx_cache *ch;
    flexiai_code rc = open_for(c, &ch);
    if (rc != FLEXIAI_OK)
        return rc;
    struct fx_cache_stats st;
    char *err = NULL;
    if (fx_cache_stats_read(ch, &st, &err) != 0)
        return failed(c, ch, err);
    out->entries = st.entries;
    out->bytes = st.bytes;
    out->hits = st.hits;
    out->misses = st.misses;
    out->oldest = st.oldest;
    out->where = fxu_strdup(fx_cache_where(ch));
    fx_cache_close(ch);
    return FLEXIAI_OK;
}

void
flexiai_cache_info_free(flexiai_cache_info *info)
{
    if (info == NULL)
        return;
    free(info->where);
    info->where = NULL;
}

flexiai_code
flexiai_cache_clear(flexiai_client *c, long long *removed)
{
    struct fx_cache *ch;
    flexiai_code rc = open_for(c, &ch);
    if (rc != FLEXIAI_OK)
        return rc;
    char *err = NULL;
    long long n = 0;
    if (fx_cache_clear_all(ch, &n, &err) != 0)
        return failed(c, ch, err);
    if (removed)
        *removed = n;
    fx_cache_close(ch);
    return FLEXIAI_OK;
}

flexiai_code
flexiai_cache_prune(flexiai_client *c, long long *removed)
{
    struct fx_cache_conf cc;
    fx_cache_conf_read(c->cfg, &cc);
    struct fx_cache *ch;
    flexiai_code rc = open_for(c, &ch);
    if (rc != FLEXIAI_OK)
        return rc;
    char *err = NULL;
    long long n = 0;
    if (fx_cache_prune_old(ch, cc.ttl, cc.max_bytes, &n, &err) != 0)
        return failed(c, ch, err);
    if (removed)
        *removed = n;
    fx_cache_close(ch);
    return FLEXIAI_OK;
}

/* ---- the budgets' spend shared through Redis ---------------------------- */

static flexiai_code
spend_conn(flexiai_client *c)
{
    if (c->s->sync.backend != FX_BACKEND_REDIS) {
        fx_client_error_set(c, "the store is not Redis");
        return FLEXIAI_EUNAVAILABLE;
    }
    if (c->spend)
        return FLEXIAI_OK;
    char *err = NULL;
    c->spend = fx_cache_redis_open(&c->s->sync, &err);
    if (c->spend == NULL) {
        fx_client_error_set(c, "%s", err ? err : "redis: cannot connect");
        free(err);
        return FLEXIAI_EUNAVAILABLE;
    }
    return FLEXIAI_OK;
}

static flexiai_code
spend_failed(flexiai_client *c, char *err)
{
    fx_client_error_set(c, "%s", err ? err : "redis: failed");
    free(err);
    fx_cache_redis_close(c->spend);
    c->spend = NULL;
    return FLEXIAI_EUNAVAILABLE;
}

flexiai_code
flexiai_budget_shared_spent(flexiai_client *c, double *day, double *month)
{
    *day = *month = 0;
    flexiai_code rc = spend_conn(c);
    if (rc != FLEXIAI_OK)
        return rc;
    char *err = NULL;
    if (fx_cache_redis_spent(c->spend, fxu_wallclock(), day, month, &err) != 0)
        return spend_failed(c, err);
    return FLEXIAI_OK;
}

flexiai_code
flexiai_budget_shared_add(flexiai_client *c, double cost)
{
    flexiai_code rc = spend_conn(c);
    if (rc != FLEXIAI_OK)
        return rc;
    char *err = NULL;
    if (fx_cache_redis_spend(c->spend, fxu_wallclock(), cost, &err) != 0)
        return spend_failed(c, err);
    return FLEXIAI_OK;
}

int
flexiai_config_budget(const flexiai_config *cfg, const char *which,
                      double *amount)
{
    const char *v = fx_config_value(cfg, "budget", which);
    return v && fxu_parse_double(v, amount) == 0;
}
