#!/usr/bin/env bats
# attach-limits.bats - the providers' own size limits (PROTOCOLS.md:
# Anthropic a request of 32 MB, where a file goes as base64; Gemini an
# inline PDF of 50 MB), checked before any traffic: a provider a file is
# too large for is skipped as unsupported (the reason under -v, nothing
# for its breaker) and failover goes on; when none can take it, one line
# and exit 65.  The large files are sparse: nothing is written to disk.

load helpers

setup() {
    setup_env
    start_mockllm
    FILES=$TEST_HOME/files
    mkdir -p "$FILES"
}

teardown() { teardown_env; }

# sparse_pdf NAME BYTES: a PDF header, then holes up to BYTES
sparse_pdf() {
    printf '%%PDF-1.4\n%%\xe2\xe3\xcf\xd3\n' >"$FILES/$1"
    truncate -s "$2" "$FILES/$1"
}

@test "limits: a PDF over Anthropic's 32 MB request (as base64) skips it; Gemini, whose inline PDFs go to 50 MB, gets it" {
    {
        printf '[failover]\nretries = 0\n\n'
        provider_section an anthropic a1 "priority = 1"
        provider_section ge gemini g1 "priority = 2"
    } | write_config
    # 25 000 000 bytes are 33 333 336 as base64: over 32 MB
    sparse_pdf big.pdf 25000000
    run --separate-stderr flexiai complete --no-stream -v -a "$FILES/big.pdf" "summarise"
    assert_equal "$(mock_count a1)" 0
    # it was sent to the next one (mockllm refuses a body over 16 MB with
    # a 413 after its headers: the test needs only to see it was tried)
    assert_equal "$(mock_count g1)" 1
    [[ "$stderr" == *"an anthropic-model: skipped, big.pdf is 25.0 MB (33.3 MB in the request, as base64), anthropic takes a request of at most 32 MB"* ]]
    # the skipped provider's breaker counted nothing
    run flexiai breaker status --json
    refute_output --partial '"state":"open"'
}

@test "limits: a PDF over both providers' limits is one line and exit 65, nothing sent" {
    {
        printf '[failover]\nretries = 0\n\n'
        provider_section an anthropic a1 "priority = 1"
        provider_section ge gemini g1 "priority = 2"
    } | write_config
    sparse_pdf huge.pdf 51000000
    run --separate-stderr flexiai complete --no-stream -a "$FILES/huge.pdf" "summarise"
    assert_failure 65
    assert_output ""
    assert_equal "$(mock_count a1)" 0
    assert_equal "$(mock_count g1)" 0
    assert_equal "$(printf '%s\n' "$stderr" | wc -l)" 1
    [[ "$stderr" == *"an: unsupported (huge.pdf is 51.0 MB (68.0 MB in the request, as base64), anthropic takes a request of at most 32 MB); ge: unsupported (huge.pdf is 51.0 MB, gemini takes a PDF of at most 50 MB inline)"* ]]
}

@test "limits: a small file goes to the first provider as before" {
    {
        printf '[failover]\nretries = 0\n\n'
        provider_section an anthropic a1 "priority = 1"
        provider_section ge gemini g1 "priority = 2"
    } | write_config
    sparse_pdf small.pdf 2000
    run --separate-stderr flexiai complete --no-stream -a "$FILES/small.pdf" "summarise"
    assert_success
    assert_equal "$(mock_count a1)" 1
    assert_equal "$(mock_count g1)" 0
}

@test "limits: [provider.NAME] max_attachment_bytes skips that provider for a larger file; the next answers" {
    {
        printf '[failover]\nretries = 0\n\n'
        provider_section small openai o1 "priority = 1" "max_attachment_bytes = 1000"
        provider_section large openai o2 "priority = 2"
    } | write_config
    sparse_pdf doc.pdf 2000
    run --separate-stderr flexiai complete --no-stream -v -a "$FILES/doc.pdf" "summarise"
    assert_success
    assert_equal "$(mock_count o1)" 0
    assert_equal "$(mock_count o2)" 1
    [[ "$stderr" == *"small openai-model: skipped, doc.pdf is 2000 bytes, small takes a file of at most 1000 bytes (max_attachment_bytes)"* ]]
    # a file under it goes to the first as before
    sparse_pdf tiny.pdf 500
    run --separate-stderr flexiai complete --no-stream -a "$FILES/tiny.pdf" "summarise"
    assert_success
    assert_equal "$(mock_count o1)" 1
    # the key is checked as the others are
    printf '[provider.small]\nmax_attachment_bytes = lots\n' >>"$CONFIG"
    run --separate-stderr flexiai complete -a "$FILES/tiny.pdf" "summarise"
    assert_failure 78
}
