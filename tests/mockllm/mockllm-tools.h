/*
 * mockllm-tools.h - tool calls in mockllm (mockllm-tools.c): the script
 * items tool_calls=, tool_rounds=, tool_args_raw=; the checks of tool
 * calls and results a request sends back, in each wire format; the
 * answers that call tools, whole or streamed.
 */
#ifndef MOCKLLM_TOOLS_H
#define MOCKLLM_TOOLS_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* the wire formats */
enum { MT_OPENAI, MT_RESPONSES, MT_ANTHROPIC, MT_GEMINI };

struct mock_tools_script {
    char *calls;    /* tool_calls= as written (percent-encoded pieces) */
    long rounds;    /* tool_rounds= (0: the default, 1) */
    char *args_raw; /* tool_args_raw=, decoded */
};

/* What the checks learnt from a request. */
struct mock_tools_req {
    int rounds;      /* assistant tool-call turns after the last user turn */
    cJSON *results;  /* [{"id","name","content","is_error"}], owned */
    int has_results; /* the request sent tool results back */
};

/* A script item of ours: 1 taken, 0 not ours, -1 bad value (err set).
 * raw is the undecoded value (NULL for a bare flag). */
int mock_tools_item(struct mock_tools_script *t, const char *key,
                    const char *raw, size_t rawlen, char *err, size_t cap);
void mock_tools_script_free(struct mock_tools_script *t);

/* Check the tool parts of body (definitions, calls, results) in format
 * fmt, note them in q, and take them out of body so that the base checks
 * see plain text turns.  0, or -1 with msg (and param for OpenAI). */
int mock_tools_check(int fmt, cJSON *body, struct mock_tools_req *q, char *msg,
                     size_t cap, char *param, size_t pcap);
void mock_tools_req_free(struct mock_tools_req *q);

/* 1 when the answer to this request calls tools. */
int mock_tools_due(const struct mock_tools_script *t,
                   const struct mock_tools_req *q);

/* The answer that calls the scripted tools: the whole body (stream 0), or
 * the events of a stream (stream 1): [{"event": NAME|null, "data": obj or
 * "[DONE]"}].  include_usage: OpenAI's stream_options.include_usage. */
cJSON *mock_tools_answer(int fmt, const struct mock_tools_script *t,
                         const struct mock_tools_req *q, const char *model,
                         long prompt, int stream, int include_usage);

#endif
