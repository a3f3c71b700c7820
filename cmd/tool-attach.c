/*
 * tool-attach.c - the attachments of one user message as the commands
 * collect them: -a FILE|URL|- (repeatable), --attach-type for the next
 * one, a template's list; each checked by the library before any traffic
 * (flexiai_attachment_check) so that a missing file is exit 66 and a file
 * too large or of an unknown type exit 65, with one line naming it.
 */
#include "config.h"

#include "flexiai-ledger.h"
#include "tool-attach.h"
#include "tool.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const struct tool_option tool_opts_attach[] = {
    {TOOL_OPT_ATTACH, 'a', "attach", "FILE|URL|-",
     "send a file with the prompt (repeatable): an image\n"
     "(PNG, JPEG, GIF, WebP), a PDF or a text file",
     TOOL_COMP_FILE_OR_DASH, 0, NULL, NULL, NULL},
    {TOOL_OPT_ATTACH_TYPE, 0, "attach-type", "MIME",
     "the type of the next -a (default: from its content)", 0, 0, NULL, NULL,
     NULL},
    {TOOL_OPT_END, 0, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL},
};

void
tool_attach_init(struct tool_attach *l)
{
    memset(l, 0, sizeof(*l));
    fxu_buf_init(&l->in);
}

void
tool_attach_free(struct tool_attach *l)
{
    for (size_t i = 0; i < l->nowned; i++)
        free(l->owned[i]);
    free(l->owned);
    free(l->v);
    free(l->info);
    fxu_buf_free(&l->in);
    memset(l, 0, sizeof(*l));
}

static const char *
keep(struct tool_attach *l, const char *s)
{
    if (s == NULL)
        return NULL;
    l->owned = fxu_xrealloc(l->owned, (l->nowned + 1) * sizeof(*l->owned));
    l->owned[l->nowned] = fxu_strdup(s);
    return l->owned[l->nowned++];
}

static int
is_url(const char *s)
{
    return strncasecmp(s, "http://", 7) == 0 ||
           strncasecmp(s, "https://", 8) == 0;
}

void
tool_attach_add(struct tool_attach *l, const char *spec, const char *mime)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 4;
        l->v = fxu_xrealloc(l->v, l->cap * sizeof(*l->v));
    }
    flexiai_attachment *a = &l->v[l->n++];
    memset(a, 0, sizeof(*a));
    a->mime = mime && *mime ? keep(l, mime) : NULL;
    if (strcmp(spec, "-") == 0)
        a->name = "stdin"; /* data set when stdin is read */
    else if (is_url(spec) || strstr(spec, "://"))
        a->url = keep(l, spec); /* another scheme: the check refuses it */
    else
        a->path = keep(l, spec);
}

int
tool_attach_option(struct tool_attach *l, int id, const char *arg)
{
    if (id == TOOL_OPT_ATTACH_TYPE) {
        if (strchr(arg, '/') == NULL)
            tool_usage_error("--attach-type wants a MIME type like image/png "
                             "or application/pdf, not '%s'",
                             arg);
        l->next_type = arg;
        return 1;
    }
    if (id != TOOL_OPT_ATTACH)
        return 0;
    if (*arg == '\0')
        tool_usage_error("-a needs a file, a URL or -");
    tool_attach_add(l, arg, l->next_type);
    l->next_type = NULL;
    return 1;
}

void
tool_attach_add_list(struct tool_attach *l, const char *list)
{
    char *copy = fxu_strdup(list ? list : "");
    char *save = NULL;
    for (char *w = strtok_r(copy, ",", &save); w;
         w = strtok_r(NULL, ",", &save)) {
        char *t = fxu_trim(w);
        if (*t)
            tool_attach_add(l, t, NULL);
    }
    free(copy);
}

int
tool_attach_uses_stdin(const struct tool_attach *l)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->v[i].path == NULL && l->v[i].url == NULL)
            return 1;
    return 0;
}

int
tool_attach_check(const flexiai_config *cfg, struct tool_attach *l, char **err)
{
    free(l->info);
    l->info = fxu_xcalloc(l->n ? l->n : 1, sizeof(*l->info));
    for (size_t i = 0; i < l->n; i++) {
        flexiai_attachment *a = &l->v[i];
        if (a->path == NULL && a->url == NULL && a->data == NULL) {
            if (l->in.data == NULL) {
                int rc = tool_read_bounded(stdin, "stdin", &l->in, err);
                if (rc != 0)
                    return rc;
                if (l->in.data == NULL) {
                    fxu_buf_putc(&l->in, 0); /* bytes, even none */
                    l->in.len = 0;
                }
            }
            a->data = l->in.data;
            a->len = l->in.len;
        }
        flexiai_code rc = flexiai_attachment_check(cfg, a, &l->info[i], err);
        if (rc != FLEXIAI_OK)
            return rc;
        if (a->mime == NULL) /* the library need not look again */
            a->mime = keep(l, l->info[i].mime);
    }
    return 0;
}

void
tool_attach_to(const struct tool_attach *l, flexiai_message *m)
{
    m->attachments = l->n ? l->v : NULL;
    m->nattachments = l->n;
}

