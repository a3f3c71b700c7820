/*
 * conf-keys.c - the key table: every section and key a configuration may
 * hold, with its type, default and range (the only copy of every default),
 * and the nearest name for one that is not in it (did you mean).
 */
#include "config.h"

#include "conf-int.h"

#include <string.h>

#define NOLIM 0, 0
#define ERRCLASS_LIST                                                          \
    "connect, timeout, rate_limit, quota, overloaded, server, auth, "          \
    "stream_error"

/* Request parameters: valid in [defaults] and in every [provider.NAME]. */
#define PARAM_KEYS(sec, d)                                                       \
    {sec, "temperature", KT_NUMBER, d ? "0.7" : NULL, 0, 2, NULL},               \
        {sec, "max_tokens", KT_INT, d ? "1024" : NULL, 1, 10000000, NULL},       \
        {sec, "top_p", KT_NUMBER, NULL, 0, 1, NULL},                             \
        {sec, "top_k", KT_INT, NULL, 1, 100000, NULL},                           \
        {sec, "timeout", KT_NUMBER, d ? "120" : NULL, 0.001, 86400, NULL},       \
        {sec, "connect_timeout", KT_NUMBER, d ? "10" : NULL, 0.001, 3600, NULL}, \
        {sec, "idle_timeout", KT_NUMBER, d ? "60" : NULL, 0.001, 86400, NULL},   \
        {sec,  "max_response_bytes", KT_INT, d ? "16777216" : NULL,              \
         1024, 1073741824,           NULL},                                      \
        {sec, "system", KT_STRING, NULL, NOLIM, NULL},                           \
        {sec, "reasoning", KT_ENUM, NULL, NOLIM, "none|low|medium|high"},        \
    {                                                                            \
        sec, "stop", KT_LIST, NULL, NOLIM, NULL                                  \
    }

