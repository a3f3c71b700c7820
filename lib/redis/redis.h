/*
 * redis.h - what lib/redis/ offers the rest of the library: the Redis
 * breaker store (its struct fx_store_ops), the events channel watcher and
 * the bridge that applies other workers' events.  Everything else of the
 * folder (connections, TLS, Sentinel, the Lua scripts) stays behind
 * redis-conn.h and store-redis.h.  Not installed.
 */
#ifndef FX_REDIS_H
#define FX_REDIS_H

#include <signal.h>

#include "fx.h"

extern const struct fx_store_ops fx_store_redis;

/* Subscribe to the events channel and deliver events until *stop or the
 * callback says so, reconnecting with backoff (redis-watch.c).
 * subscribed(ud, where, again) is called each time the subscription is
 * made ("redis HOST:PORT"; again: after a lost connection, when events may
 * have been missed); it may deliver events through fn itself. */
typedef void (*fx_watch_subscribed_fn)(void *ud, const char *where, int again);
int fx_redis_watch(const struct fx_settings *s, flexiai_event_fn fn, void *ud,
                   volatile sig_atomic_t *stop, flexiai_log_fn log,
                   void *log_ud, fx_watch_subscribed_fn subscribed);
/* flexiai_breaker_sync() for the Redis store (redis-bridge.c). */
int fx_redis_bridge(const struct fx_settings *s, flexiai_sync_fn fn, void *ud,
                    volatile sig_atomic_t *stop, flexiai_log_fn log,
                    void *log_ud);

/* The response cache and the budgets' spend counters in Redis
 * (cache-redis.c), on a connection of their own from [sync]. */
struct fx_cache_redis;
struct fx_cache_stats;
struct fx_sync;
struct fx_cache_redis *fx_cache_redis_open(const struct fx_sync *sync,
                                           char **err);
void fx_cache_redis_close(struct fx_cache_redis *c);
const char *fx_cache_redis_where(const struct fx_cache_redis *c);
/* 1 with *value (caller frees), 0 a miss, -1 with *err. */
int fx_cache_redis_get(struct fx_cache_redis *c, const char *key, char **value,
                       size_t *len, char **err);
/* Kept for ttl seconds (Redis expires it). */
int fx_cache_redis_put(struct fx_cache_redis *c, const char *key,
                       const char *value, size_t len, double ttl, char **err);
int fx_cache_redis_stats(struct fx_cache_redis *c, struct fx_cache_stats *st,
                         char **err);
int fx_cache_redis_clear(struct fx_cache_redis *c, long long *removed,
                         char **err);
int fx_cache_redis_prune(struct fx_cache_redis *c, double before,
                         long long *removed, char **err);
/* The UTC day's and month's shared spend at `now`; add `cost` to both. */
int fx_cache_redis_spent(struct fx_cache_redis *c, double now, double *day,
                         double *month, char **err);
int fx_cache_redis_spend(struct fx_cache_redis *c, double now, double cost,
                         char **err);

#endif
