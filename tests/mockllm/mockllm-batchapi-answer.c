/*
 * mockllm-batchapi-answer.c - what mockllm's batch APIs answer for a job
 * (mockllm-batchapi.c keeps the jobs): each item's fate, its answer as
 * the live route's default answer, the result lines in each provider's
 * shape, and the job's status object.
 */
#include "mockllm-batchapi-int.h"
#include "mockllm-usage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

long
mock_ba_words(const char *s)
{
    long n = 0;
    int in = 0;
    for (; s && *s; s++) {
        int ws = *s == ' ' || *s == '\n' || *s == '\t' || *s == '\r';
        if (!ws && !in)
            n++;
        in = !ws;
    }
    return n;
}

int
mock_ba_ended(const struct job *j)
{
    return j->cancelled || j->polls_left <= 0;
}

int
mock_ba_fate(const struct job *j, size_t i)
{
    if ((long)i < j->fail)
        return 1;
    if (j->expire && (long)i >= j->fail + j->answered)
        return 2;
    if (j->cancelled)
        return 3;
    return 0;
}

static cJSON *
answer(const struct job *j, const struct item *it)
{
    const char *text = j->reply ? j->reply : it->reply;
    long out = mock_ba_words(text);
    cJSON *m = cJSON_CreateObject(), *u;
    if (j->anthropic) {
        cJSON_AddStringToObject(m, "id", "msg_mock");
        cJSON_AddStringToObject(m, "type", "message");
        cJSON_AddStringToObject(m, "role", "assistant");
        cJSON_AddStringToObject(m, "model", it->model);
        cJSON *c = cJSON_AddArrayToObject(m, "content");
        cJSON *blk = cJSON_CreateObject();
        cJSON_AddStringToObject(blk, "type", "text");
        cJSON_AddStringToObject(blk, "text", text);
        cJSON_AddItemToArray(c, blk);
        cJSON_AddStringToObject(m, "stop_reason", "end_turn");
        cJSON_AddNullToObject(m, "stop_sequence");
        u = cJSON_AddObjectToObject(m, "usage");
        cJSON_AddNumberToObject(u, "input_tokens", (double)it->prompt_words);
        cJSON_AddNumberToObject(u, "output_tokens", (double)out);
    } else {
        cJSON_AddStringToObject(m, "id", "chatcmpl-mock");
        cJSON_AddStringToObject(m, "object", "chat.completion");
        cJSON_AddNumberToObject(m, "created", j->created);
        cJSON_AddStringToObject(m, "model", it->model);
        cJSON *ch = cJSON_AddArrayToObject(m, "choices");
        cJSON *c0 = cJSON_CreateObject();
        cJSON_AddNumberToObject(c0, "index", 0);
        cJSON *msg = cJSON_AddObjectToObject(c0, "message");
        cJSON_AddStringToObject(msg, "role", "assistant");
        cJSON_AddStringToObject(msg, "content", text);
        cJSON_AddStringToObject(c0, "finish_reason", "stop");
        cJSON_AddItemToArray(ch, c0);
        u = cJSON_AddObjectToObject(m, "usage");
        cJSON_AddNumberToObject(u, "prompt_tokens", (double)it->prompt_words);
        cJSON_AddNumberToObject(u, "completion_tokens", (double)out);
        cJSON_AddNumberToObject(u, "total_tokens",
                                (double)(it->prompt_words + out));
    }
    mock_usage_merge(u, j->usage);
    return m;
}

static void
append(char **buf, size_t *len, size_t *cap, const char *s)
{
    size_t n = strlen(s);
    if (*len + n + 2 > *cap) {
        *cap = (*len + n + 2) * 2;
        *buf = realloc(*buf, *cap);
        if (*buf == NULL)
            abort();
    }
    memcpy(*buf + *len, s, n);
    *len += n;
    (*buf)[(*len)++] = '\n';
    (*buf)[*len] = '\0';
}

