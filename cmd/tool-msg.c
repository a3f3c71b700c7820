/*
 * tool-msg.c - what every command says and writes: "flexiai:" lines on
 * stderr, the library's log lines filtered by -q/-v, configuration
 * diagnostics, stdout that notices a closed reader, --version.
 */
#include "config.h"

#include "tool.h"
#include "curl-load.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <getopt.h>
#include <unistd.h>

const char *tool_progname = "flexiai";
int tool_quiet;
int tool_verbose;
int tool_json_failures;

/* What the failure lines said, for tool_exit()'s JSON object. */
static fxu_buf failure;

static void
note_failure(const char *msg)
{
    if (failure.len)
        fxu_buf_puts(&failure, "; ");
    fxu_buf_puts(&failure, msg);
}

void
tool_exit(int code)
{
    if (tool_json_failures && code != 0) {
        /* once: a stdout that cannot take it ends up here again */
        tool_json_failures = 0;
        cJSON *o = cJSON_CreateObject();
        static const char *const nulls[] = {"text", "provider", "model",
                                            "finish_reason", "usage"};
        for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
            cJSON_AddNullToObject(o, nulls[i]);
        cJSON_AddArrayToObject(o, "attempts");
        char *clean = fxu_utf8_sanitize(failure.data ? failure.data : "",
                                        failure.len, NULL);
        cJSON_AddStringToObject(o, "error", clean);
        free(clean);
        cJSON_AddNumberToObject(o, "exit_code", code);
        char *s = cJSON_PrintUnformatted(o);
        tool_outs(s);
        tool_outs("\n");
        tool_out_flush();
        free(s);
        cJSON_Delete(o);
    }
    exit(code);
}

/*
 * fds 0-2 closed at start would be taken by the next open() or socket():
 * the answer or -v lines would then go into a Redis connection or a state
 * file.  Fill each hole with /dev/null, opened so that the command's own
 * use of it fails loudly: stdin reads nothing, and stdout and stderr are
 * read-only, so writing the answer fails (EBADF) and exits 74.
 */
static int stdout_was_closed;

static void
guard_std_fds(void)
{
    for (int fd = 0; fd <= 2; fd++) {
        if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
            continue;
        if (fd == STDOUT_FILENO)
            stdout_was_closed = 1;
        int nfd = open("/dev/null", O_RDONLY);
        if (nfd < 0)
            _exit(FLEXIAI_EIO); /* nothing can be said anywhere */
        if (nfd != fd) {
            /* a lower hole was filled first; put this one in its place */
            dup2(nfd, fd);
            close(nfd);
        }
    }
}

void
tool_cmd_init(const char *progname)
{
    guard_std_fds();
    tool_progname = progname;
    /* A vanished Redis or provider must not kill us with SIGPIPE; a
     * closed stdout is noticed by tool_out() instead. */
    signal(SIGPIPE, SIG_IGN);
    opterr = 0;
}

static void
vmsg(const char *prefix, const char *fmt, va_list ap)
{
    char buf[2048], out[2048 * 4];
    size_t o = 0;
    vsnprintf(buf, sizeof(buf), fmt, ap);
    /* one line, and nothing from a name or a server reaches the terminal
     * raw: other control characters are shown as \xNN */
    for (const unsigned char *p = (const unsigned char *)buf; *p; p++) {
        if (*p == '\n' || *p == '\r')
            out[o++] = ' ';
        else if (*p < 0x20 || *p == 0x7f)
            o += (size_t)snprintf(out + o, sizeof(out) - o, "\\x%02x", *p);
        else
            out[o++] = (char)*p;
    }
    out[o] = '\0';
    fprintf(stderr, "flexiai: %s%s\n", prefix, out);
    fflush(stderr);
}

void
tool_err(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vmsg("", fmt, ap);
    va_end(ap);
}

void
tool_warn(const char *fmt, ...)
{
    if (tool_quiet)
        return;
    va_list ap;
    va_start(ap, fmt);
    vmsg("warning: ", fmt, ap);
    va_end(ap);
}

void
tool_die(int code, const char *fmt, ...)
{
    char buf[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    tool_err("%s", buf);
    note_failure(buf);
    tool_exit(code);
}

void
tool_usage_error(const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    tool_err("%s (try '%s --help')", buf, tool_progname);
    note_failure(buf);
    tool_exit(FLEXIAI_EUSAGE);
}

size_t
tool_print_diags(const flexiai_config *cfg, int warnings)
{
    size_t errors = 0;
    for (size_t i = 0; i < flexiai_config_ndiags(cfg); i++) {
        const flexiai_diag *d = flexiai_config_diag(cfg, i);
        if (d->is_error) {
            errors++;
            tool_err("%s", d->text);
            note_failure(d->text);
        } else if (warnings && !tool_quiet) {
            tool_err("%s", d->text);
        }
    }
    return errors;
}

int
tool_log_shown(flexiai_log_level level)
{
    switch (level) {
    case FLEXIAI_LOG_WARN:
        return !tool_quiet;
    case FLEXIAI_LOG_ATTEMPT:
        return tool_verbose > 0;
    case FLEXIAI_LOG_DEBUG:
        return tool_verbose > 1;
    default:
        return 0;
    }
}

void
tool_log_cb(void *ud, flexiai_log_level level, const char *msg)
{
    (void)ud;
    if (tool_log_shown(level))
        tool_err("%s", msg);
}

static void
output_failed(void)
{
    if (errno == EPIPE)
        _exit(141); /* the reader went away: end quietly, as cat does */
    tool_die(FLEXIAI_EIO, "cannot write output: %s",
             stdout_was_closed ? "stdout is closed" : strerror(errno));
}

void
tool_out(const char *s, size_t n)
{
    if (n == 0)
        return;
    if (fwrite(s, 1, n, stdout) != n)
        output_failed();
}

void
tool_outs(const char *s)
{
    tool_out(s, strlen(s));
}

void
tool_out_flush(void)
{
    if (fflush(stdout) != 0 || ferror(stdout))
        output_failed();
}

void
tool_print_version(const char *extra)
{
    printf("%s %s\n", tool_progname, flexiai_version());
    printf("libraries: %s%s%s\n", flexiai_libraries(), extra ? " " : "",
           extra ? extra : "");
    tool_out_flush();
}

double
tool_parse_cli_duration(const char *s)
{
    char *end;
    if (s == NULL || *s == '\0')
        return -1;
    double v = strtod(s, &end);
    if (end == s || v < 0)
        return -1;
    if (*end == '\0' || strcmp(end, "s") == 0)
        return v;
    if (strcmp(end, "ms") == 0)
        return v / 1000;
    if (strcmp(end, "m") == 0)
        return v * 60;
    if (strcmp(end, "h") == 0)
        return v * 3600;
    if (strcmp(end, "d") == 0)
        return v * 86400;
    return -1;
}
