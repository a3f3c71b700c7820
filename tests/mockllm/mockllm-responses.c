/*
 * mockllm-responses.c - mockllm's OpenAI Responses API: the checks of a
 * request body (known top-level fields only, input messages and reasoning
 * items, reasoning, text.format, function tools, sampling refused while a
 * model reasons), and the answer as a Response object or as the stream of
 * typed events the API sends, with a reasoning summary, encrypted
 * reasoning items and usage with cached and reasoning tokens.  The shapes
 * follow openai-node 7.5 (src/resources/responses/responses.ts).
 */
#define _GNU_SOURCE
#include "mockllm-responses.h"
#include "mockllm-schema.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* the prefix of the encrypted content this mock hands out */
#define ENC_PREFIX "mockenc:"

static int
fail(char *msg, size_t cap, char *param, size_t pcap, const char *p,
     const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, cap, fmt, ap);
    va_end(ap);
    snprintf(param, pcap, "%s", p ? p : "");
    return -1;
}

static const cJSON *
get(const cJSON *o, const char *name)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNull(x) ? NULL : x;
}

static const char *
str(const cJSON *o, const char *name)
{
    const cJSON *x = get(o, name);
    return cJSON_IsString(x) ? x->valuestring : NULL;
}

static long
words(const char *s)
{
    long n = 0;
    int in = 0;
    for (; s && *s; s++) {
        int ws = *s == ' ' || *s == '\t' || *s == '\n' || *s == '\r';
        if (ws)
            in = 0;
        else if (!in) {
            in = 1;
            n++;
        }
    }
    return n;
}

static int
one_of(const char *v, const char *const *list)
{
    for (; v && *list; list++)
        if (!strcmp(v, *list))
            return 1;
    return 0;
}

/* ResponseCreateParamsBase's fields: the API refuses any other. */
static const char *const known_fields[] = {"background",
                                           "context_management",
                                           "conversation",
                                           "include",
                                           "input",
                                           "instructions",
                                           "max_output_tokens",
                                           "max_tool_calls",
                                           "metadata",
                                           "model",
                                           "moderation",
                                           "parallel_tool_calls",
                                           "previous_response_id",
                                           "prompt",
                                           "prompt_cache_key",
                                           "prompt_cache_options",
                                           "prompt_cache_retention",
                                           "reasoning",
                                           "safety_identifier",
                                           "service_tier",
                                           "store",
                                           "stream",
                                           "stream_options",
                                           "temperature",
                                           "text",
                                           "tool_choice",
                                           "tools",
                                           "top_logprobs",
                                           "top_p",
                                           "truncation",
                                           "user",
                                           NULL};

/* A message's content: a string or input_text / output_text parts. */
static int
content_text(const cJSON *c, char **out, char *msg, size_t cap, char *param,
             size_t pcap, const char *where)
{
    static const char *const part_types[] = {"input_text", "output_text", NULL};
    free(*out);
    *out = NULL;
    if (cJSON_IsString(c)) {
        *out = strdup(c->valuestring);
        return 0;
    }
    if (!cJSON_IsArray(c))
        return fail(msg, cap, param, pcap, where,
                    "Invalid type for '%s': expected a string or an array "
                    "of content parts.",
                    where);
    size_t len = 0;
    const cJSON *p;
    *out = calloc(1, 1);
    cJSON_ArrayForEach(p, c)
    {
        const char *t = str(p, "text");
        if (!one_of(str(p, "type"), part_types) || t == NULL)
            return fail(msg, cap, param, pcap, where,
                        "Invalid '%s': the mock takes input_text and "
                        "output_text parts with text only.",
                        where);
        size_t n = strlen(t);
        char *grown = realloc(*out, len + n + 1);
        if (grown == NULL)
            abort();
        *out = grown;
        memcpy(*out + len, t, n + 1);
        len += n;
    }
    return 0;
}

/* A reasoning item sent back: only what this mock handed out verifies
 * (with store:false the API keeps nothing to look an id up by). */
