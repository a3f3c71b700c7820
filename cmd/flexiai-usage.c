/*
 * flexiai-usage - what the request ledger adds up to: requests, answers,
 * failovers, failures, tokens and cost, grouped by day, provider, model
 * and tag, as a table, a JSON array, or Prometheus counters.
 */
#include "config.h"

#include "flexiai-ledger.h"
#include "tool.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { OPT_BY = TOOL_OPT_CMD, OPT_SINCE, OPT_UNTIL, OPT_JSON, OPT_PROMETHEUS };

struct usage_ctx {
    unsigned by;
    const char *keys[4]; /* grouping keys in the order given */
    int nkeys;
    double since, until;
    int json, prometheus;
};

static void
add_by(struct usage_ctx *x, const char *list)
{
    char *copy = fxu_strdup(list), *save = NULL;
    for (char *w = strtok_r(copy, ", ", &save); w;
         w = strtok_r(NULL, ", ", &save)) {
        flexiai_ledger_by bit;
        if (flexiai_ledger_by_from_name(w, &bit) != FLEXIAI_OK)
            tool_usage_error("--by takes day, provider, model or tag, not '%s'",
                             w);
        if (x->by & (unsigned)bit)
            continue;
        x->by |= (unsigned)bit;
        static const char *const names[] = {"day", "provider", "model", "tag"};
        for (int i = 0; i < 4; i++)
            if (strcmp(w, names[i]) == 0)
                x->keys[x->nkeys++] = names[i];
    }
    free(copy);
}

static void
on_option(void *ud, int id, const char *arg)
{
    struct usage_ctx *x = ud;
    switch (id) {
    case OPT_BY:
        add_by(x, arg);
        break;
    case OPT_SINCE:
        x->since = tool_when("--since", arg);
        break;
    case OPT_UNTIL:
        x->until = tool_when("--until", arg);
        break;
    case OPT_JSON:
        x->json = 1;
        break;
    case OPT_PROMETHEUS:
        x->prometheus = 1;
        break;
    }
}

static const char *
str_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : "-";
}

