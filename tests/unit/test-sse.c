/* test-sse.c - the incremental SSE parser under every kind of split. */
#include "config.h"

#include "fx.h"
#include "http.h"
#include "tap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Events are recorded as "[type]data" followed by '|'. */
struct rec {
    fxu_buf out;
    int events;
    int stop_after; /* return 7 after this many events (0: never) */
};

static int
record(void *ud, const char *event, const char *data, size_t len)
{
    struct rec *r = ud;
    fxu_buf_putc(&r->out, '[');
    fxu_buf_puts(&r->out, event);
    fxu_buf_putc(&r->out, ']');
    fxu_buf_append(&r->out, data, len);
    fxu_buf_putc(&r->out, '|');
    r->events++;
    if (data[len] != '\0') /* data must be NUL-terminated as well */
        fxu_buf_puts(&r->out, "<not terminated>");
    return r->stop_after && r->events >= r->stop_after ? 7 : 0;
}

/* Feed `s` in pieces cut at the given offsets; return the record. */
static char *
parse_cuts(const char *s, size_t n, const size_t *cuts, size_t ncuts,
           int *pending)
{
    struct fx_sse p;
    struct rec r = {{0}, 0, 0};
    size_t at = 0;
    fx_sse_init(&p);
    fxu_buf_init(&r.out);
    for (size_t i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : n;
        fx_sse_feed(&p, s + at, end - at, record, &r);
        at = end;
    }
    if (pending)
        *pending = fx_sse_pending(&p);
    fx_sse_free(&p);
    return fxu_buf_steal(&r.out);
}

static char *
parse_whole(const char *s, int *pending)
{
    return parse_cuts(s, strlen(s), NULL, 0, pending);
}

static char *
parse_bytewise(const char *s)
{
    struct fx_sse p;
    struct rec r = {{0}, 0, 0};
    fx_sse_init(&p);
    fxu_buf_init(&r.out);
    for (size_t i = 0; s[i]; i++)
        fx_sse_feed(&p, s + i, 1, record, &r);
    fx_sse_free(&p);
    return fxu_buf_steal(&r.out);
}

static void
check(const char *stream, const char *want, const char *name)
{
    char *got = parse_whole(stream, NULL);
    is_str(got, want, "%s (one chunk)", name);
    free(got);
    got = parse_bytewise(stream);
    is_str(got, want, "%s (byte by byte)", name);
    free(got);
}

static void
test_basics(void)
{
    check("data: hello\n\n", "[]hello|", "one event");
    check("data: hello\n", "", "no blank line: nothing dispatched");
    check("event: foo\ndata: x\n\ndata: y\n\n", "[foo]x|[]y|",
          "event type, reset after dispatch");
    check("event: foo\n\ndata: z\n\n", "[]z|",
          "event type reset by a blank line even without data");
    check("data: a\ndata: b\ndata: c\n\n", "[]a\nb\nc|", "multi-line data");
    check("data: a\r\ndata: b\r\n\r\n", "[]a\nb|", "CRLF endings");
    check("data: a\rdata: b\r\r", "[]a\nb|", "CR endings");
    check("data: a\r\ndata: b\rdata: c\n\r\n", "[]a\nb\nc|", "mixed endings");
    check(": ping\n\n", "", "comment only");
    check(":comment\ndata: x\n: another\n\n", "[]x|", "comments skipped");
    check("data\n\n", "[]|", "field without colon is data with empty value");
    check("data\ndata\n\n", "[]\n|", "two empty data lines");
    check("data:\n\n", "[]|", "empty data value");
    check("data:x\n\n", "[]x|", "no space after colon");
    check("data:  x\n\n", "[] x|", "only one leading space dropped");
    check("data: a:b: c\n\n", "[]a:b: c|", "colons inside the value");
    check("data: x \n\n", "[]x |", "trailing space kept");
    check("id: 7\nretry: 100\ndata: x\n\n", "[]x|", "id and retry ignored");
    check("Data: x\n\n", "", "field names are case-sensitive");
    check("foo: bar\n\n", "", "unknown field alone dispatches nothing");
    check("event\ndata: x\n\n", "[]x|", "event without colon: empty type");
    check("event: a\nevent: b\ndata: x\n\n", "[b]x|", "last event wins");
    check("\n\n\ndata: x\n\n\n\n", "[]x|", "extra blank lines");
    check("data: {\"a\":1}\n\ndata: [DONE]\n\n", "[]{\"a\":1}|[][DONE]|",
          "openai-like");
}