/* The result lines of a job: `errors` the OpenAI error file. */
char *
mock_ba_results(const struct job *j, int errors)
{
    size_t len = 0, cap = 4096;
    char *buf = calloc(1, cap);
    for (size_t i = 0; i < j->n; i++) {
        int f = mock_ba_fate(j, i);
        if (!j->anthropic && (f != 0) != errors)
            continue;
        cJSON *o = cJSON_CreateObject();
        if (!j->anthropic)
            cJSON_AddStringToObject(o, "id", "batch_req_mock");
        cJSON_AddStringToObject(o, "custom_id", j->items[i].custom_id);
        if (j->anthropic) {
            cJSON *r = cJSON_AddObjectToObject(o, "result");
            static const char *const types[] = {"succeeded", "errored",
                                                "expired", "canceled"};
            cJSON_AddStringToObject(r, "type", types[f]);
            if (f == 0) {
                cJSON_AddItemToObject(r, "message", answer(j, &j->items[i]));
            } else if (f == 1) {
                cJSON *e = cJSON_AddObjectToObject(r, "error");
                cJSON_AddStringToObject(e, "type", "error");
                cJSON *in = cJSON_AddObjectToObject(e, "error");
                cJSON_AddStringToObject(in, "type", "api_error");
                cJSON_AddStringToObject(in, "message", "mockllm: item failed");
            }
        } else if (f == 0 || f == 1) {
            cJSON *r = cJSON_AddObjectToObject(o, "response");
            cJSON_AddNumberToObject(r, "status_code", f ? 500 : 200);
            cJSON_AddStringToObject(r, "request_id", "req_mock");
            if (f == 0) {
                cJSON_AddItemToObject(r, "body", answer(j, &j->items[i]));
            } else {
                cJSON *b = cJSON_AddObjectToObject(r, "body");
                cJSON *e = cJSON_AddObjectToObject(b, "error");
                cJSON_AddStringToObject(e, "type", "server_error");
                cJSON_AddStringToObject(e, "message", "mockllm: item failed");
            }
            cJSON_AddNullToObject(o, "error");
        } else {
            cJSON_AddNullToObject(o, "response");
            cJSON *e = cJSON_AddObjectToObject(o, "error");
            cJSON_AddStringToObject(
                e, "code", f == 2 ? "batch_expired" : "batch_cancelled");
            cJSON_AddStringToObject(e, "message",
                                    f == 2 ? "This request could not be "
                                             "executed before the completion "
                                             "window expired."
                                           : "This request was cancelled.");
        }
        char *s = cJSON_PrintUnformatted(o);
        cJSON_Delete(o);
        append(&buf, &len, &cap, s);
        free(s);
    }
    return buf;
}

cJSON *
mock_ba_status_json(struct job *j, int poll)
{
    if (poll) {
        if (j->polls_left > 0)
            j->polls_left--;
    }
    long ok = 0, bad = 0, exp = 0, can = 0;
    for (size_t i = 0; i < j->n; i++) {
        int f = mock_ba_fate(j, i);
        ok += f == 0;
        bad += f == 1;
        exp += f == 2;
        can += f == 3;
    }
    int done = mock_ba_ended(j);
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", j->id);
    if (j->anthropic) {
        cJSON_AddStringToObject(o, "type", "message_batch");
        cJSON_AddStringToObject(o, "processing_status",
                                done ? "ended" : "in_progress");
        cJSON *rc = cJSON_AddObjectToObject(o, "request_counts");
        cJSON_AddNumberToObject(rc, "processing", done ? 0 : (double)j->n);
        cJSON_AddNumberToObject(rc, "succeeded", done ? (double)ok : 0);
        cJSON_AddNumberToObject(rc, "errored", done ? (double)bad : 0);
        cJSON_AddNumberToObject(rc, "canceled", done ? (double)can : 0);
        cJSON_AddNumberToObject(rc, "expired", done ? (double)exp : 0);
        cJSON_AddStringToObject(o, "created_at", "2026-12-06T05:00:00Z");
        cJSON_AddStringToObject(o, "expires_at", "2026-12-07T05:00:00Z");
        if (done) {
            char url[160];
            snprintf(url, sizeof(url),
                     "https://api.anthropic.example/v1/messages/batches/%s/"
                     "results",
                     j->id);
            cJSON_AddStringToObject(o, "results_url", url);
        } else {
            cJSON_AddNullToObject(o, "results_url");
        }
    } else {
        cJSON_AddStringToObject(o, "object", "batch");
        cJSON_AddStringToObject(o, "endpoint", "/v1/chat/completions");
        const char *st = !done          ? "in_progress"
                         : j->cancelled ? "cancelled"
                         : j->expire    ? "expired"
                                        : "completed";
        cJSON_AddStringToObject(o, "status", st);
        cJSON *rc = cJSON_AddObjectToObject(o, "request_counts");
        cJSON_AddNumberToObject(rc, "total", (double)j->n);
        cJSON_AddNumberToObject(rc, "completed", done ? (double)ok : 0);
        cJSON_AddNumberToObject(rc, "failed",
                                done ? (double)(bad + exp + can) : 0);
        cJSON_AddNumberToObject(o, "created_at", j->created);
        cJSON_AddNumberToObject(o, "expires_at", j->created + 86400);
        char fid[96];
        if (done && ok) {
            snprintf(fid, sizeof(fid), "file-out-%s", j->id);
            cJSON_AddStringToObject(o, "output_file_id", fid);
        } else {
            cJSON_AddNullToObject(o, "output_file_id");
        }
        if (done && bad + exp + can) {
            snprintf(fid, sizeof(fid), "file-err-%s", j->id);
            cJSON_AddStringToObject(o, "error_file_id", fid);
        } else {
            cJSON_AddNullToObject(o, "error_file_id");
        }
    }
    return o;
}

/* The content of the multipart part named "file". */
