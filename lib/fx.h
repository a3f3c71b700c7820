/*
 * fx.h - internal interfaces of libflexiai.  Not installed.
 *
 *   fxu.c             buffers, strings, clocks, numbers (fxu.h: shared
 *                     with the commands, as curl shares curlx)
 *   config.c          INI + env + flags -> struct fx_settings
 *   keycmd.c          api_key_cmd run bounded; no core dumps with secrets
 *   sse.c             incremental Server-Sent Events parser
 *   http.c            libcurl transfer (one reused connection per process)
 *   errclass.c        status/header based error classification helpers
 *   provider-*.c      one struct fx_provider_ops each; providers.c lists them
 *   breaker.c         the breaker state machine on a state document
 *   store-file.c      state documents in locked files (one host)
 *   store-redis.c     state documents in Redis via breaker.lua (many hosts)
 *   breaker.lua       the Redis side of breaker.c (built into breaker-lua.c)
 *   ratelimit.c       rpm/tpm windows (ratelimit.h); ratelimit.lua and
 *                     ratelimit-redis.c are their Redis side
 *   sha1.c            SHA-1, to name the script for EVALSHA
 *   redis-conn.c      Redis connections shared by the store and the watcher
 *   redis-watch.c     flexiai_breaker_watch(): the events channel
 *   redis-bridge.c    flexiai_breaker_sync(): other workers' events applied
 *                     to the state documents via bridge.lua
 *   probe.c           flexiai_probe(): each provider's no-token request
 *   attempt.c         one attempt: build, perform, classify
 *   failover.c        the failover decisions (no I/O)
 *   client.c          the client; flexiai_complete() on the engine
 *   engine.c          the request engine: requests as state machines on
 *                     one curl multi handle (flexiai_batch_*); with
 *                     engine-result.c (a request's record) and
 *                     engine-limits.c (rpm, tpm, max_concurrency)
 *   client-breakers.c the client's store (Redis, file fallback) and the
 *                     flexiai_breaker_* calls (client.h: shared by both)
 *   schema-output.c   flexiai_schema_*: a request's schema, and the check
 *                     of an answer against it
 */
#ifndef FX_H
#define FX_H

#include "flexiai.h"
#include "fxu.h"
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* ---- settings (config.c) ------------------------------------------------ */

struct fx_provider_ops;

/* Request parameters: [defaults], overridable per provider. */
struct fx_params {
    double temperature;      /* < 0: unset (provider default) */
    long max_tokens;         /* <= 0: unset */
    double top_p;            /* < 0: unset */
    long top_k;              /* <= 0: unset */
    double timeout;          /* seconds per attempt */
    double connect_timeout;  /* seconds */
    double idle_timeout;     /* seconds without a byte while streaming */
    long max_response_bytes; /* one answer, streamed or not; 0: 16 MiB */
    char *system;            /* may be NULL */
    char **stop;             /* NULL-terminated, may be NULL */
};

struct fx_provider {
    char *name;
    char *type; /* openai | anthropic | gemini | vertex */
    const struct fx_provider_ops *ops;
    char *model;
    long priority; /* 0: none */
    int file_order;
    char *base_url;       /* NULL: the type's default */
    char *api_version;    /* Azure OpenAI when set */
    char *project;        /* vertex */
    char *location;       /* vertex */
    int insecure;         /* TLS verification off */
    char *tls_ca;         /* CA file or directory; NULL: the system's */
    long rpm, tpm;        /* requests, tokens per limit_window; 0: none */
    long max_concurrency; /* requests in flight in one process; 0: none */
    int schema_mode;      /* enum fx_schema_mode: how a schema is sent */
    char *api_key_env;
    char *api_key_cmd;
    double api_key_timeout; /* seconds api_key_cmd may take */
    char *api_key;          /* from the file; secret */
    /* resolved key (secret), filled by fx_provider_key() */
    char *key;
    int key_state; /* 0 unresolved, 1 ok, -1 failed */
    char *key_error;
    struct fx_params params;
};

enum fx_stream_mode { FX_STREAM_AUTO = 0, FX_STREAM_YES, FX_STREAM_NO };
/* [provider.*] schema_mode: the provider's native structured output, a
 * forced tool call, a plain JSON object request, or the schema in the
 * system prompt (the local check guarantees the result in every case). */
