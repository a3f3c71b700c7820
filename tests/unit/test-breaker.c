/* test-breaker.c - the breaker state machine with an injected clock, the
 * state document JSON, and the Python-compatible event JSON. */
#include "config.h"

#include "fx.h"
#include "http.h"

#include "tap.h"

#include <stdlib.h>
#include <string.h>

#define T0 1795000000.0 /* a fixed "now" */

static long threshold = 5;
static double recovery = 60;
static long max_calls = 1;
static double probe_timeout = 30;

static int last_admit, last_changed;

/* Apply one operation with the test's breaker settings. */
static int
run(struct fx_breaker_doc *d, int kind, double now, const char *worker,
    int was_probe, double until)
{
    struct fx_breaker_op op;
    memset(&op, 0, sizeof(op));
    op.kind = kind;
    op.now = now;
    op.until = until;
    op.worker = worker;
    op.was_probe = was_probe;
    op.failure_threshold = threshold;
    op.recovery_timeout = recovery;
    op.half_open_max_calls = max_calls;
    op.probe_timeout = probe_timeout;
    last_admit = -1;
    last_changed = -1;
    return fx_breaker_apply(d, &op, &last_admit, &last_changed);
}

static void
reset_settings(void)
{
    threshold = 5;
    recovery = 60;
    max_calls = 1;
    probe_timeout = 30;
}

/* Open a fresh doc by threshold failures at `now`. */
static void
open_doc(struct fx_breaker_doc *d, double now)
{
    fx_breaker_doc_init(d);
    for (long i = 0; i < threshold; i++)
        run(d, FX_BREAKER_FAILURE, now, "w", 0, 0);
}

static int
is_default(const struct fx_breaker_doc *d)
{
    struct fx_breaker_doc def;
    fx_breaker_doc_init(&def);
    return memcmp(d, &def, sizeof(def)) == 0;
}

static void
test_names(void)
{
    is_str(fx_bstate_name(FX_CLOSED), "closed", "state name closed");
    is_str(fx_bstate_name(FX_OPEN), "open", "state name open");
    is_str(fx_bstate_name(FX_HALF_OPEN), "half_open", "state name half_open");
    is_str(fx_bevent_name(FX_EV_NONE), "", "event name none");
    is_str(fx_bevent_name(FX_EV_OPENED), "opened", "event name opened");
    is_str(fx_bevent_name(FX_EV_CLOSED), "closed", "event name closed");
    is_str(fx_bevent_name(FX_EV_HALF_OPEN), "half_open",
           "event name half_open");
    is_str(fx_bevent_name(FX_EV_FAILURE), "failure", "event name failure");
    is_str(fx_bevent_name(FX_EV_SUCCESS), "success", "event name success");
}

static void
test_init(void)
{
    struct fx_breaker_doc d;
    memset(&d, 0x5a, sizeof(d));
    fx_breaker_doc_init(&d);
    ok(d.state == FX_CLOSED && d.failure_count == 0 && d.success_count == 0 &&
           d.opened_at == 0 && d.retry_at == 0 && d.changed_at == 0 &&
           d.changed_by[0] == 0 && d.reason[0] == 0 && d.forced == 0 &&
           d.nprobes == 0,
       "init: closed, zeros, empty strings, no probes");
    ok(fx_breaker_usable(&d, T0, 1), "closed is usable");
}

static void
test_threshold(void)
{
    struct fx_breaker_doc d;
    fx_breaker_doc_init(&d);
    int early_event = 0, all_changed = 1;
    for (int i = 1; i < 5; i++) {
        int ev = run(&d, FX_BREAKER_FAILURE, T0 + i, "w1", 0, 0);
        early_event |= ev;
        all_changed &= last_changed == 1;
    }
    is_int(d.state, FX_CLOSED, "4 failures (threshold 5): still closed");
    is_int(d.failure_count, 4, "failure_count 4");
    ok(!early_event, "no event before the threshold");
    ok(all_changed, "each counted failure is a change");
    ok(fx_breaker_usable(&d, T0 + 4, 1), "still usable at 4 failures");

    int ev = run(&d, FX_BREAKER_FAILURE, T0 + 5, "w5", 0, 0);
    is_int(ev, FX_EV_OPENED, "5th failure: OPENED");
    is_int(d.state, FX_OPEN, "open");
    is_int(d.failure_count, 5, "failure_count 5");
    ok(d.opened_at == T0 + 5, "opened_at = now");
    ok(d.retry_at == T0 + 5 + 60, "retry_at = now + recovery_timeout");
    is_str(d.reason, "failure_threshold", "reason failure_threshold");
    is_int(d.forced, 0, "not forced");
    ok(!fx_breaker_usable(&d, T0 + 6, 1), "open is not usable");

    /* threshold 1: the first failure opens */
    threshold = 1;
    fx_breaker_doc_init(&d);
    is_int(run(&d, FX_BREAKER_FAILURE, T0, "w", 0, 0), FX_EV_OPENED,
           "threshold 1: first failure opens");
    reset_settings();
}

