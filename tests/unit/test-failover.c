/* test-failover.c - the failover decisions of lib/failover.c, without any
 * I/O: the step after each attempt for every error class, retries and
 * their waits, breaker operations, mid-stream failures in both modes, an
 * answer that does not match its schema (invalid_output), and the exit
 * code of a request from its attempt history. */
#include "config.h"

#include "fx.h"
#include "http.h"

#include "tap.h"

#include <stdlib.h>
#include <string.h>

#define T0 1795000000.0 /* a fixed "now" */

static struct fx_policy
policy(void)
{
    struct fx_policy pol;
    memset(&pol, 0, sizeof(pol));
    pol.retries = 1;
    pol.backoff_base = 0.5;
    pol.backoff_max = 8;
    pol.retry_after_max = 30;
    pol.recovery_timeout = 60;
    pol.on_stream_error = FLEXIAI_STREAM_CONTINUE;
    /* the default [breaker] count: everything but the request's fault */
    int counted[] = {FLEXIAI_E_CONNECT,    FLEXIAI_E_TIMEOUT,
                     FLEXIAI_E_RATE_LIMIT, FLEXIAI_E_QUOTA,
                     FLEXIAI_E_OVERLOADED, FLEXIAI_E_SERVER,
                     FLEXIAI_E_AUTH,       FLEXIAI_E_STREAM_ERROR};
    for (size_t i = 0; i < sizeof(counted) / sizeof(counted[0]); i++)
        pol.count_mask |= 1u << counted[i];
    return pol;
}

/* A failed first attempt of class cls, nothing shown, breaker untouched. */
static struct fx_try
failed(int cls)
{
    struct fx_try t;
    memset(&t, 0, sizeof(t));
    t.cls = cls;
    t.retry_after = -1;
    return t;
}

static const char *
step_name(int step)
{
    switch (step) {
    case FX_STEP_DONE:
        return "done";
    case FX_STEP_RETRY:
        return "retry";
    case FX_STEP_NEXT:
        return "next";
    case FX_STEP_CONTINUE:
        return "continue";
    case FX_STEP_STOP:
        return "stop";
    default:
        return "?";
    }
}

static void
test_success(void)
{
    struct fx_policy pol = policy();
    struct fx_try t = failed(FLEXIAI_E_NONE);
    t.ok = 1;
    struct fx_decision d = fx_failover_decide(&pol, &t);
    is_str(step_name(d.step), "done", "success: done");
    is_int(d.code, FLEXIAI_OK, "success: exit 0");
    is_str(d.outcome, "success", "success: recorded as success");
    t.emitted = 100;
    t.probe = 1;
    d = fx_failover_decide(&pol, &t);
    is_str(step_name(d.step), "done", "streamed probe success: done");
}

/* Every class on a first attempt, nothing shown: the step and record. */
static void
test_each_class(void)
{
    static const struct {
        int cls;
        const char *step;
        const char *outcome;
        int code;
    } want[] = {
        {FLEXIAI_E_CONNECT, "retry", "retry", 0},
        {FLEXIAI_E_TIMEOUT, "retry", "retry", 0},
        {FLEXIAI_E_RATE_LIMIT, "retry", "retry", 0},
        {FLEXIAI_E_OVERLOADED, "retry", "retry", 0},
        {FLEXIAI_E_SERVER, "retry", "retry", 0},
        {FLEXIAI_E_STREAM_ERROR, "retry", "retry", 0},
        {FLEXIAI_E_QUOTA, "next", "error", 0},
        {FLEXIAI_E_AUTH, "next", "error", 0},
        {FLEXIAI_E_BAD_REQUEST, "stop", "error", FLEXIAI_EDATA},
        {FLEXIAI_E_CONTEXT_LENGTH, "next", "error", 0},
        {FLEXIAI_E_CONTENT_FILTER, "next", "error", 0},
        {FLEXIAI_E_CONFIG, "next", "error", 0},
        {FLEXIAI_E_INTERNAL, "next", "error", 0},
        {FLEXIAI_E_NONE, "next", "error", 0}, /* failed without a class */
        {FLEXIAI_E_CANCELLED, "stop", "interrupted", FLEXIAI_EINTR},
    };
    struct fx_policy pol = policy();
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        const char *name = flexiai_errclass_name(want[i].cls);
        struct fx_try t = failed(want[i].cls);
        struct fx_decision d = fx_failover_decide(&pol, &t);
        is_str(step_name(d.step), want[i].step, "%s: %s", name, want[i].step);
        is_str(d.outcome, want[i].outcome, "%s: recorded as %s", name,
               want[i].outcome);
        if (d.step == FX_STEP_STOP)
            is_int(d.code, want[i].code, "%s: exit %d", name, want[i].code);
        if (d.step == FX_STEP_RETRY)
            ok(d.wait < 0, "%s: no Retry-After, so back off", name);
    }
}

