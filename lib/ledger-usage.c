/*
 * ledger-usage.c - what the ledger adds up to: usage totals (requests,
 * answers, failovers, failures by class, tokens, cost) grouped by day,
 * provider, model and tag, as rows or a JSON array, and the same counters
 * in the Prometheus text exposition format.  Prices come from the caller
 * (the configuration); an answer with no known price makes its group's
 * cost unknown, never zero.
 */
#include "config.h"

#include "ledger.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <sqlite3.h>
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

/* The four key columns of a usage query, NULL where not grouped. */
static void
put_keys(fxu_buf *sql, unsigned by)
{
    /* a day number, made a date in C: date() per record costs more */
    fxu_buf_puts(sql, by & FX_LEDGER_BY_DAY
                          ? "CAST((time + ?) / 86400 AS INTEGER)"
                          : "NULL");
    fxu_buf_puts(sql, by & FX_LEDGER_BY_PROVIDER ? ", provider" : ", NULL");
    fxu_buf_puts(sql, by & FX_LEDGER_BY_MODEL ? ", model" : ", NULL");
    fxu_buf_puts(sql, by & FX_LEDGER_BY_TAG ? ", tag" : ", NULL");
}

static void
put_range(fxu_buf *sql, const struct fx_ledger_usage_query *q)
{
    if (q->since > 0)
        fxu_buf_puts(sql, " AND time >= ?");
    if (q->until > 0)
        fxu_buf_puts(sql, " AND time < ?");
}

static void
bind_query(sqlite3_stmt *st, const struct fx_ledger_usage_query *q)
{
    int i = 1;
    if (q->by & FX_LEDGER_BY_DAY)
        sqlite3_bind_int64(st, i++, q->utc_offset);
    if (q->since > 0)
        sqlite3_bind_double(st, i++, q->since);
    if (q->until > 0)
        sqlite3_bind_double(st, i++, q->until);
}

static char *
col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *s = sqlite3_column_text(st, i);
    return s ? fxu_strdup((const char *)s) : NULL;
}

/* The day key: a day number since the epoch as YYYY-MM-DD in `buf`. */
static const char *
day_text(sqlite3_stmt *st, char *buf, size_t size)
{
    if (sqlite3_column_type(st, 0) == SQLITE_NULL)
        return NULL;
    time_t secs = (time_t)sqlite3_column_int64(st, 0) * 86400;
    struct tm tm;
    gmtime_r(&secs, &tm);
    strftime(buf, size, "%Y-%m-%d", &tm);
    return buf;
}

static int
same(const char *a, const char *b)
{
    return a == b || (a && b && strcmp(a, b) == 0);
}

static int
same_keys(const struct fx_ledger_usage *u, sqlite3_stmt *st)
{
    char day[32];
    return same(u->day, day_text(st, day, sizeof(day))) &&
           same(u->provider, (const char *)sqlite3_column_text(st, 1)) &&
           same(u->model, (const char *)sqlite3_column_text(st, 2)) &&
           same(u->tag, (const char *)sqlite3_column_text(st, 3));
}

/* Cost of one (provider, model) part of a group: 0 when known, -1 not. */
static int
part_cost(const struct fx_ledger_usage_query *q, sqlite3_stmt *st, double *cost)
{
    const char *provider = (const char *)sqlite3_column_text(st, 4);
    const char *model = (const char *)sqlite3_column_text(st, 5);
    long answers = (long)sqlite3_column_int64(st, 7);
    long no_usage = (long)sqlite3_column_int64(st, 12);
    *cost = 0;
    if (provider == NULL || answers == 0)
        return 0; /* failures only: nothing billed */
    double in = 0, out = 0;
    if (no_usage > 0 || q->price == NULL ||
        q->price(q->price_ud, provider, model ? model : "", &in, &out) != 0)
        return -1;
    *cost = ((double)sqlite3_column_int64(st, 10) * in +
             (double)sqlite3_column_int64(st, 11) * out) /
            1e6;
    return 0;
}

