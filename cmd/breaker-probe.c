/*
 * breaker-probe.c - `flexiai breaker probe` (no-token requests to each
 * provider, also used by `check --probe`) and `flexiai breaker sync` (the
 * bridge for Python FlexiAI workers).
 */
#include "config.h"

#include "breaker.h"
#include "tool.h"

#include <cjson/cJSON.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- probes ------------------------------------------------------------ */

/* Probe each name (every provider when n is 0); print a line each unless
 * quiet (check).  Nagios-style result: 0 all answered, 1 some, 2 none,
 * 3 nothing to probe. */
int
run_probes(struct breaker_ctx *x, const char *const *names, size_t n, int quiet,
           struct probe_tally *t)
{
    if (n == 0)
        n = flexiai_config_providers(x->cfg, &names);
    memset(t, 0, sizeof(*t));
    fxu_buf_init(&t->detail);
    t->n = n;
    cJSON *arr = x->json && !quiet ? cJSON_CreateArray() : NULL;
    for (size_t i = 0; i < n; i++) {
        flexiai_probe_result r;
        flexiai_probe_result_init(&r);
        flexiai_code rc = flexiai_probe(x->client, names[i], x->record, &r);
        if (rc == FLEXIAI_EUSAGE)
            tool_usage_error("%s", flexiai_client_error(x->client));
        if (r.ok)
            t->ok++;
        char *name = tool_printable(names[i]);
        char *msg = tool_printable(r.message ? r.message : "");
        const char *cred = r.credentials == 1   ? "credentials accepted"
                           : r.credentials == 0 ? "credentials refused"
                                                : "credentials unknown";
        fxu_buf_printf(&t->detail, "%s%s %s %.0fms", i ? ", " : "", name,
                       r.ok ? "ok" : "failed", r.latency_ms);
        if (arr) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "provider", names[i]);
            cJSON_AddBoolToObject(o, "ok", r.ok);
            cJSON_AddBoolToObject(o, "reachable", r.reachable);
            if (r.credentials < 0)
                cJSON_AddNullToObject(o, "credentials_accepted");
            else
                cJSON_AddBoolToObject(o, "credentials_accepted", r.credentials);
            cJSON_AddNumberToObject(o, "http_status", (double)r.http_status);
            cJSON_AddNumberToObject(o, "latency_ms", r.latency_ms);
            /* null on success, as complete --json has no error then */
            if (r.ok)
                cJSON_AddNullToObject(o, "error");
            else
                cJSON_AddStringToObject(o, "error",
                                        flexiai_errclass_name(r.errclass));
            if (r.message)
                cJSON_AddStringToObject(o, "message", msg);
            cJSON_AddItemToArray(arr, o);
        } else if (!quiet) {
            char *line =
                fxu_asprintf("%-12s %-11s  %-20s  %6.0f ms%s%s\n", name,
                             r.reachable ? "reachable" : "unreachable",
                             r.reachable ? cred : "-", r.latency_ms,
                             r.ok ? "" : "  ", r.ok ? "" : msg);
            tool_outs(line);
            free(line);
        }
        free(name);
        free(msg);
        flexiai_probe_free(&r);
    }
    if (arr) {
        char *j = cJSON_PrintUnformatted(arr);
        tool_outs(j);
        tool_outs("\n");
        free(j);
        cJSON_Delete(arr);
    }
    tool_out_flush();
    if (n == 0)
        return 3;
    return t->ok == n ? 0 : t->ok > 0 ? 1 : 2;
}

int
cmd_probe(void *ctx, struct tool_args *a, int argc, char **argv)
{
    struct breaker_ctx *x = ctx;
    (void)a;
    tool_breaker_check_names(x->cfg, x->force, argv + 1, argc - 1);
    struct probe_tally t;
    const char *const *all;
    if (argc == 1 && flexiai_config_providers(x->cfg, &all) == 0)
        tool_err("no providers configured (nothing to probe)");
    int code =
        run_probes(x, (const char *const *)argv + 1, (size_t)(argc - 1), 0, &t);
    fxu_buf_free(&t.detail);
    return code;
}

/* ---- sync: the bridge ---------------------------------------------------- */

static void
on_change(void *ud, const flexiai_sync_change *ch)
{
    const struct breaker_ctx *x = ud;
    if (x->json) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "provider", ch->provider);
        cJSON_AddStringToObject(o, "event_type", ch->event_type);
        cJSON_AddStringToObject(o, "worker_id", ch->worker_id);
        cJSON_AddStringToObject(o, "timestamp", ch->timestamp);
        cJSON_AddStringToObject(o, "state", ch->state);
        cJSON_AddNumberToObject(o, "failure_count", (double)ch->failure_count);
        char *j = cJSON_PrintUnformatted(o);
        char *clean = fxu_utf8_sanitize(j, strlen(j), NULL);
        tool_outs(clean);
        tool_outs("\n");
        free(clean);
        free(j);
        cJSON_Delete(o);
    } else {
        char t[64];
        tool_fmt_time(fxu_wallclock(), t, sizeof(t));
        char *prov = tool_printable(ch->provider);
        char *type = tool_printable(ch->event_type);
        char *worker = tool_printable(ch->worker_id);
        char *line =
            fxu_asprintf("%s  %-12s %-9s (%s by %s, failures=%ld)\n", t, prov,
                         ch->state, type, worker, ch->failure_count);
        tool_outs(line);
        free(line);
        free(prov);
        free(type);
        free(worker);
    }
    tool_out_flush();
}

int
cmd_sync(void *ctx, struct tool_args *a, int argc, char **argv)
{
    struct breaker_ctx *x = ctx;
    (void)a;
    (void)argv;
    if (argc > 1)
        tool_usage_error("sync takes no arguments");
    tool_stop_on_signals();
    int rc = flexiai_breaker_sync(x->client, on_change, x, &tool_stop);
    if (rc != 0)
        tool_err("%s", flexiai_client_error(x->client));
    return rc;
}
