#!/usr/bin/env bats
# Reasoning on Anthropic and Gemini end to end: API versions, thinking
# kept across turns (chat, sessions, message files, -C), prompt-cache
# markers and finish reasons, against mockllm (tests/mockllm/README.md).

load helpers

# section NAME TYPE MODEL [extra lines...]: a provider at route /p/NAME
section() {
    local name=$1 type=$2 model=$3
    shift 3
    printf '[provider.%s]\ntype = %s\nmodel = %s\nbase_url = %s/p/%s\napi_key = test-key-%s\n' \
        "$name" "$type" "$model" "$MOCK_URL" "$name" "$name"
    local line
    for line in "$@"; do printf '%s\n' "$line"; done
    printf '\n'
}

setup() {
    setup_env
    start_mockllm
    {
        printf '[failover]\nretries = 0\n\n'
        section an anthropic claude-haiku-5-5 'priority = 1'
        section old anthropic claude-haiku-4-5 'api_version = 2023-06-01'
        section ge gemini gemini-3.5-flash-lite 'priority = 2'
        section g25 gemini gemini-2.5-flash 'api_version = v1'
    } | write_config
}

body() { mock_last_body "$1"; }

@test "Anthropic speaks 2026-10-21 by default: Bearer key, no temperature, one warning" {
    printf '[defaults]\ntemperature = 0.3\n\n' >>"$CONFIG"
    run --separate-stderr flexiai chat -p an <<<"$(printf 'one\ntwo\n')"
    assert_success
    assert_equal "$(mock_log an | jq -r .last_version)" "2026-10-21"
    assert_equal "$(mock_log an | jq -r .last_key_header)" "authorization"
    assert_equal "$(body an | jq -c .temperature)" "null"
    assert_equal "$(mock_log an | jq -r .invalid)" 0
    # two requests, one warning
    assert_equal "$(grep -c 'refuses temperature' <<<"$stderr")" 1
    run --separate-stderr flexiai complete -p old "x"
    assert_success
    assert_equal "$(mock_log old | jq -r .last_version)" "2023-06-01"
    assert_equal "$(mock_log old | jq -r .last_key_header)" "x-api-key"
    assert_equal "$(body old | jq -c .temperature)" "0.3"
    assert_equal "$stderr" ""
}

@test "mockllm refuses temperature under 2026-10-21 as the API does" {
    run curl -s -o /dev/null -w '%{http_code}' -H 'x-api-key: k' \
        -H 'anthropic-version: 2026-10-21' -H 'content-type: application/json' \
        -d '{"model":"m","max_tokens":5,"temperature":0.5,"messages":[{"role":"user","content":"x"}]}' \
        "$MOCK_URL/p/an/v1/messages"
    assert_output 400
    assert_equal "$(mock_log an | jq -r .invalid)" 1
}

@test "reasoning asks each API its own way" {
    printf '[defaults]\nreasoning = high\n\n' >>"$CONFIG"
    for p in an old ge g25; do
        run flexiai complete -p $p "think"
        assert_success
    done
    assert_equal "$(body an | jq -c .thinking)" '{"type":"adaptive","display":"summarized"}'
    assert_equal "$(body an | jq -r .output_config.effort)" high
    assert_equal "$(body old | jq -c .thinking)" '{"type":"enabled","budget_tokens":16384}'
    assert_equal "$(body old | jq -r .max_tokens)" $((1024 + 16384))
    assert_equal "$(body ge | jq -c .generationConfig.thinkingConfig)" '{"includeThoughts":true,"thinkingLevel":"HIGH"}'
    assert_equal "$(body g25 | jq -c .generationConfig.thinkingConfig)" '{"includeThoughts":true,"thinkingBudget":24576}'
    assert_equal "$(mock_log g25 | jq -r .last_path)" "/p/g25/v1/models/gemini-2.5-flash:generateContent"
    assert_equal "$(mock_log ge | jq -r .last_path)" "/p/ge/v1beta/models/gemini-3.5-flash-lite:generateContent"
}

