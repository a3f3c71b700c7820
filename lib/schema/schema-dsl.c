/*
 * schema-dsl.c - where a --schema SPEC becomes a JSON Schema: the
 * one-line DSL ('severity, summary: one sentence, count int, tags [str]'),
 * the "multi" wrapper that asks for a list of such objects, and SPEC
 * resolution (a schema file, inline JSON, or DSL).
 */
#include "config.h"

#include "flexiai.h"
#include "schema.h"
#include "schema-int.h"
#include "fxu.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_SCHEMA_FILE (16L * 1024 * 1024)

/* ---- DSL ---------------------------------------------------------------- */

/* s as a JSON string, so that a message stays on one line. */
static char *
quoted(const char *s)
{
    cJSON *str = cJSON_CreateString(s);
    char *text = str ? cJSON_PrintUnformatted(str) : NULL;
    char *copy = fxu_strdup(text ? text : "\"?\"");
    cJSON_free(text);
    cJSON_Delete(str);
    return copy;
}

static const char *
json_type(const char *word)
{
    static const struct {
        const char *word, *type;
    } types[] = {
        {"str", "string"},      {"string", "string"},   {"int", "integer"},
        {"integer", "integer"}, {"float", "number"},    {"number", "number"},
        {"bool", "boolean"},    {"boolean", "boolean"},
    };
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (strcmp(types[i].word, word) == 0)
            return types[i].type;
    return NULL;
}

/* "enum(bug, feature, question)": a string schema with those values
 * (trimmed, none empty, none twice); NULL with *err when it is not. */
static cJSON *
enum_schema(const char *word, const char *name, char **err)
{
    size_t len = strlen(word);
    char *shown = quoted(word);
    if (word[len - 1] != ')') {
        *err = fxu_asprintf("schema DSL: field \"%s\": missing ')' in %s", name,
                            shown);
        free(shown);
        return NULL;
    }
    char *list = fxu_strndup(word + 5, len - 6); /* inside "enum(...)" */
    cJSON *values = cJSON_CreateArray();
    char *item = list, *comma;
    do {
        comma = strchr(item, ',');
        if (comma)
            *comma = '\0';
        const char *v = fxu_trim(item);
        int twice = 0;
        const cJSON *seen;
        cJSON_ArrayForEach(seen, values) twice |=
            strcmp(seen->valuestring, v) == 0;
        if (*v == '\0' || twice) {
            *err = fxu_asprintf("schema DSL: field \"%s\": %s in %s", name,
                                *v ? "a value appears twice" : "an empty value",
                                shown);
            break;
        }
        cJSON_AddItemToArray(values, cJSON_CreateString(v));
        item = comma + 1;
    } while (comma);
    free(list);
    free(shown);
    if (*err) {
        cJSON_Delete(values);
        return NULL;
    }
    cJSON *s = cJSON_CreateObject();
    cJSON_AddStringToObject(s, "type", "string");
    cJSON_AddItemToObject(s, "enum", values);
    return s;
}

/* The property schema for a type word: "", "int", "[str]", "[ bool ]",
 * "enum(a, b)", "[enum(a, b)]". */
static cJSON *
field_schema(char *type, const char *name, char **err)
{
    int array = type[0] == '[';
    char *word = type;
    if (array) {
        size_t len = strlen(type);
        if (type[len - 1] != ']') {
            char *shown = quoted(type);
            *err = fxu_asprintf("schema DSL: field \"%s\": missing ']' in %s",
                                name, shown);
            free(shown);
            return NULL;
        }
        type[len - 1] = '\0';
        word = fxu_trim(type + 1);
    }
    if (strncmp(word, "enum(", 5) == 0) {
        cJSON *e = enum_schema(word, name, err);
        if (e == NULL || !array)
            return e;
        cJSON *s = cJSON_CreateObject();
        cJSON_AddStringToObject(s, "type", "array");
        cJSON_AddItemToObject(s, "items", e);
        return s;
    }
    const char *json = word[0] ? json_type(word) : "string";
    if (json == NULL) {
        char *shown = quoted(word);
        *err = fxu_asprintf("schema DSL: unknown type %s for field \"%s\" "
                            "(use str, int, float, bool, enum(A,B) or [T])",
                            shown, name);
        free(shown);
        return NULL;
    }
    cJSON *s = cJSON_CreateObject();
    if (array) {
        cJSON_AddStringToObject(s, "type", "array");
        cJSON *items = cJSON_AddObjectToObject(s, "items");
        cJSON_AddStringToObject(items, "type", json);
    } else {
        cJSON_AddStringToObject(s, "type", json);
    }
    return s;
}

