/*
 * provider-tools.c - tools in the four wire formats, shared by the
 * provider files: a request's tool definitions (Chat Completions, the
 * Responses API, Anthropic, Gemini), the history's tool calls and results
 * in each shape, and the calls of an answer as the parsers collect them.
 * One representation (flexiai_tool_call; role "tool" messages) goes to and
 * from every format, so a history one provider produced can be sent to
 * any other.  Shapes: PROTOCOLS.md "2026 APIs" (openai-node FunctionTool /
 * ChatCompletionMessageToolCall, anthropic-sdk ToolUseBlockParam /
 * ToolResultBlockParam, js-genai FunctionDeclaration / FunctionCall /
 * FunctionResponse).
 */
#include "config.h"

#include "fx.h"
#include "provider-common.h"

#include <stdlib.h>
#include <string.h>

/* ---- definitions ------------------------------------------------------- */

/* The tool's parameters as a schema object ({"type":"object"} when none
 * or not JSON: every format wants an object schema). */
static cJSON *
params_schema(const flexiai_tool *t)
{
    cJSON *p = t->parameters ? cJSON_Parse(t->parameters) : NULL;
    if (!cJSON_IsObject(p)) {
        cJSON_Delete(p);
        p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "type", "object");
        cJSON_AddItemToObject(p, "properties", cJSON_CreateObject());
    } else if (cJSON_GetObjectItemCaseSensitive(p, "type") == NULL) {
        /* {"properties": ...} alone: an object, as every format wants */
        cJSON_AddStringToObject(p, "type", "object");
    }
    return p;
}

/* root.tools, the array the schema's forced tool may have begun. */
static cJSON *
tools_array(cJSON *root, const char *member)
{
    cJSON *a = cJSON_GetObjectItemCaseSensitive(root, member);
    return cJSON_IsArray(a) ? a : cJSON_AddArrayToObject(root, member);
}

/* With schema_mode = tool the answer tool was forced; with tools too the
 * model must be free to call them: it must call some tool (the answer
 * tool or one of ours), never none. */
static void
free_choice(cJSON *root, cJSON *choice)
{
    if (cJSON_GetObjectItemCaseSensitive(root, "tool_choice") == NULL) {
        cJSON_Delete(choice);
        return;
    }
    cJSON_ReplaceItemInObjectCaseSensitive(root, "tool_choice", choice);
}

void
fx_tools_openai(cJSON *root, const struct fx_call *call)
{
    if (call->ntools == 0)
        return;
    cJSON *tools = tools_array(root, "tools");
    for (size_t i = 0; i < call->ntools; i++) {
        const flexiai_tool *t = &call->tools[i];
        cJSON *tool = cJSON_CreateObject();
        cJSON_AddStringToObject(tool, "type", "function");
        cJSON *fn = cJSON_AddObjectToObject(tool, "function");
        cJSON_AddStringToObject(fn, "name", t->name ? t->name : "");
        if (t->description)
            cJSON_AddStringToObject(fn, "description", t->description);
        cJSON_AddItemToObject(fn, "parameters", params_schema(t));
        cJSON_AddItemToArray(tools, tool);
    }
    free_choice(root, cJSON_CreateString("required"));
}

void
fx_tools_responses(cJSON *root, const struct fx_call *call)
{
    if (call->ntools == 0)
        return;
    cJSON *tools = tools_array(root, "tools");
    for (size_t i = 0; i < call->ntools; i++) {
        const flexiai_tool *t = &call->tools[i];
        cJSON *tool = cJSON_CreateObject();
        cJSON_AddStringToObject(tool, "type", "function");
        cJSON_AddStringToObject(tool, "name", t->name ? t->name : "");
        if (t->description)
            cJSON_AddStringToObject(tool, "description", t->description);
        cJSON_AddItemToObject(tool, "parameters", params_schema(t));
        /* not strict: a strict schema needs every property required */
        cJSON_AddFalseToObject(tool, "strict");
        cJSON_AddItemToArray(tools, tool);
    }
    free_choice(root, cJSON_CreateString("required"));
}

