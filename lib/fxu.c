/* fxu.c - buffers, strings, clocks and strict numbers (fxu.h). */
#include "config.h"

#include "fxu.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void
oom(void)
{
    /* The library never prints; running out of memory is not recoverable
     * for a command-line tool, so stop the way abort() would. */
    abort();
}

void *
fxu_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        oom();
    return p;
}

void *
fxu_xcalloc(size_t n, size_t m)
{
    void *p = calloc(n ? n : 1, m ? m : 1);
    if (p == NULL)
        oom();
    return p;
}

void *
fxu_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (q == NULL)
        oom();
    return q;
}

char *
fxu_strdup(const char *s)
{
    return s ? fxu_strndup(s, strlen(s)) : NULL;
}

char *
fxu_strndup(const char *s, size_t n)
{
    char *p = fxu_xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *
fxu_vasprintf(const char *fmt, va_list ap)
{
    va_list cp;
    va_copy(cp, ap);
    int n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0)
        return fxu_strdup("");
    char *p = fxu_xmalloc((size_t)n + 1);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    return p;
}

char *
fxu_asprintf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *p = fxu_vasprintf(fmt, ap);
    va_end(ap);
    return p;
}

void
fxu_buf_init(fxu_buf *b)
{
    b->data = NULL;
    b->len = b->cap = 0;
}

void
fxu_buf_free(fxu_buf *b)
{
    free(b->data);
    fxu_buf_init(b);
}

