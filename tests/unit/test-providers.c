/*
 * test-providers.c - request building, response and stream parsing and
 * error classification for every provider, plus errclass.c.
 */
#include "config.h"

#include "fx.h"
#include "http.h"
#include "tap.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- helpers ------------------------------------------------------------ */

static struct fx_params
unset_params(void)
{
    struct fx_params p;
    memset(&p, 0, sizeof p);
    p.temperature = -1;
    p.top_p = -1;
    return p;
}

static struct fx_provider
make_provider(const char *type, const char *model)
{
    struct fx_provider p;
    memset(&p, 0, sizeof p);
    p.name = (char *)type;
    p.type = (char *)type;
    p.ops = fx_provider_ops_find(type);
    p.model = (char *)model;
    p.params = unset_params();
    return p;
}

struct built {
    int rc;
    struct fx_http_req req;
    char *err;
    cJSON *body;
};

static struct built
build(const struct fx_provider *p, const char *key, const flexiai_message *m,
      size_t n, const struct fx_params *params, int stream)
{
    struct built b;
    struct fx_call call = {.prov = p,
                           .key = key,
                           .model = p->model,
                           .messages = m,
                           .nmessages = n,
                           .params = params,
                           .stream = stream,
                           .default_max_tokens = 1024};
    memset(&b, 0, sizeof b);
    b.rc = p->ops->build_request(&call, &b.req, &b.err);
    b.body = b.req.body ? cJSON_Parse(b.req.body) : NULL;
    return b;
}

static void
built_free(struct built *b)
{
    fx_http_req_free(&b->req);
    free(b->err);
    cJSON_Delete(b->body);
}

/* "messages.0.role" -> the item, or NULL. */
static const cJSON *
jget(const cJSON *root, const char *path)
{
    char buf[256], *save = NULL;
    const cJSON *cur = root;
    snprintf(buf, sizeof buf, "%s", path);
    for (char *seg = strtok_r(buf, ".", &save); seg && cur;
         seg = strtok_r(NULL, ".", &save)) {
        if (cJSON_IsArray(cur))
            cur = cJSON_GetArrayItem(cur, atoi(seg));
        else
            cur = cJSON_GetObjectItemCaseSensitive(cur, seg);
    }
    return cur;
}

static const char *
jstr(const cJSON *root, const char *path)
{
    const cJSON *v = jget(root, path);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static double
jnum(const cJSON *root, const char *path)
{
    const cJSON *v = jget(root, path);
    return cJSON_IsNumber(v) ? v->valuedouble : NAN;
}

static int
jsize(const cJSON *root, const char *path)
{
    const cJSON *v = jget(root, path);
    return cJSON_IsArray(v) ? cJSON_GetArraySize(v) : -1;
}

/* Value of header `name` in the request, or NULL. */
static const char *
hdr(const struct fx_http_req *r, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; r->headers && r->headers[i]; i++) {
        const char *h = r->headers[i];
        if (strncasecmp(h, name, n) == 0 && h[n] == ':')
            return h[n + 1] == ' ' ? h + n + 2 : h + n + 1;
    }
    return NULL;
}

static int
key_anywhere_but_headers(const struct built *b, const char *key)
{
    return (b->req.url && strstr(b->req.url, key)) ||
           (b->req.body && strstr(b->req.body, key));
}

/* Headers for classify(): pairs of name, value, NULL. */
static struct fx_headers
headers(const char *first, ...)
{
    struct fx_headers h = {NULL, 0};
    va_list ap;
    const char *name = first;
    va_start(ap, first);
    while (name) {
        const char *value = va_arg(ap, const char *);
        h.items = fxu_xrealloc(h.items, (h.n + 1) * sizeof *h.items);
        h.items[h.n].name = fxu_strdup(name);
        h.items[h.n].value = fxu_strdup(value);
        h.n++;
        name = va_arg(ap, const char *);
    }
    va_end(ap);
    return h;
}

static struct fx_error
classify(const char *type, long status, const char *body,
         const struct fx_headers *h, double now)
{
    struct fx_error e;
    memset(&e, 0, sizeof e);
    e.retry_after = -2;
    fx_provider_ops_find(type)->classify(status, body, body ? strlen(body) : 0,
                                         h, now, &e);
    return e;
}

static int
parse(const char *type, const char *body, struct fx_response *r,
      struct fx_error *e)
{
    fx_response_init(r);
    memset(e, 0, sizeof *e);
    return fx_provider_ops_find(type)->parse_response(body, strlen(body), r, e);
}

/* ---- streams ------------------------------------------------------------ */

struct feed {
    const struct fx_provider_ops *ops;
    struct fx_stream st;
    int last_rc;
    fxu_buf seen; /* what on_text got */
    int stop_at;  /* on_text returns 1 at this call (0: never) */
    int calls;
};

static int
on_text(void *ud, const char *text, size_t len)
{
    struct feed *f = ud;
    fxu_buf_append(&f->seen, text, len);
    f->calls++;
    return f->stop_at && f->calls >= f->stop_at;
}

static int
on_event(void *ud, const char *event, const char *data, size_t len)
{
    struct feed *f = ud;
    f->last_rc = f->ops->parse_event(&f->st, event, data, len);
    return f->last_rc;
}

static uint32_t
xorshift(uint32_t *s)
{
    uint32_t x = *s;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return *s = x;
}

/* Feed a recorded stream in random pieces; returns the SSE result. */
static int
run_stream(const char *type, const char *stream, uint32_t seed,
           struct fx_response *resp, struct feed *f)
{
    struct fx_sse p;
    size_t n = strlen(stream), at = 0;
    int rc = 0;
    fx_response_init(resp);
    memset(f, 0, sizeof *f);
    f->ops = fx_provider_ops_find(type);
    f->st.resp = resp;
    f->st.on_text = on_text;
    f->st.ud = f;
    fxu_buf_init(&f->seen);
    fx_sse_init(&p);
    while (at < n && rc == 0) {
        size_t piece = seed ? 1 + xorshift(&seed) % 40 : n;
        if (piece > n - at)
            piece = n - at;
        rc = fx_sse_feed(&p, stream + at, piece, on_event, f);
        at += piece;
    }
    fx_sse_free(&p);
    return rc;
}

static void
feed_free(struct feed *f, struct fx_response *r)
{
    fxu_buf_free(&f->seen);
    fx_response_free(r);
}

/* ---- errclass.c --------------------------------------------------------- */

