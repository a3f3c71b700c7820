#!/usr/bin/env bats
# cache.bats - the response cache ([cache], --cache, flexiai cache): a
# request asked again is answered without traffic (mockllm counts the
# requests it got), across processes (the SQLite file) and across "hosts"
# (two data directories sharing one redis-server); errors and answers that
# fail the schema are never kept; the key changes with the model, the
# options, the schema and the provider (unless across_providers).

load helpers

setup() {
    setup_env
    start_mockllm
    {
        printf '[failover]\nretries = 0\n\n'
        provider_section oa openai oa "price_input = 2" "price_output = 8"
        provider_section ob openai ob "price_input = 2" "price_output = 8"
    } | write_config
}

teardown() { teardown_env; }

enc() { jq -rn --arg s "$1" '$s | @uri'; }

@test "a second process asks again: answered from the cache, no request sent" {
    run flexiai complete --cache "what is two and two" </dev/null
    assert_success
    assert_output "what is two and two"
    [ "$(mock_count oa)" -eq 1 ]
    run flexiai complete --cache --json "what is two and two" </dev/null
    assert_success
    [ "$(mock_count oa)" -eq 1 ]
    [ "$(jq -r .cached <<<"$output")" = true ]
    [ "$(jq -r .text <<<"$output")" = "what is two and two" ]
    [ "$(jq -r .cost <<<"$output")" = 0 ]
    [ "$(jq -r '.attempts[0].outcome' <<<"$output")" = cached ]
    # the first answer carries no mark
    run flexiai complete --json "what is two and two" </dev/null
    [ "$(jq -r .cached <<<"$output")" = null ]
    [ "$(mock_count oa)" -eq 2 ]
    # the ledger marks the hit, and usage counts it
    run flexiai usage --json
    assert_success
    [ "$(jq -r '.[0].cache_hits' <<<"$output")" -eq 1 ]
    [ "$(jq -r '.[0].requests' <<<"$output")" -eq 3 ]
    run sqlite3 "$XDG_DATA_HOME/flexiai/logs.db" 'SELECT cached FROM requests ORDER BY id'
    assert_output "0
1
0"
    run flexiai usage
    assert_output --partial CACHE_HITS
}

@test "[cache] mode = on caches without the flag; --no-cache neither reads nor writes" {
    printf '[cache]\nmode = on\n' >>"$CONFIG"
    flexiai complete "hello there" </dev/null
    flexiai complete "hello there" </dev/null
    [ "$(mock_count oa)" -eq 1 ]
    run flexiai complete --no-cache --json "hello there" </dev/null
    assert_success
    [ "$(jq -r .cached <<<"$output")" = null ]
    [ "$(mock_count oa)" -eq 2 ]
    run flexiai complete --no-cache "a new one" </dev/null
    run flexiai complete "a new one" </dev/null
    [ "$(mock_count oa)" -eq 4 ]
}

@test "a streamed request: the cached answer is printed at once" {
    flexiai complete --cache "stream me" </dev/null
    run flexiai complete --cache --stream "stream me" </dev/null
    assert_success
    assert_output "stream me"
    [ "$(mock_count oa)" -eq 1 ]
}

@test "errors are not cached" {
    mock_script oa "status=500"
    run flexiai complete --cache -p oa "fails" </dev/null
    [ "$status" -ne 0 ]
    mock_reset
    run flexiai complete --cache -p oa "fails" </dev/null
    assert_success
    assert_output "fails"
    [ "$(mock_count oa)" -eq 1 ]
}

@test "an answer that fails the schema is not cached; one that matches is" {
    mock_script oa "reply=$(enc 'no json here')"
    run flexiai complete --cache -p oa --schema 'name' "who" </dev/null
    assert_failure 76
    [ "$(mock_count oa)" -eq 2 ] # asked again with the validation error
    mock_script oa "reply=$(enc '{"name":"Ada"}')"
    run flexiai complete --cache -p oa --schema 'name' "who" </dev/null
    assert_success
    [ "$(mock_count oa)" -eq 3 ]
    run flexiai complete --cache -p oa --schema 'name' --json "who" </dev/null
    assert_success
    [ "$(jq -r .cached <<<"$output")" = true ]
    [ "$(mock_count oa)" -eq 3 ]
}

