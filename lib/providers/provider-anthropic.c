/*
 * provider-anthropic.c - Anthropic Messages API.
 */
#include "config.h"

#include "fx.h"
#include "provider-common.h"

#include <stdlib.h>
#include <string.h>

#define ANTHROPIC_BASE_URL "https://api.anthropic.com"
#define ANTHROPIC_VERSION "2023-06-01"

static const struct fx_finish_map finish_map[] = {
    {"end_turn", "stop"},          {"stop_sequence", "stop"},
    {"max_tokens", "length"},      {"tool_use", "tool_calls"},
    {"refusal", "content_filter"}, {NULL, NULL},
};

/* Structured output: output_config.format json_schema, or a forced tool
 * whose input_schema is the schema (older models, proxies).  json and
 * prompt modes put the schema in the system prompt (build_body). */
static void
add_schema(cJSON *root, const struct fx_call *call)
{
    int mode = fx_call_schema_mode(call);
    if (mode != FX_SCHEMA_NATIVE && mode != FX_SCHEMA_TOOL)
        return;
    cJSON *schema = fx_call_schema_json(call);
    if (schema == NULL)
        return;
    if (mode == FX_SCHEMA_NATIVE) {
        cJSON *fmt = cJSON_AddObjectToObject(
            cJSON_AddObjectToObject(root, "output_config"), "format");
        cJSON_AddStringToObject(fmt, "type", "json_schema");
        cJSON_AddItemToObject(fmt, "schema", schema);
        return;
    }
    cJSON *tool = cJSON_CreateObject();
    cJSON_AddStringToObject(tool, "name", FX_SCHEMA_TOOL_NAME);
    cJSON_AddStringToObject(tool, "description", "Give the answer.");
    cJSON_AddItemToObject(tool, "input_schema", schema);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(root, "tools"), tool);
    cJSON *tc = cJSON_AddObjectToObject(root, "tool_choice");
    cJSON_AddStringToObject(tc, "type", "tool");
    cJSON_AddStringToObject(tc, "name", FX_SCHEMA_TOOL_NAME);
}

static char *
build_body(const struct fx_call *call, const char *model,
           const struct fx_convo *c)
{
    const struct fx_params *pp = fx_call_params(call);
    cJSON *root = cJSON_CreateObject();

    cJSON_AddStringToObject(root, "model", model);
    /* the API requires max_tokens: unset, send flexiai's default */
    long max_tokens =
        pp->max_tokens > 0 ? pp->max_tokens : call->default_max_tokens;
    cJSON_AddNumberToObject(root, "max_tokens", (double)max_tokens);
    char *instruction = fx_call_schema_instruction(call);
    if (c->system.len > 0 && instruction) {
        char *sys = fxu_asprintf("%s\n\n%s", c->system.data, instruction);
        cJSON_AddStringToObject(root, "system", sys);
        free(sys);
    } else if (c->system.len > 0 || instruction) {
        cJSON_AddStringToObject(root, "system",
                                instruction ? instruction : c->system.data);
    }
    free(instruction);
    cJSON *messages = cJSON_AddArrayToObject(root, "messages");
    for (size_t i = 0; i < c->nturns; i++) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "role",
                                c->turns[i].assistant ? "assistant" : "user");
        cJSON_AddStringToObject(
            m, "content", c->turns[i].text.data ? c->turns[i].text.data : "");
        cJSON_AddItemToArray(messages, m);
    }
    if (pp->temperature >= 0)
        cJSON_AddNumberToObject(root, "temperature", pp->temperature);
    if (pp->top_p >= 0)
        cJSON_AddNumberToObject(root, "top_p", pp->top_p);
    if (pp->top_k > 0)
        cJSON_AddNumberToObject(root, "top_k", (double)pp->top_k);
    if (pp->stop && pp->stop[0]) {
        cJSON *stop = cJSON_AddArrayToObject(root, "stop_sequences");
        for (size_t i = 0; pp->stop[i]; i++)
            cJSON_AddItemToArray(stop, cJSON_CreateString(pp->stop[i]));
    }
    if (call->stream)
        cJSON_AddTrueToObject(root, "stream");
    add_schema(root, call);
    return fx_json_finish(root);
}

