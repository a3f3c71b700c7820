/*
 * provider-gemini.c - Google Gemini (Generative Language API).  The body,
 * response, stream and error handling are shared with Vertex AI
 * (provider-vertex.c), which differs only in URL and authentication.
 */
#include "config.h"

#include "fx.h"
#include "provider-common.h"

#include <stdlib.h>
#include <string.h>

#define GEMINI_BASE_URL "https://generativelanguage.googleapis.com"

/* The API versions of the Generative Language API: v1beta is what
 * Google's SDKs use by default and the only one with every feature
 * (batch, caching); v1 is the stable subset. */
#define GEMINI_API_VERSION "v1beta"

/* finishReason (js-genai FinishReason).  Filters and blocks give the text
 * there is with content_filter; a broken function call or response, or an
 * image that did not come, fails the attempt (the next try may do
 * better). */
static const struct fx_finish_map finish_map[] = {
    {"FINISH_REASON_UNSPECIFIED", "stop"},
    {"STOP", "stop"},
    {"MAX_TOKENS", "length"},
    {"SAFETY", "content_filter"},
    {"RECITATION", "content_filter"},
    {"LANGUAGE", "content_filter"},
    {"OTHER", "stop"},
    {"BLOCKLIST", "content_filter"},
    {"PROHIBITED_CONTENT", "content_filter"},
    {"SPII", "content_filter"},
    {"IMAGE_SAFETY", "content_filter"},
    {"IMAGE_PROHIBITED_CONTENT", "content_filter"},
    {"IMAGE_RECITATION", "content_filter"},
    {"MALFORMED_FUNCTION_CALL", "error"},
    {"MALFORMED_RESPONSE", "error"},
    {"UNEXPECTED_TOOL_CALL", "error"},
    {"TOO_MANY_TOOL_CALLS", "error"},
    {"NO_IMAGE", "error"},
    {"IMAGE_OTHER", "error"},
    {NULL, NULL},
};
static const struct fx_finish_error finish_errors[] = {
    {"MALFORMED_FUNCTION_CALL", FLEXIAI_E_STREAM_ERROR},
    {"MALFORMED_RESPONSE", FLEXIAI_E_STREAM_ERROR},
    {"UNEXPECTED_TOOL_CALL", FLEXIAI_E_STREAM_ERROR},
    {"TOO_MANY_TOOL_CALLS", FLEXIAI_E_STREAM_ERROR},
    {"NO_IMAGE", FLEXIAI_E_STREAM_ERROR},
    {"IMAGE_OTHER", FLEXIAI_E_STREAM_ERROR},
    {NULL, 0},
};

/* 0, or -1 with err when the finish reason fails the attempt. */
static int
finish_error(const char *reason, struct fx_error *err)
{
    int cls = fx_finish_class(reason, finish_errors);
    if (cls == 0)
        return 0;
    fx_error_set(err, cls, "finishReason %s", reason);
    return -1;
}

/* api_version: v1beta (default) or v1.  NULL with *err otherwise. */
static const char *
api_version(const struct fx_provider *p, char **err)
{
    const char *v =
        p->api_version && *p->api_version ? p->api_version : GEMINI_API_VERSION;
    if (strcmp(v, "v1beta") != 0 && strcmp(v, "v1") != 0) {
        fx_set_err(err, "gemini api_version must be v1beta or v1, not %s", v);
        return NULL;
    }
    return v;
}

static int
gemini_build_request(const struct fx_call *call, struct fx_http_req *out,
                     char **err)
{
    const char *model;
    int has_key;
    fxu_buf url;

    memset(out, 0, sizeof *out);
    if ((model = fx_call_model(call, err)) == NULL)
        return -1;
    if ((has_key = fx_key_usable(call->key, err)) < 0)
        return -1;
    /* "models/gemini-x" is how the API lists them; accept that too. */
    if (strncmp(model, "models/", 7) == 0)
        model += 7;
    const char *version = api_version(call->prov, err);
    if (version == NULL)
        return -1;
    char *body = fx_gemini_body(call, &out->warning, err);
    if (body == NULL)
        return -1;

    char *base = fx_base_url(call->prov, GEMINI_BASE_URL);
    fxu_buf_init(&url);
    fxu_buf_puts(&url, base);
    free(base);
    fxu_buf_printf(&url, "/%s/models/", version);
    fx_url_escape(&url, model);
    fxu_buf_puts(&url, call->stream ? ":streamGenerateContent?alt=sse"
                                    : ":generateContent");
    out->url = fxu_buf_steal(&url);
    out->body = body;

    /* The key goes in a header, never in the URL (URLs get logged). */
    if (has_key)
        fx_req_header(out, "x-goog-api-key: %s", call->key);
    fx_req_header(out, "Content-Type: application/json");
    if (call->stream)
        fx_req_header(out, "Accept: text/event-stream");
    return 0;
}

