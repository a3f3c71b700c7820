/*
 * conf-tools.c - [tool.NAME] and [mcp.NAME]: the tools and MCP servers the
 * commands may run, checked when the configuration is validated (a name
 * the providers accept, a command that splits, environment names, JSON
 * parameters that parse) and listed by flexiai_config_tools().  The
 * library never runs them: cmd/tools*.c does.
 *
 * A command is split into an argv here, never by a shell: blanks (space,
 * tab, newline) separate words; inside '...' every byte is literal;
 * inside "..." a backslash escapes only " and \; outside quotes a
 * backslash takes the next byte as it is.  Nothing else is special: no
 * $VARIABLES, ~, globs, pipes or redirections.
 */
#include "config.h"

#include "conf-int.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

struct fx_conf_tools {
    flexiai_tool_conf *v;
    size_t n;
};

static void
free_strv(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

void
fx_conf_free_tools(flexiai_config *cfg)
{
    struct fx_conf_tools *t = cfg->tools;
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n; i++) {
        flexiai_tool_conf *c = &t->v[i];
        free((char *)c->name);
        free_strv((char **)c->argv);
        free((char *)c->description);
        free((char *)c->parameters);
        free_strv((char **)c->env);
        free((char *)c->where);
    }
    free(t->v);
    free(t);
    cfg->tools = NULL;
}

/* Append one word to a NULL-ended vector. */
static char **
push_word(char **v, size_t *n, fxu_buf *w)
{
    v = fxu_xrealloc(v, (*n + 2) * sizeof(*v));
    v[(*n)++] = w->data ? fxu_buf_steal(w) : fxu_strdup("");
    v[*n] = NULL;
    fxu_buf_init(w);
    return v;
}

char **
fx_conf_split_argv(const char *s, const char **why)
{
    char **v = NULL;
    size_t n = 0;
    fxu_buf w;
    fxu_buf_init(&w);
    int in_word = 0;
    *why = NULL;
    for (const char *p = s; *p; p++) {
        if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
            if (in_word)
                v = push_word(v, &n, &w);
            in_word = 0;
            continue;
        }
        in_word = 1;
        if (*p == '\'') {
            const char *end = strchr(p + 1, '\'');
            if (end == NULL) {
                *why = "a ' is not closed";
                break;
            }
            fxu_buf_append(&w, p + 1, (size_t)(end - p - 1));
            p = end;
        } else if (*p == '"') {
            for (p++; *p && *p != '"'; p++) {
                if (*p == '\\' && (p[1] == '"' || p[1] == '\\'))
                    p++;
                fxu_buf_append(&w, p, 1);
            }
            if (*p == '\0') {
                *why = "a \" is not closed";
                break;
            }
        } else if (*p == '\\') {
            if (p[1] == '\0') {
                *why = "a \\ ends the command";
                break;
            }
            fxu_buf_append(&w, ++p, 1);
        } else {
            fxu_buf_append(&w, p, 1);
        }
    }
    if (*why == NULL && in_word)
        v = push_word(v, &n, &w);
    fxu_buf_free(&w);
    if (*why == NULL && n == 0)
        *why = "the command is empty";
    if (*why) {
        free_strv(v);
        return NULL;
    }
    return v;
}

static int
name_ok(const char *name)
{
    size_t len = strlen(name);
    return len > 0 && len <= 64 &&
           strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        "0123456789_-") == len;
}

static int
env_name_ok(const char *name)
{
    size_t len = strlen(name);
    return len > 0 && !(name[0] >= '0' && name[0] <= '9') &&
           strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        "0123456789_") == len;
}

/* The section's first entry, where its mistakes without a key point. */
static const struct entry *
first_entry(const flexiai_config *cfg, const char *section)
{
    for (size_t i = 0; i < cfg->nentries; i++)
        if (strcmp(cfg->entries[i].section, section) == 0)
            return &cfg->entries[i];
    return NULL;
}

