/*
 * test-wire-gemini.c - flexiai's generateContent requests (Gemini and
 * Vertex AI) against fixtures written from Google's js-genai 2.18 types
 * (src/types.ts: GenerateContentParameters, Content, Part {text, thought,
 * thoughtSignature}, GenerationConfig, ThinkingConfig {includeThoughts,
 * thinkingBudget, thinkingLevel}; src/converters/_models_converters.ts for
 * the wire names), api_version v1beta and v1; and the answers: thought
 * parts as reasoning, thought signatures kept, every finishReason.
 */
#include "config.h"

#include "wire-harness.h"

static flexiai_message hi[] = {
    {.role = "system", .content = "Be terse."},
    {.role = "user", .content = "Hi"},
};

static void
test_requests(void)
{
    struct fx_provider p = wire_provider("gemini", "gemini-3.5-flash-lite");
    struct fx_params pp = wire_params();
    struct fx_call c;
    char *warning = NULL;

    pp.reasoning = FLEXIAI_REASONING_HIGH;
    c = wire_call("AIza-test", &p, hi, 2, &pp);
    wire_check("gemini-3-thinking-level", &c, NULL);

    /* Gemini 2.5: a budget; API version v1; streamed */
    p.model = "gemini-2.5-flash";
    p.api_version = "v1";
    pp.reasoning = FLEXIAI_REASONING_LOW;
    pp.max_tokens = 500;
    c = wire_call("AIza-test", &p, hi, 2, &pp);
    c.stream = 1;
    wire_check("gemini-25-budget-v1-stream", &c, NULL);

    /* an unknown api_version is refused, naming the ones there are */
    struct fx_http_req req;
    char *err = NULL;
    p.api_version = "v2";
    memset(&req, 0, sizeof req);
    is_int(p.ops->build_request(&c, &req, &err), -1, "api_version v2 refused");
    ok(err && strstr(err, "v1beta") && strstr(err, "v1"),
       "api_version: the message names v1beta and v1 (%s)", err);
    free(err);
    fx_http_req_free(&req);

    /* a model without thinking configuration: nothing sent, said */
    p.api_version = NULL;
    p.model = "gemini-2.0-flash";
    pp = wire_params();
    pp.reasoning = FLEXIAI_REASONING_MEDIUM;
    c = wire_call("AIza-test", &p, hi, 2, &pp);
    wire_check("gemini-20-no-thinking", &c, &warning);
    ok(warning && strstr(warning, "gemini-2.0-flash"),
       "gemini-2.0-flash: reasoning not requested, said (%s)", warning);
    free(warning);

    /* Vertex AI shares the body: 2.5 Pro cannot turn thinking off */
    struct fx_provider v = wire_provider("vertex", "gemini-2.5-pro");
    v.project = "proj";
    v.location = "us-central1";
    pp = wire_params();
    pp.reasoning = FLEXIAI_REASONING_NONE;
    c = wire_call("AIza-test", &v, hi, 2, &pp);
    c.key = "ya29.token";
    wire_check("vertex-25-pro-none", &c, NULL);
}

static void
test_history(void)
{
    struct fx_provider p = wire_provider("gemini", "gemini-3.5-flash-lite");
    struct fx_params pp = wire_params();
    const char *state = "{\"type\":\"gemini\",\"parts\":["
                        "{\"text\":\"A1\",\"thoughtSignature\":\"c2lnMQ==\"},"
                        "{\"text\":\"\",\"thoughtSignature\":\"c2lnMg==\"}]}";
    flexiai_message m[] = {
        {.role = "user", .content = "Q1"},
        {.role = "assistant", .content = "A1", .reasoning_state = state},
        {.role = "user", .content = "Q2"},
        {.role = "assistant",
         .content = "A2",
         .reasoning_state =
             "{\"type\":\"anthropic\",\"blocks\":[{\"type\":\"thinking\"}]}"},
        {.role = "user", .content = "Q3"},
    };
    pp.reasoning = FLEXIAI_REASONING_MEDIUM;
    struct fx_call c = wire_call("AIza-test", &p, m, 5, &pp);
    wire_check("gemini-history-signatures", &c, NULL);

    /* the turn's text was edited: the signatures no longer sign it */
    m[1].content = "A1, edited";
    struct fx_http_req req;
    char *err = NULL;
    memset(&req, 0, sizeof req);
    p.ops->build_request(&c, &req, &err);
    cJSON *b = req.body ? cJSON_Parse(req.body) : NULL;
    const cJSON *parts = cJSON_GetObjectItem(
        cJSON_GetArrayItem(cJSON_GetObjectItem(b, "contents"), 1), "parts");
    is_int(cJSON_GetArraySize(parts), 1, "edited turn: its text alone");
    ok(cJSON_GetObjectItem(cJSON_GetArrayItem(parts, 0), "thoughtSignature") ==
           NULL,
       "edited turn: no signature sent for other text");
    cJSON_Delete(b);
    free(err);
    fx_http_req_free(&req);
}

/* ---- answers ------------------------------------------------------------ */

static int
same_json(const char *got, const char *want)
{
    cJSON *a = got ? cJSON_Parse(got) : NULL, *b = cJSON_Parse(want);
    int eq = a && b && cJSON_Compare(a, b, 1);
    if (!eq)
        printf("#   got:  %s\n#   want: %s\n", got ? got : "(null)", want);
    cJSON_Delete(a);
    cJSON_Delete(b);
    return eq;
}

