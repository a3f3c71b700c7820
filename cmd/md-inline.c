/*
 * md-inline.c - the inline half of the Markdown renderer: emphasis,
 * ~~strikethrough~~, code spans, links and backslash escapes within one
 * line, and the styled,
 * escaped output everything is written through (SGR sequences, control
 * characters made visible, UTF-8 checked and measured in columns).
 *
 * Streaming rule: every decision is made from the bytes before `hi`
 * only when no byte after `hi` could change it; otherwise md_inline()
 * stops and is called again with more of the line.  A span is matched
 * left to right (an opener takes the first closer that fits), so the
 * whole line and any split of it render the same.
 */
#include "config.h"

#include "md-inline.h"

#include <ctype.h>
#include <string.h>

/* A closer further than this from its opener is not looked for, and a
 * run of delimiters is taken at most MAX_RUN at a time: both bound the
 * work each piece of a streamed line costs while an opener waits, even
 * when a model repeats itself for a megabyte. */
#define MAX_SPAN 1024
#define MAX_RUN 64

enum { NOT_FOUND = -1, NEED_MORE = -2 };

static const struct {
    unsigned bit;
    const char *sgr;
} styles[] = {
    {MD_S_BOLD, "1"},  {MD_S_DIM, "2"},    {MD_S_ITALIC, "3"},
    {MD_S_UNDER, "4"}, {MD_S_STRIKE, "9"}, {MD_S_HEAD, "35"},
    {MD_S_CODE, "36"},
};

static void
sync_style(struct md_out *o)
{
    unsigned want = o->base | o->inl;
    if (o->plain || want == o->shown)
        return;
    if (o->shown)
        fxu_buf_puts(o->buf, "\033[0m");
    if (want) {
        const char *sep = "";
        fxu_buf_puts(o->buf, "\033[");
        for (size_t i = 0; i < sizeof(styles) / sizeof(styles[0]); i++)
            if (want & styles[i].bit) {
                fxu_buf_puts(o->buf, sep);
                fxu_buf_puts(o->buf, styles[i].sgr);
                sep = ";";
            }
        fxu_buf_putc(o->buf, 'm');
    }
    o->shown = want;
}

void
md_out_plain(struct md_out *o)
{
    unsigned base = o->base, inl = o->inl;
    o->base = o->inl = 0;
    sync_style(o);
    o->base = base;
    o->inl = inl;
}

/* Length of the UTF-8 sequence at s[0, n): 1-4 when valid, 0 when not,
 * -1 when a valid beginning is cut short by n. */
static int
utf8_seq(const unsigned char *s, size_t n, unsigned *cp)
{
    unsigned c = s[0], lo = 0x80, hi = 0xBF, v;
    int len;
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xC2 && c <= 0xDF) {
        len = 2;
        v = c & 0x1F;
    } else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        v = c & 0x0F;
        lo = c == 0xE0 ? 0xA0 : 0x80; /* no overlong forms */
        hi = c == 0xED ? 0x9F : 0xBF; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        v = c & 0x07;
        lo = c == 0xF0 ? 0x90 : 0x80;
        hi = c == 0xF4 ? 0x8F : 0xBF;
    } else {
        return 0;
    }
    for (int i = 1; i < len; i++) {
        if ((size_t)i >= n)
            return -1;
        if (s[i] < lo || s[i] > hi)
            return 0;
        v = (v << 6) | (s[i] & 0x3F);
        lo = 0x80;
        hi = 0xBF;
    }
    *cp = v;
    return len;
}

size_t
md_utf8_whole(const char *s, size_t n)
{
    for (size_t back = 1; back <= 4 && back <= n; back++) {
        unsigned char c = (unsigned char)s[n - back];
        unsigned cp;
        if (c < 0x80)
            return n;
        if (c >= 0xC0)
            return utf8_seq((const unsigned char *)s + n - back, back, &cp) < 0
                       ? n - back
                       : n;
    }
    return n;
}

/* Columns a character takes: combining marks none, East Asian wide and
 * emoji two, the rest one.  A small table, not the full Unicode one. */
