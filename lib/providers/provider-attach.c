/*
 * provider-attach.c - attachments on each provider's wire, and what each
 * model family takes.  The builders put a placeholder where a file's bytes
 * go (attach-splice.c fills it in after the body is printed), pass a URL
 * as a URL where the API takes one, and send text files as text with
 * their name.  Shapes (PROTOCOLS.md, "2026 APIs"): Chat Completions
 * image_url and file parts; Responses input_image and input_file; Anthropic
 * image and document blocks with base64 or url sources; Gemini inlineData
 * (a URL is fetched: fileData takes only uploaded files).  And what each
 * provider's own documented size limit leaves out (fx_attach_refused()).
 */
#include "attach.h"
#include "provider-common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* ---- what a model takes ------------------------------------------------ */

static int
starts(const char *s, const char *prefix)
{
    return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

/* OpenAI: the models before vision take text only; everything later (and
 * an unknown name on a compatible server) takes images and PDFs. */
unsigned
fx_accepts_openai(const char *model)
{
    static const char *const text_only[] = {"gpt-3.5", "o1-mini", "o3-mini",
                                            "davinci", "babbage", NULL};
    if (model == NULL)
        return FX_KIND_ALL;
    if (starts(model, "gpt-4") && !starts(model, "gpt-4o") &&
        !starts(model, "gpt-4.1") && !starts(model, "gpt-4-turbo") &&
        !starts(model, "gpt-4.5"))
        return FX_KIND_TEXT;
    for (size_t i = 0; text_only[i]; i++)
        if (starts(model, text_only[i]))
            return FX_KIND_TEXT;
    if (strstr(model, "instruct"))
        return FX_KIND_TEXT;
    return FX_KIND_ALL;
}

/* Anthropic: Claude 2 and Instant read text; Claude 3 images; PDFs from
 * 3.5 Sonnet on. */
unsigned
fx_accepts_anthropic(const char *model)
{
    if (model == NULL)
        return FX_KIND_ALL;
    if (starts(model, "claude-2") || starts(model, "claude-instant"))
        return FX_KIND_TEXT;
    if (starts(model, "claude-3-opus") || starts(model, "claude-3-sonnet") ||
        starts(model, "claude-3-haiku"))
        return FX_KIND_TEXT | FX_KIND_IMAGE;
    return FX_KIND_ALL;
}

/* Gemini: 1.0 Pro reads text; every later model images and PDFs. */
unsigned
fx_accepts_gemini(const char *model)
{
    if (model == NULL)
        return FX_KIND_ALL;
    const char *m = starts(model, "models/") ? model + 7 : model;
    if (starts(m, "gemini-1.0-pro") || strcmp(m, "gemini-pro") == 0)
        return FX_KIND_TEXT;
    return FX_KIND_ALL;
}

/* ---- the providers' own size limits --------------------------------------
 * Only what PROTOCOLS.md ("2026 APIs") documents, in its megabytes (taken
 * as 1 000 000 bytes: the lower reading): Anthropic Messages, a request of
 * at most 32 MB, where an image or a PDF goes as base64 (4/3 of its size);
 * Gemini generateContent, an inline PDF of at most 50 MB.  OpenAI (Chat
 * Completions, Responses) and Vertex AI document none here: none applied.
 * A URL passed on as a URL adds nothing; one flexiai fetches is not known
 * before it is fetched (max_attachment_bytes caps it). */

#define MB 1000000LL
#define ANTHROPIC_REQUEST_MAX (32 * MB)
#define GEMINI_INLINE_PDF_MAX (50 * MB)

static int user_turn(const flexiai_message *m);

/* a's size in bytes: a file's, bytes' length; -1 for a URL. */
static long long
size_of(const flexiai_attachment *a)
{
    struct stat st;
    if (a->url)
        return -1;
    if (a->data)
        return (long long)a->len;
    if (a->path && stat(a->path, &st) == 0)
        return (long long)st.st_size;
    return -1;
}

static long long
base64_size(long long n)
{
    return (n + 2) / 3 * 4;
}

/* "25.0 MB", "1001 bytes" */
static void
mb_words(long long n, char *out, size_t size)
{
    if (n < MB)
        snprintf(out, size, "%lld bytes", n);
    else
        snprintf(out, size, "%.1f MB", (double)n / (double)MB);
}

/* [provider.NAME] max_attachment_bytes: the largest file it takes, in
 * place of its type's documented limits.  -1 when unset. */
static long long
own_limit(const flexiai_config *cfg, const struct fx_provider *p)
{
    if (cfg == NULL || p == NULL || p->name == NULL)
        return -1;
    char *section = fxu_asprintf("provider.%s", p->name);
    const char *v = fx_config_value(cfg, section, "max_attachment_bytes");
    free(section);
    long long n = v ? atoll(v) : 0;
    return n > 0 ? n : -1;
}

/* The first file of msgs' user turns larger than max bytes, or NULL. */
static const flexiai_attachment *
file_over(const flexiai_message *msgs, size_t n, long long max, long long *size)
{
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; user_turn(&msgs[i]) && k < msgs[i].nattachments;
             k++) {
            *size = size_of(&msgs[i].attachments[k]);
            if (*size > max)
                return &msgs[i].attachments[k];
        }
    return NULL;
}

