#!/usr/bin/env bats
# Failover, retries and the shared circuit breaker (file store).

load helpers

setup() {
    setup_env
    start_mockllm
    write_base
}

write_base() { # extra [failover] lines as arguments
    {
        printf '[failover]\nretries = 1\nbackoff_base = 0.01\nbackoff_max = 0.05\n'
        local line
        for line in "$@"; do printf '%s\n' "$line"; done
        printf '[breaker]\nfailure_threshold = 5\nrecovery_timeout = 60\n\n'
        provider_section primary openai p1 "priority = 1"
        provider_section secondary anthropic s1 "priority = 2"
    } | write_config
}

state_file() { echo "$XDG_STATE_HOME/flexiai/breakers/$1.json"; }
state_of() { jq -r .state "$(state_file "$1")"; }
failures_of() { jq -r .failure_count "$(state_file "$1")"; }

@test "overloaded (503): retried on the same provider, then the next answers" {
    mock_script p1 "status=503"
    run --separate-stderr flexiai complete --json "hi" </dev/null
    assert_success
    assert_equal "$(jq -r .text <<<"$output")" "hi"
    assert_equal "$(jq -r .provider <<<"$output")" "secondary"
    assert_equal "$(mock_count p1)" 2
    assert_equal "$(jq -r '[.attempts[].outcome] | join(",")' <<<"$output")" "retry,error,success"
    assert_equal "$(jq -r '.attempts[0].error_class' <<<"$output")" "overloaded"
    assert_equal "$(jq -r '.attempts[0].http_status' <<<"$output")" "503"
    assert_equal "$(failures_of primary)" 2
}

@test "other 5xx (server), 529 and refused connections are retried too" {
    mock_script p1 "status=500"
    run flexiai complete "hi" </dev/null
    assert_success
    assert_equal "$(mock_count p1)" 2
    mock_reset
    mock_script p1 "status=529"
    run flexiai complete --json "hi" </dev/null
    assert_equal "$(jq -r '.attempts[0].error_class' <<<"$output")" "overloaded"
    flexiai breaker reset primary
    dead=$(dead_port)
    sed -i "s|base_url = $MOCK_URL/p/p1/v1|base_url = http://127.0.0.1:$dead/v1|" "$CONFIG"
    run flexiai complete --json "hi" </dev/null
    assert_success
    assert_equal "$(jq -r '[.attempts[] | .error_class // "-"] | join(",")' <<<"$output")" "connect,connect,-"
}

@test "auth, quota and context_length fail over at once, without retry" {
    for spec in "status=401" "status=429,error_type=insufficient_quota" "status=400,error_type=context_length_exceeded"; do
        mock_reset
        flexiai breaker reset --all
        mock_script p1 "$spec"
        run flexiai complete --json "hi" </dev/null
        assert_success
        assert_equal "$(mock_count p1)" 1
        assert_equal "$(jq -r .provider <<<"$output")" "secondary"
    done
    assert_equal "$(jq -r '.attempts[0].error_class' <<<"$output")" "context_length"
}

@test "quota opens the breaker at once, whatever the count" {
    mock_script p1 "status=429,error_type=insufficient_quota"
    run flexiai complete "hi" </dev/null
    assert_success
    assert_equal "$(state_of primary)" "open"
    run flexiai complete "again" </dev/null
    assert_success
    assert_equal "$(mock_count p1)" 1
}

@test "bad_request (400) does not fail over: exit 65" {
    mock_script p1 "status=400"
    run --separate-stderr flexiai complete "hi" </dev/null
    assert_failure 65
    assert_equal "$(mock_count p1)" 1
    assert_equal "$(mock_count s1)" 0
    [[ "$stderr" == "flexiai: primary: bad_request"* ]]
}

@test "failover_on_bad_request = yes lets the next provider try" {
    write_base "failover_on_bad_request = yes"
    mock_script p1 "status=422"
    run flexiai complete "hi" </dev/null
    assert_success
    assert_output "hi"
}

