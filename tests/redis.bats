#!/usr/bin/env bats
# The circuit breakers shared through Redis: state documents, events in the
# Python FlexiAI format, fallback to the file store when Redis is in trouble.

load helpers

setup() {
    setup_env
    BG_PIDS=
    start_mockllm
    start_redis
    write_base
}

teardown() {
    kill_bg
    teardown_env
}

write_base() {
    {
        printf '[failover]\nretries = 0\nbackoff_base = 0.01\nbackoff_max = 0.05\n'
        printf '[breaker]\nfailure_threshold = 2\nrecovery_timeout = 60\n'
        printf '[sync]\nbackend = redis\nredis_url = redis://127.0.0.1:%s/0\n' "$REDIS_PORT"
        printf 'redis_socket_timeout = 0.5\nredis_socket_connect_timeout = 0.5\nstate_ttl = 600\n\n'
        provider_section primary openai p1 "priority = 1"
        provider_section secondary anthropic s1 "priority = 2"
    } | write_config
} </dev/null

# ini_set SECTION KEY VALUE [FILE]: replace the key's line, or add it at the
# top of the section
ini_set() {
    local f=${4:-$CONFIG}
    if grep -q "^$2 = " "$f"; then
        sed -i "s|^$2 = .*|$2 = $3|" "$f"
    else
        sed -i "/^\[$1\]\$/a $2 = $3" "$f"
    fi
}

doc() { redis_cli GET "flexiai:state:$1"; }
doc_field() { doc "$1" | jq -r ".$2"; }
file_doc() { echo "$XDG_STATE_HOME/flexiai/breakers/$1.json"; }

open_primary_by_failures() {
    mock_script p1 "status=503"
    flexiai complete "a" </dev/null >/dev/null
    flexiai complete "b" </dev/null >/dev/null
}

# The published events (payload lines of start_subscriber's file)
events() { grep '^{' "$1"; }

# python_dumps_equal: every stdin line is what Python's json.dumps() writes
# for the object it holds (key order, ", " and ": " separators)
python_dumps_equal() {
    python3 -c '
import json, sys
for line in sys.stdin.read().splitlines():
    if json.dumps(json.loads(line)) != line:
        print("not json.dumps() bytes: " + line)
        sys.exit(1)
'
}

EVENT_RE='^\{"provider_name": "([^"]+)", "event_type": "(opened|closed|half_open|failure|success)", "worker_id": "([^"]+)", "timestamp": "([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{6})?)", "metadata": \{"failure_count": ([0-9]+), "success_count": ([0-9]+)\}, "__event_type__": "CircuitBreakerEvent"\}$'

# ---- 1 ------------------------------------------------------------------

@test "two processes see each other's breaker state through Redis, not a shared file" {
    mock_script p1 "status=503"
    run flexiai complete "a" </dev/null
    assert_success
    assert_output "a"
    run flexiai complete "b" </dev/null
    assert_success
    assert_output "b"

    other=$TEST_HOME/other-state
    run --separate-stderr env XDG_STATE_HOME="$other" flexiai breaker status --json
    assert_success
    assert_equal "$stderr" ""
    assert_equal "$(jq -r '.[0].provider' <<<"$output")" primary
    assert_equal "$(jq -r '.[0].state' <<<"$output")" open
    assert_equal "$(jq -r '.[0].failure_count' <<<"$output")" 2
    assert_equal "$(jq -r '.[0].reason' <<<"$output")" failure_threshold
    assert_equal "$(jq -r '.[0].usable' <<<"$output")" false
    assert_equal "$(jq -r '.[0].backend' <<<"$output")" redis
    assert_equal "$(jq -r '.[1].state' <<<"$output")" closed
    assert_equal "$(jq -r '.[1].backend' <<<"$output")" redis

    # a third process with yet another state directory skips the primary
    run --separate-stderr env XDG_STATE_HOME="$TEST_HOME/third" flexiai complete --json "c" </dev/null
    assert_success
    assert_equal "$(jq -r .provider <<<"$output")" secondary
    assert_equal "$(jq -r '.attempts[0].outcome' <<<"$output")" skipped
    assert_equal "$(mock_count p1)" 2

    # the key, in the Python layout, with our TTL
    assert_equal "$(redis_cli TYPE flexiai:state:primary)" string
    assert_equal "$(doc_field primary state)" open
    assert_equal "$(doc_field primary failure_count)" 2
    assert_equal "$(doc_field primary success_count)" 0
    ttl=$(redis_cli TTL flexiai:state:primary)
    assert [ "$ttl" -gt 0 ]
    assert [ "$ttl" -le 600 ]
    # and no state file anywhere: the state lives in Redis only
    [ ! -e "$(file_doc primary)" ]
    [ ! -e "$other/flexiai/breakers/primary.json" ]
}

# ---- 2 ------------------------------------------------------------------

