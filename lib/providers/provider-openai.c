/*
 * provider-openai.c - OpenAI Chat Completions, compatible servers (vLLM,
 * llama.cpp, Ollama...) and Azure OpenAI (when api_version is set).
 */
#include "config.h"

#include "fx.h"
#include "provider-common.h"

#include <stdlib.h>
#include <string.h>

#define OPENAI_BASE_URL "https://api.openai.com/v1"

static const struct fx_finish_map finish_map[] = {
    {"stop", "stop"},
    {"length", "length"},
    {"content_filter", "content_filter"},
    {"tool_calls", "tool_calls"},
    {"function_call", "tool_calls"},
    {NULL, NULL},
};

/* Reasoning models (the o-series, gpt-5 and later) reject max_tokens and
 * want max_completion_tokens. */
int
fx_openai_reasoning_model(const char *model)
{
    if (model[0] == 'o' && model[1] >= '1' && model[1] <= '9')
        return 1;
    if (strncmp(model, "gpt-", 4) != 0)
        return 0;
    long major = 0;
    for (const char *c = model + 4; *c >= '0' && *c <= '9'; c++)
        major = major * 10 + (*c - '0');
    return major >= 5;
}

const char *
fx_openai_effort(int reasoning)
{
    static const char *const efforts[] = {NULL, "none", "low", "medium",
                                          "high"};
    if (reasoning < FLEXIAI_REASONING_NONE ||
        reasoning > FLEXIAI_REASONING_HIGH)
        return NULL;
    return efforts[reasoning];
}

void
fx_openai_sampling(cJSON *root, const struct fx_call *call, const char *model,
                   fxu_buf *left_out)
{
    const struct fx_params *pp = fx_call_params(call);
    /* a reasoning model refuses temperature and top_p unless it does not
     * reason (effort none); its default effort is to reason.  Asked to
     * reason, any model is taken for one. */
    int refused = pp->reasoning > FLEXIAI_REASONING_NONE ||
                  (fx_openai_reasoning_model(model) &&
                   pp->reasoning != FLEXIAI_REASONING_NONE);
    if (pp->temperature >= 0 && !refused)
        cJSON_AddNumberToObject(root, "temperature", pp->temperature);
    else if (pp->temperature >= 0 && (pp->user_set & FX_SET_TEMPERATURE))
        fxu_buf_puts(left_out, left_out->len ? ", temperature" : "temperature");
    if (pp->top_p >= 0 && !refused)
        cJSON_AddNumberToObject(root, "top_p", pp->top_p);
    else if (pp->top_p >= 0 && (pp->user_set & FX_SET_TOP_P))
        fxu_buf_puts(left_out, left_out->len ? ", top_p" : "top_p");
}

char *
fx_openai_left_out(const struct fx_call *call, const char *model,
                   fxu_buf *left_out, const char *why)
{
    if (left_out->len == 0) {
        fxu_buf_free(left_out);
        return NULL;
    }
    char *w = fxu_asprintf("%s: %s not sent to %s (%s)", call->prov->name,
                           left_out->data, model, why);
    fxu_buf_free(left_out);
    return w;
}

static void
add_message(cJSON *messages, const char *role, const char *content)
{
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "role", role ? role : "user");
    cJSON_AddStringToObject(m, "content", content ? content : "");
    cJSON_AddItemToArray(messages, m);
}

/* Structured output: response_format json_schema (strict when the schema
 * allows it), a forced function call, or response_format json_object. */
static void
add_schema(cJSON *root, const struct fx_call *call)
{
    int mode = fx_call_schema_mode(call);
    if (mode == FX_SCHEMA_JSON) {
        cJSON *rf = cJSON_AddObjectToObject(root, "response_format");
        cJSON_AddStringToObject(rf, "type", "json_object");
    }
    if (mode != FX_SCHEMA_NATIVE && mode != FX_SCHEMA_TOOL)
        return;
    cJSON *schema = fx_call_schema_json(call);
    if (schema == NULL)
        return;
    if (mode == FX_SCHEMA_NATIVE) {
        cJSON *rf = cJSON_AddObjectToObject(root, "response_format");
        cJSON_AddStringToObject(rf, "type", "json_schema");
        cJSON *js = cJSON_AddObjectToObject(rf, "json_schema");
        cJSON_AddStringToObject(js, "name", FX_SCHEMA_TOOL_NAME);
        cJSON_AddBoolToObject(js, "strict", call->schema->strict);
        cJSON_AddItemToObject(js, "schema", schema);
        return;
    }
    cJSON *fn = cJSON_CreateObject();
    cJSON_AddStringToObject(fn, "name", FX_SCHEMA_TOOL_NAME);
    cJSON_AddStringToObject(fn, "description", "Give the answer.");
    cJSON_AddItemToObject(fn, "parameters", schema);
    cJSON *tool = cJSON_CreateObject();
    cJSON_AddStringToObject(tool, "type", "function");
    cJSON_AddItemToObject(tool, "function", fn);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(root, "tools"), tool);
    cJSON *tc = cJSON_AddObjectToObject(root, "tool_choice");
    cJSON_AddStringToObject(tc, "type", "function");
    cJSON_AddStringToObject(cJSON_AddObjectToObject(tc, "function"), "name",
                            FX_SCHEMA_TOOL_NAME);
}

