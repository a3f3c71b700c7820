/*
 * mockllm-usage.c - the usage objects a script asks for: `usage=JSON`
 * names members that replace or join those of every usage object mockllm
 * sends on that route (OpenAI `usage`, Anthropic `usage` in the message,
 * message_start and message_delta, Gemini `usageMetadata`), so that a test
 * can play a provider reporting cached, cache-write and reasoning tokens
 * with counts it knows.
 */
#include "mockllm-usage.h"

#include <stddef.h>

int
mock_usage_check(const char *spec)
{
    cJSON *o = cJSON_Parse(spec);
    int ok = cJSON_IsObject(o);
    cJSON_Delete(o);
    return ok ? 0 : -1;
}

void
mock_usage_merge(cJSON *u, const char *spec)
{
    if (u == NULL || spec == NULL)
        return;
    cJSON *o = cJSON_Parse(spec);
    cJSON *m;
    cJSON_ArrayForEach(m, o)
    {
        cJSON *copy = cJSON_Duplicate(m, 1);
        if (cJSON_GetObjectItemCaseSensitive(u, m->string))
            cJSON_ReplaceItemInObjectCaseSensitive(u, m->string, copy);
        else
            cJSON_AddItemToObject(u, m->string, copy);
    }
    cJSON_Delete(o);
}
