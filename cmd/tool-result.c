/*
 * tool-result.c - a request's result as one JSON object: what `complete
 * --json` prints (and what batch lines and the ledger reuse); its
 * reasoning as --show-reasoning prints it.
 */
#include "config.h"

#include "tool.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* milliseconds to one decimal (no libm: see bench/run.sh) */
static double
ms_tenths(double ms)
{
    return (double)(long long)(ms * 10 + 0.5) / 10;
}

/* The providers already warned about in this process (few: a fixed set). */
#define WARNED_MAX 64
static char *warned[WARNED_MAX];
static size_t nwarned;

static int
warned_before(const char *provider)
{
    for (size_t i = 0; i < nwarned; i++)
        if (strcmp(warned[i], provider) == 0)
            return 1;
    if (nwarned < WARNED_MAX)
        warned[nwarned++] = fxu_strdup(provider);
    return 0;
}

int
tool_warn_broken_providers(const flexiai_result *r, void (*before)(void))
{
    int said = 0;
    if (tool_quiet)
        return 0;
    for (size_t i = 0; i < r->nattempts; i++) {
        const flexiai_attempt *a = &r->attempts[i];
        if (a->errclass != FLEXIAI_E_CONFIG && a->errclass != FLEXIAI_E_AUTH)
            continue;
        if (a->provider == NULL || warned_before(a->provider))
            continue;
        if (before && !said)
            before();
        char *msg = tool_printable(a->message ? a->message : "");
        tool_warn("%s is not usable: %s%s%s%s%s%s", a->provider,
                  a->errclass == FLEXIAI_E_AUTH ? "credentials refused"
                                                : "configuration",
                  *msg ? " (" : "", msg, *msg ? ")" : "",
                  r->provider ? "; answered by " : "",
                  r->provider ? r->provider : "");
        free(msg);
        said = 1;
    }
    return said;
}

/* Strings from the network may hold invalid UTF-8: as U+FFFD, so that the
 * output is always valid JSON. */
static void
add_text(cJSON *o, const char *name, const char *s)
{
    char *clean = fxu_utf8_sanitize(s, strlen(s), NULL);
    cJSON_AddStringToObject(o, name, clean);
    free(clean);
}

/* The parts of a usage object: cached and cache-write input (parts of
 * prompt_tokens), reasoning (a part of completion_tokens). */
static void
add_usage_parts(cJSON *u, long cached, long cache_write, long reasoning)
{
    cJSON_AddNumberToObject(u, "cached_tokens", (double)cached);
    cJSON_AddNumberToObject(u, "cache_write_tokens", (double)cache_write);
    cJSON_AddNumberToObject(u, "reasoning_tokens", (double)reasoning);
}

/* to 1e-10, so that float noise never shows (no libm, as above) */
static double
cost_rounded(double cost)
{
    return (double)(long long)(cost * 1e10 + 0.5) / 1e10;
}

