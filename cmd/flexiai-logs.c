/*
 * flexiai-logs - read the request ledger: the latest records as text or
 * JSON lines, full-text search, filters, whole conversations, one record
 * with its attempt trail (show), the database's path, and prune.
 */
#include "config.h"

#include "flexiai-ledger.h"
#include "logs.h"
#include "tool.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum {
    OPT_N = TOOL_OPT_CMD,
    OPT_QUERY,
    OPT_SINCE,
    OPT_UNTIL,
    OPT_PROVIDER,
    OPT_MODEL,
    OPT_TAG,
    OPT_FAILED,
    OPT_JSON,
    OPT_CID,
    OPT_BEFORE,
    OPT_ONELINE
};

struct logs_ctx {
    flexiai_ledger_query q;
    int json;
    int oneline; /* --oneline: one line per record, cut to the width */
    int limit_given;
    const char *before;
};

static void
on_option(void *ud, int id, const char *arg)
{
    struct logs_ctx *x = ud;
    long n;
    switch (id) {
    case OPT_N:
        if (fxu_parse_long(arg, &n) != 0 || n < 1)
            tool_usage_error("-n needs a positive whole number, not '%s'", arg);
        x->q.limit = n;
        x->limit_given = 1;
        break;
    case OPT_QUERY:
        if (*arg == '\0')
            tool_usage_error("-q needs words to search for");
        x->q.words = arg;
        break;
    case OPT_SINCE:
        x->q.since = tool_when("--since", arg);
        break;
    case OPT_UNTIL:
        x->q.until = tool_when("--until", arg);
        break;
    case OPT_PROVIDER:
        x->q.provider = arg;
        break;
    case OPT_MODEL:
        x->q.model = arg;
        break;
    case OPT_TAG:
        x->q.tag = arg;
        break;
    case OPT_FAILED:
        x->q.failed = 1;
        break;
    case OPT_JSON:
        x->json = 1;
        break;
    case OPT_CID:
        x->q.conversation_id = arg;
        break;
    case OPT_BEFORE:
        x->before = arg;
        break;
    case OPT_ONELINE:
        x->oneline = 1;
        break;
    }
}

/* The ledger for reading; NULL (and nothing to read) when there is no
 * database yet.  A database that cannot be read is exit 66. */
static flexiai_ledger *
open_ledger(flexiai_config *cfg, int write)
{
    char *err = NULL, *path = NULL;
    if (flexiai_ledger_path(cfg, &path, &err) != FLEXIAI_OK)
        tool_die(FLEXIAI_ENOINPUT, "%s", err);
    free(path);
    if (!flexiai_ledger_exists(cfg))
        return NULL;
    flexiai_ledger *l = NULL;
    if (flexiai_ledger_open(cfg, write, &l, &err) != FLEXIAI_OK) {
        tool_err("%s", err);
        free(err);
        flexiai_config_free(cfg);
        exit(write ? FLEXIAI_EIO : FLEXIAI_ENOINPUT);
    }
    tool_ledger_import_over(cfg);
    if (flexiai_ledger_warning(l))
        tool_warn("%s", flexiai_ledger_warning(l));
    return l;
}

struct print_ctx {
    int json;
    long n;
    size_t width; /* --oneline: lines made from the JSON form */
};

static int
print_line(void *ud, const char *line)
{
    struct print_ctx *p = ud;
    if (p->width > 0) {
        char *one = logs_oneline(line, p->width);
        if (one)
            tool_out_text(one, strlen(one));
        free(one);
        return 0;
    }
    if (!p->json && p->n++ > 0)
        tool_outs("\n");               /* a blank line between records */
    tool_out_text(line, strlen(line)); /* escaped at a terminal */
    if (p->json)
        tool_outs("\n");
    return 0;
}

static int
run_list(flexiai_config *cfg, struct logs_ctx *x)
{
    /* a conversation is shown whole unless -n */
    if (!x->limit_given)
        x->q.limit = x->q.conversation_id ? 0 : x->oneline ? 20 : 3;
    if (x->json && x->oneline)
        tool_usage_error("--json and --oneline: one or the other");
    flexiai_ledger *l = open_ledger(cfg, 0);
    if (l == NULL)
        return 0;
    struct print_ctx p = {x->json, 0, x->oneline ? logs_width() : 0};
    flexiai_code rc = flexiai_ledger_each(
        l, &x->q,
        x->json || x->oneline ? FLEXIAI_LEDGER_JSON : FLEXIAI_LEDGER_TEXT,
        print_line, &p, NULL);
    tool_out_flush();
    if (rc != FLEXIAI_OK) {
        tool_err("cannot read the ledger: %s", flexiai_ledger_error(l));
        rc = FLEXIAI_ENOINPUT;
    }
    flexiai_ledger_close(l);
    return rc;
}

