/*
 * test-attach.c - attachments on every provider's wire, as the request
 * bytes say: an image, a PDF and a text file on Chat Completions,
 * Responses, Anthropic and Gemini (shapes from PROTOCOLS.md "2026 APIs");
 * the splice that writes a file's base64 into the body (from bytes and
 * from a file read in pieces: the same text); a user's text that looks
 * like a placeholder left alone; capabilities per model family and
 * [provider.*] accepts; the providers' own size limits; a file hashed
 * once per process unless it changed.
 */
#include "config.h"

#include "attach.h"
#include "providers/provider-common.h"
#include "tap.h"
#include "wire-harness.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char png[] = "\x89PNG\r\n\x1a\n"; /* base64 iVBORw0KGgo= */
static const char pdf[] = "%PDF-1.4";          /* base64 JVBERi0xLjQ= */
static const char txt[] = "a \"q\"\n";

static flexiai_attachment atts[3];
static flexiai_message msgs[1];

static void
setup(void)
{
    memset(atts, 0, sizeof atts);
    atts[0].data = png;
    atts[0].len = 8;
    atts[0].mime = "image/png";
    atts[0].name = "s.png";
    atts[1].data = pdf;
    atts[1].len = 8;
    atts[1].mime = "application/pdf";
    atts[1].name = "d.pdf";
    atts[2].data = txt;
    atts[2].len = strlen(txt);
    atts[2].mime = "text/plain";
    atts[2].name = "n.txt";
    memset(msgs, 0, sizeof msgs);
    msgs[0].role = "user";
    msgs[0].content = "Q";
    msgs[0].attachments = atts;
    msgs[0].nattachments = 3;
}

/* The body of `type`'s request for msgs, spliced; the member at `path`
 * (a.b.c, numbers index arrays) as compact JSON.  Caller frees. */
static char *
built(const char *type, const char *api, const char *path)
{
    struct fx_provider p = wire_provider(type, "m");
    struct fx_params pp = wire_params();
    struct fx_call call = wire_call("k", &p, msgs, 1, &pp);
    struct fx_http_req req;
    char *err = NULL;
    memset(&req, 0, sizeof req);
    if (api)
        p.ops = &fx_provider_openai_responses;
    if (p.ops->build_request(&call, &req, &err) != 0 ||
        fx_attach_splice(&req.body, msgs, 1, &err) != 0) {
        printf("# %s\n", err ? err : "?");
        free(err);
        fx_http_req_free(&req);
        return NULL;
    }
    cJSON *root = cJSON_Parse(req.body);
    cJSON *at = root;
    char *copy = fxu_strdup(path), *save = NULL;
    for (char *k = strtok_r(copy, ".", &save); k && at;
         k = strtok_r(NULL, ".", &save))
        at = (*k >= '0' && *k <= '9') ? cJSON_GetArrayItem(at, atoi(k))
                                      : cJSON_GetObjectItem(at, k);
    char *s = at ? cJSON_PrintUnformatted(at) : NULL;
    free(copy);
    cJSON_Delete(root);
    fx_http_req_free(&req);
    return s;
}

static void
check(const char *type, const char *api, const char *path, const char *want,
      const char *what)
{
    char *got = built(type, api, path);
    is_str(got, want, "%s", what);
    free(got);
}

