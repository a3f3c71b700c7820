/*
 * tool-breaker.c - how breaker state reads, for `flexiai breaker status`
 * (table, JSON, Prometheus) and for chat's /providers: one formatter.
 */
#include "config.h"

#include "tool.h"

#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void
tool_fmt_time(double t, char *buf, size_t size)
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

char *
tool_printable(const char *s)
{
    fxu_buf b;
    fxu_buf_init(&b);
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p;
         p++) {
        if (*p < 0x20 || *p == 0x7f)
            fxu_buf_printf(&b, "\\x%02x", *p);
        else
            fxu_buf_putc(&b, (char)*p);
    }
    char *clean = fxu_utf8_sanitize(b.data ? b.data : "", b.len, NULL);
    fxu_buf_free(&b);
    return clean;
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
        char t[64], d[32];
        tool_fmt_time(b->retry_at, t, sizeof(t));
        fxu_fmt_duration(b->retry_at - now + 1, d, sizeof(d));
        snprintf(buf, size, "%s (in %s)", t, d);
    }
}

/* Why an open or half-open breaker is so: "overloaded: HTTP 503 ...",
 * "manual: maintenance" (cut to fit a row); NULL for a closed one or when
 * the state holds no error.  Caller frees. */
static char *
last_error_text(const flexiai_breaker_info *b)
{
    if (strcmp(b->state, "closed") == 0 || b->last_error_class == NULL)
        return NULL;
    char *raw = fxu_asprintf("%s%s%s", b->last_error_class,
                             b->last_error && *b->last_error ? ": " : "",
                             b->last_error ? b->last_error : "");
    char *text = tool_printable(raw);
    free(raw);
    size_t max = 72;
    if (strlen(text) > max) {
        /* cut on a UTF-8 character boundary */
        while (max > 0 && ((unsigned char)text[max] & 0xc0) == 0x80)
            max--;
        strcpy(text + max, "...");
    }
    return text;
}

void
tool_breaker_table(const flexiai_breaker_info *info, size_t n, int store_ok)
{
    double now = fxu_wallclock();
    size_t w = 8, wby = 10;
    int errors = 0;
    for (size_t i = 0; i < n; i++) {
        if (strlen(info[i].provider) > w)
            w = strlen(info[i].provider);
        char *by =
            tool_printable(info[i].changed_by ? info[i].changed_by : "-");
        if (strlen(by) > wby)
            wby = strlen(by);
        free(by);
        char *e = last_error_text(&info[i]);
        errors |= e != NULL;
        free(e);
    }
    char line[1024];
    /* LAST ERROR only when a row has one: the rows of closed breakers end
     * where they always did */
    int len = snprintf(line, sizeof(line),
                       "%-*s  %-9s  %8s  %-19s  %-30s  %-7s  %-*s%s\n", (int)w,
                       "PROVIDER", "STATE", "FAILURES", "SINCE", "NEXT PROBE",
                       "BACKEND", errors ? (int)wby : 0, "CHANGED BY",
                       errors ? "  LAST ERROR" : "");
    tool_out(line, (size_t)len);
    for (size_t i = 0; i < n; i++) {
        char since[64], next[160];
        tool_fmt_time(info[i].changed_at, since, sizeof(since));
        next_text(&info[i], now, next, sizeof(next));
        char *name = tool_printable(info[i].provider);
        /* who last changed it: a worker id, ours or a Python worker's */
        char *by =
            tool_printable(info[i].changed_by ? info[i].changed_by : "-");
        char *err = last_error_text(&info[i]);
        char *row = fxu_asprintf(
            "%-*s  %-9s  %8ld  %-19s  %-30s  %-7s  %-*s%s%s%s\n", (int)w, name,
            info[i].state, info[i].failure_count, since, next,
            flexiai_backend_name(info[i].backend), err ? (int)wby : 0, by,
            err ? "  " : "", err ? err : "",
            store_ok ? "" : " (fallback: store down)");
        tool_outs(row);
        free(row);
        free(err);
        free(by);
        free(name);
    }
}

