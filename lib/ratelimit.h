/*
 * ratelimit.h - rpm and tpm as a paced bucket and counted windows
 * (ratelimit.c, no I/O), the operation the stores apply under their lock
 * (store-file.c) or in one script (ratelimit.lua via ratelimit-redis.c), as
 * engine-limits.c asks.
 */
#ifndef FX_RATELIMIT_H
#define FX_RATELIMIT_H

#include "fx.h"

/* ---- ratelimit.c: rpm and tpm (no I/O) --------------------------------- */

/*
 * A provider's rate-limit document, two rules that must both agree:
 *
 * - pacing (rpm and tpm): two token buckets refilled continuously at rpm
 *   requests and tpm tokens per limit_window, each holding at most a
 *   small burst (FX_LIMIT_BURST: a thirtieth of the limit, at least 1),
 *   so a batch leaves at an even pace instead of in one burst a provider
 *   would refuse.  A request takes one from the rpm bucket and its token
 *   estimate from the tpm bucket; it goes when the tpm bucket holds its
 *   cost or the burst, whichever is less, and may leave it in debt (paid
 *   back by the refill before the next one goes), so an estimate larger
 *   than the burst still passes at the rate tpm allows.  ADJUST puts the
 *   difference between the estimate and the reported usage back;
 * - a hard cap (rpm and tpm): requests and tokens granted per slot of
 *   limit_window / FX_LIMIT_SLOTS seconds.  A request is granted when the
 *   last FX_LIMIT_RING slots (the window plus three to four slots, as
 *   arrivals are shifted by the network and the scheduler) hold fewer
 *   than rpm requests and tpm tokens: so no window of limit_window seconds
 *   ever sees more, even after a quiet one (which a bucket alone allows).
 *
 * Times only move forward: a slot or a bucket time later than the
 * caller's clock (a process that read the clock before waiting for the
 * store's lock, another host's clock) counts as now.  Stored as
 * {"window":60,"slots":[[slot,requests,tokens],...],"bucket":[level,at],
 * "tbucket":[level,at]} ("bucket" for rpm, "tbucket" for tpm; a document
 * without one starts it full); the Redis side (ratelimit.lua) is the same
 * algorithm on the same document.
 */
#define FX_LIMIT_SLOTS 30
#define FX_LIMIT_RING (FX_LIMIT_SLOTS + 4)
#define FX_LIMIT_BURST(rpm) (((rpm) + FX_LIMIT_SLOTS - 1) / FX_LIMIT_SLOTS)
struct fx_limit_doc {
    double window;
    long long slot[FX_LIMIT_RING]; /* -1: empty */
    double req[FX_LIMIT_RING], tok[FX_LIMIT_RING];
    double level, at;   /* the rpm bucket: tokens at time at (0: full) */
    double tlevel, tat; /* the tpm bucket, the same way */
};
enum fx_limit_op_kind { FX_LIMIT_ACQUIRE = 1, FX_LIMIT_ADJUST };
/* Which limit a request waits for. */
enum fx_limit_which { FX_LIMIT_NONE = 0, FX_LIMIT_RPM, FX_LIMIT_TPM };
struct fx_limit_op {
    int kind;
    double now;     /* epoch seconds */
    double window;  /* limit_window */
    long rpm, tpm;  /* 0: none */
    double cost;    /* ACQUIRE: estimated tokens (at most tpm) */
    long long slot; /* ADJUST: the slot ACQUIRE charged */
    double delta;   /* ADJUST: reported - estimated tokens */
};
struct fx_limit_result {
    int granted;
    double wait;    /* not granted: seconds until it would be */
    long long slot; /* granted: where the request was counted */
    int which;      /* not granted: enum fx_limit_which */
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
