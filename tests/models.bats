#!/usr/bin/env bats
# models.bats - `flexiai models`: each provider's list from mockllm's
# listing routes (every page), the configured model marked, shutdown dates,
# the warnings of `config check --online`, the cache the completions of -m
# read; and the current default models.

load helpers

COMPDIR=${FX_TEST_SRCDIR:-$BATS_TEST_DIRNAME/..}/completions

three_providers() {
    start_mockllm
    {
        provider_section oa openai oa "model = mock-retiring"
        provider_section an anthropic an "model = nope"
        provider_section ge gemini ge "model = gemini-mock"
    } | sed '/^model = [a-z]*-model$/d' | write_config
}

@test "flexiai models lists every page of each provider, the configured model marked" {
    three_providers
    run --separate-stderr flexiai models
    assert_success
    assert_line --index 0 --regexp '^  PROVIDER +MODEL +SHUTDOWN$'
    assert_line --regexp '^\* oa +mock-retiring +[0-9]{4}-[0-9]{2}-[0-9]{2}$'
    assert_line --regexp '^  oa +gpt-4o-mini +2027-01-14$'
    assert_line --regexp '^  oa +gpt-6-luna +-$'
    # two pages each (two models a page)
    assert_line --regexp '^  an +claude-haiku-5-5 +-$'
    assert_line --regexp '^  ge +gemini-3.5-flash-lite +-$'
    assert_line --regexp '^\* ge +gemini-mock +-$'
    assert_equal "$(grep -c '^. an ' <<<"$output")" 3
    assert_equal "$(grep -c '^. ge ' <<<"$output")" 3
    assert_equal "$(mock_count an)" 2
    assert_equal "$(mock_count ge)" 2
    # the configured models: one retiring soon, one not listed
    assert_equal "$(grep -c . <<<"$stderr")" 2
    [[ $stderr == *"flexiai: warning: oa: the configured model 'mock-retiring' shuts down on "*" (in "*" days)"* ]]
    [[ $stderr == *"flexiai: warning: an: the configured model 'nope' is not in the provider's list"* ]]
}

@test "flexiai models --json and -p" {
    three_providers
    run --separate-stderr flexiai models -q -p oa --json
    assert_success
    assert_equal "$stderr" ""
    assert_equal "$(jq -r 'length' <<<"$output")" 1
    assert_equal "$(jq -r '.[0].provider, .[0].model, .[0].ok, .[0].model_listed' <<<"$output" | tr '\n' ' ')" "oa mock-retiring true true "
    assert_equal "$(jq -r '.[0].models[] | select(.id == "gpt-4o-mini") | .shutdown_date' <<<"$output")" 2027-01-14
    assert_equal "$(jq -r '.[0].models[] | select(.configured) | .id' <<<"$output")" mock-retiring
    assert_equal "$(jq -r '.[0].models[] | select(.id == "gpt-6-luna") | .shutdown_date' <<<"$output")" null
    run flexiai models -p nosuch
    assert_failure 64
}

@test "flexiai models: a refused key is 77, the other providers are still listed" {
    start_mockllm --script 'an=key=other'
    { provider_section oa openai oa; provider_section an anthropic an; } | write_config
    run --separate-stderr flexiai models --json
    assert_failure 77
    assert_equal "$(jq -r '.[0].ok, .[1].ok, .[1].error_class' <<<"$output" | tr '\n' ' ')" "true false auth "
    assert_equal "$stderr" "flexiai: an: $(jq -r '.[1].error' <<<"$output")"
    # Vertex AI has no list: a configuration error for that provider
    provider_section vx vertex vx | write_config
    run flexiai models
    assert_failure 78
    assert_output --partial "vx: this provider type has no model list"
}

@test "config check --online warns about unlisted and retiring models, exit 0" {
    three_providers
    run --separate-stderr flexiai config check
    assert_success
    assert_equal "$stderr" ""
    assert_equal "$(mock_count oa)" 0
    run --separate-stderr flexiai config check --online
    assert_success
    assert_equal "$output" ""
    assert_equal "$(grep -c . <<<"$stderr")" 2
    [[ $stderr == *"oa: the configured model 'mock-retiring' shuts down on "* ]]
    [[ $stderr == *"an: the configured model 'nope' is not in the provider's list"* ]]
    run flexiai config show --online
    assert_failure 64
}

@test "bash completion offers the cached model ids for -m, while a day old at most" {
    three_providers
    run bash_complete_m
    assert_output ""
    flexiai models -q >/dev/null
    [ -f "$XDG_CACHE_HOME/flexiai/models/oa" ]
    assert_equal "$(cat "$XDG_CACHE_HOME/flexiai/models/an" | tr '\n' ' ')" "claude-mock anthropic-model claude-haiku-5-5 "
    run bash_complete_m
    assert_line gpt-6-luna
    assert_line claude-haiku-5-5
    assert_line gemini-3.5-flash-lite
    touch -d '2 days ago' "$XDG_CACHE_HOME"/flexiai/models/*
    run bash_complete_m
    assert_output ""
}

bash_complete_m() {
    bash -c '
        source "$1/flexiai" || exit 1
        COMP_WORDS=(flexiai complete -m "")
        COMP_CWORD=3
        _flexiai
        printf "%s\n" "${COMPREPLY[@]}"
    ' _ "$COMPDIR" | grep -v '^$' || true
}

@test "the zero-config providers default to the current small models" {
    OPENAI_API_KEY=k ANTHROPIC_API_KEY=k GEMINI_API_KEY=k run flexiai config show
    assert_success
    assert_line --partial "provider.openai.model = gpt-6-luna"
    assert_line --partial "provider.anthropic.model = claude-haiku-5-5"
    assert_line --partial "provider.gemini.model = gemini-3.5-flash-lite"
}
