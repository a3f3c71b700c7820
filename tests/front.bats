#!/usr/bin/env bats
# The front command: dispatch, --help, --version, unknown commands.

load helpers

@test "flexiai --help lists the commands on stdout" {
    run flexiai --help
    assert_success
    assert_output --partial "complete"
    assert_output --partial "chat"
    assert_output --partial "breaker"
    assert_output --partial "config"
}

@test "flexiai --version prints the version and linked libraries" {
    run flexiai --version
    assert_success
    assert_line --index 0 --regexp '^flexiai [0-9]+\.[0-9]+\.[0-9]+$'
    assert_output --partial "libcurl/"
    assert_output --partial "cJSON/"
    assert_output --partial "hiredis/"
    assert_output --partial "inih/"
    # the TLS library in use, as the man page says
    assert_output --regexp 'libcurl/[0-9.]+ TLS/[A-Za-z]+/[0-9]'
    assert_output --regexp ' OpenSSL/[0-9]'
}

@test "an unknown command prints one line and exits 64" {
    run --separate-stderr flexiai frobnicate
    assert_failure 64
    assert_equal "$output" ""
    [ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
    [[ "$stderr" == "flexiai: unknown command 'frobnicate'"* ]]
}

@test "an unknown option exits 64" {
    run flexiai --frobnicate
    assert_failure 64
}

@test "no command: usage on stderr, exit 64" {
    run --separate-stderr flexiai
    assert_failure 64
    assert_equal "$output" ""
}

@test "flexiai CMD runs flexiai-CMD found next to the binary" {
    run flexiai complete --help
    assert_success
    assert_output --partial "usage: flexiai complete"
    run flexiai breaker --help
    assert_success
    assert_output --partial "usage: flexiai breaker"
    run flexiai chat --help
    assert_success
    assert_output --partial "usage: flexiai chat"
}

@test "flexiai CMD falls back to PATH" {
    mkdir -p "$TEST_HOME/bin" "$TEST_HOME/front"
    cp "$BUILDDIR/cmd/flexiai" "$TEST_HOME/front/flexiai"
    printf '#!/bin/sh\necho "hello from PATH: $*"\n' >"$TEST_HOME/bin/flexiai-hello"
    chmod +x "$TEST_HOME/bin/flexiai-hello"
    PATH=$TEST_HOME/bin:/usr/bin:/bin run "$TEST_HOME/front/flexiai" hello a b
    assert_success
    assert_output "hello from PATH: a b"
}

@test "each command answers --version" {
    for c in complete chat breaker; do
        run "flexiai-$c" --version
        assert_success
        assert_line --index 0 --regexp "^flexiai $c [0-9]"
    done
}

@test "flexiai help CMD shows that command's help" {
    run flexiai help complete
    assert_success
    assert_output --partial "usage: flexiai complete"
}