/* Count `n` failures of class `name` (NULL: unknown) in `u`. */
static void
add_class(struct fx_ledger_usage *u, const char *name, long n)
{
    if (name == NULL)
        name = "unknown";
    for (size_t k = 0; k < u->nclasses; k++)
        if (strcmp(u->failures_by_class[k].name, name) == 0) {
            u->failures_by_class[k].n += n;
            return;
        }
    u->failures_by_class =
        fxu_xrealloc(u->failures_by_class,
                     (u->nclasses + 1) * sizeof(*u->failures_by_class));
    u->failures_by_class[u->nclasses].name = fxu_strdup(name);
    u->failures_by_class[u->nclasses].n = n;
    u->nclasses++;
}

static int
cmp_count(const void *a, const void *b)
{
    return strcmp(((const struct fx_ledger_count *)a)->name,
                  ((const struct fx_ledger_count *)b)->name);
}

/* One pass over the covering index: rows per group, provider, model and
 * failure class, folded here into one row per group. */
static int
add_totals(fx_ledger *l, const struct fx_ledger_usage_query *q,
           struct fx_ledger_usage **rows, size_t *n)
{
    fxu_buf sql;
    fxu_buf_init(&sql);
    fxu_buf_puts(&sql, "SELECT ");
    put_keys(&sql, q->by);
    fxu_buf_puts(&sql, ", provider, model, count(*), sum(exit_code = 0),"
                       " sum(exit_code = 0 AND first_provider IS NOT NULL"
                       "  AND first_provider IS NOT provider),"
                       " sum(exit_code <> 0), ifnull(sum(prompt_tokens), 0),"
                       " ifnull(sum(completion_tokens), 0),"
                       " sum(exit_code = 0 AND prompt_tokens IS NULL),"
                       " error_class FROM requests WHERE 1");
    put_range(&sql, q);
    fxu_buf_puts(&sql, " GROUP BY 1, 2, 3, 4, 5, 6, 14 ORDER BY 1, 2, 3, 4");
    sqlite3_stmt *st = fx_ledger_prepare(l, sql.data);
    fxu_buf_free(&sql);
    if (st == NULL)
        return -1;
    bind_query(st, q);
    size_t cap = 0;
    int rc;
    while ((rc = fx_ledger_step(l, st)) == SQLITE_ROW) {
        struct fx_ledger_usage *u = *n ? &(*rows)[*n - 1] : NULL;
        if (u == NULL || !same_keys(u, st)) {
            if (*n == cap) {
                cap = cap ? 2 * cap : 16;
                *rows = fxu_xrealloc(*rows, cap * sizeof(**rows));
            }
            u = &(*rows)[(*n)++];
            memset(u, 0, sizeof(*u));
            char day[32];
            u->day = fxu_strdup(day_text(st, day, sizeof(day)));
            u->provider = col_text(st, 1);
            u->model = col_text(st, 2);
            u->tag = col_text(st, 3);
            u->cost_known = 1;
        }
        long failures = (long)sqlite3_column_int64(st, 9);
        u->requests += (long)sqlite3_column_int64(st, 6);
        u->answers += (long)sqlite3_column_int64(st, 7);
        u->failovers += (long)sqlite3_column_int64(st, 8);
        u->failures += failures;
        if (failures)
            add_class(u, (const char *)sqlite3_column_text(st, 13), failures);
        u->prompt_tokens += (long)sqlite3_column_int64(st, 10);
        u->completion_tokens += (long)sqlite3_column_int64(st, 11);
        double cost;
        if (part_cost(q, st, &cost) < 0)
            u->cost_known = 0;
        else
            u->cost += cost;
    }
    sqlite3_finalize(st);
    for (size_t i = 0; i < *n; i++)
        qsort((*rows)[i].failures_by_class, (*rows)[i].nclasses,
              sizeof(struct fx_ledger_count), cmp_count);
    return rc == SQLITE_DONE ? 0 : -1;
}