void
fx_tools_anthropic(cJSON *root, const struct fx_call *call)
{
    if (call->ntools == 0)
        return;
    cJSON *tools = tools_array(root, "tools");
    for (size_t i = 0; i < call->ntools; i++) {
        const flexiai_tool *t = &call->tools[i];
        cJSON *tool = cJSON_CreateObject();
        cJSON_AddStringToObject(tool, "name", t->name ? t->name : "");
        if (t->description)
            cJSON_AddStringToObject(tool, "description", t->description);
        cJSON_AddItemToObject(tool, "input_schema", params_schema(t));
        cJSON_AddItemToArray(tools, tool);
    }
    cJSON *any = cJSON_CreateObject();
    cJSON_AddStringToObject(any, "type", "any");
    free_choice(root, any);
}

void
fx_tools_gemini(cJSON *root, const struct fx_call *call)
{
    if (call->ntools == 0)
        return;
    cJSON *tool = cJSON_CreateObject();
    cJSON *decls = cJSON_AddArrayToObject(tool, "functionDeclarations");
    for (size_t i = 0; i < call->ntools; i++) {
        const flexiai_tool *t = &call->tools[i];
        cJSON *d = cJSON_CreateObject();
        cJSON_AddStringToObject(d, "name", t->name ? t->name : "");
        if (t->description)
            cJSON_AddStringToObject(d, "description", t->description);
        /* JSON Schema as it is (parameters takes an OpenAPI subset) */
        cJSON_AddItemToObject(d, "parametersJsonSchema", params_schema(t));
        cJSON_AddItemToArray(decls, d);
    }
    cJSON_AddItemToArray(tools_array(root, "tools"), tool);
}

/* ---- the history ------------------------------------------------------- */

static int
is_result(const flexiai_message *m)
{
    return m->role && strcmp(m->role, "tool") == 0;
}

/* The call a tool result (message i) answers, in the nearest assistant
 * turn with calls before it: by id, else by name among the calls not
 * answered yet, else by position (Gemini's older answers have no ids).
 * NULL when there is none. */
const flexiai_tool_call *
fx_tool_result_call(const struct fx_call *call, size_t i)
{
    const flexiai_message *m = &call->messages[i];
    size_t a = i, pos = 0;
    while (a > 0 && !(call->messages[a - 1].ntool_calls > 0 &&
                      call->messages[a - 1].tool_calls))
        a--;
    if (a == 0)
        return NULL;
    const flexiai_message *asst = &call->messages[a - 1];
    for (size_t k = a; k < i; k++)
        if (is_result(&call->messages[k]))
            pos++;
    for (size_t c = 0; m->tool_call_id && c < asst->ntool_calls; c++)
        if (asst->tool_calls[c].id &&
            strcmp(asst->tool_calls[c].id, m->tool_call_id) == 0)
            return &asst->tool_calls[c];
    for (size_t c = 0; m->tool_name && c < asst->ntool_calls; c++) {
        if (asst->tool_calls[c].name == NULL ||
            strcmp(asst->tool_calls[c].name, m->tool_name) != 0)
            continue;
        int answered = 0;
        for (size_t k = a; k < i; k++) {
            const flexiai_message *r = &call->messages[k];
            if (is_result(r) &&
                fx_tool_result_call(call, k) == &asst->tool_calls[c])
                answered = 1;
        }
        if (!answered)
            return &asst->tool_calls[c];
    }
    return pos < asst->ntool_calls ? &asst->tool_calls[pos] : NULL;
}

static const char *
result_id(const struct fx_call *call, size_t i)
{
    const flexiai_tool_call *c = fx_tool_result_call(call, i);
    if (call->messages[i].tool_call_id)
        return call->messages[i].tool_call_id;
    return c && c->id ? c->id : "";
}

