#!/usr/bin/env bats
# Configuration: precedence, env mapping, config show / check, secrets.

load helpers

value_of() { # section.key from config show
    flexiai config show | sed -n "s/^$1 = \(.*\)  ; .*/\1/p"
}
origin_of() {
    flexiai config show | sed -n "s/^$1 = .*  ; \(.*\)/\1/p"
}

@test "defaults are shown with origin default" {
    run flexiai config show
    assert_success
    assert_line "breaker.failure_threshold = 5  ; default"
    assert_line "failover.retries = 1  ; default"
    assert_line "sync.backend = file  ; default"
}

@test "env FLEXIAI_BREAKER_FAILURE_THRESHOLD=9 shows with its origin" {
    FLEXIAI_BREAKER_FAILURE_THRESHOLD=9 run flexiai config show
    assert_success
    assert_line "breaker.failure_threshold = 9  ; env FLEXIAI_BREAKER_FAILURE_THRESHOLD"
}

@test "precedence: system file < user file < env < flag" {
    printf '[defaults]\ntemperature = 0.1\nmax_tokens = 11\ntimeout = 5\n' >"$FX_TEST_SYSCONF"
    printf '[defaults]\nmax_tokens = 22\ntimeout = 6\n' | write_config
    export FLEXIAI_DEFAULTS_TIMEOUT=7
    assert_equal "$(value_of defaults.temperature)" "0.1"
    assert_equal "$(origin_of defaults.temperature)" "$FX_TEST_SYSCONF:2"
    assert_equal "$(value_of defaults.max_tokens)" "22"
    assert_equal "$(origin_of defaults.max_tokens)" "$CONFIG:2"
    assert_equal "$(value_of defaults.timeout)" "7"
    assert_equal "$(origin_of defaults.timeout)" "env FLEXIAI_DEFAULTS_TIMEOUT"
}

@test "-c FILE and FLEXIAI_CONFIG replace the user file" {
    printf '[failover]\nretries = 2\n' | write_config
    printf '[failover]\nretries = 3\n' >"$TEST_HOME/other.ini"
    run flexiai config show -c "$TEST_HOME/other.ini"
    assert_line "failover.retries = 3  ; $TEST_HOME/other.ini:2"
    FLEXIAI_CONFIG=$TEST_HOME/other.ini run flexiai config show
    assert_line "failover.retries = 3  ; $TEST_HOME/other.ini:2"
    run flexiai config show
    assert_line "failover.retries = 2  ; $CONFIG:2"
}

@test "a missing -c file is a configuration error" {
    run --separate-stderr flexiai config check -c "$TEST_HOME/nope.ini"
    assert_failure 78
    [[ "$stderr" == *"nope.ini: cannot read: No such file or directory"* ]]
}

@test "env mapping reaches provider sections, including names with - and ." {
    printf '[provider.my-local]\ntype = openai\nmodel = a\n' | write_config
    FLEXIAI_PROVIDER_MY_LOCAL_MODEL=llama3 FLEXIAI_SYNC_REDIS_HOST=10.1.2.3 run flexiai config show
    assert_success
    assert_line "provider.my-local.model = llama3  ; env FLEXIAI_PROVIDER_MY_LOCAL_MODEL"
    assert_line "sync.redis_host = 10.1.2.3  ; env FLEXIAI_SYNC_REDIS_HOST"
}

@test "no provider sections: providers come from the standard key variables" {
    OPENAI_API_KEY=sk-abc GEMINI_API_KEY=g-abc run flexiai config show
    assert_success
    assert_line "provider.openai.type = openai  ; env OPENAI_API_KEY"
    assert_line "provider.gemini.type = gemini  ; env GEMINI_API_KEY"
    refute_output --partial "sk-abc"
    refute_output --partial "g-abc"
}

@test "config show --json gives the same entries" {
    FLEXIAI_BREAKER_FAILURE_THRESHOLD=9 run flexiai config show --json
    assert_success
    run jq -r '.[] | select(.section=="breaker" and .key=="failure_threshold") | "\(.value) \(.origin)"' <<<"$output"
    assert_output "9 env FLEXIAI_BREAKER_FAILURE_THRESHOLD"
    n_text=$(flexiai config show | wc -l)
    n_json=$(flexiai config show --json | jq length)
    assert_equal "$n_text" "$n_json"
}

@test "secrets are masked in config show and --json" {
    printf '[sync]\nredis_password = pw-secret-1\nredis_url = redis://u:pw-secret-2@h:6379/0\n[provider.a]\ntype = anthropic\nmodel = m\napi_key = sk-secret-3\n' | write_config
    run flexiai config show
    assert_success
    refute_output --partial "secret-"
    assert_line "provider.a.api_key = ****  ; $CONFIG:7"
    assert_line "sync.redis_url = redis://u:****@h:6379/0  ; $CONFIG:3"
    run flexiai config show --json
    refute_output --partial "secret-"
}

