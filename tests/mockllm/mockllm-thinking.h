/*
 * mockllm-thinking.h - mockllm's reasoning side (mockllm-thinking.c):
 * Anthropic API versions, thinking, prompt-cache markers and thinking
 * blocks sent back; Gemini thinkingConfig, thought parts and thought
 * signatures.  See tests/mockllm/README.md.
 */
#ifndef MOCKLLM_THINKING_H
#define MOCKLLM_THINKING_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* What a valid request asked for, for the answer. */
struct mock_think {
    int on;           /* Anthropic thinking enabled/adaptive; Gemini
                         thinkingConfig present */
    int omitted;      /* Anthropic display: omitted (empty thinking text) */
    int thoughts;     /* Gemini includeThoughts */
    int redacted;     /* script: add a redacted_thinking block */
    const char *text; /* the thinking text (script thinking=, or default) */
};

/* Script items: thinking=TEXT, redacted, require_thinking. */
struct mock_think_script {
    char *text;
    int redacted;
    int require;
};

/* 1 when an Anthropic content block of this type is a thinking block
 * (accepted besides text). */
int mock_thinking_block_ok(const char *type);

/* The checks, after the base validation: 0, or -1 with msg.  version:
 * the anthropic-version header; model: Gemini's, from the URL. */
int mock_thinking_anthropic(const cJSON *body, const char *version,
                            const struct mock_think_script *sc,
                            struct mock_think *t, char *msg, size_t cap);
int mock_thinking_gemini(const cJSON *body, const char *model,
                         const struct mock_think_script *sc,
                         struct mock_think *t, char *msg, size_t cap);

/* Answers.  A whole Anthropic message or GenerateContentResponse gets its
 * thinking blocks / thought part and signature (text: the answer). */
void mock_thinking_full(int anthropic, const struct mock_think *t, cJSON *resp,
                        const char *text, size_t len);
/* Anthropic stream: the thinking blocks' events as [[name, object], ...]
 * to send before the text block (NULL: none); *nblocks says how many
 * blocks, the text block's index. */
cJSON *mock_thinking_events(const struct mock_think *t, int *nblocks);
/* Gemini stream: a chunk with the thought part to send first (NULL:
 * none), and the signature part added to the last chunk. */
cJSON *mock_thinking_gemini_first(const struct mock_think *t,
                                  const char *model);
void mock_thinking_gemini_last(const struct mock_think *t, cJSON *chunk,
                               const char *text, size_t len);

#endif
