/*
 * mockllm-batchapi-gemini.c - Gemini's batch mode (v1beta), played with
 * the jobs of mockllm-batchapi.c and the behaviour POST /_batchapi/NAME
 * sets (default route "gemini"):
 *
 *   POST /v1beta/models/{m}:batchGenerateContent  {"batch":{"displayName",
 *        "inputConfig":{"requests":{"requests":[{"request","metadata"}]}}}}
 *        checked as the API does (400 INVALID_ARGUMENT for a wrong shape,
 *        an unknown field, a file input); answers the Operation
 *   GET  /v1beta/batches/{id}   the Operation: metadata.state PENDING on
 *        the first poll, RUNNING while polls= lasts, then SUCCEEDED (or
 *        CANCELLED, or EXPIRED with expire, no answers then);
 *        batchStats as int64 strings, zeros left out as proto3 JSON does;
 *        output.inlinedResponses (fail=K: the first K an error entry),
 *        or output.responsesFile with `file`; pretty-printed, as Google's
 *        front ends answer
 *   POST /v1beta/batches/{id}:cancel   {}
 *   GET  /v1beta/files/{id}:download   lines {"key","response"|"error"}
 */
#define _GNU_SOURCE
#include "mockllm-batchapi-int.h"
#include "mockllm-batchapi.h"
#include "mockllm-usage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH_TYPE                                                             \
    "type.googleapis.com/google.ai.generativelanguage.v1beta."                 \
    "GenerateContentBatch"

static int
ends_with(const char *s, const char *suf)
{
    size_t n = strlen(s), m = strlen(suf);
    return n >= m && strcmp(s + n - m, suf) == 0;
}

int
mock_bgem_path(const char *p)
{
    return strncmp(p, "/v1beta/batches/", 16) == 0 ||
           strncmp(p, "/v1beta/files/", 14) == 0 ||
           (strncmp(p, "/v1beta/models/", 15) == 0 &&
            ends_with(p, ":batchGenerateContent"));
}

static unsigned
error(unsigned code, const char *status, const char *msg, char **out)
{
    cJSON *j = cJSON_CreateObject();
    cJSON *e = cJSON_AddObjectToObject(j, "error");
    cJSON_AddNumberToObject(e, "code", code);
    cJSON_AddStringToObject(e, "message", msg);
    cJSON_AddStringToObject(e, "status", status);
    *out = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return code;
}

/* Every member of o is one of names. */
static const char *
unknown_member(const cJSON *o, const char *const *names)
{
    const cJSON *x;
    cJSON_ArrayForEach(x, o)
    {
        const char *const *n = names;
        while (*n && strcmp(*n, x->string) != 0)
            n++;
        if (*n == NULL)
            return x->string;
    }
    return NULL;
}

/* The text parts of a Content joined. */
static char *
parts_text(const cJSON *content)
{
    const cJSON *parts = cJSON_GetObjectItemCaseSensitive(content, "parts");
    size_t len = 0;
    char *s = calloc(1, 1);
    const cJSON *part;
    cJSON_ArrayForEach(part, parts)
    {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(part, "text");
        if (!cJSON_IsString(t))
            continue;
        size_t n = strlen(t->valuestring);
        s = realloc(s, len + n + 1);
        if (s == NULL)
            abort();
        memcpy(s + len, t->valuestring, n + 1);
        len += n;
    }
    return s;
}

