/* test-ledger-usage.c - what the ledger adds up to: usage totals grouped
 * by day, provider, model and tag, cost known and unknown, the JSON array,
 * and the Prometheus text format, which `promtool check metrics` (Debian
 * package prometheus) must accept: the test fails without promtool. */
#include "config.h"

#include "ledger-fixture.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* p1 costs 1 (input) and 2 (output) per million tokens, p0 3 and 4; any
 * other provider (ollama) has no price. */
static int
price(void *ud, const char *provider, const char *model, struct fx_prices *p)
{
    int *calls = ud;
    (*calls)++;
    if (strcmp(provider, "p1") == 0 && strcmp(model, "m-1") == 0) {
        *p = (struct fx_prices){1, 2, 1, 1};
        return 0;
    }
    if (strcmp(provider, "p0") == 0) {
        *p = (struct fx_prices){3, 4, 3, 3};
        return 0;
    }
    return -1;
}

static int price_calls;

static fx_ledger *
fill(void)
{
    fx_ledger *l = open_at("usage.db", FX_LEDGER_WRITE);
    /* day 1 */
    log_one(l, 0, T0, "a", NULL, "q1", "a1", "p1", 0, 0, 1000, 2000);
    log_one(l, 0, T0 + 1, "a", NULL, "q2", "a2", "p0,p1", 0, FLEXIAI_E_SERVER,
            100, 200);
    log_one(l, 0, T0 + 2, "b", NULL, "q3", NULL, "p0", 75, FLEXIAI_E_TIMEOUT, 0,
            0);
    log_one(l, 0, T0 + 3, "b", NULL, "q4", "a4", "ollama", 0, 0, 10, 20);
    /* day 2 */
    log_one(l, 0, T0 + DAY, NULL, NULL, "q5", "a5", "p1", 0, 0, -1, -1);
    log_one(l, 0, T0 + DAY + 1, NULL, NULL, "q6", NULL, "p0,p1", 75,
            FLEXIAI_E_RATE_LIMIT, 0, 0);
    log_one(l, 0, T0 + DAY + 2, "a", NULL, "q7", "a7", "p0", 0, 0, 1000000,
            1000000);
    return l;
}

static struct fx_ledger_usage *rows;
static size_t nrows;

static void
usage(fx_ledger *l, unsigned by, double since)
{
    fx_ledger_usage_free(rows, nrows);
    struct fx_ledger_usage_query q = {by, since, 0, 0, price, &price_calls};
    if (fx_ledger_usage(l, &q, &rows, &nrows) < 0)
        printf("# usage: %s\n", fx_ledger_error(l));
}

/* "key requests/answers/failovers/failures in/out cost" per row, ';'. */
static char summary[1024];

static const char *
summarise(void)
{
    fxu_buf b;
    fxu_buf_init(&b);
    for (size_t i = 0; i < nrows; i++) {
        const struct fx_ledger_usage *u = &rows[i];
        fxu_buf_printf(
            &b, "%s%s%s%s%s%s%s%s %ld/%ld/%ld/%ld %ld/%ld ", i ? "; " : "",
            u->day ? u->day : "", u->day && u->provider ? " " : "",
            u->provider ? u->provider : "", u->model ? " " : "",
            u->model ? u->model : "", u->tag ? " " : "", u->tag ? u->tag : "",
            u->requests, u->answers, u->failovers, u->failures,
            u->prompt_tokens, u->completion_tokens);
        if (u->cost_known)
            fxu_buf_printf(&b, "%.4f", u->cost);
        else
            fxu_buf_puts(&b, "?");
    }
    snprintf(summary, sizeof(summary), "%s", b.data ? b.data : "");
    fxu_buf_free(&b);
    return summary;
}

