/*
 * flexiai-breaker - inspect, reset, open and watch the circuit breakers
 * every flexiai process shares (file store on one host, Redis across
 * hosts).
 */
#include "config.h"

#include "breaker.h"
#include "tool.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum {
    OPT_JSON = TOOL_OPT_CMD,
    OPT_PROMETHEUS,
    OPT_ALL,
    OPT_FOR,
    OPT_FORCE,
    OPT_RECORD,
    OPT_PROBE,
    OPT_REASON
};

static void
on_option(void *ud, int id, const char *arg)
{
    struct breaker_ctx *x = ud;
    switch (id) {
    case OPT_JSON:
        x->json = 1;
        break;
    case OPT_PROMETHEUS:
        x->prometheus = 1;
        break;
    case OPT_ALL:
        x->all = 1;
        break;
    case OPT_FORCE:
        x->force = 1;
        break;
    case OPT_RECORD:
        x->record = 1;
        break;
    case OPT_PROBE:
        x->probe = 1;
        break;
    case OPT_REASON:
        for (const unsigned char *p = (const unsigned char *)arg; *p; p++)
            if (*p < 0x20 || *p > 0x7e)
                tool_usage_error("--reason must be one line of printable "
                                 "ASCII");
        if (*arg == '\0' || strlen(arg) > 199)
            tool_usage_error("--reason needs a text of 1 to 199 characters");
        x->reason = arg;
        break;
    case OPT_FOR:
        x->seconds = tool_parse_cli_duration(arg);
        if (!(x->seconds > 0)) /* also NaN */
            tool_usage_error("--for needs a duration like 90, 30s, 10m, 2h");
        if (x->seconds > FLEXIAI_FORCE_OPEN_MAX)
            tool_usage_error("--for is at most 30d (2592000 seconds)");
        break;
    }
}

static int
cmd_status(void *ctx, struct tool_args *a, int argc, char **argv)
{
    struct breaker_ctx *x = ctx;
    flexiai_client *c = x->client;
    int json = x->json, prom = x->prometheus;
    (void)a;
    if (json && prom)
        tool_usage_error("--json and --prometheus exclude each other");
    tool_breaker_check_names(x->cfg, x->force, argv + 1, argc - 1);
    flexiai_breaker_info *info;
    size_t n;
    int rc = flexiai_breaker_status(c, (const char *const *)argv + 1,
                                    (size_t)(argc - 1), &info, &n);
    if (rc == FLEXIAI_EUSAGE)
        tool_usage_error("%s", flexiai_client_error(c));
    if (n == 0)
        tool_err("no providers configured (nothing to show)");
    /* what the fallback knows is printed, marked as such, and the exit
     * code says the configured store did not answer (-q does not hide
     * that) */
    int store_ok = rc == FLEXIAI_OK;
    if (json)
        tool_breaker_json(info, n, store_ok);
    else if (prom)
        tool_breaker_prometheus(
            info, n, flexiai_backend_name(flexiai_config_backend(x->cfg)),
            store_ok);
    else
        tool_breaker_table(info, n, store_ok);
    tool_out_flush();
    flexiai_breaker_info_free(info, n);
    const char *backend = flexiai_backend_name(flexiai_config_backend(x->cfg));
    const char *shown = n ? "the fallback's" : "no";
    /* Prometheus: the metrics written whole are the success (store_up 0
     * carries the news), so `status --prometheus > f.tmp && mv f.tmp f`
     * replaces a file that said store_up 1; a warning, -q hides it */
    if (!store_ok && prom) {
        tool_warn("the %s store did not answer: %s state shown", backend,
                  shown);
        return 0;
    }
    if (!store_ok)
        tool_err("the %s store did not answer: %s state shown", backend, shown);
    return store_ok ? 0 : FLEXIAI_EUNAVAILABLE;
}

