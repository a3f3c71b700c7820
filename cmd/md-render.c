/*
 * md-render.c - the block half of the Markdown renderer: splits the
 * streamed reply into lines, decides what each line is (heading, list
 * item, quote, rule, fence, table row, code, paragraph) as soon as its
 * first bytes settle it, writes the line's prefix (bullet, bar, number)
 * and hands its content to md-inline.c.  Owns the state that spans lines:
 * the open code fence, the table being collected, the list nesting.
 *
 * A line's kind is decided from a prefix only when no continuation of
 * the line could decide otherwise (classify() answers "undecided" until
 * then), so output is the same however the reply is split.
 */
#include "config.h"

#include "md-render.h"
#include "md-inline.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define MAX_NEST 16  /* list levels told apart */
#define RULE_COLS 40 /* rules and fence labels, when the terminal allows */
/* Line prefixes are read at most this far (blanks, '#'s, fence runs, a
 * rule, quote markers): a line a model repeats itself into for a megabyte
 * then costs no more per piece than an ordinary one. */
#define MAX_MARK 256
#define MAX_QUOTES 16

enum kind {
    K_BLANK,
    K_PARA,
    K_HEADING,
    K_BULLET,
    K_ORDERED,
    K_RULE,
    K_FENCE,     /* a fence opens */
    K_FENCE_END, /* the open fence closes */
    K_CODE,      /* a line inside a fence */
    K_ROW        /* a line starting with '|': maybe part of a table */
};

struct line_kind {
    enum kind kind;
    int quotes;        /* '>' markers before the line's own indent */
    size_t indent;     /* where the line's own indent starts */
    size_t first;      /* its first non-blank byte */
    size_t marker_len; /* of a heading's '#'s, a list number with '.' */
    size_t content;    /* where the inline content starts */
};

struct md_render {
    struct md_out o;
    int width;
    fxu_buf line;       /* the line being received */
    int decided;        /* its kind is known (k), its prefix written */
    struct line_kind k; /* valid when decided */
    size_t pos;         /* how far its content has been written */

    int in_fence;
    char fence_char; /* '`' or '~' */
    size_t fence_len, fence_indent;

    fxu_buf table; /* rows waiting for the table's end, '\n'-terminated */
    size_t table_rows;

    size_t list_indent[MAX_NEST]; /* indents of the open list levels */
    int list_depth;
};

static size_t
skip_blank(const char *s, size_t i, size_t n)
{
    size_t start = i;
    while (i < n && (s[i] == ' ' || s[i] == '\t') && i - start < MAX_MARK)
        i++;
    return i;
}

static size_t
run_of(const char *s, size_t i, size_t n, char c)
{
    size_t r = 0;
    while (i + r < n && s[i + r] == c && r < MAX_MARK)
        r++;
    return r;
}

/* Inside a fence: a code line, or the closing fence.  Returns 0 while
 * undecided. */
static int
classify_fenced(const struct md_render *md, const char *s, size_t n,
                int complete, struct line_kind *k)
{
    size_t i = skip_blank(s, 0, n), r, e;
    k->kind = K_CODE;
    k->content = i < md->fence_indent ? i : md->fence_indent;
    if (i == n)
        return complete;
    if (s[i] != md->fence_char)
        return 1;
    r = run_of(s, i, n, md->fence_char);
    e = skip_blank(s, i + r, n);
    if (i + r == n || e == n) { /* only fence characters and blanks yet */
        if (i + r == n && !complete)
            return 0;
        if (r < md->fence_len)
            return 1;
        if (!complete)
            return 0;
        k->kind = K_FENCE_END;
    }
    return 1;
}

/* A thematic break: three or more of '-', '*' or '_' and blanks only,
 * MAX_MARK bytes at most.
 * Returns 1 yes, 0 no, -1 cannot tell yet. */
static int
is_rule(const char *s, size_t i, size_t n, int complete)
{
    char c = s[i];
    int count = 0;
    if (c != '-' && c != '*' && c != '_')
        return 0;
    if (n - i > MAX_MARK)
        return 0;
    for (; i < n; i++) {
        if (s[i] == c)
            count++;
        else if (s[i] != ' ' && s[i] != '\t')
            return 0;
    }
    return complete ? count >= 3 : -1;
}

/* What the line s[0, n) is; returns 0 while the bytes so far leave it
 * open (complete: the line is whole, which always decides). */