static void
test_usage(fx_ledger *l)
{
    is_int(fx_ledger_by_from_name("model"), FX_LEDGER_BY_MODEL, "--by model");
    is_int(fx_ledger_by_from_name("week"), 0, "--by week: unknown");
    usage(l, 0, 0);
    is_str(summarise(), " 7/5/1/2 1001110/1002220 ?",
           "total: cost unknown (ollama has no price)");
    usage(l, FX_LEDGER_BY_PROVIDER, 0);
    is_str(summarise(),
           " 2/0/0/2 0/0 0.0000; ollama 1/1/0/0 10/20 ?; "
           "p0 1/1/0/0 1000000/1000000 7.0000; p1 3/3/1/0 1100/2200 ?",
           "--by provider: failures have none; p1 lacks token counts once");
    ok(nrows == 4 && rows[0].nclasses == 2 &&
           strcmp(rows[0].failures_by_class[0].name, "rate_limit") == 0 &&
           rows[0].failures_by_class[1].n == 1,
       "failures by class: rate_limit 1, timeout 1");
    usage(l, FX_LEDGER_BY_DAY | FX_LEDGER_BY_PROVIDER, 0);
    is_str(summarise(),
           "2026-09-21 1/0/0/1 0/0 0.0000; 2026-09-21 ollama 1/1/0/0 10/20 ?; "
           "2026-09-21 p0 0/0/0/0 0/0 0.0000; "
           "2026-09-21 p1 2/2/1/0 1100/2200 0.0055; "
           "2026-09-22 1/0/0/1 0/0 0.0000; "
           "2026-09-22 p0 1/1/0/0 1000000/1000000 7.0000; "
           "2026-09-22 p1 1/1/0/0 0/0 ?",
           "--by day,provider: cost per day known where priced; p0 failed "
           "calls on day 1: a row without requests");
    usage(l, FX_LEDGER_BY_TAG | FX_LEDGER_BY_MODEL, 0);
    is_str(summarise(),
           " 1/0/0/1 0/0 0.0000;  b 1/0/0/1 0/0 0.0000;  m-1 1/1/0/0 0/0 ?; "
           " m-1 a 3/3/1/0 1001100/1002200 7.0055;  m-1 b 1/1/0/0 10/20 ?",
           "--by model,tag: a failure has no model");
    usage(l, FX_LEDGER_BY_DAY, T0 + DAY);
    is_str(summarise(), "2026-09-22 3/2/0/1 1000000/1000000 ?",
           "--since: day 2 only");
    struct fx_ledger_usage_query q = {FX_LEDGER_BY_DAY, 0,     0,
                                      -15 * 3600,       price, &price_calls};
    fx_ledger_usage_free(rows, nrows);
    fx_ledger_usage(l, &q, &rows, &nrows);
    ok(nrows == 2 && strcmp(rows[0].day, "2026-09-20") == 0,
       "days in local time: UTC-15 puts day 1 on the 20th");

    usage(l, FX_LEDGER_BY_DAY | FX_LEDGER_BY_PROVIDER, 0);
    char *json = fx_ledger_usage_json(rows, nrows,
                                      FX_LEDGER_BY_DAY | FX_LEDGER_BY_PROVIDER);
    cJSON *arr = cJSON_Parse(json);
    ok(cJSON_IsArray(arr) && cJSON_GetArraySize(arr) == 7, "JSON: an array");
    cJSON *r2 = cJSON_GetArrayItem(arr, 3);
    ok(cJSON_HasObjectItem(r2, "day") && cJSON_HasObjectItem(r2, "provider") &&
           !cJSON_HasObjectItem(r2, "model") && !cJSON_HasObjectItem(r2, "tag"),
       "JSON: the grouping keys asked for, and only those");
    const char *fields[] = {"requests", "answers",          "failovers",
                            "failures", "prompt_tokens",    "completion_tokens",
                            "cost",     "failures_by_class"};
    int have = 0;
    for (size_t i = 0; i < 8; i++)
        have += cJSON_HasObjectItem(r2, fields[i]);
    is_int(have, 8, "JSON: every count field");
    ok(cJSON_GetObjectItem(r2, "cost")->valuedouble == 0.0055,
       "JSON: known cost a number");
    ok(cJSON_IsNull(cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 1), "cost")),
       "JSON: unknown cost null, not 0");
    ok(cJSON_IsNull(
           cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 0), "provider")),
       "JSON: no provider is null");
    ok(cJSON_GetObjectItem(
           cJSON_GetObjectItem(cJSON_GetArrayItem(arr, 0), "failures_by_class"),
           "timeout")
               ->valueint == 1,
       "JSON: failures_by_class");
    cJSON_Delete(arr);
    free(json);
    fx_ledger_usage_free(rows, nrows);
    rows = NULL;
    nrows = 0;
}

