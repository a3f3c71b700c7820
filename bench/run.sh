#!/bin/sh
# make bench: speed and memory of flexiai against references measured in the
# same run (see the README, "Benchmarks").  Every comparison is
# interleaved (the commands take turns, the first one alternating each round)
# and quotes medians.  Nothing here talks to the internet: mockllm plays the
# providers and a redis-server started here plays Redis, both on loopback.
#
#   sh bench/run.sh BUILDDIR        (what `make bench` runs)
#
# 1. `flexiai complete` vs curl posting the same body: wall ratio, peak RSS
# 2. streaming parse cost per chunk (bench/parse-sse.c on lib/'s parser),
#    and `flexiai complete --stream` end to end on 100000 chunks
# 3. failover through a dead primary vs the secondary directly; the same
#    with the primary's breaker open
# 4. Redis store vs file store (breaker load only; a failure written); a
#    Redis that stops answering (SIGSTOP): the cost over the file store is
#    at most redis_timeout + 50 ms (make check asserts only 10x that)
# 5. breaker event latency to `flexiai breaker watch --json`, with
#    redis-cli subscribed to the same channel as the reference
# 6. mockllm throughput with wrk, to show the mock is not the bottleneck
# 7. `flexiai batch -j 64` items/s against mockllm, logged and --no-log
#    (the ledger's cost), vs `xargs -P 8 flexiai complete` on the same
#    items; peak RSS on a 1 000 000-line input
# 8. the request ledger: complete --no-log vs logged (A/B), and flexiai
#    logs -q / usage --by day over a ledger of a million records
#    (FX_BENCH_LEDGER_RECORDS) filled by bench/ledger-bench
# 9. `flexiai batch --deferred`: 100 000 items written and submitted to
#    mockllm's OpenAI Batch API (two provider jobs of 50 000) in under a
#    minute and 64 MB peak RSS (FX_BENCH_DEFERRED_ITEMS; medians of 3)
# 10. the response cache: `flexiai complete --cache` answered from the cache
#    vs curl posting the same request to mockllm (wall ratio < 1.0)
# Helpers built here with cc: bench/abrun.c (interleaved runner: wall time,
# CPU and peak RSS from wait4), bench/stamp.c (wall-clock stamps),
# bench/parse-sse.c.  Every figure is printed with the command behind it;
# a summary table with PASS/FAIL per target ends the run.
#
# Environment: FX_BENCH_ROUNDS (rounds per comparison, default 300),
# FX_BENCH_EVENTS (watch events, default 200), FX_BENCH_KEEP=1 (keep the
# temporary directory and print its name), FX_BENCH_SECTIONS (the sections
# to run, e.g. "7 8"; default all).
# Exit status: 0 when every target is met, 1 when one is missed, 2 when the
# benchmark could not run (missing tool, failed command).
set -eu

top=$(cd "${1:-.}" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
ROUNDS=${FX_BENCH_ROUNDS:-300}
SECTIONS=${FX_BENCH_SECTIONS:-1 2 3 4 5 6 7 8 9 10}
# want N: section N is to run
want() {
    case " $SECTIONS " in
    *" $1 "*) return 0 ;;
    esac
    return 1
}
EVENTS=${FX_BENCH_EVENTS:-200}
WARMUP=10

die() {
    printf 'bench: %s\n' "$*" >&2
    exit 2
}

# ---- tools -----------------------------------------------------------------
need() { # need PROGRAM DEBIAN-PACKAGE
    command -v "$1" >/dev/null 2>&1 ||
        die "'$1' not found: apt-get install -y $2"
}
need curl curl
need wrk wrk
need redis-server redis-server
need redis-cli redis-tools
need /usr/bin/time time
need cc gcc
need pkg-config pkg-config
need jq jq
need sqlite3 sqlite3
need awk mawk
need sort coreutils
need mkfifo coreutils
need ldd libc-bin
for pc in libcurl libcjson hiredis inih; do
    pkg-config --exists "$pc" ||
        die "pkg-config cannot find $pc (apt-get install -y libcurl4-openssl-dev libcjson-dev libhiredis-dev libinih-dev)"
done

for f in "$top/cmd/flexiai" "$top/cmd/flexiai-complete" "$top/cmd/flexiai-breaker" \
    "$top/cmd/flexiai-batch" "$top/cmd/flexiai-logs" "$top/cmd/flexiai-usage" "$top/bench/ledger-bench"; do
    [ -x "$f" ] || die "$f is not built (run make first)"
done
[ -x "$top/tests/mockllm/mockllm" ] ||
    die "$top/tests/mockllm/mockllm is not built (needs libmicrohttpd: apt-get install -y libmicrohttpd-dev, then configure again)"
[ -f "$top/lib/.libs/libfx.a" ] || die "$top/lib/.libs/libfx.a is not built"
CURL=$(command -v curl)

# ---- temporary directory, background processes -----------------------------
tmp=$(mktemp -d "${TMPDIR:-/tmp}/flexiai-bench.XXXXXX")
pids=
frozen= # a redis-server stopped with SIGSTOP (section 4), to let go
cleanup() {
    st=$?
    [ -z "$frozen" ] || kill -CONT "$frozen" 2>/dev/null || :
    for p in $pids; do
        kill "$p" 2>/dev/null || :
    done
    for p in $pids; do
        wait "$p" 2>/dev/null || :
    done
    if [ "${FX_BENCH_KEEP:-0}" = 1 ]; then
        printf 'bench: temporary files kept in %s\n' "$tmp" >&2
    else
        rm -rf "$tmp"
    fi
    exit "$st"
}
trap cleanup EXIT
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'trap "" PIPE; exit 141' PIPE
trap 'exit 143' TERM

# A snapshot of the programs, so that a rebuild during the run cannot swap
# them under us (the front finds flexiai-complete next to itself).
mkdir "$tmp/bin"
for f in flexiai flexiai-complete flexiai-breaker flexiai-batch flexiai-logs flexiai-usage; do
    cp "$top/cmd/$f" "$tmp/bin/$f"
done
cp "$top/tests/mockllm/mockllm" "$tmp/bin/mockllm"
cp "$top/lib/.libs/libfx.a" "$tmp/libfx.a"
FLEXIAI=$tmp/bin/flexiai
MOCKLLM=$tmp/bin/mockllm
"$FLEXIAI" --version >/dev/null 2>&1 || die "$FLEXIAI --version fails (a build in progress?)"

# everything flexiai and curl keep or read goes to the temporary directory
export HOME="$tmp/home" XDG_CONFIG_HOME="$tmp/home/.config" \
    XDG_STATE_HOME="$tmp/state" XDG_DATA_HOME="$tmp/home/.local/share" \
    XDG_CACHE_HOME="$tmp/home/.cache"
mkdir -p "$HOME" "$XDG_CONFIG_HOME" "$XDG_STATE_HOME"
export FX_TEST_SYSCONF="$tmp/none.ini" # no /etc/flexiai
for v in $(env | sed -n 's/^\(FLEXIAI_[A-Za-z0-9_]*\)=.*/\1/p'); do
    unset "$v"
done
unset OPENAI_API_KEY OPENAI_BASE_URL ANTHROPIC_API_KEY GEMINI_API_KEY \
    GOOGLE_API_KEY http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY \
    all_proxy NO_COLOR || :
export LC_ALL=C

