/*
 * mockllm-thinking.c - mockllm's reasoning side.  Anthropic: under
 * anthropic-version 2026-10-21 (and later) temperature, top_p and top_k
 * are a 400 as on the real API; thinking {enabled, budget_tokens} |
 * {adaptive, display} | {disabled} and output_config.effort are checked;
 * cache_control markers are checked and counted (4 at most); thinking
 * blocks sent back must carry the signature the mock gave them
 * ("mocksig-" and a hash of their text) and, with require_thinking, every
 * assistant turn must start with them.  Gemini: thinkingConfig is checked
 * (thinkingLevel only on Gemini 3 and later, not with thinkingBudget);
 * thoughtSignature parts sent back must sign the turn's text unchanged.
 * Answers get thinking blocks (signature_delta in streams), thought parts
 * and signatures.  See tests/mockllm/README.md.
 */
#define _GNU_SOURCE
#include "mockllm-thinking.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_THINKING "Let me think about this step by step."
#define REDACTED_DATA "mockred-opaque-redacted-thinking"

static int
fail(char *msg, size_t cap, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, cap, fmt, ap);
    va_end(ap);
    return -1;
}

static const cJSON *
get(const cJSON *o, const char *name)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsNull(x) ? NULL : x;
}

static const char *
str(const cJSON *o, const char *name)
{
    const cJSON *x = get(o, name);
    return cJSON_IsString(x) ? x->valuestring : NULL;
}

/* "mocksig-" and the FNV-1a hash of text: what a signature of it is. */
static void
signature(const char *text, size_t len, char *out, size_t cap)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)text[i];
        h *= 1099511628211ULL;
    }
    snprintf(out, cap, "mocksig-%016llx", (unsigned long long)h);
}

int
mock_thinking_block_ok(const char *type)
{
    return !strcmp(type, "thinking") || !strcmp(type, "redacted_thinking");
}

/* ---- Anthropic ------------------------------------------------------- */

static int
cache_control_ok(const cJSON *block, int *count, const char *where, char *msg,
                 size_t cap)
{
    const cJSON *cc = get(block, "cache_control");
    if (!cc)
        return 0;
    const char *type = str(cc, "type"), *ttl = str(cc, "ttl");
    if (!cJSON_IsObject(cc) || !type || strcmp(type, "ephemeral"))
        return fail(msg, cap,
                    "%s.cache_control.type: Input should be 'ephemeral'",
                    where);
    if (get(cc, "ttl") && (!ttl || (strcmp(ttl, "5m") && strcmp(ttl, "1h"))))
        return fail(msg, cap,
                    "%s.cache_control.ttl: Input should be '5m' or '1h'",
                    where);
    if (!strcmp(str(block, "type") ? str(block, "type") : "", "thinking") ||
        !strcmp(str(block, "type") ? str(block, "type") : "",
                "redacted_thinking"))
        return fail(msg, cap,
                    "%s.cache_control: thinking blocks cannot be cached "
                    "directly",
                    where);
    (*count)++;
    return 0;
}

static int
thinking_block_ok(const cJSON *b, const char *where, char *msg, size_t cap)
{
    const char *type = str(b, "type");
    char sig[64];
    if (!strcmp(type, "redacted_thinking")) {
        const char *data = str(b, "data");
        if (!data || strcmp(data, REDACTED_DATA))
            return fail(msg, cap,
                        "%s.data: Invalid `data` in `redacted_thinking` "
                        "block",
                        where);
        return 0;
    }
    const char *thinking = str(b, "thinking"), *s = str(b, "signature");
    if (!thinking)
        return fail(msg, cap, "%s.thinking: Field required", where);
    if (!s)
        return fail(msg, cap, "%s.signature: Field required", where);
    signature(thinking, strlen(thinking), sig, sizeof sig);
    if (strcmp(s, sig))
        return fail(msg, cap, "%s: Invalid `signature` in `thinking` block",
                    where);
    return 0;
}

/* The messages' blocks: thinking only from the assistant, with valid
 * signatures (and first, when required); cache markers counted. */
