/*
 * mockllm - a mock LLM provider HTTP server for flexiai's tests.
 *
 * Speaks the OpenAI (and Azure OpenAI) Chat Completions, Anthropic
 * Messages, Gemini and Vertex AI generateContent wire formats on
 * 127.0.0.1, validates requests against them, and answers according to a
 * per-route behaviour script (see tests/mockllm/README.md).
 *
 * Built on libmicrohttpd (thread pool + epoll, suspend/resume for delays)
 * and cJSON.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <microhttpd.h>

#include "mockllm-responses.h"
#include "mockllm-models.h"
#include "mockllm-schema.h"
#include "mockllm-tools.h"
#include "mockllm-usage.h"
#include "mockllm-thinking.h"
#include "mockllm-batchapi.h"
#include "mockllm-attach.h"

#define MAX_BODY (16u * 1024u * 1024u)
#define MAX_ROUTES 4096
#define MAX_ROUTE_NAME 200
#define MAX_DELAY_MS 3600000L

enum kind { K_NONE = 0, K_OPENAI, K_ANTHROPIC, K_GEMINI, K_VERTEX };

static const char *const kind_names[] = {"none", "openai", "anthropic",
                                         "gemini", "vertex"};

static int g_quiet;

/* ------------------------------------------------------------------ */
/* small helpers                                                       */

static uint64_t
now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void *
xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p) {
        fprintf(stderr, "mockllm: out of memory\n");
        abort();
    }
    return p;
}

static char *
xstrndup(const char *s, size_t n)
{
    char *p = xmalloc(n + 1);
    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

static char *
xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

static int
is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' ||
           c == '\v';
}

static long
count_words(const char *s)
{
    long n = 0;
    int in = 0;
    if (!s)
        return 0;
    for (; *s; s++) {
        if (is_ws((unsigned char)*s)) {
            in = 0;
        } else if (!in) {
            in = 1;
            n++;
        }
    }
    return n;
}

static int
hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decode s[0..n) (valid %XX sequences only) into a new string. */
static char *
pct_decode(const char *s, size_t n)
{
    char *out = xmalloc(n + 1);
    size_t i, o = 0;
    for (i = 0; i < n; i++) {
        if (s[i] == '%' && i + 2 < n && hexval((unsigned char)s[i + 1]) >= 0 &&
            hexval((unsigned char)s[i + 2]) >= 0) {
            out[o++] = (char)(hexval((unsigned char)s[i + 1]) * 16 +
                              hexval((unsigned char)s[i + 2]));
            i += 2;
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
    return out;
}

/* growable byte buffer */
struct buf {
    char *p;
    size_t len, cap;
};

static void
buf_reserve(struct buf *b, size_t extra)
{
    if (b->len + extra + 1 > b->cap) {
        size_t nc = b->cap ? b->cap : 256;
        while (nc < b->len + extra + 1)
            nc *= 2;
        char *np = realloc(b->p, nc);
        if (!np) {
            fprintf(stderr, "mockllm: out of memory\n");
            abort();
        }
        b->p = np;
        b->cap = nc;
    }
}

static void
buf_add(struct buf *b, const char *s, size_t n)
{
    buf_reserve(b, n);
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void
buf_adds(struct buf *b, const char *s)
{
    buf_add(b, s, strlen(s));
}

/* ------------------------------------------------------------------ */
/* behaviour scripts                                                   */

struct script {
    int refs; /* atomic */
    char *reply;
    long chunks;
    long delay_ms;
    long wait_ms;
    char *wait_file; /* wait until this file exists (wait_ms: the cap) */
    long status;
    char *error_type;
    char *error_message;
    char *retry_after;
    char *retry_after_ms;
    char *reset_requests;
    int drop, malformed, error_body, html, empty, no_usage;
    long truncate_after;    /* -1: off */
    long error_event_after; /* -1: off */
    char *missing;
    long fail_first; /* -1: always */
    long fail_every; /* 0: off; N: the failing items apply to every Nth */
    char *finish;
    char *model;
    char *key;
    char *tool_reply; /* answer with a tool call whose input is this */
    char *tool_name;  /* ... named this (default: the forced tool) */
    char *usage;      /* members for every usage object (mockllm-usage.c) */
    int has_failing;
    struct mock_think_script think; /* mockllm-thinking.c */
    struct mock_tools_script tools; /* mockllm-tools.c */
    /* mockllm-attach.c */
    struct mock_attach_script attach;
};

static void
script_unref(struct script *s)
{
    if (!s)
        return;
    if (__atomic_sub_fetch(&s->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    free(s->reply);
    free(s->tool_reply);
    free(s->tool_name);
    free(s->usage);
    free(s->error_type);
    free(s->error_message);
    free(s->retry_after);
    free(s->retry_after_ms);
    free(s->reset_requests);
    free(s->missing);
    free(s->finish);
    free(s->model);
    free(s->key);
    free(s->wait_file);
    free(s->think.text);
    mock_tools_script_free(&s->tools);
    free(s);
}

static struct script *
script_ref(struct script *s)
{
    if (s)
        __atomic_add_fetch(&s->refs, 1, __ATOMIC_ACQ_REL);
    return s;
}

static int
parse_long(const char *v, long lo, long hi, long *out)
{
    char *end;
    long x;
    if (!*v)
        return -1;
    errno = 0;
    x = strtol(v, &end, 10);
    if (errno || *end || x < lo || x > hi)
        return -1;
    *out = x;
    return 0;
}

/*
 * Parse a SPEC: comma-separated items, each `key=value` or a bare flag.
 * Returns NULL and fills err on error.
 */
static struct script *
script_parse(const char *spec, char *err, size_t errlen)
{
    struct script *s = calloc(1, sizeof *s);
    const char *p = spec;
    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->refs = 1;
    s->truncate_after = -1;
    s->error_event_after = -1;
    s->fail_first = -1;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', len);
        char key[64];
        size_t klen = eq ? (size_t)(eq - p) : len;
        char *val = NULL;
        long n;
        /* trim spaces around the key */
        const char *ks = p;
        while (klen && is_ws((unsigned char)*ks)) {
            ks++;
            klen--;
        }
        while (klen && is_ws((unsigned char)ks[klen - 1]))
            klen--;
        if (klen == 0) {
            if (eq) {
                snprintf(err, errlen, "empty key in script item '%.*s'",
                         (int)len, p);
                goto fail;
            }
            goto next; /* empty item */
        }
        if (klen >= sizeof key) {
            snprintf(err, errlen, "unknown script item '%.*s'", (int)klen, ks);
            goto fail;
        }
        memcpy(key, ks, klen);
        key[klen] = '\0';
        if (eq)
            val = pct_decode(eq + 1, len - klen - (size_t)(ks - p) - 1);
        switch (mock_tools_item(&s->tools, key, eq ? eq + 1 : NULL,
                                eq ? len - (size_t)(eq + 1 - p) : 0, err,
                                errlen)) {
        case -1:
            goto fail_val;
        case 1:
            free(val);
            goto next;
        }

#define FLAG(name, field)                                                      \
    if (!strcmp(key, name)) {                                                  \
        if (val) {                                                             \
            snprintf(err, errlen, "script item '%s' takes no value", name);    \
            goto fail_val;                                                     \
        }                                                                      \
        s->field = 1;                                                          \
        goto next;                                                             \
    }
#define STR(name, field)                                                       \
    if (!strcmp(key, name)) {                                                  \
        if (!val) {                                                            \
            snprintf(err, errlen, "script item '%s' needs a value", name);     \
            goto fail;                                                         \
        }                                                                      \
        free(s->field);                                                        \
        s->field = val;                                                        \
        val = NULL;                                                            \
        goto next;                                                             \
    }
#define NUM(name, field, lo, hi)                                               \
    if (!strcmp(key, name)) {                                                  \
        if (!val || parse_long(val, lo, hi, &n)) {                             \
            snprintf(err, errlen,                                              \
                     "script item '%s' needs an integer value in %ld..%ld",    \
                     name, (long)(lo), (long)(hi));                            \
            goto fail_val;                                                     \
        }                                                                      \
        s->field = n;                                                          \
        free(val);                                                             \
        val = NULL;                                                            \
        goto next;                                                             \
    }
        FLAG("drop", drop)
        FLAG("malformed", malformed)
        FLAG("error_body", error_body)
        FLAG("html", html)
        FLAG("empty", empty)
        FLAG("no_usage", no_usage)
        STR("reply", reply)
        STR("tool_reply", tool_reply)
        STR("tool_name", tool_name)
        STR("usage", usage)
        STR("error_type", error_type)
        STR("error_message", error_message)
        STR("retry_after", retry_after)
        STR("retry_after_ms", retry_after_ms)
        STR("reset_requests", reset_requests)
        STR("missing", missing)
        STR("finish", finish)
        STR("model", model)
        STR("key", key)
        STR("wait_file", wait_file)
        STR("thinking", think.text)
        FLAG("redacted", think.redacted)
        FLAG("require_thinking", think.require)
        FLAG("no_images", attach.no_images)
        FLAG("no_pdf", attach.no_pdf)
        NUM("chunks", chunks, 1, 1000000)
        NUM("delay_ms", delay_ms, 0, MAX_DELAY_MS)
        NUM("wait_ms", wait_ms, 0, MAX_DELAY_MS)
        NUM("status", status, 200, 599)
        NUM("truncate_after", truncate_after, 0, LONG_MAX)
        NUM("error_event_after", error_event_after, 0, LONG_MAX)
        NUM("fail_first", fail_first, 0, LONG_MAX)
        NUM("fail_every", fail_every, 1, LONG_MAX)
#undef FLAG
#undef STR
#undef NUM
        snprintf(err, errlen, "unknown script item '%s'", key);
    fail_val:
        free(val);
    fail:
        script_unref(s);
        return NULL;
    next:
        if (!end)
            break;
        p = end + 1;
    }
    if (s->usage && mock_usage_check(s->usage) != 0) {
        snprintf(err, errlen, "script item 'usage' needs a JSON object");
        script_unref(s);
        return NULL;
    }
    s->has_failing = s->status || s->drop || s->truncate_after >= 0 ||
                     s->error_event_after >= 0 || s->malformed ||
                     s->error_body || s->html || s->empty || s->missing;
    return s;
}

/* ------------------------------------------------------------------ */
/* routes and their logs                                               */

#define TIMES_MAX 4096 /* arrival times kept per route */

struct route {
    char *name;
    struct script *script; /* NULL: default behaviour */
    unsigned long served;  /* valid requests since the script was set */
    unsigned long count, invalid, streamed, aborted;
    double times[TIMES_MAX]; /* arrival times (epoch ms), a ring */
    struct buf last_body;
    struct buf last_path;
    int has_last;
    int last_auth;
    int visible;
    char last_version[40];    /* anthropic-version, "" when none */
    char last_key_header[24]; /* the header that carried the key */
    char *tool_results;       /* mockllm-tools.c: JSON, NULL when none */
};

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct route **g_routes;
static size_t g_nroutes;
static unsigned long g_generation = 1;

/* caller holds g_lock */
static struct route *
route_find(const char *name, size_t len, int create)
{
    size_t i;
    struct route *r;
    for (i = 0; i < g_nroutes; i++) {
        r = g_routes[i];
        if (strlen(r->name) == len && !memcmp(r->name, name, len)) {
            if (create)
                r->visible = 1;
            return r;
        }
    }
    if (!create || g_nroutes >= MAX_ROUTES)
        return NULL;
    if (!g_routes)
        g_routes = xmalloc(sizeof *g_routes * MAX_ROUTES);
    r = calloc(1, sizeof *r);
    if (!r)
        return NULL;
    r->name = xstrndup(name, len);
    r->visible = 1;
    g_routes[g_nroutes++] = r;
    return r;
}

static int
set_script(const char *name, size_t len, struct script *s)
{
    struct route *r;
    struct script *old;
    pthread_mutex_lock(&g_lock);
    r = route_find(name, len, 1);
    if (!r) {
        pthread_mutex_unlock(&g_lock);
        script_unref(s);
        return -1;
    }
    old = r->script;
    r->script = s;
    r->served = 0;
    pthread_mutex_unlock(&g_lock);
    script_unref(old);
    return 0;
}

static void
reset_all(void)
{
    size_t i;
    struct script **olds;
    size_t n;
    mock_attach_reset();
    pthread_mutex_lock(&g_lock);
    n = g_nroutes;
    olds = xmalloc(sizeof *olds * (n ? n : 1));
    for (i = 0; i < n; i++) {
        struct route *r = g_routes[i];
        olds[i] = r->script;
        r->script = NULL;
        r->served = r->count = r->invalid = r->streamed = r->aborted = 0;
        r->last_body.len = 0;
        r->last_path.len = 0;
        r->has_last = 0;
        r->last_auth = 0;
        r->visible = 0;
        free(r->tool_results);
        r->tool_results = NULL;
    }
    g_generation++;
    pthread_mutex_unlock(&g_lock);
    for (i = 0; i < n; i++)
        script_unref(olds[i]);
    free(olds);
}

static void
free_routes(void)
{
    size_t i;
    for (i = 0; i < g_nroutes; i++) {
        struct route *r = g_routes[i];
        script_unref(r->script);
        free(r->last_body.p);
        free(r->last_path.p);
        free(r->tool_results);
        free(r->name);
        free(r);
    }
    free(g_routes);
    g_routes = NULL;
    g_nroutes = 0;
}

/* caller holds g_lock */
static cJSON *
route_log_json(const struct route *r)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "count", (double)(r ? r->count : 0));
    cJSON_AddNumberToObject(o, "invalid", (double)(r ? r->invalid : 0));
    cJSON_AddNumberToObject(o, "streamed", (double)(r ? r->streamed : 0));
    cJSON_AddNumberToObject(o, "aborted", (double)(r ? r->aborted : 0));
    {
        /* the arrival times of the last TIMES_MAX requests, oldest first */
        cJSON *times = cJSON_AddArrayToObject(o, "times");
        unsigned long n = r ? r->count : 0;
        unsigned long first = n > TIMES_MAX ? n - TIMES_MAX : 0;
        for (unsigned long i = first; i < n; i++)
            cJSON_AddItemToArray(times,
                                 cJSON_CreateNumber(r->times[i % TIMES_MAX]));
    }
    if (r && r->has_last) {
        cJSON_AddItemToObject(
            o, "last_body",
            cJSON_CreateString(r->last_body.p ? r->last_body.p : ""));
        cJSON_AddItemToObject(
            o, "last_path",
            cJSON_CreateString(r->last_path.p ? r->last_path.p : ""));
        cJSON_AddStringToObject(o, "last_auth",
                                r->last_auth ? "present" : "absent");
        cJSON_AddStringToObject(o, "last_version", r->last_version);
        cJSON_AddStringToObject(o, "last_key_header", r->last_key_header);
        cJSON_AddItemToObject(o, "last_tool_results",
                              r->tool_results ? cJSON_Parse(r->tool_results)
                                              : cJSON_CreateArray());
    } else {
        cJSON_AddNullToObject(o, "last_body");
        cJSON_AddNullToObject(o, "last_path");
        cJSON_AddNullToObject(o, "last_auth");
    }
    return o;
}

/* ------------------------------------------------------------------ */
/* timer thread: resumes suspended connections when their delay is over */

struct tent {
    uint64_t due;
    struct MHD_Connection *c;
};

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct tent *h;
    size_t n, cap;
    int stop;
    pthread_t th;
} T = {PTHREAD_MUTEX_INITIALIZER, PTHREAD_COND_INITIALIZER, NULL, 0, 0, 0, 0};

static void
heap_push(struct tent e)
{
    size_t i = T.n++;
    while (i > 0) {
        size_t parent = (i - 1) / 2;
        if (T.h[parent].due <= e.due)
            break;
        T.h[i] = T.h[parent];
        i = parent;
    }
    T.h[i] = e;
}

static struct tent
heap_pop(void)
{
    struct tent top = T.h[0], last = T.h[--T.n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        uint64_t md = last.due;
        if (l < T.n && T.h[l].due < md) {
            m = l;
            md = T.h[l].due;
        }
        if (r < T.n && T.h[r].due < md)
            m = r;
        if (m == i)
            break;
        T.h[i] = T.h[m];
        i = m;
    }
    if (T.n)
        T.h[i] = last;
    return top;
}

/*
 * Suspend connection c until `due` (now_ms() clock). Must be called from
 * the access handler or the content reader of c. Returns 0 when the
 * connection was not suspended (shutting down): the caller goes on.
 */
static int
timer_suspend(struct MHD_Connection *c, uint64_t due)
{
    pthread_mutex_lock(&T.mu);
    if (T.stop) {
        pthread_mutex_unlock(&T.mu);
        return 0;
    }
    if (T.n == T.cap) {
        size_t nc = T.cap ? T.cap * 2 : 64;
        struct tent *nh = realloc(T.h, nc * sizeof *nh);
        if (!nh) {
            pthread_mutex_unlock(&T.mu);
            return 0;
        }
        T.h = nh;
        T.cap = nc;
    }
    MHD_suspend_connection(c);
    heap_push((struct tent){due, c});
    pthread_cond_signal(&T.cv);
    pthread_mutex_unlock(&T.mu);
    return 1;
}

static void *
timer_main(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&T.mu);
    while (!T.stop) {
        uint64_t now;
        if (T.n == 0) {
            pthread_cond_wait(&T.cv, &T.mu);
            continue;
        }
        now = now_ms();
        if (T.h[0].due <= now) {
            struct tent e = heap_pop();
            pthread_mutex_unlock(&T.mu);
            MHD_resume_connection(e.c);
            pthread_mutex_lock(&T.mu);
            continue;
        } else {
            struct timespec ts;
            uint64_t d = T.h[0].due;
            ts.tv_sec = (time_t)(d / 1000);
            ts.tv_nsec = (long)(d % 1000) * 1000000L;
            pthread_cond_timedwait(&T.cv, &T.mu, &ts);
        }
    }
    while (T.n) {
        struct tent e = heap_pop();
        MHD_resume_connection(e.c);
    }
    pthread_mutex_unlock(&T.mu);
    return NULL;
}

