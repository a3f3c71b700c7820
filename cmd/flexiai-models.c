/*
 * flexiai-models - each provider's model list, from its free listing
 * endpoint (no tokens), with the configured model marked and shutdown
 * dates where the API gives them; a copy of each list is cached for the
 * shell completions of -m.
 */
#include "config.h"

#include "tool.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_PROVIDER = TOOL_OPT_CMD, OPT_JSON };

struct models_ctx {
    const char *provider;
    int json;
};

static void
on_option(void *ud, int id, const char *arg)
{
    struct models_ctx *x = ud;
    if (id == OPT_PROVIDER)
        x->provider = arg;
    else if (id == OPT_JSON)
        x->json = 1;
}

static const struct tool_option models_opts[] = {
    {OPT_PROVIDER, 'p', "provider", "NAME",
     "only this provider (default: every configured one)", TOOL_COMP_PROVIDER,
     0, NULL, NULL, NULL},
    {OPT_JSON, 0, "json", NULL,
     "a JSON array: one object per provider with its models", 0, 0, NULL, NULL,
     NULL},
    {TOOL_OPT_END, 0, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL},
};
static const struct tool_option *const models_groups[] = {tool_opts_global,
                                                          models_opts, NULL};

static const struct tool_command models_cmd = {
    .name = "models",
    .synopsis = "[-p NAME] [--json]",
    .description =
        "Each provider's model list, from its free listing endpoint (no "
        "tokens):\nthe configured model marked with '*', shutdown dates where "
        "the API gives\nthem.  A copy of each list is kept for the shell "
        "completions of -m.",
    .groups = models_groups,
    .footer = "Exit codes: 0 every list read, 64 usage, 69 a provider did not "
              "answer,\n77 a key was refused, 78 configuration.  See "
              "flexiai-models(1).",
};

static void
print_table(const flexiai_model_list *l, const char *configured, size_t width)
{
    fxu_buf b;
    fxu_buf_init(&b);
    for (size_t i = 0; i < l->nmodels; i++) {
        const flexiai_model *m = &l->models[i];
        int mine = configured && strcmp(m->id, configured) == 0;
        fxu_buf_printf(&b, "%c %-*s  %-*s  %s\n", mine ? '*' : ' ', (int)width,
                       l->provider, 30, m->id,
                       m->shutdown_date ? m->shutdown_date : "-");
    }
    tool_out(b.data ? b.data : "", b.len);
    fxu_buf_free(&b);
}

static cJSON *
to_json(const flexiai_model_list *l, const char *configured, int rc)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "provider", l->provider);
    if (configured)
        cJSON_AddStringToObject(o, "model", configured);
    else
        cJSON_AddNullToObject(o, "model");
    cJSON_AddBoolToObject(o, "ok", rc == FLEXIAI_OK);
    if (rc == FLEXIAI_OK) {
        cJSON_AddBoolToObject(o, "model_listed",
                              tool_models_find(l, configured) != NULL);
        cJSON_AddNullToObject(o, "error_class");
        cJSON_AddNullToObject(o, "error");
    } else {
        cJSON_AddNullToObject(o, "model_listed");
        cJSON_AddStringToObject(o, "error_class",
                                flexiai_errclass_name(l->errclass));
        cJSON_AddStringToObject(o, "error", l->message ? l->message : "");
    }
    cJSON *arr = cJSON_AddArrayToObject(o, "models");
    for (size_t i = 0; i < l->nmodels; i++) {
        const flexiai_model *m = &l->models[i];
        cJSON *e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "id", m->id);
        if (m->display_name)
            cJSON_AddStringToObject(e, "display_name", m->display_name);
        else
            cJSON_AddNullToObject(e, "display_name");
        if (m->shutdown_date)
            cJSON_AddStringToObject(e, "shutdown_date", m->shutdown_date);
        else
            cJSON_AddNullToObject(e, "shutdown_date");
        cJSON_AddBoolToObject(e, "configured",
                              configured && strcmp(m->id, configured) == 0);
        cJSON_AddItemToArray(arr, e);
    }
    return o;
}

int
main(int argc, char **argv)
{
    struct tool_args a;
    struct models_ctx x = {NULL, 0};
    tool_args_init(&a);
    tool_cmd_init("flexiai models");
    int first = tool_parse(&models_cmd, NULL, argc, argv, 0, &a, on_option, &x);
    if (first < argc)
        tool_usage_error("unexpected argument '%s'", argv[first]);
    flexiai_config *cfg = tool_setup_config(&a, 0, NULL);
    const char *const *names;
    size_t n = flexiai_config_providers(cfg, &names);
    if (n == 0)
        tool_die(FLEXIAI_ECONFIG, "no providers configured (add a "
                                  "[provider.NAME] section or set "
                                  "OPENAI_API_KEY)");
    if (x.provider && !flexiai_config_has_provider(cfg, x.provider))
        tool_die(FLEXIAI_EUSAGE, "no provider '%s' in the configuration",
                 x.provider);
    flexiai_client *client = tool_setup_client(cfg, NULL, NULL, 0);
    size_t width = 8;
    for (size_t i = 0; i < n; i++)
        if (strlen(names[i]) > width)
            width = strlen(names[i]);
    if (!x.json) {
        char *head = fxu_asprintf("  %-*s  %-*s  %s\n", (int)width, "PROVIDER",
                                  30, "MODEL", "SHUTDOWN");
        tool_outs(head);
        free(head);
    }
    cJSON *all = cJSON_CreateArray();
    int rc = 0;
    double now = fxu_wallclock();
    for (size_t i = 0; i < n; i++) {
        if (x.provider && strcmp(names[i], x.provider) != 0)
            continue;
        const char *configured = flexiai_config_provider_model(cfg, names[i]);
        flexiai_model_list l;
        int code = flexiai_models(client, names[i], &l);
        if (code == FLEXIAI_OK) {
            tool_models_cache(&l);
            tool_models_warn(&l, configured, now);
        } else {
            tool_err("%s: %s", names[i], l.message ? l.message : "failed");
            if (rc == 0)
                rc = code;
        }
        if (x.json)
            cJSON_AddItemToArray(all, to_json(&l, configured, code));
        else
            print_table(&l, configured, width);
        flexiai_model_list_free(&l);
    }
    if (x.json) {
        char *s = cJSON_PrintUnformatted(all);
        tool_outs(s);
        tool_outs("\n");
        free(s);
    }
    cJSON_Delete(all);
    tool_out_flush();
    flexiai_client_free(client);
    flexiai_config_free(cfg);
    tool_args_free(&a);
    return rc;
}
