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
    "$MOCKLLM" --quiet --port-file "$TEST_HOME/mock.port" "$@" >/dev/null 2>"$TEST_HOME/mock.err" 3>&- &
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
        --daemonize no --dir "$TEST_HOME" "$@" >"$TEST_HOME/redis.log" 2>&1 3>&- &
    REDIS_PID=$!
    local i
    for i in $(seq 1 200); do
        redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && return 0
        sleep 0.02
    done
    echo "redis-server did not start" >&2
    return 1
}

# ---- Redis helpers (tests/redis.bats) --------------------------------------

# redis_cli ARGS...: redis-cli against the server of start_redis
redis_cli() { redis-cli -p "$REDIS_PORT" "$@"; }

# start_redis_on PORT [extra redis-server args]: (re)start redis-server on a
# given port (e.g. the one a previous start_redis picked); sets REDIS_PID
start_redis_on() {
    local port=$1
    shift
    REDIS_PORT=$port
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
        --daemonize no --dir "$TEST_HOME" "$@" >>"$TEST_HOME/redis.log" 2>&1 3>&- &
    REDIS_PID=$!
    local i
    for i in $(seq 1 200); do
        redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && return 0
        sleep 0.02
    done
    echo "redis-server did not start on port $port" >&2
    return 1
}

# stop_redis: kill the server of start_redis and wait until it is gone
stop_redis() {
    [ -n "${REDIS_PID:-}" ] || return 0
    kill "$REDIS_PID" 2>/dev/null
    wait "$REDIS_PID" 2>/dev/null
    REDIS_PID=
    return 0
}

# start_redis_unix: redis-server on a unix socket only (no TCP); sets
# REDIS_SOCK and REDIS_PID
start_redis_unix() {
    command -v redis-server >/dev/null || { echo "redis-server not found" >&2; return 1; }
    REDIS_SOCK=$TEST_HOME/redis.sock
    redis-server --port 0 --unixsocket "$REDIS_SOCK" --unixsocketperm 700 \
        --save '' --appendonly no --daemonize no --dir "$TEST_HOME" \
        >"$TEST_HOME/redis.log" 2>&1 3>&- &
    REDIS_PID=$!
    local i
    for i in $(seq 1 200); do
        redis-cli -s "$REDIS_SOCK" ping 2>/dev/null | grep -q PONG && return 0
        sleep 0.02
    done
    echo "redis-server (unix socket) did not start" >&2
    return 1
}

# start_redis_auth DEFAULT_PASSWORD USER USER_PASSWORD: redis-server on TCP
# with requirepass for the default user and an ACL user allowed everything;
# sets REDIS_PORT and REDIS_PID
start_redis_auth() {
    command -v redis-server >/dev/null || { echo "redis-server not found" >&2; return 1; }
    REDIS_PORT=$(dead_port)
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
        --daemonize no --dir "$TEST_HOME" --requirepass "$1" \
        --user "$2" on ">$3" '~*' '&*' '+@all' >"$TEST_HOME/redis.log" 2>&1 3>&- &
    REDIS_PID=$!
    local i
    for i in $(seq 1 200); do
        redis-cli -p "$REDIS_PORT" --no-auth-warning -a "$1" ping 2>/dev/null | grep -q PONG && return 0
        sleep 0.02
    done
    echo "redis-server (auth) did not start" >&2
    return 1
}

# wait_numsub CHANNEL N [redis-cli args]: wait (up to 10 s) until CHANNEL
# has N subscribers
wait_numsub() {
    local ch=$1 n=$2 i
    shift 2
    for i in $(seq 1 500); do
        [ "$(redis-cli -p "$REDIS_PORT" "$@" --raw PUBSUB NUMSUB "$ch" 2>/dev/null | sed -n 2p)" = "$n" ] && return 0
        sleep 0.02
    done
    echo "channel $ch never had $n subscribers" >&2
    return 1
}

