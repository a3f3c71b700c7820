/*
 * conf-validate.c - the raw values into struct fx_settings: [defaults]
 * and each provider's request parameters, [failover] and [breaker], the
 * providers in failover order with what each type needs, [sync] (in
 * conf-redis.c), and with resolve_secrets every provider's key.  Every
 * mistake is a diagnostic at its origin; then they are sorted by line.
 */
#include "config.h"

#include "conf-int.h"
#include "providers/providers.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* A [defaults] value given on the command line beats every provider's. */
static int
flag_default(const flexiai_config *cfg, const char *key)
{
    const struct entry *e = fx_conf_entry(cfg, "defaults", key);
    return e && strcmp(e->origin, "flag") == 0;
}

/* Params for `section`, each unset one inherited from `base`. */
static void
read_params(flexiai_config *cfg, const char *section,
            const struct fx_params *base, struct fx_params *p)
{
#define NUM_PARAM(field, key, unset)                                           \
    do {                                                                       \
        const struct entry *e_;                                                \
        const char *v_ = fx_conf_raw(cfg, section, key, &e_);                  \
        if (base && (e_ == NULL || flag_default(cfg, key)))                    \
            p->field = base->field;                                            \
        else if (v_ == NULL)                                                   \
            p->field = unset;                                                  \
        else                                                                   \
            p->field = fx_conf_number_or(cfg, section, key, unset);            \
    } while (0)
    NUM_PARAM(temperature, "temperature", -1);
    NUM_PARAM(max_tokens, "max_tokens", 0);
    NUM_PARAM(top_p, "top_p", -1);
    NUM_PARAM(top_k, "top_k", 0);
    NUM_PARAM(timeout, "timeout", 120);
    NUM_PARAM(connect_timeout, "connect_timeout", 10);
    NUM_PARAM(idle_timeout, "idle_timeout", 60);
    NUM_PARAM(max_response_bytes, "max_response_bytes", 0);
#undef NUM_PARAM
    const struct entry *e;
    const char *rv = fx_conf_raw(cfg, section, "reasoning", &e);
    if (base && (e == NULL || flag_default(cfg, "reasoning")))
        p->reasoning = base->reasoning;
    else if (rv == NULL)
        p->reasoning = 0;
    else /* none|low|medium|high: 0..3, FLEXIAI_REASONING_NONE.. */
        p->reasoning =
            1 + (int)fx_conf_number_or(cfg, section, "reasoning", -1);
    const char *sys = fx_conf_raw(cfg, section, "system", &e);
    if (base && (e == NULL || flag_default(cfg, "system")))
        p->system = fxu_strdup(base->system);
    else
        p->system = (sys && *sys) ? fxu_strdup(sys) : NULL;
    const char *stop = fx_conf_raw(cfg, section, "stop", &e);
    if (base && (e == NULL || flag_default(cfg, "stop"))) {
        p->stop = NULL;
        if (base->stop) {
            size_t n = 0;
            while (base->stop[n])
                n++;
            p->stop = fxu_xcalloc(n + 1, sizeof(char *));
            for (size_t i = 0; i < n; i++)
                p->stop[i] = fxu_strdup(base->stop[i]);
        }
    } else {
        p->stop = fx_conf_split_list(stop);
    }
    p->user_set = base ? base->user_set : 0;
    if (fx_conf_entry(cfg, section, "temperature"))
        p->user_set |= FX_SET_TEMPERATURE;
    if (fx_conf_entry(cfg, section, "top_p"))
        p->user_set |= FX_SET_TOP_P;
    if (fx_conf_entry(cfg, section, "stop"))
        p->user_set |= FX_SET_STOP;
}

static int
provider_cmp(const void *a, const void *b)
{
    const struct fx_provider *x = a, *y = b;
    /* providers with a priority first, lower number first; then file order */
    int xp = x->priority != 0, yp = y->priority != 0;
    if (xp != yp)
        return yp - xp;
    if (xp && x->priority != y->priority)
        return x->priority < y->priority ? -1 : 1;
    return x->file_order - y->file_order;
}

/* [provider.*] schema_mode as enum fx_schema_mode (checked elsewhere). */
static int
read_schema_mode(flexiai_config *cfg, const char *sec)
{
    static const char *const modes[] = {"native", "tool", "json", "prompt"};
    const char *v = fx_conf_raw(cfg, sec, "schema_mode", NULL);
    for (int i = 0; v && i < 4; i++)
        if (strcmp(v, modes[i]) == 0)
            return i;
    return FX_SCHEMA_NATIVE;
}

/* [provider.*] api = responses: an openai provider speaks the Responses
 * API (its own ops; the type stays openai). */
