/*
 * wire-harness.h - what test-wire-anthropic.c and test-wire-gemini.c
 * share: build a provider's request for a call and compare its URL,
 * headers and body with a fixture (tests/fixtures/wire/NAME.json, written
 * from the official SDK's type definitions named in its "_source").  A
 * fixture is {"_source", "url", "headers": {name: value}, "body": {...}}:
 * the headers must be exactly those (names in any case), the body equal as
 * JSON (members in any order).
 */
#ifndef WIRE_HARNESS_H
#define WIRE_HARNESS_H

#include "fx.h"
#include "http.h"
#include "tap.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static struct fx_params
wire_params(void)
{
    struct fx_params p;
    memset(&p, 0, sizeof p);
    p.temperature = -1;
    p.top_p = -1;
    return p;
}

static struct fx_provider
wire_provider(const char *type, const char *model)
{
    struct fx_provider p;
    memset(&p, 0, sizeof p);
    p.name = (char *)type;
    p.type = (char *)type;
    p.ops = fx_provider_ops_find(type);
    p.model = (char *)model;
    p.params = wire_params();
    return p;
}

/* One call as the engine builds it, with the key `key`. */
static struct fx_call
wire_call(const char *key, const struct fx_provider *p,
          const flexiai_message *m, size_t n, const struct fx_params *pp)
{
    struct fx_call c = {.prov = p,
                        .key = key,
                        .model = p->model,
                        .messages = m,
                        .nmessages = n,
                        .params = pp,
                        .default_max_tokens = 1024};
    return c;
}

static cJSON *
wire_fixture(const char *name)
{
    const char *dir = getenv("FX_TEST_SRCDIR") ? getenv("FX_TEST_SRCDIR") : ".";
    char *path = fxu_asprintf("%s/tests/fixtures/wire/%s.json", dir, name);
    FILE *fp = fopen(path, "r");
    free(path);
    if (fp == NULL)
        return NULL;
    fxu_buf b;
    fxu_buf_init(&b);
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, fp)) > 0)
        fxu_buf_append(&b, tmp, n);
    fclose(fp);
    cJSON *j = b.data ? cJSON_Parse(b.data) : NULL;
    fxu_buf_free(&b);
    return j;
}

static const char *
wire_header(const struct fx_http_req *r, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; r->headers && r->headers[i]; i++)
        if (strncasecmp(r->headers[i], name, n) == 0 && r->headers[i][n] == ':')
            return r->headers[i] + n + (r->headers[i][n + 1] == ' ' ? 2 : 1);
    return NULL;
}

/* Build call and compare with fixture `name`; *warning gets the request's
 * warning (caller frees; may be NULL). */
static void
wire_check(const char *name, const struct fx_call *call, char **warning)
{
    struct fx_http_req req;
    char *err = NULL;
    cJSON *fx = wire_fixture(name);
    memset(&req, 0, sizeof req);
    ok(fx != NULL, "%s: fixture readable", name);
    int rc = call->prov->ops->build_request(call, &req, &err);
    is_int(rc, 0, "%s: built%s%s", name, err ? ": " : "", err ? err : "");
    is_str(req.url, cJSON_GetStringValue(cJSON_GetObjectItem(fx, "url")),
           "%s: url", name);
    const cJSON *h;
    size_t want = 0, got = 0;
    int same = 1;
    cJSON_ArrayForEach(h, cJSON_GetObjectItem(fx, "headers"))
    {
        const char *v = wire_header(&req, h->string);
        want++;
        if (v == NULL || strcmp(v, cJSON_GetStringValue(h)) != 0) {
            printf("#   header %s: got '%s', want '%s'\n", h->string,
                   v ? v : "(none)", cJSON_GetStringValue(h));
            same = 0;
        }
    }
    for (size_t i = 0; req.headers && req.headers[i]; i++)
        got++;
    ok(same && got == want, "%s: headers as the SDK sends them (%zu)", name,
       want);
    cJSON *body = req.body ? cJSON_Parse(req.body) : NULL;
    const cJSON *wbody = cJSON_GetObjectItem(fx, "body");
    int eq = body && wbody && cJSON_Compare(body, wbody, 1);
    ok(eq, "%s: body as the SDK's types shape it", name);
    if (!eq) {
        char *w = wbody ? cJSON_PrintUnformatted(wbody) : NULL;
        printf("#   got:  %s\n#   want: %s\n", req.body ? req.body : "(none)",
               w ? w : "(none)");
        free(w);
    }
    if (warning) {
        *warning = req.warning;
        req.warning = NULL;
    }
    cJSON_Delete(body);
    cJSON_Delete(fx);
    free(err);
    fx_http_req_free(&req);
}

#endif
