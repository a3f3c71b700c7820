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

#endif