@test "a multi-turn Anthropic chat keeps its thinking blocks, streamed or not" {
    printf '[defaults]\nreasoning = medium\n\n' >>"$CONFIG"
    mock_script an "require_thinking,redacted"
    for mode in --stream --no-stream; do
        mock_reset
        mock_script an "require_thinking,redacted"
        run flexiai chat -p an $mode <<<"$(printf 'first\nsecond\nthird\n')"
        assert_success
        assert_equal "$(mock_log an | jq -r .count)" 3
        assert_equal "$(mock_log an | jq -r .invalid)" 0
        assert_equal "$(body an | jq -r '[.messages[] | select(.role == "assistant") | .content[0].type] | join(",")')" "thinking,thinking"
        assert_equal "$(body an | jq -r '.messages[1].content[1].type')" redacted_thinking
        assert_equal "$(body an | jq -r '.messages[1].content[0].signature')" "$(body an | jq -r '.messages[3].content[0].signature')"
    done
}

@test "without its thinking blocks the next turn is refused (the check can fail)" {
    printf '[defaults]\nreasoning = low\n\n' >>"$CONFIG"
    mock_script an "require_thinking"
    printf '[{"role":"user","content":"q1"},{"role":"assistant","content":"a1"},{"role":"user","content":"q2"}]' >"$TEST_HOME/bare.json"
    run flexiai complete -p an --messages "$TEST_HOME/bare.json"
    assert_failure
    assert_equal "$(mock_log an | jq -r .invalid)" 1
    # a forged signature is refused too
    printf '[{"role":"user","content":"q1"},{"role":"assistant","content":"a1","reasoning_state":"{\\"type\\":\\"anthropic\\",\\"blocks\\":[{\\"type\\":\\"thinking\\",\\"thinking\\":\\"t\\",\\"signature\\":\\"forged\\"}]}"},{"role":"user","content":"q2"}]' >"$TEST_HOME/forged.json"
    run flexiai complete -p an --messages "$TEST_HOME/forged.json"
    assert_failure
    assert_equal "$(mock_log an | jq -r .invalid)" 2
    assert_equal "$(body an | jq -r '.messages[1].content[0].signature')" forged
}

@test "a Gemini chat session keeps its thought signatures" {
    printf '[defaults]\nreasoning = medium\n\n' >>"$CONFIG"
    mock_script ge "require_thinking"
    run flexiai chat -p ge --stream --session s1 <<<"$(printf 'first\nsecond\n')"
    assert_success
    run flexiai chat -p ge --no-stream --session s1 <<<"third"
    assert_success
    assert_equal "$(mock_log ge | jq -r .count)" 3
    assert_equal "$(mock_log ge | jq -r .invalid)" 0
    assert_equal "$(body ge | jq -r '[.contents[] | select(.role == "model") | [.parts[] | select(.thoughtSignature)] | length] | join(",")')" "1,1"
    session=$XDG_DATA_HOME/flexiai/sessions/s1.json
    assert_equal "$(jq -r '.[1].reasoning_state | fromjson | .type' "$session")" gemini
}

@test "message files carry reasoning_state: /save, then --messages" {
    printf '[defaults]\nreasoning = high\n\n' >>"$CONFIG"
    mock_script an "require_thinking"
    run flexiai chat -p an <<<"$(printf 'first\n/save %s\n' "$TEST_HOME/conv.json")"
    assert_success
    assert_equal "$(jq -r '.[1].reasoning_state | fromjson | .blocks[0].type' "$TEST_HOME/conv.json")" thinking
    jq '. + [{"role":"user","content":"next"}]' "$TEST_HOME/conv.json" >"$TEST_HOME/next.json"
    run flexiai complete -p an --messages "$TEST_HOME/next.json"
    assert_success
    assert_output next
    assert_equal "$(mock_log an | jq -r .invalid)" 0
}

@test "-C continues a conversation with its thinking, from the ledger" {
    printf '[defaults]\nreasoning = medium\n\n' >>"$CONFIG"
    mock_script an "require_thinking"
    mock_script ge "require_thinking"
    for p in an ge; do
        run flexiai complete -p $p "one"
        assert_success
        run flexiai complete -p $p -C --stream "two"
        assert_success
        run flexiai complete -p $p -C "three"
        assert_success
        assert_output three
        assert_equal "$(mock_log $p | jq -r .invalid)" 0
    done
    assert_equal "$(body an | jq -r '[.messages[] | select(.role == "assistant") | .content[0].type] | join(",")')" "thinking,thinking"
}

