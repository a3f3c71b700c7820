/*
 * ledger-usage.c - usage totals: requests, answers, failovers, failures by
 * class, tokens and cost, grouped by any of day, provider, model and tag,
 * as rows or a JSON array.  Prices come from the caller (the
 * configuration); an answer with no known price or no token counts makes
 * its group's cost unknown, never zero.
 */
#include "config.h"

#include "ledger-int.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int
fx_ledger_by_from_name(const char *name)
{
    static const char *const names[] = {"day", "provider", "model", "tag"};
    for (int i = 0; name && i < 4; i++)
        if (strcmp(name, names[i]) == 0)
            return 1 << i;
    return 0;
}

/* Tally keys: [0] kind, [1..4] the group (day, provider, model, tag; -1
 * when not grouped by it), then per kind: a part's provider and model
 * (for cost), a failure's class. */
enum { K_GROUP = 1, K_PART, K_CLASS };
#define NO_DAY INT64_MIN

struct run {
    const struct fx_ledger_usage_query *q;
    struct fx_tally *t;
};

static void
group_key(int64_t *key, int kind, const struct fx_ledger_usage_query *q,
          const struct fx_ledger_row *r)
{
    memset(key, 0, FX_TALLY_KEY * sizeof(*key));
    key[0] = kind;
    key[1] = q->by & FX_LEDGER_BY_DAY
                 ? (int64_t)fxu_floor((r->time + (double)q->utc_offset) / 86400)
                 : NO_DAY;
    key[2] = q->by & FX_LEDGER_BY_PROVIDER ? r->provider : -1;
    key[3] = q->by & FX_LEDGER_BY_MODEL ? r->model : -1;
    key[4] = q->by & FX_LEDGER_BY_TAG ? r->tag : -1;
}

static void
add_tokens(struct fx_tally_acc *a, const struct fx_ledger_row *r)
{
    a->prompt_tokens += r->prompt_tokens;
    a->completion_tokens += r->completion_tokens;
    a->cached_tokens += r->cached_tokens;
    a->cache_write_tokens += r->cache_write_tokens;
    a->reasoning_tokens += r->reasoning_tokens;
}

/* An attempt of a record with a failed one: a call, maybe failed, and
 * its tokens when the attempts carry them, in the group of the provider
 * and model tried. */
static void
attempt_row(struct run *run, const struct fx_ledger_row *r)
{
    int64_t key[FX_TALLY_KEY];
    group_key(key, K_GROUP, run->q, r);
    struct fx_tally_acc *g = fx_tally_get(run->t, key);
    g->calls++;
    g->failed_calls += r->failed;
    int answer = !r->failed && r->exit_code == 0;
    if (!(r->usage_split & 2) || (!r->has_usage && !answer))
        return; /* the record's row had the tokens; or nothing billed */
    add_tokens(g, r);
    key[0] = K_PART;
    key[5] = r->provider;
    key[6] = r->model;
    struct fx_tally_acc *p = fx_tally_get(run->t, key);
    add_tokens(p, r);
    /* an answer without token counts: its cost is unknown */
    p->no_usage += !r->has_usage;
}

static void
usage_row(void *ud, const struct fx_ledger_row *r)
{
    struct run *run = ud;
    if (r->attempt) {
        attempt_row(run, r);
        return;
    }
    int answered = r->exit_code == 0;
    int64_t key[FX_TALLY_KEY];
    group_key(key, K_GROUP, run->q, r);
    struct fx_tally_acc *g = fx_tally_get(run->t, key);
    g->requests++;
    g->answers += answered;
    g->failovers += answered && r->first && r->first != r->provider;
    g->failures += !answered;
    g->cache_hits += r->cached && answered;
    /* a call each (else counted per attempt); a cache hit made none */
    g->calls += !r->usage_split && answered && !r->cached;
    if (!(r->usage_split & 2))
        add_tokens(g, r);
    if (answered && r->provider && !(r->usage_split & 2) && !r->cached) {
        key[0] = K_PART;
        key[5] = r->provider;
        key[6] = r->model;
        key[7] = r->deferred; /* priced apart: price_batch_factor */
        struct fx_tally_acc *p = fx_tally_get(run->t, key);
        p->answers++;
        p->no_usage += !r->has_usage;
        add_tokens(p, r);
    } else if (!answered) {
        key[0] = K_CLASS;
        key[5] = r->error_class ? r->error_class
                                : fx_tally_intern(run->t, "unknown");
        fx_tally_get(run->t, key)->failures++;
    }
}

