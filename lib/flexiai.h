/*
 * flexiai.h - completions from large language models with automatic
 * failover and circuit breakers shared by every process on a host (file
 * store) or across hosts (Redis).  The request ledger has a header of its
 * own, flexiai-ledger.h.
 *
 * Reading order:
 *   1. Build a configuration: flexiai_config_new(), flexiai_config_load(),
 *      flexiai_config_set() for command-line overrides, then
 *      flexiai_config_validate().  Problems are kept as "FILE:LINE: message"
 *      diagnostics.
 *   2. Make a client from it: flexiai_client_new().
 *   3. Run a request: flexiai_request_init(), fill in the messages (and a
 *      text callback for streaming), call flexiai_complete(); read the
 *      flexiai_result, then flexiai_result_free().
 *   4. Inspect or change breakers: flexiai_breaker_status(),
 *      flexiai_breaker_reset(), flexiai_breaker_open(),
 *      flexiai_breaker_watch().
 *
 * The library never prints.  Warnings and per-attempt notes go to the log
 * callback set with flexiai_client_set_log().
 *
 *
 * Conventions (every call in this header and in flexiai-ledger.h)
 * ---------------------------------------------------------------
 *
 * Errors.  A call that can fail returns a flexiai_code: FLEXIAI_OK (0) on
 * success, otherwise one of the FLEXIAI_E* codes below.  Their values are
 * the sysexits(3) codes the flexiai commands exit with, so a program may
 * hand one to exit(); compare them by name, not by number.  The one-line
 * message that goes with a failure is found where the call worked:
 *
 *   - on the handle the call was made on: flexiai_client_error() (also for
 *     the calls on a client's batch), flexiai_ledger_error(),
 *     flexiai_ledger_writer_error(); a configuration keeps diagnostics
 *     instead (flexiai_config_diag()).  Valid until the next call on
 *     that handle;
 *   - in the result, for a request: flexiai_result.error (and
 *     flexiai_probe_result.message for a probe);
 *   - in *errmsg, for a call that makes a handle and for a call that has
 *     none to keep it on (those taking a const configuration): a string
 *     the caller frees with free(), set on failure only (NULL otherwise).
 *     errmsg may be NULL.
 *
 * A call that makes an object and can fail hands it back through its
 * `out` argument, NULL on failure.  A call that cannot fail returns its
 * value directly: a handle (never NULL), a count, a name, or 1 / 0 for a
 * yes-or-no question.  Deliberate exceptions:
 *   - flexiai_config_set_model() for a provider that is not configured
 *     returns FLEXIAI_EUSAGE with no diagnostic: nothing was changed, and
 *     flexiai_config_has_provider() says the same beforehand;
 *   - the lookups of a name or a date the caller gives
 *     (flexiai_errclass_from_name(), flexiai_ledger_by_from_name(),
 *     flexiai_ledger_parse_when()) return FLEXIAI_EUSAGE and no message:
 *     the string is the reason;
 *   - running out of memory is never returned: the library aborts (see
 *     "Process-wide effects").
 *
 * Ownership.  Every pointer the library returns or fills in says who
 * frees it:
 *   - "caller frees": with free(), unless a flexiai_*_free() is named;
 *     such strings are `char *`;
 *   - "owned by X": valid until X is freed (or the call named replaces
 *     it); never freed by the caller, always `const`;
 *   - "static": valid for the life of the process;
 *   - strings and structs handed to a callback are valid during that
 *     call only.
 * Arguments are borrowed for the duration of the call unless the call
 * says it keeps or copies them.
 *
 * Structs the caller allocates.  flexiai_request, flexiai_result,
 * flexiai_probe_result (and flexiai_ledger_entry, flexiai_ledger_query)
 * start with their _init() function, which sets every field to "unset" or
 * empty, today and for fields later versions add.  Fields are only ever
 * added at the end, and adding one is a new interface (libtool current,
 * age 0): a program built against this header needs a rebuild then.
 * flexiai_message is the exception: a fixed pair that will not grow
 * (arrays of it are passed with a count).
 *
 * Versions.  FLEXIAI_VERSION* below are the header a program was built
 * with; flexiai_version() and flexiai_version_number() the library it
 * runs with.
 *
 * Threads.  A handle (flexiai_config, flexiai_client, flexiai_batch,
 * flexiai_ledger, flexiai_ledger_writer) is used by one thread at a time,
 * together with what it owns; a client uses its configuration, and a
 * batch its client, so those go together.  Different clients (each with
 * its own configuration) may run in different threads at once, with
 * three limits: a program that also uses libcurl itself from other
 * threads calls curl_global_init() before starting them (see below);
 * load and validate configurations one at a time; resolve api_key_cmd
 * keys from one thread at a time
 * (flexiai_config_validate() with resolve_secrets before starting
 * threads, when a configuration uses api_key_cmd).  A loaded
 * flexiai_schema is never changed and may be shared by requests in any
 * thread.  The calls that take no handle (versions, names) may be made
 * from any thread.  Callbacks run in the thread that made the call, inside
 * it.
 *
 * Process-wide effects.  The library never writes to stdout or stderr and
 * never calls exit().  Beyond that it changes the process in these ways:
 *   - out of memory: abort(), as in xmalloc;
 *   - the first transfer (not the client: an answer from the cache needs
 *     none) calls curl_global_init(CURL_GLOBAL_DEFAULT) once for the
 *     process; nothing calls curl_global_cleanup().  With libcurl older
 *     than 7.84 that call must not race any other thread's use of libcurl:
 *     flexiai's own threads never do, and a program that uses libcurl
 *     itself calls curl_global_init() first, which makes flexiai's a count;
 *   - libcurl (its first use), libsqlite3 (the first database opened:
 *     the ledger, the response cache) and libmagic (the first attachment
 *     typed) are loaded with dlopen() and stay loaded;
 *   - once a secret is in memory (a secret setting such as api_key read
 *     from a file by flexiai_config_load(), a Redis password taken by
 *     flexiai_config_validate(), a key resolved), a Linux process is made
 *     non-dumpable for good, prctl(PR_SET_DUMPABLE, 0): no core dump holds
 *     a key, and other processes of the same user cannot ptrace it.
 *     FLEXIAI_ALLOW_CORE=1 in the environment turns this off (debugging);
 *   - api_key_cmd runs as /bin/sh -c in a child of its own process group
 *     (stdin /dev/null, nothing open beyond fd 2), when a key is resolved:
 *     by flexiai_config_validate() with resolve_secrets, else at the
 *     provider's first request or probe.  While it runs (at most
 *     api_key_timeout seconds) the handlers of SIGINT and SIGTERM are
 *     replaced for the whole process; one that arrives kills the command,
 *     and is raised again once the program's own handlers are back.  The
 *     child is reaped by its pid: a SIGCHLD handler reaping every child
 *     (waitpid(-1)) would take its status away;
 *   - no other signal handler is installed, and none is changed: the
 *     Redis connections send with MSG_NOSIGNAL, and libcurl runs with
 *     CURLOPT_NOSIGNAL (no SIGALRM for name lookups, and no SIGPIPE
 *     handling of its own), so a program that must not die of SIGPIPE
 *     ignores it, as the flexiai commands do;
 *   - the environment is read (HOME, XDG_*, FLEXIAI_*, the providers' key
 *     variables), never written; files are written under the breaker
 *     state directory ([sync] state_dir) and the ledger's path.
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

/* ---- return codes ---------------------------------------------------- */