int
fx_attach_too_large(const flexiai_config *cfg, const struct fx_provider *p,
                    const flexiai_message *msgs, size_t n, char **why)
{
    long long own = own_limit(cfg, p), over = 0;
    if (own > 0) {
        const flexiai_attachment *a = file_over(msgs, n, own, &over);
        if (a == NULL)
            return 0;
        char have[32], lim[32];
        mb_words(over, have, sizeof(have));
        mb_words(own, lim, sizeof(lim));
        fx_set_err(why,
                   "%s is %s, %s takes a file of at most %s "
                   "(max_attachment_bytes)",
                   fx_attach_name(a), have, p->name, lim);
        return 1;
    }
    const char *type = p && p->ops && p->ops->type ? p->ops->type : "";
    int anthropic = strcmp(type, "anthropic") == 0;
    int gemini = strcmp(type, "gemini") == 0;
    if (!anthropic && !gemini)
        return 0;
    long long total = 0, most = 0, most_size = 0;
    const flexiai_attachment *largest = NULL;
    size_t count = 0;
    char have[32], wire[32];
    for (size_t i = 0; i < n; i++) {
        if (!user_turn(&msgs[i]))
            continue;
        for (size_t k = 0; k < msgs[i].nattachments; k++) {
            const flexiai_attachment *a = &msgs[i].attachments[k];
            long long size = size_of(a);
            char mime[96];
            char *err = NULL;
            int kind = fx_attach_mime(a, mime, sizeof(mime), &err) == 0
                           ? fx_attach_kind(mime)
                           : 0;
            free(err);
            if (size < 0 || kind == 0)
                continue;
            if (gemini && kind == FX_KIND_PDF && size > GEMINI_INLINE_PDF_MAX) {
                mb_words(size, have, sizeof(have));
                fx_set_err(why,
                           "%s is %s, gemini takes a PDF of at most 50 MB "
                           "inline",
                           fx_attach_name(a), have);
                return 1;
            }
            /* text goes in as text (its escapes aside), the rest base64 */
            long long bytes = kind == FX_KIND_TEXT ? size : base64_size(size);
            total += bytes;
            count++;
            if (bytes > most) {
                most = bytes;
                most_size = size;
                largest = a;
            }
        }
    }
    if (!anthropic || total <= ANTHROPIC_REQUEST_MAX || largest == NULL)
        return 0;
    mb_words(most_size, have, sizeof(have));
    mb_words(count == 1 ? most : total, wire, sizeof(wire));
    if (count == 1)
        fx_set_err(why,
                   "%s is %s (%s in the request, as base64), anthropic "
                   "takes a request of at most 32 MB",
                   fx_attach_name(largest), have, wire);
    else
        fx_set_err(why,
                   "the files come to %s in the request (as base64; %s is "
                   "%s), anthropic takes a request of at most 32 MB",
                   wire, fx_attach_name(largest), have);
    return 1;
}