/* The answer's tool calls; schema_mode = tool: the forced call's
 * arguments are the answer (fx_tools_finish), another tool's name is kept
 * for the validation message. */
static void
read_tool_calls(const cJSON *msg, struct fx_response *out)
{
    const cJSON *calls = cJSON_GetObjectItemCaseSensitive(msg, "tool_calls");
    const cJSON *call;
    cJSON_ArrayForEach(call, calls)
    {
        const cJSON *fn = cJSON_GetObjectItemCaseSensitive(call, "function");
        const char *name = fx_json_str(fn, "name");
        const char *args = fx_json_str(fn, "arguments");
        fx_tool_call_add(out, fx_json_str(call, "id"), name, args);
        if (name && strcmp(name, FX_SCHEMA_TOOL_NAME) != 0 &&
            out->tool_name == NULL)
            out->tool_name = fxu_strdup(name);
    }
}

/* A streamed piece of the calls: delta.tool_calls[] {index, id?,
 * function {name?, arguments?}}, joined by index. */
static void
stream_tool_calls(struct fx_stream *st, const cJSON *delta)
{
    const cJSON *calls = cJSON_GetObjectItemCaseSensitive(delta, "tool_calls");
    const cJSON *call;
    cJSON_ArrayForEach(call, calls)
    {
        const cJSON *index = cJSON_GetObjectItemCaseSensitive(call, "index");
        const cJSON *fn = cJSON_GetObjectItemCaseSensitive(call, "function");
        size_t at = cJSON_IsNumber(index) && index->valuedouble >= 0
                        ? (size_t)index->valuedouble
                        : st->resp->ntool_calls;
        flexiai_tool_call *c = fx_tool_call_at(st->resp, at);
        if (c == NULL)
            continue;
        fx_tool_call_set(c, fx_json_str(call, "id"), fx_json_str(fn, "name"));
        fx_tool_call_args(c, fx_json_str(fn, "arguments"));
    }
}

static char *
build_body(const struct fx_call *call, const char *model, char **warning)
{
    const struct fx_params *pp = fx_call_params(call);
    cJSON *root = cJSON_CreateObject();
    cJSON *messages;
    int has_system = 0;

    cJSON_AddStringToObject(root, "model", model);
    messages = cJSON_AddArrayToObject(root, "messages");
    for (size_t i = 0; i < call->nmessages; i++)
        if (call->messages[i].role &&
            strcmp(call->messages[i].role, "system") == 0)
            has_system = 1;
    if (pp->system && *pp->system && !has_system)
        add_message(messages, "system", pp->system);
    char *instruction = fx_call_schema_instruction(call);
    if (instruction)
        add_message(messages, "system", instruction);
    free(instruction);
    for (size_t i = 0; i < call->nmessages; i++) {
        if (fx_msg_is_tool(&call->messages[i]))
            cJSON_AddItemToArray(messages, fx_tools_openai_message(call, i));
        else
            add_message(messages, call->messages[i].role,
                        call->messages[i].content);
    }

    fxu_buf left_out;
    fxu_buf_init(&left_out);
    fx_openai_sampling(root, call, model, &left_out);
    *warning = fx_openai_left_out(call, model, &left_out,
                                  "a reasoning model refuses them");
    if (pp->max_tokens > 0)
        cJSON_AddNumberToObject(root,
                                fx_openai_reasoning_model(model)
                                    ? "max_completion_tokens"
                                    : "max_tokens",
                                (double)pp->max_tokens);
    if (fx_openai_effort(pp->reasoning))
        cJSON_AddStringToObject(root, "reasoning_effort",
                                fx_openai_effort(pp->reasoning));
    if (pp->stop && pp->stop[0]) {
        cJSON *stop = cJSON_AddArrayToObject(root, "stop");
        for (size_t i = 0; pp->stop[i]; i++)
            cJSON_AddItemToArray(stop, cJSON_CreateString(pp->stop[i]));
    }
    if (call->stream) {
        cJSON_AddTrueToObject(root, "stream");
        cJSON *so = cJSON_AddObjectToObject(root, "stream_options");
        cJSON_AddTrueToObject(so, "include_usage");
    }
    add_schema(root, call);
    fx_tools_openai(root, call);
    return fx_json_finish(root);
}

