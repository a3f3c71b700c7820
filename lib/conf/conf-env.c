/*
 * conf-env.c - the environment: FLEXIAI_SECTION_KEY and
 * FLEXIAI_PROVIDER_NAME_KEY variables, the Python FlexiAI's names
 * (FLEXIAI_PROVIDER_{N}_*, FLEXIAI_DEFAULT_*), and with no provider
 * section at all, one provider per standard key variable (OPENAI_API_KEY
 * and the like).  A FLEXIAI_* name that matches no setting at all is
 * only a warning, with the nearest name: the environment is shared with
 * other programs.
 */
#include "config.h"

#include "conf-int.h"
#include "providers/providers.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

extern char **environ;

static void
env_name_part(char *dst, size_t size, const char *src)
{
    size_t i = 0;
    for (; src[i] && i + 1 < size; i++) {
        char c = src[i];
        dst[i] = (c == '.' || c == '-') ? '_' : (char)toupper((unsigned char)c);
    }
    dst[i] = '\0';
}

static void
env_fixed_section(flexiai_config *cfg, const char *var, const char *section,
                  const char *keypart, const char *value)
{
    char origin[512];
    snprintf(origin, sizeof(origin), "env %s", var);
    for (size_t i = 0; i < fx_conf_nkeys; i++) {
        if (strcmp(fx_conf_keys[i].section, section) != 0)
            continue;
        char up[128];
        env_name_part(up, sizeof(up), fx_conf_keys[i].key);
        if (strcmp(up, keypart) == 0) {
            fx_conf_set(cfg, section, fx_conf_keys[i].key, value, origin);
            return;
        }
    }
    char lower[128];
    size_t n = 0;
    for (; keypart[n] && n + 1 < sizeof(lower); n++)
        lower[n] = (char)tolower((unsigned char)keypart[n]);
    lower[n] = '\0';
    const char *sugg = fx_conf_suggest_key(section, lower);
    if (sugg) {
        char up[128];
        env_name_part(up, sizeof(up), sugg);
        char secup[32];
        env_name_part(secup, sizeof(secup), section);
        fx_conf_diag(cfg, 0,
                     "env %s: unknown key '%s' in [%s], ignored (did you mean "
                     "FLEXIAI_%s_%s?)",
                     var, lower, section, secup, up);
    } else {
        /* the environment is shared with other programs: a warning */
        fx_conf_diag(cfg, 0, "env %s: unknown key '%s' in [%s], ignored", var,
                     lower, section);
    }
}

static void
env_provider(flexiai_config *cfg, const char *var, const char *rest,
             const char *value)
{
    /* rest is NAME_KEY; the key is the longest provider key that ends it. */
    const struct key_def *best = NULL;
    size_t rlen = strlen(rest), best_len = 0;
    for (size_t i = 0; i < fx_conf_nkeys; i++) {
        if (strcmp(fx_conf_keys[i].section, "provider") != 0)
            continue;
        char up[128];
        env_name_part(up, sizeof(up), fx_conf_keys[i].key);
        size_t klen = strlen(up);
        if (klen + 2 <= rlen && rest[rlen - klen - 1] == '_' &&
            strcmp(rest + rlen - klen, up) == 0 && klen > best_len) {
            best = &fx_conf_keys[i];
            best_len = klen;
        }
    }
    if (best == NULL) {
        fx_conf_diag(cfg, 0,
                     "env %s: no provider key at the end of the name, ignored",
                     var);
        return;
    }
    char namepart[256];
    size_t nlen = rlen - best_len - 1;
    if (nlen >= sizeof(namepart))
        nlen = sizeof(namepart) - 1;
    memcpy(namepart, rest, nlen);
    namepart[nlen] = '\0';
    /* An existing [provider.NAME] whose name maps to this wins. */
    char section[300];
    section[0] = '\0';
    for (size_t i = 0; i < cfg->nsections; i++) {
        char up[256];
        env_name_part(up, sizeof(up), cfg->sections[i].name + 9);
        if (strcmp(up, namepart) == 0) {
            snprintf(section, sizeof(section), "%s", cfg->sections[i].name);
            break;
        }
    }
    if (section[0] == '\0') {
        snprintf(section, sizeof(section), "provider.");
        size_t off = strlen(section);
        for (size_t i = 0; namepart[i] && off + 1 < sizeof(section); i++)
            section[off++] = (char)tolower((unsigned char)namepart[i]);
        section[off] = '\0';
    }
    char origin[512];
    snprintf(origin, sizeof(origin), "env %s", var);
    fx_conf_set(cfg, section, best->key, value, origin);
}

/* Variables that are ours but name no setting. */
static const char *const env_other[] = {"FLEXIAI_CONFIG", "FLEXIAI_ALLOW_CORE",
                                        NULL};

