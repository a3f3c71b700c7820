/*
 * redis-tls.c - TLS for Redis connections (OpenSSL 3), under redis-conn.c:
 * the context (CA file or directory, client certificate, verification on
 * unless `insecure`), the server name (SNI and host-name or IP
 * verification), non-blocking handshake, read and write steps, and the
 * one-line reasons a user reads when any of it fails.
 *
 * The socket is driven through a BIO of our own that writes with
 * send(MSG_NOSIGNAL): OpenSSL's socket BIO uses write(2), and a server
 * going away would kill the process with SIGPIPE.
 *
 * Polling and deadlines belong to redis-conn.c; nothing here blocks.
 */
#include "config.h"

#include "fx.h"
#include "redis-conn.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

struct fx_tls {
    SSL_CTX *ctx;
    SSL *ssl;
    char *name;      /* the name or address verified */
    int has_cert;    /* we offered a client certificate */
    int verify_peer; /* not insecure */
    /* the server asked for a client certificate we do not have: with TLS
     * 1.3 its refusal comes after the handshake, as an alert or, when our
     * first command crosses it, as a reset that loses the alert */
    int cert_requested;
    int got_data; /* a record of data arrived: the handshake was accepted */
};

/* ---- the socket BIO ---------------------------------------------------- */

static BIO_METHOD *sock_method;
static pthread_once_t sock_method_once = PTHREAD_ONCE_INIT;

static int
sock_fd(BIO *b)
{
    return (int)(intptr_t)BIO_get_data(b);
}

static int
sock_write(BIO *b, const char *buf, int n)
{
    ssize_t r = send(sock_fd(b), buf, (size_t)n, MSG_NOSIGNAL);
    BIO_clear_retry_flags(b);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        BIO_set_retry_write(b);
    return (int)r;
}

static int
sock_read(BIO *b, char *buf, int n)
{
    ssize_t r = recv(sock_fd(b), buf, (size_t)n, 0);
    BIO_clear_retry_flags(b);
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
        BIO_set_retry_read(b);
    return (int)r;
}

static long
sock_ctrl(BIO *b, int cmd, long num, void *ptr)
{
    return cmd == BIO_CTRL_FLUSH ? 1 : 0;
}

static int
sock_create(BIO *b)
{
    BIO_set_init(b, 1);
    return 1;
}

static void
sock_method_init(void)
{
    BIO_METHOD *m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK,
                                 "flexiai redis socket");
    if (m && BIO_meth_set_write(m, sock_write) &&
        BIO_meth_set_read(m, sock_read) && BIO_meth_set_ctrl(m, sock_ctrl) &&
        BIO_meth_set_create(m, sock_create))
        sock_method = m;
    else if (m)
        BIO_meth_free(m);
}

/* ---- reasons ------------------------------------------------------------ */

/* OpenSSL's last queued error as text, without its "error:0A...:" code */
static char *
ssl_reason(const char *fallback)
{
    unsigned long e = ERR_peek_last_error();
    const char *r = e ? ERR_reason_error_string(e) : NULL;
    ERR_clear_error();
    return fxu_strdup(r ? r : fallback);
}

static int
is_ip_literal(const char *s)
{
    unsigned char buf[16];
    return inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1;
}

/* Why the handshake failed, for "redis HOST:PORT: TLS: <why>". */
static char *
handshake_reason(struct fx_tls *t, int ssl_err)
{
    long v = SSL_get_verify_result(t->ssl);
    if (t->verify_peer && v != X509_V_OK) {
        ERR_clear_error();
        if (v == X509_V_ERR_HOSTNAME_MISMATCH ||
            v == X509_V_ERR_IP_ADDRESS_MISMATCH)
            return fxu_asprintf(
                "server name mismatch (the certificate is not for %s)",
                t->name);
        return fxu_asprintf("certificate verify failed (%s)",
                            X509_verify_cert_error_string(v));
    }
    if (ssl_err == SSL_ERROR_SYSCALL || ssl_err == SSL_ERROR_ZERO_RETURN) {
        int saved = errno;
        ERR_clear_error();
        if (ssl_err == SSL_ERROR_SYSCALL && saved != 0)
            return fxu_asprintf("handshake failed: %s", strerror(saved));
        return fxu_strdup("the server closed the connection during the "
                          "handshake (is it a TLS port?)");
    }
    unsigned long e = ERR_peek_last_error();
    int reason = ERR_GET_REASON(e);
    if (reason == SSL_R_TLSV13_ALERT_CERTIFICATE_REQUIRED ||
        (!t->has_cert && reason == SSL_R_SSLV3_ALERT_HANDSHAKE_FAILURE)) {
        ERR_clear_error();
        if (!t->has_cert)
            return fxu_strdup("the server requires a client certificate "
                              "(set redis_tls_cert and redis_tls_key)");
    }
    if (reason == SSL_R_WRONG_VERSION_NUMBER) {
        ERR_clear_error();
        return fxu_strdup("no TLS answer (is it a TLS port?)");
    }
    char *r = ssl_reason("handshake failed");
    if (t->has_cert && (reason == SSL_R_TLSV1_ALERT_UNKNOWN_CA ||
                        reason == SSL_R_SSLV3_ALERT_BAD_CERTIFICATE)) {
        char *s = fxu_asprintf("the server rejected our client certificate "
                               "(%s)",
                               r);
        free(r);
        return s;
    }
    return r;
}