static int
cmd_reset(void *ctx, struct tool_args *a, int argc, char **argv)
{
    struct breaker_ctx *x = ctx;
    flexiai_client *c = x->client;
    int all = x->all;
    (void)a;
    const char *const *names = (const char *const *)argv + 1;
    size_t n = (size_t)(argc - 1);
    if (all && n)
        tool_usage_error("give provider names or --all, not both");
    if (all) {
        n = flexiai_config_providers(x->cfg, &names);
        if (n == 0)
            tool_err("no providers configured (nothing to reset)");
    } else if (n == 0) {
        tool_usage_error("reset needs provider names or --all");
    }
    tool_breaker_check_names(x->cfg, x->force, argv + 1, argc - 1);
    int rc = 0;
    for (size_t i = 0; i < n; i++) {
        int r = flexiai_breaker_reset(c, names[i]);
        if (r == FLEXIAI_EUSAGE)
            tool_usage_error("%s", flexiai_client_error(c));
        if (r != 0) {
            tool_err("%s", flexiai_client_error(c));
            rc = r;
        }
    }
    return rc;
}

static int
cmd_open(void *ctx, struct tool_args *a, int argc, char **argv)
{
    struct breaker_ctx *x = ctx;
    flexiai_client *c = x->client;
    (void)a;
    if (argc != 2)
        tool_usage_error("open needs exactly one provider name");
    tool_breaker_check_names(x->cfg, x->force, argv + 1, 1);
    int rc = flexiai_breaker_open_reason(c, argv[1], x->seconds, x->reason);
    if (rc == FLEXIAI_EUSAGE)
        tool_usage_error("%s", flexiai_client_error(c));
    if (rc != 0)
        tool_err("%s", flexiai_client_error(c));
    return rc;
}

/* The Nagios line when the store did not answer, with why ("redis
 * 127.0.0.1:6379: connection refused"): the status call's message without
 * what it adds about the rows. */
static void
unknown_store(flexiai_client *c)
{
    const char *err = flexiai_client_error(c);
    static const char tail[] = "; the rows come from the file store";
    size_t len = err ? strlen(err) : 0;
    if (len >= sizeof(tail) - 1 &&
        strcmp(err + len - (sizeof(tail) - 1), tail) == 0)
        len -= sizeof(tail) - 1;
    char *why = fxu_strndup(err ? err : "", len);
    char *clean = tool_printable(why);
    char *line =
        fxu_asprintf("BREAKERS UNKNOWN - breaker store unreachable%s%s\n",
                     *clean ? ": " : "", clean);
    tool_outs(line);
    tool_out_flush();
    free(line);
    free(clean);
    free(why);
}

/* Nagios plugin convention: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. */
static int
cmd_check(void *ctx, struct tool_args *a, int argc, char **argv)
{
    struct breaker_ctx *x = ctx;
    flexiai_client *c = x->client;
    (void)a;
    (void)argv;
    if (argc > 1)
        tool_usage_error("check takes no arguments");
    flexiai_breaker_info *info;
    size_t n;
    int rc = flexiai_breaker_status(c, NULL, 0, &info, &n);
    if (rc != 0 || !flexiai_breaker_store_ok(c)) {
        unknown_store(c);
        flexiai_breaker_info_free(info, n);
        return 3;
    }
    size_t closed = 0, usable = 0;
    fxu_buf detail;
    fxu_buf_init(&detail);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(info[i].state, "closed") == 0)
            closed++;
        if (info[i].usable)
            usable++;
        fxu_buf_printf(&detail, "%s%s %s", i ? ", " : "", info[i].provider,
                       info[i].state);
    }
    int code;
    const char *word;
    if (n == 0) {
        code = 3;
        word = "UNKNOWN";
    } else if (closed == n) {
        code = 0;
        word = "OK";
    } else if (usable > 0) {
        code = 1;
        word = "WARNING";
    } else {
        code = 2;
        word = "CRITICAL";
    }
    char *probes = NULL, *perf = NULL;
    if (x->probe && n > 0) {
        struct probe_tally t;
        int pc = run_probes(x, NULL, 0, 1, &t);
        if (pc > code && pc != 3) {
            code = pc;
            word = pc == 1 ? "WARNING" : "CRITICAL";
        }
        probes =
            fxu_asprintf("; probes: %s", t.detail.data ? t.detail.data : "");
        perf = fxu_asprintf(" probed_ok=%zu", t.ok);
        fxu_buf_free(&t.detail);
    }
    char *line =
        fxu_asprintf("BREAKERS %s - %s%s | closed=%zu usable=%zu "
                     "total=%zu%s\n",
                     word, n ? detail.data : "no providers configured",
                     probes ? probes : "", closed, usable, n, perf ? perf : "");
    free(probes);
    free(perf);
    tool_outs(line);
    tool_out_flush();
    free(line);
    fxu_buf_free(&detail);
    flexiai_breaker_info_free(info, n);
    return code;
}

