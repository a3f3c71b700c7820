/*
 * mockllm-tools.c - tool calls in mockllm: the script items, the checks of
 * what a request sends back (every result answers a call of the assistant
 * turn just before it, in the provider's own shape) and the answers that
 * call tools, in the four wire formats.  Shapes: openai-node
 * (ChatCompletionMessageToolCall, ChatCompletionToolMessageParam,
 * ResponseFunctionToolCall, ResponseInputItem.FunctionCallOutput),
 * anthropic-sdk-typescript (ToolUseBlock, ToolResultBlockParam,
 * InputJSONDelta), js-genai (FunctionCall, FunctionResponse,
 * FunctionDeclaration).
 */
#include "mockllm-tools.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int
fail(char *msg, size_t cap, char *param, size_t pcap, const char *p,
     const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, cap, fmt, ap);
    va_end(ap);
    if (param && pcap)
        snprintf(param, pcap, "%s", p ? p : "");
    return -1;
}

static const cJSON *
get(const cJSON *o, const char *name)
{
    return cJSON_GetObjectItemCaseSensitive(o, name);
}

static const char *
str(const cJSON *o, const char *name)
{
    return cJSON_GetStringValue(get(o, name));
}

static int
is(const char *s, const char *want)
{
    return s && strcmp(s, want) == 0;
}

