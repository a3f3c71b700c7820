#!/usr/bin/env bats
# hostile-term.bats - what reaches a terminal and what is kept: escape
# sequences in answers shown, not obeyed, on a terminal (and exact on a
# pipe); keys a provider echoes redacted in every place that keeps or
# shows an error; schema edges; breaker sync names and probe bodies.
# Terminals are real pseudo-terminals (tests/hostile/pty-run.py), which
# pass on every byte the command writes.

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

PTY=("python3" "$SRCDIR/tests/hostile/pty-run.py")

# An answer that would write the clipboard, clear the screen and set the
# window title, and the same sent through a C1 CSI (U+009B).
EVIL_SPEC='reply=A%1B]52;c;aGk%3D%07B%1B[2JC%1B]0;TITLE%07D%C2%9B2J'
EVIL_RAW=$'A\e]52;c;aGk=\aB\e[2JC\e]0;TITLE\aD\u009b2J'
EVIL_SHOWN='A^[]52;c;aGk=^GB^[[2JC^[]0;TITLE^GD<U+009B>2J'

# no_raw FILE: FILE holds no ESC, BEL or C1 control
no_raw() {
    run -0 python3 -c '
import sys
b = open(sys.argv[1], "rb").read()
bad = [c for c in (b"\x07", b"\xc2\x9b") if c in b]
# the terminal handling of readline and chat (bracketed paste, bold
# prompt, dim rules) is ours; any other ESC came from the answer
rest = b
for ours in (b"\x1b[?2004h", b"\x1b[?2004l", b"\x1b[1m", b"\x1b[0m", b"\x1b[2m", b"\x1b[36m"):
    rest = rest.replace(ours, b"")
if bad or b"\x1b" in rest:
    print(repr(b)); sys.exit(1)' "$1"
}

@test "23.7 complete on a terminal shows control characters escaped" {
    mock_script oa "$EVIL_SPEC"
    "${PTY[@]}" -- flexiai complete --no-stream hi >"$TEST_HOME/tty.out"
    no_raw "$TEST_HOME/tty.out"
    run -0 grep -c -F -- "$EVIL_SHOWN" "$TEST_HOME/tty.out"
    "${PTY[@]}" -- flexiai complete --stream hi >"$TEST_HOME/tty2.out"
    no_raw "$TEST_HOME/tty2.out"
    run -0 grep -c -F -- "$EVIL_SHOWN" "$TEST_HOME/tty2.out"
}

@test "23.7 complete on a pipe stays byte-exact" {
    mock_script oa "$EVIL_SPEC"
    flexiai complete --stream hi >"$TEST_HOME/pipe.out"
    printf '%s\n' "$EVIL_RAW" >"$TEST_HOME/want"
    cmp "$TEST_HOME/want" "$TEST_HOME/pipe.out"
    flexiai complete --no-stream hi >"$TEST_HOME/pipe2.out"
    cmp "$TEST_HOME/want" "$TEST_HOME/pipe2.out"
}

@test "23.7 logs on a terminal shows the answer escaped, --json stays JSON" {
    mock_script oa "$EVIL_SPEC"
    flexiai complete hi >/dev/null
    "${PTY[@]}" -- flexiai logs -n 1 >"$TEST_HOME/logs.out"
    no_raw "$TEST_HOME/logs.out"
    run -0 grep -c -F -- "$EVIL_SHOWN" "$TEST_HOME/logs.out"
    "${PTY[@]}" -- flexiai logs show 1 >"$TEST_HOME/show.out"
    no_raw "$TEST_HOME/show.out"
    run -0 grep -c -F -- "$EVIL_SHOWN" "$TEST_HOME/show.out"
    # piped: the record as kept
    flexiai logs --json -n 1 | jq -r .text >"$TEST_HOME/json.out"
    printf '%s\n' "$EVIL_RAW" >"$TEST_HOME/want"
    cmp "$TEST_HOME/want" "$TEST_HOME/json.out"
}

chat_pty() {
    "${PTY[@]}" --expect '> ' --send 'hi\r' --expect '> ' --send '\x04' -- "$@"
}