static void
test_success_closed(void)
{
    struct fx_breaker_doc d;
    fx_breaker_doc_init(&d);
    run(&d, FX_BREAKER_FAILURE, T0, "w", 0, 0);
    run(&d, FX_BREAKER_FAILURE, T0 + 1, "w", 0, 0);
    run(&d, FX_BREAKER_FAILURE, T0 + 2, "w", 0, 0);
    int ev = run(&d, FX_BREAKER_SUCCESS, T0 + 3, "ok-worker", 0, 0);
    is_int(ev, FX_EV_NONE, "success in closed: no event");
    is_int(d.failure_count, 0, "success resets the consecutive count");
    is_int(last_changed, 1, "...and must be written");
    is_str(d.changed_by, "ok-worker", "changed_by the succeeding worker");

    ev = run(&d, FX_BREAKER_SUCCESS, T0 + 4, "other", 0, 0);
    is_int(last_changed, 0, "success on a healthy breaker: no write");
    ok(d.changed_at == T0 + 3, "changed_at untouched without a change");
    is_str(d.changed_by, "ok-worker", "changed_by untouched");

    /* consecutive: 4 failures, success, 4 failures stays closed */
    for (int i = 0; i < 4; i++)
        run(&d, FX_BREAKER_FAILURE, T0 + 10, "w", 0, 0);
    run(&d, FX_BREAKER_SUCCESS, T0 + 11, "w", 0, 0);
    for (int i = 0; i < 4; i++)
        run(&d, FX_BREAKER_FAILURE, T0 + 12, "w", 0, 0);
    is_int(d.state, FX_CLOSED, "4 + success + 4 failures: still closed");

    ev = run(&d, FX_BREAKER_ADMIT, T0 + 13, "w", 0, 0);
    is_int(last_admit, FX_ADMIT_YES, "closed admits YES");
    is_int(last_changed, 0, "admit on closed changes nothing");
    is_int(ev, FX_EV_NONE, "admit on closed: no event");
}

static void
test_open_admits_nothing(void)
{
    struct fx_breaker_doc d;
    open_doc(&d, T0);
    int any = 0, any_changed = 0;
    for (double t = T0; t < T0 + 60; t += 7.5) {
        run(&d, FX_BREAKER_ADMIT, t, "w", 0, 0);
        any |= last_admit != FX_ADMIT_NO;
        any_changed |= last_changed;
    }
    run(&d, FX_BREAKER_ADMIT, T0 + 59.999, "w", 0, 0);
    any |= last_admit != FX_ADMIT_NO;
    ok(!any, "open admits nothing before retry_at");
    ok(!any_changed, "refusals change nothing");
    is_int(d.state, FX_OPEN, "still open");
    ok(!fx_breaker_usable(&d, T0 + 59.999, 1), "not usable before retry_at");
    ok(fx_breaker_usable(&d, T0 + 60, 1), "usable at retry_at");
}

static void
test_half_open_leases(long calls)
{
    struct fx_breaker_doc d;
    char w[32];
    max_calls = calls;
    open_doc(&d, T0);

    int probes = 0, first_event = -1, others_no = 1;
    for (int i = 0; i < 10; i++) {
        snprintf(w, sizeof(w), "worker-%d", i);
        int ev = run(&d, FX_BREAKER_ADMIT, T0 + 60, w, 0, 0);
        if (i == 0)
            first_event = ev;
        else if (ev != FX_EV_NONE)
            others_no = 0;
        if (last_admit == FX_ADMIT_PROBE)
            probes++;
        else if (last_admit != FX_ADMIT_NO)
            others_no = 0;
    }
    is_int(probes, calls, "half_open_max_calls=%ld: exactly %ld leases", calls,
           calls);
    is_int(first_event, FX_EV_HALF_OPEN, "max=%ld: first admit HALF_OPEN",
           calls);
    ok(others_no, "max=%ld: the rest NO, no further events", calls);
    is_int(d.state, FX_HALF_OPEN, "max=%ld: half_open", calls);
    is_int(d.nprobes, calls, "max=%ld: %ld leases held", calls, calls);
    is_str(d.probes[0].worker, "worker-0", "lease names its worker");
    ok(d.probes[0].expires == T0 + 60 + 30, "lease expires now+probe_timeout");
    is_int(d.success_count, 0, "success_count 0 on half-open");
    ok(!fx_breaker_usable(&d, T0 + 61, calls), "max=%ld: all slots taken",
       calls);
    reset_settings();
}

