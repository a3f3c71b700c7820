/*
 * engine-result.c - a request's record as the engine keeps it: the copy
 * of the caller's request, the attempts, the text kept from broken
 * streams, and the result that flexiai_complete() and flexiai_batch_next()
 * hand back (with its one-line error when nothing answered).
 */
#include "config.h"

#include "engine.h"
#include "schema/schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char continue_prompt[] =
    "Your previous answer was cut off. Continue it exactly where it "
    "stopped, without repeating anything.";

void
flexiai_request_init(flexiai_request *req)
{
    memset(req, 0, sizeof(*req));
    req->on_stream_error = FLEXIAI_STREAM_CONTINUE;
}

void
flexiai_result_init(flexiai_result *res)
{
    memset(res, 0, sizeof(*res));
}

/* The request's stop list as the provider builders take it. */
static char **
copy_stop(const char *const *stop, size_t n)
{
    if (stop == NULL || n == 0)
        return NULL;
    char **v = fxu_xcalloc(n + 1, sizeof(*v));
    for (size_t i = 0; i < n; i++)
        v[i] = fxu_strdup(stop[i] ? stop[i] : "");
    return v;
}

/* A message's attachments, owned by the job. */
static flexiai_attachment *
copy_attachments(const flexiai_attachment *a, size_t n)
{
    if (a == NULL || n == 0)
        return NULL;
    flexiai_attachment *v = fxu_xcalloc(n, sizeof(*v));
    for (size_t i = 0; i < n; i++) {
        v[i].path = fxu_strdup(a[i].path);
        v[i].url = fxu_strdup(a[i].url);
        v[i].mime = fxu_strdup(a[i].mime);
        v[i].name = fxu_strdup(a[i].name);
        if (a[i].data) {
            void *d = fxu_xmalloc(a[i].len ? a[i].len : 1);
            memcpy(d, a[i].data, a[i].len);
            v[i].data = d;
            v[i].len = a[i].len;
        }
    }
    return v;
}

static void
free_attachments(const flexiai_attachment *a, size_t n)
{
    for (size_t i = 0; a && i < n; i++) {
        free((char *)a[i].path);
        free((char *)a[i].url);
        free((char *)a[i].mime);
        free((char *)a[i].name);
        free((void *)a[i].data);
    }
    free((void *)a);
}

static flexiai_tool *
copy_tools(const flexiai_tool *t, size_t n)
{
    if (t == NULL || n == 0)
        return NULL;
    flexiai_tool *v = fxu_xcalloc(n, sizeof(*v));
    for (size_t i = 0; i < n; i++) {
        v[i].name = fxu_strdup(t[i].name);
        v[i].description = fxu_strdup(t[i].description);
        v[i].parameters = fxu_strdup(t[i].parameters);
    }
    return v;
}

int
fx_job_copy(struct job *j, const flexiai_request *req)
{
    j->req = *req;
    j->nowned = req->nmessages;
    j->msgs = fxu_xcalloc(req->nmessages + 2, sizeof(*j->msgs));
    for (size_t i = 0; i < req->nmessages; i++) {
        j->msgs[i].role = fxu_strdup(req->messages[i].role);
        j->msgs[i].content = fxu_strdup(
            req->messages[i].content ? req->messages[i].content : "");
        if (j->msgs[i].role == NULL || j->msgs[i].content == NULL)
            return -1;
        if (req->messages[i].reasoning_state)
            j->msgs[i].reasoning_state =
                fxu_strdup(req->messages[i].reasoning_state);
        const flexiai_message *m = &req->messages[i];
        j->msgs[i].attachments =
            copy_attachments(m->attachments, m->nattachments);
        j->msgs[i].nattachments = j->msgs[i].attachments ? m->nattachments : 0;
        j->msgs[i].tool_calls =
            fx_tool_calls_copy(m->tool_calls, m->ntool_calls);
        j->msgs[i].ntool_calls = j->msgs[i].tool_calls ? m->ntool_calls : 0;
        j->msgs[i].tool_call_id = fxu_strdup(m->tool_call_id);
        j->msgs[i].tool_name = fxu_strdup(m->tool_name);
        j->msgs[i].is_error = m->is_error;
    }
    j->tools = copy_tools(req->tools, req->ntools);
    j->req.tools = j->tools;
    j->req.ntools = j->tools ? req->ntools : 0;
    j->nmsgs = req->nmessages;
    j->req.messages = j->msgs;
    j->provider = fxu_strdup(req->provider);
    j->model = fxu_strdup(req->model);
    j->system = fxu_strdup(req->system);
    j->req.provider = j->provider;
    j->req.model = j->model;
    j->req.system = j->system;
    j->stop = copy_stop(req->stop, req->nstop);
    j->req.stop = (const char *const *)j->stop;
    j->req.nstop = j->stop ? req->nstop : 0;
    return 0;
}

