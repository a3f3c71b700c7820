/*
 * tool-budget.c - the response cache's flags, and budgets as a command
 * keeps them: [budget] daily and monthly (UTC days and months) and
 * --budget for the run.  The spend so far is the ledger's for the day and
 * the month when the run starts, plus what this run was billed; with the
 * Redis store, the shared counters every host adds to, when they say
 * more.  Before each request the least that is left goes to the library
 * (request.budget), which refuses an attempt whose estimate is over it.
 */
#include "config.h"

#include "flexiai-ledger.h"
#include "tool.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CACHE_TTL_BAD "--cache-ttl must be a positive number of seconds"

const struct tool_option tool_opts_cache[] = {
    {TOOL_OPT_CACHE, 0, "cache", NULL,
     "answer from the response cache when it holds this\n"
     "request, and keep new answers there ([cache] mode = on)",
     0, 0, NULL, NULL, NULL},
    {TOOL_OPT_NO_CACHE, 0, "no-cache", NULL,
     "neither read nor write the response cache", 0, 0, NULL, NULL, NULL},
    {TOOL_OPT_CACHE_TTL, 0, "cache-ttl", "SECONDS",
     "use cached answers at most this old ([cache] ttl)", 0, 0, "cache", "ttl",
     CACHE_TTL_BAD},
    {TOOL_OPT_BUDGET, 0, "budget", "AMOUNT",
     "spend at most AMOUNT (price units) in this run;\n"
     "[budget] daily and monthly hold too",
     0, 0, NULL, NULL, NULL},
    {TOOL_OPT_END, 0, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL},
};

/* The sum of "cost" over the usage rows of [since, until). */
static double
ledger_spent(flexiai_ledger *l, const flexiai_config *cfg, double since,
             double until)
{
    char *json = NULL;
    if (flexiai_ledger_usage(l, cfg, 0, since, until, &json) != FLEXIAI_OK)
        return 0;
    double sum = 0;
    cJSON *arr = cJSON_Parse(json);
    const cJSON *row;
    cJSON_ArrayForEach(row, arr)
    {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(row, "cost");
        if (cJSON_IsNumber(c))
            sum += c->valuedouble;
    }
    cJSON_Delete(arr);
    free(json);
    return sum;
}

void
tool_budget_init(struct tool_budget *b, const flexiai_config *cfg,
                 flexiai_client *client, const struct tool_args *a)
{
    memset(b, 0, sizeof(*b));
    b->daily = b->monthly = b->run = -1;
    b->client = client;
    if (!flexiai_config_budget(cfg, "daily", &b->daily))
        b->daily = -1;
    if (!flexiai_config_budget(cfg, "monthly", &b->monthly))
        b->monthly = -1;
    if (a->budget)
        fxu_parse_double(a->budget, &b->run);
    b->any = b->daily >= 0 || b->monthly >= 0 || b->run >= 0;
    /* every billed request counts in the shared spend, budget or not:
     * another host's budget sees it */
    b->shared = client && flexiai_config_backend(cfg) == FLEXIAI_BACKEND_REDIS;
    if (!b->any || (b->daily < 0 && b->monthly < 0))
        return;
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    tm.tm_sec = tm.tm_min = tm.tm_hour = 0;
    double day = (double)timegm(&tm);
    tm.tm_mday = 1;
    double month = (double)timegm(&tm);
    flexiai_ledger *l = NULL;
    char *err = NULL;
    if (flexiai_ledger_exists(cfg) &&
        flexiai_ledger_open(cfg, 0, &l, &err) == FLEXIAI_OK) {
        b->day_ledger = ledger_spent(l, cfg, day, 0);
        b->month_ledger = ledger_spent(l, cfg, month, 0);
        flexiai_ledger_close(l);
    } else if (err) {
        tool_warn("budget: the spend so far is unknown: %s", err);
    }
    free(err);
}

void
tool_budget_free(struct tool_budget *b)
{
    free(b->line);
    b->line = NULL;
}

/* The tightest budget: what is left of it, its name, amount and spend. */
struct tight {
    double left, amount, spent;
    const char *name;
};

static void
consider(struct tight *t, const char *name, double amount, double spent)
{
    if (amount < 0)
        return;
    double left = amount - spent;
    if (t->name == NULL || left < t->left) {
        t->left = left;
        t->name = name;
        t->amount = amount;
        t->spent = spent;
    }
}

static void
tightest(struct tool_budget *b, struct tight *t)
{
    double day = b->day_ledger + b->run_spent;
    double month = b->month_ledger + b->run_spent;
    if (b->shared && (b->daily >= 0 || b->monthly >= 0)) {
        double rd = 0, rm = 0;
        if (flexiai_budget_shared_spent(b->client, &rd, &rm) == FLEXIAI_OK) {
            if (rd > day)
                day = rd;
            if (rm > month)
                month = rm;
        } else {
            static int warned;
            if (!warned++)
                tool_warn("budget: shared spend unknown (%s); counting "
                          "this host's ledger only",
                          flexiai_client_error(b->client));
        }
    }
    memset(t, 0, sizeof(*t));
    consider(t, "daily", b->daily, day);
    consider(t, "monthly", b->monthly, month);
    consider(t, "run", b->run, b->run_spent);
}

static void
reached(struct tool_budget *b, const struct tight *t)
{
    free(b->line);
    b->line = fxu_asprintf("%s budget %.2f reached: %.2f spent", t->name,
                           t->amount, t->spent);
}

int
tool_budget_check(struct tool_budget *b, flexiai_request *req)
{
    if (!b->any)
        return 1;
    struct tight t;
    tightest(b, &t);
    if (t.left <= 0) {
        reached(b, &t);
        return 0;
    }
    req->has_budget = 1;
    req->budget = t.left;
    return 1;
}

int
tool_budget_after(struct tool_budget *b, const flexiai_result *res)
{
    if (res->has_cost && res->cost > 0) {
        b->run_spent += res->cost;
        if (b->shared &&
            flexiai_budget_shared_add(b->client, res->cost) != FLEXIAI_OK) {
            static int warned;
            if (!warned++)
                tool_warn("budget: shared spend not counted: %s",
                          flexiai_client_error(b->client));
        }
    }
    for (size_t i = 0; i < res->nattempts; i++)
        if (res->attempts[i].errclass == FLEXIAI_E_BUDGET) {
            struct tight t;
            tightest(b, &t);
            reached(b, &t);
            if (res->attempts[i].message) {
                /* "estimate 0.0160 over the budget left 0.0100" */
                char *more =
                    fxu_asprintf("%s (%s)", b->line, res->attempts[i].message);
                free(b->line);
                b->line = more;
            }
            return 1;
        }
    return 0;
}

void
tool_budget_report(const flexiai_config *cfg)
{
    struct tool_args none;
    tool_args_init(&none);
    struct tool_budget b;
    tool_budget_init(&b, cfg, NULL, &none);
    fxu_buf out;
    fxu_buf_init(&out);
    const char *names[] = {"daily", "monthly"};
    double amount[] = {b.daily, b.monthly};
    double spent[] = {b.day_ledger, b.month_ledger};
    const char *span[] = {"today", "this month"};
    for (int i = 0; i < 2; i++)
        if (amount[i] >= 0)
            fxu_buf_printf(&out,
                           "%s budget %.2f: %.6f spent %s (UTC), %.6f left\n",
                           names[i], amount[i], spent[i], span[i],
                           amount[i] > spent[i] ? amount[i] - spent[i] : 0.0);
    if (out.len)
        tool_out(out.data, out.len);
    fxu_buf_free(&out);
    tool_budget_free(&b);
    tool_args_free(&none);
}
