/*
 * batch-deferred-cmds.c - the deferred jobs' subcommands of `flexiai
 * batch`: status (every job, or one), wait (poll with backoff until the
 * provider says the job ended; --timeout then 75), fetch (the results
 * appended to -o FILE in the live batch's line format, under its lock and
 * its resume rule, with "deferred": true; failed items run live with
 * --live-rest or go to the next provider with --resubmit), cancel and
 * resubmit.
 */
#include "config.h"

#include "batch-deferred.h"
#include "flexiai-ledger.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

enum {
    OPT_D_JSON = DEFERRED_OPT_BASE,
    OPT_D_TIMEOUT,
    OPT_D_LIVE_REST,
    OPT_D_RESUBMIT,
    OPT_D_OUTPUT,
};

static const struct tool_option status_opts[] = {
    {OPT_D_JSON, 0, "json", NULL, "one JSON object per job, in an array", 0, 0,
     NULL, NULL, NULL},
    {TOOL_OPT_END, 0, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL},
};
static const struct tool_option wait_opts[] = {
    {OPT_D_TIMEOUT, 0, "timeout", "DURATION",
     "give up after DURATION (90, 30s, 10m, 2h): exit 75", 0, 0, NULL, NULL,
     NULL},
    {TOOL_OPT_END, 0, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL},
};
static const struct tool_option fetch_opts[] = {
    {OPT_D_OUTPUT, 'o', "output", "FILE",
     "append to FILE (default: the -o FILE of the submission)", TOOL_COMP_FILE,
     0, NULL, NULL, NULL},
    {OPT_D_LIVE_REST, 0, "live-rest", NULL,
     "run the items the provider failed or expired live", 0, 0, NULL, NULL,
     NULL},
    {OPT_D_RESUBMIT, 0, "resubmit", NULL,
     "send them to the next provider with a batch API", 0, 0, NULL, NULL, NULL},
    {TOOL_OPT_END, 0, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL},
};
static const struct tool_option resubmit_opts[] = {
    {OPT_D_OUTPUT, 'o', "output", "FILE",
     "the new job's output (default: the job's)", TOOL_COMP_FILE, 0, NULL, NULL,
     NULL},
    {TOOL_OPT_END, 0, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL},
};

static int cmd_status(void *ctx, struct tool_args *a, int argc, char **argv);
static int cmd_wait(void *ctx, struct tool_args *a, int argc, char **argv);
static int cmd_fetch(void *ctx, struct tool_args *a, int argc, char **argv);
static int cmd_cancel(void *ctx, struct tool_args *a, int argc, char **argv);
static int cmd_resubmit(void *ctx, struct tool_args *a, int argc, char **argv);

const struct tool_subcommand deferred_subs[] = {
    {"status", "[--json] [JOB]",
     "deferred jobs: counts, age, the provider's status", status_opts,
     cmd_status, TOOL_COMP_NONE},
    {"wait", "[--timeout DURATION] JOB",
     "poll until the provider says the job ended", wait_opts, cmd_wait,
     TOOL_COMP_NONE},
    {"fetch", "[-o FILE] [--live-rest | --resubmit] JOB",
     "append the job's answers to FILE (the -o of the\nsubmission by "
     "default), each id once",
     fetch_opts, cmd_fetch, TOOL_COMP_NONE},
    {"cancel", "JOB", "ask the provider to stop the job", NULL, cmd_cancel,
     TOOL_COMP_NONE},
    {"resubmit", "[-o FILE] JOB",
     "the failed and expired items of an ended job as a\nnew job at the next "
     "provider with a batch API",
     resubmit_opts, cmd_resubmit, TOOL_COMP_NONE},
    {NULL, NULL, NULL, NULL, NULL, 0},
};

void
deferred_option(struct deferred_opts *d, int id, const char *arg)
{
    switch (id) {
    case OPT_D_JSON:
        d->json = 1;
        break;
    case OPT_D_TIMEOUT:
        d->timeout = tool_parse_cli_duration(arg);
        if (d->timeout <= 0)
            tool_usage_error("--timeout must be a duration such as 90, 30s, "
                             "10m or 2h");
        break;
    case OPT_D_LIVE_REST:
        d->live_rest = 1;
        break;
    case OPT_D_RESUBMIT:
        d->resubmit = 1;
        break;
    case OPT_D_OUTPUT:
        d->output = arg;
        break;
    }
}

struct dctx {
    struct deferred_opts *d;
    flexiai_config *cfg;
    flexiai_client *client;
};

static const char *
one_job(int argc, char **argv)
{
    if (argc != 2)
        tool_usage_error(argc < 2 ? "missing JOB (see 'flexiai batch status')"
                                  : "one JOB at a time");
    return argv[1];
}

