/*
 * redis-sentinel.c - finding the Redis master through Sentinel, and
 * fx_redis_open(), the one entry point that connects either directly or
 * through the sentinels.
 *
 * Each sentinel is asked in turn (SENTINEL get-master-addr-by-name); the
 * address it gives is connected to with the caller's options (AUTH, SELECT,
 * TLS) and confirmed with ROLE to be a master, since a sentinel that has
 * not noticed a failover yet still names the old master, which may be down
 * or already a replica.  Any failure moves on to the next sentinel.  The
 * store calls fx_redis_open() again after losing its connection or on a
 * READONLY reply (fx_redis_is_readonly()), which re-resolves.
 */
#include "config.h"

#include "fx.h"
#include "redis-conn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SENTINEL_PORT 26379

/* Ask one sentinel.  0 with *host and *port, -1 with *err. */
static int
ask_sentinel(const struct fx_redis_opts *o, const char *addr, char **host,
             int *port, char **err)
{
    const struct fx_redis_sentinel *s = o->sentinel;
    struct fx_redis_opts so;
    char *shost = NULL;
    long sport = DEFAULT_SENTINEL_PORT;

    /* "host", "host:port" or "[v6]:port", as sync.redis_sentinels */
    size_t len = strlen(addr);
    if (fxu_parse_hostport(addr, len, NULL, &shost, &sport, NULL) != 0) {
        fx_set_err(err, "redis sentinel '%s': not HOST:PORT", addr);
        return -1;
    }
    memset(&so, 0, sizeof(so));
    so.host = shost;
    so.port = (int)sport;
    so.username = s->username;
    so.password = s->password;
    so.timeout = o->timeout;
    if (s->tls)
        so.tls = o->tls;
    struct fx_redis *c = NULL;
    int rc = -1;
    if (fx_redis_connect(&c, &so, err) < 0)
        goto done;
    const char *argv[] = {"SENTINEL", "get-master-addr-by-name",
                          s->master_name};
    redisReply *r = fx_redis_command(c, 3, argv, NULL, err);
    if (r == NULL)
        goto done;
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 2 &&
        r->element[0]->type == REDIS_REPLY_STRING &&
        r->element[1]->type == REDIS_REPLY_STRING) {
        long p;
        if (fxu_parse_long(r->element[1]->str, &p) == 0 && p > 0 &&
            p <= 65535) {
            *host = fxu_strdup(r->element[0]->str);
            *port = (int)p;
            rc = 0;
        } else
            fx_set_err(err, "%s: bad port for master '%s'", fx_redis_where(c),
                       s->master_name);
    } else if (r->type == REDIS_REPLY_NIL ||
               (r->type == REDIS_REPLY_ARRAY && r->elements == 0))
        fx_set_err(err, "%s: no master named '%s'", fx_redis_where(c),
                   s->master_name);
    else
        fx_set_err(err, "%s: SENTINEL get-master-addr-by-name failed: %s",
                   fx_redis_where(c),
                   r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
    freeReplyObject(r);
done:
    fx_redis_free(c);
    free(shost);
    return rc;
}

static int
check_sentinel_opts(const struct fx_redis_opts *o, char **err)
{
    const struct fx_redis_sentinel *s = o->sentinel;
    if (s->naddrs == 0 || s->addrs == NULL) {
        fx_set_err(err, "redis sentinel: no sentinel addresses");
        return -1;
    }
    if (s->master_name == NULL || *s->master_name == '\0') {
        fx_set_err(err, "redis sentinel: no master name");
        return -1;
    }
    return 0;
}

int
fx_redis_sentinel_resolve(const struct fx_redis_opts *o, char **host, int *port,
                          char **err)
{
    *host = NULL;
    *port = 0;
    if (o->sentinel == NULL) {
        fx_set_err(err, "redis sentinel: not configured");
        return -1;
    }
    if (check_sentinel_opts(o, err) < 0)
        return -1;
    char *last = NULL;
    for (size_t i = 0; i < o->sentinel->naddrs; i++)
        if (ask_sentinel(o, o->sentinel->addrs[i], host, port, &last) == 0) {
            free(last);
            return 0;
        }
    fx_set_err(err, "redis sentinel: no sentinel knows master '%s' (last: %s)",
               o->sentinel->master_name, last ? last : "no answer");
    free(last);
    return -1;
}

