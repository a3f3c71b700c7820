#!/usr/bin/env bats
# TLS to Redis: a redis-server with --tls-port and certificates made with
# openssl here.  The right CA works for the store, events and watch; a
# wrong CA, a wrong server name and a missing client certificate each give
# one clear line while the request still answers from the file store.

load helpers

setup_file() {
    CERTS=$BATS_FILE_TMPDIR/certs
    mkdir -p "$CERTS"
    (
        cd "$CERTS" || exit 1
        ec='-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2'
        ca_ext='-addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign'
        # shellcheck disable=SC2086
        openssl req -x509 $ec -keyout ca.key -out ca.crt -subj /CN=flexiai-test-ca $ca_ext
        # shellcheck disable=SC2086
        openssl req -x509 $ec -keyout other-ca.key -out other-ca.crt -subj /CN=someone-else $ca_ext
        printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >server.ext
        printf 'extendedKeyUsage=clientAuth\n' >client.ext
        for n in server client; do
            # shellcheck disable=SC2086
            openssl req $ec -keyout $n.key -out $n.csr -subj /CN=$n
            openssl x509 -req -in $n.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
                -days 2 -out $n.crt -extfile $n.ext
        done
        mkdir -p cadir && cp ca.crt cadir/ && openssl rehash cadir
        chmod 644 ./*.key
    ) >"$BATS_FILE_TMPDIR/openssl.log" 2>&1
    export CERTS
}

setup() {
    setup_env
    BG_PIDS=
    start_mockllm
}

teardown() {
    kill_bg
    teardown_env
}

# start_redis_tls AUTH_CLIENTS(yes|no): a TLS-only redis-server; REDIS_PORT
start_redis_tls() {
    REDIS_PORT=$(dead_port)
    redis-server --port 0 --tls-port "$REDIS_PORT" --bind 127.0.0.1 \
        --tls-cert-file "$CERTS/server.crt" --tls-key-file "$CERTS/server.key" \
        --tls-ca-cert-file "$CERTS/ca.crt" --tls-auth-clients "$1" \
        --save '' --appendonly no --daemonize no --dir "$TEST_HOME" \
        >"$TEST_HOME/redis.log" 2>&1 3>&- &
    REDIS_PID=$!
    local i
    for i in $(seq 1 200); do
        tls_cli ping 2>/dev/null | grep -q PONG && return 0
        sleep 0.02
    done
    echo "redis-server (TLS) did not start" >&2
    return 1
}

tls_cli() {
    redis-cli --tls --cacert "$CERTS/ca.crt" --cert "$CERTS/client.crt" \
        --key "$CERTS/client.key" -p "$REDIS_PORT" "$@"
}

# write_tls_config [extra [sync] lines...]
write_tls_config() {
    {
        printf '[failover]\nretries = 0\n[breaker]\nfailure_threshold = 2\n'
        printf '[sync]\nbackend = redis\nredis_url = rediss://127.0.0.1:%s/0\n' "$REDIS_PORT"
        local line
        for line in "$@"; do printf '%s\n' "$line"; done
        printf '\n'
        provider_section primary openai p1 "priority = 1"
        provider_section secondary anthropic s1 "priority = 2"
    } | write_config
}

open_primary() {
    mock_script p1 "status=503"
    flexiai complete "a" </dev/null >/dev/null 2>"$TEST_HOME/open.err"
    flexiai complete "b" </dev/null >/dev/null 2>>"$TEST_HOME/open.err"
}

@test "TLS with the right CA: the store, its events and watch all work" {
    start_redis_tls no
    write_tls_config "redis_tls_ca = $CERTS/ca.crt"
    tls_cli SUBSCRIBE flexiai:events >"$TEST_HOME/sub" 2>&1 3>&- &
    BG_PIDS="$BG_PIDS $!"
    for i in $(seq 1 250); do
        [ "$(tls_cli --raw PUBSUB NUMSUB flexiai:events | sed -n 2p)" = 1 ] && break
        sleep 0.02
    done
    flexiai breaker watch --json >"$TEST_HOME/watch" 2>"$TEST_HOME/watch.err" 3>&- &
    BG_PIDS="$BG_PIDS $!"
    for i in $(seq 1 250); do
        [ "$(tls_cli --raw PUBSUB NUMSUB flexiai:events | sed -n 2p)" = 2 ] && break
        sleep 0.02
    done

    open_primary
    assert_equal "$(cat "$TEST_HOME/open.err")" ""
    # the store: the document is in the TLS Redis
    assert_equal "$(tls_cli GET flexiai:state:primary | jq -r .state)" open
    run --separate-stderr flexiai breaker status --json
    assert_success
    assert_equal "$stderr" ""
    assert_equal "$(jq -r '.[0].state' <<<"$output")" open
    assert_equal "$(jq -r '.[0].backend' <<<"$output")" redis
    # events: published over TLS, seen by a TLS subscriber and by watch
    wait_lines "$TEST_HOME/sub" '"event_type": "opened"' 1
    wait_lines "$TEST_HOME/watch" '"event_type": "opened"' 1
    # nothing on stderr but where it listens
    assert_output_of_watch_err() { [[ "$(cat "$TEST_HOME/watch.err")" =~ ^"flexiai: watching flexiai:events on redis 127.0.0.1:"[0-9]+$ ]]; }
    assert_output_of_watch_err || fail "$(cat "$TEST_HOME/watch.err")"
}

@test "TLS: a CA directory works, and so does a client certificate when the server asks for one" {
    start_redis_tls yes
    write_tls_config "redis_tls_ca = $CERTS/cadir" "redis_tls_cert = $CERTS/client.crt" \
        "redis_tls_key = $CERTS/client.key"
    open_primary
    assert_equal "$(cat "$TEST_HOME/open.err")" ""
    assert_equal "$(tls_cli GET flexiai:state:primary | jq -r .state)" open
}

# fails_over_once: a request answers from the file store with one line
# naming the server and saying why ($1: a word the reason holds)
fails_over_once() {
    run --separate-stderr flexiai complete "hello" </dev/null
    assert_success
    assert_output "hello"
    [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
    [[ "$stderr" == "flexiai: redis 127.0.0.1:$REDIS_PORT: "*"; using the file store" ]]
    [[ "$stderr" == *"$1"* ]]
    # and the file store took the state
    mock_script p1 "status=503"
    flexiai complete "x" </dev/null >/dev/null 2>&1
    flexiai complete "y" </dev/null >/dev/null 2>&1
    run --separate-stderr flexiai breaker status --json
    assert_failure 69
    assert_equal "$(jq -r '.[0].state' <<<"$output")" open
    assert_equal "$(jq -r '.[0].backend' <<<"$output")" file
    assert_equal "$(tls_cli EXISTS flexiai:state:primary)" 0
}

@test "TLS with the wrong CA: one line, the request answers from the file store" {
    start_redis_tls no
    write_tls_config "redis_tls_ca = $CERTS/other-ca.crt"
    fails_over_once certificate
}

@test "TLS with the wrong server name: one line, the request answers from the file store" {
    start_redis_tls no
    write_tls_config "redis_tls_ca = $CERTS/ca.crt" "redis_tls_server_name = redis.wrong.example"
    fails_over_once redis.wrong.example
}

@test "TLS without the client certificate the server requires: one line, file store" {
    start_redis_tls yes
    write_tls_config "redis_tls_ca = $CERTS/ca.crt"
    fails_over_once "set redis_tls_cert and redis_tls_key"
}

@test "redis_tls_insecure = yes skips verification, with a warning from config check" {
    start_redis_tls no
    write_tls_config "redis_tls_ca = $CERTS/other-ca.crt" "redis_tls_insecure = yes"
    run --separate-stderr flexiai config check
    assert_success
    [[ "$stderr" == *"redis_tls_insecure"*"not verified"* ]]
    run --separate-stderr flexiai breaker status --json
    assert_success
    assert_equal "$(jq -r '.[0].backend' <<<"$output")" redis
}

@test "redis_ssl = yes (the Python name) turns TLS on for a redis:// address" {
    start_redis_tls no
    {
        printf '[sync]\nbackend = redis\nredis_host = 127.0.0.1\nredis_port = %s\n' "$REDIS_PORT"
        printf 'redis_ssl = yes\nredis_tls_ca = %s\n\n' "$CERTS/ca.crt"
        provider_section primary openai p1
    } | write_config
    run --separate-stderr flexiai breaker reset primary
    assert_success
    assert_equal "$stderr" ""
    assert_equal "$(tls_cli GET flexiai:state:primary | jq -r .reason)" reset
}

@test "a client certificate without its key is a configuration error naming the line" {
    printf '[sync]\nbackend = redis\nredis_ssl = yes\nredis_tls_cert = /nonexistent/c.crt\n' | write_config
    run --separate-stderr flexiai config check
    assert_failure 78
    [[ "$stderr" == *"redis_tls_cert and redis_tls_key go together"* ]]
    [[ "$stderr" == *"cannot read /nonexistent/c.crt"* ]]
}
