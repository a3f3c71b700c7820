/*
 * ledger-query.c - reading the ledger back: the latest records matching a
 * filter (time range, provider, model, tag, command, conversation, failed,
 * full-text words), one record by id, the messages that continue a
 * conversation, and the two renderings of a record: readable text and one
 * JSON line whose attempts have the `complete --json` shape.
 */
#include "config.h"

#include "ledger-int.h"
#include "sqlite-load.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

enum { ST_ATTEMPTS = 2, ST_BYID, ST_CONV };

#define RECORD_COLUMNS                                                         \
    "r.id, r.time, r.command, r.tag, r.conversation_id, r.provider,"           \
    " r.model, r.system, r.messages, r.text, r.finish_reason,"                 \
    " r.prompt_tokens, r.completion_tokens, r.latency_ms, r.exit_code,"        \
    " r.error, r.error_class, r.first_provider, r.cached_tokens,"              \
    " r.cache_write_tokens, r.reasoning_tokens, r.reasoning"

static char *
col_text(sqlite3_stmt *st, int i)
{
    const unsigned char *s = sqlite3_column_text(st, i);
    return s ? fxu_strdup((const char *)s) : NULL;
}

/* Parse a stored messages array; 0, or -1 when it is not one. */
static int
parse_messages(const char *json, struct fx_ledger_message **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    cJSON *arr = cJSON_Parse(json);
    if (!cJSON_IsArray(arr)) {
        cJSON_Delete(arr);
        return -1;
    }
    int count = cJSON_GetArraySize(arr);
    *out = fxu_xcalloc((size_t)count + 1, sizeof(**out));
    cJSON *m;
    cJSON_ArrayForEach(m, arr)
    {
        const char *role =
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(m, "role"));
        const char *content = cJSON_GetStringValue(
            cJSON_GetObjectItemCaseSensitive(m, "content"));
        (*out)[*n].role = fxu_strdup(role ? role : "user");
        (*out)[*n].content = fxu_strdup(content ? content : "");
        (*out)[*n].reasoning_state = fxu_strdup(cJSON_GetStringValue(
            cJSON_GetObjectItemCaseSensitive(m, "reasoning_state")));
        (*n)++;
    }
    cJSON_Delete(arr);
    return 0;
}

static void
read_record(sqlite3_stmt *st, struct fx_ledger_record *r)
{
    memset(r, 0, sizeof(*r));
    r->id = sqlite3_column_int64(st, 0);
    r->time = sqlite3_column_double(st, 1);
    r->command = col_text(st, 2);
    r->tag = col_text(st, 3);
    r->conversation_id = col_text(st, 4);
    r->provider = col_text(st, 5);
    r->model = col_text(st, 6);
    r->system = col_text(st, 7);
    const char *msgs = (const char *)sqlite3_column_text(st, 8);
    if (msgs && parse_messages(msgs, &r->messages, &r->nmessages) == 0)
        r->has_messages = 1;
    r->text = col_text(st, 9);
    r->finish_reason = col_text(st, 10);
    r->has_usage = sqlite3_column_type(st, 11) != SQLITE_NULL;
    r->prompt_tokens = (long)sqlite3_column_int64(st, 11);
    r->completion_tokens = (long)sqlite3_column_int64(st, 12);
    r->latency_ms = sqlite3_column_double(st, 13);
    r->exit_code = sqlite3_column_int(st, 14);
    r->error = col_text(st, 15);
    r->error_class = col_text(st, 16);
    r->first_provider = col_text(st, 17);
    r->cached_tokens = (long)sqlite3_column_int64(st, 18);
    r->cache_write_tokens = (long)sqlite3_column_int64(st, 19);
    r->reasoning_tokens = (long)sqlite3_column_int64(st, 20);
    r->reasoning = col_text(st, 21);
}

