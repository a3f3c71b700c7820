#!/usr/bin/env bats
# man.bats - the manual pages and the shell completions agree with the
# commands: every page is clean under mandoc's linter, every option the
# commands' --help lists is documented, every configuration key is in
# flexiai.ini(5), and the completions offer what the commands take.

load helpers

MANDIR=$SRCDIR/man
COMPDIR=$SRCDIR/completions

mandoc_cmd() {
    local m=${MANDOC:-}
    [ -n "$m" ] || m=$(command -v mandoc) || true
    if [ -z "$m" ] || ! command -v "$m" >/dev/null; then
        echo "mandoc not found (apt-get install mandoc, or set MANDOC)" >&2
        return 1
    fi
    printf '%s\n' "$m"
}

# lint PAGE: mandoc -Tlint -W warning must print nothing
lint() {
    local m
    m=$(mandoc_cmd) || return 1
    [ -s "$MANDIR/$1" ] || { echo "$MANDIR/$1 is missing or empty" >&2; return 1; }
    run "$m" -Tlint -W warning "$MANDIR/$1"
    if [ -n "$output" ]; then
        echo "$output" >&2
        return 1
    fi
}

# render PAGE: plain text, without overstriking
render() {
    local m
    m=$(mandoc_cmd) || return 1
    "$m" -Tascii "$MANDIR/$1" | sed 's/.\x08//g'
}

# has_word TEXT WORD: WORD appears in TEXT, not as part of a longer option
# or name (so "-c" is not found inside "--config")
has_word() {
    local re
    re=$(printf '%s' "$2" | sed 's/[][\\.*^$+?(){}|/]/\\&/g')
    grep -qE -- "(^|[^[:alnum:]_-])${re}([^[:alnum:]_-]|\$)" <<<"$1"
}

# options_of TEXT: the -x and --long options a --help text lists
options_of() {
    grep -oE -- '(^|[ ,[|])--?[a-zA-Z][a-zA-Z-]*' <<<"$1" |
        sed 's/^[ ,[|]*//' | sort -u
}

# check_options PAGE HELP-TEXT MIN: the help text lists at least MIN
# options (else the check below proves nothing), and each is in PAGE
check_options() {
    local page text opt missing= n
    page=$(render "$1") || return 1
    [ -n "$2" ] || { echo "empty --help text" >&2; return 1; }
    n=$(options_of "$2" | wc -l)
    [ "$n" -ge "$3" ] || { echo "--help lists $n options, expected at least $3" >&2; return 1; }
    for opt in $(options_of "$2"); do
        has_word "$page" "$opt" || missing="$missing $opt"
    done
    if [ -n "$missing" ]; then
        echo "not in $1:$missing" >&2
        return 1
    fi
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
        case ${COMP_WORDS[0]##*/} in
        flexiai*) _flexiai ;;
        esac
        printf "%s\n" "${COMPREPLY[@]}"
    ' _ "$COMPDIR" "$@"
}

two_providers() {
    {
        printf '[provider.alpha]\ntype = openai\nmodel = a-model\n\n'
        printf '[provider.beta-2]\ntype = anthropic\nmodel = b-model\n'
    } | write_config
}

# ---- mandoc lint -------------------------------------------------------

@test "flexiai.1 is clean under mandoc -Tlint -W warning" {
    lint flexiai.1
}

@test "flexiai-complete.1 is clean under mandoc -Tlint -W warning" {
    lint flexiai-complete.1
}

@test "flexiai-breaker.1 is clean under mandoc -Tlint -W warning" {
    lint flexiai-breaker.1
}

@test "flexiai-chat.1 is clean under mandoc -Tlint -W warning" {
    lint flexiai-chat.1
}

@test "flexiai-batch.1 is clean under mandoc -Tlint -W warning" {
    lint flexiai-batch.1
}

@test "flexiai.ini.5 is clean under mandoc -Tlint -W warning" {
    lint flexiai.ini.5
}

