/*
 * provider-common.c - what the provider-*.c files share (declared in
 * provider-common.h): finish reasons, the request's URL, headers, model
 * and parameters, the conversation as most APIs want it, the schema a call
 * carries, and the parsing and classification of answers and errors.
 */
#include "config.h"

#include "provider-common.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static void clean_message(char *dst, size_t cap, const char *src, size_t max);

/* ---- finish reasons ----------------------------------------------------- */

const char *
fx_finish_normalise(const char *value, const struct fx_finish_map *table)
{
    if (value == NULL || *value == '\0')
        return NULL;
    for (int i = 0; table[i].from; i++)
        if (strcmp(table[i].from, value) == 0)
            return table[i].to;
    return "stop";
}

int
fx_finish_class(const char *value, const struct fx_finish_error *table)
{
    if (value == NULL)
        return 0;
    for (int i = 0; table[i].from; i++)
        if (strcmp(table[i].from, value) == 0)
            return table[i].cls;
    return 0;
}

void
fx_response_set_finish(struct fx_response *r, const char *normalised)
{
    if (normalised == NULL || *normalised == '\0')
        return;
    free(r->finish_reason);
    r->finish_reason = fxu_strdup(normalised);
}

void
fx_response_set_model(struct fx_response *r, const char *model)
{
    if (model == NULL || *model == '\0')
        return;
    if (r->model && strcmp(r->model, model) == 0)
        return;
    free(r->model);
    r->model = fxu_strdup(model);
}

/* ---- requests ----------------------------------------------------------- */

char *
fx_base_url(const struct fx_provider *p, const char *def)
{
    const char *base = (p && p->base_url && *p->base_url) ? p->base_url : def;
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    return fxu_strndup(base, n);
}

void
fx_url_escape(fxu_buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
            fxu_buf_putc(b, (char)c);
        } else {
            char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
            fxu_buf_append(b, esc, 3);
        }
    }
}

void
fx_req_header(struct fx_http_req *r, const char *fmt, ...)
{
    size_t n = 0;
    va_list ap;
    while (r->headers && r->headers[n])
        n++;
    r->headers = fxu_xrealloc(r->headers, (n + 2) * sizeof *r->headers);
    va_start(ap, fmt);
    r->headers[n] = fxu_vasprintf(fmt, ap);
    va_end(ap);
    r->headers[n + 1] = NULL;
}

int
fx_key_usable(const char *key, char **err)
{
    if (key == NULL || *key == '\0')
        return 0;
    for (const unsigned char *c = (const unsigned char *)key; *c; c++)
        if (*c < 0x20 || *c == 0x7f) {
            *err = fxu_strdup("API key contains control characters");
            return -1;
        }
    return 1;
}

const struct fx_params *
fx_call_params(const struct fx_call *call)
{
    static const struct fx_params unset = {
        .temperature = -1,
        .max_tokens = 0,
        .top_p = -1,
        .top_k = 0,
    };
    return call->params ? call->params : &unset;
}

const char *
fx_call_model(const struct fx_call *call, char **err)
{
    const char *model = call->model;
    if ((model == NULL || *model == '\0') && call->prov)
        model = call->prov->model;
    if (model == NULL || *model == '\0') {
        *err = fxu_strdup("no model configured");
        return NULL;
    }
    return model;
}

int
fx_role_check(const char *role, char **err)
{
    if (role == NULL || strcmp(role, "user") == 0 ||
        strcmp(role, "assistant") == 0 || strcmp(role, "system") == 0 ||
        strcmp(role, "tool") == 0)
        return 0;
    char shown[40];
    clean_message(shown, sizeof shown, role, 24);
    *err = fxu_asprintf("unknown message role '%s'", shown);
    return -1;
}

int
fx_msg_is_tool(const flexiai_message *m)
{
    return (m->role && strcmp(m->role, "tool") == 0) ||
           (m->tool_calls && m->ntool_calls > 0);
}

static void
join_paragraph(fxu_buf *b, const char *text)
{
    if (b->len > 0)
        fxu_buf_puts(b, "\n\n");
    fxu_buf_puts(b, text);
}