static int
cmd_show(void *ctx, struct tool_args *a, int argc, char **argv)
{
    struct logs_ctx *x = ctx;
    long id;
    if (argc != 2)
        tool_usage_error("show needs one record id (see flexiai logs)");
    const char *s = argv[1][0] == '#' ? argv[1] + 1 : argv[1];
    if (fxu_parse_long(s, &id) != 0 || id < 1)
        tool_usage_error("'%s' is not a record id", argv[1]);
    flexiai_config *cfg = tool_setup_config(a, 0, NULL);
    flexiai_ledger *l = open_ledger(cfg, 0);
    char *out = NULL;
    flexiai_code rc = l ? flexiai_ledger_show(l, id,
                                              x->json ? FLEXIAI_LEDGER_JSON
                                                      : FLEXIAI_LEDGER_ATTEMPTS,
                                              &out)
                        : FLEXIAI_ENOINPUT;
    if (rc == FLEXIAI_OK) {
        tool_out_text(out, strlen(out));
        if (x->json)
            tool_outs("\n");
        tool_out_flush();
    } else if (rc == FLEXIAI_ENOINPUT) {
        tool_err("no record %ld in the ledger", id);
        rc = FLEXIAI_ENOINPUT;
    } else {
        tool_err("cannot read the ledger: %s", flexiai_ledger_error(l));
        rc = FLEXIAI_ENOINPUT;
    }
    free(out);
    flexiai_ledger_close(l);
    flexiai_config_free(cfg);
    return rc;
}

static int
cmd_path(void *ctx, struct tool_args *a, int argc, char **argv)
{
    (void)ctx;
    if (argc > 1)
        tool_usage_error("unexpected argument '%s'", argv[1]);
    flexiai_config *cfg = tool_setup_config(a, 0, NULL);
    char *err = NULL, *path = NULL;
    if (flexiai_ledger_path(cfg, &path, &err) != FLEXIAI_OK)
        tool_die(FLEXIAI_ECONFIG, "%s", err);
    tool_outs(path);
    tool_outs("\n");
    tool_out_flush();
    free(path);
    flexiai_config_free(cfg);
    return 0;
}

/* "N records VERB" on stdout, unless --quiet */
static void
say_count(long n, const char *verb)
{
    if (tool_quiet)
        return;
    char *msg = fxu_asprintf("%ld record%s %s\n", n, n == 1 ? "" : "s", verb);
    tool_outs(msg);
    free(msg);
    tool_out_flush();
}

static int
cmd_prune(void *ctx, struct tool_args *a, int argc, char **argv)
{
    struct logs_ctx *x = ctx;
    if (argc > 1)
        tool_usage_error("unexpected argument '%s'", argv[1]);
    if (x->before == NULL)
        tool_usage_error("prune needs --before DATE|DURATION (e.g. 90d)");
    double before = tool_when("--before", x->before);
    flexiai_config *cfg = tool_setup_config(a, 0, NULL);
    flexiai_ledger *l = open_ledger(cfg, 1);
    long n = 0;
    int rc = 0;
    if (l && flexiai_ledger_prune(l, before, &n) != FLEXIAI_OK) {
        tool_err("cannot prune the ledger: %s", flexiai_ledger_error(l));
        rc = FLEXIAI_EIO;
    } else {
        say_count(n, "deleted");
    }
    flexiai_ledger_close(l);
    flexiai_config_free(cfg);
    return rc;
}

/* Move the records waiting in the spool into the database now: what a
 * cron job may run, and what complete, chat and batch start in the
 * background once the spool passes [log] spool_max. */
static int
cmd_import(void *ctx, struct tool_args *a, int argc, char **argv)
{
    (void)ctx;
    if (argc > 1)
        tool_usage_error("unexpected argument '%s'", argv[1]);
    flexiai_config *cfg = tool_setup_config(a, 0, NULL);
    flexiai_ledger *l = open_ledger(cfg, 1);
    long n = l ? flexiai_ledger_imported(l) : 0;
    int rc = l && flexiai_ledger_warning(l) ? FLEXIAI_EIO : 0;
    say_count(n, "imported");
    flexiai_ledger_close(l);
    flexiai_config_free(cfg);
    return rc;
}

#define OPT TOOL_OPT
#define OPT_END OPT(TOOL_OPT_END, 0, NULL, NULL, NULL, 0)
#define OPT_CONFIG                                                             \
    OPT(TOOL_OPT_CONFIG, 'c', "config", "FILE",                                \
        "configuration file instead of the user's", TOOL_COMP_FILE)