/* What a call that can fail returns (see "Errors" above). */
typedef enum flexiai_code {
    FLEXIAI_OK = 0,
    FLEXIAI_EUSAGE = 64,       /* bad argument: unknown name, no messages */
    FLEXIAI_EDATA = 65,        /* input or request rejected as invalid */
    FLEXIAI_ENOINPUT = 66,     /* no such file, record or conversation */
    FLEXIAI_EUNAVAILABLE = 69, /* no provider answered, mixed reasons; the
                                  configured store did not answer */
    FLEXIAI_ESOFTWARE = 70,    /* internal error */
    FLEXIAI_ECANTCREAT = 73,   /* cannot create an output file */
    FLEXIAI_EIO = 74,          /* cannot read or write a file or database */
    FLEXIAI_ETEMPFAIL = 75,    /* every failure was transient: try later */
    FLEXIAI_EPROTOCOL = 76,    /* every provider answered; no answer matched
                                  the request's schema */
    FLEXIAI_ENOPERM = 77,      /* every provider refused our credentials */
    FLEXIAI_ECONFIG = 78,      /* configuration error */
    FLEXIAI_EINTR = 130        /* interrupted (cancel, stop) */
} flexiai_code;

/* ---- configuration ---------------------------------------------------- */

typedef struct flexiai_config flexiai_config;

/* An empty configuration (never NULL); free with flexiai_config_free(). */
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
flexiai_code flexiai_config_load(flexiai_config *cfg, const char *sysconf_path,
                                 const char *path);

/* Set one value with origin "flag" (validated like any other value).
 * FLEXIAI_ECONFIG with a diagnostic for a key that does not exist. */
flexiai_code flexiai_config_set(flexiai_config *cfg, const char *section,
                                const char *key, const char *value);

/*
 * Check every value and build the effective settings.  With
 * `resolve_secrets`, run every provider's api_key_cmd now (config check);
 * otherwise keys are resolved when a provider is first used.  Returns
 * FLEXIAI_OK or FLEXIAI_ECONFIG.  Warnings (e.g. a group-readable file
 * holding api_key) are diagnostics with is_error == 0.
 */
flexiai_code flexiai_config_validate(flexiai_config *cfg, int resolve_secrets);

typedef struct flexiai_diag {
    int is_error;
    const char *text; /* "FILE:LINE: message" or "env NAME: message" */
} flexiai_diag;

/* The diagnostics so far, sorted by file and line once validated; owned
 * by cfg.  flexiai_config_diag() is NULL for i >= the count. */
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