/* A FLEXIAI_* variable that matches no section: most likely a typo of one
 * that does (a warning with the nearest name), else another program's. */
static void
env_unknown(flexiai_config *cfg, const char *var)
{
    for (int i = 0; env_other[i]; i++)
        if (strcmp(var, env_other[i]) == 0)
            return;
    const char *best = NULL;
    size_t best_d = 4;
    char best_name[200];
    for (size_t i = 0; i < fx_conf_nkeys; i++) {
        if (strcmp(fx_conf_keys[i].section, "provider") == 0)
            continue;
        char sec[32], key[128], name[200];
        env_name_part(sec, sizeof(sec), fx_conf_keys[i].section);
        env_name_part(key, sizeof(key), fx_conf_keys[i].key);
        snprintf(name, sizeof(name), "FLEXIAI_%s_%s", sec, key);
        size_t d = fxu_edit_distance(var, name);
        if (d < best_d) {
            best_d = d;
            snprintf(best_name, sizeof(best_name), "%s", name);
            best = best_name;
        }
    }
    for (int i = 0; env_other[i]; i++) {
        size_t d = fxu_edit_distance(var, env_other[i]);
        if (d < best_d) {
            best_d = d;
            snprintf(best_name, sizeof(best_name), "%s", env_other[i]);
            best = best_name;
        }
    }
    if (best)
        fx_conf_diag(cfg, 0,
                     "env %s: not a flexiai setting, ignored (did you "
                     "mean %s?)",
                     var, best);
}

/*
 * The Python FlexiAI's numbered providers: FLEXIAI_PROVIDER_{N}_NAME names
 * provider N (its type follows from the name: openai, anthropic, gemini,
 * vertexai or vertex), FLEXIAI_PROVIDER_{N}_API_KEY / _MODEL / _PRIORITY
 * (and any other provider key) set its keys.  Returns 1 when var is one of
 * them (handled), 0 when not.
 */
static const char *
python_type(const char *name)
{
    static const char *const map[][2] = {
        {"openai", "openai"}, {"anthropic", "anthropic"}, {"gemini", "gemini"},
        {"google", "gemini"}, {"vertexai", "vertex"},     {"vertex", "vertex"},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcasecmp(name, map[i][0]) == 0)
            return map[i][1];
    return NULL;
}

static int
env_numbered_provider(flexiai_config *cfg, const char *var, const char *rest,
                      const char *value)
{
    size_t nd = 0;
    while (isdigit((unsigned char)rest[nd]))
        nd++;
    if (nd == 0 || rest[nd] != '_' || nd > 6)
        return 0;
    char origin[512], namevar[64];
    snprintf(origin, sizeof(origin), "env %s", var);
    snprintf(namevar, sizeof(namevar), "FLEXIAI_PROVIDER_%.*s_NAME", (int)nd,
             rest);
    const char *name = getenv(namevar);
    if (name == NULL || *name == '\0') {
        /* a [provider.N] of the file's: the usual mapping */
        char own[32];
        snprintf(own, sizeof(own), "provider.%.*s", (int)nd, rest);
        for (size_t i = 0; i < cfg->nsections; i++)
            if (strcmp(cfg->sections[i].name, own) == 0)
                return 0;
        fx_conf_diag(cfg, 1, "env %s: no %s says which provider it is for", var,
                     namevar);
        return 1;
    }
    char section[300];
    size_t off = (size_t)snprintf(section, sizeof(section), "provider.");
    for (size_t i = 0; name[i] && off + 1 < sizeof(section); i++)
        section[off++] = (char)tolower((unsigned char)name[i]);
    section[off] = '\0';
    const char *key = rest + nd + 1;
    if (strcmp(key, "NAME") == 0) {
        const char *type = python_type(name);
        if (name[0] == '.' || strchr(name, '/') || strpbrk(name, " \t")) {
            fx_conf_diag(cfg, 1, "env %s: '%s' is not a provider name", var,
                         name);
            return 1;
        }
        fx_conf_note_section(cfg, section, origin);
        char typevar[64];
        snprintf(typevar, sizeof(typevar), "FLEXIAI_PROVIDER_%.*s_TYPE",
                 (int)nd, rest);
        if (fx_conf_entry(cfg, section, "type") == NULL &&
            getenv(typevar) == NULL) {
            if (type == NULL)
                fx_conf_diag(cfg, 1,
                             "env %s: cannot tell the type of provider '%s' "
                             "(openai, anthropic, gemini, vertexai; or set %s)",
                             var, name, typevar);
            else
                fx_conf_set(cfg, section, "type", type, origin);
        }
        if (type && strcmp(type, "vertex") == 0) {
            /* what the Google SDKs read */
            const char *pv[][2] = {{"project", "GOOGLE_CLOUD_PROJECT"},
                                   {"location", "GOOGLE_CLOUD_LOCATION"}};
            for (size_t i = 0; i < 2; i++) {
                const char *v = getenv(pv[i][1]);
                char o[64];
                snprintf(o, sizeof(o), "env %s", pv[i][1]);
                if (v && *v && fx_conf_entry(cfg, section, pv[i][0]) == NULL)
                    fx_conf_set(cfg, section, pv[i][0], v, o);
            }
        }
        return 1;
    }
    for (size_t i = 0; i < fx_conf_nkeys; i++) {
        if (strcmp(fx_conf_keys[i].section, "provider") != 0)
            continue;
        char up[128];
        env_name_part(up, sizeof(up), fx_conf_keys[i].key);
        if (strcmp(up, key) == 0) {
            fx_conf_note_section(cfg, section, origin);
            fx_conf_set(cfg, section, fx_conf_keys[i].key, value, origin);
            return 1;
        }
    }
    fx_conf_diag(cfg, 1, "env %s: unknown provider key '%s'", var, key);
    return 1;
}