enum fx_schema_mode {
    FX_SCHEMA_NATIVE = 0,
    FX_SCHEMA_TOOL,
    FX_SCHEMA_JSON,
    FX_SCHEMA_PROMPT
};
enum fx_backend { FX_BACKEND_FILE = 0, FX_BACKEND_REDIS };

struct fx_sync {
    int backend;
    char *redis_url; /* secret parts masked only when shown */
    char *redis_host;
    long redis_port;
    long redis_db;
    char *redis_password; /* secret */
    char *redis_username;
    char *redis_unix; /* unix socket path, from unix:// urls */
    int redis_ssl;
    double redis_socket_timeout;
    double redis_socket_connect_timeout;
    char *key_prefix;
    char *channel;
    long state_ttl;
    char *worker_id; /* always set after validate */
    int publish_outcomes;
    char *state_dir; /* ${XDG_STATE_HOME:-~/.local/state}/flexiai */
    /* production Redis (issue 14): TLS, Sentinel, one bounded wait */
    double redis_timeout; /* connect and each command; 0: the default */
    char *redis_tls_ca, *redis_tls_cert, *redis_tls_key;
    char *redis_tls_server_name;
    int redis_tls_insecure;
    char **redis_sentinels; /* NULL-terminated "host:port" list, or NULL */
    char *redis_sentinel_master;
    char *redis_sentinel_user;
    char *redis_sentinel_password; /* secret */
};

struct fx_settings {
    struct fx_params defaults;
    int stream_mode;     /* enum fx_stream_mode */
    int on_stream_error; /* enum flexiai_stream_error_mode */
    /* failover */
    long retries;
    double backoff_base, backoff_max, retry_after_max;
    double limit_wait_max; /* seconds a request waits for rpm/tpm */
    double limit_window;   /* seconds rpm and tpm count over */
    int failover_on_bad_request;
    /* breaker */
    long failure_threshold;
    double recovery_timeout;
    double max_open; /* longest Retry-After open period */
    long half_open_max_calls;
    double probe_timeout; /* lease expiry for a probe */
    unsigned count_mask;  /* bit (1u << errclass) counts as failure */
    struct fx_sync sync;
    /* providers in failover order */
    struct fx_provider *providers;
    size_t nproviders;
};

const struct fx_settings *fx_config_settings(const flexiai_config *cfg);
/* A key's default as the schema gives it (NULL: none), for code that must
 * fill in a value the settings left unset: the schema holds the only copy
 * of every default. */
const char *fx_config_default(const char *section, const char *key);
/* The effective raw value of section.key (entry, else schema default);
 * NULL when unset or empty.  For [log] and prices (lib/ledger-api.c). */
const char *fx_config_value(const flexiai_config *cfg, const char *section,
                            const char *key);
/* Resolve a provider's key (api_key, api_key_env, api_key_cmd).  Returns 0
 * and points *key at it (owned by the provider), or -1 with *err set to a
 * message that never contains command output. */
int fx_provider_key(struct fx_provider *p, const char **key, char **err);
struct fx_provider *fx_settings_provider(const struct fx_settings *s,
                                         const char *name);

/* ---- keycmd.c --------------------------------------------------------- */

/* Run an api_key_cmd with /bin/sh: its first line of stdout (up to the
 * first newline, 64 KiB at most) within `timeout` seconds.  0 (*status:
 * exit status), -1 could not run, -2 timed out, -3 SIGINT/SIGTERM came (the
 * command was killed and the signal raised again). */
int fx_run_key_cmd(const char *cmd, double timeout, char **out, int *status);
/* A secret is in memory: no core dumps (unless FLEXIAI_ALLOW_CORE=1). */
void fx_secret_in_memory(void);

/* ---- sse.c ------------------------------------------------------------ */

/* Called per dispatched event.  `event` is "" when no event: field was
 * given (callers treat it as "message").  Return non-zero to stop. */
typedef int (*fx_sse_fn)(void *ud, const char *event, const char *data,
                         size_t len);

