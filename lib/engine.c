/*
 * engine.c - the request engine: every request a state machine (pick a
 * provider, ask its breaker and its limits, build, send, parse or stream,
 * classify, then retry, fail over or finish as failover.c decides), and
 * one curl multi handle moving every transfer, so N requests progress at
 * once in one thread.  flexiai_complete() is the one-request case
 * (client.c); flexiai_batch_* is the public face for many.
 *
 * Breaker documents are cached for DOC_TTL seconds: a breaker another
 * process opened reroutes this engine's requests within that time, and
 * one this engine opened (its own failure) at once.  Admissions of
 * half-open probes always go through the store, so a probe is admitted
 * once across this batch and every other process.
 */
#include "config.h"

#include "cache.h"
#include "engine.h"
#include "ratelimit.h"
#include "schema/schema.h"

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define POLL_MS 50
#define DOC_TTL 0.1

/* ---- lists ------------------------------------------------------------- */

/* [defaults] max_tokens as the key table gives it, for an API that needs
 * one */
static long
default_max_tokens(void)
{
    long value;
    if (fxu_parse_long(fx_config_default("defaults", "max_tokens"), &value) !=
        0)
        value = 0;
    return value;
}

static void
unlink_job(struct job **head, struct job **tail, struct job *j)
{
    if (j->prev)
        j->prev->next = j->next;
    else
        *head = j->next;
    if (j->next)
        j->next->prev = j->prev;
    else
        *tail = j->prev;
    j->next = j->prev = NULL;
}

static void
append_job(struct job **head, struct job **tail, struct job *j)
{
    j->prev = *tail;
    j->next = NULL;
    if (*tail)
        (*tail)->next = j;
    else
        *head = j;
    *tail = j;
}

static void
finish(struct job *j, int rc)
{
    struct flexiai_batch *b = j->b;
    j->code = fx_job_conclude(j, rc);
    j->state = J_DONE;
    unlink_job(&b->head, &b->tail, j);
    b->nactive--;
    append_job(&b->dhead, &b->dtail, j);
    b->ndone++;
}

/* ---- breakers ---------------------------------------------------------- */

static struct fx_breaker_doc *
cached_doc(struct flexiai_batch *b, size_t pi)
{
    double now = fxu_monotonic();
    if (b->docs_at == 0 || now - b->docs_at > DOC_TTL) {
        const char **names = fxu_xcalloc(b->s->nproviders + 1, sizeof(char *));
        for (size_t i = 0; i < b->s->nproviders; i++)
            names[i] = b->s->providers[i].name;
        fx_client_store_load(b->c, names, b->s->nproviders, b->docs);
        free(names);
        b->docs_at = now;
    }
    return &b->docs[pi];
}

static void
clock_time(double t, char *buf, size_t size)
{
    time_t s = (time_t)t;
    struct tm tm;
    if (t <= 0 || localtime_r(&s, &tm) == NULL ||
        strftime(buf, size, "%H:%M:%S", &tm) == 0)
        snprintf(buf, size, "-");
}

/*
 * Why a provider was skipped, in words an operator can act on:
 *   skipped, breaker open since 12:03:10 after 5 x connect (Could not
 *   resolve host: api.openai.com); next probe 12:04:45 (in 57s);
 *   'flexiai breaker reset primary' closes it
 */
static void
explain_skip(const struct fx_breaker_doc *d, const char *name, double now,
             char *buf, size_t size)
{
    char since[16], next[16], in[32];
    clock_time(d->opened_at, since, sizeof(since));
    clock_time(d->retry_at, next, sizeof(next));
    fxu_fmt_duration(d->retry_at - now, in, sizeof(in));
    fxu_buf b;
    fxu_buf_init(&b);
    if (d->forced) {
        fxu_buf_printf(&b, "skipped, breaker opened by hand at %s", since);
        if (d->retry_at > 0)
            fxu_buf_printf(&b, " until %s (in %s)", next, in);
        else
            fxu_buf_puts(&b, " until reset");
    } else if (d->state == FX_HALF_OPEN || d->retry_at <= now) {
        fxu_buf_puts(&b, "skipped, breaker half-open: another process holds "
                         "the probe");
    } else {
        fxu_buf_printf(&b, "skipped, breaker open since %s", since);
        if (d->last_class[0])
            fxu_buf_printf(&b, " after %ld x %s%s%s%s", d->failure_count,
                           d->last_class, d->last_error[0] ? " (" : "",
                           d->last_error, d->last_error[0] ? ")" : "");
        fxu_buf_printf(&b, "; next probe %s (in %s)", next, in);
    }
    fxu_buf_printf(&b, "; 'flexiai breaker reset %s' closes it", name);
    snprintf(buf, size, "%s", b.data);
    fxu_buf_free(&b);
}

