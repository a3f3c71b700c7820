#!/usr/bin/env bats
# Where a record waits before it reaches the ledger's database: complete
# and chat append one line to logs.db.spool without opening SQLite (the
# front command does not even link it); logs, usage and complete -C/--cid
# move the spool into the database first.  Concurrent writers and readers
# lose nothing and import nothing twice; a line torn by a crash is set
# aside with one warning, never imported half.

load helpers

setup() {
    setup_env
    start_mockllm
    {
        printf '[failover]\nretries = 0\n'
        provider_section primary openai p1 "priority = 1"
    } | write_config
}

DB() { echo "$XDG_DATA_HOME/flexiai/logs.db"; }
SPOOL() { echo "$(DB).spool"; }
count() { sqlite3 -cmd '.timeout 5000' "$(DB)" "$1"; }

@test "complete appends to the spool; logs, usage and -C move it into the database" {
    flexiai complete "first question" </dev/null >/dev/null
    [ ! -e "$(DB)" ]
    assert_equal "$(wc -l <"$(SPOOL)")" 1
    assert_equal "$(stat -c %a "$(SPOOL)")" 600
    assert_equal "$(stat -c %a "$(dirname "$(SPOOL)")")" 700
    assert_equal "$(jq -r .messages[0][1] <"$(SPOOL)")" "first question"
    # logs imports it
    run --separate-stderr flexiai logs --json
    assert_success
    assert_equal "$stderr" ""
    assert_equal "$(jq -r .messages[0].content <<<"$output")" "first question"
    [ ! -e "$(SPOOL)" ]
    assert_equal "$(count 'SELECT count(*) FROM requests')" 1
    # usage imports it
    flexiai complete "second" </dev/null >/dev/null
    run flexiai usage --json
    assert_equal "$(jq -r '.[0].requests' <<<"$output")" 2
    [ ! -e "$(SPOOL)" ]
    # complete -C (run by flexiai-complete) imports it before continuing
    flexiai complete "third" </dev/null >/dev/null
    run flexiai complete -C "and?" </dev/null
    assert_success
    assert_equal "$(mock_last_body p1 | jq -c '[.messages[] | .content]')" '["third","third","and?"]'
    assert_equal "$(count 'SELECT count(*) FROM requests')" 3
    assert_equal "$(wc -l <"$(SPOOL)")" 1 # the -C turn itself waits
    # mode usage keeps no text even in the spool
    FLEXIAI_LOG_MODE=usage flexiai complete "secret plan" </dev/null >/dev/null
    run ! grep -q "secret plan" "$(SPOOL)"
    run flexiai logs -n 1 --json
    assert_equal "$(jq -r '.text, .provider' <<<"$output" | paste -sd,)" "null,primary"
}

@test "a plain complete opens no database: neither the ledger nor the response cache" {
    # SQLite is loaded when a database is opened, not linked: a complete
    # without the cache only appends to the spool, and never loads it
    run ldd "$(command -v flexiai-complete)"
    refute_output --partial libsqlite3
    run ldd "$(command -v flexiai)"
    refute_output --partial libsqlite3
    flexiai complete "x" </dev/null >/dev/null
    [ ! -e "$(DB)" ]
    [ ! -e "$(DB)-wal" ]
    [ ! -e "$(dirname "$(DB)")/cache.db" ]
}