# ---- output helpers --------------------------------------------------------
summary=$tmp/summary
: >"$summary"
failed=0
section() { printf '\n\033[1m== %s ==\033[0m\n' "$*"; }
say() { printf '$ %s\n' "$*"; }
# record SECTION FIGURE VALUE TARGET RESULT
record() { printf '%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" >>"$summary"; }
# check_le SECTION FIGURE VALUE LIMIT UNIT / check_ge ...: PASS or FAIL line
check() {
    op=$1 sec=$2 fig=$3 val=$4 lim=$5 unit=$6
    if awk -v v="$val" -v l="$lim" -v op="$op" \
        'BEGIN { exit !((op == "le" && v + 0 <= l + 0) || (op == "ge" && v + 0 >= l + 0)) }'; then
        res=PASS
    else
        res=FAIL
        failed=$((failed + 1))
    fi
    sym='<='
    [ "$op" = ge ] && sym='>='
    printf '%s  %s: %s%s (target %s %s%s)\n' "$res" "$fig" "$val" "$unit" "$sym" "$lim" "$unit"
    record "$sec" "$fig" "$val$unit" "$sym $lim$unit" "$res"
}
check_le() { check le "$@"; }
check_ge() { check ge "$@"; }
info() { # info SECTION FIGURE VALUE
    printf 'info  %s: %s\n' "$2" "$3"
    record "$1" "$2" "$3" "-" "info"
}
# field FILE LINE-TAG KEY: a key=value figure from abrun's output
field() {
    awk -v tag="$2" -v k="$3" '$1 == tag {
        for (i = 2; i <= NF; i++) { n = index($i, "="); if (substr($i, 1, n - 1) == k) print substr($i, n + 1) } }' "$1"
}
calc() { awk "BEGIN { printf \"%.${2:-3}f\", $1 }"; }
ms() { calc "$1 / 1000" 3; } # microseconds -> milliseconds

load0=$(cat /proc/loadavg 2>/dev/null || echo '?')

# ---- helper programs -------------------------------------------------------
section "building the helpers (bench/*.c)"
CFLAGS_BENCH="-O2 -g -Wall -Wextra"
say "cc $CFLAGS_BENCH -o abrun $src/bench/abrun.c"
cc $CFLAGS_BENCH -o "$tmp/abrun" "$src/bench/abrun.c" || die "cannot build abrun"
say "cc $CFLAGS_BENCH -o stamp $src/bench/stamp.c"
cc $CFLAGS_BENCH -o "$tmp/stamp" "$src/bench/stamp.c" || die "cannot build stamp"
libs="$(pkg-config --libs libcurl libcjson hiredis inih openssl sqlite3) -lpthread"
say "cc $CFLAGS_BENCH -I $src/lib -I $top -o parse-sse $src/bench/parse-sse.c $top/lib/.libs/libfx.a $libs -lm"
cc $CFLAGS_BENCH -I "$src/lib" -I "$top" -o "$tmp/parse-sse" "$src/bench/parse-sse.c" \
    "$tmp/libfx.a" $libs -lm || die "cannot build parse-sse"
ABRUN=$tmp/abrun
STAMP=$tmp/stamp

# ---- mockllm ---------------------------------------------------------------
"$MOCKLLM" --quiet --port-file "$tmp/mock.port" \
    --script 'failing=status=503' >/dev/null 2>"$tmp/mock.err" &
pids="$pids $!"
i=0
while [ ! -s "$tmp/mock.port" ] && [ $i -lt 250 ]; do
    sleep 0.02
    i=$((i + 1))
done
[ -s "$tmp/mock.port" ] || die "mockllm did not start: $(cat "$tmp/mock.err")"
MOCK=http://127.0.0.1:$(cat "$tmp/mock.port")
mock_count() { "$CURL" -sf "$MOCK/_control/log/$1" | jq -r .count; }
printf 'mockllm on %s (%s)\n' "$MOCK" "$MOCKLLM"

# provider_ini NAME ROUTE-URL: an OpenAI-format provider section
provider_ini() {
    printf '[provider.%s]\ntype = openai\nmodel = gpt-6-luna\nbase_url = %s\napi_key = KEY\n\n' "$1" "$2"
}
# write_ini FILE: stdin to a 0600 configuration file
write_ini() {
    cat >"$1"
    chmod 600 "$1"
}

PROMPT="Say hello to the benchmark"

# ===========================================================================
if want 1; then
section "1. flexiai complete vs curl, same request to the same mockllm route"
{
    printf '[failover]\nretries = 0\n\n'
    provider_ini primary "$MOCK/p/primary/v1"
} | write_ini "$tmp/s1.ini"
export FLEXIAI_CONFIG="$tmp/s1.ini"
"$FLEXIAI" complete "$PROMPT" </dev/null >"$tmp/s1.out" 2>"$tmp/s1.err" ||
    die "flexiai complete failed: $(cat "$tmp/s1.err")"
# the exact body flexiai sent, for curl to send too
body=$("$CURL" -sf "$MOCK/_control/log/primary" | jq -r .last_body)
[ -n "$body" ] && [ "$body" != null ] || die "no body in the mockllm log"
URL1=$MOCK/p/primary/v1/chat/completions
printf 'request body (as flexiai sent it): %s\n' "$body"
nlibs() { ldd "$1" | grep -c '=>'; }
printf 'shared libraries loaded: flexiai (front) %s, flexiai-complete %s, curl %s\n' \
    "$(nlibs "$FLEXIAI")" "$(nlibs "$tmp/bin/flexiai-complete")" "$(nlibs "$CURL")"
printf 'flexiai-complete: %s\n' "$(ldd "$tmp/bin/flexiai-complete" | awk '/=>/ {print $1}' | tr '\n' ' ')"
printf 'note: the commands link lib/ statically, libcurl, cJSON, hiredis, inih and libm dynamically;\n'
printf '      `flexiai complete` is two program images: the front execs flexiai-complete.\n'
before=$(mock_count primary)
say "abrun -n $ROUNDS -w $WARMUP -- \\"
say "  curl -sS --fail -X POST -H 'Authorization: Bearer KEY' -H 'Content-Type: application/json' --data-binary '$body' $URL1 ::: \\"
say "  flexiai complete '$PROMPT' ::: flexiai-complete '$PROMPT'     (stdin, stdout: /dev/null)"
"$ABRUN" -n "$ROUNDS" -w "$WARMUP" -o "$tmp/s1.tsv" -e "$tmp/s1.err" -- \
    "$CURL" -sS --fail -X POST -H "Authorization: Bearer KEY" \
    -H "Content-Type: application/json" --data-binary "$body" "$URL1" ::: \
    "$FLEXIAI" complete "$PROMPT" ::: \
    "$tmp/bin/flexiai-complete" "$PROMPT" >"$tmp/s1.txt" ||
    die "section 1 runs failed: $(tail -5 "$tmp/s1.err")"
cat "$tmp/s1.txt"
after=$(mock_count primary)
[ $((after - before)) -eq $((3 * (ROUNDS + WARMUP))) ] ||
    die "mockllm counted $((after - before)) requests, expected $((3 * (ROUNDS + WARMUP)))"
c_med=$(field "$tmp/s1.txt" cmd0 wall_med_us)
f_med=$(field "$tmp/s1.txt" cmd1 wall_med_us)
d_med=$(field "$tmp/s1.txt" cmd2 wall_med_us)
ratio1=$(calc "$f_med / $c_med")
printf 'median wall: curl %s ms, flexiai complete %s ms, flexiai-complete (no front) %s ms\n' \
    "$(ms "$c_med")" "$(ms "$f_med")" "$(ms "$d_med")"
