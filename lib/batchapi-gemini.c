/*
 * batchapi-gemini.c - what is Gemini's own in its batch mode (Gemini API
 * v1beta, ai.google.dev/api/batch-api), without transfers: the job's model
 * and API root from a live request's URL, the model line of an input
 * file, a job id, a batch's status, and its inlined answers cut out of
 * the batch resource into one JSONL line each.  batchapi.c writes the
 * input and reads the lines, batchapi-http.c does the transfers.
 *
 *   input    models/{m}\n then the body of POST {root}/models/{m}:
 *            batchGenerateContent: {"batch":{"displayName","inputConfig":
 *            {"requests":{"requests":[{"request":{...},"metadata":
 *            {"key":"i0"}}, ...]}}}} (the first line is not sent)
 *   status   GET {root}/batches/{id}: an Operation {"name","metadata":
 *            GenerateContentBatch {state, batchStats, output}}
 *   answers  metadata.output.inlinedResponses.inlinedResponses[{response|
 *            error, metadata:{key}}], or metadata.output.responsesFile
 *            (GET {root}/files/{id}:download?alt=media, lines {"key",
 *            "response"|"error"})
 */
#include "config.h"

#include "batchapi.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* The last "/models/" of a live generateContent URL. */
static const char *
models_at(const char *url)
{
    const char *at = NULL;
    for (const char *s = url; (s = strstr(s, "/models/")) != NULL; s++)
        at = s;
    return at;
}

char *
fx_bgem_url_model(const char *url)
{
    const char *at = url ? models_at(url) : NULL;
    if (at == NULL)
        return NULL;
    at += 8;
    size_t n = strcspn(at, ":?/");
    return n ? fxu_strndup(at, n) : NULL;
}

char *
fx_bgem_root(const char *url)
{
    const char *at = url ? models_at(url) : NULL;
    if (at == NULL)
        return NULL;
    size_t n = (size_t)(at - url);
    /* batch mode is documented in v1beta only (PROTOCOLS.md) */
    if (n >= 3 && strncmp(at - 3, "/v1", 3) == 0)
        return fxu_asprintf("%.*sbeta", (int)n, url);
    return fxu_strndup(url, n);
}

/* A model as the live URL has it, escaped: letters, digits, "-._~%". */
static int
model_ok(const char *m, size_t n)
{
    if (n == 0 || n > 200)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)m[i]) && !strchr("-._~%", m[i]))
            return 0;
    return 1;
}

int
fx_bgem_model_line(const char *path, char **model, long long *off, char **err)
{
    *model = NULL;
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        fx_set_err(err, "%s: cannot read", path);
        return -1;
    }
    char line[512];
    int ok = fgets(line, sizeof(line), fp) != NULL;
    fclose(fp);
    size_t n = ok ? strlen(line) : 0;
    if (n < 9 || line[n - 1] != '\n' || strncmp(line, "models/", 7) != 0 ||
        !model_ok(line + 7, n - 8)) {
        fx_set_err(err, "%s: not a Gemini batch input (no model line)", path);
        return -1;
    }
    *model = fxu_strndup(line + 7, n - 8);
    *off = (long long)n;
    return 0;
}

int
fx_bgem_id_ok(const char *id)
{
    const char *rest = NULL;
    if (id && strncmp(id, "batches/", 8) == 0)
        rest = id + 8;
    else if (id && strncmp(id, "files/", 6) == 0)
        rest = id + 6;
    size_t n = rest ? strlen(rest) : 0;
    return n > 0 && n <= 200 &&
           strspn(rest, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        "0123456789-_.") == n;
}

/* google.rpc.Code: its name and the HTTP status Google maps it to. */
static const struct {
    int code;
    const char *name;
    long http;
} rpc_codes[] = {
    {1, "CANCELLED", 499},           {2, "UNKNOWN", 500},
    {3, "INVALID_ARGUMENT", 400},    {4, "DEADLINE_EXCEEDED", 504},
    {5, "NOT_FOUND", 404},           {6, "ALREADY_EXISTS", 409},
    {7, "PERMISSION_DENIED", 403},   {8, "RESOURCE_EXHAUSTED", 429},
    {9, "FAILED_PRECONDITION", 400}, {10, "ABORTED", 409},
    {11, "OUT_OF_RANGE", 400},       {12, "UNIMPLEMENTED", 501},
    {13, "INTERNAL", 500},           {14, "UNAVAILABLE", 503},
    {15, "DATA_LOSS", 500},          {16, "UNAUTHENTICATED", 401},
};

long
fx_bgem_rpc_http(int code, const char **name)
{
    for (size_t i = 0; i < sizeof(rpc_codes) / sizeof(rpc_codes[0]); i++)
        if (rpc_codes[i].code == code) {
            *name = rpc_codes[i].name;
            return rpc_codes[i].http;
        }
    *name = "UNKNOWN";
    return 500;
}

/* An int64 of the API: a string in JSON ("12"), or a number. */
static long
i64_of(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    if (cJSON_IsNumber(v))
        return (long)v->valuedouble;
    if (cJSON_IsString(v))
        return strtol(v->valuestring, NULL, 10);
    return 0; /* proto3 JSON leaves zeros out */
}