@test "the key changes with the model, the options and the schema" {
    flexiai complete --cache -p oa "same words" </dev/null
    flexiai complete --cache -p oa -m other-model "same words" </dev/null
    [ "$(mock_count oa)" -eq 2 ]
    flexiai complete --cache -p oa --temperature 0.1 "same words" </dev/null
    [ "$(mock_count oa)" -eq 3 ]
    flexiai complete --cache -p oa --max-tokens 7 "same words" </dev/null
    [ "$(mock_count oa)" -eq 4 ]
    flexiai complete --cache -p oa -s "be brief" "same words" </dev/null
    [ "$(mock_count oa)" -eq 5 ]
    mock_script oa "reply=$(enc '{"name":"x"}')"
    flexiai complete --cache -p oa --schema name "same words" </dev/null
    flexiai complete --cache -p oa --schema 'name: who it is' "same words" </dev/null
    [ "$(mock_count oa)" -eq 7 ]
    # and every one of them is a hit the second time
    mock_reset
    flexiai complete --cache -p oa -m other-model "same words" </dev/null
    flexiai complete --cache -p oa --temperature 0.1 "same words" </dev/null
    flexiai complete --cache -p oa --schema name "same words" </dev/null
    [ "$(mock_count oa)" -eq 0 ]
}

@test "provider-independent only with across_providers = yes" {
    flexiai complete --cache -p oa "who answers" </dev/null
    flexiai complete --cache -p ob "who answers" </dev/null
    [ "$(mock_count oa)" -eq 1 ]
    [ "$(mock_count ob)" -eq 1 ]
    printf '[cache]\nacross_providers = yes\n' >>"$CONFIG"
    flexiai complete --cache -p oa "across" </dev/null
    run flexiai complete --cache -p ob --json "across" </dev/null
    assert_success
    [ "$(jq -r .cached <<<"$output")" = true ]
    [ "$(jq -r .provider <<<"$output")" = oa ]
    [ "$(mock_count ob)" -eq 1 ]
}

@test "an entry older than the ttl is not used" {
    flexiai complete --cache "ttl check" </dev/null
    # the second process starts well after a millisecond
    run flexiai complete --cache --cache-ttl 0.001 --json "ttl check" </dev/null
    assert_success
    [ "$(jq -r .cached <<<"$output")" = null ]
    [ "$(mock_count oa)" -eq 2 ]
    run flexiai complete --cache --cache-ttl 0 "x" </dev/null
    assert_failure 64
    assert_output --partial "--cache-ttl must be a positive number"
}

@test "batch: items answered before come from the cache, marked in their lines" {
    printf '{"id":1,"prompt":"one"}\n{"id":2,"prompt":"two"}\n' >"$TEST_HOME/in.jsonl"
    run flexiai batch --cache -i "$TEST_HOME/in.jsonl" -o "$TEST_HOME/a.jsonl"
    assert_success
    [ "$(mock_count oa)" -eq 2 ]
    run flexiai batch --cache -i "$TEST_HOME/in.jsonl" -o "$TEST_HOME/b.jsonl"
    assert_success
    [ "$(mock_count oa)" -eq 2 ]
    run jq -r '[.id, .cached, .text] | @tsv' "$TEST_HOME/b.jsonl"
    assert_output "1	true	one
2	true	two"
    # usage: four answers, two calls (a hit sends nothing, fails nothing),
    # and a known cost: the two calls' tokens, the hits free
    run flexiai usage --json
    assert_success
    assert_equal "$(jq -r '.[0] | [.requests, .answers, .calls, .failed_calls, .cache_hits] | @tsv' <<<"$output")" "4	4	2	0	2"
    local tokens cost
    tokens=$(sqlite3 "$XDG_DATA_HOME/flexiai/logs.db" "SELECT sum(prompt_tokens) * 2 + sum(completion_tokens) * 8 FROM requests WHERE cached = 0")
    cost=$(jq -r '.[0].cost' <<<"$output")
    [ "$cost" != null ]
    [ "$(awk -v a="$cost" -v b="$tokens" 'BEGIN { d = a - b / 1e6; print (d < 1e-12 && d > -1e-12) }')" = 1 ]
}

