#!/usr/bin/env bats
# The request ledger when things go wrong: a corrupt, unwritable, read-only
# or locked database never costs an answer (one warning line per process,
# the usual exit code); 50 concurrent writers lose nothing; no secret ever
# reaches the database, whatever a provider echoes back.

load helpers

setup() {
    setup_env
    start_mockllm
    {
        printf '[failover]\nretries = 0\n'
        provider_section primary openai p1 "priority = 1"
        provider_section secondary anthropic s1 "priority = 2"
    } | write_config
}

DB() { echo "$XDG_DATA_HOME/flexiai/logs.db"; }
# records wait in logs.db.spool until a reader (logs, usage) moves them in
nrec() { flexiai usage >/dev/null && sqlite3 "$(DB)" 'SELECT count(*) FROM requests'; }

corrupt_db() {
    mkdir -p "$(dirname "$(DB)")"
    head -c 65536 /dev/urandom | base64 >"$(DB)"
}

@test "a corrupt database: answers as usual; the readers say so, the records wait" {
    corrupt_db
    # complete only appends to the spool: the database is not its concern
    run --separate-stderr flexiai complete "still answered" </dev/null
    assert_success
    assert_output "still answered"
    assert_equal "$stderr" ""
    # a failing request keeps its own exit code and error line
    mock_script p1 "status=503"
    mock_script s1 "status=503"
    run --separate-stderr flexiai complete "fails" </dev/null
    assert_equal "$status" 75
    assert_equal "$(wc -l <<<"$stderr")" 1
    # the readers say so on one line and exit 66
    run --separate-stderr flexiai logs
    assert_equal "$status" 66
    assert_equal "$(wc -l <<<"$stderr")" 1
    run --separate-stderr flexiai usage
    assert_equal "$status" 66
    # nothing was lost: with the broken file gone, both records arrive
    rm "$(DB)"
    run --separate-stderr flexiai logs -n 5 --json
    assert_success
    assert_equal "$stderr" ""
    assert_equal "$(jq -r .messages[0].content <<<"$output" | paste -sd,)" "still answered,fails"
}

@test "chat over a corrupt database: every turn answered, no warning" {
    corrupt_db
    run --separate-stderr flexiai chat <<<$'one\ntwo\nthree'
    assert_success
    assert_line one
    assert_line three
    assert_equal "$(grep -c 'warning' <<<"$stderr")" 0
    rm "$(DB)"
    assert_equal "$(nrec)" 3
}

@test "an unwritable ledger path: answer, exit 0, one warning" {
    echo "a file, not a directory" >"$TEST_HOME/file"
    printf '[log]\npath = %s/file/logs.db\n' "$TEST_HOME" >>"$CONFIG"
    run --separate-stderr flexiai complete "answered anyway" </dev/null
    assert_success
    assert_output "answered anyway"
    [[ $stderr == "flexiai: warning: request not logged: "* ]]
    assert_equal "$(wc -l <<<"$stderr")" 1
    run --separate-stderr flexiai complete -q "quiet" </dev/null
    assert_success
    assert_equal "$stderr" ""
}

@test "a read-only database (another user's): answer, exit 0, one warning" {
    flexiai complete "first" </dev/null >/dev/null
    local dir
    dir=$(dirname "$(DB)")
    # a user who may read but not write it (chmod alone does not stop root)
    chmod 755 "$TEST_HOME" "$TEST_HOME/.local" "$XDG_DATA_HOME" "$dir"
    chmod 644 "$(DB)" "$(DB)"-* 2>/dev/null || true
    mkdir -m 777 "$TEST_HOME/nobody-state"
    printf '[provider.primary]\ntype = openai\nmodel = m\napi_key_env = FX_KEY\nbase_url = %s/p/p1/v1\n' \
        "$MOCK_URL" >"$TEST_HOME/ro.ini"
    chmod 644 "$TEST_HOME/ro.ini"
    run --separate-stderr env FX_KEY=k XDG_STATE_HOME="$TEST_HOME/nobody-state" \
        setpriv --reuid=65534 --regid=65534 --clear-groups \
        flexiai complete -c "$TEST_HOME/ro.ini" "read only" </dev/null
    assert_success
    assert_output "read only"
    [[ $stderr == "flexiai: warning: request not logged: "* ]]
    assert_equal "$(wc -l <<<"$stderr")" 1
    assert_equal "$(nrec)" 1
}