/* The probe: GET /v1beta/models/{model}, the model's metadata (404 for
 * an unknown model), costs no tokens. */
static int
gemini_build_probe(const struct fx_call *call, struct fx_http_req *out,
                   char **err)
{
    const char *model;
    int has_key;
    memset(out, 0, sizeof *out);
    if ((model = fx_call_model(call, err)) == NULL)
        return -1;
    if ((has_key = fx_key_usable(call->key, err)) < 0)
        return -1;
    if (strncmp(model, "models/", 7) == 0)
        model += 7;
    const char *version = api_version(call->prov, err);
    if (version == NULL)
        return -1;
    char *base = fx_base_url(call->prov, GEMINI_BASE_URL);
    fxu_buf url;
    fxu_buf_init(&url);
    fxu_buf_puts(&url, base);
    free(base);
    fxu_buf_printf(&url, "/%s/models/", version);
    fx_url_escape(&url, model);
    out->url = fxu_buf_steal(&url);
    if (has_key)
        fx_req_header(out, "x-goog-api-key: %s", call->key);
    return 0;
}

/* Google answers errors as {"error":{...}}, sometimes inside an array. */
static const cJSON *
error_object(const cJSON *root)
{
    if (cJSON_IsArray(root))
        root = cJSON_GetArrayItem(root, 0);
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(root, "error");
    return cJSON_IsObject(e) ? e : NULL;
}

static void
read_usage(const cJSON *usage, struct fx_response *out)
{
    long prompt = 0, completion = 0, total = 0;
    if (!cJSON_IsObject(usage))
        return;
    /* Counts of zero are left out by the API, so absent means 0. */
    fx_json_count(usage, "promptTokenCount", &prompt);
    fx_json_count(usage, "candidatesTokenCount", &completion);
    if (fx_json_count(usage, "totalTokenCount", &total) < 0)
        total = prompt + completion;
    /* thoughtsTokenCount is not part of candidatesTokenCount (the total
     * adds both) but bills as output: completion_tokens holds both, so
     * that reasoning_tokens is a part of it as for the other APIs.  The
     * cached content is part of promptTokenCount; the tool-use prompt is
     * not (the total adds it too) and bills as input. */
    long thoughts = 0, cached = 0, tool_prompt = 0;
    fx_json_count(usage, "thoughtsTokenCount", &thoughts);
    fx_json_count(usage, "cachedContentTokenCount", &cached);
    fx_json_count(usage, "toolUsePromptTokenCount", &tool_prompt);
    out->has_usage = 1;
    out->prompt_tokens = prompt + tool_prompt;
    out->completion_tokens = completion + thoughts;
    out->total_tokens = total;
    out->cached_tokens = cached;
    out->cache_write_tokens = 0;
    out->reasoning_tokens = thoughts;
}

/*
 * Thought signatures, kept in r->reasoning_state as
 * {"type":"gemini","parts":[...]}: the answer's parts as they must go
 * back.  A signed part starts a part of its own (signatures are never
 * merged); unsigned text joins the part before it, so a stream's pieces
 * come back as the few parts the model made.  Nothing is kept while no
 * signature came.
 */
