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

static const struct fx_finish_map finish_map[] = {
    {"STOP", "stop"},
    {"MAX_TOKENS", "length"},
    {"SAFETY", "content_filter"},
    {"RECITATION", "content_filter"},
    {"BLOCKLIST", "content_filter"},
    {"PROHIBITED_CONTENT", "content_filter"},
    {"SPII", "content_filter"},
    {"IMAGE_SAFETY", "content_filter"},
    {"MALFORMED_FUNCTION_CALL", "error"},
    {NULL, NULL},
};

static cJSON *
text_parts(const char *text)
{
    cJSON *parts = cJSON_CreateArray();
    cJSON *part = cJSON_CreateObject();
    cJSON_AddStringToObject(part, "text", text ? text : "");
    cJSON_AddItemToArray(parts, part);
    return parts;
}

char *
fx_gemini_body(const struct fx_call *call, char **err)
{
    const struct fx_params *pp = fx_call_params(call);
    struct fx_convo c;

    if (fx_convo_build(call, &c, err) < 0)
        return NULL;

    cJSON *root = cJSON_CreateObject();
    cJSON *contents = cJSON_AddArrayToObject(root, "contents");
    for (size_t i = 0; i < c.nturns; i++) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "role",
                                c.turns[i].assistant ? "model" : "user");
        cJSON_AddItemToObject(m, "parts", text_parts(c.turns[i].text.data));
        cJSON_AddItemToArray(contents, m);
    }
    char *instruction = fx_call_schema_instruction(call);
    if (instruction) {
        if (c.system.len > 0)
            fxu_buf_puts(&c.system, "\n\n");
        fxu_buf_puts(&c.system, instruction);
        free(instruction);
    }
    if (c.system.len > 0) {
        cJSON *si = cJSON_AddObjectToObject(root, "systemInstruction");
        cJSON_AddItemToObject(si, "parts", text_parts(c.system.data));
    }
    fx_convo_free(&c);

    cJSON *gc = cJSON_CreateObject();
    if (pp->temperature >= 0)
        cJSON_AddNumberToObject(gc, "temperature", pp->temperature);
    if (pp->max_tokens > 0)
        cJSON_AddNumberToObject(gc, "maxOutputTokens", (double)pp->max_tokens);
    if (pp->top_p >= 0)
        cJSON_AddNumberToObject(gc, "topP", pp->top_p);
    if (pp->top_k > 0)
        cJSON_AddNumberToObject(gc, "topK", (double)pp->top_k);
    if (pp->stop && pp->stop[0]) {
        cJSON *stop = cJSON_AddArrayToObject(gc, "stopSequences");
        for (size_t i = 0; pp->stop[i]; i++)
            cJSON_AddItemToArray(stop, cJSON_CreateString(pp->stop[i]));
    }
    /* structured output: JSON, with the schema converted to Google's
     * subset (native; tool is taken as native), or JSON alone */
    int mode = fx_call_schema_mode(call);
    if (mode >= 0 && mode != FX_SCHEMA_PROMPT)
        cJSON_AddStringToObject(gc, "responseMimeType", "application/json");
    if (mode == FX_SCHEMA_NATIVE || mode == FX_SCHEMA_TOOL)
        cJSON_AddItemToObject(gc, "responseSchema",
                              cJSON_Parse(call->schema->gemini));
    if (cJSON_GetArraySize(gc) > 0)
        cJSON_AddItemToObject(root, "generationConfig", gc);
    else
        cJSON_Delete(gc);
    return fx_json_finish(root);
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
    char *body = fx_gemini_body(call, err);
    if (body == NULL)
        return -1;

    char *base = fx_base_url(call->prov, GEMINI_BASE_URL);
    fxu_buf_init(&url);
    fxu_buf_puts(&url, base);
    free(base);
    fxu_buf_puts(&url, "/v1beta/models/");
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
    char *base = fx_base_url(call->prov, GEMINI_BASE_URL);
    fxu_buf url;
    fxu_buf_init(&url);
    fxu_buf_puts(&url, base);
    free(base);
    fxu_buf_puts(&url, "/v1beta/models/");
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

/* Text of a candidate's parts, without "thought" parts (reasoning). */
static void
candidate_text(const cJSON *cand, void (*emit)(void *, const char *), void *ud)
{
    const cJSON *content = cJSON_GetObjectItemCaseSensitive(cand, "content");
    const cJSON *parts = cJSON_GetObjectItemCaseSensitive(content, "parts");
    const cJSON *part;
    cJSON_ArrayForEach(part, parts)
    {
        if (cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(part, "thought")))
            continue;
        const char *text = fx_json_str(part, "text");
        if (text && *text)
            emit(ud, text);
    }
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
    candidate_text(cand, emit_to_buf, &out->text);
    const char *finish =
        fx_finish_normalise(fx_json_str(cand, "finishReason"), finish_map);
    fx_response_set_finish(out, finish ? finish : "stop");
    fx_response_set_model(out, fx_json_str(root, "modelVersion"));
    read_usage(cJSON_GetObjectItemCaseSensitive(root, "usageMetadata"), out);
    cJSON_Delete(root);
    return 0;
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
    if (cand) {
        candidate_text(cand, emit_to_stream, st);
        fx_response_set_finish(
            st->resp,
            fx_finish_normalise(fx_json_str(cand, "finishReason"), finish_map));
    }
    read_usage(cJSON_GetObjectItemCaseSensitive(root, "usageMetadata"),
               st->resp);
    cJSON_Delete(root);
    /* No end marker: the end of the body ends the stream. */
    return 0;
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
