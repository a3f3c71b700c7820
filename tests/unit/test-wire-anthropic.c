/*
 * test-wire-anthropic.c - flexiai's Anthropic Messages requests against
 * fixtures written from the official TypeScript SDK's types
 * (@anthropic-ai/sdk 1.14, src/resources/messages/messages.ts:
 * MessageCreateParams, ThinkingConfigParam, OutputConfig,
 * CacheControlEphemeral, ThinkingBlockParam, RedactedThinkingBlockParam;
 * the SDK's client sends anthropic-version 2026-10-21 and Authorization:
 * Bearer), under both API versions; and the answers: thinking blocks and
 * their signatures kept, signature_delta in streams, every stop reason.
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
    struct fx_provider p = wire_provider("anthropic", "claude-haiku-5-5");
    struct fx_params pp = wire_params();
    struct fx_call c;
    char *warning = NULL;

    /* 2026-10-21, the default: the sampling parameter the user set is
     * left out, and said once */
    pp.temperature = 0.2;
    c = wire_call("sk-ant-test", &p, hi, 2, &pp);
    wire_check("anthropic-2026-plain", &c, &warning);
    ok(warning && strstr(warning, "2026-10-21") &&
           strstr(warning, "temperature"),
       "2026: a warning names what was left out (%s)", warning);
    free(warning);

    /* the configured default temperature is no choice of the user's */
    pp.temperature = 0.7;
    c = wire_call("sk-ant-test", &p, hi, 2, &pp);
    wire_check("anthropic-2026-plain", &c, &warning);
    is_str(warning, NULL, "2026: the default temperature left out quietly");
    free(warning);

    /* thinking, adaptive with an effort; streamed */
    pp = wire_params();
    pp.reasoning = FLEXIAI_REASONING_HIGH;
    c = wire_call("sk-ant-test", &p, hi, 2, &pp);
    c.stream = 1;
    wire_check("anthropic-2026-thinking-stream", &c, NULL);

    pp.reasoning = FLEXIAI_REASONING_NONE;
    c = wire_call("sk-ant-test", &p, hi, 2, &pp);
    wire_check("anthropic-2026-thinking-off", &c, NULL);

    /* 2023-06-01: x-api-key, sampling allowed without thinking */
    p.api_version = "2023-06-01";
    pp = wire_params();
    pp.temperature = 0.5;
    pp.top_p = 0.9;
    pp.top_k = 40;
    char *stop[] = {"END", NULL};
    pp.stop = stop;
    c = wire_call("sk-ant-test", &p, hi, 2, &pp);
    wire_check("anthropic-2023-sampling", &c, &warning);
    is_str(warning, NULL, "2023: sampling parameters sent, no warning");
    free(warning);

    /* 2023-06-01 thinking: a budget on top of max_tokens, no sampling */
    pp = wire_params();
    pp.temperature = 0.5;
    pp.max_tokens = 2000;
    pp.reasoning = FLEXIAI_REASONING_MEDIUM;
    c = wire_call("sk-ant-test", &p, hi, 2, &pp);
    wire_check("anthropic-2023-thinking", &c, &warning);
    ok(warning && strstr(warning, "thinking"),
       "2023 thinking: temperature left out, said (%s)", warning);
    free(warning);
}

static void
test_history(void)
{
    struct fx_provider p = wire_provider("anthropic", "claude-haiku-5-5");
    struct fx_params pp = wire_params();
    const char *state =
        "{\"type\":\"anthropic\",\"blocks\":["
        "{\"type\":\"thinking\",\"thinking\":\"Hmm.\",\"signature\":\"EqQB\"},"
        "{\"type\":\"redacted_thinking\",\"data\":\"EmwKAhgB\"}]}";
    flexiai_message m[] = {
        {.role = "system", .content = "Be terse."},
        {.role = "user", .content = "Q1"},
        {.role = "assistant", .content = "A1", .reasoning_state = state},
        {.role = "user", .content = "Q2"},
        /* another type's state is not ours: ignored */
        {.role = "assistant",
         .content = "A2",
         .reasoning_state = "{\"type\":\"gemini\",\"parts\":[]}"},
        {.role = "user", .content = "Q3"},
    };
    p.prompt_cache = 1;
    pp.reasoning = FLEXIAI_REASONING_LOW;
    struct fx_call c = wire_call("sk-ant-test", &p, m, 6, &pp);
    wire_check("anthropic-2026-history-cache", &c, NULL);
}

/* ---- answers ------------------------------------------------------------ */

static int
parse(const char *body, struct fx_response *r, struct fx_error *e)
{
    fx_response_init(r);
    memset(e, 0, sizeof *e);
    return fx_provider_anthropic.parse_response(body, strlen(body), r, e);
}

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

static const char blocks[] =
    "{\"type\":\"anthropic\",\"blocks\":["
    "{\"type\":\"thinking\",\"thinking\":\"Think\",\"signature\":\"sig\"},"
    "{\"type\":\"redacted_thinking\",\"data\":\"R\"}]}";