static int
check_messages(const cJSON *body, int require, int *markers, char *msg,
               size_t cap)
{
    const cJSON *m, *b;
    int i = 0;
    char where[96];
    cJSON_ArrayForEach(m, get(body, "messages"))
    {
        const char *role = str(m, "role");
        const cJSON *content = get(m, "content");
        int assistant = role && !strcmp(role, "assistant"), j = 0;
        if (require && assistant &&
            (!cJSON_IsArray(content) ||
             !mock_thinking_block_ok(
                 str(cJSON_GetArrayItem(content, 0), "type")
                     ? str(cJSON_GetArrayItem(content, 0), "type")
                     : "")))
            return fail(msg, cap,
                        "messages.%d.content.0.type: Expected `thinking` or "
                        "`redacted_thinking`, but found `%s`. When "
                        "`thinking` is enabled, an `assistant` message must "
                        "start with its thinking blocks",
                        i, cJSON_IsArray(content) ? "text" : "string");
        const cJSON *blocks = cJSON_IsArray(content) ? content : NULL;
        cJSON_ArrayForEach(b, blocks)
        {
            const char *type = str(b, "type");
            snprintf(where, sizeof where, "messages.%d.content.%d", i, j);
            if (type && mock_thinking_block_ok(type)) {
                if (!assistant)
                    return fail(msg, cap,
                                "%s: thinking blocks are only allowed in "
                                "assistant messages",
                                where);
                if (thinking_block_ok(b, where, msg, cap))
                    return -1;
            }
            if (cache_control_ok(b, markers, where, msg, cap))
                return -1;
            j++;
        }
        i++;
    }
    return 0;
}

static int
check_thinking(const cJSON *body, int v2026, struct mock_think *t, char *msg,
               size_t cap)
{
    const cJSON *th = get(body, "thinking"), *x;
    const char *type, *display;
    if (!th)
        return 0;
    type = str(th, "type");
    if (!cJSON_IsObject(th) || !type)
        return fail(msg, cap, "thinking.type: Field required");
    if (!strcmp(type, "disabled"))
        return 0;
    if (strcmp(type, "enabled") && strcmp(type, "adaptive"))
        return fail(msg, cap,
                    "thinking.type: Input tag '%.40s' found using 'type' "
                    "does not match any of the expected tags: 'enabled', "
                    "'disabled', 'adaptive'",
                    type);
    display = str(th, "display");
    if (get(th, "display") && (!display || (strcmp(display, "summarized") &&
                                            strcmp(display, "omitted"))))
        return fail(msg, cap,
                    "thinking.display: Input should be 'summarized' or "
                    "'omitted'");
    if (!strcmp(type, "enabled")) {
        const cJSON *max = get(body, "max_tokens");
        x = get(th, "budget_tokens");
        if (!cJSON_IsNumber(x))
            return fail(msg, cap, "thinking.budget_tokens: Field required");
        if (x->valuedouble < 1024)
            return fail(msg, cap,
                        "thinking.budget_tokens: Input should be greater "
                        "than or equal to 1024");
        if (cJSON_IsNumber(max) && x->valuedouble >= max->valuedouble)
            return fail(msg, cap,
                        "`max_tokens` must be greater than "
                        "`thinking.budget_tokens`");
    }
    /* sampling with thinking, where the version still takes it */
    x = get(body, "temperature");
    if (!v2026 && ((x && (!cJSON_IsNumber(x) || x->valuedouble != 1)) ||
                   get(body, "top_k")))
        return fail(msg, cap,
                    "`temperature` may only be set to 1 and `top_k` is not "
                    "allowed when thinking is enabled");
    t->on = 1;
    t->omitted = display && !strcmp(display, "omitted");
    return 0;
}

int
mock_thinking_anthropic(const cJSON *body, const char *version,
                        const struct mock_think_script *sc,
                        struct mock_think *t, char *msg, size_t cap)
{
    static const char *const sampling[] = {"temperature", "top_p", "top_k",
                                           NULL};
    static const char *const efforts[] = {"low",   "medium", "high",
                                          "xhigh", "max",    NULL};
    int v2026 = version && strcmp(version, "2026-10-21") >= 0;
    int markers = 0;
    const cJSON *x, *b;

