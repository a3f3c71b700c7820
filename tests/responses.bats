#!/usr/bin/env bats
# OpenAI's Responses API (an openai provider with api = responses) against
# mockllm's Responses route, end to end: plain and streamed text, schemas,
# reasoning and its summary, reasoning items carried between turns,
# errors, and failover from a broken Responses stream to another type.

load helpers

setup() {
    setup_env
    start_mockllm
    write_base
}

# resp: an openai provider in Responses mode playing a reasoning model;
# claude: an Anthropic provider behind it.
write_base() { # extra lines for [provider.resp]
    {
        printf '[failover]\nretries = 0\nbackoff_base = 0.01\n\n'
        provider_section resp openai r1 "priority = 1" "api = responses" "$@"
        provider_section claude anthropic a1 "priority = 2"
    } | write_config
    sed -i 's/^model = openai-model$/model = gpt-6-luna/' "$CONFIG"
}

body() { mock_last_body "$1"; }

teardown() {
    [ -n "${TMUX_SOCKET:-}" ] && tmux -L "$TMUX_SOCKET" kill-server 2>/dev/null
    teardown_env
}

# wait_screen REGEX: until a line of the tmux pane matches (10 s)
wait_screen() {
    local i
    for ((i = 0; i < 1000; i++)); do
        tmux -L "$TMUX_SOCKET" capture-pane -p -J -t chat | grep -Eq -- "$1" && return 0
        sleep 0.01
    done
    echo "the screen never showed /$1/:" >&2
    tmux -L "$TMUX_SOCKET" capture-pane -p -J -t chat >&2
    return 1
}

@test "plain: the input and instructions go to /responses, the answer to stdout" {
    run --separate-stderr flexiai complete --no-stream -s "Be terse." --max-tokens 50 "hello there"
    assert_success
    assert_output "hello there"
    assert_equal "$stderr" ""
    assert_equal "$(mock_log r1 | jq -r .last_path)" "/p/r1/v1/responses"
    assert_equal "$(body r1 | jq -r .instructions)" "Be terse."
    assert_equal "$(body r1 | jq -c .input)" '[{"role":"user","content":"hello there"}]'
    assert_equal "$(body r1 | jq -r .max_output_tokens)" "50"
    assert_equal "$(body r1 | jq -r .store)" "false"
    assert_equal "$(body r1 | jq -r 'has("messages")')" "false"
    assert_equal "$(mock_log r1 | jq -r .invalid)" "0"
    assert_equal "$(mock_count a1)" "0"
}

@test "stream: the text deltas reach stdout, the terminal event ends the stream" {
    run --separate-stderr flexiai complete --stream "one two three"
    assert_success
    assert_output "one two three"
    assert_equal "$(mock_log r1 | jq -r .streamed)" "1"
    assert_equal "$(body r1 | jq -r .stream)" "true"
    assert_equal "$(mock_count a1)" "0"
}

@test "schema: text.format json_schema, strict, and the answer checked here" {
    mock_script r1 'reply={"name":"Ada"%2C"age":36}'
    run --separate-stderr flexiai complete --schema 'name, age int' "who"
    assert_success
    assert_output '{"name":"Ada","age":36}'
    assert_equal "$(body r1 | jq -r .text.format.type)" "json_schema"
    assert_equal "$(body r1 | jq -r .text.format.strict)" "true"
    assert_equal "$(body r1 | jq -r .text.format.schema.required[0])" "name"
    assert_equal "$(mock_log r1 | jq -r .invalid)" "0"
    # an answer that breaks the schema is invalid_output and fails over
    mock_script r1 'reply=not json'
    run --separate-stderr flexiai complete --json --schema 'name, age int' "who"
    assert_equal "$(jq -r '.attempts[0].error_class' <<<"$output")" "invalid_output"
}

@test "--reasoning: reasoning.effort and encrypted items asked for; no summary unless shown" {
    run --separate-stderr flexiai complete --no-stream --reasoning high "think"
    assert_success
    assert_output "think"
    assert_equal "$stderr" ""
    assert_equal "$(body r1 | jq -r .reasoning.effort)" "high"
    assert_equal "$(body r1 | jq -r '.reasoning | has("summary")')" "false"
    assert_equal "$(body r1 | jq -c .include)" '["reasoning.encrypted_content"]'
    run flexiai complete --reasoning extreme "think"
    assert_failure 64
    assert_output --partial "--reasoning must be none, low, medium or high"
}

@test "--show-reasoning: the summary on stderr only, the answer alone on stdout" {
    for mode in --stream --no-stream; do
        run --separate-stderr flexiai complete $mode --show-reasoning --reasoning low "why not"
        assert_success
        assert_output "why not"
        assert_equal "$stderr" "The user wrote: why not"
        assert_equal "$(body r1 | jq -r .reasoning.summary)" "auto"
    done
}