void
tool_breaker_json(const flexiai_breaker_info *info, size_t n, int store_ok)
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
        /* the last counted failure the state holds (any state) */
        if (info[i].last_error_class) {
            char *cls =
                fxu_utf8_sanitize(info[i].last_error_class,
                                  strlen(info[i].last_error_class), NULL);
            const char *m = info[i].last_error ? info[i].last_error : "";
            char *msg = fxu_utf8_sanitize(m, strlen(m), NULL);
            cJSON_AddStringToObject(o, "last_error_class", cls);
            cJSON_AddStringToObject(o, "last_error", msg);
            free(cls);
            free(msg);
        } else {
            cJSON_AddNullToObject(o, "last_error_class");
            cJSON_AddNullToObject(o, "last_error");
        }
        cJSON_AddBoolToObject(o, "usable", info[i].usable);
        cJSON_AddStringToObject(o, "backend",
                                flexiai_backend_name(info[i].backend));
        cJSON_AddBoolToObject(o, "store_reachable", store_ok);
        cJSON_AddItemToArray(arr, o);
    }
    /* one line, like every other --json */
    char *s = cJSON_PrintUnformatted(arr);
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
void
tool_breaker_prometheus(const flexiai_breaker_info *info, size_t n,
                        const char *backend, int store_ok)
{
    static const char *const states[] = {"closed", "open", "half_open"};
    fxu_buf b;
    fxu_buf_init(&b);
    fxu_buf_printf(&b,
                   "# HELP flexiai_breaker_store_up 1 when the configured "
                   "breaker store answered (0: values from the fallback).\n"
                   "# TYPE flexiai_breaker_store_up gauge\n"
                   "flexiai_breaker_store_up{backend=\"%s\"} %d\n",
                   backend, store_ok);
    fxu_buf_puts(&b, "# HELP flexiai_breaker_state Circuit breaker state "
                     "(1 for the current state).\n"
                     "# TYPE flexiai_breaker_state gauge\n");
    for (size_t i = 0; i < n; i++)
        for (int s = 0; s < 3; s++) {
            fxu_buf_puts(&b, "flexiai_breaker_state{provider=\"");
            prom_label(&b, info[i].provider);
            fxu_buf_printf(&b, "\",state=\"%s\",backend=\"", states[s]);
            prom_label(&b, flexiai_backend_name(info[i].backend));
            fxu_buf_printf(&b, "\"} %d\n",
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

void
tool_breaker_describe(const flexiai_breaker_info *b, double now, char *out,
                      size_t len)
{
    const char *sep = b->reason ? ", " : "";
    const char *reason = b->reason ? b->reason : "";
    if (strcmp(b->state, "closed") == 0) {
        if (b->failure_count > 0)
            snprintf(out, len, "closed (%ld failure%s)", b->failure_count,
                     b->failure_count == 1 ? "" : "s");
        else
            snprintf(out, len, "closed");
    } else if (strcmp(b->state, "open") == 0 && b->retry_at > now) {
        char d[32];
        fxu_fmt_duration(b->retry_at - now, d, sizeof(d));
        snprintf(out, len, "open (probe in %s%s%s)", d, sep, reason);
    } else if (strcmp(b->state, "open") == 0 && b->retry_at > 0) {
        snprintf(out, len, "open (probe due%s%s)", sep, reason);
    } else if (strcmp(b->state, "open") == 0) {
        snprintf(out, len, "open (until reset%s%s)", sep, reason);
    } else {
        snprintf(out, len, "%s", b->state);
    }
}

/* A breaker for a name that is no provider is one nobody uses: a typo
 * there voids a maintenance window.  --force allows it (providers that
 * only the Python fleet calls). */
void
tool_breaker_check_names(flexiai_config *cfg, int force, char **names, int n)
{
    if (force)
        return;
    for (int i = 0; i < n; i++)
        if (!flexiai_config_has_provider(cfg, names[i])) {
            char *msg = tool_no_provider(cfg, names[i]);
            tool_err("%s; --force acts on it anyway", msg);
            free(msg);
            exit(FLEXIAI_EUSAGE);
        }
}

volatile sig_atomic_t tool_stop;

static void
on_stop_signal(int sig)
{
    (void)sig;
    tool_stop = 1;
}

void
tool_stop_on_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}