printf 'median of per-round ratios: flexiai complete / curl %s, flexiai-complete / curl %s\n' \
    "$(field "$tmp/s1.txt" ratio1 pair_med)" "$(field "$tmp/s1.txt" ratio2 pair_med)"
info 1 "curl median wall" "$(ms "$c_med") ms"
info 1 "flexiai complete median wall" "$(ms "$f_med") ms"
info 1 "flexiai-complete (no front exec) median wall" "$(ms "$d_med") ms"
info 1 "median CPU user+sys curl / flexiai complete" \
    "$(ms "$(field "$tmp/s1.txt" cmd0 cpu_med_us)") / $(ms "$(field "$tmp/s1.txt" cmd1 cpu_med_us)") ms"
check_le 1 "wall ratio flexiai complete / curl" "$ratio1" 1.05 ""
info 1 "wall ratio flexiai-complete (no front) / curl" "$(calc "$d_med / $c_med")"
c_rss=$(field "$tmp/s1.txt" cmd0 rss_med_kb)
f_rss=$(field "$tmp/s1.txt" cmd1 rss_med_kb)
# cross-check of peak RSS with GNU time, alternating
say "/usr/bin/time -f %M curl ... / /usr/bin/time -f %M flexiai complete ... (9 each, alternating)"
for i in 1 2 3 4 5 6 7 8 9; do
    /usr/bin/time -a -o "$tmp/s1.time.c" -f %M "$CURL" -sS --fail -X POST \
        -H "Authorization: Bearer KEY" -H "Content-Type: application/json" \
        --data-binary "$body" "$URL1" </dev/null >/dev/null
    /usr/bin/time -a -o "$tmp/s1.time.f" -f %M "$FLEXIAI" complete "$PROMPT" </dev/null >/dev/null
done
t_c=$(sort -n "$tmp/s1.time.c" | sed -n 5p)
t_f=$(sort -n "$tmp/s1.time.f" | sed -n 5p)
printf 'peak RSS (median, KiB): wait4 in abrun: curl %s, flexiai %s; /usr/bin/time %%M: curl %s, flexiai %s\n' \
    "$c_rss" "$f_rss" "$t_c" "$t_f"
info 1 "peak RSS curl (median, wait4 / time %M)" "$c_rss / $t_c KiB"
info 1 "peak RSS flexiai complete (median, time %M) / flexiai-complete (wait4)" \
    "$t_f / $(field "$tmp/s1.txt" cmd2 rss_med_kb) KiB"
check_le 1 "peak RSS flexiai complete (median)" "$f_rss" "$c_rss" " KiB"

fi # section 1

# ===========================================================================
if want 2; then
section "2. streaming parse cost: 100000-chunk OpenAI SSE stream"
yes 'lorem ipsum dolor sit amet' | tr '\n' ' ' | head -c 400000 >"$tmp/reply.txt" || :
[ "$(wc -c <"$tmp/reply.txt")" -eq 400000 ] || die "cannot make the reply text"
say "curl -X POST --data-binary 'chunks=100000,reply=<400000 bytes of lorem ipsum>' $MOCK/_control/script/stream"
{
    printf 'chunks=100000,reply='
    cat "$tmp/reply.txt"
} | "$CURL" -sf --data-binary @- "$MOCK/_control/script/stream" >/dev/null ||
    die "cannot script the stream route"
sbody='{"model":"gpt-6-luna","messages":[{"role":"user","content":"x"}],"stream":true,"stream_options":{"include_usage":true}}'
say "curl -sS --fail -N -H 'Authorization: Bearer KEY' -H 'Content-Type: application/json' --data-binary '$sbody' $MOCK/p/stream/v1/chat/completions -o stream.sse"
"$CURL" -sS --fail -N -H "Authorization: Bearer KEY" -H "Content-Type: application/json" \
    --data-binary "$sbody" "$MOCK/p/stream/v1/chat/completions" -o "$tmp/stream.sse" ||
    die "cannot fetch the stream"
nev=$(grep -c '^data: ' "$tmp/stream.sse")
printf 'captured %s bytes, %s SSE events\n' "$(wc -c <"$tmp/stream.sse")" "$nev"
say "parse-sse stream.sse 16384 5"
"$tmp/parse-sse" "$tmp/stream.sse" 16384 5 >"$tmp/s2.txt" || die "parse-sse failed"
cat "$tmp/s2.txt"
per=$(awk '{ for (i = 1; i <= NF; i++) { n = index($i, "="); if (substr($i, 1, n - 1) == "median_per_event_ns") print substr($i, n + 1) } }' "$tmp/s2.txt")
sse_only=$(awk '{ for (i = 1; i <= NF; i++) { n = index($i, "="); if (substr($i, 1, n - 1) == "sse_only_median_per_event_ns") print substr($i, n + 1) } }' "$tmp/s2.txt")
info 2 "fx_sse_feed alone, CPU per event (median of 5)" "$(calc "$sse_only / 1000" 3) us"
check_le 2 "fx_sse_feed + openai parse_event, CPU per chunk (median of 5, 16 KiB pieces)" \
    "$(calc "$per / 1000" 3)" 5 " us"

# end to end: the real process (100 000 chunks are more than the 16 MiB a
# whole answer may have by default: raise max_response_bytes for this one)
{
    printf '[failover]\nretries = 0\n[defaults]\nmax_response_bytes = 1073741824\n\n'
    provider_ini stream "$MOCK/p/stream/v1"
} | write_ini "$tmp/s2.ini"
say "FLEXIAI_CONFIG=s2.ini /usr/bin/time -f '%e %U %S %M' flexiai complete --stream x >s2.out"
FLEXIAI_CONFIG=$tmp/s2.ini /usr/bin/time -o "$tmp/s2.time" -f '%e %U %S %M' \
    "$FLEXIAI" complete --stream x </dev/null >"$tmp/s2.out" 2>"$tmp/s2.err" ||
    die "flexiai complete --stream failed: $(cat "$tmp/s2.err")"
read -r e2e_wall e2e_user e2e_sys e2e_rss <"$tmp/s2.time"
outlen=$(wc -c <"$tmp/s2.out")
[ "$outlen" -ge 400000 ] && [ "$outlen" -le 400001 ] ||
    die "flexiai complete --stream printed $outlen bytes, expected the 400000-byte reply"
printf '/usr/bin/time: wall %ss user %ss sys %ss peak RSS %s KiB; output %s bytes\n' \
    "$e2e_wall" "$e2e_user" "$e2e_sys" "$e2e_rss" "$outlen"
say "abrun -n 3 -w 0 -- curl -sS --fail -N -H 'Authorization: Bearer KEY' -H 'Content-Type: application/json' --data-binary '$sbody' $MOCK/p/stream/v1/chat/completions ::: \\"
say "  FLEXIAI_CONFIG=s2.ini flexiai complete --stream x     (stdout: /dev/null; CPU from wait4, us resolution)"
"$ABRUN" -n 3 -w 0 -e "$tmp/s2.err" -- \
    "$CURL" -sS --fail -N -H "Authorization: Bearer KEY" -H "Content-Type: application/json" \
    --data-binary "$sbody" "$MOCK/p/stream/v1/chat/completions" ::: \
    FLEXIAI_CONFIG="$tmp/s2.ini" "$FLEXIAI" complete --stream x >"$tmp/s2b.txt" ||
    die "streams failed: $(tail -3 "$tmp/s2.err")"
