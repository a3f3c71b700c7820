/*
 * schema-convert.c - what the providers need from a JSON Schema beyond
 * validation: whether it already meets OpenAI's strict mode, and its
 * translation into Gemini's responseSchema (an OpenAPI 3.0 subset) with a
 * note of everything the translation could not express.
 */
#include "config.h"

#include "schema-int.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define MAX_GEMINI_NODES 10000 /* inlining $refs can multiply a schema */
#define MAX_NOTES 8

/* ---- OpenAI strict mode ------------------------------------------------- */

static int strict_walk(const cJSON *j, fxu_buf *path, char **why);

static int
strict_sub(const cJSON *j, const char *kw, fxu_buf *path, char **why)
{
    size_t mark = path->len;
    fx_js_path_key(path, kw);
    int strict = strict_walk(j, path, why);
    path->len = mark;
    path->data[mark] = '\0';
    return strict;
}

/* Every member of a map of schemas or element of a list of schemas. */
static int
strict_each(const cJSON *j, const char *kw, fxu_buf *path, char **why)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, kw);
    if (!cJSON_IsObject(v) && !cJSON_IsArray(v))
        return 1;
    size_t mark = path->len;
    fx_js_path_key(path, kw);
    size_t i = 0, inner = path->len;
    int strict = 1;
    for (const cJSON *e = v->child; e && strict; e = e->next, i++) {
        if (cJSON_IsObject(v))
            fx_js_path_key(path, e->string);
        else
            fx_js_path_index(path, i);
        strict = strict_walk(e, path, why);
        path->len = inner;
        path->data[inner] = '\0';
    }
    path->len = mark;
    path->data[mark] = '\0';
    return strict;
}

static int
is_object_schema(const cJSON *j)
{
    const cJSON *type = cJSON_GetObjectItemCaseSensitive(j, "type");
    if (cJSON_GetObjectItemCaseSensitive(j, "properties"))
        return 1;
    if (cJSON_IsString(type))
        return strcmp(type->valuestring, "object") == 0;
    for (const cJSON *t = cJSON_IsArray(type) ? type->child : NULL; t;
         t = t->next)
        if (cJSON_IsString(t) && strcmp(t->valuestring, "object") == 0)
            return 1;
    return 0;
}

static int
strict_object(const cJSON *j, fxu_buf *path, char **why)
{
    if (!cJSON_IsFalse(
            cJSON_GetObjectItemCaseSensitive(j, "additionalProperties"))) {
        if (why)
            *why = fxu_asprintf("%s: additionalProperties is not false",
                                path->data);
        return 0;
    }
    const cJSON *props = cJSON_GetObjectItemCaseSensitive(j, "properties");
    const cJSON *req = cJSON_GetObjectItemCaseSensitive(j, "required");
    for (const cJSON *p = cJSON_IsObject(props) ? props->child : NULL; p;
         p = p->next) {
        int listed = 0;
        for (const cJSON *r = cJSON_IsArray(req) ? req->child : NULL;
             r && !listed; r = r->next)
            listed =
                cJSON_IsString(r) && strcmp(r->valuestring, p->string) == 0;
        if (!listed) {
            if (why) {
                cJSON *str = cJSON_CreateString(p->string);
                char *shown = fx_js_render(str, 80);
                *why = fxu_asprintf("%s: property %s is not required",
                                    path->data, shown);
                free(shown);
                cJSON_Delete(str);
            }
            return 0;
        }
    }
    return 1;
}

static int
strict_walk(const cJSON *j, fxu_buf *path, char **why)
{
    static const char *const groups[] = {
        "properties",  "patternProperties",
        "definitions", "$defs",
        "allOf",       "anyOf",
        "oneOf",
    };
    static const char *const subs[] = {
        "additionalProperties",
        "additionalItems",
        "contains",
        "propertyNames",
        "not",
        "if",
        "then",
        "else",
    };
    if (!cJSON_IsObject(j))
        return 1;
    if (is_object_schema(j) && !strict_object(j, path, why))
        return 0;
    for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++)
        if (!strict_each(j, groups[i], path, why))
            return 0;
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(j, "items");
    if (cJSON_IsArray(items) ? !strict_each(j, "items", path, why)
                             : items && !strict_sub(items, "items", path, why))
        return 0;
    for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, subs[i]);
        if (v && !strict_sub(v, subs[i], path, why))
            return 0;
    }
    return 1;
}

