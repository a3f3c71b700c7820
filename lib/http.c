/*
 * http.c - one HTTP transfer at a time over libcurl.
 *
 * A struct fx_http keeps one easy handle inside one multi handle for the
 * life of the client, so connections (and TLS sessions, DNS answers) are
 * reused from one attempt to the next: a chat session or a failover back
 * to the same host pays the handshake once.  Each transfer runs in a
 * curl_multi_poll() loop with a short timeout so a cancel flag set by a
 * signal handler, and our own idle timer, are looked at every 50 ms.
 *
 * Streamed 2xx bodies go through the SSE parser into the provider's
 * parse_event() as bytes arrive; everything else is buffered.
 *
 * The transfer itself (fx_xfer_new/_check/_finish) runs on any easy handle
 * in any multi handle: fx_http_perform() drives one, the request engine
 * (engine.c) drives many at once on one multi handle.
 */
#include "config.h"

#include "fx.h"
#include "http.h"
#include "curl-load.h"

#include <errno.h>
#include <ctype.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <pthread.h>

#define POLL_MS 50
/* A whole answer, streamed or not, unless max_response_bytes says */
#define BODY_MAX_DEFAULT ((size_t)16 * 1024 * 1024)
#define HEADERS_MAX 256
#define HEADER_BYTES_MAX (64 * 1024) /* of one response's header lines */
/* After the end-of-stream marker, wait this long for the server to finish
 * the body: a cleanly ended response leaves the connection reusable. */
#define DRAIN_SECONDS 0.2

struct fx_http {
    CURLM *multi;
    CURL *easy;
};

/* Everything one transfer's callbacks need. */
struct transfer {
    CURL *easy;
    char errbuf[CURL_ERROR_SIZE];
    struct curl_slist *headers;
    double start;
    int armed; /* idle clock running */
    const struct fx_http_opts *opts;
    struct fx_http_result *res;
    struct fx_sse sse;
    long status;       /* from the last status line seen */
    int decided;       /* body handling chosen (first body byte) */
    int streaming;     /* 2xx stream: body goes to the SSE parser */
    int json_fallback; /* 2xx stream answered with a plain JSON body */
    long events;       /* SSE events dispatched */
    int ended;         /* end marker seen: drain the rest */
    double ended_at;
    int stopped;       /* we aborted the transfer on purpose */
    double last_byte;  /* monotonic time of the last byte received */
    size_t received;   /* body bytes so far */
    size_t head_bytes; /* header bytes of the current response */
    int too_big;       /* the body passed max_response: we stopped it */
    int sock_errno;    /* socket() failed with this (EMFILE...): ours */
};

/* libcurl's global state, set up once for the process at the first
 * transfer (flexiai.h, "Process-wide effects"), not with the client: an
 * answer from the cache, a dry run or a refusal before any traffic need
 * not start OpenSSL.  Never cleaned up: other code may use it. */
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_ready;

