/*
 * flexiai - the front command.  `flexiai CMD ...` runs flexiai-CMD found
 * next to this binary first, then on PATH (git style).  `config show` and
 * `config check` are built in.
 */
#include "config.h"

#include "tool.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const commands[][2] = {
    {"complete", "one-shot completion: prompt in, answer out"},
    {"chat", "interactive chat with streaming replies"},
    {"breaker", "inspect, reset, open, watch, probe and sync breakers"},
    {"batch", "many prompts from JSONL at once, with resume"},
    {"config", "show or check the effective configuration"},
    {"logs", "the request ledger: records, search, conversations"},
    {"usage", "requests, failovers, tokens and cost from the ledger"},
    {"models", "each provider's model list, the configured one marked"},
    {"tools", "the configured tools and MCP servers: list, call"},
    {"cache", "the response cache: stats, clear, prune"},
    {"templates", "saved prompt templates: list, show, path"},
};

static void
usage(FILE *fp)
{
    fprintf(fp, "usage: flexiai [--help] [--version] COMMAND [ARGS...]\n"
                "\n"
                "Talk to large language models with automatic failover.\n"
                "\n"
                "commands:\n");
    for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
        fprintf(fp, "  %-10s %s\n", commands[i][0], commands[i][1]);
    fprintf(fp,
            "\n"
            "config:\n"
            "  flexiai config show [-c FILE] [--json]   effective values and "
            "their origin\n"
            "  flexiai config check [-c FILE]           validate; exit 78 on "
            "problems\n"
            "  flexiai config check --online            also each provider's "
            "model list\n"
            "\n"
            "'flexiai COMMAND --help' describes a command; see flexiai(1) and "
            "flexiai.ini(5).\n"
            "Exit codes: 0 ok, 64 usage, 65 invalid input, 66 no input, 69 "
            "unavailable,\n"
            "70 internal, 73 cannot create a file, 74 cannot write output, 75 "
            "try later,\n76 no answer matched the schema, 77 credentials "
            "refused, 78 configuration,\n130 interrupted, 143 terminated.\n");
}

/* With redis_sentinels set the master comes from the sentinels: the
 * built-in redis_host and redis_port would only mislead. */
static int
unused_default(const flexiai_config_entry *ents, size_t n, size_t i)
{
    if (strcmp(ents[i].section, "sync") != 0 ||
        strcmp(ents[i].origin, "default") != 0 ||
        (strcmp(ents[i].key, "redis_host") != 0 &&
         strcmp(ents[i].key, "redis_port") != 0))
        return 0;
    for (size_t k = 0; k < n; k++)
        if (strcmp(ents[k].section, "sync") == 0 &&
            strcmp(ents[k].key, "redis_sentinels") == 0 && ents[k].value[0])
            return 1;
    return 0;
}

static int
config_show(const struct tool_args *a, int json)
{
    int rc;

    flexiai_config *cfg = tool_setup_config(a, TOOL_SETUP_KEEP_ERRORS, &rc);
    const flexiai_config_entry *ents;
    size_t n = flexiai_config_entries(cfg, &ents);
    if (json) {
        cJSON *root = cJSON_CreateArray();
        for (size_t i = 0; i < n; i++) {
            if (unused_default(ents, n, i))
                continue;
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "section", ents[i].section);
            cJSON_AddStringToObject(o, "key", ents[i].key);
            cJSON_AddStringToObject(o, "value", ents[i].value);
            cJSON_AddStringToObject(o, "origin", ents[i].origin);
            cJSON_AddBoolToObject(o, "secret", ents[i].is_secret);
            cJSON_AddItemToArray(root, o);
        }
        char *s = cJSON_Print(root);
        tool_outs(s);
        tool_outs("\n");
        free(s);
        cJSON_Delete(root);
    } else {
        for (size_t i = 0; i < n; i++) {
            if (unused_default(ents, n, i))
                continue;
            char *line;
            /* multi-line values (continuations) stay on one line */
            char *v = strdup(ents[i].value);
            for (char *p = v; *p; p++)
                if (*p == '\n')
                    *p = ' ';
            /* and no control character reaches the terminal */
            fxu_buf shown;
            fxu_buf_init(&shown);
            size_t used = tool_term_escape(&shown, v, strlen(v));
            fxu_buf_puts(&shown, v + used); /* a last 0xC2 */
            int len = asprintf(&line, "%s.%s = %s  ; %s\n", ents[i].section,
                               ents[i].key, shown.data ? shown.data : "",
                               ents[i].origin);
            fxu_buf_free(&shown);
            free(v);
            if (len > 0) {
                tool_out(line, (size_t)len);
                free(line);
            }
        }
    }
    tool_out_flush();
    flexiai_config_free(cfg);
    return rc == FLEXIAI_OK ? 0 : FLEXIAI_ECONFIG;
}

