/*
 * chat-conv.h - the conversation of flexiai chat: its messages, which
 * provider answers, model changes, the session file, and one turn.
 *
 * It knows nothing of readline, signals or the terminal: whatever it has
 * to say goes through a struct chat_out of callbacks, so a test can run it
 * and capture every byte.  chat-conv.c keeps no globals.
 */
#ifndef FX_CHAT_CONV_H
#define FX_CHAT_CONV_H

#include "tool.h"

#include <signal.h>
#include <stddef.h>
#include <stdio.h>

struct tool_attach; /* tool-attach.h */

/* Appended to a reply cut short by Ctrl-C, on screen and in the
 * conversation, so the model and a resumed session know. */
#define CHAT_INTERRUPTED_MARK " [interrupted]"

/* Where the conversation's output goes.  Every function is required. */
struct chat_out {
    void *ud;
    /* Reply text as it arrives (never empty). */
    void (*text)(void *ud, const char *text, size_t len);
    /* A remark that ends the reply's line and is no part of it (the
     * interrupted mark): shown dimmed at a terminal only, but the line
     * counts as unfinished either way. */
    void (*aside)(void *ud, const char *text);
    /* Leave the output at the start of a line (after a reply). */
    void (*end_line)(void *ud);
    /* A confirmation ("system prompt set"): at a terminal only. */
    void (*info)(void *ud, const char *msg);
    /* A "flexiai: ..." notice on stderr, dim when colour is on. */
    void (*notice)(void *ud, const char *msg);
    /* A "flexiai: ..." error on stderr. */
    void (*error)(void *ud, const char *msg);
    /* The library's log (failover notices, -v attempts). */
    flexiai_log_fn log;
    /* Markdown rendering of replies: `want` 1 asks for it, 0 turns it
     * off, -1 only asks.  Returns 1 when replies are rendered, else 0 with
     * *why saying why not ("turned off", "stdout is not a terminal"). */
    int (*render)(void *ud, int want, const char **why);
    /* A reply's reasoning (text or summary): `full` all of it
     * (--show-reasoning, /reasoning), else folded to one dim line at a
     * terminal.  May be NULL: not shown. */
    void (*reasoning)(void *ud, const char *text, int full);
};

struct chat_conv {
    flexiai_config *cfg;          /* owned */
    flexiai_client *client;       /* owned; rebuilt when a model changes */
    const struct tool_args *args; /* --no-failover, --on-stream-error */
    const struct chat_out *out;

    /* the messages; a system prompt, when set, is msgs.v[0] */
    struct tool_msgs msgs;
    char *last_question; /* a turn that failed, for /retry */

    char *provider; /* only this provider; NULL: auto (failover) */
    /* /schema: answers are JSON checked against it (NULL: off); owned */
    flexiai_schema *schema;
    char *last_provider;  /* who answered last, shown in auto mode */
    char *last_reasoning; /* the last reply's reasoning (/reasoning) */

    char *session_path; /* saved after every change; may be NULL */
    int save_failed;    /* 73 once saving the session failed */
    int load_failed;    /* 65/66 once a /load failed (scripted: the exit) */

    int interactive; /* a person at a terminal (else scripted) */
    int quit;        /* /exit or end of input: the session ends */

    /* Told of each breaker this chat is about to reset (NULL: the reset
     * failed), so that the watcher of breaker events keeps the echo from
     * Redis quiet; may be NULL. */
    void (*on_reset)(void *ud, const char *provider);
    void *on_reset_ud;

    /* The request's cancel flag (a SIGINT handler sets it) and a flag
     * that is 1 while a request runs; either may be NULL. */
    volatile sig_atomic_t *cancel, *busy;

    /* The conversation id the turns are logged under (a session's own,
     * --cid's); NULL: this process's (tool_ledger_cid()).  Owned. */
    char *cid;

    /* chat-attach.c: the files for the next message (NULL: none yet),
     * and those of sent messages, which keep them */
    struct tool_attach *attach_next;
    struct tool_attach **attach_kept;
    size_t nattach_kept;
    /* --tools: what the model may call in a turn (NULL: nothing); owned.
     * A turn's tool rounds stay inside it: the conversation keeps the
     * question and the final reply. */
    struct tool_loop *tools;
};

/* Take cfg over; args and out must outlive the conversation. */
void chat_conv_init(struct chat_conv *c, flexiai_config *cfg,
                    const struct tool_args *args, const struct chat_out *out);
/* Make the client the turns and breaker commands use (exit 70 when it
 * cannot be made). */
void chat_conv_connect(struct chat_conv *c);
void chat_conv_free(struct chat_conv *c);

/* ---- messages ------------------------------------------------------------ */

void chat_conv_push(struct chat_conv *c, const char *role, const char *content);
void chat_conv_pop(struct chat_conv *c); /* drops the last message */
/* Role of the last message; NULL when there is none. */
const char *chat_conv_last_role(const struct chat_conv *c);
/* Drop every message (but the system prompt when keep_system) and the
 * failed question. */