cat "$tmp/s2b.txt"
c2cpu=$(field "$tmp/s2b.txt" cmd0 cpu_med_us)
f2cpu=$(field "$tmp/s2b.txt" cmd1 cpu_med_us)
info 2 "flexiai complete --stream end to end: (user+sys) per chunk (median of 3)" \
    "$(calc "$f2cpu / 100000" 2) us (wall $(ms "$(field "$tmp/s2b.txt" cmd1 wall_med_us)") ms, RSS $(field "$tmp/s2b.txt" cmd1 rss_med_kb) KiB)"
info 2 "curl on the same stream, reference: (user+sys) per chunk (median of 3)" \
    "$(calc "$c2cpu / 100000" 2) us (wall $(ms "$(field "$tmp/s2b.txt" cmd0 wall_med_us)") ms, RSS $(field "$tmp/s2b.txt" cmd0 rss_med_kb) KiB)"

fi # section 2

# ===========================================================================
if want 3; then
section "3. failover cost: dead primary (connection refused) vs direct secondary"
DEAD=$("$STAMP" freeport)
{
    printf '[failover]\nretries = 0\n\n[breaker]\nfailure_threshold = 1000000\n\n'
    provider_ini primary "http://127.0.0.1:$DEAD/v1"
    provider_ini secondary "$MOCK/p/secondary/v1"
} | write_ini "$tmp/s3.ini"
export FLEXIAI_CONFIG="$tmp/s3.ini"
st3=$tmp/state3 st3open=$tmp/state3open
mkdir -p "$st3" "$st3open"
say "XDG_STATE_HOME=state3open flexiai breaker open primary"
XDG_STATE_HOME=$st3open "$FLEXIAI" breaker open primary >/dev/null ||
    die "flexiai breaker open failed"
before=$(mock_count secondary)
say "abrun -n $ROUNDS -w $WARMUP -- \\"
say "  flexiai complete -p secondary '$PROMPT' ::: \\"
say "  flexiai complete '$PROMPT'   (primary: 127.0.0.1:$DEAD, nothing listens) ::: \\"
say "  XDG_STATE_HOME=state3open flexiai complete '$PROMPT'   (primary's breaker open)"
"$ABRUN" -n "$ROUNDS" -w "$WARMUP" -o "$tmp/s3.tsv" -e "$tmp/s3.err" -- \
    XDG_STATE_HOME="$st3" "$FLEXIAI" complete -p secondary "$PROMPT" ::: \
    XDG_STATE_HOME="$st3" "$FLEXIAI" complete "$PROMPT" ::: \
    XDG_STATE_HOME="$st3open" "$FLEXIAI" complete "$PROMPT" >"$tmp/s3.txt" ||
    die "section 3 runs failed: $(tail -5 "$tmp/s3.err")"
cat "$tmp/s3.txt"
after=$(mock_count secondary)
[ $((after - before)) -eq $((3 * (ROUNDS + WARMUP))) ] ||
    die "secondary got $((after - before)) requests, expected $((3 * (ROUNDS + WARMUP)))"
# every failover run must really have tried the dead primary
fc=$(XDG_STATE_HOME=$st3 "$FLEXIAI" breaker status --json primary | jq -r '.[0].failure_count')
fs=$(XDG_STATE_HOME=$st3 "$FLEXIAI" breaker status --json primary | jq -r '.[0].state')
os=$(XDG_STATE_HOME=$st3open "$FLEXIAI" breaker status --json primary | jq -r '.[0].state')
printf 'primary breaker after the runs: %s with %s failures (expected closed, %s); open variant: %s\n' \
    "$fs" "$fc" $((ROUNDS + WARMUP)) "$os"
[ "$fs" = closed ] && [ "$fc" -eq $((ROUNDS + WARMUP)) ] && [ "$os" = open ] ||
    die "the failover runs did not all try the primary, or the open breaker closed"
s_med=$(field "$tmp/s3.txt" cmd0 wall_med_us)
fo_med=$(field "$tmp/s3.txt" cmd1 wall_med_us)
op_med=$(field "$tmp/s3.txt" cmd2 wall_med_us)
printf 'median wall: direct secondary %s ms, failover %s ms, breaker open %s ms\n' \
    "$(ms "$s_med")" "$(ms "$fo_med")" "$(ms "$op_med")"
printf 'median of per-round figures: failover/direct %s, open-breaker - direct %s us\n' \
    "$(field "$tmp/s3.txt" ratio1 pair_med)" "$(field "$tmp/s3.txt" ratio2 diff_pair_med_us)"
info 3 "direct secondary / failover / open breaker median wall" \
    "$(ms "$s_med") / $(ms "$fo_med") / $(ms "$op_med") ms"
check_le 3 "wall ratio failover (dead primary) / direct secondary" "$(calc "$fo_med / $s_med")" 1.2 ""
check_le 3 "open-breaker overhead: median(open) - median(direct)" \
    "$(ms "$(calc "$op_med - $s_med" 1)")" 0.5 " ms"

fi # section 3

# ===========================================================================
if want 4; then
section "4. Redis store vs file store"
RPORT=$("$STAMP" freeport)
say "redis-server --port $RPORT --bind 127.0.0.1 --save '' --appendonly no"
redis-server --port "$RPORT" --bind 127.0.0.1 --save '' --appendonly no \
    --daemonize no --dir "$tmp" >"$tmp/redis.log" 2>&1 &
rpid=$!
pids="$pids $rpid"
i=0
until redis-cli -p "$RPORT" ping 2>/dev/null | grep -q PONG; do
    i=$((i + 1))
    [ $i -lt 250 ] || die "redis-server did not start: $(tail -3 "$tmp/redis.log")"
    sleep 0.02
done
REDIS_URL=redis://127.0.0.1:$RPORT
sync_redis() { printf '[sync]\nbackend = redis\nredis_url = %s\n\n' "$REDIS_URL"; }
common4() { printf '[failover]\nretries = 0\n\n[breaker]\nfailure_threshold = 1000000\n\n'; }
{ common4; provider_ini primary "$MOCK/p/primary/v1"; } | write_ini "$tmp/s4a-file.ini"
{ common4; sync_redis; provider_ini primary "$MOCK/p/primary/v1"; } | write_ini "$tmp/s4a-redis.ini"
{ common4; provider_ini failing "$MOCK/p/failing/v1"; provider_ini secondary "$MOCK/p/secondary/v1"; } |
    write_ini "$tmp/s4b-file.ini"
{ common4; sync_redis; provider_ini failing "$MOCK/p/failing/v1"; provider_ini secondary "$MOCK/p/secondary/v1"; } |
    write_ini "$tmp/s4b-redis.ini"
