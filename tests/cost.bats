#!/usr/bin/env bats
# cost.bats - usage and cost that match the bill: mockllm reports cached,
# cache-write and reasoning tokens (its usage= script item), flexiai
# prices each token once (price_input, price_cached_input,
# price_cache_write, price_output), and counts every billed attempt: in
# complete --json, batch lines, the ledger (logs, usage, Prometheus).
# Every expected cost below is worked out by hand from the mock's counts.

load helpers

setup() {
    setup_env
    start_mockllm
    {
        printf '[failover]\nretries = 1\nbackoff_base = 0.01\nbackoff_max = 0.05\n\n'
        printf '[breaker]\nfailure_threshold = 1000\n\n'
        provider_section oa openai oa "priority = 1" "price_input = 2" \
            "price_output = 8" "price_cached_input = 0.5"
        provider_section an anthropic an "priority = 2" "price_input = 3" \
            "price_output = 15" "price_cached_input = 0.3" "price_cache_write = 3.75"
        provider_section ge gemini ge "priority = 3" "price_input = 0.1" \
            "price_output = 0.4" "price_cached_input = 0.025"
    } | write_config
    # OpenAI: 1000 in (400 cached), 500 out (300 reasoning):
    # 600 x 2 + 400 x 0.5 + 500 x 8 = 5400 per million
    OA_USAGE='{"prompt_tokens":1000,"completion_tokens":500,"total_tokens":1500,"prompt_tokens_details":{"cached_tokens":400},"completion_tokens_details":{"reasoning_tokens":300}}'
    # Anthropic: 100 in + 800 cache read + 200 cache write, 300 out (120
    # thinking): 100 x 3 + 800 x 0.3 + 200 x 3.75 + 300 x 15 = 5790
    AN_USAGE='{"input_tokens":100,"cache_read_input_tokens":800,"cache_creation_input_tokens":200,"output_tokens":300,"output_tokens_details":{"thinking_tokens":120}}'
    # Gemini: 1000 in (600 cached), 200 out + 300 thoughts:
    # 400 x 0.1 + 600 x 0.025 + 500 x 0.4 = 255
    GE_USAGE='{"promptTokenCount":1000,"candidatesTokenCount":200,"thoughtsTokenCount":300,"cachedContentTokenCount":600,"totalTokenCount":1500}'
}

teardown() { teardown_env; }

# a mockllm script value: percent-encoded
uri() { jq -rn --arg s "$1" '$s | @uri'; }
usage_of() { mock_script "$1" "usage=$(uri "$2")${3:+,$3}"; }

GOOD='{"severity":"low","summary":"disk ok"}'
BAD='{"severity":"low"}'
SPEC='severity, summary: one line'

@test "complete --json: usage parts and cost per provider type, plain and streamed" {
    usage_of oa "$OA_USAGE"
    usage_of an "$AN_USAGE"
    usage_of ge "$GE_USAGE"
    local s
    for s in "" --stream; do
        run --separate-stderr flexiai complete $s --json -p oa "hello" </dev/null
        assert_success
        assert_equal "$(jq -c .usage <<<"$output")" \
            '{"prompt_tokens":1000,"completion_tokens":500,"total_tokens":1500,"cached_tokens":400,"cache_write_tokens":0,"reasoning_tokens":300}'
        assert_equal "$(jq .cost <<<"$output")" 0.0054
        assert_equal "$(jq -c '.attempts[0].usage | [.prompt_tokens, .cached_tokens, .reasoning_tokens]' <<<"$output")" '[1000,400,300]'
        run --separate-stderr flexiai complete $s --json -p an "hello" </dev/null
        assert_success
        # input_tokens excludes the cache: prompt_tokens counts all three
        assert_equal "$(jq -c .usage <<<"$output")" \
            '{"prompt_tokens":1100,"completion_tokens":300,"total_tokens":1400,"cached_tokens":800,"cache_write_tokens":200,"reasoning_tokens":120}'
        assert_equal "$(jq .cost <<<"$output")" 0.00579
        run --separate-stderr flexiai complete $s --json -p ge "hello" </dev/null
        assert_success
        # thoughts bill as output: in completion_tokens, as a part
        assert_equal "$(jq -c .usage <<<"$output")" \
            '{"prompt_tokens":1000,"completion_tokens":500,"total_tokens":1500,"cached_tokens":600,"cache_write_tokens":0,"reasoning_tokens":300}'
        assert_equal "$(jq .cost <<<"$output")" 0.000255
    done
}

