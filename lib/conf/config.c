/*
 * config.c - configuration: built-in defaults, the system file, the user
 * file (or -c FILE / FLEXIAI_CONFIG), FLEXIAI_* environment variables and
 * command-line flags, later wins.  Every value remembers where it came
 * from so `config show` can say so and `config check` can point at the
 * line that is wrong.
 */
#include "config.h"

#include "conf-int.h"
#include "fx.h"
#include "providers/providers.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

/* ---- public: new / load / set ----------------------------------------- */

flexiai_config *
flexiai_config_new(void)
{
    return fxu_xcalloc(1, sizeof(flexiai_config));
}

static void
free_params(struct fx_params *p)
{
    free(p->system);
    if (p->stop) {
        for (char **s = p->stop; *s; s++)
            free(*s);
        free(p->stop);
    }
    memset(p, 0, sizeof(*p));
}

static void
free_provider(struct fx_provider *p)
{
    free(p->name);
    free(p->type);
    free(p->model);
    free(p->base_url);
    free(p->api_version);
    free(p->project);
    free(p->location);
    free(p->tls_ca);
    free(p->api_key_env);
    free(p->api_key_cmd);
    if (p->api_key) {
        memset(p->api_key, 0, strlen(p->api_key));
        free(p->api_key);
    }
    if (p->key) {
        memset(p->key, 0, strlen(p->key));
        free(p->key);
    }
    free(p->key_error);
    free_params(&p->params);
}

static void free_list(char **list);

static void
free_settings(struct fx_settings *s)
{
    free_params(&s->defaults);
    for (size_t i = 0; i < s->nproviders; i++)
        free_provider(&s->providers[i]);
    free(s->providers);
    struct fx_sync *y = &s->sync;
    free(y->redis_url);
    free(y->redis_host);
    if (y->redis_password) {
        memset(y->redis_password, 0, strlen(y->redis_password));
        free(y->redis_password);
    }
    free(y->redis_username);
    free(y->redis_unix);
    free(y->redis_tls_ca);
    free(y->redis_tls_cert);
    free(y->redis_tls_key);
    free(y->redis_tls_server_name);
    free_list(y->redis_sentinels);
    free(y->redis_sentinel_master);
    free(y->redis_sentinel_user);
    if (y->redis_sentinel_password) {
        memset(y->redis_sentinel_password, 0,
               strlen(y->redis_sentinel_password));
        free(y->redis_sentinel_password);
    }
    free(y->key_prefix);
    free(y->channel);
    free(y->worker_id);
    free(y->state_dir);
    memset(s, 0, sizeof(*s));
}

void
flexiai_config_free(flexiai_config *cfg)
{
    if (cfg == NULL)
        return;
    fxu_buf_free(&cfg->sources);
    for (size_t i = 0; i < cfg->nentries; i++) {
        struct entry *e = &cfg->entries[i];
        free(e->section);
        free(e->key);
        if (e->value) {
            memset(e->value, 0, strlen(e->value));
            free(e->value);
        }
        free(e->origin);
    }
    free(cfg->entries);
    for (size_t i = 0; i < cfg->nsections; i++) {
        free(cfg->sections[i].name);
        free(cfg->sections[i].where);
    }
    free(cfg->sections);
    for (size_t i = 0; i < cfg->ndiags; i++)
        free((char *)cfg->diags[i].text);
    free(cfg->diags);
    free_settings(&cfg->settings);
    fx_conf_free_shown(cfg);
    free(cfg->provider_names);
    free(cfg);
}

static void
note_source(flexiai_config *cfg, const char *path)
{
    fxu_buf_printf(&cfg->sources, "%s%s%s", cfg->sources.len ? ", " : "", path,
                   access(path, F_OK) == 0 ? "" : " (not found)");
}

const char *
flexiai_config_sources(const flexiai_config *cfg)
{
    return cfg->sources.data ? cfg->sources.data : "";
}