unset FLEXIAI_CONFIG
st4=$tmp/state4
mkdir -p "$st4"
for variant in a b; do
    if [ $variant = a ]; then
        what="each request: one breaker load, success on the first provider, no write"
    else
        what="each request: primary answers 503 (failure written), secondary answers"
    fi
    printf '\nvariant %s: %s\n' "$variant" "$what"
    say "abrun -n $ROUNDS -w $WARMUP -- FLEXIAI_CONFIG=s4$variant-file.ini flexiai complete '$PROMPT' ::: FLEXIAI_CONFIG=s4$variant-redis.ini flexiai complete '$PROMPT'"
    "$ABRUN" -n "$ROUNDS" -w "$WARMUP" -o "$tmp/s4$variant.tsv" -e "$tmp/s4$variant.err" -- \
        XDG_STATE_HOME="$st4" FLEXIAI_CONFIG="$tmp/s4$variant-file.ini" "$FLEXIAI" complete "$PROMPT" ::: \
        XDG_STATE_HOME="$st4" FLEXIAI_CONFIG="$tmp/s4$variant-redis.ini" "$FLEXIAI" complete "$PROMPT" \
        >"$tmp/s4$variant.txt" || die "section 4 runs failed: $(tail -5 "$tmp/s4$variant.err")"
    cat "$tmp/s4$variant.txt"
    if grep -i 'redis' "$tmp/s4$variant.err" | grep -qi 'file store'; then
        die "flexiai fell back to the file store: $(grep -i redis "$tmp/s4$variant.err" | head -2)"
    fi
    fm=$(field "$tmp/s4$variant.txt" cmd0 wall_med_us)
    rm_=$(field "$tmp/s4$variant.txt" cmd1 wall_med_us)
    printf 'median wall: file %s ms, redis %s ms; median of per-round ratios %s\n' \
        "$(ms "$fm")" "$(ms "$rm_")" "$(field "$tmp/s4$variant.txt" ratio1 pair_med)"
    info 4 "variant $variant: file / redis median wall" "$(ms "$fm") / $(ms "$rm_") ms"
    if [ $variant = a ]; then
        check_le 4 "wall ratio redis / file, breaker load only (variant a)" "$(calc "$rm_ / $fm")" 1.15 ""
    else
        check_le 4 "wall ratio redis / file, a failure written per request (variant b)" "$(calc "$rm_ / $fm")" 1.15 ""
    fi
done
rfc=$(redis-cli -p "$RPORT" get flexiai:state:failing | jq -r .failure_count)
ffc=$(XDG_STATE_HOME=$st4 FLEXIAI_CONFIG=$tmp/s4b-file.ini "$FLEXIAI" breaker status --json failing | jq -r '.[0].failure_count')
printf 'failures recorded for the failing primary: redis %s, file %s (expected %s each)\n' \
    "$rfc" "$ffc" $((ROUNDS + WARMUP))
[ "$rfc" -eq $((ROUNDS + WARMUP)) ] && [ "$ffc" -eq $((ROUNDS + WARMUP)) ] ||
    die "not every variant-b request recorded its failure"

# variant c: the Redis stops answering (SIGSTOP: the kernel still accepts
# connections, nothing answers, as in a DEBUG SLEEP).  Each request waits
# redis_timeout (0.1 s here) once, then uses the file store with one
# warning line: the documented bound is redis_timeout + 50 ms over the
# same request without Redis (the file store).
{ common4; printf '[sync]\nbackend = redis\nredis_url = %s\nredis_timeout = 0.1\n\n' "$REDIS_URL"
  provider_ini primary "$MOCK/p/primary/v1"; } | write_ini "$tmp/s4c-redis.ini"
printf '\nvariant c: Redis stopped (SIGSTOP), redis_timeout = 0.1\n'
say "kill -STOP redis-server; abrun -n 41 -w 3 -- FLEXIAI_CONFIG=s4a-file.ini flexiai complete '$PROMPT' ::: FLEXIAI_CONFIG=s4c-redis.ini flexiai complete '$PROMPT'"
kill -STOP "$rpid"
frozen=$rpid
"$ABRUN" -n 41 -w 3 -o "$tmp/s4c.tsv" -e "$tmp/s4c.err" -- \
    XDG_STATE_HOME="$st4" FLEXIAI_CONFIG="$tmp/s4a-file.ini" "$FLEXIAI" complete "$PROMPT" ::: \
    XDG_STATE_HOME="$st4" FLEXIAI_CONFIG="$tmp/s4c-redis.ini" "$FLEXIAI" complete "$PROMPT" \
    >"$tmp/s4c.txt" || die "section 4 runs (Redis stopped) failed: $(tail -5 "$tmp/s4c.err")"
kill -CONT "$rpid"
frozen=
cat "$tmp/s4c.txt"
grep -q 'timed out after 100 ms; using the file store' "$tmp/s4c.err" ||
    die "no 'timed out after 100 ms' warning with Redis stopped: $(tail -3 "$tmp/s4c.err")"
fm=$(field "$tmp/s4c.txt" cmd0 wall_med_us)
rm_=$(field "$tmp/s4c.txt" cmd1 wall_med_us)
printf 'median wall: file %s ms, Redis stopped %s ms\n' "$(ms "$fm")" "$(ms "$rm_")"
check_le 4 "Redis stopped: median(stopped) - median(file), redis_timeout 100 ms" \
    "$(ms "$(calc "$rm_ - $fm" 1)")" 150 " ms"

fi # section 4

# ===========================================================================
if want 5; then
section "5. watch latency: flexiai breaker open -> flexiai breaker watch --json"
{ sync_redis; provider_ini primary "$MOCK/p/primary/v1"; } | write_ini "$tmp/s5.ini"
export FLEXIAI_CONFIG="$tmp/s5.ini"
# watch_pass NAME WATCHER-COMMAND...: run the watcher with its stdout into
# `stamp lines`, open EVENTS breakers named NAME-i one after the other, and
# write per event "end-to-end-ms from-timestamp-ms" to NAME.lat.  Both
# watchers get a pass of their own, so neither competes with the other for
# the two CPUs when an event arrives.
watch_pass() {
    name=$1
    shift
    mkfifo "$tmp/$name.fifo"
    "$STAMP" lines <"$tmp/$name.fifo" >"$tmp/$name.events" &
    stamp_pid=$!
    pids="$pids $stamp_pid"
    "$@" >"$tmp/$name.fifo" 2>"$tmp/$name.err" &
    watcher_pid=$!
    pids="$pids $watcher_pid"
    i=0
    until grep -q "\"$name-ready\"" "$tmp/$name.events" 2>/dev/null; do
        i=$((i + 1))
        [ $i -lt 50 ] || die "$name: no events seen: $(cat "$tmp/$name.err")"
        "$FLEXIAI" breaker open --force "$name-ready" >/dev/null 2>&1 || :
        sleep 0.1
    done
    : >"$tmp/$name.sent"
    i=1
    while [ $i -le "$EVENTS" ]; do
        t0=$("$STAMP" run "$FLEXIAI" breaker open --force "$name-$i") ||
            die "flexiai breaker open $name-$i failed"
        printf '%s-%s %s\n' "$name" "$i" "$t0" >>"$tmp/$name.sent"
        i=$((i + 1))
    done
    i=0
    while [ "$(grep -c "\"$name-[0-9]*\"" "$tmp/$name.events")" -lt "$EVENTS" ]; do
        i=$((i + 1))
        [ $i -lt 100 ] || die "$name: only $(grep -c "\"$name-[0-9]*\"" "$tmp/$name.events") of $EVENTS events arrived"
        sleep 0.05
    done
    kill "$watcher_pid" 2>/dev/null || :
    wait "$watcher_pid" 2>/dev/null || :
    wait "$stamp_pid" 2>/dev/null || :
    awk -v pre="$name" 'FILENAME == ARGV[1] { sent[$1] = $2; next }
        {
            if (match($0, "\"provider_name\": \"" pre "-[0-9]+\"") == 0) next
            n = substr($0, RSTART + 18, RLENGTH - 19)
            if (!(n in sent) || $2 < 0) next
            printf "%.3f %.3f\n", ($1 - sent[n]) / 1e6, ($1 - $2) / 1e6
        }' "$tmp/$name.sent" "$tmp/$name.events" >"$tmp/$name.lat"
    n5=$(wc -l <"$tmp/$name.lat")
    [ "$n5" -eq "$EVENTS" ] || die "$name: matched $n5 events of $EVENTS"
}
pct() { # pct FILE COLUMN P: nearest-rank percentile
    awk -v c="$2" '{ print $c }' "$1" | sort -n |
        awk -v p="$3" '{ v[NR] = $1 } END { k = int(p / 100 * NR + 0.999999); if (k < 1) k = 1; print v[k] }'
}
printf 'load average before: %s\n' "$(cat /proc/loadavg 2>/dev/null)"
say "flexiai breaker watch --json > fifo & stamp lines < fifo > events &"
say "for i in 1..$EVENTS: stamp run flexiai breaker open --force watch-\$i   (stamp: CLOCK_REALTIME just before the spawn)"
watch_pass watch "$FLEXIAI" breaker watch --json
# the reference: redis-cli subscribed to the same channel, same events
say "redis-cli -p $RPORT --raw subscribe flexiai:events > fifo & stamp lines < fifo > events &   (reference)"
say "for i in 1..$EVENTS: stamp run flexiai breaker open ref-\$i"
watch_pass ref redis-cli -p "$RPORT" --raw subscribe flexiai:events
printf 'load average after: %s\n' "$(cat /proc/loadavg 2>/dev/null)"
e50=$(pct "$tmp/watch.lat" 1 50) e99=$(pct "$tmp/watch.lat" 1 99)
p50=$(pct "$tmp/watch.lat" 2 50) p99=$(pct "$tmp/watch.lat" 2 99)
re50=$(pct "$tmp/ref.lat" 1 50) re99=$(pct "$tmp/ref.lat" 1 99)
r50=$(pct "$tmp/ref.lat" 2 50) r99=$(pct "$tmp/ref.lat" 2 99)
printf 'end to end (stamp before spawning flexiai breaker open -> line read):\n'
printf '  flexiai breaker watch --json: p50 %s ms, p99 %s ms, max %s ms\n' "$e50" "$e99" "$(pct "$tmp/watch.lat" 1 100)"
printf '  redis-cli subscribe (ref.):   p50 %s ms, p99 %s ms, max %s ms\n' "$re50" "$re99" "$(pct "$tmp/ref.lat" 1 100)"
printf 'from the event timestamp (taken in the opener just before its EVALSHA, which PUBLISHes) -> line read:\n'
printf '  flexiai breaker watch --json: p50 %s ms, p90 %s ms, p99 %s ms, max %s ms\n' "$p50" \
    "$(pct "$tmp/watch.lat" 2 90)" "$p99" "$(pct "$tmp/watch.lat" 2 100)"
