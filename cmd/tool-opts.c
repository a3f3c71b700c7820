/*
 * tool-opts.c - options declared once, in tables (as git's parse-options
 * and curl's aliases[]): the shared groups, the parser every command runs,
 * the --help text generated from the tables, and the data the bash, zsh
 * and fish completions read from the hidden --completion-helper option.
 */
#include "config.h"

#include "tool.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEMPERATURE_BAD "--temperature must be a number from 0 to 2"
#define TOP_P_BAD "--top-p must be a number from 0 to 1"
#define MAX_TOKENS_BAD "--max-tokens must be a positive whole number"
#define TIMEOUT_BAD "--timeout must be a positive number of seconds"
#define REASONING_BAD "--reasoning must be none, low, medium or high"

const struct tool_option tool_opts_global[] = {
    {TOOL_OPT_CONFIG, 'c', "config", "FILE",
     "configuration file instead of the user's", TOOL_COMP_FILE, 0, NULL, NULL,
     NULL},
    {TOOL_OPT_VERBOSE, 'v', "verbose", NULL,
     "more on stderr: one line per attempt (-vv: debug)", 0, 0, NULL, NULL,
     NULL},
    {TOOL_OPT_QUIET, 'q', "quiet", NULL, "no warnings", 0, 0, NULL, NULL, NULL},
    {TOOL_OPT_HELP, 'h', "help", NULL, "this help", 0, 0, NULL, NULL, NULL},
    {TOOL_OPT_VERSION, 'V', "version", NULL, "version and libraries", 0, 0,
     NULL, NULL, NULL},
    {TOOL_OPT_END, 0, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL},
};

const struct tool_option tool_opts_request[] = {
    {TOOL_OPT_SYSTEM, 's', "system", "TEXT", "system prompt", 0, 0, "defaults",
     "system", NULL},
    {TOOL_OPT_MODEL, 'm', "model", "NAME",
     "model (for -p's provider, else the first)", TOOL_COMP_MODEL, 0, NULL,
     NULL, NULL},
    {TOOL_OPT_PROVIDER, 'p', "provider", "NAME", "use only this provider",
     TOOL_COMP_PROVIDER, 0, NULL, NULL, NULL},
    {TOOL_OPT_NO_FAILOVER, 0, "no-failover", NULL,
     "only the first usable provider", 0, 0, NULL, NULL, NULL},
    {TOOL_OPT_TEMPERATURE, 't', "temperature", "N",
     "sampling temperature (0-2)", 0, 0, "defaults", "temperature",
     TEMPERATURE_BAD},
    {TOOL_OPT_MAX_TOKENS, 0, "max-tokens", "N", "maximum tokens in the answer",
     0, 0, "defaults", "max_tokens", MAX_TOKENS_BAD},
    {TOOL_OPT_TOP_P, 0, "top-p", "N", "nucleus sampling (0-1)", 0, 0,
     "defaults", "top_p", TOP_P_BAD},
    {TOOL_OPT_STOP, 0, "stop", "TEXT", "stop sequence (repeatable)", 0, 0, NULL,
     NULL, NULL},
    {TOOL_OPT_TIMEOUT, 0, "timeout", "SECONDS", "per-attempt timeout", 0, 0,
     "defaults", "timeout", TIMEOUT_BAD},
    {TOOL_OPT_STREAM, 0, "stream", NULL,
     "stream the answer (default: when stdout is a terminal)", 0, 0, NULL, NULL,
     NULL},
    {TOOL_OPT_NO_STREAM, 0, "no-stream", NULL, "print the answer when complete",
     0, 0, NULL, NULL, NULL},
    {TOOL_OPT_ON_STREAM_ERROR, 0, "on-stream-error", "continue|fail",
     "after a stream broke: let the next provider continue\n"
     "the answer (default), or stop with exit 75",
     TOOL_COMP_CHOICE, TOOL_OPT_EQUALS, NULL, NULL, NULL},
    {TOOL_OPT_TAG, 0, "tag", "TEXT",
     "tag the request's record in the ledger (flexiai logs)", 0, 0, NULL, NULL,
     NULL},
    {TOOL_OPT_NO_LOG, 0, "no-log", NULL,
     "keep no record of this request in the ledger", 0, 0, NULL, NULL, NULL},
    {TOOL_OPT_REASONING, 0, "reasoning", "none|low|medium|high",
     "how much the model reasons before it answers\n"
     "(OpenAI effort, Anthropic and Gemini thinking)",
     TOOL_COMP_CHOICE, 0, "defaults", "reasoning", REASONING_BAD},
    {TOOL_OPT_END, 0, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL},
};

