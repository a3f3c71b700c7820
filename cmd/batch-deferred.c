/*
 * batch-deferred.c - `flexiai batch --deferred`: every item of the input
 * made into its request as the live batch makes it, written as the
 * provider's batch input (one file per provider job: OpenAI takes 50 000
 * requests a job, Anthropic 100 000, Gemini 10 000 of one model), recorded in
 * the job file before anything is sent and again as soon as each provider job
 * has its id, then the job's id on stdout.  Nothing of the input is held in
 * memory but the item ids.
 */
#include "config.h"

#include "batch-deferred.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The first provider in failover order with a batch API whose breaker
 * is not open (or the one -p names). */
static const char *
pick_provider(flexiai_config *cfg, flexiai_client *client,
              const struct tool_args *a, const char *exclude)
{
    if (a->provider) {
        if (!flexiai_config_has_provider(cfg, a->provider))
            tool_die(FLEXIAI_EUSAGE, "%s", tool_no_provider(cfg, a->provider));
        if (!flexiai_batchapi_supported(client, a->provider, NULL))
            tool_die(FLEXIAI_EUSAGE,
                     "%s has no batch API flexiai speaks (openai, "
                     "anthropic and gemini types have)",
                     a->provider);
        return a->provider;
    }
    const char *const *names;
    size_t n = flexiai_config_providers(cfg, &names);
    int any = 0;
    for (size_t i = 0; i < n; i++) {
        if (exclude && strcmp(names[i], exclude) == 0)
            continue;
        if (!flexiai_batchapi_supported(client, names[i], NULL))
            continue;
        any = 1;
        flexiai_breaker_info *info = NULL;
        size_t ni = 0;
        const char *one[1] = {names[i]};
        int open = 0;
        if (flexiai_breaker_status(client, one, 1, &info, &ni) == FLEXIAI_OK &&
            ni == 1 && info[0].state && strcmp(info[0].state, "open") == 0)
            open = 1;
        flexiai_breaker_info_free(info, ni);
        if (!open)
            return names[i];
    }
    if (!any)
        tool_die(FLEXIAI_ECONFIG,
                 "no provider%s has a batch API flexiai speaks (openai, "
                 "anthropic and gemini types have)",
                 exclude ? " but the job's" : "");
    tool_die(FLEXIAI_ETEMPFAIL, "every provider with a batch API has its "
                                "breaker open; nothing was sent");
}

/* An item as a live batch input line (--live-rest, resubmit). */
static void
put_item_line(FILE *fp, const struct batch_item *it)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *msgs = cJSON_AddArrayToObject(o, "messages");
    for (size_t i = 0; i < it->msgs.n; i++) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "role", it->msgs.v[i].role);
        cJSON_AddStringToObject(m, "content", it->msgs.v[i].content);
        cJSON_AddItemToArray(msgs, m);
    }
    if (it->system)
        cJSON_AddStringToObject(o, "system", it->system);
    if (it->model)
        cJSON_AddStringToObject(o, "model", it->model);
    if (it->tag)
        cJSON_AddStringToObject(o, "tag", it->tag);
    if (it->has_temperature)
        cJSON_AddNumberToObject(o, "temperature", it->temperature);
    if (it->max_tokens > 0)
        cJSON_AddNumberToObject(o, "max_tokens", (double)it->max_tokens);
    if (it->att.n) {
        /* its files and URLs (its template's too), as sent */
        cJSON *att = cJSON_AddArrayToObject(o, "attachments");
        for (size_t i = 0; i < it->att.n; i++) {
            const flexiai_attachment *a = &it->att.v[i];
            if (a->path || a->url)
                cJSON_AddItemToArray(
                    att, cJSON_CreateString(a->path ? a->path : a->url));
        }
    }
    char *t = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    /* the id's own text first, as the live batch writes it */
    fprintf(fp, "{\"id\":%s,%s\n", it->id, t + 1);
    free(t);
}

struct sub {
    flexiai_client *client;
    struct djob *j;
    const char *provider;
    flexiai_batchapi_limits lim;
    flexiai_batchapi_writer *w;
    FILE *fp;
    char *path;
};

static char *
part_path(const struct djob *j, size_t k)
{
    char suffix[32];
    snprintf(suffix, sizeof(suffix), ".part%zu.input", k);
    return djob_side(j, suffix);
}