static void
select_api(flexiai_config *cfg, const char *sec, struct fx_provider *p,
           const char *where)
{
    const char *api = fx_conf_raw(cfg, sec, "api", NULL);
    if (api == NULL || strcmp(api, "responses") != 0)
        return;
    if (p->ops != &fx_provider_openai)
        fx_conf_diag(cfg, 1, "%s: [%s] api = responses needs type = openai",
                     where, sec);
    else if (p->api_version && *p->api_version)
        fx_conf_diag(cfg, 1,
                     "%s: [%s] api = responses does not go with api_version "
                     "(Azure): leave one out",
                     where, sec);
    else
        p->ops = &fx_provider_openai_responses;
}

/* http:// or https:// (in any case: a scheme is case-insensitive, RFC
 * 3986 3.1), then a host (a name, an address or [v6]) */
static int
base_url_ok(const char *url)
{
    const char *h;
    if (strncasecmp(url, "http://", 7) == 0)
        h = url + 7;
    else if (strncasecmp(url, "https://", 8) == 0)
        h = url + 8;
    else
        return 0;
    for (const unsigned char *c = (const unsigned char *)url; *c; c++)
        if (*c <= 0x20 || *c == 0x7f)
            return 0; /* blanks and control characters: never a URL */
    const char *at = h + strcspn(h, "/?#");
    const char *cred = memchr(h, '@', (size_t)(at - h));
    if (cred)
        h = cred + 1; /* user:password@ */
    return fxu_parse_hostport(h, (size_t)(at - h), NULL, NULL, NULL, NULL) == 0;
}

static void
read_providers(flexiai_config *cfg, struct fx_settings *s)
{
    s->providers = fxu_xcalloc(cfg->nsections + 1, sizeof(struct fx_provider));
    for (size_t i = 0; i < cfg->nsections; i++) {
        const char *sec = cfg->sections[i].name;
        struct fx_provider *p = &s->providers[s->nproviders++];
        p->name = fxu_strdup(sec + 9);
        p->file_order = (int)i;
        p->type = fx_conf_string(cfg, sec, "type");
        p->model = fx_conf_string(cfg, sec, "model");
        p->priority = (long)fx_conf_number_or(cfg, sec, "priority", 0);
        p->base_url = fx_conf_string(cfg, sec, "base_url");
        p->api_version = fx_conf_string(cfg, sec, "api_version");
        p->project = fx_conf_string(cfg, sec, "project");
        p->location = fx_conf_string(cfg, sec, "location");
        p->insecure = (int)fx_conf_number_or(cfg, sec, "insecure", 0);
        p->tls_ca = fx_conf_string(cfg, sec, "tls_ca");
        p->rpm = (long)fx_conf_number_or(cfg, sec, "rpm", 0);
        p->tpm = (long)fx_conf_number_or(cfg, sec, "tpm", 0);
        p->max_concurrency =
            (long)fx_conf_number_or(cfg, sec, "max_concurrency", 0);
        p->schema_mode = read_schema_mode(cfg, sec);
        p->prompt_cache = (int)fx_conf_number_or(cfg, sec, "prompt_cache", 0);
        p->api_key_env = fx_conf_string(cfg, sec, "api_key_env");
        p->api_key_cmd = fx_conf_string(cfg, sec, "api_key_cmd");
        p->api_key_timeout = fx_conf_number(cfg, sec, "api_key_timeout");
        p->api_key = fx_conf_string(cfg, sec, "api_key");
        read_params(cfg, sec, &s->defaults, &p->params);
        p->ops = fx_provider_ops_find(p->type);
        select_api(cfg, sec, p, cfg->sections[i].where);
        if (p->type == NULL) {
            fx_conf_diag(cfg, 1, "%s: [%s] has no type (one of %s)",
                         cfg->sections[i].where, sec, fx_provider_type_list());
        }
        if (p->model == NULL)
            fx_conf_diag(cfg, 1, "%s: [%s] has no model",
                         cfg->sections[i].where, sec);
        if (p->tls_ca && *p->tls_ca && access(p->tls_ca, R_OK) != 0) {
            const struct entry *ce = fx_conf_entry(cfg, sec, "tls_ca");
            fx_conf_diag(cfg, 1, "%s: [%s] tls_ca: cannot read %s: %s",
                         fx_conf_where(ce), sec, p->tls_ca, strerror(errno));
        }
        if (p->insecure) {
            const struct entry *ie = fx_conf_entry(cfg, sec, "insecure");
            fx_conf_diag(
                cfg, 0,
                "%s: warning: [%s] insecure = yes: TLS certificates are "
                "not verified",
                fx_conf_where(ie), sec);
        }
        for (int k = 0; p->ops && p->ops->required && p->ops->required[k];
             k++) {
            const char *v = fx_conf_raw(cfg, sec, p->ops->required[k], NULL);
            if (v == NULL || *v == '\0')
                fx_conf_diag(cfg, 1, "%s: [%s] %s needs %s",
                             cfg->sections[i].where, sec, p->type,
                             p->ops->required[k]);
        }
        int ctl = 0;
        for (const unsigned char *c = (const unsigned char *)p->name; *c; c++)
            if (*c < 0x20 || *c == 0x7f)
                ctl = 1;
        if (ctl)
            /* the name is not echoed: it would reach a terminal raw */
            fx_conf_diag(
                cfg, 1,
                "%s: a provider name may not contain control characters",
                cfg->sections[i].where);
        else if (strchr(p->name, '/') || p->name[0] == '.' ||
                 p->name[0] == '\0')
            fx_conf_diag(cfg, 1,
                         "%s: [%s]: provider names may not contain '/' "
                         "or start with '.'",
                         cfg->sections[i].where, sec);
        if (p->base_url && !base_url_ok(p->base_url))
            fx_conf_diag(
                cfg, 1,
                "%s: %s.base_url: '%s' is not an http:// or https:// URL "
                "with a host",
                fx_conf_where(fx_conf_entry(cfg, sec, "base_url")), sec,
                p->base_url);
        if (p->type && strcmp(p->type, "gemini") == 0 && p->api_version &&
            strcmp(p->api_version, "v1beta") != 0 &&
            strcmp(p->api_version, "v1") != 0)
            fx_conf_diag(cfg, 1, "%s: %s.api_version: '%s' is not v1beta or v1",
                         fx_conf_where(fx_conf_entry(cfg, sec, "api_version")),
                         sec, p->api_version);
    }
    qsort(s->providers, s->nproviders, sizeof(*s->providers), provider_cmp);

    /* [failover] order: the named providers first, in that order. */
    const struct entry *oe;
    const char *order = fx_conf_raw(cfg, "failover", "order", &oe);
    char **names = fx_conf_split_list(order);
    size_t placed = 0;
    for (size_t k = 0; names && names[k]; k++) {
        size_t j;
        for (j = placed; j < s->nproviders; j++)
            if (strcmp(s->providers[j].name, names[k]) == 0)
                break;
        if (j == s->nproviders) {
            int earlier = 0;
            for (size_t m = 0; m < placed; m++)
                if (strcmp(s->providers[m].name, names[k]) == 0)
                    earlier = 1;
            if (!earlier)
                fx_conf_diag(cfg, 1,
                             "%s: failover.order: no provider named '%s'",
                             fx_conf_where(oe), names[k]);
            continue;
        }
        struct fx_provider tmp = s->providers[j];
        memmove(&s->providers[placed + 1], &s->providers[placed],
                (j - placed) * sizeof(tmp));
        s->providers[placed++] = tmp;
    }
    fx_conf_free_list(names);
}