/* May p be tried now?  A breaker that is not closed must admit it (maybe
 * as a probe); a refusal is recorded as a skipped attempt. */
static int
admit(struct job *j, struct fx_provider *p, struct fx_breaker_doc *doc,
      int *probe)
{
    *probe = 0;
    if (doc->state == FX_CLOSED)
        return 1;
    flexiai_client *c = j->b->c;
    double now = fxu_wallclock();
    struct fx_breaker_op op;
    int adm = FX_ADMIT_NO;
    fx_client_fill_op(c, &op, FX_BREAKER_ADMIT);
    int ev = fx_client_store_update(c, p->name, &op, doc, &adm);
    if (ev == FX_EV_HALF_OPEN)
        fx_client_log(c, FLEXIAI_LOG_DEBUG, "%s: breaker half-open", p->name);
    if (adm == FX_ADMIT_NO) {
        double wait = doc->retry_at > now ? doc->retry_at - now : -1;
        char msg[512];
        explain_skip(doc, p->name, now, msg, sizeof(msg));
        j->cur_model = NULL;
        fx_job_add_attempt(j, p, "skipped", FLEXIAI_E_BREAKER_OPEN, 0, wait, 0,
                           msg, NULL);
        fx_client_log(c, FLEXIAI_LOG_ATTEMPT, "%s %s: %s", p->name, p->model,
                      msg);
        return 0;
    }
    *probe = adm == FX_ADMIT_PROBE;
    return 1;
}

/* Tell p's breaker about a failed attempt; fills t->breaker_*. */
static void
record_failure(struct job *j, struct fx_try *t, const struct fx_error *err)
{
    double until = 0;
    t->breaker_op = fx_failover_breaker_op(&j->pol, t->cls, t->retry_after,
                                           fxu_wallclock(), &until);
    if (t->breaker_op == 0)
        return;
    struct fx_breaker_op op;
    struct fx_breaker_doc *doc = &j->b->docs[j->pi];
    fx_client_fill_op(j->b->c, &op, t->breaker_op);
    op.until = until;
    op.was_probe = t->probe;
    /* kept in the state document, to explain later skips */
    op.err_class = flexiai_errclass_name(t->cls);
    op.err_msg = err->msg;
    int ev = fx_client_store_update(j->b->c, j->p->name, &op, doc, NULL);
    t->breaker_opened = ev == FX_EV_OPENED || doc->state == FX_OPEN;
}

/* An answer that did not match still shows the provider works: unless
 * [breaker] count lists invalid_output, it is a success to the breaker
 * (which releases a probe's lease). */
static void record_success(struct job *j);

/* An answer did not match the schema: the next attempt at the same
 * provider sees it and what was wrong with it. */
static void
repair(struct job *j)
{
    struct fx_outcome *o = &j->o;
    free(j->repair_answer);
    free(j->repair_msg);
    j->repair_answer = fxu_strndup(o->resp.text.data ? o->resp.text.data : "",
                                   o->resp.text.len);
    j->repair_msg = fx_schema_repair_prompt(o->verr ? o->verr : o->err.msg);
    size_t n = j->req.nmessages;
    j->msgs[n].role = "assistant";
    j->msgs[n].content = j->repair_answer;
    j->msgs[n + 1].role = "user";
    j->msgs[n + 1].content = j->repair_msg;
    j->nmsgs = n + 2;
}

static void
record_success(struct job *j)
{
    struct fx_breaker_doc *doc = &j->b->docs[j->pi];
    if (!fx_failover_success_counts(doc, j->probe,
                                    j->b->s->sync.publish_outcomes))
        return;
    struct fx_breaker_op op;
    fx_client_fill_op(j->b->c, &op, FX_BREAKER_SUCCESS);
    op.was_probe = j->probe;
    fx_client_store_update(j->b->c, j->p->name, &op, doc, NULL);
}

/* ---- the steps --------------------------------------------------------- */