int
fx_schema_is_strict(const cJSON *schema, char **why)
{
    if (why)
        *why = NULL;
    fxu_buf path;
    fxu_buf_init(&path);
    fxu_buf_putc(&path, '$');
    int strict = strict_walk(schema, &path, why);
    fxu_buf_free(&path);
    return strict;
}

/* ---- Gemini responseSchema ---------------------------------------------- */

struct gctx {
    const cJSON *root;
    fxu_buf notes;
    size_t nnotes, more;
    const cJSON **inlining; /* $ref targets being inlined, innermost last */
    size_t ninlining, capinlining;
    size_t nodes;
};

static void note(struct gctx *g, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
note(struct gctx *g, const char *fmt, ...)
{
    if (g->nnotes >= MAX_NOTES) {
        g->more++;
        return;
    }
    if (g->nnotes++)
        fxu_buf_puts(&g->notes, "; ");
    va_list ap;
    va_start(ap, fmt);
    char *text = fxu_vasprintf(fmt, ap);
    va_end(ap);
    fxu_buf_puts(&g->notes, text);
    free(text);
}

static cJSON *gemini(struct gctx *g, const cJSON *j, fxu_buf *path);

static cJSON *
gemini_sub(struct gctx *g, const cJSON *j, fxu_buf *path, const char *key,
           long index)
{
    size_t mark = path->len;
    if (key)
        fx_js_path_key(path, key);
    if (index >= 0)
        fx_js_path_index(path, (size_t)index);
    cJSON *out = gemini(g, j, path);
    path->len = mark;
    path->data[mark] = '\0';
    return out;
}

static const char *
upper_type(const char *type)
{
    static const char *const names[][2] = {
        {"string", "STRING"},   {"number", "NUMBER"}, {"integer", "INTEGER"},
        {"boolean", "BOOLEAN"}, {"array", "ARRAY"},   {"object", "OBJECT"},
        {"null", "NULL"},
    };
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(names[i][0], type) == 0)
            return names[i][1];
    return NULL;
}

/* "T", or ["T", "null"] as T plus nullable; more types cannot be said. */
static void
gemini_type(struct gctx *g, cJSON *out, const cJSON *type, const char *path)
{
    const char *single = NULL;
    int count = 0;
    if (cJSON_IsString(type)) {
        single = type->valuestring;
        count = 1;
    }
    for (const cJSON *t = cJSON_IsArray(type) ? type->child : NULL; t;
         t = t->next) {
        if (!cJSON_IsString(t))
            continue;
        if (strcmp(t->valuestring, "null") == 0)
            cJSON_AddTrueToObject(out, "nullable");
        else if (count++ == 0)
            single = t->valuestring;
    }
    if (count > 1)
        note(g, "type with several types at %s dropped", path);
    else if (single && upper_type(single))
        cJSON_AddStringToObject(out, "type", upper_type(single));
    else if (cJSON_GetObjectItemCaseSensitive(out, "nullable"))
        cJSON_AddStringToObject(out, "type", "NULL");
}

static int
format_ok(const char *format)
{
    static const char *const known[] = {"enum",  "date-time", "int32",
                                        "int64", "float",     "double"};
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strcmp(known[i], format) == 0)
            return 1;
    return 0;
}

static int
all_strings(const cJSON *list)
{
    for (const cJSON *e = list->child; e; e = e->next)
        if (!cJSON_IsString(e))
            return 0;
    return 1;
}

static void
gemini_properties(struct gctx *g, cJSON *out, const cJSON *props, fxu_buf *path)
{
    cJSON *converted = cJSON_AddObjectToObject(out, "properties");
    cJSON *order = cJSON_CreateArray();
    size_t mark = path->len;
    fx_js_path_key(path, "properties");
    for (const cJSON *p = props->child; p; p = p->next) {
        cJSON_AddItemToObject(converted, p->string,
                              gemini_sub(g, p, path, p->string, -1));
        cJSON_AddItemToArray(order, cJSON_CreateString(p->string));
    }
    path->len = mark;
    path->data[mark] = '\0';
    cJSON_AddItemToObject(out, "propertyOrdering", order);
}

