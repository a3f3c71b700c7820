/*
 * logs.h - what flexiai-logs.c shares with logs-oneline.c.
 */
#ifndef FX_LOGS_H
#define FX_LOGS_H

#include <stddef.h>

/* One ledger record (its --json line) as one line of at most `width`
 * columns, newline included: id, local time, who answered (or the exit
 * code), the turn's prompt and the answer (or the error), each cut with
 * "…" to share the width.  NULL when the line is not a record.  Caller
 * frees. */
char *logs_oneline(const char *json_line, size_t width);

/* The width --oneline cuts to: the terminal's, else $COLUMNS, else 80. */
size_t logs_width(void);

#endif
