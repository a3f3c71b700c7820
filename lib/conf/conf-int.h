/*
 * conf-int.h - what the files of lib/conf/ share, and nothing outside
 * them sees (the rest of the library has conf.h): the key table, the
 * configuration object with its raw values and diagnostics, and each
 * file's entry points.
 *
 *   conf-load.c      flexiai_config_new, _load, _set, _free
 *   conf-validate.c  the raw values into struct fx_settings
 *   conf-tools.c     [tool.NAME] and [mcp.NAME] checked and listed
 *   conf-redis.c     [sync]: redis_url, TLS, Sentinel
 *   conf-show.c      the entries of `config show`
 *   conf-secrets.c   a provider's key resolved; secrets masked
 *   conf-typed.c     a raw value as its type, range-checked
 *   conf-ini.c       INI files, line by line
 *   conf-env.c       FLEXIAI_* variables, the Python FlexiAI's names, the
 *                    providers' standard key variables
 *   conf-values.c    raw values and where they came from; diagnostics
 *   conf-keys.c      the key table; did you mean
 *
 * A file calls only files below it in this list (and keycmd.c, below them
 * all); settings.c, above them all, uses conf.h alone.
 */
#ifndef FX_CONF_INT_H
#define FX_CONF_INT_H

#include "conf.h"
#include "fx.h"

#include <stddef.h>

/* ---- the key table (conf-keys.c) -------------------------------------- */

enum key_type {
    KT_STRING,
    KT_SECRET,
    KT_INT,
    KT_NUMBER,
    KT_BOOL,
    KT_ENUM,
    KT_LIST
};

struct key_def {
    const char *section; /* "provider" stands for every [provider.NAME] */
    const char *key;
    int type;
    const char *def; /* NULL: unset */
    double min, max;
    const char *choices; /* KT_ENUM: "a|b|c" */
};

extern const struct key_def fx_conf_keys[];
extern const size_t fx_conf_nkeys;
/* The sections that are not [provider.NAME] or [price.MODEL], NULL-ended. */
extern const char *const fx_conf_sections[];

/* The key's definition (any [provider.NAME] and [price.MODEL] as one),
 * NULL when there is none. */
const struct key_def *fx_conf_key_def(const char *section, const char *key);
int fx_conf_known_section(const char *section);
/* Did you mean: the nearest key of the section, the nearest section;
 * NULL when none is near. */
const char *fx_conf_suggest_key(const char *section, const char *key);
const char *fx_conf_suggest_section(const char *section);

/* ---- raw values and diagnostics (conf-values.c) ----------------------- */

struct entry {
    char *section;
    char *key;
    char *value;
    char *origin;            /* "FILE:LINE", "env NAME", "flag", "default" */
    int from_file_mode_open; /* api_key in a group/world readable file */
};

struct section_seen {
    char *name;
    char *where; /* "FILE:LINE" of its header */
};

struct flexiai_config {
    struct entry *entries;
    size_t nentries;
    struct section_seen *sections; /* provider sections in file order */
    size_t nsections;
    flexiai_diag *diags;
    size_t ndiags;
    struct fx_settings settings;
    int validated;
    flexiai_config_entry *shown;
    size_t nshown;
    char **shown_strings;
    size_t nshown_strings;
    char **provider_names;
    size_t nprovider_names;
    fxu_buf sources;             /* the files looked at, for "no providers" */
    struct fx_conf_tools *tools; /* [tool.NAME], [mcp.NAME] (conf-tools.c) */
};

void fx_conf_diag(flexiai_config *cfg, int is_error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int fx_conf_has_errors(const flexiai_config *cfg);
/* Order the diagnostics by file and line, as a reader goes through it. */
void fx_conf_sort_diags(flexiai_config *cfg);

struct entry *fx_conf_entry(const flexiai_config *cfg, const char *section,
                            const char *key);
void fx_conf_note_section(flexiai_config *cfg, const char *name,
                          const char *where);
/* Record a value; a later one replaces an earlier one with its origin. */
void fx_conf_set(flexiai_config *cfg, const char *section, const char *key,
                 const char *value, const char *origin);
/* The effective raw value of section.key: its entry's (*from, may be
 * NULL), else the schema default. */
const char *fx_conf_raw(const flexiai_config *cfg, const char *section,
                        const char *key, const struct entry **from);
/* An entry's origin, "default" for none. */
const char *fx_conf_where(const struct entry *e);

/* ---- the sources (conf-ini.c, conf-env.c) ----------------------------- */

/* Read one INI file into cfg.  0 when read, or absent and not `required`;
 * -1 when it could not be (the diagnostic is recorded). */
int fx_conf_read_file(flexiai_config *cfg, const char *path, int required);
/* The FLEXIAI_* variables, over what the files said. */
void fx_conf_read_env(flexiai_config *cfg);
/* With no [provider.*] section at all: a provider for each standard key
 * variable set (OPENAI_API_KEY, ...), named after its type. */
void fx_conf_implicit_providers(flexiai_config *cfg);

/* ---- typed values (conf-typed.c) -------------------------------------- */

/* Check every entry's type and range, reporting each mistake. */
void fx_conf_check_entries(flexiai_config *cfg);
/* A number, whole number, boolean or choice (as its index): the value,
 * else the key's default, else `fallback`.  A wrong value is reported and
 * reads as the default when that is a number or boolean, else `fallback`. */
double fx_conf_number_or(flexiai_config *cfg, const char *section,
                         const char *key, double fallback);
/* A key the table gives a default: that default is the only one. */
double fx_conf_number(flexiai_config *cfg, const char *section,
                      const char *key);
/* A copy of the value, NULL when unset or empty. */
char *fx_conf_string(flexiai_config *cfg, const char *section, const char *key);
/* The same, with the key's default for an empty value. */
char *fx_conf_string_or_default(flexiai_config *cfg, const char *section,
                                const char *key);
/* "a, b ,c" (or one per line) -> NULL-terminated array; NULL when empty. */
char **fx_conf_split_list(const char *value);
void fx_conf_free_list(char **list);

/* ---- [sync] (conf-redis.c) -------------------------------------------- */

/* Fill y from [sync]; every mistake becomes a diagnostic. */
void fx_conf_read_sync(flexiai_config *cfg, struct fx_sync *y);

/* ---- [tool.NAME] and [mcp.NAME] (conf-tools.c) ------------------------ */

/* Check the sections and keep what flexiai_config_tools() lists. */
void fx_conf_read_tools(flexiai_config *cfg);
void fx_conf_free_tools(flexiai_config *cfg);
/* A command as an argv (the quoting rule is in conf-tools.c); NULL with
 * *why when it does not split. */
char **fx_conf_split_argv(const char *s, const char **why);

/* ---- the settings (conf-validate.c) ----------------------------------- */

void fx_conf_free_settings(struct fx_settings *s);

/* ---- secrets and config show (conf-secrets.c, conf-show.c) ------------ */

/* A secret as `config show` prints it: a copy, to free. */
char *fx_conf_masked(const char *key, const char *value);
/* Forget the entries made for `config show`. */
void fx_conf_free_shown(flexiai_config *cfg);

#endif