static int
parse(const char *body, struct fx_response *r, struct fx_error *e)
{
    fx_response_init(r);
    memset(e, 0, sizeof *e);
    return fx_provider_gemini.parse_response(body, strlen(body), r, e);
}

static void
test_answers(void)
{
    struct fx_response r;
    struct fx_error e;
    is_int(parse("{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":["
                 "{\"text\":\"Plan.\",\"thought\":true},"
                 "{\"text\":\"Hello\",\"thoughtSignature\":\"U0lH\"}]},"
                 "\"finishReason\":\"STOP\"}]}",
                 &r, &e),
           0, "answer with a thought: parsed");
    is_str(r.text.data, "Hello", "the thought is no part of the text");
    is_str(r.reasoning.data, "Plan.", "the thought is the reasoning");
    ok(same_json(r.reasoning_state,
                 "{\"type\":\"gemini\",\"parts\":[{\"text\":\"Hello\","
                 "\"thoughtSignature\":\"U0lH\"}]}"),
       "the signed part kept as it came");
    fx_response_free(&r);

    static const struct {
        const char *reason, *finish;
        int rc;
    } cases[] = {
        {"STOP", "stop", 0},
        {"MAX_TOKENS", "length", 0},
        {"FINISH_REASON_UNSPECIFIED", "stop", 0},
        {"OTHER", "stop", 0},
        {"SAFETY", "content_filter", 0},
        {"RECITATION", "content_filter", 0},
        {"LANGUAGE", "content_filter", 0},
        {"BLOCKLIST", "content_filter", 0},
        {"PROHIBITED_CONTENT", "content_filter", 0},
        {"SPII", "content_filter", 0},
        {"IMAGE_SAFETY", "content_filter", 0},
        {"IMAGE_PROHIBITED_CONTENT", "content_filter", 0},
        {"IMAGE_RECITATION", "content_filter", 0},
        {"MALFORMED_FUNCTION_CALL", "error", -1},
        {"MALFORMED_RESPONSE", "error", -1},
        {"UNEXPECTED_TOOL_CALL", "error", -1},
        {"TOO_MANY_TOOL_CALLS", "error", -1},
        {"NO_IMAGE", "error", -1},
        {"IMAGE_OTHER", "error", -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *b = fxu_asprintf("{\"candidates\":[{\"content\":{\"parts\":[{"
                               "\"text\":\"x\"}]},\"finishReason\":\"%s\"}]}",
                               cases[i].reason);
        is_int(parse(b, &r, &e), cases[i].rc, "finishReason %s: rc",
               cases[i].reason);
        is_str(r.finish_reason, cases[i].finish, "finishReason %s: %s",
               cases[i].reason, cases[i].finish);
        if (cases[i].rc < 0)
            is_int(e.cls, FLEXIAI_E_STREAM_ERROR,
                   "finishReason %s: stream_error (the next try may do "
                   "better)",
                   cases[i].reason);
        fx_response_free(&r);
        free(b);
    }
}

static void
test_stream(void)
{
    static const char *const chunks[] = {
        "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"Plan\","
        "\"thought\":true}]}}]}",
        "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"He\"}]}}]}",
        "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"llo\"}]}}]}",
        "{\"candidates\":[{\"content\":{\"parts\":[{\"text\":\"\","
        "\"thoughtSignature\":\"U0lH\"}]},\"finishReason\":\"STOP\"}]}",
    };
    struct fx_response r;
    struct fx_stream st;
    int rc = 0;
    fx_response_init(&r);
    memset(&st, 0, sizeof st);
    st.resp = &r;
    for (size_t i = 0; i < 4 && rc == 0; i++)
        rc = fx_provider_gemini.parse_event(&st, "", chunks[i],
                                            strlen(chunks[i]));
    is_int(rc, 0, "stream with thoughts: parsed");
    is_str(r.text.data, "Hello", "stream: text pieces joined");
    is_str(r.reasoning.data, "Plan", "stream: thought as reasoning");
    ok(same_json(r.reasoning_state,
                 "{\"type\":\"gemini\",\"parts\":[{\"text\":\"Hello\"},"
                 "{\"text\":\"\",\"thoughtSignature\":\"U0lH\"}]}"),
       "stream: unsigned text joined, the signature on its own part");
    is_str(r.finish_reason, "stop", "stream: finish");
    fx_response_free(&r);

    static const char bad[] = "{\"candidates\":[{\"content\":{\"parts\":[]},"
                              "\"finishReason\":\"MALFORMED_FUNCTION_CALL\"}]}";
    fx_response_init(&r);
    memset(&st, 0, sizeof st);
    st.resp = &r;
    is_int(fx_provider_gemini.parse_event(&st, "", bad, strlen(bad)), -1,
           "stream: MALFORMED_FUNCTION_CALL fails the attempt");
    is_int(st.err.cls, FLEXIAI_E_STREAM_ERROR, "stream: its class");
    fx_response_free(&r);
}

int
main(void)
{
    test_requests();
    test_history();
    test_answers();
    test_stream();
    return tap_done();
}
