/*
 * errclass.c - error classes and the provider-independent parts of
 * classifying a failed attempt: status codes, Retry-After and rate limit
 * reset headers, "prompt too long" wording.  Also the small response,
 * header and stream helpers every provider shares.
 */
#include "config.h"

#include "fx.h"
#include "curl-load.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void
fx_error_set(struct fx_error *e, int cls, const char *fmt, ...)
{
    va_list ap;
    e->cls = cls;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    va_end(ap);
    /* One line, always. */
    for (char *c = e->msg; *c; c++)
        if (*c == '\n' || *c == '\r' || *c == '\t')
            *c = ' ';
}

int
fx_class_from_status(long status)
{
    if (status >= 200 && status < 300)
        return FLEXIAI_E_NONE;
    switch (status) {
    case 401:
    case 403:
        return FLEXIAI_E_AUTH;
    case 402: /* Payment Required: out of credit */
        return FLEXIAI_E_QUOTA;
    case 408:
        return FLEXIAI_E_TIMEOUT;
    case 429:
        return FLEXIAI_E_RATE_LIMIT;
    case 503:
    case 529: /* Anthropic: overloaded */
        return FLEXIAI_E_OVERLOADED;
    default:
        break;
    }
    if (status >= 500 && status < 600)
        return FLEXIAI_E_SERVER;
    if (status >= 400 && status < 500)
        return FLEXIAI_E_BAD_REQUEST;
    /* Redirects are not followed: base_url is wrong, and stays wrong. */
    if (status >= 300 && status < 400)
        return FLEXIAI_E_BAD_REQUEST;
    /* 1xx/3xx as a final answer, or nonsense: the server misbehaved. */
    return FLEXIAI_E_SERVER;
}

/* ---- Retry-After and reset headers ------------------------------------ */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static long
days_from_civil(long y, long m, long d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int
digits(const char *s, int n, long *out)
{
    long v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

/* RFC 3339 "2026-11-23T09:47:19Z", fractions and offsets allowed. */
static int
parse_rfc3339(const char *s, double *epoch)
{
    long y, mo, d, h, mi, sec;
    if (strlen(s) < 19 || digits(s, 4, &y) || s[4] != '-' ||
        digits(s + 5, 2, &mo) || s[7] != '-' || digits(s + 8, 2, &d) ||
        (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        digits(s + 11, 2, &h) || s[13] != ':' || digits(s + 14, 2, &mi) ||
        s[16] != ':' || digits(s + 17, 2, &sec))
        return -1;
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
        return -1;
    const char *p = s + 19;
    double frac = 0;
    if (*p == '.') {
        double scale = 0.1;
        p++;
        if (!isdigit((unsigned char)*p))
            return -1;
        while (isdigit((unsigned char)*p)) {
            frac += (*p - '0') * scale;
            scale /= 10;
            p++;
        }
    }
    long offset = 0;
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        long oh, om;
        if (digits(p + 1, 2, &oh) || p[3] != ':' || digits(p + 4, 2, &om))
            return -1;
        offset = (oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
        p += 6;
    } else {
        return -1;
    }
    if (*p != '\0')
        return -1;
    double days = (double)days_from_civil(y, mo, d);
    *epoch = days * 86400 + h * 3600 + mi * 60 + sec + frac - offset;
    return 0;
}

/* Retry-After: delta-seconds or an HTTP-date. */
static int
parse_retry_after(const char *v, double now, double *out)
{
    double secs;
    if (fxu_parse_double(v, &secs) == 0) {
        if (secs < 0)
            return -1;
        *out = secs;
        return 0;
    }
    time_t when = curl_getdate(v, NULL);
    if (when == (time_t)-1)
        return -1;
    secs = (double)when - now;
    *out = secs > 0 ? secs : 0;
    return 0;
}

/* A reset header: a duration ("6m0s", "20ms", "1s") or an RFC 3339 time. */
static int
parse_reset(const char *v, double now, double *out)
{
    double secs, when;
    if (fxu_parse_duration(v, &secs) == 0) {
        *out = secs;
        return 0;
    }
    if (parse_rfc3339(v, &when) == 0) {
        secs = when - now;
        *out = secs > 0 ? secs : 0;
        return 0;
    }
    return -1;
}

/* Longest wait a header may ask for (a year): anything longer is treated
 * as this, so no later sum or conversion can overflow. */
#define RETRY_AFTER_CAP 31536000.0

static double retry_after_raw(const struct fx_headers *h,
                              const char *const *reset, double now);

double
fx_retry_after(const struct fx_headers *h, const char *const *reset, double now)
{
    double secs = retry_after_raw(h, reset, now);
    if (!(secs <= RETRY_AFTER_CAP) && secs >= 0) /* huge or +inf */
        secs = RETRY_AFTER_CAP;
    return secs;
}

static double
retry_after_raw(const struct fx_headers *h, const char *const *reset,
                double now)
{
    const char *v;
    double secs, best = -1;

    if (h == NULL)
        return -1;
    /* The server's explicit answer wins; the -ms form is more precise. */
    v = fx_headers_get(h, "retry-after-ms");
    if (v && fxu_parse_double(v, &secs) == 0 && secs >= 0)
        return secs / 1000.0;
    v = fx_headers_get(h, "retry-after");
    if (v && parse_retry_after(v, now, &secs) == 0)
        return secs;
    /* Otherwise wait until every limit we hit has reset: the largest. */
    for (size_t i = 0; reset && reset[i]; i++) {
        v = fx_headers_get(h, reset[i]);
        if (v && parse_reset(v, now, &secs) == 0 && secs > best)
            best = secs;
    }
    return best;
}

/* ---- message wording ---------------------------------------------------- */

int
fx_contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    if (hay == NULL)
        return 0;
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] &&
               tolower((unsigned char)hay[i]) ==
                   tolower((unsigned char)needle[i]))
            i++;
        if (i == n)
            return 1;
    }
    return 0;
}