    memset(t, 0, sizeof *t);
    if (v2026)
        for (int i = 0; sampling[i]; i++)
            if (get(body, sampling[i]))
                return fail(msg, cap,
                            "%s: this parameter is not supported with "
                            "anthropic-version %s",
                            sampling[i], version);
    if (check_thinking(body, v2026, t, msg, cap))
        return -1;
    if ((x = get(get(body, "output_config"), "effort"))) {
        int known = 0;
        for (int i = 0; cJSON_IsString(x) && efforts[i]; i++)
            known |= !strcmp(x->valuestring, efforts[i]);
        if (!known)
            return fail(msg, cap,
                        "output_config.effort: Input should be 'low', "
                        "'medium', 'high', 'xhigh' or 'max'");
    }
    const cJSON *system = get(body, "system");
    if (!cJSON_IsArray(system))
        system = NULL;
    cJSON_ArrayForEach(b, system)
    {
        if (cache_control_ok(b, &markers, "system", msg, cap))
            return -1;
    }
    if (check_messages(body, t->on && sc && sc->require, &markers, msg, cap))
        return -1;
    if (markers > 4)
        return fail(msg, cap,
                    "A maximum of 4 blocks with cache_control may be "
                    "provided. Found %d.",
                    markers);
    t->text = sc && sc->text ? sc->text : DEFAULT_THINKING;
    t->redacted = sc && sc->redacted;
    return 0;
}

/* ---- Gemini ---------------------------------------------------------- */

/* 3 for gemini-3 and later, 2 for 2.5, 0 otherwise. */
static int
family(const char *model)
{
    const char *v;
    if (!model || strncmp(model, "gemini-", 7))
        return 0;
    v = model + 7;
    long major = strtol(v, (char **)&v, 10);
    if (major >= 3)
        return 3;
    return major == 2 && v[0] == '.' && v[1] >= '5' ? 2 : 0;
}

static int
check_thinking_config(const cJSON *tc, const char *model, struct mock_think *t,
                      char *msg, size_t cap)
{
    static const char *const levels[] = {"MINIMAL", "LOW", "MEDIUM", "HIGH",
                                         NULL};
    const cJSON *x;
    if (!cJSON_IsObject(tc))
        return fail(msg, cap,
                    "Invalid JSON payload received. Invalid value at "
                    "'generation_config.thinking_config'");
    for (x = tc->child; x; x = x->next)
        if (strcmp(x->string, "includeThoughts") &&
            strcmp(x->string, "thinkingBudget") &&
            strcmp(x->string, "thinkingLevel"))
            return fail(msg, cap,
                        "Invalid JSON payload received. Unknown name "
                        "\"%.64s\" at 'generation_config.thinking_config': "
                        "Cannot find field.",
                        x->string);
    if ((x = get(tc, "includeThoughts")) && !cJSON_IsBool(x))
        return fail(msg, cap, "thinking_config.include_thoughts: bool");
    if ((x = get(tc, "thinkingBudget")) &&
        (!cJSON_IsNumber(x) || x->valuedouble < -1 || x->valuedouble > 32768))
        return fail(msg, cap,
                    "The thinking budget must be between -1 and 32768.");
    if ((x = get(tc, "thinkingLevel"))) {
        int known = 0;
        for (int i = 0; cJSON_IsString(x) && levels[i]; i++)
            known |= !strcmp(x->valuestring, levels[i]);
        if (!known)
            return fail(msg, cap,
                        "Invalid value at "
                        "'generation_config.thinking_config.thinking_level'");
        if (get(tc, "thinkingBudget"))
            return fail(msg, cap,
                        "You can only set only one of thinking budget and "
                        "thinking level.");
        if (family(model) < 3)
            return fail(msg, cap,
                        "Thinking level is not supported for this model.");
    }
    t->on = 1;
    t->thoughts = cJSON_IsTrue(get(tc, "includeThoughts"));
    return 0;
}

