/*
 * conf-ini.c - the INI reader: a file's lines handed to inih one by one,
 * counted so every value knows its FILE:LINE, with what inih would only
 * call "error on line N" (an unknown section or key, a line too long, a
 * NUL byte, a missing '=') said in words.
 */
#include "config.h"

#include "conf-int.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The longest line a configuration file may have, its end not counted;
 * inih is given a larger buffer, so it never splits one line in two. */
#define CONFIG_LINE_MAX 65536

struct file_ctx {
    flexiai_config *cfg;
    const char *path;
    FILE *fp;
    int line;           /* number of the line last handed to inih */
    int continuing;     /* the last piece read did not end its line */
    size_t line_len;    /* bytes of the current line so far */
    int open_to_others; /* file mode allows group/other read */
    char cur_section[256];
    int section_ok;
};

/* Skip to the end of the current line; a line too long or holding a NUL
 * byte is reported once and handed to inih as an empty line, never in
 * pieces that would read as settings of their own. */
static char *
bad_line(struct file_ctx *fc, char *str, const char *why)
{
    int c;
    fx_conf_diag(fc->cfg, 1, "%s:%d: %s", fc->path, fc->line, why);
    while ((c = getc(fc->fp)) != EOF && c != '\n')
        ;
    fc->continuing = 0;
    fc->line_len = 0;
    str[0] = '\n';
    str[1] = '\0';
    return str;
}

/* fgets that notices NUL bytes (*nul set) */
static char *
get_piece(FILE *fp, char *str, int num, int *nul)
{
    int i = 0, c = EOF;
    *nul = 0;
    while (i < num - 1 && (c = getc(fp)) != EOF) {
        if (c == '\0')
            *nul = 1;
        str[i++] = (char)c;
        if (c == '\n')
            break;
    }
    str[i] = '\0';
    return i == 0 && c == EOF ? NULL : str;
}

/* Reads lines for inih, counting them so the handler knows where it is,
 * and catching what inih would only report as "error on line N". */
static char *
file_reader(char *str, int num, void *stream)
{
    struct file_ctx *fc = stream;
    int nul;
    if (num < 2)
        return NULL;
    char *s = get_piece(fc->fp, str, num, &nul);
    if (s == NULL)
        return NULL;
    size_t n = strlen(s);
    /* A line longer than inih's buffer arrives in pieces; count it once,
     * and look for headers and syntax only at its start. */
    int starting = !fc->continuing;
    if (starting) {
        fc->line++;
        fc->line_len = 0;
    }
    if (nul)
        return bad_line(fc, str, "NUL byte in the line");
    fc->line_len += n;
    fc->continuing = n > 0 && s[n - 1] != '\n';
    if (fc->line_len - (fc->continuing ? 0 : 1) > CONFIG_LINE_MAX) {
        char why[64];
        snprintf(why, sizeof why, "line too long (max %d)", CONFIG_LINE_MAX);
        return bad_line(fc, str, why);
    }
    if (fc->continuing && feof(fc->fp))
        fc->continuing = 0;
    if (!starting)
        return s;

    char *p = s;
    while (*p == ' ' || *p == '\t')
        p++;
    if (p == s && *p == '[') {
        char *end = strchr(p, ']');
        if (end == NULL) {
            fx_conf_diag(fc->cfg, 1, "%s:%d: malformed section header",
                         fc->path, fc->line);
            fc->section_ok = 0;
            fc->cur_section[0] = '\0';
            return s;
        }
        size_t len = (size_t)(end - p - 1);
        if (len >= sizeof(fc->cur_section))
            len = sizeof(fc->cur_section) - 1;
        memcpy(fc->cur_section, p + 1, len);
        fc->cur_section[len] = '\0';
        fxu_trim(fc->cur_section);
        char where[PATH_MAX + 32];
        snprintf(where, sizeof(where), "%s:%d", fc->path, fc->line);
        if (!fx_conf_known_section(fc->cur_section)) {
            const char *sugg = fx_conf_suggest_section(fc->cur_section);
            if (sugg)
                fx_conf_diag(fc->cfg, 1,
                             "%s: unknown section [%s] (did you mean [%s]?)",
                             where, fc->cur_section, sugg);
            else
                fx_conf_diag(fc->cfg, 1, "%s: unknown section [%s]", where,
                             fc->cur_section);
            fc->section_ok = 0;
        } else {
            fc->section_ok = 1;
            if (strncmp(fc->cur_section, "provider.", 9) == 0)
                fx_conf_note_section(fc->cfg, fc->cur_section, where);
        }
    } else if (p == s && *p && *p != ';' && *p != '#' && *p != '\n' &&
               *p != '\r' && strpbrk(p, "=:") == NULL) {
        fx_conf_diag(fc->cfg, 1, "%s:%d: expected 'key = value'", fc->path,
                     fc->line);
    }
    return s;
}