static void
test_cr_across_chunks(void)
{
    /* CR ends one chunk, LF starts the next: one line end, not two. */
    const char *s = "data: a\r\ndata: b\r\n\r\n";
    size_t cut[] = {8}; /* right after the first CR */
    char *got = parse_cuts(s, strlen(s), cut, 1, NULL);
    is_str(got, "[]a\nb|", "CR | LF split is one line end");
    free(got);

    /* CR at chunk end followed by something other than LF. */
    s = "data: a\r\rdata: b\r\r";
    got = parse_cuts(s, strlen(s), cut, 1, NULL);
    is_str(got, "[]a|[]b|", "CR | CR split is two line ends");
    free(got);

    /* The CR state survives empty feeds. */
    struct fx_sse p;
    struct rec r = {{0}, 0, 0};
    fx_sse_init(&p);
    fx_sse_feed(&p, "data: a\r", 8, record, &r);
    fx_sse_feed(&p, "", 0, record, &r);
    fx_sse_feed(&p, "\n", 1, record, &r);
    fx_sse_feed(&p, "\r\n", 2, record, &r);
    is_str(r.out.data, "[]a|", "CR, empty feed, LF, CRLF");
    fx_sse_free(&p);
    fxu_buf_free(&r.out);

    /* Only the LF immediately after is swallowed. */
    fx_sse_init(&p);
    fxu_buf_init(&r.out);
    r.events = 0;
    fx_sse_feed(&p, "data: a\r", 8, record, &r);
    fx_sse_feed(&p, "\n\n", 2, record, &r);
    is_str(r.out.data, "[]a|", "CR | LF LF dispatches once");
    fx_sse_free(&p);
    fxu_buf_free(&r.out);
}

static void
test_pending(void)
{
    int pending;
    char *got = parse_whole("data: x\n\n", &pending);
    is_int(pending, 0, "complete event: nothing pending");
    free(got);
    got = parse_whole("data: x\n", &pending);
    is_int(pending, 1, "data without blank line is pending");
    free(got);
    got = parse_whole("data: x\n\ndata: {\"half", &pending);
    is_int(pending, 1, "partial line is pending");
    is_str(got, "[]x|", "the complete event came out");
    free(got);
    got = parse_whole("", &pending);
    is_int(pending, 0, "empty stream: nothing pending");
    free(got);
    got = parse_whole(": keep-alive\n", &pending);
    is_int(pending, 0, "comment line: nothing pending");
    free(got);
    got = parse_whole("event: x\n", &pending);
    is_int(pending, 0, "event line without data: nothing to lose");
    free(got);
    got = parse_whole("data: x\r", &pending);
    is_int(pending, 1, "data line ended by CR, no blank line: pending");
    free(got);
}

static void
test_stop(void)
{
    struct fx_sse p;
    struct rec r = {{0}, 0, 2};
    const char *s = "data: 1\n\ndata: 2\n\ndata: 3\n\n";
    fx_sse_init(&p);
    fxu_buf_init(&r.out);
    int rc = fx_sse_feed(&p, s, strlen(s), record, &r);
    is_int(rc, 7, "callback's value returned");
    is_str(r.out.data, "[]1|[]2|", "parsing stopped after the second event");
    rc = fx_sse_feed(&p, "data: 4\n\n", 9, record, &r);
    is_int(rc, 7, "later feeds keep returning it");
    is_int(r.events, 2, "and dispatch nothing");
    fx_sse_free(&p);
    fxu_buf_free(&r.out);
}

/* A stream using every feature, with its expected record. */
static const char sample[] =
    ": hello\r\n"
    "event: message_start\r\n"
    "data: {\"type\":\"message_start\"}\r\n"
    "\r\n"
    "data: line one\n"
    "data: line two\n"
    "\n"
    "event: delta\r"
    "data: caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x8e\x89\r"
    "\r"
    "id: 42\n"
    "retry: 1000\n"
    "data\n"
    "\n"
    "data:no-space\r\n"
    ":comment\r\n"
    "data:  two spaces\r\n"
    "\r\n"
    "event: ping\n"
    "\n"
    "data: [DONE]\n"
    "\n";