/* anyOf, or oneOf said as anyOf */
static void
gemini_list(struct gctx *g, cJSON *out, const cJSON *list, const char *kw,
            fxu_buf *path)
{
    if (cJSON_GetObjectItemCaseSensitive(out, "anyOf")) {
        note(g, "%s at %s dropped (anyOf already set)", kw, path->data);
        return;
    }
    if (strcmp(kw, "oneOf") == 0)
        note(g, "oneOf at %s loosened to anyOf", path->data);
    cJSON *any = cJSON_AddArrayToObject(out, "anyOf");
    size_t mark = path->len;
    fx_js_path_key(path, kw);
    long i = 0;
    for (const cJSON *e = list->child; e; e = e->next, i++)
        cJSON_AddItemToArray(any, gemini_sub(g, e, path, NULL, i));
    path->len = mark;
    path->data[mark] = '\0';
}

/* allOf: each branch's keywords join the schema's own. */
static void
gemini_merge(struct gctx *g, cJSON *out, cJSON *branch, const char *path)
{
    cJSON *m;
    while ((m = branch->child) != NULL) {
        cJSON_DetachItemViaPointer(branch, m);
        cJSON *have = cJSON_GetObjectItemCaseSensitive(out, m->string);
        if (have == NULL) {
            cJSON_AddItemToObject(out, m->string, m);
            continue;
        }
        if (cJSON_IsObject(have) && strcmp(m->string, "properties") == 0) {
            cJSON *p;
            while ((p = m->child) != NULL) {
                cJSON_DetachItemViaPointer(m, p);
                if (cJSON_GetObjectItemCaseSensitive(have, p->string))
                    cJSON_Delete(p);
                else
                    cJSON_AddItemToObject(have, p->string, p);
            }
        } else if (cJSON_IsArray(have) &&
                   (strcmp(m->string, "required") == 0 ||
                    strcmp(m->string, "propertyOrdering") == 0)) {
            cJSON *e;
            while ((e = m->child) != NULL)
                cJSON_AddItemToArray(have, cJSON_DetachItemViaPointer(m, e));
        } else if (!fx_js_equal(have, m)) {
            note(g, "conflicting %s in allOf at %s dropped", m->string, path);
        }
        cJSON_Delete(m);
    }
    cJSON_Delete(branch);
}

static const char *const gemini_copied[] = {
    "title",         "description", "pattern",  "minimum",  "maximum",
    "minLength",     "maxLength",   "minItems", "maxItems", "minProperties",
    "maxProperties", "required",    NULL,
};

/* Not assertions, or said another way (definitions are inlined). */
static const char *const gemini_silent[] = {
    "$schema",         "$id",         "$comment", "readOnly",
    "writeOnly",       "examples",    "default",  "contentMediaType",
    "contentEncoding", "definitions", "$defs",    NULL,
};

static int
listed(const char *const *list, const char *name)
{
    for (; *list; list++)
        if (strcmp(*list, name) == 0)
            return 1;
    return 0;
}

static void
gemini_keyword(struct gctx *g, cJSON *out, const cJSON *m, fxu_buf *path)
{
    const char *kw = m->string;
    if (listed(gemini_copied, kw)) {
        cJSON_AddItemToObject(out, kw, cJSON_Duplicate(m, 1));
    } else if (strcmp(kw, "type") == 0) {
        gemini_type(g, out, m, path->data);
    } else if (strcmp(kw, "format") == 0) {
        if (cJSON_IsString(m) && format_ok(m->valuestring))
            cJSON_AddItemToObject(out, kw, cJSON_Duplicate(m, 1));
        else
            note(g, "format at %s dropped", path->data);
    } else if (strcmp(kw, "enum") == 0 || strcmp(kw, "const") == 0) {
        cJSON *values = cJSON_IsArray(m) && strcmp(kw, "enum") == 0
                            ? cJSON_Duplicate(m, 1)
                            : cJSON_CreateArray();
        if (strcmp(kw, "const") == 0)
            cJSON_AddItemToArray(values, cJSON_Duplicate(m, 1));
        if (all_strings(values) &&
            !cJSON_GetObjectItemCaseSensitive(out, "enum")) {
            cJSON_AddItemToObject(out, "enum", values);
        } else {
            note(g, "%s at %s dropped (Gemini enums are strings)", kw,
                 path->data);
            cJSON_Delete(values);
        }
    } else if (strcmp(kw, "properties") == 0 && cJSON_IsObject(m)) {
        gemini_properties(g, out, m, path);
    } else if (strcmp(kw, "items") == 0 && !cJSON_IsArray(m)) {
        cJSON_AddItemToObject(out, kw, gemini_sub(g, m, path, kw, -1));
    } else if ((strcmp(kw, "anyOf") == 0 || strcmp(kw, "oneOf") == 0) &&
               cJSON_IsArray(m)) {
        gemini_list(g, out, m, kw, path);
    } else if (strcmp(kw, "additionalProperties") == 0 && cJSON_IsFalse(m)) {
        /* Gemini never adds properties of its own: nothing is lost */
    } else if (!listed(gemini_silent, kw) && strcmp(kw, "allOf") != 0) {
        /* unknown members may hold anything, even a newline */
        cJSON *name = cJSON_CreateString(kw);
        char *shown = fx_js_render(name, 60);
        if (strlen(shown) == strlen(kw) + 2 && strstr(shown, kw) == shown + 1)
            note(g, "%s at %s dropped", kw, path->data);
        else
            note(g, "%s at %s dropped", shown, path->data);
        free(shown);
        cJSON_Delete(name);
    }
}

