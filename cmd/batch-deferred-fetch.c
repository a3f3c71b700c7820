/*
 * batch-deferred-fetch.c - `flexiai batch fetch JOB`: the results of each
 * provider job that ended, downloaded beside the job file and appended to
 * the output in the live batch's line format (id, the fields of complete
 * --json, "deferred": true) under the output's lock, each id once: an id
 * with a successful line is never written again, and a failed item's
 * line is written by the first fetch of its part only.  Each written item
 * gets its ledger record, marked deferred.  The items the provider failed,
 * cancelled or let expire then run live (--live-rest: this process becomes
 * the live batch over them) or go to the next provider (--resubmit).
 */
#include "config.h"

#include "batch-deferred.h"
#include "flexiai-ledger.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fetch {
    flexiai_config *cfg;
    flexiai_client *client;
    const struct tool_args *a;
    struct djob *j;
    int fd;
    const char *output;
    struct batch_idset *done;
    flexiai_ledger_writer *ledger;
    unsigned char *failed; /* by index: 1 failed */
    unsigned char *seen;   /* by index: a result came */
    long answered, nfailed, skipped, written_failed;
    int worst;
    int ioerr, warned;
    int rerun; /* failed items run again: no line for them now */
    /* the job's items (JOB.items.jsonl) and where each line starts, for
     * the ledger records' messages; NULL when gone */
    FILE *items;
    long *offs;
};

/* Where each item's line starts in JOB.items.jsonl. */
static void
index_items(struct fetch *f)
{
    char *path = djob_side(f->j, ".items.jsonl");
    f->items = fopen(path, "r");
    free(path);
    if (f->items == NULL)
        return;
    f->offs = fxu_xcalloc(f->j->nids + 1, sizeof(*f->offs));
    char *line = NULL;
    size_t cap = 0, i = 0;
    long at = 0;
    ssize_t n;
    while (i < f->j->nids && (n = getline(&line, &cap, f->items)) > 0) {
        f->offs[i++] = at;
        at += (long)n;
    }
    free(line);
    if (i < f->j->nids) { /* not this job's items: records without them */
        fclose(f->items);
        f->items = NULL;
    }
}

/* Item idx as its ledger record's messages (live batch input). */
static int
item_at(struct fetch *f, long idx, struct batch_item *it)
{
    memset(it, 0, sizeof(*it));
    if (f->items == NULL || fseek(f->items, f->offs[idx], SEEK_SET) != 0)
        return -1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n = getline(&line, &cap, f->items);
    struct batch_parse bp = {0};
    if (n > 0)
        batch_item_parse(it, line, (size_t)n - (line[n - 1] == '\n'), &bp);
    free(line);
    if (n <= 0 || it->error) {
        batch_item_free(it);
        return -1;
    }
    return 0;
}

static void
put_line(struct fetch *f, long idx, const flexiai_result *res, int code)
{
    cJSON *o = tool_result_json(res, code, 0);
    cJSON_AddBoolToObject(o, "deferred", 1);
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    fxu_buf b;
    fxu_buf_init(&b);
    fxu_buf_printf(&b, "{\"id\":%s", f->j->ids[idx]);
    if (s[1] != '}')
        fxu_buf_putc(&b, ',');
    fxu_buf_puts(&b, s + 1);
    fxu_buf_putc(&b, '\n');
    free(s);
    /* one write per line: O_APPEND keeps lines whole */
    if (!f->ioerr && write(f->fd, b.data, b.len) != (ssize_t)b.len) {
        tool_err("%s: %s", f->output, strerror(errno));
        f->ioerr = 1;
    }
    fxu_buf_free(&b);
    struct batch_item it;
    int have = (f->ledger || code == FLEXIAI_OK) && item_at(f, idx, &it) == 0;
    if (have && code == FLEXIAI_OK && it.att.n == 0) {
        /* a live run of the same item later finds it in the cache (when
         * the cache is on: --cache, [cache] mode); not an item with files,
         * whose key holds their hashes as they were sent */
        flexiai_request req;
        deferred_item_request(&it, &req);
        flexiai_cache_keep(f->client, &req, res);
    }
    if (f->ledger) {
        char *cid = flexiai_ledger_new_cid();
        flexiai_ledger_entry e;
        flexiai_ledger_entry_init(&e);
        e.command = "batch";
        e.tag = have && it.tag ? it.tag : f->a->tag;
        e.conversation_id = cid;
        e.messages = have ? it.msgs.v : NULL;
        e.nmessages = have ? it.msgs.n : 0;
        e.result = res;
        e.exit_code = code;
        e.deferred = 1;
        if (flexiai_ledger_writer_add(f->ledger, &e) != FLEXIAI_OK &&
            !f->warned++)
            tool_warn("items not logged: %s",
                      flexiai_ledger_writer_error(f->ledger));
        free(cid);
    }
    if (have)
        batch_item_free(&it);
}

