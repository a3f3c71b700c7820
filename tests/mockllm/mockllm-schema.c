/*
 * mockllm-schema.c - mockllm's checks of the structured-output parts of a
 * request: OpenAI response_format (json_schema, json_object) and forced
 * function tools, Anthropic output_config.format and forced tools, and
 * Gemini/Vertex responseMimeType with responseSchema (Google's OpenAPI
 * subset) or responseJsonSchema.  A request that gets them wrong is a 400,
 * as the real APIs answer it.  See tests/mockllm/README.md.
 */
#define _GNU_SOURCE
#include "mockllm-schema.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int
fail(char *msg, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, cap, fmt, ap);
    va_end(ap);
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

/* OpenAI's rule for names: [a-zA-Z0-9_-]{1,64} */
static int
name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    return n >= 1 && n <= 64 &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                     "0123456789_-") == n;
}

/* Strict mode: every object lists all its properties in required and
 * has additionalProperties false, all the way down.  0 ok, -1 with msg. */
static int
strict_ok(const cJSON *s, const char *where, char *msg, size_t cap)
{
    if (!cJSON_IsObject(s))
        return 0;
    const cJSON *props = get(s, "properties");
    const char *type = str(s, "type");
    if (props || (type && !strcmp(type, "object"))) {
        const cJSON *ap = get(s, "additionalProperties");
        if (!cJSON_IsFalse(ap))
            return fail(msg, cap,
                        "Invalid schema for response_format: In context=%s, "
                        "'additionalProperties' is required to be supplied "
                        "and to be false.",
                        where);
        const cJSON *req = get(s, "required"), *p;
        cJSON_ArrayForEach(p, props)
        {
            int found = 0;
            const cJSON *r;
            cJSON_ArrayForEach(r, req) if (cJSON_IsString(r) &&
                                           !strcmp(r->valuestring, p->string))
                found = 1;
            if (!found)
                return fail(msg, cap,
                            "Invalid schema for response_format: In "
                            "context=%s, 'required' is required to be "
                            "supplied and to be an array including every key "
                            "in properties. Missing '%s'.",
                            where, p->string);
        }
    }
    const cJSON *c;
    cJSON_ArrayForEach(c, s)
    {
        if (!strcmp(c->string, "properties") || !strcmp(c->string, "$defs") ||
            !strcmp(c->string, "definitions")) {
            const cJSON *p;
            cJSON_ArrayForEach(
                p, c) if (strict_ok(p, p->string, msg, cap)) return -1;
        } else if (cJSON_IsObject(c) && strict_ok(c, c->string, msg, cap)) {
            return -1;
        } else if (cJSON_IsArray(c)) {
            const cJSON *p;
            cJSON_ArrayForEach(
                p, c) if (strict_ok(p, c->string, msg, cap)) return -1;
        }
    }
    return 0;
}

