#!/usr/bin/env bats
# HTTP/2: nghttpx (Debian: nghttp2-proxy) terminates TLS on loopback with
# ALPN h2 in front of mockllm, with a certificate made here.  Requests and
# streams answer as over HTTP/1.1, provider errors keep their class, and a
# batch multiplexes its requests over one connection instead of opening one
# per request in flight; over plain HTTP/1.1 it keeps at most -j
# connections alive and reuses them.

load helpers

setup_file() {
    CERTS=$BATS_FILE_TMPDIR/certs
    mkdir -p "$CERTS"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
        -days 2 -keyout "$CERTS/server.key" -out "$CERTS/server.crt" \
        -subj /CN=localhost -addext subjectAltName=IP:127.0.0.1 \
        >"$BATS_FILE_TMPDIR/openssl.log" 2>&1
    export CERTS
}

setup() {
    setup_env
    BG_PIDS=
    start_mockllm
    start_h2
}

teardown() {
    kill_bg
    teardown_env
}

# start_h2: nghttpx in front of mockllm, TLS with h2 on H2_PORT and plain
# HTTP/1.1 on H1_PORT; its access log
# ($TEST_HOME/h2.log) has a line per request: client port, ALPN, status.
start_h2() {
    command -v nghttpx >/dev/null || {
        echo "nghttpx not installed (apt-get install nghttp2-proxy)" >&2
        return 1
    }
    H2_PORT=$(dead_port)
    H1_PORT=$(dead_port)
    H2_LOG=$TEST_HOME/h2.log
    nghttpx --conf=/dev/null --single-process --no-ocsp \
        --frontend="127.0.0.1,$H2_PORT" --frontend="127.0.0.1,$H1_PORT;no-tls" \
        --backend="127.0.0.1,$MOCK_PORT" \
        --accesslog-file="$H2_LOG" \
        --accesslog-format='$remote_port $alpn $status $request' \
        --errorlog-file="$TEST_HOME/h2.err" \
        "$CERTS/server.key" "$CERTS/server.crt" >/dev/null 2>&1 3>&- &
    BG_PIDS="$BG_PIDS $!"
    local i
    for i in $(seq 1 250); do
        curl -sfk --http2 "https://127.0.0.1:$H2_PORT/_control/log/none" >/dev/null 2>&1 && {
            : >"$H2_LOG"
            return 0
        }
        sleep 0.02
    done
    echo "nghttpx did not start: $(tail -3 "$TEST_HOME/h2.err")" >&2
    return 1
}

# h2_provider NAME ROUTE [lines]: an openai provider behind nghttpx
h2_provider() {
    local name=$1 route=$2
    shift 2
    printf '[provider.%s]\ntype = openai\nmodel = m-%s\nbase_url = https://127.0.0.1:%s/p/%s/v1\napi_key = test-key-%s\ninsecure = yes\n' \
        "$name" "$name" "$H2_PORT" "$route" "$name"
    local line
    for line in "$@"; do printf '%s\n' "$line"; done
    printf '\n'
}

@test "complete over HTTP/2: the answer, exit 0, and the request went as h2" {
    h2_provider h2 h2 | write_config
    run --separate-stderr flexiai complete --no-stream "hello over two" </dev/null
    assert_success
    assert_output "hello over two"
    run awk '$4 == "POST" { print $2, $3 }' "$H2_LOG"
    assert_output "h2 200"
}

@test "a stream over HTTP/2 arrives whole, chunk by chunk" {
    h2_provider h2 h2 | write_config
    run --separate-stderr flexiai complete --stream "one two three four five six" </dev/null
    assert_success
    assert_output "one two three four five six"
    assert_equal "$(mock_log h2 | jq -r .streamed)" 1
    assert_equal "$(awk '$4 == "POST" { print $2 }' "$H2_LOG")" h2
}

@test "HTTP/2 errors keep their class: a 503 fails over, a 401 is the caller's fault" {
    {
        printf '[failover]\nretries = 0\n\n'
        h2_provider p1 p1
        provider_section p2 openai p2
    } | write_config
    mock_script p1 "status=503"
    run --separate-stderr flexiai complete --no-stream "still answered" </dev/null
    assert_success
    assert_output "still answered"
    run --separate-stderr flexiai complete --json --no-stream "x" </dev/null
    assert_success
    assert_equal "$(jq -r '.attempts[0].http_status, .attempts[0].error_class, .provider' <<<"$output" | tr '\n' ' ')" \
        "503 overloaded p2 "
    mock_script p1 "status=401"
    run --separate-stderr flexiai complete -p p1 --no-stream "x" </dev/null
    assert_failure 77
    [[ "$stderr" == *401* ]]
}

@test "a stream broken off over HTTP/2 is continued by the next provider" {
    {
        printf '[failover]\nretries = 0\n\n'
        h2_provider p1 p1
        provider_section p2 openai p2
    } | write_config
    mock_script p1 "error_event_after=2"
    run --separate-stderr flexiai complete --stream "alpha beta gamma delta" </dev/null
    assert_success
    assert_output --partial "alpha beta"
    [[ "$stderr" == *"p1 broke off"* ]]
    [[ "$stderr" == *"p2 continued"* ]]
}

