/*
 * cache-keep.c - an answer got some other way (a provider batch job) kept
 * in the response cache as the engine keeps a live one
 * (flexiai_cache_keep): the job a live request would make, answered.
 */
#include "config.h"

#include "engine.h"

#include <stdlib.h>
#include <string.h>

flexiai_code
flexiai_cache_keep(flexiai_client *c, const flexiai_request *req,
                   const flexiai_result *res)
{
    struct fx_provider *p =
        res && res->provider ? fx_settings_provider(c->s, res->provider) : NULL;
    if (p == NULL || p->ops == NULL || req == NULL || req->nmessages == 0)
        return FLEXIAI_EUSAGE;
    if (c->engine == NULL)
        c->engine = flexiai_batch_new(c);
    /* the job a live request makes, answered: what the engine keeps */
    struct job *j = fxu_xcalloc(1, sizeof(*j));
    j->b = c->engine;
    fxu_buf_init(&j->answer);
    if (fx_job_copy(j, req) != 0) {
        fx_job_free(j);
        return FLEXIAI_EUSAGE;
    }
    j->p = p;
    j->cur_model = req->model && *req->model ? req->model : p->model;
    fx_job_params(j, p);
    j->res = *res; /* lent: taken back before the job goes */
    fx_engine_cache_store(j);
    memset(&j->res, 0, sizeof(j->res));
    fx_job_free(j);
    return FLEXIAI_OK;
}
