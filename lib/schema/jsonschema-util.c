/*
 * jsonschema-util.c - the small pieces the schema compiler, validator and
 * converters share: paths in messages ("$.a[2][\"b c\"]"), values shown
 * in one line, deep equality, local JSON pointers, and the guard on what
 * a pattern may ask of regcomp.
 */
#include "config.h"

#include "schema-int.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Patterns are POSIX EREs compiled by the C library; bound what a hostile
 * schema can make regcomp build. */
#define MAX_PATTERN_LEN 4096
#define MAX_PATTERN_NODES 5000.0
#define MAX_PATTERN_DEPTH 100

static int
is_plain_name(const char *s)
{
    if (!(isalpha((unsigned char)*s) || *s == '_' || *s == '$'))
        return 0;
    for (s++; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_' || *s == '$' ||
              *s == '-'))
            return 0;
    return 1;
}

void
fx_js_path_key(fxu_buf *path, const char *name)
{
    if (is_plain_name(name)) {
        fxu_buf_printf(path, ".%s", name);
        return;
    }
    cJSON *str = cJSON_CreateString(name);
    char *quoted = str ? cJSON_PrintUnformatted(str) : NULL;
    fxu_buf_printf(path, "[%s]", quoted ? quoted : "\"?\"");
    cJSON_free(quoted);
    cJSON_Delete(str);
}

void
fx_js_path_index(fxu_buf *path, size_t i)
{
    fxu_buf_printf(path, "[%zu]", i);
}

char *
fx_js_render(const cJSON *v, size_t max)
{
    char *text = cJSON_PrintUnformatted(v);
    if (text == NULL)
        return fxu_strdup("?");
    size_t len = strlen(text);
    if (len <= max) {
        char *copy = fxu_strdup(text);
        cJSON_free(text);
        return copy;
    }
    /* cut on a UTF-8 character boundary */
    size_t cut = max;
    while (cut > 0 && ((unsigned char)text[cut] & 0xC0) == 0x80)
        cut--;
    char *out = fxu_asprintf("%.*s...", (int)cut, text);
    cJSON_free(text);
    return out;
}

int
fx_js_equal(const cJSON *a, const cJSON *b)
{
    if (cJSON_IsNumber(a) && cJSON_IsNumber(b))
        return a->valuedouble == b->valuedouble;
    if ((a->type & 0xFF) != (b->type & 0xFF))
        return 0;
    if (cJSON_IsString(a))
        return strcmp(a->valuestring, b->valuestring) == 0;
    if (cJSON_IsArray(a)) {
        const cJSON *x = a->child, *y = b->child;
        for (; x && y; x = x->next, y = y->next)
            if (!fx_js_equal(x, y))
                return 0;
        return x == NULL && y == NULL;
    }
    if (cJSON_IsObject(a)) {
        if (cJSON_GetArraySize(a) != cJSON_GetArraySize(b))
            return 0;
        for (const cJSON *x = a->child; x; x = x->next) {
            const cJSON *y = cJSON_GetObjectItemCaseSensitive(b, x->string);
            if (y == NULL || !fx_js_equal(x, y))
                return 0;
        }
        return 1;
    }
    return 1; /* null, true, false */
}

/* ---- JSON pointers ------------------------------------------------------ */

static int
hexval(int ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    ch = tolower(ch);
    return ch >= 'a' && ch <= 'f' ? ch - 'a' + 10 : -1;
}

const cJSON *
fx_js_pointer(const cJSON *root, const char *ref, fxu_buf *loc)
{
    fxu_buf token;
    fxu_buf_init(&token);
    const cJSON *at = root;
    fxu_buf_reset(loc);
    fxu_buf_putc(loc, '$');
    if (ref[0] != '#')
        return NULL;
    const char *p = ref + 1; /* after '#' */
    while (at && *p == '/') {
        fxu_buf_reset(&token);
        for (p++; *p && *p != '/'; p++) {
            int ch = (unsigned char)*p;
            if (ch == '%' && hexval(p[1]) >= 0 && hexval(p[2]) >= 0) {
                ch = hexval(p[1]) * 16 + hexval(p[2]);
                p += 2;
            }
            if (ch == '~' && (p[1] == '0' || p[1] == '1'))
                ch = *++p == '0' ? '~' : '/';
            fxu_buf_putc(&token, (char)ch);
        }
        const char *name = token.data ? token.data : "";
        if (cJSON_IsObject(at)) {
            at = cJSON_GetObjectItemCaseSensitive(at, name);
            fx_js_path_key(loc, name);
        } else if (cJSON_IsArray(at) && name[0] &&
                   strspn(name, "0123456789") == strlen(name) &&
                   (name[0] != '0' || name[1] == '\0') && strlen(name) < 10) {
            long i = atol(name);
            at = cJSON_GetArrayItem(at, (int)i);
            fx_js_path_index(loc, (size_t)i);
        } else {
            at = NULL;
        }
    }
    fxu_buf_free(&token);
    return at;
}

/* ---- patterns ----------------------------------------------------------- */