static unsigned
read_count_mask(flexiai_config *cfg)
{
    const struct entry *e;
    const char *v = fx_conf_raw(cfg, "breaker", "count", &e);
    char **names = fx_conf_split_list(v);
    unsigned mask = 0;
    for (size_t i = 0; names && names[i]; i++) {
        flexiai_errclass cls = FLEXIAI_E_NONE;
        flexiai_errclass_from_name(names[i], &cls);
        /* invalid_output (a model's mistake, not an outage) counts only
         * when listed here */
        if (cls == FLEXIAI_E_NONE ||
            (cls >= FLEXIAI_E_BREAKER_OPEN && cls != FLEXIAI_E_INVALID_OUTPUT))
            fx_conf_diag(cfg, 1, "%s: breaker.count: unknown error class '%s'",
                         fx_conf_where(e), names[i]);
        else
            mask |= 1u << cls;
    }
    fx_conf_free_list(names);
    return mask;
}

flexiai_code
flexiai_config_validate(flexiai_config *cfg, int resolve_secrets)
{
    fx_conf_free_settings(&cfg->settings);
    fx_conf_free_shown(cfg);
    struct fx_settings *s = &cfg->settings;

    fx_conf_check_entries(cfg);
    read_params(cfg, "defaults", NULL, &s->defaults);
    s->stream_mode = (int)fx_conf_number(cfg, "defaults", "stream");
    s->on_stream_error =
        (int)fx_conf_number(cfg, "defaults", "on_stream_error");
    s->retries = (long)fx_conf_number(cfg, "failover", "retries");
    s->backoff_base = fx_conf_number(cfg, "failover", "backoff_base");
    s->backoff_max = fx_conf_number(cfg, "failover", "backoff_max");
    s->retry_after_max = fx_conf_number(cfg, "failover", "retry_after_max");
    s->limit_wait_max = fx_conf_number(cfg, "failover", "limit_wait_max");
    s->limit_window = fx_conf_number(cfg, "failover", "limit_window");
    s->failover_on_bad_request =
        (int)fx_conf_number(cfg, "failover", "failover_on_bad_request");
    s->failure_threshold =
        (long)fx_conf_number(cfg, "breaker", "failure_threshold");
    s->recovery_timeout = fx_conf_number(cfg, "breaker", "recovery_timeout");
    s->max_open = fx_conf_number(cfg, "breaker", "max_open");
    s->half_open_max_calls =
        (long)fx_conf_number(cfg, "breaker", "half_open_max_calls");
    s->probe_timeout =
        fx_conf_number_or(cfg, "breaker", "probe_timeout",
                          s->defaults.timeout + s->defaults.connect_timeout);
    s->count_mask = read_count_mask(cfg);
    fx_conf_read_sync(cfg, &s->sync);
    if (s->sync.redis_password)
        fx_secret_in_memory(); /* from the environment, say */
    read_providers(cfg, s);
    fx_conf_read_tools(cfg);

    if (resolve_secrets) {
        for (size_t i = 0; i < s->nproviders; i++) {
            const char *key;
            char *err = NULL;
            struct fx_provider *p = &s->providers[i];
            if (p->ops == NULL)
                continue;
            if (fx_provider_key(p, &key, &err) != 0) {
                char sec[300];
                snprintf(sec, sizeof(sec), "provider.%s", p->name);
                const struct entry *e = fx_conf_entry(cfg, sec, "api_key_cmd");
                if (e == NULL)
                    e = fx_conf_entry(cfg, sec, "api_key_env");
                const char *where = fx_conf_where(e);
                for (size_t k = 0; e == NULL && k < cfg->nsections; k++)
                    if (strcmp(cfg->sections[k].name, sec) == 0)
                        where = cfg->sections[k].where;
                fx_conf_diag(cfg, 1, "%s: %s", where, err);
                free(err);
            }
        }
    }
    free(cfg->provider_names);
    cfg->provider_names = fxu_xcalloc(s->nproviders + 1, sizeof(char *));
    for (size_t i = 0; i < s->nproviders; i++)
        cfg->provider_names[i] = s->providers[i].name;
    cfg->nprovider_names = s->nproviders;
    cfg->validated = 1;
    fx_conf_sort_diags(cfg);
    return fx_conf_has_errors(cfg) ? FLEXIAI_ECONFIG : FLEXIAI_OK;
}

