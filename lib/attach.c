/*
 * attach.c - what an attachment is before it is sent: its type from its
 * content (libmagic) or its name, its kind (text, image, pdf), and the
 * checks a command runs before any traffic (flexiai_attachment_check():
 * readable, not too large, a type flexiai sends, its SHA-256).  An
 * unchanged file is hashed and typed once per process.
 */
#include "config.h"

#include "attach.h"
#include "conf/conf.h"
#include "fx.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

/* Bytes libmagic looks at: every type flexiai sends says what it is in
 * its first few hundred bytes. */
#define SNIFF_BYTES 65536

/* Files hashed (and typed) before in this process, by what fstat says of
 * them: the same device, inode, size, modification and change times are
 * the same bytes, not read again for their SHA-256 or type (the check,
 * then each record's description; a batch that sends one file with many
 * items).  Each request still reads the file into its body. */
#define MEMO_SIZE 32

static struct memo {
    struct stat st; /* what identifies the bytes (same_file()) */
    char sha256[65];
    char mime[96]; /* what libmagic said; "" not asked yet */
} memo[MEMO_SIZE];
static size_t memo_used, memo_next;
static pthread_mutex_t memo_lock = PTHREAD_MUTEX_INITIALIZER;

static int
same_file(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino &&
           a->st_size == b->st_size && a->st_mtim.tv_sec == b->st_mtim.tv_sec &&
           a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
           a->st_ctim.tv_sec == b->st_ctim.tv_sec &&
           a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

static int
memo_find(const struct stat *st, flexiai_attachment_info *info)
{
    int found = 0;
    pthread_mutex_lock(&memo_lock);
    for (size_t i = 0; i < memo_used && !found; i++)
        if (same_file(&memo[i].st, st)) {
            memcpy(info->sha256, memo[i].sha256, sizeof(info->sha256));
            info->size = (long long)st->st_size;
            found = 1;
        }
    pthread_mutex_unlock(&memo_lock);
    return found;
}

static void
memo_keep(const struct stat *st, const flexiai_attachment_info *info)
{
    pthread_mutex_lock(&memo_lock);
    struct memo *m = &memo[memo_next];
    memo_next = (memo_next + 1) % MEMO_SIZE;
    if (memo_used < MEMO_SIZE)
        memo_used++;
    m->st = *st;
    memcpy(m->sha256, info->sha256, sizeof(m->sha256));
    m->mime[0] = '\0';
    pthread_mutex_unlock(&memo_lock);
}

/* The type libmagic gave this same file before (1), or 0. */
static int
memo_mime(const struct stat *st, char *mime, size_t size)
{
    int found = 0;
    pthread_mutex_lock(&memo_lock);
    for (size_t i = 0; i < memo_used && !found; i++)
        if (memo[i].mime[0] && same_file(&memo[i].st, st)) {
            snprintf(mime, size, "%s", memo[i].mime);
            found = 1;
        }
    pthread_mutex_unlock(&memo_lock);
    return found;
}

/* Keep a file's type with its hash (a file not hashed: not kept). */
static void
memo_mime_keep(const struct stat *st, const char *mime)
{
    pthread_mutex_lock(&memo_lock);
    for (size_t i = 0; i < memo_used; i++)
        if (same_file(&memo[i].st, st))
            snprintf(memo[i].mime, sizeof(memo[i].mime), "%s", mime);
    pthread_mutex_unlock(&memo_lock);
}

int
fx_attach_kind(const char *mime)
{
    static const char *const images[] = {"image/png", "image/jpeg", "image/gif",
                                         "image/webp", NULL};
    /* text by another name: sent as text like text/plain */
    static const char *const texts[] = {
        "application/json",     "application/xml",
        "application/x-ndjson", "application/javascript",
        "application/x-yaml",   "application/yaml",
        "application/x-sh",     "application/x-shellscript",
        "inode/x-empty",        NULL};
    if (mime == NULL)
        return 0;
    for (size_t i = 0; images[i]; i++)
        if (strcasecmp(mime, images[i]) == 0)
            return FX_KIND_IMAGE;
    if (strcasecmp(mime, "application/pdf") == 0)
        return FX_KIND_PDF;
    if (strncasecmp(mime, "text/", 5) == 0)
        return FX_KIND_TEXT;
    for (size_t i = 0; texts[i]; i++)
        if (strcasecmp(mime, texts[i]) == 0)
            return FX_KIND_TEXT;
    return 0;
}

const char *
fx_attach_kind_names(unsigned kinds)
{
    static const char *const names[8] = {
        "nothing", "text",      "image",      "text, image",
        "pdf",     "text, pdf", "image, pdf", "text, image, pdf"};
    return names[kinds & FX_KIND_ALL];
}

int
fx_attach_parse_kinds(const char *list, char **bad)
{
    int kinds = 0;
    char *copy = fxu_strdup(list ? list : "");
    char *save = NULL;
    for (char *w = strtok_r(copy, ", \t", &save); w;
         w = strtok_r(NULL, ", \t", &save)) {
        if (strcasecmp(w, "text") == 0)
            kinds |= FX_KIND_TEXT;
        else if (strcasecmp(w, "image") == 0)
            kinds |= FX_KIND_IMAGE;
        else if (strcasecmp(w, "pdf") == 0)
            kinds |= FX_KIND_PDF;
        else {
            if (bad)
                *bad = fxu_strdup(w);
            free(copy);
            return -1;
        }
    }
    free(copy);
    return kinds;
}

const char *
fx_attach_name(const flexiai_attachment *a)
{
    if (a->name && *a->name)
        return a->name;
    const char *src = a->path ? a->path : a->url;
    if (src == NULL)
        return "stdin";
    /* the last segment ("a/b.png": b.png); a URL's may keep its query */
    const char *slash = strrchr(src, '/');
    const char *base = slash && slash[1] ? slash + 1 : src;
    return base;
}

/* The type of bytes, as libmagic says it ("application/octet-stream" when
 * it cannot tell). */
static int
sniff(const void *data, size_t len, char *mime, size_t size, char **err)
{
    return fx_attach_magic(data, len, mime, size, err);
}

/* A URL's type from its name: the extensions of the types sent. */
static int
mime_from_name(const char *url, char *mime, size_t size)
{
    static const char *const ext[][2] = {
        {".png", "image/png"},   {".jpg", "image/jpeg"},
        {".jpeg", "image/jpeg"}, {".gif", "image/gif"},
        {".webp", "image/webp"}, {".pdf", "application/pdf"},
        {".txt", "text/plain"},  {".md", "text/markdown"},
        {".csv", "text/csv"},    {".json", "application/json"},
        {".html", "text/html"},  {NULL, NULL}};
    size_t n = strcspn(url, "?#");
    for (size_t i = 0; ext[i][0]; i++) {
        size_t e = strlen(ext[i][0]);
        if (n > e && strncasecmp(url + n - e, ext[i][0], e) == 0) {
            snprintf(mime, size, "%s", ext[i][1]);
            return 0;
        }
    }
    return -1;
}

int
fx_attach_mime(const flexiai_attachment *a, char *mime, size_t size, char **err)
{
    if (a->mime && *a->mime) {
        snprintf(mime, size, "%s", a->mime);
        return 0;
    }
    if (a->url) {
        if (mime_from_name(a->url, mime, size) == 0)
            return 0;
        fx_set_err(err,
                   "%s: cannot tell the type from the name (give "
                   "--attach-type)",
                   a->url);
        return -1;
    }
    if (a->data)
        return sniff(a->data, a->len < SNIFF_BYTES ? a->len : SNIFF_BYTES, mime,
                     size, err);
    int fd = open(a->path ? a->path : "", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fx_set_err(err, "cannot read %s: %s", a->path ? a->path : "",
                   strerror(errno));
        return -1;
    }
    struct stat st;
    int known = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    if (known && memo_mime(&st, mime, size)) {
        close(fd);
        return 0;
    }
    char *head = fxu_xmalloc(SNIFF_BYTES);
    ssize_t got = read(fd, head, SNIFF_BYTES);
    close(fd);
    int rc = got < 0 ? -1 : sniff(head, (size_t)got, mime, size, err);
    if (got < 0)
        fx_set_err(err, "cannot read %s: %s", a->path, strerror(errno));
    else if (rc == 0 && known)
        memo_mime_keep(&st, mime);
    free(head);
    return rc;
}

unsigned
fx_attach_needs(const flexiai_message *msgs, size_t n)
{
    unsigned kinds = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < msgs[i].nattachments; k++) {
            char mime[96];
            char *err = NULL;
            if (fx_attach_mime(&msgs[i].attachments[k], mime, sizeof(mime),
                               &err) == 0)
                kinds |= (unsigned)fx_attach_kind(mime);
            free(err);
        }
    return kinds;
}

