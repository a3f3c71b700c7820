/*
 * provider-responses.c - OpenAI's Responses API (POST {base}/responses),
 * for an `openai` provider with `api = responses`: instructions and input
 * messages, max_output_tokens, structured output through text.format,
 * reasoning effort and summaries, the encrypted reasoning items an
 * assistant turn keeps (store:false) and sends back on the next turn, the
 * typed stream events, and usage with cached and reasoning tokens.  Error
 * bodies and the probe are Chat Completions' (provider-openai.c).
 */
#include "config.h"

#include "fx.h"
#include "provider-common.h"

#include <stdlib.h>
#include <string.h>

#define OPENAI_BASE_URL "https://api.openai.com/v1"
/* reasoning_state is {"type": STATE_TYPE, "items": [reasoning items]} */
#define STATE_TYPE "openai-responses"

/* parse state of a stream (fx_stream.pstate) */
#define PS_TERMINAL 1     /* response.completed / .incomplete seen */
#define PS_SUMMARY_PART 2 /* a reasoning summary part has begun */

/* ---- the request ------------------------------------------------------ */

/* The reasoning items an assistant turn kept, when they are ours. */
static void
add_state_items(cJSON *input, const char *state)
{
    if (state == NULL)
        return;
    cJSON *doc = cJSON_Parse(state);
    const char *type = fx_json_str(doc, "type");
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(doc, "items");
    if (type && strcmp(type, STATE_TYPE) == 0 && cJSON_IsArray(items)) {
        const cJSON *it;
        cJSON_ArrayForEach(it, items)
        {
            if (cJSON_IsObject(it))
                cJSON_AddItemToArray(input, cJSON_Duplicate(it, 1));
        }
    }
    cJSON_Delete(doc);
}

static int
is_system(const flexiai_message *m)
{
    return m->role && strcmp(m->role, "system") == 0;
}

/* instructions: the conversation's system messages, else the configured
 * system prompt (as for Chat Completions), joined by blank lines, and the
 * schema's instruction for schema_mode json and prompt. */
static void
add_instructions(cJSON *root, const struct fx_call *call)
{
    const struct fx_params *pp = fx_call_params(call);
    fxu_buf b;
    fxu_buf_init(&b);
    for (size_t i = 0; i < call->nmessages; i++)
        if (is_system(&call->messages[i])) {
            if (b.len)
                fxu_buf_puts(&b, "\n\n");
            fxu_buf_puts(
                &b, call->messages[i].content ? call->messages[i].content : "");
        }
    if (b.len == 0 && pp->system && *pp->system)
        fxu_buf_puts(&b, pp->system);
    char *instruction = fx_call_schema_instruction(call);
    if (instruction) {
        if (b.len)
            fxu_buf_puts(&b, "\n\n");
        fxu_buf_puts(&b, instruction);
        free(instruction);
    }
    if (b.len)
        cJSON_AddStringToObject(root, "instructions", b.data);
    fxu_buf_free(&b);
}

static void
add_input(cJSON *root, const struct fx_call *call)
{
    cJSON *input = cJSON_AddArrayToObject(root, "input");
    for (size_t i = 0; i < call->nmessages; i++) {
        const flexiai_message *m = &call->messages[i];
        const char *role = m->role ? m->role : "user";
        if (is_system(m))
            continue; /* in instructions */
        if (strcmp(role, "assistant") == 0)
            add_state_items(input, m->reasoning_state);
        if (fx_msg_is_tool(m)) {
            fx_tools_responses_items(input, call, i);
            continue;
        }
        cJSON *item = cJSON_CreateObject();
        cJSON_AddStringToObject(item, "role", role);
        cJSON_AddStringToObject(item, "content", m->content ? m->content : "");
        cJSON_AddItemToArray(input, item);
    }
}

/* text.format for schema_mode native and json; a forced function call for
 * schema_mode tool. */
