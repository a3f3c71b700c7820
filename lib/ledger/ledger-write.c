/*
 * ledger-write.c - inserting records (built by ledger-record.c) into the
 * database, one at a time or grouped in a batch transaction, with their
 * attempts.  In mode "usage" the system prompt, messages and answer never
 * reach the file.  API keys never do in any mode: a result holds none.
 */
#include "config.h"

#include "ledger-int.h"
#include "sqlite-load.h"

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { ST_REQUEST, ST_ATTEMPT };

static char *
messages_json(const struct fx_ledger_record *rec)
{
    cJSON *arr = cJSON_CreateArray();
    for (size_t i = 0; i < rec->nmessages; i++) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "role", rec->messages[i].role);
        cJSON_AddStringToObject(m, "content", rec->messages[i].content);
        if (rec->messages[i].reasoning_state)
            cJSON_AddStringToObject(m, "reasoning_state",
                                    rec->messages[i].reasoning_state);
        cJSON_AddItemToArray(arr, m);
    }
    char *s = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    return s;
}

/* What full-text search sees of the question: the user messages of this
 * turn (after the last answer), so an old turn of a chat does not match
 * every later one. */
static char *
turn_prompt(const struct fx_ledger_record *rec)
{
    size_t from = 0;
    for (size_t i = 0; i < rec->nmessages; i++)
        if (strcmp(rec->messages[i].role, "assistant") == 0)
            from = i + 1;
    fxu_buf b;
    fxu_buf_init(&b);
    for (size_t i = from; i < rec->nmessages; i++) {
        if (strcmp(rec->messages[i].role, "user") != 0)
            continue;
        if (b.len)
            fxu_buf_puts(&b, "\n\n");
        fxu_buf_puts(&b, rec->messages[i].content);
    }
    return b.data; /* NULL when empty */
}

static void
bind_text(sqlite3_stmt *st, int i, const char *s)
{
    if (s)
        sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
    else
        sqlite3_bind_null(st, i);
}