static void
test_errclass(void)
{
    static const char *const names[] = {
        "none",
        "connect",
        "timeout",
        "rate_limit",
        "quota",
        "overloaded",
        "server",
        "auth",
        "bad_request",
        "context_length",
        "stream_error",
        "content_filter",
        "breaker_open",
        "config",
        "cancelled",
        "internal",
        "rate_limited_local",
        "invalid_output",
    };
    int bad = 0;
    size_t nnames = sizeof(names) / sizeof(names[0]);
    is_int((long)nnames, FLEXIAI_E_INVALID_OUTPUT + 1,
           "one name per class, the last one included");
    for (size_t i = 0; i < nnames; i++) {
        flexiai_errclass cls = FLEXIAI_E_INTERNAL;
        if (strcmp(flexiai_errclass_name((flexiai_errclass)i), names[i]) != 0)
            bad++;
        if (flexiai_errclass_from_name(names[i], &cls) != FLEXIAI_OK ||
            cls != (flexiai_errclass)i)
            bad++;
    }
    is_int(bad, 0, "every class name round-trips");
    flexiai_errclass cls = FLEXIAI_E_AUTH;
    is_int(flexiai_errclass_from_name("nope", &cls), FLEXIAI_EUSAGE,
           "unknown name is a usage error");
    is_int(cls, FLEXIAI_E_AUTH, "and leaves the class alone");
    is_int(flexiai_errclass_from_name(NULL, &cls), FLEXIAI_EUSAGE,
           "NULL name is a usage error");
    is_str(flexiai_errclass_name((flexiai_errclass)99), "internal",
           "out of range is internal");

    static const struct {
        long status;
        int cls;
    } st[] = {
        {200, FLEXIAI_E_NONE},        {401, FLEXIAI_E_AUTH},
        {403, FLEXIAI_E_AUTH},        {429, FLEXIAI_E_RATE_LIMIT},
        {503, FLEXIAI_E_OVERLOADED},  {529, FLEXIAI_E_OVERLOADED},
        {500, FLEXIAI_E_SERVER},      {502, FLEXIAI_E_SERVER},
        {504, FLEXIAI_E_SERVER},      {400, FLEXIAI_E_BAD_REQUEST},
        {404, FLEXIAI_E_BAD_REQUEST}, {413, FLEXIAI_E_BAD_REQUEST},
        {422, FLEXIAI_E_BAD_REQUEST}, {409, FLEXIAI_E_BAD_REQUEST},
        {408, FLEXIAI_E_TIMEOUT},
    };
    for (size_t i = 0; i < sizeof st / sizeof st[0]; i++)
        is_str(flexiai_errclass_name(fx_class_from_status(st[i].status)),
               flexiai_errclass_name(st[i].cls), "status %ld", st[i].status);

    ok(fx_says_too_long("This model's Maximum Context Length is 8192"),
       "too long: maximum context length (any case)");
    ok(fx_says_too_long("prompt is too long: 210000 tokens > 200000"),
       "too long: prompt is too long");
    ok(fx_says_too_long("code CONTEXT_LENGTH_EXCEEDED"),
       "too long: context_length_exceeded");
    ok(fx_says_too_long("Too many tokens in request"),
       "too long: too many tokens");
    ok(fx_says_too_long("input exceeds the context window of this model"),
       "too long: exceeds the context window");
    ok(fx_says_too_long("The input token count (1200000) exceeds the max"),
       "too long: input token count");
    ok(!fx_says_too_long("Invalid value for temperature"),
       "unrelated message is not too long");
    ok(!fx_says_too_long(NULL), "NULL is not too long");

    struct fx_error e;
    memset(&e, 0, sizeof e);
    fx_error_set(&e, FLEXIAI_E_SERVER, "a\nb\r\tc %d", 5);
    is_str(e.msg, "a b  c 5", "fx_error_set formats on one line");
    is_int(e.cls, FLEXIAI_E_SERVER, "fx_error_set sets the class");

    struct fx_headers h =
        headers("Content-Type", "text/plain", "x-a", "1", NULL);
    is_str(fx_headers_get(&h, "content-type"), "text/plain",
           "header lookup ignores case");
    ok(fx_headers_get(&h, "x-b") == NULL, "missing header is NULL");
    fx_headers_free(&h);
    ok(h.items == NULL && h.n == 0, "headers freed and emptied");

    /* Retry-After and friends. */
    double now = 1800000000.0; /* 2027-01-15T08:00:00Z */
    h = headers("retry-after", "2", NULL);
    is_int((long)(fx_retry_after(&h, NULL, now) * 1000), 2000,
           "retry-after seconds");
    fx_headers_free(&h);
    h = headers("retry-after-ms", "1500", "retry-after", "2", NULL);
    is_int((long)(fx_retry_after(&h, NULL, now) * 1000), 1500,
           "retry-after-ms preferred");
    fx_headers_free(&h);
    h = headers("retry-after", "Fri, 15 Jan 2027 08:00:30 GMT", NULL);
    is_int((long)fx_retry_after(&h, NULL, now), 30, "retry-after HTTP-date");
    fx_headers_free(&h);
    h = headers("retry-after", "Fri, 15 Jan 2027 07:00:00 GMT", NULL);
    is_int((long)fx_retry_after(&h, NULL, now), 0, "HTTP-date in the past: 0");
    fx_headers_free(&h);

    static const char *const reset[] = {"x-reset-a", "x-reset-b", NULL};
    h = headers("x-reset-a", "6m0s", "x-reset-b", "20ms", NULL);
    is_int((long)fx_retry_after(&h, reset, now), 360,
           "largest of the reset durations");
    fx_headers_free(&h);
    h = headers("x-reset-a", "1s", "x-reset-b", "2027-01-15T08:00:45Z", NULL);
    is_int((long)fx_retry_after(&h, reset, now), 45,
           "RFC 3339 reset time relative to now");
    fx_headers_free(&h);
    h = headers("x-reset-b", "2027-01-15T09:00:10.5+01:00", NULL);
    is_int((long)(fx_retry_after(&h, reset, now) * 10), 105,
           "RFC 3339 with fraction and offset");
    fx_headers_free(&h);
    h = headers("x-reset-a", "2027-01-15T07:00:00Z", NULL);
    is_int((long)fx_retry_after(&h, reset, now), 0, "reset in the past: 0");
    fx_headers_free(&h);
    h = headers("retry-after", "soon", "x-reset-a", "3s", NULL);
    is_int((long)fx_retry_after(&h, reset, now), 3,
           "unparsable retry-after falls back to reset headers");
    fx_headers_free(&h);
    h = headers("x-reset-a", "garbage", NULL);
    is_int((long)fx_retry_after(&h, reset, now), -1, "garbage reset: none");
    fx_headers_free(&h);
    h = headers("x-other", "1", NULL);
    is_int((long)fx_retry_after(&h, reset, now), -1, "no headers: -1");
    is_int((long)fx_retry_after(NULL, reset, now), -1, "NULL headers: -1");
    fx_headers_free(&h);

    /* fx_stream_text */
    struct fx_response r;
    struct feed f;
    fx_response_init(&r);
    memset(&f, 0, sizeof f);
    fxu_buf_init(&f.seen);
    f.st.resp = &r;
    f.st.on_text = on_text;
    f.st.ud = &f;
    f.stop_at = 2;
    fx_stream_text(&f.st, "ab", 2);
    is_int(f.st.stop_requested, 0, "on_text returning 0: go on");
    fx_stream_text(&f.st, "cde", 3);
    is_int(f.st.stop_requested, 1, "on_text returning 1: stop requested");
    is_int((long)f.st.emitted, 5, "emitted counts bytes");
    is_str(r.text.data, "abcde", "text accumulated in the response");
    is_str(f.seen.data, "abcde", "and passed to on_text");
    f.st.on_text = NULL;
    fx_stream_text(&f.st, "f", 1);
    is_str(r.text.data, "abcdef", "without on_text the text still counts");
    feed_free(&f, &r);
}

static void
test_table(void)
{
    const char *types[] = {"openai", "anthropic", "gemini", "vertex", NULL};
    for (int i = 0; types[i]; i++) {
        const struct fx_provider_ops *ops = fx_provider_ops_find(types[i]);
        ok(ops && strcmp(ops->type, types[i]) == 0 && ops->build_request &&
               ops->parse_response && ops->parse_event && ops->classify &&
               ops->default_base_url,
           "ops for %s complete", types[i]);
        ok(fx_providers[i] == ops, "type %d listed", i);
    }
    ok(fx_providers[4] == NULL, "type list ends");
    is_str(fx_provider_type_list(), "openai|anthropic|gemini|vertex",
           "type list for messages");
    /* what configuration reads from the tables */
    for (int i = 0; fx_providers[i]; i++) {
        const struct fx_provider_ops *ops = fx_providers[i];
        ok(ops->key_vars == NULL || ops->default_model != NULL,
           "%s: a type with key variables has a zero-config model", ops->type);
    }
    ok(fx_provider_openai.key_optional && !fx_provider_anthropic.key_optional &&
           !fx_provider_gemini.key_optional && !fx_provider_vertex.key_optional,
       "only openai works without a key (local servers)");
    is_str(fx_provider_openai.key_vars[0], "OPENAI_API_KEY", "openai key var");
    is_str(fx_provider_openai.base_url_var, "OPENAI_BASE_URL",
           "openai base URL var");
    is_str(fx_provider_anthropic.key_vars[0], "ANTHROPIC_API_KEY",
           "anthropic key var");
    ok(strcmp(fx_provider_gemini.key_vars[0], "GEMINI_API_KEY") == 0 &&
           strcmp(fx_provider_gemini.key_vars[1], "GOOGLE_API_KEY") == 0 &&
           fx_provider_gemini.key_vars[2] == NULL,
       "gemini: GEMINI_API_KEY before GOOGLE_API_KEY");
    ok(fx_provider_vertex.key_vars == NULL,
       "vertex: no key variable (access token from api_key_cmd)");
    ok(fx_provider_vertex.required &&
           strcmp(fx_provider_vertex.required[0], "project") == 0 &&
           fx_provider_vertex.required[1] == NULL,
       "vertex needs project");
    ok(!fx_provider_openai.finish_ends_stream &&
           !fx_provider_anthropic.finish_ends_stream &&
           fx_provider_gemini.finish_ends_stream &&
           fx_provider_vertex.finish_ends_stream,
       "gemini and vertex streams have no end marker");
    ok(fx_provider_ops_find("cohere") == NULL, "unknown type");
    ok(fx_provider_ops_find(NULL) == NULL, "NULL type");
}

/* ---- request building --------------------------------------------------- */

static const flexiai_message convo[] = {
    {.role = "system", .content = "Be brief."},
    {.role = "user", .content = "a"},
    {.role = "user", .content = "b"},
    {.role = "assistant", .content = "c"},
    {.role = "assistant", .content = "d"},
    {.role = "user", .content = "e"},
};