static void
failover_notice(struct job *j)
{
    flexiai_client *c = j->b->c;
    if (j->broke)
        /* text was spliced: say whose answer it is, and where it joins */
        fx_client_log(c, FLEXIAI_LOG_NOTICE,
                      "%s broke off after %zu bytes (%s); %s continued the "
                      "answer",
                      j->broke->name, j->answer.len,
                      flexiai_errclass_name(j->broke_cls), j->p->name);
    else if (j->first_failed)
        fx_client_log(
            c, FLEXIAI_LOG_NOTICE, "%s failed (%s%s%s); answered by %s",
            j->first_failed->name, flexiai_errclass_name(j->first_err.cls),
            j->first_err.msg[0] ? ": " : "", j->first_err.msg, j->p->name);
}

static int
relay_text(void *ud, const char *text, size_t len)
{
    struct job *j = ud;
    if (j->notice_due && len) {
        /* who answers is said before its words stream in */
        j->notice_due = 0;
        failover_notice(j);
    }
    j->emitted_total += len;
    if (j->req.on_text)
        return j->req.on_text(j->req.ud, text, len);
    return 0;
}

static int
cancelled(const struct job *j)
{
    return j->b->cancel_all || (j->req.cancel && *j->req.cancel);
}

/* Can p's model take the request's attachments?  A refusal is a skipped
 * attempt (class unsupported: no traffic, nothing for the breaker). */
static int
refused(struct job *j, struct fx_provider *p)
{
    int first = j->req.provider != NULL || j->pi == 0;
    const char *model = j->req.model && first ? j->req.model : p->model;
    char *why = NULL;
    if (!fx_attach_refused(j->b->c->cfg, p, model, j->req.messages,
                           j->req.nmessages, &why))
        return 0;
    j->cur_model = model;
    fx_job_add_attempt(j, p, "skipped", FLEXIAI_E_UNSUPPORTED, 0, -1, 0, why,
                       NULL);
    fx_client_log(j->b->c, FLEXIAI_LOG_ATTEMPT, "%s %s: skipped, %s", p->name,
                  model ? model : "", why);
    free(why);
    return 1;
}

/* libcurl's multi handle, made at the first transfer: 0, or -1 when
 * libcurl could not make it. */
static int
start_multi(struct flexiai_batch *b)
{
    if (b->multi)
        return 0;
    b->multi = curl_multi_init();
    if (b->multi == NULL)
        return -1;
    curl_multi_setopt(b->multi, CURLMOPT_PIPELINING, (long)CURLPIPE_MULTIPLEX);
    return 0;
}

/* J_NEXT: the next provider that may be tried, or the end. */
static void
step_next(struct job *j)
{
    const struct fx_settings *s = j->b->s;
    for (; j->pi < s->nproviders; j->pi++) {
        struct fx_provider *p = &s->providers[j->pi];
        if (j->req.provider && strcmp(p->name, j->req.provider) != 0)
            continue;
        if (!fx_failover_may_try(&j->pol, j->tried_one))
            break;
        j->p = p;
        if (p->ops && refused(j, p))
            continue;
        if (p->ops && fx_engine_cache_lookup(j, p)) {
            finish(j, FLEXIAI_OK);
            return;
        }
        if (p->ops == NULL || !admit(j, p, cached_doc(j->b, j->pi), &j->probe))
            continue;
        const char *key = NULL;
        char *kerr = NULL;
        if (fx_provider_key(p, &key, &kerr) != 0) {
            if (cancelled(j)) {
                /* a signal while api_key_cmd ran: it was killed */
                j->cur_model = NULL;
                fx_job_add_attempt(j, p, "interrupted", FLEXIAI_E_CANCELLED, 0,
                                   -1, 0, "interrupted", NULL);
                free(kerr);
                finish(j, FLEXIAI_EINTR);
                return;
            }
            j->cur_model = NULL;
            fx_job_add_attempt(j, p, "error", FLEXIAI_E_CONFIG, 0, -1, 0, kerr,
                               NULL);
            fx_client_log(j->b->c, FLEXIAI_LOG_ATTEMPT, "%s: %s", p->name,
                          kerr);
            free(kerr);
            continue;
        }
        j->tried_one = 1;
        j->key = key;
        j->attempt = 0;
        if (j->req.schema) {
            /* no repair carried over from another provider */
            j->nmsgs = j->req.nmessages;
            const char *note = fx_schema_note(j->req.schema, p);
            if (note)
                fx_client_log(j->b->c, FLEXIAI_LOG_ATTEMPT, "%s: %s", p->name,
                              note);
        }
        j->limit_deadline = 0;
        /* the -m rule: the model is for the named provider, or the first */
        int first = j->req.provider != NULL || j->pi == 0;
        j->cur_model = j->req.model && first ? j->req.model : p->model;
        fx_job_params(j, p);
        j->state = J_START;
        return;
    }
    finish(j, -1);
}

