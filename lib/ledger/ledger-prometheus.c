/*
 * ledger-prometheus.c - the ledger's counters in the Prometheus text
 * exposition format (0.0.4), for `flexiai usage --prometheus`: requests by
 * provider and outcome, failovers by from and to, tokens by provider,
 * model and direction, cost where a price is known, and a latency
 * histogram.  The counters are totals over the records kept, so a prune
 * lowers them, as a counter reset.
 */
#include "config.h"

#include "ledger-int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { K_REQUESTS = 1, K_FAILOVERS, K_TOKENS, K_LATENCY };

static const double buckets[FX_TALLY_BUCKETS - 1] = {
    0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120};

struct run {
    struct fx_tally *t;
    int none, success, unknown;
};

static void
add_tokens(struct fx_tally_acc *a, const struct fx_ledger_row *r)
{
    a->prompt_tokens += r->prompt_tokens;
    a->completion_tokens += r->completion_tokens;
    a->cached_tokens += r->cached_tokens;
    a->cache_write_tokens += r->cache_write_tokens;
    a->reasoning_tokens += r->reasoning_tokens;
}

static void
prom_row(void *ud, const struct fx_ledger_row *r)
{
    struct run *run = ud;
    if (r->attempt) { /* tokens billed by an attempt, no request */
        int answer = !r->failed && r->exit_code == 0;
        if ((r->usage_split & 2) && (r->has_usage || answer)) {
            int64_t tkey[FX_TALLY_KEY] = {K_TOKENS, r->provider, r->model};
            struct fx_tally_acc *a = fx_tally_get(run->t, tkey);
            add_tokens(a, r);
            a->no_usage += !r->has_usage;
        }
        return;
    }
    int answered = r->exit_code == 0;
    int64_t key[FX_TALLY_KEY] = {K_REQUESTS};
    key[1] = r->provider ? r->provider : run->none;
    key[2] = answered         ? run->success
             : r->error_class ? r->error_class
                              : run->unknown;
    fx_tally_get(run->t, key)->requests++;
    if (answered && r->first && r->provider && r->first != r->provider) {
        int64_t fkey[FX_TALLY_KEY] = {K_FAILOVERS, r->first, r->provider};
        fx_tally_get(run->t, fkey)->requests++;
    }
    if (answered && r->provider && !(r->usage_split & 2)) {
        int64_t tkey[FX_TALLY_KEY] = {K_TOKENS, r->provider, r->model};
        struct fx_tally_acc *a = fx_tally_get(run->t, tkey);
        add_tokens(a, r);
        a->no_usage += !r->has_usage;
    }
    int64_t lkey[FX_TALLY_KEY] = {K_LATENCY};
    struct fx_tally_acc *h = fx_tally_get(run->t, lkey);
    double seconds = r->latency_ms / 1000.0;
    h->requests++;
    h->latency_sum += seconds;
    for (int i = 0; i < FX_TALLY_BUCKETS - 1; i++)
        if (seconds <= buckets[i])
            h->buckets[i]++;
}

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

/* Counters of one kind in the order of their label values. */
static int
cmp_entries(const void *pa, const void *pb, void *ud)
{
    struct fx_tally *t = ud;
    const int64_t *a = fx_tally_key(t, *(const size_t *)pa);
    const int64_t *b = fx_tally_key(t, *(const size_t *)pb);
    for (int i = 1; i < 3; i++) {
        const char *x = fx_tally_name(t, (int)a[i]);
        const char *y = fx_tally_name(t, (int)b[i]);
        int c = strcmp(x ? x : "", y ? y : "");
        if (c)
            return c;
    }
    return 0;
}

static size_t
entries(struct fx_tally *t, int kind, size_t **out)
{
    size_t n = 0, total = fx_tally_count(t);
    *out = fxu_xcalloc(total + 1, sizeof(**out));
    for (size_t i = 0; i < total; i++)
        if (fx_tally_key(t, i)[0] == kind)
            (*out)[n++] = i;
    qsort_r(*out, n, sizeof(**out), cmp_entries, t);
    return n;
}

static void
put_pairs(fxu_buf *b, struct fx_tally *t, int kind, const char *metric,
          const char *l1, const char *l2)
{
    size_t *e;
    size_t n = entries(t, kind, &e);
    for (size_t i = 0; i < n; i++) {
        const int64_t *key = fx_tally_key(t, e[i]);
        fxu_buf_printf(b, "%s{", metric);
        put_label(b, l1, fx_tally_name(t, (int)key[1]), 1);
        put_label(b, l2, fx_tally_name(t, (int)key[2]), 0);
        fxu_buf_printf(b, "} %ld\n", fx_tally_at(t, e[i])->requests);
    }
    free(e);
}

/* The parts of the input and output tokens, one metric each (a direction
 * of flexiai_tokens_total would count them twice in a sum). */
static const struct {
    const char *metric, *help;
} parts[3] = {
    {"flexiai_cached_tokens_total",
     "Input tokens read from a prompt cache (part of the input tokens)."},
    {"flexiai_cache_write_tokens_total",
     "Input tokens written to a prompt cache (part of the input tokens)."},
    {"flexiai_reasoning_tokens_total",
     "Output tokens spent on reasoning (part of the output tokens)."},
};

