/*
 * flexiai-breaker - inspect, reset, open and watch the circuit breakers
 * every flexiai process shares (file store on one host, Redis across
 * hosts).
 */
#include "config.h"

#include "common.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t stop_flag;

static void
on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void
usage(FILE *fp)
{
    fprintf(
        fp,
        "usage: flexiai breaker [-c FILE] [-q] COMMAND [ARGS]\n"
        "\n"
        "commands:\n"
        "  status [NAME...] [--json | --prometheus]\n"
        "                         state of each provider's breaker\n"
        "  reset NAME... | --all  close breakers (announced to watchers)\n"
        "  open NAME [--for DURATION]\n"
        "                         open by hand (maintenance) until DURATION "
        "passes\n"
        "                         (e.g. 90, 30s, 10m, 2h) or until reset\n"
        "  check                  monitoring check: exit 0 all closed, 1 some "
        "open or\n"
        "                         half-open but a provider usable, 2 none "
        "usable, 3 store\n"
        "                         unreachable\n"
        "  watch [NAME...] [--json]\n"
        "                         print breaker events as they happen "
        "(needs Redis)\n"
        "\n"
        "options:\n"
        "  -c, --config FILE   configuration file instead of the user's\n"
        "  -q, --quiet         no warnings\n"
        "  -v, --verbose       more detail on stderr\n"
        "  -h, --help          this help\n"
        "  -V, --version       version and libraries\n"
        "\n"
        "See flexiai-breaker(1).\n");
}

static void
fmt_time(double t, char *buf, size_t size)
{
    if (t <= 0) {
        snprintf(buf, size, "-");
        return;
    }
    time_t s = (time_t)t;
    struct tm tm;
    localtime_r(&s, &tm);
    strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm);
}

static void
next_text(const flexiai_breaker_info *b, double now, char *buf, size_t size)
{
    if (strcmp(b->state, "closed") == 0) {
        snprintf(buf, size, "-");
    } else if (b->retry_at <= 0) {
        if (b->reason && strcmp(b->reason, "manual") == 0)
            snprintf(buf, size, "until reset");
        else
            snprintf(buf, size, "probe now");
    } else if (b->retry_at <= now) {
        snprintf(buf, size, "probe now");
    } else {
        char t[64];
        fmt_time(b->retry_at, t, sizeof(t));
        snprintf(buf, size, "%s (in %lds)", t, (long)(b->retry_at - now) + 1);
    }
}

static void
print_table(const flexiai_breaker_info *info, size_t n)
{
    double now = fxu_wallclock();
    size_t w = 8;
    for (size_t i = 0; i < n; i++)
        if (strlen(info[i].provider) > w)
            w = strlen(info[i].provider);
    char line[1024];
    int len = snprintf(
        line, sizeof(line), "%-*s  %-9s  %8s  %-19s  %-30s  %s\n", (int)w,
        "PROVIDER", "STATE", "FAILURES", "SINCE", "NEXT PROBE", "BACKEND");
    tool_out(line, (size_t)len);
    for (size_t i = 0; i < n; i++) {
        char since[64], next[96];
        fmt_time(info[i].changed_at, since, sizeof(since));
        next_text(&info[i], now, next, sizeof(next));
        len =
            snprintf(line, sizeof(line), "%-*s  %-9s  %8ld  %-19s  %-30s  %s\n",
                     (int)w, info[i].provider, info[i].state,
                     info[i].failure_count, since, next, info[i].backend);
        tool_out(line, (size_t)len);
    }
}

static void
print_json(const flexiai_breaker_info *info, size_t n)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "provider", info[i].provider);
        cJSON_AddStringToObject(o, "state", info[i].state);
        cJSON_AddNumberToObject(o, "failure_count",
                                (double)info[i].failure_count);
        cJSON_AddNumberToObject(o, "success_count",
                                (double)info[i].success_count);
#define TIME_FIELD(name, v)                                                    \
    do {                                                                       \
        if ((v) > 0)                                                           \
            cJSON_AddNumberToObject(o, name, (v));                             \
        else                                                                   \
            cJSON_AddNullToObject(o, name);                                    \
    } while (0)
        TIME_FIELD("changed_at", info[i].changed_at);
        TIME_FIELD("opened_at", info[i].opened_at);
        TIME_FIELD("retry_at", info[i].retry_at);
#undef TIME_FIELD
        if (info[i].changed_by)
            cJSON_AddStringToObject(o, "changed_by", info[i].changed_by);
        else
            cJSON_AddNullToObject(o, "changed_by");
        if (info[i].reason)
            cJSON_AddStringToObject(o, "reason", info[i].reason);
        else
            cJSON_AddNullToObject(o, "reason");
        cJSON_AddBoolToObject(o, "usable", info[i].usable);
        cJSON_AddStringToObject(o, "backend", info[i].backend);
        cJSON_AddItemToArray(arr, o);
    }
    char *s = cJSON_Print(arr);
    tool_outs(s);
    tool_outs("\n");
    free(s);
    cJSON_Delete(arr);
}