static int
anthropic_build_request(const struct fx_call *call, struct fx_http_req *out,
                        char **err)
{
    struct fx_convo convo;
    const char *model;
    int has_key;

    memset(out, 0, sizeof *out);
    if ((model = fx_call_model(call, err)) == NULL)
        return -1;
    if ((has_key = fx_key_usable(call->key, err)) < 0)
        return -1;
    if (fx_convo_build(call, &convo, err) < 0)
        return -1;

    /* api_version becomes a header: letters, digits, '-', '.', '_' only */
    const char *version = call->prov->api_version && *call->prov->api_version
                              ? call->prov->api_version
                              : ANTHROPIC_VERSION;
    if (strspn(version, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        "0123456789-._") != strlen(version)) {
        *err = fxu_strdup("api_version may hold only letters, digits, '-', "
                          "'.' and '_'");
        fx_convo_free(&convo);
        return -1;
    }

    char *base = fx_base_url(call->prov, ANTHROPIC_BASE_URL);
    out->url = fxu_asprintf("%s/v1/messages", base);
    free(base);
    out->body = build_body(call, model, &convo);
    fx_convo_free(&convo);

    if (has_key)
        fx_req_header(out, "x-api-key: %s", call->key);
    fx_req_header(out, "anthropic-version: %s", version);
    fx_req_header(out, "content-type: application/json");
    if (call->stream)
        fx_req_header(out, "accept: text/event-stream");
    return 0;
}

/* The probe: GET /v1/models costs no tokens. */
static int
anthropic_build_probe(const struct fx_call *call, struct fx_http_req *out,
                      char **err)
{
    int has_key;
    memset(out, 0, sizeof *out);
    if ((has_key = fx_key_usable(call->key, err)) < 0)
        return -1;
    char *base = fx_base_url(call->prov, ANTHROPIC_BASE_URL);
    out->url = fxu_asprintf("%s/v1/models", base);
    free(base);
    if (has_key)
        fx_req_header(out, "x-api-key: %s", call->key);
    fx_req_header(out, "anthropic-version: " ANTHROPIC_VERSION);
    return 0;
}

/* {"type":"error","error":{"type","message"}}: 1 when it is one. */
static int
error_fields(const cJSON *root, const char **type, const char **message)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
    *type = *message = NULL;
    if (cJSON_IsObject(e)) {
        *type = fx_json_str(e, "type");
        *message = fx_json_str(e, "message");
        return 1;
    }
    if (cJSON_IsString(e)) {
        *message = e->valuestring;
        return 1;
    }
    const char *t = fx_json_str(root, "type");
    if (t && strcmp(t, "error") == 0) {
        *message = fx_json_str(root, "message");
        return 1;
    }
    return 0;
}

/*
 * input_tokens excludes the prompt cache: prompt_tokens is input_tokens +
 * cache_read_input_tokens + cache_creation_input_tokens, with the last two
 * as its parts cached_tokens and cache_write_tokens, so that fx_cost()
 * prices each token once.  output_tokens includes thinking, whose count
 * (output_tokens_details.thinking_tokens) is reasoning_tokens.  A stream
 * reports usage twice (message_start, then message_delta): a count absent
 * or null the second time keeps the first one's.
 */
static void
read_usage(const cJSON *usage, struct fx_response *out)
{
    long v;
    if (!cJSON_IsObject(usage))
        return;
    long input =
        out->prompt_tokens - out->cached_tokens - out->cache_write_tokens;
    if (input < 0)
        input = 0;
    if (fx_json_count(usage, "input_tokens", &v) == 0) {
        input = v;
        out->has_usage = 1;
    }
    if (fx_json_count(usage, "cache_read_input_tokens", &v) == 0)
        out->cached_tokens = v;
    if (fx_json_count(usage, "cache_creation_input_tokens", &v) == 0)
        out->cache_write_tokens = v;
    out->prompt_tokens = input + out->cached_tokens + out->cache_write_tokens;
    if (fx_json_count(usage, "output_tokens", &v) == 0) {
        out->completion_tokens = v;
        out->has_usage = 1;
    }
    const cJSON *od =
        cJSON_GetObjectItemCaseSensitive(usage, "output_tokens_details");
    if (fx_json_count(od, "thinking_tokens", &v) == 0)
        out->reasoning_tokens = v;
    out->total_tokens = out->prompt_tokens + out->completion_tokens;
}

