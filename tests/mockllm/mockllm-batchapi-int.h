/*
 * mockllm-batchapi-int.h - what the batch APIs' files share: a job and
 * its items (mockllm-batchapi.c keeps them, mockllm-batchapi-answer.c
 * answers for them, mockllm-batchapi-gemini.c plays Gemini's batch mode
 * with them).
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
    int gemini, file; /* Gemini: its answers in a responses file */
    long polled;
    char model[160];
};

/* A route's behaviour (POST /_batchapi/NAME) and what it saw. */
struct behaviour {
    struct behaviour *next;
    char route[128];
    long polls, fail, answered, status;
    int expire, file;
    char *reply, *usage;
    long created, npolls, cancels;
    long parts; /* content parts not text in the items submitted */
};

/* mockllm-batchapi.c: a route's behaviour (made on first use); a new job
 * of the route, kept once linked; a kept job by id. */
struct behaviour *mock_ba_behaviour(const char *route);
struct job *mock_ba_job_new(const char *route);
void mock_ba_job_link(struct job *j);
struct job *mock_ba_job_find(const char *id);
/* How item i ended: 0 answered, 1 failed, 2 expired, 3 cancelled. */
int mock_ba_fate(const struct job *j, size_t i);

/* Whitespace-separated words, as the live routes count tokens. */
long mock_ba_words(const char *s);
/* The job ended (cancelled, or its polls are over). */
int mock_ba_ended(const struct job *j);
/* The result lines of a job: `errors` the OpenAI error file. */
char *mock_ba_results(const struct job *j, int errors);
/* The job as its provider's status object; `poll` counts a poll. */
cJSON *mock_ba_status_json(struct job *j, int poll);

#endif
