/*
 * ledger-time.c - the times a ledger user types: --since, --until and
 * prune --before take a date ("2026-11-01", "2026-11-01 14:30",
 * "2026-11-01T14:30:05Z"), a duration back from now ("2h", "90d", "1w",
 * "1h30m") or "@EPOCH"; [log] keep takes a duration.  Dates without a
 * trailing Z are local time, as a user at a terminal means them.
 */
#include "config.h"

#include "ledger-int.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int
fx_ledger_parse_keep(const char *s, double *seconds)
{
    if (s == NULL || *s == '\0')
        return -1;
    size_t len = strlen(s);
    /* "1w": weeks, which fxu_parse_duration does not know */
    if (len > 1 && s[len - 1] == 'w') {
        char *num = fxu_strndup(s, len - 1);
        double weeks;
        int rc = fxu_parse_double(num, &weeks);
        free(num);
        if (rc < 0 || weeks < 0)
            return -1;
        *seconds = weeks * 7 * 86400;
        return 0;
    }
    /* a unit is required: a bare "2026" is not 2026 seconds */
    if (!isalpha((unsigned char)s[len - 1]))
        return -1;
    return fxu_parse_duration(s, seconds);
}

/* YYYY-MM-DD, then optionally [T ]HH:MM[:SS], then optionally Z. */
static int
parse_date(const char *s, double *out)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    int used = 0;
    if (sscanf(s, "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &used) != 3 ||
        used != 10)
        return -1;
    const char *p = s + used;
    if (*p == 'T' || *p == ' ') {
        int n = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &tm.tm_hour, &tm.tm_min, &n) != 2 ||
            n != 5)
            return -1;
        p += 1 + n;
        if (*p == ':') {
            if (sscanf(p + 1, "%2d%n", &tm.tm_sec, &n) != 1 || n != 2)
                return -1;
            p += 1 + n;
        }
    }
    int utc = *p == 'Z';
    if (utc)
        p++;
    if (*p != '\0' || tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
        tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 60)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    tm.tm_isdst = -1;
    time_t t = utc ? timegm(&tm) : mktime(&tm);
    if (t == (time_t)-1)
        return -1;
    *out = (double)t;
    return 0;
}

int
fx_ledger_parse_when(const char *s, double now, double *out)
{
    if (s == NULL || *s == '\0')
        return -1;
    if (*s == '@')
        return fxu_parse_double(s + 1, out) == 0 && *out >= 0 ? 0 : -1;
    if (parse_date(s, out) == 0)
        return 0;
    double ago;
    if (fx_ledger_parse_keep(s, &ago) == 0) {
        *out = now - ago;
        return 0;
    }
    return -1;
}

/* The public form, against the clock (flexiai-ledger.h); no SQLite here,
 * so a command that only parses dates does not link the database. */
flexiai_code
flexiai_ledger_parse_when(const char *s, double *out)
{
    return fx_ledger_parse_when(s, fxu_wallclock(), out) == 0 ? FLEXIAI_OK
                                                              : FLEXIAI_EUSAGE;
}
