/*
 * client.c - the client, and a request with failover: providers in order,
 * breakers consulted before any traffic, each attempt (attempt.c) followed
 * by what failover.c decides, and every outcome recorded in the shared
 * store (client-breakers.c).
 */
#include "config.h"

#include "client.h"
#include "fx.h"

#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *
flexiai_client_error(const flexiai_client *c)
{
    return c->error ? c->error : "";
}

flexiai_client *
flexiai_client_new(flexiai_config *cfg, char **errmsg)
{
    static int curl_ready;
    if (!curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
            if (errmsg)
                *errmsg = fxu_strdup("cannot initialise libcurl");
            return NULL;
        }
        curl_ready = 1;
    }
    flexiai_client *c = fxu_xcalloc(1, sizeof(*c));
    c->cfg = cfg;
    c->s = fx_config_settings(cfg);
    c->seed = (unsigned)getpid() ^ (unsigned)(fxu_monotonic() * 1e6);
    char *err = NULL;
    if (fx_store_file.open(&c->file_store, c->s, &err) != 0) {
        if (errmsg)
            *errmsg = err;
        else
            free(err);
        free(c);
        return NULL;
    }
    c->ops = &fx_store_file;
    c->store = c->file_store;
    return c;
}

void
flexiai_client_free(flexiai_client *c)
{
    if (c == NULL)
        return;
    if (c->store && c->store != c->file_store)
        c->ops->close(c->store);
    if (c->file_store)
        fx_store_file.close(c->file_store);
    if (c->http)
        fx_http_free(c->http);
    for (size_t i = 0; i < c->nwarned_bad; i++)
        free(c->warned_bad[i]);
    free(c->warned_bad);
    free(c->error);
    free(c);
}

void
flexiai_client_set_log(flexiai_client *c, flexiai_log_fn fn, void *ud)
{
    c->log = fn;
    c->log_ud = ud;
}

/* ---- attempts --------------------------------------------------------- */

static void
add_attempt(flexiai_result *res, const char *provider, const char *model,
            const char *outcome, int cls, long status, double retry_after,
            double latency_ms, const char *message, const char *url)
{
    res->attempts = fxu_xrealloc(res->attempts,
                                 (res->nattempts + 1) * sizeof(*res->attempts));
    flexiai_attempt *a = &res->attempts[res->nattempts++];
    memset(a, 0, sizeof(*a));
    a->provider = fxu_strdup(provider);
    a->model = fxu_strdup(model);
    a->outcome = fxu_strdup(outcome);
    a->errclass = cls;
    a->http_status = status;
    a->retry_after = retry_after;
    a->latency_ms = latency_ms;
    a->message = fxu_strdup(message);
    a->url = fxu_strdup(url);
}

/* What the user's text callback sees; counts what reached the output. */
struct relay {
    const flexiai_request *req;
    size_t emitted_total;
};

static int
relay_text(void *ud, const char *text, size_t len)
{
    struct relay *r = ud;
    r->emitted_total += len;
    if (r->req->on_text)
        return r->req->on_text(r->req->ud, text, len);
    return 0;
}

static const char *
class_name(int cls)
{
    return flexiai_errclass_name(cls);
}

static void
summarise_failure(flexiai_result *res)
{
    fxu_buf b;
    fxu_buf_init(&b);
    const char *last_provider = NULL;
    for (size_t i = 0; i < res->nattempts; i++) {
        const flexiai_attempt *a = &res->attempts[i];
        if (strcmp(a->outcome, "retry") == 0)
            continue;
        if (last_provider && strcmp(last_provider, a->provider) == 0)
            continue;
        if (b.len)
            fxu_buf_puts(&b, "; ");
        fxu_buf_printf(&b, "%s: %s", a->provider, class_name(a->errclass));
        if (a->message && *a->message)
            fxu_buf_printf(&b, " (%s)", a->message);
        last_provider = a->provider;
    }
    free(res->error);
    res->error = fxu_buf_steal(&b);
}

static const char continue_prompt[] =
    "Your previous answer was cut off. Continue it exactly where it "
    "stopped, without repeating anything.";

static void
finish_success(flexiai_client *c, flexiai_result *res, struct fx_provider *p,
               struct fx_outcome *o, fxu_buf *answer, double started)
{
    fxu_buf_append(answer, o->resp.text.data ? o->resp.text.data : "",
                   o->resp.text.len);
    res->text = fxu_buf_steal(answer);
    res->provider = fxu_strdup(p->name);
    res->model = fxu_strdup(o->resp.model ? o->resp.model : p->model);
    res->finish_reason =
        fxu_strdup(o->resp.finish_reason ? o->resp.finish_reason : "stop");
    res->has_usage = o->resp.has_usage;
    res->prompt_tokens = o->resp.prompt_tokens;
    res->completion_tokens = o->resp.completion_tokens;
    res->total_tokens = o->resp.total_tokens;
    res->latency_ms = (fxu_monotonic() - started) * 1000.0;
    (void)c;
}

