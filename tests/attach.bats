#!/usr/bin/env bats
# -a/--attach end to end: images, PDFs and text files on every provider's
# wire (mockllm checks the shapes and records what arrived: type, size,
# SHA-256), capabilities before any traffic (a provider whose model cannot
# take an image is skipped, the next answers; none: exit 65), limits
# (missing 66, too large or unknown type 65), a URL fetched from a
# loopback server, stdin, batch items.

load helpers

setup() {
    setup_env
    start_mockllm
    make_files
}

teardown() {
    [ -n "${HTTP_PID:-}" ] && kill "$HTTP_PID" 2>/dev/null && wait "$HTTP_PID" 2>/dev/null
    teardown_env
}

# shot.png (a real 1x1 PNG), doc.pdf (a minimal PDF), notes.txt, blob.bin,
# blob.gz
make_files() {
    FILES=$TEST_HOME/files
    mkdir -p "$FILES"
    python3 - "$FILES" <<'PY'
import sys, zlib, struct
d = sys.argv[1]
def chunk(t, data):
    c = struct.pack(">I", len(data)) + t + data
    return c + struct.pack(">I", zlib.crc32(t + data) & 0xffffffff)
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)) \
    + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00")) + chunk(b"IEND", b"")
open(d + "/shot.png", "wb").write(png)
pdf = b"%PDF-1.4\n1 0 obj <</Type /Catalog /Pages 2 0 R>> endobj\n2 0 obj <</Type /Pages /Kids [] /Count 0>> endobj\ntrailer <</Root 1 0 R>>\n%%EOF\n"
open(d + "/doc.pdf", "wb").write(pdf)
open(d + "/notes.txt", "w").write('line one\nsay "hi"\n')
open(d + "/blob.bin", "wb").write(bytes(range(256)) * 4)
import gzip
open(d + "/blob.gz", "wb").write(gzip.compress(b"not for a model"))
PY
}

sha() { sha256sum "$1" | cut -d' ' -f1; }
size() { stat -c %s "$1"; }
attached() { curl -sf "$MOCK_URL/_control/attach/$1"; }

one_provider() { # TYPE ROUTE [lines]
    local type=$1 route=$2
    shift 2
    { printf '[failover]\nretries = 0\n\n'; provider_section p1 "$type" "$route" "$@"; } | write_config
}

@test "openai: an image goes as an image_url data URL, a PDF as a file part, a text file as text with its name" {
    one_provider openai o1
    run --separate-stderr flexiai complete --no-stream -a "$FILES/shot.png" -a "$FILES/doc.pdf" -a "$FILES/notes.txt" "what is this?"
    assert_success
    assert_equal "$(mock_log o1 | jq -r .invalid)" "0"
    local body
    body=$(mock_last_body o1)
    assert_equal "$(jq -r '.messages[-1].content[0].text' <<<"$body")" "what is this?"
    assert_equal "$(jq -r '.messages[-1].content[1].type' <<<"$body")" "image_url"
    assert_equal "$(jq -r '.messages[-1].content[1].image_url.url[0:22]' <<<"$body")" "data:image/png;base64,"
    assert_equal "$(jq -r '.messages[-1].content[2].file.filename' <<<"$body")" "doc.pdf"
    assert_equal "$(jq -r '.messages[-1].content[2].file.file_data[0:28]' <<<"$body")" "data:application/pdf;base64,"
    assert_equal "$(jq -r '.messages[-1].content[3].text' <<<"$body")" "$(printf 'File: notes.txt\n\nline one\nsay "hi"')"
    assert_equal "$(attached o1 | jq -r '.[0] | "\(.part) \(.mime) \(.bytes) \(.sha256)"')" "image_url image/png $(size "$FILES/shot.png") $(sha "$FILES/shot.png")"
    assert_equal "$(attached o1 | jq -r '.[1] | "\(.part) \(.mime) \(.bytes) \(.sha256) \(.name)"')" "file application/pdf $(size "$FILES/doc.pdf") $(sha "$FILES/doc.pdf") doc.pdf"
    assert_equal "$(attached o1 | jq length)" "2"
}