static void
test_build_openai(void)
{
    struct fx_provider p = make_provider("openai", "gpt-4o");
    struct fx_params pp = unset_params();
    flexiai_message m[] = {{.role = "user", .content = "hi"},
                           {.role = "assistant", .content = "yo"},
                           {.role = "user", .content = "more"}};
    char *stop[] = {"END", "STOP", NULL};

    struct built b = build(&p, "sk-test", m, 3, &pp, 0);
    is_int(b.rc, 0, "openai: built");
    is_str(b.req.url, "https://api.openai.com/v1/chat/completions",
           "openai: default URL");
    is_str(hdr(&b.req, "Authorization"), "Bearer sk-test",
           "openai: bearer key");
    is_str(hdr(&b.req, "Content-Type"), "application/json",
           "openai: content type");
    ok(hdr(&b.req, "Accept") == NULL, "openai: no SSE accept unless streaming");
    ok(!key_anywhere_but_headers(&b, "sk-test"), "openai: key only in header");
    is_str(jstr(b.body, "model"), "gpt-4o", "openai: model");
    is_int(jsize(b.body, "messages"), 3, "openai: three messages");
    is_str(jstr(b.body, "messages.0.role"), "user", "openai: role 0");
    is_str(jstr(b.body, "messages.1.role"), "assistant", "openai: role 1");
    is_str(jstr(b.body, "messages.2.content"), "more", "openai: content 2");
    ok(jget(b.body, "temperature") == NULL &&
           jget(b.body, "max_tokens") == NULL &&
           jget(b.body, "top_p") == NULL && jget(b.body, "stop") == NULL &&
           jget(b.body, "stream") == NULL,
       "openai: unset parameters left out");
    built_free(&b);

    pp.system = "You are terse.";
    pp.temperature = 0.7;
    pp.max_tokens = 256;
    pp.top_p = 0.9;
    pp.top_k = 40;
    pp.stop = stop;
    b = build(&p, "sk-test", m, 3, &pp, 1);
    is_int(jsize(b.body, "messages"), 4, "openai: system prompt added");
    is_str(jstr(b.body, "messages.0.role"), "system", "openai: system first");
    is_str(jstr(b.body, "messages.0.content"), "You are terse.",
           "openai: system text");
    ok(jnum(b.body, "temperature") == 0.7, "openai: temperature");
    ok(jnum(b.body, "max_tokens") == 256, "openai: max_tokens");
    ok(jget(b.body, "max_completion_tokens") == NULL,
       "openai: no max_completion_tokens for gpt-4o");
    ok(jnum(b.body, "top_p") == 0.9, "openai: top_p");
    ok(jget(b.body, "top_k") == NULL, "openai: never top_k");
    is_int(jsize(b.body, "stop"), 2, "openai: stop array");
    is_str(jstr(b.body, "stop.1"), "STOP", "openai: stop values");
    ok(cJSON_IsTrue(jget(b.body, "stream")), "openai: stream true");
    ok(cJSON_IsTrue(jget(b.body, "stream_options.include_usage")),
       "openai: include_usage");
    is_str(hdr(&b.req, "Accept"), "text/event-stream", "openai: SSE accept");
    built_free(&b);

    pp.temperature = 0;
    pp.top_p = 0;
    b = build(&p, "sk-test", convo, 6, &pp, 0);
    ok(jnum(b.body, "temperature") == 0 && jnum(b.body, "top_p") == 0,
       "openai: zero temperature/top_p are sent");
    is_int(jsize(b.body, "messages"), 6,
           "openai: messages with a system message: no extra system");
    is_str(jstr(b.body, "messages.0.content"), "Be brief.",
           "openai: the conversation's own system message kept");
    built_free(&b);

    const char *reasoning[] = {"o1",    "o1-mini",    "o3-mini", "o4-mini",
                               "gpt-5", "gpt-5-nano", NULL};
    for (int i = 0; reasoning[i]; i++) {
        p.model = (char *)reasoning[i];
        b = build(&p, "k", m, 1, &pp, 0);
        ok(jnum(b.body, "max_completion_tokens") == 256 &&
               jget(b.body, "max_tokens") == NULL,
           "openai: %s gets max_completion_tokens", reasoning[i]);
        built_free(&b);
    }
    p.model = "gpt-4.1";
    b = build(&p, "k", m, 1, &pp, 0);
    ok(jnum(b.body, "max_tokens") == 256, "openai: gpt-4.1 gets max_tokens");
    built_free(&b);

    p.model = "llama3";
    p.base_url = "http://127.0.0.1:8080/v1/";
    b = build(&p, NULL, m, 1, &pp, 0);
    is_str(b.req.url, "http://127.0.0.1:8080/v1/chat/completions",
           "openai: base_url, trailing slash stripped");
    ok(hdr(&b.req, "Authorization") == NULL, "openai: no key, no header");
    built_free(&b);
    b = build(&p, "", m, 1, &pp, 0);
    ok(hdr(&b.req, "Authorization") == NULL, "openai: empty key, no header");
    built_free(&b);

    /* Azure OpenAI */
    p.model = "gpt-4o";
    p.base_url = "https://res.openai.azure.com/";
    p.api_version = "2024-06-01";
    b = build(&p, "azkey123", m, 1, &pp, 0);
    is_str(b.req.url,
           "https://res.openai.azure.com/openai/deployments/gpt-4o/chat/"
           "completions?api-version=2024-06-01",
           "azure: deployment URL");
    is_str(hdr(&b.req, "api-key"), "azkey123", "azure: api-key header");
    ok(hdr(&b.req, "Authorization") == NULL, "azure: no Authorization");
    ok(!key_anywhere_but_headers(&b, "azkey123"), "azure: key only in header");
    built_free(&b);
    p.base_url = NULL;
    b = build(&p, "azkey123", m, 1, &pp, 0);
    is_int(b.rc, -1, "azure without base_url fails");
    ok(b.err && strstr(b.err, "base_url"), "azure: says base_url");
    built_free(&b);
    p.api_version = NULL;

    /* Errors */
    b = build(&p, "sk-bad\r\nX-Evil: 1", m, 1, &pp, 0);
    is_int(b.rc, -1, "key with CRLF refused");
    ok(b.err && !strstr(b.err, "sk-bad"), "refusal does not quote the key");
    built_free(&b);
    flexiai_message odd[] = {{.role = "robot", .content = "x"}};
    b = build(&p, "k", odd, 1, &pp, 0);
    is_int(b.rc, -1, "unknown role refused");
    is_str(b.err, "unknown message role 'robot'", "unknown role message");
    built_free(&b);
    p.model = NULL;
    b = build(&p, "k", m, 1, &pp, 0);
    is_int(b.rc, -1, "no model refused");
    built_free(&b);
}

static void
test_build_anthropic(void)
{
    struct fx_provider p = make_provider("anthropic", "claude-sonnet-4-5");
    struct fx_params pp = unset_params();
    char *stop[] = {"\n\nHuman:", NULL};

    struct built b = build(&p, "sk-ant-xyz", convo, 6, &pp, 0);
    is_int(b.rc, 0, "anthropic: built");
    is_str(b.req.url, "https://api.anthropic.com/v1/messages",
           "anthropic: default URL");
    is_str(hdr(&b.req, "Authorization"), "Bearer sk-ant-xyz",
           "anthropic: bearer key under 2026-10-21, as the SDK sends it");
    is_str(hdr(&b.req, "x-api-key"), NULL, "anthropic: no x-api-key then");
    is_str(hdr(&b.req, "anthropic-version"), "2026-10-21",
           "anthropic: version header, the SDKs' default");
    is_str(hdr(&b.req, "content-type"), "application/json",
           "anthropic: content-type");
    ok(!key_anywhere_but_headers(&b, "sk-ant-xyz"),
       "anthropic: key only in header");
    is_str(jstr(b.body, "model"), "claude-sonnet-4-5", "anthropic: model");
    ok(jnum(b.body, "max_tokens") == 1024, "anthropic: default max_tokens");
    is_str(jstr(b.body, "system"), "Be brief.", "anthropic: system top level");
    is_int(jsize(b.body, "messages"), 3, "anthropic: merged to 3 turns");
    is_str(jstr(b.body, "messages.0.role"), "user", "anthropic: turn 0 user");
    is_str(jstr(b.body, "messages.0.content"), "a\n\nb",
           "anthropic: users merged");
    is_str(jstr(b.body, "messages.1.role"), "assistant",
           "anthropic: turn 1 assistant");
    is_str(jstr(b.body, "messages.1.content"), "c\n\nd",
           "anthropic: assistants merged");
    is_str(jstr(b.body, "messages.2.content"), "e", "anthropic: last turn");
    ok(jget(b.body, "temperature") == NULL && jget(b.body, "top_k") == NULL &&
           jget(b.body, "stop_sequences") == NULL &&
           jget(b.body, "stream") == NULL,
       "anthropic: unset parameters left out");
    built_free(&b);

    flexiai_message m[] = {
        {.role = "assistant", .content = "Hello! How can I help?"},
        {.role = "system", .content = "Second rule."},
        {.role = "user", .content = "Tell me"}};
    pp.system = "First rule.";
    pp.max_tokens = 500;
    pp.temperature = 0.2;
    pp.top_p = 0.8;
    pp.top_k = 5;
    pp.stop = stop;
    p.base_url = "http://127.0.0.1:1234/";
    p.api_version = "2023-06-01"; /* sampling parameters allowed */
    b = build(&p, "k", m, 3, &pp, 1);
    is_str(hdr(&b.req, "x-api-key"), "k", "anthropic 2023-06-01: x-api-key");
    is_str(b.req.url, "http://127.0.0.1:1234/v1/messages",
           "anthropic: base_url");
    is_str(jstr(b.body, "system"), "Second rule.",
           "anthropic: the conversation's system message wins over the "
           "configured one, as for openai");
    ok(jnum(b.body, "max_tokens") == 500, "anthropic: max_tokens");
    is_int(jsize(b.body, "messages"), 3,
           "anthropic: placeholder user turn before a leading assistant");
    is_str(jstr(b.body, "messages.0.role"), "user", "anthropic: starts user");
    is_str(jstr(b.body, "messages.0.content"), "...",
           "anthropic: placeholder text");
    is_str(jstr(b.body, "messages.1.role"), "assistant",
           "anthropic: then the assistant");
    ok(jnum(b.body, "temperature") == 0.2, "anthropic: temperature");
    ok(jnum(b.body, "top_p") == 0.8, "anthropic: top_p");
    ok(jnum(b.body, "top_k") == 5, "anthropic: top_k");
    is_str(jstr(b.body, "stop_sequences.0"),
           "\n\nHuman:", "anthropic: stop_sequences");
    ok(cJSON_IsTrue(jget(b.body, "stream")), "anthropic: stream");
    built_free(&b);

    flexiai_message only_system[] = {{.role = "system", .content = "x"}};
    b = build(&p, "k", only_system, 1, &pp, 0);
    is_int(b.rc, -1, "anthropic: no turns refused");
    built_free(&b);
}