/* Effective entries in display order, and their number; the array is
 * owned by cfg, replaced by the next call. */
size_t flexiai_config_entries(flexiai_config *cfg,
                              const flexiai_config_entry **entries);

/* The files flexiai_config_load() looked at, for messages: "/etc/flexiai/
 * config.ini (not found), /home/u/.config/flexiai/config.ini", and a note
 * when HOME and XDG_CONFIG_HOME are unset.  Owned by cfg. */
const char *flexiai_config_sources(const flexiai_config *cfg);

/* "no providers configured (looked in FILES, and at VARIABLES: all unset);
 * add ..." for when flexiai_config_providers() finds none.  Caller frees. */
char *flexiai_config_why_no_providers(const flexiai_config *cfg);

/* Configured provider names in failover order (after validate), and their
 * number; the array and names are owned by cfg. */
size_t flexiai_config_providers(const flexiai_config *cfg,
                                const char *const **names);

/*
 * What a command needs to know of the effective settings (after
 * flexiai_config_validate()).  Strings are owned by cfg.
 */
typedef enum flexiai_stream_mode {
    FLEXIAI_STREAM_AUTO = 0, /* [defaults] stream = auto: when a terminal
                                reads the answer */
    FLEXIAI_STREAM_ALWAYS,   /* stream = yes */
    FLEXIAI_STREAM_NEVER     /* stream = no */
} flexiai_stream_mode;

/* [defaults] on_stream_error: what a broken stream that showed text
 * leads to. */
typedef enum flexiai_stream_error_mode {
    FLEXIAI_STREAM_CONTINUE = 0, /* ask the next provider to continue */
    FLEXIAI_STREAM_FAIL = 1      /* keep the partial text, fail with 75 */
} flexiai_stream_error_mode;

/* [sync] backend: where breaker state lives. */
typedef enum flexiai_backend {
    FLEXIAI_BACKEND_FILE = 0, /* locked files, one host */
    FLEXIAI_BACKEND_REDIS     /* Redis, shared across hosts */
} flexiai_backend;

flexiai_stream_mode flexiai_config_stream_mode(const flexiai_config *cfg);
flexiai_stream_error_mode
flexiai_config_on_stream_error(const flexiai_config *cfg);
flexiai_backend flexiai_config_backend(const flexiai_config *cfg);
/* "file" or "redis" ("file" for an unknown value); static. */
const char *flexiai_backend_name(flexiai_backend backend);
/* [defaults] system, or NULL when none. */
const char *flexiai_config_system(const flexiai_config *cfg);
/* 1 when `name` is a configured provider, else 0. */
int flexiai_config_has_provider(const flexiai_config *cfg, const char *name);
/* A provider's model ("" when it has none), NULL when unknown. */
const char *flexiai_config_provider_model(const flexiai_config *cfg,
                                          const char *name);

/*
 * The -m rule: `model` for `provider`, or for the first provider in
 * failover order when provider is NULL.  Call after a successful
 * flexiai_config_validate(); validates again.  Returns FLEXIAI_OK,
 * FLEXIAI_EUSAGE when there is no such provider (nothing changed, no
 * diagnostic), or FLEXIAI_ECONFIG with diagnostics recorded.
 */
flexiai_code flexiai_config_set_model(flexiai_config *cfg, const char *provider,
                                      const char *model);

/* ---- client --------------------------------------------------------- */

typedef struct flexiai_client flexiai_client;

typedef enum flexiai_log_level {
    FLEXIAI_LOG_WARN = 1, /* once-per-process warnings (store fallback) */
    FLEXIAI_LOG_NOTICE,   /* failover notices (chat shows them) */
    FLEXIAI_LOG_ATTEMPT,  /* one line per attempt (-v) */
    FLEXIAI_LOG_DEBUG
} flexiai_log_level;
/* One line, without a newline; msg is valid during the call only. */
typedef void (*flexiai_log_fn)(void *ud, flexiai_log_level level,
                               const char *msg);

/*
 * A client for cfg, which must be validated and must outlive it.  Returns
 * FLEXIAI_OK with *out, or FLEXIAI_ESOFTWARE (libcurl cannot start) or
 * FLEXIAI_ECONFIG (the breaker state directory is unusable) with *errmsg.
 * Redis being down is not a failure: the client falls back to the file
 * store and says so through the log callback.
 */
flexiai_code flexiai_client_new(flexiai_config *cfg, flexiai_client **out,
                                char **errmsg);
void flexiai_client_free(flexiai_client *c);
/* fn may be NULL (no log); ud is kept and passed back. */
void flexiai_client_set_log(flexiai_client *c, flexiai_log_fn fn, void *ud);
/* The message of the last failed call on this client or on one of its
 * batches, "" when none; owned by c, replaced by the next failure. */
const char *flexiai_client_error(const flexiai_client *c);

/* ---- requests ------------------------------------------------------- */

/* A file, a URL or bytes sent with a message: an image (PNG, JPEG, GIF,
 * WebP), a PDF or a text file.  Exactly one of path, url and data is set.
 * Borrowed like the message (flexiai_batch_submit() copies it). */