@test "failover mid-conversation: another type's state is left out" {
    printf '[defaults]\nreasoning = medium\n\n' >>"$CONFIG"
    run flexiai chat --session keep <<<"one"
    assert_success
    assert_equal "$(mock_log an | jq -r .count)" 1
    mock_script an "status=500"
    run flexiai chat --session keep <<<"two"
    assert_success
    assert_output --partial two
    assert_equal "$(mock_log ge | jq -r .invalid)" 0
    assert_equal "$(body ge | jq -c '.contents[1].parts')" '[{"text":"one"}]'
}

@test "prompt_cache = yes marks the system prompt and the conversation prefix" {
    printf '[defaults]\nsystem = Be terse.\n\n' >>"$CONFIG"
    run flexiai complete -p an "plain"
    assert_success
    assert_equal "$(body an | jq -r '.system | type')" string
    sed -i 's/^\[provider.an\]$/[provider.an]\nprompt_cache = yes/' "$CONFIG"
    run flexiai chat -p an <<<"$(printf 'one\ntwo\n')"
    assert_success
    assert_equal "$(body an | jq -c '.system[0].cache_control')" '{"type":"ephemeral"}'
    assert_equal "$(body an | jq -c '.messages[-1].content[-1].cache_control')" '{"type":"ephemeral"}'
    assert_equal "$(body an | jq '[.. | objects | select(has("cache_control"))] | length')" 2
    assert_equal "$(mock_log an | jq -r .invalid)" 0
}

@test "stop and finish reasons: cut answers, filters, and failures that fail over" {
    mock_script an "finish=model_context_window_exceeded"
    run flexiai complete -p an --json "x"
    assert_success
    assert_equal "$(jq -r .finish_reason <<<"$output")" length
    mock_script an "finish=refusal"
    run flexiai complete -p an --json "x"
    assert_equal "$(jq -r .finish_reason <<<"$output")" content_filter
    mock_script an "finish=pause_turn"
    run flexiai complete --json "x"
    assert_success
    assert_equal "$(jq -r .provider <<<"$output")" ge
    assert_equal "$(jq -r '.attempts[0].error_class' <<<"$output")" stream_error
    mock_script ge "finish=MALFORMED_FUNCTION_CALL"
    run flexiai complete -p ge --json "x"
    assert_failure
    assert_equal "$(jq -r '.attempts[0].error_class' <<<"$output")" stream_error
    mock_script ge "finish=IMAGE_SAFETY"
    run flexiai complete -p ge --stream --json "x"
    assert_success
    assert_equal "$(jq -r .finish_reason <<<"$output")" content_filter
}

@test "reasoning = none turns thinking off; a model without thinking is said once" {
    printf '[defaults]\nreasoning = none\n\n' >>"$CONFIG"
    run flexiai complete -p an "x"
    assert_success
    assert_equal "$(body an | jq -c .thinking)" '{"type":"disabled"}'
    sed -i 's/gemini-3.5-flash-lite/gemini-2.0-flash/; s/reasoning = none/reasoning = low/' "$CONFIG"
    run --separate-stderr flexiai complete -p ge "x"
    assert_success
    assert_equal "$(body ge | jq -c .generationConfig.thinkingConfig)" null
    assert_equal "$stderr" "flexiai: ge: model gemini-2.0-flash takes no thinking configuration: reasoning not requested"
}

@test "a bad Gemini api_version is one clear line, a configuration error" {
    sed -i 's/api_version = v1$/api_version = v2/' "$CONFIG"
    run --separate-stderr flexiai complete -p g25 "x"
    assert_failure 78
    assert_output ""
    [[ "$stderr" == *"provider.g25.api_version: 'v2' is not v1beta or v1" ]]
    assert_equal "$(grep -c . <<<"$stderr")" 1
    assert_equal "$(mock_log g25 | jq -r .count)" 0
}