/* ---- set-up ------------------------------------------------------------- */

static int
load_ca(SSL_CTX *ctx, const char *ca, char **why)
{
    struct stat sb;
    int ok;
    if (ca == NULL || *ca == '\0')
        ok = SSL_CTX_set_default_verify_paths(ctx);
    else if (stat(ca, &sb) < 0) {
        *why = fxu_asprintf("CA %s: %s", ca, strerror(errno));
        return -1;
    } else if (S_ISDIR(sb.st_mode))
        ok = SSL_CTX_load_verify_locations(ctx, NULL, ca);
    else
        ok = SSL_CTX_load_verify_locations(ctx, ca, NULL);
    if (!ok) {
        char *r = ssl_reason("unreadable");
        *why = fxu_asprintf("CA %s: %s", ca && *ca ? ca : "(system)", r);
        free(r);
        return -1;
    }
    return 0;
}

static int
load_client_cert(SSL_CTX *ctx, const struct fx_redis_tls *o, char **why)
{
    if (o->cert == NULL || *o->cert == '\0') {
        if (o->key && *o->key) {
            *why = fxu_strdup("a key without a certificate (set cert too)");
            return -1;
        }
        return 0;
    }
    const char *key = o->key && *o->key ? o->key : o->cert;
    const char *what = o->cert;
    int ok = SSL_CTX_use_certificate_chain_file(ctx, o->cert) == 1;
    if (ok) {
        what = key;
        ok = SSL_CTX_use_PrivateKey_file(ctx, key, SSL_FILETYPE_PEM) == 1;
    }
    if ((ok && SSL_CTX_check_private_key(ctx) != 1) ||
        (!ok && what == key &&
         ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH)) {
        ERR_clear_error();
        *why =
            fxu_asprintf("key %s does not match certificate %s", key, o->cert);
        return -1;
    }
    if (!ok) {
        char *r = ssl_reason("unreadable");
        *why = fxu_asprintf("%s: %s", what, r);
        free(r);
        return -1;
    }
    return 0;
}

/* Which name the certificate must carry: SNI for names, not addresses. */
static int
set_peer_name(struct fx_tls *t, char **why)
{
    int ok = 1;
    if (!is_ip_literal(t->name))
        ok = SSL_set_tlsext_host_name(t->ssl, t->name) == 1;
    if (ok && t->verify_peer) {
        if (is_ip_literal(t->name))
            ok = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(t->ssl),
                                               t->name) == 1;
        else
            ok = SSL_set1_host(t->ssl, t->name) == 1;
    }
    if (!ok) {
        char *r = ssl_reason("rejected");
        *why = fxu_asprintf("server name %s: %s", t->name, r);
        free(r);
        return -1;
    }
    return 0;
}

static int
client_cert_cb(SSL *ssl, X509 **x509, EVP_PKEY **pkey)
{
    struct fx_tls *t = SSL_get_app_data(ssl);
    if (t)
        t->cert_requested = 1;
    return 0; /* none: go on without */
}