static void
test_expired_lease(void)
{
    struct fx_breaker_doc d;
    open_doc(&d, T0);
    run(&d, FX_BREAKER_ADMIT, T0 + 60, "crasher", 0, 0);
    is_int(last_admit, FX_ADMIT_PROBE, "prober takes the lease");
    run(&d, FX_BREAKER_ADMIT, T0 + 89.9, "b", 0, 0);
    is_int(last_admit, FX_ADMIT_NO, "slot busy while the lease lives");
    ok(!fx_breaker_usable(&d, T0 + 89.9, 1), "not usable while lease lives");
    ok(fx_breaker_usable(&d, T0 + 90, 1), "usable once the lease expired");
    run(&d, FX_BREAKER_ADMIT, T0 + 90, "b", 0, 0);
    is_int(last_admit, FX_ADMIT_PROBE,
           "expired lease frees the slot: crashed prober cannot wedge");
    is_int(d.nprobes, 1, "one lease, the new one");
    is_str(d.probes[0].worker, "b", "held by the new prober");

    /* dropping an expired lease alone is a change */
    int ev = run(&d, FX_BREAKER_SUCCESS, T0 + 200, "late", 0, 0);
    is_int(ev, FX_EV_NONE, "non-probe success in half_open: no event");
    is_int(last_changed, 1, "...but the dropped lease must be written");
    is_int(d.nprobes, 0, "lease dropped");
    is_int(d.state, FX_HALF_OPEN, "still half_open");
    run(&d, FX_BREAKER_SUCCESS, T0 + 201, "late", 0, 0);
    is_int(last_changed, 0, "non-probe success again: nothing changes");
}

static void
test_probe_outcomes(void)
{
    struct fx_breaker_doc d;
    open_doc(&d, T0);
    run(&d, FX_BREAKER_ADMIT, T0 + 60, "p", 0, 0);
    int ev = run(&d, FX_BREAKER_SUCCESS, T0 + 61, "p", 1, 0);
    is_int(ev, FX_EV_CLOSED, "probe success: CLOSED");
    ok(d.state == FX_CLOSED && d.failure_count == 0 && d.success_count == 0 &&
           d.retry_at == 0 && d.opened_at == 0 && d.forced == 0 &&
           d.nprobes == 0,
       "closed and cleared");
    is_int(last_changed, 1, "written");

    open_doc(&d, T0);
    run(&d, FX_BREAKER_ADMIT, T0 + 60, "p", 0, 0);
    long before = d.failure_count;
    ev = run(&d, FX_BREAKER_FAILURE, T0 + 62, "p", 1, 0);
    is_int(ev, FX_EV_OPENED, "probe failure: OPENED");
    is_int(d.state, FX_OPEN, "open again");
    ok(d.retry_at == T0 + 62 + 60, "new retry_at = now + recovery");
    ok(d.opened_at == T0 + 62, "new opened_at");
    is_str(d.reason, "probe_failed", "reason probe_failed");
    is_int(d.nprobes, 0, "leases cleared");
    is_int(d.failure_count, before + 1, "failure counted");
    run(&d, FX_BREAKER_ADMIT, T0 + 121, "q", 0, 0);
    is_int(last_admit, FX_ADMIT_NO, "no admission before the new retry_at");

    /* non-probe outcomes while half-open */
    open_doc(&d, T0);
    run(&d, FX_BREAKER_ADMIT, T0 + 60, "p", 0, 0);
    before = d.failure_count;
    ev = run(&d, FX_BREAKER_FAILURE, T0 + 61, "late", 0, 0);
    is_int(ev, FX_EV_NONE, "non-probe failure in half_open: no event");
    is_int(d.state, FX_HALF_OPEN, "stays half_open");
    is_int(d.failure_count, before + 1, "count incremented");
    is_int(d.nprobes, 1, "lease kept");
    ev = run(&d, FX_BREAKER_SUCCESS, T0 + 61, "late", 0, 0);
    ok(ev == FX_EV_NONE && last_changed == 0 && d.state == FX_HALF_OPEN,
       "non-probe success in half_open: nothing");

    /* late results while open */
    open_doc(&d, T0);
    double retry = d.retry_at;
    ev = run(&d, FX_BREAKER_SUCCESS, T0 + 1, "late", 1, 0);
    ok(ev == FX_EV_NONE && last_changed == 0 && d.state == FX_OPEN,
       "success while open: nothing (late result)");
    ev = run(&d, FX_BREAKER_FAILURE, T0 + 2, "late", 0, 0);
    ok(ev == FX_EV_NONE && d.failure_count == 6 && d.retry_at == retry &&
           d.state == FX_OPEN,
       "failure while open: count only, no event, retry_at kept");
}