int
flexiai_config_load(flexiai_config *cfg, const char *sysconf_path,
                    const char *path)
{
    char buf[PATH_MAX];
    if (sysconf_path == NULL) {
        snprintf(buf, sizeof(buf), "%s/flexiai/config.ini", SYSCONFDIR);
        sysconf_path = buf;
    }
    fx_conf_read_file(cfg, sysconf_path, 0);
    note_source(cfg, sysconf_path);

    const char *env_path = getenv("FLEXIAI_CONFIG");
    if (path == NULL && env_path && *env_path)
        path = env_path;
    if (path) {
        fx_conf_read_file(cfg, path, 1);
    } else {
        const char *xdg = getenv("XDG_CONFIG_HOME");
        const char *home = getenv("HOME");
        if (xdg && *xdg == '/')
            snprintf(buf, sizeof(buf), "%s/flexiai/config.ini", xdg);
        else if (home && *home)
            snprintf(buf, sizeof(buf), "%s/.config/flexiai/config.ini", home);
        else
            buf[0] = '\0';
        if (buf[0]) {
            fx_conf_read_file(cfg, buf, 0);
            note_source(cfg, buf);
        } else {
            fxu_buf_printf(&cfg->sources,
                           "%sno user file (HOME and "
                           "XDG_CONFIG_HOME are unset)",
                           cfg->sources.len ? ", " : "");
        }
    }
    /* the standard key variables stand in for missing [provider.*]
     * sections; FLEXIAI_PROVIDER_* variables can then adjust them */
    fx_conf_implicit_providers(cfg);
    fx_conf_read_env(cfg);
    return fx_conf_has_errors(cfg) ? FLEXIAI_ECONFIG : FLEXIAI_OK;
}

int
flexiai_config_set(flexiai_config *cfg, const char *section, const char *key,
                   const char *value)
{
    if (!fx_conf_known_section(section) ||
        fx_conf_key_def(section, key) == NULL) {
        fx_conf_diag(cfg, 1, "flag: unknown setting %s.%s", section, key);
        return FLEXIAI_ECONFIG;
    }
    fx_conf_set(cfg, section, key, value, "flag");
    return FLEXIAI_OK;
}

/* ---- typed values ----------------------------------------------------- */

/* Parse and range-check a value; report against its origin.  Returns 0 on
 * success (out filled), -1 when reported. */
static int
check_value(flexiai_config *cfg, const struct key_def *d, const char *section,
            const char *value, const struct entry *e, double *num)
{
    const char *w = fx_conf_where(e);
    if (value == NULL)
        return 0;
    switch (d->type) {
    case KT_INT: {
        long v;
        if (fxu_parse_long(value, &v) != 0) {
            fx_conf_diag(cfg, 1, "%s: %s.%s: '%s' is not a whole number", w,
                         section, d->key, value);
            return -1;
        }
        if ((d->min != 0 || d->max != 0) && (v < d->min || v > d->max)) {
            fx_conf_diag(cfg, 1,
                         "%s: %s.%s: %ld is out of range (%.15g to %.15g)", w,
                         section, d->key, v, d->min, d->max);
            return -1;
        }
        *num = (double)v;
        return 0;
    }
    case KT_NUMBER: {
        double v;
        if (fxu_parse_double(value, &v) != 0) {
            fx_conf_diag(cfg, 1, "%s: %s.%s: '%s' is not a number", w, section,
                         d->key, value);
            return -1;
        }
        if ((d->min != 0 || d->max != 0) && (v < d->min || v > d->max)) {
            /* the value as written: 2.0000001 must not read "2" */
            fx_conf_diag(cfg, 1,
                         "%s: %s.%s: %s is out of range (%.15g to %.15g)", w,
                         section, d->key, value, d->min, d->max);
            return -1;
        }
        *num = v;
        return 0;
    }
    case KT_BOOL: {
        int b;
        if (fxu_parse_bool(value, &b) != 0) {
            fx_conf_diag(
                cfg, 1,
                "%s: %s.%s: '%s' is not a boolean (yes/no, true/false, "
                "on/off, 1/0)",
                w, section, d->key, value);
            return -1;
        }
        *num = b;
        return 0;
    }
    case KT_ENUM: {
        const char *choices = d->choices ? d->choices : fx_provider_type_list();
        const char *c = choices;
        int idx = 0;
        while (c && *c) {
            const char *bar = strchr(c, '|');
            size_t n = bar ? (size_t)(bar - c) : strlen(c);
            if (strlen(value) == n && strncmp(value, c, n) == 0) {
                *num = idx;
                return 0;
            }
            idx++;
            c = bar ? bar + 1 : NULL;
        }
        if (strcmp(d->key, "type") == 0)
            fx_conf_diag(cfg, 1,
                         "%s: %s.%s: unknown provider type '%s' (one of %s)", w,
                         section, d->key, value, choices);
        else
            fx_conf_diag(cfg, 1, "%s: %s.%s: '%s' is not one of %s", w, section,
                         d->key, value, choices);
        return -1;
    }
    default:
        return 0;
    }
}