static int
timer_start(void)
{
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_destroy(&T.cv);
    pthread_cond_init(&T.cv, &ca);
    pthread_condattr_destroy(&ca);
    return pthread_create(&T.th, NULL, timer_main, NULL);
}

static void
timer_stop(void)
{
    pthread_mutex_lock(&T.mu);
    T.stop = 1;
    pthread_cond_signal(&T.cv);
    pthread_mutex_unlock(&T.mu);
    pthread_join(T.th, NULL);
    free(T.h);
    T.h = NULL;
}

/*
 * After a delay: has the client gone away meanwhile?  (MHD does not watch
 * suspended connections, and the first write after the peer closed
 * usually succeeds, so look before writing.)
 */
static int
peer_closed(struct MHD_Connection *c)
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
    char b;
    ssize_t n;
    if (!ci)
        return 0;
    n = recv(ci->connect_fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
    if (n == 0)
        return 1;
    if (n < 0 && (errno == ECONNRESET || errno == ENOTCONN || errno == EPIPE))
        return 1;
    return 0;
}

/* ------------------------------------------------------------------ */
/* per-request state                                                   */

enum { ST_NEW = 0, ST_BODY, ST_WAITING, ST_DONE };

struct req {
    char *uri; /* raw request target, with query */
    struct buf body;
    int state;
    int too_large;
    int responded; /* a response was queued */
    int no_abort;  /* do not count an unclean end as "aborted" */
    struct route *route;
    unsigned long gen;
    struct script *script;
    uint64_t wait_until;
};

/* A waiting request: until wait_until, or until the script's wait_file
 * exists (looked for every 20 ms) when it names one. */
static int
still_waiting(const struct req *r)
{
    if (now_ms() >= r->wait_until)
        return 0;
    return !(r->script && r->script->wait_file &&
             access(r->script->wait_file, F_OK) == 0);
}

static uint64_t
next_wake(const struct req *r)
{
    uint64_t t = r->wait_until;
    if (r->script && r->script->wait_file && now_ms() + 20 < t)
        t = now_ms() + 20;
    return t;
}

static void *
uri_logger(void *cls, const char *uri, struct MHD_Connection *c)
{
    struct req *r = calloc(1, sizeof *r);
    (void)cls;
    (void)c;
    if (r)
        r->uri = strdup(uri ? uri : "");
    return r;
}

static void
request_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                  enum MHD_RequestTerminationCode toe)
{
    struct req *r = *con_cls;
    (void)cls;
    (void)c;
    if (!r)
        return;
    if (r->route && r->responded && !r->no_abort &&
        toe != MHD_REQUEST_TERMINATED_COMPLETED_OK &&
        toe != MHD_REQUEST_TERMINATED_DAEMON_SHUTDOWN) {
        pthread_mutex_lock(&g_lock);
        if (r->gen == g_generation)
            r->route->aborted++;
        pthread_mutex_unlock(&g_lock);
    }
    script_unref(r->script);
    free(r->body.p);
    free(r->uri);
    free(r);
    *con_cls = NULL;
}

/* ------------------------------------------------------------------ */
/* responses                                                           */

static enum MHD_Result
send_buf(struct MHD_Connection *c, struct req *r, unsigned status,
         const char *ctype, char *data, size_t len, int must_free,
         const struct script *hdrs)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, data, must_free ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
    enum MHD_Result ret;
    if (!resp) {
        if (must_free)
            free(data);
        return MHD_NO;
    }
    if (ctype)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
    if (hdrs) {
        if (hdrs->retry_after)
            MHD_add_response_header(resp, "retry-after", hdrs->retry_after);
        if (hdrs->retry_after_ms)
            MHD_add_response_header(resp, "retry-after-ms",
                                    hdrs->retry_after_ms);
        if (hdrs->reset_requests)
            MHD_add_response_header(resp, "x-ratelimit-reset-requests",
                                    hdrs->reset_requests);
    }
    ret = MHD_queue_response(c, status, resp);
    MHD_destroy_response(resp);
    if (r && ret == MHD_YES)
        r->responded = 1;
    return ret;
}

static enum MHD_Result
send_text(struct MHD_Connection *c, struct req *r, unsigned status,
          const char *text)
{
    return send_buf(c, r, status, "text/plain; charset=utf-8", (char *)text,
                    strlen(text), 0, NULL);
}

static enum MHD_Result
send_json(struct MHD_Connection *c, struct req *r, unsigned status, cJSON *j,
          const struct script *hdrs)
{
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!s)
        return MHD_NO;
    return send_buf(c, r, status, "application/json", s, strlen(s), 1, hdrs);
}

static const char *
openai_type_for(long status)
{
    switch (status) {
    case 401:
    case 400:
    case 404:
    case 409:
    case 413:
    case 422:
        return "invalid_request_error";
    case 403:
        return "request_forbidden";
    case 429:
        return "requests";
    default:
        return status >= 500 ? "server_error" : "invalid_request_error";
    }
}

static const char *
openai_code_for(long status)
{
    switch (status) {
    case 401:
        return "invalid_api_key";
    case 404:
        return "model_not_found";
    case 429:
        return "rate_limit_exceeded";
    default:
        return NULL;
    }
}

static const char *
anthropic_type_for(long status)
{
    switch (status) {
    case 400:
        return "invalid_request_error";
    case 401:
        return "authentication_error";
    case 402:
        return "billing_error";
    case 403:
        return "permission_error";
    case 404:
        return "not_found_error";
    case 413:
        return "request_too_large";
    case 429:
        return "rate_limit_error";
    case 500:
        return "api_error";
    case 504:
        return "timeout_error";
    case 529:
        return "overloaded_error";
    default:
        return status >= 500 ? "api_error" : "invalid_request_error";
    }
}

static const char *
google_status_for(long status)
{
    switch (status) {
    case 400:
        return "INVALID_ARGUMENT";
    case 401:
        return "UNAUTHENTICATED";
    case 403:
        return "PERMISSION_DENIED";
    case 404:
        return "NOT_FOUND";
    case 409:
        return "ABORTED";
    case 413:
        return "INVALID_ARGUMENT";
    case 429:
        return "RESOURCE_EXHAUSTED";
    case 499:
        return "CANCELLED";
    case 500:
        return "INTERNAL";
    case 501:
        return "UNIMPLEMENTED";
    case 503:
    case 529:
        return "UNAVAILABLE";
    case 504:
        return "DEADLINE_EXCEEDED";
    default:
        return status >= 500 ? "INTERNAL" : "FAILED_PRECONDITION";
    }
}

static const char *
default_message(enum kind k, long status, const char *type)
{
    if (type && !strcmp(type, "insufficient_quota"))
        return "You exceeded your current quota, please check your plan and "
               "billing details. (mock)";
    if (type && !strcmp(type, "context_length_exceeded"))
        return "This model's maximum context length is 8192 tokens. However, "
               "your messages resulted in more tokens. (mock)";
    if (type && !strcmp(type, "overloaded_error"))
        return "Overloaded";
    switch (status) {
    case 400:
        return "Invalid request (mock)";
    case 401:
        return k == K_OPENAI      ? "Incorrect API key provided (mock)."
               : k == K_ANTHROPIC ? "invalid x-api-key (mock)"
                                  : "API key not valid. Please pass a valid "
                                    "API key. (mock)";
    case 403:
        return "Permission denied (mock)";
    case 404:
        return "The requested model does not exist (mock)";
    case 408:
        return "Request timed out (mock)";
    case 413:
        return "Request too large (mock)";
    case 429:
        return k == K_GEMINI || k == K_VERTEX
                   ? "Resource has been exhausted (e.g. check quota). (mock)"
                   : "Rate limit reached for requests (mock)";
    case 503:
        return k == K_GEMINI || k == K_VERTEX
                   ? "The model is overloaded. Please try again later. (mock)"
                   : "The server is overloaded (mock)";
    case 529:
        return "Overloaded";
    default:
        return status >= 500 ? "The server had an error while processing "
                               "your request (mock)"
                             : "Request failed (mock)";
    }
}

/* Provider-shaped error object. type overrides type/code/status. */
static cJSON *
error_obj(enum kind k, long status, const char *type, const char *msg,
          const char *param)
{
    cJSON *o = cJSON_CreateObject(), *e;
    if (!msg)
        msg = default_message(k, status, type);
    switch (k) {
    case K_ANTHROPIC:
        cJSON_AddStringToObject(o, "type", "error");
        e = cJSON_AddObjectToObject(o, "error");
        cJSON_AddStringToObject(e, "type",
                                type ? type : anthropic_type_for(status));
        cJSON_AddStringToObject(e, "message", msg);
        break;
    case K_GEMINI:
    case K_VERTEX:
        e = cJSON_AddObjectToObject(o, "error");
        cJSON_AddNumberToObject(e, "code", (double)status);
        cJSON_AddStringToObject(e, "message", msg);
        cJSON_AddStringToObject(e, "status",
                                type ? type : google_status_for(status));
        break;
    default: {
        const char *code = type ? type : openai_code_for(status);
        e = cJSON_AddObjectToObject(o, "error");
        cJSON_AddStringToObject(e, "message", msg);
        cJSON_AddStringToObject(e, "type",
                                type ? type : openai_type_for(status));
        if (param)
            cJSON_AddStringToObject(e, "param", param);
        else
            cJSON_AddNullToObject(e, "param");
        if (code)
            cJSON_AddStringToObject(e, "code", code);
        else
            cJSON_AddNullToObject(e, "code");
        break;
    }
    }
    return o;
}