static int
cp_width(unsigned cp)
{
    if ((cp >= 0x300 && cp <= 0x36F) || (cp >= 0x200B && cp <= 0x200F) ||
        (cp >= 0x20D0 && cp <= 0x20FF) || (cp >= 0xFE00 && cp <= 0xFE0F))
        return 0;
    if ((cp >= 0x1100 && cp <= 0x115F) || (cp >= 0x2E80 && cp <= 0xA4CF) ||
        (cp >= 0xAC00 && cp <= 0xD7A3) || (cp >= 0xF900 && cp <= 0xFAFF) ||
        (cp >= 0xFE30 && cp <= 0xFE4F) || (cp >= 0xFF00 && cp <= 0xFF60) ||
        (cp >= 0xFFE0 && cp <= 0xFFE6) || (cp >= 0x1F300 && cp <= 0x1F64F) ||
        (cp >= 0x1F900 && cp <= 0x1F9FF) || (cp >= 0x20000 && cp <= 0x3FFFD))
        return 2;
    return 1;
}

size_t
md_char_cols(const char *s, size_t n, size_t *cols)
{
    unsigned cp;
    int len = utf8_seq((const unsigned char *)s, n, &cp);
    if (len <= 0) {
        *cols = 1;
        return 1;
    }
    *cols = (size_t)cp_width(cp);
    return (size_t)len;
}

void
md_out_text(struct md_out *o, const char *s, size_t n)
{
    if (n == 0)
        return;
    sync_style(o);
    for (size_t i = 0; i < n;) {
        unsigned char c = (unsigned char)s[i];
        unsigned cp;
        int len;
        if (c == '\t' || (c >= 0x20 && c < 0x7F)) {
            fxu_buf_putc(o->buf, (char)c);
            o->cols++;
            i++;
            continue;
        }
        if (c < 0x80) { /* C0 control or DEL: shown, not obeyed */
            fxu_buf_putc(o->buf, '^');
            fxu_buf_putc(o->buf, c == 0x7F ? '?' : (char)(c + 0x40));
            o->cols += 2;
            i++;
            continue;
        }
        len = utf8_seq((const unsigned char *)s + i, n - i, &cp);
        if (len <= 0) {
            fxu_buf_puts(o->buf, "\xEF\xBF\xBD"); /* U+FFFD */
            o->cols++;
            i++;
        } else if (cp < 0xA0) { /* C1 control, as UTF-8 */
            fxu_buf_printf(o->buf, "<U+%04X>", cp);
            o->cols += 8;
            i += (size_t)len;
        } else {
            fxu_buf_append(o->buf, s + i, (size_t)len);
            o->cols += (size_t)cp_width(cp);
            i += (size_t)len;
        }
    }
}

void
md_out_str(struct md_out *o, const char *s)
{
    md_out_text(o, s, strlen(s));
}

void
md_out_styled(struct md_out *o, unsigned style, const char *s)
{
    unsigned base = o->base, inl = o->inl;
    o->base = style;
    o->inl = 0;
    md_out_str(o, s);
    o->base = base;
    o->inl = inl;
}

void
md_out_eol(struct md_out *o)
{
    o->base = o->inl = 0;
    sync_style(o);
    fxu_buf_putc(o->buf, '\n');
    o->cols = 0;
}

/* ---- finding where a span ends ---------------------------------------- */

static int
is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static int
is_word(char c)
{
    return isalnum((unsigned char)c) || (unsigned char)c >= 0x80;
}

static size_t
run_len(const char *s, size_t at, size_t hi, char c)
{
    size_t n = 0;
    while (at + n < hi && s[at + n] == c && n < MAX_RUN)
        n++;
    return n;
}

/* A run of m ending at hi might go on in the bytes still to come. */
static int
run_open(size_t at, size_t m, size_t hi, int complete)
{
    return !complete && m < MAX_RUN && at + m == hi;
}

/* The scan from an opener at `open` stops at lim; hitting it is final
 * only if the MAX_SPAN cap (not the end of the data) set it. */
static size_t
scan_limit(size_t open, size_t hi, int *capped)
{
    *capped = hi - open >= MAX_SPAN;
    return *capped ? open + MAX_SPAN : hi;
}

/* The closing run of a code span opened by k backticks at `open`. */
static long
code_close(const char *s, size_t open, size_t k, size_t hi, int complete)
{
    int capped;
    size_t lim = scan_limit(open, hi, &capped);
    for (size_t q = open + k; q < lim; q++) {
        size_t m;
        if (s[q] != '`')
            continue;
        m = run_len(s, q, hi, '`');
        if (run_open(q, m, hi, complete))
            return NEED_MORE;
        if (m == k)
            return (long)q;
        q += m - 1;
    }
    return capped || complete ? NOT_FOUND : NEED_MORE;
}