/* Split "a, b ,c" into a NULL-terminated array (NULL when empty). */
static char **
split_list(const char *value)
{
    if (value == NULL)
        return NULL;
    char *copy = fxu_strdup(value);
    char **out = NULL;
    size_t n = 0;
    for (char *tok = strtok(copy, ",\n"); tok; tok = strtok(NULL, ",\n")) {
        fxu_trim(tok);
        if (*tok == '\0')
            continue;
        out = fxu_xrealloc(out, (n + 2) * sizeof(*out));
        out[n++] = fxu_strdup(tok);
        out[n] = NULL;
    }
    free(copy);
    return out;
}

static void
free_list(char **list)
{
    if (list == NULL)
        return;
    for (char **s = list; *s; s++)
        free(*s);
    free(list);
}

/* The value, or the schema default; `fallback` only for keys the schema
 * gives no default (the "unset" of an optional key). */
static double
get_number_or(flexiai_config *cfg, const char *section, const char *key,
              double fallback)
{
    const struct entry *e;
    const char *v = fx_conf_raw(cfg, section, key, &e);
    const struct key_def *d = fx_conf_key_def(section, key);
    double num;
    if (v == NULL || d == NULL)
        return fallback;
    if (check_value(cfg, d, section, v, e, &num) != 0) {
        /* fall back to the schema default so later code has sane values */
        if (e && d->def && fxu_parse_double(d->def, &num) == 0)
            return num;
        if (e && d->def && fxu_parse_bool(d->def, (int[]){0}) == 0) {
            int b = 0;
            fxu_parse_bool(d->def, &b);
            return b;
        }
        return fallback;
    }
    return num;
}

/* A key the schema gives a default: that default is the only one. */
static double
get_number(flexiai_config *cfg, const char *section, const char *key)
{
    return get_number_or(cfg, section, key, 0);
}

static char *
get_string(flexiai_config *cfg, const char *section, const char *key)
{
    const char *v = fx_conf_raw(cfg, section, key, NULL);
    return (v && *v) ? fxu_strdup(v) : NULL;
}

/* A string that an empty value leaves at the schema default. */
static char *
get_string_or_default(flexiai_config *cfg, const char *section, const char *key)
{
    char *v = get_string(cfg, section, key);
    const struct key_def *d = fx_conf_key_def(section, key);
    if (v == NULL && d && d->def)
        v = fxu_strdup(d->def);
    return v;
}

/* A [defaults] value given on the command line beats every provider's. */
static int
flag_default(const flexiai_config *cfg, const char *key)
{
    const struct entry *e = fx_conf_entry(cfg, "defaults", key);
    return e && strcmp(e->origin, "flag") == 0;
}

/* Params for `section`, each unset one inherited from `base`. */
static void
read_params(flexiai_config *cfg, const char *section,
            const struct fx_params *base, struct fx_params *p)
{
#define NUM_PARAM(field, key, unset)                                           \
    do {                                                                       \
        const struct entry *e_;                                                \
        const char *v_ = fx_conf_raw(cfg, section, key, &e_);                  \
        if (base && (e_ == NULL || flag_default(cfg, key)))                    \
            p->field = base->field;                                            \
        else if (v_ == NULL)                                                   \
            p->field = unset;                                                  \
        else                                                                   \
            p->field = get_number_or(cfg, section, key, unset);                \
    } while (0)
    NUM_PARAM(temperature, "temperature", -1);
    NUM_PARAM(max_tokens, "max_tokens", 0);
    NUM_PARAM(top_p, "top_p", -1);
    NUM_PARAM(top_k, "top_k", 0);
    NUM_PARAM(timeout, "timeout", 120);
    NUM_PARAM(connect_timeout, "connect_timeout", 10);
    NUM_PARAM(idle_timeout, "idle_timeout", 60);
    NUM_PARAM(max_response_bytes, "max_response_bytes", 0);
#undef NUM_PARAM
    const struct entry *e;
    const char *sys = fx_conf_raw(cfg, section, "system", &e);
    if (base && (e == NULL || flag_default(cfg, "system")))
        p->system = fxu_strdup(base->system);
    else
        p->system = (sys && *sys) ? fxu_strdup(sys) : NULL;
    const char *stop = fx_conf_raw(cfg, section, "stop", &e);
    if (base && (e == NULL || flag_default(cfg, "stop"))) {
        p->stop = NULL;
        if (base->stop) {
            size_t n = 0;
            while (base->stop[n])
                n++;
            p->stop = fxu_xcalloc(n + 1, sizeof(char *));
            for (size_t i = 0; i < n; i++)
                p->stop[i] = fxu_strdup(base->stop[i]);
        }
    } else {
        p->stop = split_list(stop);
    }
}