struct fx_sse {
    fxu_buf line;  /* current partial line */
    fxu_buf data;  /* data lines of the current event, joined by LF */
    fxu_buf event; /* event type of the current event */
    int has_data;
    int last_was_cr; /* previous chunk ended in CR: skip a leading LF */
    int stopped;
};

/* Limits on what one server can make the parser hold; past them
 * fx_sse_feed returns FX_SSE_E_LINE or FX_SSE_E_EVENT. */
#define FX_SSE_LINE_MAX (1u << 20) /* one line, without its end */
#define FX_SSE_DATA_MAX (1u << 20) /* one event's data lines joined */
#define FX_SSE_E_LINE (-2)
#define FX_SSE_E_EVENT (-3)

void fx_sse_init(struct fx_sse *p);
void fx_sse_free(struct fx_sse *p);
/* Feed any split of the byte stream.  Returns 0, or the callback's
 * non-zero value (parsing stops). */
int fx_sse_feed(struct fx_sse *p, const char *buf, size_t n, fx_sse_fn fn,
                void *ud);
/* End of body: returns 1 if an event or line was left incomplete. */
int fx_sse_pending(const struct fx_sse *p);

/* ---- responses, errors ------------------------------------------------ */

struct fx_header {
    char *name; /* lower-cased */
    char *value;
};

struct fx_headers {
    struct fx_header *items;
    size_t n;
};
const char *fx_headers_get(const struct fx_headers *h, const char *name);
void fx_headers_free(struct fx_headers *h);

struct fx_error {
    int cls;            /* enum flexiai_errclass */
    long status;        /* HTTP status, 0 if none */
    double retry_after; /* seconds to wait, -1 when not given */
    char msg[256];      /* short, one line, no secrets */
};
void fx_error_set(struct fx_error *e, int cls, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

struct fx_response {
    fxu_buf text;    /* in tool mode: the forced tool's input, as JSON */
    char *tool_name; /* a tool call to another tool than ours (schema tool
                        mode), for the validation message; may be NULL */
    char *model;
    char *finish_reason; /* normalised */
    int has_usage;
    long prompt_tokens, completion_tokens, total_tokens;
};
void fx_response_init(struct fx_response *r);
void fx_response_free(struct fx_response *r);

/* errclass.c: the generic part of classification, used by providers. */
/* Status alone: 401/403 auth, 429 rate_limit, 503 overloaded, 5xx server,
 * 400/404/413/422 bad_request, other 4xx bad_request. */
int fx_class_from_status(long status);
/* Retry delay from retry-after / retry-after-ms and the given reset
 * headers (NULL-terminated list of names, values being durations like
 * "6m0s" or RFC 3339 times); -1 when none. */
double fx_retry_after(const struct fx_headers *h, const char *const *reset,
                      double now);
/* True when an error message says the prompt/context is too long. */
int fx_says_too_long(const char *msg);
/* Map a provider's finish value through a NULL-terminated table of
 * {from, to} pairs; unknown values map to "stop"... see errclass.c. */

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
};

struct fx_http_req {
    char *url;      /* never contains a secret */
    char **headers; /* NULL-terminated "Name: value" lines */
    char *body;
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
};
/* Emit text to the response buffer and the callback. */
void fx_stream_text(struct fx_stream *st, const char *s, size_t n);

/*
 * A provider type, described once: what configuration checks and implies
 * and what the engine calls.  One per provider-*.c; providers.c lists them.
 */
struct fx_provider_ops {
    const char *type; /* [provider.*] type = ... */

    /* -- description, read by config.c and http.c -- */
    /* Standard key variables, preferred first, NULL-terminated (NULL: the
     * type has none).  A [provider.*] section without api_key_* uses the
     * first one set; with no [provider.*] at all, each one set implies a
     * provider named after the type (zero-config). */
    const char *const *key_vars;
    /* Variable whose value becomes base_url of the zero-config provider. */
    const char *base_url_var;
    const char *default_model; /* of the zero-config provider */
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
};