typedef struct flexiai_attachment {
    const char *path; /* a file, read when the request is sent */
    const char *url;  /* an http or https URL */
    const void *data; /* bytes in memory (e.g. stdin), len of them */
    size_t len;
    /* "image/png", "application/pdf", "text/plain", ...; NULL: decided
     * from the content */
    const char *mime;
    /* shown to the model with a text file; NULL: the path's base name */
    const char *name;
} flexiai_attachment;

/* What flexiai_attachment_check() found: the type sent, the size and the
 * SHA-256 of the bytes (a URL: size -1, sha256 ""). */
typedef struct flexiai_attachment_info {
    char mime[96];
    long long size;
    char sha256[65];
} flexiai_attachment_info;

/* Check an attachment before a request carries it, as a command does
 * before any traffic: the file can be read (else FLEXIAI_ENOINPUT), it is
 * at most [defaults] max_attachment_bytes of cfg (cfg may be NULL: the
 * default) and of a type flexiai sends (else FLEXIAI_EDATA); a URL is
 * http or https and its type is known (a->mime or its name).  FLEXIAI_OK
 * with *info, else *errmsg (one line naming the file; caller frees). */
flexiai_code flexiai_attachment_check(const flexiai_config *cfg,
                                      const flexiai_attachment *a,
                                      flexiai_attachment_info *info,
                                      char **errmsg);

/* One call a model asked for, or the same call in the history sent back:
 * the provider's call id, the tool's name and its arguments as JSON
 * object text.  In a result the strings are owned by the result. */
typedef struct flexiai_tool_call {
    char *id;
    char *name;
    char *arguments;
} flexiai_tool_call;

/* A tool a request offers the model: its name ([A-Za-z0-9_-], at most 64
 * bytes), what it does, and its parameters as JSON Schema object text
 * (NULL: no parameters). */
typedef struct flexiai_tool {
    const char *name;
    const char *description;
    const char *parameters;
} flexiai_tool;

typedef struct flexiai_message {
    const char *role; /* "system", "user", "assistant" or "tool" */
    const char *content;
    /* An assistant turn's provider state, as the result's reasoning_state
     * gave it (JSON text: thinking blocks with their signatures, thought
     * signatures), sent back so the next turn is accepted; NULL when
     * none.  A provider of another type ignores it. */
    const char *reasoning_state;
    /* Files sent with a user turn (NULL / 0: none). */
    const flexiai_attachment *attachments;
    size_t nattachments;
    /* An assistant turn's tool calls, as a result gave them (NULL / 0:
     * none; content may then be "" or NULL). */
    const flexiai_tool_call *tool_calls;
    size_t ntool_calls;
    /* role "tool": the result of the call with this id and name; content
     * is the result text, is_error non-zero when the tool failed. */
    const char *tool_call_id;
    const char *tool_name;
    int is_error;
} flexiai_message;

/* How much the model should reason before answering; UNSET leaves it to
 * the configuration ([defaults] reasoning). */
typedef enum flexiai_reasoning {
    FLEXIAI_REASONING_UNSET = 0,
    FLEXIAI_REASONING_NONE,
    FLEXIAI_REASONING_LOW,
    FLEXIAI_REASONING_MEDIUM,
    FLEXIAI_REASONING_HIGH
} flexiai_reasoning;

/*
 * Structured output.  A schema is loaded once from a SPEC (a file holding
 * a JSON Schema, inline JSON Schema text starting with '{', or the concise
 * DSL 'name, age int: years, tags [str]') and may be attached to any
 * number of requests.  With `multi`, the model is asked for an object
 * {"items": [...]} whose items match the schema, and the result's json is
 * that array.  See flexiai-complete(1) for the supported keywords.
 */
typedef struct flexiai_schema flexiai_schema;

/* Returns FLEXIAI_OK with *out (free with flexiai_schema_free()), or with
 * *errmsg: FLEXIAI_ENOINPUT the file is missing or unreadable,
 * FLEXIAI_EDATA the file holds no valid JSON Schema, FLEXIAI_EUSAGE
 * malformed inline JSON or DSL, or an unsupported keyword (named). */
flexiai_code flexiai_schema_load(const char *spec, int multi,
                                 flexiai_schema **out, char **errmsg);
/* The same from text only (inline JSON Schema or the DSL), never a file:
 * for a SPEC that comes from untrusted input. */
flexiai_code flexiai_schema_load_inline(const char *spec, int multi,
                                        flexiai_schema **out, char **errmsg);
void flexiai_schema_free(flexiai_schema *s);
/* The JSON Schema as sent to providers (for multi: the {"items": [...]}
 * wrapper), pretty-printed; caller frees. */
char *flexiai_schema_text(const flexiai_schema *s);

/* Text pieces as they arrive (text is valid during the call only); return
 * non-zero to stop the request. */
typedef int (*flexiai_text_fn)(void *ud, const char *text, size_t len);