static void
add_schema(cJSON *root, const struct fx_call *call)
{
    int mode = fx_call_schema_mode(call);
    if (mode == FX_SCHEMA_JSON) {
        cJSON *fmt = cJSON_AddObjectToObject(
            cJSON_AddObjectToObject(root, "text"), "format");
        cJSON_AddStringToObject(fmt, "type", "json_object");
        return;
    }
    if (mode != FX_SCHEMA_NATIVE && mode != FX_SCHEMA_TOOL)
        return;
    cJSON *schema = fx_call_schema_json(call);
    if (schema == NULL)
        return;
    if (mode == FX_SCHEMA_NATIVE) {
        cJSON *fmt = cJSON_AddObjectToObject(
            cJSON_AddObjectToObject(root, "text"), "format");
        cJSON_AddStringToObject(fmt, "type", "json_schema");
        cJSON_AddStringToObject(fmt, "name", FX_SCHEMA_TOOL_NAME);
        cJSON_AddItemToObject(fmt, "schema", schema);
        cJSON_AddBoolToObject(fmt, "strict", call->schema->strict);
        return;
    }
    cJSON *tool = cJSON_CreateObject();
    cJSON_AddStringToObject(tool, "type", "function");
    cJSON_AddStringToObject(tool, "name", FX_SCHEMA_TOOL_NAME);
    cJSON_AddStringToObject(tool, "description", "Give the answer.");
    cJSON_AddItemToObject(tool, "parameters", schema);
    cJSON_AddFalseToObject(tool, "strict");
    cJSON_AddItemToArray(cJSON_AddArrayToObject(root, "tools"), tool);
    cJSON *tc = cJSON_AddObjectToObject(root, "tool_choice");
    cJSON_AddStringToObject(tc, "type", "function");
    cJSON_AddStringToObject(tc, "name", FX_SCHEMA_TOOL_NAME);
}

/* reasoning.effort (and a summary when the caller will show it); with
 * store:false the reasoning is kept only as encrypted items, asked for
 * whenever the model reasons. */
static void
add_reasoning(cJSON *root, const struct fx_call *call, const char *model)
{
    const struct fx_params *pp = fx_call_params(call);
    const char *effort = fx_openai_effort(pp->reasoning);
    int reasons = pp->reasoning == FLEXIAI_REASONING_UNSET
                      ? fx_openai_reasoning_model(model)
                      : pp->reasoning != FLEXIAI_REASONING_NONE;
    if (effort || (reasons && call->want_reasoning)) {
        cJSON *r = cJSON_AddObjectToObject(root, "reasoning");
        if (effort)
            cJSON_AddStringToObject(r, "effort", effort);
        if (reasons && call->want_reasoning)
            cJSON_AddStringToObject(r, "summary", "auto");
    }
    if (reasons) {
        cJSON *inc = cJSON_AddArrayToObject(root, "include");
        cJSON_AddItemToArray(inc,
                             cJSON_CreateString("reasoning.encrypted_content"));
    }
}

static char *
build_body(const struct fx_call *call, const char *model, char **warning)
{
    const struct fx_params *pp = fx_call_params(call);
    cJSON *root = cJSON_CreateObject();
    fxu_buf left_out;

    cJSON_AddStringToObject(root, "model", model);
    add_instructions(root, call);
    add_input(root, call);
    if (pp->max_tokens > 0)
        cJSON_AddNumberToObject(root, "max_output_tokens",
                                (double)pp->max_tokens);
    fxu_buf_init(&left_out);
    fx_openai_sampling(root, call, model, &left_out);
    /* the Responses API has no stop sequences */
    int sampling = left_out.len > 0;
    if (pp->stop && pp->stop[0] && (pp->user_set & FX_SET_STOP))
        fxu_buf_puts(&left_out, left_out.len ? ", stop" : "stop");
    *warning = fx_openai_left_out(
        call, model, &left_out,
        !sampling ? "the Responses API has no stop sequences"
        : strstr(left_out.data, ", stop") == NULL
            ? "a reasoning model refuses them"
            : "a reasoning model refuses sampling parameters, and the "
              "Responses API has no stop sequences");
    add_reasoning(root, call, model);
    /* the whole conversation goes with every request: nothing is kept at
     * OpenAI */
    cJSON_AddFalseToObject(root, "store");
    if (call->stream)
        cJSON_AddTrueToObject(root, "stream");
    add_schema(root, call);
    fx_tools_responses(root, call);
    return fx_json_finish(root);
}