struct watch_ctx {
    int json;
    char **names;
    int nnames;
    flexiai_client *client; /* to read why a breaker changed */
};

/* Why the breaker last changed (manual, failure_threshold, retry_after,
 * probe_failed, ...), read from its state document; caller frees. */
static char *
reason_of(flexiai_client *c, const flexiai_event *ev)
{
    if (ev->resync)
        return fxu_strdup(ev->reason);
    if (strcmp(ev->event_type, "opened") != 0 &&
        strcmp(ev->event_type, "closed") != 0 &&
        strcmp(ev->event_type, "half_open") != 0)
        return NULL;
    const char *name = ev->provider;
    flexiai_breaker_info *info = NULL;
    size_t n = 0;
    flexiai_breaker_status(c, &name, 1, &info, &n);
    char *reason = n && info[0].reason ? fxu_strdup(info[0].reason) : NULL;
    /* opened by hand with --reason: the words given */
    if (reason && strcmp(reason, "manual") == 0 && info[0].last_error_class &&
        strcmp(info[0].last_error_class, "manual") == 0 &&
        strcmp(ev->event_type, "opened") == 0) {
        free(reason);
        reason = fxu_asprintf("manual: %s", info[0].last_error);
    }
    flexiai_breaker_info_free(info, n);
    return reason;
}

/* One line of valid UTF-8 without control characters. */
static int
plain_line(const char *s)
{
    size_t bad = 1;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return 0;
    free(fxu_utf8_sanitize(s, strlen(s), &bad));
    return bad == 0;
}

static int
on_event(void *ud, const flexiai_event *ev)
{
    const struct watch_ctx *w = ud;
    if (w->nnames) {
        int match = 0;
        for (int i = 0; i < w->nnames; i++)
            if (strcmp(w->names[i], ev->provider) == 0)
                match = 1;
        if (!match)
            return 0;
    }
    char *reason = reason_of(w->client, ev);
    if (w->json && ev->resync) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddBoolToObject(o, "resync", 1);
        cJSON_AddStringToObject(o, "provider_name", ev->provider);
        cJSON_AddStringToObject(o, "event_type", ev->event_type);
        if (reason)
            cJSON_AddStringToObject(o, "reason", reason);
        else
            cJSON_AddNullToObject(o, "reason");
        cJSON_AddNumberToObject(o, "failure_count", (double)ev->failure_count);
        char *line = cJSON_PrintUnformatted(o);
        char *clean = fxu_utf8_sanitize(line, strlen(line), NULL);
        tool_outs(clean);
        tool_outs("\n");
        free(clean);
        free(line);
        cJSON_Delete(o);
    } else if (w->json && plain_line(ev->json)) {
        /* the publisher's bytes, as the Python workers sent them */
        tool_outs(ev->json);
        tool_outs("\n");
    } else if (w->json) {
        /* re-encoded: one event per line, whatever the publisher sent */
        cJSON *j = cJSON_Parse(ev->json);
        char *s = j ? cJSON_PrintUnformatted(j) : NULL;
        char *clean = s ? fxu_utf8_sanitize(s, strlen(s), NULL) : NULL;
        if (clean) {
            tool_outs(clean);
            tool_outs("\n");
        }
        free(clean);
        free(s);
        cJSON_Delete(j);
    } else {
        char t[64];
        tool_fmt_time(fxu_wallclock(), t, sizeof(t));
        /* names and ids come from the network: no control characters */
        char *prov = tool_printable(ev->provider);
        char *type = tool_printable(ev->event_type);
        char *worker = tool_printable(ev->worker_id ? ev->worker_id : "-");
        char *why = tool_printable(reason ? reason : "");
        char *line = fxu_asprintf("%s  %-12s %-9s%s%s%s worker=%s", t, prov,
                                  type, ev->resync ? " resync" : "",
                                  reason ? " reason=" : "", why, worker);
        tool_outs(line);
        free(line);
        free(prov);
        free(type);
        free(worker);
        free(why);
        if (ev->failure_count >= 0) {
            line = fxu_asprintf(" failures=%ld successes=%ld",
                                ev->failure_count, ev->success_count);
            tool_outs(line);
            free(line);
        }
        tool_outs("\n");
    }
    free(reason);
    tool_out_flush();
    return 0;
}