const struct key_def fx_conf_keys[] = {
    PARAM_KEYS("defaults", 1),
    {"defaults", "stream", KT_ENUM, "auto", NOLIM, "auto|yes|no"},
    {"defaults", "on_stream_error", KT_ENUM, "continue", NOLIM,
     "continue|fail"},

    {"failover", "order", KT_LIST, NULL, NOLIM, NULL},
    {"failover", "retries", KT_INT, "1", 0, 100, NULL},
    {"failover", "backoff_base", KT_NUMBER, "0.5", 0, 3600, NULL},
    {"failover", "backoff_max", KT_NUMBER, "8", 0, 86400, NULL},
    {"failover", "retry_after_max", KT_NUMBER, "30", 0, 86400, NULL},
    {"failover", "failover_on_bad_request", KT_BOOL, "no", NOLIM, NULL},
    /* rate limits (engine-limits.c) */
    {"failover", "limit_wait_max", KT_NUMBER, "30", 0, 86400, NULL},
    {"failover", "limit_window", KT_NUMBER, "60", 0.01, 86400, NULL},

    {"breaker", "failure_threshold", KT_INT, "5", 1, 1000000, NULL},
    {"breaker", "recovery_timeout", KT_NUMBER, "60", 0, 31536000, NULL},
    {"breaker", "max_open", KT_NUMBER, "3600", 1, 2592000, NULL},
    {"breaker", "half_open_max_calls", KT_INT, "1", 1, FX_MAX_PROBES, NULL},
    {"breaker", "probe_timeout", KT_NUMBER, NULL, 0.001, 86400, NULL},
    {"breaker", "count", KT_LIST, ERRCLASS_LIST, NOLIM, NULL},

    {"sync", "backend", KT_ENUM, "file", NOLIM, "file|redis|memory"},
    {"sync", "redis_url", KT_SECRET, NULL, NOLIM, NULL},
    {"sync", "redis_host", KT_STRING, "127.0.0.1", NOLIM, NULL},
    {"sync", "redis_port", KT_INT, "6379", 1, 65535, NULL},
    {"sync", "redis_db", KT_INT, "0", 0, 100000, NULL}, /* REDIS_DB_MAX */
    {"sync", "redis_password", KT_SECRET, NULL, NOLIM, NULL},
    {"sync", "redis_username", KT_STRING, NULL, NOLIM, NULL},
    {"sync", "redis_ssl", KT_BOOL, "no", NOLIM, NULL},
    /* the Python FlexiAI's names; redis_timeout is ours and wins */
    {"sync", "redis_socket_timeout", KT_NUMBER, NULL, 0.001, 3600, NULL},
    {"sync", "redis_socket_connect_timeout", KT_NUMBER, NULL, 0.001, 3600,
     NULL},
    {"sync", "redis_timeout", KT_NUMBER, "0.25", 0.001, 3600, NULL},
    {"sync", "redis_tls_ca", KT_STRING, NULL, NOLIM, NULL},
    {"sync", "redis_tls_cert", KT_STRING, NULL, NOLIM, NULL},
    {"sync", "redis_tls_key", KT_STRING, NULL, NOLIM, NULL},
    {"sync", "redis_tls_server_name", KT_STRING, NULL, NOLIM, NULL},
    {"sync", "redis_tls_insecure", KT_BOOL, "no", NOLIM, NULL},
    {"sync", "redis_sentinels", KT_LIST, NULL, NOLIM, NULL},
    {"sync", "redis_sentinel_master", KT_STRING, NULL, NOLIM, NULL},
    {"sync", "redis_sentinel_user", KT_STRING, NULL, NOLIM, NULL},
    {"sync", "redis_sentinel_password", KT_SECRET, NULL, NOLIM, NULL},
    /* the Python FlexiAI's switch: false means no shared state (file) */
    {"sync", "enabled", KT_BOOL, NULL, NOLIM, NULL},
    {"sync", "key_prefix", KT_STRING, "flexiai", NOLIM, NULL},
    {"sync", "channel", KT_STRING, "flexiai:events", NOLIM, NULL},
    {"sync", "state_ttl", KT_INT, "3600", 1, 315360000, NULL},
    {"sync", "worker_id", KT_STRING, NULL, NOLIM, NULL},
    {"sync", "publish_outcomes", KT_BOOL, "no", NOLIM, NULL},

    /* choices NULL: the types lib/providers.c lists */
    {"provider", "type", KT_ENUM, NULL, NOLIM, NULL},
    {"provider", "model", KT_STRING, NULL, NOLIM, NULL},
    {"provider", "priority", KT_INT, NULL, -1000000, 1000000, NULL},
    {"provider", "api_key_env", KT_STRING, NULL, NOLIM, NULL},
    {"provider", "api_key_cmd", KT_STRING, NULL, NOLIM, NULL},
    {"provider", "api_key_timeout", KT_NUMBER, "10", 0.001, 3600, NULL},
    {"provider", "api_key", KT_SECRET, NULL, NOLIM, NULL},
    {"provider", "base_url", KT_STRING, NULL, NOLIM, NULL},
    {"provider", "api_version", KT_STRING, NULL, NOLIM, NULL},
    {"provider", "project", KT_STRING, NULL, NOLIM, NULL},
    {"provider", "location", KT_STRING, NULL, NOLIM, NULL},
    {"provider", "insecure", KT_BOOL, NULL, NOLIM, NULL},
    {"provider", "tls_ca", KT_STRING, NULL, NOLIM, NULL},
    {"provider", "rpm", KT_INT, NULL, 1, 100000000, NULL},
    {"provider", "tpm", KT_INT, NULL, 1, 1000000000000, NULL},
    {"provider", "max_concurrency", KT_INT, NULL, 1, 1000000, NULL},
    {"provider", "schema_mode", KT_ENUM, "native", NOLIM,
     "native|tool|json|prompt"},
    /* openai: Chat Completions or the Responses API */
    {"provider", "api", KT_ENUM, "chat", NOLIM, "chat|responses"},
    /* Anthropic: cache_control markers on the system prompt and the
     * conversation prefix */
    {"provider", "prompt_cache", KT_BOOL, NULL, NOLIM, NULL},
    PARAM_KEYS("provider", 0),

    /* the request ledger (lib/ledger.h); keep is a duration ("90d") */
    {"log", "path", KT_STRING, NULL, NOLIM, NULL},
    {"log", "mode", KT_ENUM, "full", NOLIM, "full|usage|off"},
    {"log", "keep", KT_STRING, NULL, NOLIM, NULL},
    /* bytes waiting in the spool that start an import in the background */
    {"log", "spool_max", KT_INT, "33554432", 0, 1099511627776, NULL},
    /* prices per million tokens, for `flexiai usage`; [price.MODEL] beats
     * the provider's */
    {"provider", "price_input", KT_NUMBER, NULL, 0, 1e9, NULL},
    {"provider", "price_output", KT_NUMBER, NULL, 0, 1e9, NULL},
    {"price", "price_input", KT_NUMBER, NULL, 0, 1e9, NULL},
    {"price", "price_output", KT_NUMBER, NULL, 0, 1e9, NULL},
    /* input read from a prompt cache, and written to it (Anthropic): priced
     * as price_input when unset */
    {"provider", "price_cached_input", KT_NUMBER, NULL, 0, 1e9, NULL},
    {"provider", "price_cache_write", KT_NUMBER, NULL, 0, 1e9, NULL},
    /* a provider batch job's price against the live one (batch
     * --deferred): unset, 0.5 for openai, anthropic and gemini */
    {"provider", "price_batch_factor", KT_NUMBER, NULL, 0, 10, NULL},
    {"price", "price_cached_input", KT_NUMBER, NULL, 0, 1e9, NULL},
    {"price", "price_cache_write", KT_NUMBER, NULL, 0, 1e9, NULL},
    /* the most a command reads as one input: stdin, --messages, /load, a
     * batch line (cmd/tool-msgfile.c) */
    {"defaults", "max_input_bytes", KT_INT, "33554432", 1024, 1073741824, NULL},
    /* [tool.NAME] and [mcp.NAME]: what the commands run (conf-tools.c) */
    {"tool", "command", KT_STRING, NULL, NOLIM, NULL},
    {"tool", "description", KT_STRING, NULL, NOLIM, NULL},
    {"tool", "parameters", KT_STRING, NULL, NOLIM, NULL},
    {"tool", "approve", KT_ENUM, "ask", NOLIM, "ask|auto"},
    {"tool", "timeout", KT_NUMBER, "30", 0.001, 86400, NULL},
    {"tool", "max_output", KT_INT, "65536", 16, 1073741824, NULL},
    {"tool", "env", KT_LIST, NULL, NOLIM, NULL},
    {"mcp", "command", KT_STRING, NULL, NOLIM, NULL},
    {"mcp", "approve", KT_ENUM, "ask", NOLIM, "ask|auto"},
    {"mcp", "timeout", KT_NUMBER, "30", 0.001, 86400, NULL},
    {"mcp", "env", KT_LIST, NULL, NOLIM, NULL},
    {"mcp", "max_output", KT_INT, "65536", 16, 1073741824, NULL},
    /* the response cache (lib/cache.c) */
    {"cache", "mode", KT_ENUM, "off", NOLIM, "off|on"},
    {"cache", "ttl", KT_NUMBER, "86400", 0.001, 315360000, NULL},
    {"cache", "backend", KT_ENUM, "sqlite", NOLIM, "sqlite|redis"},
    {"cache", "path", KT_STRING, NULL, NOLIM, NULL},
    {"cache", "max_bytes", KT_INT, "0", 0, 1099511627776, NULL},
    {"cache", "across_providers", KT_BOOL, "no", NOLIM, NULL},
    /* budgets in the price units (cmd/tool-budget.c) */
    {"budget", "daily", KT_NUMBER, NULL, 0, 1e12, NULL},
    {"budget", "monthly", KT_NUMBER, NULL, 0, 1e12, NULL},
    /* the largest file -a sends (lib/attach.c), and what a provider's model
     * takes as attachments (text, image, pdf; lib/providers/provider-attach.c)
     */
    {"defaults", "max_attachment_bytes", KT_INT, "52428800", 1, 1073741824,
     NULL},
    {"provider", "accepts", KT_LIST, NULL, NOLIM, NULL},
    /* the largest file a provider takes, instead of its type's documented
     * limits (lib/providers/provider-attach.c) */
    {"provider", "max_attachment_bytes", KT_INT, NULL, 1, 1073741824, NULL},
};
const size_t fx_conf_nkeys = sizeof(fx_conf_keys) / sizeof(fx_conf_keys[0]);