static double
num_of(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

/* The rows as an aligned table: the grouping keys, then the counts. */
static void
print_table(const struct usage_ctx *x, const cJSON *rows)
{
    static const char *const cols[] = {"requests",         "answers",
                                       "failovers",        "failures",
                                       "prompt_tokens",    "completion_tokens",
                                       "cached_tokens",    "cache_write_tokens",
                                       "reasoning_tokens", "calls",
                                       "failed_calls",     "deferred"};
    static const char *const heads[] = {
        "REQUESTS",  "ANSWERS",    "FAILOVERS",    "FAILURES",
        "TOKENS_IN", "TOKENS_OUT", "CACHED",       "CACHE_WRITE",
        "REASONING", "CALLS",      "CALLS_FAILED", "DEFERRED"};
    enum { ALLCOLS = sizeof(cols) / sizeof(cols[0]) };
    /* DEFERRED and DEFERRED_COST only when batch jobs answered (batch
     * --deferred): the table stays as it was for everyone else */
    int deferred = 0;
    const cJSON *d;
    cJSON_ArrayForEach(d, rows) deferred |= num_of(d, "deferred") > 0;
    const int NCOLS = deferred ? ALLCOLS : ALLCOLS - 1;
    /* each column as wide as its heading or its widest number */
    int cw[ALLCOLS];
    for (int c = 0; c < NCOLS; c++) {
        cw[c] = (int)strlen(heads[c]);
        const cJSON *r;
        cJSON_ArrayForEach(r, rows)
        {
            char num[64];
            int w = snprintf(num, sizeof(num), "%.0f", num_of(r, cols[c]));
            if (w > cw[c])
                cw[c] = w;
        }
    }
    size_t width[4] = {0, 0, 0, 0};
    for (int k = 0; k < x->nkeys; k++) {
        width[k] = strlen(x->keys[k]);
        const cJSON *r;
        cJSON_ArrayForEach(r, rows)
        {
            size_t w = strlen(str_of(r, x->keys[k]));
            if (w > width[k])
                width[k] = w;
        }
    }
    fxu_buf b;
    fxu_buf_init(&b);
    for (int k = 0; k < x->nkeys; k++) {
        char up[16];
        size_t i = 0;
        for (; x->keys[k][i] && i + 1 < sizeof(up); i++)
            up[i] = (char)(x->keys[k][i] - 'a' + 'A');
        up[i] = '\0';
        fxu_buf_printf(&b, "%-*s  ", (int)width[k], up);
    }
    for (int c = 0; c < NCOLS; c++)
        fxu_buf_printf(&b, "%*s  ", cw[c], heads[c]);
    fxu_buf_printf(&b, "%10s", "COST");
    fxu_buf_puts(&b, deferred ? "  DEFERRED_COST\n" : "\n");
    const cJSON *r;
    cJSON_ArrayForEach(r, rows)
    {
        for (int k = 0; k < x->nkeys; k++) {
            char *v = tool_printable(str_of(r, x->keys[k]));
            fxu_buf_printf(&b, "%-*s  ", (int)width[k], v);
            free(v);
        }
        for (int c = 0; c < NCOLS; c++)
            fxu_buf_printf(&b, "%*.0f  ", cw[c], num_of(r, cols[c]));
        const cJSON *cost = cJSON_GetObjectItemCaseSensitive(r, "cost");
        if (cJSON_IsNumber(cost))
            fxu_buf_printf(&b, "%10.6f", cost->valuedouble);
        else
            fxu_buf_printf(&b, "%10s", "unknown");
        /* the part of it answered by provider batch jobs (--deferred) */
        cost = cJSON_GetObjectItemCaseSensitive(r, "deferred_cost");
        if (!deferred)
            fxu_buf_putc(&b, '\n');
        else if (cJSON_IsNumber(cost))
            fxu_buf_printf(&b, "  %13.6f\n", cost->valuedouble);
        else
            fxu_buf_printf(&b, "  %13s\n", "unknown");
    }
    tool_out(b.data, b.len);
    fxu_buf_free(&b);
}

#define OPT TOOL_OPT

static const struct tool_option usage_opts[] = {
    OPT(OPT_BY, 0, "by", "day|provider|model|tag",
        "group by these (repeatable, or a comma list)", TOOL_COMP_CHOICE),
    OPT(OPT_SINCE, 0, "since", "WHEN",
        "requests from WHEN on (2026-11-01, 2h, 7d)", 0),
    OPT(OPT_UNTIL, 0, "until", "WHEN", "requests before WHEN", 0),
    OPT(OPT_JSON, 0, "json", NULL, "a JSON array, one object per group", 0),
    OPT(OPT_PROMETHEUS, 0, "prometheus", NULL,
        "counters over every record in the Prometheus text format", 0),
    OPT(TOOL_OPT_END, 0, NULL, NULL, NULL, 0)};

static const struct tool_option *const usage_groups[] = {
    usage_opts, tool_opts_global, NULL};

static const struct tool_command usage_cmd = {
    .name = "usage",
    .synopsis = "[--by day|provider|model|tag]... [--since WHEN] [--until "
                "WHEN] [--json | --prometheus]",
    .description =
        "Totals from the request ledger: requests, answers, failovers "
        "(answers not from\nthe first provider tried), failures, tokens "
        "(cached, cache write and reasoning\ntokens are parts of them), "
        "calls to each provider and those that failed, and\ncost from the "
        "configured prices (price_input, price_output, price_cached_input,\n"
        "price_cache_write per million tokens); a cost without a price is "
        "unknown.\nTokens count where they were billed: every attempt, "
        "also those not used.",
    .groups = usage_groups,
    .footer = "Exit codes: 0 ok, 64 usage, 66 the ledger cannot be read.  See "
              "flexiai-usage(1).",
};

int
main(int argc, char **argv)
{
    struct tool_args a;
    struct usage_ctx x;
    memset(&x, 0, sizeof(x));
    tool_args_init(&a);
    tool_cmd_init("flexiai usage");
    int first = tool_parse(&usage_cmd, NULL, argc, argv, 0, &a, on_option, &x);
    if (first < argc)
        tool_usage_error("unexpected argument '%s'", argv[first]);
    if (x.json && x.prometheus)
        tool_usage_error("--json and --prometheus exclude each other");
    if (x.prometheus && (x.by || x.since || x.until))
        tool_usage_error("--prometheus counts every record: no --by, --since "
                         "or --until");
    flexiai_config *cfg = tool_setup_config(&a, 0, NULL);
    char *err = NULL, *path = NULL;
    if (flexiai_ledger_path(cfg, &path, &err) != FLEXIAI_OK)
        tool_die(FLEXIAI_ENOINPUT, "%s", err);
    flexiai_ledger *l = NULL;
    free(path);
    if (flexiai_ledger_exists(cfg) &&
        flexiai_ledger_open(cfg, 0, &l, &err) != FLEXIAI_OK) {
        tool_err("%s", err);
        free(err);
        flexiai_config_free(cfg);
        tool_args_free(&a);
        return FLEXIAI_ENOINPUT;
    }
    if (l)
        tool_ledger_import_over(cfg);
    if (l && flexiai_ledger_warning(l))
        tool_warn("%s", flexiai_ledger_warning(l));
    char *out = NULL;
    int rc = 0;
    if (x.prometheus) {
        if (l && flexiai_ledger_prometheus(l, cfg, &out) != FLEXIAI_OK)
            rc = -1;
        else if (l == NULL)
            out = fxu_strdup("");
        if (rc == 0)
            tool_outs(out);
    } else {
        if (l && flexiai_ledger_usage(l, cfg, x.by, x.since, x.until, &out) !=
                     FLEXIAI_OK)
            rc = -1;
        else if (l == NULL)
            out = fxu_strdup("[]");
        if (rc == 0 && x.json) {
            tool_outs(out);
            tool_outs("\n");
        } else if (rc == 0) {
            cJSON *rows = cJSON_Parse(out);
            print_table(&x, rows);
            cJSON_Delete(rows);
        }
    }
    if (rc != 0) {
        tool_err("cannot read the ledger: %s", flexiai_ledger_error(l));
        rc = FLEXIAI_ENOINPUT;
    }
    tool_out_flush();
    free(out);
    flexiai_ledger_close(l);
    flexiai_config_free(cfg);
    tool_args_free(&a);
    return rc;
}