/* ---- the check before traffic --------------------------------------- */

static long long
max_bytes(const flexiai_config *cfg)
{
    const char *v =
        cfg ? fx_config_value(cfg, "defaults", "max_attachment_bytes") : NULL;
    if (v == NULL)
        v = fx_config_default("defaults", "max_attachment_bytes");
    long long n = v ? atoll(v) : 0;
    return n > 0 ? n : 52428800;
}

long long
fx_attach_fetch_max(void)
{
    return max_bytes(NULL);
}

static void
hex(const unsigned char *md, unsigned n, char *out)
{
    for (unsigned i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static int hash_read(int fd, flexiai_attachment_info *info);

/* SHA-256 and size of the open file fd: from the memo when this same file
 * was hashed before, else read in pieces. */
static int
hash_fd(int fd, flexiai_attachment_info *info)
{
    struct stat before, after;
    int known = fstat(fd, &before) == 0 && S_ISREG(before.st_mode);
    if (known && memo_find(&before, info))
        return 0;
    if (hash_read(fd, info) != 0)
        return -1;
    /* kept only when the file did not change while it was read */
    if (known && fstat(fd, &after) == 0 && after.st_size == info->size &&
        same_file(&before, &after))
        memo_keep(&before, info);
    return 0;
}

/* SHA-256 and size of the open file fd, read in pieces. */
static int
hash_read(int fd, flexiai_attachment_info *info)
{
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    char *piece = fxu_xmalloc(SNIFF_BYTES);
    long long total = 0;
    ssize_t got = 0;
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    while ((got = read(fd, piece, SNIFF_BYTES)) > 0) {
        EVP_DigestUpdate(ctx, piece, (size_t)got);
        total += got;
    }
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    free(piece);
    if (got < 0)
        return -1;
    hex(md, mdlen, info->sha256);
    info->size = total;
    return 0;
}

static char *
size_words(long long n)
{
    if (n >= 1048576)
        return fxu_asprintf("%.1f MiB", (double)n / 1048576.0);
    if (n >= 1024)
        return fxu_asprintf("%.1f KiB", (double)n / 1024.0);
    return fxu_asprintf("%lld bytes", n);
}

static flexiai_code
too_large(const char *name, long long size, long long max, char **errmsg)
{
    char *have = size_words(size), *lim = size_words(max);
    fx_set_err(errmsg,
               "%s: %s is more than max_attachment_bytes (%s; [defaults] "
               "max_attachment_bytes)",
               name, have, lim);
    free(have);
    free(lim);
    return FLEXIAI_EDATA;
}

static flexiai_code
check_type(const char *name, const char *mime, char **errmsg)
{
    if (fx_attach_kind(mime))
        return FLEXIAI_OK;
    fx_set_err(errmsg,
               "%s: type %s is not sent (images PNG, JPEG, GIF, WebP; PDF; "
               "text; --attach-type sets it)",
               name, mime);
    return FLEXIAI_EDATA;
}

static flexiai_code
check_url(const flexiai_attachment *a, flexiai_attachment_info *info,
          char **errmsg)
{
    if (strncasecmp(a->url, "http://", 7) != 0 &&
        strncasecmp(a->url, "https://", 8) != 0) {
        fx_set_err(errmsg, "%s: only http and https URLs are fetched", a->url);
        return FLEXIAI_EDATA;
    }
    if (fx_attach_mime(a, info->mime, sizeof(info->mime), errmsg) != 0)
        return FLEXIAI_EDATA;
    return check_type(a->url, info->mime, errmsg);
}

static flexiai_code
check_file(const flexiai_attachment *a, long long max,
           flexiai_attachment_info *info, char **errmsg)
{
    struct stat st;
    int fd = open(a->path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        fx_set_err(errmsg, "cannot read %s: %s", a->path, strerror(errno));
        return FLEXIAI_ENOINPUT;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        fx_set_err(errmsg, "cannot read %s: %s", a->path,
                   S_ISDIR(st.st_mode) ? "Is a directory"
                                       : "not a regular file");
        close(fd);
        return FLEXIAI_ENOINPUT;
    }
    if ((long long)st.st_size > max) {
        close(fd);
        return too_large(a->path, (long long)st.st_size, max, errmsg);
    }
    if (hash_fd(fd, info) != 0) {
        fx_set_err(errmsg, "cannot read %s: %s", a->path, strerror(errno));
        close(fd);
        return FLEXIAI_ENOINPUT;
    }
    close(fd);
    if (fx_attach_mime(a, info->mime, sizeof(info->mime), errmsg) != 0)
        return FLEXIAI_ENOINPUT;
    return check_type(a->path, info->mime, errmsg);
}

flexiai_code
flexiai_attachment_check(const flexiai_config *cfg, const flexiai_attachment *a,
                         flexiai_attachment_info *info, char **errmsg)
{
    memset(info, 0, sizeof(*info));
    info->size = -1;
    if (a == NULL ||
        (a->path != NULL) + (a->url != NULL) + (a->data != NULL) != 1) {
        fx_set_err(errmsg, "an attachment needs exactly one of a file, a "
                           "URL or bytes");
        return FLEXIAI_EUSAGE;
    }
    long long max = max_bytes(cfg);
    if (a->url)
        return check_url(a, info, errmsg);
    if (a->path)
        return check_file(a, max, info, errmsg);
    const char *name = fx_attach_name(a);
    if ((long long)a->len > max)
        return too_large(name, (long long)a->len, max, errmsg);
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    EVP_Digest(a->data, a->len, md, &mdlen, EVP_sha256(), NULL);
    hex(md, mdlen, info->sha256);
    info->size = (long long)a->len;
    if (fx_attach_mime(a, info->mime, sizeof(info->mime), errmsg) != 0)
        return FLEXIAI_EDATA;
    return check_type(name, info->mime, errmsg);
}

int
fx_attach_describe(const flexiai_attachment *a, flexiai_attachment_info *info)
{
    char *err = NULL;
    memset(info, 0, sizeof(*info));
    info->size = -1;
    if (fx_attach_mime(a, info->mime, sizeof(info->mime), &err) != 0)
        snprintf(info->mime, sizeof(info->mime), "unknown");
    free(err);
    if (a->url)
        return 0;
    if (a->data) {
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned mdlen = 0;
        EVP_Digest(a->data, a->len, md, &mdlen, EVP_sha256(), NULL);
        hex(md, mdlen, info->sha256);
        info->size = (long long)a->len;
        return 0;
    }
    int fd = open(a->path ? a->path : "", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = hash_fd(fd, info);
    close(fd);
    return rc;
}
