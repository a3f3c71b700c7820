#!/usr/bin/env bats
# The tree's shape (lib/README): no two files of lib/ or cmd/ call into
# each other, directly or round a circle, and every file of lib/ is on
# the map.  Calls are read from the built objects' symbol tables.

load helpers

@test "no call cycle between the files of lib/ and of cmd/" {
    run python3 "$SRCDIR/tests/layout.py" "$BUILDDIR" "$SRCDIR" cycles
    assert_success
    assert_output ""
}

@test "the objects are read: the engine calls the providers' helpers" {
    # guards the test above against reading nothing
    run python3 "$SRCDIR/tests/layout.py" "$BUILDDIR" "$SRCDIR" edges
    assert_success
    assert_line --partial "lib/providers/provider-openai.c -> lib/providers/provider-common.c:"
    assert_line --partial "cmd/flexiai-breaker.c -> cmd/breaker-probe.c:"
}

@test "every file of lib/ is named in lib/README" {
    run python3 "$SRCDIR/tests/layout.py" "$BUILDDIR" "$SRCDIR" unmapped
    assert_success
    assert_output ""
}

@test "a cycle, once made, is found and named" {
    tmp=$(mktemp -d)
    mkdir -p "$tmp/lib"
    printf 'int b(void);\nint a(void) { return b(); }\n' >"$tmp/a.c"
    printf 'int a(void);\nint b(void) { return a() + 1; }\n' >"$tmp/b.c"
    cc -c -o "$tmp/lib/a.o" "$tmp/a.c"
    cc -c -o "$tmp/lib/b.o" "$tmp/b.c"
    cp "$tmp/a.c" "$tmp/b.c" "$tmp/lib/"
    run python3 "$SRCDIR/tests/layout.py" "$tmp" "$tmp" cycles
    assert_failure
    assert_line "cycle: lib/a.c lib/b.c"
    rm -rf "$tmp"
}

@test "a file missing from the map is named" {
    tmp=$(mktemp -d)
    mkdir -p "$tmp/lib/new"
    cp "$SRCDIR/lib/README" "$tmp/lib/README"
    : >"$tmp/lib/new/orphan.c"
    run python3 "$SRCDIR/tests/layout.py" "$BUILDDIR" "$tmp" unmapped
    assert_failure
    assert_output "not in lib/README: lib/new/orphan.c"
    rm -rf "$tmp"
}
