/*
 * ledger-fragments.c - fragments (flexiai_ledger_fragment) stored once:
 * a 50 KB file asked about twenty times is one row, found by its SHA-256,
 * and each record that used it has a link to it.  In a record's messages
 * the fragment's content is replaced by a reference
 * ("[flexiai fragment sha256:HEX]"), expanded again when -C sends the
 * conversation on (the references are made with the record, in
 * ledger-record.c, which needs no SQLite).  Like ledger-state.c the tables live
 * outside the versioned schema, made when the first fragment is stored; a
 * pruned record takes its links along, and a fragment no record uses goes too
 * (triggers).
 *
 *   fragments(hash TEXT PRIMARY KEY, name TEXT, content TEXT)
 *   request_fragments(request_id INTEGER, hash TEXT,
 *                     PRIMARY KEY(request_id, hash))
 */
#include "config.h"

#include "ledger-int.h"
#include "sqlite-load.h"

#include <stdlib.h>
#include <string.h>

static const char make_tables[] =
    "CREATE TABLE IF NOT EXISTS fragments("
    " hash TEXT PRIMARY KEY, name TEXT, content TEXT);"
    "CREATE TABLE IF NOT EXISTS request_fragments("
    " request_id INTEGER NOT NULL, hash TEXT NOT NULL,"
    " PRIMARY KEY(request_id, hash)) WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS request_fragments_hash ON"
    " request_fragments(hash);"
    "CREATE TRIGGER IF NOT EXISTS request_fragments_ad AFTER DELETE ON"
    " requests BEGIN"
    " DELETE FROM request_fragments WHERE request_id = old.id; END;"
    "CREATE TRIGGER IF NOT EXISTS fragments_unused AFTER DELETE ON"
    " request_fragments WHEN NOT EXISTS (SELECT 1 FROM request_fragments"
    " WHERE hash = old.hash) BEGIN"
    " DELETE FROM fragments WHERE hash = old.hash; END;";

int
fx_ledger_fragments_put(fx_ledger *l, const struct fx_ledger_record *rec,
                        int full)
{
    if (rec->nfragments == 0)
        return 0;
    if (fx_ledger_exec(l, make_tables) < 0)
        return -1;
    /* a text first kept without its content (mode usage) gets it later */
    sqlite3_stmt *put = fx_ledger_prepare(
        l, "INSERT INTO fragments(hash, name, content) VALUES (?, ?, ?)"
           " ON CONFLICT(hash) DO UPDATE SET content = excluded.content"
           " WHERE fragments.content IS NULL");
    sqlite3_stmt *link =
        put ? fx_ledger_prepare(l, "INSERT OR IGNORE INTO"
                                   " request_fragments(request_id, hash)"
                                   " VALUES (?, ?)")
            : NULL;
    int rc = put && link ? 0 : -1;
    for (size_t i = 0; rc == 0 && i < rec->nfragments; i++) {
        const struct fx_ledger_fragment *f = &rec->fragments[i];
        sqlite3_bind_text(put, 1, f->hash, -1, SQLITE_STATIC);
        sqlite3_bind_text(put, 2, f->name, -1, SQLITE_STATIC);
        if (full && f->content)
            sqlite3_bind_text(put, 3, f->content, -1, SQLITE_STATIC);
        else
            sqlite3_bind_null(put, 3);
        sqlite3_bind_int64(link, 1, rec->id);
        sqlite3_bind_text(link, 2, f->hash, -1, SQLITE_STATIC);
        if (fx_ledger_step(l, put) != SQLITE_DONE ||
            fx_ledger_step(l, link) != SQLITE_DONE)
            rc = fx_ledger_fail(l, "cannot keep a fragment: %s",
                                sqlite3_errmsg(fx_ledger_db(l)));
        sqlite3_reset(put);
        sqlite3_reset(link);
        sqlite3_clear_bindings(put);
    }
    sqlite3_finalize(put);
    sqlite3_finalize(link);
    return rc;
}

int
fx_ledger_fragments_get(fx_ledger *l, struct fx_ledger_record *rec)
{
    sqlite3_stmt *st = NULL;
    /* no table yet: no fragment was ever kept (not an error) */
    if (sqlite3_prepare_v2(fx_ledger_db(l),
                           "SELECT f.hash, f.name, length(CAST(f.content AS"
                           " BLOB)) FROM request_fragments r JOIN fragments f"
                           " ON f.hash = r.hash WHERE r.request_id = ?"
                           " ORDER BY f.name",
                           -1, &st, NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        return 0;
    }
    sqlite3_bind_int64(st, 1, rec->id);
    int rc;
    while ((rc = fx_ledger_step(l, st)) == SQLITE_ROW) {
        rec->fragments = fxu_xrealloc(
            rec->fragments, (rec->nfragments + 1) * sizeof(*rec->fragments));
        struct fx_ledger_fragment *f = &rec->fragments[rec->nfragments++];
        f->hash = fxu_strdup((const char *)sqlite3_column_text(st, 0));
        f->name = fxu_strdup((const char *)sqlite3_column_text(st, 1));
        f->content = NULL;
        f->size = sqlite3_column_type(st, 2) == SQLITE_NULL
                      ? -1
                      : (long long)sqlite3_column_int64(st, 2);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

char *
fx_ledger_fragments_expand(fx_ledger *l, const char *s)
{
    if (s == NULL)
        return NULL;
    const char *hit = strstr(s, FX_LEDGER_FRAGMENT_REF);
    if (hit == NULL)
        return fxu_strdup(s);
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(fx_ledger_db(l),
                           "SELECT content FROM fragments WHERE hash = ?", -1,
                           &st, NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        return fxu_strdup(s);
    }
    size_t pre = strlen(FX_LEDGER_FRAGMENT_REF);
    fxu_buf b;
    fxu_buf_init(&b);
    const char *p = s;
    for (; hit; hit = strstr(p, FX_LEDGER_FRAGMENT_REF)) {
        fxu_buf_append(&b, p, (size_t)(hit - p));
        const char *hex = hit + pre;
        size_t n = strspn(hex, "0123456789abcdef");
        const char *content = NULL;
        if (n == 64 && hex[64] == ']') {
            sqlite3_bind_text(st, 1, hex, 64, SQLITE_STATIC);
            if (fx_ledger_step(l, st) == SQLITE_ROW)
                content = (const char *)sqlite3_column_text(st, 0);
        }
        if (content) {
            fxu_buf_puts(&b, content);
            p = hex + 65;
        } else {
            fxu_buf_append(&b, hit, pre);
            p = hit + pre;
        }
        sqlite3_reset(st);
    }
    fxu_buf_puts(&b, p);
    sqlite3_finalize(st);
    return fxu_buf_steal(&b);
}