/* --online: each provider's model list, a warning for a configured model
 * that is not in it or shuts down soon (tool-models.c); never an error. */
static void
check_models(flexiai_config *cfg, const char *const *names, size_t np)
{
    flexiai_client *client = tool_setup_client(cfg, NULL, NULL, 0);
    double now = fxu_wallclock();
    for (size_t i = 0; i < np; i++) {
        flexiai_model_list l;
        if (flexiai_models(client, names[i], &l) == FLEXIAI_OK) {
            tool_models_cache(&l);
            tool_models_warn(&l, flexiai_config_provider_model(cfg, names[i]),
                             now);
        } else {
            tool_warn("%s: no model list: %s", names[i],
                      l.message ? l.message : "failed");
        }
        flexiai_model_list_free(&l);
    }
    flexiai_client_free(client);
}

static int online_flag;

static int
config_check(const struct tool_args *a)
{
    int rc;

    flexiai_config *cfg = tool_setup_config(
        a, TOOL_SETUP_KEEP_ERRORS | TOOL_SETUP_RESOLVE_SECRETS, &rc);
    const char *const *names;
    size_t np = flexiai_config_providers(cfg, &names);
    if (rc == FLEXIAI_OK && np == 0) {
        char *why = flexiai_config_why_no_providers(cfg);
        tool_warn("%s", why);
        free(why);
    }
    if (rc == FLEXIAI_OK && online_flag)
        check_models(cfg, names, np);
    flexiai_config_free(cfg);
    return rc == FLEXIAI_OK ? 0 : FLEXIAI_ECONFIG;
}

enum { OPT_JSON = TOOL_OPT_CMD, OPT_ONLINE };

static int json_flag;

static void
config_option(void *ud, int id, const char *arg)
{
    (void)ud;
    (void)arg;
    if (id == OPT_JSON)
        json_flag = 1;
    else if (id == OPT_ONLINE)
        online_flag = 1;
}

static int
run_show(void *ctx, struct tool_args *a, int argc, char **argv)
{
    (void)ctx;
    if (argc > 1)
        tool_usage_error("unexpected argument '%s'", argv[1]);
    return config_show(a, json_flag);
}

static int
run_check(void *ctx, struct tool_args *a, int argc, char **argv)
{
    (void)ctx;
    if (argc > 1)
        tool_usage_error("unexpected argument '%s'", argv[1]);
    if (json_flag)
        tool_usage_error("config check has no --json");
    return config_check(a);
}

/* -c and -q go before or after the subcommand's name */
#define CONFIG_OPT(id, s, name, arg, help, comp)                               \
    {                                                                          \
        id, s, name, arg, help, comp, 0, NULL, NULL, NULL                      \
    }
#define CONFIG_END CONFIG_OPT(TOOL_OPT_END, 0, NULL, NULL, NULL, 0)
#define CONFIG_C                                                               \
    CONFIG_OPT(TOOL_OPT_CONFIG, 'c', "config", "FILE",                         \
               "configuration file instead of the user's", TOOL_COMP_FILE)
#define CONFIG_Q                                                               \
    CONFIG_OPT(TOOL_OPT_QUIET, 'q', "quiet", NULL, "no warnings", 0)
#define CONFIG_JSON                                                            \
    CONFIG_OPT(OPT_JSON, 0, "json", NULL, "a JSON array of the entries", 0)

static const struct tool_option show_opts[] = {CONFIG_C, CONFIG_JSON, CONFIG_Q,
                                               CONFIG_END};
#define CONFIG_ONLINE                                                          \
    CONFIG_OPT(OPT_ONLINE, 0, "online", NULL,                                  \
               "warn when a configured model is unlisted or retires soon", 0)
static const struct tool_option check_opts[] = {CONFIG_C, CONFIG_ONLINE,
                                                CONFIG_Q, CONFIG_END};
static const struct tool_option config_opts[] = {
    CONFIG_C, CONFIG_JSON, CONFIG_Q,
    CONFIG_OPT(TOOL_OPT_HELP, 'h', "help", NULL, "this help", 0), CONFIG_END};
