/*
 * breaker.c - the circuit breaker state machine on a state document.
 *
 * Pure: no clock, no I/O.  The time of every operation comes in op->now,
 * so tests inject it and every store (file lock, Redis Lua script) applies
 * exactly the same rules.  The Redis script mirrors fx_breaker_apply();
 * change both together.
 *
 * The document is what every process on a host (file store) or every host
 * (Redis) shares; Python FlexiAI workers read only state, failure_count
 * and success_count from it.
 */
#include "config.h"

#include "fx.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const state_names[] = {"closed", "open", "half_open"};

const char *
fx_bstate_name(int state)
{
    if (state < FX_CLOSED || state > FX_HALF_OPEN)
        return "closed";
    return state_names[state];
}

const char *
fx_bevent_name(int ev)
{
    static const char *const names[] = {"",          "opened",  "closed",
                                        "half_open", "failure", "success"};
    if (ev < FX_EV_NONE || ev > FX_EV_SUCCESS)
        return "";
    return names[ev];
}

void
fx_breaker_doc_init(struct fx_breaker_doc *d)
{
    memset(d, 0, sizeof(*d));
    d->state = FX_CLOSED;
}

/*
 * Copy src into dst[size], truncating on a UTF-8 character boundary so a
 * long worker id never ends in half a character.
 */
static void
copy_trunc(char *dst, size_t size, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= size) {
        n = size - 1;
        /* back off over continuation bytes, then drop the lead byte of
         * the character they belonged to */
        while (n > 0 && ((unsigned char)src[n] & 0xC0) == 0x80)
            n--;
    }
    if (n)
        memcpy(dst, src, n);
    dst[n] = '\0';
}

/* half_open_max_calls as a lease count: never more than the array holds */
static int
probe_cap(long half_open_max_calls)
{
    if (half_open_max_calls <= 0)
        return 0;
    if (half_open_max_calls > FX_MAX_PROBES)
        return FX_MAX_PROBES;
    return (int)half_open_max_calls;
}

/* Drop leases whose holder did not report back in time (it crashed, or was
 * killed): a dead prober must not wedge the breaker.  Returns how many. */
static int
drop_expired(struct fx_breaker_doc *d, double now)
{
    int kept = 0, dropped = 0;
    for (int i = 0; i < d->nprobes; i++) {
        if (d->probes[i].expires <= now) {
            dropped++;
            continue;
        }
        if (kept != i)
            d->probes[kept] = d->probes[i];
        kept++;
    }
    d->nprobes = kept;
    return dropped;
}

static int
live_probes(const struct fx_breaker_doc *d, double now)
{
    int n = 0;
    for (int i = 0; i < d->nprobes; i++)
        if (d->probes[i].expires > now)
            n++;
    return n;
}

static void
clear_probes(struct fx_breaker_doc *d)
{
    memset(d->probes, 0, sizeof(d->probes));
    d->nprobes = 0;
}

static void
set_reason(struct fx_breaker_doc *d, const char *reason)
{
    copy_trunc(d->reason, sizeof(d->reason), reason);
}

static void
to_open(struct fx_breaker_doc *d, const struct fx_breaker_op *op,
        const char *reason)
{
    d->state = FX_OPEN;
    d->opened_at = op->now;
    d->retry_at = op->now + op->recovery_timeout;
    set_reason(d, reason);
    clear_probes(d);
}

static void
to_closed(struct fx_breaker_doc *d)
{
    d->state = FX_CLOSED;
    d->failure_count = 0;
    d->success_count = 0;
    d->opened_at = 0;
    d->retry_at = 0;
    d->forced = 0;
    clear_probes(d);
}

/* Take a probe lease if a slot is free.  Returns FX_ADMIT_PROBE or _NO. */
static int
take_lease(struct fx_breaker_doc *d, const struct fx_breaker_op *op,
           int *changed)
{
    if (d->nprobes >= probe_cap(op->half_open_max_calls))
        return FX_ADMIT_NO;
    struct fx_probe *p = &d->probes[d->nprobes++];
    copy_trunc(p->worker, sizeof(p->worker), op->worker);
    p->expires = op->now + op->probe_timeout;
    *changed = 1;
    return FX_ADMIT_PROBE;
}

static int
apply_admit(struct fx_breaker_doc *d, const struct fx_breaker_op *op,
            int *admit, int *changed)
{
    switch (d->state) {
    case FX_CLOSED:
        *admit = FX_ADMIT_YES;
        return FX_EV_NONE;
    case FX_OPEN:
        /* A non-forced open with retry_at 0 (e.g. written by hand or by a
         * Python tool) may be probed at once. */
        if ((d->retry_at == 0 && d->forced) || op->now < d->retry_at) {
            *admit = FX_ADMIT_NO;
            return FX_EV_NONE;
        }
        d->state = FX_HALF_OPEN;
        d->success_count = 0;
        *changed = 1;
        *admit = take_lease(d, op, changed);
        return FX_EV_HALF_OPEN;
    default:
        *admit = take_lease(d, op, changed);
        return FX_EV_NONE;
    }
}