@test "every other page in man/ is clean under mandoc -Tlint -W warning" {
    local m page bad=
    m=$(mandoc_cmd)
    local n=0
    for page in "$MANDIR"/*.[1-9]; do
        case ${page##*/} in
        flexiai.1 | flexiai-complete.1 | flexiai-breaker.1 | flexiai-chat.1 | \
            flexiai-batch.1 | flexiai.ini.5) continue ;; # tested above
        esac
        n=$((n + 1))
        [ -n "$("$m" -Tlint -W warning "$page" 2>&1)" ] && bad="$bad ${page##*/}"
    done
    # flexiai-logs.1 and flexiai-usage.1 at least
    [ "$n" -ge 2 ] || { echo "only $n other pages in $MANDIR" >&2; false; }
    [ -z "$bad" ] || { echo "lint warnings in:$bad" >&2; false; }
}

# ---- options -------------------------------------------------------------

@test "every option of flexiai-complete --help is in flexiai-complete.1" {
    run flexiai-complete --help
    assert_success
    check_options flexiai-complete.1 "$output" 20
}

@test "every option of flexiai-breaker --help is in flexiai-breaker.1" {
    run flexiai-breaker --help
    assert_success
    check_options flexiai-breaker.1 "$output" 10
}

@test "every option of flexiai-batch --help is in flexiai-batch.1" {
    run flexiai-batch --help
    assert_success
    check_options flexiai-batch.1 "$output" 20
}

@test "every option and command of flexiai --help is in flexiai.1" {
    run flexiai --help
    assert_success
    check_options flexiai.1 "$output" 3
    local page cmd
    page=$(render flexiai.1)
    for cmd in complete chat breaker batch config logs usage models help show check; do
        has_word "$page" "$cmd" || { echo "command $cmd not in flexiai.1" >&2; false; }
    done
}

@test "every subcommand of flexiai-breaker is in flexiai-breaker.1" {
    local page sub
    page=$(render flexiai-breaker.1)
    for sub in status reset open check watch probe sync; do
        has_word "$page" "$sub" || { echo "$sub not in flexiai-breaker.1" >&2; false; }
    done
}

@test "every exit status of flexiai --help is in flexiai.1" {
    run flexiai --help
    assert_success
    local page code codes
    page=$(render flexiai.1 | sed -n '/^EXIT STATUS/,/^[A-Z]/p')
    codes=$(grep -oE '\b[0-9]{2,3} [a-z]' <<<"$output" | cut -d' ' -f1)
    # 64, 65, 66, 69, 75, 77, 78, 130 and more: a list to check at all
    [ "$(wc -w <<<"$codes")" -ge 8 ] || { echo "--help lists the exit statuses: $codes" >&2; false; }
    for code in $codes; do
        grep -qE "^ +$code +[A-Z]" <<<"$page" || { echo "exit $code not in EXIT STATUS" >&2; false; }
    done
}

# ---- configuration keys --------------------------------------------------

@test "every key of flexiai config show is in flexiai.ini.5 with its variable" {
    cat <<'EOF' | write_config
[provider.every-key]
type = vertex
model = m
priority = 3
api_key_env = SOME_VARIABLE
api_key_cmd = echo key
api_key = k
base_url = http://127.0.0.1:9/
api_version = 2024-10-21
project = p
location = us-central1
insecure = no
temperature = 0.5
max_tokens = 10
top_p = 0.5
top_k = 5
timeout = 10
connect_timeout = 5
idle_timeout = 5
system = s
stop = x, y
EOF
    run flexiai config show
    assert_success
    local page line section key env n=0 missing=
    page=$(render flexiai.ini.5)
    while IFS= read -r line; do
        [[ $line =~ ^([a-z]+|provider\.[^\ ]+)\.([a-z_]+)\ = ]] || continue
        section=${BASH_REMATCH[1]} key=${BASH_REMATCH[2]}
        n=$((n + 1))
        if [[ $section == provider.* ]]; then
            env=FLEXIAI_PROVIDER_NAME_${key^^}
        else
            env=FLEXIAI_${section^^}_${key^^}
            has_word "$page" "[$section]" || missing="$missing [$section]"
        fi
        has_word "$page" "$key" || missing="$missing $section.$key"
        has_word "$page" "$env" || missing="$missing $env"
    done <<<"$output"
    [ "$n" -ge 50 ] || { echo "only $n keys in config show output" >&2; false; }
    [ -z "$missing" ] || { echo "not in flexiai.ini.5:$missing" >&2; false; }
}

