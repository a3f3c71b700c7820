/*
 * test-cost.c - what a request costs, per provider: real-shaped usage
 * objects (PROTOCOLS.md, the providers' API references) parsed by each
 * provider's parse_response (and an Anthropic stream, whose usage comes in
 * two events), the parts put where fx_cost() prices each token once, and
 * the cost checked to the cent-millionth.  Prices come from a
 * configuration through fx_conf_prices(): [price.MODEL] beats the
 * provider's, and price_cached_input / price_cache_write fall back to
 * price_input.
 */
#include "config.h"

#include "conf/conf.h"
#include "cost.h"
#include "fx.h"
#include "http.h"
#include "tap.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* equal to the cent-millionth (1e-8 of the unit) */
#define is_cost(got, want, ...)                                                \
    ok(llround((got)*1e8) == llround((want)*1e8), __VA_ARGS__)

static int
parse(const char *type, const char *body, struct fx_response *r)
{
    struct fx_error e;
    fx_response_init(r);
    memset(&e, 0, sizeof e);
    return fx_provider_ops_find(type)->parse_response(body, strlen(body), r,
                                                      &e);
}

static struct fx_usage
usage_of(const struct fx_response *r)
{
    struct fx_usage u = {r->prompt_tokens, r->completion_tokens,
                         r->cached_tokens, r->cache_write_tokens,
                         r->reasoning_tokens};
    return u;
}

