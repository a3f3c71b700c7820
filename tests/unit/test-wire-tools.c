/*
 * test-wire-tools.c - tools in the four wire formats: the definitions, a
 * history with two parallel calls and their results (one failed, one
 * with malformed arguments) as each format wants it, and the calls of an
 * answer parsed whole and streamed.  Shapes from PROTOCOLS.md "2026 APIs"
 * (openai-node, anthropic-sdk-typescript, js-genai types).
 */
#include "config.h"

#include "fx.h"
#include "http.h"
#include "schema/schema.h"
#include "tap.h"

#include <cjson/cJSON.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

static const flexiai_tool tools[] = {
    {"get_time", "The time in a zone",
     "{\"type\":\"object\",\"properties\":{\"tz\":{\"type\":\"string\"}}}"},
    {"read_file", NULL, NULL},
};
static const flexiai_tool_call calls[] = {
    {"call_1", "get_time", "{\"tz\":\"UTC\"}"},
    {"call_2", "read_file", "{oops"},
};
static const flexiai_message history[] = {
    {.role = "user", .content = "What time is it, and what is in a.txt?"},
    {.role = "assistant", .content = "", .tool_calls = calls, .ntool_calls = 2},
    {.role = "tool",
     .content = "12:00",
     .tool_call_id = "call_1",
     .tool_name = "get_time"},
    {.role = "tool",
     .content = "no such file",
     .tool_call_id = "call_2",
     .tool_name = "read_file",
     .is_error = 1},
};

/* The body that ops builds for the history and the tools; NULL on error. */
static const flexiai_schema *g_schema; /* with schema_mode = tool */

static cJSON *
body_of(const struct fx_provider_ops *ops, const char *type,
        const flexiai_message *m, size_t n)
{
    struct fx_provider p;
    struct fx_params pp;
    memset(&p, 0, sizeof p);
    memset(&pp, 0, sizeof pp);
    pp.temperature = -1;
    pp.top_p = -1;
    p.name = (char *)type;
    p.type = (char *)type;
    p.ops = ops;
    p.model = (char *)"m-1";
    p.params = pp;
    struct fx_call c = {.prov = &p,
                        .key = "k",
                        .model = "m-1",
                        .messages = m,
                        .nmessages = n,
                        .params = &pp,
                        .default_max_tokens = 1024,
                        .tools = tools,
                        .ntools = 2,
                        .schema = g_schema};
    p.schema_mode = FX_SCHEMA_TOOL;
    struct fx_http_req req;
    char *err = NULL;
    memset(&req, 0, sizeof req);
    cJSON *body = NULL;
    if (ops->build_request(&c, &req, &err) == 0)
        body = cJSON_Parse(req.body);
    else
        printf("# %s: %s\n", type, err ? err : "?");
    free(err);
    fx_http_req_free(&req);
    return body;
}

/* The string at a path of member names and array indexes ("messages", "1",
 * "content"...), NULL-terminated. */
static const cJSON *
at(const cJSON *j, ...)
{
    va_list ap;
    va_start(ap, j);
    const char *k;
    while (j && (k = va_arg(ap, const char *)) != NULL)
        j = (*k >= '0' && *k <= '9') ? cJSON_GetArrayItem(j, atoi(k))
                                     : cJSON_GetObjectItemCaseSensitive(j, k);
    va_end(ap);
    return j;
}
#define S(...) cJSON_GetStringValue(at(__VA_ARGS__, (const char *)NULL))
#define J(...) at(__VA_ARGS__, (const char *)NULL)

static int
json_is(const cJSON *j, const char *want)
{
    cJSON *w = cJSON_Parse(want);
    int same = j && w && cJSON_Compare(j, w, 1);
    if (!same) {
        char *g = j ? cJSON_PrintUnformatted(j) : NULL;
        printf("#   got:  %s\n#   want: %s\n", g ? g : "(none)", want);
        free(g);
    }
    cJSON_Delete(w);
    return same;
}