/* ---- one request with failover ---------------------------------------- */

/* A request in progress. */
struct run {
    flexiai_client *c;
    const flexiai_request *req;
    flexiai_result *res;
    struct fx_policy pol;
    /* messages, grown with the partial answer when a stream breaks */
    flexiai_message *msgs;
    size_t nmsgs;
    fxu_buf answer; /* text already shown from broken streams */
    struct relay relay;
    const struct fx_provider *first_failed;
    struct fx_error first_err;
    double started;
};

/* May p be tried now?  A breaker that is not closed must admit it (maybe
 * as a probe); a refusal is recorded as a skipped attempt. */
static int
admit(struct run *r, struct fx_provider *p, struct fx_bdoc *doc, int *probe)
{
    *probe = 0;
    if (doc->state == FX_CLOSED)
        return 1;
    double now = fxu_wallclock();
    struct fx_bop op;
    int admit = FX_ADMIT_NO;
    fx_client_fill_op(r->c, &op, FX_BOP_ADMIT);
    int ev = fx_client_store_update(r->c, p->name, &op, doc, &admit);
    if (ev == FX_EV_HALF_OPEN)
        fx_client_log(r->c, FLEXIAI_LOG_DEBUG, "%s: breaker half-open",
                      p->name);
    if (admit == FX_ADMIT_NO) {
        double wait = doc->retry_at > now ? doc->retry_at - now : -1;
        char msg[96];
        snprintf(msg, sizeof(msg), "breaker %s", fx_bstate_name(doc->state));
        add_attempt(r->res, p->name, p->model, "skipped",
                    FLEXIAI_E_BREAKER_OPEN, 0, wait, 0, msg, NULL);
        fx_client_log(r->c, FLEXIAI_LOG_ATTEMPT, "%s %s: skipped, breaker %s",
                      p->name, p->model, fx_bstate_name(doc->state));
        return 0;
    }
    *probe = admit == FX_ADMIT_PROBE;
    return 1;
}

static void
log_attempt(struct run *r, const struct fx_provider *p,
            const struct fx_outcome *o)
{
    int cls = o->ok ? FLEXIAI_E_NONE : o->err.cls;
    fx_client_log(r->c, FLEXIAI_LOG_ATTEMPT,
                  "%s %s POST %s -> %s%s%ld in %.0f ms%s%s", p->name, p->model,
                  o->url ? o->url : "-", o->ok ? "" : class_name(cls),
                  o->ok ? "HTTP " : " HTTP ",
                  o->err.status ? o->err.status : (o->ok ? 200L : 0L),
                  o->latency_ms, o->ok ? "" : ": ", o->ok ? "" : o->err.msg);
}

static void
on_success(struct run *r, struct fx_provider *p, struct fx_bdoc *doc, int probe,
           struct fx_outcome *o)
{
    flexiai_result *res = r->res;
    add_attempt(res, p->name, p->model, "success", 0,
                o->err.status ? o->err.status : 200, -1, o->latency_ms, NULL,
                o->url);
    res->attempts[res->nattempts - 1].probe = probe;
    res->attempts[res->nattempts - 1].continuation = r->answer.len > 0;
    if (fx_failover_success_counts(doc, probe,
                                   r->c->s->sync.publish_outcomes)) {
        struct fx_bop op;
        fx_client_fill_op(r->c, &op, FX_BOP_SUCCESS);
        op.was_probe = probe;
        fx_client_store_update(r->c, p->name, &op, NULL, NULL);
    }
    if (r->first_failed)
        fx_client_log(
            r->c, FLEXIAI_LOG_NOTICE, "%s failed (%s%s%s); answered by %s",
            r->first_failed->name, class_name(r->first_err.cls),
            r->first_err.msg[0] ? ": " : "", r->first_err.msg, p->name);
    res->streamed_output = r->relay.emitted_total > 0;
    finish_success(r->c, res, p, o, &r->answer, r->started);
}

static void
on_cancel(struct run *r, struct fx_provider *p, struct fx_outcome *o)
{
    flexiai_result *res = r->res;
    add_attempt(res, p->name, p->model, "interrupted", FLEXIAI_E_CANCELLED,
                o->err.status, -1, o->latency_ms, o->err.msg, o->url);
    fxu_buf_append(&r->answer, o->resp.text.data ? o->resp.text.data : "",
                   o->resp.text.len);
    res->text = fxu_buf_steal(&r->answer);
    res->provider = fxu_strdup(p->name);
    res->model = fxu_strdup(p->model);
    res->streamed_output = r->relay.emitted_total > 0;
    res->error = fxu_strdup("interrupted");
}

