#!/usr/bin/env bats
# A slow Redis (DEBUG SLEEP) must not stall a request: each one answers
# within its own time + redis_timeout + 50 ms, falling back to the file
# store with one warning line.  The bound is asserted with generous slack
# for a busy machine; the measured figures are printed (bats -t shows them).

load helpers

setup() {
    setup_env
    BG_PIDS=
    start_mockllm
    start_redis --enable-debug-command yes
    {
        printf '[failover]\nretries = 0\n'
        printf '[sync]\nbackend = redis\nredis_url = redis://127.0.0.1:%s/0\nredis_timeout = 0.1\n\n' "$REDIS_PORT"
        provider_section primary openai p1
    } | write_config
}

teardown() {
    kill_bg
    teardown_env
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

@test "DEBUG SLEEP during requests: each answers within its time + redis_timeout + 50 ms, with one warning" {
    timed 5 "$TEST_HOME/normal"
    base=$(sort -n "$TEST_HOME/normal" | tail -1 | cut -d' ' -f1)
    run awk '$2 != 0 || $3 != 0' "$TEST_HOME/normal"
    assert_output ""

    redis_cli DEBUG SLEEP 5 >/dev/null 3>&- &
    BG_PIDS="$BG_PIDS $!"
    sleep 0.2
    timed 5 "$TEST_HOME/slow"
    slow=$(sort -n "$TEST_HOME/slow" | tail -1 | cut -d' ' -f1)
    echo "# slowest request: $base s with Redis answering, $slow s with Redis in DEBUG SLEEP (redis_timeout 0.1)" >&3
    # every request answered, with exactly one line saying why
    run awk '$2 != 0 || $3 != 1' "$TEST_HOME/slow"
    assert_output ""
    run awk '$4 !~ /timed_out_after_100_ms;_using_the_file_store$/' "$TEST_HOME/slow"
    assert_output ""
    # the bound: request + redis_timeout + 50 ms, plus 0.4 s of slack for
    # a loaded machine (without the timeout each would take 5 s)
    run awk -v b="$base" '$1 > b + 0.1 + 0.05 + 0.4' "$TEST_HOME/slow"
    assert_output ""
    # and at least redis_timeout: the wait was real, not skipped
    run awk '$1 < 0.09' "$TEST_HOME/slow"
    assert_output ""
}

@test "a sleeping Redis: status and reset say so within the bound" {
    redis_cli DEBUG SLEEP 3 >/dev/null 3>&- &
    BG_PIDS="$BG_PIDS $!"
    sleep 0.2
    t0=$(date +%s.%N)
    run --separate-stderr flexiai breaker status
    assert_failure 69
    run --separate-stderr flexiai breaker reset primary
    assert_failure 75
    [[ "$stderr" == *"timed out after 100 ms"* ]]
    t1=$(date +%s.%N)
    python3 -c "import sys; sys.exit(0 if $t1 - $t0 < 1.5 else 1)"
}

@test "the default redis_timeout is 0.25 s and the Python names set it when redis_timeout is absent" {
    run --separate-stderr flexiai config show --json
    sed -i '/^redis_timeout/d' "$CONFIG"
    run --separate-stderr flexiai config show --json
    assert_equal "$(jq -r '.[] | select(.key == "redis_timeout") | .value' <<<"$output")" 0.25
    sed -i 's/^\[sync\]$/[sync]\nredis_socket_timeout = 0.1/' "$CONFIG"
    redis_cli DEBUG SLEEP 2 >/dev/null 3>&- &
    BG_PIDS="$BG_PIDS $!"
    sleep 0.2
    run --separate-stderr flexiai complete "hi" </dev/null
    assert_success
    [[ "$stderr" == *"timed out after 100 ms; using the file store" ]]
}