/* The highest database number redis_url and redis_db accept (Redis's own
 * default is 16 databases; servers configured with more are rare, and a
 * number above this is a typo). */
#define REDIS_DB_MAX 100000

/*
 * redis://[[user]:password@]host[:port][/db], rediss://... (TLS),
 * unix:///path[?db=N].  Rejected: no host (redis://, redis://u:p@), an
 * unclosed IPv6 bracket, a port or database that is not a number in
 * range, anything after the database number.  *why never holds the URL
 * (it may hold a password).
 */
static int
parse_redis_url(const char *url, struct fx_sync *y, char **why)
{
    const char *rest;
    if (strncmp(url, "unix://", 7) == 0) {
        rest = url + 7;
        const char *q = strchr(rest, '?');
        size_t n = q ? (size_t)(q - rest) : strlen(rest);
        if (n == 0 || rest[0] != '/') {
            *why = fxu_strdup("unix:// needs an absolute socket path");
            return -1;
        }
        free(y->redis_unix);
        y->redis_unix = fxu_strndup(rest, n);
        if (q) {
            long db;
            if (strncmp(q, "?db=", 4) != 0 || fxu_parse_long(q + 4, &db) != 0 ||
                db < 0 || db > REDIS_DB_MAX) {
                *why = fxu_asprintf("unix:// query must be ?db=N (0 to %d)",
                                    REDIS_DB_MAX);
                return -1;
            }
            y->redis_db = db;
        }
        return 0;
    }
    if (strncmp(url, "redis://", 8) == 0) {
        rest = url + 8;
    } else if (strncmp(url, "rediss://", 9) == 0) {
        rest = url + 9;
        y->redis_ssl = 1;
    } else {
        *why = fxu_strdup("scheme must be redis://, rediss:// or unix://");
        return -1;
    }
    /* the authority ends at the first '/' after the last '@' */
    const char *at = strrchr(rest, '@');
    const char *hostpart = at ? at + 1 : rest;
    const char *slash = strchr(hostpart, '/');
    size_t hlen = slash ? (size_t)(slash - hostpart) : strlen(hostpart);
    char *host;
    const char *bad;
    if (fxu_parse_hostport(hostpart, hlen, " \t[]@?#", &host, &y->redis_port,
                           &bad) != 0) {
        *why = fxu_strdup(bad);
        return -1;
    }
    free(y->redis_host);
    y->redis_host = host;
    if (at) {
        const char *colon = memchr(rest, ':', (size_t)(at - rest));
        if (colon) {
            if (colon > rest) {
                free(y->redis_username);
                y->redis_username = fxu_strndup(rest, (size_t)(colon - rest));
            }
            free(y->redis_password);
            y->redis_password =
                fxu_strndup(colon + 1, (size_t)(at - colon - 1));
        } else {
            /* redis://password@host is how some clients write it */
            free(y->redis_password);
            y->redis_password = fxu_strndup(rest, (size_t)(at - rest));
        }
    }
    if (slash && slash[1]) {
        long db;
        if (fxu_parse_long(slash + 1, &db) != 0 || db < 0 ||
            db > REDIS_DB_MAX) {
            *why = fxu_asprintf("bad database number (0 to %d)", REDIS_DB_MAX);
            return -1;
        }
        y->redis_db = db;
    }
    return 0;
}

static char *
default_state_dir(void)
{
    const char *xdg = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    if (xdg && *xdg == '/')
        return fxu_asprintf("%s/flexiai", xdg);
    if (home && *home)
        return fxu_asprintf("%s/.local/state/flexiai", home);
    return fxu_asprintf("/tmp/flexiai-%ld", (long)getuid());
}

static char *
default_worker_id(void)
{
    char host[256];
    if (gethostname(host, sizeof(host)) != 0)
        snprintf(host, sizeof(host), "localhost");
    host[sizeof(host) - 1] = '\0';
    return fxu_asprintf("%s:%ld:%lld", host, (long)getpid(),
                        (long long)(fxu_wallclock() * 1000.0));
}

/* The one wait bounding every Redis step: redis_timeout when given, else
 * the larger of the Python FlexiAI's two timeouts when either is given,
 * else the schema's default. */
