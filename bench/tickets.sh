#!/usr/bin/env bash
# make tickets: issue 25's new-user check, the data engineer's job end to
# end against the bundled mock provider server (no network, no API key).
#
# N tickets (default 5000) as {"ticket_id","subject","body"} JSONL, a
# schema with an enum, rpm = 600 on the only provider (a window of 10 s
# instead of 60, for speed: 60 requests a second), --prompt-template and
# --id-field, SIGINT once half of the answers are written, the same
# command again (it resumes), batch --compact, flexiai usage.  Checked:
# no failed item, never more than rpm requests in any window at the mock
# (its arrival times), one line per ticket after compaction, and tokens and
# cost equal to the mock's scripted usage times the calls it got.  Exits 1
# on the first check that fails.  Counts only, never elapsed time.
#
#   bash bench/tickets.sh [BUILDDIR] [N]
set -eu
top=${1:-$(pwd)}
n=${2:-5000}
cmd=$top/cmd
tmp=$(mktemp -d)
mock_pid=
cleanup() { [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM

export HOME=$tmp XDG_CONFIG_HOME=$tmp/config XDG_STATE_HOME=$tmp/state XDG_DATA_HOME=$tmp/data
unset OPENAI_API_KEY ANTHROPIC_API_KEY GEMINI_API_KEY GOOGLE_API_KEY FLEXIAI_CONFIG
export FX_TEST_SYSCONF=$tmp/none.ini
export TICKETS_KEY=sk-mock

fail() {
    echo "tickets: FAIL: $*" >&2
    exit 1
}

# every answer is {"category":"bug"}, billed 120 + 8 tokens
reply=$(jq -rn '"{\"category\":\"bug\"}" | @uri')
usage=$(jq -rn '"{\"prompt_tokens\":120,\"completion_tokens\":8,\"total_tokens\":128}" | @uri')
script="reply=$reply,usage=$usage"
"$top/tests/mockllm/mockllm" --quiet --port-file "$tmp/port" --script "tickets=$script" >/dev/null &
mock_pid=$!
i=0
while [ ! -s "$tmp/port" ] && [ $i -lt 200 ]; do sleep 0.02; i=$((i + 1)); done
mock=http://127.0.0.1:$(cat "$tmp/port")

mkdir -p "$XDG_CONFIG_HOME/flexiai"
cat >"$XDG_CONFIG_HOME/flexiai/config.ini" <<INI
[failover]
limit_window = 10

[provider.tickets]
type = openai
model = gpt-mock
base_url = $mock/p/tickets/v1
api_key_env = TICKETS_KEY
rpm = 600
price_input = 0.15
price_output = 0.60
INI
chmod 600 "$XDG_CONFIG_HOME/flexiai/config.ini"

awk -v n="$n" 'BEGIN {
    split("Login fails|Add dark mode|How do I export?|Crash on save", s, "|")
    split("app slow error please export button page data", w, " ")
    srand(25)
    for (i = 1; i <= n; i++) {
        b = "Customer writes:"
        for (k = 0; k < 5 + i % 30; k++) b = b " " w[1 + int(rand() * 8)]
        printf "{\"ticket_id\":\"TCK-%05d\",\"subject\":\"%s #%d\",\"body\":\"%s\"}\n", i, s[1 + i % 4], i, b
    }
}' >"$tmp/tickets.jsonl"

batch=("$cmd/flexiai" batch -i "$tmp/tickets.jsonl" -o "$tmp/out.jsonl"
    --id-field ticket_id --prompt-template '{subject}: {body}'
    --schema 'category enum(bug,feature,question)')
lines() { if [ -f "$tmp/out.jsonl" ]; then wc -l <"$tmp/out.jsonl"; else echo 0; fi; }

# first run, interrupted halfway (a script's background job starts with
# SIGINT ignored: put it back, as at a terminal)
(
    trap - INT
    exec "${batch[@]}"
) 2>"$tmp/run1.err" &
bp=$!
while [ "$(lines)" -lt $((n / 2)) ] && kill -0 "$bp" 2>/dev/null; do sleep 0.1; done
kill -INT "$bp" 2>/dev/null || true
rc1=0
wait "$bp" || rc1=$?
[ "$rc1" -eq 130 ] || fail "the interrupted run exited $rc1, not 130"
# the mock keeps the last 4096 arrival times: take them now, then again
curl -sf "$mock/_control/log/tickets" >"$tmp/log1.json"
curl -sf -X POST "$mock/_control/reset" >/dev/null
curl -sf -X POST --data-binary "$script" "$mock/_control/script/tickets" >/dev/null
half=$(lines)

# second run resumes
"${batch[@]}" 2>"$tmp/run2.err" || fail "the resumed run exited $?: $(cat "$tmp/run2.err")"
curl -sf "$mock/_control/log/tickets" >"$tmp/log2.json"
"$cmd/flexiai" batch --compact "$tmp/out.jsonl" 2>"$tmp/compact.err" ||
    fail "batch --compact: $(cat "$tmp/compact.err")"
"$cmd/flexiai" usage
"$cmd/flexiai" usage --json >"$tmp/usage.json"

calls1=$(jq .count "$tmp/log1.json")
calls2=$(jq .count "$tmp/log2.json")
calls=$((calls1 + calls2))
out=$(lines)
ids=$(jq -r .id "$tmp/out.jsonl" | sort -u | wc -l)
failed=$(jq -r 'select(.exit_code != 0) | .id' "$tmp/out.jsonl" | wc -l)
worst=$(jq -s '[.[].times[]] | sort | .[]' "$tmp/log1.json" "$tmp/log2.json" | awk '
    { t[NR] = $1 }
    END { j = 1; for (i = 1; i <= NR; i++) { while (t[i] - t[j] >= 10000) j++; if (i - j + 1 > m) m = i - j + 1 } print m + 0 }')
ledger_calls=$(jq '[.[].calls] | add' "$tmp/usage.json")
tin=$(jq '[.[].prompt_tokens] | add' "$tmp/usage.json")
tout=$(jq '[.[].completion_tokens] | add' "$tmp/usage.json")
cost=$(jq '[.[].cost] | add' "$tmp/usage.json")
# by hand: 120 * 0.15 + 8 * 0.60 per million tokens = 0.0000228 a call
want=$(awk -v c="$ledger_calls" 'BEGIN { printf "%.6f", c * (120 * 0.15 + 8 * 0.60) / 1e6 }')
have=$(awk -v c="$cost" 'BEGIN { printf "%.6f", c }')

echo "tickets: $n tickets; interrupted after $half answers (exit 130), resumed: $(tail -n 1 "$tmp/run2.err")"
echo "tickets: the mock got $calls1 + $calls2 = $calls requests; at most $worst in any 10 s window (rpm 600)"
echo "tickets: $out lines, $ids ids, $failed failed; the ledger: $ledger_calls calls, $tin + $tout tokens, cost $have (by hand $want)"
[ "$failed" -eq 0 ] || fail "$failed items failed"
[ "$out" -eq "$n" ] && [ "$ids" -eq "$n" ] || fail "$out lines for $ids ids, not $n"
[ "$worst" -le 600 ] || fail "$worst requests in a window of 10 s: more than rpm"
# a request in flight at SIGINT reached the mock and was never answered
[ "$calls" -ge "$n" ] && [ "$calls" -le $((n + 8)) ] || fail "the mock got $calls requests for $n tickets"
[ "$ledger_calls" -eq "$n" ] || fail "the ledger counts $ledger_calls calls, not $n"
[ "$tin" -eq $((120 * n)) ] && [ "$tout" -eq $((8 * n)) ] || fail "tokens $tin + $tout, not the mock's"
[ "$have" = "$want" ] || fail "cost $have, by hand $want"
echo "tickets: ok"
