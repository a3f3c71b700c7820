/*
 * fxu.h - the small helpers that the library and the commands share:
 * growable buffers, allocation that aborts on OOM, strings, clocks and
 * strict number parsing.  Like curl's curlx, it is not part of the public
 * API (flexiai.h) and not installed; the commands may use it and nothing
 * else of the library's internals.
 */
#ifndef FXU_H
#define FXU_H

#include <signal.h>
#include <stdarg.h>
#include <stddef.h>

typedef struct fxu_buf {
    char *data; /* always NUL-terminated when non-NULL */
    size_t len, cap;
} fxu_buf;

void fxu_buf_init(fxu_buf *b);
void fxu_buf_free(fxu_buf *b);
void fxu_buf_reset(fxu_buf *b); /* len = 0, keeps memory */
void fxu_buf_append(fxu_buf *b, const void *p, size_t n); /* aborts on OOM */
void fxu_buf_puts(fxu_buf *b, const char *s);
void fxu_buf_putc(fxu_buf *b, char c);
void fxu_buf_printf(fxu_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
char *fxu_buf_steal(fxu_buf *b); /* returns data ("" if empty), resets b */

void *fxu_xmalloc(size_t n);
void *fxu_xcalloc(size_t n, size_t m);
void *fxu_xrealloc(void *p, size_t n);
char *fxu_strdup(const char *s); /* NULL -> NULL */
char *fxu_strndup(const char *s, size_t n);
char *fxu_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *fxu_vasprintf(const char *fmt, va_list ap)
    __attribute__((format(printf, 1, 0)));

double fxu_wallclock(void); /* epoch seconds */
double fxu_monotonic(void); /* seconds, arbitrary origin */
void fxu_sleep(double seconds, volatile sig_atomic_t *cancel);

/* Trim ASCII white space in place, return s. */
char *fxu_trim(char *s);
int fxu_streq_nocase(const char *a, const char *b);
/* Parse a number / boolean strictly; 0 on success, -1 malformed. */
int fxu_parse_double(const char *s, double *out);
int fxu_parse_long(const char *s, long *out);
int fxu_parse_bool(const char *s, int *out);
/* Durations like "30", "1.5s", "500ms", "2m", "1h", "6m0s". */
/* Durations above this (about 317 years) are refused, so no caller ever
 * converts an absurd one to an integer. */
#define FXU_DURATION_MAX 1e10
int fxu_parse_duration(const char *s, double *seconds);

/*
 * A host and an optional port, the first n bytes of s: "host",
 * "host:port", "[v6]" or "[v6]:port", as in a URL's authority or a
 * Sentinel's address.  An IPv6 address must be in brackets; a port is
 * digits, 1 to 65535; bytes of `reject` (NULL: any) may not be in the
 * host.  0 on success: *host (unless host is NULL) a copy without the
 * brackets, to free, and *port (unless NULL) set when a port is given,
 * else left alone.  -1 when malformed, with *why (unless NULL) a constant
 * message such as "bad port (1 to 65535)"; nothing is allocated.
 */
int fxu_parse_hostport(const char *s, size_t n, const char *reject, char **host,
                       long *port, const char **why);

/* mkdir -p, creating missing components with mode 0700; -1 with errno
 * (ENOTDIR when something else is in the way). */
int fxu_make_dirs(const char *path);
/* write(2) all of it, retrying on EINTR; -1 with errno. */
int fxu_write_all(int fd, const void *p, size_t n);

/* A copy of s[0..n) with every byte that does not start valid UTF-8
 * replaced by U+FFFD; *replaced (may be NULL) counts them.  Caller frees. */
char *fxu_utf8_sanitize(const char *s, size_t n, size_t *replaced);

/* "57s", "9m56s", "2h03m", "3d04h" (negative: "0s"). */
void fxu_fmt_duration(double seconds, char *buf, size_t size);

/* Levenshtein distance, for did-you-mean (99 for strings over 64 bytes). */
size_t fxu_edit_distance(const char *a, const char *b);

/* floor() and round() (half away from zero) of libm, here so that a
 * process loads no libm for them (only SQLite needs it, and SQLite is
 * loaded when a database is opened: sqlite-load.h). */
double fxu_floor(double x);
double fxu_round(double x);

#endif
