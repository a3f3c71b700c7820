/*
 * batch-input.c - `flexiai batch` input: a JSONL line (or a --text line)
 * made into a request, with a one-line reason when it cannot be; and the
 * ids an earlier run already answered, read back from its output file.
 */
#include "config.h"

#include "batch.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int
batch_line_blank(const char *line, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (line[i] != ' ' && line[i] != '\t' && line[i] != '\r')
            return 0;
    return 1;
}

void
batch_item_free(struct batch_item *it)
{
    batch_tools_free(it);
    free(it->id);
    tool_msgs_free(&it->msgs);
    free(it->model);
    free(it->provider);
    free(it->system);
    free(it->tag);
    free(it->schema_spec);
    flexiai_schema_free(it->schema);
    free(it->error);
    free(it->fp);
    tool_attach_free(&it->att);
    tool_fragments_free(&it->frags);
    memset(it, 0, sizeof(*it));
}

/* The prompt with the positional prefix before it. */
static void
push_prompt(struct batch_item *it, const char *role, const char *text,
            size_t len, const char *prefix)
{
    fxu_buf b;
    fxu_buf_init(&b);
    if (prefix && *prefix) {
        fxu_buf_puts(&b, prefix);
        fxu_buf_puts(&b, "\n\n");
    }
    fxu_buf_append(&b, text, len);
    /* invalid UTF-8 would make the request invalid JSON: U+FFFD */
    char *clean = fxu_utf8_sanitize(b.data ? b.data : "", b.len, NULL);
    tool_msgs_push(&it->msgs, role, clean);
    free(clean);
    fxu_buf_free(&b);
}

static char *
str_member(const cJSON *o, const char *name, int *bad)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
    if (v == NULL || cJSON_IsNull(v))
        return NULL;
    if (!cJSON_IsString(v)) {
        *bad = 1;
        return NULL;
    }
    return fxu_utf8_sanitize(v->valuestring, strlen(v->valuestring), NULL);
}

static int
valid_role(const char *r)
{
    return strcmp(r, "user") == 0 || strcmp(r, "system") == 0 ||
           strcmp(r, "assistant") == 0;
}

/* messages: [{role, content}], the prefix before the last user message. */
static const char *
take_messages(struct batch_item *it, const cJSON *arr, const char *prefix)
{
    if (!cJSON_IsArray(arr) || cJSON_GetArraySize(arr) == 0)
        return "messages must be a non-empty array";
    int last_user = -1, i = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, arr)
    {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
        if (!cJSON_IsString(role) || !cJSON_IsString(content) ||
            !valid_role(role->valuestring))
            return "each message needs a role (system, user or assistant) "
                   "and a string content";
        if (strcmp(role->valuestring, "user") == 0)
            last_user = i;
        i++;
    }
    i = 0;
    cJSON_ArrayForEach(m, arr)
    {
        const char *role =
            cJSON_GetObjectItemCaseSensitive(m, "role")->valuestring;
        const char *c =
            cJSON_GetObjectItemCaseSensitive(m, "content")->valuestring;
        push_prompt(it, role, c, strlen(c), i == last_user ? prefix : NULL);
        i++;
    }
    return NULL;
}

/* --prompt-template: each {name} is that member's text (a string as it
 * is, anything else as its JSON); {{ and }} are braces.  NULL with *why
 * for a member the line lacks. */
static char *
expand_template(const char *tpl, const char *line, size_t len, const cJSON *o,
                char **why)
{
    fxu_buf b;
    fxu_buf_init(&b);
    for (const char *p = tpl; *p; p++) {
        const char *close = *p == '{' ? strchr(p + 1, '}') : NULL;
        if ((p[0] == '{' || p[0] == '}') && p[1] == p[0]) {
            fxu_buf_putc(&b, *p++);
            continue;
        }
        if (close == NULL) {
            fxu_buf_putc(&b, *p);
            continue;
        }
        char *name = fxu_strndup(p + 1, (size_t)(close - p - 1));
        const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, name);
        size_t n = 0;
        const char *raw = NULL;
        if (cJSON_IsString(v))
            fxu_buf_puts(&b, v->valuestring);
        else if (v && !cJSON_IsNull(v) &&
                 (raw = batch_member_text(line, len, name, &n)) != NULL)
            fxu_buf_append(&b, raw, n);
        else
            *why = fxu_asprintf("no \"%s\" for --prompt-template", name);
        free(name);
        if (*why) {
            fxu_buf_free(&b);
            return NULL;
        }
        p = close;
    }
    fxu_buf_putc(&b, '\0');
    return fxu_buf_steal(&b);
}