static void
curl_start(void)
{
    curl_ready = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int
fx_curl_start(void)
{
    pthread_once(&curl_once, curl_start);
    return curl_ready == CURLE_OK ? 0 : -1;
}

struct fx_http *
fx_http_new(void)
{
    struct fx_http *h;
    if (fx_curl_start() != 0)
        return NULL;
    h = fxu_xcalloc(1, sizeof *h);
    h->multi = curl_multi_init();
    h->easy = curl_easy_init();
    if (h->multi == NULL || h->easy == NULL) {
        fx_http_free(h);
        return NULL;
    }
    return h;
}

void
fx_http_free(struct fx_http *h)
{
    if (h == NULL)
        return;
    if (h->easy)
        curl_easy_cleanup(h->easy);
    if (h->multi)
        curl_multi_cleanup(h->multi);
    free(h);
}

void
fx_http_result_free(struct fx_http_result *r)
{
    if (r == NULL)
        return;
    fxu_buf_free(&r->body);
    fx_headers_free(&r->headers);
}

/* ---- callbacks ---------------------------------------------------------- */

static void
add_header(struct fx_headers *hs, const char *name, size_t nlen,
           const char *value, size_t vlen)
{
    if (hs->n >= HEADERS_MAX)
        return;
    /* Grow in powers of two. */
    if (hs->n == 0 || (hs->n & (hs->n - 1)) == 0)
        hs->items = fxu_xrealloc(hs->items,
                                 (hs->n ? hs->n * 2 : 16) * sizeof *hs->items);
    struct fx_header *item = &hs->items[hs->n++];
    item->name = fxu_strndup(name, nlen);
    for (char *c = item->name; *c; c++)
        *c = (char)tolower((unsigned char)*c);
    item->value = fxu_strndup(value, vlen);
}

static size_t
on_header(char *buf, size_t size, size_t nitems, void *ud)
{
    struct transfer *t = ud;
    size_t len = size * nitems;

    t->last_byte = fxu_monotonic();
    if (len >= 5 && memcmp(buf, "HTTP/", 5) == 0)
        t->head_bytes = 0;
    t->head_bytes += len;
    if (t->head_bytes > HEADER_BYTES_MAX) {
        t->too_big = 2; /* headers: we stop the transfer */
        return 0;
    }
    if (len >= 5 && memcmp(buf, "HTTP/", 5) == 0) {
        /* A new response (after 100 Continue, a proxy's CONNECT...):
         * only the final one's headers matter. */
        fx_headers_free(&t->res->headers);
        const char *sp = memchr(buf, ' ', len);
        t->status = 0;
        for (const char *c = sp ? sp + 1 : buf + len;
             c < buf + len && isdigit((unsigned char)*c); c++)
            t->status = t->status * 10 + (*c - '0');
        return len;
    }
    const char *colon = memchr(buf, ':', len);
    if (colon == NULL || colon == buf)
        return len; /* the blank line, or obsolete folding */
    const char *v = colon + 1, *end = buf + len;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && isspace((unsigned char)end[-1]))
        end--;
    add_header(&t->res->headers, buf, (size_t)(colon - buf), v,
               (size_t)(end - v));
    return len;
}

static int
starts_nocase(const char *s, const char *prefix)
{
    for (; *prefix; s++, prefix++)
        if (tolower((unsigned char)*s) != tolower((unsigned char)*prefix))
            return 0;
    return 1;
}

/* At the first body byte: stream it or buffer it? */
static void
decide_body(struct transfer *t)
{
    const struct fx_http_opts *o = t->opts;
    t->decided = 1;
    if (o->stream == NULL || o->ops == NULL || t->status / 100 != 2)
        return;
    /* A server (or proxy) that ignored "stream": a whole JSON answer. */
    const char *ct = fx_headers_get(&t->res->headers, "content-type");
    if (ct && starts_nocase(ct, "application/json"))
        t->json_fallback = 1;
    else
        t->streaming = 1;
}

/* SSE dispatch: 0 go on, 1 end marker, -1 error, 2 stop requested. */
static int
on_event(void *ud, const char *event, const char *data, size_t len)
{
    struct transfer *t = ud;
    struct fx_stream *st = t->opts->stream;
    t->events++;
    int rc = t->opts->ops->parse_event(st, event, data, len);
    if (rc != 0)
        return rc;
    return st->stop_requested ? 2 : 0;
}

static size_t
max_response(const struct fx_http_opts *o)
{
    return o->max_response ? o->max_response : BODY_MAX_DEFAULT;
}

/* "16 MiB", or the bytes when not a whole number of MiB. */
static void
size_text(char *dst, size_t cap, size_t bytes)
{
    if (bytes % (1024 * 1024) == 0)
        snprintf(dst, cap, "%zu MiB", bytes / (1024 * 1024));
    else
        snprintf(dst, cap, "%zu bytes", bytes);
}

/* The limit a streamed answer ran into (rc 0: the whole answer's). */
static void
stream_limit(struct transfer *t, int rc)
{
    char lim[64];
    size_text(lim, sizeof lim,
              rc == FX_SSE_E_LINE    ? FX_SSE_LINE_MAX
              : rc == FX_SSE_E_EVENT ? FX_SSE_DATA_MAX
                                     : max_response(t->opts));
    fx_error_set(&t->opts->stream->err, FLEXIAI_E_STREAM_ERROR,
                 rc == FX_SSE_E_LINE
                     ? "stream line longer than %s (limit of one line)"
                 : rc == FX_SSE_E_EVENT
                     ? "stream event larger than %s (limit of one event)"
                     : "response larger than %s (max_response_bytes)",
                 lim);
}

