/*
 * chat-commands.h - the slash commands of flexiai chat, one table entry
 * each (name, argument usage, help, what to complete, exec function), the
 * way tmux describes its commands.  They work on the conversation
 * (chat-conv.h) alone; the terminal reads the table for /help-style tab
 * completion.
 */
#ifndef FX_CHAT_COMMANDS_H
#define FX_CHAT_COMMANDS_H

#include "chat-conv.h"

#include <stddef.h>

/* What tab completion offers for a command's arguments. */
enum chat_complete {
    CHAT_COMPLETE_NONE = 0,
    CHAT_COMPLETE_COMMAND,  /* /help CMD */
    CHAT_COMPLETE_PROVIDER, /* provider names and "auto" */
    CHAT_COMPLETE_BREAKER,  /* "reset", then provider names */
    CHAT_COMPLETE_FILE,     /* file paths */
    CHAT_COMPLETE_RENDER    /* "on", "off" */
};

struct chat_cmd {
    const char *name; /* without the slash */
    const char *args; /* usage of the arguments, "" when none */
    const char *help; /* one line */
    int complete;     /* enum chat_complete */
    /* args: the rest of the line, trimmed ("" when none).  Returns 0 or an
     * exit code after printing one line saying why. */
    int (*exec)(struct chat_conv *c, char *args);
};

extern const struct chat_cmd chat_cmds[];
extern const size_t chat_ncmds;

/* Exact name, else a unique prefix; NULL when unknown or ambiguous (then
 * *ambiguous says which). */
const struct chat_cmd *chat_cmd_find(const char *name, size_t len,
                                     int *ambiguous);
/* Run a line starting with '/'.  Returns 0 or an exit code (64 for an
 * unknown command or bad argument); the session goes on either way. */
int chat_command(struct chat_conv *c, const char *line);

/* ---- templates and fragments (chat-template.c) -------------------------- */

struct tool_template;
struct tool_template_args;
struct tool_fragments;
/* --template: its prompt frames the first question; its fragments and
 * those of -f (fs, taken over) go before it (t and ta outlive the chat). */
void chat_template_start(const struct tool_template *t,
                         const struct tool_template_args *ta,
                         struct tool_fragments *fs);
void chat_template_done(void);
/* The question as sent: the template's prompt (the first time), the
 * waiting fragments before it; NULL after an error line.  Caller frees. */
char *chat_template_question(struct chat_conv *c, const char *text);
/* /fragment [FILE|URL|NAME] */
int chat_cmd_fragment(struct chat_conv *c, char *args);

#endif