/* The prompt from --prompt-template or --prompt-field; NULL, or why not
 * (allocated into it->error's place by the caller). */
static char *
take_fields(struct batch_item *it, const cJSON *o, const char *line, size_t len,
            const struct batch_parse *bp)
{
    char *why = NULL;
    if (bp->template) {
        char *text = expand_template(bp->template, line, len, o, &why);
        if (text == NULL) {
            it->no_prompt = 1;
            return why;
        }
        push_prompt(it, "user", text, strlen(text), bp->prefix);
        free(text);
        return NULL;
    }
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, bp->prompt_field);
    if (v == NULL || cJSON_IsNull(v)) {
        it->no_prompt = 1;
        return fxu_asprintf("no \"%s\" (--prompt-field)", bp->prompt_field);
    }
    if (!cJSON_IsString(v))
        return fxu_asprintf("\"%s\" must be a string", bp->prompt_field);
    push_prompt(it, "user", v->valuestring, strlen(v->valuestring), bp->prefix);
    return NULL;
}

static const char *
take_object(struct batch_item *it, const cJSON *o, const char *prefix,
            int fields)
{
    int bad = 0;
    const cJSON *v;
    it->system = str_member(o, "system", &bad);
    if (bad)
        return "system must be a string";
    it->model = str_member(o, "model", &bad);
    if (bad)
        return "model must be a string";
    it->provider = str_member(o, "provider", &bad);
    if (bad)
        return "provider must be a string";
    it->tag = str_member(o, "tag", &bad);
    if (bad)
        return "tag must be a string";
    v = cJSON_GetObjectItemCaseSensitive(o, "schema");
    if (v && !cJSON_IsNull(v)) {
        /* a JSON Schema object, or a SPEC string as --schema takes */
        if (cJSON_IsObject(v))
            it->schema_spec = cJSON_PrintUnformatted(v);
        else if (cJSON_IsString(v) && v->valuestring[0])
            it->schema_spec = fxu_strdup(v->valuestring);
        else
            return "schema must be a JSON Schema object or a SPEC string";
    }
    v = cJSON_GetObjectItemCaseSensitive(o, "temperature");
    if (v && !cJSON_IsNull(v)) {
        if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > 2)
            return "temperature must be a number from 0 to 2";
        it->has_temperature = 1;
        it->temperature = v->valuedouble;
    }
    v = cJSON_GetObjectItemCaseSensitive(o, "max_tokens");
    if (v && !cJSON_IsNull(v)) {
        if (!cJSON_IsNumber(v) || v->valuedouble < 1 ||
            v->valuedouble > 10000000 ||
            v->valuedouble != (double)(long)v->valuedouble)
            return "max_tokens must be a whole number from 1 to 10000000";
        it->max_tokens = (long)v->valuedouble;
    }
    v = cJSON_GetObjectItemCaseSensitive(o, "reasoning");
    if (v && !cJSON_IsNull(v)) {
        static const char *const levels[] = {"none", "low", "medium", "high"};
        for (int i = 0; cJSON_IsString(v) && i < 4; i++)
            if (strcmp(v->valuestring, levels[i]) == 0)
                it->reasoning = FLEXIAI_REASONING_NONE + i;
        if (it->reasoning == 0)
            return "reasoning must be none, low, medium or high";
    }
    v = cJSON_GetObjectItemCaseSensitive(o, "attachments");
    if (v && !cJSON_IsNull(v)) {
        const cJSON *a;
        if (!cJSON_IsArray(v))
            return "attachments must be an array of files or URLs";
        cJSON_ArrayForEach(a, v)
        {
            if (!cJSON_IsString(a) || a->valuestring[0] == '\0' ||
                strcmp(a->valuestring, "-") == 0)
                return "attachments must be an array of files or URLs";
            tool_attach_add(&it->att, a->valuestring, NULL);
        }
    }
    if (fields)
        return NULL; /* the prompt comes from --prompt-field/-template */
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(o, "messages");
    const cJSON *prompt = cJSON_GetObjectItemCaseSensitive(o, "prompt");
    if (msgs && !cJSON_IsNull(msgs))
        return take_messages(it, msgs, prefix);
    if (prompt == NULL || cJSON_IsNull(prompt)) {
        it->no_prompt = 1;
        return "no prompt (give \"prompt\" or \"messages\")";
    }
    if (!cJSON_IsString(prompt))
        return "prompt must be a string";
    if (prompt->valuestring[0] == '\0' && (prefix == NULL || !*prefix))
        return "empty prompt";
    push_prompt(it, "user", prompt->valuestring, strlen(prompt->valuestring),
                prefix);
    return NULL;
}

