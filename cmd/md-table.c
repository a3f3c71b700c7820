/*
 * md-table.c - a Markdown table, collected whole by md-render.c: its
 * cells rendered and measured, then written in aligned columns with box
 * drawing; a table wider than the terminal gets narrower columns with its
 * cells wrapped inside them (at spaces, inside a word only when the word
 * is wider than its column).  Rows are written as they came only when not
 * even 3 columns a cell fit, or when they are not a table after all (the
 * second row must be the |---|:--:| delimiter row).
 */
#include "config.h"

#include "md-inline.h"

#include <stdlib.h>
#include <string.h>

#define MAX_SPAN 1024 /* as md-inline.c: a code span's closer is no further */
#define MIN_CELL 3    /* columns a wrapped cell keeps at least */
#define SGR_MAX 64    /* a style's escape sequence, as sync_style writes it */

enum align { LEFT, CENTER, RIGHT };

struct cell {
    size_t a, b;   /* the cell's text in its row */
    char *out;     /* rendered */
    size_t cols;   /* its display width */
    fxu_buf lines; /* wrapped: the lines of out, each '\n'-terminated */
    size_t nlines;
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

/* Render the rows into their cells, the widest cell of each column in w;
 * 0 if the table is too wide for `width`. */
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

/* ---- wrapping -------------------------------------------------------- */

/* The length of the escape sequence (ESC [ ... m) at s[i], or 0. */
static size_t
sgr_len(const char *s, size_t i, size_t n)
{
    if (s[i] != '\033' || i + 1 >= n || s[i + 1] != '[')
        return 0;
    size_t k = i + 2;
    while (k < n && s[k] != 'm')
        k++;
    return k < n ? k + 1 - i : 0;
}

struct wrap {
    struct cell *c;
    size_t width;
    fxu_buf cur;       /* the line being filled */
    size_t cur_cols;   /* its columns */
    char sgr[SGR_MAX]; /* the style in effect ("" none): each sequence
                          sync_style writes is a whole style */
};

/* Append s[0, n) (text and escape sequences) to the current line. */
static void
wrap_put(struct wrap *wr, const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t e = sgr_len(s, i, n), cols;
        if (e > 0) {
            int reset = e == 4 && memcmp(s + i, "\033[0m", 4) == 0;
            size_t keep = reset || e >= SGR_MAX ? 0 : e;
            memcpy(wr->sgr, s + i, keep);
            wr->sgr[keep] = '\0';
            fxu_buf_append(&wr->cur, s + i, e);
            i += e;
            continue;
        }
        size_t len = md_char_cols(s + i, n - i, &cols);
        fxu_buf_append(&wr->cur, s + i, len);
        wr->cur_cols += cols;
        i += len;
    }
}

/* End the current line (its style ended too) and start the next one in
 * the same style. */
static void
wrap_break(struct wrap *wr)
{
    if (wr->sgr[0])
        fxu_buf_puts(&wr->cur, "\033[0m");
    fxu_buf_append(&wr->c->lines, wr->cur.data ? wr->cur.data : "",
                   wr->cur.len);
    fxu_buf_putc(&wr->c->lines, '\n');
    wr->c->nlines++;
    fxu_buf_reset(&wr->cur);
    wr->cur_cols = 0;
    fxu_buf_puts(&wr->cur, wr->sgr);
}

/* A word wider than the column: character by character. */
static void
wrap_long_word(struct wrap *wr, const char *s, size_t n)
{
    for (size_t i = 0; i < n;) {
        size_t e = sgr_len(s, i, n), cols;
        size_t len = e ? e : md_char_cols(s + i, n - i, &cols);
        if (e == 0 && wr->cur_cols > 0 && wr->cur_cols + cols > wr->width)
            wrap_break(wr);
        wrap_put(wr, s + i, len);
        i += len;
    }
}

/* Fill c->lines with c->out cut to `width` columns. */
static void
wrap_cell(struct cell *c, size_t width)
{
    struct wrap wr = {.c = c, .width = width, .cur_cols = 0, .sgr = ""};
    fxu_buf_init(&wr.cur);
    const char *s = c->out;
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        if (s[i] == ' ') {
            i++;
            continue;
        }
        size_t j = i, wcols = 0, cols;
        while (j < n && s[j] != ' ') { /* a word, its escapes included */
            size_t e = sgr_len(s, j, n);
            if (e) {
                j += e;
                continue;
            }
            j += md_char_cols(s + j, n - j, &cols);
            wcols += cols;
        }
        if (wr.cur_cols > 0 && wr.cur_cols + 1 + wcols <= width) {
            wrap_put(&wr, " ", 1);
            wrap_put(&wr, s + i, j - i);
        } else if (wcols <= width) {
            if (wr.cur_cols > 0)
                wrap_break(&wr);
            wrap_put(&wr, s + i, j - i);
        } else {
            if (wr.cur_cols > 0 && wr.cur_cols + 2 <= width)
                wrap_put(&wr, " ", 1);
            else if (wr.cur_cols > 0)
                wrap_break(&wr);
            wrap_long_word(&wr, s + i, j - i);
        }
        i = j;
    }
    wrap_break(&wr);
    fxu_buf_free(&wr.cur);
}

