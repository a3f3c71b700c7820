/*
 * jsonschema.c - compiles a JSON Schema (draft 7) into fx_jsnode trees:
 * checks every keyword and its value once, compiles the regexes, resolves
 * local $refs to nodes and refuses what the validator does not implement,
 * so that validation (jsonschema-validate.c) never meets a surprise.
 */
#include "config.h"

#include "schema-int.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Keywords the validator asserts, then annotations it accepts and ignores;
 * space-separated so that one strstr() finds a name. */
static const char asserting_keywords[] =
    " type properties required additionalProperties items additionalItems"
    " contains enum const minimum maximum exclusiveMinimum exclusiveMaximum"
    " multipleOf minLength maxLength pattern minItems maxItems uniqueItems"
    " minProperties maxProperties patternProperties propertyNames anyOf"
    " oneOf allOf not if then else definitions $defs $ref ";
/* Keywords of other drafts (or draft 7's "dependencies") that we do not
 * assert: refused even when a $ref points into them, so that a schema
 * never loses an assertion silently. */
static const char unsupported_keywords[] =
    " dependencies dependentRequired dependentSchemas prefixItems"
    " unevaluatedItems unevaluatedProperties minContains maxContains"
    " contentSchema $anchor $recursiveRef $recursiveAnchor $dynamicRef"
    " $dynamicAnchor $vocabulary ";
static const char annotation_keywords[] =
    " format title description default examples $schema $id $comment"
    " readOnly writeOnly contentMediaType contentEncoding ";

struct cctx {
    struct fx_schema *s;
    char *err;
    fxu_buf loc; /* where in the schema we are: "$.properties.x" */
    /* what the document's local $refs point at, found before compiling */
    const cJSON **targets;
    size_t ntargets;
};

/* ---- errors and locations ----------------------------------------------- */

static void *cfail(struct cctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void *
cfail(struct cctx *c, const char *fmt, ...)
{
    if (c->err == NULL) {
        va_list ap;
        va_start(ap, fmt);
        c->err = fxu_vasprintf(fmt, ap);
        va_end(ap);
    }
    return NULL;
}

static size_t
loc_push(struct cctx *c, const char *key)
{
    size_t mark = c->loc.len;
    fx_js_path_key(&c->loc, key);
    return mark;
}

static void
loc_pop(struct cctx *c, size_t mark)
{
    c->loc.len = mark;
    c->loc.data[mark] = '\0';
}

/* ---- keyword values ----------------------------------------------------- */

static int
in_list(const char *list, const char *name)
{
    size_t len = strlen(name);
    if (len == 0 || strchr(name, ' '))
        return 0;
    for (const char *at = strstr(list, name); at; at = strstr(at + 1, name))
        if (at[-1] == ' ' && at[len] == ' ')
            return 1;
    return 0;
}

static unsigned
type_bit(const char *name)
{
    static const struct {
        const char *name;
        unsigned bit;
    } types[] = {
        {"null", FX_JT_NULL},       {"boolean", FX_JT_BOOLEAN},
        {"object", FX_JT_OBJECT},   {"array", FX_JT_ARRAY},
        {"number", FX_JT_NUMBER},   {"string", FX_JT_STRING},
        {"integer", FX_JT_INTEGER},
    };
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(types[i].name, name) == 0)
            return types[i].bit;
    return 0;
}

static int
compile_type(struct cctx *c, struct fx_jsnode *n, const cJSON *v)
{
    if (cJSON_IsString(v)) {
        n->types = type_bit(v->valuestring);
        if (n->types == 0) {
            char *shown = fx_js_render(v, 60);
            cfail(c, "unknown type %s at %s", shown, c->loc.data);
            free(shown);
            return -1;
        }
        return 0;
    }
    if (!cJSON_IsArray(v)) {
        cfail(c, "\"type\" at %s must be a string or an array of strings",
              c->loc.data);
        return -1;
    }
    for (const cJSON *t = v->child; t; t = t->next) {
        unsigned bit = cJSON_IsString(t) ? type_bit(t->valuestring) : 0;
        if (bit == 0) {
            char *shown = fx_js_render(t, 60);
            cfail(c, "unknown type %s at %s", shown, c->loc.data);
            free(shown);
            return -1;
        }
        n->types |= bit;
    }
    if (n->types == 0) /* "type": [] matches nothing */
        n->types =
            ~0u & ~(FX_JT_NULL | FX_JT_BOOLEAN | FX_JT_OBJECT | FX_JT_ARRAY |
                    FX_JT_NUMBER | FX_JT_STRING | FX_JT_INTEGER);
    return 0;
}

