#!/usr/bin/env bats
# hostile.bats - every hostile input answered: closed and full descriptors,
# odd bytes in prompts and answers, malformed flags.  Each case is a
# regression test of a bug found once; each ends in one line on stderr and
# the documented exit code, with nothing sent or written that should not be.

load helpers

setup() {
    setup_env
    start_mockllm
    { printf '[failover]\nretries = 0\n\n'; provider_section oa openai oa; } | write_config
}

teardown() {
    [ -n "${HOSTILE_PID:-}" ] && kill "$HOSTILE_PID" 2>/dev/null && wait "$HOSTILE_PID" 2>/dev/null
    teardown_env
}

# wait_gone PATTERN: until no process matches `pgrep -f PATTERN`; 10 s at
# most (a killed process can take a moment to go on a loaded machine)
wait_gone() {
    local i
    for i in $(seq 1 500); do
        pgrep -f "$1" >/dev/null || return 0
        sleep 0.02
    done
    echo "still running after 10 s:" >&2
    pgrep -af "$1" >&2
    return 1
}

# start_hostile: tests/hostile/hostile-server.py on a free loopback port;
# sets HOSTILE_URL (the first path component names the misbehaviour)
start_hostile() {
    python3 "$SRCDIR/tests/hostile/hostile-server.py" "$TEST_HOME/hostile.port" \
        >/dev/null 2>"$TEST_HOME/hostile.err" 3>&- &
    HOSTILE_PID=$!
    local i
    for i in $(seq 1 250); do
        [ -s "$TEST_HOME/hostile.port" ] && break
        sleep 0.02
    done
    HOSTILE_URL=http://127.0.0.1:$(cat "$TEST_HOME/hostile.port")
}

# hostile_provider MODE [ini lines...]: the only provider, named after MODE,
# pointing at the hostile server
hostile_provider() {
    local mode=$1
    shift
    {
        printf '[failover]\nretries = 0\n[defaults]\ntimeout = 5\nidle_timeout = 2\n'
        printf '[provider.%s]\ntype = openai\nmodel = m\nbase_url = %s/%s/v1\n' \
            "$mode" "$HOSTILE_URL" "$mode"
        local line
        for line in "$@"; do printf '%s\n' "$line"; done
    } | write_config
}

# ---- standard descriptors ---------------------------------------------------

@test "complete with stdout closed: one line, exit 74, the answer goes nowhere else" {
    start_redis
    printf '[sync]\nbackend = redis\nredis_port = %s\n' "$REDIS_PORT" >>"$CONFIG"
    redis_cli set canary alive >/dev/null
    run --separate-stderr bash -c 'flexiai complete "FLUSHALL" </dev/null >&-'
    assert_failure 74
    assert_equal "$stderr" "flexiai: cannot write output: stdout is closed"
    # the answer (an echo of FLUSHALL) did not reach the Redis connection
    assert_equal "$(redis_cli get canary)" alive
}

@test "complete -v with stderr closed: the attempt lines go nowhere, the answer is printed" {
    start_redis
    printf '[sync]\nbackend = redis\nredis_port = %s\n' "$REDIS_PORT" >>"$CONFIG"
    redis_cli set canary alive >/dev/null
    run --separate-stderr bash -c 'flexiai complete -v "FLUSHALL" </dev/null 2>&-'
    assert_success
    assert_output "FLUSHALL"
    assert_equal "$(redis_cli get canary)" alive
}

@test "--help, --version and config show to a full or closed stdout exit 74" {
    local cmd
    for cmd in "flexiai --help" "flexiai complete --help" "flexiai chat --help" \
        "flexiai breaker --help" "flexiai breaker status --help" "flexiai config show" \
        "flexiai -V" "flexiai-breaker -V"; do
        run --separate-stderr bash -c "$cmd >/dev/full"
        [ "$status" -eq 74 ] || { echo "$cmd >/dev/full: $status" >&2; false; }
        assert_equal "$stderr" "flexiai: cannot write output: No space left on device"
        run --separate-stderr bash -c "$cmd >&-"
        [ "$status" -eq 74 ] || { echo "$cmd >&-: $status" >&2; false; }
    done
}

# ---- prompts ----------------------------------------------------------------------

@test "a NUL byte on stdin is refused with 65 and nothing is sent" {
    run --separate-stderr bash -c "printf 'abc\\0def' | flexiai complete"
    assert_failure 65
    assert_equal "$stderr" "flexiai: stdin holds a NUL byte: a prompt must be text (nothing was sent)"
    assert_equal "$(mock_count oa)" 0
}