static int
check_reasoning_item(const cJSON *it, char *msg, size_t cap, char *param,
                     size_t pcap, const char *where)
{
    const char *id = str(it, "id");
    const char *enc = str(it, "encrypted_content");
    if (id == NULL || !cJSON_IsArray(get(it, "summary")))
        return fail(msg, cap, param, pcap, where,
                    "Missing required parameter: '%s.%s'.", where,
                    id ? "summary" : "id");
    if (enc == NULL)
        return fail(msg, cap, param, pcap, where,
                    "Item with id '%.64s' not found. Items are not persisted "
                    "when `store` is set to false.",
                    id);
    if (strncmp(enc, ENC_PREFIX, strlen(ENC_PREFIX)))
        return fail(msg, cap, param, pcap, where,
                    "The encrypted content for item %.64s could not be "
                    "verified.",
                    id);
    return 0;
}

static int
check_input(const cJSON *input, struct mock_resp_req *rq, char *msg, size_t cap,
            char *param, size_t pcap)
{
    static const char *const roles[] = {"user", "assistant", "system",
                                        "developer", NULL};
    char where[64];
    char *text = NULL;
    int i = 0;
    if (cJSON_IsString(input)) {
        rq->echo = strdup(input->valuestring);
        rq->prompt_words += words(input->valuestring);
        return 0;
    }
    if (!cJSON_IsArray(input) || cJSON_GetArraySize(input) == 0)
        return fail(msg, cap, param, pcap, "input",
                    "Invalid 'input': expected a string or a non-empty "
                    "array of input items.");
    const cJSON *it;
    long before = 0;
    cJSON_ArrayForEach(it, input)
    {
        snprintf(where, sizeof where, "input[%d]", i++);
        const char *type = str(it, "type");
        if (!cJSON_IsObject(it))
            return fail(msg, cap, param, pcap, where,
                        "Invalid type for '%s': expected an object.", where);
        if (type && !strcmp(type, "reasoning")) {
            if (check_reasoning_item(it, msg, cap, param, pcap, where))
                return -1;
            rq->items_back++;
            continue;
        }
        if (type && strcmp(type, "message"))
            return fail(msg, cap, param, pcap, where,
                        "Invalid '%s.type': the mock takes messages and "
                        "reasoning items.",
                        where);
        const char *role = str(it, "role");
        if (!one_of(role, roles))
            return fail(msg, cap, param, pcap, where,
                        "Invalid value for '%s.role': supported values are "
                        "'user', 'assistant', 'system' and 'developer'.",
                        where);
        if (content_text(get(it, "content"), &text, msg, cap, param, pcap,
                         where)) {
            free(text);
            return -1;
        }
        long n = words(text);
        rq->prompt_words += n;
        if (!strcmp(role, "user")) {
            rq->prefix_words = before;
            free(rq->echo);
            rq->echo = text;
            text = NULL;
        }
        before += n;
    }
    free(text);
    return 0;
}

static int
check_reasoning(const cJSON *body, struct mock_resp_req *rq, char *msg,
                size_t cap, char *param, size_t pcap)
{
    static const char *const efforts[] = {"none", "minimal", "low", "medium",
                                          "high", "xhigh",   "max", NULL};
    static const char *const summaries[] = {"auto", "concise", "detailed",
                                            NULL};
    const cJSON *r = get(body, "reasoning"), *inc = get(body, "include"), *x;
    if (r) {
        const char *effort = str(r, "effort");
        if (!cJSON_IsObject(r) ||
            (get(r, "effort") && !one_of(effort, efforts)))
            return fail(msg, cap, param, pcap, "reasoning.effort",
                        "Invalid value for 'reasoning.effort'.");
        if (get(r, "summary") && !one_of(str(r, "summary"), summaries))
            return fail(msg, cap, param, pcap, "reasoning.summary",
                        "Invalid value for 'reasoning.summary'.");
        rq->reasons = effort && strcmp(effort, "none");
        rq->summary = get(r, "summary") != NULL;
    }
    if (inc) {
        if (!cJSON_IsArray(inc))
            return fail(msg, cap, param, pcap, "include",
                        "Invalid type for 'include': expected an array.");
        cJSON_ArrayForEach(x, inc)
        {
            if (cJSON_IsString(x) &&
                !strcmp(x->valuestring, "reasoning.encrypted_content"))
                rq->encrypted = 1;
        }
    }
    /* a model that reasons refuses sampling parameters */
    static const char *const sampling[] = {"temperature", "top_p", NULL};
    for (int i = 0; rq->reasons && sampling[i]; i++)
        if (get(body, sampling[i]))
            return fail(msg, cap, param, pcap, sampling[i],
                        "Unsupported parameter: '%s' is not supported with "
                        "this model.",
                        sampling[i]);
    return 0;
}

