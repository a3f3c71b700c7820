#!/usr/bin/env bats
# flexiai breaker sync: the bridge that applies Python FlexiAI workers'
# events (they publish, never write the state key) to the state documents.
# Events are published with redis-cli, byte for byte as the Python
# FlexiAI's json.dumps() writes them.

load helpers

setup() {
    setup_env
    BG_PIDS=
    start_mockllm
    start_redis
    {
        printf '[failover]\nretries = 0\n[breaker]\nfailure_threshold = 5\nrecovery_timeout = 60\n'
        printf '[sync]\nbackend = redis\nredis_url = redis://127.0.0.1:%s/0\n\n' "$REDIS_PORT"
        provider_section primary openai p1 "priority = 1"
        provider_section secondary anthropic s1 "priority = 2"
    } | write_config
}

teardown() {
    kill_bg
    teardown_env
}

PYWORKER=py-worker-7:4242:1795700000000

# py_event PROVIDER TYPE [SECONDS_AGO] [FAILURES]: the message a Python
# worker publishes (CircuitBreakerEvent through json.dumps, naive UTC
# isoformat timestamp)
py_event() {
    python3 - "$1" "$2" "${3:-0}" "${4:-5}" "$PYWORKER" <<'EOF'
import datetime, json, sys
provider, kind, ago, failures, worker = sys.argv[1:6]
ts = datetime.datetime.utcfromtimestamp(
    datetime.datetime.now(datetime.timezone.utc).timestamp() - float(ago))
print(json.dumps({"provider_name": provider, "event_type": kind,
                  "worker_id": worker, "timestamp": ts.isoformat(),
                  "metadata": {"failure_count": int(failures),
                               "success_count": 0},
                  "__event_type__": "CircuitBreakerEvent"}))
EOF
}

publish() { redis_cli PUBLISH flexiai:events "$1" >/dev/null; }

# bridges_caught_up NAME [NAME...]: publish an event every bridge warns
# about (no valid timestamp) and wait for each bridge's warning.  A bridge
# takes events in order, so by then it has dealt with every earlier one:
# no sleep needed to be sure that it applied nothing more.
bridges_caught_up() {
    local mark=sync$RANDOM$RANDOM name
    publish "{\"provider_name\": \"$mark\", \"event_type\": \"opened\", \"worker_id\": \"w\", \"timestamp\": \"never\"}"
    for name in "$@"; do
        wait_lines "$TEST_HOME/$name.err" "event for $mark without a valid timestamp" 1
    done
}

# start_bridge NAME [args]: flexiai breaker sync in the background
start_bridge() {
    local name=$1
    shift
    flexiai breaker sync "$@" >"$TEST_HOME/$name.out" 2>"$TEST_HOME/$name.err" 3>&- &
    BG_PIDS="$BG_PIDS $!"
    eval "BRIDGE_$name=$!"
}

state() { redis_cli GET "flexiai:state:$1" | jq -r ".$2"; }

# wait_state PROVIDER STATE: within 10 s (milliseconds here; a loaded
# machine may take longer)
wait_state() {
    local i
    for i in $(seq 1 500); do
        [ "$(state "$1" state)" = "$2" ] && return 0
        sleep 0.02
    done
    echo "$1 never became $2 (document: $(redis_cli GET "flexiai:state:$1"))" >&2
    return 1
}

@test "a Python worker's opened event opens the breaker that complete then honours; closed closes it" {
    start_bridge b1
    wait_numsub flexiai:events 1
    publish "$(py_event primary opened 0 5)"
    wait_state primary open
    run --separate-stderr flexiai complete --json "hi" </dev/null
    assert_success
    assert_equal "$(jq -r .provider <<<"$output")" secondary
    assert_equal "$(jq -r '.attempts[0].outcome' <<<"$output")" skipped
    assert_equal "$(mock_count p1)" 0
    # status says who changed it: the Python worker
    run --separate-stderr flexiai breaker status
    assert_success
    assert_line --index 1 --regexp "^primary +open +5 .* redis +$PYWORKER\$"
    run --separate-stderr flexiai breaker status --json
    assert_equal "$(jq -r '.[0].changed_by' <<<"$output")" "$PYWORKER"

    publish "$(py_event primary closed)"
    wait_state primary closed
    run --separate-stderr flexiai complete --json "again" </dev/null
    assert_success
    assert_equal "$(jq -r .provider <<<"$output")" primary
    # one line per change applied
    wait_lines "$TEST_HOME/b1.out" 'primary +open +\(opened by py-worker-7' 1
    wait_lines "$TEST_HOME/b1.out" 'primary +closed +\(closed by py-worker-7' 1
    [ "$(wc -l <"$TEST_HOME/b1.out")" -eq 2 ]
    assert_equal "$(cat "$TEST_HOME/b1.err")" ""
}

