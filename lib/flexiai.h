/*
 * flexiai.h - completions from large language models with automatic
 * failover and circuit breakers shared by every process on a host (file
 * store) or across hosts (Redis).
 *
 * Reading order:
 *   1. Build a configuration: flexiai_config_new(), flexiai_config_load(),
 *      flexiai_config_set() for command-line overrides, then
 *      flexiai_config_validate().  Problems are kept as "FILE:LINE: message"
 *      diagnostics.
 *   2. Make a client from it: flexiai_client_new().
 *   3. Run a request: fill a flexiai_request (messages, optional text
 *      callback for streaming) and call flexiai_complete(); read the
 *      flexiai_result, then flexiai_result_free().
 *   4. Inspect or change breakers: flexiai_breaker_status(),
 *      flexiai_breaker_reset(), flexiai_breaker_open(),
 *      flexiai_breaker_watch().
 *
 * The library never prints.  Warnings and per-attempt notes go to the log
 * callback set with flexiai_client_set_log().
 *
 * Return codes are the sysexits-style codes the commands exit with, so a
 * caller can pass them straight to exit().
 *
 * Versions.  FLEXIAI_VERSION* below are the header a program was built
 * with; flexiai_version() and flexiai_version_number() the library it
 * runs with.
 */
#ifndef FLEXIAI_H
#define FLEXIAI_H

#include <signal.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- versions ----------------------------------------------------------- */

/* The one place the version is written: configure.ac reads it from here
 * (AC_INIT), so the package, flexiai.pc and the library agree. */
#define FLEXIAI_VERSION "0.1.0"
#define FLEXIAI_VERSION_MAJOR 0
#define FLEXIAI_VERSION_MINOR 1
#define FLEXIAI_VERSION_PATCH 0
/* MAJOR * 1000000 + MINOR * 1000 + PATCH: 1.2.3 is 1002003 */
#define FLEXIAI_VERSION_NUMBER                                                 \
    (FLEXIAI_VERSION_MAJOR * 1000000 + FLEXIAI_VERSION_MINOR * 1000 +          \
     FLEXIAI_VERSION_PATCH)

/* The running library's FLEXIAI_VERSION ("0.1.0"); static. */
const char *flexiai_version(void);
/* The running library's FLEXIAI_VERSION_NUMBER. */
int flexiai_version_number(void);
/* "libcurl/7.88.1 TLS/OpenSSL/3.0.15 OpenSSL/3.0.15 cJSON/1.7.15
 * hiredis/0.14.1 inih/55"; static. */
const char *flexiai_libraries(void);

#define FLEXIAI_OK 0
#define FLEXIAI_EUSAGE 64       /* bad flag or argument */
#define FLEXIAI_EDATA 65        /* input or request rejected as invalid */
#define FLEXIAI_ENOINPUT 66     /* no prompt, missing file */
#define FLEXIAI_EUNAVAILABLE 69 /* no provider answered, mixed reasons */
#define FLEXIAI_ESOFTWARE 70    /* internal error */
#define FLEXIAI_ECANTCREAT 73   /* cannot create an output file */
#define FLEXIAI_EIO 74          /* cannot write output (closed or full) */
#define FLEXIAI_ETEMPFAIL 75    /* every failure was transient */
#define FLEXIAI_EPROTOCOL                                                      \
    76                     /* every provider answered; no answer matched       \
                              the request's schema */
#define FLEXIAI_ENOPERM 77 /* every provider refused our credentials */
#define FLEXIAI_ECONFIG 78 /* configuration error */
#define FLEXIAI_EINTR 130  /* interrupted */

/* ---- configuration ---------------------------------------------------- */

typedef struct flexiai_config flexiai_config;

flexiai_config *flexiai_config_new(void);
void flexiai_config_free(flexiai_config *cfg);

/*
 * Read the system file, then the user file (or `path` when not NULL, as
 * for -c FILE; FLEXIAI_CONFIG is honoured when path is NULL), then the
 * FLEXIAI_* environment.  `sysconf_path` NULL means the built-in
 * $(sysconfdir)/flexiai/config.ini.  Returns FLEXIAI_OK, or FLEXIAI_ECONFIG
 * with diagnostics recorded (a missing -c file is an error; missing default
 * files are not).
 */
int flexiai_config_load(flexiai_config *cfg, const char *sysconf_path,
                        const char *path);

