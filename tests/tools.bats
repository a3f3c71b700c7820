#!/usr/bin/env bats
# The tool loop (issue 22) end to end: complete, chat and batch with
# --tools against mockllm scripted to call tools (tool_calls=, see
# tests/mockllm/README.md), real [tool.NAME] commands run by flexiai, the
# results checked where the model gets them (mockllm's log of the next
# request), approvals, parallel calls, --max-tool-rounds, the output, the
# ledger, and failover in the middle of a tool conversation.

load helpers

setup() {
    setup_env
    start_mockllm
    MARK=$TEST_HOME/ran
    write_base
}

# a: OpenAI Chat Completions, b: Anthropic (or $B_TYPE) behind it.
# echo: auto-approved, answers its arguments; touch: not approved, leaves
# a mark when it runs; flip: auto-approved, makes provider a fail from
# now on (a tool that changes mockllm's script between two model calls).
write_base() {
    {
        printf '[failover]\nretries = 0\nbackoff_base = 0.01\n\n'
        printf '[log]\nmode = full\n\n'
        provider_section a openai a "priority = 1"
        provider_section b "${B_TYPE:-anthropic}" b "priority = 2"
        printf '[tool.echo]\ncommand = cat\ndescription = Echo the arguments\n'
        printf 'parameters = text\napprove = auto\n\n'
        printf '[tool.touch]\ncommand = sh -c %s\n' "'echo ran >>$MARK; echo touched'"
        printf 'description = Leave a mark\n\n'
        printf '[tool.flip]\ncommand = sh -c %s\napprove = auto\n' \
            "'curl -sf -X POST --data-binary status=500 $MOCK_URL/_control/script/a >/dev/null; echo flipped'"
        printf 'description = Turn provider a off\n\n'
    } | write_config
}

body() { mock_last_body "$1"; }
# the tool messages of the last OpenAI request: "id content" lines
openai_results() { body "$1" | jq -r '.messages[] | select(.role == "tool") | "\(.tool_call_id) \(.content)"'; }

@test "complete runs an approved tool and the model's next request carries its result" {
    mock_script a 'tool_calls=echo:{"text":"hi"},reply=the answer'
    run --separate-stderr flexiai complete --no-stream --tools echo "use the tool"
    assert_success
    assert_output "the answer"
    assert_equal "$(mock_count a)" "2"
    assert_equal "$(mock_log a | jq -r .invalid)" "0"
    # the definition went out with both requests
    assert_equal "$(body a | jq -r '.tools[0].function.name')" "echo"
    # the assistant turn with its call, then the result, in the history
    assert_equal "$(body a | jq -r '.messages[1].tool_calls[0].id')" "call_1_1"
    assert_equal "$(openai_results a)" 'call_1_1 {"text":"hi"}'
    assert_equal "$(mock_count b)" "0"
}

@test "complete answers a call of a tool not approved with 'not allowed', and it never runs" {
    mock_script a 'tool_calls=touch:{},reply=done'
    run --separate-stderr flexiai complete --no-stream --tools echo,touch "go"
    assert_success
    assert_output "done"
    assert_file_not_exists "$MARK"
    run openai_results a
    # (Chat Completions has no error flag: an error result starts "Error:")
    assert_output --partial "call_1_1 Error: not allowed: touch is not approved"
}

@test "--approve NAME lets complete run a tool that asks" {
    mock_script a 'tool_calls=touch:{},reply=done'
    run --separate-stderr flexiai complete --no-stream --tools touch --approve touch "go"
    assert_success
    assert_file_exists "$MARK"
    assert_equal "$(openai_results a)" "call_1_1 touched"
}