void
fx_job_params(struct job *j, const struct fx_provider *p)
{
    const flexiai_request *r = &j->req;
    j->params = p->params;
    if (r->system)
        j->params.system = (char *)r->system;
    if (r->has_temperature)
        j->params.temperature = r->temperature;
    if (r->has_top_p)
        j->params.top_p = r->top_p;
    if (r->has_temperature)
        j->params.user_set |= FX_SET_TEMPERATURE;
    if (r->has_top_p)
        j->params.user_set |= FX_SET_TOP_P;
    if (j->stop)
        j->params.user_set |= FX_SET_STOP;
    if (r->top_k > 0)
        j->params.top_k = r->top_k;
    if (r->reasoning != FLEXIAI_REASONING_UNSET)
        j->params.reasoning = (int)r->reasoning;
    if (r->max_tokens > 0)
        j->params.max_tokens = r->max_tokens;
    if (j->stop)
        j->params.stop = j->stop;
    if (r->timeout > 0)
        j->params.timeout = r->timeout;
    if (r->connect_timeout > 0)
        j->params.connect_timeout = r->connect_timeout;
    if (r->idle_timeout > 0)
        j->params.idle_timeout = r->idle_timeout;
    if (r->max_response_bytes > 0)
        j->params.max_response_bytes = r->max_response_bytes;
}

void
fx_job_free(struct job *j)
{
    if (j == NULL)
        return;
    for (size_t i = 0; i < j->nowned; i++) {
        free((char *)j->msgs[i].role);
        free((char *)j->msgs[i].content);
        free((char *)j->msgs[i].reasoning_state);
        free_attachments(j->msgs[i].attachments, j->msgs[i].nattachments);
        fx_tool_calls_free((flexiai_tool_call *)j->msgs[i].tool_calls,
                           j->msgs[i].ntool_calls);
        free((char *)j->msgs[i].tool_call_id);
        free((char *)j->msgs[i].tool_name);
    }
    free(j->msgs);
    for (size_t i = 0; j->tools && i < j->req.ntools; i++) {
        free((char *)j->tools[i].name);
        free((char *)j->tools[i].description);
        free((char *)j->tools[i].parameters);
    }
    free(j->tools);
    free(j->provider);
    free(j->model);
    free(j->system);
    for (char **s = j->stop; s && *s; s++)
        free(*s);
    free(j->stop);
    fxu_buf_free(&j->answer);
    free(j->repair_answer);
    free(j->repair_msg);
    free(j->o.json);
    free(j->o.verr);
    flexiai_result_free(&j->res);
    free(j);
}

void
fx_job_add_attempt(struct job *j, const struct fx_provider *p,
                   const char *outcome, int cls, long status,
                   double retry_after, double latency_ms, const char *message,
                   const char *url)
{
    flexiai_result *res = &j->res;
    res->attempts = fxu_xrealloc(res->attempts,
                                 (res->nattempts + 1) * sizeof(*res->attempts));
    flexiai_attempt *a = &res->attempts[res->nattempts++];
    memset(a, 0, sizeof(*a));
    a->provider = fxu_strdup(p->name);
    a->model = fxu_strdup(j->p == p && j->cur_model ? j->cur_model : p->model);
    a->outcome = fxu_strdup(outcome);
    a->errclass = cls;
    a->http_status = status;
    a->retry_after = retry_after;
    a->latency_ms = latency_ms;
    a->message = fxu_strdup(message);
    a->url = fxu_strdup(url);
}