/* Skip a code span starting at q (inside another span's scan): the
 * position after it, or NEED_MORE. */
static long
skip_code(const char *s, size_t q, size_t hi, int complete)
{
    size_t m = run_len(s, q, hi, '`');
    long e;
    if (run_open(q, m, hi, complete))
        return NEED_MORE;
    e = code_close(s, q, m, hi, complete);
    if (e == NEED_MORE)
        return NEED_MORE;
    return e == NOT_FOUND ? (long)(q + m) : e + (long)m;
}

/* A run of m delimiters d at q can close emphasis: it follows a
 * non-space, and an `_` run is not followed by a word character. */
static int
can_close(const char *s, size_t q, size_t m, char d, size_t hi)
{
    char next = q + m < hi ? s[q + m] : ' ';
    if (is_space(s[q - 1]))
        return 0;
    return d != '_' || !is_word(next);
}

static int
can_open(const char *s, size_t lo, size_t pos, size_t k, char d, size_t hi)
{
    char next = pos + k < hi ? s[pos + k] : ' ';
    char prev = pos > lo ? s[pos - 1] : ' ';
    if (is_space(next))
        return 0;
    return d != '_' || !is_word(prev);
}

/* The run of exactly k delimiters d that closes the one at `open`. */
static long
emph_close(const char *s, size_t open, size_t k, char d, size_t hi,
           int complete)
{
    int capped;
    size_t lim = scan_limit(open, hi, &capped);
    for (size_t q = open + k; q < lim;) {
        if (s[q] == '\\') {
            q += 2;
        } else if (s[q] == '`') {
            long e = skip_code(s, q, hi, complete);
            if (e == NEED_MORE)
                return NEED_MORE;
            q = (size_t)e;
        } else if (s[q] == d) {
            size_t m = run_len(s, q, hi, d);
            if (run_open(q, m, hi, complete))
                return NEED_MORE;
            if (m == k && can_close(s, q, m, d, hi))
                return (long)q;
            q += m;
        } else {
            q++;
        }
    }
    return capped || complete ? NOT_FOUND : NEED_MORE;
}

/* The ']' ending a link's text opened at `open`; none if another '['
 * comes first. */
static long
link_text_end(const char *s, size_t open, size_t hi, int complete)
{
    int capped;
    size_t lim = scan_limit(open, hi, &capped);
    for (size_t q = open + 1; q < lim;) {
        if (s[q] == '\\') {
            q += 2;
        } else if (s[q] == '`') {
            long e = skip_code(s, q, hi, complete);
            if (e == NEED_MORE)
                return NEED_MORE;
            q = (size_t)e;
        } else if (s[q] == '[') {
            return NOT_FOUND;
        } else if (s[q] == ']') {
            return (long)q;
        } else {
            q++;
        }
    }
    return capped || complete ? NOT_FOUND : NEED_MORE;
}

/* The ')' matching the '(' at paren (nested pairs allowed, as in
 * Wikipedia addresses). */
static long
link_dest_end(const char *s, size_t open, size_t paren, size_t hi, int complete)
{
    int capped, depth = 0;
    size_t lim = scan_limit(open, hi, &capped);
    for (size_t q = paren; q < lim; q++) {
        if (s[q] == '\\')
            q++;
        else if (s[q] == '(')
            depth++;
        else if (s[q] == ')' && --depth == 0)
            return (long)q;
    }
    return capped || complete ? NOT_FOUND : NEED_MORE;
}

/* ---- rendering spans -------------------------------------------------- */

static size_t
code_span(struct md_out *o, const char *s, size_t pos, size_t hi, int complete)
{
    size_t k = run_len(s, pos, hi, '`'), a, b;
    unsigned inl = o->inl;
    long e;
    if (run_open(pos, k, hi, complete))
        return pos;
    e = code_close(s, pos, k, hi, complete);
    if (e == NEED_MORE)
        return pos;
    if (e == NOT_FOUND) { /* unmatched backticks are text */
        md_out_text(o, s + pos, k);
        return pos + k;
    }
    a = pos + k;
    b = (size_t)e;
    if (b - a >= 2 && s[a] == ' ' && s[b - 1] == ' ') {
        a++;
        b--;
    }
    /* without colour the backticks stay: nothing else would set it apart */
    if (o->plain)
        md_out_text(o, s + pos, k);
    o->inl |= MD_S_CODE;
    md_out_text(o, s + a, b - a);
    o->inl = inl;
    if (o->plain)
        md_out_text(o, s + pos, k);
    return (size_t)e + k;
}