static int
apply_success(struct fx_breaker_doc *d, const struct fx_breaker_op *op,
              int *changed)
{
    if (d->state == FX_CLOSED) {
        /* a success on a healthy provider must not cost a write */
        if (d->failure_count > 0) {
            d->failure_count = 0;
            *changed = 1;
        }
        return FX_EV_NONE;
    }
    if (d->state == FX_HALF_OPEN && op->was_probe) {
        to_closed(d);
        set_reason(d, "probe_succeeded");
        *changed = 1;
        return FX_EV_CLOSED;
    }
    /* a late result from before the breaker opened, or a request that was
     * not the probe: the probe decides */
    return FX_EV_NONE;
}

static void
note_error(struct fx_breaker_doc *d, const struct fx_breaker_op *op)
{
    if (op->err_class == NULL || op->err_class[0] == '\0')
        return;
    copy_trunc(d->last_class, sizeof(d->last_class), op->err_class);
    copy_trunc(d->last_error, sizeof(d->last_error),
               op->err_msg ? op->err_msg : "");
}

static int
apply_failure(struct fx_breaker_doc *d, const struct fx_breaker_op *op,
              int *changed)
{
    note_error(d, op);
    d->failure_count++;
    *changed = 1;
    if (d->state == FX_CLOSED) {
        if (d->failure_count >= op->failure_threshold) {
            to_open(d, op, "failure_threshold");
            return FX_EV_OPENED;
        }
        return FX_EV_NONE;
    }
    if (d->state == FX_HALF_OPEN && op->was_probe) {
        to_open(d, op, "probe_failed");
        return FX_EV_OPENED;
    }
    return FX_EV_NONE;
}

static int
apply_open_until(struct fx_breaker_doc *d, const struct fx_breaker_op *op,
                 int *changed)
{
    int ev = FX_EV_NONE;
    note_error(d, op);
    d->failure_count++;
    if (d->state != FX_OPEN) {
        d->state = FX_OPEN;
        d->opened_at = op->now;
        ev = FX_EV_OPENED;
    }
    double until = op->until;
    if (until > d->retry_at)
        d->retry_at = until;
    set_reason(d, "retry_after");
    clear_probes(d);
    *changed = 1;
    return ev;
}

static int
apply_force_open(struct fx_breaker_doc *d, const struct fx_breaker_op *op,
                 int *changed)
{
    note_error(d, op); /* a reason given by hand, class "manual" */
    d->state = FX_OPEN;
    d->forced = 1;
    d->opened_at = op->now;
    d->retry_at = op->until > 0 ? op->until : 0;
    set_reason(d, "manual");
    clear_probes(d);
    *changed = 1;
    return FX_EV_OPENED;
}

/* A document is another process's data (a skewed clock, a bug): trust no
 * open period or lease beyond what a correct writer could have set. */
int
fx_breaker_doc_clamp(struct fx_breaker_doc *d, const struct fx_breaker_op *op)
{
    double now = op->now, n = 0;
    double open_max = op->max_open > 0 ? op->max_open : 3600;
    if (op->recovery_timeout > open_max)
        open_max = op->recovery_timeout;
    if (d->forced)
        open_max = FLEXIAI_FORCE_OPEN_MAX;
    double lease_max = op->probe_timeout > 0 ? op->probe_timeout : 86400;
    if (!(d->retry_at <= now + open_max)) { /* also NaN */
        d->retry_at = now + open_max;
        n++;
    }
    for (int i = 0; i < d->nprobes; i++)
        if (!(d->probes[i].expires <= now + lease_max)) {
            d->probes[i].expires = now + lease_max;
            n++;
        }
    if (!(d->opened_at <= now)) {
        d->opened_at = now;
        n++;
    }
    if (!(d->changed_at <= now)) {
        d->changed_at = now;
        n++;
    }
    return n > 0;
}