void chat_conv_clear(struct chat_conv *c, int keep_system);
/* The system prompt (msgs.v[0] when set); NULL when none. */
const char *chat_conv_system(const struct chat_conv *c);
/* Set or replace it; NULL removes it. */
void chat_conv_set_system(struct chat_conv *c, const char *text);
/* Take the messages of *m over (*m is left empty). */
void chat_conv_replace(struct chat_conv *c, struct tool_msgs *m);
/* Drop the last exchange (an answer and its question); 0, or -1 when
 * there is nothing to drop. */
int chat_conv_undo(struct chat_conv *c);
/* The question to ask again: the failed one, else the last one asked
 * (its answer and it are dropped).  NULL when none; caller frees. */
char *chat_conv_take_retry(struct chat_conv *c);

/* ---- providers ----------------------------------------------------------- */

/* Configured provider names in failover order. */
size_t chat_conv_providers(const struct chat_conv *c,
                           const char *const **names);
int chat_conv_provider_known(const struct chat_conv *c, const char *name);
/* Only `name` answers from now on; NULL: failover in configured order. */
void chat_conv_set_provider(struct chat_conv *c, const char *name);
/* The provider the prompt shows: the fixed one, else who answered last,
 * else the first in failover order.  NULL when none is configured. */
const char *chat_conv_shown_provider(const struct chat_conv *c);
/* Configured model of a provider ("" when unknown). */
const char *chat_conv_model(const struct chat_conv *c, const char *name);
/* Set a provider's model: reconfigure and rebuild the client.  Returns 0,
 * or 64 after saying why (the old model then stays). */
int chat_conv_set_model(struct chat_conv *c, const char *provider,
                        const char *model);

/* ---- files --------------------------------------------------------------- */

/* The conversation from / to a conversation file (tool_msgs_read/write).
 * Both return 0, or an exit code with *err set (the caller frees it):
 * saving fails with 73 (cannot create) and names `path`. */
int chat_conv_load(struct chat_conv *c, const char *path, char **err);
int chat_conv_save(const struct chat_conv *c, const char *path, char **err);
/* Save the session file, if there is one, and its state (conversation id,
 * /provider choice; chat-session.c).  0, or 73 after saying why (and then
 * save_failed is 73 too). */
int chat_conv_save_session(struct chat_conv *c);
/* Resume the session's state: its conversation id (a new one when it has
 * none yet) and, unless keep_provider, its /provider choice. */
void chat_conv_resume_session(struct chat_conv *c, int keep_provider);
/* The conversation id the turns are logged under. */
const char *chat_conv_cid(const struct chat_conv *c);

/* ---- output and turns ---------------------------------------------------- */

void chat_conv_info(struct chat_conv *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* A "flexiai: ..." error line (red at a colour terminal). */
void chat_conv_error(struct chat_conv *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* The line that greets a person at a terminal: who answers, how to get
 * help, leave and type several lines.  Caller frees. */
char *chat_conv_greeting(const struct chat_conv *c);

/* ---- tools (chat-tools.c) ----------------------------------------------- */

struct tool_loop_args;
/* The tools of --tools (exits as tool_loop_open() does); at a terminal
 * each call no rule approves is asked about. */
void chat_tools_open(struct chat_conv *c, const struct tool_loop_args *a);
/* /tools: what is on, and which run without asking. */
int chat_tools_show(struct chat_conv *c, char *args);

/* Run one user turn (the text becomes a user message, the reply an
 * assistant message).  Returns 0 or the request's exit code; a failure has
 * been reported and the question kept for /retry. */
int chat_conv_turn(struct chat_conv *c, const char *text);

/* ---- attachments (chat-attach.c) ---------------------------------------- */

/* /attach, -a: a file or URL for the next message, checked now; 0 or the
 * exit code after saying why.  mime NULL: from the content. */
int chat_conv_attach(struct chat_conv *c, const char *spec, const char *mime);
/* /detach: one file (by its name or path) or all (NULL). */
int chat_conv_detach(struct chat_conv *c, const char *name);
/* /show: the files waiting for the next message; a message's file names
 * (" [a.png, b.pdf]", nothing when none). */
void chat_conv_attach_list(const struct chat_conv *c, FILE *fp);
void chat_conv_attach_names(const flexiai_message *m, FILE *fp);
/* A turn: the waiting files onto its question (the last message), then
 * kept with it once it was sent (sent 0: they wait again). */
void chat_conv_attach_turn(struct chat_conv *c);
void chat_conv_attach_done(struct chat_conv *c, int sent);
void chat_conv_attach_free(struct chat_conv *c);
/* A loaded conversation's files (tool_msgs_read_refs()) onto its
 * messages, each checked again: a line for each left out or changed. */
struct tool_attach_refs;
void chat_conv_attach_resume(struct chat_conv *c,
                             const struct tool_attach_refs *r);
/* --cid: the ledger conversation's files (v[i]'s onto message i) the
 * same way. */
struct flexiai_ledger_message;
void chat_conv_attach_from_ledger(struct chat_conv *c,
                                  const struct flexiai_ledger_message *v,
                                  size_t n);
/* What message m's files were sent as (type, size, SHA-256; m's
 * nattachments of them), NULL when not known. */
const flexiai_attachment_info *chat_conv_attach_info(const struct chat_conv *c,
                                                     const flexiai_message *m);

#endif
