/*
 * parse-sse - CPU cost of parsing a streamed OpenAI answer: lib/sse.c's
 * fx_sse_feed() with the openai provider's parse_event() as the callback,
 * exactly as lib/http.c wires them, fed from memory in network-sized pieces.
 * Part of `make bench` (bench/run.sh builds it against lib/.libs/libfx.a).
 *
 *   parse-sse FILE [PIECE_BYTES [RUNS]]
 *
 * FILE is a raw SSE body as mockllm sent it (captured with curl).  Prints
 *   events=N text_bytes=N piece=N runs=N
 *   run<i> cpu_ns=N per_event_ns=N
 *   median_per_event_ns=N sse_only_median_per_event_ns=N
 * The second figure feeds the same bytes with a callback that does nothing,
 * to separate the SSE framing from the JSON decoding of each event.
 */
#include "fx.h"
#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double
cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* on_text: the text goes nowhere (the library still keeps it in resp). */
static size_t text_seen;
static int
on_text(void *ud, const char *text, size_t len)
{
    (void)ud;
    (void)text;
    text_seen += len;
    return 0;
}

struct ctx {
    struct fx_stream *st;
    size_t events;
};

/* lib/http.c on_event(), minus the transfer bookkeeping */
static int
on_event(void *ud, const char *event, const char *data, size_t len)
{
    struct ctx *c = ud;
    c->events++;
    int rc = fx_provider_openai.parse_event(c->st, event, data, len);
    if (rc != 0)
        return rc;
    return c->st->stop_requested ? 2 : 0;
}

static int
on_event_null(void *ud, const char *event, const char *data, size_t len)
{
    (void)event;
    (void)data;
    (void)len;
    ((struct ctx *)ud)->events++;
    return 0;
}

/* One pass over the body; returns CPU ns, fills *events, *done, *text. */
static double
one_pass(const char *body, size_t n, size_t piece, int full, size_t *events,
         int *done, size_t *text)
{
    struct fx_sse sse;
    struct fx_response resp;
    struct fx_stream st;
    struct ctx c = {&st, 0};

    fx_sse_init(&sse);
    fx_response_init(&resp);
    memset(&st, 0, sizeof(st));
    st.resp = &resp;
    st.on_text = on_text;
    text_seen = 0;

    double t0 = cpu_ns();
    int rc = 0;
    for (size_t off = 0; off < n && rc == 0; off += piece) {
        size_t len = n - off < piece ? n - off : piece;
        rc = fx_sse_feed(&sse, body + off, len, full ? on_event : on_event_null,
                         &c);
    }
    double t1 = cpu_ns();

    *events = c.events;
    *done = full ? st.done : 1;
    *text = resp.text.len;
    if (rc < 0)
        fprintf(stderr, "parse-sse: parse_event failed: %s\n", st.err.msg);
    fx_sse_free(&sse);
    fx_response_free(&resp);
    return t1 - t0;
}

int
main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: parse-sse FILE [PIECE_BYTES [RUNS]]\n");
        return 2;
    }
    size_t piece = argc > 2 ? (size_t)atol(argv[2]) : 16384;
    int runs = argc > 3 ? atoi(argv[3]) : 5;
    if (piece == 0 || runs < 1 || runs > 100) {
        fprintf(stderr, "parse-sse: bad PIECE_BYTES or RUNS\n");
        return 2;
    }

    FILE *fp = fopen(argv[1], "rb");
    if (fp == NULL) {
        perror(argv[1]);
        return 2;
    }
    fseek(fp, 0, SEEK_END);
    long size = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    char *body = malloc((size_t)size + 1);
    if (body == NULL || fread(body, 1, (size_t)size, fp) != (size_t)size) {
        fprintf(stderr, "parse-sse: cannot read %s\n", argv[1]);
        return 2;
    }
    fclose(fp);

    double per[100], per_null[100];
    size_t events = 0, text = 0;
    int done = 0;
    for (int i = 0; i < runs; i++) {
        double ns =
            one_pass(body, (size_t)size, piece, 1, &events, &done, &text);
        if (!done) {
            fprintf(stderr, "parse-sse: the stream did not end with [DONE]\n");
            return 1;
        }
        per[i] = ns / (double)events;
        printf("run%d cpu_ns=%.0f per_event_ns=%.1f\n", i, ns, per[i]);
    }
    size_t ev2, text2;
    int done2;
    for (int i = 0; i < runs; i++)
        per_null[i] =
            one_pass(body, (size_t)size, piece, 0, &ev2, &done2, &text2) /
            (double)ev2;
    qsort(per, (size_t)runs, sizeof(double), cmp_double);
    qsort(per_null, (size_t)runs, sizeof(double), cmp_double);
    printf("events=%zu text_bytes=%zu body_bytes=%ld piece=%zu runs=%d\n",
           events, text, size, piece, runs);
    printf("median_per_event_ns=%.1f sse_only_median_per_event_ns=%.1f\n",
           per[runs / 2], per_null[runs / 2]);
    return 0;
}