int
fx_attach_refused(const flexiai_config *cfg, const struct fx_provider *p,
                  const char *model, const flexiai_message *msgs, size_t n,
                  char **why)
{
    unsigned need = 0;
    for (size_t i = 0; i < n; i++)
        for (size_t k = 0; k < msgs[i].nattachments; k++) {
            char mime[96];
            char *err = NULL;
            if (fx_attach_mime(&msgs[i].attachments[k], mime, sizeof(mime),
                               &err) != 0) {
                *why = err;
                return 1;
            }
            int kind = fx_attach_kind(mime);
            if (kind == 0) {
                fx_set_err(why, "type %s is not sent", mime);
                return 1;
            }
            need |= (unsigned)kind;
        }
    if (need == 0)
        return 0;
    char *section = fxu_asprintf("provider.%s", p->name);
    const char *list = fx_config_value(cfg, section, "accepts");
    free(section);
    int acc = -1;
    const char *from = "its model family";
    if (list) {
        acc = fx_attach_parse_kinds(list, NULL);
        from = "accepts";
    }
    if (acc < 0)
        acc = p->ops && p->ops->accepts ? (int)p->ops->accepts(model)
                                        : FX_KIND_TEXT;
    /* a text file is text: every model reads it */
    unsigned missing = need & ~((unsigned)acc | FX_KIND_TEXT);
    if (missing == 0) /* the types it takes: are they too large for it? */
        return fx_attach_too_large(cfg, p, msgs, n, why);
    fx_set_err(why, "%s takes %s, not %s (%s)", model ? model : p->name,
               fx_attach_kind_names((unsigned)acc | FX_KIND_TEXT),
               fx_attach_kind_names(missing), from);
    return 1;
}

/* ---- parts -------------------------------------------------------------- */

/* "data:MIME;base64,<placeholder>" */
static char *
data_url(const char *mime, size_t mi, size_t ai)
{
    char *ph = fx_attach_placeholder(mi, ai, 'b');
    char *s = fxu_asprintf("data:%s;base64,%s", mime, ph);
    free(ph);
    return s;
}

/* A text file's part text: its name, a blank line, its text. */
static char *
text_with_name(const flexiai_attachment *a, size_t mi, size_t ai)
{
    char *ph = fx_attach_placeholder(mi, ai, 't');
    char *s = fxu_asprintf("File: %s\n\n%s", fx_attach_name(a), ph);
    free(ph);
    return s;
}

/* The kind and type of attachment ai of message mi, 0 when it has none
 * that is sent (fx_attach_refused() said why before). */
static int
kind_of(const flexiai_attachment *a, char *mime, size_t size)
{
    char *err = NULL;
    if (fx_attach_mime(a, mime, size, &err) != 0) {
        free(err);
        return 0;
    }
    return fx_attach_kind(mime);
}

static int
user_turn(const flexiai_message *m)
{
    return m->nattachments > 0 &&
           (m->role == NULL || (strcmp(m->role, "assistant") != 0 &&
                                strcmp(m->role, "system") != 0));
}

/* m["content"] as an array whose first part is the text (type `ttype`). */
static cJSON *
content_array(cJSON *m, const char *field, const char *ttype)
{
    cJSON *c = cJSON_GetObjectItemCaseSensitive(m, field);
    if (cJSON_IsArray(c))
        return c;
    cJSON *arr = cJSON_CreateArray();
    if (cJSON_IsString(c) && *c->valuestring) {
        cJSON *t = cJSON_CreateObject();
        cJSON_AddStringToObject(t, "type", ttype);
        cJSON_AddStringToObject(t, "text", c->valuestring);
        cJSON_AddItemToArray(arr, t);
    }
    if (c)
        cJSON_ReplaceItemInObjectCaseSensitive(m, field, arr);
    else
        cJSON_AddItemToObject(m, field, arr);
    return arr;
}

