/*
 * ledger-tally.c - adding up ledger records fast: one pass over the
 * requests_usage covering index (never the table with its prompts and
 * answers), each row handed to a callback with its strings interned, and
 * a hash map from small integer tuples to counters.  Usage totals and
 * Prometheus counters are both built on it; an SQL GROUP BY over a
 * million rows spends most of its time sorting, this does not sort.
 */
#include "config.h"

#include "ledger-int.h"
#include "sqlite-load.h"

#include <stdlib.h>
#include <string.h>

struct slot {
    int64_t key[FX_TALLY_KEY];
    size_t index; /* into accs, + 1; 0: empty */
};

struct fx_tally {
    /* interned strings: id i + 1 is names[i]; 0 is NULL */
    char **names;
    size_t nnames, names_cap;
    int *name_slots; /* open addressing: name id or 0 */
    size_t name_slots_cap;
    /* tuple map */
    struct slot *slots;
    size_t slots_cap;
    int64_t (*keys)[FX_TALLY_KEY];
    struct fx_tally_acc *accs;
    size_t naccs, accs_cap;
};

static uint64_t
hash_bytes(const void *p, size_t n, uint64_t h)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

struct fx_tally *
fx_tally_new(void)
{
    struct fx_tally *t = fxu_xcalloc(1, sizeof(*t));
    t->name_slots_cap = 64;
    t->name_slots = fxu_xcalloc(t->name_slots_cap, sizeof(int));
    t->slots_cap = 256;
    t->slots = fxu_xcalloc(t->slots_cap, sizeof(*t->slots));
    return t;
}

void
fx_tally_free(struct fx_tally *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->nnames; i++)
        free(t->names[i]);
    free(t->names);
    free(t->name_slots);
    free(t->slots);
    free(t->keys);
    free(t->accs);
    free(t);
}

static void
name_put(struct fx_tally *t, int id)
{
    const char *s = t->names[id - 1];
    size_t mask = t->name_slots_cap - 1;
    size_t i = hash_bytes(s, strlen(s), 14695981039346656037ULL) & mask;
    while (t->name_slots[i])
        i = (i + 1) & mask;
    t->name_slots[i] = id;
}

int
fx_tally_intern(struct fx_tally *t, const char *s)
{
    if (s == NULL)
        return 0;
    size_t len = strlen(s);
    size_t mask = t->name_slots_cap - 1;
    size_t i = hash_bytes(s, len, 14695981039346656037ULL) & mask;
    for (; t->name_slots[i]; i = (i + 1) & mask)
        if (strcmp(t->names[t->name_slots[i] - 1], s) == 0)
            return t->name_slots[i];
    if (t->nnames == t->names_cap) {
        t->names_cap = t->names_cap ? 2 * t->names_cap : 16;
        t->names = fxu_xrealloc(t->names, t->names_cap * sizeof(char *));
    }
    t->names[t->nnames++] = fxu_strndup(s, len);
    int id = (int)t->nnames;
    if (2 * t->nnames >= t->name_slots_cap) {
        free(t->name_slots);
        t->name_slots_cap *= 2;
        t->name_slots = fxu_xcalloc(t->name_slots_cap, sizeof(int));
        for (int k = 1; k <= id; k++)
            name_put(t, k);
    } else {
        t->name_slots[i] = id;
    }
    return id;
}

const char *
fx_tally_name(const struct fx_tally *t, int id)
{
    return id > 0 && (size_t)id <= t->nnames ? t->names[id - 1] : NULL;
}

/* A word at a time: this runs a few times per record scanned. */
static uint64_t
hash_key(const int64_t *key)
{
    uint64_t h = 0;
    for (int i = 0; i < FX_TALLY_KEY; i++) {
        h = (h ^ (uint64_t)key[i]) * 0x9E3779B97F4A7C15ULL;
        h ^= h >> 29;
    }
    return h;
}

static size_t
key_slot(const struct fx_tally *t, const int64_t *key)
{
    size_t mask = t->slots_cap - 1;
    size_t i = hash_key(key) & mask;
    while (t->slots[i].index &&
           memcmp(t->slots[i].key, key, FX_TALLY_KEY * sizeof(int64_t)) != 0)
        i = (i + 1) & mask;
    return i;
}

static void
grow_slots(struct fx_tally *t)
{
    struct slot *old = t->slots;
    size_t old_cap = t->slots_cap;
    t->slots_cap *= 2;
    t->slots = fxu_xcalloc(t->slots_cap, sizeof(*t->slots));
    for (size_t i = 0; i < old_cap; i++)
        if (old[i].index)
            t->slots[key_slot(t, old[i].key)] = old[i];
    free(old);
}

struct fx_tally_acc *
fx_tally_get(struct fx_tally *t, const int64_t key[FX_TALLY_KEY])
{
    size_t i = key_slot(t, key);
    if (t->slots[i].index)
        return &t->accs[t->slots[i].index - 1];
    if (t->naccs == t->accs_cap) {
        t->accs_cap = t->accs_cap ? 2 * t->accs_cap : 64;
        t->accs = fxu_xrealloc(t->accs, t->accs_cap * sizeof(*t->accs));
        t->keys = fxu_xrealloc(t->keys, t->accs_cap * sizeof(*t->keys));
    }
    struct fx_tally_acc *a = &t->accs[t->naccs];
    memset(a, 0, sizeof(*a));
    memcpy(t->keys[t->naccs], key, FX_TALLY_KEY * sizeof(int64_t));
    memcpy(t->slots[i].key, key, FX_TALLY_KEY * sizeof(int64_t));
    t->slots[i].index = ++t->naccs;
    if (2 * t->naccs >= t->slots_cap)
        grow_slots(t);
    return a;
}

