/*
 * batchapi-http.c - the batch APIs' transfers (flexiai-batchapi.h): submit
 * an input file, a job's status, cancel, its results into a file.  Each is
 * one libcurl transfer of its own (a file upload and a download stream
 * through files, never through memory), with the URL, key and headers
 * the provider's build_request makes for a live request:
 *
 *   OpenAI     POST {v1}/files (multipart: purpose=batch, file), then
 *              POST {v1}/batches {input_file_id, endpoint,
 *              completion_window:"24h"}; GET {v1}/batches/{id};
 *              POST {v1}/batches/{id}/cancel; GET {v1}/files/{id}/content
 *   Anthropic  POST {v1}/messages/batches (the input file is the body);
 *              GET {v1}/messages/batches/{id}; POST .../{id}/cancel;
 *              GET .../{id}/results
 *   Gemini     POST {v1beta}/models/{m}:batchGenerateContent (the input
 *              file past its model line is the body); GET {v1beta}/
 *              batches/{id}; POST .../batches/{id}:cancel; the answers
 *              from GET batches/{id} (batchapi-gemini.c cuts them out) or
 *              GET {v1beta}/files/{id}:download?alt=media
 */
#include "config.h"

#include "batchapi.h"
#include "curl-load.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#define BATCHAPI_TIMEOUT_MIN 60.0 /* an upload of 100 MB takes a while */
#define BATCHAPI_ANSWER_MAX (1 << 20)

/* A provider's API root ({base}/v1 as its live URL says) and its headers,
 * from the request a one-word prompt would make.  0, or -1 with *err. */
static int
endpoint(flexiai_client *c, const char *name, int *kind,
         struct fx_provider **pp, struct fx_http_req *hr, char **root,
         char **err)
{
    struct fx_provider *p = fx_batchapi_provider(c, name, kind, err);
    if (p == NULL)
        return -1;
    flexiai_message m = {.role = "user", .content = "x"};
    flexiai_request req;
    flexiai_request_init(&req);
    req.messages = &m;
    req.nmessages = 1;
    if (fx_batchapi_build(p, &req, hr, err) != 0)
        return -1;
    if (*kind == FX_BATCHAPI_GEMINI && (*root = fx_bgem_root(hr->url))) {
        *pp = p;
        return 0;
    }
    static const char *const tails[] = {"/chat/completions", "/responses",
                                        "/messages", NULL};
    size_t n = strlen(hr->url);
    for (const char *const *t = tails; *t; t++) {
        size_t tn = strlen(*t);
        if (n > tn && strcmp(hr->url + n - tn, *t) == 0) {
            *root = fxu_strndup(hr->url, n - tn);
            *pp = p;
            return 0;
        }
    }
    fx_set_err(err, "%s: no batch API at this URL", p->name);
    fx_http_req_free(hr);
    return -1;
}

struct xfer {
    const struct fx_provider *p;
    const char *method;
    const char *url;
    char **headers;
    int multipart;      /* leave out the JSON content type */
    const char *json;   /* body, or */
    const char *upload; /* a file as the body (from upload_off), or */
    long long upload_off;
    curl_mime *mime;
    FILE *out; /* the answer into a file (2xx), else */
    fxu_buf body;
    long status;
};

static size_t
on_data(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t n = size * nmemb;
    if (x->out && x->status >= 200 && x->status < 300)
        return fwrite(ptr, 1, n, x->out);
    if (x->body.len + n > BATCHAPI_ANSWER_MAX)
        return 0;
    fxu_buf_append(&x->body, ptr, n);
    return n;
}

static size_t
on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
    struct xfer *x = ud;
    size_t n = size * nmemb;
    /* the status line of the final answer, before its body */
    if (n > 5 && strncmp(ptr, "HTTP/", 5) == 0) {
        const char *sp = memchr(ptr, ' ', n);
        if (sp)
            x->status = strtol(sp + 1, NULL, 10);
    }
    return n;
}

