/*
 * mockllm-responses-check.c - mockllm's checks of a Responses API request
 * body, as the API answers them: known top-level fields only, input
 * messages and reasoning items sent back, reasoning, text.format, function
 * tools, sampling refused while a model reasons.  The shapes follow
 * openai-node 7.5 (src/resources/responses/responses.ts).  The answers
 * are mockllm-responses.c's.
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