const char *const fx_conf_sections[] = {
    "defaults", "failover", "breaker", "sync", "log", "cache", "budget", NULL};

/* [price.MODEL]: a section kind of its own, checked like [price] */
static int
is_price_section(const char *section)
{
    return strncmp(section, "price.", 6) == 0 && section[6] != '\0';
}

/* [tool.NAME] and [mcp.NAME]: "tool" or "mcp", else NULL */
static const char *
tool_section_kind(const char *section)
{
    if (strncmp(section, "tool.", 5) == 0 && section[5] != '\0')
        return "tool";
    if (strncmp(section, "mcp.", 4) == 0 && section[4] != '\0')
        return "mcp";
    return NULL;
}

const struct key_def *
fx_conf_key_def(const char *section, const char *key)
{
    const char *sec =
        strncmp(section, "provider.", 9) == 0 ? "provider" : section;
    if (is_price_section(section))
        sec = "price";
    if (tool_section_kind(section))
        sec = tool_section_kind(section);
    for (size_t i = 0; i < fx_conf_nkeys; i++)
        if (strcmp(fx_conf_keys[i].section, sec) == 0 &&
            strcmp(fx_conf_keys[i].key, key) == 0)
            return &fx_conf_keys[i];
    return NULL;
}

const char *
fx_config_default(const char *section, const char *key)
{
    const struct key_def *d = fx_conf_key_def(section, key);
    return d ? d->def : NULL;
}