@test "--json: reasoning, usage with its parts, the provider" {
    run --separate-stderr flexiai complete --json --show-reasoning --reasoning medium "a b c"
    assert_success
    assert_equal "$(jq -r .text <<<"$output")" "a b c"
    assert_equal "$(jq -r .reasoning <<<"$output")" "The user wrote: a b c"
    assert_equal "$(jq -r .provider <<<"$output")" "resp"
    # the mock: 3 input words; output = 3 answer words + 6 reasoning words
    assert_equal "$(jq -r .usage.prompt_tokens <<<"$output")" "3"
    assert_equal "$(jq -r .usage.completion_tokens <<<"$output")" "9"
    assert_equal "$(jq -r .finish_reason <<<"$output")" "stop"
    assert_equal "$stderr" "The user wrote: a b c"
    run --separate-stderr flexiai complete --json "plain"
    assert_equal "$(jq -r .reasoning <<<"$output")" "null"
}

@test "a reasoning model: temperature the user set is not sent, said once" {
    run --separate-stderr flexiai complete --no-stream -t 0.3 --reasoning low "hot"
    assert_success
    assert_output "hot"
    assert_equal "$(body r1 | jq -r 'has("temperature")')" "false"
    assert_equal "$stderr" "flexiai: resp: temperature not sent to gpt-6-luna (a reasoning model refuses them)"
    # the default temperature is no reason to warn
    run --separate-stderr flexiai complete --no-stream --reasoning low "cold"
    assert_success
    assert_equal "$stderr" ""
    # reasoning none: sampling goes out again
    run --separate-stderr flexiai complete --no-stream -t 0.3 --reasoning none "tepid"
    assert_success
    assert_equal "$(body r1 | jq -r .temperature)" "0.3"
    assert_equal "$(body r1 | jq -r .reasoning.effort)" "none"
    assert_equal "$stderr" ""
    # the Responses API has no stop sequences
    run --separate-stderr flexiai complete --no-stream --stop END "halt"
    assert_success
    assert_output "halt"
    assert_equal "$(body r1 | jq -r 'has("stop")')" "false"
    assert_equal "$stderr" "flexiai: resp: stop not sent to gpt-6-luna (the Responses API has no stop sequences)"
}

@test "batch: one warning for many items; a line's own reasoning" {
    printf '%s\n' '{"id":1,"prompt":"a","reasoning":"low"}' '{"id":2,"prompt":"b","reasoning":"high"}' \
        '{"id":3,"prompt":"c","reasoning":"loud"}' >"$TEST_HOME/in.jsonl"
    run --separate-stderr flexiai batch --no-log -j 1 -t 0.5 -i "$TEST_HOME/in.jsonl"
    assert_failure 65
    assert_equal "$(jq -r 'select(.id==1) | .text' <<<"$output")" "a"
    assert_equal "$(jq -r 'select(.id==3) | .error' <<<"$output")" "line 3: reasoning must be none, low, medium or high"
    assert_equal "$(body r1 | jq -r .reasoning.effort)" "high"
    assert_equal "$(grep -c 'temperature not sent' <<<"$stderr")" "1"
}

@test "multi-turn: the encrypted reasoning items of a turn go back with it" {
    printf 'first question\nsecond one\n' | flexiai chat --reasoning high --session s1 >"$TEST_HOME/out" 2>"$TEST_HOME/err"
    # the second request carried the first answer's reasoning item before it
    assert_equal "$(body r1 | jq -c '[.input[] | .type // .role]')" '["user","reasoning","assistant","user"]'
    assert_equal "$(body r1 | jq -r '.input[1].encrypted_content')" "mockenc:1"
    assert_equal "$(mock_log r1 | jq -r .invalid)" "0"
    # a conversation file keeps the state: complete --messages sends it back
    session=$XDG_DATA_HOME/flexiai/sessions/s1.json
    assert_equal "$(jq -r '.[3].reasoning_state | fromjson | .type' "$session")" "openai-responses"
    run --separate-stderr flexiai complete --no-stream --reasoning high --messages "$session" "third"
    assert_success
    assert_equal "$(body r1 | jq -c '[.input[] | .type // .role]')" '["user","reasoning","assistant","user","reasoning","assistant","user"]'
    assert_equal "$(body r1 | jq -r '.input[4].encrypted_content')" "mockenc:2"
    assert_equal "$(mock_log r1 | jq -r .invalid)" "0"
    # another type ignores the state
    run --separate-stderr flexiai complete --no-stream -p claude --messages "$session" "fourth"
    assert_success
    assert_equal "$(mock_log a1 | jq -r .invalid)" "0"
    assert_equal "$(mock_last_body a1 | jq -r '.messages | length')" "5"
}