/* ---- status --------------------------------------------------------------
 */

struct jstat {
    long total, succeeded, failed, processing;
    int ended;     /* every part ended */
    int unknown;   /* a part could not be asked */
    char word[64]; /* the provider's status, "mixed" */
    int code;      /* of the last failure to ask */
};

static void
job_stat(struct dctx *x, const struct djob *j, struct jstat *s, int quiet)
{
    memset(s, 0, sizeof(*s));
    s->ended = 1;
    for (size_t k = 0; k < j->nparts; k++) {
        const struct djob_part *p = &j->parts[k];
        const char *word = p->state;
        flexiai_batchapi_status st;
        memset(&st, 0, sizeof(st));
        if (p->batch) {
            char *err = NULL;
            flexiai_code rc = flexiai_batchapi_status_get(
                x->client, p->provider, p->batch, &st, &err);
            if (rc != FLEXIAI_OK) {
                if (!quiet)
                    tool_err("%s: %s", j->id, err ? err : "no status");
                s->unknown = 1;
                s->code = rc;
                s->ended = 0;
                word = "unknown";
            } else {
                word = st.status;
                s->total += st.total;
                s->succeeded += st.succeeded;
                s->failed += st.failed;
                s->processing += st.processing;
                if (!st.ended)
                    s->ended = 0;
            }
            free(err);
        } else {
            /* never reached a provider (submitting: it may have) */
            s->total += p->count;
            s->failed += strcmp(p->state, "failed") == 0 ? p->count : 0;
        }
        if (k == 0)
            snprintf(s->word, sizeof(s->word), "%s", word);
        else if (strcmp(s->word, word) != 0)
            snprintf(s->word, sizeof(s->word), "mixed");
        flexiai_batchapi_status_free(&st);
    }
}

static void
age(double created, char *buf, size_t n)
{
    double s = fxu_wallclock() - created;
    if (s < 0)
        s = 0;
    if (s < 120)
        snprintf(buf, n, "%.0fs", s);
    else if (s < 7200)
        snprintf(buf, n, "%.0fm", s / 60);
    else
        snprintf(buf, n, "%.1fh", s / 3600);
}

static int
cmd_status(void *ctx, struct tool_args *a, int argc, char **argv)
{
    struct dctx *x = ctx;
    (void)a;
    size_t n = 0;
    char **ids;
    if (argc > 2)
        tool_usage_error("one JOB at a time");
    if (argc == 2) {
        ids = fxu_xcalloc(1, sizeof(*ids));
        ids[n++] = fxu_strdup(argv[1]);
    } else {
        ids = djob_list(x->cfg, &n);
    }
    cJSON *arr = x->d->json ? cJSON_CreateArray() : NULL;
    int rc = FLEXIAI_OK;
    if (!x->d->json && n)
        tool_outs("JOB                             PROVIDER    STATUS       "
                  "ANSWERED  FAILED  TOTAL  AGE\n");
    for (size_t i = 0; i < n; i++) {
        struct djob j;
        djob_load(x->cfg, ids[i], &j);
        struct jstat s;
        job_stat(x, &j, &s, 0);
        if (s.unknown)
            rc = s.code;
        char ag[32];
        age(j.created, ag, sizeof(ag));
        if (arr) {
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "job", j.id);
            cJSON_AddStringToObject(o, "provider", j.parts[0].provider);
            cJSON_AddStringToObject(o, "status", s.word);
            cJSON_AddBoolToObject(o, "ended", s.ended && !s.unknown);
            cJSON_AddNumberToObject(o, "total", (double)j.nids);
            cJSON_AddNumberToObject(o, "answered", (double)s.succeeded);
            cJSON_AddNumberToObject(o, "failed", (double)s.failed);
            cJSON_AddNumberToObject(o, "processing", (double)s.processing);
            cJSON_AddNumberToObject(o, "created", j.created);
            if (j.output)
                cJSON_AddStringToObject(o, "output", j.output);
            cJSON *parts = cJSON_AddArrayToObject(o, "parts");
            for (size_t k = 0; k < j.nparts; k++) {
                cJSON *p = cJSON_CreateObject();
                cJSON_AddStringToObject(p, "provider", j.parts[k].provider);
                if (j.parts[k].batch)
                    cJSON_AddStringToObject(p, "batch", j.parts[k].batch);
                else
                    cJSON_AddNullToObject(p, "batch");
                cJSON_AddStringToObject(p, "state", j.parts[k].state);
                cJSON_AddNumberToObject(p, "items", (double)j.parts[k].count);
                cJSON_AddItemToArray(parts, p);
            }
            cJSON_AddItemToArray(arr, o);
        } else {
            char line[512];
            snprintf(line, sizeof(line),
                     "%-31s %-11s %-12s %8ld  %6ld  %5zu  %s\n", j.id,
                     j.parts[0].provider, s.word, s.succeeded, s.failed, j.nids,
                     ag);
            tool_outs(line);
        }
        djob_free(&j);
        free(ids[i]);
    }
    free(ids);
    if (arr) {
        char *t = cJSON_Print(arr);
        tool_outs(t);
        tool_outs("\n");
        free(t);
        cJSON_Delete(arr);
    } else if (n == 0 && !tool_quiet) {
        tool_err("no deferred jobs");
    }
    tool_out_flush();
    return rc;
}

