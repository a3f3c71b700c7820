/*
 * cache-sqlite.c - the response cache in an SQLite file of its own
 * (0600, WAL, beside the ledger by default): one row per key with the
 * entry, its time and size; the misses counted in a second table.  Any
 * number of processes may read and write at once.
 *
 *   entries(key TEXT PRIMARY KEY, value BLOB, created REAL, bytes INTEGER)
 *   counters(name TEXT PRIMARY KEY, n INTEGER)   -- "misses" ("hits" from
 *                                                   before the hits file)
 *
 * A hit writes nothing to the database: it is one byte appended to
 * PATH-hits (O_APPEND, so processes never lose each other's), whose size
 * is the count.  A hit is a short process that reads one row; a write
 * transaction in it would cost more than the read, and WAL frames written
 * by hits and never checkpointed made every later open replay them.
 */
#include "config.h"

#include "cache.h"
#include "fxu.h"
#include "sqlite-load.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUSY_MS 5000

struct fx_cache_sqlite {
    sqlite3 *db;
    char *path;
    int hits_fd; /* PATH-hits, opened at the first hit; -1 before */
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS entries(key TEXT PRIMARY KEY, value BLOB NOT "
    "NULL, created REAL NOT NULL, bytes INTEGER NOT NULL);"
    "CREATE INDEX IF NOT EXISTS entries_created ON entries(created);"
    "CREATE TABLE IF NOT EXISTS counters(name TEXT PRIMARY KEY, n INTEGER NOT "
    "NULL);";

static int
fail(struct fx_cache_sqlite *s, char **err)
{
    *err = fxu_asprintf("%s: %s", s->path, sqlite3_errmsg(s->db));
    return -1;
}

/* mkdir -p of path's directory (new parts 0700) and the file as 0600 */
static int
make_file(const char *path, char **err)
{
    char *dir = fxu_strdup(path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = '\0';
        if (fxu_make_dirs(dir) != 0) {
            *err = fxu_asprintf("%s: %s", dir, strerror(errno));
            free(dir);
            return -1;
        }
    }
    free(dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        *err = fxu_asprintf("%s: %s", path, strerror(errno));
        return -1;
    }
    close(fd);
    return 0;
}

struct fx_cache_sqlite *
fx_cache_sqlite_open(const char *path, char **err)
{
    /* a new (or empty) file is made a WAL database: the mode is kept in
     * the file, so later opens need not ask for it again */
    struct stat sb;
    int fresh = stat(path, &sb) < 0 || sb.st_size == 0;
    if (fresh && access(path, F_OK) < 0 && make_file(path, err) != 0)
        return NULL;
    struct fx_cache_sqlite *s = fxu_xcalloc(1, sizeof(*s));
    s->path = fxu_strdup(path);
    s->hits_fd = -1;
    if (sqlite3_open_v2(path, &s->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK) {
        fail(s, err);
        fx_cache_sqlite_close(s);
        return NULL;
    }
    sqlite3_busy_timeout(s->db, BUSY_MS);
    /* The last connection to close checkpoints and removes the WAL
     * file.  (A persistent WAL kept its frames valid after the
     * checkpoint: each next process replayed them at open and copied
     * them back at close, two syncs and a directory sync for every hit.)
     */
    /* WAL without a sync at each commit: a cache entry lost to a power
     * cut is only asked again */
    if ((fresh && sqlite3_exec(s->db, "PRAGMA journal_mode = WAL", NULL, NULL,
                               NULL) != SQLITE_OK) ||
        sqlite3_exec(s->db, "PRAGMA synchronous = NORMAL", NULL, NULL, NULL) !=
            SQLITE_OK ||
        sqlite3_exec(s->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
        fail(s, err);
        fx_cache_sqlite_close(s);
        return NULL;
    }
    return s;
}

void
fx_cache_sqlite_close(struct fx_cache_sqlite *s)
{
    if (s == NULL)
        return;
    sqlite3_close(s->db);
    if (s->hits_fd >= 0)
        close(s->hits_fd);
    free(s->path);
    free(s);
}

static char *
hits_path(const struct fx_cache_sqlite *s)
{
    return fxu_asprintf("%s-hits", s->path);
}

/* one byte at the end of PATH-hits; a lost count is no failure */
static void
count_hit(struct fx_cache_sqlite *s)
{
    if (s->hits_fd < 0) {
        char *p = hits_path(s);
        s->hits_fd = open(
            p, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        free(p);
        if (s->hits_fd < 0)
            return;
    }
    ssize_t w = write(s->hits_fd, "h", 1);
    (void)w;
}

static long long
hits_counted(const struct fx_cache_sqlite *s)
{
    char *p = hits_path(s);
    struct stat sb;
    long long n = lstat(p, &sb) == 0 && S_ISREG(sb.st_mode) ? sb.st_size : 0;
    free(p);
    return n;
}

static void
count(struct fx_cache_sqlite *s, const char *name)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT INTO counters(name, n) VALUES (?, 1) ON "
                           "CONFLICT(name) DO UPDATE SET n = n + 1",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        sqlite3_step(st); /* a lost count is no failure */
    }
    sqlite3_finalize(st);
}

int
fx_cache_sqlite_get(struct fx_cache_sqlite *s, const char *key, double now,
                    double ttl, char **value, size_t *len, char **err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(
            s->db, "SELECT value FROM entries WHERE key = ? AND created >= ?",
            -1, &st, NULL) != SQLITE_OK)
        return fail(s, err);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_double(st, 2, now - ttl);
    int rc = sqlite3_step(st);
    int found = 0;
    if (rc == SQLITE_ROW) {
        *len = (size_t)sqlite3_column_bytes(st, 0);
        *value = fxu_strndup(sqlite3_column_blob(st, 0), *len);
        found = 1;
    } else if (rc != SQLITE_DONE) {
        sqlite3_finalize(st);
        return fail(s, err);
    }
    sqlite3_finalize(st);
    if (found)
        count_hit(s);
    else
        count(s, "misses");
    return found;
}

int
fx_cache_sqlite_put(struct fx_cache_sqlite *s, const char *key,
                    const char *value, size_t len, double created, char **err)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT OR REPLACE INTO entries(key, value, created,"
                           " bytes) VALUES (?, ?, ?, ?)",
                           -1, &st, NULL) != SQLITE_OK)
        return fail(s, err);
    sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 2, value, (int)len, SQLITE_STATIC);
    sqlite3_bind_double(st, 3, created);
    sqlite3_bind_int64(st, 4, (sqlite3_int64)(len + strlen(key)));
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : fail(s, err);
}