const struct tool_option tool_opts_reasoning[] = {
    {TOOL_OPT_SHOW_REASONING, 0, "show-reasoning", NULL,
     "print the model's reasoning (or its summary) on stderr", 0, 0, NULL, NULL,
     NULL},
    {TOOL_OPT_END, 0, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL},
};

const struct tool_option tool_opts_schema[] = {
    {TOOL_OPT_SCHEMA, 0, "schema", "SPEC",
     "answer with JSON matching SPEC: a JSON Schema file, inline JSON "
     "Schema, or 'name, age int: description, tags [str], kind enum(a,b)'",
     TOOL_COMP_FILE, 0, NULL, NULL, NULL},
    {TOOL_OPT_SCHEMA_MULTI, 0, "schema-multi", "SPEC",
     "answer with a JSON array of objects matching SPEC", TOOL_COMP_FILE, 0,
     NULL, NULL, NULL},
    {TOOL_OPT_SCHEMA_SHOW, 0, "schema-show", NULL,
     "print the JSON Schema that --schema SPEC sends, and exit", 0, 0, NULL,
     NULL, NULL},
    {TOOL_OPT_END, 0, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL},
};

/* The options that --help after a subcommand's name accepts besides its
 * own. */
static const struct tool_option sub_help[] = {
    {TOOL_OPT_HELP, 'h', "help", NULL, "this help", 0, 0, NULL, NULL, NULL},
    {TOOL_OPT_END, 0, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL},
};

#define COMPLETION_HELPER_ID (-2)
#define MAX_OPTS 96

/* The options one parse accepts, flattened from the groups. */
struct optset {
    const struct tool_option *opt[MAX_OPTS];
    size_t n;
};

static void
add_group(struct optset *s, const struct tool_option *g)
{
    for (; g && g->id != TOOL_OPT_END; g++)
        if (s->n < MAX_OPTS)
            s->opt[s->n++] = g;
}

/* Is an option of that long or short name in the set already? */
static int
taken(const struct optset *s, const struct tool_option *o)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->opt[i]->name, o->name) == 0 ||
            (o->short_name && s->opt[i]->short_name == o->short_name))
            return 1;
    return 0;
}

/* The command's global options (-c -q -v -V, whichever it has) go after a
 * subcommand's name too: `flexiai breaker status -c two.ini`.  A
 * subcommand's own option of the same name wins. */
static void
add_globals(struct optset *s, const struct tool_command *cmd)
{
    for (const struct tool_option *const *g = cmd->groups; g && *g; g++)
        for (const struct tool_option *o = *g; o->id != TOOL_OPT_END; o++)
            if (o->id >= TOOL_OPT_CONFIG && o->id <= TOOL_OPT_VERSION &&
                !taken(s, o) && s->n < MAX_OPTS)
                s->opt[s->n++] = o;
}

static void
collect(const struct tool_command *cmd, const struct tool_subcommand *sub,
        struct optset *s)
{
    s->n = 0;
    if (sub) {
        add_group(s, sub->opts);
        add_group(s, sub_help);
        add_globals(s, cmd);
        return;
    }
    for (const struct tool_option *const *g = cmd->groups; g && *g; g++)
        add_group(s, *g);
}

void
tool_args_init(struct tool_args *a)
{
    memset(a, 0, sizeof(*a));
    a->stream = -1;
    a->on_stream_error = -1;
    fxu_buf_init(&a->stops);
}

void
tool_args_free(struct tool_args *a)
{
    fxu_buf_free(&a->stops);
}

/* ---- --help ------------------------------------------------------------ */

