/*
 * provider-common.h - helpers shared by the provider-*.c files (defined in
 * provider-common.c, the Gemini body/parse functions in provider-gemini.c since
 * Vertex AI speaks the same JSON).  Not installed; not used outside the
 * providers.
 */
#ifndef FX_PROVIDER_COMMON_H
#define FX_PROVIDER_COMMON_H

#include "providers.h"
#include "schema/schema.h"

#include <cjson/cJSON.h>

/* ---- finish reasons ----------------------------------------------------- */

struct fx_finish_map {
    const char *from; /* provider value */
    const char *to;   /* stop | length | content_filter | tool_calls | error */
};
/* A provider value that fails the attempt (no usable answer came: the
 * next provider may give one), with its enum flexiai_errclass. */
struct fx_finish_error {
    const char *from;
    int cls;
};
/* Normalise `value` through a table ended by {NULL, NULL}.  NULL or "" give
 * NULL; a value missing from the table gives "stop": the model did finish,
 * we just do not know a more precise reason. */
const char *fx_finish_normalise(const char *value,
                                const struct fx_finish_map *table);
/* The error class of `value` in a table ended by {NULL, 0} (0: none). */
int fx_finish_class(const char *value, const struct fx_finish_error *table);
/* Replace r->finish_reason / r->model (NULL and "" leave them alone). */
void fx_response_set_finish(struct fx_response *r, const char *normalised);
void fx_response_set_model(struct fx_response *r, const char *model);

/* ---- requests ----------------------------------------------------------- */