/* text.format, function tools and tool_choice. */
static int
check_format(const cJSON *body, struct mock_resp_req *rq, char *msg, size_t cap,
             char *param, size_t pcap)
{
    static const char *const formats[] = {"text", "json_object", "json_schema",
                                          NULL};
    const cJSON *text = get(body, "text"), *fmt = get(text, "format"), *t;
    if (text && !cJSON_IsObject(text))
        return fail(msg, cap, param, pcap, "text",
                    "Invalid type for 'text': expected an object.");
    if (fmt) {
        const char *type = str(fmt, "type");
        if (!one_of(type, formats))
            return fail(msg, cap, param, pcap, "text.format.type",
                        "Invalid value for 'text.format.type'.");
        if (!strcmp(type, "json_schema")) {
            const char *name = str(fmt, "name");
            const cJSON *strict = get(fmt, "strict");
            if (name == NULL || !*name || strlen(name) > 64 ||
                strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUV"
                             "WXYZ0123456789_-") != strlen(name))
                return fail(msg, cap, param, pcap, "text.format.name",
                            "Invalid 'text.format.name': must match "
                            "^[a-zA-Z0-9_-]{1,64}$.");
            if (!cJSON_IsObject(get(fmt, "schema")))
                return fail(msg, cap, param, pcap, "text.format.schema",
                            "Missing required parameter: "
                            "'text.format.schema'.");
            if (strict && !cJSON_IsBool(strict))
                return fail(msg, cap, param, pcap, "text.format.strict",
                            "Invalid type for 'text.format.strict'.");
            if (cJSON_IsTrue(strict) &&
                mock_schema_strict(get(fmt, "schema"), name, msg, cap))
                return fail(msg, cap, param, pcap, "text.format.schema", "%s",
                            msg);
        }
    }
    const cJSON *tools = get(body, "tools"), *tc = get(body, "tool_choice");
    cJSON_ArrayForEach(t, tools)
    {
        const char *type = str(t, "type");
        if (!type || strcmp(type, "function") || !str(t, "name") ||
            !cJSON_IsObject(get(t, "parameters")) ||
            !cJSON_IsBool(cJSON_GetObjectItemCaseSensitive(t, "strict")))
            return fail(msg, cap, param, pcap, "tools",
                        "Invalid 'tools': each needs type function, name, "
                        "parameters and strict.");
    }
    if (cJSON_IsObject(tc)) {
        const char *name = str(tc, "name");
        int found = 0;
        cJSON_ArrayForEach(t, tools)
        {
            found |= name && str(t, "name") && !strcmp(str(t, "name"), name);
        }
        if (!found)
            return fail(msg, cap, param, pcap, "tool_choice",
                        "Invalid 'tool_choice': no function named '%.64s'.",
                        name ? name : "");
        snprintf(rq->tool, sizeof rq->tool, "%s", name);
    }
    return 0;
}

int
mock_responses_check(const cJSON *body, struct mock_resp_req *rq, char *msg,
                     size_t cap, char *param, size_t pcap)
{
    const cJSON *x;
    memset(rq, 0, sizeof *rq);
    if (!cJSON_IsObject(body))
        return fail(msg, cap, param, pcap, NULL,
                    "Invalid request body: expected a JSON object.");
    cJSON_ArrayForEach(x, body)
    {
        if (!one_of(x->string, known_fields))
            return fail(msg, cap, param, pcap, x->string,
                        "Unknown parameter: '%.64s'.", x->string);
    }
    rq->model = str(body, "model");
    if (rq->model == NULL || !*rq->model)
        return fail(msg, cap, param, pcap, "model",
                    "Missing required parameter: 'model'.");
    if ((x = get(body, "instructions"))) {
        if (!cJSON_IsString(x))
            return fail(msg, cap, param, pcap, "instructions",
                        "Invalid type for 'instructions': expected a "
                        "string.");
        rq->prompt_words += words(x->valuestring);
    }
    if (check_input(get(body, "input"), rq, msg, cap, param, pcap))
        return -1;
    if ((x = get(body, "max_output_tokens")) &&
        (!cJSON_IsNumber(x) || x->valuedouble < 1 ||
         x->valuedouble != (double)(long)x->valuedouble))
        return fail(msg, cap, param, pcap, "max_output_tokens",
                    "Invalid 'max_output_tokens': expected an integer >= 1.");
    if ((x = get(body, "temperature")) &&
        (!cJSON_IsNumber(x) || x->valuedouble < 0 || x->valuedouble > 2))
        return fail(msg, cap, param, pcap, "temperature",
                    "Invalid 'temperature': expected a number from 0 to 2.");
    if ((x = get(body, "top_p")) &&
        (!cJSON_IsNumber(x) || x->valuedouble < 0 || x->valuedouble > 1))
        return fail(msg, cap, param, pcap, "top_p",
                    "Invalid 'top_p': expected a number from 0 to 1.");
    static const char *const bools[] = {"stream", "store", NULL};
    for (int i = 0; bools[i]; i++)
        if ((x = get(body, bools[i])) && !cJSON_IsBool(x))
            return fail(msg, cap, param, pcap, bools[i],
                        "Invalid type for '%s': expected a boolean.", bools[i]);
    rq->stream = cJSON_IsTrue(get(body, "stream"));
    if (get(body, "stream_options") && !rq->stream)
        return fail(msg, cap, param, pcap, "stream_options",
                    "The 'stream_options' parameter is only allowed when "
                    "'stream' is enabled.");
    if (check_reasoning(body, rq, msg, cap, param, pcap))
        return -1;
    return check_format(body, rq, msg, cap, param, pcap);
}