static void
test_open_until(void)
{
    struct fx_breaker_doc d;
    fx_breaker_doc_init(&d);
    int ev = run(&d, FX_BREAKER_OPEN_UNTIL, T0, "q", 0, T0 + 3600);
    is_int(ev, FX_EV_OPENED, "OPEN_UNTIL opens with 0 prior failures");
    is_int(d.state, FX_OPEN, "open");
    ok(d.retry_at == T0 + 3600, "retry_at = until");
    ok(d.opened_at == T0, "opened_at = now");
    is_int(d.failure_count, 1, "counted");
    is_str(d.reason, "retry_after", "reason retry_after");
    is_int(d.forced, 0, "not forced");

    ev = run(&d, FX_BREAKER_OPEN_UNTIL, T0 + 10, "q", 0, T0 + 100);
    is_int(ev, FX_EV_NONE, "already open: no event");
    ok(d.retry_at == T0 + 3600, "shorter until does not shorten retry_at");
    ok(d.opened_at == T0, "opened_at kept when already open");
    ev = run(&d, FX_BREAKER_OPEN_UNTIL, T0 + 20, "q", 0, T0 + 7200);
    ok(d.retry_at == T0 + 7200, "longer until extends retry_at");
    is_int(d.failure_count, 3, "each counted");

    /* from half-open: clears leases */
    open_doc(&d, T0);
    run(&d, FX_BREAKER_ADMIT, T0 + 60, "p", 0, 0);
    ev = run(&d, FX_BREAKER_OPEN_UNTIL, T0 + 61, "q", 0, T0 + 500);
    is_int(ev, FX_EV_OPENED, "half_open -> OPEN_UNTIL: OPENED");
    ok(d.nprobes == 0 && d.retry_at == T0 + 500, "leases cleared, retry_at");
}

static void
test_force_open(void)
{
    struct fx_breaker_doc d;
    fx_breaker_doc_init(&d);
    int ev = run(&d, FX_BREAKER_FORCE_OPEN, T0, "op", 0, 0);
    is_int(ev, FX_EV_OPENED, "force open: OPENED");
    ok(d.state == FX_OPEN && d.forced == 1 && d.retry_at == 0 &&
           d.opened_at == T0,
       "forced, retry_at 0 (until reset)");
    is_str(d.reason, "manual", "reason manual");
    run(&d, FX_BREAKER_ADMIT, T0 + 1e6, "w", 0, 0);
    is_int(last_admit, FX_ADMIT_NO, "forced until reset: never admitted");
    ok(!fx_breaker_usable(&d, T0 + 1e6, 1), "forced until reset: unusable");

    fx_breaker_doc_init(&d);
    run(&d, FX_BREAKER_FORCE_OPEN, T0, "op", 0, -5);
    ok(d.retry_at == 0 && d.forced, "negative duration: until reset");

    fx_breaker_doc_init(&d);
    ev = run(&d, FX_BREAKER_FORCE_OPEN, T0, "op", 0, T0 + 300);
    ok(ev == FX_EV_OPENED && d.retry_at == T0 + 300 && d.forced,
       "force open with a duration");
    run(&d, FX_BREAKER_ADMIT, T0 + 299, "w", 0, 0);
    is_int(last_admit, FX_ADMIT_NO, "not admitted before until");
    ev = run(&d, FX_BREAKER_ADMIT, T0 + 300, "w", 0, 0);
    ok(last_admit == FX_ADMIT_PROBE && ev == FX_EV_HALF_OPEN,
       "probe admitted at until");

    /* force open over half-open clears leases */
    open_doc(&d, T0);
    run(&d, FX_BREAKER_ADMIT, T0 + 60, "p", 0, 0);
    run(&d, FX_BREAKER_FORCE_OPEN, T0 + 61, "op", 0, 0);
    ok(d.nprobes == 0 && d.state == FX_OPEN, "force open clears leases");
}

