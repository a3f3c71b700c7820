#!/usr/bin/env bats
# limits.bats - rpm and tpm as token buckets that pace (issue 25 point 1),
# held across processes by the file store as by Redis (issue 23 point 5):
# counted from mockllm's request log, never from elapsed time.

load helpers

# items N [PREFIX]: N JSONL items with ids PREFIX1..N and prompts "item i"
items() {
    local i
    for i in $(seq 1 "$1"); do
        printf '{"id":"%s%d","prompt":"item %d"}\n' "${2:-t}" "$i" "$i"
    done
}

# answered FILE: ids of the successful lines, sorted
answered() { jq -r 'select(.exit_code == 0) | .id' "$1" | sort; }

# max_in_window ROUTE MS: the most requests the route saw in any MS window
max_in_window() {
    mock_log "$1" | jq --argjson w "$2" '[.times as $t | range(0; $t | length) as $i |
        [$t[] | select(. >= $t[$i] and . < $t[$i] + $w)] | length] | max // 0'
}

@test "rpm = 5 over 2 s holds across four concurrent batches with the file store" {
    start_mockllm
    printf '[failover]\nlimit_window = 2\n\n' | write_config
    provider_section primary openai primary "rpm = 5" >>"$CONFIG"
    local k pids=()
    for k in a b c d; do
        items 5 "$k" >"$TEST_HOME/$k.jsonl"
        flexiai batch -j 5 -i "$TEST_HOME/$k.jsonl" -o "$TEST_HOME/$k.out" 2>"$TEST_HOME/$k.err" 3>&- &
        pids+=($!)
    done
    for k in "${pids[@]}"; do wait "$k"; done
    for k in a b c d; do
        assert_equal "$(answered "$TEST_HOME/$k.out" | wc -l)" 5
    done
    assert_equal "$(mock_count primary)" 20
    # never more than rpm in a window (a limit not shared: 8 or more)
    [ "$(max_in_window primary 2000)" -le 5 ]
    [ "$(max_in_window primary 250)" -le 3 ]
}

@test "rpm = 5 over 2 s holds across four concurrent batches in Redis, paced the same way" {
    start_mockllm
    start_redis
    printf '[failover]\nlimit_window = 2\n\n[sync]\nbackend = redis\nredis_url = redis://127.0.0.1:%s\n\n' "$REDIS_PORT" | write_config
    provider_section primary openai primary "rpm = 5" >>"$CONFIG"
    local k pids=()
    for k in a b c d; do
        items 5 "$k" >"$TEST_HOME/$k.jsonl"
        XDG_STATE_HOME=$TEST_HOME/host-$k flexiai batch -j 5 -i "$TEST_HOME/$k.jsonl" -o "$TEST_HOME/$k.out" 2>"$TEST_HOME/$k.err" 3>&- &
        pids+=($!)
    done
    for k in "${pids[@]}"; do wait "$k"; done
    run cat "$TEST_HOME"/?.err
    refute_output --partial "not counted"
    refute_output --partial "file store"
    for k in a b c d; do
        assert_equal "$(answered "$TEST_HOME/$k.out" | wc -l)" 5
    done
    assert_equal "$(mock_count primary)" 20
    # never more than rpm in a window (a limit not shared: 8 or more)
    [ "$(max_in_window primary 2000)" -le 5 ]
    # paced: a burst of one, then one every 0.4 s
    [ "$(max_in_window primary 250)" -le 3 ]
    redis_cli get flexiai:limit:primary | jq -e '.bucket | length == 2' >/dev/null
}

@test "a batch paces itself under rpm: 100 items at rpm = 60, none fail, never more than 60 in a window" {
    start_mockllm
    # a 5 s window for speed: 12 requests a second, a burst of 2
    printf '[failover]\nlimit_window = 5\n\n' | write_config
    provider_section lim openai lim "rpm = 60" >>"$CONFIG"
    items 100 >"$TEST_HOME/in.jsonl"
    run flexiai batch -j 16 --progress yes -i "$TEST_HOME/in.jsonl" -o "$TEST_HOME/out.jsonl"
    assert_success
    # the progress line said what it waited for
    assert_output --partial "waiting: lim rpm, next slot in "
    assert_equal "$(answered "$TEST_HOME/out.jsonl" | wc -l)" 100
    assert_equal "$(jq -r 'select(.exit_code != 0)' "$TEST_HOME/out.jsonl" | wc -l)" 0
    assert_equal "$(mock_count lim)" 100
    # the limit held in every window of 5 s ...
    [ "$(max_in_window lim 5000)" -le 60 ]
    # ... and was paced, not spent in one burst (60 at once before): a
    # second holds the rate (12) and the burst, with room for a late
    # scheduler
    [ "$(max_in_window lim 1000)" -le 30 ]
    # 100 requests at 12 a second need more than one window: the log spans
    # at least (100 - 60) / 12 s of the limit's time
    mock_log lim | jq -e '.times | (max - min) >= 3300' >/dev/null
}

