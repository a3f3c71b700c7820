/*
 * sqlite-load.h - SQLite, loaded (dlopen) at the first database opened
 * rather than linked: most flexiai processes (a one-shot complete that
 * appends to the spool) never open one, and loading libsqlite3 and the
 * libm it needs at start cost them about half a millisecond and 0.6 MB
 * (make bench, section 1).  Files of lib/ that use SQLite include this in
 * place of <sqlite3.h>; their sqlite3_* calls go through fx_sqlite.
 * sqlite3_open_v2() loads the library; before that (or when it cannot be
 * loaded) sqlite3_errmsg() and sqlite3_errstr() say why, and
 * sqlite3_close() of the NULL handle does nothing.  Not installed.
 */
#ifndef FX_SQLITE_LOAD_H
#define FX_SQLITE_LOAD_H

#include <sqlite3.h>

/* clang-format off */
#define FX_SQLITE_FUNCS(X)                                                   \
    X(open_v2) X(close) X(close_v2) X(exec) X(prepare_v2) X(step) X(reset)   \
    X(finalize) X(clear_bindings) X(bind_blob) X(bind_double) X(bind_int)    \
    X(bind_int64) X(bind_null) X(bind_text) X(column_blob) X(column_bytes)   \
    X(column_double) X(column_int) X(column_int64) X(column_text)            \
    X(column_type) X(busy_timeout) X(changes) X(last_insert_rowid)           \
    X(db_readonly) X(errcode) X(errmsg) X(errstr) X(free)
/* clang-format on */

struct fx_sqlite_api {
#define FX_SQLITE_SLOT(n) __typeof__(sqlite3_##n) *n;
    FX_SQLITE_FUNCS(FX_SQLITE_SLOT)
#undef FX_SQLITE_SLOT
};
extern struct fx_sqlite_api fx_sqlite;

#ifndef FX_SQLITE_LOAD_C
#define sqlite3_open_v2 fx_sqlite.open_v2
#define sqlite3_close fx_sqlite.close
#define sqlite3_close_v2 fx_sqlite.close_v2
#define sqlite3_exec fx_sqlite.exec
#define sqlite3_prepare_v2 fx_sqlite.prepare_v2
#define sqlite3_step fx_sqlite.step
#define sqlite3_reset fx_sqlite.reset
#define sqlite3_finalize fx_sqlite.finalize
#define sqlite3_clear_bindings fx_sqlite.clear_bindings
#define sqlite3_bind_blob fx_sqlite.bind_blob
#define sqlite3_bind_double fx_sqlite.bind_double
#define sqlite3_bind_int fx_sqlite.bind_int
#define sqlite3_bind_int64 fx_sqlite.bind_int64
#define sqlite3_bind_null fx_sqlite.bind_null
#define sqlite3_bind_text fx_sqlite.bind_text
#define sqlite3_column_blob fx_sqlite.column_blob
#define sqlite3_column_bytes fx_sqlite.column_bytes
#define sqlite3_column_double fx_sqlite.column_double
#define sqlite3_column_int fx_sqlite.column_int
#define sqlite3_column_int64 fx_sqlite.column_int64
#define sqlite3_column_text fx_sqlite.column_text
#define sqlite3_column_type fx_sqlite.column_type
#define sqlite3_busy_timeout fx_sqlite.busy_timeout
#define sqlite3_changes fx_sqlite.changes
#define sqlite3_last_insert_rowid fx_sqlite.last_insert_rowid
#define sqlite3_db_readonly fx_sqlite.db_readonly
#define sqlite3_errcode fx_sqlite.errcode
#define sqlite3_errmsg fx_sqlite.errmsg
#define sqlite3_errstr fx_sqlite.errstr
#define sqlite3_free fx_sqlite.free
#endif

#endif
