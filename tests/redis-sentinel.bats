#!/usr/bin/env bats
# Sentinel: a master, a replica and three sentinels (down-after-milliseconds
# 500).  Killing the master mid-run: requests keep answering, the new
# master is found, state written before the failover is still there, watch
# continues, and no request takes longer than the documented bound.

load helpers

setup() {
    setup_env
    BG_PIDS=
    SERVER_PIDS=
    start_mockllm
}

teardown() {
    kill_bg
    local p
    for p in $SERVER_PIDS; do
        kill "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    teardown_env
}

# spawn_server NAME ARGS...: a redis-server (or sentinel) in the background
spawn_server() {
    local name=$1
    shift
    redis-server "$@" >"$TEST_HOME/$name.log" 2>&1 3>&- &
    SERVER_PIDS="$SERVER_PIDS $!"
    eval "PID_$name=$!"
}

wait_ping() {
    local i
    for i in $(seq 1 250); do
        redis-cli -p "$1" ping 2>/dev/null | grep -q PONG && return 0
        sleep 0.02
    done
    echo "nothing answers on port $1" >&2
    return 1
}

# start_cluster: MASTER_PORT, REPLICA_PORT, SENTINEL_PORTS (three)
start_cluster() {
    MASTER_PORT=$(dead_port)
    REPLICA_PORT=$(dead_port)
    local common=(--bind 127.0.0.1 --save '' --appendonly no --daemonize no --dir "$TEST_HOME")
    spawn_server master --port "$MASTER_PORT" "${common[@]}"
    wait_ping "$MASTER_PORT"
    spawn_server replica --port "$REPLICA_PORT" "${common[@]}" --replicaof 127.0.0.1 "$MASTER_PORT"
    wait_ping "$REPLICA_PORT"
    SENTINEL_PORTS=
    local n p
    for n in 1 2 3; do
        p=$(dead_port)
        printf 'port %s\nbind 127.0.0.1\ndaemonize no\ndir %s\nsentinel monitor mymaster 127.0.0.1 %s 2\nsentinel down-after-milliseconds mymaster 500\nsentinel failover-timeout mymaster 2000\nsentinel parallel-syncs mymaster 1\n' \
            "$p" "$TEST_HOME" "$MASTER_PORT" >"$TEST_HOME/sentinel$n.conf"
        spawn_server "sentinel$n" "$TEST_HOME/sentinel$n.conf" --sentinel
        SENTINEL_PORTS="$SENTINEL_PORTS $p"
    done
    # ready: every sentinel knows the replica and the two other sentinels
    local i ready
    for i in $(seq 1 500); do
        ready=0
        for p in $SENTINEL_PORTS; do
            r=$(redis-cli -p "$p" SENTINEL master mymaster 2>/dev/null |
                awk 'prev=="num-slaves"{s=$0} prev=="num-other-sentinels"{o=$0} {prev=$0} END{print s "/" o}')
            [ "$r" = "1/2" ] && ready=$((ready + 1))
        done
        [ "$ready" = 3 ] && return 0
        sleep 0.05
    done
    echo "sentinels never saw the replica and each other" >&2
    return 1
}

write_sentinel_config() {
    local list
    list=$(for p in $SENTINEL_PORTS; do printf '127.0.0.1:%s, ' "$p"; done)
    {
        printf '[failover]\nretries = 0\n[breaker]\nfailure_threshold = 2\n'
        printf '[sync]\nbackend = redis\nredis_sentinels = %s\n' "${list%, }"
        printf 'redis_sentinel_master = mymaster\nredis_timeout = 0.25\n\n'
        provider_section primary openai p1 "priority = 1"
        provider_section secondary anthropic s1 "priority = 2"
    } | write_config
}

current_master() {
    local first
    read -r first _ <<<"$SENTINEL_PORTS"
    redis-cli -p "$first" --raw SENTINEL get-master-addr-by-name mymaster 2>/dev/null |
        sed -n 2p
}