/* ---- wait ----------------------------------------------------------------
 */

static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
    (void)sig;
    stop = 1;
}

static int
cmd_wait(void *ctx, struct tool_args *a, int argc, char **argv)
{
    struct dctx *x = ctx;
    (void)a;
    struct djob j;
    djob_load(x->cfg, one_job(argc, argv), &j);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    int tty = isatty(STDERR_FILENO) && !tool_quiet;
    double start = fxu_monotonic(), delay = 0.5;
    int rc = FLEXIAI_OK;
    for (;;) {
        struct jstat s;
        job_stat(x, &j, &s, 1);
        if (tty)
            fprintf(stderr, "\rflexiai: %s: %ld/%zu answered, %ld failed, %s  ",
                    j.id, s.succeeded, j.nids, s.failed, s.word);
        if (s.ended && !s.unknown)
            break;
        double left = x->d->timeout > 0
                          ? x->d->timeout - (fxu_monotonic() - start)
                          : delay;
        if (left <= 0) {
            if (tty)
                fputs("\r\033[K", stderr);
            tool_err("%s: not ended after %g s (%s, %ld/%zu answered); wait "
                     "again later",
                     j.id, x->d->timeout, s.word, s.succeeded, j.nids);
            rc = FLEXIAI_ETEMPFAIL;
            break;
        }
        double d = delay < left ? delay : left;
        struct timespec ts = {(time_t)d, (long)((d - (long)d) * 1e9)};
        nanosleep(&ts, NULL);
        if (stop) {
            rc = FLEXIAI_EINTR;
            break;
        }
        delay = delay * 1.5 > 60 ? 60 : delay * 1.5;
    }
    if (tty && rc == FLEXIAI_OK)
        fputs("\r\033[K", stderr);
    djob_free(&j);
    return rc;
}

/* ---- cancel --------------------------------------------------------------
 */

static int
cmd_cancel(void *ctx, struct tool_args *a, int argc, char **argv)
{
    struct dctx *x = ctx;
    (void)a;
    struct djob j;
    djob_load(x->cfg, one_job(argc, argv), &j);
    int rc = FLEXIAI_OK;
    for (size_t k = 0; k < j.nparts; k++) {
        if (j.parts[k].batch == NULL)
            continue;
        char *err = NULL;
        flexiai_code c = flexiai_batchapi_cancel(x->client, j.parts[k].provider,
                                                 j.parts[k].batch, &err);
        if (c != FLEXIAI_OK) {
            tool_err("%s: %s", j.id, err ? err : "not cancelled");
            rc = c;
        }
        free(err);
    }
    if (rc == FLEXIAI_OK && !tool_quiet)
        tool_err("%s: cancel asked; 'flexiai batch fetch %s' takes what was "
                 "answered once it ended",
                 j.id, j.id);
    djob_free(&j);
    return rc;
}

/* ---- fetch ---------------------------------------------------------------
 */

static int
cmd_fetch(void *ctx, struct tool_args *a, int argc, char **argv)
{
    struct dctx *x = ctx;
    if (x->d->live_rest && x->d->resubmit)
        tool_usage_error("--live-rest and --resubmit: one or the other");
    return deferred_fetch(x->cfg, x->client, a, x->d, one_job(argc, argv));
}

static int
cmd_resubmit(void *ctx, struct tool_args *a, int argc, char **argv)
{
    struct dctx *x = ctx;
    x->d->resubmit = 1;
    return deferred_fetch(x->cfg, x->client, a, x->d, one_job(argc, argv));
}

int
deferred_run(const struct tool_subcommand *sub, struct deferred_opts *d,
             struct tool_args *a, int argc, char **argv)
{
    struct dctx x = {.d = d};
    x.cfg = tool_setup_config(a, 0, NULL);
    x.client = tool_setup_client(x.cfg, NULL, NULL, 0);
    int rc = sub->run(&x, a, argc, argv);
    flexiai_client_free(x.client);
    flexiai_config_free(x.cfg);
    return rc;
}
