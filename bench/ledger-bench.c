/*
 * ledger-bench.c - the request ledger at scale: fills a ledger with a
 * million records (batch transactions of 10 000) and times what the issue
 * sets targets for, quoting medians:
 *
 *   log one request   fx_ledger_append (open, insert, keep check, close),
 *                     interleaved with open + close alone (the reference):
 *                     the difference must be <= 0.5 ms.  A one-shot
 *                     complete no longer does this (it appends a line to
 *                     logs.db.spool; bench/run.sh section 7 times that end
 *                     to end): it is what a batch or an import pays
 *   logs -q WORD      full-text search, latest 3, for a rare word, a
 *                     common word and two words: < 100 ms
 *   usage --by day    over every record: < 1 s
 *   (also: logs -n 3, usage --by provider,model, Prometheus, for scale)
 *
 *   make ledger-bench     (or: make bench/ledger-bench &&
 *                          bench/ledger-bench [-n RECORDS] [DB])
 *
 * With DB (a path) an existing ledger is reused and only filled up to
 * RECORDS; without, a temporary one is made and removed afterwards.
 * Not run by `make check`.  Exit status: 0 every target met, 1 one
 * missed, 2 could not run.
 */
#include "config.h"

#include "ledger/ledger-int.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define BATCH 10000
#define T_START 1790000000.0

static const char *const syllables[] = {"ka", "lo", "mi", "ne", "ru", "sa",
                                        "ti", "vo", "ze", "pa", "do", "fe",
                                        "gu", "hi", "jo", "be"};

/* Word number i of a 20 000-word vocabulary, drawn Zipf-like. */
static void
put_word(fxu_buf *b, unsigned i)
{
    do {
        fxu_buf_puts(b, syllables[i % 16]);
        i /= 16;
    } while (i);
}

static unsigned
zipf_index(void)
{
    double u = (double)rand() / RAND_MAX;
    return (unsigned)(u * u * u * 20000);
}

static void
put_sentence(fxu_buf *b, int words, long seq, int is_prompt)
{
    for (int w = 0; w < words; w++) {
        if (w)
            fxu_buf_putc(b, ' ');
        put_word(b, zipf_index());
    }
    /* known frequencies for the searches: "disk" in 1 % of prompts,
     * "penguin" in 10 records of a million */
    if (is_prompt && seq % 100 == 7)
        fxu_buf_puts(b, " disk full");
    if (is_prompt && seq % 100000 == 4242)
        fxu_buf_puts(b, " penguin");
}

static const char *const providers[] = {"openai", "claude", "ollama"};
static const char *const models[] = {"gpt-4o-mini", "claude-3-5-haiku",
                                     "llama3"};
static const char *const tags[] = {"nightly", "ci", "adhoc", "report"};

static void
make_record(struct fx_ledger_record *r, struct fx_ledger_message *m,
            struct fx_ledger_attempt *a, fxu_buf *prompt, fxu_buf *answer,
            long seq, double t)
{
    memset(r, 0, sizeof(*r));
    fxu_buf_reset(prompt);
    fxu_buf_reset(answer);
    put_sentence(prompt, 12 + rand() % 20, seq, 1);
    put_sentence(answer, 30 + rand() % 60, seq, 0);
    int p = rand() % 10 < 7 ? 0 : rand() % 3;
    int failed = rand() % 50 == 0;
    int failover = !failed && p != 0 && rand() % 3 == 0;
    r->time = t;
    r->command = seq % 5 == 0 ? "chat" : "complete";
    r->tag = seq % 3 == 0 ? NULL : (char *)tags[seq % 4];
    m->role = "user";
    m->content = prompt->data;
    r->messages = m;
    r->nmessages = 1;
    r->has_messages = 1;
    r->latency_ms = 200 + rand() % 5000;
    r->exit_code = failed ? 75 : 0;
    memset(a, 0, 2 * sizeof(*a));
    a[0].provider = (char *)providers[failover ? 0 : p];
    a[0].outcome = failed || failover ? "error" : "success";
    a[0].error_class = failed || failover ? "timeout" : NULL;
    a[0].latency_ms = r->latency_ms;
    a[0].retry_after = -1;
    a[1] = a[0];
    a[1].provider = (char *)providers[p];
    a[1].outcome = "success";
    a[1].error_class = NULL;
    r->attempts = a;
    r->nattempts = failover ? 2 : 1;
    r->first_provider = (char *)providers[failover ? 0 : p];
    if (failed) {
        r->error = "openai: timeout";
        r->error_class = "timeout";
        return;
    }
    r->provider = (char *)providers[p];
    r->model = (char *)models[p];
    r->text = answer->data;
    r->finish_reason = "stop";
    r->has_usage = p != 2;
    r->prompt_tokens = 20 + rand() % 500;
    r->completion_tokens = 50 + rand() % 800;
}