@test "200 concurrent processes each recording a failure leave failure_count exactly 200" {
    ini_set breaker failure_threshold 1000
    mock_script p1 "status=500"
    pids=
    for i in $(seq 1 200); do
        flexiai complete "x $i" </dev/null >"$TEST_HOME/out.$i" 2>"$TEST_HOME/err.$i" &
        pids="$pids $!"
    done
    failed=0
    for p in $pids; do wait "$p" || failed=$((failed + 1)); done
    assert_equal "$failed" 0
    assert_equal "$(mock_count p1)" 200
    assert_equal "$(doc_field primary failure_count)" 200
    assert_equal "$(doc_field primary state)" closed
    for i in $(seq 1 200); do
        assert_equal "$(cat "$TEST_HOME/out.$i")" "x $i"
    done
    assert_equal "$(cat "$TEST_HOME"/err.* | head -3)" ""
}

# ---- 3 ------------------------------------------------------------------

@test "after the recovery timeout, 50 concurrent processes send exactly half_open_max_calls probes and all answer" {
    ini_set breaker recovery_timeout 1
    ini_set breaker half_open_max_calls 2
    open_primary_by_failures
    assert_equal "$(doc_field primary state)" open
    mock_reset
    # the probes are held until the others have decided, however slowly a
    # loaded machine starts 50 processes
    mock_script p1 "wait_file=$TEST_HOME/release"
    start_subscriber "$TEST_HOME/sub.out"
    sleep 1.1
    pids=
    for i in $(seq 1 50); do
        flexiai complete "job $i" </dev/null >"$TEST_HOME/out.$i" 2>&1 &
        pids="$pids $!"
    done
    running_at_most 2 $pids
    touch "$TEST_HOME/release"
    failed=0
    for p in $pids; do wait "$p" || failed=$((failed + 1)); done
    assert_equal "$failed" 0
    assert_equal "$(mock_count p1)" 2
    assert_equal "$(mock_count s1)" 48
    for i in $(seq 1 50); do
        assert_equal "$(cat "$TEST_HOME/out.$i")" "job $i"
    done
    assert_equal "$(doc_field primary state)" closed
    assert_equal "$(doc_field primary reason)" probe_succeeded
    assert_equal "$(doc_field primary 'probes | length')" 0
    # one transition each way, announced once, whoever made it
    sync_subscriber "$TEST_HOME/sub.out"
    run jq -r '.event_type' <(events "$TEST_HOME/sub.out")
    assert_equal "$output" "$(printf 'half_open\nclosed')"
}

# ---- 4 ------------------------------------------------------------------

@test "Redis killed in the middle of 100 sequential requests: no answer lost, one warning per process, none with -q" {
    ini_set breaker failure_threshold 1000
    mock_script p1 "status=503"
    for i in $(seq 1 50); do
        flexiai complete "job $i" </dev/null >"$TEST_HOME/out" 2>"$TEST_HOME/err" ||
            fail "request $i exited $?"
        assert_equal "$(cat "$TEST_HOME/out")" "job $i"
        assert_equal "$(cat "$TEST_HOME/err")" ""
    done
    assert_equal "$(doc_field primary failure_count)" 50

    # request 51 is connected to Redis and waiting for the primary when
    # Redis goes away: its failure update finds the connection dead.  It
    # is stopped once mockllm has the request, which then waits 2 s: time
    # enough for a loaded machine to stop Redis first
    mock_script p1 "status=503,wait_ms=2000"
    flexiai complete "job 51" </dev/null >"$TEST_HOME/out" 2>"$TEST_HOME/err" 3>&- &
    job=$!
    for i in $(seq 1 500); do
        [ "$(mock_count p1)" = 51 ] && break
        sleep 0.02
    done
    assert_equal "$(mock_count p1)" 51
    stop_redis
    wait "$job" || fail "request 51 exited $?"
    assert_equal "$(cat "$TEST_HOME/out")" "job 51"
    assert_equal "$(wc -l <"$TEST_HOME/err")" 1
    grep -qE '^flexiai: redis 127\.0\.0\.1:[0-9]+: .*; using the file store$' "$TEST_HOME/err" ||
        fail "unexpected stderr: $(cat "$TEST_HOME/err")"

    mock_script p1 "status=503"
    for i in $(seq 52 100); do
        q=
        [ "$i" -gt 75 ] && q=-q
        flexiai complete $q "job $i" </dev/null >"$TEST_HOME/out" 2>"$TEST_HOME/err" ||
            fail "request $i exited $?"
        assert_equal "$(cat "$TEST_HOME/out")" "job $i"
        if [ -z "$q" ]; then
            assert_equal "$(wc -l <"$TEST_HOME/err")" 1
            grep -qE '^flexiai: redis 127\.0\.0\.1:[0-9]+: .*; using the file store$' "$TEST_HOME/err" ||
                fail "request $i: unexpected stderr: $(cat "$TEST_HOME/err")"
        else
            assert_equal "$(cat "$TEST_HOME/err")" ""
        fi
    done
    # the file store carried on counting: 51..100
    assert_equal "$(jq -r .failure_count "$(file_doc primary)")" 50
    assert_equal "$(mock_count s1)" 100
}

# ---- 5 ------------------------------------------------------------------