extern const struct fx_provider_ops fx_provider_openai;
extern const struct fx_provider_ops fx_provider_anthropic;
extern const struct fx_provider_ops fx_provider_gemini;
extern const struct fx_provider_ops fx_provider_vertex;
/* Every provider type, in zero-config order; NULL-terminated. */
extern const struct fx_provider_ops *const fx_providers[];
/* NULL when unknown. */
const struct fx_provider_ops *fx_provider_ops_find(const char *type);
/* "openai|anthropic|..." for messages. */
const char *fx_provider_type_list(void);

/* ---- http.c ----------------------------------------------------------- */

struct fx_http; /* one per client: reused connection */
struct fx_http *fx_http_new(void);
void fx_http_free(struct fx_http *h);

struct fx_http_opts {
    double timeout, connect_timeout, idle_timeout;
    int insecure;
    const char *tls_ca; /* CA file or directory; NULL: the system's */
    volatile sig_atomic_t *cancel;
    /* streaming: 2xx bodies go through the SSE parser into parse_event */
    const struct fx_provider_ops *ops;
    struct fx_stream *stream; /* NULL: buffer the body */
    size_t max_response;      /* bytes of one answer; 0: 16 MiB */
};

struct fx_http_result {
    long status;  /* 0: no HTTP answer */
    fxu_buf body; /* whole body unless streamed 2xx */
    struct fx_headers headers;
    int transport_cls; /* FLEXIAI_E_NONE, _CONNECT, _TIMEOUT, _STREAM_ERROR
                          (connection dropped), _CANCELLED */
    char transport_msg[256];
    int stream_incomplete; /* 2xx stream ended without end marker */
    double elapsed_ms;
};
void fx_http_result_free(struct fx_http_result *r);
/* Perform the transfer.  Returns 0 when an HTTP answer arrived (any
 * status), -1 on transport failure (transport_cls says which). */
int fx_http_perform(struct fx_http *h, const struct fx_http_req *req,
                    const struct fx_http_opts *opts,
                    struct fx_http_result *res);

/* One transfer on a caller's easy handle (a CURL *), for a caller that
 * drives its own multi handle (engine.c).  fx_xfer_new() sets the handle's
 * options; the caller adds it to its multi, calls fx_xfer_check() now and
 * then (non-zero: end the transfer now, for that reason), and after
 * removing the handle calls fx_xfer_finish() with why (0 when curl
 * finished it), whether curl reported it done and its CURLcode.  finish
 * fills res as fx_http_perform() does, frees x, and returns 0 or -1. */
struct fx_xfer;
enum {
    FX_XFER_CANCELLED = 1,
    FX_XFER_IDLE,
    FX_XFER_DRAINED,
    FX_XFER_MULTI_ERROR
};
struct fx_xfer *fx_xfer_new(void *easy, const struct fx_http_req *req,
                            const struct fx_http_opts *opts,
                            struct fx_http_result *res);
int fx_xfer_check(struct fx_xfer *x, double now);
int fx_xfer_finish(struct fx_xfer *x, int why, int completed, int curlcode);

/* ---- attempt.c: one attempt at one provider ------------------------- */

struct fx_outcome {
    int ok;
    struct fx_error err;     /* when !ok */
    struct fx_response resp; /* the answer, or the text before a failure */
    size_t emitted;          /* bytes passed to on_text */
    double latency_ms;
    char *url; /* without secrets; may be NULL */
    /* with a schema: the validated answer (ok), or the whole validation
     * message (err.cls == FLEXIAI_E_INVALID_OUTPUT); may be NULL */
    char *json;
    char *verr;
};
/* An attempt between its request being built and its answer classified:
 * what the transfer needs (engine.c keeps one per request in flight). */
struct fx_attempt_io {
    struct fx_http_req hreq;
    struct fx_stream st;
    struct fx_http_opts ho;
    struct fx_http_result hr;
    int stream;
    volatile sig_atomic_t *cancel;
    const struct flexiai_schema *schema; /* check the answer against it */
};
/* Build the request for call.  0, or -1 with out->err set (class config:
 * nothing to send; io needs no end).  out must stay in place until
 * fx_attempt_end(): the stream parser writes into out->resp. */
int fx_attempt_begin(struct fx_attempt_io *io, const struct fx_call *call,
                     const flexiai_request *req, flexiai_text_fn on_text,
                     void *ud, struct fx_outcome *out);