static double
sync_timeout(flexiai_config *cfg, struct fx_sync *y)
{
    y->redis_socket_timeout =
        get_number_or(cfg, "sync", "redis_socket_timeout", 0);
    y->redis_socket_connect_timeout =
        get_number_or(cfg, "sync", "redis_socket_connect_timeout", 0);
    double t = get_number(cfg, "sync", "redis_timeout");
    if (fx_conf_entry(cfg, "sync", "redis_timeout") == NULL &&
        (y->redis_socket_timeout > 0 || y->redis_socket_connect_timeout > 0))
        t = y->redis_socket_timeout > y->redis_socket_connect_timeout
                ? y->redis_socket_timeout
                : y->redis_socket_connect_timeout;
    return t;
}

/* TLS and Sentinel: checked here so `config check` names the line. */
static void
read_sync_production(flexiai_config *cfg, struct fx_sync *y)
{
    y->redis_tls_ca = get_string(cfg, "sync", "redis_tls_ca");
    y->redis_tls_cert = get_string(cfg, "sync", "redis_tls_cert");
    y->redis_tls_key = get_string(cfg, "sync", "redis_tls_key");
    y->redis_tls_server_name = get_string(cfg, "sync", "redis_tls_server_name");
    y->redis_tls_insecure = (int)get_number(cfg, "sync", "redis_tls_insecure");
    y->redis_sentinels =
        split_list(fx_conf_raw(cfg, "sync", "redis_sentinels", NULL));
    y->redis_sentinel_master = get_string(cfg, "sync", "redis_sentinel_master");
    y->redis_sentinel_user = get_string(cfg, "sync", "redis_sentinel_user");
    y->redis_sentinel_password =
        get_string(cfg, "sync", "redis_sentinel_password");

    const struct entry *e;
    if ((y->redis_tls_cert != NULL) != (y->redis_tls_key != NULL)) {
        e = fx_conf_entry(cfg, "sync",
                          y->redis_tls_cert ? "redis_tls_cert"
                                            : "redis_tls_key");
        fx_conf_diag(cfg, 1,
                     "%s: sync: redis_tls_cert and redis_tls_key go together "
                     "(a client certificate and its key)",
                     fx_conf_where(e));
    }
    const char *const paths[] = {"redis_tls_ca", "redis_tls_cert",
                                 "redis_tls_key"};
    for (size_t i = 0; i < 3; i++) {
        const char *v = fx_conf_raw(cfg, "sync", paths[i], &e);
        if (v && *v && access(v, R_OK) != 0)
            fx_conf_diag(cfg, y->backend == FX_BACKEND_REDIS,
                         "%s: sync.%s: cannot read %s: %s", fx_conf_where(e),
                         paths[i], v, strerror(errno));
    }
    if (y->redis_tls_insecure && y->backend == FX_BACKEND_REDIS &&
        (y->redis_ssl || y->redis_sentinels)) {
        e = fx_conf_entry(cfg, "sync", "redis_tls_insecure");
        fx_conf_diag(
            cfg, 0,
            "%s: sync.redis_tls_insecure: the Redis server's certificate "
            "is not verified",
            fx_conf_where(e));
    }
    if (y->redis_sentinels && y->redis_sentinel_master == NULL) {
        e = fx_conf_entry(cfg, "sync", "redis_sentinels");
        fx_conf_diag(cfg, 1,
                     "%s: sync: redis_sentinels needs redis_sentinel_master",
                     fx_conf_where(e));
    } else if (y->redis_sentinels == NULL && y->redis_sentinel_master) {
        e = fx_conf_entry(cfg, "sync", "redis_sentinel_master");
        fx_conf_diag(cfg, 1,
                     "%s: sync: redis_sentinel_master needs redis_sentinels",
                     fx_conf_where(e));
    }
    for (char **a = y->redis_sentinels; a && *a; a++) {
        if (fxu_parse_hostport(*a, strlen(*a), NULL, NULL, NULL, NULL) != 0) {
            e = fx_conf_entry(cfg, "sync", "redis_sentinels");
            fx_conf_diag(cfg, 1,
                         "%s: sync.redis_sentinels: '%s' is not HOST:PORT "
                         "([IPv6]:PORT)",
                         fx_conf_where(e), *a);
        }
    }
}

