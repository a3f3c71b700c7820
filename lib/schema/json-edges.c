/*
 * json-edges.c - JSON at the edges of what cJSON keeps: a number too
 * large for a double (1e400 parses as infinity and prints as null), the
 * same key twice in an object (cJSON keeps both, lookups see the first),
 * and nesting deeper than cJSON's limit (which it reports as a plain
 * parse error).  Schemas and answers are checked with these so that such
 * JSON fails with a message that says what is wrong.
 */
#include "config.h"

#include "schema-int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The deepest nesting of arrays and objects in text (strings skipped). */
static size_t
max_depth(const char *text)
{
    size_t depth = 0, deepest = 0;
    int in_string = 0;
    for (const char *p = text; *p; p++) {
        if (in_string) {
            if (*p == '\\' && p[1])
                p++;
            else if (*p == '"')
                in_string = 0;
        } else if (*p == '"') {
            in_string = 1;
        } else if (*p == '[' || *p == '{') {
            if (++depth > deepest)
                deepest = depth;
        } else if ((*p == ']' || *p == '}') && depth > 0) {
            depth--;
        }
    }
    return deepest;
}

char *
fx_js_parse_error(const char *text, const char *end)
{
    if (max_depth(text) > CJSON_NESTING_LIMIT)
        return fxu_asprintf("nested more than %d levels deep",
                            CJSON_NESTING_LIMIT);
    size_t at = end && end >= text ? (size_t)(end - text) : 0;
    return fxu_asprintf("not valid JSON (near byte %zu)", at);
}

static int
by_name(const void *a, const void *b)
{
    const cJSON *x = *(const cJSON *const *)a, *y = *(const cJSON *const *)b;
    return strcmp(x->string ? x->string : "", y->string ? y->string : "");
}

/* The first member of an object whose key appears twice, or NULL. */
static const cJSON *
duplicate_key(const cJSON *obj)
{
    size_t n = 0, i = 0;
    for (const cJSON *m = obj->child; m; m = m->next)
        n++;
    if (n < 2)
        return NULL;
    const cJSON **v = fxu_xcalloc(n, sizeof(*v));
    for (const cJSON *m = obj->child; m; m = m->next)
        v[i++] = m;
    qsort(v, n, sizeof(*v), by_name);
    const cJSON *dup = NULL;
    for (i = 1; i < n && dup == NULL; i++)
        if (by_name(&v[i - 1], &v[i]) == 0)
            dup = v[i];
    free(v);
    return dup;
}

static int
check(const cJSON *v, fxu_buf *path, char **why)
{
    if (cJSON_IsNumber(v) && !isfinite(v->valuedouble)) {
        *why =
            fxu_asprintf("%s: a number too large for a double (%s)", path->data,
                         isnan(v->valuedouble) ? "not a number"
                         : v->valuedouble > 0  ? "+infinity"
                                               : "-infinity");
        return -1;
    }
    if (cJSON_IsObject(v)) {
        const cJSON *dup = duplicate_key(v);
        if (dup) {
            fxu_buf at;
            fxu_buf_init(&at);
            fxu_buf_puts(&at, path->data);
            fx_js_path_key(&at, dup->string ? dup->string : "");
            *why = fxu_asprintf("%s: the key appears more than once", at.data);
            fxu_buf_free(&at);
            return -1;
        }
    }
    size_t i = 0;
    for (const cJSON *m = v->child; m; m = m->next, i++) {
        size_t keep = path->len;
        if (cJSON_IsObject(v))
            fx_js_path_key(path, m->string ? m->string : "");
        else
            fx_js_path_index(path, i);
        int rc = check(m, path, why);
        path->len = keep;
        path->data[keep] = '\0';
        if (rc != 0)
            return -1;
    }
    return 0;
}

int
fx_js_check_edges(const cJSON *doc, char **why)
{
    fxu_buf path;
    fxu_buf_init(&path);
    fxu_buf_puts(&path, "$");
    int rc = check(doc, &path, why);
    fxu_buf_free(&path);
    return rc;
}