static void
wires(void)
{
    setup();
    check("openai", NULL, "messages.0.content",
          "[{\"type\":\"text\",\"text\":\"Q\"},"
          "{\"type\":\"image_url\",\"image_url\":{\"url\":\"data:image/png;"
          "base64,iVBORw0KGgo=\"}},"
          "{\"type\":\"file\",\"file\":{\"filename\":\"d.pdf\",\"file_data\":"
          "\"data:application/pdf;base64,JVBERi0xLjQ=\"}},"
          "{\"type\":\"text\",\"text\":\"File: n.txt\\n\\na \\\"q\\\"\\n\"}]",
          "Chat Completions: text, image_url, file and text parts");
    check("openai", "responses", "input.0.content",
          "[{\"type\":\"input_text\",\"text\":\"Q\"},"
          "{\"type\":\"input_image\",\"image_url\":\"data:image/png;base64,"
          "iVBORw0KGgo=\",\"detail\":\"auto\"},"
          "{\"type\":\"input_file\",\"filename\":\"d.pdf\",\"file_data\":"
          "\"data:application/pdf;base64,JVBERi0xLjQ=\"},"
          "{\"type\":\"input_text\",\"text\":\"File: n.txt\\n\\na "
          "\\\"q\\\"\\n\"}]",
          "Responses: input_text, input_image, input_file parts");
    check("anthropic", NULL, "messages.0.content",
          "[{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":"
          "\"image/png\",\"data\":\"iVBORw0KGgo=\"}},"
          "{\"type\":\"document\",\"source\":{\"type\":\"base64\","
          "\"media_type\":\"application/pdf\",\"data\":\"JVBERi0xLjQ=\"},"
          "\"title\":\"d.pdf\"},"
          "{\"type\":\"text\",\"text\":\"File: n.txt\\n\\na \\\"q\\\"\\n\"},"
          "{\"type\":\"text\",\"text\":\"Q\"}]",
          "Anthropic: image and document blocks, base64 sources, then text");
    check("gemini", NULL, "contents.0.parts",
          "[{\"inlineData\":{\"mimeType\":\"image/png\",\"data\":"
          "\"iVBORw0KGgo=\"}},"
          "{\"inlineData\":{\"mimeType\":\"application/pdf\",\"data\":"
          "\"JVBERi0xLjQ=\"}},"
          "{\"text\":\"File: n.txt\\n\\na \\\"q\\\"\\n\"},{\"text\":\"Q\"}]",
          "Gemini: inlineData parts, then text");

    /* a URL where the API takes one */
    atts[0].data = NULL;
    atts[0].len = 0;
    atts[0].url = "https://example.invalid/s.png";
    msgs[0].nattachments = 1;
    check("anthropic", NULL, "messages.0.content.0.source",
          "{\"type\":\"url\",\"url\":\"https://example.invalid/s.png\"}",
          "Anthropic: a URL source for an image URL");
    check("openai", NULL, "messages.0.content.1.image_url",
          "{\"url\":\"https://example.invalid/s.png\"}",
          "Chat Completions: an image URL passed on");
}

/* A file read in pieces gives the same base64 as its bytes. */
static void
splice_file(void)
{
    char path[] = "/tmp/test-attach-XXXXXX";
    int fd = mkstemp(path);
    size_t n = 3 * 16384 * 2 + 7; /* two whole pieces and a tail */
    unsigned char *bytes = fxu_xmalloc(n);
    for (size_t i = 0; i < n; i++)
        bytes[i] = (unsigned char)(i * 7 + 3);
    ok(fd >= 0 && fxu_write_all(fd, bytes, n) == 0, "a test file written");
    close(fd);
    flexiai_attachment a[2];
    memset(a, 0, sizeof a);
    a[0].path = path;
    a[0].mime = "image/png";
    a[1].data = bytes;
    a[1].len = n;
    a[1].mime = "image/png";
    flexiai_message m = {
        .role = "user", .content = "x", .attachments = a, .nattachments = 2};
    char *p0 = fx_attach_placeholder(0, 0, 'b');
    char *p1 = fx_attach_placeholder(0, 1, 'b');
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "file", p0);
    cJSON_AddStringToObject(o, "bytes", p1);
    /* a user's text that imitates a placeholder (no nonce) stays */
    cJSON_AddStringToObject(o, "user",
                            "\x01"
                            "fxatt:0:0:b:0000000000000000\x01");
    char *body = cJSON_PrintUnformatted(o);
    char *err = NULL;
    is_int(fx_attach_splice(&body, &m, 1, &err), 0, "spliced");
    cJSON *back = cJSON_Parse(body);
    const char *f = cJSON_GetStringValue(cJSON_GetObjectItem(back, "file"));
    const char *b = cJSON_GetStringValue(cJSON_GetObjectItem(back, "bytes"));
    ok(f && b && strcmp(f, b) == 0 && strlen(f) == (n + 2) / 3 * 4,
       "a file read in pieces: the base64 of its bytes (%zu characters)",
       f ? strlen(f) : 0);
    is_str(cJSON_GetStringValue(cJSON_GetObjectItem(back, "user")),
           "\x01"
           "fxatt:0:0:b:0000000000000000\x01",
           "a look-alike in the user's text is left alone");
    unlink(path);
    is_int(fx_attach_splice(&body, &m, 1, &err), 0,
           "nothing left to splice: unchanged");
    char *again = fxu_strdup(body);
    free(body);
    body = cJSON_PrintUnformatted(o);
    ok(fx_attach_splice(&body, &m, 1, &err) == -1 && err &&
           strstr(err, "cannot read"),
       "a file gone when sent: an error naming it (%s)", err ? err : "");
    free(err);
    free(again);
    free(body);
    cJSON_Delete(back);
    cJSON_Delete(o);
    free(p0);
    free(p1);
    free(bytes);
}

