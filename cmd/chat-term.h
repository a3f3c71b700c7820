/*
 * chat-term.h - flexiai chat's input and output around the conversation:
 * the writer behind struct chat_out (chat-out.c), the two loops that read
 * input, readline's at a terminal and line by line from a script, with the
 * signals, history and tab completion (chat-term.c), and the thread that
 * watches breaker events in Redis (chat-watch.c).
 */
#ifndef FX_CHAT_TERM_H
#define FX_CHAT_TERM_H

#include "chat-conv.h"
#include "md-render.h"

/* ---- output: stdout and stderr (chat-out.c) ------------------------------ */

struct chat_screen {
    int interactive;   /* a person at a terminal: confirmations, marks */
    int colour;        /* dim notices, red errors, bold prompt */
    int at_line_start; /* output cursor is at column 0 */
    /* Markdown: 1 when stdout is a terminal, -1 when NO_COLOR says no,
     * 0 when stdout is not a terminal; render_on is --no-render and
     * /render. */
    int render_ok, render_on;
    md_render *md;    /* the reply being rendered; NULL between replies */
    fxu_buf rendered; /* what md_feed() made of the last piece */
};

/* Colour when both stdout and stderr are terminals, TERM is not dumb and
 * NO_COLOR is not set (or empty). */
int chat_colour_wanted(void);
/* Fill *out with callbacks writing to the terminal described by *s. */
void chat_screen_init(struct chat_screen *s, int interactive, int colour,
                      struct chat_out *out);
void chat_screen_free(struct chat_screen *s);
/* A "flexiai: ..." line on stderr as it is, dim when colour is on. */
void chat_screen_notice_line(const struct chat_screen *s, const char *msg);

/* ---- the input loops (chat-term.c) --------------------------------------- */

/* Install the SIGINT handler (and SIGWINCH with the self-pipe at a
 * terminal) and point c->cancel and c->busy at the flags it keeps. */
void chat_signals_init(struct chat_conv *c);
void chat_signals_done(void);

/* Scripted: each whole input from stdin is a command or a turn, until end
 * of input, /exit or SIGINT.  Returns the exit code of the last turn or
 * command (130 after SIGINT). */
int chat_run_piped(struct chat_conv *c);
/* At a terminal: set readline up and read the history; then readline with
 * completion until Ctrl-D or /exit, lines read from event_fd (when >= 0)
 * shown above the prompt; then keep the history. */
void chat_term_init(struct chat_conv *c, struct chat_screen *s);
void chat_term_run(int event_fd);
void chat_term_done(void);
/* "readline/8.2", for --version. */
const char *chat_readline_version(void);

/* ---- breaker events (chat-watch.c) --------------------------------------- */

struct chat_watcher;
/* Watch the breaker events of the configured providers when [sync]
 * backend = redis, with a configuration of its own from args; NULL
 * otherwise or when it cannot start (a warning says why). */
struct chat_watcher *chat_watch_start(const flexiai_config *cfg,
                                      const struct tool_args *args);
/* This chat resets the breaker of `provider` (a struct chat_conv
 * on_reset callback; NULL: the reset failed): the "closed" event that
 * follows within a few seconds is not shown, the command says so. */
void chat_watch_reset_done(void *w, const char *provider);
/* The descriptor to poll: one line per event. */
int chat_watch_fd(const struct chat_watcher *w);
void chat_watch_stop(struct chat_watcher *w); /* NULL: nothing */

#endif