static void
test_reset(void)
{
    struct fx_breaker_doc d;
    int ev;

    fx_breaker_doc_init(&d);
    ev = run(&d, FX_BREAKER_RESET, T0, "op", 0, 0);
    ok(ev == FX_EV_CLOSED && last_changed == 1,
       "reset of a closed breaker: CLOSED announced, written");
    is_str(d.reason, "reset", "reason reset");

    open_doc(&d, T0);
    ev = run(&d, FX_BREAKER_RESET, T0 + 1, "op", 0, 0);
    ok(ev == FX_EV_CLOSED && d.state == FX_CLOSED && d.failure_count == 0 &&
           d.retry_at == 0 && d.opened_at == 0,
       "reset from open");

    open_doc(&d, T0);
    run(&d, FX_BREAKER_ADMIT, T0 + 60, "p", 0, 0);
    ev = run(&d, FX_BREAKER_RESET, T0 + 61, "op", 0, 0);
    ok(ev == FX_EV_CLOSED && d.state == FX_CLOSED && d.nprobes == 0,
       "reset from half_open clears leases");

    fx_breaker_doc_init(&d);
    run(&d, FX_BREAKER_FORCE_OPEN, T0, "op", 0, 0);
    ev = run(&d, FX_BREAKER_RESET, T0 + 1, "op2", 0, 0);
    ok(ev == FX_EV_CLOSED && d.state == FX_CLOSED && d.forced == 0 &&
           d.success_count == 0,
       "reset from forced open");
    ok(d.changed_at == T0 + 1, "reset changed_at");
    is_str(d.changed_by, "op2", "reset changed_by");
}

static void
test_changed_by(void)
{
    struct fx_breaker_doc d;
    char longw[300];
    fx_breaker_doc_init(&d);
    run(&d, FX_BREAKER_FAILURE, T0 + 0.25, "host:1:2", 0, 0);
    ok(d.changed_at == T0 + 0.25, "changed_at = now on change");
    is_str(d.changed_by, "host:1:2", "changed_by = worker");

    memset(longw, 'x', sizeof(longw) - 1);
    longw[sizeof(longw) - 1] = 0;
    run(&d, FX_BREAKER_FAILURE, T0 + 1, longw, 0, 0);
    is_int(strlen(d.changed_by), sizeof(d.changed_by) - 1,
           "long worker id truncated to fit");

    /* truncation never splits a UTF-8 character: 126 x then a 2-byte é */
    memset(longw, 'x', 126);
    strcpy(longw + 126, "\xc3\xa9yz");
    run(&d, FX_BREAKER_FAILURE, T0 + 2, longw, 0, 0);
    is_int(strlen(d.changed_by), 126, "truncated before a split character");

    run(&d, FX_BREAKER_FAILURE, T0 + 3, NULL, 0, 0);
    is_str(d.changed_by, "", "NULL worker recorded as empty");
}

static void
test_json_roundtrip(void)
{
    struct fx_breaker_doc d, e;
    fx_breaker_doc_init(&d);
    d.state = FX_HALF_OPEN;
    d.failure_count = 7;
    d.success_count = 2;
    d.opened_at = 1795000000.123456;
    d.retry_at = 1795000060.000001;
    d.changed_at = 1795000060.5;
    strcpy(d.changed_by, "host \"q\" \\ \x01 \xc3\xa9:12:1795000000123");
    strcpy(d.reason, "probe_failed");
    d.forced = 1;
    strcpy(d.probes[0].worker, "w1");
    d.probes[0].expires = 1795000090.25;
    strcpy(d.probes[1].worker, "w2");
    d.probes[1].expires = 1795000090.999999;
    d.nprobes = 2;

    char *js = fx_breaker_doc_to_json(&d);
    const char *head = "{\"state\":\"half_open\",\"failure_count\":7,";
    ok(strncmp(js, head, strlen(head)) == 0,
       "JSON starts with state and counts");
    ok(strstr(js,
              "\"probes\":[{\"worker\":\"w1\",\"expires\":1795000090.25}") !=
           NULL,
       "probes array");
    ok(strstr(js, "\"version\":1}") != NULL, "version 1 at the end");
    int rc = fx_breaker_doc_from_json(js, strlen(js), &e);
    is_int(rc, 0, "own JSON parses");
    ok(memcmp(&d, &e, sizeof(d)) == 0, "round trip keeps every field exactly");
    char *js2 = fx_breaker_doc_to_json(&e);
    is_str(js2, js, "re-serialised identically");
    free(js);
    free(js2);

    fx_breaker_doc_init(&d);
    js = fx_breaker_doc_to_json(&d);
    is_str(js,
           "{\"state\":\"closed\",\"failure_count\":0,\"success_count\":0,"
           "\"opened_at\":0,\"retry_at\":0,\"changed_at\":0,"
           "\"changed_by\":\"\",\"reason\":\"\",\"forced\":false,"
           "\"probes\":[],\"version\":1}",
           "default document JSON");
    free(js);

    /* timestamps keep at least millisecond precision through JSON */
    fx_breaker_doc_init(&d);
    d.state = FX_OPEN;
    d.retry_at = 1795000000.001;
    d.opened_at = 1795000000.0004;
    js = fx_breaker_doc_to_json(&d);
    fx_breaker_doc_from_json(js, strlen(js), &e);
    ok(e.retry_at == d.retry_at && e.opened_at == d.opened_at,
       "sub-millisecond timestamps survive");
    free(js);
}

