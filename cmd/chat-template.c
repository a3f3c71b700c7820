/*
 * chat-template.c - templates and fragments in flexiai chat: --template
 * NAME gives the conversation its system prompt (a role) and options,
 * and its prompt, when it has one, frames the first question ($input);
 * /fragment NAME puts a fragment before the next question.  The ledger
 * records every fragment the session has sent (its text stays in the
 * conversation's earlier messages).
 */
#include "config.h"

#include "chat-commands.h"
#include "tool-template.h"

#include <stdlib.h>
#include <string.h>

static const struct tool_template *tmpl; /* until the first question */
static const struct tool_template_args *tmpl_args;
static struct tool_fragments next_frags, sent_frags;

void
chat_template_start(const struct tool_template *t,
                    const struct tool_template_args *ta,
                    struct tool_fragments *fs)
{
    tmpl = t && t->prompt ? t : NULL;
    tmpl_args = ta;
    /* tool_template_apply() put the template's before the command line's */
    next_frags = *fs;
    fs->v = NULL;
    fs->n = 0;
}

void
chat_template_done(void)
{
    tool_fragments_free(&next_frags);
    tool_fragments_free(&sent_frags);
    tool_ledger_fragments = NULL;
}

char *
chat_template_question(struct chat_conv *c, const char *text)
{
    char *prompt = NULL, *err = NULL;
    if (tmpl) {
        if (tool_template_prompt(tmpl, text, tmpl_args->params,
                                 tmpl_args->nparams, &prompt, &err) != 0) {
            chat_conv_error(c, "%s", err);
            free(err);
            return NULL;
        }
        tmpl = NULL; /* the first question only */
    }
    char *q = tool_fragments_prompt(&next_frags, prompt ? prompt : text);
    free(prompt);
    for (size_t i = 0; i < next_frags.n; i++)
        tool_fragments_copy(&sent_frags, &next_frags.v[i]);
    tool_fragments_free(&next_frags);
    tool_ledger_fragments = &sent_frags;
    return q;
}

int
chat_cmd_fragment(struct chat_conv *c, char *args)
{
    if (args[0] == '\0') {
        if (next_frags.n == 0)
            chat_conv_info(c, "no fragment waits for the next question");
        for (size_t i = 0; i < next_frags.n; i++)
            chat_conv_info(c,
                           "fragment %s (%zu bytes) goes before the next "
                           "question",
                           next_frags.v[i].name,
                           strlen(next_frags.v[i].content));
        return 0;
    }
    if (strcmp(args, "-") == 0) {
        chat_conv_error(c, "/fragment: not stdin (give a file, URL or name)");
        return FLEXIAI_EUSAGE;
    }
    struct tool_fragment f;
    char *err = NULL;
    int rc = tool_fragment_load(args, &f, &err);
    if (rc != 0) {
        chat_conv_error(c, "%s", err);
        free(err);
        return rc;
    }
    next_frags.v =
        fxu_xrealloc(next_frags.v, (next_frags.n + 1) * sizeof(*next_frags.v));
    next_frags.v[next_frags.n++] = f;
    chat_conv_info(c, "fragment %s (%zu bytes) goes before the next question",
                   f.name, strlen(f.content));
    return 0;
}