# writers_and_readers: 50 completes ("writer N") and 5 readers at once,
# beside what already runs in PIDS; waits for all of them and checks that
# each exited 0 and printed nothing on stderr
writers_and_readers() {
    local i p failed=0
    for i in $(seq 1 50); do
        flexiai complete "writer $i" </dev/null >/dev/null 2>"$TEST_HOME/err.$i" &
        PIDS="$PIDS $!"
        if [ $((i % 10)) -eq 0 ]; then
            flexiai logs -n 1 >/dev/null 2>"$TEST_HOME/rerr.$i" &
            PIDS="$PIDS $!"
        fi
    done
    for p in $PIDS; do wait "$p" || failed=$((failed + 1)); done
    assert_equal "$failed" 0
    cat "$TEST_HOME"/*err* >&3
    assert_equal "$(cat "$TEST_HOME"/*err* | wc -c)" 0
}

@test "50 concurrent writers and readers: every record once" {
    PIDS=
    writers_and_readers
    run flexiai usage --json
    assert_equal "$(jq -r '.[0].requests' <<<"$output")" 50
    assert_equal "$(count "SELECT count(DISTINCT prompt) FROM requests WHERE prompt LIKE 'writer %'")" 50
    [ ! -e "$(SPOOL)" ]
    ls "$(dirname "$(DB)")" | grep -v -E '^logs\.db(-wal|-shm)?$' && false
    true
}

@test "a running batch, 50 completes and readers at once: every record once" {
    seq 3000 | awk '{ printf "{\"id\":%d,\"prompt\":\"item %d\"}\n", $1, $1 }' >"$TEST_HOME/in.jsonl"
    flexiai batch -q -j 16 --tag big -i "$TEST_HOME/in.jsonl" -o "$TEST_HOME/out.jsonl" \
        2>"$TEST_HOME/batch.err" &
    PIDS=$!
    writers_and_readers
    assert_equal "$(wc -l <"$TEST_HOME/out.jsonl")" 3000
    run flexiai usage --by tag --json
    assert_success
    assert_equal "$(jq -r '.[] | select(.tag == "big") | .requests' <<<"$output")" 3000
    assert_equal "$(count "SELECT count(*) FROM requests")" 3050
    assert_equal "$(count "SELECT count(DISTINCT prompt) FROM requests")" 3050
    [ ! -e "$(SPOOL)" ]
}

# wait_count N: up to 10 s for the database to hold N records
wait_count() {
    local i n
    for i in $(seq 1 500); do
        n=$(count "SELECT count(*) FROM requests" 2>/dev/null)
        [ "$n" = "$1" ] && return 0
        sleep 0.02
    done
    echo "the database holds ${n:-no} records, not $1" >&2
    return 1
}

@test "a spool past [log] spool_max is imported in the background, no reader needed" {
    printf '[log]\nspool_max = 2000\n' >>"$CONFIG"
    flexiai complete "first" </dev/null >/dev/null
    [ -e "$(SPOOL)" ]
    [ ! -e "$(DB)" ]
    # the command's output ends when it does, not when the import does
    run --separate-stderr bash -c 'for i in 1 2 3 4 5 6; do flexiai complete "more $i" </dev/null; done | cat'
    assert_success
    assert_equal "${#lines[@]}" 6
    assert_equal "$stderr" ""
    # imported without any reader, straight into the database; a record
    # written while the import ran may wait in a new, small spool
    local i in_db=0 waiting=0
    for i in $(seq 1 500); do
        in_db=$(count "SELECT count(*) FROM requests" 2>/dev/null || echo 0)
        waiting=$(cat "$(SPOOL)" 2>/dev/null | wc -l)
        [ "$in_db" -gt 0 ] && [ $((in_db + waiting)) -eq 7 ] && break
        sleep 0.02
    done
    assert [ "$in_db" -ge 3 ]
    assert_equal "$((in_db + waiting))" 7
    # a batch starts it too, at its end; spool_max = 0 never does
    seq 20 | awk '{ printf "{\"id\":%d,\"prompt\":\"item %d\"}\n", $1, $1 }' >"$TEST_HOME/in.jsonl"
    flexiai batch -q -i "$TEST_HOME/in.jsonl" >/dev/null
    wait_count 27
    [ ! -e "$(SPOOL)" ]
    sed -i 's/^spool_max = .*/spool_max = 0/' "$CONFIG"
    flexiai batch -q -i "$TEST_HOME/in.jsonl" >/dev/null
    # an import started here would run detached, with nothing to wait for;
    # the half second gives it time to show (a stamp, a spool moved, more
    # records).  On a loaded machine the check is weaker, never wrong.
    sleep 0.5
    [ -e "$(SPOOL)" ]
    assert_equal "$(count "SELECT count(*) FROM requests")" 27
    [ ! -e "$(DB).spool.importing" ]
    run flexiai logs import
    assert_success
    assert_output "20 records imported"
    [ ! -e "$(SPOOL)" ]
    run flexiai logs import
    assert_output "0 records imported"
}

