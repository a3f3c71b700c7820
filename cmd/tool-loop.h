/*
 * tool-loop.h - the tool loop of complete, chat and batch (issue 22): the
 * model gets the run's tools (--tools); an answer that calls tools has
 * each call run or refused (--approve, approve = auto, chat's question)
 * and the results sent back, until an answer without calls or
 * --max-tool-rounds.  Every model call is a request of its own with
 * failover: a provider that fails after some rounds is replaced by the
 * next, which continues from the history (the library converts it).
 *
 * The tools themselves (what runs, MCP servers) are cmd/tools.h; this file
 * only decides and keeps the record: the calls made, their results, the
 * usage and cost of every model call summed.
 */
#ifndef FX_TOOL_LOOP_H
#define FX_TOOL_LOOP_H

#include "flexiai-ledger.h"
#include "tool.h"
#include "tools.h"

#include <signal.h>
#include <stddef.h>

/* ---- options ------------------------------------------------------------ */

/* Ids of --tools, --approve and --max-tool-rounds: between the shared
 * ids and the commands' own (TOOL_OPT_CMD), so that tool_parse() hands
 * them to the command's callback, which passes them on to
 * tool_loop_option().  80 to 82: tool-template.h has 90 to 92. */
enum {
    TOOL_LOOP_OPT_TOOLS = TOOL_OPT_CMD - 20,
    TOOL_LOOP_OPT_APPROVE,
    TOOL_LOOP_OPT_MAX_ROUNDS
};
#define TOOL_LOOP_MAX_ROUNDS_DEFAULT 8
#define TOOL_LOOP_MAX_ROUNDS_LIMIT 1000

/* The group of the three options (complete, chat, batch). */
extern const struct tool_option tool_loop_opts[];

struct tool_loop_args {
    const char *tools;   /* --tools NAME,...|all; NULL: none */
    const char *approve; /* --approve NAME,...|all; NULL: none */
    long max_rounds;     /* --max-tool-rounds N */
};
void tool_loop_args_init(struct tool_loop_args *a);
/* 1 when `id` is one of the three (taken into *a, or a usage error),
 * else 0. */
int tool_loop_option(struct tool_loop_args *a, int id, const char *arg);

/* ---- the loop ------------------------------------------------------------ */

/* What chat answers for a call it asked about. */
enum tool_loop_answer { TOOL_LOOP_NO = 0, TOOL_LOOP_YES, TOOL_LOOP_ALWAYS };
/* Ask a person about one call; returns an enum tool_loop_answer. */
typedef int (*tool_loop_ask_fn)(void *ud, const flexiai_tool_call *call);

struct tool_loop {
    struct tools *tools; /* owned */
    const flexiai_tool *defs;
    size_t ndefs;
    const char *approve; /* --approve */
    long max_rounds;
    /* chat at a terminal: asked about each call no rule approves; NULL:
     * such a call is answered "not allowed" (complete, batch) */
    tool_loop_ask_fn ask;
    void *ask_ud;
    char **always; /* tools answered "always" this session */
    size_t nalways;
    volatile sig_atomic_t *cancel; /* Ctrl-C: kills a running tool */
    /* -v: one line per call, at FLEXIAI_LOG_ATTEMPT */
    flexiai_log_fn log;
    void *log_ud;
};

/* The tools of --tools (NULL when a->tools is NULL).  A name that is no
 * tool, or a server that does not start, ends the command: one line, exit
 * 64 (unknown name), 78 (a bad parameters schema) or 69 (a server did not
 * start). */
struct tool_loop *tool_loop_open(const flexiai_config *cfg,
                                 const struct tool_loop_args *a);
void tool_loop_free(struct tool_loop *l); /* NULL: nothing */
/* 1 when tool `name` runs without asking: approve = auto, --approve, or
 * "always" this session. */
int tool_loop_approved(const struct tool_loop *l, const char *name);

/* One call as --json, batch lines and the ledger show it. */
struct tool_loop_call {
    char *id, *name, *arguments, *result;
    int is_error;
};

/* One conversation with tools: the caller's messages (borrowed), then
 * the assistant turns with calls and the tool results the loop added
 * (owned). */
struct tool_conv {
    flexiai_message *v;
    size_t n, cap;
    char **owned; /* strings the loop's messages point to */
    size_t nowned, capowned;
    flexiai_tool_call **turns; /* the assistant turns' call arrays */
    size_t *nturn;
    size_t nturns;
    struct tool_loop_call *calls; /* every call, in order */
    size_t ncalls;
    long rounds;          /* model answers whose calls were run */
    flexiai_result total; /* every model call summed so far */
};

void tool_conv_init(struct tool_conv *cv, const flexiai_message *msgs,
                    size_t n);
void tool_conv_free(struct tool_conv *cv);
/* Point req at the conversation and the tools, for the next model call
 * (l NULL: no tools). */
void tool_conv_request(const struct tool_loop *l, struct tool_conv *cv,
                       flexiai_request *req);
/*
 * After a model call that returned *rc with *round (taken over, left
 * empty): 1 when its calls were run and the model must be asked again
 * (tool_conv_request(), then send); 0 when the conversation is over:
 * *round is then the whole of it (usage, cost, latency and attempts of
 * every model call, the last answer's text) and *rc its code: the last
 * call's, 65 when the model still called tools after max_rounds, 130
 * when Ctrl-C came while tools ran.
 */
int tool_conv_step(struct tool_loop *l, struct tool_conv *cv,
                   flexiai_result *round, int *rc);
/* The whole loop with flexiai_complete(): *req as the command built it;
 * returns the code, *res the whole conversation (as tool_conv_step). */
int tool_loop_complete(struct tool_loop *l, flexiai_client *c,
                       flexiai_request *req, struct tool_conv *cv,
                       flexiai_result *res);

/* "tool_calls": [{"id", "name", "arguments", "result", "is_error"}] and
 * "tool_rounds" into a --json object / batch line. */
struct cJSON;
void tool_conv_json(const struct tool_conv *cv, struct cJSON *obj);
/* The calls for a ledger entry (e->tool_calls): an array the caller
 * frees (free() only: the strings are cv's). */
flexiai_ledger_tool_call *tool_conv_ledger_calls(const struct tool_conv *cv);

#endif