static int
openai_build_request(const struct fx_call *call, struct fx_http_req *out,
                     char **err)
{
    const struct fx_provider *p = call->prov;
    int azure = p->api_version && *p->api_version;
    const char *model;
    int has_key;
    fxu_buf url;

    memset(out, 0, sizeof *out);
    if ((model = fx_call_model(call, err)) == NULL)
        return -1;
    for (size_t i = 0; i < call->nmessages; i++)
        if (fx_role_check(call->messages[i].role, err) < 0)
            return -1;
    if ((has_key = fx_key_usable(call->key, err)) < 0)
        return -1;
    if (azure && (p->base_url == NULL || *p->base_url == '\0')) {
        *err = fxu_strdup("Azure OpenAI (api_version set) needs base_url");
        return -1;
    }

    char *base = fx_base_url(p, OPENAI_BASE_URL);
    fxu_buf_init(&url);
    fxu_buf_puts(&url, base);
    free(base);
    if (azure) {
        fxu_buf_puts(&url, "/openai/deployments/");
        fx_url_escape(&url, model);
        fxu_buf_puts(&url, "/chat/completions?api-version=");
        fx_url_escape(&url, p->api_version);
    } else {
        fxu_buf_puts(&url, "/chat/completions");
    }
    out->url = fxu_buf_steal(&url);
    out->body = build_body(call, model, &out->warning);

    if (has_key && azure)
        fx_req_header(out, "api-key: %s", call->key);
    else if (has_key)
        fx_req_header(out, "Authorization: Bearer %s", call->key);
    fx_req_header(out, "Content-Type: application/json");
    if (call->stream)
        fx_req_header(out, "Accept: text/event-stream");
    return 0;
}

/* The probe: GET {base}/models costs no tokens (Azure: the deployment
 * list of the resource). */
static int
openai_build_probe(const struct fx_call *call, struct fx_http_req *out,
                   char **err)
{
    const struct fx_provider *p = call->prov;
    int azure = p->api_version && *p->api_version;
    int has_key;

    memset(out, 0, sizeof *out);
    if ((has_key = fx_key_usable(call->key, err)) < 0)
        return -1;
    if (azure && (p->base_url == NULL || *p->base_url == '\0')) {
        *err = fxu_strdup("Azure OpenAI (api_version set) needs base_url");
        return -1;
    }
    char *base = fx_base_url(p, OPENAI_BASE_URL);
    fxu_buf url;
    fxu_buf_init(&url);
    fxu_buf_puts(&url, base);
    free(base);
    if (azure) {
        fxu_buf_puts(&url, "/openai/models?api-version=");
        fx_url_escape(&url, p->api_version);
    } else {
        fxu_buf_puts(&url, "/models");
    }
    out->url = fxu_buf_steal(&url);
    if (has_key && azure)
        fx_req_header(out, "api-key: %s", call->key);
    else if (has_key)
        fx_req_header(out, "Authorization: Bearer %s", call->key);
    return 0;
}

/* {"error": {...}} or {"error": "text"}: fill code/message, 1 if found. */
static int
error_fields(const cJSON *root, const char **code, const char **type,
             const char **message)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
    *code = *type = *message = NULL;
    if (cJSON_IsString(e)) {
        *message = e->valuestring;
        return 1;
    }
    if (!cJSON_IsObject(e))
        return 0;
    *code = fx_json_str(e, "code");
    *type = fx_json_str(e, "type");
    *message = fx_json_str(e, "message");
    return 1;
}

/* A usage object in either OpenAI spelling: Chat Completions
 * (prompt_tokens, completion_tokens, *_tokens_details) or the Responses
 * API (input_tokens, output_tokens, ...); in names: the prompt count, the
 * completion count, and their details objects. */
