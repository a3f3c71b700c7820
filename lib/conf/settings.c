/*
 * settings.c - read-only views of the effective settings for callers of
 * flexiai.h (the commands), and the -m rule, so that nobody outside the
 * library needs struct fx_settings.
 */
#include "config.h"

#include "conf.h"
#include "fx.h"
#include "providers/providers.h"

#include <stdlib.h>
#include <string.h>

flexiai_stream_mode
flexiai_config_stream_mode(const flexiai_config *cfg)
{
    switch (fx_config_settings(cfg)->stream_mode) {
    case FX_STREAM_YES:
        return FLEXIAI_STREAM_ALWAYS;
    case FX_STREAM_NO:
        return FLEXIAI_STREAM_NEVER;
    default:
        return FLEXIAI_STREAM_AUTO;
    }
}

flexiai_stream_error_mode
flexiai_config_on_stream_error(const flexiai_config *cfg)
{
    return fx_config_settings(cfg)->on_stream_error == FLEXIAI_STREAM_FAIL
               ? FLEXIAI_STREAM_FAIL
               : FLEXIAI_STREAM_CONTINUE;
}

flexiai_backend
flexiai_config_backend(const flexiai_config *cfg)
{
    return fx_config_settings(cfg)->sync.backend == FX_BACKEND_REDIS
               ? FLEXIAI_BACKEND_REDIS
               : FLEXIAI_BACKEND_FILE;
}

const char *
flexiai_config_system(const flexiai_config *cfg)
{
    return fx_config_settings(cfg)->defaults.system;
}

int
flexiai_config_has_provider(const flexiai_config *cfg, const char *name)
{
    return name && fx_settings_provider(fx_config_settings(cfg), name) != NULL;
}

const char *
flexiai_config_provider_model(const flexiai_config *cfg, const char *name)
{
    const struct fx_provider *p =
        fx_settings_provider(fx_config_settings(cfg), name);
    if (p == NULL)
        return NULL;
    return p->model ? p->model : "";
}

flexiai_code
flexiai_config_set_model(flexiai_config *cfg, const char *provider,
                         const char *model)
{
    const struct fx_settings *s = fx_config_settings(cfg);
    if (provider == NULL)
        provider = s->nproviders ? s->providers[0].name : NULL;
    if (provider == NULL || !flexiai_config_has_provider(cfg, provider))
        return FLEXIAI_EUSAGE;
    char *section = fxu_asprintf("provider.%s", provider);
    flexiai_code rc = flexiai_config_set(cfg, section, "model", model);
    free(section);
    if (rc == FLEXIAI_OK)
        rc = flexiai_config_validate(cfg, 0);
    return rc;
}

char *
flexiai_config_why_no_providers(const flexiai_config *cfg)
{
    fxu_buf vars;
    fxu_buf_init(&vars);
    for (size_t i = 0; fx_providers[i]; i++) {
        const char *const *v = fx_providers[i]->key_vars;
        for (size_t j = 0; v && v[j]; j++)
            fxu_buf_printf(&vars, "%s%s", vars.len ? ", " : "", v[j]);
    }
    char *msg = fxu_asprintf("no providers configured (looked in %s, and at "
                             "%s: all unset); add a [provider.NAME] section "
                             "or set one of those variables",
                             flexiai_config_sources(cfg),
                             vars.len ? vars.data : "no variables");
    fxu_buf_free(&vars);
    return msg;
}