/* Tell p's breaker about a failed attempt; fills t->breaker_*. */
static void
record_failure(struct run *r, struct fx_provider *p, struct fx_bdoc *doc,
               struct fx_try *t)
{
    double until = 0;
    t->breaker_op = fx_failover_breaker_op(&r->pol, t->cls, t->retry_after,
                                           fxu_wallclock(), &until);
    if (t->breaker_op == 0)
        return;
    struct fx_bop op;
    fx_client_fill_op(r->c, &op, t->breaker_op);
    op.until = until;
    op.was_probe = t->probe;
    int ev = fx_client_store_update(r->c, p->name, &op, doc, NULL);
    t->breaker_opened = ev == FX_EV_OPENED || doc->state == FX_OPEN;
}

/* Text of a broken stream reached the user: keep it, and either end the
 * request with it (stream error mode "fail") or have the next provider
 * continue it. */
static void
keep_partial(struct run *r, struct fx_provider *p, struct fx_outcome *o,
             int stop)
{
    flexiai_result *res = r->res;
    fxu_buf_append(&r->answer, o->resp.text.data, o->resp.text.len);
    if (stop) {
        res->text = fxu_buf_steal(&r->answer);
        res->provider = fxu_strdup(p->name);
        res->model = fxu_strdup(p->model);
        res->finish_reason = fxu_strdup("error");
        res->streamed_output = 1;
        res->error = fxu_asprintf("%s: stream broke after %zu bytes (%s)",
                                  p->name, o->emitted, o->err.msg);
        return;
    }
    size_t n = r->req->nmessages;
    r->msgs[n].role = "assistant";
    r->msgs[n].content = r->answer.data;
    r->msgs[n + 1].role = "user";
    r->msgs[n + 1].content = continue_prompt;
    r->nmsgs = n + 2;
}

/* Attempts at p as failover.c directs.  Returns FLEXIAI_OK or the code
 * that ends the request, or -1: on to the next provider. */
static int
try_provider(struct run *r, struct fx_provider *p, const char *key,
             struct fx_bdoc *doc, int probe)
{
    for (long attempt = 0;; attempt++) {
        struct fx_outcome o;
        fx_attempt_run(&r->c->http, p, key, r->msgs, r->nmsgs, r->req,
                       relay_text, &r->relay, &o);
        log_attempt(r, p, &o);
        struct fx_try t = {
            .ok = o.ok,
            .cls = o.ok ? FLEXIAI_E_NONE : o.err.cls,
            .retry_after = o.err.retry_after,
            .emitted = o.emitted,
            .attempt = attempt,
            .probe = probe,
        };
        if (!o.ok && r->first_failed == NULL) {
            r->first_failed = p;
            r->first_err = o.err;
        }
        if (!o.ok && t.cls != FLEXIAI_E_CANCELLED)
            record_failure(r, p, doc, &t);
        struct fx_decision d = fx_failover_decide(&r->pol, &t);

        int rc = -1;
        if (d.step == FX_STEP_DONE) {
            on_success(r, p, doc, probe, &o);
            rc = d.code;
        } else if (t.cls == FLEXIAI_E_CANCELLED) {
            on_cancel(r, p, &o);
            rc = d.code;
        } else {
            flexiai_result *res = r->res;
            add_attempt(res, p->name, p->model, d.outcome, t.cls, o.err.status,
                        t.retry_after, o.latency_ms, o.err.msg, o.url);
            res->attempts[res->nattempts - 1].probe = probe;
            res->attempts[res->nattempts - 1].continuation = r->answer.len > 0;
            if (t.emitted > 0)
                keep_partial(r, p, &o, d.step == FX_STEP_STOP);
            if (d.step == FX_STEP_STOP)
                rc = d.code;
        }
        fx_response_free(&o.resp);
        free(o.url);
        if (d.step != FX_STEP_RETRY)
            return rc;

        double r01 = (double)rand_r(&r->c->seed) / ((double)RAND_MAX + 1.0);
        double wait =
            d.wait >= 0 ? d.wait : fx_failover_backoff(&r->pol, attempt, r01);
        fx_client_log(r->c, FLEXIAI_LOG_ATTEMPT, "%s: retrying in %.2f s",
                      p->name, wait);
        fxu_sleep(wait, r->req->cancel);
        if (r->req->cancel && *r->req->cancel) {
            add_attempt(r->res, p->name, p->model, "interrupted",
                        FLEXIAI_E_CANCELLED, 0, -1, 0, "interrupted", NULL);
            return FLEXIAI_EINTR;
        }
    }
}