/* A model turn's signatures sign its text as the mock sent it. */
static int
check_model_turn(const cJSON *content, int i, int require, char *msg,
                 size_t cap)
{
    const cJSON *p;
    char *text = NULL;
    size_t len = 0;
    int signed_parts = 0, rc = 0;
    FILE *f = open_memstream(&text, &len);
    cJSON_ArrayForEach(p, get(content, "parts"))
    {
        const cJSON *th = get(p, "thought");
        if (th && !cJSON_IsBool(th)) {
            rc = fail(msg, cap, "contents[%d].parts.thought: bool", i);
            break;
        }
        if (get(p, "thoughtSignature") && !str(p, "thoughtSignature")) {
            rc = fail(msg, cap, "contents[%d].parts.thought_signature: string",
                      i);
            break;
        }
        if (str(p, "thoughtSignature"))
            signed_parts++;
        if (!cJSON_IsTrue(th) && str(p, "text"))
            fputs(str(p, "text"), f);
    }
    fclose(f);
    if (rc == 0 && require && signed_parts == 0)
        rc = fail(msg, cap,
                  "contents[%d]: the model turn is missing its "
                  "thought_signature",
                  i);
    const cJSON *parts = rc == 0 ? get(content, "parts") : NULL;
    cJSON_ArrayForEach(p, parts)
    {
        char sig[64];
        const char *s = str(p, "thoughtSignature");
        signature(text, len, sig, sizeof sig);
        if (s && strcmp(s, sig)) {
            rc = fail(msg, cap,
                      "Thought signature is not valid (contents[%d]).", i);
            break;
        }
    }
    free(text);
    return rc;
}

int
mock_thinking_gemini(const cJSON *body, const char *model,
                     const struct mock_think_script *sc, struct mock_think *t,
                     char *msg, size_t cap)
{
    const cJSON *gc = get(body, "generationConfig"), *tc, *c;
    int i = 0;
    memset(t, 0, sizeof *t);
    if (!gc)
        gc = get(body, "generation_config");
    tc = get(gc, "thinkingConfig");
    if (tc && check_thinking_config(tc, model, t, msg, cap))
        return -1;
    cJSON_ArrayForEach(c, get(body, "contents"))
    {
        const char *role = str(c, "role");
        if (role && !strcmp(role, "model") &&
            check_model_turn(c, i, t->on && sc && sc->require, msg, cap))
            return -1;
        i++;
    }
    t->text = sc && sc->text ? sc->text : DEFAULT_THINKING;
    return 0;
}

/* ---- answers --------------------------------------------------------- */

static cJSON *
thinking_block(const struct mock_think *t)
{
    const char *text = t->omitted ? "" : t->text;
    char sig[64];
    cJSON *b = cJSON_CreateObject();
    signature(text, strlen(text), sig, sizeof sig);
    cJSON_AddStringToObject(b, "type", "thinking");
    cJSON_AddStringToObject(b, "thinking", text);
    cJSON_AddStringToObject(b, "signature", sig);
    return b;
}

static cJSON *
redacted_block(void)
{
    cJSON *b = cJSON_CreateObject();
    cJSON_AddStringToObject(b, "type", "redacted_thinking");
    cJSON_AddStringToObject(b, "data", REDACTED_DATA);
    return b;
}

static cJSON *
gemini_parts(cJSON *resp)
{
    cJSON *cand =
        cJSON_GetArrayItem(cJSON_GetObjectItem(resp, "candidates"), 0);
    return cJSON_GetObjectItem(cJSON_GetObjectItem(cand, "content"), "parts");
}

void
mock_thinking_full(int anthropic, const struct mock_think *t, cJSON *resp,
                   const char *text, size_t len)
{
    if (!t->on)
        return;
    if (anthropic) {
        cJSON *content = cJSON_GetObjectItem(resp, "content");
        if (!cJSON_IsArray(content))
            return;
        if (t->redacted)
            cJSON_InsertItemInArray(content, 0, redacted_block());
        cJSON_InsertItemInArray(content, 0, thinking_block(t));
        return;
    }
    cJSON *parts = gemini_parts(resp);
    cJSON *first = cJSON_GetArrayItem(parts, 0);
    char sig[64];
    if (!first)
        return;
    signature(text, len, sig, sizeof sig);
    cJSON_AddStringToObject(first, "thoughtSignature", sig);
    if (t->thoughts) {
        cJSON *thought = cJSON_CreateObject();
        cJSON_AddStringToObject(thought, "text", t->text);
        cJSON_AddTrueToObject(thought, "thought");
        cJSON_InsertItemInArray(parts, 0, thought);
    }
}

