/*
 * jsonschema-validate.c - validates a JSON instance against a compiled
 * schema (jsonschema.c) with draft 7 semantics and names the first
 * failure in one line: "$.count: expected integer, got string".
 *
 * Branches whose failure is not itself an error (anyOf, oneOf, not, if,
 * contains, propertyNames) run quietly.  Two guards keep a hostile schema
 * finite: a $ref followed again for the same instance without consuming
 * input is a loop, and a budget of steps bounds the work overall.
 */
#include "config.h"

#include "schema-int.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STEPS 5000000L /* node visits and comparisons per validation */
#define MAX_DEPTH 2000     /* nested validations (C stack) */
#define SHOWN 80           /* bytes of a value quoted in a message */

struct vref {
    const struct fx_jsnode *node;
    const cJSON *instance;
};

struct vctx {
    fxu_buf path; /* "$.items[2].name" */
    char *err;
    int quiet;   /* > 0 inside branches whose failures are expected */
    int aborted; /* a guard tripped: stop, err says why */
    long steps;
    int depth;
    struct vref *refs; /* $refs being followed, innermost last */
    size_t nrefs, caprefs;
};

static int fail(struct vctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
fail(struct vctx *c, const char *fmt, ...)
{
    if (c->quiet == 0 && c->err == NULL) {
        va_list ap;
        va_start(ap, fmt);
        char *what = fxu_vasprintf(fmt, ap);
        va_end(ap);
        c->err = fxu_asprintf("%s: %s", c->path.data, what);
        free(what);
    }
    return 0;
}

static int stop(struct vctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
stop(struct vctx *c, const char *fmt, ...)
{
    if (!c->aborted) {
        va_list ap;
        va_start(ap, fmt);
        char *what = fxu_vasprintf(fmt, ap);
        va_end(ap);
        free(c->err);
        c->err = fxu_asprintf("%s: %s", c->path.data, what);
        free(what);
        c->aborted = 1;
    }
    return 0;
}

static int
spend(struct vctx *c, long steps)
{
    c->steps += steps;
    if (c->steps > MAX_STEPS)
        return stop(c,
                    "validation stopped: schema and instance too large "
                    "to check (over %ld steps)",
                    MAX_STEPS);
    return 1;
}

static const char *
type_name(const cJSON *x)
{
    if (cJSON_IsNull(x))
        return "null";
    if (cJSON_IsBool(x))
        return "boolean";
    if (cJSON_IsNumber(x))
        return fxu_floor(x->valuedouble) == x->valuedouble &&
                       isfinite(x->valuedouble)
                   ? "integer"
                   : "number";
    if (cJSON_IsString(x))
        return "string";
    if (cJSON_IsArray(x))
        return "array";
    return "object";
}

static unsigned
type_bits(const cJSON *x)
{
    if (cJSON_IsNull(x))
        return FX_JT_NULL;
    if (cJSON_IsBool(x))
        return FX_JT_BOOLEAN;
    if (cJSON_IsNumber(x)) {
        double d = x->valuedouble;
        return FX_JT_NUMBER |
               (isfinite(d) && fxu_floor(d) == d ? FX_JT_INTEGER : 0u);
    }
    if (cJSON_IsString(x))
        return FX_JT_STRING;
    if (cJSON_IsArray(x))
        return FX_JT_ARRAY;
    return FX_JT_OBJECT;
}

static void
type_list(fxu_buf *b, unsigned types)
{
    static const char *const names[] = {
        "null", "boolean", "object", "array", "number", "string", "integer",
    };
    size_t n = 0;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (types & (1u << i))
            fxu_buf_printf(b, "%s%s", n++ ? " or " : "", names[i]);
    if (n == 0)
        fxu_buf_puts(b, "nothing");
}

static int
check_type(struct vctx *c, const struct fx_jsnode *n, const cJSON *x)
{
    if (n->types == 0 || (type_bits(x) & n->types))
        return 1;
    if (c->quiet)
        return 0;
    fxu_buf want;
    fxu_buf_init(&want);
    type_list(&want, n->types);
    fail(c, "expected %s, got %s", want.data, type_name(x));
    fxu_buf_free(&want);
    return 0;
}

/* ---- path --------------------------------------------------------------- */

static size_t
push_key(struct vctx *c, const char *key)
{
    size_t mark = c->path.len;
    fx_js_path_key(&c->path, key);
    return mark;
}

static size_t
push_index(struct vctx *c, size_t i)
{
    size_t mark = c->path.len;
    fx_js_path_index(&c->path, i);
    return mark;
}

static void
pop(struct vctx *c, size_t mark)
{
    c->path.len = mark;
    c->path.data[mark] = '\0';
}

static int validate(struct vctx *c, const struct fx_jsnode *n, const cJSON *x);

static int
validate_quietly(struct vctx *c, const struct fx_jsnode *n, const cJSON *x)
{
    c->quiet++;
    int valid = validate(c, n, x);
    c->quiet--;
    return valid;
}

/* ---- generic keywords --------------------------------------------------- */

static int
check_enum_const(struct vctx *c, const struct fx_jsnode *n, const cJSON *x)
{
    if (n->const_val && !fx_js_equal(n->const_val, x)) {
        if (c->quiet)
            return 0; /* nobody reads it: spare the rendering */
        char *got = fx_js_render(x, SHOWN),
             *want = fx_js_render(n->const_val, SHOWN);
        fail(c, "%s is not the constant %s", got, want);
        free(got);
        free(want);
        return 0;
    }
    if (n->enum_vals == NULL)
        return 1;
    for (const cJSON *e = n->enum_vals->child; e; e = e->next)
        if (fx_js_equal(e, x))
            return 1;
    if (c->quiet)
        return 0;
    char *got = fx_js_render(x, SHOWN),
         *want = fx_js_render(n->enum_vals, 2 * SHOWN);
    fail(c, "%s is not one of %s", got, want);
    free(got);
    free(want);
    return 0;
}

/* The nearest whole number, without libm (each library loaded costs every
 * command's start-up): beyond 2^52 every double is whole already. */
static double
nearest(double q)
{
    if (!(q < 4503599627370496.0 && q > -4503599627370496.0))
        return q;
    return (double)(long long)(q < 0 ? q - 0.5 : q + 0.5);
}

static int
check_number(struct vctx *c, const struct fx_jsnode *n, const cJSON *x)
{
    double d = x->valuedouble;
    const char *msg = NULL;
    const cJSON *limit = NULL;
    if (n->minimum.value && d < n->minimum.v)
        msg = "is less than the minimum", limit = n->minimum.value;
    else if (n->maximum.value && d > n->maximum.v)
        msg = "is greater than the maximum", limit = n->maximum.value;
    else if (n->xminimum.value && d <= n->xminimum.v)
        msg = "is not greater than the exclusiveMinimum",
        limit = n->xminimum.value;
    else if (n->xmaximum.value && d >= n->xmaximum.v)
        msg = "is not less than the exclusiveMaximum",
        limit = n->xmaximum.value;
    else if (n->multiple_of.value) {
        double q = d / n->multiple_of.v;
        double scale = fabs(q) > 1 ? fabs(q) : 1;
        if (!isfinite(q) || fabs(q - nearest(q)) > 1e-9 * scale)
            msg = "is not a multiple of", limit = n->multiple_of.value;
    }
    if (msg == NULL)
        return 1;
    if (c->quiet)
        return 0;
    char *got = fx_js_render(x, SHOWN), *want = fx_js_render(limit, SHOWN);
    fail(c, "%s %s %s", got, msg, want);
    free(got);
    free(want);
    return 0;
}

static size_t
code_points(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    return n;
}

static int
check_string(struct vctx *c, const struct fx_jsnode *n, const cJSON *x)
{
    if (n->min_length.value || n->max_length.value) {
        double len = (double)code_points(x->valuestring);
        if (n->min_length.value && len < n->min_length.v)
            return fail(c, "string of %.0f characters is shorter than %.0f",
                        len, n->min_length.v);
        if (n->max_length.value && len > n->max_length.v)
            return fail(c, "string of %.0f characters is longer than %.0f", len,
                        n->max_length.v);
    }
    if (n->pattern &&
        regexec(&n->pattern->re, x->valuestring, 0, NULL, 0) != 0) {
        char *got = fx_js_render(x, SHOWN);
        cJSON *src = cJSON_CreateString(n->pattern->source);
        char *want = fx_js_render(src, SHOWN);
        fail(c, "%s does not match the pattern %s", got, want);
        cJSON_Delete(src);
        free(got);
        free(want);
        return 0;
    }
    return 1;
}

/* ---- arrays ------------------------------------------------------------- */

static int
check_items(struct vctx *c, const struct fx_jsnode *n, const cJSON *x)
{
    size_t i = 0;
    for (const cJSON *e = x->child; e; e = e->next, i++) {
        const struct fx_jsnode *sub = n->items;
        if (n->has_tuple)
            sub = i < n->ntuple ? n->tuple[i] : n->additional_items;
        if (sub == NULL)
            continue;
        if (n->has_tuple && i >= n->ntuple && sub->boolean == 0)
            return fail(c, "array has %d items, the schema allows at most %zu",
                        cJSON_GetArraySize(x), n->ntuple);
        size_t mark = push_index(c, i);
        int valid = validate(c, sub, e);
        pop(c, mark);
        if (!valid)
            return 0;
    }
    return 1;
}

static int
check_array(struct vctx *c, const struct fx_jsnode *n, const cJSON *x)
{
    double count = cJSON_GetArraySize(x);
    if (n->min_items.value && count < n->min_items.v)
        return fail(c, "array has %.0f items, fewer than minItems %.0f", count,
                    n->min_items.v);
    if (n->max_items.value && count > n->max_items.v)
        return fail(c, "array has %.0f items, more than maxItems %.0f", count,
                    n->max_items.v);
    if (n->unique_items) {
        size_t i = 0;
        for (const cJSON *a = x->child; a; a = a->next, i++) {
            size_t j = i + 1;
            for (const cJSON *b = a->next; b; b = b->next, j++) {
                if (!spend(c, 1))
                    return 0;
                if (fx_js_equal(a, b))
                    return fail(c,
                                "items %zu and %zu are equal "
                                "(uniqueItems)",
                                i, j);
            }
        }
    }
    if (!check_items(c, n, x))
        return 0;
    if (n->contains) {
        for (const cJSON *e = x->child; e; e = e->next)
            if (validate_quietly(c, n->contains, e))
                return 1;
        return c->aborted ? 0 : fail(c, "no item matches \"contains\"");
    }
    return 1;
}

/* ---- objects ------------------------------------------------------------ */

static int
check_member(struct vctx *c, const struct fx_jsnode *n, const cJSON *m)
{
    int matched = 0;
    for (size_t i = 0; i < n->nprops; i++)
        if (strcmp(n->props[i].name, m->string) == 0) {
            matched = 1;
            if (!validate(c, n->props[i].schema, m))
                return 0;
        }
    for (size_t i = 0; i < n->npatprops; i++)
        if (regexec(&n->patprops[i].re, m->string, 0, NULL, 0) == 0) {
            matched = 1;
            if (!validate(c, n->patprops[i].schema, m))
                return 0;
        }
    if (matched || n->additional_props == NULL)
        return 1;
    if (n->additional_props->boolean == 0)
        return -1; /* the caller says so, about the object */
    return validate(c, n->additional_props, m);
}

static int
check_object(struct vctx *c, const struct fx_jsnode *n, const cJSON *x)
{
    double count = cJSON_GetArraySize(x);
    if (n->min_props.value && count < n->min_props.v)
        return fail(c,
                    "object has %.0f properties, fewer than minProperties "
                    "%.0f",
                    count, n->min_props.v);
    if (n->max_props.value && count > n->max_props.v)
        return fail(c,
                    "object has %.0f properties, more than maxProperties "
                    "%.0f",
                    count, n->max_props.v);
    for (const cJSON *r = n->required ? n->required->child : NULL; r;
         r = r->next)
        if (cJSON_GetObjectItemCaseSensitive(x, r->valuestring) == NULL) {
            char *name = fx_js_render(r, SHOWN);
            fail(c, "missing required property %s", name);
            free(name);
            return 0;
        }
    for (const cJSON *m = x->child; m; m = m->next) {
        if (n->property_names) {
            cJSON *name = cJSON_CreateString(m->string);
            int valid = validate_quietly(c, n->property_names, name);
            char *shown = valid ? NULL : fx_js_render(name, SHOWN);
            cJSON_Delete(name);
            if (!valid) {
                if (!c->aborted)
                    fail(c,
                         "property name %s does not match "
                         "propertyNames",
                         shown);
                free(shown);
                return 0;
            }
        }
        size_t mark = push_key(c, m->string);
        int valid = check_member(c, n, m);
        pop(c, mark);
        if (valid < 0) {
            cJSON *name = cJSON_CreateString(m->string);
            char *shown = fx_js_render(name, SHOWN);
            fail(c, "property %s is not allowed", shown);
            free(shown);
            cJSON_Delete(name);
        }
        if (valid != 1)
            return 0;
    }
    return 1;
}

/* ---- combinators -------------------------------------------------------- */

static int
check_combinators(struct vctx *c, const struct fx_jsnode *n, const cJSON *x)
{
    for (size_t i = 0; i < n->nall_of; i++)
        if (!validate(c, n->all_of[i], x))
            return 0;
    if (n->nany_of) {
        size_t i = 0;
        while (i < n->nany_of && !validate_quietly(c, n->any_of[i], x))
            i++;
        if (i == n->nany_of)
            return c->aborted ? 0
                              : fail(c,
                                     "matches none of the %zu schemas "
                                     "of anyOf",
                                     n->nany_of);
    }
    if (n->none_of) {
        size_t matched = 0;
        for (size_t i = 0; i < n->none_of && !c->aborted; i++)
            matched += (size_t)validate_quietly(c, n->one_of[i], x);
        if (c->aborted)
            return 0;
        if (matched != 1)
            return fail(c,
                        "matches %zu of the %zu schemas of oneOf, not "
                        "exactly one",
                        matched, n->none_of);
    }
    if (n->not_schema && validate_quietly(c, n->not_schema, x))
        return fail(c, "matches the schema of \"not\"");
    if (n->if_schema && !c->aborted) {
        const struct fx_jsnode *next = validate_quietly(c, n->if_schema, x)
                                           ? n->then_schema
                                           : n->else_schema;
        if (next && !validate(c, next, x))
            return 0;
    }
    return !c->aborted;
}

/* ---- the walk ----------------------------------------------------------- */

static int
follow_ref(struct vctx *c, const struct fx_jsnode *n, const cJSON *x)
{
    for (size_t i = c->nrefs; i-- > 0;)
        if (c->refs[i].node == n && c->refs[i].instance == x)
            return stop(c,
                        "validation stopped: $ref at %s loops without "
                        "consuming input",
                        n->loc);
    if (c->nrefs == c->caprefs) {
        c->caprefs = c->caprefs ? 2 * c->caprefs : 16;
        c->refs = fxu_xrealloc(c->refs, c->caprefs * sizeof(*c->refs));
    }
    c->refs[c->nrefs].node = n;
    c->refs[c->nrefs++].instance = x;
    int valid = validate(c, n->target, x);
    c->nrefs--;
    return valid;
}

static int
validate_node(struct vctx *c, const struct fx_jsnode *n, const cJSON *x)
{
    if (n->boolean >= 0)
        return n->boolean ? 1
                          : fail(c, "no value is allowed here "
                                    "(false schema)");
    if (n->ref)
        return follow_ref(c, n, x);
    if (!check_type(c, n, x) || !check_enum_const(c, n, x))
        return 0;
    if (cJSON_IsNumber(x) && !check_number(c, n, x))
        return 0;
    if (cJSON_IsString(x) && !check_string(c, n, x))
        return 0;
    if (cJSON_IsArray(x) && !check_array(c, n, x))
        return 0;
    if (cJSON_IsObject(x) && !check_object(c, n, x))
        return 0;
    return check_combinators(c, n, x);
}

static int
validate(struct vctx *c, const struct fx_jsnode *n, const cJSON *x)
{
    if (c->aborted || !spend(c, 1))
        return 0;
    if (c->depth >= MAX_DEPTH)
        return stop(c, "validation stopped: nested deeper than %d schemas",
                    MAX_DEPTH);
    c->depth++;
    int valid = validate_node(c, n, x);
    c->depth--;
    return valid && !c->aborted;
}

int
fx_schema_validate(const fx_schema *s, const cJSON *instance, char **err)
{
    struct vctx c = {0};
    fxu_buf_init(&c.path);
    fxu_buf_putc(&c.path, '$');
    int valid = 0;
    if (s == NULL || instance == NULL)
        fail(&c, "nothing to validate");
    else
        valid = validate(&c, s->root, instance);
    if (!valid && c.err == NULL) /* cannot happen; never say "valid" */
        c.err = fxu_strdup("$: invalid");
    fxu_buf_free(&c.path);
    free(c.refs);
    if (valid) {
        free(c.err);
        return 0;
    }
    if (err)
        *err = c.err;
    else
        free(c.err);
    return -1;
}
