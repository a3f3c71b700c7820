/*
 * probe.c - flexiai_probe(): ask a provider something that costs no
 * tokens (its ops' build_probe request: a model list or the model's
 * metadata) and say whether it is reachable and takes our credentials;
 * optionally feed the outcome to its breaker as a half-open probe's.
 * Uses the client's http handle and store (client.h); changes neither
 * the request engine nor the http layer.
 */
#include "config.h"

#include "client.h"
#include "fx.h"
#include "http.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

/* a probe is a health check: never wait as long as a completion may */
#define PROBE_TIMEOUT_MAX 30.0
/* a model list, or one model's metadata: an endless body stops here */
#define PROBE_BODY_MAX ((size_t)8 * 1024 * 1024)

static void
set_message(flexiai_probe_result *res, const char *msg)
{
    free(res->message);
    res->message = fxu_strdup(msg ? msg : "failed");
}

/* A connection failure counts against the breaker; a refused key or an
 * unknown model says nothing about the provider's health. */
static int
counts_as_failure(int cls)
{
    return cls == FLEXIAI_E_CONNECT || cls == FLEXIAI_E_TIMEOUT ||
           cls == FLEXIAI_E_SERVER || cls == FLEXIAI_E_OVERLOADED;
}

/* --record, before the probe: ask the breaker as a request would.  A
 * closed breaker admits; an open one whose retry time has come turns
 * half-open and gives this probe the lease; otherwise nothing is
 * recorded (an open breaker is not closed by a probe it did not admit). */
static int
record_admit(flexiai_client *c, const char *name)
{
    struct fx_breaker_op op;
    int admit = FX_ADMIT_NO;
    fx_client_fill_op(c, &op, FX_BREAKER_ADMIT);
    fx_client_store_update(c, name, &op, NULL, &admit);
    return admit;
}

static void
record(flexiai_client *c, const char *name, int admit,
       const flexiai_probe_result *res)
{
    int kind;
    if (admit == FX_ADMIT_NO)
        return;
    if (res->ok)
        kind = FX_BREAKER_SUCCESS;
    else if (counts_as_failure(res->errclass))
        kind = FX_BREAKER_FAILURE;
    else
        return;
    struct fx_breaker_op op;
    fx_client_fill_op(c, &op, kind);
    op.was_probe = admit == FX_ADMIT_PROBE;
    fx_client_store_update(c, name, &op, NULL, NULL);
}

/* Did the provider answer with a JSON object, as its model list (or a
 * model's metadata) is? */
static int
json_object_body(const struct fx_http_result *hr)
{
    if (hr->body.data == NULL || hr->body.len == 0)
        return 0;
    cJSON *doc = cJSON_ParseWithLength(hr->body.data, hr->body.len);
    int ok = cJSON_IsObject(doc);
    cJSON_Delete(doc);
    return ok;
}

void
flexiai_probe_result_init(flexiai_probe_result *res)
{
    memset(res, 0, sizeof(*res));
    res->credentials = -1;
}

/* The probe did not succeed: its message is the client's too. */
static flexiai_code
failed(flexiai_client *c, flexiai_probe_result *res, flexiai_code code)
{
    fx_client_error_set(c, "%s: %s", res->provider,
                        res->message ? res->message : "failed");
    return code;
}

