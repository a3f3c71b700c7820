/*
 * mockllm-schema.h - mockllm's structured-output checks and tool-call
 * answers (mockllm-schema.c).
 */
#ifndef MOCKLLM_SCHEMA_H
#define MOCKLLM_SCHEMA_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* Each returns 0, or -1 with msg (and param for OpenAI) set.  A forced
 * tool's name goes to tool (left alone when none is forced). */
int mock_schema_openai(const cJSON *body, char *msg, size_t cap, char *param,
                       size_t pcap, char *tool, size_t tcap);
int mock_schema_anthropic(const cJSON *body, char *msg, size_t cap, char *tool,
                          size_t tcap);
/* gc: the generationConfig object. */
int mock_schema_gemini(const cJSON *gc, char *msg, size_t cap);

/* A tool call named `name` with `input` (JSON text; {} when malformed):
 * an Anthropic tool_use block, or an OpenAI tool_calls entry. */
cJSON *mock_tool_answer(int anthropic, const char *name, const char *input);

/* OpenAI's strict-mode rules for a schema (Responses text.format). */
int mock_schema_strict(const cJSON *schema, const char *name, char *msg,
                       size_t cap);

#endif
