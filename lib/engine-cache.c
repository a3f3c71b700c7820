/*
 * engine-cache.c - the response cache and the budget in the engine:
 * before a provider is tried, an answer kept for the same request (a hit:
 * no traffic, no tokens, attempt outcome "cached"); after a successful
 * answer, keeping it; before an attempt is sent, its estimated cost
 * against the budget the request carries.
 */
#include "config.h"

#include "cache.h"
#include "cost.h"
#include "engine.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Is the cache on for j (the request, else [cache] mode)? */
static int
cache_on(struct job *j, struct fx_cache_conf *cc)
{
    fx_cache_conf_read(j->b->c->cfg, cc);
    if (j->req.cache_ttl > 0)
        cc->ttl = j->req.cache_ttl;
    if (j->req.cache != 0)
        return j->req.cache > 0;
    return cc->on;
}

/* The cache, opened on first use; NULL (said once) when it cannot be. */
static struct fx_cache *
cache_of(struct flexiai_batch *b)
{
    if (b->cache == NULL && !b->cache_failed) {
        char *err = NULL;
        b->cache = fx_cache_open(b->c->cfg, &err);
        if (b->cache == NULL) {
            b->cache_failed = 1;
            fx_client_log(b->c, FLEXIAI_LOG_WARN,
                          "cache: %s; answering without it",
                          err ? err : "cannot open");
        }
        free(err);
    }
    return b->cache;
}

/* j's key at provider p with model `model`; -1 when it has none. */
static int
job_key(struct job *j, const struct fx_cache_conf *cc,
        const struct fx_provider *p, const char *model, char hex[65])
{
    char *schema = j->req.schema ? flexiai_schema_text(j->req.schema) : NULL;
    struct fx_cache_key_in in = {
        .msgs = j->msgs,
        .nmsgs = j->req.nmessages,
        .provider = cc->across ? NULL : p->name,
        .model = model,
        .params = &j->params,
        .schema_text = schema,
        .tools = j->tools,
        .ntools = j->req.ntools,
        .want_reasoning = j->req.want_reasoning,
    };
    char *err = NULL;
    int rc = fx_cache_key(&in, hex, &err);
    if (rc != 0) {
        fx_client_log(j->b->c, FLEXIAI_LOG_DEBUG, "cache: %s", err);
        free(err);
    }
    free(schema);
    return rc;
}

static void
hit(struct job *j, struct fx_provider *p, const char *model,
    struct fx_cache_entry *e)
{
    flexiai_result *res = &j->res;
    j->p = p;
    j->cur_model = model;
    fx_job_add_attempt(j, p, "cached", FLEXIAI_E_NONE, 0, -1, 0, NULL, NULL);
    res->text = e->text;
    res->provider = e->provider;
    res->model = e->model ? e->model : fxu_strdup(model);
    res->finish_reason =
        e->finish_reason ? e->finish_reason : fxu_strdup("stop");
    res->json = e->json;
    res->schema_valid = e->json != NULL;
    memset(e, 0, sizeof(*e));
    res->cached = 1;
    res->has_cost = 1; /* no tokens, nothing to pay */
    res->cost = 0;
    res->latency_ms = (fxu_monotonic() - j->started) * 1000.0;
    if (j->req.stream && j->req.schema == NULL && j->req.on_text &&
        *res->text) {
        /* a hit is printed at once */
        j->req.on_text(j->req.ud, res->text, strlen(res->text));
        res->streamed_output = 1;
    }
    fx_client_log(j->b->c, FLEXIAI_LOG_ATTEMPT,
                  "%s %s: answered from the cache", p->name, res->model);
}