static size_t
on_body(char *buf, size_t size, size_t nitems, void *ud)
{
    struct transfer *t = ud;
    size_t len = size * nitems;

    t->last_byte = fxu_monotonic();
    if (!t->decided)
        decide_body(t);
    if (t->ended)
        return len; /* after the end marker: drain and ignore */
    t->received += len;
    if (t->received > max_response(t->opts)) {
        t->too_big = 1;
        t->stopped = 1;
        if (t->streaming)
            stream_limit(t, 0);
        return 0; /* keep what we have */
    }
    if (t->streaming) {
        int rc = fx_sse_feed(&t->sse, buf, len, on_event, t);
        if (rc == FX_SSE_E_LINE || rc == FX_SSE_E_EVENT) {
            stream_limit(t, rc);
            t->stopped = 1;
            return 0;
        }
        if (rc == 1) {
            t->ended = 1;
            t->ended_at = t->last_byte;
            return len;
        }
        if (rc != 0) {
            /* -1: the error is in stream->err; 2: the caller stops. */
            t->stopped = 1;
            return 0;
        }
        return len;
    }
    fxu_buf_append(&t->res->body, buf, len);
    return len;
}

/* ---- the transfer ------------------------------------------------------- */

static struct curl_slist *
header_list(const struct fx_http_req *req)
{
    struct curl_slist *list = NULL, *next;
    for (size_t i = 0; req->headers && req->headers[i]; i++) {
        next = curl_slist_append(list, req->headers[i]);
        if (next == NULL)
            abort(); /* out of memory, as fxu_xmalloc */
        list = next;
    }
    /* No "Expect: 100-continue" round trip for bigger bodies. */
    next = curl_slist_append(list, "Expect:");
    if (next == NULL)
        abort();
    return next;
}

/* Seconds to the milliseconds curl wants, kept in a sane range. */
static long
to_ms(double seconds)
{
    double ms = seconds * 1000 + 0.5;
    if (ms < 1)
        return 1;
    if (ms > 2147483647.0)
        return 2147483647L;
    return (long)ms;
}

/* Every socket curl opens is close-on-exec: a child (api_key_cmd, a
 * pager) must never hold a provider connection. */
static int
on_sockopt(void *ud, curl_socket_t fd, curlsocktype purpose)
{
    (void)ud;
    (void)purpose;
    int flags = fcntl(fd, F_GETFD);
    if (flags >= 0)
        fcntl(fd, F_SETFD, flags | FD_CLOEXEC);
    return CURL_SOCKOPT_OK;
}

/* curl's socket, opened here to keep why it could not be (libcurl reports
 * CURLE_COULDNT_CONNECT, with no errno, for a socket() that failed). */
static curl_socket_t
on_opensocket(void *ud, curlsocktype purpose, struct curl_sockaddr *a)
{
    struct transfer *t = ud;
    (void)purpose;
    curl_socket_t s = socket(a->family, a->socktype, a->protocol);
    if (s == CURL_SOCKET_BAD)
        t->sock_errno = errno;
    return s;
}

static void
set_options(CURL *e, const struct fx_http_req *req,
            const struct fx_http_opts *o, struct curl_slist *headers,
            struct transfer *t)
{
    /* Reset options, not connections: the cache lives in the multi. */
    curl_easy_reset(e);
    t->errbuf[0] = '\0';
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, t->errbuf);
    curl_easy_setopt(e, CURLOPT_URL, req->url);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
#endif
    if (req->body) {
        curl_easy_setopt(e, CURLOPT_POSTFIELDS, req->body);
        curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                         (curl_off_t)strlen(req->body));
    }
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(e, CURLOPT_USERAGENT, "flexiai/" PACKAGE_VERSION);
    curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(e, CURLOPT_HTTP_VERSION, (long)CURL_HTTP_VERSION_2TLS);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_TCP_KEEPALIVE, 1L);
    if (o->connect_timeout > 0)
        curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                         to_ms(o->connect_timeout));
    if (o->timeout > 0)
        curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, to_ms(o->timeout));
    if (o->insecure) {
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L);
        curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L);
    } else if (o->tls_ca && *o->tls_ca) {
        /* a directory of hashed certificates (openssl rehash), else a
         * PEM file; either replaces the system's */
        struct stat st;
        int dir = stat(o->tls_ca, &st) == 0 && S_ISDIR(st.st_mode);
        curl_easy_setopt(e, dir ? CURLOPT_CAPATH : CURLOPT_CAINFO, o->tls_ca);
        curl_easy_setopt(e, dir ? CURLOPT_CAINFO : CURLOPT_CAPATH, NULL);
    }
    curl_easy_setopt(e, CURLOPT_SOCKOPTFUNCTION, on_sockopt);
    t->sock_errno = 0;
    curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, on_opensocket);
    curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, t);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, t);
}