@test "a lock held for a second: the reader waits, nothing lost, no warning" {
    flexiai complete "first" </dev/null >/dev/null
    flexiai usage >/dev/null # the database, with the first record
    # the lock is held for a second from when sqlite3 has it (it says so
    # with a file), so that however slow the machine the command below
    # starts while it is held
    { echo "BEGIN EXCLUSIVE; INSERT INTO meta VALUES('x','y');"
      echo ".shell touch '$TEST_HOME/locked'"
      for i in $(seq 1 500); do [ -e "$TEST_HOME/locked" ] && break; sleep 0.02; done
      sleep 1
      echo "COMMIT;"; } | sqlite3 "$(DB)" &
    lock=$!
    for i in $(seq 1 500); do [ -e "$TEST_HOME/locked" ] && break; sleep 0.02; done
    [ -e "$TEST_HOME/locked" ]
    run --separate-stderr flexiai complete "second" </dev/null
    wait $lock
    assert_success
    assert_output "second"
    assert_equal "$stderr" ""
    assert_equal "$(nrec)" 2
}

@test "50 concurrent completes: 50 records, no 'database is locked'" {
    flexiai complete "create it" </dev/null >/dev/null
    local i pids=
    for i in $(seq 1 50); do
        flexiai complete "writer $i" </dev/null >"$TEST_HOME/out.$i" 2>"$TEST_HOME/err.$i" &
        pids="$pids $!"
    done
    local failed=0
    for p in $pids; do wait "$p" || failed=$((failed + 1)); done
    assert_equal "$failed" 0
    assert_equal "$(cat "$TEST_HOME"/err.* | wc -c)" 0
    run ! grep -qi "locked" "$TEST_HOME"/err.*
    assert_equal "$(nrec)" 51
    assert_equal "$(sqlite3 "$(DB)" "SELECT count(DISTINCT prompt) FROM requests WHERE prompt LIKE 'writer %'")" 50
}

@test "no secret reaches the database, even when a provider echoes it back" {
    local k1=SENTINEL-file-7f3a9c55e1 k2=SENTINEL-cmd-5e1d0b77a2 k3=SENTINEL-env-9c2e4f11d8
    {
        printf '[failover]\nretries = 0\n'
        printf '[provider.primary]\ntype = openai\nmodel = m1\npriority = 1\nbase_url = %s/p/p1/v1\napi_key = %s\n\n' "$MOCK_URL" "$k1"
        printf '[provider.secondary]\ntype = anthropic\nmodel = m2\npriority = 2\nbase_url = %s/p/s1\napi_key_cmd = echo %s\n\n' "$MOCK_URL" "$k2"
        printf '[provider.third]\ntype = openai\nmodel = m3\npriority = 3\nbase_url = %s/p/t1/v1\napi_key_env = FX_K3\n' "$MOCK_URL"
    } | write_config
    export FX_K3=$k3
    # success, failover, every provider failing with the key in the body
    flexiai complete "plain" </dev/null >/dev/null
    mock_script p1 "status=401,error_message=bad key $k1 Bearer $k1"
    flexiai complete --tag t "failover" </dev/null >/dev/null
    mock_script s1 "status=500,error_message=echo $k2"
    mock_script t1 "status=400,error_message=Authorization: Bearer $k3"
    run flexiai complete "all fail" </dev/null
    [ "$status" -ne 0 ]
    flexiai chat <<<"chat turn" >/dev/null 2>&1 || true
    mock_reset
    mock_script p1 "status=503,error_message=$k1"
    mock_script s1 "drop"
    mock_script t1 "status=200,error_body,error_message=$k3"
    flexiai complete --json "stream and json" </dev/null >/dev/null 2>&1 || true
    flexiai complete --stream "streamed" </dev/null >/dev/null 2>&1 || true
    # not in the spool where the records wait
    [ -s "$(DB).spool" ]
    run ! grep -qa SENTINEL "$(DB).spool"
    assert_equal "$(nrec)" 6
    # not in the files (the WAL included), nor in what the readers print
    run ! grep -rqa SENTINEL "$XDG_DATA_HOME"
    sqlite3 "$(DB)" .dump >"$TEST_HOME/dump"
    run ! grep -qa SENTINEL "$TEST_HOME/dump"
    run ! grep -q SENTINEL <<<"$(flexiai logs -n 100 --json)"
    run ! grep -q SENTINEL <<<"$(flexiai logs show 3)"
    run ! grep -q SENTINEL <<<"$(flexiai usage --prometheus)"
    # the errors themselves were kept, without the keys
    flexiai logs show --json 3 | jq -e '.attempts | length == 3' >/dev/null
    flexiai logs show --json 3 | jq -r '.attempts[].message' | grep -q 'redacted'
}