static void
capabilities(void)
{
    is_int((int)fx_accepts_openai("gpt-3.5-turbo"), FX_KIND_TEXT,
           "gpt-3.5-turbo: text only");
    is_int((int)fx_accepts_openai("gpt-4o-mini"), FX_KIND_ALL,
           "gpt-4o-mini: images and PDFs");
    is_int((int)fx_accepts_anthropic("claude-3-haiku-20240307"),
           FX_KIND_TEXT | FX_KIND_IMAGE, "claude-3-haiku: no PDF");
    is_int((int)fx_accepts_gemini("gemini-1.0-pro"), FX_KIND_TEXT,
           "gemini-1.0-pro: text only");
    is_int(fx_attach_parse_kinds("text, pdf", NULL), FX_KIND_TEXT | FX_KIND_PDF,
           "accepts = text, pdf");
    char *bad = NULL;
    ok(fx_attach_parse_kinds("text, video", &bad) == -1 && bad &&
           strcmp(bad, "video") == 0,
       "an unknown kind is named");
    free(bad);
    is_int(fx_attach_kind("image/webp"), FX_KIND_IMAGE, "webp is an image");
    is_int(fx_attach_kind("application/json"), FX_KIND_TEXT, "JSON is text");
    is_int(fx_attach_kind("application/zip"), 0, "zip is not sent");

    flexiai_config *cfg = flexiai_config_new();
    flexiai_config_set(cfg, "provider.old", "type", "openai");
    flexiai_config_set(cfg, "provider.old", "model", "gpt-4o");
    flexiai_config_set(cfg, "provider.old", "accepts", "text");
    struct fx_provider p = wire_provider("openai", "gpt-4o");
    p.name = "old";
    setup();
    char *why = NULL;
    ok(fx_attach_refused(cfg, &p, "gpt-4o", msgs, 1, &why) == 1 && why &&
           strcmp(why, "gpt-4o takes text, not image, pdf (accepts)") == 0,
       "accepts = text refuses an image and a PDF: %s", why ? why : "");
    free(why);
    why = NULL;
    msgs[0].attachments = &atts[2];
    msgs[0].nattachments = 1;
    ok(fx_attach_refused(cfg, &p, "gpt-4o", msgs, 1, &why) == 0,
       "a text file goes anywhere");
    free(why);
    flexiai_config_free(cfg);
}

/* The providers' own limits (PROTOCOLS.md): sizes only, so bytes whose
 * length is set large are never read. */
