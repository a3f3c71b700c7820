#!/usr/bin/env bats
# The request ledger as a user meets it: a record for every complete and
# chat turn and every outcome, flexiai logs (search, filters, show, path,
# prune, conversations), complete -C/--cid, flexiai usage (grouping, cost,
# Prometheus).  Faults, secrets and concurrency: tests/ledger-faults.bats.

load helpers

setup() {
    setup_env
    start_mockllm
    write_base
}

write_base() { # extra lines for the primary's section as arguments
    {
        printf '[failover]\nretries = 0\n'
        printf '[breaker]\nfailure_threshold = 1000\n\n'
        provider_section primary openai p1 "priority = 1" "price_input = 2" "price_output = 8" "$@"
        provider_section secondary anthropic s1 "priority = 2"
    } | write_config
}

DB() { echo "$XDG_DATA_HOME/flexiai/logs.db"; }
# records wait in logs.db.spool until a reader (logs, usage) moves them in
sql() { flexiai usage >/dev/null && sqlite3 "$(DB)" "$1"; }
nrec() { sql 'SELECT count(*) FROM requests'; }
# the latest record as JSON
last() { flexiai logs -n 1 --json; }

@test "complete: one record with what was asked, who answered and the attempts" {
    run --separate-stderr flexiai complete -s "be brief" "hello disk" </dev/null
    assert_success
    assert_output "hello disk"
    assert_equal "$stderr" ""
    run last
    assert_success
    r=$output
    assert_equal "$(jq -r '[.command, .provider, .model, .system, .text, .finish_reason, .exit_code] | join("|")' <<<"$r")" \
        "complete|primary|openai-model|be brief|hello disk|stop|0"
    assert_equal "$(jq -c .messages <<<"$r")" '[{"role":"user","content":"hello disk"}]'
    assert_equal "$(jq -r '.usage.prompt_tokens, .usage.completion_tokens' <<<"$r" | paste -sd,)" "4,2"
    assert_equal "$(jq -r '.attempts | length' <<<"$r")" 1
    assert_equal "$(jq -r '.attempts[0] | [.name, .outcome, .http_status] | join(",")' <<<"$r")" "primary,success,200"
    [[ $(jq -r .time <<<"$r") == 20*T*Z ]]
    [[ $(jq -r .conversation_id <<<"$r") =~ ^[0-9a-f]{16}$ ]]
    # the file and its directory are private
    assert_equal "$(stat -c %a "$(DB)")" 600
    assert_equal "$(stat -c %a "$(dirname "$(DB)")")" 700
    assert_equal "$(sql 'PRAGMA journal_mode')" wal
}

