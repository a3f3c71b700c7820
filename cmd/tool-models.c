/*
 * tool-models.c - what `flexiai models` and `config check --online` make of
 * a provider's model list: whether the configured model is listed and
 * when it shuts down, and the cached copy (one id a line, under
 * $XDG_CACHE_HOME/flexiai/models/PROVIDER) the shell completions offer
 * for -m.
 */
#include "config.h"

#include "tool.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

const flexiai_model *
tool_models_find(const flexiai_model_list *l, const char *id)
{
    for (size_t i = 0; id && i < l->nmodels; i++)
        if (strcmp(l->models[i].id, id) == 0)
            return &l->models[i];
    return NULL;
}

long
tool_models_days_left(const char *date, double now)
{
    int y, m, d;
    if (date == NULL || sscanf(date, "%4d-%2d-%2d", &y, &m, &d) != 3)
        return TOOL_MODELS_NO_DATE;
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = d;
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return TOOL_MODELS_NO_DATE;
    double days = ((double)t - now) / 86400.0;
    return days < 0 ? (long)days - 1 : (long)days;
}

int
tool_models_warn(const flexiai_model_list *l, const char *model, double now)
{
    if (model == NULL || *model == '\0' || l->nmodels == 0)
        return 0;
    const flexiai_model *m = tool_models_find(l, model);
    if (m == NULL) {
        tool_warn("%s: the configured model '%s' is not in the provider's "
                  "list",
                  l->provider, model);
        return 1;
    }
    long days = tool_models_days_left(m->shutdown_date, now);
    if (days != TOOL_MODELS_NO_DATE && days < 0) {
        tool_warn("%s: the configured model '%s' was shut down on %s",
                  l->provider, model, m->shutdown_date);
        return 1;
    }
    if (days != TOOL_MODELS_NO_DATE && days <= TOOL_MODELS_WARN_DAYS) {
        tool_warn("%s: the configured model '%s' shuts down on %s (in %ld "
                  "day%s)",
                  l->provider, model, m->shutdown_date, days,
                  days == 1 ? "" : "s");
        return 1;
    }
    return 0;
}

void
tool_models_cache(const flexiai_model_list *l)
{
    /* provider names become file names: the configuration allows no '/' in
     * them, but be sure */
    if (l->provider == NULL || !*l->provider || *l->provider == '.' ||
        strchr(l->provider, '/'))
        return;
    char *dir = tool_xdg_dir("XDG_CACHE_HOME", ".cache");
    char *sub = fxu_asprintf("%s/models", dir);
    char *path = fxu_asprintf("%s/%s", sub, l->provider);
    char *tmp = fxu_asprintf("%s.tmp.%ld", path, (long)getpid());
    if (fxu_make_dirs(sub) == 0) {
        int fd = open(
            tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (fd >= 0) {
            fxu_buf b;
            fxu_buf_init(&b);
            for (size_t i = 0; i < l->nmodels; i++)
                /* ids with a newline or a blank would break the format */
                if (!strpbrk(l->models[i].id, " \t\r\n"))
                    fxu_buf_printf(&b, "%s\n", l->models[i].id);
            int ok = fxu_write_all(fd, b.data ? b.data : "", b.len) == 0;
            ok = close(fd) == 0 && ok;
            if (!ok || rename(tmp, path) != 0)
                unlink(tmp);
            fxu_buf_free(&b);
        }
    }
    free(tmp);
    free(path);
    free(sub);
    free(dir);
}
