#!/usr/bin/env bats
# What a person sees (issue 25): options where people type them, the
# Prometheus recipe with Redis down, warnings instead of silent fallback,
# exit codes a cron job can act on, one conversation per chat session.

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

# a configuration with one provider only, in a file of its own
write_two_ini() {
    provider_section only openai p1 >"$TEST_HOME/two.ini"
    chmod 600 "$TEST_HOME/two.ini"
}

# ---- 25.7 options before and after a subcommand -------------------------

@test "breaker: -c, -q and -v go after the subcommand's name too" {
    write_two_ini
    run --separate-stderr flexiai breaker status -c "$TEST_HOME/two.ini"
    assert_success
    assert_line --index 1 --regexp '^only +closed '
    [ "${#lines[@]}" -eq 2 ]
    run --separate-stderr flexiai breaker -c "$TEST_HOME/two.ini" status
    assert_success
    assert_line --index 1 --regexp '^only +closed '
    run --separate-stderr flexiai breaker status --json -q --config "$TEST_HOME/two.ini" only
    assert_success
    assert_equal "$(jq -r '.[0].provider' <<<"$output")" only
    run --separate-stderr flexiai breaker reset --all -c "$TEST_HOME/two.ini"
    assert_success
    # its help lists them
    run flexiai breaker status --help
    assert_line --regexp '^  -c, --config FILE +configuration file'
    # a subcommand's own options stay its own
    run --separate-stderr flexiai breaker check --json
    assert_failure 64
}

@test "logs: -c after a subcommand's name" {
    write_two_ini
    run --separate-stderr flexiai logs path -c "$TEST_HOME/two.ini"
    assert_success
    run --separate-stderr flexiai logs path -V
    assert_success
    assert_output --partial flexiai
}

# ---- 25.5 the Prometheus recipe with Redis down --------------------------

