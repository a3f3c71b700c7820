/*
 * mockllm-batchapi.c - the providers' batch APIs, played in memory:
 *
 *   OpenAI     POST /v1/files (multipart, purpose=batch), POST /v1/batches,
 *              GET /v1/batches/{id}, POST /v1/batches/{id}/cancel,
 *              GET /v1/files/{id}/content (output and error files)
 *   Anthropic  POST /v1/messages/batches, GET /v1/messages/batches/{id},
 *              POST .../{id}/cancel, GET .../{id}/results
 *
 * each path after an optional /p/NAME.  Each item is answered as the live
 * route answers by default (the last user message echoed, usage in words)
 * when the job ends.  The job's behaviour is set per route NAME with
 * POST /_batchapi/NAME and a body of comma-separated items:
 *
 *   polls=N     the job is in progress for its first N status polls
 *   fail=K      the first K items fail (OpenAI: 500 in the error file;
 *               Anthropic: errored)
 *   expire      the job expires: the items past fail= that were not
 *               answered come back expired (answered=N answers the first N)
 *   answered=N  with expire: the first N items are answered
 *   reply=TEXT  a fixed reply instead of the echo
 *   usage=JSON  members merged into every usage object (mockllm-usage.c)
 *   status=CODE creating a job fails with this HTTP status
 *   file        Gemini: the answers in a responses file, not inlined
 *
 * Gemini's batch mode is mockllm-batchapi-gemini.c's.
 * GET /_batchapi/NAME gives {"created","polls","cancels"} of the route.
 */
#define _GNU_SOURCE
#include "mockllm-batchapi.h"
#include "mockllm-usage.h"

#include <cjson/cJSON.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mockllm-batchapi-int.h"

