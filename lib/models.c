/*
 * models.c - flexiai_models(): a provider's model list from its free
 * listing endpoint, the one the probe asks (probe.c, each type's
 * build_probe: its URL and credentials), page by page:
 *
 *   openai     GET {base}/models -> {data:[{id, shutdown_date?}]}
 *   anthropic  GET {base}/v1/models?limit=&after_id= ->
 *              {data:[{id, display_name}], has_more, last_id}
 *   gemini     GET {base}/v1beta/models?pageSize=&pageToken= ->
 *              {models:[{name:"models/ID", displayName}], nextPageToken}
 *
 * Vertex AI has no such list for publisher models here: it says so.
 */
#include "config.h"

#include "client.h"
#include "fx.h"
#include "http.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#define MODELS_TIMEOUT_MAX 30.0
#define MODELS_PAGES_MAX 50         /* a listing that never ends is cut */
#define MODELS_PAGE_BYTES (4 << 20) /* one page's body */

static void
add_model(flexiai_model_list *l, const char *id, const char *display,
          const char *shutdown)
{
    if (id == NULL || *id == '\0')
        return;
    l->models = fxu_xrealloc(l->models, (l->nmodels + 1) * sizeof(*l->models));
    flexiai_model *m = &l->models[l->nmodels++];
    m->id = fxu_strdup(id);
    m->display_name = display && *display ? fxu_strdup(display) : NULL;
    m->shutdown_date = shutdown && *shutdown ? fxu_strdup(shutdown) : NULL;
}

static const char *
str_item(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* A cursor in a query string: unreserved bytes as they are. */
static void
escape(fxu_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
            (ch >= '0' && ch <= '9') || strchr("-._~", ch))
            fxu_buf_putc(b, (char)ch);
        else
            fxu_buf_printf(b, "%%%c%c", hex[ch >> 4], hex[ch & 15]);
    }
}

enum { KIND_OPENAI, KIND_ANTHROPIC, KIND_GEMINI, KIND_NONE };

/* One page into l; the next page's cursor (caller frees) or NULL.  -1
 * when the body is not a model list. */
static int
parse_page(int kind, const char *body, size_t len, flexiai_model_list *l,
           char **next)
{
    *next = NULL;
    cJSON *root = cJSON_ParseWithLength(body, len);
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(
        root, kind == KIND_GEMINI ? "models" : "data");
    if (!cJSON_IsArray(arr)) {
        cJSON_Delete(root);
        return -1;
    }
    const cJSON *m;
    cJSON_ArrayForEach(m, arr)
    {
        if (kind == KIND_GEMINI) {
            const char *name = str_item(m, "name");
            if (name && strncmp(name, "models/", 7) == 0)
                name += 7;
            add_model(l, name, str_item(m, "displayName"), NULL);
        } else {
            add_model(l, str_item(m, "id"), str_item(m, "display_name"),
                      str_item(m, "shutdown_date"));
        }
    }
    if (kind == KIND_ANTHROPIC &&
        cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(root, "has_more")) &&
        str_item(root, "last_id"))
        *next = fxu_strdup(str_item(root, "last_id"));
    if (kind == KIND_GEMINI && str_item(root, "nextPageToken") &&
        *str_item(root, "nextPageToken"))
        *next = fxu_strdup(str_item(root, "nextPageToken"));
    cJSON_Delete(root);
    return 0;
}

/* The probe's URL turned into the list's page URL. */
static char *
page_url(int kind, const char *probe_url, const char *cursor)
{
    fxu_buf u;
    fxu_buf_init(&u);
    if (kind == KIND_GEMINI) {
        /* {base}/v1beta/models/{model} -> {base}/v1beta/models */
        const char *cut = strstr(probe_url, "/models/");
        fxu_buf_append(&u, probe_url,
                       cut ? (size_t)(cut - probe_url) + 7 : strlen(probe_url));
        fxu_buf_puts(&u, "?pageSize=1000");
        if (cursor) {
            fxu_buf_puts(&u, "&pageToken=");
            escape(&u, cursor);
        }
    } else if (kind == KIND_ANTHROPIC) {
        fxu_buf_puts(&u, probe_url);
        fxu_buf_puts(&u, "?limit=1000");
        if (cursor) {
            fxu_buf_puts(&u, "&after_id=");
            escape(&u, cursor);
        }
    } else {
        fxu_buf_puts(&u, probe_url);
    }
    return fxu_buf_steal(&u);
}

static flexiai_code
fail(flexiai_client *c, flexiai_model_list *l, int cls, const char *msg,
     flexiai_code code)
{
    l->errclass = cls;
    free(l->message);
    l->message = fxu_strdup(msg ? msg : "failed");
    fx_client_error_set(c, "%s: %s", l->provider, l->message);
    return code;
}

