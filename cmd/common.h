/* common.h - what every flexiai command shares: messages, exit codes,
 * configuration loading, safe output. */
#ifndef FX_CMD_COMMON_H
#define FX_CMD_COMMON_H

#include "flexiai.h"
/* the commands link libflexiai statically and share its small helpers
 * (buffers, strict number parsing), as curl's tool shares curlx */
#include "fx.h"
#include <stddef.h>
#include <stdio.h>

extern const char *tool_progname; /* "flexiai complete", ... for messages */
extern int tool_quiet;            /* -q: no warnings */
extern int tool_verbose;          /* -v: attempt trail */

void tool_cmd_init(const char *progname);

/* "flexiai: message" on stderr (one line; newlines flattened). */
void tool_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tool_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void tool_die(int code, const char *fmt, ...)
    __attribute__((format(printf, 2, 3), noreturn));
void tool_usage_error(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

/* Load and validate configuration; on error print every diagnostic and
 * exit 78.  Warnings are printed unless -q.  `flags` are applied with
 * flexiai_config_set() before validation by the caller through `apply`. */
flexiai_config *tool_load_config(const char *path,
                                 void (*apply)(flexiai_config *, void *),
                                 void *ud, int resolve_secrets);
/* Print diagnostics; returns number of errors. */
size_t tool_print_diags(const flexiai_config *cfg, int warnings);

/* Log callback for the library: prints according to -q/-v. */
void tool_log_cb(void *ud, int level, const char *msg);

/* Write to stdout; on a closed pipe end quietly (exit 141). */
void tool_out(const char *s, size_t n);
void tool_outs(const char *s);
void tool_out_flush(void);

void tool_print_version(const char *extra);

/* Parse "90", "30s", "5m", "2h", "1d"; -1 on error. */
double tool_parse_cli_duration(const char *s);

/* Request flags (NULL when not given) are checked like configuration
 * values, but a bad one is a usage error: one line, exit 64. */
void tool_check_param_flags(const char *temperature, const char *max_tokens,
                            const char *top_p, const char *timeout);

/* After getopt returned an error (opterr is 0): one line, exit 64. */
void tool_bad_option(char **argv) __attribute__((noreturn));

#endif