/* One results (or errors) file of part k. */
static void
take_file(struct fetch *f, const struct djob_part *p, int refetch,
          const char *path)
{
    FILE *fp = fopen(path, "r");
    if (fp == NULL)
        tool_die(FLEXIAI_EIO, "%s: %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, fp)) > 0) {
        if (batch_line_blank(line, (size_t)n) || (n == 1 && line[0] == '\n'))
            continue;
        char *cid = NULL;
        flexiai_result res;
        flexiai_code rc = flexiai_batchapi_result(f->client, p->provider, line,
                                                  (size_t)n, &cid, &res);
        long idx = djob_index(f->j, cid);
        if (idx < p->first || idx >= p->first + p->count) {
            if (!f->warned++)
                tool_warn("%s: a result for no item of this job (custom_id "
                          "%s): left out",
                          f->j->id, cid ? cid : "none");
        } else if (!f->seen[idx]) {
            f->seen[idx] = 1;
            if (batch_idset_has(f->done, f->j->ids[idx])) {
                f->skipped++;
            } else if (rc == FLEXIAI_OK) {
                put_line(f, idx, &res, rc);
                batch_idset_add(f->done, f->j->ids[idx], NULL);
                f->answered++;
            } else {
                f->failed[idx] = 1;
                f->nfailed++;
                if (f->worst == 0 || rc == FLEXIAI_ETEMPFAIL)
                    f->worst = rc == FLEXIAI_EPROTOCOL ? FLEXIAI_EUNAVAILABLE
                                                       : (int)rc;
                if (!refetch && !f->rerun) {
                    put_line(f, idx, &res, rc);
                    f->written_failed++;
                }
            }
        }
        free(cid);
        flexiai_result_free(&res);
    }
    free(line);
    fclose(fp);
}

/* Part k ended: its results into the output. */
static void
take_part(struct fetch *f, size_t k, const flexiai_batchapi_status *st)
{
    struct djob_part *p = &f->j->parts[k];
    int refetch = strcmp(p->state, "fetched") == 0;
    const char *what[2] = {st->results, st->errors};
    for (int w = 0; w < 2; w++) {
        if (what[w] == NULL)
            continue;
        char suffix[48];
        snprintf(suffix, sizeof(suffix), ".part%zu.%s", k,
                 w ? "errors" : "results");
        char *path = djob_side(f->j, suffix);
        char *err = NULL;
        flexiai_code rc = flexiai_batchapi_download(f->client, p->provider,
                                                    what[w], path, &err);
        if (rc != FLEXIAI_OK)
            tool_die(rc, "%s: %s", f->j->id, err ? err : "no results");
        take_file(f, p, refetch, path);
        unlink(path);
        free(path);
    }
    /* an item without a result (the job failed, was cancelled before it
     * started, expired without answers as Gemini's do) failed too: its
     * line says so, as a failed item's */
    for (long i = p->first; i < p->first + p->count; i++)
        if (!f->seen[i] && !batch_idset_has(f->done, f->j->ids[i])) {
            f->failed[i] = 1;
            f->nfailed++;
            if (f->worst == 0)
                f->worst = FLEXIAI_ETEMPFAIL;
            if (!refetch && !f->rerun) {
                flexiai_result res;
                flexiai_result_init(&res);
                res.error =
                    fxu_asprintf("%s: no answer (the job ended %s)",
                                 p->provider, st->status ? st->status : "");
                res.finish_reason = fxu_strdup("error");
                put_line(f, i, &res, FLEXIAI_ETEMPFAIL);
                f->written_failed++;
                flexiai_result_free(&res);
            }
        }
    free(p->state);
    p->state = fxu_strdup("fetched");
}

/* The failed items as live batch input, beside the job file. */
static char *
write_rest(struct fetch *f)
{
    char *items = djob_side(f->j, ".items.jsonl");
    char *rest = djob_side(f->j, ".rest.jsonl");
    FILE *in = fopen(items, "r");
    if (in == NULL)
        tool_die(FLEXIAI_ENOINPUT, "%s: %s (the items of the job are gone)",
                 items, strerror(errno));
    FILE *out = fopen(rest, "w");
    if (out == NULL)
        tool_die(FLEXIAI_ECANTCREAT, "%s: %s", rest, strerror(errno));
    char *line = NULL;
    size_t cap = 0, idx = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, in)) > 0 && idx < f->j->nids) {
        if (f->failed[idx])
            fwrite(line, 1, (size_t)n, out);
        idx++;
    }
    free(line);
    fclose(in);
    if (fclose(out) != 0)
        tool_die(FLEXIAI_EIO, "%s: %s", rest, strerror(errno));
    free(items);
    return rest;
}