static int
read_attempts(fx_ledger *l, struct fx_ledger_record *r)
{
    sqlite3_stmt *st = fx_ledger_cached(
        l, ST_ATTEMPTS,
        "SELECT provider, model, outcome, error_class, http_status,"
        " retry_after, latency_ms, message, probe, continuation, text_bytes,"
        " prompt_tokens, completion_tokens, cached_tokens,"
        " cache_write_tokens, reasoning_tokens"
        " FROM attempts WHERE request_id = ? ORDER BY seq");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, r->id);
    size_t cap = 0;
    int rc;
    while ((rc = fx_ledger_step(l, st)) == SQLITE_ROW) {
        if (r->nattempts == cap) {
            cap = cap ? 2 * cap : 4;
            r->attempts = fxu_xrealloc(r->attempts, cap * sizeof(*r->attempts));
        }
        struct fx_ledger_attempt *a = &r->attempts[r->nattempts++];
        a->provider = col_text(st, 0);
        a->model = col_text(st, 1);
        a->outcome = col_text(st, 2);
        a->error_class = col_text(st, 3);
        a->http_status = (long)sqlite3_column_int64(st, 4);
        a->retry_after = sqlite3_column_type(st, 5) == SQLITE_NULL
                             ? -1
                             : sqlite3_column_double(st, 5);
        a->latency_ms = sqlite3_column_double(st, 6);
        a->message = col_text(st, 7);
        a->probe = sqlite3_column_int(st, 8);
        a->continuation = sqlite3_column_int(st, 9);
        a->text_bytes = (long)sqlite3_column_int64(st, 10);
        a->has_usage = sqlite3_column_type(st, 11) != SQLITE_NULL;
        a->prompt_tokens = (long)sqlite3_column_int64(st, 11);
        a->completion_tokens = (long)sqlite3_column_int64(st, 12);
        a->cached_tokens = (long)sqlite3_column_int64(st, 13);
        a->cache_write_tokens = (long)sqlite3_column_int64(st, 14);
        a->reasoning_tokens = (long)sqlite3_column_int64(st, 15);
    }
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Words to an FTS5 query: each one a quoted string (so "-", ":" or "OR"
 * mean nothing special), all required; a trailing '*' keeps its prefix
 * meaning. */
static char *
fts_query(const char *words)
{
    fxu_buf b;
    fxu_buf_init(&b);
    const char *p = words;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == '\n')
            p++;
        if (*p == '\0')
            break;
        const char *start = p;
        while (*p && *p != ' ' && *p != '\t' && *p != '\n')
            p++;
        size_t len = (size_t)(p - start);
        int prefix = len > 1 && start[len - 1] == '*';
        if (prefix)
            len--;
        if (b.len)
            fxu_buf_putc(&b, ' ');
        fxu_buf_putc(&b, '"');
        for (size_t i = 0; i < len; i++) {
            if (start[i] == '"')
                fxu_buf_putc(&b, '"');
            fxu_buf_putc(&b, start[i]);
        }
        fxu_buf_putc(&b, '"');
        if (prefix)
            fxu_buf_putc(&b, '*');
    }
    return b.data;
}

struct binds {
    const char *text[8];
    int ntext;
};

static void
add_cond(fxu_buf *sql, struct binds *bd, const char *cond, const char *value)
{
    if (value == NULL)
        return;
    fxu_buf_printf(sql, " AND %s", cond);
    bd->text[bd->ntext++] = value;
}