@test "--messages with \\u0000 or with trailing garbage is refused with 65" {
    printf '[{"role":"user","content":"a\\u0000b"}]' >"$TEST_HOME/nul.json"
    run --separate-stderr flexiai complete --messages "$TEST_HOME/nul.json"
    assert_failure 65
    assert_equal "$stderr" "flexiai: $TEST_HOME/nul.json: a message contains \\u0000 (a NUL character cannot be sent)"
    # an escaped backslash before u0000 is just text
    printf '[{"role":"user","content":"a\\\\u0000b"}]' >"$TEST_HOME/ok.json"
    run --separate-stderr flexiai complete --no-stream --messages "$TEST_HOME/ok.json"
    assert_success
    assert_output 'a\u0000b'
    printf '[{"role":"user","content":"hi"}] trailing' >"$TEST_HOME/tail.json"
    run --separate-stderr flexiai complete --messages "$TEST_HOME/tail.json"
    assert_failure 65
    assert_equal "$stderr" "flexiai: $TEST_HOME/tail.json: something follows the JSON array"
    assert_equal "$(mock_count oa)" 1
}

@test "invalid UTF-8 in a prompt is sent as U+FFFD and counted in --json" {
    run --separate-stderr bash -c "printf 'caf\\xe9 ok' | flexiai complete --json"
    assert_success
    jq -e . <<<"$output" >/dev/null
    assert_equal "$(jq -r .text <<<"$output")" "caf� ok"
    assert_equal "$(jq -r .invalid_utf8_replaced <<<"$output")" 1
    assert_equal "$(mock_last_body oa | jq -r '.messages[-1].content')" "caf� ok"
}

@test "invalid UTF-8 in an answer: --json stays valid JSON, plain output shows U+FFFD" {
    mock_script oa 'reply=ok%FF%C3%28end'
    run --separate-stderr flexiai complete --json hi
    assert_success
    jq -e . <<<"$output" >/dev/null
    assert_equal "$(jq -r .text <<<"$output")" "ok��(end"
    assert_equal "$(jq -r .invalid_utf8_replaced <<<"$output")" 2
    run --separate-stderr flexiai complete --no-stream hi
    assert_success
    assert_output "ok��(end"
}

# ---- flags ------------------------------------------------------------------------

@test "-m with an empty name is a usage error" {
    run --separate-stderr flexiai complete -m "" hi
    assert_failure 64
    assert_equal "$stderr" "flexiai: -m needs a model name (try 'flexiai complete --help')"
    run --separate-stderr flexiai chat -m "" </dev/null
    assert_failure 64
    assert_equal "$(mock_count oa)" 0
}

# ---- descriptors given to api_key_cmd ------------------------------------------

@test "api_key_cmd sees only fds 0, 1 and 2, also while a Redis connection is open" {
    start_redis
    { printf '[failover]\nretries = 0\n[sync]\nbackend = redis\nredis_port = %s\n\n' "$REDIS_PORT"
      provider_section oa openai oa
    } | sed '/^api_key = /d' | write_config
    # ls lists its own fds: 0-2, and the directory it reads (the lowest free)
    printf 'api_key_cmd = ls -l /proc/$PPID/fd >%s/parent; ls -l /proc/self/fd >%s/fds; echo k\n' \
        "$TEST_HOME" "$TEST_HOME" >>"$CONFIG"
    run --separate-stderr flexiai complete --no-stream hi </dev/null
    assert_success
    # flexiai itself held the Redis connection while the command ran
    grep -q 'socket:' "$TEST_HOME/parent"
    local others
    others=$(awk 'NR > 1 && $9 !~ /^[012]$/ && $11 !~ /^\/proc\/[0-9]+\/fd$/' "$TEST_HOME/fds")
    assert_equal "$others" ""
    assert_equal "$(awk 'NR > 1 && $9 == 0 { print $11 }' "$TEST_HOME/fds")" /dev/null
}

# ---- api_key_cmd bounded ---------------------------------------------------------

@test "api_key_cmd that hangs: killed with its group after api_key_timeout, config, 78" {
    { printf '[failover]\nretries = 0\n\n'; provider_section oa openai oa; } |
        sed '/^api_key = /d' | write_config
    # durations of this test's own (another suite on the machine may run
    # the same test)
    printf 'api_key_timeout = 0.5\napi_key_cmd = sleep 977.%s & sleep 978.%s; echo k\n' $$ $$ >>"$CONFIG"
    run --separate-stderr flexiai complete hi </dev/null
    assert_failure 78
    assert_equal "$stderr" "flexiai: oa: config (provider 'oa': api_key_cmd timed out after 0.5s (api_key_timeout))"
    # the group was killed: both are gone (at once, or a little later on
    # a loaded machine)
    wait_gone "sleep 97[78]\\.$$"
    assert_equal "$(mock_count oa)" 0
}