/* The providers to try, in order: all of them, or the one named. */
static size_t
providers_in_order(const struct fx_settings *s, const flexiai_request *req,
                   struct fx_provider **order)
{
    size_t n = 0;
    for (size_t i = 0; i < s->nproviders; i++)
        if (req->provider == NULL ||
            strcmp(s->providers[i].name, req->provider) == 0)
            order[n++] = &s->providers[i];
    return n;
}

/* Try each provider in turn until one answers or failover.c says stop. */
static int
run_providers(struct run *r, struct fx_provider **order, size_t n,
              struct fx_bdoc *docs)
{
    int rc = -1, tried_one = 0;
    for (size_t i = 0; i < n && rc == -1; i++) {
        struct fx_provider *p = order[i];
        int probe;
        if (!fx_failover_may_try(&r->pol, tried_one))
            break;
        if (p->ops == NULL || !admit(r, p, &docs[i], &probe))
            continue;
        const char *key = NULL;
        char *kerr = NULL;
        if (fx_provider_key(p, &key, &kerr) != 0) {
            if (r->req->cancel && *r->req->cancel) {
                /* a signal while api_key_cmd ran: it was killed */
                add_attempt(r->res, p->name, p->model, "interrupted",
                            FLEXIAI_E_CANCELLED, 0, -1, 0, "interrupted", NULL);
                free(kerr);
                return FLEXIAI_EINTR;
            }
            add_attempt(r->res, p->name, p->model, "error", FLEXIAI_E_CONFIG, 0,
                        -1, 0, kerr, NULL);
            fx_client_log(r->c, FLEXIAI_LOG_ATTEMPT, "%s: %s", p->name, kerr);
            free(kerr);
            continue;
        }
        tried_one = 1;
        rc = try_provider(r, p, key, &docs[i], probe);
    }
    return rc;
}

int
flexiai_complete(flexiai_client *c, const flexiai_request *req,
                 flexiai_result *res)
{
    memset(res, 0, sizeof(*res));
    const struct fx_settings *s = c->s;
    struct run r = {.c = c, .req = req, .res = res};
    r.started = fxu_monotonic();

    if (req->nmessages == 0) {
        res->error = fxu_strdup("no messages");
        return FLEXIAI_ENOINPUT;
    }
    struct fx_provider **order = fxu_xcalloc(s->nproviders + 1, sizeof(*order));
    size_t n = providers_in_order(s, req, order);
    if (n == 0) {
        free(order);
        if (req->provider) {
            res->error = fxu_asprintf("no provider named '%s'", req->provider);
            return FLEXIAI_EUSAGE;
        }
        res->error = fxu_strdup("no providers configured (add a "
                                "[provider.NAME] section or set "
                                "OPENAI_API_KEY)");
        return FLEXIAI_ECONFIG;
    }
    const char **names = fxu_xcalloc(n, sizeof(char *));
    for (size_t i = 0; i < n; i++)
        names[i] = order[i]->name;
    struct fx_bdoc *docs = fxu_xcalloc(n, sizeof(*docs));
    fx_client_store_load(c, names, n, docs);

    fx_policy_init(&r.pol, s, req);
    r.nmsgs = req->nmessages;
    r.msgs = fxu_xcalloc(r.nmsgs + 2, sizeof(*r.msgs));
    memcpy(r.msgs, req->messages, r.nmsgs * sizeof(*r.msgs));
    fxu_buf_init(&r.answer);
    r.relay.req = req;

    int rc = run_providers(&r, order, n, docs);
    if (rc == -1 || rc == FLEXIAI_EDATA) {
        /* nothing answered: the attempts say why */
        if (rc == -1)
            rc = fx_failover_exit(res->attempts, res->nattempts);
        if (res->text == NULL && r.answer.len) {
            res->text = fxu_buf_steal(&r.answer);
            res->streamed_output = 1;
        }
        summarise_failure(res);
    } else if (rc == FLEXIAI_ETEMPFAIL && res->error == NULL) {
        summarise_failure(res);
    }
    if (res->latency_ms == 0)
        res->latency_ms = (fxu_monotonic() - r.started) * 1000.0;
    fxu_buf_free(&r.answer);
    free(r.msgs);
    free(docs);
    free(names);
    free(order);
    return rc;
}

void
flexiai_result_free(flexiai_result *res)
{
    if (res == NULL)
        return;
    free(res->text);
    free(res->provider);
    free(res->model);
    free(res->finish_reason);
    free(res->error);
    for (size_t i = 0; i < res->nattempts; i++) {
        flexiai_attempt *a = &res->attempts[i];
        free(a->provider);
        free(a->model);
        free(a->outcome);
        free(a->message);
        free(a->url);
    }
    free(res->attempts);
    memset(res, 0, sizeof(*res));
}