static int
responses_build_request(const struct fx_call *call, struct fx_http_req *out,
                        char **err)
{
    const char *model;
    int has_key;

    memset(out, 0, sizeof *out);
    if ((model = fx_call_model(call, err)) == NULL)
        return -1;
    for (size_t i = 0; i < call->nmessages; i++)
        if (fx_role_check(call->messages[i].role, err) < 0)
            return -1;
    if ((has_key = fx_key_usable(call->key, err)) < 0)
        return -1;

    char *base = fx_base_url(call->prov, OPENAI_BASE_URL);
    out->url = fxu_asprintf("%s/responses", base);
    free(base);
    out->body = build_body(call, model, &out->warning);
    if (has_key)
        fx_req_header(out, "Authorization: Bearer %s", call->key);
    fx_req_header(out, "Content-Type: application/json");
    if (call->stream)
        fx_req_header(out, "Accept: text/event-stream");
    return 0;
}

/* ---- the answer -------------------------------------------------------- */

static void
read_usage(const cJSON *usage, struct fx_response *out)
{
    static const char *const names[4] = {"input_tokens", "output_tokens",
                                         "input_tokens_details",
                                         "output_tokens_details"};
    fx_openai_usage(usage, names, out);
}

/* A reasoning item: its summary into out->reasoning (unless the stream
 * gave it already), the item itself into *kept when it can be sent back
 * (it has encrypted content: with store:false nothing else is). */
static void
read_reasoning_item(const cJSON *item, struct fx_response *out, int summary,
                    cJSON *kept)
{
    const cJSON *part;
    cJSON_ArrayForEach(part, cJSON_GetObjectItemCaseSensitive(item, "summary"))
    {
        const char *t = fx_json_str(part, "text");
        if (summary && t && *t) {
            if (out->reasoning.len)
                fxu_buf_puts(&out->reasoning, "\n\n");
            fxu_buf_puts(&out->reasoning, t);
        }
    }
    const char *enc = fx_json_str(item, "encrypted_content");
    if (enc && *enc)
        cJSON_AddItemToArray(kept, cJSON_Duplicate(item, 1));
}

/* The output items of a Response: text (unless streamed), refusal,
 * reasoning, our forced function call. */
static void
read_output(const cJSON *resp, struct fx_response *out, int streamed)
{
    cJSON *kept = cJSON_CreateArray();
    int summary = out->reasoning.len == 0;
    const cJSON *item;
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(resp, "output"))
    {
        const char *type = fx_json_str(item, "type");
        if (type == NULL)
            continue;
        if (strcmp(type, "reasoning") == 0) {
            read_reasoning_item(item, out, summary, kept);
        } else if (strcmp(type, "message") == 0 && !streamed) {
            const cJSON *part;
            cJSON_ArrayForEach(
                part, cJSON_GetObjectItemCaseSensitive(item, "content"))
            {
                const char *ptype = fx_json_str(part, "type");
                const char *t = fx_json_str(part, "text");
                const char *refusal = fx_json_str(part, "refusal");
                if (ptype && strcmp(ptype, "output_text") == 0 && t)
                    fxu_buf_puts(&out->text, t);
                else if (ptype && strcmp(ptype, "refusal") == 0 && refusal) {
                    fxu_buf_puts(&out->text, refusal);
                    fx_response_set_finish(out, "content_filter");
                }
            }
        } else if (strcmp(type, "function_call") == 0) {
            /* whole in the terminal event of a stream too */
            const char *name = fx_json_str(item, "name");
            fx_tool_call_add(out, fx_json_str(item, "call_id"), name,
                             fx_json_str(item, "arguments"));
            if (name && strcmp(name, FX_SCHEMA_TOOL_NAME) != 0 &&
                out->tool_name == NULL)
                out->tool_name = fxu_strdup(name);
        }
    }
    if (cJSON_GetArraySize(kept) > 0) {
        cJSON *doc = cJSON_CreateObject();
        cJSON_AddStringToObject(doc, "type", STATE_TYPE);
        cJSON_AddItemToObject(doc, "items", kept);
        free(out->reasoning_state);
        out->reasoning_state = cJSON_PrintUnformatted(doc);
        cJSON_Delete(doc);
    } else {
        cJSON_Delete(kept);
    }
}

