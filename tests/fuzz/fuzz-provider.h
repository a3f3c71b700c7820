/*
 * fuzz-provider.h - the body of the provider fuzz targets: the input is
 * used as a whole response body, as an error body for classify(), and as a
 * stream fed through the SSE parser into parse_event() in pieces whose
 * sizes come from the input itself.
 */
#ifndef FUZZ_PROVIDER_H
#define FUZZ_PROVIDER_H

#include "config.h"

#include "fx.h"
#include "http.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int
fuzz_text(void *ud, const char *text, size_t len)
{
    (void)ud;
    (void)text;
    return len == 7; /* sometimes ask to stop */
}

static int
fuzz_event(void *ud, const char *event, const char *data, size_t len)
{
    struct fx_stream *st = ud;
    const struct fx_provider_ops *ops = (const void *)st->ud;
    int rc = ops->parse_event(st, event, data, len);
    return rc != 0 || st->stop_requested;
}

static void
fuzz_provider(const struct fx_provider_ops *ops, const uint8_t *data,
              size_t size)
{
    const char *body = (const char *)data;
    struct fx_response r;
    struct fx_error e;

    fx_response_init(&r);
    memset(&e, 0, sizeof e);
    ops->parse_response(body, size, &r, &e);
    fx_response_free(&r);

    static const long statuses[] = {200, 400, 401, 403, 404, 429, 500, 503};
    struct fx_header hs[] = {
        {"retry-after", "Wed, 21 Oct 2015 07:28:00 GMT"},
        {"x-ratelimit-reset-requests", "6m0s"},
        {"anthropic-ratelimit-tokens-reset", "2026-11-23T09:47:19Z"},
    };
    struct fx_headers h = {hs, size % 4};
    memset(&e, 0, sizeof e);
    ops->classify(statuses[size % 8], body, size, &h, 1.8e9, &e);
    if (memchr(e.msg, '\n', sizeof e.msg) ||
        strnlen(e.msg, sizeof e.msg) == sizeof e.msg)
        abort(); /* one terminated line, always */

    struct fx_sse p;
    struct fx_stream st;
    fx_response_init(&r);
    memset(&st, 0, sizeof st);
    st.resp = &r;
    st.on_text = fuzz_text;
    st.ud = (void *)ops;
    fx_sse_init(&p);
    size_t at = 0, piece = 1;
    while (at < size) {
        piece = 1 + (data[at] ^ piece) % 64;
        if (piece > size - at)
            piece = size - at;
        if (fx_sse_feed(&p, body + at, piece, fuzz_event, &st) != 0)
            break;
        at += piece;
    }
    fx_sse_pending(&p);
    fx_sse_free(&p);
    if (r.text.len < st.emitted)
        abort();
    fx_response_free(&r);
}

#endif