/* One GenerateContentRequest as an item; NULL, or what is wrong. */
static const char *
item_of(struct item *it, const cJSON *req, const cJSON *md, const char *model)
{
    static const char *const fields[] = {"contents",
                                         "systemInstruction",
                                         "generationConfig",
                                         "safetySettings",
                                         "tools",
                                         "toolConfig",
                                         "cachedContent",
                                         "labels",
                                         "model",
                                         NULL};
    const cJSON *contents = cJSON_GetObjectItemCaseSensitive(req, "contents");
    if (!cJSON_IsObject(req) || unknown_member(req, fields) ||
        !cJSON_IsArray(contents) || cJSON_GetArraySize(contents) == 0)
        return "request: a GenerateContentRequest with contents is required";
    if (md && !cJSON_IsObject(md))
        return "metadata: an object is required";
    const cJSON *key = cJSON_GetObjectItemCaseSensitive(md, "key");
    it->custom_id = strdup(cJSON_IsString(key) ? key->valuestring : "");
    it->model = strdup(model);
    char *sys =
        parts_text(cJSON_GetObjectItemCaseSensitive(req, "systemInstruction"));
    it->prompt_words = mock_ba_words(sys);
    free(sys);
    const cJSON *c;
    cJSON_ArrayForEach(c, contents)
    {
        char *t = parts_text(c);
        it->prompt_words += mock_ba_words(t);
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(c, "role");
        if (!cJSON_IsString(role) || strcmp(role->valuestring, "user") == 0) {
            free(it->reply);
            it->reply = t;
        } else {
            free(t);
        }
    }
    if (it->reply == NULL)
        it->reply = strdup("");
    return NULL;
}

static void
job_free(struct job *j)
{
    for (size_t i = 0; i < j->n; i++) {
        free(j->items[i].custom_id);
        free(j->items[i].reply);
        free(j->items[i].model);
    }
    free(j->items);
    free(j->reply);
    free(j->usage);
    free(j);
}

static const char *
state_of(const struct job *j, int creating)
{
    if (creating || !mock_ba_ended(j))
        return j->polled <= 1 ? "BATCH_STATE_PENDING" : "BATCH_STATE_RUNNING";
    return j->cancelled ? "BATCH_STATE_CANCELLED"
           : j->expire  ? "BATCH_STATE_EXPIRED"
                        : "BATCH_STATE_SUCCEEDED";
}

/* An int64 as the API writes it (a string), left out when 0. */
static void
add_i64(cJSON *o, const char *k, long v)
{
    char s[32];
    if (v == 0)
        return;
    snprintf(s, sizeof(s), "%ld", v);
    cJSON_AddStringToObject(o, k, s);
}

/* Item i's answer: {"response"} or {"error"}, under its key. */
static cJSON *
answer(const struct job *j, size_t i, int in_file)
{
    const struct item *it = &j->items[i];
    cJSON *o = cJSON_CreateObject();
    if (in_file)
        cJSON_AddStringToObject(o, "key", it->custom_id);
    if (mock_ba_fate(j, i) == 1) {
        cJSON *e = cJSON_AddObjectToObject(o, "error");
        cJSON_AddNumberToObject(e, "code", 13);
        cJSON_AddStringToObject(e, "message", "mockllm: item failed");
    } else {
        const char *text = j->reply ? j->reply : it->reply;
        cJSON *r = cJSON_AddObjectToObject(o, "response");
        cJSON *cands = cJSON_AddArrayToObject(r, "candidates");
        cJSON *cand = cJSON_CreateObject();
        cJSON_AddItemToArray(cands, cand);
        cJSON *content = cJSON_AddObjectToObject(cand, "content");
        cJSON *parts = cJSON_AddArrayToObject(content, "parts");
        cJSON *part = cJSON_CreateObject();
        cJSON_AddStringToObject(part, "text", text);
        cJSON_AddItemToArray(parts, part);
        cJSON_AddStringToObject(content, "role", "model");
        cJSON_AddStringToObject(cand, "finishReason", "STOP");
        cJSON_AddNumberToObject(cand, "index", 0);
        cJSON *u = cJSON_AddObjectToObject(r, "usageMetadata");
        long out = mock_ba_words(text);
        cJSON_AddNumberToObject(u, "promptTokenCount",
                                (double)it->prompt_words);
        cJSON_AddNumberToObject(u, "candidatesTokenCount", (double)out);
        cJSON_AddNumberToObject(u, "totalTokenCount",
                                (double)(it->prompt_words + out));
        mock_usage_merge(u, j->usage);
        cJSON_AddStringToObject(r, "modelVersion", it->model);
        cJSON_AddStringToObject(r, "responseId", "mock-response");
    }
    if (!in_file) {
        cJSON *md = cJSON_AddObjectToObject(o, "metadata");
        cJSON_AddStringToObject(md, "key", it->custom_id);
    }
    return o;
}