@test "api_key_cmd: only its first line counts, 64 KiB at most, and a huge output is no key" {
    { printf '[failover]\nretries = 0\n\n'; provider_section oa openai oa; } |
        sed '/^api_key = /d' | write_config
    printf 'api_key_cmd = yes\n' >>"$CONFIG"
    run --separate-stderr flexiai complete --no-stream hi </dev/null
    assert_success
    assert_output hi
    sed -i 's/^api_key_cmd = .*/api_key_cmd = head -c 100000000 \/dev\/zero/' "$CONFIG"
    run --separate-stderr flexiai complete hi </dev/null
    assert_failure 78
    assert_equal "$stderr" "flexiai: oa: config (provider 'oa': api_key_cmd printed no key)"
}

@test "SIGTERM or SIGINT while api_key_cmd runs: 143 or 130, and the command is killed" {
    { printf '[failover]\nretries = 0\n\n'; provider_section oa openai oa; } |
        sed '/^api_key = /d' | write_config
    printf 'api_key_cmd = sleep 979.%s\n' $$ >>"$CONFIG"
    local sig code pid i
    for sig in TERM INT; do
        flexiai complete hi </dev/null >/dev/null 2>"$TEST_HOME/err" &
        pid=$!
        for i in $(seq 1 500); do pgrep -f "sleep 979\\.$$" >/dev/null && break; sleep 0.02; done
        run pgrep -f "sleep 979\\.$$"
        assert_success
        kill -s "$sig" "$pid"
        code=0
        wait "$pid" || code=$?
        [ "$sig" = TERM ] && assert_equal "$code" 143
        [ "$sig" = INT ] && assert_equal "$code" 130
        wait_gone "sleep 979\\.$$"
    done
}

# ---- size limits -------------------------------------------------------------------

@test "an endless SSE line, an endless event, an endless body: each limit named, 75" {
    start_hostile
    hostile_provider endless-line
    run --separate-stderr flexiai complete --stream hi </dev/null
    assert_failure 75
    assert_equal "$stderr" "flexiai: endless-line: stream_error (stream line longer than 1 MiB (limit of one line))"
    hostile_provider huge-event
    run --separate-stderr flexiai complete --stream hi </dev/null
    assert_failure 75
    assert_equal "$stderr" "flexiai: huge-event: stream_error (stream event larger than 1 MiB (limit of one event))"
    hostile_provider endless-json
    run --separate-stderr flexiai complete --no-stream hi </dev/null
    assert_failure 75
    assert_equal "$stderr" "flexiai: endless-json: stream_error (response larger than 16 MiB (max_response_bytes))"
}

@test "absurd response headers (1.6 MB, control bytes) are cut at 64 KiB, 75" {
    start_hostile
    hostile_provider absurd-headers
    run --separate-stderr flexiai complete --no-stream hi </dev/null
    assert_failure 75
    assert_equal "$stderr" "flexiai: absurd-headers: stream_error (response headers larger than 64 KiB)"
}

@test "max_response_bytes caps a streamed answer of valid events" {
    start_hostile
    hostile_provider flood "max_response_bytes = 100000"
    run --separate-stderr flexiai complete --stream hi </dev/null
    assert_failure 75
    assert_equal "$stderr" "flexiai: flood: stream_error (response larger than 100000 bytes (max_response_bytes))"
    hostile_provider flood "max_response_bytes = 1048576"
    run --separate-stderr flexiai complete --json --stream hi </dev/null
    assert_failure 75
    assert_equal "$(jq -r .attempts[0].error_class <<<"$output")" stream_error
}

# ---- times -------------------------------------------------------------------------

