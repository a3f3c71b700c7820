/*
 * attach-fetch.c - a URL's bytes, for a provider that takes no URL (and
 * for text, which goes in as text): a plain GET with libcurl, http and
 * https only (redirects too), at most 3 redirects, a size cap and a
 * timeout.
 */
#include "attach.h"
#include "fx.h"
#include "http.h"
#include "curl-load.h"

#include <stdlib.h>
#include <string.h>

#define FETCH_TIMEOUT_S 60L
#define FETCH_CONNECT_TIMEOUT_S 10L
#define FETCH_REDIRECTS 3L

struct sink {
    fxu_buf *out;
    long long max;
    int too_large;
};

static size_t
on_data(char *p, size_t size, size_t n, void *ud)
{
    struct sink *s = ud;
    size_t len = size * n;
    if ((long long)(s->out->len + len) > s->max) {
        s->too_large = 1;
        return 0; /* ends the transfer */
    }
    fxu_buf_append(s->out, p, len);
    return len;
}

int
fx_attach_fetch(const char *url, long long max, fxu_buf *out, char **mime,
                char **err)
{
    CURL *h = fx_curl_start() == 0 ? curl_easy_init() : NULL;
    struct sink s = {out, max, 0};
    char ebuf[CURL_ERROR_SIZE] = "";
    if (h == NULL) {
        fx_set_err(err, "%s: cannot start a transfer", url);
        return -1;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(h, CURLOPT_PROTOCOLS, CURLPROTO_HTTP | CURLPROTO_HTTPS);
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS,
                     CURLPROTO_HTTP | CURLPROTO_HTTPS);
#endif
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, FETCH_REDIRECTS);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, FETCH_TIMEOUT_S);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, FETCH_CONNECT_TIMEOUT_S);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "flexiai");
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
    CURLcode rc = curl_easy_perform(h);
    if (rc == CURLE_OK && mime) {
        char *ct = NULL;
        curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ct);
        *mime = ct ? fxu_strndup(ct, strcspn(ct, "; ")) : NULL;
    }
    curl_easy_cleanup(h);
    if (s.too_large) {
        fx_set_err(err,
                   "%s: more than %lld bytes ([defaults] "
                   "max_attachment_bytes)",
                   url, max);
        return -1;
    }
    if (rc != CURLE_OK) {
        fx_set_err(err, "cannot fetch %s: %s", url,
                   ebuf[0] ? ebuf : curl_easy_strerror(rc));
        return -1;
    }
    return 0;
}