/* After the transfer (rc as fx_http_perform returns): classify what came
 * back into out, free io's parts. */
void fx_attempt_end(struct fx_attempt_io *io, const struct fx_provider *p,
                    int rc, struct fx_outcome *out);
/* Run one attempt on *http (created when NULL); streamed text goes to
 * on_text.  out is always filled: free out->resp and out->url. */
void fx_attempt_run(struct fx_http **http, const struct fx_provider *p,
                    const char *key, const flexiai_message *msgs, size_t nmsgs,
                    const flexiai_request *req, flexiai_text_fn on_text,
                    void *ud, struct fx_outcome *out);

/* ---- schema-output.c: structured output -------------------------------- */

struct fx_schema;
struct flexiai_schema {
    struct fx_schema *compiled; /* what answers are checked against */
    int multi;                  /* answers are {"items": [...]}: print it */
    int strict;                 /* OpenAI strict mode is possible */
    char *text;                 /* the schema sent, unformatted JSON */
    char *gemini;               /* converted for Gemini's responseSchema */
    char *gemini_note; /* what the conversion dropped, NULL when exact */
};
/* The name of the forced tool in schema_mode = tool. */
#define FX_SCHEMA_TOOL_NAME "answer"
/* The instruction put in the system prompt (json and prompt modes), and
 * the repair message after an invalid answer; malloc'd. */
char *fx_schema_instruction(const struct flexiai_schema *s);
char *fx_schema_repair_prompt(const char *verr);
/* Check a complete answer: 0 with *json (the validated JSON, one line;
 * for multi the items array), or -1 with *verr (one line). */
int fx_schema_check(const struct flexiai_schema *s,
                    const struct fx_response *resp, char **json, char **verr);
/* What converting the schema for provider p dropped (Gemini and Vertex in
 * native or tool mode), for a -v line; NULL when nothing was. */
const char *fx_schema_note(const struct flexiai_schema *s,
                           const struct fx_provider *p);
/* No answer matched (exit 76): res->error becomes the last validation
 * error, "openai: $.severity: ...". */
void fx_schema_result_error(flexiai_result *res);

/* ---- breaker.c: the state machine ------------------------------------- */

enum fx_bstate { FX_CLOSED = 0, FX_OPEN, FX_HALF_OPEN };
#define FX_MAX_PROBES 32

/*
 * The state document, stored as JSON (fx_bdoc_to_json / _from_json):
 *   {"state":"open","failure_count":5,"success_count":0,
 *    "opened_at":1795000000.123,"retry_at":1795000060.123,
 *    "changed_at":1795000000.123,"changed_by":"host:123:1795000000123",
 *    "reason":"failure_threshold","forced":false,
 *    "probes":[{"worker":"host:9:17...","expires":1795000090.0}],
 *    "version":1}
 * state/failure_count/success_count are what Python FlexiAI workers read.
 */
struct fx_probe {
    char worker[128];
    double expires;
};
struct fx_bdoc {
    int state;
    long failure_count; /* consecutive counted failures */
    long success_count;
    double opened_at;
    double retry_at;
    double changed_at;
    char changed_by[128];
    char reason[64];
    /* the last counted failure, to explain a skip: its class and message */
    char last_class[32];
    char last_error[200];
    int forced; /* opened by hand: no probe before retry_at */
    struct fx_probe probes[FX_MAX_PROBES];
    int nprobes;
};
void fx_bdoc_init(struct fx_bdoc *d);
struct fx_bop;
/* Clamp times no correct writer could have set (far future, NaN) to their
 * longest length from op->now; 1 when something changed. */
int fx_bdoc_clamp(struct fx_bdoc *d, const struct fx_bop *op);
char *fx_bdoc_to_json(const struct fx_bdoc *d);
/* 0 ok, -1 malformed (d is then the closed default). */
int fx_bdoc_from_json(const char *json, size_t len, struct fx_bdoc *d);
const char *fx_bstate_name(int state);

