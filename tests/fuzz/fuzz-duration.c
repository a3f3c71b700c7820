/*
 * fuzz-duration.c - libFuzzer target for every parser of a time a server or
 * a user gives: fxu_parse_duration, fxu_parse_double and Retry-After /
 * reset headers through fx_retry_after.  Whatever the text (1e308, twenty
 * digits, a date in the year 9999), a result is finite and inside its
 * documented range, so no later conversion to an integer can overflow
 * (build with UBSan to check that too).
 *
 *   ./configure CC=clang --enable-fuzzers && make fuzz
 *   tests/fuzz/fuzz-duration tests/fuzz/corpus/duration
 */
#include "config.h"

#include "fx.h"
#include "http.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = fxu_strndup((const char *)data, size);
    double v;

    if (fxu_parse_duration(s, &v) == 0 &&
        (!isfinite(v) || v < 0 || v > FXU_DURATION_MAX))
        abort();
    if (fxu_parse_double(s, &v) == 0 && !isfinite(v))
        abort();
    if (fxu_parse_double(s, &v) == 0 && (strchr(s, 'x') || strchr(s, 'X')))
        abort(); /* decimal only */

    static const char *const names[] = {"retry-after", "retry-after-ms",
                                        "x-ratelimit-reset-requests"};
    static const char *const reset[] = {"x-ratelimit-reset-requests", NULL};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        struct fx_header h = {.name = (char *)names[i], .value = s};
        struct fx_headers hs = {.items = &h, .n = 1};
        double r = fx_retry_after(&hs, reset, 1795000000.0);
        if (r != -1 && (!isfinite(r) || r < 0 || r > 31536000.0))
            abort();
        /* what failover.c does with it must stay finite */
        if (r >= 0 && !isfinite(1795000000.0 + r))
            abort();
    }
    free(s);
    return 0;
}