@test "responses: input_image and input_file parts after the input_text" {
    one_provider openai r1 "api = responses"
    run --separate-stderr flexiai complete --no-stream -a "$FILES/shot.png" -a "$FILES/doc.pdf" -a "$FILES/notes.txt" "describe"
    assert_success
    local body
    body=$(mock_last_body r1)
    assert_equal "$(jq -r '[.input[-1].content[].type] | join(",")' <<<"$body")" "input_text,input_image,input_file,input_text"
    assert_equal "$(jq -r '.input[-1].content[2].filename' <<<"$body")" "doc.pdf"
    assert_equal "$(attached r1 | jq -r '[.[] | "\(.part):\(.mime):\(.sha256)"] | join(" ")')" "input_image:image/png:$(sha "$FILES/shot.png") input_file:application/pdf:$(sha "$FILES/doc.pdf")"
}

@test "anthropic: image and document blocks with base64 sources before the question" {
    one_provider anthropic a1
    run --separate-stderr flexiai complete --no-stream -a "$FILES/shot.png" -a "$FILES/doc.pdf" -a "$FILES/notes.txt" "summarise"
    assert_success
    local body
    body=$(mock_last_body a1)
    assert_equal "$(jq -r '[.messages[-1].content[].type] | join(",")' <<<"$body")" "image,document,text,text"
    assert_equal "$(jq -r '.messages[-1].content[0].source | "\(.type) \(.media_type)"' <<<"$body")" "base64 image/png"
    assert_equal "$(jq -r '.messages[-1].content[1].title' <<<"$body")" "doc.pdf"
    assert_equal "$(jq -r '.messages[-1].content[3].text' <<<"$body")" "summarise"
    assert_equal "$(attached a1 | jq -r '[.[] | "\(.part):\(.bytes):\(.sha256)"] | join(" ")')" "image:$(size "$FILES/shot.png"):$(sha "$FILES/shot.png") document:$(size "$FILES/doc.pdf"):$(sha "$FILES/doc.pdf")"
}

@test "gemini and vertex: inlineData parts with the type" {
    { printf '[failover]\nretries = 0\n\n'; provider_section g1 gemini g1; } | write_config
    run --separate-stderr flexiai complete --no-stream -a "$FILES/shot.png" -a "$FILES/doc.pdf" -a "$FILES/notes.txt" "look"
    assert_success
    assert_equal "$(mock_last_body g1 | jq -r '[.contents[-1].parts[] | keys[0]] | join(",")')" "inlineData,inlineData,text,text"
    assert_equal "$(attached g1 | jq -r '[.[] | "\(.mime):\(.sha256)"] | join(" ")')" "image/png:$(sha "$FILES/shot.png") application/pdf:$(sha "$FILES/doc.pdf")"
    { printf '[failover]\nretries = 0\n\n'; provider_section v1 vertex v1; } | write_config
    run --separate-stderr flexiai complete --no-stream -a "$FILES/shot.png" "look"
    assert_success
    assert_equal "$(attached v1 | jq -r '.[0].mime')" "image/png"
}

@test "capabilities: a provider that takes no images is skipped before any traffic, the next answers" {
    {
        printf '[failover]\nretries = 0\n\n'
        provider_section textonly openai t1 "priority = 1" "accepts = text"
        provider_section vision anthropic v1 "priority = 2"
    } | write_config
    run --separate-stderr flexiai complete --no-stream -v -a "$FILES/shot.png" "What does this error say?"
    assert_success
    assert_equal "$(mock_count t1)" "0"
    assert_equal "$(mock_count v1)" "1"
    assert_line --partial "What does this error say?"
    [[ "$stderr" == *"textonly openai-model: skipped, openai-model takes text, not image (accepts)"* ]]
    # the breaker of the skipped provider counted nothing
    run flexiai breaker status --json
    assert_success
    refute_output --partial '"state":"open"'
}

