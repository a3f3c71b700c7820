/*
 * ledger-open.c - what shape the request ledger has: creating the file
 * (0600; its path and directory are ledger-record.c's), opening in WAL
 * mode with a busy timeout, the versioned schema and its forward
 * migrations, pruning old records, and the retrying step/exec
 * helpers the other ledger files share.
 *
 * Schema version 5 (PRAGMA user_version):
 *
 *   requests(id INTEGER PRIMARY KEY, time REAL (epoch seconds), command,
 *            tag, conversation_id, provider, model (that answered; NULL
 *            when none did), system, messages (JSON array of {role,
 *            content}; NULL when not kept), prompt (the user text of this
 *            turn, for search), text (the answer), finish_reason,
 *            prompt_tokens, completion_tokens (NULL when unknown),
 *            latency_ms, exit_code, error, error_class (of a failure),
 *            first_provider (first provider tried), cached_tokens,
            cache_write_tokens (parts of prompt_tokens), reasoning_tokens
            (a part of completion_tokens), reasoning (the reasoning text,
            full mode), usage_split (0: every attempt sent succeeded;
            1: one failed, usage totals read the attempts for each
            provider's calls and failures; 3: and the attempts carry the
            tokens, which count under the provider of each), cached (1:
            answered from the response cache), deferred (1: answered by a
            provider batch job))
 *   attempts(request_id, seq, provider, model, outcome, error_class,
 *            http_status, retry_after, latency_ms, message, probe,
 *            continuation, text_bytes, prompt_tokens, completion_tokens,
            cached_tokens, cache_write_tokens, reasoning_tokens (what the
            attempt was billed; NULL when unknown))
 *   requests_usage  index covering what usage totals read
 *   requests_fts  FTS5 over requests(prompt, text), kept by triggers
 *   meta(key, value): last_prune, spool_done (ledger-import.c)
 *
 * Version 1 had requests(id, time, command, provider, model, prompt, text,
 * prompt_tokens, completion_tokens, latency_ms, exit_code) only; version
 * 2 no text_bytes; version 3 none of the usage parts, the reasoning or
 * usage_split (migrate_v3: NULL and 0 in old records); version 4 no cached
 * or deferred (migrate_v4: 0).
 */
#include "config.h"

#include "ledger-int.h"
#include "sqlite-load.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BUSY_TIMEOUT_MS 5000

struct fx_ledger {
    sqlite3 *db;
    char *path;
    char *errstr;
    int in_tx;
    double timeout; /* seconds a write waits for the lock */
    sqlite3_stmt *cache[FX_LEDGER_NSTMT];
};