static int
is_name_char(int ch)
{
    return isalnum(ch) || ch == '_' || ch == '-';
}

/* One field, "name [type][: description]", into the object schema. */
static int
add_field(cJSON *obj, char *field, int number, char **err)
{
    char *colon = strchr(field, ':');
    const char *desc = NULL;
    if (colon) {
        *colon = '\0';
        desc = fxu_trim(colon + 1);
    }
    char *head = fxu_trim(field);
    if (head[0] == '\0') {
        *err = fxu_asprintf("schema DSL: field %d has no name", number);
        return -1;
    }
    size_t len = 0;
    while (is_name_char((unsigned char)head[len]))
        len++;
    if (len == 0) {
        char *shown = quoted(head);
        *err = fxu_asprintf("schema DSL: field %d: a name is letters, "
                            "digits, '_' and '-', not %s",
                            number, shown);
        free(shown);
        return -1;
    }
    char *name = fxu_strndup(head, len);
    cJSON *props = cJSON_GetObjectItemCaseSensitive(obj, "properties");
    if (cJSON_GetObjectItemCaseSensitive(props, name)) {
        *err = fxu_asprintf("schema DSL: field \"%s\" appears twice", name);
        free(name);
        return -1;
    }
    cJSON *s = field_schema(fxu_trim(head + len), name, err);
    if (s == NULL) {
        free(name);
        return -1;
    }
    if (desc && desc[0])
        cJSON_AddStringToObject(s, "description", desc);
    cJSON_AddItemToObject(props, name, s);
    cJSON_AddItemToArray(cJSON_GetObjectItemCaseSensitive(obj, "required"),
                         cJSON_CreateString(name));
    free(name);
    return 0;
}

/* The ',' that ends this field (not one inside enum(...)), or NULL. */
static char *
field_end(char *field)
{
    int depth = 0;
    for (char *p = field; *p; p++) {
        if (*p == '(')
            depth++;
        else if (*p == ')' && depth > 0)
            depth--;
        else if (*p == ',' && depth == 0)
            return p;
        else if (*p == ':' && depth == 0)
            return strchr(p, ','); /* a description ends at a ',' */
    }
    return NULL;
}

cJSON *
fx_schema_from_dsl(const char *dsl, char **err)
{
    *err = NULL;
    cJSON *obj = cJSON_CreateObject();
    cJSON_AddStringToObject(obj, "type", "object");
    cJSON_AddObjectToObject(obj, "properties");
    cJSON_AddArrayToObject(obj, "required");
    cJSON_AddFalseToObject(obj, "additionalProperties");
    char *copy = fxu_strdup(dsl ? dsl : "");
    if (fxu_trim(copy)[0] == '\0') {
        *err = fxu_strdup("schema DSL: no fields");
    } else {
        int number = 1;
        for (char *field = copy, *comma; *err == NULL; field = comma + 1) {
            comma = field_end(field);
            if (comma)
                *comma = '\0';
            if (add_field(obj, field, number++, err) < 0 || comma == NULL)
                break;
        }
    }
    free(copy);
    if (*err) {
        cJSON_Delete(obj);
        return NULL;
    }
    return obj;
}

cJSON *
fx_schema_multi(cJSON *schema)
{
    cJSON *obj = cJSON_CreateObject();
    cJSON_AddStringToObject(obj, "type", "object");
    cJSON *items = cJSON_AddObjectToObject(
        cJSON_AddObjectToObject(obj, "properties"), "items");
    cJSON_AddStringToObject(items, "type", "array");
    cJSON_AddItemToObject(items, "items", schema);
    cJSON_AddItemToArray(cJSON_AddArrayToObject(obj, "required"),
                         cJSON_CreateString("items"));
    cJSON_AddFalseToObject(obj, "additionalProperties");
    return obj;
}