@test "parallel calls in one turn: each runs, each result answers its call id, --json lists them" {
    mock_script a 'tool_calls=echo:{"text":"one"};echo:{"text":"two"};touch:{},reply=both'
    run --separate-stderr flexiai complete --json --tools echo,touch "go"
    assert_success
    assert_equal "$(echo "$output" | jq -r .text)" "both"
    assert_equal "$(echo "$output" | jq -r '.tool_calls | length')" "3"
    assert_equal "$(echo "$output" | jq -r '.tool_calls[1].result')" '{"text":"two"}'
    assert_equal "$(echo "$output" | jq -r '.tool_calls[2].is_error')" "true"
    assert_equal "$(echo "$output" | jq -r '.tool_calls[0].is_error')" "false"
    assert_equal "$(echo "$output" | jq -r '.tool_calls[0].arguments')" '{"text":"one"}'
    assert_equal "$(echo "$output" | jq -r .tool_rounds)" "1"
    # both model calls are billed: two attempts, their tokens summed
    assert_equal "$(echo "$output" | jq -r '.attempts | length')" "2"
    assert_equal "$(echo "$output" | jq -r '[.attempts[].usage.prompt_tokens] | add')" \
        "$(echo "$output" | jq -r .usage.prompt_tokens)"
    run openai_results a
    assert_line --index 0 'call_1_1 {"text":"one"}'
    assert_line --index 1 'call_1_2 {"text":"two"}'
    assert_line --index 2 --partial 'call_1_3 Error: not allowed'
}

@test "--max-tool-rounds: a model that keeps calling tools ends with 65 and one line" {
    mock_script a 'tool_calls=echo:{"text":"again"},tool_rounds=5,reply=never'
    run --separate-stderr flexiai complete --no-stream --tools echo --max-tool-rounds 2 "loop"
    assert_failure 65
    assert_equal "$(mock_count a)" "3"
    assert_equal "$stderr" "flexiai: the model still called tools after 2 rounds (--max-tool-rounds 2)"
}

@test "-v shows one line per call with its sizes" {
    mock_script a 'tool_calls=echo:{"text":"hi"},reply=ok'
    run --separate-stderr flexiai complete -v --no-stream --tools echo "go"
    assert_success
    echo "$stderr" | grep -qx 'flexiai: tool echo: 13 bytes of arguments, 13 bytes of result'
}

@test "bad options and names: one line each" {
    run --separate-stderr flexiai complete --tools nosuch "go"
    assert_failure 64
    assert_equal "$(mock_count a)" "0"
    [[ "$stderr" == "flexiai: --tools: no tool or MCP server 'nosuch'"* ]]
    run --separate-stderr flexiai complete --approve echo "go"
    assert_failure 64
    [[ "$stderr" == "flexiai: --approve needs --tools"* ]]
    run --separate-stderr flexiai complete --tools echo --max-tool-rounds x "go"
    assert_failure 64
    run --separate-stderr flexiai batch --deferred --tools echo </dev/null
    assert_failure 64
    [[ "$stderr" == "flexiai: --tools is not sent with --deferred"* ]]
    assert_equal "$(mock_count a)" "0"
}

@test "the ledger keeps the calls and results; logs show displays them" {
    mock_script a 'tool_calls=echo:{"text":"kept"},reply=logged'
    run --separate-stderr flexiai complete --no-stream --tools echo "remember"
    assert_success
    run flexiai logs --json
    assert_success
    id=$(echo "$output" | jq -r .id | tail -1)
    run flexiai logs show "$id"
    assert_success
    assert_line '  tool echo (call_1_1): {"text":"kept"}'
    assert_line '    result: {"text":"kept"}'
    assert_line '  logged'
    run flexiai logs show --json "$id"
    assert_success
    assert_equal "$(echo "$output" | jq -r '.tool_calls[0].name')" "echo"
}

@test "batch: items that call tools run them and go round again; lines carry the calls" {
    mock_script a 'tool_calls=echo:{"text":"b"},reply=item done'
    printf '{"id":1,"prompt":"one"}\n{"id":2,"prompt":"two"}\n' >"$TEST_HOME/in.jsonl"
    run --separate-stderr flexiai batch --tools echo,touch -i "$TEST_HOME/in.jsonl"
    assert_success
    assert_equal "$(mock_count a)" "4"
    assert_equal "$(echo "$output" | jq -r .text | sort -u)" "item done"
    assert_equal "$(echo "$output" | jq -r '.tool_calls[0].result' | sort -u)" '{"text":"b"}'
    assert_equal "$(echo "$output" | jq -r '.attempts | length' | sort -u)" "2"
    assert_file_not_exists "$MARK"
}