@test "a limit message names rpm or tpm; complete keeps limit_wait_max" {
    start_mockllm
    printf '[failover]\nlimit_window = 60\nlimit_wait_max = 0\n\n' | write_config
    provider_section primary openai primary "rpm = 1" >>"$CONFIG"
    run flexiai complete -p primary x </dev/null
    assert_success
    run --separate-stderr flexiai complete -p primary --json x </dev/null
    assert_failure 75
    assert_equal "$(jq -r '.attempts[0].error_class' <<<"$output")" rate_limited_local
    assert_output --regexp 'local limit rpm = 1: next slot in [0-9.]+ s'
    assert_equal "$stderr" "flexiai: primary: rate_limited_local ($(jq -r .attempts[0].message <<<"$output"))"
    assert_equal "$(mock_count primary)" 1
    provider_section primary openai primary "tpm = 10" | write_config
    printf '[failover]\nlimit_window = 60\nlimit_wait_max = 0\n' >>"$CONFIG"
    # charged 9 (max_tokens), corrected to the 2 the mock reports: 2 + 9 > 10
    run flexiai complete -p primary --max-tokens 9 x </dev/null
    assert_success
    run --separate-stderr flexiai complete -p primary --max-tokens 9 --json x </dev/null
    assert_failure 75
    assert_output --regexp 'local limit tpm = 10: next slot in [0-9.]+ s'
}

# every call reports 40 tokens (30 + 10); --max-tokens 40 and a prompt
# "item N" of 1 token make an estimate of 41, corrected to 40 after it
TPM_USAGE='usage=%7B%22prompt_tokens%22:30%2C%22completion_tokens%22:10%2C%22total_tokens%22:40%7D'

@test "a batch paces itself under tpm: 12 items at tpm = 200 over 2 s, none fail, never more than 200 tokens in a window" {
    start_mockllm --script "lim=$TPM_USAGE"
    printf '[failover]\nlimit_window = 2\n\n' | write_config
    provider_section lim openai lim "tpm = 200" >>"$CONFIG"
    items 12 >"$TEST_HOME/in.jsonl"
    run flexiai batch -j 8 --max-tokens 40 --progress yes -i "$TEST_HOME/in.jsonl" -o "$TEST_HOME/out.jsonl"
    assert_success
    # the progress line said what it waited for
    assert_output --partial "waiting: lim tpm, next slot in "
    assert_equal "$(answered "$TEST_HOME/out.jsonl" | wc -l)" 12
    assert_equal "$(jq -r 'select(.exit_code != 0)' "$TEST_HOME/out.jsonl" | wc -l)" 0
    assert_equal "$(mock_count lim)" 12
    # the provider's count: 40 tokens a call, 480 in all
    assert_equal "$(jq -s 'map(.usage.total_tokens) | add' "$TEST_HOME/out.jsonl")" 480
    # at most 5 calls (200 tokens) in any window of 2 s (8 at once before)
    [ "$(max_in_window lim 2000)" -le 5 ]
    # paced, one every 41/100 s, not in bursts: a quarter second holds 2
    # at most (with room for a late scheduler)
    [ "$(max_in_window lim 250)" -le 2 ]
}

@test "tpm holds across two concurrent batches in Redis, paced the same way" {
    start_mockllm --script "lim=$TPM_USAGE"
    start_redis
    printf '[failover]\nlimit_window = 2\n\n[sync]\nbackend = redis\nredis_url = redis://127.0.0.1:%s\n\n' "$REDIS_PORT" | write_config
    provider_section lim openai lim "tpm = 200" >>"$CONFIG"
    local k pids=()
    for k in a b; do
        items 6 "$k" >"$TEST_HOME/$k.jsonl"
        XDG_STATE_HOME=$TEST_HOME/host-$k flexiai batch -j 6 --max-tokens 40 -i "$TEST_HOME/$k.jsonl" -o "$TEST_HOME/$k.out" 2>"$TEST_HOME/$k.err" 3>&- &
        pids+=($!)
    done
    for k in "${pids[@]}"; do wait "$k"; done
    run cat "$TEST_HOME"/?.err
    refute_output --partial "not counted"
    refute_output --partial "file store"
    for k in a b; do
        assert_equal "$(answered "$TEST_HOME/$k.out" | wc -l)" 6
    done
    assert_equal "$(mock_count lim)" 12
    # 200 tokens of 40 a call: 5 in any window of 2 s (a limit not shared:
    # 10 or more)
    [ "$(max_in_window lim 2000)" -le 5 ]
    [ "$(max_in_window lim 250)" -le 2 ]
    # the tpm bucket is in the shared document, corrected to the usage
    redis_cli get flexiai:limit:lim | jq -e '(.tbucket | length == 2) and ([.slots[][2]] | add) % 40 == 0' >/dev/null
}