/* The class of a failed response's error code (response.failed, an error
 * event, status failed). */
static int
failed_class(const char *code)
{
    if (code && strcmp(code, "rate_limit_exceeded") == 0)
        return FLEXIAI_E_RATE_LIMIT;
    if (code && strcmp(code, "server_error") == 0)
        return FLEXIAI_E_SERVER;
    return FLEXIAI_E_STREAM_ERROR;
}

static void
failed_error(const cJSON *resp, struct fx_error *err)
{
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(resp, "error");
    const char *code = fx_json_str(e, "code");
    fx_error_detail(err, failed_class(code), "response failed: ", code,
                    fx_json_str(e, "message"));
}

/* status completed or incomplete: the finish reason; 0, or -1 with err
 * for failed and the statuses a finished answer never has. */
static int
read_status(const cJSON *resp, struct fx_response *out, struct fx_error *err)
{
    const char *status = fx_json_str(resp, "status");
    fx_tools_finish(out); /* calls: finish_reason tool_calls */
    if (status && strcmp(status, "failed") == 0) {
        failed_error(resp, err);
        return -1;
    }
    if (status && strcmp(status, "incomplete") == 0) {
        const cJSON *d =
            cJSON_GetObjectItemCaseSensitive(resp, "incomplete_details");
        const char *reason = fx_json_str(d, "reason");
        fx_response_set_finish(out,
                               reason && strcmp(reason, "content_filter") == 0
                                   ? "content_filter"
                                   : "length");
        return 0;
    }
    if (status && strcmp(status, "completed") != 0) {
        fx_error_set(err, FLEXIAI_E_STREAM_ERROR, "response is %.40s", status);
        return -1;
    }
    if (out->finish_reason == NULL)
        fx_response_set_finish(out, "stop");
    return 0;
}

static int
responses_parse_response(const char *body, size_t len, struct fx_response *out,
                         struct fx_error *err)
{
    cJSON *root = fx_json_parse(body, len);
    if (!cJSON_IsObject(root)) {
        cJSON_Delete(root);
        fx_error_set(err, FLEXIAI_E_STREAM_ERROR, "malformed JSON in response");
        return -1;
    }
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
    const char *status = fx_json_str(root, "status");
    if (cJSON_IsObject(e) && (status == NULL || strcmp(status, "failed"))) {
        /* {"error": {...}} with a 200: an error body, not a Response */
        fx_error_detail(err, FLEXIAI_E_STREAM_ERROR,
                        "error in 200 response: ", fx_json_str(e, "code"),
                        fx_json_str(e, "message"));
        cJSON_Delete(root);
        return -1;
    }
    if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(root, "output"))) {
        cJSON_Delete(root);
        fx_error_set(err, FLEXIAI_E_STREAM_ERROR, "response has no output");
        return -1;
    }
    read_output(root, out, 0);
    if (read_status(root, out, err) < 0) {
        cJSON_Delete(root);
        return -1;
    }
    fx_response_set_model(out, fx_json_str(root, "model"));
    read_usage(cJSON_GetObjectItemCaseSensitive(root, "usage"), out);
    cJSON_Delete(root);
    return 0;
}

/* A summary's text as it streams (kept, never part of the answer). */
static void
summary_delta(struct fx_stream *st, const cJSON *ev, const char *type)
{
    if (strcmp(type, "response.reasoning_summary_part.added") == 0) {
        if (st->resp->reasoning.len)
            fxu_buf_puts(&st->resp->reasoning, "\n\n");
        st->pstate |= PS_SUMMARY_PART;
        return;
    }
    const char *delta = fx_json_str(ev, "delta");
    if (delta)
        fxu_buf_puts(&st->resp->reasoning, delta);
}

/* response.completed / .incomplete / .failed: the whole Response. */
static int
terminal_event(struct fx_stream *st, const cJSON *ev)
{
    const cJSON *resp = cJSON_GetObjectItemCaseSensitive(ev, "response");
    if (!cJSON_IsObject(resp)) {
        fx_error_set(&st->err, FLEXIAI_E_STREAM_ERROR,
                     "terminal stream event without a response");
        return -1;
    }
    read_output(resp, st->resp, 1);
    if (read_status(resp, st->resp, &st->err) < 0)
        return -1;
    fx_response_set_model(st->resp, fx_json_str(resp, "model"));
    read_usage(cJSON_GetObjectItemCaseSensitive(resp, "usage"), st->resp);
    st->pstate |= PS_TERMINAL;
    return 0;
}

