#!/usr/bin/env bats
# batch.bats - `flexiai batch` as a pipeline sees it: one JSON line per
# item, in order or not, resumable, bad lines kept apart, per-item
# failover through the shared breakers, rate limits shared by processes,
# signals and full disks handled without half lines.

load helpers

# items N [PREFIX]: N JSONL items with ids PREFIX1..N and prompts "item i"
items() {
    local i
    for i in $(seq 1 "$1"); do
        printf '{"id":"%s%d","prompt":"item %d"}\n' "${2:-t}" "$i" "$i"
    done
}

# answered FILE: ids of the successful lines, sorted
answered() { jq -r 'select(.exit_code == 0) | .id' "$1" | sort; }

# max_in_window ROUTE MS: the most requests the route saw in any MS window
max_in_window() {
    mock_log "$1" | jq --argjson w "$2" '[.times as $t | range(0; $t | length) as $i |
        [$t[] | select(. >= $t[$i] and . <= $t[$i] + $w)] | length] | max // 0'
}

one_provider() {
    start_mockllm "$@"
    provider_section primary openai primary | write_config
}

@test "each item is one JSON line with its id and complete --json's fields, in input order" {
    one_provider
    items 5 >"$TEST_HOME/in.jsonl"
    run flexiai batch -q -i "$TEST_HOME/in.jsonl"
    assert_success
    [ "${#lines[@]}" -eq 5 ]
    assert_equal "$(jq -r .id <<<"$output" | tr '\n' ' ')" "t1 t2 t3 t4 t5 "
    assert_equal "$(jq -r .text <<<"$output" | head -1)" "item 1"
    for k in text provider model finish_reason usage latency_ms attempts invalid_utf8_replaced exit_code; do
        assert_equal "$(jq -c "has(\"$k\")" <<<"${lines[0]}")" true
    done
    # flexiai batch is a command of the front, with its own help
    run flexiai help batch
    assert_success
    assert_output --partial "--unordered"
}

@test "--ordered keeps input order while items finish out of order; --unordered writes them as they finish" {
    start_mockllm --script 'slow=wait_ms=600'
    { provider_section fast openai fast; provider_section slow openai slow; } | write_config
    input='{"id":1,"prompt":"a","provider":"slow"}
{"id":2,"prompt":"b"}
{"id":3,"prompt":"c"}
{"id":4,"prompt":"d"}'
    run flexiai batch -q -j 4 <<<"$input"
    assert_success
    assert_equal "$(jq -r .id <<<"$output" | tr '\n' ' ')" "1 2 3 4 "
    assert_equal "$(jq -r .provider <<<"${lines[0]}")" slow
    run flexiai batch -q -j 4 --unordered <<<"$input"
    assert_success
    assert_equal "$(jq -r .id <<<"${lines[3]}")" 1
    [ "$(jq -r .id <<<"$output" | sort | tr '\n' ' ')" = "1 2 3 4 " ]
}

@test "ids default to the line number; --text lines are prompts; PROMPT goes before each, after a blank line" {
    one_provider
    run flexiai batch "Label:" <<<'{"prompt":"x"}

{"prompt":"y","id":7}'
    assert_success
    assert_equal "$(jq -r .id <<<"$output" | tr '\n' ' ')" "1 7 "
    assert_equal "$(jq -r .text <<<"${lines[0]}")" "$(printf 'Label:\n\nx')"
    run flexiai batch --text "Classify:" <<<'first ticket
second ticket'
    assert_success
    assert_equal "$(jq -r .id <<<"${lines[1]}")" 2
    assert_equal "$(jq -r .text <<<"${lines[1]}")" "$(printf 'Classify:\n\nsecond ticket')"
}