long
fx_ledger_each(fx_ledger *l, const struct fx_ledger_filter *f,
               fx_ledger_record_fn fn, void *ud)
{
    char *match = f->words ? fts_query(f->words) : NULL;
    if (f->words && match == NULL) /* only blanks: nothing to look for */
        return fx_ledger_fail(l, "empty search");
    fxu_buf sql;
    fxu_buf_init(&sql);
    struct binds bd = {{0}, 0};
    fxu_buf_puts(&sql, "SELECT * FROM (SELECT " RECORD_COLUMNS);
    /* With words the search index drives the query, newest rowid first,
     * so a common word over a million records stops after `limit`. */
    if (match) {
        fxu_buf_puts(&sql, " FROM requests_fts JOIN requests r"
                           " ON r.id = requests_fts.rowid"
                           " WHERE requests_fts MATCH ?");
        bd.text[bd.ntext++] = match;
    } else {
        fxu_buf_puts(&sql, " FROM requests r WHERE 1");
    }
    add_cond(&sql, &bd, "r.provider = ?", f->provider);
    add_cond(&sql, &bd, "r.model = ?", f->model);
    add_cond(&sql, &bd, "r.tag = ?", f->tag);
    add_cond(&sql, &bd, "r.command = ?", f->command);
    add_cond(&sql, &bd, "r.conversation_id = ?", f->conversation_id);
    if (f->failed)
        fxu_buf_puts(&sql, " AND r.exit_code <> 0");
    if (f->since > 0)
        fxu_buf_puts(&sql, " AND r.time >= ?");
    if (f->until > 0)
        fxu_buf_puts(&sql, " AND r.time < ?");
    /* Without words, newest by time: the requests_usage index is in that
     * order and holds provider, model, tag and exit code, so a filter that
     * matches little reads the index, not every prompt and answer. */
    fxu_buf_puts(&sql, match ? " ORDER BY requests_fts.rowid DESC"
                             : " ORDER BY r.time DESC, r.id DESC");
    if (f->limit > 0)
        fxu_buf_printf(&sql, " LIMIT %ld", f->limit);
    fxu_buf_puts(&sql, match ? ") ORDER BY id" : ") ORDER BY time, id");

    sqlite3_stmt *st = fx_ledger_prepare(l, sql.data);
    fxu_buf_free(&sql);
    if (st == NULL) {
        free(match);
        return -1;
    }
    int i = 1;
    for (int k = 0; k < bd.ntext; k++)
        sqlite3_bind_text(st, i++, bd.text[k], -1, SQLITE_STATIC);
    if (f->since > 0)
        sqlite3_bind_double(st, i++, f->since);
    if (f->until > 0)
        sqlite3_bind_double(st, i++, f->until);
    long n = 0;
    int rc;
    while ((rc = fx_ledger_step(l, st)) == SQLITE_ROW) {
        struct fx_ledger_record r;
        read_record(st, &r);
        if (read_attempts(l, &r) < 0 || fx_ledger_attach_get(l, &r) < 0) {
            fx_ledger_record_free(&r);
            rc = SQLITE_ERROR;
            break;
        }
        n++;
        int stop = fn(ud, &r);
        fx_ledger_record_free(&r);
        if (stop) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_finalize(st);
    free(match);
    return rc == SQLITE_DONE ? n : -1;
}

int
fx_ledger_get(fx_ledger *l, int64_t id, struct fx_ledger_record *out)
{
    memset(out, 0, sizeof(*out));
    sqlite3_stmt *st = fx_ledger_cached(
        l, ST_BYID, "SELECT " RECORD_COLUMNS " FROM requests r WHERE id = ?");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    int rc = fx_ledger_step(l, st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        return rc == SQLITE_DONE ? 1 : -1;
    }
    read_record(st, out);
    sqlite3_reset(st);
    out->tool_calls = fx_ledger_tools_get(l, out->id);
    if (read_attempts(l, out) < 0 || fx_ledger_attach_get(l, out) < 0 ||
        fx_ledger_fragments_get(l, out) < 0) {
        fx_ledger_record_free(out);
        return -1;
    }
    return 0;
}

int
fx_ledger_latest_cid(fx_ledger *l, const char *command, char **cid)
{
    *cid = NULL;
    sqlite3_stmt *st = fx_ledger_prepare(
        l, command ? "SELECT conversation_id FROM requests"
                     " WHERE conversation_id IS NOT NULL AND command = ?"
                     " ORDER BY id DESC LIMIT 1"
                   /* a batch item is no conversation to go on with */
                   : "SELECT conversation_id FROM requests"
                     " WHERE conversation_id IS NOT NULL"
                     " AND command IN ('complete', 'chat')"
                     " ORDER BY id DESC LIMIT 1");
    if (st == NULL)
        return -1;
    if (command)
        sqlite3_bind_text(st, 1, command, -1, SQLITE_STATIC);
    int rc = fx_ledger_step(l, st);
    if (rc == SQLITE_ROW)
        *cid = col_text(st, 0);
    sqlite3_finalize(st);
    if (rc == SQLITE_ROW)
        return 0;
    return rc == SQLITE_DONE ? 1 : -1;
}

int
fx_ledger_conversation(fx_ledger *l, const char *cid,
                       struct fx_ledger_message **msgs, size_t *n,
                       char **system)
{
    *msgs = NULL;
    *n = 0;
    *system = NULL;
    /* The latest answered turn; an unanswered last turn (a failure) is
     * not repeated, so the new question follows the last answer. */
    sqlite3_stmt *st = fx_ledger_cached(
        l, ST_CONV,
        "SELECT messages, text, system, id FROM requests"
        " WHERE conversation_id = ?"
        " ORDER BY (exit_code = 0 AND text IS NOT NULL) DESC, id DESC"
        " LIMIT 1");
    if (st == NULL)
        return -1;
    sqlite3_bind_text(st, 1, cid, -1, SQLITE_TRANSIENT);
    int rc = fx_ledger_step(l, st);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(st);
        return rc == SQLITE_DONE ? 1 : -1;
    }
    const char *json = (const char *)sqlite3_column_text(st, 0);
    if (json == NULL || parse_messages(json, msgs, n) < 0) {
        sqlite3_reset(st);
        return fx_ledger_fail(l,
                              "conversation %s: its text was not kept "
                              "([log] mode = usage)",
                              cid);
    }
    fx_ledger_attach_to_messages(l, sqlite3_column_int64(st, 3), *msgs, *n);
    for (size_t i = 0; i < *n; i++) { /* fragments stored once: back in */
        char *full = fx_ledger_fragments_expand(l, (*msgs)[i].content);
        free((*msgs)[i].content);
        (*msgs)[i].content = full;
    }
    const char *text = (const char *)sqlite3_column_text(st, 1);
    if (text) {
        *msgs = fxu_xrealloc(*msgs, (*n + 1) * sizeof(**msgs));
        /* no attachments, no tool calls: every field set */
        memset(&(*msgs)[*n], 0, sizeof(**msgs));
        (*msgs)[*n].role = fxu_strdup("assistant");
        (*msgs)[*n].content = fxu_strdup(text);
        (*msgs)[*n].reasoning_state =
            fx_ledger_state_get(l, sqlite3_column_int64(st, 3));
        (*n)++;
    }
    *system = col_text(st, 2);
    sqlite3_reset(st);
    return 0;
}

