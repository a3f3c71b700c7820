/*
 * batchapi.c - the providers' batch APIs, the input and the results
 * (flexiai-batchapi.h): each item's request body made by the provider's own
 * build_request (as a live request, not streamed) and written as the
 * provider's batch input, and each result line turned back into a
 * flexiai_result by the provider's own parse_response, priced with
 * price_batch_factor.  The transfers are batchapi-http.c's.
 *
 *   OpenAI     JSONL: {"custom_id","method":"POST","url":"/v1/chat/
 *              completions" (or "/v1/responses"),"body":{...}}
 *              results: {"custom_id","response":{"status_code","body"},
 *              "error":{code,message}|null}
 *   Anthropic  {"requests":[{"custom_id","params":{...}}, ...]}
 *              results: {"custom_id","result":{"type":"succeeded",
 *              "message"}|{"type":"errored","error"}|{"type":"canceled"}|
 *              {"type":"expired"}}
 *   Gemini     models/{m}\n{"batch":{"displayName","inputConfig":{"requests":
 *              {"requests":[{"metadata":{"key"},"request":{...}}, ...]}}}}
 *              (one model a job: the model is in the URL)
 *              results: {"response":{...}|"error":{code,message},
 *              "metadata":{"key"}} (or {"key",...} from a responses file)
 */
#include "config.h"

#include "attach.h"
#include "batchapi.h"
#include "cost.h"
#include "providers/provider-common.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

struct fx_provider *
fx_batchapi_provider(flexiai_client *c, const char *name, int *kind, char **err)
{
    struct fx_provider *p = name ? fx_settings_provider(c->s, name) : NULL;
    if (p == NULL) {
        fx_set_err(err, "no provider '%s'", name ? name : "");
        return NULL;
    }
    *kind = FX_BATCHAPI_NONE;
    if (p->ops == &fx_provider_openai && !(p->api_version && *p->api_version))
        *kind = FX_BATCHAPI_OPENAI;
    else if (p->ops == &fx_provider_openai_responses)
        *kind = FX_BATCHAPI_RESPONSES;
    else if (p->ops == &fx_provider_anthropic)
        *kind = FX_BATCHAPI_ANTHROPIC;
    else if (p->ops == &fx_provider_gemini) /* not vertex: another API */
        *kind = FX_BATCHAPI_GEMINI;
    if (*kind == FX_BATCHAPI_NONE) {
        fx_set_err(err, "%s: provider type %s has no batch API flexiai speaks",
                   p->name, p->type);
        return NULL;
    }
    return p;
}

int
flexiai_batchapi_supported(flexiai_client *c, const char *name,
                           flexiai_batchapi_limits *lim)
{
    int kind;
    if (fx_batchapi_provider(c, name, &kind, NULL) == NULL)
        return 0;
    if (lim) {
        /* OpenAI: 50 000 requests and 200 MB a file; Anthropic: 100 000
         * requests and 256 MB a batch (PROTOCOLS.md, 2026 APIs) */
        lim->max_items = kind == FX_BATCHAPI_ANTHROPIC ? 100000 : 50000;
        lim->max_bytes =
            kind == FX_BATCHAPI_ANTHROPIC ? 256LL << 20 : 200LL << 20;
        if (kind == FX_BATCHAPI_GEMINI) {
            /* inline requests: under 20 MB in all (PROTOCOLS.md); no
             * count is documented: 10 000 is ours, so that a job's
             * answers, which come back inside the batch resource, stay
             * tens of MB */
            lim->max_items = 10000;
            lim->max_bytes = 20LL << 20;
        }
    }
    return 1;
}

/* The request's settings over the provider's, as the engine makes them
 * (engine-result.c, fx_job_params). */
static void
call_params(struct fx_params *pp, const struct fx_provider *p,
            const flexiai_request *r)
{
    *pp = p->params;
    if (r->system)
        pp->system = (char *)r->system;
    if (r->has_temperature) {
        pp->temperature = r->temperature;
        pp->user_set |= FX_SET_TEMPERATURE;
    }
    if (r->has_top_p) {
        pp->top_p = r->top_p;
        pp->user_set |= FX_SET_TOP_P;
    }
    if (r->top_k > 0)
        pp->top_k = r->top_k;
    if (r->reasoning != FLEXIAI_REASONING_UNSET)
        pp->reasoning = (int)r->reasoning;
    if (r->max_tokens > 0)
        pp->max_tokens = r->max_tokens;
}

