/*
 * conf-values.c - the configuration's raw values, each with where it came
 * from ("FILE:LINE", "env NAME", "flag"), the provider sections in the
 * order they were seen, and the diagnostics: one line each, never twice,
 * sorted by file and line as `config check` prints them.
 */
#include "config.h"

#include "conf-int.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- raw values ------------------------------------------------------- */

struct entry *
fx_conf_entry(const flexiai_config *cfg, const char *section, const char *key)
{
    for (size_t i = 0; i < cfg->nentries; i++)
        if (strcmp(cfg->entries[i].section, section) == 0 &&
            strcmp(cfg->entries[i].key, key) == 0)
            return &cfg->entries[i];
    return NULL;
}

void
fx_conf_note_section(flexiai_config *cfg, const char *name, const char *where)
{
    for (size_t i = 0; i < cfg->nsections; i++)
        if (strcmp(cfg->sections[i].name, name) == 0)
            return;
    cfg->sections = fxu_xrealloc(cfg->sections,
                                 (cfg->nsections + 1) * sizeof(*cfg->sections));
    cfg->sections[cfg->nsections].name = fxu_strdup(name);
    cfg->sections[cfg->nsections].where = fxu_strdup(where);
    cfg->nsections++;
}

/* Record a value; a later one replaces an earlier one with its origin. */
void
fx_conf_set(flexiai_config *cfg, const char *section, const char *key,
            const char *value, const char *origin)
{
    struct entry *e = fx_conf_entry(cfg, section, key);
    if (e == NULL) {
        cfg->entries = fxu_xrealloc(cfg->entries, (cfg->nentries + 1) *
                                                      sizeof(*cfg->entries));
        e = &cfg->entries[cfg->nentries++];
        e->section = fxu_strdup(section);
        e->key = fxu_strdup(key);
    } else {
        free(e->value);
        free(e->origin);
    }
    e->value = fxu_strdup(value);
    e->origin = fxu_strdup(origin);
    e->from_file_mode_open = 0;
    if (strncmp(section, "provider.", 9) == 0)
        fx_conf_note_section(cfg, section, origin);
    cfg->validated = 0;
}

/* The effective raw value of section.key: entry, else the schema default
 * (provider sections fall back to nothing; callers merge [defaults]). */
const char *
fx_conf_raw(const flexiai_config *cfg, const char *section, const char *key,
            const struct entry **from)
{
    const struct entry *e = fx_conf_entry(cfg, section, key);
    if (from)
        *from = e;
    if (e)
        return e->value;
    const struct key_def *d = fx_conf_key_def(section, key);
    return d ? d->def : NULL;
}

const char *
fx_conf_where(const struct entry *e)
{
    return e ? e->origin : "default";
}

/* For [log] and prices, which only the ledger reads (lib/ledger/). */
const char *
fx_config_value(const flexiai_config *cfg, const char *section, const char *key)
{
    const char *v = fx_conf_raw(cfg, section, key, NULL);
    return (v && *v) ? v : NULL;
}

/* ---- diagnostics ------------------------------------------------------ */

void
fx_conf_diag(flexiai_config *cfg, int is_error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = fxu_vasprintf(fmt, ap);
    va_end(ap);
    /* one line each, whatever a value (say, a continued one) holds */
    for (char *p = text; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
        else if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?'; /* a value's control bytes never reach a terminal */
    for (size_t i = 0; i < cfg->ndiags; i++)
        if (strcmp(cfg->diags[i].text, text) == 0) {
            free(text);
            return;
        }
    cfg->diags =
        fxu_xrealloc(cfg->diags, (cfg->ndiags + 1) * sizeof(*cfg->diags));
    cfg->diags[cfg->ndiags].is_error = is_error;
    cfg->diags[cfg->ndiags].text = text;
    cfg->ndiags++;
}

int
fx_conf_has_errors(const flexiai_config *cfg)
{
    for (size_t i = 0; i < cfg->ndiags; i++)
        if (cfg->diags[i].is_error)
            return 1;
    return 0;
}

size_t
flexiai_config_ndiags(const flexiai_config *cfg)
{
    return cfg->ndiags;
}

const flexiai_diag *
flexiai_config_diag(const flexiai_config *cfg, size_t i)
{
    return i < cfg->ndiags ? &cfg->diags[i] : NULL;
}

/* "FILE:LINE: ..." -> FILE length and LINE; 0 when not of that form */
static size_t
diag_place(const char *text, long *line)
{
    for (const char *p = text; *p; p++) {
        if (*p != ':' || p[1] < '0' || p[1] > '9')
            continue;
        char *end;
        long n = strtol(p + 1, &end, 10);
        if (*end == ':') {
            *line = n;
            return (size_t)(p - text);
        }
    }
    return 0;
}

static int
diag_before(const flexiai_diag *a, const flexiai_diag *b)
{
    long la = 0, lb = 0;
    size_t fa = diag_place(a->text, &la), fb = diag_place(b->text, &lb);
    if (fa == 0 || fb == 0)
        return fa != 0 && fb == 0; /* file problems before env ones */
    int c = strncmp(a->text, b->text, fa < fb ? fa : fb);
    if (c != 0 || fa != fb)
        return 0; /* different files keep their reading order */
    return la < lb;
}

/* Order problems by file and line, as a reader goes through the file. */
void
fx_conf_sort_diags(flexiai_config *cfg)
{
    for (size_t i = 1; i < cfg->ndiags; i++) {
        flexiai_diag d = cfg->diags[i];
        size_t j = i;
        while (j > 0 && diag_before(&d, &cfg->diags[j - 1])) {
            cfg->diags[j] = cfg->diags[j - 1];
            j--;
        }
        cfg->diags[j] = d;
    }
}