static void
test_openai(void)
{
    cJSON *b = body_of(&fx_provider_openai, "openai", history, 4);
    ok(b != NULL, "openai: built");
    is_str(S(b, "tools", "0", "type"), "function", "openai: tool type");
    ok(json_is(J(b, "tools", "0", "function"),
               "{\"name\":\"get_time\",\"description\":\"The time in a zone\","
               "\"parameters\":{\"type\":\"object\",\"properties\":{\"tz\":"
               "{\"type\":\"string\"}}}}"),
       "openai: tools[].function {name, description, parameters}");
    ok(json_is(J(b, "tools", "1", "function", "parameters"),
               "{\"type\":\"object\",\"properties\":{}}"),
       "openai: a tool without parameters takes an empty object schema");
    ok(J(b, "tool_choice") == NULL, "openai: no tool_choice without schema");
    ok(json_is(J(b, "messages", "1"),
               "{\"role\":\"assistant\",\"content\":null,\"tool_calls\":["
               "{\"id\":\"call_1\",\"type\":\"function\",\"function\":{"
               "\"name\":\"get_time\",\"arguments\":\"{\\\"tz\\\":\\\"UTC\\\"}"
               "\"}},{\"id\":\"call_2\",\"type\":\"function\",\"function\":{"
               "\"name\":\"read_file\",\"arguments\":\"{oops\"}}]}"),
       "openai: assistant tool_calls, arguments as text");
    ok(json_is(J(b, "messages", "2"),
               "{\"role\":\"tool\",\"tool_call_id\":\"call_1\",\"content\":"
               "\"12:00\"}"),
       "openai: role tool with tool_call_id");
    is_str(S(b, "messages", "3", "content"), "Error: no such file",
           "openai: a failed tool's result says so");
    cJSON_Delete(b);
}

static void
test_responses(void)
{
    cJSON *b = body_of(&fx_provider_openai_responses, "openai", history, 4);
    ok(b != NULL, "responses: built");
    ok(json_is(J(b, "tools", "0"),
               "{\"type\":\"function\",\"name\":\"get_time\",\"description\":"
               "\"The time in a zone\",\"parameters\":{\"type\":\"object\","
               "\"properties\":{\"tz\":{\"type\":\"string\"}}},\"strict\":"
               "false}"),
       "responses: tools[] {type function, name, description, parameters}");
    is_int(cJSON_GetArraySize(J(b, "input")), 5,
           "responses: user, two function_call, two outputs");
    ok(json_is(J(b, "input", "2"),
               "{\"type\":\"function_call\",\"call_id\":\"call_2\",\"name\":"
               "\"read_file\",\"arguments\":\"{oops\"}"),
       "responses: function_call item");
    ok(json_is(J(b, "input", "3"),
               "{\"type\":\"function_call_output\",\"call_id\":\"call_1\","
               "\"output\":\"12:00\"}"),
       "responses: function_call_output item");
    cJSON_Delete(b);
}