@test "no price: cost null; the usage parts are still reported" {
    {
        provider_section oa openai oa
    } | write_config
    usage_of oa "$OA_USAGE"
    run --separate-stderr flexiai complete --json "hello" </dev/null
    assert_success
    assert_equal "$(jq .cost <<<"$output")" null
    assert_equal "$(jq .usage.cached_tokens <<<"$output")" 400
    run flexiai usage --json
    assert_equal "$(jq -c '.[0] | [.cached_tokens, .reasoning_tokens, .cost]' <<<"$output")" '[400,300,null]'
}

@test "batch: every output line carries its usage parts and cost" {
    usage_of oa "$OA_USAGE"
    printf '{"id":1,"prompt":"one"}\n{"id":2,"prompt":"two"}\n' >"$TEST_HOME/in.jsonl"
    run --separate-stderr flexiai batch -q -i "$TEST_HOME/in.jsonl"
    assert_success
    assert_equal "${#lines[@]}" 2
    assert_equal "$(jq -r '"\(.id) \(.cost) \(.usage.cached_tokens) \(.usage.reasoning_tokens)"' <<<"$output" | sort | paste -sd,)" \
        "1 0.0054 400 300,2 0.0054 400 300"
}

@test "schema failed twice on one provider, passed on the next: all three billed and summed" {
    usage_of oa "$OA_USAGE" "reply=$(uri "$BAD")"
    usage_of an "$AN_USAGE" "reply=$(uri "$GOOD")"
    run --separate-stderr flexiai complete --json --schema "$SPEC" "Classify" </dev/null
    assert_success
    assert_equal "$(jq -r '[.attempts[].outcome] | join(",")' <<<"$output")" retry,error,success
    assert_equal "$(mock_count oa)" 2
    # 2 x (1000 + 500) from oa and 1100 + 300 from an
    assert_equal "$(jq -c '.usage | [.prompt_tokens, .completion_tokens, .cached_tokens, .cache_write_tokens, .reasoning_tokens]' <<<"$output")" \
        '[3100,1300,1600,200,720]'
    # 2 x 0.0054 + 0.00579
    assert_equal "$(jq .cost <<<"$output")" 0.01659
    assert_equal "$(jq -c '[.attempts[].usage.prompt_tokens]' <<<"$output")" '[1000,1000,1100]'
    # the ledger counts each provider what it billed
    run flexiai usage --by provider --json
    assert_success
    assert_equal "$(jq -c '.[] | select(.provider == "oa") | [.requests, .answers, .calls, .failed_calls, .prompt_tokens, .completion_tokens, .cached_tokens, .reasoning_tokens, .cost]' <<<"$output")" \
        '[0,0,2,2,2000,1000,800,600,0.0108]'
    assert_equal "$(jq -c '.[] | select(.provider == "an") | [.requests, .answers, .failovers, .calls, .failed_calls, .prompt_tokens, .cache_write_tokens, .cost]' <<<"$output")" \
        '[1,1,1,1,0,1100,200,0.00579]'
    run flexiai usage --json
    assert_equal "$(jq -c '.[0] | [.requests, .prompt_tokens, .completion_tokens, .cost]' <<<"$output")" '[1,3100,1300,0.01659]'
    # the table's columns
    run flexiai usage --by provider
    assert_success
    assert_line --regexp '^PROVIDER +REQUESTS +ANSWERS +FAILOVERS +FAILURES +TOKENS_IN +TOKENS_OUT +CACHED +CACHE_WRITE +REASONING +CALLS +CALLS_FAILED +COST$'
    assert_line --regexp '^oa +0 +0 +0 +0 +2000 +1000 +800 +0 +600 +2 +2 +0\.010800$'
    assert_line --regexp '^an +1 +1 +1 +0 +1100 +300 +800 +200 +120 +1 +0 +0\.005790$'
}

@test "exit 76: usage and cost of every billed attempt, not null" {
    usage_of oa "$OA_USAGE" "reply=$(uri "$BAD")"
    usage_of an "$AN_USAGE" "reply=$(uri "$BAD")"
    {
        provider_section oa openai oa "price_input = 2" "price_output = 8" "price_cached_input = 0.5"
        provider_section an anthropic an "price_input = 3" "price_output = 15" \
            "price_cached_input = 0.3" "price_cache_write = 3.75"
    } | write_config
    run --separate-stderr flexiai complete --json --schema "$SPEC" "Classify" </dev/null
    assert_equal "$status" 76
    assert_equal "$(jq .exit_code <<<"$output")" 76
    # retries default: whatever the attempts were, usage is their sum
    n_oa=$(mock_count oa)
    n_an=$(mock_count an)
    assert_equal "$(jq '.usage.prompt_tokens' <<<"$output")" "$((n_oa * 1000 + n_an * 1100))"
    assert_equal "$(jq '.cost * 1e8 | round' <<<"$output")" "$((n_oa * 540000 + n_an * 579000))"
    # the ledger: a failed request, its tokens under the providers that billed them
    run flexiai usage --by provider --json
    assert_equal "$(jq -c '.[] | select(.provider == null) | [.requests, .failures, .prompt_tokens]' <<<"$output")" '[1,1,0]'
    assert_equal "$(jq -c '.[] | select(.provider == "oa") | [.failed_calls, .prompt_tokens]' <<<"$output")" "[$n_oa,$((n_oa * 1000))]"
    run flexiai logs -n 1 --json
    assert_equal "$(jq '.usage.prompt_tokens' <<<"$output")" "$((n_oa * 1000 + n_an * 1100))"
}

