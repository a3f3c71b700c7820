/*
 * conf-show.c - the entries of `config show`: every key of the fixed
 * sections with its effective value and origin (a default says so), what
 * a redis_url implies, then each provider's keys in failover order;
 * secrets masked.  The strings made for it live until the next call.
 */
#include "config.h"

#include "conf-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
fx_conf_free_shown(flexiai_config *cfg)
{
    for (size_t i = 0; i < cfg->nshown_strings; i++)
        free(cfg->shown_strings[i]);
    free(cfg->shown_strings);
    free(cfg->shown);
    cfg->shown = NULL;
    cfg->shown_strings = NULL;
    cfg->nshown = cfg->nshown_strings = 0;
}

static const char *
keep(flexiai_config *cfg, char *s)
{
    cfg->shown_strings = fxu_xrealloc(
        cfg->shown_strings, (cfg->nshown_strings + 1) * sizeof(char *));
    cfg->shown_strings[cfg->nshown_strings++] = s;
    return s;
}

/* A base_url with credentials in it (https://user:secret@host/v1):
 * the password, or a lone user part that may be a token, masked as a
 * redis_url's is; NULL when there are none. */
static char *
url_userinfo_masked(const char *value)
{
    const char *scheme = value ? strstr(value, "://") : NULL;
    if (scheme == NULL)
        return NULL;
    const char *host = scheme + 3;
    size_t auth = strcspn(host, "/?#"); /* the authority ends there */
    const char *at = NULL;
    for (size_t i = 0; i < auth; i++)
        if (host[i] == '@')
            at = host + i;
    if (at == NULL)
        return NULL;
    const char *colon = memchr(host, ':', (size_t)(at - host));
    fxu_buf b;
    fxu_buf_init(&b);
    fxu_buf_append(&b, value, (size_t)((colon ? colon + 1 : host) - value));
    fxu_buf_puts(&b, "****");
    fxu_buf_puts(&b, at);
    return fxu_buf_steal(&b);
}

static void
show_add(flexiai_config *cfg, const char *section, const char *key,
         const char *value, const char *origin, int secret)
{
    cfg->shown =
        fxu_xrealloc(cfg->shown, (cfg->nshown + 1) * sizeof(*cfg->shown));
    flexiai_config_entry *s = &cfg->shown[cfg->nshown++];
    s->section = section;
    s->key = key;
    char *url =
        strcmp(key, "base_url") == 0 ? url_userinfo_masked(value) : NULL;
    if (url != NULL) {
        s->value = keep(cfg, url);
        secret = 1;
    } else
        s->value = secret ? keep(cfg, fx_conf_masked(key, value))
                          : (value ? value : "");
    s->origin = origin;
    s->is_secret = secret;
}

/* A redis_url sets host, port, db, user and password: config show says
 * so, with the URL as their origin, instead of the unused defaults. */
static int
url_implies(const flexiai_config *cfg, const char *key, char *val, size_t vsize,
            char *origin, size_t osize)
{
    const struct entry *u = fx_conf_entry(cfg, "sync", "redis_url");
    const struct fx_sync *y = &cfg->settings.sync;
    if (!cfg->validated || u == NULL || u->value == NULL || !*u->value)
        return 0;
    if (strcmp(key, "redis_host") == 0 && y->redis_host && !y->redis_unix)
        snprintf(val, vsize, "%s", y->redis_host);
    else if (strcmp(key, "redis_port") == 0 && !y->redis_unix)
        snprintf(val, vsize, "%ld", y->redis_port);
    else if (strcmp(key, "redis_db") == 0)
        snprintf(val, vsize, "%ld", y->redis_db);
    else if (strcmp(key, "redis_password") == 0 && y->redis_password)
        snprintf(val, vsize, "%s", "(from the url)");
    else if (strcmp(key, "redis_username") == 0 && y->redis_username)
        snprintf(val, vsize, "%s", y->redis_username);
    else
        return 0;
    snprintf(origin, osize, "redis_url (%s)", fx_conf_where(u));
    return 1;
}

size_t
flexiai_config_entries(flexiai_config *cfg,
                       const flexiai_config_entry **entries)
{
    fx_conf_free_shown(cfg);
    for (int si = 0; fx_conf_sections[si]; si++) {
        for (size_t i = 0; i < fx_conf_nkeys; i++) {
            const struct key_def *d = &fx_conf_keys[i];
            if (strcmp(d->section, fx_conf_sections[si]) != 0)
                continue;
            const struct entry *e;
            const char *v = fx_conf_raw(cfg, d->section, d->key, &e);
            if (strcmp(d->section, "sync") == 0 &&
                strcmp(d->key, "worker_id") == 0 && e == NULL)
                v = "(hostname:pid:milliseconds)";
            char implied[64], origin[600];
            if (e == NULL && strcmp(d->section, "sync") == 0 &&
                url_implies(cfg, d->key, implied, sizeof(implied), origin,
                            sizeof(origin))) {
                show_add(cfg, d->section, d->key,
                         keep(cfg, fxu_strdup(implied)),
                         keep(cfg, fxu_strdup(origin)), 0);
                continue;
            }
            show_add(cfg, d->section, d->key, v, fx_conf_where(e),
                     d->type == KT_SECRET);
        }
    }
    /* providers in failover order when validated, else file order */
    for (size_t pi = 0; pi < cfg->nsections; pi++) {
        const char *sec = cfg->sections[pi].name;
        if (cfg->validated && pi < cfg->settings.nproviders) {
            sec = keep(cfg, fxu_asprintf("provider.%s",
                                         cfg->settings.providers[pi].name));
        }
        for (size_t i = 0; i < fx_conf_nkeys; i++) {
            const struct key_def *d = &fx_conf_keys[i];
            if (strcmp(d->section, "provider") != 0)
                continue;
            const struct entry *e = fx_conf_entry(cfg, sec, d->key);
            if (e == NULL)
                continue;
            show_add(cfg, sec, d->key, e->value, e->origin,
                     d->type == KT_SECRET);
        }
    }
    /* [tool.NAME] and [mcp.NAME] in file order, defaults included */
    for (size_t ti = 0; ti < cfg->nentries; ti++) {
        const char *sec = cfg->entries[ti].section;
        int is_mcp = strncmp(sec, "mcp.", 4) == 0;
        if (!is_mcp && strncmp(sec, "tool.", 5) != 0)
            continue;
        size_t first = 0;
        while (strcmp(cfg->entries[first].section, sec) != 0)
            first++;
        if (first != ti)
            continue;
        for (size_t i = 0; i < fx_conf_nkeys; i++) {
            const struct key_def *d = &fx_conf_keys[i];
            if (strcmp(d->section, is_mcp ? "mcp" : "tool") != 0)
                continue;
            const struct entry *e;
            const char *v = fx_conf_raw(cfg, sec, d->key, &e);
            if (v != NULL)
                show_add(cfg, sec, d->key, v, fx_conf_where(e), 0);
        }
    }
    *entries = cfg->shown;
    return cfg->nshown;
}