static void
test_anthropic(void)
{
    cJSON *b = body_of(&fx_provider_anthropic, "anthropic", history, 4);
    ok(b != NULL, "anthropic: built");
    ok(json_is(J(b, "tools", "0"),
               "{\"name\":\"get_time\",\"description\":\"The time in a zone\","
               "\"input_schema\":{\"type\":\"object\",\"properties\":{\"tz\":"
               "{\"type\":\"string\"}}}}"),
       "anthropic: tools[] {name, description, input_schema}");
    is_int(cJSON_GetArraySize(J(b, "messages")), 3,
           "anthropic: user, assistant, user (results merged)");
    ok(json_is(J(b, "messages", "1"),
               "{\"role\":\"assistant\",\"content\":[{\"type\":\"tool_use\","
               "\"id\":\"call_1\",\"name\":\"get_time\",\"input\":{\"tz\":"
               "\"UTC\"}},{\"type\":\"tool_use\",\"id\":\"call_2\",\"name\":"
               "\"read_file\",\"input\":{\"arguments\":\"{oops\"}}]}"),
       "anthropic: tool_use blocks; malformed arguments kept as text");
    ok(json_is(J(b, "messages", "2"),
               "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\","
               "\"tool_use_id\":\"call_1\",\"content\":\"12:00\"},{\"type\":"
               "\"tool_result\",\"tool_use_id\":\"call_2\",\"content\":"
               "\"no such file\",\"is_error\":true}]}"),
       "anthropic: tool_result blocks in one user turn, is_error");
    cJSON_Delete(b);

    /* results, then the user's next question: one user turn, results
     * first; an id with bytes Anthropic refuses is mended both sides */
    static const flexiai_tool_call odd[] = {{"fc.1/x", "get_time", "{}"}};
    static const flexiai_message h2[] = {
        {.role = "user", .content = "q"},
        {.role = "assistant",
         .content = "Checking.",
         .tool_calls = odd,
         .ntool_calls = 1},
        {.role = "tool", .content = "12:00", .tool_call_id = "fc.1/x"},
        {.role = "user", .content = "and now?"},
    };
    b = body_of(&fx_provider_anthropic, "anthropic", h2, 4);
    ok(json_is(J(b, "messages", "1", "content"),
               "[{\"type\":\"text\",\"text\":\"Checking.\"},{\"type\":"
               "\"tool_use\",\"id\":\"fc_1_x\",\"name\":\"get_time\","
               "\"input\":{}}]"),
       "anthropic: text then tool_use; id mended");
    ok(json_is(J(b, "messages", "2", "content"),
               "[{\"type\":\"tool_result\",\"tool_use_id\":\"fc_1_x\","
               "\"content\":\"12:00\"},{\"type\":\"text\",\"text\":"
               "\"and now?\"}]"),
       "anthropic: tool_result first, then the user's text");
    cJSON_Delete(b);
}

static void
test_gemini(void)
{
    cJSON *b = body_of(&fx_provider_gemini, "gemini", history, 4);
    ok(b != NULL, "gemini: built");
    ok(json_is(J(b, "tools"),
               "[{\"functionDeclarations\":[{\"name\":\"get_time\","
               "\"description\":\"The time in a zone\",\"parametersJsonSchema"
               "\":{\"type\":\"object\",\"properties\":{\"tz\":{\"type\":"
               "\"string\"}}}},{\"name\":\"read_file\",\"parametersJsonSchema"
               "\":{\"type\":\"object\",\"properties\":{}}}]}]"),
       "gemini: tools[].functionDeclarations with parametersJsonSchema");
    ok(json_is(J(b, "contents", "1"),
               "{\"role\":\"model\",\"parts\":[{\"functionCall\":{\"name\":"
               "\"get_time\",\"args\":{\"tz\":\"UTC\"}}},{\"functionCall\":{"
               "\"name\":\"read_file\",\"args\":{\"arguments\":\"{oops\"}}}]}"),
       "gemini: functionCall parts in the model turn");
    ok(json_is(J(b, "contents", "2"),
               "{\"role\":\"user\",\"parts\":[{\"functionResponse\":{\"name\":"
               "\"get_time\",\"response\":{\"output\":\"12:00\"}}},{"
               "\"functionResponse\":{\"name\":\"read_file\",\"response\":{"
               "\"error\":\"no such file\"}}}]}"),
       "gemini: functionResponse parts, output / error");
    cJSON_Delete(b);

    /* results without ids or names (as older Gemini answers give them)
     * go to OpenAI with the ids of the calls, matched by order */
    static const flexiai_message h3[] = {
        history[0],
        history[1],
        {.role = "tool", .content = "12:00"},
        {.role = "tool", .content = "x", .tool_name = "read_file"},
    };
    b = body_of(&fx_provider_openai, "openai", h3, 4);
    is_str(S(b, "messages", "2", "tool_call_id"), "call_1",
           "no id: matched by order");
    is_str(S(b, "messages", "3", "tool_call_id"), "call_2",
           "no id: matched by name");
    cJSON_Delete(b);
    b = body_of(&fx_provider_gemini, "gemini", h3, 4);
    is_str(S(b, "contents", "2", "parts", "0", "functionResponse", "name"),
           "get_time", "gemini: a result's name from its call");
    cJSON_Delete(b);
}

