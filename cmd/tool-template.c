/*
 * tool-template.c - templates (tool-template.h): the file read and
 * checked line by line (a mistake is FILE:LINE and exit 78), and
 * parameters put into the prompt.  How the commands use them (options,
 * what a template sets under the command line's) is tool-template-use.c.
 */
#include "config.h"

#include "tool-template.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

char *
tool_template_dir(void)
{
    char *base = tool_xdg_dir("XDG_CONFIG_HOME", ".config");
    char *dir = fxu_asprintf("%s/templates", base);
    free(base);
    return dir;
}

char *
tool_template_path(const char *name)
{
    size_t len = strlen(name);
    if (strchr(name, '/') || (len > 4 && strcmp(name + len - 4, ".ini") == 0))
        return fxu_strdup(name);
    char *dir = tool_template_dir();
    char *path = fxu_asprintf("%s/%s.ini", dir, name);
    free(dir);
    return path;
}

/* ---- the file ------------------------------------------------------------ */

static void
list_add(char ***v, size_t *n, const char *s, size_t len)
{
    *v = fxu_xrealloc(*v, (*n + 1) * sizeof(**v));
    char *item = fxu_xmalloc(len + 1);
    memcpy(item, s, len);
    item[len] = '\0';
    (*v)[(*n)++] = item;
}

/* "a.png, b.png" -> items (empty ones dropped) */
static void
list_split(char ***v, size_t *n, const char *s)
{
    while (*s) {
        size_t len = strcspn(s, ",");
        const char *b = s, *e = s + len;
        while (b < e && isspace((unsigned char)*b))
            b++;
        while (e > b && isspace((unsigned char)e[-1]))
            e--;
        if (e > b)
            list_add(v, n, b, (size_t)(e - b));
        s += len + (s[len] == ',');
    }
}

int
tool_template_param_name(const char *s)
{
    if (!(isalpha((unsigned char)*s) || *s == '_'))
        return 0;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_'))
            return 0;
    return 1;
}

/* Check a request option's value as its flag is checked; NULL or what is
 * wrong. */
static const char *
bad_value(const char *key, const char *v)
{
    double d;
    long l;
    if (strcmp(key, "temperature") == 0 &&
        (fxu_parse_double(v, &d) || d < 0 || d > 2))
        return "temperature must be a number from 0 to 2";
    if (strcmp(key, "max_tokens") == 0 && (fxu_parse_long(v, &l) || l < 1))
        return "max_tokens must be a positive whole number";
    if (strcmp(key, "reasoning") == 0 && strcmp(v, "none") &&
        strcmp(v, "low") && strcmp(v, "medium") && strcmp(v, "high"))
        return "reasoning must be none, low, medium or high";
    if (*v == '\0' && strcmp(key, "system") && strcmp(key, "prompt"))
        return "an empty value";
    return NULL;
}

/* key = value into t; NULL or what is wrong. */
static const char *
set_key(struct tool_template *t, int params, const char *key, char *value)
{
    if (params) {
        if (!tool_template_param_name(key)) {
            free(value);
            return "a parameter name is letters, digits and _";
        }
        t->defaults = fxu_xrealloc(t->defaults,
                                   (t->ndefaults + 1) * sizeof(*t->defaults));
        t->defaults[t->ndefaults].key = fxu_strdup(key);
        t->defaults[t->ndefaults++].value = value;
        return NULL;
    }
    struct {
        const char *name;
        char **slot;
    } keys[] = {{"system", &t->system},
                {"prompt", &t->prompt},
                {"model", &t->model},
                {"provider", &t->provider},
                {"schema", &t->schema},
                {"reasoning", &t->reasoning},
                {"temperature", &t->temperature},
                {"max_tokens", &t->max_tokens}};
    const char *bad = bad_value(key, value);
    if (strcmp(key, "attachments") == 0 || strcmp(key, "fragments") == 0) {
        int att = key[0] == 'a';
        list_split(att ? &t->attachments : &t->fragments,
                   att ? &t->nattachments : &t->nfragments, value);
        free(value);
        return NULL;
    }
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        if (strcmp(key, keys[i].name) == 0) {
            if (bad) {
                free(value);
                return bad;
            }
            free(*keys[i].slot); /* the last one counts */
            *keys[i].slot = value;
            return NULL;
        }
    free(value);
    return "unknown key (system, prompt, model, provider, schema, reasoning, "
           "temperature, max_tokens, attachments, fragments; [params])";
}

struct pending {
    char *key; /* the value being read; NULL when none */
    fxu_buf value;
    size_t blanks; /* blank lines since its last line */
    int line;      /* where it started */
};