/* A number keyword; `count` asks for a non-negative integer. */
static int
compile_limit(struct cctx *c, const cJSON *j, const char *kw, int count,
              struct fx_jslimit *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, kw);
    if (v == NULL)
        return 0;
    if (!cJSON_IsNumber(v) ||
        (count && (v->valuedouble < 0 || !isfinite(v->valuedouble) ||
                   fxu_floor(v->valuedouble) != v->valuedouble))) {
        cfail(c, "\"%s\" at %s must be a %s", kw, c->loc.data,
              count ? "non-negative integer" : "number");
        return -1;
    }
    if (strcmp(kw, "multipleOf") == 0 && !(v->valuedouble > 0)) {
        cfail(c, "\"multipleOf\" at %s must be greater than 0", c->loc.data);
        return -1;
    }
    out->value = v;
    out->v = v->valuedouble;
    return 0;
}

/* Compile src (a string) into *re; what names the keyword in messages. */
static int
compile_regex(struct cctx *c, const char *src, const char *what, regex_t *re)
{
    cJSON *str = cJSON_CreateString(src);
    char *shown = fx_js_render(str, 80);
    cJSON_Delete(str);
    const char *why = fx_js_pattern_too_costly(src);
    int rc = why ? 0 : regcomp(re, src, REG_EXTENDED | REG_NOSUB);
    if (why) {
        cfail(c, "%s %s at %s: %s", what, shown, c->loc.data, why);
    } else if (rc != 0) {
        char msg[160];
        regerror(rc, re, msg, sizeof(msg));
        cfail(c, "bad regular expression %s in %s at %s: %s (POSIX ERE)", shown,
              what, c->loc.data, msg);
    }
    free(shown);
    return why || rc != 0 ? -1 : 0;
}

/* ---- nodes -------------------------------------------------------------- */

static struct fx_jsnode *compile_node(struct cctx *c, const cJSON *j);

static struct fx_jsnode *
new_node(struct cctx *c, const cJSON *j)
{
    struct fx_jsnode *n = fxu_xcalloc(1, sizeof(*n));
    n->loc = fxu_strdup(c->loc.data);
    n->doc = j;
    n->next = c->s->nodes;
    c->s->nodes = n;
    return n;
}

/* The subschema under keyword kw, NULL (no error) when absent. */
static int
compile_sub(struct cctx *c, const cJSON *j, const char *kw,
            struct fx_jsnode **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, kw);
    if (v == NULL)
        return 0;
    size_t mark = loc_push(c, kw);
    *out = compile_node(c, v);
    loc_pop(c, mark);
    return *out ? 0 : -1;
}

/* A non-empty array of subschemas (allOf, anyOf, oneOf, items). */
static int
compile_list(struct cctx *c, const cJSON *j, const char *kw,
             struct fx_jsnode ***out, size_t *n, int allow_empty)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, kw);
    if (v == NULL)
        return 0;
    size_t mark = loc_push(c, kw);
    if (!cJSON_IsArray(v) || (!allow_empty && v->child == NULL)) {
        cfail(c, "\"%s\" at %s must be a%s array of schemas", kw, c->loc.data,
              allow_empty ? "n" : " non-empty");
        return -1;
    }
    *n = (size_t)cJSON_GetArraySize(v);
    *out = fxu_xcalloc(*n, sizeof(**out));
    size_t i = 0;
    for (const cJSON *e = v->child; e; e = e->next, i++) {
        size_t inner = c->loc.len;
        fx_js_path_index(&c->loc, i);
        (*out)[i] = compile_node(c, e);
        loc_pop(c, inner);
        if ((*out)[i] == NULL)
            return -1;
    }
    loc_pop(c, mark);
    return 0;
}

/* An object whose members are all schemas: definitions, $defs, properties,
 * patternProperties.  Each member is handed to `each`. */
static const cJSON *
schema_map(struct cctx *c, const cJSON *j, const char *kw)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, kw);
    if (v != NULL && !cJSON_IsObject(v)) {
        cfail(c, "\"%s\" at %s must be an object of schemas", kw, c->loc.data);
        return NULL;
    }
    return v;
}