@test "rate limit with a short Retry-After: waited for, then retried" {
    mock_script p1 "status=429,retry_after=1,fail_first=1"
    start=$(date +%s.%N)
    run flexiai complete --json "hi" </dev/null
    end=$(date +%s.%N)
    assert_success
    assert_equal "$(jq -r .provider <<<"$output")" "primary"
    assert_equal "$(jq -r '.attempts[0].retry_after' <<<"$output")" "1"
    awk -v s="$start" -v e="$end" 'BEGIN { exit !(e - s >= 1.0) }'
}

@test "retry-after-ms and x-ratelimit-reset-requests are honoured" {
    mock_script p1 "status=429,retry_after_ms=300,fail_first=1"
    run flexiai complete --json "hi" </dev/null
    assert_equal "$(jq -r '.attempts[0].retry_after' <<<"$output")" "0.3"
    assert_equal "$(jq -r .provider <<<"$output")" "primary"
    mock_reset
    mock_script p1 "status=429,reset_requests=6m0s"
    run flexiai complete --json "hi" </dev/null
    assert_equal "$(jq -r '.attempts[0].retry_after' <<<"$output")" "360"
    assert_equal "$(jq -r .provider <<<"$output")" "secondary"
}

@test "a Retry-After beyond retry_after_max skips the provider and opens its breaker until then" {
    mock_script p1 "status=429,retry_after=100"
    before=$(date +%s)
    run flexiai complete "hi" </dev/null
    after=$(date +%s)
    assert_success
    assert_equal "$(mock_count p1)" 1
    assert_equal "$(state_of primary)" "open"
    # 100 s from the answer, which came while complete ran
    retry_at=$(jq -r '.retry_at | floor' "$(state_file primary)")
    assert [ "$retry_at" -ge $((before + 100)) ]
    assert [ "$retry_at" -le $((after + 100)) ]
}

@test "the breaker opens after exactly failure_threshold failures; then no traffic" {
    printf 'retries = 0\n' >/dev/null
    sed -i 's/^retries = 1/retries = 0/' "$CONFIG"
    mock_script p1 "status=503"
    for i in 1 2 3 4; do
        run flexiai complete "job $i" </dev/null
        assert_success
        assert_equal "$(state_of primary)" "closed"
    done
    assert_equal "$(failures_of primary)" 4
    run flexiai complete "job 5" </dev/null
    assert_success
    assert_equal "$(state_of primary)" "open"
    assert_equal "$(mock_count p1)" 5
    for i in 6 7 8 9 10; do
        run flexiai complete --json "job $i" </dev/null
        assert_success
        assert_equal "$(jq -r '.attempts[0].outcome' <<<"$output")" "skipped"
        assert_equal "$(jq -r '.attempts[0].error_class' <<<"$output")" "breaker_open"
    done
    assert_equal "$(mock_count p1)" 5
    assert_equal "$(mock_count s1)" 10
}

@test "twenty jobs one after another against a dead primary: five try it, all answer" {
    dead=$(dead_port)
    sed -i "s|base_url = $MOCK_URL/p/p1/v1|base_url = http://127.0.0.1:$dead/v1|; s/^retries = 1/retries = 0/" "$CONFIG"
    tried=0
    for i in $(seq 1 20); do
        out=$(flexiai complete --json "job $i" </dev/null)
        assert_equal "$(jq -r .text <<<"$out")" "job $i"
        [ "$(jq -r '.attempts[0].outcome' <<<"$out")" = error ] && tried=$((tried + 1))
    done
    assert_equal "$tried" 5
    assert_equal "$(mock_count s1)" 20
}

@test "after the recovery timeout, 50 concurrent processes send exactly one probe and all answer" {
    sed -i 's/^recovery_timeout = 60/recovery_timeout = 1/; s/^retries = 1/retries = 0/' "$CONFIG"
    mock_script p1 "status=503"
    for i in 1 2 3 4 5; do flexiai complete "x" </dev/null >/dev/null; done
    assert_equal "$(state_of primary)" "open"
    mock_reset
    # the probe is held until the others have decided, however slowly a
    # loaded machine starts 50 processes
    mock_script p1 "wait_file=$TEST_HOME/release"
    sleep 1.1
    pids=
    for i in $(seq 1 50); do
        flexiai complete "job $i" </dev/null >"$TEST_HOME/out.$i" 2>&1 &
        pids="$pids $!"
    done
    running_at_most 1 $pids
    touch "$TEST_HOME/release"
    wait $pids
    assert_equal "$(mock_count p1)" 1
    for i in $(seq 1 50); do
        assert_equal "$(cat "$TEST_HOME/out.$i")" "job $i"
    done
    assert_equal "$(state_of primary)" "closed"
}