static int
file_handler(void *user, const char *section, const char *name,
             const char *value)
{
    struct file_ctx *fc = user;
    char where[PATH_MAX + 32];
    snprintf(where, sizeof(where), "%s:%d", fc->path, fc->line);
    if (section[0] == '\0') {
        fx_conf_diag(fc->cfg, 1, "%s: '%s' outside any section", where, name);
        return 1;
    }
    if (!fc->section_ok)
        return 1; /* the section header was already reported */
    if (fx_conf_key_def(section, name) == NULL) {
        const char *sugg = fx_conf_suggest_key(section, name);
        if (sugg)
            fx_conf_diag(fc->cfg, 1,
                         "%s: unknown key '%s' in [%s] (did you mean '%s'?)",
                         where, name, section, sugg);
        else
            fx_conf_diag(fc->cfg, 1, "%s: unknown key '%s' in [%s]", where,
                         name, section);
        return 1;
    }
    /* inih calls us again for continuation lines: append them. */
    struct entry *prev = fx_conf_entry(fc->cfg, section, name);
    if (prev && strncmp(prev->origin, fc->path, strlen(fc->path)) == 0 &&
        prev->origin[strlen(fc->path)] == ':' &&
        atoi(prev->origin + strlen(fc->path) + 1) == fc->line - 1) {
        char *joined = fxu_asprintf("%s\n%s", prev->value, value);
        char *origin = fxu_strdup(prev->origin);
        fx_conf_set(fc->cfg, section, name, joined, origin);
        free(joined);
        free(origin);
    } else {
        fx_conf_set(fc->cfg, section, name, value, where);
    }
    const struct key_def *kd = fx_conf_key_def(section, name);
    if (kd && kd->type == KT_SECRET)
        fx_secret_in_memory();
    if (strcmp(name, "api_key") == 0 && fc->open_to_others)
        fx_conf_diag(
            fc->cfg, 0,
            "%s: warning: api_key in a file readable by group or others "
            "(chmod 600 %s)",
            where, fc->path);
    return 1;
}

int
fx_conf_read_file(flexiai_config *cfg, const char *path, int required)
{
    struct file_ctx fc;
    memset(&fc, 0, sizeof(fc));
    fc.cfg = cfg;
    fc.path = path;
    /* O_NONBLOCK: opening a FIFO must not wait for a writer */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        if (errno == ENOENT && !required)
            return 0;
        fx_conf_diag(cfg, 1, "%s: cannot read: %s", path, strerror(errno));
        return -1;
    }
    struct stat st, null_st;
    /* /dev/null stays usable as "no configuration" */
    int is_null = fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) &&
                  stat("/dev/null", &null_st) == 0 &&
                  S_ISCHR(null_st.st_mode) && st.st_rdev == null_st.st_rdev;
    if (!is_null && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
        /* a FIFO or /dev/zero would be read forever */
        fx_conf_diag(cfg, 1, "%s: cannot read: %s", path,
                     S_ISDIR(st.st_mode) ? "Is a directory"
                                         : "not a regular file");
        close(fd);
        return -1;
    }
    fc.open_to_others = (st.st_mode & (S_IRGRP | S_IROTH)) != 0;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    fc.fp = fdopen(fd, "r");
    if (fc.fp == NULL) {
        fx_conf_diag(cfg, 1, "%s: cannot read: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
#if HAVE_DECL_INI_MAX_LINE && HAVE_DECL_INI_ALLOW_REALLOC &&                   \
    HAVE_DECL_INI_USE_STACK
    ini_use_stack = 0;
    ini_allow_realloc = 1;
    ini_max_line = 1 << 20;
#endif
    int rc = ini_parse_stream(file_reader, &fc, file_handler, &fc);
    fclose(fc.fp);
    if (rc < 0) {
        fx_conf_diag(cfg, 1, "%s: cannot parse (out of memory)", path);
        return -1;
    }
    /* rc > 0: a line inih rejected; our reader has reported those it can
     * name better, so only add one if nothing was said about that line. */
    if (rc > 0) {
        char prefix[PATH_MAX + 32];
        snprintf(prefix, sizeof(prefix), "%s:%d:", path, rc);
        int said = 0;
        for (size_t i = 0; i < cfg->ndiags; i++)
            if (strncmp(cfg->diags[i].text, prefix, strlen(prefix)) == 0)
                said = 1;
        if (!said)
            fx_conf_diag(cfg, 1, "%s:%d: syntax error", path, rc);
    }
    return 0;
}