@test "every exit code of complete leaves a record with that code" {
    local spec code
    for spec in "65 p1 status=400" "75 p1 status=503 s1 status=503" \
        "77 p1 status=401 s1 status=401" "69 p1 status=429,error_type=insufficient_quota s1 status=401"; do
        set -- $spec
        code=$1
        shift
        mock_reset
        while [ $# -gt 0 ]; do
            mock_script "$1" "$2"
            shift 2
        done
        run flexiai complete "asked for $code" </dev/null
        assert_equal "$status" "$code"
        assert_equal "$(last | jq -r '[.exit_code, (.text // "none"), .messages[0].content] | join(",")')" "$code,none,asked for $code"
    done
    # 78: a provider that cannot be used (its key variable is unset)
    printf '[provider.a]\ntype = openai\nmodel = m\napi_key_env = FX_UNSET_KEY\nbase_url = %s/v1\n' "$MOCK_URL" | write_config
    run flexiai complete "no key" </dev/null
    assert_equal "$status" 78
    assert_equal "$(last | jq -r '[.exit_code, .error_class] | join(",")')" "78,config"
    assert_equal "$(nrec)" 5
    run flexiai logs --failed -n 10
    assert_equal "$(grep -c '^#' <<<"$output")" 5
}

@test "an interrupted complete (130) is logged too" {
    # interrupted while mockllm holds the request (for 10 s), not before
    # the command is under way on a slow machine
    mock_script p1 "wait_ms=10000"
    flexiai complete "slow one" >/dev/null 2>&1 </dev/null &
    pid=$!
    for i in $(seq 1 500); do
        [ "$(mock_count p1)" = 1 ] && break
        sleep 0.02
    done
    assert_equal "$(mock_count p1)" 1
    kill -INT $pid
    wait $pid && status=0 || status=$?
    assert_equal "$status" 130
    assert_equal "$(last | jq -r '[.exit_code, .messages[0].content] | join(",")')" "130,slow one"
}

@test "a failover is recorded with both attempts and counted by usage" {
    mock_script p1 "status=503"
    run --separate-stderr flexiai complete "fail over" </dev/null
    assert_success
    r=$(last)
    assert_equal "$(jq -r .provider <<<"$r")" secondary
    assert_equal "$(jq -r '[.attempts[] | .name + ":" + .outcome + ":" + (.http_status|tostring)] | join(",")' <<<"$r")" \
        "primary:error:503,secondary:success:200"
    run flexiai logs -n 1
    assert_output --partial "failover from primary"
    run flexiai usage --by provider --json
    # the primary answered nothing, but was called and failed: a row of its own
    assert_equal "$(jq -c '.[] | [.provider, .requests, .answers, .failovers, .calls, .failed_calls]' <<<"$output" | paste -sd' ')" \
        '["primary",0,0,0,1,1] ["secondary",1,1,1,1,0]'
    run flexiai logs show "$(jq -r .id <<<"$r")"
    assert_success
    assert_line --partial "attempt 1: primary"
    assert_line --partial "attempt 2: secondary"
}

@test "chat: one record per turn, all under one conversation id" {
    run --separate-stderr flexiai chat --tag talk <<<$'first question\nsecond question'
    assert_success
    run flexiai logs --json -n 10
    assert_equal "$(jq -r .command <<<"$output" | sort -u)" chat
    assert_equal "$(jq -r .tag <<<"$output" | sort -u)" talk
    assert_equal "$(jq -r .conversation_id <<<"$output" | sort -u | wc -l)" 1
    assert_equal "$(jq -r '.messages | map(.content) | join("/")' <<<"$output" | tail -1)" \
        "first question/first question/second question"
    assert_equal "$(nrec)" 2
    # a second session is another conversation
    flexiai chat <<<"third" >/dev/null
    assert_equal "$(sql 'SELECT count(DISTINCT conversation_id) FROM requests')" 2
}

@test "--no-log, mode off and FLEXIAI_LOG_MODE=off keep nothing; mode usage no text" {
    flexiai complete --no-log "secret plan" </dev/null >/dev/null
    flexiai chat --no-log <<<"secret chat" >/dev/null
    [ ! -e "$(DB)" ]
    FLEXIAI_LOG_MODE=off flexiai complete "secret plan" </dev/null >/dev/null
    [ ! -e "$(DB)" ]
    printf '[log]\nmode = off\n' >>"$CONFIG"
    flexiai complete "secret plan" </dev/null >/dev/null
    [ ! -e "$(DB)" ]
    sed -i 's/^mode = off/mode = usage/' "$CONFIG"
    run flexiai complete "secret plan" </dev/null
    assert_output "secret plan"
    r=$(last)
    assert_equal "$(jq -r '[.provider, .system, .messages, .text, .usage.completion_tokens] | map(tostring) | join(",")' <<<"$r")" \
        "primary,null,null,null,2"
    run ! grep -qa "secret plan" "$(DB)"*
    run flexiai complete -C "go on" </dev/null
    assert_equal "$status" 66
    assert_output --partial "cannot continue conversation"
}

@test "[log] path puts the ledger elsewhere; logs path says where" {
    printf '[log]\npath = %s/elsewhere/my.db\n' "$TEST_HOME" >>"$CONFIG"
    flexiai complete "x" </dev/null >/dev/null
    # the record waits beside it until a reader moves it in
    [ -s "$TEST_HOME/elsewhere/my.db.spool" ]
    assert_equal "$(stat -c %a "$TEST_HOME/elsewhere/my.db.spool")" 600
    run flexiai logs --json
    assert_equal "$(jq -r .messages[0].content <<<"$output")" x
    [ -s "$TEST_HOME/elsewhere/my.db" ]
    [ ! -e "$TEST_HOME/elsewhere/my.db.spool" ]
    [ ! -e "$(DB)" ]
    run flexiai logs path
    assert_output "$TEST_HOME/elsewhere/my.db"
    FLEXIAI_LOG_PATH=$TEST_HOME/env.db run flexiai logs path
    assert_output "$TEST_HOME/env.db"
}

@test "logs: -n, -q search, --provider, --model, --tag, --failed, --since/--until" {
    flexiai complete --tag nightly "the disk is full" </dev/null >/dev/null
    flexiai complete "the network is down" </dev/null >/dev/null
    mock_script p1 "status=503"
    flexiai complete --tag nightly "disk again" </dev/null >/dev/null
    mock_script s1 "status=503"
    flexiai complete "nothing answers" </dev/null >/dev/null || true
    run flexiai logs
    assert_equal "$(grep -c '^#' <<<"$output")" 3
    run flexiai logs -n 10 --json
    assert_equal "${#lines[@]}" 4
    ids() { jq -r .id | paste -sd,; }
    assert_equal "$(flexiai logs -q disk --json | ids)" 1,3
    assert_equal "$(flexiai logs -q 'disk full' --json | ids)" 1
    assert_equal "$(flexiai logs -q nosuchword --json | ids)" ""
    assert_equal "$(flexiai logs -n 10 --provider secondary --json | ids)" 3
    assert_equal "$(flexiai logs -n 10 --model openai-model --json | ids)" 1,2
    assert_equal "$(flexiai logs -n 10 --tag nightly --json | ids)" 1,3
    assert_equal "$(flexiai logs -n 10 --failed --json | ids)" 4
    assert_equal "$(flexiai logs -n 10 --since 1h --json | ids)" 1,2,3,4
    assert_equal "$(flexiai logs -n 10 --until 1h --json | ids)" ""
    assert_equal "$(flexiai logs -n 10 --since 2000-01-01 --until 2999-01-01 --json | ids)" 1,2,3,4
    run flexiai logs -q disk
    assert_output --partial "the disk is full"
    run flexiai logs --since yesterday-ish
    assert_equal "$status" 64
    run flexiai logs -n 0
    assert_equal "$status" 64
    run flexiai logs bogus
    assert_equal "$status" 64
}

@test "logs --json lines have every field in the complete --json shape" {
    flexiai complete --tag t1 "fields" </dev/null >/dev/null
    out=$(flexiai complete --json --no-log "fields" </dev/null)
    r=$(last)
    for k in id time command tag conversation_id provider model system messages text finish_reason usage latency_ms exit_code attempts; do
        jq -e "has(\"$k\")" <<<"$r" >/dev/null || { echo "missing $k" >&2; false; }
    done
    # attempts and usage as complete --json prints them
    assert_equal "$(jq -c '.attempts[0] | keys' <<<"$r")" "$(jq -c '.attempts[0] | keys' <<<"$out")"
    assert_equal "$(jq -c '.usage | keys' <<<"$r")" "$(jq -c '.usage | keys' <<<"$out")"
}

@test "logs show ID: one record, --json; an unknown id is 66" {
    flexiai complete "show me" </dev/null >/dev/null
    run flexiai logs show 1
    assert_success
    assert_line --index 0 --partial "#1"
    assert_line --partial "attempt 1: primary"
    run flexiai logs show --json 1
    assert_equal "$(jq -r .text <<<"$output")" "show me"
    run --separate-stderr flexiai logs show 99
    assert_equal "$status" 66
    assert_equal "$stderr" "flexiai: no record 99 in the ledger"
    run flexiai logs show abc
    assert_equal "$status" 64
}

@test "logs prune --before removes old records; [log] keep prunes once a day" {
    for i in 1 2 3; do flexiai complete "r$i" </dev/null >/dev/null; done
    sql "UPDATE requests SET time = time - 100*86400 WHERE id <= 2"
    run flexiai logs prune --before 30d
    assert_success
    assert_output "2 records deleted"
    assert_equal "$(nrec)" 1
    assert_equal "$(flexiai logs -q r1 --json)" ""
    run flexiai logs prune
    assert_equal "$status" 64
    # keep: applied by the next write, then not again the same day
    printf '[log]\nkeep = 10d\n' >>"$CONFIG"
    sql "UPDATE requests SET time = time - 20*86400"
    flexiai complete "new" </dev/null >/dev/null
    assert_equal "$(sql 'SELECT group_concat(prompt) FROM requests')" "new"
    sql "UPDATE requests SET time = time - 20*86400"
    flexiai complete "newer" </dev/null >/dev/null
    assert_equal "$(nrec)" 2
}

@test "complete -C continues the latest conversation, --cid a given one" {
    run flexiai complete "my name is Ada" </dev/null
    cid1=$(last | jq -r .conversation_id)
    flexiai complete "unrelated" </dev/null >/dev/null
    cid2=$(last | jq -r .conversation_id)
    [ "$cid1" != "$cid2" ]
    run flexiai complete -C "and then?" </dev/null
    assert_success
    assert_equal "$(mock_last_body p1 | jq -c '[.messages[] | .content]')" '["unrelated","unrelated","and then?"]'
    assert_equal "$(last | jq -r .conversation_id)" "$cid2"
    run flexiai complete --cid "$cid1" -s "be kind" "what is my name?" </dev/null
    assert_success
    assert_equal "$(mock_last_body p1 | jq -c '[.messages[] | .role + ":" + .content]')" \
        '["system:be kind","user:my name is Ada","assistant:my name is Ada","user:what is my name?"]'
    assert_equal "$(last | jq -r .conversation_id)" "$cid1"
    run flexiai logs --cid "$cid1" --json
    assert_equal "$(jq -r .id <<<"$output" | paste -sd,)" 1,4
    run --separate-stderr flexiai complete --cid 0000000000000000 "hi" </dev/null
    assert_equal "$status" 66
    assert_equal "$stderr" "flexiai: no conversation '0000000000000000' in the ledger (see flexiai logs)"
    assert_equal "$(nrec)" 4
}

@test "complete -C with no ledger yet is 66, nothing sent" {
    run --separate-stderr flexiai complete -C "hi" </dev/null
    assert_equal "$status" 66
    [[ $stderr == "flexiai: no conversation to continue"* ]]
    assert_equal "$(mock_count p1)" 0
}

@test "usage: grouping by day, provider, model, tag, combined; known and unknown cost" {
    flexiai complete --tag a "one two three" </dev/null >/dev/null
    flexiai complete --tag b "four" </dev/null >/dev/null
    mock_script p1 "status=503"
    flexiai complete --tag a "five six" </dev/null >/dev/null
    mock_script s1 "status=401"
    flexiai complete "seven" </dev/null >/dev/null || true
    run flexiai usage --json
    assert_success
    assert_equal "$(jq -c '.[0] | [.requests, .answers, .failovers, .failures, .failures_by_class, .cost]' <<<"$output")" \
        '[4,3,1,1,{"auth":1},null]'
    run flexiai usage --by provider --json
    # primary: 3+3 and 1+1 tokens at 2 and 8 per million; secondary: no price
    assert_equal "$(jq -c '.[] | select(.provider == "primary") | [.requests, .prompt_tokens, .completion_tokens, .cost]' <<<"$output")" \
        '[2,4,4,4e-05]'
    assert_equal "$(jq -c '.[] | select(.provider == "secondary") | .cost' <<<"$output")" null
    run flexiai usage --by provider
    # calls: every attempt sent to the provider, and those that failed
    assert_line --regexp '^primary +2 +2 +0 +0 +4 +4 +0 +0 +0 +4 +2 +0\.000040$'
    assert_line --regexp '^secondary +1 +1 +1 +0 +2 +2 +0 +0 +0 +2 +1 +unknown$'
    run flexiai usage --by tag,provider --json
    assert_equal "$(jq -c '[.[] | [.tag, .provider, .requests]]' <<<"$output")" \
        '[[null,null,1],[null,"primary",0],["a","primary",1],["b","primary",1],[null,"secondary",0],["a","secondary",1]]'
    # the failed request (no tag) tried both: a row each, no request, a failed call
    assert_equal "$(jq -c '[.[] | select(.tag == null and .provider != null) | [.provider, .calls, .failed_calls]]' <<<"$output")" \
        '[["primary",1,1],["secondary",1,1]]'
    run flexiai usage --by day --by model --json
    assert_equal "$(jq -r '.[0].day' <<<"$output")" "$(date +%F)"
    assert_equal "$(jq -r '.[] | keys | join(",")' <<<"$output" | sort -u)" \
        "answers,cache_write_tokens,cached_tokens,calls,completion_tokens,cost,day,deferred,deferred_cost,failed_calls,failovers,failures,failures_by_class,model,prompt_tokens,reasoning_tokens,requests"
    # a model price beats the provider's
    printf '[price.openai-model]\nprice_input = 1000000\nprice_output = 0\n' >>"$CONFIG"
    run flexiai usage --by provider --json
    assert_equal "$(jq -c '.[] | select(.provider == "primary") | .cost' <<<"$output")" 4
    run flexiai usage --since 1h --until 2999-01-01 --json
    assert_equal "$(jq '.[0].requests' <<<"$output")" 4
    run flexiai usage --by week
    assert_equal "$status" 64
}

@test "usage and logs with no ledger yet: nothing, exit 0" {
    run flexiai usage --json
    assert_success
    assert_output "[]"
    run flexiai logs
    assert_success
    assert_output ""
}

@test "usage --prometheus passes promtool check metrics" {
    local promtool=${PROMTOOL:-}
    [ -n "$promtool" ] && [ "$promtool" != no ] || promtool=$(command -v promtool) ||
        { echo "promtool not found: apt-get install prometheus" >&2; false; }
    flexiai complete "a b" </dev/null >/dev/null
    mock_script p1 "status=503"
    flexiai complete "c" </dev/null >/dev/null
    mock_script s1 "status=401"
    flexiai complete "d" </dev/null >/dev/null || true
    run flexiai usage --prometheus
    assert_success
    prom=$output
    run "$promtool" check metrics <<<"$prom"
    assert_success
    grep -q '^flexiai_requests_total{provider="primary",outcome="success"} 1$' <<<"$prom"
    grep -q '^flexiai_failovers_total{from="primary",to="secondary"} 1$' <<<"$prom"
    grep -q '^flexiai_tokens_total{provider="primary",model="openai-model",direction="input"} 2$' <<<"$prom"
    grep -q '^flexiai_cost_total{provider="primary",model="openai-model"} ' <<<"$prom"
    run ! grep -q '^flexiai_cost_total{provider="secondary"' <<<"$prom"
    grep -q '^flexiai_request_latency_seconds_count 3$' <<<"$prom"
    run flexiai usage --prometheus --by day
    assert_equal "$status" 64
}

@test "a version-1 ledger is migrated forward by the next write" {
    mkdir -p "$(dirname "$(DB)")"
    sqlite3 "$(DB)" <"$SRCDIR/tests/unit/ledger-v1.sql"
    before=$(nrec)
    run flexiai logs -n 100 --json
    assert_success
    assert_equal "${#lines[@]}" "$before"
    flexiai complete "after migration" </dev/null >/dev/null
    assert_equal "$(sql 'PRAGMA user_version')" 5
    assert_equal "$(nrec)" $((before + 1))
    assert_equal "$(flexiai logs -q migration --json | jq -r .text)" "after migration"
}

@test "logs and usage complete from their tables" {
    run flexiai --completion-helper logs
    assert_success
    assert_line --partial $'sub\tshow'
    assert_line --partial $'sub\tprune'
    assert_line --partial $'opt\tprune\t\t--before'
    assert_line --partial $'opt\t-\t-q\t--query'
    run flexiai --completion-helper usage
    assert_line --partial $'opt\t-\t\t--by\tchoice:day|provider|model|tag'
    run flexiai --completion-helper complete
    assert_line --partial $'opt\t-\t\t--tag'
    assert_line --partial $'opt\t-\t-C\t--continue'
}

@test "every batch item appends one record, under its own tag when it has one" {
    printf '{"id":1,"prompt":"first item"}\n{"id":2,"prompt":"second item","tag":"mine"}\n' >"$TEST_HOME/in.jsonl"
    run --separate-stderr flexiai batch --tag nightly -i "$TEST_HOME/in.jsonl"
    assert_success
    run flexiai logs -n 10 --json
    assert_success
    assert_equal "$(jq -r 'select(.command == "batch") | .tag' <<<"$output" | sort | tr '\n' ' ')" "mine nightly "
    assert_equal "$(jq -r 'select(.text == "second item") | .command' <<<"$output")" batch
    # two conversations, not one
    assert_equal "$(jq -r 'select(.command == "batch") | .conversation_id' <<<"$output" | sort -u | wc -l)" 2
    run --separate-stderr flexiai batch --no-log -i "$TEST_HOME/in.jsonl"
    assert_success
    assert_equal "$(flexiai logs -n 10 --json | jq -r 'select(.command == "batch") | .id' | wc -l)" 2
}
