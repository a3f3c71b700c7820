/*
 * provider-anthropic-body.c - the Anthropic Messages request body: the
 * conversation with each assistant turn's thinking blocks sent back, the
 * sampling parameters the API version allows, thinking (adaptive with an
 * effort under 2026-10-21, a token budget under 2023-06-01), prompt
 * caching markers and structured output.  The shapes follow the official
 * TypeScript SDK's types (MessageCreateParams in
 * src/resources/messages/messages.ts).
 */
#include "config.h"

#include "fx.h"
#include "provider-common.h"

#include <stdlib.h>
#include <string.h>

/* The first version under which temperature, top_p and top_k are refused
 * and only adaptive thinking is sure to be taken. */
#define ANTHROPIC_V2026 "2026-10-21"

/* Thinking budgets under 2023-06-01 (the API wants 1024 <= budget <
 * max_tokens), and under either version the room added to max_tokens so
 * that thinking does not eat the answer's budget. */
static const long budget_tokens[] = {0, 0, 1024, 4096, 16384};
static const char *const effort_names[] = {NULL, NULL, "low", "medium", "high"};

int
fx_anthropic_v2026(const char *version)
{
    /* versions are dates: later ones keep the 2026-10-21 rules */
    return version && strcmp(version, ANTHROPIC_V2026) >= 0;
}

/* {"type":"ephemeral"}: a prompt-cache breakpoint. */
static void
add_cache_control(cJSON *block)
{
    cJSON *cc = cJSON_AddObjectToObject(block, "cache_control");
    cJSON_AddStringToObject(cc, "type", "ephemeral");
}

static cJSON *
output_config(cJSON *root)
{
    cJSON *oc = cJSON_GetObjectItemCaseSensitive(root, "output_config");
    return oc ? oc : cJSON_AddObjectToObject(root, "output_config");
}

/* Structured output: output_config.format json_schema, or a forced tool
 * whose input_schema is the schema (older models, proxies).  json and
 * prompt modes put the schema in the system prompt. */
static void
add_schema(cJSON *root, const struct fx_call *call)
{
    int mode = fx_call_schema_mode(call);
    if (mode != FX_SCHEMA_NATIVE && mode != FX_SCHEMA_TOOL)
        return;
    cJSON *schema = fx_call_schema_json(call);
    if (schema == NULL)
        return;
    if (mode == FX_SCHEMA_NATIVE) {
        cJSON *fmt = cJSON_AddObjectToObject(output_config(root), "format");
        cJSON_AddStringToObject(fmt, "type", "json_schema");
        cJSON_AddItemToObject(fmt, "schema", schema);
        return;
    }
    cJSON *tool = cJSON_CreateObject();
    cJSON_AddStringToObject(tool, "name", FX_SCHEMA_TOOL_NAME);
    cJSON_AddStringToObject(tool, "description", "Give the answer.");
    cJSON_AddItemToObject(tool, "input_schema", schema);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(root, "tools"), tool);
    cJSON *tc = cJSON_AddObjectToObject(root, "tool_choice");
    cJSON_AddStringToObject(tc, "type", "tool");
    cJSON_AddStringToObject(tc, "name", FX_SCHEMA_TOOL_NAME);
}

/* The system prompt: a string, or with caching one text block that ends
 * the cached prefix's first part. */
static void
add_system(cJSON *root, const struct fx_call *call, const struct fx_convo *c)
{
    char *instruction = fx_call_schema_instruction(call);
    char *sys = NULL;
    if (c->system.len > 0 && instruction)
        sys = fxu_asprintf("%s\n\n%s", c->system.data, instruction);
    else if (c->system.len > 0 || instruction)
        sys = fxu_strdup(instruction ? instruction : c->system.data);
    free(instruction);
    if (sys == NULL)
        return;
    if (call->prov->prompt_cache) {
        cJSON *block = cJSON_CreateObject();
        cJSON_AddStringToObject(block, "type", "text");
        cJSON_AddStringToObject(block, "text", sys);
        add_cache_control(block);
        cJSON_AddItemToArray(cJSON_AddArrayToObject(root, "system"), block);
    } else {
        cJSON_AddStringToObject(root, "system", sys);
    }
    free(sys);
}

/* The thinking and redacted_thinking blocks of an assistant turn's state,
 * unchanged and in order (NULL: none, or another type's state). */
static cJSON *
thinking_blocks(const char *state)
{
    cJSON *st = fx_state_parse(state, "anthropic");
    cJSON *out = NULL;
    const cJSON *block;
    cJSON_ArrayForEach(block, cJSON_GetObjectItemCaseSensitive(st, "blocks"))
    {
        const char *type = fx_json_str(block, "type");
        if (type == NULL || (strcmp(type, "thinking") != 0 &&
                             strcmp(type, "redacted_thinking") != 0))
            continue;
        if (out == NULL)
            out = cJSON_CreateArray();
        cJSON_AddItemToArray(out, cJSON_Duplicate(block, 1));
    }
    cJSON_Delete(st);
    return out;
}

/* One message.  Content is a plain string unless it carries thinking
 * blocks or the cache breakpoint (the last message: the conversation so
 * far becomes a prefix the next turn reads from the cache). */