/* Set one value with origin "flag" (validated like any other value). */
int flexiai_config_set(flexiai_config *cfg, const char *section,
                       const char *key, const char *value);

/*
 * Check every value and build the effective settings.  With
 * `resolve_secrets`, run every provider's api_key_cmd now (config check);
 * otherwise keys are resolved when a provider is first used.  Returns
 * FLEXIAI_OK or FLEXIAI_ECONFIG.  Warnings (e.g. a group-readable file
 * holding api_key) are diagnostics with is_error == 0.
 */
int flexiai_config_validate(flexiai_config *cfg, int resolve_secrets);

typedef struct flexiai_diag {
    int is_error;
    const char *text; /* "FILE:LINE: message" or "env NAME: message" */
} flexiai_diag;

size_t flexiai_config_ndiags(const flexiai_config *cfg);
const flexiai_diag *flexiai_config_diag(const flexiai_config *cfg, size_t i);

/* One effective value, for `config show`.  Secrets are masked. */
typedef struct flexiai_config_entry {
    const char *section; /* "defaults", "provider.openai", ... */
    const char *key;
    const char *value;  /* masked when secret; "" when unset */
    const char *origin; /* "default", "FILE:LINE", "env NAME", "flag" */
    int is_secret;
} flexiai_config_entry;

/* Effective entries in display order; valid until the config is freed. */
size_t flexiai_config_entries(flexiai_config *cfg,
                              const flexiai_config_entry **entries);

/* The files flexiai_config_load() looked at, for messages: "/etc/flexiai/
 * config.ini (not found), /home/u/.config/flexiai/config.ini", and a note
 * when HOME and XDG_CONFIG_HOME are unset.  Owned by cfg. */
const char *flexiai_config_sources(const flexiai_config *cfg);

/* "no providers configured (looked in FILES, and at VARIABLES: all unset);
 * add ..." for when flexiai_config_providers() finds none.  Caller frees. */
char *flexiai_config_why_no_providers(const flexiai_config *cfg);

/* Configured provider names in failover order (after validate). */
size_t flexiai_config_providers(const flexiai_config *cfg,
                                const char *const **names);

/*
 * What a command needs to know of the effective settings (after
 * flexiai_config_validate()).  Strings are owned by cfg.
 */
enum flexiai_stream_mode {
    FLEXIAI_STREAM_AUTO = 0, /* [defaults] stream = auto: when a terminal
                                reads the answer */
    FLEXIAI_STREAM_ALWAYS,   /* stream = yes */
    FLEXIAI_STREAM_NEVER     /* stream = no */
};
int flexiai_config_stream_mode(const flexiai_config *cfg);
/* [defaults] on_stream_error: enum flexiai_stream_error_mode. */
int flexiai_config_on_stream_error(const flexiai_config *cfg);
/* [sync] backend: "file" or "redis". */
const char *flexiai_config_backend(const flexiai_config *cfg);
/* [defaults] system, or NULL when none. */
const char *flexiai_config_system(const flexiai_config *cfg);
/* 1 when `name` is a configured provider. */
int flexiai_config_has_provider(const flexiai_config *cfg, const char *name);
/* A provider's model ("" when it has none), NULL when unknown. */
const char *flexiai_config_provider_model(const flexiai_config *cfg,
                                          const char *name);

/*
 * The -m rule: `model` for `provider`, or for the first provider in
 * failover order when provider is NULL.  Call after a successful
 * flexiai_config_validate(); validates again.  Returns FLEXIAI_OK,
 * FLEXIAI_EUSAGE when there is no such provider (nothing changed), or
 * FLEXIAI_ECONFIG with diagnostics recorded.
 */
int flexiai_config_set_model(flexiai_config *cfg, const char *provider,
                             const char *model);

/* ---- client and requests ---------------------------------------------- */

typedef struct flexiai_client flexiai_client;

enum flexiai_log_level {
    FLEXIAI_LOG_WARN = 1, /* once-per-process warnings (store fallback) */
    FLEXIAI_LOG_NOTICE,   /* failover notices (chat shows them) */
    FLEXIAI_LOG_ATTEMPT,  /* one line per attempt (-v) */
    FLEXIAI_LOG_DEBUG
};
typedef void (*flexiai_log_fn)(void *ud, int level, const char *msg);