static cJSON *
gemini_ref(struct gctx *g, const cJSON *j, fxu_buf *path)
{
    const char *ref =
        cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "$ref"));
    fxu_buf loc;
    fxu_buf_init(&loc);
    const cJSON *target = ref ? fx_js_pointer(g->root, ref, &loc) : NULL;
    fxu_buf_free(&loc);
    for (size_t i = 0; target && i < g->ninlining; i++)
        if (g->inlining[i] == target) {
            note(g, "recursive $ref at %s cut", path->data);
            return cJSON_CreateObject();
        }
    if (target == NULL) {
        note(g, "unresolvable $ref at %s dropped", path->data);
        return cJSON_CreateObject();
    }
    if (g->ninlining == g->capinlining) {
        g->capinlining = g->capinlining ? 2 * g->capinlining : 8;
        g->inlining =
            fxu_xrealloc(g->inlining, g->capinlining * sizeof(*g->inlining));
    }
    g->inlining[g->ninlining++] = target;
    cJSON *out = gemini(g, target, path);
    g->ninlining--;
    return out;
}

static cJSON *
gemini(struct gctx *g, const cJSON *j, fxu_buf *path)
{
    if (++g->nodes > MAX_GEMINI_NODES) {
        if (g->nodes == MAX_GEMINI_NODES + 1)
            note(g, "schema too large once $refs are inlined, cut at %s",
                 path->data);
        return cJSON_CreateObject();
    }
    if (cJSON_IsFalse(j))
        note(g, "false schema at %s dropped", path->data);
    if (!cJSON_IsObject(j))
        return cJSON_CreateObject();
    if (cJSON_GetObjectItemCaseSensitive(j, "$ref"))
        return gemini_ref(g, j, path); /* draft 7: siblings ignored */
    cJSON *out = cJSON_CreateObject();
    for (const cJSON *m = j->child; m; m = m->next)
        gemini_keyword(g, out, m, path);
    const cJSON *all = cJSON_GetObjectItemCaseSensitive(j, "allOf");
    long i = 0;
    for (const cJSON *e = cJSON_IsArray(all) ? all->child : NULL; e;
         e = e->next, i++) {
        size_t mark = path->len;
        fx_js_path_key(path, "allOf");
        cJSON *branch = gemini_sub(g, e, path, NULL, i);
        path->len = mark;
        path->data[mark] = '\0';
        gemini_merge(g, out, branch, path->data);
    }
    return out;
}

cJSON *
fx_schema_to_gemini(const cJSON *schema, char **note_out)
{
    struct gctx g = {0};
    g.root = schema;
    fxu_buf_init(&g.notes);
    fxu_buf path;
    fxu_buf_init(&path);
    fxu_buf_putc(&path, '$');
    cJSON *out = gemini(&g, schema, &path);
    fxu_buf_free(&path);
    free(g.inlining);
    if (note_out) {
        *note_out = NULL;
        if (g.nnotes && g.more)
            *note_out = fxu_asprintf("gemini responseSchema: %s; and %zu more",
                                     g.notes.data, g.more);
        else if (g.nnotes)
            *note_out = fxu_asprintf("gemini responseSchema: %s", g.notes.data);
    }
    fxu_buf_free(&g.notes);
    return out;
}