/* ---- an id as its JSON text -------------------------------------------
 * cJSON reads every number as a double: 1234567890123456789 and ...788
 * would both come back as 1.2345678901234568e+18.  The id is kept as the
 * text it was given in, found by walking the (already parsed, so valid)
 * line's top-level members. */

static const char *
skip_ws(const char *p, const char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
        p++;
    return p;
}

/* p at '"': just past the closing quote */
static const char *
skip_string(const char *p, const char *end)
{
    for (p++; p < end && *p != '"'; p++)
        if (*p == '\\')
            p++;
    return p < end ? p + 1 : end;
}

static const char *
skip_value(const char *p, const char *end)
{
    if (p < end && *p == '"')
        return skip_string(p, end);
    int depth = 0;
    while (p < end) {
        char c = *p;
        if (c == '"') {
            p = skip_string(p, end);
            continue;
        }
        if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (depth == 0)
                break;
            if (--depth == 0)
                return p + 1;
        } else if (depth == 0 && (c == ',' || c == ' ' || c == '\t' ||
                                  c == '\r' || c == '\n')) {
            break;
        }
        p++;
    }
    return p;
}

const char *
batch_member_text(const char *line, size_t len, const char *name, size_t *vlen)
{
    const char *end = line + len, *p = skip_ws(line, end);
    if (p == end || *p != '{')
        return NULL;
    for (p++;;) {
        p = skip_ws(p, end);
        if (p == end || *p != '"')
            return NULL;
        const char *k = p;
        p = skip_string(p, end);
        cJSON *key = cJSON_ParseWithLength(k, (size_t)(p - k));
        int match = cJSON_IsString(key) && strcmp(key->valuestring, name) == 0;
        cJSON_Delete(key);
        p = skip_ws(p, end);
        if (p == end || *p != ':')
            return NULL;
        p = skip_ws(p + 1, end);
        const char *v = p;
        p = skip_value(p, end);
        if (match) {
            *vlen = (size_t)(p - v);
            return v;
        }
        p = skip_ws(p, end);
        if (p == end || *p != ',')
            return NULL;
        p++;
    }
}

