/*
 * event.c - breaker events in the Python FlexiAI CircuitBreakerEvent JSON.
 *
 * Python workers subscribe to the same channel, so what we publish must be
 * what their json.dumps() produces, byte for byte: default separators
 * (", " and ": "), ensure_ascii escaping, keys in the dataclass order, and
 * a naive UTC timestamp in datetime.isoformat() form.
 */
#include "config.h"

#include "fx.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/*
 * Decode one UTF-8 character at s (NUL-terminated).  Returns its length
 * and sets *cp, or 0 for an invalid sequence (overlong forms, surrogates
 * and values past U+10FFFF are invalid too).
 */
static size_t
utf8_decode(const unsigned char *s, unsigned long *cp)
{
    size_t n;
    unsigned long v, min;

    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if ((s[0] & 0xE0) == 0xC0) {
        n = 2, v = s[0] & 0x1F, min = 0x80;
    } else if ((s[0] & 0xF0) == 0xE0) {
        n = 3, v = s[0] & 0x0F, min = 0x800;
    } else if ((s[0] & 0xF8) == 0xF0) {
        n = 4, v = s[0] & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80) /* also stops at the NUL */
            return 0;
        v = (v << 6) | (s[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return 0;
    *cp = v;
    return n;
}

/* A JSON string as Python's json.dumps(ensure_ascii=True) writes it.
 * Bytes that are not UTF-8 become U+FFFD, one per byte. */
static void
put_py_string(fxu_buf *b, const char *str)
{
    const unsigned char *s = (const unsigned char *)(str ? str : "");

    fxu_buf_putc(b, '"');
    while (*s) {
        unsigned long cp;
        size_t n = utf8_decode(s, &cp);
        if (n == 0) {
            cp = 0xFFFD;
            n = 1;
        }
        s += n;
        switch (cp) {
        case '"':
            fxu_buf_puts(b, "\\\"");
            break;
        case '\\':
            fxu_buf_puts(b, "\\\\");
            break;
        case '\n':
            fxu_buf_puts(b, "\\n");
            break;
        case '\r':
            fxu_buf_puts(b, "\\r");
            break;
        case '\t':
            fxu_buf_puts(b, "\\t");
            break;
        case '\b':
            fxu_buf_puts(b, "\\b");
            break;
        case '\f':
            fxu_buf_puts(b, "\\f");
            break;
        default:
            if (cp >= 0x20 && cp <= 0x7E) {
                fxu_buf_putc(b, (char)cp);
            } else if (cp < 0x10000) {
                /* DEL too: Python escapes everything outside ' '..'~' */
                fxu_buf_printf(b, "\\u%04lx", cp);
            } else {
                cp -= 0x10000;
                fxu_buf_printf(b, "\\u%04lx\\u%04lx", 0xD800 | (cp >> 10),
                               0xDC00 | (cp & 0x3FF));
            }
        }
    }
    fxu_buf_putc(b, '"');
}

/*
 * datetime.utcfromtimestamp(now).isoformat(): microseconds rounded to
 * nearest, and no fraction at all when they are exactly zero.
 */
static void
put_isoformat(fxu_buf *b, double now)
{
    struct tm tm;
    if (!isfinite(now) || now < 0 || now > 253402300799.0)
        now = 0; /* outside what datetime can represent */
    long long total_us = (long long)(now * 1e6 + 0.5); /* now >= 0 */
    time_t secs = (time_t)(total_us / 1000000);
    long us = (long)(total_us % 1000000);

    gmtime_r(&secs, &tm);
    fxu_buf_printf(b, "%04d-%02d-%02dT%02d:%02d:%02d", tm.tm_year + 1900,
                   tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
    if (us != 0)
        fxu_buf_printf(b, ".%06ld", us);
}

char *
fx_event_json(const char *provider, int event, const char *worker, double now,
              long failure_count, long success_count)
{
    fxu_buf b;
    fxu_buf_init(&b);
    fxu_buf_puts(&b, "{\"provider_name\": ");
    put_py_string(&b, provider);
    fxu_buf_puts(&b, ", \"event_type\": ");
    put_py_string(&b, fx_bevent_name(event));
    fxu_buf_puts(&b, ", \"worker_id\": ");
    put_py_string(&b, worker);
    fxu_buf_puts(&b, ", \"timestamp\": \"");
    put_isoformat(&b, now);
    fxu_buf_printf(&b,
                   "\", \"metadata\": {\"failure_count\": %ld, "
                   "\"success_count\": %ld}, "
                   "\"__event_type__\": \"CircuitBreakerEvent\"}",
                   failure_count, success_count);
    return fxu_buf_steal(&b);
}

/* metadata counts: -1 when absent or not a sensible number */
static long
meta_count(const cJSON *meta, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(meta, key);
    if (!cJSON_IsNumber(item))
        return -1;
    double v = item->valuedouble;
    if (!isfinite(v) || v < 0 || v > 1e15 || v > (double)LONG_MAX)
        return -1;
    return (long)v;
}

static const char *
string_field(const cJSON *obj, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (!cJSON_IsString(item))
        return NULL;
    return item->valuestring;
}

/* Append s with its NUL to the block at *pos; returns where it went. */
static const char *
stash(char *block, size_t *pos, const char *s)
{
    size_t n = strlen(s) + 1;
    char *dst = block + *pos;
    memcpy(dst, s, n);
    *pos += n;
    return dst;
}

int
fx_event_parse(const char *json, flexiai_event *ev, void **owned)
{
    memset(ev, 0, sizeof(*ev));
    *owned = NULL;
    if (json == NULL)
        return -1;

    cJSON *root = cJSON_ParseWithOpts(json, NULL, 1);
    const char *provider = string_field(root, "provider_name");
    const char *type = string_field(root, "event_type");
    if (!cJSON_IsObject(root) || provider == NULL || type == NULL) {
        cJSON_Delete(root);
        return -1;
    }
    const char *worker = string_field(root, "worker_id");
    const char *stamp = string_field(root, "timestamp");
    char *stamp_buf = NULL;
    if (stamp == NULL) {
        /* tolerate an epoch number from other writers */
        const cJSON *ts = cJSON_GetObjectItemCaseSensitive(root, "timestamp");
        if (cJSON_IsNumber(ts)) {
            fxu_buf tb;
            fxu_buf_init(&tb);
            put_isoformat(&tb, ts->valuedouble);
            stamp_buf = fxu_buf_steal(&tb);
        }
        stamp = stamp_buf ? stamp_buf : "";
    }
    if (worker == NULL)
        worker = "";

    const cJSON *meta = cJSON_GetObjectItemCaseSensitive(root, "metadata");
    ev->failure_count = meta_count(meta, "failure_count");
    ev->success_count = meta_count(meta, "success_count");

    /* every string in one block the caller frees */
    size_t total = strlen(provider) + strlen(type) + strlen(worker) +
                   strlen(stamp) + strlen(json) + 5;
    char *block = fxu_xmalloc(total);
    size_t pos = 0;
    ev->provider = stash(block, &pos, provider);
    ev->event_type = stash(block, &pos, type);
    ev->worker_id = stash(block, &pos, worker);
    ev->timestamp = stash(block, &pos, stamp);
    ev->json = stash(block, &pos, json);
    *owned = block;

    free(stamp_buf);
    cJSON_Delete(root);
    return 0;
}

/* The inverse of put_isoformat(), for the bridge: "YYYY-MM-DDTHH:MM:SS"
 * with an optional fraction (up to 6 digits) and an optional UTC suffix. */
int
fx_event_time(const char *iso, double *out)
{
    int y, mo, d, h, mi, s, n = 0;
    if (iso == NULL ||
        sscanf(iso, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &s,
               &n) != 6 ||
        n != 19)
        return -1;
    if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
        s > 60 || h < 0 || mi < 0 || s < 0)
        return -1;
    const char *p = iso + 19;
    double frac = 0, scale = 0.1;
    if (*p == '.') {
        p++;
        int digits = 0;
        while (*p >= '0' && *p <= '9' && digits < 9) {
            frac += (*p - '0') * scale;
            scale /= 10;
            p++;
            digits++;
        }
        if (digits == 0)
            return -1;
    }
    if (strcmp(p, "Z") != 0 && strcmp(p, "+00:00") != 0 && *p != '\0')
        return -1;
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return -1;
    *out = (double)t + frac;
    return 0;
}