/*
 * One request.  Start with flexiai_request_init(): every override below
 * is then unset and the configuration decides.  Strings and arrays are
 * borrowed: flexiai_complete() reads them while it runs,
 * flexiai_batch_submit() copies them.
 */
typedef struct flexiai_request {
    const flexiai_message *messages;
    size_t nmessages;
    const char *provider; /* only this provider (NULL: all, in order) */
    int no_failover;      /* only the first usable provider */
    int stream;           /* 1: stream through on_text */
    flexiai_stream_error_mode on_stream_error;
    flexiai_text_fn on_text;
    void *ud;
    /* Set to non-zero (e.g. from a SIGINT handler) to abort at once. */
    volatile sig_atomic_t *cancel;
    /* Overrides of the configuration's request settings, for this request
     * only.  `model` is for the provider named by `provider`, else for the
     * first in failover order (the -m rule); the rest replace [defaults]
     * and [provider.*] values for every provider tried. */
    const char *model;
    const char *system; /* replaces [defaults] system */
    int has_temperature;
    double temperature; /* 0 to 2, when has_temperature */
    int has_top_p;
    double top_p;            /* 0 to 1, when has_top_p */
    long top_k;              /* > 0 */
    long max_tokens;         /* > 0 */
    const char *const *stop; /* stop sequences, replacing the configured */
    size_t nstop;            /* ones when > 0 */
    double timeout;          /* seconds per attempt, > 0 */
    double connect_timeout;  /* seconds, > 0 */
    double idle_timeout;     /* seconds without a byte streaming, > 0 */
    long max_response_bytes; /* one answer, > 0 */
    flexiai_reasoning reasoning;
    /* Structured output (NULL: none).  Each answer is checked against it;
     * one that does not match is retried once at the same provider with
     * the validation error added to the conversation, then the next
     * provider is tried.  Streaming is off for such a request.  Borrowed
     * by flexiai_batch_submit() too: it must outlive the request. */
    const flexiai_schema *schema;
    /* Ask for the reasoning text or summary where the API makes it
     * optional (OpenAI reasoning summaries): the caller will show or keep
     * it (result.reasoning). */
    int want_reasoning;
    /* 1: a local rpm/tpm limit on the last provider the request may try
     * never fails it: it waits for capacity however long (a batch is a
     * throughput job); 0: it waits up to [failover] limit_wait_max, then
     * the next provider is tried. */
    int wait_limits;
    /* Tools the model may call (NULL / 0: none).  An answer that calls
     * tools ends with finish_reason "tool_calls" and result.tool_calls;
     * the caller runs them and sends the history back with the results
     * (role "tool" messages).  Copied by flexiai_batch_submit(). */
    const flexiai_tool *tools;
    size_t ntools;
    /* The response cache: 0 the configuration decides ([cache] mode),
     * 1 use it, -1 do not; cache_ttl > 0 replaces [cache] ttl (seconds). */
    int cache;
    double cache_ttl;
    /* The most this request may cost in the price units (a budget's
     * remainder), when has_budget: an attempt whose estimate is over it is
     * not sent (class budget). */
    int has_budget;
    double budget;
} flexiai_request;

/* Every field unset: no messages, no callback, the configuration's
 * settings. */
void flexiai_request_init(flexiai_request *req);

/* Error classes, as decided from status, headers and body. */
typedef enum flexiai_errclass {
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
    FLEXIAI_E_LOCAL_RESOURCE,     /* ours, not the provider's: out of file
                                     descriptors or memory (EMFILE, ENFILE,
                                     ENOMEM); never counts against a breaker */
    FLEXIAI_E_UNSUPPORTED,        /* skipped: the model cannot take what the
                                     request holds (an attachment's type, tools);
                                     no traffic sent, never counts against a
                                     breaker */
    FLEXIAI_E_BUDGET /* not sent: the request's estimate is over the
                        budget left */
    /* later versions may add classes: treat an unknown one as internal */
} flexiai_errclass;

/* "rate_limit", ...; "internal" for a value that is no class; static. */
const char *flexiai_errclass_name(flexiai_errclass cls);
/* The class named `name` (any case): FLEXIAI_OK with *cls, or
 * FLEXIAI_EUSAGE for a name that is none. */
flexiai_code flexiai_errclass_from_name(const char *name,
                                        flexiai_errclass *cls);

/* One attempt at one provider; strings are owned by the result. */
typedef struct flexiai_attempt {
    char *provider;
    char *model;
    char *outcome; /* "success", "error", "skipped", "retry",
                      "interrupted" */
    flexiai_errclass errclass;
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
    /* What this attempt was billed, when the provider said (has_usage):
     * an attempt that answered but was not used (invalid_output, a
     * broken stream) is paid for too. */
    int has_usage;
    long prompt_tokens, completion_tokens;
    long cached_tokens, cache_write_tokens, reasoning_tokens;
} flexiai_attempt;

/* What a request came to.  Every pointer is owned by the result: free
 * them all with flexiai_result_free(). */
