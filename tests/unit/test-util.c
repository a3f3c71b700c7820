/* test-util.c - buffers, strict parsing, and the version the header, the
 * library and configure.ac each give. */
#include "config.h"

#include "fx.h"
#include "http.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>

static void
test_versions(void)
{
    char parts[64];
    snprintf(parts, sizeof(parts), "%d.%d.%d", FLEXIAI_VERSION_MAJOR,
             FLEXIAI_VERSION_MINOR, FLEXIAI_VERSION_PATCH);
    is_str(FLEXIAI_VERSION, parts, "FLEXIAI_VERSION is MAJOR.MINOR.PATCH");
    is_int(FLEXIAI_VERSION_NUMBER,
           FLEXIAI_VERSION_MAJOR * 1000000L + FLEXIAI_VERSION_MINOR * 1000L +
               FLEXIAI_VERSION_PATCH,
           "FLEXIAI_VERSION_NUMBER is MAJOR * 1000000 + MINOR * 1000 + PATCH");
    is_str(PACKAGE_VERSION, FLEXIAI_VERSION,
           "configure.ac's version is the header's (autoreconf after a bump)");
    is_str(flexiai_version(), FLEXIAI_VERSION,
           "flexiai_version() is the header's");
    is_int(flexiai_version_number(), FLEXIAI_VERSION_NUMBER,
           "flexiai_version_number() is the header's");
}

int
main(void)
{
    test_versions();

    fxu_buf b;
    fxu_buf_init(&b);
    for (int i = 0; i < 1000; i++)
        fxu_buf_puts(&b, "ab");
    is_int(b.len, 2000, "buffer grows to 2000 bytes");
    ok(b.data[2000] == '\0', "buffer stays NUL-terminated");
    fxu_buf_printf(&b, "%d-%s", 42, "x");
    is_str(b.data + 2000, "42-x", "printf appends");
    char *s = fxu_buf_steal(&b);
    ok(b.data == NULL && b.len == 0, "steal resets the buffer");
    free(s);

    double d;
    long l;
    int v;
    ok(fxu_parse_double("0.5", &d) == 0 && d == 0.5, "number 0.5");
    ok(fxu_parse_double("1e3", &d) == 0 && d == 1000, "number 1e3");
    ok(fxu_parse_double("abc", &d) != 0, "'abc' is not a number");
    ok(fxu_parse_double("1.5x", &d) != 0, "'1.5x' is not a number");
    ok(fxu_parse_double("", &d) != 0, "empty is not a number");
    ok(fxu_parse_double(" 1", &d) != 0, "leading space is not a number");
    ok(fxu_parse_double("nan", &d) != 0, "nan is refused");
    ok(fxu_parse_long("12", &l) == 0 && l == 12, "whole 12");
    ok(fxu_parse_long("1.0", &l) != 0, "'1.0' is not whole");
    ok(fxu_parse_long("99999999999999999999999", &l) != 0, "overflow refused");
    ok(fxu_parse_bool("yes", &v) == 0 && v == 1, "yes");
    ok(fxu_parse_bool("Off", &v) == 0 && v == 0, "Off");
    ok(fxu_parse_bool("maybe", &v) != 0, "maybe is not a boolean");
    ok(fxu_parse_duration("6m0s", &d) == 0 && d == 360, "6m0s = 360 s");
    ok(fxu_parse_duration("20ms", &d) == 0 && d > 0.0199 && d < 0.0201, "20ms");
    ok(fxu_parse_duration("1h30m", &d) == 0 && d == 5400, "1h30m");
    ok(fxu_parse_duration("7", &d) == 0 && d == 7, "bare seconds");
    ok(fxu_parse_duration("7x", &d) != 0, "7x refused");
    ok(fxu_parse_duration("-1", &d) != 0, "negative refused");
    char t[] = "  hi there \n";
    is_str(fxu_trim(t), "hi there", "trim");
    return tap_done();
}