@test "an import that fails (corrupt database) is started again a minute later, not by every request" {
    printf '[log]\nspool_max = 300\n' >>"$CONFIG"
    mkdir -p "$(dirname "$(DB)")"
    head -c 65536 /dev/urandom | base64 >"$(DB)"
    local stamp
    stamp="$(DB).spool.importing"
    run --separate-stderr flexiai complete "first" </dev/null
    assert_success
    assert_output "first"
    assert_equal "$stderr" ""
    [ -e "$stamp" ]
    # started 30 s ago and failed: not again yet
    touch -d '-30 seconds' "$stamp"
    local before
    before=$(stat -c %Y "$stamp")
    run --separate-stderr flexiai complete "second" </dev/null
    assert_output "second"
    assert_equal "$(stat -c %Y "$stamp")" "$before"
    # two minutes ago: again
    touch -d '-2 minutes' "$stamp"
    before=$(stat -c %Y "$stamp")
    flexiai complete "third" </dev/null >/dev/null
    assert [ "$(stat -c %Y "$stamp")" -gt "$before" ]
    # nothing was lost meanwhile: every record waits in the spool
    assert_equal "$(grep -c '"command":"complete"' "$(SPOOL)")" 3
}

@test "a record torn by a crash is set aside with one warning, the rest imported" {
    flexiai complete "before" </dev/null >/dev/null
    # a writer killed mid-write: half a line, no newline
    head -c 40 "$(SPOOL)" >"$TEST_HOME/torn"
    cat "$TEST_HOME/torn" >>"$(SPOOL)"
    flexiai complete "after" </dev/null >/dev/null
    run --separate-stderr flexiai logs -n 5 --json
    assert_success
    assert_equal "$(jq -r .messages[0].content <<<"$output" | paste -sd,)" "before,after"
    assert_equal "$(wc -l <<<"$stderr")" 1
    [[ $stderr == "flexiai: warning: records waiting in $(DB).spool: 1 damaged record"* ]]
    # not lost forever: kept for a human to look at
    assert_equal "$(cat "$(SPOOL).damaged")" "$(cat "$TEST_HOME/torn")"
    run --separate-stderr flexiai logs -n 5
    assert_equal "$stderr" ""
    # a torn last line alone (the crash was the last write)
    cat "$TEST_HOME/torn" >>"$(SPOOL)"
    run --separate-stderr flexiai usage --json
    assert_success
    assert_equal "$(jq -r '.[0].requests' <<<"$output")" 2
    assert_equal "$(grep -c 'damaged' <<<"$stderr")" 1
}

@test "an import that crashed is finished by the next reader, nothing twice" {
    flexiai complete "one" </dev/null >/dev/null
    flexiai usage >/dev/null
    # crashed after renaming the spool, before its commit: imported later
    flexiai complete "two" </dev/null >/dev/null
    mv "$(SPOOL)" "$(SPOOL).00000000000000aa"
    # crashed after the commit, before deleting: never imported again
    flexiai complete "three" </dev/null >/dev/null
    flexiai usage >/dev/null
    flexiai complete "four" </dev/null >/dev/null
    local done
    done=$(count "SELECT value FROM meta WHERE key = 'spool_done'")
    [[ $done =~ ^[0-9a-f]{16} ]]
    echo '{"time":1,"command":"complete","mode":"full","messages":[["user","ghost"]]}' \
        >"$(SPOOL).${done:0:16}"
    run --separate-stderr flexiai logs -n 10 --json
    assert_success
    assert_equal "$stderr" ""
    assert_equal "$(jq -r .messages[0].content <<<"$output" | paste -sd,)" "one,two,three,four"
    ls "$(dirname "$(DB)")" | grep -v -E '^logs\.db(-wal|-shm)?$' && false
    true
}