static void
test_build_gemini(void)
{
    struct fx_provider p = make_provider("gemini", "gemini-2.5-flash");
    struct fx_params pp = unset_params();
    char *stop[] = {"###", NULL};

    struct built b = build(&p, "AIzaSyTESTKEY", convo, 6, &pp, 0);
    is_int(b.rc, 0, "gemini: built");
    is_str(b.req.url,
           "https://generativelanguage.googleapis.com/v1beta/models/"
           "gemini-2.5-flash:generateContent",
           "gemini: URL");
    is_str(hdr(&b.req, "x-goog-api-key"), "AIzaSyTESTKEY",
           "gemini: key header");
    ok(!key_anywhere_but_headers(&b, "AIzaSyTESTKEY"),
       "gemini: key not in URL or body");
    ok(strstr(b.req.url, "key=") == NULL, "gemini: no key= parameter");
    is_int(jsize(b.body, "contents"), 3, "gemini: merged contents");
    is_str(jstr(b.body, "contents.0.role"), "user", "gemini: user role");
    is_str(jstr(b.body, "contents.0.parts.0.text"), "a\n\nb",
           "gemini: merged user text");
    is_str(jstr(b.body, "contents.1.role"), "model",
           "gemini: assistant becomes model");
    is_str(jstr(b.body, "contents.1.parts.0.text"), "c\n\nd",
           "gemini: merged model text");
    is_str(jstr(b.body, "systemInstruction.parts.0.text"), "Be brief.",
           "gemini: systemInstruction");
    ok(jget(b.body, "generationConfig") == NULL,
       "gemini: no generationConfig when nothing is set");
    ok(strstr(b.req.body, "\"system\"") == NULL,
       "gemini: no system role in contents");
    built_free(&b);

    pp.system = "Rule.";
    pp.temperature = 1.5;
    pp.max_tokens = 100;
    pp.top_p = 0.95;
    pp.top_k = 3;
    pp.stop = stop;
    p.model = "models/gemini-2.5-pro";
    flexiai_message m[] = {{.role = "user", .content = "hi"}};
    b = build(&p, "AIzaSyTESTKEY", m, 1, &pp, 1);
    is_str(b.req.url,
           "https://generativelanguage.googleapis.com/v1beta/models/"
           "gemini-2.5-pro:streamGenerateContent?alt=sse",
           "gemini: streaming URL, models/ prefix dropped");
    is_str(hdr(&b.req, "Accept"), "text/event-stream", "gemini: SSE accept");
    ok(jnum(b.body, "generationConfig.temperature") == 1.5,
       "gemini: temperature");
    ok(jnum(b.body, "generationConfig.maxOutputTokens") == 100,
       "gemini: maxOutputTokens");
    ok(jnum(b.body, "generationConfig.topP") == 0.95, "gemini: topP");
    ok(jnum(b.body, "generationConfig.topK") == 3, "gemini: topK");
    is_str(jstr(b.body, "generationConfig.stopSequences.0"), "###",
           "gemini: stopSequences");
    is_str(jstr(b.body, "systemInstruction.parts.0.text"), "Rule.",
           "gemini: system prompt alone");
    built_free(&b);

    flexiai_message lead[] = {{.role = "assistant", .content = "Hi"},
                              {.role = "user", .content = "q"}};
    p.base_url = "http://localhost:9999";
    pp = unset_params();
    pp.max_tokens = 10;
    b = build(&p, "k", lead, 2, &pp, 0);
    is_str(b.req.url,
           "http://localhost:9999/v1beta/models/gemini-2.5-pro:"
           "generateContent",
           "gemini: base_url");
    is_str(jstr(b.body, "contents.0.role"), "user",
           "gemini: placeholder user turn first");
    is_str(jstr(b.body, "contents.1.role"), "model", "gemini: then model");
    ok(jget(b.body, "generationConfig.temperature") == NULL &&
           jnum(b.body, "generationConfig.maxOutputTokens") == 10,
       "gemini: only the set generationConfig fields");
    ok(jget(b.body, "systemInstruction") == NULL,
       "gemini: no systemInstruction without system text");
    built_free(&b);
}

static void
test_build_vertex(void)
{
    struct fx_provider p = make_provider("vertex", "gemini-2.5-pro");
    struct fx_params pp = unset_params();
    flexiai_message m[] = {{.role = "system", .content = "S"},
                           {.role = "user", .content = "hi"}};

    struct built b = build(&p, "ya29.token", m, 2, &pp, 0);
    is_int(b.rc, -1, "vertex: missing project refused");
    is_str(b.err, "vertex provider needs project", "vertex: message");
    built_free(&b);

    p.project = "my-proj";
    b = build(&p, "ya29.token", m, 2, &pp, 0);
    is_int(b.rc, 0, "vertex: built");
    is_str(b.req.url,
           "https://us-central1-aiplatform.googleapis.com/v1/projects/my-proj/"
           "locations/us-central1/publishers/google/models/gemini-2.5-pro:"
           "generateContent",
           "vertex: default location URL");
    is_str(hdr(&b.req, "Authorization"), "Bearer ya29.token",
           "vertex: bearer token");
    ok(hdr(&b.req, "x-goog-api-key") == NULL, "vertex: no API key header");
    ok(!key_anywhere_but_headers(&b, "ya29.token"),
       "vertex: token only in header");
    is_str(jstr(b.body, "systemInstruction.parts.0.text"), "S",
           "vertex: Gemini body");
    is_str(jstr(b.body, "contents.0.role"), "user", "vertex: contents");
    built_free(&b);

    p.location = "europe-west4";
    b = build(&p, "t", m, 2, &pp, 1);
    is_str(b.req.url,
           "https://europe-west4-aiplatform.googleapis.com/v1/projects/"
           "my-proj/locations/europe-west4/publishers/google/models/"
           "gemini-2.5-pro:streamGenerateContent?alt=sse",
           "vertex: location and streaming URL");
    built_free(&b);

    p.location = "global";
    b = build(&p, "t", m, 2, &pp, 0);
    is_str(b.req.url,
           "https://aiplatform.googleapis.com/v1/projects/my-proj/locations/"
           "global/publishers/google/models/gemini-2.5-pro:generateContent",
           "vertex: global endpoint");
    built_free(&b);

    p.location = "us-central1";
    p.base_url = "http://127.0.0.1:8089/";
    b = build(&p, "t", m, 2, &pp, 0);
    is_str(b.req.url,
           "http://127.0.0.1:8089/v1/projects/my-proj/locations/us-central1/"
           "publishers/google/models/gemini-2.5-pro:generateContent",
           "vertex: base_url replaces the googleapis host");
    built_free(&b);

    p.base_url = NULL;
    p.location = "evil.com/x?";
    b = build(&p, "t", m, 2, &pp, 0);
    is_int(b.rc, -1, "vertex: location with odd characters refused");
    built_free(&b);
}

/* ---- parse_response ----------------------------------------------------- */

static void
test_parse_openai(void)
{
    struct fx_response r;
    struct fx_error e;
    const char *body =
        "{\"id\":\"chatcmpl-1\",\"object\":\"chat.completion\",\"model\":"
        "\"gpt-4o-2024-08-06\",\"choices\":[{\"index\":0,\"message\":{\"role\":"
        "\"assistant\",\"content\":\"Hello there.\"},\"finish_reason\":"
        "\"stop\"}],\"usage\":{\"prompt_tokens\":10,\"completion_tokens\":3,"
        "\"total_tokens\":13}}";
    is_int(parse("openai", body, &r, &e), 0, "openai parse: ok");
    is_str(r.text.data, "Hello there.", "openai parse: text");
    is_str(r.model, "gpt-4o-2024-08-06", "openai parse: model");
    is_str(r.finish_reason, "stop", "openai parse: finish");
    ok(r.has_usage && r.prompt_tokens == 10 && r.completion_tokens == 3 &&
           r.total_tokens == 13,
       "openai parse: usage");
    fx_response_free(&r);

    static const char *const fin[][2] = {
        {"stop", "stop"},
        {"length", "length"},
        {"content_filter", "content_filter"},
        {"tool_calls", "tool_calls"},
        {"function_call", "tool_calls"},
        {"something_new", "stop"},
    };
    for (size_t i = 0; i < sizeof fin / sizeof fin[0]; i++) {
        char *b = fxu_asprintf("{\"choices\":[{\"message\":{\"content\":\"x\"},"
                               "\"finish_reason\":\"%s\"}]}",
                               fin[i][0]);
        parse("openai", b, &r, &e);
        is_str(r.finish_reason, fin[i][1], "openai finish %s", fin[i][0]);
        fx_response_free(&r);
        free(b);
    }

    is_int(parse("openai",
                 "{\"choices\":[{\"message\":{\"content\":\"x\"},"
                 "\"finish_reason\":null}]}",
                 &r, &e),
           0, "openai parse: no usage is fine");
    is_int(r.has_usage, 0, "openai parse: has_usage 0 without usage");
    is_str(r.finish_reason, "stop", "openai parse: null finish is stop");
    ok(r.model == NULL, "openai parse: no model given");
    fx_response_free(&r);

    is_int(parse("openai",
                 "{\"choices\":[{\"message\":{\"content\":null,\"tool_calls\":"
                 "[]},\"finish_reason\":\"tool_calls\"}],\"usage\":null}",
                 &r, &e),
           0, "openai parse: null content with tool calls");
    is_str(r.text.data ? r.text.data : "", "", "openai parse: empty text");
    is_int(r.has_usage, 0, "openai parse: usage null");
    fx_response_free(&r);

    is_int(parse("openai",
                 "{\"choices\":[{\"message\":{\"content\":[{\"type\":"
                 "\"text\",\"text\":\"part one, \"},{\"type\":\"text\","
                 "\"text\":\"part two\"}]},\"finish_reason\":\"stop\"}]}",
                 &r, &e),
           0, "openai parse: content as an array of parts");
    is_str(r.text.data, "part one, part two", "openai parse: parts joined");
    fx_response_free(&r);
    is_int(parse("openai", "{\"choices\":[{\"message\":{\"content\":5}}]}", &r,
                 &e),
           -1, "openai parse: content of the wrong type");
    fx_response_free(&r);

    is_int(parse("openai", "{\"choices\":[", &r, &e), -1,
           "openai parse: truncated JSON");
    is_int(e.cls, FLEXIAI_E_STREAM_ERROR, "openai parse: stream_error class");
    is_str(e.msg, "malformed JSON in response", "openai parse: message");
    fx_response_free(&r);
    is_int(parse("openai", "<html><body>Bad Gateway</body></html>", &r, &e), -1,
           "openai parse: HTML");
    is_str(e.msg, "malformed JSON in response", "openai parse: HTML message");
    fx_response_free(&r);
    is_int(parse("openai", "{\"choices\":[]}", &r, &e), -1,
           "openai parse: empty choices");
    is_str(e.msg, "response has no choices", "openai parse: no choices");
    fx_response_free(&r);
    is_int(parse("openai", "{\"object\":\"chat.completion\"}", &r, &e), -1,
           "openai parse: missing choices");
    is_str(e.msg, "response has no choices", "openai parse: missing message");
    fx_response_free(&r);
    is_int(
        parse("openai", "{\"choices\":[{\"finish_reason\":\"stop\"}]}", &r, &e),
        -1, "openai parse: choice without message");
    fx_response_free(&r);
    is_int(parse("openai",
                 "{\"error\":{\"message\":\"The server had an error\","
                 "\"type\":\"server_error\"}}",
                 &r, &e),
           -1, "openai parse: error in 200");
    is_int(e.cls, FLEXIAI_E_STREAM_ERROR, "openai parse: error class");
    is_str(e.msg, "error in 200 response: The server had an error",
           "openai parse: error message");
    fx_response_free(&r);
    is_int(parse("openai", "[1,2]", &r, &e), -1, "openai parse: array body");
    fx_response_free(&r);
}