@test "logs show and --json: the parts, per record and per attempt; the ledger's Prometheus series" {
    usage_of an "$AN_USAGE"
    flexiai complete -p an "hello" </dev/null >/dev/null
    run flexiai logs show 1
    assert_success
    assert_line --partial "1100+300 tokens (800 cached, 200 cache write, 120 reasoning)"
    assert_line --regexp '^  attempt 1: an .*1100\+300 tokens \(800 cached, 200 cache write, 120 reasoning\)$'
    run flexiai logs -n 1 --json
    assert_equal "$(jq -c '.usage | [.cached_tokens, .cache_write_tokens, .reasoning_tokens]' <<<"$output")" '[800,200,120]'
    assert_equal "$(jq -c '.attempts[0].usage.cache_write_tokens' <<<"$output")" 200
    local promtool=${PROMTOOL:-}
    [ -n "$promtool" ] && [ "$promtool" != no ] || promtool=$(command -v promtool) ||
        { echo "promtool not found: apt-get install prometheus" >&2; false; }
    run flexiai usage --prometheus
    assert_success
    prom=$output
    run "$promtool" check metrics <<<"$prom"
    assert_success
    grep -q '^flexiai_cached_tokens_total{provider="an",model="anthropic-model"} 800$' <<<"$prom"
    grep -q '^flexiai_cache_write_tokens_total{provider="an",model="anthropic-model"} 200$' <<<"$prom"
    grep -q '^flexiai_reasoning_tokens_total{provider="an",model="anthropic-model"} 120$' <<<"$prom"
    grep -q '^flexiai_cost_total{provider="an",model="anthropic-model"} 0.00579$' <<<"$prom"
}

@test "a spool line of an older flexiai (no usage parts) still imports" {
    mkdir -p "$XDG_DATA_HOME/flexiai"
    printf '%s\n' '{"time":1790000000.5,"mode":"usage","command":"complete","tag":null,"conversation_id":null,"provider":"oa","model":"m-old","finish_reason":"stop","prompt_tokens":10,"completion_tokens":5,"latency_ms":12.000,"exit_code":0,"error":null,"error_class":null,"first_provider":"oa","attempts":[{"provider":"oa","model":"m-old","outcome":"success","error_class":null,"http_status":200,"retry_after":-1.000,"latency_ms":11.000,"message":null,"probe":0,"continuation":0,"text_bytes":3}]}' \
        >"$XDG_DATA_HOME/flexiai/logs.db.spool"
    run flexiai usage --by provider --json
    assert_success
    # 10 x 2 + 5 x 8 per million
    assert_equal "$(jq -c '.[0] | [.provider, .prompt_tokens, .cached_tokens, .calls, .cost]' <<<"$output")" '["oa",10,0,1,6e-05]'
    run flexiai logs -n 1 --json
    assert_equal "$(jq -c '.attempts[0].usage' <<<"$output")" null
}

@test "a provider that failed without billing costs nothing: the cost stays known without its price" {
    {
        printf '[failover]\nretries = 0\n\n'
        provider_section oa openai oa
        provider_section an anthropic an "price_input = 3" "price_output = 15" \
            "price_cached_input = 0.3" "price_cache_write = 3.75"
    } | write_config
    mock_script oa "status=503"
    usage_of an "$AN_USAGE"
    run --separate-stderr flexiai complete --json "hello" </dev/null
    assert_success
    assert_equal "$(jq .cost <<<"$output")" 0.00579
    run flexiai usage --by provider --json
    assert_equal "$(jq -c '.[] | [.provider, .requests, .calls, .failed_calls, .prompt_tokens, .cost]' <<<"$output" | paste -sd' ')" \
        '["an",1,1,0,1100,0.00579] ["oa",0,1,1,0,0]'
    run flexiai usage --json
    assert_equal "$(jq -c '.[0].cost' <<<"$output")" 0.00579
}
