#!/usr/bin/env bats
# chat --session keeps each user message's files by reference (absolute
# path or URL, type, name, size, SHA-256; never the bytes) and a resumed
# session sends them again, each checked anew: a file changed since is
# sent as it is now with one line, a missing one is left out with one
# line.  Driven through the real chat binary against mockllm, which
# records what arrived (type, size, SHA-256 of each part).

load helpers

setup() {
    setup_env
    start_mockllm
    { printf '[failover]\nretries = 0\n\n'; provider_section o1 openai o1; } | write_config
    FILES=$TEST_HOME/files
    mkdir -p "$FILES"
    # shot.png: a real 1x1 PNG; wide.png: a 2x1 one (another image)
    python3 - "$FILES" <<'PY'
import sys, zlib, struct
d = sys.argv[1]
def chunk(t, data):
    c = struct.pack(">I", len(data)) + t + data
    return c + struct.pack(">I", zlib.crc32(t + data) & 0xffffffff)
def png(w):
    raw = b"\x00" + b"\xff\x00\x00" * w
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, 1, 8, 2, 0, 0, 0)) \
        + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
open(d + "/shot.png", "wb").write(png(1))
open(d + "/wide.png", "wb").write(png(2))
PY
    SESS=$XDG_DATA_HOME/flexiai/sessions
}

teardown() { teardown_env; }

sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }
attached() { curl -sf "$MOCK_URL/_control/attach/$1"; }

# A session "s" whose first question carried shot.png, attached by a
# relative path from another directory.
first_turn() {
    (cd "$FILES" && flexiai chat --no-stream --session s <<<$'/attach shot.png\nwhat is it?') >/dev/null
    assert_equal "$(mock_count o1)" "1"
}

@test "a session keeps /attach files by reference and a resumed one sends them again" {
    first_turn
    local f=$SESS/s.json
    assert_equal "$(jq -c '.[0].attachments' "$f")" \
        "[{\"path\":\"$FILES/shot.png\",\"mime\":\"image/png\",\"name\":\"shot.png\",\"size\":$(size "$FILES/shot.png"),\"sha256\":\"$(sha "$FILES/shot.png")\"}]"
    assert_equal "$(jq -c '[.[] | has("attachments")]' "$f")" "[true,false]"
    # the bytes are not in the file
    local b64
    b64=$(base64 -w0 "$FILES/shot.png")
    run grep -c "${b64:0:16}" "$f"
    assert_output "0"
    # resumed from elsewhere: the image goes again with the first question
    cd "$TEST_HOME"
    run --separate-stderr flexiai chat --no-stream --session s <<<'and now?'
    assert_success
    assert_equal "$stderr" ""
    assert_equal "$(mock_count o1)" "2"
    assert_equal "$(mock_last_body o1 | jq -r '.messages[0].content | map(.type) | join(",")')" "text,image_url"
    assert_equal "$(mock_last_body o1 | jq -r '.messages[-1].content')" "and now?"
    assert_equal "$(attached o1 | jq -r '[.[] | "\(.part) \(.mime) \(.bytes) \(.sha256)"] | join(";")')" \
        "image_url image/png $(size "$FILES/shot.png") $(sha "$FILES/shot.png");image_url image/png $(size "$FILES/shot.png") $(sha "$FILES/shot.png")"
    # and the session keeps them for the turns after
    assert_equal "$(jq -r '.[0].attachments[0].sha256' "$f")" "$(sha "$FILES/shot.png")"
    assert_equal "$(jq length "$f")" "4"
    # /load of the same file sends them too
    run --separate-stderr flexiai chat --no-stream --load "$f" <<<'once more'
    assert_success
    assert_equal "$stderr" ""
    assert_equal "$(attached o1 | jq -r 'length, .[-1].sha256' | tr '\n' ' ')" "3 $(sha "$FILES/shot.png") "
}

@test "a file changed since: one line, sent as it is now, the new hash kept" {
    first_turn
    local old new
    old=$(sha "$FILES/shot.png")
    cp "$FILES/wide.png" "$FILES/shot.png"
    new=$(sha "$FILES/shot.png")
    run --separate-stderr flexiai chat --no-stream --session s <<<'and now?'
    assert_success
    assert_equal "$stderr" "flexiai: $FILES/shot.png changed since the conversation sent it (sha256 ${old:0:12} then, ${new:0:12} now): sending it as it is now"
    assert_equal "$(attached o1 | jq -r '.[-1] | "\(.part) \(.bytes) \(.sha256)"')" "image_url $(size "$FILES/wide.png") $new"
    assert_equal "$(jq -r '.[0].attachments[0] | "\(.size) \(.sha256)"' "$SESS/s.json")" "$(size "$FILES/wide.png") $new"
    # the session now holds the file as it was sent: no second warning
    run --separate-stderr flexiai chat --no-stream --session s <<<'and again?'
    assert_success
    assert_equal "$stderr" ""
    assert_equal "$(attached o1 | jq -r '.[-1].sha256')" "$new"
}

