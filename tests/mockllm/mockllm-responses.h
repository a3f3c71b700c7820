/*
 * mockllm-responses.h - mockllm's OpenAI Responses API (POST .../responses,
 * mockllm-responses.c): the request's checks, the Response object, the
 * stream's typed events.  See tests/mockllm/README.md.
 */
#ifndef MOCKLLM_RESPONSES_H
#define MOCKLLM_RESPONSES_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* What the checks found in a valid request. */
struct mock_resp_req {
    int stream;
    const char *model; /* points into the body */
    char *echo;        /* text of the last user message (malloc'ed) */
    long prompt_words; /* instructions and every input message */
    long prefix_words; /* messages before the last user message */
    int reasons;       /* reasoning.effort given and not none */
    int summary;       /* reasoning.summary asked for */
    int encrypted;     /* include has reasoning.encrypted_content */
    int items_back;    /* reasoning items sent back in input */
    char tool[128];    /* the forced function, "" when none */
};

/* 0, or -1 with msg and param (the OpenAI error's `param`) set. */
int mock_responses_check(const cJSON *body, struct mock_resp_req *rq, char *msg,
                         size_t cap, char *param, size_t pcap);
void mock_responses_req_free(struct mock_resp_req *rq);

/* The answer to give. */
struct mock_resp_answer {
    const struct mock_resp_req *rq;
    const char *model;
    const char *text;
    size_t text_len;
    /* completed, or the incomplete reason (max_output_tokens,
     * content_filter), or failed */
    const char *finish;
    int usage;               /* include usage */
    long completion;         /* words of the answer */
    const char *tool_name;   /* answer with a function call ... */
    const char *tool_input;  /* ... whose arguments are this (non-streamed) */
    long seq;                /* the stream's next sequence_number */
    const char *usage_extra; /* the script's usage= (mockllm-usage.c) */
};

/* The whole Response object (non-streamed, and in the terminal event). */
cJSON *mock_responses_full(struct mock_resp_answer *a);
/* The stream's events before the first text delta (an array). */
cJSON *mock_responses_start(struct mock_resp_answer *a);
/* One response.output_text.delta. */
cJSON *mock_responses_delta(struct mock_resp_answer *a, const char *text,
                            size_t len);
/* The events after the last delta, ending with the terminal event. */
cJSON *mock_responses_end(struct mock_resp_answer *a);
/* An in-band error event {"type":"error",...} for a scripted status. */
cJSON *mock_responses_error_event(struct mock_resp_answer *a, long status,
                                  const char *type, const char *message);

#endif