static void
prom_label(fxu_buf *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '"')
            fxu_buf_putc(b, '\\');
        if (*v == '\n') {
            fxu_buf_puts(b, "\\n");
            continue;
        }
        fxu_buf_putc(b, *v);
    }
}

/* The Prometheus text format, for node_exporter's textfile collector. */
static void
print_prometheus(const flexiai_breaker_info *info, size_t n)
{
    static const char *const states[] = {"closed", "open", "half_open"};
    fxu_buf b;
    fxu_buf_init(&b);
    fxu_buf_puts(&b, "# HELP flexiai_breaker_state Circuit breaker state "
                     "(1 for the current state).\n"
                     "# TYPE flexiai_breaker_state gauge\n");
    for (size_t i = 0; i < n; i++)
        for (int s = 0; s < 3; s++) {
            fxu_buf_puts(&b, "flexiai_breaker_state{provider=\"");
            prom_label(&b, info[i].provider);
            fxu_buf_printf(&b, "\",state=\"%s\"} %d\n", states[s],
                           strcmp(info[i].state, states[s]) == 0);
        }
    const struct {
        const char *name, *help;
        int which;
    } gauges[] = {
        {"flexiai_breaker_failures", "Consecutive counted failures.", 0},
        {"flexiai_breaker_usable", "1 when a request would be admitted now.",
         1},
        {"flexiai_breaker_retry_at_seconds",
         "Unix time when an open breaker admits a probe (0: none).", 2},
        {"flexiai_breaker_changed_at_seconds",
         "Unix time of the last state change (0: never).", 3},
    };
    for (size_t g = 0; g < sizeof(gauges) / sizeof(gauges[0]); g++) {
        fxu_buf_printf(&b, "# HELP %s %s\n# TYPE %s gauge\n", gauges[g].name,
                       gauges[g].help, gauges[g].name);
        for (size_t i = 0; i < n; i++) {
            fxu_buf_printf(&b, "%s{provider=\"", gauges[g].name);
            prom_label(&b, info[i].provider);
            fxu_buf_puts(&b, "\"} ");
            switch (gauges[g].which) {
            case 0:
                fxu_buf_printf(&b, "%ld\n", info[i].failure_count);
                break;
            case 1:
                fxu_buf_printf(&b, "%d\n", info[i].usable);
                break;
            case 2:
                fxu_buf_printf(&b, "%.3f\n", info[i].retry_at);
                break;
            default:
                fxu_buf_printf(&b, "%.3f\n", info[i].changed_at);
                break;
            }
        }
    }
    tool_out(b.data, b.len);
    fxu_buf_free(&b);
}

static int
cmd_status(flexiai_client *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"prometheus", no_argument, NULL, 'P'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int json = 0, prom = 0, ch;
    optind = 0; /* glibc: start a fresh scan (main stopped at the name) */
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (ch == 'j')
            json = 1;
        else if (ch == 'P')
            prom = 1;
        else if (ch == 'h') {
            usage(stdout);
            return 0;
        } else
            tool_bad_option(argv);
    }
    if (json && prom)
        tool_usage_error("--json and --prometheus exclude each other");
    flexiai_breaker_info *info;
    size_t n;
    int rc = flexiai_breaker_status(c, (const char *const *)argv + optind,
                                    (size_t)(argc - optind), &info, &n);
    if (rc == FLEXIAI_EUSAGE)
        tool_usage_error("%s", flexiai_client_error(c));
    if (n == 0 && !json && !prom)
        tool_warn("no providers configured");
    if (json)
        print_json(info, n);
    else if (prom)
        print_prometheus(info, n);
    else
        print_table(info, n);
    tool_out_flush();
    flexiai_breaker_info_free(info, n);
    return 0;
}

