/* test-md-stream.c - the streaming Markdown renderer on replies no one
 * wrote by hand: random Markdown fed whole, byte by byte and at random
 * cuts must render alike and let no escape sequence but ours out; lines
 * a model repeats one character into render alike however split. */
#include "config.h"

#include "tap.h"

#include "md-harness.h"

#include <stdint.h>

/* A small generator, the same on every platform. */
static uint32_t
next_rand(uint32_t *state)
{
    *state = *state * 1103515245u + 12345u;
    return (*state >> 16) & 0x7fff;
}

/* Every escape sequence written is one of ours (SGR); none at all
 * without colour. */
static int
escapes_are_ours(const char *s, int plain)
{
    for (; *s; s++) {
        if (*s != '\033')
            continue;
        if (plain || s[1] != '[')
            return 0;
        s += 2 + strspn(s + 2, "0123456789;");
        if (*s != 'm')
            return 0;
    }
    return 1;
}

/* Random replies made of Markdown's pieces: whole, byte by byte and at
 * random cuts must agree, and nothing but our escapes may get out. */
static void
test_random(void)
{
    static const char *const pieces[] = {
        "*",  "**",      "_",    "`",    "```",  "~~~", "[",   "](",   "(",
        ")",  "|",       "-",    "# ",   "> ",   "1. ", "\n",  "\r\n", " ",
        "  ", "a",       "b ",   "é",    "中",   "\t",  "\\",  "|---", ":",
        "\r", "\033[2J", "\x07", "\xc3", "\xff", "- ",  "x_y", "\x00"};
    uint32_t seed = 12345;
    int agree = 1, clean = 1, reported = 0;
    for (int iter = 0; iter < 400; iter++) {
        fxu_buf in;
        size_t cuts[6];
        unsigned flags = iter % 4 == 3 ? MD_NO_COLOR : 0;
        int width = iter % 3 == 2 ? 12 : W;
        fxu_buf_init(&in);
        for (int i = 0, n = 5 + (int)(next_rand(&seed) % 60); i < n; i++) {
            const char *p =
                pieces[next_rand(&seed) % (sizeof(pieces) / sizeof(*pieces))];
            fxu_buf_append(&in, p, p[0] ? strlen(p) : 1);
        }
        char *whole = render_cuts(in.data, in.len, NULL, 0, width, flags);
        char *bytes = render_bytewise(in.data, in.len, width, flags);
        for (size_t i = 0; i < 6; i++)
            cuts[i] = next_rand(&seed) % (in.len + 1);
        for (size_t i = 1; i < 6; i++) /* sorted */
            for (size_t j = i; j > 0 && cuts[j - 1] > cuts[j]; j--) {
                size_t t = cuts[j];
                cuts[j] = cuts[j - 1];
                cuts[j - 1] = t;
            }
        char *cut = render_cuts(in.data, in.len, cuts, 6, width, flags);
        if (strcmp(whole, bytes) != 0 || strcmp(whole, cut) != 0) {
            agree = 0;
            if (!reported++) {
                char *v = visible(in.data);
                printf("# differs for input: '%s'\n", v);
                free(v);
            }
        }
        if (!escapes_are_ours(whole, flags & MD_NO_COLOR))
            clean = 0;
        free(whole);
        free(bytes);
        free(cut);
        fxu_buf_free(&in);
    }
    ok(agree, "400 random replies: whole, byte by byte and cut render alike");
    ok(clean, "400 random replies: no escape sequence but our SGR");
}

/* Append n copies of piece to b. */
static void
rep(fxu_buf *b, int n, const char *piece)
{
    while (n-- > 0)
        fxu_buf_puts(b, piece);
}

static void
long_run(fxu_buf *in, fxu_buf *want, const char *name)
{
    char *whole = render_cuts(in->data, in->len, NULL, 0, W, 0);
    char *vis = visible(whole), what[64] = "";
    if (want)
        is_str(vis, want->data, "%s", name);
    ok(!splits_agree(in->data, in->len, W, 0, whole, what, sizeof(what)),
       "%s: same output at every split%s%s", name, what[0] ? ", not " : "",
       what);
    free(vis);
    free(whole);
    fxu_buf_reset(in);
    if (want)
        fxu_buf_reset(want);
}

/* Prefixes are read a bounded distance (MAX_MARK, MAX_RUN): past it a
 * line is ordinary text, the same whole or split. */
static void
test_long_runs(void)
{
    fxu_buf in, want;
    fxu_buf_init(&in);
    fxu_buf_init(&want);

    rep(&in, 300, "-");
    rep(&in, 1, "\n");
    rep(&want, 300, "-");
    rep(&want, 1, "\n");
    long_run(&in, &want, "a line of 300 dashes is not a rule");

    rep(&in, 256, "-");
    rep(&want, 1, "{2}" RULE "*40{0}\n");
    long_run(&in, &want, "a line of 256 is");

    rep(&in, 300, " ");
    rep(&in, 1, "# x\n");
    rep(&want, 300, " ");
    rep(&want, 1, "# x\n");
    long_run(&in, &want, "300 blanks before '#': text");

    rep(&in, 1, "```\n");
    rep(&in, 300, "`");
    rep(&in, 1, "\n```\nx\n");
    rep(&want, 1, "{2}" RULE "*40{0}\n{36}");
    rep(&want, 300, "`");
    rep(&want, 1, "{0}\n{2}" RULE "*40{0}\nx\n");
    long_run(&in, &want, "300 backticks do not close a fence");

    rep(&in, 70, "*");
    rep(&in, 1, "a*\n");
    rep(&in, 20, "> ");
    rep(&in, 1, "x\n");
    rep(&in, 300, "#");
    rep(&in, 1, "\n");
    rep(&in, 12, "1");
    rep(&in, 1, ". x\n");
    long_run(&in, NULL, "long runs of '*', '>', '#' and digits");
    fxu_buf_free(&in);
    fxu_buf_free(&want);
}

int
main(void)
{
    test_random();
    test_long_runs();
    return tap_done();
}
