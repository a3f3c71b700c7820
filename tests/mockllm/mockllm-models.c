/*
 * mockllm-models.c - the model lists mockllm's probe routes answer, in
 * each provider's shape (its API reference's model list), two a page:
 *
 *   openai     {"object":"list","data":[{id, object, created, owned_by,
 *              shutdown_date}]}: one page; shutdown_date "YYYY-MM-DD" or
 *              null.  mock-retiring shuts down ten days from today.
 *   anthropic  {"data":[{type, id, display_name, created_at}], "has_more",
 *              "first_id", "last_id"}: the next page after ?after_id=
 *   gemini     {"models":[{name:"models/ID", displayName, ...}],
 *              "nextPageToken"}: the next page with ?pageToken=
 */
#include "mockllm-models.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *const openai_ids[] = {
    "mock-model", "openai-model", "gpt-6-luna", "gpt-4o-mini", "mock-retiring"};
static const char *const anthropic_ids[] = {"claude-mock", "anthropic-model",
                                            "claude-haiku-5-5"};
static const char *const gemini_ids[] = {"gemini-model", "gemini-mock",
                                         "gemini-3.5-flash-lite"};
#define PAGE 2

static void
date_in(int days, char *buf, size_t size)
{
    time_t t = time(NULL) + (time_t)days * 86400;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, size, "%Y-%m-%d", &tm);
}

static cJSON *
openai_list(void)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "object", "list");
    cJSON *arr = cJSON_AddArrayToObject(o, "data");
    for (size_t i = 0; i < sizeof(openai_ids) / sizeof(*openai_ids); i++) {
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "id", openai_ids[i]);
        cJSON_AddStringToObject(m, "object", "model");
        cJSON_AddNumberToObject(m, "created", 1790000000);
        cJSON_AddStringToObject(m, "owned_by", "mockllm");
        if (!strcmp(openai_ids[i], "gpt-4o-mini")) {
            cJSON_AddStringToObject(m, "shutdown_date", "2027-01-14");
        } else if (!strcmp(openai_ids[i], "mock-retiring")) {
            char d[16];
            date_in(10, d, sizeof d);
            cJSON_AddStringToObject(m, "shutdown_date", d);
        } else {
            cJSON_AddNullToObject(m, "shutdown_date");
        }
        cJSON_AddItemToArray(arr, m);
    }
    return o;
}

/* Where the page after `cursor` starts (the ids are the cursors). */
static size_t
start_after(const char *const *ids, size_t n, const char *cursor)
{
    if (cursor == NULL)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!strcmp(ids[i], cursor))
            return i + 1;
    return n;
}

cJSON *
mock_models_list(int kind, const char *cursor)
{
    if (kind == MOCK_LIST_OPENAI)
        return openai_list();
    int g = kind == MOCK_LIST_GEMINI;
    const char *const *ids = g ? gemini_ids : anthropic_ids;
    size_t n = g ? sizeof(gemini_ids) / sizeof(*gemini_ids)
                 : sizeof(anthropic_ids) / sizeof(*anthropic_ids);
    size_t from = start_after(ids, n, cursor), to = from + PAGE;
    if (to > n)
        to = n;
    cJSON *o = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(o, g ? "models" : "data");
    for (size_t i = from; i < to; i++) {
        cJSON *m = cJSON_CreateObject();
        if (g) {
            char name[128];
            snprintf(name, sizeof name, "models/%s", ids[i]);
            cJSON_AddStringToObject(m, "name", name);
            cJSON_AddStringToObject(m, "displayName", ids[i]);
            cJSON_AddNumberToObject(m, "inputTokenLimit", 1048576);
            cJSON_AddNumberToObject(m, "outputTokenLimit", 65536);
            cJSON *s = cJSON_AddArrayToObject(m, "supportedGenerationMethods");
            cJSON_AddItemToArray(s, cJSON_CreateString("generateContent"));
        } else {
            cJSON_AddStringToObject(m, "type", "model");
            cJSON_AddStringToObject(m, "id", ids[i]);
            cJSON_AddStringToObject(m, "display_name", ids[i]);
            cJSON_AddStringToObject(m, "created_at", "2026-10-01T00:00:00Z");
        }
        cJSON_AddItemToArray(arr, m);
    }
    if (g) {
        if (to < n)
            cJSON_AddStringToObject(o, "nextPageToken", ids[to - 1]);
    } else {
        cJSON_AddBoolToObject(o, "has_more", to < n);
        if (to > from) {
            cJSON_AddStringToObject(o, "first_id", ids[from]);
            cJSON_AddStringToObject(o, "last_id", ids[to - 1]);
        } else {
            cJSON_AddNullToObject(o, "first_id");
            cJSON_AddNullToObject(o, "last_id");
        }
    }
    return o;
}