/* Connected to what a sentinel named: is it the master? */
static int
confirm_master(struct fx_redis *c, char **err)
{
    const char *argv[] = {"ROLE"};
    redisReply *r = fx_redis_command(c, 1, argv, NULL, err);
    if (r == NULL)
        return -1;
    int ok = r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
             r->element[0]->type == REDIS_REPLY_STRING &&
             strcmp(r->element[0]->str, "master") == 0;
    if (!ok)
        fx_set_err(err, "%s: not a master (ROLE: %s)", fx_redis_where(c),
                   r->type == REDIS_REPLY_ERROR ? r->str
                   : r->type == REDIS_REPLY_ARRAY && r->elements >= 1 &&
                           r->element[0]->type == REDIS_REPLY_STRING
                       ? r->element[0]->str
                       : "unexpected reply");
    freeReplyObject(r);
    return ok ? 0 : -1;
}

int
fx_redis_open(struct fx_redis **out, const struct fx_redis_opts *o, char **err)
{
    *out = NULL;
    if (o->sentinel == NULL)
        return fx_redis_connect(out, o, err);
    if (check_sentinel_opts(o, err) < 0)
        return -1;

    char *last = NULL;
    for (size_t i = 0; i < o->sentinel->naddrs; i++) {
        char *host = NULL;
        int port = 0;
        if (ask_sentinel(o, o->sentinel->addrs[i], &host, &port, &last) < 0)
            continue;
        struct fx_redis_opts mo = *o;
        mo.host = host;
        mo.port = port;
        mo.unix_path = NULL;
        mo.sentinel = NULL;
        struct fx_redis *c = NULL;
        int rc = fx_redis_connect(&c, &mo, &last);
        free(host);
        if (rc == 0 && confirm_master(c, &last) == 0) {
            free(last);
            *out = c;
            return 0;
        }
        fx_redis_free(c);
    }
    fx_set_err(err, "redis sentinel: no usable master '%s' (last: %s)",
               o->sentinel->master_name, last ? last : "no answer");
    free(last);
    return -1;
}

/* ---- from the [sync] settings ------------------------------------------- */

/* The wait bounding each step for these settings, in seconds. */
static double
sync_timeout(const struct fx_sync *s)
{
    if (s->redis_timeout > 0)
        return s->redis_timeout;
    /* settings filled by hand (tests): the Python FlexiAI's names */
    double t = s->redis_socket_timeout > s->redis_socket_connect_timeout
                   ? s->redis_socket_timeout
                   : s->redis_socket_connect_timeout;
    return t > 0 ? t : FX_REDIS_DEFAULT_TIMEOUT;
}

int
fx_redis_open_sync(struct fx_redis **out, const struct fx_sync *s, char **err)
{
    struct fx_redis_opts o;
    struct fx_redis_sentinel sen;
    memset(&o, 0, sizeof(o));
    memset(&sen, 0, sizeof(sen));
    o.host = s->redis_host && *s->redis_host ? s->redis_host : NULL;
    o.port = (int)s->redis_port;
    o.unix_path = s->redis_unix && *s->redis_unix ? s->redis_unix : NULL;
    o.username = s->redis_username;
    o.password = s->redis_password;
    o.db = s->redis_db;
    o.timeout = sync_timeout(s);
    o.tls.enabled = s->redis_ssl;
    o.tls.ca = s->redis_tls_ca;
    o.tls.cert = s->redis_tls_cert;
    o.tls.key = s->redis_tls_key;
    o.tls.server_name = s->redis_tls_server_name;
    o.tls.insecure = s->redis_tls_insecure;
    if (s->redis_sentinels && s->redis_sentinels[0]) {
        size_t n = 0;
        while (s->redis_sentinels[n])
            n++;
        sen.addrs = (const char *const *)s->redis_sentinels;
        sen.naddrs = n;
        sen.master_name = s->redis_sentinel_master;
        sen.username = s->redis_sentinel_user;
        sen.password = s->redis_sentinel_password;
        sen.tls = s->redis_ssl;
        o.sentinel = &sen;
        o.unix_path = NULL;
    }
    return fx_redis_open(out, &o, err);
}