int
fx_batchapi_build(struct fx_provider *p, const flexiai_request *req,
                  struct fx_http_req *out, char **err)
{
    const char *key = NULL;
    char *kerr = NULL;
    if (fx_provider_key(p, &key, &kerr) != 0 && !p->ops->key_optional) {
        fx_set_err(err, "%s: %s", p->name, kerr ? kerr : "no key");
        free(kerr);
        return -1;
    }
    free(kerr);
    struct fx_params params;
    call_params(&params, p, req);
    long dmax = 0;
    if (fxu_parse_long(fx_config_default("defaults", "max_tokens"), &dmax) != 0)
        dmax = 0;
    struct fx_call call = {
        .prov = p,
        .key = key,
        .model = req->model && *req->model ? req->model : p->model,
        .messages = req->messages,
        .nmessages = req->nmessages,
        .params = &params,
        .stream = 0,
        .schema = req->schema,
        .default_max_tokens = dmax,
        .want_reasoning = req->want_reasoning,
    };
    memset(out, 0, sizeof(*out));
    char *berr = NULL;
    /* attachments as a live request sends them: the files' bytes put in
     * where the provider code left their placeholders */
    if (p->ops->build_request(&call, out, &berr) != 0 ||
        fx_attach_splice(&out->body, req->messages, req->nmessages, &berr) !=
            0) {
        fx_set_err(err, "%s", berr ? berr : "cannot build the request");
        free(berr);
        fx_http_req_free(out);
        return -1;
    }
    return 0;
}

struct flexiai_batchapi_writer {
    flexiai_client *c;
    struct fx_provider *p;
    int kind;
    FILE *fp;
    long n;
    long long bytes;
    int failed;
    char *model; /* Gemini: the job's model, from its first item */
};

flexiai_batchapi_writer *
flexiai_batchapi_writer_new(flexiai_client *c, const char *name, FILE *fp,
                            char **err)
{
    int kind;
    struct fx_provider *p = fx_batchapi_provider(c, name, &kind, err);
    if (p == NULL)
        return NULL;
    flexiai_batchapi_writer *w = fxu_xcalloc(1, sizeof(*w));
    w->c = c;
    w->p = p;
    w->kind = kind;
    w->fp = fp;
    return w;
}

static void
put(flexiai_batchapi_writer *w, const char *s, size_t n)
{
    if (fwrite(s, 1, n, w->fp) != n)
        w->failed = 1;
    w->bytes += (long long)n;
}

