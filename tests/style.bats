#!/usr/bin/env bats
# One formatting style (.clang-format) for all C in the tree.

load helpers

@test "all C sources are formatted with the project's .clang-format" {
    command -v clang-format >/dev/null || fail "clang-format not installed (apt-get install clang-format)"
    cd "$SRCDIR"
    run bash -c 'clang-format --dry-run -Werror $(ls lib/*.c lib/*/*.c | grep -v -- "-lua\.c\$") lib/*.h lib/*/*.h cmd/*.c cmd/*.h tests/unit/*.c tests/unit/*.h tests/mockllm/*.c tests/fuzz/*.c tests/fuzz/*.h bench/*.c 2>&1 | grep -m 5 "error:"'
    assert_output ""
}