static int
cmd_reset(flexiai_client *c, flexiai_config *cfg, int argc, char **argv)
{
    static const struct option opts[] = {
        {"all", no_argument, NULL, 'a'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int all = 0, ch;
    optind = 0; /* glibc: start a fresh scan (main stopped at the name) */
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (ch == 'a')
            all = 1;
        else if (ch == 'h') {
            usage(stdout);
            return 0;
        } else
            tool_bad_option(argv);
    }
    const char *const *names = (const char *const *)argv + optind;
    size_t n = (size_t)(argc - optind);
    if (all && n)
        tool_usage_error("give provider names or --all, not both");
    if (all)
        n = flexiai_config_providers(cfg, &names);
    else if (n == 0)
        tool_usage_error("reset needs provider names or --all");
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
cmd_open(flexiai_client *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"for", required_argument, NULL, 'f'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    double seconds = 0;
    int ch;
    optind = 0; /* glibc: start a fresh scan (main stopped at the name) */
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (ch == 'f') {
            seconds = tool_parse_cli_duration(optarg);
            if (seconds <= 0)
                tool_usage_error(
                    "--for needs a duration like 90, 30s, 10m, 2h");
        } else if (ch == 'h') {
            usage(stdout);
            return 0;
        } else
            tool_bad_option(argv);
    }
    if (argc - optind != 1)
        tool_usage_error("open needs exactly one provider name");
    int rc = flexiai_breaker_open(c, argv[optind], seconds);
    if (rc == FLEXIAI_EUSAGE)
        tool_usage_error("%s", flexiai_client_error(c));
    if (rc != 0)
        tool_err("%s", flexiai_client_error(c));
    return rc;
}

/* Nagios plugin convention: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. */
static int
cmd_check(flexiai_client *c, int argc, char **argv)
{
    if (argc > 1 && strcmp(argv[1], "--help") == 0) {
        usage(stdout);
        return 0;
    }
    if (argc > 1)
        tool_usage_error("check takes no arguments");
    if (!flexiai_breaker_store_ok(c)) {
        tool_outs("BREAKERS UNKNOWN - breaker store unreachable\n");
        tool_out_flush();
        return 3;
    }
    flexiai_breaker_info *info;
    size_t n;
    int rc = flexiai_breaker_status(c, NULL, 0, &info, &n);
    if (rc != 0) {
        tool_outs("BREAKERS UNKNOWN - breaker store unreachable\n");
        tool_out_flush();
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
    char *line = fxu_asprintf("BREAKERS %s - %s | closed=%zu usable=%zu "
                              "total=%zu\n",
                              word, n ? detail.data : "no providers configured",
                              closed, usable, n);
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
};

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
    if (w->json) {
        tool_outs(ev->json);
        tool_outs("\n");
    } else {
        char t[64];
        fmt_time(fxu_wallclock(), t, sizeof(t));
        char *line =
            fxu_asprintf("%s  %-12s %-9s worker=%s", t, ev->provider,
                         ev->event_type, ev->worker_id ? ev->worker_id : "-");
        tool_outs(line);
        free(line);
        if (ev->failure_count >= 0) {
            line = fxu_asprintf(" failures=%ld successes=%ld",
                                ev->failure_count, ev->success_count);
            tool_outs(line);
            free(line);
        }
        tool_outs("\n");
    }
    tool_out_flush();
    return 0;
}

static int
cmd_watch(flexiai_client *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"json", no_argument, NULL, 'j'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    struct watch_ctx w = {0, NULL, 0};
    int ch;
    optind = 0; /* glibc: start a fresh scan (main stopped at the name) */
    while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (ch == 'j')
            w.json = 1;
        else if (ch == 'h') {
            usage(stdout);
            return 0;
        } else
            tool_bad_option(argv);
    }
    w.names = argv + optind;
    w.nnames = argc - optind;
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int rc = flexiai_breaker_watch(c, on_event, &w, &stop_flag);
    if (rc != 0)
        tool_err("%s", flexiai_client_error(c));
    return rc;
}

int
main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"quiet", no_argument, NULL, 'q'},
        {"verbose", no_argument, NULL, 'v'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    const char *config = NULL;
    int ch;
    tool_cmd_init("flexiai breaker");
    while ((ch = getopt_long(argc, argv, "+c:qvhV", opts, NULL)) != -1) {
        switch (ch) {
        case 'c':
            config = optarg;
            break;
        case 'q':
            tool_quiet = 1;
            break;
        case 'v':
            tool_verbose++;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            tool_print_version(NULL);
            return 0;
        default:
            tool_bad_option(argv);
        }
    }
    if (optind >= argc)
        tool_usage_error("missing command (status, reset, open, check, watch)");
    const char *sub = argv[optind];
    int subargc = argc - optind;
    char **subargv = argv + optind;
    if (strcmp(sub, "status") && strcmp(sub, "reset") && strcmp(sub, "open") &&
        strcmp(sub, "check") && strcmp(sub, "watch"))
        tool_usage_error("unknown command '%s' (status, reset, open, check, "
                         "watch)",
                         sub);

    flexiai_config *cfg = tool_load_config(config, NULL, NULL, 0);
    char *err = NULL;
    flexiai_client *c = flexiai_client_new(cfg, &err);
    if (c == NULL)
        tool_die(strcmp(sub, "check") == 0 ? 3 : FLEXIAI_ESOFTWARE, "%s",
                 err ? err : "cannot start");
    flexiai_client_set_log(c, tool_log_cb, NULL);

    int rc;
    if (strcmp(sub, "status") == 0)
        rc = cmd_status(c, subargc, subargv);
    else if (strcmp(sub, "reset") == 0)
        rc = cmd_reset(c, cfg, subargc, subargv);
    else if (strcmp(sub, "open") == 0)
        rc = cmd_open(c, subargc, subargv);
    else if (strcmp(sub, "check") == 0)
        rc = cmd_check(c, subargc, subargv);
    else
        rc = cmd_watch(c, subargc, subargv);
    flexiai_client_free(c);
    flexiai_config_free(cfg);
    return rc;
}