typedef struct flexiai_result {
    char *text; /* whole answer (also for streamed requests) */
    char *provider;
    char *model;
    char *finish_reason; /* stop|length|content_filter|tool_calls|error */
    /* Tokens summed over every attempt that has usage (has_usage: any
     * does), also when the request failed. */
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
    /* Parts of prompt_tokens / completion_tokens, 0 when unknown: input
     * read from a prompt cache, input written to it (Anthropic), output
     * spent on reasoning. */
    long cached_tokens, cache_write_tokens, reasoning_tokens;
    /* Reasoning text or summary the provider returned; NULL when none.
     * Never part of text. */
    char *reasoning;
    /* The answer's provider state to keep with this assistant turn in
     * the history (flexiai_message.reasoning_state); NULL when none. */
    char *reasoning_state;
    /* The request's cost in the configured price units, summed over every
     * billed attempt, when prices are set (has_cost). */
    int has_cost;
    double cost;
    /* The tool calls the answer asks for (finish_reason "tool_calls"), in
     * the model's order; NULL / 0 when none. */
    flexiai_tool_call *tool_calls;
    size_t ntool_calls;
    /* 1: answered from the response cache (no traffic, no tokens). */
    int cached;
} flexiai_result;

/* Empty: safe to pass to flexiai_result_free() before any request. */
void flexiai_result_init(flexiai_result *res);
/* Frees what res holds and leaves it empty; res itself is the caller's. */
void flexiai_result_free(flexiai_result *res);

/* Run a request with failover.  Returns FLEXIAI_OK, or FLEXIAI_EDATA,
 * EUNAVAILABLE, ETEMPFAIL, EPROTOCOL, ENOPERM, ECONFIG, EUSAGE (unknown
 * provider), ENOINPUT (no messages), EINTR or ESOFTWARE; *res is filled in
 * every case (res->error says why), its old contents ignored. */
flexiai_code flexiai_complete(flexiai_client *c, const flexiai_request *req,
                              flexiai_result *res);

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
 * One batch belongs to the thread of its client; the client must outlive
 * it.  A failed call's message is the client's (flexiai_client_error()).
 */
typedef struct flexiai_batch flexiai_batch;

/* Never NULL; free with flexiai_batch_free(). */
flexiai_batch *flexiai_batch_new(flexiai_client *c);
/* Cancels what is still running, drops uncollected results. */
void flexiai_batch_free(flexiai_batch *b);
/* Start a request.  The request, its messages, strings and stop list are
 * copied (the caller may free them at once); req->cancel, on_text, ud and
 * schema are kept as given (on_text is called from flexiai_batch_run()).
 * `tag` comes back with the result.  Returns FLEXIAI_OK, or
 * FLEXIAI_EUSAGE for a request without messages. */
flexiai_code flexiai_batch_submit(flexiai_batch *b, const flexiai_request *req,
                                  void *tag);
/* Move every request on until at least one is finished and not yet
 * collected, nothing is pending, or timeout_ms passed (< 0: no limit).
 * Returns the number of finished, uncollected requests. */
size_t flexiai_batch_run(flexiai_batch *b, int timeout_ms);
/* Take a finished request, oldest first: 1 with *res (filled as by
 * flexiai_complete(); free it with flexiai_result_free()), *code (what
 * flexiai_complete() would have returned) and *tag; 0 when none is
 * finished (*res untouched).  code and tag may be NULL. */
int flexiai_batch_next(flexiai_batch *b, flexiai_result *res,
                       flexiai_code *code, void **tag);
/* Submitted and not yet collected. */
size_t flexiai_batch_pending(const flexiai_batch *b);
/* How many requests wait for a local rate limit; for the one whose next
 * try comes first, its provider's name, "rpm" or "tpm", and the seconds until
 * its next try (pointers into b, valid until the next call on b).  Any out
 * pointer may be NULL. */
size_t flexiai_batch_waiting(const flexiai_batch *b, const char **provider,
                             const char **limit, double *seconds);
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
    double retry_at;         /* open: when a probe may go; 0 when none */
    char *changed_by;        /* worker id of the last change, may be NULL */
    char *reason;            /* why it last changed, may be NULL */
    flexiai_backend backend; /* the store that answered */
    int usable;              /* a request now would be admitted */
    /* the last counted failure the state holds: its error class
     * ("overloaded", ..., "manual" for flexiai_breaker_open_reason()) and
     * message; NULL when none */
    char *last_error_class;
    char *last_error;
} flexiai_breaker_info;

/* Status of `names` (all configured providers when n == 0): *out is an
 * array of *nout rows, the caller frees it with
 * flexiai_breaker_info_free().  Returns FLEXIAI_OK; FLEXIAI_EUNAVAILABLE
 * when the configured store could not answer (the rows are then filled
 * from the fallback and say so in backend); FLEXIAI_EUSAGE for an invalid
 * name (nothing filled). */
flexiai_code flexiai_breaker_status(flexiai_client *c, const char *const *names,
                                    size_t n, flexiai_breaker_info **out,
                                    size_t *nout);