/* One section into c; 0, or -1 when reported (and c left empty). */
static int
read_one(flexiai_config *cfg, const char *section, flexiai_tool_conf *c)
{
    int is_mcp = strncmp(section, "mcp.", 4) == 0;
    const char *name = section + (is_mcp ? 4 : 5);
    const struct entry *ce = fx_conf_entry(cfg, section, "command");
    const char *w = fx_conf_where(ce ? ce : first_entry(cfg, section));
    if (!name_ok(name)) {
        fx_conf_diag(cfg, 1,
                     "%s: [%s]: a name is 1 to 64 of A-Z a-z 0-9 _ - "
                     "(what providers accept as a tool name)",
                     w, section);
        return -1;
    }
    if (ce == NULL || ce->value == NULL ||
        ce->value[strspn(ce->value, " \t")] == '\0') {
        fx_conf_diag(cfg, 1, "%s: [%s] has no command", w, section);
        return -1;
    }
    const char *why;
    char **argv = fx_conf_split_argv(ce->value, &why);
    if (argv == NULL) {
        fx_conf_diag(cfg, 1, "%s: %s.command: %s", w, section, why);
        return -1;
    }
    int bad = 0;
    char **env = fx_conf_split_list(fx_conf_raw(cfg, section, "env", NULL));
    const struct entry *ee = fx_conf_entry(cfg, section, "env");
    for (size_t i = 0; env && env[i]; i++)
        if (!env_name_ok(env[i])) {
            fx_conf_diag(cfg, 1, "%s: %s.env: '%s' is not a variable name",
                         fx_conf_where(ee), section, env[i]);
            bad = 1;
        }
    char *params = is_mcp ? NULL : fx_conf_string(cfg, section, "parameters");
    const char *ps = params ? params + strspn(params, " \t\n") : NULL;
    if (ps && *ps == '{') {
        cJSON *j = cJSON_Parse(ps);
        if (j == NULL || !cJSON_IsObject(j)) {
            fx_conf_diag(
                cfg, 1,
                "%s: %s.parameters: not a JSON object (a JSON "
                "Schema, or the schema DSL without braces)",
                fx_conf_where(fx_conf_entry(cfg, section, "parameters")),
                section);
            bad = 1;
        }
        cJSON_Delete(j);
    }
    if (bad) {
        free_strv(argv);
        free_strv(env);
        free(params);
        return -1;
    }
    if (env == NULL)
        env = fxu_xcalloc(1, sizeof(char *));
    c->name = fxu_strdup(name);
    c->is_mcp = is_mcp;
    c->argv = (const char *const *)argv;
    c->description =
        is_mcp ? NULL : fx_conf_string(cfg, section, "description");
    c->parameters = params;
    c->approve_auto = (int)fx_conf_number(cfg, section, "approve") == 1;
    c->timeout = fx_conf_number(cfg, section, "timeout");
    c->max_output = (long)fx_conf_number(cfg, section, "max_output");
    c->env = (const char *const *)env;
    c->where = fxu_strdup(w);
    return 0;
}

void
fx_conf_read_tools(flexiai_config *cfg)
{
    fx_conf_free_tools(cfg);
    struct fx_conf_tools *t = fxu_xcalloc(1, sizeof(*t));
    cfg->tools = t;
    for (size_t i = 0; i < cfg->nentries; i++) {
        const char *sec = cfg->entries[i].section;
        if (strncmp(sec, "tool.", 5) != 0 && strncmp(sec, "mcp.", 4) != 0)
            continue;
        if (first_entry(cfg, sec) != &cfg->entries[i])
            continue; /* seen */
        /* one name for one thing: a tool and a server may not share it */
        const char *name = strchr(sec, '.') + 1;
        int dup = 0;
        for (size_t k = 0; k < t->n; k++)
            dup |= strcmp(t->v[k].name, name) == 0;
        if (dup) {
            fx_conf_diag(
                cfg, 1, "%s: [%s]: '%s' is both a [tool.%s] and an [mcp.%s]",
                fx_conf_where(&cfg->entries[i]), sec, name, name, name);
            continue;
        }
        flexiai_tool_conf c;
        memset(&c, 0, sizeof(c));
        if (read_one(cfg, sec, &c) != 0)
            continue;
        t->v = fxu_xrealloc(t->v, (t->n + 1) * sizeof(*t->v));
        t->v[t->n++] = c;
    }
}

size_t
flexiai_config_tools(const flexiai_config *cfg, const flexiai_tool_conf **tools)
{
    const struct fx_conf_tools *t = cfg->tools;
    *tools = t ? t->v : NULL;
    return t ? t->n : 0;
}