/* The Operation of a job: its name and the batch as metadata (a job
 * being created is pending, whatever polls= says). */
static char *
operation(const struct job *j, int creating)
{
    char name[96], t[32];
    snprintf(name, sizeof(name), "batches/%s", j->id);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", name);
    cJSON *md = cJSON_AddObjectToObject(o, "metadata");
    cJSON_AddStringToObject(md, "@type", BATCH_TYPE);
    cJSON_AddStringToObject(md, "model", j->model);
    cJSON_AddStringToObject(md, "displayName", "mock");
    cJSON_AddStringToObject(md, "name", name);
    time_t c = (time_t)j->created;
    strftime(t, sizeof(t), "%Y-%m-%dT%H:%M:%SZ", gmtime(&c));
    cJSON_AddStringToObject(md, "createTime", t);
    cJSON_AddStringToObject(md, "state", state_of(j, creating));
    cJSON *bs = cJSON_AddObjectToObject(md, "batchStats");
    add_i64(bs, "requestCount", (long)j->n);
    int ended = !creating && mock_ba_ended(j);
    int answered = ended && !j->cancelled && !j->expire;
    long ok = 0, bad = 0;
    for (size_t i = 0; answered && i < j->n; i++) {
        ok += mock_ba_fate(j, i) != 1;
        bad += mock_ba_fate(j, i) == 1;
    }
    add_i64(bs, "successfulRequestCount", ok);
    add_i64(bs, "failedRequestCount", bad);
    add_i64(bs, "pendingRequestCount", ended ? 0 : (long)j->n);
    if (answered) {
        cJSON *out = cJSON_AddObjectToObject(md, "output");
        if (j->file) {
            char f[96];
            snprintf(f, sizeof(f), "files/out-%s", j->id);
            cJSON_AddStringToObject(out, "responsesFile", f);
        } else {
            cJSON *ir = cJSON_AddObjectToObject(out, "inlinedResponses");
            cJSON *arr = cJSON_AddArrayToObject(ir, "inlinedResponses");
            for (size_t i = 0; i < j->n; i++)
                cJSON_AddItemToArray(arr, answer(j, i, 0));
        }
        cJSON_AddBoolToObject(o, "done", 1);
    }
    char *s = cJSON_Print(o);
    cJSON_Delete(o);
    return s;
}

static unsigned
create(const char *route, const char *model, const char *body, char **out)
{
    static const char *const top[] = {"batch", NULL};
    static const char *const batch_fields[] = {"displayName", "inputConfig",
                                               "priority", NULL};
    static const char *const ic_fields[] = {"requests", "fileName", NULL};
    static const char *const rs_fields[] = {"requests", NULL};
    static const char *const r_fields[] = {"request", "metadata", NULL};
    cJSON *req = cJSON_Parse(body);
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(req, "batch");
    const cJSON *dn = cJSON_GetObjectItemCaseSensitive(b, "displayName");
    const cJSON *ic = cJSON_GetObjectItemCaseSensitive(b, "inputConfig");
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(ic, "requests");
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(rs, "requests");
    const char *why = NULL;
    if (!cJSON_IsObject(req) || unknown_member(req, top) ||
        !cJSON_IsObject(b) || unknown_member(b, batch_fields))
        why = "Invalid JSON payload: only batch {displayName, inputConfig, "
              "priority} is known";
    else if (!cJSON_IsString(dn) || !*dn->valuestring)
        why = "batch.display_name is required";
    else if (!cJSON_IsObject(ic) || unknown_member(ic, ic_fields) ||
             !cJSON_IsObject(rs) || unknown_member(rs, rs_fields) ||
             !cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0)
        why = "batch.input_config: inline requests.requests[] are required "
              "(mockllm plays no file input)";
    if (why) {
        cJSON_Delete(req);
        return error(400, "INVALID_ARGUMENT", why, out);
    }
    struct job *j = mock_ba_job_new(route);
    j->gemini = 1;
    snprintf(j->model, sizeof(j->model), "models/%s", model);
    size_t cap = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, arr)
    {
        if (j->n == cap) {
            cap = cap ? cap * 2 : 64;
            j->items = realloc(j->items, cap * sizeof(*j->items));
            if (j->items == NULL)
                abort();
        }
        memset(&j->items[j->n], 0, sizeof(j->items[0]));
        why = !cJSON_IsObject(r) || unknown_member(r, r_fields)
                  ? "requests[]: only request and metadata are known"
                  : item_of(&j->items[j->n],
                            cJSON_GetObjectItemCaseSensitive(r, "request"),
                            cJSON_GetObjectItemCaseSensitive(r, "metadata"),
                            model);
        j->n++;
        if (why)
            break;
    }
    cJSON_Delete(req);
    if (why) {
        job_free(j);
        return error(400, "INVALID_ARGUMENT", why, out);
    }
    mock_ba_job_link(j);
    *out = operation(j, 1);
    return 200;
}

