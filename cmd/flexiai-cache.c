/*
 * flexiai-cache.c - `flexiai cache stats|clear|prune`: what the response
 * cache holds ([cache] backend: the SQLite file beside the ledger, or
 * Redis), emptying it, and removing entries older than [cache] ttl and,
 * oldest first, those over [cache] max_bytes.
 */
#include "config.h"

#include "tool.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { OPT_JSON = TOOL_OPT_CMD };

struct cache_ctx {
    flexiai_config *cfg;
    flexiai_client *client;
    int json;
};

static void
on_option(void *ud, int id, const char *arg)
{
    (void)arg;
    struct cache_ctx *x = ud;
    if (id == OPT_JSON) {
        x->json = 1;
        tool_json_failures = 1;
    }
}

static int
failed(struct cache_ctx *x, flexiai_code rc)
{
    tool_err("%s", flexiai_client_error(x->client));
    return rc;
}

static int
cmd_stats(void *ud, struct tool_args *a, int argc, char **argv)
{
    (void)a;
    (void)argv;
    struct cache_ctx *x = ud;
    if (argc > 1)
        tool_usage_error("stats takes no arguments");
    flexiai_cache_info st;
    flexiai_code rc = flexiai_cache_stats(x->client, &st);
    if (rc != FLEXIAI_OK)
        return failed(x, rc);
    char when[32] = "-";
    if (st.oldest > 0) {
        time_t t = (time_t)st.oldest;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    if (x->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "where", st.where ? st.where : "");
        cJSON_AddNumberToObject(o, "entries", (double)st.entries);
        cJSON_AddNumberToObject(o, "bytes", (double)st.bytes);
        cJSON_AddNumberToObject(o, "hits", (double)st.hits);
        cJSON_AddNumberToObject(o, "misses", (double)st.misses);
        if (st.oldest > 0)
            cJSON_AddStringToObject(o, "oldest", when);
        else
            cJSON_AddNullToObject(o, "oldest");
        char *s = cJSON_PrintUnformatted(o);
        tool_outs(s);
        tool_outs("\n");
        free(s);
        cJSON_Delete(o);
    } else {
        char *where = tool_printable(st.where ? st.where : "");
        char *out =
            fxu_asprintf("cache:   %s\nentries: %lld\nbytes:   %lld\n"
                         "hits:    %lld\nmisses:  %lld\noldest:  %s\n",
                         where, st.entries, st.bytes, st.hits, st.misses, when);
        tool_outs(out);
        free(out);
        free(where);
    }
    flexiai_cache_info_free(&st);
    return FLEXIAI_OK;
}

static int
report_removed(struct cache_ctx *x, long long n)
{
    if (x->json) {
        char *s = fxu_asprintf("{\"removed\":%lld}\n", n);
        tool_outs(s);
        free(s);
    } else if (!tool_quiet) {
        char *s =
            fxu_asprintf("%lld entr%s removed\n", n, n == 1 ? "y" : "ies");
        tool_outs(s);
        free(s);
    }
    return FLEXIAI_OK;
}

static int
cmd_clear(void *ud, struct tool_args *a, int argc, char **argv)
{
    (void)a;
    (void)argv;
    struct cache_ctx *x = ud;
    if (argc > 1)
        tool_usage_error("clear takes no arguments");
    long long n = 0;
    flexiai_code rc = flexiai_cache_clear(x->client, &n);
    return rc == FLEXIAI_OK ? report_removed(x, n) : failed(x, rc);
}

static int
cmd_prune(void *ud, struct tool_args *a, int argc, char **argv)
{
    (void)a;
    (void)argv;
    struct cache_ctx *x = ud;
    if (argc > 1)
        tool_usage_error("prune takes no arguments");
    long long n = 0;
    flexiai_code rc = flexiai_cache_prune(x->client, &n);
    return rc == FLEXIAI_OK ? report_removed(x, n) : failed(x, rc);
}

static const struct tool_option json_opts[] = {
    TOOL_OPT(OPT_JSON, 0, "json", NULL, "one JSON object", 0),
    TOOL_OPT(TOOL_OPT_END, 0, NULL, NULL, NULL, 0)};

static const struct tool_subcommand cache_subs[] = {
    {"stats", "[--json]",
     "where the cache is, its entries and bytes, hits and\n"
     "misses counted, the oldest entry",
     json_opts, cmd_stats, TOOL_COMP_NONE},
    {"clear", "[--json]", "remove every entry (and the counts)", json_opts,
     cmd_clear, TOOL_COMP_NONE},
    {"prune", "[--json]",
     "remove entries older than [cache] ttl, then the\n"
     "oldest until at most [cache] max_bytes remain",
     json_opts, cmd_prune, TOOL_COMP_NONE},
    {NULL, NULL, NULL, NULL, NULL, 0},
};

static const struct tool_option *const cache_groups[] = {tool_opts_global,
                                                         NULL};

static const struct tool_command cache_cmd = {
    .name = "cache",
    .synopsis = "[-c FILE] [-q] COMMAND [ARGS]",
    .description = "The response cache ([cache] in flexiai.ini(5)).",
    .groups = cache_groups,
    .subs = cache_subs,
    .footer = "Exit codes: 0 ok, 64 usage, 69 the cache cannot be opened or "
              "read, 78 configuration.  See flexiai-cache(1).",
};

int
main(int argc, char **argv)
{
    struct tool_args a;
    struct cache_ctx x;
    memset(&x, 0, sizeof(x));
    tool_args_init(&a);
    tool_cmd_init("flexiai cache");
    int first = tool_parse(&cache_cmd, NULL, argc, argv, 1, &a, NULL, NULL);
    char *names = tool_sub_names(&cache_cmd);
    if (first >= argc)
        tool_usage_error("missing command (%s)", names);
    const struct tool_subcommand *sub = tool_find_sub(&cache_cmd, argv[first]);
    if (sub == NULL)
        tool_usage_error("unknown command '%s' (%s)", argv[first], names);
    free(names);
    int n = argc - first;
    char **v = argv + first;
    int rest = tool_parse(&cache_cmd, sub, n, v, 0, &a, on_option, &x);
    x.cfg = tool_setup_config(&a, 0, NULL);
    x.client = tool_setup_client(x.cfg, NULL, NULL, 0);
    int rc = sub->run(&x, &a, 1 + n - rest, v + rest - 1);
    tool_out_flush();
    flexiai_client_free(x.client);
    flexiai_config_free(x.cfg);
    tool_args_free(&a);
    return rc;
}
