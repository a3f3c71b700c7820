/*
 * tool-paths.c - where the commands keep their files: the XDG base
 * directories (history, sessions), with the fallbacks the specification
 * gives when a variable is unset or not absolute.
 */
#include "config.h"

#include "tool.h"

#include <pwd.h>
#include <stdlib.h>
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