static size_t
emphasis(struct md_out *o, const char *s, size_t lo, size_t pos, size_t hi,
         int complete)
{
    char d = s[pos];
    size_t k = run_len(s, pos, hi, d);
    if (run_open(pos, k, hi, complete))
        return pos;
    if ((d == '~' ? k == 2 : k <= 3) && can_open(s, lo, pos, k, d, hi)) {
        long e = emph_close(s, pos, k, d, hi, complete);
        unsigned inl = o->inl;
        if (e == NEED_MORE)
            return pos;
        if (e != NOT_FOUND) {
            o->inl |= d == '~' ? MD_S_STRIKE
                      : k == 1 ? MD_S_ITALIC
                      : k == 2 ? MD_S_BOLD
                               : MD_S_BOLD | MD_S_ITALIC;
            md_inline(o, s, pos + k, pos + k, (size_t)e, 1);
            o->inl = inl;
            return (size_t)e + k;
        }
    }
    md_out_text(o, s + pos, k);
    return pos + k;
}

static size_t
link_span(struct md_out *o, const char *s, size_t pos, size_t hi, int complete)
{
    long r = link_text_end(s, pos, hi, complete), e;
    size_t url, url_end;
    unsigned inl = o->inl;
    if (r == NEED_MORE)
        return pos;
    if (r == NOT_FOUND)
        goto text;
    if ((size_t)r + 1 == hi)
        return complete ? (md_out_text(o, s + pos, 1), pos + 1) : pos;
    if (s[r + 1] != '(')
        goto text;
    e = link_dest_end(s, pos, (size_t)r + 1, hi, complete);
    if (e == NEED_MORE)
        return pos;
    if (e == NOT_FOUND)
        goto text;
    /* the address, without <> and without a "title" */
    url = (size_t)r + 2;
    while (url < (size_t)e && is_space(s[url]))
        url++;
    url_end = url;
    while (url_end < (size_t)e && !is_space(s[url_end]))
        url_end++;
    if (url_end - url >= 2 && s[url] == '<' && s[url_end - 1] == '>') {
        url++;
        url_end--;
    }
    o->inl |= MD_S_UNDER;
    if ((size_t)r == pos + 1) /* [](url): the address is all there is */
        md_out_text(o, s + url, url_end - url);
    else
        md_inline(o, s, pos + 1, pos + 1, (size_t)r, 1);
    o->inl = inl;
    if ((size_t)r > pos + 1 && url_end > url &&
        !((size_t)r - pos - 1 == url_end - url &&
          memcmp(s + pos + 1, s + url, url_end - url) == 0)) {
        o->inl |= MD_S_DIM;
        md_out_str(o, " (");
        md_out_text(o, s + url, url_end - url);
        md_out_str(o, ")");
        o->inl = inl;
    }
    return (size_t)e + 1;
text:
    md_out_text(o, s + pos, 1);
    return pos + 1;
}

static size_t
escape(struct md_out *o, const char *s, size_t pos, size_t hi, int complete)
{
    if (pos + 1 == hi) {
        if (!complete)
            return pos;
        md_out_text(o, s + pos, 1);
        return pos + 1;
    }
    if (ispunct((unsigned char)s[pos + 1])) {
        md_out_text(o, s + pos + 1, 1);
        return pos + 2;
    }
    md_out_text(o, s + pos, 1);
    return pos + 1;
}

static int
is_markup(char c)
{
    return c == '\\' || c == '`' || c == '*' || c == '_' || c == '~' ||
           c == '[';
}

size_t
md_inline(struct md_out *o, const char *s, size_t lo, size_t pos, size_t hi,
          int complete)
{
    while (pos < hi) {
        size_t next, end;
        switch (s[pos]) {
        case '\\':
            next = escape(o, s, pos, hi, complete);
            break;
        case '`':
            next = code_span(o, s, pos, hi, complete);
            break;
        case '*':
        case '_':
        case '~':
            next = emphasis(o, s, lo, pos, hi, complete);
            break;
        case '[':
            next = link_span(o, s, pos, hi, complete);
            break;
        default:
            end = pos + 1;
            while (end < hi && !is_markup(s[end]))
                end++;
            md_out_text(o, s + pos, end - pos);
            next = end;
        }
        if (next == pos)
            break; /* waiting for more of the line */
        pos = next;
    }
    return pos;
}
