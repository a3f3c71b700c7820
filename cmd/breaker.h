/*
 * breaker.h - what breaker-probe.c (probe and sync) offers flexiai-breaker.c
 * (the command, its table and status, reset, open, check, watch); what
 * both use is in the tool layer (tool-breaker.c).
 */
#ifndef BREAKER_H
#define BREAKER_H

#include "tool.h"

#include <signal.h>

/* What the subcommands' options set. */
struct breaker_ctx {
    flexiai_config *cfg;
    flexiai_client *client;
    int json, prometheus, all, force;
    int record, probe;  /* probe --record, check --probe */
    double seconds;     /* open --for */
    const char *reason; /* open --reason */
};

/* ---- breaker-probe.c ---- */

struct probe_tally {
    size_t n, ok;
    fxu_buf detail; /* "a ok 12ms, b failed (HTTP 401)" */
};
/* Probe each name (every provider when n is 0); print a line each unless
 * quiet.  0 all answered, 1 some, 2 none, 3 nothing to probe.  Free
 * t->detail. */
int run_probes(struct breaker_ctx *x, const char *const *names, size_t n,
               int quiet, struct probe_tally *t);
int cmd_probe(void *ctx, struct tool_args *a, int argc, char **argv);
int cmd_sync(void *ctx, struct tool_args *a, int argc, char **argv);

#endif