/* Returns NULL and sets *errmsg (caller frees) when the store cannot be
 * prepared at all; Redis being down is not such a failure. */
flexiai_client *flexiai_client_new(flexiai_config *cfg, char **errmsg);
void flexiai_client_free(flexiai_client *c);
void flexiai_client_set_log(flexiai_client *c, flexiai_log_fn fn, void *ud);
/* Message for the last failed breaker call on this client. */
const char *flexiai_client_error(const flexiai_client *c);

typedef struct flexiai_message {
    const char *role; /* "system", "user" or "assistant" */
    const char *content;
} flexiai_message;

/*
 * Structured output.  A schema is loaded once from a SPEC (a file holding
 * a JSON Schema, inline JSON Schema text starting with '{', or the concise
 * DSL 'name, age int: years, tags [str]') and may be attached to any
 * number of requests.  With `multi`, the model is asked for an object
 * {"items": [...]} whose items match the schema, and the result's json is
 * that array.  See flexiai-complete(1) for the supported keywords.
 */
typedef struct flexiai_schema flexiai_schema;

/* Returns FLEXIAI_OK with *out, or with *err (caller frees, one line):
 * FLEXIAI_ENOINPUT the file is missing or unreadable, FLEXIAI_EDATA the
 * file holds no valid JSON Schema, FLEXIAI_EUSAGE malformed inline JSON
 * or DSL, or an unsupported keyword (named in *err). */
int flexiai_schema_load(const char *spec, int multi, flexiai_schema **out,
                        char **err);
void flexiai_schema_free(flexiai_schema *s);
/* The JSON Schema as sent to providers (for multi: the {"items": [...]}
 * wrapper), pretty-printed; caller frees. */
char *flexiai_schema_text(const flexiai_schema *s);

/* Text pieces as they arrive; return non-zero to stop the request. */
typedef int (*flexiai_text_fn)(void *ud, const char *text, size_t len);

enum flexiai_stream_error_mode {
    FLEXIAI_STREAM_CONTINUE = 0, /* ask the next provider to continue */
    FLEXIAI_STREAM_FAIL = 1      /* keep the partial text, fail with 75 */
};

typedef struct flexiai_request {
    const flexiai_message *messages;
    size_t nmessages;
    const char *provider; /* only this provider (NULL: all, in order) */
    int no_failover;      /* only the first usable provider */
    int stream;           /* 1: stream through on_text */
    int on_stream_error;  /* enum flexiai_stream_error_mode */
    flexiai_text_fn on_text;
    void *ud;
    /* Set to non-zero (e.g. from a SIGINT handler) to abort at once. */
    volatile sig_atomic_t *cancel;
    /* Per-request overrides of the configuration (zero: none).  `model`
     * is for the provider named by `provider`, else for the first in
     * failover order (the -m rule); `system` replaces [defaults] system. */
    const char *model;
    const char *system;
    int has_temperature;
    double temperature;
    long max_tokens; /* > 0 */
    /* Structured output (NULL: none).  Each answer is checked against it;
     * one that does not match is retried once at the same provider with
     * the validation error added to the conversation, then the next
     * provider is tried.  Streaming is off for such a request. */
    const flexiai_schema *schema;
} flexiai_request;

/* Error classes, as decided from status, headers and body. */
enum flexiai_errclass {
    FLEXIAI_E_NONE = 0,
    FLEXIAI_E_CONNECT,
    FLEXIAI_E_TIMEOUT,
    FLEXIAI_E_RATE_LIMIT,
    FLEXIAI_E_QUOTA,
    FLEXIAI_E_OVERLOADED,
    FLEXIAI_E_SERVER,
    FLEXIAI_E_AUTH,
    FLEXIAI_E_BAD_REQUEST,
    FLEXIAI_E_CONTEXT_LENGTH,
    FLEXIAI_E_STREAM_ERROR,
    FLEXIAI_E_CONTENT_FILTER,
    FLEXIAI_E_BREAKER_OPEN, /* skipped: breaker open, no traffic sent */
    FLEXIAI_E_CONFIG,       /* provider unusable: key missing, cmd failed */
    FLEXIAI_E_CANCELLED,
    FLEXIAI_E_INTERNAL,
    FLEXIAI_E_RATE_LIMITED_LOCAL, /* skipped: our own rpm/tpm/concurrency
                                     limit, no traffic sent */
    FLEXIAI_E_INVALID_OUTPUT,     /* the answer is not JSON or does not match
                                     the request's schema */
    FLEXIAI_E__COUNT
};
/* The longest a breaker may be opened by hand (breaker open --for), in
 * seconds: 30 days.  A state document is never trusted beyond it. */