void
fxu_buf_reset(fxu_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

static void
buf_reserve(fxu_buf *b, size_t extra)
{
    if (b->len + extra + 1 <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->len + extra + 1)
        cap *= 2;
    b->data = fxu_xrealloc(b->data, cap);
    b->cap = cap;
}

void
fxu_buf_append(fxu_buf *b, const void *p, size_t n)
{
    buf_reserve(b, n);
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void
fxu_buf_puts(fxu_buf *b, const char *s)
{
    fxu_buf_append(b, s, strlen(s));
}

void
fxu_buf_putc(fxu_buf *b, char c)
{
    fxu_buf_append(b, &c, 1);
}

void
fxu_buf_printf(fxu_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = fxu_vasprintf(fmt, ap);
    va_end(ap);
    fxu_buf_puts(b, s);
    free(s);
}

char *
fxu_buf_steal(fxu_buf *b)
{
    char *p = b->data ? b->data : fxu_strdup("");
    fxu_buf_init(b);
    return p;
}

double
fxu_wallclock(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

double
fxu_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
fxu_sleep(double seconds, volatile sig_atomic_t *cancel)
{
    /* Sleep in short slices so a cancel flag (SIGINT) ends it promptly. */
    double end = fxu_monotonic() + seconds;
    for (;;) {
        if (cancel && *cancel)
            return;
        double left = end - fxu_monotonic();
        if (left <= 0)
            return;
        if (left > 0.05)
            left = 0.05;
        struct timespec ts = {(time_t)left,
                              (long)((left - (time_t)left) * 1e9)};
        nanosleep(&ts, NULL);
    }
}

char *
fxu_trim(char *s)
{
    char *start = s;
    while (*start && isspace((unsigned char)*start))
        start++;
    size_t n = strlen(start);
    while (n > 0 && isspace((unsigned char)start[n - 1]))
        n--;
    memmove(s, start, n);
    s[n] = '\0';
    return s;
}

int
fxu_streq_nocase(const char *a, const char *b)
{
    for (; *a && *b; a++, b++)
        if (tolower((unsigned char)*a) != tolower((unsigned char)*b))
            return 0;
    return *a == *b;
}

int
fxu_parse_double(const char *s, double *out)
{
    char *end;
    if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
        return -1;
    /* decimal only: no 0x10, inf or nan, whatever strtod takes */
    for (const char *c = s; *c; c++)
        if (!isdigit((unsigned char)*c) && !strchr(".eE+-", *c))
            return -1;
    errno = 0;
    double v = strtod(s, &end);
    if (errno != 0 || *end != '\0' || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

int
fxu_parse_long(const char *s, long *out)
{
    char *end;
    if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
        return -1;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

int
fxu_parse_bool(const char *s, int *out)
{
    static const char *const yes[] = {"yes", "true", "on", "1", NULL};
    static const char *const no[] = {"no", "false", "off", "0", NULL};
    if (s == NULL)
        return -1;
    for (int i = 0; yes[i]; i++)
        if (fxu_streq_nocase(s, yes[i])) {
            *out = 1;
            return 0;
        }
    for (int i = 0; no[i]; i++)
        if (fxu_streq_nocase(s, no[i])) {
            *out = 0;
            return 0;
        }
    return -1;
}

int
fxu_parse_duration(const char *s, double *seconds)
{
    /* A bare number is seconds; otherwise a sequence of NUMBER UNIT with
     * units ms, s, m, h, d (Go-style "6m0s" as OpenAI sends). */
    double total = 0;
    const char *p = s;
    if (s == NULL || *s == '\0')
        return -1;
    if (fxu_parse_double(s, &total) == 0) {
        if (total < 0 || total > FXU_DURATION_MAX)
            return -1;
        *seconds = total;
        return 0;
    }
    total = 0;
    while (*p) {
        char *end;
        errno = 0;
        if (!isdigit((unsigned char)*p) && *p != '.')
            return -1;
        double v = strtod(p, &end);
        if (errno != 0 || end == p)
            return -1;
        p = end;
        if (strncmp(p, "ms", 2) == 0) {
            total += v / 1000.0;
            p += 2;
        } else if (*p == 's') {
            total += v;
            p++;
        } else if (*p == 'm') {
            total += v * 60;
            p++;
        } else if (*p == 'h') {
            total += v * 3600;
            p++;
        } else if (*p == 'd') {
            total += v * 86400;
            p++;
        } else {
            return -1;
        }
    }
    if (!isfinite(total) || total < 0 || total > FXU_DURATION_MAX)
        return -1;
    *seconds = total;
    return 0;
}

/* mkdir -p, creating missing components with mode 0700. */
static int
hostport_error(const char **why, const char *message)
{
    if (why)
        *why = message;
    return -1;
}

int
fxu_parse_hostport(const char *s, size_t n, const char *reject, char **host,
                   long *port, const char **why)
{
    const char *end = s + n, *name = s, *name_end, *digits;
    if (n > 0 && s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (close == NULL)
            return hostport_error(why, "unclosed '[' in the host");
        if (close == s + 1)
            return hostport_error(why, "empty IPv6 address");
        if (close + 1 != end && close[1] != ':')
            return hostport_error(why, "unexpected text after ']'");
        name = s + 1;
        name_end = close;
        digits = close + 1 != end ? close + 2 : NULL;
    } else {
        const char *colon = memchr(s, ':', n);
        if (colon && memchr(colon + 1, ':', (size_t)(end - colon - 1)))
            return hostport_error(
                why, "an IPv6 address must be written in [brackets]");
        name_end = colon ? colon : end;
        digits = colon ? colon + 1 : NULL;
    }
    if (name == name_end)
        return hostport_error(why, "no host");
    for (const char *c = name; reject && c < name_end; c++)
        if (*c != '\0' && strchr(reject, *c))
            return hostport_error(why, "bad character in the host");
    long number = 0;
    if (digits) {
        /* digits only: no sign, no blanks, nothing after */
        for (const char *c = digits; c < end && number <= 65535; c++) {
            if (*c < '0' || *c > '9')
                return hostport_error(why, "bad port (1 to 65535)");
            number = number * 10 + (*c - '0');
        }
        if (number < 1 || number > 65535)
            return hostport_error(why, "bad port (1 to 65535)");
    }
    if (host)
        *host = fxu_strndup(name, (size_t)(name_end - name));
    if (port && digits)
        *port = number;
    return 0;
}

int
fxu_make_dirs(const char *path)
{
    char *p = fxu_strdup(path);
    int rc = 0;

    for (char *s = p + 1; rc == 0; s++) {
        if (*s != '/' && *s != '\0')
            continue;
        char c = *s;
        *s = '\0';
        if (mkdir(p, 0700) < 0 && errno != EEXIST)
            rc = -1;
        *s = c;
        if (c == '\0')
            break;
    }
    if (rc == 0) {
        /* EEXIST may have been a file in the way */
        struct stat st;
        if (stat(p, &st) < 0)
            rc = -1;
        else if (!S_ISDIR(st.st_mode)) {
            errno = ENOTDIR;
            rc = -1;
        }
    }
    free(p);
    return rc;
}

int
fxu_write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Length of the valid UTF-8 sequence at p (at most n bytes), 0 when it
 * is not one (overlong forms, surrogates and code points above U+10FFFF
 * are not). */
static size_t
utf8_seq(const unsigned char *p, size_t n)
{
    unsigned c = p[0];
    size_t len;
    unsigned cp, min;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        len = 2, cp = c & 0x1f, min = 0x80;
    else if (c >= 0xe0 && c <= 0xef)
        len = 3, cp = c & 0x0f, min = 0x800;
    else if (c >= 0xf0 && c <= 0xf4)
        len = 4, cp = c & 0x07, min = 0x10000;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p[i] & 0x3f);
    }
    if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

char *
fxu_utf8_sanitize(const char *s, size_t n, size_t *replaced)
{
    fxu_buf b;
    fxu_buf_init(&b);
    size_t count = 0;
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    while (i < n) {
        size_t len = utf8_seq(p + i, n - i);
        if (len == 0) {
            fxu_buf_puts(&b, "\xef\xbf\xbd"); /* U+FFFD */
            count++;
            i++;
        } else {
            fxu_buf_append(&b, p + i, len);
            i += len;
        }
    }
    if (replaced)
        *replaced = count;
    return fxu_buf_steal(&b);
}

void
fxu_fmt_duration(double seconds, char *buf, size_t size)
{
    /* checked before the conversion: a huge or NaN value cannot overflow */
    long s = !(seconds > 0)  ? 0
             : seconds > 9e8 ? 900000000L
                             : (long)(seconds + 0.5);
    if (s < 60)
        snprintf(buf, size, "%lds", s);
    else if (s < 3600)
        snprintf(buf, size, "%ldm%02lds", s / 60, s % 60);
    else if (s < 86400)
        snprintf(buf, size, "%ldh%02ldm", s / 3600, s % 3600 / 60);
    else
        snprintf(buf, size, "%ldd%02ldh", s / 86400, s % 86400 / 3600);
}

size_t
fxu_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return 99;
    size_t prev[65], cur[65];
    for (size_t j = 0; j <= lb; j++)
        prev[j] = j;
    for (size_t i = 1; i <= la; i++) {
        cur[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t sub = prev[j - 1] + (a[i - 1] != b[j - 1]);
            size_t del = prev[j] + 1, ins = cur[j - 1] + 1;
            cur[j] =
                sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
        }
        memcpy(prev, cur, sizeof(prev));
    }
    return prev[lb];
}

/* 2^52: from there on every double is an integer (and so are inf, and
 * NaN is NaN) */
#define FXU_INTEGRAL 4503599627370496.0

double
fxu_floor(double x)
{
    if (!(x > -FXU_INTEGRAL && x < FXU_INTEGRAL))
        return x;
    double t = (double)(long long)x; /* toward zero */
    return t > x ? t - 1.0 : t;
}

double
fxu_round(double x)
{
    if (!(x > -FXU_INTEGRAL && x < FXU_INTEGRAL))
        return x;
    double t = (double)(long long)x; /* toward zero; x - t is exact */
    if (x - t >= 0.5)
        t += 1.0;
    else if (t - x >= 0.5)
        t -= 1.0;
    return t;
}