/* One transfer: 0 with x->status, or -1 with *err (class in *cls). */
static int
perform(struct xfer *x, int *cls, char **err)
{
    if (fx_curl_start() != 0) {
        fx_set_err(err, "cannot initialise libcurl");
        *cls = FLEXIAI_E_INTERNAL;
        return -1;
    }
    CURL *e = curl_easy_init();
    if (e == NULL)
        abort();
    struct curl_slist *h = NULL;
    for (char **s = x->headers; s && *s; s++)
        if (!(x->multipart && strncasecmp(*s, "content-type:", 13) == 0))
            h = curl_slist_append(h, *s);
    FILE *in = NULL;
    const struct fx_provider *p = x->p;
    double timeout = p->params.timeout > BATCHAPI_TIMEOUT_MIN
                         ? p->params.timeout
                         : BATCHAPI_TIMEOUT_MIN;
    curl_easy_setopt(e, CURLOPT_URL, x->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "flexiai/" PACKAGE_VERSION);
    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)(timeout * 1000));
    if (p->params.connect_timeout > 0)
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                         (long)(p->params.connect_timeout * 1000));
    if (p->insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (p->tls_ca)
        curl_easy_setopt(e, CURLOPT_CAINFO, p->tls_ca);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, x);
    if (x->mime) {
        curl_easy_setopt(e, CURLOPT_MIMEPOST, x->mime);
    } else if (x->upload) {
        struct stat sb;
        in = fopen(x->upload, "rb");
        if (in == NULL || fstat(fileno(in), &sb) != 0 ||
            sb.st_size < x->upload_off ||
            fseeko(in, (off_t)x->upload_off, SEEK_SET) != 0) {
            fx_set_err(err, "%s: cannot read", x->upload);
            *cls = FLEXIAI_E_CONFIG;
            if (in)
                fclose(in);
            curl_slist_free_all(h);
            curl_easy_cleanup(e);
            return -1;
        }
        curl_easy_setopt(e, CURLOPT_POST, 1L);
        curl_easy_setopt(e, CURLOPT_READDATA, in);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)(sb.st_size - x->upload_off));
    } else if (x->json) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, x->json);
    } else if (strcmp(x->method, "POST") == 0) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, "");
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, h);
    CURLcode cc = curl_easy_perform(e);
    if (in)
        fclose(in);
    curl_slist_free_all(h);
    curl_easy_cleanup(e);
    if (cc != CURLE_OK && x->status == 0) {
        *cls = cc == CURLE_OPERATION_TIMEDOUT ? FLEXIAI_E_TIMEOUT
                                              : FLEXIAI_E_CONNECT;
        fx_set_err(err, "%s: %s", p->name, curl_easy_strerror(cc));
        return -1;
    }
    if (cc != CURLE_OK && x->status >= 200 && x->status < 300) {
        *cls = FLEXIAI_E_STREAM_ERROR;
        fx_set_err(err, "%s: %s", p->name, curl_easy_strerror(cc));
        return -1;
    }
    if (x->status < 200 || x->status >= 300) {
        struct fx_error fe;
        memset(&fe, 0, sizeof(fe));
        fe.retry_after = -1;
        struct fx_headers none = {NULL, 0};
        p->ops->classify(x->status, x->body.data ? x->body.data : "",
                         x->body.len, &none, fxu_wallclock(), &fe);
        *cls = fe.cls ? fe.cls : fx_class_from_status(x->status);
        fx_set_err(err, "%s: %s", p->name,
                   fe.msg[0] ? fe.msg : "the batch API refused");
        return -1;
    }
    return 0;
}

/* The flexiai_code of a failure of class cls. */
static flexiai_code
code_of(int cls)
{
    flexiai_attempt a;
    memset(&a, 0, sizeof(a));
    a.outcome = "error";
    a.errclass = (flexiai_errclass)cls;
    return (flexiai_code)fx_failover_exit(&a, 1);
}

/* A JSON answer's string member, or NULL. */
static char *
member(const struct xfer *x, const char *name)
{
    cJSON *j =
        cJSON_ParseWithLength(x->body.data ? x->body.data : "", x->body.len);
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, name);
    char *s = cJSON_IsString(v) ? fxu_strdup(v->valuestring) : NULL;
    cJSON_Delete(j);
    return s;
}

static flexiai_code
run(struct xfer *x, char **err)
{
    int cls = FLEXIAI_E_NONE;
    if (perform(x, &cls, err) != 0)
        return code_of(cls);
    return FLEXIAI_OK;
}

