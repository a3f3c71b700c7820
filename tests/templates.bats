#!/usr/bin/env bats
# templates.bats - --template NAME on complete, chat and batch against
# mockllm (which answers with the prompt it got and keeps the request's
# body): parameters, defaults, overrides, roles, bad and missing files,
# and `flexiai templates list|show|path`.

load helpers

TDIR=

setup() {
    setup_env
    start_mockllm
    {
        printf '[failover]\nretries = 0\n\n'
        provider_section oa openai oa
        provider_section an anthropic an
    } | write_config
    TDIR=$XDG_CONFIG_HOME/flexiai/templates
    mkdir -p "$TDIR"
    cat >"$TDIR/review.ini" <<'T'
# a code review
system = You review $lang code.
prompt = Review this diff for $focus:

    $input
    (budget: $$5)
temperature = 0.2
[params]
focus = bugs
T
    printf 'system = You are a pirate.\n' >"$TDIR/pirate.ini"
}

teardown() { teardown_env; }

body() { mock_last_body "${1:-oa}"; }

@test "a template's system, prompt, parameters and defaults reach the provider" {
    run --separate-stderr flexiai complete --no-stream --template review -P lang C <<<"the diff"
    assert_success
    run body
    assert_equal "$(jq -r '.messages[0].role' <<<"$output")" system
    assert_equal "$(jq -r '.messages[0].content' <<<"$output")" "You review C code."
    assert_equal "$(jq -r '.messages[1].content' <<<"$output")" "Review this diff for bugs:

the diff
(budget: \$5)"
    assert_equal "$(jq -r '.temperature' <<<"$output")" 0.2
}

@test "-P overrides a [params] default and the command line overrides the template" {
    run --separate-stderr flexiai complete --no-stream --template review \
        -P lang Go -P focus 'error handling' -t 1.5 -s 'Be short.' "x" </dev/null
    assert_success
    run body
    assert_equal "$(jq -r '.messages[0].content' <<<"$output")" "Be short."
    assert_equal "$(jq -r '.temperature' <<<"$output")" 1.5
    assert_equal "$(jq -r '.messages[1].content' <<<"$output")" "Review this diff for error handling:

x
(budget: \$5)"
}

@test "a template's model and provider, and -p over them" {
    printf 'provider = an\nmodel = claude-tmpl\nprompt = hi $input\n' >"$TDIR/where.ini"
    run --separate-stderr flexiai complete --no-stream --template where "there" </dev/null
    assert_success
    assert_output "hi there"
    assert_equal "$(mock_count an)" 1
    assert_equal "$(body an | jq -r .model)" claude-tmpl
    run --separate-stderr flexiai complete --no-stream --template where -p oa "again" </dev/null
    assert_success
    assert_equal "$(mock_count oa)" 1
    assert_equal "$(mock_count an)" 1
}

@test "a role is a template with only a system prompt" {
    run --separate-stderr flexiai complete --no-stream --template pirate "ahoy" </dev/null
    assert_success
    assert_output "ahoy"
    run body
    assert_equal "$(jq -r '.messages[0].content' <<<"$output")" "You are a pirate."
    assert_equal "$(jq -r '.messages[1].content' <<<"$output")" "ahoy"
}

@test "a parameter with no value is one line and exit 64, nothing sent" {
    run --separate-stderr flexiai complete --no-stream --template review "x" </dev/null
    assert_failure 64
    assert_equal "$(wc -l <<<"$stderr")" 1
    assert_equal "$stderr" "flexiai: template review: parameter 'lang' has no value (give it with -P lang VALUE)"
    assert_equal "$(mock_count oa)" 0
}

@test "-P needs --template, a name and a value" {
    run --separate-stderr flexiai complete -P lang C "x" </dev/null
    assert_failure 64
    run --separate-stderr flexiai complete --template review -P lang </dev/null
    assert_failure 64
    assert_equal "$(mock_count oa)" 0
}