static void
add_event(cJSON *events, const char *name, cJSON *o)
{
    cJSON *pair = cJSON_CreateArray();
    cJSON_AddItemToArray(pair, cJSON_CreateString(name));
    cJSON_AddItemToArray(pair, o);
    cJSON_AddItemToArray(events, pair);
}

static cJSON *
block_event(const char *type, int index)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", type);
    cJSON_AddNumberToObject(o, "index", index);
    return o;
}

cJSON *
mock_thinking_events(const struct mock_think *t, int *nblocks)
{
    *nblocks = 0;
    if (!t->on)
        return NULL;
    cJSON *events = cJSON_CreateArray(), *o, *d;
    cJSON *b = thinking_block(t);
    const char *text = cJSON_GetObjectItem(b, "thinking")->valuestring;
    size_t half = strlen(text) / 2;

    o = block_event("content_block_start", 0);
    d = cJSON_AddObjectToObject(o, "content_block");
    cJSON_AddStringToObject(d, "type", "thinking");
    cJSON_AddStringToObject(d, "thinking", "");
    cJSON_AddStringToObject(d, "signature", "");
    add_event(events, "content_block_start", o);
    for (int piece = 0; piece < 2 && *text; piece++) {
        o = block_event("content_block_delta", 0);
        d = cJSON_AddObjectToObject(o, "delta");
        cJSON_AddStringToObject(d, "type", "thinking_delta");
        char *part = strndup(text + (piece ? half : 0),
                             piece ? strlen(text) - half : half);
        cJSON_AddStringToObject(d, "thinking", part);
        free(part);
        add_event(events, "content_block_delta", o);
    }
    o = block_event("content_block_delta", 0);
    d = cJSON_AddObjectToObject(o, "delta");
    cJSON_AddStringToObject(d, "type", "signature_delta");
    cJSON_AddStringToObject(d, "signature",
                            cJSON_GetObjectItem(b, "signature")->valuestring);
    add_event(events, "content_block_delta", o);
    add_event(events, "content_block_stop",
              block_event("content_block_stop", 0));
    cJSON_Delete(b);
    *nblocks = 1;
    if (t->redacted) {
        o = block_event("content_block_start", 1);
        cJSON_AddItemToObject(o, "content_block", redacted_block());
        add_event(events, "content_block_start", o);
        add_event(events, "content_block_stop",
                  block_event("content_block_stop", 1));
        *nblocks = 2;
    }
    return events;
}

cJSON *
mock_thinking_gemini_first(const struct mock_think *t, const char *model)
{
    if (!t->on || !t->thoughts)
        return NULL;
    cJSON *o = cJSON_CreateObject(), *cand, *content, *part;
    cand = cJSON_CreateObject();
    cJSON_AddItemToArray(cJSON_AddArrayToObject(o, "candidates"), cand);
    content = cJSON_AddObjectToObject(cand, "content");
    part = cJSON_CreateObject();
    cJSON_AddStringToObject(part, "text", t->text);
    cJSON_AddTrueToObject(part, "thought");
    cJSON_AddItemToArray(cJSON_AddArrayToObject(content, "parts"), part);
    cJSON_AddStringToObject(content, "role", "model");
    cJSON_AddNumberToObject(cand, "index", 0);
    cJSON_AddStringToObject(o, "modelVersion", model);
    return o;
}

void
mock_thinking_gemini_last(const struct mock_think *t, cJSON *chunk,
                          const char *text, size_t len)
{
    if (!t->on)
        return;
    char sig[64];
    cJSON *part = cJSON_CreateObject();
    signature(text, len, sig, sizeof sig);
    /* as Gemini 3 streams it: an empty text part carrying the signature */
    cJSON_AddStringToObject(part, "text", "");
    cJSON_AddStringToObject(part, "thoughtSignature", sig);
    cJSON_AddItemToArray(gemini_parts(chunk), part);
}