@test "23.7 chat on a terminal: rendered, NO_COLOR and --no-render all escape" {
    mock_script oa "$EVIL_SPEC"
    chat_pty flexiai chat >"$TEST_HOME/c1.out"
    no_raw "$TEST_HOME/c1.out"
    run -0 grep -c -F -- "$EVIL_SHOWN" "$TEST_HOME/c1.out"
    chat_pty env NO_COLOR=1 flexiai chat >"$TEST_HOME/c2.out"
    no_raw "$TEST_HOME/c2.out"
    run -0 grep -c -F -- "$EVIL_SHOWN" "$TEST_HOME/c2.out"
    chat_pty flexiai chat --no-render >"$TEST_HOME/c3.out"
    no_raw "$TEST_HOME/c3.out"
    run -0 grep -c -F -- "$EVIL_SHOWN" "$TEST_HOME/c3.out"
    # inside a code fence too
    mock_script oa 'reply=```%0AA%1B]0;TITLE%07D%0A```'
    chat_pty flexiai chat >"$TEST_HOME/c4.out"
    no_raw "$TEST_HOME/c4.out"
    run -0 grep -c -F -- 'A^[]0;TITLE^GD' "$TEST_HOME/c4.out"
}

@test "23.7 scripted chat on a pipe stays byte-exact" {
    mock_script oa "$EVIL_SPEC"
    printf 'hi\n' | flexiai chat >"$TEST_HOME/chat.out"
    # the answer, and the blank line that ends a turn
    printf '%s\n\n' "$EVIL_RAW" >"$TEST_HOME/want"
    cmp "$TEST_HOME/want" "$TEST_HOME/chat.out"
}

@test "23.7 config show escapes control characters" {
    printf '[defaults]\nsystem = be\033]0;TITLE\007nice\n' >>"$CONFIG"
    run -0 flexiai config show
    refute_output --partial $'\e'
    assert_output --partial 'defaults.system = be^[]0;TITLE^Gnice'
}

# ---- 23.8 a key a provider echoes is redacted everywhere -------------------

ECHO_401='status=401,error_message=Incorrect API key provided: test-key-oa. Also sk-abcdefghijklmnop and Bearer eyJhbGci.eyJzdWIi.c2ln here.'

# no_key FILE...: none of the files holds a credential from ECHO_401
no_key() {
    run grep -l -e test-key-oa -e sk-abcdefghijklmnop -e eyJhbGci -e eyJzdWIi -e c2ln "$@"
    assert_failure 1
}

@test "23.8 an echoed key is redacted in the state file, stderr and logs.db" {
    mock_script oa "$ECHO_401"
    run -77 --separate-stderr flexiai complete hi
    printf '%s\n' "$stderr" >"$TEST_HOME/stderr"
    assert_equal "$(grep -c 'Incorrect API key provided: \[redacted\]' "$TEST_HOME/stderr")" 1
    no_key "$TEST_HOME/stderr"
    state=$XDG_STATE_HOME/flexiai/breakers/oa.json
    run -0 jq -r .last_error "$state"
    assert_output --partial 'provided: [redacted]'
    assert_output --partial 'Bearer [redacted]'
    no_key "$state"
    flexiai logs --json -n 1 >"$TEST_HOME/logs.json"
    run -0 jq -r .error "$TEST_HOME/logs.json"
    assert_output --partial 'provided: [redacted]'
    no_key "$TEST_HOME/logs.json" "$(flexiai logs path)"
}

@test "23.8 an echoed key is redacted in the Redis state key" {
    start_redis
    { printf '[failover]\nretries = 0\n\n[sync]\nbackend = redis\nredis_url = redis://127.0.0.1:%s/0\n\n' "$REDIS_PORT"
      provider_section oa openai oa; } | write_config
    mock_script oa "$ECHO_401"
    run -77 flexiai complete hi
    redis_cli GET flexiai:state:oa >"$TEST_HOME/redis.json"
    run -0 jq -r .last_error "$TEST_HOME/redis.json"
    assert_output --partial 'provided: [redacted]'
    no_key "$TEST_HOME/redis.json"
}

@test "23.8 config show masks a password in a base_url" {
    { printf '[failover]\nretries = 0\n\n'
      provider_section oa openai oa "base_url = https://user:hunter22@127.0.0.1:9/v1"
      provider_section ob openai ob "base_url = https://tok3n0nly@127.0.0.1:9/v1/x@y"; } | write_config
    run -0 flexiai config show
    refute_output --partial hunter22
    refute_output --partial tok3n0nly
    assert_output --partial 'provider.oa.base_url = https://user:****@127.0.0.1:9/v1'
    assert_output --partial 'provider.ob.base_url = https://****@127.0.0.1:9/v1/x@y'
    run -0 flexiai config show --json
    refute_output --partial hunter22
}

# ---- 23.10 schema validation exact at the edges ------------------------------

number_schema() {
    printf '{"type":"object","properties":{"a":{"type":"number","maximum":10}}}' >"$TEST_HOME/s.json"
}