/* Out of descriptors or memory here: our trouble, not the provider's. */
static int
local_resource(CURLcode cc, long os_errno)
{
    if (cc == CURLE_OUT_OF_MEMORY)
        return 1;
    return (cc == CURLE_COULDNT_CONNECT || cc == CURLE_FAILED_INIT ||
            cc == CURLE_SEND_ERROR || cc == CURLE_RECV_ERROR) &&
           (os_errno == EMFILE || os_errno == ENFILE || os_errno == ENOMEM ||
            os_errno == ENOBUFS);
}

/* Which transport errors mean what to the failover engine. */
static int
transport_class(CURLcode cc, long status, long os_errno)
{
    if (local_resource(cc, os_errno))
        return FLEXIAI_E_LOCAL_RESOURCE;
    switch (cc) {
    case CURLE_OPERATION_TIMEDOUT:
        return FLEXIAI_E_TIMEOUT;
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_BAD_CONTENT_ENCODING:
    case CURLE_WEIRD_SERVER_REPLY:
        return FLEXIAI_E_STREAM_ERROR;
    /* the server's certificate is not trusted, or ours is unusable:
     * trying later will not help, a person must look (exit 78, not 75) */
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
        return FLEXIAI_E_CONFIG;
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_ENGINE_INITFAILED:
    case CURLE_USE_SSL_FAILED:
        return FLEXIAI_E_CONNECT;
    default:
        /* Anything else: before an answer we never really got through;
         * after one, the answer broke. */
        return status ? FLEXIAI_E_STREAM_ERROR : FLEXIAI_E_CONNECT;
    }
}

static void
transport_error(struct transfer *t, const struct fx_http_opts *o, CURLcode cc,
                long status, struct fx_http_result *res)
{
    size_t cap = sizeof res->transport_msg;
    long os_errno = t->sock_errno;
    if (os_errno == 0)
        curl_easy_getinfo(t->easy, CURLINFO_OS_ERRNO, &os_errno);
    res->transport_cls = transport_class(cc, status, os_errno);
    if (res->transport_cls == FLEXIAI_E_TIMEOUT) {
        curl_off_t pretransfer = 0;
        curl_easy_getinfo(t->easy, CURLINFO_PRETRANSFER_TIME_T, &pretransfer);
        int connected = pretransfer > 0 || status != 0;
        if (!connected && o->connect_timeout > 0 &&
            (o->timeout <= 0 || o->connect_timeout < o->timeout))
            snprintf(res->transport_msg, cap, "connect timeout after %gs",
                     o->connect_timeout);
        else
            snprintf(res->transport_msg, cap, "timed out after %gs",
                     o->timeout);
    } else if (res->transport_cls == FLEXIAI_E_LOCAL_RESOURCE) {
        snprintf(res->transport_msg, cap,
                 "local resources: %s (this host's limit, not the provider's)",
                 os_errno ? strerror((int)os_errno) : curl_easy_strerror(cc));
    } else if (res->transport_cls == FLEXIAI_E_STREAM_ERROR) {
        snprintf(res->transport_msg, cap, "connection closed by server");
    } else if (cc == CURLE_PEER_FAILED_VERIFICATION) {
        static const char hint[] = "; a server with a private CA needs tls_ca";
        int n = snprintf(res->transport_msg, cap, "%s",
                         t->errbuf[0] ? t->errbuf : curl_easy_strerror(cc));
        if (n >= 0 && (size_t)n + sizeof(hint) <= cap)
            memcpy(res->transport_msg + n, hint, sizeof(hint));
    } else {
        /* curl's text names the host and port, never headers or body */
        snprintf(res->transport_msg, cap, "%s",
                 t->errbuf[0] ? t->errbuf : curl_easy_strerror(cc));
    }
}

/* Providers whose streams end with an explicit marker; for the others
 * (Gemini, Vertex AI) the end of the body is the end of the stream. */
static int
has_end_marker(const struct fx_provider_ops *ops)
{
    return !ops->finish_ends_stream;
}