@test "watch reconnects after a Redis restart and keeps printing events" {
    flexiai breaker watch >"$TEST_HOME/watch.out" 2>"$TEST_HOME/watch.err" 3>&- &
    watch_pid=$!
    BG_PIDS="$BG_PIDS $watch_pid"
    wait_numsub flexiai:events 1
    run flexiai breaker open primary
    assert_success
    wait_lines "$TEST_HOME/watch.out" ' primary +opened +reason=manual +worker=' 1

    port=$REDIS_PORT
    stop_redis
    wait_lines "$TEST_HOME/watch.err" '^flexiai: .*redis connection lost' 1
    start_redis_on "$port"
    wait_numsub flexiai:events 1
    wait_lines "$TEST_HOME/watch.err" '^flexiai: .*reconnected' 1

    run flexiai breaker reset primary
    assert_success
    run flexiai breaker open secondary --for 1h
    assert_success
    wait_lines "$TEST_HOME/watch.out" ' secondary +opened +reason=manual +worker=' 1
    run cat "$TEST_HOME/watch.out"
    assert_line --index 0 --regexp '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8}  primary +opened +reason=manual worker=[^ ]+ failures=0 successes=0$'
    # after the reconnect, events may have been missed: every breaker's
    # state, marked as a resync (this Redis came back empty: closed)
    assert_line --index 1 --regexp '^[0-9-]+ [0-9:]+  primary +closed +resync worker=- failures=0 successes=0$'
    assert_line --index 2 --regexp '^[0-9-]+ [0-9:]+  secondary +closed +resync worker=- failures=0 successes=0$'
    assert_line --index 3 --regexp '^[0-9-]+ [0-9:]+  primary +closed +reason=reset worker=[^ ]+ failures=0 successes=0$'
    assert_line --index 4 --regexp '^[0-9-]+ [0-9:]+  secondary +opened +reason=manual worker='
    [ "${#lines[@]}" -eq 5 ]
    # where it listens; once that it lost the connection; once that it is
    # back, listening again
    run cat "$TEST_HOME/watch.err"
    assert_line --index 0 "flexiai: watching flexiai:events on redis 127.0.0.1:$port"
    assert_line --index 1 --regexp '^flexiai: .*redis connection lost'
    [[ "$output" == *"flexiai: reconnected to redis"* ]]
    [[ "$output" == *"flexiai: watching flexiai:events on redis 127.0.0.1:$port again (resync: events may have been missed)"* ]]
    [ "${#lines[@]}" -eq 4 ] || fail "stderr: $output"

    kill -TERM "$watch_pid"
    rc=0
    wait "$watch_pid" || rc=$?
    assert_equal "$rc" 0
}

@test "watch started while Redis is down keeps trying and follows it once it is up" {
    port=$REDIS_PORT
    stop_redis
    flexiai breaker watch --json >"$TEST_HOME/watch.out" 2>"$TEST_HOME/watch.err" 3>&- &
    watch_pid=$!
    BG_PIDS="$BG_PIDS $watch_pid"
    wait_lines "$TEST_HOME/watch.err" '^flexiai: .*cannot connect to redis' 1
    # nothing shows that it keeps trying (one line for the outage): a
    # watch that gave up would have exited within this half second.  On a
    # loaded machine the check is weaker, never wrong.
    sleep 0.5
    kill -0 "$watch_pid" || fail "watch gave up"
    start_redis_on "$port"
    wait_numsub flexiai:events 1
    wait_lines "$TEST_HOME/watch.err" '^flexiai: .*connected to redis' 1
    run flexiai breaker reset primary
    assert_success
    wait_lines "$TEST_HOME/watch.out" '"provider_name": "primary", "event_type": "closed"' 1
    # one line for the outage, one for the connection, one for where
    run cat "$TEST_HOME/watch.err"
    [ "${#lines[@]}" -eq 3 ] || fail "stderr: $output"
    assert_line --index 2 "flexiai: watching flexiai:events on redis 127.0.0.1:$port"
    [[ "$output" != *"redis://"* ]]
}

# ---- 6 ------------------------------------------------------------------

@test "key_prefix isolates two configurations on the same Redis" {
    ini_set sync key_prefix team-a
    cp "$CONFIG" "$TEST_HOME/b.ini"
    ini_set sync key_prefix team-b "$TEST_HOME/b.ini"
    open_primary_by_failures
    assert_equal "$(redis_cli GET team-a:state:primary | jq -r .state)" open
    assert_equal "$(redis_cli EXISTS team-b:state:primary)" 0
    assert_equal "$(redis_cli EXISTS flexiai:state:primary)" 0

    run --separate-stderr flexiai breaker -c "$TEST_HOME/b.ini" status --json
    assert_success
    assert_equal "$(jq -r '.[0].state' <<<"$output")" closed
    assert_equal "$(jq -r '.[0].backend' <<<"$output")" redis
    # B still sends to the primary, and counts its own failure
    run flexiai complete -c "$TEST_HOME/b.ini" "from b" </dev/null
    assert_success
    assert_output "from b"
    assert_equal "$(mock_count p1)" 3
    assert_equal "$(redis_cli GET team-b:state:primary | jq -r .failure_count)" 1
    assert_equal "$(redis_cli GET team-a:state:primary | jq -r .failure_count)" 2
    # B's reset does not close A's breaker
    run flexiai breaker -c "$TEST_HOME/b.ini" reset primary
    assert_success
    run flexiai breaker status --json primary
    assert_equal "$(jq -r '.[0].state' <<<"$output")" open
}