/* One page: 0 with the body in hr, or a failure already in l. */
static flexiai_code
get_page(flexiai_client *c, const struct fx_provider *p, struct fx_http_req *r,
         flexiai_model_list *l, struct fx_http_result *hr)
{
    double timeout = p->params.timeout;
    if (timeout <= 0 || timeout > MODELS_TIMEOUT_MAX)
        timeout = MODELS_TIMEOUT_MAX;
    struct fx_http_opts ho = {
        .timeout = timeout,
        .connect_timeout = p->params.connect_timeout,
        .insecure = p->insecure,
        .tls_ca = p->tls_ca,
        .max_response = MODELS_PAGE_BYTES,
    };
    memset(hr, 0, sizeof(*hr));
    fx_http_perform(c->http, r, &ho, hr);
    l->http_status = hr->status;
    if (hr->status >= 200 && hr->status < 300)
        return FLEXIAI_OK;
    if (hr->status > 0) {
        struct fx_error e;
        memset(&e, 0, sizeof(e));
        e.retry_after = -1;
        p->ops->classify(hr->status, hr->body.data ? hr->body.data : "",
                         hr->body.len, &hr->headers, fxu_wallclock(), &e);
        char *m =
            e.msg[0] ? fxu_strdup(e.msg) : fxu_asprintf("HTTP %ld", hr->status);
        flexiai_code code =
            e.cls == FLEXIAI_E_AUTH ? FLEXIAI_ENOPERM : FLEXIAI_EUNAVAILABLE;
        fail(c, l, e.cls, m, code);
        free(m);
        return code;
    }
    return fail(c, l,
                hr->transport_cls != FLEXIAI_E_NONE ? hr->transport_cls
                                                    : FLEXIAI_E_CONNECT,
                hr->transport_msg[0] ? hr->transport_msg : "no answer",
                FLEXIAI_EUNAVAILABLE);
}

flexiai_code
flexiai_models(flexiai_client *c, const char *name, flexiai_model_list *l)
{
    memset(l, 0, sizeof(*l));
    l->provider = fxu_strdup(name ? name : "");
    struct fx_provider *p = name ? fx_settings_provider(c->s, name) : NULL;
    if (p == NULL) {
        l->message = fxu_strdup("no such provider");
        fx_client_error_set(c, "no provider '%s'", name ? name : "");
        return FLEXIAI_EUSAGE;
    }
    int kind = strcmp(p->ops->type, "openai") == 0      ? KIND_OPENAI
               : strcmp(p->ops->type, "anthropic") == 0 ? KIND_ANTHROPIC
               : strcmp(p->ops->type, "gemini") == 0    ? KIND_GEMINI
                                                        : KIND_NONE;
    if (kind == KIND_NONE || p->ops->build_probe == NULL)
        return fail(c, l, FLEXIAI_E_CONFIG,
                    "this provider type has no model list", FLEXIAI_ECONFIG);
    const char *key = NULL;
    char *kerr = NULL;
    if (fx_provider_key(p, &key, &kerr) != 0 && !p->ops->key_optional) {
        flexiai_code rc = fail(c, l, FLEXIAI_E_CONFIG, kerr, FLEXIAI_ECONFIG);
        free(kerr);
        return rc;
    }
    free(kerr);
    struct fx_call call = {
        .prov = p,
        .key = key,
        .model = p->model,
        .params = &p->params,
    };
    struct fx_http_req hreq;
    memset(&hreq, 0, sizeof(hreq));
    char *berr = NULL;
    if (p->ops->build_probe(&call, &hreq, &berr) != 0) {
        flexiai_code rc =
            fail(c, l, FLEXIAI_E_CONFIG,
                 berr ? berr : "cannot build the request", FLEXIAI_ECONFIG);
        free(berr);
        fx_http_req_free(&hreq);
        return rc;
    }
    if (c->http == NULL)
        c->http = fx_http_new();
    char *probe_url = hreq.url, *cursor = NULL;
    flexiai_code rc = FLEXIAI_OK;
    for (int page = 0; page < MODELS_PAGES_MAX; page++) {
        hreq.url = page_url(kind, probe_url, cursor);
        free(cursor);
        cursor = NULL;
        struct fx_http_result hr;
        rc = get_page(c, p, &hreq, l, &hr);
        free(hreq.url);
        if (rc == FLEXIAI_OK &&
            parse_page(kind, hr.body.data ? hr.body.data : "", hr.body.len, l,
                       &cursor) != 0)
            rc = fail(c, l, FLEXIAI_E_STREAM_ERROR,
                      "the answer is no model list", FLEXIAI_EUNAVAILABLE);
        fx_http_result_free(&hr);
        if (rc != FLEXIAI_OK || cursor == NULL)
            break;
    }
    free(cursor);
    hreq.url = probe_url;
    fx_http_req_free(&hreq);
    return rc;
}

void
flexiai_model_list_free(flexiai_model_list *l)
{
    if (l == NULL)
        return;
    for (size_t i = 0; i < l->nmodels; i++) {
        free(l->models[i].id);
        free(l->models[i].display_name);
        free(l->models[i].shutdown_date);
    }
    free(l->models);
    free(l->provider);
    free(l->message);
    memset(l, 0, sizeof(*l));
}