void
fx_job_success(struct job *j)
{
    flexiai_result *res = &j->res;
    struct fx_outcome *o = &j->o;
    fxu_buf_append(&j->answer, o->resp.text.data ? o->resp.text.data : "",
                   o->resp.text.len);
    res->text = fxu_buf_steal(&j->answer);
    res->provider = fxu_strdup(j->p->name);
    res->model = fxu_strdup(o->resp.model ? o->resp.model : j->cur_model);
    res->finish_reason =
        fxu_strdup(o->resp.finish_reason ? o->resp.finish_reason : "stop");
    res->has_usage = o->resp.has_usage;
    res->prompt_tokens = o->resp.prompt_tokens;
    res->completion_tokens = o->resp.completion_tokens;
    res->total_tokens = o->resp.total_tokens;
    res->cached_tokens = o->resp.cached_tokens;
    res->cache_write_tokens = o->resp.cache_write_tokens;
    res->reasoning_tokens = o->resp.reasoning_tokens;
    if (o->resp.reasoning.len)
        res->reasoning = fxu_strdup(o->resp.reasoning.data);
    res->reasoning_state = o->resp.reasoning_state;
    o->resp.reasoning_state = NULL;
    res->tool_calls = o->resp.tool_calls;
    res->ntool_calls = o->resp.ntool_calls;
    o->resp.tool_calls = NULL;
    o->resp.ntool_calls = 0;
    res->streamed_output = j->emitted_total > 0;
    res->latency_ms = (fxu_monotonic() - j->started) * 1000.0;
    res->json = o->json; /* the validated answer, with a schema */
    o->json = NULL;
    res->schema_valid = res->json != NULL;
}

void
fx_job_cancelled(struct job *j)
{
    flexiai_result *res = &j->res;
    struct fx_outcome *o = &j->o;
    fxu_buf_append(&j->answer, o->resp.text.data ? o->resp.text.data : "",
                   o->resp.text.len);
    res->text = fxu_buf_steal(&j->answer);
    res->provider = fxu_strdup(j->p->name);
    res->model = fxu_strdup(j->cur_model);
    res->streamed_output = j->emitted_total > 0;
    free(res->error);
    res->error = fxu_strdup("interrupted");
}

/* Text of a broken stream reached the user: keep it, and either end the
 * request with it (stream error mode "fail") or have the next provider
 * continue it. */
void
fx_job_keep_partial(struct job *j, int stop)
{
    flexiai_result *res = &j->res;
    struct fx_outcome *o = &j->o;
    fxu_buf_append(&j->answer, o->resp.text.data, o->resp.text.len);
    if (stop) {
        res->text = fxu_buf_steal(&j->answer);
        res->provider = fxu_strdup(j->p->name);
        res->model = fxu_strdup(j->cur_model);
        res->finish_reason = fxu_strdup("error");
        res->streamed_output = 1;
        res->error = fxu_asprintf("%s: stream broke after %zu bytes (%s)",
                                  j->p->name, o->emitted, o->err.msg);
        return;
    }
    size_t n = j->req.nmessages;
    j->msgs[n].role = "assistant";
    j->msgs[n].content = j->answer.data;
    j->msgs[n + 1].role = "user";
    j->msgs[n + 1].content = continue_prompt;
    j->nmsgs = n + 2;
}

void
fx_job_attempt_usage(struct job *j, const struct fx_response *r)
{
    if (j->res.nattempts == 0 || !r->has_usage)
        return;
    flexiai_attempt *a = &j->res.attempts[j->res.nattempts - 1];
    a->has_usage = 1;
    a->prompt_tokens = r->prompt_tokens;
    a->completion_tokens = r->completion_tokens;
    a->cached_tokens = r->cached_tokens;
    a->cache_write_tokens = r->cache_write_tokens;
    a->reasoning_tokens = r->reasoning_tokens;
}