/* A 2xx answer to a streaming request that came as one JSON body. */
static void
finish_json_fallback(struct transfer *t)
{
    struct fx_stream *st = t->opts->stream;
    struct fx_response r;
    fx_response_init(&r);
    if (t->opts->ops->parse_response(t->res->body.data, t->res->body.len, &r,
                                     &st->err) < 0) {
        t->res->stream_incomplete = 1;
        fx_response_free(&r);
        return;
    }
    fx_stream_text(st, r.text.data ? r.text.data : "", r.text.len);
    if (r.model) {
        free(st->resp->model);
        st->resp->model = r.model;
        r.model = NULL;
    }
    if (r.finish_reason) {
        free(st->resp->finish_reason);
        st->resp->finish_reason = r.finish_reason;
        r.finish_reason = NULL;
    }
    if (r.has_usage) {
        st->resp->has_usage = 1;
        st->resp->prompt_tokens = r.prompt_tokens;
        st->resp->completion_tokens = r.completion_tokens;
        st->resp->total_tokens = r.total_tokens;
        st->resp->cached_tokens = r.cached_tokens;
        st->resp->cache_write_tokens = r.cache_write_tokens;
        st->resp->reasoning_tokens = r.reasoning_tokens;
    }
    if (r.reasoning.len) {
        fxu_buf_free(&st->resp->reasoning);
        st->resp->reasoning = r.reasoning;
        fxu_buf_init(&r.reasoning);
    }
    if (r.reasoning_state) {
        free(st->resp->reasoning_state);
        st->resp->reasoning_state = r.reasoning_state;
        r.reasoning_state = NULL;
    }
    st->done = 1;
    fx_response_free(&r);
}

/* Decide stream_incomplete for a 2xx answer to a streaming request. */
static void
finish_stream(struct transfer *t, int broken)
{
    struct fx_stream *st = t->opts->stream;
    struct fx_http_result *res = t->res;

    if (t->json_fallback) {
        if (!broken)
            finish_json_fallback(t);
        else
            res->stream_incomplete = 1;
        return;
    }
    if (st->stop_requested && st->err.cls == FLEXIAI_E_NONE) {
        res->stream_incomplete = 0; /* the caller stopped it */
        return;
    }
    if (st->err.cls != FLEXIAI_E_NONE || broken)
        res->stream_incomplete = 1;
    else if (has_end_marker(t->opts->ops))
        res->stream_incomplete = !st->done;
    else
        res->stream_incomplete = fx_sse_pending(&t->sse) || t->events == 0;
}

/* ---- one transfer on any multi handle (fx_http_perform, engine.c) ----- */

struct fx_xfer {
    struct transfer t;
};

struct fx_xfer *
fx_xfer_new(void *easy, const struct fx_http_req *req,
            const struct fx_http_opts *opts, struct fx_http_result *res)
{
    static const struct fx_http_opts no_opts;
    struct fx_xfer *x = fxu_xcalloc(1, sizeof(*x));
    struct transfer *t = &x->t;
    memset(res, 0, sizeof *res);
    fxu_buf_init(&res->body);
    t->easy = easy;
    t->opts = opts ? opts : &no_opts;
    t->res = res;
    t->start = fxu_monotonic();
    t->last_byte = t->start;
    fx_sse_init(&t->sse);
    t->headers = header_list(req);
    set_options(easy, req, t->opts, t->headers, t);
    return x;
}

int
fx_xfer_check(struct fx_xfer *x, double now)
{
    struct transfer *t = &x->t;
    const struct fx_http_opts *o = t->opts;
    if (o->cancel && *o->cancel)
        return FX_XFER_CANCELLED;
    if (t->ended && now - t->ended_at > DRAIN_SECONDS)
        return FX_XFER_DRAINED;
    if (o->stream && o->idle_timeout > 0) {
        /* The idle clock starts once the request is on its way, so
         * connecting is covered by connect_timeout alone. */
        if (!t->armed) {
            curl_off_t pre = 0;
            curl_easy_getinfo(t->easy, CURLINFO_PRETRANSFER_TIME_T, &pre);
            if (pre > 0) {
                t->armed = 1;
                if (t->last_byte == t->start) /* nothing received yet */
                    t->last_byte = now;
            }
        }
        if (t->armed && now - t->last_byte > o->idle_timeout)
            return FX_XFER_IDLE;
    }
    return 0;
}