static const char *
finish_value(struct tool_template *t, int params, struct pending *p)
{
    if (p->key == NULL)
        return NULL;
    const char *bad = set_key(t, params, p->key, fxu_buf_steal(&p->value));
    free(p->key);
    p->key = NULL;
    p->blanks = 0;
    return bad;
}

int
tool_template_parse(const char *text, const char *path, struct tool_template *t,
                    char **err)
{
    memset(t, 0, sizeof(*t));
    struct pending p = {NULL, {0}, 0, 0};
    fxu_buf_init(&p.value);
    int params = 0, lineno = 0, bad_line = 0;
    const char *bad = NULL;
    const char *s = text;
    while (*s && bad == NULL) {
        size_t len = strcspn(s, "\n");
        char *line = fxu_xmalloc(len + 1);
        memcpy(line, s, len);
        line[len] = '\0';
        if (len && line[len - 1] == '\r')
            line[--len] = '\0';
        s += len + (s[len] == '\n') + (s[len] == '\r' && s[len + 1] == '\n');
        lineno++;
        char *b = line;
        while (isspace((unsigned char)*b))
            b++;
        if (*b == '\0') {
            if (p.key)
                p.blanks++;
        } else if (p.key && b != line) {
            /* a line that goes on with the value */
            for (; p.blanks; p.blanks--)
                fxu_buf_putc(&p.value, '\n');
            if (p.value.len)
                fxu_buf_putc(&p.value, '\n');
            fxu_buf_puts(&p.value, b);
        } else if (*b == '#' || *b == ';') {
            /* a comment */
        } else {
            int at = p.line;
            if ((bad = finish_value(t, params, &p)) != NULL) {
                bad_line = at;
                free(line);
                break;
            }
            char *e = b + strlen(b);
            while (e > b && isspace((unsigned char)e[-1]))
                *--e = '\0';
            if (*b == '[') {
                if (strcmp(b, "[params]") == 0)
                    params = 1;
                else
                    bad = "the one section is [params]";
            } else if (b != line) {
                bad = "an indented line with no key before it";
            } else {
                char *eq = strchr(b, '=');
                if (eq == NULL) {
                    bad = "expected KEY = VALUE";
                } else {
                    char *k = b, *ke = eq;
                    while (ke > k && isspace((unsigned char)ke[-1]))
                        ke--;
                    *ke = '\0';
                    char *v = eq + 1;
                    while (isspace((unsigned char)*v))
                        v++;
                    if (*k == '\0')
                        bad = "a value with no key";
                    else {
                        p.key = fxu_strdup(k);
                        p.line = lineno;
                        fxu_buf_reset(&p.value);
                        fxu_buf_puts(&p.value, v);
                    }
                }
            }
            bad_line = lineno;
        }
        free(line);
    }
    if (bad == NULL) {
        bad_line = p.line;
        bad = finish_value(t, params, &p);
    }
    free(p.key);
    fxu_buf_free(&p.value);
    if (bad) {
        *err = fxu_asprintf("%s:%d: %s", path, bad_line, bad);
        tool_template_free(t);
        return FLEXIAI_ECONFIG;
    }
    return 0;
}

int
tool_template_load(const char *name, struct tool_template *t, char **err)
{
    memset(t, 0, sizeof(*t));
    if (*name == '\0') {
        *err = fxu_strdup("--template needs a name");
        return FLEXIAI_EUSAGE;
    }
    char *path = tool_template_path(name);
    char *why = NULL;
    FILE *fp = tool_open_input(path, &why);
    if (fp == NULL) {
        char *dir = tool_template_dir();
        *err = errno == ENOENT && strchr(name, '/') == NULL
                   ? fxu_asprintf("no template '%s' (no %s; see flexiai "
                                  "templates list)",
                                  name, path)
                   : fxu_asprintf("template %s", why);
        free(dir);
        free(why);
        free(path);
        return FLEXIAI_ENOINPUT;
    }
    fxu_buf b;
    fxu_buf_init(&b);
    int rc = tool_read_bounded(fp, path, &b, &why);
    fclose(fp);
    if (rc != 0) {
        *err = why;
    } else if (b.len && memchr(b.data, '\0', b.len)) {
        *err = fxu_asprintf("%s:1: a template must be text (a NUL byte)", path);
        rc = FLEXIAI_ECONFIG;
    } else {
        size_t bad = 0;
        char *text = fxu_utf8_sanitize(b.data ? b.data : "", b.len, &bad);
        rc = tool_template_parse(text, path, t, err);
        free(text);
    }
    fxu_buf_free(&b);
    if (rc == 0) {
        t->name = fxu_strdup(name);
        t->path = path;
    } else {
        free(path);
    }
    return rc;
}

static void
free_list(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(v[i]);
    free(v);
}