int
fx_tls_new(struct fx_tls **out, int fd, const struct fx_redis_tls *opts,
           const char *host, char **why)
{
    *out = NULL;
    pthread_once(&sock_method_once, sock_method_init);
    ERR_clear_error();
    struct fx_tls *t = fxu_xcalloc(1, sizeof(*t));
    t->name = fxu_strdup(
        opts->server_name && *opts->server_name ? opts->server_name : host);
    t->verify_peer = !opts->insecure;
    t->has_cert = opts->cert && *opts->cert;
    t->ctx = SSL_CTX_new(TLS_client_method());
    if (sock_method == NULL || t->ctx == NULL) {
        *why = ssl_reason("cannot set up TLS");
        goto fail;
    }
    SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(t->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                                 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    /* a closed connection is an end of file, not a protocol error: RESP
     * frames its replies, so a cut one is seen anyway */
    SSL_CTX_set_options(t->ctx, SSL_OP_IGNORE_UNEXPECTED_EOF);
    SSL_CTX_set_verify(
        t->ctx, t->verify_peer ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, NULL);
    if (t->verify_peer && load_ca(t->ctx, opts->ca, why) < 0)
        goto fail;
    if (load_client_cert(t->ctx, opts, why) < 0)
        goto fail;
    if (!t->has_cert)
        SSL_CTX_set_client_cert_cb(t->ctx, client_cert_cb);
    t->ssl = SSL_new(t->ctx);
    BIO *bio = t->ssl ? BIO_new(sock_method) : NULL;
    if (bio == NULL) {
        *why = ssl_reason("cannot set up TLS");
        goto fail;
    }
    SSL_set_app_data(t->ssl, t);
    BIO_set_data(bio, (void *)(intptr_t)fd);
    SSL_set_bio(t->ssl, bio, bio);
    if (set_peer_name(t, why) < 0)
        goto fail;
    SSL_set_connect_state(t->ssl);
    *out = t;
    return 0;

fail:
    fx_tls_free(t);
    return -1;
}

/* SSL_get_error as want / closed / error */
static long
io_result(struct fx_tls *t, int ret, short *want, char **why)
{
    int e = SSL_get_error(t->ssl, ret);
    if (e != SSL_ERROR_WANT_READ && e != SSL_ERROR_WANT_WRITE &&
        t->cert_requested && !t->has_cert && !t->got_data) {
        ERR_clear_error();
        *why = fxu_strdup("the server requires a client certificate "
                          "(set redis_tls_cert and redis_tls_key)");
        return FX_TLS_ERROR;
    }
    switch (e) {
    case SSL_ERROR_WANT_READ:
        *want = POLLIN;
        return FX_TLS_WANT;
    case SSL_ERROR_WANT_WRITE:
        *want = POLLOUT;
        return FX_TLS_WANT;
    case SSL_ERROR_ZERO_RETURN:
        ERR_clear_error();
        return FX_TLS_CLOSED;
    case SSL_ERROR_SYSCALL:
        if (errno == 0) {
            ERR_clear_error();
            return FX_TLS_CLOSED;
        }
        *why = fxu_strdup(strerror(errno));
        ERR_clear_error();
        return FX_TLS_ERROR;
    default:
        *why = ssl_reason("TLS error");
        return FX_TLS_ERROR;
    }
}

int
fx_tls_handshake(struct fx_tls *t, short *want, char **why)
{
    ERR_clear_error();
    errno = 0;
    int ret = SSL_do_handshake(t->ssl);
    if (ret == 1)
        return 1;
    int e = SSL_get_error(t->ssl, ret);
    if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE) {
        *want = e == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT;
        return 0;
    }
    *why = handshake_reason(t, e);
    return -1;
}

long
fx_tls_read(struct fx_tls *t, void *buf, size_t n, short *want, char **why)
{
    size_t got = 0;
    ERR_clear_error();
    errno = 0;
    int ret = SSL_read_ex(t->ssl, buf, n, &got);
    if (ret == 1) {
        t->got_data = 1;
        return (long)got;
    }
    return io_result(t, ret, want, why);
}

long
fx_tls_write(struct fx_tls *t, const void *buf, size_t n, short *want,
             char **why)
{
    size_t put = 0;
    ERR_clear_error();
    errno = 0;
    int ret = SSL_write_ex(t->ssl, buf, n, &put);
    if (ret == 1)
        return (long)put;
    long r = io_result(t, ret, want, why);
    if (r == FX_TLS_CLOSED) {
        *why = fxu_strdup("connection closed by the server");
        return FX_TLS_ERROR;
    }
    return r;
}

void
fx_tls_free(struct fx_tls *t)
{
    if (t == NULL)
        return;
    if (t->ssl)
        SSL_free(t->ssl); /* frees the BIO; the socket is the caller's */
    if (t->ctx)
        SSL_CTX_free(t->ctx);
    free(t->name);
    free(t);
}