# ---- 7 ------------------------------------------------------------------

@test "an event published by a Python worker is printed by watch, and by watch --json byte for byte" {
    flexiai breaker watch >"$TEST_HOME/text.out" 2>"$TEST_HOME/text.err" 3>&- &
    BG_PIDS="$BG_PIDS $!"
    flexiai breaker watch --json >"$TEST_HOME/json.out" 2>"$TEST_HOME/json.err" 3>&- &
    BG_PIDS="$BG_PIDS $!"
    wait_numsub flexiai:events 2
    ev='{"provider_name": "openai", "event_type": "opened", "worker_id": "web-1:42:1795000000000", "timestamp": "2026-11-23T09:47:19.873279", "metadata": {"failure_count": 5, "success_count": 0}, "__event_type__": "CircuitBreakerEvent"}'
    assert_equal "$(redis_cli PUBLISH flexiai:events "$ev")" 2
    wait_lines "$TEST_HOME/text.out" 'openai' 1
    wait_lines "$TEST_HOME/json.out" '^\{' 1
    run cat "$TEST_HOME/text.out"
    assert_output --regexp '^[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9:]{8}  openai +opened +worker=web-1:42:1795000000000 failures=5 successes=0$'
    printf '%s\n' "$ev" | cmp - "$TEST_HOME/json.out"
    # nothing on stderr but where each listens
    assert_equal "$(cat "$TEST_HOME/text.err" "$TEST_HOME/json.err" | sort -u)" "flexiai: watching flexiai:events on redis 127.0.0.1:$REDIS_PORT"
}

# ---- 8 ------------------------------------------------------------------

@test "a malformed state document or a key of the wrong type is reported once and treated as closed" {
    redis_cli SET flexiai:state:primary 'not json' >/dev/null
    run --separate-stderr flexiai complete "hi" </dev/null
    assert_success
    assert_output "hi"
    assert_equal "$(mock_count p1)" 1
    [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ] || fail "stderr: $stderr"
    [[ "$stderr" == "flexiai: breaker state of 'primary'"*"malformed"* ]]

    redis_cli DEL flexiai:state:primary >/dev/null
    redis_cli LPUSH flexiai:state:primary a b >/dev/null
    run --separate-stderr flexiai breaker status --json primary
    assert_success
    assert_equal "$(jq -r '.[0].state' <<<"$output")" closed
    assert_equal "$(jq -r '.[0].backend' <<<"$output")" redis
    [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ] || fail "stderr: $stderr"
    [[ "$stderr" == "flexiai: breaker state of 'primary'"*"malformed"* ]]
    run --separate-stderr flexiai complete "again" </dev/null
    assert_success
    assert_output "again"
    assert_equal "$(mock_count p1)" 2
    [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ] || fail "stderr: $stderr"
    [[ "$stderr" == "flexiai: breaker state of 'primary'"*"malformed"* ]]
}

# ---- 9 ------------------------------------------------------------------

@test "reset publishes a closed event and open publishes opened, in the Python FlexiAI bytes" {
    start_subscriber "$TEST_HOME/sub.out"
    before=$(date +%s.%N)
    run --separate-stderr flexiai breaker reset primary
    assert_success
    assert_output ""
    wait_lines "$TEST_HOME/sub.out" '^\{' 1
    run flexiai breaker open primary --for 10m
    assert_success
    wait_lines "$TEST_HOME/sub.out" '^\{' 2

    events "$TEST_HOME/sub.out" >"$TEST_HOME/events"
    [ "$(wc -l <"$TEST_HOME/events")" -eq 2 ] || fail "events: $(cat "$TEST_HOME/events")"
    host=$(hostname)
    n=0
    while IFS= read -r line; do
        n=$((n + 1))
        [[ "$line" =~ $EVENT_RE ]] || fail "not the Python shape: $line"
        m=("${BASH_REMATCH[@]}")
        assert_equal "${m[1]}" primary
        [ "$n" -eq 1 ] && assert_equal "${m[2]}" closed
        [ "$n" -eq 2 ] && assert_equal "${m[2]}" opened
        assert_equal "${m[6]}:${m[7]}" "0:0"
        [[ "${m[3]}" =~ ^$host:[0-9]+:[0-9]{13}$ ]] || fail "worker_id: ${m[3]}"
        # naive UTC, of a time between the reset's start and now (however
        # long that took on a loaded machine; a second for rounding)
        python3 -c '
import datetime, sys, time
t = datetime.datetime.fromisoformat(sys.argv[1])
assert t.tzinfo is None
s = t.replace(tzinfo=datetime.timezone.utc).timestamp()
sys.exit(0 if float(sys.argv[2]) - 1 <= s <= time.time() + 1 else 1)' "${m[4]}" "$before" ||
            fail "timestamp not naive UTC, between $before and now: ${m[4]}"
    done <"$TEST_HOME/events"
    python_dumps_equal <"$TEST_HOME/events"
    # the first one, exactly (but for the variable parts)
    first=$(head -1 "$TEST_HOME/events")
    w=$(jq -r .worker_id <<<"$first")
    ts=$(jq -r .timestamp <<<"$first")
    assert_equal "$first" "{\"provider_name\": \"primary\", \"event_type\": \"closed\", \"worker_id\": \"$w\", \"timestamp\": \"$ts\", \"metadata\": {\"failure_count\": 0, \"success_count\": 0}, \"__event_type__\": \"CircuitBreakerEvent\"}"
}