static void
read_sync(flexiai_config *cfg, struct fx_sync *y)
{
    y->backend = (int)get_number(cfg, "sync", "backend");
    if (y->backend > FX_BACKEND_REDIS) /* "memory": the Python one-process
                                          store; ours is the file */
        y->backend = FX_BACKEND_FILE;
    /* the Python FlexiAI's switch: enabled with no backend given means
     * Redis (its default); disabled means no shared state */
    const struct entry *en = fx_conf_entry(cfg, "sync", "enabled");
    if (en && en->value && *en->value) {
        int on = (int)get_number_or(cfg, "sync", "enabled", 0);
        if (!on)
            y->backend = FX_BACKEND_FILE;
        else if (fx_conf_entry(cfg, "sync", "backend") == NULL)
            y->backend = FX_BACKEND_REDIS;
    }
    y->redis_host = get_string_or_default(cfg, "sync", "redis_host");
    y->redis_port = (long)get_number(cfg, "sync", "redis_port");
    y->redis_db = (long)get_number(cfg, "sync", "redis_db");
    y->redis_password = get_string(cfg, "sync", "redis_password");
    y->redis_username = get_string(cfg, "sync", "redis_username");
    y->redis_ssl = (int)get_number(cfg, "sync", "redis_ssl");
    y->redis_timeout = sync_timeout(cfg, y);
    y->key_prefix = get_string_or_default(cfg, "sync", "key_prefix");
    y->channel = get_string_or_default(cfg, "sync", "channel");
    y->state_ttl = (long)get_number(cfg, "sync", "state_ttl");
    y->worker_id = get_string(cfg, "sync", "worker_id");
    if (y->worker_id == NULL)
        y->worker_id = default_worker_id();
    y->publish_outcomes = (int)get_number(cfg, "sync", "publish_outcomes");
    y->state_dir = default_state_dir();

    const struct entry *e;
    const char *url = fx_conf_raw(cfg, "sync", "redis_url", &e);
    if (url && *url) {
        char *why = NULL;
        y->redis_url = fxu_strdup(url);
        if (parse_redis_url(url, y, &why) != 0) {
            /* never echo the URL: it may hold the password */
            fx_conf_diag(cfg, 1, "%s: sync.redis_url: malformed (%s)",
                         fx_conf_where(e), why);
            free(why);
        }
    }
    read_sync_production(cfg, y);
}

/* Check every entry of the fixed sections for type and range. */
static void
check_all_entries(flexiai_config *cfg)
{
    for (size_t i = 0; i < cfg->nentries; i++) {
        const struct entry *e = &cfg->entries[i];
        const struct key_def *d = fx_conf_key_def(e->section, e->key);
        double num;
        if (d)
            check_value(cfg, d, e->section, e->value, e, &num);
    }
}

static int
provider_cmp(const void *a, const void *b)
{
    const struct fx_provider *x = a, *y = b;
    /* providers with a priority first, lower number first; then file order */
    int xp = x->priority != 0, yp = y->priority != 0;
    if (xp != yp)
        return yp - xp;
    if (xp && x->priority != y->priority)
        return x->priority < y->priority ? -1 : 1;
    return x->file_order - y->file_order;
}

/* [provider.*] schema_mode as enum fx_schema_mode (checked elsewhere). */
static int
read_schema_mode(flexiai_config *cfg, const char *sec)
{
    static const char *const modes[] = {"native", "tool", "json", "prompt"};
    const char *v = fx_conf_raw(cfg, sec, "schema_mode", NULL);
    for (int i = 0; v && i < 4; i++)
        if (strcmp(v, modes[i]) == 0)
            return i;
    return FX_SCHEMA_NATIVE;
}

/* http:// or https://, then a host (a name, an address or [v6]) */
static int
base_url_ok(const char *url)
{
    const char *h;
    if (strncmp(url, "http://", 7) == 0)
        h = url + 7;
    else if (strncmp(url, "https://", 8) == 0)
        h = url + 8;
    else
        return 0;
    for (const unsigned char *c = (const unsigned char *)url; *c; c++)
        if (*c <= 0x20 || *c == 0x7f)
            return 0; /* blanks and control characters: never a URL */
    const char *at = h + strcspn(h, "/?#");
    const char *cred = memchr(h, '@', (size_t)(at - h));
    if (cred)
        h = cred + 1; /* user:password@ */
    return fxu_parse_hostport(h, (size_t)(at - h), NULL, NULL, NULL, NULL) == 0;
}