const struct fx_settings *
fx_config_settings(const flexiai_config *cfg)
{
    return &cfg->settings;
}

struct fx_provider *
fx_settings_provider(const struct fx_settings *s, const char *name)
{
    for (size_t i = 0; i < s->nproviders; i++)
        if (strcmp(s->providers[i].name, name) == 0)
            return &s->providers[i];
    return NULL;
}

size_t
flexiai_config_providers(const flexiai_config *cfg, const char *const **names)
{
    *names = (const char *const *)cfg->provider_names;
    return cfg->nprovider_names;
}

/* ---- the settings freed ----------------------------------------------- */

static void
free_params(struct fx_params *p)
{
    free(p->system);
    if (p->stop) {
        for (char **s = p->stop; *s; s++)
            free(*s);
        free(p->stop);
    }
    memset(p, 0, sizeof(*p));
}

static void
free_provider(struct fx_provider *p)
{
    free(p->name);
    free(p->type);
    free(p->model);
    free(p->base_url);
    free(p->api_version);
    free(p->project);
    free(p->location);
    free(p->tls_ca);
    free(p->api_key_env);
    free(p->api_key_cmd);
    if (p->api_key) {
        memset(p->api_key, 0, strlen(p->api_key));
        free(p->api_key);
    }
    if (p->key) {
        memset(p->key, 0, strlen(p->key));
        free(p->key);
    }
    free(p->key_error);
    free_params(&p->params);
}

void
fx_conf_free_settings(struct fx_settings *s)
{
    free_params(&s->defaults);
    for (size_t i = 0; i < s->nproviders; i++)
        free_provider(&s->providers[i]);
    free(s->providers);
    struct fx_sync *y = &s->sync;
    free(y->redis_url);
    free(y->redis_host);
    if (y->redis_password) {
        memset(y->redis_password, 0, strlen(y->redis_password));
        free(y->redis_password);
    }
    free(y->redis_username);
    free(y->redis_unix);
    free(y->redis_tls_ca);
    free(y->redis_tls_cert);
    free(y->redis_tls_key);
    free(y->redis_tls_server_name);
    fx_conf_free_list(y->redis_sentinels);
    free(y->redis_sentinel_master);
    free(y->redis_sentinel_user);
    if (y->redis_sentinel_password) {
        memset(y->redis_sentinel_password, 0,
               strlen(y->redis_sentinel_password));
        free(y->redis_sentinel_password);
    }
    free(y->key_prefix);
    free(y->channel);
    free(y->worker_id);
    free(y->state_dir);
    memset(s, 0, sizeof(*s));
}