static const char *
result_name(const struct fx_call *call, size_t i)
{
    const flexiai_tool_call *c = fx_tool_result_call(call, i);
    if (call->messages[i].tool_name)
        return call->messages[i].tool_name;
    return c && c->name ? c->name : "";
}

/* A failed tool's result for formats without an error flag. */
static char *
result_text(const flexiai_message *m)
{
    const char *t = m->content ? m->content : "";
    return m->is_error ? fxu_asprintf("Error: %s", t) : fxu_strdup(t);
}

/* Arguments as an object (Anthropic input, Gemini args): text that is no
 * JSON object (a model's malformed arguments) is kept as a string in
 * {"arguments": TEXT} so nothing the model wrote is lost. */
static cJSON *
args_object(const char *args)
{
    cJSON *o = args ? cJSON_Parse(args) : NULL;
    if (cJSON_IsObject(o))
        return o;
    cJSON_Delete(o);
    o = cJSON_CreateObject();
    if (args && *args)
        cJSON_AddStringToObject(o, "arguments", args);
    return o;
}

cJSON *
fx_tools_openai_message(const struct fx_call *call, size_t i)
{
    const flexiai_message *m = &call->messages[i];
    cJSON *o = cJSON_CreateObject();
    if (is_result(m)) {
        char *t = result_text(m);
        cJSON_AddStringToObject(o, "role", "tool");
        cJSON_AddStringToObject(o, "tool_call_id", result_id(call, i));
        cJSON_AddStringToObject(o, "content", t);
        free(t);
        return o;
    }
    cJSON_AddStringToObject(o, "role", "assistant");
    if (m->content && *m->content)
        cJSON_AddStringToObject(o, "content", m->content);
    else
        cJSON_AddNullToObject(o, "content");
    cJSON *calls = cJSON_AddArrayToObject(o, "tool_calls");
    for (size_t c = 0; c < m->ntool_calls; c++) {
        const flexiai_tool_call *tc = &m->tool_calls[c];
        cJSON *x = cJSON_CreateObject();
        cJSON_AddStringToObject(x, "id", tc->id ? tc->id : "");
        cJSON_AddStringToObject(x, "type", "function");
        cJSON *fn = cJSON_AddObjectToObject(x, "function");
        cJSON_AddStringToObject(fn, "name", tc->name ? tc->name : "");
        cJSON_AddStringToObject(fn, "arguments",
                                tc->arguments ? tc->arguments : "{}");
        cJSON_AddItemToArray(calls, x);
    }
    return o;
}

void
fx_tools_responses_items(cJSON *input, const struct fx_call *call, size_t i)
{
    const flexiai_message *m = &call->messages[i];
    if (is_result(m)) {
        char *t = result_text(m);
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", "function_call_output");
        cJSON_AddStringToObject(o, "call_id", result_id(call, i));
        cJSON_AddStringToObject(o, "output", t);
        free(t);
        cJSON_AddItemToArray(input, o);
        return;
    }
    if (m->content && *m->content) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "role", "assistant");
        cJSON_AddStringToObject(o, "content", m->content);
        cJSON_AddItemToArray(input, o);
    }
    for (size_t c = 0; c < m->ntool_calls; c++) {
        const flexiai_tool_call *tc = &m->tool_calls[c];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", "function_call");
        cJSON_AddStringToObject(o, "call_id", tc->id ? tc->id : "");
        cJSON_AddStringToObject(o, "name", tc->name ? tc->name : "");
        cJSON_AddStringToObject(o, "arguments",
                                tc->arguments ? tc->arguments : "{}");
        cJSON_AddItemToArray(input, o);
    }
}

/* Anthropic ids are [A-Za-z0-9_-]+: another provider's id with other
 * bytes is sent with '_' for them (the same way in the call and its
 * result, so they still match). */