int
tool_attach_recheck(const flexiai_config *cfg, const flexiai_attachment *a,
                    const char *sha_then, flexiai_attachment_info *now,
                    char **line)
{
    char *err = NULL;
    *line = NULL;
    memset(now, 0, sizeof(*now));
    now->size = -1;
    if (a->path == NULL && a->url == NULL) {
        /* stdin's bytes: only their size and hash were kept */
        *line = fxu_asprintf("%s (sha256 %.12s): left out of the conversation "
                             "(its bytes were not kept: it cannot be sent "
                             "again)",
                             a->name ? a->name : "stdin",
                             sha_then && *sha_then ? sha_then : "unknown");
        return 0;
    }
    if (a->path == NULL) { /* a URL goes again as it is */
        if (a->mime)
            snprintf(now->mime, sizeof(now->mime), "%s", a->mime);
        return 1;
    }
    /* the type it was sent as, while it is the same file */
    int known = sha_then && *sha_then;
    if (flexiai_attachment_check(cfg, a, now, &err) == FLEXIAI_OK) {
        if (!known || strcmp(now->sha256, sha_then) == 0)
            return 1;
    } else {
        free(err); /* said below, as it is now */
        err = NULL;
    }
    flexiai_attachment cur = *a;
    cur.mime = NULL; /* what it is now */
    if (flexiai_attachment_check(cfg, &cur, now, &err) != FLEXIAI_OK) {
        *line =
            fxu_asprintf("%s: left out of the conversation (%s)", a->path, err);
        free(err);
        return 0;
    }
    if (!known || strcmp(now->sha256, sha_then) == 0)
        return 1;
    *line = fxu_asprintf("%s changed since the conversation sent it (sha256 "
                         "%.12s then, %.12s now): sending it as it is now",
                         a->path, sha_then, now->sha256);
    return 2;
}

void
tool_attach_from_refs(const flexiai_config *cfg, struct tool_attach *l,
                      const struct tool_attach_ref *r, size_t n,
                      void (*say)(void *ud, const char *line), void *ud)
{
    free(l->info);
    l->info = fxu_xcalloc(n ? n : 1, sizeof(*l->info));
    l->v = fxu_xrealloc(l->v, (n ? n : 1) * sizeof(*l->v));
    l->cap = n ? n : 1;
    for (size_t i = 0; i < n; i++) {
        flexiai_attachment a = {0};
        a.path = r[i].path;
        a.url = r[i].url;
        a.mime = r[i].mime;
        a.name = r[i].name;
        char *line = NULL;
        int send =
            tool_attach_recheck(cfg, &a, r[i].sha256, &l->info[l->n], &line);
        if (line)
            say(ud, line);
        free(line);
        if (send == 0)
            continue;
        flexiai_attachment *to = &l->v[l->n];
        memset(to, 0, sizeof(*to));
        to->path = keep(l, a.path);
        to->url = keep(l, a.url);
        to->name = keep(l, a.name);
        /* the type it goes as: as sent, or what the changed file is now
         * (a URL of no known type: its name decides) */
        const char *mime = l->info[l->n].mime;
        to->mime = *mime ? keep(l, mime) : NULL;
        l->n++;
    }
}

static void
warn_line(void *ud, const char *line)
{
    (void)ud;
    tool_warn("%s", line);
}

struct tool_attach *
tool_attach_refs_onto(const flexiai_config *cfg,
                      const struct tool_attach_refs *r, struct tool_msgs *m,
                      size_t *nlists)
{
    struct tool_attach *v = NULL;
    *nlists = 0;
    for (size_t i = 0, j; i < r->n; i = j) {
        size_t msg = r->v[i].msg;
        for (j = i; j < r->n && r->v[j].msg == msg;)
            j++;
        v = fxu_xrealloc(v, (*nlists + 1) * sizeof(*v));
        struct tool_attach *l = &v[(*nlists)++];
        tool_attach_init(l);
        tool_attach_from_refs(cfg, l, &r->v[i], j - i, warn_line, NULL);
    }
    /* onto the messages once the array no longer moves (l->v does not) */
    for (size_t i = 0, k = 0; i < r->n; k++) {
        size_t msg = r->v[i].msg;
        if (msg < m->n)
            tool_attach_to(&v[k], &m->v[msg]);
        while (i < r->n && r->v[i].msg == msg)
            i++;
    }
    return v;
}

void
tool_attach_lists_free(struct tool_attach *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        tool_attach_free(&v[i]);
    free(v);
}

void
tool_attach_again(const flexiai_config *cfg, struct flexiai_ledger_message *m,
                  flexiai_message *to)
{
    size_t kept = 0;
    for (size_t i = 0; i < m->nattachments; i++) {
        flexiai_attachment *a = &m->attachments[i];
        flexiai_attachment_info info;
        char *line = NULL;
        int send = tool_attach_recheck(cfg, a, m->sha256[i], &info, &line);
        if (line)
            tool_warn("%s", line);
        free(line);
        if (send == 0)
            continue;
        if (send == 2) {
            free((char *)a->mime); /* its type as it is now */
            a->mime = fxu_strdup(info.mime);
        }
        if (kept != i) {
            flexiai_attachment t = m->attachments[kept];
            char *h = m->sha256[kept];
            m->attachments[kept] = *a;
            m->sha256[kept] = m->sha256[i];
            m->attachments[i] = t; /* still freed with m */
            m->sha256[i] = h;
        }
        kept++;
    }
    to->attachments = kept ? m->attachments : NULL;
    to->nattachments = kept;
}