#define FLEXIAI_FORCE_OPEN_MAX 2592000.0

const char *flexiai_errclass_name(int cls);
int flexiai_errclass_from_name(const char *name); /* -1 if unknown */

typedef struct flexiai_attempt {
    char *provider;
    char *model;
    char *outcome;      /* "success", "error", "skipped", "retry",
                           "interrupted" */
    int errclass;       /* enum flexiai_errclass */
    long http_status;   /* 0 when no HTTP answer */
    double retry_after; /* seconds, -1 when none */
    double latency_ms;
    char *message;     /* short reason, never a secret; may be NULL */
    char *url;         /* request URL without secrets; may be NULL */
    int probe;         /* admitted as a half-open probe */
    int continuation;  /* continued a broken stream */
    size_t text_bytes; /* answer text this attempt delivered */
    /* invalid_output: why the answer did not match the schema, one line
     * ("$.severity: \"urgent\" is not one of [\"low\",\"high\"]"); else
     * NULL */
    char *validation_error;
} flexiai_attempt;

typedef struct flexiai_result {
    char *text; /* whole answer (also for streamed requests) */
    char *provider;
    char *model;
    char *finish_reason; /* stop|length|content_filter|tool_calls|error */
    int has_usage;
    long prompt_tokens, completion_tokens, total_tokens;
    double latency_ms;
    flexiai_attempt *attempts;
    size_t nattempts;
    int streamed_output; /* some text reached on_text */
    char *error;         /* one-line reason when the call failed */
    /* With a schema: the validated answer as JSON on one line (for multi:
     * the array), and 1; otherwise NULL and 0. */
    char *json;
    int schema_valid;
} flexiai_result;

/* Run a request with failover.  Returns FLEXIAI_OK or an exit code
 * (65, 69, 75, 76, 77, 78, 130, 70); *res is filled in every case. */
int flexiai_complete(flexiai_client *c, const flexiai_request *req,
                     flexiai_result *res);
void flexiai_result_free(flexiai_result *res);

/* ---- many requests at once ------------------------------------------- */

/*
 * A batch runs any number of requests at once in the calling thread: each
 * is a state machine (build, send, parse or stream, classify, then retry,
 * fail over or finish, by the same rules as flexiai_complete(), which is
 * the one-request case of the same engine), and one curl multi handle
 * moves all their transfers.  Connections are kept alive and reused from
 * one request to the next; HTTP/2 servers get the requests multiplexed on
 * one connection.  Breakers and rate limits are shared with every other
 * process as for flexiai_complete().
 *
 *   flexiai_batch *b = flexiai_batch_new(client);
 *   while (more work) {
 *       while (more && flexiai_batch_pending(b) < 16)
 *           flexiai_batch_submit(b, &req, my_item);   // copied
 *       flexiai_batch_run(b, 1000);                  // until one is done
 *       while (flexiai_batch_next(b, &res, &code, &tag)) {
 *           ... use res and tag ...; flexiai_result_free(&res);
 *       }
 *   }
 *   flexiai_batch_free(b);
 *
 * One batch belongs to one thread; the client must outlive it.
 */
typedef struct flexiai_batch flexiai_batch;

flexiai_batch *flexiai_batch_new(flexiai_client *c);
/* Cancels what is still running, drops uncollected results. */
void flexiai_batch_free(flexiai_batch *b);
/* Start a request.  The request and its messages are copied (the caller
 * may free them at once); req->cancel, on_text and ud are kept as given
 * (on_text is called from flexiai_batch_run()).  `tag` comes back with
 * the result.  Returns FLEXIAI_OK, or FLEXIAI_EUSAGE for a request
 * without messages. */
int flexiai_batch_submit(flexiai_batch *b, const flexiai_request *req,
                         void *tag);
/* Move every request on until at least one is finished and not yet
 * collected, nothing is pending, or timeout_ms passed (< 0: no limit).
 * Returns the number of finished, uncollected requests. */
size_t flexiai_batch_run(flexiai_batch *b, int timeout_ms);
/* Take a finished request, oldest first: 1 with *res (free it with
 * flexiai_result_free()), *code (what flexiai_complete() would have
 * returned) and *tag filled; 0 when none is finished. */
