/* test-ratelimit.c - rpm and tpm (lib/ratelimit.c) without I/O: the
 * burst, then a pace of rpm per window, the wait until the next grant, no
 * window ever over the limit under random arrivals, a late clock, tpm
 * corrections, tpm paced by its own bucket (in debt for a request bigger
 * than the burst, paid back by the refill and by the usage), the
 * document's JSON; then the file store's limit operation
 * shared by forked processes. */
#include "config.h"

#include "fx.h"
#include "http.h"
#include "ratelimit.h"

#include "tap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define T0 1795000000.0

static struct fx_limit_op
acquire(double now, double window, long rpm, long tpm, double cost)
{
    struct fx_limit_op op = {
        FX_LIMIT_ACQUIRE, now, window, rpm, tpm, cost, 0, 0};
    return op;
}

static void
test_rpm(void)
{
    struct fx_limit_doc d;
    struct fx_limit_result r;
    fx_limit_doc_init(&d, 60);
    int granted = 0;
    for (int i = 0; i < 15; i++) {
        struct fx_limit_op op = acquire(T0 + i * 0.01, 60, 90, 0, 0);
        fx_limit_apply(&d, &op, &r);
        granted += r.granted;
    }
    is_int(granted, FX_LIMIT_BURST(90),
           "rpm 90: the burst (3) of fifteen at "
           "once is granted");
    struct fx_limit_op op = acquire(T0 + 0.15, 60, 90, 0, 0);
    fx_limit_apply(&d, &op, &r);
    ok(!r.granted && r.wait > 0.5 && r.wait < 0.7,
       "the next waits for the bucket: about 60/90 s (%.3f s)", r.wait);
    is_int(r.which, FX_LIMIT_RPM, "... for rpm");
    op = acquire(T0 + 0.15 + r.wait + 0.001, 60, 90, 0, 0);
    fx_limit_apply(&d, &op, &r);
    ok(r.granted, "granted once the wait is over");

    /* paced: asked every 10 ms for two windows, granted about rpm/60 a
     * second, never more than rpm in a window */
    fx_limit_doc_init(&d, 60);
    double at[512];
    int n = 0;
    for (double t = T0; t < T0 + 120 && n < 512; t += 0.01) {
        op = acquire(t, 60, 90, 0, 0);
        fx_limit_apply(&d, &op, &r);
        if (r.granted)
            at[n++] = t;
    }
    int first_window = 0, worst = 0;
    for (int i = 0; i < n; i++) {
        first_window += at[i] < T0 + 60;
        int k = 0;
        for (int j = i; j < n && at[j] < at[i] + 60; j++)
            k++;
        if (k > worst)
            worst = k;
    }
    ok(worst <= 90, "no window holds more than rpm (%d)", worst);
    ok(first_window >= 80 && first_window <= 90,
       "the first window is used evenly: %d grants", first_window);
    double gap = 0;
    for (int i = FX_LIMIT_BURST(90); i + 1 < n && at[i + 1] < T0 + 50; i++)
        if (at[i + 1] - at[i] > gap)
            gap = at[i + 1] - at[i];
    ok(gap > 0.6 && gap < 0.7, "after the burst, one every 60/90 s (%.3f)",
       gap);

    /* a caller whose clock was read before another's grant (waiting for
     * the store's lock) never drops that grant */
    fx_limit_doc_init(&d, 2);
    op = acquire(T0 + 1.0, 2, 5, 0, 0);
    fx_limit_apply(&d, &op, &r);
    op = acquire(T0 + 0.5, 2, 5, 0, 0);
    fx_limit_apply(&d, &op, &r);
    ok(!r.granted && r.wait > 0.89,
       "an older clock waits from the newer grant (%.3f s)", r.wait);
    char *j = fx_limit_doc_to_json(&d);
    ok(strstr(j, ",1,0]") != NULL, "the newer grant is kept: %s", j);
    free(j);
}

/* Random arrivals for a while: no window of W (plus one slot) may hold
 * more than rpm grants, and most of the capacity is used. */
static void
test_random_windows(void)
{
    struct fx_limit_doc d;
    struct fx_limit_result r;
    double window = 2, slot = window / FX_LIMIT_SLOTS;
    long rpm = 7;
    double granted_at[4096];
    int n = 0;
    unsigned seed = 42;
    fx_limit_doc_init(&d, window);
    double t = T0;
    while (t < T0 + 60 && n < 4096) {
        t += (double)rand_r(&seed) / RAND_MAX * 0.05;
        struct fx_limit_op op = acquire(t, window, rpm, 0, 0);
        fx_limit_apply(&d, &op, &r);
        if (r.granted)
            granted_at[n++] = t;
    }
    int worst = 0;
    for (int i = 0; i < n; i++) {
        int k = 0;
        for (int j = i; j < n && granted_at[j] <= granted_at[i] + window + slot;
             j++)
            k++;
        if (k > worst)
            worst = k;
    }
    is_int(worst, rpm, "no window of W + one slot holds more than rpm grants");
    ok(n >= (int)(rpm * 30 * 0.85),
       "at least 85%% of the capacity used (%d grants in 30 windows)", n);
}