@test "per-item system, model, temperature, max_tokens and messages reach the request" {
    one_provider
    run flexiai batch -t 0.3 <<<'{"id":"m","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}],"model":"other-model","temperature":0.1,"max_tokens":5}'
    assert_success
    body=$(mock_last_body primary)
    assert_equal "$(jq -r .model <<<"$body")" other-model
    assert_equal "$(jq -r .temperature <<<"$body")" 0.1
    assert_equal "$(jq -r .max_tokens <<<"$body")" 5
    assert_equal "$(jq -r '.messages[0].content' <<<"$body")" "be brief"
    run flexiai batch -t 0.3 <<<'{"prompt":"x","system":"S"}'
    body=$(mock_last_body primary)
    assert_equal "$(jq -r .temperature <<<"$body")" 0.3
    assert_equal "$(jq -r '.messages[0].content' <<<"$body")" S
}

@test "bad lines get their own line with exit_code 65 and never stop the batch" {
    one_provider
    run flexiai batch <<<'{"id":"a","prompt":"fine"}
not json
{"id":"b"}
{"id":{"x":1},"prompt":"p"}
{"id":"c","prompt":"also fine","temperature":"hot"}
{"id":"d","prompt":"last"}'
    assert_failure 65
    [ "${#lines[@]}" -ge 6 ]
    out=$(grep '^{' <<<"$output")
    assert_equal "$(jq -r '[.id, .exit_code] | @tsv' <<<"$out" | tr '\t\n' ': ')" "a:0 2:65 b:65 4:65 c:65 d:0 "
    assert_equal "$(jq -r 'select(.id == 2) | .error' <<<"$out")" "line 2: not a JSON object"
    assert_equal "$(jq -r 'select(.id == "b") | .error' <<<"$out")" 'line 3: no prompt (give "prompt" or "messages")'
    assert_line --partial "2 answered, 0 failed, 4 bad lines, 0 skipped in"
    assert_equal "$(mock_count primary)" 2
}

@test "-o FILE: a second run skips what was answered and retries what failed" {
    start_mockllm --script 'primary=status=503,fail_first=3'
    printf '[failover]\nretries = 0\n\n' | write_config
    provider_section primary openai primary >>"$CONFIG"
    items 10 >"$TEST_HOME/in.jsonl"
    run flexiai batch -j 1 -i "$TEST_HOME/in.jsonl" -o "$TEST_HOME/out.jsonl"
    assert_failure 75
    assert_output --partial "flexiai: 7 answered, 3 failed (overloaded), 0 skipped in"
    run flexiai batch -j 1 -i "$TEST_HOME/in.jsonl" -o "$TEST_HOME/out.jsonl"
    assert_success
    assert_output --partial "flexiai: 3 answered, 0 failed, 7 skipped in"
    assert_equal "$(answered "$TEST_HOME/out.jsonl" | wc -l)" 10
    assert_equal "$(answered "$TEST_HOME/out.jsonl" | uniq -d)" ""
    assert_equal "$(mock_count primary)" 13
    # -q: no summary
    run flexiai batch -q -i "$TEST_HOME/in.jsonl" -o "$TEST_HOME/out.jsonl"
    assert_success
    assert_output ""
}

@test "kill -9 mid-run, then the same command: no item lost, none answered twice" {
    # slow answers, so that the kill comes mid-run however slowly this
    # test sees the first ones (the rest would take 7 s)
    start_mockllm --script 'primary=wait_ms=500'
    provider_section primary openai primary | write_config
    items 60 >"$TEST_HOME/in.jsonl"
    : >"$TEST_HOME/out.jsonl"
    flexiai batch -j 4 -i "$TEST_HOME/in.jsonl" -o "$TEST_HOME/out.jsonl" 2>/dev/null 3>&- &
    pid=$!
    wait_lines "$TEST_HOME/out.jsonl" '"exit_code":0' 8
    kill -9 "$pid"
    wait "$pid" || :
    mock_script primary ""
    before=$(answered "$TEST_HOME/out.jsonl" | wc -l)
    assert [ "$before" -lt 60 ]
    # every line in the file is whole JSON
    run jq -c . "$TEST_HOME/out.jsonl"
    assert_success
    run flexiai batch -j 4 -i "$TEST_HOME/in.jsonl" -o "$TEST_HOME/out.jsonl"
    assert_success
    assert_output --partial "$((60 - before)) answered, 0 failed, $before skipped"
    assert_equal "$(answered "$TEST_HOME/out.jsonl" | wc -l)" 60
    assert_equal "$(answered "$TEST_HOME/out.jsonl" | uniq -d)" ""
    assert_equal "$(answered "$TEST_HOME/out.jsonl")" "$(jq -r .id "$TEST_HOME/in.jsonl" | sort)"
}