/* watch says where it listens (a NOTICE), unless -q */
static void
watch_log(void *ud, flexiai_log_level level, const char *msg)
{
    if (level == FLEXIAI_LOG_NOTICE && !tool_quiet)
        tool_err("%s", msg);
    else
        tool_log_cb(ud, level, msg);
}

static int
cmd_watch(void *ctx, struct tool_args *a, int argc, char **argv)
{
    struct breaker_ctx *x = ctx;
    (void)a;
    tool_breaker_check_names(x->cfg, x->force, argv + 1, argc - 1);
    struct watch_ctx w = {x->json, argv + 1, argc - 1, x->client};
    flexiai_client_set_log(x->client, watch_log, NULL);
    tool_stop_on_signals();
    int rc = flexiai_breaker_watch(x->client, on_event, &w, &tool_stop);
    if (rc != 0)
        tool_err("%s", flexiai_client_error(x->client));
    return rc;
}

#define OPT(id, name, arg, help)                                               \
    {                                                                          \
        id, 0, name, arg, help, 0, 0, NULL, NULL, NULL                         \
    }
#define OPT_END OPT(TOOL_OPT_END, NULL, NULL, NULL)

#define FORCE                                                                  \
    OPT(OPT_FORCE, "force", NULL,                                              \
        "accept names that are not configured providers")

static const struct tool_option status_opts[] = {
    OPT(OPT_JSON, "json", NULL, "a JSON array, one object per provider"),
    OPT(OPT_PROMETHEUS, "prometheus", NULL,
        "the Prometheus text format (node_exporter's textfile collector)"),
    FORCE, OPT_END};
static const struct tool_option reset_opts[] = {
    OPT(OPT_ALL, "all", NULL, "every configured provider"), FORCE, OPT_END};
static const struct tool_option open_opts[] = {
    OPT(OPT_FOR, "for", "DURATION",
        "open until DURATION passes (90, 30s, 10m, 2h)"),
    OPT(OPT_REASON, "reason", "TEXT",
        "why (kept in the state: status, watch and the event\n"
        "show it)"),
    FORCE, OPT_END};
static const struct tool_option watch_opts[] = {
    OPT(OPT_JSON, "json", NULL, "each event as its JSON message"), FORCE,
    OPT_END};

static const struct tool_option probe_opts[] = {
    OPT(OPT_RECORD, "record", NULL,
        "feed the outcome to the breaker (a success closes\n"
        "a half-open breaker, a connection failure counts)"),
    OPT(OPT_JSON, "json", NULL, "a JSON array, one object per provider"), FORCE,
    OPT_END};