/* The request's usage is the sum over its billed attempts (an answer that
 * failed the schema, a broken stream: each was paid for), its cost the sum
 * of their costs at each attempt's provider and model, known when every
 * billed attempt has a price.  A result whose attempts carry no usage keeps
 * what it has. */
static void
sum_usage(struct job *j)
{
    flexiai_result *res = &j->res;
    struct fx_usage u = {0, 0, 0, 0, 0};
    long total = 0;
    int billed = 0, priced = 1;
    double cost = 0;
    for (size_t i = 0; i < res->nattempts; i++) {
        const flexiai_attempt *a = &res->attempts[i];
        if (!a->has_usage)
            continue;
        billed++;
        struct fx_usage au = {a->prompt_tokens, a->completion_tokens,
                              a->cached_tokens, a->cache_write_tokens,
                              a->reasoning_tokens};
        u.prompt += au.prompt;
        u.completion += au.completion;
        u.cached += au.cached;
        u.cache_write += au.cache_write;
        u.reasoning += au.reasoning;
        total += au.prompt + au.completion;
        struct fx_prices pr;
        if (fx_conf_prices(j->b->c->cfg, a->provider, a->model, &pr) == 0)
            cost += fx_cost(&pr, &au);
        else
            priced = 0;
    }
    if (billed == 0)
        return;
    if (billed > 1 || !res->has_usage)
        res->total_tokens = total;
    else if (res->total_tokens == 0)
        res->total_tokens = total;
    res->has_usage = 1;
    res->prompt_tokens = u.prompt;
    res->completion_tokens = u.completion;
    res->cached_tokens = u.cached;
    res->cache_write_tokens = u.cache_write;
    res->reasoning_tokens = u.reasoning;
    res->has_cost = priced;
    res->cost = priced ? cost : 0;
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
        /* a skip's message explains itself (see explain_skip) */
        if (a->errclass == FLEXIAI_E_BREAKER_OPEN && a->message)
            fxu_buf_printf(&b, "%s: %s", a->provider, a->message);
        else
            fxu_buf_printf(&b, "%s: %s", a->provider,
                           flexiai_errclass_name(a->errclass));
        if (a->errclass != FLEXIAI_E_BREAKER_OPEN && a->message && *a->message)
            fxu_buf_printf(&b, " (%s)", a->message);
        last_provider = a->provider;
    }
    free(res->error);
    res->error = fxu_buf_steal(&b);
}

int
fx_job_conclude(struct job *j, int rc)
{
    flexiai_result *res = &j->res;
    if (rc == -1 || rc == FLEXIAI_EDATA) {
        /* nothing answered: the attempts say why */
        if (rc == -1)
            rc = fx_failover_exit(res->attempts, res->nattempts);
        if (res->text == NULL && j->answer.len) {
            res->text = fxu_buf_steal(&j->answer);
            res->streamed_output = 1;
        }
        summarise_failure(res);
        if (rc == FLEXIAI_EPROTOCOL)
            fx_schema_result_error(res);
    } else if (rc == FLEXIAI_ETEMPFAIL && res->error == NULL) {
        summarise_failure(res);
    }
    if (res->latency_ms == 0)
        res->latency_ms = (fxu_monotonic() - j->started) * 1000.0;
    sum_usage(j);
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
    free(res->json);
    free(res->reasoning);
    free(res->reasoning_state);
    fx_tool_calls_free(res->tool_calls, res->ntool_calls);
    for (size_t i = 0; i < res->nattempts; i++) {
        flexiai_attempt *a = &res->attempts[i];
        free(a->validation_error);
        free(a->provider);
        free(a->model);
        free(a->outcome);
        free(a->message);
        free(a->url);
    }
    free(res->attempts);
    memset(res, 0, sizeof(*res));
}