@test "SIGINT: no new items, in-flight ones cancelled, finished lines written, exit 130; a second run resumes" {
    # a second per answer: the signal comes mid-run however slowly this
    # test sees the first ones (the rest would take 9 s)
    start_mockllm --script 'primary=wait_ms=1000'
    provider_section primary openai primary | write_config
    items 40 >"$TEST_HOME/in.jsonl"
    : >"$TEST_HOME/out.jsonl"
    flexiai batch -j 4 -i "$TEST_HOME/in.jsonl" -o "$TEST_HOME/out.jsonl" 2>"$TEST_HOME/err" 3>&- &
    pid=$!
    wait_lines "$TEST_HOME/out.jsonl" '"exit_code":0' 4
    kill -INT "$pid"
    rc=0
    wait "$pid" || rc=$?
    assert_equal "$rc" 130
    run cat "$TEST_HOME/err"
    assert_output --regexp "interrupted"
    n=$(wc -l <"$TEST_HOME/out.jsonl")
    assert [ "$n" -lt 40 ]
    # interrupted items are not written: every line is an answer
    assert_equal "$(answered "$TEST_HOME/out.jsonl" | wc -l)" "$n"
    requests=$(mock_count primary)
    assert [ "$requests" -lt 40 ]
    mock_script primary ""
    run flexiai batch -j 8 -i "$TEST_HOME/in.jsonl" -o "$TEST_HOME/out.jsonl"
    assert_success
    assert_equal "$(answered "$TEST_HOME/out.jsonl" | wc -l)" 40
    assert_equal "$(answered "$TEST_HOME/out.jsonl" | uniq -d)" ""
}

@test "SIGTERM is handled like SIGINT: exit 130, only whole answers in the file" {
    # a second per answer: the signal comes mid-run however slowly this
    # test sees the first ones (the rest would take 9 s)
    start_mockllm --script 'primary=wait_ms=1000'
    provider_section primary openai primary | write_config
    items 20 >"$TEST_HOME/in.jsonl"
    : >"$TEST_HOME/out.jsonl"
    flexiai batch -j 2 -i "$TEST_HOME/in.jsonl" -o "$TEST_HOME/out.jsonl" 2>/dev/null 3>&- &
    pid=$!
    wait_lines "$TEST_HOME/out.jsonl" '"exit_code":0' 2
    kill -TERM "$pid"
    rc=0
    wait "$pid" || rc=$?
    assert_equal "$rc" 130
    assert [ "$(wc -l <"$TEST_HOME/out.jsonl")" -lt 20 ]
    assert_equal "$(answered "$TEST_HOME/out.jsonl" | wc -l)" "$(wc -l <"$TEST_HOME/out.jsonl")"
}

@test "a breaker that opens mid-batch reroutes the remaining items at once" {
    start_mockllm --script 'primary=status=500'
    printf '[failover]\nretries = 0\n\n[breaker]\nfailure_threshold = 3\n\n' | write_config
    { provider_section primary openai primary; provider_section secondary openai secondary; } >>"$CONFIG"
    items 20 >"$TEST_HOME/in.jsonl"
    run flexiai batch -j 2 -i "$TEST_HOME/in.jsonl"
    assert_success
    out=$(grep '^{' <<<"$output")
    assert_equal "$(jq -r .provider <<<"$out" | sort -u)" secondary
    # three failures open it; at most one more was already in flight
    n=$(mock_count primary)
    assert [ "$n" -ge 3 ]
    assert [ "$n" -le 4 ]
    assert_equal "$(mock_count secondary)" 20
    [ "$(jq -r 'select(.attempts[0].outcome == "skipped") | .id' <<<"$out" | wc -l)" -ge 16 ]
    assert_equal "$(jq -r '.attempts[0].error_class' <<<"${lines[19]}")" breaker_open
    run flexiai breaker status --json primary
    assert_equal "$(jq -r '.[0].state' <<<"$output")" open
}