# ---- 10 -----------------------------------------------------------------

@test "a Redis on a unix socket works (and its ?db=N)" {
    stop_redis
    start_redis_unix
    ini_set sync redis_url "unix://$REDIS_SOCK"
    mock_script p1 "status=503"
    run --separate-stderr flexiai complete "a" </dev/null
    assert_success
    assert_equal "$stderr" ""
    flexiai complete "b" </dev/null >/dev/null
    assert_equal "$(redis-cli -s "$REDIS_SOCK" GET flexiai:state:primary | jq -r .state)" open
    run --separate-stderr flexiai breaker status primary
    assert_success
    assert_equal "$stderr" ""
    assert_line --index 1 --regexp '^primary +open +2 .* redis +[^ ]+  overloaded: HTTP 503 .*$'

    ini_set sync redis_url "unix://$REDIS_SOCK?db=2"
    run --separate-stderr flexiai breaker open secondary
    assert_success
    assert_equal "$stderr" ""
    assert_equal "$(redis-cli -s "$REDIS_SOCK" -n 2 GET flexiai:state:secondary | jq -r .state)" open
    assert_equal "$(redis-cli -s "$REDIS_SOCK" -n 0 EXISTS flexiai:state:secondary)" 0
}

@test "requirepass and an ACL user work; a wrong password falls back with one warning and is never shown" {
    stop_redis
    start_redis_auth 'def-Pw-91' alice 'alice-Pw-27'
    acli() { redis-cli -p "$REDIS_PORT" --no-auth-warning --user alice --pass 'alice-Pw-27' "$@"; }

    # ACL user in the URL
    ini_set sync redis_url "redis://alice:alice-Pw-27@127.0.0.1:$REDIS_PORT/0"
    mock_script p1 "status=503"
    run --separate-stderr flexiai complete "a" </dev/null
    assert_success
    assert_output "a"
    assert_equal "$stderr" ""
    flexiai complete "b" </dev/null >/dev/null
    assert_equal "$(acli GET flexiai:state:primary | jq -r .state)" open
    run --separate-stderr flexiai breaker -v status primary
    assert_success
    assert_line --index 1 --regexp ' redis +[^ ]+  overloaded: HTTP 503 .*$'
    refute_output --partial 'alice-Pw-27'
    [[ "$stderr" != *alice-Pw-27* ]]
    run --separate-stderr flexiai config show
    refute_output --partial 'alice-Pw-27'
    [[ "$stderr" != *alice-Pw-27* ]]

    # the default user's password, as redis_password
    ini_set sync redis_url "redis://127.0.0.1:$REDIS_PORT/0"
    ini_set sync redis_password 'def-Pw-91'
    run --separate-stderr flexiai breaker status --json primary
    assert_equal "$stderr" ""
    assert_equal "$(jq -r '.[0].backend' <<<"$output")" redis
    assert_equal "$(jq -r '.[0].state' <<<"$output")" open
    run --separate-stderr flexiai config show
    refute_output --partial 'def-Pw-91'
    # ... or as the password part of the URL
    sed -i '/^redis_password = /d' "$CONFIG"
    ini_set sync redis_url "redis://:def-Pw-91@127.0.0.1:$REDIS_PORT/0"
    run --separate-stderr flexiai breaker status --json primary
    assert_equal "$stderr" ""
    assert_equal "$(jq -r '.[0].backend' <<<"$output")" redis
    ini_set sync redis_url "redis://127.0.0.1:$REDIS_PORT/0"

    # the ACL user as redis_username + redis_password
    ini_set sync redis_username alice
    ini_set sync redis_password 'alice-Pw-27'
    run --separate-stderr flexiai breaker reset primary
    assert_success
    assert_equal "$stderr" ""
    assert_equal "$(acli GET flexiai:state:primary | jq -r .state)" closed

    # a wrong password: answers from the file store, says so once, never
    # shows the password
    sed -i '/^redis_username = /d; /^redis_password = /d' "$CONFIG"
    ini_set sync redis_url "redis://alice:Wrong-Pw-55@127.0.0.1:$REDIS_PORT/0"
    mock_reset
    run --separate-stderr flexiai complete -v "hi" </dev/null
    assert_success
    assert_output "hi"
    [[ "$stderr" != *Wrong-Pw-55* ]] || fail "password in stderr: $stderr"
    [ "$(grep -c 'using the file store' <<<"$stderr")" -eq 1 ] || fail "stderr: $stderr"
    run --separate-stderr flexiai complete "hi" </dev/null
    assert_success
    assert_output "hi"
    [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ] || fail "stderr: $stderr"
    [[ "$stderr" == "flexiai: "*"using the file store" ]]
    [[ "$stderr" != *Wrong-Pw-55* ]]
    run --separate-stderr flexiai breaker -v status
    assert_failure 69
    assert_line --index 1 --regexp ' file +[^ ]+ \(fallback: store down\)$'
    [[ "$output$stderr" != *Wrong-Pw-55* ]] || fail "password shown: $stderr"
    run --separate-stderr flexiai breaker check
    assert_failure 3
    [[ "$output$stderr" != *Wrong-Pw-55* ]]
    run --separate-stderr flexiai breaker reset primary
    assert_failure 75
    [[ "$output$stderr" != *Wrong-Pw-55* ]]
    run --separate-stderr flexiai config show
    [[ "$output$stderr" != *Wrong-Pw-55* ]] || fail "config show: $output"
    assert_output --partial "redis://alice:****@127.0.0.1:$REDIS_PORT/0"
    run --separate-stderr flexiai config check
    [[ "$output$stderr" != *Wrong-Pw-55* ]]

    # a wrong redis_password key: the same
    ini_set sync redis_url "redis://127.0.0.1:$REDIS_PORT/0"
    ini_set sync redis_password 'Wrong-Pw-66'
    run --separate-stderr flexiai complete -v "hi" </dev/null
    assert_success
    assert_output "hi"
    [[ "$stderr" != *Wrong-Pw-66* ]]
    [ "$(grep -c 'using the file store' <<<"$stderr")" -eq 1 ]
    run --separate-stderr flexiai config show
    [[ "$output$stderr" != *Wrong-Pw-66* ]] || fail "config show: $output"
}

