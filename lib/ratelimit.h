/*
 * ratelimit.h - rpm and tpm as counted windows (ratelimit.c, no I/O), the
 * operation the stores apply under their lock (store-file.c) or in one
 * script (ratelimit.lua via ratelimit-redis.c), as engine-limits.c asks.
 */
#ifndef FX_RATELIMIT_H
#define FX_RATELIMIT_H

#include "fx.h"

/* ---- ratelimit.c: rpm and tpm windows (no I/O) ------------------------ */

/*
 * A provider's rate-limit document: requests and tokens granted per slot
 * of limit_window / FX_LIMIT_SLOTS seconds.  A request is granted when the
 * slots that overlap the last window, plus one more, hold fewer than rpm
 * requests and tpm tokens: so no window of limit_window seconds (even one
 * shifted by up to a slot, as arrivals are by the network) ever sees more.
 * Stored as {"window":60,"slots":[[slot,requests,tokens],...]}; the Redis
 * side (ratelimit.lua) is the same algorithm on the same document.
 */
#define FX_LIMIT_SLOTS 30
#define FX_LIMIT_RING (FX_LIMIT_SLOTS + 2)
struct fx_ldoc {
    double window;
    long long slot[FX_LIMIT_RING]; /* -1: empty */
    double req[FX_LIMIT_RING], tok[FX_LIMIT_RING];
};
enum fx_lop_kind { FX_LOP_ACQUIRE = 1, FX_LOP_ADJUST };
struct fx_lop {
    int kind;
    double now;     /* epoch seconds */
    double window;  /* limit_window */
    long rpm, tpm;  /* 0: none */
    double cost;    /* ACQUIRE: estimated tokens */
    long long slot; /* ADJUST: the slot ACQUIRE charged */
    double delta;   /* ADJUST: reported - estimated tokens */
};
struct fx_lres {
    int granted;
    double wait;    /* not granted: seconds until it would be */
    long long slot; /* granted: where the request was counted */
};
void fx_ldoc_init(struct fx_ldoc *d, double window);
/* Apply op to d (slots that left the window are dropped first). */
void fx_limit_apply(struct fx_ldoc *d, const struct fx_lop *op,
                    struct fx_lres *res);
char *fx_ldoc_to_json(const struct fx_ldoc *d);
/* 0, or -1 when malformed (d is then empty). */
int fx_ldoc_from_json(const char *json, size_t len, struct fx_ldoc *d);
/* ratelimit.lua as a C string (generated ratelimit-lua.c) */
extern const char fx_ratelimit_lua[];

#endif
