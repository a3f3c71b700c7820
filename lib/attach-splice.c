/*
 * attach-splice.c - an attachment's bytes into a request body.  A provider
 * builds its JSON with a placeholder where the bytes go; the splice then
 * allocates the body once at its final size and writes each file's base64
 * straight into it as it reads the file, so a file is never held twice
 * (a 20 MB PDF costs its base64 once, not the file plus its base64 plus
 * the JSON text).  Text files go in JSON-escaped; a URL a provider cannot
 * take is fetched here.
 */
#include "attach.h"
#include "fx.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

/* The placeholder is "\x01fxatt:MI:AI:K:NONCE\x01" and reaches the body as
 * cJSON prints it: control bytes as \u0001.  The nonce, random per process,
 * keeps a user's text that imitates one from being replaced. */
#define MARK "\\u0001fxatt:"

static char nonce[17];
static pthread_once_t nonce_once = PTHREAD_ONCE_INIT;

static void
make_nonce(void)
{
    unsigned char r[8];
    if (getrandom(r, sizeof(r), 0) != (ssize_t)sizeof(r)) {
        unsigned long long v = (unsigned long long)getpid() ^
                               (unsigned long long)(fxu_wallclock() * 1e6);
        memcpy(r, &v, sizeof(r));
    }
    for (size_t i = 0; i < sizeof(r); i++)
        snprintf(nonce + 2 * i, 3, "%02x", r[i]);
}

char *
fx_attach_placeholder(size_t mi, size_t ai, char kind)
{
    pthread_once(&nonce_once, make_nonce);
    return fxu_asprintf("\x01"
                        "fxatt:%zu:%zu:%c:%s\x01",
                        mi, ai, kind, nonce);
}

/* One placeholder found in the body. */
struct spot {
    size_t at, len;  /* where it is in the body, its printed length */
    size_t mi, ai;   /* whose bytes */
    char kind;       /* 'b' base64, 't' JSON text */
    fxu_buf fetched; /* bytes of a URL or the escaped text, else empty */
    long long size;  /* bytes the spot becomes */
};

static size_t
b64_len(long long n)
{
    return (size_t)((n + 2) / 3 * 4);
}

static const char b64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* n bytes (a multiple of 3 unless last) as base64 at out; its length. */
static size_t
b64_encode(const unsigned char *in, size_t n, char *out)
{
    size_t o = 0, i = 0;
    for (; i + 2 < n; i += 3) {
        unsigned v =
            (unsigned)in[i] << 16 | (unsigned)in[i + 1] << 8 | in[i + 2];
        out[o++] = b64[v >> 18];
        out[o++] = b64[(v >> 12) & 63];
        out[o++] = b64[(v >> 6) & 63];
        out[o++] = b64[v & 63];
    }
    if (i < n) {
        unsigned v = (unsigned)in[i] << 16;
        if (i + 1 < n)
            v |= (unsigned)in[i + 1] << 8;
        out[o++] = b64[v >> 18];
        out[o++] = b64[(v >> 12) & 63];
        out[o++] = i + 1 < n ? b64[(v >> 6) & 63] : '=';
        out[o++] = '=';
    }
    return o;
}

/* Text as the inside of a JSON string. */
static void
json_escape(fxu_buf *b, const unsigned char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = s[i];
        if (c == '"' || c == '\\') {
            fxu_buf_putc(b, '\\');
            fxu_buf_putc(b, (char)c);
        } else if (c == '\n') {
            fxu_buf_puts(b, "\\n");
        } else if (c == '\t') {
            fxu_buf_puts(b, "\\t");
        } else if (c == '\r') {
            fxu_buf_puts(b, "\\r");
        } else if (c < 0x20 || c == 0x7f) {
            fxu_buf_printf(b, "\\u%04x", c);
        } else {
            fxu_buf_putc(b, (char)c);
        }
    }
}

/* Parse "MI:AI:K:NONCE\u0001" after MARK at p; its length with MARK. */
static int
parse_spot(const char *p, struct spot *s)
{
    char k = 0, n[17] = {0};
    int used = 0;
    if (sscanf(p + strlen(MARK), "%zu:%zu:%c:%16[0-9a-f]%n", &s->mi, &s->ai, &k,
               n, &used) != 4)
        return -1;
    const char *end = p + strlen(MARK) + used;
    if (strcmp(n, nonce) != 0 || strncmp(end, "\\u0001", 6) != 0 ||
        (k != 'b' && k != 't'))
        return -1;
    s->kind = k;
    s->len = (size_t)(end + 6 - p);
    return 0;
}

