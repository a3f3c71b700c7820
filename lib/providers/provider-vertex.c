/*
 * provider-vertex.c - Gemini models on Google Cloud Vertex AI.  Same JSON
 * as the Gemini API (provider-gemini.c); the URL names the project and
 * location, and the key is an OAuth access token sent as a bearer token
 * (typically from api_key_cmd = gcloud auth print-access-token).
 */
#include "config.h"

#include "fx.h"
#include "provider-common.h"

#include <stdlib.h>
#include <string.h>

#define VERTEX_DEFAULT_LOCATION "us-central1"

/* The location becomes part of a host name: allow only what regions use. */
static int
location_ok(const char *loc)
{
    if (*loc == '\0')
        return 0;
    for (const char *c = loc; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') ||
              *c == '-'))
            return 0;
    return 1;
}

static int
vertex_build_request(const struct fx_call *call, struct fx_http_req *out,
                     char **err)
{
    const struct fx_provider *p = call->prov;
    const char *model, *location;
    int has_key;
    fxu_buf url;

    memset(out, 0, sizeof *out);
    if ((model = fx_call_model(call, err)) == NULL)
        return -1;
    if (p->project == NULL || *p->project == '\0') {
        *err = fxu_strdup("vertex provider needs project");
        return -1;
    }
    location =
        (p->location && *p->location) ? p->location : VERTEX_DEFAULT_LOCATION;
    if (!location_ok(location)) {
        *err = fxu_strdup("vertex location must be a region name like "
                          "us-central1");
        return -1;
    }
    if ((has_key = fx_key_usable(call->key, err)) < 0)
        return -1;
    char *body = fx_gemini_body(call, &out->warning, err);
    if (body == NULL)
        return -1;

    fxu_buf_init(&url);
    if (p->base_url && *p->base_url) {
        char *base = fx_base_url(p, NULL);
        fxu_buf_puts(&url, base);
        free(base);
    } else if (strcmp(location, "global") == 0) {
        /* The global endpoint has no region prefix. */
        fxu_buf_puts(&url, "https://aiplatform.googleapis.com");
    } else {
        fxu_buf_printf(&url, "https://%s-aiplatform.googleapis.com", location);
    }
    fxu_buf_puts(&url, "/v1/projects/");
    fx_url_escape(&url, p->project);
    fxu_buf_puts(&url, "/locations/");
    fx_url_escape(&url, location);
    fxu_buf_puts(&url, "/publishers/google/models/");
    fx_url_escape(&url, model);
    fxu_buf_puts(&url, call->stream ? ":streamGenerateContent?alt=sse"
                                    : ":generateContent");
    out->url = fxu_buf_steal(&url);
    out->body = body;

    if (has_key)
        fx_req_header(out, "Authorization: Bearer %s", call->key);
    fx_req_header(out, "Content-Type: application/json");
    if (call->stream)
        fx_req_header(out, "Accept: text/event-stream");
    return 0;
}

/* The probe: GET the publisher model's metadata (no tokens): the
 * request's URL without the method suffix, no body. */
static int
vertex_build_probe(const struct fx_call *call, struct fx_http_req *out,
                   char **err)
{
    struct fx_call c = *call;
    c.stream = 0;
    if (vertex_build_request(&c, out, err) != 0)
        return -1;
    char *colon = strrchr(out->url, ':');
    if (colon && strcmp(colon, ":generateContent") == 0)
        *colon = '\0';
    free(out->body);
    out->body = NULL;
    return 0;
}

/* The key is an access token, from api_key_cmd: no standard variable. */
static const char *const vertex_required[] = {"project", NULL};

const struct fx_provider_ops fx_provider_vertex = {
    .type = "vertex",
    .required = vertex_required,
    .build_request = vertex_build_request,
    .build_probe = vertex_build_probe,
    .parse_response = fx_gemini_parse_response,
    .parse_event = fx_gemini_parse_event,
    .classify = fx_gemini_classify,
    .accepts = fx_accepts_gemini,
    /* The default location's host; others are derived from location. */
    .default_base_url =
        "https://" VERTEX_DEFAULT_LOCATION "-aiplatform.googleapis.com",
    .finish_ends_stream = 1,
};