printf '  redis-cli subscribe (ref.):   p50 %s ms, p90 %s ms, p99 %s ms, max %s ms\n' "$r50" \
    "$(pct "$tmp/ref.lat" 2 90)" "$r99" "$(pct "$tmp/ref.lat" 2 100)"
info 5 "watch latency end to end incl. process start (p50 / p99)" "$e50 / $e99 ms"
info 5 "redis-cli subscribe, reference, end to end (p50 / p99)" "$re50 / $re99 ms"
info 5 "redis-cli subscribe, reference, from event timestamp (p50 / p99)" "$r50 / $r99 ms"
info 5 "watch latency from event timestamp, p50" "$p50 ms"
check_le 5 "watch latency from event timestamp, p99" "$p99" 5 " ms"

fi # section 5

# ===========================================================================
if want 6; then
section "6. mockllm throughput (wrk, keep-alive)"
cat >"$tmp/post.lua" <<LUA
wrk.method = "POST"
wrk.body = [==[$body]==]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer KEY"
LUA
say "wrk -t2 -c32 -d5s -s post.lua $MOCK/p/wrk/v1/chat/completions   (post.lua: POST the section-1 body)"
wrk -t2 -c32 -d5s -s "$tmp/post.lua" "$MOCK/p/wrk/v1/chat/completions" >"$tmp/wrk.txt" 2>&1 ||
    die "wrk failed: $(cat "$tmp/wrk.txt")"
cat "$tmp/wrk.txt"
if grep -q 'Non-2xx' "$tmp/wrk.txt"; then
    die "mockllm answered errors under wrk"
fi
rps=$(awk '/^Requests\/sec:/ { print $2 }' "$tmp/wrk.txt")
[ -n "$rps" ] || die "no Requests/sec in wrk's output"
check_ge 6 "mockllm requests/s (wrk -t2 -c32, keep-alive)" "$rps" 20000 ""

fi # section 6

# ===========================================================================
if want 7; then
section "7. flexiai batch: items/s, vs xargs -P 8 flexiai complete, memory"
{
    printf '[failover]\nretries = 0\n\n'
    # no import started in the background after a logged run: it would
    # run beside the next (--no-log) run and flatter the comparison
    printf '[log]\nspool_max = 0\n\n'
    provider_ini batch "$MOCK/p/batch/v1"
} | write_ini "$tmp/s7.ini"
export FLEXIAI_CONFIG="$tmp/s7.ini"
BATCH_N=${FX_BENCH_BATCH_ITEMS:-100000}
awk -v n="$BATCH_N" 'BEGIN { for (i = 1; i <= n; i++) printf "{\"id\":%d,\"prompt\":\"hello %d\"}\n", i, i }' >"$tmp/s7.jsonl"
say "flexiai batch -q -j 64 [--no-log] -i s7.jsonl > s7.out   ($BATCH_N items, short non-streamed answers; 5 runs each, interleaved)"
: >"$tmp/s7.rates"
: >"$tmp/s7.nrates"
spool7=$XDG_DATA_HOME/flexiai/logs.db.spool
for run in 1 2 3 4 5; do
    for nolog in "" --no-log; do
        rm -f "$spool7" # each logged run starts from an empty spool
        t0=$("$STAMP" now)
        "$FLEXIAI" batch -q -j 64 $nolog -i "$tmp/s7.jsonl" >"$tmp/s7.out" 2>"$tmp/s7.err" ||
            die "flexiai batch $nolog failed: $(tail -3 "$tmp/s7.err")"
        t1=$("$STAMP" now)
        n=$(grep -c '"exit_code":0' "$tmp/s7.out")
        [ "$n" -eq "$BATCH_N" ] || die "flexiai batch $nolog answered $n of $BATCH_N"
        rates=$tmp/s7.rates
        if [ -n "$nolog" ]; then
            rates=$tmp/s7.nrates
        else
            logged=$(wc -l <"$spool7")
            [ "$logged" -eq "$BATCH_N" ] || die "flexiai batch logged $logged of $BATCH_N items"
        fi
        calc "$BATCH_N / (($t1 - $t0) / 1e9)" 0 >>"$rates"
        printf '\n' >>"$rates"
        printf 'run %s%s: %s items in %s s\n' "$run" "${nolog:+ --no-log}" "$n" "$(calc "($t1 - $t0) / 1e9" 2)"
    done
done
rm -f "$spool7"
batch_rate=$(sort -n "$tmp/s7.rates" | sed -n 3p)
nolog_rate=$(sort -n "$tmp/s7.nrates" | sed -n 3p)
printf 'items/s per run, logged: %s\n' "$(sort -n "$tmp/s7.rates" | tr '\n' ' ')"
printf 'items/s per run, --no-log: %s\n' "$(sort -n "$tmp/s7.nrates" | tr '\n' ' ')"
check_ge 7 "flexiai batch -j 64 items/s (median of 5, mockllm on the same 2 CPUs)" "$batch_rate" 20000 ""
info 7 "flexiai batch -j 64 --no-log items/s (median of 5)" "$nolog_rate"
check_le 7 "ledger logging's cost to batch throughput (1 - logged/--no-log medians)" \
    "$(calc "100 * (1 - $batch_rate / $nolog_rate)" 1)" 10 " %"

