/*
 * cache.h - the response cache: what a request's key is made of and its
 * digest, what an entry holds (cache.c), and the two places entries live:
 * an SQLite file beside the ledger (cache-sqlite.c) or Redis, shared
 * across hosts (redis/cache-redis.c).  The engine asks before a provider
 * is tried and stores a successful answer (engine-cache.c).
 */
#ifndef FX_CACHE_H
#define FX_CACHE_H

#include "conf/conf.h"
#include "flexiai.h"

/* What makes two requests the same question.  The key is the SHA-256 of
 * a canonical serialisation of these (every field length-prefixed), never
 * the request itself. */
struct fx_cache_key_in {
    const flexiai_message *msgs;
    size_t nmsgs;
    const char *provider; /* NULL: across providers */
    const char *model;
    const struct fx_params *params; /* system, sampling, stop, reasoning */
    const char *schema_text;        /* NULL: none */
    const flexiai_tool *tools;
    size_t ntools;
    int want_reasoning;
};

/* 0 with the key as 64 hex digits and a NUL in hex; -1 with *err when an
 * attachment's file cannot be read (the request is then not cached). */
int fx_cache_key(const struct fx_cache_key_in *in, char hex[65], char **err);
/* SHA-256 of n bytes as 64 hex digits and a NUL. */
void fx_cache_sha256_hex(const void *p, size_t n, char hex[65]);

/* An answer as kept: its text and where it came from. */
struct fx_cache_entry {
    char *text, *model, *provider, *finish_reason;
    char *json; /* the validated answer with a schema; NULL: none */
    long prompt_tokens, completion_tokens;
    double created; /* epoch seconds */
};
/* The entry as one line of JSON (caller frees). */
char *fx_cache_entry_encode(const struct fx_cache_entry *e);
/* 0 and *e (free with fx_cache_entry_free()), or -1: not an entry. */
int fx_cache_entry_decode(const char *s, size_t n, struct fx_cache_entry *e);
void fx_cache_entry_free(struct fx_cache_entry *e);

enum fx_cache_backend { FX_CACHE_SQLITE = 0, FX_CACHE_REDIS };

/* [cache] as the configuration says. */
struct fx_cache_conf {
    int on;              /* mode = on */
    double ttl;          /* seconds an entry answers */
    int backend;         /* enum fx_cache_backend */
    long long max_bytes; /* prune keeps at most this much; 0: no limit */
    int across;          /* across_providers */
};
void fx_cache_conf_read(const flexiai_config *cfg, struct fx_cache_conf *cc);

/* ---- the places entries live (both backends offer the same calls) ---- */

struct fx_cache_stats {
    long long entries, bytes, hits, misses;
    double oldest; /* epoch seconds of the oldest entry; 0: none */
};

/* One open cache; NULL from fx_cache_open() with *err. */
struct fx_cache;
struct fx_cache *fx_cache_open(const flexiai_config *cfg, char **err);
void fx_cache_close(struct fx_cache *ch);
/* Where it is, for messages: a path, or "redis HOST:PORT". */
const char *fx_cache_where(const struct fx_cache *ch);
/* 1 with *value (caller frees) when key holds an entry no older than
 * ttl, 0 when not (a miss), -1 with *err on failure. */
int fx_cache_get(struct fx_cache *ch, const char *key, double ttl, char **value,
                 size_t *len, char **err);
/* 0, or -1 with *err. */
int fx_cache_put(struct fx_cache *ch, const char *key, const char *value,
                 size_t len, double created, double ttl, char **err);
int fx_cache_stats_read(struct fx_cache *ch, struct fx_cache_stats *st,
                        char **err);
/* Remove every entry (prune: those older than ttl, then the oldest until
 * at most max_bytes remain, 0: no limit); *removed is their number. */
int fx_cache_clear_all(struct fx_cache *ch, long long *removed, char **err);
int fx_cache_prune_old(struct fx_cache *ch, double ttl, long long max_bytes,
                       long long *removed, char **err);

/* cache-sqlite.c */
struct fx_cache_sqlite;
struct fx_cache_sqlite *fx_cache_sqlite_open(const char *path, char **err);
void fx_cache_sqlite_close(struct fx_cache_sqlite *s);
int fx_cache_sqlite_get(struct fx_cache_sqlite *s, const char *key, double now,
                        double ttl, char **value, size_t *len, char **err);
int fx_cache_sqlite_put(struct fx_cache_sqlite *s, const char *key,
                        const char *value, size_t len, double created,
                        char **err);
int fx_cache_sqlite_stats(struct fx_cache_sqlite *s, struct fx_cache_stats *st,
                          char **err);
int fx_cache_sqlite_clear(struct fx_cache_sqlite *s, long long *removed,
                          char **err);
int fx_cache_sqlite_prune(struct fx_cache_sqlite *s, double before,
                          long long max_bytes, long long *removed, char **err);

#endif