size_t
fx_tally_count(const struct fx_tally *t)
{
    return t->naccs;
}

const int64_t *
fx_tally_key(const struct fx_tally *t, size_t i)
{
    return t->keys[i];
}

struct fx_tally_acc *
fx_tally_at(struct fx_tally *t, size_t i)
{
    return &t->accs[i];
}

/* Consecutive records mostly repeat a provider or model: compare with the
 * previous value before hashing. */
struct recent {
    char text[64];
    int id;
};

static int
intern_column(struct fx_tally *t, sqlite3_stmt *st, int col,
              struct recent *last)
{
    const char *s = (const char *)sqlite3_column_text(st, col);
    if (s == NULL)
        return 0;
    if (last->id && strcmp(s, last->text) == 0)
        return last->id;
    int id = fx_tally_intern(t, s);
    if (strlen(s) < sizeof(last->text)) {
        strcpy(last->text, s);
        last->id = id;
    }
    return id;
}

/* The rows of the attempts sent of records with a failed attempt (see
 * fx_ledger_scan in ledger-int.h).  The answer's own attempt is named by
 * the record's model, as the record is. */
static int
scan_split(fx_ledger *l, struct fx_tally *t, double since, double until,
           fx_ledger_row_fn fn, void *ud)
{
    sqlite3_stmt *st = fx_ledger_prepare(
        l, "SELECT r.time, a.provider,"
           " CASE WHEN a.outcome = 'success' AND r.exit_code = 0"
           "  AND r.provider = a.provider THEN r.model ELSE a.model END,"
           " r.tag, r.exit_code, a.outcome, a.prompt_tokens,"
           " a.completion_tokens, a.cached_tokens, a.cache_write_tokens,"
           " a.reasoning_tokens, r.usage_split"
           " FROM requests r INDEXED BY requests_split"
           " JOIN attempts a ON a.request_id = r.id"
           " WHERE r.usage_split > 0 AND r.time >= ? AND r.time < ?"
           " AND a.outcome <> 'skipped'");
    if (st == NULL)
        return -1;
    sqlite3_bind_double(st, 1, since > 0 ? since : -1e300);
    sqlite3_bind_double(st, 2, until > 0 ? until : 1e300);
    struct recent last[3];
    memset(last, 0, sizeof(last));
    int rc;
    struct fx_ledger_row r;
    while ((rc = fx_ledger_step(l, st)) == SQLITE_ROW) {
        memset(&r, 0, sizeof(r));
        r.time = sqlite3_column_double(st, 0);
        r.provider = intern_column(t, st, 1, &last[0]);
        r.model = intern_column(t, st, 2, &last[1]);
        r.tag = intern_column(t, st, 3, &last[2]);
        r.exit_code = sqlite3_column_int(st, 4);
        const char *outcome = (const char *)sqlite3_column_text(st, 5);
        r.attempt = 1;
        r.failed = outcome == NULL || (strcmp(outcome, "success") != 0 &&
                                       strcmp(outcome, "interrupted") != 0);
        r.usage_split = sqlite3_column_int(st, 11);
        r.has_usage = sqlite3_column_type(st, 6) != SQLITE_NULL;
        r.prompt_tokens = sqlite3_column_int64(st, 6);
        r.completion_tokens = sqlite3_column_int64(st, 7);
        r.cached_tokens = sqlite3_column_int64(st, 8);
        r.cache_write_tokens = sqlite3_column_int64(st, 9);
        r.reasoning_tokens = sqlite3_column_int64(st, 10);
        fn(ud, &r);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

int
fx_ledger_scan(fx_ledger *l, struct fx_tally *t, double since, double until,
               fx_ledger_row_fn fn, void *ud)
{
    sqlite3_stmt *st = fx_ledger_prepare(
        l, "SELECT time, provider, model, tag, exit_code, first_provider,"
           " error_class, prompt_tokens, completion_tokens, latency_ms,"
           " cached_tokens, cache_write_tokens, reasoning_tokens,"
           " usage_split, deferred, cached"
           " FROM requests INDEXED BY requests_usage"
           " WHERE time >= ? AND time < ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_double(st, 1, since > 0 ? since : -1e300);
    sqlite3_bind_double(st, 2, until > 0 ? until : 1e300);
    struct recent last[5];
    memset(last, 0, sizeof(last));
    int rc;
    struct fx_ledger_row r;
    memset(&r, 0, sizeof(r));
    while ((rc = fx_ledger_step(l, st)) == SQLITE_ROW) {
        r.time = sqlite3_column_double(st, 0);
        r.provider = intern_column(t, st, 1, &last[0]);
        r.model = intern_column(t, st, 2, &last[1]);
        r.tag = intern_column(t, st, 3, &last[2]);
        r.exit_code = sqlite3_column_int(st, 4);
        r.first = intern_column(t, st, 5, &last[3]);
        r.error_class = intern_column(t, st, 6, &last[4]);
        r.has_usage = sqlite3_column_type(st, 7) != SQLITE_NULL;
        r.prompt_tokens = sqlite3_column_int64(st, 7);
        r.completion_tokens = sqlite3_column_int64(st, 8);
        r.latency_ms = sqlite3_column_double(st, 9);
        r.cached_tokens = sqlite3_column_int64(st, 10);
        r.cache_write_tokens = sqlite3_column_int64(st, 11);
        r.reasoning_tokens = sqlite3_column_int64(st, 12);
        r.usage_split = sqlite3_column_int(st, 13);
        r.deferred = sqlite3_column_int(st, 14);
        r.cached = sqlite3_column_int(st, 15);
        fn(ud, &r);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return -1;
    return scan_split(l, t, since, until, fn, ud);
}