int
fx_engine_cache_lookup(struct job *j, struct fx_provider *p)
{
    struct fx_cache_conf cc;
    if (!cache_on(j, &cc))
        return 0;
    struct fx_cache *ch = cache_of(j->b);
    if (ch == NULL)
        return 0;
    /* the -m rule, as step_next applies it */
    int first = j->req.provider != NULL || j->pi == 0;
    const char *model = j->req.model && first ? j->req.model : p->model;
    fx_job_params(j, p);
    char key[65];
    if (job_key(j, &cc, p, model, key) != 0)
        return 0;
    char *value = NULL, *err = NULL;
    size_t len = 0;
    int rc = fx_cache_get(ch, key, cc.ttl, &value, &len, &err);
    if (rc < 0) {
        fx_client_warn_once(j->b->c, err);
        free(err);
        return 0;
    }
    struct fx_cache_entry e;
    if (rc == 0 || fx_cache_entry_decode(value, len, &e) != 0) {
        free(value);
        return 0;
    }
    free(value);
    hit(j, p, model, &e);
    fx_cache_entry_free(&e);
    return 1;
}

void
fx_engine_cache_store(struct job *j)
{
    const flexiai_result *res = &j->res;
    struct fx_cache_conf cc;
    /* whole, checked answers only: no tool calls to run, no spliced
     * stream, no schema answer that did not validate */
    if (!cache_on(j, &cc) || res->text == NULL || res->ntool_calls > 0 ||
        j->broke != NULL || (j->req.schema && res->json == NULL))
        return;
    struct fx_cache *ch = cache_of(j->b);
    if (ch == NULL)
        return;
    char key[65];
    if (job_key(j, &cc, j->p, j->cur_model, key) != 0)
        return;
    struct fx_cache_entry e = {
        .text = res->text,
        .model = res->model,
        .provider = res->provider,
        .finish_reason = res->finish_reason,
        .json = res->json,
        .prompt_tokens = res->prompt_tokens,
        .completion_tokens = res->completion_tokens,
        .created = fxu_wallclock(),
    };
    char *value = fx_cache_entry_encode(&e);
    char *err = NULL;
    if (fx_cache_put(ch, key, value, strlen(value), e.created, cc.ttl, &err) !=
        0) {
        fx_client_warn_once(j->b->c, err);
        free(err);
    }
    free(value);
}

/* ---- the budget ---------------------------------------------------------- */

/* Output tokens assumed when neither the request nor the configuration
 * sets max_tokens. */
#define BUDGET_DEFAULT_OUTPUT 1024

double
fx_engine_estimate(struct job *j)
{
    struct fx_prices pr;
    if (fx_conf_prices(j->b->c->cfg, j->p->name, j->cur_model, &pr) != 0)
        return 0; /* unpriced: nothing to hold against a budget */
    size_t bytes = 0;
    for (size_t i = 0; i < j->nmsgs; i++) {
        const flexiai_message *m = &j->msgs[i];
        bytes += m->content ? strlen(m->content) : 0;
        for (size_t a = 0; a < m->nattachments; a++)
            bytes += m->attachments[a].len;
    }
    if (j->params.system)
        bytes += strlen(j->params.system);
    long out =
        j->params.max_tokens > 0 ? j->params.max_tokens : BUDGET_DEFAULT_OUTPUT;
    struct fx_usage u = {(long)(bytes / 4), out, 0, 0, 0};
    return fx_cost(&pr, &u);
}

int
fx_engine_over_budget(struct job *j)
{
    if (!j->req.has_budget)
        return 0;
    double est = fx_engine_estimate(j);
    if (est <= j->req.budget && j->req.budget > 0)
        return 0;
    if (est == 0 && j->req.budget > 0)
        return 0;
    char msg[128];
    snprintf(msg, sizeof(msg), "estimate %.4f over the budget left %.4f", est,
             j->req.budget > 0 ? j->req.budget : 0);
    fx_job_add_attempt(j, j->p, "skipped", FLEXIAI_E_BUDGET, 0, -1, 0, msg,
                       NULL);
    fx_client_log(j->b->c, FLEXIAI_LOG_ATTEMPT, "%s %s: not sent, %s",
                  j->p->name, j->cur_model, msg);
    return 1;
}