@test "23.10 an infinite number in an answer fails validation" {
    number_schema
    mock_script oa 'reply={"a":-1e999999}'
    run -76 --separate-stderr flexiai complete --schema "$TEST_HOME/s.json" hi
    assert_output ''
    assert_equal "$stderr" 'flexiai: oa: $.a: a number too large for a double (-infinity)'
    mock_script oa 'reply={"a":1e400}'
    run -76 --separate-stderr flexiai complete --schema "$TEST_HOME/s.json" hi
    assert_output ''
    assert_equal "$stderr" 'flexiai: oa: $.a: a number too large for a double (+infinity)'
}

@test "23.10 a key twice in an answer fails validation" {
    number_schema
    mock_script oa 'reply={"a":1%2C"a":20}'
    run -76 --separate-stderr flexiai complete --schema "$TEST_HOME/s.json" hi
    assert_output ''
    assert_equal "$stderr" 'flexiai: oa: $.a: the key appears more than once'
    mock_script oa 'reply={"a":1%2C"b":{"c":1%2C"c":1}}'
    run -76 --separate-stderr flexiai complete --schema "$TEST_HOME/s.json" hi
    assert_equal "$stderr" 'flexiai: oa: $.b.c: the key appears more than once'
    # the same answer without the twin passes
    mock_script oa 'reply={"a":1%2C"b":{"c":1}}'
    run -0 flexiai complete --schema "$TEST_HOME/s.json" hi
    assert_output '{"a":1,"b":{"c":1}}'
}

@test "23.10 a schema 10000 deep or holding 1e400 says what is wrong" {
    python3 -c 'print("{\"type\":\"array\",\"items\":" * 10000 + "{}" + "}" * 10000)' >"$TEST_HOME/deep.json"
    run -65 --separate-stderr flexiai complete --schema "$TEST_HOME/deep.json" hi
    assert_equal "$stderr" "flexiai: $TEST_HOME/deep.json: nested more than 1000 levels deep"
    printf '{"type":"number","maximum":1e400}' >"$TEST_HOME/big.json"
    run -65 --separate-stderr flexiai complete --schema "$TEST_HOME/big.json" hi
    assert_equal "$stderr" "flexiai: $TEST_HOME/big.json: \$.maximum: a number too large for a double (+infinity)"
    run -64 --separate-stderr flexiai complete --schema '{"type":"number","minimum":-1e400}' hi
    assert_equal "$stderr" 'flexiai: inline schema: $.minimum: a number too large for a double (-infinity)'
    assert_equal "$(mock_count oa)" 0
}

@test "23.10 an answer nested 10000 deep says so" {
    number_schema
    mock_script oa "reply=$(python3 -c 'print("[" * 10000 + "]" * 10000)')"
    run -76 --separate-stderr flexiai complete --schema "$TEST_HOME/s.json" hi
    assert_equal "$stderr" 'flexiai: oa: the answer is nested more than 1000 levels deep'
}

# ---- 23.13 breaker sync names, breaker probe bodies ---------------------------

# start_hostile: tests/hostile/hostile-server.py on a free loopback port
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

@test "23.13 breaker probe: an endless or non-JSON /models body is not 'credentials accepted'" {
    start_hostile
    {
        printf '[defaults]\ntimeout = 20\n'
        printf '[provider.endless]\ntype = openai\nmodel = m\napi_key = k\nbase_url = %s/endless-json/v1\n\n' "$HOSTILE_URL"
        printf '[provider.html]\ntype = openai\nmodel = m\napi_key = k\nbase_url = %s/html/v1\n\n' "$HOSTILE_URL"
        provider_section oa openai oa
    } | write_config
    run --separate-stderr flexiai breaker probe --json
    assert_failure 1
    assert_equal "$(jq -r '.[0].ok' <<<"$output")" false
    assert_equal "$(jq -r '.[0].credentials_accepted' <<<"$output")" null
    assert_equal "$(jq -r '.[0].message' <<<"$output")" 'response larger than 8 MiB (max_response_bytes)'
    assert_equal "$(jq -r '.[1].ok' <<<"$output")" false
    assert_equal "$(jq -r '.[1].credentials_accepted' <<<"$output")" null
    assert_equal "$(jq -r '.[1].message' <<<"$output")" 'the answer is not a JSON object'
    # a real model list still is
    assert_equal "$(jq -r '.[2].ok' <<<"$output")" true
    assert_equal "$(jq -r '.[2].credentials_accepted' <<<"$output")" true
}