flexiai_code
flexiai_batchapi_submit(flexiai_client *c, const char *name, const char *path,
                        char **job, char **err)
{
    int kind;
    struct fx_provider *p;
    struct fx_http_req hr;
    char *root;
    *job = NULL;
    if (endpoint(c, name, &kind, &p, &hr, &root, err) != 0)
        return FLEXIAI_ECONFIG;
    flexiai_code rc;
    struct xfer x = {.p = p, .method = "POST", .headers = hr.headers};
    fxu_buf_init(&x.body);
    char *model = NULL;
    if (kind == FX_BATCHAPI_GEMINI) {
        /* the Operation's name is the batch's: batches/{id} */
        rc = fx_bgem_model_line(path, &model, &x.upload_off, err) == 0
                 ? FLEXIAI_OK
                 : FLEXIAI_EDATA;
        if (rc == FLEXIAI_OK) {
            x.url =
                fxu_asprintf("%s/models/%s:batchGenerateContent", root, model);
            x.upload = path;
            rc = run(&x, err);
            free((char *)x.url);
        }
        free(model);
        if (rc == FLEXIAI_OK &&
            ((*job = member(&x, "name")) == NULL || !fx_bgem_id_ok(*job))) {
            free(*job);
            *job = NULL;
            fx_set_err(err, "%s: the batch API answered no batch name",
                       p->name);
            rc = FLEXIAI_EPROTOCOL;
        }
    } else if (kind == FX_BATCHAPI_ANTHROPIC) {
        x.url = fxu_asprintf("%s/messages/batches", root);
        x.upload = path;
        rc = run(&x, err);
        free((char *)x.url);
    } else {
        CURL *tmp = fx_curl_start() == 0 ? curl_easy_init() : NULL;
        x.mime = curl_mime_init(tmp);
        curl_mimepart *part = curl_mime_addpart(x.mime);
        curl_mime_name(part, "purpose");
        curl_mime_data(part, "batch", CURL_ZERO_TERMINATED);
        part = curl_mime_addpart(x.mime);
        curl_mime_name(part, "file");
        curl_mime_filedata(part, path);
        curl_mime_filename(part, "batch.jsonl");
        curl_mime_type(part, "application/jsonl");
        x.multipart = 1;
        x.url = fxu_asprintf("%s/files", root);
        rc = run(&x, err);
        free((char *)x.url);
        curl_mime_free(x.mime);
        curl_easy_cleanup(tmp);
        char *file_id = rc == FLEXIAI_OK ? member(&x, "id") : NULL;
        if (rc == FLEXIAI_OK && file_id == NULL) {
            fx_set_err(err, "%s: the file upload answered no id", p->name);
            rc = FLEXIAI_EPROTOCOL;
        }
        if (rc == FLEXIAI_OK) {
            cJSON *b = cJSON_CreateObject();
            cJSON_AddStringToObject(b, "input_file_id", file_id);
            cJSON_AddStringToObject(b, "endpoint",
                                    kind == FX_BATCHAPI_RESPONSES
                                        ? "/v1/responses"
                                        : "/v1/chat/completions");
            cJSON_AddStringToObject(b, "completion_window", "24h");
            char *json = cJSON_PrintUnformatted(b);
            cJSON_Delete(b);
            struct xfer y = {
                .p = p, .method = "POST", .headers = hr.headers, .json = json};
            fxu_buf_init(&y.body);
            y.url = fxu_asprintf("%s/batches", root);
            rc = run(&y, err);
            free((char *)y.url);
            free(json);
            fxu_buf_free(&x.body);
            x.body = y.body;
        }
        free(file_id);
    }
    if (rc == FLEXIAI_OK && *job == NULL && (*job = member(&x, "id")) == NULL) {
        fx_set_err(err, "%s: the batch API answered no job id", p->name);
        rc = FLEXIAI_EPROTOCOL;
    }
    fxu_buf_free(&x.body);
    fx_http_req_free(&hr);
    free(root);
    return rc;
}

static long
count_of(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? (long)v->valuedouble : 0;
}

/* "2026-12-07T05:20:00Z" (what Anthropic sends) as epoch seconds. */
static double
rfc3339(const char *s)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (s == NULL || strptime(s, "%Y-%m-%dT%H:%M:%S", &tm) == NULL)
        return 0;
    return (double)timegm(&tm);
}