@test "a request whose estimate alone is over tpm fails at once: one line, nothing sent, the next provider answers" {
    start_mockllm
    provider_section primary openai primary "tpm = 20" | write_config
    # estimate: 50 (max_tokens) + 0 (a prompt of 1 byte)
    run --separate-stderr flexiai complete -p primary --max-tokens 50 --json x </dev/null
    assert_failure 65
    assert_equal "$(jq -r '.attempts[0].error_class' <<<"$output")" unsupported
    assert_equal "$stderr" "flexiai: primary: unsupported (local limit tpm = 20: the request's estimate of 50 tokens is more than the limit, it can never pass)"
    assert_equal "$(mock_count primary)" 0
    # under the limit it goes
    run flexiai complete -p primary --max-tokens 19 x </dev/null
    assert_success
    assert_equal "$(mock_count primary)" 1
    # a batch item fails at once too (no waiting for capacity that never
    # comes), and a provider without the limit takes it
    items 2 >"$TEST_HOME/in.jsonl"
    run flexiai batch --max-tokens 50 -p primary -i "$TEST_HOME/in.jsonl" -o "$TEST_HOME/out.jsonl"
    assert_failure 65
    assert_equal "$(jq -r '.exit_code' "$TEST_HOME/out.jsonl" | sort -u)" 65
    provider_section backup openai backup >>"$CONFIG"
    run --separate-stderr flexiai complete --max-tokens 50 --json x </dev/null
    assert_success
    assert_equal "$(jq -r '[.attempts[] | .outcome + ":" + (.error_class // "")] | join(" ")' <<<"$output")" "skipped:unsupported success:"
    assert_equal "$(mock_count primary)" 1
    assert_equal "$(mock_count backup)" 1
    # never counted against the breaker
    run flexiai breaker status --json
    assert_equal "$(jq -r '.[] | select(.provider == "primary") | .failure_count' <<<"$output")" 0
}

@test "batch -j is capped by the open-file limit, with one warning" {
    start_mockllm
    provider_section primary openai primary | write_config
    items 100 >"$TEST_HOME/in.jsonl"
    run bash -c "ulimit -n 64 && exec flexiai batch -j 4096 -i '$TEST_HOME/in.jsonl' -o '$TEST_HOME/out.jsonl'"
    assert_success
    assert_equal "$(grep -c 'open-file limit' <<<"$output")" 1
    assert_output --partial "flexiai: warning: -j 4096 is more than the open-file limit allows (ulimit -n 64): using -j 32"
    assert_equal "$(answered "$TEST_HOME/out.jsonl" | wc -l)" 100
    # a soft limit below the hard one is raised first: no cut, no warning
    if [ "$(ulimit -Hn)" = unlimited ] || [ "$(ulimit -Hn)" -ge 1024 ]; then
        rm "$TEST_HOME/out.jsonl"
        run bash -c "ulimit -Sn 64 && exec flexiai batch -j 512 -i '$TEST_HOME/in.jsonl' -o '$TEST_HOME/out.jsonl'"
        assert_success
        refute_output --partial "open-file limit"
        assert_equal "$(answered "$TEST_HOME/out.jsonl" | wc -l)" 100
    fi
}

@test "out of descriptors is local_resource: never a connect failure, never counted by the breaker" {
    start_mockllm
    provider_section primary openai primary | write_config
    printf '[breaker]\nfailure_threshold = 2\n' >>"$CONFIG"
    items 200 >"$TEST_HOME/in.jsonl"
    # -j 32 fits the limit of 64, but the shell has taken 40 descriptors:
    # sockets fail with EMFILE
    run bash -c "ulimit -n 64 && for fd in \$(seq 10 49); do eval \"exec \$fd</dev/null\"; done
        exec flexiai batch -q -j 32 -i '$TEST_HOME/in.jsonl' -o '$TEST_HOME/out.jsonl'"
    [ "$status" -eq 0 ] || [ "$status" -eq 75 ]
    [ "$(jq -r '.attempts[] | select(.error_class == "local_resource") | .error_class' "$TEST_HOME/out.jsonl" | wc -l)" -gt 0 ]
    assert_equal "$(jq -r '.attempts[] | select(.error_class == "connect")' "$TEST_HOME/out.jsonl" | wc -l)" 0
    jq -r '.attempts[] | select(.error_class == "local_resource") | .message' "$TEST_HOME/out.jsonl" |
        grep -q "Too many open files (this host's limit, not the provider's)"
    # failed items say 75 (try later)
    assert_equal "$(jq -r 'select(.exit_code != 0) | .exit_code' "$TEST_HOME/out.jsonl" | sort -u | grep -v '^75$' | wc -l)" 0
    run flexiai breaker status --json
    assert_success
    assert_equal "$(jq -r '.[0].state' <<<"$output")" closed
    assert_equal "$(jq -r '.[0].failure_count' <<<"$output")" 0
}