@test "batch -j 32 multiplexes its items over one HTTP/2 connection" {
    h2_provider h2 h2 | write_config
    seq 300 | awk '{ printf "{\"id\":%d,\"prompt\":\"item %d\"}\n", $1, $1 }' >"$TEST_HOME/in.jsonl"
    run --separate-stderr flexiai batch -q -j 32 -i "$TEST_HOME/in.jsonl"
    assert_success
    assert_equal "$(jq -r 'select(.exit_code == 0) | .id' <<<"$output" | sort -n | uniq | wc -l)" 300
    assert_equal "$(jq -r 'select(.id == 123) | .text' <<<"$output")" "item 123"
    # every request over h2, all from one client port: one connection
    assert_equal "$(awk '$4 == "POST"' "$H2_LOG" | wc -l)" 300
    assert_equal "$(awk '$4 == "POST" { print $2 }' "$H2_LOG" | sort -u)" h2
    assert_equal "$(awk '$4 == "POST" { print $1 }' "$H2_LOG" | sort -u | wc -l)" 1
}

@test "on that one connection the requests are in flight together" {
    h2_provider h2 h2 | write_config
    # each answer takes a second: one request at a time would let a
    # single one arrive in the first 900 ms
    mock_script h2 "wait_ms=1000"
    seq 64 | awk '{ printf "{\"id\":%d,\"prompt\":\"item %d\"}\n", $1, $1 }' >"$TEST_HOME/in.jsonl"
    run --separate-stderr flexiai batch -q -j 32 -i "$TEST_HOME/in.jsonl"
    assert_success
    assert_equal "$(jq -r 'select(.exit_code == 0) | .id' <<<"$output" | wc -l)" 64
    run jq '.times as $t | [$t[] | select(. - $t[0] < 900)] | length' <<<"$(mock_log h2)"
    assert_output 32
    assert_equal "$(awk '$4 == "POST" { print $1 }' "$H2_LOG" | sort -u | wc -l)" 1
}

@test "tls_ca verifies a private CA's server; without it the certificate is refused" {
    {
        printf '[failover]\nretries = 0\n\n'
        printf '[provider.gw]\ntype = openai\nmodel = m\nbase_url = https://127.0.0.1:%s/p/gw/v1\napi_key = k-gw\ntls_ca = %s\n\n' \
            "$H2_PORT" "$CERTS/server.crt"
    } | write_config
    run --separate-stderr flexiai complete --no-stream "verified" </dev/null
    assert_success
    assert_output "verified"
    assert_equal "$stderr" ""
    # a directory of hashed certificates works the same
    mkdir "$TEST_HOME/cadir"
    cp "$CERTS/server.crt" "$TEST_HOME/cadir/"
    openssl rehash "$TEST_HOME/cadir"
    FLEXIAI_PROVIDER_GW_TLS_CA=$TEST_HOME/cadir run --separate-stderr flexiai complete --no-stream "by dir" </dev/null
    assert_success
    assert_output "by dir"
    # the system's CAs do not know this server: one line, nothing on
    # stdout, and not "try later" (75): trying later will not help
    sed -i '/^tls_ca/d' "$CONFIG"
    run --separate-stderr flexiai complete --no-stream "x" </dev/null
    assert_failure 78
    assert_output ""
    [[ "$stderr" == "flexiai: gw: "*certificate*"needs tls_ca)" ]]
    assert_equal "$(wc -l <<<"$stderr")" 1
    run --separate-stderr flexiai complete --json --no-stream "x" </dev/null
    assert_equal "$(jq -r '.attempts[0].error_class' <<<"$output")" config
    # a CA file that is not there is a configuration error (exit 78)
    printf 'tls_ca = %s/nope.pem\n' "$TEST_HOME" >>"$CONFIG"
    run --separate-stderr flexiai complete --no-stream "x" </dev/null
    assert_failure 78
    [[ "$stderr" == *"tls_ca: cannot read"*"nope.pem"* ]]
}

@test "over HTTP/1.1 a batch -j 4 reuses at most 4 connections for 200 items" {
    printf '[provider.h1]\ntype = openai\nmodel = m\nbase_url = http://127.0.0.1:%s/p/h1/v1\napi_key = k-h1\n\n' \
        "$H1_PORT" | write_config
    seq 200 | awk '{ printf "{\"id\":%d,\"prompt\":\"item %d\"}\n", $1, $1 }' >"$TEST_HOME/in.jsonl"
    run --separate-stderr flexiai batch -q -j 4 -i "$TEST_HOME/in.jsonl"
    assert_success
    assert_equal "$(jq -r 'select(.exit_code == 0) | .id' <<<"$output" | wc -l)" 200
    assert_equal "$(awk '$4 == "POST"' "$H2_LOG" | wc -l)" 200
    assert_equal "$(awk '$4 == "POST" { print $2 }' "$H2_LOG" | sort -u)" "http/1.1"
    local conns
    conns=$(awk '$4 == "POST" { print $1 }' "$H2_LOG" | sort -u | wc -l)
    assert [ "$conns" -ge 1 ]
    assert [ "$conns" -le 4 ]
}
