/*
 * curl-load.h - libcurl, loaded (dlopen) at its first use rather than
 * linked: libcurl brings some twenty libraries (GnuTLS, LDAP, Kerberos,
 * SSH, HTTP/2...) whose loading is most of a process's start, and an
 * answer from the response cache, a refusal before any traffic, `logs`
 * or `usage` send nothing.  Files that call libcurl include this in place
 * of <curl/curl.h>; their curl_* calls go through fx_curl.  The calls
 * that need no handle of libcurl's (global_init, easy_init, multi_init,
 * mime_init, slist_append, version_info, getdate, easy_strerror) load it
 * first; when it cannot be loaded they fail as they do out of memory
 * (NULL, CURLE_FAILED_INIT, -1) and fx_curl_why() says why.  The other
 * calls take a handle, so it is loaded by then.  Not installed.
 */
#ifndef FX_CURL_LOAD_H
#define FX_CURL_LOAD_H

#include <curl/curl.h>

/* clang-format off */
#define FX_CURL_FUNCS(X)                                                     \
    X(global_init) X(version_info) X(getdate) X(easy_init) X(easy_setopt)    \
    X(easy_getinfo) X(easy_perform) X(easy_cleanup) X(easy_reset)            \
    X(easy_strerror) X(slist_append) X(slist_free_all) X(multi_init)         \
    X(multi_setopt) X(multi_add_handle) X(multi_remove_handle)               \
    X(multi_perform) X(multi_poll) X(multi_info_read) X(multi_cleanup)       \
    X(mime_init) X(mime_free) X(mime_addpart) X(mime_name) X(mime_data)      \
    X(mime_filedata) X(mime_filename) X(mime_type)
/* clang-format on */

struct fx_curl_api {
#define FX_CURL_SLOT(n) __typeof__(curl_##n) *n;
    FX_CURL_FUNCS(FX_CURL_SLOT)
#undef FX_CURL_SLOT
};
extern struct fx_curl_api fx_curl;

/* Why libcurl could not be loaded; "" when it was (or was not tried). */
const char *fx_curl_why(void);

#ifndef FX_CURL_LOAD_C
/* curl.h's own function-like macros for the *setopt/getinfo calls go */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#undef curl_multi_setopt
#define curl_global_init fx_curl.global_init
#define curl_version_info fx_curl.version_info
#define curl_getdate fx_curl.getdate
#define curl_easy_init fx_curl.easy_init
#define curl_easy_setopt fx_curl.easy_setopt
#define curl_easy_getinfo fx_curl.easy_getinfo
#define curl_easy_perform fx_curl.easy_perform
#define curl_easy_cleanup fx_curl.easy_cleanup
#define curl_easy_reset fx_curl.easy_reset
#define curl_easy_strerror fx_curl.easy_strerror
#define curl_slist_append fx_curl.slist_append
#define curl_slist_free_all fx_curl.slist_free_all
#define curl_multi_init fx_curl.multi_init
#define curl_multi_setopt fx_curl.multi_setopt
#define curl_multi_add_handle fx_curl.multi_add_handle
#define curl_multi_remove_handle fx_curl.multi_remove_handle
#define curl_multi_perform fx_curl.multi_perform
#define curl_multi_poll fx_curl.multi_poll
#define curl_multi_info_read fx_curl.multi_info_read
#define curl_multi_cleanup fx_curl.multi_cleanup
#define curl_mime_init fx_curl.mime_init
#define curl_mime_free fx_curl.mime_free
#define curl_mime_addpart fx_curl.mime_addpart
#define curl_mime_name fx_curl.mime_name
#define curl_mime_data fx_curl.mime_data
#define curl_mime_filedata fx_curl.mime_filedata
#define curl_mime_filename fx_curl.mime_filename
#define curl_mime_type fx_curl.mime_type
#endif

#endif