static void
test_parse_anthropic(void)
{
    struct fx_response r;
    struct fx_error e;
    const char *body =
        "{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\","
        "\"model\":\"claude-sonnet-4-5-20250929\",\"content\":["
        "{\"type\":\"thinking\",\"thinking\":\"hmm\"},"
        "{\"type\":\"text\",\"text\":\"Hello\"},"
        "{\"type\":\"text\",\"text\":\", world\"}],"
        "\"stop_reason\":\"end_turn\",\"stop_sequence\":null,"
        "\"usage\":{\"input_tokens\":12,\"output_tokens\":34}}";
    is_int(parse("anthropic", body, &r, &e), 0, "anthropic parse: ok");
    is_str(r.text.data, "Hello, world",
           "anthropic parse: text blocks joined, thinking skipped");
    is_str(r.model, "claude-sonnet-4-5-20250929", "anthropic parse: model");
    is_str(r.finish_reason, "stop", "anthropic parse: end_turn");
    ok(r.has_usage && r.prompt_tokens == 12 && r.completion_tokens == 34 &&
           r.total_tokens == 46,
       "anthropic parse: usage, total is the sum");
    fx_response_free(&r);

    static const char *const fin[][2] = {
        {"end_turn", "stop"},
        {"stop_sequence", "stop"},
        {"max_tokens", "length"},
        {"tool_use", "tool_calls"},
        {"refusal", "content_filter"},
        {"model_context_window_exceeded", "length"},
    };
    for (size_t i = 0; i < sizeof fin / sizeof fin[0]; i++) {
        char *b = fxu_asprintf("{\"content\":[{\"type\":\"text\",\"text\":"
                               "\"x\"}],\"stop_reason\":\"%s\"}",
                               fin[i][0]);
        parse("anthropic", b, &r, &e);
        is_str(r.finish_reason, fin[i][1], "anthropic finish %s", fin[i][0]);
        is_int(r.has_usage, 0, "anthropic parse: no usage (%s)", fin[i][0]);
        fx_response_free(&r);
        free(b);
    }

    is_int(parse("anthropic", "{\"content\":", &r, &e), -1,
           "anthropic parse: malformed");
    is_str(e.msg, "malformed JSON in response", "anthropic parse: message");
    fx_response_free(&r);
    is_int(parse("anthropic", "{\"type\":\"message\"}", &r, &e), -1,
           "anthropic parse: no content");
    is_str(e.msg, "response has no content", "anthropic parse: no content msg");
    fx_response_free(&r);
    is_int(parse("anthropic",
                 "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
                 "\"message\":\"Overloaded\"}}",
                 &r, &e),
           -1, "anthropic parse: error in 200");
    is_int(e.cls, FLEXIAI_E_STREAM_ERROR, "anthropic parse: error class");
    is_str(e.msg, "error in 200 response: overloaded_error: Overloaded",
           "anthropic parse: error message");
    fx_response_free(&r);
}

static void
test_parse_gemini(void)
{
    struct fx_response r;
    struct fx_error e;
    const char *body =
        "{\"candidates\":[{\"content\":{\"role\":\"model\",\"parts\":["
        "{\"text\":\"thinking...\",\"thought\":true},"
        "{\"text\":\"The answer\"},{\"text\":\" is 4.\"}]},"
        "\"finishReason\":\"STOP\",\"index\":0}],"
        "\"usageMetadata\":{\"promptTokenCount\":7,\"candidatesTokenCount\":5,"
        "\"totalTokenCount\":20,\"thoughtsTokenCount\":8},"
        "\"modelVersion\":\"gemini-2.5-flash\"}";
    for (int v = 0; v < 2; v++) {
        const char *type = v ? "vertex" : "gemini";
        is_int(parse(type, body, &r, &e), 0, "%s parse: ok", type);
        is_str(r.text.data, "The answer is 4.",
               "%s parse: text, thought part skipped", type);
        is_str(r.finish_reason, "stop", "%s parse: STOP", type);
        is_str(r.model, "gemini-2.5-flash", "%s parse: modelVersion", type);
        /* thoughts bill as output: completion holds them, as a part */
        ok(r.has_usage && r.prompt_tokens == 7 && r.completion_tokens == 13 &&
               r.reasoning_tokens == 8 && r.total_tokens == 20,
           "%s parse: usage, thoughts in completion_tokens", type);
        fx_response_free(&r);
    }

    static const char *const fin[][2] = {
        {"STOP", "stop"},
        {"MAX_TOKENS", "length"},
        {"SAFETY", "content_filter"},
        {"RECITATION", "content_filter"},
        {"BLOCKLIST", "content_filter"},
        {"PROHIBITED_CONTENT", "content_filter"},
        {"SPII", "content_filter"},
        {"OTHER", "stop"},
    };
    for (size_t i = 0; i < sizeof fin / sizeof fin[0]; i++) {
        char *b = fxu_asprintf("{\"candidates\":[{\"content\":{\"parts\":[{"
                               "\"text\":\"x\"}]},\"finishReason\":\"%s\"}]}",
                               fin[i][0]);
        parse("gemini", b, &r, &e);
        is_str(r.finish_reason, fin[i][1], "gemini finish %s", fin[i][0]);
        fx_response_free(&r);
        free(b);
    }
    is_int(parse("gemini", "{\"candidates\":[{\"finishReason\":\"SAFETY\"}]}",
                 &r, &e),
           0, "gemini parse: candidate blocked without content");
    is_int(r.has_usage, 0, "gemini parse: no usage");
    fx_response_free(&r);

    is_int(parse("gemini",
                 "{\"promptFeedback\":{\"blockReason\":\"SAFETY\"},"
                 "\"usageMetadata\":{\"promptTokenCount\":5}}",
                 &r, &e),
           -1, "gemini parse: prompt blocked");
    is_int(e.cls, FLEXIAI_E_CONTENT_FILTER, "gemini parse: content_filter");
    is_str(e.msg, "prompt blocked: SAFETY", "gemini parse: block message");
    fx_response_free(&r);
    is_int(parse("gemini", "{\"candidates\":[]}", &r, &e), -1,
           "gemini parse: no candidates");
    is_int(e.cls, FLEXIAI_E_STREAM_ERROR, "gemini parse: stream_error");
    is_str(e.msg, "response has no candidates", "gemini parse: message");
    fx_response_free(&r);
    is_int(parse("gemini", "not json", &r, &e), -1, "gemini parse: malformed");
    is_str(e.msg, "malformed JSON in response", "gemini parse: malformed msg");
    fx_response_free(&r);
    is_int(parse("gemini",
                 "{\"error\":{\"code\":500,\"message\":\"Internal error\","
                 "\"status\":\"INTERNAL\"}}",
                 &r, &e),
           -1, "gemini parse: error in 200");
    is_str(e.msg, "error in 200 response: INTERNAL: Internal error",
           "gemini parse: error message");
    fx_response_free(&r);
}

/* ---- streams ------------------------------------------------------------ */