static enum MHD_Result
send_error(struct MHD_Connection *c, struct req *r, enum kind k, long status,
           const char *type, const char *msg, const char *param,
           const struct script *hdrs)
{
    return send_json(c, r, (unsigned)status,
                     error_obj(k, status, type, msg, param), hdrs);
}

/* Remove every member called `name` anywhere in the tree. */
static void
remove_field(cJSON *j, const char *name)
{
    cJSON *it;
    if (!j || !name)
        return;
    if (cJSON_IsObject(j)) {
        cJSON *d;
        while ((d = cJSON_DetachItemFromObjectCaseSensitive(j, name)))
            cJSON_Delete(d);
    }
    for (it = j->child; it; it = it->next)
        remove_field(it, name);
}

/* ------------------------------------------------------------------ */
/* request parsing and validation                                      */

struct chat {
    enum kind kind;
    int stream;        /* client asked for a stream */
    int sse;           /* gemini: alt=sse */
    int include_usage; /* openai stream_options.include_usage */
    const char *model; /* from the body or URL */
    struct buf echo;   /* text of the last user message */
    struct buf tmp;    /* scratch */
    long prompt_words;
    char tool[128]; /* the forced tool's name, "" when none */
};

struct vctx {
    char msg[512];
    char param[96];
};

static int verr(struct vctx *v, const char *param, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
verr(struct vctx *v, const char *param, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(v->msg, sizeof v->msg, fmt, ap);
    va_end(ap);
    snprintf(v->param, sizeof v->param, "%s", param ? param : "");
    return -1;
}

/* integral and within +-9e15 (no libm needed) */
static int
is_intval(double d)
{
    return d > -9e15 && d < 9e15 && d == (double)(long long)d;
}

static const char *
jtype(const cJSON *j)
{
    if (!j)
        return "nothing";
    if (cJSON_IsNull(j))
        return "null";
    if (cJSON_IsBool(j))
        return "a boolean";
    if (cJSON_IsNumber(j)) {
        return is_intval(j->valuedouble) ? "an integer" : "a decimal";
    }
    if (cJSON_IsString(j))
        return "a string";
    if (cJSON_IsArray(j))
        return "an array";
    if (cJSON_IsObject(j))
        return "an object";
    return "an unknown value";
}

static int
is_int(const cJSON *j)
{
    return cJSON_IsNumber(j) && is_intval(j->valuedouble);
}

static int
check_number(struct vctx *v, const cJSON *j, const char *name, double lo,
             double hi)
{
    if (!cJSON_IsNumber(j))
        return verr(v, name,
                    "Invalid type for '%s': expected a number, but got %s "
                    "instead.",
                    name, jtype(j));
    if (j->valuedouble < lo)
        return verr(v, name,
                    "Invalid '%s': number below minimum value. Expected a "
                    "value >= %g, but got %g instead.",
                    name, lo, j->valuedouble);
    if (j->valuedouble > hi)
        return verr(v, name,
                    "Invalid '%s': number above maximum value. Expected a "
                    "value <= %g, but got %g instead.",
                    name, hi, j->valuedouble);
    return 0;
}

static int
check_posint(struct vctx *v, const cJSON *j, const char *name, double min)
{
    if (!is_int(j))
        return verr(v, name,
                    "Invalid type for '%s': expected an integer, but got %s "
                    "instead.",
                    name, jtype(j));
    if (j->valuedouble < min)
        return verr(v, name,
                    "Invalid '%s': integer below minimum value. Expected a "
                    "value >= %g, but got %g instead.",
                    name, min, j->valuedouble);
    return 0;
}

static int
check_str_array(struct vctx *v, const cJSON *j, const char *name)
{
    const cJSON *it;
    int i = 0;
    if (!cJSON_IsArray(j))
        return verr(v, name,
                    "Invalid type for '%s': expected an array of strings, "
                    "but got %s instead.",
                    name, jtype(j));
    cJSON_ArrayForEach(it, j)
    {
        if (!cJSON_IsString(it))
            return verr(v, name,
                        "Invalid type for '%s[%d]': expected a string, but "
                        "got %s instead.",
                        name, i, jtype(it));
        i++;
    }
    return 0;
}

/* present and not JSON null */
static const cJSON *
opt(const cJSON *o, const char *name)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, name);
    return (j && !cJSON_IsNull(j)) ? j : NULL;
}

static int
validate_openai(const cJSON *j, struct chat *ch, int azure, struct vctx *v)
{
    const cJSON *model, *msgs, *m, *x;
    int i = 0, last_user = -1;
    char pn[64];

    if (!cJSON_IsObject(j))
        return verr(v, NULL,
                    "Invalid request body: expected a JSON object, but got "
                    "%s instead.",
                    jtype(j));
    model = cJSON_GetObjectItemCaseSensitive(j, "model");
    if (!model) {
        if (!azure)
            return verr(v, "model", "you must provide a model parameter");
    } else if (!cJSON_IsString(model) || !*model->valuestring) {
        return verr(v, "model",
                    "Invalid type for 'model': expected a non-empty string, "
                    "but got %s instead.",
                    cJSON_IsString(model) ? "an empty string" : jtype(model));
    } else {
        ch->model = model->valuestring;
    }
    msgs = cJSON_GetObjectItemCaseSensitive(j, "messages");
    if (!msgs)
        return verr(v, "messages", "Missing required parameter: 'messages'.");
    if (!cJSON_IsArray(msgs))
        return verr(v, "messages",
                    "Invalid type for 'messages': expected an array, but got "
                    "%s instead.",
                    jtype(msgs));
    if (cJSON_GetArraySize(msgs) == 0)
        return verr(v, "messages",
                    "Invalid 'messages': empty array. Expected an array with "
                    "minimum length 1, but got an empty array instead.");
    cJSON_ArrayForEach(m, msgs)
    {
        const cJSON *role, *content;
        if (!cJSON_IsObject(m)) {
            snprintf(pn, sizeof pn, "messages[%d]", i);
            return verr(v, pn,
                        "Invalid type for 'messages[%d]': expected an "
                        "object, but got %s instead.",
                        i, jtype(m));
        }
        role = cJSON_GetObjectItemCaseSensitive(m, "role");
        snprintf(pn, sizeof pn, "messages[%d].role", i);
        if (!role)
            return verr(v, pn, "Missing required parameter: '%s'.", pn);
        if (!cJSON_IsString(role))
            return verr(v, pn,
                        "Invalid type for '%s': expected a string, but got "
                        "%s instead.",
                        pn, jtype(role));
        if (strcmp(role->valuestring, "system") &&
            strcmp(role->valuestring, "user") &&
            strcmp(role->valuestring, "assistant"))
            return verr(v, pn,
                        "Invalid value: '%.64s'. Supported values are: "
                        "'system', 'user' and 'assistant'.",
                        role->valuestring);
        content = cJSON_GetObjectItemCaseSensitive(m, "content");
        snprintf(pn, sizeof pn, "messages[%d].content", i);
        if (!content)
            return verr(v, pn, "Missing required parameter: '%s'.", pn);
        if (!cJSON_IsString(content))
            return verr(v, pn,
                        "Invalid type for '%s': expected a string, but got "
                        "%s instead.",
                        pn, jtype(content));
        ch->prompt_words += count_words(content->valuestring);
        if (!strcmp(role->valuestring, "user"))
            last_user = i;
        i++;
    }
    if (last_user >= 0) {
        const cJSON *c = cJSON_GetObjectItemCaseSensitive(
            cJSON_GetArrayItem(msgs, last_user), "content");
        buf_adds(&ch->echo, c->valuestring);
    }
    if ((x = opt(j, "stream"))) {
        if (!cJSON_IsBool(x))
            return verr(v, "stream",
                        "Invalid type for 'stream': expected a boolean, but "
                        "got %s instead.",
                        jtype(x));
        ch->stream = cJSON_IsTrue(x);
    }
    if ((x = opt(j, "stream_options"))) {
        const cJSON *iu;
        if (!ch->stream)
            return verr(v, "stream_options",
                        "The 'stream_options' parameter is only allowed when "
                        "'stream' is enabled.");
        if (!cJSON_IsObject(x))
            return verr(v, "stream_options",
                        "Invalid type for 'stream_options': expected an "
                        "object, but got %s instead.",
                        jtype(x));
        if ((iu = opt(x, "include_usage"))) {
            if (!cJSON_IsBool(iu))
                return verr(v, "stream_options.include_usage",
                            "Invalid type for 'stream_options.include_usage'"
                            ": expected a boolean, but got %s instead.",
                            jtype(iu));
            ch->include_usage = cJSON_IsTrue(iu);
        }
    }
    if ((x = opt(j, "temperature")) && check_number(v, x, "temperature", 0, 2))
        return -1;
    if ((x = opt(j, "top_p")) && check_number(v, x, "top_p", 0, 1))
        return -1;
    if ((x = opt(j, "max_tokens")) && check_posint(v, x, "max_tokens", 1))
        return -1;
    if ((x = opt(j, "max_completion_tokens")) &&
        check_posint(v, x, "max_completion_tokens", 1))
        return -1;
    if ((x = opt(j, "stop")) && !cJSON_IsString(x) &&
        check_str_array(v, x, "stop"))
        return -1;
    if (mock_schema_openai(j, v->msg, sizeof v->msg, v->param, sizeof v->param,
                           ch->tool, sizeof ch->tool))
        return -1;
    return 0;
}

/* Anthropic text content: a string or a non-empty array of text blocks. */
static int
anthropic_text(struct vctx *v, const cJSON *c, const char *name,
               struct buf *out, long *words)
{
    const cJSON *b;
    int i = 0;
    if (cJSON_IsString(c)) {
        *words += count_words(c->valuestring);
        if (out) {
            out->len = 0;
            buf_adds(out, c->valuestring);
        }
        return 0;
    }
    if (!cJSON_IsArray(c))
        return verr(v, name,
                    "%s: Input should be a valid string or a valid list, got "
                    "%s",
                    name, jtype(c));
    if (out)
        out->len = 0;
    cJSON_ArrayForEach(b, c)
    {
        const cJSON *t, *tx;
        if (!cJSON_IsObject(b))
            return verr(v, name,
                        "%s.%d: Input should be a valid dictionary or object",
                        name, i);
        t = cJSON_GetObjectItemCaseSensitive(b, "type");
        if (!cJSON_IsString(t))
            return verr(v, name, "%s.%d.type: Field required", name, i);
        if (strcmp(t->valuestring, "text") &&
            mock_thinking_block_ok(t->valuestring)) {
            i++; /* mockllm-thinking.c checks them */
            continue;
        }
        if (strcmp(t->valuestring, "text"))
            return verr(v, name,
                        "%s.%d.type: Input tag '%.40s' found using 'type' "
                        "does not match the expected tag 'text' (mock "
                        "supports text blocks only)",
                        name, i, t->valuestring);
        tx = cJSON_GetObjectItemCaseSensitive(b, "text");
        if (!tx)
            return verr(v, name, "%s.%d.text: Field required", name, i);
        if (!cJSON_IsString(tx))
            return verr(v, name, "%s.%d.text: Input should be a valid string",
                        name, i);
        *words += count_words(tx->valuestring);
        if (out)
            buf_adds(out, tx->valuestring);
        i++;
    }
    return 0;
}

static int
validate_anthropic(const cJSON *j, struct chat *ch, struct vctx *v)
{
    const cJSON *model, *msgs, *m, *x;
    int i = 0;
    const char *prev = NULL;
    char pn[64];

    if (!cJSON_IsObject(j))
        return verr(v, NULL, "Input should be a valid dictionary or object");
    model = cJSON_GetObjectItemCaseSensitive(j, "model");
    if (!model)
        return verr(v, "model", "model: Field required");
    if (!cJSON_IsString(model) || !*model->valuestring)
        return verr(v, "model", "model: Input should be a non-empty string");
    ch->model = model->valuestring;
    x = cJSON_GetObjectItemCaseSensitive(j, "max_tokens");
    if (!x)
        return verr(v, "max_tokens", "max_tokens: Field required");
    if (!is_int(x))
        return verr(v, "max_tokens",
                    "max_tokens: Input should be a valid integer, got %s",
                    jtype(x));
    if (x->valuedouble < 1)
        return verr(v, "max_tokens",
                    "max_tokens: Input should be greater than or equal to 1");
    msgs = cJSON_GetObjectItemCaseSensitive(j, "messages");
    if (!msgs)
        return verr(v, "messages", "messages: Field required");
    if (!cJSON_IsArray(msgs))
        return verr(v, "messages", "messages: Input should be a valid list");
    if (cJSON_GetArraySize(msgs) == 0)
        return verr(v, "messages",
                    "messages: at least one message is required");
    cJSON_ArrayForEach(m, msgs)
    {
        const cJSON *role, *content;
        int is_user;
        if (!cJSON_IsObject(m))
            return verr(v, "messages",
                        "messages.%d: Input should be a valid dictionary", i);
        role = cJSON_GetObjectItemCaseSensitive(m, "role");
        if (!role)
            return verr(v, "messages", "messages.%d.role: Field required", i);
        if (!cJSON_IsString(role) || (strcmp(role->valuestring, "user") &&
                                      strcmp(role->valuestring, "assistant")))
            return verr(v, "messages",
                        "messages.%d.role: Input should be 'user' or "
                        "'assistant'",
                        i);
        is_user = !strcmp(role->valuestring, "user");
        if (i == 0 && !is_user)
            return verr(v, "messages",
                        "messages: first message must use the \"user\" role");
        if (prev && !strcmp(prev, role->valuestring))
            return verr(v, "messages",
                        "messages: roles must alternate between \"user\" and "
                        "\"assistant\", but found multiple \"%s\" roles in a "
                        "row",
                        role->valuestring);
        prev = role->valuestring;
        content = cJSON_GetObjectItemCaseSensitive(m, "content");
        snprintf(pn, sizeof pn, "messages.%d.content", i);
        if (!content)
            return verr(v, "messages", "%s: Field required", pn);
        if (anthropic_text(v, content, pn, &ch->tmp, &ch->prompt_words))
            return -1;
        if (is_user) {
            ch->echo.len = 0;
            buf_add(&ch->echo, ch->tmp.p ? ch->tmp.p : "", ch->tmp.len);
        }
        i++;
    }
    if ((x = cJSON_GetObjectItemCaseSensitive(j, "system")) &&
        anthropic_text(v, x, "system", NULL, &ch->prompt_words))
        return -1;
    if ((x = cJSON_GetObjectItemCaseSensitive(j, "stop_sequences")) &&
        check_str_array(v, x, "stop_sequences"))
        return -1;
    if ((x = cJSON_GetObjectItemCaseSensitive(j, "temperature")) &&
        check_number(v, x, "temperature", 0, 1))
        return -1;
    if ((x = cJSON_GetObjectItemCaseSensitive(j, "top_p")) &&
        check_number(v, x, "top_p", 0, 1))
        return -1;
    if ((x = cJSON_GetObjectItemCaseSensitive(j, "top_k")) &&
        check_posint(v, x, "top_k", 0))
        return -1;
    if ((x = cJSON_GetObjectItemCaseSensitive(j, "stream"))) {
        if (!cJSON_IsBool(x))
            return verr(v, "stream", "stream: Input should be a valid boolean");
        ch->stream = cJSON_IsTrue(x);
    }
    if (mock_schema_anthropic(j, v->msg, sizeof v->msg, ch->tool,
                              sizeof ch->tool))
        return -1;
    return 0;
}