# ---- 11 -----------------------------------------------------------------

@test "Redis down: check exits 3, status says the file store answered, reset and open fail; watch needs Redis" {
    run --separate-stderr flexiai breaker status
    assert_line --index 1 --regexp '^primary +closed .* redis +[^ ]+$'
    assert_line --index 2 --regexp '^secondary +closed .* redis +[^ ]+$'

    ini_set sync redis_url "redis://127.0.0.1:$(dead_port)/0"
    run --separate-stderr flexiai breaker check
    assert_failure 3
    # and why
    assert_output --regexp "^BREAKERS UNKNOWN - breaker store unreachable: redis 127\.0\.0\.1:[0-9]+: .+$"
    # what the fallback knows, marked as such, and exit 69 (-q or not)
    run --separate-stderr flexiai breaker status
    assert_failure 69
    assert_line --index 1 --regexp '^primary +closed .* file +[^ ]+ \(fallback: store down\)$'
    assert_line --index 2 --regexp '^secondary +closed .* file +[^ ]+ \(fallback: store down\)$'
    [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 2 ] || fail "stderr: $stderr"
    [[ "${stderr%%$'\n'*}" == "flexiai: redis 127.0.0.1:"*"using the file store" ]]
    [[ "${stderr#*$'\n'}" == "flexiai: the redis store did not answer: the fallback's state shown" ]]
    run --separate-stderr flexiai breaker -q status
    assert_failure 69
    assert_equal "$stderr" "flexiai: the redis store did not answer: the fallback's state shown"
    run --separate-stderr flexiai breaker status --json
    assert_failure 69
    assert_equal "$(jq -r 'map(.backend) | unique | join(",")' <<<"$output")" file
    assert_equal "$(jq -r 'map(.store_reachable) | unique | join(",")' <<<"$output")" false
    # the metrics written whole are the success: store_up 0 says the rest
    run --separate-stderr flexiai breaker status --prometheus
    assert_success
    assert_line 'flexiai_breaker_store_up{backend="redis"} 0'
    assert_line --regexp '^flexiai_breaker_state\{provider="primary",state="closed",backend="file"\} 1$'
    run --separate-stderr flexiai breaker reset primary
    assert_failure 75
    # one line that says why; no "using the file store" beside "not changed"
    [[ "$stderr" == "flexiai: redis 127.0.0.1:"*"; breaker 'primary' not changed" ]] || fail "stderr: $stderr"
    [[ "$stderr" != *"using the file store"* ]]
    run --separate-stderr flexiai breaker open primary
    assert_failure 75
    [ ! -e "$(file_doc primary)" ] || [ "$(jq -r .state "$(file_doc primary)")" != open ]

    ini_set sync backend file
    run --separate-stderr flexiai breaker watch
    assert_failure 69
    assert_output ""
    [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
    [[ "$stderr" == "flexiai: "*"Redis"* ]]
}

# ---- 12 -----------------------------------------------------------------

@test "Redis trouble costs at most about the socket timeouts: refused, never established, never answering" {
    ini_set sync redis_socket_timeout 0.2
    ini_set sync redis_socket_connect_timeout 0.2
    mock_script p1 "status=503"
    start_blackhole backlog
    backlog=$BLACKHOLE_PORT
    start_blackhole silent
    silent=$BLACKHOLE_PORT
    for port in "$(dead_port)" "$backlog" "$silent"; do
        ini_set sync redis_url "redis://127.0.0.1:$port/0"
        start=$(date +%s.%N)
        run --separate-stderr flexiai complete "hi" </dev/null
        end=$(date +%s.%N)
        assert_success
        assert_output "hi"
        [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ] || fail "port $port: stderr: $stderr"
        [[ "$stderr" == *"using the file store" ]]
        # about 0.2 + 0.2 s and the request; asserted at ten times that,
        # which a loaded machine still meets.  Without the timeouts the
        # backlog would wait for the kernel's SYN retries (minutes) and the
        # silent server for ever.
        awk -v s="$start" -v e="$end" 'BEGIN { exit !(e - s < 5) }' ||
            fail "port $port: took $(awk -v s="$start" -v e="$end" 'BEGIN { print e - s }') s"
    done
}

# ---- 13 -----------------------------------------------------------------

# drive: the operator's round of status/open/check/reset; a transcript of
# what the user sees, with times and the backend column left out
drive() {
    local out=$1 rc
    : >"$out"
    step() {
        rc=0
        "$@" >"$TEST_HOME/step.out" 2>"$TEST_HOME/step.err" </dev/null || rc=$?
        printf '$ %s -> %s\n' "$*" "$rc" >>"$out"
        # clock times and countdowns differ between the two runs
        sed -E 's/[0-9]{2}:[0-9]{2}:[0-9]{2}/HH:MM:SS/g; s/\(in [0-9a-z]+\)/(in D)/g' \
            "$TEST_HOME/step.err" >>"$out"
    }
    snap() {
        flexiai breaker status --json |
            jq -c 'map({provider, state, failure_count, success_count, reason, usable, timed: (.retry_at != null)})' >>"$out"
        flexiai breaker status | awk 'NR > 1 { print $1, $2, $3, ($0 ~ /until reset/) ? "until-reset" : "" }' >>"$out"
    }
    mock_script p1 "status=503"
    step flexiai complete "f"; snap
    step flexiai breaker check; cat "$TEST_HOME/step.out" >>"$out"
    step flexiai breaker open primary --for 10m; snap
    step flexiai breaker check; cat "$TEST_HOME/step.out" >>"$out"
    step flexiai breaker open secondary; snap
    step flexiai breaker check; cat "$TEST_HOME/step.out" >>"$out"
    step flexiai complete "x"
    step flexiai breaker reset primary; snap
    step flexiai breaker check; cat "$TEST_HOME/step.out" >>"$out"
    step flexiai breaker reset --all; snap
    step flexiai breaker check; cat "$TEST_HOME/step.out" >>"$out"
    mock_reset
    step flexiai complete "y"; cat "$TEST_HOME/step.out" >>"$out"
}

@test "status, reset, open and check behave against Redis exactly as against the file store" {
    drive "$TEST_HOME/redis.txt"
    # what Redis holds afterwards
    assert_equal "$(doc_field primary state)" closed
    assert_equal "$(doc_field primary reason)" reset
    assert_equal "$(doc_field secondary forced)" false
    [ ! -e "$(file_doc primary)" ]

    ini_set sync backend file
    drive "$TEST_HOME/file.txt"
    assert_equal "$(jq -r .reason "$(file_doc primary)")" reset
    diff -u "$TEST_HOME/file.txt" "$TEST_HOME/redis.txt"
    grep -q 'BREAKERS CRITICAL' "$TEST_HOME/redis.txt"
    grep -q 'until-reset' "$TEST_HOME/redis.txt"
}

@test "open, reset and status change and read the Redis documents" {
    before=$(date +%s)
    run --separate-stderr flexiai breaker open primary --for 10m
    after=$(date +%s)
    assert_success
    assert_equal "$stderr" ""
    d=$(doc primary)
    assert_equal "$(jq -r .state <<<"$d")" open
    assert_equal "$(jq -r .forced <<<"$d")" true
    assert_equal "$(jq -r .reason <<<"$d")" manual
    # ten minutes from when open ran, however long that took
    retry=$(jq -r '.retry_at | floor' <<<"$d")
    assert [ "$retry" -ge $((before + 600)) ]
    assert [ "$retry" -le $((after + 600)) ]
    [[ "$(jq -r .changed_by <<<"$d")" == "$(hostname):"*":"* ]]
    ttl=$(redis_cli TTL flexiai:state:primary)
    assert [ "$ttl" -le 600 ]
    assert [ "$ttl" -ge $((600 - ($(date +%s) - before) - 1)) ]
    run flexiai breaker status primary
    # the countdown: a minute of slack for a loaded machine
    assert_line --index 1 --regexp '^primary +open +0 +[0-9-]+ [0-9:]+ +[0-9-]+ [0-9:]+ \(in (9m[0-5][0-9]s|10m0[0-2]s)\) +redis +[^ ]+$'
    run flexiai breaker check
    assert_failure 1
    assert_output "BREAKERS WARNING - primary open, secondary closed | closed=1 usable=1 total=2"

    # what a Python worker writes is read too
    redis_cli SET flexiai:state:secondary '{"state": "open", "failure_count": 7, "success_count": 0}' >/dev/null
    run flexiai breaker status --json secondary
    assert_equal "$(jq -r '.[0].state' <<<"$output")" open
    assert_equal "$(jq -r '.[0].failure_count' <<<"$output")" 7
    run flexiai breaker check
    assert_failure 1 # an open breaker with no retry time admits a probe

    run flexiai breaker open secondary
    assert_success
    assert_equal "$(doc_field secondary retry_at)" 0
    assert_equal "$(doc_field secondary forced)" true
    run flexiai breaker check
    assert_failure 2
    assert_output --partial "BREAKERS CRITICAL"

    run flexiai breaker reset --all
    assert_success
    for p in primary secondary; do
        assert_equal "$(doc_field $p state)" closed
        assert_equal "$(doc_field $p failure_count)" 0
        assert_equal "$(doc_field $p reason)" reset
    done
    run flexiai breaker check
    assert_success
    assert_output "BREAKERS OK - primary closed, secondary closed | closed=2 usable=2 total=2"
}

# ---- 14 -----------------------------------------------------------------

@test "publish_outcomes = yes publishes a failure or success event for every outcome" {
    start_subscriber "$TEST_HOME/sub.out"
    # default: only state changes are published
    mock_script p1 "status=503"
    run flexiai complete "a" </dev/null
    assert_success
    ini_set sync publish_outcomes yes
    # the primary answers again: a success after a failure
    mock_reset
    run flexiai complete "b" </dev/null
    assert_success
    assert_output "b"
    # the primary fails twice and opens; the secondary answers each time
    mock_script p1 "status=503"
    run flexiai complete "c" </dev/null
    assert_success
    run flexiai complete "d" </dev/null
    assert_success
    assert_output "d"
    # every event of the commands above is in sub.out, and nothing else
    sync_subscriber "$TEST_HOME/sub.out"
    events "$TEST_HOME/sub.out" >"$TEST_HOME/events"
    run jq -r '[.provider_name, .event_type, .metadata.failure_count] | map(tostring) | join(" ")' "$TEST_HOME/events"
    assert_equal "$output" "$(printf '%s\n' \
        'primary success 0' \
        'primary failure 1' 'secondary success 0' \
        'primary failure 2' 'primary opened 2' 'secondary success 0')"
    while IFS= read -r line; do
        [[ "$line" =~ $EVENT_RE ]] || fail "not the Python shape: $line"
    done <"$TEST_HOME/events"
    python_dumps_equal <"$TEST_HOME/events"
}

@test "a flood of malformed events gives at most one warning a second, with a count" {
    flexiai breaker watch >"$TEST_HOME/watch.out" 2>"$TEST_HOME/watch.err" 3>&- &
    BG_PIDS="$BG_PIDS $!"
    wait_numsub flexiai:events 1
    # thirty malformed events in a burst (one redis-cli), then a valid one
    start=$(date +%s.%N)
    for i in $(seq 1 30); do echo "PUBLISH flexiai:events \"junk $i\""; done | redis_cli >/dev/null
    redis_cli PUBLISH flexiai:events '{"provider_name": "primary", "event_type": "closed", "worker_id": "w", "timestamp": "2026-11-23T09:47:19.873279", "metadata": {"failure_count": 0, "success_count": 0}, "__event_type__": "CircuitBreakerEvent"}' >/dev/null
    wait_lines "$TEST_HOME/watch.out" ' primary +closed' 1
    end=$(date +%s.%N)
    # at most one warning a second: one for the first junk, and one per
    # whole second that the burst took (milliseconds here, longer on a
    # loaded machine) until the valid event was printed
    n=$(grep -c 'ignoring malformed event' "$TEST_HOME/watch.err")
    max=$(awk -v s="$start" -v e="$end" 'BEGIN { print 1 + int(e - s) }')
    assert [ "$n" -ge 1 ]
    assert [ "$n" -le "$max" ]
    # a second after the last warning, junk is warned about again, with
    # the count of those left unsaid: all 31 are accounted for
    sleep 1.1
    redis_cli PUBLISH flexiai:events "junk again" >/dev/null
    wait_lines "$TEST_HOME/watch.err" 'junk again' 1
    warned=$(grep -c 'ignoring malformed event' "$TEST_HOME/watch.err")
    unsaid=$(grep -o '(and [0-9]* more since the last warning)' "$TEST_HOME/watch.err" |
        awk '{ n += $2 } END { print n + 0 }')
    assert [ "$unsaid" -ge 1 ]
    assert_equal "$((warned + unsaid))" 31
}
