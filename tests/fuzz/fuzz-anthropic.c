/*
 * fuzz-anthropic.c - libFuzzer target: anthropic responses, error bodies and
 * streams (see fuzz-provider.h).
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -Ilib \
 *       tests/fuzz/fuzz-anthropic.c lib/provider-*.c lib/providers.c \
 *       lib/errclass.c lib/sse.c lib/util.c -lcjson -lcurl -lm \
 *       -o fuzz-anthropic
 *   ./fuzz-anthropic tests/fuzz/corpus/anthropic
 */
#include "fuzz-provider.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_provider(&fx_provider_anthropic, data, size);
    return 0;
}
