/*
 * batch-template.c - templates and fragments for batch items: --template
 * for every item, or an item's own "template" with its "params", and an
 * item's "fragments".  What the item sets itself wins over its template;
 * its prompt (the last user message) becomes the template's prompt with
 * the item's text as $input, after the item's fragments.  Templates and
 * fragments are read once per run, however many items use them; a
 * template's `attachments` go with each item after the item's own, and
 * are checked (read, hashed, typed) once per run, not once per item.
 */
#include "config.h"

#include "batch.h"
#include "tool-template.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

/* A template's files, checked once with the first item that uses them. */
struct batch_tmpl_files {
    struct tool_attach att;
    int checked, rc;
    char *err;
};

/* What this run read, by name: a template (or why not), a fragment. */
struct cached {
    char *name;
    struct tool_template *t; /* NULL: failed, see err */
    struct tool_fragment f;
    int ok;
    char *err;
    struct batch_tmpl_files *files; /* t's attachments; NULL: none */
};
static struct cached *templates, *fragments;
static size_t ntemplates, nfragments;

static struct cached *
find(struct cached *v, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(v[i].name, name) == 0)
            return &v[i];
    return NULL;
}

static struct cached *
template_named(const char *name)
{
    struct cached *c = find(templates, ntemplates, name);
    if (c)
        return c;
    templates = fxu_xrealloc(templates, (ntemplates + 1) * sizeof(*templates));
    c = &templates[ntemplates++];
    memset(c, 0, sizeof(*c));
    c->name = fxu_strdup(name);
    c->t = fxu_xcalloc(1, sizeof(*c->t));
    if (tool_template_load(name, c->t, &c->err) != 0) {
        free(c->t);
        c->t = NULL;
    } else if (c->t->nattachments) {
        c->files = fxu_xcalloc(1, sizeof(*c->files));
        tool_attach_init(&c->files->att);
        for (size_t i = 0; i < c->t->nattachments; i++)
            tool_attach_add(&c->files->att, c->t->attachments[i], NULL);
    }
    return c;
}

static struct cached *
fragment_named(const char *spec)
{
    struct cached *c = find(fragments, nfragments, spec);
    if (c)
        return c;
    fragments = fxu_xrealloc(fragments, (nfragments + 1) * sizeof(*fragments));
    c = &fragments[nfragments++];
    memset(c, 0, sizeof(*c));
    c->name = fxu_strdup(spec);
    c->ok = tool_fragment_load(spec, &c->f, &c->err) == 0;
    return c;
}

void
batch_templates_free(void)
{
    for (size_t i = 0; i < ntemplates; i++) {
        free(templates[i].name);
        tool_template_free(templates[i].t);
        free(templates[i].t);
        free(templates[i].err);
        if (templates[i].files) {
            tool_attach_free(&templates[i].files->att);
            free(templates[i].files->err);
            free(templates[i].files);
        }
    }
    for (size_t i = 0; i < nfragments; i++) {
        free(fragments[i].name);
        free(fragments[i].f.name);
        free(fragments[i].f.content);
        free(fragments[i].err);
    }
    free(templates);
    free(fragments);
    templates = fragments = NULL;
    ntemplates = nfragments = 0;
}

/* "params": {"name": "text" or a number}, after the command line's -P. */
static char *
take_params(const cJSON *o, const struct tool_template_args *ta,
            struct tool_kv **kv, size_t *n)
{
    *kv = NULL;
    *n = 0;
    for (size_t i = 0; ta && i < ta->nparams; i++) {
        *kv = fxu_xrealloc(*kv, (*n + 1) * sizeof(**kv));
        (*kv)[(*n)].key = fxu_strdup(ta->params[i].key);
        (*kv)[(*n)++].value = fxu_strdup(ta->params[i].value);
    }
    const cJSON *p = o ? cJSON_GetObjectItemCaseSensitive(o, "params") : NULL;
    if (p == NULL || cJSON_IsNull(p))
        return NULL;
    if (!cJSON_IsObject(p))
        return fxu_strdup("params must be an object of strings");
    const cJSON *v;
    cJSON_ArrayForEach(v, p)
    {
        char *value = cJSON_IsString(v)   ? fxu_strdup(v->valuestring)
                      : cJSON_IsNumber(v) ? cJSON_PrintUnformatted(v)
                                          : NULL;
        if (value == NULL)
            return fxu_asprintf("params: \"%s\" must be a string or a number",
                                v->string);
        *kv = fxu_xrealloc(*kv, (*n + 1) * sizeof(**kv));
        (*kv)[(*n)].key = fxu_strdup(v->string);
        (*kv)[(*n)++].value = value;
    }
    return NULL;
}