static const char sample_want[] =
    "[message_start]{\"type\":\"message_start\"}|"
    "[]line one\nline two|"
    "[delta]caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x8e\x89|"
    "[]|"
    "[]no-space\n two spaces|"
    "[][DONE]|";

static void
test_every_split(void)
{
    size_t n = sizeof sample - 1;
    int bad1 = 0, bad2 = 0;
    char *got = parse_whole(sample, NULL);
    is_str(got, sample_want, "sample stream in one chunk");
    free(got);
    got = parse_bytewise(sample);
    is_str(got, sample_want, "sample stream byte by byte");
    free(got);

    for (size_t i = 0; i <= n; i++) {
        size_t cut[] = {i};
        got = parse_cuts(sample, n, cut, 1, NULL);
        if (strcmp(got, sample_want) != 0)
            bad1++;
        free(got);
    }
    is_int(bad1, 0, "every single split point (%zu)", n + 1);

    for (size_t i = 0; i <= n; i++)
        for (size_t j = i; j <= n; j++) {
            size_t cut[] = {i, j};
            got = parse_cuts(sample, n, cut, 2, NULL);
            if (strcmp(got, sample_want) != 0)
                bad2++;
            free(got);
        }
    is_int(bad2, 0, "every pair of split points");
}

static uint32_t
xorshift(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static int
cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return x < y ? -1 : x > y;
}

static void
test_random_splits(void)
{
    static const uint32_t seeds[] = {1, 42, 2024, 0xdeadbeef, 77777};
    size_t n = sizeof sample - 1;
    for (size_t s = 0; s < sizeof seeds / sizeof seeds[0]; s++) {
        uint32_t state = seeds[s];
        int bad = 0;
        for (int iter = 0; iter < 2000; iter++) {
            size_t cuts[32];
            size_t ncuts = xorshift(&state) % 32;
            for (size_t k = 0; k < ncuts; k++)
                cuts[k] = xorshift(&state) % (n + 1);
            qsort(cuts, ncuts, sizeof cuts[0], cmp_size);
            char *got = parse_cuts(sample, n, cuts, ncuts, NULL);
            if (strcmp(got, sample_want) != 0)
                bad++;
            free(got);
        }
        is_int(bad, 0, "2000 random splittings, seed %u", seeds[s]);
    }
}

static void
test_utf8(void)
{
    /* Two-, three- and four-byte sequences; cut inside each of them. */
    const char *s = "data: \xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 "
                    "\xe4\xb8\xad\xe6\x96\x87\n\n";
    const char *want = "[]\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80 "
                       "\xe4\xb8\xad\xe6\x96\x87|";
    size_t n = strlen(s);
    int bad = 0;
    for (size_t i = 6; i < n - 2; i++)
        for (size_t j = i; j < n - 2; j++) {
            size_t cut[] = {i, j};
            char *got = parse_cuts(s, n, cut, 2, NULL);
            if (strcmp(got, want) != 0)
                bad++;
            free(got);
        }
    is_int(bad, 0, "multibyte characters split anywhere come out intact");
    char *got = parse_bytewise(s);
    is_str(got, want, "multibyte characters byte by byte");
    free(got);
}

static void
test_long_lines(void)
{
    /* A 100 kB data line arriving in 7-byte pieces. */
    fxu_buf s, want;
    fxu_buf_init(&s);
    fxu_buf_init(&want);
    fxu_buf_puts(&s, "data: ");
    fxu_buf_puts(&want, "[]");
    for (int i = 0; i < 100000; i++) {
        char c = (char)('a' + i % 26);
        fxu_buf_putc(&s, c);
        fxu_buf_putc(&want, c);
    }
    fxu_buf_puts(&s, "\r\n\r\n");
    fxu_buf_putc(&want, '|');
    size_t cuts[20000], ncuts = 0;
    for (size_t at = 7; at < s.len && ncuts < 20000; at += 7)
        cuts[ncuts++] = at;
    char *got = parse_cuts(s.data, s.len, cuts, ncuts, NULL);
    ok(strcmp(got, want.data) == 0, "100 kB line in 7-byte pieces");
    free(got);
    fxu_buf_free(&s);
    fxu_buf_free(&want);
}