@test "chat: reasoning on stderr with --show-reasoning, and /reasoning" {
    printf 'why\n/reasoning\n' | flexiai chat --reasoning low --show-reasoning >"$TEST_HOME/out" 2>"$TEST_HOME/err"
    assert_equal "$(cat "$TEST_HOME/out")" "why"
    assert_equal "$(grep -c 'The user wrote: why' "$TEST_HOME/err")" "2"
    assert_equal "$(body r1 | jq -r .reasoning.summary)" "auto"
}

@test "broken mid stream: the next provider (Anthropic) continues the answer" {
    mock_script r1 "truncate_after=2"
    run --separate-stderr flexiai complete --stream "one two three four"
    assert_success
    assert_equal "$(mock_count r1)" "1"
    assert_equal "$(mock_count a1)" "1"
    assert_output --partial "one two "
    assert_equal "$stderr" "flexiai: resp broke off after 8 bytes (stream_error); claude continued the answer"
    # an error event in the stream breaks it too
    mock_reset
    mock_script r1 "error_event_after=1"
    run --separate-stderr flexiai complete --json --stream "alpha beta gamma"
    assert_success
    assert_equal "$(jq -r '.attempts[0].error_class' <<<"$output")" "server"
    assert_equal "$(jq -r '.attempts[1].continuation' <<<"$output")" "true"
    assert_equal "$(jq -r .provider <<<"$output")" "claude"
}

@test "errors: classes from status and body, response.failed, incomplete" {
    mock_script r1 "status=400"
    run --separate-stderr flexiai complete -p resp --no-stream "x"
    assert_failure 65
    mock_script r1 "status=401"
    run --separate-stderr flexiai complete -p resp --no-stream "x"
    assert_failure 77
    mock_script r1 "status=429,error_type=insufficient_quota"
    run --separate-stderr flexiai complete -p resp --json --no-stream "x"
    assert_failure
    assert_equal "$(jq -r '.attempts[0].error_class' <<<"$output")" "quota"
    flexiai breaker reset --all
    mock_script r1 "finish=failed"
    for mode in --stream --no-stream; do
        run --separate-stderr flexiai complete -p resp --json $mode "x"
        assert_failure
        assert_equal "$(jq -r '.attempts[0].error_class' <<<"$output")" "server"
        assert_output --partial "The model failed (mock)"
    done
    mock_script r1 "finish=max_output_tokens"
    for mode in --stream --no-stream; do
        run --separate-stderr flexiai complete -p resp --json $mode "cut short"
        assert_success
        assert_equal "$(jq -r .finish_reason <<<"$output")" "length"
    done
}

@test "configuration: api = responses only on an openai provider" {
    {
        provider_section claude anthropic a1 "api = responses"
    } | write_config
    run flexiai complete "x"
    assert_failure 78
    assert_output --partial "[provider.claude] api = responses needs type = openai"
    {
        provider_section r openai r1 "api = replies"
    } | write_config
    run flexiai complete "x"
    assert_failure 78
}

@test "Chat Completions: reasoning_effort, max_completion_tokens, sampling left out" {
    provider_section oa openai o1 | write_config
    sed -i 's/^model = openai-model$/model = gpt-6-luna/' "$CONFIG"
    run --separate-stderr flexiai complete --no-stream --reasoning low -t 0.2 --max-tokens 40 "hi"
    assert_success
    assert_equal "$(mock_last_body o1 | jq -r .reasoning_effort)" "low"
    assert_equal "$(mock_last_body o1 | jq -r .max_completion_tokens)" "40"
    assert_equal "$(mock_last_body o1 | jq -r 'has("temperature")')" "false"
    assert_equal "$stderr" "flexiai: oa: temperature not sent to gpt-6-luna (a reasoning model refuses them)"
}

@test "chat at a terminal: the reasoning folded to one line, /reasoning unfolds it" {
    command -v tmux >/dev/null || skip "tmux is not installed"
    unset TMUX TMUX_PANE
    TMUX_SOCKET=fxresp-$$-$BATS_TEST_NUMBER
    printf 'set -g remain-on-exit on\n' >"$TEST_HOME/tmux.conf"
    tmux -L "$TMUX_SOCKET" -f "$TEST_HOME/tmux.conf" new-session -d -x 120 -y 30 -s chat \
        "flexiai chat --reasoning low 2>&1"
    wait_screen '> ?$'
    q="a question long enough that its reasoning will not fit on one line"
    tmux -L "$TMUX_SOCKET" send-keys -t chat -l -- "$q"
    tmux -L "$TMUX_SOCKET" send-keys -t chat Enter
    wait_screen "^$q\$"
    # 60 characters of the summary, then the way to the rest
    wait_screen '^reasoning: The user wrote: a question long enough that its reasoning wi… \(/reasoning\)$'
    tmux -L "$TMUX_SOCKET" send-keys -t chat -l -- "/reasoning"
    tmux -L "$TMUX_SOCKET" send-keys -t chat Enter
    wait_screen "^The user wrote: $q\$"
    assert_equal "$(body r1 | jq -r .reasoning.summary)" "auto"
}
