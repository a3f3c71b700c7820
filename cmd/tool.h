/*
 * tool.h - the tool layer every flexiai command is built on, as curl's
 * src/tool_*.c sit on libcurl: messages and output (tool-msg.c), option
 * tables with generated --help and shell-completion data (tool-opts.c),
 * the one set-up path from configuration to client (tool-setup.c), and
 * conversation files (tool-msgfile.c).
 *
 * The commands use the public flexiai.h and the shared helpers of fxu.h,
 * nothing else of the library.  Names here start with tool_.
 */
#ifndef FX_TOOL_H
#define FX_TOOL_H

#include "flexiai.h"
#include "fxu.h"

#include <signal.h>
#include <stddef.h>
#include <stdio.h>

/* ---- messages and output (tool-msg.c) ---------------------------------- */

extern const char *tool_progname; /* "flexiai complete", ... for messages */
extern int tool_quiet;            /* -q: no warnings */
extern int tool_verbose;          /* -v: attempt trail; -vv: debug */
/* --json given: a failure that ends the command (tool_die, a usage error,
 * an invalid configuration) also prints one JSON object on stdout, with
 * "error" and "exit_code", so that `| jq` never reads nothing. */
extern int tool_json_failures;
/* exit(code), after that JSON object when it is due. */
void tool_exit(int code) __attribute__((noreturn));

void tool_cmd_init(const char *progname);

/* "flexiai: message" on stderr (one line; newlines flattened). */
void tool_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tool_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tool_die(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));
void tool_usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/* Is a library log line of this level shown under -q / -v? */
int tool_log_shown(flexiai_log_level level);
/* Log callback for the library: prints what tool_log_shown() allows. */
void tool_log_cb(void *ud, flexiai_log_level level, const char *msg);
/* Print a configuration's diagnostics (warnings unless -q or !warnings);
 * returns the number of errors. */
size_t tool_print_diags(const flexiai_config *cfg, int warnings);

/* Write to stdout; on a closed pipe end quietly (exit 141). */
void tool_out(const char *s, size_t n);
void tool_outs(const char *s);
void tool_out_flush(void);

void tool_print_version(const char *extra);

/* ---- what reaches a terminal (tool-term.c) ------------------------------ */

/* Is stdout a terminal (asked once)? */
int tool_stdout_is_tty(void);
/* Append s to out with control characters other than newline and tab
 * made visible (^[, <U+009B>); returns how many bytes of s it took (a
 * last 0xC2 waits for the byte after it). */
size_t tool_term_escape(fxu_buf *out, const char *s, size_t n);
/* Text from outside (an answer, a record): escaped at a terminal, exact
 * bytes otherwise.  tool_out_text_end() after the last piece. */
void tool_out_text(const char *s, size_t n);
void tool_out_text_end(void);

/* Parse "90", "30s", "5m", "2h", "1d"; -1 on error. */
double tool_parse_cli_duration(const char *s);

/* ---- option tables (tool-opts.c) ----------------------------------------- */

/* Ids of the shared options; a command's own options start at
 * TOOL_OPT_CMD. */
enum tool_opt_id {
    TOOL_OPT_END = 0,
    /* global group */
    TOOL_OPT_CONFIG,
    TOOL_OPT_QUIET,
    TOOL_OPT_VERBOSE,
    TOOL_OPT_HELP,
    TOOL_OPT_VERSION,
    /* request group */
    TOOL_OPT_SYSTEM,
    TOOL_OPT_MODEL,
    TOOL_OPT_PROVIDER,
    TOOL_OPT_TEMPERATURE,
    TOOL_OPT_MAX_TOKENS,
    TOOL_OPT_TOP_P,
    TOOL_OPT_STOP,
    TOOL_OPT_TIMEOUT,
    TOOL_OPT_STREAM,
    TOOL_OPT_NO_STREAM,
    TOOL_OPT_NO_FAILOVER,
    TOOL_OPT_ON_STREAM_ERROR,
    /* structured output group (the command handles them) */
    TOOL_OPT_SCHEMA,
    TOOL_OPT_SCHEMA_MULTI,
    TOOL_OPT_SCHEMA_SHOW,
    TOOL_OPT_NO_LOG, /* the request ledger (tool-ledger.c) */
    TOOL_OPT_TAG,
    TOOL_OPT_REASONING,      /* request group */
    TOOL_OPT_SHOW_REASONING, /* tool_opts_reasoning */
    TOOL_OPT_CACHE,          /* tool_opts_cache (tool-budget.c) */
    TOOL_OPT_NO_CACHE,
    TOOL_OPT_CACHE_TTL,
    TOOL_OPT_BUDGET,
    TOOL_OPT_ATTACH, /* tool_opts_attach (tool-attach.h) */
    TOOL_OPT_ATTACH_TYPE,
    TOOL_OPT_CMD = 100
};