@test "prometheus recipe: Redis stopped, the file is replaced and says store_up 0, nothing on stderr" {
    start_redis
    printf '[sync]\nbackend = redis\nredis_url = redis://127.0.0.1:%s/0\nredis_socket_timeout = 0.5\nredis_socket_connect_timeout = 0.5\n' \
        "$REDIS_PORT" >>"$CONFIG"
    d=$TEST_HOME/textfile
    mkdir "$d"
    # the README's recipe, word for word but for the directory, as cron
    # runs it (sh -c)
    line=$(grep -m1 '^    \* \* \* \* \* d=.*breaker -q status --prometheus' "$SRCDIR/README")
    [ -n "$line" ]
    job=${line#    \* \* \* \* \* }
    job=${job//\/var\/lib\/prometheus\/node-exporter/$d}
    [[ "$job" == "d=$d; flexiai breaker -q status --prometheus > "* ]] || fail "job: $job"
    recipe() { sh -c "$job"; }
    run --separate-stderr recipe
    assert_success
    assert_equal "$stderr" ""
    grep -qx 'flexiai_breaker_store_up{backend="redis"} 1' "$d/flexiai.prom"
    stop_redis
    run --separate-stderr recipe
    assert_success
    assert_equal "$stderr" ""
    grep -qx 'flexiai_breaker_store_up{backend="redis"} 0' "$d/flexiai.prom"
    grep -q '^flexiai_breaker_state{provider="primary",state="closed",backend="file"} 1$' "$d/flexiai.prom"
    [ ! -e "$d/flexiai.prom.tmp" ]
    if [ -n "${PROMTOOL:-}" ] && command -v "$PROMTOOL" >/dev/null; then
        "$PROMTOOL" check metrics <"$d/flexiai.prom"
    fi
    # without -q the news is a warning on stderr; the table still exits 69
    run --separate-stderr flexiai breaker status --prometheus
    assert_success
    [[ "$stderr" == *"flexiai: warning: the redis store did not answer: the fallback's state shown" ]] || fail "stderr: $stderr"
    run --separate-stderr flexiai breaker status
    assert_failure 69
    # a write that fails is still a failure
    run --separate-stderr sh -c 'flexiai breaker -q status --prometheus >/dev/full'
    assert_failure 74
}

# ---- 25.4 exit codes and --json for every outcome -------------------------

@test "complete --json: one JSON object for 64, 66 and 78 too" {
    run --separate-stderr flexiai complete --bogus --json hi </dev/null
    assert_failure 64
    assert_equal "$(jq -r .exit_code <<<"$output")" 64
    assert_equal "$(jq -r .error <<<"$output")" "option '--bogus': unknown, or missing its argument"
    assert_equal "$(jq -r '.attempts | length' <<<"$output")" 0
    [[ "$stderr" == "flexiai: option '--bogus'"* ]]
    run --separate-stderr flexiai complete --json </dev/null
    assert_failure 66
    assert_equal "$(jq -r .exit_code <<<"$output")" 66
    assert_equal "$(jq -r .text <<<"$output")" null
    run --separate-stderr flexiai complete --json -p nope hi </dev/null
    assert_failure 64
    [[ "$(jq -r .error <<<"$output")" == "no provider 'nope'"* ]]
    printf '[provider.x]\ntype = nosuch\n' >"$TEST_HOME/bad.ini"
    run --separate-stderr flexiai complete -c "$TEST_HOME/bad.ini" --json hi </dev/null
    assert_failure 78
    assert_equal "$(jq -r .exit_code <<<"$output")" 78
    [[ "$(jq -r .error <<<"$output")" == *"unknown provider type 'nosuch'"* ]]
    run --separate-stderr flexiai complete --json -C hi </dev/null
    assert_failure 66
    assert_equal "$(jq -r .exit_code <<<"$output")" 66
    # without --json, stdout stays empty
    run --separate-stderr flexiai complete --bogus hi </dev/null
    assert_failure 64
    assert_output ""
    # "--json" after -- is a word of the prompt
    mock_script p1 "reply=ok"
    run --separate-stderr flexiai complete -- --json </dev/null
    assert_success
    assert_output ok
}

# ---- 25.3 no silent fallback from a broken provider ----------------------

@test "complete: a primary whose key is refused or unset is one warning line, even when the backup answers" {
    sed -i 's/^failure_threshold = 2$/failure_threshold = 100/' "$CONFIG"
    mock_script p1 "status=401"
    run --separate-stderr flexiai complete "hi" </dev/null
    assert_success
    assert_output hi
    [[ "$stderr" == "flexiai: warning: primary is not usable: credentials refused (HTTP 401"*"); answered by secondary" ]] || fail "stderr: $stderr"
    [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
    run --separate-stderr flexiai complete -q "hi" </dev/null
    assert_success
    assert_equal "$stderr" ""
    # --json records it (and says nothing more on stdout)
    run --separate-stderr flexiai complete --json "hi" </dev/null
    assert_equal "$(jq -r '.attempts[0].error_class' <<<"$output")" auth
    # api_key_env unset
    mock_reset
    sed -i 's/^api_key = test-key-primary$/api_key_env = UX_UNSET_KEY/' "$CONFIG"
    unset UX_UNSET_KEY
    run --separate-stderr flexiai complete "hi" </dev/null
    assert_success
    assert_output hi
    [[ "$stderr" == "flexiai: warning: primary is not usable: configuration ("*UX_UNSET_KEY*"); answered by secondary" ]] || fail "stderr: $stderr"
    [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
    assert_equal "$(mock_count p1)" 0
}

@test "batch: one warning per broken provider per run, not one per item" {
    mock_script p1 "status=403"
    run --separate-stderr flexiai batch --progress=no -j 2 <<<"$(printf '{"prompt":"a"}\n{"prompt":"b"}\n{"prompt":"c"}\n')"
    assert_success
    [ "${#lines[@]}" -eq 3 ]
    assert_equal "$(grep -c 'warning: primary is not usable: credentials refused' <<<"$stderr")" 1
    run --separate-stderr flexiai batch -q --progress=no <<<"$(printf '{"prompt":"a"}\n')"
    assert_success
    [[ "$stderr" != *"not usable"* ]] || fail "stderr: $stderr"
}

@test "chat: a provider without its key is one warning per run, -q silences it" {
    sed -i 's/^api_key = test-key-primary$/api_key_env = UX_UNSET_KEY/' "$CONFIG"
    unset UX_UNSET_KEY
    run --separate-stderr flexiai chat <<<$'hi\nthere'
    assert_success
    assert_equal "$(grep -c 'warning: primary is not usable: configuration' <<<"$stderr")" 1
    run --separate-stderr flexiai chat -q <<<$'hi\nthere'
    assert_success
    assert_equal "$stderr" ""
}

# ---- 25.9 a continued answer reads as one answer --------------------------

@test "complete -v into one file (2>&1): the answer's line is whole, every stderr line on a line of its own" {
    mock_script p1 "truncate_after=2,chunks=4"
    mock_script s1 "reply=%20cccc dddd"
    flexiai complete --stream -v "aaaa bbbb xxxx yyyy" </dev/null >"$TEST_HOME/screen" 2>&1
    run cat "$TEST_HOME/screen"
    assert_line "aaaa bbbb cccc dddd"
    assert_line "flexiai: primary broke off after 9 bytes (stream_error); secondary continued the answer"
    # nothing glued to the answer, and the notice after it
    run grep -c 'flexiai:' "$TEST_HOME/screen"
    [ "$(grep -c '^flexiai: ' "$TEST_HOME/screen")" -eq "$output" ]
    [ "$(grep -n '^aaaa bbbb cccc dddd$' "$TEST_HOME/screen" | cut -d: -f1)" -lt \
        "$(grep -n 'broke off' "$TEST_HOME/screen" | cut -d: -f1)" ]
    # a line held back goes out when the answer's line ends, not at the end
    mock_reset
    mock_script p1 "status=503"
    mock_script s1 $'reply=one\ntwo,chunks=2'
    flexiai complete --stream -v "x" </dev/null >"$TEST_HOME/screen2" 2>&1
    run cat "$TEST_HOME/screen2"
    [ "$(grep -c '^flexiai: ' "$TEST_HOME/screen2")" -eq "$(grep -c 'flexiai:' "$TEST_HOME/screen2")" ]
    assert_line "one"
    assert_line "two"
    # separate places: stdout exactly the answer
    run --separate-stderr flexiai complete --stream -v "x" </dev/null
    assert_output $'one\ntwo'
}

# ---- 25.6 why a breaker opened is visible ---------------------------------

@test "breaker status shows the last error; open --reason keeps why (file store)" {
    mock_script p1 "status=401"
    flexiai complete "a" </dev/null >/dev/null 2>&1
    flexiai complete "b" </dev/null >/dev/null 2>&1
    run --separate-stderr flexiai breaker status
    assert_success
    assert_line --index 0 --regexp ' CHANGED BY +LAST ERROR$'
    assert_line --index 1 --regexp '^primary +open +2 .* auth: HTTP 401 invalid_api_key: Incorrect API key provided \(mock\)\.$'
    # a closed row ends where it always did
    assert_line --index 2 --regexp '^secondary +closed +0 +- +- +file +-$'
    run --separate-stderr flexiai breaker status --json
    assert_equal "$(jq -r '.[0].last_error_class' <<<"$output")" auth
    [[ "$(jq -r '.[0].last_error' <<<"$output")" == "HTTP 401 invalid_api_key"* ]]
    assert_equal "$(jq -r '.[1].last_error_class' <<<"$output")" null
    # by hand, with a reason
    run --separate-stderr flexiai breaker open --for 1h --reason "maintenance window, ticket 42" secondary
    assert_success
    run --separate-stderr flexiai breaker status secondary
    assert_line --index 1 --regexp '^secondary +open .*  manual: maintenance window, ticket 42$'
    run --separate-stderr flexiai breaker status --json secondary
    assert_equal "$(jq -r '.[0].reason' <<<"$output")" manual
    assert_equal "$(jq -r '.[0].last_error_class' <<<"$output")" manual
    assert_equal "$(jq -r '.[0].last_error' <<<"$output")" "maintenance window, ticket 42"
    # a reset closes it: the table says nothing more about it
    flexiai breaker reset secondary
    run --separate-stderr flexiai breaker status secondary
    assert_line --index 1 --regexp '^secondary +closed +0 .* file +[^ ]+$'
    # one line of printable text only
    run --separate-stderr flexiai breaker open --reason $'two\nlines' secondary
    assert_failure 64
    run --separate-stderr flexiai breaker open --reason "" secondary
    assert_failure 64
}

@test "breaker open --reason over Redis: the opened event carries it, watch shows it; check says why the store is unknown" {
    start_redis
    BG_PIDS=
    printf '[sync]\nbackend = redis\nredis_url = redis://127.0.0.1:%s/0\nredis_socket_timeout = 0.5\nredis_socket_connect_timeout = 0.5\n' \
        "$REDIS_PORT" >>"$CONFIG"
    redis-cli -p "$REDIS_PORT" subscribe flexiai:events >"$TEST_HOME/sub.out" 2>/dev/null 3>&- &
    sub_pid=$!
    flexiai breaker watch >"$TEST_HOME/watch.out" 2>/dev/null 3>&- &
    watch_pid=$!
    for i in $(seq 1 200); do
        [ "$(redis-cli -p "$REDIS_PORT" pubsub numsub flexiai:events | tail -1)" -ge 2 ] && break
        sleep 0.05
    done
    run --separate-stderr flexiai breaker open --reason "disk swap on db1" primary
    assert_success
    for i in $(seq 1 200); do
        grep -q 'opened' "$TEST_HOME/watch.out" && grep -q CircuitBreakerEvent "$TEST_HOME/sub.out" && break
        sleep 0.05
    done
    kill "$sub_pid" "$watch_pid"
    wait "$sub_pid" "$watch_pid" || true
    ev=$(grep CircuitBreakerEvent "$TEST_HOME/sub.out")
    # the Python FlexiAI layout, one member more in metadata
    assert_equal "$(jq -r .metadata.reason <<<"$ev")" "disk swap on db1"
    assert_equal "$(jq -r .event_type <<<"$ev")" opened
    assert_equal "$(jq -r .__event_type__ <<<"$ev")" CircuitBreakerEvent
    assert_equal "$(jq -r '.metadata | keys | join(",")' <<<"$ev")" "failure_count,reason,success_count"
    [[ "$ev" == *'"metadata": {"failure_count": 0, "success_count": 0, "reason": "disk swap on db1"}, "__event_type__": "CircuitBreakerEvent"}' ]] || fail "event: $ev"
    run grep -cE ' primary +opened +reason=manual: disk swap on db1 worker=' "$TEST_HOME/watch.out"
    assert_output 1
    run --separate-stderr flexiai breaker status --json primary
    assert_equal "$(jq -r '.[0].last_error' <<<"$output")" "disk swap on db1"
    # Redis gone: the Nagios line says why
    stop_redis
    run --separate-stderr flexiai breaker -q check
    assert_failure 3
    assert_output --regexp "^BREAKERS UNKNOWN - breaker store unreachable: .*127\.0\.0\.1:$REDIS_PORT.*$"
}

# ---- 25.8 one conversation per session ------------------------------------

# cid of the latest ledger record of COMMAND
latest_cid() { flexiai logs --json -n 20 | jq -r --arg c "$1" 'select(.command == $c) | .conversation_id' | tail -1; }

@test "chat --session keeps one conversation id across resumes; /show shows it; complete -C continues it" {
    run --separate-stderr flexiai chat --session proj <<<"one"
    assert_success
    run --separate-stderr flexiai chat --session proj <<<"two"
    assert_success
    state=$XDG_DATA_HOME/flexiai/sessions/proj.state
    cid=$(jq -r .conversation_id "$state")
    [[ "$cid" =~ ^[0-9a-f]{16}$ ]]
    run flexiai logs --cid "$cid" --json
    [ "${#lines[@]}" -eq 2 ]
    assert_equal "$(jq -r .text <<<"${lines[1]}")" two
    # the conversation so far, with its id
    run --separate-stderr flexiai chat --session proj <<<"/show"
    assert_success
    assert_equal "$output" $'you:\none\n\nanswer:\none\n\nyou:\ntwo\n\nanswer:\ntwo'
    # complete -C continues the latest complete or chat conversation ...
    run --separate-stderr flexiai complete -C "three" </dev/null
    assert_success
    assert_equal "$(mock_last_body p1 | jq -r '[.messages[].content] | join(",")')" "one,one,two,two,three"
    run flexiai logs --cid "$cid" --json
    [ "${#lines[@]}" -eq 3 ]
    # ... never a batch item
    run flexiai batch --progress=no <<<'{"id":"t1","prompt":"ticket"}'
    assert_success
    run --separate-stderr flexiai complete -C "four" </dev/null
    assert_success
    assert_equal "$(mock_last_body p1 | jq -r '[.messages[].content] | join(",")')" "one,one,two,two,three,three,four"
    run flexiai logs --cid "$cid" --json
    [ "${#lines[@]}" -eq 4 ]
}

@test "chat --cid continues a ledger conversation under its id" {
    flexiai complete "alpha" </dev/null >/dev/null
    cid=$(latest_cid complete)
    run --separate-stderr flexiai chat --cid "$cid" <<<"beta"
    assert_success
    assert_equal "$(mock_last_body p1 | jq -r '[.messages[].content] | join(",")')" "alpha,alpha,beta"
    run flexiai logs --cid "$cid" --json
    [ "${#lines[@]}" -eq 2 ]
    assert_equal "$(jq -r .command <<<"${lines[1]}")" chat
    run --separate-stderr flexiai chat --cid nosuch <<<"x"
    assert_failure 66
    run --separate-stderr flexiai chat --cid "$cid" --load /dev/null <<<"x"
    assert_failure 64
    # with a session: the session goes on with that conversation
    run --separate-stderr flexiai chat --cid "$cid" --session s2 <<<"gamma"
    assert_success
    assert_equal "$(jq -r .conversation_id "$XDG_DATA_HOME/flexiai/sessions/s2.state")" "$cid"
}

@test "chat --session keeps the /provider choice; -p wins; /provider auto undoes it" {
    run --separate-stderr flexiai chat --session pp <<<$'/provider secondary\nhi'
    assert_success
    assert_equal "$(mock_count s1)" 1
    assert_equal "$(jq -r .provider "$XDG_DATA_HOME/flexiai/sessions/pp.state")" secondary
    # resumed: still secondary
    run --separate-stderr flexiai chat --session pp <<<$'/provider\nagain'
    assert_success
    assert_line --index 0 secondary
    assert_equal "$(mock_count s1)" 2
    assert_equal "$(mock_count p1)" 0
    # -p wins, and the session keeps it
    run --separate-stderr flexiai chat -p primary --session pp <<<"third"
    assert_equal "$(mock_count p1)" 1
    assert_equal "$(jq -r .provider "$XDG_DATA_HOME/flexiai/sessions/pp.state")" primary
    run --separate-stderr flexiai chat --session pp <<<$'/provider auto'
    assert_equal "$(jq -r .provider "$XDG_DATA_HOME/flexiai/sessions/pp.state")" null
}

# ---- 25.15 doc and message fixes -------------------------------------------

@test "config show: no built-in redis_host/redis_port beside redis_sentinels" {
    printf '[sync]\nbackend = redis\nredis_sentinels = 127.0.0.1:26379\nredis_sentinel_master = m\n' >>"$CONFIG"
    run --separate-stderr flexiai config show
    refute_line --partial 'sync.redis_host'
    refute_line --partial 'sync.redis_port'
    assert_line --regexp '^sync.redis_sentinels = 127.0.0.1:26379  ; .*config.ini:[0-9]+$'
    run --separate-stderr flexiai config show --json
    assert_equal "$(jq '[.[] | select(.key == "redis_host")] | length' <<<"$output")" 0
    # without sentinels they are there
    sed -i '/redis_sentinel/d' "$CONFIG"
    run --separate-stderr flexiai config show
    assert_line 'sync.redis_host = 127.0.0.1  ; default'
}

@test "batch --help says batch's --stream default; the man pages render without stray requests" {
    run flexiai batch --help
    assert_line --regexp '^      --stream +ask for streamed answers \(default: no, unless$'
    run flexiai complete --help
    assert_line --regexp '^      --stream +stream the answer \(default: when stdout is a terminal\)$'
    [ -n "${MANDOC:-}" ] || MANDOC=mandoc
    command -v "$MANDOC" >/dev/null || skip "mandoc not installed"
    run sh -c "'$MANDOC' -Tutf8 '$SRCDIR/man/flexiai-complete.1' | col -b"
    refute_output --partial '..It'
    assert_output --partial 'rate_limited_local'
    run sh -c "'$MANDOC' -Tutf8 '$SRCDIR/man/flexiai.ini.5' | col -b"
    assert_output --regexp 'flexiai-batch\(1\), .*flexiai-logs\(1\), flexiai-usage\(1\)'
}