static void
keep_part(cJSON **state, const struct fx_response *r, const cJSON *part,
          const char *text, int thought)
{
    const char *sig = fx_json_str(part, "thoughtSignature");
    int fcall = cJSON_GetObjectItemCaseSensitive(part, "functionCall") != NULL;
    cJSON *parts;
    if (*state == NULL) {
        if (sig == NULL)
            return;
        *state = cJSON_CreateObject();
        cJSON_AddStringToObject(*state, "type", "gemini");
        parts = cJSON_AddArrayToObject(*state, "parts");
        if (r->text.len) { /* the unsigned answer so far */
            cJSON *first = cJSON_CreateObject();
            cJSON_AddStringToObject(first, "text", r->text.data);
            cJSON_AddItemToArray(parts, first);
        }
    }
    parts = cJSON_GetObjectItemCaseSensitive(*state, "parts");
    cJSON *last = cJSON_GetArrayItem(parts, cJSON_GetArraySize(parts) - 1);
    if (fcall) { /* a call goes back whole, with its signature if any */
        cJSON_AddItemToArray(parts, cJSON_Duplicate(part, 1));
        return;
    }
    if (sig == NULL && !thought && last &&
        !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(last, "thought"))) {
        char *joined = fxu_asprintf(
            "%s%s", fx_json_str(last, "text") ? fx_json_str(last, "text") : "",
            text);
        cJSON_DeleteItemFromObjectCaseSensitive(last, "text");
        cJSON_AddStringToObject(last, "text", joined);
        free(joined);
        return;
    }
    if (thought && sig == NULL)
        return; /* thought summaries go back only when signed */
    cJSON *copy = cJSON_CreateObject();
    cJSON_AddStringToObject(copy, "text", text);
    if (thought)
        cJSON_AddTrueToObject(copy, "thought");
    if (sig)
        cJSON_AddStringToObject(copy, "thoughtSignature", sig);
    cJSON_AddItemToArray(parts, copy);
}

/* A candidate's parts: text to emit, "thought" parts to r->reasoning,
 * signatures to r->reasoning_state. */
static void
candidate_parts(const cJSON *cand, struct fx_response *r,
                void (*emit)(void *, const char *), void *ud)
{
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(cand, "content");
    const cJSON *parts = cJSON_GetObjectItemCaseSensitive(content, "parts");
    const cJSON *part;
    cJSON *state = fx_state_parse(r->reasoning_state, "gemini");
    int changed = 0;
    cJSON_ArrayForEach(part, parts)
    {
        int thought =
            cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(part, "thought"));
        const char *text = fx_json_str(part, "text");
        const cJSON *fc =
            cJSON_GetObjectItemCaseSensitive(part, "functionCall");
        if (text == NULL)
            text = "";
        if (cJSON_IsObject(fc)) {
            const cJSON *args = cJSON_GetObjectItemCaseSensitive(fc, "args");
            char *a = args ? cJSON_PrintUnformatted(args) : NULL;
            fx_tool_call_add(r, fx_json_str(fc, "id"), fx_json_str(fc, "name"),
                             a ? a : "{}");
            free(a);
        }
        if (state || fx_json_str(part, "thoughtSignature")) {
            keep_part(&state, r, part, text, thought);
            changed = 1;
        }
        if (thought)
            fxu_buf_puts(&r->reasoning, text);
        else if (*text)
            emit(ud, text);
    }
    if (changed) {
        free(r->reasoning_state);
        r->reasoning_state = cJSON_PrintUnformatted(state);
    }
    cJSON_Delete(state);
}

static void
emit_to_buf(void *ud, const char *text)
{
    fxu_buf_puts(ud, text);
}

static void
emit_to_stream(void *ud, const char *text)
{
    fx_stream_text(ud, text, strlen(text));
}

/* The common checks of a response body or stream chunk: JSON, error
 * object, blocked prompt.  Returns the first candidate (may be NULL when
 * `need_candidate` is 0) or NULL with err set. */
