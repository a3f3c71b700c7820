#!/usr/bin/env bats
# hostile-batch.bats - the second hostile sweep (issue 23) over batch, the
# ledger and reading input: one huge record never jams the ledger, ids come
# back exactly as given, NUL is refused, one writer per output file, every
# read is bounded, summaries count what was written, input lines cannot
# read local files.  Each case is driven the way its repro was, scaled down
# where a documented limit lets a few MB prove the point.

load helpers

setup() {
    setup_env
    start_mockllm
    { printf '[failover]\nretries = 0\n\n'; provider_section oa openai oa; } | write_config
}

teardown() { teardown_env; }

DB() { echo "$XDG_DATA_HOME/flexiai/logs.db"; }
SPOOL() { echo "$(DB).spool"; }

# ---- 23.1 the ledger --------------------------------------------------------

@test "a huge prompt is logged cut to 1 MiB with its full length; a later request and logs -q still work" {
    printf '[defaults]\nmax_input_bytes = 8000000\n' >>"$CONFIG"
    mock_script oa 'status=413'
    run --separate-stderr bash -c "{ printf 'HUGEWORD '; head -c 3000000 /dev/zero | tr '\\0' a; } | flexiai complete"
    assert_failure
    mock_script oa ''
    run flexiai complete "after"
    assert_success
    # the spool line is about the cap, not the 3 MB prompt
    [ "$(wc -c <"$(SPOOL)")" -lt 1200000 ]
    run --separate-stderr flexiai logs -q HUGEWORD --json
    assert_success
    assert_equal "$stderr" ""
    content=$(jq -r '.messages[0].content' <<<"$output")
    [[ $content == "HUGEWORD aaa"* ]]
    [[ $content == *$'\n[flexiai: cut to 1048576 of 3000009 bytes]' ]]
    assert_equal "$(flexiai logs -q after --json | jq -r '.messages[0].content')" after
}

@test "a spool line too long to read is set aside with one warning, every other record imported, memory bounded" {
    # no import in the background: the reader below does it
    printf '[log]\nspool_max = 0\n' >>"$CONFIG"
    flexiai complete "before" </dev/null >/dev/null
    # 70 MB on one line (more than FX_LEDGER_LINE_MAX, 64 MiB): written by
    # an older version, or by hand
    head -c 70000000 /dev/zero | tr '\0' a >>"$(SPOOL)"
    echo >>"$(SPOOL)"
    flexiai complete "after" </dev/null >/dev/null
    # reading it whole would need more than this much address space
    # (AddressSanitizer reserves terabytes: no limit there)
    limit='ulimit -v 150000;'
    [[ ${FX_TEST_CFLAGS:-} == *sanitize=address* ]] && limit=
    run --separate-stderr bash -c "$limit exec flexiai logs -n 5 --json"
    assert_success
    assert_equal "$(jq -r .messages[0].content <<<"$output" | paste -sd,)" "before,after"
    assert_equal "$(wc -l <<<"$stderr")" 1
    [[ $stderr == "flexiai: warning: records waiting in $(DB).spool: 1 damaged record"* ]]
    # kept whole for a human to look at
    assert_equal "$(wc -c <"$(SPOOL).damaged")" 70000001
    run --separate-stderr flexiai logs -n 5
    assert_success
    assert_equal "$stderr" ""
}

# ---- 23.2 ids ---------------------------------------------------------------

