/*
 * flexiai - the front command.  `flexiai CMD ...` runs flexiai-CMD found
 * next to this binary first, then on PATH (git style).  `config show` and
 * `config check` are built in.
 */
#include "config.h"

#include "common.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int tool_complete_main(int argc, char **argv);

static const char *const commands[][2] = {
    {"complete", "one-shot completion: prompt in, answer out"},
    {"chat", "interactive chat with streaming replies"},
    {"breaker", "inspect, reset, open and watch circuit breakers"},
    {"config", "show or check the effective configuration"},
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
            "\n"
            "'flexiai COMMAND --help' describes a command; see flexiai(1) and "
            "flexiai.ini(5).\n"
            "Exit codes: 0 ok, 64 usage, 65 invalid input, 66 no input, 69 "
            "unavailable,\n"
            "70 internal, 75 try later, 77 credentials refused, 78 "
            "configuration, 130 interrupted.\n");
}

static void
config_usage(FILE *fp)
{
    fprintf(fp, "usage: flexiai config show [-c FILE] [--json]\n"
                "       flexiai config check [-c FILE] [-q]\n");
}

static int
config_show(const char *path, int json)
{
    flexiai_config *cfg = flexiai_config_new();
    flexiai_config_load(cfg, getenv("FX_TEST_SYSCONF"), path);
    int rc = flexiai_config_validate(cfg, 0);
    tool_print_diags(cfg, 1);
    const flexiai_config_entry *ents;
    size_t n = flexiai_config_entries(cfg, &ents);
    if (json) {
        cJSON *root = cJSON_CreateArray();
        for (size_t i = 0; i < n; i++) {
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
            char *line;
            /* multi-line values (continuations) stay on one line */
            char *v = strdup(ents[i].value);
            for (char *p = v; *p; p++)
                if (*p == '\n')
                    *p = ' ';
            int len = asprintf(&line, "%s.%s = %s  ; %s\n", ents[i].section,
                               ents[i].key, v, ents[i].origin);
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

static int
config_check(const char *path)
{
    flexiai_config *cfg = flexiai_config_new();
    flexiai_config_load(cfg, getenv("FX_TEST_SYSCONF"), path);
    int rc = flexiai_config_validate(cfg, 1);
    tool_print_diags(cfg, 1);
    const char *const *names;
    size_t np = flexiai_config_providers(cfg, &names);
    if (rc == FLEXIAI_OK && np == 0)
        tool_warn("no providers configured (add a [provider.NAME] section or "
                  "set OPENAI_API_KEY, ANTHROPIC_API_KEY or GEMINI_API_KEY)");
    flexiai_config_free(cfg);
    return rc == FLEXIAI_OK ? 0 : FLEXIAI_ECONFIG;
}

struct config_opts {
    const char *path;
    int json;
};

/* Options of `config`, before or after its subcommand.  Returns 1 when
 * --help was given. */
static int
config_opts(int argc, char **argv, const char *optstring, struct config_opts *o)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"json", no_argument, NULL, 'j'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, optstring, opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            o->path = optarg;
            break;
        case 'j':
            o->json = 1;
            break;
        case 'q':
            tool_quiet = 1;
            break;
        case 'h':
            config_usage(stdout);
            return 1;
        default:
            tool_bad_option(argv);
        }
    }
    return 0;
}

static int
cmd_config(int argc, char **argv)
{
    struct config_opts o = {NULL, 0};
    tool_progname = "flexiai config";
    optind = 1;
    if (config_opts(argc, argv, "+c:qh", &o))
        return 0;
    if (optind >= argc)
        tool_usage_error("config needs a subcommand: show or check");
    const char *sub = argv[optind++];
    if (config_opts(argc, argv, "c:qh", &o))
        return 0;
    if (optind < argc)
        tool_usage_error("unexpected argument '%s'", argv[optind]);
    if (strcmp(sub, "show") == 0)
        return config_show(o.path, o.json);
    if (strcmp(sub, "check") == 0) {
        if (o.json)
            tool_usage_error("config check has no --json");
        return config_check(o.path);
    }
    tool_usage_error("unknown config subcommand '%s' (show or check)", sub);
}

/* Directory of the running binary, for finding flexiai-CMD beside it. */
static int
self_dir(char *buf, size_t size)
{
    ssize_t n = readlink("/proc/self/exe", buf, size - 1);
    if (n <= 0)
        return -1;
    buf[n] = '\0';
    char *slash = strrchr(buf, '/');
    if (slash == NULL)
        return -1;
    *slash = '\0';
    return 0;
}

static int
run_subcommand(const char *name, int argc, char **argv)
{
    char prog[256], path[PATH_MAX + 300], dir[PATH_MAX];
    for (const char *p = name; *p; p++)
        if (*p == '/' || *p == '.') {
            tool_err("unknown command '%s' (see 'flexiai --help')", name);
            return FLEXIAI_EUSAGE;
        }
    snprintf(prog, sizeof(prog), "flexiai-%s", name);
    argv[0] = prog;
    (void)argc;
    if (self_dir(dir, sizeof(dir)) == 0) {
        snprintf(path, sizeof(path), "%s/%s", dir, prog);
        if (access(path, X_OK) == 0) {
            execv(path, argv);
            tool_die(FLEXIAI_ESOFTWARE, "cannot run %s: %s", path,
                     strerror(errno));
        }
    }
    execvp(prog, argv);
    if (errno == ENOENT) {
        tool_err("unknown command '%s' (see 'flexiai --help')", name);
        return FLEXIAI_EUSAGE;
    }
    tool_die(FLEXIAI_ESOFTWARE, "cannot run %s: %s", prog, strerror(errno));
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
        return 0;
    }
    if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "-V") == 0) {
        tool_print_version(NULL);
        return 0;
    }
    if (strcmp(cmd, "help") == 0) {
        if (argc < 3) {
            usage(stdout);
            return 0;
        }
        if (strcmp(argv[2], "config") == 0) {
            config_usage(stdout);
            return 0;
        }
        char *args[] = {argv[2], "--help", NULL};
        return run_subcommand(argv[2], 2, args);
    }
    if (cmd[0] == '-')
        tool_usage_error("unknown option '%s'", cmd);
    if (strcmp(cmd, "config") == 0)
        return cmd_config(argc - 1, argv + 1);
    if (strcmp(cmd, "complete") == 0) /* built in: see flexiai-complete.c */
        return tool_complete_main(argc - 1, argv + 1);
    return run_subcommand(cmd, argc - 1, argv + 1);
}