/* ---- rendering ------------------------------------------------------ */

static double
tenths(double ms)
{
    return fxu_round(ms * 10.0) / 10.0;
}

static void
add_string_or_null(cJSON *o, const char *key, const char *s)
{
    if (s)
        cJSON_AddStringToObject(o, key, s);
    else
        cJSON_AddNullToObject(o, key);
}

/* The parts of a usage object, as `complete --json` prints them. */
static void
usage_parts(cJSON *u, long cached, long write, long reasoning)
{
    cJSON_AddNumberToObject(u, "cached_tokens", (double)cached);
    cJSON_AddNumberToObject(u, "cache_write_tokens", (double)write);
    cJSON_AddNumberToObject(u, "reasoning_tokens", (double)reasoning);
}

static cJSON *
attempt_json(const struct fx_ledger_attempt *a)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "name", a->provider ? a->provider : "");
    cJSON_AddStringToObject(o, "model", a->model ? a->model : "");
    cJSON_AddStringToObject(o, "outcome", a->outcome ? a->outcome : "");
    if (a->http_status)
        cJSON_AddNumberToObject(o, "http_status", (double)a->http_status);
    else
        cJSON_AddNullToObject(o, "http_status");
    add_string_or_null(o, "error_class", a->error_class);
    if (a->retry_after >= 0)
        cJSON_AddNumberToObject(o, "retry_after",
                                fxu_round(a->retry_after * 1000) / 1000.0);
    else
        cJSON_AddNullToObject(o, "retry_after");
    cJSON_AddNumberToObject(o, "latency_ms", tenths(a->latency_ms));
    if (a->message)
        cJSON_AddStringToObject(o, "message", a->message);
    cJSON_AddBoolToObject(o, "probe", a->probe);
    cJSON_AddBoolToObject(o, "continuation", a->continuation);
    cJSON_AddNumberToObject(o, "text_bytes", (double)a->text_bytes);
    if (a->has_usage) {
        cJSON *u = cJSON_AddObjectToObject(o, "usage");
        cJSON_AddNumberToObject(u, "prompt_tokens", (double)a->prompt_tokens);
        cJSON_AddNumberToObject(u, "completion_tokens",
                                (double)a->completion_tokens);
        usage_parts(u, a->cached_tokens, a->cache_write_tokens,
                    a->reasoning_tokens);
    } else {
        cJSON_AddNullToObject(o, "usage");
    }
    return o;
}