int
fx_says_too_long(const char *msg)
{
    static const char *const phrases[] = {
        "context_length_exceeded",
        "maximum context length",
        "prompt is too long",
        "too many tokens",
        "exceeds the context window",
        "input token count",
        NULL,
    };
    if (msg == NULL)
        return 0;
    for (int i = 0; phrases[i]; i++)
        if (fx_contains_nocase(msg, phrases[i]))
            return 1;
    return 0;
}

void
fx_set_err(char **err, const char *fmt, ...)
{
    if (err == NULL)
        return;
    va_list ap;
    va_start(ap, fmt);
    free(*err);
    *err = fxu_vasprintf(fmt, ap);
    va_end(ap);
}

/* ---- headers, responses ----------------------------- */

const char *
fx_headers_get(const struct fx_headers *h, const char *name)
{
    if (h == NULL || name == NULL)
        return NULL;
    for (size_t i = 0; i < h->n; i++)
        if (fxu_streq_nocase(h->items[i].name, name))
            return h->items[i].value;
    return NULL;
}

void
fx_headers_free(struct fx_headers *h)
{
    if (h == NULL)
        return;
    for (size_t i = 0; i < h->n; i++) {
        free(h->items[i].name);
        free(h->items[i].value);
    }
    free(h->items);
    h->items = NULL;
    h->n = 0;
}

void
fx_response_init(struct fx_response *r)
{
    fxu_buf_init(&r->text);
    r->model = NULL;
    r->finish_reason = NULL;
    r->tool_name = NULL;
    r->has_usage = 0;
    r->prompt_tokens = r->completion_tokens = r->total_tokens = 0;
    r->cached_tokens = r->cache_write_tokens = r->reasoning_tokens = 0;
    fxu_buf_init(&r->reasoning);
    r->reasoning_state = NULL;
    r->tool_calls = NULL;
    r->ntool_calls = 0;
}

flexiai_tool_call *
fx_tool_calls_copy(const flexiai_tool_call *c, size_t n)
{
    if (c == NULL || n == 0)
        return NULL;
    flexiai_tool_call *v = fxu_xcalloc(n, sizeof(*v));
    for (size_t i = 0; i < n; i++) {
        v[i].id = fxu_strdup(c[i].id);
        v[i].name = fxu_strdup(c[i].name);
        v[i].arguments = fxu_strdup(c[i].arguments);
    }
    return v;
}

void
fx_tool_calls_free(flexiai_tool_call *c, size_t n)
{
    for (size_t i = 0; c && i < n; i++) {
        free(c[i].id);
        free(c[i].name);
        free(c[i].arguments);
    }
    free(c);
}

void
fx_response_free(struct fx_response *r)
{
    fxu_buf_free(&r->text);
    fxu_buf_free(&r->reasoning);
    free(r->reasoning_state);
    free(r->model);
    free(r->finish_reason);
    free(r->tool_name);
    fx_tool_calls_free(r->tool_calls, r->ntool_calls);
    fx_response_init(r);
}
