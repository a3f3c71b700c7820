#!/usr/bin/env bats
# budget.bats - [budget] daily / monthly and --budget: the spend so far
# (the ledger's, and with the Redis store the counters every host adds
# to) plus a request's estimate is checked before it is sent; over, it is
# not sent (mockllm counts nothing), one line names the budget and the
# spend, complete exits 75 and batch starts no more items.  Every request
# here costs what mockllm's scripted usage says: 1 000 000 prompt tokens at
# price_input 1 = 1.00.

load helpers

setup() {
    setup_env
    start_mockllm
    {
        printf '[failover]\nretries = 0\n\n'
        provider_section oa openai oa "price_input = 1" "price_output = 8"
    } | write_config
    mock_script oa "usage=$(jq -rn '{prompt_tokens:1000000,completion_tokens:0,total_tokens:1000000} | tojson | @uri')"
}

teardown() { teardown_env; }

@test "complete: the day's spend in the ledger reaches the daily budget: 75, not sent" {
    printf '[budget]\ndaily = 0.5\n' >>"$CONFIG"
    run flexiai complete --max-tokens 1 "first" </dev/null
    assert_success
    [ "$(mock_count oa)" -eq 1 ]
    run flexiai complete --max-tokens 1 "second" </dev/null
    assert_failure 75
    assert_output "flexiai: daily budget 0.50 reached: 1.00 spent"
    [ "$(mock_count oa)" -eq 1 ]
    run --separate-stderr flexiai complete --max-tokens 1 --json "second" </dev/null
    assert_failure 75
    [ "$(jq -r .exit_code <<<"$output")" -eq 75 ]
    # usage shows the spend against the budget
    run flexiai usage
    assert_success
    assert_line "daily budget 0.50: 1.000000 spent today (UTC), 0.000000 left"
}

@test "complete: a request whose estimate is over what is left is not sent" {
    printf '[budget]\nmonthly = 5\n' >>"$CONFIG"
    # 1 000 000 output tokens at 8 per million: about 8.00
    run flexiai complete --max-tokens 1000000 "too big" </dev/null
    assert_failure 75
    assert_output --partial "flexiai: monthly budget 5.00 reached: 0.00 spent (estimate 8."
    [ "$(mock_count oa)" -eq 0 ]
    run flexiai complete -v --max-tokens 10 "fits" </dev/null
    assert_success
    [ "$(mock_count oa)" -eq 1 ]
}

@test "complete --budget: this run's budget; 0 sends nothing" {
    run flexiai complete --budget 0 "nothing" </dev/null
    assert_failure 75
    assert_output "flexiai: run budget 0.00 reached: 0.00 spent"
    [ "$(mock_count oa)" -eq 0 ]
    run flexiai complete --budget lots "nothing" </dev/null
    assert_failure 64
}

@test "batch: once the budget is reached no more items start; a later run goes on" {
    for i in 1 2 3 4 5; do printf '{"id":%d,"prompt":"item %d"}\n' "$i" "$i"; done >"$TEST_HOME/in.jsonl"
    run flexiai batch -j 1 --max-tokens 1 --budget 2.5 -i "$TEST_HOME/in.jsonl" -o "$TEST_HOME/out.jsonl"
    assert_failure 75
    assert_line --partial "3 answered, 0 failed"
    assert_line "flexiai: run budget 2.50 reached: 3.00 spent: no more items started (run again to go on)"
    [ "$(wc -l <"$TEST_HOME/out.jsonl")" -eq 3 ]
    [ "$(mock_count oa)" -eq 3 ]
    run flexiai batch -j 1 --max-tokens 1 --budget 10 -i "$TEST_HOME/in.jsonl" -o "$TEST_HOME/out.jsonl"
    assert_success
    [ "$(wc -l <"$TEST_HOME/out.jsonl")" -eq 5 ]
    [ "$(mock_count oa)" -eq 5 ]
}

@test "batch: the daily budget from the ledger stops it before the first item" {
    flexiai complete --max-tokens 1 "spend" </dev/null
    printf '[budget]\ndaily = 1\n' >>"$CONFIG"
    printf '{"id":1,"prompt":"a"}\n' >"$TEST_HOME/in.jsonl"
    run flexiai batch -i "$TEST_HOME/in.jsonl"
    assert_failure 75
    assert_line "flexiai: daily budget 1.00 reached: 1.00 spent: no more items started (run again to go on)"
    [ "$(mock_count oa)" -eq 1 ]
}

@test "Redis: one host's spend counts against another host's daily budget" {
    start_redis
    printf '[sync]\nbackend = redis\nredis_url = redis://127.0.0.1:%s/0\n' "$REDIS_PORT" >>"$CONFIG"
    XDG_DATA_HOME=$TEST_HOME/host-a XDG_STATE_HOME=$TEST_HOME/host-a-state \
        flexiai complete --max-tokens 1 "host a spends" </dev/null
    run redis_cli GET "flexiai:spend:day:$(date -u +%F)"
    [ "$output" = 1 ]
    run redis_cli GET "flexiai:spend:month:$(date -u +%Y-%m)"
    [ "$output" = 1 ]
    cp "$CONFIG" "$TEST_HOME/b.ini"
    printf '[budget]\ndaily = 0.5\n' >>"$TEST_HOME/b.ini"
    XDG_DATA_HOME=$TEST_HOME/host-b XDG_STATE_HOME=$TEST_HOME/host-b-state \
        run flexiai complete -c "$TEST_HOME/b.ini" --max-tokens 1 "host b" </dev/null
    assert_failure 75
    assert_output "flexiai: daily budget 0.50 reached: 1.00 spent"
    [ "$(mock_count oa)" -eq 1 ]
}
