/* test-util.c - buffers, strict parsing (numbers, host:port), and the
 * version the header, the library and configure.ac each give. */
#include "config.h"

#include "fx.h"
#include "http.h"
#include "tap.h"

#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* fxu_parse_hostport on a whole string: 0 with host and port, or -1 with
 * the message. */
static int
hostport(const char *s, const char *reject, char **host, long *port,
         const char **why)
{
    *host = NULL;
    *port = -1;
    *why = NULL;
    return fxu_parse_hostport(s, strlen(s), reject, host, port, why);
}

static void
test_hostport(void)
{
    char *host;
    long port;
    const char *why;
    ok(hostport("127.0.0.1:6379", NULL, &host, &port, &why) == 0 &&
           strcmp(host, "127.0.0.1") == 0 && port == 6379,
       "IPv4 and port");
    free(host);
    ok(hostport("redis.example:26380", NULL, &host, &port, &why) == 0 &&
           strcmp(host, "redis.example") == 0 && port == 26380,
       "host name and port");
    free(host);
    ok(hostport("[::1]:6379", NULL, &host, &port, &why) == 0 &&
           strcmp(host, "::1") == 0 && port == 6379,
       "[::1]:6379: the address without brackets");
    free(host);
    ok(hostport("[fe80::1]", NULL, &host, &port, &why) == 0 &&
           strcmp(host, "fe80::1") == 0 && port == -1,
       "[v6] alone leaves the port alone");
    free(host);
    ok(hostport("sentinel-1", NULL, &host, &port, &why) == 0 &&
           strcmp(host, "sentinel-1") == 0 && port == -1,
       "no port: the port is left alone");
    free(host);
    ok(fxu_parse_hostport("h:80/db", 4, NULL, NULL, NULL, NULL) == 0,
       "only the first n bytes are read; outputs may be NULL");

    ok(hostport("host:", NULL, &host, &port, &why) == -1 && host == NULL,
       "'host:' has no port number");
    is_str(why, "bad port (1 to 65535)", "... bad port");
    hostport("host:0", NULL, &host, &port, &why);
    is_str(why, "bad port (1 to 65535)", "port 0 is out of range");
    hostport("host:65536", NULL, &host, &port, &why);
    is_str(why, "bad port (1 to 65535)", "port 65536 is out of range");
    hostport("host:99999999999999999999", NULL, &host, &port, &why);
    is_str(why, "bad port (1 to 65535)", "a huge port is out of range");
    ok(hostport("host:65535", NULL, &host, &port, &why) == 0 && port == 65535,
       "port 65535");
    free(host);
    hostport("host:+80", NULL, &host, &port, &why);
    is_str(why, "bad port (1 to 65535)", "a port is digits only: '+80'");
    hostport("host:80x", NULL, &host, &port, &why);
    is_str(why, "bad port (1 to 65535)", "junk after the port");
    hostport("::1", NULL, &host, &port, &why);
    is_str(why, "an IPv6 address must be written in [brackets]",
           "a bare IPv6 address is refused");
    hostport("a:b:c", NULL, &host, &port, &why);
    is_str(why, "an IPv6 address must be written in [brackets]",
           "two colons without brackets");
    hostport("[::1", NULL, &host, &port, &why);
    is_str(why, "unclosed '[' in the host", "unclosed bracket");
    hostport("[]:6379", NULL, &host, &port, &why);
    is_str(why, "empty IPv6 address", "empty brackets");
    hostport("[::1]6379", NULL, &host, &port, &why);
    is_str(why, "unexpected text after ']'", "text after the bracket");
    hostport(":6379", NULL, &host, &port, &why);
    is_str(why, "no host", "no host before the port");
    hostport("", NULL, &host, &port, &why);
    is_str(why, "no host", "empty");
    ok(hostport("a b:1", NULL, &host, &port, &why) == 0, "any host bytes");
    free(host);
    ok(hostport("a b:1", " \t", &host, &port, &why) == -1 && host == NULL &&
           port == -1,
       "... unless rejected, with nothing set");
    is_str(why, "bad character in the host", "... a bad character");
}

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

/* fxu_floor and fxu_round against libm's, which this test links */
static void
test_floor_round(void)
{
    static const double xs[] = {0.0,
                                -0.0,
                                0.5,
                                -0.5,
                                1.5,
                                2.5,
                                -2.5,
                                0.49999999999999994,
                                -0.49999999999999994,
                                1e-300,
                                -1e-300,
                                123456.789,
                                -123456.789,
                                4503599627370495.5,
                                -4503599627370495.5,
                                4503599627370496.0,
                                9007199254740993.0,
                                1e300,
                                -1e300,
                                HUGE_VAL,
                                -HUGE_VAL};
    int bad = 0;
    for (size_t i = 0; i < sizeof(xs) / sizeof(xs[0]); i++) {
        double x = xs[i];
        if (fxu_floor(x) != floor(x) || fxu_round(x) != round(x)) {
            printf("# x = %.17g: floor %.17g / %.17g, round %.17g / %.17g\n", x,
                   fxu_floor(x), floor(x), fxu_round(x), round(x));
            bad++;
        }
    }
    /* and a sweep over tenths and money amounts */
    for (long k = -20000; k <= 20000; k++) {
        double x = (double)k / 10.0, y = (double)k * 1e-10 * 1e10 / 7.0;
        if (fxu_floor(x) != floor(x) || fxu_round(x) != round(x) ||
            fxu_floor(y) != floor(y) || fxu_round(y) != round(y))
            bad++;
    }
    is_int(bad, 0, "fxu_floor and fxu_round agree with libm");
    ok(isnan(fxu_floor(NAN)) && isnan(fxu_round(NAN)), "NaN stays NaN");
}

int
main(void)
{
    test_versions();
    test_floor_round();

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
    test_hostport();
    return tap_done();
}