static cJSON *
typed(const char *type)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "type", type);
    return o;
}

static void
add_owned(cJSON *o, const char *name, char *s)
{
    cJSON_AddStringToObject(o, name, s);
    free(s);
}

void
fx_attach_openai_chat(cJSON *m, const struct fx_call *call, size_t mi)
{
    const flexiai_message *msg = &call->messages[mi];
    if (!user_turn(msg))
        return;
    cJSON *parts = content_array(m, "content", "text");
    for (size_t ai = 0; ai < msg->nattachments; ai++) {
        const flexiai_attachment *a = &msg->attachments[ai];
        char mime[96];
        int kind = kind_of(a, mime, sizeof(mime));
        cJSON *p = NULL;
        if (kind == FX_KIND_IMAGE) {
            p = typed("image_url");
            cJSON *iu = cJSON_AddObjectToObject(p, "image_url");
            if (a->url)
                cJSON_AddStringToObject(iu, "url", a->url);
            else
                add_owned(iu, "url", data_url(mime, mi, ai));
        } else if (kind == FX_KIND_PDF) {
            /* no URL form: a URL is fetched */
            p = typed("file");
            cJSON *f = cJSON_AddObjectToObject(p, "file");
            cJSON_AddStringToObject(f, "filename", fx_attach_name(a));
            add_owned(f, "file_data", data_url(mime, mi, ai));
        } else if (kind == FX_KIND_TEXT) {
            p = typed("text");
            add_owned(p, "text", text_with_name(a, mi, ai));
        }
        if (p)
            cJSON_AddItemToArray(parts, p);
    }
}

void
fx_attach_responses(cJSON *item, const struct fx_call *call, size_t mi)
{
    const flexiai_message *msg = &call->messages[mi];
    if (!user_turn(msg))
        return;
    cJSON *parts = content_array(item, "content", "input_text");
    for (size_t ai = 0; ai < msg->nattachments; ai++) {
        const flexiai_attachment *a = &msg->attachments[ai];
        char mime[96];
        int kind = kind_of(a, mime, sizeof(mime));
        cJSON *p = NULL;
        if (kind == FX_KIND_IMAGE) {
            p = typed("input_image");
            if (a->url)
                cJSON_AddStringToObject(p, "image_url", a->url);
            else
                add_owned(p, "image_url", data_url(mime, mi, ai));
            cJSON_AddStringToObject(p, "detail", "auto");
        } else if (kind == FX_KIND_PDF) {
            p = typed("input_file");
            if (a->url) {
                cJSON_AddStringToObject(p, "file_url", a->url);
            } else {
                cJSON_AddStringToObject(p, "filename", fx_attach_name(a));
                add_owned(p, "file_data", data_url(mime, mi, ai));
            }
        } else if (kind == FX_KIND_TEXT) {
            p = typed("input_text");
            add_owned(p, "text", text_with_name(a, mi, ai));
        }
        if (p)
            cJSON_AddItemToArray(parts, p);
    }
}

/* The turn message mi went into under fx_convo_build()'s rules (system
 * messages apart, one role's consecutive messages merged, a "..." user
 * turn in front of a conversation the assistant starts). */
static long
turn_of(const struct fx_call *call, size_t mi)
{
    long t = -1;
    int last = -1, first = -1;
    for (size_t i = 0; i < call->nmessages && i <= mi; i++) {
        const char *role = call->messages[i].role;
        if (role && strcmp(role, "system") == 0)
            continue;
        int assistant = role && strcmp(role, "assistant") == 0;
        if (t < 0 || assistant != last) {
            t++;
            last = assistant;
            if (t == 0)
                first = assistant;
        }
    }
    /* a later assistant-first conversation shifts every turn by one */
    for (size_t i = 0; first < 0 && i < call->nmessages; i++) {
        const char *role = call->messages[i].role;
        if (role && strcmp(role, "system") == 0)
            continue;
        first = role && strcmp(role, "assistant") == 0;
    }
    return t + (first == 1);
}