@test "config check: a valid configuration exits 0 quietly" {
    printf '[provider.a]\ntype = openai\nmodel = m\napi_key_cmd = echo k\n' | write_config
    run --separate-stderr flexiai config check
    assert_success
    assert_equal "$output" ""
    assert_equal "$stderr" ""
}

@test "config check: five mistakes give five FILE:LINE lines and exit 78" {
    write_config <<'INI'
[breaker]
failure_treshold = 3
recovery_timeout = soon
[failover]
failover_on_bad_request = maybe
retries = 1000
[provider.x]
type = cohere
model = m
INI
    run --separate-stderr flexiai config check
    assert_failure 78
    assert_equal "$output" ""
    [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 5 ]
    [[ "$stderr" == *"flexiai: $CONFIG:2: unknown key 'failure_treshold' in [breaker] (did you mean 'failure_threshold'?)"* ]]
    [[ "$stderr" == *"flexiai: $CONFIG:3: breaker.recovery_timeout: 'soon' is not a number"* ]]
    [[ "$stderr" == *"flexiai: $CONFIG:5: failover.failover_on_bad_request: 'maybe' is not a boolean"* ]]
    [[ "$stderr" == *"flexiai: $CONFIG:6: failover.retries: 1000 is out of range"* ]]
    [[ "$stderr" == *"flexiai: $CONFIG:8: provider.x.type: unknown provider type 'cohere'"* ]]
}

@test "config check: unknown section, provider without model, syntax error" {
    write_config <<'INI'
[provder.y]
model = m
[provider.z]
type = openai
this line has no equals sign
INI
    run --separate-stderr flexiai config check
    assert_failure 78
    [[ "$stderr" == *"$CONFIG:1: unknown section [provder.y]"* ]]
    [[ "$stderr" == *"$CONFIG:3: [provider.z] has no model"* ]]
    [[ "$stderr" == *"$CONFIG:5: expected 'key = value'"* ]]
}

@test "config check: a failing api_key_cmd names the provider, never its output" {
    printf '[provider.p]\ntype = openai\nmodel = m\napi_key_cmd = echo sk-should-not-show; exit 4\n' | write_config
    run --separate-stderr flexiai config check
    assert_failure 78
    [[ "$stderr" == *"$CONFIG:4: provider 'p': api_key_cmd failed (exit status 4)"* ]]
    [[ "$stderr" != *"sk-should-not-show"* ]]
    [[ "$output" != *"sk-should-not-show"* ]]
}

@test "config check: env values are checked too" {
    FLEXIAI_BREAKER_HALF_OPEN_MAX_CALLS=lots run --separate-stderr flexiai config check
    assert_failure 78
    [[ "$stderr" == *"env FLEXIAI_BREAKER_HALF_OPEN_MAX_CALLS: breaker.half_open_max_calls: 'lots' is not a whole number"* ]]
}