/* What a shell offers for an option's argument. */
enum tool_comp {
    TOOL_COMP_NONE = 0,
    TOOL_COMP_FILE,         /* file names */
    TOOL_COMP_FILE_OR_DASH, /* file names and "-" (stdin) */
    TOOL_COMP_PROVIDER,     /* configured provider names */
    TOOL_COMP_CHOICE,       /* the words of `arg`, split at '|' */
    TOOL_COMP_MODEL,        /* model ids cached by `flexiai models` */
    TOOL_COMP_TOOL,         /* [tool.NAME] and [mcp.NAME] names */
    TOOL_COMP_TEMPLATE,     /* template names (tool-template.h) */
    TOOL_COMP_FRAGMENT      /* files and saved fragment names */
};

enum tool_opt_flags {
    TOOL_OPT_HIDDEN = 1, /* accepted, not listed in --help */
    TOOL_OPT_EQUALS = 2  /* help shows --name=ARG */
};

struct tool_option {
    int id;         /* enum tool_opt_id, or TOOL_OPT_CMD + n */
    int short_name; /* 'c', or 0 */
    const char *name;
    const char *arg; /* "FILE", "continue|fail"; NULL: takes no argument */
    const char *help;
    int comp;  /* enum tool_comp */
    int flags; /* enum tool_opt_flags */
    /* Where the value goes: a configuration override (section, key) that
     * the set-up path applies with origin "flag"; NULL when the command
     * or the set-up path handles it by id. */
    const char *section, *key;
    /* A flag is checked like its configuration value, but a bad one is a
     * usage error with this message (e.g. "--top-p must be a number from
     * 0 to 1"); NULL when the configuration's own check is enough. */
    const char *bad;
};
/* A command's own option (no configuration key behind it). */
#define TOOL_OPT(id, s, name, arg, help, comp)                                 \
    {                                                                          \
        id, s, name, arg, help, comp, 0, NULL, NULL, NULL                      \
    }

/* The shared groups, each ended by an entry with id TOOL_OPT_END. */
extern const struct tool_option tool_opts_global[]; /* -c -q -v -h -V */
extern const struct tool_option tool_opts_request[];
/* --schema and --schema-multi (complete, batch) */
extern const struct tool_option tool_opts_schema[];
/* --show-reasoning (complete, chat) */
extern const struct tool_option tool_opts_reasoning[];

/* A subcommand of a command with subcommands (breaker, config). */
struct tool_args;
struct tool_subcommand {
    const char *name;
    const char *synopsis;           /* arguments after the name */
    const char *help;               /* one line (may wrap with \n) */
    const struct tool_option *opts; /* its own options; may be NULL */
    /* Run it: argv[1...] are its operands (argv[0] is not to be used). */
    int (*run)(void *ctx, struct tool_args *a, int argc, char **argv);
    int positional_comp; /* enum tool_comp for its NAME... arguments */
};

struct tool_command {
    const char *name;     /* "complete": messages say "flexiai complete" */
    const char *synopsis; /* "[OPTIONS] [PROMPT...]" */
    const char *description;
    /* option groups, NULL-terminated (tool_opts_global first) */
    const struct tool_option *const *groups;
    const struct tool_subcommand *subs; /* ends with a NULL name; or NULL */
    const char *footer;                 /* after the options */
    const char *(*version_extra)(void); /* e.g. "readline/8.2"; may be NULL */
    /* --stream's help when the command's default differs from complete's
     * ("stream the answer (default: ...)"); NULL: the shared text */
    const char *stream_help;
};

/* What the shared groups collected.  Strings point into argv. */
struct tool_args {
    const char *config; /* -c */
    const char *model;  /* -m */
    const char *provider;
    int no_failover;
    int stream;          /* -1: from the configuration; 0 or 1 */
    int on_stream_error; /* -1: from the configuration */
    /* configuration overrides from flags, applied in order */
    struct tool_override {
        const char *section, *key, *value;
    } over[16];
    size_t nover;
    fxu_buf stops; /* --stop values joined by ',' */
    int nstops;
    int no_log;         /* --no-log: no record in the request ledger */
    const char *tag;    /* --tag TEXT for the ledger record; may be NULL */
    int show_reasoning; /* --show-reasoning: the reasoning on stderr */
    const char *budget; /* --budget AMOUNT: the most this run may spend */
};

