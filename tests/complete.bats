#!/usr/bin/env bats
# flexiai complete against mockllm playing each provider type.

load helpers

setup() {
    setup_env
    start_mockllm
    {
        printf '[failover]\nretries = 0\n\n'
        provider_section oa openai oa
        provider_section an anthropic an
        provider_section ge gemini ge
        provider_section vx vertex vx
    } | write_config
}

@test "each provider type answers a plain request with the echoed prompt" {
    for p in oa an ge vx; do
        run --separate-stderr flexiai complete -p $p --no-stream "hello there" </dev/null
        assert_success
        assert_output "hello there"
        assert_equal "$stderr" ""
        assert_equal "$(mock_count $p)" 1
    done
}

@test "each provider type streams the same answer" {
    for p in oa an ge vx; do
        mock_script $p "chunks=5"
        run --separate-stderr flexiai complete -p $p --stream "one two three four five six" </dev/null
        assert_success
        assert_output "one two three four five six"
        assert_equal "$(mock_log $p | jq -r .streamed)" 1
    done
}

@test "--json has the same shape for every provider" {
    shapes=
    for p in oa an ge vx; do
        run flexiai complete -p $p --json "shape test" </dev/null
        assert_success
        assert_equal "$(jq -r .text <<<"$output")" "shape test"
        assert_equal "$(jq -r .provider <<<"$output")" "$p"
        assert_equal "$(jq -r .finish_reason <<<"$output")" "stop"
        assert_equal "$(jq -r '.usage.total_tokens > 0' <<<"$output")" true
        shape=$(jq -c '[paths | map(if type=="number" then 0 else . end)] | unique' <<<"$output")
        [ -z "$shapes" ] || assert_equal "$shape" "$shapes"
        shapes=$shape
    done
}

@test "usage is null when the server sends none" {
    mock_script oa "no_usage"
    run flexiai complete -p oa --json "x" </dev/null
    assert_success
    assert_equal "$(jq -c .usage <<<"$output")" "null"
    mock_script ge "no_usage"
    run flexiai complete -p ge --json "x" </dev/null
    assert_equal "$(jq -c .usage <<<"$output")" "null"
}

@test "finish_reason is normalised" {
    mock_script an "finish=max_tokens"
    run flexiai complete -p an --json "x" </dev/null
    assert_equal "$(jq -r .finish_reason <<<"$output")" "length"
    mock_script ge "finish=SAFETY"
    run flexiai complete -p ge --json "x" </dev/null
    assert_equal "$(jq -r .finish_reason <<<"$output")" "content_filter"
    mock_script oa "finish=length"
    run flexiai complete -p oa --json --stream "x" </dev/null
    assert_equal "$(jq -r .finish_reason <<<"$output")" "length"
}

@test "arguments then stdin after a blank line make the prompt" {
    run bash -c 'echo hello | flexiai complete -p oa "Repeat:"'
    assert_success
    assert_output "$(printf 'Repeat:\n\nhello')"
    run bash -c 'printf "only stdin" | flexiai complete -p an'
    assert_success
    assert_output "only stdin"
}

