/*
 * ratelimit.c - rpm and tpm as counted windows, apart from all I/O: the
 * document the stores keep per provider, and the one operation that
 * grants a request (or says how long to wait) and corrects a token
 * estimate afterwards.  The file store runs it under its lock; the Redis
 * store runs ratelimit.lua, the same algorithm, in one script.
 *
 * Two rules.  Token buckets pace rpm and tpm: each refills continuously
 * at its limit per window and holds a small burst, so requests leave
 * evenly (a request's token estimate may put the tpm bucket in debt, which
 * the refill pays back before the next one goes).  Counted
 * slots cap rpm and tpm: a bucket alone lets burst + rpm requests through
 * in the window after a quiet one, and counting every slot that overlaps
 * the last window (plus a margin for arrivals the network shifts) keeps
 * any window at rpm or less, for the price of the margin (4/30 of the
 * window at most) of unused capacity.
 */
#include "config.h"

#include "fx.h"
#include "ratelimit.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

void
fx_limit_doc_init(struct fx_limit_doc *d, double window)
{
    memset(d, 0, sizeof(*d));
    d->window = window;
    for (int i = 0; i < FX_LIMIT_RING; i++)
        d->slot[i] = -1;
}

/* Seconds of one slot. */
static double
slot_len(double window)
{
    return window / FX_LIMIT_SLOTS;
}

/* When slot idx stops being counted: once the current slot is idx + RING. */
static double
leaves_at(long long idx, double window)
{
    return (double)(idx + FX_LIMIT_RING) * slot_len(window);
}

/* The slots counted now, oldest first, in order[]; returns how many.
 * Slots of the future count as the current one's neighbours (see *cur). */
static int
counted(struct fx_limit_doc *d, long long *cur, int *order)
{
    int n = 0;
    for (int i = 0; i < FX_LIMIT_RING; i++)
        if (d->slot[i] > *cur && d->slot[i] < *cur + FX_LIMIT_RING)
            *cur = d->slot[i]; /* a clock read before ours: time is later */
    for (int i = 0; i < FX_LIMIT_RING; i++) {
        if (d->slot[i] < 0)
            continue;
        if (d->slot[i] <= *cur - FX_LIMIT_RING || d->slot[i] > *cur) {
            d->slot[i] = -1; /* left the window (or from a wrong clock) */
            d->req[i] = d->tok[i] = 0;
            continue;
        }
        int k = n++;
        while (k > 0 && d->slot[order[k - 1]] > d->slot[i]) {
            order[k] = order[k - 1];
            k--;
        }
        order[k] = i;
    }
    return n;
}

/* How long until `over` units of sum have left the window. */
static double
wait_for(const struct fx_limit_doc *d, const int *order, int n, const double *v,
         double over, double now)
{
    double freed = 0;
    for (int k = 0; k < n; k++) {
        freed += v[order[k]];
        if (freed >= over)
            return leaves_at(d->slot[order[k]], d->window) - now;
    }
    return slot_len(d->window);
}

/* A bucket (the rpm one or the tpm one) brought to now, never back in
 * time, refilled at limit per window; returns its capacity, the burst. */
static double
refill(double *level, double *at, long limit, double window, double now)
{
    double burst = (double)FX_LIMIT_BURST(limit);
    if (!(*at > 0) || now - *at > window * 4) {
        *level = burst; /* new, or idle long enough to be full anyway */
        *at = now;
    } else if (now > *at) {
        *level += (now - *at) * (double)limit / window;
        *at = now;
    }
    if (*level > burst)
        *level = burst;
    return burst;
}

void
fx_limit_apply(struct fx_limit_doc *d, const struct fx_limit_op *op,
               struct fx_limit_result *res)
{
    memset(res, 0, sizeof(*res));
    if (d->window != op->window || !(op->window > 0))
        fx_limit_doc_init(d, op->window > 0 ? op->window : 60);
    /* now is positive: truncation is floor (no libm, see bench/run.sh) */
    long long cur = (long long)(op->now / slot_len(d->window));
    int order[FX_LIMIT_RING];
    int n = counted(d, &cur, order);
    double now = op->now;
    if ((double)cur * slot_len(d->window) > now)
        now = (double)cur * slot_len(d->window);

    if (op->rpm > 0 && d->at > now)
        now = d->at;
    if (op->tpm > 0 && d->tat > now)
        now = d->tat;