@test "half-open: one probe across two concurrent batches" {
    start_mockllm --script 'primary=status=500' --script 'secondary=wait_ms=150'
    printf '[failover]\nretries = 0\n\n[breaker]\nfailure_threshold = 1\nrecovery_timeout = 60\n\n' | write_config
    { provider_section primary openai primary; provider_section secondary openai secondary; } >>"$CONFIG"
    flexiai breaker open primary --for 1s
    items 40 a >"$TEST_HOME/a.jsonl"
    items 40 b >"$TEST_HOME/b.jsonl"
    flexiai batch -j 4 -i "$TEST_HOME/a.jsonl" -o "$TEST_HOME/a.out" 2>/dev/null 3>&- &
    pa=$!
    flexiai batch -j 4 -i "$TEST_HOME/b.jsonl" -o "$TEST_HOME/b.out" 2>/dev/null 3>&- &
    pb=$!
    wait "$pa"
    wait "$pb"
    # the batches outlived the open period: exactly one probe went out
    assert_equal "$(mock_count primary)" 1
    assert_equal "$(cat "$TEST_HOME/a.out" "$TEST_HOME/b.out" | jq -r 'select(.attempts[0].probe) | .id' | wc -l)" 1
    assert_equal "$(answered "$TEST_HOME/a.out" | wc -l)" 40
    assert_equal "$(answered "$TEST_HOME/b.out" | wc -l)" 40
}

@test "rpm holds across two concurrent batch processes (mockllm's log: never more than rpm in a window)" {
    start_mockllm
    # a short window for speed.  Requests arrive some time after their
    # grant (the first burst also opens its connections), seconds later on
    # a loaded machine: the check allows four seconds of that (any 6 s of
    # arrivals in a 10 s window), and a limit not shared by the two
    # processes would still show 12 at once
    printf '[failover]\nlimit_window = 10\nlimit_wait_max = 60\n\n' | write_config
    provider_section primary openai primary "rpm = 6" >>"$CONFIG"
    items 6 a >"$TEST_HOME/a.jsonl"
    items 6 b >"$TEST_HOME/b.jsonl"
    flexiai batch -j 6 -i "$TEST_HOME/a.jsonl" -o "$TEST_HOME/a.out" 2>/dev/null 3>&- &
    pa=$!
    flexiai batch -j 6 -i "$TEST_HOME/b.jsonl" -o "$TEST_HOME/b.out" 2>/dev/null 3>&- &
    pb=$!
    wait "$pa"
    wait "$pb"
    assert_equal "$(answered "$TEST_HOME/a.out" | wc -l)" 6
    assert_equal "$(answered "$TEST_HOME/b.out" | wc -l)" 6
    assert_equal "$(mock_count primary)" 12
    # paced (a burst of 1, then one every 10/6 s): a limit not shared by
    # the two processes would show 8 or more
    [ "$(max_in_window primary 6000)" -le 6 ]
}

@test "rpm in Redis: two batches count against one window" {
    start_mockllm
    start_redis
    # as above: any 5 s of arrivals, in a window of 6
    printf '[failover]\nlimit_window = 6\nlimit_wait_max = 60\n\n[sync]\nbackend = redis\nredis_url = redis://127.0.0.1:%s\n\n' "$REDIS_PORT" | write_config
    provider_section primary openai primary "rpm = 6" >>"$CONFIG"
    items 6 a >"$TEST_HOME/a.jsonl"
    items 6 b >"$TEST_HOME/b.jsonl"
    flexiai batch -j 6 -i "$TEST_HOME/a.jsonl" -o "$TEST_HOME/a.out" 2>"$TEST_HOME/a.err" 3>&- &
    pa=$!
    XDG_STATE_HOME=$TEST_HOME/other-host flexiai batch -j 6 -i "$TEST_HOME/b.jsonl" -o "$TEST_HOME/b.out" 2>"$TEST_HOME/b.err" 3>&- &
    pb=$!
    wait "$pa"
    wait "$pb"
    # neither fell back to its own file store
    run cat "$TEST_HOME/a.err" "$TEST_HOME/b.err"
    refute_output --partial "file store"
    refute_output --partial "not counted"
    assert_equal "$(mock_count primary)" 12
    # paced, so a window may hold fewer; two unshared limits would let
    # about twice as many through
    [ "$(max_in_window primary 5000)" -le 6 ]
    [ -n "$(redis_cli get flexiai:limit:primary)" ]
}

