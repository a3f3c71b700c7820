/*
 * test-responses.c - the Responses API's answers as provider-responses.c
 * reads them: a Response object (text, refusal, reasoning summary and the
 * reasoning items kept as reasoning_state, usage with cached and reasoning
 * tokens, incomplete and failed statuses) and the typed stream events fed
 * at random split points (the text, the summary apart from it, the
 * terminal event as the end, error events, a stream cut short).
 */
#include "config.h"

#include "fx.h"
#include "providers/providers.h"
#include "tap.h"

#include <cjson/cJSON.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const struct fx_provider_ops *ops = &fx_provider_openai_responses;

static const char full[] =
    "{\"id\":\"resp_1\",\"object\":\"response\",\"status\":\"completed\","
    "\"error\":null,\"incomplete_details\":null,\"model\":\"gpt-6-luna-2026\","
    "\"output\":[{\"id\":\"rs_1\",\"type\":\"reasoning\",\"summary\":["
    "{\"type\":\"summary_text\",\"text\":\"First.\"},"
    "{\"type\":\"summary_text\",\"text\":\"Second.\"}],"
    "\"encrypted_content\":\"gAAA\"},"
    "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\","
    "\"status\":\"completed\",\"content\":[{\"type\":\"output_text\","
    "\"text\":\"Hello \",\"annotations\":[]},{\"type\":\"output_text\","
    "\"text\":\"world\",\"annotations\":[]}]}],"
    "\"usage\":{\"input_tokens\":120,\"input_tokens_details\":"
    "{\"cached_tokens\":100},\"output_tokens\":40,\"output_tokens_details\":"
    "{\"reasoning_tokens\":32},\"total_tokens\":160}}";

static int
parse(const char *body, struct fx_response *r, struct fx_error *e)
{
    fx_response_init(r);
    memset(e, 0, sizeof *e);
    return ops->parse_response(body, strlen(body), r, e);
}

static void
test_response(void)
{
    struct fx_response r;
    struct fx_error e;
    is_int(parse(full, &r, &e), 0, "a completed Response parses");
    is_str(r.text.data, "Hello world", "output_text parts joined");
    is_str(r.reasoning.data, "First.\n\nSecond.",
           "summary parts kept apart from the text");
    is_str(r.finish_reason, "stop", "completed is stop");
    is_str(r.model, "gpt-6-luna-2026", "the model reported");
    is_int(r.prompt_tokens, 120, "input tokens");
    is_int(r.completion_tokens, 40, "output tokens");
    is_int(r.total_tokens, 160, "total tokens");
    is_int(r.cached_tokens, 100, "input_tokens_details.cached_tokens");
    is_int(r.reasoning_tokens, 32, "output_tokens_details.reasoning_tokens");
    cJSON *st = r.reasoning_state ? cJSON_Parse(r.reasoning_state) : NULL;
    is_str(cJSON_GetStringValue(cJSON_GetObjectItem(st, "type")),
           "openai-responses", "reasoning_state tagged with its type");
    const cJSON *item = cJSON_GetArrayItem(cJSON_GetObjectItem(st, "items"), 0);
    is_str(cJSON_GetStringValue(cJSON_GetObjectItem(item, "encrypted_content")),
           "gAAA", "the reasoning item kept whole");
    is_int(cJSON_GetArraySize(cJSON_GetObjectItem(st, "items")), 1,
           "only reasoning items are kept");
    cJSON_Delete(st);
    fx_response_free(&r);

    /* a reasoning item without encrypted content cannot go back */
    is_int(parse("{\"status\":\"completed\",\"output\":[{\"type\":"
                 "\"reasoning\",\"id\":\"rs_2\",\"summary\":[]},{\"type\":"
                 "\"message\",\"content\":[{\"type\":\"output_text\","
                 "\"text\":\"x\"}]}]}",
                 &r, &e),
           0, "reasoning without encrypted content");
    ok(r.reasoning_state == NULL, "... keeps no state");
    fx_response_free(&r);

    is_int(parse("{\"status\":\"incomplete\",\"incomplete_details\":{"
                 "\"reason\":\"max_output_tokens\"},\"output\":[{\"type\":"
                 "\"message\",\"content\":[{\"type\":\"output_text\","
                 "\"text\":\"cut\"}]}]}",
                 &r, &e),
           0, "incomplete is an answer");
    is_str(r.finish_reason, "length", "max_output_tokens is length");
    fx_response_free(&r);
    parse("{\"status\":\"incomplete\",\"incomplete_details\":{\"reason\":"
          "\"content_filter\"},\"output\":[]}",
          &r, &e);
    is_str(r.finish_reason, "content_filter", "content_filter");
    fx_response_free(&r);

    is_int(parse("{\"status\":\"completed\",\"output\":[{\"type\":"
                 "\"message\",\"content\":[{\"type\":\"refusal\","
                 "\"refusal\":\"No.\"}]}]}",
                 &r, &e),
           0, "a refusal");
    is_str(r.text.data, "No.", "... is the text");
    is_str(r.finish_reason, "content_filter", "... finished content_filter");
    fx_response_free(&r);

    is_int(parse("{\"status\":\"completed\",\"output\":[{\"type\":"
                 "\"function_call\",\"name\":\"answer\",\"arguments\":"
                 "\"{\\\"a\\\":1}\"}]}",
                 &r, &e),
           0, "the forced function call");
    is_str(r.text.data, "{\"a\":1}", "... its arguments are the answer");
    fx_response_free(&r);

    is_int(parse("{\"status\":\"failed\",\"error\":{\"code\":\"server_error\","
                 "\"message\":\"boom\"},\"output\":[]}",
                 &r, &e),
           -1, "status failed is an error");
    is_int(e.cls, FLEXIAI_E_SERVER, "... server_error is server");
    ok(strstr(e.msg, "boom") != NULL, "... with its message: %s", e.msg);
    fx_response_free(&r);

    is_int(parse("{\"error\":{\"message\":\"bad\",\"type\":\"x\"}}", &r, &e),
           -1, "an error body with a 200");
    is_int(e.cls, FLEXIAI_E_STREAM_ERROR, "... stream_error");
    fx_response_free(&r);
    is_int(parse("{\"status\":\"completed\"}", &r, &e), -1, "no output");
    fx_response_free(&r);
    is_int(parse("{not json", &r, &e), -1, "malformed");
    fx_response_free(&r);
}