/* Past FX_SSE_LINE_MAX / FX_SSE_DATA_MAX the parser stops, says which
 * limit, and holds no more than the limit whatever the chunking. */
static void
test_limits(void)
{
    size_t big = FX_SSE_LINE_MAX + 10;
    char *line = malloc(big);
    memset(line, 'a', big);
    memcpy(line, "data: ", 6);
    struct fx_sse p;
    struct rec r = {.stop_after = 0};
    fxu_buf_init(&r.out);
    fx_sse_init(&p);
    int rc = 0;
    for (size_t at = 0; at < big && rc == 0; at += 4096)
        rc = fx_sse_feed(&p, line + at, big - at < 4096 ? big - at : 4096,
                         record, &r);
    is_int(rc, FX_SSE_E_LINE, "a line past 1 MiB in pieces: FX_SSE_E_LINE");
    ok(p.line.len == 0, "...and its memory is given back");
    is_int(fx_sse_feed(&p, "\n\n", 2, record, &r), FX_SSE_E_LINE,
           "...and the parser stays stopped");
    fx_sse_free(&p);
    fx_sse_init(&p);
    line[big - 1] = '\n';
    is_int(fx_sse_feed(&p, line, big, record, &r), FX_SSE_E_LINE,
           "a whole line past 1 MiB in one chunk: FX_SSE_E_LINE");
    fx_sse_free(&p);

    /* many short data lines of one event */
    fx_sse_init(&p);
    const char *piece = "data: 0123456789012345678901234567890123456789\n";
    rc = 0;
    size_t fed = 0;
    while (rc == 0 && fed < 2 * FX_SSE_DATA_MAX) {
        rc = fx_sse_feed(&p, piece, strlen(piece), record, &r);
        fed += strlen(piece);
    }
    is_int(rc, FX_SSE_E_EVENT, "an event past 1 MiB of data: FX_SSE_E_EVENT");
    /* 40 data bytes and a joining LF per piece of 47 */
    ok(p.data.len == 0 && fed / 47 <= FX_SSE_DATA_MAX / 41 + 1,
       "...stopped at the limit, memory given back");
    is_int(r.events, 0, "nothing dispatched");
    fx_sse_free(&p);
    fxu_buf_free(&r.out);
    free(line);
}

static int
count_only(void *ud, const char *event, const char *data, size_t len)
{
    (*(long *)ud)++;
    return 0;
}

/* Not a pass/fail test (timing varies with sanitizers): a diagnostic. */
static void
measure(void)
{
    const long chunks = 20000;
    fxu_buf s;
    fxu_buf_init(&s);
    for (long i = 0; i < chunks; i++)
        fxu_buf_printf(
            &s,
            "data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion."
            "chunk\",\"created\":1,\"model\":\"gpt-4o\",\"choices\":"
            "[{\"index\":0,\"delta\":{\"content\":\" tok%ld\"},"
            "\"finish_reason\":null}]}\n\n",
            i);
    struct fx_sse p;
    long events = 0;
    size_t per = s.len / (size_t)chunks;
    fx_sse_init(&p);
    clock_t t0 = clock();
    /* Network-like pieces that do not line up with events. */
    for (size_t at = 0; at < s.len; at += per - 3) {
        size_t n = s.len - at < per - 3 ? s.len - at : per - 3;
        fx_sse_feed(&p, s.data + at, n, count_only, &events);
    }
    double us = (double)(clock() - t0) / CLOCKS_PER_SEC * 1e6 / chunks;
    fx_sse_free(&p);
    fxu_buf_free(&s);
    is_int(events, chunks, "all events of the timing run dispatched");
    printf("# sse parse: %.3f us CPU per chunk\n", us);
}

int
main(void)
{
    test_basics();
    test_cr_across_chunks();
    test_pending();
    test_stop();
    test_every_split();
    test_random_splits();
    test_utf8();
    test_long_lines();
    test_limits();
    measure();
    return tap_done();
}