static void
provider_limits(void)
{
    flexiai_config *cfg = flexiai_config_new();
    struct fx_provider an = wire_provider("anthropic", "claude-x");
    struct fx_provider ge = wire_provider("gemini", "gemini-x");
    struct fx_provider oa = wire_provider("openai", "gpt-4o");
    struct fx_provider vx = wire_provider("vertex", "gemini-x");
    setup();
    char *why = NULL;
    /* 24 000 000 bytes are 32 000 000 as base64: just at Anthropic's 32 MB */
    atts[0].len = 24000000;
    msgs[0].attachments = &atts[0];
    msgs[0].nattachments = 1;
    ok(fx_attach_refused(cfg, &an, "claude-x", msgs, 1, &why) == 0,
       "anthropic: an image of 24 MB (32 MB as base64) is at the limit");
    atts[0].len = 24000001;
    ok(fx_attach_refused(cfg, &an, "claude-x", msgs, 1, &why) == 1 && why &&
           strcmp(why, "s.png is 24.0 MB (32.0 MB in the request, as "
                       "base64), anthropic takes a request of at most 32 "
                       "MB") == 0,
       "anthropic: one byte more is over its request limit: %s",
       why ? why : "");
    free(why);
    why = NULL;
    ok(fx_attach_refused(cfg, &oa, "gpt-4o", msgs, 1, &why) == 0 &&
           fx_attach_refused(cfg, &ge, "gemini-x", msgs, 1, &why) == 0,
       "openai and gemini document no such limit for an image");
    /* two files together over it, each under it */
    atts[0].len = 15000000;
    atts[1].len = 15000000;
    msgs[0].attachments = atts;
    msgs[0].nattachments = 2;
    ok(fx_attach_refused(cfg, &an, "claude-x", msgs, 1, &why) == 1 && why &&
           strstr(why, "the files come to 40.0 MB in the request") != NULL,
       "anthropic: the request's files count together: %s", why ? why : "");
    free(why);
    why = NULL;
    /* a URL goes as a URL: nothing of it in the request */
    flexiai_attachment url = {.url = "https://example.com/big.pdf"};
    msgs[0].attachments = &url;
    msgs[0].nattachments = 1;
    ok(fx_attach_refused(cfg, &an, "claude-x", msgs, 1, &why) == 0,
       "a URL adds nothing to the request's size");
    /* Gemini: a PDF of at most 50 MB inline */
    atts[1].len = 50000000;
    msgs[0].attachments = &atts[1];
    ok(fx_attach_refused(cfg, &ge, "gemini-x", msgs, 1, &why) == 0,
       "gemini: a PDF of 50 MB goes inline");
    atts[1].len = 51000000;
    ok(fx_attach_refused(cfg, &ge, "gemini-x", msgs, 1, &why) == 1 && why &&
           strcmp(why, "d.pdf is 51.0 MB, gemini takes a PDF of at most 50 "
                       "MB inline") == 0,
       "gemini: a PDF of 51 MB is over its inline limit: %s", why ? why : "");
    free(why);
    why = NULL;
    ok(fx_attach_refused(cfg, &vx, "gemini-x", msgs, 1, &why) == 0 &&
           fx_attach_refused(cfg, &oa, "gpt-4o", msgs, 1, &why) == 0,
       "vertex and openai: no documented limit, none applied");
    /* a file's size comes from the file (a sparse one: nothing written) */
    char path[] = "/tmp/test-attach-XXXXXX";
    int fd = mkstemp(path);
    ok(fd >= 0 && write(fd, pdf, 8) == 8 && ftruncate(fd, 51000000) == 0,
       "a sparse PDF of 51 MB");
    close(fd);
    flexiai_attachment file = {.path = path, .mime = "application/pdf"};
    msgs[0].attachments = &file;
    ok(fx_attach_refused(cfg, &ge, "gemini-x", msgs, 1, &why) == 1 && why &&
           strstr(why, " is 51.0 MB, gemini takes a PDF") != NULL,
       "gemini: a file's size is its own: %s", why ? why : "");
    free(why);
    why = NULL;
    /* a type it cannot take is said first */
    flexiai_config_set(cfg, "provider.gemini", "accepts", "text");
    ok(fx_attach_refused(cfg, &ge, "gemini-x", msgs, 1, &why) == 1 && why &&
           strstr(why, "not pdf") != NULL,
       "a refused type is the reason before a size: %s", why ? why : "");
    free(why);
    why = NULL;
    /* [provider.NAME] max_attachment_bytes replaces its type's limits */
    flexiai_config_set(cfg, "provider.anthropic", "max_attachment_bytes",
                       "100000000");
    atts[0].len = 30000000; /* 40 MB as base64 */
    msgs[0].attachments = &atts[0];
    ok(fx_attach_refused(cfg, &an, "claude-x", msgs, 1, &why) == 0,
       "anthropic with max_attachment_bytes = 100000000 takes 30 MB");
    flexiai_config_set(cfg, "provider.openai", "max_attachment_bytes", "1000");
    atts[0].len = 1001;
    ok(fx_attach_refused(cfg, &oa, "gpt-4o", msgs, 1, &why) == 1 && why &&
           strcmp(why, "s.png is 1001 bytes, openai takes a file of at "
                       "most 1000 bytes (max_attachment_bytes)") == 0,
       "a provider's own max_attachment_bytes: %s", why ? why : "");
    free(why);
    unlink(path);
    flexiai_config_free(cfg);
}

/* A file described twice is read once; changed, it is read again. */
static void
describe_memo(void)
{
    char path[] = "/tmp/test-attach-memo-XXXXXX";
    int fd = mkstemp(path);
    ok(fd >= 0 && write(fd, "aaaa", 4) == 4, "a file");
    flexiai_attachment a = {.path = path, .mime = "text/plain"};
    flexiai_attachment_info one, two, three;
    ok(fx_attach_describe(&a, &one) == 0 && fx_attach_describe(&a, &two) == 0 &&
           strcmp(one.sha256, two.sha256) == 0 && two.size == 4,
       "described twice: the same SHA-256");
    /* the same size, other bytes, another modification time (set, so
     * that a file system's coarse clock cannot hide the change) */
    struct timespec times[2] = {{0, UTIME_OMIT}, {1000000000, 0}};
    ok(pwrite(fd, "bbbb", 4, 0) == 4 && futimens(fd, times) == 0,
       "rewritten in place");
    close(fd);
    ok(fx_attach_describe(&a, &three) == 0 &&
           strcmp(three.sha256, one.sha256) != 0 &&
           strcmp(three.sha256, "81cc5b17018674b401b42f35ba07bb79e211239c23bffe"
                                "658da1577e3e646877") == 0,
       "changed, it is read again: %s", three.sha256);
    unlink(path);
}

int
main(void)
{
    (void)wire_check; /* the harness's fixture check: not needed here */
    wires();
    splice_file();
    capabilities();
    provider_limits();
    describe_memo();
    return tap_done();
}
