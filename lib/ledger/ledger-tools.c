/*
 * ledger-tools.c - the tool calls a request ran (--tools) and their
 * results, kept in full mode so that `flexiai logs show ID` can say what
 * the model asked for and what it was told.  Like the reasoning states
 * (ledger-state.c) they live in a table of their own, made when the first
 * calls are kept, outside the versioned schema: an older flexiai reads the
 * database as before; a pruned record takes its calls along (trigger).
 *
 *   tool_calls(request_id INTEGER PRIMARY KEY, calls TEXT NOT NULL)
 *
 * `calls` is a JSON array of {id, name, arguments, result, is_error}.
 */
#include "config.h"

#include "ledger-int.h"
#include "sqlite-load.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

static const char make_table[] =
    "CREATE TABLE IF NOT EXISTS tool_calls("
    " request_id INTEGER PRIMARY KEY, calls TEXT NOT NULL);"
    "CREATE TRIGGER IF NOT EXISTS tool_calls_ad AFTER DELETE ON"
    " requests BEGIN"
    " DELETE FROM tool_calls WHERE request_id = old.id; END;";

static void
add_capped(cJSON *o, const char *name, const char *s, size_t *total)
{
    char *capped = fx_ledger_capped(s ? s : "", FX_LEDGER_TEXT_MAX);
    *total += strlen(capped);
    cJSON_AddStringToObject(o, name, capped);
    free(capped);
}

char *
fx_ledger_tools_json(const flexiai_ledger_tool_call *v, size_t n)
{
    if (v == NULL || n == 0)
        return NULL;
    cJSON *arr = cJSON_CreateArray();
    size_t total = 0, i;
    for (i = 0; i < n && total < FX_LEDGER_MESSAGES_MAX; i++) {
        cJSON *o = cJSON_CreateObject();
        add_capped(o, "id", v[i].id, &total);
        add_capped(o, "name", v[i].name, &total);
        add_capped(o, "arguments", v[i].arguments, &total);
        add_capped(o, "result", v[i].result, &total);
        cJSON_AddBoolToObject(o, "is_error", v[i].is_error);
        cJSON_AddItemToArray(arr, o);
    }
    if (i < n) { /* what was not kept is said, not lost silently */
        cJSON *o = cJSON_CreateObject();
        char *note = fxu_asprintf("[flexiai: %zu more calls not kept]", n - i);
        cJSON_AddStringToObject(o, "name", "");
        cJSON_AddStringToObject(o, "result", note);
        cJSON_AddBoolToObject(o, "is_error", 1);
        cJSON_AddItemToArray(arr, o);
        free(note);
    }
    char *s = cJSON_PrintUnformatted(arr);
    cJSON_Delete(arr);
    return s;
}

int
fx_ledger_tools_put(fx_ledger *l, int64_t request_id, const char *calls)
{
    if (calls == NULL || *calls == '\0')
        return 0;
    if (fx_ledger_exec(l, make_table) < 0)
        return -1;
    sqlite3_stmt *st = fx_ledger_prepare(
        l, "INSERT OR REPLACE INTO tool_calls(request_id, calls)"
           " VALUES (?, ?)");
    if (st == NULL)
        return -1;
    sqlite3_bind_int64(st, 1, request_id);
    sqlite3_bind_text(st, 2, calls, -1, SQLITE_TRANSIENT);
    int rc = fx_ledger_step(l, st);
    sqlite3_finalize(st);
    if (rc != SQLITE_DONE)
        return fx_ledger_fail(l, "cannot keep tool calls: %s",
                              sqlite3_errmsg(fx_ledger_db(l)));
    return 0;
}

char *
fx_ledger_tools_get(fx_ledger *l, int64_t request_id)
{
    sqlite3 *db = fx_ledger_db(l);
    sqlite3_stmt *st = NULL;
    /* no table yet: no calls were ever kept (not an error) */
    if (sqlite3_prepare_v2(db,
                           "SELECT calls FROM tool_calls WHERE request_id = ?",
                           -1, &st, NULL) != SQLITE_OK) {
        sqlite3_finalize(st);
        return NULL;
    }
    sqlite3_bind_int64(st, 1, request_id);
    char *calls = NULL;
    if (fx_ledger_step(l, st) == SQLITE_ROW) {
        const char *s = (const char *)sqlite3_column_text(st, 0);
        calls = s ? fxu_strdup(s) : NULL;
    }
    sqlite3_finalize(st);
    return calls;
}

/* Each line of s after prefix (the first line after first). */
static void
put_lines(fxu_buf *b, const char *first, const char *prefix, const char *s)
{
    const char *p = first;
    do {
        const char *nl = strchr(s, '\n');
        size_t len = nl ? (size_t)(nl - s) : strlen(s);
        fxu_buf_puts(b, p);
        fxu_buf_append(b, s, len);
        fxu_buf_putc(b, '\n');
        s += len + (nl != NULL);
        p = prefix;
    } while (*s);
}

void
fx_ledger_tools_text(fxu_buf *b, const char *calls)
{
    cJSON *arr = calls ? cJSON_Parse(calls) : NULL;
    const cJSON *c;
    cJSON_ArrayForEach(c, arr)
    {
        const char *name =
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "name"));
        const char *id =
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "id"));
        const char *args = cJSON_GetStringValue(
            cJSON_GetObjectItemCaseSensitive(c, "arguments"));
        const char *result =
            cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "result"));
        int error =
            cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(c, "is_error"));
        char *head = fxu_asprintf("  tool %s%s%s%s: ", name ? name : "?",
                                  id && *id ? " (" : "", id && *id ? id : "",
                                  id && *id ? ")" : "");
        put_lines(b, head, "    ", args ? args : "");
        put_lines(b, error ? "    error: " : "    result: ", "    ",
                  result ? result : "");
        free(head);
    }
    cJSON_Delete(arr);
}

void
fx_ledger_tools_add_json(struct cJSON *o, const char *calls)
{
    cJSON *arr = calls ? cJSON_Parse(calls) : NULL;
    if (arr)
        cJSON_AddItemToObject(o, "tool_calls", arr);
}
