#!/usr/bin/env bats
# tools-exec.bats - tools from the configuration (issue 22), run by hand
# with `flexiai tools call` the way the tool loop runs them: a [tool.NAME]
# command (stdin in, bounded stdout out, exit status, timeout, limited
# environment, no shell, fds 0-2 only, its own session), the config
# checks, and MCP servers: @modelcontextprotocol/server-filesystem from npm
# (FX_MCP_FS, installed by .ci/mcp-install) and tests/fixtures/mcp-junk.py for
# servers that misbehave.

load helpers

JUNK=$SRCDIR/tests/fixtures/mcp-junk.py

# alive PID: running (a zombie is gone)
alive() {
    local s
    s=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    [ -n "$s" ] && [[ $s != Z* ]]
}

@test "a tool gets the call's arguments on stdin; its stdout is the result" {
    write_config <<'EOF'
[tool.echo]
command = cat
description = echoes its input
EOF
    run --separate-stderr flexiai tools call echo '{"text": "hello"}'
    assert_success
    assert_output '{"text": "hello"}'
    assert_equal "$stderr" ""
}

@test "output over max_output is cut with a marker" {
    write_config <<'EOF'
[tool.big]
command = sh -c 'printf "%05000d" 0'
max_output = 100
EOF
    run --separate-stderr flexiai tools call big
    assert_success
    assert_line --index 1 '[flexiai: output cut at 100 of 5000 bytes]'
    assert_line --index 0 "$(printf '%0100d' 0)"
}

@test "a non-zero exit is an error result with the tool's stderr" {
    write_config <<'EOF'
[tool.fail]
command = sh -c 'echo partial; echo broken >&2; exit 3'
EOF
    run --separate-stderr flexiai tools call fail
    assert_failure 1
    assert_line --index 0 '[flexiai: tool fail exited with status 3]'
    assert_line --index 1 'broken'
    assert_line --index 2 'partial'
}

@test "a tool over its timeout is killed with its process group" {
    write_config <<EOF
[tool.slow]
command = sh -c 'sleep 300 & echo \$! > "$TEST_HOME/bg"; echo \$\$ > "$TEST_HOME/fg"; exec sleep 301'
timeout = 1
EOF
    run --separate-stderr flexiai tools call slow
    assert_failure 1
    assert_line --index 0 '[flexiai: tool slow timed out after 1 s and was killed]'
    [ -s "$TEST_HOME/fg" ] && [ -s "$TEST_HOME/bg" ]
    ! alive "$(cat "$TEST_HOME/fg")"
    ! alive "$(cat "$TEST_HOME/bg")"
}

@test "a tool's environment is PATH, HOME, LANG and what env names" {
    write_config <<'EOF'
[tool.envy]
command = env
env = KEEP_ME, UNSET_ONE
EOF
    KEEP_ME=kept DROP_ME=secret run --separate-stderr flexiai tools call envy
    assert_success
    assert_line 'KEEP_ME=kept'
    assert_line --regexp '^PATH='
    refute_output --partial 'DROP_ME'
    refute_output --partial 'UNSET_ONE'
    refute_output --regexp '^(FX_|BATS|XDG)'
    run grep -cvE '^(PATH|HOME|LANG|KEEP_ME)=' <<<"$output"
    assert_output 0
}

@test "nothing goes through a shell: the command's words, the model's arguments" {
    cd "$TEST_HOME"
    write_config <<'EOF'
[tool.words]
command = printf "%s|" $(touch made-by-argv) "a b" 'c "d"' e\ f
[tool.cat]
command = cat
EOF
    run --separate-stderr flexiai tools call words
    assert_success
    assert_output '$(touch|made-by-argv)|a b|c "d"|e f|'
    run --separate-stderr flexiai tools call cat '{"x": "$(touch made-by-args)`touch b`"}'
    assert_success
    assert_output '{"x": "$(touch made-by-args)`touch b`"}'
    run ls "$TEST_HOME"
    refute_output --partial made-by
    refute_line b
}

@test "a tool has fds 0-2 only, and a session and process group of its own" {
    write_config <<'EOF'
[tool.fds]
command = sh -c 'ls /proc/$$/fd | tr "\n" " "; ps -o pid=,pgid=,sid=,tty= -p $$'
EOF
    run --separate-stderr flexiai tools call fds 3</dev/null 4</dev/null
    assert_success
    assert_output --regexp '^0 1 2 +([0-9]+) +\1 +\1 +\?$'
}

@test "a command that cannot run is an error result" {
    write_config <<'EOF'
[tool.nope]
command = /nonexistent/tool
EOF
    run --separate-stderr flexiai tools call nope
    assert_failure 1
    assert_output "[flexiai: tool nope: cannot run '/nonexistent/tool': No such file or directory]"
}