@test "half_open from a Python worker lets one probe through" {
    start_bridge b1 --json
    wait_numsub flexiai:events 1
    publish "$(py_event primary half_open 0 3)"
    wait_state primary half_open
    wait_lines "$TEST_HOME/b1.out" '"state":"half_open"' 1
    assert_equal "$(jq -r .worker_id "$TEST_HOME/b1.out")" "$PYWORKER"
    run --separate-stderr flexiai complete --json "probe me" </dev/null
    assert_success
    assert_equal "$(jq -r .provider <<<"$output")" primary
    assert_equal "$(jq -r '.attempts[0].probe' <<<"$output")" true
    assert_equal "$(state primary state)" closed
}

@test "replayed and out-of-order events change nothing" {
    start_bridge b1
    wait_numsub flexiai:events 1
    opened=$(py_event primary opened 10 5)
    closed=$(py_event primary closed 5)
    publish "$opened"
    wait_state primary open
    publish "$closed"
    wait_state primary closed
    before=$(redis_cli GET flexiai:state:primary)
    # the same opened again, an older one, and the closed again
    publish "$opened"
    publish "$(py_event primary opened 20 9)"
    publish "$closed"
    # a marker event on another provider shows the bridge got past them
    publish "$(py_event secondary opened 0 1)"
    wait_state secondary open
    assert_equal "$(redis_cli GET flexiai:state:primary)" "$before"
    [ "$(grep -c primary "$TEST_HOME/b1.out")" -eq 2 ]
    # failure and success events carry no transition
    publish "$(py_event primary failure 0 1)"
    publish "$(py_event primary success 0 0)"
    publish "$(py_event secondary closed 0 0)"
    wait_state secondary closed
    assert_equal "$(redis_cli GET flexiai:state:primary)" "$before"
}

@test "two bridges at once apply each event once; flexiai's own events are not applied again" {
    start_bridge b1
    start_bridge b2
    wait_numsub flexiai:events 2
    publish "$(py_event primary opened 0 5)"
    wait_state primary open
    bridges_caught_up b1 b2
    [ "$(cat "$TEST_HOME/b1.out" "$TEST_HOME/b2.out" | wc -l)" -eq 1 ]
    assert_equal "$(state primary changed_by)" "$PYWORKER"

    # our own change: published by the store's script, already applied
    run --separate-stderr flexiai breaker reset primary
    assert_success
    doc=$(redis_cli GET flexiai:state:primary)
    publish "$(py_event secondary opened 0 1)"
    wait_state secondary open
    bridges_caught_up b1 b2
    assert_equal "$(redis_cli GET flexiai:state:primary)" "$doc"
    [ "$(cat "$TEST_HOME/b1.out" "$TEST_HOME/b2.out" | grep -c primary)" -eq 1 ]
}

@test "malformed and hostile events are ignored with a line; SIGTERM exits 0" {
    start_bridge b1
    wait_numsub flexiai:events 1
    publish 'not json'
    publish '{"provider_name": "primary", "event_type": "opened", "worker_id": "w", "timestamp": "yesterday"}'
    publish "$(py_event ../../etc opened 0 1)"
    publish "$(py_event primary opened -3600 1)"
    publish "$(py_event secondary opened 0 1)"
    wait_state secondary open
    assert_equal "$(redis_cli EXISTS flexiai:state:primary)" 0
    wait_lines "$TEST_HOME/b1.err" 'without a valid timestamp' 1
    wait_lines "$TEST_HOME/b1.err" 'in the future' 1
    kill -TERM "$BRIDGE_b1"
    rc=0
    wait "$BRIDGE_b1" || rc=$?
    assert_equal "$rc" 0
}

@test "the bridge reconnects after Redis restarts" {
    start_bridge b1
    wait_numsub flexiai:events 1
    port=$REDIS_PORT
    stop_redis
    start_redis_on "$port"
    wait_numsub flexiai:events 1
    publish "$(py_event primary opened 0 5)"
    wait_state primary open
    wait_lines "$TEST_HOME/b1.err" 'reconnected to redis' 1
}

@test "sync needs the Redis store" {
    printf '[sync]\nbackend = file\n' | write_config
    run --separate-stderr flexiai breaker sync
    assert_failure 69
    [[ "$stderr" == "flexiai: the bridge needs the Redis store ([sync] backend = redis)" ]]
}

@test "the systemd unit runs the bridge from bindir, hardened" {
    unit=$BUILDDIR/contrib/flexiai-breaker-sync.service
    [ -f "$unit" ]
    bindir=$(sed -n 's/^bindir = //p' "$BUILDDIR/Makefile")
    prefix=$(sed -n 's/^prefix = //p' "$BUILDDIR/Makefile")
    bindir=${bindir//\$\{exec_prefix\}/$prefix}
    grep -qxF "ExecStart=$bindir/flexiai breaker sync" "$unit"
    for opt in DynamicUser=yes NoNewPrivileges=yes ProtectSystem=strict ProtectHome=yes \
        PrivateTmp=yes 'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' \
        'SystemCallFilter=@system-service' 'CapabilityBoundingSet='; do
        grep -qxF "$opt" "$unit"
    done
    run ! grep -q '@[a-z]*@' "$unit"
}