static int
in_list(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (!strcmp(s, *list))
            return 1;
    return 0;
}

static const char *const gemini_top_fields[] = {"contents",
                                                "systemInstruction",
                                                "system_instruction",
                                                "generationConfig",
                                                "generation_config",
                                                "safetySettings",
                                                "safety_settings",
                                                "tools",
                                                "toolConfig",
                                                "tool_config",
                                                "cachedContent",
                                                "cached_content",
                                                "labels",
                                                "model",
                                                NULL};

static const char *const gemini_gc_fields[] = {"temperature",
                                               "topP",
                                               "top_p",
                                               "topK",
                                               "top_k",
                                               "maxOutputTokens",
                                               "max_output_tokens",
                                               "stopSequences",
                                               "stop_sequences",
                                               "candidateCount",
                                               "candidate_count",
                                               "responseMimeType",
                                               "response_mime_type",
                                               "responseSchema",
                                               "response_schema",
                                               "responseJsonSchema",
                                               "response_json_schema",
                                               "presencePenalty",
                                               "presence_penalty",
                                               "frequencyPenalty",
                                               "frequency_penalty",
                                               "seed",
                                               "responseLogprobs",
                                               "response_logprobs",
                                               "logprobs",
                                               "thinkingConfig",
                                               "thinking_config",
                                               "responseModalities",
                                               "response_modalities",
                                               "mediaResolution",
                                               "media_resolution",
                                               NULL};

/* Google: parts must be a non-empty array of {text: string} */
static int
gemini_parts(struct vctx *v, const cJSON *parts, const char *where,
             struct buf *out, long *words)
{
    const cJSON *p;
    int i = 0;
    if (!parts)
        return verr(v, where,
                    "* GenerateContentRequest.%s.parts: "
                    "contents.parts must not be empty.",
                    where);
    if (!cJSON_IsArray(parts))
        return verr(v, where,
                    "Invalid JSON payload received. Invalid value at "
                    "'%s.parts' (type.googleapis.com/"
                    "google.ai.generativelanguage.v1beta.Part), %s",
                    where, jtype(parts));
    if (cJSON_GetArraySize(parts) == 0)
        return verr(v, where,
                    "* GenerateContentRequest.%s.parts: "
                    "contents.parts must not be empty.",
                    where);
    if (out)
        out->len = 0;
    cJSON_ArrayForEach(p, parts)
    {
        const cJSON *t;
        if (!cJSON_IsObject(p))
            return verr(v, where,
                        "Invalid JSON payload received. Invalid value at "
                        "'%s.parts[%d]': expected an object",
                        where, i);
        t = cJSON_GetObjectItemCaseSensitive(p, "text");
        if (!t)
            return verr(v, where,
                        "* GenerateContentRequest.%s.parts[%d].data: "
                        "required oneof field 'data' must have one initialized "
                        "field (mock supports text parts only)",
                        where, i);
        if (!cJSON_IsString(t))
            return verr(v, where,
                        "Invalid JSON payload received. Invalid value at "
                        "'%s.parts[%d].text' (TYPE_STRING), %s",
                        where, i, jtype(t));
        *words += count_words(t->valuestring);
        if (out)
            buf_adds(out, t->valuestring);
        i++;
    }
    return 0;
}