static flexiai_config *
prices_config(void)
{
    flexiai_config *cfg = flexiai_config_new();
    static const char *const v[][3] = {
        {"provider.oa", "price_input", "1.25"},
        {"provider.oa", "price_output", "10"},
        {"provider.oa", "price_cached_input", "0.125"},
        {"provider.an", "price_input", "3"},
        {"provider.an", "price_output", "15"},
        {"provider.an", "price_cached_input", "0.3"},
        {"provider.an", "price_cache_write", "3.75"},
        {"provider.ge", "price_input", "0.1"},
        {"provider.ge", "price_output", "0.4"},
        {"provider.ge", "price_cached_input", "0.025"},
        {"provider.plain", "price_input", "2"},
        {"provider.plain", "price_output", "8"},
        {"price.special-model", "price_input", "5"},
        {"price.special-model", "price_output", "20"},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        if (flexiai_config_set(cfg, v[i][0], v[i][1], v[i][2]) != FLEXIAI_OK)
            printf("# set %s.%s failed\n", v[i][0], v[i][1]);
    return cfg;
}

static double
cost_at(const flexiai_config *cfg, const char *provider, const char *model,
        const struct fx_response *r)
{
    struct fx_prices p;
    if (fx_conf_prices(cfg, provider, model, &p) != 0)
        return -1;
    struct fx_usage u = usage_of(r);
    return fx_cost(&p, &u);
}

static void
test_openai(const flexiai_config *cfg)
{
    /* Chat Completions: cached and cache-write tokens are parts of
     * prompt_tokens, reasoning of completion_tokens */
    const char *body =
        "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"created\":1,"
        "\"model\":\"gpt-6-luna\",\"choices\":[{\"index\":0,\"message\":{"
        "\"role\":\"assistant\",\"content\":\"4\"},\"finish_reason\":"
        "\"stop\"}],\"usage\":{\"prompt_tokens\":2006,\"completion_tokens\":"
        "300,\"total_tokens\":2306,\"prompt_tokens_details\":{"
        "\"cached_tokens\":1920,\"audio_tokens\":0},"
        "\"completion_tokens_details\":{\"reasoning_tokens\":256,"
        "\"audio_tokens\":0,\"accepted_prediction_tokens\":0,"
        "\"rejected_prediction_tokens\":0}}}";
    struct fx_response r;
    is_int(parse("openai", body, &r), 0, "openai: parsed");
    ok(r.has_usage && r.prompt_tokens == 2006 && r.completion_tokens == 300 &&
           r.total_tokens == 2306,
       "openai: prompt, completion, total");
    is_int(r.cached_tokens, 1920, "openai: cached_tokens");
    is_int(r.cache_write_tokens, 0, "openai: no cache writes");
    is_int(r.reasoning_tokens, 256, "openai: reasoning_tokens");
    /* 86 x 1.25 + 1920 x 0.125 + 300 x 10, per million */
    is_cost(cost_at(cfg, "oa", "gpt-6-luna", &r), 0.0033475,
            "openai: cost 0.0033475");
    fx_response_free(&r);

    /* cache_write_tokens too; details null: 0 */
    body = "{\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\","
           "\"content\":\"x\"},\"finish_reason\":\"stop\"}],\"usage\":{"
           "\"prompt_tokens\":1000,\"completion_tokens\":10,\"total_tokens\":"
           "1010,\"prompt_tokens_details\":{\"cached_tokens\":100,"
           "\"cache_write_tokens\":700},\"completion_tokens_details\":null}}";
    is_int(parse("openai", body, &r), 0, "openai: parsed, cache writes");
    ok(r.cached_tokens == 100 && r.cache_write_tokens == 700 &&
           r.reasoning_tokens == 0,
       "openai: cache_write_tokens; null details are 0");
    /* 200 x 1.25 + 100 x 0.125 + 700 x 1.25 (no price_cache_write) +
     * 10 x 10 */
    is_cost(cost_at(cfg, "oa", "m", &r), 0.0012375,
            "openai: cache writes at price_input when unpriced");
    fx_response_free(&r);
}

static void
test_anthropic(const flexiai_config *cfg)
{
    /* input_tokens excludes the cache: prompt_tokens adds both parts */
    const char *body =
        "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\","
        "\"model\":\"claude-haiku-5-5\",\"content\":[{\"type\":\"text\","
        "\"text\":\"4\"}],\"stop_reason\":\"end_turn\",\"stop_sequence\":"
        "null,\"usage\":{\"input_tokens\":50,\"cache_creation_input_tokens\":"
        "2048,\"cache_read_input_tokens\":10000,\"cache_creation\":{"
        "\"ephemeral_5m_input_tokens\":2048,\"ephemeral_1h_input_tokens\":0},"
        "\"output_tokens\":700,\"output_tokens_details\":{\"thinking_tokens\":"
        "512},\"service_tier\":\"standard\"}}";
    struct fx_response r;
    is_int(parse("anthropic", body, &r), 0, "anthropic: parsed");
    is_int(r.prompt_tokens, 12098, "anthropic: prompt = input + cache parts");
    is_int(r.cached_tokens, 10000, "anthropic: cache reads");
    is_int(r.cache_write_tokens, 2048, "anthropic: cache writes");
    is_int(r.completion_tokens, 700, "anthropic: output, thinking included");
    is_int(r.reasoning_tokens, 512, "anthropic: thinking_tokens");
    is_int(r.total_tokens, 12798, "anthropic: total");
    /* 50 x 3 + 10000 x 0.3 + 2048 x 3.75 + 700 x 15, per million */
    is_cost(cost_at(cfg, "an", "claude-haiku-5-5", &r), 0.02133,
            "anthropic: each token priced once: 0.02133");
    fx_response_free(&r);

    /* nulls, as the API sends without caching */
    body = "{\"type\":\"message\",\"role\":\"assistant\",\"model\":\"c\","
           "\"content\":[{\"type\":\"text\",\"text\":\"x\"}],\"stop_reason\":"
           "\"end_turn\",\"usage\":{\"input_tokens\":20,"
           "\"cache_creation_input_tokens\":null,\"cache_read_input_tokens\":"
           "null,\"output_tokens\":5,\"output_tokens_details\":null}}";
    is_int(parse("anthropic", body, &r), 0, "anthropic: parsed, nulls");
    ok(r.prompt_tokens == 20 && r.cached_tokens == 0 &&
           r.cache_write_tokens == 0 && r.reasoning_tokens == 0,
       "anthropic: null parts are 0");
    is_cost(cost_at(cfg, "an", "c", &r), 0.000135, "anthropic: 0.000135");
    fx_response_free(&r);
}

static int
on_text(void *ud, const char *text, size_t len)
{
    (void)ud, (void)text, (void)len;
    return 0;
}

static int
on_event(void *ud, const char *event, const char *data, size_t len)
{
    struct fx_stream *st = ud;
    return fx_provider_ops_find("anthropic")->parse_event(st, event, data, len);
}

static void
test_anthropic_stream(const flexiai_config *cfg)
{
    /* message_start has the input side, message_delta the output (and
     * may repeat the input side, or leave it out) */
    const char *stream =
        "event: message_start\ndata: {\"type\":\"message_start\",\"message\":"
        "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\","
        "\"model\":\"claude-haiku-5-5\",\"content\":[],\"stop_reason\":null,"
        "\"usage\":{\"input_tokens\":50,\"cache_creation_input_tokens\":2048,"
        "\"cache_read_input_tokens\":10000,\"output_tokens\":1}}}\n\n"
        "event: content_block_start\ndata: {\"type\":\"content_block_start\","
        "\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n"
        "event: content_block_delta\ndata: {\"type\":\"content_block_delta\","
        "\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"4\"}}\n\n"
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\","
        "\"index\":0}\n\n"
        "event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{"
        "\"stop_reason\":\"end_turn\",\"stop_sequence\":null},\"usage\":{"
        "\"output_tokens\":700,\"output_tokens_details\":{"
        "\"thinking_tokens\":512}}}\n\n"
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";
    struct fx_response r;
    struct fx_stream st;
    struct fx_sse p;
    fx_response_init(&r);
    memset(&st, 0, sizeof st);
    st.resp = &r;
    st.on_text = on_text;
    fx_sse_init(&p);
    int rc = fx_sse_feed(&p, stream, strlen(stream), on_event, &st);
    fx_sse_free(&p);
    is_int(rc, 1, "anthropic stream: parsed to message_stop");
    ok(r.prompt_tokens == 12098 && r.cached_tokens == 10000 &&
           r.cache_write_tokens == 2048 && r.completion_tokens == 700 &&
           r.reasoning_tokens == 512,
       "anthropic stream: the start's input side kept by the delta");
    is_cost(cost_at(cfg, "an", "claude-haiku-5-5", &r), 0.02133,
            "anthropic stream: the same cost as the message");
    fx_response_free(&r);
}

static void
test_gemini(const flexiai_config *cfg)
{
    /* thoughts are not in candidatesTokenCount; they bill as output */
    const char *body =
        "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{"
        "\"text\":\"4\"}]},\"finishReason\":\"STOP\",\"index\":0}],"
        "\"usageMetadata\":{\"promptTokenCount\":4000,\"candidatesTokenCount\":"
        "120,\"cachedContentTokenCount\":3000,\"thoughtsTokenCount\":880,"
        "\"totalTokenCount\":5000,\"promptTokensDetails\":[{\"modality\":"
        "\"TEXT\",\"tokenCount\":4000}]},\"modelVersion\":"
        "\"gemini-3.5-flash-lite\"}";
    for (int v = 0; v < 2; v++) {
        const char *type = v ? "vertex" : "gemini";
        struct fx_response r;
        is_int(parse(type, body, &r), 0, "%s: parsed", type);
        ok(r.prompt_tokens == 4000 && r.cached_tokens == 3000 &&
               r.cache_write_tokens == 0,
           "%s: cached content is part of the prompt", type);
        ok(r.completion_tokens == 1000 && r.reasoning_tokens == 880 &&
               r.total_tokens == 5000,
           "%s: completion = candidates + thoughts", type);
        /* 1000 x 0.1 + 3000 x 0.025 + 1000 x 0.4, per million */
        is_cost(cost_at(cfg, "ge", "gemini-3.5-flash-lite", &r), 0.000575,
                "%s: cost 0.000575", type);
        fx_response_free(&r);
    }
    /* a tool-use prompt is input too (the total counts it) */
    body = "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":[{"
           "\"text\":\"4\"}]},\"finishReason\":\"STOP\"}],\"usageMetadata\":{"
           "\"promptTokenCount\":100,\"candidatesTokenCount\":10,"
           "\"toolUsePromptTokenCount\":40,\"totalTokenCount\":150}}";
    struct fx_response r;
    is_int(parse("gemini", body, &r), 0, "gemini: parsed, tool-use prompt");
    ok(r.prompt_tokens == 140 && r.completion_tokens == 10 &&
           r.total_tokens == 150,
       "gemini: the tool-use prompt is part of prompt_tokens");
    /* 140 x 0.1 + 10 x 0.4 */
    is_cost(cost_at(cfg, "ge", "m", &r), 0.000018, "gemini: cost 0.000018");
    fx_response_free(&r);
}

static void
test_prices(const flexiai_config *cfg)
{
    struct fx_prices p;
    is_int(fx_conf_prices(cfg, "plain", "m", &p), 0, "provider prices");
    ok(p.input == 2 && p.output == 8 && p.cached_input == 2 &&
           p.cache_write == 2,
       "unset cache prices are price_input");
    is_int(fx_conf_prices(cfg, "plain", "special-model", &p), 0,
           "model prices");
    ok(p.input == 5 && p.output == 20, "[price.MODEL] beats the provider's");
    is_int(fx_conf_prices(cfg, "nobody", "m", &p), -1, "no price: unknown");
    struct fx_prices q = {1, 1, 1, 1};
    struct fx_usage odd = {10, 5, 8, 7, 0}; /* parts beyond the prompt */
    is_cost(fx_cost(&q, &odd), 0.00002, "uncached input never below 0");
}

int
main(void)
{
    flexiai_config *cfg = prices_config();
    test_openai(cfg);
    test_anthropic(cfg);
    test_anthropic_stream(cfg);
    test_gemini(cfg);
    test_prices(cfg);
    flexiai_config_free(cfg);
    return tap_done();
}
