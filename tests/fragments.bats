#!/usr/bin/env bats
# fragments.bats - -f/--fragment FILE|URL|NAME|- on complete, chat
# (/fragment) and batch ("fragments"), against mockllm (which answers
# with the prompt it got): saved fragments, URLs on a loopback server,
# what is refused, and the ledger storing each fragment once.

load helpers

FDIR=
WEB_PID=

setup() {
    setup_env
    start_mockllm
    {
        printf '[failover]\nretries = 0\n\n'
        provider_section oa openai oa
    } | write_config
    FDIR=$XDG_CONFIG_HOME/flexiai/fragments
    mkdir -p "$FDIR"
    printf 'Use tabs.\n' >"$FDIR/style.md"
    printf 'Be kind.\n' >"$FDIR/tone.txt"
    printf 'plain' >"$FDIR/plain"
}

teardown() {
    [ -n "$WEB_PID" ] && kill "$WEB_PID" 2>/dev/null && wait "$WEB_PID" 2>/dev/null
    teardown_env
}

body() { mock_last_body oa; }
DB() { echo "$XDG_DATA_HOME/flexiai/logs.db"; }
sql() { flexiai logs path >/dev/null && flexiai usage >/dev/null && sqlite3 "$(DB)" "$1"; }

# a loopback web server: /doc.txt, /r/N (N redirects, then /doc.txt),
# anything else 404; sets WEB_URL
start_web() {
    python3 - "$TEST_HOME/web.port" <<'PY' >/dev/null 2>&1 3>&- &
import http.server, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.startswith('/r/'):
            n = int(self.path[3:])
            self.send_response(302)
            self.send_header('Location', '/r/%d' % (n - 1) if n > 1 else '/doc.txt')
            self.send_header('Content-Length', '0')
            self.end_headers()
        elif self.path == '/doc.txt':
            b = b'REMOTE TEXT\n'
            self.send_response(200)
            self.send_header('Content-Length', str(len(b)))
            self.end_headers()
            self.wfile.write(b)
        else:
            self.send_response(404)
            self.send_header('Content-Length', '0')
            self.end_headers()
    def log_message(self, *a):
        pass
s = http.server.HTTPServer(('127.0.0.1', 0), H)
with open(sys.argv[1] + '.tmp', 'w') as f:
    f.write(str(s.server_address[1]))
import os
os.rename(sys.argv[1] + '.tmp', sys.argv[1])
s.serve_forever()
PY
    WEB_PID=$!
    local i
    for i in $(seq 1 200); do
        [ -s "$TEST_HOME/web.port" ] && break
        sleep 0.05
    done
    WEB_URL=http://127.0.0.1:$(cat "$TEST_HOME/web.port")
}

@test "saved fragments by name (NAME, NAME.txt, NAME.md) go before the prompt, named" {
    run --separate-stderr flexiai complete --no-stream -f style -f tone -f plain "the question" </dev/null
    assert_success
    assert_equal "$(body | jq -r '.messages[0].content')" '<fragment name="style">
Use tabs.
</fragment>

<fragment name="tone">
Be kind.
</fragment>

<fragment name="plain">
plain
</fragment>

the question'
}

@test "a file and stdin as fragments; a fragment alone is a prompt" {
    printf 'file text\n' >"$TEST_HOME/notes.txt"
    run --separate-stderr flexiai complete --no-stream -f "$TEST_HOME/notes.txt" -f - "q" <<<"from stdin"
    assert_success
    assert_equal "$(body | jq -r '.messages[0].content')" "<fragment name=\"$TEST_HOME/notes.txt\">
file text
</fragment>

<fragment name=\"stdin\">
from stdin
</fragment>

q"
    run --separate-stderr flexiai complete --no-stream -f tone </dev/null
    assert_success
    assert_equal "$(body | jq -r '.messages[0].content')" '<fragment name="tone">
Be kind.
</fragment>'
}

@test "a missing fragment is one line and exit 66, nothing sent" {
    run --separate-stderr flexiai complete -f nope "q" </dev/null
    assert_failure 66
    assert_equal "$stderr" "flexiai: fragment 'nope': no such file, URL or saved fragment (in $FDIR)"
    run --separate-stderr flexiai complete -f ./nope.txt "q" </dev/null
    assert_failure 66
    assert_equal "$(wc -l <<<"$stderr")" 1
    assert_equal "$(mock_count oa)" 0
}

@test "a fragment that is not text (a NUL byte) is exit 65" {
    printf 'a\0b' >"$TEST_HOME/bin"
    run --separate-stderr flexiai complete -f "$TEST_HOME/bin" "q" </dev/null
    assert_failure 65
    assert_equal "$(wc -l <<<"$stderr")" 1
    assert_equal "$(mock_count oa)" 0
}

@test "a URL fragment is fetched over loopback: redirects up to 3, a 404 is 66" {
    start_web
    run --separate-stderr flexiai complete --no-stream -f "$WEB_URL/doc.txt" "q" </dev/null
    assert_success
    assert_equal "$(body | jq -r '.messages[0].content')" "<fragment name=\"$WEB_URL/doc.txt\">
REMOTE TEXT
</fragment>

q"
    run --separate-stderr flexiai complete --no-stream -f "$WEB_URL/r/3" "q" </dev/null
    assert_success
    [[ "$(body | jq -r '.messages[0].content')" == *"REMOTE TEXT"* ]]
    run --separate-stderr flexiai complete --no-stream -f "$WEB_URL/r/4" "q" </dev/null
    assert_failure 69
    [[ $stderr == "flexiai: fragment $WEB_URL/r/4: "* ]]
    run --separate-stderr flexiai complete --no-stream -f "$WEB_URL/missing" "q" </dev/null
    assert_failure 66
    assert_equal "$stderr" "flexiai: fragment $WEB_URL/missing: not found (HTTP 404)"
    assert_equal "$(mock_count oa)" 2
}