static cJSON *
message(const struct fx_call *call, const struct fx_turn *t, int cache_mark)
{
    const char *text = t->text.data ? t->text.data : "";
    cJSON *m = cJSON_CreateObject();
    cJSON *content = t->assistant ? thinking_blocks(t->state) : NULL;
    cJSON_AddStringToObject(m, "role", t->assistant ? "assistant" : "user");
    if (t->tools) { /* tool_use / tool_result blocks (provider-tools.c) */
        if (content == NULL)
            content = cJSON_CreateArray();
        fx_tools_anthropic_blocks(content, call, t);
        cJSON_AddItemToObject(m, "content", content);
        if (cache_mark && cJSON_GetArraySize(content) > 0)
            add_cache_control(
                cJSON_GetArrayItem(content, cJSON_GetArraySize(content) - 1));
        return m;
    }
    if (!cache_mark && content == NULL) {
        cJSON_AddStringToObject(m, "content", text);
        return m;
    }
    if (content == NULL)
        content = cJSON_CreateArray();
    cJSON_AddItemToObject(m, "content", content);
    if (*text || cJSON_GetArraySize(content) == 0) {
        cJSON *block = cJSON_CreateObject();
        cJSON_AddStringToObject(block, "type", "text");
        cJSON_AddStringToObject(block, "text", text);
        cJSON_AddItemToArray(content, block);
    }
    if (cache_mark) /* on the last block: thinking blocks cannot take it */
        add_cache_control(
            cJSON_GetArrayItem(content, cJSON_GetArraySize(content) - 1));
    return m;
}

/* A sampling parameter the user set (temperature: other than the
 * configured default, which is not the user's choice) */
static int
temperature_chosen(double t)
{
    double def;
    const char *d = fx_config_default("defaults", "temperature");
    if (t < 0)
        return 0;
    return !(d && fxu_parse_double(d, &def) == 0 && def == t);
}

static void
add_sampling(cJSON *root, const struct fx_params *pp, const char *why,
             char **warning)
{
    if (why == NULL) {
        if (pp->temperature >= 0)
            cJSON_AddNumberToObject(root, "temperature", pp->temperature);
        if (pp->top_p >= 0)
            cJSON_AddNumberToObject(root, "top_p", pp->top_p);
        if (pp->top_k > 0)
            cJSON_AddNumberToObject(root, "top_k", (double)pp->top_k);
        return;
    }
    if (temperature_chosen(pp->temperature) || pp->top_p >= 0 || pp->top_k > 0)
        fx_set_err(warning, "%s refuses temperature, top_p and top_k: not sent",
                   why);
}

char *
fx_anthropic_body(const struct fx_call *call, const char *model,
                  const char *version, char **warning, char **err)
{
    const struct fx_params *pp = fx_call_params(call);
    struct fx_convo c;
    int v2026 = fx_anthropic_v2026(version);
    int level = pp->reasoning;
    char *vwhy = NULL;

    if (fx_convo_build(call, &c, err) < 0)
        return NULL;
    if (level < FLEXIAI_REASONING_UNSET || level > FLEXIAI_REASONING_HIGH)
        level = FLEXIAI_REASONING_UNSET;
    if (level > FLEXIAI_REASONING_NONE &&
        fx_call_schema_mode(call) == FX_SCHEMA_TOOL) {
        /* the API refuses forced tool use with thinking on */
        fx_set_err(warning,
                   "%s: schema_mode = tool cannot be combined with thinking: "
                   "reasoning not requested",
                   call->prov->name);
        level = FLEXIAI_REASONING_UNSET;
    }

    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "model", model);
    /* the API requires max_tokens: unset, send flexiai's default */
    long max_tokens =
        pp->max_tokens > 0 ? pp->max_tokens : call->default_max_tokens;
    /* thinking counts against max_tokens: keep the answer's own budget
     * (under 2023-06-01 the budget must be below max_tokens) */
    if (level > FLEXIAI_REASONING_NONE)
        max_tokens += budget_tokens[level];
    cJSON_AddNumberToObject(root, "max_tokens", (double)max_tokens);
    add_system(root, call, &c);
    cJSON *messages = cJSON_AddArrayToObject(root, "messages");
    for (size_t i = 0; i < c.nturns; i++)
        cJSON_AddItemToArray(
            messages, message(call, &c.turns[i],
                              call->prov->prompt_cache && i + 1 == c.nturns));
    fx_convo_free(&c);

    if (v2026)
        vwhy =
            fxu_asprintf("%s: anthropic-version %s", call->prov->name, version);
    else if (level > FLEXIAI_REASONING_NONE)
        vwhy = fxu_asprintf("%s: thinking", call->prov->name);
    add_sampling(root, pp, vwhy, warning);
    free(vwhy);

    if (level != FLEXIAI_REASONING_UNSET) {
        cJSON *th = cJSON_AddObjectToObject(root, "thinking");
        if (level == FLEXIAI_REASONING_NONE) {
            cJSON_AddStringToObject(th, "type", "disabled");
        } else if (v2026) {
            cJSON_AddStringToObject(th, "type", "adaptive");
            /* newer models omit the text by default: ask for a summary */
            cJSON_AddStringToObject(th, "display", "summarized");
            cJSON_AddStringToObject(output_config(root), "effort",
                                    effort_names[level]);
        } else {
            cJSON_AddStringToObject(th, "type", "enabled");
            cJSON_AddNumberToObject(th, "budget_tokens",
                                    (double)budget_tokens[level]);
        }
    }
    if (pp->stop && pp->stop[0]) {
        cJSON *stop = cJSON_AddArrayToObject(root, "stop_sequences");
        for (size_t i = 0; pp->stop[i]; i++)
            cJSON_AddItemToArray(stop, cJSON_CreateString(pp->stop[i]));
    }
    if (call->stream)
        cJSON_AddTrueToObject(root, "stream");
    add_schema(root, call);
    fx_tools_anthropic(root, call);
    return fx_json_finish(root);
}
