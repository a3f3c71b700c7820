#!/usr/bin/env bats
# deferred-gemini.bats - `flexiai batch --deferred` over Gemini's batch
# mode (inline requests) against mockllm (tests/mockllm/
# mockllm-batchapi-gemini.c): submit, crash, status, wait, fetch with the
# discount, a failed item run live, an expired job, cancel, answers in a
# responses file, one model a job, and no batch mode for Vertex AI.

load helpers

items() {
    local i
    for i in $(seq 1 "$1"); do
        printf '{"id":"t%d","prompt":"item %d"}\n' "$i" "$i"
    done
}

batchapi() { curl -sf -X POST --data-binary "$2" "$MOCK_URL/_batchapi/$1" >/dev/null; }
batchapi_log() { curl -sf "$MOCK_URL/_batchapi/$1"; }

setup() {
    setup_env
    start_mockllm
    {
        provider_section ge gemini ge "price_input = 2" "price_output = 8"
        provider_section vx vertex vx
    } | write_config
    items 3 >"$TEST_HOME/in.jsonl"
    JOBS=$XDG_STATE_HOME/flexiai/jobs
}

@test "Gemini: submit, killed after the id, status pending then succeeded, fetch at half price" {
    batchapi ge polls=3
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
    # the provider job is the batch's name; the key is nowhere in the state
    run jq -r '[.parts[0].provider, .parts[0].state, (.ids | length)] | @tsv' "$JOBS/$JOB.json"
    assert_output "$(printf 'ge\tsubmitted\t3')"
    [[ $(jq -r '.parts[0].batch' "$JOBS/$JOB.json") =~ ^batches/batch_mock[0-9]+$ ]]
    run grep -rl test-key-ge "$JOBS"
    assert_failure
    assert_equal "$(batchapi_log ge | jq .created)" 1
    run flexiai batch status --json "$JOB"
    assert_success
    assert_equal "$(jq -r '.[0] | [.status, .ended, .total] | @tsv' <<<"$output")" \
        "$(printf 'pending\tfalse\t3')"
    run flexiai batch status --json "$JOB"
    assert_equal "$(jq -r '.[0] | [.status, .ended] | @tsv' <<<"$output")" \
        "$(printf 'running\tfalse')"
    run flexiai batch wait --timeout 30 "$JOB"
    assert_success
    run flexiai batch status "$JOB"
    assert_success
    assert_line --regexp "^$JOB +ge +succeeded +3 +0 +3 "
    run flexiai batch fetch -o "$TEST_HOME/out.jsonl" "$JOB"
    assert_success
    assert_equal "$(jq -r .id "$TEST_HOME/out.jsonl" | tr '\n' ' ')" "t1 t2 t3 "
    assert_equal "$(jq -r '[.text, .exit_code, .deferred, .provider, .usage.prompt_tokens, .usage.completion_tokens] | @tsv' "$TEST_HOME/out.jsonl" | head -1)" \
        "$(printf 'item 1\t0\ttrue\tge\t2\t2')"
    # (2 * 2 + 2 * 8) / 1e6, at half price
    assert_equal "$(jq -c .cost "$TEST_HOME/out.jsonl" | head -1)" 1e-05
    # no live request was made
    assert_equal "$(mock_count ge)" 0
    run flexiai usage --json --by provider
    assert_equal "$(jq -c '.[] | select(.provider == "ge") | [.answers, .deferred, .deferred_cost]' <<<"$output")" \
        '[3,3,3e-05]'
}