static void handle_outcome(struct job *j);

static void
grow_pool(struct flexiai_batch *b)
{
    if (b->npool == b->cappool) {
        b->cappool = b->cappool ? b->cappool * 2 : 16;
        b->pool = fxu_xrealloc(b->pool, b->cappool * sizeof(*b->pool));
    }
}

/* J_START: limits, then the transfer. */
static void
step_start(struct job *j, double now)
{
    struct flexiai_batch *b = j->b;
    if (fx_engine_over_budget(j)) {
        finish(j, -1); /* no other provider is tried: each would cost */
        return;
    }
    double wait = fx_limits_acquire(b, j, now);
    if (wait < 0)
        return; /* over tpm alone: on to the next provider */
    if (wait > 0) {
        if (j->limit_deadline == 0)
            j->limit_deadline = now + b->s->limit_wait_max;
        if (now + wait <= j->limit_deadline || fx_limits_wait_always(j)) {
            j->state = J_WAIT;
            j->waiting_limit = 1;
            j->wake_at = now + wait;
            return;
        }
        char msg[96];
        snprintf(msg, sizeof(msg), "local limit %s = %ld: next slot in %.1f s",
                 fx_limits_which(j),
                 j->limit_which == FX_LIMIT_TPM ? j->p->tpm : j->p->rpm, wait);
        fx_job_add_attempt(j, j->p, "skipped", FLEXIAI_E_RATE_LIMITED_LOCAL, 0,
                           wait, 0, msg, NULL);
        fx_client_log(b->c, FLEXIAI_LOG_ATTEMPT, "%s %s: skipped, %s",
                      j->p->name, j->cur_model, msg);
        j->pi++;
        j->state = J_NEXT;
        return;
    }
    if (fx_curl_start() != 0 || start_multi(b) != 0) {
        /* OpenSSL or memory gave out; nothing was sent */
        fx_limits_settle(b, j);
        free(j->res.error);
        j->res.error = fxu_strdup("cannot initialise libcurl");
        finish(j, FLEXIAI_ESOFTWARE);
        return;
    }
    struct fx_call call = {
        .prov = j->p,
        .key = j->key,
        .model = j->cur_model,
        .messages = j->msgs,
        .nmessages = j->nmsgs,
        .params = &j->params,
        /* an answer checked against a schema is checked whole */
        .stream = j->req.stream && j->req.schema == NULL,
        .schema = j->req.schema,
        .default_max_tokens = default_max_tokens(),
        .want_reasoning = j->req.want_reasoning,
        .tools = j->req.tools,
        .ntools = j->req.ntools,
    };
    j->notice_due = j->broke != NULL || j->first_failed != NULL;
    if (fx_attempt_begin(&j->io, &call, &j->req, relay_text, j, &j->o) != 0) {
        fx_limits_settle(b, j);
        handle_outcome(j);
        return;
    }
    fx_client_warn_once(b->c, j->io.hreq.warning);
    j->easy = b->npool ? b->pool[--b->npool] : curl_easy_init();
    if (j->easy == NULL)
        abort(); /* out of memory, as fxu_xmalloc */
    j->x = fx_xfer_new(j->easy, &j->io.hreq, &j->io.ho, &j->io.hr);
    curl_easy_setopt(j->easy, CURLOPT_PRIVATE, j);
#if LIBCURL_VERSION_NUM >= 0x072b00
    /* https may offer HTTP/2: wait for a connection's handshake to tell
     * rather than open another.  Plain http is HTTP/1.1 here, and waiting
     * would queue every transfer behind the first answer. */
    if (strncasecmp(j->io.hreq.url, "https:", 6) == 0)
        curl_easy_setopt(j->easy, CURLOPT_PIPEWAIT, 1L);
#endif
    b->inflight[j->pi]++;
    j->state = J_FLIGHT;
    if (curl_multi_add_handle(b->multi, j->easy) != CURLM_OK) {
        j->state = J_START; /* transfer_done puts it right */
        int rc = fx_xfer_finish(j->x, FX_XFER_MULTI_ERROR, 0, CURLE_OK);
        j->x = NULL;
        b->inflight[j->pi]--;
        grow_pool(b);
        b->pool[b->npool++] = j->easy;
        j->easy = NULL;
        fx_attempt_end(&j->io, j->p, rc, &j->o);
        fx_limits_settle(b, j);
        handle_outcome(j);
    }
}