@test "a request over the limit waits up to limit_wait_max, else goes to the next provider without traffic" {
    start_mockllm
    printf '[failover]\nlimit_window = 60\nlimit_wait_max = 0\n\n' | write_config
    { provider_section primary openai primary "rpm = 2"; provider_section secondary openai secondary; } >>"$CONFIG"
    run flexiai batch -j 1 <<<"$(items 4)"
    assert_success
    # rpm 2: a burst of one, the next in 30 s; batch waits only on the
    # last provider it may try
    assert_equal "$(mock_count primary)" 1
    assert_equal "$(mock_count secondary)" 3
    assert_equal "$(jq -r '.attempts[0].error_class' <<<"${lines[3]}")" rate_limited_local
    # complete counts against the same window
    run flexiai complete -p primary --json x </dev/null
    assert_failure 75
    assert_equal "$(jq -r '.attempts[0].error_class' <<<"$output")" rate_limited_local
    assert_equal "$(mock_count primary)" 1
}

@test "tpm: the estimate (prompt bytes / 4 + max_tokens) is corrected with the reported usage" {
    start_mockllm
    # paced at 12 tokens a second: a request that used 4 waits 1/3 s
    printf '[failover]\nlimit_window = 10\nlimit_wait_max = 3\n\n' | write_config
    provider_section primary openai primary "tpm = 120" >>"$CONFIG"
    # 400 bytes, two words: estimated 100 + 1 tokens, reported 4
    long=$(printf 'a%.0s' $(seq 1 397))
    for i in 1 2 3 4 5; do printf '{"id":%d,"prompt":"%s b"}\n' "$i" "$long"; done >"$TEST_HOME/in.jsonl"
    run flexiai batch -j 1 --max-tokens 1 -i "$TEST_HOME/in.jsonl"
    assert_success
    assert_equal "$(mock_count primary)" 5
    # without usage the estimate stays: the second request would pass tpm
    # (complete: batch would wait for the window)
    mock_script primary no_usage
    run flexiai complete --max-tokens 1 "$long b" </dev/null
    assert_success
    run flexiai complete --max-tokens 1 --json "$long b" </dev/null
    assert_failure 75
    assert_equal "$(mock_count primary)" 6
    assert_equal "$(jq -r '.attempts[0].error_class' <<<"$(grep '^{' <<<"$output")")" rate_limited_local
}

@test "max_concurrency caps a provider's requests in flight" {
    start_mockllm --script 'primary=wait_ms=200'
    provider_section primary openai primary "max_concurrency = 2" | write_config
    items 6 >"$TEST_HOME/in.jsonl"
    run flexiai batch -j 6 -i "$TEST_HOME/in.jsonl"
    assert_success
    # two at a time: a request can only arrive once one of the two before
    # it was answered, which mockllm does 200 ms after its arrival
    # (however loaded the machine, the gap only grows)
    run jq '.times as $t | [range(2; $t | length) | $t[.] - $t[. - 2]] | min | floor' <<<"$(mock_log primary)"
    assert [ "$output" -ge 199 ]
    # and not one at a time: some two arrived less than 200 ms apart
    run jq '.times as $t | [range(1; $t | length) | $t[.] - $t[. - 1]] | min | floor' <<<"$(mock_log primary)"
    assert [ "$output" -lt 200 ]
}