int
fx_convo_build(const struct fx_call *call, struct fx_convo *c, char **err)
{
    fxu_buf_init(&c->system);
    c->turns = NULL;
    c->nturns = 0;

    /* One rule for every provider type: the conversation's own system
     * message wins; [defaults] system (or -s) is used only when it has
     * none, as the OpenAI builder does. */
    int has_system = 0;
    for (size_t i = 0; i < call->nmessages; i++)
        if (call->messages[i].role &&
            strcmp(call->messages[i].role, "system") == 0)
            has_system = 1;
    if (!has_system && call->params && call->params->system &&
        *call->params->system)
        fxu_buf_puts(&c->system, call->params->system);

    /* One extra slot for the placeholder user turn. */
    c->turns = fxu_xcalloc(call->nmessages + 1, sizeof *c->turns);
    for (size_t i = 0; i < call->nmessages; i++) {
        const flexiai_message *m = &call->messages[i];
        const char *text = m->content ? m->content : "";
        if (fx_role_check(m->role, err) < 0) {
            fx_convo_free(c);
            return -1;
        }
        if (m->role && strcmp(m->role, "system") == 0) {
            if (*text)
                join_paragraph(&c->system, text);
            continue;
        }
        int assistant = m->role && strcmp(m->role, "assistant") == 0;
        /* a tool result is the user's side of the conversation */
        if (fx_msg_is_tool(m) && !assistant)
            text = "";
        if (c->nturns > 0 && c->turns[c->nturns - 1].assistant == assistant) {
            struct fx_turn *last = &c->turns[c->nturns - 1];
            if (*text || !fx_msg_is_tool(m)) {
                fxu_buf_puts(&last->text, "\n\n");
                fxu_buf_puts(&last->text, text);
            }
            if (assistant && last->state == NULL)
                last->state = m->reasoning_state;
            last->end = i + 1;
            last->tools |= fx_msg_is_tool(m);
            continue;
        }
        struct fx_turn *t = &c->turns[c->nturns++];
        t->assistant = assistant;
        fxu_buf_init(&t->text);
        fxu_buf_puts(&t->text, text);
        t->state = assistant ? m->reasoning_state : NULL;
        t->first = i;
        t->end = i + 1;
        t->tools = fx_msg_is_tool(m);
    }
    if (c->nturns == 0) {
        fx_convo_free(c);
        *err = fxu_strdup("no user or assistant message to send");
        return -1;
    }
    if (c->turns[0].assistant) {
        memmove(&c->turns[1], &c->turns[0], c->nturns * sizeof *c->turns);
        c->turns[0].assistant = 0;
        c->turns[0].state = NULL;
        c->turns[0].first = c->turns[0].end = 0;
        c->turns[0].tools = 0;
        fxu_buf_init(&c->turns[0].text);
        fxu_buf_puts(&c->turns[0].text, "...");
        c->nturns++;
    }
    return 0;
}

void
fx_convo_free(struct fx_convo *c)
{
    fxu_buf_free(&c->system);
    for (size_t i = 0; i < c->nturns; i++)
        fxu_buf_free(&c->turns[i].text);
    free(c->turns);
    c->turns = NULL;
    c->nturns = 0;
}

/* ---- reasoning state --------------------------------------------------- */

cJSON *
fx_state_parse(const char *state, const char *type)
{
    if (state == NULL || *state == '\0')
        return NULL;
    cJSON *root = cJSON_Parse(state);
    const char *t = fx_json_str(root, "type");
    if (!cJSON_IsObject(root) || t == NULL || strcmp(t, type) != 0) {
        cJSON_Delete(root);
        return NULL;
    }
    return root;
}

char *
fx_state_make(const char *type, const char *member, cJSON *items)
{
    cJSON *root = cJSON_CreateObject();
    cJSON_AddStringToObject(root, "type", type);
    cJSON_AddItemToObject(root, member, items);
    char *s = cJSON_PrintUnformatted(root);
    cJSON_Delete(root);
    return s;
}

/* ---- responses ---------------------------------------------------------- */

cJSON *
fx_json_parse(const char *body, size_t len)
{
    if (body == NULL || len == 0)
        return NULL;
    return cJSON_ParseWithLength(body, len);
}

const char *
fx_json_str(const cJSON *obj, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

int
fx_json_count(const cJSON *obj, const char *name, long *out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, name);
    if (!cJSON_IsNumber(v))
        return -1;
    double d = v->valuedouble;
    /* Range-check before converting: a hostile body must not overflow. */
    if (!isfinite(d) || d < 0 || d > 1e15)
        return -1;
    *out = (long)d;
    return 0;
}

