/*
 * ledger-import.c - moving the spool's records (ledger-spool.c) into the
 * database, which every reader does first.  Within one write transaction
 * (which also makes importers take turns): the spool is renamed to
 * <spool>.TOKEN under its lock, its lines are inserted, and TOKEN is noted
 * in meta (spool_done) before the commit; the file is deleted after it.
 * A crash before the commit leaves the renamed file to the next import, a
 * crash after it leaves a file whose token says it is done: no record is
 * lost or imported twice.  A damaged line (a crash mid-write), one too
 * long to read (FX_LEDGER_LINE_MAX) and a record SQLite refuses (too big)
 * are not imported: each is appended to <ledger>.spool.damaged and
 * counted, and every other record is.  The spool is read a piece at a
 * time: memory stays bounded whatever it holds.
 */
#include "config.h"

#include "ledger-int.h"
#include "sqlite-load.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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
    int aside; /* <spool>.damaged, -1 until needed */
    sqlite3_stmt *sp_begin, *sp_release, *sp_undo;
};

/* The damaged file, opened once per import. */
static int
aside_fd(struct import *im)
{
    if (im->aside < 0) {
        char *path = fxu_asprintf("%s.damaged", im->sp);
        im->aside = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
        free(path);
    }
    return im->aside;
}

/* Part of a line set aside; `end`: the line ends here. */
static void
aside_put(struct import *im, const char *p, size_t n, int end)
{
    int fd = aside_fd(im);
    if (fd >= 0 &&
        ((n && write(fd, p, n) < 0) || (end && write(fd, "\n", 1) < 0))) {
        /* counted all the same */
    }
}

static void
set_aside(struct import *im, const char *p, size_t n)
{
    aside_put(im, p, n, 1);
    im->damaged++;
}

/* A database error that is about the database (full, locked, gone), not
 * about the one record being inserted: the import stops. */
static int
db_wide(fx_ledger *l)
{
    switch (sqlite3_errcode(fx_ledger_db(l)) & 0xff) {
    case SQLITE_TOOBIG:
    case SQLITE_CONSTRAINT:
    case SQLITE_MISMATCH:
    case SQLITE_RANGE:
        return 0;
    default:
        return 1;
    }
}

static int
step_once(fx_ledger *l, sqlite3_stmt **st, const char *sql)
{
    if (*st == NULL &&
        sqlite3_prepare_v2(fx_ledger_db(l), sql, -1, st, NULL) != SQLITE_OK)
        return -1;
    int rc = sqlite3_step(*st);
    sqlite3_reset(*st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* One line into the database under a savepoint: a record SQLite cannot
 * take (too big) is undone and set aside; 0, or -1 (database error). */
static int
import_line(struct import *im, const char *p, size_t n)
{
    struct fx_ledger_record rec;
    int mode;
    if (fx_ledger_spool_parse(p, n, &rec, &mode)) {
        set_aside(im, p, n);
        return 0;
    }
    int rc = step_once(im->l, &im->sp_begin, "SAVEPOINT fx_import_line");
    if (rc == 0 && fx_ledger_insert(im->l, &rec, mode) == 0) {
        rc = step_once(im->l, &im->sp_release, "RELEASE fx_import_line");
        im->imported += rc == 0;
    } else if (rc == 0 && !db_wide(im->l)) {
        rc = step_once(im->l, &im->sp_undo, "ROLLBACK TO fx_import_line");
        if (rc == 0)
            rc = step_once(im->l, &im->sp_release, "RELEASE fx_import_line");
        set_aside(im, p, n);
    } else {
        rc = -1;
    }
    fx_ledger_record_free(&rec);
    return rc;
}

/* Insert every line of the file at path, reading it a piece at a time (a
 * line longer than FX_LEDGER_LINE_MAX goes aside unread); 0 or -1
 * (database error). */
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
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return fx_ledger_fail(im->l, "%s: %s", path, strerror(errno));
    fxu_buf line;
    fxu_buf_init(&line);
    char chunk[65536];
    ssize_t got;
    int rc = 0, skipping = 0; /* skipping: the rest of an overlong line */
    while (rc == 0 && (got = read(fd, chunk, sizeof(chunk))) != 0) {
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0) {
            rc = fx_ledger_fail(im->l, "%s: %s", path, strerror(errno));
            break;
        }
        for (char *p = chunk, *end = chunk + got; rc == 0 && p < end;) {
            char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
            if (skipping) {
                aside_put(im, p, n, nl != NULL);
                skipping = nl == NULL;
            } else if (line.len + n > FX_LEDGER_LINE_MAX) {
                aside_put(im, line.data, line.len, 0);
                aside_put(im, p, n, nl != NULL);
                im->damaged++;
                line.len = 0;
                skipping = nl == NULL;
            } else {
                fxu_buf_append(&line, p, n);
                if (nl && line.len)
                    rc = import_line(im, line.data, line.len);
                if (nl)
                    line.len = 0;
            }
            p += n + (nl != NULL);
        }
    }
    /* a last line without its newline: torn by a crash */
    if (rc == 0 && line.len)
        set_aside(im, line.data, line.len);
    fxu_buf_free(&line);
    close(fd);
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
    struct import im = {
        .l = l, .sp = fx_ledger_spool_path(dbpath), .aside = -1};
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
    sqlite3_finalize(im.sp_begin);
    sqlite3_finalize(im.sp_release);
    sqlite3_finalize(im.sp_undo);
    if (im.aside >= 0)
        close(im.aside);
    free(im.sp);
    free(im.done);
    fxu_buf_free(&im.now);
    return rc;
}