static void
parse_status(int kind, const char *job, const char *body, size_t len,
             flexiai_batchapi_status *st)
{
    if (kind == FX_BATCHAPI_GEMINI) {
        fx_bgem_status(job, body, len, st);
        return;
    }
    cJSON *j = cJSON_ParseWithLength(body, len);
    const cJSON *rc = cJSON_GetObjectItemCaseSensitive(j, "request_counts");
    const cJSON *v;
    if (kind == FX_BATCHAPI_ANTHROPIC) {
        v = cJSON_GetObjectItemCaseSensitive(j, "processing_status");
        st->status = fxu_strdup(cJSON_IsString(v) ? v->valuestring : "unknown");
        st->ended = strcmp(st->status, "ended") == 0;
        st->processing = count_of(rc, "processing");
        st->succeeded = count_of(rc, "succeeded");
        st->failed = count_of(rc, "errored") + count_of(rc, "canceled") +
                     count_of(rc, "expired");
        st->total = st->processing + st->succeeded + st->failed;
        v = cJSON_GetObjectItemCaseSensitive(j, "results_url");
        /* the documented results endpoint of this job, not whatever host
         * the answer names: the key goes with the request */
        if (cJSON_IsString(v))
            st->results = fxu_strdup(job);
        v = cJSON_GetObjectItemCaseSensitive(j, "expires_at");
        st->expires_at = cJSON_IsString(v) ? rfc3339(v->valuestring) : 0;
    } else {
        v = cJSON_GetObjectItemCaseSensitive(j, "status");
        st->status = fxu_strdup(cJSON_IsString(v) ? v->valuestring : "unknown");
        static const char *const ends[] = {"completed", "failed", "expired",
                                           "cancelled", NULL};
        for (const char *const *e = ends; *e; e++)
            if (strcmp(st->status, *e) == 0)
                st->ended = 1;
        st->total = count_of(rc, "total");
        st->succeeded = count_of(rc, "completed");
        st->failed = count_of(rc, "failed");
        st->processing = st->total - st->succeeded - st->failed;
        if (st->processing < 0 || st->ended)
            st->processing = 0;
        v = cJSON_GetObjectItemCaseSensitive(j, "output_file_id");
        if (cJSON_IsString(v))
            st->results = fxu_strdup(v->valuestring);
        v = cJSON_GetObjectItemCaseSensitive(j, "error_file_id");
        if (cJSON_IsString(v))
            st->errors = fxu_strdup(v->valuestring);
        v = cJSON_GetObjectItemCaseSensitive(j, "expires_at");
        st->expires_at = cJSON_IsNumber(v) ? v->valuedouble : 0;
    }
    cJSON_Delete(j);
}

/* A job id goes into a URL path: the characters providers use only. */
static int
id_ok(const char *id, char **err)
{
    size_t n = id ? strlen(id) : 0;
    if (n == 0 || n > 200 ||
        strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                   "0123456789-_.") != n) {
        fx_set_err(err, "'%s' is no provider job id", id ? id : "");
        return 0;
    }
    return 1;
}

static flexiai_code
job_call(flexiai_client *c, const char *name, const char *job,
         const char *method, const char *tail, flexiai_batchapi_status *st,
         FILE *out, char **err)
{
    int kind;
    struct fx_provider *p;
    struct fx_http_req hr;
    char *root;
    if (endpoint(c, name, &kind, &p, &hr, &root, err) != 0)
        return FLEXIAI_ECONFIG;
    if (kind == FX_BATCHAPI_GEMINI ? !fx_bgem_id_ok(job) : !id_ok(job, err)) {
        if (kind == FX_BATCHAPI_GEMINI)
            fx_set_err(err, "'%s' is no Gemini batch or file name", job);
        fx_http_req_free(&hr);
        free(root);
        return FLEXIAI_EDATA;
    }
    struct xfer x = {
        .p = p, .method = method, .headers = hr.headers, .out = out};
    fxu_buf_init(&x.body);
    if (kind == FX_BATCHAPI_GEMINI && strncmp(job, "files/", 6) == 0)
        x.url = fxu_asprintf("%s/%s:download?alt=media", root, job);
    else if (kind == FX_BATCHAPI_GEMINI)
        x.url = fxu_asprintf("%s/%s%s", root, job,
                             strcmp(tail, "/cancel") == 0 ? ":cancel" : "");
    else if (kind == FX_BATCHAPI_ANTHROPIC)
        x.url = fxu_asprintf("%s/messages/batches/%s%s", root, job, tail);
    else if (out)
        x.url = fxu_asprintf("%s/files/%s/content", root, job);
    else
        x.url = fxu_asprintf("%s/batches/%s%s", root, job, tail);
    flexiai_code rc = run(&x, err);
    free((char *)x.url);
    if (rc == FLEXIAI_OK && st)
        parse_status(kind, job, x.body.data ? x.body.data : "", x.body.len, st);
    fxu_buf_free(&x.body);
    fx_http_req_free(&hr);
    free(root);
    return rc;
}

