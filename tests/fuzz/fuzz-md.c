/*
 * fuzz-md.c - libFuzzer target for the streaming Markdown renderer: the
 * output must be the same whether the reply arrives whole or in pieces
 * (sizes taken from the input), with and without colour, no escape
 * sequence but our SGR may get out, and nothing may crash or leak.
 *
 *   ./configure CC=clang --enable-fuzzers && make tests/fuzz/fuzz-md
 *   tests/fuzz/fuzz-md tests/fuzz/corpus/md
 */
#include "config.h"

#include "md-render.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static fxu_buf
run(const uint8_t *data, size_t size, int split, int width, unsigned flags)
{
    md_render *md = md_new(width, flags);
    fxu_buf out;
    size_t at = 0, piece = 3;
    fxu_buf_init(&out);
    while (at < size) {
        piece = split ? 1 + (data[at] * 31u + piece) % (split * 8u) : size;
        if (piece > size - at)
            piece = size - at;
        md_feed(md, (const char *)data + at, piece, &out);
        at += piece;
    }
    md_finish(md, &out);
    md_free(md);
    return out;
}

/* Only ESC [ digits/semicolons m, and none at all without colour. */
static void
check_escapes(const fxu_buf *out, int plain)
{
    for (size_t i = 0; i < out->len; i++) {
        if (out->data[i] != '\033')
            continue;
        if (plain || i + 1 >= out->len || out->data[i + 1] != '[')
            abort();
        i += 2;
        while (i < out->len && strchr("0123456789;", out->data[i]) &&
               out->data[i] != '\0')
            i++;
        if (i >= out->len || out->data[i] != 'm')
            abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    for (unsigned flags = 0; flags <= MD_NO_COLOR; flags += MD_NO_COLOR) {
        int width = size ? 8 + data[0] % 80 : 80;
        fxu_buf whole = run(data, size, 0, width, flags);
        check_escapes(&whole, flags & MD_NO_COLOR);
        for (int split = 1; split <= 3; split++) {
            fxu_buf pieces = run(data, size, split, width, flags);
            if (pieces.len != whole.len ||
                (whole.len && memcmp(whole.data, pieces.data, whole.len)))
                abort();
            fxu_buf_free(&pieces);
        }
        fxu_buf_free(&whole);
    }
    return 0;
}