cJSON *
tool_result_json(const flexiai_result *r, int code, size_t replaced)
{
    cJSON *root = cJSON_CreateObject();
    if (r->text && code == 0)
        add_text(root, "text", r->text);
    else if (r->text && *r->text)
        add_text(root, "text", r->text);
    else
        cJSON_AddNullToObject(root, "text");
    if (r->provider)
        add_text(root, "provider", r->provider);
    else
        cJSON_AddNullToObject(root, "provider");
    if (r->model)
        add_text(root, "model", r->model);
    else
        cJSON_AddNullToObject(root, "model");
    if (r->finish_reason)
        add_text(root, "finish_reason", r->finish_reason);
    else
        cJSON_AddNullToObject(root, "finish_reason");
    if (r->has_usage) {
        cJSON *u = cJSON_AddObjectToObject(root, "usage");
        cJSON_AddNumberToObject(u, "prompt_tokens", (double)r->prompt_tokens);
        cJSON_AddNumberToObject(u, "completion_tokens",
                                (double)r->completion_tokens);
        cJSON_AddNumberToObject(u, "total_tokens", (double)r->total_tokens);
        add_usage_parts(u, r->cached_tokens, r->cache_write_tokens,
                        r->reasoning_tokens);
    } else {
        cJSON_AddNullToObject(root, "usage");
    }
    /* summed over every billed attempt; null without prices */
    if (r->has_cost)
        cJSON_AddNumberToObject(root, "cost", cost_rounded(r->cost));
    else
        cJSON_AddNullToObject(root, "cost");
    cJSON_AddNumberToObject(root, "latency_ms", ms_tenths(r->latency_ms));
    if (r->cached) /* answered from the response cache */
        cJSON_AddBoolToObject(root, "cached", 1);
    if (r->reasoning)
        add_text(root, "reasoning", r->reasoning);
    else
        cJSON_AddNullToObject(root, "reasoning");
    cJSON *arr = cJSON_AddArrayToObject(root, "attempts");
    for (size_t i = 0; i < r->nattempts; i++) {
        const flexiai_attempt *a = &r->attempts[i];
        cJSON *o = cJSON_CreateObject();
        add_text(o, "name", a->provider);
        add_text(o, "model", a->model ? a->model : "");
        add_text(o, "outcome", a->outcome);
        if (a->http_status)
            cJSON_AddNumberToObject(o, "http_status", (double)a->http_status);
        else
            cJSON_AddNullToObject(o, "http_status");
        if (a->errclass)
            add_text(o, "error_class", flexiai_errclass_name(a->errclass));
        else
            cJSON_AddNullToObject(o, "error_class");
        if (a->retry_after >= 0)
            cJSON_AddNumberToObject(o, "retry_after",
                                    (double)(long)(a->retry_after * 1000) /
                                        1000.0);
        else
            cJSON_AddNullToObject(o, "retry_after");
        cJSON_AddNumberToObject(o, "latency_ms", ms_tenths(a->latency_ms));
        if (a->message)
            add_text(o, "message", a->message);
        cJSON_AddBoolToObject(o, "probe", a->probe);
        cJSON_AddBoolToObject(o, "continuation", a->continuation);
        cJSON_AddNumberToObject(o, "text_bytes", (double)a->text_bytes);
        if (a->validation_error)
            add_text(o, "validation_error", a->validation_error);
        if (a->has_usage) {
            cJSON *u = cJSON_AddObjectToObject(o, "usage");
            cJSON_AddNumberToObject(u, "prompt_tokens",
                                    (double)a->prompt_tokens);
            cJSON_AddNumberToObject(u, "completion_tokens",
                                    (double)a->completion_tokens);
            add_usage_parts(u, a->cached_tokens, a->cache_write_tokens,
                            a->reasoning_tokens);
        } else {
            cJSON_AddNullToObject(o, "usage");
        }
        cJSON_AddItemToArray(arr, o);
    }
    if (code != 0) {
        add_text(root, "error", r->error ? r->error : "");
    }
    /* structured output: the validated answer as data */
    cJSON *data = r->json ? cJSON_Parse(r->json) : NULL;
    int checked = data != NULL;
    for (size_t i = 0; i < r->nattempts; i++)
        checked |= r->attempts[i].validation_error != NULL;
    if (data)
        cJSON_AddItemToObject(root, "data", data);
    if (checked)
        cJSON_AddBoolToObject(root, "schema_valid", data != NULL);
    cJSON_AddNumberToObject(root, "invalid_utf8_replaced", (double)replaced);
    cJSON_AddNumberToObject(root, "exit_code", code);
    return root;
}

void
tool_show_reasoning(const flexiai_result *r)
{
    tool_print_reasoning(r->reasoning);
}

void
tool_print_reasoning(const char *reasoning)
{
    if (reasoning == NULL || *reasoning == '\0')
        return;
    /* text from the network: lines kept, nothing else that could drive
     * the terminal */
    fxu_buf b;
    fxu_buf_init(&b);
    for (const unsigned char *p = (const unsigned char *)reasoning; *p; p++) {
        if ((*p < 0x20 && *p != '\n' && *p != '\t') || *p == 0x7f)
            fxu_buf_printf(&b, "\\x%02x", *p);
        else
            fxu_buf_putc(&b, (char)*p);
    }
    char *text = fxu_utf8_sanitize(b.data, b.len, NULL);
    fxu_buf_free(&b);
    int dim = isatty(STDERR_FILENO) && getenv("NO_COLOR") == NULL;
    size_t n = strlen(text);
    fprintf(stderr, "%s%s%s%s", dim ? "\033[2m" : "", text,
            dim ? "\033[0m" : "", n && text[n - 1] == '\n' ? "" : "\n");
    fflush(stderr);
    free(text);
}