static int
custom_id_ok(const char *id)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > 64)
        return 0;
    for (const char *s = id; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
              (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
            return 0;
    return 1;
}

flexiai_code
flexiai_batchapi_add(flexiai_batchapi_writer *w, const char *custom_id,
                     const flexiai_request *req, char **err)
{
    if (!custom_id_ok(custom_id)) {
        fx_set_err(err, "custom_id must be 1 to 64 letters, digits, '-' or "
                        "'_'");
        return FLEXIAI_EUSAGE;
    }
    struct fx_http_req hr;
    if (fx_batchapi_build(w->p, req, &hr, err) != 0)
        return FLEXIAI_ECONFIG;
    fx_client_warn_once(w->c, hr.warning);
    fxu_buf b;
    fxu_buf_init(&b);
    if (w->kind == FX_BATCHAPI_GEMINI) {
        char *m = fx_bgem_url_model(hr.url);
        if (m == NULL || (w->model && strcmp(m, w->model) != 0)) {
            fx_set_err(err,
                       "%s: one Gemini batch job takes one model: this "
                       "item's is %s, the job's %s",
                       w->p->name, m ? m : "none", w->model);
            free(m);
            fx_http_req_free(&hr);
            return FLEXIAI_EDATA;
        }
        if (w->model == NULL) {
            w->model = m;
            fxu_buf_printf(&b,
                           "models/%s\n{\"batch\":{\"displayName\":"
                           "\"flexiai\",\"inputConfig\":{\"requests\":{"
                           "\"requests\":[\n",
                           m);
        } else {
            free(m);
            fxu_buf_puts(&b, ",\n");
        }
        fxu_buf_printf(
            &b, "{\"metadata\":{\"key\":\"%s\"},\"request\":", custom_id);
    } else if (w->kind == FX_BATCHAPI_ANTHROPIC) {
        fxu_buf_puts(&b, w->n == 0 ? "{\"requests\":[\n" : ",\n");
        fxu_buf_printf(&b, "{\"custom_id\":\"%s\",\"params\":", custom_id);
    } else {
        fxu_buf_printf(&b,
                       "{\"custom_id\":\"%s\",\"method\":\"POST\",\"url\":"
                       "\"%s\",\"body\":",
                       custom_id,
                       w->kind == FX_BATCHAPI_RESPONSES
                           ? "/v1/responses"
                           : "/v1/chat/completions");
    }
    put(w, b.data, b.len);
    put(w, hr.body, strlen(hr.body));
    int one = w->kind == FX_BATCHAPI_ANTHROPIC || w->kind == FX_BATCHAPI_GEMINI;
    put(w, one ? "}" : "}\n", one ? 1 : 2);
    fxu_buf_free(&b);
    fx_http_req_free(&hr);
    w->n++;
    if (w->failed) {
        fx_set_err(err, "cannot write the batch input");
        return FLEXIAI_EIO;
    }
    return FLEXIAI_OK;
}

long long
flexiai_batchapi_bytes(const flexiai_batchapi_writer *w)
{
    return w ? w->bytes : 0;
}

flexiai_code
flexiai_batchapi_finish(flexiai_batchapi_writer *w)
{
    if (w->kind == FX_BATCHAPI_ANTHROPIC) {
        if (w->n == 0)
            put(w, "{\"requests\":[", 13);
        put(w, "\n]}\n", 4);
    }
    if (w->kind == FX_BATCHAPI_GEMINI) {
        if (w->n == 0) { /* nothing to send, but a file of the shape */
            fxu_buf b;
            fxu_buf_init(&b);
            fxu_buf_puts(&b, "models/");
            fx_url_escape(&b, w->p->model ? w->p->model : "none");
            fxu_buf_puts(&b, "\n{\"batch\":{\"displayName\":\"flexiai\","
                             "\"inputConfig\":{\"requests\":{\"requests\":[");
            put(w, b.data, b.len);
            fxu_buf_free(&b);
        }
        put(w, "\n]}}}}\n", 7);
    }
    if (fflush(w->fp) != 0)
        w->failed = 1;
    return w->failed ? FLEXIAI_EIO : FLEXIAI_OK;
}

void
flexiai_batchapi_writer_free(flexiai_batchapi_writer *w)
{
    if (w)
        free(w->model);
    free(w);
}

double
flexiai_batchapi_price_factor(const flexiai_config *cfg, const char *name)
{
    return fx_conf_batch_factor(cfg, name);
}

/* ---- results ------------------------------------------------------------
 */

static void
result_attempt(flexiai_result *res, const struct fx_provider *p,
               const char *model, int cls, long status, const char *msg)
{
    res->attempts = fxu_xcalloc(1, sizeof(*res->attempts));
    res->nattempts = 1;
    flexiai_attempt *a = &res->attempts[0];
    a->provider = fxu_strdup(p->name);
    a->model = fxu_strdup(model ? model : p->model);
    a->outcome = fxu_strdup(cls == FLEXIAI_E_NONE ? "success" : "error");
    a->errclass = (flexiai_errclass)cls;
    a->http_status = status;
    a->retry_after = -1;
    a->message = msg && *msg ? fxu_strdup(msg) : NULL;
}

static void
fill_answer(flexiai_client *c, const struct fx_provider *p,
            struct fx_response *r, flexiai_result *res, long status)
{
    res->text = fxu_strdup(r->text.data ? r->text.data : "");
    res->provider = fxu_strdup(p->name);
    res->model = fxu_strdup(r->model ? r->model : p->model);
    res->finish_reason = fxu_strdup(r->finish_reason);
    res->reasoning = r->reasoning.len ? fxu_strdup(r->reasoning.data) : NULL;
    res->tool_calls = r->tool_calls;
    res->ntool_calls = r->ntool_calls;
    r->tool_calls = NULL;
    r->ntool_calls = 0;
    result_attempt(res, p, res->model, FLEXIAI_E_NONE, status, NULL);
    if (!r->has_usage)
        return;
    res->has_usage = 1;
    res->prompt_tokens = r->prompt_tokens;
    res->completion_tokens = r->completion_tokens;
    res->total_tokens = r->total_tokens
                            ? r->total_tokens
                            : r->prompt_tokens + r->completion_tokens;
    res->cached_tokens = r->cached_tokens;
    res->cache_write_tokens = r->cache_write_tokens;
    res->reasoning_tokens = r->reasoning_tokens;
    flexiai_attempt *a = &res->attempts[0];
    a->has_usage = 1;
    a->prompt_tokens = r->prompt_tokens;
    a->completion_tokens = r->completion_tokens;
    a->cached_tokens = r->cached_tokens;
    a->cache_write_tokens = r->cache_write_tokens;
    a->reasoning_tokens = r->reasoning_tokens;
    struct fx_prices pr;
    struct fx_usage u = {r->prompt_tokens, r->completion_tokens,
                         r->cached_tokens, r->cache_write_tokens,
                         r->reasoning_tokens};
    if (fx_conf_prices(c->cfg, p->name, res->model, &pr) == 0) {
        res->has_cost = 1;
        res->cost =
            fx_cost(&pr, &u) * flexiai_batchapi_price_factor(c->cfg, p->name);
    }
}

static flexiai_code
fail_item(flexiai_result *res, const struct fx_provider *p, int cls,
          long status, const char *msg)
{
    res->provider = NULL;
    res->error = fxu_asprintf("%s: %s", p->name, msg ? msg : "failed");
    res->finish_reason = fxu_strdup("error");
    result_attempt(res, p, NULL, cls, status, msg);
    return (flexiai_code)fx_failover_exit(res->attempts, res->nattempts);
}

/* A 2xx body by the provider's own parser; else its classification. */
static flexiai_code
answer_body(flexiai_client *c, const struct fx_provider *p, long status,
            const cJSON *body, flexiai_result *res)
{
    char *text = body ? cJSON_PrintUnformatted(body) : fxu_strdup("");
    struct fx_error e;
    memset(&e, 0, sizeof(e));
    e.retry_after = -1;
    flexiai_code rc;
    if (status >= 200 && status < 300) {
        struct fx_response r;
        fx_response_init(&r);
        if (p->ops->parse_response(text, strlen(text), &r, &e) == 0) {
            fill_answer(c, p, &r, res, status);
            rc = FLEXIAI_OK;
        } else {
            rc = fail_item(res, p, e.cls ? e.cls : FLEXIAI_E_STREAM_ERROR,
                           status, e.msg[0] ? e.msg : "malformed answer");
        }
        fx_response_free(&r);
    } else {
        struct fx_headers none = {NULL, 0};
        p->ops->classify(status, text, strlen(text), &none, fxu_wallclock(),
                         &e);
        rc = fail_item(res, p, e.cls ? e.cls : fx_class_from_status(status),
                       status, e.msg[0] ? e.msg : "refused");
    }
    free(text);
    return rc;
}

static const char *
str_of(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static flexiai_code
openai_line(flexiai_client *c, const struct fx_provider *p, const cJSON *j,
            flexiai_result *res)
{
    const cJSON *resp = cJSON_GetObjectItemCaseSensitive(j, "response");
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(j, "error");
    if (cJSON_IsObject(err)) {
        const char *code = str_of(err, "code");
        const char *msg = str_of(err, "message");
        /* an item the job did not reach before it expired or was
         * cancelled, or whose call timed out, may run again */
        int gone = code && (strcmp(code, "batch_expired") == 0 ||
                            strcmp(code, "batch_cancelled") == 0 ||
                            strcmp(code, "request_timeout") == 0);
        return fail_item(res, p,
                         gone ? FLEXIAI_E_TIMEOUT : FLEXIAI_E_BAD_REQUEST, 0,
                         msg ? msg : code);
    }
    if (!cJSON_IsObject(resp))
        return FLEXIAI_EPROTOCOL;
    const cJSON *st = cJSON_GetObjectItemCaseSensitive(resp, "status_code");
    long status = cJSON_IsNumber(st) ? (long)st->valuedouble : 0;
    return answer_body(c, p, status,
                       cJSON_GetObjectItemCaseSensitive(resp, "body"), res);
}

static flexiai_code
anthropic_line(flexiai_client *c, const struct fx_provider *p, const cJSON *j,
               flexiai_result *res)
{
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(j, "result");
    const char *type = str_of(r, "type");
    if (type == NULL)
        return FLEXIAI_EPROTOCOL;
    if (strcmp(type, "succeeded") == 0)
        return answer_body(c, p, 200,
                           cJSON_GetObjectItemCaseSensitive(r, "message"), res);
    if (strcmp(type, "errored") == 0) {
        /* {"type":"error","error":{"type","message"}}, as a live error */
        const cJSON *e = cJSON_GetObjectItemCaseSensitive(r, "error");
        const cJSON *inner = cJSON_GetObjectItemCaseSensitive(e, "error");
        const char *et = str_of(inner ? inner : e, "type");
        long status = et && strcmp(et, "invalid_request_error") == 0  ? 400
                      : et && strcmp(et, "authentication_error") == 0 ? 401
                                                                      : 500;
        return answer_body(c, p, status, e, res);
    }
    return fail_item(res, p, FLEXIAI_E_TIMEOUT, 0,
                     strcmp(type, "expired") == 0 ? "expired in the batch"
                                                  : "canceled in the batch");
}

/* {"response"} as a live answer; {"error": google.rpc.Status} as the live
 * error of its code, for the provider's classify. */
static flexiai_code
gemini_line(flexiai_client *c, const struct fx_provider *p, const cJSON *j,
            flexiai_result *res)
{
    const cJSON *resp = cJSON_GetObjectItemCaseSensitive(j, "response");
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "error");
    if (cJSON_IsObject(e)) {
        const cJSON *cv = cJSON_GetObjectItemCaseSensitive(e, "code");
        int code = cJSON_IsNumber(cv) ? (int)cv->valuedouble : 2;
        const char *msg = str_of(e, "message"), *name;
        long status = fx_bgem_rpc_http(code, &name);
        if (code == 1 || code == 4) /* cancelled, deadline: may run again */
            return fail_item(res, p, FLEXIAI_E_TIMEOUT, 0, msg ? msg : name);
        cJSON *b = cJSON_CreateObject();
        cJSON *in = cJSON_AddObjectToObject(b, "error");
        cJSON_AddNumberToObject(in, "code", (double)status);
        cJSON_AddStringToObject(in, "message", msg ? msg : name);
        cJSON_AddStringToObject(in, "status", name);
        flexiai_code rc = answer_body(c, p, status, b, res);
        cJSON_Delete(b);
        return rc;
    }
    if (!cJSON_IsObject(resp))
        return FLEXIAI_EPROTOCOL;
    return answer_body(c, p, 200, resp, res);
}

flexiai_code
flexiai_batchapi_result(flexiai_client *c, const char *name, const char *line,
                        size_t len, char **custom_id, flexiai_result *res)
{
    int kind;
    *custom_id = NULL;
    flexiai_result_init(res);
    struct fx_provider *p = fx_batchapi_provider(c, name, &kind, NULL);
    if (p == NULL)
        return FLEXIAI_ECONFIG;
    cJSON *j = cJSON_ParseWithLength(line, len);
    const char *cid = str_of(j, "custom_id");
    if (kind == FX_BATCHAPI_GEMINI) {
        cid = str_of(cJSON_GetObjectItemCaseSensitive(j, "metadata"), "key");
        if (cid == NULL)
            cid = str_of(j, "key"); /* a responses file's line */
    }
    if (cid == NULL) {
        cJSON_Delete(j);
        return FLEXIAI_EPROTOCOL;
    }
    *custom_id = fxu_strdup(cid);
    flexiai_code rc = kind == FX_BATCHAPI_ANTHROPIC
                          ? anthropic_line(c, p, j, res)
                      : kind == FX_BATCHAPI_GEMINI ? gemini_line(c, p, j, res)
                                                   : openai_line(c, p, j, res);
    cJSON_Delete(j);
    return rc;
}

const char *
flexiai_batchapi_state_dir(const flexiai_config *cfg)
{
    const struct fx_settings *s = fx_config_settings(cfg);
    return s ? s->sync.state_dir : NULL;
}