@test "★ failover inside a tool conversation: openai answers round 1, fails, anthropic finishes from the converted history" {
    mock_script a 'tool_calls=flip:{}'
    mock_script b 'reply=finished by b'
    run --separate-stderr flexiai complete --json --tools flip "switch"
    assert_success
    assert_equal "$(echo "$output" | jq -r .text)" "finished by b"
    assert_equal "$(echo "$output" | jq -r .provider)" "b"
    assert_equal "$(mock_count a)" "2"
    assert_equal "$(mock_count b)" "1"
    assert_equal "$(mock_log b | jq -r .invalid)" "0"
    # b got the call as a tool_use block and its result as a tool_result
    assert_equal "$(body b | jq -r '.messages[1].content[] | select(.type == "tool_use") | .name')" "flip"
    assert_equal "$(body b | jq -r '.messages[2].content[] | select(.type == "tool_result") | .tool_use_id')" "call_1_1"
    body b | jq -r '.messages[2].content[] | select(.type == "tool_result") | .content' | grep -q flipped
    # every model call counted: a's answer, a's failure, b's answer
    assert_equal "$(echo "$output" | jq -r '.attempts | length')" "3"
    assert_equal "$(echo "$output" | jq -r '.attempts[1].error_class')" "server"
}

@test "★ failover inside a tool conversation to Gemini: the call and result as functionCall / functionResponse" {
    B_TYPE=gemini write_base
    mock_script a 'tool_calls=flip:{}'
    mock_script b 'reply=finished by gemini'
    run --separate-stderr flexiai complete --no-stream --tools flip "switch"
    assert_success
    assert_output "finished by gemini"
    assert_equal "$(mock_log b | jq -r .invalid)" "0"
    assert_equal "$(body b | jq -r '.contents[1].parts[] | select(.functionCall) | .functionCall.name')" "flip"
    assert_equal "$(body b | jq -r '.contents[2].parts[] | select(.functionResponse) | .functionResponse.name')" "flip"
}

@test "chat at a terminal asks before each call: yes, no, always" {
    mock_script a 'tool_calls=touch:{"n":1},reply=turn done'
    PTY=("python3" "$SRCDIR/tests/hostile/pty-run.py")
    run "${PTY[@]}" \
        --expect '> ' --send 'first\r' \
        --expect 'run it\?' --send 'n\r' \
        --expect 'turn done' --send 'second\r' \
        --expect 'run it\?' --send 'y\r' \
        --expect 'turn done' --send 'third\r' \
        --expect 'run it\?' --send 'a\r' \
        --expect 'turn done' --send 'fourth\r' \
        --expect 'turn done[\s\S]*-model\S*> ' --send '/tools\r' \
        --expect 'touch: runs without asking[\s\S]*-model\S*> ' --send '\x04' \
        -- flexiai chat --no-render --tools touch
    assert_success
    # refused once, then run three times (the fourth without a question)
    assert_equal "$(wc -l <"$MARK")" "3"
    assert_equal "$(echo "$output" | grep -c 'run it?')" "3"
    assert_output --partial 'the model calls touch with {"n":1}'
    assert_equal "$(mock_count a)" "8"
}

@test "chat from a script asks nobody: approved tools run, others are refused" {
    mock_script a 'tool_calls=echo:{"text":"x"};touch:{},reply=scripted'
    run --separate-stderr flexiai chat --tools echo,touch <<<"hello"
    assert_success
    assert_line "scripted"
    assert_file_not_exists "$MARK"
    run openai_results a
    assert_line --index 0 'call_1_1 {"text":"x"}'
    assert_line --index 1 --partial 'call_1_2 Error: not allowed'
}

@test "the approval question shows control characters escaped" {
    mock_script a 'tool_calls=touch:{},tool_args_raw=%1B[2Jwiped,reply=ok'
    PTY=("python3" "$SRCDIR/tests/hostile/pty-run.py")
    run "${PTY[@]}" --expect '> ' --send 'go\r' --expect 'run it\?' --send 'n\r' \
        --expect 'ok[\s\S]*-model\S*> ' --send '\x04' -- flexiai chat --no-render --tools touch
    assert_success
    assert_output --partial 'the model calls touch with ^[[2Jwiped'
    [[ "$output" != *$'\e[2Jwiped'* ]]
    assert_file_not_exists "$MARK"
}

