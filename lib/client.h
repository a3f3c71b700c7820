/*
 * client.h - what client.c (requests with failover) and client-breakers.c
 * (the store and the breaker calls) share: the client itself, its log
 * and error message, and the store as the request engine uses it.
 */
#ifndef FX_CLIENT_H
#define FX_CLIENT_H

#include "conf/conf.h"
#include "fx.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* The opaque flexiai_client of flexiai.h. */
struct flexiai_client {
    flexiai_config *cfg;
    const struct fx_settings *s;
    struct fx_http *http;
    struct flexiai_batch *engine; /* flexiai_complete()'s, made when needed */
    /* the store that answers now, and the file store kept as fallback */
    const struct fx_store_ops *ops;
    struct fx_store *store;
    struct fx_store *file_store;
    int redis_tried;
    int redis_down; /* configured but unreachable or failing */
    int warned_redis;
    char *redis_why; /* why Redis failed, for an admin command's error */
    int warned_write;
    char **warned_bad; /* providers whose malformed state we reported */
    size_t nwarned_bad;
    flexiai_log_fn log;
    void *log_ud;
    char **warned_once; /* fx_client_warn_once's lines said so far */
    size_t nwarned_once;
    unsigned seed;
    char *error;
    /* the budgets' shared spend counters (cache-open.c), when asked */
    struct fx_cache_redis *spend;
};

/* The library never prints: messages go to the caller's log callback. */
static inline void fx_client_log(flexiai_client *c, int level, const char *fmt,
                                 ...) __attribute__((format(printf, 3, 4)));

static inline void
fx_client_log(flexiai_client *c, int level, const char *fmt, ...)
{
    if (c->log == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *msg = fxu_vasprintf(fmt, ap);
    va_end(ap);
    c->log(c->log_ud, level, msg);
    free(msg);
}

/* A warning (a provider's request left out what the user set) said once
 * per client, however many requests would repeat it; msg may be NULL. */
static inline void
fx_client_warn_once(flexiai_client *c, const char *msg)
{
    if (msg == NULL || *msg == '\0')
        return;
    for (size_t i = 0; i < c->nwarned_once; i++)
        if (strcmp(c->warned_once[i], msg) == 0)
            return;
    c->warned_once =
        fxu_xrealloc(c->warned_once, (c->nwarned_once + 1) * sizeof(char *));
    c->warned_once[c->nwarned_once++] = fxu_strdup(msg);
    fx_client_log(c, FLEXIAI_LOG_WARN, "%s", msg);
}

static inline void fx_client_error_set(flexiai_client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static inline void
fx_client_error_set(flexiai_client *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    free(c->error);
    c->error = fxu_vasprintf(fmt, ap);
    va_end(ap);
}

/* Connect to Redis the first time the store is needed. */
void fx_client_ensure_store(flexiai_client *c);
/* Load n documents; store trouble gives closed defaults, never a failure. */
void fx_client_store_load(flexiai_client *c, const char *const *names, size_t n,
                          struct fx_breaker_doc *docs);
/* An operation of the given kind with the client's breaker settings. */
void fx_client_fill_op(const flexiai_client *c, struct fx_breaker_op *op,
                       int kind);
/* Apply op in the store; on store trouble carry on with the in-memory
 * result (a broken store never fails a request).  Returns the event. */
int fx_client_store_update(flexiai_client *c, const char *provider,
                           const struct fx_breaker_op *op,
                           struct fx_breaker_doc *doc, int *admit);

#endif