unsigned
mock_bgem_answer(const char *route, const char *p, const char *method,
                 const char *body, int has_key, char **out,
                 const char **out_type)
{
    *out_type = "application/json; charset=UTF-8";
    if (!has_key)
        return error(401, "UNAUTHENTICATED", "mockllm: no API key", out);
    struct behaviour *b = mock_ba_behaviour(route);
    int get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
    char model[128], id[64], tail[32] = "";
    if (post && sscanf(p, "/v1beta/models/%127[^:]:", model) == 1) {
        if (b->status)
            return error((unsigned)b->status,
                         b->status == 429   ? "RESOURCE_EXHAUSTED"
                         : b->status >= 500 ? "UNAVAILABLE"
                                            : "INVALID_ARGUMENT",
                         "mockllm: scripted", out);
        return create(route, model, body, out);
    }
    if (sscanf(p, "/v1beta/files/out-%63[^:]%31s", id, tail) >= 1) {
        struct job *j = mock_ba_job_find(id);
        if (!get || strcmp(tail, ":download") != 0 || j == NULL || !j->gemini ||
            !j->file || !mock_ba_ended(j) || j->cancelled || j->expire)
            return error(404, "NOT_FOUND", "mockllm: no such file", out);
        size_t len = 0;
        char *buf = calloc(1, 1);
        for (size_t i = 0; i < j->n; i++) {
            cJSON *o = answer(j, i, 1);
            char *s = cJSON_PrintUnformatted(o);
            cJSON_Delete(o);
            size_t n = strlen(s);
            buf = realloc(buf, len + n + 2);
            if (buf == NULL)
                abort();
            memcpy(buf + len, s, n);
            buf[len + n] = '\n';
            buf[len + n + 1] = '\0';
            len += n + 1;
            free(s);
        }
        *out = buf;
        *out_type = "application/octet-stream";
        return 200;
    }
    struct job *j = NULL;
    if (sscanf(p, "/v1beta/batches/%63[^:/]%31s", id, tail) >= 1)
        j = mock_ba_job_find(id);
    if (j == NULL || !j->gemini)
        return error(404, "NOT_FOUND", "mockllm: no such batch", out);
    if (get && *tail == '\0') {
        b->npolls++;
        j->polled++;
        if (j->polls_left > 0)
            j->polls_left--;
        *out = operation(j, 0);
        return 200;
    }
    if (post && strcmp(tail, ":cancel") == 0) {
        b->cancels++;
        if (!mock_ba_ended(j))
            j->cancelled = 1;
        *out = strdup("{}");
        return 200;
    }
    return error(404, "NOT_FOUND", "mockllm: no such batch route", out);
}