/* Base URL of the provider (or `def`), trailing slashes removed. */
char *fx_base_url(const struct fx_provider *p, const char *def);
/* Append s percent-encoded for use as one URL path segment or query value. */
void fx_url_escape(fxu_buf *b, const char *s);
/* Append one "Name: value" line to r->headers. */
void fx_req_header(struct fx_http_req *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* 1 when key is set (non-NULL, non-empty).  -1 with *err when it holds
 * bytes that would break the header (the key itself is never quoted). */
int fx_key_usable(const char *key, char **err);
/* call->params, or a set with every parameter unset when NULL. */
const struct fx_params *fx_call_params(const struct fx_call *call);
/* call->model, else the provider's model; NULL and *err when neither. */
const char *fx_call_model(const struct fx_call *call, char **err);
/* Role check shared by every builder: "system", "user", "assistant",
 * "tool"
 * (NULL counts as "user").  0 ok, -1 with *err. */
int fx_role_check(const char *role, char **err);
/* 1 when m is a tool result or an assistant turn with tool calls. */
int fx_msg_is_tool(const flexiai_message *m);

/*
 * A conversation shaped for APIs that keep the system prompt apart and
 * want user/assistant turns to alternate starting with the user
 * (Anthropic, Gemini): the system text is params->system followed by every
 * system message, joined with a blank line; consecutive messages of one
 * role are merged the same way.  When the first turn is the assistant's,
 * a user turn "..." is put in front: the APIs reject a conversation that
 * starts with the model, and a neutral placeholder changes the meaning
 * least.
 */
struct fx_turn {
    int assistant; /* 0 user, 1 assistant/model */
    fxu_buf text;
    /* an assistant turn's reasoning_state (the first of its merged
     * messages that has one), borrowed from the call's messages */
    const char *state;
    /* the call's messages merged into it: [first, end) (system messages
     * in between are not part of it); tools: one of them is a tool result
     * or has tool calls (provider-tools.c builds such a turn) */
    size_t first, end;
    int tools;
};
struct fx_convo {
    fxu_buf system; /* len 0: none */
    struct fx_turn *turns;
    size_t nturns;
};
int fx_convo_build(const struct fx_call *call, struct fx_convo *c, char **err);
void fx_convo_free(struct fx_convo *c);

/* ---- responses ---------------------------------------------------------- */

/* cJSON_ParseWithLength, NULL for an empty or malformed body. */
cJSON *fx_json_parse(const char *body, size_t len);
/* obj[name] as a string, or NULL. */
const char *fx_json_str(const cJSON *obj, const char *name);
/* obj[name] as a non-negative token count; 0 found, -1 absent/invalid. */
int fx_json_count(const cJSON *obj, const char *name, long *out);

/* err->msg = "HTTP 429 rate_limit_exceeded: message" (code and message
 * optional) and err->cls = cls. */
void fx_error_http(struct fx_error *err, int cls, long status, const char *code,
                   const char *message);
/* err->msg = "prefix" "code: message" with the same cleaning. */
void fx_error_detail(struct fx_error *err, int cls, const char *prefix,
                     const char *code, const char *message);
/* The first part of every classify(): status, class from the status,
 * retry delay; a body that is empty or not JSON gets its message here and
 * NULL is returned; otherwise the parsed body (caller deletes). */
cJSON *fx_classify_start(long status, const char *body, size_t len,
                         const struct fx_headers *h, double now,
                         const char *const *reset, struct fx_error *err);

/* ---- structured output (schema-output.c) ------------------------------- */

/* The request's schema as a new document (NULL: no schema); caller
 * deletes. */
cJSON *fx_call_schema_json(const struct fx_call *call);
/* The provider's enum fx_schema_mode, or -1 when the call has no schema. */
int fx_call_schema_mode(const struct fx_call *call);
/* The system-prompt instruction for schema_mode json and prompt (NULL
 * otherwise); caller frees. */
char *fx_call_schema_instruction(const struct fx_call *call);

/* ---- reasoning state (provider-common.c) ------------------------------- */

/* A turn's reasoning_state when it is {"type": type, ...} (a state of
 * another provider type, or no JSON, gives NULL); caller deletes. */
cJSON *fx_state_parse(const char *state, const char *type);
/* {"type": type, member: items} as JSON text; takes items. */
char *fx_state_make(const char *type, const char *member, cJSON *items);

/* ---- Anthropic (provider-anthropic-body.c) ---------------------------- */

/* The Messages body for call under API version `version` (2026-10-21 and
 * later: no sampling parameters, adaptive thinking).  *warning (may stay
 * NULL) says what was left out.  NULL with *err. */
char *fx_anthropic_body(const struct fx_call *call, const char *model,
                        const char *version, char **warning, char **err);
/* 1 when version follows the 2026-10-21 rules. */
int fx_anthropic_v2026(const char *version);

/* ---- Gemini and Vertex AI (provider-gemini.c) ------------------------- */

/* provider-gemini-body.c; *warning as for Anthropic. */
char *fx_gemini_body(const struct fx_call *call, char **warning, char **err);
int fx_gemini_parse_response(const char *body, size_t len,
                             struct fx_response *out, struct fx_error *err);
int fx_gemini_parse_event(struct fx_stream *st, const char *event,
                          const char *data, size_t len);
void fx_gemini_classify(long status, const char *body, size_t len,
                        const struct fx_headers *h, double now,
                        struct fx_error *err);

/* ---- OpenAI, shared with the Responses API (provider-openai.c) -------- */

/* The o-series and gpt-5 and later: models that reason. */
int fx_openai_reasoning_model(const char *model);
/* Usage in either spelling (see provider-openai.c) into out. */
void fx_openai_usage(const cJSON *usage, const char *const names[4],
                     struct fx_response *out);
/* enum flexiai_reasoning as OpenAI's effort ("none".."high"), NULL unset. */
const char *fx_openai_effort(int reasoning);
/* temperature and top_p into root, unless the model reasons (a reasoning
 * model not told `none`, or any model told to reason): then the ones the
 * user set are named in *left_out ("temperature, top_p"). */
void fx_openai_sampling(cJSON *root, const struct fx_call *call,
                        const char *model, fxu_buf *left_out);
/* The warning for what left_out names ("NAME: temperature not sent to M
 * (why)"), or NULL when it names nothing; frees left_out. */
char *fx_openai_left_out(const struct fx_call *call, const char *model,
                         fxu_buf *left_out, const char *why);

/* ---- tools (provider-tools.c) ------------------------------------------ */

/* call->tools into root in each format ("tools"; with the schema's forced
 * tool there already, the tools join it and the choice becomes "the
 * model calls some tool"). */
void fx_tools_openai(cJSON *root, const struct fx_call *call);
void fx_tools_responses(cJSON *root, const struct fx_call *call);
void fx_tools_anthropic(cJSON *root, const struct fx_call *call);
void fx_tools_gemini(cJSON *root, const struct fx_call *call);
/* The call that the tool result call->messages[i] answers (by id, name,
 * then order), or NULL. */
const flexiai_tool_call *fx_tool_result_call(const struct fx_call *call,
                                             size_t i);
/* Message i (a tool result or an assistant turn with calls) as Chat
 * Completions' message object; caller deletes. */
cJSON *fx_tools_openai_message(const struct fx_call *call, size_t i);
/* Message i as Responses API input items, appended to input. */
void fx_tools_responses_items(cJSON *input, const struct fx_call *call,
                              size_t i);
/* A turn with tools as Anthropic content blocks (tool_use; tool_result
 * first, then text), appended to content. */
void fx_tools_anthropic_blocks(cJSON *content, const struct fx_call *call,
                               const struct fx_turn *t);
/* A turn with tools as Gemini parts (functionCall unless parts holds them
 * already; functionResponse first, then text), appended to parts. */
void fx_tools_gemini_parts(cJSON *parts, const struct fx_call *call,
                           const struct fx_turn *t);
/* The answer's call number index (grown as needed; NULL past 1024). */
flexiai_tool_call *fx_tool_call_at(struct fx_response *r, size_t index);
/* id and name when not set yet; a piece of the arguments appended. */
void fx_tool_call_set(flexiai_tool_call *c, const char *id, const char *name);
void fx_tool_call_args(flexiai_tool_call *c, const char *piece);
/* A new call at the end. */
flexiai_tool_call *fx_tool_call_add(struct fx_response *r, const char *id,
                                    const char *name, const char *arguments);
/* After parsing (idempotent): the schema's forced tool becomes the text,
 * missing ids are made (stable), missing arguments are "{}", and an
 * answer with calls that finished normally finishes with "tool_calls". */
void fx_tools_finish(struct fx_response *r);

#endif
