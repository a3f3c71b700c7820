/*
 * store-file.c - breaker state documents in locked files, shared by every
 * flexiai process on one host.
 *
 * Layout under {state_dir}/breakers/ (created 0700 as needed):
 *
 *   {provider}.json    the state document (fx_breaker_doc_to_json)
 *   {provider}.lock    lock file, never renamed or removed, so an fcntl
 *                      lock on it means the same thing to every process
 *   {provider}.limit   rpm/tpm counts (ratelimit.c), under the same lock
 *
 * An update takes an exclusive lock on the .lock file, reads the document,
 * applies the operation, writes the result to {provider}.json.tmp.{pid}
 * and renames it over the document.  Readers (load) take no lock: rename
 * is atomic, so they see the old or the new document, never half of one.
 *
 * No fsync: an update must cost well under a millisecond and runs on every
 * failure, probe and recovery.  Without it a power cut can lose the last
 * updates or leave an empty document; an empty or malformed document reads
 * as a closed breaker, which is the safe default (at worst a dead provider
 * gets a few more requests until it opens again).  A process crash cannot
 * tear a document, since the rename happens after the data is written.
 */
#include "config.h"

#include "conf/conf.h"
#include "fx.h"
#include "ratelimit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

/* Documents are a few hundred bytes; anything far larger is not ours. */
#define MAX_DOC_SIZE (1024 * 1024)

struct fx_store {
    char *dir;     /* {state_dir}/breakers */
    char *refused; /* why dir is not trusted; NULL: it is */
};

/* Whether a directory may hold our state: a real directory (no symlink),
 * ours, writable by nobody else.  NULL, or why not. */
static char *
untrusted_dir(const char *dir)
{
    struct stat sb;
    if (lstat(dir, &sb) != 0)
        return NULL; /* absent: created 0700 when first written */
    if (S_ISLNK(sb.st_mode))
        return fxu_asprintf("state directory %s is a symbolic link", dir);
    if (!S_ISDIR(sb.st_mode))
        return fxu_asprintf("state directory %s is not a directory", dir);
    if (sb.st_uid != getuid())
        return fxu_asprintf("state directory %s belongs to another user", dir);
    if (sb.st_mode & (S_IWGRP | S_IWOTH))
        return fxu_asprintf("state directory %s is writable by group or "
                            "others",
                            dir);
    return NULL;
}

/* Provider names become file names: no directories, no hidden files. */
static int
valid_name(const char *name)
{
    return name && *name && *name != '.' && strchr(name, '/') == NULL;
}

/*
 * Read the whole file into *out (NUL-terminated).  0 ok, -1 with errno.
 */
static int
read_file(const char *path, char **out, size_t *outlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0)
        return -1;
    struct stat sb;
    if (fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
        close(fd); /* a FIFO or device in our directory is not a document */
        errno = EINVAL;
        return -1;
    }

    fxu_buf b;
    fxu_buf_init(&b);
    char chunk[4096];
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || b.len + (size_t)n > MAX_DOC_SIZE) {
            int saved = n < 0 ? errno : EFBIG;
            fxu_buf_free(&b);
            close(fd);
            errno = saved;
            return -1;
        }
        if (n == 0)
            break;
        fxu_buf_append(&b, chunk, (size_t)n);
    }
    close(fd);
    *outlen = b.len;
    *out = fxu_buf_steal(&b);
    return 0;
}

enum { DOC_OK = 0, DOC_MISSING, DOC_MALFORMED, DOC_UNREADABLE };

/* Read one document; anything but DOC_OK leaves the closed default. */
static int
read_doc(const char *path, struct fx_breaker_doc *d)
{
    char *text;
    size_t len;

    fx_breaker_doc_init(d);
    if (read_file(path, &text, &len) < 0)
        return (errno == ENOENT || errno == ENOTDIR) ? DOC_MISSING
                                                     : DOC_UNREADABLE;
    int rc =
        fx_breaker_doc_from_json(text, len, d) < 0 ? DOC_MALFORMED : DOC_OK;
    free(text);
    return rc;
}

/* Write text to tmp, then rename it over path.  -1 with errno; the
 * temporary file is gone either way. */
static int
replace_file(const char *tmp, const char *path, const char *text)
{
    int fd =
        open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -1;
    int rc = fxu_write_all(fd, text, strlen(text));
    int saved = errno;
    if (close(fd) < 0 && rc == 0) {
        rc = -1;
        saved = errno;
    }
    if (rc == 0 && rename(tmp, path) < 0) {
        rc = -1;
        saved = errno;
    }
    if (rc < 0) {
        unlink(tmp);
        errno = saved;
    }
    return rc;
}