static int
responses_parse_event(struct fx_stream *st, const char *event, const char *data,
                      size_t len)
{
    (void)event; /* the type is in the data too */
    while (len > 0 && (*data == ' ' || *data == '\t')) {
        data++;
        len--;
    }
    while (len > 0 && (data[len - 1] == ' ' || data[len - 1] == '\t'))
        len--;
    if (len == 0)
        return 0; /* keep-alive */
    if (len == 6 && memcmp(data, "[DONE]", 6) == 0) {
        /* not documented, but the SDK accepts it: an end only after the
         * terminal event */
        if (!(st->pstate & PS_TERMINAL)) {
            fx_error_set(&st->err, FLEXIAI_E_STREAM_ERROR,
                         "stream ended before response.completed");
            return -1;
        }
        st->done = 1;
        return 1;
    }
    cJSON *root = fx_json_parse(data, len);
    const char *type = fx_json_str(root, "type");
    int rc = 0;
    if (!cJSON_IsObject(root) || type == NULL) {
        fx_error_set(&st->err, FLEXIAI_E_STREAM_ERROR,
                     "malformed JSON in stream event");
        rc = -1;
    } else if (strcmp(type, "response.output_text.delta") == 0 ||
               strcmp(type, "response.refusal.delta") == 0) {
        const char *delta = fx_json_str(root, "delta");
        if (delta)
            fx_stream_text(st, delta, strlen(delta));
        if (strcmp(type, "response.refusal.delta") == 0)
            fx_response_set_finish(st->resp, "content_filter");
    } else if (strncmp(type, "response.reasoning_summary_", 27) == 0 &&
               (strcmp(type + 27, "text.delta") == 0 ||
                strcmp(type + 27, "part.added") == 0)) {
        summary_delta(st, root, type);
    } else if (strcmp(type, "response.created") == 0) {
        fx_response_set_model(
            st->resp,
            fx_json_str(cJSON_GetObjectItemCaseSensitive(root, "response"),
                        "model"));
    } else if (strcmp(type, "response.completed") == 0 ||
               strcmp(type, "response.incomplete") == 0 ||
               strcmp(type, "response.failed") == 0) {
        if (strcmp(type, "response.failed") == 0) {
            failed_error(cJSON_GetObjectItemCaseSensitive(root, "response"),
                         &st->err);
            rc = -1;
        } else if ((rc = terminal_event(st, root)) == 0) {
            /* the terminal event, then the end of the body */
            st->done = 1;
            rc = 1;
        }
    } else if (strcmp(type, "error") == 0) {
        const char *code = fx_json_str(root, "code");
        fx_error_detail(&st->err, failed_class(code), "", code,
                        fx_json_str(root, "message"));
        rc = -1;
    }
    cJSON_Delete(root);
    return rc;
}

/* Error bodies and the probe are those of Chat Completions. */
static void
responses_classify(long status, const char *body, size_t len,
                   const struct fx_headers *h, double now, struct fx_error *err)
{
    fx_provider_openai.classify(status, body, len, h, now, err);
}

static int
responses_build_probe(const struct fx_call *call, struct fx_http_req *out,
                      char **err)
{
    return fx_provider_openai.build_probe(call, out, err);
}

static const char *const openai_key_vars[] = {"OPENAI_API_KEY", NULL};

const struct fx_provider_ops fx_provider_openai_responses = {
    .type = "openai",
    .key_vars = openai_key_vars,
    .base_url_var = "OPENAI_BASE_URL",
    .default_model = "gpt-4o-mini",
    .key_optional = 1,
    .build_request = responses_build_request,
    .build_probe = responses_build_probe,
    .parse_response = responses_parse_response,
    .parse_event = responses_parse_event,
    .classify = responses_classify,
    .default_base_url = OPENAI_BASE_URL,
};
