#!/usr/bin/env bats
# deferred.bats - `flexiai batch --deferred` and its jobs against mockllm's
# batch APIs (tests/mockllm/mockllm-batchapi.c): the job recorded before
# the submission returns, status, wait, fetch in the live batch's line
# format with the batch discount, resume, failed and expired items run
# live or resubmitted, cancel, and a job file that is not one.

load helpers

# items N: N JSONL items with ids t1..tN and prompts "item i"
items() {
    local i
    for i in $(seq 1 "$1"); do
        printf '{"id":"t%d","prompt":"item %d"}\n' "$i" "$i"
    done
}

# batchapi ROUTE SPEC: the route's batch job behaviour
batchapi() { curl -sf -X POST --data-binary "$2" "$MOCK_URL/_batchapi/$1" >/dev/null; }
batchapi_log() { curl -sf "$MOCK_URL/_batchapi/$1"; }

setup() {
    setup_env
    start_mockllm
    {
        provider_section oa openai oa "price_input = 2" "price_output = 8"
        provider_section an anthropic an "price_input = 3" "price_output = 15"
    } | write_config
    items 3 >"$TEST_HOME/in.jsonl"
    JOBS=$XDG_STATE_HOME/flexiai/jobs
}

@test "submit, killed after the id: status, wait, fetch with the discount and the deferred mark" {
    batchapi oa polls=2
    # the id on stdout, the process killed as soon as it is there
    flexiai batch --deferred -i "$TEST_HOME/in.jsonl" -o "$TEST_HOME/out.jsonl" \
        >"$TEST_HOME/id" 2>"$TEST_HOME/err" &
    local pid=$! i
    for i in $(seq 1 500); do
        [ -s "$TEST_HOME/id" ] && break
        sleep 0.01
    done
    kill -9 "$pid" 2>/dev/null || true
    wait "$pid" || true
    JOB=$(cat "$TEST_HOME/id")
    [ -n "$JOB" ]
    # the job file names the provider job, the items and the input
    run jq -r '[.parts[0].provider, .parts[0].state, (.ids | length), .input_digest[0:8]] | @tsv' "$JOBS/$JOB.json"
    assert_output "$(printf 'oa\tsubmitted\t3\tfnv1a64:')"
    [[ $(jq -r '.parts[0].batch' "$JOBS/$JOB.json") =~ ^batch_mock[0-9]+$ ]]
    assert_equal "$(batchapi_log oa | jq .created)" 1
    # one poll: still running
    run flexiai batch status --json
    assert_success
    assert_equal "$(jq -r '.[0] | [.job, .status, .ended, .total] | @tsv' <<<"$output")" \
        "$(printf '%s\tin_progress\tfalse\t3' "$JOB")"
    run flexiai batch wait "$JOB"
    assert_success
    run flexiai batch status "$JOB"
    assert_success
    assert_line --regexp "^$JOB +oa +completed +3 +0 +3 "
    run flexiai batch fetch -o "$TEST_HOME/out.jsonl" "$JOB"
    assert_success
    assert_equal "$(jq -r .id "$TEST_HOME/out.jsonl" | tr '\n' ' ')" "t1 t2 t3 "
    assert_equal "$(jq -r '[.text, .exit_code, .deferred, .usage.prompt_tokens, .usage.completion_tokens] | @tsv' "$TEST_HOME/out.jsonl" | head -1)" \
        "$(printf 'item 1\t0\ttrue\t2\t2')"
    # (2 * 2 + 2 * 8) / 1e6, at half price
    assert_equal "$(jq -c .cost "$TEST_HOME/out.jsonl" | head -1)" 1e-05
    # fetched twice: each id once
    run flexiai batch fetch "$JOB"
    assert_success
    assert_equal "$(wc -l <"$TEST_HOME/out.jsonl")" 3
    # the ledger marks them deferred, usage shows them apart
    run flexiai usage --json --by provider
    assert_success
    assert_equal "$(jq -c '.[] | select(.provider == "oa") | [.answers, .deferred, .cost, .deferred_cost]' <<<"$output")" \
        '[3,3,3e-05,3e-05]'
    run flexiai usage --by provider
    assert_line --regexp '^oa +3 +3 .* +3 +0\.000030 +0\.000030$'
    # each record with its item's prompt, as a live batch item's
    assert_equal "$(sqlite3 "$XDG_DATA_HOME/flexiai/logs.db" \
        "SELECT group_concat(prompt, '|') FROM requests WHERE deferred = 1 AND command = 'batch'")" \
        "item 1|item 2|item 3"
}