/* A command's own option: return 0, or exit through tool_usage_error(). */
typedef void (*tool_opt_fn)(void *ud, int id, const char *arg);

/*
 * Parse argv[1...] against the command's groups (and, when `sub` is
 * not NULL, that subcommand's options).  Shared options fill *a; the
 * command's own go to fn.  -h prints the generated help and exits 0, -V
 * the version, the hidden --completion-helper the completion data; a bad
 * option is one line and exit 64.  `stop_at_operand`: stop at the first
 * non-option (a subcommand's name).  Returns the index of the first
 * operand.
 */
int tool_parse(const struct tool_command *cmd,
               const struct tool_subcommand *sub, int argc, char **argv,
               int stop_at_operand, struct tool_args *a, tool_opt_fn fn,
               void *ud);
void tool_args_init(struct tool_args *a);
void tool_args_free(struct tool_args *a);

/* The generated --help of a command (or of one of its subcommands). */
void tool_help(const struct tool_command *cmd,
               const struct tool_subcommand *sub, FILE *fp);
/* Find a subcommand by exact name; NULL when unknown. */
const struct tool_subcommand *tool_find_sub(const struct tool_command *cmd,
                                            const char *name);
/* "status, reset, open" */
char *tool_sub_names(const struct tool_command *cmd);

/* Completion data for the shells, one line each (see tool-opts.c). */
void tool_completion_data(const struct tool_command *cmd, FILE *fp);

/* ---- one set-up path (tool-setup.c) -------------------------------------- */

enum tool_setup_flags {
    TOOL_SETUP_RESOLVE_SECRETS = 1, /* run api_key_cmd now (config check) */
    TOOL_SETUP_KEEP_ERRORS = 2,     /* return the config even when invalid */
    TOOL_SETUP_SILENT = 4           /* print no diagnostics (a second copy) */
};

/*
 * Load the configuration (files, environment), apply the flags in *a
 * (overrides, then -m for -p's provider, else the first), validate and
 * print diagnostics.  An invalid configuration exits 78 (unless
 * TOOL_SETUP_KEEP_ERRORS: then *rc says so); a -p naming no configured
 * provider exits 64.
 */
flexiai_config *tool_setup_config(const struct tool_args *a, int flags,
                                  int *rc);
/* A client for cfg with tool_log_cb (or `log`, when not NULL).  Exits 70
 * (or `fail_code`) when the client cannot be made. */
flexiai_client *tool_setup_client(flexiai_config *cfg, flexiai_log_fn log,
                                  void *ud, int fail_code);
/* Stream the answer?  From --stream/--no-stream, else the configuration
 * (auto: when stdout is a terminal and `json` is off). */
int tool_stream_wanted(const flexiai_config *cfg, const struct tool_args *a,
                       int json);
/* The nearest of names[] to a mistyped name, NULL when none is near. */
const char *tool_suggest(const char *name, const char *const *names, size_t n);
/* "no provider 'primry' (did you mean 'primary'?)", or the configured
 * names when none is near.  Caller frees. */
char *tool_no_provider(const flexiai_config *cfg, const char *name);
/* --on-stream-error, else the configuration. */
flexiai_stream_error_mode tool_on_stream_error(const flexiai_config *cfg,
                                               const struct tool_args *a);

/* ---- breaker state as people and machines read it (tool-breaker.c) ---- */

/* Local time "2026-11-26 12:03:10", "-" for t <= 0. */
void tool_fmt_time(double t, char *buf, size_t size);
/* One phrase: "closed", "closed (2 failures)", "open (probe in 57s,
 * failure_threshold)", "open (until reset, manual)", "half_open". */
void tool_breaker_describe(const flexiai_breaker_info *b, double now, char *out,
                           size_t len);
/* `breaker status`: a table, a JSON array, or Prometheus text. */
/* store_ok 0: the configured store (Redis) did not answer and the rows come
 * from the fallback; each format says so. */
void tool_breaker_table(const flexiai_breaker_info *info, size_t n,
                        int store_ok);
void tool_breaker_json(const flexiai_breaker_info *info, size_t n,
                       int store_ok);
void tool_breaker_prometheus(const flexiai_breaker_info *info, size_t n,
                             const char *backend, int store_ok);