static void
test_bad_request(void)
{
    struct fx_policy pol = policy();
    pol.failover_on_bad_request = 1;
    struct fx_try t = failed(FLEXIAI_E_BAD_REQUEST);
    struct fx_decision d = fx_failover_decide(&pol, &t);
    is_str(step_name(d.step), "next",
           "bad_request with failover_on_bad_request: next provider");
    pol.failover_on_bad_request = 0;
    pol.one_provider = 1;
    d = fx_failover_decide(&pol, &t);
    is_int(d.code, FLEXIAI_EDATA, "bad_request stops with 65 either way");
}

static void
test_retries(void)
{
    struct fx_policy pol = policy();
    struct fx_try t = failed(FLEXIAI_E_SERVER);
    t.attempt = 1;
    struct fx_decision d = fx_failover_decide(&pol, &t);
    is_str(step_name(d.step), "next", "retries exhausted: next provider");
    is_str(d.outcome, "error", "...recorded as error");

    pol.retries = 3;
    t.attempt = 2;
    d = fx_failover_decide(&pol, &t);
    is_str(step_name(d.step), "retry", "retries = 3: third retry allowed");
    t.attempt = 3;
    d = fx_failover_decide(&pol, &t);
    is_str(step_name(d.step), "next", "retries = 3: no fourth");

    pol.retries = 0;
    t.attempt = 0;
    d = fx_failover_decide(&pol, &t);
    is_str(step_name(d.step), "next", "retries = 0: never retry");

    pol = policy();
    t = failed(FLEXIAI_E_RATE_LIMIT);
    t.retry_after = 2.5;
    d = fx_failover_decide(&pol, &t);
    ok(d.step == FX_STEP_RETRY && d.wait == 2.5,
       "Retry-After within retry_after_max: waited as told");
    t.retry_after = 30;
    d = fx_failover_decide(&pol, &t);
    ok(d.step == FX_STEP_RETRY && d.wait == 30,
       "Retry-After equal to retry_after_max: still waited");
    t.retry_after = 0;
    d = fx_failover_decide(&pol, &t);
    ok(d.step == FX_STEP_RETRY && d.wait == 0, "Retry-After 0: at once");

    t = failed(FLEXIAI_E_TIMEOUT);
    t.probe = 1;
    d = fx_failover_decide(&pol, &t);
    is_str(step_name(d.step), "next", "a failed probe is not retried");

    t = failed(FLEXIAI_E_CONNECT);
    t.breaker_op = FX_BREAKER_FAILURE;
    t.breaker_opened = 1;
    d = fx_failover_decide(&pol, &t);
    is_str(step_name(d.step), "next", "the failure opened the breaker: next");
    t.breaker_opened = 0;
    d = fx_failover_decide(&pol, &t);
    is_str(step_name(d.step), "retry", "counted but still closed: retry");
    t.breaker_op = FX_BREAKER_OPEN_UNTIL;
    d = fx_failover_decide(&pol, &t);
    is_str(step_name(d.step), "next", "opened until later: next");
}