/* A transfer ended (curl finished it, or we stop it: why != 0). */
static void
transfer_done(struct job *j, int why, int completed, CURLcode cc)
{
    struct flexiai_batch *b = j->b;
    curl_multi_remove_handle(b->multi, j->easy);
    int rc = fx_xfer_finish(j->x, why, completed, cc);
    j->x = NULL;
    grow_pool(b);
    b->pool[b->npool++] = j->easy;
    j->easy = NULL;
    b->inflight[j->pi]--;
    fx_attempt_end(&j->io, j->p, rc, &j->o);
    fx_limits_settle(b, j);
    handle_outcome(j);
}

static void
log_attempt(struct job *j)
{
    const struct fx_outcome *o = &j->o;
    int cls = o->ok ? FLEXIAI_E_NONE : o->err.cls;
    fx_client_log(
        j->b->c, FLEXIAI_LOG_ATTEMPT, "%s %s POST %s -> %s%s%ld in %.0f ms%s%s",
        j->p->name, j->cur_model, o->url ? o->url : "-",
        o->ok ? "" : flexiai_errclass_name(cls), o->ok ? "HTTP " : " HTTP ",
        o->err.status ? o->err.status : (o->ok ? 200L : 0L), o->latency_ms,
        o->ok ? "" : ": ", o->ok ? "" : o->err.msg);
}

/* After an attempt: what failover.c decides. */
static void
handle_outcome(struct job *j)
{
    struct fx_outcome *o = &j->o;
    log_attempt(j);
    struct fx_try t = {
        .ok = o->ok,
        .cls = o->ok ? FLEXIAI_E_NONE : o->err.cls,
        .retry_after = o->err.retry_after,
        .emitted = o->emitted,
        .attempt = j->attempt,
        .probe = j->probe,
    };
    if (!o->ok && j->first_failed == NULL) {
        j->first_failed = j->p;
        j->first_err = o->err;
    }
    if (!o->ok && t.cls != FLEXIAI_E_CANCELLED)
        record_failure(j, &t, &o->err);
    if (t.cls == FLEXIAI_E_INVALID_OUTPUT && t.breaker_op == 0)
        record_success(j); /* a model's mistake is not an outage */
    struct fx_decision d = fx_failover_decide(&j->pol, &t);

    int rc = -1;
    if (d.step == FX_STEP_DONE) {
        fx_job_add_attempt(j, j->p, "success", 0,
                           o->err.status ? o->err.status : 200, -1,
                           o->latency_ms, NULL, o->url);
        j->res.attempts[j->res.nattempts - 1].probe = j->probe;
        j->res.attempts[j->res.nattempts - 1].continuation = j->answer.len > 0;
        j->res.attempts[j->res.nattempts - 1].text_bytes = o->resp.text.len;
        fx_job_attempt_usage(j, &o->resp);
        record_success(j);
        if (j->notice_due) /* nothing streamed: say it now */
            failover_notice(j);
        j->notice_due = 0;
        fx_job_success(j);
        fx_engine_cache_store(j);
        rc = d.code;
    } else if (t.cls == FLEXIAI_E_CANCELLED) {
        fx_job_add_attempt(j, j->p, "interrupted", FLEXIAI_E_CANCELLED,
                           o->err.status, -1, o->latency_ms, o->err.msg,
                           o->url);
        fx_job_attempt_usage(j, &o->resp);
        fx_job_cancelled(j);
        rc = d.code;
    } else {
        fx_job_add_attempt(j, j->p, d.outcome, t.cls, o->err.status,
                           t.retry_after, o->latency_ms, o->err.msg, o->url);
        j->res.attempts[j->res.nattempts - 1].probe = j->probe;
        j->res.attempts[j->res.nattempts - 1].continuation = j->answer.len > 0;
        j->res.attempts[j->res.nattempts - 1].text_bytes = t.emitted;
        j->res.attempts[j->res.nattempts - 1].validation_error =
            fxu_strdup(o->verr);
        fx_job_attempt_usage(j, &o->resp);
        if (t.cls == FLEXIAI_E_INVALID_OUTPUT && d.step == FX_STEP_RETRY)
            repair(j);
        if (t.emitted > 0) {
            j->broke = j->p;
            j->broke_cls = t.cls;
            fx_job_keep_partial(j, d.step == FX_STEP_STOP);
        }
        if (d.step == FX_STEP_STOP)
            rc = d.code;
    }
    fx_response_free(&o->resp);
    free(o->url);
    o->url = NULL;
    free(o->json);
    o->json = NULL;
    free(o->verr);
    o->verr = NULL;

    if (d.step == FX_STEP_RETRY && t.cls == FLEXIAI_E_INVALID_OUTPUT) {
        /* asked again at once, with the validation error */
        fx_client_log(j->b->c, FLEXIAI_LOG_ATTEMPT,
                      "%s: asking again, with the validation error",
                      j->p->name);
        j->attempt++;
        j->state = J_START;
    } else if (d.step == FX_STEP_RETRY) {
        double r01 = (double)rand_r(&j->b->c->seed) / ((double)RAND_MAX + 1.0);
        double wait = d.wait >= 0
                          ? d.wait
                          : fx_failover_backoff(&j->pol, j->attempt, r01);
        fx_client_log(j->b->c, FLEXIAI_LOG_ATTEMPT, "%s: retrying in %.2f s",
                      j->p->name, wait);
        j->attempt++;
        j->waiting_limit = 0;
        j->wake_at = fxu_monotonic() + wait;
        j->state = J_WAIT;
    } else if (rc != -1 || d.step == FX_STEP_DONE) {
        finish(j, rc);
    } else {
        j->pi++;
        j->state = J_NEXT;
    }
}