@test "a missing template is exit 66, a bad one 78 with FILE:LINE" {
    run --separate-stderr flexiai complete --template nope "x" </dev/null
    assert_failure 66
    assert_equal "$(wc -l <<<"$stderr")" 1
    [[ $stderr == *"no template 'nope'"* ]]
    printf 'system = ok\n\ntemperature = hot\n' >"$TDIR/bad.ini"
    run --separate-stderr flexiai complete --template bad "x" </dev/null
    assert_failure 78
    assert_equal "$stderr" "flexiai: $TDIR/bad.ini:3: temperature must be a number from 0 to 2"
    printf 'system = ok\nsytem = typo\n' >"$TDIR/bad.ini"
    run --separate-stderr flexiai complete --template bad "x" </dev/null
    assert_failure 78
    [[ $stderr == "flexiai: $TDIR/bad.ini:2: unknown key"* ]]
    printf '[other]\n' >"$TDIR/bad.ini"
    run --separate-stderr flexiai complete --template bad "x" </dev/null
    assert_failure 78
    [[ $stderr == "flexiai: $TDIR/bad.ini:1: "* ]]
    assert_equal "$(mock_count oa)" 0
}

@test "a template given by its path" {
    printf 'prompt = from a file: $input\n' >"$TEST_HOME/mine.ini"
    run --separate-stderr flexiai complete --no-stream --template "$TEST_HOME/mine.ini" "yes" </dev/null
    assert_success
    assert_output "from a file: yes"
}

@test "templates list, show and path" {
    run --separate-stderr flexiai templates list
    assert_success
    assert_line --index 0 --regexp '^pirate +role: You are a pirate\.$'
    assert_line --index 1 --regexp '^review +You review \$lang code\.$'
    run --separate-stderr flexiai templates show pirate
    assert_success
    assert_output "system = You are a pirate."
    run --separate-stderr flexiai templates path
    assert_output "$TDIR"
    run --separate-stderr flexiai templates path review
    assert_output "$TDIR/review.ini"
    run --separate-stderr flexiai templates show nope
    assert_failure 66
    printf 'nonsense\n' >"$TDIR/broken.ini"
    run --separate-stderr flexiai templates list
    assert_failure 78
    assert_line --index 0 --regexp '^broken +\(not usable: .*broken.ini:1: expected KEY = VALUE\)$'
    run --separate-stderr flexiai templates show broken
    assert_failure 78
}

@test "batch: --template with -P, and per-item template and params" {
    printf 'prompt = Translate to $lang: $input\n' >"$TDIR/tr.ini"
    printf '%s\n' \
        '{"id": 1, "prompt": "cheese"}' \
        '{"id": 2, "prompt": "bread", "params": {"lang": "German"}}' \
        '{"id": 3, "template": "review", "params": {"lang": "Rust", "focus": "style"}, "prompt": "a diff"}' \
        '{"id": 4, "template": "pirate", "prompt": "hi"}' \
        '{"id": 5, "template": "nope", "prompt": "x"}' >"$TEST_HOME/in.jsonl"
    run --separate-stderr flexiai batch --template tr -P lang French -i "$TEST_HOME/in.jsonl"
    assert_failure 65
    assert_equal "$(jq -r 'select(.id == 1) | .text' <<<"$output")" "Translate to French: cheese"
    assert_equal "$(jq -r 'select(.id == 2) | .text' <<<"$output")" "Translate to German: bread"
    assert_equal "$(jq -r 'select(.id == 3) | .text' <<<"$output")" "Review this diff for style:

a diff
(budget: \$5)"
    assert_equal "$(jq -r 'select(.id == 4) | .text' <<<"$output")" "hi"
    assert_equal "$(jq -r 'select(.id == 5) | .exit_code' <<<"$output")" 65
    [[ "$(jq -r 'select(.id == 5) | .error' <<<"$output")" == *"no template 'nope'"* ]]
    assert_equal "$(mock_count oa)" 4
}

@test "batch: an item's template prompt needs no prompt of the item, its options apply" {
    printf 'system = Be $tone.\nprompt = Say $word.\nmodel = m-tmpl\n' >"$TDIR/say.ini"
    printf '%s\n' '{"id": "a", "template": "say", "params": {"tone": "kind", "word": "yes"}}' \
        '{"id": "b", "template": "say", "model": "m-own", "params": {"tone": "x"}}' >"$TEST_HOME/in.jsonl"
    run --separate-stderr flexiai batch -i "$TEST_HOME/in.jsonl"
    assert_failure 65
    assert_equal "$(jq -r 'select(.id == "a") | .text' <<<"$output")" "Say yes."
    assert_equal "$(jq -r 'select(.id == "a") | .model' <<<"$output")" "m-tmpl"
    [[ "$(jq -r 'select(.id == "b") | .error' <<<"$output")" == *"parameter 'word' has no value"* ]]
    run body
    assert_equal "$(jq -r '.messages[0].content' <<<"$output")" "Be kind."
}