@test "no prompt exits 66 with one line" {
    run --separate-stderr flexiai complete -p oa </dev/null
    assert_failure 66
    assert_equal "$output" ""
    [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
    [[ "$stderr" == "flexiai: no prompt"* ]]
}

@test "--messages takes a JSON array; system goes where each provider wants it" {
    cat >"$TEST_HOME/m.json" <<'JSON'
[{"role":"system","content":"Be brief."},
 {"role":"user","content":"first"},
 {"role":"assistant","content":"ok"},
 {"role":"user","content":"second"}]
JSON
    run flexiai complete -p an --messages "$TEST_HOME/m.json" </dev/null
    assert_success
    assert_output "second"
    body=$(mock_last_body an)
    assert_equal "$(jq -r .system <<<"$body")" "Be brief."
    assert_equal "$(jq -r '.messages | map(.role) | join(",")' <<<"$body")" "user,assistant,user"
    run flexiai complete -p ge --messages - <"$TEST_HOME/m.json"
    assert_success
    body=$(mock_last_body ge)
    assert_equal "$(jq -r '.systemInstruction.parts[0].text' <<<"$body")" "Be brief."
    assert_equal "$(jq -r '.contents | map(.role) | join(",")' <<<"$body")" "user,model,user"
    run flexiai complete -p oa --messages "$TEST_HOME/m.json" </dev/null
    body=$(mock_last_body oa)
    assert_equal "$(jq -r '.messages[0].role' <<<"$body")" "system"
}

@test "malformed --messages exits 65; a missing file exits 66" {
    echo '{"role":"user"}' >"$TEST_HOME/bad.json"
    run --separate-stderr flexiai complete -p oa --messages "$TEST_HOME/bad.json" </dev/null
    assert_failure 65
    [[ "$stderr" == "flexiai: "*"must be a JSON array"* ]]
    echo '[{"role":"wizard","content":"x"}]' >"$TEST_HOME/bad.json"
    run --separate-stderr flexiai complete -p oa --messages "$TEST_HOME/bad.json" </dev/null
    assert_failure 65
    echo '[{"role":' >"$TEST_HOME/bad.json"
    run --separate-stderr flexiai complete -p oa --messages "$TEST_HOME/bad.json" </dev/null
    assert_failure 65
    run --separate-stderr flexiai complete -p oa --messages "$TEST_HOME/none.json" </dev/null
    assert_failure 66
    assert_equal "$(mock_count oa)" 0
}

@test "flags reach the request: -s, -t, --max-tokens, --top-p, --stop, -m" {
    run flexiai complete -p oa -s "Sys" -t 0.3 --max-tokens 77 --top-p 0.9 --stop END --stop STOP -m other-model "x" </dev/null
    assert_success
    body=$(mock_last_body oa)
    assert_equal "$(jq -r .model <<<"$body")" "other-model"
    assert_equal "$(jq -r .temperature <<<"$body")" "0.3"
    assert_equal "$(jq -r .max_tokens <<<"$body")" "77"
    assert_equal "$(jq -r .top_p <<<"$body")" "0.9"
    assert_equal "$(jq -c .stop <<<"$body")" '["END","STOP"]'
    assert_equal "$(jq -r '.messages[0].content' <<<"$body")" "Sys"
}

@test "bad flags exit 64" {
    for args in "-t hot x" "--max-tokens 0 x" "--top-p 2 x" "--timeout -1 x" "--bogus x" "-p nosuch x" "--on-stream-error=maybe x"; do
        run --separate-stderr flexiai complete $args </dev/null
        assert_failure 64
        [[ "$stderr" == "flexiai: "* ]]
    done
}

malformed_case() { # route spec extra-args...
    local route=$1 spec=$2
    shift 2
    mock_script "$route" "$spec"
    run --separate-stderr flexiai complete -p "$route" "$@" "malformed case" </dev/null
    [ "$(printf "%s\n" "$stderr" | wc -l)" -eq 1 ] || { echo "status $status stderr: $stderr"; return 1; }
    [[ "$stderr" == "flexiai: "*"$route"* ]] || { echo "status $status out $output stderr: $stderr"; return 1; }
}

@test "malformed responses: one flexiai: line naming the provider, exit 75" {
    for p in oa an ge; do
        malformed_case $p malformed --no-stream
        assert_failure 75
        malformed_case $p malformed --stream
        assert_failure 75
        malformed_case $p error_body --no-stream
        assert_failure 75
        malformed_case $p "truncate_after=2" --stream
        assert_failure 75
        malformed_case $p "html,status=502" --no-stream
        assert_failure 75
        malformed_case $p empty --no-stream
        assert_failure 75
    done
    malformed_case oa "missing=choices" --no-stream
    assert_failure 75
    malformed_case an "missing=content" --no-stream
    assert_failure 75
}

@test "an error event after some text: partial text kept, exit 75 with --on-stream-error=fail" {
    mock_script an "error_event_after=2,chunks=4"
    run --separate-stderr flexiai complete -p an --stream --on-stream-error=fail "alpha beta gamma delta" </dev/null
    assert_failure 75
    [[ "$output" == "alpha beta"* ]]
    [[ "$output" != *"delta"* ]]
    [[ "$stderr" == "flexiai: an: "* ]]
}

@test "credentials refused: exit 77" {
    mock_script oa "key=the-right-key"
    run --separate-stderr flexiai complete -p oa "x" </dev/null
    assert_failure 77
    [[ "$stderr" == *"auth"* ]]
    [[ "$stderr" != *"test-key-oa"* ]]
}

@test "a request the provider rejects (400): exit 65, no retry" {
    cat >>"$CONFIG" <<'INI'
[failover]
retries = 3
INI
    mock_script oa "status=400"
    run --separate-stderr flexiai complete -p oa "x" </dev/null
    assert_failure 65
    assert_equal "$(mock_count oa)" 1
}

@test "--timeout: a slow provider times out with exit 75" {
    mock_script oa "wait_ms=3000"
    run --separate-stderr flexiai complete -p oa --timeout 0.3 "x" </dev/null
    assert_failure 75
    [[ "$stderr" == *"timeout"* ]]
}

@test "-v prints one line per attempt with URL and status, never the key" {
    run --separate-stderr flexiai complete -v -p oa "x" </dev/null
    assert_success
    [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
    [[ "$stderr" == *"oa openai-model POST $MOCK_URL/p/oa/v1/chat/completions -> HTTP 200 in "*" ms"* ]]
    [[ "$stderr" != *"test-key"* ]]
}

@test "a closed stdout ends the process quietly" {
    mock_script oa "chunks=50,delay_ms=5"
    run --separate-stderr bash -c "flexiai complete -p oa --stream '$(seq -s ' ' 1 400)' </dev/null | head -c 3"
    assert_output "1 2"
    assert_equal "$stderr" ""
}

@test "SIGINT during a stream keeps what was printed, ends the line, exits 130" {
    # the signal comes once "1 2 3" is out; the other chunks would take
    # 8 s more
    mock_script oa "chunks=20,delay_ms=500"
    flexiai complete -p oa --stream "$(seq -s ' ' 1 20)" >"$TEST_HOME/out" 2>"$TEST_HOME/err" </dev/null &
    pid=$!
    wait_lines "$TEST_HOME/out" '^1 2 3' 1
    kill -INT $pid
    wait $pid && status=0 || status=$?
    assert_equal "$status" 130
    out=$(cat "$TEST_HOME/out")
    [[ "$out" == "1 2 3"* ]]
    [[ "$out" != *"20"* ]]
    [ "$(tail -c1 "$TEST_HOME/out" | od -An -c | tr -d ' ')" = '\n' ]
    grep -q "^flexiai: interrupted" "$TEST_HOME/err"
}

@test "the key never appears in argv, output or the state directory" {
    mock_script oa "status=500"
    run flexiai complete -v --json -p oa "x" </dev/null
    [[ "$output" != *"test-key-oa"* ]]
    run ! grep -r "test-key-oa" "$XDG_STATE_HOME"
}

@test "-s with a --messages file that has its own system message: a warning, and the flag's prompt for every provider type" {
    printf '[{"role":"system","content":"From the file."},{"role":"user","content":"hi"}]' >"$TEST_HOME/m.json"
    run --separate-stderr flexiai complete -p oa -s "From the flag." --messages "$TEST_HOME/m.json"
    assert_success
    assert_equal "$stderr" "flexiai: warning: -s replaces the system message of $TEST_HOME/m.json"
    assert_equal "$(mock_last_body oa | jq -c '[.messages[] | select(.role == "system") | .content]')" '["From the flag."]'
    run --separate-stderr flexiai complete -p an -s "From the flag." --messages "$TEST_HOME/m.json"
    assert_success
    assert_equal "$(mock_last_body an | jq -r .system)" "From the flag."
    # without -s, the file's own system message wins over [defaults] system
    printf '[defaults]\nsystem = From the config.\n' >>"$CONFIG"
    run --separate-stderr flexiai complete -p an --messages "$TEST_HOME/m.json"
    assert_success
    assert_equal "$stderr" ""
    assert_equal "$(mock_last_body an | jq -r .system)" "From the file."
}

@test "-n keeps complete from reading stdin (the while-read pitfall)" {
    run --separate-stderr bash -c 'printf "one\ntwo\n" | while read -r w; do flexiai complete -n -p oa --no-stream "word $w"; done'
    assert_success
    assert_output "word one
word two"
}