static void
read_providers(flexiai_config *cfg, struct fx_settings *s)
{
    s->providers = fxu_xcalloc(cfg->nsections + 1, sizeof(struct fx_provider));
    for (size_t i = 0; i < cfg->nsections; i++) {
        const char *sec = cfg->sections[i].name;
        struct fx_provider *p = &s->providers[s->nproviders++];
        p->name = fxu_strdup(sec + 9);
        p->file_order = (int)i;
        p->type = get_string(cfg, sec, "type");
        p->model = get_string(cfg, sec, "model");
        p->priority = (long)get_number_or(cfg, sec, "priority", 0);
        p->base_url = get_string(cfg, sec, "base_url");
        p->api_version = get_string(cfg, sec, "api_version");
        p->project = get_string(cfg, sec, "project");
        p->location = get_string(cfg, sec, "location");
        p->insecure = (int)get_number_or(cfg, sec, "insecure", 0);
        p->tls_ca = get_string(cfg, sec, "tls_ca");
        p->rpm = (long)get_number_or(cfg, sec, "rpm", 0);
        p->tpm = (long)get_number_or(cfg, sec, "tpm", 0);
        p->max_concurrency =
            (long)get_number_or(cfg, sec, "max_concurrency", 0);
        p->schema_mode = read_schema_mode(cfg, sec);
        p->api_key_env = get_string(cfg, sec, "api_key_env");
        p->api_key_cmd = get_string(cfg, sec, "api_key_cmd");
        p->api_key_timeout = get_number(cfg, sec, "api_key_timeout");
        p->api_key = get_string(cfg, sec, "api_key");
        read_params(cfg, sec, &s->defaults, &p->params);
        p->ops = fx_provider_ops_find(p->type);
        if (p->type == NULL) {
            fx_conf_diag(cfg, 1, "%s: [%s] has no type (one of %s)",
                         cfg->sections[i].where, sec, fx_provider_type_list());
        }
        if (p->model == NULL)
            fx_conf_diag(cfg, 1, "%s: [%s] has no model",
                         cfg->sections[i].where, sec);
        if (p->tls_ca && *p->tls_ca && access(p->tls_ca, R_OK) != 0) {
            const struct entry *ce = fx_conf_entry(cfg, sec, "tls_ca");
            fx_conf_diag(cfg, 1, "%s: [%s] tls_ca: cannot read %s: %s",
                         fx_conf_where(ce), sec, p->tls_ca, strerror(errno));
        }
        if (p->insecure) {
            const struct entry *ie = fx_conf_entry(cfg, sec, "insecure");
            fx_conf_diag(
                cfg, 0,
                "%s: warning: [%s] insecure = yes: TLS certificates are "
                "not verified",
                fx_conf_where(ie), sec);
        }
        for (int k = 0; p->ops && p->ops->required && p->ops->required[k];
             k++) {
            const char *v = fx_conf_raw(cfg, sec, p->ops->required[k], NULL);
            if (v == NULL || *v == '\0')
                fx_conf_diag(cfg, 1, "%s: [%s] %s needs %s",
                             cfg->sections[i].where, sec, p->type,
                             p->ops->required[k]);
        }
        int ctl = 0;
        for (const unsigned char *c = (const unsigned char *)p->name; *c; c++)
            if (*c < 0x20 || *c == 0x7f)
                ctl = 1;
        if (ctl)
            /* the name is not echoed: it would reach a terminal raw */
            fx_conf_diag(
                cfg, 1,
                "%s: a provider name may not contain control characters",
                cfg->sections[i].where);
        else if (strchr(p->name, '/') || p->name[0] == '.' ||
                 p->name[0] == '\0')
            fx_conf_diag(cfg, 1,
                         "%s: [%s]: provider names may not contain '/' "
                         "or start with '.'",
                         cfg->sections[i].where, sec);
        if (p->base_url && !base_url_ok(p->base_url))
            fx_conf_diag(
                cfg, 1,
                "%s: %s.base_url: '%s' is not an http:// or https:// URL "
                "with a host",
                fx_conf_where(fx_conf_entry(cfg, sec, "base_url")), sec,
                p->base_url);
    }
    qsort(s->providers, s->nproviders, sizeof(*s->providers), provider_cmp);

    /* [failover] order: the named providers first, in that order. */
    const struct entry *oe;
    const char *order = fx_conf_raw(cfg, "failover", "order", &oe);
    char **names = split_list(order);
    size_t placed = 0;
    for (size_t k = 0; names && names[k]; k++) {
        size_t j;
        for (j = placed; j < s->nproviders; j++)
            if (strcmp(s->providers[j].name, names[k]) == 0)
                break;
        if (j == s->nproviders) {
            int earlier = 0;
            for (size_t m = 0; m < placed; m++)
                if (strcmp(s->providers[m].name, names[k]) == 0)
                    earlier = 1;
            if (!earlier)
                fx_conf_diag(cfg, 1,
                             "%s: failover.order: no provider named '%s'",
                             fx_conf_where(oe), names[k]);
            continue;
        }
        struct fx_provider tmp = s->providers[j];
        memmove(&s->providers[placed + 1], &s->providers[placed],
                (j - placed) * sizeof(tmp));
        s->providers[placed++] = tmp;
    }
    free_list(names);
}

