/*
 * md-table.c - a Markdown table, collected whole by md-render.c: its
 * cells rendered and measured, then written in aligned columns with box
 * drawing when the table fits the terminal, or row by row as it came
 * when it does not (or when the rows are not a table after all: the
 * second row must be the |---|:--:| delimiter row).
 */
#include "config.h"

#include "md-inline.h"

#include <stdlib.h>
#include <string.h>

#define MAX_SPAN 1024 /* as md-inline.c: a code span's closer is no further */

enum align { LEFT, CENTER, RIGHT };

struct cell {
    size_t a, b; /* the cell's text in its row */
    char *out;   /* rendered */
    size_t cols; /* its display width */
};

struct row {
    const char *s;
    size_t len, ncells;
    struct cell *cells;
};

static int
blank(char c)
{
    return c == ' ' || c == '\t';
}

/* Where the code span opened by the backticks at i ends (past its
 * closing run), or the end of the opening run if it is not closed. */
static size_t
code_span_end(const char *s, size_t i, size_t b)
{
    size_t k = 0, q;
    while (i + k < b && s[i + k] == '`')
        k++;
    for (q = i + k; q < b && q - i < MAX_SPAN;) {
        size_t m = 0;
        while (q + m < b && s[q + m] == '`')
            m++;
        if (m == k)
            return q + m;
        q += m ? m : 1;
    }
    return i + k;
}

/* Cells between unescaped '|'s outside code spans (a friendlier reading
 * than GFM's, which splits `a|b` too), outer pipes and blanks dropped. */
static void
split_row(struct row *r)
{
    const char *s = r->s;
    size_t a = 0, b = r->len, start;
    while (a < b && blank(s[a]))
        a++;
    while (b > a && blank(s[b - 1]))
        b--;
    if (a < b && s[a] == '|')
        a++;
    if (b > a && s[b - 1] == '|' && !(b - 1 > a && s[b - 2] == '\\'))
        b--;
    r->cells = fxu_xcalloc(b - a + 1, sizeof(*r->cells));
    r->ncells = 0;
    start = a;
    for (size_t i = a; i <= b; i++) {
        if (i < b && s[i] == '`') {
            i = code_span_end(s, i, b) - 1;
            continue;
        }
        if (i < b && !(s[i] == '|' && !(i > a && s[i - 1] == '\\')))
            continue;
        struct cell *c = &r->cells[r->ncells++];
        c->a = start;
        c->b = i;
        while (c->a < c->b && blank(s[c->a]))
            c->a++;
        while (c->b > c->a && blank(s[c->b - 1]))
            c->b--;
        start = i + 1;
    }
}

/* A delimiter cell, ":--", "---", "--:" or ":-:": its alignment, or -1. */
static int
delimiter(const char *s, size_t a, size_t b)
{
    int left = a < b && s[a] == ':', right = b > a && s[b - 1] == ':';
    size_t dashes = 0;
    for (size_t i = a + (size_t)left; i < b - (size_t)right; i++) {
        if (s[i] != '-')
            return -1;
        dashes++;
    }
    if (dashes == 0)
        return -1;
    return left && right ? CENTER : right ? RIGHT : LEFT;
}

static int
is_delimiter_row(const struct row *r)
{
    for (size_t j = 0; j < r->ncells; j++)
        if (delimiter(r->s, r->cells[j].a, r->cells[j].b) < 0)
            return 0;
    return r->ncells > 0;
}

static void
render_cell(struct md_out *o, const struct row *r, struct cell *c,
            unsigned style)
{
    fxu_buf *to = o->buf, text;
    fxu_buf_init(&text);
    o->buf = &text;
    o->cols = 0;
    o->base = style;
    md_inline(o, r->s, c->a, c->a, c->b, 1);
    md_out_plain(o);
    o->base = 0;
    c->out = fxu_buf_steal(&text);
    c->cols = o->cols;
    o->buf = to;
    o->cols = 0;
}