static long long
counter(struct fx_cache_sqlite *s, const char *name)
{
    sqlite3_stmt *st = NULL;
    long long n = 0;
    if (sqlite3_prepare_v2(s->db, "SELECT n FROM counters WHERE name = ?", -1,
                           &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
            n = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return n;
}

int
fx_cache_sqlite_stats(struct fx_cache_sqlite *s, struct fx_cache_stats *out,
                      char **err)
{
    memset(out, 0, sizeof(*out));
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db,
                           "SELECT count(*), coalesce(sum(bytes), 0),"
                           " coalesce(min(created), 0) FROM entries",
                           -1, &st, NULL) != SQLITE_OK)
        return fail(s, err);
    if (sqlite3_step(st) != SQLITE_ROW) {
        sqlite3_finalize(st);
        return fail(s, err);
    }
    out->entries = sqlite3_column_int64(st, 0);
    out->bytes = sqlite3_column_int64(st, 1);
    out->oldest = sqlite3_column_double(st, 2);
    sqlite3_finalize(st);
    out->hits = counter(s, "hits") + hits_counted(s);
    out->misses = counter(s, "misses");
    return 0;
}

int
fx_cache_sqlite_clear(struct fx_cache_sqlite *s, long long *removed, char **err)
{
    if (sqlite3_exec(s->db, "DELETE FROM entries", NULL, NULL, NULL) !=
        SQLITE_OK)
        return fail(s, err);
    *removed = sqlite3_changes(s->db);
    if (sqlite3_exec(s->db, "DELETE FROM counters", NULL, NULL, NULL) !=
        SQLITE_OK)
        return fail(s, err);
    char *p = hits_path(s);
    int fd = open(p, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOFOLLOW);
    free(p);
    if (fd >= 0)
        close(fd);
    return 0;
}

int
fx_cache_sqlite_prune(struct fx_cache_sqlite *s, double before,
                      long long max_bytes, long long *removed, char **err)
{
    *removed = 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, "DELETE FROM entries WHERE created < ?", -1,
                           &st, NULL) != SQLITE_OK)
        return fail(s, err);
    sqlite3_bind_double(st, 1, before);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return fail(s, err);
    *removed = sqlite3_changes(s->db);
    if (max_bytes <= 0)
        return 0;
    /* the oldest go first until what is left fits */
    if (sqlite3_prepare_v2(
            s->db,
            "DELETE FROM entries WHERE key IN (SELECT key FROM (SELECT key,"
            " sum(bytes) OVER (ORDER BY created DESC, key) AS upto FROM"
            " entries) WHERE upto > ?)",
            -1, &st, NULL) != SQLITE_OK)
        return fail(s, err);
    sqlite3_bind_int64(st, 1, max_bytes);
    rc = sqlite3_step(st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return fail(s, err);
    *removed += sqlite3_changes(s->db);
    return 0;
}