static char *
decode(const char *s, size_t n)
{
    char *out = malloc(n + 1), *o = out;
    if (!out)
        abort();
    for (size_t i = 0; i < n; i++) {
        unsigned hi, lo;
        if (s[i] == '%' && i + 2 < n &&
            sscanf(s + i + 1, "%1x%1x", &hi, &lo) == 2) {
            *o++ = (char)(hi * 16 + lo);
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

/* ---- script ------------------------------------------------------------ */

int
mock_tools_item(struct mock_tools_script *t, const char *key, const char *raw,
                size_t rawlen, char *err, size_t cap)
{
    if (strcmp(key, "tool_calls") == 0 || strcmp(key, "tool_args_raw") == 0) {
        if (raw == NULL || rawlen == 0) {
            snprintf(err, cap, "script item '%s' needs a value", key);
            return -1;
        }
        char **field = key[5] == 'c' ? &t->calls : &t->args_raw;
        free(*field);
        *field = key[5] == 'c' ? strndup(raw, rawlen) : decode(raw, rawlen);
        return 1;
    }
    if (strcmp(key, "tool_rounds") == 0) {
        char *v = raw ? decode(raw, rawlen) : NULL, *end = NULL;
        long n = v ? strtol(v, &end, 10) : -1;
        int bad = v == NULL || end == v || *end || n < 1 || n > 1000;
        free(v);
        if (bad) {
            snprintf(err, cap,
                     "script item 'tool_rounds' needs an integer "
                     "value in 1..1000");
            return -1;
        }
        t->rounds = n;
        return 1;
    }
    return 0;
}

void
mock_tools_script_free(struct mock_tools_script *t)
{
    free(t->calls);
    free(t->args_raw);
    t->calls = t->args_raw = NULL;
}

/* ---- checks ------------------------------------------------------------ */

static void
note_result(struct mock_tools_req *q, const char *id, const char *name,
            const cJSON *content, int is_error)
{
    if (q->results == NULL)
        q->results = cJSON_CreateArray();
    cJSON *r = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "id", id ? id : "");
    if (name)
        cJSON_AddStringToObject(r, "name", name);
    if (cJSON_IsString(content)) {
        cJSON_AddStringToObject(r, "content", content->valuestring);
    } else {
        char *s = content ? cJSON_PrintUnformatted(content) : NULL;
        cJSON_AddStringToObject(r, "content", s ? s : "");
        free(s);
    }
    cJSON_AddBoolToObject(r, "is_error", is_error);
    cJSON_AddItemToArray(q->results, r);
    q->has_results = 1;
}

static int
name_ok(const char *n)
{
    size_t len = n ? strlen(n) : 0;
    if (len == 0 || len > 64)
        return 0;
    for (const char *p = n; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
            return 0;
    return 1;
}

/* Is id in the array of strings? Takes it out when found. */
static int
take(cJSON *ids, const char *id)
{
    int i = 0;
    const cJSON *x;
    cJSON_ArrayForEach(x, ids)
    {
        if (id && is(x->valuestring, id)) {
            cJSON_DeleteItemFromArray(ids, i);
            return 1;
        }
        i++;
    }
    return 0;
}

static const char *
first_id(const cJSON *ids)
{
    const cJSON *x = cJSON_GetArrayItem(ids, 0);
    return x ? x->valuestring : "";
}

/* Chat Completions: assistant tool_calls, then a role tool message for
 * each, before anything else. */
static int
check_openai(cJSON *body, struct mock_tools_req *q, char *msg, size_t cap,
             char *param, size_t pcap)
{
    cJSON *pending = cJSON_CreateArray(), *names = cJSON_CreateObject();
    cJSON *m;
    int i = 0, rc = 0;
    char where[64];
    cJSON_ArrayForEach(m, get(body, "messages"))
    {
        const char *role = str(m, "role");
        snprintf(where, sizeof where, "messages.[%d]", i++);
        if (cJSON_GetArraySize(pending) > 0 && !is(role, "tool")) {
            rc = fail(msg, cap, param, pcap, where,
                      "An assistant message with 'tool_calls' must be "
                      "followed by tool messages responding to each "
                      "'tool_call_id'. The following tool_call_ids did not "
                      "have response messages: %s",
                      first_id(pending));
            break;
        }
        if (is(role, "user") || is(role, "system"))
            q->rounds = 0;
        if (is(role, "assistant") && get(m, "tool_calls")) {
            const cJSON *c;
            cJSON *tcs = cJSON_GetObjectItemCaseSensitive(m, "tool_calls");
            cJSON_ArrayForEach(c, tcs)
            {
                const cJSON *fn = get(c, "function");
                if (!str(c, "id") || !is(str(c, "type"), "function") ||
                    !name_ok(str(fn, "name")) || !str(fn, "arguments")) {
                    rc = fail(msg, cap, param, pcap, where,
                              "Invalid '%s.tool_calls': each needs id, type "
                              "function, function.name and "
                              "function.arguments (a string).",
                              where);
                    goto out;
                }
                cJSON_AddItemToArray(pending, cJSON_CreateString(str(c, "id")));
                cJSON_DeleteItemFromObjectCaseSensitive(names, str(c, "id"));
                cJSON_AddStringToObject(names, str(c, "id"), str(fn, "name"));
            }
            if (cJSON_GetArraySize(tcs) == 0) {
                rc = fail(msg, cap, param, pcap, where,
                          "Invalid '%s.tool_calls': empty array.", where);
                goto out;
            }
            q->rounds++;
            cJSON_DeleteItemFromObjectCaseSensitive(m, "tool_calls");
            if (!cJSON_IsString(get(m, "content"))) {
                cJSON_DeleteItemFromObjectCaseSensitive(m, "content");
                cJSON_AddStringToObject(m, "content", "");
            }
        } else if (is(role, "tool")) {
            const char *id = str(m, "tool_call_id");
            const cJSON *content = get(m, "content");
            if (!id || !take(pending, id)) {
                rc = fail(msg, cap, param, pcap, where,
                          "Invalid parameter: messages with role 'tool' must "
                          "be a response to a preceeding message with "
                          "'tool_calls'.");
                break;
            }
            if (!cJSON_IsString(content) && !cJSON_IsArray(content)) {
                rc = fail(msg, cap, param, pcap, where,
                          "Invalid type for '%s.content': expected a string "
                          "or an array.",
                          where);
                break;
            }
            note_result(q, id, str(names, id), content, 0);
            /* the base checks know user turns */
            cJSON_ReplaceItemInObjectCaseSensitive(m, "role",
                                                   cJSON_CreateString("user"));
            cJSON_DeleteItemFromObjectCaseSensitive(m, "tool_call_id");
            if (!cJSON_IsString(content))
                cJSON_ReplaceItemInObjectCaseSensitive(
                    m, "content", cJSON_CreateString("(tool result)"));
        }
    }
    if (rc == 0 && cJSON_GetArraySize(pending) > 0)
        rc = fail(msg, cap, param, pcap, "messages",
                  "An assistant message with 'tool_calls' must be followed "
                  "by tool messages responding to each 'tool_call_id'. The "
                  "following tool_call_ids did not have response messages: "
                  "%s",
                  first_id(pending));
out:
    cJSON_Delete(pending);
    cJSON_Delete(names);
    return rc;
}

/* The Responses API: function_call items, and function_call_output items
 * naming a call_id given before. */
static int
check_responses(cJSON *body, struct mock_tools_req *q, char *msg, size_t cap,
                char *param, size_t pcap)
{
    cJSON *input = cJSON_GetObjectItemCaseSensitive(body, "input");
    cJSON *names = cJSON_CreateObject();
    int i = 0, rc = 0, last_turn_calls = 0;
    char where[64];
    if (!cJSON_IsArray(input)) {
        cJSON_Delete(names);
        return 0;
    }
    cJSON *it = input->child;
    while (it) {
        cJSON *next = it->next;
        const char *type = str(it, "type");
        snprintf(where, sizeof where, "input[%d]", i++);
        if (is(type, "function_call")) {
            if (!str(it, "call_id") || !name_ok(str(it, "name")) ||
                !str(it, "arguments")) {
                rc = fail(msg, cap, param, pcap, where,
                          "Invalid '%s': a function_call needs call_id, name "
                          "and arguments (a string).",
                          where);
                break;
            }
            cJSON_DeleteItemFromObjectCaseSensitive(names, str(it, "call_id"));
            cJSON_AddStringToObject(names, str(it, "call_id"), str(it, "name"));
            if (!last_turn_calls)
                q->rounds++;
            last_turn_calls = 1;
            cJSON_Delete(cJSON_DetachItemViaPointer(input, it));
        } else if (is(type, "function_call_output")) {
            const char *id = str(it, "call_id");
            if (!id || !get(names, id)) {
                rc = fail(msg, cap, param, pcap, where,
                          "No tool call found for function call output with "
                          "call_id %.64s.",
                          id ? id : "(none)");
                break;
            }
            if (!cJSON_IsString(get(it, "output"))) {
                rc = fail(msg, cap, param, pcap, where,
                          "Invalid type for '%s.output': expected a string.",
                          where);
                break;
            }
            note_result(q, id, str(names, id), get(it, "output"), 0);
            cJSON_Delete(cJSON_DetachItemViaPointer(input, it));
        } else {
            last_turn_calls = 0;
            if (is(str(it, "role"), "user"))
                q->rounds = 0;
        }
        it = next;
    }
    cJSON_Delete(names);
    return rc;
}

/* Anthropic: tool_use blocks in an assistant message, each answered by a
 * tool_result block in the next (user) message, which answers nothing
 * else. */
static int
check_anthropic(cJSON *body, struct mock_tools_req *q, char *msg, size_t cap)
{
    cJSON *prev_ids = cJSON_CreateArray(), *names = cJSON_CreateObject();
    cJSON *m;
    int i = 0, rc = 0;
    cJSON_ArrayForEach(m, get(body, "messages"))
    {
        const char *role = str(m, "role");
        cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
        cJSON *ids = cJSON_CreateArray();
        int text = cJSON_IsString(content), k = 0;
        cJSON *b = cJSON_IsArray(content) ? content->child : NULL;
        while (b) {
            cJSON *next = b->next;
            const char *type = str(b, "type");
            if (is(type, "tool_use")) {
                if (!is(role, "assistant") || !name_ok(str(b, "id")) ||
                    !name_ok(str(b, "name")) ||
                    !cJSON_IsObject(get(b, "input")))
                    rc = fail(msg, cap, NULL, 0, NULL,
                              "messages.%d.content.%d: tool_use needs id "
                              "(^[a-zA-Z0-9_-]+$), name and an object input, "
                              "in an assistant message",
                              i, k);
                else {
                    cJSON_AddItemToArray(ids, cJSON_CreateString(str(b, "id")));
                    cJSON_DeleteItemFromObjectCaseSensitive(names,
                                                            str(b, "id"));
                    cJSON_AddStringToObject(names, str(b, "id"),
                                            str(b, "name"));
                    cJSON_Delete(cJSON_DetachItemViaPointer(content, b));
                }
            } else if (is(type, "tool_result")) {
                const char *id = str(b, "tool_use_id");
                const cJSON *c = get(b, "content"), *e = get(b, "is_error");
                if (!is(role, "user") || !id || !take(prev_ids, id))
                    rc =
                        fail(msg, cap, NULL, 0, NULL,
                             "messages.%d.content.%d: unexpected `tool_use_id` "
                             "found in `tool_result` blocks: %.64s. Each "
                             "`tool_result` block must have a corresponding "
                             "`tool_use` block in the previous message.",
                             i, k, id ? id : "");
                else if ((c && !cJSON_IsString(c) && !cJSON_IsArray(c)) ||
                         (e && !cJSON_IsBool(e)))
                    rc = fail(msg, cap, NULL, 0, NULL,
                              "messages.%d.content.%d: tool_result content is "
                              "a string or blocks, is_error a boolean",
                              i, k);
                else {
                    note_result(q, id, str(names, id), c, cJSON_IsTrue(e));
                    cJSON_Delete(cJSON_DetachItemViaPointer(content, b));
                }
            } else {
                text = 1;
            }
            if (rc)
                break;
            b = next;
            k++;
        }
        if (rc == 0 && cJSON_GetArraySize(prev_ids) > 0)
            rc = fail(msg, cap, NULL, 0, NULL,
                      "messages.%d: `tool_use` ids were found without "
                      "`tool_result` blocks immediately after: %s. Each "
                      "`tool_use` block must have a corresponding "
                      "`tool_result` block in the next message.",
                      i - 1 < 0 ? 0 : i - 1, first_id(prev_ids));
        if (rc) {
            cJSON_Delete(ids);
            break;
        }
        if (is(role, "user") && text)
            q->rounds = 0;
        if (cJSON_GetArraySize(ids) > 0)
            q->rounds++;
        if (cJSON_IsArray(content) && cJSON_GetArraySize(content) == 0) {
            cJSON *t = cJSON_CreateObject();
            cJSON_AddStringToObject(t, "type", "text");
            cJSON_AddStringToObject(t, "text", "(tool)");
            cJSON_AddItemToArray(content, t);
        }
        cJSON_Delete(prev_ids);
        prev_ids = ids;
        i++;
    }
    if (rc == 0 && cJSON_GetArraySize(prev_ids) > 0)
        rc = fail(msg, cap, NULL, 0, NULL,
                  "messages.%d: `tool_use` ids were found without "
                  "`tool_result` blocks immediately after: %s.",
                  i - 1, first_id(prev_ids));
    cJSON_Delete(prev_ids);
    cJSON_Delete(names);
    return rc;
}

/* Gemini: functionDeclarations; functionCall parts in a model turn, and
 * as many functionResponse parts, naming those functions, in the next
 * (user) turn. */
static int
check_gemini(cJSON *body, struct mock_tools_req *q, char *msg, size_t cap)
{
    const cJSON *tool, *d;
    cJSON_ArrayForEach(tool, get(body, "tools"))
    {
        cJSON_ArrayForEach(d, get(tool, "functionDeclarations"))
        {
            if (!name_ok(str(d, "name")) ||
                (get(d, "parameters") && get(d, "parametersJsonSchema")))
                return fail(msg, cap, NULL, 0, NULL,
                            "Invalid function declaration: a name, and "
                            "parameters or parametersJsonSchema (not both)");
        }
    }
    cJSON *calls = cJSON_CreateArray(), *c;
    int i = 0, rc = 0;
    cJSON_ArrayForEach(c, get(body, "contents"))
    {
        const char *role = str(c, "role");
        cJSON *parts = cJSON_GetObjectItemCaseSensitive(c, "parts");
        cJSON *now = cJSON_CreateArray();
        int text = 0, answered = 0;
        cJSON *p = cJSON_IsArray(parts) ? parts->child : NULL;
        while (p && rc == 0) {
            cJSON *next = p->next;
            const cJSON *fc = get(p, "functionCall"), *fr;
            fr = get(p, "functionResponse");
            if (fc) {
                if (!is(role, "model") || !name_ok(str(fc, "name")) ||
                    (get(fc, "args") && !cJSON_IsObject(get(fc, "args"))))
                    rc = fail(msg, cap, NULL, 0, NULL,
                              "contents[%d]: functionCall needs a name and "
                              "object args, in a model turn",
                              i);
                else {
                    cJSON_AddItemToArray(now,
                                         cJSON_CreateString(str(fc, "name")));
                    cJSON_Delete(cJSON_DetachItemViaPointer(parts, p));
                }
            } else if (fr) {
                const cJSON *resp = get(fr, "response");
                const char *name = str(fr, "name");
                if (!is(role, "user") || !cJSON_IsObject(resp) ||
                    !take(calls, name))
                    rc = fail(msg, cap, NULL, 0, NULL,
                              "contents[%d]: a functionResponse needs an "
                              "object response and must answer a "
                              "functionCall of the model turn before it",
                              i);
                else {
                    const cJSON *out = get(resp, "error");
                    note_result(q, str(fr, "id"), name,
                                out                   ? out
                                : get(resp, "output") ? get(resp, "output")
                                                      : resp,
                                out != NULL);
                    answered++;
                    cJSON_Delete(cJSON_DetachItemViaPointer(parts, p));
                }
            } else {
                text = 1;
            }
            p = next;
        }
        if (rc == 0 && cJSON_GetArraySize(calls) > 0)
            rc = fail(msg, cap, NULL, 0, NULL,
                      "Please ensure that the number of function response "
                      "parts is equal to the number of function call parts "
                      "of the function call turn.");
        if (rc) {
            cJSON_Delete(now);
            break;
        }
        if (is(role, "user") && text)
            q->rounds = 0;
        if (cJSON_GetArraySize(now) > 0)
            q->rounds++;
        if (cJSON_IsArray(parts) && cJSON_GetArraySize(parts) == 0) {
            cJSON *t = cJSON_CreateObject();
            cJSON_AddStringToObject(t, "text", "(tool)");
            cJSON_AddItemToArray(parts, t);
        }
        (void)answered;
        cJSON_Delete(calls);
        calls = now;
        i++;
    }
    if (rc == 0 && cJSON_GetArraySize(calls) > 0)
        rc = fail(msg, cap, NULL, 0, NULL,
                  "Please ensure that the number of function response parts "
                  "is equal to the number of function call parts of the "
                  "function call turn.");
    cJSON_Delete(calls);
    return rc;
}

int
mock_tools_check(int fmt, cJSON *body, struct mock_tools_req *q, char *msg,
                 size_t cap, char *param, size_t pcap)
{
    memset(q, 0, sizeof *q);
    if (!cJSON_IsObject(body))
        return 0; /* the base checks say what is wrong */
    switch (fmt) {
    case MT_OPENAI:
        return check_openai(body, q, msg, cap, param, pcap);
    case MT_RESPONSES:
        return check_responses(body, q, msg, cap, param, pcap);
    case MT_ANTHROPIC:
        return check_anthropic(body, q, msg, cap);
    default:
        return check_gemini(body, q, msg, cap);
    }
}

void
mock_tools_req_free(struct mock_tools_req *q)
{
    cJSON_Delete(q->results);
    q->results = NULL;
}

/* ---- answers ----------------------------------------------------------- */

int
mock_tools_due(const struct mock_tools_script *t,
               const struct mock_tools_req *q)
{
    long rounds = t->rounds > 0 ? t->rounds : 1;
    return t->calls != NULL && q->rounds < rounds;
}

struct call {
    char id[48];
    char *name;
    char *args; /* JSON text, maybe malformed */
};

/* tool_calls=NAME:ARGS;NAME:ARGS, pieces decoded after the split. */
static size_t
script_calls(const struct mock_tools_script *t, const struct mock_tools_req *q,
             struct call **out)
{
    size_t n = 0;
    struct call *v = NULL;
    const char *p = t->calls;
    while (p && *p) {
        const char *end = strchr(p, ';');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *colon = memchr(p, ':', len);
        v = realloc(v, (n + 1) * sizeof *v);
        if (!v)
            abort();
        struct call *c = &v[n];
        c->name = decode(p, colon ? (size_t)(colon - p) : len);
        c->args = colon ? decode(colon + 1, len - (size_t)(colon - p) - 1)
                        : strdup("{}");
        if (!c->args)
            abort();
        if (*c->args == '\0') {
            free(c->args);
            c->args = strdup("{}");
        }
        if (n == 0 && t->args_raw) {
            free(c->args);
            c->args = strdup(t->args_raw);
        }
        n++;
        snprintf(c->id, sizeof c->id, "call_%d_%zu", q->rounds + 1, n);
        p = end ? end + 1 : NULL;
    }
    *out = v;
    return n;
}

static void
free_calls(struct call *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(v[i].name);
        free(v[i].args);
    }
    free(v);
}

/* The arguments as an object (Anthropic, Gemini); NULL when malformed. */
static cJSON *
args_obj(const char *args)
{
    cJSON *o = cJSON_Parse(args);
    if (cJSON_IsObject(o))
        return o;
    cJSON_Delete(o);
    return NULL;
}

static void
event(cJSON *evs, const char *name, cJSON *data)
{
    cJSON *e = cJSON_CreateObject();
    if (name)
        cJSON_AddStringToObject(e, "event", name);
    else
        cJSON_AddNullToObject(e, "event");
    cJSON_AddItemToObject(e, "data", data);
    cJSON_AddItemToArray(evs, e);
}

/* the arguments cut in two, to show pieces joined */
static char *
half(const char *s, int second)
{
    size_t n = strlen(s), h = n / 2;
    return second ? strdup(s + h) : strndup(s, h);
}

static cJSON *
openai_answer(struct call *v, size_t n, const char *model, long prompt,
              int stream, int include_usage)
{
    cJSON *u = cJSON_CreateObject();
    cJSON_AddNumberToObject(u, "prompt_tokens", (double)prompt);
    cJSON_AddNumberToObject(u, "completion_tokens", (double)(5 * n));
    cJSON_AddNumberToObject(u, "total_tokens", (double)(prompt + 5 * n));
    if (!stream) {
        cJSON *o = cJSON_CreateObject(), *ch, *m, *tcs;
        cJSON_AddStringToObject(o, "id", "chatcmpl-mock");
        cJSON_AddStringToObject(o, "object", "chat.completion");
        cJSON_AddNumberToObject(o, "created", (double)time(NULL));
        cJSON_AddStringToObject(o, "model", model);
        ch = cJSON_CreateObject();
        cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "choices"), ch);
        cJSON_AddNumberToObject(ch, "index", 0);
        m = cJSON_AddObjectToObject(ch, "message");
        cJSON_AddStringToObject(m, "role", "assistant");
        cJSON_AddNullToObject(m, "content");
        tcs = cJSON_AddArrayToObject(m, "tool_calls");
        for (size_t i = 0; i < n; i++) {
            cJSON *c = cJSON_CreateObject(), *fn;
            cJSON_AddStringToObject(c, "id", v[i].id);
            cJSON_AddStringToObject(c, "type", "function");
            fn = cJSON_AddObjectToObject(c, "function");
            cJSON_AddStringToObject(fn, "name", v[i].name);
            cJSON_AddStringToObject(fn, "arguments", v[i].args);
            cJSON_AddItemToArray(tcs, c);
        }
        cJSON_AddStringToObject(ch, "finish_reason", "tool_calls");
        cJSON_AddItemToObject(o, "usage", u);
        return o;
    }
    cJSON *evs = cJSON_CreateArray();
    for (size_t i = 0; i < n; i++)
        for (int piece = 0; piece < 3; piece++) {
            cJSON *o = cJSON_CreateObject(), *ch, *d, *c, *fn;
            cJSON_AddStringToObject(o, "id", "chatcmpl-mock");
            cJSON_AddStringToObject(o, "object", "chat.completion.chunk");
            cJSON_AddStringToObject(o, "model", model);
            ch = cJSON_CreateObject();
            cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "choices"), ch);
            cJSON_AddNumberToObject(ch, "index", 0);
            d = cJSON_AddObjectToObject(ch, "delta");
            if (i == 0 && piece == 0) {
                cJSON_AddStringToObject(d, "role", "assistant");
                cJSON_AddNullToObject(d, "content");
            }
            c = cJSON_CreateObject();
            cJSON_AddItemToArray(cJSON_AddArrayToObject(d, "tool_calls"), c);
            cJSON_AddNumberToObject(c, "index", (double)i);
            fn = cJSON_AddObjectToObject(c, "function");
            if (piece == 0) {
                cJSON_AddStringToObject(c, "id", v[i].id);
                cJSON_AddStringToObject(c, "type", "function");
                cJSON_AddStringToObject(fn, "name", v[i].name);
                cJSON_AddStringToObject(fn, "arguments", "");
            } else {
                char *h = half(v[i].args, piece == 2);
                cJSON_AddStringToObject(fn, "arguments", h);
                free(h);
            }
            cJSON_AddNullToObject(ch, "finish_reason");
            event(evs, NULL, o);
        }
    cJSON *o = cJSON_CreateObject(), *ch;
    cJSON_AddStringToObject(o, "object", "chat.completion.chunk");
    cJSON_AddStringToObject(o, "model", model);
    ch = cJSON_CreateObject();
    cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "choices"), ch);
    cJSON_AddNumberToObject(ch, "index", 0);
    cJSON_AddObjectToObject(ch, "delta");
    cJSON_AddStringToObject(ch, "finish_reason", "tool_calls");
    event(evs, NULL, o);
    if (include_usage) {
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "object", "chat.completion.chunk");
        cJSON_AddArrayToObject(o, "choices");
        cJSON_AddItemToObject(o, "usage", u);
        u = NULL;
        event(evs, NULL, o);
    }
    cJSON_Delete(u);
    event(evs, NULL, cJSON_CreateString("[DONE]"));
    return evs;
}