static void
help_option(const struct tool_command *cmd, const struct tool_option *o,
            FILE *fp)
{
    char left[128];
    int n = snprintf(
        left, sizeof(left), "  %c%c%s--%s%s%s", o->short_name ? '-' : ' ',
        o->short_name ? o->short_name : ' ', o->short_name ? ", " : "  ",
        o->name, o->arg ? (o->flags & TOOL_OPT_EQUALS ? "=" : " ") : "",
        o->arg ? o->arg : "");
    fputs(left, fp);
    const char *h = o->help;
    if (o->id == TOOL_OPT_STREAM && cmd->stream_help)
        h = cmd->stream_help;
    if (n > 26) {
        fputc('\n', fp);
        n = 0;
    }
    /* help lines start in column 28 */
    for (;;) {
        const char *nl = strchr(h, '\n');
        size_t len = nl ? (size_t)(nl - h) : strlen(h);
        fprintf(fp, "%*s%.*s\n", 27 - n, "", (int)len, h);
        if (nl == NULL)
            break;
        h = nl + 1;
        n = 0;
    }
}

void
tool_help(const struct tool_command *cmd, const struct tool_subcommand *sub,
          FILE *fp)
{
    if (sub) {
        fprintf(fp, "usage: flexiai %s %s%s%s\n\n%s\n", cmd->name, sub->name,
                *sub->synopsis ? " " : "", sub->synopsis, sub->help);
    } else {
        fprintf(fp, "usage: flexiai %s %s\n", cmd->name, cmd->synopsis);
        if (cmd->description)
            fprintf(fp, "\n%s\n", cmd->description);
        if (cmd->subs) {
            fprintf(fp, "\ncommands:\n");
            for (const struct tool_subcommand *s = cmd->subs; s->name; s++) {
                char left[128];
                int n = snprintf(left, sizeof(left), "  %s%s%s", s->name,
                                 *s->synopsis ? " " : "", s->synopsis);
                fputs(left, fp);
                const char *h = s->help;
                if (n > 24) {
                    fputc('\n', fp);
                    n = 0;
                }
                for (;;) {
                    const char *nl = strchr(h, '\n');
                    size_t len = nl ? (size_t)(nl - h) : strlen(h);
                    fprintf(fp, "%*s%.*s\n", 25 - n, "", (int)len, h);
                    if (nl == NULL)
                        break;
                    h = nl + 1;
                    n = 0;
                }
            }
        }
    }
    struct optset s;
    collect(cmd, sub, &s);
    fprintf(fp, "\noptions:\n");
    for (size_t i = 0; i < s.n; i++)
        if (!(s.opt[i]->flags & TOOL_OPT_HIDDEN))
            help_option(cmd, s.opt[i], fp);
    if (!sub && cmd->footer)
        fprintf(fp, "\n%s\n", cmd->footer);
}

const struct tool_subcommand *
tool_find_sub(const struct tool_command *cmd, const char *name)
{
    for (const struct tool_subcommand *s = cmd->subs; s && s->name; s++)
        if (strcmp(s->name, name) == 0)
            return s;
    return NULL;
}

char *
tool_sub_names(const struct tool_command *cmd)
{
    fxu_buf b;
    fxu_buf_init(&b);
    for (const struct tool_subcommand *s = cmd->subs; s && s->name; s++)
        fxu_buf_printf(&b, "%s%s", b.len ? ", " : "", s->name);
    return fxu_buf_steal(&b);
}

/* ---- completion data ------------------------------------------------------
 */

static const char *const comp_names[] = {"none",     "file",     "file-",
                                         "provider", "choice",   "model",
                                         "tool",     "template", "fragment"};

static void
comp_option(const char *where, const struct tool_option *o, FILE *fp)
{
    char sh[3] = {'-', (char)o->short_name, '\0'};
    fprintf(fp, "opt\t%s\t%s\t--%s\t", where, o->short_name ? sh : "", o->name);
    if (o->arg == NULL)
        fputs("flag", fp);
    else if (o->comp == TOOL_COMP_CHOICE)
        fprintf(fp, "choice:%s", o->arg);
    else
        fputs(comp_names[o->comp], fp);
    /* the first line of the help, for shells that show descriptions */
    fprintf(fp, "\t%.*s\n", (int)strcspn(o->help, "\n"), o->help);
}

/*
 * One line per item, fields separated by tabs:
 *   opt  WHERE  -x  --name  KIND  HELP   WHERE: "-" (the command) or a
 *                                        subcommand; -x may be empty;
 *                                        KIND: flag, none, file, file-,
 *                                        provider, model, tool or
 *                                        choice:a|b
 *   sub  NAME   KIND  HELP               a subcommand and what its
 *                                        operands are
 */