static void
border(struct md_out *o, const char *const glyphs[3], const size_t *w,
       size_t ncols)
{
    o->base = MD_S_DIM;
    md_out_str(o, glyphs[0]);
    for (size_t j = 0; j < ncols; j++) {
        for (size_t k = 0; k < w[j] + 2; k++)
            md_out_str(o, "─");
        md_out_str(o, j + 1 < ncols ? glyphs[1] : glyphs[2]);
    }
    md_out_eol(o);
}

static void
spaces(fxu_buf *b, size_t n)
{
    while (n--)
        fxu_buf_putc(b, ' ');
}

static void
aligned_row(struct md_out *o, const struct row *r, const size_t *w,
            const int *align, size_t ncols)
{
    for (size_t j = 0; j < ncols; j++) {
        const struct cell *c = j < r->ncells ? &r->cells[j] : NULL;
        size_t cols = c ? c->cols : 0, pad = w[j] - cols, before;
        before = align[j] == RIGHT ? pad : align[j] == CENTER ? pad / 2 : 0;
        md_out_styled(o, MD_S_DIM, "│");
        md_out_plain(o);
        spaces(o->buf, before + 1);
        if (c)
            fxu_buf_puts(o->buf, c->out);
        spaces(o->buf, pad - before + 1);
    }
    md_out_styled(o, MD_S_DIM, "│");
    md_out_eol(o);
}

/* Render the rows into their cells; 0 if the table is too wide. */
static int
measure(struct md_out *o, int width, struct row *r, size_t nrows, size_t *w,
        size_t ncols)
{
    size_t total = 1;
    for (size_t i = 0; i < nrows; i++) {
        if (i == 1)
            continue;
        for (size_t j = 0; j < r[i].ncells; j++) {
            render_cell(o, &r[i], &r[i].cells[j], i == 0 ? MD_S_BOLD : 0);
            if (r[i].cells[j].cols > w[j])
                w[j] = r[i].cells[j].cols;
        }
    }
    for (size_t j = 0; j < ncols; j++)
        total += w[j] + 3;
    return width <= 0 || total <= (size_t)width;
}

static void
as_it_came(struct md_out *o, const struct row *r, size_t nrows)
{
    for (size_t i = 0; i < nrows; i++) {
        md_inline(o, r[i].s, 0, 0, r[i].len, 1);
        md_out_eol(o);
    }
}

void
md_table_render(struct md_out *o, int width, const char *rows, size_t len,
                size_t nrows)
{
    static const char *const top[] = {"┌", "┬", "┐"};
    static const char *const mid[] = {"├", "┼", "┤"};
    static const char *const bottom[] = {"└", "┴", "┘"};
    struct row *r = fxu_xcalloc(nrows, sizeof(*r));
    size_t ncols = 0, *w;
    int *align;
    for (size_t i = 0; i < nrows; i++) {
        const char *nl = memchr(rows, '\n', len);
        r[i].s = rows;
        r[i].len = (size_t)(nl - rows);
        len -= r[i].len + 1;
        rows = nl + 1;
        split_row(&r[i]);
        if (r[i].ncells > ncols)
            ncols = r[i].ncells;
    }
    w = fxu_xcalloc(ncols, sizeof(*w));
    align = fxu_xcalloc(ncols, sizeof(*align));
    if (nrows < 2 || !is_delimiter_row(&r[1]) ||
        !measure(o, width, r, nrows, w, ncols)) {
        as_it_came(o, r, nrows);
    } else {
        for (size_t j = 0; j < r[1].ncells; j++)
            align[j] = delimiter(r[1].s, r[1].cells[j].a, r[1].cells[j].b);
        border(o, top, w, ncols);
        aligned_row(o, &r[0], w, align, ncols);
        border(o, mid, w, ncols);
        for (size_t i = 2; i < nrows; i++)
            aligned_row(o, &r[i], w, align, ncols);
        border(o, bottom, w, ncols);
    }
    for (size_t i = 0; i < nrows; i++) {
        for (size_t j = 0; j < r[i].ncells; j++)
            free(r[i].cells[j].out);
        free(r[i].cells);
    }
    free(w);
    free(align);
    free(r);
}