static const char openai_stream[] =
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":"
    "\"gpt-4o-mini\",\"choices\":[{\"index\":0,\"delta\":{\"role\":"
    "\"assistant\",\"content\":\"\"},\"finish_reason\":null}],\"usage\":null}"
    "\n\n"
    "data: {\"id\":\"c1\",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,"
    "\"delta\":{\"content\":\"Hel\"},\"finish_reason\":null}],\"usage\":null}"
    "\n\n"
    ": keep-alive\n\n"
    "data: {\"id\":\"c1\",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,"
    "\"delta\":{\"content\":\"lo \\u00e9\\u65e5\"},\"finish_reason\":null}],"
    "\"usage\":null}\r\n\r\n"
    "data: {\"id\":\"c1\",\"model\":\"gpt-4o-mini\",\"choices\":[{\"index\":0,"
    "\"delta\":{},\"finish_reason\":\"length\"}],\"usage\":null}\n\n"
    "data: {\"id\":\"c1\",\"model\":\"gpt-4o-mini\",\"choices\":[],\"usage\":"
    "{\"prompt_tokens\":9,\"completion_tokens\":4,\"total_tokens\":13}}\n\n"
    "data: [DONE]\n\n";

static const char anthropic_stream[] =
    "event: message_start\n"
    "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":"
    "\"message\",\"role\":\"assistant\",\"content\":[],\"model\":"
    "\"claude-sonnet-4-5\",\"stop_reason\":null,\"stop_sequence\":null,"
    "\"usage\":{\"input_tokens\":25,\"output_tokens\":1}}}\n\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":"
    "{\"type\":\"text\",\"text\":\"\"}}\n\n"
    "event: ping\n"
    "data: {\"type\": \"ping\"}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
    "\"text_delta\",\"text\":\"Hello\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
    "\"thinking_delta\",\"thinking\":\"hmm\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
    "\"text_delta\",\"text\":\"!\"}}\n\n"
    "event: content_block_stop\n"
    "data: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
    "event: message_delta\n"
    "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":"
    "\"end_turn\",\"stop_sequence\":null},\"usage\":{\"output_tokens\":15}}"
    "\n\n"
    "event: message_stop\n"
    "data: {\"type\":\"message_stop\"}\n\n";

static const char anthropic_error_stream[] =
    "event: message_start\n"
    "data: {\"type\":\"message_start\",\"message\":{\"model\":\"claude\","
    "\"usage\":{\"input_tokens\":3,\"output_tokens\":1}}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
    "\"text_delta\",\"text\":\"Partial answ\"}}\n\n"
    "event: error\n"
    "data: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
    "\"message\":\"Overloaded\"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":"
    "\"text_delta\",\"text\":\"never\"}}\n\n";

static const char gemini_stream[] =
    "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"plan\","
    "\"thought\": true}],\"role\": \"model\"}}],\"modelVersion\": "
    "\"gemini-2.5-flash\"}\r\n\r\n"
    "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"One,\"}],"
    "\"role\": \"model\"}}],\"usageMetadata\": {\"promptTokenCount\": 4,"
    "\"totalTokenCount\": 4},\"modelVersion\": \"gemini-2.5-flash\"}\r\n\r\n"
    "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \" two.\"}],"
    "\"role\": \"model\"},\"finishReason\": \"STOP\"}],\"usageMetadata\": "
    "{\"promptTokenCount\": 4,\"candidatesTokenCount\": 3,"
    "\"totalTokenCount\": 7},\"modelVersion\": \"gemini-2.5-flash\"}\r\n\r\n";

static void
test_streams(void)
{
    struct fx_response r;
    struct feed f;
    static const uint32_t seeds[] = {0, 1, 99, 12345};

    for (size_t s = 0; s < 4; s++) {
        int rc = run_stream("openai", openai_stream, seeds[s], &r, &f);
        is_int(rc, 1, "openai stream (seed %u): ends at [DONE]", seeds[s]);
        is_int(f.st.done, 1, "openai stream: done");
        is_str(r.text.data, "Hello \xc3\xa9\xe6\x97\xa5",
               "openai stream: text");
        is_str(f.seen.data, r.text.data, "openai stream: on_text got it all");
        is_int((long)f.st.emitted, (long)r.text.len, "openai stream: emitted");
        is_str(r.finish_reason, "length", "openai stream: finish_reason");
        is_str(r.model, "gpt-4o-mini", "openai stream: model");
        ok(r.has_usage && r.prompt_tokens == 9 && r.completion_tokens == 4 &&
               r.total_tokens == 13,
           "openai stream: usage from the last chunk");
        feed_free(&f, &r);
    }

    for (size_t s = 0; s < 4; s++) {
        int rc = run_stream("anthropic", anthropic_stream, seeds[s], &r, &f);
        is_int(rc, 1, "anthropic stream (seed %u): ends at message_stop",
               seeds[s]);
        is_int(f.st.done, 1, "anthropic stream: done");
        is_str(r.text.data, "Hello!", "anthropic stream: text");
        is_str(r.finish_reason, "stop", "anthropic stream: end_turn -> stop");
        is_str(r.model, "claude-sonnet-4-5", "anthropic stream: model");
        ok(r.has_usage && r.prompt_tokens == 25 && r.completion_tokens == 15 &&
               r.total_tokens == 40,
           "anthropic stream: usage");
        feed_free(&f, &r);
    }

    int rc = run_stream("anthropic", anthropic_error_stream, 7, &r, &f);
    is_int(rc, -1, "anthropic error event: -1");
    is_int(f.st.err.cls, FLEXIAI_E_STREAM_ERROR, "anthropic error: class");
    is_str(f.st.err.msg, "overloaded_error: Overloaded",
           "anthropic error: provider type kept in the message");
    is_str(r.text.data, "Partial answ", "anthropic error: text so far kept");
    is_int(f.st.done, 0, "anthropic error: not done");
    feed_free(&f, &r);

    const char *types[] = {"gemini", "vertex"};
    for (size_t s = 0; s < 4; s++) {
        const char *type = types[s % 2];
        rc = run_stream(type, gemini_stream, seeds[s], &r, &f);
        is_int(rc, 0, "%s stream (seed %u): no end marker", type, seeds[s]);
        is_int(f.st.done, 0, "%s stream: done stays 0", type);
        is_str(r.text.data, "One, two.", "%s stream: text, thought skipped",
               type);
        is_str(r.finish_reason, "stop", "%s stream: finish", type);
        is_str(r.model, "gemini-2.5-flash", "%s stream: model", type);
        ok(r.has_usage && r.prompt_tokens == 4 && r.completion_tokens == 3 &&
               r.total_tokens == 7,
           "%s stream: usage from the last chunk", type);
        feed_free(&f, &r);
    }

    /* Errors inside streams */
    rc = run_stream("openai",
                    "data: {\"choices\":[{\"delta\":{\"content\":\"a\"}}]}\n\n"
                    "data: {\"error\":{\"message\":\"The server had an error "
                    "while processing your request.\",\"type\":"
                    "\"server_error\"}}\n\n",
                    0, &r, &f);
    is_int(rc, -1, "openai error chunk: -1");
    is_int(f.st.err.cls, FLEXIAI_E_STREAM_ERROR, "openai error chunk: class");
    is_str(f.st.err.msg,
           "server_error: The server had an error while processing your "
           "request.",
           "openai error chunk: message");
    feed_free(&f, &r);

    const char *bad[] = {"openai", "anthropic", "gemini"};
    for (int i = 0; i < 3; i++) {
        const char *s = i == 1 ? "event: content_block_delta\n"
                                 "data: {\"type\":\"content_block_delta\",\n\n"
                               : "data: {\"choices\":[{\"delta\":\n\n";
        rc = run_stream(bad[i], s, 0, &r, &f);
        is_int(rc, -1, "%s: malformed event is -1", bad[i]);
        is_int(f.st.err.cls, FLEXIAI_E_STREAM_ERROR, "%s: stream_error",
               bad[i]);
        is_str(f.st.err.msg, "malformed JSON in stream event",
               "%s: malformed message", bad[i]);
        feed_free(&f, &r);
    }

    rc = run_stream("gemini",
                    "data: {\"error\":{\"code\":503,\"message\":\"The model is "
                    "overloaded.\",\"status\":\"UNAVAILABLE\"}}\n\n",
                    0, &r, &f);
    is_int(rc, -1, "gemini error chunk: -1");
    is_str(f.st.err.msg, "UNAVAILABLE: The model is overloaded.",
           "gemini error chunk: message");
    feed_free(&f, &r);

    rc = run_stream("gemini",
                    "data: {\"promptFeedback\":{\"blockReason\":"
                    "\"PROHIBITED_CONTENT\"}}\n\n",
                    0, &r, &f);
    is_int(rc, -1, "gemini blocked prompt in a stream: -1");
    is_int(f.st.err.cls, FLEXIAI_E_CONTENT_FILTER,
           "gemini blocked prompt in a stream: content_filter");
    feed_free(&f, &r);

    /* on_text asking to stop */
    fx_response_init(&r);
    memset(&f, 0, sizeof f);
    f.ops = fx_provider_ops_find("openai");
    f.st.resp = &r;
    f.st.on_text = on_text;
    f.st.ud = &f;
    f.stop_at = 1;
    const char *chunk = "{\"choices\":[{\"delta\":{\"content\":\"x\"}}]}";
    is_int(f.ops->parse_event(&f.st, "", chunk, strlen(chunk)), 0,
           "stop request: parse_event still 0");
    is_int(f.st.stop_requested, 1, "stop request recorded");
    feed_free(&f, &r);
}

/* ---- classify ----------------------------------------------------------- */

