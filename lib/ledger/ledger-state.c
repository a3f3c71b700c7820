/*
 * ledger-state.c - an answer's reasoning state (flexiai_result.
 * reasoning_state: thinking blocks with their signatures, thought
 * signatures), kept in full mode so that -C can send it back with the
 * answer.  It lives in a table of its own, made when the first state is
 * kept, outside the versioned schema: an older flexiai reads the database
 * as before and simply has no states; a pruned record takes its state
 * along (trigger).
 *
 *   reasoning_states(request_id INTEGER PRIMARY KEY, state TEXT NOT NULL)
 */
#include "config.h"

#include "ledger-int.h"
#include "sqlite-load.h"

#include <stdlib.h>

static const char make_table[] =
    "CREATE TABLE IF NOT EXISTS reasoning_states("
    " request_id INTEGER PRIMARY KEY, state TEXT NOT NULL);"
    "CREATE TRIGGER IF NOT EXISTS reasoning_states_ad AFTER DELETE ON"
    " requests BEGIN"
    " DELETE FROM reasoning_states WHERE request_id = old.id; END;";

int
fx_ledger_state_put(fx_ledger *l, int64_t request_id, const char *state)
{
    if (state == NULL || *state == '\0')
        return 0;
    if (fx_ledger_exec(l, make_table) < 0)
        return -1;
    sqlite3_stmt *st = fx_ledger_prepare(
        l, "INSERT OR REPLACE INTO reasoning_states(request_id, state)"
           " VALUES (?, ?)");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, request_id);
    sqlite3_bind_text(st, 2, state, -1, SQLITE_TRANSIENT);
    int rc = fx_ledger_step(l, st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return fx_ledger_fail(l, "cannot keep a reasoning state: %s",
                              sqlite3_errmsg(fx_ledger_db(l)));
    return 0;
}

char *
fx_ledger_state_get(fx_ledger *l, int64_t request_id)
{
    sqlite3 *db = fx_ledger_db(l);
    sqlite3_stmt *st = NULL;
    /* no table yet: no state was ever kept (not an error) */
    if (sqlite3_prepare_v2(db,
                           "SELECT state FROM reasoning_states"
                           " WHERE request_id = ?",
                           -1, &st, NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        return NULL;
    }
    sqlite3_bind_int64(st, 1, request_id);
    char *state = NULL;
    if (fx_ledger_step(l, st) == SQLITE_ROW) {
        const char *s = (const char *)sqlite3_column_text(st, 0);
        state = s ? fxu_strdup(s) : NULL;
    }
    sqlite3_finalize(st);
    return state;
}