void
mock_responses_req_free(struct mock_resp_req *rq)
{
    free(rq->echo);
    rq->echo = NULL;
}

/* ---- answers ----------------------------------------------------------- */

/* The reasoning summary the mock "thinks", for a reasoning request. */
static char *
summary_text(const struct mock_resp_answer *a)
{
    const char *echo = a->rq->echo ? a->rq->echo : "";
    size_t n = strlen(echo) + 32;
    char *s = malloc(n);
    if (s == NULL)
        abort();
    snprintf(s, n, "The user wrote: %s", echo);
    return s;
}

static long
reasoning_tokens(const struct mock_resp_answer *a)
{
    if (!a->rq->reasons)
        return 0;
    char *s = summary_text(a);
    long n = words(s);
    free(s);
    return n;
}

static cJSON *
reasoning_item(const struct mock_resp_answer *a, int done)
{
    cJSON *it = cJSON_CreateObject(), *sum;
    cJSON_AddStringToObject(it, "id", "rs_mock");
    cJSON_AddStringToObject(it, "type", "reasoning");
    sum = cJSON_AddArrayToObject(it, "summary");
    if (done && a->rq->summary) {
        cJSON *p = cJSON_CreateObject();
        char *s = summary_text(a);
        cJSON_AddStringToObject(p, "type", "summary_text");
        cJSON_AddStringToObject(p, "text", s);
        free(s);
        cJSON_AddItemToArray(sum, p);
    }
    if (done && a->rq->encrypted) {
        char enc[64];
        snprintf(enc, sizeof enc, ENC_PREFIX "%d", a->rq->items_back + 1);
        cJSON_AddStringToObject(it, "encrypted_content", enc);
    }
    return it;
}

static cJSON *
text_n(const char *s, size_t n)
{
    char *t = strndup(s, n);
    cJSON *j = cJSON_CreateString(t ? t : "");
    free(t);
    return j;
}

static cJSON *
message_item(const struct mock_resp_answer *a, int done)
{
    cJSON *it = cJSON_CreateObject(), *content;
    cJSON_AddStringToObject(it, "id", "msg_mock");
    cJSON_AddStringToObject(it, "type", "message");
    cJSON_AddStringToObject(it, "role", "assistant");
    cJSON_AddStringToObject(it, "status", done ? "completed" : "in_progress");
    content = cJSON_AddArrayToObject(it, "content");
    if (done) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "type", "output_text");
        cJSON_AddItemToObject(p, "text", text_n(a->text, a->text_len));
        cJSON_AddArrayToObject(p, "annotations");
        cJSON_AddItemToArray(content, p);
    }
    return it;
}