@test "Retry-After of 1e308, 20 digits or the year 9999 opens the breaker for max_open at most" {
    start_hostile
    local mode before now retry
    for mode in retry-big retry-digits retry-date; do
        hostile_provider "$mode"
        before=$(date +%s)
        run --separate-stderr flexiai complete --no-stream hi </dev/null
        assert_failure 75
        now=$(date +%s)
        retry=$(jq -r '.retry_at | floor' "$XDG_STATE_HOME/flexiai/breakers/$mode.json")
        # max_open (an hour) from the answer, which came before 'now'
        [ "$retry" -le $((now + 3601)) ] || { echo "$mode: retry_at $retry, now $now" >&2; false; }
        [ "$retry" -ge $((before + 3600)) ] || { echo "$mode: retry_at $retry, before $before" >&2; false; }
    done
    hostile_provider retry-big "[breaker]" "max_open = 120"
    rm -f "$XDG_STATE_HOME/flexiai/breakers/retry-big.json"
    run flexiai complete --no-stream hi </dev/null
    retry=$(jq -r '.retry_at | floor' "$XDG_STATE_HOME/flexiai/breakers/retry-big.json")
    [ "$retry" -le $(($(date +%s) + 121)) ]
}

@test "a state document with absurd times is clamped when read; --for has a maximum" {
    mkdir -p "$XDG_STATE_HOME/flexiai/breakers"
    printf '{"state":"open","failure_count":5,"success_count":0,"opened_at":1e308,"retry_at":1e308,"changed_at":1e308,"changed_by":"x","reason":"retry_after","forced":false,"probes":[],"version":1}' \
        >"$XDG_STATE_HOME/flexiai/breakers/oa.json"
    run --separate-stderr flexiai breaker status --json oa
    assert_success
    local now retry
    now=$(date +%s)
    retry=$(jq -r '.[0].retry_at // .breakers[0].retry_at | floor' <<<"$output")
    [ "$retry" -le $((now + 3601)) ] || { echo "retry_at $retry: $output" >&2; false; }
    run --separate-stderr flexiai breaker open --for 31d oa
    assert_failure 64
    assert_equal "$stderr" "flexiai: --for is at most 30d (2592000 seconds) (try 'flexiai breaker --help')"
    run --separate-stderr flexiai breaker open --for 1e400 oa
    assert_failure 64
    run --separate-stderr flexiai breaker open --for nan oa
    assert_failure 64
    run --separate-stderr flexiai breaker open --for 30d oa
    assert_success
}

# ---- configuration lines -------------------------------------------------------------

@test "a config line of 1 MiB followed by timeout=5 is an error, never a setting" {
    { printf '[defaults]\n'; head -c 1048576 /dev/zero | tr '\0' ' '; printf 'timeout=5\n'; } | write_config
    run --separate-stderr flexiai config check
    assert_failure 78
    assert_equal "$stderr" "flexiai: $CONFIG:2: line too long (max 65536)"
}

@test "NUL in a config value, 0x10, and an out-of-range value printed as written" {
    printf '[defaults]\ntimeout = 5\0x\n' | write_config
    run --separate-stderr flexiai config check
    assert_failure 78
    assert_equal "$stderr" "flexiai: $CONFIG:2: NUL byte in the line"
    printf '[defaults]\ntimeout = 0x10\nmax_tokens = 0x10\ntemperature = 2.0000001\n' | write_config
    run --separate-stderr flexiai config check
    assert_failure 78
    assert_equal "${stderr_lines[0]}" "flexiai: $CONFIG:2: defaults.timeout: '0x10' is not a number"
    assert_equal "${stderr_lines[1]}" "flexiai: $CONFIG:3: defaults.max_tokens: '0x10' is not a whole number"
    assert_equal "${stderr_lines[2]}" "flexiai: $CONFIG:4: defaults.temperature: 2.0000001 is out of range (0 to 2)"
}

@test "a FIFO or /dev/zero as configuration is refused at once" {
    mkfifo "$TEST_HOME/fifo.ini"
    run --separate-stderr timeout 10 flexiai config check -c "$TEST_HOME/fifo.ini"
    assert_failure 78
    assert_equal "$stderr" "flexiai: $TEST_HOME/fifo.ini: cannot read: not a regular file"
    run --separate-stderr timeout 10 flexiai config check -c /dev/zero
    assert_failure 78
    assert_equal "$stderr" "flexiai: /dev/zero: cannot read: not a regular file"
}

# ---- names and URLs ------------------------------------------------------------------

@test "provider names with control characters: refused in config, escaped from the command line" {
    printf '[provider.a\033]0;pwned\007b]\ntype = openai\nmodel = m\n' | write_config
    run --separate-stderr flexiai config check
    assert_failure 78
    assert_equal "$stderr" "flexiai: $CONFIG:1: a provider name may not contain control characters"
    { printf '[failover]\nretries = 0\n\n'; provider_section oa openai oa; } | write_config
    run --separate-stderr flexiai complete -p $'o\033[2Ja' hi
    assert_failure 64
    assert_equal "$stderr" "flexiai: no provider 'o\\x1b[2Ja' (configured: oa)"
}

