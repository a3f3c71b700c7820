/*
 * batch-jobs.c - how many requests a batch may keep in flight on this
 * host: each holds a socket, so -j is capped by the open-file limit
 * (RLIMIT_NOFILE), whose soft value is first raised to the hard one where
 * that is allowed.  Running out of descriptors would otherwise look like
 * a provider that refuses connections.
 */
#include "config.h"

#include "batch.h"
#include "tool.h"

#include <sys/resource.h>

/* Descriptors kept for everything but the transfers: standard streams,
 * input and output files, the ledger and its spool, lock files, Redis,
 * curl's own. */
#define RESERVED_FDS 32

long
batch_cap_jobs(long jobs)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return jobs;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < rl.rlim_max) {
        struct rlimit up = rl;
        up.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &up) == 0)
            rl = up;
    }
    if (rl.rlim_cur == RLIM_INFINITY ||
        rl.rlim_cur >= (rlim_t)(jobs + RESERVED_FDS))
        return jobs;
    long cap = (long)rl.rlim_cur - RESERVED_FDS;
    if (cap < 1)
        cap = 1;
    tool_warn("-j %ld is more than the open-file limit allows (ulimit -n "
              "%ld): using -j %ld",
              jobs, (long)rl.rlim_cur, cap);
    return cap;
}