static long
count_records(fx_ledger *l)
{
    sqlite3_stmt *st = NULL;
    long n = -1;
    if (sqlite3_prepare_v2(fx_ledger_db(l), "SELECT max(id) FROM requests", -1,
                           &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        n = (long)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return n;
}

static int
fill(fx_ledger *l, long have, long want)
{
    fxu_buf prompt, answer;
    fxu_buf_init(&prompt);
    fxu_buf_init(&answer);
    struct fx_ledger_record r;
    struct fx_ledger_message m;
    struct fx_ledger_attempt a[2];
    double started = fxu_monotonic();
    /* 90 days of records */
    double step = 90 * 86400.0 / (double)want;
    for (long seq = have; seq < want; seq++) {
        if ((seq - have) % BATCH == 0 && fx_ledger_begin(l) < 0)
            return -1;
        make_record(&r, &m, a, &prompt, &answer, seq, T_START + seq * step);
        if (fx_ledger_insert(l, &r, FX_LEDGER_FULL) < 0)
            return -1;
        if ((seq - have) % BATCH == BATCH - 1 || seq == want - 1) {
            if (fx_ledger_commit(l) < 0)
                return -1;
            fprintf(stderr, "\rfilled %ld / %ld (%.0f s)", seq + 1, want,
                    fxu_monotonic() - started);
        }
    }
    fprintf(stderr, "\n");
    fxu_buf_free(&prompt);
    fxu_buf_free(&answer);
    return 0;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double
median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof(*v), cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int
ignore(void *ud, const struct fx_ledger_record *r)
{
    return 0;
}

/* Median milliseconds of `rounds` searches for `words` (latest 3). */
static double
time_search(fx_ledger *l, const char *words, int rounds, long *found)
{
    double v[64];
    for (int i = 0; i < rounds; i++) {
        struct fx_ledger_filter f = {0};
        f.words = words;
        f.limit = 3;
        double t = fxu_monotonic();
        *found = fx_ledger_each(l, &f, ignore, NULL);
        v[i] = (fxu_monotonic() - t) * 1000;
    }
    return median(v, rounds);
}

static double
time_usage(fx_ledger *l, unsigned by, int rounds, size_t *groups)
{
    double v[64];
    for (int i = 0; i < rounds; i++) {
        struct fx_ledger_usage_query q = {by, 0, 0, 0, NULL, NULL};
        struct fx_ledger_usage *rows;
        double t = fxu_monotonic();
        if (fx_ledger_usage(l, &q, &rows, groups) < 0)
            *groups = 0;
        v[i] = (fxu_monotonic() - t) * 1000;
        fx_ledger_usage_free(rows, *groups);
    }
    return median(v, rounds);
}

/* One-shot logging, interleaved with its reference (open + close). */
static void
time_one_shot(const char *path, int rounds, double *with, double *without)
{
    static double a[400], b[400];
    fxu_buf prompt, answer;
    fxu_buf_init(&prompt);
    fxu_buf_init(&answer);
    struct fx_ledger_record r;
    struct fx_ledger_message m;
    struct fx_ledger_attempt at[2];
    for (int i = 0; i < rounds; i++) {
        for (int k = 0; k < 2; k++) {
            int insert = (i + k) % 2; /* alternate which goes first */
            make_record(&r, &m, at, &prompt, &answer, i, fxu_wallclock());
            double t = fxu_monotonic();
            if (insert) { /* what complete does: keep = 90d checked too */
                char *err = NULL;
                if (fx_ledger_append(path, &r, FX_LEDGER_FULL, 90 * 86400.0,
                                     &err) < 0)
                    fprintf(stderr, "ledger-bench: %s\n", err);
                free(err);
            } else {
                fx_ledger_close(fx_ledger_open(path, FX_LEDGER_WRITE, NULL));
            }
            (insert ? a : b)[i] = (fxu_monotonic() - t) * 1000;
        }
    }
    *with = median(a, rounds);
    *without = median(b, rounds);
    fxu_buf_free(&prompt);
    fxu_buf_free(&answer);
}

static int failures;

static void
verdict(const char *what, double got, double limit, const char *unit)
{
    int pass = got <= limit;
    failures += !pass;
    printf("  %-34s %10.3f %s  (target <= %g)  %s\n", what, got, unit, limit,
           pass ? "PASS" : "FAIL");
}

int
main(int argc, char **argv)
{
    long want = 1000000;
    int opt;
    while ((opt = getopt(argc, argv, "n:")) != -1) {
        if (opt != 'n' || fxu_parse_long(optarg, &want) < 0 || want < 1000) {
            fprintf(stderr, "usage: ledger-bench [-n RECORDS >= 1000] [DB]\n");
            return 2;
        }
    }
    char dir[] = "/tmp/fx-ledger-bench-XXXXXX";
    char *path;
    if (optind < argc) {
        path = fxu_strdup(argv[optind]);
    } else {
        if (mkdtemp(dir) == NULL) {
            perror("mkdtemp");
            return 2;
        }
        path = fxu_asprintf("%s/logs.db", dir);
    }
    srand(42);
    char *err = NULL;
    fx_ledger *l = fx_ledger_open(path, FX_LEDGER_WRITE, &err);
    if (l == NULL) {
        fprintf(stderr, "ledger-bench: %s\n", err);
        return 2;
    }
    long have = count_records(l);
    if (have < want && fill(l, have, want) < 0) {
        fprintf(stderr, "ledger-bench: %s\n", fx_ledger_error(l));
        return 2;
    }
    printf("ledger-bench: %ld records in %s, SQLite %s\n", count_records(l),
           path, sqlite3_libversion());

    double with, without;
    time_one_shot(path, 201, &with, &without);
    printf("  one-shot: append %.3f ms, open+close %.3f ms "
           "(medians of 201, interleaved)\n",
           with, without);
    verdict("logging adds (append - open+close)", with - without, 0.5, "ms");
    verdict("logging costs in all (append)", with, 1.0, "ms");

    long found;
    const char *searches[] = {"penguin", "disk", "disk full", "kalo*"};
    for (size_t i = 0; i < 4; i++) {
        double ms = time_search(l, searches[i], 21, &found);
        char *what =
            fxu_asprintf("logs -q '%s' (%ld shown)", searches[i], found);
        verdict(what, ms, 100, "ms");
        free(what);
    }
    struct fx_ledger_filter f = {0};
    f.limit = 3;
    double t = fxu_monotonic();
    fx_ledger_each(l, &f, ignore, NULL);
    printf("  logs -n 3: %.3f ms\n", (fxu_monotonic() - t) * 1000);
    f.tag = "no-such-tag";
    t = fxu_monotonic();
    fx_ledger_each(l, &f, ignore, NULL);
    printf("  logs --tag no-such-tag (every record looked at): %.1f ms\n",
           (fxu_monotonic() - t) * 1000);

    size_t groups;
    double ms = time_usage(l, FX_LEDGER_BY_DAY, 5, &groups);
    char *what = fxu_asprintf("usage --by day (%zu days)", groups);
    verdict(what, ms, 1000, "ms");
    free(what);
    ms = time_usage(l, FX_LEDGER_BY_PROVIDER | FX_LEDGER_BY_MODEL, 5, &groups);
    printf("  usage --by provider,model (%zu groups): %.1f ms (median of 5)\n",
           groups, ms);
    char *text = NULL;
    t = fxu_monotonic();
    fx_ledger_prometheus(l, NULL, NULL, &text);
    printf("  usage --prometheus: %.1f ms, %zu bytes\n",
           (fxu_monotonic() - t) * 1000, text ? strlen(text) : 0);
    free(text);
    fx_ledger_close(l);

    if (optind >= argc) {
        char *cmd = fxu_asprintf("rm -rf '%s'", dir);
        if (system(cmd) != 0)
            fprintf(stderr, "ledger-bench: could not remove %s\n", dir);
        free(cmd);
    }
    free(path);
    printf("%s\n", failures ? "FAIL" : "PASS");
    return failures ? 1 : 0;
}