static void
test_tpm(void)
{
    struct fx_limit_doc d;
    struct fx_limit_result r;
    fx_limit_doc_init(&d, 60);
    struct fx_limit_op op = acquire(T0, 60, 0, 1000, 600);
    fx_limit_apply(&d, &op, &r);
    ok(r.granted, "600 of 1000 tokens granted");
    long long slot = r.slot;
    op = acquire(T0 + 1, 60, 0, 1000, 600);
    fx_limit_apply(&d, &op, &r);
    ok(!r.granted, "another 600 waits");
    struct fx_limit_op adj = {
        FX_LIMIT_ADJUST, T0 + 2, 60, 0, 1000, 0, slot, -550};
    fx_limit_apply(&d, &adj, &r);
    op = acquire(T0 + 3, 60, 0, 1000, 600);
    fx_limit_apply(&d, &op, &r);
    ok(r.granted, "after the usage said 50, it fits");
    op = acquire(T0 + 4, 60, 0, 1000, 5000);
    fx_limit_apply(&d, &op, &r);
    ok(!r.granted && r.wait > 0, "a request over the whole budget waits");
    fx_limit_doc_init(&d, 60);
    fx_limit_apply(&d, &op, &r);
    ok(r.granted, "... and goes alone in an empty window");
}

/* The most tokens granted in any window of w seconds. */
static double
max_tokens_in(const double *at, const double *tok, int n, double w)
{
    double worst = 0;
    for (int i = 0; i < n; i++) {
        double sum = 0;
        for (int j = i; j < n && at[j] < at[i] + w; j++)
            sum += tok[j];
        if (sum > worst)
            worst = sum;
    }
    return worst;
}

/* tpm paced like rpm: a bucket of tpm/30 tokens refilled at tpm per
 * window; a request costing more than the burst goes when the bucket is
 * full and leaves it in debt. */
static void
test_tpm_paced(void)
{
    struct fx_limit_doc d;
    struct fx_limit_result r;
    /* tpm 300 a minute: 5 tokens a second, a burst of 10 */
    fx_limit_doc_init(&d, 60);
    int granted = 0;
    for (int i = 0; i < 10; i++) {
        struct fx_limit_op op = acquire(T0 + i * 0.01, 60, 0, 300, 50);
        fx_limit_apply(&d, &op, &r);
        granted += r.granted;
    }
    is_int(granted, 1, "tpm 300: one request of 50 tokens out of ten at once");
    struct fx_limit_op op = acquire(T0 + 0.1, 60, 0, 300, 50);
    fx_limit_apply(&d, &op, &r);
    ok(!r.granted && r.wait > 9.8 && r.wait < 10.0,
       "the next waits for the debt of 40 and the burst of 10 at 5 a second "
       "(%.3f s)",
       r.wait);
    is_int(r.which, FX_LIMIT_TPM, "... for tpm");
    ok(d.tlevel < -39 && d.tlevel > -40, "the bucket is in debt (%.3f)",
       d.tlevel);
    char *j = fx_limit_doc_to_json(&d);
    ok(strstr(j, "\"tbucket\":[-39.") != NULL, "the debt is stored: %s", j);
    free(j);

    /* asked every 10 ms for three windows: about tpm a window, evenly,
     * and never more than tpm tokens in any window */
    fx_limit_doc_init(&d, 60);
    double at[256], tok[256];
    int n = 0;
    for (double t = T0; t < T0 + 180 && n < 256; t += 0.01) {
        op = acquire(t, 60, 0, 300, 50);
        fx_limit_apply(&d, &op, &r);
        if (r.granted) {
            at[n] = t;
            tok[n++] = 50;
        }
    }
    ok(max_tokens_in(at, tok, n, 60) <= 300,
       "no window holds more than tpm tokens (%.0f)",
       max_tokens_in(at, tok, n, 60));
    ok(n >= 15 && n <= 18, "three windows of 300 tokens: %d of 50", n);
    double gap = 100;
    for (int i = 1; i < n; i++)
        if (at[i] - at[i - 1] < gap)
            gap = at[i] - at[i - 1];
    ok(gap > 9.9, "paced: one every 50/5 s, never two close (%.3f)", gap);

    /* the usage corrects the bucket: a request estimated at 50 that used
     * 10 gives 40 back, so the next goes 8 s earlier */
    fx_limit_doc_init(&d, 60);
    op = acquire(T0, 60, 0, 300, 50);
    fx_limit_apply(&d, &op, &r);
    struct fx_limit_op adj = {FX_LIMIT_ADJUST, T0 + 0.5, 60, 0, 300, 0,
                              r.slot,          -40};
    fx_limit_apply(&d, &adj, &r);
    op = acquire(T0 + 0.5, 60, 0, 300, 50);
    fx_limit_apply(&d, &op, &r);
    ok(!r.granted && r.wait > 1.4 && r.wait < 1.6,
       "after the usage said 10, the next waits 2 s, not 10 (%.3f s)", r.wait);
    op = acquire(T0 + 0.5 + r.wait + 0.001, 60, 0, 300, 50);
    fx_limit_apply(&d, &op, &r);
    ok(r.granted, "... and goes then");

    /* a document written before the tpm bucket: it starts full */
    const char *old = "{\"window\":60,\"slots\":[],\"bucket\":[1,1795000000]}";
    is_int(fx_limit_doc_from_json(old, strlen(old), &d), 0,
           "a document without tbucket reads");
    op = acquire(T0 + 1, 60, 0, 300, 10);
    fx_limit_apply(&d, &op, &r);
    ok(r.granted, "... and its tpm bucket starts full");
}