void
tool_template_free(struct tool_template *t)
{
    if (t == NULL)
        return;
    free(t->name);
    free(t->path);
    free(t->system);
    free(t->prompt);
    free(t->model);
    free(t->provider);
    free(t->schema);
    free(t->reasoning);
    free(t->temperature);
    free(t->max_tokens);
    free_list(t->attachments, t->nattachments);
    free_list(t->fragments, t->nfragments);
    for (size_t i = 0; i < t->ndefaults; i++) {
        free(t->defaults[i].key);
        free(t->defaults[i].value);
    }
    free(t->defaults);
    memset(t, 0, sizeof(*t));
}

/* ---- parameters ---------------------------------------------------------- */

static const char *
param_value(const char *name, size_t len, const struct tool_template *t,
            const struct tool_kv *params, size_t nparams)
{
    /* the last -P of a name counts */
    for (size_t i = nparams; i-- > 0;)
        if (strlen(params[i].key) == len &&
            memcmp(params[i].key, name, len) == 0)
            return params[i].value;
    for (size_t i = t ? t->ndefaults : 0; i-- > 0;)
        if (strlen(t->defaults[i].key) == len &&
            memcmp(t->defaults[i].key, name, len) == 0)
            return t->defaults[i].value;
    return NULL;
}

int
tool_template_subst(const char *text, const char *input,
                    const struct tool_template *t, const struct tool_kv *params,
                    size_t nparams, char **out, char **err)
{
    fxu_buf b;
    fxu_buf_init(&b);
    const char *s = text;
    while (*s) {
        const char *d = strchr(s, '$');
        if (d == NULL) {
            fxu_buf_puts(&b, s);
            break;
        }
        fxu_buf_append(&b, s, (size_t)(d - s));
        const char *name = d + 1;
        int braced = *name == '{';
        if (braced)
            name++;
        size_t len = 0;
        if (isalpha((unsigned char)*name) || *name == '_')
            while (isalnum((unsigned char)name[len]) || name[len] == '_')
                len++;
        if (d[1] == '$') {
            fxu_buf_putc(&b, '$');
            s = d + 2;
            continue;
        }
        if (len == 0 || (braced && name[len] != '}')) {
            fxu_buf_putc(&b, '$'); /* a lone $ is itself */
            s = d + 1;
            continue;
        }
        const char *v = NULL;
        if (len == 5 && memcmp(name, "input", 5) == 0)
            v = input ? input : "";
        else
            v = param_value(name, len, t, params, nparams);
        if (v == NULL) {
            *err = fxu_asprintf("template%s%s: parameter '%.*s' has no value "
                                "(give it with -P %.*s VALUE)",
                                t && t->name ? " " : "",
                                t && t->name ? t->name : "", (int)len, name,
                                (int)len, name);
            fxu_buf_free(&b);
            return FLEXIAI_EUSAGE;
        }
        fxu_buf_puts(&b, v);
        s = name + len + braced;
    }
    *out = fxu_buf_steal(&b);
    return 0;
}

/* Does text use $input (not $$input)? */
static int
uses_input(const char *text)
{
    for (const char *d = strchr(text, '$'); d; d = strchr(d, '$')) {
        if (d[1] == '$') {
            d += 2;
            continue;
        }
        const char *n = d + 1 + (d[1] == '{');
        if (strncmp(n, "input", 5) == 0 &&
            !(isalnum((unsigned char)n[5]) || n[5] == '_'))
            return 1;
        d++;
    }
    return 0;
}

int
tool_template_prompt(const struct tool_template *t, const char *input,
                     const struct tool_kv *params, size_t nparams, char **out,
                     char **err)
{
    if (t == NULL || t->prompt == NULL) {
        *out = fxu_strdup(input ? input : "");
        return 0;
    }
    /* stdin's last newline is no part of the text put in */
    char *in = fxu_strdup(input ? input : "");
    size_t len = strlen(in);
    while (len > 0 && (in[len - 1] == '\n' || in[len - 1] == '\r'))
        in[--len] = '\0';
    input = in;
    int rc =
        tool_template_subst(t->prompt, input, t, params, nparams, out, err);
    if (rc == 0 && input && *input && !uses_input(t->prompt)) {
        char *both = fxu_asprintf("%s%s%s", *out, **out ? "\n\n" : "", input);
        free(*out);
        *out = both;
    }
    free(in);
    return rc;
}

char *
tool_template_system(const struct tool_template *t,
                     const struct tool_kv *params, size_t nparams)
{
    if (t == NULL || t->system == NULL)
        return NULL;
    char *out = NULL, *err = NULL;
    int rc =
        tool_template_subst(t->system, NULL, t, params, nparams, &out, &err);
    if (rc != 0)
        tool_die(rc, "%s", err);
    return out;
}