static void
free_params(struct tool_kv *kv, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(kv[i].key);
        free(kv[i].value);
    }
    free(kv);
}

/* The template's options where the item has none of its own. */
static char *
template_options(struct batch_item *it, const struct tool_template *t,
                 const struct tool_kv *kv, size_t n)
{
    if (it->model == NULL && t->model)
        it->model = fxu_strdup(t->model);
    if (it->provider == NULL && t->provider)
        it->provider = fxu_strdup(t->provider);
    if (it->schema_spec == NULL && t->schema)
        it->schema_spec = fxu_strdup(t->schema);
    if (!it->has_temperature && t->temperature) {
        it->has_temperature = 1;
        it->temperature = strtod(t->temperature, NULL);
    }
    if (it->max_tokens == 0 && t->max_tokens)
        it->max_tokens = strtol(t->max_tokens, NULL, 10);
    static const char *const levels[] = {"none", "low", "medium", "high"};
    for (int i = 0; it->reasoning == 0 && t->reasoning && i < 4; i++)
        if (strcmp(t->reasoning, levels[i]) == 0)
            it->reasoning = FLEXIAI_REASONING_NONE + i;
    if (it->system == NULL && t->system) {
        char *err = NULL;
        if (tool_template_subst(t->system, NULL, t, kv, n, &it->system, &err))
            return err;
    }
    return NULL;
}

/* Is a template's name a file's (a '/', or ".ini" at its end) rather than
 * a saved template's?  As tool_template_path() tells them apart. */
static int
names_file(const char *name)
{
    size_t len = strlen(name);
    return strchr(name, '/') != NULL ||
           (len > 4 && strcmp(name + len - 4, ".ini") == 0);
}

static const char no_stdin[] = "a template's attachment - (stdin) is not "
                               "taken by batch (stdin holds the items)";

/* The template's files after the item's own.  A saved template (in the
 * configuration directory) or --template is the user's own, trusted as
 * complete trusts it; a template file an input line names is not: its
 * files count as the line's (local files only with --attach-files). */
static char *
template_files(struct batch_item *it, struct cached *c, int trusted)
{
    if (tool_attach_uses_stdin(&c->files->att))
        return fxu_strdup(no_stdin);
    size_t own = it->att.n;
    for (size_t i = 0; i < c->t->nattachments; i++)
        tool_attach_add(&it->att, c->t->attachments[i], NULL);
    if (trusted) {
        it->att_tmpl = own;
        it->tfiles = c->files;
    }
    return NULL;
}

static int
files_check(const flexiai_config *cfg, struct batch_tmpl_files *f, char **err)
{
    if (!f->checked) {
        f->checked = 1;
        if (tool_attach_uses_stdin(&f->att)) {
            f->rc = FLEXIAI_EDATA;
            f->err = fxu_strdup(no_stdin);
        } else {
            f->rc = tool_attach_check(cfg, &f->att, &f->err);
        }
    }
    if (f->rc != 0)
        *err = fxu_strdup(f->err ? f->err : "attachments refused");
    return f->rc;
}

int
batch_template_files_check(const flexiai_config *cfg, const char *name,
                           char **err)
{
    struct cached *c = name ? template_named(name) : NULL;
    if (c == NULL || c->t == NULL || c->files == NULL)
        return 0; /* a bad template: said by whoever loads it */
    return files_check(cfg, c->files, err);
}

int
batch_item_attach_check(const flexiai_config *cfg, struct batch_item *it,
                        char **err)
{
    struct tool_attach *l = &it->att;
    size_t n = l->n, own = it->tfiles ? it->att_tmpl : n;
    int rc = 0;
    /* the line's own: each time (they are the line's) */
    l->n = own;
    if (own)
        rc = tool_attach_check(cfg, l, err);
    l->n = n;
    if (rc != 0 || own == n)
        return rc;
    /* the template's: checked once, then the same answer for each item */
    struct batch_tmpl_files *f = it->tfiles;
    rc = files_check(cfg, f, err);
    if (rc != 0)
        return rc;
    l->info = fxu_xrealloc(l->info, n * sizeof(*l->info));
    for (size_t i = own; i < n; i++) {
        l->v[i] = f->att.v[i - own]; /* its type known: not looked at again */
        l->info[i] = f->att.info[i - own];
    }
    return 0;
}

