/*
 * version.c - names and versions that need no network code: error class
 * and backend names, the library version and the versions of the
 * libraries it was built with.  Kept apart from the HTTP code so that the
 * configuration code (conf/) depends on none of it.
 */
#include "config.h"

#include "fx.h"
#include "curl-load.h"

#include <cjson/cJSON.h>
#include <openssl/crypto.h>
#include <hiredis/hiredis.h>
#include <pthread.h>
#include <stdio.h>

/* The classes of flexiai.h, which keeps no count of them (a caller's count
 * would be wrong after a library adds one): the last one, plus one. */
#define FX_ERRCLASS_COUNT (FLEXIAI_E_BUDGET + 1)

static const char *const class_names[FX_ERRCLASS_COUNT] = {
    [FLEXIAI_E_NONE] = "none",
    [FLEXIAI_E_CONNECT] = "connect",
    [FLEXIAI_E_TIMEOUT] = "timeout",
    [FLEXIAI_E_RATE_LIMIT] = "rate_limit",
    [FLEXIAI_E_QUOTA] = "quota",
    [FLEXIAI_E_OVERLOADED] = "overloaded",
    [FLEXIAI_E_SERVER] = "server",
    [FLEXIAI_E_AUTH] = "auth",
    [FLEXIAI_E_BAD_REQUEST] = "bad_request",
    [FLEXIAI_E_CONTEXT_LENGTH] = "context_length",
    [FLEXIAI_E_STREAM_ERROR] = "stream_error",
    [FLEXIAI_E_CONTENT_FILTER] = "content_filter",
    [FLEXIAI_E_BREAKER_OPEN] = "breaker_open",
    [FLEXIAI_E_CONFIG] = "config",
    [FLEXIAI_E_CANCELLED] = "cancelled",
    [FLEXIAI_E_INTERNAL] = "internal",
    [FLEXIAI_E_RATE_LIMITED_LOCAL] = "rate_limited_local",
    [FLEXIAI_E_INVALID_OUTPUT] = "invalid_output",
    [FLEXIAI_E_LOCAL_RESOURCE] = "local_resource",
    [FLEXIAI_E_UNSUPPORTED] = "unsupported",
    [FLEXIAI_E_BUDGET] = "budget",
};

const char *
flexiai_errclass_name(flexiai_errclass cls)
{
    if ((int)cls < 0 || (int)cls >= FX_ERRCLASS_COUNT)
        return "internal";
    return class_names[cls];
}

flexiai_code
flexiai_errclass_from_name(const char *name, flexiai_errclass *cls)
{
    for (int i = 0; name && i < FX_ERRCLASS_COUNT; i++)
        if (fxu_streq_nocase(name, class_names[i])) {
            *cls = (flexiai_errclass)i;
            return FLEXIAI_OK;
        }
    return FLEXIAI_EUSAGE;
}

const char *
flexiai_backend_name(flexiai_backend backend)
{
    return backend == FLEXIAI_BACKEND_REDIS ? "redis" : "file";
}

/* The header's version is the package's: configure.ac reads AC_INIT's
 * from flexiai.h, and the unit tests compare the two. */
const char *
flexiai_version(void)
{
    return FLEXIAI_VERSION;
}

int
flexiai_version_number(void)
{
    return FLEXIAI_VERSION_NUMBER;
}

static char libraries[384];
static pthread_once_t libraries_once = PTHREAD_ONCE_INIT;

static void
libraries_fill(void)
{
    /* the TLS library is what the running libcurl reports (it is loaded
     * anyway: complete is built into the front); OpenSSL also carries
     * Redis TLS */
    const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
    snprintf(libraries, sizeof(libraries),
             "libcurl/%s TLS/%s OpenSSL/%s cJSON/%s hiredis/%d.%d.%d "
             "inih/%s",
             v && v->version ? v->version : LIBCURL_VERSION,
             v && v->ssl_version ? v->ssl_version : "none",
             OpenSSL_version(OPENSSL_VERSION_STRING), cJSON_Version(),
             HIREDIS_MAJOR, HIREDIS_MINOR, HIREDIS_PATCH, INIH_VERSION);
}

const char *
flexiai_libraries(void)
{
    /* built once, from any thread */
    pthread_once(&libraries_once, libraries_fill);
    return libraries;
}
