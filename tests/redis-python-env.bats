#!/usr/bin/env bats
# The Python FlexiAI's environment works unchanged: FLEXIAI_SYNC_*,
# FLEXIAI_DEFAULT_*, FLEXIAI_PROVIDER_{N}_* configure flexiai the same way
# (its deployment guide's Kubernetes example, verbatim names), and
# redis_url forms that name no server are refused by config check.

load helpers

setup() {
    setup_env
    BG_PIDS=
    start_mockllm
}

teardown() {
    kill_bg
    teardown_env
}

@test "FLEXIAI_SYNC_ENABLED=true alone is accepted (Redis, the Python default)" {
    run --separate-stderr env FLEXIAI_SYNC_ENABLED=true flexiai config check
    assert_success
    [[ "$stderr" != *sync* && "$stderr" != *ENABLED* ]]
    run --separate-stderr env FLEXIAI_SYNC_ENABLED=true flexiai config show --json
    assert_equal "$(jq -r '.[] | select(.key == "enabled") | .origin' <<<"$output")" "env FLEXIAI_SYNC_ENABLED"
    run --separate-stderr env FLEXIAI_SYNC_ENABLED=false FLEXIAI_SYNC_BACKEND=redis flexiai breaker check
    assert_equal "$status" 3 # no providers: unknown, but not a configuration error
    [[ "$output" == "BREAKERS UNKNOWN - no providers configured"* ]]
}

@test "a Python fleet's environment: breaker status and complete just work" {
    start_redis_auth fleet-secret default-user unused-pw
    export FLEXIAI_SYNC_ENABLED=true
    export FLEXIAI_SYNC_REDIS_HOST=127.0.0.1
    export FLEXIAI_SYNC_REDIS_PORT=$REDIS_PORT
    export FLEXIAI_SYNC_REDIS_PASSWORD=fleet-secret
    export FLEXIAI_DEFAULT_TEMPERATURE=0.3
    export FLEXIAI_DEFAULT_MAX_TOKENS=99
    export FLEXIAI_PROVIDER_0_NAME=anthropic
    export FLEXIAI_PROVIDER_0_API_KEY=sk-ant-python-secret
    export FLEXIAI_PROVIDER_0_MODEL=claude-3-sonnet-20240229
    export FLEXIAI_PROVIDER_0_PRIORITY=2
    export FLEXIAI_PROVIDER_0_BASE_URL=$MOCK_URL/p/a
    export FLEXIAI_PROVIDER_1_NAME=openai
    export FLEXIAI_PROVIDER_1_API_KEY=sk-python-secret
    export FLEXIAI_PROVIDER_1_MODEL=gpt-4
    export FLEXIAI_PROVIDER_1_PRIORITY=1
    export FLEXIAI_PROVIDER_1_BASE_URL=$MOCK_URL/p/o/v1

    run --separate-stderr flexiai config check
    assert_success
    assert_equal "$stderr" ""
    # config show: the numbered providers, their types from their names,
    # each value with its origin, the secrets masked
    run --separate-stderr flexiai config show --json
    assert_success
    assert_equal "$(jq -r '.[] | select(.section == "provider.openai" and .key == "type") | .value' <<<"$output")" openai
    assert_equal "$(jq -r '.[] | select(.section == "provider.openai" and .key == "type") | .origin' <<<"$output")" "env FLEXIAI_PROVIDER_1_NAME"
    assert_equal "$(jq -r '.[] | select(.section == "provider.anthropic" and .key == "model") | .origin' <<<"$output")" "env FLEXIAI_PROVIDER_0_MODEL"
    assert_equal "$(jq -r '.[] | select(.key == "redis_port") | .origin' <<<"$output")" "env FLEXIAI_SYNC_REDIS_PORT"
    [[ "$output" != *python-secret* ]]
    [[ "$output" != *fleet-secret* ]]

    # kubectl exec ... flexiai breaker status
    run --separate-stderr flexiai breaker status --json
    assert_success
    assert_equal "$stderr" ""
    assert_equal "$(jq -r '.[0].provider' <<<"$output")" openai
    assert_equal "$(jq -r '.[1].provider' <<<"$output")" anthropic
    assert_equal "$(jq -r '.[0].backend' <<<"$output")" redis

    # a request: priority 1 first, the [defaults] the Python names set
    run --separate-stderr flexiai complete "hi" </dev/null
    assert_success
    assert_output hi
    assert_equal "$(mock_last_body o | jq -r .model)" gpt-4
    assert_equal "$(mock_last_body o | jq -r .temperature)" 0.3
    assert_equal "$(mock_last_body o | jq -r .max_tokens)" 99
}