int
mock_schema_openai(const cJSON *j, char *msg, size_t cap, char *param,
                   size_t pcap, char *tool, size_t tcap)
{
    const cJSON *rf = get(j, "response_format"), *x;
    if (rf) {
        snprintf(param, pcap, "response_format");
        const char *type = str(rf, "type");
        if (!cJSON_IsObject(rf) || type == NULL)
            return fail(msg, cap,
                        "Missing required parameter: "
                        "'response_format.type'.");
        if (!strcmp(type, "json_schema")) {
            const cJSON *js = get(rf, "json_schema");
            if (!cJSON_IsObject(js))
                return fail(msg, cap,
                            "Missing required parameter: "
                            "'response_format.json_schema'.");
            if (!name_ok(str(js, "name")))
                return fail(msg, cap,
                            "Invalid 'response_format.json_schema.name': "
                            "must match ^[a-zA-Z0-9_-]{1,64}$.");
            if (!cJSON_IsObject(get(js, "schema")))
                return fail(msg, cap,
                            "Invalid type for "
                            "'response_format.json_schema.schema': "
                            "expected an object.");
            if ((x = get(js, "strict")) && !cJSON_IsBool(x))
                return fail(msg, cap,
                            "Invalid type for "
                            "'response_format.json_schema.strict': "
                            "expected a boolean.");
            if (cJSON_IsTrue(x) &&
                strict_ok(get(js, "schema"), str(js, "name"), msg, cap))
                return -1;
        } else if (strcmp(type, "json_object") && strcmp(type, "text")) {
            return fail(msg, cap,
                        "Invalid value: '%.64s'. Supported values are: "
                        "'json_object', 'json_schema', and 'text'.",
                        type);
        }
    }
    const cJSON *tools = get(j, "tools"), *t;
    if (tools) {
        snprintf(param, pcap, "tools");
        if (!cJSON_IsArray(tools) || cJSON_GetArraySize(tools) == 0)
            return fail(msg, cap,
                        "Invalid 'tools': expected a non-empty "
                        "array.");
        cJSON_ArrayForEach(t, tools)
        {
            const cJSON *fn = get(t, "function");
            const char *type = str(t, "type");
            if (!type || strcmp(type, "function") || !cJSON_IsObject(fn) ||
                !name_ok(str(fn, "name")))
                return fail(msg, cap,
                            "Invalid 'tools': each needs type "
                            "function and function.name.");
            if ((x = get(fn, "parameters")) && !cJSON_IsObject(x))
                return fail(msg, cap,
                            "Invalid 'tools.function.parameters': "
                            "expected an object.");
        }
    }
    const cJSON *tc = get(j, "tool_choice");
    if (tc) {
        snprintf(param, pcap, "tool_choice");
        if (cJSON_IsString(tc))
            return 0;
        const cJSON *fn = get(tc, "function");
        const char *name = str(fn, "name");
        if (!str(tc, "type") || strcmp(str(tc, "type"), "function") || !name)
            return fail(msg, cap,
                        "Invalid 'tool_choice': expected "
                        "{type: function, function: {name}}.");
        int found = 0;
        cJSON_ArrayForEach(t, tools)
        {
            const char *n = str(get(t, "function"), "name");
            found |= n && !strcmp(n, name);
        }
        if (!found)
            return fail(msg, cap,
                        "Invalid 'tool_choice': no tool named '%.64s'.", name);
        snprintf(tool, tcap, "%s", name);
    }
    return 0;
}

int
mock_schema_anthropic(const cJSON *j, char *msg, size_t cap, char *tool,
                      size_t tcap)
{
    const cJSON *oc = get(j, "output_config"), *x;
    if (oc) {
        if (!cJSON_IsObject(oc))
            return fail(msg, cap,
                        "output_config: Input should be a valid "
                        "dictionary");
        const cJSON *fmt = get(oc, "format");
        if (fmt) {
            const char *type = str(fmt, "type");
            if (!type || strcmp(type, "json_schema"))
                return fail(msg, cap,
                            "output_config.format.type: Input "
                            "should be 'json_schema'");
            if (!cJSON_IsObject(get(fmt, "schema")))
                return fail(msg, cap,
                            "output_config.format.schema: Field "
                            "required");
        }
    }
    const cJSON *tools = get(j, "tools"), *t;
    if (tools) {
        if (!cJSON_IsArray(tools))
            return fail(msg, cap, "tools: Input should be a valid list");
        cJSON_ArrayForEach(t, tools)
        {
            const char *n = str(t, "name");
            const cJSON *is = get(t, "input_schema");
            if (!name_ok(n))
                return fail(msg, cap,
                            "tools.name: String should match "
                            "pattern '^[a-zA-Z0-9_-]{1,64}$'");
            if (!cJSON_IsObject(is) || !str(is, "type") ||
                strcmp(str(is, "type"), "object"))
                return fail(msg, cap,
                            "tools.input_schema.type: Input "
                            "should be 'object'");
        }
    }
    const cJSON *tc = get(j, "tool_choice");
    if (tc) {
        const char *type = str(tc, "type");
        if (!type || (strcmp(type, "auto") && strcmp(type, "any") &&
                      strcmp(type, "tool") && strcmp(type, "none")))
            return fail(msg, cap,
                        "tool_choice.type: Input should be 'auto', "
                        "'any', 'tool' or 'none'");
        if (!strcmp(type, "tool")) {
            const char *name = str(tc, "name");
            int found = 0;
            cJSON_ArrayForEach(t, tools)
            {
                const char *n = str(t, "name");
                found |= n && name && !strcmp(n, name);
            }
            if (!found)
                return fail(msg, cap, "tool_choice.name: no tool named '%.64s'",
                            name ? name : "");
            snprintf(tool, tcap, "%s", name);
        }
    }
    (void)x;
    return 0;
}

/* Google's Schema object (OpenAPI 3.0 subset): known fields, upper-case
 * types. */