@test "every provider type answers, streamed or not" {
    start_mockllm
    for type in openai anthropic gemini vertex; do
        provider_section "$type" "$type" "$type" | write_config
        run flexiai batch --text <<<'one
two'
        assert_success
        assert_equal "$(jq -r .text <<<"${lines[1]}")" two
        assert_equal "$(jq -r .provider <<<"${lines[1]}")" "$type"
        run flexiai batch --stream --text <<<'three
four'
        assert_success
        assert_equal "$(jq -r .text <<<"${lines[1]}")" four
        assert_equal "$(mock_log "$type" | jq -r .streamed)" 2
    done
}

@test "-o on a full disk: exit 74, one line on stderr, never a partial line" {
    one_provider
    items 3 >"$TEST_HOME/in.jsonl"
    run flexiai batch -i "$TEST_HOME/in.jsonl" -o /dev/full
    assert_failure 74
    assert_line --partial "flexiai: /dev/full: No space left on device"
    # a file size limit cuts a write short: the piece is taken back
    run bash -c "ulimit -f 1; exec flexiai batch -i '$TEST_HOME/in.jsonl' -o '$TEST_HOME/out.jsonl'"
    assert_failure 74
    assert_line --partial "File too large"
    [ -s "$TEST_HOME/out.jsonl" ]
    assert_equal "$(tail -c 1 "$TEST_HOME/out.jsonl" | od -An -c | tr -d ' ')" '\n'
    run jq -c . "$TEST_HOME/out.jsonl"
    assert_success
    # cannot create it at all: 73
    run flexiai batch -i "$TEST_HOME/in.jsonl" -o "$TEST_HOME/no/such/dir/out"
    assert_failure 73
}

@test "exit codes: 75 when a failure was transient, 77 credentials, 69 mixed" {
    start_mockllm --script 'primary=status=503'
    printf '[failover]\nretries = 0\n\n[breaker]\nfailure_threshold = 100\n\n' | write_config
    provider_section primary openai primary >>"$CONFIG"
    run flexiai batch <<<"$(items 3)"
    assert_failure 75
    assert_line --partial "0 answered, 3 failed (overloaded), 0 skipped"
    mock_script primary 'status=401'
    run flexiai batch <<<"$(items 2)"
    assert_failure 77
    mock_script primary 'status=401,fail_every=2'
    run flexiai batch -j 1 <<<"$(items 2)"
    assert_failure 77
    # transient on one provider, credentials on another: one item may pass
    # when run again, so 75 (it resumes)
    mock_script primary 'status=503'
    mock_script other 'status=401'
    provider_section other openai other >>"$CONFIG"
    run flexiai batch -j 1 <<<"$(printf '{"prompt":"x","provider":"primary"}\n{"prompt":"y","provider":"other"}\n')"
    assert_failure 75
    # none may: credentials on one, a refused request on the other: 69
    mock_script primary 'status=400'
    run flexiai batch -j 1 <<<"$(printf '{"prompt":"x","provider":"primary"}\n{"prompt":"y","provider":"other"}\n')"
    assert_failure 69
    # an item naming no configured provider is a bad line of its own (65)
    run flexiai batch -j 1 <<<"$(printf '{"prompt":"y","provider":"nope"}\n')"
    assert_failure 65
}

@test "progress: a line on stderr with done/total, rate, failures and providers; nothing but the summary otherwise" {
    one_provider
    items 5 >"$TEST_HOME/in.jsonl"
    run flexiai batch --progress=yes -i "$TEST_HOME/in.jsonl" -o "$TEST_HOME/out.jsonl"
    assert_success
    assert_output --partial "5/5 done"
    assert_output --partial "primary 5"
    run flexiai batch -i "$TEST_HOME/in.jsonl" -o "$TEST_HOME/out2.jsonl"
    assert_success
    assert_output --regexp '^flexiai: 5 answered, 0 failed, 0 skipped in [0-9.]+ s$'
    run flexiai batch --progress=maybe
    assert_failure 64
    run flexiai batch -j 0
    assert_failure 64
}

