/*
 * provider-anthropic.c - Anthropic Messages API.
 */
#include "config.h"

#include "fx.h"
#include "provider-common.h"

#include <stdlib.h>
#include <string.h>

#define ANTHROPIC_BASE_URL "https://api.anthropic.com"
/* The official SDKs' version (TypeScript 1.0+, Python 2.0+, Go 2.0+): the
 * API's current rules; api_version = 2023-06-01 keeps the old ones. */
#define ANTHROPIC_VERSION "2026-10-21"

/* stop_reason, both versions.  model_context_window_exceeded is a cut
 * answer (length), an error only when nothing came (finish_error). */
static const struct fx_finish_map finish_map[] = {
    {"end_turn", "stop"},          {"stop_sequence", "stop"},
    {"max_tokens", "length"},      {"tool_use", "tool_calls"},
    {"refusal", "content_filter"}, {"model_context_window_exceeded", "length"},
    {"pause_turn", "error"},       {NULL, NULL},
};
/* No usable answer: a paused server-tool turn flexiai cannot resume. */
static const struct fx_finish_error finish_errors[] = {
    {"pause_turn", FLEXIAI_E_STREAM_ERROR},
    {NULL, 0},
};

/* 0, or -1 with err when the stop reason leaves no usable answer. */
static int
finish_error(const char *stop_reason, size_t text_len, struct fx_error *err)
{
    int cls = fx_finish_class(stop_reason, finish_errors);
    if (cls == 0 && text_len == 0 && stop_reason &&
        strcmp(stop_reason, "model_context_window_exceeded") == 0)
        cls = FLEXIAI_E_CONTEXT_LENGTH;
    if (cls == 0)
        return 0;
    fx_error_set(err, cls, "stop_reason %s", stop_reason);
    return -1;
}

static const char *
api_version(const struct fx_provider *p)
{
    return p->api_version && *p->api_version ? p->api_version
                                             : ANTHROPIC_VERSION;
}

/* The key: Authorization: Bearer as the SDK sends it under 2026-10-21,
 * x-api-key before. */
static void
key_header(struct fx_http_req *out, const char *version, const char *key)
{
    if (fx_anthropic_v2026(version))
        fx_req_header(out, "Authorization: Bearer %s", key);
    else
        fx_req_header(out, "x-api-key: %s", key);
}

static int
anthropic_build_request(const struct fx_call *call, struct fx_http_req *out,
                        char **err)
{
    const char *model;
    int has_key;

    memset(out, 0, sizeof *out);
    if ((model = fx_call_model(call, err)) == NULL)
        return -1;
    if ((has_key = fx_key_usable(call->key, err)) < 0)
        return -1;

    /* api_version becomes a header: letters, digits, '-', '.', '_' only */
    const char *version = api_version(call->prov);
    if (strspn(version, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        "0123456789-._") != strlen(version)) {
        *err = fxu_strdup("api_version may hold only letters, digits, '-', "
                          "'.' and '_'");
        return -1;
    }
    out->body = fx_anthropic_body(call, model, version, &out->warning, err);
    if (out->body == NULL)
        return -1;

    char *base = fx_base_url(call->prov, ANTHROPIC_BASE_URL);
    out->url = fxu_asprintf("%s/v1/messages", base);
    free(base);
    if (has_key)
        key_header(out, version, call->key);
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
    const char *version = api_version(call->prov);
    if (strspn(version, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        "0123456789-._") != strlen(version))
        version = ANTHROPIC_VERSION; /* build_request says why */
    if (has_key)
        key_header(out, version, call->key);
    fx_req_header(out, "anthropic-version: %s", version);
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
    char *args = input ? cJSON_PrintUnformatted(input) : NULL;
    /* every call (fx_tools_finish makes the schema's the answer) */
    fx_tool_call_add(out, fx_json_str(block, "id"), name, args);
    free(args);
    if (name && strcmp(name, FX_SCHEMA_TOOL_NAME) != 0 &&
        out->tool_name == NULL)
        out->tool_name = fxu_strdup(name);
}

/* A thinking or redacted_thinking block: its text to the reasoning, the
 * block itself (signature included) to `blocks`, to be sent back. */