static int
parses(const char *json, struct fx_breaker_doc *d)
{
    memset(d, 0x77, sizeof(*d)); /* garbage the parser must overwrite */
    return fx_breaker_doc_from_json(json, strlen(json), d);
}

static void
test_json_lenient(void)
{
    struct fx_breaker_doc d;
    is_int(
        parses("{\"state\":\"open\",\"failure_count\":5,\"success_count\":0}",
               &d),
        0, "Python-minimal document parses");
    ok(d.state == FX_OPEN && d.failure_count == 5 && d.retry_at == 0 &&
           d.forced == 0 && d.nprobes == 0 && d.changed_by[0] == 0,
       "open, retry_at 0, not forced");
    ok(fx_breaker_usable(&d, T0, 1), "non-forced open with retry_at 0 usable");
    int ev = run(&d, FX_BREAKER_ADMIT, T0, "w", 0, 0);
    ok(ev == FX_EV_HALF_OPEN && last_admit == FX_ADMIT_PROBE,
       "...and probed at once");

    is_int(parses("{\"state\":\"half_open\"}", &d), 0, "state alone");
    is_int(d.state, FX_HALF_OPEN, "half_open");
    is_int(parses("{\"state\":\"closed\",\"probes\":{}}", &d), 0,
           "probes as {} (Lua cjson empty table)");
    is_int(parses("{\"state\":\"open\",\"forced\":1,\"retry_at\":0}", &d), 0,
           "forced as 1");
    is_int(d.forced, 1, "forced 1");
    is_int(parses("{\"state\":\"open\",\"forced\":0}", &d), 0, "forced as 0");
    is_int(d.forced, 0, "forced 0");
    is_int(parses("{\"state\":\"open\",\"forced\":true}", &d), 0,
           "forced as true");
    is_int(parses(" {\"state\":\"open\",\"retry_at\":null,\"reason\":null,"
                  "\"extra\":[1,2,{}],\"version\":2} \n",
                  &d),
           0, "nulls, unknown keys, other version, white space");
    is_int(parses("{\"state\":\"closed\",\"failure_count\":3.0}", &d), 0,
           "integral float count");
    is_int(d.failure_count, 3, "count 3");
    is_int(parses("{\"state\":\"half_open\",\"probes\":[{\"worker\":\"a\","
                  "\"expires\":1795000090}]}",
                  &d),
           0, "probe list");
    ok(d.nprobes == 1 && d.probes[0].expires == 1795000090.0 &&
           strcmp(d.probes[0].worker, "a") == 0,
       "probe read");

    /* more leases than we hold: keep what fits */
    fxu_buf b;
    fxu_buf_init(&b);
    fxu_buf_puts(&b, "{\"state\":\"half_open\",\"probes\":[");
    for (int i = 0; i < 40; i++)
        fxu_buf_printf(&b, "%s{\"worker\":\"w%d\",\"expires\":%d}",
                       i ? "," : "", i, 1795000100 + i);
    fxu_buf_puts(&b, "]}");
    is_int(fx_breaker_doc_from_json(b.data, b.len, &d), 0, "40 leases parse");
    is_int(d.nprobes, FX_MAX_PROBES, "capped at FX_MAX_PROBES");
    fxu_buf_free(&b);

    /* a long changed_by is truncated, not rejected */
    char big[400];
    memset(big, 'x', sizeof(big));
    snprintf(big, sizeof(big), "{\"state\":\"open\",\"changed_by\":\"%0300d\"}",
             7);
    is_int(parses(big, &d), 0, "long changed_by accepted");
    is_int(strlen(d.changed_by), 127, "and truncated");
}