void
flexiai_batchapi_status_free(flexiai_batchapi_status *st)
{
    if (st == NULL)
        return;
    free(st->status);
    free(st->results);
    free(st->errors);
    memset(st, 0, sizeof(*st));
}

flexiai_code
flexiai_batchapi_status_get(flexiai_client *c, const char *name,
                            const char *job, flexiai_batchapi_status *st,
                            char **err)
{
    memset(st, 0, sizeof(*st));
    int kind;
    if (fx_batchapi_provider(c, name, &kind, NULL) == NULL ||
        kind != FX_BATCHAPI_GEMINI)
        return job_call(c, name, job, "GET", "", st, NULL, err);
    /* a Gemini batch that ended holds its answers: the resource into a
     * scratch file, its status from the rest of it */
    FILE *tmp = tmpfile();
    if (tmp == NULL) {
        fx_set_err(err, "%s: no scratch file", name);
        return FLEXIAI_ECANTCREAT;
    }
    flexiai_code rc = job_call(c, name, job, "GET", "", NULL, tmp, err);
    if (rc == FLEXIAI_OK) {
        fxu_buf rest;
        fxu_buf_init(&rest);
        rewind(tmp);
        if (fx_bgem_inline(tmp, NULL, &rest) < 0) {
            fx_set_err(err, "%s: the batch is not JSON", name);
            rc = FLEXIAI_EPROTOCOL;
        } else {
            fx_bgem_status(job, rest.data ? rest.data : "", rest.len, st);
        }
        fxu_buf_free(&rest);
    }
    fclose(tmp);
    return rc;
}

flexiai_code
flexiai_batchapi_cancel(flexiai_client *c, const char *name, const char *job,
                        char **err)
{
    return job_call(c, name, job, "POST", "/cancel", NULL, NULL, err);
}

flexiai_code
flexiai_batchapi_download(flexiai_client *c, const char *name, const char *what,
                          const char *path, char **err)
{
    FILE *out = fopen(path, "wb");
    if (out == NULL) {
        fx_set_err(err, "%s: cannot create", path);
        return FLEXIAI_ECANTCREAT;
    }
    int kind;
    flexiai_code rc;
    if (fx_batchapi_provider(c, name, &kind, NULL) &&
        kind == FX_BATCHAPI_GEMINI && what &&
        strncmp(what, "batches/", 8) == 0) {
        /* the answers are inside the batch: the resource into a scratch
         * file, its answers cut out of it line by line */
        FILE *tmp = tmpfile();
        if (tmp == NULL) {
            fclose(out);
            fx_set_err(err, "%s: no scratch file", path);
            return FLEXIAI_ECANTCREAT;
        }
        rc = job_call(c, name, what, "GET", "", NULL, tmp, err);
        if (rc == FLEXIAI_OK) {
            rewind(tmp);
            if (fx_bgem_inline(tmp, out, NULL) < 0) {
                fx_set_err(err, "%s: the batch's answers are not JSON", name);
                rc = FLEXIAI_EPROTOCOL;
            }
        }
        fclose(tmp);
    } else {
        rc = job_call(c, name, what, "GET", "/results", NULL, out, err);
    }
    if (fclose(out) != 0 && rc == FLEXIAI_OK) {
        fx_set_err(err, "%s: cannot write", path);
        rc = FLEXIAI_EIO;
    }
    return rc;
}