static void
test_classify_openai(void)
{
    double now = 1800000000.0;
    struct fx_headers h = headers("retry-after", "2", NULL);
    struct fx_error e = classify(
        "openai", 429,
        "{\"error\":{\"message\":\"Rate limit reached for gpt-4o in "
        "organization org-x on requests per min (RPM): Limit 3, Used 3.\","
        "\"type\":\"requests\",\"param\":null,\"code\":"
        "\"rate_limit_exceeded\"}}",
        &h, now);
    fx_headers_free(&h);
    is_int(e.cls, FLEXIAI_E_RATE_LIMIT, "openai 429: rate_limit");
    is_int(e.status, 429, "openai 429: status kept");
    ok(e.retry_after == 2, "openai 429: retry-after 2");
    is_str(e.msg,
           "HTTP 429 rate_limit_exceeded: Rate limit reached for gpt-4o in "
           "organization org-x on requests per min (RPM): Limit 3, Used 3.",
           "openai 429: message");

    h = headers("retry-after-ms", "250", "retry-after", "1", NULL);
    e = classify("openai", 429,
                 "{\"error\":{\"message\":\"Slow down\",\"type\":"
                 "\"rate_limit_exceeded\",\"code\":null}}",
                 &h, now);
    fx_headers_free(&h);
    ok(e.retry_after == 0.25, "openai: retry-after-ms wins");
    is_str(e.msg, "HTTP 429 rate_limit_exceeded: Slow down",
           "openai: type used when code is null");

    h = headers("x-ratelimit-reset-requests", "6m0s",
                "x-ratelimit-reset-tokens", "20ms", NULL);
    e = classify("openai", 429,
                 "{\"error\":{\"message\":\"You exceeded your current quota, "
                 "please check your plan and billing details.\",\"type\":"
                 "\"insufficient_quota\",\"code\":\"insufficient_quota\"}}",
                 &h, now);
    fx_headers_free(&h);
    is_int(e.cls, FLEXIAI_E_QUOTA, "openai insufficient_quota: quota");
    ok(e.retry_after == 360, "openai: x-ratelimit-reset-requests 6m0s");

    e = classify(
        "openai", 400,
        "{\"error\":{\"message\":\"This model's maximum context "
        "length is 8192 tokens.\",\"type\":\"invalid_request_error\","
        "\"param\":\"messages\",\"code\":\"context_length_exceeded\"}}",
        NULL, now);
    is_int(e.cls, FLEXIAI_E_CONTEXT_LENGTH, "openai context_length_exceeded");
    ok(e.retry_after == -1, "openai: no headers, retry_after -1");
    e = classify("openai", 400,
                 "{\"error\":{\"message\":\"This model's maximum context "
                 "length is 8192 tokens.\",\"type\":\"invalid_request_error\","
                 "\"code\":null}}",
                 NULL, now);
    is_int(e.cls, FLEXIAI_E_CONTEXT_LENGTH,
           "openai: too long said only in the message");
    e = classify("openai", 400,
                 "{\"error\":{\"message\":\"Invalid value for 'temperature'\","
                 "\"type\":\"invalid_request_error\",\"code\":null}}",
                 NULL, now);
    is_int(e.cls, FLEXIAI_E_BAD_REQUEST, "openai: plain 400 bad_request");
    is_str(e.msg,
           "HTTP 400 invalid_request_error: Invalid value for 'temperature'",
           "openai: 400 message");

    e = classify("openai", 401,
                 "{\"error\":{\"message\":\"Incorrect API key provided: "
                 "sk-proj-abcd************************wxyz. You can find your "
                 "API key at https://platform.openai.com/account/api-keys.\","
                 "\"type\":\"invalid_request_error\",\"code\":"
                 "\"invalid_api_key\"}}",
                 NULL, now);
    is_int(e.cls, FLEXIAI_E_AUTH, "openai 401: auth");
    ok(strstr(e.msg, "sk-") == NULL && strstr(e.msg, "wxyz") == NULL,
       "openai 401: key-like text redacted: %s", e.msg);
    ok(strstr(e.msg, "[redacted]") != NULL, "openai 401: says redacted");
    /* a token after Bearer or Basic, whatever it looks like (a JWT's
     * dots, base64's '=' included) */
    e = classify("openai", 401,
                 "{\"error\":{\"message\":\"bad header: Bearer "
                 "eyJhbGci.eyJzdWIi.c2ln, Authorization: basic dXNlcjpwdw== "
                 "rejected\",\"code\":\"invalid_api_key\"}}",
                 NULL, now);
    is_str(e.msg,
           "HTTP 401 invalid_api_key: bad header: Bearer [redacted] "
           "Authorization: basic [redacted] rejected",
           "openai 401: Bearer and Basic credentials redacted");

    e = classify("openai", 500,
                 "{\"error\":{\"message\":\"The server had an error\","
                 "\"type\":\"server_error\"}}",
                 NULL, now);
    is_int(e.cls, FLEXIAI_E_SERVER, "openai 500: server");
    e = classify("openai", 503, "{\"error\":{\"message\":\"overloaded\"}}",
                 NULL, now);
    is_int(e.cls, FLEXIAI_E_OVERLOADED, "openai 503: overloaded");
    e = classify("openai", 502,
                 "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n"
                 "</html>\r\n",
                 NULL, now);
    is_int(e.cls, FLEXIAI_E_SERVER, "openai 502 HTML: server");
    is_str(e.msg, "HTTP 502 (non-JSON body)", "openai 502 HTML: message");
    is_int(e.status, 502, "openai 502: status");
    e = classify("openai", 504, "", NULL, now);
    is_str(e.msg, "HTTP 504 (empty body)", "openai 504 empty body");
    e = classify("openai", 404, "{\"detail\":\"Not Found\"}", NULL, now);
    is_int(e.cls, FLEXIAI_E_BAD_REQUEST, "compatible 404: bad_request");
    is_str(e.msg, "HTTP 404: Not Found", "compatible server detail message");
    e = classify("openai", 408, "{}", NULL, now);
    is_int(e.cls, FLEXIAI_E_TIMEOUT, "408: timeout");
    is_str(e.msg, "HTTP 408 (no error message)", "408: no message");
    e = classify("openai", 413, "{\"error\":\"too big\"}", NULL, now);
    is_int(e.cls, FLEXIAI_E_BAD_REQUEST, "413: bad_request");
    is_str(e.msg, "HTTP 413: too big", "error as a plain string");
    e = classify("openai", 400,
                 "{\"error\":{\"message\":\"The response was filtered\","
                 "\"code\":\"content_filter\"}}",
                 NULL, now);
    is_int(e.cls, FLEXIAI_E_CONTENT_FILTER, "azure content_filter 400");

    /* A long, multi-line message becomes one short line. */
    fxu_buf long_msg;
    fxu_buf_init(&long_msg);
    fxu_buf_puts(&long_msg, "{\"error\":{\"code\":\"x\",\"message\":\"line\\n");
    for (int i = 0; i < 60; i++)
        fxu_buf_puts(&long_msg, "word \\u00e9 ");
    fxu_buf_puts(&long_msg, "\"}}");
    e = classify("openai", 400, long_msg.data, NULL, now);
    fxu_buf_free(&long_msg);
    ok(strchr(e.msg, '\n') == NULL, "long message flattened");
    ok(strlen(e.msg) <= 20 + 150 + 3, "long message truncated (%zu)",
       strlen(e.msg));
    ok(strncmp(e.msg, "HTTP 400 x: line word", 21) == 0,
       "long message starts right: %.30s", e.msg);
    ok(strcmp(e.msg + strlen(e.msg) - 3, "...") == 0, "truncation is marked");
    /* the cut is on a character boundary: no dangling lead byte */
    size_t n = strlen(e.msg) - 3;
    unsigned char last = (unsigned char)e.msg[n - 1];
    ok(last < 0x80 || (last & 0xC0) == 0x80, "cut on a UTF-8 boundary");
}

