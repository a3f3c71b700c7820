/*
 * mockllm-models.h - mockllm's model lists (mockllm-models.c): the shapes
 * of each provider's listing endpoint, with dates and pages.
 */
#ifndef MOCKLLM_MODELS_H
#define MOCKLLM_MODELS_H

#include <cjson/cJSON.h>

enum { MOCK_LIST_OPENAI, MOCK_LIST_ANTHROPIC, MOCK_LIST_GEMINI };

/* The page after `cursor` (NULL: the first) of the list of `kind`. */
cJSON *mock_models_list(int kind, const char *cursor);

#endif