# structured output: two providers, a repair retry each, quick backoff
schema_providers() {
    start_mockllm
    {
        printf '[failover]\nretries = 1\nbackoff_base = 0.01\nbackoff_max = 0.05\n\n'
        provider_section a openai a
        provider_section b anthropic b
    } | write_config
}
# percent-encode commas for mockllm script values
enc() { sed 's/%/%25/g; s/,/%2C/g' <<<"$1"; }
GOOD='{"severity":"low","summary":"disk ok"}'
SPEC='severity, summary: one line'

@test "--schema: the primary answers prose, each item is repaired once, then fails over; every line has data" {
    schema_providers
    mock_script a "reply=Sure! Here is the classification."
    mock_script b "reply=$(enc "$GOOD")"
    run --separate-stderr flexiai batch -j 2 --schema "$SPEC" <<<"$(items 3)"
    assert_success
    [ "${#lines[@]}" -eq 3 ]
    assert_equal "$(jq -r .id <<<"$output" | tr '\n' ' ')" "t1 t2 t3 "
    assert_equal "$(jq -c .data <<<"$output" | sort -u)" "$GOOD"
    assert_equal "$(jq -r .schema_valid <<<"$output" | sort -u)" true
    assert_equal "$(jq -r '[.attempts[].outcome] | join(",")' <<<"$output" | sort -u)" retry,error,success
    assert_equal "$(jq -r '.attempts[0].error_class' <<<"$output" | sort -u)" invalid_output
    assert_equal "$(mock_count a)" 6
    assert_equal "$(mock_count b)" 3
    # what is sent carries the schema, not streamed even when asked for
    mock_reset
    mock_script b "reply=$(enc "$GOOD")"
    run --separate-stderr flexiai batch --stream -p b --schema "$SPEC" <<<"$(items 1)"
    assert_success
    assert_equal "$(mock_last_body b | jq -c .output_config.format.schema.required)" '["severity","summary"]'
    assert_equal "$(mock_last_body b | jq -r .stream)" null
    # --schema-multi: data is the array
    mock_script b "reply=$(enc '{"items":[{"name":"x"},{"name":"y"}]}')"
    run --separate-stderr flexiai batch -p b --schema-multi name <<<"$(items 2)"
    assert_success
    assert_equal "$(jq -c .data <<<"$output" | sort -u)" '[{"name":"x"},{"name":"y"}]'
}

@test "a bad --schema is refused up front with complete's exit codes, nothing read or sent" {
    schema_providers
    run --separate-stderr flexiai batch --schema '{"type":"object","dependencies":{"a":["b"]}}' <<<"$(items 2)"
    assert_failure 64
    assert_equal "$output" ""
    [[ "$stderr" == *'unsupported keyword "dependencies"'* ]]
    run --separate-stderr flexiai batch --schema-multi 'name, age integr' <<<"$(items 2)"
    assert_failure 64
    run --separate-stderr flexiai batch --schema "$TEST_HOME/nope.json" <<<"$(items 2)"
    assert_failure 66
    assert_equal "$output" ""
    printf 'not a schema\n' >"$TEST_HOME/s.json"
    run --separate-stderr flexiai batch --schema "$TEST_HOME/s.json" -o "$TEST_HOME/out.jsonl" <<<"$(items 2)"
    assert_failure 65
    [ ! -e "$TEST_HOME/out.jsonl" ]
    assert_equal "$(mock_count a)" 0
    run flexiai batch --help
    assert_output --partial "--schema-multi SPEC"
}