static cJSON *
usage_obj(const struct mock_resp_answer *a)
{
    cJSON *u = cJSON_CreateObject(), *d;
    long reasoning = reasoning_tokens(a);
    long output = a->completion + reasoning;
    cJSON_AddNumberToObject(u, "input_tokens", (double)a->rq->prompt_words);
    d = cJSON_AddObjectToObject(u, "input_tokens_details");
    cJSON_AddNumberToObject(d, "cached_tokens", (double)a->rq->prefix_words);
    cJSON_AddNumberToObject(u, "output_tokens", (double)output);
    d = cJSON_AddObjectToObject(u, "output_tokens_details");
    cJSON_AddNumberToObject(d, "reasoning_tokens", (double)reasoning);
    cJSON_AddNumberToObject(u, "total_tokens",
                            (double)(a->rq->prompt_words + output));
    return u;
}

static cJSON *
response_obj(struct mock_resp_answer *a, int done)
{
    cJSON *o = cJSON_CreateObject(), *out;
    const char *finish = a->finish ? a->finish : "completed";
    int failed = !strcmp(finish, "failed");
    int complete = !strcmp(finish, "completed");
    cJSON_AddStringToObject(o, "id", "resp_mock");
    cJSON_AddStringToObject(o, "object", "response");
    cJSON_AddNumberToObject(o, "created_at", (double)time(NULL));
    cJSON_AddStringToObject(o, "status",
                            !done      ? "in_progress"
                            : failed   ? "failed"
                            : complete ? "completed"
                                       : "incomplete");
    if (done && failed) {
        cJSON *e = cJSON_AddObjectToObject(o, "error");
        cJSON_AddStringToObject(e, "code", "server_error");
        cJSON_AddStringToObject(e, "message", "The model failed (mock)");
    } else {
        cJSON_AddNullToObject(o, "error");
    }
    if (done && !failed && !complete)
        cJSON_AddStringToObject(
            cJSON_AddObjectToObject(o, "incomplete_details"), "reason", finish);
    else
        cJSON_AddNullToObject(o, "incomplete_details");
    cJSON_AddStringToObject(o, "model", a->model);
    out = cJSON_AddArrayToObject(o, "output");
    if (done && !failed) {
        if (a->rq->reasons)
            cJSON_AddItemToArray(out, reasoning_item(a, 1));
        if (a->tool_input) {
            cJSON *fc = cJSON_CreateObject();
            cJSON_AddStringToObject(fc, "type", "function_call");
            cJSON_AddStringToObject(fc, "id", "fc_mock");
            cJSON_AddStringToObject(fc, "call_id", "call_mock");
            cJSON_AddStringToObject(fc, "name", a->tool_name);
            cJSON_AddStringToObject(fc, "arguments", a->tool_input);
            cJSON_AddStringToObject(fc, "status", "completed");
            cJSON_AddItemToArray(out, fc);
        } else {
            cJSON_AddItemToArray(out, message_item(a, 1));
        }
    }
    cJSON_AddBoolToObject(o, "store", 0);
    if (done && a->usage)
        cJSON_AddItemToObject(o, "usage", usage_obj(a));
    else
        cJSON_AddNullToObject(o, "usage");
    return o;
}

cJSON *
mock_responses_full(struct mock_resp_answer *a)
{
    return response_obj(a, 1);
}

/* {"type": type, "sequence_number": n} */
static cJSON *
event(struct mock_resp_answer *a, const char *type)
{
    cJSON *e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "type", type);
    cJSON_AddNumberToObject(e, "sequence_number", (double)a->seq++);
    return e;
}

static void
add_item_event(struct mock_resp_answer *a, cJSON *arr, const char *type,
               int index, cJSON *item)
{
    cJSON *e = event(a, type);
    cJSON_AddNumberToObject(e, "output_index", index);
    cJSON_AddItemToObject(e, "item", item);
    cJSON_AddItemToArray(arr, e);
}

/* summary part events: added, one text delta, text done, part done */
static void
add_summary_events(struct mock_resp_answer *a, cJSON *arr)
{
    static const char *const types[] = {"response.reasoning_summary_part.added",
                                        "response.reasoning_summary_text.delta",
                                        "response.reasoning_summary_text.done",
                                        "response.reasoning_summary_part.done"};
    char *s = summary_text(a);
    for (int i = 0; i < 4; i++) {
        cJSON *e = event(a, types[i]);
        cJSON_AddStringToObject(e, "item_id", "rs_mock");
        cJSON_AddNumberToObject(e, "output_index", 0);
        cJSON_AddNumberToObject(e, "summary_index", 0);
        if (i == 1)
            cJSON_AddStringToObject(e, "delta", s);
        else if (i == 2)
            cJSON_AddStringToObject(e, "text", s);
        else {
            cJSON *part = cJSON_AddObjectToObject(e, "part");
            cJSON_AddStringToObject(part, "type", "summary_text");
            cJSON_AddStringToObject(part, "text", i == 0 ? "" : s);
        }
        cJSON_AddItemToArray(arr, e);
    }
    free(s);
}