static int
validate_gemini(const cJSON *j, struct chat *ch, struct vctx *v)
{
    const cJSON *contents, *c, *x, *gc;
    int i = 0;
    char where[64];

    if (!cJSON_IsObject(j))
        return verr(v, NULL,
                    "Invalid JSON payload received. Expected an object.");
    for (x = j->child; x; x = x->next)
        if (!x->string || !in_list(x->string, gemini_top_fields))
            return verr(v, NULL,
                        "Invalid JSON payload received. Unknown name "
                        "\"%.64s\": Cannot find field.",
                        x->string ? x->string : "");
    contents = cJSON_GetObjectItemCaseSensitive(j, "contents");
    if (!contents || cJSON_IsNull(contents) ||
        (cJSON_IsArray(contents) && cJSON_GetArraySize(contents) == 0))
        return verr(v, "contents",
                    "* GenerateContentRequest.contents: "
                    "contents is not specified");
    if (!cJSON_IsArray(contents))
        return verr(v, "contents",
                    "Invalid JSON payload received. Invalid value at "
                    "'contents', %s",
                    jtype(contents));
    cJSON_ArrayForEach(c, contents)
    {
        const cJSON *role;
        if (!cJSON_IsObject(c))
            return verr(v, "contents",
                        "Invalid JSON payload received. Invalid value at "
                        "'contents[%d]': expected an object",
                        i);
        for (x = c->child; x; x = x->next)
            if (!x->string ||
                (strcmp(x->string, "role") && strcmp(x->string, "parts")))
                return verr(v, "contents",
                            "Invalid JSON payload received. Unknown name "
                            "\"%.64s\" at 'contents[%d]': Cannot find field.",
                            x->string ? x->string : "", i);
        role = cJSON_GetObjectItemCaseSensitive(c, "role");
        if (!cJSON_IsString(role) || (strcmp(role->valuestring, "user") &&
                                      strcmp(role->valuestring, "model")))
            return verr(v, "contents",
                        "Please use a valid role: user, model. (contents[%d] "
                        "has %s%.40s%s)",
                        i, cJSON_IsString(role) ? "'" : "",
                        cJSON_IsString(role) ? role->valuestring : jtype(role),
                        cJSON_IsString(role) ? "'" : "");
        snprintf(where, sizeof where, "contents[%d]", i);
        if (gemini_parts(v, cJSON_GetObjectItemCaseSensitive(c, "parts"), where,
                         &ch->tmp, &ch->prompt_words))
            return -1;
        if (!strcmp(role->valuestring, "user")) {
            ch->echo.len = 0;
            buf_add(&ch->echo, ch->tmp.p ? ch->tmp.p : "", ch->tmp.len);
        }
        i++;
    }
    x = opt(j, "systemInstruction");
    if (!x)
        x = opt(j, "system_instruction");
    if (x) {
        const cJSON *y;
        if (!cJSON_IsObject(x))
            return verr(v, "systemInstruction",
                        "Invalid JSON payload received. Invalid value at "
                        "'system_instruction', %s",
                        jtype(x));
        for (y = x->child; y; y = y->next)
            if (!y->string ||
                (strcmp(y->string, "role") && strcmp(y->string, "parts")))
                return verr(v, "systemInstruction",
                            "Invalid JSON payload received. Unknown name "
                            "\"%.64s\" at 'system_instruction': Cannot find "
                            "field.",
                            y->string ? y->string : "");
        if (gemini_parts(v, cJSON_GetObjectItemCaseSensitive(x, "parts"),
                         "system_instruction", NULL, &ch->prompt_words))
            return -1;
    }
    gc = opt(j, "generationConfig");
    if (!gc)
        gc = opt(j, "generation_config");
    if (gc) {
        if (!cJSON_IsObject(gc))
            return verr(v, "generationConfig",
                        "Invalid JSON payload received. Invalid value at "
                        "'generation_config', %s",
                        jtype(gc));
        for (x = gc->child; x; x = x->next)
            if (!x->string || !in_list(x->string, gemini_gc_fields))
                return verr(v, "generationConfig",
                            "Invalid JSON payload received. Unknown name "
                            "\"%.64s\" at 'generation_config': Cannot find "
                            "field.",
                            x->string ? x->string : "");
#define GC(camel, snake) (opt(gc, camel) ? opt(gc, camel) : opt(gc, snake))
        if ((x = GC("temperature", "temperature")) &&
            check_number(v, x, "generationConfig.temperature", 0, 2))
            return -1;
        if ((x = GC("topP", "top_p")) &&
            check_number(v, x, "generationConfig.topP", 0, 1))
            return -1;
        if ((x = GC("topK", "top_k")) &&
            check_number(v, x, "generationConfig.topK", 0, 1e9))
            return -1;
        if ((x = GC("maxOutputTokens", "max_output_tokens")) &&
            check_posint(v, x, "generationConfig.maxOutputTokens", 1))
            return -1;
        if ((x = GC("stopSequences", "stop_sequences")) &&
            check_str_array(v, x, "generationConfig.stopSequences"))
            return -1;
        if (mock_schema_gemini(gc, v->msg, sizeof v->msg)) {
            snprintf(v->param, sizeof v->param, "generationConfig");
            return -1;
        }
#undef GC
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* routing                                                             */

struct target {
    enum kind kind;
    const char *name; /* route name */
    size_t name_len;
    const char *model; /* gemini/vertex: from the URL; azure: deployment */
    size_t model_len;
    int stream_method; /* :streamGenerateContent */
    int azure;
    int probe;     /* GET of a model list or a model: no tokens */
    int responses; /* OpenAI's Responses API (mockllm-responses.c) */
};

static int
has_suffix(const char *s, size_t n, const char *suf)
{
    size_t m = strlen(suf);
    return n >= m && !memcmp(s + n - m, suf, m);
}

/* "/{model}:{method}" at p (p points just after ".../models/") */
static int
google_tail(const char *p, struct target *t)
{
    const char *colon = strchr(p, ':');
    if (!colon || colon == p || memchr(p, '/', (size_t)(colon - p)))
        return -1;
    t->model = p;
    t->model_len = (size_t)(colon - p);
    if (!strcmp(colon + 1, "generateContent"))
        t->stream_method = 0;
    else if (!strcmp(colon + 1, "streamGenerateContent"))
        t->stream_method = 1;
    else
        return -1;
    return 0;
}

/* skip one non-empty path segment after a literal prefix */
static const char *
seg(const char *p, const char *lit)
{
    size_t n = strlen(lit);
    const char *s;
    if (strncmp(p, lit, n))
        return NULL;
    p += n;
    s = strchr(p, '/');
    if (!s || s == p)
        return NULL;
    return s;
}

static int
classify(const char *url, struct target *t)
{
    const char *p = url;
    size_t n;
    memset(t, 0, sizeof *t);
    if (!strncmp(p, "/p/", 3)) {
        const char *s = strchr(p + 3, '/');
        if (!s || s == p + 3 || (size_t)(s - (p + 3)) > MAX_ROUTE_NAME)
            return -1;
        t->name = p + 3;
        t->name_len = (size_t)(s - (p + 3));
        p = s;
    }
    n = strlen(p);
    /* the no-token probe routes (flexiai breaker probe): a model's
     * metadata for Google, a model list for the others */
    if (!strncmp(p, "/v1beta/models/", 15) && p[15] && !strchr(p + 15, ':') &&
        !strchr(p + 15, '/')) {
        t->kind = K_GEMINI;
        t->probe = 1;
        t->model = p + 15;
        t->model_len = strlen(p + 15);
        goto named;
    }
    if ((!strncmp(p, "/v1/projects/", 13) ||
         !strncmp(p, "/v1beta1/projects/", 18))) {
        const char *q = strchr(p + 1, '/');
        if ((q = seg(q, "/projects/")) && (q = seg(q, "/locations/")) &&
            !strncmp(q, "/publishers/google/models/", 26) && q[26] &&
            !strchr(q + 26, ':') && !strchr(q + 26, '/')) {
            t->kind = K_VERTEX;
            t->probe = 1;
            t->model = q + 26;
            t->model_len = strlen(q + 26);
            goto named;
        }
    }
    if (!strcmp(p, "/v1beta/models")) { /* Gemini's list: mockllm-models.c */
        t->kind = K_GEMINI;
        t->probe = 1;
        goto named;
    }
    if (has_suffix(p, n, "/models")) {
        /* Anthropic's GET /v1/models is told apart by its header when
         * answering (answer_probe) */
        t->kind = K_OPENAI;
        t->probe = 1;
        goto named;
    }
    if (has_suffix(p, n, "/responses")) {
        t->kind = K_OPENAI;
        t->responses = 1;
    } else if (has_suffix(p, n, "/chat/completions")) {
        t->kind = K_OPENAI;
        if (!strncmp(p, "/openai/deployments/", 20)) {
            const char *d = p + 20, *s = strchr(d, '/');
            if (s && s > d) {
                t->azure = 1;
                t->model = d;
                t->model_len = (size_t)(s - d);
            }
        }
    } else if (has_suffix(p, n, "/v1/messages")) {
        t->kind = K_ANTHROPIC;
    } else if (!strncmp(p, "/v1beta/models/", 15)) {
        if (google_tail(p + 15, t))
            return -1;
        t->kind = K_GEMINI;
    } else if (!strncmp(p, "/v1/models/", 11)) {
        if (google_tail(p + 11, t))
            return -1;
        t->kind = K_GEMINI;
    } else if (!strncmp(p, "/v1/projects/", 13) ||
               !strncmp(p, "/v1beta1/projects/", 18)) {
        const char *q = strchr(p + 1, '/'); /* at "/projects/" */
        if (!(q = seg(q, "/projects/")) || !(q = seg(q, "/locations/")) ||
            strncmp(q, "/publishers/google/models/", 26) ||
            google_tail(q + 26, t))
            return -1;
        t->kind = K_VERTEX;
    } else {
        return -1;
    }
named:
    if (!t->name) {
        t->name = kind_names[t->kind];
        t->name_len = strlen(t->name);
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* reply text and pieces                                               */

struct piece {
    size_t off, len;
};

static size_t
split_pieces(const char *s, size_t n, long chunks, struct piece **out)
{
    size_t cnt = 0, cap = 16, i = 0, start = 0;
    struct piece *p = xmalloc(cap * sizeof *p);
    if (chunks > 0) {
        long k;
        for (k = 1; k <= chunks; k++) {
            size_t tgt = (size_t)((double)n * (double)k / (double)chunks);
            if (k == chunks || tgt > n)
                tgt = n;
            while (tgt < n && ((unsigned char)s[tgt] & 0xC0) == 0x80)
                tgt++;
            if (tgt > start) {
                if (cnt == cap) {
                    cap *= 2;
                    p = realloc(p, cap * sizeof *p);
                    if (!p)
                        abort();
                }
                p[cnt].off = start;
                p[cnt].len = tgt - start;
                cnt++;
                start = tgt;
            }
        }
    } else {
        while (i < n) {
            while (i < n && is_ws((unsigned char)s[i]))
                i++;
            while (i < n && !is_ws((unsigned char)s[i]))
                i++;
            while (i < n && is_ws((unsigned char)s[i]))
                i++;
            if (cnt == cap) {
                cap *= 2;
                p = realloc(p, cap * sizeof *p);
                if (!p)
                    abort();
            }
            p[cnt].off = start;
            p[cnt].len = i - start;
            cnt++;
            start = i;
        }
    }
    if (cnt == 0) {
        p[0].off = 0;
        p[0].len = 0;
        cnt = 1;
    }
    *out = p;
    return cnt;
}

struct answer {
    enum kind kind;
    const char *model;
    const char *text;
    size_t text_len;
    const char *finish;
    int usage; /* include usage */
    long prompt, completion;
    const struct script *sc;
    const char *tool_name;         /* answer with a tool call (non-streamed) */
    const char *tool_input;        /* its input, JSON text */
    const char *usage_extra;       /* the script's usage=, or NULL */
    struct mock_resp_answer *resp; /* a Responses API answer, else NULL */
    struct mock_think think;       /* mockllm-thinking.c */
};

static cJSON *
str_n(const char *s, size_t n)
{
    char *tmp = xstrndup(s, n);
    cJSON *j = cJSON_CreateString(tmp);
    free(tmp);
    return j;
}

static cJSON *
gemini_obj(const struct answer *a, const char *text, size_t len, int last)
{
    cJSON *o = cJSON_CreateObject(), *cands, *cand, *content, *parts, *part;
    cands = cJSON_AddArrayToObject(o, "candidates");
    cand = cJSON_CreateObject();
    cJSON_AddItemToArray(cands, cand);
    content = cJSON_AddObjectToObject(cand, "content");
    parts = cJSON_AddArrayToObject(content, "parts");
    part = cJSON_CreateObject();
    cJSON_AddItemToObject(part, "text", str_n(text, len));
    cJSON_AddItemToArray(parts, part);
    cJSON_AddStringToObject(content, "role", "model");
    if (last)
        cJSON_AddStringToObject(cand, "finishReason", a->finish);
    cJSON_AddNumberToObject(cand, "index", 0);
    if (last && a->usage) {
        cJSON *u = cJSON_AddObjectToObject(o, "usageMetadata");
        cJSON_AddNumberToObject(u, "promptTokenCount", (double)a->prompt);
        cJSON_AddNumberToObject(u, "candidatesTokenCount",
                                (double)a->completion);
        cJSON_AddNumberToObject(u, "totalTokenCount",
                                (double)(a->prompt + a->completion));
        mock_usage_merge(u, a->usage_extra);
    }
    cJSON_AddStringToObject(o, "modelVersion", a->model);
    cJSON_AddStringToObject(o, "responseId", "mock-response");
    return o;
}

static cJSON *
full_response(const struct answer *a)
{
    cJSON *o, *x, *u;
    if (a->resp)
        return mock_responses_full(a->resp);
    switch (a->kind) {
    case K_ANTHROPIC:
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", "msg_mock");
        cJSON_AddStringToObject(o, "type", "message");
        cJSON_AddStringToObject(o, "role", "assistant");
        cJSON_AddStringToObject(o, "model", a->model);
        x = cJSON_AddArrayToObject(o, "content");
        if (a->tool_input) {
            cJSON_AddItemToArray(
                x, mock_tool_answer(1, a->tool_name, a->tool_input));
        } else {
            cJSON *b = cJSON_CreateObject();
            cJSON_AddStringToObject(b, "type", "text");
            cJSON_AddItemToObject(b, "text", str_n(a->text, a->text_len));
            cJSON_AddItemToArray(x, b);
        }
        cJSON_AddStringToObject(o, "stop_reason", a->finish);
        cJSON_AddNullToObject(o, "stop_sequence");
        if (a->usage) {
            u = cJSON_AddObjectToObject(o, "usage");
            cJSON_AddNumberToObject(u, "input_tokens", (double)a->prompt);
            cJSON_AddNumberToObject(u, "output_tokens", (double)a->completion);
            mock_usage_merge(u, a->usage_extra);
        }
        return o;
    case K_GEMINI:
    case K_VERTEX:
        return gemini_obj(a, a->text, a->text_len, 1);
    default:
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", "chatcmpl-mock");
        cJSON_AddStringToObject(o, "object", "chat.completion");
        cJSON_AddNumberToObject(o, "created", (double)time(NULL));
        cJSON_AddStringToObject(o, "model", a->model);
        x = cJSON_AddArrayToObject(o, "choices");
        {
            cJSON *c = cJSON_CreateObject(), *m;
            cJSON_AddNumberToObject(c, "index", 0);
            m = cJSON_AddObjectToObject(c, "message");
            cJSON_AddStringToObject(m, "role", "assistant");
            if (a->tool_input) {
                cJSON_AddNullToObject(m, "content");
                cJSON_AddItemToArray(
                    cJSON_AddArrayToObject(m, "tool_calls"),
                    mock_tool_answer(0, a->tool_name, a->tool_input));
            } else {
                cJSON_AddItemToObject(m, "content",
                                      str_n(a->text, a->text_len));
            }
            cJSON_AddNullToObject(c, "logprobs");
            cJSON_AddStringToObject(c, "finish_reason", a->finish);
            cJSON_AddItemToArray(x, c);
        }
        if (a->usage) {
            u = cJSON_AddObjectToObject(o, "usage");
            cJSON_AddNumberToObject(u, "prompt_tokens", (double)a->prompt);
            cJSON_AddNumberToObject(u, "completion_tokens",
                                    (double)a->completion);
            cJSON_AddNumberToObject(u, "total_tokens",
                                    (double)(a->prompt + a->completion));
            mock_usage_merge(u, a->usage_extra);
        }
        return o;
    }
}

/* ------------------------------------------------------------------ */
/* streams                                                             */

struct event {
    char *data;
    size_t len;
    int delay_before;
};

struct stream {
    struct MHD_Connection *conn;
    struct event *ev;
    size_t n, cap;
    size_t idx, off;
    size_t waited_idx; /* delay already served for this index */
    long delay_ms;
    uint64_t due;
    int crlf;            /* Google style event terminator */
    const char *missing; /* field to delete from each event object */
    char *missing_owned;
};

static void
stream_add_raw(struct stream *s, char *data, size_t len, int delay)
{
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 16;
        s->ev = realloc(s->ev, s->cap * sizeof *s->ev);
        if (!s->ev)
            abort();
    }
    s->ev[s->n].data = data;
    s->ev[s->n].len = len;
    s->ev[s->n].delay_before = delay;
    s->n++;
}

/* add "event: NAME\n" (if name) "data: JSON\n\n"; consumes j */
static void
stream_add(struct stream *s, const char *name, cJSON *j, int delay)
{
    char *js;
    struct buf b = {0};
    if (s->missing)
        remove_field(j, s->missing);
    js = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    if (!js)
        abort();
    if (name) {
        buf_adds(&b, "event: ");
        buf_adds(&b, name);
        buf_adds(&b, "\n");
    }
    buf_adds(&b, "data: ");
    buf_adds(&b, js);
    buf_adds(&b, s->crlf ? "\r\n\r\n" : "\n\n");
    free(js);
    stream_add_raw(s, b.p, b.len, delay);
}

/* A Responses API event (an object) or events (an array), each named
 * after its type; consumes j.  The first one waits when delay is set. */
static void
stream_add_events(struct stream *s, cJSON *j, int delay)
{
    cJSON *ev;
    if (cJSON_IsObject(j)) {
        const char *type =
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "type"));
        char *name = xstrdup(type ? type : "message");
        stream_add(s, name, j, delay);
        free(name);
        return;
    }
    while ((ev = cJSON_DetachItemFromArray(j, 0))) {
        stream_add_events(s, ev, delay);
        delay = 0;
    }
    cJSON_Delete(j);
}

static void
stream_add_str(struct stream *s, const char *str, int delay)
{
    stream_add_raw(s, xstrdup(str), strlen(str), delay);
}

static void
stream_free(void *cls)
{
    struct stream *s = cls;
    size_t i;
    for (i = 0; i < s->n; i++)
        free(s->ev[i].data);
    free(s->ev);
    free(s->missing_owned);
    free(s);
}

static ssize_t
stream_reader(void *cls, uint64_t pos, char *out, size_t max)
{
    struct stream *s = cls;
    size_t got = 0;
    (void)pos;
    while (s->idx < s->n) {
        struct event *e = &s->ev[s->idx];
        size_t left, k;
        if (s->off == 0 && e->delay_before && s->delay_ms > 0 &&
            s->waited_idx != s->idx) {
            uint64_t now;
            if (got > 0)
                return (ssize_t)got; /* flush what we have first */
            now = now_ms();
            if (s->due == 0)
                s->due = now + (uint64_t)s->delay_ms;
            if (now < s->due && timer_suspend(s->conn, s->due))
                return 0;
            s->waited_idx = s->idx;
            s->due = 0;
            if (peer_closed(s->conn))
                return MHD_CONTENT_READER_END_WITH_ERROR;
        }
        left = e->len - s->off;
        k = left < max - got ? left : max - got;
        memcpy(out + got, e->data + s->off, k);
        got += k;
        s->off += k;
        if (s->off == e->len) {
            s->idx++;
            s->off = 0;
        }
        if (got == max)
            break;
    }
    if (got > 0)
        return (ssize_t)got;
    return MHD_CONTENT_READER_END_OF_STREAM;
}

enum stream_mode {
    SM_NORMAL = 0,
    SM_TRUNCATE,
    SM_ERROR_EVENT,
    SM_MALFORMED,
    SM_ERROR_FIRST
};

static cJSON *
openai_chunk(const struct answer *a, int with_usage_null)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", "chatcmpl-mock");
    cJSON_AddStringToObject(o, "object", "chat.completion.chunk");
    cJSON_AddNumberToObject(o, "created", (double)time(NULL));
    cJSON_AddStringToObject(o, "model", a->model);
    if (with_usage_null)
        cJSON_AddNullToObject(o, "usage");
    return o;
}

static cJSON *
inband_error(const struct answer *a)
{
    long st = a->sc && a->sc->status ? a->sc->status : 0;
    const char *type = a->sc ? a->sc->error_type : NULL;
    const char *msg = a->sc ? a->sc->error_message : NULL;
    if (!st)
        st = a->kind == K_ANTHROPIC ? 529 : a->kind == K_OPENAI ? 500 : 503;
    if (a->resp)
        return mock_responses_error_event(a->resp, st, type, msg);
    return error_obj(a->kind, st, type, msg, NULL);
}

