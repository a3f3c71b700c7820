/*
 * conf-redis.c - [sync] into struct fx_sync: the backend (and the Python
 * FlexiAI's `enabled` switch), redis_url taken apart, the one timeout
 * bounding every Redis step, TLS files and Sentinel addresses checked
 * here so that `config check` names the line that is wrong.
 */
#include "config.h"

#include "conf-int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
        fx_conf_number_or(cfg, "sync", "redis_socket_timeout", 0);
    y->redis_socket_connect_timeout =
        fx_conf_number_or(cfg, "sync", "redis_socket_connect_timeout", 0);
    double t = fx_conf_number(cfg, "sync", "redis_timeout");
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
    y->redis_tls_ca = fx_conf_string(cfg, "sync", "redis_tls_ca");
    y->redis_tls_cert = fx_conf_string(cfg, "sync", "redis_tls_cert");
    y->redis_tls_key = fx_conf_string(cfg, "sync", "redis_tls_key");
    y->redis_tls_server_name =
        fx_conf_string(cfg, "sync", "redis_tls_server_name");
    y->redis_tls_insecure =
        (int)fx_conf_number(cfg, "sync", "redis_tls_insecure");
    y->redis_sentinels =
        fx_conf_split_list(fx_conf_raw(cfg, "sync", "redis_sentinels", NULL));
    y->redis_sentinel_master =
        fx_conf_string(cfg, "sync", "redis_sentinel_master");
    y->redis_sentinel_user = fx_conf_string(cfg, "sync", "redis_sentinel_user");
    y->redis_sentinel_password =
        fx_conf_string(cfg, "sync", "redis_sentinel_password");

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

void
fx_conf_read_sync(flexiai_config *cfg, struct fx_sync *y)
{
    y->backend = (int)fx_conf_number(cfg, "sync", "backend");
    if (y->backend > FX_BACKEND_REDIS) /* "memory": the Python one-process
                                          store; ours is the file */
        y->backend = FX_BACKEND_FILE;
    /* the Python FlexiAI's switch: enabled with no backend given means
     * Redis (its default); disabled means no shared state */
    const struct entry *en = fx_conf_entry(cfg, "sync", "enabled");
    if (en && en->value && *en->value) {
        int on = (int)fx_conf_number_or(cfg, "sync", "enabled", 0);
        if (!on)
            y->backend = FX_BACKEND_FILE;
        else if (fx_conf_entry(cfg, "sync", "backend") == NULL)
            y->backend = FX_BACKEND_REDIS;
    }
    y->redis_host = fx_conf_string_or_default(cfg, "sync", "redis_host");
    y->redis_port = (long)fx_conf_number(cfg, "sync", "redis_port");
    y->redis_db = (long)fx_conf_number(cfg, "sync", "redis_db");
    y->redis_password = fx_conf_string(cfg, "sync", "redis_password");
    y->redis_username = fx_conf_string(cfg, "sync", "redis_username");
    y->redis_ssl = (int)fx_conf_number(cfg, "sync", "redis_ssl");
    y->redis_timeout = sync_timeout(cfg, y);
    y->key_prefix = fx_conf_string_or_default(cfg, "sync", "key_prefix");
    y->channel = fx_conf_string_or_default(cfg, "sync", "channel");
    y->state_ttl = (long)fx_conf_number(cfg, "sync", "state_ttl");
    y->worker_id = fx_conf_string(cfg, "sync", "worker_id");
    if (y->worker_id == NULL)
        y->worker_id = default_worker_id();
    y->publish_outcomes = (int)fx_conf_number(cfg, "sync", "publish_outcomes");
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