@test "streamed: the answer after the tool round reaches stdout" {
    mock_script a 'tool_calls=echo:{"text":"s"},reply=streamed answer'
    run --separate-stderr flexiai complete --stream --tools echo "go"
    assert_success
    assert_output "streamed answer"
    assert_equal "$(openai_results a)" 'call_1_1 {"text":"s"}'
    assert_equal "$(body a | jq -r .stream)" "true"
}

@test "a tool's failure is a result the model reads, never a provider failure" {
    {
        printf '[tool.broken]\ncommand = sh -c %s\napprove = auto\n\n' "'echo broken; exit 3'"
    } >>"$CONFIG"
    mock_script a 'tool_calls=broken:{},reply=coped'
    run --separate-stderr flexiai complete --json --tools broken "go"
    assert_success
    assert_equal "$(echo "$output" | jq -r .text)" "coped"
    assert_equal "$(echo "$output" | jq -r '.tool_calls[0].is_error')" "true"
    assert_equal "$(echo "$output" | jq -r '[.attempts[].outcome] | join(",")')" "success,success"
    assert_equal "$(mock_count b)" "0"
    run flexiai breaker status --json
    assert_equal "$(echo "$output" | jq -r '.[] | select(.provider == "a") | .failure_count')" "0"
}

@test "Ctrl-C while a tool runs kills it and ends with 130" {
    printf '[tool.slow]\ncommand = sleep 4321\napprove = auto\n\n' >>"$CONFIG"
    mock_script a 'tool_calls=slow:{},reply=never'
    flexiai complete --no-stream --tools slow "go" >"$TEST_HOME/out" 2>"$TEST_HOME/err" &
    pid=$!
    for i in $(seq 1 500); do
        pgrep -f 'sleep 4321' >/dev/null && break
        sleep 0.02
    done
    pgrep -f 'sleep 4321' >/dev/null
    kill -INT "$pid"
    status=0
    wait "$pid" || status=$?
    assert_equal "$status" "130"
    run pgrep -f 'sleep 4321'
    assert_failure
    assert_equal "$(mock_count a)" "1"
}

@test "batch: Ctrl-C while an item's tool runs kills it; the item is not written (130)" {
    printf '[tool.slow]\ncommand = sleep 4322\napprove = auto\n\n' >>"$CONFIG"
    mock_script a 'tool_calls=slow:{},reply=never'
    echo '{"id":1,"prompt":"go"}' >"$TEST_HOME/in.jsonl"
    flexiai batch --tools slow -i "$TEST_HOME/in.jsonl" -o "$TEST_HOME/out.jsonl" 2>"$TEST_HOME/err" &
    pid=$!
    for i in $(seq 1 500); do
        pgrep -f 'sleep 4322' >/dev/null && break
        sleep 0.02
    done
    pgrep -f 'sleep 4322' >/dev/null
    kill -INT "$pid"
    status=0
    wait "$pid" || status=$?
    assert_equal "$status" "130"
    run pgrep -f 'sleep 4322'
    assert_failure
    assert_equal "$(wc -c <"$TEST_HOME/out.jsonl")" "0"
}

@test "[log] mode = usage keeps no tool calls" {
    sed -i 's/^mode = full$/mode = usage/' "$CONFIG"
    mock_script a 'tool_calls=echo:{"text":"secret"},reply=fine'
    run --separate-stderr flexiai complete --no-stream --tools echo "go"
    assert_success
    run flexiai logs --json
    id=$(echo "$output" | jq -r .id | tail -1)
    run flexiai logs show --json "$id"
    assert_success
    assert_equal "$(echo "$output" | jq -r 'has("tool_calls")')" "false"
    run flexiai logs show "$id"
    refute_output --partial secret
}

@test "batch resume: an answer made without --tools was another request's (a warning says so)" {
    printf '{"id":1,"prompt":"one"}\n' >"$TEST_HOME/in.jsonl"
    run --separate-stderr flexiai batch -i "$TEST_HOME/in.jsonl" -o "$TEST_HOME/out.jsonl"
    assert_success
    run --separate-stderr flexiai batch --tools echo -i "$TEST_HOME/in.jsonl" -o "$TEST_HOME/out.jsonl"
    assert_success
    assert_equal "$(mock_count a)" "1"
    [[ "$stderr" == *"1 item skipped as answered (id 1) had another prompt, schema or options"* ]]
}