@test "an unknown tool is a usage error" {
    write_config <<'EOF'
[tool.echo]
command = cat
EOF
    run --separate-stderr flexiai tools call ecko '{}'
    assert_failure 64
    assert_equal "$stderr" "flexiai: no tool 'ecko' in the configuration (see flexiai tools list)"
}

@test "config check points at the line of each tool mistake" {
    write_config <<'EOF'
[tool.bad name]
command = true

[tool.noquote]
command = printf 'oops

[tool.nocmd]
description = nothing to run

[tool.params]
command = cat
parameters = {"type": "object",

[tool.envs]
command = env
env = GOOD, 1BAD
aprove = auto

[mcp.fs]
command = true
description = servers have none
EOF
    run --separate-stderr flexiai config check
    assert_failure 78
    [[ $stderr == *"config.ini:2: [tool.bad name]: a name is 1 to 64 of A-Z a-z 0-9 _ -"* ]]
    [[ $stderr == *"config.ini:5: tool.noquote.command: a ' is not closed"* ]]
    [[ $stderr == *"config.ini:8: [tool.nocmd] has no command"* ]]
    [[ $stderr == *"config.ini:12: tool.params.parameters: not a JSON object"* ]]
    [[ $stderr == *"config.ini:16: tool.envs.env: '1BAD' is not a variable name"* ]]
    [[ $stderr == *"config.ini:17: unknown key 'aprove' in [tool.envs] (did you mean 'approve'?)"* ]]
    [[ $stderr == *"config.ini:21: unknown key 'description' in [mcp.fs]"* ]]
}

@test "config show lists a tool's keys with their defaults" {
    write_config <<'EOF'
[tool.disk]
command = df -h
approve = auto
EOF
    run --separate-stderr flexiai config show
    assert_success
    assert_line --regexp '^tool\.disk\.command = df -h  ; .*config\.ini:2$'
    assert_line --regexp '^tool\.disk\.approve = auto  ; .*config\.ini:3$'
    assert_line 'tool.disk.timeout = 30  ; default'
    assert_line 'tool.disk.max_output = 65536  ; default'
}

@test "tools list shows tools with approve modes; the DSL compiles to a schema" {
    write_config <<'EOF'
[tool.disk]
command = df -h
description = disk usage
approve = auto

[tool.read]
command = cat
parameters = path: the file to read, lines int
EOF
    run --separate-stderr flexiai tools list
    assert_success
    assert_line --regexp '^disk +tool\.disk +auto +disk usage$'
    assert_line --regexp '^read +tool\.read +ask +$'
    run --separate-stderr flexiai tools list --json
    assert_success
    assert_equal "$(jq -r '.[1].parameters.properties.lines.type' <<<"$output")" integer
    assert_equal "$(jq -r '.[1].parameters.required | join(",")' <<<"$output")" path,lines
}

# ---- MCP --------------------------------------------------------------

mcp_fs() {
    local fs=${FX_MCP_FS:-$(command -v mcp-server-filesystem)}
    if [ -z "$fs" ] || [ ! -x "$fs" ]; then
        echo "no MCP filesystem server at ${FX_MCP_FS:-FX_MCP_FS (unset)}: run .ci/mcp-install (the README's test command does)" >&2
        return 1
    fi
    echo "$fs"
}

@test "MCP filesystem server: its tools listed as fs_TOOL, called, stopped at exit" {
    fs=$(mcp_fs)
    mkdir -p "$TEST_HOME/share"
    echo "small" >"$TEST_HOME/share/a.txt"
    head -c 3000 /dev/zero >"$TEST_HOME/share/big.bin"
    write_config <<EOF
[mcp.fs]
command = "$fs" "$TEST_HOME/share"
timeout = 60
EOF
    run --separate-stderr flexiai tools list
    assert_success
    assert_line --regexp '^fs_read_text_file +mcp\.fs +ask +'
    assert_line --regexp '^fs_list_directory_with_sizes +mcp\.fs +ask +'
    run --separate-stderr flexiai tools call fs_list_directory "{\"path\": \"$TEST_HOME/share\"}"
    assert_success
    assert_line '[FILE] a.txt'
    assert_line '[FILE] big.bin'
    run --separate-stderr flexiai tools call fs_read_text_file "{\"path\": \"$TEST_HOME/share/a.txt\"}"
    assert_success
    assert_output small
    # outside its directory: the server's isError
    run --separate-stderr flexiai tools call fs_read_text_file '{"path": "/etc/hostname"}'
    assert_failure 1
    assert_output --partial 'Access denied'
    # no server left behind
    run pgrep -f "$TEST_HOME/share"
    assert_failure
}

junk_config() {
    write_config <<EOF
[mcp.j]
command = python3 "$JUNK" $1
timeout = ${2:-10}
env = MCP_VERSION, MCP_LOG
EOF
}

@test "MCP: tools over two pages, text joined, images described, isError" {
    junk_config good
    export MCP_LOG=$TEST_HOME/mcp.log
    run --separate-stderr flexiai tools list --json
    assert_success
    assert_equal "$(jq -r 'map(.name) | join(",")' <<<"$output")" \
        j_echo,j_fail,j_picture,j_sleepy,j_odd_name
    # the handshake, in order; the second page asked with the cursor
    run jq -r 'select(.id) | .method + " " + (.params.protocolVersion // .params.cursor // "")' "$MCP_LOG"
    assert_line --index 0 'initialize 2025-11-25'
    assert_line --index 1 'tools/list '
    assert_line --index 2 'tools/list page2'
    run --separate-stderr flexiai tools call j_echo '{"message": "hi there"}'
    assert_success
    assert_output 'hi there'
    run --separate-stderr flexiai tools call j_picture
    assert_success
    assert_line --index 0 'a picture:'
    assert_line --index 1 '[image: image/png, 4 bytes of base64]'
    run --separate-stderr flexiai tools call j_fail
    assert_failure 1
    assert_output 'it failed'
    # arguments that are not an object never reach the server
    run --separate-stderr flexiai tools call j_echo '[1, 2]'
    assert_failure 1
    assert_output '[flexiai: the arguments are not a JSON object; the tool was not called]'
}

@test "MCP: an older protocol version is accepted, an unknown one refused" {
    junk_config good
    MCP_VERSION=2024-11-05 run --separate-stderr flexiai tools call j_echo '{"message": "old"}'
    assert_success
    assert_output old
    MCP_VERSION=1999-01-01 run --separate-stderr flexiai tools call j_echo '{"message": "x"}'
    assert_failure 69
    assert_equal "$stderr" "flexiai: mcp j: speaks protocol version 1999-01-01 (flexiai: 2025-11-25, 2025-06-18, 2025-03-26, 2024-11-05)"
}

@test "MCP: a server that writes junk, exits, answers another id or hangs is one line" {
    junk_config junk
    run --separate-stderr flexiai tools list
    assert_failure 69
    assert_equal "$stderr" "flexiai: mcp j: wrote something that is not JSON-RPC: this is not json"
    junk_config exit
    run --separate-stderr flexiai tools list
    assert_failure 69
    assert_equal "$stderr" "flexiai: mcp j: exited"
    junk_config wrongid
    run --separate-stderr flexiai tools list
    assert_failure 69
    assert_equal "$stderr" "flexiai: mcp j: answered a request never sent (id 101)"
    junk_config hang 2
    run --separate-stderr flexiai tools list
    assert_failure 69
    assert_equal "$stderr" "flexiai: mcp j: no answer to initialize within 2 s"
    run pgrep -f "$JUNK"
    assert_failure
}

@test "MCP: -v shows a failed server's stderr" {
    junk_config exit
    run --separate-stderr flexiai tools -v list
    assert_failure 69
    assert_equal "${stderr_lines[0]}" 'flexiai: warning: mcp j: stderr: mcp-junk: started in mode exit'
    assert_equal "${stderr_lines[1]}" 'flexiai: mcp j: exited'
}

@test "MCP: a call that hangs is an error result and the server is stopped" {
    junk_config good 3
    run --separate-stderr flexiai tools call j_sleepy
    assert_failure 1
    assert_output '[flexiai: MCP server j: no answer to tools/call within 3 s]'
    run pgrep -f "$JUNK"
    assert_failure
}

@test "bash completion offers the configured tool and server names" {
    write_config <<'EOF2'
[tool.disk]
command = df -h
[mcp.fs]
command = true
EOF2
    run bash -c "source '$SRCDIR/completions/flexiai'; COMP_WORDS=(flexiai tools call ''); COMP_CWORD=3; _flexiai; echo \"\${COMPREPLY[*]}\""
    assert_success
    assert_output 'disk fs'
}

@test "Ctrl-C kills a running tool: a cancelled result, exit 130" {
    write_config <<EOF2
[tool.slow]
command = sh -c 'echo \$\$ > "$TEST_HOME/pid"; exec sleep 300'
EOF2
    flexiai tools call slow >"$TEST_HOME/out" 2>&1 &
    local front=$! i
    for ((i = 0; i < 600; i++)); do
        [ -s "$TEST_HOME/pid" ] && break
        sleep 0.05
    done
    [ -s "$TEST_HOME/pid" ]
    kill -INT "$front"
    local rc=0
    wait "$front" || rc=$?
    assert_equal "$rc" 130
    assert_equal "$(cat "$TEST_HOME/out")" '[flexiai: tool slow was cancelled]'
    ! alive "$(cat "$TEST_HOME/pid")"
}
