/*
 * mockllm-responses.c - mockllm's answers on the Responses API route: a
 * Response object, or the stream of typed events the API sends, with a
 * reasoning summary, encrypted reasoning items and usage with cached and
 * reasoning tokens.  The shapes follow openai-node 7.5
 * (src/resources/responses/responses.ts); the request's checks are in
 * mockllm-responses-check.c.
 */
#define _GNU_SOURCE
#include "mockllm-responses.h"
#include "mockllm-usage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* the prefix of the encrypted content this mock hands out */
#define ENC_PREFIX "mockenc:"

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
    mock_usage_merge(u, a->usage_extra);
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
