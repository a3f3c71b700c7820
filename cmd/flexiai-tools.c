/*
 * flexiai-tools - the configured tools: `list` shows each [tool.NAME] and
 * the tools of each [mcp.NAME] server (started to ask), `call` runs one
 * by hand the way the tool loop of complete, chat and batch runs it.
 */
#include "config.h"

#include "tool.h"
#include "tools.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { OPT_JSON = TOOL_OPT_CMD };

struct tools_ctx {
    flexiai_config *cfg;
    int json;
};

static void
on_option(void *ud, int id, const char *arg)
{
    struct tools_ctx *x = ud;
    (void)arg;
    if (id == OPT_JSON)
        x->json = 1;
}

/* One line of the table: NAME, where it comes from, approve, the
 * description's first line, all escaped for the terminal. */
static void
table_line(fxu_buf *b, const char *name, const char *source, int approve,
           const char *desc)
{
    char *d = fxu_strndup(desc ? desc : "", desc ? strcspn(desc, "\n") : 0);
    if (strlen(d) > 60)
        strcpy(d + 57, "...");
    char *n = tool_printable(name), *s = tool_printable(source),
         *ds = tool_printable(d);
    fxu_buf_printf(b, "%-32s %-16s %-8s %s\n", n, s, approve ? "auto" : "ask",
                   ds);
    free(n);
    free(s);
    free(ds);
    free(d);
}

static int
cmd_list(void *ctx, struct tool_args *a, int argc, char **argv)
{
    struct tools_ctx *x = ctx;
    (void)a;
    if (argc > 1)
        tool_usage_error("unexpected argument '%s'", argv[1]);
    const flexiai_tool_conf *confs;
    size_t nc = flexiai_config_tools(x->cfg, &confs);
    cJSON *arr = cJSON_CreateArray();
    fxu_buf b;
    fxu_buf_init(&b);
    if (!x->json)
        fxu_buf_printf(&b, "%-32s %-16s %-8s %s\n", "NAME", "FROM", "APPROVE",
                       "DESCRIPTION");
    int rc = 0;
    for (size_t i = 0; i < nc; i++) {
        const flexiai_tool_conf *c = &confs[i];
        char *source =
            fxu_asprintf("%s.%s", c->is_mcp ? "mcp" : "tool", c->name);
        struct tools *t;
        char *err = NULL;
        if (tools_open(x->cfg, c->name, &t, &err) != 0) {
            tool_err("%s", err);
            if (x->json) {
                cJSON *o = cJSON_CreateObject();
                cJSON_AddNullToObject(o, "name");
                cJSON_AddStringToObject(o, "from", source);
                cJSON_AddStringToObject(o, "error", err);
                cJSON_AddItemToArray(arr, o);
            }
            free(err);
            free(source);
            rc = FLEXIAI_EUNAVAILABLE;
            continue;
        }
        const flexiai_tool *defs;
        size_t nd = tools_defs(t, &defs);
        for (size_t k = 0; k < nd; k++) {
            int autorun = tools_auto(t, defs[k].name, NULL);
            if (!x->json) {
                table_line(&b, defs[k].name, source, autorun,
                           defs[k].description);
                continue;
            }
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "name", defs[k].name);
            cJSON_AddStringToObject(o, "from", source);
            cJSON_AddStringToObject(o, "approve", autorun ? "auto" : "ask");
            if (defs[k].description)
                cJSON_AddStringToObject(o, "description", defs[k].description);
            else
                cJSON_AddNullToObject(o, "description");
            cJSON *p = cJSON_Parse(defs[k].parameters);
            cJSON_AddItemToObject(o, "parameters", p ? p : cJSON_CreateNull());
            cJSON_AddItemToArray(arr, o);
        }
        tools_close(t);
        free(source);
    }
    if (x->json) {
        char *s = cJSON_PrintUnformatted(arr);
        fxu_buf_puts(&b, s);
        fxu_buf_putc(&b, '\n');
        free(s);
    }
    cJSON_Delete(arr);
    tool_out(b.data ? b.data : "", b.len);
    tool_out_flush();
    fxu_buf_free(&b);
    return rc;
}

/* The section a tool name comes from: [tool.NAME] itself, else the
 * [mcp.SERVER] whose name and '_' start it (the longest such). */