static void
test_breaker_op(void)
{
    struct fx_policy pol = policy();
    double until = -1;
    is_int(fx_failover_breaker_op(&pol, FLEXIAI_E_SERVER, -1, T0, &until),
           FX_BREAKER_FAILURE, "server error counts");
    is_int(fx_failover_breaker_op(&pol, FLEXIAI_E_AUTH, -1, T0, &until),
           FX_BREAKER_FAILURE, "auth counts by default");
    is_int(fx_failover_breaker_op(&pol, FLEXIAI_E_BAD_REQUEST, -1, T0, &until),
           0, "bad_request does not count");
    is_int(
        fx_failover_breaker_op(&pol, FLEXIAI_E_CONTEXT_LENGTH, -1, T0, &until),
        0, "context_length does not count");
    pol.count_mask = 1u << FLEXIAI_E_TIMEOUT;
    is_int(fx_failover_breaker_op(&pol, FLEXIAI_E_SERVER, -1, T0, &until), 0,
           "[breaker] count without server: not counted");
    is_int(fx_failover_breaker_op(&pol, FLEXIAI_E_TIMEOUT, -1, T0, &until),
           FX_BREAKER_FAILURE, "...timeout still is");

    pol = policy();
    until = -1;
    is_int(fx_failover_breaker_op(&pol, FLEXIAI_E_QUOTA, -1, T0, &until),
           FX_BREAKER_OPEN_UNTIL, "quota opens the breaker");
    ok(until == T0 + 60, "...for recovery_timeout without Retry-After");
    fx_failover_breaker_op(&pol, FLEXIAI_E_QUOTA, 3600, T0, &until);
    ok(until == T0 + 3600, "...for Retry-After when given");
    fx_failover_breaker_op(&pol, FLEXIAI_E_QUOTA, 0, T0, &until);
    ok(until == T0 + 60, "...for recovery_timeout when Retry-After is 0");
    is_int(fx_failover_breaker_op(&pol, FLEXIAI_E_RATE_LIMIT, 31, T0, &until),
           FX_BREAKER_OPEN_UNTIL,
           "Retry-After beyond retry_after_max opens it");
    ok(until == T0 + 31, "...until then");
    is_int(fx_failover_breaker_op(&pol, FLEXIAI_E_RATE_LIMIT, 30, T0, &until),
           FX_BREAKER_FAILURE, "Retry-After at retry_after_max only counts");
    is_int(fx_failover_breaker_op(&pol, FLEXIAI_E_SERVER, 120, T0, &until),
           FX_BREAKER_OPEN_UNTIL, "any class with a long Retry-After opens it");
}

static void
test_mid_stream(void)
{
    struct fx_policy pol = policy();
    struct fx_try t = failed(FLEXIAI_E_STREAM_ERROR);
    t.emitted = 42;
    struct fx_decision d = fx_failover_decide(&pol, &t);
    is_str(step_name(d.step), "continue",
           "stream broke after output, continue mode: next provider "
           "continues");
    is_str(d.outcome, "error", "...recorded as error, not retried");

    pol.on_stream_error = FLEXIAI_STREAM_FAIL;
    d = fx_failover_decide(&pol, &t);
    is_str(step_name(d.step), "stop", "fail mode: stop");
    is_int(d.code, FLEXIAI_ETEMPFAIL, "fail mode: exit 75");

    pol = policy();
    t = failed(FLEXIAI_E_BAD_REQUEST);
    t.emitted = 1;
    d = fx_failover_decide(&pol, &t);
    is_str(step_name(d.step), "continue",
           "text shown wins over bad_request's stop");
    t = failed(FLEXIAI_E_TIMEOUT);
    t.emitted = 1;
    d = fx_failover_decide(&pol, &t);
    is_str(step_name(d.step), "continue", "idle timeout mid-stream: continue");
    t = failed(FLEXIAI_E_CANCELLED);
    t.emitted = 1;
    d = fx_failover_decide(&pol, &t);
    is_int(d.code, FLEXIAI_EINTR, "cancelled mid-stream: 130");
}

