/*
 * chat.h - the chat REPL's shared state and slash-command table.
 *
 * flexiai-chat.c owns the session: options, configuration and client, the
 * conversation, readline, signals and the breaker-event watcher.
 * chat-commands.c holds the slash commands, one table entry each (name,
 * argument usage, help, what to complete, exec function), the way tmux
 * describes its commands.
 */
#ifndef FX_CHAT_H
#define FX_CHAT_H

#include "tool.h"

#include <stddef.h>

/* One conversation message; both strings are owned. */
struct chat_msg {
    char *role; /* "system", "user" or "assistant" */
    char *content;
};

struct chat {
    struct tool_args args; /* the flags, kept to configure the watcher */
    flexiai_config *cfg;
    flexiai_client *client;

    char *provider;      /* only this provider; NULL: auto (failover) */
    char *last_provider; /* who answered last, shown in auto mode */

    /* the conversation; a system prompt, when set, is msgs[0] */
    struct chat_msg *msgs;
    size_t nmsgs, cap;
    char *last_question; /* a turn that failed, for /retry */

    char *session_path; /* --session: saved after every change; may be NULL */

    int interactive;   /* stdin is a terminal: readline, prompts */
    int colour;        /* dim notices, bold prompt */
    int quit;          /* /exit or end of input */
    int last_rc;       /* exit code of the last turn or command */
    int at_line_start; /* output cursor is at column 0 */
};

/* ---- services of flexiai-chat.c for the commands ---------------------- */

/* Configured provider names in failover order. */
size_t chat_providers(const struct chat *c, const char *const **names);
int chat_provider_known(const struct chat *c, const char *name);
/* The provider the prompt shows: the fixed one, else who answered last,
 * else the first in failover order.  NULL when none is configured. */
const char *chat_shown_provider(const struct chat *c);
/* Configured model of a provider ("" when unknown). */
const char *chat_provider_model(const struct chat *c, const char *name);
/* Set a provider's model: reconfigure and rebuild the client.  Returns 0,
 * or an exit code after printing why (the old model then stays). */
int chat_set_model(struct chat *c, const char *provider, const char *model);

/* Run one user turn (the text becomes a user message). Returns 0 or the
 * request's exit code; a failure has been reported. */
int chat_turn(struct chat *c, const char *text);

/* Conversation editing. */
void chat_push(struct chat *c, const char *role, const char *content);
void chat_pop(struct chat *c); /* drops the last message */
void chat_clear(struct chat *c, int keep_system);
const char *chat_system(const struct chat *c);          /* NULL when none */
void chat_set_system(struct chat *c, const char *text); /* NULL: remove */
/* Takes msgs (from chat_read_file) over. */
void chat_replace(struct chat *c, struct chat_msg *msgs, size_t n);

/* Conversation files: the [{role, content}] array `complete --messages`
 * reads.  Both return 0, or an exit code with *err set (the caller frees
 * it): reading 66 when the file cannot be read, 65 when it is malformed;
 * writing (atomically: a temporary file renamed over it, mode 0600) 66
 * when it cannot be written. */
int chat_read_file(const char *path, struct chat_msg **msgs, size_t *n,
                   char **err);
int chat_write_file(const char *path, const struct chat *c, char **err);
/* Save the --session file if there is one (errors are reported). */
void chat_save_session(struct chat *c);
/* Expand a leading ~ ; caller frees. */
char *chat_expand_path(const char *path);

/* Output.  chat_info: confirmations, only at a terminal (stdout).
 * chat_notice: a "flexiai: ..." line on stderr, dim when colour is on. */
void chat_info(struct chat *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void chat_notice(struct chat *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Start a fresh output line if a reply left the cursor mid-line. */
void chat_end_line(struct chat *c);

/* ---- slash commands (chat-commands.c) --------------------------------- */

/* What tab completion offers for a command's arguments. */
enum chat_complete {
    CHAT_COMPLETE_NONE = 0,
    CHAT_COMPLETE_COMMAND,  /* /help CMD */
    CHAT_COMPLETE_PROVIDER, /* provider names and "auto" */
    CHAT_COMPLETE_BREAKER,  /* "reset", then provider names */
    CHAT_COMPLETE_FILE      /* file paths */
};

struct chat_cmd {
    const char *name; /* without the slash */
    const char *args; /* usage of the arguments, "" when none */
    const char *help; /* one line */
    int complete;     /* enum chat_complete */
    /* args: the rest of the line, trimmed ("" when none).  Returns 0 or an
     * exit code after printing one line saying why. */
    int (*exec)(struct chat *c, char *args);
};

extern const struct chat_cmd chat_cmds[];
extern const size_t chat_ncmds;

/* Exact name, else a unique prefix; NULL when unknown or ambiguous (then
 * *ambiguous says which). */
const struct chat_cmd *chat_cmd_find(const char *name, size_t len,
                                     int *ambiguous);
/* Run a line starting with '/'.  Returns 0 or an exit code (64 for an
 * unknown command or bad argument); the session goes on either way. */
int chat_command(struct chat *c, const char *line);

#endif
