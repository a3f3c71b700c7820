#!/usr/bin/env bats
# batch-template-attach.bats - a template's `attachments = ...` through
# batch: with --template and with an item's own "template", each item's
# request carries the template's files (mockllm records each part it
# got); a missing one is one line and nothing sent or written; a template
# file an input line names by path is not trusted with local files.

load helpers

TDIR=

setup() {
    setup_env
    start_mockllm
    {
        printf '[failover]\nretries = 0\n\n'
        provider_section oa openai oa
    } | write_config
    TDIR=$XDG_CONFIG_HOME/flexiai/templates
    mkdir -p "$TDIR" "$TEST_HOME/here"
    # a PNG's signature and header chunk: enough for libmagic
    printf '\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90\x77\x53\xde' >"$TEST_HOME/here/pic.png"
    # a relative name: from the current directory, as complete takes it
    printf 'prompt = What is in this picture? $input\nattachments = pic.png\n' >"$TDIR/look.ini"
    printf '%s\n' '{"id": 1, "prompt": "a"}' '{"id": 2, "prompt": "b"}' \
        '{"id": 3, "prompt": "c"}' >"$TEST_HOME/in.jsonl"
    cd "$TEST_HOME/here"
}

teardown() { teardown_env; }

attached() { curl -sf "$MOCK_URL/_control/attach/$1"; }
sha() { sha256sum "$1" | cut -d' ' -f1; }

@test "batch --template: the template's attachment goes with each of the 3 items" {
    run --separate-stderr flexiai batch --template look -j 2 -o "$TEST_HOME/out.jsonl" -i "$TEST_HOME/in.jsonl"
    assert_success
    assert_equal "$(mock_count oa)" 3
    assert_equal "$(mock_log oa | jq -r .invalid)" 0
    local want
    want=$(sha pic.png)
    assert_equal "$(attached oa | jq -r '[.[] | "\(.part) \(.mime) \(.sha256)"] | join("\n")')" \
        "$(printf 'image_url image/png %s\nimage_url image/png %s\nimage_url image/png %s' "$want" "$want" "$want")"
    assert_equal "$(jq -r .text "$TEST_HOME/out.jsonl" | sort | tr '\n' '|')" \
        "What is in this picture? a|What is in this picture? b|What is in this picture? c|"
    # the ledger keeps the file of each item's record
    assert_equal "$(flexiai logs -n 3 --json | jq -s -r '[.[] | .attachments[] | .name] | join(" ")')" "pic.png pic.png pic.png"
}

@test "batch: an item's own \"template\" brings its attachments; the item's own files go first" {
    cp pic.png other.png
    printf 'x' >>other.png # another PNG, another SHA-256
    printf '%s\n' '{"id": 1, "template": "look", "prompt": "a"}' \
        '{"id": 2, "template": "look", "prompt": "b", "attachments": ["other.png"]}' \
        '{"id": 3, "template": "look", "prompt": "c"}' \
        '{"id": 4, "prompt": "no template"}' >"$TEST_HOME/items.jsonl"
    run --separate-stderr flexiai batch --attach-files -j 1 -i "$TEST_HOME/items.jsonl"
    assert_success
    assert_equal "$(mock_count oa)" 4
    # with -j 1 in input order: item 2 carries its own file, then the
    # template's
    assert_equal "$(attached oa | jq -r '[.[] | .sha256] | join(" ")')" \
        "$(sha pic.png) $(sha other.png) $(sha pic.png) $(sha pic.png)"
    # item 4 has no template: its request carries no part but the text
    assert_equal "$(mock_last_body oa | jq -r '.messages[-1].content')" "no template"
    # the same items without --attach-files: the template's file is the
    # user's own (trusted), the line's own file is refused as before
    mock_reset
    run --separate-stderr flexiai batch -j 1 -i "$TEST_HOME/items.jsonl"
    assert_failure 65
    assert_equal "$(mock_count oa)" 3
    assert_equal "$(attached oa | jq -r 'length')" 2
    [[ "$(jq -r 'select(.id == 2) | .error' <<<"$output")" == *"a file name is not taken from the input"* ]]
}

@test "batch --template: a missing template attachment is one line, exit 66, nothing sent or written" {
    printf 'attachments = gone.png\n' >"$TDIR/broken.ini"
    run --separate-stderr flexiai batch --template broken -o "$TEST_HOME/out.jsonl" -i "$TEST_HOME/in.jsonl"
    assert_failure 66
    assert_equal "$stderr" "flexiai: cannot read gone.png: No such file or directory"
    assert_output ""
    assert_equal "$(mock_count oa)" 0
    [ ! -s "$TEST_HOME/out.jsonl" ]
}

@test "batch: an item's template with a missing attachment makes that line bad (65), the others go" {
    printf 'attachments = gone.png\n' >"$TDIR/broken.ini"
    printf '%s\n' '{"id": 1, "template": "broken", "prompt": "a"}' \
        '{"id": 2, "template": "look", "prompt": "b"}' \
        '{"id": 3, "template": "broken", "prompt": "c"}' >"$TEST_HOME/items.jsonl"
    run --separate-stderr flexiai batch -j 1 -i "$TEST_HOME/items.jsonl"
    assert_failure 65
    assert_equal "$(mock_count oa)" 1
    assert_equal "$(jq -r 'select(.id == 1) | .error' <<<"$output")" "line 1: cannot read gone.png: No such file or directory"
    assert_equal "$(jq -r 'select(.id == 3) | .error' <<<"$output")" "line 3: cannot read gone.png: No such file or directory"
}

@test "batch: a template file an input line names by path brings no local file without --attach-files" {
    printf 'attachments = %s\n' "$TEST_HOME/here/pic.png" >"$TEST_HOME/elsewhere.ini"
    printf '{"id": 1, "template": "%s", "prompt": "a"}\n' "$TEST_HOME/elsewhere.ini" >"$TEST_HOME/items.jsonl"
    run --separate-stderr flexiai batch -i "$TEST_HOME/items.jsonl"
    assert_failure 65
    assert_equal "$(mock_count oa)" 0
    [[ "$(jq -r .error <<<"$output")" == *"a file name is not taken from the input"* ]]
    run --separate-stderr flexiai batch --attach-files -i "$TEST_HOME/items.jsonl"
    assert_success
    assert_equal "$(attached oa | jq -r ".[0].part")" image_url
}

@test "batch: a template's attachment - (stdin) is refused: stdin holds the items" {
    printf 'attachments = -\n' >"$TDIR/stdin.ini"
    run --separate-stderr flexiai batch -i "$TEST_HOME/in.jsonl" --template stdin
    assert_failure 65
    assert_output ""
    assert_equal "$stderr" "flexiai: a template's attachment - (stdin) is not taken by batch (stdin holds the items)"
    run --separate-stderr flexiai batch <<<'{"id": 1, "template": "stdin", "prompt": "a"}'
    assert_failure 65
    [[ "$(jq -r .error <<<"$output")" == *"- (stdin) is not taken by batch"* ]]
    assert_equal "$(mock_count oa)" 0
}

@test "batch --deferred: a template's attachments go into the provider job with each item" {
    run --separate-stderr flexiai batch --deferred --template look -i "$TEST_HOME/in.jsonl" -o "$TEST_HOME/out.jsonl"
    assert_success
    # three items, each with the picture as a content part of its request
    assert_equal "$(curl -sf "$MOCK_URL/_batchapi/oa" | jq .parts)" 3
    assert_equal "$(mock_count oa)" 0
}
