/*
 * client.c - the client, and flexiai_complete(): one request run by the
 * request engine (engine.c), which consults breakers and limits before
 * any traffic, runs each attempt (attempt.c), follows what failover.c
 * decides and records every outcome in the shared store
 * (client-breakers.c).
 */
#include "config.h"

#include "client.h"
#include "redis/redis.h"
#include "fx.h"
#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char *
flexiai_client_error(const flexiai_client *c)
{
    return c->error ? c->error : "";
}

flexiai_code
flexiai_client_new(flexiai_config *cfg, flexiai_client **out, char **errmsg)
{
    *out = NULL;
    if (errmsg)
        *errmsg = NULL;
    flexiai_client *c = fxu_xcalloc(1, sizeof(*c));
    c->cfg = cfg;
    c->s = fx_config_settings(cfg);
    c->seed = (unsigned)getpid() ^ (unsigned)(fxu_monotonic() * 1e6);
    char *err = NULL;
    if (fx_store_file.open(&c->file_store, c->s, &err) != 0) {
        if (errmsg)
            *errmsg = err ? err : fxu_strdup("cannot open the file store");
        else
            free(err);
        free(c);
        return FLEXIAI_ECONFIG;
    }
    c->ops = &fx_store_file;
    c->store = c->file_store;
    *out = c;
    return FLEXIAI_OK;
}

void
flexiai_client_free(flexiai_client *c)
{
    if (c == NULL)
        return;
    flexiai_batch_free(c->engine);
    if (c->store && c->store != c->file_store)
        c->ops->close(c->store);
    if (c->file_store)
        fx_store_file.close(c->file_store);
    if (c->http)
        fx_http_free(c->http);
    for (size_t i = 0; i < c->nwarned_bad; i++)
        free(c->warned_bad[i]);
    free(c->warned_bad);
    for (size_t i = 0; i < c->nwarned_once; i++)
        free(c->warned_once[i]);
    free(c->warned_once);
    free(c->error);
    free(c->redis_why);
    fx_cache_redis_close(c->spend);
    free(c);
}

void
flexiai_client_set_log(flexiai_client *c, flexiai_log_fn fn, void *ud)
{
    c->log = fn;
    c->log_ud = ud;
}

/* ---- one request: the one-request case of the engine ------------------ */

flexiai_code
flexiai_complete(flexiai_client *c, const flexiai_request *req,
                 flexiai_result *res)
{
    flexiai_result_init(res);
    if (req->nmessages == 0) {
        res->error = fxu_strdup("no messages");
        return FLEXIAI_ENOINPUT;
    }
    /* kept for the next request: its connections stay alive */
    if (c->engine == NULL)
        c->engine = flexiai_batch_new(c);
    flexiai_code rc = flexiai_batch_submit(c->engine, req, NULL);
    if (rc != FLEXIAI_OK) {
        res->error = fxu_strdup("invalid request");
        return rc;
    }
    while (!flexiai_batch_next(c->engine, res, &rc, NULL))
        flexiai_batch_run(c->engine, -1);
    return rc;
}
