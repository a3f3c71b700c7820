/*
 * conf-secrets.c - a provider's key resolved (api_key, api_key_cmd run
 * bounded, api_key_env, the type's standard variable) once, and secrets
 * masked for `config show`.  No message here ever holds a key or a
 * command's output.
 */
#include "config.h"

#include "conf-int.h"
#include "providers/providers.h"

#include <stdlib.h>
#include <string.h>

/* The type's key variable: the first one set, else the last one named
 * (so that a message names GOOGLE_API_KEY when neither Gemini one is set).
 * NULL for a type that has none. */
static const char *
standard_key_var(const struct fx_provider_ops *ops)
{
    if (ops == NULL || ops->key_vars == NULL || ops->key_vars[0] == NULL)
        return NULL;
    int k = 0;
    for (; ops->key_vars[k]; k++)
        if (getenv(ops->key_vars[k]))
            return ops->key_vars[k];
    return ops->key_vars[k - 1];
}

int
fx_provider_key(struct fx_provider *p, const char **key, char **err)
{
    if (p->key_state == 1) {
        *key = p->key;
        return 0;
    }
    if (p->key_state == -1) {
        *err = fxu_strdup(p->key_error);
        return -1;
    }
    char *value = NULL;
    char *why = NULL;
    if (p->api_key_cmd) {
        int status = 0;
        int rc = fx_run_key_cmd(
            p->api_key_cmd, p->api_key_timeout > 0 ? p->api_key_timeout : 10,
            &value, &status);
        if (rc == -2)
            why = fxu_asprintf(
                "provider '%s': api_key_cmd timed out after "
                "%gs (api_key_timeout)",
                p->name, p->api_key_timeout > 0 ? p->api_key_timeout : 10);
        else if (rc == -3) {
            /* not remembered: the next request may run it again */
            *err =
                fxu_asprintf("provider '%s': api_key_cmd interrupted", p->name);
            return -1;
        } else if (rc != 0)
            why = fxu_asprintf("provider '%s': api_key_cmd could not be run",
                               p->name);
        else if (status != 0)
            why = fxu_asprintf(
                "provider '%s': api_key_cmd failed (exit status %d)", p->name,
                status);
        else if (value[0] == '\0')
            why = fxu_asprintf("provider '%s': api_key_cmd printed no key",
                               p->name);
    } else if (p->api_key) {
        value = fxu_strdup(p->api_key);
    } else {
        const char *var = p->api_key_env;
        int explicit_var = var != NULL;
        if (var == NULL)
            var = standard_key_var(p->ops);
        const char *v = var ? getenv(var) : NULL;
        if (v && *v) {
            value = fxu_strdup(v);
        } else if (explicit_var) {
            why = fxu_asprintf("provider '%s': api_key_env %s is not set",
                               p->name, var);
        } else if (p->type && !(p->ops && p->ops->key_optional)) {
            /* OpenAI-compatible local servers need no key; others do. */
            if (var)
                why = fxu_asprintf("provider '%s': no API key (set %s, or "
                                   "api_key_env / api_key_cmd)",
                                   p->name, var);
            else
                why = fxu_asprintf("provider '%s': no API key (set "
                                   "api_key_cmd, api_key_env or api_key)",
                                   p->name);
        }
    }
    if (why) {
        if (value) {
            memset(value, 0, strlen(value));
            free(value);
        }
        p->key_state = -1;
        p->key_error = why;
        *err = fxu_strdup(why);
        return -1;
    }
    p->key = value; /* may be NULL: keyless server */
    p->key_state = 1;
    if (value)
        fx_secret_in_memory();
    *key = p->key;
    return 0;
}

/* A secret as `config show` prints it (a copy, to free): "" when unset,
 * "****" for a key or a password; a redis_url keeps its address and loses
 * only its password. */
char *
fx_conf_masked(const char *key, const char *value)
{
    if (value == NULL || *value == '\0')
        return fxu_strdup("");
    if (strcmp(key, "redis_url") == 0) {
        /* keep the address visible, hide the password */
        const char *scheme = strstr(value, "://");
        const char *at = strrchr(value, '@');
        if (scheme && at && at > scheme) {
            const char *colon =
                memchr(scheme + 3, ':', (size_t)(at - scheme - 3));
            fxu_buf b;
            fxu_buf_init(&b);
            if (colon) {
                fxu_buf_append(&b, value, (size_t)(colon - value) + 1);
                fxu_buf_puts(&b, "****");
            } else {
                fxu_buf_append(&b, value, (size_t)(scheme - value) + 3);
                fxu_buf_puts(&b, "****");
            }
            fxu_buf_puts(&b, at);
            return fxu_buf_steal(&b);
        }
        /* no credentials in it, or not a URL we understand: then all of
         * it may be a secret */
        return fxu_strdup(strchr(value, '@') ? "****" : value);
    }
    return fxu_strdup("****");
}