@test "the master is found through the sentinels and confirmed with ROLE" {
    start_cluster
    write_sentinel_config
    run --separate-stderr flexiai breaker open primary
    assert_success
    assert_equal "$stderr" ""
    assert_equal "$(redis-cli -p "$MASTER_PORT" GET flexiai:state:primary | jq -r .state)" open
    # a wrong master name: one line, the file store answers
    sed -i 's/^redis_sentinel_master = .*/redis_sentinel_master = nosuch/' "$CONFIG"
    run --separate-stderr flexiai complete "hi" </dev/null
    assert_success
    assert_output "hi"
    [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
    [[ "$stderr" == *"nosuch"*"; using the file store" ]]
}

@test "failover: requests keep answering, the new master is found, state and watch survive, waits stay bounded" {
    start_cluster
    write_sentinel_config
    # state written before the failover, replicated before the kill
    mock_script p1 "status=503"
    flexiai complete "a" </dev/null >/dev/null 2>&1
    flexiai complete "b" </dev/null >/dev/null 2>&1
    assert_equal "$(redis-cli -p "$MASTER_PORT" GET flexiai:state:primary | jq -r .state)" open
    redis-cli -p "$MASTER_PORT" WAIT 1 2000 >/dev/null

    flexiai breaker watch --json >"$TEST_HOME/watch" 2>"$TEST_HOME/watch.err" 3>&- &
    BG_PIDS="$BG_PIDS $!"
    for i in $(seq 1 250); do
        [ "$(redis-cli -p "$MASTER_PORT" --raw PUBSUB NUMSUB flexiai:events | sed -n 2p)" = 1 ] && break
        sleep 0.02
    done

    # a loop of requests, each timed, through the kill and the failover
    python3 - "$TEST_HOME/times" <<'EOF' 3>&- &
import subprocess, sys, time
out = open(sys.argv[1], "w")
end = time.monotonic() + 6
while time.monotonic() < end:
    t = time.monotonic()
    p = subprocess.run(["flexiai", "complete", "ping"], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True)
    d = time.monotonic() - t
    out.write("%.3f %d %s %d\n" % (d, p.returncode, p.stdout.strip() or "-",
                                  len(p.stderr.splitlines())))
    out.flush()
    time.sleep(0.05)
EOF
    loop=$!
    sleep 0.5
    kill -9 "$PID_master"
    wait "$PID_master" 2>/dev/null || true
    # the sentinels promote the replica
    for i in $(seq 1 300); do
        [ "$(current_master)" = "$REPLICA_PORT" ] && break
        sleep 0.05
    done
    assert_equal "$(current_master)" "$REPLICA_PORT"
    wait "$loop"

    # every request answered, with at most one warning line each
    run awk '$2 != 0 || $3 != "ping" || $4 > 1' "$TEST_HOME/times"
    assert_output ""
    [ "$(wc -l <"$TEST_HOME/times")" -ge 10 ]
    # the documented bound: request time + redis_timeout per step, and on
    # a failover one step per sentinel asked and one for the master: at
    # most 4 x 0.25 s on top of the ~10 ms request here (+ slack for a
    # busy machine)
    run awk '$1 > 1.5' "$TEST_HOME/times"
    assert_output ""
    echo "# $(wc -l <"$TEST_HOME/times") requests, slowest $(sort -n "$TEST_HOME/times" | tail -1 | cut -d' ' -f1) s, $(awk '$4 == 1' "$TEST_HOME/times" | wc -l) with a warning" >&3

    # the new master answers, with the state written before the failover
    run --separate-stderr flexiai breaker status --json
    assert_success
    assert_equal "$stderr" ""
    assert_equal "$(jq -r '.[0].state' <<<"$output")" open
    assert_equal "$(jq -r '.[0].backend' <<<"$output")" redis

    # watch resubscribed on the new master
    run --separate-stderr flexiai breaker reset primary
    assert_success
    wait_lines "$TEST_HOME/watch" '"provider_name": "primary", "event_type": "closed"' 1
    assert_equal "$(redis-cli -p "$REPLICA_PORT" GET flexiai:state:primary | jq -r .state)" closed
}