static struct stream *
build_stream(const struct answer *a, int include_usage, enum stream_mode mode,
             long after, long delay_ms, const char *missing)
{
    struct stream *s = calloc(1, sizeof *s);
    struct piece *pc;
    size_t np, i, limit;
    int usage_null = include_usage && a->usage;
    int text_index = 0; /* after the thinking blocks */
    if (!s)
        abort();
    s->waited_idx = SIZE_MAX;
    s->delay_ms = delay_ms;
    s->crlf = a->kind == K_GEMINI || a->kind == K_VERTEX;
    if (missing) {
        s->missing_owned = xstrdup(missing);
        s->missing = s->missing_owned;
    }
    np = split_pieces(a->text, a->text_len, a->sc ? a->sc->chunks : 0, &pc);
    limit = np;
    if ((mode == SM_TRUNCATE || mode == SM_ERROR_EVENT) &&
        (unsigned long)after < np)
        limit = (size_t)after;

    if (mode == SM_MALFORMED) {
        stream_add_str(s,
                       s->crlf ? "data: {\"candidates\": [{\"content\": "
                                 "{\"parts\": [{\"text\": \"oops\r\n\r\n"
                               : "data: {\"id\":\"chatcmpl-mock\",\"choices\""
                                 ":[{\"delta\":{\"content\":\"oops\n\n",
                       0);
        free(pc);
        return s;
    }
    if (mode == SM_ERROR_FIRST) {
        stream_add(s, a->kind == K_ANTHROPIC || a->resp ? "error" : NULL,
                   inband_error(a), 0);
        free(pc);
        return s;
    }

    if (a->resp)
        stream_add_events(s, mock_responses_start(a->resp), 0);
    if (a->kind == K_ANTHROPIC) {
        cJSON *o = cJSON_CreateObject(), *m, *u;
        cJSON_AddStringToObject(o, "type", "message_start");
        m = cJSON_AddObjectToObject(o, "message");
        cJSON_AddStringToObject(m, "id", "msg_mock");
        cJSON_AddStringToObject(m, "type", "message");
        cJSON_AddStringToObject(m, "role", "assistant");
        cJSON_AddStringToObject(m, "model", a->model);
        cJSON_AddArrayToObject(m, "content");
        cJSON_AddNullToObject(m, "stop_reason");
        cJSON_AddNullToObject(m, "stop_sequence");
        if (a->usage) {
            u = cJSON_AddObjectToObject(m, "usage");
            cJSON_AddNumberToObject(u, "input_tokens", (double)a->prompt);
            cJSON_AddNumberToObject(u, "output_tokens", 1);
            mock_usage_merge(u, a->usage_extra);
        }
        stream_add(s, "message_start", o, 0);
        {
            cJSON *events = mock_thinking_events(&a->think, &text_index), *e;
            cJSON_ArrayForEach(e, events)
            {
                cJSON *obj = cJSON_DetachItemFromArray(e, 1);
                stream_add(s, cJSON_GetArrayItem(e, 0)->valuestring, obj, 0);
            }
            cJSON_Delete(events);
        }
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", "content_block_start");
        cJSON_AddNumberToObject(o, "index", text_index);
        m = cJSON_AddObjectToObject(o, "content_block");
        cJSON_AddStringToObject(m, "type", "text");
        cJSON_AddStringToObject(m, "text", "");
        stream_add(s, "content_block_start", o, 0);
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", "ping");
        stream_add(s, "ping", o, 0);
    }

    for (i = 0; i < limit; i++) {
        const char *t = a->text + pc[i].off;
        size_t len = pc[i].len;
        int delay = i > 0;
        cJSON *o, *arr, *c, *d;
        if (a->resp) {
            stream_add_events(s, mock_responses_delta(a->resp, t, len), delay);
            continue;
        }
        switch (a->kind) {
        case K_ANTHROPIC:
            o = cJSON_CreateObject();
            cJSON_AddStringToObject(o, "type", "content_block_delta");
            cJSON_AddNumberToObject(o, "index", text_index);
            d = cJSON_AddObjectToObject(o, "delta");
            cJSON_AddStringToObject(d, "type", "text_delta");
            cJSON_AddItemToObject(d, "text", str_n(t, len));
            stream_add(s, "content_block_delta", o, delay);
            break;
        case K_GEMINI:
        case K_VERTEX:
            if (i == 0 && (o = mock_thinking_gemini_first(&a->think, a->model)))
                stream_add(s, NULL, o, 0);
            o = gemini_obj(a, t, len, mode == SM_NORMAL && i + 1 == limit);
            if (mode == SM_NORMAL && i + 1 == limit)
                mock_thinking_gemini_last(&a->think, o, a->text, a->text_len);
            stream_add(s, NULL, o, delay);
            break;
        default:
            o = openai_chunk(a, usage_null);
            arr = cJSON_AddArrayToObject(o, "choices");
            c = cJSON_CreateObject();
            cJSON_AddNumberToObject(c, "index", 0);
            d = cJSON_AddObjectToObject(c, "delta");
            cJSON_AddStringToObject(d, "role", "assistant");
            cJSON_AddItemToObject(d, "content", str_n(t, len));
            cJSON_AddNullToObject(c, "logprobs");
            cJSON_AddNullToObject(c, "finish_reason");
            cJSON_AddItemToArray(arr, c);
            stream_add(s, NULL, o, delay);
            break;
        }
    }
    free(pc);

    if (mode == SM_TRUNCATE)
        return s;
    if (mode == SM_ERROR_EVENT) {
        stream_add(s,
                   a->kind == K_ANTHROPIC ? "error"
                   : a->resp              ? "error"
                                          : NULL,
                   inband_error(a), limit > 0);
        return s;
    }
    if (a->resp) {
        stream_add_events(s, mock_responses_end(a->resp), 1);
        return s;
    }

    switch (a->kind) {
    case K_ANTHROPIC: {
        cJSON *o = cJSON_CreateObject(), *d, *u;
        cJSON_AddStringToObject(o, "type", "content_block_stop");
        cJSON_AddNumberToObject(o, "index", text_index);
        stream_add(s, "content_block_stop", o, 1);
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", "message_delta");
        d = cJSON_AddObjectToObject(o, "delta");
        cJSON_AddStringToObject(d, "stop_reason", a->finish);
        cJSON_AddNullToObject(d, "stop_sequence");
        if (a->usage) {
            u = cJSON_AddObjectToObject(o, "usage");
            cJSON_AddNumberToObject(u, "output_tokens", (double)a->completion);
            mock_usage_merge(u, a->usage_extra);
        }
        stream_add(s, "message_delta", o, 0);
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "type", "message_stop");
        stream_add(s, "message_stop", o, 0);
        break;
    }
    case K_GEMINI:
    case K_VERTEX:
        break; /* the last piece carried finishReason and usageMetadata */
    default: {
        cJSON *o = openai_chunk(a, usage_null), *arr, *c;
        arr = cJSON_AddArrayToObject(o, "choices");
        c = cJSON_CreateObject();
        cJSON_AddNumberToObject(c, "index", 0);
        cJSON_AddObjectToObject(c, "delta");
        cJSON_AddNullToObject(c, "logprobs");
        cJSON_AddStringToObject(c, "finish_reason", a->finish);
        cJSON_AddItemToArray(arr, c);
        stream_add(s, NULL, o, 1);
        if (include_usage && a->usage) {
            cJSON *u;
            o = openai_chunk(a, 0);
            cJSON_AddArrayToObject(o, "choices");
            u = cJSON_AddObjectToObject(o, "usage");
            cJSON_AddNumberToObject(u, "prompt_tokens", (double)a->prompt);
            cJSON_AddNumberToObject(u, "completion_tokens",
                                    (double)a->completion);
            cJSON_AddNumberToObject(u, "total_tokens",
                                    (double)(a->prompt + a->completion));
            mock_usage_merge(u, a->usage_extra);
            stream_add(s, NULL, o, 0);
        }
        stream_add_str(s, "data: [DONE]\n\n", 0);
        break;
    }
    }
    return s;
}

/* mockllm-tools.c's events [{event, data}] as a stream; consumes evs */
static struct stream *
events_stream(const struct answer *a, cJSON *evs)
{
    struct stream *s = calloc(1, sizeof *s);
    cJSON *e;
    if (!s)
        abort();
    s->waited_idx = SIZE_MAX;
    s->crlf = a->kind == K_GEMINI || a->kind == K_VERTEX;
    while ((e = cJSON_DetachItemFromArray(evs, 0))) {
        cJSON *d = cJSON_DetachItemFromObjectCaseSensitive(e, "data");
        const char *name =
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "event"));
        if (cJSON_IsString(d)) {
            stream_add_str(s, "data: [DONE]\n\n", 0);
            cJSON_Delete(d);
        } else {
            stream_add(s, name, d, 0);
        }
        cJSON_Delete(e);
    }
    cJSON_Delete(evs);
    return s;
}

static enum MHD_Result
send_stream(struct MHD_Connection *c, struct req *r, struct stream *s,
            const struct script *hdrs)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;
    s->conn = c;
    resp = MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 32 * 1024,
                                             stream_reader, s, stream_free);
    if (!resp) {
        stream_free(s);
        return MHD_NO;
    }
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            "text/event-stream");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-cache");
    if (hdrs) {
        if (hdrs->retry_after)
            MHD_add_response_header(resp, "retry-after", hdrs->retry_after);
        if (hdrs->retry_after_ms)
            MHD_add_response_header(resp, "retry-after-ms",
                                    hdrs->retry_after_ms);
        if (hdrs->reset_requests)
            MHD_add_response_header(resp, "x-ratelimit-reset-requests",
                                    hdrs->reset_requests);
    }
    ret = MHD_queue_response(c, MHD_HTTP_OK, resp);
    MHD_destroy_response(resp);
    if (ret == MHD_YES)
        r->responded = 1;
    return ret;
}

/* ------------------------------------------------------------------ */
/* control endpoints                                                   */

static enum MHD_Result
handle_control(struct MHD_Connection *c, struct req *r, const char *url,
               const char *method)
{
    const char *p = url + 9; /* after "/_control" */
    int is_get = !strcmp(method, "GET"), is_post = !strcmp(method, "POST");
    r->no_abort = 1;
    if (r->too_large)
        return send_text(c, r, 413, "request body too large\n");
    if (!strcmp(p, "/health") && (is_get || is_post))
        return send_text(c, r, 200, "ok");
    if (!strcmp(p, "/reset") && is_post) {
        reset_all();
        return send_text(c, r, 200, "ok");
    }
    if (!strncmp(p, "/script/", 8) && is_post) {
        const char *name = p + 8;
        char err[256];
        struct script *s;
        size_t blen = r->body.len;
        char *spec;
        if (!*name || strchr(name, '/') || strlen(name) > MAX_ROUTE_NAME)
            return send_text(c, r, 400, "bad route name\n");
        while (blen &&
               (r->body.p[blen - 1] == '\n' || r->body.p[blen - 1] == '\r'))
            blen--;
        spec = xstrndup(r->body.p ? r->body.p : "", blen);
        s = script_parse(spec, err, sizeof err);
        free(spec);
        if (!s) {
            size_t el = strlen(err);
            char *m = xmalloc(el + 2);
            memcpy(m, err, el);
            m[el] = '\n';
            m[el + 1] = '\0';
            return send_buf(c, r, 400, "text/plain; charset=utf-8", m, el + 1,
                            1, NULL);
        }
        if (set_script(name, strlen(name), s))
            return send_text(c, r, 503, "too many routes\n");
        return send_text(c, r, 200, "ok");
    }
    if (!strcmp(p, "/log") && is_get) {
        cJSON *o = cJSON_CreateObject();
        size_t i;
        pthread_mutex_lock(&g_lock);
        for (i = 0; i < g_nroutes; i++)
            if (g_routes[i]->visible)
                cJSON_AddItemToObject(o, g_routes[i]->name,
                                      route_log_json(g_routes[i]));
        pthread_mutex_unlock(&g_lock);
        return send_json(c, r, 200, o, NULL);
    }
    if (!strncmp(p, "/attach/", 8) && is_get) /* mockllm-attach.c */
        return send_json(c, r, 200, mock_attach_log(p + 8), NULL);
    if (!strncmp(p, "/log/", 5) && is_get) {
        cJSON *o;
        const char *name = p + 5;
        struct route *rt;
        pthread_mutex_lock(&g_lock);
        rt = route_find(name, strlen(name), 0);
        o = route_log_json(rt && rt->visible ? rt : NULL);
        pthread_mutex_unlock(&g_lock);
        return send_json(c, r, 200, o, NULL);
    }
    return send_text(c, r, 404, "unknown control endpoint\n");
}

/* ------------------------------------------------------------------ */
/* provider requests                                                   */

static const char *
header(struct MHD_Connection *c, const char *name)
{
    return MHD_lookup_connection_value(c, MHD_HEADER_KIND, name);
}

/* extract the API key; returns NULL when absent */
static const char *
get_key(struct MHD_Connection *c, enum kind k)
{
    const char *v;
    switch (k) {
    case K_ANTHROPIC:
        /* x-api-key, or a bearer token as the 2026 SDKs send it */
        if ((v = header(c, "x-api-key")))
            return v;
        v = header(c, MHD_HTTP_HEADER_AUTHORIZATION);
        if (!v || strncasecmp(v, "Bearer ", 7))
            return NULL;
        return v + 7;
    case K_GEMINI:
        v = header(c, "x-goog-api-key");
        if (!v)
            v = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "key");
        return v;
    case K_OPENAI:
        v = header(c, "api-key");
        if (v)
            return v;
        /* fall through */
    case K_VERTEX:
    default:
        v = header(c, MHD_HTTP_HEADER_AUTHORIZATION);
        if (!v)
            return NULL;
        if (strncasecmp(v, "Bearer ", 7))
            return NULL;
        v += 7;
        while (*v == ' ')
            v++;
        return v;
    }
}

/* OpenAI-shaped 404 with "code": null */
static enum MHD_Result
send_404(struct MHD_Connection *c, struct req *r, const char *msg)
{
    cJSON *o = error_obj(K_OPENAI, 404, NULL, msg, NULL);
    cJSON_ReplaceItemInObjectCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(o, "error"), "code",
        cJSON_CreateNull());
    return send_json(c, r, 404, o, NULL);
}

static enum MHD_Result
not_found(struct MHD_Connection *c, struct req *r, const char *method,
          const char *url)
{
    char msg[300];
    r->no_abort = 1;
    snprintf(msg, sizeof msg, "Invalid URL (%.16s %.200s)", method, url);
    return send_404(c, r, msg);
}

