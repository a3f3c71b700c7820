/*
 * conf-load.c - a configuration's life: made empty, loaded from built-in
 * defaults, the system file, the user file (or -c FILE / FLEXIAI_CONFIG),
 * FLEXIAI_* variables, then command-line flags, later wins; freed.  Every
 * value remembers where it came from, so that `config show` can say so
 * and `config check` can point at the line that is wrong.
 */
#include "config.h"

#include "conf-int.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

flexiai_config *
flexiai_config_new(void)
{
    return fxu_xcalloc(1, sizeof(flexiai_config));
}

void
flexiai_config_free(flexiai_config *cfg)
{
    if (cfg == NULL)
        return;
    fxu_buf_free(&cfg->sources);
    for (size_t i = 0; i < cfg->nentries; i++) {
        struct entry *e = &cfg->entries[i];
        free(e->section);
        free(e->key);
        if (e->value) {
            memset(e->value, 0, strlen(e->value));
            free(e->value);
        }
        free(e->origin);
    }
    free(cfg->entries);
    for (size_t i = 0; i < cfg->nsections; i++) {
        free(cfg->sections[i].name);
        free(cfg->sections[i].where);
    }
    free(cfg->sections);
    for (size_t i = 0; i < cfg->ndiags; i++)
        free((char *)cfg->diags[i].text);
    free(cfg->diags);
    fx_conf_free_settings(&cfg->settings);
    fx_conf_free_shown(cfg);
    fx_conf_free_tools(cfg);
    free(cfg->provider_names);
    free(cfg);
}

static void
note_source(flexiai_config *cfg, const char *path)
{
    fxu_buf_printf(&cfg->sources, "%s%s%s", cfg->sources.len ? ", " : "", path,
                   access(path, F_OK) == 0 ? "" : " (not found)");
}

const char *
flexiai_config_sources(const flexiai_config *cfg)
{
    return cfg->sources.data ? cfg->sources.data : "";
}

flexiai_code
flexiai_config_load(flexiai_config *cfg, const char *sysconf_path,
                    const char *path)
{
    char buf[PATH_MAX];
    if (sysconf_path == NULL) {
        snprintf(buf, sizeof(buf), "%s/flexiai/config.ini", SYSCONFDIR);
        sysconf_path = buf;
    }
    fx_conf_read_file(cfg, sysconf_path, 0);
    note_source(cfg, sysconf_path);

    const char *env_path = getenv("FLEXIAI_CONFIG");
    if (path == NULL && env_path && *env_path)
        path = env_path;
    if (path) {
        fx_conf_read_file(cfg, path, 1);
    } else {
        const char *xdg = getenv("XDG_CONFIG_HOME");
        const char *home = getenv("HOME");
        if (xdg && *xdg == '/')
            snprintf(buf, sizeof(buf), "%s/flexiai/config.ini", xdg);
        else if (home && *home)
            snprintf(buf, sizeof(buf), "%s/.config/flexiai/config.ini", home);
        else
            buf[0] = '\0';
        if (buf[0]) {
            fx_conf_read_file(cfg, buf, 0);
            note_source(cfg, buf);
        } else {
            fxu_buf_printf(&cfg->sources,
                           "%sno user file (HOME and "
                           "XDG_CONFIG_HOME are unset)",
                           cfg->sources.len ? ", " : "");
        }
    }
    /* the standard key variables stand in for missing [provider.*]
     * sections; FLEXIAI_PROVIDER_* variables can then adjust them */
    fx_conf_implicit_providers(cfg);
    fx_conf_read_env(cfg);
    return fx_conf_has_errors(cfg) ? FLEXIAI_ECONFIG : FLEXIAI_OK;
}

flexiai_code
flexiai_config_set(flexiai_config *cfg, const char *section, const char *key,
                   const char *value)
{
    if (!fx_conf_known_section(section) ||
        fx_conf_key_def(section, key) == NULL) {
        fx_conf_diag(cfg, 1, "flag: unknown setting %s.%s", section, key);
        return FLEXIAI_ECONFIG;
    }
    fx_conf_set(cfg, section, key, value, "flag");
    return FLEXIAI_OK;
}