    if (op->kind == FX_LIMIT_ADJUST) {
        for (int k = 0; k < n; k++)
            if (d->slot[order[k]] == op->slot) {
                double *t = &d->tok[order[k]];
                *t = *t + op->delta < 0 ? 0 : *t + op->delta;
            }
        if (op->tpm > 0) {
            double burst = refill(&d->tlevel, &d->tat, op->tpm, d->window, now);
            d->tlevel -= op->delta;
            if (d->tlevel > burst)
                d->tlevel = burst;
        }
        res->granted = 1;
        return;
    }
    double sumr = 0, sumt = 0;
    for (int k = 0; k < n; k++) {
        sumr += d->req[order[k]];
        sumt += d->tok[order[k]];
    }
    double cost = op->cost < 0 ? 0 : op->cost;
    if (op->tpm > 0 && cost > (double)op->tpm)
        cost = (double)op->tpm; /* bigger than the budget: wait for all */
    double wait = 0;
    int which = FX_LIMIT_NONE;
    if (op->rpm > 0) {
        refill(&d->level, &d->at, op->rpm, d->window, now);
        if (d->level < 1) {
            wait = (1 - d->level) * d->window / (double)op->rpm;
            which = FX_LIMIT_RPM;
        }
    }
    if (op->tpm > 0) {
        double burst = refill(&d->tlevel, &d->tat, op->tpm, d->window, now);
        double need = cost < burst ? cost : burst;
        if (d->tlevel < need - 1e-9) { /* rounding: full is full */
            double w = (need - d->tlevel) * d->window / (double)op->tpm;
            if (w > wait) {
                wait = w;
                which = FX_LIMIT_TPM;
            }
        }
    }
    if (op->rpm > 0 && sumr + 1 > (double)op->rpm) {
        double w =
            wait_for(d, order, n, d->req, sumr + 1 - (double)op->rpm, now);
        if (w > wait) {
            wait = w;
            which = FX_LIMIT_RPM;
        }
    }
    if (op->tpm > 0 && sumt + cost > (double)op->tpm) {
        double w =
            wait_for(d, order, n, d->tok, sumt + cost - (double)op->tpm, now);
        if (w > wait) {
            wait = w;
            which = FX_LIMIT_TPM;
        }
    }
    if (wait > 0) {
        wait += now - op->now; /* from the caller's clock */
        res->wait = wait < 0.001 ? 0.001 : wait;
        res->which = which;
        return;
    }
    if (op->rpm > 0)
        d->level -= 1;
    if (op->tpm > 0)
        d->tlevel -= cost; /* in debt when cost > burst: the refill pays */
    int at = (int)(((cur % FX_LIMIT_RING) + FX_LIMIT_RING) % FX_LIMIT_RING);
    if (d->slot[at] != cur) {
        d->slot[at] = cur;
        d->req[at] = d->tok[at] = 0;
    }
    d->req[at] += 1;
    d->tok[at] += cost;
    res->granted = 1;
    res->slot = cur;
}

char *
fx_limit_doc_to_json(const struct fx_limit_doc *d)
{
    fxu_buf b;
    fxu_buf_init(&b);
    fxu_buf_printf(&b, "{\"window\":%.17g,\"slots\":[", d->window);
    int first = 1;
    for (int i = 0; i < FX_LIMIT_RING; i++) {
        if (d->slot[i] < 0)
            continue;
        fxu_buf_printf(&b, "%s[%lld,%.17g,%.17g]", first ? "" : ",", d->slot[i],
                       d->req[i], d->tok[i]);
        first = 0;
    }
    fxu_buf_printf(&b, "],\"bucket\":[%.17g,%.17g]", d->level, d->at);
    fxu_buf_printf(&b, ",\"tbucket\":[%.17g,%.17g]}", d->tlevel, d->tat);
    return fxu_buf_steal(&b);
}

/* [level, at] as o's member name, if it is one */
static void
bucket_from_json(const cJSON *o, const char *name, double *level, double *at)
{
    const cJSON *bk = cJSON_GetObjectItemCaseSensitive(o, name);
    if (cJSON_GetArraySize(bk) == 2 &&
        cJSON_IsNumber(cJSON_GetArrayItem(bk, 0)) &&
        cJSON_IsNumber(cJSON_GetArrayItem(bk, 1))) {
        *level = cJSON_GetArrayItem(bk, 0)->valuedouble;
        *at = cJSON_GetArrayItem(bk, 1)->valuedouble;
    }
}

int
fx_limit_doc_from_json(const char *json, size_t len, struct fx_limit_doc *d)
{
    fx_limit_doc_init(d, 0);
    cJSON *o = cJSON_ParseWithLength(json, len);
    const cJSON *w = cJSON_GetObjectItemCaseSensitive(o, "window");
    const cJSON *slots = cJSON_GetObjectItemCaseSensitive(o, "slots");
    if (!cJSON_IsNumber(w) || !cJSON_IsArray(slots)) {
        cJSON_Delete(o);
        return -1;
    }
    d->window = w->valuedouble;
    bucket_from_json(o, "bucket", &d->level, &d->at);
    bucket_from_json(o, "tbucket", &d->tlevel, &d->tat);
    const cJSON *s;
    cJSON_ArrayForEach(s, slots)
    {
        if (cJSON_GetArraySize(s) != 3)
            continue;
        const cJSON *i = cJSON_GetArrayItem(s, 0);
        const cJSON *r = cJSON_GetArrayItem(s, 1);
        const cJSON *t = cJSON_GetArrayItem(s, 2);
        if (!cJSON_IsNumber(i) || !cJSON_IsNumber(r) || !cJSON_IsNumber(t) ||
            i->valuedouble < 0)
            continue;
        long long idx = (long long)i->valuedouble;
        int at = (int)(idx % FX_LIMIT_RING);
        d->slot[at] = idx;
        d->req[at] = r->valuedouble;
        d->tok[at] = t->valuedouble;
    }
    cJSON_Delete(o);
    return 0;
}