@test "Gemini: a failed item (an error entry) exits 75 once, then runs live with --live-rest" {
    batchapi ge fail=1
    JOB=$(flexiai batch -q --deferred -i "$TEST_HOME/in.jsonl" -o "$TEST_HOME/out.jsonl")
    run flexiai batch status "$JOB"
    assert_line --regexp "^$JOB +ge +succeeded +2 +1 +3 "
    run --separate-stderr flexiai batch fetch "$JOB"
    assert_equal "$status" 75
    assert_equal "$(jq -r '[.id, .exit_code] | @tsv' "$TEST_HOME/out.jsonl" | sort | tr '\n' ' ')" \
        "$(printf 't1\t75 t2\t0 t3\t0 ')"
    [[ $(jq -r 'select(.id == "t1") | .error' "$TEST_HOME/out.jsonl") == *"item failed"* ]]
    rm "$TEST_HOME/out.jsonl"
    run flexiai batch -q fetch --live-rest "$JOB"
    assert_success
    assert_equal "$(jq -r '[.id, .exit_code, (.deferred // false)] | @tsv' "$TEST_HOME/out.jsonl" | sort | tr '\n' ' ')" \
        "$(printf 't1\t0\tfalse t2\t0\ttrue t3\t0\ttrue ')"
    assert_equal "$(mock_count ge)" 1
}

@test "Gemini: an expired job has no answers: every item exits 75 and may run live" {
    batchapi ge expire
    JOB=$(flexiai batch -q --deferred -i "$TEST_HOME/in.jsonl" -o "$TEST_HOME/out.jsonl")
    run flexiai batch status --json "$JOB"
    assert_equal "$(jq -r '.[0] | [.status, .ended, .answered, .failed] | @tsv' <<<"$output")" \
        "$(printf 'expired\ttrue\t0\t3')"
    run flexiai batch -q fetch --live-rest "$JOB"
    assert_success
    assert_equal "$(jq -r 'select(.exit_code == 0 and .deferred != true) | .id' "$TEST_HOME/out.jsonl" | sort | tr '\n' ' ')" "t1 t2 t3 "
    assert_equal "$(mock_count ge)" 3
}

@test "Gemini: cancel asks once, the job ends cancelled, its items exit 75" {
    batchapi ge polls=1000
    JOB=$(flexiai batch -q --deferred -i "$TEST_HOME/in.jsonl" -o "$TEST_HOME/out.jsonl")
    run flexiai batch wait --timeout 1 "$JOB"
    assert_equal "$status" 75
    run flexiai batch cancel "$JOB"
    assert_success
    assert_equal "$(batchapi_log ge | jq .cancels)" 1
    run flexiai batch status --json "$JOB"
    assert_equal "$(jq -r '.[0] | [.status, .ended] | @tsv' <<<"$output")" "$(printf 'cancelled\ttrue')"
    run flexiai batch -q fetch "$JOB"
    assert_equal "$status" 75
    # no answers came: each item's line says so, once
    assert_equal "$(jq -r '[.id, .exit_code, .error] | @tsv' "$TEST_HOME/out.jsonl" | sort | tr '\n' '|')" \
        "$(printf 't1\t75\tge: no answer (the job ended cancelled)|t2\t75\tge: no answer (the job ended cancelled)|t3\t75\tge: no answer (the job ended cancelled)|')"
    run flexiai batch -q fetch "$JOB"
    assert_equal "$(wc -l <"$TEST_HOME/out.jsonl")" 3
}

@test "Gemini: answers in a responses file are downloaded and read by their keys" {
    batchapi ge file,fail=1
    JOB=$(flexiai batch -q --deferred -i "$TEST_HOME/in.jsonl" -o "$TEST_HOME/out.jsonl")
    run flexiai batch -q fetch "$JOB"
    assert_equal "$status" 75
    assert_equal "$(jq -r '[.id, .exit_code, .text // ""] | @tsv' "$TEST_HOME/out.jsonl" | sort | tr '\n' ' ')" \
        "$(printf 't1\t75\t t2\t0\titem 2 t3\t0\titem 3 ')"
}