@test "a file gone since: one line, left out, the request goes without it" {
    first_turn
    rm "$FILES/shot.png"
    run --separate-stderr flexiai chat --no-stream --session s <<<'and now?'
    assert_success
    assert_equal "$stderr" "flexiai: $FILES/shot.png: left out of the conversation (cannot read $FILES/shot.png: No such file or directory)"
    assert_equal "$(mock_count o1)" "2"
    # no part but the text: the question alone
    assert_equal "$(mock_last_body o1 | jq -r '.messages[0].content')" "what is it?"
    assert_equal "$(attached o1 | jq length)" "1"
    # and the session no longer claims it
    assert_equal "$(jq -c '[.[] | has("attachments")]' "$SESS/s.json")" "[false,false,false,false]"
}

@test "stdin's bytes were never kept: one line says they cannot go again, the rest goes" {
    mkdir -p "$SESS"
    local h
    h=$(printf 'hello' | sha256sum | cut -d' ' -f1)
    cat >"$SESS/in.json" <<EOF
[{"role":"user","content":"read this","attachments":[{"name":"stdin","mime":"text/plain","size":5,"sha256":"$h"},{"path":"$FILES/shot.png","mime":"image/png"}]},
 {"role":"assistant","content":"done"}]
EOF
    run --separate-stderr flexiai chat --no-stream --session in <<<'and?'
    assert_success
    assert_equal "$stderr" "flexiai: stdin (sha256 ${h:0:12}): left out of the conversation (its bytes were not kept: it cannot be sent again)"
    assert_equal "$(attached o1 | jq -r '[.[].sha256] | join(" ")')" "$(sha "$FILES/shot.png")"
    assert_equal "$(mock_last_body o1 | jq -r '.messages[0].content | map(.type) | join(",")')" "text,image_url"
}

@test "a session file without attachments (an older one) still resumes; complete --messages sends the new one's files" {
    mkdir -p "$SESS"
    printf '[{"role":"user","content":"earlier"},{"role":"assistant","content":"reply"}]\n' >"$SESS/old.json"
    run --separate-stderr flexiai chat --no-stream --session old <<<'now'
    assert_success
    assert_equal "$stderr" ""
    assert_equal "$(mock_last_body o1 | jq -r '[.messages[].content] | join(",")')" "earlier,reply,now"
    assert_equal "$(jq -c '[.[] | has("attachments")]' "$SESS/old.json")" "[false,false,false,false]"
    # a file with attachments is still a conversation file for complete
    (cd "$FILES" && flexiai chat --no-stream --session s <<<$'/attach shot.png\nwhat is it?') >/dev/null
    run --separate-stderr flexiai complete --no-stream --messages "$SESS/s.json" "more" </dev/null
    assert_success
    assert_equal "$stderr" ""
    assert_equal "$(mock_last_body o1 | jq -r '[.messages[] | .content | if type == "array" then map(.type) | join("+") else . end] | join(",")')" "text+image_url,what is it?,more"
    assert_equal "$(attached o1 | jq -r '.[-1].sha256')" "$(sha "$FILES/shot.png")"
    # and without a prompt the file's last question keeps its files
    jq '.[:1]' "$SESS/s.json" >"$TEST_HOME/q.json"
    run --separate-stderr flexiai complete --no-stream --messages "$TEST_HOME/q.json" </dev/null
    assert_success
    assert_equal "$(mock_last_body o1 | jq -r '.messages[0].content | map(.type) | join(",")')" "text,image_url"
    rm "$FILES/shot.png"
    run --separate-stderr flexiai complete --no-stream --messages "$TEST_HOME/q.json" </dev/null
    assert_success
    assert_equal "$stderr" "flexiai: warning: $FILES/shot.png: left out of the conversation (cannot read $FILES/shot.png: No such file or directory)"
    assert_equal "$(mock_last_body o1 | jq -r '.messages[0].content')" "what is it?"
}