struct file {
    struct file *next;
    char id[64];
    char *data;
    size_t len;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct job *jobs;
static struct file *files;
static struct behaviour *behaviours;
static long seq;

static char *
dupn(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p == NULL)
        abort();
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static struct behaviour *
behaviour(const char *route, int create)
{
    for (struct behaviour *b = behaviours; b; b = b->next)
        if (strcmp(b->route, route) == 0)
            return b;
    if (!create)
        return NULL;
    struct behaviour *b = calloc(1, sizeof(*b));
    if (b == NULL)
        abort();
    snprintf(b->route, sizeof(b->route), "%s", route);
    b->next = behaviours;
    behaviours = b;
    return b;
}

/* The route name and the path after /p/NAME. */
static const char *
split_route(const char *url, char *route, size_t cap, const char *deflt)
{
    if (strncmp(url, "/p/", 3) == 0) {
        const char *s = strchr(url + 3, '/');
        if (s && (size_t)(s - url - 3) < cap) {
            snprintf(route, cap, "%.*s", (int)(s - url - 3), url + 3);
            return s;
        }
    }
    snprintf(route, cap, "%s", deflt);
    return url;
}

int
mock_batchapi_path(const char *url)
{
    char route[128];
    if (strncmp(url, "/_batchapi/", 11) == 0)
        return 1;
    const char *p = split_route(url, route, sizeof(route), "");
    return mock_bgem_path(p) || strncmp(p, "/v1/files", 9) == 0 ||
           strncmp(p, "/v1/batches", 11) == 0 ||
           strncmp(p, "/v1/messages/batches", 20) == 0;
}

static unsigned
error(int anthropic, unsigned status, const char *msg, char **out)
{
    cJSON *j = cJSON_CreateObject();
    cJSON *e;
    if (anthropic) {
        cJSON_AddStringToObject(j, "type", "error");
        e = cJSON_AddObjectToObject(j, "error");
        cJSON_AddStringToObject(e, "type",
                                status == 404   ? "not_found_error"
                                : status >= 500 ? "api_error"
                                                : "invalid_request_"
                                                  "error");
    } else {
        e = cJSON_AddObjectToObject(j, "error");
        cJSON_AddStringToObject(e, "type",
                                status >= 500 ? "server_error"
                                              : "invalid_request_error");
    }
    cJSON_AddStringToObject(e, "message", msg);
    *out = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    return status;
}

static unsigned
control(const char *url, const char *method, const char *body, char **out)
{
    struct behaviour *b = behaviour(url + 11, 1);
    if (strcmp(method, "GET") == 0) {
        cJSON *j = cJSON_CreateObject();
        cJSON_AddNumberToObject(j, "created", (double)b->created);
        cJSON_AddNumberToObject(j, "polls", (double)b->npolls);
        cJSON_AddNumberToObject(j, "cancels", (double)b->cancels);
        cJSON_AddNumberToObject(j, "parts", (double)b->parts);
        *out = cJSON_PrintUnformatted(j);
        cJSON_Delete(j);
        return 200;
    }
    free(b->reply);
    free(b->usage);
    b->reply = b->usage = NULL;
    b->polls = b->fail = b->answered = b->status = 0;
    b->expire = b->file = 0;
    char *spec = dupn(body ? body : "", body ? strlen(body) : 0), *save = NULL;
    for (char *t = strtok_r(spec, ",", &save); t;
         t = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(t, '=');
        const char *v = eq ? eq + 1 : "";
        size_t kn = eq ? (size_t)(eq - t) : strlen(t);
        if (kn == 5 && strncmp(t, "polls", 5) == 0)
            b->polls = atol(v);
        else if (kn == 4 && strncmp(t, "fail", 4) == 0)
            b->fail = atol(v);
        else if (kn == 8 && strncmp(t, "answered", 8) == 0)
            b->answered = atol(v);
        else if (kn == 6 && strncmp(t, "expire", 6) == 0)
            b->expire = 1;
        else if (kn == 4 && strncmp(t, "file", 4) == 0)
            b->file = 1;
        else if (kn == 6 && strncmp(t, "status", 6) == 0)
            b->status = atol(v);
        else if (kn == 5 && strncmp(t, "reply", 5) == 0)
            b->reply = dupn(v, strlen(v));
        else if (kn == 5 && strncmp(t, "usage", 5) == 0 &&
                 mock_usage_check(v) == 0)
            b->usage = dupn(v, strlen(v));
        else {
            free(spec);
            return error(0, 400, "mockllm: unknown batch API item", out);
        }
    }
    free(spec);
    *out = strdup("{}");
    return 200;
}

/* A message's text: a string, or its text blocks joined. */
static char *
content_text(const cJSON *c)
{
    if (cJSON_IsString(c))
        return strdup(c->valuestring);
    size_t cap = 1, len = 0;
    char *s = calloc(1, 1);
    const cJSON *b;
    cJSON_ArrayForEach(b, c)
    {
        const cJSON *t = cJSON_GetObjectItemCaseSensitive(b, "text");
        if (cJSON_IsString(t)) {
            size_t n = strlen(t->valuestring);
            if (len + n + 1 > cap) {
                cap = (len + n + 1) * 2;
                s = realloc(s, cap);
            }
            memcpy(s + len, t->valuestring, n + 1);
            len += n;
        }
    }
    return s;
}

/* One request body as an item: its echo and its prompt's words. */
static void
item_of(struct item *it, const char *cid, const cJSON *body)
{
    it->custom_id = strdup(cid);
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(body, "model");
    it->model = strdup(cJSON_IsString(m) ? m->valuestring : "mock-model");
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(body, "messages");
    const cJSON *sys = cJSON_GetObjectItemCaseSensitive(body, "system");
    char *st = sys ? content_text(sys) : NULL;
    it->prompt_words = mock_ba_words(st);
    free(st);
    const cJSON *msg;
    cJSON_ArrayForEach(msg, msgs)
    {
        char *t =
            content_text(cJSON_GetObjectItemCaseSensitive(msg, "content"));
        it->prompt_words += mock_ba_words(t);
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(msg, "role");
        if (cJSON_IsString(role) && strcmp(role->valuestring, "user") == 0) {
            free(it->reply);
            it->reply = t;
        } else {
            free(t);
        }
    }
    if (it->reply == NULL)
        it->reply = strdup("");
}

static struct job *
job_new(const char *route, int anthropic)
{
    struct behaviour *b = behaviour(route, 1);
    struct job *j = calloc(1, sizeof(*j));
    if (j == NULL)
        abort();
    snprintf(j->id, sizeof(j->id), "%s_mock%ld",
             anthropic ? "msgbatch" : "batch", ++seq);
    snprintf(j->route, sizeof(j->route), "%s", route);
    j->anthropic = anthropic;
    j->polls_left = b->polls;
    j->fail = b->fail;
    j->answered = b->answered;
    j->expire = b->expire;
    j->reply = b->reply ? strdup(b->reply) : NULL;
    j->usage = b->usage ? strdup(b->usage) : NULL;
    j->created = (double)time(NULL);
    j->file = b->file;
    b->created++;
    return j;
}

struct behaviour *
mock_ba_behaviour(const char *route)
{
    return behaviour(route, 1);
}

struct job *
mock_ba_job_new(const char *route)
{
    return job_new(route, 0);
}

void
mock_ba_job_link(struct job *j)
{
    j->next = jobs;
    jobs = j;
}

static struct job *
job_find(const char *id)
{
    for (struct job *j = jobs; j; j = j->next)
        if (strcmp(j->id, id) == 0)
            return j;
    return NULL;
}

struct job *
mock_ba_job_find(const char *id)
{
    return job_find(id);
}

static const char *
multipart_file(const char *body, size_t len, const char *ctype, size_t *n)
{
    const char *bd = ctype ? strstr(ctype, "boundary=") : NULL;
    if (bd == NULL)
        return NULL;
    char delim[200];
    snprintf(delim, sizeof(delim), "\r\n--%s", bd + 9);
    const char *name = memmem(body, len, "name=\"file\"", 11);
    if (name == NULL)
        return NULL;
    const char *start =
        memmem(name, len - (size_t)(name - body), "\r\n\r\n", 4);
    if (start == NULL)
        return NULL;
    start += 4;
    const char *end =
        memmem(start, len - (size_t)(start - body), delim, strlen(delim));
    if (end == NULL)
        return NULL;
    *n = (size_t)(end - start);
    return start;
}

static void
add_item(struct job *j, size_t *cap, const char *cid, const cJSON *body)
{
    if (j->n == *cap) {
        *cap = *cap ? *cap * 2 : 64;
        j->items = realloc(j->items, *cap * sizeof(*j->items));
        if (j->items == NULL)
            abort();
    }
    memset(&j->items[j->n], 0, sizeof(j->items[0]));
    item_of(&j->items[j->n++], cid, body);
    /* the attachments an item carries: its content parts not text */
    struct behaviour *b = behaviour(j->route, 1);
    const cJSON *msg, *part;
    cJSON_ArrayForEach(msg, cJSON_GetObjectItemCaseSensitive(body, "messages"))
    {
        cJSON_ArrayForEach(part,
                           cJSON_GetObjectItemCaseSensitive(msg, "content"))
        {
            const cJSON *t = cJSON_GetObjectItemCaseSensitive(part, "type");
            if (cJSON_IsString(t) && strcmp(t->valuestring, "text") != 0)
                b->parts++;
        }
    }
}

static unsigned
openai_create(const char *route, const char *body, char **out)
{
    cJSON *req = cJSON_Parse(body);
    const cJSON *fid = cJSON_GetObjectItemCaseSensitive(req, "input_file_id");
    const cJSON *ep = cJSON_GetObjectItemCaseSensitive(req, "endpoint");
    const cJSON *cw =
        cJSON_GetObjectItemCaseSensitive(req, "completion_window");
    struct file *f = NULL;
    for (struct file *x = files; x && cJSON_IsString(fid); x = x->next)
        if (strcmp(x->id, fid->valuestring) == 0)
            f = x;
    if (f == NULL || !cJSON_IsString(ep) ||
        strcmp(ep->valuestring, "/v1/chat/completions") != 0 ||
        !cJSON_IsString(cw) || strcmp(cw->valuestring, "24h") != 0) {
        cJSON_Delete(req);
        return error(0, 400,
                     "mockllm: input_file_id, endpoint "
                     "/v1/chat/completions and completion_window 24h "
                     "are required",
                     out);
    }
    cJSON_Delete(req);
    struct job *j = job_new(route, 0);
    size_t cap = 0;
    char *save = NULL, *data = dupn(f->data, f->len);
    for (char *l = strtok_r(data, "\n", &save); l;
         l = strtok_r(NULL, "\n", &save)) {
        cJSON *line = cJSON_Parse(l);
        const cJSON *cid = cJSON_GetObjectItemCaseSensitive(line, "custom_id");
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(line, "method");
        const cJSON *u = cJSON_GetObjectItemCaseSensitive(line, "url");
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(line, "body");
        if (!cJSON_IsString(cid) || !cJSON_IsString(m) ||
            strcmp(m->valuestring, "POST") != 0 || !cJSON_IsString(u) ||
            strcmp(u->valuestring, "/v1/chat/completions") != 0 ||
            !cJSON_IsObject(b)) {
            cJSON_Delete(line);
            free(data);
            free(j->items);
            free(j);
            return error(0, 400,
                         "mockllm: a line lacks custom_id, method "
                         "POST, url or body",
                         out);
        }
        add_item(j, &cap, cid->valuestring, b);
        cJSON_Delete(line);
    }
    free(data);
    j->next = jobs;
    jobs = j;
    cJSON *o = mock_ba_status_json(j, 0);
    *out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return 200;
}

static unsigned
anthropic_create(const char *route, const char *body, char **out)
{
    cJSON *req = cJSON_Parse(body);
    const cJSON *rs = cJSON_GetObjectItemCaseSensitive(req, "requests");
    if (!cJSON_IsArray(rs)) {
        cJSON_Delete(req);
        return error(1, 400, "requests: Field required", out);
    }
    struct job *j = job_new(route, 1);
    size_t cap = 0;
    const cJSON *r;
    cJSON_ArrayForEach(r, rs)
    {
        const cJSON *cid = cJSON_GetObjectItemCaseSensitive(r, "custom_id");
        const cJSON *p = cJSON_GetObjectItemCaseSensitive(r, "params");
        if (!cJSON_IsString(cid) || !cJSON_IsObject(p) ||
            cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(p, "stream"))) {
            cJSON_Delete(req);
            free(j->items);
            free(j);
            return error(1, 400,
                         "requests: custom_id and non-streaming params "
                         "are required",
                         out);
        }
        add_item(j, &cap, cid->valuestring, p);
    }
    cJSON_Delete(req);
    j->next = jobs;
    jobs = j;
    cJSON *o = mock_ba_status_json(j, 0);
    *out = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return 200;
}