/* Exit 64 for a name that is no configured provider, unless force. */
void tool_breaker_check_names(flexiai_config *cfg, int force, char **names,
                              int n);
/* Until SIGINT or SIGTERM comes, tool_stop is 0 (breaker watch and sync,
 * which stop on it). */
extern volatile sig_atomic_t tool_stop;
void tool_stop_on_signals(void);
/* Text from the network or a state file, safe for a terminal: control
 * characters as \xNN, invalid UTF-8 as U+FFFD.  Caller frees. */
char *tool_printable(const char *s);

/* ---- where files go (tool-paths.c) ------------------------------------ */

/* ${VAR:-~/fallback}/flexiai, e.g. ("XDG_STATE_HOME", ".local/state");
 * a relative VAR is ignored.  Caller frees. */
char *tool_xdg_dir(const char *var, const char *fallback);
/* PROG beside the running binary (malloc'ed), NULL when not there. */
char *tool_sibling(const char *prog);
/* exec flexiai-NAME (beside this program, else on PATH) with argv, whose
 * argv[0] is replaced; returns 64 only when there is no such command. */
int tool_exec_command(const char *name, int argc, char **argv);

/* ---- model lists (tool-models.c) -------------------------------------- */

#define TOOL_MODELS_WARN_DAYS 30 /* config check --online warns this early */
#define TOOL_MODELS_NO_DATE (-100000L)
/* The listed model `id`, or NULL. */
const flexiai_model *tool_models_find(const flexiai_model_list *l,
                                      const char *id);
/* Whole days from now until a "YYYY-MM-DD" date (negative: past), or
 * TOOL_MODELS_NO_DATE. */
long tool_models_days_left(const char *date, double now);
/* One warning when `model` is not in the list, or shuts down within
 * TOOL_MODELS_WARN_DAYS (or has); returns 1 when it warned. */
int tool_models_warn(const flexiai_model_list *l, const char *model,
                     double now);
/* The list's ids, one a line, to $XDG_CACHE_HOME/flexiai/models/PROVIDER
 * (replaced whole; the completions offer them for -m while a day old at
 * most).  Failures are silent: the cache is a convenience. */
void tool_models_cache(const flexiai_model_list *l);

/* ---- flexiai complete, built into the front too (flexiai-complete.c) --- */

extern const struct tool_command tool_cmd_complete;
int tool_complete_main(int argc, char **argv);

/* ---- a result as JSON (tool-result.c) --------------------------------- */

/* The object `complete --json` prints: text, provider, model,
 * finish_reason, usage, latency_ms, attempts, error, invalid_utf8_replaced
 * (`replaced`), exit_code.  Caller deletes it. */
struct cJSON;
struct cJSON *tool_result_json(const flexiai_result *r, int code,
                               size_t replaced);
/* No silent fallback: a warning line (unless -q) for each provider whose
 * attempt failed on its configuration or credentials (api_key_env unset,
 * HTTP 401/403), once per provider per process, even when another provider
 * answered.  `before` (may be NULL) runs before the first line (to clear a
 * progress line).  Returns 1 when something was said. */
int tool_warn_broken_providers(const flexiai_result *r, void (*before)(void));

/* --show-reasoning: the answer's reasoning text or summary on stderr, dim
 * on a terminal (nothing when there is none). */
void tool_show_reasoning(const flexiai_result *r);
/* The same for any reasoning text (chat's /reasoning). */
void tool_print_reasoning(const char *text);

/* ---- conversation files (tool-msgfile.c) ------------------------------- */

/* Messages whose role and content strings are owned by the list. */
struct tool_msgs {
    flexiai_message *v;
    size_t n, cap;
    size_t replaced; /* invalid UTF-8 bytes read as U+FFFD */
};
void tool_msgs_push(struct tool_msgs *m, const char *role, const char *content);
/* Message i's reasoning_state (an assistant turn's provider state, kept
 * and written with it in conversation files); NULL removes it. */
void tool_msgs_set_state(struct tool_msgs *m, size_t i, const char *state);
void tool_msgs_pop(struct tool_msgs *m);
/* Drop message i. */
void tool_msgs_remove(struct tool_msgs *m, size_t i);
void tool_msgs_free(struct tool_msgs *m);

/* Read a [{role, content}] array from `path` ("-": stdin) into *m (which
 * must be empty); an assistant message may carry "reasoning_state".  0, or 66
 * (cannot read) / 65 (malformed: not JSON, something after the array, a \u0000
 * escape, a bad message) with *err set (the caller frees it).  Invalid UTF-8
 * becomes U+FFFD (counted). */