static const char schema_v2[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
    "CREATE TABLE requests("
    " id INTEGER PRIMARY KEY,"
    " time REAL NOT NULL,"
    " command TEXT NOT NULL,"
    " tag TEXT,"
    " conversation_id TEXT,"
    " provider TEXT,"
    " model TEXT,"
    " system TEXT,"
    " messages TEXT,"
    " prompt TEXT,"
    " text TEXT,"
    " finish_reason TEXT,"
    " prompt_tokens INTEGER,"
    " completion_tokens INTEGER,"
    " latency_ms REAL,"
    " exit_code INTEGER NOT NULL,"
    " error TEXT,"
    " error_class TEXT,"
    " first_provider TEXT);";

/* What version 2 adds to the requests table of either version. */
static const char schema_v2_rest[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
    /* Every column usage totals and Prometheus read: they scan this
     * index, not the table with its prompts and answers (1 000 000
     * records: tens of megabytes instead of gigabytes).  It also serves
     * --since and --until. */
    "DROP INDEX IF EXISTS requests_time;"
    "CREATE INDEX requests_usage ON requests(time, provider, model, tag,"
    " exit_code, first_provider, error_class, prompt_tokens,"
    " completion_tokens, latency_ms);"
    "CREATE INDEX requests_cid ON requests(conversation_id, id)"
    " WHERE conversation_id IS NOT NULL;"
    "CREATE TABLE attempts("
    " request_id INTEGER NOT NULL,"
    " seq INTEGER NOT NULL,"
    " provider TEXT NOT NULL,"
    " model TEXT,"
    " outcome TEXT NOT NULL,"
    " error_class TEXT,"
    " http_status INTEGER,"
    " retry_after REAL,"
    " latency_ms REAL NOT NULL,"
    " message TEXT,"
    " probe INTEGER NOT NULL DEFAULT 0,"
    " continuation INTEGER NOT NULL DEFAULT 0,"
    " text_bytes INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY(request_id, seq)) WITHOUT ROWID;"
    "CREATE VIRTUAL TABLE requests_fts USING fts5(prompt, text,"
    " content='requests', content_rowid='id',"
    " tokenize='unicode61 remove_diacritics 2');"
    "CREATE TRIGGER requests_ai AFTER INSERT ON requests BEGIN"
    " INSERT INTO requests_fts(rowid, prompt, text)"
    "  VALUES (new.id, new.prompt, new.text); END;"
    "CREATE TRIGGER requests_ad AFTER DELETE ON requests BEGIN"
    " INSERT INTO requests_fts(requests_fts, rowid, prompt, text)"
    "  VALUES ('delete', old.id, old.prompt, old.text);"
    " DELETE FROM attempts WHERE request_id = old.id; END;";

/* Version 1 -> 2: the columns version 1 lacked, then everything else. */
static const char migrate_v1[] =
    "ALTER TABLE requests ADD COLUMN tag TEXT;"
    "ALTER TABLE requests ADD COLUMN conversation_id TEXT;"
    "ALTER TABLE requests ADD COLUMN system TEXT;"
    "ALTER TABLE requests ADD COLUMN messages TEXT;"
    "ALTER TABLE requests ADD COLUMN finish_reason TEXT;"
    "ALTER TABLE requests ADD COLUMN error TEXT;"
    "ALTER TABLE requests ADD COLUMN error_class TEXT;"
    "ALTER TABLE requests ADD COLUMN first_provider TEXT;"
    "UPDATE requests SET first_provider = provider,"
    " messages = CASE WHEN prompt IS NULL THEN NULL ELSE"
    "  json_array(json_object('role', 'user', 'content', prompt)) END;";

/* Version 3 -> 4: usage parts, per record and per attempt, the reasoning
 * text, and the covering index with them. */
static const char migrate_v3[] =
    "ALTER TABLE requests ADD COLUMN cached_tokens INTEGER;"
    "ALTER TABLE requests ADD COLUMN cache_write_tokens INTEGER;"
    "ALTER TABLE requests ADD COLUMN reasoning_tokens INTEGER;"
    "ALTER TABLE requests ADD COLUMN reasoning TEXT;"
    "ALTER TABLE requests ADD COLUMN usage_split INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE attempts ADD COLUMN prompt_tokens INTEGER;"
    "ALTER TABLE attempts ADD COLUMN completion_tokens INTEGER;"
    "ALTER TABLE attempts ADD COLUMN cached_tokens INTEGER;"
    "ALTER TABLE attempts ADD COLUMN cache_write_tokens INTEGER;"
    "ALTER TABLE attempts ADD COLUMN reasoning_tokens INTEGER;"
    "DROP INDEX IF EXISTS requests_usage;"
    "CREATE INDEX requests_usage ON requests(time, provider, model, tag,"
    " exit_code, first_provider, error_class, prompt_tokens,"
    " completion_tokens, latency_ms, cached_tokens, cache_write_tokens,"
    " reasoning_tokens, usage_split);"
    "CREATE INDEX requests_split ON requests(time) WHERE usage_split > 0;"
    /* old records with a failed attempt: read their attempts too (their
     * tokens stay the record's: the attempts have no usage) */
    "UPDATE requests SET usage_split = 1 WHERE id IN (SELECT request_id"
    " FROM attempts WHERE outcome NOT IN ('success', 'skipped'));";

static const char rebuild_fts[] =
    "INSERT INTO requests_fts(requests_fts) VALUES ('rebuild');";

/* ---- shared helpers ------------------------------------------------- */

struct sqlite3 *
fx_ledger_db(fx_ledger *l)
{
    return l->db;
}

const char *
fx_ledger_error(const fx_ledger *l)
{
    return l && l->errstr ? l->errstr : "";
}

int
fx_ledger_fail(fx_ledger *l, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *msg = fxu_vasprintf(fmt, ap);
    va_end(ap);
    free(l->errstr);
    l->errstr = fxu_asprintf("%s: %s", l->path, msg);
    free(msg);
    return -1;
}

int
fx_ledger_in_transaction(fx_ledger *l)
{
    return l->in_tx;
}

void
fx_ledger_set_in_transaction(fx_ledger *l, int on)
{
    l->in_tx = on;
}

static int
is_busy(int rc)
{
    rc &= 0xff;
    return rc == SQLITE_BUSY || rc == SQLITE_LOCKED;
}

/* The busy timeout covers most waits; SQLite still answers BUSY at once in
 * a few cases (WAL recovery, a snapshot gone stale), so retry those with a
 * short pause for a while before giving up. */
static int
retry_pause(fx_ledger *l, double started)
{
    if (fxu_monotonic() - started > l->timeout)
        return 0;
    fxu_sleep(0.001 + (double)(rand() % 8) / 1000.0, NULL);
    return 1;
}

int
fx_ledger_exec(fx_ledger *l, const char *sql)
{
    double started = fxu_monotonic();
    for (;;) {
        char *msg = NULL;
        int rc = sqlite3_exec(l->db, sql, NULL, NULL, &msg);
        if (rc == SQLITE_OK)
            return 0;
        if (is_busy(rc) && retry_pause(l, started)) {
            sqlite3_free(msg);
            continue;
        }
        fx_ledger_fail(l, "%s", msg ? msg : sqlite3_errstr(rc));
        sqlite3_free(msg);
        return -1;
    }
}

sqlite3_stmt *
fx_ledger_prepare(fx_ledger *l, const char *sql)
{
    sqlite3_stmt *st = NULL;
    double started = fxu_monotonic();
    for (;;) {
        int rc = sqlite3_prepare_v2(l->db, sql, -1, &st, NULL);
        if (rc == SQLITE_OK)
            return st;
        if (is_busy(rc) && retry_pause(l, started))
            continue;
        fx_ledger_fail(l, "%s", sqlite3_errmsg(l->db));
        return NULL;
    }
}

sqlite3_stmt *
fx_ledger_cached(fx_ledger *l, int slot, const char *sql)
{
    sqlite3_stmt *st = l->cache[slot];
    if (st) {
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        return st;
    }
    st = fx_ledger_prepare(l, sql);
    l->cache[slot] = st;
    return st;
}

int
fx_ledger_step(fx_ledger *l, sqlite3_stmt *st)
{
    double started = 0; /* read the clock only when waiting: scans step a
                           million times */
    for (;;) {
        int rc = sqlite3_step(st);
        if (rc == SQLITE_ROW || rc == SQLITE_DONE)
            return rc;
        if (started == 0)
            started = fxu_monotonic();
        /* inside a transaction the whole transaction must be retried */
        if (is_busy(rc) && !l->in_tx && retry_pause(l, started)) {
            sqlite3_reset(st);
            continue;
        }
        fx_ledger_fail(l, "%s", sqlite3_errmsg(l->db));
        return rc;
    }
}

/* ---- open and migrate ----------------------------------------------- */

/* Version 4 -> 5: answers from the response cache (cached = 1) and
 * answers of a provider batch job (deferred = 1), which usage totals tell
 * apart, in the covering index with them. */
static const char migrate_v4[] =
    "ALTER TABLE requests ADD COLUMN cached INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE requests ADD COLUMN deferred INTEGER NOT NULL DEFAULT 0;"
    "DROP INDEX IF EXISTS requests_usage;"
    "CREATE INDEX requests_usage ON requests(time, provider, model, tag,"
    " exit_code, first_provider, error_class, prompt_tokens,"
    " completion_tokens, latency_ms, cached_tokens, cache_write_tokens,"
    " reasoning_tokens, usage_split, cached, deferred);";

static int
pragma_int(fx_ledger *l, const char *sql, int *out)
{
    sqlite3_stmt *st = fx_ledger_prepare(l, sql);
    if (st == NULL)
        return -1;
    int rc = fx_ledger_step(l, st);
    if (rc == SQLITE_ROW)
        *out = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : -1;
}

int
fx_ledger_schema_version(fx_ledger *l)
{
    int v = -1;
    pragma_int(l, "PRAGMA user_version", &v);
    return v;
}

/* Bring the schema from `version` to FX_LEDGER_SCHEMA in one write
 * transaction; another process may have done it meanwhile. */
static int
migrate(fx_ledger *l)
{
    if (fx_ledger_exec(l, "BEGIN IMMEDIATE") < 0)
        return -1;
    int v = -1;
    if (pragma_int(l, "PRAGMA user_version", &v) < 0)
        goto fail;
    if (v == 0) {
        int tables = 0;
        if (pragma_int(l,
                       "SELECT count(*) FROM sqlite_master"
                       " WHERE name = 'requests'",
                       &tables) < 0)
            goto fail;
        if (tables) {
            fx_ledger_fail(l, "not a flexiai log database (schema version "
                              "0 with a requests table)");
            goto fail;
        }
        if (fx_ledger_exec(l, schema_v2) < 0 ||
            fx_ledger_exec(l, schema_v2_rest) < 0)
            goto fail;
    } else if (v == 1) {
        if (fx_ledger_exec(l, migrate_v1) < 0 ||
            fx_ledger_exec(l, schema_v2_rest) < 0 ||
            fx_ledger_exec(l, rebuild_fts) < 0)
            goto fail;
    } else if (v == 2) {
        /* version 3: attempts carry the text they delivered */
        if (fx_ledger_exec(l, "ALTER TABLE attempts ADD COLUMN text_bytes"
                              " INTEGER NOT NULL DEFAULT 0") < 0)
            goto fail;
    } else if (v < 1 || v > FX_LEDGER_SCHEMA) {
        fx_ledger_fail(l, "schema version %d is not one this flexiai knows", v);
        goto fail;
    }
    /* every version before 4, a new file too, ends as version 3 above */
    if (v < 4 && fx_ledger_exec(l, migrate_v3) < 0)
        goto fail;
    if (v < 5 && fx_ledger_exec(l, migrate_v4) < 0)
        goto fail;
    char *set = fxu_asprintf("PRAGMA user_version = %d", FX_LEDGER_SCHEMA);
    int rc = fx_ledger_exec(l, set);
    free(set);
    if (rc < 0)
        goto fail;
    return fx_ledger_exec(l, "COMMIT");
fail:
    sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}

/* Create the file 0600 ourselves: SQLite would use 0644, and its -wal and
 * -shm files copy the mode of the database. */
static int
create_file(const char *path, char **err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        *err = fxu_asprintf("%s: %s", path, strerror(errno));
        return -1;
    }
    close(fd);
    return 0;
}

static fx_ledger *
open_failed(fx_ledger *l, char **err)
{
    if (err)
        *err = fxu_strdup(l->errstr ? l->errstr : "cannot open");
    fx_ledger_close(l);
    return NULL;
}

fx_ledger *
fx_ledger_open(const char *path, int flags, char **err)
{
    int writing = flags & FX_LEDGER_WRITE;
    if (err)
        *err = NULL;
    if (access(path, F_OK) < 0) {
        if (!writing) {
            if (err)
                *err = fxu_asprintf("%s: no log database (nothing logged "
                                    "yet?)",
                                    path);
            return NULL;
        }
        char *e = NULL;
        if (fx_ledger_make_parent(path, &e) < 0 || create_file(path, &e) < 0) {
            if (err)
                *err = e;
            else
                free(e);
            return NULL;
        }
    }
    fx_ledger *l = fxu_xcalloc(1, sizeof(*l));
    l->path = fxu_strdup(path);
    int rc = sqlite3_open_v2(path, &l->db,
                             (writing || access(path, W_OK) == 0
                                  ? SQLITE_OPEN_READWRITE
                                  : SQLITE_OPEN_READONLY) |
                                 SQLITE_OPEN_NOMUTEX,
                             NULL);
    if (rc != SQLITE_OK) {
        fx_ledger_fail(l, "%s",
                       l->db ? sqlite3_errmsg(l->db) : sqlite3_errstr(rc));
        return open_failed(l, err);
    }
    fx_ledger_set_timeout(l, BUSY_TIMEOUT_MS / 1000.0);
    int version = fx_ledger_schema_version(l);
    if (version < 0)
        return open_failed(l, err);
    if (version > FX_LEDGER_SCHEMA) {
        fx_ledger_fail(l, "schema version %d is newer than this flexiai's %d",
                       version, FX_LEDGER_SCHEMA);
        return open_failed(l, err);
    }
    int readonly = sqlite3_db_readonly(l->db, "main") == 1;
    if (writing && readonly) {
        fx_ledger_fail(l, "attempt to write a readonly database");
        return open_failed(l, err);
    }
    if (version < FX_LEDGER_SCHEMA) {
        if (readonly) {
            fx_ledger_fail(l,
                           "schema version %d needs migrating, and the "
                           "file is read-only",
                           version);
            return open_failed(l, err);
        }
        /* WAL is a property of the file, set outside a transaction: on
         * a new file, and on an old one that may not have it yet. */
        if (fx_ledger_exec(l, "PRAGMA journal_mode = WAL") < 0)
            return open_failed(l, err);
        if (migrate(l) < 0)
            return open_failed(l, err);
    }
    /* In WAL mode NORMAL syncs at checkpoints only: a power cut may lose
     * the last records, never corrupt the file. */
    if (!readonly && fx_ledger_exec(l, "PRAGMA synchronous = NORMAL") < 0)
        return open_failed(l, err);
    return l;
}

void
fx_ledger_set_timeout(fx_ledger *l, double seconds)
{
    l->timeout = seconds;
    sqlite3_busy_timeout(l->db, (int)(seconds * 1000));
}

void
fx_ledger_close(fx_ledger *l)
{
    if (l == NULL)
        return;
    for (int i = 0; i < FX_LEDGER_NSTMT; i++)
        sqlite3_finalize(l->cache[i]);
    if (l->db)
        sqlite3_close_v2(l->db);
    free(l->path);
    free(l->errstr);
    free(l);
}

/* ---- pruning -------------------------------------------------------- */

long
fx_ledger_prune(fx_ledger *l, double before)
{
    sqlite3_stmt *st =
        fx_ledger_prepare(l, "DELETE FROM requests WHERE time < ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_double(st, 1, before);
    int rc = fx_ledger_step(l, st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return -1;
    return (long)sqlite3_changes(l->db);
}

/* When the last automatic prune ran (0: never), or -1. */
static double
last_prune(fx_ledger *l)
{
    sqlite3_stmt *st = fx_ledger_prepare(
        l, "SELECT CAST(value AS REAL) FROM meta WHERE key = 'last_prune'");
    if (st == NULL)
        return -1;
    double last = 0;
    int rc = fx_ledger_step(l, st);
    if (rc == SQLITE_ROW)
        last = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? last : -1;
}

long
fx_ledger_autoprune(fx_ledger *l, double keep_seconds, double now)
{
    if (keep_seconds <= 0)
        return 0;
    /* Nearly always not due: find that out without taking the lock. */
    double last = last_prune(l);
    if (last < 0)
        return -1;
    if (now - last < 86400)
        return 0;
    if (fx_ledger_exec(l, "BEGIN IMMEDIATE") < 0)
        return -1;
    long deleted = 0;
    last = last_prune(l); /* another process may have just done it */
    if (last < 0)
        goto fail;
    if (now - last >= 86400) {
        l->in_tx = 1;
        deleted = fx_ledger_prune(l, now - keep_seconds);
        l->in_tx = 0;
        if (deleted < 0)
            goto fail;
        sqlite3_stmt *st =
            fx_ledger_prepare(l, "INSERT OR REPLACE INTO meta(key, value)"
                                 " VALUES ('last_prune', ?)");
        if (st == NULL)
            goto fail;
        sqlite3_bind_double(st, 1, now);
        int rc = fx_ledger_step(l, st);
        sqlite3_finalize(st);
        if (rc != SQLITE_DONE)
            goto fail;
    }
    if (fx_ledger_exec(l, "COMMIT") < 0)
        goto fail;
    return deleted;
fail:
    l->in_tx = 0;
    sqlite3_exec(l->db, "ROLLBACK", NULL, NULL, NULL);
    return -1;
}