@test "Gemini: one model a job: items of two models make two provider jobs" {
    printf '%s\n' '{"id":"a","prompt":"one","model":"gemini-a"}' \
        '{"id":"b","prompt":"two","model":"gemini-b"}' \
        '{"id":"c","prompt":"three","model":"gemini-b"}' >"$TEST_HOME/models.jsonl"
    JOB=$(flexiai batch -q --deferred -i "$TEST_HOME/models.jsonl" -o "$TEST_HOME/m.out")
    assert_equal "$(jq -r '[.parts[] | "\(.first)+\(.count)"] | join(" ")' "$JOBS/$JOB.json")" "0+1 1+2"
    assert_equal "$(batchapi_log ge | jq .created)" 2
    run flexiai batch -q fetch "$JOB"
    assert_success
    assert_equal "$(jq -r '[.id, .model] | @tsv' "$TEST_HOME/m.out" | sort | tr '\n' ' ')" \
        "$(printf 'a\tgemini-a b\tgemini-b c\tgemini-b ')"
}

@test "mockllm's Gemini batch create refuses a wrong shape with 400, as the API does" {
    local url=$MOCK_URL/p/ge/v1beta/models/m:batchGenerateContent
    local ok='{"batch":{"displayName":"x","inputConfig":{"requests":{"requests":[{"request":{"contents":[{"role":"user","parts":[{"text":"hi"}]}]},"metadata":{"key":"k"}}]}}}}'
    run curl -s -o /dev/null -w '%{http_code}' -H 'x-goog-api-key: k' --data-binary "$ok" "$url"
    assert_output 200
    # no displayName; requests not nested twice; an unknown field
    for bad in '{"batch":{"inputConfig":{"requests":{"requests":[{"request":{"contents":[{"parts":[{"text":"hi"}]}]}}]}}}}' \
        '{"batch":{"displayName":"x","inputConfig":{"requests":[{"request":{"contents":[{"parts":[{"text":"hi"}]}]}}]}}}' \
        '{"batch":{"displayName":"x","model":"models/m","inputConfig":{"requests":{"requests":[{"request":{"contents":[{"parts":[{"text":"hi"}]}]}}]}}}}' \
        '{"batch":{"displayName":"x","inputConfig":{"requests":{"requests":[{"contents":[{"parts":[{"text":"hi"}]}]}]}}}}'; do
        run curl -s -H 'x-goog-api-key: k' --data-binary "$bad" "$url"
        assert_equal "$(jq -r '.error | [.code, .status] | @tsv' <<<"$output")" "$(printf '400\tINVALID_ARGUMENT')"
    done
}

@test "Vertex AI has no batch mode flexiai speaks (its batch prediction is another API): 64, nothing sent" {
    run --separate-stderr flexiai batch -p vx --deferred -i "$TEST_HOME/in.jsonl" -o "$TEST_HOME/out.jsonl"
    assert_equal "$status" 64
    [[ $stderr == *"vx has no batch API"*"gemini"* ]]
    assert_equal "$(batchapi_log vx | jq .created)" 0
}

@test "Gemini: a batch holding more answers than a status answer may (over 1 MB): status, wait and fetch read it" {
    local i
    for i in $(seq 1 150); do printf '{"id":"n%d","prompt":"p %d"}\n' "$i" "$i"; done >"$TEST_HOME/many.jsonl"
    batchapi ge "reply=$(head -c 9000 /dev/zero | tr '\0' x)"
    JOB=$(flexiai batch -q --deferred -i "$TEST_HOME/many.jsonl" -o "$TEST_HOME/many.out")
    run flexiai batch wait --timeout 30 "$JOB"
    assert_success
    run flexiai batch status --json "$JOB"
    assert_success
    assert_equal "$(jq -r '.[0] | [.status, .answered] | @tsv' <<<"$output")" "$(printf 'succeeded\t150')"
    run flexiai batch -q fetch "$JOB"
    assert_success
    assert_equal "$(jq -r .id "$TEST_HOME/many.out" | sort -u | wc -l)" 150
    assert_equal "$(jq -r 'select(.id == "n150") | .text | length' "$TEST_HOME/many.out")" 9000
}