int
fx_breaker_apply(struct fx_breaker_doc *d, const struct fx_breaker_op *op,
                 int *admit, int *changed)
{
    int ev = FX_EV_NONE, adm = FX_ADMIT_NO, ch = 0;

    /* another process's absurd times are not trusted (breaker.lua too) */
    if (fx_breaker_doc_clamp(d, op))
        ch = 1;
    if (drop_expired(d, op->now) > 0)
        ch = 1;
    switch (op->kind) {
    case FX_BREAKER_ADMIT:
        ev = apply_admit(d, op, &adm, &ch);
        break;
    case FX_BREAKER_SUCCESS:
        ev = apply_success(d, op, &ch);
        break;
    case FX_BREAKER_FAILURE:
        ev = apply_failure(d, op, &ch);
        break;
    case FX_BREAKER_OPEN_UNTIL:
        ev = apply_open_until(d, op, &ch);
        break;
    case FX_BREAKER_RESET:
        /* announced even when already closed: an operator's reset must
         * reach Python workers whatever our document said */
        to_closed(d);
        set_reason(d, "reset");
        ch = 1;
        ev = FX_EV_CLOSED;
        break;
    case FX_BREAKER_FORCE_OPEN:
        ev = apply_force_open(d, op, &ch);
        break;
    default:
        break;
    }
    if (ch) {
        d->changed_at = op->now;
        copy_trunc(d->changed_by, sizeof(d->changed_by), op->worker);
    }
    if (admit)
        *admit = adm;
    if (changed)
        *changed = ch;
    return ev;
}

int
fx_breaker_usable(const struct fx_breaker_doc *d, double now,
                  long half_open_max_calls)
{
    int max = probe_cap(half_open_max_calls);
    switch (d->state) {
    case FX_CLOSED:
        return 1;
    case FX_OPEN:
        if (d->forced && d->retry_at == 0)
            return 0;
        return now >= d->retry_at && live_probes(d, now) < max;
    default:
        return live_probes(d, now) < max;
    }
}

/* ---- JSON ------------------------------------------------------------- */

static void
put_string(fxu_buf *b, const char *s)
{
    fxu_buf_putc(b, '"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') {
            fxu_buf_putc(b, '\\');
            fxu_buf_putc(b, (char)c);
        } else if (c < 0x20) {
            fxu_buf_printf(b, "\\u%04x", c);
        } else {
            fxu_buf_putc(b, (char)c);
        }
    }
    fxu_buf_putc(b, '"');
}

/* The shortest %g form that reads back as the same double, so timestamps
 * keep their full (sub-millisecond) precision through a round trip. */
static void
put_number(fxu_buf *b, double v)
{
    char tmp[40];
    if (!isfinite(v))
        v = 0;
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof(tmp), "%.*g", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    fxu_buf_puts(b, tmp);
}

char *
fx_breaker_doc_to_json(const struct fx_breaker_doc *d)
{
    fxu_buf b;
    fxu_buf_init(&b);
    fxu_buf_puts(&b, "{\"state\":");
    put_string(&b, fx_bstate_name(d->state));
    fxu_buf_printf(&b, ",\"failure_count\":%ld,\"success_count\":%ld",
                   d->failure_count, d->success_count);
    fxu_buf_puts(&b, ",\"opened_at\":");
    put_number(&b, d->opened_at);
    fxu_buf_puts(&b, ",\"retry_at\":");
    put_number(&b, d->retry_at);
    fxu_buf_puts(&b, ",\"changed_at\":");
    put_number(&b, d->changed_at);
    fxu_buf_puts(&b, ",\"changed_by\":");
    put_string(&b, d->changed_by);
    fxu_buf_puts(&b, ",\"reason\":");
    put_string(&b, d->reason);
    if (d->last_class[0]) {
        fxu_buf_puts(&b, ",\"last_class\":");
        put_string(&b, d->last_class);
        fxu_buf_puts(&b, ",\"last_error\":");
        put_string(&b, d->last_error);
    }
    fxu_buf_puts(&b, d->forced ? ",\"forced\":true" : ",\"forced\":false");
    fxu_buf_puts(&b, ",\"probes\":[");
    for (int i = 0; i < d->nprobes && i < FX_MAX_PROBES; i++) {
        fxu_buf_puts(&b, i ? ",{\"worker\":" : "{\"worker\":");
        put_string(&b, d->probes[i].worker);
        fxu_buf_puts(&b, ",\"expires\":");
        put_number(&b, d->probes[i].expires);
        fxu_buf_putc(&b, '}');
    }
    fxu_buf_puts(&b, "],\"version\":1}");
    return fxu_buf_steal(&b);
}

/*
 * Field readers: an absent field or JSON null keeps the default (other
 * writers - Python tools, operators, Lua - may leave fields out); a field
 * of the wrong type makes the document malformed.
 */
static int
absent(const cJSON *item)
{
    return item == NULL || cJSON_IsNull(item);
}

static int
get_time(const cJSON *obj, const char *key, double *out)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (absent(item))
        return 0;
    if (!cJSON_IsNumber(item) || !isfinite(item->valuedouble) ||
        item->valuedouble < 0)
        return -1;
    *out = item->valuedouble;
    return 0;
}

static int
get_count(const cJSON *obj, const char *key, long *out)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (absent(item))
        return 0;
    if (!cJSON_IsNumber(item))
        return -1;
    double v = item->valuedouble;
    /* counts are whole and non-negative; the bound keeps the cast (and
     * later increments) defined even where long has 32 bits */
    if (!isfinite(v) || v < 0 || v > 1e15 || v > (double)(LONG_MAX / 2) ||
        v != (double)(long long)v) /* whole: in range, the cast is exact */
        return -1;
    *out = (long)v;
    return 0;
}