@test "half_open_max_calls = 3 admits exactly three probes" {
    sed -i 's/^recovery_timeout = 60/recovery_timeout = 1\nhalf_open_max_calls = 3/; s/^retries = 1/retries = 0/' "$CONFIG"
    mock_script p1 "status=503"
    for i in 1 2 3 4 5; do flexiai complete "x" </dev/null >/dev/null; done
    mock_reset
    mock_script p1 "wait_file=$TEST_HOME/release"
    sleep 1.1
    pids=
    for i in $(seq 1 30); do flexiai complete "j" </dev/null >/dev/null 2>&1 & pids="$pids $!"; done
    running_at_most 3 $pids
    touch "$TEST_HOME/release"
    wait $pids
    assert_equal "$(mock_count p1)" 3
}

@test "a failed probe reopens the breaker" {
    sed -i 's/^recovery_timeout = 60/recovery_timeout = 1/; s/^retries = 1/retries = 0/' "$CONFIG"
    mock_script p1 "status=503"
    for i in 1 2 3 4 5; do flexiai complete "x" </dev/null >/dev/null; done
    sleep 1.1
    run flexiai complete --json "probe" </dev/null
    assert_success
    assert_equal "$(jq -r '.attempts[0].probe' <<<"$output")" "true"
    assert_equal "$(state_of primary)" "open"
    assert_equal "$(jq -r .reason "$(state_file primary)")" "probe_failed"
}

@test "200 concurrent processes each recording a failure leave the count exactly right" {
    sed -i 's/^failure_threshold = 5/failure_threshold = 1000/; s/^retries = 1/retries = 0/' "$CONFIG"
    mock_script p1 "status=500"
    pids=
    for i in $(seq 1 200); do flexiai complete "x" </dev/null >/dev/null 2>&1 & pids="$pids $!"; done
    wait $pids
    assert_equal "$(failures_of primary)" 200
    assert_equal "$(mock_count p1)" 200
}

@test "state changes record who made them and when" {
    mock_script p1 "status=429,error_type=insufficient_quota"
    before=$(date +%s)
    flexiai complete "x" </dev/null >/dev/null
    f=$(state_file primary)
    [[ "$(jq -r .changed_by "$f")" == "$(hostname):"*":"* ]]
    [ "$(jq -r '.changed_at | floor' "$f")" -ge "$before" ]
    [ "$(stat -c %a "$(dirname "$f")")" = 700 ]
}