static void
check_calls(const struct fx_response *r, const char *what, size_t n,
            const char *name0, const char *args0)
{
    is_int((long)r->ntool_calls, (long)n, "%s: %zu calls", what, n);
    if (r->ntool_calls == 0)
        return;
    is_str(r->tool_calls[0].name, name0, "%s: name", what);
    is_str(r->tool_calls[0].arguments, args0, "%s: arguments", what);
    ok(r->tool_calls[0].id && *r->tool_calls[0].id, "%s: an id", what);
    is_str(r->finish_reason, "tool_calls", "%s: finish tool_calls", what);
}

static void
test_parse(void)
{
    struct fx_response r;
    struct fx_error e;
    const char *oa =
        "{\"model\":\"m\",\"choices\":[{\"message\":{\"role\":\"assistant\","
        "\"content\":null,\"tool_calls\":[{\"id\":\"call_a\",\"type\":"
        "\"function\",\"function\":{\"name\":\"get_time\",\"arguments\":"
        "\"{\\\"tz\\\":\\\"UTC\\\"}\"}},{\"id\":\"call_b\",\"type\":"
        "\"function\",\"function\":{\"name\":\"nosuch\",\"arguments\":"
        "\"{bad\"}}]},\"finish_reason\":\"tool_calls\"}]}";
    fx_response_init(&r);
    is_int(fx_provider_openai.parse_response(oa, strlen(oa), &r, &e), 0,
           "openai answer parsed");
    check_calls(&r, "openai", 2, "get_time", "{\"tz\":\"UTC\"}");
    is_str(r.tool_calls[1].name, "nosuch", "openai: unknown tool kept");
    is_str(r.tool_calls[1].arguments, "{bad",
           "openai: malformed arguments kept as text");
    is_str(r.tool_calls[1].id, "call_b", "openai: id");
    fx_response_free(&r);

    const char *rs = "{\"status\":\"completed\",\"output\":[{\"type\":"
                     "\"function_call\",\"id\":\"fc_1\",\"call_id\":\"call_r\","
                     "\"name\":\"get_time\",\"arguments\":\"{}\"}]}";
    fx_response_init(&r);
    is_int(fx_provider_openai_responses.parse_response(rs, strlen(rs), &r, &e),
           0, "responses answer parsed");
    check_calls(&r, "responses", 1, "get_time", "{}");
    is_str(r.tool_calls[0].id, "call_r", "responses: call_id is the id");
    fx_response_free(&r);

    const char *an =
        "{\"model\":\"c\",\"content\":[{\"type\":\"text\",\"text\":\"Let me "
        "look.\"},{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":"
        "\"get_time\",\"input\":{\"tz\":\"UTC\"}}],\"stop_reason\":"
        "\"tool_use\"}";
    fx_response_init(&r);
    is_int(fx_provider_anthropic.parse_response(an, strlen(an), &r, &e), 0,
           "anthropic answer parsed");
    check_calls(&r, "anthropic", 1, "get_time", "{\"tz\":\"UTC\"}");
    is_str(r.text.data, "Let me look.", "anthropic: text and a call");
    fx_response_free(&r);

    const char *ge =
        "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{"
        "\"functionCall\":{\"name\":\"get_time\",\"args\":{\"tz\":\"UTC\"}}},"
        "{\"functionCall\":{\"name\":\"get_time\",\"args\":{\"tz\":\"CET\"}}}"
        "]},\"finishReason\":\"STOP\"}]}";
    fx_response_init(&r);
    is_int(fx_provider_gemini.parse_response(ge, strlen(ge), &r, &e), 0,
           "gemini answer parsed");
    check_calls(&r, "gemini", 2, "get_time", "{\"tz\":\"UTC\"}");
    ok(r.ntool_calls == 2 &&
           strcmp(r.tool_calls[0].id, r.tool_calls[1].id) != 0,
       "gemini: ids made, one per call");
    char *first = r.ntool_calls ? fxu_strdup(r.tool_calls[0].id) : NULL;
    fx_response_free(&r);
    fx_response_init(&r);
    fx_provider_gemini.parse_response(ge, strlen(ge), &r, &e);
    is_str(r.ntool_calls ? r.tool_calls[0].id : NULL, first,
           "gemini: the made id is stable");
    free(first);
    fx_response_free(&r);
}

