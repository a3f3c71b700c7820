#!/usr/bin/env bats
# Structured output: complete --schema / --schema-multi / --schema-show,
# each provider type's mechanism on the wire (mockllm's last_body), the
# local check, the repair retry, failover on invalid answers, exit 76.

load helpers

setup() {
    setup_env
    start_mockllm
}

# one provider of each type at routes of the same name, in this order
providers() {
    {
        printf '[failover]\nretries = 1\nbackoff_base = 0.01\nbackoff_max = 0.05\n\n'
        local p
        for p in "$@"; do
            # NAME:TYPE[:extra line]
            IFS=: read -r name type extra <<<"$p"
            provider_section "$name" "$type" "$name" ${extra:+"$extra"}
        done
    } | write_config
}

# percent-encode commas for mockllm script values
enc() { sed 's/%/%25/g; s/,/%2C/g' <<<"$1"; }

GOOD='{"severity":"low","summary":"disk ok"}'
SPEC='severity, summary: one line'

@test "--schema-show prints the JSON Schema a DSL turns into" {
    run --separate-stderr flexiai complete --schema 'name, age int: years, score float, ok bool, tags [str]' --schema-show
    assert_success
    assert_equal "$(jq -c . <<<"$output")" \
        '{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer","description":"years"},"score":{"type":"number"},"ok":{"type":"boolean"},"tags":{"type":"array","items":{"type":"string"}}},"required":["name","age","score","ok","tags"],"additionalProperties":false}'
    run --separate-stderr flexiai complete --schema-multi 'name' --schema-show
    assert_success
    assert_equal "$(jq -c '.properties.items.items.required' <<<"$output")" '["name"]'
    assert_equal "$(jq -c '.required' <<<"$output")" '["items"]'
}

@test "openai: response_format json_schema, strict; stdout is exactly the JSON" {
    providers a:openai
    mock_script a "reply=$(enc "$GOOD")"
    run --separate-stderr flexiai complete --schema "$SPEC" "Classify"
    assert_success
    assert_equal "$output" "$GOOD"
    assert_equal "$stderr" ""
    body=$(mock_last_body a)
    assert_equal "$(jq -r .response_format.type <<<"$body")" json_schema
    assert_equal "$(jq -r .response_format.json_schema.strict <<<"$body")" true
    assert_equal "$(jq -c .response_format.json_schema.schema.required <<<"$body")" '["severity","summary"]'
    assert_equal "$(jq -r .stream <<<"$body")" null
}

@test "openai: a schema that is not strict is sent with strict false" {
    providers a:openai
    mock_script a "reply=$(enc '{"x":"y"}')"
    run --separate-stderr flexiai complete --schema '{"type":"object","properties":{"x":{"type":"string"}}}' "hi"
    assert_success
    assert_equal "$(mock_last_body a | jq -r .response_format.json_schema.strict)" false
}

@test "anthropic: output_config.format json_schema, api_version header default" {
    providers a:anthropic
    mock_script a "reply=$(enc "$GOOD")"
    run --separate-stderr flexiai complete --schema "$SPEC" "Classify"
    assert_success
    assert_equal "$output" "$GOOD"
    body=$(mock_last_body a)
    assert_equal "$(jq -r .output_config.format.type <<<"$body")" json_schema
    assert_equal "$(jq -c .output_config.format.schema.required <<<"$body")" '["severity","summary"]'
}

@test "anthropic schema_mode = tool: a forced tool; its input is the answer" {
    providers "a:anthropic:schema_mode = tool"
    mock_script a "tool_reply=$(enc "$GOOD")"
    run --separate-stderr flexiai complete --schema "$SPEC" "Classify"
    assert_success
    assert_equal "$output" "$GOOD"
    body=$(mock_last_body a)
    assert_equal "$(jq -r .tool_choice.type <<<"$body")" tool
    assert_equal "$(jq -r .tool_choice.name <<<"$body")" answer
    assert_equal "$(jq -r '.tools[0].input_schema.required[0]' <<<"$body")" severity
    assert_equal "$(jq -r .output_config <<<"$body")" null
}

@test "a tool call with the wrong name is invalid_output, and the next provider answers" {
    providers "a:anthropic:schema_mode = tool" b:openai
    mock_script a "tool_reply=$(enc "$GOOD"),tool_name=other"
    mock_script b "reply=$(enc "$GOOD")"
    run --separate-stderr flexiai complete --json --schema "$SPEC" "Classify"
    assert_success
    assert_equal "$(jq -r .attempts[0].validation_error <<<"$output")" 'the model called tool "other", not "answer"'
    assert_equal "$(jq -r .provider <<<"$output")" b
}

@test "openai schema_mode = tool: a forced function; its arguments are the answer" {
    providers "a:openai:schema_mode = tool"
    mock_script a "tool_reply=$(enc "$GOOD")"
    run --separate-stderr flexiai complete --schema "$SPEC" "Classify"
    assert_success
    assert_equal "$output" "$GOOD"
    body=$(mock_last_body a)
    assert_equal "$(jq -r .tool_choice.function.name <<<"$body")" answer
    assert_equal "$(jq -r '.tools[0].function.parameters.type' <<<"$body")" object
}

