#!/usr/bin/env bats
# flexiai chat: the readline REPL driven in a real pseudo-terminal (tmux:
# new-session -d with a fixed size, send-keys, capture-pane), and the
# scripted mode with stdin not a terminal.

load helpers

setup() {
    setup_env
    unset TMUX TMUX_PANE
    start_mockllm
    {
        printf '[failover]\nretries = 0\n\n'
        provider_section a openai a
        provider_section b openai b
    } | write_config
    TMUX_SOCKET=fxchat-$$-${BATS_TEST_NUMBER}
    printf 'set -g remain-on-exit on\nset -g history-limit 5000\n' >"$TEST_HOME/tmux.conf"
    CHAT_ENV=
}

teardown() {
    tmux -L "$TMUX_SOCKET" kill-server 2>/dev/null || true
    teardown_env
}

PROMPT_A='^a:openai-model> ?$'
PROMPT_B='^b:openai-model> ?$'

tm() { tmux -L "$TMUX_SOCKET" -f "$TEST_HOME/tmux.conf" "$@"; }

# chat_start [ARGS...]: `flexiai chat ARGS` in a 100x30 terminal (with
# $CHAT_ENV in its environment); its exit code goes to $TEST_HOME/rc.
chat_start() {
    # a fresh tmux server each time: starting one on the socket of a server
    # that is still shutting down ("server exited unexpectedly") races
    CHAT_STARTS=$((${CHAT_STARTS:-0} + 1))
    TMUX_SOCKET=fxchat-$$-${BATS_TEST_NUMBER}-$CHAT_STARTS
    rm -f "$TEST_HOME/rc"
    local args=
    [ $# -eq 0 ] || args=$(printf '%q ' "$@")
    tm new-session -d -x 100 -y 30 -s chat \
        "env $CHAT_ENV flexiai chat $args 2>&1; echo \$? >$TEST_HOME/rc"
    wait_last '> ?$'
}

# The screen, wrapped lines joined, with some scrollback.
screen() { tm capture-pane -p -J -t chat -S -100; }
screen_esc() { tm capture-pane -p -J -e -t chat -S -100; }
last_line() { screen | sed '/^ *$/d' | tail -n 1; }

# wait_screen REGEX [SECONDS]: until some line of the screen matches (10 s
# by default: milliseconds here, longer on a loaded machine)
wait_screen() {
    local i n=$((${2:-10} * 100))
    for ((i = 0; i < n; i++)); do
        screen | grep -Eq -- "$1" && return 0
        sleep 0.01
    done
    echo "the screen never showed /$1/:" >&2
    screen >&2
    return 1
}

# wait_last REGEX [SECONDS]: until the last line matches (10 s by default)
wait_last() {
    local i n=$((${2:-10} * 100))
    for ((i = 0; i < n; i++)); do
        last_line | grep -Eq -- "$1" && return 0
        sleep 0.01
    done
    echo "the last line never matched /$1/:" >&2
    screen >&2
    return 1
}

type_text() { tm send-keys -t chat -l -- "$1"; }
type_line() {
    tm send-keys -t chat -l -- "$1"
    tm send-keys -t chat Enter
}
keys() { tm send-keys -t chat "$@"; }

# ask TEXT PROMPT_REGEX: a question the mock echoes; waits for the answer
# on a line of its own and the next prompt
ask() {
    type_line "$1"
    wait_screen "^$1\$"
    wait_last "$2"
}

wait_exit() {
    local i
    for ((i = 0; i < 1000; i++)); do
        [ -s "$TEST_HOME/rc" ] && { CHAT_RC=$(cat "$TEST_HOME/rc"); return 0; }
        sleep 0.01
    done
    echo "chat did not exit" >&2
    screen >&2
    return 1
}

# wait_aborted ROUTE N: until mockllm counted N transfers closed early
wait_aborted() {
    local i
    for ((i = 0; i < 500; i++)); do
        [ "$(mock_log "$1" | jq -r .aborted)" = "$2" ] && return 0
        sleep 0.02
    done
    assert_equal "$(mock_log "$1" | jq -r .aborted)" "$2"
}

# the JSON user contents of the mock's last request on ROUTE
last_user() { mock_last_body "$1" | jq -r '[.messages[] | select(.role == "user")] | last | .content'; }
last_roles() { mock_last_body "$1" | jq -r '[.messages[].role] | join(",")'; }

# ---- at a terminal ------------------------------------------------------

@test "tty: the prompt shows provider and model; a reply is printed under it" {
    chat_start
    assert_equal "$(last_line)" "a:openai-model> "
    ask "hello there" "$PROMPT_A"
    assert_equal "$(mock_count a)" 1
    assert_equal "$(mock_log a | jq -r .streamed)" 1
    type_line "/exit"
    wait_exit
    assert_equal "$CHAT_RC" 0
}

@test "tty: a streamed reply appears incrementally" {
    # the words come 400 ms apart: 3.6 s from the first to the last
    mock_script a "reply=alpha beta gamma delta epsilon zeta eta theta iota kappa,chunks=10,delay_ms=400"
    chat_start
    type_line "go"
    wait_screen '^alpha'
    first=$(screen | grep '^alpha')
    # the reply was on the screen before its end had come...
    [[ "$first" != *kappa* ]]
    # ...and grows in place
    for ((i = 0; i < 1000; i++)); do
        second=$(screen | grep '^alpha')
        [ "${#second}" -gt "${#first}" ] && break
        sleep 0.01
    done
    [ "${#second}" -gt "${#first}" ]
    [[ "$second" == "$first"* ]]
    wait_screen '^alpha .* kappa$'
    wait_last "$PROMPT_A"
}

@test "tty: Ctrl-C in a slow stream returns to the prompt at once, aborts the transfer, keeps the partial reply" {
    # the rest of the reply would take 10 s
    mock_script a "reply=one two three four five six seven eight nine ten eleven twelve,chunks=12,delay_ms=1000"
    chat_start
    type_line "count"
    wait_screen '^one two'
    start=$(date +%s%N)
    keys C-c
    wait_last "$PROMPT_A"
    elapsed=$((($(date +%s%N) - start) / 1000000))
    echo "back at the prompt after $elapsed ms"
    # "at once": back at the prompt before the rest of the reply came (the
    # order, not the milliseconds, which a loaded machine stretches)
    [[ "$(screen)" != *twelve* ]]
    screen | grep -q '\[interrupted\]$'
    # the server saw the connection go away, not a finished response
    wait_aborted a 1
    assert_equal "$(mock_count a)" 1
    # the partial reply stays in the conversation, marked
    type_line "/save $TEST_HOME/conv.json"
    wait_screen "^saved [0-9]+ messages to $TEST_HOME/conv.json\$"
    run jq -r '.[-1].role + "|" + .[-1].content' "$TEST_HOME/conv.json"
    [[ "$output" == "assistant|one two"*" [interrupted]" ]]
    [[ "$output" != *twelve* ]]
    # and goes with the next question
    mock_script a ""
    ask "next" "$PROMPT_A"
    assert_equal "$(last_roles a)" "user,assistant,user"
}

@test "tty: Ctrl-C at the prompt clears the line and gives a fresh prompt" {
    chat_start
    type_text "never sent"
    wait_screen 'never sent$'
    keys C-c
    wait_last "$PROMPT_A"
    # an unfinished multi-line input goes too
    type_line 'half \'
    wait_last '^\.\.\. ?$'
    keys C-c
    wait_last "$PROMPT_A"
    keys Enter
    ask "sent" "$PROMPT_A"
    assert_equal "$(mock_count a)" 1
    assert_equal "$(last_user a)" "sent"
}

@test "tty: Ctrl-D and /exit leave with status 0" {
    chat_start
    keys C-d
    wait_exit
    assert_equal "$CHAT_RC" 0
    tm kill-server
    chat_start
    type_line "/exit"
    wait_exit
    assert_equal "$CHAT_RC" 0
}

@test "tty: history survives a restart; a line starting with a space is not kept" {
    chat_start
    ask "first question" "$PROMPT_A"
    type_line " secret question"
    wait_screen '^secret question$'
    wait_last "$PROMPT_A"
    keys C-d
    wait_exit
    hist=$XDG_STATE_HOME/flexiai/history
    [ -f "$hist" ]
    assert_equal "$(stat -c %a "$hist")" 600
    assert_equal "$(stat -c %a "$XDG_STATE_HOME/flexiai")" 700
    grep -qx 'first question' "$hist"
    run ! grep -q secret "$hist"
    tm kill-server
    chat_start
    keys Up
    wait_last '^a:openai-model> first question$'
}

@test "tty: a line ending in backslash continues, triple quotes make a block" {
    chat_start
    type_line 'first line \'
    wait_last '^\.\.\. ?$'
    type_line 'second line'
    wait_screen '^second line$'
    wait_last "$PROMPT_A"
    assert_equal "$(last_user a)" "$(printf 'first line \nsecond line')"
    type_line '"""'
    wait_last '^\.\.\. ?$'
    type_line '/not a command'
    type_line 'ends with \'
    type_line '"""'
    wait_screen '^ends with \\$'
    wait_last "$PROMPT_A"
    assert_equal "$(last_user a)" "$(printf '/not a command\nends with \\')"
}

@test "tty: tab completes slash commands, provider names and file paths" {
    echo '[]' >"$TEST_HOME/conversation-saved.json"
    # in the directory of that file, so a file name would be there to offer
    cd "$TEST_HOME"
    chat_start
    type_text "/he"
    keys Tab
    wait_last '^a:openai-model> /help $'
    keys C-u
    type_text "/pro"
    keys Tab
    wait_last '^a:openai-model> /provider$'
    keys Tab Tab
    wait_screen '^/provider +/providers *$'
    keys C-u
    type_text "/provider b"
    keys Tab
    wait_last '^a:openai-model> /provider b $'
    keys C-u
    type_text "/breaker r"
    keys Tab
    wait_last '^a:openai-model> /breaker reset $'
    type_text "a"
    keys Tab
    wait_last '^a:openai-model> /breaker reset a $'
    keys C-u
    type_text "/load $TEST_HOME/conversation-s"
    keys Tab
    wait_last "/load $TEST_HOME/conversation-saved.json \$"
    keys Enter
    wait_last "$PROMPT_A"
    # no file names in ordinary text: once a key typed after the two Tabs
    # shows, they have been handled, without completing or listing
    listed=$(screen | grep -c conversation-saved)
    type_text "conv"
    keys Tab Tab
    type_text "!"
    wait_last '^a:openai-model> conv!$'
    assert_equal "$(screen | grep -c conversation-saved)" "$listed"
}

@test "tty: the editing mode comes from the user's inputrc (vi)" {
    printf 'set editing-mode vi\nset keyseq-timeout 50\n' >"$HOME/.inputrc"
    chat_start
    type_text "hello"
    wait_last '> hello$'
    # readline has taken the Escape on its own (not as the start of M-0)
    # once the cursor is back on the 'o', as vi's command mode puts it
    x=$(tm display -p -t chat '#{cursor_x}')
    keys Escape
    for ((i = 0; i < 1000; i++)); do
        [ "$(tm display -p -t chat '#{cursor_x}')" = $((x - 1)) ] && break
        sleep 0.01
    done
    assert_equal "$(tm display -p -t chat '#{cursor_x}')" $((x - 1))
    keys 0 i
    type_text "X"
    keys Enter
    wait_screen '^Xhello$'
    assert_equal "$(last_user a)" "Xhello"
}

@test "tty: the prompt follows /provider, /model and who answered last" {
    chat_start
    type_line "/model other-model"
    wait_last '^a:other-model> ?$'
    type_line "/provider b"
    wait_last "$PROMPT_B"
    ask "to b" "$PROMPT_B"
    assert_equal "$(mock_count b)" 1
    assert_equal "$(mock_count a)" 0
    type_line "/provider auto"
    # the prompt follows: failover asks a first now, though b answered last
    wait_last '^a:other-model> ?$'
    ask "to a" '^a:other-model> ?$'
    assert_equal "$(mock_last_body a | jq -r .model)" other-model
}

@test "tty: failover shows one dim notice: who failed, why, who answered" {
    mock_script a "status=500"
    chat_start
    type_line "hi"
    wait_screen '^flexiai: a failed \(.*500.*\); answered by b$'
    wait_last "$PROMPT_B"
    assert_equal "$(screen | grep -c 'answered by')" 1
    screen_esc | grep -q $'\e\\[2mflexiai: a failed'
    # said before b's reply streams in, not after it
    run grep -A1 'answered by b$' <(screen)
    assert_line --index 1 "hi"
}

@test "tty: a reply broken off and continued by another provider: one dim notice line of its own naming both" {
    mock_script a "reply=one two three four,error_event_after=2"
    mock_script b "reply=rest of it."
    chat_start
    type_line "go"
    wait_last "$PROMPT_B"
    screen >"$TEST_HOME/screen"
    # one line of its own, "continued", naming both
    run grep -c '^flexiai: a broke off after [0-9]* bytes (stream_error); b continued the answer$' "$TEST_HOME/screen"
    assert_output 1
    screen_esc | grep -q $'\e\\[2mflexiai: a broke off'
    # it stands where the answer was spliced: a's words above, b's below
    run grep -A1 '^one two *$' "$TEST_HOME/screen"
    assert_line --index 1 --regexp '^flexiai: a broke off'
    run grep -B1 '^rest of it\.$' "$TEST_HOME/screen"
    assert_line --index 0 --regexp 'b continued the answer$'
}

@test "tty: NO_COLOR and TERM=dumb turn colour off" {
    chat_start
    screen_esc | grep -q $'\e\\[1ma:openai-model'
    tm kill-server
    CHAT_ENV="NO_COLOR=1"
    chat_start
    [[ "$(screen_esc)" != *$'\e['* ]]
    tm kill-server
    CHAT_ENV="TERM=dumb"
    chat_start
    [[ "$(screen_esc)" != *$'\e[1m'* ]]
}

@test "tty: a breaker event from Redis prints one dim line above the prompt, the input stays" {
    command -v redis-server >/dev/null || fail "redis-server not installed (apt-get install redis-server)"
    start_redis
    {
        printf '[sync]\nbackend = redis\nredis_url = redis://127.0.0.1:%s/0\n\n' "$REDIS_PORT"
        printf '[failover]\nretries = 0\n\n'
        provider_section a openai a
        provider_section b openai b
    } | write_config
    chat_start
    wait_numsub flexiai:events 1 # the watcher subscribes
    type_text "keep this"
    keys Left Left
    ev='{"provider_name": "a", "event_type": "opened", "worker_id": "w-1", "timestamp": "2030-01-01T00:00:00", "metadata": {}}'
    other='{"provider_name": "elsewhere", "event_type": "opened", "worker_id": "w-1", "timestamp": "2030-01-01T00:00:00", "metadata": {}}'
    redis-cli -p "$REDIS_PORT" publish flexiai:events "$other" >/dev/null
    redis-cli -p "$REDIS_PORT" publish flexiai:events "$ev" >/dev/null
    wait_screen '^flexiai: breaker of a opened'
    assert_equal "$(screen | grep -c 'breaker of')" 1
    screen_esc | grep -q $'\e\\[2mflexiai: breaker of a opened'
    assert_equal "$(last_line)" "a:openai-model> keep this"
    type_text "X"
    keys Enter
    wait_screen '^keep thXis$'
    closed='{"provider_name": "a", "event_type": "closed", "worker_id": "w-1", "timestamp": "2030-01-01T00:00:00", "metadata": {}}'
    redis-cli -p "$REDIS_PORT" publish flexiai:events "$closed" >/dev/null
    wait_screen '^flexiai: breaker of a closed'
    keys C-d
    wait_exit
    assert_equal "$CHAT_RC" 0
}

@test "tty: a one-line greeting says who answers and how to get help, leave and type several lines" {
    chat_start
    wait_screen '^flexiai chat: a:openai-model \(failover: a, b\) — /help for commands, Ctrl-D to leave, \\ or """ for several lines$'
    assert_equal "$(screen | grep -c '^flexiai chat:')" 1
    tm kill-server
    chat_start -p b
    wait_screen '^flexiai chat: b:openai-model \(no failover\) — /help'
}

@test "tty: a blank line parts a reply from the next prompt" {
    chat_start
    ask "first" "$PROMPT_A"
    screen >"$TEST_HOME/screen"
    # the reply, an empty line, the prompt
    assert_equal "$(grep -A2 -x first "$TEST_HOME/screen" | sed -n 2p)" ""
    grep -A2 -x first "$TEST_HOME/screen" | sed -n 3p | grep -Eq "$PROMPT_A"
}

@test "tty: errors are red, and not with NO_COLOR" {
    chat_start
    type_line "/frobnicate"
    wait_screen "^flexiai: unknown command"
    screen_esc | grep -q $'\e\\[31mflexiai: unknown command'
    mock_script a "status=400"
    type_line "hi"
    wait_screen "^flexiai: a: "
    screen_esc | grep -q $'\e\\[31mflexiai: a: '
    tm kill-server
    CHAT_ENV="NO_COLOR=1"
    chat_start
    type_line "/frobnicate"
    wait_screen "^flexiai: unknown command"
    [[ "$(screen_esc)" != *$'\e['* ]]
}

MD_REPLY='# Title%0A%0AThis is **bold** and `code`.%0A%0A- one%0A- two%0A%0A| k | v |%0A|---|---|%0A| x | 1 |%0A%0A```%0Araw **stays**%0A```'

@test "tty: Markdown in a reply is rendered as it streams" {
    mock_script a "reply=$MD_REPLY,chunks=9"
    chat_start --session md
    type_line "show me"
    wait_screen '^This is bold and code\.$'
    wait_last "$PROMPT_A"
    screen_esc | grep -q $'\e\\[1mbold'
    screen | grep -q '^• one$'
    screen | grep -Eq '^ *│? *k *│ *v'
    screen | grep -q '^raw \*\*stays\*\*$'
    [[ "$(screen)" != *'is **bold**'* ]]
    # the conversation keeps the raw text
    jq -r '.[1].content' "$XDG_DATA_HOME/flexiai/sessions/md.json" | grep -q 'This is \*\*bold\*\* and `code`\.'
}

@test "tty: no rendering with NO_COLOR, --no-render or /render off; /render says which" {
    mock_script a "reply=This is **bold**."
    CHAT_ENV="NO_COLOR=1"
    chat_start
    type_line "q"
    wait_screen '^This is \*\*bold\*\*\.$'
    wait_last "$PROMPT_A"
    type_line "/render"
    wait_screen '^off \(NO_COLOR is set\)$'
    tm kill-server
    CHAT_ENV=
    chat_start --no-render
    type_line "q"
    wait_screen '^This is \*\*bold\*\*\.$'
    wait_last "$PROMPT_A"
    type_line "/render"
    wait_screen '^off \(turned off\)$'
    type_line "/render on"
    wait_screen '^Markdown rendering on$'
    type_line "q"
    wait_screen '^This is bold\.$'
    wait_last "$PROMPT_A"
    type_line "/render off"
    wait_screen '^Markdown rendering off'
    type_line "/render"
    wait_screen '^off \(turned off\)$'
    type_line "/render maybe"
    wait_screen '^flexiai: usage: /render \[on\|off\]$'
}

@test "tty: /breaker reset prints one line, not also its own echo from Redis; other processes' events still show" {
    command -v redis-server >/dev/null || fail "redis-server not installed (apt-get install redis-server)"
    start_redis
    {
        printf '[sync]\nbackend = redis\nredis_url = redis://127.0.0.1:%s/0\n\n' "$REDIS_PORT"
        printf '[failover]\nretries = 0\n[breaker]\nfailure_threshold = 1\n\n'
        provider_section a openai a
        provider_section b openai b
    } | write_config
    chat_start
    wait_numsub flexiai:events 1 # the watcher subscribes
    flexiai breaker open a
    wait_screen '^flexiai: breaker of a opened'
    type_line "/breaker reset a"
    wait_screen '^breaker of a reset \(closed\)$'
    # the echo was published before that line; an event published after
    # it shows only once the echo has been dealt with (events come in order)
    flexiai breaker open b
    wait_screen '^flexiai: breaker of b opened'
    assert_equal "$(screen | grep -c 'of a .*closed')" 1
    # a reset by another process is still shown
    flexiai breaker reset b
    wait_screen '^flexiai: breaker of b closed'
    keys C-d
    wait_exit
    assert_equal "$CHAT_RC" 0
}

@test "tty: unknown command or bad argument prints one line and the session goes on" {
    chat_start
    type_line "/frobnicate"
    wait_screen "^flexiai: unknown command '/frobnicate' \(try /help\)$"
    type_line "/breaker open a"
    wait_screen '^flexiai: usage: /breaker reset NAME$'
    ask "still here" "$PROMPT_A"
}

@test "tty: /help lists every command" {
    chat_start
    type_line "/help"
    for c in help system model provider providers breaker retry undo show clear save load render exit; do
        wait_screen "^  /$c( |$)"
    done
}

@test "tty: --session shows the resumed conversation's size" {
    printf 'one\n' | flexiai chat --session s >/dev/null
    chat_start --session s
    wait_screen '^2 messages from .*/sessions/s\.json$'
}

# ---- scripted: stdin not a terminal -------------------------------------

@test "piped: each line is a turn, each reply is followed by a blank line, no prompt" {
    run --separate-stderr flexiai chat <<<$'one\n\ntwo'
    assert_success
    assert_output "$(printf 'one\n\ntwo\n')"
    assert_equal "$stderr" ""
    assert_equal "$(mock_count a)" 2
    assert_equal "$(last_roles a)" "user,assistant,user"
}

@test "piped: no greeting, no rendering; /render says why" {
    mock_script a "reply=This is **bold**."
    run --separate-stderr flexiai chat <<<$'q\n/render on\n/render'
    assert_success
    assert_output "$(printf 'This is **bold**.\n\noff (stdout is not a terminal)\n')"
    assert_equal "$stderr" ""
}

@test "piped: continuation lines and blocks" {
    run flexiai chat <<<$'a \\\nb\n"""\nx\n\ny\n"""\n"""inline"""'
    assert_success
    assert_equal "$(mock_count a)" 3
    assert_equal "$(last_user a)" "inline"
    assert_equal "$(mock_last_body a | jq -r '.messages[2].content')" "$(printf 'x\n\ny')"
    assert_equal "$(mock_last_body a | jq -r '.messages[0].content')" "$(printf 'a \nb')"
}

@test "piped: // sends a line starting with a slash" {
    run flexiai chat <<<'//etc/passwd is a path'
    assert_success
    assert_output "/etc/passwd is a path"
}

@test "piped: a failed turn prints one line; the exit code is the last turn's" {
    mock_script a "status=500"
    run --separate-stderr flexiai chat -p a <<<'x'
    assert_failure 75
    assert_output ""
    assert_equal "$(printf '%s\n' "$stderr" | wc -l)" 1
    [[ "$stderr" == "flexiai: "*500* ]]
    # a failure then a success: 0, and the failed question is not kept
    mock_script a "status=500,fail_first=1"
    run --separate-stderr flexiai chat -p a <<<$'first\nsecond'
    assert_success
    assert_output "second"
    assert_equal "$(last_roles a)" "user"
    # a failed slash command counts too
    run flexiai chat <<<$'hi\n/load /nonexistent/file.json'
    assert_failure 66
}

@test "piped: SIGINT cancels the reply, keeps it marked, and ends with 130" {
    # the signal comes once "one two" is out; the rest would take 6 s
    mock_script a "reply=one two three four five six seven eight,chunks=8,delay_ms=1000"
    mkfifo "$TEST_HOME/in"
    flexiai chat --session p <"$TEST_HOME/in" >"$TEST_HOME/out" 2>"$TEST_HOME/err" &
    pid=$!
    exec 7>"$TEST_HOME/in"
    echo count >&7
    wait_lines "$TEST_HOME/out" 'one two' 1
    kill -INT $pid
    rc=0
    wait $pid || rc=$?
    exec 7>&-
    assert_equal "$rc" 130
    assert_equal "$(cat "$TEST_HOME/err")" "flexiai: interrupted"
    f=$XDG_DATA_HOME/flexiai/sessions/p.json
    run jq -r '.[-1].content' "$f"
    [[ "$output" == "one two"*" [interrupted]" ]]
    wait_aborted a 1
}

@test "piped: failover notice on stderr without colour" {
    mock_script a "status=500"
    run --separate-stderr flexiai chat <<<'hi'
    assert_success
    assert_output "hi"
    [[ "$stderr" == "flexiai: a failed ("*"); answered by b" ]]
    [[ "$stderr" != *$'\e'* ]]
}

@test "/system shows, sets and removes the system prompt; -s sets it" {
    run --separate-stderr flexiai chat <<<$'/system\n/system Be brief.\n/system\nhi'
    assert_success
    assert_output "$(printf 'Be brief.\nhi\n')"
    assert_equal "$(last_roles a)" "system,user"
    assert_equal "$(mock_last_body a | jq -r '.messages[0].content')" "Be brief."
    run flexiai chat -s "Be kind." <<<$'hi\n/system -\nagain'
    assert_success
    assert_equal "$(last_roles a)" "user,assistant,user"
    run flexiai chat -s "Be kind." <<<$'/system'
    assert_output "Be kind."
}

@test "/model and /provider show and change where questions go" {
    run --separate-stderr flexiai chat <<<$'/model\n/provider\n/model m2\nq1\n/provider b\n/provider\nq2\n/provider nope'
    assert_failure 64
    assert_output "$(printf 'a:openai-model\nauto (failover order: a, b)\nq1\n\nb\nq2\n')"
    [[ "$stderr" == "flexiai: no provider 'nope' (configured: a, b)" ]]
    assert_equal "$(mock_last_body a | jq -r .model)" m2
    assert_equal "$(last_user a)" q1
    assert_equal "$(last_user b)" q2
    assert_equal "$(last_roles b)" "user,assistant,user"
    # -m and -p as in complete
    run flexiai chat -p b -m m3 <<<'q3'
    assert_success
    assert_equal "$(mock_last_body b | jq -r .model)" m3
}

@test "/providers shows breaker state; /breaker reset closes it" {
    {
        printf '[failover]\nretries = 0\n[breaker]\nfailure_threshold = 1\n\n'
        provider_section a openai a
        provider_section b openai b
    } | write_config
    mock_script a "status=500"
    run --separate-stderr flexiai chat <<<$'hi\n/providers\n/breaker reset a\n/providers'
    assert_success
    [[ "${lines[1]}" =~ ^\ +NAME\ +MODEL\ +BREAKER$ ]]
    [[ "${lines[2]}" =~ ^\ \ a\ +openai-model\ +open ]]
    [[ "${lines[3]}" =~ ^\*\ b\ +openai-model\ +closed$ ]]
    [[ "${lines[5]}" =~ ^\ \ a\ +openai-model\ +closed ]]
    run flexiai chat <<<'/breaker reset nope'
    assert_failure 64
    run --separate-stderr flexiai chat <<<'/breaker reset b2'
    assert_failure 64
    assert_equal "$stderr" "flexiai: no provider 'b2' (did you mean 'b'?)"
    run flexiai chat <<<'/breaker'
    assert_failure 64
}

@test "/retry asks the last question again" {
    mock_script a "status=500,fail_first=1"
    run --separate-stderr flexiai chat -p a <<<$'question\n/retry'
    assert_success
    assert_output "question"
    assert_equal "$(mock_count a)" 2
    assert_equal "$(last_roles a)" "user"
    # after an answer: the answer is replaced
    run flexiai chat <<<$'one\ntwo\n/retry'
    assert_success
    assert_output "$(printf 'one\n\ntwo\n\ntwo\n')"
    assert_equal "$(last_roles a)" "user,assistant,user"
    assert_equal "$(last_user a)" two
    run --separate-stderr flexiai chat <<<'/retry'
    assert_failure 66
    assert_equal "$stderr" "flexiai: nothing to retry"
}

@test "/undo drops the last exchange, /clear all but the system prompt" {
    run flexiai chat <<<$'one\ntwo\n/undo\nthree'
    assert_success
    assert_equal "$(mock_last_body a | jq -r '[.messages[].content] | join(",")')" "one,one,three"
    run flexiai chat -s sys <<<$'one\ntwo\n/clear\nthree'
    assert_success
    assert_equal "$(mock_last_body a | jq -r '[.messages[].content] | join(",")')" "sys,three"
    run --separate-stderr flexiai chat <<<'/undo'
    assert_failure 66
    assert_equal "$stderr" "flexiai: nothing to undo"
}

@test "/save then /load round-trips; complete --messages reads the file" {
    f=$TEST_HOME/saved.json
    run flexiai chat -s "Be terse." <<<$'one\ntwo\n/save '"$f"
    assert_success
    assert_equal "$(stat -c %a "$f")" 600
    assert_equal "$(jq -c '[.[].role]' "$f")" '["system","user","assistant","user","assistant"]'
    assert_equal "$(jq -r '.[3].content' "$f")" two
    run flexiai chat <<<$'/load '"$f"$'\nthree'
    assert_success
    assert_equal "$(mock_last_body a | jq -r '[.messages[].content] | join(",")')" "Be terse.,one,one,two,two,three"
    run flexiai complete -p a --messages "$f" --no-stream </dev/null
    assert_success
    # ~ works, as the completion writes it
    run flexiai chat <<<$'x\n/save ~/tilde.json'
    assert_success
    [ -f "$HOME/tilde.json" ]
    # a missing or malformed file: one line, the session goes on, and the
    # script learns of it by the exit status
    echo '{"not": "a list"}' >"$TEST_HOME/bad.json"
    run --separate-stderr flexiai chat <<<$'/load '"$TEST_HOME"$'/bad.json\nafter'
    assert_failure 65
    assert_output "after"
    [[ "$stderr" == "flexiai: "*"must be a JSON array" ]]
    run flexiai chat <<<$'/load '"$TEST_HOME"'/bad.json'
    assert_failure 65
}

@test "--load starts from a saved conversation" {
    printf '[{"role":"user","content":"earlier"},{"role":"assistant","content":"reply"}]' >"$TEST_HOME/c.json"
    run flexiai chat --load "$TEST_HOME/c.json" <<<'now'
    assert_success
    assert_equal "$(last_roles a)" "user,assistant,user"
    run --separate-stderr flexiai chat --load "$TEST_HOME/none.json" <<<'now'
    assert_failure 66
    echo 'not json' >"$TEST_HOME/bad.json"
    run flexiai chat --load "$TEST_HOME/bad.json" <<<'now'
    assert_failure 65
}

@test "--session keeps the conversation and resumes it" {
    run flexiai chat --session work <<<'one'
    assert_success
    f=$XDG_DATA_HOME/flexiai/sessions/work.json
    [ -f "$f" ]
    assert_equal "$(stat -c %a "$f")" 600
    assert_equal "$(stat -c %a "$XDG_DATA_HOME/flexiai/sessions")" 700
    assert_equal "$(stat -c %a "$XDG_DATA_HOME/flexiai")" 700
    assert_equal "$(jq length "$f")" 2
    run flexiai chat --session work <<<'two'
    assert_success
    assert_equal "$(last_roles a)" "user,assistant,user"
    assert_equal "$(jq -r '[.[].content] | join(",")' "$f")" "one,one,two,two"
    # no temporary files are left behind (the state beside it is kept)
    assert_equal "$(ls "$XDG_DATA_HOME/flexiai/sessions" | tr '\n' ' ')" "work.json work.state "
    assert_equal "$(stat -c %a "$XDG_DATA_HOME/flexiai/sessions/work.state")" 600
    # the same JSON complete --messages takes
    run flexiai complete -p a --messages "$f" --no-stream "three" </dev/null
    assert_success
}

@test "--session rejects names with '/' or a leading '.'" {
    for name in a/b ../x .hidden ""; do
        run --separate-stderr flexiai chat --session "$name" </dev/null
        assert_failure 64
        [[ "$stderr" == "flexiai: bad session name"* ]]
    done
}

@test "/exit stops reading input" {
    run flexiai chat <<<$'one\n/exit\ntwo'
    assert_success
    assert_output "one"
    assert_equal "$(mock_count a)" 1
}

@test "configuration errors exit 78, bad flags 64" {
    printf '[defaults]\ntemperature = hot\n' | write_config
    run --separate-stderr flexiai chat </dev/null
    assert_failure 78
    [[ "$stderr" == "flexiai: "* ]]
    run flexiai chat -c "$TEST_HOME/missing.ini" </dev/null
    assert_failure 78
    provider_section a openai a | write_config
    run flexiai chat -p nope </dev/null
    assert_failure 64
    run flexiai chat --bogus </dev/null
    assert_failure 64
    run flexiai chat -t 9 </dev/null
    assert_failure 64
    run flexiai chat extra </dev/null
    assert_failure 64
}

@test "--help and --version (with readline's version)" {
    run flexiai chat --help
    assert_success
    assert_line --partial "usage: flexiai chat"
    assert_line --partial "--session NAME"
    run flexiai chat -V
    assert_success
    assert_output --regexp 'readline/[0-9]+\.[0-9]+'
}

@test "empty input exits 0 and prints nothing" {
    run --separate-stderr flexiai chat </dev/null
    assert_success
    assert_output ""
    assert_equal "$stderr" ""
}

@test "--session that cannot be saved: one line per change naming the file, the conversation goes on, exit 73" {
    mkdir -p "$TEST_HOME/blocked"
    echo 'a file, not a directory' >"$TEST_HOME/blocked/flexiai"
    export XDG_DATA_HOME=$TEST_HOME/blocked
    # (--no-log: the ledger, under the same directory, would warn once too)
    run --separate-stderr flexiai chat --no-log --session work <<<$'one\ntwo'
    assert_failure 73
    assert_output "$(printf 'one\n\ntwo\n')"
    assert_equal "${#stderr_lines[@]}" 2
    assert_equal "${stderr_lines[0]}" "flexiai: cannot save the session: $TEST_HOME/blocked/flexiai/sessions/work.json: Not a directory"
    assert_equal "$(last_roles a)" "user,assistant,user"
}

@test "a failed /save prints one line naming the file and exits 73" {
    echo 'a file' >"$TEST_HOME/plain"
    run --separate-stderr flexiai chat <<<$'hi\n/save '"$TEST_HOME/plain/conv.json"
    assert_failure 73
    assert_equal "$stderr" "flexiai: $TEST_HOME/plain/conv.json: Not a directory"
    # the session goes on after it: the exit code is the last command's
    run flexiai chat <<<$'/save '"$TEST_HOME/plain/conv.json"$'\nhi'
    assert_success
}

@test "an ambiguous command lists its candidates; /help CMD explains one" {
    run --separate-stderr flexiai chat <<<'/p'
    assert_failure 64
    assert_equal "$stderr" "flexiai: /p: /provider or /providers?"
    run --separate-stderr flexiai chat <<<'/help s'
    assert_failure 64
    assert_equal "$stderr" "flexiai: /s: /system, /schema, /show or /save?"
    run --separate-stderr flexiai chat <<<'/help breaker'
    assert_success
    assert_output "$(printf 'usage: /breaker reset NAME\nclose a provider'"'"'s circuit breaker')"
    run --separate-stderr flexiai chat <<<'/help /prov'
    assert_failure 64
    run --separate-stderr flexiai chat <<<'/help providers'
    assert_success
    assert_line --index 0 'usage: /providers'
}

@test "/load of a bad file keeps the conversation as it was (a script exits 66 all the same)" {
    run --separate-stderr flexiai chat <<<$'one\n/load '"$TEST_HOME"$'/none.json\ntwo'
    assert_failure 66
    assert_output "$(printf 'one\n\ntwo\n')"
    [[ "$stderr" == "flexiai: "*"none.json: No such file or directory" ]]
    assert_equal "$(last_roles a)" "user,assistant,user"
}