static void
test_may_try(void)
{
    struct fx_policy pol = policy();
    ok(fx_failover_may_try(&pol, 0) && fx_failover_may_try(&pol, 1),
       "failover: every provider may be tried");
    pol.one_provider = 1;
    ok(fx_failover_may_try(&pol, 0), "one provider: the first may be tried");
    ok(!fx_failover_may_try(&pol, 1), "one provider: no second");

    struct fx_settings s;
    memset(&s, 0, sizeof(s));
    s.retries = 4;
    s.retry_after_max = 7;
    flexiai_request req;
    memset(&req, 0, sizeof(req));
    req.on_stream_error = FLEXIAI_STREAM_FAIL;
    fx_policy_init(&pol, &s, &req);
    ok(pol.retries == 4 && pol.retry_after_max == 7 &&
           pol.on_stream_error == FLEXIAI_STREAM_FAIL && !pol.one_provider,
       "policy from settings and request");
    req.no_failover = 1;
    fx_policy_init(&pol, &s, &req);
    ok(pol.one_provider, "--no-failover: one provider");
    req.no_failover = 0;
    req.provider = "x";
    fx_policy_init(&pol, &s, &req);
    ok(pol.one_provider, "a named provider: one provider");
}

static void
test_backoff(void)
{
    struct fx_policy pol = policy();
    ok(fx_failover_backoff(&pol, 0, 0.5) == 0.25, "first: uniform up to base");
    ok(fx_failover_backoff(&pol, 1, 0.5) == 0.5, "second: up to 2 * base");
    ok(fx_failover_backoff(&pol, 3, 0.5) == 2, "fourth: up to 8 * base");
    ok(fx_failover_backoff(&pol, 10, 0.5) == 4, "capped at backoff_max");
    ok(fx_failover_backoff(&pol, 1000000, 0.999) < 8, "huge attempt: capped");
    ok(fx_failover_backoff(&pol, 2, 0) == 0, "full jitter reaches 0");
}

static void
test_success_counts(void)
{
    struct fx_breaker_doc d;
    fx_breaker_doc_init(&d);
    ok(!fx_failover_success_counts(&d, 0, 0),
       "healthy provider: no store write");
    ok(fx_failover_success_counts(&d, 0, 1), "publish_outcomes: written");
    ok(fx_failover_success_counts(&d, 1, 0), "probe: written");
    d.failure_count = 2;
    ok(fx_failover_success_counts(&d, 0, 0), "failures to clear: written");
    fx_breaker_doc_init(&d);
    d.state = FX_HALF_OPEN;
    ok(fx_failover_success_counts(&d, 0, 0), "not closed: written");
}

/* ---- the exit code from the attempt history ----------------------------- */

static flexiai_attempt hist[16];
static size_t nhist;

static void
add(const char *outcome, int cls)
{
    memset(&hist[nhist], 0, sizeof(hist[nhist]));
    hist[nhist].outcome = (char *)outcome;
    hist[nhist].errclass = cls;
    nhist++;
}