static int
is_word_byte(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '_' || c == '*';
}

/* Does the word look like a credential?  Known key prefixes, or a long
 * run of letters mixed with digits (tokens, but not model names or
 * request ids, which are shorter runs). */
static int
looks_secret(const char *w, size_t n)
{
    if ((n >= 8 && strncmp(w, "sk-", 3) == 0) ||
        (n >= 20 && strncmp(w, "AIza", 4) == 0))
        return 1;
    size_t run = 0;
    int letters = 0, digits = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)w[i];
        if (isalnum(c)) {
            run++;
            if (isdigit(c))
                digits = 1;
            else
                letters = 1;
            if (run >= 32 && letters && digits)
                return 1;
        } else {
            run = 0;
            letters = digits = 0;
        }
    }
    return 0;
}

/*
 * Copy a provider's message into dst as one short line: control
 * characters flattened to spaces, anything that looks like a credential
 * replaced by "[redacted]", cut to about `max` bytes on a UTF-8 boundary.
 */
static void
clean_message(char *dst, size_t cap, const char *src, size_t max)
{
    fxu_buf flat, out;
    fxu_buf_init(&flat);
    fxu_buf_init(&out);

    if (cap == 0)
        return;
    if (src == NULL)
        src = "";
    /* Control characters and runs of blanks become one space. */
    for (const char *c = src; *c; c++) {
        unsigned char u = (unsigned char)*c;
        if (u < 0x20 || u == 0x7f || u == ' ') {
            if (flat.len > 0 && flat.data[flat.len - 1] != ' ')
                fxu_buf_putc(&flat, ' ');
        } else {
            fxu_buf_putc(&flat, (char)u);
        }
    }
    while (flat.len > 0 && flat.data[flat.len - 1] == ' ')
        flat.len--;

    /* after "Bearer " or "Basic " comes a credential, whatever it looks
     * like */
    int after_scheme = 0;
    for (size_t i = 0; i < flat.len;) {
        size_t j = i;
        while (j < flat.len && is_word_byte((unsigned char)flat.data[j]))
            j++;
        if (j == i) {
            fxu_buf_putc(&out, flat.data[i]);
            if (flat.data[i] != ' ' && flat.data[i] != ':')
                after_scheme = 0;
            i++;
            continue;
        }
        if (after_scheme) { /* a token68 may hold '.', '/', '+', '=' */
            while (j < flat.len && flat.data[j] != ' ')
                j++;
            fxu_buf_puts(&out, "[redacted]");
        } else if (looks_secret(flat.data + i, j - i))
            fxu_buf_puts(&out, "[redacted]");
        else
            fxu_buf_append(&out, flat.data + i, j - i);
        after_scheme =
            (j - i == 6 && strncasecmp(flat.data + i, "bearer", 6) == 0) ||
            (j - i == 5 && strncasecmp(flat.data + i, "basic", 5) == 0);
        i = j;
    }

    size_t n = out.len;
    int cut = 0;
    if (n > max) {
        n = max;
        /* Back up over UTF-8 continuation bytes to a character start. */
        while (n > 0 && ((unsigned char)out.data[n] & 0xC0) == 0x80)
            n--;
        cut = 1;
    }
    if (n + (cut ? 3 : 0) + 1 > cap) {
        cut = cap > 4;
        n = cap - 1 - (cut ? 3 : 0);
        while (n > 0 && ((unsigned char)out.data[n] & 0xC0) == 0x80)
            n--;
    }
    if (n > 0)
        memcpy(dst, out.data, n);
    if (cut) {
        memcpy(dst + n, "...", 3);
        n += 3;
    }
    dst[n] = '\0';
    fxu_buf_free(&flat);
    fxu_buf_free(&out);
}

/* Provider error codes are identifiers; keep them so. */
static void
clean_code(char *dst, size_t cap, const char *code)
{
    size_t n = 0;
    for (; code && *code && n + 1 < cap; code++) {
        unsigned char c = (unsigned char)*code;
        if (isalnum(c) || c == '_' || c == '-' || c == '.')
            dst[n++] = (char)c;
    }
    dst[n] = '\0';
}

#define MESSAGE_MAX 150

