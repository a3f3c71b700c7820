/*
 * mockllm-attach.c - attachments as the real APIs take them, checked and
 * recorded.  Shapes (PROTOCOLS.md "2026 APIs", from the official SDK
 * types): Chat Completions `image_url {url}` and `file {filename,
 * file_data}` parts; Responses `input_image {image_url}` and `input_file
 * {filename, file_data | file_url}`; Anthropic `image` and `document`
 * blocks with a `base64 {media_type, data}` or `url {url}` source; Gemini
 * `inlineData {mimeType, data}` parts.  A wrong shape gets a 400 as the
 * real API would; what arrived is recorded (the part, its type, its size
 * and SHA-256 after base64 decoding) for the tests to read.
 */
#include "mockllm-attach.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_RECORDS 256

struct record {
    char route[64];
    char part[24];
    char mime[64];
    long bytes;
    char sha256[65];
    char url[256];
    char name[128];
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct record records[MAX_RECORDS];
static size_t nrecords;

void
mock_attach_reset(void)
{
    pthread_mutex_lock(&lock);
    nrecords = 0;
    pthread_mutex_unlock(&lock);
}

cJSON *
mock_attach_log(const char *route)
{
    cJSON *a = cJSON_CreateArray();
    pthread_mutex_lock(&lock);
    for (size_t i = 0; i < nrecords; i++) {
        const struct record *r = &records[i];
        if (strcmp(r->route, route) != 0)
            continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "part", r->part);
        cJSON_AddStringToObject(o, "mime", r->mime);
        cJSON_AddNumberToObject(o, "bytes", (double)r->bytes);
        cJSON_AddStringToObject(o, "sha256", r->sha256);
        cJSON_AddStringToObject(o, "url", r->url);
        cJSON_AddStringToObject(o, "name", r->name);
        cJSON_AddItemToArray(a, o);
    }
    pthread_mutex_unlock(&lock);
    return a;
}

/* ---- decoding ---------------------------------------------------------- */

