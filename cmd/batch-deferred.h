/*
 * batch-deferred.h - `flexiai batch --deferred` and its jobs: the items
 * submitted to a provider's own batch API (batch-deferred.c), the job
 * file that remembers them (batch-deferred-job.c), and the subcommands
 * status, wait, fetch, cancel and resubmit (batch-deferred-cmds.c).
 */
#ifndef FX_BATCH_DEFERRED_H
#define FX_BATCH_DEFERRED_H

#include "batch.h"
#include "flexiai-batchapi.h"

/* ---- the job file (batch-deferred-job.c) --------------------------------
 *
 * ${state_dir}/jobs/JOB.json, replaced whole (tmp + rename) at each
 * change: {"version":1,"job","created","output","inputs":[...],
 * "input_digest","parts":[{"provider","batch","first","count","state"}],
 * "ids":[the item ids as JSON text, by index]}.  An item's custom_id is
 * "i" and its index; JOB.items.jsonl keeps each item as a live batch
 * input line (for --live-rest and resubmit).
 */
struct djob_part {
    char *provider;
    char *batch; /* the provider's job id; NULL while submitting */
    long first, count;
    char *state; /* submitting | submitted | failed | fetched */
};

struct djob {
    char *id;
    char *path; /* of the job file */
    double created;
    char *output; /* -o FILE, absolute; may be NULL */
    char *digest;
    char **inputs;
    size_t ninputs;
    struct djob_part *parts;
    size_t nparts;
    char **ids; /* JSON text */
    size_t nids, capids;
};

/* The jobs directory (created 0700 when `create`); caller frees.  Exits
 * 78 when there is no state directory. */
char *djob_dir(const flexiai_config *cfg, int create);
/* A new job's id: "fx" + UTC time + pid. */
char *djob_new_id(void);
/* Write the job file (tmp + rename + fsync); exits 73/74 on failure. */
void djob_save(const struct djob *j);
/* Read a job by id (or path): 0, or exits with one line: 66 no such
 * job, 65 a malformed file, 74 unreadable. */
void djob_load(const flexiai_config *cfg, const char *id, struct djob *j);
void djob_free(struct djob *j);
void djob_add_id(struct djob *j, const char *id);
/* The part a custom_id belongs to and its index; -1 when none. */
long djob_index(const struct djob *j, const char *custom_id);
/* The job ids in the jobs directory, oldest first; caller frees each and
 * the array. */
char **djob_list(const flexiai_config *cfg, size_t *n);
/* "JOB.items.jsonl" etc. beside the job file; caller frees. */
char *djob_side(const struct djob *j, const char *suffix);

/* ---- submit (batch-deferred.c) ------------------------------------------ */

struct deferred_in {
    const char *const *inputs;
    size_t ninputs;
    const char *output;
    const struct batch_parse *parse;
    const char *exclude; /* a provider not to use (resubmit) */
    int quiet_id;        /* do not print the job id */
    int attach_files;    /* --attach-files: items may name local files */
};
/* Submit every item of the input as one job; prints its id.  Returns the
 * exit code. */
int deferred_submit(flexiai_config *cfg, flexiai_client *client,
                    const struct tool_args *a, const struct deferred_in *in,
                    char **job_id);

/* ---- subcommands (batch-deferred-cmds.c) -------------------------------- */

struct deferred_opts {
    int json;
    double timeout; /* wait --timeout; <= 0: none */
    int live_rest, resubmit;
    const char *output;
};
extern const struct tool_subcommand deferred_subs[];
/* Option ids of the subcommands (above the batch command's own). */
enum { DEFERRED_OPT_BASE = TOOL_OPT_CMD + 64 };
void deferred_option(struct deferred_opts *d, int id, const char *arg);
/* The request an item is sent as in a provider job (and kept in the
 * response cache under, when its answer is fetched). */
void deferred_item_request(struct batch_item *it, flexiai_request *req);
/* fetch (batch-deferred-fetch.c): the ended parts' answers into the
 * output; failed items run live (d->live_rest: the process becomes the
 * live batch) or as a new job (d->resubmit).  Returns the exit code. */
int deferred_fetch(flexiai_config *cfg, flexiai_client *client,
                   const struct tool_args *a, struct deferred_opts *d,
                   const char *id);
/* Run subcommand `sub` (argv[0] its name) with what was parsed. */
int deferred_run(const struct tool_subcommand *sub, struct deferred_opts *d,
                 struct tool_args *a, int argc, char **argv);

#endif