int flexiai_batch_next(flexiai_batch *b, flexiai_result *res, int *code,
                       void **tag);
/* Submitted and not yet collected. */
size_t flexiai_batch_pending(const flexiai_batch *b);
/* Stop every request now: transfers are aborted, each request finishes
 * with FLEXIAI_EINTR (collect them as usual). */
void flexiai_batch_cancel(flexiai_batch *b);

/* ---- circuit breakers ------------------------------------------------- */

typedef struct flexiai_breaker_info {
    char *provider;
    char *state; /* "closed", "open", "half_open" */
    long failure_count;
    long success_count;
    double changed_at; /* epoch seconds; 0 when never changed */
    double opened_at;
    double retry_at;  /* open: when a probe may go; 0 when none */
    char *changed_by; /* worker id of the last change, may be NULL */
    char *reason;     /* why it last changed, may be NULL */
    char *backend;    /* "file" or "redis" */
    int usable;       /* a request now would be admitted */
} flexiai_breaker_info;

/* Status of `names` (all configured providers when n == 0).  Returns 0,
 * or 69 when the configured store could not answer (the rows then come
 * from the fallback and say so in backend). */
int flexiai_breaker_status(flexiai_client *c, const char *const *names,
                           size_t n, flexiai_breaker_info **out, size_t *nout);
void flexiai_breaker_info_free(flexiai_breaker_info *info, size_t n);

int flexiai_breaker_reset(flexiai_client *c, const char *name);
/* Open for `seconds` (<= 0: until reset). */
int flexiai_breaker_open(flexiai_client *c, const char *name, double seconds);
/* Name of the backend that answers now ("file" or "redis"). */
const char *flexiai_breaker_backend(flexiai_client *c);
/* 1 when the configured store is reachable. */
int flexiai_breaker_store_ok(flexiai_client *c);

/* One breaker event in the Python FlexiAI CircuitBreakerEvent shape. */
typedef struct flexiai_event {
    const char *provider;
    const char *event_type; /* opened|closed|half_open|failure|success */
    const char *worker_id;
    const char *timestamp; /* naive UTC isoformat */
    long failure_count;    /* -1 when absent */
    long success_count;
    const char *json;   /* the raw message; NULL for a resync line */
    int resync;         /* not an event: the state read after a reconnect,
                           since events may have been missed */
    const char *reason; /* resync: why it last changed; else NULL */
} flexiai_event;

/* Return non-zero from the callback to stop watching. */
typedef int (*flexiai_event_fn)(void *ud, const flexiai_event *ev);

/*
 * Subscribe to breaker events (Redis only) and call `fn` for each until it
 * returns non-zero or *stop becomes non-zero.  Reconnects with backoff,
 * reporting through the log callback.  Each time the subscription is made
 * a FLEXIAI_LOG_NOTICE line says where ("watching flexiai:events on redis
 * 127.0.0.1:6379"); after a reconnect `fn` first gets the current state of
 * every configured breaker, with resync set.  Returns 69 with the file
 * store.
 */
int flexiai_breaker_watch(flexiai_client *c, flexiai_event_fn fn, void *ud,
                          volatile sig_atomic_t *stop);

/* ---- the bridge for Python FlexiAI workers ---------------------------- */

/* One transition flexiai_breaker_sync() applied to the shared state. */
typedef struct flexiai_sync_change {
    const char *provider;
    const char *event_type; /* opened | closed | half_open */
    const char *worker_id;  /* the worker that published it */
    const char *timestamp;  /* the event's, naive UTC isoformat */
    const char *state;      /* the breaker's state now */
    long failure_count;     /* in the document now */
    const char *json;       /* the event as published */
} flexiai_sync_change;
typedef void (*flexiai_sync_fn)(void *ud, const flexiai_sync_change *ch);

/*
 * Subscribe to the events channel (Redis only) and apply every other
 * worker's opened / closed / half_open event to the state documents, one
 * atomic script per event; an event not newer than the document's last
 * change is ignored, so replays, out-of-order delivery, several bridges
 * and flexiai's own events change nothing.  `fn` (may be NULL) hears each
 * change applied.  Reconnects with backoff (reported through the log
 * callback) until *stop; returns 0 then, 69 with the file store.
 */