static int
message_index(const struct mock_resp_answer *a)
{
    return a->rq->reasons ? 1 : 0;
}

static cJSON *
text_part(const char *text, size_t len)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "type", "output_text");
    cJSON_AddItemToObject(p, "text", text_n(text, len));
    cJSON_AddArrayToObject(p, "annotations");
    return p;
}

static void
add_part_event(struct mock_resp_answer *a, cJSON *arr, const char *type,
               cJSON *part)
{
    cJSON *e = event(a, type);
    cJSON_AddStringToObject(e, "item_id", "msg_mock");
    cJSON_AddNumberToObject(e, "output_index", message_index(a));
    cJSON_AddNumberToObject(e, "content_index", 0);
    cJSON_AddItemToObject(e, "part", part);
    cJSON_AddItemToArray(arr, e);
}

cJSON *
mock_responses_start(struct mock_resp_answer *a)
{
    cJSON *arr = cJSON_CreateArray(), *e;
    e = event(a, "response.created");
    cJSON_AddItemToObject(e, "response", response_obj(a, 0));
    cJSON_AddItemToArray(arr, e);
    e = event(a, "response.in_progress");
    cJSON_AddItemToObject(e, "response", response_obj(a, 0));
    cJSON_AddItemToArray(arr, e);
    if (a->rq->reasons) {
        add_item_event(a, arr, "response.output_item.added", 0,
                       reasoning_item(a, 0));
        if (a->rq->summary)
            add_summary_events(a, arr);
        add_item_event(a, arr, "response.output_item.done", 0,
                       reasoning_item(a, 1));
    }
    add_item_event(a, arr, "response.output_item.added", message_index(a),
                   message_item(a, 0));
    add_part_event(a, arr, "response.content_part.added", text_part("", 0));
    return arr;
}

cJSON *
mock_responses_delta(struct mock_resp_answer *a, const char *text, size_t len)
{
    cJSON *e = event(a, "response.output_text.delta");
    cJSON_AddStringToObject(e, "item_id", "msg_mock");
    cJSON_AddNumberToObject(e, "output_index", message_index(a));
    cJSON_AddNumberToObject(e, "content_index", 0);
    cJSON_AddItemToObject(e, "delta", text_n(text, len));
    cJSON_AddArrayToObject(e, "logprobs");
    return e;
}

cJSON *
mock_responses_end(struct mock_resp_answer *a)
{
    cJSON *arr = cJSON_CreateArray(), *e;
    const char *finish = a->finish ? a->finish : "completed";
    e = event(a, "response.output_text.done");
    cJSON_AddStringToObject(e, "item_id", "msg_mock");
    cJSON_AddNumberToObject(e, "output_index", message_index(a));
    cJSON_AddNumberToObject(e, "content_index", 0);
    cJSON_AddItemToObject(e, "text", text_n(a->text, a->text_len));
    cJSON_AddArrayToObject(e, "logprobs");
    cJSON_AddItemToArray(arr, e);
    add_part_event(a, arr, "response.content_part.done",
                   text_part(a->text, a->text_len));
    add_item_event(a, arr, "response.output_item.done", message_index(a),
                   message_item(a, 1));
    e = event(a, !strcmp(finish, "completed") ? "response.completed"
                 : !strcmp(finish, "failed")  ? "response.failed"
                                              : "response.incomplete");
    cJSON_AddItemToObject(e, "response", response_obj(a, 1));
    cJSON_AddItemToArray(arr, e);
    return arr;
}

cJSON *
mock_responses_error_event(struct mock_resp_answer *a, long status,
                           const char *type, const char *message)
{
    cJSON *e = event(a, "error");
    const char *code = type            ? type
                       : status == 429 ? "rate_limit_exceeded"
                       : status >= 500 ? "server_error"
                                       : "invalid_request_error";
    cJSON_AddStringToObject(e, "code", code);
    cJSON_AddStringToObject(e, "message",
                            message ? message
                                    : "The server had an error while "
                                      "processing your request (mock)");
    cJSON_AddNullToObject(e, "param");
    return e;
}