/* ---- SPEC --------------------------------------------------------------- */

/* Parse JSON text and check that it compiles as a schema.  `what` starts
 * the messages ("inline schema", a file name). */
static cJSON *
parse_schema(const char *text, const char *what, char **err)
{
    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithOpts(text, &end, 1);
    if (doc == NULL) {
        char *why = fx_js_parse_error(text, end);
        *err = fxu_asprintf("%s: %s", what, why);
        free(why);
        return NULL;
    }
    char *why = NULL;
    if (fx_js_check_edges(doc, &why) != 0) { /* 1e400, a key twice */
        *err = fxu_asprintf("%s: %s", what, why);
        free(why);
        cJSON_Delete(doc);
        return NULL;
    }
    fx_schema *s = fx_schema_compile(doc, &why);
    if (s == NULL) {
        *err = fxu_asprintf("%s: %s", what, why);
        free(why);
        cJSON_Delete(doc);
        return NULL;
    }
    fx_schema_free(s);
    return doc;
}

static int
read_file(const char *path, fxu_buf *out, char **err)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL) {
        *err = fxu_asprintf("%s: %s", path, strerror(errno));
        return -1;
    }
    char chunk[8192];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
        fxu_buf_append(out, chunk, n);
        if (out->len > MAX_SCHEMA_FILE) {
            fclose(fp);
            *err = fxu_asprintf("%s: larger than 16 MiB", path);
            return -1;
        }
    }
    int failed = ferror(fp);
    fclose(fp);
    if (failed) {
        *err = fxu_asprintf("%s: read error", path);
        return -1;
    }
    if (out->data && memchr(out->data, '\0', out->len)) {
        *err = fxu_asprintf("%s: not valid JSON (contains a NUL byte)", path);
        return -2;
    }
    return 0;
}

/* No DSL has a '/' or ends in ".json" without a ':' or ',' somewhere. */
static int
looks_like_path(const char *spec)
{
    size_t len = strlen(spec);
    if (strpbrk(spec, ",:"))
        return 0;
    return strchr(spec, '/') != NULL ||
           (len > 5 && strcmp(spec + len - 5, ".json") == 0);
}

int
fx_schema_load_spec(const char *spec, cJSON **out, char **err)
{
    *out = NULL;
    *err = NULL;
    struct stat st;
    int exists = stat(spec, &st) == 0;
    int saved = errno;
    if (exists && S_ISREG(st.st_mode)) {
        fxu_buf text;
        fxu_buf_init(&text);
        int rc = read_file(spec, &text, err);
        if (rc == 0)
            *out = parse_schema(text.data ? text.data : "", spec, err);
        fxu_buf_free(&text);
        if (rc == -1)
            return FLEXIAI_ENOINPUT;
        return *out ? 0 : FLEXIAI_EDATA;
    }
    const char *text = spec;
    while (isspace((unsigned char)*text))
        text++;
    if (*text == '{') {
        *out = parse_schema(text, "inline schema", err);
        return *out ? 0 : FLEXIAI_EUSAGE;
    }
    if (looks_like_path(spec)) {
        *err = exists ? fxu_asprintf("%s: not a regular file", spec)
                      : fxu_asprintf("%s: %s", spec, strerror(saved));
        return FLEXIAI_ENOINPUT;
    }
    cJSON *doc = fx_schema_from_dsl(spec, err);
    if (doc == NULL)
        return FLEXIAI_EUSAGE;
    *out = doc;
    return 0;
}

int
fx_schema_load_text(const char *spec, cJSON **out, char **err)
{
    *out = NULL;
    *err = NULL;
    const char *text = spec;
    while (isspace((unsigned char)*text))
        text++;
    if (*text == '{')
        *out = parse_schema(text, "inline schema", err);
    else
        *out = fx_schema_from_dsl(spec, err);
    return *out ? 0 : FLEXIAI_EUSAGE;
}
