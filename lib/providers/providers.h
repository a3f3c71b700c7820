/*
 * providers.h - what lib/providers/ offers the rest of the library: one
 * attempt as the engine asks for it (struct fx_call), the request it
 * becomes, a stream's parse state, and the table of provider types, each
 * described once by its struct fx_provider_ops.  Not installed.
 */
#ifndef FX_PROVIDERS_H
#define FX_PROVIDERS_H

#include "conf/conf.h"
#include "fx.h"

/* ---- providers ------------------------------------------------------ */

/* One attempt, as the failover engine asks for it. */
struct fx_call {
    const struct fx_provider *prov;
    const char *key; /* resolved secret, may be NULL for keyless servers */
    const char *model;
    const flexiai_message *messages;
    size_t nmessages;
    const struct fx_params *params;
    int stream;
    const struct flexiai_schema *schema; /* structured output, may be NULL */
    /* [defaults] max_tokens' built-in default, for an API that needs a
     * max_tokens when the settings leave it unset (Anthropic) */
    long default_max_tokens;
    int want_reasoning; /* flexiai_request.want_reasoning */
    /* flexiai_request.tools: the tools the model may call (NULL / 0) */
    const flexiai_tool *tools;
    size_t ntools;
};

struct fx_http_req {
    char *url;      /* never contains a secret */
    char **headers; /* NULL-terminated "Name: value" lines */
    char *body;
    /* Set by build_request when it left out something the user set (a
     * parameter the model refuses): one line for a once-per-process
     * warning; may be NULL. */
    char *warning;
};
void fx_http_req_free(struct fx_http_req *r);

/* Parse state of one streamed attempt. */
struct fx_stream {
    struct fx_response *resp;
    flexiai_text_fn on_text; /* may be NULL */
    void *ud;
    int done;            /* the provider's end-of-stream marker seen */
    int stop_requested;  /* on_text returned non-zero */
    size_t emitted;      /* bytes passed to on_text */
    struct fx_error err; /* set when parse_event returns -1 */
    int pstate;          /* provider private */
    size_t pmark;        /* provider private: where a block began */
};
/* Emit text to the response buffer and the callback. */
void fx_stream_text(struct fx_stream *st, const char *s, size_t n);

/*
 * The zero-config providers' models, in this one place: each provider's
 * current small model as of December 2026 (OpenAI's model page, Anthropic's
 * migration guide, Gemini's GA list; gpt-4o-mini retires 2027-01-14,
 * claude-3-5-haiku retired 2026-02-19, gemini-2.0-flash shut down
 * 2026-06-01).  flexiai.ini(5) names them with the date; check again
 * before a release.
 */
#define FX_DEFAULT_MODEL_OPENAI "gpt-6-luna"
#define FX_DEFAULT_MODEL_ANTHROPIC "claude-haiku-5-5"
#define FX_DEFAULT_MODEL_GEMINI "gemini-3.5-flash-lite"

/*
 * A provider type, described once: what configuration checks and implies
 * and what the engine calls.  One per provider-*.c; providers.c lists them.
 */
struct fx_provider_ops {
    const char *type; /* [provider.*] type = ... */

    /* -- description, read by conf/ and http.c -- */
    /* Standard key variables, preferred first, NULL-terminated (NULL: the
     * type has none).  A [provider.*] section without api_key_* uses the
     * first one set; with no [provider.*] at all, each one set implies a
     * provider named after the type (zero-config). */
    const char *const *key_vars;
    /* Variable whose value becomes base_url of the zero-config provider. */
    const char *base_url_var;
    const char *default_model; /* of the zero-config provider: below */
    /* Settings this type cannot do without, NULL-terminated (may be NULL). */
    const char *const *required;
    /* Works without a key (OpenAI-compatible local servers). */
    int key_optional;
    const char *default_base_url;
    /* The stream has no end marker: the end of the body ends it, and it is
     * complete only when a finish reason arrived (Gemini, Vertex). */
    int finish_ends_stream;

    /* -- operations -- */
    /* Fill `out` for this call.  0, or -1 with *err. */
    int (*build_request)(const struct fx_call *call, struct fx_http_req *out,
                         char **err);
    /* A request that costs no tokens (a model list or the model's
     * metadata: GET, body NULL) for `flexiai breaker probe`.  0, or -1
     * with *err. */
    int (*build_probe)(const struct fx_call *call, struct fx_http_req *out,
                       char **err);
    /* A complete 2xx body.  0, or -1 with err (stream_error for a
     * malformed body or an error object, content_filter when blocked). */
    int (*parse_response)(const char *body, size_t len, struct fx_response *out,
                          struct fx_error *err);
    /* One SSE event: 0 go on, 1 end of stream, -1 error (st->err). */
    int (*parse_event)(struct fx_stream *st, const char *event,
                       const char *data, size_t len);
    /* A non-2xx answer (or 2xx with error body decided elsewhere). */
    void (*classify)(long status, const char *body, size_t len,
                     const struct fx_headers *h, double now,
                     struct fx_error *err);
    /* What `model` takes as attachments: FX_KIND_* bits of lib/attach.h
     * (NULL: text only); [provider.*] accepts overrides it. */
    unsigned (*accepts)(const char *model);
};

extern const struct fx_provider_ops fx_provider_openai;
extern const struct fx_provider_ops fx_provider_anthropic;
extern const struct fx_provider_ops fx_provider_gemini;
extern const struct fx_provider_ops fx_provider_vertex;
/* OpenAI's Responses API: an `openai` provider with `api = responses`
 * (not in the table: the type stays openai). */
extern const struct fx_provider_ops fx_provider_openai_responses;
/* Every provider type, in zero-config order; NULL-terminated. */
extern const struct fx_provider_ops *const fx_providers[];
/* NULL when unknown. */
const struct fx_provider_ops *fx_provider_ops_find(const char *type);
/* "openai|anthropic|..." for messages. */
const char *fx_provider_type_list(void);

/* provider-attach.c: 1 with *why when provider p's `model` cannot take an
 * attachment of msgs (its family, or [provider.*] accepts), 0 when it
 * can or there is none.  Checked before any traffic. */
int fx_attach_refused(const flexiai_config *cfg, const struct fx_provider *p,
                      const char *model, const flexiai_message *msgs, size_t n,
                      char **why);
/* provider-attach.c: 1 with *why when msgs' files are larger than what
 * provider p takes: its [provider.*] max_attachment_bytes, else what its
 * type documents (PROTOCOLS.md: Anthropic a request of 32 MB, base64
 * counted; Gemini an inline PDF of 50 MB); 0 otherwise.  Part of
 * fx_attach_refused(). */
int fx_attach_too_large(const flexiai_config *cfg, const struct fx_provider *p,
                        const flexiai_message *msgs, size_t n, char **why);

#endif