static unsigned
answer_locked(const char *url, const char *method, const char *body, size_t len,
              const char *ctype, int has_key, char **out, const char **out_type)
{
    char route[128];
    *out_type = "application/json";
    if (strncmp(url, "/_batchapi/", 11) == 0)
        return control(url, method, body, out);
    const char *gp = split_route(url, route, sizeof(route), "gemini");
    if (mock_bgem_path(gp)) /* mockllm-batchapi-gemini.c */
        return mock_bgem_answer(route, gp, method, body, has_key, out,
                                out_type);
    int anthropic = strstr(url, "/v1/messages/batches") != NULL;
    const char *p = split_route(url, route, sizeof(route),
                                anthropic ? "anthropic" : "openai");
    if (!has_key)
        return error(anthropic, 401, "mockllm: no API key", out);
    int get = strcmp(method, "GET") == 0, post = strcmp(method, "POST") == 0;
    struct behaviour *b = behaviour(route, 1);
    char id[64] = "", tail[32] = "";
    if (anthropic) {
        if (strcmp(p, "/v1/messages/batches") == 0 && post) {
            if (b->status)
                return error(1, (unsigned)b->status, "mockllm: scripted", out);
            return anthropic_create(route, body, out);
        }
        sscanf(p, "/v1/messages/batches/%63[^/]%31s", id, tail);
    } else {
        if (strcmp(p, "/v1/files") == 0 && post) {
            size_t n = 0;
            const char *d = multipart_file(body, len, ctype, &n);
            if (d == NULL || memmem(body, len, "name=\"purpose\"", 14) == NULL)
                return error(0, 400,
                             "mockllm: multipart with purpose and "
                             "file required",
                             out);
            struct file *f = calloc(1, sizeof(*f));
            snprintf(f->id, sizeof(f->id), "file-mock%ld", ++seq);
            f->data = dupn(d, n);
            f->len = n;
            f->next = files;
            files = f;
            cJSON *o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "id", f->id);
            cJSON_AddStringToObject(o, "object", "file");
            cJSON_AddStringToObject(o, "purpose", "batch");
            cJSON_AddNumberToObject(o, "bytes", (double)n);
            *out = cJSON_PrintUnformatted(o);
            cJSON_Delete(o);
            return 200;
        }
        if (strcmp(p, "/v1/batches") == 0 && post) {
            if (b->status)
                return error(0, (unsigned)b->status, "mockllm: scripted", out);
            return openai_create(route, body, out);
        }
        if (sscanf(p, "/v1/files/file-%*[a-z]-%63[^/]%31s", id, tail) == 2 &&
            strcmp(tail, "/content") == 0 && get) {
            struct job *j = job_find(id);
            if (j == NULL || !mock_ba_ended(j))
                return error(0, 404, "mockllm: no such file", out);
            *out =
                mock_ba_results(j, strncmp(p, "/v1/files/file-err", 18) == 0);
            *out_type = "application/jsonl";
            return 200;
        }
        sscanf(p, "/v1/batches/%63[^/]%31s", id, tail);
    }
    struct job *j = job_find(id);
    if (j == NULL)
        return error(anthropic, 404, "mockllm: no such batch", out);
    if (*tail == '\0' && get) {
        b->npolls++;
        cJSON *o = mock_ba_status_json(j, 1);
        *out = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        return 200;
    }
    if (strcmp(tail, "/cancel") == 0 && post) {
        b->cancels++;
        if (!mock_ba_ended(j))
            j->cancelled = 1;
        cJSON *o = mock_ba_status_json(j, 0);
        *out = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        return 200;
    }
    if (anthropic && strcmp(tail, "/results") == 0 && get) {
        if (!mock_ba_ended(j))
            return error(1, 404, "mockllm: results not ready", out);
        *out = mock_ba_results(j, 0);
        *out_type = "application/binary";
        return 200;
    }
    return error(anthropic, 404, "mockllm: no such batch route", out);
}

unsigned
mock_batchapi_answer(const char *url, const char *method, const char *body,
                     size_t len, const char *ctype, int has_key, char **out,
                     const char **out_type)
{
    pthread_mutex_lock(&lock);
    unsigned st = answer_locked(url, method, body ? body : "", len, ctype,
                                has_key, out, out_type);
    pthread_mutex_unlock(&lock);
    return st;
}