void
tool_completion_data(const struct tool_command *cmd, FILE *fp)
{
    struct optset s;
    collect(cmd, NULL, &s);
    for (size_t i = 0; i < s.n; i++)
        if (!(s.opt[i]->flags & TOOL_OPT_HIDDEN))
            comp_option("-", s.opt[i], fp);
    for (const struct tool_subcommand *sub = cmd->subs; sub && sub->name;
         sub++) {
        fprintf(fp, "sub\t%s\t%s\t%.*s\n", sub->name,
                comp_names[sub->positional_comp], (int)strcspn(sub->help, "\n"),
                sub->help);
        collect(cmd, sub, &s);
        for (size_t i = 0; i < s.n; i++)
            if (!(s.opt[i]->flags & TOOL_OPT_HIDDEN))
                comp_option(sub->name, s.opt[i], fp);
    }
}

/* ---- parsing ----------------------------------------------------------------
 */

static void
finish_output(void)
{
    tool_out_flush();
    exit(0);
}

/* Check a flag the way its configuration value will be checked. */
static void
check_value(const struct tool_option *o, const char *arg)
{
    double d;
    long l;
    int bad = 0;
    switch (o->id) {
    case TOOL_OPT_TEMPERATURE:
        bad = fxu_parse_double(arg, &d) || d < 0 || d > 2;
        break;
    case TOOL_OPT_TOP_P:
        bad = fxu_parse_double(arg, &d) || d < 0 || d > 1;
        break;
    case TOOL_OPT_MAX_TOKENS:
        bad = fxu_parse_long(arg, &l) || l < 1;
        break;
    case TOOL_OPT_TIMEOUT:
    case TOOL_OPT_CACHE_TTL:
        bad = fxu_parse_double(arg, &d) || d <= 0;
        break;
    case TOOL_OPT_REASONING:
        bad = strcmp(arg, "none") && strcmp(arg, "low") &&
              strcmp(arg, "medium") && strcmp(arg, "high");
        break;
    default:
        break;
    }
    if (bad)
        tool_usage_error("%s", o->bad);
}

static void
add_override(struct tool_args *a, const char *section, const char *key,
             const char *value)
{
    size_t max = sizeof(a->over) / sizeof(a->over[0]);
    /* a repeated flag replaces its earlier value */
    for (size_t i = 0; i < a->nover; i++)
        if (strcmp(a->over[i].section, section) == 0 &&
            strcmp(a->over[i].key, key) == 0) {
            a->over[i].value = value;
            return;
        }
    if (a->nover == max)
        tool_usage_error("too many options");
    a->over[a->nover].section = section;
    a->over[a->nover].key = key;
    a->over[a->nover].value = value;
    a->nover++;
}