static int
compile_definitions(struct cctx *c, const cJSON *j, const char *kw)
{
    const cJSON *defs = schema_map(c, j, kw);
    if (defs == NULL)
        return c->err ? -1 : 0;
    size_t mark = loc_push(c, kw);
    for (const cJSON *d = defs->child; d; d = d->next) {
        size_t inner = loc_push(c, d->string);
        if (compile_node(c, d) == NULL)
            return -1;
        loc_pop(c, inner);
    }
    loc_pop(c, mark);
    return 0;
}

static int
compile_properties(struct cctx *c, struct fx_jsnode *n, const cJSON *j)
{
    const cJSON *props = schema_map(c, j, "properties");
    if (props == NULL)
        return c->err ? -1 : 0;
    size_t mark = loc_push(c, "properties");
    n->props =
        fxu_xcalloc((size_t)cJSON_GetArraySize(props) + 1, sizeof(*n->props));
    for (const cJSON *p = props->child; p; p = p->next) {
        size_t inner = loc_push(c, p->string);
        struct fx_jsnode *sub = compile_node(c, p);
        if (sub == NULL)
            return -1;
        n->props[n->nprops].name = p->string;
        n->props[n->nprops++].schema = sub;
        loc_pop(c, inner);
    }
    loc_pop(c, mark);
    return 0;
}

static int
compile_pattern_properties(struct cctx *c, struct fx_jsnode *n, const cJSON *j)
{
    const cJSON *pats = schema_map(c, j, "patternProperties");
    if (pats == NULL)
        return c->err ? -1 : 0;
    size_t mark = loc_push(c, "patternProperties");
    n->patprops =
        fxu_xcalloc((size_t)cJSON_GetArraySize(pats) + 1, sizeof(*n->patprops));
    for (const cJSON *p = pats->child; p; p = p->next) {
        struct fx_jspattern *pat = &n->patprops[n->npatprops];
        if (compile_regex(c, p->string, "patternProperties", &pat->re) < 0)
            return -1;
        pat->source = p->string;
        n->npatprops++; /* from here on fx_schema_free() frees the regex */
        size_t inner = loc_push(c, p->string);
        pat->schema = compile_node(c, p);
        if (pat->schema == NULL)
            return -1;
        loc_pop(c, inner);
    }
    loc_pop(c, mark);
    return 0;
}

static int
compile_items(struct cctx *c, struct fx_jsnode *n, const cJSON *j)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "items");
    if (cJSON_IsArray(v)) {
        n->has_tuple = 1;
        return compile_list(c, j, "items", &n->tuple, &n->ntuple, 1);
    }
    return compile_sub(c, j, "items", &n->items);
}

static int
compile_value_keywords(struct cctx *c, struct fx_jsnode *n, const cJSON *j)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "type");
    if (v && compile_type(c, n, v) < 0)
        return -1;
    v = cJSON_GetObjectItemCaseSensitive(j, "enum");
    if (v && !cJSON_IsArray(v))
        return cfail(c, "\"enum\" at %s must be an array", c->loc.data), -1;
    n->enum_vals = v;
    n->const_val = cJSON_GetObjectItemCaseSensitive(j, "const");
    if (compile_limit(c, j, "minimum", 0, &n->minimum) < 0 ||
        compile_limit(c, j, "maximum", 0, &n->maximum) < 0 ||
        compile_limit(c, j, "exclusiveMinimum", 0, &n->xminimum) < 0 ||
        compile_limit(c, j, "exclusiveMaximum", 0, &n->xmaximum) < 0 ||
        compile_limit(c, j, "multipleOf", 0, &n->multiple_of) < 0 ||
        compile_limit(c, j, "minLength", 1, &n->min_length) < 0 ||
        compile_limit(c, j, "maxLength", 1, &n->max_length) < 0 ||
        compile_limit(c, j, "minItems", 1, &n->min_items) < 0 ||
        compile_limit(c, j, "maxItems", 1, &n->max_items) < 0 ||
        compile_limit(c, j, "minProperties", 1, &n->min_props) < 0 ||
        compile_limit(c, j, "maxProperties", 1, &n->max_props) < 0)
        return -1;
    v = cJSON_GetObjectItemCaseSensitive(j, "pattern");
    if (v) {
        if (!cJSON_IsString(v))
            return cfail(c, "\"pattern\" at %s must be a string", c->loc.data),
                   -1;
        struct fx_jspattern *pat = fxu_xcalloc(1, sizeof(*pat));
        if (compile_regex(c, v->valuestring, "pattern", &pat->re) < 0) {
            free(pat);
            return -1;
        }
        pat->source = v->valuestring;
        n->pattern = pat;
    }
    v = cJSON_GetObjectItemCaseSensitive(j, "uniqueItems");
    if (v && !cJSON_IsBool(v))
        return cfail(c, "\"uniqueItems\" at %s must be a boolean", c->loc.data),
               -1;
    n->unique_items = cJSON_IsTrue(v);
    v = cJSON_GetObjectItemCaseSensitive(j, "required");
    if (v) {
        int strings = cJSON_IsArray(v);
        for (const cJSON *r = strings ? v->child : NULL; r; r = r->next)
            strings = strings && cJSON_IsString(r);
        if (!strings)
            return cfail(c, "\"required\" at %s must be an array of strings",
                         c->loc.data),
                   -1;
        n->required = v;
    }
    return 0;
}