static void
read_thinking(const cJSON *block, struct fx_response *out, cJSON *blocks)
{
    const char *thinking = fx_json_str(block, "thinking");
    if (thinking && *thinking) {
        if (out->reasoning.len)
            fxu_buf_puts(&out->reasoning, "\n\n");
        fxu_buf_puts(&out->reasoning, thinking);
    }
    cJSON_AddItemToArray(blocks, cJSON_Duplicate(block, 1));
}

static int
is_thinking(const char *btype)
{
    return btype && (strcmp(btype, "thinking") == 0 ||
                     strcmp(btype, "redacted_thinking") == 0);
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
    cJSON *blocks = cJSON_CreateArray();
    cJSON_ArrayForEach(block, content)
    {
        const char *btype = fx_json_str(block, "type");
        const char *text = fx_json_str(block, "text");
        /* thinking, tool_use... blocks carry no answer text */
        if (btype && strcmp(btype, "text") == 0 && text)
            fxu_buf_puts(&out->text, text);
        else if (btype && strcmp(btype, "tool_use") == 0)
            read_tool_use(block, out);
        else if (is_thinking(btype))
            read_thinking(block, out, blocks);
    }
    if (cJSON_GetArraySize(blocks) > 0) {
        free(out->reasoning_state);
        out->reasoning_state = fx_state_make("anthropic", "blocks", blocks);
    } else {
        cJSON_Delete(blocks);
    }
    const char *stop_reason = fx_json_str(root, "stop_reason");
    const char *finish = fx_finish_normalise(stop_reason, finish_map);
    fx_response_set_finish(out, finish ? finish : "stop");
    fx_tools_finish(out);
    fx_response_set_model(out, fx_json_str(root, "model"));
    read_usage(cJSON_GetObjectItemCaseSensitive(root, "usage"), out);
    int rc = finish_error(stop_reason, out->text.len, err);
    cJSON_Delete(root);
    return rc;
}

/* ---- thinking blocks in a stream ----------------------------------------
 * st->pstate: MSG_SEEN once message_start came, IN_THINKING while a
 * thinking block is open; st->pmark: where its text began in
 * resp->reasoning.  The blocks so far live in resp->reasoning_state. */
#define MSG_SEEN 1
#define IN_THINKING 2
#define IN_TOOL 4 /* a tool_use block is open: its calls' last */

/* The state's blocks array, parsed for a change (caller deletes root). */
static cJSON *
stream_blocks(struct fx_response *r, cJSON **root)
{
    *root = fx_state_parse(r->reasoning_state, "anthropic");
    if (*root == NULL) {
        *root = cJSON_CreateObject();
        cJSON_AddStringToObject(*root, "type", "anthropic");
    }
    cJSON *blocks = cJSON_GetObjectItemCaseSensitive(*root, "blocks");
    if (!cJSON_IsArray(blocks)) {
        cJSON_DeleteItemFromObjectCaseSensitive(*root, "blocks");
        blocks = cJSON_AddArrayToObject(*root, "blocks");
    }
    return blocks;
}

static void
stream_blocks_save(struct fx_response *r, cJSON *root)
{
    free(r->reasoning_state);
    r->reasoning_state = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
}

static void
block_start(struct fx_stream *st, const cJSON *cb)
{
    const char *btype = fx_json_str(cb, "type");
    if (btype && strcmp(btype, "tool_use") == 0) {
        /* its input comes in input_json_delta pieces */
        fx_tool_call_add(st->resp, fx_json_str(cb, "id"),
                         fx_json_str(cb, "name"), NULL);
        st->pstate |= IN_TOOL;
        return;
    }
    if (!is_thinking(btype))
        return;
    cJSON *root, *blocks = stream_blocks(st->resp, &root);
    cJSON *copy = cJSON_Duplicate(cb, 1);
    if (strcmp(btype, "thinking") == 0) {
        /* text and signature arrive in deltas */
        if (st->resp->reasoning.len)
            fxu_buf_puts(&st->resp->reasoning, "\n\n");
        st->pmark = st->resp->reasoning.len;
        st->pstate |= IN_THINKING;
        if (!cJSON_IsString(
                cJSON_GetObjectItemCaseSensitive(copy, "signature")))
            cJSON_AddStringToObject(copy, "signature", "");
    }
    cJSON_AddItemToArray(blocks, copy);
    stream_blocks_save(st->resp, root);
}