@test "FLEXIAI_SYNC_BACKEND=memory and FLEXIAI_SYNC_ENABLED=false mean no shared state" {
    run --separate-stderr env FLEXIAI_SYNC_BACKEND=memory flexiai config show --json
    assert_success
    run --separate-stderr env FLEXIAI_SYNC_BACKEND=memory FLEXIAI_PROVIDER_0_NAME=openai \
        FLEXIAI_PROVIDER_0_MODEL=m FLEXIAI_PROVIDER_0_API_KEY=k flexiai breaker status --json
    assert_success
    assert_equal "$(jq -r '.[0].backend' <<<"$output")" file
    run --separate-stderr env FLEXIAI_SYNC_ENABLED=false FLEXIAI_SYNC_BACKEND=redis \
        FLEXIAI_PROVIDER_0_NAME=openai FLEXIAI_PROVIDER_0_MODEL=m FLEXIAI_PROVIDER_0_API_KEY=k \
        flexiai breaker status --json
    assert_success
    assert_equal "$(jq -r '.[0].backend' <<<"$output")" file
}

@test "numbered provider mistakes name the variable" {
    run --separate-stderr env FLEXIAI_PROVIDER_0_NAME=mistral FLEXIAI_PROVIDER_0_MODEL=m flexiai config check
    assert_failure 78
    [[ "$stderr" == *"env FLEXIAI_PROVIDER_0_NAME: cannot tell the type of provider 'mistral'"* ]]
    # ... which a _TYPE settles
    run --separate-stderr env FLEXIAI_PROVIDER_0_NAME=mistral FLEXIAI_PROVIDER_0_TYPE=openai \
        FLEXIAI_PROVIDER_0_MODEL=m FLEXIAI_PROVIDER_0_BASE_URL=http://127.0.0.1:1/v1 flexiai config check
    assert_success
    run --separate-stderr env FLEXIAI_PROVIDER_3_MODEL=m flexiai config check
    assert_failure 78
    [[ "$stderr" == *"env FLEXIAI_PROVIDER_3_MODEL: no FLEXIAI_PROVIDER_3_NAME says which provider it is for"* ]]
    run --separate-stderr env FLEXIAI_PROVIDER_0_NAME=openai FLEXIAI_PROVIDER_0_COLOUR=red flexiai config check
    assert_failure 78
    [[ "$stderr" == *"env FLEXIAI_PROVIDER_0_COLOUR: unknown provider key 'COLOUR'"* ]]
}

@test "redis_url forms that name no server, or a database above the maximum, are refused" {
    for url in 'redis://' 'redis://u:p@' 'redis://:pw@[::1' 'redis://127.0.0.1/100001' \
        'redis://h:0' 'redis://h:99999' 'redis://::1:6379' 'rediss://:pw@/0' 'unix:///s?db=100001'; do
        printf '[sync]\nbackend = redis\nredis_url = %s\n' "$url" | write_config
        run --separate-stderr flexiai config check
        assert_failure 78
        [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
        [[ "$stderr" == *"sync.redis_url: malformed ("* ]]
        [[ "$stderr" != *pw* && "$stderr" != *"u:p"* ]]
    done
    for url in 'redis://127.0.0.1' 'redis://[::1]:6380/2' 'rediss://user:pw@redis.example:6380/0' \
        'redis://pw@h' 'unix:///run/redis.sock?db=3'; do
        printf '[sync]\nbackend = redis\nredis_url = %s\n' "$url" | write_config
        run --separate-stderr flexiai config check
        assert_success
    done
}

@test "sentinel settings are checked" {
    printf '[sync]\nbackend = redis\nredis_sentinels = 127.0.0.1:26379, h:x\n' | write_config
    run --separate-stderr flexiai config check
    assert_failure 78
    [[ "$stderr" == *"redis_sentinels needs redis_sentinel_master"* ]]
    [[ "$stderr" == *"'h:x' is not HOST:PORT"* ]]
    printf '[sync]\nbackend = redis\nredis_sentinel_master = m\nredis_sentinel_password = s3cret\n' | write_config
    run --separate-stderr flexiai config check
    assert_failure 78
    [[ "$stderr" == *"redis_sentinel_master needs redis_sentinels"* ]]
    run --separate-stderr flexiai config show
    [[ "$output" != *s3cret* ]]
}