static int
feed(const struct fx_provider_ops *ops, const char *const *evs,
     struct fx_response *r)
{
    struct fx_stream st;
    int rc = 0;
    fx_response_init(r);
    memset(&st, 0, sizeof st);
    st.resp = r;
    for (size_t i = 0; evs[i] && rc == 0; i++) {
        const char *name = NULL, *data = evs[i];
        char nm[64];
        const char *bar = strchr(evs[i], '|');
        if (bar && (size_t)(bar - evs[i]) < sizeof nm) {
            memcpy(nm, evs[i], (size_t)(bar - evs[i]));
            nm[bar - evs[i]] = '\0';
            name = nm;
            data = bar + 1;
        }
        rc = ops->parse_event(&st, name, data, strlen(data));
    }
    return rc;
}

static void
test_streams(void)
{
    struct fx_response r;
    static const char *const oa[] = {
        "{\"choices\":[{\"delta\":{\"role\":\"assistant\",\"content\":\"Hi\","
        "\"tool_calls\":[{\"index\":0,\"id\":\"call_a\",\"type\":\"function\","
        "\"function\":{\"name\":\"get_time\",\"arguments\":\"\"}}]}}]}",
        "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":"
        "\"call_b\",\"type\":\"function\",\"function\":{\"name\":\"x\","
        "\"arguments\":\"{\\\"a\\\"\"}}]}}]}",
        "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":"
        "{\"arguments\":\"{\\\"tz\\\":\"}}]}}]}",
        "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":1,\"function\":"
        "{\"arguments\":\":1}\"}}]}}]}",
        "{\"choices\":[{\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":"
        "{\"arguments\":\"\\\"UTC\\\"}\"}}]},\"finish_reason\":"
        "\"tool_calls\"}]}",
        "[DONE]",
        NULL};
    is_int(feed(&fx_provider_openai, oa, &r), 1, "openai stream ends");
    check_calls(&r, "openai stream", 2, "get_time", "{\"tz\":\"UTC\"}");
    is_str(r.text.data, "Hi", "openai stream: text and calls");
    is_str(r.ntool_calls > 1 ? r.tool_calls[1].arguments : NULL, "{\"a\":1}",
           "openai stream: parallel arguments joined by index");
    fx_response_free(&r);

    static const char *const an[] = {
        "message_start|{\"type\":\"message_start\",\"message\":{}}",
        "content_block_start|{\"index\":0,\"content_block\":{\"type\":"
        "\"text\",\"text\":\"\"}}",
        "content_block_delta|{\"index\":0,\"delta\":{\"type\":\"text_delta\","
        "\"text\":\"Hi\"}}",
        "content_block_stop|{\"index\":0}",
        "content_block_start|{\"index\":1,\"content_block\":{\"type\":"
        "\"tool_use\",\"id\":\"toolu_1\",\"name\":\"get_time\",\"input\":{}}}",
        "content_block_delta|{\"index\":1,\"delta\":{\"type\":"
        "\"input_json_delta\",\"partial_json\":\"{\\\"tz\\\":\"}}",
        "content_block_delta|{\"index\":1,\"delta\":{\"type\":"
        "\"input_json_delta\",\"partial_json\":\"\\\"UTC\\\"}\"}}",
        "content_block_stop|{\"index\":1}",
        "content_block_start|{\"index\":2,\"content_block\":{\"type\":"
        "\"tool_use\",\"id\":\"toolu_2\",\"name\":\"nosuch\",\"input\":{}}}",
        "content_block_stop|{\"index\":2}",
        "message_delta|{\"delta\":{\"stop_reason\":\"tool_use\"}}",
        "message_stop|{}",
        NULL};
    is_int(feed(&fx_provider_anthropic, an, &r), 1, "anthropic stream ends");
    check_calls(&r, "anthropic stream", 2, "get_time", "{\"tz\":\"UTC\"}");
    is_str(r.text.data, "Hi", "anthropic stream: text and calls");
    is_str(r.ntool_calls > 1 ? r.tool_calls[1].arguments : NULL, "{}",
           "anthropic stream: a call without input deltas has {}");
    fx_response_free(&r);

    static const char *const rs[] = {
        "{\"type\":\"response.output_item.added\",\"output_index\":0,"
        "\"item\":{\"type\":\"function_call\",\"id\":\"fc_1\",\"call_id\":"
        "\"call_r\",\"name\":\"get_time\",\"arguments\":\"\"}}",
        "{\"type\":\"response.function_call_arguments.delta\",\"item_id\":"
        "\"fc_1\",\"output_index\":0,\"delta\":\"{}\"}",
        "{\"type\":\"response.completed\",\"response\":{\"status\":"
        "\"completed\",\"output\":[{\"type\":\"function_call\",\"id\":"
        "\"fc_1\",\"call_id\":\"call_r\",\"name\":\"get_time\",\"arguments\":"
        "\"{}\"}]}}",
        NULL};
    is_int(feed(&fx_provider_openai_responses, rs, &r), 1,
           "responses stream ends");
    check_calls(&r, "responses stream", 1, "get_time", "{}");
    fx_response_free(&r);

    static const char *const ge[] = {
        "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{"
        "\"text\":\"Hi\"}]}}]}",
        "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{"
        "\"functionCall\":{\"name\":\"get_time\",\"args\":{\"tz\":\"UTC\"}},"
        "\"thoughtSignature\":\"sig\"}]},\"finishReason\":\"STOP\"}]}",
        NULL};
    is_int(feed(&fx_provider_gemini, ge, &r), 0, "gemini stream read");
    check_calls(&r, "gemini stream", 1, "get_time", "{\"tz\":\"UTC\"}");
    is_str(r.text.data, "Hi", "gemini stream: text and calls");
    ok(r.reasoning_state && strstr(r.reasoning_state, "functionCall") &&
           strstr(r.reasoning_state, "sig"),
       "gemini stream: the signed call kept to go back whole");
    fx_response_free(&r);
}