static void
iso_time(double t, char *out, size_t size)
{
    time_t secs = (time_t)fxu_floor(t);
    struct tm tm;
    gmtime_r(&secs, &tm);
    int ms = (int)((t - fxu_floor(t)) * 1000.0);
    char base[32];
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, size, "%s.%03dZ", base, ms > 999 ? 999 : ms);
}

char *
fx_ledger_record_json(const struct fx_ledger_record *r)
{
    cJSON *o = cJSON_CreateObject();
    char when[48];
    iso_time(r->time, when, sizeof(when));
    cJSON_AddNumberToObject(o, "id", (double)r->id);
    cJSON_AddStringToObject(o, "time", when);
    add_string_or_null(o, "command", r->command);
    add_string_or_null(o, "tag", r->tag);
    add_string_or_null(o, "conversation_id", r->conversation_id);
    add_string_or_null(o, "provider", r->provider);
    add_string_or_null(o, "model", r->model);
    add_string_or_null(o, "system", r->system);
    if (r->has_messages) {
        cJSON *arr = cJSON_AddArrayToObject(o, "messages");
        for (size_t i = 0; i < r->nmessages; i++) {
            cJSON *m = cJSON_CreateObject();
            cJSON_AddStringToObject(m, "role", r->messages[i].role);
            cJSON_AddStringToObject(m, "content", r->messages[i].content);
            cJSON_AddItemToArray(arr, m);
        }
    } else {
        cJSON_AddNullToObject(o, "messages");
    }
    add_string_or_null(o, "text", r->text);
    add_string_or_null(o, "finish_reason", r->finish_reason);
    if (r->reasoning)
        cJSON_AddStringToObject(o, "reasoning", r->reasoning);
    if (r->has_usage) {
        cJSON *u = cJSON_AddObjectToObject(o, "usage");
        cJSON_AddNumberToObject(u, "prompt_tokens", (double)r->prompt_tokens);
        cJSON_AddNumberToObject(u, "completion_tokens",
                                (double)r->completion_tokens);
        cJSON_AddNumberToObject(
            u, "total_tokens",
            (double)(r->prompt_tokens + r->completion_tokens));
        usage_parts(u, r->cached_tokens, r->cache_write_tokens,
                    r->reasoning_tokens);
    } else {
        cJSON_AddNullToObject(o, "usage");
    }
    cJSON_AddNumberToObject(o, "latency_ms", tenths(r->latency_ms));
    cJSON_AddNumberToObject(o, "exit_code", r->exit_code);
    if (r->exit_code != 0) {
        add_string_or_null(o, "error", r->error);
        add_string_or_null(o, "error_class", r->error_class);
    }
    fx_ledger_attach_add_json(o, r);
    cJSON *arr = cJSON_AddArrayToObject(o, "attempts");
    for (size_t i = 0; i < r->nattempts; i++)
        cJSON_AddItemToArray(arr, attempt_json(&r->attempts[i]));
    fx_ledger_tools_add_json(o, r->tool_calls);
    cJSON *fr = r->nfragments ? cJSON_AddArrayToObject(o, "fragments") : NULL;
    for (size_t i = 0; i < r->nfragments; i++) {
        cJSON *f = cJSON_CreateObject();
        cJSON_AddStringToObject(f, "name", r->fragments[i].name);
        cJSON_AddStringToObject(f, "sha256", r->fragments[i].hash);
        cJSON_AddItemToArray(fr, f);
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    return s;
}

/* The listing shows this many lines of a prompt or an answer, then how
 * many more there are; `logs show ID` prints them whole. */
#define LISTED_LINES 8

/* Each line of `s` after `prefix`; with max > 0, the first max lines and
 * "… N more lines". */
static void
put_indented_cut(fxu_buf *b, const char *prefix, const char *s, size_t max)
{
    size_t shown = 0;
    while (*s) {
        const char *nl = strchr(s, '\n');
        size_t len = nl ? (size_t)(nl - s) : strlen(s);
        if (max > 0 && shown == max) {
            size_t more = 1;
            for (const char *p = s; (p = strchr(p, '\n')) != NULL && p[1]; p++)
                more++;
            fxu_buf_printf(b, "%s\xe2\x80\xa6 %zu more line%s\n", prefix, more,
                           more == 1 ? "" : "s");
            return;
        }
        fxu_buf_puts(b, prefix);
        fxu_buf_append(b, s, len);
        fxu_buf_putc(b, '\n');
        s += len + (nl != NULL);
        shown++;
    }
}

/* Each line of `s` after `prefix`. */
static void
put_indented(fxu_buf *b, const char *prefix, const char *s)
{
    while (*s) {
        const char *nl = strchr(s, '\n');
        size_t len = nl ? (size_t)(nl - s) : strlen(s);
        fxu_buf_puts(b, prefix);
        fxu_buf_append(b, s, len);
        fxu_buf_putc(b, '\n');
        s += len + (nl != NULL);
    }
}

/* "12+34 tokens", with its parts when there are any: "(5 cached, 3
 * cache write, 20 reasoning)". */
static void
put_usage(fxu_buf *b, const char *sep, long in, long out, long cached,
          long write, long reasoning)
{
    fxu_buf_printf(b, "%s%ld+%ld tokens", sep, in, out);
    if (cached == 0 && write == 0 && reasoning == 0)
        return;
    const char *s = " (";
    if (cached) {
        fxu_buf_printf(b, "%s%ld cached", s, cached);
        s = ", ";
    }
    if (write) {
        fxu_buf_printf(b, "%s%ld cache write", s, write);
        s = ", ";
    }
    if (reasoning)
        fxu_buf_printf(b, "%s%ld reasoning", s, reasoning);
    fxu_buf_putc(b, ')');
}

static void
put_attempts(fxu_buf *b, const struct fx_ledger_record *r)
{
    for (size_t i = 0; i < r->nattempts; i++) {
        const struct fx_ledger_attempt *a = &r->attempts[i];
        fxu_buf_printf(b, "  attempt %zu: %s", i + 1, a->provider);
        if (a->model && *a->model)
            fxu_buf_printf(b, " %s", a->model);
        fxu_buf_printf(b, " %s", a->outcome ? a->outcome : "?");
        if (a->error_class)
            fxu_buf_printf(b, " %s", a->error_class);
        if (a->http_status)
            fxu_buf_printf(b, " HTTP %ld", a->http_status);
        fxu_buf_printf(b, " %.1f ms", a->latency_ms);
        if (a->message)
            fxu_buf_printf(b, " (%s)", a->message);
        if (a->has_usage)
            put_usage(b, ", ", a->prompt_tokens, a->completion_tokens,
                      a->cached_tokens, a->cache_write_tokens,
                      a->reasoning_tokens);
        fxu_buf_putc(b, '\n');
    }
}

char *
fx_ledger_record_text(const struct fx_ledger_record *r, int attempts)
{
    fxu_buf b;
    fxu_buf_init(&b);
    time_t secs = (time_t)r->time;
    struct tm tm;
    char when[32];
    localtime_r(&secs, &tm);
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", &tm);
    fxu_buf_printf(&b, "#%lld  %s  %s", (long long)r->id, when,
                   r->command ? r->command : "?");
    if (r->tag)
        fxu_buf_printf(&b, "  tag %s", r->tag);
    if (r->conversation_id)
        fxu_buf_printf(&b, "  conversation %s", r->conversation_id);
    fxu_buf_putc(&b, '\n');
    if (r->exit_code == 0)
        fxu_buf_printf(&b, "  %s %s", r->provider ? r->provider : "?",
                       r->model ? r->model : "");
    else
        fxu_buf_printf(&b, "  failed (exit %d, %s)", r->exit_code,
                       r->error_class ? r->error_class : "unknown");
    if (r->finish_reason)
        fxu_buf_printf(&b, ", %s", r->finish_reason);
    if (r->has_usage)
        put_usage(&b, ", ", r->prompt_tokens, r->completion_tokens,
                  r->cached_tokens, r->cache_write_tokens, r->reasoning_tokens);
    fxu_buf_printf(&b, ", %.1f ms", r->latency_ms);
    if (r->first_provider && r->provider &&
        strcmp(r->first_provider, r->provider) != 0)
        fxu_buf_printf(&b, ", failover from %s", r->first_provider);
    fxu_buf_putc(&b, '\n');
    if (r->exit_code != 0 && r->error)
        fxu_buf_printf(&b, "  error: %s\n", r->error);
    if (attempts)
        put_attempts(&b, r);
    for (size_t i = 0; i < r->nfragments; i++) /* stored once, by hash */
        fxu_buf_printf(&b, "  fragment: %s (sha256 %.12s, %lld bytes)\n",
                       r->fragments[i].name, r->fragments[i].hash,
                       r->fragments[i].size < 0 ? 0 : r->fragments[i].size);
    if (!r->has_messages && r->text == NULL) {
        fxu_buf_puts(&b, "  (text not kept)\n");
        return fxu_buf_steal(&b);
    }
    if (r->system && attempts)
        put_indented(&b, "  system: ", r->system);
    /* Without attempts only this turn's question: the history of a chat
     * is in the earlier records. */
    size_t from = 0;
    for (size_t i = 0; !attempts && i < r->nmessages; i++)
        if (strcmp(r->messages[i].role, "assistant") == 0)
            from = i + 1;
    for (size_t i = from; i < r->nmessages; i++) {
        const struct fx_ledger_message *m = &r->messages[i];
        put_indented_cut(&b,
                         strcmp(m->role, "assistant") == 0 ? "  < " : "  > ",
                         m->content, attempts ? 0 : LISTED_LINES);
    }
    fx_ledger_attach_text(&b, r, from, attempts);
    if (r->reasoning && attempts)
        put_indented(&b, "  reasoning: ", r->reasoning);
    if (attempts)
        fx_ledger_tools_text(&b, r->tool_calls);
    if (r->text)
        put_indented_cut(&b, "  ", r->text, attempts ? 0 : LISTED_LINES);
    return fxu_buf_steal(&b);
}