/* Exclusive lock for the whole file, waiting for other writers.  Open file
 * description locks also exclude other threads of this process; classic
 * POSIX locks are the fallback on kernels without them. */
static int
lock_file(int fd)
{
    struct flock fl;
    memset(&fl, 0, sizeof(fl));
    fl.l_type = F_WRLCK;
    fl.l_whence = SEEK_SET;
#ifdef F_OFD_SETLKW
    for (;;) {
        if (fcntl(fd, F_OFD_SETLKW, &fl) == 0)
            return 0;
        if (errno != EINTR)
            break;
    }
    if (errno != EINVAL)
        return -1;
#endif
    for (;;) {
        if (fcntl(fd, F_SETLKW, &fl) == 0)
            return 0;
        if (errno != EINTR)
            return -1;
    }
}

/* Open (creating it and the directory as needed) and lock the lock file.
 * Returns the descriptor, or -1 with errno. */
static int
open_locked(const struct fx_store *st, const char *lockpath)
{
    int flags = O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK;
    int fd = open(lockpath, flags, 0600);
    if (fd < 0 && errno == ENOENT) {
        /* the directory is created lazily: a read-only state dir at
         * open time must not fail requests, and it may be fixed later */
        if (fxu_make_dirs(st->dir) < 0)
            return -1;
        fd = open(lockpath, flags, 0600);
    }
    if (fd < 0)
        return -1;
    if (lock_file(fd) < 0) {
        int saved = errno;
        close(fd);
        errno = saved;
        return -1;
    }
    return fd;
}

static int
file_open(struct fx_store **out, const struct fx_settings *s, char **err)
{
    *out = NULL;
    if (s == NULL || s->sync.state_dir == NULL || !*s->sync.state_dir) {
        if (err)
            *err = fxu_strdup("no state directory for breaker state");
        return -1;
    }
    struct fx_store *st = fxu_xcalloc(1, sizeof(*st));
    st->dir = fxu_asprintf("%s/breakers", s->sync.state_dir);
    /* the state directory itself, then breakers/ (for /tmp/flexiai-UID
     * both may exist already, made by someone else) */
    char *fallback = fxu_asprintf("/tmp/flexiai-%ld", (long)getuid());
    if (strcmp(s->sync.state_dir, fallback) == 0)
        st->refused = untrusted_dir(s->sync.state_dir);
    free(fallback);
    if (st->refused == NULL) {
        /* best effort; update retries and reports a real problem */
        (void)fxu_make_dirs(st->dir);
        st->refused = untrusted_dir(st->dir);
    }
    *out = st;
    return 0;
}

static void
file_close(struct fx_store *st)
{
    if (st == NULL)
        return;
    free(st->dir);
    free(st->refused);
    free(st);
}

/*
 * Never fails: a missing document is a closed breaker, a malformed or
 * unreadable one (or an impossible provider name) is a closed breaker
 * flagged in bad[i].
 */
static int
file_load(struct fx_store *st, const char *const *providers, size_t n,
          struct fx_breaker_doc *docs, int *bad, char **err)
{
    if (st->refused) {
        for (size_t i = 0; i < n; i++) {
            fx_breaker_doc_init(&docs[i]);
            if (bad)
                bad[i] = 0;
        }
        if (err)
            *err = fxu_asprintf("%s: breaker state not used", st->refused);
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        int is_bad;
        if (!valid_name(providers[i])) {
            fx_breaker_doc_init(&docs[i]);
            is_bad = 1;
        } else {
            char *path = fxu_asprintf("%s/%s.json", st->dir, providers[i]);
            int status = read_doc(path, &docs[i]);
            is_bad = status == DOC_MALFORMED || status == DOC_UNREADABLE;
            free(path);
        }
        if (bad)
            bad[i] = is_bad;
    }
    return 0;
}