static unsigned
read_count_mask(flexiai_config *cfg)
{
    const struct entry *e;
    const char *v = fx_conf_raw(cfg, "breaker", "count", &e);
    char **names = split_list(v);
    unsigned mask = 0;
    for (size_t i = 0; names && names[i]; i++) {
        int cls = flexiai_errclass_from_name(names[i]);
        /* invalid_output (a model's mistake, not an outage) counts only
         * when listed here */
        if (cls <= 0 ||
            (cls >= FLEXIAI_E_BREAKER_OPEN && cls != FLEXIAI_E_INVALID_OUTPUT))
            fx_conf_diag(cfg, 1, "%s: breaker.count: unknown error class '%s'",
                         fx_conf_where(e), names[i]);
        else
            mask |= 1u << cls;
    }
    free_list(names);
    return mask;
}

int
flexiai_config_validate(flexiai_config *cfg, int resolve_secrets)
{
    free_settings(&cfg->settings);
    fx_conf_free_shown(cfg);
    struct fx_settings *s = &cfg->settings;

    check_all_entries(cfg);
    read_params(cfg, "defaults", NULL, &s->defaults);
    s->stream_mode = (int)get_number(cfg, "defaults", "stream");
    s->on_stream_error = (int)get_number(cfg, "defaults", "on_stream_error");
    s->retries = (long)get_number(cfg, "failover", "retries");
    s->backoff_base = get_number(cfg, "failover", "backoff_base");
    s->backoff_max = get_number(cfg, "failover", "backoff_max");
    s->retry_after_max = get_number(cfg, "failover", "retry_after_max");
    s->limit_wait_max = get_number(cfg, "failover", "limit_wait_max");
    s->limit_window = get_number(cfg, "failover", "limit_window");
    s->failover_on_bad_request =
        (int)get_number(cfg, "failover", "failover_on_bad_request");
    s->failure_threshold =
        (long)get_number(cfg, "breaker", "failure_threshold");
    s->recovery_timeout = get_number(cfg, "breaker", "recovery_timeout");
    s->max_open = get_number(cfg, "breaker", "max_open");
    s->half_open_max_calls =
        (long)get_number(cfg, "breaker", "half_open_max_calls");
    s->probe_timeout =
        get_number_or(cfg, "breaker", "probe_timeout",
                      s->defaults.timeout + s->defaults.connect_timeout);
    s->count_mask = read_count_mask(cfg);
    read_sync(cfg, &s->sync);
    if (s->sync.redis_password)
        fx_secret_in_memory(); /* from the environment, say */
    read_providers(cfg, s);

    if (resolve_secrets) {
        for (size_t i = 0; i < s->nproviders; i++) {
            const char *key;
            char *err = NULL;
            struct fx_provider *p = &s->providers[i];
            if (p->ops == NULL)
                continue;
            if (fx_provider_key(p, &key, &err) != 0) {
                char sec[300];
                snprintf(sec, sizeof(sec), "provider.%s", p->name);
                const struct entry *e = fx_conf_entry(cfg, sec, "api_key_cmd");
                if (e == NULL)
                    e = fx_conf_entry(cfg, sec, "api_key_env");
                const char *where = fx_conf_where(e);
                for (size_t k = 0; e == NULL && k < cfg->nsections; k++)
                    if (strcmp(cfg->sections[k].name, sec) == 0)
                        where = cfg->sections[k].where;
                fx_conf_diag(cfg, 1, "%s: %s", where, err);
                free(err);
            }
        }
    }
    free(cfg->provider_names);
    cfg->provider_names = fxu_xcalloc(s->nproviders + 1, sizeof(char *));
    for (size_t i = 0; i < s->nproviders; i++)
        cfg->provider_names[i] = s->providers[i].name;
    cfg->nprovider_names = s->nproviders;
    cfg->validated = 1;
    fx_conf_sort_diags(cfg);
    return fx_conf_has_errors(cfg) ? FLEXIAI_ECONFIG : FLEXIAI_OK;
}

const struct fx_settings *
fx_config_settings(const flexiai_config *cfg)
{
    return &cfg->settings;
}

struct fx_provider *
fx_settings_provider(const struct fx_settings *s, const char *name)
{
    for (size_t i = 0; i < s->nproviders; i++)
        if (strcmp(s->providers[i].name, name) == 0)
            return &s->providers[i];
    return NULL;
}

size_t
flexiai_config_providers(const flexiai_config *cfg, const char *const **names)
{
    *names = (const char *const *)cfg->provider_names;
    return cfg->nprovider_names;
}