static const struct tool_option check_opts[] = {
    OPT(OPT_PROBE, "probe", NULL,
        "also probe every provider (no tokens) and add the result"),
    OPT_END};
static const struct tool_option sync_opts[] = {
    OPT(OPT_JSON, "json", NULL, "each change applied as a JSON object"),
    OPT_END};

static const struct tool_subcommand breaker_subs[] = {
    {"status", "[--json | --prometheus] [--force] [NAME...]",
     "state of each provider's breaker", status_opts, cmd_status,
     TOOL_COMP_PROVIDER},
    {"reset", "[--force] NAME... | --all",
     "close breakers (announced to watchers)", reset_opts, cmd_reset,
     TOOL_COMP_PROVIDER},
    {"open", "[--for DURATION] [--reason TEXT] [--force] NAME",
     "open by hand (maintenance) until DURATION passes\n"
     "(e.g. 90, 30s, 10m, 2h) or until reset",
     open_opts, cmd_open, TOOL_COMP_PROVIDER},
    {"check", "[--probe]",
     "monitoring check: exit 0 all closed, 1 some open or\n"
     "half-open but a provider usable, 2 none usable, 3 store\n"
     "unreachable",
     check_opts, cmd_check, TOOL_COMP_NONE},
    {"watch", "[--json] [--force] [NAME...]",
     "print breaker events as they happen (needs Redis)", watch_opts, cmd_watch,
     TOOL_COMP_PROVIDER},
    {"probe", "[--record] [--json] [--force] [NAME...]",
     "ask each provider something that costs no tokens:\n"
     "reachable, credentials accepted, latency; exit 0 all\n"
     "answered, 1 some, 2 none, 3 nothing to probe",
     probe_opts, cmd_probe, TOOL_COMP_PROVIDER},
    {"sync", "[--json]",
     "the bridge: apply other workers' (Python FlexiAI's)\n"
     "breaker events to the shared state until SIGTERM\n"
     "(needs Redis)",
     sync_opts, cmd_sync, TOOL_COMP_NONE},
    {NULL, NULL, NULL, NULL, NULL, 0},
};

static const struct tool_option *const breaker_groups[] = {tool_opts_global,
                                                           NULL};

static const struct tool_command breaker_cmd = {
    .name = "breaker",
    .synopsis = "[-c FILE] [-q] COMMAND [ARGS]",
    .groups = breaker_groups,
    .subs = breaker_subs,
    .footer = "'flexiai breaker COMMAND --help' describes a command.  See "
              "flexiai-breaker(1).",
};

int
main(int argc, char **argv)
{
    struct tool_args a;
    struct breaker_ctx x;
    memset(&x, 0, sizeof(x));
    tool_args_init(&a);
    tool_cmd_init("flexiai breaker");
    int first = tool_parse(&breaker_cmd, NULL, argc, argv, 1, &a, NULL, NULL);
    char *names = tool_sub_names(&breaker_cmd);
    if (first >= argc)
        tool_usage_error("missing command (%s)", names);
    const struct tool_subcommand *sub =
        tool_find_sub(&breaker_cmd, argv[first]);
    if (sub == NULL)
        tool_usage_error("unknown command '%s' (%s)", argv[first], names);
    free(names);
    int n = argc - first;
    char **v = argv + first;
    int rest = tool_parse(&breaker_cmd, sub, n, v, 0, &a, on_option, &x);

    x.cfg = tool_setup_config(&a, 0, NULL);
    /* check speaks the monitoring convention: 3 is "unknown" */
    x.client =
        tool_setup_client(x.cfg, NULL, NULL, sub->run == cmd_check ? 3 : 0);
    if (x.json && x.prometheus)
        tool_usage_error("--json and --prometheus exclude each other");
    int rc = sub->run(&x, &a, 1 + n - rest, v + rest - 1);
    flexiai_client_free(x.client);
    flexiai_config_free(x.cfg);
    tool_args_free(&a);
    return rc;
}