/* A schema answered through a forced tool, and tools: the model must
 * call some tool (ours or the answer tool), and a call to the answer
 * tool is the answer. */
static void
test_schema(void)
{
    flexiai_schema *schema = NULL;
    char *serr = NULL;
    flexiai_schema_load("name, age int", 0, &schema, &serr);
    ok(schema != NULL, "schema loaded");
    g_schema = schema;
    cJSON *b = body_of(&fx_provider_openai, "openai", history, 1);
    is_int(cJSON_GetArraySize(J(b, "tools")), 3,
           "openai: the answer tool and ours");
    is_str(cJSON_GetStringValue(J(b, "tool_choice")), "required",
           "openai: tool_choice required");
    cJSON_Delete(b);
    b = body_of(&fx_provider_openai_responses, "openai", history, 1);
    is_int(cJSON_GetArraySize(J(b, "tools")), 3,
           "responses: the answer tool and ours");
    is_str(cJSON_GetStringValue(J(b, "tool_choice")), "required",
           "responses: tool_choice required");
    cJSON_Delete(b);
    b = body_of(&fx_provider_anthropic, "anthropic", history, 1);
    is_int(cJSON_GetArraySize(J(b, "tools")), 3,
           "anthropic: the answer tool and ours");
    ok(json_is(J(b, "tool_choice"), "{\"type\":\"any\"}"),
       "anthropic: tool_choice any");
    cJSON_Delete(b);
    g_schema = NULL;
    flexiai_schema_free(schema);
    free(serr);

    struct fx_response r;
    struct fx_error e;
    char *an = fxu_asprintf(
        "{\"content\":[{\"type\":\"tool_use\",\"id\":\"t1\",\"name\":"
        "\"%s\",\"input\":{\"name\":\"Ada\",\"age\":36}}],"
        "\"stop_reason\":\"tool_use\"}",
        FX_SCHEMA_TOOL_NAME);
    fx_response_init(&r);
    fx_provider_anthropic.parse_response(an, strlen(an), &r, &e);
    is_str(r.text.data, "{\"name\":\"Ada\",\"age\":36}",
           "the answer tool's input is the answer");
    is_int((long)r.ntool_calls, 0, "and no call to run");
    fx_response_free(&r);
    free(an);
}

int
main(void)
{
    test_schema();
    test_openai();
    test_responses();
    test_anthropic();
    test_gemini();
    test_parse();
    test_streams();
    return tap_done();
}