@test "batch: a missing --template is exit 66 before anything is read" {
    run --separate-stderr flexiai batch --template nope <<<'{"prompt": "x"}'
    assert_failure 66
    assert_equal "$(mock_count oa)" 0
}

@test "chat --template: the system prompt and the first question's frame" {
    run --separate-stderr flexiai chat --template review -P lang C -P focus speed <<<$'first\nsecond'
    assert_success
    assert_line --index 0 "Review this diff for speed:"
    assert_line "second"
    run body
    assert_equal "$(jq -r '.messages[0].content' <<<"$output")" "You review C code."
    assert_equal "$(jq -r '.messages[3].content' <<<"$output")" "second"
}

@test "the review template over a real git diff reaches the provider" {
    command -v git >/dev/null || fail "git not installed (apt-get install git)"
    cat >"$TDIR/review.ini" <<'T'
system = You are a careful reviewer of $lang changes.
prompt = Point out bugs in this change:
    $input
[params]
lang = C
T
    repo=$TEST_HOME/repo
    git init -q "$repo"
    printf 'int main(void) { return 0; }\n' >"$repo/a.c"
    git -C "$repo" add a.c
    git -C "$repo" -c user.name=t -c user.email=t@t commit -qm one
    printf 'int main(void) { return 1; }\n' >"$repo/a.c"
    run --separate-stderr bash -c 'git -C "$1" diff | flexiai complete --no-stream --template review' _ "$repo"
    assert_success
    run body
    local user
    user=$(jq -r '.messages[1].content' <<<"$output")
    assert_equal "$(jq -r '.messages[0].content' <<<"$output")" "You are a careful reviewer of C changes."
    [[ $user == "Point out bugs in this change:"$'\n'"diff --git a/a.c b/a.c"* ]]
    [[ $user == *"-int main(void) { return 0; }"* ]]
    [[ $user == *"+int main(void) { return 1; }" ]]
}

# bash completion: COMPREPLY for the words given, one per line
bash_complete() {
    bash -c '
        source "$1/flexiai" || exit 1
        shift
        COMP_WORDS=("$@")
        COMP_CWORD=$(($# - 1))
        COMP_LINE="$*"
        COMP_POINT=${#COMP_LINE}
        _flexiai
        printf "%s\n" "${COMPREPLY[@]}"
    ' _ "$SRCDIR/completions" "$@"
}

@test "bash completion offers template names and saved fragments" {
    mkdir -p "$XDG_CONFIG_HOME/flexiai/fragments"
    printf 'x\n' >"$XDG_CONFIG_HOME/flexiai/fragments/style.md"
    printf 'x\n' >"$XDG_CONFIG_HOME/flexiai/fragments/tone.txt"
    cd "$TEST_HOME"
    run bash_complete flexiai complete --template ''
    assert_success
    assert_output "pirate
review"
    run bash_complete flexiai batch --template r
    assert_output "review"
    run bash_complete flexiai templates show p
    assert_output "pirate"
    run bash_complete flexiai templates ''
    assert_output "list
show
path"
    run bash_complete flexiai complete -f st
    assert_output "style"
    run bash_complete flexiai chat --fragment t
    assert_output "tone"
}

@test "chat --template: the template's schema checks the answers" {
    printf 'schema = name, age int\n' >"$TDIR/person.ini"
    mock_script oa 'reply={"name":"Ann"%2C"age":7}'
    run --separate-stderr flexiai chat --template person <<<"who?"
    assert_success
    assert_line --index 0 '{"name":"Ann","age":7}'
    assert_equal "$(body | jq -r '.response_format.type')" json_schema
}

@test "a template's attachments go to the request as -a's do" {
    # a PNG's signature and header chunk: enough for libmagic
    printf '\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00\x90\x77\x53\xde' >"$TEST_HOME/pic.png"
    printf 'prompt = What is in this picture?\nattachments = %s\n' "$TEST_HOME/pic.png" >"$TDIR/look.ini"
    run --separate-stderr flexiai complete --no-stream --template look </dev/null
    assert_success
    run body
    assert_equal "$(jq -r '.messages[-1].content | map(.type) | join(",")' <<<"$output")" "text,image_url"
}