static void
test_json_malformed(void)
{
    static const char *const bad[] = {
        "",
        " ",
        "null",
        "[]",
        "42",
        "\"open\"",
        "{",
        "{\"state\":\"open\"",
        "{}",
        "{\"failure_count\":5}",
        "{\"state\":\"broken\"}",
        "{\"state\":\"OPEN\"}",
        "{\"state\":1}",
        "{\"state\":null}",
        "{\"state\":\"open\",\"failure_count\":-1}",
        "{\"state\":\"open\",\"success_count\":-3}",
        "{\"state\":\"open\",\"failure_count\":\"5\"}",
        "{\"state\":\"open\",\"failure_count\":1.5}",
        "{\"state\":\"open\",\"failure_count\":1e300}",
        "{\"state\":\"open\",\"failure_count\":true}",
        "{\"state\":\"open\",\"retry_at\":\"soon\"}",
        "{\"state\":\"open\",\"retry_at\":-1}",
        "{\"state\":\"open\",\"retry_at\":1e999}",
        "{\"state\":\"open\",\"opened_at\":[]}",
        "{\"state\":\"open\",\"changed_at\":{}}",
        "{\"state\":\"open\",\"changed_by\":5}",
        "{\"state\":\"open\",\"reason\":false}",
        "{\"state\":\"open\",\"forced\":\"yes\"}",
        "{\"state\":\"open\",\"forced\":2}",
        "{\"state\":\"open\",\"probes\":\"x\"}",
        "{\"state\":\"open\",\"probes\":{\"a\":1}}",
        "{\"state\":\"open\",\"probes\":[1]}",
        "{\"state\":\"open\",\"probes\":[{\"worker\":\"w\"}]}",
        "{\"state\":\"open\",\"probes\":[{\"worker\":1,\"expires\":1}]}",
        "{\"state\":\"open\",\"probes\":[{\"worker\":\"w\",\"expires\":\"1\"}]"
        "}",
        "{\"state\":\"open\",\"version\":\"1\"}",
        "{\"state\":\"open\"} x",
        "{\"state\":\"open\"}{\"state\":\"open\"}",
        "\xff\xfe{",
        NULL,
    };
    struct fx_breaker_doc d;
    for (int i = 0; bad[i]; i++) {
        int rc = parses(bad[i], &d);
        ok(rc == -1 && is_default(&d), "malformed rejected: %s", bad[i]);
    }
    /* an embedded NUL inside the given length */
    static const char nul[] = "{\"state\":\"open\"}\0junk";
    ok(fx_breaker_doc_from_json(nul, sizeof(nul) - 1, &d) == -1 &&
           is_default(&d),
       "embedded NUL rejected");
    /* the length is honoured: a prefix of a valid document is invalid */
    const char *good = "{\"state\":\"open\"}";
    ok(fx_breaker_doc_from_json(good, 10, &d) == -1, "length honoured");
    ok(fx_breaker_doc_from_json(NULL, 0, &d) == -1 && is_default(&d),
       "NULL input");
}

static const char *const python_event =
    "{\"provider_name\": \"openai\", \"event_type\": \"opened\", "
    "\"worker_id\": \"host:12:1795000000123\", \"timestamp\": "
    "\"2026-11-23T09:47:19.873279\", \"metadata\": {\"failure_count\": 5, "
    "\"success_count\": 0}, \"__event_type__\": \"CircuitBreakerEvent\"}";

static void
test_event_json(void)
{
    /* 2026-11-23T09:47:19.873279 UTC */
    char *js = fx_event_json("openai", FX_EV_OPENED, "host:12:1795000000123",
                             1795427239.873279, 5, 0);
    is_str(js, python_event, "event JSON byte for byte as Python's");
    free(js);

    js = fx_event_json("openai", FX_EV_CLOSED, "w", 1795427239.0, 0, 0);
    is_str(js,
           "{\"provider_name\": \"openai\", \"event_type\": \"closed\", "
           "\"worker_id\": \"w\", \"timestamp\": \"2026-11-23T09:47:19\", "
           "\"metadata\": {\"failure_count\": 0, \"success_count\": 0}, "
           "\"__event_type__\": \"CircuitBreakerEvent\"}",
           "zero microseconds: no fraction, as isoformat()");
    free(js);

    /* rounding to the nearest microsecond, carrying into the seconds */
    js = fx_event_json("p", FX_EV_HALF_OPEN, "w", 1795427239.9999996, 1, 2);
    ok(strstr(js, "\"timestamp\": \"2026-11-23T09:47:20\"") != NULL,
       "rounds up into the next second");
    ok(strstr(js, "\"event_type\": \"half_open\"") != NULL, "half_open");
    free(js);
    js = fx_event_json("p", FX_EV_OPENED, "w", 1795427239.000001, 1, 2);
    ok(strstr(js, "\"timestamp\": \"2026-11-23T09:47:19.000001\"") != NULL,
       "one microsecond");
    free(js);

    /* escaping as json.dumps(ensure_ascii=True) */
    js = fx_event_json("a\"b\\c\n\x01\x7f/\t", FX_EV_OPENED,
                       "h\xc3\xa9\xf0\x9f\x98\x80:1", 1795427239.873279, 5, 0);
    is_str(js,
           "{\"provider_name\": \"a\\\"b\\\\c\\n\\u0001\\u007f/\\t\", "
           "\"event_type\": \"opened\", \"worker_id\": "
           "\"h\\u00e9\\ud83d\\ude00:1\", \"timestamp\": "
           "\"2026-11-23T09:47:19.873279\", \"metadata\": {\"failure_count\": "
           "5, \"success_count\": 0}, \"__event_type__\": "
           "\"CircuitBreakerEvent\"}",
           "quotes, backslash, controls, DEL, non-ASCII, astral plane");
    free(js);

    js = fx_event_json("x\xffy\xc3", FX_EV_OPENED, "\r\b\f", 0, 0, 0);
    ok(strstr(js, "\"provider_name\": \"x\\ufffdy\\ufffd\"") != NULL,
       "invalid UTF-8 becomes U+FFFD");
    ok(strstr(js, "\"worker_id\": \"\\r\\b\\f\"") != NULL, "short escapes");
    ok(strstr(js, "\"timestamp\": \"1970-01-01T00:00:00\"") != NULL, "epoch");
    free(js);
}