static const char *
section_of(const flexiai_config *cfg, const char *name)
{
    const flexiai_tool_conf *confs;
    size_t nc = flexiai_config_tools(cfg, &confs);
    const char *best = NULL;
    for (size_t i = 0; i < nc; i++) {
        size_t len = strlen(confs[i].name);
        if (!confs[i].is_mcp && strcmp(confs[i].name, name) == 0)
            return confs[i].name;
        if (confs[i].is_mcp && strncmp(confs[i].name, name, len) == 0 &&
            name[len] == '_' && (best == NULL || strlen(best) < len))
            best = confs[i].name;
    }
    return best;
}

static int
cmd_call(void *ctx, struct tool_args *a, int argc, char **argv)
{
    struct tools_ctx *x = ctx;
    (void)a;
    if (argc < 2)
        tool_usage_error("tools call needs a tool's NAME (and its JSON "
                         "arguments)");
    if (argc > 3)
        tool_usage_error("unexpected argument '%s'", argv[3]);
    const char *name = argv[1];
    const char *args = argc > 2 ? argv[2] : "{}";
    const char *sec = section_of(x->cfg, name);
    if (sec == NULL) {
        char *shown = tool_printable(name);
        tool_die(FLEXIAI_EUSAGE,
                 "no tool '%s' in the configuration (see flexiai tools list)",
                 shown);
    }
    struct tools *t;
    char *err = NULL;
    if (tools_open(x->cfg, sec, &t, &err) != 0)
        tool_die(FLEXIAI_EUNAVAILABLE, "%s", err);
    flexiai_tool_call call = {"call_1", (char *)name, (char *)args};
    char *result = NULL;
    int is_error = 0;
    tool_stop_on_signals();
    if (tools_call(t, &call, &tool_stop, &result, &is_error, &err) != 0) {
        tools_close(t);
        tool_die(FLEXIAI_EUSAGE, "%s (see flexiai tools list)", err);
    }
    tool_out_text(result, strlen(result));
    if (result[0] && result[strlen(result) - 1] != '\n')
        tool_out_text("\n", 1);
    tool_out_text_end();
    tool_out_flush();
    free(result);
    tools_close(t);
    if (tool_stop)
        return 130;
    return is_error ? 1 : 0;
}

static const struct tool_option list_opts[] = {
    TOOL_OPT(OPT_JSON, 0, "json", NULL,
             "a JSON array: name, from, approve, description, parameters", 0),
    TOOL_OPT(TOOL_OPT_END, 0, NULL, NULL, NULL, 0)};

static const struct tool_subcommand tools_subs[] = {
    {"list", "[--json]",
     "each configured tool, and each MCP server's tools\n"
     "(the servers are started to ask)",
     list_opts, cmd_list, TOOL_COMP_NONE},
    {"call", "NAME [JSON]",
     "run one tool as the tool loop would (JSON: its\n"
     "arguments, default {}); print its result; exit 1 for\n"
     "an error result",
     NULL, cmd_call, TOOL_COMP_TOOL},
    {NULL, NULL, NULL, NULL, NULL, 0},
};

static const struct tool_option *const tools_groups[] = {tool_opts_global,
                                                         NULL};

static const struct tool_command tools_cmd = {
    .name = "tools",
    .synopsis = "[-c FILE] [-v] list|call [ARGS]",
    .description =
        "The tools a model may call: [tool.NAME] commands and the tools of\n"
        "[mcp.NAME] servers (named SERVER_TOOL), from the configuration.",
    .groups = tools_groups,
    .subs = tools_subs,
    .footer = "Exit codes: 0 ok, 1 the tool's result is an error, 64 usage, "
              "69 an MCP\nserver did not start, 78 configuration.  See "
              "flexiai-tools(1) and flexiai.ini(5).",
};

int
main(int argc, char **argv)
{
    struct tool_args a;
    struct tools_ctx x;
    memset(&x, 0, sizeof(x));
    tool_args_init(&a);
    tool_cmd_init("flexiai tools");
    int first = tool_parse(&tools_cmd, NULL, argc, argv, 1, &a, NULL, NULL);
    char *names = tool_sub_names(&tools_cmd);
    if (first >= argc)
        tool_usage_error("missing command (%s)", names);
    const struct tool_subcommand *sub = tool_find_sub(&tools_cmd, argv[first]);
    if (sub == NULL)
        tool_usage_error("unknown command '%s' (%s)", argv[first], names);
    free(names);
    int n = argc - first;
    char **v = argv + first;
    int rest = tool_parse(&tools_cmd, sub, n, v, 0, &a, on_option, &x);
    x.cfg = tool_setup_config(&a, 0, NULL);
    int rc = sub->run(&x, &a, 1 + n - rest, v + rest - 1);
    flexiai_config_free(x.cfg);
    tool_args_free(&a);
    return rc;
}
