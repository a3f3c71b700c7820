/*
 * chat-input.c - the input parser of flexiai chat: continuation lines,
 * """ blocks and the // escape, fed one line at a time (see chat-input.h).
 */
#include "config.h"

#include "chat-input.h"

#include <ctype.h>
#include <string.h>

void
chat_input_init(struct chat_input *in)
{
    memset(in, 0, sizeof(*in));
    fxu_buf_init(&in->text);
}

void
chat_input_free(struct chat_input *in)
{
    fxu_buf_free(&in->text);
    memset(in, 0, sizeof(*in));
}

void
chat_input_reset(struct chat_input *in)
{
    fxu_buf_reset(&in->text);
    in->state = CHAT_INPUT_IDLE;
    in->block = 0;
    in->hide = 0;
}

int
chat_input_pending(const struct chat_input *in)
{
    return in->state != CHAT_INPUT_IDLE;
}

/* Length of s without trailing white space. */
static size_t
rtrim_len(const char *s)
{
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    return n;
}

static int
ends_with_quotes(const char *s, size_t n)
{
    return n >= 3 && memcmp(s + n - 3, "\"\"\"", 3) == 0;
}

/* A line inside a """ block: text, or the closing quotes. */
static int
feed_block(struct chat_input *in, const char *line)
{
    size_t n = rtrim_len(line);
    if (ends_with_quotes(line, n)) {
        fxu_buf_append(&in->text, line, n - 3);
        /* a closing """ alone on its line ends the text, not a line */
        if (n == 3 && in->text.len > 0 &&
            in->text.data[in->text.len - 1] == '\n')
            in->text.data[--in->text.len] = '\0';
        in->state = CHAT_INPUT_IDLE;
        return 1;
    }
    fxu_buf_puts(&in->text, line);
    fxu_buf_putc(&in->text, '\n');
    return 0;
}

/* The first line of an input opening a """ block at p (after the quotes). */
static int
open_block(struct chat_input *in, const char *p)
{
    in->block = 1;
    size_t n = rtrim_len(p);
    if (ends_with_quotes(p, n)) { /* """one line""" */
        fxu_buf_append(&in->text, p, n - 3);
        return 1;
    }
    if (n > 0) {
        fxu_buf_puts(&in->text, p);
        fxu_buf_putc(&in->text, '\n');
    }
    in->state = CHAT_INPUT_BLOCK;
    return 0;
}

int
chat_input_feed(struct chat_input *in, const char *line)
{
    if (in->state == CHAT_INPUT_BLOCK)
        return feed_block(in, line);
    if (in->state == CHAT_INPUT_IDLE) {
        in->hide = line[0] == ' ';
        const char *p = line;
        while (isspace((unsigned char)*p))
            p++;
        if (strncmp(p, "\"\"\"", 3) == 0)
            return open_block(in, p + 3);
    }
    size_t n = strlen(line);
    if (n > 0 && line[n - 1] == '\\') {
        fxu_buf_append(&in->text, line, n - 1);
        fxu_buf_putc(&in->text, '\n');
        in->state = CHAT_INPUT_CONTINUED;
        return 0;
    }
    fxu_buf_puts(&in->text, line);
    in->state = CHAT_INPUT_IDLE;
    return 1;
}

int
chat_input_text(const struct chat_input *in, const char **text)
{
    const char *p = in->text.data ? in->text.data : "";
    if (!in->block) {
        while (isspace((unsigned char)*p))
            p++;
        if (p[0] == '/' && p[1] != '/') {
            *text = p;
            return CHAT_INPUT_COMMAND;
        }
        if (p[0] == '/')
            p++; /* "//..." sends "/..." */
    }
    *text = p;
    return rtrim_len(p) == 0 ? CHAT_INPUT_NOTHING : CHAT_INPUT_TURN;
}