static void
test_exit(void)
{
    nhist = 0;
    is_int(fx_failover_exit(hist, 0), FLEXIAI_EUNAVAILABLE,
           "nothing tried: 69");

    nhist = 0;
    add("skipped", FLEXIAI_E_BREAKER_OPEN);
    add("skipped", FLEXIAI_E_BREAKER_OPEN);
    is_int(fx_failover_exit(hist, nhist), FLEXIAI_ETEMPFAIL,
           "every breaker open: 75");

    nhist = 0;
    add("retry", FLEXIAI_E_SERVER);
    add("error", FLEXIAI_E_SERVER);
    add("error", FLEXIAI_E_RATE_LIMIT);
    add("skipped", FLEXIAI_E_BREAKER_OPEN);
    add("error", FLEXIAI_E_STREAM_ERROR);
    add("error", FLEXIAI_E_TIMEOUT);
    add("error", FLEXIAI_E_CONNECT);
    add("error", FLEXIAI_E_OVERLOADED);
    is_int(fx_failover_exit(hist, nhist), FLEXIAI_ETEMPFAIL,
           "all transient: 75");

    nhist = 0;
    add("error", FLEXIAI_E_AUTH);
    add("error", FLEXIAI_E_AUTH);
    is_int(fx_failover_exit(hist, nhist), FLEXIAI_ENOPERM,
           "auth everywhere: 77");

    nhist = 0;
    add("retry", FLEXIAI_E_SERVER);
    add("error", FLEXIAI_E_AUTH);
    is_int(fx_failover_exit(hist, nhist), FLEXIAI_ENOPERM,
           "retried attempts do not count: 77");

    nhist = 0;
    add("error", FLEXIAI_E_BAD_REQUEST);
    is_int(fx_failover_exit(hist, nhist), FLEXIAI_EDATA, "bad_request: 65");
    add("error", FLEXIAI_E_CONTEXT_LENGTH);
    add("error", FLEXIAI_E_CONTENT_FILTER);
    is_int(fx_failover_exit(hist, nhist), FLEXIAI_EDATA,
           "invalid everywhere (bad_request, context_length, "
           "content_filter): 65");

    nhist = 0;
    add("error", FLEXIAI_E_CONFIG);
    add("error", FLEXIAI_E_CONFIG);
    is_int(fx_failover_exit(hist, nhist), FLEXIAI_ECONFIG,
           "no provider usable (keys missing): 78");

    nhist = 0;
    add("error", FLEXIAI_E_QUOTA);
    is_int(fx_failover_exit(hist, nhist), FLEXIAI_EUNAVAILABLE,
           "quota alone: 69 (not transient)");

    nhist = 0;
    add("error", FLEXIAI_E_AUTH);
    add("error", FLEXIAI_E_SERVER);
    is_int(fx_failover_exit(hist, nhist), FLEXIAI_ETEMPFAIL,
           "auth and server: one may answer later, 75");
    nhist = 0;
    add("error", FLEXIAI_E_AUTH);
    add("error", FLEXIAI_E_CONFIG);
    is_int(fx_failover_exit(hist, nhist), FLEXIAI_EUNAVAILABLE,
           "auth and config: mixed, 69");
    nhist = 0;
    add("skipped", FLEXIAI_E_BREAKER_OPEN);
    add("error", FLEXIAI_E_AUTH);
    is_int(fx_failover_exit(hist, nhist), FLEXIAI_ETEMPFAIL,
           "breaker open and auth: one may answer later, 75");
    nhist = 0;
    add("error", FLEXIAI_E_QUOTA);
    add("error", FLEXIAI_E_RATE_LIMITED_LOCAL);
    is_int(fx_failover_exit(hist, nhist), FLEXIAI_ETEMPFAIL,
           "quota and a local limit: 75");
    nhist = 0;
    add("error", FLEXIAI_E_QUOTA);
    add("error", FLEXIAI_E_AUTH);
    is_int(fx_failover_exit(hist, nhist), FLEXIAI_EUNAVAILABLE,
           "quota and auth: nothing transient, 69");
    nhist = 0;
    add("error", FLEXIAI_E_INTERNAL);
    is_int(fx_failover_exit(hist, nhist), FLEXIAI_EUNAVAILABLE, "internal: 69");

    nhist = 0;
    add("error", FLEXIAI_E_AUTH);
    add("interrupted", FLEXIAI_E_CANCELLED);
    is_int(fx_failover_exit(hist, nhist), FLEXIAI_EINTR, "cancelled: 130");
}