/* Sort groups by day, then provider, model and tag (no value first). */
static int
cmp_name(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return (a != NULL) - (b != NULL);
    return strcmp(a, b);
}

static int
cmp_rows(const void *pa, const void *pb)
{
    const struct fx_ledger_usage *a = pa, *b = pb;
    int c = cmp_name(a->day, b->day);
    if (c == 0)
        c = cmp_name(a->provider, b->provider);
    if (c == 0)
        c = cmp_name(a->model, b->model);
    return c ? c : cmp_name(a->tag, b->tag);
}

static int
cmp_count(const void *a, const void *b)
{
    return strcmp(((const struct fx_ledger_count *)a)->name,
                  ((const struct fx_ledger_count *)b)->name);
}

static char *
day_text(int64_t day)
{
    if (day == NO_DAY)
        return NULL;
    time_t secs = (time_t)(day * 86400);
    struct tm tm;
    char buf[32];
    gmtime_r(&secs, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%d", &tm);
    return fxu_strdup(buf);
}

static char *
key_name(struct fx_tally *t, int64_t id)
{
    return id < 0 ? NULL : fxu_strdup(fx_tally_name(t, (int)id));
}

/* Rows from the K_GROUP counters, sorted; each counter's `row` set. */
static struct fx_ledger_usage *
make_rows(struct fx_tally *t, size_t *nrows)
{
    size_t n = 0, total = fx_tally_count(t);
    struct fx_ledger_usage *rows = fxu_xcalloc(total + 1, sizeof(*rows));
    for (size_t i = 0; i < total; i++) {
        const int64_t *key = fx_tally_key(t, i);
        if (key[0] != K_GROUP)
            continue;
        struct fx_tally_acc *g = fx_tally_at(t, i);
        struct fx_ledger_usage *u = &rows[n++];
        u->day = day_text(key[1]);
        u->provider = key_name(t, key[2]);
        u->model = key_name(t, key[3]);
        u->tag = key_name(t, key[4]);
        u->requests = g->requests;
        u->answers = g->answers;
        u->failovers = g->failovers;
        u->failures = g->failures;
        u->prompt_tokens = (long)g->prompt_tokens;
        u->completion_tokens = (long)g->completion_tokens;
        u->cached_tokens = (long)g->cached_tokens;
        u->cache_write_tokens = (long)g->cache_write_tokens;
        u->reasoning_tokens = (long)g->reasoning_tokens;
        u->calls = g->calls;
        u->failed_calls = g->failed_calls;
        u->cache_hits = g->cache_hits;
        u->cost_known = 1;
        /* where it will be after sorting: found again by its keys */
        u->nclasses = i;
    }
    qsort(rows, n, sizeof(*rows), cmp_rows);
    for (size_t r = 0; r < n; r++) {
        fx_tally_at(t, rows[r].nclasses)->row = r;
        rows[r].nclasses = 0;
    }
    *nrows = n;
    return rows;
}

static struct fx_ledger_usage *
row_of(struct fx_tally *t, struct fx_ledger_usage *rows, const int64_t *key)
{
    int64_t gkey[FX_TALLY_KEY];
    memcpy(gkey, key, sizeof(gkey));
    gkey[0] = K_GROUP;
    gkey[5] = gkey[6] = gkey[7] = 0;
    return &rows[fx_tally_get(t, gkey)->row];
}

static void
add_parts(struct fx_tally *t, const struct fx_ledger_usage_query *q,
          struct fx_ledger_usage *rows)
{
    size_t total = fx_tally_count(t);
    for (size_t i = 0; i < total; i++) {
        int64_t key[FX_TALLY_KEY];
        memcpy(key, fx_tally_key(t, i), sizeof(key));
        struct fx_tally_acc a = *fx_tally_at(t, i);
        if (key[0] == K_GROUP)
            continue;
        struct fx_ledger_usage *u = row_of(t, rows, key);
        if (key[0] == K_CLASS) {
            u->failures_by_class = fxu_xrealloc(
                u->failures_by_class,
                (u->nclasses + 1) * sizeof(struct fx_ledger_count));
            u->failures_by_class[u->nclasses].name =
                fxu_strdup(fx_tally_name(t, (int)key[5]));
            u->failures_by_class[u->nclasses++].n = a.failures;
            continue;
        }
        const char *model = fx_tally_name(t, (int)key[6]);
        struct fx_prices pr;
        struct fx_usage use = {(long)a.prompt_tokens, (long)a.completion_tokens,
                               (long)a.cached_tokens,
                               (long)a.cache_write_tokens,
                               (long)a.reasoning_tokens};
        if (key[7])
            u->deferred += a.answers;
        if (a.no_usage > 0 || q->price == NULL ||
            q->price(q->price_ud, fx_tally_name(t, (int)key[5]),
                     model ? model : "", &pr) != 0) {
            u->cost_known = 0;
        } else if (key[7]) {
            double c = fx_cost(&pr, &use);
            if (q->batch_factor)
                c *=
                    q->batch_factor(q->price_ud, fx_tally_name(t, (int)key[5]));
            u->cost += c;
            u->deferred_cost += c;
        } else {
            u->cost += fx_cost(&pr, &use);
        }
    }
}

int
fx_ledger_usage(fx_ledger *l, const struct fx_ledger_usage_query *q,
                struct fx_ledger_usage **rows, size_t *nrows)
{
    *rows = NULL;
    *nrows = 0;
    struct run run = {q, fx_tally_new()};
    if (fx_ledger_scan(l, run.t, q->since, q->until, usage_row, &run) < 0) {
        fx_tally_free(run.t);
        return -1;
    }
    *rows = make_rows(run.t, nrows);
    add_parts(run.t, q, *rows);
    for (size_t i = 0; i < *nrows; i++)
        if ((*rows)[i].nclasses > 1)
            qsort((*rows)[i].failures_by_class, (*rows)[i].nclasses,
                  sizeof(struct fx_ledger_count), cmp_count);
    fx_tally_free(run.t);
    return 0;
}

void
fx_ledger_usage_free(struct fx_ledger_usage *rows, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(rows[i].day);
        free(rows[i].provider);
        free(rows[i].model);
        free(rows[i].tag);
        for (size_t k = 0; k < rows[i].nclasses; k++)
            free(rows[i].failures_by_class[k].name);
        free(rows[i].failures_by_class);
    }
    free(rows);
}

