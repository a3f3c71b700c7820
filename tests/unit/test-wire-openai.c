/*
 * test-wire-openai.c - flexiai's OpenAI requests against the shape the
 * official SDK's types require for the same call: Chat Completions and the
 * Responses API, plain, streamed, with a schema and with reasoning.  The
 * expected requests are fixtures written from openai-node's type
 * definitions (tests/fixtures/wire-openai/, each naming the SDK version
 * and types): path, headers (exactly these), body (exactly this JSON), and
 * every top-level body field one the SDK declares.
 */
#include "config.h"

#include "fx.h"
#include "providers/providers.h"
#include "tap.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char state[] =
    "{\"type\":\"openai-responses\",\"items\":[{\"id\":\"rs_1\",\"type\":"
    "\"reasoning\",\"summary\":[{\"type\":\"summary_text\",\"text\":"
    "\"Earlier thoughts.\"}],\"encrypted_content\":\"gAAAA-opaque\"}]}";

static cJSON *
load_fixture(const char *name)
{
    const char *src = getenv("FX_TEST_SRCDIR");
    char path[1024];
    snprintf(path, sizeof path, "%s/tests/fixtures/wire-openai/%s.json",
             src ? src : ".", name);
    FILE *fp = fopen(path, "r");
    if (fp == NULL)
        return NULL;
    fxu_buf b;
    fxu_buf_init(&b);
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof tmp, fp)) > 0)
        fxu_buf_append(&b, tmp, n);
    fclose(fp);
    cJSON *doc = cJSON_Parse(b.data ? b.data : "");
    fxu_buf_free(&b);
    return doc;
}

/* The request's header `name` (any case), or NULL. */
static const char *
header(const struct fx_http_req *r, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; r->headers && r->headers[i]; i++)
        if (strncasecmp(r->headers[i], name, n) == 0 && r->headers[i][n] == ':')
            return r->headers[i] + n + 2;
    return NULL;
}

static size_t
nheaders(const struct fx_http_req *r)
{
    size_t n = 0;
    while (r->headers && r->headers[n])
        n++;
    return n;
}

struct wire_case {
    const char *fixture;
    int responses; /* api = responses */
    const char *model;
    const char *messages[4][2]; /* role, content; NULL role ends */
    double temperature;
    long max_tokens;
    int reasoning;
    int stream;
    int schema;
    int want_reasoning;
};

