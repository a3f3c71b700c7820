/*
 * schema-output.c - structured output as requests see it: the public
 * flexiai_schema_* calls (a SPEC loaded, wrapped for multi, compiled and
 * converted once for every provider type), the pieces the request
 * builders put in a body (provider-common.h), and the check of a complete
 * answer against the schema (the failover engine's invalid_output).
 */
#include "config.h"

#include "conf/conf.h"
#include "fx.h"
#include "schema.h"
#include "schema-int.h"
#include "providers/provider-common.h"

#include <stdlib.h>
#include <string.h>

/* The SPEC loaded, compiled and converted; *err set on failure. */
static flexiai_code
schema_load(const char *spec, int multi, flexiai_schema **out, char **err,
            int files)
{
    if (spec == NULL || *spec == '\0') {
        *err = fxu_strdup("empty schema");
        return FLEXIAI_EUSAGE;
    }
    cJSON *doc = NULL;
    int rc = files ? fx_schema_load_spec(spec, &doc, err)
                   : fx_schema_load_text(spec, &doc, err);
    if (rc != 0) {
        /* a schema file asking for what we do not do is a usage error,
         * like the same schema inline */
        if (rc == FLEXIAI_EDATA && *err && strstr(*err, "unsupported"))
            rc = FLEXIAI_EUSAGE;
        return (flexiai_code)rc;
    }
    if (multi)
        doc = fx_schema_multi(doc);
    char *why = NULL;
    struct fx_schema *compiled = fx_schema_compile(doc, &why);
    if (compiled == NULL) {
        cJSON_Delete(doc);
        *err = why ? why : fxu_strdup("schema refused");
        return FLEXIAI_EUSAGE;
    }
    flexiai_schema *s = fxu_xcalloc(1, sizeof(*s));
    s->compiled = compiled;
    s->multi = multi != 0;
    s->strict = fx_schema_is_strict(doc, NULL);
    s->text = fx_json_finish(cJSON_Duplicate(doc, 1));
    s->gemini = fx_json_finish(fx_schema_to_gemini(doc, &s->gemini_note));
    cJSON_Delete(doc);
    *out = s;
    return FLEXIAI_OK;
}

flexiai_code
flexiai_schema_load(const char *spec, int multi, flexiai_schema **out,
                    char **errmsg)
{
    char *err = NULL;
    *out = NULL;
    flexiai_code rc = schema_load(spec, multi, out, &err, 1);
    if (rc != FLEXIAI_OK && err == NULL)
        err = fxu_strdup("schema refused");
    if (errmsg)
        *errmsg = err;
    else
        free(err);
    return rc;
}

flexiai_code
flexiai_schema_load_inline(const char *spec, int multi, flexiai_schema **out,
                           char **errmsg)
{
    char *err = NULL;
    *out = NULL;
    flexiai_code rc = schema_load(spec, multi, out, &err, 0);
    if (rc != FLEXIAI_OK && err == NULL)
        err = fxu_strdup("schema refused");
    if (errmsg)
        *errmsg = err;
    else
        free(err);
    return rc;
}

void
flexiai_schema_free(flexiai_schema *s)
{
    if (s == NULL)
        return;
    fx_schema_free(s->compiled);
    free(s->text);
    free(s->gemini);
    free(s->gemini_note);
    free(s);
}

/* Unformatted JSON indented by two spaces, one member per line (cJSON's
 * own printer aligns with tabs). */
static void
indent(fxu_buf *b, int depth)
{
    fxu_buf_putc(b, '\n');
    for (int i = 0; i < depth; i++)
        fxu_buf_puts(b, "  ");
}

char *
flexiai_schema_text(const flexiai_schema *s)
{
    fxu_buf b;
    fxu_buf_init(&b);
    int depth = 0, in_str = 0;
    for (const char *p = s->text; *p; p++) {
        char c = *p;
        if (in_str) {
            fxu_buf_putc(&b, c);
            if (c == '\\' && p[1])
                fxu_buf_putc(&b, *++p);
            else if (c == '"')
                in_str = 0;
            continue;
        }
        if (c == '"') {
            in_str = 1;
            fxu_buf_putc(&b, c);
        } else if ((c == '{' || c == '[') && (p[1] == '}' || p[1] == ']')) {
            fxu_buf_putc(&b, c);
            fxu_buf_putc(&b, *++p);
        } else if (c == '{' || c == '[') {
            fxu_buf_putc(&b, c);
            indent(&b, ++depth);
        } else if (c == '}' || c == ']') {
            indent(&b, --depth);
            fxu_buf_putc(&b, c);
        } else if (c == ',') {
            fxu_buf_putc(&b, c);
            indent(&b, depth);
        } else if (c == ':') {
            fxu_buf_puts(&b, ": ");
        } else {
            fxu_buf_putc(&b, c);
        }
    }
    return fxu_buf_steal(&b);
}

