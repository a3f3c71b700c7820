/*
 * tool-attach.h - -a/--attach and --attach-type for complete, chat and
 * batch (and templates' `attachments = a.png, b.pdf`): the list of
 * attachments a user message carries, checked before any traffic.
 */
#ifndef FX_TOOL_ATTACH_H
#define FX_TOOL_ATTACH_H

#include "flexiai.h"
#include "fxu.h"
#include "tool.h"

#include <stddef.h>

struct tool_attach {
    flexiai_attachment *v;
    flexiai_attachment_info *info; /* v[i]'s, after tool_attach_check() */
    size_t n, cap;
    const char *next_type; /* --attach-type for the next -a */
    fxu_buf in;            /* stdin's bytes for "-" */
    char **owned;          /* copies of specs and types, freed with it */
    size_t nowned;
};

/* The option group: -a/--attach FILE|URL|-, --attach-type MIME. */
extern const struct tool_option tool_opts_attach[];

void tool_attach_init(struct tool_attach *l);
void tool_attach_free(struct tool_attach *l);
/* One attachment: spec is a file, an http(s) URL or "-" (stdin); mime
 * NULL: from the content (else what --attach-type gave).  Both copied. */
void tool_attach_add(struct tool_attach *l, const char *spec, const char *mime);
/* A command's option callback hands -a and --attach-type here: 1 when id
 * was one of them. */
int tool_attach_option(struct tool_attach *l, int id, const char *arg);
/* "a.png, b.pdf" (a template's attachments key): each one added. */
void tool_attach_add_list(struct tool_attach *l, const char *list);
/* Check every attachment (readable 66; too large, unknown type 65) and
 * read "-" from stdin.  0, or the exit code with *err (one line). */
int tool_attach_check(const flexiai_config *cfg, struct tool_attach *l,
                      char **err);
/* 1 when one of them is stdin. */
int tool_attach_uses_stdin(const struct tool_attach *l);
/* Put the list on message m (borrowed: keep l alive while m is used). */
void tool_attach_to(const struct tool_attach *l, flexiai_message *m);

/* A file an earlier message sent, as a conversation file keeps it (by
 * reference, never its bytes): message msg's, in order. */
struct tool_attach_ref {
    size_t msg;
    char *path, *url;  /* one of them; neither: stdin's bytes, not kept */
    char *mime, *name; /* NULL when not known */
    long long size;    /* -1: not known */
    char sha256[65];   /* "": not known */
};
struct tool_attach_refs {
    struct tool_attach_ref *v;
    size_t n;
};

/* Conversation files (tool-msgfile.c) with the files their user messages
 * sent: tool_msgs_read() that also gives those (refs: in message order),
 * and tool_msgs_write() that writes them, infos[i] (NULL, or NULL for a
 * message: not known) the size, SHA-256 and type message i's files were
 * sent with.  A malformed "attachments" entry is one line, 65. */
int tool_msgs_read_refs(const char *path, struct tool_msgs *m,
                        struct tool_attach_refs *refs, char **err);
int tool_msgs_write_att(const char *path, const flexiai_message *v, size_t n,
                        const flexiai_attachment_info *const *infos,
                        char **err);
void tool_attach_refs_free(struct tool_attach_refs *refs);

/* A file of an earlier message, checked again before it goes again (a
 * file as it is now, its type as it was sent while it is the same file):
 * 0 left out, 1 sent as before, 2 changed since sha_then ("" or NULL: not
 * known), sent as it is now; *now what is sent.  *line: what to tell the
 * person (left out, changed), NULL when nothing; the caller frees it. */
int tool_attach_recheck(const flexiai_config *cfg, const flexiai_attachment *a,
                        const char *sha_then, flexiai_attachment_info *now,
                        char **line);
/* A conversation file's message gets its files again: the refs (n of
 * them) rechecked into the fresh list l, each line (tool_attach_recheck)
 * handed to say. */
void tool_attach_from_refs(const flexiai_config *cfg, struct tool_attach *l,
                           const struct tool_attach_ref *r, size_t n,
                           void (*say)(void *ud, const char *line), void *ud);

/* complete --messages: each message of m gets its refs again (the lines
 * through tool_warn); the lists returned (*nlists of them) own the files:
 * keep them while m is used, then tool_attach_lists_free(). */
struct tool_attach *tool_attach_refs_onto(const flexiai_config *cfg,
                                          const struct tool_attach_refs *r,
                                          struct tool_msgs *m, size_t *nlists);
void tool_attach_lists_free(struct tool_attach *v, size_t n);

/* -C, --cid: a message of the ledger's conversation gets its files again
 * (into `to`, borrowed from m), each by its path or URL; one warning for
 * a file that changed since it was sent (then sent as it is now) or that
 * is gone (then left out).  Needs flexiai-ledger.h. */
struct flexiai_ledger_message;
void tool_attach_again(const flexiai_config *cfg,
                       struct flexiai_ledger_message *m, flexiai_message *to);

#endif