static int
b64val(int c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

/* Standard base64 with padding, as the APIs want it: the byte count and
 * the SHA-256 of the bytes, or -1. */
static long
b64_digest(const char *s, char sha[65])
{
    size_t n = strlen(s);
    if (n == 0 || n % 4 != 0)
        return -1;
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    long bytes = 0;
    for (size_t i = 0; i < n; i += 4) {
        int v[4], pad = 0;
        for (int k = 0; k < 4; k++) {
            if (s[i + k] == '=' && i + 4 == n && k >= 2) {
                v[k] = 0;
                pad++;
            } else if (pad || (v[k] = b64val((unsigned char)s[i + k])) < 0) {
                EVP_MD_CTX_free(ctx);
                return -1;
            }
        }
        unsigned char out[3] = {(unsigned char)(v[0] << 2 | v[1] >> 4),
                                (unsigned char)(v[1] << 4 | v[2] >> 2),
                                (unsigned char)(v[2] << 6 | v[3])};
        EVP_DigestUpdate(ctx, out, (size_t)(3 - pad));
        bytes += 3 - pad;
    }
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned mdlen = 0;
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    EVP_MD_CTX_free(ctx);
    for (unsigned i = 0; i < mdlen; i++)
        snprintf(sha + 2 * i, 3, "%02x", md[i]);
    return bytes;
}

struct take {
    const char *route;
    const struct mock_attach_script *sc;
    char *msg;
    size_t cap;
};

static int fail(struct take *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
fail(struct take *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(t->msg, t->cap, fmt, ap);
    va_end(ap);
    return -1;
}

static const char *
str(const cJSON *o, const char *name)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(o, name);
    return cJSON_IsString(x) ? x->valuestring : NULL;
}

static int
is_image_type(const char *m)
{
    return m && (!strcmp(m, "image/png") || !strcmp(m, "image/jpeg") ||
                 !strcmp(m, "image/gif") || !strcmp(m, "image/webp"));
}

/* One attachment arrived: refused by the script, or recorded. */
static int
record(struct take *t, const char *part, const char *mime, const char *b64,
       const char *url, const char *name)
{
    int image = is_image_type(mime) || (mime == NULL && strstr(part, "image"));
    if (image && t->sc && t->sc->no_images)
        return fail(t, "this model does not take images (%s%s)", part, "");
    if (!image && t->sc && t->sc->no_pdf)
        return fail(t, "this model does not take documents (%s%s)", part, "");
    struct record r;
    memset(&r, 0, sizeof(r));
    snprintf(r.route, sizeof(r.route), "%s", t->route);
    snprintf(r.part, sizeof(r.part), "%s", part);
    snprintf(r.mime, sizeof(r.mime), "%s", mime ? mime : "");
    snprintf(r.url, sizeof(r.url), "%s", url ? url : "");
    snprintf(r.name, sizeof(r.name), "%s", name ? name : "");
    r.bytes = -1;
    if (b64) {
        r.bytes = b64_digest(b64, r.sha256);
        if (r.bytes < 0)
            return fail(t, "%s: the data is not valid base64%s", part, "");
    }
    pthread_mutex_lock(&lock);
    if (nrecords < MAX_RECORDS)
        records[nrecords++] = r;
    pthread_mutex_unlock(&lock);
    return 0;
}

/* "data:MIME;base64,DATA": MIME into mime, a pointer to DATA; NULL when
 * the string is no such URL. */
static const char *
data_url(const char *u, char *mime, size_t cap)
{
    if (u == NULL || strncmp(u, "data:", 5) != 0)
        return NULL;
    const char *semi = strstr(u, ";base64,");
    if (semi == NULL || (size_t)(semi - u - 5) >= cap)
        return NULL;
    memcpy(mime, u + 5, (size_t)(semi - u - 5));
    mime[semi - u - 5] = '\0';
    return semi + 8;
}

static int
is_http(const char *u)
{
    return u && (!strncmp(u, "http://", 7) || !strncmp(u, "https://", 8));
}

/* An image URL field (Chat Completions image_url.url, Responses
 * input_image.image_url). */
static int
image_url(struct take *t, const char *part, const char *u)
{
    char mime[64];
    const char *d = data_url(u, mime, sizeof(mime));
    if (d) {
        if (!is_image_type(mime))
            return fail(t, "%s: unsupported image type %s", part, mime);
        return record(t, part, mime, d, NULL, NULL);
    }
    if (is_http(u))
        return record(t, part, NULL, NULL, u, NULL);
    return fail(t, "%s: expected a data: URL or an http(s) URL%s", part, "");
}

/* A PDF in file_data. */
static int
file_data(struct take *t, const char *part, const char *fd, const char *name)
{
    char mime[64];
    const char *d = data_url(fd, mime, sizeof(mime));
    if (d == NULL)
        return fail(t, "%s.file_data: expected a data: URL%s", part, "");
    if (strcmp(mime, "application/pdf") != 0)
        return fail(t, "%s: file type %s is not supported (PDF only)", part,
                    mime);
    return record(t, part, mime, d, NULL, name);
}

/* ---- per wire --------------------------------------------------------- */

/* Chat Completions: a part of a user message's content; 1 kept (text). */
static int
chat_part(struct take *t, const cJSON *p)
{
    const char *type = str(p, "type");
    if (type == NULL)
        return fail(t, "Missing required parameter: 'type'.%s%s", "", "");
    if (!strcmp(type, "text"))
        return str(p, "text")
                   ? 1
                   : fail(t, "text part: 'text' is required%s%s", "", "");
    if (!strcmp(type, "image_url")) {
        const cJSON *iu = cJSON_GetObjectItemCaseSensitive(p, "image_url");
        if (!cJSON_IsObject(iu))
            return fail(t, "image_url: expected an object {url, detail}%s%s",
                        "", "");
        return image_url(t, "image_url", str(iu, "url"));
    }
    if (!strcmp(type, "file")) {
        const cJSON *f = cJSON_GetObjectItemCaseSensitive(p, "file");
        if (!cJSON_IsObject(f) || !str(f, "file_data"))
            return fail(t, "file: expected {filename, file_data}%s%s", "", "");
        return file_data(t, "file", str(f, "file_data"), str(f, "filename"));
    }
    return fail(t,
                "Invalid value: '%.40s'. Supported values are: 'text', "
                "'image_url', 'input_audio', 'refusal', 'audio', and "
                "'file'.%s",
                type, "");
}

static int
responses_part(struct take *t, const cJSON *p)
{
    const char *type = str(p, "type");
    if (type && (!strcmp(type, "input_text") || !strcmp(type, "output_text")))
        return 1;
    if (type && !strcmp(type, "input_image"))
        return image_url(t, "input_image", str(p, "image_url"));
    if (type && !strcmp(type, "input_file")) {
        if (str(p, "file_url")) {
            if (!is_http(str(p, "file_url")))
                return fail(t, "input_file.file_url: not an http(s) URL%s%s",
                            "", "");
            return record(t, "input_file", "application/pdf", NULL,
                          str(p, "file_url"), NULL);
        }
        if (!str(p, "file_data") || !str(p, "filename"))
            return fail(t,
                        "input_file: expected filename with file_data, or "
                        "file_url%s%s",
                        "", "");
        return file_data(t, "input_file", str(p, "file_data"),
                         str(p, "filename"));
    }
    return fail(t, "Invalid content part type '%.40s'%s", type, "");
}

static int
anthropic_block(struct take *t, const cJSON *b, int assistant)
{
    const char *type = str(b, "type");
    if (type == NULL || (strcmp(type, "image") && strcmp(type, "document")))
        return 1; /* the text checks see it */
    if (assistant)
        return fail(t,
                    "messages: %s blocks are not allowed in assistant "
                    "messages%s",
                    type, "");
    const cJSON *src = cJSON_GetObjectItemCaseSensitive(b, "source");
    const char *st = str(src, "type");
    if (st && !strcmp(st, "url")) {
        if (!is_http(str(src, "url")))
            return fail(t, "%s.source.url: Field required%s", type, "");
        return record(t, type, NULL, NULL, str(src, "url"), str(b, "title"));
    }
    if (st == NULL || strcmp(st, "base64"))
        return fail(t,
                    "%s.source: Input tag '%.20s' does not match the expected "
                    "tags 'base64', 'url'",
                    type, st ? st : "");
    const char *mt = str(src, "media_type");
    if (!strcmp(type, "image") && !is_image_type(mt))
        return fail(t,
                    "image.source.base64.media_type: Input should be "
                    "'image/jpeg', 'image/png', 'image/gif' or "
                    "'image/webp'%s%s",
                    "", "");
    if (!strcmp(type, "document") &&
        (mt == NULL || strcmp(mt, "application/pdf")))
        return fail(t,
                    "document.source.base64.media_type: Input should be "
                    "'application/pdf'%s%s",
                    "", "");
    if (!str(src, "data"))
        return fail(t, "%s.source.base64.data: Field required%s", type, "");
    return record(t, type, mt, str(src, "data"), NULL, str(b, "title"));
}

static int
gemini_part(struct take *t, const cJSON *p)
{
    const cJSON *in = cJSON_GetObjectItemCaseSensitive(p, "inlineData");
    if (in == NULL)
        in = cJSON_GetObjectItemCaseSensitive(p, "inline_data");
    if (in == NULL)
        return cJSON_GetObjectItemCaseSensitive(p, "fileData") ||
                       cJSON_GetObjectItemCaseSensitive(p, "file_data")
                   ? fail(t,
                          "fileData: only files uploaded with the Files API "
                          "(mock)%s%s",
                          "", "")
                   : 1;
    const char *mt =
        str(in, "mimeType") ? str(in, "mimeType") : str(in, "mime_type");
    if (mt == NULL || str(in, "data") == NULL)
        return fail(t,
                    "* GenerateContentRequest.contents.parts.inline_data: "
                    "mime_type and data are required%s%s",
                    "", "");
    return record(t, "inlineData", mt, str(in, "data"), NULL, NULL);
}

/* A content array: parts checked, attachments removed. */
static int
take_array(struct take *t, cJSON *arr, enum mock_attach_wire wire,
           int assistant)
{
    cJSON *p = arr ? arr->child : NULL;
    while (p) {
        cJSON *next = p->next;
        int rc = wire == MOCK_ATTACH_CHAT        ? chat_part(t, p)
                 : wire == MOCK_ATTACH_RESPONSES ? responses_part(t, p)
                 : wire == MOCK_ATTACH_ANTHROPIC
                     ? anthropic_block(t, p, assistant)
                     : gemini_part(t, p);
        if (rc < 0)
            return -1;
        if (rc == 0)
            cJSON_Delete(cJSON_DetachItemViaPointer(arr, p));
        p = next;
    }
    return 0;
}

/* Chat Completions (and Responses): the kept text parts as one string,
 * as the text checks want it. */
static void
join_text(cJSON *m, const char *field)
{
    cJSON *c = cJSON_GetObjectItemCaseSensitive(m, field);
    if (!cJSON_IsArray(c))
        return;
    size_t len = 0;
    cJSON *p;
    cJSON_ArrayForEach(p, c)
    {
        if (str(p, "text"))
            len += strlen(str(p, "text")) + 1;
    }
    char *s = calloc(1, len + 1);
    if (s == NULL)
        return;
    cJSON_ArrayForEach(p, c)
    {
        if (!str(p, "text"))
            continue;
        if (*s)
            strcat(s, "\n");
        strcat(s, str(p, "text"));
    }
    cJSON_ReplaceItemInObjectCaseSensitive(m, field, cJSON_CreateString(s));
    free(s);
}

int
mock_attach_take(cJSON *body, enum mock_attach_wire wire, const char *route,
                 const struct mock_attach_script *sc, char *msg, size_t cap)
{
    struct take t = {route, sc, msg, cap};
    const char *list = wire == MOCK_ATTACH_RESPONSES ? "input"
                       : wire == MOCK_ATTACH_GEMINI  ? "contents"
                                                     : "messages";
    cJSON *arr = cJSON_GetObjectItemCaseSensitive(body, list);
    cJSON *m;
    if (!cJSON_IsArray(arr))
        return 0; /* the text checks say what is wrong */
    cJSON_ArrayForEach(m, arr)
    {
        const char *role = str(m, "role");
        int assistant =
            role && (!strcmp(role, "assistant") || !strcmp(role, "model"));
        const char *field = wire == MOCK_ATTACH_GEMINI ? "parts" : "content";
        cJSON *c = cJSON_GetObjectItemCaseSensitive(m, field);
        if (!cJSON_IsArray(c))
            continue;
        if (wire == MOCK_ATTACH_CHAT && role && strcmp(role, "user") != 0) {
            /* only user messages take parts other than text */
            cJSON *p;
            cJSON_ArrayForEach(p, c)
            {
                if (str(p, "type") && strcmp(str(p, "type"), "text"))
                    return fail(&t,
                                "Invalid value: '%.40s'. Supported values are: "
                                "'text'.%s",
                                str(p, "type"), "");
            }
        }
        if (take_array(&t, c, wire, assistant) != 0)
            return -1;
        if (wire == MOCK_ATTACH_CHAT) {
            join_text(m, field); /* c is gone */
            continue;
        }
        if (cJSON_GetArraySize(c) == 0 && wire == MOCK_ATTACH_GEMINI) {
            cJSON *empty = cJSON_CreateObject();
            cJSON_AddStringToObject(empty, "text", "");
            cJSON_AddItemToArray(c, empty);
        } else if (cJSON_GetArraySize(c) == 0)
            cJSON_ReplaceItemInObjectCaseSensitive(m, field,
                                                   cJSON_CreateString(""));
    }
    return 0;
}
