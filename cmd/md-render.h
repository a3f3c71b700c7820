/*
 * md-render.h - Markdown rendered for a terminal as a reply streams in.
 *
 * An incremental, line-oriented state machine: md_feed() takes the reply
 * in whatever pieces it arrives (a split may fall inside a UTF-8
 * character, a `**` or a code fence) and appends ANSI-styled text to the
 * caller's buffer; the output never depends on where the splits fall.
 * An ordinary line is written as far as it can be known (text up to an
 * unresolved `*`, `` ` `` or `[` waits for what decides it); a table is
 * held until its last row so that its columns can be aligned; fenced
 * code is passed through verbatim.  Control characters in the text are
 * made visible (^[), never sent to the terminal.
 *
 * The caller decides whether to render at all (a terminal on stdout,
 * NO_COLOR, --no-render) and stores the raw text, not this output.
 */
#ifndef TOOL_MD_RENDER_H
#define TOOL_MD_RENDER_H

#include "fxu.h"
#include <stddef.h>

/* md_new() flags */
#define MD_NO_COLOR                                                            \
    0x1 /* no escape sequences: bullets, bars, rules, aligned                  \
           tables only */

typedef struct md_render md_render;

/* `width` is the terminal's width in columns (tables wider than it are
 * printed as they came); 0 or less: no limit.  Never returns NULL. */
md_render *md_new(int width, unsigned flags);

/* Render `len` more bytes of the reply, appending to `out`. */
void md_feed(md_render *md, const char *text, size_t len, fxu_buf *out);

/* The reply is complete: render what is pending (the last line, a table,
 * an unclosed fence) and leave `out` at the start of a line.  The
 * renderer is then ready for the next reply. */
void md_finish(md_render *md, fxu_buf *out);

void md_free(md_render *md);

#endif
