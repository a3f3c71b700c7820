/*
 * sse.c - incremental Server-Sent Events parser.
 *
 * Follows the WHATWG "event stream interpretation": lines end in LF, CRLF
 * or CR; a blank line dispatches the event built so far; "data" lines are
 * joined with LF; "event" sets the type; "id" and "retry" are ignored; a
 * line starting with ':' is a comment; one space after the colon is
 * dropped.  The parser is byte based, so a chunk boundary may fall
 * anywhere, including inside a UTF-8 sequence or between CR and LF.
 *
 * Nothing a server sends can make it hold more than FX_SSE_LINE_MAX bytes
 * of one line or FX_SSE_DATA_MAX bytes of one event's data: past either,
 * parsing stops with FX_SSE_E_LINE or FX_SSE_E_EVENT.
 *
 * Speed matters because a long answer arrives as tens of thousands of tiny
 * chunks: lines are found with memchr and handed over in place; bytes are
 * only copied when a line straddles two chunks.
 */
#include "config.h"

#include "fx.h"

#include <string.h>

void
fx_sse_init(struct fx_sse *p)
{
    fxu_buf_init(&p->line);
    fxu_buf_init(&p->data);
    fxu_buf_init(&p->event);
    p->has_data = 0;
    p->last_was_cr = 0;
    p->stopped = 0;
}

void
fx_sse_free(struct fx_sse *p)
{
    fxu_buf_free(&p->line);
    fxu_buf_free(&p->data);
    fxu_buf_free(&p->event);
    p->has_data = 0;
    p->last_was_cr = 0;
    p->stopped = 0;
}

static int
dispatch(struct fx_sse *p, fx_sse_fn fn, void *ud)
{
    int rc = 0;
    if (p->has_data) {
        const char *event = p->event.len ? p->event.data : "";
        const char *data = p->data.data ? p->data.data : "";
        rc = fn(ud, event, data, p->data.len);
    }
    /* Per the spec the type is reset even when nothing was dispatched. */
    fxu_buf_reset(&p->data);
    fxu_buf_reset(&p->event);
    p->has_data = 0;
    return rc;
}

/* One complete line without its terminator. */
static int
process_line(struct fx_sse *p, const char *s, size_t n, fx_sse_fn fn, void *ud)
{
    if (n == 0)
        return dispatch(p, fn, ud);
    if (s[0] == ':')
        return 0; /* comment */

    const char *colon = memchr(s, ':', n);
    size_t namelen = colon ? (size_t)(colon - s) : n;
    const char *value = "";
    size_t vlen = 0;
    if (colon) {
        value = colon + 1;
        vlen = n - namelen - 1;
        if (vlen > 0 && value[0] == ' ') {
            value++;
            vlen--;
        }
    }

    if (namelen == 4 && memcmp(s, "data", 4) == 0) {
        if (p->data.len + vlen + 1 > FX_SSE_DATA_MAX)
            return FX_SSE_E_EVENT;
        if (p->has_data)
            fxu_buf_putc(&p->data, '\n');
        fxu_buf_append(&p->data, value, vlen);
        p->has_data = 1;
    } else if (namelen == 5 && memcmp(s, "event", 5) == 0) {
        fxu_buf_reset(&p->event);
        fxu_buf_append(&p->event, value, vlen);
    }
    /* id, retry and unknown fields are ignored */
    return 0;
}

/*
 * Position of the next byte equal to c at or after `from`, or `n`.  The
 * last answer is cached in *at so a stream that uses only one kind of line
 * end does not rescan the rest of the chunk for the other kind per line.
 */
static size_t
next_of(const char *buf, size_t n, size_t from, char c, size_t *at)
{
    if (*at != (size_t)-1 && *at >= from)
        return *at;
    const char *hit = memchr(buf + from, c, n - from);
    *at = hit ? (size_t)(hit - buf) : n;
    return *at;
}

int
fx_sse_feed(struct fx_sse *p, const char *buf, size_t n, fx_sse_fn fn, void *ud)
{
    size_t i = 0;
    size_t lf_at = (size_t)-1, cr_at = (size_t)-1;

    if (p->stopped)
        return p->stopped;
    if (n == 0)
        return 0;
    if (p->last_was_cr) {
        /* CR ended the previous chunk: an LF here belongs to it. */
        p->last_was_cr = 0;
        if (buf[0] == '\n')
            i = 1;
    }

    while (i < n) {
        size_t lf = next_of(buf, n, i, '\n', &lf_at);
        size_t cr = next_of(buf, n, i, '\r', &cr_at);
        size_t eol = lf < cr ? lf : cr;
        int rc;

        if (p->line.len + (eol - i) > FX_SSE_LINE_MAX) {
            fxu_buf_free(&p->line); /* give the memory back now */
            p->stopped = FX_SSE_E_LINE;
            return p->stopped;
        }
        if (eol == n) {
            fxu_buf_append(&p->line, buf + i, n - i);
            break;
        }
        if (p->line.len > 0) {
            fxu_buf_append(&p->line, buf + i, eol - i);
            rc = process_line(p, p->line.data, p->line.len, fn, ud);
            fxu_buf_reset(&p->line);
        } else {
            rc = process_line(p, buf + i, eol - i, fn, ud);
        }
        i = eol + 1;
        if (buf[eol] == '\r') {
            if (i == n)
                p->last_was_cr = 1;
            else if (buf[i] == '\n')
                i++;
        }
        if (rc != 0) {
            if (rc == FX_SSE_E_EVENT)
                fxu_buf_free(&p->data);
            p->stopped = rc;
            return rc;
        }
    }
    return 0;
}

int
fx_sse_pending(const struct fx_sse *p)
{
    return p->line.len > 0 || p->has_data;
}