void flexiai_breaker_info_free(flexiai_breaker_info *info, size_t n);

/* Close breaker `name` and clear its counts.  FLEXIAI_OK, FLEXIAI_EUSAGE
 * (invalid name), FLEXIAI_ETEMPFAIL (the Redis store cannot be reached:
 * nothing falls back here) or FLEXIAI_ESOFTWARE (the file store failed). */
flexiai_code flexiai_breaker_reset(flexiai_client *c, const char *name);
/* Open for `seconds` (<= 0: until reset; at most FLEXIAI_FORCE_OPEN_MAX).
 * Returns as flexiai_breaker_reset(). */
flexiai_code flexiai_breaker_open(flexiai_client *c, const char *name,
                                  double seconds);
/* The same, keeping why (one line, printable ASCII, cut at 199 bytes): the
 * state holds it as its last error, class "manual", and the Redis store's
 * "opened" event carries it as metadata.reason.  NULL or "": no reason,
 * as flexiai_breaker_open(). */
flexiai_code flexiai_breaker_open_reason(flexiai_client *c, const char *name,
                                         double seconds, const char *reason);
/* The longest a breaker may be opened by hand (breaker open --for), in
 * seconds: 30 days.  A state document is never trusted beyond it. */
#define FLEXIAI_FORCE_OPEN_MAX 2592000.0
/* The backend that answers now: FLEXIAI_BACKEND_FILE after a fallback. */
flexiai_backend flexiai_breaker_backend(flexiai_client *c);
/* 1 when the configured store is reachable, else 0. */
int flexiai_breaker_store_ok(flexiai_client *c);

/* One breaker event in the Python FlexiAI CircuitBreakerEvent shape.
 * Strings are valid during the callback only. */
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
 * every configured breaker, with resync set.  Returns FLEXIAI_OK once
 * stopped, FLEXIAI_EUNAVAILABLE with the file store.
 */
flexiai_code flexiai_breaker_watch(flexiai_client *c, flexiai_event_fn fn,
                                   void *ud, volatile sig_atomic_t *stop);

/* ---- the bridge for Python FlexiAI workers ---------------------------- */

/* One transition flexiai_breaker_sync() applied to the shared state.
 * Strings are valid during the callback only. */
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
 * callback) until *stop; returns FLEXIAI_OK then, FLEXIAI_EUNAVAILABLE
 * with the file store.
 */
flexiai_code flexiai_breaker_sync(flexiai_client *c, flexiai_sync_fn fn,
                                  void *ud, volatile sig_atomic_t *stop);

/* ---- active probes ---------------------------------------------------- */

/* What one probe found.  Strings are owned by the result: free them with
 * flexiai_probe_free(). */
typedef struct flexiai_probe_result {
    char *provider;
    char *url;                 /* without secrets; may be NULL */
    int reachable;             /* an HTTP answer arrived */
    int credentials;           /* 1 accepted, 0 refused (401/403), -1 unknown */
    int ok;                    /* reachable, credentials accepted, 2xx */
    long http_status;          /* 0 when no answer */
    flexiai_errclass errclass; /* FLEXIAI_E_NONE when ok */
    double latency_ms;
    char *message; /* one line, never a secret; NULL when ok */
} flexiai_probe_result;

/* Empty: safe to pass to flexiai_probe_free() before any probe. */
void flexiai_probe_result_init(flexiai_probe_result *res);

/*
 * Ask provider `name` something that costs no tokens (OpenAI and
 * compatible: GET {base}/models; Anthropic: GET /v1/models; Gemini:
 * GET models/{model}; Vertex AI: the model's metadata).  With `record`,
 * the outcome goes to the breaker as a half-open probe's would: a success
 * closes a half-open breaker, a connection failure (connect, timeout,
 * server error) counts as a failure.  Returns FLEXIAI_OK when the probe
 * succeeded, FLEXIAI_EUNAVAILABLE when it did not, FLEXIAI_EUSAGE for an
 * unknown provider, FLEXIAI_ECONFIG when its key cannot be resolved; *res
 * is filled in every case (its old contents ignored), res->message and
 * the client's error say why.
 */
flexiai_code flexiai_probe(flexiai_client *c, const char *name, int record,
                           flexiai_probe_result *res);
/* Frees what res holds and leaves it empty. */
void flexiai_probe_free(flexiai_probe_result *res);

/* ---- model lists ------------------------------------------------------ */

/* One model a provider lists.  Strings are owned by the list. */
typedef struct flexiai_model {
    char *id;            /* as `model` takes it: "gpt-6-luna" */
    char *display_name;  /* NULL when the API gives none */
    char *shutdown_date; /* "YYYY-MM-DD" when the API gives one (OpenAI's
                            shutdown_date), else NULL */
} flexiai_model;

/* What flexiai_models() found; free with flexiai_model_list_free(). */
typedef struct flexiai_model_list {
    char *provider;
    flexiai_model *models; /* in the provider's order */
    size_t nmodels;
    flexiai_errclass errclass; /* FLEXIAI_E_NONE when listed */
    long http_status;          /* of the last page asked; 0: no answer */
    char *message;             /* one line, never a secret; NULL when ok */
} flexiai_model_list;