static int64_t
part_of(const struct fx_tally_acc *a, int i)
{
    return i == 0   ? a->cached_tokens
           : i == 1 ? a->cache_write_tokens
                    : a->reasoning_tokens;
}

static void
put_parts(fxu_buf *b, struct fx_tally *t, const size_t *e, size_t n)
{
    for (int k = 0; k < 3; k++) {
        put_head(b, parts[k].metric, "counter", parts[k].help);
        for (size_t i = 0; i < n; i++) {
            const int64_t *key = fx_tally_key(t, e[i]);
            fxu_buf_printf(b, "%s{", parts[k].metric);
            put_label(b, "provider", fx_tally_name(t, (int)key[1]), 1);
            put_label(b, "model", fx_tally_name(t, (int)key[2]), 0);
            fxu_buf_printf(b, "} %lld\n",
                           (long long)part_of(fx_tally_at(t, e[i]), k));
        }
    }
}

static void
put_tokens(fxu_buf *b, struct fx_tally *t, fx_ledger_price_fn price, void *ud)
{
    fxu_buf cost;
    fxu_buf_init(&cost);
    put_head(&cost, "flexiai_cost_total", "counter",
             "Cost of the tokens billed, from the configured prices, where"
             " known.");
    size_t *e;
    size_t n = entries(t, K_TOKENS, &e);
    for (size_t i = 0; i < n; i++) {
        const int64_t *key = fx_tally_key(t, e[i]);
        const struct fx_tally_acc *a = fx_tally_at(t, e[i]);
        const char *p = fx_tally_name(t, (int)key[1]);
        const char *m = fx_tally_name(t, (int)key[2]);
        for (int dir = 0; dir < 2; dir++) {
            fxu_buf_puts(b, "flexiai_tokens_total{");
            put_label(b, "provider", p, 1);
            put_label(b, "model", m, 0);
            put_label(b, "direction", dir ? "output" : "input", 0);
            fxu_buf_printf(
                b, "} %lld\n",
                (long long)(dir ? a->completion_tokens : a->prompt_tokens));
        }
        struct fx_prices pr;
        struct fx_usage u = {(long)a->prompt_tokens, (long)a->completion_tokens,
                             (long)a->cached_tokens,
                             (long)a->cache_write_tokens,
                             (long)a->reasoning_tokens};
        if (a->no_usage == 0 && price && price(ud, p, m ? m : "", &pr) == 0) {
            fxu_buf_puts(&cost, "flexiai_cost_total{");
            put_label(&cost, "provider", p, 1);
            put_label(&cost, "model", m, 0);
            fxu_buf_printf(&cost, "} %.9g\n", fx_cost(&pr, &u));
        }
    }
    put_parts(b, t, e, n);
    free(e);
    fxu_buf_puts(b, cost.data);
    fxu_buf_free(&cost);
}

static void
put_latency(fxu_buf *b, struct fx_tally *t)
{
    int64_t key[FX_TALLY_KEY] = {K_LATENCY};
    const struct fx_tally_acc *h = fx_tally_get(t, key);
    const char *m = "flexiai_request_latency_seconds";
    for (int i = 0; i < FX_TALLY_BUCKETS - 1; i++)
        fxu_buf_printf(b, "%s_bucket{le=\"%g\"} %ld\n", m, buckets[i],
                       h->buckets[i]);
    fxu_buf_printf(b, "%s_bucket{le=\"+Inf\"} %ld\n", m, h->requests);
    fxu_buf_printf(b, "%s_sum %.9g\n", m, h->latency_sum);
    fxu_buf_printf(b, "%s_count %ld\n", m, h->requests);
}

int
fx_ledger_prometheus(fx_ledger *l, fx_ledger_price_fn price, void *ud,
                     char **out)
{
    *out = NULL;
    struct run run = {fx_tally_new(), 0, 0, 0};
    run.none = fx_tally_intern(run.t, "none");
    run.success = fx_tally_intern(run.t, "success");
    run.unknown = fx_tally_intern(run.t, "unknown");
    if (fx_ledger_scan(l, run.t, 0, 0, prom_row, &run) < 0) {
        fx_tally_free(run.t);
        return -1;
    }
    fxu_buf b;
    fxu_buf_init(&b);
    put_head(&b, "flexiai_requests_total", "counter",
             "Requests logged, by the provider that answered (none when none"
             " did) and outcome (success or the failure's error class).");
    put_pairs(&b, run.t, K_REQUESTS, "flexiai_requests_total", "provider",
              "outcome");
    put_head(&b, "flexiai_failovers_total", "counter",
             "Answers that did not come from the first provider tried.");
    put_pairs(&b, run.t, K_FAILOVERS, "flexiai_failovers_total", "from", "to");
    put_head(&b, "flexiai_tokens_total", "counter",
             "Tokens billed, by provider, model and direction (input or"
             " output), answers and the attempts whose answer was not used.");
    put_tokens(&b, run.t, price, ud);
    put_head(&b, "flexiai_request_latency_seconds", "histogram",
             "Time from the first attempt to the answer or the failure.");
    put_latency(&b, run.t);
    fx_tally_free(run.t);
    *out = fxu_buf_steal(&b);
    return 0;
}
