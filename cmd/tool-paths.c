/*
 * tool-paths.c - where the commands keep their files: the XDG base
 * directories (history, sessions), with the fallbacks the specification
 * gives when a variable is unset or not absolute; and the programs that
 * stand beside the running one (flexiai-CMD).
 */
#include "config.h"

#include "tool.h"

#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *
tool_xdg_dir(const char *var, const char *fallback)
{
    /* relative values are ignored, as XDG says */
    const char *v = getenv(var);
    if (v && v[0] == '/')
        return fxu_asprintf("%s/flexiai", v);
    const char *home = getenv("HOME");
    if (home == NULL || *home == '\0') {
        struct passwd *pw = getpwuid(getuid());
        home = pw ? pw->pw_dir : "/";
    }
    return fxu_asprintf("%s/%s/flexiai", home, fallback);
}

/* PROG beside the running binary when it is there and executable
 * (malloc'ed), else NULL: the caller looks it up on PATH. */
char *
tool_sibling(const char *prog)
{
    char buf[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
    if (n <= 0)
        return NULL;
    buf[n] = '\0';
    char *slash = strrchr(buf, '/');
    if (slash == NULL)
        return NULL;
    *slash = '\0';
    char *path = fxu_asprintf("%s/%s", buf, prog);
    if (access(path, X_OK) == 0)
        return path;
    free(path);
    return NULL;
}

int
tool_exec_command(const char *name, int argc, char **argv)
{
    char prog[256];
    for (const char *p = name; *p; p++)
        if (*p == '/' || *p == '.') {
            tool_err("unknown command '%s' (see 'flexiai --help')", name);
            return FLEXIAI_EUSAGE;
        }
    snprintf(prog, sizeof(prog), "flexiai-%s", name);
    argv[0] = prog;
    (void)argc;
    char *path = tool_sibling(prog);
    if (path) {
        execv(path, argv);
        tool_die(FLEXIAI_ESOFTWARE, "cannot run %s: %s", path, strerror(errno));
    }
    execvp(prog, argv);
    if (errno == ENOENT) {
        tool_err("unknown command '%s' (see 'flexiai --help')", name);
        return FLEXIAI_EUSAGE;
    }
    tool_die(FLEXIAI_ESOFTWARE, "cannot run %s: %s", prog, strerror(errno));
}
