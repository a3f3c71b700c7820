/*
 * sqlite-load.c - libsqlite3 loaded at the first sqlite3_open_v2()
 * (sqlite-load.h says why).  Until then the table holds the few calls
 * that may come without a database: the open that loads, the error
 * messages, and closing nothing.
 */
#include "config.h"

#define FX_SQLITE_LOAD_C
#include "sqlite-load.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char why[256]; /* "" loaded; else why not */

static void
load(void)
{
    void *h = dlopen(FX_SQLITE_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (h == NULL) {
        const char *e = dlerror();
        snprintf(why, sizeof(why), "cannot load SQLite: %s",
                 e ? e : FX_SQLITE_SONAME);
        return;
    }
    /* kept open for the process; every call or none */
    struct fx_sqlite_api api;
#define FX_SQLITE_SYM(n)                                                       \
    api.n = (__typeof__(api.n))dlsym(h, "sqlite3_" #n);                        \
    if (api.n == NULL) {                                                       \
        snprintf(why, sizeof(why), "cannot load SQLite: %s has no %s",         \
                 FX_SQLITE_SONAME, "sqlite3_" #n);                             \
        return;                                                                \
    }
    FX_SQLITE_FUNCS(FX_SQLITE_SYM)
#undef FX_SQLITE_SYM
    fx_sqlite = api;
}

static int
open_first(const char *path, sqlite3 **db, int flags, const char *vfs)
{
    pthread_once(&once, load);
    *db = NULL;
    if (why[0])
        return SQLITE_CANTOPEN;
    return fx_sqlite.open_v2(path, db, flags, vfs);
}

static const char *
errmsg_unloaded(sqlite3 *db)
{
    (void)db;
    return why[0] ? why : "out of memory";
}

static const char *
errstr_unloaded(int rc)
{
    (void)rc;
    return why[0] ? why : "unknown error";
}

static int
errcode_unloaded(sqlite3 *db)
{
    (void)db;
    return SQLITE_CANTOPEN;
}

static int
close_unloaded(sqlite3 *db)
{
    (void)db;
    return SQLITE_OK;
}

static void
free_unloaded(void *p)
{
    free(p);
}

struct fx_sqlite_api fx_sqlite = {
    .open_v2 = open_first,
    .close = close_unloaded,
    .close_v2 = close_unloaded,
    .errmsg = errmsg_unloaded,
    .errstr = errstr_unloaded,
    .errcode = errcode_unloaded,
    .free = free_unloaded,
};