@test "a broken attachments entry: one line naming the message and the entry, exit 65, no request" {
    mkdir -p "$SESS"
    local cases=(
        '"attachments":"shot.png"|message 1: "attachments" must be an array'
        '"attachments":[5]|message 1: attachment 1: not an object'
        '"attachments":[{"path":"/a.png"},{"path":7}]|message 1: attachment 2: "path" and "url" are non-empty strings'
        '"attachments":[{"path":"/a.png","url":"https://x/a.png"}]|message 1: attachment 1: a "path" or a "url", not both'
        '"attachments":[{"url":"file:///etc/passwd"}]|message 1: attachment 1: "url" is an http or https URL'
        '"attachments":[{"path":"/a.png","sha256":"abc"}]|message 1: attachment 1: "sha256" is 64 lower-case hex digits'
        '"attachments":[{"path":"/a.png","size":-1}]|message 1: attachment 1: "size" is a number of bytes'
        '"attachments":[{"path":"/a.png","mime":"png"}]|message 1: attachment 1: "mime" is a type like image/png'
    )
    local c entry want
    for c in "${cases[@]}"; do
        entry=${c%%|*} want=${c#*|}
        printf '[{"role":"user","content":"q",%s},{"role":"assistant","content":"a"}]\n' "$entry" >"$SESS/b.json"
        run --separate-stderr flexiai chat --no-stream --session b <<<'next'
        assert_failure 65
        assert_equal "$stderr" "flexiai: $SESS/b.json: $want"
    done
    printf '[{"role":"user","content":"q"},{"role":"assistant","content":"a","attachments":[{"path":"/a.png"}]}]\n' >"$SESS/b.json"
    run --separate-stderr flexiai chat --no-stream --session b <<<'next'
    assert_failure 65
    assert_equal "$stderr" "flexiai: $SESS/b.json: message 2: only a user message carries \"attachments\""
    # complete --messages reads the same format: the same line
    run --separate-stderr flexiai complete --no-stream --messages "$SESS/b.json" </dev/null
    assert_failure 65
    assert_equal "$stderr" "flexiai: $SESS/b.json: message 2: only a user message carries \"attachments\""
    assert_equal "$(mock_count o1)" "0"
}

@test "--cid: the ledger conversation's files go again by path, as -C sends them" {
    flexiai chat --no-stream -a "$FILES/shot.png" <<<'what is it?' >/dev/null
    local cid
    cid=$(flexiai logs -n 1 --json | jq -r .conversation_id)
    [ -n "$cid" ] && [ "$cid" != null ]
    run --separate-stderr flexiai chat --no-stream --cid "$cid" <<<'and now?'
    assert_success
    assert_equal "$stderr" ""
    assert_equal "$(mock_last_body o1 | jq -r '.messages[0].content | map(.type) | join(",")')" "text,image_url"
    assert_equal "$(attached o1 | jq -r '[.[].sha256] | join(" ")')" "$(sha "$FILES/shot.png") $(sha "$FILES/shot.png")"
    # gone since: one line, and the question goes alone
    rm "$FILES/shot.png"
    run --separate-stderr flexiai chat --no-stream --cid "$cid" <<<'and again?'
    assert_success
    assert_equal "$stderr" "flexiai: $FILES/shot.png: left out of the conversation (cannot read $FILES/shot.png: No such file or directory)"
    assert_equal "$(mock_last_body o1 | jq -r '.messages[0].content')" "what is it?"
}

@test "an interrupted turn that keeps its question keeps its files in the session; resumed, they go again" {
    # the signal comes once "one two" is out; the rest would take 6 s
    mock_script o1 "reply=one two three four five six seven eight,chunks=8,delay_ms=1000"
    mkfifo "$TEST_HOME/in"
    flexiai chat --session i <"$TEST_HOME/in" >"$TEST_HOME/out" 2>"$TEST_HOME/err" &
    local pid=$! rc=0
    exec 7>"$TEST_HOME/in"
    printf '/attach %s\nwhat is it?\n' "$FILES/shot.png" >&7
    wait_lines "$TEST_HOME/out" 'one two' 1
    kill -INT $pid
    wait $pid || rc=$?
    exec 7>&-
    assert_equal "$rc" 130
    local f=$SESS/i.json
    assert_equal "$(jq -r '.[0].attachments[0].sha256, (.[1].content | endswith("[interrupted]"))' "$f" | tr '\n' ' ')" "$(sha "$FILES/shot.png") true "
    mock_reset
    run --separate-stderr flexiai chat --no-stream --session i <<<'go on'
    assert_success
    assert_equal "$stderr" ""
    assert_equal "$(attached o1 | jq -r '[.[].sha256] | join(" ")')" "$(sha "$FILES/shot.png")"
}