int tool_msgs_read(const char *path, struct tool_msgs *m, char **err);
/* Input read whole (stdin, --messages, /load, a batch line) is at most
 * this many bytes: [defaults] max_input_bytes, set by tool_setup_config(). */
#define TOOL_MAX_INPUT_DEFAULT 33554432LL
extern long long tool_max_input;
/* Append fp's content to b, up to tool_max_input bytes.  0, or 65 (more
 * than that) / 66 (cannot read) with *err set ("NAME: ..."). */
int tool_read_bounded(FILE *fp, const char *name, fxu_buf *b, char **err);
/* Open a regular file for reading (never blocks on a FIFO); NULL with
 * *err set ("PATH: not a regular file", "PATH: No such file ..."). */
FILE *tool_open_input(const char *path, char **err);
/* A \u0000 escape in JSON text (not an escaped backslash before "u0000"):
 * cJSON would cut the string there without a word. */
int tool_has_nul_escape(const char *text, size_t len);
/* Write one message per line, atomically (a temporary file beside it,
 * renamed over it; mode 0600).  0, or 66 with *err set. */
int tool_msgs_write(const char *path, const flexiai_message *v, size_t n,
                    char **err);

/* ---- the request ledger (tool-ledger.c) ------------------------------ */

/* --since/--until/--before WHEN (a date or a duration back from now) as
 * epoch seconds; a usage error naming opt otherwise. */
double tool_when(const char *opt, const char *arg);
/* Start `flexiai logs import` in the background when the ledger's spool
 * has passed [log] spool_max and no import was started in the last minute
 * (a child of init, its output to /dev/null); never waits for it. */
void tool_ledger_import_if_due(const flexiai_config *cfg,
                               const struct tool_args *a);
/* After opening the ledger (which moves the spool into the database): a
 * spool under spool_max again lets the next full one start an import at
 * once. */
void tool_ledger_import_over(const flexiai_config *cfg);
/*
 * After a request: append its record to the ledger (unless --no-log or
 * [log] mode = off) as `command` with --tag, under conversation `cid`
 * (NULL: this process's own, tool_ledger_cid()).  msgs are the messages
 * sent.  A failure is one warning per process; never fatal.
 */
void tool_ledger_log(const flexiai_config *cfg, const struct tool_args *a,
                     const char *command, const char *cid,
                     const flexiai_message *msgs, size_t n,
                     const flexiai_result *res, int rc);
/* This process's conversation id (a chat session, one complete). */
const char *tool_ledger_cid(void);
/* The same with the tool calls the request ran (--tools; cmd/tool-loop.h),
 * kept with the record in [log] mode = full. */
struct flexiai_ledger_tool_call;
void tool_ledger_log_calls(const flexiai_config *cfg, const struct tool_args *a,
                           const char *command, const char *cid,
                           const flexiai_message *msgs, size_t n,
                           const flexiai_result *res, int rc,
                           const struct flexiai_ledger_tool_call *calls,
                           size_t ncalls);

/* ---- the response cache's flags and the budgets (tool-budget.c) ------- */

/* --cache --no-cache --cache-ttl --budget (complete, chat, batch) */
extern const struct tool_option tool_opts_cache[];

/* The budgets that bind a run: [budget] daily and monthly, --budget. */
struct tool_budget {
    int any;                         /* some budget is set */
    double daily, monthly, run;      /* < 0: not set */
    double day_ledger, month_ledger; /* from the ledger at the start */
    double run_spent;                /* billed by this run so far */
    flexiai_client *client;          /* the shared spend (Redis store) */
    int shared;
    char *line; /* "daily budget 5.00 reached: 5.02 spent" once reached */
};
void tool_budget_init(struct tool_budget *b, const flexiai_config *cfg,
                      flexiai_client *client, const struct tool_args *a);
void tool_budget_free(struct tool_budget *b);
/* Before a request: 1 with req->has_budget and req->budget set to what is
 * left (nothing set without budgets), or 0 when a budget is reached
 * (b->line says which). */
int tool_budget_check(struct tool_budget *b, flexiai_request *req);
/* After a request: its cost counted; 1 when the library refused it for
 * the budget (b->line then says which). */
int tool_budget_after(struct tool_budget *b, const flexiai_result *res);
/* `flexiai usage`: each budget set, what the ledger says is spent of it
 * and what is left, one line each on stdout. */
void tool_budget_report(const flexiai_config *cfg);

#endif