static enum MHD_Result
answer_provider(struct MHD_Connection *c, struct req *r, const struct target *t,
                const char *method)
{
    const struct script *sc = r->script;
    const char *key = get_key(c, t->kind);
    struct chat ch;
    struct vctx v;
    cJSON *j = NULL;
    enum MHD_Result ret;
    int invalid = 0, failing = 0, rc;
    struct answer a;
    char *url_model = NULL;
    struct mock_resp_req rq;
    struct mock_resp_answer ra;
    struct mock_tools_req tq;
    int tfmt = t->kind == K_ANTHROPIC ? MT_ANTHROPIC
               : t->kind != K_OPENAI  ? MT_GEMINI
               : t->responses         ? MT_RESPONSES
                                      : MT_OPENAI;
    char amsg[512];

    memset(&tq, 0, sizeof tq);
    memset(&rq, 0, sizeof rq);
    memset(&ra, 0, sizeof ra);
    memset(&ch, 0, sizeof ch);
    ch.kind = t->kind;
    v.msg[0] = v.param[0] = '\0';

#define INVALID(status, type, ...)                                             \
    do {                                                                       \
        invalid = 1;                                                           \
        snprintf(v.msg, sizeof v.msg, __VA_ARGS__);                            \
        ret = send_error(c, r, t->kind, status, type, v.msg, NULL, NULL);      \
        goto out;                                                              \
    } while (0)

    if (r->too_large) {
        r->no_abort = 1;
        INVALID(413, NULL, "Request body too large (limit %u bytes)", MAX_BODY);
    }
    if (strcmp(method, "POST"))
        INVALID(405, NULL, "Method %.16s not allowed; use POST", method);
    if (!key || !*key) {
        ret = send_error(
            c, r, t->kind, 401, NULL,
            t->kind == K_ANTHROPIC ? "x-api-key header is required"
            : t->kind == K_GEMINI
                ? "Method doesn't allow unregistered callers (callers "
                  "without established identity). Please use API Key or "
                  "other form of API consumer identity to call this API."
            : t->kind == K_VERTEX
                ? "Request is missing required authentication credential. "
                  "Expected OAuth 2 access token."
                : "You didn't provide an API key. You need to provide your "
                  "API key in an Authorization header using Bearer auth "
                  "(i.e. Authorization: Bearer YOUR_KEY).",
            NULL, NULL);
        goto out;
    }
    if (sc && sc->key && strcmp(sc->key, key)) {
        ret = send_error(c, r, t->kind, 401, NULL,
                         t->kind == K_ANTHROPIC ? "invalid x-api-key"
                         : t->kind == K_GEMINI
                             ? "API key not valid. Please pass a valid API key."
                         : t->kind == K_VERTEX
                             ? "Request had invalid authentication credentials."
                             : "Incorrect API key provided.",
                         NULL, NULL);
        goto out;
    }
    if (t->kind == K_ANTHROPIC && !header(c, "anthropic-version"))
        INVALID(400, NULL, "anthropic-version: header is required");
    if (t->azure &&
        !MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "api-version")) {
        invalid = 1;
        ret = send_404(c, r,
                       "Resource not found (missing api-version query "
                       "parameter)");
        goto out;
    }

    j = cJSON_ParseWithLength(r->body.p ? r->body.p : "", r->body.len);
    if (!j) {
        if (t->kind == K_ANTHROPIC)
            INVALID(400, NULL,
                    "There was an error parsing the body of your "
                    "request: malformed JSON");
        if (t->kind == K_OPENAI)
            INVALID(400, NULL,
                    "We could not parse the JSON body of your request. "
                    "(HINT: This likely means you aren't using your HTTP "
                    "library correctly.)");
        INVALID(400, NULL, "Invalid JSON payload received. Malformed JSON.");
    }
    if (mock_tools_check(tfmt, j, &tq, v.msg, sizeof v.msg, v.param,
                         sizeof v.param)) {
        invalid = 1;
        ret = send_error(c, r, t->kind, 400, NULL, v.msg,
                         v.param[0] ? v.param : NULL, NULL);
        goto out;
    }
    pthread_mutex_lock(&g_lock);
    if (r->gen == g_generation) {
        free(r->route->tool_results);
        r->route->tool_results =
            tq.results ? cJSON_PrintUnformatted(tq.results) : NULL;
    }
    pthread_mutex_unlock(&g_lock);
    if (mock_attach_take(
            j,
            t->kind == K_OPENAI
                ? (t->responses ? MOCK_ATTACH_RESPONSES : MOCK_ATTACH_CHAT)
            : t->kind == K_ANTHROPIC ? MOCK_ATTACH_ANTHROPIC
                                     : MOCK_ATTACH_GEMINI,
            r->route ? r->route->name : "", sc ? &sc->attach : NULL, amsg,
            sizeof amsg) != 0)
        INVALID(400, NULL, "%s", amsg);
    switch (t->kind) {
    case K_OPENAI:
        if (!t->responses) {
            rc = validate_openai(j, &ch, t->azure, &v);
            break;
        }
        rc = mock_responses_check(j, &rq, v.msg, sizeof v.msg, v.param,
                                  sizeof v.param);
        ch.stream = rq.stream;
        ch.model = rq.model;
        ch.prompt_words = rq.prompt_words;
        buf_adds(&ch.echo, rq.echo ? rq.echo : "");
        snprintf(ch.tool, sizeof ch.tool, "%s", rq.tool);
        break;
    case K_ANTHROPIC:
        rc = validate_anthropic(j, &ch, &v);
        break;
    default:
        rc = validate_gemini(j, &ch, &v);
        ch.stream = t->stream_method;
        {
            const char *alt =
                MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "alt");
            ch.sse = alt && !strcmp(alt, "sse");
        }
        break;
    }
    memset(&a, 0, sizeof a);
    if (rc == 0 && t->kind == K_ANTHROPIC)
        rc = mock_thinking_anthropic(j, header(c, "anthropic-version"),
                                     sc ? &sc->think : NULL, &a.think, v.msg,
                                     sizeof v.msg);
    if (rc == 0 && (t->kind == K_GEMINI || t->kind == K_VERTEX)) {
        url_model = t->model ? xstrndup(t->model, t->model_len) : NULL;
        rc = mock_thinking_gemini(j, url_model, sc ? &sc->think : NULL,
                                  &a.think, v.msg, sizeof v.msg);
        free(url_model);
        url_model = NULL;
    }
    if (rc) {
        invalid = 1;
        ret = send_error(c, r, t->kind, 400, NULL, v.msg,
                         v.param[0] ? v.param : NULL, NULL);
        goto out;
    }

    /* valid request: apply the behaviour script */
    pthread_mutex_lock(&g_lock);
    if (r->gen == g_generation) {
        if (ch.stream)
            r->route->streamed++;
        if (sc && sc->has_failing) {
            unsigned long idx = r->route->served++;
            failing = sc->fail_first < 0 || idx < (unsigned long)sc->fail_first;
            if (sc->fail_every > 0)
                failing = idx % (unsigned long)sc->fail_every == 0;
        }
    } else if (sc && sc->has_failing) {
        failing = sc->fail_first != 0;
    }
    pthread_mutex_unlock(&g_lock);

    a.kind = t->kind;
    a.sc = sc;
    if (sc && sc->model) {
        a.model = sc->model;
    } else if (t->model && (t->kind != K_OPENAI || !ch.model)) {
        url_model = xstrndup(t->model, t->model_len);
        a.model = url_model;
    } else {
        a.model = ch.model ? ch.model : "mock";
    }
    if (sc && sc->reply) {
        a.text = sc->reply;
        a.text_len = strlen(sc->reply);
    } else {
        a.text = ch.echo.p ? ch.echo.p : "";
        a.text_len = ch.echo.len;
    }
    if (sc && sc->tool_reply) {
        a.tool_input = sc->tool_reply;
        a.tool_name = sc->tool_name ? sc->tool_name
                      : ch.tool[0]  ? ch.tool
                                    : "answer";
    }
    a.finish = sc && sc->finish         ? sc->finish
               : t->kind == K_ANTHROPIC ? "end_turn"
               : t->kind == K_OPENAI    ? "stop"
                                        : "STOP";
    a.usage = !(sc && sc->no_usage);
    a.usage_extra = sc ? sc->usage : NULL;
    a.prompt = ch.prompt_words;
    {
        char *tmp = xstrndup(a.text, a.text_len);
        a.completion = count_words(tmp);
        free(tmp);
    }

    if (t->responses) {
        ra.rq = &rq;
        ra.model = a.model;
        ra.text = a.text;
        ra.text_len = a.text_len;
        ra.finish = sc && sc->finish ? sc->finish : "completed";
        ra.usage = a.usage;
        ra.completion = a.completion;
        ra.tool_name = a.tool_name;
        ra.tool_input = a.tool_input;
        ra.usage_extra = a.usage_extra;
        a.resp = &ra;
    }
    {
        /* rate-limit headers go with failures, or always if the script
           has no failing items */
        const struct script *hdrs =
            (sc && (failing || !sc->has_failing)) ? sc : NULL;
        int sse = ch.stream &&
                  (t->kind == K_OPENAI || t->kind == K_ANTHROPIC || ch.sse);

        if (failing && sc->drop) {
            r->no_abort = 1;
            ret = MHD_NO;
            goto out;
        }
        if (failing && sc->html) {
            static const char page[] =
                "<!DOCTYPE html>\n<html><head><title>502 Bad Gateway</title>"
                "</head>\n<body><center><h1>502 Bad Gateway</h1></center>\n"
                "<hr><center>nginx (mockllm)</center>\n</body></html>\n";
            ret = send_buf(c, r, sc->status ? (unsigned)sc->status : 502,
                           "text/html", (char *)page, sizeof page - 1, 0, hdrs);
            goto out;
        }
        if (failing && sc->empty) {
            ret = send_buf(c, r, 200,
                           sse ? "text/event-stream" : "application/json",
                           (char *)"", 0, 0, hdrs);
            goto out;
        }
        if (sse) {
            enum stream_mode mode = SM_NORMAL;
            long after = 0;
            if (failing && sc->malformed)
                mode = SM_MALFORMED;
            else if (failing && sc->error_body)
                mode = SM_ERROR_FIRST;
            else if (failing && sc->error_event_after >= 0) {
                mode = SM_ERROR_EVENT;
                after = sc->error_event_after;
            } else if (failing && sc->status) {
                ret = send_error(c, r, t->kind, sc->status, sc->error_type,
                                 sc->error_message, NULL, hdrs);
                goto out;
            } else if (failing && sc->truncate_after >= 0) {
                mode = SM_TRUNCATE;
                after = sc->truncate_after;
            }
            if (mode == SM_NORMAL && sc && mock_tools_due(&sc->tools, &tq)) {
                ret = send_stream(
                    c, r,
                    events_stream(&a, mock_tools_answer(tfmt, &sc->tools, &tq,
                                                        a.model, a.prompt, 1,
                                                        ch.include_usage)),
                    hdrs);
                goto out;
            }
            ret = send_stream(c, r,
                              build_stream(&a, ch.include_usage, mode, after,
                                           sc ? sc->delay_ms : 0,
                                           failing ? sc->missing : NULL),
                              hdrs);
            goto out;
        }
        if (failing && sc->malformed) {
            static const char bad[] =
                "{\"id\":\"mock\",\"choices\":[{\"message\":{\"content\":"
                "\"this is not valid JSON";
            ret = send_buf(c, r, 200, "application/json", (char *)bad,
                           sizeof bad - 1, 0, hdrs);
            goto out;
        }
        if (failing && sc->error_body) {
            ret = send_json(c, r, 200, inband_error(&a), hdrs);
            goto out;
        }
        if (failing && sc->status) {
            ret = send_error(c, r, t->kind, sc->status, sc->error_type,
                             sc->error_message, NULL, hdrs);
            goto out;
        }
        {
            cJSON *o;
            char *body;
            size_t len;
            if (ch.stream) {
                /* Google streamGenerateContent without alt=sse: a JSON
                   array of GenerateContentResponse objects */
                struct piece *pc;
                size_t np = split_pieces(a.text, a.text_len,
                                         sc ? sc->chunks : 0, &pc),
                       i;
                o = cJSON_CreateArray();
                for (i = 0; i < np; i++)
                    cJSON_AddItemToArray(o, gemini_obj(&a, a.text + pc[i].off,
                                                       pc[i].len, i + 1 == np));
                free(pc);
            } else if (sc && mock_tools_due(&sc->tools, &tq)) {
                o = mock_tools_answer(tfmt, &sc->tools, &tq, a.model, a.prompt,
                                      0, 0);
            } else {
                o = full_response(&a);
                if (t->kind != K_OPENAI && !a.tool_input)
                    mock_thinking_full(t->kind == K_ANTHROPIC, &a.think, o,
                                       a.text, a.text_len);
            }
            if (failing && sc->missing)
                remove_field(o, sc->missing);
            body = cJSON_PrintUnformatted(o);
            cJSON_Delete(o);
            if (!body) {
                ret = MHD_NO;
                goto out;
            }
            len = strlen(body);
            if (failing && sc->truncate_after >= 0 &&
                (unsigned long)sc->truncate_after < len)
                len = (size_t)sc->truncate_after;
            ret = send_buf(c, r, 200, "application/json", body, len, 1, hdrs);
        }
    }
#undef INVALID
out:
    if (invalid) {
        pthread_mutex_lock(&g_lock);
        if (r->gen == g_generation)
            r->route->invalid++;
        pthread_mutex_unlock(&g_lock);
    }
    cJSON_Delete(j);
    free(ch.echo.p);
    free(ch.tmp.p);
    free(url_model);
    mock_responses_req_free(&rq);
    mock_tools_req_free(&tq);
    return ret;
}

/* The probe routes: GET only, the key checks of a completion, a
 * scripted status=, then a small model list or model.  No tokens. */