/* ---- whole requests, driven as client.c drives them --------------------- */

/*
 * Run a request against providers whose attempts fail with the classes in
 * script[p] (0 = success, -1 = breaker open: skipped), recording attempts
 * as client.c does.  Returns the exit code; *tries counts attempts sent.
 */
static int
simulate(const struct fx_policy *pol, const int script[][4], size_t nprov,
         int *tries)
{
    nhist = 0;
    *tries = 0;
    int tried_one = 0;
    for (size_t p = 0; p < nprov; p++) {
        if (!fx_failover_may_try(pol, tried_one))
            break;
        if (script[p][0] == -1) {
            add("skipped", FLEXIAI_E_BREAKER_OPEN);
            continue;
        }
        tried_one = 1;
        for (long attempt = 0;; attempt++) {
            int cls = script[p][attempt < 4 ? attempt : 3];
            struct fx_try t = failed(cls);
            t.ok = cls == 0;
            t.attempt = attempt;
            double until;
            if (!t.ok && cls != FLEXIAI_E_CANCELLED)
                t.breaker_op = fx_failover_breaker_op(pol, cls, -1, T0, &until);
            struct fx_decision d = fx_failover_decide(pol, &t);
            (*tries)++;
            add(d.outcome, cls);
            if (d.step == FX_STEP_DONE || d.step == FX_STEP_STOP)
                return d.code;
            if (d.step != FX_STEP_RETRY)
                break;
        }
    }
    return fx_failover_exit(hist, nhist);
}

static void
test_requests(void)
{
    struct fx_policy pol = policy();
    int tries;
    const int a[][4] = {{FLEXIAI_E_SERVER, FLEXIAI_E_SERVER},
                        {FLEXIAI_E_SERVER, 0}};
    is_int(simulate(&pol, a, 2, &tries), FLEXIAI_OK,
           "server errors, then the retry at the second answers");
    is_int(tries, 4, "...after 4 attempts (retries = 1 per provider)");

    const int b[][4] = {{-1}, {-1}, {-1}};
    is_int(simulate(&pol, b, 3, &tries), FLEXIAI_ETEMPFAIL,
           "all providers skipped, breakers open: 75");
    is_int(tries, 0, "...without sending anything");

    const int c[][4] = {{FLEXIAI_E_AUTH}, {FLEXIAI_E_AUTH}};
    is_int(simulate(&pol, c, 2, &tries), FLEXIAI_ENOPERM,
           "auth everywhere: 77");
    is_int(tries, 2, "...one attempt each, auth is never retried");

    const int d[][4] = {{FLEXIAI_E_BAD_REQUEST}, {0}};
    is_int(simulate(&pol, d, 2, &tries), FLEXIAI_EDATA,
           "bad_request at the first: 65, the second never asked");
    is_int(tries, 1, "...one attempt");

    const int e[][4] = {{FLEXIAI_E_TIMEOUT, FLEXIAI_E_TIMEOUT},
                        {FLEXIAI_E_AUTH}};
    is_int(simulate(&pol, e, 2, &tries), FLEXIAI_ETEMPFAIL,
           "timeouts then auth: the first may answer later, 75");

    const int f[][4] = {{FLEXIAI_E_SERVER, FLEXIAI_E_SERVER}, {0}};
    pol.one_provider = 1;
    is_int(simulate(&pol, f, 2, &tries), FLEXIAI_ETEMPFAIL,
           "--no-failover: the second is not asked, 75");
    const int g[][4] = {{-1}, {0}};
    is_int(simulate(&pol, g, 2, &tries), FLEXIAI_OK,
           "--no-failover: a skipped provider does not count as tried");

    pol = policy();
    const int h[][4] = {{FLEXIAI_E_CONNECT, FLEXIAI_E_CANCELLED}, {0}};
    is_int(simulate(&pol, h, 2, &tries), FLEXIAI_EINTR,
           "cancelled during the retry: 130");
    const int i[][4] = {{FLEXIAI_E_CONFIG}, {FLEXIAI_E_CONFIG}};
    is_int(simulate(&pol, i, 2, &tries), FLEXIAI_ECONFIG,
           "no provider usable: 78");
}

