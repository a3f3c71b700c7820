/*
 * jsonschema-int.h - the compiled form of a JSON Schema, shared by the
 * compiler (jsonschema.c, which builds it) and the validator
 * (jsonschema-validate.c, which only reads it), and the helpers of
 * jsonschema-util.c.  Not installed.
 */
#ifndef FX_SCHEMA_INT_H
#define FX_SCHEMA_INT_H

#include "fxu.h"
#include "schema.h"

#include <regex.h>
#include <stddef.h>

/* Bits of "type"; 0 means any type. */
enum {
    FX_JT_NULL = 1 << 0,
    FX_JT_BOOLEAN = 1 << 1,
    FX_JT_OBJECT = 1 << 2,
    FX_JT_ARRAY = 1 << 3,
    FX_JT_NUMBER = 1 << 4,
    FX_JT_STRING = 1 << 5,
    FX_JT_INTEGER = 1 << 6,
};

struct fx_jsnode;

struct fx_jsprop {
    const char *name; /* points into the document */
    struct fx_jsnode *schema;
};

struct fx_jspattern {
    const char *source; /* points into the document */
    regex_t re;
    struct fx_jsnode *schema; /* NULL for "pattern" */
};

/* One numeric or count limit; `value` is the schema's own number so that a
 * message can print it as written. */
struct fx_jslimit {
    const cJSON *value; /* NULL: absent */
    double v;
};

struct fx_jsnode {
    int boolean;            /* 0 or 1 for a boolean schema, -1 for an object */
    char *loc;              /* where it is in the schema: "$.properties.x" */
    const cJSON *doc;       /* the schema in the compiled document */
    struct fx_jsnode *next; /* every node of a schema, for lookup and free */

    /* $ref: when set, every sibling keyword is ignored (draft 7) */
    const char *ref;
    struct fx_jsnode *target;

    unsigned types;
    const cJSON *enum_vals; /* array */
    const cJSON *const_val;

    struct fx_jslimit minimum, maximum, xminimum, xmaximum, multiple_of;
    struct fx_jslimit min_length, max_length;
    struct fx_jspattern *pattern;

    struct fx_jsnode *items;  /* single-schema form */
    struct fx_jsnode **tuple; /* array form */
    size_t ntuple;
    int has_tuple;
    struct fx_jsnode *additional_items;
    struct fx_jsnode *contains;
    struct fx_jslimit min_items, max_items;
    int unique_items;

    struct fx_jsprop *props;
    size_t nprops;
    struct fx_jspattern *patprops;
    size_t npatprops;
    struct fx_jsnode *additional_props;
    struct fx_jsnode *property_names;
    const cJSON *required; /* array of strings */
    struct fx_jslimit min_props, max_props;

    struct fx_jsnode **all_of, **any_of, **one_of;
    size_t nall_of, nany_of, none_of;
    struct fx_jsnode *not_schema;
    struct fx_jsnode *if_schema, *then_schema, *else_schema;
};

struct fx_schema {
    cJSON *doc; /* owned copy of the schema */
    struct fx_jsnode *root;
    struct fx_jsnode *nodes; /* list of every node */
};

/* Append a member name / an index to a path: ".name" when it is a plain
 * identifier, ["na me"] (JSON-quoted) otherwise; "[3]". */
void fx_js_path_key(fxu_buf *path, const char *name);
void fx_js_path_index(fxu_buf *path, size_t i);

/* Follow a local $ref ("#", "#/definitions/a~1b", %-escapes allowed) from
 * root; NULL when it points nowhere or is not local.  *loc is set to the
 * target's path ("$.definitions[\"a/b\"]"). */
const cJSON *fx_js_pointer(const cJSON *root, const char *ref, fxu_buf *loc);

/* A value as compact JSON on one line, cut to about `max` bytes with
 * "..." when longer.  Caller frees. */
char *fx_js_render(const cJSON *v, size_t max);

/* Deep equality with numbers compared by value (1 == 1.0) and objects
 * regardless of member order. */
int fx_js_equal(const cJSON *a, const cJSON *b);

/* Why regcomp should not be given this pattern (too long, repetition
 * counts that multiply into a huge automaton, back-references), or NULL. */
const char *fx_js_pattern_too_costly(const char *src);

/* json-edges.c: why JSON text did not parse: "nested more than 1000
 * levels deep" or "not valid JSON (near byte N)" (end as cJSON left it).
 * Caller frees. */
char *fx_js_parse_error(const char *text, const char *end);
/* A parsed document with a number no double holds (1e400) or a key twice
 * in one object: -1 and *why ("$.a: ..."; caller frees); else 0. */
int fx_js_check_edges(const cJSON *doc, char **why);

#endif