/* This process becomes the live batch over the failed items. */
static int
run_live(struct fetch *f, const char *rest)
{
    char *prog = tool_sibling("flexiai-batch");
    char *argv[16];
    int n = 0;
    argv[n++] = "flexiai-batch";
    if (f->a->config) {
        argv[n++] = "-c";
        argv[n++] = (char *)f->a->config;
    }
    if (tool_quiet)
        argv[n++] = "-q";
    argv[n++] = "-i";
    argv[n++] = (char *)rest;
    argv[n++] = "-o";
    argv[n++] = (char *)f->output;
    argv[n] = NULL;
    fflush(NULL);
    execv(prog ? prog : "flexiai-batch", argv);
    execvp("flexiai-batch", argv);
    tool_die(FLEXIAI_ESOFTWARE, "cannot run flexiai-batch: %s",
             strerror(errno));
}

int
deferred_fetch(flexiai_config *cfg, flexiai_client *client,
               const struct tool_args *a, struct deferred_opts *d,
               const char *id)
{
    struct djob j;
    djob_load(cfg, id, &j);
    struct fetch f = {.cfg = cfg, .client = client, .a = a, .j = &j};
    f.output = d->output ? d->output : j.output;
    if (f.output == NULL || strcmp(f.output, "-") == 0)
        tool_usage_error("fetch needs -o FILE (the job was submitted "
                         "without one)");
    f.rerun = d->live_rest || d->resubmit;
    f.failed = fxu_xcalloc(j.nids + 1, 1);
    f.seen = fxu_xcalloc(j.nids + 1, 1);

    /* which parts ended, before the output is locked */
    flexiai_batchapi_status *st = fxu_xcalloc(j.nparts, sizeof(*st));
    size_t ended = 0, running = 0;
    for (size_t k = 0; k < j.nparts; k++) {
        if (j.parts[k].batch == NULL)
            continue;
        char *err = NULL;
        flexiai_code rc = flexiai_batchapi_status_get(
            client, j.parts[k].provider, j.parts[k].batch, &st[k], &err);
        if (rc != FLEXIAI_OK)
            tool_die(rc, "%s: %s", j.id, err ? err : "no status");
        if (st[k].ended)
            ended++;
        else
            running++;
    }
    if (ended == 0) {
        tool_err("%s: not ended yet (%s); 'flexiai batch wait %s' first", j.id,
                 j.nparts && st[0].status ? st[0].status : j.parts[0].state,
                 j.id);
        for (size_t k = 0; k < j.nparts; k++)
            flexiai_batchapi_status_free(&st[k]);
        free(st);
        djob_free(&j);
        free(f.failed);
        free(f.seen);
        return FLEXIAI_ETEMPFAIL;
    }
    f.done = batch_idset_new();
    f.fd = batch_open_output(f.output, f.done);
    f.ledger = a->no_log || !flexiai_ledger_enabled(cfg)
                   ? NULL
                   : flexiai_ledger_writer_new(cfg);
    if (f.ledger)
        index_items(&f);
    for (size_t k = 0; k < j.nparts; k++)
        if (j.parts[k].batch && st[k].ended)
            take_part(&f, k, &st[k]);
    djob_save(&j);
    if (f.ledger) {
        if (flexiai_ledger_writer_flush(f.ledger) != FLEXIAI_OK && !f.warned)
            tool_warn("items not logged: %s",
                      flexiai_ledger_writer_error(f.ledger));
        flexiai_ledger_writer_free(f.ledger);
        tool_ledger_import_if_due(cfg, a);
    }
    if (close(f.fd) != 0 && !f.ioerr) {
        tool_err("%s: %s", f.output, strerror(errno));
        f.ioerr = 1;
    }
    if (!tool_quiet)
        tool_err("%s: %ld answered, %ld failed, %ld skipped as answered%s",
                 j.id, f.answered, f.nfailed, f.skipped,
                 running ? " (some of the job still runs: fetch again later)"
                         : "");
    int rc = f.ioerr     ? FLEXIAI_EIO
             : f.nfailed ? f.worst
             : running   ? FLEXIAI_ETEMPFAIL
                         : FLEXIAI_OK;
    if (!f.ioerr && f.nfailed && (d->live_rest || d->resubmit)) {
        char *rest = write_rest(&f);
        if (d->live_rest)
            run_live(&f, rest); /* does not return */
        const char *inputs[1] = {rest};
        struct batch_parse bp = {0};
        struct deferred_in in = {.inputs = inputs,
                                 .ninputs = 1,
                                 .output = f.output,
                                 .parse = &bp,
                                 .exclude = j.parts[0].provider};
        struct tool_args a2 = *a;
        a2.provider = NULL;
        rc = deferred_submit(cfg, client, &a2, &in, NULL);
        free(rest);
    }
    for (size_t k = 0; k < j.nparts; k++)
        flexiai_batchapi_status_free(&st[k]);
    free(st);
    batch_idset_free(f.done);
    if (f.items)
        fclose(f.items);
    free(f.offs);
    free(f.failed);
    free(f.seen);
    djob_free(&j);
    return rc;
}