/* Run promtool check metrics on `text`; its exit status. */
static int
promtool(const char *text)
{
    const char *tool = getenv("PROMTOOL");
    if (tool == NULL || *tool == '\0' || strcmp(tool, "no") == 0)
        tool = "promtool";
    char *file = fxu_asprintf("%s/metrics.txt", root);
    FILE *f = fopen(file, "w");
    fputs(text, f);
    fclose(f);
    char *cmd = fxu_asprintf("%s check metrics < '%s' 2>&1", tool, file);
    fflush(stdout);
    FILE *p = popen(cmd, "r");
    char line[512];
    while (p && fgets(line, sizeof(line), p))
        printf("# promtool: %s", line);
    int status = p ? pclose(p) : -1;
    free(cmd);
    free(file);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void
test_prometheus(fx_ledger *l)
{
    char *empty_path = fxu_asprintf("%s/empty.db", root);
    fx_ledger *e = fx_ledger_open(empty_path, FX_LEDGER_WRITE, NULL);
    char *text = NULL;
    is_int(fx_ledger_prometheus(e, price, &price_calls, &text), 0,
           "metrics of an empty ledger");
    int rc = promtool(text);
    if (rc == 127)
        printf("# promtool not found: apt-get install prometheus\n");
    is_int(rc, 0, "promtool check metrics accepts them");
    free(text);
    fx_ledger_close(e);
    free(empty_path);

    log_one(l, 0, T0 + 5, NULL, NULL, "q", "a", "p0,we\"ird\\x", 0, 0, 1, 1);
    is_int(fx_ledger_prometheus(l, price, &price_calls, &text), 0, "metrics");
    const char *want[] = {
        "# TYPE flexiai_requests_total counter\n",
        "\nflexiai_requests_total{provider=\"p1\",outcome=\"success\"} 3\n",
        "\nflexiai_requests_total{provider=\"none\",outcome=\"timeout\"} 1\n",
        "\nflexiai_requests_total{provider=\"none\",outcome=\"rate_limit\"} "
        "1\n",
        "\nflexiai_failovers_total{from=\"p0\",to=\"p1\"} 1\n",
        "\nflexiai_failovers_total{from=\"p0\",to=\"we\\\"ird\\\\x\"} 1\n",
        "\nflexiai_tokens_total{provider=\"p1\",model=\"m-1\","
        "direction=\"input\"} 1100\n",
        "\nflexiai_tokens_total{provider=\"p0\",model=\"m-1\","
        "direction=\"output\"} 1000000\n",
        "\nflexiai_cost_total{provider=\"p0\",model=\"m-1\"} 7\n",
        "# TYPE flexiai_request_latency_seconds histogram\n",
        "\nflexiai_request_latency_seconds_bucket{le=\"0.5\"} 0\n",
        "\nflexiai_request_latency_seconds_bucket{le=\"1\"} 6\n",
        "\nflexiai_request_latency_seconds_bucket{le=\"30\"} 6\n",
        "\nflexiai_request_latency_seconds_bucket{le=\"60\"} 8\n",
        "\nflexiai_request_latency_seconds_bucket{le=\"+Inf\"} 8\n",
        "\nflexiai_request_latency_seconds_count 8\n",
        "\nflexiai_request_latency_seconds_sum 124.9815\n",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        ok(strstr(text, want[i]) != NULL, "has %.*s",
           (int)strcspn(want[i] + 1, "\n"), want[i] + (want[i][0] == '\n'));
    ok(strstr(text, "flexiai_cost_total{provider=\"ollama\"") == NULL &&
           strstr(text, "flexiai_cost_total{provider=\"p1\"") == NULL,
       "no cost where a price or a token count is missing");
    is_int(promtool(text), 0, "promtool check metrics accepts them");
    free(text);
}

int
main(void)
{
    if (mkdtemp(root) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    fx_ledger *l = fill();
    test_usage(l);
    test_prometheus(l);
    fx_ledger_close(l);
    char *cmd = fxu_asprintf("rm -rf '%s'", root);
    ok(system(cmd) == 0, "temporary directory removed");
    free(cmd);
    return tap_done();
}
