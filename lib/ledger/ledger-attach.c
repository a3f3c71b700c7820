/*
 * ledger-attach.c - what a request's messages carried: each attachment's
 * name, type, size and SHA-256, and where it came from (a file's absolute
 * path, a URL), never its bytes.  Kept in full mode only (a file name is
 * as telling as a prompt), in a table of its own made when the first one
 * is kept, outside the versioned schema (as ledger-state.c does); a
 * pruned record takes its attachments along (trigger).  `logs` lists
 * them under the question, `logs show` with whole hashes.
 *
 *   attachments(request_id, seq, message, name, mime, size, sha256,
 *               source), PRIMARY KEY (request_id, seq)
 */
#include "config.h"

#include "ledger-int.h"
#include "sqlite-load.h"

#include <stdlib.h>
#include <string.h>

static const char make_table[] =
    "CREATE TABLE IF NOT EXISTS attachments("
    " request_id INTEGER NOT NULL, seq INTEGER NOT NULL,"
    " message INTEGER NOT NULL, name TEXT NOT NULL, mime TEXT NOT NULL,"
    " size INTEGER NOT NULL, sha256 TEXT NOT NULL, source TEXT NOT NULL,"
    " PRIMARY KEY (request_id, seq));"
    "CREATE TRIGGER IF NOT EXISTS attachments_ad AFTER DELETE ON"
    " requests BEGIN"
    " DELETE FROM attachments WHERE request_id = old.id; END;";

int
fx_ledger_attach_put(fx_ledger *l, const struct fx_ledger_record *rec)
{
    if (rec->nattachments == 0)
        return 0;
    if (fx_ledger_exec(l, make_table) < 0)
        return -1;
    sqlite3_stmt *st = fx_ledger_prepare(
        l, "INSERT OR REPLACE INTO attachments(request_id, seq, message,"
           " name, mime, size, sha256, source) VALUES (?,?,?,?,?,?,?,?)");
    if (st == NULL)
        return -1;
    int rc = SQLITE_DONE;
    for (size_t i = 0; i < rec->nattachments && rc == SQLITE_DONE; i++) {
        const struct fx_ledger_attach *a = &rec->attachments[i];
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, rec->id);
        sqlite3_bind_int64(st, 2, (sqlite3_int64)i);
        sqlite3_bind_int64(st, 3, a->message);
        sqlite3_bind_text(st, 4, a->name, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 5, a->mime, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 6, a->size);
        sqlite3_bind_text(st, 7, a->sha256, -1, SQLITE_STATIC);
        sqlite3_bind_text(st, 8, a->source, -1, SQLITE_STATIC);
        rc = fx_ledger_step(l, st);
    }
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return fx_ledger_fail(l, "cannot keep an attachment: %s",
                              sqlite3_errmsg(fx_ledger_db(l)));
    return 0;
}

static char *
col(sqlite3_stmt *st, int i)
{
    const unsigned char *t = sqlite3_column_text(st, i);
    return fxu_strdup(t ? (const char *)t : "");
}

int
fx_ledger_attach_get(fx_ledger *l, struct fx_ledger_record *rec)
{
    sqlite3_stmt *st = NULL;
    /* no table yet: nothing was ever attached (not an error) */
    if (sqlite3_prepare_v2(fx_ledger_db(l),
                           "SELECT message, name, mime, size, sha256, source"
                           " FROM attachments WHERE request_id = ?"
                           " ORDER BY seq",
                           -1, &st, NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        return 0;
    }
    sqlite3_bind_int64(st, 1, rec->id);
    while (sqlite3_step(st) == SQLITE_ROW) {
        struct fx_ledger_attach *a = fx_ledger_attach_grow(rec);
        a->message = (long)sqlite3_column_int64(st, 0);
        a->name = col(st, 1);
        a->mime = col(st, 2);
        a->size = (long long)sqlite3_column_int64(st, 3);
        a->sha256 = col(st, 4);
        a->source = col(st, 5);
    }
    sqlite3_finalize(st);
    return 0;
}

void
fx_ledger_attach_to_messages(fx_ledger *l, int64_t id,
                             struct fx_ledger_message *msgs, size_t n)
{
    struct fx_ledger_record rec;
    memset(&rec, 0, sizeof(rec));
    rec.id = id;
    fx_ledger_attach_get(l, &rec);
    for (size_t i = 0; i < rec.nattachments; i++) {
        struct fx_ledger_attach *a = &rec.attachments[i];
        if (a->message < 0 || (size_t)a->message >= n)
            continue;
        struct fx_ledger_message *m = &msgs[a->message];
        m->att = fxu_xrealloc(m->att, (m->natt + 1) * sizeof(*m->att));
        m->att[m->natt++] = *a; /* moved */
        memset(a, 0, sizeof(*a));
    }
    fx_ledger_attach_free(&rec);
}