void
fx_openai_usage(const cJSON *usage, const char *const names[4],
                struct fx_response *out)
{
    long prompt = 0, completion = 0, total = 0;
    if (!cJSON_IsObject(usage))
        return;
    int got = fx_json_count(usage, names[0], &prompt) == 0;
    got |= fx_json_count(usage, names[1], &completion) == 0;
    if (fx_json_count(usage, "total_tokens", &total) < 0)
        total = prompt + completion;
    else
        got = 1;
    if (!got)
        return;
    out->has_usage = 1;
    out->prompt_tokens = prompt;
    out->completion_tokens = completion;
    out->total_tokens = total;
    /* Parts, counted inside prompt_tokens and completion_tokens (and
     * priced as such by fx_cost()); absent or null means 0. */
    long v = 0;
    const cJSON *pd = cJSON_GetObjectItemCaseSensitive(usage, names[2]);
    const cJSON *cd = cJSON_GetObjectItemCaseSensitive(usage, names[3]);
    out->cached_tokens = fx_json_count(pd, "cached_tokens", &v) == 0 ? v : 0;
    out->cache_write_tokens =
        fx_json_count(pd, "cache_write_tokens", &v) == 0 ? v : 0;
    out->reasoning_tokens =
        fx_json_count(cd, "reasoning_tokens", &v) == 0 ? v : 0;
}

static void
read_usage(const cJSON *usage, struct fx_response *out)
{
    static const char *const names[4] = {"prompt_tokens", "completion_tokens",
                                         "prompt_tokens_details",
                                         "completion_tokens_details"};
    fx_openai_usage(usage, names, out);
}

static int
openai_parse_response(const char *body, size_t len, struct fx_response *out,
                      struct fx_error *err)
{
    const char *code, *type, *message;
    cJSON *root = fx_json_parse(body, len);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        fx_error_set(err, FLEXIAI_E_STREAM_ERROR, "malformed JSON in response");
        return -1;
    }
    if (error_fields(root, &code, &type, &message)) {
        fx_error_detail(err, FLEXIAI_E_STREAM_ERROR,
                        "error in 200 response: ", NULL,
                        message ? message : (code ? code : type));
        cJSON_Delete(root);
        return -1;
    }
    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
    const cJSON *choice = cJSON_GetArrayItem(choices, 0);
    if (!cJSON_IsArray(choices) || !cJSON_IsObject(choice)) {
        cJSON_Delete(root);
        fx_error_set(err, FLEXIAI_E_STREAM_ERROR, "response has no choices");
        return -1;
    }
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(choice, "message");
    const char *text = NULL, *finish = NULL;
    if (cJSON_IsObject(msg)) {
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(msg, "content");
        if (cJSON_IsString(content)) {
            text = content->valuestring;
        } else if (cJSON_IsArray(content)) {
            /* some compatible servers send [{"type":"text","text":...}] */
            const cJSON *part;
            cJSON_ArrayForEach(part, content)
            {
                const char *t = fx_json_str(part, "text");
                if (t)
                    fxu_buf_puts(&out->text, t);
            }
        } else if (!cJSON_IsNull(content) && content != NULL) {
            cJSON_Delete(root);
            fx_error_set(err, FLEXIAI_E_STREAM_ERROR,
                         "response content is not text");
            return -1;
        } else if ((text = fx_json_str(msg, "refusal")) != NULL) {
            finish = "content_filter";
        }
    } else if ((text = fx_json_str(choice, "text")) == NULL) {
        /* old completions-style servers put the text on the choice */
        cJSON_Delete(root);
        fx_error_set(err, FLEXIAI_E_STREAM_ERROR, "response has no message");
        return -1;
    }

    if (text)
        fxu_buf_puts(&out->text, text);
    if (cJSON_IsObject(msg))
        read_tool_calls(msg, out);
    if (finish == NULL)
        finish = fx_finish_normalise(fx_json_str(choice, "finish_reason"),
                                     finish_map);
    /* A complete answer without a reason finished normally. */
    fx_response_set_finish(out, finish ? finish : "stop");
    fx_tools_finish(out);
    fx_response_set_model(out, fx_json_str(root, "model"));
    read_usage(cJSON_GetObjectItemCaseSensitive(root, "usage"), out);
    cJSON_Delete(root);
    return 0;
}