@test "capabilities: the model family decides (gpt-3.5 reads text only), a text file goes anywhere" {
    {
        printf '[failover]\nretries = 0\n\n'
        provider_section old openai o1 "priority = 1" "model = gpt-3.5-turbo"
        provider_section new openai o2 "priority = 2"
    } | write_config
    run --separate-stderr flexiai complete --no-stream -v -a "$FILES/doc.pdf" "summarise"
    assert_success
    assert_equal "$(mock_count o1)" "0"
    assert_equal "$(mock_count o2)" "1"
    [[ "$stderr" == *"old gpt-3.5-turbo: skipped, gpt-3.5-turbo takes text, not pdf (its model family)"* ]]
    run --separate-stderr flexiai complete --no-stream -a "$FILES/notes.txt" "summarise"
    assert_success
    assert_equal "$(mock_count o1)" "1"
}

@test "capabilities: when no provider can take the type, one line names it and the providers, exit 65" {
    {
        printf '[failover]\nretries = 0\n\n'
        provider_section a openai o1 "priority = 1" "accepts = text"
        provider_section b gemini g1 "priority = 2" "accepts = text, pdf"
    } | write_config
    run --separate-stderr flexiai complete --no-stream -a "$FILES/shot.png" "hi"
    assert_failure 65
    assert_equal "$(mock_count o1)" "0"
    assert_equal "$(mock_count g1)" "0"
    assert_equal "$(printf '%s\n' "$stderr" | wc -l)" "1"
    [[ "$stderr" == *"a: unsupported (openai-model takes text, not image (accepts)); b: unsupported (gemini-model takes text, pdf, not image (accepts))"* ]]
}

@test "limits: a missing file is 66, too large or of an unknown type 65, each one line and no traffic" {
    one_provider openai o1
    run --separate-stderr flexiai complete -a "$FILES/nope.png" "hi"
    assert_failure 66
    assert_equal "$stderr" "flexiai: cannot read $FILES/nope.png: No such file or directory"
    run --separate-stderr flexiai complete -a "$FILES/blob.gz" "hi"
    assert_failure 65
    [[ "$stderr" == *"blob.gz: type application/gzip is not sent"* ]]
    printf '[defaults]\nmax_attachment_bytes = 100\n' >>"$CONFIG"
    run --separate-stderr flexiai complete -a "$FILES/shot.png" -a "$FILES/doc.pdf" "hi"
    assert_failure 65
    [[ "$stderr" == *"doc.pdf: "*" is more than max_attachment_bytes (100 bytes"* ]]
    assert_equal "$(mock_count o1)" "0"
}

@test "--attach-type overrides what the content says, for the next -a" {
    one_provider anthropic a1
    cp "$FILES/shot.png" "$FILES/shot.dat"
    run --separate-stderr flexiai complete --no-stream --attach-type image/png -a "$FILES/blob.bin" -a "$FILES/shot.dat" "hi"
    assert_success
    assert_equal "$(attached a1 | jq -r '[.[].mime] | join(",")')" "image/png,image/png"
    run --separate-stderr flexiai complete --attach-type png -a "$FILES/shot.png" "hi"
    assert_failure 64
}

@test "stdin: -a - sends what stdin holds; the prompt comes from the arguments" {
    one_provider openai o1
    run --separate-stderr flexiai complete --no-stream -a - "what is it?" <"$FILES/shot.png"
    assert_success
    assert_equal "$(attached o1 | jq -r '.[0].sha256')" "$(sha "$FILES/shot.png")"
    assert_equal "$(mock_last_body o1 | jq -r '.messages[-1].content[0].text')" "what is it?"
}

start_http() { # serve $FILES on a loopback port: HTTP_URL
    local port
    port=$(dead_port)
    (cd "$FILES" && exec python3 -m http.server --bind 127.0.0.1 "$port") >/dev/null 2>&1 &
    HTTP_PID=$!
    local i
    for i in $(seq 1 200); do
        curl -sf "http://127.0.0.1:$port/notes.txt" >/dev/null && break
        sleep 0.05
    done
    HTTP_URL=http://127.0.0.1:$port
}

