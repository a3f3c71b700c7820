#!/usr/bin/env bats
# install.bats - what `make install` puts in place is enough on its own: a
# program that includes only <flexiai.h> and <flexiai-ledger.h> and is built
# with nothing but `pkg-config flexiai` (against a staged install, DESTDIR)
# runs a request and logs it.

load helpers

setup_file() {
    STAGE=$BATS_FILE_TMPDIR/stage
    export STAGE
    make -C "$BUILDDIR" -s install DESTDIR="$STAGE" >/dev/null 2>"$BATS_FILE_TMPDIR/install.err" ||
        { cat "$BATS_FILE_TMPDIR/install.err" >&3; return 1; }
}

# pc_dir: where the staged flexiai.pc is
pc_dir() {
    dirname "$(find "$STAGE" -name flexiai.pc | head -1)"
}

@test "make install stages flexiai.h, flexiai-ledger.h, flexiai.pc and the library, not the internals" {
    run find "$STAGE" -name flexiai.h
    assert_success
    assert_output --partial include/flexiai.h
    run find "$STAGE" -name flexiai-ledger.h
    assert_output --partial include/flexiai-ledger.h
    run find "$STAGE" -name 'fx.h' -o -name 'fxu.h' -o -name 'tool.h'
    assert_output ""
    [ -n "$(pc_dir)" ]
    run find "$STAGE" -name 'libflexiai.so*'
    [ -n "$output" ]
}