void
fx_bgem_status(const char *job, const char *body, size_t len,
               flexiai_batchapi_status *st)
{
    cJSON *j = cJSON_ParseWithLength(body, len);
    const cJSON *md = cJSON_GetObjectItemCaseSensitive(j, "metadata");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(md, "state");
    const char *state = cJSON_IsString(v) ? v->valuestring : "unknown";
    if (strncmp(state, "BATCH_STATE_", 12) == 0)
        state += 12;
    st->status = fxu_strdup(state);
    for (char *s = st->status; *s; s++)
        *s = (char)tolower((unsigned char)*s);
    static const char *const ends[] = {"succeeded", "failed", "cancelled",
                                       "expired", NULL};
    for (const char *const *e = ends; *e; e++)
        if (strcmp(st->status, *e) == 0)
            st->ended = 1;
    /* BatchStats (ai.google.dev/api/batch-api#BatchStats) */
    const cJSON *bs = cJSON_GetObjectItemCaseSensitive(md, "batchStats");
    st->succeeded = i64_of(bs, "successfulRequestCount");
    st->failed = i64_of(bs, "failedRequestCount");
    st->processing = st->ended ? 0 : i64_of(bs, "pendingRequestCount");
    st->total = i64_of(bs, "requestCount");
    if (st->total < st->succeeded + st->failed + st->processing)
        st->total = st->succeeded + st->failed + st->processing;
    /* an ended job's items without an answer will get none */
    if (st->ended && st->failed < st->total - st->succeeded)
        st->failed = st->total - st->succeeded;
    const cJSON *out = cJSON_GetObjectItemCaseSensitive(md, "output");
    v = cJSON_GetObjectItemCaseSensitive(out, "responsesFile");
    if (cJSON_IsString(v) && fx_bgem_id_ok(v->valuestring))
        st->results = fxu_strdup(v->valuestring);
    else if (cJSON_IsObject(
                 cJSON_GetObjectItemCaseSensitive(out, "inlinedResponses")))
        st->results = fxu_strdup(job); /* in the batch itself */
    cJSON_Delete(j);
}

/* ---- the inlined answers, streamed --------------------------------------
 * The batch resource is read once from a file, one character at a time:
 * the containers open, the key of each object's current member, and the
 * elements of metadata.output.inlinedResponses.inlinedResponses written
 * one a line, without the whitespace between tokens; the rest of the
 * resource (its answers' array left empty) may be kept, for its status.
 * Memory stays that of the path, however many answers the batch holds. */

#define SCAN_DEPTH 256
#define KEY_MAX 32

struct scan {
    int depth;
    char type[SCAN_DEPTH + 1]; /* '{' or '[' by depth (1-based) */
    char key[5][KEY_MAX];      /* member keys of depths 1..4 */
    size_t klen;
    int in_str, esc, want_key, in_key;
    int cap;  /* depth of the answers' array; 0: not in it */
    int emit; /* writing an element */
    long n;
    FILE *out;     /* the answers (may be NULL) */
    fxu_buf *rest; /* the rest (may be NULL) */
};

static void
put(struct scan *s, int ch)
{
    if (s->emit) {
        if (s->out)
            fputc(ch, s->out);
    } else if (s->rest) {
        fxu_buf_putc(s->rest, (char)ch);
    }
}

static int
path_is_answers(const struct scan *s)
{
    static const char *const want[] = {"metadata", "output", "inlinedResponses",
                                       "inlinedResponses"};
    if (s->depth != 4)
        return 0;
    for (int d = 1; d <= 4; d++)
        if (s->type[d] != '{' || strcmp(s->key[d], want[d - 1]) != 0)
            return 0;
    return 1;
}

static int
scan_char(struct scan *s, int ch)
{
    if (s->in_str) {
        put(s, ch);
        if (s->esc) {
            s->esc = 0;
        } else if (ch == '\\') {
            s->esc = 1;
        } else if (ch == '"') {
            s->in_str = 0;
            if (s->in_key && s->depth <= 4)
                s->key[s->depth][s->klen] = '\0';
            s->in_key = 0;
            return 0;
        }
        if (s->in_key && s->depth <= 4 && s->klen + 1 < KEY_MAX)
            s->key[s->depth][s->klen++] = (char)ch;
        return 0;
    }
    if (ch == ' ' || ch == '\n' || ch == '\r' || ch == '\t')
        return 0;
    if (s->cap && s->depth == s->cap && ch == '{' && !s->emit)
        s->emit = 1;
    if (!(s->cap && s->depth == s->cap && ch == ',')) /* the rest: [] */
        put(s, ch);
    switch (ch) {
    case '"':
        s->in_str = 1;
        if (s->want_key) {
            s->in_key = 1;
            s->want_key = 0;
            s->klen = 0;
        }
        break;
    case '{':
    case '[':
        if (ch == '[' && !s->cap && path_is_answers(s))
            s->cap = s->depth + 1;
        if (s->depth >= SCAN_DEPTH)
            return -1;
        s->type[++s->depth] = (char)ch;
        if (s->depth <= 4)
            s->key[s->depth][0] = '\0';
        s->want_key = ch == '{';
        break;
    case '}':
    case ']':
        if (s->depth == 0 || s->type[s->depth] != (ch == '}' ? '{' : '['))
            return -1;
        if (s->cap && s->depth == s->cap && ch == ']')
            s->cap = 0;
        s->depth--;
        s->want_key = 0;
        if (s->emit && s->cap && s->depth == s->cap) {
            put(s, '\n');
            s->emit = 0;
            s->n++;
        }
        break;
    case ',':
        s->want_key = s->type[s->depth] == '{';
        break;
    default:
        break;
    }
    return 0;
}

long
fx_bgem_inline(FILE *in, FILE *out, fxu_buf *rest)
{
    struct scan *s = fxu_xcalloc(1, sizeof(*s));
    s->out = out;
    s->rest = rest;
    int ch, bad = 0;
    while (!bad && (ch = getc(in)) != EOF)
        bad = scan_char(s, ch) != 0;
    long n = s->n;
    if (bad || s->depth != 0 || s->in_str || ferror(in) || (out && ferror(out)))
        n = -1;
    free(s);
    return n;
}