/* schema_mode = tool: the forced tool's input is the answer. */
static void
read_tool_use(const cJSON *block, struct fx_response *out)
{
    const char *name = fx_json_str(block, "name");
    const cJSON *input = cJSON_GetObjectItemCaseSensitive(block, "input");
    if (name && strcmp(name, FX_SCHEMA_TOOL_NAME) == 0 && input) {
        char *s = cJSON_PrintUnformatted(input);
        if (s)
            fxu_buf_puts(&out->text, s);
        free(s);
    } else if (name && out->tool_name == NULL) {
        out->tool_name = fxu_strdup(name);
    }
}

static int
anthropic_parse_response(const char *body, size_t len, struct fx_response *out,
                         struct fx_error *err)
{
    const char *type, *message;
    cJSON *root = fx_json_parse(body, len);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        fx_error_set(err, FLEXIAI_E_STREAM_ERROR, "malformed JSON in response");
        return -1;
    }
    if (error_fields(root, &type, &message)) {
        fx_error_detail(err, FLEXIAI_E_STREAM_ERROR,
                        "error in 200 response: ", type, message);
        cJSON_Delete(root);
        return -1;
    }
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(root, "content");
    if (!cJSON_IsArray(content)) {
        cJSON_Delete(root);
        fx_error_set(err, FLEXIAI_E_STREAM_ERROR, "response has no content");
        return -1;
    }
    if (cJSON_GetArraySize(content) == 0 &&
        fx_json_str(root, "stop_reason") == NULL) {
        cJSON_Delete(root);
        fx_error_set(err, FLEXIAI_E_STREAM_ERROR,
                     "response has no content (no blocks, no stop reason)");
        return -1;
    }
    const cJSON *block;
    cJSON_ArrayForEach(block, content)
    {
        const char *btype = fx_json_str(block, "type");
        const char *text = fx_json_str(block, "text");
        /* thinking, tool_use... blocks carry no answer text */
        if (btype && strcmp(btype, "text") == 0 && text)
            fxu_buf_puts(&out->text, text);
        else if (btype && strcmp(btype, "tool_use") == 0)
            read_tool_use(block, out);
    }
    const char *finish =
        fx_finish_normalise(fx_json_str(root, "stop_reason"), finish_map);
    fx_response_set_finish(out, finish ? finish : "stop");
    fx_response_set_model(out, fx_json_str(root, "model"));
    read_usage(cJSON_GetObjectItemCaseSensitive(root, "usage"), out);
    cJSON_Delete(root);
    return 0;
}