/* ---- streams ------------------------------------------------------------ */

struct feed {
    struct fx_stream st;
    int last_rc;
    fxu_buf seen;
};

static int
on_text(void *ud, const char *text, size_t len)
{
    struct feed *f = ud;
    fxu_buf_append(&f->seen, text, len);
    return 0;
}

static int
on_event(void *ud, const char *event, const char *data, size_t len)
{
    struct feed *f = ud;
    f->last_rc = ops->parse_event(&f->st, event, data, len);
    return f->last_rc;
}

static uint32_t
xorshift(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

static void
run_stream(const char *stream, uint32_t seed, struct fx_response *resp,
           struct feed *f)
{
    struct fx_sse p;
    size_t n = strlen(stream), at = 0;
    int rc = 0;
    fx_response_init(resp);
    memset(f, 0, sizeof *f);
    f->st.resp = resp;
    f->st.on_text = on_text;
    f->st.ud = f;
    fxu_buf_init(&f->seen);
    fx_sse_init(&p);
    while (at < n && rc == 0) {
        size_t piece = 1 + xorshift(&seed) % 40;
        if (piece > n - at)
            piece = n - at;
        rc = fx_sse_feed(&p, stream + at, piece, on_event, f);
        at += piece;
    }
    fx_sse_free(&p);
}

#define EV(type, json)                                                         \
    "event: " type "\ndata: {\"type\":\"" type "\"," json "}\n\n"

static const char stream[] =
    EV("response.created", "\"sequence_number\":0,\"response\":{\"model\":"
                           "\"gpt-6-luna\",\"status\":\"in_progress\","
                           "\"output\":[]}") //
    EV("response.reasoning_summary_part.added",
       "\"sequence_number\":1,\"summary_index\":0") //
    EV("response.reasoning_summary_text.delta",
       "\"sequence_number\":2,\"delta\":\"Think \"") //
    EV("response.reasoning_summary_text.delta",
       "\"sequence_number\":3,\"delta\":\"hard.\"") //
    EV("response.reasoning_summary_part.added",
       "\"sequence_number\":4,\"summary_index\":1") //
    EV("response.reasoning_summary_text.delta",
       "\"sequence_number\":5,\"delta\":\"Then answer.\"") //
    EV("response.output_text.delta",
       "\"sequence_number\":6,\"delta\":\"Hel\"") //
    EV("response.output_text.delta",
       "\"sequence_number\":7,\"delta\":\"lo\"") //
    EV("response.output_text.done", "\"sequence_number\":8,\"text\":\"Hello\"")
        EV("response.completed",
           "\"sequence_number\":9,\"response\":{\"model\":\"gpt-6-luna\","
           "\"status\":\"completed\",\"output\":[{\"type\":\"reasoning\","
           "\"id\":\"rs_1\",\"summary\":[{\"type\":\"summary_text\",\"text\":"
           "\"Think hard.\"},{\"type\":\"summary_text\",\"text\":\"Then "
           "answer.\"}],\"encrypted_content\":\"gAAA\"},{\"type\":"
           "\"message\",\"content\":[{\"type\":\"output_text\",\"text\":"
           "\"Hello\"}]}],\"usage\":{\"input_tokens\":5,"
           "\"input_tokens_details\":{\"cached_tokens\":2},"
           "\"output_tokens\":9,\"output_tokens_details\":{"
           "\"reasoning_tokens\":7},\"total_tokens\":14}}");

static void
test_stream(void)
{
    int all = 1;
    for (uint32_t seed = 1; seed <= 50; seed++) {
        struct fx_response r;
        struct feed f;
        run_stream(stream, seed, &r, &f);
        int good =
            f.last_rc == 1 && f.st.done && f.seen.data &&
            strcmp(f.seen.data, "Hello") == 0 && r.reasoning.data &&
            strcmp(r.reasoning.data, "Think hard.\n\nThen answer.") == 0 &&
            r.text.data && strcmp(r.text.data, "Hello") == 0 &&
            r.cached_tokens == 2 && r.reasoning_tokens == 7 &&
            r.completion_tokens == 9 && r.reasoning_state &&
            strstr(r.reasoning_state, "gAAA") && r.finish_reason &&
            strcmp(r.finish_reason, "stop") == 0;
        if (!good)
            printf("# seed %u: rc %d text '%s' reasoning '%s'\n", seed,
                   f.last_rc, f.seen.data ? f.seen.data : "",
                   r.reasoning.data ? r.reasoning.data : "");
        all &= good;
        fxu_buf_free(&f.seen);
        fx_response_free(&r);
    }
    ok(all, "a stream at 50 random splits: text, summary apart, usage, "
            "state, the terminal event ends it");

    /* cut short: no terminal event, so not done */
    struct fx_response r;
    struct feed f;
    char cut[sizeof stream];
    memcpy(cut, stream, sizeof stream);
    *strstr(cut, "event: response.completed") = '\0';
    run_stream(cut, 7, &r, &f);
    is_int(f.last_rc, 0, "a stream without its terminal event goes on");
    ok(!f.st.done, "... and is not done (the engine calls it broken)");
    fxu_buf_free(&f.seen);
    fx_response_free(&r);

    run_stream("data: [DONE]\n\n", 1, &r, &f);
    is_int(f.last_rc, -1, "[DONE] before the terminal event is an error");
    fxu_buf_free(&f.seen);
    fx_response_free(&r);

    run_stream(EV("error", "\"code\":\"rate_limit_exceeded\",\"message\":"
                           "\"slow down\",\"param\":null"),
               3, &r, &f);
    is_int(f.last_rc, -1, "an error event ends the stream");
    is_int(f.st.err.cls, FLEXIAI_E_RATE_LIMIT, "... classified by its code");
    fxu_buf_free(&f.seen);
    fx_response_free(&r);

    run_stream(EV("response.failed",
                  "\"response\":{\"status\":\"failed\",\"error\":{\"code\":"
                  "\"server_error\",\"message\":\"x\"},\"output\":[]}"),
               5, &r, &f);
    is_int(f.last_rc, -1, "response.failed is an error");
    is_int(f.st.err.cls, FLEXIAI_E_SERVER, "... server");
    fxu_buf_free(&f.seen);
    fx_response_free(&r);

    run_stream(EV("response.incomplete",
                  "\"response\":{\"status\":\"incomplete\","
                  "\"incomplete_details\":{\"reason\":\"max_output_tokens\"},"
                  "\"output\":[]}"),
               9, &r, &f);
    is_int(f.last_rc, 1, "response.incomplete ends the stream");
    is_str(r.finish_reason, "length", "... as length");
    fxu_buf_free(&f.seen);
    fx_response_free(&r);

    run_stream("data: {\"type\":\"response.output_text.delta\",\"delta\":\n\n",
               2, &r, &f);
    is_int(f.last_rc, -1, "malformed JSON in an event");
    fxu_buf_free(&f.seen);
    fx_response_free(&r);
}

int
main(void)
{
    test_response();
    test_stream();
    return tap_done();
}