@test "every provider key of the schema in lib/conf/conf-keys.c is in flexiai.ini.5" {
    local src=$SRCDIR/lib/conf/conf-keys.c page key keys missing=
    [ -f "$src" ]
    # {"provider", "KEY", ...} and the request keys {sec, "KEY", ...}
    keys=$(sed -n -e 's/.*{"provider", "\([a-z_]*\)".*/\1/p' \
        -e 's/.*{sec, "\([a-z_]*\)".*/\1/p' "$src" | sort -u)
    [ "$(wc -w <<<"$keys")" -ge 15 ] || { echo "schema not found in $src" >&2; false; }
    page=$(render flexiai.ini.5)
    for key in $keys; do
        has_word "$page" "FLEXIAI_PROVIDER_NAME_${key^^}" || missing="$missing $key"
    done
    [ -z "$missing" ] || { echo "provider keys not in flexiai.ini.5:$missing" >&2; false; }
}

# ---- bash completion -------------------------------------------------------

@test "bash completion offers the commands for 'flexiai '" {
    run bash_complete flexiai ''
    assert_success
    local cmd
    for cmd in complete chat breaker config logs usage models; do
        assert_line "$cmd"
    done
}

@test "bash completion offers show and check for 'flexiai config '" {
    run bash_complete flexiai config ''
    assert_success
    assert_output "show
check"
}

@test "bash completion offers the configured providers" {
    two_providers
    run bash_complete flexiai complete -p ''
    assert_success
    assert_output "alpha
beta-2"
    run bash_complete flexiai breaker status ''
    assert_output "alpha
beta-2"
    run bash_complete flexiai-breaker reset b
    assert_output "beta-2"
}

@test "bash completion reads providers from the -c file on the line" {
    two_providers
    printf '[provider.gamma]\ntype = gemini\nmodel = g\n' >"$TEST_HOME/other.ini"
    run bash_complete flexiai complete -c "$TEST_HOME/other.ini" -p ''
    assert_success
    assert_output "gamma"
}

@test "bash completion offers the options of complete and breaker" {
    run bash_complete flexiai complete --on-stream-error = ''
    assert_output "continue
fail"
    run bash_complete flexiai complete --no
    assert_output "--no-stdin
--no-failover
--no-stream
--no-log
--no-cache"
    run bash_complete flexiai breaker ''
    assert_output "status
reset
open
check
watch
probe
sync"
    # the global options go after the subcommand's name too
    run bash_complete flexiai breaker status --
    assert_output "--json
--prometheus
--force
--help
--config
--verbose
--quiet
--version"
}

# ---- zsh and fish ------------------------------------------------------------

@test "zsh completion has valid syntax" {
    command -v zsh >/dev/null || fail "zsh not installed (apt-get install zsh)"
    run zsh -n "$COMPDIR/_flexiai"
    assert_success
    assert_output ""
    run head -1 "$COMPDIR/_flexiai"
    assert_output --partial "#compdef flexiai flexiai-complete flexiai-breaker"
}

@test "fish completion has valid syntax and completes commands and providers" {
    command -v fish >/dev/null || fail "fish not installed (apt-get install fish)"
    run fish -n "$COMPDIR/flexiai.fish"
    assert_success
    run fish -c "source '$COMPDIR/flexiai.fish'; complete -C 'flexiai br'"
    assert_success
    assert_output --regexp '^breaker'
    two_providers
    run fish -c "source '$COMPDIR/flexiai.fish'; complete -C 'flexiai breaker status '"
    assert_success
    assert_line --regexp '^alpha'
    assert_line --regexp '^beta-2'
}