static const struct tool_option *const config_groups[] = {config_opts, NULL};

static const struct tool_subcommand config_subs[] = {
    {"show", "[-c FILE] [--json]", "effective values and their origin",
     show_opts, run_show, TOOL_COMP_NONE},
    {"check", "[-c FILE] [-q] [--online]",
     "validate (running api_key_cmd too); exit 78 on problems", check_opts,
     run_check, TOOL_COMP_NONE},
    {NULL, NULL, NULL, NULL, NULL, 0},
};

const struct tool_command tool_cmd_config = {
    .name = "config",
    .synopsis = "[-c FILE] show|check [OPTIONS]",
    .description = "Show or check the effective configuration: built-in "
                   "defaults, the system and\nuser files (or -c FILE), "
                   "FLEXIAI_* variables.",
    .groups = config_groups,
    .subs = config_subs,
    .footer = "See flexiai(1) and flexiai.ini(5).",
};

static int
cmd_config(int argc, char **argv)
{
    struct tool_args a;
    tool_args_init(&a);
    tool_progname = "flexiai config";
    int first = tool_parse(&tool_cmd_config, NULL, argc, argv, 1, &a,
                           config_option, NULL);
    if (first >= argc)
        tool_usage_error("config needs a subcommand: show or check");
    const struct tool_subcommand *sub =
        tool_find_sub(&tool_cmd_config, argv[first]);
    if (sub == NULL)
        tool_usage_error("unknown config subcommand '%s' (show or check)",
                         argv[first]);
    int n = argc - first;
    char **v = argv + first;
    int rest =
        tool_parse(&tool_cmd_config, sub, n, v, 0, &a, config_option, NULL);
    /* operands after the options: shift them behind the name */
    int rc = sub->run(NULL, &a, 1 + (n - rest), v + rest - 1);
    tool_args_free(&a);
    return rc;
}

static int
run_subcommand(const char *name, int argc, char **argv)
{
    return tool_exec_command(name, argc, argv);
}

/*
 * Hidden: what the shell completions need.  With no argument the
 * commands; with a command's name that command's options (tool-opts.c
 * describes the format), asked of flexiai-CMD itself when it is not
 * built in.
 */
static int
completion_helper(int argc, char **argv)
{
    if (argc == 0) {
        for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
            char *line =
                fxu_asprintf("cmd\t%s\t%s\n", commands[i][0], commands[i][1]);
            tool_outs(line);
            free(line);
        }
        tool_outs("opt\t-\t-h\t--help\tflag\tthis help\n"
                  "opt\t-\t-V\t--version\tflag\tversion and libraries\n");
    } else if (strcmp(argv[0], "complete") == 0) {
        tool_completion_data(&tool_cmd_complete, stdout);
    } else if (strcmp(argv[0], "config") == 0) {
        tool_completion_data(&tool_cmd_config, stdout);
    } else {
        char *args[] = {argv[0], "--completion-helper", NULL};
        return run_subcommand(argv[0], 2, args);
    }
    tool_out_flush();
    return 0;
}

int
main(int argc, char **argv)
{
    tool_cmd_init("flexiai");
    if (argc < 2) {
        usage(stderr);
        return FLEXIAI_EUSAGE;
    }

    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        tool_out_flush();
        return 0;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
        tool_print_version(NULL);
        return 0;
    }
    if (strcmp(cmd, "help") == 0) {
        if (argc < 3) {
            usage(stdout);
            tool_out_flush();
            return 0;
        }
        if (strcmp(argv[2], "config") == 0) {
            tool_help(&tool_cmd_config, NULL, stdout);
            tool_out_flush();
            return 0;
        }
        char *args[] = {argv[2], "--help", NULL};
        return run_subcommand(argv[2], 2, args);
    }
    if (strcmp(cmd, "--completion-helper") == 0)
        return completion_helper(argc - 2, argv + 2);
    if (cmd[0] == '-')
        tool_usage_error("unknown option '%s'", cmd);
    if (strcmp(cmd, "config") == 0)
        return cmd_config(argc - 1, argv + 1);
    if (strcmp(cmd, "complete") == 0) /* built in: see flexiai-complete.c */
        return tool_complete_main(argc - 1, argv + 1);
    return run_subcommand(cmd, argc - 1, argv + 1);
}