static int
anthropic_parse_event(struct fx_stream *st, const char *event, const char *data,
                      size_t len)
{
    const char *type, *message;

    if (event && strcmp(event, "ping") == 0)
        return 0;
    cJSON *root = fx_json_parse(data, len);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        fx_error_set(&st->err, FLEXIAI_E_STREAM_ERROR,
                     "malformed JSON in stream event");
        return -1;
    }
    /* The event name and the payload's type agree; the name wins. */
    const char *name = (event && *event) ? event : fx_json_str(root, "type");
    if (name == NULL)
        name = "";

    int rc = 0;
    int is_error = error_fields(root, &type, &message);
    if (is_error || strcmp(name, "error") == 0) {
        fx_error_detail(&st->err, FLEXIAI_E_STREAM_ERROR, "", type, message);
        rc = -1;
    } else if (strcmp(name, "message_start") == 0) {
        st->pstate = 1; /* a message seen */
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(root, "message");
        fx_response_set_model(st->resp, fx_json_str(msg, "model"));
        read_usage(cJSON_GetObjectItemCaseSensitive(msg, "usage"), st->resp);
    } else if (strcmp(name, "content_block_delta") == 0) {
        const cJSON *delta = cJSON_GetObjectItemCaseSensitive(root, "delta");
        const char *dtype = fx_json_str(delta, "type");
        const char *text = fx_json_str(delta, "text");
        if (dtype && strcmp(dtype, "text_delta") == 0 && text)
            fx_stream_text(st, text, strlen(text));
    } else if (strcmp(name, "message_delta") == 0) {
        const cJSON *delta = cJSON_GetObjectItemCaseSensitive(root, "delta");
        fx_response_set_finish(
            st->resp,
            fx_finish_normalise(fx_json_str(delta, "stop_reason"), finish_map));
        read_usage(cJSON_GetObjectItemCaseSensitive(root, "usage"), st->resp);
    } else if (strcmp(name, "message_stop") == 0 && !st->pstate) {
        fx_error_set(&st->err, FLEXIAI_E_STREAM_ERROR,
                     "stream ended without any message");
        rc = -1;
    } else if (strcmp(name, "message_stop") == 0) {
        st->done = 1;
        rc = 1;
    }
    /* content_block_start/stop and unknown (new) events: nothing to do */
    cJSON_Delete(root);
    return rc;
}

static void
anthropic_classify(long status, const char *body, size_t len,
                   const struct fx_headers *h, double now, struct fx_error *err)
{
    static const char *const reset[] = {
        "anthropic-ratelimit-requests-reset",
        "anthropic-ratelimit-tokens-reset",
        "anthropic-ratelimit-input-tokens-reset",
        "anthropic-ratelimit-output-tokens-reset",
        NULL,
    };
    const char *type, *message;
    cJSON *root = fx_classify_start(status, body, len, h, now, reset, err);
    if (root == NULL)
        return;

    int cls = err->cls;
    if (!error_fields(root, &type, &message))
        message = fx_json_str(root, "message");
    if (type == NULL)
        type = "";
    if (strcmp(type, "overloaded_error") == 0)
        cls = FLEXIAI_E_OVERLOADED;
    else if (strcmp(type, "rate_limit_error") == 0)
        cls = FLEXIAI_E_RATE_LIMIT;
    else if (strcmp(type, "billing_error") == 0 || status == 402)
        cls = FLEXIAI_E_QUOTA; /* 402: out of credit, not a bad request */
    else if (strcmp(type, "authentication_error") == 0 ||
             strcmp(type, "permission_error") == 0)
        cls = FLEXIAI_E_AUTH;
    else if (strcmp(type, "api_error") == 0 && cls == FLEXIAI_E_BAD_REQUEST)
        cls = FLEXIAI_E_SERVER;
    if (message && cls != FLEXIAI_E_AUTH && cls != FLEXIAI_E_OVERLOADED) {
        /* "Your credit balance is too low to access the Anthropic API" */
        if (fx_contains_nocase(message, "credit balance"))
            cls = FLEXIAI_E_QUOTA;
        else if ((strcmp(type, "invalid_request_error") == 0 ||
                  strcmp(type, "request_too_large") == 0 ||
                  cls == FLEXIAI_E_BAD_REQUEST) &&
                 fx_says_too_long(message))
            cls = FLEXIAI_E_CONTEXT_LENGTH;
    }
    fx_error_http(err, cls, status, type, message);
    cJSON_Delete(root);
}

static const char *const anthropic_key_vars[] = {"ANTHROPIC_API_KEY", NULL};

const struct fx_provider_ops fx_provider_anthropic = {
    .type = "anthropic",
    .key_vars = anthropic_key_vars,
    .default_model = FX_DEFAULT_MODEL_ANTHROPIC,
    .build_request = anthropic_build_request,
    .build_probe = anthropic_build_probe,
    .parse_response = anthropic_parse_response,
    .parse_event = anthropic_parse_event,
    .classify = anthropic_classify,
    .default_base_url = ANTHROPIC_BASE_URL,
};