static void
check_case(const struct wire_case *wc)
{
    cJSON *fx = load_fixture(wc->fixture);
    ok(fx != NULL, "%s: fixture read", wc->fixture);
    if (fx == NULL)
        return;

    struct fx_provider p;
    memset(&p, 0, sizeof p);
    p.name = (char *)"oa";
    p.type = (char *)"openai";
    p.ops = wc->responses ? &fx_provider_openai_responses : &fx_provider_openai;
    p.model = (char *)wc->model;
    p.base_url = (char *)"https://api.openai.com/v1";
    struct fx_params params;
    memset(&params, 0, sizeof params);
    params.temperature = wc->temperature > 0 ? wc->temperature : -1;
    params.top_p = -1;
    params.max_tokens = wc->max_tokens;
    params.reasoning = wc->reasoning;
    params.user_set = wc->temperature > 0 ? FX_SET_TEMPERATURE : 0;

    flexiai_message msgs[4];
    memset(msgs, 0, sizeof msgs);
    size_t n = 0;
    for (; n < 4 && wc->messages[n][0]; n++) {
        msgs[n].role = wc->messages[n][0];
        msgs[n].content = wc->messages[n][1];
        msgs[n].reasoning_state =
            strcmp(msgs[n].role, "assistant") == 0 ? state : NULL;
    }
    flexiai_schema *schema = NULL;
    char *serr = NULL;
    if (wc->schema)
        flexiai_schema_load("name, age int", 0, &schema, &serr);
    struct fx_call call = {.prov = &p,
                           .key = "sk-test",
                           .model = wc->model,
                           .messages = msgs,
                           .nmessages = n,
                           .params = &params,
                           .stream = wc->stream,
                           .schema = schema,
                           .default_max_tokens = 1024,
                           .want_reasoning = wc->want_reasoning};
    struct fx_http_req req;
    char *err = NULL;
    int rc = p.ops->build_request(&call, &req, &err);
    is_int(rc, 0, "%s: built", wc->fixture);

    /* the path */
    const char *path = cJSON_GetStringValue(cJSON_GetObjectItem(fx, "path"));
    char *url = fxu_asprintf("https://api.openai.com%s", path ? path : "");
    is_str(req.url, url, "%s: URL", wc->fixture);
    free(url);

    /* the headers: these and no others */
    const cJSON *h, *headers = cJSON_GetObjectItem(fx, "headers");
    cJSON_ArrayForEach(h, headers)
    {
        is_str(header(&req, h->string), h->valuestring, "%s: header %s",
               wc->fixture, h->string);
    }
    is_int(nheaders(&req), cJSON_GetArraySize(headers), "%s: no other header",
           wc->fixture);

    /* the body, exactly */
    cJSON *body = req.body ? cJSON_Parse(req.body) : NULL;
    const cJSON *want = cJSON_GetObjectItem(fx, "body");
    int same = body && cJSON_Compare(body, want, 1);
    ok(same, "%s: body as the SDK's types shape it", wc->fixture);
    if (!same) {
        char *w = cJSON_PrintUnformatted(want);
        printf("#   got:  %s\n#   want: %s\n", req.body ? req.body : "-", w);
        free(w);
    }
    /* every field one the SDK's create params declare */
    const cJSON *f, *fields = cJSON_GetObjectItem(fx, "sdk_fields");
    int known = body != NULL;
    cJSON_ArrayForEach(f, body)
    {
        int found = 0;
        const cJSON *k;
        cJSON_ArrayForEach(k, fields)
        {
            found |= strcmp(k->valuestring, f->string) == 0;
        }
        if (!found)
            printf("#   %s is no field of the SDK's params\n", f->string);
        known &= found;
    }
    ok(known, "%s: only fields the SDK declares", wc->fixture);

    cJSON_Delete(body);
    fx_http_req_free(&req);
    free(err);
    free(serr);
    flexiai_schema_free(schema);
    cJSON_Delete(fx);
}

int
main(void)
{
    static const struct wire_case cases[] = {
        {.fixture = "chat-plain",
         .model = "gpt-4.1-mini",
         .messages = {{"system", "Be terse."}, {"user", "Hi"}},
         .temperature = 0.5,
         .max_tokens = 256},
        {.fixture = "chat-stream",
         .model = "gpt-4.1-mini",
         .messages = {{"user", "Hi"}},
         .stream = 1},
        {.fixture = "chat-schema",
         .model = "gpt-4.1-mini",
         .messages = {{"user", "Who?"}},
         .schema = 1},
        {.fixture = "chat-reasoning",
         .model = "gpt-6-luna",
         .messages = {{"user", "Hi"}},
         .temperature = 0.5,
         .max_tokens = 256,
         .reasoning = FLEXIAI_REASONING_LOW},
        {.fixture = "responses-plain",
         .responses = 1,
         .model = "gpt-4.1-mini",
         .messages = {{"system", "Be terse."}, {"user", "Hi"}},
         .temperature = 0.5,
         .max_tokens = 256},
        {.fixture = "responses-stream",
         .responses = 1,
         .model = "gpt-4.1-mini",
         .messages = {{"user", "Hi"}},
         .stream = 1},
        {.fixture = "responses-schema",
         .responses = 1,
         .model = "gpt-4.1-mini",
         .messages = {{"user", "Who?"}},
         .schema = 1},
        {.fixture = "responses-reasoning",
         .responses = 1,
         .model = "gpt-6-luna",
         .messages = {{"user", "Hi"},
                      {"assistant", "Hello"},
                      {"user", "Again"}},
         .temperature = 0.5,
         .reasoning = FLEXIAI_REASONING_HIGH,
         .want_reasoning = 1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        check_case(&cases[i]);
    return tap_done();
}