/* ---- what request builders send ---------------------------------------- */

char *
fx_schema_instruction(const struct flexiai_schema *s)
{
    return fxu_asprintf("Reply with one JSON value and nothing else (no "
                        "prose, no code fences). It must match this JSON "
                        "Schema:\n%s",
                        s->text);
}

char *
fx_schema_repair_prompt(const char *verr)
{
    return fxu_asprintf("Your answer did not match the required JSON Schema: "
                        "%s. Reply again with only the corrected JSON.",
                        verr);
}

/* ---- checking an answer ------------------------------------------------- */

/* The answer without surrounding blanks or a Markdown code fence (models
 * asked in the prompt often add one). */
static char *
unwrap(const char *text, size_t len)
{
    const char *s = text, *e = text + len;
    while (s < e && strchr(" \t\r\n", *s))
        s++;
    while (e > s && strchr(" \t\r\n", e[-1]))
        e--;
    if (e - s >= 6 && strncmp(s, "```", 3) == 0 &&
        strncmp(e - 3, "```", 3) == 0) {
        const char *nl = memchr(s, '\n', (size_t)(e - s));
        if (nl && nl < e - 3) {
            s = nl + 1;
            e -= 3;
        }
    }
    return fxu_strndup(s, (size_t)(e - s));
}

/* A short quote of a non-JSON answer, on one line. */
static char *
quote(const char *s)
{
    fxu_buf b;
    fxu_buf_init(&b);
    fxu_buf_putc(&b, '"');
    size_t n = 0;
    for (; *s && n < 40; s++, n++)
        fxu_buf_putc(&b, (unsigned char)*s < 0x20 ? ' ' : *s);
    /* do not cut a UTF-8 sequence */
    while (*s && ((unsigned char)*s & 0xC0) == 0x80)
        fxu_buf_putc(&b, *s++);
    fxu_buf_puts(&b, *s ? "...\"" : "\"");
    return fxu_buf_steal(&b);
}

int
fx_schema_check(const struct flexiai_schema *s, const struct fx_response *resp,
                char **json, char **verr)
{
    *json = NULL;
    *verr = NULL;
    char *text = unwrap(resp->text.data ? resp->text.data : "", resp->text.len);
    if (*text == '\0') {
        free(text);
        *verr = resp->tool_name
                    ? fxu_asprintf("the model called tool \"%s\", not \"%s\"",
                                   resp->tool_name, FX_SCHEMA_TOOL_NAME)
                    : fxu_strdup("the answer is empty, not JSON");
        return -1;
    }
    const char *end = NULL;
    cJSON *doc = cJSON_ParseWithOpts(text, &end, 1);
    if (doc == NULL) {
        char *q = quote(text), *why = fx_js_parse_error(text, end);
        if (strncmp(why, "nested", 6) == 0)
            *verr = fxu_asprintf("the answer is %s", why);
        else
            *verr = fxu_asprintf("the answer is not JSON: %s", q);
        free(why);
        free(q);
        free(text);
        return -1;
    }
    free(text);
    /* JSON that cJSON keeps but cannot mean: {"a":1e999} would be
     * validated as infinity and printed as null, {"a":1,"a":2} checked
     * by its first a */
    if (fx_js_check_edges(doc, verr) != 0) {
        cJSON_Delete(doc);
        return -1;
    }
    if (fx_schema_validate(s->compiled, doc, verr) != 0) {
        if (*verr == NULL)
            *verr = fxu_strdup("the answer does not match the schema");
        cJSON_Delete(doc);
        return -1;
    }
    const cJSON *val = doc;
    if (s->multi)
        val = cJSON_GetObjectItemCaseSensitive(doc, "items");
    *json = cJSON_PrintUnformatted(val);
    cJSON_Delete(doc);
    if (*json == NULL)
        abort(); /* out of memory, as fxu_xmalloc */
    return 0;
}

/* ---- what the failover engine says -------------------------------------- */

const char *
fx_schema_note(const struct flexiai_schema *s, const struct fx_provider *p)
{
    if (s == NULL || s->gemini_note == NULL || p->ops == NULL ||
        (strcmp(p->ops->type, "gemini") != 0 &&
         strcmp(p->ops->type, "vertex") != 0) ||
        (p->schema_mode != FX_SCHEMA_NATIVE &&
         p->schema_mode != FX_SCHEMA_TOOL))
        return NULL;
    return s->gemini_note;
}

void
fx_schema_result_error(flexiai_result *res)
{
    for (size_t i = res->nattempts; i-- > 0;) {
        const flexiai_attempt *a = &res->attempts[i];
        if (a->validation_error) {
            free(res->error);
            res->error =
                fxu_asprintf("%s: %s", a->provider, a->validation_error);
            return;
        }
    }
}
