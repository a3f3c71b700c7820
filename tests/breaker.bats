#!/usr/bin/env bats
# flexiai breaker: status, reset, open, check (file store).

load helpers

setup() {
    setup_env
    start_mockllm
    {
        printf '[failover]\nretries = 0\n[breaker]\nfailure_threshold = 2\nrecovery_timeout = 60\n\n'
        provider_section primary openai p1 "priority = 1"
        provider_section secondary anthropic s1 "priority = 2"
    } | write_config
}

open_primary_by_failures() {
    mock_script p1 "status=503"
    flexiai complete "a" </dev/null >/dev/null
    flexiai complete "b" </dev/null >/dev/null
}

@test "status: a table of every configured provider" {
    run --separate-stderr flexiai breaker status
    assert_success
    assert_line --index 0 --regexp '^PROVIDER +STATE +FAILURES +SINCE +NEXT PROBE +BACKEND +CHANGED BY$'
    assert_line --index 1 --regexp '^primary +closed +0 +- +- +file +[^ ]+$'
    assert_line --index 2 --regexp '^secondary +closed +0 +- +- +file +[^ ]+$'
    assert_equal "$stderr" ""
}

@test "status after failures shows the open breaker with its next probe time" {
    open_primary_by_failures
    run flexiai breaker status primary
    assert_success
    assert_line --index 1 --regexp '^primary +open +2 +[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8} +[0-9-]+ [0-9:]+ \(in ([0-9]+m)?[0-9]+s\) +file +[^ ]+  overloaded: HTTP 503 server_error: The server is overloaded \(mock\)$'
    assert_line --index 0 --regexp ' CHANGED BY +LAST ERROR$'
    [ "${#lines[@]}" -eq 2 ]
}

@test "status --json" {
    open_primary_by_failures
    run flexiai breaker status --json
    assert_success
    assert_equal "$(jq -r '.[0].provider' <<<"$output")" primary
    assert_equal "$(jq -r '.[0].state' <<<"$output")" open
    assert_equal "$(jq -r '.[0].failure_count' <<<"$output")" 2
    assert_equal "$(jq -r '.[0].usable' <<<"$output")" false
    assert_equal "$(jq -r '.[0].reason' <<<"$output")" failure_threshold
    assert_equal "$(jq -r '.[0].backend' <<<"$output")" file
    assert_equal "$(jq -r '.[1].state' <<<"$output")" closed
    [[ "$(jq -r '.[0].changed_by' <<<"$output")" == "$(hostname):"* ]]
}