static cJSON *
fc_item(const struct call *c, int done)
{
    cJSON *it = cJSON_CreateObject();
    char id[64];
    snprintf(id, sizeof id, "fc_%s", c->id);
    cJSON_AddStringToObject(it, "type", "function_call");
    cJSON_AddStringToObject(it, "id", id);
    cJSON_AddStringToObject(it, "call_id", c->id);
    cJSON_AddStringToObject(it, "name", c->name);
    cJSON_AddStringToObject(it, "arguments", done ? c->args : "");
    cJSON_AddStringToObject(it, "status", done ? "completed" : "in_progress");
    return it;
}

static cJSON *
responses_answer(struct call *v, size_t n, const char *model, long prompt,
                 int stream)
{
    cJSON *o = cJSON_CreateObject(), *out, *u;
    cJSON_AddStringToObject(o, "id", "resp_mock");
    cJSON_AddStringToObject(o, "object", "response");
    cJSON_AddStringToObject(o, "status", "completed");
    cJSON_AddStringToObject(o, "model", model);
    out = cJSON_AddArrayToObject(o, "output");
    for (size_t i = 0; i < n; i++)
        cJSON_AddItemToArray(out, fc_item(&v[i], 1));
    u = cJSON_AddObjectToObject(o, "usage");
    cJSON_AddNumberToObject(u, "input_tokens", (double)prompt);
    cJSON_AddNumberToObject(u, "output_tokens", (double)(5 * n));
    cJSON_AddNumberToObject(u, "total_tokens", (double)(prompt + 5 * n));
    if (!stream)
        return o;
    cJSON *evs = cJSON_CreateArray(), *e;
    int seq = 0;
#define EV(type)                                                               \
    (e = cJSON_CreateObject(), cJSON_AddStringToObject(e, "type", type),       \
     cJSON_AddNumberToObject(e, "sequence_number", seq++), e)
    e = EV("response.created");
    cJSON *early = cJSON_Duplicate(o, 1);
    cJSON_ReplaceItemInObjectCaseSensitive(early, "status",
                                           cJSON_CreateString("in_progress"));
    cJSON_ReplaceItemInObjectCaseSensitive(early, "output",
                                           cJSON_CreateArray());
    cJSON_AddItemToObject(e, "response", early);
    event(evs, "response.created", e);
    for (size_t i = 0; i < n; i++) {
        char id[64];
        snprintf(id, sizeof id, "fc_%s", v[i].id);
        e = EV("response.output_item.added");
        cJSON_AddNumberToObject(e, "output_index", (double)i);
        cJSON_AddItemToObject(e, "item", fc_item(&v[i], 0));
        event(evs, "response.output_item.added", e);
        for (int piece = 0; piece < 2; piece++) {
            char *h = half(v[i].args, piece);
            e = EV("response.function_call_arguments.delta");
            cJSON_AddStringToObject(e, "item_id", id);
            cJSON_AddNumberToObject(e, "output_index", (double)i);
            cJSON_AddStringToObject(e, "delta", h);
            free(h);
            event(evs, "response.function_call_arguments.delta", e);
        }
        e = EV("response.function_call_arguments.done");
        cJSON_AddStringToObject(e, "item_id", id);
        cJSON_AddNumberToObject(e, "output_index", (double)i);
        cJSON_AddStringToObject(e, "name", v[i].name);
        cJSON_AddStringToObject(e, "arguments", v[i].args);
        event(evs, "response.function_call_arguments.done", e);
        e = EV("response.output_item.done");
        cJSON_AddNumberToObject(e, "output_index", (double)i);
        cJSON_AddItemToObject(e, "item", fc_item(&v[i], 1));
        event(evs, "response.output_item.done", e);
    }
    e = EV("response.completed");
    cJSON_AddItemToObject(e, "response", o);
    event(evs, "response.completed", e);
#undef EV
    return evs;
}

