/*
 * provider-gemini-body.c - the generateContent request body, shared by
 * Gemini and Vertex AI: the conversation (a model turn's parts with their
 * thought signatures sent back as they came), the system instruction,
 * generationConfig with structured output and thinkingConfig.  Field names
 * follow Google's js-genai types (GenerateContentParameters, Part,
 * ThinkingConfig in src/types.ts).
 */
#include "config.h"

#include "fx.h"
#include "provider-common.h"

#include <stdlib.h>
#include <string.h>

static cJSON *
text_parts(const char *text)
{
    cJSON *parts = cJSON_CreateArray();
    cJSON *part = cJSON_CreateObject();
    cJSON_AddStringToObject(part, "text", text ? text : "");
    cJSON_AddItemToArray(parts, part);
    return parts;
}

/* A model turn: the parts its state kept (text with thoughtSignature, as
 * the answer had them) when their text is still the turn's text; else the
 * text alone (the history was edited: a signature would no longer match
 * what it signed). */
static cJSON *
model_parts(const struct fx_turn *t)
{
    const char *text = t->text.data ? t->text.data : "";
    cJSON *st = fx_state_parse(t->state, "gemini");
    cJSON *parts = cJSON_GetObjectItemCaseSensitive(st, "parts");
    if (!cJSON_IsArray(parts)) {
        cJSON_Delete(st);
        return text_parts(text);
    }
    fxu_buf joined;
    fxu_buf_init(&joined);
    const cJSON *part;
    cJSON_ArrayForEach(part, parts)
    {
        const char *pt = fx_json_str(part, "text");
        if (pt &&
            !cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(part, "thought")))
            fxu_buf_puts(&joined, pt);
    }
    int same = strcmp(joined.data ? joined.data : "", text) == 0;
    fxu_buf_free(&joined);
    cJSON *out = same ? cJSON_DetachItemFromObjectCaseSensitive(st, "parts")
                      : text_parts(text);
    cJSON_Delete(st);
    return out;
}

/* The model's generation, from its name: 3 and later take a thinking
 * level, 2.5 a token budget, older ones nothing (0).  "gemini-2.5-pro",
 * "models/gemini-3-flash-preview", "gemini-3.5-flash-lite"... */
static int
model_family(const char *model)
{
    if (model == NULL)
        return 0;
    const char *slash = strrchr(model, '/');
    if (slash)
        model = slash + 1;
    if (strncmp(model, "gemini-", 7) != 0)
        return 0;
    const char *v = model + 7;
    if (*v < '0' || *v > '9')
        return 0;
    long major = strtol(v, (char **)&v, 10);
    long minor = 0;
    if (*v == '.' && v[1] >= '0' && v[1] <= '9')
        minor = strtol(v + 1, NULL, 10);
    if (major >= 3)
        return 3;
    if (major == 2 && minor >= 5)
        return 2;
    return 0;
}

/* thinkingConfig for the request's reasoning setting: Gemini 3+ takes
 * thinkingLevel (none is MINIMAL, the least there is), 2.5 thinkingBudget
 * (none is 0, or 128 on Pro, which cannot turn thinking off).  Thought
 * summaries are asked for whenever the model thinks. */
static void
add_thinking(cJSON *gc, const struct fx_call *call, const char *model,
             int level, char **warning)
{
    static const char *const levels[] = {NULL, "MINIMAL", "LOW", "MEDIUM",
                                         "HIGH"};
    static const long budgets[] = {0, 0, 1024, 8192, 24576};
    if (level <= FLEXIAI_REASONING_UNSET || level > FLEXIAI_REASONING_HIGH)
        return;
    int family = model_family(model);
    if (family == 0) {
        fx_set_err(warning,
                   "%s: model %s takes no thinking configuration: reasoning "
                   "not requested",
                   call->prov->name, model);
        return;
    }
    cJSON *tc = cJSON_AddObjectToObject(gc, "thinkingConfig");
    if (level > FLEXIAI_REASONING_NONE)
        cJSON_AddTrueToObject(tc, "includeThoughts");
    if (family == 3) {
        cJSON_AddStringToObject(tc, "thinkingLevel", levels[level]);
    } else {
        long budget = budgets[level];
        if (level == FLEXIAI_REASONING_NONE && strstr(model, "-pro"))
            budget = 128;
        cJSON_AddNumberToObject(tc, "thinkingBudget", (double)budget);
    }
}

char *
fx_gemini_body(const struct fx_call *call, char **warning, char **err)
{
    const struct fx_params *pp = fx_call_params(call);
    struct fx_convo c;
    const char *model = call->model ? call->model : call->prov->model;

    if (fx_convo_build(call, &c, err) < 0)
        return NULL;

    cJSON *root = cJSON_CreateObject();
    cJSON *contents = cJSON_AddArrayToObject(root, "contents");
    for (size_t i = 0; i < c.nturns; i++) {
        const struct fx_turn *t = &c.turns[i];
        cJSON *m = cJSON_CreateObject();
        cJSON_AddStringToObject(m, "role", t->assistant ? "model" : "user");
        cJSON *parts = t->assistant && t->state ? model_parts(t)
                       : t->tools               ? cJSON_CreateArray()
                                                : text_parts(t->text.data);
        if (t->tools) /* functionCall / functionResponse (provider-tools.c) */
            fx_tools_gemini_parts(parts, call, t);
        cJSON_AddItemToObject(m, "parts", parts);
        cJSON_AddItemToArray(contents, m);
    }
    char *instruction = fx_call_schema_instruction(call);
    if (instruction) {
        if (c.system.len > 0)
            fxu_buf_puts(&c.system, "\n\n");
        fxu_buf_puts(&c.system, instruction);
        free(instruction);
    }
    if (c.system.len > 0) {
        cJSON *si = cJSON_AddObjectToObject(root, "systemInstruction");
        cJSON_AddItemToObject(si, "parts", text_parts(c.system.data));
    }
    fx_convo_free(&c);

    cJSON *gc = cJSON_CreateObject();
    if (pp->temperature >= 0)
        cJSON_AddNumberToObject(gc, "temperature", pp->temperature);
    if (pp->max_tokens > 0)
        cJSON_AddNumberToObject(gc, "maxOutputTokens", (double)pp->max_tokens);
    if (pp->top_p >= 0)
        cJSON_AddNumberToObject(gc, "topP", pp->top_p);
    if (pp->top_k > 0)
        cJSON_AddNumberToObject(gc, "topK", (double)pp->top_k);
    if (pp->stop && pp->stop[0]) {
        cJSON *stop = cJSON_AddArrayToObject(gc, "stopSequences");
        for (size_t i = 0; pp->stop[i]; i++)
            cJSON_AddItemToArray(stop, cJSON_CreateString(pp->stop[i]));
    }
    /* structured output: JSON, with the schema converted to Google's
     * subset (native; tool is taken as native), or JSON alone */
    int mode = fx_call_schema_mode(call);
    if (mode >= 0 && mode != FX_SCHEMA_PROMPT)
        cJSON_AddStringToObject(gc, "responseMimeType", "application/json");
    if (mode == FX_SCHEMA_NATIVE || mode == FX_SCHEMA_TOOL)
        cJSON_AddItemToObject(gc, "responseSchema",
                              cJSON_Parse(call->schema->gemini));
    add_thinking(gc, call, model, pp->reasoning, warning);
    fx_tools_gemini(root, call);
    if (cJSON_GetArraySize(gc) > 0)
        cJSON_AddItemToObject(root, "generationConfig", gc);
    else
        cJSON_Delete(gc);
    return fx_json_finish(root);
}