static void
test_event_parse(void)
{
    flexiai_event ev;
    void *owned;

    int rc = fx_event_parse(python_event, &ev, &owned);
    is_int(rc, 0, "Python event parses");
    is_str(ev.provider, "openai", "provider");
    is_str(ev.event_type, "opened", "event_type");
    is_str(ev.worker_id, "host:12:1795000000123", "worker_id");
    is_str(ev.timestamp, "2026-11-23T09:47:19.873279", "timestamp");
    is_int(ev.failure_count, 5, "failure_count");
    is_int(ev.success_count, 0, "success_count");
    is_str(ev.json, python_event, "raw message kept");
    ok(ev.json != python_event, "raw message is a copy");
    free(owned);

    /* round trip through our own encoder, with escapes */
    char *js = fx_event_json("pr\"ov \xc3\xa9\xf0\x9f\x98\x80", FX_EV_HALF_OPEN,
                             "w\\1\n", 1795427239.5, 3, 1);
    rc = fx_event_parse(js, &ev, &owned);
    ok(rc == 0, "own event parses");
    is_str(ev.provider, "pr\"ov \xc3\xa9\xf0\x9f\x98\x80",
           "escaped provider decodes to the original UTF-8");
    is_str(ev.worker_id, "w\\1\n", "worker decodes");
    is_str(ev.event_type, "half_open", "type");
    is_str(ev.timestamp, "2026-11-23T09:47:19.500000", "timestamp string");
    ok(ev.failure_count == 3 && ev.success_count == 1, "counts");
    is_str(ev.json, js, "json copy");
    free(owned);
    free(js);

    rc = fx_event_parse("{\"__event_type__\":\"CircuitBreakerEvent\","
                        "\"extra\":{\"a\":[1]},\"event_type\":\"closed\","
                        "\"provider_name\":\"claude\"}",
                        &ev, &owned);
    ok(rc == 0, "other key order, extra keys, no metadata/worker/timestamp");
    ok(ev.failure_count == -1 && ev.success_count == -1,
       "missing metadata: counts -1");
    is_str(ev.worker_id, "", "missing worker_id: empty");
    is_str(ev.provider, "claude", "provider");
    free(owned);

    rc = fx_event_parse("{\"provider_name\":\"a\",\"event_type\":\"failure\","
                        "\"timestamp\":1795427239.873279,\"metadata\":"
                        "{\"failure_count\":\"x\"}}",
                        &ev, &owned);
    ok(rc == 0, "numeric timestamp tolerated");
    is_str(ev.timestamp, "2026-11-23T09:47:19.873279",
           "converted to isoformat");
    is_int(ev.failure_count, -1, "non-numeric count: -1");
    free(owned);

    static const char *const bad[] = {
        "",
        "not json",
        "[]",
        "\"x\"",
        "{}",
        "{\"provider_name\":\"a\"}",
        "{\"event_type\":\"opened\"}",
        "{\"provider_name\":1,\"event_type\":\"opened\"}",
        "{\"provider_name\":\"a\",\"event_type\":null}",
        "{\"provider_name\":\"a\",\"event_type\":\"opened\"} trailing",
        "{\"provider_name\":\"a\",\"event_type\":\"opened\"",
        NULL,
    };
    for (int i = 0; bad[i]; i++) {
        owned = (void *)1;
        rc = fx_event_parse(bad[i], &ev, &owned);
        ok(rc == -1 && owned == NULL, "malformed event rejected: %s", bad[i]);
    }
    owned = (void *)1;
    ok(fx_event_parse(NULL, &ev, &owned) == -1 && owned == NULL, "NULL event");
}

int
main(void)
{
    test_names();
    test_init();
    test_threshold();
    test_success_closed();
    test_open_admits_nothing();
    test_half_open_leases(1);
    test_half_open_leases(3);
    test_expired_lease();
    test_probe_outcomes();
    test_open_until();
    test_force_open();
    test_reset();
    test_changed_by();
    test_json_roundtrip();
    test_json_lenient();
    test_json_malformed();
    test_event_json();
    test_event_parse();
    return tap_done();
}