static void
add_anthropic_id(cJSON *o, const char *member, const char *id)
{
    char *s = fxu_strdup(id && *id ? id : "call");
    for (char *p = s; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
            *p = '_';
    cJSON_AddStringToObject(o, member, s);
    free(s);
}

static void
add_text_block(cJSON *content, const char *text)
{
    if (text == NULL || *text == '\0')
        return; /* the API refuses empty text blocks */
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "type", "text");
    cJSON_AddStringToObject(b, "text", text);
    cJSON_AddItemToArray(content, b);
}

void
fx_tools_anthropic_blocks(cJSON *content, const struct fx_call *call,
                          const struct fx_turn *t)
{
    if (t->assistant) {
        for (size_t i = t->first; i < t->end; i++) {
            const flexiai_message *m = &call->messages[i];
            if (m->role && strcmp(m->role, "system") == 0)
                continue;
            add_text_block(content, m->content);
            for (size_t c = 0; m->tool_calls && c < m->ntool_calls; c++) {
                cJSON *b = cJSON_CreateObject();
                cJSON_AddStringToObject(b, "type", "tool_use");
                add_anthropic_id(b, "id", m->tool_calls[c].id);
                cJSON_AddStringToObject(
                    b, "name",
                    m->tool_calls[c].name ? m->tool_calls[c].name : "");
                cJSON_AddItemToObject(b, "input",
                                      args_object(m->tool_calls[c].arguments));
                cJSON_AddItemToArray(content, b);
            }
        }
        return;
    }
    /* tool_result blocks first, then the user's text */
    for (size_t i = t->first; i < t->end; i++) {
        const flexiai_message *m = &call->messages[i];
        if (!is_result(m))
            continue;
        cJSON *b = cJSON_CreateObject();
        cJSON_AddStringToObject(b, "type", "tool_result");
        add_anthropic_id(b, "tool_use_id", result_id(call, i));
        cJSON_AddStringToObject(b, "content", m->content ? m->content : "");
        if (m->is_error)
            cJSON_AddTrueToObject(b, "is_error");
        cJSON_AddItemToArray(content, b);
    }
    for (size_t i = t->first; i < t->end; i++) {
        const flexiai_message *m = &call->messages[i];
        if (!is_result(m) && !(m->role && strcmp(m->role, "system") == 0))
            add_text_block(content, m->content);
    }
}

static int
has_call_part(const cJSON *parts)
{
    const cJSON *p;
    cJSON_ArrayForEach(p, parts)
    {
        if (cJSON_GetObjectItemCaseSensitive(p, "functionCall"))
            return 1;
    }
    return 0;
}

void
fx_tools_gemini_parts(cJSON *parts, const struct fx_call *call,
                      const struct fx_turn *t)
{
    if (t->assistant) {
        /* the state's parts may hold the calls with their signatures */
        int have_calls = has_call_part(parts);
        for (size_t i = t->first; i < t->end; i++) {
            const flexiai_message *m = &call->messages[i];
            if (have_calls || m->tool_calls == NULL)
                continue;
            for (size_t c = 0; c < m->ntool_calls; c++) {
                cJSON *p = cJSON_CreateObject();
                cJSON *fc = cJSON_AddObjectToObject(p, "functionCall");
                cJSON_AddStringToObject(
                    fc, "name",
                    m->tool_calls[c].name ? m->tool_calls[c].name : "");
                cJSON_AddItemToObject(fc, "args",
                                      args_object(m->tool_calls[c].arguments));
                cJSON_AddItemToArray(parts, p);
            }
        }
        return;
    }
    /* results matched to their calls by name and order: ids are left out
     * (another provider's ids mean nothing to Gemini) */
    for (size_t i = t->first; i < t->end; i++) {
        const flexiai_message *m = &call->messages[i];
        if (!is_result(m))
            continue;
        cJSON *p = cJSON_CreateObject();
        cJSON *fr = cJSON_AddObjectToObject(p, "functionResponse");
        cJSON_AddStringToObject(fr, "name", result_name(call, i));
        cJSON *resp = cJSON_AddObjectToObject(fr, "response");
        cJSON_AddStringToObject(resp, m->is_error ? "error" : "output",
                                m->content ? m->content : "");
        cJSON_AddItemToArray(parts, p);
    }
    for (size_t i = t->first; i < t->end; i++) {
        const flexiai_message *m = &call->messages[i];
        if (is_result(m) || (m->role && strcmp(m->role, "system") == 0) ||
            m->content == NULL || *m->content == '\0')
            continue;
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "text", m->content);
        cJSON_AddItemToArray(parts, p);
    }
}