static void
part_open(struct sub *s)
{
    struct djob *j = s->j;
    j->parts = fxu_xrealloc(j->parts, (j->nparts + 1) * sizeof(*j->parts));
    struct djob_part *p = &j->parts[j->nparts];
    memset(p, 0, sizeof(*p));
    p->provider = fxu_strdup(s->provider);
    p->first = (long)j->nids;
    p->state = fxu_strdup("submitting");
    s->path = part_path(j, j->nparts);
    j->nparts++;
    s->fp = fopen(s->path, "w");
    if (s->fp == NULL)
        tool_die(FLEXIAI_ECANTCREAT, "%s: %s", s->path, strerror(errno));
    char *err = NULL;
    s->w = flexiai_batchapi_writer_new(s->client, s->provider, s->fp, &err);
    if (s->w == NULL)
        tool_die(FLEXIAI_ECONFIG, "%s", err ? err : "no batch API");
}

static void
part_close(struct sub *s)
{
    if (s->w == NULL)
        return;
    if (flexiai_batchapi_finish(s->w) != FLEXIAI_OK || fclose(s->fp) != 0)
        tool_die(FLEXIAI_EIO, "%s: %s", s->path, strerror(errno));
    flexiai_batchapi_writer_free(s->w);
    s->w = NULL;
    s->fp = NULL;
    free(s->path);
    s->path = NULL;
}

/* FNV-1a, 64 bits, over the input as read: enough to tell two inputs
 * apart, not a security boundary. */
static void
digest_add(unsigned long long *h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        *h ^= (unsigned char)s[i];
        *h *= 1099511628211ULL;
    }
    *h ^= '\n';
    *h *= 1099511628211ULL;
}

static char *
absolute(const char *path)
{
    if (path == NULL || path[0] == '/' || strcmp(path, "-") == 0)
        return path ? fxu_strdup(path) : NULL;
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof(cwd)) == NULL)
        return fxu_strdup(path);
    return fxu_asprintf("%s/%s", cwd, path);
}

void
deferred_item_request(struct batch_item *it, flexiai_request *req)
{
    flexiai_request_init(req);
    req->messages = it->msgs.v;
    req->nmessages = it->msgs.n;
    req->model = it->model;
    req->system = it->system;
    req->has_temperature = it->has_temperature;
    req->temperature = it->temperature;
    req->max_tokens = it->max_tokens;
    req->reasoning = (flexiai_reasoning)it->reasoning;
}

/* One item into the current part (a new part when it is full). */
static void
add_item(struct sub *s, struct batch_item *it, FILE *items)
{
    struct djob *j = s->j;
    struct djob_part *p = &j->parts[j->nparts - 1];
    /* a request is some KB at most: a new part well before the limit */
    if (p->count >= s->lim.max_items ||
        flexiai_batchapi_bytes(s->w) > s->lim.max_bytes - (4LL << 20)) {
        part_close(s);
        part_open(s);
        p = &j->parts[j->nparts - 1];
    }
    flexiai_request req;
    deferred_item_request(it, &req);
    char cid[32], *err = NULL;
    snprintf(cid, sizeof(cid), "i%zu", j->nids);
    flexiai_code rc = flexiai_batchapi_add(s->w, cid, &req, &err);
    if (rc == FLEXIAI_EDATA && p->count > 0) {
        /* the item cannot join this job (Gemini: another model): the
         * next job takes it */
        free(err);
        err = NULL;
        part_close(s);
        part_open(s);
        p = &j->parts[j->nparts - 1];
        rc = flexiai_batchapi_add(s->w, cid, &req, &err);
    }
    if (rc == FLEXIAI_EIO)
        tool_die(FLEXIAI_EIO, "%s", err);
    if (rc != FLEXIAI_OK)
        tool_die(rc, "line %ld: %s", it->lineno, err ? err : "refused");
    djob_add_id(j, it->id);
    put_item_line(items, it);
    p->count++;
}