/* Random arrivals of random sizes, usage reported lower or higher than
 * the estimate: never more than tpm reported tokens in a window (plus
 * one slot) while every estimate was right or high; most of it used. */
static void
test_tpm_random(void)
{
    struct fx_limit_doc d;
    struct fx_limit_result r;
    double window = 2, slot = window / FX_LIMIT_SLOTS;
    long tpm = 1000;
    static double at[8192], tok[8192];
    int n = 0;
    unsigned seed = 7;
    double used_sum = 0;
    fx_limit_doc_init(&d, window);
    double t = T0;
    while (t < T0 + 40 && n < 8192) {
        t += (double)rand_r(&seed) / RAND_MAX * 0.02;
        double cost = 20 + rand_r(&seed) % 180;
        struct fx_limit_op op = acquire(t, window, 0, tpm, cost);
        fx_limit_apply(&d, &op, &r);
        if (!r.granted)
            continue;
        /* the provider reports between half the estimate and all of it */
        double used = cost / 2 + rand_r(&seed) % (int)(cost / 2 + 1);
        struct fx_limit_op adj = {
            FX_LIMIT_ADJUST, t + 0.01, window, 0, tpm, 0, r.slot, used - cost};
        fx_limit_apply(&d, &adj, &r);
        at[n] = t;
        tok[n++] = used;
        used_sum += used;
    }
    double worst = max_tokens_in(at, tok, n, window + slot);
    ok(worst <= tpm, "no window of W + one slot holds more than tpm (%.0f)",
       worst);
    /* the cap's margin of 4 slots leaves 30/34 at most */
    ok(used_sum >= tpm * 20 * 0.8,
       "at least 80%% of the capacity used (%.0f tokens in 20 windows)",
       used_sum);
}

static void
test_json(void)
{
    struct fx_limit_doc d, e;
    struct fx_limit_result r;
    fx_limit_doc_init(&d, 60);
    for (int i = 0; i < 5; i++) {
        struct fx_limit_op op = acquire(T0 + i * 3, 60, 100, 1000, 7);
        fx_limit_apply(&d, &op, &r);
    }
    char *j = fx_limit_doc_to_json(&d);
    is_int(fx_limit_doc_from_json(j, strlen(j), &e), 0,
           "the document reads back");
    char *k = fx_limit_doc_to_json(&e);
    is_str(k, j, "same JSON after a round trip");
    free(j);
    free(k);
    is_int(fx_limit_doc_from_json("{\"slots\":3}", 11, &e), -1,
           "malformed: -1");
    /* a different window starts afresh */
    struct fx_limit_op op = acquire(T0 + 20, 30, 1, 0, 0);
    fx_limit_apply(&d, &op, &r);
    ok(r.granted, "a changed window starts a new count");
}

/* Four processes, one store, the same moment: rpm grants in all. */
static void
test_file_store(void)
{
    char tmpl[] = "/tmp/fx-ratelimit-XXXXXX";
    if (mkdtemp(tmpl) == NULL) {
        printf("Bail out! mkdtemp: %s\n", strerror(errno));
        exit(1);
    }
    struct fx_settings s;
    memset(&s, 0, sizeof(s));
    s.sync.state_dir = tmpl;
    int fds[2];
    if (pipe(fds) != 0)
        exit(1);
    for (int p = 0; p < 4; p++) {
        if (fork() == 0) {
            struct fx_store *st = NULL;
            char *err = NULL;
            int mine = 0;
            if (fx_store_file.open(&st, &s, &err) != 0)
                _exit(1);
            for (int i = 0; i < 25; i++) {
                struct fx_limit_op op = acquire(T0, 60, 1500, 0, 0);
                struct fx_limit_result r;
                if (fx_store_file.limit(st, "p", &op, &r, &err) == 0)
                    mine += r.granted;
            }
            fx_store_file.close(st);
            if (write(fds[1], &mine, sizeof(mine)) != sizeof(mine))
                _exit(1);
            _exit(0);
        }
    }
    close(fds[1]);
    int total = 0, mine;
    while (read(fds[0], &mine, sizeof(mine)) == sizeof(mine))
        total += mine;
    close(fds[0]);
    while (wait(NULL) > 0)
        ;
    is_int(total, FX_LIMIT_BURST(1500),
           "100 tries from 4 processes under rpm 1500: its burst (50) granted");
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpl);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", tmpl);
}

int
main(void)
{
    test_rpm();
    test_random_windows();
    test_tpm();
    test_tpm_paced();
    test_tpm_random();
    test_json();
    test_file_store();
    return tap_done();
}