static enum MHD_Result
answer_probe(struct MHD_Connection *c, struct req *r, struct target *t,
             const char *method)
{
    const struct script *sc = r->script;
    const char *key;
    cJSON *o, *arr;
    char model[200];
    enum MHD_Result ret;
    unsigned long idx;
    int failing = 0;

    key = get_key(c, t->kind);
    snprintf(model, sizeof model, "%.*s", (int)t->model_len,
             t->model ? t->model : "");
    if (strcmp(method, "GET")) {
        ret = send_error(c, r, t->kind, 405, NULL, "use GET for this route",
                         NULL, NULL);
        goto out;
    }
    if (!key || !*key || (sc && sc->key && strcmp(sc->key, key))) {
        ret = send_error(c, r, t->kind, 401, NULL,
                         !key || !*key ? "API key required"
                                       : "Incorrect API key provided.",
                         NULL, NULL);
        goto out;
    }
    pthread_mutex_lock(&g_lock);
    idx = r->route->served++;
    pthread_mutex_unlock(&g_lock);
    if (sc && sc->status)
        failing = sc->fail_first < 0 || idx < (unsigned long)sc->fail_first;
    if (failing) {
        ret = send_error(c, r, t->kind, sc->status, sc->error_type,
                         sc->error_message ? sc->error_message
                                           : "probe failed (scripted)",
                         NULL, sc);
        goto out;
    }
    if (t->kind != K_VERTEX && !(t->kind == K_GEMINI && t->model_len)) {
        o = mock_models_list(
            t->kind == K_ANTHROPIC ? MOCK_LIST_ANTHROPIC
            : t->kind == K_GEMINI  ? MOCK_LIST_GEMINI
                                   : MOCK_LIST_OPENAI,
            MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND,
                                        t->kind == K_GEMINI ? "pageToken"
                                                            : "after_id"));
        ret = send_json(c, r, 200, o, NULL);
        goto out;
    }
    o = cJSON_CreateObject();
    if (t->kind == K_GEMINI || t->kind == K_VERTEX) {
        char *name = NULL;
        size_t nl = strlen(model) + 32;
        name = xmalloc(nl);
        snprintf(name, nl, "%s%s",
                 t->kind == K_GEMINI ? "models/" : "publishers/google/models/",
                 model);
        cJSON_AddStringToObject(o, "name", name);
        free(name);
        cJSON_AddStringToObject(o, "displayName", model);
        arr = cJSON_AddArrayToObject(o, "supportedGenerationMethods");
        cJSON_AddItemToArray(arr, cJSON_CreateString("generateContent"));
    }
    ret = send_json(c, r, 200, o, NULL);
out:
    r->responded = 1;
    return ret;
}

static enum MHD_Result
handle_request(struct MHD_Connection *c, struct req *r, const char *url,
               const char *method)
{
    struct target t;

    if (!strncmp(url, "/_control/", 10) || !strcmp(url, "/_control"))
        return handle_control(c, r, url, method);
    if (mock_batchapi_path(url)) { /* mockllm-batchapi.c */
        char *out = NULL;
        const char *ctype = NULL;
        unsigned st = mock_batchapi_answer(
            url, method, r->body.p, r->body.len,
            header(c, MHD_HTTP_HEADER_CONTENT_TYPE),
            header(c, "authorization") || header(c, "x-api-key") ||
                header(c, "x-goog-api-key"),
            &out, &ctype);
        r->state = ST_DONE;
        return send_buf(c, r, st, ctype, out, strlen(out), 1, NULL);
    }
    if (classify(url, &t))
        return not_found(c, r, method, url);
    /* GET /v1/models: Anthropic's when it says its API version */
    if (t.probe && t.kind == K_OPENAI && header(c, "anthropic-version")) {
        t.kind = K_ANTHROPIC;
        if (t.name == kind_names[K_OPENAI]) {
            t.name = kind_names[K_ANTHROPIC];
            t.name_len = strlen(t.name);
        }
    }

    if (r->state != ST_WAITING) {
        /* first time: log the request and pick up the script */
        struct route *rt;
        const char *key = get_key(c, t.kind);
        pthread_mutex_lock(&g_lock);
        rt = route_find(t.name, t.name_len, 1);
        if (rt) {
            struct timespec ts;
            clock_gettime(CLOCK_REALTIME, &ts);
            rt->times[rt->count % TIMES_MAX] =
                (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
            rt->count++;
            rt->last_body.len = 0;
            if (r->too_large)
                buf_add(&rt->last_body, "", 0);
            else
                buf_add(&rt->last_body, r->body.p ? r->body.p : "",
                        r->body.len);
            rt->last_path.len = 0;
            buf_adds(&rt->last_path, r->uri ? r->uri : url);
            rt->has_last = 1;
            rt->last_auth = key && *key;
            snprintf(rt->last_version, sizeof rt->last_version, "%s",
                     header(c, "anthropic-version")
                         ? header(c, "anthropic-version")
                         : "");
            snprintf(rt->last_key_header, sizeof rt->last_key_header, "%s",
                     header(c, "x-api-key")        ? "x-api-key"
                     : header(c, "x-goog-api-key") ? "x-goog-api-key"
                     : header(c, "api-key")        ? "api-key"
                     : header(c, "authorization")  ? "authorization"
                                                   : "");
            r->route = rt;
            r->gen = g_generation;
            r->script = script_ref(rt->script);
        }
        pthread_mutex_unlock(&g_lock);
        if (!rt) {
            r->no_abort = 1;
            return send_error(c, r, t.kind, 503, NULL,
                              "mockllm: too many "
                              "routes",
                              NULL, NULL);
        }
        if (r->script && (r->script->wait_ms > 0 || r->script->wait_file) &&
            !r->too_large) {
            r->state = ST_WAITING;
            r->wait_until = now_ms() + (uint64_t)(r->script->wait_ms > 0
                                                      ? r->script->wait_ms
                                                      : MAX_DELAY_MS);
            if (still_waiting(r) && timer_suspend(c, next_wake(r)))
                return MHD_YES;
        }
    } else if (still_waiting(r)) {
        /* woken early, or polling for wait_file: sleep again */
        if (timer_suspend(c, next_wake(r)))
            return MHD_YES;
    }
    if (r->state == ST_WAITING && peer_closed(c)) {
        /* the client gave up while we were waiting: count as aborted */
        r->state = ST_DONE;
        r->responded = 1;
        return MHD_NO;
    }
    r->state = ST_DONE;
    if (t.probe)
        return answer_probe(c, r, &t, method);
    return answer_provider(c, r, &t, method);
}

static enum MHD_Result
access_handler(void *cls, struct MHD_Connection *c, const char *url,
               const char *method, const char *version, const char *upload_data,
               size_t *upload_data_size, void **con_cls)
{
    struct req *r = *con_cls;
    (void)cls;
    (void)version;
    if (!r || !r->uri)
        return MHD_NO; /* out of memory in uri_logger */
    if (r->state == ST_DONE) {
        *upload_data_size = 0; /* already answered: discard the rest */
        return MHD_YES;
    }
    if (r->state == ST_NEW) {
        const char *cl = header(c, MHD_HTTP_HEADER_CONTENT_LENGTH);
        r->state = ST_BODY;
        if (cl) {
            char *end;
            unsigned long long n;
            errno = 0;
            n = strtoull(cl, &end, 10);
            if (!errno && *end == '\0' && n > 0) {
                if (n > (mock_batchapi_path(url) ? MOCK_BATCHAPI_MAX_BODY
                                                 : MAX_BODY)) {
                    /* refuse early, without reading the body */
                    enum MHD_Result ret;
                    r->too_large = 1;
                    ret = handle_request(c, r, url, method);
                    r->state = ST_DONE;
                    return ret;
                }
                buf_reserve(&r->body, (size_t)n);
            }
        }
        return MHD_YES;
    }
    if (*upload_data_size) {
        if (!r->too_large) {
            if (r->body.len + *upload_data_size >
                (mock_batchapi_path(url) ? MOCK_BATCHAPI_MAX_BODY : MAX_BODY)) {
                r->too_large = 1;
                free(r->body.p);
                memset(&r->body, 0, sizeof r->body);
            } else {
                buf_add(&r->body, upload_data, *upload_data_size);
            }
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    return handle_request(c, r, url, method);
}

/* ------------------------------------------------------------------ */
/* main                                                                */

static void
usage(FILE *f)
{
    fprintf(f, "usage: mockllm [--port N] [--port-file FILE] [--script "
               "NAME=SPEC]...\n"
               "               [--threads N] [--quiet]\n"
               "See tests/mockllm/README.md for routes, SPEC items and "
               "control endpoints.\n");
}

static int
write_port_file(const char *path, unsigned port)
{
    size_t n = strlen(path);
    char *tmp = xmalloc(n + 5);
    FILE *f;
    int ok;
    memcpy(tmp, path, n);
    memcpy(tmp + n, ".tmp", 5);
    f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "mockllm: %s: %s\n", tmp, strerror(errno));
        free(tmp);
        return -1;
    }
    fprintf(f, "%u\n", port);
    ok = fflush(f) == 0 && !ferror(f);
    if (fclose(f) != 0)
        ok = 0;
    if (!ok || rename(tmp, path) != 0) {
        fprintf(stderr, "mockllm: cannot write %s: %s\n", path,
                strerror(errno));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}

static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    if (g_quiet)
        return;
    fputs("mockllm: ", stderr);
    vfprintf(stderr, fmt, ap);
}

int
main(int argc, char **argv)
{
    long port = 0, threads = 0;
    const char *port_file = NULL;
    struct MHD_Daemon *d;
    struct sockaddr_in sa;
    const union MHD_DaemonInfo *info;
    sigset_t set;
    int i, sig;
    unsigned flags;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *val = NULL;
        const char *eq;
        char name[32];
        size_t nl;
        if (!strcmp(a, "--quiet") || !strcmp(a, "-q")) {
            g_quiet = 1;
            continue;
        }
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        }
        if (strncmp(a, "--", 2)) {
            usage(stderr);
            return 2;
        }
        eq = strchr(a, '=');
        nl = eq ? (size_t)(eq - a) : strlen(a);
        if (nl >= sizeof name) {
            fprintf(stderr, "mockllm: unknown option %s\n", a);
            return 2;
        }
        memcpy(name, a, nl);
        name[nl] = '\0';
        if (strcmp(name, "--port") && strcmp(name, "--port-file") &&
            strcmp(name, "--script") && strcmp(name, "--threads")) {
            fprintf(stderr, "mockllm: unknown option %s\n", a);
            usage(stderr);
            return 2;
        }
        if (eq) {
            val = eq + 1;
        } else if (i + 1 < argc) {
            val = argv[++i];
        } else {
            fprintf(stderr, "mockllm: %s needs a value\n", name);
            return 2;
        }
        if (!strcmp(name, "--port")) {
            if (parse_long(val, 0, 65535, &port)) {
                fprintf(stderr, "mockllm: bad port '%s'\n", val);
                return 2;
            }
        } else if (!strcmp(name, "--threads")) {
            if (parse_long(val, 1, 256, &threads)) {
                fprintf(stderr, "mockllm: bad thread count '%s'\n", val);
                return 2;
            }
        } else if (!strcmp(name, "--port-file")) {
            port_file = val;
        } else {
            const char *e2 = strchr(val, '=');
            char err[256];
            struct script *s;
            if (!e2 || e2 == val || memchr(val, '/', (size_t)(e2 - val)) ||
                (size_t)(e2 - val) > MAX_ROUTE_NAME) {
                fprintf(stderr, "mockllm: --script needs NAME=SPEC, got '%s'\n",
                        val);
                return 2;
            }
            s = script_parse(e2 + 1, err, sizeof err);
            if (!s) {
                fprintf(stderr, "mockllm: --script %s: %s\n", val, err);
                return 2;
            }
            set_script(val, (size_t)(e2 - val), s);
        }
    }
    if (threads == 0) {
        long nc = sysconf(_SC_NPROCESSORS_ONLN);
        threads = nc < 2 ? 2 : nc > 16 ? 16 : nc;
    }

    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, NULL); /* inherited by all threads */

    if (timer_start() != 0) {
        fprintf(stderr, "mockllm: cannot start timer thread\n");
        return 1;
    }

    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
            MHD_ALLOW_SUSPEND_RESUME | MHD_USE_TURBO | MHD_USE_ERROR_LOG;
    d = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, access_handler, NULL,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&sa, MHD_OPTION_THREAD_POOL_SIZE,
        (unsigned int)threads, MHD_OPTION_URI_LOG_CALLBACK, uri_logger, NULL,
        MHD_OPTION_NOTIFY_COMPLETED, request_completed, NULL,
        MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)600,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(64 * 1024),
        MHD_OPTION_LISTEN_BACKLOG_SIZE, (unsigned int)1024, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "mockllm: cannot listen on 127.0.0.1:%ld\n", port);
        timer_stop();
        free_routes();
        return 1;
    }
    info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);
    if (!info || !info->port) {
        fprintf(stderr, "mockllm: cannot determine the bound port\n");
        MHD_stop_daemon(d);
        timer_stop();
        free_routes();
        return 1;
    }
    if (port_file && write_port_file(port_file, info->port)) {
        timer_stop();
        MHD_stop_daemon(d);
        free_routes();
        return 1;
    }
    printf("%u\n", (unsigned)info->port);
    fflush(stdout);
    if (!g_quiet)
        fprintf(stderr, "mockllm: listening on 127.0.0.1:%u (%ld threads)\n",
                (unsigned)info->port, threads);

    do {
        if (sigwait(&set, &sig) != 0)
            sig = SIGTERM;
    } while (sig != SIGINT && sig != SIGTERM);

    timer_stop(); /* resumes every suspended connection */
    MHD_stop_daemon(d);
    free_routes();
    return 0;
}