static int
google_schema_ok(const cJSON *s, const char *where, char *msg, size_t cap)
{
    static const char *const fields[] = {"type",
                                         "format",
                                         "title",
                                         "description",
                                         "nullable",
                                         "enum",
                                         "maxItems",
                                         "minItems",
                                         "properties",
                                         "required",
                                         "minProperties",
                                         "maxProperties",
                                         "minLength",
                                         "maxLength",
                                         "pattern",
                                         "example",
                                         "anyOf",
                                         "propertyOrdering",
                                         "default",
                                         "items",
                                         "minimum",
                                         "maximum",
                                         NULL};
    static const char *const types[] = {
        "STRING", "NUMBER", "INTEGER",          "BOOLEAN", "ARRAY",
        "OBJECT", "NULL",   "TYPE_UNSPECIFIED", NULL};
    if (!cJSON_IsObject(s))
        return fail(msg, cap,
                    "Invalid value at '%s': expected a Schema "
                    "object.",
                    where);
    const cJSON *c;
    cJSON_ArrayForEach(c, s)
    {
        int known = 0;
        for (int i = 0; fields[i]; i++)
            known |= !strcmp(c->string, fields[i]);
        if (!known)
            return fail(msg, cap,
                        "Invalid JSON payload received. Unknown name "
                        "\"%.64s\" at '%s': Cannot find field.",
                        c->string, where);
    }
    const char *type = str(s, "type");
    if (get(s, "type")) {
        int ok = 0;
        for (int i = 0; type && types[i]; i++)
            ok |= !strcmp(type, types[i]);
        if (!ok)
            return fail(msg, cap, "Invalid value at '%s.type': \"%.32s\"",
                        where, type ? type : "?");
    }
    const cJSON *p;
    cJSON_ArrayForEach(
        p,
        get(s, "properties")) if (google_schema_ok(p,
                                                   "response_schema.properties",
                                                   msg, cap)) return -1;
    if (get(s, "items") &&
        google_schema_ok(get(s, "items"), "response_schema.items", msg, cap))
        return -1;
    cJSON_ArrayForEach(
        p, get(s, "anyOf")) if (google_schema_ok(p, "response_schema.any_of",
                                                 msg, cap)) return -1;
    return 0;
}

int
mock_schema_gemini(const cJSON *gc, char *msg, size_t cap)
{
#define GC(camel, snake) (get(gc, camel) ? get(gc, camel) : get(gc, snake))
    const cJSON *mime = GC("responseMimeType", "response_mime_type");
    const cJSON *rs = GC("responseSchema", "response_schema");
    const cJSON *rjs = GC("responseJsonSchema", "response_json_schema");
#undef GC
    if (mime && !cJSON_IsString(mime))
        return fail(msg, cap,
                    "Invalid value at "
                    "'generation_config.response_mime_type'");
    if ((rs || rjs) &&
        (!mime || strcmp(mime->valuestring, "application/json") != 0))
        return fail(msg, cap,
                    "Only application/json is supported as "
                    "response_mime_type when a response schema is "
                    "set.");
    if (rs && rjs)
        return fail(msg, cap,
                    "response_schema and response_json_schema "
                    "cannot both be set.");
    if (rjs && !cJSON_IsObject(rjs) && !cJSON_IsBool(rjs))
        return fail(msg, cap,
                    "Invalid value at "
                    "'generation_config.response_json_schema'");
    if (rs &&
        google_schema_ok(rs, "generation_config.response_schema", msg, cap))
        return -1;
    return 0;
}

cJSON *
mock_tool_answer(int anthropic, const char *name, const char *input)
{
    cJSON *in = cJSON_Parse(input);
    if (in == NULL)
        in = cJSON_CreateObject();
    cJSON *o = cJSON_CreateObject();
    if (anthropic) {
        cJSON_AddStringToObject(o, "type", "tool_use");
        cJSON_AddStringToObject(o, "id", "toolu_mock");
        cJSON_AddStringToObject(o, "name", name);
        cJSON_AddItemToObject(o, "input", in);
        return o;
    }
    char *args = cJSON_PrintUnformatted(in);
    cJSON_Delete(in);
    cJSON_AddStringToObject(o, "id", "call_mock");
    cJSON_AddStringToObject(o, "type", "function");
    cJSON *fn = cJSON_AddObjectToObject(o, "function");
    cJSON_AddStringToObject(fn, "name", name);
    cJSON_AddStringToObject(fn, "arguments", args ? args : "{}");
    cJSON_free(args);
    return o;
}

int
mock_schema_strict(const cJSON *schema, const char *name, char *msg, size_t cap)
{
    return strict_ok(schema, name, msg, cap);
}