@test "the job is recorded before the provider is asked: a refused submission leaves a failed job, exit 75" {
    batchapi oa status=503
    run --separate-stderr flexiai batch --deferred -i "$TEST_HOME/in.jsonl" -o "$TEST_HOME/out.jsonl"
    assert_equal "$status" 75
    assert_equal "$output" ""
    [ "${#stderr_lines[@]}" -eq 1 ]
    [[ $stderr == *"not submitted"* ]]
    run jq -r '.parts[0] | [.state, .batch] | @tsv' "$JOBS"/*.json
    assert_output "$(printf 'failed\t')"
}

@test "Anthropic: a job that partly fails, its failed item run live with --live-rest" {
    batchapi an fail=1
    JOB=$(flexiai batch -q -p an --deferred -i "$TEST_HOME/in.jsonl" -o "$TEST_HOME/out.jsonl")
    run jq -r '.[0]' <(flexiai batch status --json "$JOB")
    run flexiai batch wait --timeout 30 "$JOB"
    assert_success
    run flexiai batch -q fetch --live-rest "$JOB"
    assert_success
    # t2 and t3 from the batch job, t1 live (no deferred mark, the first
    # provider in failover order), each once
    assert_equal "$(jq -r '[.id, .exit_code, (.deferred // false)] | @tsv' "$TEST_HOME/out.jsonl" | sort | tr '\n' ' ')" \
        "$(printf 't1\t0\tfalse t2\t0\ttrue t3\t0\ttrue ')"
    assert_equal "$(mock_count oa)" 1
}

@test "a failed item's line without --live-rest: the code of a server error, written once" {
    batchapi oa fail=1
    JOB=$(flexiai batch -q --deferred -i "$TEST_HOME/in.jsonl" -o "$TEST_HOME/out.jsonl")
    run --separate-stderr flexiai batch fetch "$JOB"
    assert_equal "$status" 75
    assert_equal "$(jq -r '[.id, .exit_code] | @tsv' "$TEST_HOME/out.jsonl" | sort | tr '\n' ' ')" \
        "$(printf 't1\t75 t2\t0 t3\t0 ')"
    run flexiai batch fetch "$JOB"
    assert_equal "$(wc -l <"$TEST_HOME/out.jsonl")" 3
}

@test "expiry: expired items exit 75, resubmit sends them to the next provider's batch API" {
    batchapi oa expire,answered=1
    JOB=$(flexiai batch -q --deferred -i "$TEST_HOME/in.jsonl" -o "$TEST_HOME/out.jsonl")
    run flexiai batch status "$JOB"
    assert_line --regexp "^$JOB +oa +expired +1 +2 +3 "
    run flexiai batch -q fetch "$JOB"
    assert_equal "$status" 75
    assert_equal "$(jq -r 'select(.exit_code == 75) | .id' "$TEST_HOME/out.jsonl" | tr '\n' ' ')" "t2 t3 "
    run --separate-stderr flexiai batch resubmit "$JOB"
    assert_success
    NEW=$output
    assert_equal "$(jq -r '[.parts[0].provider, (.ids | join(","))] | @tsv' "$JOBS/$NEW.json")" "$(printf 'an\tt2,t3')"
    run flexiai batch -q fetch "$NEW"
    assert_success
    assert_equal "$(jq -r 'select(.exit_code == 0) | .id' "$TEST_HOME/out.jsonl" | sort | tr '\n' ' ')" "t1 t2 t3 "
}

@test "cancel: the provider is asked once, the job ends cancelled, its items may run again" {
    batchapi oa polls=1000
    JOB=$(flexiai batch -q --deferred -i "$TEST_HOME/in.jsonl" -o "$TEST_HOME/out.jsonl")
    run flexiai batch wait --timeout 1 "$JOB"
    assert_equal "$status" 75
    run flexiai batch cancel "$JOB"
    assert_success
    assert_equal "$(batchapi_log oa | jq .cancels)" 1
    run flexiai batch status --json "$JOB"
    assert_equal "$(jq -r '.[0] | [.status, .ended] | @tsv' <<<"$output")" "$(printf 'cancelled\ttrue')"
    run flexiai batch -q fetch "$JOB"
    assert_equal "$status" 75
    assert_equal "$(jq -r .exit_code "$TEST_HOME/out.jsonl" | sort -u)" 75
}

@test "a job file that is not one: one line, exit 65; an unknown job: 66" {
    mkdir -p "$JOBS"
    echo '{"version":1,"job":"fxbad","ids":"nope"}' >"$JOBS/fxbad.json"
    run --separate-stderr flexiai batch status fxbad
    assert_equal "$status" 65
    [ "${#stderr_lines[@]}" -eq 1 ]
    [[ $stderr == *"fxbad.json: not a deferred job file"* ]]
    run --separate-stderr flexiai batch fetch fxnone
    assert_equal "$status" 66
    [ "${#stderr_lines[@]}" -eq 1 ]
    run --separate-stderr flexiai batch wait ../etc
    assert_equal "$status" 64
}

@test "options before and after the subcommand; the live batch's options unchanged" {
    batchapi oa ""
    JOB=$(flexiai batch --deferred -q -o "$TEST_HOME/out.jsonl" -i "$TEST_HOME/in.jsonl")
    run flexiai batch -q -o "$TEST_HOME/other.jsonl" fetch "$JOB"
    assert_success
    assert_equal "$(wc -l <"$TEST_HOME/other.jsonl")" 3
    run flexiai batch fetch -q -o "$TEST_HOME/third.jsonl" "$JOB"
    assert_success
    assert_equal "$(wc -l <"$TEST_HOME/third.jsonl")" 3
    # a live batch whose prompt is a word, not a subcommand; a subcommand's
    # name as the prompt after --
    run flexiai batch -q -i "$TEST_HOME/in.jsonl" summarize
    assert_success
    [ "${#lines[@]}" -eq 3 ]
    run flexiai batch -q -i "$TEST_HOME/in.jsonl" -- status
    assert_success
    assert_equal "$(jq -r .text <<<"${lines[0]}")" "$(printf 'status\n\nitem 1')"

}

@test "a job of 150 items: its file reads back whole, numeric ids kept as given, each fetched once" {
    local i
    for i in $(seq 1 150); do printf '{"id":%d,"prompt":"n %d"}\n' "$i" "$i"; done >"$TEST_HOME/many.jsonl"
    JOB=$(flexiai batch -q --deferred -i "$TEST_HOME/many.jsonl" -o "$TEST_HOME/many.out")
    jq -e '(.ids | length) == 150 and .ids[149] == 150' "$JOBS/$JOB.json"
    run flexiai batch -q fetch "$JOB"
    assert_success
    assert_equal "$(jq -r .id "$TEST_HOME/many.out" | sort -n | uniq | wc -l)" 150
    assert_equal "$(jq -r 'select(.id == 150) | .text' "$TEST_HOME/many.out")" "n 150"
}

@test "fetched with the cache on: a live run of the same items later is answered from the cache" {
    batchapi oa polls=1
    JOB=$(flexiai batch --deferred -i "$TEST_HOME/in.jsonl" -o "$TEST_HOME/out.jsonl" 2>/dev/null)
    flexiai batch wait "$JOB"
    # without the cache on, fetching keeps nothing
    run flexiai batch fetch "$JOB"
    assert_success
    run flexiai cache stats --json
    assert_equal "$(jq -r .entries <<<"$output")" 0
    rm "$TEST_HOME/out.jsonl"
    run flexiai batch --cache fetch "$JOB"
    assert_success
    assert_equal "$(wc -l <"$TEST_HOME/out.jsonl")" 3
    run flexiai cache stats --json
    assert_equal "$(jq -r .entries <<<"$output")" 3
    # the live batch over the same input, into a new output: no request
    local before
    before=$(mock_count oa)
    run flexiai batch --cache -i "$TEST_HOME/in.jsonl" -o "$TEST_HOME/live.jsonl"
    assert_success
    assert_equal "$(mock_count oa)" "$before"
    assert_equal "$(jq -r '[.id, .text, .cached] | @tsv' "$TEST_HOME/live.jsonl" | sort | tr '\n' ' ')" \
        "$(printf 't1\titem 1\ttrue t2\titem 2\ttrue t3\titem 3\ttrue ')"
}

@test "items' attachments go into the provider job; a local file needs --attach-files there too" {
    printf '\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90\x77\x53\xde' >"$TEST_HOME/pic.png"
    printf '{"id":"a1","prompt":"what is this","attachments":["%s"]}\n{"id":"a2","prompt":"plain"}\n' \
        "$TEST_HOME/pic.png" >"$TEST_HOME/att.jsonl"
    # without --attach-files the line is refused, the other sent
    run flexiai batch --deferred -i "$TEST_HOME/att.jsonl" -o "$TEST_HOME/o1.jsonl"
    assert_line --partial "line 1: attachments: a file name is not taken from the input"
    assert_equal "$(batchapi_log oa | jq .parts)" 0
    JOB=$(flexiai batch --deferred --attach-files -i "$TEST_HOME/att.jsonl" -o "$TEST_HOME/o2.jsonl" 2>/dev/null)
    # the image went in the job's input, as a content part
    assert_equal "$(batchapi_log oa | jq .parts)" 1
    flexiai batch wait "$JOB"
    # fetched with the cache on: the item with a file is not kept there
    run flexiai batch --cache fetch "$JOB"
    assert_success
    assert_equal "$(jq -r .id "$TEST_HOME/o2.jsonl" | sort | tr '\n' ' ')" "a1 a2 "
    run flexiai cache stats --json
    assert_equal "$(jq -r .entries <<<"$output")" 1
}