static void
add_key(cJSON *o, const char *name, const char *value)
{
    if (value)
        cJSON_AddStringToObject(o, name, value);
    else
        cJSON_AddNullToObject(o, name);
}

char *
fx_ledger_usage_json(const struct fx_ledger_usage *rows, size_t n, unsigned by)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
        const struct fx_ledger_usage *u = &rows[i];
        cJSON *o = cJSON_CreateObject();
        if (by & FX_LEDGER_BY_DAY)
            add_key(o, "day", u->day);
        if (by & FX_LEDGER_BY_PROVIDER)
            add_key(o, "provider", u->provider);
        if (by & FX_LEDGER_BY_MODEL)
            add_key(o, "model", u->model);
        if (by & FX_LEDGER_BY_TAG)
            add_key(o, "tag", u->tag);
        cJSON_AddNumberToObject(o, "requests", (double)u->requests);
        cJSON_AddNumberToObject(o, "answers", (double)u->answers);
        cJSON_AddNumberToObject(o, "failovers", (double)u->failovers);
        cJSON_AddNumberToObject(o, "failures", (double)u->failures);
        cJSON *fc = cJSON_AddObjectToObject(o, "failures_by_class");
        for (size_t k = 0; k < u->nclasses; k++)
            cJSON_AddNumberToObject(fc, u->failures_by_class[k].name,
                                    (double)u->failures_by_class[k].n);
        cJSON_AddNumberToObject(o, "prompt_tokens", (double)u->prompt_tokens);
        cJSON_AddNumberToObject(o, "completion_tokens",
                                (double)u->completion_tokens);
        cJSON_AddNumberToObject(o, "cached_tokens", (double)u->cached_tokens);
        cJSON_AddNumberToObject(o, "cache_write_tokens",
                                (double)u->cache_write_tokens);
        cJSON_AddNumberToObject(o, "reasoning_tokens",
                                (double)u->reasoning_tokens);
        cJSON_AddNumberToObject(o, "calls", (double)u->calls);
        cJSON_AddNumberToObject(o, "failed_calls", (double)u->failed_calls);
        cJSON_AddNumberToObject(o, "cache_hits", (double)u->cache_hits);
        if (u->cost_known)
            cJSON_AddNumberToObject(o, "cost",
                                    fxu_round(u->cost * 1e10) / 1e10);
        else
            cJSON_AddNullToObject(o, "cost");
        cJSON_AddNumberToObject(o, "deferred", (double)u->deferred);
        if (u->cost_known)
            cJSON_AddNumberToObject(o, "deferred_cost",
                                    fxu_round(u->deferred_cost * 1e10) / 1e10);
        else
            cJSON_AddNullToObject(o, "deferred_cost");
        cJSON_AddItemToArray(arr, o);
    }
    char *s = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    return s;
}