/* Move every job that need not wait for the network; the earliest wake
 * time of those that wait goes to *next_wake. */
static void
advance(struct flexiai_batch *b, double *next_wake)
{
    struct job *j = b->head, *nx;
    double now = fxu_monotonic();
    for (; j; j = nx) {
        nx = j->next; /* j may move to the done list */
        for (;;) {
            int st = j->state;
            if (st == J_FLIGHT) {
                int why =
                    cancelled(j) ? FX_XFER_CANCELLED : fx_xfer_check(j->x, now);
                if (why)
                    transfer_done(j, why, 0, CURLE_OK);
            } else if (st == J_WAIT) {
                if (cancelled(j)) {
                    fx_job_add_attempt(j, j->p, "interrupted",
                                       FLEXIAI_E_CANCELLED, 0, -1, 0,
                                       "interrupted", NULL);
                    finish(j, FLEXIAI_EINTR);
                } else if (now >= j->wake_at) {
                    j->state = J_START;
                } else if (*next_wake < 0 || j->wake_at < *next_wake) {
                    *next_wake = j->wake_at;
                }
            } else if (st == J_NEXT) {
                step_next(j);
            } else if (st == J_START) {
                if (cancelled(j)) {
                    fx_job_add_attempt(j, j->p, "interrupted",
                                       FLEXIAI_E_CANCELLED, 0, -1, 0,
                                       "interrupted", NULL);
                    finish(j, FLEXIAI_EINTR);
                } else {
                    step_start(j, now);
                }
            }
            /* keep going while the job moved without the network */
            if (j->state == st || j->state == J_DONE || j->state == J_FLIGHT ||
                j->state == J_WAIT)
                break;
        }
    }
}

/* ---- the public face --------------------------------------------------- */

flexiai_batch *
flexiai_batch_new(flexiai_client *c)
{
    flexiai_batch *b = fxu_xcalloc(1, sizeof(*b));
    b->c = c;
    b->s = c->s;
    /* libcurl's multi handle comes with the first transfer
     * (start_multi): an answer from the cache needs none */
    b->docs = fxu_xcalloc(b->s->nproviders + 1, sizeof(*b->docs));
    b->inflight = fxu_xcalloc(b->s->nproviders + 1, sizeof(long));
    return b;
}

void
flexiai_batch_cancel(flexiai_batch *b)
{
    b->cancel_all = 1;
}