@test "api_key in a group-readable file: one warning, still valid" {
    printf '[provider.a]\ntype = anthropic\nmodel = m\napi_key = sk-x\n' >"$CONFIG"
    chmod 644 "$CONFIG"
    run --separate-stderr flexiai config check
    assert_success
    [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
    [[ "$stderr" == *"readable by group or others"* ]]
    [[ "$stderr" != *"sk-x"* ]]
    chmod 600 "$CONFIG"
    run --separate-stderr flexiai config check
    assert_success
    assert_equal "$stderr" ""
}

@test "every command refuses an invalid configuration with exit 78" {
    printf '[breaker]\nfailure_threshold = zero\n' | write_config
    run --separate-stderr flexiai complete hello </dev/null
    assert_failure 78
    [[ "$stderr" == *"$CONFIG:2: breaker.failure_threshold: 'zero' is not a whole number"* ]]
    run --separate-stderr flexiai breaker status
    assert_failure 78
    [[ "$stderr" == *"$CONFIG:2:"* ]]
    run --separate-stderr flexiai chat </dev/null
    assert_failure 78
    [[ "$stderr" == *"$CONFIG:2:"* ]]
}

@test "rediss:// is accepted (TLS to Redis is built in) and its password is masked" {
    printf '[sync]\nbackend = redis\nredis_url = rediss://:pw@127.0.0.1:6380/0\n' | write_config
    run --separate-stderr flexiai config check
    assert_success
    run --separate-stderr flexiai config show
    assert_success
    [[ "$output" == *"rediss://:****@127.0.0.1:6380/0"* ]]
    [[ "$output$stderr" != *"pw@"* ]]
}

@test "insecure = yes is allowed with one warning" {
    printf '[provider.a]\ntype = openai\nmodel = m\ninsecure = yes\n' | write_config
    run --separate-stderr flexiai config check
    assert_success
    [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
    [[ "$stderr" == "flexiai: $CONFIG:4: warning: [provider.a] insecure = yes: TLS certificates are not verified" ]]
}

@test "FLEXIAI_PROVIDER_* variables adjust the providers made from the standard key variables" {
    OPENAI_API_KEY=sk-abc FLEXIAI_PROVIDER_OPENAI_MODEL=gpt-4o run --separate-stderr flexiai config show
    assert_success
    assert_line "provider.openai.model = gpt-4o  ; env FLEXIAI_PROVIDER_OPENAI_MODEL"
    assert_line "provider.openai.type = openai  ; env OPENAI_API_KEY"
}

@test "a value longer than inih's line buffer is read whole, and later lines keep their numbers" {
    long=$(printf 'x%.0s' $(seq 1 5000))
    printf '[defaults]\nsystem = %s\n[breaker]\nfailure_threshold = nope\n' "$long" | write_config
    run --separate-stderr flexiai config check
    assert_failure 78
    assert_equal "$stderr" "flexiai: $CONFIG:4: breaker.failure_threshold: 'nope' is not a whole number"
    printf '[defaults]\nsystem = %s\n' "$long" | write_config
    run flexiai config show
    assert_line "defaults.system = $long  ; $CONFIG:2"
}

@test "a malformed redis_url is masked entirely; a continued bad value is still one line" {
    printf '[sync]\nredis_url = redis:/u:pw-secret@h\n[defaults]\nmax_tokens = 1x\n  2\n' | write_config
    run --separate-stderr flexiai config show
    assert_failure 78
    [[ "$output" != *"pw-secret"* ]]
    [[ "$stderr" != *"pw-secret"* ]]
    assert_line "sync.redis_url = ****  ; $CONFIG:2"
    [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 2 ]
    [[ "$stderr" == *"$CONFIG:4: defaults.max_tokens: '1x 2' is not a whole number"* ]]
}

@test "unknown FLEXIAI_* variables are warnings with a did-you-mean, not errors" {
    FLEXIAI_BREAKR_FAILURE_THRESHOLD=3 FLEXIAI_BREAKER_FAILURE_TRESHOLD=2 FLEXIAI_SOMETHING_ELSE=1 \
        run --separate-stderr flexiai config check
    assert_success
    [[ "$stderr" == *"flexiai: env FLEXIAI_BREAKR_FAILURE_THRESHOLD: not a flexiai setting, ignored (did you mean FLEXIAI_BREAKER_FAILURE_THRESHOLD?)"* ]] || fail "$stderr"
    [[ "$stderr" == *"flexiai: env FLEXIAI_BREAKER_FAILURE_TRESHOLD: unknown key 'failure_treshold' in [breaker], ignored (did you mean FLEXIAI_BREAKER_FAILURE_THRESHOLD?)"* ]] || fail "$stderr"
    # another program's variable that is near nothing of ours: left alone
    [[ "$stderr" != *FLEXIAI_SOMETHING_ELSE* ]]
}

@test "no providers configured names the files and variables it looked at" {
    run --separate-stderr env -u HOME -u XDG_CONFIG_HOME flexiai complete hi </dev/null
    assert_failure 78
    [[ "$stderr" == "flexiai: no providers configured (looked in $FX_TEST_SYSCONF (not found), no user file (HOME and XDG_CONFIG_HOME are unset), and at OPENAI_API_KEY, ANTHROPIC_API_KEY, GEMINI_API_KEY, GOOGLE_API_KEY: all unset); add a [provider.NAME] section or set one of those variables" ]] || fail "$stderr"
    run --separate-stderr flexiai config check
    assert_success
    [[ "$stderr" == *"no providers configured (looked in $FX_TEST_SYSCONF (not found), $XDG_CONFIG_HOME/flexiai/config.ini (not found), and at"* ]] || fail "$stderr"
}

@test "config show gives the host, port, db, user and password a redis_url implies, with the URL as origin" {
    printf '[sync]\nredis_url = redis://bob:s3cret-pw@127.0.0.1:6380/4\n' | write_config
    run --separate-stderr flexiai config show
    assert_success
    assert_line "sync.redis_host = 127.0.0.1  ; redis_url ($CONFIG:2)"
    assert_line "sync.redis_port = 6380  ; redis_url ($CONFIG:2)"
    assert_line "sync.redis_db = 4  ; redis_url ($CONFIG:2)"
    assert_line "sync.redis_username = bob  ; redis_url ($CONFIG:2)"
    assert_line "sync.redis_password = (from the url)  ; redis_url ($CONFIG:2)"
    [[ "$output" != *s3cret-pw* ]]
}
