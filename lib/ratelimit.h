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
struct fx_limit_doc {
    double window;
    long long slot[FX_LIMIT_RING]; /* -1: empty */
    double req[FX_LIMIT_RING], tok[FX_LIMIT_RING];
};
enum fx_limit_op_kind { FX_LIMIT_ACQUIRE = 1, FX_LIMIT_ADJUST };
struct fx_limit_op {
    int kind;
    double now;     /* epoch seconds */
    double window;  /* limit_window */
    long rpm, tpm;  /* 0: none */
    double cost;    /* ACQUIRE: estimated tokens */
    long long slot; /* ADJUST: the slot ACQUIRE charged */
    double delta;   /* ADJUST: reported - estimated tokens */
};
struct fx_limit_result {
    int granted;
    double wait;    /* not granted: seconds until it would be */
    long long slot; /* granted: where the request was counted */
};
void fx_limit_doc_init(struct fx_limit_doc *d, double window);
/* Apply op to d (slots that left the window are dropped first). */
void fx_limit_apply(struct fx_limit_doc *d, const struct fx_limit_op *op,
                    struct fx_limit_result *res);
char *fx_limit_doc_to_json(const struct fx_limit_doc *d);
/* 0, or -1 when malformed (d is then empty). */
int fx_limit_doc_from_json(const char *json, size_t len,
                           struct fx_limit_doc *d);

#endif