int
deferred_submit(flexiai_config *cfg, flexiai_client *client,
                const struct tool_args *a, const struct deferred_in *in,
                char **job_id)
{
    struct djob j;
    memset(&j, 0, sizeof(j));
    struct sub s = {.client = client, .j = &j};
    s.provider = pick_provider(cfg, client, a, in->exclude);
    flexiai_batchapi_supported(client, s.provider, &s.lim);
    char *dir = djob_dir(cfg, 1);
    j.id = djob_new_id();
    j.path = fxu_asprintf("%s/%s.json", dir, j.id);
    free(dir);
    j.created = fxu_wallclock();
    j.output = absolute(in->output);
    j.inputs = fxu_xcalloc(in->ninputs + 1, sizeof(*j.inputs));
    for (size_t i = 0; i < in->ninputs; i++)
        j.inputs[j.ninputs++] = absolute(in->inputs[i]);

    /* ids an earlier run already answered in -o FILE are not sent */
    struct batch_idset *done = batch_idset_new();
    int ends_nl;
    if (in->output && batch_idset_load(done, in->output, &ends_nl) != 0 &&
        errno != ENOENT)
        tool_die(FLEXIAI_ENOINPUT, "%s: %s", in->output, strerror(errno));

    char *items_path = djob_side(&j, ".items.jsonl");
    FILE *items = fopen(items_path, "w");
    if (items == NULL)
        tool_die(FLEXIAI_ECANTCREAT, "%s: %s", items_path, strerror(errno));
    part_open(&s);
    struct batch_input bi = {.paths = in->inputs, .npaths = in->ninputs};
    unsigned long long h = 14695981039346656037ULL;
    long bad = 0, skipped = 0;
    ssize_t n;
    while ((n = batch_read_line(&bi)) >= 0) {
        if (bi.over) {
            tool_warn("line %ld: longer than max_input_bytes: not sent",
                      bi.lineno);
            bad++;
            continue;
        }
        if (batch_line_blank(bi.line.data, (size_t)n))
            continue;
        digest_add(&h, bi.line.data, (size_t)n);
        struct batch_item it;
        memset(&it, 0, sizeof(it));
        it.lineno = bi.lineno;
        batch_item_parse(&it, bi.line.data, (size_t)n, in->parse);
        if (it.error == NULL && it.schema_spec)
            it.error = fxu_strdup("a \"schema\" is not sent as a deferred "
                                  "item (run it live)");
        char *aerr = NULL;
        if (it.error == NULL &&
            batch_item_attach_ready(cfg, &it, in->attach_files, &aerr) != 0)
            it.error = aerr;
        if (it.error) {
            tool_warn("line %ld: %s: not sent", it.lineno, it.error);
            bad++;
        } else if (batch_idset_has(done, it.id)) {
            skipped++;
        } else {
            add_item(&s, &it, items);
        }
        batch_item_free(&it);
    }
    part_close(&s);
    fxu_buf_free(&bi.line);
    if (bi.fp && bi.fp != stdin)
        fclose(bi.fp);
    batch_idset_free(done);
    if (fclose(items) != 0)
        tool_die(FLEXIAI_EIO, "%s: %s", items_path, strerror(errno));
    free(items_path);
    char hex[24];
    snprintf(hex, sizeof(hex), "%016llx", h);
    j.digest = fxu_asprintf("fnv1a64:%s", hex);

    if (j.nids == 0) {
        for (size_t k = 0; k < j.nparts; k++) {
            char *pp = part_path(&j, k);
            unlink(pp);
            free(pp);
        }
        char *ip = djob_side(&j, ".items.jsonl");
        unlink(ip);
        free(ip);
        if (!tool_quiet)
            tool_warn("nothing to submit (%ld already answered, %ld bad "
                      "line%s)",
                      skipped, bad, bad == 1 ? "" : "s");
        djob_free(&j);
        return bad ? FLEXIAI_EDATA : FLEXIAI_OK;
    }
    /* the record first: a job being paid for is never lost */
    djob_save(&j);
    int rc = FLEXIAI_OK;
    for (size_t k = 0; k < j.nparts; k++) {
        struct djob_part *p = &j.parts[k];
        char *pp = part_path(&j, k);
        char *err = NULL, *batch = NULL;
        flexiai_code src =
            flexiai_batchapi_submit(client, p->provider, pp, &batch, &err);
        if (src == FLEXIAI_OK) {
            p->batch = batch;
            free(p->state);
            p->state = fxu_strdup("submitted");
            djob_save(&j);
            unlink(pp);
        } else {
            free(p->state);
            p->state = fxu_strdup("failed");
            djob_save(&j);
            tool_err("%s: not submitted: %s", j.id, err ? err : "refused");
            rc = src;
        }
        free(err);
        free(pp);
    }
    if (rc == FLEXIAI_OK || j.parts[0].batch) {
        if (!in->quiet_id) {
            tool_outs(j.id);
            tool_outs("\n");
            tool_out_flush();
        }
        if (!tool_quiet)
            tool_err("%s: %zu item%s submitted to %s in %zu provider "
                     "job%s%s",
                     j.id, j.nids, j.nids == 1 ? "" : "s", s.provider, j.nparts,
                     j.nparts == 1 ? "" : "s",
                     skipped ? " (answered ones skipped)" : "");
    }
    if (job_id)
        *job_id = fxu_strdup(j.id);
    djob_free(&j);
    if (rc == FLEXIAI_OK && bad)
        rc = FLEXIAI_EDATA;
    return rc;
}