XN=${FX_BENCH_XARGS_ITEMS:-2000}
awk -v n="$XN" 'BEGIN { for (i = 1; i <= n; i++) printf "hello %d\n", i }' >"$tmp/s7.txt"
say "xargs -P 8 -I{} flexiai complete {} < s7.txt > /dev/null   ($XN items; 3 runs)"
: >"$tmp/s7.xrates"
for run in 1 2 3; do
    t0=$("$STAMP" now)
    xargs -P 8 -I{} "$FLEXIAI" complete -n {} <"$tmp/s7.txt" >"$tmp/s7.xout" 2>"$tmp/s7.xerr" ||
        die "xargs flexiai complete failed: $(tail -3 "$tmp/s7.xerr")"
    t1=$("$STAMP" now)
    [ "$(wc -l <"$tmp/s7.xout")" -eq "$XN" ] || die "xargs: $(wc -l <"$tmp/s7.xout") answers of $XN"
    calc "$XN / (($t1 - $t0) / 1e9)" 1 >>"$tmp/s7.xrates"
    printf '\n' >>"$tmp/s7.xrates"
    printf 'run %s: %s items in %s s\n' "$run" "$XN" "$(calc "($t1 - $t0) / 1e9" 2)"
done
xargs_rate=$(sort -n "$tmp/s7.xrates" | sed -n 2p)
info 7 "xargs -P 8 flexiai complete items/s (median of 3)" "$xargs_rate"
check_ge 7 "ratio flexiai batch -j 64 / xargs -P 8 flexiai complete (items/s)" \
    "$(calc "$batch_rate / $xargs_rate" 1)" 50 ""

MEM_N=${FX_BENCH_MEM_ITEMS:-1000000}
awk -v n="$MEM_N" 'BEGIN { for (i = 1; i <= n; i++) printf "{\"id\":%d,\"prompt\":\"hello %d\"}\n", i, i }' >"$tmp/s7m.jsonl"
say "/usr/bin/time -f '%e %M' flexiai batch -q -j 64 -i s7m.jsonl -o s7m.out   ($MEM_N lines)"
/usr/bin/time -o "$tmp/s7m.time" -f '%e %M' "$FLEXIAI" batch -q -j 64 -i "$tmp/s7m.jsonl" \
    -o "$tmp/s7m.out" 2>"$tmp/s7m.err" || die "flexiai batch (memory) failed: $(tail -3 "$tmp/s7m.err")"
read -r mem_wall mem_rss <"$tmp/s7m.time"
[ "$(wc -l <"$tmp/s7m.out")" -eq "$MEM_N" ] || die "the memory run wrote $(wc -l <"$tmp/s7m.out") lines"
printf 'wall %s s, peak RSS %s KiB, %s lines written\n' "$mem_wall" "$mem_rss" "$MEM_N"
check_le 7 "flexiai batch -j 64 peak RSS on a $MEM_N-line input" "$(calc "$mem_rss / 1024" 1)" 64 " MB"
rm -f "$tmp/s7m.jsonl" "$tmp/s7m.out" "$tmp/s7.out" "$spool7"
unset FLEXIAI_CONFIG

fi # section 7

# ===========================================================================
if want 8; then
section "8. the request ledger: logging cost, logs -q and usage over a million records"
{
    printf '[failover]\nretries = 0\n\n'
    provider_ini primary "$MOCK/p/primary/v1"
} | write_ini "$tmp/s7.ini"
export FLEXIAI_CONFIG="$tmp/s7.ini"
export XDG_DATA_HOME="$tmp/data7"
"$FLEXIAI" complete "$PROMPT" </dev/null >/dev/null 2>"$tmp/s7.err" ||
    die "flexiai complete failed: $(cat "$tmp/s7.err")"
say "abrun -n $ROUNDS -w $WARMUP -- flexiai complete --no-log '$PROMPT' ::: flexiai complete '$PROMPT'"
"$ABRUN" -n "$ROUNDS" -w "$WARMUP" -o "$tmp/s7.tsv" -e "$tmp/s7.err" -- \
    "$FLEXIAI" complete --no-log "$PROMPT" ::: "$FLEXIAI" complete "$PROMPT" >"$tmp/s7.txt" ||
    die "section 7 runs failed: $(tail -5 "$tmp/s7.err")"
cat "$tmp/s7.txt"
# complete appends to logs.db.spool; a reader moves the records in
nspool=$(wc -l <"$XDG_DATA_HOME/flexiai/logs.db.spool" 2>/dev/null || echo 0)
say "abrun -n 1 -- flexiai usage   (imports the $nspool spooled records)"
"$ABRUN" -n 1 -w 0 -- "$FLEXIAI" usage >"$tmp/s7i.txt" || die "flexiai usage failed"
info 8 "flexiai usage importing $nspool spooled records (wall)" \
    "$(ms "$(field "$tmp/s7i.txt" cmd0 wall_med_us)") ms"
n7=$(sqlite3 "$XDG_DATA_HOME/flexiai/logs.db" 'SELECT count(*) FROM requests' 2>/dev/null || echo '?')
printf 'records written by the logged runs (and the first): %s\n' "$n7"
info 8 "complete --no-log / complete (logged) median wall" \
    "$(ms "$(field "$tmp/s7.txt" cmd0 wall_med_us)") / $(ms "$(field "$tmp/s7.txt" cmd1 wall_med_us)") ms"
info 8 "logging: median CPU --no-log / logged" \
    "$(ms "$(field "$tmp/s7.txt" cmd0 cpu_med_us)") / $(ms "$(field "$tmp/s7.txt" cmd1 cpu_med_us)") ms"
check_le 8 "logging adds to a one-shot complete (median of paired differences)" \
    "$(ms "$(field "$tmp/s7.txt" ratio1 diff_pair_med_us)")" 0.5 " ms"

LEDGER_RECORDS=${FX_BENCH_LEDGER_RECORDS:-1000000}
big=$tmp/big.db
say "ledger-bench -n $LEDGER_RECORDS big.db   (fills the ledger; its in-process figures follow)"
"$top/bench/ledger-bench" -n "$LEDGER_RECORDS" "$big" >"$tmp/s7-fill.txt" 2>&1 ||
    printf 'note: ledger-bench reported a missed in-process target (see below)\n'
grep -v '^filled' "$tmp/s7-fill.txt" || :
printf '[log]\npath = %s\n\n' "$big" >>"$tmp/s7.ini"
"$FLEXIAI" logs -q disk >"$tmp/s7-q.out" 2>"$tmp/s7.err" || die "flexiai logs -q failed: $(cat "$tmp/s7.err")"
[ -s "$tmp/s7-q.out" ] || die "flexiai logs -q disk found nothing in the big ledger"
say "abrun -n 21 -w 2 -- flexiai logs -q disk ::: flexiai logs -q penguin ::: flexiai logs -n 3"
"$ABRUN" -n 21 -w 2 -- "$FLEXIAI" logs -q disk ::: "$FLEXIAI" logs -q penguin ::: \
    "$FLEXIAI" logs -n 3 >"$tmp/s7q.txt" || die "flexiai logs runs failed"
