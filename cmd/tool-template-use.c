/*
 * tool-template-use.c - templates as the commands use them
 * (tool-template.h): the --template, -P and -f options, what a template
 * sets put under what the command line set, and the templates' names.
 */
#include "config.h"

#include "tool-template.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

const struct tool_option tool_opts_template[] = {
    {TOOL_OPT_TEMPLATE, 0, "template", "NAME",
     "use template NAME (templates/NAME.ini in the\nconfiguration directory; "
     "see flexiai-templates(1))",
     TOOL_COMP_TEMPLATE, 0, NULL, NULL, NULL},
    {TOOL_OPT_PARAM, 'P', "param", "NAME VALUE",
     "a template parameter: $NAME is VALUE (repeatable)", 0, 0, NULL, NULL,
     NULL},
    {TOOL_OPT_END, 0, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL},
};

const struct tool_option tool_opts_fragment[] = {
    {TOOL_OPT_FRAGMENT, 'f', "fragment", "FILE|URL|NAME",
     "put a named piece of text before the prompt: a file,\nan http(s) URL, "
     "- (stdin) or a saved fragment (repeatable)",
     TOOL_COMP_FRAGMENT, 0, NULL, NULL, NULL},
    {TOOL_OPT_END, 0, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL},
};

/* ---- options ------------------------------------------------------------- */

int
tool_template_option(struct tool_template_args *ta, struct tool_fragments *fs,
                     int id, const char *arg)
{
    switch (id) {
    case TOOL_OPT_TEMPLATE:
        if (*arg == '\0')
            tool_usage_error("--template needs a name");
        ta->name = arg;
        return 1;
    case TOOL_OPT_PARAM:
        /* -P NAME VALUE: the value is the next argument */
        if (ta->argv == NULL || optind >= ta->argc)
            tool_usage_error("-P needs a name and a value: -P NAME VALUE");
        if (!tool_template_param_name(arg))
            tool_usage_error("-P %s: a parameter name is letters, digits and "
                             "_",
                             arg);
        ta->params =
            fxu_xrealloc(ta->params, (ta->nparams + 1) * sizeof(*ta->params));
        ta->params[ta->nparams].key = fxu_strdup(arg);
        ta->params[ta->nparams++].value = fxu_strdup(ta->argv[optind++]);
        return 1;
    case TOOL_OPT_FRAGMENT:
        if (fs == NULL)
            return 0;
        tool_fragments_add(fs, arg);
        return 1;
    default:
        return 0;
    }
}

void
tool_template_args_free(struct tool_template_args *ta)
{
    for (size_t i = 0; i < ta->nparams; i++) {
        free(ta->params[i].key);
        free(ta->params[i].value);
    }
    free(ta->params);
    ta->params = NULL;
    ta->nparams = 0;
}

static int
has_override(const struct tool_args *a, const char *key)
{
    for (size_t i = 0; i < a->nover; i++)
        if (strcmp(a->over[i].key, key) == 0)
            return 1;
    return 0;
}

/* What the template sets, unless the command line did. */
static void
under(struct tool_args *a, const char *key, const char *value)
{
    if (value == NULL || has_override(a, key))
        return;
    if (a->nover == sizeof(a->over) / sizeof(a->over[0]))
        tool_usage_error("too many options");
    a->over[a->nover].section = "defaults";
    a->over[a->nover].key = key;
    a->over[a->nover++].value = value;
}

struct tool_template *
tool_template_apply(const struct tool_template_args *ta, struct tool_args *a,
                    struct tool_fragments *fs)
{
    if (ta->name == NULL) {
        if (ta->nparams)
            tool_usage_error("-P sets a template's parameter: it needs "
                             "--template NAME");
        return NULL;
    }
    struct tool_template *t = fxu_xcalloc(1, sizeof(*t));
    char *err = NULL;
    int rc = tool_template_load(ta->name, t, &err);
    if (rc != 0) {
        free(t); /* emptied by the load; nothing may stay unreachable */
        tool_die(rc, "%s", err);
    }
    if (a->model == NULL && t->model)
        a->model = t->model;
    if (a->provider == NULL && t->provider)
        a->provider = t->provider;
    under(a, "temperature", t->temperature);
    under(a, "max_tokens", t->max_tokens);
    under(a, "reasoning", t->reasoning);
    char *system = tool_template_system(t, ta->params, ta->nparams);
    free(t->system);
    t->system = system;
    under(a, "system", t->system);
    if (fs && t->nfragments) {
        /* the template's first, then the command line's */
        struct tool_fragments mine = {NULL, 0};
        for (size_t i = 0; i < t->nfragments; i++)
            tool_fragments_add(&mine, t->fragments[i]);
        for (size_t i = 0; i < fs->n; i++)
            tool_fragments_copy(&mine, &fs->v[i]);
        tool_fragments_free(fs);
        *fs = mine;
    }
    /* t->attachments: the caller adds them to its -a files
     * (tool_attach_add(), after the command line's) */
    return t;
}

void
tool_template_names(FILE *fp)
{
    static const char *const exts[] = {".ini", NULL};
    char *dir = tool_template_dir();
    tool_dir_names(dir, exts, 1, fp);
    free(dir);
}