@test "23.13 breaker sync writes state only for provider names of the documented pattern" {
    start_redis
    { printf '[sync]\nbackend = redis\nredis_url = redis://127.0.0.1:%s/0\n\n' "$REDIS_PORT"
      provider_section oa openai oa; } | write_config
    flexiai breaker sync >"$TEST_HOME/sync.out" 2>"$TEST_HOME/sync.err" 3>&- &
    local pid=$! i
    for i in $(seq 1 500); do
        [ "$(redis_cli PUBSUB NUMSUB flexiai:events | tail -n 1)" = 1 ] && break
        sleep 0.02
    done
    local ts
    ts=$(python3 -c 'import datetime; print(datetime.datetime.utcnow().isoformat())')
    ev() { printf '{"provider_name": "%s", "event_type": "opened", "worker_id": "w", "timestamp": "%s", "metadata": {"failure_count": 5, "success_count": 0}}' "$1" "$ts"; }
    redis_cli PUBLISH flexiai:events "$(ev 'bad\u001b]0;x\u0007name')" >/dev/null
    redis_cli PUBLISH flexiai:events "$(ev 'has space')" >/dev/null
    redis_cli PUBLISH flexiai:events "$(ev "$(printf 'x%.0s' $(seq 1 200))")" >/dev/null
    redis_cli PUBLISH flexiai:events "$(ev 'new\nline')" >/dev/null
    redis_cli PUBLISH flexiai:events "$(ev 'vertexai')" >/dev/null
    for i in $(seq 1 500); do
        [ -n "$(redis_cli GET flexiai:state:vertexai)" ] && break
        sleep 0.02
    done
    kill "$pid"
    wait "$pid" || true
    assert_equal "$(redis_cli GET flexiai:state:vertexai | jq -r .state)" open
    # events are applied in order: the earlier ones were looked at and left
    run -0 redis_cli --raw KEYS 'flexiai:state:*'
    assert_output 'flexiai:state:vertexai'
    run -0 cat "$TEST_HOME/sync.err"
    assert_line --index 0 'flexiai: ignoring an event (opened) whose provider name is not [A-Za-z0-9._:@+-]{1,128}'
    assert_line --index 2 'flexiai: ignoring an event (opened) whose provider name is not [A-Za-z0-9._:@+-]{1,128} (further ones silently)'
    assert_equal "${#lines[@]}" 3
}

# ---- 25.12 schema DSL enums, --schema-show in complete and batch ---------------

@test "25.12 the DSL's enum(...) compiles to a string enum; --schema-show in complete and batch" {
    run -0 flexiai complete --schema-show --schema 'category enum(bug, feature,question), summary: one line'
    assert_equal "$(jq -c .properties.category <<<"$output")" '{"type":"string","enum":["bug","feature","question"]}'
    assert_equal "$(jq -c .required <<<"$output")" '["category","summary"]'
    run -0 flexiai batch --schema-show --schema 'category enum(bug,feature), tags [enum(a,b)]' </dev/null
    assert_equal "$(jq -c .properties.category.enum <<<"$output")" '["bug","feature"]'
    assert_equal "$(jq -c .properties.tags <<<"$output")" '{"type":"array","items":{"type":"string","enum":["a","b"]}}'
    run -0 flexiai batch --schema-show --schema-multi 'category enum(bug,feature)' </dev/null
    assert_equal "$(jq -c .properties.items.items.properties.category.enum <<<"$output")" '["bug","feature"]'
    run -64 --separate-stderr flexiai batch --schema-show </dev/null
    assert_equal "$stderr" 'flexiai: --schema-show needs --schema SPEC or --schema-multi SPEC'
    run -64 --separate-stderr flexiai complete --schema-show --schema 'category enum(bug,,x)'
    assert_equal "$stderr" 'flexiai: schema DSL: field "category": an empty value in "enum(bug,,x)"'
    run -64 --separate-stderr flexiai complete --schema-show --schema 'category enum(a,a)'
    assert_equal "$stderr" 'flexiai: schema DSL: field "category": a value appears twice in "enum(a,a)"'
    run -64 --separate-stderr flexiai complete --schema-show --schema 'category enum(a,b'
    assert_equal "$stderr" 'flexiai: schema DSL: field "category": missing '"')'"' in "enum(a,b"'
    assert_equal "$(mock_count oa)" 0
}

