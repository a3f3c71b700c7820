/*
 * fuzz-sse.c - libFuzzer target for the SSE parser: the events must be the
 * same whether the input arrives whole or in pieces (sizes taken from the
 * input), and nothing may crash or leak.  An input starting with "L!" is
 * repeated past the size limits (FX_SSE_LINE_MAX, FX_SSE_DATA_MAX): the
 * parser must stop with the same code either way and never hold more.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -Ilib \
 *       tests/fuzz/fuzz-sse.c lib/sse.c lib/util.c -lm -o fuzz-sse
 *   ./fuzz-sse tests/fuzz/corpus/sse
 */
#include "config.h"

#include "fx.h"
#include "http.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
record(void *ud, const char *event, const char *data, size_t len)
{
    fxu_buf *out = ud;
    if (data[len] != '\0')
        abort();
    fxu_buf_printf(out, "%zu:%s;%zu:", strlen(event), event, len);
    fxu_buf_append(out, data, len);
    return 0;
}

static fxu_buf
run(const uint8_t *data, size_t size, int split, int *pending, int *stopped)
{
    struct fx_sse p;
    fxu_buf out;
    size_t at = 0, piece = 3;
    fx_sse_init(&p);
    fxu_buf_init(&out);
    while (at < size) {
        piece = split ? 1 + (data[at] * 31u + piece) % (split * 8u) : size;
        if (piece > size - at)
            piece = size - at;
        int rc = fx_sse_feed(&p, (const char *)data + at, piece, record, &out);
        if (p.line.len > FX_SSE_LINE_MAX || p.data.len > FX_SSE_DATA_MAX)
            abort(); /* a limit passed */
        if (rc != 0 && rc != FX_SSE_E_LINE && rc != FX_SSE_E_EVENT)
            abort(); /* record() never stops */
        at += piece;
    }
    *pending = fx_sse_pending(&p);
    *stopped = p.stopped;
    fx_sse_free(&p);
    return out;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int pending_whole, pending_split, stop_whole, stop_split;
    uint8_t *big = NULL;
    if (size > 2 && data[0] == 'L' && data[1] == '!') {
        /* the rest, repeated to just past twice the larger limit */
        size_t unit = size - 2, want = 2 * FX_SSE_LINE_MAX + 7;
        big = malloc(want);
        for (size_t i = 0; i < want; i++)
            big[i] = data[2 + i % unit];
        data = big;
        size = want;
    }
    fxu_buf whole = run(data, size, 0, &pending_whole, &stop_whole);
    for (int split = big ? 3 : 1; split <= 3; split++) {
        fxu_buf pieces = run(data, size, split, &pending_split, &stop_split);
        if (pieces.len != whole.len || pending_whole != pending_split ||
            stop_whole != stop_split ||
            (whole.len && memcmp(whole.data, pieces.data, whole.len) != 0))
            abort();
        fxu_buf_free(&pieces);
    }
    fxu_buf_free(&whole);
    free(big);
    return 0;
}