int
fx_ledger_usage(fx_ledger *l, const struct fx_ledger_usage_query *q,
                struct fx_ledger_usage **rows, size_t *nrows)
{
    *rows = NULL;
    *nrows = 0;
    int rc = add_totals(l, q, rows, nrows);
    if (rc < 0) {
        fx_ledger_usage_free(*rows, *nrows);
        *rows = NULL;
        *nrows = 0;
    }
    return rc;
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
        if (u->cost_known)
            cJSON_AddNumberToObject(o, "cost", round(u->cost * 1e6) / 1e6);
        else
            cJSON_AddNullToObject(o, "cost");
        cJSON_AddItemToArray(arr, o);
    }
    char *s = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    return s;
}

/* ---- Prometheus ----------------------------------------------------- */

/* A label value: backslash, double quote and newline escaped. */
static void
put_label(fxu_buf *b, const char *name, const char *value, int first)
{
    fxu_buf_printf(b, "%s%s=\"", first ? "" : ",", name);
    for (const char *p = value ? value : ""; *p; p++) {
        if (*p == '\\')
            fxu_buf_puts(b, "\\\\");
        else if (*p == '"')
            fxu_buf_puts(b, "\\\"");
        else if (*p == '\n')
            fxu_buf_puts(b, "\\n");
        else
            fxu_buf_putc(b, *p);
    }
    fxu_buf_putc(b, '"');
}