static int
classify(const struct md_render *md, const char *s, size_t n, int complete,
         struct line_kind *k)
{
    size_t i = 0, j, r;
    int rule;
    memset(k, 0, sizeof(*k));
    if (md->in_fence)
        return classify_fenced(md, s, n, complete, k);
    for (;;) { /* quote markers, "> > text" */
        j = skip_blank(s, i, n);
        if (j == n) {
            k->kind = K_BLANK;
            return complete;
        }
        if (s[j] != '>' || k->quotes == MAX_QUOTES)
            break;
        k->quotes++;
        i = j + 1;
        if (i < n && s[i] == ' ')
            i++;
    }
    k->indent = i;
    k->first = k->content = j;
    k->kind = K_PARA;
    switch (s[j]) {
    case '#':
        r = run_of(s, j, n, '#');
        if (r > 6)
            return 1;
        if (j + r == n) {
            k->kind = K_HEADING;
            k->marker_len = r;
            k->content = n;
            return complete;
        }
        if (s[j + r] == ' ' || s[j + r] == '\t') {
            k->kind = K_HEADING;
            k->marker_len = r;
            k->content = j + r + 1;
        }
        return 1;
    case '`':
    case '~':
        if (k->quotes)
            return 1; /* no fences inside quotes: inline code at most */
        r = run_of(s, j, n, s[j]);
        if (r < 3)
            return j + r < n || complete;
        if (!complete)
            return 0; /* the info string is wanted whole */
        if (s[j] == '`' && memchr(s + j + r, '`', n - j - r))
            return 1; /* ```a``` is a code span */
        k->kind = K_FENCE;
        k->marker_len = r;
        return 1;
    case '|':
        if (k->quotes)
            return 1;
        k->kind = K_ROW;
        return complete;
    }
    rule = is_rule(s, j, n, complete);
    if (rule < 0)
        return 0;
    if (rule) {
        k->kind = K_RULE;
        return 1;
    }
    if (s[j] == '-' || s[j] == '*' || s[j] == '+') {
        if (j + 1 == n)
            return complete;
        if (s[j + 1] == ' ' || s[j + 1] == '\t') {
            k->kind = K_BULLET;
            k->marker_len = 1;
            k->content = j + 2;
        }
        return 1;
    }
    if (isdigit((unsigned char)s[j])) {
        r = 0;
        while (j + r < n && isdigit((unsigned char)s[j + r]) && r < 10)
            r++;
        if (j + r == n ||
            (r <= 9 && j + r + 1 == n && (s[j + r] == '.' || s[j + r] == ')')))
            return complete;
        if (r <= 9 && (s[j + r] == '.' || s[j + r] == ')') &&
            (s[j + r + 1] == ' ' || s[j + r + 1] == '\t')) {
            k->kind = K_ORDERED;
            k->marker_len = r + 1;
            k->content = j + r + 2;
        }
    }
    return 1;
}

/* The nesting level of a list item at `indent` columns. */
static int
list_level(struct md_render *md, size_t indent)
{
    while (md->list_depth > 0 && md->list_indent[md->list_depth - 1] > indent)
        md->list_depth--;
    if (md->list_depth == 0 || md->list_indent[md->list_depth - 1] < indent) {
        if (md->list_depth == MAX_NEST)
            return MAX_NEST - 1;
        md->list_indent[md->list_depth++] = indent;
    }
    return md->list_depth - 1;
}

static size_t
columns(const char *s, size_t a, size_t b)
{
    size_t cols = 0;
    for (; a < b; a++)
        cols = s[a] == '\t' ? cols + 4 - cols % 4 : cols + 1;
    return cols;
}

static void
rule(struct md_render *md, const char *label, size_t label_len)
{
    size_t cols =
        md->width > 0 && md->width < RULE_COLS ? (size_t)md->width : RULE_COLS;
    md->o.base = MD_S_DIM;
    if (label_len) {
        md_out_str(&md->o, "── ");
        md_out_text(&md->o, label, label_len);
        md_out_str(&md->o, " ");
    }
    while (md->o.cols < cols)
        md_out_str(&md->o, "─");
    md_out_eol(&md->o);
}

static void
flush_table(struct md_render *md)
{
    if (md->table_rows)
        md_table_render(&md->o, md->width, md->table.data, md->table.len,
                        md->table_rows);
    fxu_buf_reset(&md->table);
    md->table_rows = 0;
}