static void
test_answers(void)
{
    struct fx_response r;
    struct fx_error e;
    is_int(parse("{\"content\":["
                 "{\"type\":\"thinking\",\"thinking\":\"Think\","
                 "\"signature\":\"sig\"},"
                 "{\"type\":\"redacted_thinking\",\"data\":\"R\"},"
                 "{\"type\":\"text\",\"text\":\"Hi\"}],"
                 "\"stop_reason\":\"end_turn\"}",
                 &r, &e),
           0, "answer with thinking: parsed");
    is_str(r.text.data, "Hi", "thinking is no part of the text");
    is_str(r.reasoning.data, "Think", "thinking text is the reasoning");
    ok(same_json(r.reasoning_state, blocks),
       "thinking and redacted blocks kept in order, signatures unchanged");
    fx_response_free(&r);

    is_int(parse("{\"content\":[{\"type\":\"text\",\"text\":\"x\"}],"
                 "\"stop_reason\":\"end_turn\"}",
                 &r, &e),
           0, "no thinking: parsed");
    is_str(r.reasoning_state, NULL, "no thinking: no state");
    fx_response_free(&r);

    static const struct {
        const char *stop;
        int content, rc, cls;
        const char *finish;
    } cases[] = {
        {"end_turn", 1, 0, 0, "stop"},
        {"stop_sequence", 1, 0, 0, "stop"},
        {"max_tokens", 1, 0, 0, "length"},
        {"tool_use", 1, 0, 0, "tool_calls"},
        {"refusal", 1, 0, 0, "content_filter"},
        {"model_context_window_exceeded", 1, 0, 0, "length"},
        {"model_context_window_exceeded", 0, -1, FLEXIAI_E_CONTEXT_LENGTH,
         "length"},
        {"pause_turn", 1, -1, FLEXIAI_E_STREAM_ERROR, "error"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *b = fxu_asprintf(
            "{\"content\":[%s],\"stop_reason\":\"%s\"}",
            cases[i].content ? "{\"type\":\"text\",\"text\":\"x\"}" : "",
            cases[i].stop);
        int rc = parse(b, &r, &e);
        is_int(rc, cases[i].rc, "stop_reason %s%s: rc", cases[i].stop,
               cases[i].content ? "" : " (no text)");
        if (rc < 0)
            is_int(e.cls, cases[i].cls, "stop_reason %s: class %s",
                   cases[i].stop, flexiai_errclass_name(cases[i].cls));
        is_str(r.finish_reason, cases[i].finish, "stop_reason %s: finish",
               cases[i].stop);
        fx_response_free(&r);
        free(b);
    }
}

struct ev {
    const char *name, *data;
};

static int
feed(const struct ev *evs, size_t n, struct fx_response *r,
     struct fx_stream *st)
{
    int rc = 0;
    fx_response_init(r);
    memset(st, 0, sizeof *st);
    st->resp = r;
    for (size_t i = 0; i < n && rc == 0; i++)
        rc = fx_provider_anthropic.parse_event(st, evs[i].name, evs[i].data,
                                               strlen(evs[i].data));
    return rc;
}

static void
test_stream(void)
{
    static const struct ev evs[] = {
        {"message_start", "{\"type\":\"message_start\",\"message\":{"
                          "\"model\":\"claude-haiku-5-5\",\"content\":[]}}"},
        {"content_block_start",
         "{\"type\":\"content_block_start\",\"index\":0,\"content_block\":"
         "{\"type\":\"thinking\",\"thinking\":\"\",\"signature\":\"\"}}"},
        {"content_block_delta",
         "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
         "\"thinking_delta\",\"thinking\":\"Thi\"}}"},
        {"content_block_delta",
         "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
         "\"thinking_delta\",\"thinking\":\"nk\"}}"},
        {"content_block_delta",
         "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
         "\"signature_delta\",\"signature\":\"sig\"}}"},
        {"content_block_stop", "{\"type\":\"content_block_stop\",\"index\":0}"},
        {"content_block_start",
         "{\"type\":\"content_block_start\",\"index\":1,\"content_block\":"
         "{\"type\":\"redacted_thinking\",\"data\":\"R\"}}"},
        {"content_block_stop", "{\"type\":\"content_block_stop\",\"index\":1}"},
        {"content_block_start",
         "{\"type\":\"content_block_start\",\"index\":2,\"content_block\":"
         "{\"type\":\"text\",\"text\":\"\"}}"},
        {"content_block_delta",
         "{\"type\":\"content_block_delta\",\"index\":2,\"delta\":{\"type\":"
         "\"text_delta\",\"text\":\"Hi\"}}"},
        {"content_block_stop", "{\"type\":\"content_block_stop\",\"index\":2}"},
        {"message_delta", "{\"type\":\"message_delta\",\"delta\":"
                          "{\"stop_reason\":\"end_turn\"}}"},
        {"message_stop", "{\"type\":\"message_stop\"}"},
    };
    struct fx_response r;
    struct fx_stream st;
    is_int(feed(evs, sizeof evs / sizeof evs[0], &r, &st), 1,
           "stream with thinking: ends at message_stop");
    is_str(r.text.data, "Hi", "stream: text only from text_delta");
    is_str(r.reasoning.data, "Think", "stream: thinking_delta joined");
    ok(same_json(r.reasoning_state, blocks),
       "stream: blocks kept with the signature_delta's signature");
    fx_response_free(&r);

    static const struct ev paused[] = {
        {"message_start", "{\"type\":\"message_start\",\"message\":{}}"},
        {"message_delta", "{\"type\":\"message_delta\",\"delta\":"
                          "{\"stop_reason\":\"pause_turn\"}}"},
    };
    is_int(feed(paused, 2, &r, &st), -1, "stream: pause_turn fails");
    is_int(st.err.cls, FLEXIAI_E_STREAM_ERROR, "stream: pause_turn class");
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