void
flexiai_batch_free(flexiai_batch *b)
{
    if (b == NULL)
        return;
    b->cancel_all = 1;
    double nw = -1;
    while (b->head)
        advance(b, &nw);
    struct job *j, *nx;
    for (j = b->dhead; j; j = nx) {
        nx = j->next;
        fx_job_free(j);
    }
    for (size_t i = 0; i < b->npool; i++)
        curl_easy_cleanup(b->pool[i]);
    free(b->pool);
    if (b->multi)
        curl_multi_cleanup(b->multi);
    free(b->docs);
    free(b->inflight);
    fx_cache_close(b->cache);
    free(b);
}

flexiai_code
flexiai_batch_submit(flexiai_batch *b, const flexiai_request *req, void *tag)
{
    if (req == NULL || req->nmessages == 0 || req->messages == NULL) {
        fx_client_error_set(b->c, "a request needs messages");
        return FLEXIAI_EUSAGE;
    }
    struct job *j = fxu_xcalloc(1, sizeof(*j));
    j->b = b;
    j->tag = tag;
    j->started = fxu_monotonic();
    fxu_buf_init(&j->answer);
    if (fx_job_copy(j, req) != 0) {
        fx_job_free(j);
        fx_client_error_set(b->c, "a message without a role or content");
        return FLEXIAI_EUSAGE;
    }
    fx_policy_init(&j->pol, b->s, &j->req);
    j->state = J_NEXT;
    append_job(&b->head, &b->tail, j);
    b->nactive++;

    /* a request no provider can take ends here */
    size_t n = 0;
    for (size_t i = 0; i < b->s->nproviders; i++)
        if (req->provider == NULL ||
            strcmp(b->s->providers[i].name, req->provider) == 0)
            n++;
    if (n == 0) {
        if (req->provider) {
            j->res.error =
                fxu_asprintf("no provider named '%s'", req->provider);
            j->code = FLEXIAI_EUSAGE;
        } else {
            j->res.error = flexiai_config_why_no_providers(b->c->cfg);
            j->code = FLEXIAI_ECONFIG;
        }
        j->state = J_DONE;
        unlink_job(&b->head, &b->tail, j);
        b->nactive--;
        append_job(&b->dhead, &b->dtail, j);
        b->ndone++;
    }
    return FLEXIAI_OK;
}

size_t
flexiai_batch_pending(const flexiai_batch *b)
{
    return b->nactive + b->ndone;
}

size_t
flexiai_batch_run(flexiai_batch *b, int timeout_ms)
{
    double deadline =
        timeout_ms >= 0 ? fxu_monotonic() + timeout_ms / 1000.0 : -1;
    for (;;) {
        double next_wake = -1;
        advance(b, &next_wake);
        if (b->ndone > 0 || b->nactive == 0)
            return b->ndone;
        int running = 0;
        if (b->multi)
            curl_multi_perform(b->multi, &running);
        CURLMsg *msg;
        int left;
        while (b->multi &&
               (msg = curl_multi_info_read(b->multi, &left)) != NULL) {
            if (msg->msg != CURLMSG_DONE)
                continue;
            struct job *j = NULL;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&j);
            if (j && j->state == J_FLIGHT)
                transfer_done(j, 0, 1, msg->data.result);
        }
        if (b->ndone > 0)
            return b->ndone;
        double now = fxu_monotonic();
        if (deadline >= 0 && now >= deadline)
            return b->ndone;
        double wait = POLL_MS / 1000.0;
        if (next_wake >= 0 && next_wake - now < wait)
            wait = next_wake - now;
        if (deadline >= 0 && deadline - now < wait)
            wait = deadline - now;
        /* jobs ready to move on (a retry due now) need no poll */
        int ms = wait > 0 ? (int)(wait * 1000) + 1 : 0;
        for (struct job *j = b->head; j && ms; j = j->next)
            if (j->state == J_NEXT || j->state == J_START)
                ms = 0;
        if (ms && b->multi)
            curl_multi_poll(b->multi, NULL, 0, ms, NULL);
        else if (ms) /* waiting for a limit, nothing in flight yet */
            poll(NULL, 0, ms);
    }
}

int
flexiai_batch_next(flexiai_batch *b, flexiai_result *res, flexiai_code *code,
                   void **tag)
{
    struct job *j = b->dhead;
    if (j == NULL)
        return 0;
    unlink_job(&b->dhead, &b->dtail, j);
    b->ndone--;
    *res = j->res;
    memset(&j->res, 0, sizeof(j->res));
    if (code)
        *code = j->code;
    if (tag)
        *tag = j->tag;
    fx_job_free(j);
    return 1;
}