@test "status --prometheus is valid text exposition format" {
    open_primary_by_failures
    run flexiai breaker status --prometheus
    assert_success
    assert_line 'flexiai_breaker_store_up{backend="file"} 1'
    assert_line 'flexiai_breaker_state{provider="primary",state="open",backend="file"} 1'
    assert_line 'flexiai_breaker_state{provider="primary",state="closed",backend="file"} 0'
    assert_line 'flexiai_breaker_failures{provider="primary"} 2'
    assert_line 'flexiai_breaker_usable{provider="secondary"} 1'
    assert_line '# TYPE flexiai_breaker_state gauge'
    # every sample line: name{labels} value
    while IFS= read -r l; do
        [[ "$l" == "#"* ]] && continue
        [[ "$l" =~ ^[a-z_]+\{[a-z_]+=\"[^\"]*\"(,[a-z_]+=\"[^\"]*\")*\}\ [0-9.]+$ ]] || { echo "bad line: $l"; false; }
    done <<<"$output"
}

@test "reset closes an open breaker and traffic resumes" {
    open_primary_by_failures
    run flexiai breaker reset primary
    assert_success
    assert_output ""
    run flexiai breaker status --json primary
    assert_equal "$(jq -r '.[0].state' <<<"$output")" closed
    assert_equal "$(jq -r '.[0].failure_count' <<<"$output")" 0
    mock_reset
    run flexiai complete "back" </dev/null
    assert_output "back"
    assert_equal "$(mock_count p1)" 1
}

@test "reset --all and argument errors" {
    open_primary_by_failures
    run flexiai breaker reset --all
    assert_success
    run flexiai breaker status --json
    assert_equal "$(jq -r 'map(.state) | unique | join(",")' <<<"$output")" closed
    run --separate-stderr flexiai breaker reset
    assert_failure 64
    run --separate-stderr flexiai breaker reset --all primary
    assert_failure 64
    run --separate-stderr flexiai breaker reset ../etc
    assert_failure 64
    [[ "$stderr" == "flexiai: "* ]]
}

@test "open NAME --for DURATION: skipped until then, no traffic" {
    before=$(date +%s)
    run flexiai breaker open primary --for 10m
    after=$(date +%s)
    assert_success
    run flexiai breaker status --json primary
    assert_equal "$(jq -r '.[0].state' <<<"$output")" open
    assert_equal "$(jq -r '.[0].reason' <<<"$output")" manual
    # ten minutes from when open ran, however long that took
    retry=$(jq -r '.[0].retry_at | floor' <<<"$output")
    assert [ "$retry" -ge $((before + 600)) ]
    assert [ "$retry" -le $((after + 600)) ]
    run flexiai complete --json "x" </dev/null
    assert_success
    assert_equal "$(jq -r .provider <<<"$output")" secondary
    assert_equal "$(mock_count p1)" 0
}

@test "open NAME without --for stays open until reset, even after recovery_timeout" {
    sed -i 's/^recovery_timeout = 60/recovery_timeout = 0.1/' "$CONFIG"
    flexiai breaker open primary
    # past recovery_timeout: a timed open breaker would admit a probe now
    # (a longer sleep on a loaded machine changes nothing)
    sleep 0.3
    run flexiai complete "x" </dev/null
    assert_success
    assert_equal "$(mock_count p1)" 0
    run flexiai breaker status primary
    assert_line --index 1 --regexp 'until reset'
    flexiai breaker reset primary
    run flexiai complete "x" </dev/null
    assert_equal "$(mock_count p1)" 1
}

@test "open: bad durations and names exit 64" {
    for args in "primary --for soon" "primary --for -5" "" "a b"; do
        run --separate-stderr flexiai breaker open $args
        assert_failure 64
        [[ "$stderr" == "flexiai: "* ]]
    done
}

@test "check: 0 all closed, 1 one open but usable, 2 none usable" {
    run flexiai breaker check
    assert_success
    assert_output --partial "BREAKERS OK"
    flexiai breaker open primary
    run flexiai breaker check
    assert_failure 1
    assert_output --partial "BREAKERS WARNING"
    flexiai breaker open secondary
    run flexiai breaker check
    assert_failure 2
    assert_output --partial "BREAKERS CRITICAL"
}

@test "check: a half-open breaker with a free probe slot counts as usable" {
    sed -i 's/^recovery_timeout = 60/recovery_timeout = 0.2/' "$CONFIG"
    open_primary_by_failures
    flexiai breaker open secondary
    sleep 0.3
    run flexiai breaker check
    assert_failure 1
}

@test "unknown subcommand or option exits 64 with one line" {
    run --separate-stderr flexiai breaker frobnicate
    assert_failure 64
    [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
    run --separate-stderr flexiai breaker status --frob
    assert_failure 64
    run --separate-stderr flexiai breaker
    assert_failure 64
}

@test "watch with the file store explains that it needs Redis (exit 69)" {
    run --separate-stderr flexiai breaker watch
    assert_failure 69
    [[ "$stderr" == "flexiai: "*"Redis"* ]]
}

@test "the state document is the Python FlexiAI shape plus ours" {
    open_primary_by_failures
    f=$XDG_STATE_HOME/flexiai/breakers/primary.json
    run jq -r '[.state, .failure_count, .success_count] | map(tostring) | join(",")' "$f"
    assert_output "open,2,0"
    run jq -r 'has("opened_at") and has("retry_at") and has("changed_at") and has("changed_by")' "$f"
    assert_output true
    [ "$(stat -c %a "$XDG_STATE_HOME/flexiai/breakers")" = 700 ]
    # no temporary file left ('! cmd' cannot fail a test under set -e)
    run ls "$XDG_STATE_HOME/flexiai/breakers"
    refute_output --partial tmp
}

@test "a skip explains itself: since when, after what, when the next probe goes, how to close it" {
    mock_script p1 "status=503,error_message=upstream%20down"
    flexiai complete "a" </dev/null >/dev/null
    flexiai complete "b" </dev/null >/dev/null
    # the last real error is kept in the state document
    local doc=$XDG_STATE_HOME/flexiai/breakers/primary.json
    assert_equal "$(jq -r .last_class "$doc")" overloaded
    assert_equal "$(jq -r .last_error "$doc")" "HTTP 503 server_error: upstream down"
    run --separate-stderr flexiai complete -v "c" </dev/null
    assert_success
    assert_output "c"
    [[ "$stderr" =~ "primary openai-model: skipped, breaker open since "[0-9]{2}:[0-9]{2}:[0-9]{2}" after 2 x overloaded (HTTP 503 server_error: upstream down); next probe "[0-9]{2}:[0-9]{2}:[0-9]{2}" (in "[0-9a-z]+"); 'flexiai breaker reset primary' closes it" ]] ||
        fail "stderr: $stderr"
    # with no provider left, the exit line says the same
    mock_script s1 "status=503"
    run --separate-stderr flexiai complete "d" </dev/null
    assert_failure 75
    [[ "$stderr" == "flexiai: primary: skipped, breaker open since "*"; 'flexiai breaker reset primary' closes it; secondary: overloaded"* ]] ||
        fail "stderr: $stderr"
}

@test "a breaker opened by hand says so, and until when" {
    flexiai breaker open --for 10m primary
    run --separate-stderr flexiai complete -v -p primary "c" </dev/null
    assert_failure 75
    [[ "$stderr" == *"primary: skipped, breaker opened by hand at "*" until "*" (in "*"); 'flexiai breaker reset primary' closes it" ]] ||
        fail "stderr: $stderr"
}