static void
shared_option(const struct tool_command *cmd, const struct tool_subcommand *sub,
              const struct tool_option *o, const char *arg, struct tool_args *a,
              tool_opt_fn fn, void *ud)
{
    if (o->section) {
        if (o->bad)
            check_value(o, arg);
        add_override(a, o->section, o->key, arg);
        return;
    }
    switch (o->id) {
    case TOOL_OPT_CONFIG:
        a->config = arg;
        break;
    case TOOL_OPT_QUIET:
        tool_quiet = 1;
        break;
    case TOOL_OPT_VERBOSE:
        tool_verbose++;
        break;
    case TOOL_OPT_HELP:
        tool_help(cmd, sub, stdout);
        finish_output();
        break;
    case TOOL_OPT_VERSION:
        tool_print_version(cmd->version_extra ? cmd->version_extra() : NULL);
        finish_output();
        break;
    case TOOL_OPT_MODEL:
        if (*arg == '\0')
            tool_usage_error("-m needs a model name");
        a->model = arg;
        break;
    case TOOL_OPT_PROVIDER:
        a->provider = arg;
        break;
    case TOOL_OPT_NO_FAILOVER:
        a->no_failover = 1;
        break;
    case TOOL_OPT_STOP:
        if (strchr(arg, ',') || strchr(arg, '\n'))
            tool_usage_error("--stop text may not contain ',' or newline");
        if (a->nstops++)
            fxu_buf_putc(&a->stops, ',');
        fxu_buf_puts(&a->stops, arg);
        break;
    case TOOL_OPT_STREAM:
    case TOOL_OPT_NO_STREAM:
        a->stream = o->id == TOOL_OPT_STREAM;
        add_override(a, "defaults", "stream", a->stream ? "yes" : "no");
        break;
    case TOOL_OPT_ON_STREAM_ERROR:
        if (strcmp(arg, "continue") == 0)
            a->on_stream_error = FLEXIAI_STREAM_CONTINUE;
        else if (strcmp(arg, "fail") == 0)
            a->on_stream_error = FLEXIAI_STREAM_FAIL;
        else
            tool_usage_error("--on-stream-error must be continue or fail");
        break;
    case TOOL_OPT_NO_LOG:
        a->no_log = 1;
        break;
    case TOOL_OPT_SHOW_REASONING:
        a->show_reasoning = 1;
        break;
    case TOOL_OPT_CACHE:
    case TOOL_OPT_NO_CACHE:
        add_override(a, "cache", "mode",
                     o->id == TOOL_OPT_CACHE ? "on" : "off");
        break;
    case TOOL_OPT_BUDGET: {
        double d;
        if (fxu_parse_double(arg, &d) != 0 || d < 0)
            tool_usage_error("--budget must be an amount, 0 or more");
        a->budget = arg;
        break;
    }
    case TOOL_OPT_TAG:
        if (*arg == '\0')
            tool_usage_error("--tag needs a text");
        a->tag = arg;
        break;
    default:
        if (fn == NULL)
            tool_usage_error("option --%s is not handled here", o->name);
        fn(ud, o->id, arg);
    }
}

/* getopt ran with opterr = 0: say it our way, on one line */
static void
bad_option(char **argv)
{
    const char *arg = optind > 0 ? argv[optind - 1] : "?";
    if (optopt && arg[0] == '-' && arg[1] != '-' && strchr(arg, optopt))
        tool_usage_error("option -%c: unknown, or missing its argument",
                         optopt);
    tool_usage_error("option '%s': unknown, or missing its argument", arg);
}

int
tool_parse(const struct tool_command *cmd, const struct tool_subcommand *sub,
           int argc, char **argv, int stop_at_operand, struct tool_args *a,
           tool_opt_fn fn, void *ud)
{
    struct optset s;
    collect(cmd, sub, &s);
    struct option longopts[MAX_OPTS + 2];
    char shorts[2 * MAX_OPTS + 4];
    size_t ns = 0, nl = 0;
    if (stop_at_operand)
        shorts[ns++] = '+';
    for (size_t i = 0; i < s.n; i++) {
        const struct tool_option *o = s.opt[i];
        longopts[nl].name = o->name;
        longopts[nl].has_arg = o->arg ? required_argument : no_argument;
        longopts[nl].flag = NULL;
        longopts[nl].val = 256 + (int)i;
        nl++;
        if (o->short_name) {
            shorts[ns++] = (char)o->short_name;
            if (o->arg)
                shorts[ns++] = ':';
        }
    }
    shorts[ns] = '\0';
    longopts[nl].name = "completion-helper";
    longopts[nl].has_arg = no_argument;
    longopts[nl].flag = NULL;
    longopts[nl].val = COMPLETION_HELPER_ID;
    nl++;
    memset(&longopts[nl], 0, sizeof(longopts[nl]));

    opterr = 0;
    optind = 0; /* glibc: a fresh scan from argv[1] */
    int c;
    while ((c = getopt_long(argc, argv, shorts, longopts, NULL)) != -1) {
        const struct tool_option *o = NULL;
        if (c == COMPLETION_HELPER_ID) {
            tool_completion_data(cmd, stdout);
            finish_output();
        } else if (c >= 256 && (size_t)(c - 256) < s.n) {
            o = s.opt[c - 256];
        } else {
            for (size_t i = 0; i < s.n && o == NULL; i++)
                if (s.opt[i]->short_name == c)
                    o = s.opt[i];
        }
        if (o == NULL)
            bad_option(argv);
        shared_option(cmd, sub, o, optarg, a, fn, ud);
    }
    return optind;
}