@test "a corrupt state file is reported once and treated as closed" {
    mkdir -p "$XDG_STATE_HOME/flexiai/breakers"
    echo '{"state": "open", "failure_count": ' >"$(state_file primary)"
    run --separate-stderr flexiai complete "hi" </dev/null
    assert_success
    assert_output "hi"
    assert_equal "$(mock_count p1)" 1
    [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
    [[ "$stderr" == "flexiai: breaker state of 'primary'"*"malformed"* ]]
}

@test "an unwritable state directory never fails a request" {
    mkdir -p "$XDG_STATE_HOME"
    : >"$XDG_STATE_HOME/flexiai" # a file where the directory should be
    mock_script p1 "status=503"
    run --separate-stderr flexiai complete "hi" </dev/null
    assert_success
    assert_output "hi"
    [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
    [[ "$stderr" == "flexiai: cannot write breaker state"* ]]
    run --separate-stderr flexiai complete -q "hi" </dev/null
    assert_success
    assert_equal "$stderr" ""
}

@test "a stream dropped after some text is continued by the next provider" {
    mock_script p1 "truncate_after=2,chunks=4"
    mock_script s1 "reply=%20cccc dddd"
    run --separate-stderr flexiai complete --stream "aaaa bbbb xxxx yyyy" </dev/null
    assert_success
    assert_output "aaaa bbbb cccc dddd"
    # never silent: one line says where the answer was spliced
    assert_equal "$stderr" "flexiai: primary broke off after 9 bytes (stream_error); secondary continued the answer"
    body=$(mock_last_body s1)
    assert_equal "$(jq -r '.messages[-2].role' <<<"$body")" "assistant"
    assert_equal "$(jq -r ".messages[-2].content" <<<"$body")" "aaaa bbbb"
    run --separate-stderr flexiai complete --stream --json "aaaa bbbb xxxx yyyy" </dev/null
    assert_equal "$(jq -r '[.attempts[].continuation] | join(",")' <<<"$output")" "false,true"
    assert_equal "$(jq -r '[.attempts[].text_bytes] | join(",")' <<<"$output")" "9,10"
    assert_equal "$(jq -r .text <<<"$output")" "aaaa bbbb cccc dddd"
    run --separate-stderr flexiai complete -q --stream "aaaa bbbb xxxx yyyy" </dev/null
    assert_success
    assert_equal "$stderr" ""
}

@test "on a terminal, an answer from another provider than the first says so; not in a pipe" {
    mock_script p1 "status=503"
    # script(1) gives the command a terminal for stdout and stderr
    run script -qec "flexiai complete --no-stream 'hi there' </dev/null" /dev/null
    assert_success
    assert_output --partial "hi there"
    assert_output --partial "flexiai: answered by secondary (primary: overloaded)"
    run script -qec "flexiai complete -q --no-stream 'hi there' </dev/null" /dev/null
    refute_output --partial "answered by"
    run --separate-stderr flexiai complete --no-stream "hi there" </dev/null
    assert_success
    assert_equal "$stderr" ""
}

@test "--on-stream-error=fail keeps the partial text and exits 75" {
    mock_script p1 "truncate_after=2,chunks=4"
    run --separate-stderr flexiai complete --stream --on-stream-error=fail "aaaa bbbb xxxx yyyy" </dev/null
    assert_failure 75
    assert_output "aaaa bbbb"
    assert_equal "$(mock_count s1)" 0
}

@test "--no-failover and -p restrict to one provider" {
    mock_script p1 "status=503"
    run --separate-stderr flexiai complete --no-failover "hi" </dev/null
    assert_failure 75
    assert_equal "$(mock_count s1)" 0
    run --separate-stderr flexiai complete -p secondary "hi" </dev/null
    assert_success
    assert_equal "$(mock_count p1)" 2
}

@test "exit codes when nothing answers: 75 when one may answer later, 77 auth, 69 otherwise" {
    mock_script p1 "status=503"
    mock_script s1 "status=500"
    run flexiai complete --json "hi" </dev/null
    assert_failure 75
    assert_equal "$(jq -r .exit_code <<<"$output")" 75
    mock_reset
    mock_script p1 "status=401"
    mock_script s1 "status=403"
    run flexiai complete "hi" </dev/null
    assert_failure 77
    mock_reset
    # one may answer later: 75 (a cron job retries)
    mock_script p1 "status=401"
    mock_script s1 "status=503"
    run --separate-stderr flexiai complete "hi" </dev/null
    assert_failure 75
    [[ "$stderr" == "flexiai: primary: auth"*"secondary: overloaded"* ]]
    # none may: 69
    mock_reset
    flexiai breaker reset --all
    mock_script p1 "status=429,error_type=insufficient_quota"
    mock_script s1 "status=401"
    run --separate-stderr flexiai complete "hi" </dev/null
    assert_failure 69
}

@test "-v prints the trail of every attempt and skip" {
    sed -i 's/^retries = 1/retries = 0/; s/^failure_threshold = 5/failure_threshold = 1/' "$CONFIG"
    mock_script p1 "status=503"
    flexiai complete "x" </dev/null >/dev/null
    run --separate-stderr flexiai complete -v "hi" </dev/null
    assert_success
    [[ "$stderr" == *"primary gpt"*"skipped, breaker open"* || "$stderr" == *"primary openai-model: skipped, breaker open"* ]]
    [[ "$stderr" == *"secondary anthropic-model POST"*"HTTP 200"* ]]
}
