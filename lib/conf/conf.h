/*
 * conf.h - what lib/conf/ offers the rest of the library: the effective
 * settings (struct fx_settings, read from INI files, the environment and
 * flags), a key's schema default, a provider's resolved key, and the
 * bounded api_key_cmd runner.  Not installed.
 */
#ifndef FX_CONF_H
#define FX_CONF_H

#include "cost.h"
#include "fx.h"

/* ---- settings, defaults, values, keys (conf-*.c) ---------------------- */

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
    int reasoning;           /* enum flexiai_reasoning; 0: unset */
    /* FX_SET_* bits: set by the user (a file, a variable, a flag or the
     * request), not the built-in default; a provider that must leave one
     * out says so only for these */
    unsigned user_set;
};
#define FX_SET_TEMPERATURE 1u
#define FX_SET_TOP_P 2u
#define FX_SET_STOP 4u

struct fx_provider {
    char *name;
    char *type; /* openai | anthropic | gemini | vertex */
    const struct fx_provider_ops *ops;
    char *model;
    long priority; /* 0: none */
    int file_order;
    char *base_url;       /* NULL: the type's default */
    char *api_version;    /* Azure OpenAI when set; Anthropic, Gemini */
    char *project;        /* vertex */
    char *location;       /* vertex */
    int insecure;         /* TLS verification off */
    char *tls_ca;         /* CA file or directory; NULL: the system's */
    long rpm, tpm;        /* requests, tokens per limit_window; 0: none */
    long max_concurrency; /* requests in flight in one process; 0: none */
    int schema_mode;      /* enum fx_schema_mode: how a schema is sent */
    int prompt_cache;     /* Anthropic: mark the prefix for caching */
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
/* The prices of what `provider` answered with `model` (conf-prices.c):
 * [price.MODEL], else [provider.NAME]; 0, or -1 when unknown (price_input
 * or price_output missing). */
/* [provider.NAME] price_batch_factor: what a provider's batch job costs
 * against its live price (default 0.5 for openai, anthropic and gemini,
 * from their docs; 1 for others). */
double fx_conf_batch_factor(const flexiai_config *cfg, const char *provider);
int fx_conf_prices(const flexiai_config *cfg, const char *provider,
                   const char *model, struct fx_prices *p);
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

#endif
