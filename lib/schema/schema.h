/*
 * schema.h - what lib/schema/ offers the rest of the library: structured
 * output: JSON Schema (draft 7) compiled once and used to validate model
 * answers, the schema DSL, SPEC resolution, and the conversions the providers
 * need.  Internal to libflexiai, not installed.
 *
 *   jsonschema.c          compile: keyword checks, regexes, local $refs
 *   jsonschema-validate.c validate an instance, one-line error messages
 *   jsonschema-util.c     paths, rendering, equality, pointers (shared)
 *   schema-dsl.c          'name type: description, ...' -> JSON Schema,
 *                         the "multi" wrapper, SPEC (file | {json} | DSL)
 *   schema-convert.c      OpenAI strictness check, Gemini responseSchema
 *
 * Supported keywords: type, properties, required, additionalProperties,
 * items (schema or array) and additionalItems, contains, enum, const,
 * minimum, maximum, exclusiveMinimum, exclusiveMaximum, multipleOf,
 * minLength, maxLength (code points), pattern, minItems, maxItems,
 * uniqueItems, minProperties, maxProperties, patternProperties,
 * propertyNames, anyOf, oneOf, allOf, not, if/then/else, definitions,
 * $defs and local $ref ("#", "#/definitions/x", with ~0 ~1 and %-escapes).
 * Annotations accepted and not asserted: format, title, description,
 * default, examples, $schema, $id, $comment, readOnly, writeOnly,
 * contentMediaType, contentEncoding.  Any other keyword, and any $ref that
 * is not a JSON pointer into the same document, is refused at compile time
 * (a member that is no keyword of any draft but that a $ref points into is
 * taken as a place to keep subschemas, like "definitions").
 *
 * "pattern" and "patternProperties" are POSIX extended regular expressions
 * (regcomp with REG_EXTENDED), not ECMA-262: no \d, \w, lookaround or
 * lazy quantifiers; character classes and "." follow the process's
 * LC_CTYPE.  Matching is unanchored, as in JSON Schema.  Patterns that
 * glibc would expand into a huge automaton (nested or stacked repetitions)
 * and back-references are refused at compile time.
 *
 * Messages are single lines: compile errors name the keyword and its place
 * in the schema ("unsupported keyword \"dependencies\" at $.properties.x"),
 * validation errors the place in the instance and what failed
 * ("$.count: expected integer, got string").  Nothing here prints.
 */
#ifndef FX_SCHEMA_H
#define FX_SCHEMA_H

#include <cjson/cJSON.h>

#include "fx.h"

struct fx_provider;

typedef struct fx_schema fx_schema;

/* Compile a schema (the document is copied; the caller keeps its own).
 * Returns NULL with *err (malloc'd, one line) when the schema is malformed
 * or uses something unsupported. */
fx_schema *fx_schema_compile(const cJSON *schema, char **err);
void fx_schema_free(fx_schema *s);

/* 0 when the instance is valid; -1 with *err (malloc'd, one line) naming
 * the first failure found.  A schema whose $refs loop without consuming
 * input, or a validation too large to finish, also gives -1 with a
 * message saying so.  err may be NULL. */
int fx_schema_validate(const fx_schema *s, const cJSON *instance, char **err);

/* Parse the DSL: comma-separated fields "name [type][: description]"
 * (so a description cannot hold a comma; it may hold colons),
 * type str (default), int, float, bool or [T] for arrays of those
 * (also string, integer, number, boolean).  Returns a strict object schema
 * (every property required, additionalProperties false), or NULL with
 * *err (one line).  err must not be NULL. */
cJSON *fx_schema_from_dsl(const char *dsl, char **err);

/* Wrap a schema as {"type":"object","properties":{"items":{"type":"array",
 * "items":SCHEMA}},"required":["items"],"additionalProperties":false}.
 * Takes ownership of schema. */
cJSON *fx_schema_multi(cJSON *schema);

/* Resolve a --schema SPEC: an existing regular file is read as a JSON
 * Schema; text starting with '{' is inline JSON Schema; anything else is
 * DSL.  A SPEC that looks like a path (contains '/' or ends in ".json",
 * and has no ',' or ':') but names no file is a missing file.
 * Returns 0 with *out (caller frees), or with *err (one line):
 *   FLEXIAI_ENOINPUT (66)  the file is missing or unreadable
 *   FLEXIAI_EDATA (65)     the file holds no valid JSON / JSON Schema
 *   FLEXIAI_EUSAGE (64)    inline JSON or DSL is malformed
 * A schema from a file or inline is compiled once to check it, so a 0
 * return means fx_schema_compile() will accept *out.  out and err must
 * not be NULL. */
int fx_schema_load_spec(const char *spec, cJSON **out, char **err);
/* The same for text only, never a file: inline JSON Schema or the DSL
 * (a batch item's own schema, which must not read local files). */
int fx_schema_load_text(const char *spec, cJSON **out, char **err);

/* OpenAI strict mode: every object schema (one with "type" object or
 * "properties") lists all its properties in "required" and has
 * "additionalProperties": false, recursively.  1 if so; 0 otherwise, with
 * *why (malloc'd, one line, may be NULL) saying where it is not. */
int fx_schema_is_strict(const cJSON *schema, char **why);

/* Convert to Gemini's responseSchema (the OpenAPI 3.0 subset): upper-case
 * type names, nullable for ["T","null"], local $refs inlined, oneOf
 * loosened to anyOf, propertyOrdering from the schema's order, and every
 * keyword Gemini cannot express dropped.  Returns a new document; *note
 * (may be NULL) gets one line listing what was dropped or changed, or NULL
 * when the conversion is exact. */
cJSON *fx_schema_to_gemini(const cJSON *schema, char **note);
/* cJSON_PrintUnformatted that aborts on OOM; frees root. */
char *fx_json_finish(cJSON *root);

/* ---- schema-output.c: structured output -------------------------------- */

struct fx_schema;
struct flexiai_schema {
    struct fx_schema *compiled; /* what answers are checked against */
    int multi;                  /* answers are {"items": [...]}: print it */
    int strict;                 /* OpenAI strict mode is possible */
    char *text;                 /* the schema sent, unformatted JSON */
    char *gemini;               /* converted for Gemini's responseSchema */
    char *gemini_note; /* what the conversion dropped, NULL when exact */
};
/* The name of the forced tool in schema_mode = tool. */
#define FX_SCHEMA_TOOL_NAME "answer"
/* The instruction put in the system prompt (json and prompt modes), and
 * the repair message after an invalid answer; malloc'd. */
char *fx_schema_instruction(const struct flexiai_schema *s);
char *fx_schema_repair_prompt(const char *verr);
/* Check a complete answer: 0 with *json (the validated JSON, one line;
 * for multi the items array), or -1 with *verr (one line). */
int fx_schema_check(const struct flexiai_schema *s,
                    const struct fx_response *resp, char **json, char **verr);
/* What converting the schema for provider p dropped (Gemini and Vertex in
 * native or tool mode), for a -v line; NULL when nothing was. */
const char *fx_schema_note(const struct flexiai_schema *s,
                           const struct fx_provider *p);
/* No answer matched (exit 76): res->error becomes the last validation
 * error, "openai: $.severity: ...". */
void fx_schema_result_error(flexiai_result *res);

#endif