int flexiai_breaker_sync(flexiai_client *c, flexiai_sync_fn fn, void *ud,
                         volatile sig_atomic_t *stop);

/* ---- active probes ---------------------------------------------------- */

/* What one probe found.  Strings are owned by the result. */
typedef struct flexiai_probe_result {
    char *provider;
    char *url;        /* without secrets; may be NULL */
    int reachable;    /* an HTTP answer arrived */
    int credentials;  /* 1 accepted, 0 refused (401/403), -1 unknown */
    int ok;           /* reachable, credentials accepted, 2xx */
    long http_status; /* 0 when no answer */
    int errclass;     /* enum flexiai_errclass; FLEXIAI_E_NONE when ok */
    double latency_ms;
    char *message; /* one line, never a secret; NULL when ok */
} flexiai_probe_result;

/*
 * Ask provider `name` something that costs no tokens (OpenAI and
 * compatible: GET {base}/models; Anthropic: GET /v1/models; Gemini:
 * GET models/{model}; Vertex AI: the model's metadata).  With `record`,
 * the outcome goes to the breaker as a half-open probe's would: a success
 * closes a half-open breaker, a connection failure (connect, timeout,
 * server error) counts as a failure.  Returns 0 when the probe succeeded,
 * 69 when it did not (details in *res), 64 for an unknown provider, 78
 * when its key cannot be resolved.  Free *res with flexiai_probe_free.
 */
int flexiai_probe(flexiai_client *c, const char *name, int record,
                  flexiai_probe_result *res);
void flexiai_probe_free(flexiai_probe_result *res);

/* ---- request ledger --------------------------------------------------- */

/*
 * Every request a command runs can be appended to one SQLite database
 * (WAL) at [log] path, default $XDG_DATA_HOME/flexiai/logs.db; [log] mode
 * full | usage (no prompt or answer text) | off, [log] keep (e.g. 90d).
 * flexiai_complete() itself never logs: the command appends the record
 * once the request is over.  The schema is documented in flexiai-logs(1).
 * Errors are one-line strings; logging must never cost an answer.
 */
typedef struct flexiai_ledger flexiai_ledger;

typedef struct flexiai_ledger_entry {
    const char *command;             /* "complete", "chat", "batch" */
    const char *tag;                 /* --tag, may be NULL */
    const char *conversation_id;     /* may be NULL */
    const flexiai_message *messages; /* as sent, a system message included */
    size_t nmessages;
    const flexiai_result *result;
    int exit_code;
} flexiai_ledger_entry;

/* Append one record as the configuration says (nothing with mode = off)
 * to the ledger's spool, <path>.spool, with one write and no SQLite:
 * flexiai_ledger_open() moves waiting records into the database (and
 * applies [log] keep, at most once a day).  NULL when done, else a
 * malloc'ed one-line reason for a warning. */
char *flexiai_ledger_log(const flexiai_config *cfg,
                         const flexiai_ledger_entry *e);
/* 0 when [log] mode = off. */
int flexiai_ledger_enabled(const flexiai_config *cfg);

/* For many requests in one process (batch): records are kept in memory
 * and appended to the spool together, one locked write per 256 records or
 * 256 KiB (and at flush/free).  NULL from new when mode = off.  add and
 * flush return NULL, or a malloc'ed one-line reason for a warning;
 * records not yet flushed are lost if the process is killed. */
typedef struct flexiai_ledger_writer flexiai_ledger_writer;
flexiai_ledger_writer *flexiai_ledger_writer_new(const flexiai_config *cfg);
char *flexiai_ledger_writer_add(flexiai_ledger_writer *w,
                                const flexiai_ledger_entry *e);
char *flexiai_ledger_writer_flush(flexiai_ledger_writer *w);
void flexiai_ledger_writer_free(flexiai_ledger_writer *w);
/* The same into a ledger opened for writing (a batch's, or one opened
 * while the request ran). */
char *flexiai_ledger_append(flexiai_ledger *l, const flexiai_config *cfg,
                            const flexiai_ledger_entry *e);
/* The database path (malloc'ed), or NULL with *err set (caller frees). */
char *flexiai_ledger_path(const flexiai_config *cfg, char **err);
/* 1 when there is something to read: the database, or records waiting in
 * its spool; 0 when nothing was logged yet (or no path). */
int flexiai_ledger_exists(const flexiai_config *cfg);

