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

#include "attach.h"
#include "ledger-int.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <sqlite3.h>
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

static struct fx_ledger_attach *
grow(struct fx_ledger_record *rec)
{
    rec->attachments = fxu_xrealloc(
        rec->attachments, (rec->nattachments + 1) * sizeof(*rec->attachments));
    struct fx_ledger_attach *a = &rec->attachments[rec->nattachments++];
    memset(a, 0, sizeof(*a));
    return a;
}

void
fx_ledger_attach_from_msgs(struct fx_ledger_record *rec,
                           const flexiai_message *msgs, size_t n)
{
    long kept = 0;
    for (size_t i = 0; i < n; i++) {
        if (msgs[i].role && strcmp(msgs[i].role, "system") == 0)
            continue;
        for (size_t k = 0; k < msgs[i].nattachments; k++) {
            const flexiai_attachment *src = &msgs[i].attachments[k];
            flexiai_attachment_info info;
            fx_attach_describe(src, &info);
            struct fx_ledger_attach *a = grow(rec);
            a->message = kept;
            a->name = fxu_strdup(fx_attach_name(src));
            a->mime = fxu_strdup(info.mime);
            a->size = info.size;
            a->sha256 = fxu_strdup(info.sha256);
            char *abs = src->path ? realpath(src->path, NULL) : NULL;
            a->source = abs ? abs
                            : fxu_strdup(src->path  ? src->path
                                         : src->url ? src->url
                                                    : "stdin");
        }
        kept++;
    }
}

char *
fx_ledger_attach_json(const struct fx_ledger_record *rec)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < rec->nattachments; i++) {
        const struct fx_ledger_attach *a = &rec->attachments[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddNumberToObject(o, "message", (double)a->message);
        cJSON_AddStringToObject(o, "name", a->name);
        cJSON_AddStringToObject(o, "mime", a->mime);
        cJSON_AddNumberToObject(o, "size", (double)a->size);
        cJSON_AddStringToObject(o, "sha256", a->sha256);
        cJSON_AddStringToObject(o, "source", a->source);
        cJSON_AddItemToArray(arr, o);
    }
    char *s = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    return s;
}

static char *
member(const cJSON *o, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    return fxu_strdup(cJSON_IsString(v) ? v->valuestring : "");
}

void
fx_ledger_attach_from_json(struct fx_ledger_record *rec, const cJSON *arr)
{
    const cJSON *o;
    cJSON_ArrayForEach(o, arr)
    {
        const cJSON *m = cJSON_GetObjectItemCaseSensitive(o, "message");
        const cJSON *size = cJSON_GetObjectItemCaseSensitive(o, "size");
        if (!cJSON_IsNumber(m) || !cJSON_IsNumber(size))
            continue;
        struct fx_ledger_attach *a = grow(rec);
        a->message = (long)m->valuedouble;
        a->size = (long long)size->valuedouble;
        a->name = member(o, "name");
        a->mime = member(o, "mime");
        a->sha256 = member(o, "sha256");
        a->source = member(o, "source");
    }
}

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
        struct fx_ledger_attach *a = grow(rec);
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
fx_ledger_attach_text(fxu_buf *b, const struct fx_ledger_record *rec,
                      size_t from, int full)
{
    for (size_t i = 0; i < rec->nattachments; i++) {
        const struct fx_ledger_attach *a = &rec->attachments[i];
        if (a->message < (long)from)
            continue;
        fxu_buf_printf(b, "  attached: %s (%s", full ? a->source : a->name,
                       a->mime);
        if (a->size >= 0)
            fxu_buf_printf(b, ", %lld bytes", a->size);
        if (a->sha256[0])
            fxu_buf_printf(b, ", sha256 %.*s", full ? 64 : 12, a->sha256);
        fxu_buf_puts(b, ")\n");
    }
}

void
fx_ledger_attach_add_json(cJSON *o, const struct fx_ledger_record *rec)
{
    if (rec->nattachments == 0)
        return;
    char *s = fx_ledger_attach_json(rec);
    cJSON *arr = cJSON_Parse(s);
    free(s);
    if (arr)
        cJSON_AddItemToObject(o, "attachments", arr);
}

void
fx_ledger_attach_free(struct fx_ledger_record *rec)
{
    for (size_t i = 0; i < rec->nattachments; i++) {
        free(rec->attachments[i].name);
        free(rec->attachments[i].mime);
        free(rec->attachments[i].sha256);
        free(rec->attachments[i].source);
    }
    free(rec->attachments);
    rec->attachments = NULL;
    rec->nattachments = 0;
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

void
fx_ledger_attach_public(struct fx_ledger_message *m,
                        flexiai_ledger_message *out)
{
    out->attachments = NULL;
    out->sha256 = NULL;
    out->nattachments = 0;
    if (m->natt == 0)
        return;
    out->attachments = fxu_xcalloc(m->natt, sizeof(*out->attachments));
    out->sha256 = fxu_xcalloc(m->natt, sizeof(*out->sha256));
    for (size_t i = 0; i < m->natt; i++) {
        struct fx_ledger_attach *a = &m->att[i];
        flexiai_attachment *o = &out->attachments[i];
        if (a->source[0] == '/')
            o->path = a->source;
        else if (strcmp(a->source, "stdin") != 0)
            o->url = a->source;
        else
            free(a->source); /* stdin is gone: not sent again */
        if (o->path == NULL && o->url == NULL) {
            free(a->name);
            free(a->mime);
            free(a->sha256);
            continue;
        }
        o->mime = a->mime;
        o->name = a->name;
        out->sha256[out->nattachments] = a->sha256;
        out->attachments[out->nattachments++] = *o;
    }
    free(m->att);
    m->att = NULL;
    m->natt = 0;
}

void
fx_ledger_attach_public_free(flexiai_ledger_message *m)
{
    for (size_t i = 0; i < m->nattachments; i++) {
        free((char *)m->attachments[i].path);
        free((char *)m->attachments[i].url);
        free((char *)m->attachments[i].mime);
        free((char *)m->attachments[i].name);
        free(m->sha256[i]);
    }
    free(m->attachments);
    free(m->sha256);
}
