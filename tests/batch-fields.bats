#!/usr/bin/env bats
# batch-fields.bats - `flexiai batch` on the JSONL people have (issue 25
# point 11): the prompt and id taken from other members or a template, an
# early stop with the fields found when the first lines have no prompt, a
# resume that notices a changed request, and compaction to one line per id.

load helpers

setup() {
    setup_env
    start_mockllm
    { printf '[failover]\nretries = 0\n\n'; provider_section oa openai oa; } | write_config
}

teardown() { teardown_env; }

# tickets N: N lines {"ticket_id","subject","body"}
tickets() {
    local i
    for i in $(seq 1 "$1"); do
        printf '{"ticket_id":"T%d","subject":"s%d","body":"b%d"}\n' "$i" "$i" "$i"
    done
}

@test "--prompt-template and --id-field: the prompt from the members, the id as given" {
    tickets 3 >"$TEST_HOME/in"
    run --separate-stderr flexiai batch -i "$TEST_HOME/in" --prompt-template '{subject}: {body} {{x}}' --id-field ticket_id
    assert_success
    assert_equal "$(jq -c '[.id, .text]' <<<"$output" | paste -sd' ')" \
        '["T1","s1: b1 {x}"] ["T2","s2: b2 {x}"] ["T3","s3: b3 {x}"]'
    run --separate-stderr flexiai batch -i "$TEST_HOME/in" --prompt-field body --id-field ticket_id
    assert_success
    assert_equal "$(jq -c '[.id, .text]' <<<"$output" | paste -sd' ')" \
        '["T1","b1"] ["T2","b2"] ["T3","b3"]'
    # a line without the member is that line's error
    printf '{"ticket_id":"T9","subject":"s"}\n' >>"$TEST_HOME/in"
    run --separate-stderr flexiai batch -i "$TEST_HOME/in" --prompt-template '{subject}: {body}' --id-field ticket_id
    assert_failure 65
    assert_equal "$(jq -r 'select(.exit_code == 65) | [.id, .error] | @tsv' <<<"$output")" \
        "$(printf 'T9\tline 4: no "body" for --prompt-template')"
    assert_equal "$(mock_count oa)" 9
    # one or the other
    run flexiai batch --prompt-field body --prompt-template '{a}'
    assert_failure 64
}

@test "when the first lines all lack a prompt: one line with the fields found, exit 65, nothing sent or written" {
    tickets 50 >"$TEST_HOME/in"
    run --separate-stderr flexiai batch -i "$TEST_HOME/in" -o "$TEST_HOME/out"
    assert_failure 65
    assert_equal "$output" ""
    assert_equal "$stderr" "flexiai: the first 5 lines: no prompt (give \"prompt\" or \"messages\"); fields found: ticket_id, subject, body (use --prompt-field NAME or --prompt-template '{NAME}: {NAME}'); nothing was sent"
    [ ! -s "$TEST_HOME/out" ]
    assert_equal "$(mock_count oa)" 0
    # fewer lines than that, all without a prompt: the same
    tickets 2 | {
        run --separate-stderr flexiai batch
        assert_failure 65
        [[ $stderr == "flexiai: the first 2 lines: no prompt"*"fields found: ticket_id, subject, body"* ]]
    }
    # a line with a prompt first: the others are bad lines as before
    { printf '{"id":"ok","prompt":"p"}\n'; tickets 6; } >"$TEST_HOME/in2"
    run --separate-stderr flexiai batch -q -i "$TEST_HOME/in2"
    assert_failure 65
    assert_equal "${#lines[@]}" 7
    assert_equal "$(mock_count oa)" 1
}

@test "resume warns when the answered items were for another prompt or options, and says how to start fresh" {
    tickets 3 >"$TEST_HOME/in"
    run --separate-stderr flexiai batch -i "$TEST_HOME/in" -o "$TEST_HOME/out" --prompt-template '{subject}: {body}' --id-field ticket_id
    assert_success
    assert_equal "$(jq -r .fingerprint "$TEST_HOME/out" | grep -c '^[0-9a-f]\{16\}$')" 3
    # the same request: skipped without a word
    run --separate-stderr flexiai batch -i "$TEST_HOME/in" -o "$TEST_HOME/out" --prompt-template '{subject}: {body}' --id-field ticket_id
    assert_success
    assert_equal "$stderr" "flexiai: 0 answered, 0 failed, 3 skipped in ${stderr##* in }"
    # how long to wait or whether to stream is not another request
    run --separate-stderr flexiai batch -i "$TEST_HOME/in" -o "$TEST_HOME/out" --prompt-template '{subject}: {body}' --id-field ticket_id --timeout 30 --stream
    assert_success
    assert_equal "$(grep -c warning <<<"$stderr")" 0
    # another prompt, then other options: one warning naming the file
    for change in "--prompt-field body" "--prompt-template {subject}:_{body} -t 0.1"; do
        run --separate-stderr flexiai batch -i "$TEST_HOME/in" -o "$TEST_HOME/out" --id-field ticket_id $change
        assert_success
        assert_equal "$(grep -c warning <<<"$stderr")" 1
        assert_equal "$(grep warning <<<"$stderr")" "flexiai: warning: 3 items skipped as answered (id \"T1\", ...) had another prompt, schema or options in the run that wrote $TEST_HOME/out: their old answers are kept; to start fresh, give another -o FILE (or remove this one)"
    done
    assert_equal "$(mock_count oa)" 3
}

@test "--compact FILE: one line per id, the last answer kept over failures; a batch writing it is waited for" {
    mock_script oa 'status=503'
    tickets 3 >"$TEST_HOME/in"
    run --separate-stderr flexiai batch -i "$TEST_HOME/in" -o "$TEST_HOME/out" --prompt-field body --id-field ticket_id
    assert_failure 75
    mock_script oa ''
    run --separate-stderr flexiai batch -i "$TEST_HOME/in" -o "$TEST_HOME/out" --prompt-field body --id-field ticket_id
    assert_success
    echo '{"id":"torn' >>"$TEST_HOME/out"
    assert_equal "$(wc -l <"$TEST_HOME/out")" 7
    run --separate-stderr flexiai batch --compact "$TEST_HOME/out"
    assert_success
    assert_equal "$stderr" "flexiai: $TEST_HOME/out: 7 lines, one for each of 3 ids (4 dropped)"
    assert_equal "$(jq -c '[.id, .exit_code]' "$TEST_HOME/out" | paste -sd' ')" '["T1",0] ["T2",0] ["T3",0]'
    # compacted, it still resumes
    run --separate-stderr flexiai batch -i "$TEST_HOME/in" -o "$TEST_HOME/out" --prompt-field body --id-field ticket_id
    assert_success
    assert_equal "$(mock_count oa)" 6
    # not while a batch writes it
    mock_script oa 'wait_ms=3000'
    printf '{"id":"new","prompt":"x"}\n' >"$TEST_HOME/in2"
    flexiai batch -q -i "$TEST_HOME/in2" -o "$TEST_HOME/out" 3>&- &
    pid=$!
    for i in $(seq 1 500); do
        [ "$(mock_count oa)" -ge 7 ] && break
        sleep 0.02
    done
    run --separate-stderr flexiai batch --compact "$TEST_HOME/out"
    assert_failure 75
    assert_equal "$stderr" "flexiai: $TEST_HOME/out: a flexiai batch is writing it (try later)"
    kill "$pid"
    wait "$pid" || true
}
