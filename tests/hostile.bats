#!/usr/bin/env bats
# hostile.bats - every hostile input answered: closed and full descriptors,
# odd bytes in prompts and answers, malformed flags.  Each case is a
# regression test of a bug found once; each ends in one line on stderr and
# the documented exit code, with nothing sent or written that should not be.

load helpers

setup() {
    setup_env
    start_mockllm
    { printf '[failover]\nretries = 0\n\n'; provider_section oa openai oa; } | write_config
}

teardown() { teardown_env; }

# ---- standard descriptors ---------------------------------------------------

@test "complete with stdout closed: one line, exit 74, the answer goes nowhere else" {
    start_redis
    printf '[sync]\nbackend = redis\nredis_port = %s\n' "$REDIS_PORT" >>"$CONFIG"
    redis_cli set canary alive >/dev/null
    run --separate-stderr bash -c 'flexiai complete "FLUSHALL" </dev/null >&-'
    assert_failure 74
    assert_equal "$stderr" "flexiai: cannot write output: stdout is closed"
    # the answer (an echo of FLUSHALL) did not reach the Redis connection
    assert_equal "$(redis_cli get canary)" alive
}

@test "complete -v with stderr closed: the attempt lines go nowhere, the answer is printed" {
    start_redis
    printf '[sync]\nbackend = redis\nredis_port = %s\n' "$REDIS_PORT" >>"$CONFIG"
    redis_cli set canary alive >/dev/null
    run --separate-stderr bash -c 'flexiai complete -v "FLUSHALL" </dev/null 2>&-'
    assert_success
    assert_output "FLUSHALL"
    assert_equal "$(redis_cli get canary)" alive
}

@test "--help, --version and config show to a full or closed stdout exit 74" {
    local cmd
    for cmd in "flexiai --help" "flexiai complete --help" "flexiai chat --help" \
        "flexiai breaker --help" "flexiai breaker status --help" "flexiai config show" \
        "flexiai -V" "flexiai-breaker -V"; do
        run --separate-stderr bash -c "$cmd >/dev/full"
        [ "$status" -eq 74 ] || { echo "$cmd >/dev/full: $status" >&2; false; }
        assert_equal "$stderr" "flexiai: cannot write output: No space left on device"
        run --separate-stderr bash -c "$cmd >&-"
        [ "$status" -eq 74 ] || { echo "$cmd >&-: $status" >&2; false; }
    done
}

# ---- prompts ----------------------------------------------------------------------

@test "a NUL byte on stdin is refused with 65 and nothing is sent" {
    run --separate-stderr bash -c "printf 'abc\\0def' | flexiai complete"
    assert_failure 65
    assert_equal "$stderr" "flexiai: stdin holds a NUL byte: a prompt must be text (nothing was sent)"
    assert_equal "$(mock_count oa)" 0
}

@test "--messages with \\u0000 or with trailing garbage is refused with 65" {
    printf '[{"role":"user","content":"a\\u0000b"}]' >"$TEST_HOME/nul.json"
    run --separate-stderr flexiai complete --messages "$TEST_HOME/nul.json"
    assert_failure 65
    assert_equal "$stderr" "flexiai: $TEST_HOME/nul.json: a message contains \\u0000 (a NUL character cannot be sent)"
    # an escaped backslash before u0000 is just text
    printf '[{"role":"user","content":"a\\\\u0000b"}]' >"$TEST_HOME/ok.json"
    run --separate-stderr flexiai complete --no-stream --messages "$TEST_HOME/ok.json"
    assert_success
    assert_output 'a\u0000b'
    printf '[{"role":"user","content":"hi"}] trailing' >"$TEST_HOME/tail.json"
    run --separate-stderr flexiai complete --messages "$TEST_HOME/tail.json"
    assert_failure 65
    assert_equal "$stderr" "flexiai: $TEST_HOME/tail.json: something follows the JSON array"
    assert_equal "$(mock_count oa)" 1
}

@test "invalid UTF-8 in a prompt is sent as U+FFFD and counted in --json" {
    run --separate-stderr bash -c "printf 'caf\\xe9 ok' | flexiai complete --json"
    assert_success
    jq -e . <<<"$output" >/dev/null
    assert_equal "$(jq -r .text <<<"$output")" "caf� ok"
    assert_equal "$(jq -r .invalid_utf8_replaced <<<"$output")" 1
    assert_equal "$(mock_last_body oa | jq -r '.messages[-1].content')" "caf� ok"
}

@test "invalid UTF-8 in an answer: --json stays valid JSON, plain output shows U+FFFD" {
    mock_script oa 'reply=ok%FF%C3%28end'
    run --separate-stderr flexiai complete --json hi
    assert_success
    jq -e . <<<"$output" >/dev/null
    assert_equal "$(jq -r .text <<<"$output")" "ok��(end"
    assert_equal "$(jq -r .invalid_utf8_replaced <<<"$output")" 2
    run --separate-stderr flexiai complete --no-stream hi
    assert_success
    assert_output "ok��(end"
}

# ---- flags ------------------------------------------------------------------------

@test "-m with an empty name is a usage error" {
    run --separate-stderr flexiai complete -m "" hi
    assert_failure 64
    assert_equal "$stderr" "flexiai: -m needs a model name (try 'flexiai complete --help')"
    run --separate-stderr flexiai chat -m "" </dev/null
    assert_failure 64
    assert_equal "$(mock_count oa)" 0
}