@test "25.12 an answer outside the enum fails, one inside passes" {
    mock_script oa 'reply={"category":"praise"}'
    run -76 --separate-stderr flexiai complete --schema 'category enum(bug,feature,question)' hi
    assert_output ''
    mock_script oa 'reply={"category":"bug"}'
    run -0 flexiai complete --schema 'category enum(bug,feature,question)' hi
    assert_output '{"category":"bug"}'
}

# ---- 25.13 readable ledger listings ------------------------------------------

@test "25.13 logs cuts a long prompt at 8 lines with '… N more lines'; logs show prints it whole" {
    seq 1 200 | flexiai complete "Summarise:" >/dev/null
    run -0 flexiai logs -n 1
    # header, provider line, 8 + 1 lines of prompt, 8 + 1 of answer (the echo)
    assert_equal "${#lines[@]}" 20
    assert_line --index 10 '  > … 194 more lines'
    assert_line --index 19 '  … 194 more lines'
    run -0 flexiai logs show 1
    assert_line '  > 200'
    refute_output --partial 'more lines'
}

@test "25.13 logs --oneline: one line per record, cut to the width" {
    mock_script oa 'reply=ok'
    printf 'first line\nsecond line of the question\n' | flexiai complete "Q:" >/dev/null
    mock_script oa 'status=401'
    run -77 flexiai complete "a question that failed"
    mock_script oa ''
    flexiai complete "héllo wörld, a question long enough to be cut at sixty columns" >/dev/null
    COLUMNS=60 run -0 flexiai logs --oneline
    assert_equal "${#lines[@]}" 3
    assert_line --index 0 --regexp '^#1  [0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}  oa  > Q: first line second line of t…  < ok$'
    assert_line --index 1 --regexp '^#2  .{11}  exit 77  > a question th…  ! oa: auth \(HTT…$'
    assert_line --index 2 --regexp '^#3  .{11}  oa  > héllo wörld, a …  < héllo wörld, a q…$'
    local line
    for line in "${lines[@]}"; do
        assert_equal "$(printf '%s' "$line" | wc -m)" 60
    done
    # on a terminal: its width, escapes shown
    mock_script oa 'reply=A%1B]0;TITLE%07D'
    flexiai complete hi >/dev/null
    "${PTY[@]}" --cols 50 -- flexiai logs --oneline -n 1 >"$TEST_HOME/one.out"
    no_raw "$TEST_HOME/one.out"
    run -0 cat "$TEST_HOME/one.out"
    assert_output --regexp '^#4  .{11}  oa  > hi  < A\^\[\]0;TITLE\^GD'$'\r''$'
    run -64 flexiai logs --oneline --json
}

# ---- 25.10 tables fit the terminal -------------------------------------------

# widest FILE: the widest line of a pty transcript in characters, escape
# sequences, the banner and the prompt's lines left out
widest() {
    python3 -c '
import re, sys
text = open(sys.argv[1], "rb").read().decode("utf-8")
text = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", text)
print(max(len(l) for l in text.replace("\r", "").split("\n") if "> " not in l and not l.startswith("flexiai chat:")))' "$1"
}

@test "25.10 a table wider than the terminal is drawn with wrapped cells at 60 and 80 columns" {
    # a model's table: | Tool | What it does | Notes |
    mock_script oa 'reply=| Tool | What it does | Notes |%0A|---|---|---|%0A| **curl** | transfers data with URLs over many protocols | the library is libcurl%2C used everywhere |%0A| jq | slices and filters JSON on the command line | like sed for JSON |%0A'
    local cols
    for cols in 60 80; do
        "${PTY[@]}" --cols "$cols" --expect '> ' --send 'hi\r' --expect '> ' --send '\x04' \
            -- flexiai chat >"$TEST_HOME/t$cols.out"
        run -0 widest "$TEST_HOME/t$cols.out"
        [ "$output" -le "$cols" ] || fail "a line of $output columns at $cols"
        # box drawing, not the raw rows
        run -0 grep -c '┌' "$TEST_HOME/t$cols.out"
        run grep -c '| Tool |' "$TEST_HOME/t$cols.out"
        assert_failure 1
        # words are not split: each of these is whole on some line
        run -0 grep -c 'transfers' "$TEST_HOME/t$cols.out"
        run -0 grep -c 'protocols' "$TEST_HOME/t$cols.out"
        run -0 grep -c 'everywhere' "$TEST_HOME/t$cols.out"
    done
    # piped, the answer is the model's text
    printf 'hi\n' | flexiai chat >"$TEST_HOME/piped.out"
    run -0 grep -c '^| Tool | What it does | Notes |$' "$TEST_HOME/piped.out"
}