@test "URLs: passed on where the API takes them, fetched with libcurl where it does not" {
    start_http
    one_provider openai o1
    run --separate-stderr flexiai complete --no-stream -a "$HTTP_URL/shot.png" -a "$HTTP_URL/doc.pdf" "what?"
    assert_success
    # Chat Completions takes an image URL, but no PDF URL: that one is fetched
    assert_equal "$(attached o1 | jq -r '.[0] | "\(.part) \(.url)"')" "image_url $HTTP_URL/shot.png"
    assert_equal "$(attached o1 | jq -r '.[1] | "\(.part) \(.sha256)"')" "file $(sha "$FILES/doc.pdf")"
    { printf '[failover]\nretries = 0\n\n'; provider_section g1 gemini g1; } | write_config
    run --separate-stderr flexiai complete --no-stream -a "$HTTP_URL/shot.png" "what?"
    assert_success
    assert_equal "$(attached g1 | jq -r '.[0] | "\(.mime) \(.sha256)"')" "image/png $(sha "$FILES/shot.png")"
    run --separate-stderr flexiai complete -a "ftp://127.0.0.1/x.png" "what?"
    assert_failure 65
    [[ "$stderr" == *"only http and https URLs are fetched"* ]]
}

@test "mockllm: a route scripted with no_images refuses an image part with a 400" {
    one_provider openai o1
    mock_script o1 "no_images"
    run --separate-stderr flexiai complete --no-stream -a "$FILES/shot.png" "hi"
    assert_failure 65
    assert_equal "$(mock_log o1 | jq -r .invalid)" "1"
    [[ "$stderr" == *"does not take images"* ]]
}

@test "batch: an item's \"attachments\" go with its prompt; a missing file is that line's error" {
    one_provider anthropic a1
    printf '%s\n' \
        "{\"id\":1,\"prompt\":\"what is it?\",\"attachments\":[\"$FILES/shot.png\",\"$FILES/doc.pdf\"]}" \
        "{\"id\":2,\"prompt\":\"and this?\",\"attachments\":[\"$FILES/nope.png\"]}" \
        '{"id":3,"prompt":"plain"}' >"$TEST_HOME/in.jsonl"
    # an input line names no local file unless --attach-files says it may
    run --separate-stderr flexiai batch -j 1 -o "$TEST_HOME/no.jsonl" <"$TEST_HOME/in.jsonl"
    assert_failure 65
    assert_equal "$(jq -r 'select(.id == 1) | .error' "$TEST_HOME/no.jsonl")" "line 1: attachments: a file name is not taken from the input (http(s) URLs; --attach-files allows files)"
    assert_equal "$(mock_count a1)" "1"
    mock_reset
    run --separate-stderr flexiai batch --attach-files -j 1 -o "$TEST_HOME/out.jsonl" <"$TEST_HOME/in.jsonl"
    assert_failure 65
    assert_equal "$(mock_count a1)" "2"
    assert_equal "$(attached a1 | jq -r '[.[] | "\(.part):\(.sha256)"] | join(" ")')" "image:$(sha "$FILES/shot.png") document:$(sha "$FILES/doc.pdf")"
    assert_equal "$(jq -r 'select(.id == 2) | .error' "$TEST_HOME/out.jsonl")" "line 2: cannot read $FILES/nope.png: No such file or directory"
    assert_equal "$(jq -r 'select(.id == 1) | .text' "$TEST_HOME/out.jsonl")" "what is it?"
    assert_equal "$(jq -r 'select(.id == 3) | .text' "$TEST_HOME/out.jsonl")" "plain"
}

