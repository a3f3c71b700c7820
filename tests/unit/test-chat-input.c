/*
 * test-chat-input.c - the chat input parser (cmd/chat-input.c): lines in,
 * whole inputs out, as the terminal and the scripted loop feed it.
 */
#include "config.h"

#include "chat-input.h"
#include "tap.h"

#include <stdlib.h>

/* Feed the lines of `lines` (NULL-terminated) and return what the first
 * whole input asks for; *done says after how many lines it was whole. */
static int
feed(struct chat_input *in, const char *const *lines, int *done,
     const char **text)
{
    chat_input_reset(in);
    *done = 0;
    for (int i = 0; lines[i]; i++)
        if (chat_input_feed(in, lines[i])) {
            *done = i + 1;
            return chat_input_text(in, text);
        }
    *text = NULL;
    return -1;
}

#define LINES(...) ((const char *const[]){__VA_ARGS__, NULL})

static void
test_single_lines(struct chat_input *in)
{
    const char *text;
    int done;
    is_int(feed(in, LINES("hello"), &done, &text), CHAT_INPUT_TURN,
           "a plain line is a turn");
    is_str(text, "hello", "... with its text");
    ok(!chat_input_pending(in), "... and nothing pending after it");

    is_int(feed(in, LINES("  /help  model"), &done, &text), CHAT_INPUT_COMMAND,
           "a line starting with / (after blanks) is a command");
    is_str(text, "/help  model", "... from its slash");

    is_int(feed(in, LINES("//etc/passwd is a path"), &done, &text),
           CHAT_INPUT_TURN, "// escapes a leading slash");
    is_str(text, "/etc/passwd is a path", "... sending one slash");

    is_int(feed(in, LINES("   "), &done, &text), CHAT_INPUT_NOTHING,
           "a blank line asks for nothing");
    is_int(feed(in, LINES(""), &done, &text), CHAT_INPUT_NOTHING,
           "an empty line asks for nothing");
    is_int(feed(in, LINES("  leading"), &done, &text), CHAT_INPUT_TURN,
           "leading blanks ...");
    is_str(text, "leading", "... are dropped from a turn");
    ok(in->hide, "a line starting with a space stays out of history");
    feed(in, LINES("shown"), &done, &text);
    ok(!in->hide, "other lines go into history");
}

static void
test_continuation(struct chat_input *in)
{
    const char *text;
    int done;
    chat_input_reset(in);
    ok(!chat_input_feed(in, "first \\"), "a trailing backslash continues");
    ok(chat_input_pending(in), "... and leaves the input pending");
    is_int(in->state, CHAT_INPUT_CONTINUED, "... in the continued state");
    ok(chat_input_feed(in, "second"), "the next line ends it");
    is_str(in->text.data, "first \nsecond", "lines joined by a newline");

    is_int(feed(in, LINES("/system be \\", "brief"), &done, &text),
           CHAT_INPUT_COMMAND, "a continued command is still a command");
    is_str(text, "/system be \nbrief", "... with both lines");
    is_int(done, 2, "... whole after two lines");

    is_int(feed(in, LINES("a\\", "b\\", "c"), &done, &text), CHAT_INPUT_TURN,
           "three continued lines");
    is_str(text, "a\nb\nc", "... make one turn");
}

static void
test_blocks(struct chat_input *in)
{
    const char *text;
    int done;
    is_int(feed(in, LINES("\"\"\"", "/not a command", "  indented", "\"\"\""),
                &done, &text),
           CHAT_INPUT_TURN, "a \"\"\" block is a turn even with a slash");
    is_str(text, "/not a command\n  indented",
           "... its lines kept as typed, the closing newline dropped");
    is_int(done, 4, "... whole at the closing quotes");

    is_int(feed(in, LINES("\"\"\"first", "last\"\"\""), &done, &text),
           CHAT_INPUT_TURN, "text beside the quotes");
    is_str(text, "first\nlast", "... belongs to the block");

    is_int(feed(in, LINES("  \"\"\"one line\"\"\"  "), &done, &text),
           CHAT_INPUT_TURN, "a block on one line");
    is_str(text, "one line", "... is its text");
    is_int(done, 1, "... whole at once");

    chat_input_reset(in);
    chat_input_feed(in, "\"\"\"");
    ok(!chat_input_feed(in, "ends in a backslash \\"),
       "a backslash inside a block does not end it");
    is_int(in->state, CHAT_INPUT_BLOCK, "... the block goes on");
    ok(chat_input_feed(in, "\"\"\""), "until the quotes");
    is_str(in->text.data, "ends in a backslash \\",
           "... keeping the backslash");

    is_int(feed(in, LINES("\"\"\"", "\"\"\""), &done, &text),
           CHAT_INPUT_NOTHING, "an empty block asks for nothing");

    chat_input_reset(in);
    chat_input_feed(in, "\"\"\"");
    chat_input_feed(in, "unfinished");
    ok(chat_input_pending(in), "an open block is pending (end of input "
                               "sends it)");
    is_int(chat_input_text(in, &text), CHAT_INPUT_TURN, "... as a turn");
    is_str(text, "unfinished\n", "... with what it holds");
    chat_input_reset(in);
    ok(!chat_input_pending(in) && in->text.len == 0 && !in->block,
       "reset forgets it (Ctrl-C)");

    is_int(feed(in, LINES("x \"\"\"", "y"), &done, &text), CHAT_INPUT_TURN,
           "quotes not at the start open no block");
    is_str(text, "x \"\"\"", "... the line is a turn");
}

int
main(void)
{
    struct chat_input in;
    chat_input_init(&in);
    test_single_lines(&in);
    test_continuation(&in);
    test_blocks(&in);
    chat_input_free(&in);
    return tap_done();
}