int
fx_xfer_finish(struct fx_xfer *x, int why, int completed, int curlcode)
{
    struct transfer *t = &x->t;
    const struct fx_http_opts *o = t->opts;
    struct fx_http_result *res = t->res;
    CURLcode cc = (CURLcode)curlcode;
    int rc = 0;

    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &res->status);
    if (res->status == 0)
        res->status = t->status;
    /* "100 Continue" and other 1xx are not an answer: no status at all */
    if (res->status < 200)
        res->status = 0;
    curl_slist_free_all(t->headers);

    int stream_2xx = o->stream && o->ops && res->status / 100 == 2;
    int broken = 0;
    if (why == FX_XFER_CANCELLED) {
        res->transport_cls = FLEXIAI_E_CANCELLED;
        snprintf(res->transport_msg, sizeof res->transport_msg, "cancelled");
        rc = -1;
    } else if (why == FX_XFER_IDLE) {
        res->transport_cls = FLEXIAI_E_TIMEOUT;
        snprintf(res->transport_msg, sizeof res->transport_msg,
                 "no data for %gs", o->idle_timeout);
        rc = -1;
        broken = 1;
    } else if (why == FX_XFER_DRAINED) {
        rc = 0; /* end marker seen; the server just did not close */
    } else if (why == FX_XFER_MULTI_ERROR && !completed) {
        /* curl's multi handle refused it (memory, descriptors): ours */
        res->transport_cls =
            res->status ? FLEXIAI_E_STREAM_ERROR : FLEXIAI_E_LOCAL_RESOURCE;
        snprintf(res->transport_msg, sizeof res->transport_msg,
                 res->status ? "transfer failed"
                             : "transfer could not start here (local "
                               "resources, not the provider)");
        rc = -1;
        broken = 1;
    } else if (t->too_big == 2) {
        res->transport_cls = FLEXIAI_E_STREAM_ERROR;
        snprintf(res->transport_msg, sizeof res->transport_msg,
                 "response headers larger than %d KiB",
                 HEADER_BYTES_MAX / 1024);
        rc = -1;
        broken = 1;
    } else if (cc == CURLE_WRITE_ERROR && t->too_big && !t->streaming &&
               res->status / 100 == 2) {
        /* a whole answer over the limit: say which limit, not "malformed" */
        char lim[64];
        size_text(lim, sizeof lim, max_response(o));
        res->transport_cls = FLEXIAI_E_STREAM_ERROR;
        snprintf(res->transport_msg, sizeof res->transport_msg,
                 "response larger than %s (max_response_bytes)", lim);
        rc = -1;
        broken = 1;
    } else if (cc == CURLE_WRITE_ERROR && t->stopped) {
        rc = 0; /* we stopped it: end marker, error event or caller */
    } else if (cc != CURLE_OK) {
        transport_error(t, o, cc, res->status, res);
        rc = -1;
        broken = 1;
    } else if (res->status == 0) {
        res->transport_cls = FLEXIAI_E_STREAM_ERROR;
        snprintf(res->transport_msg, sizeof res->transport_msg,
                 "no HTTP answer");
        rc = -1;
    }
    if (stream_2xx && why != FX_XFER_CANCELLED)
        finish_stream(t, broken);

    fx_sse_free(&t->sse);
    res->elapsed_ms = (fxu_monotonic() - t->start) * 1000;
    free(x);
    return rc;
}

int
fx_http_perform(struct fx_http *h, const struct fx_http_req *req,
                const struct fx_http_opts *opts, struct fx_http_result *res)
{
    struct fx_xfer *x = fx_xfer_new(h->easy, req, opts, res);
    int running = 1, why = 0, completed = 0;
    CURLcode cc = CURLE_OK;
    CURLMcode mc = curl_multi_add_handle(h->multi, h->easy);
    if (mc != CURLM_OK)
        return fx_xfer_finish(x, FX_XFER_MULTI_ERROR, 0, CURLE_OK);

    while (running) {
        mc = curl_multi_perform(h->multi, &running);
        if (mc != CURLM_OK) {
            why = FX_XFER_MULTI_ERROR;
            break;
        }
        if (!running)
            break;
        if ((why = fx_xfer_check(x, fxu_monotonic())) != 0)
            break;
        mc = curl_multi_poll(h->multi, NULL, 0, POLL_MS, NULL);
        if (mc != CURLM_OK) {
            why = FX_XFER_MULTI_ERROR;
            break;
        }
    }
    CURLMsg *msg;
    int left;
    while ((msg = curl_multi_info_read(h->multi, &left)) != NULL)
        if (msg->msg == CURLMSG_DONE && msg->easy_handle == h->easy) {
            cc = msg->data.result;
            completed = 1;
        }
    /* Removing a handle mid-transfer closes just that connection. */
    curl_multi_remove_handle(h->multi, h->easy);
    return fx_xfer_finish(x, why, completed, cc);
}