/* Narrower columns for a table wider than `width`: the widest ones cut
 * to a common cap, as far as needed.  0 when not even MIN_CELL columns a
 * cell fit. */
static int
shrink(int width, size_t *w, size_t ncols)
{
    size_t frame = 1 + 3 * ncols, avail, lo = MIN_CELL, hi = 0, sum;
    if (width <= 0 || (size_t)width < frame + MIN_CELL * ncols)
        return 0;
    avail = (size_t)width - frame;
    for (size_t j = 0; j < ncols; j++)
        if (w[j] > hi)
            hi = w[j];
    while (lo < hi) { /* the largest cap whose columns fit */
        size_t cap = lo + (hi - lo + 1) / 2;
        sum = 0;
        for (size_t j = 0; j < ncols; j++)
            sum += w[j] < cap ? w[j] : cap;
        if (sum <= avail)
            lo = cap;
        else
            hi = cap - 1;
    }
    for (size_t j = 0; j < ncols; j++)
        if (w[j] > lo)
            w[j] = lo;
    return 1;
}

/* One row of wrapped cells: as many terminal lines as its tallest cell. */
static void
wrapped_row(struct md_out *o, struct row *r, const size_t *w, const int *align,
            size_t ncols)
{
    size_t height = 1;
    for (size_t j = 0; j < r->ncells && j < ncols; j++) {
        wrap_cell(&r->cells[j], w[j]);
        if (r->cells[j].nlines > height)
            height = r->cells[j].nlines;
    }
    const char **at = fxu_xcalloc(ncols, sizeof(*at));
    for (size_t j = 0; j < ncols; j++)
        at[j] = j < r->ncells ? r->cells[j].lines.data : NULL;
    for (size_t k = 0; k < height; k++) {
        for (size_t j = 0; j < ncols; j++) {
            const char *line = at[j], *end = line ? strchr(line, '\n') : NULL;
            size_t len = end ? (size_t)(end - line) : 0, cols = 0, pad;
            for (size_t i = 0; i < len;) {
                size_t e = sgr_len(line, i, len), c = 0;
                i += e ? e : md_char_cols(line + i, len - i, &c);
                cols += c;
            }
            pad = w[j] > cols ? w[j] - cols : 0;
            size_t before = align[j] == RIGHT    ? pad
                            : align[j] == CENTER ? pad / 2
                                                 : 0;
            md_out_styled(o, MD_S_DIM, "│");
            md_out_plain(o);
            spaces(o->buf, before + 1);
            fxu_buf_append(o->buf, line ? line : "", len);
            spaces(o->buf, pad - before + 1);
            at[j] = end ? end + 1 : NULL;
            if (at[j] && *at[j] == '\0')
                at[j] = NULL;
        }
        md_out_styled(o, MD_S_DIM, "│");
        md_out_eol(o);
    }
    free(at);
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
    int fits = 0, wrapped = 0;
    if (nrows >= 2 && is_delimiter_row(&r[1])) {
        fits = measure(o, width, r, nrows, w, ncols);
        wrapped = !fits && shrink(width, w, ncols);
    }
    if (wrapped) {
        for (size_t j = 0; j < r[1].ncells; j++)
            align[j] = delimiter(r[1].s, r[1].cells[j].a, r[1].cells[j].b);
        border(o, top, w, ncols);
        wrapped_row(o, &r[0], w, align, ncols);
        border(o, mid, w, ncols);
        for (size_t i = 2; i < nrows; i++) {
            if (i > 2) /* rows of several lines need telling apart */
                border(o, mid, w, ncols);
            wrapped_row(o, &r[i], w, align, ncols);
        }
        border(o, bottom, w, ncols);
    } else if (!fits) {
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
        for (size_t j = 0; j < r[i].ncells; j++) {
            free(r[i].cells[j].out);
            fxu_buf_free(&r[i].cells[j].lines);
        }
        free(r[i].cells);
    }
    free(w);
    free(align);
    free(r);
}