@test "batch ids come back exactly as given; resume compares their text; 1e400 and 1.5 are refused (65)" {
    in=$TEST_HOME/in.jsonl
    printf '%s\n' '{"id":1234567890123456789,"prompt":"a"}' \
        '{"id":1234567890123456788,"prompt":"b"}' \
        '{"id":"t\u002d1","prompt":"c"}' \
        '{"id":1e400,"prompt":"d"}' \
        '{"id":1.5,"prompt":"e"}' >"$in"
    run --separate-stderr flexiai batch -i "$in" -o "$TEST_HOME/out"
    assert_failure 65
    run cut -d, -f1 "$TEST_HOME/out"
    assert_output '{"id":1234567890123456789
{"id":1234567890123456788
{"id":"t\u002d1"
{"id":4
{"id":5'
    assert_equal "$(jq -r 'select(.exit_code == 65) | .error' "$TEST_HOME/out" | sort -u)" \
        "$(printf 'line 4: id must be a string or a whole number (as digits)\nline 5: id must be a string or a whole number (as digits)')"
    assert_equal "$(mock_count oa)" 3
    # resume: all three answered ids are recognised, none sent again
    run --separate-stderr flexiai batch -i "$in" -o "$TEST_HOME/out"
    assert_failure 65
    assert_equal "$(mock_count oa)" 3
    [[ $stderr == *"3 skipped"* ]]
}

# ---- 23.3 NUL ---------------------------------------------------------------

@test "NUL in a batch item's prompt, messages or system: exit_code 65, nothing sent" {
    printf '%s\n' '{"id":1,"prompt":"before\u0000after"}' \
        '{"id":2,"messages":[{"role":"user","content":"a\u0000b"}]}' \
        '{"id":3,"prompt":"p","system":"s\u0000"}' \
        '{"id":4,"prompt":"escaped \\u0000 is text"}' >"$TEST_HOME/in"
    run --separate-stderr flexiai batch -i "$TEST_HOME/in"
    assert_failure 65
    assert_equal "$(jq -c '[.id, .exit_code]' <<<"$output" | paste -sd' ')" "[1,65] [2,65] [3,65] [4,0]"
    assert_equal "$(jq -r 'select(.exit_code == 65) | .error' <<<"$output" | sort -u)" \
        "$(printf 'line 1: a string holds \\u0000 (a NUL character cannot be sent)\nline 2: a string holds \\u0000 (a NUL character cannot be sent)\nline 3: a string holds \\u0000 (a NUL character cannot be sent)')"
    assert_equal "$(mock_count oa)" 1
    assert_equal "$(mock_last_body oa | jq -r '.messages[-1].content')" 'escaped \u0000 is text'
    # a raw NUL byte in a line too
    printf '{"id":9,"prompt":"a\0b"}\n' >"$TEST_HOME/in0"
    run --separate-stderr flexiai batch -i "$TEST_HOME/in0"
    assert_failure 65
    assert_equal "$(jq -r .error <<<"$output")" "line 1: the line holds a NUL byte"
    assert_equal "$(mock_count oa)" 1
}

# ---- 23.4 one writer per output file ---------------------------------------

@test "two batches on one -o: the second says who holds it and exits 75; the lock goes with a killed first" {
    mock_script oa 'wait_ms=3000'
    printf '{"id":"a","prompt":"x"}\n' >"$TEST_HOME/in"
    flexiai batch -q -i "$TEST_HOME/in" -o "$TEST_HOME/out" 3>&- &
    first=$!
    # the first holds the lock once its request reached the mock
    for i in $(seq 1 500); do
        [ "$(mock_count oa)" -ge 1 ] && break
        sleep 0.02
    done
    run --separate-stderr flexiai batch -i "$TEST_HOME/in" -o "$TEST_HOME/out"
    assert_failure 75
    assert_equal "$stderr" "flexiai: $TEST_HOME/out: another flexiai batch is writing it (try later)"
    assert_equal "$(mock_count oa)" 1
    kill -9 "$first"
    wait "$first" || true
    mock_script oa ''
    run --separate-stderr flexiai batch -i "$TEST_HOME/in" -o "$TEST_HOME/out"
    assert_success
    assert_equal "$(jq -r .id "$TEST_HOME/out")" a
    # a device is no file of ours to lock: two at once to /dev/null is fine
    run flexiai batch -q -i "$TEST_HOME/in" -o /dev/null
    assert_success
}

# ---- 23.9 bounded reads -----------------------------------------------------

@test "complete --messages and chat /load refuse /dev/zero and a FIFO at once (66); a failed /load fails the script" {
    mkfifo "$TEST_HOME/fifo"
    run --separate-stderr timeout 10 flexiai complete --messages /dev/zero
    assert_failure 66
    assert_equal "$stderr" "flexiai: /dev/zero: not a regular file"
    run --separate-stderr timeout 10 flexiai complete --messages "$TEST_HOME/fifo"
    assert_failure 66
    assert_equal "$stderr" "flexiai: $TEST_HOME/fifo: not a regular file"
    run --separate-stderr timeout 10 flexiai chat <<<"/load /dev/zero"
    assert_failure 66
    [[ $stderr == *"/dev/zero: not a regular file"* ]]
    # a failed /load, then a turn that works: the script still learns of it
    run --separate-stderr timeout 10 flexiai chat <<<"/load $TEST_HOME/fifo
hello"
    assert_failure 66
    [[ $stderr == *"fifo: not a regular file"* ]]
    assert_equal "$(mock_count oa)" 1
}

@test "max_input_bytes caps stdin, --messages and a batch line; each over it is one line and 65, nothing sent" {
    printf '[defaults]\nmax_input_bytes = 2000\n' >>"$CONFIG"
    run --separate-stderr bash -c "head -c 3000 /dev/zero | tr '\\0' a | flexiai complete"
    assert_failure 65
    assert_equal "$stderr" "flexiai: stdin: more than max_input_bytes (2000 bytes; [defaults] max_input_bytes): nothing was sent"
    { printf '[{"role":"user","content":"'; head -c 3000 /dev/zero | tr '\0' a; printf '"}]'; } >"$TEST_HOME/m.json"
    run --separate-stderr flexiai complete --messages "$TEST_HOME/m.json"
    assert_failure 65
    assert_equal "$stderr" "flexiai: $TEST_HOME/m.json: more than max_input_bytes (2000 bytes; [defaults] max_input_bytes)"
    assert_equal "$(mock_count oa)" 0
    { printf '{"id":1,"prompt":"'; head -c 3000 /dev/zero | tr '\0' a; printf '"}\n{"id":2,"prompt":"ok"}\n'; } >"$TEST_HOME/in"
    run --separate-stderr flexiai batch -i "$TEST_HOME/in"
    assert_failure 65
    assert_equal "$(jq -c '[.id, .exit_code, .error]' <<<"$output" | paste -sd' ')" \
        '[1,65,"line 1: the line has 3020 bytes, more than max_input_bytes (2000)"] [2,0,null]'
    assert_equal "$(mock_count oa)" 1
    # the key is checked like any other
    printf '[defaults]\nmax_input_bytes = lots\n' >"$TEST_HOME/bad.ini"
    run flexiai complete -c "$TEST_HOME/bad.ini" hi
    assert_failure 78
    assert_output --partial "max_input_bytes"
}

# ---- 23.11 summaries --------------------------------------------------------

@test "the summary counts an item when its line is written: -o /dev/full says none answered; -i DIR names it" {
    printf '{"id":%d,"prompt":"p"}\n' 1 2 3 >"$TEST_HOME/in"
    run --separate-stderr flexiai batch -j 1 -i "$TEST_HOME/in" -o /dev/full
    assert_failure 74
    # the first answer could not be written; no other item was started
    [[ $stderr == *"flexiai: 0 answered, 0 failed, 1 not written, 0 skipped in "* ]]
    assert_equal "$(mock_count oa)" 1
    run --separate-stderr flexiai batch -i "$TEST_HOME"
    assert_failure 66
    assert_equal "$stderr" "flexiai: $TEST_HOME: is a directory"
    run --separate-stderr flexiai batch -i /dev/zero
    assert_failure 66
    assert_equal "$stderr" "flexiai: /dev/zero: not a regular file or a pipe"
    # a pipe is fine (-i <(...))
    run --separate-stderr bash -c "flexiai batch -q -i <(cat '$TEST_HOME/in')"
    assert_success
    assert_equal "${#lines[@]}" 3
}

# ---- 23.12 per-item schemas -------------------------------------------------

@test "an input line's schema cannot name a local file unless --schema-files" {
    printf '{"type":"object","properties":{"secret":{"type":"string"}}}\n' >"$TEST_HOME/secret.json"
    printf '{"id":1,"prompt":"p","schema":"%s"}\n{"id":2,"prompt":"p","schema":"/no/such.json"}\n' \
        "$TEST_HOME/secret.json" >"$TEST_HOME/in"
    run --separate-stderr flexiai batch -i "$TEST_HOME/in"
    assert_failure 65
    # the same answer whether the file exists or not; nothing sent
    assert_equal "$(jq -r .error <<<"$output" | sed 's/^line [0-9]*: //' | sort -u)" \
        "schema: a file name is not taken from the input (inline JSON or the short form; --schema-files allows files)"
    assert_equal "$(mock_count oa)" 0
    # a short form naming a file in the current directory is the short form
    cd "$TEST_HOME"
    printf '{"type":"object","properties":{"stolen":{"type":"string"}}}\n' >"$TEST_HOME/secret"
    printf '{"id":1,"prompt":"{\\"secret\\":\\"x\\"}","schema":"secret"}\n' >"$TEST_HOME/in2"
    run --separate-stderr flexiai batch -i "$TEST_HOME/in2"
    assert_success
    mock_last_body oa | grep -q secret
    ! mock_last_body oa | grep -q stolen
    # allowed by the flag
    run --separate-stderr flexiai batch --schema-files -i "$TEST_HOME/in"
    assert_equal "$(jq -r 'select(.id == 2) | .error' <<<"$output")" "line 2: schema: /no/such.json: No such file or directory"
    mock_last_body oa | grep -q '"secret"'
}

# ---- 23.11 (config) and 23.14 decisions -------------------------------------

@test "rpm = 99999999999999999999 is out of range, not 'not a whole number'" {
    printf '[provider.x]\ntype = openai\nmodel = m\napi_key = k\nrpm = 99999999999999999999\n' >"$TEST_HOME/c.ini"
    chmod 600 "$TEST_HOME/c.ini"
    run flexiai config check -c "$TEST_HOME/c.ini"
    assert_failure 78
    assert_output --partial "provider.x.rpm: 99999999999999999999 is out of range (1 to 100000000)"
    refute_output --partial "whole number"
}

@test "HTTP:// in any case is a valid base_url scheme" {
    sed -i 's|base_url = http://|base_url = HtTP://|' "$CONFIG"
    grep -q 'HtTP://' "$CONFIG"
    run --separate-stderr flexiai complete "hi"
    assert_success
    assert_output hi
}

@test "a batch item naming an unknown provider is that line's error (65), never sent; the others are answered" {
    printf '%s\n' '{"id":1,"prompt":"x","provider":"ob"}' '{"id":2,"prompt":"y"}' >"$TEST_HOME/in"
    run --separate-stderr flexiai batch -i "$TEST_HOME/in"
    assert_failure 65
    assert_equal "$(jq -c '[.id, .exit_code, .error]' <<<"$output" | paste -sd' ')" \
        "[1,65,\"line 1: no provider 'ob' (did you mean 'oa'?)\"] [2,0,null]"
    assert_equal "$(mock_count oa)" 1
}