void
fx_conf_read_env(flexiai_config *cfg)
{
    for (char **ep = environ; ep && *ep; ep++) {
        if (strncmp(*ep, "FLEXIAI_", 8) != 0)
            continue;
        const char *eq = strchr(*ep, '=');
        if (eq == NULL)
            continue;
        char var[256];
        size_t vlen = (size_t)(eq - *ep);
        if (vlen >= sizeof(var))
            continue;
        memcpy(var, *ep, vlen);
        var[vlen] = '\0';
        const char *value = eq + 1;
        const char *rest = var + 8;
        int matched = 0;
        for (int i = 0; fx_conf_sections[i]; i++) {
            char up[32];
            env_name_part(up, sizeof(up), fx_conf_sections[i]);
            size_t ul = strlen(up);
            if (strncmp(rest, up, ul) == 0 && rest[ul] == '_') {
                env_fixed_section(cfg, var, fx_conf_sections[i], rest + ul + 1,
                                  value);
                matched = 1;
                break;
            }
        }
        /* the Python FlexiAI's FLEXIAI_DEFAULT_TEMPERATURE and
         * FLEXIAI_DEFAULT_MAX_TOKENS: [defaults] under another name */
        if (!matched && strncmp(rest, "DEFAULT_", 8) == 0) {
            env_fixed_section(cfg, var, "defaults", rest + 8, value);
            matched = 1;
        }
        if (!matched && strncmp(rest, "PROVIDER_", 9) == 0) {
            if (!env_numbered_provider(cfg, var, rest + 9, value))
                env_provider(cfg, var, rest + 9, value);
            matched = 1;
        }
        if (!matched)
            env_unknown(cfg, var);
    }
}

/* One zero-config provider, named after its type, for key variable var. */
static void
implicit_provider(flexiai_config *cfg, const struct fx_provider_ops *ops,
                  const char *var, int *prio)
{
    char section[64], origin[64], prio_s[16];
    snprintf(section, sizeof(section), "provider.%s", ops->type);
    if (fx_conf_entry(cfg, section, "type"))
        return; /* GOOGLE_API_KEY after GEMINI_API_KEY */
    snprintf(origin, sizeof(origin), "env %s", var);
    snprintf(prio_s, sizeof(prio_s), "%d", (*prio)++);
    fx_conf_set(cfg, section, "type", ops->type, origin);
    fx_conf_set(cfg, section, "model", ops->default_model, origin);
    fx_conf_set(cfg, section, "api_key_env", var, origin);
    fx_conf_set(cfg, section, "priority", prio_s, origin);
    const char *base = ops->base_url_var ? getenv(ops->base_url_var) : NULL;
    if (base && *base) {
        snprintf(origin, sizeof(origin), "env %s", ops->base_url_var);
        fx_conf_set(cfg, section, "base_url", base, origin);
    }
}

/* With no [provider.*] at all, the providers' standard key variables. */
void
fx_conf_implicit_providers(flexiai_config *cfg)
{
    if (cfg->nsections > 0)
        return;
    int prio = 1;
    for (int i = 0; fx_providers[i]; i++) {
        const struct fx_provider_ops *ops = fx_providers[i];
        if (ops->key_vars == NULL || ops->default_model == NULL)
            continue;
        for (int k = 0; ops->key_vars[k]; k++) {
            const char *v = getenv(ops->key_vars[k]);
            if (v && *v)
                implicit_provider(cfg, ops, ops->key_vars[k], &prio);
        }
    }
}
