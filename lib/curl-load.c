/*
 * curl-load.c - libcurl loaded at its first use (curl-load.h says why).
 * Until then the table holds, for each call that needs no libcurl
 * handle, one that loads the library and then makes the call.
 */
#include "config.h"

#define FX_CURL_LOAD_C
#include "curl-load.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char why[256]; /* "" loaded (or not tried); else why not */

static void
load(void)
{
    /* lazy: RTLD_NOW would bind every function of every library libcurl
     * brings, which its start as a link-time dependency never does
     * (make bench, section 1: 1.05-1.07 of curl's time with NOW, 1.03
     * with LAZY) */
    void *h = dlopen(FX_CURL_SONAME, RTLD_LAZY | RTLD_LOCAL);
    if (h == NULL) {
        const char *e = dlerror();
        snprintf(why, sizeof(why), "cannot load libcurl: %s",
                 e ? e : FX_CURL_SONAME);
        return;
    }
    /* kept open for the process; every call or none */
    struct fx_curl_api api;
#define FX_CURL_SYM(n)                                                         \
    api.n = (__typeof__(api.n))dlsym(h, "curl_" #n);                           \
    if (api.n == NULL) {                                                       \
        snprintf(why, sizeof(why), "cannot load libcurl: %s has no %s",        \
                 FX_CURL_SONAME, "curl_" #n);                                  \
        return;                                                                \
    }
    FX_CURL_FUNCS(FX_CURL_SYM)
#undef FX_CURL_SYM
    fx_curl = api;
}

/* 0 when libcurl is loaded */
static int
ready(void)
{
    pthread_once(&once, load);
    return why[0] ? -1 : 0;
}

const char *
fx_curl_why(void)
{
    return why;
}

static CURLcode
first_global_init(long flags)
{
    return ready() ? CURLE_FAILED_INIT : fx_curl.global_init(flags);
}

static curl_version_info_data *
first_version_info(CURLversion v)
{
    return ready() ? NULL : fx_curl.version_info(v);
}

static time_t
first_getdate(const char *p, const time_t *unused)
{
    return ready() ? -1 : fx_curl.getdate(p, unused);
}

static CURL *
first_easy_init(void)
{
    return ready() ? NULL : fx_curl.easy_init();
}

static CURLM *
first_multi_init(void)
{
    return ready() ? NULL : fx_curl.multi_init();
}

static curl_mime *
first_mime_init(CURL *e)
{
    return ready() ? NULL : fx_curl.mime_init(e);
}

static struct curl_slist *
first_slist_append(struct curl_slist *l, const char *s)
{
    return ready() ? NULL : fx_curl.slist_append(l, s);
}

static const char *
first_easy_strerror(CURLcode c)
{
    return ready() ? why : fx_curl.easy_strerror(c);
}

static void
first_slist_free_all(struct curl_slist *l)
{
    /* a list exists only once libcurl made it */
    if (l && ready() == 0)
        fx_curl.slist_free_all(l);
}

struct fx_curl_api fx_curl = {
    .global_init = first_global_init,
    .version_info = first_version_info,
    .getdate = first_getdate,
    .easy_init = first_easy_init,
    .multi_init = first_multi_init,
    .mime_init = first_mime_init,
    .slist_append = first_slist_append,
    .easy_strerror = first_easy_strerror,
    .slist_free_all = first_slist_free_all,
};