static const cJSON *
check_body(const cJSON *root, int need_candidate, const char *error_prefix,
           struct fx_error *err, int *failed)
{
    *failed = 1;
    if (!cJSON_IsObject(root)) {
        const cJSON *e = error_object(root);
        if (e) {
            fx_error_detail(err, FLEXIAI_E_STREAM_ERROR, error_prefix,
                            fx_json_str(e, "status"),
                            fx_json_str(e, "message"));
            return NULL;
        }
        fx_error_set(err, FLEXIAI_E_STREAM_ERROR, "malformed JSON in %s",
                     need_candidate ? "response" : "stream event");
        return NULL;
    }
    const cJSON *e = error_object(root);
    if (e) {
        fx_error_detail(err, FLEXIAI_E_STREAM_ERROR, error_prefix,
                        fx_json_str(e, "status"), fx_json_str(e, "message"));
        return NULL;
    }
    const cJSON *cands = cJSON_GetObjectItemCaseSensitive(root, "candidates");
    const cJSON *cand = cJSON_GetArrayItem(cands, 0);
    if (!cJSON_IsObject(cand)) {
        const cJSON *fb =
            cJSON_GetObjectItemCaseSensitive(root, "promptFeedback");
        const char *block = fx_json_str(fb, "blockReason");
        if (block) {
            fx_error_detail(err, FLEXIAI_E_CONTENT_FILTER,
                            "prompt blocked: ", NULL, block);
            return NULL;
        }
        if (need_candidate) {
            fx_error_set(err, FLEXIAI_E_STREAM_ERROR,
                         "response has no candidates");
            return NULL;
        }
        cand = NULL;
    }
    *failed = 0;
    return cand;
}

int
fx_gemini_parse_response(const char *body, size_t len, struct fx_response *out,
                         struct fx_error *err)
{
    int failed;
    cJSON *root = fx_json_parse(body, len);
    const cJSON *cand =
        check_body(root, 1, "error in 200 response: ", err, &failed);
    if (failed) {
        cJSON_Delete(root);
        return -1;
    }
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(cand, "content");
    if (!cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(content, "parts")) &&
        fx_json_str(cand, "finishReason") == NULL) {
        /* nothing at all: not an empty answer, a broken one */
        cJSON_Delete(root);
        fx_error_set(err, FLEXIAI_E_STREAM_ERROR,
                     "response has no content (no parts, no finish reason)");
        return -1;
    }
    candidate_parts(cand, out, emit_to_buf, &out->text);
    const char *reason = fx_json_str(cand, "finishReason");
    const char *finish = fx_finish_normalise(reason, finish_map);
    fx_response_set_finish(out, finish ? finish : "stop");
    fx_tools_finish(out);
    fx_response_set_model(out, fx_json_str(root, "modelVersion"));
    read_usage(cJSON_GetObjectItemCaseSensitive(root, "usageMetadata"), out);
    int rc = finish_error(reason, err);
    cJSON_Delete(root);
    return rc;
}

int
fx_gemini_parse_event(struct fx_stream *st, const char *event, const char *data,
                      size_t len)
{
    int failed;
    cJSON *root = fx_json_parse(data, len);
    const cJSON *cand = check_body(root, 0, "", &st->err, &failed);
    if (failed) {
        cJSON_Delete(root);
        return -1;
    }
    fx_response_set_model(st->resp, fx_json_str(root, "modelVersion"));
    int rc = 0;
    if (cand) {
        const char *reason = fx_json_str(cand, "finishReason");
        candidate_parts(cand, st->resp, emit_to_stream, st);
        fx_response_set_finish(st->resp,
                               fx_finish_normalise(reason, finish_map));
        if (reason)
            fx_tools_finish(st->resp);
        rc = finish_error(reason, &st->err);
    }
    read_usage(cJSON_GetObjectItemCaseSensitive(root, "usageMetadata"),
               st->resp);
    cJSON_Delete(root);
    /* No end marker: the end of the body ends the stream. */
    return rc;
}

/* Look through error.details for the google.rpc types we use. */
struct details {
    double retry_delay; /* RetryInfo.retryDelay, -1 if none */
    int per_day;        /* QuotaFailure on a daily quota */
    int per_minute;     /* QuotaFailure on a per-minute quota */
    const char *reason; /* ErrorInfo.reason */
};