enum fx_bop_kind {
    FX_BOP_ADMIT = 1, /* may a request go now? may take a probe lease */
    FX_BOP_SUCCESS,
    FX_BOP_FAILURE,    /* counted failure */
    FX_BOP_OPEN_UNTIL, /* quota / long Retry-After: open until `until` */
    FX_BOP_RESET,
    FX_BOP_FORCE_OPEN /* by hand; until <= 0: until reset */
};
struct fx_bop {
    int kind;
    double now;
    double until;
    const char *worker;
    int was_probe; /* success/failure of an admitted probe */
    long failure_threshold;
    double recovery_timeout;
    long half_open_max_calls;
    double probe_timeout;
    /* FAILURE and OPEN_UNTIL: what failed (NULL: keep the last one) */
    const char *err_class;
    const char *err_msg;
    double max_open; /* 0: 3600; open periods trusted up to this */
};
enum fx_bevent {
    FX_EV_NONE = 0,
    FX_EV_OPENED,
    FX_EV_CLOSED,
    FX_EV_HALF_OPEN,
    FX_EV_FAILURE,
    FX_EV_SUCCESS
};
const char *fx_bevent_name(int ev);
enum fx_admit { FX_ADMIT_NO = 0, FX_ADMIT_YES, FX_ADMIT_PROBE };
/*
 * Apply op to d.  Returns the transition event (FX_EV_NONE, _OPENED,
 * _CLOSED, _HALF_OPEN); *admit is set for FX_BOP_ADMIT.  *changed says
 * whether d must be written back.
 */
int fx_breaker_apply(struct fx_bdoc *d, const struct fx_bop *op, int *admit,
                     int *changed);
/* Read-only: would a request be admitted now without taking a lease?
 * (closed, or open/half_open with a free probe slot after retry_at) */
int fx_breaker_usable(const struct fx_bdoc *d, double now,
                      long half_open_max_calls);

/* ---- failover.c: the decisions of the failover engine (no I/O) -------- */

/* What one request's failover runs by: settings and request options. */
struct fx_policy {
    long retries; /* further attempts at one provider */
    double backoff_base, backoff_max;
    double retry_after_max; /* longer Retry-After: open the breaker */
    double recovery_timeout;
    double max_open; /* longest open period a Retry-After may ask for */
    int failover_on_bad_request;
    int on_stream_error; /* enum flexiai_stream_error_mode */
    int one_provider;    /* --no-failover, or a named provider */
    unsigned count_mask; /* bit (1u << errclass) counts as failure */
};
void fx_policy_init(struct fx_policy *pol, const struct fx_settings *s,
                    const flexiai_request *req);

/* One finished attempt, as the decision needs it. */
struct fx_try {
    int ok;
    int cls;            /* enum flexiai_errclass when !ok */
    double retry_after; /* seconds, -1 when none */
    size_t emitted;     /* bytes of this attempt that reached the output */
    long attempt;       /* 0 for the first at this provider */
    int probe;          /* admitted as a half-open probe */
    int breaker_op;     /* what fx_failover_breaker_op() said (0: none) */
    int breaker_opened; /* the store says the breaker is open now */
};

enum fx_step {
    FX_STEP_DONE = 1, /* answered */
    FX_STEP_RETRY,    /* same provider again after `wait` */
    FX_STEP_NEXT,     /* next provider */
    FX_STEP_CONTINUE, /* next provider, asked to continue the text shown */
    FX_STEP_STOP      /* no further attempt; `code` is the exit code */
};
struct fx_decision {
    int step;
    const char *outcome; /* the attempt's record: success, retry, error,
                            interrupted */
    double wait;         /* FX_STEP_RETRY: the provider's Retry-After, or -1 to
                            back off (fx_failover_backoff) */
    int code;            /* FX_STEP_DONE, FX_STEP_STOP */
};
struct fx_decision fx_failover_decide(const struct fx_policy *pol,
                                      const struct fx_try *t);

/* May another provider be tried, one having been tried already? */
int fx_failover_may_try(const struct fx_policy *pol, int tried_one);
/* What a failure of class cls does to the breaker: 0, FX_BOP_FAILURE, or
 * FX_BOP_OPEN_UNTIL with *until set (quota, or a Retry-After beyond
 * retry_after_max). */
int fx_failover_breaker_op(const struct fx_policy *pol, int cls,
                           double retry_after, double now, double *until);