static int
compile_subschemas(struct cctx *c, struct fx_jsnode *n, const cJSON *j)
{
    if (compile_properties(c, n, j) < 0 ||
        compile_pattern_properties(c, n, j) < 0 ||
        compile_sub(c, j, "additionalProperties", &n->additional_props) < 0 ||
        compile_sub(c, j, "propertyNames", &n->property_names) < 0 ||
        compile_items(c, n, j) < 0 ||
        compile_sub(c, j, "additionalItems", &n->additional_items) < 0 ||
        compile_sub(c, j, "contains", &n->contains) < 0 ||
        compile_list(c, j, "allOf", &n->all_of, &n->nall_of, 0) < 0 ||
        compile_list(c, j, "anyOf", &n->any_of, &n->nany_of, 0) < 0 ||
        compile_list(c, j, "oneOf", &n->one_of, &n->none_of, 0) < 0 ||
        compile_sub(c, j, "not", &n->not_schema) < 0 ||
        compile_sub(c, j, "if", &n->if_schema) < 0 ||
        compile_sub(c, j, "then", &n->then_schema) < 0 ||
        compile_sub(c, j, "else", &n->else_schema) < 0)
        return -1;
    return 0;
}

static int
contains_item(const cJSON *tree, const cJSON *item)
{
    if (tree == item)
        return 1;
    for (const cJSON *e = tree->child; e; e = e->next)
        if (contains_item(e, item))
            return 1;
    return 0;
}

/* A member that is no keyword is refused, unless a $ref points into it:
 * then it is a place where subschemas are kept, as "definitions" is. */
static int
holds_ref_target(struct cctx *c, const cJSON *member)
{
    for (size_t i = 0; i < c->ntargets; i++)
        if (contains_item(member, c->targets[i]))
            return 1;
    return 0;
}

/* Every string "$ref" member in the document, resolved where it can be
 * (an unresolvable one is reported when its schema is compiled). */
static void
collect_ref_targets(struct cctx *c, const cJSON *j, fxu_buf *scratch)
{
    for (const cJSON *e = j->child; e; e = e->next) {
        if (e->string && strcmp(e->string, "$ref") == 0 && cJSON_IsString(e)) {
            const cJSON *t = fx_js_pointer(c->s->doc, e->valuestring, scratch);
            if (t) {
                c->targets = fxu_xrealloc(c->targets, (c->ntargets + 1) *
                                                          sizeof(*c->targets));
                c->targets[c->ntargets++] = t;
            }
        }
        collect_ref_targets(c, e, scratch);
    }
}

static struct fx_jsnode *
compile_node(struct cctx *c, const cJSON *j)
{
    if (!cJSON_IsBool(j) && !cJSON_IsObject(j))
        return cfail(c, "schema at %s must be an object or a boolean",
                     c->loc.data);
    struct fx_jsnode *n = new_node(c, j);
    if (cJSON_IsBool(j)) {
        n->boolean = cJSON_IsTrue(j);
        return n;
    }
    n->boolean = -1;
    for (const cJSON *m = j->child; m; m = m->next)
        if (!in_list(asserting_keywords, m->string) &&
            !in_list(annotation_keywords, m->string) &&
            (in_list(unsupported_keywords, m->string) ||
             !holds_ref_target(c, m))) {
            cJSON *name = cJSON_CreateString(m->string);
            char *shown = fx_js_render(name, 60);
            cfail(c, "unsupported keyword %s at %s", shown, c->loc.data);
            free(shown);
            cJSON_Delete(name);
            return NULL;
        }
    /* definitions are compiled even beside a $ref: they are its targets */
    if (compile_definitions(c, j, "definitions") < 0 ||
        compile_definitions(c, j, "$defs") < 0)
        return NULL;
    const cJSON *ref = cJSON_GetObjectItemCaseSensitive(j, "$ref");
    if (ref) {
        if (!cJSON_IsString(ref))
            return cfail(c, "\"$ref\" at %s must be a string", c->loc.data);
        if (ref->valuestring[0] != '#' ||
            (ref->valuestring[1] != '\0' && ref->valuestring[1] != '/')) {
            char *shown = fx_js_render(ref, 80);
            cfail(c,
                  "unsupported remote $ref %s at %s (only \"#\" and "
                  "\"#/...\" pointers into the same schema)",
                  shown, c->loc.data);
            free(shown);
            return NULL;
        }
        n->ref = ref->valuestring;
        return n; /* draft 7: siblings of $ref are ignored */
    }
    if (compile_value_keywords(c, n, j) < 0 || compile_subschemas(c, n, j) < 0)
        return NULL;
    return n;
}