@test "flexiai cache stats, prune and clear" {
    flexiai complete --cache "one" </dev/null
    flexiai complete --cache "two" </dev/null
    flexiai complete --cache "two" </dev/null
    run flexiai cache stats --json
    assert_success
    [ "$(jq -r .entries <<<"$output")" -eq 2 ]
    [ "$(jq -r .hits <<<"$output")" -eq 1 ]
    [ "$(jq -r .misses <<<"$output")" -eq 2 ]
    [ "$(jq -r .where <<<"$output")" = "$XDG_DATA_HOME/flexiai/cache.db" ]
    run flexiai cache stats
    assert_line --partial "entries: 2"
    # nothing is past a day old; max_bytes of 1 leaves nothing
    run flexiai cache prune --json
    assert_output '{"removed":0}'
    printf '[cache]\nmax_bytes = 1\n' >>"$CONFIG"
    run flexiai cache prune --json
    assert_output '{"removed":2}'
    flexiai complete --cache "three" </dev/null
    run flexiai cache clear
    assert_output "1 entry removed"
    run flexiai cache stats --json
    [ "$(jq -r .entries <<<"$output")" -eq 0 ]
    [ "$(jq -r .hits <<<"$output")" -eq 0 ]
    [ "$(jq -r .misses <<<"$output")" -eq 0 ]
    run flexiai cache frobnicate
    assert_failure 64
}

@test "hits from many processes at once are all counted, and a hit writes nothing to the database" {
    flexiai complete --cache "count me" </dev/null
    db=$XDG_DATA_HOME/flexiai/cache.db
    # what the database and its WAL hold after the one write
    before=$(cat "$db" "$db-wal" 2>/dev/null | cksum)
    pids=
    for i in 1 2 3 4 5 6 7 8; do
        flexiai complete --cache "count me" </dev/null >"$BATS_TEST_TMPDIR/out.$i" &
        pids="$pids $!"
    done
    for p in $pids; do wait "$p"; done
    for i in 1 2 3 4 5 6 7 8; do
        [ "$(cat "$BATS_TEST_TMPDIR/out.$i")" = "count me" ]
    done
    [ "$(mock_count oa)" -eq 1 ]
    [ "$(cat "$db" "$db-wal" 2>/dev/null | cksum)" = "$before" ]
    run flexiai cache stats --json
    [ "$(jq -r .hits <<<"$output")" -eq 8 ]
    [ "$(jq -r .misses <<<"$output")" -eq 1 ]
}

@test "an answer from the cache loads no libcurl; a request sent loads it" {
    flexiai complete --cache "no curl" </dev/null >/dev/null
    LD_DEBUG=files flexiai complete --cache "no curl" </dev/null \
        >"$BATS_TEST_TMPDIR/out" 2>"$BATS_TEST_TMPDIR/ld"
    [ "$(cat "$BATS_TEST_TMPDIR/out")" = "no curl" ]
    run grep -c "file=libcurl" "$BATS_TEST_TMPDIR/ld"
    assert_output 0
    LD_DEBUG=files flexiai complete --cache "asked now" </dev/null \
        >/dev/null 2>"$BATS_TEST_TMPDIR/ld2"
    grep -q "file=libcurl.* dynamically loaded by" "$BATS_TEST_TMPDIR/ld2"
    [ "$(mock_count oa)" -eq 2 ]
}

@test "Redis: a second host (its own data directory) gets the first host's answer" {
    start_redis
    printf '[sync]\nbackend = redis\nredis_url = redis://127.0.0.1:%s/0\n[cache]\nbackend = redis\n' \
        "$REDIS_PORT" >>"$CONFIG"
    XDG_DATA_HOME=$TEST_HOME/host-a XDG_STATE_HOME=$TEST_HOME/host-a-state \
        flexiai complete --cache "shared question" </dev/null
    [ "$(mock_count oa)" -eq 1 ]
    XDG_DATA_HOME=$TEST_HOME/host-b XDG_STATE_HOME=$TEST_HOME/host-b-state \
        run flexiai complete --cache --json "shared question" </dev/null
    assert_success
    [ "$(jq -r .cached <<<"$output")" = true ]
    [ "$(mock_count oa)" -eq 1 ]
    # one key, a digest: never the request itself
    run redis_cli --scan --pattern 'flexiai:cache:*'
    [ "${#lines[@]}" -eq 1 ]
    [[ "${lines[0]}" =~ ^flexiai:cache:[0-9a-f]{64}$ ]]
    [ ! -e "$TEST_HOME/host-b/flexiai/cache.db" ]
    run flexiai cache stats --json
    [ "$(jq -r .entries <<<"$output")" -eq 1 ]
    [ "$(jq -r .hits <<<"$output")" -eq 1 ]
    [[ "$(jq -r .where <<<"$output")" == redis* ]]
    run flexiai cache clear --json
    assert_output '{"removed":1}'
}
