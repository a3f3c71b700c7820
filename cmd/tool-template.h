/*
 * tool-template.h - templates (--template NAME): a prompt kept in
 * ${XDG_CONFIG_HOME:-~/.config}/flexiai/templates/NAME.ini with its system
 * prompt, its $input and $name parameters (-P NAME VALUE, defaults under
 * [params]) and any request option.  Options given on the command line
 * override the template's.  A role is a template with only `system`.
 *
 *   system = You review code for a living.
 *   prompt = Review this diff for $focus:
 *       $input
 *   model = gpt-4o-mini
 *   temperature = 0.2
 *   fragments = style-guide
 *   [params]
 *   focus = bugs
 *
 * A value goes on over the following lines that start with white space
 * (their first white space dropped); blank lines between them stay.
 */
#ifndef FX_TOOL_TEMPLATE_H
#define FX_TOOL_TEMPLATE_H

#include "tool-fragment.h"
#include "tool.h"

#include <stddef.h>

/* The options complete, chat and batch share: --template, -P; ids below
 * TOOL_OPT_CMD, given to the command's option function. */
/* 90 to 92: tool-loop.h has 80 to 82 */
enum { TOOL_OPT_TEMPLATE = 90, TOOL_OPT_PARAM, TOOL_OPT_FRAGMENT };
/* --template NAME, -P/--param NAME VALUE (complete, chat, batch) */
extern const struct tool_option tool_opts_template[];
/* -f/--fragment (complete, chat) */
extern const struct tool_option tool_opts_fragment[];

struct tool_kv {
    char *key, *value;
};

struct tool_template {
    char *name; /* as given */
    char *path; /* the file read */
    char *system, *prompt;
    /* request options; NULL when the template does not set them */
    char *model, *provider, *schema, *reasoning, *temperature, *max_tokens;
    char **attachments; /* attach: handed to the -a code path */
    size_t nattachments;
    char **fragments; /* loaded like -f, before the command line's */
    size_t nfragments;
    struct tool_kv *defaults; /* [params] */
    size_t ndefaults;
};

/* What --template and -P collected. */
struct tool_template_args {
    const char *name; /* --template; NULL: none */
    struct tool_kv *params;
    size_t nparams;
    int argc; /* the command's, for -P's second argument */
    char **argv;
};

/* Is s a parameter's name (letters, digits, _; not a digit first)? */
int tool_template_param_name(const char *s);

/* ${XDG_CONFIG_HOME:-~/.config}/flexiai/templates; caller frees. */
char *tool_template_dir(void);
/* The file of template `name`: a name with a '/' or ending in .ini is a
 * path; otherwise DIR/NAME.ini.  Caller frees. */
char *tool_template_path(const char *name);

/* Parse a template's text (`path` for messages).  0, or 78 with *err
 * (caller frees): "PATH:LINE: what is wrong". */
int tool_template_parse(const char *text, const char *path,
                        struct tool_template *t, char **err);
/* Read template `name`: 0, 66 (no such template) or 78 (a bad file) with
 * *err. */
int tool_template_load(const char *name, struct tool_template *t, char **err);
void tool_template_free(struct tool_template *t);

/* `text` with $input, $NAME and ${NAME} replaced (-P first, then the
 * template's [params]) and $$ as $.  0 with *out (caller frees), or 64
 * with *err: a parameter with no value. */
int tool_template_subst(const char *text, const char *input,
                        const struct tool_template *t,
                        const struct tool_kv *params, size_t nparams,
                        char **out, char **err);
/* The user's message: the template's prompt with `input` in it (after it,
 * following a blank line, when the prompt has no $input; the input alone
 * when the template has no prompt).  0, or 64 with *err. */
int tool_template_prompt(const struct tool_template *t, const char *input,
                         const struct tool_kv *params, size_t nparams,
                         char **out, char **err);
/* The system prompt with its parameters (NULL when none); exits 64 on a
 * missing parameter. */
char *tool_template_system(const struct tool_template *t,
                           const struct tool_kv *params, size_t nparams);

/* Handle a --template, -P or -f option for a command's option function:
 * 1 when it was one of them.  -P takes the argument after its own. */
int tool_template_option(struct tool_template_args *ta,
                         struct tool_fragments *fs, int id, const char *arg);
/* After parsing: load the template (exit 66/78 as tool_template_load),
 * and put what it sets under what the command line set: model, provider,
 * temperature, max_tokens, reasoning and the system prompt into *a, its
 * fragments before those of fs.  NULL when there is no --template. */
struct tool_template *tool_template_apply(const struct tool_template_args *ta,
                                          struct tool_args *a,
                                          struct tool_fragments *fs);
void tool_template_args_free(struct tool_template_args *ta);

/* The templates' names, sorted, one a line on fp. */
void tool_template_names(FILE *fp);

#endif