static cJSON *
anthropic_answer(struct call *v, size_t n, const char *model, long prompt,
                 int stream)
{
    cJSON *o = cJSON_CreateObject(), *content, *u;
    cJSON_AddStringToObject(o, "id", "msg_mock");
    cJSON_AddStringToObject(o, "type", "message");
    cJSON_AddStringToObject(o, "role", "assistant");
    cJSON_AddStringToObject(o, "model", model);
    content = cJSON_AddArrayToObject(o, "content");
    for (size_t i = 0; !stream && i < n; i++) {
        cJSON *b = cJSON_CreateObject(), *in = args_obj(v[i].args);
        cJSON_AddStringToObject(b, "type", "tool_use");
        cJSON_AddStringToObject(b, "id", v[i].id);
        cJSON_AddStringToObject(b, "name", v[i].name);
        /* a whole answer's input is always an object */
        cJSON_AddItemToObject(b, "input", in ? in : cJSON_CreateObject());
        cJSON_AddItemToArray(content, b);
    }
    cJSON_AddStringToObject(o, "stop_reason", stream ? "" : "tool_use");
    cJSON_AddNullToObject(o, "stop_sequence");
    u = cJSON_AddObjectToObject(o, "usage");
    cJSON_AddNumberToObject(u, "input_tokens", (double)prompt);
    cJSON_AddNumberToObject(u, "output_tokens", (double)(5 * n));
    if (!stream)
        return o;
    cJSON_ReplaceItemInObjectCaseSensitive(o, "stop_reason",
                                           cJSON_CreateNull());
    cJSON *evs = cJSON_CreateArray(), *e;
    e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "type", "message_start");
    cJSON_AddItemToObject(e, "message", o);
    event(evs, "message_start", e);
    for (size_t i = 0; i < n; i++) {
        cJSON *b = cJSON_CreateObject();
        e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "type", "content_block_start");
        cJSON_AddNumberToObject(e, "index", (double)i);
        cJSON_AddStringToObject(b, "type", "tool_use");
        cJSON_AddStringToObject(b, "id", v[i].id);
        cJSON_AddStringToObject(b, "name", v[i].name);
        cJSON_AddItemToObject(b, "input", cJSON_CreateObject());
        cJSON_AddItemToObject(e, "content_block", b);
        event(evs, "content_block_start", e);
        for (int piece = 0; piece < 2; piece++) {
            char *h = half(v[i].args, piece);
            cJSON *d;
            e = cJSON_CreateObject();
            cJSON_AddStringToObject(e, "type", "content_block_delta");
            cJSON_AddNumberToObject(e, "index", (double)i);
            d = cJSON_AddObjectToObject(e, "delta");
            cJSON_AddStringToObject(d, "type", "input_json_delta");
            cJSON_AddStringToObject(d, "partial_json", h);
            free(h);
            event(evs, "content_block_delta", e);
        }
        e = cJSON_CreateObject();
        cJSON_AddStringToObject(e, "type", "content_block_stop");
        cJSON_AddNumberToObject(e, "index", (double)i);
        event(evs, "content_block_stop", e);
    }
    e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "type", "message_delta");
    cJSON *d = cJSON_AddObjectToObject(e, "delta");
    cJSON_AddStringToObject(d, "stop_reason", "tool_use");
    cJSON_AddNullToObject(d, "stop_sequence");
    cJSON_AddNumberToObject(cJSON_AddObjectToObject(e, "usage"),
                            "output_tokens", (double)(5 * n));
    event(evs, "message_delta", e);
    e = cJSON_CreateObject();
    cJSON_AddStringToObject(e, "type", "message_stop");
    event(evs, "message_stop", e);
    return evs;
}