flexiai_code
flexiai_probe(flexiai_client *c, const char *name, int rec,
              flexiai_probe_result *res)
{
    flexiai_probe_result_init(res);
    res->provider = fxu_strdup(name ? name : "");
    struct fx_provider *p = name ? fx_settings_provider(c->s, name) : NULL;
    if (p == NULL) {
        set_message(res, "no such provider");
        fx_client_error_set(c, "no provider '%s'", name ? name : "");
        return FLEXIAI_EUSAGE;
    }
    if (p->ops->build_probe == NULL) {
        res->errclass = FLEXIAI_E_CONFIG;
        set_message(res, "this provider type has no probe");
        return failed(c, res, FLEXIAI_EUNAVAILABLE);
    }
    const char *key = NULL;
    char *kerr = NULL;
    if (fx_provider_key(p, &key, &kerr) != 0 && !p->ops->key_optional) {
        res->errclass = FLEXIAI_E_CONFIG;
        set_message(res, kerr);
        fx_client_error_set(c, "%s", kerr ? kerr : "no key");
        free(kerr);
        return FLEXIAI_ECONFIG;
    }
    free(kerr);

    static const flexiai_message ping = {.role = "user", .content = "ping"};
    struct fx_call call = {
        .prov = p,
        .key = key,
        .model = p->model,
        .messages = &ping,
        .nmessages = 1,
        .params = &p->params,
        .stream = 0,
    };
    struct fx_http_req hreq;
    memset(&hreq, 0, sizeof(hreq));
    char *berr = NULL;
    if (p->ops->build_probe(&call, &hreq, &berr) != 0) {
        res->errclass = FLEXIAI_E_CONFIG;
        set_message(res, berr ? berr : "cannot build the probe");
        free(berr);
        fx_http_req_free(&hreq);
        return failed(c, res, FLEXIAI_ECONFIG);
    }
    res->url = fxu_strdup(hreq.url);
    int admit = rec ? record_admit(c, name) : FX_ADMIT_NO;
    if (c->http == NULL)
        c->http = fx_http_new();
    double timeout = p->params.timeout;
    if (timeout <= 0 || timeout > PROBE_TIMEOUT_MAX)
        timeout = PROBE_TIMEOUT_MAX;
    struct fx_http_opts ho = {
        .timeout = timeout,
        .connect_timeout = p->params.connect_timeout,
        .idle_timeout = 0,
        .insecure = p->insecure,
        .tls_ca = p->tls_ca,
        .max_response = PROBE_BODY_MAX,
    };
    struct fx_http_result hr;
    memset(&hr, 0, sizeof(hr));
    int hrc = fx_http_perform(c->http, &hreq, &ho, &hr);
    fx_http_req_free(&hreq);
    res->latency_ms = hr.elapsed_ms;
    res->http_status = hr.status;
    res->reachable = hr.status > 0;
    if (hr.status >= 200 && hr.status < 300 &&
        (hrc != 0 || !json_object_body(&hr))) {
        /* an endless, cut or non-JSON body is no model list: whatever
         * answered, it did not say it took our key */
        res->errclass = FLEXIAI_E_STREAM_ERROR;
        set_message(res, hrc != 0 && hr.transport_msg[0]
                             ? hr.transport_msg
                             : "the answer is not a JSON object");
    } else if (hr.status >= 200 && hr.status < 300) {
        res->ok = 1;
        res->credentials = 1;
    } else if (hr.status > 0) {
        struct fx_error e;
        memset(&e, 0, sizeof(e));
        e.retry_after = -1;
        p->ops->classify(hr.status, hr.body.data ? hr.body.data : "",
                         hr.body.len, &hr.headers, fxu_wallclock(), &e);
        res->errclass = e.cls;
        res->credentials = hr.status == 401 || hr.status == 403 ? 0 : -1;
        if (e.msg[0])
            set_message(res, e.msg);
        else {
            char *m = fxu_asprintf("HTTP %ld", hr.status);
            set_message(res, m);
            free(m);
        }
    } else {
        res->errclass = hr.transport_cls != FLEXIAI_E_NONE ? hr.transport_cls
                                                           : FLEXIAI_E_CONNECT;
        set_message(res, hr.transport_msg[0] ? hr.transport_msg : "no answer");
    }
    fx_http_result_free(&hr);
    if (rec)
        record(c, name, admit, res);
    return res->ok ? FLEXIAI_OK : failed(c, res, FLEXIAI_EUNAVAILABLE);
}

void
flexiai_probe_free(flexiai_probe_result *res)
{
    if (res == NULL)
        return;
    free(res->provider);
    free(res->url);
    free(res->message);
    memset(res, 0, sizeof(*res));
}