/* ---- answers ----------------------------------------------------------- */

flexiai_tool_call *
fx_tool_call_at(struct fx_response *r, size_t index)
{
    if (index >= 1024)
        return NULL; /* no answer has that many calls */
    if (index >= r->ntool_calls) {
        r->tool_calls =
            realloc(r->tool_calls, (index + 1) * sizeof *r->tool_calls);
        if (r->tool_calls == NULL)
            abort(); /* out of memory, as fxu_xmalloc */
        memset(&r->tool_calls[r->ntool_calls], 0,
               (index + 1 - r->ntool_calls) * sizeof *r->tool_calls);
        r->ntool_calls = index + 1;
    }
    return &r->tool_calls[index];
}

void
fx_tool_call_set(flexiai_tool_call *c, const char *id, const char *name)
{
    if (id && *id && c->id == NULL)
        c->id = fxu_strdup(id);
    if (name && *name && c->name == NULL)
        c->name = fxu_strdup(name);
}

void
fx_tool_call_args(flexiai_tool_call *c, const char *piece)
{
    if (piece == NULL || *piece == '\0')
        return;
    char *joined =
        fxu_asprintf("%s%s", c->arguments ? c->arguments : "", piece);
    free(c->arguments);
    c->arguments = joined;
}

flexiai_tool_call *
fx_tool_call_add(struct fx_response *r, const char *id, const char *name,
                 const char *arguments)
{
    flexiai_tool_call *c = fx_tool_call_at(r, r->ntool_calls);
    if (c == NULL)
        return NULL;
    fx_tool_call_set(c, id, name);
    fx_tool_call_args(c, arguments);
    return c;
}

/* A stable id for a call that came without one (Gemini): from its place
 * in the answer, its name and its arguments. */
static char *
made_id(size_t index, const flexiai_tool_call *c)
{
    unsigned long h = 2166136261UL;
    const char *parts[2] = {c->name ? c->name : "",
                            c->arguments ? c->arguments : ""};
    for (int k = 0; k < 2; k++)
        for (const unsigned char *p = (const unsigned char *)parts[k]; *p; p++)
            h = ((h ^ *p) * 16777619UL) & 0xffffffffUL;
    return fxu_asprintf("call_%zu_%08lx", index, h);
}

void
fx_tools_finish(struct fx_response *r)
{
    size_t kept = 0;
    for (size_t i = 0; i < r->ntool_calls; i++) {
        flexiai_tool_call *c = &r->tool_calls[i];
        if (c->name && strcmp(c->name, FX_SCHEMA_TOOL_NAME) == 0) {
            /* schema_mode = tool: the forced tool's input is the answer */
            if (r->text.len == 0)
                fxu_buf_puts(&r->text, c->arguments ? c->arguments : "{}");
            free(c->id);
            free(c->name);
            free(c->arguments);
            continue;
        }
        if (c->arguments == NULL)
            c->arguments = fxu_strdup("{}");
        if (c->name == NULL)
            c->name = fxu_strdup("");
        if (c->id == NULL)
            c->id = made_id(i, c);
        r->tool_calls[kept++] = *c;
    }
    r->ntool_calls = kept;
    if (kept == 0) {
        free(r->tool_calls);
        r->tool_calls = NULL;
        return;
    }
    if (r->finish_reason == NULL || strcmp(r->finish_reason, "stop") == 0)
        fx_response_set_finish(r, "tool_calls");
}
