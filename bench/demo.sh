#!/bin/sh
# make demo: the main job against the bundled mock provider server.
# A failing primary and a healthy secondary; no network, no API key.
set -eu
top=${1:-$(pwd)}
cmd=$top/cmd
tmp=$(mktemp -d)
mock_pid=
cleanup() { [ -n "$mock_pid" ] && kill "$mock_pid" 2>/dev/null; rm -rf "$tmp"; }
trap cleanup EXIT INT TERM

# everything flexiai keeps goes to the temporary directory
export HOME=$tmp XDG_CONFIG_HOME=$tmp/config XDG_STATE_HOME=$tmp/state XDG_DATA_HOME=$tmp/data
unset OPENAI_API_KEY ANTHROPIC_API_KEY GEMINI_API_KEY GOOGLE_API_KEY FLEXIAI_CONFIG
export FX_TEST_SYSCONF=$tmp/none.ini

"$top/tests/mockllm/mockllm" --quiet --port-file "$tmp/port" \
    --script 'primary=status=503' \
    --script 'secondary=chunks=8,delay_ms=60' >/dev/null &
mock_pid=$!
i=0
while [ ! -s "$tmp/port" ] && [ $i -lt 200 ]; do sleep 0.02; i=$((i + 1)); done
port=$(cat "$tmp/port")

cat >"$tmp/demo.ini" <<INI
[failover]
retries = 0

[breaker]
failure_threshold = 3
recovery_timeout = 60

[provider.primary]
type = openai
model = gpt-6-luna
base_url = http://127.0.0.1:$port/p/primary/v1
api_key = demo-key-not-secret

[provider.secondary]
type = anthropic
model = claude-haiku-5-5
base_url = http://127.0.0.1:$port/p/secondary
api_key = demo-key-not-secret
price_input = 0.80
price_output = 4.00
INI
chmod 600 "$tmp/demo.ini"
export FLEXIAI_CONFIG=$tmp/demo.ini

say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

printf 'mockllm is playing two providers on 127.0.0.1:%s:\n' "$port"
printf '  primary   (OpenAI format)     answers every request with HTTP 503\n'
printf '  secondary (Anthropic format)  echoes the prompt, streamed in 8 pieces\n'

say 'flexiai complete -p secondary "Hello from flexiai"'
"$cmd/flexiai" complete -p secondary "Hello from flexiai"

say 'echo "the disk is 91% full" | flexiai complete --json "Summarise:"'
echo "the disk is 91% full" | "$cmd/flexiai" complete --json "Summarise:"

say 'flexiai complete --stream -v "Streaming, piece by piece"'
"$cmd/flexiai" complete --stream -v "Streaming, piece by piece"

say 'for i in 1 2 3 4; do flexiai complete "job $i"; done   # primary fails, secondary answers'
for i in 1 2 3 4; do
    "$cmd/flexiai" complete "job $i"
done

say 'flexiai breaker status'
"$cmd/flexiai" breaker status

say 'flexiai complete --json "one more"   # primary skipped: its breaker is open, no traffic'
"$cmd/flexiai" complete --json "one more"

say 'flexiai breaker check; echo "exit $?"'
set +e
"$cmd/flexiai" breaker check
echo "exit $?"

# what the ledger kept of all that (flexiai-logs(1), flexiai-usage(1))
say 'flexiai logs -n 5'
"$cmd/flexiai" logs -n 5
say 'flexiai logs -q disk'
"$cmd/flexiai" logs -q disk
say 'flexiai usage --by provider   # 23 tokens in at 0.80, 23 out at 4.00 per million'
"$cmd/flexiai" usage --by provider