static int
insert_attempts(fx_ledger *l, const struct fx_ledger_record *rec)
{
    for (size_t i = 0; i < rec->nattempts; i++) {
        const struct fx_ledger_attempt *a = &rec->attempts[i];
        sqlite3_stmt *st = fx_ledger_cached(
            l, ST_ATTEMPT,
            "INSERT INTO attempts(request_id, seq, provider, model, outcome,"
            " error_class, http_status, retry_after, latency_ms, message,"
            " probe, continuation, text_bytes, prompt_tokens,"
            " completion_tokens, cached_tokens, cache_write_tokens,"
            " reasoning_tokens)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
        if (st == NULL)
            return -1;
        sqlite3_bind_int64(st, 1, rec->id);
        sqlite3_bind_int(st, 2, (int)i);
        bind_text(st, 3, a->provider ? a->provider : "");
        bind_text(st, 4, a->model);
        bind_text(st, 5, a->outcome ? a->outcome : "error");
        bind_text(st, 6, a->error_class);
        if (a->http_status)
            sqlite3_bind_int64(st, 7, a->http_status);
        if (a->retry_after >= 0)
            sqlite3_bind_double(st, 8, a->retry_after);
        sqlite3_bind_double(st, 9, a->latency_ms);
        bind_text(st, 10, a->message);
        sqlite3_bind_int(st, 11, a->probe != 0);
        sqlite3_bind_int(st, 12, a->continuation != 0);
        sqlite3_bind_int64(st, 13, a->text_bytes);
        if (a->has_usage) {
            sqlite3_bind_int64(st, 14, a->prompt_tokens);
            sqlite3_bind_int64(st, 15, a->completion_tokens);
            sqlite3_bind_int64(st, 16, a->cached_tokens);
            sqlite3_bind_int64(st, 17, a->cache_write_tokens);
            sqlite3_bind_int64(st, 18, a->reasoning_tokens);
        }
        if (fx_ledger_step(l, st) != SQLITE_DONE)
            return -1;
    }
    return 0;
}

/* Not 0 when usage totals must read the record's attempts: one failed (a
 * schema retry, a broken stream, an error before a failover, a failed
 * request), so that each provider and model is counted its calls, its
 * failures and what it billed.  Skipped attempts were never sent, and an
 * answer from the response cache ("cached") sent nothing either.  3 when
 * the attempts carry the tokens, 1 when they do not (then the record's
 * own count, if any, is its answer's). */
static int
usage_split(const struct fx_ledger_record *rec)
{
    int failed = 0, billed = 0;
    for (size_t i = 0; i < rec->nattempts; i++) {
        const char *o = rec->attempts[i].outcome;
        if (o == NULL ||
            (strcmp(o, "success") != 0 && strcmp(o, "skipped") != 0 &&
             strcmp(o, "cached") != 0))
            failed = 1;
        billed |= rec->attempts[i].has_usage;
    }
    return failed ? (billed ? 3 : 1) : 0;
}

/* Schema 5's marks, set after the insert: a provider batch job's answer
 * (requests.deferred) or one from the response cache (requests.cached). */
static int
mark(fx_ledger *l, int64_t id, const char *sql)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(fx_ledger_db(l), sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(st, 1, id);
    int rc = fx_ledger_step(l, st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int
insert_one(fx_ledger *l, struct fx_ledger_record *rec, int mode)
{
    sqlite3_stmt *st = fx_ledger_cached(
        l, ST_REQUEST,
        "INSERT INTO requests(time, command, tag, conversation_id, provider,"
        " model, system, messages, prompt, text, finish_reason,"
        " prompt_tokens, completion_tokens, latency_ms, exit_code, error,"
        " error_class, first_provider, cached_tokens, cache_write_tokens,"
        " reasoning_tokens, reasoning, usage_split)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
    if (st == NULL)
        return -1;
    int full = mode == FX_LEDGER_FULL;
    char *messages = full ? messages_json(rec) : NULL;
    char *prompt = full ? turn_prompt(rec) : NULL;
    sqlite3_bind_double(st, 1, rec->time);
    bind_text(st, 2, rec->command ? rec->command : "");
    bind_text(st, 3, rec->tag);
    bind_text(st, 4, rec->conversation_id);
    bind_text(st, 5, rec->provider);
    bind_text(st, 6, rec->model);
    bind_text(st, 7, full ? rec->system : NULL);
    bind_text(st, 8, messages);
    bind_text(st, 9, prompt);
    bind_text(st, 10, full ? rec->text : NULL);
    bind_text(st, 11, rec->finish_reason);
    if (rec->has_usage) {
        sqlite3_bind_int64(st, 12, rec->prompt_tokens);
        sqlite3_bind_int64(st, 13, rec->completion_tokens);
    }
    sqlite3_bind_double(st, 14, rec->latency_ms);
    sqlite3_bind_int(st, 15, rec->exit_code);
    bind_text(st, 16, rec->error);
    bind_text(st, 17, rec->error_class);
    bind_text(st, 18, rec->first_provider);
    if (rec->has_usage) {
        sqlite3_bind_int64(st, 19, rec->cached_tokens);
        sqlite3_bind_int64(st, 20, rec->cache_write_tokens);
        sqlite3_bind_int64(st, 21, rec->reasoning_tokens);
    }
    bind_text(st, 22, full ? rec->reasoning : NULL);
    sqlite3_bind_int(st, 23, usage_split(rec));
    int rc = fx_ledger_step(l, st);
    free(messages);
    free(prompt);
    if (rc != SQLITE_DONE)
        return -1;
    rec->id = sqlite3_last_insert_rowid(fx_ledger_db(l));
    if (rec->deferred &&
        mark(l, rec->id, "UPDATE requests SET deferred = 1 WHERE id = ?") < 0)
        return -1;
    if (rec->cached &&
        mark(l, rec->id, "UPDATE requests SET cached = 1 WHERE id = ?") < 0)
        return -1;
    if (full && fx_ledger_state_put(l, rec->id, rec->reasoning_state) < 0)
        return -1;
    if (full && fx_ledger_attach_put(l, rec) < 0)
        return -1;
    if (full && fx_ledger_tools_put(l, rec->id, rec->tool_calls) < 0)
        return -1;
    if (fx_ledger_fragments_put(l, rec, full) < 0)
        return -1;
    return insert_attempts(l, rec);
}

int
fx_ledger_insert(fx_ledger *l, struct fx_ledger_record *rec, int mode)
{
    if (mode == FX_LEDGER_OFF)
        return 0;
    if (fx_ledger_in_transaction(l))
        return insert_one(l, rec, mode);
    if (fx_ledger_begin(l) < 0)
        return -1;
    if (insert_one(l, rec, mode) < 0) {
        fx_ledger_rollback(l);
        rec->id = 0;
        return -1;
    }
    if (fx_ledger_commit(l) < 0) {
        rec->id = 0;
        return -1;
    }
    return 0;
}

int
fx_ledger_append(const char *path, struct fx_ledger_record *rec, int mode,
                 double keep_seconds, char **err)
{
    *err = NULL;
    if (mode == FX_LEDGER_OFF)
        return 0;
    fx_ledger *l = fx_ledger_open(path, FX_LEDGER_WRITE, err);
    if (l == NULL)
        return -1;
    int rc = fx_ledger_insert(l, rec, mode);
    if (rc == 0 && fx_ledger_autoprune(l, keep_seconds, fxu_wallclock()) < 0)
        rc = -1;
    if (rc < 0)
        *err = fxu_strdup(fx_ledger_error(l));
    fx_ledger_close(l);
    return rc;
}

int
fx_ledger_begin(fx_ledger *l)
{
    /* IMMEDIATE takes the write lock now (waiting for it under the busy
     * timeout) instead of failing at the first insert. */
    if (fx_ledger_exec(l, "BEGIN IMMEDIATE") < 0)
        return -1;
    fx_ledger_set_in_transaction(l, 1);
    return 0;
}

int
fx_ledger_commit(fx_ledger *l)
{
    fx_ledger_set_in_transaction(l, 0);
    if (fx_ledger_exec(l, "COMMIT") < 0) {
        sqlite3_exec(fx_ledger_db(l), "ROLLBACK", NULL, NULL, NULL);
        return -1;
    }
    return 0;
}

int
fx_ledger_rollback(fx_ledger *l)
{
    fx_ledger_set_in_transaction(l, 0);
    return fx_ledger_exec(l, "ROLLBACK");
}