@test "an item's own schema (object or SPEC string) wins over --schema; items without one keep it" {
    one_provider # answers with the prompt: the prompt is the JSON
    {
        printf '%s\n' '{"id":"g","prompt":"{\"name\":\"x\"}"}'
        printf '%s\n' '{"id":"o","prompt":"{\"n\":1}","schema":{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}}'
        printf '%s\n' '{"id":"s","prompt":"{\"n\":2,\"tags\":[\"a\"]}","schema":"n int, tags [str]"}'
        printf '%s\n' '{"id":"w","prompt":"{\"name\":\"x\"}","schema":"n int"}'
    } >"$TEST_HOME/in.jsonl"
    run --separate-stderr flexiai batch -j 1 --schema name -i "$TEST_HOME/in.jsonl"
    assert_failure 76
    assert_equal "${lines[0]}" "$(jq -c . <<<"${lines[0]}")"
    assert_equal "$(jq -c '[.id, .data, .schema_valid, .exit_code]' <<<"$output" | tr '\n' ' ')" \
        '["g",{"name":"x"},true,0] ["o",{"n":1},true,0] ["s",{"n":2,"tags":["a"]},true,0] ["w",null,false,76] '
    [[ "$(jq -r 'select(.id == "w") | .attempts[0].validation_error' <<<"$output")" == *'"n"'* ]]
    # the schema sent is the item's own
    assert_equal "$(mock_last_body primary | jq -c .response_format.json_schema.schema.required)" '["n"]'
    # without --schema: an item with one gets data, the others plain text
    printf '%s\n' '{"id":1,"prompt":"hello"}' '{"id":2,"prompt":"{\"n\":3}","schema":"n int"}' >"$TEST_HOME/in2.jsonl"
    run --separate-stderr flexiai batch -i "$TEST_HOME/in2.jsonl"
    assert_success
    assert_equal "$(jq -c '[.text, has("data"), has("schema_valid")]' <<<"${lines[0]}")" '["hello",false,false]'
    assert_equal "$(jq -c '[.data, .schema_valid]' <<<"${lines[1]}")" '[{"n":3},true]'
}

@test "a bad schema in one line is that line's error (65); the other items are answered" {
    one_provider
    {
        printf '%s\n' '{"id":1,"prompt":"{\"n\":1}","schema":"n int"}'
        printf '%s\n' '{"id":2,"prompt":"x","schema":{"type":"object","dependencies":{"a":["b"]}}}'
        printf '%s\n' '{"id":3,"prompt":"x","schema":"{not json"}'
        printf '%s\n' '{"id":4,"prompt":"x","schema":42}'
        printf '%s\n' "{\"id\":5,\"prompt\":\"x\",\"schema\":\"$TEST_HOME/nope.json\"}"
        printf '%s\n' '{"id":6,"prompt":"{\"n\":6}","schema":"n int"}'
    } >"$TEST_HOME/in.jsonl"
    run --separate-stderr flexiai batch -i "$TEST_HOME/in.jsonl"
    assert_failure 65
    [ "${#lines[@]}" -eq 6 ]
    assert_equal "$(jq -c '[.id, .exit_code]' <<<"$output" | tr '\n' ' ')" '[1,0] [2,65] [3,65] [4,65] [5,65] [6,0] '
    assert_equal "$(jq -c .data <<<"${lines[5]}")" '{"n":6}'
    [[ "$(jq -r .error <<<"${lines[1]}")" == 'line 2: schema: '*'unsupported keyword "dependencies"'* ]]
    [[ "$(jq -r .error <<<"${lines[3]}")" == *'schema must be a JSON Schema object or a SPEC string'* ]]
    # a file name from the input is not read (--schema-files allows it)
    [[ "$(jq -r .error <<<"${lines[4]}")" == *'a file name is not taken from the input'* ]]
    [[ "$stderr" == *'line 3: schema: '* ]]
    assert_equal "$(mock_count primary)" 2
    run --separate-stderr flexiai batch --schema-files -i "$TEST_HOME/in.jsonl"
    [[ "$(jq -r .error <<<"${lines[4]}")" == *nope.json*'No such file'* ]]
}

@test "--schema: no provider's answer ever matched: every line 76, the batch exits 76" {
    schema_providers
    mock_script a "reply=Sure! Here is the classification."
    mock_script b "reply=$(enc '{"severity":"urgent"')"
    run --separate-stderr flexiai batch --schema "$SPEC" <<<"$(items 3)"
    assert_failure 76
    [ "${#lines[@]}" -eq 3 ]
    assert_equal "$(jq -c '[.exit_code, .schema_valid, has("data")]' <<<"$output" | sort -u)" '[76,false,false]'
    [[ "$stderr" == *'0 answered, 3 failed (invalid_output)'* ]]
}