int
fx_conf_known_section(const char *section)
{
    for (int i = 0; fx_conf_sections[i]; i++)
        if (strcmp(section, fx_conf_sections[i]) == 0)
            return 1;
    if (is_price_section(section) || tool_section_kind(section))
        return 1;
    return strncmp(section, "provider.", 9) == 0 && section[9] != '\0';
}

/* ---- did you mean ----------------------------------------------------- */

const char *
fx_conf_suggest_key(const char *section, const char *key)
{
    const char *sec =
        strncmp(section, "provider.", 9) == 0 ? "provider" : section;
    if (tool_section_kind(section))
        sec = tool_section_kind(section);
    const char *best = NULL;
    size_t best_d = 4;
    for (size_t i = 0; i < fx_conf_nkeys; i++) {
        if (strcmp(fx_conf_keys[i].section, sec) != 0)
            continue;
        size_t d = fxu_edit_distance(key, fx_conf_keys[i].key);
        if (d < best_d) {
            best_d = d;
            best = fx_conf_keys[i].key;
        }
    }
    return best;
}

const char *
fx_conf_suggest_section(const char *section)
{
    const char *best = NULL;
    size_t best_d = 3;
    for (int i = 0; fx_conf_sections[i]; i++) {
        size_t d = fxu_edit_distance(section, fx_conf_sections[i]);
        if (d < best_d) {
            best_d = d;
            best = fx_conf_sections[i];
        }
    }
    if (best == NULL && strncmp(section, "providers.", 10) == 0)
        return "provider.NAME";
    if (best == NULL && strcmp(section, "provider") == 0)
        return "provider.NAME";
    if (best == NULL &&
        (strncmp(section, "tools.", 6) == 0 || strcmp(section, "tool") == 0))
        return "tool.NAME";
    if (best == NULL && strcmp(section, "mcp") == 0)
        return "mcp.NAME";
    return best;
}