/*
 * The models provider `name` offers, from its free listing endpoint (the
 * one flexiai_probe() asks; no tokens), every page of it.  FLEXIAI_OK, or
 * FLEXIAI_EUSAGE (no such provider), FLEXIAI_ECONFIG (no key; a type
 * without a list: Vertex AI), FLEXIAI_ENOPERM (the key was refused),
 * FLEXIAI_EUNAVAILABLE (anything else), with out->message.  Breakers are
 * neither asked nor told.
 */
flexiai_code flexiai_models(flexiai_client *c, const char *name,
                            flexiai_model_list *out);
/* Frees what l holds and leaves it empty. */
void flexiai_model_list_free(flexiai_model_list *l);

/* ---- tools and MCP servers ([tool.NAME], [mcp.NAME]) ------------------ */

/*
 * A configured tool or MCP server, for the commands that run them (after
 * flexiai_config_validate(); the library itself never runs one).  A
 * section with a mistake (no command, an unclosed quote, a bad name) is
 * a diagnostic and not listed.  Strings and arrays are owned by cfg.
 */
typedef struct flexiai_tool_conf {
    const char *name;        /* NAME: [A-Za-z0-9_-], 1 to 64 of them */
    int is_mcp;              /* 1: [mcp.NAME], 0: [tool.NAME] */
    const char *const *argv; /* command, split (never through a shell):
                                words apart by blanks; '...' literal;
                                "..." with \" and \\; \ outside quotes
                                takes the next byte; NULL-ended, not empty */
    const char *description; /* [tool] only; NULL when unset */
    const char *parameters;  /* [tool] only: JSON Schema or the schema DSL
                                as written; NULL when unset */
    int approve_auto;        /* approve = auto */
    double timeout;          /* seconds: a call (an MCP server's start too) */
    long max_output;         /* bytes of a result kept */
    const char *const *env;  /* the variables passed on, NULL-ended */
    const char *where;       /* "FILE:LINE" of its command */
} flexiai_tool_conf;

/* The configured tools and MCP servers in file order, and their number. */
size_t flexiai_config_tools(const flexiai_config *cfg,
                            const flexiai_tool_conf **tools);
/* ---- the response cache ([cache]) and the budgets' shared spend ---------- */

/* What the configured cache holds.  `where` is the caller's: free it with
 * flexiai_cache_info_free(). */
typedef struct flexiai_cache_info {
    long long entries, bytes;
    long long hits, misses; /* lookups counted since the last clear */
    double oldest;          /* epoch seconds of the oldest entry; 0: none */
    char *where;            /* the SQLite file, or "redis HOST:PORT" */
} flexiai_cache_info;

/* FLEXIAI_OK with *out, or FLEXIAI_EUNAVAILABLE (the cache cannot be
 * opened or read; the client's error says why). */
flexiai_code flexiai_cache_stats(flexiai_client *c, flexiai_cache_info *out);
void flexiai_cache_info_free(flexiai_cache_info *info);
/* Remove every entry (and the counts); *removed (may be NULL): how many.
 * Returns as flexiai_cache_stats(). */
flexiai_code flexiai_cache_clear(flexiai_client *c, long long *removed);
/* Remove entries older than [cache] ttl, then the oldest until at most
 * [cache] max_bytes remain (SQLite; Redis evicts by its own maxmemory). */
flexiai_code flexiai_cache_prune(flexiai_client *c, long long *removed);
/* Keep res, provider res->provider's answer to req got some other way (a
 * provider batch job), in the response cache under the key a live
 * request would look up: when the cache is on for req (req->cache, else
 * [cache] mode) and res is an answer the engine keeps (text, no tool
 * calls, a schema's JSON when it has one).  FLEXIAI_OK whether kept or
 * not; FLEXIAI_EUSAGE when res names no configured provider or req has
 * no messages. */
flexiai_code flexiai_cache_keep(flexiai_client *c, const flexiai_request *req,
                                const flexiai_result *res);

/* With the Redis store ([sync] backend = redis): the money spent this UTC
 * day and month by every host, as flexiai_budget_shared_add() counted it
 * (keys PREFIX:spend:day:YYYY-MM-DD and PREFIX:spend:month:YYYY-MM).
 * FLEXIAI_OK, or FLEXIAI_EUNAVAILABLE (another store, Redis unreachable;
 * the client's error says why). */
flexiai_code flexiai_budget_shared_spent(flexiai_client *c, double *day,
                                         double *month);
/* Add a billed request's cost to both counters.  Returns as above. */
flexiai_code flexiai_budget_shared_add(flexiai_client *c, double cost);
/* [budget] `which` ("daily" or "monthly"): 1 with *amount, 0 unset. */
int flexiai_config_budget(const flexiai_config *cfg, const char *which,
                          double *amount);

#ifdef __cplusplus
}
#endif
#endif
