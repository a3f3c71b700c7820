/*
 * conf-typed.c - a raw value as its type: whole numbers, numbers,
 * booleans and choices parsed strictly and range-checked against the key
 * table, each mistake reported at the value's origin; lists split.  A
 * value that fails reads as the key's default, so later code still has a
 * sane one.
 */
#include "config.h"

#include "conf-int.h"
#include "providers/providers.h"

#include <stdlib.h>
#include <string.h>

/* Parse and range-check a value; report against its origin.  Returns 0 on
 * success (out filled), -1 when reported. */
static int
check_value(flexiai_config *cfg, const struct key_def *d, const char *section,
            const char *value, const struct entry *e, double *num)
{
    const char *w = fx_conf_where(e);
    if (value == NULL)
        return 0;
    switch (d->type) {
    case KT_INT: {
        long v;
        if (fxu_parse_long(value, &v) != 0) {
            /* digits too many for a long are a number out of range */
            const char *p = value + strspn(value, " \t");
            p += *p == '-' || *p == '+';
            size_t nd = strspn(p, "0123456789");
            int digits = nd > 0 && p[nd + strspn(p + nd, " \t")] == '\0';
            if (digits && (d->min != 0 || d->max != 0))
                fx_conf_diag(cfg, 1,
                             "%s: %s.%s: %s is out of range (%.15g to %.15g)",
                             w, section, d->key, value, d->min, d->max);
            else
                fx_conf_diag(cfg, 1, "%s: %s.%s: '%s' is not a whole number", w,
                             section, d->key, value);
            return -1;
        }
        if ((d->min != 0 || d->max != 0) && (v < d->min || v > d->max)) {
            fx_conf_diag(cfg, 1,
                         "%s: %s.%s: %ld is out of range (%.15g to %.15g)", w,
                         section, d->key, v, d->min, d->max);
            return -1;
        }
        *num = (double)v;
        return 0;
    }
    case KT_NUMBER: {
        double v;
        if (fxu_parse_double(value, &v) != 0) {
            fx_conf_diag(cfg, 1, "%s: %s.%s: '%s' is not a number", w, section,
                         d->key, value);
            return -1;
        }
        if ((d->min != 0 || d->max != 0) && (v < d->min || v > d->max)) {
            /* the value as written: 2.0000001 must not read "2" */
            fx_conf_diag(cfg, 1,
                         "%s: %s.%s: %s is out of range (%.15g to %.15g)", w,
                         section, d->key, value, d->min, d->max);
            return -1;
        }
        *num = v;
        return 0;
    }
    case KT_BOOL: {
        int b;
        if (fxu_parse_bool(value, &b) != 0) {
            fx_conf_diag(
                cfg, 1,
                "%s: %s.%s: '%s' is not a boolean (yes/no, true/false, "
                "on/off, 1/0)",
                w, section, d->key, value);
            return -1;
        }
        *num = b;
        return 0;
    }
    case KT_ENUM: {
        const char *choices = d->choices ? d->choices : fx_provider_type_list();
        const char *c = choices;
        int idx = 0;
        while (c && *c) {
            const char *bar = strchr(c, '|');
            size_t n = bar ? (size_t)(bar - c) : strlen(c);
            if (strlen(value) == n && strncmp(value, c, n) == 0) {
                *num = idx;
                return 0;
            }
            idx++;
            c = bar ? bar + 1 : NULL;
        }
        if (strcmp(d->key, "type") == 0)
            fx_conf_diag(cfg, 1,
                         "%s: %s.%s: unknown provider type '%s' (one of %s)", w,
                         section, d->key, value, choices);
        else
            fx_conf_diag(cfg, 1, "%s: %s.%s: '%s' is not one of %s", w, section,
                         d->key, value, choices);
        return -1;
    }
    default:
        return 0;
    }
}

/* Split "a, b ,c" into a NULL-terminated array (NULL when empty). */
char **
fx_conf_split_list(const char *value)
{
    if (value == NULL)
        return NULL;
    char *copy = fxu_strdup(value);
    char **out = NULL;
    size_t n = 0;
    for (char *tok = strtok(copy, ",\n"); tok; tok = strtok(NULL, ",\n")) {
        fxu_trim(tok);
        if (*tok == '\0')
            continue;
        out = fxu_xrealloc(out, (n + 2) * sizeof(*out));
        out[n++] = fxu_strdup(tok);
        out[n] = NULL;
    }
    free(copy);
    return out;
}

void
fx_conf_free_list(char **list)
{
    if (list == NULL)
        return;
    for (char **s = list; *s; s++)
        free(*s);
    free(list);
}

/* The value, or the schema default; `fallback` only for keys the schema
 * gives no default (the "unset" of an optional key). */
double
fx_conf_number_or(flexiai_config *cfg, const char *section, const char *key,
                  double fallback)
{
    const struct entry *e;
    const char *v = fx_conf_raw(cfg, section, key, &e);
    const struct key_def *d = fx_conf_key_def(section, key);
    double num;
    if (v == NULL || d == NULL)
        return fallback;
    if (check_value(cfg, d, section, v, e, &num) != 0) {
        /* fall back to the schema default so later code has sane values */
        if (e && d->def && fxu_parse_double(d->def, &num) == 0)
            return num;
        if (e && d->def && fxu_parse_bool(d->def, (int[]){0}) == 0) {
            int b = 0;
            fxu_parse_bool(d->def, &b);
            return b;
        }
        return fallback;
    }
    return num;
}

/* A key the schema gives a default: that default is the only one. */
double
fx_conf_number(flexiai_config *cfg, const char *section, const char *key)
{
    return fx_conf_number_or(cfg, section, key, 0);
}

char *
fx_conf_string(flexiai_config *cfg, const char *section, const char *key)
{
    const char *v = fx_conf_raw(cfg, section, key, NULL);
    return (v && *v) ? fxu_strdup(v) : NULL;
}

/* A string that an empty value leaves at the schema default. */
char *
fx_conf_string_or_default(flexiai_config *cfg, const char *section,
                          const char *key)
{
    char *v = fx_conf_string(cfg, section, key);
    const struct key_def *d = fx_conf_key_def(section, key);
    if (v == NULL && d && d->def)
        v = fxu_strdup(d->def);
    return v;
}

/* Check every entry of the fixed sections for type and range. */
void
fx_conf_check_entries(flexiai_config *cfg)
{
    for (size_t i = 0; i < cfg->nentries; i++) {
        const struct entry *e = &cfg->entries[i];
        const struct key_def *d = fx_conf_key_def(e->section, e->key);
        double num;
        if (d)
            check_value(cfg, d, e->section, e->value, e, &num);
    }
}