@test "a base_url that is not http(s) with a host is a config check error, 78" {
    local url
    for url in ftp://h/v1 http:// http:///v1 'http://[::1' http://h:99999/ localhost:8080; do
        printf '[provider.a]\ntype = openai\nmodel = m\nbase_url = %s\n' "$url" | write_config
        run --separate-stderr flexiai config check
        assert_failure 78
        assert_equal "$stderr" "flexiai: $CONFIG:4: provider.a.base_url: '$url' is not an http:// or https:// URL with a host"
    done
    printf '[provider.a]\ntype = openai\nmodel = m\nbase_url = http://[::1]:8080/v1\n' | write_config
    run flexiai config check
    assert_success
}

# ---- answers ------------------------------------------------------------------------

@test "an answer with no choice at all is a stream_error, streamed or not" {
    start_hostile
    hostile_provider no-choices
    run --separate-stderr flexiai complete --stream hi </dev/null
    assert_failure 75
    assert_equal "$stderr" "flexiai: no-choices: stream_error (stream ended without any choice)"
    run --separate-stderr flexiai complete --no-stream hi </dev/null
    assert_failure 75
    assert_equal "$stderr" "flexiai: no-choices: stream_error (response has no choices)"
}

# ---- HTTP classes ---------------------------------------------------------------------

@test "a 3xx is a permanent bad_request naming the Location, with no raw escape" {
    start_hostile
    hostile_provider redirect
    run --separate-stderr flexiai complete --no-stream hi </dev/null
    assert_failure 65
    assert_equal "$stderr" "flexiai: redirect: bad_request (HTTP 302 redirect to http://127.0.0.1:1/ [31mnew/v1 (redirects are not followed: check base_url))"
    # not a breaker failure: the next request tries again and says the same
    run --separate-stderr flexiai complete --no-stream hi </dev/null
    assert_failure 65
}

@test "100 Continue then silence is a timeout; a 201 answer is a success" {
    start_hostile
    hostile_provider continue "timeout = 1"
    run --separate-stderr flexiai complete --no-stream hi </dev/null
    assert_failure 75
    assert_equal "$stderr" "flexiai: continue: timeout (timed out after 1s)"
    hostile_provider created
    run --separate-stderr flexiai complete --no-stream --json hi </dev/null
    assert_success
    assert_equal "$(jq -r .text <<<"$output")" fine
    assert_equal "$(jq -r .attempts[0].http_status <<<"$output")" 201
}

@test "Anthropic 402 billing_error is quota" {
    { printf '[failover]\nretries = 0\n\n'; provider_section an anthropic an; } | write_config
    mock_script an 'status=402'
    run --separate-stderr flexiai complete --json --no-stream hi </dev/null
    assert_failure
    assert_equal "$(jq -r .attempts[0].error_class <<<"$output")" quota
}

# ---- core dumps ----------------------------------------------------------------------
# PR_SET_DUMPABLE is checked in tests/unit/test-config (a process can only
# ask about itself); here: a key command still runs and works after it.

# ---- state directory -----------------------------------------------------------------

@test "a breakers directory that is a symlink or group-writable: one warning, the answer still comes" {
    mkdir -p "$XDG_STATE_HOME/flexiai" "$TEST_HOME/elsewhere"
    ln -s "$TEST_HOME/elsewhere" "$XDG_STATE_HOME/flexiai/breakers"
    mock_script oa 'status=500'
    run --separate-stderr flexiai complete --no-stream hi </dev/null
    assert_failure 75
    assert_equal "$(grep -c 'symbolic link' <<<"$stderr")" 1
    assert_equal "$(ls "$TEST_HOME/elsewhere")" ""
    mock_script oa ''
    run --separate-stderr flexiai complete --no-stream hi </dev/null
    assert_success
    assert_output hi
    rm "$XDG_STATE_HOME/flexiai/breakers"
    mkdir "$XDG_STATE_HOME/flexiai/breakers"
    chmod 777 "$XDG_STATE_HOME/flexiai/breakers"
    mock_script oa 'status=500'
    run --separate-stderr flexiai complete --no-stream hi </dev/null
    assert_failure 75
    assert_equal "$(grep -c "flexiai: state directory $XDG_STATE_HOME/flexiai/breakers is writable by group or others: breaker state not used" <<<"$stderr")" 1
    assert_equal "$(ls "$XDG_STATE_HOME/flexiai/breakers")" ""
}