/* Must a success be written to the store? */
int fx_failover_success_counts(const struct fx_bdoc *doc, int probe,
                               int publish_outcomes);
/* Backoff before retry number attempt+1, r uniform in [0, 1). */
double fx_failover_backoff(const struct fx_policy *pol, long attempt, double r);
/* Exit code of a request no provider answered, from its attempts:
 * 130 if cancelled, 69 with nothing tried, 76 every provider answered
 * and no answer matched the schema (invalid_output), 75 all transient
 * (breakers open included), 77 all auth, 65 all invalid requests, 78 all
 * configuration, 69 mixed.  An invalid_output attempt is retried once at
 * its provider (wait 0), then the next provider is tried. */
int fx_failover_exit(const flexiai_attempt *attempts, size_t n);

/* rate limits: lib/ratelimit.h */
struct fx_lop;
struct fx_lres;

/* ---- stores ----------------------------------------------------------- */

struct fx_store;
struct fx_store_ops {
    const char *name; /* "file", "redis" */
    /* 0 ok; -1 with *err when the store is unusable */
    int (*open)(struct fx_store **out, const struct fx_settings *s, char **err);
    void (*close)(struct fx_store *st);
    /* Read many documents in one go.  Missing -> closed default.  A
     * malformed document -> closed default, and *bad[i] = 1.
     * Returns 0, or -1 with *err on store failure. */
    int (*load)(struct fx_store *st, const char *const *providers, size_t n,
                struct fx_bdoc *docs, int *bad, char **err);
    /* Atomically read, fx_breaker_apply(op), write back, publish (Redis).
     * Returns 0 with *event / *admit / *result filled, -1 with *err. */
    int (*update)(struct fx_store *st, const char *provider,
                  const struct fx_bop *op, struct fx_bdoc *result, int *event,
                  int *admit, char **err);
    /* Atomically apply a rate-limit operation to the provider's limit
     * document (ratelimit.c; Redis: ratelimit.lua).  0, or -1 with *err
     * (res then says granted: a broken store never blocks traffic). */
    int (*limit)(struct fx_store *st, const char *provider,
                 const struct fx_lop *op, struct fx_lres *res, char **err);
};
extern const struct fx_store_ops fx_store_file;
extern const struct fx_store_ops fx_store_redis;

/* The Python FlexiAI CircuitBreakerEvent JSON for an event. */
char *fx_event_json(const char *provider, int event, const char *worker,
                    double now, long failure_count, long success_count);
/* Parse one; 0 ok, -1 malformed.  Strings point into *owned (free it). */
int fx_event_parse(const char *json, flexiai_event *ev, void **owned);

/* breaker.lua as a C string (generated breaker-lua.c) */
extern const char fx_breaker_lua[];
extern const char fx_bridge_lua[]; /* bridge.lua, for redis-bridge.c */
/* hex SHA-1 of data into out[41], as SCRIPT LOAD names a script (sha1.c) */
void fx_sha1_hex(const void *data, size_t len, char out[41]);

/* Subscribe to the events channel and deliver events until *stop or the
 * callback says so, reconnecting with backoff (redis-watch.c).
 * subscribed(ud, where, again) is called each time the subscription is
 * made ("redis HOST:PORT"; again: after a lost connection, when events may
 * have been missed); it may deliver events through fn itself. */
typedef void (*fx_watch_subscribed_fn)(void *ud, const char *where, int again);
int fx_redis_watch(const struct fx_settings *s, flexiai_event_fn fn, void *ud,
                   volatile sig_atomic_t *stop, flexiai_log_fn log,
                   void *log_ud, fx_watch_subscribed_fn subscribed);
/* flexiai_breaker_sync() for the Redis store (redis-bridge.c). */
int fx_redis_bridge(const struct fx_settings *s, flexiai_sync_fn fn, void *ud,
                    volatile sig_atomic_t *stop, flexiai_log_fn log,
                    void *log_ud);
/* Parse datetime.isoformat() (naive UTC; a "+00:00" or "Z" suffix is
 * accepted) into epoch seconds.  0, or -1 when malformed (event.c). */
int fx_event_time(const char *iso, double *out);

#endif