# start_subscriber FILE [CHANNEL]: redis-cli SUBSCRIBE in the background,
# raw replies to FILE (payloads are the lines starting with '{'); waits
# until it is subscribed.  Adds its pid to BG_PIDS (see kill_bg).
start_subscriber() {
    local ch=${2:-flexiai:events}
    redis-cli -p "$REDIS_PORT" --raw SUBSCRIBE "$ch" >"$1" 2>&1 3>&- &
    BG_PIDS="${BG_PIDS:-} $!"
    wait_numsub "$ch" 1
}

# sync_subscriber FILE [CHANNEL]: publish a marker line on CHANNEL and wait
# until the subscriber of start_subscriber has written it to FILE.  Redis
# delivers a channel's messages in order, so everything published before
# (e.g. by a command that has returned) is in FILE by then: no sleep needed
# to be sure that nothing else came.  The marker does not start with '{'.
sync_subscriber() {
    local ch=${2:-flexiai:events} mark
    mark=sync-marker-$RANDOM$RANDOM
    redis-cli -p "$REDIS_PORT" PUBLISH "$ch" "$mark" >/dev/null
    wait_lines "$1" "^$mark\$" 1
}

# wait_lines FILE PATTERN N: wait (up to 10 s) until FILE has at least N
# lines matching the extended regex PATTERN
wait_lines() {
    local i n
    for i in $(seq 1 500); do
        n=$(grep -cE -- "$2" "$1" 2>/dev/null) || : # nothing if FILE is not there yet
        [ "${n:-0}" -ge "$3" ] && return 0
        sleep 0.02
    done
    echo "$1 never had $3 lines matching $2; it has:" >&2
    cat "$1" >&2
    return 1
}

# kill_bg: end the background processes recorded in BG_PIDS
kill_bg() {
    local p
    for p in ${BG_PIDS:-}; do
        kill "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    BG_PIDS=
    return 0
}

# start_blackhole MODE: a loopback TCP port that never answers; sets
# BLACKHOLE_PORT and adds the server's pid to BG_PIDS.
#   silent:  accepts every connection and never sends a byte
#   backlog: listens with a full accept queue and never accepts, so a new
#            connection is never established (its SYNs are dropped)
start_blackhole() {
    local f=$TEST_HOME/blackhole.port
    rm -f "$f"
    python3 -c '
import os, socket, sys, time
mode, f = sys.argv[1], sys.argv[2]
s = socket.socket()
s.bind(("127.0.0.1", 0))
port = s.getsockname()[1]
keep = []
if mode == "silent":
    s.listen(128)
else:
    s.listen(0)
    for _ in range(4):
        c = socket.socket()
        c.setblocking(False)
        c.connect_ex(("127.0.0.1", port))
        keep.append(c)
    time.sleep(0.2)
with open(f + ".tmp", "w") as out:
    out.write(str(port))
os.rename(f + ".tmp", f)
while True:
    if mode == "silent":
        c, _ = s.accept()
        keep.append(c)
    else:
        time.sleep(3600)
' "$1" "$f" >/dev/null 2>&1 3>&- &
    BG_PIDS="${BG_PIDS:-} $!"
    local i
    for i in $(seq 1 200); do
        [ -s "$f" ] && break
        sleep 0.02
    done
    BLACKHOLE_PORT=$(cat "$f" 2>/dev/null)
    [ -n "$BLACKHOLE_PORT" ]
}

# Wait until at most N of the given processes are still running (the
# ones a held request keeps waiting), for at most two minutes.
running_at_most() {
    local max=$1 n p tries=0
    shift
    while [ $tries -lt 1200 ]; do
        n=0
        for p in "$@"; do
            case "$(ps -o stat= -p "$p" 2>/dev/null)" in
                ''|Z*) ;;
                *) n=$((n + 1)) ;;
            esac
        done
        [ "$n" -le "$max" ] && return 0
        tries=$((tries + 1))
        sleep 0.1
    done
}