# ---- the issue's new-user check: a real MCP server and a disk tool ------

mcp_fs() {
    local fs=${FX_MCP_FS:-$(command -v mcp-server-filesystem)}
    if [ -z "$fs" ] || [ ! -x "$fs" ]; then
        echo "no MCP filesystem server at ${FX_MCP_FS:-FX_MCP_FS (unset)}: run .ci/mcp-install (the README's test command does)" >&2
        return 1
    fi
    echo "$fs"
}

# [mcp.fs] over a scratch directory and [tool.disk] (df -h), both asking
write_user_config() {
    local fs
    fs=$(mcp_fs) || return 1
    mkdir -p "$TEST_HOME/share"
    echo "small" >"$TEST_HOME/share/a.txt"
    head -c 30000 /dev/zero >"$TEST_HOME/share/big.bin"
    {
        printf '[failover]\nretries = 0\nbackoff_base = 0.01\n\n'
        provider_section a openai a "priority = 1"
        provider_section b anthropic b "priority = 2"
        printf '[mcp.fs]\ncommand = "%s" "%s"\ntimeout = 60\n\n' "$fs" "$TEST_HOME/share"
        printf '[tool.disk]\ncommand = df -h\ndescription = Disk usage\n\n'
    } | write_config
    CALLS="tool_calls=fs_list_directory_with_sizes:{\"path\":\"$TEST_HOME/share\"};disk:{}"
}

# chat on a pty: the question, then yes to the listing and no to df
chat_largest() {
    python3 "$SRCDIR/tests/hostile/pty-run.py" \
        --expect '> ' --send 'which file in the folder is largest, and is the disk full?\r' \
        --expect 'calls fs_list_directory_with_sizes[^\n]*\n[^\n]*run it\?' --send 'y\r' \
        --expect 'calls disk[^\n]*\n[^\n]*run it\?' --send 'n\r' \
        --expect 'big\.bin is the largest[\s\S]*-model\S*> ' --send '\x04' \
        -- flexiai chat --no-render --tools fs,disk
}

@test "new user: chat with [mcp.fs] and [tool.disk], one call approved and one refused" {
    write_user_config
    mock_script a "$CALLS,reply=big.bin is the largest"
    run chat_largest
    assert_success
    assert_equal "$(mock_count a)" "2"
    assert_equal "$(mock_log a | jq -r .invalid)" "0"
    result() { body a | jq -r --arg id "$1" '.messages[] | select(.tool_call_id == $id) | .content'; }
    result call_1_1 | grep -q '^\[FILE\] big\.bin'
    result call_1_1 | grep -q '^\[FILE\] a\.txt'
    assert_equal "$(result call_1_2)" "Error: not allowed: the user refused this call"
    # the question showed the call's arguments
    assert_output --partial "calls fs_list_directory_with_sizes with {\"path\":\"$TEST_HOME/share\"}"
}

@test "new user: the same with the first provider failing after its first tool round; the second finishes" {
    write_user_config
    # a fails every other request from the first: one spent here, so the
    # chat's first request (the calls) passes and its second fails
    mock_script a "$CALLS,status=500,fail_every=2,reply=never"
    mock_script b 'reply=big.bin is the largest (from b)'
    curl -s -o /dev/null -H 'Authorization: Bearer test-key-a' -H 'Content-Type: application/json' \
        --data '{"model":"m","messages":[{"role":"user","content":"spent"}]}' \
        "$MOCK_URL/p/a/v1/chat/completions"
    run chat_largest
    assert_success
    assert_output --partial 'big.bin is the largest (from b)'
    assert_equal "$(mock_count a)" "3"
    assert_equal "$(mock_count b)" "1"
    assert_equal "$(mock_log b | jq -r .invalid)" "0"
    # b got the listing and the refusal as tool_result blocks
    assert_equal "$(body b | jq -r '[.messages[2].content[] | select(.type == "tool_result")] | length')" "2"
    body b | jq -r '.messages[2].content[0].content' | grep -q 'big\.bin'
    body b | jq -r '.messages[2].content[1].content' | grep -q 'not allowed'
}