static void
put_head(fxu_buf *b, const char *name, const char *type, const char *help)
{
    fxu_buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

static int
prom_requests(fx_ledger *l, fxu_buf *b)
{
    put_head(b, "flexiai_requests_total", "counter",
             "Requests logged, by the provider that answered (none when none"
             " did) and outcome (success or the failure's error class).");
    sqlite3_stmt *st = fx_ledger_prepare(
        l, "SELECT ifnull(provider, 'none'), CASE WHEN exit_code = 0"
           " THEN 'success' ELSE ifnull(error_class, 'unknown') END, count(*)"
           " FROM requests GROUP BY 1, 2 ORDER BY 1, 2");
    if (st == NULL)
        return -1;
    int rc;
    while ((rc = fx_ledger_step(l, st)) == SQLITE_ROW) {
        fxu_buf_puts(b, "flexiai_requests_total{");
        put_label(b, "provider", (const char *)sqlite3_column_text(st, 0), 1);
        put_label(b, "outcome", (const char *)sqlite3_column_text(st, 1), 0);
        fxu_buf_printf(b, "} %lld\n", (long long)sqlite3_column_int64(st, 2));
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int
prom_failovers(fx_ledger *l, fxu_buf *b)
{
    put_head(b, "flexiai_failovers_total", "counter",
             "Answers that did not come from the first provider tried.");
    sqlite3_stmt *st = fx_ledger_prepare(
        l, "SELECT first_provider, provider, count(*) FROM requests"
           " WHERE exit_code = 0 AND first_provider IS NOT NULL"
           " AND provider IS NOT NULL AND first_provider <> provider"
           " GROUP BY 1, 2 ORDER BY 1, 2");
    if (st == NULL)
        return -1;
    int rc;
    while ((rc = fx_ledger_step(l, st)) == SQLITE_ROW) {
        fxu_buf_puts(b, "flexiai_failovers_total{");
        put_label(b, "from", (const char *)sqlite3_column_text(st, 0), 1);
        put_label(b, "to", (const char *)sqlite3_column_text(st, 1), 0);
        fxu_buf_printf(b, "} %lld\n", (long long)sqlite3_column_int64(st, 2));
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Tokens and, where every answer has a price and token counts, cost. */
static int
prom_tokens(fx_ledger *l, fxu_buf *b, fx_ledger_price_fn price, void *ud)
{
    fxu_buf cost;
    fxu_buf_init(&cost);
    put_head(b, "flexiai_tokens_total", "counter",
             "Tokens of answered requests, by provider, model and direction"
             " (input or output).");
    put_head(&cost, "flexiai_cost_total", "counter",
             "Cost of answered requests from the configured prices, where"
             " known.");
    sqlite3_stmt *st = fx_ledger_prepare(
        l, "SELECT provider, ifnull(model, ''), ifnull(sum(prompt_tokens), 0),"
           " ifnull(sum(completion_tokens), 0), sum(prompt_tokens IS NULL)"
           " FROM requests WHERE exit_code = 0 AND provider IS NOT NULL"
           " GROUP BY 1, 2 ORDER BY 1, 2");
    if (st == NULL) {
        fxu_buf_free(&cost);
        return -1;
    }
    int rc;
    while ((rc = fx_ledger_step(l, st)) == SQLITE_ROW) {
        const char *p = (const char *)sqlite3_column_text(st, 0);
        const char *m = (const char *)sqlite3_column_text(st, 1);
        long long in = sqlite3_column_int64(st, 2);
        long long out = sqlite3_column_int64(st, 3);
        for (int dir = 0; dir < 2; dir++) {
            fxu_buf_puts(b, "flexiai_tokens_total{");
            put_label(b, "provider", p, 1);
            put_label(b, "model", m, 0);
            put_label(b, "direction", dir ? "output" : "input", 0);
            fxu_buf_printf(b, "} %lld\n", dir ? out : in);
        }
        double pin, pout;
        if (sqlite3_column_int64(st, 4) == 0 && price &&
            price(ud, p, m, &pin, &pout) == 0) {
            fxu_buf_puts(&cost, "flexiai_cost_total{");
            put_label(&cost, "provider", p, 1);
            put_label(&cost, "model", m, 0);
            fxu_buf_printf(&cost, "} %.9g\n",
                           ((double)in * pin + (double)out * pout) / 1e6);
        }
    }
    sqlite3_finalize(st);
    fxu_buf_puts(b, cost.data);
    fxu_buf_free(&cost);
    return rc == SQLITE_DONE ? 0 : -1;
}

static const double buckets[] = {0.05, 0.1, 0.25, 0.5, 1,  2.5,
                                 5,    10,  30,   60,  120};
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))

static int
prom_latency(fx_ledger *l, fxu_buf *b)
{
    put_head(b, "flexiai_request_latency_seconds", "histogram",
             "Time from the first attempt to the answer or the failure.");
    fxu_buf sql;
    fxu_buf_init(&sql);
    fxu_buf_puts(&sql, "SELECT count(*), total(latency_ms) / 1000.0");
    for (size_t i = 0; i < NBUCKETS; i++)
        fxu_buf_printf(&sql, ", sum(latency_ms <= %g)", buckets[i] * 1000);
    fxu_buf_puts(&sql, " FROM requests");
    sqlite3_stmt *st = fx_ledger_prepare(l, sql.data);
    fxu_buf_free(&sql);
    if (st == NULL)
        return -1;
    int rc = fx_ledger_step(l, st);
    if (rc == SQLITE_ROW) {
        long long count = sqlite3_column_int64(st, 0);
        for (size_t i = 0; i < NBUCKETS; i++)
            fxu_buf_printf(b,
                           "flexiai_request_latency_seconds_bucket{le=\"%g\"}"
                           " %lld\n",
                           buckets[i], sqlite3_column_int64(st, 2 + (int)i));
        fxu_buf_printf(b,
                       "flexiai_request_latency_seconds_bucket{le=\"+Inf\"}"
                       " %lld\n",
                       count);
        fxu_buf_printf(b, "flexiai_request_latency_seconds_sum %.9g\n",
                       sqlite3_column_double(st, 1));
        fxu_buf_printf(b, "flexiai_request_latency_seconds_count %lld\n",
                       count);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : -1;
}

int
fx_ledger_prometheus(fx_ledger *l, fx_ledger_price_fn price, void *ud,
                     char **out)
{
    *out = NULL;
    fxu_buf b;
    fxu_buf_init(&b);
    if (fx_ledger_exec(l, "BEGIN") < 0)
        return -1;
    int rc = prom_requests(l, &b);
    if (rc == 0)
        rc = prom_failovers(l, &b);
    if (rc == 0)
        rc = prom_tokens(l, &b, price, ud);
    if (rc == 0)
        rc = prom_latency(l, &b);
    sqlite3_exec(fx_ledger_db(l), "COMMIT", NULL, NULL, NULL);
    if (rc < 0) {
        fxu_buf_free(&b);
        return -1;
    }
    *out = fxu_buf_steal(&b);
    return 0;
}