/* front's items, then arr's, as arr (cJSON_InsertItemInArray loses items
 * in some cJSON versions). */
static void
prepend(cJSON *arr, cJSON *front)
{
    while (arr->child) {
        cJSON *x = cJSON_DetachItemViaPointer(arr, arr->child);
        cJSON_AddItemToArray(front, x);
    }
    while (front->child) {
        cJSON *x = cJSON_DetachItemViaPointer(front, front->child);
        cJSON_AddItemToArray(arr, x);
    }
    cJSON_Delete(front);
}

void
fx_attach_anthropic(cJSON *messages, const struct fx_call *call)
{
    for (size_t mi = 0; mi < call->nmessages; mi++) {
        const flexiai_message *msg = &call->messages[mi];
        if (!user_turn(msg))
            continue;
        cJSON *m = cJSON_GetArrayItem(messages, (int)turn_of(call, mi));
        if (m == NULL)
            continue;
        cJSON *blocks = content_array(m, "content", "text");
        /* files before the question, as Anthropic's examples have it */
        cJSON *front = cJSON_CreateArray();
        for (size_t ai = 0; ai < msg->nattachments; ai++) {
            const flexiai_attachment *a = &msg->attachments[ai];
            char mime[96];
            int kind = kind_of(a, mime, sizeof(mime));
            cJSON *b = NULL;
            if (kind == FX_KIND_IMAGE || kind == FX_KIND_PDF) {
                b = typed(kind == FX_KIND_IMAGE ? "image" : "document");
                cJSON *src = cJSON_AddObjectToObject(b, "source");
                if (a->url) {
                    cJSON_AddStringToObject(src, "type", "url");
                    cJSON_AddStringToObject(src, "url", a->url);
                } else {
                    cJSON_AddStringToObject(src, "type", "base64");
                    cJSON_AddStringToObject(src, "media_type", mime);
                    add_owned(src, "data", fx_attach_placeholder(mi, ai, 'b'));
                }
                if (kind == FX_KIND_PDF)
                    cJSON_AddStringToObject(b, "title", fx_attach_name(a));
            } else if (kind == FX_KIND_TEXT) {
                b = typed("text");
                add_owned(b, "text", text_with_name(a, mi, ai));
            }
            if (b)
                cJSON_AddItemToArray(front, b);
        }
        prepend(blocks, front);
    }
}

void
fx_attach_gemini(cJSON *contents, const struct fx_call *call)
{
    for (size_t mi = 0; mi < call->nmessages; mi++) {
        const flexiai_message *msg = &call->messages[mi];
        if (!user_turn(msg))
            continue;
        cJSON *m = cJSON_GetArrayItem(contents, (int)turn_of(call, mi));
        cJSON *parts = cJSON_GetObjectItemCaseSensitive(m, "parts");
        if (!cJSON_IsArray(parts))
            continue;
        cJSON *front = cJSON_CreateArray();
        for (size_t ai = 0; ai < msg->nattachments; ai++) {
            const flexiai_attachment *a = &msg->attachments[ai];
            char mime[96];
            int kind = kind_of(a, mime, sizeof(mime));
            cJSON *p = cJSON_CreateObject();
            if (kind == FX_KIND_IMAGE || kind == FX_KIND_PDF) {
                /* fileData takes uploaded files only: a URL is fetched */
                cJSON *in = cJSON_AddObjectToObject(p, "inlineData");
                cJSON_AddStringToObject(in, "mimeType", mime);
                add_owned(in, "data", fx_attach_placeholder(mi, ai, 'b'));
            } else if (kind == FX_KIND_TEXT) {
                add_owned(p, "text", text_with_name(a, mi, ai));
            } else {
                cJSON_Delete(p);
                continue;
            }
            cJSON_AddItemToArray(front, p);
        }
        prepend(parts, front);
    }
}