/* Lock, read, apply, write back.  See file_update. */
static int
update_doc(struct fx_store *st, const char *provider,
           const struct fx_breaker_op *op, struct fx_breaker_doc *doc,
           int *event, int *admit, char **err)
{
    char *path = fxu_asprintf("%s/%s.json", st->dir, provider);
    char *lockpath = fxu_asprintf("%s/%s.lock", st->dir, provider);
    int fd = open_locked(st, lockpath);
    int lock_errno = errno;
    int changed = 0, rc = 0;

    /* Without the lock, still read and apply so the caller gets a sensible
     * answer; it just cannot be recorded. */
    int status = read_doc(path, doc);
    /* absurd times from another writer are cut back before use (and the
     * repaired document is written back) */
    changed = fx_breaker_doc_clamp(doc, op);
    int applied = 0;
    *event = fx_breaker_apply(doc, op, admit, &applied);
    changed |= applied;
    if (status == DOC_MALFORMED)
        changed = 1; /* repair it now rather than on some later change */

    if (fd < 0) {
        if (err)
            *err = fxu_asprintf("cannot write breaker state %s: %s", path,
                                strerror(lock_errno));
        rc = -1;
    } else if (changed) {
        char *text = fx_breaker_doc_to_json(doc);
        char *tmp = fxu_asprintf("%s.tmp.%ld", path, (long)getpid());
        if (replace_file(tmp, path, text) < 0) {
            if (err)
                *err = fxu_asprintf("cannot write breaker state %s: %s", path,
                                    strerror(errno));
            rc = -1;
        }
        free(tmp);
        free(text);
    }
    if (fd >= 0)
        close(fd); /* releases the lock */
    free(lockpath);
    free(path);
    return rc;
}

/*
 * Returns 0, or -1 with *err when the state could not be locked or written
 * (read-only or full disk, permissions) or the provider name cannot be a
 * file name.  In every case *result, *event and *admit hold the outcome of
 * the operation applied to the document as it was read (the closed default
 * when even reading failed), so the caller can carry on with it in memory.
 */
static int
file_update(struct fx_store *st, const char *provider,
            const struct fx_breaker_op *op, struct fx_breaker_doc *result,
            int *event, int *admit, char **err)
{
    struct fx_breaker_doc doc;
    int adm = FX_ADMIT_NO, ev, rc;

    if (st->refused) {
        int changed;
        fx_breaker_doc_init(&doc);
        ev = fx_breaker_apply(&doc, op, &adm, &changed);
        if (err)
            *err = fxu_asprintf("%s: breaker state not used", st->refused);
        rc = -1;
    } else if (valid_name(provider)) {
        rc = update_doc(st, provider, op, &doc, &ev, &adm, err);
    } else {
        int changed;
        fx_breaker_doc_init(&doc);
        ev = fx_breaker_apply(&doc, op, &adm, &changed);
        if (err)
            *err = fxu_asprintf("invalid provider name for breaker state: "
                                "'%s'",
                                provider ? provider : "");
        rc = -1;
    }
    if (result)
        *result = doc;
    if (event)
        *event = ev;
    if (admit)
        *admit = adm;
    return rc;
}

/*
 * Rate limits (ratelimit.c): {provider}.limit beside the state document,
 * read, changed and replaced under the same {provider}.lock, so every
 * process on the host counts against one window.  A store that cannot be
 * locked or written grants the request (a broken store never stops
 * traffic) and says why.
 */
static int
file_limit(struct fx_store *st, const char *provider,
           const struct fx_limit_op *op, struct fx_limit_result *res,
           char **err)
{
    struct fx_limit_doc doc;
    if (!valid_name(provider)) {
        memset(res, 0, sizeof(*res));
        res->granted = 1;
        if (err)
            *err = fxu_asprintf("invalid provider name for rate limits: '%s'",
                                provider ? provider : "");
        return -1;
    }
    char *path = fxu_asprintf("%s/%s.limit", st->dir, provider);
    char *lockpath = fxu_asprintf("%s/%s.lock", st->dir, provider);
    int rc = 0, fd = open_locked(st, lockpath);
    char *text = NULL;
    size_t len = 0;
    if (fd < 0) {
        memset(res, 0, sizeof(*res));
        res->granted = 1;
        if (err)
            *err = fxu_asprintf("cannot lock rate limits %s: %s", lockpath,
                                strerror(errno));
        rc = -1;
    } else {
        if (read_file(path, &text, &len) < 0 ||
            fx_limit_doc_from_json(text, len, &doc) < 0)
            fx_limit_doc_init(&doc, op->window);
        free(text);
        fx_limit_apply(&doc, op, res);
        text = fx_limit_doc_to_json(&doc);
        char *tmp = fxu_asprintf("%s.tmp.%ld", path, (long)getpid());
        if (replace_file(tmp, path, text) < 0) {
            if (err)
                *err = fxu_asprintf("cannot write rate limits %s: %s", path,
                                    strerror(errno));
            res->granted = 1;
            rc = -1;
        }
        free(tmp);
        free(text);
        close(fd); /* releases the lock */
    }
    free(lockpath);
    free(path);
    return rc;
}

const struct fx_store_ops fx_store_file = {
    .name = "file",
    .open = file_open,
    .close = file_close,
    .load = file_load,
    .update = file_update,
    .limit = file_limit,
};