void
fx_error_detail(struct fx_error *err, int cls, const char *prefix,
                const char *code, const char *message)
{
    char c[48], m[MESSAGE_MAX + 8];
    clean_code(c, sizeof c, code);
    clean_message(m, sizeof m, message, MESSAGE_MAX);
    if (*c && *m)
        fx_error_set(err, cls, "%s%s: %s", prefix, c, m);
    else if (*c || *m)
        fx_error_set(err, cls, "%s%s", prefix, *c ? c : m);
    else
        fx_error_set(err, cls, "%s(no error message)", prefix);
}

void
fx_error_http(struct fx_error *err, int cls, long status, const char *code,
              const char *message)
{
    char c[48], m[MESSAGE_MAX + 8];
    clean_code(c, sizeof c, code);
    clean_message(m, sizeof m, message, MESSAGE_MAX);
    err->cls = cls;
    err->status = status;
    if (*c && *m)
        fx_error_set(err, cls, "HTTP %ld %s: %s", status, c, m);
    else if (*c)
        fx_error_set(err, cls, "HTTP %ld %s", status, c);
    else if (*m)
        fx_error_set(err, cls, "HTTP %ld: %s", status, m);
    else
        fx_error_set(err, cls, "HTTP %ld (no error message)", status);
}

cJSON *
fx_classify_start(long status, const char *body, size_t len,
                  const struct fx_headers *h, double now,
                  const char *const *reset, struct fx_error *err)
{
    err->status = status;
    err->retry_after = fx_retry_after(h, reset, now);
    err->cls = fx_class_from_status(status);
    if (err->cls == FLEXIAI_E_NONE) /* 2xx with an error body */
        err->cls = FLEXIAI_E_STREAM_ERROR;
    if (status >= 300 && status < 400) {
        /* not followed: name where it points, control bytes shown as ? */
        char where[160];
        const char *loc = fx_headers_get(h, "location");
        clean_message(where, sizeof where, loc ? loc : "nowhere",
                      loc ? strlen(loc) : 7);
        for (char *c = where; *c; c++)
            if ((unsigned char)*c < 0x20 || *c == 0x7f)
                *c = '?';
        fx_error_set(err, err->cls,
                     "HTTP %ld redirect to %s (redirects are not followed: "
                     "check base_url)",
                     status, where);
        return NULL;
    }

    size_t blank = 0;
    while (body && blank < len && isspace((unsigned char)body[blank]))
        blank++;
    if (body == NULL || blank == len) {
        fx_error_set(err, err->cls, "HTTP %ld (empty body)", status);
        return NULL;
    }
    cJSON *root = fx_json_parse(body, len);
    if (root == NULL) {
        fx_error_set(err, err->cls, "HTTP %ld (non-JSON body)", status);
        return NULL;
    }
    return root;
}

/* ---- the schema a call carries ------------------------------------------ */

cJSON *
fx_call_schema_json(const struct fx_call *call)
{
    return call->schema ? cJSON_Parse(call->schema->text) : NULL;
}

int
fx_call_schema_mode(const struct fx_call *call)
{
    return call->schema ? call->prov->schema_mode : -1;
}

char *
fx_call_schema_instruction(const struct fx_call *call)
{
    int mode = fx_call_schema_mode(call);
    if (mode != FX_SCHEMA_JSON && mode != FX_SCHEMA_PROMPT)
        return NULL;
    return fx_schema_instruction(call->schema);
}

/* ---- requests and streams ---------------------------------------------- */

/* Overwrite a secret before freeing; volatile so the stores stay. */
static void
wipe(char *s)
{
    volatile char *p = s;
    while (*p)
        *p++ = '\0';
}

void
fx_http_req_free(struct fx_http_req *r)
{
    if (r == NULL)
        return;
    free(r->url);
    for (size_t i = 0; r->headers && r->headers[i]; i++) {
        /* Header lines may hold a key: wipe before freeing. */
        wipe(r->headers[i]);
        free(r->headers[i]);
    }
    free(r->headers);
    free(r->body);
    free(r->warning);
    r->warning = NULL;
    r->url = NULL;
    r->headers = NULL;
    r->body = NULL;
}

void
fx_stream_text(struct fx_stream *st, const char *s, size_t n)
{
    if (n == 0)
        return;
    fxu_buf_append(&st->resp->text, s, n);
    if (st->on_text == NULL)
        return;
    st->emitted += n;
    if (st->on_text(st->ud, s, n) != 0)
        st->stop_requested = 1;
}