/* Gemini gives no call ids (as its older API versions): flexiai makes
 * them.  Malformed arguments: finishReason MALFORMED_FUNCTION_CALL. */
static cJSON *
gemini_answer(struct call *v, size_t n, const char *model, long prompt,
              int stream)
{
    cJSON *o = cJSON_CreateObject(), *cand, *content, *parts, *u;
    int malformed = 0;
    cand = cJSON_CreateObject();
    cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "candidates"), cand);
    content = cJSON_AddObjectToObject(cand, "content");
    cJSON_AddStringToObject(content, "role", "model");
    parts = cJSON_AddArrayToObject(content, "parts");
    for (size_t i = 0; i < n; i++) {
        cJSON *in = args_obj(v[i].args), *p = cJSON_CreateObject(), *fc;
        malformed |= in == NULL;
        fc = cJSON_AddObjectToObject(p, "functionCall");
        cJSON_AddStringToObject(fc, "name", v[i].name);
        cJSON_AddItemToObject(fc, "args", in ? in : cJSON_CreateObject());
        cJSON_AddItemToArray(parts, p);
    }
    if (malformed)
        cJSON_DeleteItemFromObjectCaseSensitive(cand, "content");
    cJSON_AddStringToObject(cand, "finishReason",
                            malformed ? "MALFORMED_FUNCTION_CALL" : "STOP");
    cJSON_AddNumberToObject(cand, "index", 0);
    u = cJSON_AddObjectToObject(o, "usageMetadata");
    cJSON_AddNumberToObject(u, "promptTokenCount", (double)prompt);
    cJSON_AddNumberToObject(u, "candidatesTokenCount", (double)(5 * n));
    cJSON_AddNumberToObject(u, "totalTokenCount", (double)(prompt + 5 * n));
    cJSON_AddStringToObject(o, "modelVersion", model);
    if (!stream)
        return o;
    cJSON *evs = cJSON_CreateArray();
    event(evs, NULL, o);
    return evs;
}

cJSON *
mock_tools_answer(int fmt, const struct mock_tools_script *t,
                  const struct mock_tools_req *q, const char *model,
                  long prompt, int stream, int include_usage)
{
    struct call *v = NULL;
    size_t n = script_calls(t, q, &v);
    cJSON *o;
    switch (fmt) {
    case MT_OPENAI:
        o = openai_answer(v, n, model, prompt, stream, include_usage);
        break;
    case MT_RESPONSES:
        o = responses_answer(v, n, model, prompt, stream);
        break;
    case MT_ANTHROPIC:
        o = anthropic_answer(v, n, model, prompt, stream);
        break;
    default:
        o = gemini_answer(v, n, model, prompt, stream);
        break;
    }
    free_calls(v, n);
    return o;
}