/* ---- $ref resolution ---------------------------------------------------- */

static struct fx_jsnode *
node_for(struct fx_schema *s, const cJSON *j)
{
    for (struct fx_jsnode *n = s->nodes; n; n = n->next)
        if (n->doc == j)
            return n;
    return NULL;
}

static int
resolve_ref(struct cctx *c, struct fx_jsnode *n)
{
    const cJSON *target = fx_js_pointer(c->s->doc, n->ref, &c->loc);
    if (target == NULL) {
        cJSON *ref = cJSON_CreateString(n->ref);
        char *shown = fx_js_render(ref, 80);
        cfail(c, "$ref %s at %s points to nothing in the schema", shown,
              n->loc);
        free(shown);
        cJSON_Delete(ref);
        return -1;
    }
    n->target = node_for(c->s, target);
    if (n->target == NULL) /* a place no keyword reaches, e.g. #/items/0 */
        n->target = compile_node(c, target);
    return n->target ? 0 : -1;
}

static int
resolve_refs(struct cctx *c)
{
    size_t count = 0;
    for (int again = 1; again;) {
        again = 0;
        count = 0;
        for (struct fx_jsnode *n = c->s->nodes; n; n = n->next, count++)
            if (n->ref && n->target == NULL) {
                if (resolve_ref(c, n) < 0)
                    return -1;
                again = 1;
            }
    }
    /* A chain of $refs that comes back to itself never reaches a keyword
     * that could fail or consume input. */
    for (struct fx_jsnode *n = c->s->nodes; n; n = n->next) {
        const struct fx_jsnode *at = n;
        for (size_t hops = 0; at->ref; at = at->target)
            if (++hops > count) {
                cfail(c, "$ref cycle at %s", n->loc);
                return -1;
            }
    }
    return 0;
}

/* ---- public ------------------------------------------------------------- */

fx_schema *
fx_schema_compile(const cJSON *schema, char **err)
{
    struct cctx c = {0};
    c.s = fxu_xcalloc(1, sizeof(*c.s));
    c.s->doc = schema ? cJSON_Duplicate(schema, 1) : NULL;
    fxu_buf_init(&c.loc);
    fxu_buf_putc(&c.loc, '$');
    if (c.s->doc == NULL) {
        cfail(&c, "no schema");
    } else {
        fxu_buf scratch;
        fxu_buf_init(&scratch);
        collect_ref_targets(&c, c.s->doc, &scratch);
        fxu_buf_free(&scratch);
        if ((c.s->root = compile_node(&c, c.s->doc)) != NULL)
            resolve_refs(&c);
    }
    fxu_buf_free(&c.loc);
    free(c.targets);
    if (c.err) {
        fx_schema_free(c.s);
        if (err)
            *err = c.err;
        else
            free(c.err);
        return NULL;
    }
    return c.s;
}

void
fx_schema_free(fx_schema *s)
{
    if (s == NULL)
        return;
    struct fx_jsnode *n = s->nodes;
    while (n) {
        struct fx_jsnode *next = n->next;
        if (n->pattern)
            regfree(&n->pattern->re);
        free(n->pattern);
        for (size_t i = 0; i < n->npatprops; i++)
            regfree(&n->patprops[i].re);
        free(n->patprops);
        free(n->props);
        free(n->tuple);
        free(n->all_of);
        free(n->any_of);
        free(n->one_of);
        free(n->loc);
        free(n);
        n = next;
    }
    cJSON_Delete(s->doc);
    free(s);
}
