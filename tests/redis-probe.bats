#!/usr/bin/env bats
# flexiai breaker probe: a request that costs no tokens per provider
# (mockllm answers the model-list and model routes), reachable /
# credentials accepted / latency, exit codes like check; --record feeds
# the breaker (shared through Redis here); check --probe.

load helpers

setup() {
    setup_env
    BG_PIDS=
    start_mockllm
    start_redis
    {
        printf '[failover]\nretries = 0\n[breaker]\nfailure_threshold = 3\n'
        printf '[sync]\nbackend = redis\nredis_url = redis://127.0.0.1:%s/0\n\n' "$REDIS_PORT"
        provider_section oa openai o
        provider_section an anthropic a
        provider_section ge gemini g
        provider_section ve vertex v
    } | write_config
}

teardown() {
    kill_bg
    teardown_env
}

@test "probe: every provider type answers its no-token route, each on one line" {
    run --separate-stderr flexiai breaker probe
    assert_success
    assert_equal "$stderr" ""
    assert_equal "${#lines[@]}" 4
    assert_line --index 0 --regexp '^oa +reachable +credentials accepted +[0-9]+ ms$'
    assert_line --index 1 --regexp '^an +reachable +credentials accepted +[0-9]+ ms$'
    assert_line --index 2 --regexp '^ge +reachable +credentials accepted +[0-9]+ ms$'
    assert_line --index 3 --regexp '^ve +reachable +credentials accepted +[0-9]+ ms$'
    # the routes: GET, no body, nothing that costs tokens
    assert_equal "$(mock_log o | jq -r .last_path)" /p/o/v1/models
    assert_equal "$(mock_log a | jq -r .last_path)" /p/a/v1/models
    assert_equal "$(mock_log g | jq -r .last_path)" /p/g/v1beta/models/gemini-model
    assert_equal "$(mock_log v | jq -r .last_path)" \
        /p/v/v1/projects/proj/locations/us-central1/publishers/google/models/vertex-model
    for r in o a g v; do
        assert_equal "$(mock_log $r | jq -r .last_body)" ""
        assert_equal "$(mock_log $r | jq -r .last_auth)" present
    done
    # the breaker was not touched without --record
    assert_equal "$(redis_cli KEYS 'flexiai:state:*')" ""
}

@test "probe --json, a refused key and an unreachable provider; exit codes like check" {
    mock_script a "key=another-key"
    run --separate-stderr flexiai breaker probe --json oa an
    assert_failure 1
    assert_equal "$(jq -r '.[0].ok' <<<"$output")" true
    assert_equal "$(jq -r '.[0].error' <<<"$output")" null
    assert_equal "$(jq -r '.[1].ok' <<<"$output")" false
    assert_equal "$(jq -r '.[1].reachable' <<<"$output")" true
    assert_equal "$(jq -r '.[1].credentials_accepted' <<<"$output")" false
    assert_equal "$(jq -r '.[1].http_status' <<<"$output")" 401
    assert_equal "$(jq -r '.[1].error' <<<"$output")" auth
    [[ "$output" != *test-key* ]]

    sed -i "s|^base_url = $MOCK_URL/p/o/v1|base_url = http://127.0.0.1:$(dead_port)/v1|" "$CONFIG"
    run --separate-stderr flexiai breaker probe oa
    assert_failure 2
    assert_line --regexp '^oa +unreachable +- +[0-9]+ ms  .+'
    run --separate-stderr flexiai breaker probe nosuch
    assert_failure 64
}

@test "probe --record: a success closes a half-open breaker, a connection failure counts" {
    run flexiai breaker open oa --for 1
    assert_success
    sleep 1.1
    run --separate-stderr flexiai breaker probe --record oa
    assert_success
    assert_equal "$(redis_cli GET flexiai:state:oa | jq -r .state)" closed
    assert_equal "$(redis_cli GET flexiai:state:oa | jq -r .reason)" probe_succeeded

    # an open breaker that is not due is left alone
    run flexiai breaker open an --for 600
    run --separate-stderr flexiai breaker probe --record an
    assert_success
    assert_equal "$(redis_cli GET flexiai:state:an | jq -r .state)" open

    sed -i "s|^base_url = $MOCK_URL/p/g|base_url = http://127.0.0.1:$(dead_port)|" "$CONFIG"
    run --separate-stderr flexiai breaker probe --record ge
    assert_failure 2
    assert_equal "$(redis_cli GET flexiai:state:ge | jq -r .failure_count)" 1
    # a refused key says nothing about the provider's health
    mock_script v "key=another-key"
    run --separate-stderr flexiai breaker probe --record ve
    assert_failure 2
    assert_equal "$(redis_cli EXISTS flexiai:state:ve)" 0
}

@test "check --probe adds the probes to the monitoring line" {
    run --separate-stderr flexiai breaker check --probe
    assert_success
    assert_output --regexp '^BREAKERS OK - oa closed, an closed, ge closed, ve closed; probes: oa ok [0-9]+ms, an ok [0-9]+ms, ge ok [0-9]+ms, ve ok [0-9]+ms \| closed=4 usable=4 total=4 probed_ok=4$'
    mock_script g "status=503"
    run --separate-stderr flexiai breaker check --probe
    assert_failure 1
    assert_output --regexp '^BREAKERS WARNING - .*ge failed [0-9]+ms.* probed_ok=3$'
    # without --probe nothing is sent
    before=$(mock_count o)
    run flexiai breaker check
    assert_success
    assert_equal "$(mock_count o)" "$before"
}
