/*
 * tool-fragment.h - fragments (-f/--fragment, chat's /fragment, a batch
 * item's "fragments", a template's fragments key): named pieces of text
 * put before the user's text.  A fragment is a file, an http(s) URL, "-"
 * (stdin) or the name of a saved one in
 * ${XDG_CONFIG_HOME:-~/.config}/flexiai/fragments/ (NAME, NAME.txt or
 * NAME.md).  The request ledger stores each fragment once, by its SHA-256.
 */
#ifndef FX_TOOL_FRAGMENT_H
#define FX_TOOL_FRAGMENT_H

#include "flexiai-ledger.h"
#include "tool.h"

#include <stddef.h>

/* A URL fragment: at most this long to fetch, at most this many
 * redirects followed, at most tool_max_input bytes. */
#define TOOL_FRAGMENT_URL_TIMEOUT 30
#define TOOL_FRAGMENT_URL_REDIRECTS 3

struct tool_fragment {
    char *name;    /* as given: NAME, a path, a URL, "stdin" */
    char *content; /* valid UTF-8 text, no NUL byte */
};

struct tool_fragments {
    struct tool_fragment *v;
    size_t n;
};

/* ${XDG_CONFIG_HOME:-~/.config}/flexiai/fragments; caller frees. */
char *tool_fragment_dir(void);

/* Read fragment `spec` into *f.  0, or an exit code with *err (caller
 * frees): 66 missing (no such file, URL or saved fragment; HTTP 404),
 * 65 not text (a NUL byte) or larger than tool_max_input, 69 a URL that
 * could not be fetched. */
int tool_fragment_load(const char *spec, struct tool_fragment *f, char **err);

/* Load `spec` and append it; on failure one line and exit (tool_die). */
void tool_fragments_add(struct tool_fragments *fs, const char *spec);
/* Append a copy of f (chat keeps what a session used). */
void tool_fragments_copy(struct tool_fragments *fs,
                         const struct tool_fragment *f);
void tool_fragments_free(struct tool_fragments *fs);

/* The fragments as they go before the user's text, appended to b:
 *   <fragment name="NAME">\nCONTENT\n</fragment>\n\n  for each. */
void tool_fragments_render(const struct tool_fragments *fs, fxu_buf *b);
/* "fragments, then text" as one malloc'ed prompt. */
char *tool_fragments_prompt(const struct tool_fragments *fs, const char *text);

/* For the ledger entry: an array of fs->n (NULL when none) borrowing the
 * strings of fs; caller frees the array. */
flexiai_ledger_fragment *
tool_fragments_for_ledger(const struct tool_fragments *fs);

/* The fragments the next tool_ledger_log() records with its request
 * (complete: its own; chat: every one the session has sent); NULL: none. */
extern const struct tool_fragments *tool_ledger_fragments;

/* The saved fragments' names (file names without .txt/.md), sorted, one
 * a line on fp (completions, `templates list --fragments`). */
void tool_fragment_names(FILE *fp);
/* The names in `dir`, sorted, once each, one a line on fp: entries not
 * starting with '.', without the first of `exts` (NULL-ended) they end
 * in; with only_ext, only those that end in one. */
void tool_dir_names(const char *dir, const char *const *exts, int only_ext,
                    FILE *fp);

#endif