/* -q is the search here, so the global group is spelled out without it */
static const struct tool_option logs_opts[] = {
    OPT(OPT_N, 'n', "number", "N",
        "the latest N records (default 3; 20 with --oneline)", 0),
    OPT(OPT_QUERY, 'q', "query", "WORDS",
        "full-text search of prompts and answers (every word)", 0),
    OPT(OPT_SINCE, 0, "since", "WHEN",
        "records from WHEN on (2026-11-01, \"2026-11-01 14:30\", 2h, 7d)", 0),
    OPT(OPT_UNTIL, 0, "until", "WHEN", "records before WHEN", 0),
    OPT(OPT_PROVIDER, 0, "provider", "NAME", "answered by this provider",
        TOOL_COMP_PROVIDER),
    OPT(OPT_MODEL, 0, "model", "NAME", "answered by this model", 0),
    OPT(OPT_TAG, 0, "tag", "TEXT", "tagged TEXT (--tag of the request)", 0),
    OPT(OPT_FAILED, 0, "failed", NULL, "only failed requests (exit code not 0)",
        0),
    OPT(OPT_CID, 0, "cid", "ID", "a whole conversation, oldest turn first", 0),
    OPT(OPT_JSON, 0, "json", NULL, "one JSON object per line", 0),
    OPT(OPT_ONELINE, 0, "oneline", NULL,
        "one line per record: prompt and answer cut to the terminal's width",
        0),
    OPT_CONFIG,
    OPT(TOOL_OPT_HELP, 'h', "help", NULL, "this help", 0),
    OPT(TOOL_OPT_VERSION, 'V', "version", NULL, "version and libraries", 0),
    OPT_END};
static const struct tool_option show_opts[] = {
    OPT(OPT_JSON, 0, "json", NULL, "one JSON object", 0), OPT_CONFIG, OPT_END};
static const struct tool_option path_opts[] = {OPT_CONFIG, OPT_END};
static const struct tool_option import_opts[] = {
    OPT_CONFIG, OPT(TOOL_OPT_QUIET, 0, "quiet", NULL, "do not say how many", 0),
    OPT_END};
static const struct tool_option prune_opts[] = {
    OPT(OPT_BEFORE, 0, "before", "WHEN",
        "delete records older than WHEN (a date, or 90d)", 0),
    OPT_CONFIG, OPT(TOOL_OPT_QUIET, 0, "quiet", NULL, "do not say how many", 0),
    OPT_END};

static const struct tool_subcommand logs_subs[] = {
    {"show", "[--json] ID", "one record with its attempt trail", show_opts,
     cmd_show, TOOL_COMP_NONE},
    {"path", "", "the database's path (for sqlite3)", path_opts, cmd_path,
     TOOL_COMP_NONE},
    {"prune", "--before DATE|DURATION", "delete older records", prune_opts,
     cmd_prune, TOOL_COMP_NONE},
    {"import", "", "move the records waiting in the spool in now", import_opts,
     cmd_import, TOOL_COMP_NONE},
    {NULL, NULL, NULL, NULL, NULL, 0},
};

static const struct tool_option *const logs_groups[] = {logs_opts, NULL};

static const struct tool_command logs_cmd = {
    .name = "logs",
    .synopsis = "[OPTIONS] | show ID | path | prune --before WHEN | import",
    .description =
        "The request ledger: every complete, chat turn and batch item, with "
        "its attempts.\nWithout a command, the latest records (oldest "
        "first) that match every filter\ngiven.",
    .groups = logs_groups,
    .subs = logs_subs,
    .footer = "Exit codes: 0 ok, 64 usage, 66 no such record or the ledger "
              "cannot be read,\n74 cannot write it (prune, import).  See "
              "flexiai-logs(1).",
};

int
main(int argc, char **argv)
{
    struct tool_args a;
    struct logs_ctx x;
    memset(&x, 0, sizeof(x));
    flexiai_ledger_query_init(&x.q);
    tool_args_init(&a);
    tool_cmd_init("flexiai logs");
    int first = tool_parse(&logs_cmd, NULL, argc, argv, 1, &a, on_option, &x);
    int rc;
    if (first >= argc) {
        flexiai_config *cfg = tool_setup_config(&a, 0, NULL);
        rc = run_list(cfg, &x);
        flexiai_config_free(cfg);
    } else {
        const struct tool_subcommand *sub =
            tool_find_sub(&logs_cmd, argv[first]);
        if (sub == NULL) {
            char *names = tool_sub_names(&logs_cmd);
            tool_usage_error("unknown command '%s' (%s; -q WORDS searches)",
                             argv[first], names);
        }
        int n = argc - first;
        char **v = argv + first;
        int rest = tool_parse(&logs_cmd, sub, n, v, 0, &a, on_option, &x);
        rc = sub->run(&x, &a, 1 + n - rest, v + rest - 1);
    }
    tool_args_free(&a);
    return rc;
}
