/*
 * ledger-import.c - moving the spool's records (ledger-spool.c) into the
 * database, which every reader does first.  Within one write transaction
 * (which also makes importers take turns): the spool is renamed to
 * <spool>.TOKEN under its lock, its lines are inserted, and TOKEN is noted
 * in meta (spool_done) before the commit; the file is deleted after it.
 * A crash before the commit leaves the renamed file to the next import, a
 * crash after it leaves a file whose token says it is done: no record is
 * lost or imported twice.  A damaged line (a crash mid-write) is not
 * imported: it is appended to <ledger>.spool.damaged and counted.
 */
#include "config.h"

#include "ledger-int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define TOKEN_LEN 16

/* "<spool>.<16 hex>": a renamed spool waiting or done */
static int
is_taken(const char *name, const char *base)
{
    size_t n = strlen(base);
    if (strncmp(name, base, n) != 0 || name[n] != '.' ||
        strlen(name + n + 1) != TOKEN_LEN)
        return 0;
    for (const char *p = name + n + 1; *p; p++)
        if (!strchr("0123456789abcdef", *p))
            return 0;
    return 1;
}

/* Call fn for each renamed spool beside sp (full path, its token). */
static int
each_taken(const char *sp, int (*fn)(void *, const char *, const char *),
           void *ud)
{
    char *dir = fxu_strdup(sp);
    char *slash = strrchr(dir, '/');
    const char *base = slash ? slash + 1 : sp;
    if (slash)
        *slash = '\0';
    DIR *d = opendir(slash ? (*dir ? dir : "/") : ".");
    int rc = 0;
    struct dirent *e;
    while (rc == 0 && d && (e = readdir(d)) != NULL)
        if (is_taken(e->d_name, base)) {
            char *p = fxu_asprintf("%s.%s", sp, e->d_name + strlen(base) + 1);
            rc = fn(ud, p, e->d_name + strlen(base) + 1);
            free(p);
        }
    if (d)
        closedir(d);
    free(dir);
    return rc;
}

static int
found(void *ud, const char *path, const char *token)
{
    (void)ud, (void)path, (void)token;
    return 1;
}

int
fx_ledger_spool_pending(const char *dbpath)
{
    char *sp = fx_ledger_spool_path(dbpath);
    int pending = access(sp, F_OK) == 0 || each_taken(sp, found, NULL) != 0;
    free(sp);
    return pending;
}

struct import {
    fx_ledger *l;
    char *sp;
    char *done;  /* meta spool_done before: tokens committed */
    fxu_buf now; /* tokens imported in this transaction */
    long imported, damaged;
};

static void
set_aside(struct import *im, const char *p, size_t n)
{
    char *path = fxu_asprintf("%s.damaged", im->sp);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
    if (fd >= 0) {
        if (write(fd, p, n) < 0 || write(fd, "\n", 1) < 0) {
            /* counted all the same */
        }
        close(fd);
    }
    free(path);
    im->damaged++;
}

static int
read_file(const char *path, fxu_buf *b)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -1;
    char chunk[65536];
    ssize_t n;
    while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            close(fd);
            return -1;
        }
        fxu_buf_append(b, chunk, (size_t)n);
    }
    close(fd);
    return 0;
}

/* Insert every line of the file at path; 0 or -1 (database error). */
static int
import_file(void *ud, const char *path, const char *token)
{
    struct import *im = ud;
    if (im->now.len)
        fxu_buf_putc(&im->now, ' ');
    fxu_buf_puts(&im->now, token);
    /* committed by an import that crashed before its unlink: still done */
    if (im->done && strstr(im->done, token))
        return 0;
    fxu_buf file;
    fxu_buf_init(&file);
    if (read_file(path, &file) != 0) {
        fxu_buf_free(&file);
        return fx_ledger_fail(im->l, "%s: %s", path, strerror(errno));
    }
    char *data = file.data;
    size_t len = file.len;
    int rc = 0;
    for (char *p = data, *end = data + len; rc == 0 && p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        struct fx_ledger_record rec;
        int mode;
        if (n == 0) {
            /* blank */
        } else if (nl == NULL || fx_ledger_spool_parse(p, n, &rec, &mode)) {
            set_aside(im, p, n);
        } else {
            rc = fx_ledger_insert(im->l, &rec, mode);
            fx_ledger_record_free(&rec);
            im->imported += rc == 0;
        }
        p += n + 1;
    }
    fxu_buf_free(&file);
    return rc;
}

static int
unlink_done(void *ud, const char *path, const char *token)
{
    struct import *im = ud;
    if (im->now.data && strstr(im->now.data, token))
        unlink(path);
    return 0;
}

/* Rename the live spool to <spool>.TOKEN under its lock.  0 (nothing to
 * take is fine) or -1. */
static int
take_spool(struct import *im)
{
    int fd = open(im->sp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return errno == ENOENT
                   ? 0
                   : fx_ledger_fail(im->l, "%s: %s", im->sp, strerror(errno));
    while (flock(fd, LOCK_EX) < 0 && errno == EINTR)
        ;
    char *token = fx_ledger_new_cid();
    char *to = fxu_asprintf("%s.%s", im->sp, token);
    int rc = rename(im->sp, to) == 0
                 ? 0
                 : fx_ledger_fail(im->l, "%s: %s", im->sp, strerror(errno));
    close(fd);
    free(to);
    free(token);
    return rc;
}

static char *
meta_done(fx_ledger *l)
{
    sqlite3_stmt *st =
        fx_ledger_prepare(l, "SELECT value FROM meta WHERE key = 'spool_done'");
    char *v = NULL;
    if (st && fx_ledger_step(l, st) == SQLITE_ROW)
        v = fxu_strdup((const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    return v;
}

long
fx_ledger_import(fx_ledger *l, const char *dbpath, double keep_seconds,
                 long *damaged)
{
    *damaged = 0;
    if (!fx_ledger_spool_pending(dbpath))
        return fx_ledger_autoprune(l, keep_seconds, fxu_wallclock()) < 0 ? -1
                                                                         : 0;
    struct import im = {.l = l, .sp = fx_ledger_spool_path(dbpath)};
    fxu_buf_init(&im.now);
    long rc = -1;
    if (fx_ledger_begin(l) < 0)
        goto out;
    im.done = meta_done(l);
    if (take_spool(&im) < 0 || each_taken(im.sp, import_file, &im) != 0)
        goto fail;
    sqlite3_stmt *st = fx_ledger_prepare(
        l, "INSERT OR REPLACE INTO meta(key, value) VALUES ('spool_done', ?)");
    if (st == NULL)
        goto fail;
    sqlite3_bind_text(st, 1, im.now.data ? im.now.data : "", -1,
                      SQLITE_TRANSIENT);
    int src = fx_ledger_step(l, st);
    sqlite3_finalize(st);
    if (src != SQLITE_DONE || fx_ledger_commit(l) < 0)
        goto out;
    each_taken(im.sp, unlink_done, &im);
    rc = im.imported;
    *damaged = im.damaged;
    if (fx_ledger_autoprune(l, keep_seconds, fxu_wallclock()) < 0)
        rc = -1;
    goto out;
fail:
    fx_ledger_rollback(l);
out:
    free(im.sp);
    free(im.done);
    fxu_buf_free(&im.now);
    return rc;
}
