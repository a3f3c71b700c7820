/*
 * ledger-attach-record.c - a record's attachments without the database:
 * taken from the messages sent (each file described once more: type,
 * size, SHA-256, its absolute path), carried through the spool as JSON,
 * shown by `logs`, handed to -C through the public API, freed.
 */
#include "config.h"

#include "attach.h"
#include "ledger-int.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

struct fx_ledger_attach *
fx_ledger_attach_grow(struct fx_ledger_record *rec)
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
            struct fx_ledger_attach *a = fx_ledger_attach_grow(rec);
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
        struct fx_ledger_attach *a = fx_ledger_attach_grow(rec);
        a->message = (long)m->valuedouble;
        a->size = (long long)size->valuedouble;
        a->name = member(o, "name");
        a->mime = member(o, "mime");
        a->sha256 = member(o, "sha256");
        a->source = member(o, "source");
    }
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