/* An integer as JSON writes it: -?(0|[1-9][0-9]*), at most 40 digits */
static int
integer_text(const char *s, size_t n)
{
    size_t i = s[0] == '-';
    if (i == n || n - i > 40 || (s[i] == '0' && n - i > 1))
        return 0;
    for (; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return 0;
    return 1;
}

char *
batch_id_text(const char *line, size_t len, const cJSON *id)
{
    return batch_field_text(line, len, "id", id);
}

char *
batch_field_text(const char *line, size_t len, const char *name,
                 const cJSON *id)
{
    size_t n = 0;
    const char *v = batch_member_text(line, len, name, &n);
    if (v == NULL || n == 0)
        return NULL;
    if (cJSON_IsNumber(id) && !integer_text(v, n))
        return NULL;
    if (!cJSON_IsString(id) && !cJSON_IsNumber(id))
        return NULL;
    /* invalid UTF-8 inside the string would make the output invalid */
    return fxu_utf8_sanitize(v, n, NULL);
}

char *
batch_line_fields(const char *line, size_t len)
{
    cJSON *o = cJSON_ParseWithLength(line, len);
    fxu_buf b;
    fxu_buf_init(&b);
    const cJSON *m;
    int n = 0;
    const cJSON *obj = cJSON_IsObject(o) ? o : NULL;
    cJSON_ArrayForEach(m, obj)
    {
        if (n++ == 12) {
            fxu_buf_puts(&b, ", ...");
            break;
        }
        char *name = tool_printable(m->string ? m->string : "");
        fxu_buf_printf(&b, "%s%.40s", n > 1 ? ", " : "", name);
        free(name);
    }
    cJSON_Delete(o);
    if (b.len == 0)
        fxu_buf_puts(&b, "none");
    return fxu_buf_steal(&b);
}

void
batch_item_parse(struct batch_item *it, const char *line, size_t len,
                 const struct batch_parse *bp)
{
    int text = bp->text;
    const char *prefix = bp->prefix;
    const char *idname = bp->id_field ? bp->id_field : "id";
    while (len && (line[len - 1] == '\r'))
        len--;
    if (text) {
        it->id = fxu_asprintf("%ld", it->lineno);
        if (memchr(line, '\0', len))
            it->error = fxu_strdup("the line holds a NUL byte");
        else
            push_prompt(it, "user", line, len, prefix);
        if (it->error == NULL && bp->tmpl && bp->tmpl->name)
            it->error = batch_item_template(it, NULL, bp);
        return;
    }
    if (memchr(line, '\0', len)) {
        it->id = fxu_asprintf("%ld", it->lineno);
        it->error = fxu_strdup("the line holds a NUL byte");
        return;
    }
    const char *end = NULL;
    cJSON *o = cJSON_ParseWithLengthOpts(line, len, &end, 0);
    while (o && end && end < line + len &&
           (*end == ' ' || *end == '\t' || *end == '\r'))
        end++;
    if (o == NULL || (end && end < line + len) || !cJSON_IsObject(o)) {
        it->id = fxu_asprintf("%ld", it->lineno);
        it->error = fxu_strdup(o && cJSON_IsObject(o)
                                   ? "something after the JSON object"
                                   : "not a JSON object");
        cJSON_Delete(o);
        return;
    }
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, idname);
    const char *why = NULL;
    char *own = NULL; /* a why of its own */
    if (id && !cJSON_IsNull(id))
        it->id = batch_field_text(line, len, idname, id);
    if (it->id == NULL) {
        it->id = fxu_asprintf("%ld", it->lineno);
        if (id && !cJSON_IsNull(id))
            why = bp->id_field ? "the id field must be a string or a whole "
                                 "number (as digits)"
                               : "id must be a string or a whole number (as "
                                 "digits)";
    }
    /* cJSON cuts a string at \u0000 without a word: the prompt would go
     * out cut short */
    if (why == NULL && tool_has_nul_escape(line, len))
        why = "a string holds \\u0000 (a NUL character cannot be sent)";
    int fields = bp->template || bp->prompt_field;
    if (why == NULL)
        why = take_object(it, o, prefix, fields);
    if (why == NULL && fields)
        why = own = take_fields(it, o, line, len, bp);
    /* a template's prompt may be the whole prompt (batch-template.c) */
    if (why && it->no_prompt && !fields && batch_item_template_prompts(o, bp)) {
        why = NULL;
        it->no_prompt = 0;
    }
    if (why == NULL) {
        free(own);
        why = own = batch_item_template(it, o, bp);
    }
    if (why) {
        it->error = fxu_strdup(why);
        tool_msgs_free(&it->msgs);
    }
    free(own);
    cJSON_Delete(o);
}

int
batch_looks_like_path(const char *spec)
{
    size_t len = strlen(spec);
    return strchr(spec, '/') != NULL || strchr(spec, '\\') != NULL ||
           (len > 5 && strcmp(spec + len - 5, ".json") == 0);
}
