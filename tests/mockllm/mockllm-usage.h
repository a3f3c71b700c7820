/*
 * mockllm-usage.h - a script's usage=JSON (mockllm-usage.c): usage parts
 * (cached, cache-write, reasoning tokens) in each provider's own spelling.
 */
#ifndef MOCKLLM_USAGE_H
#define MOCKLLM_USAGE_H

#include <cjson/cJSON.h>

/* Check a usage= value: a JSON object.  0, or -1. */
int mock_usage_check(const char *spec);
/* Merge the members of `spec` (a JSON object, or NULL: nothing) into the
 * usage object `u` mockllm built: a member of the same name is replaced,
 * others are added. */
void mock_usage_merge(cJSON *u, const char *spec);

#endif