@test "schema_mode = json: response_format json_object and the schema in the system prompt" {
    providers "a:openai:schema_mode = json"
    mock_script a "reply=$(enc "$GOOD")"
    run --separate-stderr flexiai complete --schema "$SPEC" "Classify"
    assert_success
    body=$(mock_last_body a)
    assert_equal "$(jq -r .response_format.type <<<"$body")" json_object
    [[ "$(jq -r '.messages[] | select(.role=="system") | .content' <<<"$body")" == *'"severity"'* ]]
}

@test "schema_mode = prompt: the schema in the system prompt only; a fenced answer is accepted" {
    providers "a:anthropic:schema_mode = prompt"
    mock_script a "reply=$(enc '```json
'"$GOOD"'
```')"
    run --separate-stderr flexiai complete --schema "$SPEC" "Classify"
    assert_success
    assert_equal "$output" "$GOOD"
    body=$(mock_last_body a)
    [[ "$(jq -r .system <<<"$body")" == *'JSON Schema'* ]]
    assert_equal "$(jq -r .output_config <<<"$body")" null
}

@test "gemini and vertex: responseMimeType application/json with a converted responseSchema" {
    providers g:gemini v:vertex
    mock_script g "reply=$(enc "$GOOD")"
    run --separate-stderr flexiai complete --schema "$SPEC" "Classify"
    assert_success
    assert_equal "$output" "$GOOD"
    body=$(mock_last_body g)
    assert_equal "$(jq -r .generationConfig.responseMimeType <<<"$body")" application/json
    assert_equal "$(jq -r .generationConfig.responseSchema.type <<<"$body")" OBJECT
    assert_equal "$(jq -c .generationConfig.responseSchema.propertyOrdering <<<"$body")" '["severity","summary"]'
    mock_script v "reply=$(enc "$GOOD")"
    run --separate-stderr flexiai complete -p v --schema "$SPEC" "Classify"
    assert_success
    assert_equal "$(mock_last_body v | jq -r .generationConfig.responseSchema.properties.severity.type)" STRING
}

@test "gemini: what the conversion drops is said with -v" {
    providers g:gemini
    mock_script g "reply=$(enc '{"n":4}')"
    run --separate-stderr flexiai complete -v --schema '{"type":"object","properties":{"n":{"type":"integer","multipleOf":2}},"required":["n"]}' "hi"
    assert_success
    assert_equal "$output" '{"n":4}'
    [[ "$stderr" == *"g: gemini responseSchema: "*multipleOf*dropped* ]]
    [ "$(mock_last_body g | jq -r .generationConfig.responseSchema.properties.n.multipleOf)" = null ]
    # without -v, nothing on stderr
    run --separate-stderr flexiai complete --schema '{"type":"object","properties":{"n":{"type":"integer","multipleOf":2}},"required":["n"]}' "hi"
    assert_success
    assert_equal "$stderr" ""
}

@test "--schema-multi: asks for {items: [...]} and prints the array" {
    providers a:openai
    mock_script a "reply=$(enc '{"items":[{"name":"x"},{"name":"y"}]}')"
    run --separate-stderr flexiai complete --schema-multi name "List"
    assert_success
    assert_equal "$output" '[{"name":"x"},{"name":"y"}]'
    assert_equal "$(mock_last_body a | jq -r .response_format.json_schema.schema.properties.items.type)" array
}

@test "invalid answer: repaired once at the same provider, then failover; stdout holds only the good JSON" {
    providers a:openai b:anthropic
    mock_script a "reply=$(enc '{"severity":"low"}')"
    mock_script b "reply=$(enc "$GOOD")"
    run --separate-stderr flexiai complete --json --schema "$SPEC" "Classify"
    assert_success
    assert_equal "$(mock_count a)" 2
    # the second request carries the bad answer and what was wrong with it
    body=$(mock_last_body a)
    assert_equal "$(jq -r '.messages[-2].role' <<<"$body")" assistant
    assert_equal "$(jq -r '.messages[-2].content' <<<"$body")" '{"severity":"low"}'
    [[ "$(jq -r '.messages[-1].content' <<<"$body")" == *'did not match'*'summary'* ]]
    assert_equal "$(jq -r '[.attempts[].outcome] | join(",")' <<<"$output")" retry,error,success
    assert_equal "$(jq -r '.attempts[0].error_class' <<<"$output")" invalid_output
    [[ "$(jq -r '.attempts[0].validation_error' <<<"$output")" == *summary* ]]
    assert_equal "$(jq -c .data <<<"$output")" "$GOOD"
    assert_equal "$(jq -r .schema_valid <<<"$output")" true
    # without --json: the JSON alone
    run --separate-stderr flexiai complete --schema "$SPEC" "Classify"
    assert_success
    assert_equal "$output" "$GOOD"
}

@test "invalid answers do not count toward the breaker unless [breaker] count says so" {
    providers a:openai b:openai
    mock_script a "reply=not json"
    mock_script b "reply=$(enc "$GOOD")"
    run --separate-stderr flexiai complete --schema "$SPEC" "Classify"
    assert_success
    f=$XDG_STATE_HOME/flexiai/breakers/a.json
    [ ! -e "$f" ] || assert_equal "$(jq -r .failure_count "$f")" 0
    run --separate-stderr flexiai complete --schema "$SPEC" "Classify" </dev/null
    printf '[breaker]\ncount = invalid_output\n' >>"$CONFIG"
    run --separate-stderr flexiai complete --schema "$SPEC" "Classify"
    assert_success
    assert_equal "$(jq -r .failure_count "$f")" 2
}

@test "every provider answers, none matches: exit 76 with the last validation error" {
    providers a:openai b:gemini
    mock_script a "reply=Sure! Here is the classification."
    mock_script b "reply=$(enc '{"severity":"urgent","summary":"x"}')"
    local enum='{"type":"object","properties":{"severity":{"enum":["low","high"]},"summary":{"type":"string"}},"required":["severity","summary"],"additionalProperties":false}'
    run --separate-stderr flexiai complete --schema "$enum" "Classify"
    assert_failure 76
    assert_equal "$output" ""
    assert_equal "$stderr" 'flexiai: b: $.severity: "urgent" is not one of ["low","high"]'
    run --separate-stderr flexiai complete --json --schema "$enum" "Classify"
    assert_failure 76
    assert_equal "$(jq -r .schema_valid <<<"$output")" false
    assert_equal "$(jq -r .exit_code <<<"$output")" 76
    [[ "$(jq -r '.attempts[0].validation_error' <<<"$output")" == 'the answer is not JSON: "Sure! Here is the classification."' ]]
}

@test "unsupported keyword: 64 naming it, nothing sent; missing schema file: 66" {
    providers a:openai
    run --separate-stderr flexiai complete --schema '{"type":"object","dependencies":{"a":["b"]}}' "hi"
    assert_failure 64
    [[ "$stderr" == *'unsupported keyword "dependencies"'* ]]
    printf '{"type":"object","$recursiveRef":"#"}' >"$TEST_HOME/s.json"
    run --separate-stderr flexiai complete --schema "$TEST_HOME/s.json" "hi"
    assert_failure 64
    [[ "$stderr" == *'$recursiveRef'* ]]
    run --separate-stderr flexiai complete --schema "$TEST_HOME/nope.json" "hi"
    assert_failure 66
    [[ "$stderr" == *nope.json* ]]
    assert_equal "$(mock_count a)" 0
}

@test "a schema turns streaming off, even when asked for" {
    providers a:openai
    mock_script a "reply=$(enc "$GOOD")"
    run --separate-stderr flexiai complete --stream --schema "$SPEC" "Classify"
    assert_success
    assert_equal "$output" "$GOOD"
    assert_equal "$(mock_log a | jq -r .streamed)" 0
}

@test "as a user would: every log line yields one JSON object for jq, with the primary answering prose" {
    providers a:openai b:anthropic
    mock_script a "reply=The severity of this line is high."
    mock_script b "reply=$(enc '{"severity":"high","service":"sshd","summary":"failed login"}')"
    printf '%s\n' 'Nov 26 10:00:01 host sshd[1]: Failed password for root' \
        'Nov 26 10:00:02 host kernel: Out of memory' \
        'Nov 26 10:00:03 host cron[2]: job done' >"$TEST_HOME/log"
    n=0
    while IFS= read -r line; do
        sev=$(printf '%s\n' "$line" | flexiai complete --schema 'severity, service, summary: one line' "Classify this log line:" | jq -r .severity)
        assert_equal "$sev" high
        n=$((n + 1))
    done <"$TEST_HOME/log"
    assert_equal "$n" 3
}

@test "chat: /schema SPEC makes answers JSON, /schema off makes them text again" {
    providers a:openai
    mock_script a "reply=$(enc "$GOOD")"
    run --separate-stderr flexiai chat <<<$'/schema severity, summary: one line\nClassify\n/schema off\nagain'
    assert_success
    assert_equal "${lines[0]}" "$GOOD"
    assert_equal "$(mock_last_body a | jq -r .response_format)" null
    # the first question carried the schema
    run --separate-stderr flexiai chat <<<$'/schema severity, summary\nClassify'
    assert_success
    assert_equal "$(mock_last_body a | jq -r .response_format.type)" json_schema
    run --separate-stderr flexiai chat <<<$'/schema {"type":"object","dependencies":{}}'
    assert_failure 64
    [[ "$stderr" == *'"dependencies"'* ]]
}

@test "chat: an answer that never matches fails the question with 76" {
    providers a:openai
    mock_script a "reply=no JSON here"
    run --separate-stderr flexiai chat <<<$'/schema name\nhi'
    assert_failure 76
    assert_equal "$stderr" 'flexiai: a: the answer is not JSON: "no JSON here"'
}
