/*
 * mockllm-batchapi-int.h - what the batch APIs' two files share: a job and
 * its items (mockllm-batchapi.c keeps them, mockllm-batchapi-answer.c
 * answers for them).
 */
#ifndef MOCKLLM_BATCHAPI_INT_H
#define MOCKLLM_BATCHAPI_INT_H

#include <cjson/cJSON.h>
#include <stddef.h>

struct item {
    char *custom_id;
    char *reply;
    char *model;
    long prompt_words;
};

struct job {
    struct job *next;
    char id[64];
    char route[128];
    int anthropic;
    struct item *items;
    size_t n;
    long polls_left;
    int cancelled, failed_create;
    long fail, answered;
    int expire;
    char *reply, *usage;
    double created;
};

/* Whitespace-separated words, as the live routes count tokens. */
long mock_ba_words(const char *s);
/* The job ended (cancelled, or its polls are over). */
int mock_ba_ended(const struct job *j);
/* The result lines of a job: `errors` the OpenAI error file. */
char *mock_ba_results(const struct job *j, int errors);
/* The job as its provider's status object; `poll` counts a poll. */
cJSON *mock_ba_status_json(struct job *j, int poll);

#endif
