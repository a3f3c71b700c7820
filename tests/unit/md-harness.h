/* md-harness.h - what the Markdown renderer's tests share: rendering a
 * reply whole, cut at given offsets or byte by byte, checking that every
 * split renders alike, and a readable form of the output ({1;35} for an
 * SGR sequence, ─*40 for a long rule).  Included by test-md-render.c and
 * test-md-stream.c after tap.h. */
#ifndef MD_HARNESS_H
#define MD_HARNESS_H

#include "md-render.h"

#include <stdlib.h>
#include <string.h>

#define W 80                /* terminal width for most cases */
#define RULE "\xe2\x94\x80" /* ─ */
#define PAIRS_UP_TO 160     /* every pair of cuts for inputs up to this long */

/* Render s[0, n) fed in pieces cut at cuts[]; the caller frees. */
static char *
render_cuts(const char *s, size_t n, const size_t *cuts, size_t ncuts,
            int width, unsigned flags)
{
    md_render *md = md_new(width, flags);
    fxu_buf out;
    size_t at = 0;
    fxu_buf_init(&out);
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : n;
        md_feed(md, s + at, end - at, &out);
        at = end;
    }
    md_finish(md, &out);
    md_free(md);
    return fxu_buf_steal(&out);
}

static char *
render_bytewise(const char *s, size_t n, int width, unsigned flags)
{
    md_render *md = md_new(width, flags);
    fxu_buf out;
    fxu_buf_init(&out);
    for (size_t i = 0; i < n; i++)
        md_feed(md, s + i, 1, &out);
    md_finish(md, &out);
    md_free(md);
    return fxu_buf_steal(&out);
}

/* SGR sequences written as {1;35} and long rules as ─*40, so that
 * expectations can be read. */
static char *
visible(const char *s)
{
    fxu_buf b;
    fxu_buf_init(&b);
    for (; *s; s++) {
        size_t n = strspn(s + 2, "0123456789;");
        if (s[0] == '\033' && s[1] == '[' && s[2 + n] == 'm') {
            fxu_buf_putc(&b, '{');
            fxu_buf_append(&b, s + 2, n);
            fxu_buf_putc(&b, '}');
            s += 2 + n;
        } else if (strncmp(s, RULE, 3) == 0) {
            size_t run = 0;
            while (strncmp(s + 3 * run, RULE, 3) == 0)
                run++;
            if (run < 4)
                fxu_buf_append(&b, s, 3 * run);
            else
                fxu_buf_printf(&b, RULE "*%zu", run);
            s += 3 * run - 1;
        } else if (s[0] == '\033') {
            fxu_buf_puts(&b, "<ESC>"); /* never expected */
        } else {
            fxu_buf_putc(&b, *s);
        }
    }
    return fxu_buf_steal(&b);
}

/* Every split of the input renders as the whole does; 0 if so. */
static int
splits_agree(const char *s, size_t n, int width, unsigned flags,
             const char *whole, char *what, size_t what_len)
{
    char *got;
    int bad = 0;
    for (size_t i = 0; i <= n && !bad; i++) {
        got = render_cuts(s, n, &i, 1, width, flags);
        if (strcmp(got, whole) != 0) {
            snprintf(what, what_len, "cut at %zu", i);
            bad = 1;
        }
        free(got);
    }
    for (size_t i = 0; n <= PAIRS_UP_TO && i <= n && !bad; i++)
        for (size_t j = i; j <= n && !bad; j++) {
            size_t cuts[2] = {i, j};
            got = render_cuts(s, n, cuts, 2, width, flags);
            if (strcmp(got, whole) != 0) {
                snprintf(what, what_len, "cuts at %zu and %zu", i, j);
                bad = 1;
            }
            free(got);
        }
    if (!bad) {
        got = render_bytewise(s, n, width, flags);
        if (strcmp(got, whole) != 0) {
            snprintf(what, what_len, "byte by byte");
            bad = 1;
        }
        free(got);
    }
    return bad;
}

#endif