/* The last user message: NULL when the item has none. */
static flexiai_message *
last_user(struct batch_item *it)
{
    for (size_t i = it->msgs.n; i-- > 0;)
        if (strcmp(it->msgs.v[i].role, "user") == 0)
            return &it->msgs.v[i];
    return NULL;
}

char *
batch_item_template(struct batch_item *it, const cJSON *o,
                    const struct batch_parse *bp)
{
    const cJSON *tv =
        o ? cJSON_GetObjectItemCaseSensitive(o, "template") : NULL;
    const cJSON *fv =
        o ? cJSON_GetObjectItemCaseSensitive(o, "fragments") : NULL;
    if (tv && !cJSON_IsNull(tv) && !(cJSON_IsString(tv) && tv->valuestring[0]))
        return fxu_strdup("template must be a template's name");
    if (fv && !cJSON_IsNull(fv) && !cJSON_IsArray(fv))
        return fxu_strdup("fragments must be an array of names, files or "
                          "URLs");
    const char *name = cJSON_IsString(tv) ? tv->valuestring
                       : bp->tmpl         ? bp->tmpl->name
                                          : NULL;
    const cJSON *x;
    const cJSON *farr = cJSON_IsArray(fv) ? fv : NULL;
    cJSON_ArrayForEach(x, farr)
    {
        if (!cJSON_IsString(x) || strcmp(x->valuestring, "-") == 0)
            return fxu_strdup("fragments must be an array of names, files or "
                              "URLs");
    }
    struct tool_template *t = NULL;
    struct cached *tc = NULL;
    if (name) {
        tc = template_named(name);
        if (tc->t == NULL)
            return fxu_strdup(tc->err);
        t = tc->t;
    }
    if (t == NULL && !cJSON_IsArray(fv)) {
        if (o && cJSON_GetObjectItemCaseSensitive(o, "params"))
            return fxu_strdup("params needs a template");
        return NULL;
    }
    struct tool_kv *kv;
    size_t n;
    char *why = take_params(o, bp->tmpl, &kv, &n);
    if (why == NULL && t)
        why = template_options(it, t, kv, n);
    if (why == NULL && tc && tc->files)
        why = template_files(it, tc, !(cJSON_IsString(tv) && names_file(name)));
    /* the template's fragments, then the item's */
    for (size_t i = 0; why == NULL && t && i < t->nfragments; i++) {
        struct cached *c = fragment_named(t->fragments[i]);
        if (!c->ok)
            why = fxu_strdup(c->err);
        else
            tool_fragments_copy(&it->frags, &c->f);
    }
    cJSON_ArrayForEach(x, farr)
    {
        if (why)
            break;
        struct cached *c = fragment_named(x->valuestring);
        if (!c->ok)
            why = fxu_strdup(c->err);
        else
            tool_fragments_copy(&it->frags, &c->f);
    }
    flexiai_message *m = why ? NULL : last_user(it);
    if (why == NULL && m == NULL && t && t->prompt) {
        tool_msgs_push(&it->msgs, "user", "");
        m = last_user(it);
    }
    if (m) {
        char *prompt = NULL;
        if (tool_template_prompt(t, m->content, kv, n, &prompt, &why) == 0) {
            char *full = tool_fragments_prompt(&it->frags, prompt);
            free((char *)m->content);
            m->content = full;
            free(prompt);
        }
    }
    free_params(kv, n);
    return why;
}

int
batch_item_template_prompts(const cJSON *o, const struct batch_parse *bp)
{
    const cJSON *tv =
        o ? cJSON_GetObjectItemCaseSensitive(o, "template") : NULL;
    const char *name = cJSON_IsString(tv) && tv->valuestring[0]
                           ? tv->valuestring
                       : bp->tmpl ? bp->tmpl->name
                                  : NULL;
    struct cached *c = name ? template_named(name) : NULL;
    return c && c->t && c->t->prompt;
}

int
batch_item_attach_ready(const flexiai_config *cfg, struct batch_item *it,
                        int attach_files, char **err)
{
    if (it->att.n == 0)
        return 0;
    size_t own = it->tfiles ? it->att_tmpl : it->att.n;
    for (size_t i = 0; !attach_files && i < own; i++)
        if (it->att.v[i].path) {
            *err = fxu_strdup("attachments: a file name is not taken from the "
                              "input (http(s) URLs; --attach-files allows "
                              "files)");
            return FLEXIAI_EDATA;
        }
    int rc = batch_item_attach_check(cfg, it, err);
    if (rc != 0)
        return rc;
    tool_attach_to(&it->att, &it->msgs.v[it->msgs.n - 1]);
    return 0;
}
