# helpers.bash - shared set-up for the bats tests.
#
# Every test gets its own HOME and XDG directories (nothing of the user's is
# read or written), the build tree's commands first on PATH, and helpers to
# run the mock provider server (tests/mockllm) and redis-server on free
# loopback ports.

load_libs() {
    local d
    for d in /usr/lib/bats /usr/lib/bats-core /usr/share/bats; do
        if [ -f "$d/bats-support/load.bash" ]; then
            load "$d/bats-support/load.bash"
            load "$d/bats-assert/load.bash"
            [ -f "$d/bats-file/load.bash" ] && load "$d/bats-file/load.bash"
            return 0
        fi
    done
    echo "bats-support/bats-assert not found (apt-get install bats-support bats-assert bats-file)" >&2
    return 1
}
load_libs
bats_require_minimum_version 1.5.0

BUILDDIR=${FX_TEST_BUILDDIR:-$(cd "$BATS_TEST_DIRNAME/.." && pwd)}
SRCDIR=${FX_TEST_SRCDIR:-$(cd "$BATS_TEST_DIRNAME/.." && pwd)}
MOCKLLM=$BUILDDIR/tests/mockllm/mockllm

setup_env() {
    TEST_HOME=$(mktemp -d "${BATS_TMPDIR:-/tmp}/flexiai-test.XXXXXX")
    export HOME=$TEST_HOME
    export XDG_CONFIG_HOME=$TEST_HOME/.config
    export XDG_STATE_HOME=$TEST_HOME/.local/state
    export XDG_DATA_HOME=$TEST_HOME/.local/share
    export XDG_CACHE_HOME=$TEST_HOME/.cache
    mkdir -p "$XDG_CONFIG_HOME/flexiai" "$TEST_HOME/etc/flexiai"
    # a system file of our own, so /etc/flexiai never leaks into a test
    export FX_TEST_SYSCONF=$TEST_HOME/etc/flexiai/config.ini
    local v
    for v in $(env | sed -n 's/^\(FLEXIAI_[A-Za-z0-9_]*\)=.*/\1/p'); do
        unset "$v"
    done
    unset OPENAI_API_KEY OPENAI_BASE_URL ANTHROPIC_API_KEY GEMINI_API_KEY GOOGLE_API_KEY
    unset NO_COLOR http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy
    export PATH=$BUILDDIR/cmd:$PATH
    CONFIG=$XDG_CONFIG_HOME/flexiai/config.ini
    MOCK_PID= REDIS_PID=
}

teardown_env() {
    [ -n "${MOCK_PID:-}" ] && kill "$MOCK_PID" 2>/dev/null && wait "$MOCK_PID" 2>/dev/null
    [ -n "${REDIS_PID:-}" ] && kill "$REDIS_PID" 2>/dev/null && wait "$REDIS_PID" 2>/dev/null
    [ -n "${TEST_HOME:-}" ] && rm -rf "$TEST_HOME"
    return 0
}

setup() { setup_env; }
teardown() { teardown_env; }

# start_mockllm [--script NAME=SPEC ...]: sets MOCK_PORT, MOCK_URL
start_mockllm() {
    [ -x "$MOCKLLM" ] || { echo "mockllm not built: $MOCKLLM" >&2; return 1; }
    "$MOCKLLM" --quiet --port-file "$TEST_HOME/mock.port" "$@" >/dev/null 2>"$TEST_HOME/mock.err" &
    MOCK_PID=$!
    local i
    for i in $(seq 1 200); do
        [ -s "$TEST_HOME/mock.port" ] && break
        sleep 0.02
    done
    MOCK_PORT=$(cat "$TEST_HOME/mock.port")
    MOCK_URL=http://127.0.0.1:$MOCK_PORT
    [ -n "$MOCK_PORT" ]
}

mock_script() { curl -sf -X POST --data-binary "$2" "$MOCK_URL/_control/script/$1" >/dev/null; }
mock_reset() { curl -sf -X POST "$MOCK_URL/_control/reset" >/dev/null; }
mock_log() { curl -sf "$MOCK_URL/_control/log/$1"; }
mock_count() { mock_log "$1" | jq -r .count; }
mock_last_body() { mock_log "$1" | jq -r .last_body; }

# A port nothing listens on (for "connection refused").
dead_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# config_openai NAME [ROUTE] [extra ini lines...]: an openai-type provider
# section pointing at mockllm route /p/ROUTE.
provider_section() {
    local name=$1 type=$2 route=${3:-$1}
    shift 3 || shift $#
    local base
    case $type in
    openai) base=$MOCK_URL/p/$route/v1 ;;
    *) base=$MOCK_URL/p/$route ;;
    esac
    printf '[provider.%s]\ntype = %s\nmodel = %s-model\nbase_url = %s\napi_key = test-key-%s\n' \
        "$name" "$type" "$type" "$base" "$name"
    [ "$type" = vertex ] && printf 'project = proj\nlocation = us-central1\n'
    local line
    for line in "$@"; do printf '%s\n' "$line"; done
    printf '\n'
}

# write_config: stdin to the user's config file, mode 0600
write_config() {
    cat >"$CONFIG"
    chmod 600 "$CONFIG"
}

# start_redis [extra redis-server args]: sets REDIS_PORT
start_redis() {
    local server=${REDIS_SERVER:-redis-server}
    command -v "$server" >/dev/null || { echo "redis-server not found" >&2; return 1; }
    REDIS_PORT=$(dead_port)
    "$server" --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
        --daemonize no --dir "$TEST_HOME" "$@" >"$TEST_HOME/redis.log" 2>&1 &
    REDIS_PID=$!
    local i
    for i in $(seq 1 200); do
        redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && return 0
        sleep 0.02
    done
    echo "redis-server did not start" >&2
    return 1
}