static int
get_string(const cJSON *obj, const char *key, char *dst, size_t size)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (absent(item))
        return 0;
    if (!cJSON_IsString(item) || item->valuestring == NULL)
        return -1;
    copy_trunc(dst, size, item->valuestring);
    return 0;
}

/* true/false, or 0/1 as some encoders write booleans */
static int
get_bool(const cJSON *obj, const char *key, int *out)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, key);
    if (absent(item))
        return 0;
    if (cJSON_IsBool(item)) {
        *out = cJSON_IsTrue(item) ? 1 : 0;
        return 0;
    }
    if (cJSON_IsNumber(item) &&
        (item->valuedouble == 0 || item->valuedouble == 1)) {
        *out = item->valuedouble == 1;
        return 0;
    }
    return -1;
}

static int
get_state(const cJSON *obj, int *out)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(obj, "state");
    if (!cJSON_IsString(item) || item->valuestring == NULL)
        return -1;
    for (int i = FX_CLOSED; i <= FX_HALF_OPEN; i++)
        if (strcmp(item->valuestring, state_names[i]) == 0) {
            *out = i;
            return 0;
        }
    return -1;
}

static int
get_probe(const cJSON *item, struct fx_probe *p)
{
    if (!cJSON_IsObject(item))
        return -1;
    if (get_string(item, "worker", p->worker, sizeof(p->worker)) < 0)
        return -1;
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(item, "expires");
    if (!cJSON_IsNumber(exp) || !isfinite(exp->valuedouble))
        return -1;
    p->expires = exp->valuedouble;
    return 0;
}

/* "probes": [ {...}, ... ], or {} for empty (Lua cjson encodes an empty
 * table as an object).  Leases beyond FX_MAX_PROBES are ignored. */
static int
get_probes(const cJSON *obj, struct fx_breaker_doc *d)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(obj, "probes");
    if (absent(arr))
        return 0;
    if (cJSON_IsObject(arr))
        return arr->child == NULL ? 0 : -1;
    if (!cJSON_IsArray(arr))
        return -1;
    const cJSON *item;
    cJSON_ArrayForEach(item, arr)
    {
        struct fx_probe p;
        memset(&p, 0, sizeof(p));
        if (get_probe(item, &p) < 0)
            return -1;
        if (d->nprobes < FX_MAX_PROBES)
            d->probes[d->nprobes++] = p;
    }
    return 0;
}

static int
doc_from_object(const cJSON *obj, struct fx_breaker_doc *d)
{
    const cJSON *version;

    if (!cJSON_IsObject(obj) || get_state(obj, &d->state) < 0)
        return -1;
    if (get_count(obj, "failure_count", &d->failure_count) < 0 ||
        get_count(obj, "success_count", &d->success_count) < 0)
        return -1;
    if (get_time(obj, "opened_at", &d->opened_at) < 0 ||
        get_time(obj, "retry_at", &d->retry_at) < 0 ||
        get_time(obj, "changed_at", &d->changed_at) < 0)
        return -1;
    char *by = d->changed_by, *reason = d->reason;
    if (get_string(obj, "changed_by", by, sizeof(d->changed_by)) < 0 ||
        get_string(obj, "reason", reason, sizeof(d->reason)) < 0)
        return -1;
    char *cls = d->last_class, *msg = d->last_error;
    if (get_string(obj, "last_class", cls, sizeof(d->last_class)) < 0 ||
        get_string(obj, "last_error", msg, sizeof(d->last_error)) < 0)
        return -1;
    if (get_bool(obj, "forced", &d->forced) < 0 || get_probes(obj, d) < 0)
        return -1;
    version = cJSON_GetObjectItemCaseSensitive(obj, "version");
    if (!absent(version) && !cJSON_IsNumber(version))
        return -1;
    return 0;
}

int
fx_breaker_doc_from_json(const char *json, size_t len, struct fx_breaker_doc *d)
{
    fx_breaker_doc_init(d);
    if (json == NULL || len == 0)
        return -1;

    /* cJSON wants a terminated string; the input may be any bytes */
    char *copy = fxu_strndup(json, len);
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(copy, len, &end, 0);
    int rc = -1;
    if (root != NULL) {
        /* nothing but white space may follow the document */
        size_t pos = (size_t)(end - copy);
        while (pos < len && strchr(" \t\r\n", copy[pos]) && copy[pos])
            pos++;
        if (pos == len)
            rc = doc_from_object(root, d);
    }
    cJSON_Delete(root);
    free(copy);
    if (rc < 0)
        fx_breaker_doc_init(d);
    return rc;
}