# missing_from_completion HELP-TEXT COMPLETIONS MIN: long options of the
# help text (at least MIN of them, else the check proves nothing) that the
# completions do not offer
missing_from_completion() {
    local opt missing= n
    n=$(options_of "$1" | grep -c -- '^--')
    [ "$n" -ge "$3" ] || { echo "the help lists $n long options, expected at least $3" >&2; return 1; }
    for opt in $(options_of "$1" | grep -- '^--'); do
        grep -qxF -- "$opt" <<<"$2" || grep -qxF -- "$opt=" <<<"$2" ||
            missing="$missing $opt"
    done
    [ -z "$missing" ] || { echo "not offered:$missing" >&2; return 1; }
}

@test "bash completion offers every long option of flexiai-complete --help" {
    local help offered
    help=$(flexiai-complete --help)
    offered=$(bash_complete flexiai complete --)
    missing_from_completion "$help" "$offered" 15
    offered=$(bash_complete flexiai-complete --)
    missing_from_completion "$help" "$offered" 15
}

@test "bash completion offers every long option of flexiai-breaker --help" {
    local help offered sub
    help=$(flexiai-breaker --help)
    offered=$(bash_complete flexiai breaker --)
    for sub in status reset open check watch probe sync; do
        offered+=$'\n'$(bash_complete flexiai breaker "$sub" --)
    done
    missing_from_completion "$help" "$offered" 8
}

@test "bash completion offers every long option of flexiai-chat --help" {
    local help offered
    help=$(flexiai-chat --help)
    offered=$(bash_complete flexiai chat --)
    missing_from_completion "$help" "$offered" 15
}

# ---- the option tables ---------------------------------------------------------

@test "every option in a command's table is in its man page" {
    local cmd page text opt missing=
    for cmd in complete chat breaker config logs usage models templates; do
        page=flexiai-$cmd.1
        [ "$cmd" = config ] && page=flexiai.1
        text=$(render "$page") || return 1
        run flexiai --completion-helper "$cmd"
        assert_success
        [ "$(grep -c '^opt' <<<"$output")" -ge 5 ] || { echo "no options for $cmd" >&2; false; }
        for opt in $(awk -F'\t' '$1 == "opt" { print $3; print $4 }' <<<"$output"); do
            has_word "$text" "$opt" || missing="$missing $page:$opt"
        done
    done
    [ -z "$missing" ] || { echo "not in the man pages:$missing" >&2; false; }
}

@test "complete and chat accept the same request options" {
    local a b
    a=$(flexiai --completion-helper complete | awk -F'\t' '$1 == "opt" { print $4 }' | sort)
    b=$(flexiai --completion-helper chat | awk -F'\t' '$1 == "opt" { print $4 }' | sort)
    # what complete has and chat lacks: only complete's own options (chat
    # has --cid too)
    run comm -23 <(echo "$a") <(echo "$b")
    assert_output "--continue
--json
--messages
--no-stdin
--schema
--schema-multi
--schema-show"
}

@test "zsh completion offers the options of a breaker subcommand" {
    command -v zsh >/dev/null || fail "zsh not installed (apt-get install zsh)"
    command -v tmux >/dev/null || fail "tmux not installed (apt-get install tmux)"
    local sock=$BATS_TEST_TMPDIR/zsh.sock screen= i
    tmux -S "$sock" new-session -d -x 160 -y 30 "env PATH='$PATH' HOME='$HOME' zsh -f"
    tmux -S "$sock" send-keys "fpath=('$COMPDIR' \$fpath); autoload -U compinit; compinit -u; PS1='> '" Enter
    tmux -S "$sock" send-keys "flexiai breaker status --" Tab
    # compinit takes a moment, longer on a loaded machine: 20 s at most
    for i in $(seq 200); do
        screen=$(tmux -S "$sock" capture-pane -p)
        grep -q -- '--prometheus' <<<"$screen" && break
        sleep 0.1
    done
    tmux -S "$sock" kill-server 2>/dev/null || true
    grep -q -- '--json .*-- a JSON array' <<<"$screen" || { echo "$screen" >&2; false; }
    grep -q -- '--prometheus' <<<"$screen"
}