static void
test_classify_anthropic(void)
{
    double now = 1795425600.0; /* 2026-11-23T09:20:00Z */
    struct fx_error e =
        classify("anthropic", 529,
                 "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\","
                 "\"message\":\"Overloaded\"}}",
                 NULL, now);
    is_int(e.cls, FLEXIAI_E_OVERLOADED, "anthropic 529: overloaded");
    is_str(e.msg, "HTTP 529 overloaded_error: Overloaded",
           "anthropic 529: message");

    struct fx_headers h = headers(
        "anthropic-ratelimit-requests-reset", "2026-11-23T09:20:19Z",
        "anthropic-ratelimit-tokens-reset", "2026-11-23T09:20:05Z", NULL);
    e = classify("anthropic", 429,
                 "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\","
                 "\"message\":\"Number of request tokens has exceeded your "
                 "per-minute rate limit\"}}",
                 &h, now);
    fx_headers_free(&h);
    is_int(e.cls, FLEXIAI_E_RATE_LIMIT, "anthropic 429: rate_limit");
    ok(e.retry_after == 19, "anthropic: RFC 3339 reset header, the largest");
    h = headers("retry-after", "7", "anthropic-ratelimit-requests-reset",
                "2026-11-23T09:20:19Z", NULL);
    e = classify("anthropic", 429,
                 "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\","
                 "\"message\":\"x\"}}",
                 &h, now);
    fx_headers_free(&h);
    ok(e.retry_after == 7, "anthropic: retry-after before reset headers");
    h = headers("anthropic-ratelimit-output-tokens-reset",
                "2026-11-23T09:21:00Z", NULL);
    e = classify("anthropic", 429,
                 "{\"type\":\"error\",\"error\":{\"type\":\"rate_limit_error\","
                 "\"message\":\"x\"}}",
                 &h, now);
    fx_headers_free(&h);
    ok(e.retry_after == 60, "anthropic: output-tokens reset header");

    e = classify("anthropic", 401,
                 "{\"type\":\"error\",\"error\":{\"type\":"
                 "\"authentication_error\",\"message\":\"invalid x-api-key\"}}",
                 NULL, now);
    is_int(e.cls, FLEXIAI_E_AUTH, "anthropic 401: auth");
    e = classify("anthropic", 403,
                 "{\"type\":\"error\",\"error\":{\"type\":\"permission_error\","
                 "\"message\":\"no access\"}}",
                 NULL, now);
    is_int(e.cls, FLEXIAI_E_AUTH, "anthropic 403: auth");
    e = classify("anthropic", 400,
                 "{\"type\":\"error\",\"error\":{\"type\":"
                 "\"invalid_request_error\",\"message\":\"prompt is too long: "
                 "210000 tokens > 200000 maximum\"}}",
                 NULL, now);
    is_int(e.cls, FLEXIAI_E_CONTEXT_LENGTH, "anthropic: prompt too long");
    e = classify("anthropic", 400,
                 "{\"type\":\"error\",\"error\":{\"type\":"
                 "\"invalid_request_error\",\"message\":\"Your credit balance "
                 "is too low to access the Anthropic API. Please go to Plans & "
                 "Billing to upgrade or purchase credits.\"}}",
                 NULL, now);
    is_int(e.cls, FLEXIAI_E_QUOTA, "anthropic: credit balance is quota");
    e = classify("anthropic", 400,
                 "{\"type\":\"error\",\"error\":{\"type\":"
                 "\"invalid_request_error\",\"message\":\"max_tokens: must be "
                 "positive\"}}",
                 NULL, now);
    is_int(e.cls, FLEXIAI_E_BAD_REQUEST, "anthropic: plain 400");
    e = classify("anthropic", 500,
                 "{\"type\":\"error\",\"error\":{\"type\":\"api_error\","
                 "\"message\":\"Internal server error\"}}",
                 NULL, now);
    is_int(e.cls, FLEXIAI_E_SERVER, "anthropic 500: server");
    e = classify(
        "anthropic", 413,
        "{\"type\":\"error\",\"error\":{\"type\":\"request_too_large\","
        "\"message\":\"Request exceeds the maximum allowed number of "
        "bytes.\"}}",
        NULL, now);
    is_int(e.cls, FLEXIAI_E_BAD_REQUEST, "anthropic 413: bad_request");
    e = classify("anthropic", 404,
                 "{\"type\":\"error\",\"error\":{\"type\":\"not_found_error\","
                 "\"message\":\"model: claude-x\"}}",
                 NULL, now);
    is_int(e.cls, FLEXIAI_E_BAD_REQUEST, "anthropic 404: bad_request");
    is_str(e.msg, "HTTP 404 not_found_error: model: claude-x",
           "anthropic 404: message");
}

static void
test_classify_gemini(void)
{
    double now = 1800000000.0;
    const char *const types[] = {"gemini", "vertex"};
    for (int t = 0; t < 2; t++) {
        const char *ty = types[t];
        struct fx_error e =
            classify(ty, 429,
                     "{\"error\":{\"code\":429,\"message\":\"Resource has been "
                     "exhausted (e.g. check quota).\",\"status\":"
                     "\"RESOURCE_EXHAUSTED\"}}",
                     NULL, now);
        is_int(e.cls, FLEXIAI_E_RATE_LIMIT,
               "%s: generic exhausted is rate "
               "limit",
               ty);
        is_str(e.msg,
               "HTTP 429 RESOURCE_EXHAUSTED: Resource has been exhausted "
               "(e.g. check quota).",
               "%s 429: message", ty);
        ok(e.retry_after == -1, "%s: no retry delay given", ty);

        e = classify(ty, 429,
                     "{\"error\":{\"code\":429,\"message\":\"Quota exceeded "
                     "for this project.\",\"status\":\"RESOURCE_EXHAUSTED\"}}",
                     NULL, now);
        is_int(e.cls, FLEXIAI_E_QUOTA, "%s: quota in the message", ty);

        e = classify(
            ty, 429,
            "[{\"error\":{\"code\":429,\"message\":\"You exceeded your "
            "current quota, please check your plan and billing details.\","
            "\"status\":\"RESOURCE_EXHAUSTED\",\"details\":[{\"@type\":"
            "\"type.googleapis.com/google.rpc.QuotaFailure\",\"violations\":"
            "[{\"quotaMetric\":\"generativelanguage.googleapis.com/"
            "generate_content_free_tier_requests\",\"quotaId\":"
            "\"GenerateRequestsPerMinutePerProjectPerModel-FreeTier\"}]},"
            "{\"@type\":\"type.googleapis.com/google.rpc.RetryInfo\","
            "\"retryDelay\":\"7s\"}]}}]",
            NULL, now);
        is_int(e.cls, FLEXIAI_E_RATE_LIMIT,
               "%s: per-minute quota with RetryInfo is a rate limit", ty);
        ok(e.retry_after == 7, "%s: RetryInfo retryDelay 7s", ty);

        e = classify(
            ty, 429,
            "{\"error\":{\"code\":429,\"message\":\"You exceeded your "
            "current quota.\",\"status\":\"RESOURCE_EXHAUSTED\",\"details\":"
            "[{\"@type\":\"type.googleapis.com/google.rpc.QuotaFailure\","
            "\"violations\":[{\"quotaId\":"
            "\"GenerateRequestsPerDayPerProjectPerModel-FreeTier\"}]},"
            "{\"@type\":\"type.googleapis.com/google.rpc.RetryInfo\","
            "\"retryDelay\":\"20s\"}]}}",
            NULL, now);
        is_int(e.cls, FLEXIAI_E_QUOTA, "%s: daily quota is quota", ty);

        struct fx_headers h = headers("retry-after", "3", NULL);
        e = classify(ty, 503,
                     "{\"error\":{\"code\":503,\"message\":\"The model is "
                     "overloaded. Please try again later.\",\"status\":"
                     "\"UNAVAILABLE\"}}",
                     &h, now);
        fx_headers_free(&h);
        is_int(e.cls, FLEXIAI_E_OVERLOADED, "%s 503: overloaded", ty);
        ok(e.retry_after == 3, "%s: retry-after honoured", ty);

        e = classify(ty, 401,
                     "{\"error\":{\"code\":401,\"message\":\"Request had "
                     "invalid authentication credentials.\",\"status\":"
                     "\"UNAUTHENTICATED\"}}",
                     NULL, now);
        is_int(e.cls, FLEXIAI_E_AUTH, "%s 401: auth", ty);
        e = classify(ty, 403,
                     "{\"error\":{\"code\":403,\"message\":\"Permission "
                     "denied\",\"status\":\"PERMISSION_DENIED\"}}",
                     NULL, now);
        is_int(e.cls, FLEXIAI_E_AUTH, "%s 403: auth", ty);
        e = classify(
            ty, 400,
            "{\"error\":{\"code\":400,\"message\":\"API key not valid. Please "
            "pass a valid API key.\",\"status\":\"INVALID_ARGUMENT\","
            "\"details\":[{\"@type\":\"type.googleapis.com/google.rpc."
            "ErrorInfo\",\"reason\":\"API_KEY_INVALID\",\"domain\":"
            "\"googleapis.com\"}]}}",
            NULL, now);
        is_int(e.cls, FLEXIAI_E_AUTH, "%s: API_KEY_INVALID 400 is auth", ty);
        e = classify(ty, 400,
                     "{\"error\":{\"code\":400,\"message\":\"The input token "
                     "count (1200000) exceeds the maximum number of tokens "
                     "allowed (1048576).\",\"status\":\"INVALID_ARGUMENT\"}}",
                     NULL, now);
        is_int(e.cls, FLEXIAI_E_CONTEXT_LENGTH, "%s: too long", ty);
        e = classify(ty, 400,
                     "{\"error\":{\"code\":400,\"message\":\"Invalid JSON "
                     "payload\",\"status\":\"INVALID_ARGUMENT\"}}",
                     NULL, now);
        is_int(e.cls, FLEXIAI_E_BAD_REQUEST, "%s: plain 400", ty);
        e = classify(ty, 500,
                     "{\"error\":{\"code\":500,\"message\":\"Internal error\","
                     "\"status\":\"INTERNAL\"}}",
                     NULL, now);
        is_int(e.cls, FLEXIAI_E_SERVER, "%s 500: server", ty);
        e = classify(ty, 504,
                     "{\"error\":{\"code\":504,\"message\":\"Deadline "
                     "expired\",\"status\":\"DEADLINE_EXCEEDED\"}}",
                     NULL, now);
        is_int(e.cls, FLEXIAI_E_TIMEOUT, "%s 504 DEADLINE_EXCEEDED: timeout",
               ty);
        e = classify(ty, 502, "<!DOCTYPE html><html>Error 502</html>", NULL,
                     now);
        is_str(e.msg, "HTTP 502 (non-JSON body)", "%s: HTML body", ty);
    }
}

int
main(void)
{
    test_errclass();
    test_table();
    test_build_openai();
    test_build_anthropic();
    test_build_gemini();
    test_build_vertex();
    test_parse_openai();
    test_parse_anthropic();
    test_parse_gemini();
    test_streams();
    test_classify_openai();
    test_classify_anthropic();
    test_classify_gemini();
    return tap_done();
}