static int
openai_parse_event(struct fx_stream *st, const char *event, const char *data,
                   size_t len)
{
    const char *code, *type, *message;
    /* "[DONE]" ends the stream; tolerate surrounding blanks. */
    while (len > 0 && (*data == ' ' || *data == '\t')) {
        data++;
        len--;
    }
    while (len > 0 && (data[len - 1] == ' ' || data[len - 1] == '\t'))
        len--;
    if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
        if (!st->pstate) {
            /* no choice in the whole stream: a broken answer, not "" */
            fx_error_set(&st->err, FLEXIAI_E_STREAM_ERROR,
                         "stream ended without any choice");
            return -1;
        }
        fx_tools_finish(st->resp);
        st->done = 1;
        return 1;
    }
    if (len == 0)
        return 0; /* keep-alive */

    cJSON *root = fx_json_parse(data, len);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        fx_error_set(&st->err, FLEXIAI_E_STREAM_ERROR,
                     "malformed JSON in stream event");
        return -1;
    }
    if (error_fields(root, &code, &type, &message)) {
        fx_error_detail(&st->err, FLEXIAI_E_STREAM_ERROR, "",
                        code ? code : type, message);
        cJSON_Delete(root);
        return -1;
    }
    fx_response_set_model(st->resp, fx_json_str(root, "model"));

    const cJSON *choices = cJSON_GetObjectItemCaseSensitive(root, "choices");
    const cJSON *choice = cJSON_GetArrayItem(choices, 0);
    if (cJSON_IsObject(choice)) {
        st->pstate = 1; /* a choice seen */
        const cJSON *delta = cJSON_GetObjectItemCaseSensitive(choice, "delta");
        const cJSON *content =
            cJSON_GetObjectItemCaseSensitive(delta, "content");
        if (cJSON_IsString(content))
            fx_stream_text(st, content->valuestring,
                           strlen(content->valuestring));
        stream_tool_calls(st, delta);
        fx_response_set_finish(
            st->resp, fx_finish_normalise(fx_json_str(choice, "finish_reason"),
                                          finish_map));
    }
    read_usage(cJSON_GetObjectItemCaseSensitive(root, "usage"), st->resp);
    cJSON_Delete(root);
    return 0;
}

static void
openai_classify(long status, const char *body, size_t len,
                const struct fx_headers *h, double now, struct fx_error *err)
{
    static const char *const reset[] = {"x-ratelimit-reset-requests",
                                        "x-ratelimit-reset-tokens", NULL};
    const char *code, *type, *message;
    cJSON *root = fx_classify_start(status, body, len, h, now, reset, err);
    if (root == NULL)
        return;

    int cls = err->cls;
    if (!error_fields(root, &code, &type, &message)) {
        /* Compatible servers: {"message": ...} or {"detail": ...}. */
        message = fx_json_str(root, "message");
        if (message == NULL)
            message = fx_json_str(root, "detail");
    }
    const char *what = code ? code : type;
    if ((code && strcmp(code, "insufficient_quota") == 0) ||
        (type && strcmp(type, "insufficient_quota") == 0))
        cls = FLEXIAI_E_QUOTA;
    else if ((code && strcmp(code, "rate_limit_exceeded") == 0) ||
             (type && strcmp(type, "rate_limit_exceeded") == 0))
        cls = FLEXIAI_E_RATE_LIMIT;
    else if (code && strcmp(code, "context_length_exceeded") == 0)
        cls = FLEXIAI_E_CONTEXT_LENGTH;
    else if (cls == FLEXIAI_E_BAD_REQUEST && fx_says_too_long(message))
        cls = FLEXIAI_E_CONTEXT_LENGTH;
    else if (code && (strcmp(code, "content_filter") == 0 ||
                      strcmp(code, "content_policy_violation") == 0))
        cls = FLEXIAI_E_CONTENT_FILTER; /* Azure's filter, 400 */
    fx_error_http(err, cls, status, what, message);
    cJSON_Delete(root);
}

static const char *const openai_key_vars[] = {"OPENAI_API_KEY", NULL};

const struct fx_provider_ops fx_provider_openai = {
    .type = "openai",
    .key_vars = openai_key_vars,
    .base_url_var = "OPENAI_BASE_URL",
    .default_model = FX_DEFAULT_MODEL_OPENAI,
    .key_optional = 1,
    .build_request = openai_build_request,
    .build_probe = openai_build_probe,
    .parse_response = openai_parse_response,
    .parse_event = openai_parse_event,
    .classify = openai_classify,
    .default_base_url = OPENAI_BASE_URL,
};
