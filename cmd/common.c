/* common.c - shared by every flexiai command. */
#include "config.h"

#include "common.h"

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <getopt.h>
#include <unistd.h>

const char *tool_progname = "flexiai";
int tool_quiet;
int tool_verbose;

void
tool_cmd_init(const char *progname)
{
    tool_progname = progname;
    /* A vanished Redis or provider must not kill us with SIGPIPE; a
     * closed stdout is noticed by tool_out() instead. */
    signal(SIGPIPE, SIG_IGN);
    opterr = 0;
}

static void
vmsg(const char *prefix, const char *fmt, va_list ap)
{
    char buf[2048];
    vsnprintf(buf, sizeof(buf), fmt, ap);
    for (char *p = buf; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    fprintf(stderr, "flexiai: %s%s\n", prefix, buf);
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
    va_list ap;
    va_start(ap, fmt);
    vmsg("", fmt, ap);
    va_end(ap);
    exit(code);
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
    exit(FLEXIAI_EUSAGE);
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
        } else if (warnings && !tool_quiet) {
            tool_err("%s", d->text);
        }
    }
    return errors;
}

flexiai_config *
tool_load_config(const char *path, void (*apply)(flexiai_config *, void *),
                 void *ud, int resolve_secrets)
{
    flexiai_config *cfg = flexiai_config_new();
    const char *sys = getenv("FX_TEST_SYSCONF"); /* tests only */
    flexiai_config_load(cfg, sys, path);
    if (apply)
        apply(cfg, ud);
    int rc = flexiai_config_validate(cfg, resolve_secrets);
    tool_print_diags(cfg, 1);
    if (rc != FLEXIAI_OK) {
        flexiai_config_free(cfg);
        exit(FLEXIAI_ECONFIG);
    }
    return cfg;
}

void
tool_log_cb(void *ud, int level, const char *msg)
{
    (void)ud;
    if (level == FLEXIAI_LOG_WARN && !tool_quiet)
        tool_err("%s", msg);
    else if (level == FLEXIAI_LOG_ATTEMPT && tool_verbose)
        tool_err("%s", msg);
    else if (level == FLEXIAI_LOG_DEBUG && tool_verbose > 1)
        tool_err("%s", msg);
}

void
tool_out(const char *s, size_t n)
{
    if (n == 0)
        return;
    if (fwrite(s, 1, n, stdout) != n) {
        if (errno == EPIPE)
            _exit(141);
        tool_die(FLEXIAI_ESOFTWARE, "cannot write output: %s", strerror(errno));
    }
}

void
tool_outs(const char *s)
{
    tool_out(s, strlen(s));
}

void
tool_out_flush(void)
{
    if (fflush(stdout) != 0) {
        if (errno == EPIPE)
            _exit(141);
        tool_die(FLEXIAI_ESOFTWARE, "cannot write output: %s", strerror(errno));
    }
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

void
tool_bad_option(char **argv)
{
    /* getopt ran with opterr = 0: say it our way, on one line */
    const char *arg = optind > 0 ? argv[optind - 1] : "?";
    if (optopt && arg[0] == '-' && arg[1] != '-' && strchr(arg, optopt))
        tool_usage_error("option -%c: unknown, or missing its argument",
                         optopt);
    tool_usage_error("option '%s': unknown, or missing its argument", arg);
}

void
tool_check_param_flags(const char *temperature, const char *max_tokens,
                       const char *top_p, const char *timeout)
{
    double d;
    long l;
    if (temperature && (fxu_parse_double(temperature, &d) || d < 0 || d > 2))
        tool_usage_error("--temperature must be a number from 0 to 2");
    if (top_p && (fxu_parse_double(top_p, &d) || d < 0 || d > 1))
        tool_usage_error("--top-p must be a number from 0 to 1");
    if (max_tokens && (fxu_parse_long(max_tokens, &l) || l < 1))
        tool_usage_error("--max-tokens must be a positive whole number");
    if (timeout && (fxu_parse_double(timeout, &d) || d <= 0))
        tool_usage_error("--timeout must be a positive number of seconds");
}
