/*
 * tool-term.c - what reaches a terminal.  A model's answer, a ledger
 * record or a configuration value may hold escape sequences (a clipboard
 * write, a cleared screen, a window title); at a terminal the commands
 * show every control character other than newline and tab instead of
 * sending it, in the form the chat's Markdown renderer uses (^[ for ESC,
 * <U+009B> for a C1 control).  A stdout that is not a terminal gets the
 * bytes exactly as they came: that is the contract for scripts.
 */
#include "config.h"

#include "tool.h"

#include <string.h>
#include <unistd.h>

int
tool_stdout_is_tty(void)
{
    static int tty = -1;
    if (tty < 0)
        tty = isatty(STDOUT_FILENO);
    return tty;
}

size_t
tool_term_escape(fxu_buf *out, const char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n' || c == '\t' || (c >= 0x20 && c < 0x7F) || c > 0xC2 ||
            (c >= 0x80 && c < 0xC2)) {
            fxu_buf_putc(out, (char)c);
            i++;
        } else if (c < 0x80) { /* C0 control or DEL */
            fxu_buf_putc(out, '^');
            fxu_buf_putc(out, c == 0x7F ? '?' : (char)(c + 0x40));
            i++;
        } else if (i + 1 == n) { /* 0xC2 last: its second byte decides */
            return i;
        } else if ((unsigned char)s[i + 1] >= 0x80 &&
                   (unsigned char)s[i + 1] < 0xA0) { /* C1 as UTF-8 */
            fxu_buf_printf(out, "<U+%04X>", (unsigned char)s[i + 1]);
            i += 2;
        } else {
            fxu_buf_putc(out, (char)c);
            i++;
        }
    }
    return i;
}

/* A 0xC2 that ended the last piece, waiting for the byte after it. */
static char held[2];
static size_t nheld;

void
tool_out_text(const char *s, size_t n)
{
    if (!tool_stdout_is_tty()) {
        tool_out(s, n);
        return;
    }
    fxu_buf b;
    fxu_buf_init(&b);
    if (nheld > 0 && n > 0) {
        char two[2] = {held[0], s[0]};
        nheld = 0;
        /* 1: the next byte is another 0xC2, escaped with what follows */
        if (tool_term_escape(&b, two, 2) == 2) {
            s++;
            n--;
        }
    }
    size_t used = tool_term_escape(&b, s, n);
    if (used < n) {
        held[0] = s[used];
        nheld = 1;
    }
    tool_out(b.data ? b.data : "", b.len);
    fxu_buf_free(&b);
}

void
tool_out_text_end(void)
{
    if (nheld > 0)
        tool_out(held, nheld);
    nheld = 0;
}
