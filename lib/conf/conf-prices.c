/*
 * conf-prices.c - the prices of what a provider answered with a model:
 * [price.MODEL] when it has price_input and price_output, else the
 * provider's.  price_cached_input and price_cache_write come from the same
 * section, and are price_input when unset.
 */
#include "config.h"

#include "conf.h"

#include <stdlib.h>
#include <string.h>

static int
price_key(const flexiai_config *cfg, const char *section, const char *key,
          double *out)
{
    const char *v = fx_config_value(cfg, section, key);
    if (v == NULL || fxu_parse_double(v, out) != 0 || *out < 0)
        return -1;
    return 0;
}

static int
section_prices(const flexiai_config *cfg, const char *section,
               struct fx_prices *p)
{
    if (price_key(cfg, section, "price_input", &p->input) != 0 ||
        price_key(cfg, section, "price_output", &p->output) != 0)
        return -1;
    if (price_key(cfg, section, "price_cached_input", &p->cached_input) != 0)
        p->cached_input = p->input;
    if (price_key(cfg, section, "price_cache_write", &p->cache_write) != 0)
        p->cache_write = p->input;
    return 0;
}

int
fx_conf_prices(const flexiai_config *cfg, const char *provider,
               const char *model, struct fx_prices *p)
{
    int rc = -1;
    if (cfg == NULL)
        return -1;
    if (model && *model) {
        char *sec = fxu_asprintf("price.%s", model);
        rc = section_prices(cfg, sec, p);
        free(sec);
    }
    if (rc != 0 && provider && *provider) {
        char *sec = fxu_asprintf("provider.%s", provider);
        rc = section_prices(cfg, sec, p);
        free(sec);
    }
    return rc;
}

double
fx_conf_batch_factor(const flexiai_config *cfg, const char *provider)
{
    double f;
    char *sec = fxu_asprintf("provider.%s", provider ? provider : "");
    const char *v = fx_config_value(cfg, sec, "price_batch_factor");
    free(sec);
    if (v && fxu_parse_double(v, &f) == 0 && f >= 0)
        return f;
    const struct fx_settings *s = fx_config_settings(cfg);
    struct fx_provider *p =
        s && provider ? fx_settings_provider(s, provider) : NULL;
    if (p && p->type &&
        (strcmp(p->type, "openai") == 0 || strcmp(p->type, "anthropic") == 0 ||
         strcmp(p->type, "gemini") == 0))
        return 0.5; /* "50% of the standard price" in each one's docs */
    return 1;
}
