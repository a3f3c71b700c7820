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
    int rc =
        flexiai_config_validate(cfg, (flags & TOOL_SETUP_RESOLVE_SECRETS) != 0);
    if (rc == FLEXIAI_OK && a && a->model) {
        /* -m for -p's provider, else the first; an unknown -p is reported
         * below, after the diagnostics */
        int mrc = flexiai_config_set_model(cfg, a->provider, a->model);
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
        exit(FLEXIAI_ECONFIG);
    }
    if (a && a->provider && !flexiai_config_has_provider(cfg, a->provider))
        tool_usage_error("no provider named '%s'", a->provider);
    return cfg;
}

flexiai_client *
tool_setup_client(flexiai_config *cfg, flexiai_log_fn log, void *ud,
                  int fail_code)
{
    char *err = NULL;
    flexiai_client *c = flexiai_client_new(cfg, &err);
    if (c == NULL)
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

int
tool_on_stream_error(const flexiai_config *cfg, const struct tool_args *a)
{
    if (a && a->on_stream_error >= 0)
        return a->on_stream_error;
    return flexiai_config_on_stream_error(cfg);
}