/* The open thinking block's text (at its stop) or a signature piece. */
static void
block_update(struct fx_stream *st, const char *member, const char *piece)
{
    cJSON *root, *blocks = stream_blocks(st->resp, &root);
    cJSON *last = cJSON_GetArrayItem(blocks, cJSON_GetArraySize(blocks) - 1);
    if (last) {
        const char *old = fx_json_str(last, member);
        char *joined = fxu_asprintf("%s%s", old ? old : "", piece);
        cJSON_DeleteItemFromObjectCaseSensitive(last, member);
        cJSON_AddStringToObject(last, member, joined);
        free(joined);
    }
    stream_blocks_save(st->resp, root);
}

static void
block_stop(struct fx_stream *st)
{
    st->pstate &= ~IN_TOOL;
    if (!(st->pstate & IN_THINKING))
        return;
    st->pstate &= ~IN_THINKING;
    const fxu_buf *r = &st->resp->reasoning;
    char *text =
        r->len > st->pmark ? fxu_strdup(r->data + st->pmark) : fxu_strdup("");
    block_update(st, "thinking", text);
    free(text);
}

static void
block_delta(struct fx_stream *st, const cJSON *delta)
{
    const char *dtype = fx_json_str(delta, "type");
    const char *text = fx_json_str(delta, "text");
    if (dtype == NULL)
        return;
    if (strcmp(dtype, "text_delta") == 0 && text)
        fx_stream_text(st, text, strlen(text));
    else if (strcmp(dtype, "thinking_delta") == 0 &&
             (text = fx_json_str(delta, "thinking")) != NULL)
        fxu_buf_puts(&st->resp->reasoning, text);
    else if (strcmp(dtype, "input_json_delta") == 0 && (st->pstate & IN_TOOL) &&
             st->resp->ntool_calls > 0)
        fx_tool_call_args(&st->resp->tool_calls[st->resp->ntool_calls - 1],
                          fx_json_str(delta, "partial_json"));
    else if (strcmp(dtype, "signature_delta") == 0 &&
             (text = fx_json_str(delta, "signature")) != NULL)
        block_update(st, "signature", text);
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
        st->pstate |= MSG_SEEN;
        const cJSON *msg = cJSON_GetObjectItemCaseSensitive(root, "message");
        fx_response_set_model(st->resp, fx_json_str(msg, "model"));
        read_usage(cJSON_GetObjectItemCaseSensitive(msg, "usage"), st->resp);
    } else if (strcmp(name, "content_block_start") == 0) {
        block_start(st,
                    cJSON_GetObjectItemCaseSensitive(root, "content_block"));
    } else if (strcmp(name, "content_block_delta") == 0) {
        block_delta(st, cJSON_GetObjectItemCaseSensitive(root, "delta"));
    } else if (strcmp(name, "content_block_stop") == 0) {
        block_stop(st);
    } else if (strcmp(name, "message_delta") == 0) {
        const cJSON *delta = cJSON_GetObjectItemCaseSensitive(root, "delta");
        const char *stop_reason = fx_json_str(delta, "stop_reason");
        fx_response_set_finish(st->resp,
                               fx_finish_normalise(stop_reason, finish_map));
        read_usage(cJSON_GetObjectItemCaseSensitive(root, "usage"), st->resp);
        rc = finish_error(stop_reason, st->resp->text.len, &st->err);
    } else if (strcmp(name, "message_stop") == 0 && !(st->pstate & MSG_SEEN)) {
        fx_error_set(&st->err, FLEXIAI_E_STREAM_ERROR,
                     "stream ended without any message");
        rc = -1;
    } else if (strcmp(name, "message_stop") == 0) {
        fx_tools_finish(st->resp);
        st->done = 1;
        rc = 1;
    }
    /* unknown (new) events: nothing to do */
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