static void
read_details(const cJSON *e, struct details *d)
{
    const cJSON *item;
    d->retry_delay = -1;
    d->per_day = d->per_minute = 0;
    d->reason = NULL;
    cJSON_ArrayForEach(item, cJSON_GetObjectItemCaseSensitive(e, "details"))
    {
        const char *type = fx_json_str(item, "@type");
        const char *delay = fx_json_str(item, "retryDelay");
        double secs;
        if (delay && fxu_parse_duration(delay, &secs) == 0)
            d->retry_delay = secs;
        if (type && strstr(type, "ErrorInfo"))
            d->reason = fx_json_str(item, "reason");
        const cJSON *v;
        cJSON_ArrayForEach(v,
                           cJSON_GetObjectItemCaseSensitive(item, "violations"))
        {
            const char *id = fx_json_str(v, "quotaId");
            const char *metric = fx_json_str(v, "quotaMetric");
            if (fx_contains_nocase(id, "PerDay") ||
                fx_contains_nocase(metric, "per_day"))
                d->per_day = 1;
            if (fx_contains_nocase(id, "PerMinute") ||
                fx_contains_nocase(metric, "per_minute"))
                d->per_minute = 1;
        }
    }
}

/*
 * RESOURCE_EXHAUSTED is both "too many requests this minute" and "out of
 * quota".  Google words both with "quota", so a message mentioning quota
 * means quota unless the details say it is short-lived (a RetryInfo delay
 * or a per-minute quota) or it is Vertex's generic "(e.g. check quota)"
 * hint; a daily quota is always quota.
 */
static int
exhausted_class(const char *message, const struct details *d)
{
    if (d->per_day)
        return FLEXIAI_E_QUOTA;
    if (d->per_minute || d->retry_delay >= 0)
        return FLEXIAI_E_RATE_LIMIT;
    if (fx_contains_nocase(message, "check quota"))
        return FLEXIAI_E_RATE_LIMIT;
    if (fx_contains_nocase(message, "quota") ||
        fx_contains_nocase(message, "credits"))
        return FLEXIAI_E_QUOTA;
    return FLEXIAI_E_RATE_LIMIT;
}

void
fx_gemini_classify(long status, const char *body, size_t len,
                   const struct fx_headers *h, double now, struct fx_error *err)
{
    cJSON *root = fx_classify_start(status, body, len, h, now, NULL, err);
    if (root == NULL)
        return;

    int cls = err->cls;
    const cJSON *e = error_object(root);
    const char *gstatus = fx_json_str(e, "status");
    const char *message = fx_json_str(e, "message");
    struct details d;
    read_details(e, &d);
    if (err->retry_after < 0 && d.retry_delay >= 0)
        err->retry_after = d.retry_delay;
    if (e == NULL)
        message = fx_json_str(root, "message");

    if (gstatus == NULL)
        gstatus = "";
    if (strcmp(gstatus, "RESOURCE_EXHAUSTED") == 0)
        cls = exhausted_class(message, &d);
    else if (strcmp(gstatus, "UNAVAILABLE") == 0)
        cls = FLEXIAI_E_OVERLOADED;
    else if (strcmp(gstatus, "UNAUTHENTICATED") == 0 ||
             strcmp(gstatus, "PERMISSION_DENIED") == 0)
        cls = FLEXIAI_E_AUTH;
    else if (strcmp(gstatus, "DEADLINE_EXCEEDED") == 0)
        cls = FLEXIAI_E_TIMEOUT;
    else if (d.reason && (strcmp(d.reason, "API_KEY_INVALID") == 0 ||
                          strcmp(d.reason, "API_KEY_EXPIRED") == 0))
        cls = FLEXIAI_E_AUTH; /* Gemini says a bad key with a 400 */
    else if ((strcmp(gstatus, "INVALID_ARGUMENT") == 0 ||
              cls == FLEXIAI_E_BAD_REQUEST) &&
             fx_says_too_long(message))
        cls = FLEXIAI_E_CONTEXT_LENGTH;
    fx_error_http(err, cls, status, *gstatus ? gstatus : NULL, message);
    cJSON_Delete(root);
}

static const char *const gemini_key_vars[] = {"GEMINI_API_KEY",
                                              "GOOGLE_API_KEY", NULL};

const struct fx_provider_ops fx_provider_gemini = {
    .type = "gemini",
    .key_vars = gemini_key_vars,
    .default_model = FX_DEFAULT_MODEL_GEMINI,
    .build_request = gemini_build_request,
    .build_probe = gemini_build_probe,
    .parse_response = fx_gemini_parse_response,
    .parse_event = fx_gemini_parse_event,
    .classify = fx_gemini_classify,
    .default_base_url = GEMINI_BASE_URL,
    .finish_ends_stream = 1,
};
