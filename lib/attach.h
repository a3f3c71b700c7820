/*
 * attach.h - attachments inside the library: what an attachment is (its
 * type, its kind), a placeholder for its bytes in a request body and the
 * splice that puts them there (the file read once, base64 written straight
 * into the body), and URLs fetched with libcurl where a provider takes no
 * URL.  Not installed.
 */
#ifndef FX_ATTACH_H
#define FX_ATTACH_H

#include "flexiai.h"
#include "fxu.h"

#include <stddef.h>

/* What a model may take: bits, and "text, image, pdf" for messages. */
enum { FX_KIND_TEXT = 1, FX_KIND_IMAGE = 2, FX_KIND_PDF = 4, FX_KIND_ALL = 7 };

/* The kind of a MIME type (image/png.., application/pdf, text/...), 0 for
 * one flexiai does not send. */
int fx_attach_kind(const char *mime);
/* "text", "image", "pdf" joined with ", " for the bits of kinds; static
 * storage for each of the 8 values. */
const char *fx_attach_kind_names(unsigned kinds);
/* "text, image" -> bits; -1 with *bad pointing at an unknown word
 * (a copy the caller frees). */
int fx_attach_parse_kinds(const char *list, char **bad);
/* The type of a: a->mime when set, else from its content (a file, bytes)
 * or its name (a URL).  0 with mime filled, -1 with *err. */
int fx_attach_mime(const flexiai_attachment *a, char *mime, size_t size,
                   char **err);
/* The type of bytes, as libmagic says it ("application/octet-stream" when
 * it cannot tell; attach-magic.c loads libmagic at the first call).  0
 * with mime filled, -1 with *err. */
int fx_attach_magic(const void *data, size_t len, char *mime, size_t size,
                    char **err);
/* The kinds a conversation's user turns carry. */
unsigned fx_attach_needs(const flexiai_message *msgs, size_t n);
/* The name a model sees: a->name, else the path's or URL's base name. */
const char *fx_attach_name(const flexiai_attachment *a);

/* What a (the ledger keeps): type, size and SHA-256 of its bytes, read
 * once more and not kept, with no limit applied (a URL: size -1, sha256
 * "").  0, or -1 when it cannot be read. */
int fx_attach_describe(const flexiai_attachment *a,
                       flexiai_attachment_info *info);

/* A placeholder string for the bytes of message `mi`'s attachment `ai`:
 * put it where they go inside a JSON string; kind 'b' splices them as
 * base64, 't' as JSON-escaped text.  Caller frees. */
char *fx_attach_placeholder(size_t mi, size_t ai, char kind);
/* Replace every placeholder in *body by its attachment's bytes: the new
 * body is allocated once at its final size.  0, or -1 with *err. */
int fx_attach_splice(char **body, const flexiai_message *msgs, size_t n,
                     char **err);

/* GET an http(s) URL into out: at most max bytes, 3 redirects, a 60 s
 * timeout; *mime (may be NULL) gets the Content-Type.  0, or -1 with
 * *err. */
int fx_attach_fetch(const char *url, long long max, fxu_buf *out, char **mime,
                    char **err);
/* The most a fetched URL may hold: [defaults] max_attachment_bytes'
 * default. */
long long fx_attach_fetch_max(void);

#endif
