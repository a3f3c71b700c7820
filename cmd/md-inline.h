/*
 * md-inline.h - internal to the Markdown renderer (md-render.c): styled,
 * escaped output and the inline markup of one line (md-inline.c), and
 * the table writer (md-table.c).
 */
#ifndef TOOL_MD_INLINE_H
#define TOOL_MD_INLINE_H

#include "fxu.h"
#include <stddef.h>

/* Styles, combined as bits; each maps to one SGR parameter. */
enum {
    MD_S_BOLD = 0x01,
    MD_S_DIM = 0x02,
    MD_S_ITALIC = 0x04,
    MD_S_UNDER = 0x08,
    MD_S_STRIKE = 0x10,
    MD_S_HEAD = 0x20, /* heading colour */
    MD_S_CODE = 0x40  /* code colour */
};

/* Where rendered text goes and which style it is in.  The style in
 * effect is base | inl; `shown` is what the terminal was last told, so
 * escape sequences are written only when the style changes. */
struct md_out {
    fxu_buf *buf;
    int plain;     /* MD_NO_COLOR: never write an escape sequence */
    unsigned base; /* the line's style (heading, code block, rule) */
    unsigned inl;  /* the inline spans open at this point */
    unsigned shown;
    size_t cols; /* display columns written since the line began */
};

/* Write text in the current style, control characters made visible,
 * invalid UTF-8 replaced by U+FFFD, columns counted. */
void md_out_text(struct md_out *o, const char *s, size_t n);
void md_out_str(struct md_out *o, const char *s);
/* Write text in `style` alone, then return to the previous style. */
void md_out_styled(struct md_out *o, unsigned style, const char *s);
/* End the line: reset the style, write '\n'. */
void md_out_eol(struct md_out *o);
/* Reset the terminal's style if anything is in effect. */
void md_out_plain(struct md_out *o);

/* How many of the n bytes at s form whole UTF-8 characters (a character
 * cut short at the end is left for later). */
size_t md_utf8_whole(const char *s, size_t n);

/* The character at s[0, n) of rendered text: its length in bytes, and
 * in *cols the columns it takes. */
size_t md_char_cols(const char *s, size_t n, size_t *cols);

/* Render the inline markup of s[pos, hi) (the line's content starts at
 * lo; `complete`: nothing follows hi on this line).  Returns how far it
 * got: with !complete it stops before a construct that what comes next
 * could still change. */
size_t md_inline(struct md_out *o, const char *s, size_t lo, size_t pos,
                 size_t hi, int complete);

/* Write the table whose `nrows` rows ('\n'-terminated) are rows[0, len):
 * aligned in columns, wrapped inside its cells when it is wider than
 * `width` columns (0: any); as the rows came when not even 3 columns a
 * cell fit, or when the rows are no table. */
void md_table_render(struct md_out *o, int width, const char *rows, size_t len,
                     size_t nrows);

#endif