@test "a program using only the installed headers builds with pkg-config flexiai, answers and logs" {
    start_mockllm
    provider_section demo openai demo | write_config
    local cflags libs libdir
    # PKG_CONFIG_SYSROOT_DIR maps the .pc's prefix into the staged tree
    cflags=$(PKG_CONFIG_PATH=$(pc_dir) PKG_CONFIG_SYSROOT_DIR=$STAGE pkg-config --cflags flexiai)
    libs=$(PKG_CONFIG_PATH=$(pc_dir) PKG_CONFIG_SYSROOT_DIR=$STAGE pkg-config --libs flexiai)
    [[ $cflags == *"$STAGE"* ]]
    run ${FX_TEST_CC:-cc} ${FX_TEST_CFLAGS:-} -Wall -Wextra -Werror -o "$TEST_HOME/api-demo" \
        "$SRCDIR/tests/install/api-demo.c" $cflags $libs
    assert_success
    libdir=${libs#-L}
    libdir=${libdir%% *}
    run env LD_LIBRARY_PATH="$libdir" "$TEST_HOME/api-demo" "$CONFIG" "say hi"
    assert_success
    # the answer, then: who answered, the model -m's rule set, the backend
    assert_line --index 0 --regexp '.+'
    assert_line "demo picked-by-api file no"
    assert_equal "$(mock_last_body demo | jq -r .model)" picked-by-api
    # flexiai-ledger.h: the record appended, then read back
    assert_line "ledger 1"
}

@test "the staged program sees the library's exit codes" {
    printf '[provider.x]\ntype = nonsense\n' | write_config
    local cflags libs
    cflags=$(PKG_CONFIG_PATH=$(pc_dir) PKG_CONFIG_SYSROOT_DIR=$STAGE pkg-config --cflags flexiai)
    libs=$(PKG_CONFIG_PATH=$(pc_dir) PKG_CONFIG_SYSROOT_DIR=$STAGE pkg-config --libs flexiai)
    ${FX_TEST_CC:-cc} ${FX_TEST_CFLAGS:-} -o "$TEST_HOME/api-demo" "$SRCDIR/tests/install/api-demo.c" $cflags $libs
    local libdir=${libs#-L}
    libdir=${libdir%% *}
    run env LD_LIBRARY_PATH="$libdir" "$TEST_HOME/api-demo" "$CONFIG" "hi"
    assert_failure 78
    assert_output --partial "api-demo: $CONFIG:2:"
}

@test "the installed header's version macros are the installed library's" {
    local cflags libs libdir
    cflags=$(PKG_CONFIG_PATH=$(pc_dir) PKG_CONFIG_SYSROOT_DIR=$STAGE pkg-config --cflags flexiai)
    libs=$(PKG_CONFIG_PATH=$(pc_dir) PKG_CONFIG_SYSROOT_DIR=$STAGE pkg-config --libs flexiai)
    printf '%s\n' '#include <flexiai.h>' '#include <stdio.h>' \
        'int main(void) { printf("%s %d %s %d\n", FLEXIAI_VERSION, FLEXIAI_VERSION_NUMBER,' \
        '    flexiai_version(), flexiai_version_number()); return 0; }' >"$TEST_HOME/version.c"
    run ${FX_TEST_CC:-cc} ${FX_TEST_CFLAGS:-} -Wall -Wextra -Werror -o "$TEST_HOME/version" \
        "$TEST_HOME/version.c" $cflags $libs
    assert_success
    libdir=${libs#-L}
    libdir=${libdir%% *}
    run env LD_LIBRARY_PATH="$libdir" "$TEST_HOME/version"
    assert_success
    local v n
    read -r v n _ <<<"$output"
    assert_output "$v $n $v $n"
    # and the package's, as pkg-config and configure.ac give it
    assert_equal "$v" "$(PKG_CONFIG_PATH=$(pc_dir) pkg-config --modversion flexiai)"
}

@test "a program using only flexiai.h runs 100 requests at once through flexiai_batch" {
    start_mockllm --script 'demo=wait_ms=50'
    provider_section demo openai demo | write_config
    local cflags libs libdir
    cflags=$(PKG_CONFIG_PATH=$(pc_dir) PKG_CONFIG_SYSROOT_DIR=$STAGE pkg-config --cflags flexiai)
    libs=$(PKG_CONFIG_PATH=$(pc_dir) PKG_CONFIG_SYSROOT_DIR=$STAGE pkg-config --libs flexiai)
    run ${FX_TEST_CC:-cc} ${FX_TEST_CFLAGS:-} -Wall -Wextra -Werror -o "$TEST_HOME/batch-demo" \
        "$SRCDIR/tests/install/batch-demo.c" $cflags $libs
    assert_success
    libdir=${libs#-L}
    libdir=${libdir%% *}
    run env LD_LIBRARY_PATH="$libdir" "$TEST_HOME/batch-demo" "$CONFIG" 100 100
    assert_success
    assert_line "done 100"
    # every item answered once, with its own prompt echoed
    [ "$(grep -cE '^([0-9]+) 0 item \1$' <<<"$output")" -eq 100 ]
    [ "$(grep -E '^[0-9]+ ' <<<"$output" | cut -d' ' -f1 | sort -un | wc -l)" -eq 100 ]
    assert_equal "$(mock_count demo)" 100
}

@test "pkg-config --static names every library libflexiai.a needs" {
    start_mockllm
    provider_section demo openai demo | write_config
    local pc static archive deps
    pc=$(pc_dir)
    static=$(PKG_CONFIG_PATH=$pc PKG_CONFIG_SYSROOT_DIR=$STAGE pkg-config --static --libs-only-l flexiai)
    for lib in -lflexiai -lcjson -lhiredis -linih -lssl -lcrypto -lm -lpthread; do
        [[ " $static " == *" $lib "* ]] || fail "pkg-config --static --libs flexiai lacks $lib: $static"
    done
    # the archive with the modules Requires.private names, each through its
    # own .pc (libcurl's own private libraries need -dev packages of their
    # own, so the modules' shared libraries stand in for theirs)
    archive=$(find "$STAGE" -name libflexiai.a | head -1)
    [ -n "$archive" ]
    deps=$(PKG_CONFIG_PATH=$pc pkg-config --print-requires-private flexiai | awk '{print $1}' | tr '\n' ' ')
    run ${FX_TEST_CC:-cc} ${FX_TEST_CFLAGS:-} -o "$TEST_HOME/api-demo-static" \
        -I"$(dirname "$(find "$STAGE" -name flexiai.h | head -1)")" \
        "$SRCDIR/tests/install/api-demo.c" "$archive" $(pkg-config --libs $deps) -lm -lpthread
    assert_success
    run "$TEST_HOME/api-demo-static" "$CONFIG" "say hi"
    assert_success
    assert_line "demo picked-by-api file no"
}