/* Open the ledger (write: create it, migrate an older schema).  NULL with
 * *err set (caller frees) when missing, corrupt or unwritable. */
flexiai_ledger *flexiai_ledger_open(const flexiai_config *cfg, int write,
                                    char **err);
void flexiai_ledger_close(flexiai_ledger *l);
const char *flexiai_ledger_error(const flexiai_ledger *l);
/* A warning from opening (records waiting in the spool could not all be
 * moved into the database), NULL when none. */
const char *flexiai_ledger_warning(const flexiai_ledger *l);
/* How many waiting records opening moved into the database. */
long flexiai_ledger_imported(const flexiai_ledger *l);
/* 1 when the spool holds [log] spool_max bytes or more (0 = never): time
 * to move it into the database without waiting for a reader (the
 * commands start `flexiai logs import` in the background, as git starts
 * gc --auto). */
int flexiai_ledger_spool_due(const flexiai_config *cfg);

/* A new conversation id (16 hex digits, malloc'ed). */
char *flexiai_ledger_new_cid(void);
/* Latest conversation id: 0 (*cid malloc'ed), 1 when none, -1 error. */
int flexiai_ledger_latest_cid(flexiai_ledger *l, char **cid);
/* The messages that continue conversation `cid` (its system prompt first
 * when it had one, its last answer last).  0, 1 when unknown, -1 (also
 * when its text was not kept).  Free with flexiai_ledger_messages_free. */
int flexiai_ledger_conversation(flexiai_ledger *l, const char *cid,
                                flexiai_message **msgs, size_t *n);
void flexiai_ledger_messages_free(flexiai_message *msgs, size_t n);

/* "2026-11-01", "2026-11-01 14:30", "2h", "90d", "@EPOCH" -> epoch
 * seconds.  0 or -1. */
int flexiai_ledger_parse_when(const char *s, double *out);

typedef struct flexiai_ledger_query {
    double since, until; /* epoch seconds; 0: unbounded */
    const char *provider, *model, *tag, *conversation_id;
    const char *words; /* full-text search; NULL: none */
    int failed;        /* only records with exit code not 0 */
    long limit;        /* the latest `limit`; <= 0: all */
} flexiai_ledger_query;

enum flexiai_ledger_format {
    FLEXIAI_LEDGER_TEXT = 0,    /* readable text, ends with a newline */
    FLEXIAI_LEDGER_JSON = 1,    /* one JSON object, no newline */
    FLEXIAI_LEDGER_ATTEMPTS = 2 /* text with the attempt trail */
};
/* Called per record, oldest first; return non-zero to stop. */
typedef int (*flexiai_ledger_line_fn)(void *ud, const char *line);
/* Records matching q, formatted.  The number delivered, or -1. */
long flexiai_ledger_each(flexiai_ledger *l, const flexiai_ledger_query *q,
                         int format, flexiai_ledger_line_fn fn, void *ud);
/* One record by id.  0 (*out malloc'ed), 1 when no such id, -1. */
int flexiai_ledger_show(flexiai_ledger *l, long long id, int format,
                        char **out);
/* Delete records older than `before` (epoch seconds): the number, or -1. */
long flexiai_ledger_prune(flexiai_ledger *l, double before);

enum flexiai_ledger_by {
    FLEXIAI_LEDGER_BY_DAY = 1,
    FLEXIAI_LEDGER_BY_PROVIDER = 2,
    FLEXIAI_LEDGER_BY_MODEL = 4,
    FLEXIAI_LEDGER_BY_TAG = 8
};
/* "day" | "provider" | "model" | "tag" -> bit; 0 when unknown. */
int flexiai_ledger_by_from_name(const char *name);
/* Usage totals grouped by `by` (bits) over [since, until) as a JSON array
 * of objects (grouping keys, requests, answers, failovers, failures,
 * failures_by_class, prompt_tokens, completion_tokens, cost: null when
 * unknown), costs from the configured prices.  0 (*json malloc'ed) or -1. */
int flexiai_ledger_usage(flexiai_ledger *l, const flexiai_config *cfg,
                         unsigned by, double since, double until, char **json);
/* Counters in the Prometheus text format.  0 (*out malloc'ed) or -1. */
int flexiai_ledger_prometheus(flexiai_ledger *l, const flexiai_config *cfg,
                              char **out);

#ifdef __cplusplus
}
#endif
#endif