static int
read_file(const char *path, fxu_buf *out, char **err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fx_set_err(err, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    char piece[65536];
    ssize_t got;
    while ((got = read(fd, piece, sizeof(piece))) > 0)
        fxu_buf_append(out, piece, (size_t)got);
    int e = errno;
    close(fd);
    if (got < 0) {
        fx_set_err(err, "cannot read %s: %s", path, strerror(e));
        return -1;
    }
    return 0;
}

/* What the spot becomes, measured (files: stat; text and URLs: read). */
static int
measure(struct spot *s, const flexiai_attachment *a, char **err)
{
    fxu_buf raw;
    fxu_buf_init(&raw);
    if (a->url) {
        if (fx_attach_fetch(a->url, fx_attach_fetch_max(), &raw, NULL, err) !=
            0)
            return -1;
    } else if (s->kind == 't' && a->path) {
        if (read_file(a->path, &raw, err) != 0) {
            fxu_buf_free(&raw);
            return -1;
        }
    } else if (a->path) {
        struct stat st;
        if (stat(a->path, &st) != 0) {
            fx_set_err(err, "cannot read %s: %s", a->path, strerror(errno));
            return -1;
        }
        s->size = (long long)b64_len((long long)st.st_size);
        return 0;
    }
    const unsigned char *bytes =
        a->data && !a->url ? a->data : (const unsigned char *)raw.data;
    size_t n = a->data && !a->url ? a->len : raw.len;
    if (s->kind == 't') {
        json_escape(&s->fetched, bytes ? bytes : (const unsigned char *)"", n);
        s->size = (long long)s->fetched.len;
    } else if (a->url) {
        s->fetched = raw; /* encoded in place later */
        fxu_buf_init(&raw);
        s->size = (long long)b64_len((long long)n);
    } else {
        s->size = (long long)b64_len((long long)n);
    }
    fxu_buf_free(&raw);
    return 0;
}

/* A file's base64 straight into out (exactly `room` bytes). */
static int
encode_file(const char *path, char *out, size_t room, char **err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fx_set_err(err, "cannot read %s: %s", path, strerror(errno));
        return -1;
    }
    /* a multiple of 3: every piece but the last encodes without padding */
    static const size_t piece_size = 3 * 16384;
    unsigned char *piece = fxu_xmalloc(piece_size);
    size_t o = 0, have = 0;
    ssize_t got = 0;
    for (;;) {
        got = read(fd, piece + have, piece_size - have);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            break;
        have += (size_t)got;
        if (have < piece_size && got > 0)
            continue;
        if (o + b64_len((long long)have) > room) {
            got = -2;
            break;
        }
        o += b64_encode(piece, have, out + o);
        have = 0;
        if (got == 0)
            break;
    }
    int e = errno;
    free(piece);
    close(fd);
    if (got < 0 || o != room) {
        fx_set_err(err, "cannot read %s: %s", path,
                   got == -1 ? strerror(e) : "it changed while being sent");
        return -1;
    }
    return 0;
}

static const flexiai_attachment *
spot_attachment(const struct spot *s, const flexiai_message *msgs, size_t n)
{
    if (s->mi >= n || s->ai >= msgs[s->mi].nattachments)
        return NULL;
    return &msgs[s->mi].attachments[s->ai];
}

static void
spots_free(struct spot *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        fxu_buf_free(&v[i].fetched);
    free(v);
}

int
fx_attach_splice(char **body, const flexiai_message *msgs, size_t n, char **err)
{
    if (*body == NULL || strstr(*body, MARK) == NULL)
        return 0;
    pthread_once(&nonce_once, make_nonce);
    struct spot *v = NULL;
    size_t nv = 0, cap = 0, total = strlen(*body);
    for (const char *p = strstr(*body, MARK); p; p = strstr(p + 1, MARK)) {
        struct spot s;
        memset(&s, 0, sizeof(s));
        fxu_buf_init(&s.fetched);
        if (parse_spot(p, &s) != 0)
            continue; /* the user's own text */
        const flexiai_attachment *a = spot_attachment(&s, msgs, n);
        if (a == NULL)
            continue;
        s.at = (size_t)(p - *body);
        if (measure(&s, a, err) != 0) {
            fxu_buf_free(&s.fetched);
            spots_free(v, nv);
            return -1;
        }
        if (nv == cap) {
            cap = cap ? cap * 2 : 4;
            v = fxu_xrealloc(v, cap * sizeof(*v));
        }
        v[nv++] = s;
        total = total - s.len + (size_t)s.size;
    }
    char *out = fxu_xmalloc(total + 1);
    size_t o = 0, from = 0;
    int rc = 0;
    for (size_t i = 0; i < nv && rc == 0; i++) {
        const flexiai_attachment *a = spot_attachment(&v[i], msgs, n);
        memcpy(out + o, *body + from, v[i].at - from);
        o += v[i].at - from;
        if (v[i].kind == 't')
            memcpy(out + o, v[i].fetched.data, v[i].fetched.len);
        else if (a->url)
            b64_encode((const unsigned char *)v[i].fetched.data,
                       v[i].fetched.len, out + o);
        else if (a->path)
            rc = encode_file(a->path, out + o, (size_t)v[i].size, err);
        else
            b64_encode(a->data, a->len, out + o);
        o += (size_t)v[i].size;
        from = v[i].at + v[i].len;
    }
    spots_free(v, nv);
    if (rc != 0) {
        free(out);
        return -1;
    }
    memcpy(out + o, *body + from, strlen(*body + from) + 1);
    free(*body);
    *body = out;
    return 0;
}
