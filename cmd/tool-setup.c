/*
 * tool-setup.c - the one way every command gets from its flags to a
 * client: load the configuration (files, environment), apply the flags,
 * apply -m, validate, print diagnostics, make the client, set its log.
 */
#include "config.h"

#include "tool.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The system-wide file; the test suite points it elsewhere. */
static const char *
sysconf_path(void)
{
    return getenv("FX_TEST_SYSCONF");
}

/* [defaults] max_input_bytes into tool_max_input (validated already). */
static void
tool_input_limit(flexiai_config *cfg)
{
    const flexiai_config_entry *e;
    size_t n = flexiai_config_entries(cfg, &e);
    for (size_t i = 0; i < n; i++)
        if (strcmp(e[i].section, "defaults") == 0 &&
            strcmp(e[i].key, "max_input_bytes") == 0 && e[i].value[0]) {
            long long v = atoll(e[i].value);
            if (v > 0)
                tool_max_input = v;
        }
}

flexiai_config *
tool_setup_config(const struct tool_args *a, int flags, int *rcp)
{
    flexiai_config *cfg = flexiai_config_new();
    flexiai_config_load(cfg, sysconf_path(), a ? a->config : NULL);
    if (a) {
        for (size_t i = 0; i < a->nover; i++)
            flexiai_config_set(cfg, a->over[i].section, a->over[i].key,
                               a->over[i].value);
        if (a->nstops)
            flexiai_config_set(cfg, "defaults", "stop", a->stops.data);
    }
    flexiai_code rc =
        flexiai_config_validate(cfg, (flags & TOOL_SETUP_RESOLVE_SECRETS) != 0);
    if (rc == FLEXIAI_OK && a && a->model) {
        /* -m for -p's provider, else the first; an unknown -p is reported
         * below, after the diagnostics, and no provider at all by the
         * command */
        flexiai_code mrc = flexiai_config_set_model(cfg, a->provider, a->model);
        if (mrc == FLEXIAI_ECONFIG)
            rc = mrc;
    }
    if (!(flags & TOOL_SETUP_SILENT))
        tool_print_diags(cfg, 1);
    if (rcp)
        *rcp = rc;
    if (rc != FLEXIAI_OK) {
        if (flags & TOOL_SETUP_KEEP_ERRORS)
            return cfg;
        flexiai_config_free(cfg);
        tool_exit(FLEXIAI_ECONFIG);
    }
    tool_input_limit(cfg);
    if (a && a->provider && !flexiai_config_has_provider(cfg, a->provider)) {
        char *msg = tool_no_provider(cfg, a->provider), line[1024];
        snprintf(line, sizeof(line), "%s", msg);
        free(msg); /* LeakSanitizer counts it otherwise */
        flexiai_config_free(cfg);
        tool_die(FLEXIAI_EUSAGE, "%s", line);
    }
    return cfg;
}

flexiai_client *
tool_setup_client(flexiai_config *cfg, flexiai_log_fn log, void *ud,
                  int fail_code)
{
    char *err = NULL;
    flexiai_client *c = NULL;
    if (flexiai_client_new(cfg, &c, &err) != FLEXIAI_OK)
        tool_die(fail_code ? fail_code : FLEXIAI_ESOFTWARE, "%s",
                 err ? err : "cannot start");
    flexiai_client_set_log(c, log ? log : tool_log_cb, ud);
    return c;
}

int
tool_stream_wanted(const flexiai_config *cfg, const struct tool_args *a,
                   int json)
{
    (void)a; /* --stream/--no-stream are in the configuration as flags */
    switch (flexiai_config_stream_mode(cfg)) {
    case FLEXIAI_STREAM_ALWAYS:
        return 1;
    case FLEXIAI_STREAM_NEVER:
        return 0;
    default:
        return isatty(STDOUT_FILENO) && !json;
    }
}

flexiai_stream_error_mode
tool_on_stream_error(const flexiai_config *cfg, const struct tool_args *a)
{
    if (a && a->on_stream_error >= 0)
        return a->on_stream_error == FLEXIAI_STREAM_FAIL
                   ? FLEXIAI_STREAM_FAIL
                   : FLEXIAI_STREAM_CONTINUE;
    return flexiai_config_on_stream_error(cfg);
}

const char *
tool_suggest(const char *name, const char *const *names, size_t n)
{
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    for (size_t i = 0; i < n; i++) {
        size_t d = fxu_edit_distance(name, names[i]);
        if (d < best_d) {
            best_d = d;
            best = names[i];
        }
    }
    /* a slip of the fingers, not another word */
    size_t len = strlen(name);
    size_t limit = len < 4 ? 1 : len < 8 ? 2 : 3;
    return best_d <= limit ? best : NULL;
}

char *
tool_no_provider(const flexiai_config *cfg, const char *name)
{
    const char *const *names;
    size_t n = flexiai_config_providers(cfg, &names);
    if (n == 0)
        return fxu_asprintf("no provider '%s' (no providers are configured)",
                            name);
    const char *near = tool_suggest(name, names, n);
    if (near)
        return fxu_asprintf("no provider '%s' (did you mean '%s'?)", name,
                            near);
    fxu_buf list;
    fxu_buf_init(&list);
    for (size_t i = 0; i < n; i++)
        fxu_buf_printf(&list, "%s%s", i ? ", " : "", names[i]);
    char *msg =
        fxu_asprintf("no provider '%s' (configured: %s)", name, list.data);
    fxu_buf_free(&list);
    return msg;
}