/* The line's kind is known: write what comes before its content. */
static void
start_line(struct md_render *md, const char *s)
{
    static const char *const bullets[] = {"•", "◦", "▪"};
    const struct line_kind *k = &md->k;
    struct md_out *o = &md->o;
    md->pos = k->content;
    if (k->kind != K_ROW)
        flush_table(md);
    if (k->kind == K_CODE) {
        o->base = MD_S_CODE;
        return;
    }
    if (k->kind == K_RULE || k->kind == K_FENCE || k->kind == K_FENCE_END ||
        k->kind == K_ROW)
        return;
    for (int q = 0; q < k->quotes; q++)
        md_out_styled(o, MD_S_DIM,
                      k->kind == K_BLANK && q == k->quotes - 1 ? "│" : "│ ");
    if (k->kind == K_BLANK)
        return;
    md_out_text(o, s + k->indent, k->first - k->indent);
    if (k->kind == K_BULLET || k->kind == K_ORDERED) {
        int level = list_level(md, columns(s, k->indent, k->first));
        if (k->kind == K_BULLET)
            md_out_str(o, bullets[level % 3]);
        else
            md_out_text(o, s + k->first, k->marker_len);
        md_out_str(o, " ");
    } else if (k->kind == K_HEADING) {
        md->list_depth = 0;
        o->base = MD_S_BOLD | (k->marker_len <= 2 ? MD_S_HEAD : 0) |
                  (k->marker_len == 1 ? MD_S_UNDER : 0);
        if (o->plain) /* without styles the marks are what shows a heading */
            md_out_text(o, s + k->first, k->content - k->first);
    } else if (k->first == 0) {
        md->list_depth = 0; /* a paragraph at the margin ends the lists */
    }
}

static void
open_fence(struct md_render *md, const char *s, size_t n)
{
    size_t lang = skip_blank(s, md->k.first + md->k.marker_len, n), end;
    md->in_fence = 1;
    md->fence_char = s[md->k.first];
    md->fence_len = md->k.marker_len;
    md->fence_indent = md->k.first;
    md->list_depth = 0;
    end = lang;
    while (end < n && s[end] != ' ' && s[end] != '\t')
        end++;
    rule(md, s + lang, end - lang);
}

/* The line is whole: write what waited for its end. */
static void
end_line(struct md_render *md, const char *s, size_t n)
{
    switch (md->k.kind) {
    case K_RULE:
        md->list_depth = 0;
        rule(md, NULL, 0);
        break;
    case K_FENCE:
        open_fence(md, s, n);
        break;
    case K_FENCE_END:
        md->in_fence = 0;
        rule(md, NULL, 0);
        break;
    case K_ROW:
        for (size_t i = 0; i < n; i++) /* a tab would break alignment */
            fxu_buf_putc(&md->table, s[i] == '\t' ? ' ' : s[i]);
        fxu_buf_putc(&md->table, '\n');
        md->table_rows++;
        break;
    default:
        md_out_eol(&md->o);
    }
}

/* Render as much of the current line as is settled. */
static void
advance(struct md_render *md, int complete)
{
    const char *s = md->line.data ? md->line.data : "";
    size_t n = md->line.len;
    if (n && s[n - 1] == '\r')
        n--; /* CRLF; a CR alone would be held until its follower */
    else if (!complete)
        n = md_utf8_whole(s, n);
    if (!md->decided) {
        if (!classify(md, s, n, complete, &md->k))
            return;
        md->decided = 1;
        start_line(md, s);
    }
    switch (md->k.kind) {
    case K_PARA:
    case K_HEADING:
    case K_BULLET:
    case K_ORDERED:
        md->pos = md_inline(&md->o, s, md->k.content, md->pos, n, complete);
        break;
    case K_CODE:
        md_out_text(&md->o, s + md->pos, n - md->pos);
        md->pos = n;
        break;
    default:
        break;
    }
    if (complete) {
        end_line(md, s, n);
        fxu_buf_reset(&md->line);
        md->decided = 0;
        md->pos = 0;
    }
}

md_render *
md_new(int width, unsigned flags)
{
    md_render *md = fxu_xcalloc(1, sizeof(*md));
    md->width = width;
    md->o.plain = (flags & MD_NO_COLOR) != 0;
    fxu_buf_init(&md->line);
    fxu_buf_init(&md->table);
    return md;
}

void
md_feed(md_render *md, const char *text, size_t len, fxu_buf *out)
{
    md->o.buf = out;
    while (len > 0) {
        const char *nl = memchr(text, '\n', len);
        size_t take = nl ? (size_t)(nl - text) : len;
        fxu_buf_append(&md->line, text, take);
        advance(md, nl != NULL);
        if (nl)
            take++;
        text += take;
        len -= take;
    }
}

void
md_finish(md_render *md, fxu_buf *out)
{
    md->o.buf = out;
    if (md->line.len || md->decided)
        advance(md, 1);
    flush_table(md);
    if (md->in_fence) {
        md->in_fence = 0;
        rule(md, NULL, 0);
    }
    md_out_plain(&md->o);
    md->o.base = md->o.inl = 0;
    md->list_depth = 0;
}

void
md_free(md_render *md)
{
    if (md == NULL)
        return;
    fxu_buf_free(&md->line);
    fxu_buf_free(&md->table);
    free(md);
}