@test "chat: /attach queues a file for the next message, /show lists it, later turns send it again; -a too" {
    one_provider openai o1
    run --separate-stderr flexiai chat --no-stream <<EOT
/attach $FILES/nope.png
/attach $FILES/shot.png
/attach $FILES/notes.txt
/detach notes.txt
what is it?
/show
and now?
EOT
    assert_success
    # (scripted: only errors on stderr)
    assert_equal "$stderr" "flexiai: cannot read $FILES/nope.png: No such file or directory"
    assert_line "you [$FILES/shot.png]:"
    assert_equal "$(mock_count o1)" "2"
    # the second turn sends the first question's image again, nothing new
    assert_equal "$(attached o1 | jq -r '[.[].sha256] | unique | length')" "1"
    assert_equal "$(attached o1 | jq length)" "2"
    assert_equal "$(mock_last_body o1 | jq -r '.messages[-1].content')" "and now?"
    run --separate-stderr flexiai chat --no-stream -a "$FILES/doc.pdf" <<<"summarise"
    assert_success
    assert_equal "$(attached o1 | jq -r '.[-1].mime')" "application/pdf"
}

@test "ledger: logs -n 1 lists the attachments, logs show gives their path and whole SHA-256, never their bytes" {
    one_provider openai o1
    run --separate-stderr flexiai complete --no-stream -a "$FILES/shot.png" -a "$FILES/doc.pdf" "what is this?"
    assert_success
    run --separate-stderr flexiai logs -n 1
    assert_success
    assert_line "  attached: shot.png (image/png, $(size "$FILES/shot.png") bytes, sha256 $(sha "$FILES/shot.png" | cut -c1-12))"
    assert_line "  attached: doc.pdf (application/pdf, $(size "$FILES/doc.pdf") bytes, sha256 $(sha "$FILES/doc.pdf" | cut -c1-12))"
    local id
    id=$(flexiai logs -n 1 --json | jq -r .id)
    run --separate-stderr flexiai logs show "$id"
    assert_success
    assert_line "  attached: $(realpath "$FILES/shot.png") (image/png, $(size "$FILES/shot.png") bytes, sha256 $(sha "$FILES/shot.png"))"
    assert_equal "$(flexiai logs -n 1 --json | jq -r '[.attachments[] | "\(.name):\(.sha256)"] | join(" ")')" "shot.png:$(sha "$FILES/shot.png") doc.pdf:$(sha "$FILES/doc.pdf")"
    # the bytes are nowhere in the database
    local b64
    b64=$(base64 -w0 "$FILES/shot.png")
    run sqlite3 "$XDG_DATA_HOME/flexiai/logs.db" "SELECT count(*) FROM requests WHERE messages LIKE '%${b64:0:16}%'"
    assert_output "0"
    assert_equal "$(sqlite3 "$XDG_DATA_HOME/flexiai/logs.db" 'SELECT count(*) FROM attachments')" "2"
}

@test "-C: the conversation's files go again by path; a file changed since is sent as it is now, with one warning" {
    one_provider openai o1
    cp "$FILES/shot.png" "$FILES/mine.png"
    run --separate-stderr flexiai complete --no-stream -a "$FILES/mine.png" "what is this?"
    assert_success
    run --separate-stderr flexiai complete --no-stream -C "and the colour?"
    assert_success
    assert_equal "$stderr" ""
    assert_equal "$(mock_last_body o1 | jq -r '.messages[0].content[1].type')" "image_url"
    assert_equal "$(attached o1 | jq -r '[.[].sha256] | unique | length')" "1"
    cp "$FILES/doc.pdf" "$FILES/mine.png" # not even an image any more
    printf 'x' >>"$FILES/mine.png"
    run --separate-stderr flexiai complete --no-stream -C "and now?"
    assert_success
    assert_equal "$(printf '%s\n' "$stderr" | grep -c 'changed since the conversation sent it')" "1"
    assert_equal "$(attached o1 | jq -r '.[-1] | "\(.part) \(.sha256)"')" "file $(sha "$FILES/mine.png")"
}

@test "accepts: a word other than text, image or pdf is a configuration error (78)" {
    one_provider openai o1 "accepts = text, video"
    run --separate-stderr flexiai complete -a "$FILES/shot.png" "hi"
    assert_failure 78
    [[ "$stderr" == *"provider.p1.accepts: 'video' is not text, image or pdf"* ]]
    assert_equal "$(mock_count o1)" "0"
}
