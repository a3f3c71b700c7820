/*
 * chat-attach.c - files in a chat: /attach FILE|URL (and -a on the command
 * line) queue a file for the next message, /detach [NAME] takes it back,
 * /show lists them; each file is checked when it is attached (66 missing,
 * 65 too large or of a type not sent).  A message keeps its files for the
 * rest of the conversation: every later turn sends them again, as the
 * APIs are stateless; a session or conversation file keeps them by
 * reference and a resumed one sends them again, each checked anew.
 */
#include "config.h"

#include "chat-conv.h"
#include "flexiai-ledger.h"
#include "tool-attach.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Messages through the chat's output, as chat_conv_error() and
 * chat_conv_info() put them (this file is below chat-conv.c: no calls
 * back into it). */
static void say(const struct chat_conv *c, int error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
say(const struct chat_conv *c, int error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = fxu_vasprintf(fmt, ap);
    va_end(ap);
    if (error)
        c->out->error(c->out->ud, s);
    else
        c->out->info(c->out->ud, s);
    free(s);
}

/* The files of the next message, made on first use. */
static struct tool_attach *
pending(struct chat_conv *c)
{
    if (c->attach_next == NULL) {
        c->attach_next = fxu_xmalloc(sizeof(*c->attach_next));
        tool_attach_init(c->attach_next);
    }
    return c->attach_next;
}

static const char *
spec_of(const flexiai_attachment *a)
{
    return a->path ? a->path : a->url ? a->url : "stdin";
}

int
chat_conv_attach(struct chat_conv *c, const char *spec, const char *mime)
{
    struct tool_attach *l = pending(c);
    char *err = NULL;
    if (spec == NULL || *spec == '\0' || strcmp(spec, "-") == 0) {
        say(c, 1, "/attach needs a file or an http(s) URL");
        return FLEXIAI_EUSAGE;
    }
    tool_attach_add(l, spec, mime);
    int rc = tool_attach_check(c->cfg, l, &err);
    if (rc != 0) {
        l->n--; /* not attached */
        say(c, 1, "%s", err);
        free(err);
        return rc;
    }
    const flexiai_attachment_info *in = &l->info[l->n - 1];
    if (in->size >= 0)
        say(c, 0, "attached %s (%s, %lld bytes) to your next message", spec,
            in->mime, in->size);
    else
        say(c, 0, "attached %s (%s) to your next message", spec, in->mime);
    return 0;
}

int
chat_conv_detach(struct chat_conv *c, const char *name)
{
    struct tool_attach *l = c->attach_next;
    size_t n = l ? l->n : 0;
    if (n == 0) {
        say(c, 1, "nothing attached");
        return FLEXIAI_ENOINPUT;
    }
    if (name == NULL || *name == '\0') {
        l->n = 0;
        say(c, 0, "detached %zu file%s", n, n == 1 ? "" : "s");
        return 0;
    }
    for (size_t i = 0; i < l->n; i++) {
        const char *s = spec_of(&l->v[i]);
        const char *base = strrchr(s, '/');
        if (strcmp(s, name) == 0 || (base && strcmp(base + 1, name) == 0)) {
            memmove(&l->v[i], &l->v[i + 1], (l->n - i - 1) * sizeof(*l->v));
            memmove(&l->info[i], &l->info[i + 1],
                    (l->n - i - 1) * sizeof(*l->info));
            l->n--;
            say(c, 0, "detached %s", name);
            return 0;
        }
    }
    say(c, 1, "%s is not attached", name);
    return FLEXIAI_ENOINPUT;
}

void
chat_conv_attach_list(const struct chat_conv *c, FILE *fp)
{
    const struct tool_attach *l = c->attach_next;
    if (l == NULL || l->n == 0)
        return;
    fprintf(fp, "\nattached to your next message:\n");
    for (size_t i = 0; i < l->n; i++)
        fprintf(fp, "  %s (%s)\n", spec_of(&l->v[i]), l->info[i].mime);
}

void
chat_conv_attach_names(const flexiai_message *m, FILE *fp)
{
    for (size_t i = 0; i < m->nattachments; i++)
        fprintf(fp, "%s%s", i ? ", " : " [", spec_of(&m->attachments[i]));
    if (m->nattachments)
        fputc(']', fp);
}

void
chat_conv_attach_turn(struct chat_conv *c)
{
    struct tool_attach *l = c->attach_next;
    if (l == NULL || l->n == 0)
        return;
    tool_attach_to(l, &c->msgs.v[c->msgs.n - 1]);
}

void
chat_conv_attach_done(struct chat_conv *c, int sent)
{
    struct tool_attach *l = c->attach_next;
    if (l == NULL || l->n == 0 || !sent)
        return; /* not sent: they wait for the next message */
    /* the message keeps them: owned by the conversation from now on */
    c->attach_kept =
        fxu_xrealloc(c->attach_kept, (c->nattach_kept + 1) * sizeof(l));
    c->attach_kept[c->nattach_kept++] = l;
    c->attach_next = NULL;
}

void
chat_conv_attach_free(struct chat_conv *c)
{
    for (size_t i = 0; i < c->nattach_kept; i++) {
        tool_attach_free(c->attach_kept[i]);
        free(c->attach_kept[i]);
    }
    free(c->attach_kept);
    if (c->attach_next) {
        tool_attach_free(c->attach_next);
        free(c->attach_next);
    }
}

static void
notice(void *ud, const char *line)
{
    const struct chat_conv *c = ud;
    c->out->notice(c->out->ud, line);
}

void
chat_conv_attach_resume(struct chat_conv *c, const struct tool_attach_refs *r)
{
    for (size_t i = 0, j; i < r->n; i = j) {
        size_t msg = r->v[i].msg;
        for (j = i; j < r->n && r->v[j].msg == msg;)
            j++;
        struct tool_attach *l = fxu_xmalloc(sizeof(*l));
        tool_attach_init(l);
        tool_attach_from_refs(c->cfg, l, &r->v[i], j - i, notice, c);
        if (msg < c->msgs.n)
            tool_attach_to(l, &c->msgs.v[msg]);
        /* kept with the conversation's other sent files */
        c->attach_kept =
            fxu_xrealloc(c->attach_kept, (c->nattach_kept + 1) * sizeof(l));
        c->attach_kept[c->nattach_kept++] = l;
    }
}

const flexiai_attachment_info *
chat_conv_attach_info(const struct chat_conv *c, const flexiai_message *m)
{
    if (m->nattachments == 0)
        return NULL;
    for (size_t i = 0; i <= c->nattach_kept; i++) {
        const struct tool_attach *l =
            i < c->nattach_kept ? c->attach_kept[i] : c->attach_next;
        if (l && l->v == m->attachments && l->n >= m->nattachments)
            return l->info;
    }
    return NULL;
}

void
chat_conv_attach_from_ledger(struct chat_conv *c,
                             const struct flexiai_ledger_message *v, size_t n)
{
    struct tool_attach_refs r = {NULL, 0};
    for (size_t i = 0; i < n && i < c->msgs.n; i++)
        for (size_t k = 0; k < v[i].nattachments; k++) {
            const flexiai_attachment *a = &v[i].attachments[k];
            r.v = fxu_xrealloc(r.v, (r.n + 1) * sizeof(*r.v));
            struct tool_attach_ref *e = &r.v[r.n++];
            memset(e, 0, sizeof(*e));
            e->msg = i;
            e->path = fxu_strdup(a->path);
            e->url = fxu_strdup(a->url);
            e->mime = fxu_strdup(a->mime);
            e->name = fxu_strdup(a->name);
            e->size = -1;
            snprintf(e->sha256, sizeof(e->sha256), "%s",
                     v[i].sha256[k] ? v[i].sha256[k] : "");
        }
    chat_conv_attach_resume(c, &r);
    tool_attach_refs_free(&r);
}