@test "the same 50 KB fragment used by 20 requests is stored once" {
    head -c 38000 /dev/urandom | base64 -w 76 >"$TEST_HOME/big.txt"
    local size
    size=$(stat -c %s "$TEST_HOME/big.txt")
    [ "$size" -ge 50000 ]
    for i in $(seq 1 20); do
        flexiai complete --no-stream -f "$TEST_HOME/big.txt" "question $i" </dev/null >/dev/null
    done
    assert_equal "$(sql 'SELECT count(*) FROM requests')" 20
    assert_equal "$(sql 'SELECT count(*) FROM fragments')" 1
    assert_equal "$(sql 'SELECT length(content) FROM fragments')" "$size"
    assert_equal "$(sql 'SELECT count(*) FROM request_fragments')" 20
    assert_equal "$(sql "SELECT hash FROM fragments")" "$(sha256sum "$TEST_HOME/big.txt" | cut -d' ' -f1)"
    # the records refer to it instead of holding it
    assert_equal "$(sql 'SELECT max(length(messages)) < 1000 FROM requests')" 1
    run flexiai logs show 20
    assert_success
    assert_line "  fragment: $TEST_HOME/big.txt (sha256 $(sha256sum "$TEST_HOME/big.txt" | cut -c1-12), $size bytes)"
    run flexiai logs show 20 --json
    assert_equal "$(jq -r '.fragments[0].name' <<<"$output")" "$TEST_HOME/big.txt"
}

@test "-C sends the fragment's text again from the ledger" {
    run --separate-stderr flexiai complete --no-stream -f style "first" </dev/null
    assert_success
    run --separate-stderr flexiai complete --no-stream -C "second" </dev/null
    assert_success
    run body
    assert_equal "$(jq -r '.messages[0].content' <<<"$output")" '<fragment name="style">
Use tabs.
</fragment>

first'
    assert_equal "$(jq -r '.messages[2].content' <<<"$output")" "second"
}

@test "deleting the records that used a fragment removes it and its links" {
    flexiai complete --no-stream -f style "q" </dev/null >/dev/null
    assert_equal "$(sql 'SELECT count(*) FROM fragments')" 1
    sqlite3 "$(DB)" 'DELETE FROM requests'
    assert_equal "$(sqlite3 "$(DB)" 'SELECT count(*) FROM request_fragments')" 0
    assert_equal "$(sqlite3 "$(DB)" 'SELECT count(*) FROM fragments')" 0
}

@test "batch: an item's fragments go before its prompt and are stored once" {
    printf '%s\n' '{"id": 1, "prompt": "a", "fragments": ["style"]}' \
        '{"id": 2, "prompt": "b", "fragments": ["style", "tone"]}' \
        '{"id": 3, "prompt": "c", "fragments": ["nope"]}' \
        '{"id": 4, "prompt": "d", "fragments": "style"}' >"$TEST_HOME/in.jsonl"
    run --separate-stderr flexiai batch -i "$TEST_HOME/in.jsonl"
    assert_failure 65
    assert_equal "$(jq -r 'select(.id == 1) | .text' <<<"$output")" '<fragment name="style">
Use tabs.
</fragment>

a'
    [[ "$(jq -r 'select(.id == 2) | .text' <<<"$output")" == *'<fragment name="tone">'*b ]]
    [[ "$(jq -r 'select(.id == 3) | .error' <<<"$output")" == *"fragment 'nope'"* ]]
    [[ "$(jq -r 'select(.id == 4) | .error' <<<"$output")" == *"fragments must be an array"* ]]
    assert_equal "$(mock_count oa)" 2
    assert_equal "$(sql 'SELECT count(*) FROM fragments')" 2
    assert_equal "$(sql 'SELECT count(*) FROM request_fragments')" 3
}

@test "a template's fragments come before the command line's" {
    mkdir -p "$XDG_CONFIG_HOME/flexiai/templates"
    printf 'fragments = style\n' >"$XDG_CONFIG_HOME/flexiai/templates/t.ini"
    run --separate-stderr flexiai complete --no-stream --template t -f tone "q" </dev/null
    assert_success
    run body
    [[ "$(jq -r '.messages[0].content' <<<"$output")" == '<fragment name="style">'*'<fragment name="tone">'*q ]]
}

@test "chat: -f and /fragment put a fragment before the next question only" {
    run --separate-stderr flexiai chat -f style <<<$'one\n/fragment tone\ntwo\nthree\n/fragment nope'
    assert_failure 66
    run body
    assert_equal "$(jq -r '.messages[0].content' <<<"$output")" '<fragment name="style">
Use tabs.
</fragment>

one'
    assert_equal "$(jq -r '.messages[2].content' <<<"$output")" '<fragment name="tone">
Be kind.
</fragment>

two'
    assert_equal "$(jq -r '.messages[4].content' <<<"$output")" "three"
    assert_equal "$(sql 'SELECT count(*) FROM fragments')" 2
}
