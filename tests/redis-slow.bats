#!/usr/bin/env bats
# A Redis that stops answering must not stall a request: each one answers
# within its own time + redis_timeout (+ 50 ms), falling back to the file
# store with one warning line.  The Redis is frozen with SIGSTOP, which a
# client cannot tell from a DEBUG SLEEP: the kernel still accepts the
# connections, nothing answers.  Unlike DEBUG SLEEP, the freeze is in
# place (state T) before the first request and lasts until we end it, so
# no request can slip in before it or after it on a slow machine.  Only a
# generous bound (ten times the expected figure) is asserted here; the tight
# figure is for make bench.  The measured figures are printed (bats -t).

load helpers

setup() {
    setup_env
    BG_PIDS=
    start_mockllm
    start_redis
    {
        printf '[failover]\nretries = 0\n'
        printf '[sync]\nbackend = redis\nredis_url = redis://127.0.0.1:%s/0\nredis_timeout = 0.1\n\n' "$REDIS_PORT"
        provider_section primary openai p1
    } | write_config
}

teardown() {
    thaw_redis
    kill_bg
    teardown_env
}

# freeze_redis: SIGSTOP the redis-server and wait until it is stopped
freeze_redis() {
    kill -STOP "$REDIS_PID"
    local i
    for i in $(seq 1 500); do
        [ "$(awk '{ print $3 }' "/proc/$REDIS_PID/stat" 2>/dev/null)" = T ] && return 0
        sleep 0.02
    done
    echo "redis-server $REDIS_PID never stopped" >&2
    return 1
}

# thaw_redis: let it run again (a stopped process ignores SIGTERM)
thaw_redis() {
    [ -n "${REDIS_PID:-}" ] && kill -CONT "$REDIS_PID" 2>/dev/null
    return 0
}

# timed N FILE: run N requests, one "seconds exit warning-lines" line each
timed() {
    python3 - "$1" "$2" <<'EOF'
import subprocess, sys, time
with open(sys.argv[2], "w") as out:
    for i in range(int(sys.argv[1])):
        t = time.monotonic()
        p = subprocess.run(["flexiai", "complete", "hi %d" % i],
                           stdin=subprocess.DEVNULL, capture_output=True,
                           text=True)
        d = time.monotonic() - t
        out.write("%.4f %d %d %s\n" % (d, p.returncode,
                                       len(p.stderr.splitlines()),
                                       p.stderr.strip().replace(" ", "_") or "-"))
EOF
}

@test "a Redis that stops answering during requests: each answers, with one warning, within a bound" {
    timed 5 "$TEST_HOME/normal"
    base=$(sort -n "$TEST_HOME/normal" | tail -1 | cut -d' ' -f1)
    run awk '$2 != 0 || $3 != 0' "$TEST_HOME/normal"
    assert_output ""

    freeze_redis
    timed 5 "$TEST_HOME/slow"
    slow=$(sort -n "$TEST_HOME/slow" | tail -1 | cut -d' ' -f1)
    echo "# slowest request: $base s with Redis answering, $slow s with Redis frozen (redis_timeout 0.1)" >&3
    # every request answered while Redis stayed frozen (without the
    # timeout none would ever end), with exactly one line saying why
    run awk '$2 != 0 || $3 != 1' "$TEST_HOME/slow"
    assert_output ""
    run awk '$4 !~ /timed_out_after_100_ms;_using_the_file_store$/' "$TEST_HOME/slow"
    assert_output ""
    # the documented bound is request + redis_timeout (+ 50 ms); asserted
    # here at ten times that, which a loaded machine still meets
    run awk -v b="$base" '$1 > 10 * (b + 0.1 + 0.05)' "$TEST_HOME/slow"
    assert_output ""
    # and at least redis_timeout: the wait was real, not skipped
    run awk '$1 < 0.09' "$TEST_HOME/slow"
    assert_output ""
}

@test "a Redis that stops answering: status and reset say so, and end" {
    freeze_redis
    # timeout 5: twenty times what both should take, and the difference
    # between a bounded wait and one that lasts as long as the freeze
    run --separate-stderr timeout 5 flexiai breaker status
    assert_failure 69
    run --separate-stderr timeout 5 flexiai breaker reset primary
    assert_failure 75
    [[ "$stderr" == *"timed out after 100 ms"* ]]
}

@test "the default redis_timeout is 0.25 s and the Python names set it when redis_timeout is absent" {
    run --separate-stderr flexiai config show --json
    sed -i '/^redis_timeout/d' "$CONFIG"
    run --separate-stderr flexiai config show --json
    assert_equal "$(jq -r '.[] | select(.key == "redis_timeout") | .value' <<<"$output")" 0.25
    sed -i 's/^\[sync\]$/[sync]\nredis_socket_timeout = 0.1/' "$CONFIG"
    freeze_redis
    run --separate-stderr flexiai complete "hi" </dev/null
    assert_success
    [[ "$stderr" == *"timed out after 100 ms; using the file store" ]]
}