/* invalid_output: once more at the same provider at once (the repair),
 * then the next; never the breaker by default; 76 when it is all there
 * was. */
static void
test_invalid_output(void)
{
    struct fx_policy pol = policy();
    struct fx_try t = failed(FLEXIAI_E_INVALID_OUTPUT);
    struct fx_decision d = fx_failover_decide(&pol, &t);
    is_str(step_name(d.step), "retry", "invalid_output: retried once");
    is_str(d.outcome, "retry", "invalid_output: recorded as retry");
    ok(d.wait == 0, "invalid_output: the repair goes at once");
    t.attempt = 1;
    d = fx_failover_decide(&pol, &t);
    is_str(step_name(d.step), "next", "invalid_output twice: next provider");
    is_str(d.outcome, "error", "invalid_output twice: recorded as error");
    pol.retries = 0;
    t.attempt = 0;
    d = fx_failover_decide(&pol, &t);
    is_str(step_name(d.step), "retry",
           "invalid_output: repaired even with retries = 0");
    pol = policy();
    t.probe = 1;
    d = fx_failover_decide(&pol, &t);
    is_str(step_name(d.step), "retry", "invalid_output of a probe: repaired");

    double until = 0;
    is_int(
        fx_failover_breaker_op(&pol, FLEXIAI_E_INVALID_OUTPUT, -1, T0, &until),
        0, "invalid_output: not a breaker failure by default");
    pol.count_mask |= 1u << FLEXIAI_E_INVALID_OUTPUT;
    is_int(
        fx_failover_breaker_op(&pol, FLEXIAI_E_INVALID_OUTPUT, -1, T0, &until),
        FX_BREAKER_FAILURE, "[breaker] count = invalid_output: counted");
    t = failed(FLEXIAI_E_INVALID_OUTPUT);
    t.breaker_opened = 1;
    d = fx_failover_decide(&pol, &t);
    is_str(step_name(d.step), "next",
           "invalid_output that opened the breaker: next provider");

    nhist = 0;
    add("retry", FLEXIAI_E_INVALID_OUTPUT);
    add("error", FLEXIAI_E_INVALID_OUTPUT);
    add("retry", FLEXIAI_E_INVALID_OUTPUT);
    add("error", FLEXIAI_E_INVALID_OUTPUT);
    is_int(fx_failover_exit(hist, nhist), FLEXIAI_EPROTOCOL,
           "every provider answered, none matched: 76");
    nhist = 0;
    add("error", FLEXIAI_E_INVALID_OUTPUT);
    add("error", FLEXIAI_E_TIMEOUT);
    is_int(fx_failover_exit(hist, nhist), FLEXIAI_ETEMPFAIL,
           "invalid_output and timeout: may answer later, 75");

    /* a whole request: invalid twice at the first, the second answers */
    pol = policy();
    static const int script[][4] = {
        {FLEXIAI_E_INVALID_OUTPUT, FLEXIAI_E_INVALID_OUTPUT,
         FLEXIAI_E_INVALID_OUTPUT, FLEXIAI_E_INVALID_OUTPUT},
        {0, 0, 0, 0},
    };
    int tries;
    is_int(simulate(&pol, script, 2, &tries), FLEXIAI_OK,
           "invalid, repaired-invalid, then the next provider: 0");
    is_int(tries, 3, "three attempts: two at the first, one at the second");
}

int
main(void)
{
    test_success();
    test_each_class();
    test_bad_request();
    test_retries();
    test_breaker_op();
    test_mid_stream();
    test_may_try();
    test_backoff();
    test_success_counts();
    test_exit();
    test_requests();
    test_invalid_output();
    return tap_done();
}
