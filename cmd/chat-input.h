/*
 * chat-input.h - how typed lines become one input of flexiai chat: a line
 * ending in \ continues on the next, """ opens and closes a block (never
 * a command), and the caller decides what a whole input is (// escapes a
 * leading slash: see chat_input_text()).  A pure state machine fed line by
 * line, with no I/O, shared by the terminal and the scripted loop.
 */
#ifndef FX_CHAT_INPUT_H
#define FX_CHAT_INPUT_H

#include "fxu.h"

struct chat_input {
    fxu_buf text; /* the input so far */
    int state;    /* CHAT_INPUT_IDLE, _CONTINUED or _BLOCK */
    int block;    /* the input is a """ block: never a command */
    int hide;     /* its first line started with a space: not in history */
};

enum {
    CHAT_INPUT_IDLE = 0,  /* between inputs */
    CHAT_INPUT_CONTINUED, /* after a line ending in \ */
    CHAT_INPUT_BLOCK      /* inside """ ... """ */
};

void chat_input_init(struct chat_input *in);
void chat_input_free(struct chat_input *in);
/* Forget the input so far (after it was handled, or on Ctrl-C). */
void chat_input_reset(struct chat_input *in);
/* Is an input unfinished (the prompt then says "... ")? */
int chat_input_pending(const struct chat_input *in);
/* Add one physical line, without its newline; returns 1 when in->text
 * holds a whole input. */
int chat_input_feed(struct chat_input *in, const char *line);

/* What a whole input asks for. */
enum chat_input_kind {
    CHAT_INPUT_NOTHING = 0, /* blank */
    CHAT_INPUT_COMMAND,     /* a slash command: *text starts with '/' */
    CHAT_INPUT_TURN         /* a user turn: *text is what is sent */
};
/* Classify the input; *text points into it.  Leading white space goes
 * from anything but a block; "//x" sends "/x". */
int chat_input_text(const struct chat_input *in, const char **text);

#endif