/* Past a bracket expression "[...]" that starts at p, classes like
 * [:alpha:] included; at the NUL when it is unterminated. */
static const char *
skip_bracket(const char *p)
{
    p++;
    if (*p == '^')
        p++;
    if (*p == ']')
        p++;
    while (*p && *p != ']') {
        if (*p == '[' && (p[1] == ':' || p[1] == '.' || p[1] == '=')) {
            char close[3] = {p[1], ']', '\0'};
            const char *end = strstr(p + 2, close);
            p = end ? end + 2 : p + strlen(p);
        } else {
            p++;
        }
    }
    return *p ? p + 1 : p;
}

/* How many copies of the last element a quantifier at p makes in glibc's
 * parse tree ("a+" becomes "aa*", "a{2,5}" five copies); 0 when p holds
 * no quantifier.  *len is its length, *optional whether it lets the
 * element match nothing, *unbounded whether it repeats without limit. */
static double
quantifier(const char *p, size_t *len, int *optional, int *unbounded)
{
    *len = 1;
    *optional = *p == '*' || *p == '?';
    *unbounded = *p == '*' || *p == '+';
    if (*p == '*' || *p == '?')
        return 1;
    if (*p == '+')
        return 2;
    if (*p != '{' || !isdigit((unsigned char)p[1]))
        return 0;
    char *end;
    double low = strtod(p + 1, &end), copies = low;
    *optional = low == 0;
    if (*end == ',' && isdigit((unsigned char)end[1]))
        copies = strtod(end + 1, &end);
    else if (*end == ',')
        end++, copies++, *unbounded = 1; /* "{n,}": n copies and a star */
    const char *close = strchr(end, '}');
    *len = close ? (size_t)(close - p) + 1 : strlen(p);
    return copies > 1 ? copies : 1;
}

/* One open group while a pattern is scanned. */
struct pgroup {
    double size;      /* tree nodes so far */
    double last;      /* nodes of the last element */
    int before_empty; /* the elements before the last can match "" */
    int last_empty;   /* the last element can match "" */
    int alt_empty;    /* an earlier alternative can match "" */
};

static void
element(struct pgroup *g, double nodes, int empty)
{
    g->before_empty = g->before_empty && g->last_empty;
    g->last = nodes;
    g->last_empty = empty;
    g->size += nodes;
}

/* Refuse what would make glibc's regcomp build a huge tree or spend
 * minutes on its epsilon closures: repetitions that multiply as groups
 * nest ("((a{9}){9}){9}", "a+" is "aa*"), a group that can match the empty
 * string repeated without bound ("(a*)+"), stacked repetition operators
 * (undefined in POSIX), and back-references (exponential to match).  A
 * long but flat pattern is fine. */
const char *
fx_js_pattern_too_costly(const char *src)
{
    if (strlen(src) > MAX_PATTERN_LEN)
        return "longer than 4096 bytes";
    struct pgroup stack[MAX_PATTERN_DEPTH + 1] = {{0, 0, 1, 1, 0}};
    size_t depth = 0;
    int after_quantifier = 0;
    for (const char *p = src; *p;) {
        struct pgroup *g = &stack[depth];
        size_t len;
        int optional, unbounded;
        double copies = quantifier(p, &len, &optional, &unbounded);
        if (copies > 0) {
            if (after_quantifier)
                return "stacked repetition operators (undefined in POSIX "
                       "ERE)";
            if (unbounded && g->last_empty && g->last > 0)
                return "a group that can match the empty string is "
                       "repeated without bound";
            g->size += g->last * (copies - 1);
            g->last *= copies;
            g->last_empty = g->last_empty || optional;
            after_quantifier = 1;
            p += len;
        } else if (*p == '(') {
            if (depth == MAX_PATTERN_DEPTH)
                return "groups nested too deeply";
            stack[++depth] = (struct pgroup){0, 0, 1, 1, 0};
            after_quantifier = 0;
            p++;
        } else if (*p == '|') {
            g->alt_empty = g->alt_empty || (g->before_empty && g->last_empty);
            g->before_empty = g->last_empty = 1;
            g->size += 1;
            g->last = 0;
            after_quantifier = 0;
            p++;
        } else if (*p == ')' && depth > 0) {
            int empty = g->alt_empty || (g->before_empty && g->last_empty);
            double nodes = g->size + 1;
            element(&stack[--depth], nodes, empty);
            after_quantifier = 0;
            p++;
        } else {
            if (*p == '\\' && p[1] >= '1' && p[1] <= '9')
                return "back-references are not supported";
            const char *next = *p == '['            ? skip_bracket(p)
                               : *p == '\\' && p[1] ? p + 2
                                                    : p + 1;
            element(g, 1, *p == '^' || *p == '$');
            after_quantifier = 0;
            p = next;
        }
        if (stack[depth].size > MAX_PATTERN_NODES)
            return "repetitions make it too large";
    }
    return NULL;
}

char *
fx_json_finish(cJSON *root)
{
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    if (s == NULL)
        abort(); /* out of memory, as fxu_xmalloc */
    return s;
}