cat "$tmp/s7q.txt"
check_le 8 "flexiai logs -q disk over $LEDGER_RECORDS records (median wall)" \
    "$(ms "$(field "$tmp/s7q.txt" cmd0 wall_med_us)")" 100 " ms"
info 8 "flexiai logs -q penguin / logs -n 3 (median wall)" \
    "$(ms "$(field "$tmp/s7q.txt" cmd1 wall_med_us)") / $(ms "$(field "$tmp/s7q.txt" cmd2 wall_med_us)") ms"
say "abrun -n 5 -w 1 -- flexiai usage --by day ::: flexiai usage --by provider,model"
"$ABRUN" -n 5 -w 1 -- "$FLEXIAI" usage --by day ::: "$FLEXIAI" usage --by provider,model \
    >"$tmp/s7u.txt" || die "flexiai usage runs failed"
cat "$tmp/s7u.txt"
check_le 8 "flexiai usage --by day over $LEDGER_RECORDS records (median wall)" \
    "$(ms "$(field "$tmp/s7u.txt" cmd0 wall_med_us)")" 1000 " ms"
info 8 "flexiai usage --by provider,model (median wall)" "$(ms "$(field "$tmp/s7u.txt" cmd1 wall_med_us)") ms"
unset FLEXIAI_CONFIG
export XDG_DATA_HOME="$tmp/home/.local/share"

fi # section 8

if want 9; then
section "9. flexiai batch --deferred: items written and submitted, time and memory"
{
    provider_ini deferred "$MOCK/p/deferred/v1"
} | write_ini "$tmp/s9.ini"
export FLEXIAI_CONFIG="$tmp/s9.ini"
DEF_N=${FX_BENCH_DEFERRED_ITEMS:-100000}
awk -v n="$DEF_N" 'BEGIN { for (i = 1; i <= n; i++) printf "{\"id\":%d,\"prompt\":\"hello %d\"}\n", i, i }' >"$tmp/s9.jsonl"
say "/usr/bin/time -f '%e %M' flexiai batch -q --deferred -i s9.jsonl -o s9.out   ($DEF_N items; 3 runs)"
: >"$tmp/s9.walls"
: >"$tmp/s9.rss"
for run in 1 2 3; do
    /usr/bin/time -o "$tmp/s9.time" -f '%e %M' "$FLEXIAI" batch -q --deferred -i "$tmp/s9.jsonl" \
        -o "$tmp/s9.out" >"$tmp/s9.job" 2>"$tmp/s9.err" ||
        die "flexiai batch --deferred failed: $(tail -3 "$tmp/s9.err")"
    read -r w9 r9 <"$tmp/s9.time"
    job9=$(cat "$tmp/s9.job")
    [ -f "$XDG_STATE_HOME/flexiai/jobs/$job9.json" ] || die "no job file for $job9"
    n9=$(jq '[.parts[] | select(.state == "submitted") | .count] | add' \
        "$XDG_STATE_HOME/flexiai/jobs/$job9.json")
    [ "$n9" -eq "$DEF_N" ] || die "flexiai batch --deferred submitted $n9 of $DEF_N items"
    printf '%s\n' "$w9" >>"$tmp/s9.walls"
    printf '%s\n' "$r9" >>"$tmp/s9.rss"
    printf 'run %s: %s items in %s s, peak RSS %s KiB, job %s\n' "$run" "$n9" "$w9" "$r9" "$job9"
done
wall9=$(sort -n "$tmp/s9.walls" | sed -n 2p)
rss9=$(sort -n "$tmp/s9.rss" | sed -n 2p)
check_le 9 "flexiai batch --deferred: $DEF_N items written and submitted (median wall)" "$wall9" 60 " s"
check_le 9 "flexiai batch --deferred peak RSS (median)" "$(calc "$rss9 / 1024" 1)" 64 " MB"
rm -f "$tmp/s9.jsonl"
unset FLEXIAI_CONFIG

fi # section 9

# ===========================================================================
if want 10; then
section "10. the response cache: a cached answer vs curl posting the same request"
{
    printf '[failover]\nretries = 0\n\n'
    provider_ini primary "$MOCK/p/primary/v1"
} | write_ini "$tmp/s10.ini"
export FLEXIAI_CONFIG="$tmp/s10.ini"
export XDG_DATA_HOME="$tmp/data10"
# the first run asks mockllm and keeps the answer; every later one is a hit
"$FLEXIAI" complete --cache "$PROMPT" </dev/null >/dev/null 2>"$tmp/s10.err" ||
    die "flexiai complete --cache failed: $(cat "$tmp/s10.err")"
body10=$("$CURL" -sf "$MOCK/_control/log/primary" | jq -r .last_body)
before10=$(mock_count primary)
say "abrun -n $ROUNDS -w $WARMUP -- curl ... --data-binary '$body10' $MOCK/p/primary/v1/chat/completions ::: flexiai complete --cache '$PROMPT'"
"$ABRUN" -n "$ROUNDS" -w "$WARMUP" -o "$tmp/s10.tsv" -e "$tmp/s10.err" -- \
    "$CURL" -sS --fail -X POST -H "Authorization: Bearer KEY" \
    -H "Content-Type: application/json" --data-binary "$body10" \
    "$MOCK/p/primary/v1/chat/completions" ::: \
    "$FLEXIAI" complete --cache "$PROMPT" >"$tmp/s10.txt" ||
    die "section 10 runs failed: $(tail -5 "$tmp/s10.err")"
cat "$tmp/s10.txt"
after10=$(mock_count primary)
# curl's requests only: every flexiai run was a hit
[ $((after10 - before10)) -eq $((ROUNDS + WARMUP)) ] ||
    die "mockllm counted $((after10 - before10)) requests, expected $((ROUNDS + WARMUP)) (curl's)"
c10=$(field "$tmp/s10.txt" cmd0 wall_med_us)
f10=$(field "$tmp/s10.txt" cmd1 wall_med_us)
printf 'median wall: curl %s ms, flexiai complete --cache (hit) %s ms\n' "$(ms "$c10")" "$(ms "$f10")"
info 10 "curl median wall" "$(ms "$c10") ms"
info 10 "flexiai complete --cache (hit) median wall" "$(ms "$f10") ms"
check_le 10 "wall ratio cached flexiai complete / curl to mockllm" "$(calc "$f10 / $c10")" 0.999 ""
unset FLEXIAI_CONFIG
export XDG_DATA_HOME="$tmp/home/.local/share"

fi # section 10

# ===========================================================================
section "summary"
printf '%s, %s, %s CPUs, rounds=%s, events=%s\n' "$(uname -srm)" \
    "$("$FLEXIAI" --version 2>/dev/null | head -1)" "$(nproc 2>/dev/null || echo '?')" "$ROUNDS" "$EVENTS"
printf 'load average at the start: %s; now: %s (other work on the machine makes tails noisy)\n' \
    "$load0" "$(cat /proc/loadavg 2>/dev/null)"
awk -F '\t' 'BEGIN { printf "%-3s %-78s %-44s %-10s %s\n", "#", "figure", "measured", "target", "result" }
    { printf "%-3s %-78s %-44s %-10s %s\n", $1, $2, $3, $4, $5 }' "$summary"
if [ "$failed" -gt 0 ]; then
    printf '\n%d target(s) missed\n' "$failed"
    exit 1
fi
printf '\nall targets met\n'
