/*
 * config.c - configuration: built-in defaults, the system file, the user
 * file (or -c FILE / FLEXIAI_CONFIG), FLEXIAI_* environment variables and
 * command-line flags, later wins.  Every value remembers where it came
 * from so `config show` can say so and `config check` can point at the
 * line that is wrong.
 */
#include "config.h"

#include "conf.h"
#include "fx.h"
#include "providers/providers.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#ifndef SYSCONFDIR
#define SYSCONFDIR "/etc"
#endif

/* ---- the schema ------------------------------------------------------- */

enum key_type {
    KT_STRING,
    KT_SECRET,
    KT_INT,
    KT_NUMBER,
    KT_BOOL,
    KT_ENUM,
    KT_LIST
};

struct key_def {
    const char *section; /* "provider" stands for every [provider.NAME] */
    const char *key;
    int type;
    const char *def; /* NULL: unset */
    double min, max;
    const char *choices; /* KT_ENUM: "a|b|c" */
};

#define NOLIM 0, 0
#define ERRCLASS_LIST                                                          \
    "connect, timeout, rate_limit, quota, overloaded, server, auth, "          \
    "stream_error"

/* Request parameters: valid in [defaults] and in every [provider.NAME]. */
#define PARAM_KEYS(sec, d)                                                       \
    {sec, "temperature", KT_NUMBER, d ? "0.7" : NULL, 0, 2, NULL},               \
        {sec, "max_tokens", KT_INT, d ? "1024" : NULL, 1, 10000000, NULL},       \
        {sec, "top_p", KT_NUMBER, NULL, 0, 1, NULL},                             \
        {sec, "top_k", KT_INT, NULL, 1, 100000, NULL},                           \
        {sec, "timeout", KT_NUMBER, d ? "120" : NULL, 0.001, 86400, NULL},       \
        {sec, "connect_timeout", KT_NUMBER, d ? "10" : NULL, 0.001, 3600, NULL}, \
        {sec, "idle_timeout", KT_NUMBER, d ? "60" : NULL, 0.001, 86400, NULL},   \
        {sec,  "max_response_bytes", KT_INT, d ? "16777216" : NULL,              \
         1024, 1073741824,           NULL},                                      \
        {sec, "system", KT_STRING, NULL, NOLIM, NULL},                           \
    {                                                                            \
        sec, "stop", KT_LIST, NULL, NOLIM, NULL                                  \
    }

static const struct key_def schema[] = {
    PARAM_KEYS("defaults", 1),
    {"defaults", "stream", KT_ENUM, "auto", NOLIM, "auto|yes|no"},
    {"defaults", "on_stream_error", KT_ENUM, "continue", NOLIM,
     "continue|fail"},

    {"failover", "order", KT_LIST, NULL, NOLIM, NULL},
    {"failover", "retries", KT_INT, "1", 0, 100, NULL},
    {"failover", "backoff_base", KT_NUMBER, "0.5", 0, 3600, NULL},
    {"failover", "backoff_max", KT_NUMBER, "8", 0, 86400, NULL},
    {"failover", "retry_after_max", KT_NUMBER, "30", 0, 86400, NULL},
    {"failover", "failover_on_bad_request", KT_BOOL, "no", NOLIM, NULL},
    /* rate limits (engine-limits.c) */
    {"failover", "limit_wait_max", KT_NUMBER, "30", 0, 86400, NULL},
    {"failover", "limit_window", KT_NUMBER, "60", 0.01, 86400, NULL},

    {"breaker", "failure_threshold", KT_INT, "5", 1, 1000000, NULL},
    {"breaker", "recovery_timeout", KT_NUMBER, "60", 0, 31536000, NULL},
    {"breaker", "max_open", KT_NUMBER, "3600", 1, 2592000, NULL},
    {"breaker", "half_open_max_calls", KT_INT, "1", 1, FX_MAX_PROBES, NULL},
    {"breaker", "probe_timeout", KT_NUMBER, NULL, 0.001, 86400, NULL},
    {"breaker", "count", KT_LIST, ERRCLASS_LIST, NOLIM, NULL},

    {"sync", "backend", KT_ENUM, "file", NOLIM, "file|redis|memory"},
    {"sync", "redis_url", KT_SECRET, NULL, NOLIM, NULL},
    {"sync", "redis_host", KT_STRING, "127.0.0.1", NOLIM, NULL},
    {"sync", "redis_port", KT_INT, "6379", 1, 65535, NULL},
    {"sync", "redis_db", KT_INT, "0", 0, 100000, NULL}, /* REDIS_DB_MAX */
    {"sync", "redis_password", KT_SECRET, NULL, NOLIM, NULL},
    {"sync", "redis_username", KT_STRING, NULL, NOLIM, NULL},
    {"sync", "redis_ssl", KT_BOOL, "no", NOLIM, NULL},
    /* the Python FlexiAI's names; redis_timeout is ours and wins */
    {"sync", "redis_socket_timeout", KT_NUMBER, NULL, 0.001, 3600, NULL},
    {"sync", "redis_socket_connect_timeout", KT_NUMBER, NULL, 0.001, 3600,
     NULL},
    {"sync", "redis_timeout", KT_NUMBER, "0.25", 0.001, 3600, NULL},
    {"sync", "redis_tls_ca", KT_STRING, NULL, NOLIM, NULL},
    {"sync", "redis_tls_cert", KT_STRING, NULL, NOLIM, NULL},
    {"sync", "redis_tls_key", KT_STRING, NULL, NOLIM, NULL},
    {"sync", "redis_tls_server_name", KT_STRING, NULL, NOLIM, NULL},
    {"sync", "redis_tls_insecure", KT_BOOL, "no", NOLIM, NULL},
    {"sync", "redis_sentinels", KT_LIST, NULL, NOLIM, NULL},
    {"sync", "redis_sentinel_master", KT_STRING, NULL, NOLIM, NULL},
    {"sync", "redis_sentinel_user", KT_STRING, NULL, NOLIM, NULL},
    {"sync", "redis_sentinel_password", KT_SECRET, NULL, NOLIM, NULL},
    /* the Python FlexiAI's switch: false means no shared state (file) */
    {"sync", "enabled", KT_BOOL, NULL, NOLIM, NULL},
    {"sync", "key_prefix", KT_STRING, "flexiai", NOLIM, NULL},
    {"sync", "channel", KT_STRING, "flexiai:events", NOLIM, NULL},
    {"sync", "state_ttl", KT_INT, "3600", 1, 315360000, NULL},
    {"sync", "worker_id", KT_STRING, NULL, NOLIM, NULL},
    {"sync", "publish_outcomes", KT_BOOL, "no", NOLIM, NULL},

    /* choices NULL: the types lib/providers.c lists */
    {"provider", "type", KT_ENUM, NULL, NOLIM, NULL},
    {"provider", "model", KT_STRING, NULL, NOLIM, NULL},
    {"provider", "priority", KT_INT, NULL, -1000000, 1000000, NULL},
    {"provider", "api_key_env", KT_STRING, NULL, NOLIM, NULL},
    {"provider", "api_key_cmd", KT_STRING, NULL, NOLIM, NULL},
    {"provider", "api_key_timeout", KT_NUMBER, "10", 0.001, 3600, NULL},
    {"provider", "api_key", KT_SECRET, NULL, NOLIM, NULL},
    {"provider", "base_url", KT_STRING, NULL, NOLIM, NULL},
    {"provider", "api_version", KT_STRING, NULL, NOLIM, NULL},
    {"provider", "project", KT_STRING, NULL, NOLIM, NULL},
    {"provider", "location", KT_STRING, NULL, NOLIM, NULL},
    {"provider", "insecure", KT_BOOL, NULL, NOLIM, NULL},
    {"provider", "tls_ca", KT_STRING, NULL, NOLIM, NULL},
    {"provider", "rpm", KT_INT, NULL, 1, 100000000, NULL},
    {"provider", "tpm", KT_INT, NULL, 1, 1000000000000, NULL},
    {"provider", "max_concurrency", KT_INT, NULL, 1, 1000000, NULL},
    {"provider", "schema_mode", KT_ENUM, "native", NOLIM,
     "native|tool|json|prompt"},
    PARAM_KEYS("provider", 0),

    /* the request ledger (lib/ledger.h); keep is a duration ("90d") */
    {"log", "path", KT_STRING, NULL, NOLIM, NULL},
    {"log", "mode", KT_ENUM, "full", NOLIM, "full|usage|off"},
    {"log", "keep", KT_STRING, NULL, NOLIM, NULL},
    /* bytes waiting in the spool that start an import in the background */
    {"log", "spool_max", KT_INT, "33554432", 0, 1099511627776, NULL},
    /* prices per million tokens, for `flexiai usage`; [price.MODEL] beats
     * the provider's */
    {"provider", "price_input", KT_NUMBER, NULL, 0, 1e9, NULL},
    {"provider", "price_output", KT_NUMBER, NULL, 0, 1e9, NULL},
    {"price", "price_input", KT_NUMBER, NULL, 0, 1e9, NULL},
    {"price", "price_output", KT_NUMBER, NULL, 0, 1e9, NULL},
};
#define NSCHEMA (sizeof(schema) / sizeof(schema[0]))

static const char *const fixed_sections[] = {"defaults", "failover", "breaker",
                                             "sync",     "log",      NULL};

/* [price.MODEL]: a section kind of its own, checked like [price] */
static int
is_price_section(const char *section)
{
    return strncmp(section, "price.", 6) == 0 && section[6] != '\0';
}

/* ---- raw values ------------------------------------------------------- */

struct entry {
    char *section;
    char *key;
    char *value;
    char *origin;            /* "FILE:LINE", "env NAME", "flag", "default" */
    int from_file_mode_open; /* api_key in a group/world readable file */
};

struct section_seen {
    char *name;
    char *where; /* "FILE:LINE" of its header */
};

struct flexiai_config {
    struct entry *entries;
    size_t nentries;
    struct section_seen *sections; /* provider sections in file order */
    size_t nsections;
    flexiai_diag *diags;
    size_t ndiags;
    struct fx_settings settings;
    int validated;
    flexiai_config_entry *shown;
    size_t nshown;
    char **shown_strings;
    size_t nshown_strings;
    char **provider_names;
    size_t nprovider_names;
    fxu_buf sources; /* the files looked at, for "no providers" */
};

static const struct key_def *
find_def(const char *section, const char *key)
{
    const char *sec =
        strncmp(section, "provider.", 9) == 0 ? "provider" : section;
    if (is_price_section(section))
        sec = "price";
    for (size_t i = 0; i < NSCHEMA; i++)
        if (strcmp(schema[i].section, sec) == 0 &&
            strcmp(schema[i].key, key) == 0)
            return &schema[i];
    return NULL;
}

const char *
fx_config_default(const char *section, const char *key)
{
    const struct key_def *d = find_def(section, key);
    return d ? d->def : NULL;
}

static int
known_section(const char *section)
{
    for (int i = 0; fixed_sections[i]; i++)
        if (strcmp(section, fixed_sections[i]) == 0)
            return 1;
    if (is_price_section(section))
        return 1;
    return strncmp(section, "provider.", 9) == 0 && section[9] != '\0';
}

static void add_diag(flexiai_config *cfg, int is_error, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
add_diag(flexiai_config *cfg, int is_error, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *text = fxu_vasprintf(fmt, ap);
    va_end(ap);
    /* one line each, whatever a value (say, a continued one) holds */
    for (char *p = text; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
        else if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?'; /* a value's control bytes never reach a terminal */
    for (size_t i = 0; i < cfg->ndiags; i++)
        if (strcmp(cfg->diags[i].text, text) == 0) {
            free(text);
            return;
        }
    cfg->diags =
        fxu_xrealloc(cfg->diags, (cfg->ndiags + 1) * sizeof(*cfg->diags));
    cfg->diags[cfg->ndiags].is_error = is_error;
    cfg->diags[cfg->ndiags].text = text;
    cfg->ndiags++;
}

static struct entry *
find_entry(const flexiai_config *cfg, const char *section, const char *key)
{
    for (size_t i = 0; i < cfg->nentries; i++)
        if (strcmp(cfg->entries[i].section, section) == 0 &&
            strcmp(cfg->entries[i].key, key) == 0)
            return &cfg->entries[i];
    return NULL;
}

static void
note_section(flexiai_config *cfg, const char *name, const char *where)
{
    for (size_t i = 0; i < cfg->nsections; i++)
        if (strcmp(cfg->sections[i].name, name) == 0)
            return;
    cfg->sections = fxu_xrealloc(cfg->sections,
                                 (cfg->nsections + 1) * sizeof(*cfg->sections));
    cfg->sections[cfg->nsections].name = fxu_strdup(name);
    cfg->sections[cfg->nsections].where = fxu_strdup(where);
    cfg->nsections++;
}

/* Record a value; a later one replaces an earlier one with its origin. */
static void
set_entry(flexiai_config *cfg, const char *section, const char *key,
          const char *value, const char *origin)
{
    struct entry *e = find_entry(cfg, section, key);
    if (e == NULL) {
        cfg->entries = fxu_xrealloc(cfg->entries, (cfg->nentries + 1) *
                                                      sizeof(*cfg->entries));
        e = &cfg->entries[cfg->nentries++];
        e->section = fxu_strdup(section);
        e->key = fxu_strdup(key);
    } else {
        free(e->value);
        free(e->origin);
    }
    e->value = fxu_strdup(value);
    e->origin = fxu_strdup(origin);
    e->from_file_mode_open = 0;
    if (strncmp(section, "provider.", 9) == 0)
        note_section(cfg, section, origin);
    cfg->validated = 0;
}

/* ---- "did you mean" ------------------------------------------------- */

static const char *
suggest_key(const char *section, const char *key)
{
    const char *sec =
        strncmp(section, "provider.", 9) == 0 ? "provider" : section;
    const char *best = NULL;
    size_t best_d = 4;
    for (size_t i = 0; i < NSCHEMA; i++) {
        if (strcmp(schema[i].section, sec) != 0)
            continue;
        size_t d = fxu_edit_distance(key, schema[i].key);
        if (d < best_d) {
            best_d = d;
            best = schema[i].key;
        }
    }
    return best;
}

static const char *
suggest_section(const char *section)
{
    const char *best = NULL;
    size_t best_d = 3;
    for (int i = 0; fixed_sections[i]; i++) {
        size_t d = fxu_edit_distance(section, fixed_sections[i]);
        if (d < best_d) {
            best_d = d;
            best = fixed_sections[i];
        }
    }
    if (best == NULL && strncmp(section, "providers.", 10) == 0)
        return "provider.NAME";
    if (best == NULL && strcmp(section, "provider") == 0)
        return "provider.NAME";
    return best;
}

/* ---- INI files -------------------------------------------------------- */

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

/* Reads lines for inih, counting them so the handler knows where it is,
 * and catching what inih would only report as "error on line N". */
/* Skip to the end of the current line; a line too long or holding a NUL
 * byte is reported once and handed to inih as an empty line, never in
 * pieces that would read as settings of their own. */
static char *
bad_line(struct file_ctx *fc, char *str, const char *why)
{
    int c;
    add_diag(fc->cfg, 1, "%s:%d: %s", fc->path, fc->line, why);
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
            add_diag(fc->cfg, 1, "%s:%d: malformed section header", fc->path,
                     fc->line);
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
        if (!known_section(fc->cur_section)) {
            const char *sugg = suggest_section(fc->cur_section);
            if (sugg)
                add_diag(fc->cfg, 1,
                         "%s: unknown section [%s] (did you mean [%s]?)", where,
                         fc->cur_section, sugg);
            else
                add_diag(fc->cfg, 1, "%s: unknown section [%s]", where,
                         fc->cur_section);
            fc->section_ok = 0;
        } else {
            fc->section_ok = 1;
            if (strncmp(fc->cur_section, "provider.", 9) == 0)
                note_section(fc->cfg, fc->cur_section, where);
        }
    } else if (p == s && *p && *p != ';' && *p != '#' && *p != '\n' &&
               *p != '\r' && strpbrk(p, "=:") == NULL) {
        add_diag(fc->cfg, 1, "%s:%d: expected 'key = value'", fc->path,
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
        add_diag(fc->cfg, 1, "%s: '%s' outside any section", where, name);
        return 1;
    }
    if (!fc->section_ok)
        return 1; /* the section header was already reported */
    if (find_def(section, name) == NULL) {
        const char *sugg = suggest_key(section, name);
        if (sugg)
            add_diag(fc->cfg, 1,
                     "%s: unknown key '%s' in [%s] (did you mean '%s'?)", where,
                     name, section, sugg);
        else
            add_diag(fc->cfg, 1, "%s: unknown key '%s' in [%s]", where, name,
                     section);
        return 1;
    }
    /* inih calls us again for continuation lines: append them. */
    struct entry *prev = find_entry(fc->cfg, section, name);
    if (prev && strncmp(prev->origin, fc->path, strlen(fc->path)) == 0 &&
        prev->origin[strlen(fc->path)] == ':' &&
        atoi(prev->origin + strlen(fc->path) + 1) == fc->line - 1) {
        char *joined = fxu_asprintf("%s\n%s", prev->value, value);
        char *origin = fxu_strdup(prev->origin);
        set_entry(fc->cfg, section, name, joined, origin);
        free(joined);
        free(origin);
    } else {
        set_entry(fc->cfg, section, name, value, where);
    }
    const struct key_def *kd = find_def(section, name);
    if (kd && kd->type == KT_SECRET)
        fx_secret_in_memory();
    if (strcmp(name, "api_key") == 0 && fc->open_to_others)
        add_diag(fc->cfg, 0,
                 "%s: warning: api_key in a file readable by group or others "
                 "(chmod 600 %s)",
                 where, fc->path);
    return 1;
}

/* 0: read (or absent and optional), -1: error recorded */
static int
read_file(flexiai_config *cfg, const char *path, int required)
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
        add_diag(cfg, 1, "%s: cannot read: %s", path, strerror(errno));
        return -1;
    }
    struct stat st, null_st;
    /* /dev/null stays usable as "no configuration" */
    int is_null = fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) &&
                  stat("/dev/null", &null_st) == 0 &&
                  S_ISCHR(null_st.st_mode) && st.st_rdev == null_st.st_rdev;
    if (!is_null && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
        /* a FIFO or /dev/zero would be read forever */
        add_diag(cfg, 1, "%s: cannot read: %s", path,
                 S_ISDIR(st.st_mode) ? "Is a directory" : "not a regular file");
        close(fd);
        return -1;
    }
    fc.open_to_others = (st.st_mode & (S_IRGRP | S_IROTH)) != 0;
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    fc.fp = fdopen(fd, "r");
    if (fc.fp == NULL) {
        add_diag(cfg, 1, "%s: cannot read: %s", path, strerror(errno));
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
        add_diag(cfg, 1, "%s: cannot parse (out of memory)", path);
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
            add_diag(cfg, 1, "%s:%d: syntax error", path, rc);
    }
    return 0;
}

/* ---- environment ------------------------------------------------------ */

static void
env_name_part(char *dst, size_t size, const char *src)
{
    size_t i = 0;
    for (; src[i] && i + 1 < size; i++) {
        char c = src[i];
        dst[i] = (c == '.' || c == '-') ? '_' : (char)toupper((unsigned char)c);
    }
    dst[i] = '\0';
}

static void
env_fixed_section(flexiai_config *cfg, const char *var, const char *section,
                  const char *keypart, const char *value)
{
    char origin[512];
    snprintf(origin, sizeof(origin), "env %s", var);
    for (size_t i = 0; i < NSCHEMA; i++) {
        if (strcmp(schema[i].section, section) != 0)
            continue;
        char up[128];
        env_name_part(up, sizeof(up), schema[i].key);
        if (strcmp(up, keypart) == 0) {
            set_entry(cfg, section, schema[i].key, value, origin);
            return;
        }
    }
    char lower[128];
    size_t n = 0;
    for (; keypart[n] && n + 1 < sizeof(lower); n++)
        lower[n] = (char)tolower((unsigned char)keypart[n]);
    lower[n] = '\0';
    const char *sugg = suggest_key(section, lower);
    if (sugg) {
        char up[128];
        env_name_part(up, sizeof(up), sugg);
        char secup[32];
        env_name_part(secup, sizeof(secup), section);
        add_diag(cfg, 0,
                 "env %s: unknown key '%s' in [%s], ignored (did you mean "
                 "FLEXIAI_%s_%s?)",
                 var, lower, section, secup, up);
    } else {
        /* the environment is shared with other programs: a warning */
        add_diag(cfg, 0, "env %s: unknown key '%s' in [%s], ignored", var,
                 lower, section);
    }
}

static void
env_provider(flexiai_config *cfg, const char *var, const char *rest,
             const char *value)
{
    /* rest is NAME_KEY; the key is the longest provider key that ends it. */
    const struct key_def *best = NULL;
    size_t rlen = strlen(rest), best_len = 0;
    for (size_t i = 0; i < NSCHEMA; i++) {
        if (strcmp(schema[i].section, "provider") != 0)
            continue;
        char up[128];
        env_name_part(up, sizeof(up), schema[i].key);
        size_t klen = strlen(up);
        if (klen + 2 <= rlen && rest[rlen - klen - 1] == '_' &&
            strcmp(rest + rlen - klen, up) == 0 && klen > best_len) {
            best = &schema[i];
            best_len = klen;
        }
    }
    if (best == NULL) {
        add_diag(cfg, 0,
                 "env %s: no provider key at the end of the name, ignored",
                 var);
        return;
    }
    char namepart[256];
    size_t nlen = rlen - best_len - 1;
    if (nlen >= sizeof(namepart))
        nlen = sizeof(namepart) - 1;
    memcpy(namepart, rest, nlen);
    namepart[nlen] = '\0';
    /* An existing [provider.NAME] whose name maps to this wins. */
    char section[300];
    section[0] = '\0';
    for (size_t i = 0; i < cfg->nsections; i++) {
        char up[256];
        env_name_part(up, sizeof(up), cfg->sections[i].name + 9);
        if (strcmp(up, namepart) == 0) {
            snprintf(section, sizeof(section), "%s", cfg->sections[i].name);
            break;
        }
    }
    if (section[0] == '\0') {
        snprintf(section, sizeof(section), "provider.");
        size_t off = strlen(section);
        for (size_t i = 0; namepart[i] && off + 1 < sizeof(section); i++)
            section[off++] = (char)tolower((unsigned char)namepart[i]);
        section[off] = '\0';
    }
    char origin[512];
    snprintf(origin, sizeof(origin), "env %s", var);
    set_entry(cfg, section, best->key, value, origin);
}

/* Variables that are ours but name no setting. */
static const char *const env_other[] = {"FLEXIAI_CONFIG", "FLEXIAI_ALLOW_CORE",
                                        NULL};

/* A FLEXIAI_* variable that matches no section: most likely a typo of one
 * that does (a warning with the nearest name), else another program's. */
static void
env_unknown(flexiai_config *cfg, const char *var)
{
    for (int i = 0; env_other[i]; i++)
        if (strcmp(var, env_other[i]) == 0)
            return;
    const char *best = NULL;
    size_t best_d = 4;
    char best_name[200];
    for (size_t i = 0; i < NSCHEMA; i++) {
        if (strcmp(schema[i].section, "provider") == 0)
            continue;
        char sec[32], key[128], name[200];
        env_name_part(sec, sizeof(sec), schema[i].section);
        env_name_part(key, sizeof(key), schema[i].key);
        snprintf(name, sizeof(name), "FLEXIAI_%s_%s", sec, key);
        size_t d = fxu_edit_distance(var, name);
        if (d < best_d) {
            best_d = d;
            snprintf(best_name, sizeof(best_name), "%s", name);
            best = best_name;
        }
    }
    for (int i = 0; env_other[i]; i++) {
        size_t d = fxu_edit_distance(var, env_other[i]);
        if (d < best_d) {
            best_d = d;
            snprintf(best_name, sizeof(best_name), "%s", env_other[i]);
            best = best_name;
        }
    }
    if (best)
        add_diag(cfg, 0,
                 "env %s: not a flexiai setting, ignored (did you "
                 "mean %s?)",
                 var, best);
}

/*
 * The Python FlexiAI's numbered providers: FLEXIAI_PROVIDER_{N}_NAME names
 * provider N (its type follows from the name: openai, anthropic, gemini,
 * vertexai or vertex), FLEXIAI_PROVIDER_{N}_API_KEY / _MODEL / _PRIORITY
 * (and any other provider key) set its keys.  Returns 1 when var is one of
 * them (handled), 0 when not.
 */
static const char *
python_type(const char *name)
{
    static const char *const map[][2] = {
        {"openai", "openai"}, {"anthropic", "anthropic"}, {"gemini", "gemini"},
        {"google", "gemini"}, {"vertexai", "vertex"},     {"vertex", "vertex"},
    };
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcasecmp(name, map[i][0]) == 0)
            return map[i][1];
    return NULL;
}

static int
env_numbered_provider(flexiai_config *cfg, const char *var, const char *rest,
                      const char *value)
{
    size_t nd = 0;
    while (isdigit((unsigned char)rest[nd]))
        nd++;
    if (nd == 0 || rest[nd] != '_' || nd > 6)
        return 0;
    char origin[512], namevar[64];
    snprintf(origin, sizeof(origin), "env %s", var);
    snprintf(namevar, sizeof(namevar), "FLEXIAI_PROVIDER_%.*s_NAME", (int)nd,
             rest);
    const char *name = getenv(namevar);
    if (name == NULL || *name == '\0') {
        /* a [provider.N] of the file's: the usual mapping */
        char own[32];
        snprintf(own, sizeof(own), "provider.%.*s", (int)nd, rest);
        for (size_t i = 0; i < cfg->nsections; i++)
            if (strcmp(cfg->sections[i].name, own) == 0)
                return 0;
        add_diag(cfg, 1, "env %s: no %s says which provider it is for", var,
                 namevar);
        return 1;
    }
    char section[300];
    size_t off = (size_t)snprintf(section, sizeof(section), "provider.");
    for (size_t i = 0; name[i] && off + 1 < sizeof(section); i++)
        section[off++] = (char)tolower((unsigned char)name[i]);
    section[off] = '\0';
    const char *key = rest + nd + 1;
    if (strcmp(key, "NAME") == 0) {
        const char *type = python_type(name);
        if (name[0] == '.' || strchr(name, '/') || strpbrk(name, " \t")) {
            add_diag(cfg, 1, "env %s: '%s' is not a provider name", var, name);
            return 1;
        }
        note_section(cfg, section, origin);
        char typevar[64];
        snprintf(typevar, sizeof(typevar), "FLEXIAI_PROVIDER_%.*s_TYPE",
                 (int)nd, rest);
        if (find_entry(cfg, section, "type") == NULL &&
            getenv(typevar) == NULL) {
            if (type == NULL)
                add_diag(cfg, 1,
                         "env %s: cannot tell the type of provider '%s' "
                         "(openai, anthropic, gemini, vertexai; or set %s)",
                         var, name, typevar);
            else
                set_entry(cfg, section, "type", type, origin);
        }
        if (type && strcmp(type, "vertex") == 0) {
            /* what the Google SDKs read */
            const char *pv[][2] = {{"project", "GOOGLE_CLOUD_PROJECT"},
                                   {"location", "GOOGLE_CLOUD_LOCATION"}};
            for (size_t i = 0; i < 2; i++) {
                const char *v = getenv(pv[i][1]);
                char o[64];
                snprintf(o, sizeof(o), "env %s", pv[i][1]);
                if (v && *v && find_entry(cfg, section, pv[i][0]) == NULL)
                    set_entry(cfg, section, pv[i][0], v, o);
            }
        }
        return 1;
    }
    for (size_t i = 0; i < NSCHEMA; i++) {
        if (strcmp(schema[i].section, "provider") != 0)
            continue;
        char up[128];
        env_name_part(up, sizeof(up), schema[i].key);
        if (strcmp(up, key) == 0) {
            note_section(cfg, section, origin);
            set_entry(cfg, section, schema[i].key, value, origin);
            return 1;
        }
    }
    add_diag(cfg, 1, "env %s: unknown provider key '%s'", var, key);
    return 1;
}

static void
read_env(flexiai_config *cfg)
{
    for (char **ep = environ; ep && *ep; ep++) {
        if (strncmp(*ep, "FLEXIAI_", 8) != 0)
            continue;
        const char *eq = strchr(*ep, '=');
        if (eq == NULL)
            continue;
        char var[256];
        size_t vlen = (size_t)(eq - *ep);
        if (vlen >= sizeof(var))
            continue;
        memcpy(var, *ep, vlen);
        var[vlen] = '\0';
        const char *value = eq + 1;
        const char *rest = var + 8;
        int matched = 0;
        for (int i = 0; fixed_sections[i]; i++) {
            char up[32];
            env_name_part(up, sizeof(up), fixed_sections[i]);
            size_t ul = strlen(up);
            if (strncmp(rest, up, ul) == 0 && rest[ul] == '_') {
                env_fixed_section(cfg, var, fixed_sections[i], rest + ul + 1,
                                  value);
                matched = 1;
                break;
            }
        }
        /* the Python FlexiAI's FLEXIAI_DEFAULT_TEMPERATURE and
         * FLEXIAI_DEFAULT_MAX_TOKENS: [defaults] under another name */
        if (!matched && strncmp(rest, "DEFAULT_", 8) == 0) {
            env_fixed_section(cfg, var, "defaults", rest + 8, value);
            matched = 1;
        }
        if (!matched && strncmp(rest, "PROVIDER_", 9) == 0) {
            if (!env_numbered_provider(cfg, var, rest + 9, value))
                env_provider(cfg, var, rest + 9, value);
            matched = 1;
        }
        if (!matched)
            env_unknown(cfg, var);
    }
}

/* One zero-config provider, named after its type, for key variable var. */
static void
implicit_provider(flexiai_config *cfg, const struct fx_provider_ops *ops,
                  const char *var, int *prio)
{
    char section[64], origin[64], prio_s[16];
    snprintf(section, sizeof(section), "provider.%s", ops->type);
    if (find_entry(cfg, section, "type"))
        return; /* GOOGLE_API_KEY after GEMINI_API_KEY */
    snprintf(origin, sizeof(origin), "env %s", var);
    snprintf(prio_s, sizeof(prio_s), "%d", (*prio)++);
    set_entry(cfg, section, "type", ops->type, origin);
    set_entry(cfg, section, "model", ops->default_model, origin);
    set_entry(cfg, section, "api_key_env", var, origin);
    set_entry(cfg, section, "priority", prio_s, origin);
    const char *base = ops->base_url_var ? getenv(ops->base_url_var) : NULL;
    if (base && *base) {
        snprintf(origin, sizeof(origin), "env %s", ops->base_url_var);
        set_entry(cfg, section, "base_url", base, origin);
    }
}

/* With no [provider.*] at all, the providers' standard key variables. */
static void
implicit_providers(flexiai_config *cfg)
{
    if (cfg->nsections > 0)
        return;
    int prio = 1;
    for (int i = 0; fx_providers[i]; i++) {
        const struct fx_provider_ops *ops = fx_providers[i];
        if (ops->key_vars == NULL || ops->default_model == NULL)
            continue;
        for (int k = 0; ops->key_vars[k]; k++) {
            const char *v = getenv(ops->key_vars[k]);
            if (v && *v)
                implicit_provider(cfg, ops, ops->key_vars[k], &prio);
        }
    }
}

/* ---- public: new / load / set ----------------------------------------- */

flexiai_config *
flexiai_config_new(void)
{
    return fxu_xcalloc(1, sizeof(flexiai_config));
}

static void
free_params(struct fx_params *p)
{
    free(p->system);
    if (p->stop) {
        for (char **s = p->stop; *s; s++)
            free(*s);
        free(p->stop);
    }
    memset(p, 0, sizeof(*p));
}

static void
free_provider(struct fx_provider *p)
{
    free(p->name);
    free(p->type);
    free(p->model);
    free(p->base_url);
    free(p->api_version);
    free(p->project);
    free(p->location);
    free(p->tls_ca);
    free(p->api_key_env);
    free(p->api_key_cmd);
    if (p->api_key) {
        memset(p->api_key, 0, strlen(p->api_key));
        free(p->api_key);
    }
    if (p->key) {
        memset(p->key, 0, strlen(p->key));
        free(p->key);
    }
    free(p->key_error);
    free_params(&p->params);
}

static void free_list(char **list);

static void
free_settings(struct fx_settings *s)
{
    free_params(&s->defaults);
    for (size_t i = 0; i < s->nproviders; i++)
        free_provider(&s->providers[i]);
    free(s->providers);
    struct fx_sync *y = &s->sync;
    free(y->redis_url);
    free(y->redis_host);
    if (y->redis_password) {
        memset(y->redis_password, 0, strlen(y->redis_password));
        free(y->redis_password);
    }
    free(y->redis_username);
    free(y->redis_unix);
    free(y->redis_tls_ca);
    free(y->redis_tls_cert);
    free(y->redis_tls_key);
    free(y->redis_tls_server_name);
    free_list(y->redis_sentinels);
    free(y->redis_sentinel_master);
    free(y->redis_sentinel_user);
    if (y->redis_sentinel_password) {
        memset(y->redis_sentinel_password, 0,
               strlen(y->redis_sentinel_password));
        free(y->redis_sentinel_password);
    }
    free(y->key_prefix);
    free(y->channel);
    free(y->worker_id);
    free(y->state_dir);
    memset(s, 0, sizeof(*s));
}

static void
free_shown(flexiai_config *cfg)
{
    for (size_t i = 0; i < cfg->nshown_strings; i++)
        free(cfg->shown_strings[i]);
    free(cfg->shown_strings);
    free(cfg->shown);
    cfg->shown = NULL;
    cfg->shown_strings = NULL;
    cfg->nshown = cfg->nshown_strings = 0;
}

void
flexiai_config_free(flexiai_config *cfg)
{
    if (cfg == NULL)
        return;
    fxu_buf_free(&cfg->sources);
    for (size_t i = 0; i < cfg->nentries; i++) {
        struct entry *e = &cfg->entries[i];
        free(e->section);
        free(e->key);
        if (e->value) {
            memset(e->value, 0, strlen(e->value));
            free(e->value);
        }
        free(e->origin);
    }
    free(cfg->entries);
    for (size_t i = 0; i < cfg->nsections; i++) {
        free(cfg->sections[i].name);
        free(cfg->sections[i].where);
    }
    free(cfg->sections);
    for (size_t i = 0; i < cfg->ndiags; i++)
        free((char *)cfg->diags[i].text);
    free(cfg->diags);
    free_settings(&cfg->settings);
    free_shown(cfg);
    free(cfg->provider_names);
    free(cfg);
}

static int
has_errors(const flexiai_config *cfg)
{
    for (size_t i = 0; i < cfg->ndiags; i++)
        if (cfg->diags[i].is_error)
            return 1;
    return 0;
}

static void
note_source(flexiai_config *cfg, const char *path)
{
    fxu_buf_printf(&cfg->sources, "%s%s%s", cfg->sources.len ? ", " : "", path,
                   access(path, F_OK) == 0 ? "" : " (not found)");
}

const char *
flexiai_config_sources(const flexiai_config *cfg)
{
    return cfg->sources.data ? cfg->sources.data : "";
}

flexiai_code
flexiai_config_load(flexiai_config *cfg, const char *sysconf_path,
                    const char *path)
{
    char buf[PATH_MAX];
    if (sysconf_path == NULL) {
        snprintf(buf, sizeof(buf), "%s/flexiai/config.ini", SYSCONFDIR);
        sysconf_path = buf;
    }
    read_file(cfg, sysconf_path, 0);
    note_source(cfg, sysconf_path);

    const char *env_path = getenv("FLEXIAI_CONFIG");
    if (path == NULL && env_path && *env_path)
        path = env_path;
    if (path) {
        read_file(cfg, path, 1);
    } else {
        const char *xdg = getenv("XDG_CONFIG_HOME");
        const char *home = getenv("HOME");
        if (xdg && *xdg == '/')
            snprintf(buf, sizeof(buf), "%s/flexiai/config.ini", xdg);
        else if (home && *home)
            snprintf(buf, sizeof(buf), "%s/.config/flexiai/config.ini", home);
        else
            buf[0] = '\0';
        if (buf[0]) {
            read_file(cfg, buf, 0);
            note_source(cfg, buf);
        } else {
            fxu_buf_printf(&cfg->sources,
                           "%sno user file (HOME and "
                           "XDG_CONFIG_HOME are unset)",
                           cfg->sources.len ? ", " : "");
        }
    }
    /* the standard key variables stand in for missing [provider.*]
     * sections; FLEXIAI_PROVIDER_* variables can then adjust them */
    implicit_providers(cfg);
    read_env(cfg);
    return has_errors(cfg) ? FLEXIAI_ECONFIG : FLEXIAI_OK;
}

flexiai_code
flexiai_config_set(flexiai_config *cfg, const char *section, const char *key,
                   const char *value)
{
    if (!known_section(section) || find_def(section, key) == NULL) {
        add_diag(cfg, 1, "flag: unknown setting %s.%s", section, key);
        return FLEXIAI_ECONFIG;
    }
    set_entry(cfg, section, key, value, "flag");
    return FLEXIAI_OK;
}

size_t
flexiai_config_ndiags(const flexiai_config *cfg)
{
    return cfg->ndiags;
}

const flexiai_diag *
flexiai_config_diag(const flexiai_config *cfg, size_t i)
{
    return i < cfg->ndiags ? &cfg->diags[i] : NULL;
}

/* ---- typed values ----------------------------------------------------- */

/* The effective raw value of section.key: entry, else the schema default
 * (provider sections fall back to nothing; callers merge [defaults]). */
static const char *
raw_value(const flexiai_config *cfg, const char *section, const char *key,
          const struct entry **from)
{
    const struct entry *e = find_entry(cfg, section, key);
    if (from)
        *from = e;
    if (e)
        return e->value;
    const struct key_def *d = find_def(section, key);
    return d ? d->def : NULL;
}

static const char *
where_of(const struct entry *e)
{
    return e ? e->origin : "default";
}

/* Parse and range-check a value; report against its origin.  Returns 0 on
 * success (out filled), -1 when reported. */
static int
check_value(flexiai_config *cfg, const struct key_def *d, const char *section,
            const char *value, const struct entry *e, double *num)
{
    const char *w = where_of(e);
    if (value == NULL)
        return 0;
    switch (d->type) {
    case KT_INT: {
        long v;
        if (fxu_parse_long(value, &v) != 0) {
            add_diag(cfg, 1, "%s: %s.%s: '%s' is not a whole number", w,
                     section, d->key, value);
            return -1;
        }
        if ((d->min != 0 || d->max != 0) && (v < d->min || v > d->max)) {
            add_diag(cfg, 1, "%s: %s.%s: %ld is out of range (%.15g to %.15g)",
                     w, section, d->key, v, d->min, d->max);
            return -1;
        }
        *num = (double)v;
        return 0;
    }
    case KT_NUMBER: {
        double v;
        if (fxu_parse_double(value, &v) != 0) {
            add_diag(cfg, 1, "%s: %s.%s: '%s' is not a number", w, section,
                     d->key, value);
            return -1;
        }
        if ((d->min != 0 || d->max != 0) && (v < d->min || v > d->max)) {
            /* the value as written: 2.0000001 must not read "2" */
            add_diag(cfg, 1, "%s: %s.%s: %s is out of range (%.15g to %.15g)",
                     w, section, d->key, value, d->min, d->max);
            return -1;
        }
        *num = v;
        return 0;
    }
    case KT_BOOL: {
        int b;
        if (fxu_parse_bool(value, &b) != 0) {
            add_diag(cfg, 1,
                     "%s: %s.%s: '%s' is not a boolean (yes/no, true/false, "
                     "on/off, 1/0)",
                     w, section, d->key, value);
            return -1;
        }
        *num = b;
        return 0;
    }
    case KT_ENUM: {
        const char *choices = d->choices ? d->choices : fx_provider_type_list();
        const char *c = choices;
        int idx = 0;
        while (c && *c) {
            const char *bar = strchr(c, '|');
            size_t n = bar ? (size_t)(bar - c) : strlen(c);
            if (strlen(value) == n && strncmp(value, c, n) == 0) {
                *num = idx;
                return 0;
            }
            idx++;
            c = bar ? bar + 1 : NULL;
        }
        if (strcmp(d->key, "type") == 0)
            add_diag(cfg, 1,
                     "%s: %s.%s: unknown provider type '%s' (one of %s)", w,
                     section, d->key, value, choices);
        else
            add_diag(cfg, 1, "%s: %s.%s: '%s' is not one of %s", w, section,
                     d->key, value, choices);
        return -1;
    }
    default:
        return 0;
    }
}

/* Split "a, b ,c" into a NULL-terminated array (NULL when empty). */
static char **
split_list(const char *value)
{
    if (value == NULL)
        return NULL;
    char *copy = fxu_strdup(value);
    char **out = NULL;
    size_t n = 0;
    for (char *tok = strtok(copy, ",\n"); tok; tok = strtok(NULL, ",\n")) {
        fxu_trim(tok);
        if (*tok == '\0')
            continue;
        out = fxu_xrealloc(out, (n + 2) * sizeof(*out));
        out[n++] = fxu_strdup(tok);
        out[n] = NULL;
    }
    free(copy);
    return out;
}

static void
free_list(char **list)
{
    if (list == NULL)
        return;
    for (char **s = list; *s; s++)
        free(*s);
    free(list);
}

/* The value, or the schema default; `fallback` only for keys the schema
 * gives no default (the "unset" of an optional key). */
static double
get_number_or(flexiai_config *cfg, const char *section, const char *key,
              double fallback)
{
    const struct entry *e;
    const char *v = raw_value(cfg, section, key, &e);
    const struct key_def *d = find_def(section, key);
    double num;
    if (v == NULL || d == NULL)
        return fallback;
    if (check_value(cfg, d, section, v, e, &num) != 0) {
        /* fall back to the schema default so later code has sane values */
        if (e && d->def && fxu_parse_double(d->def, &num) == 0)
            return num;
        if (e && d->def && fxu_parse_bool(d->def, (int[]){0}) == 0) {
            int b = 0;
            fxu_parse_bool(d->def, &b);
            return b;
        }
        return fallback;
    }
    return num;
}

/* A key the schema gives a default: that default is the only one. */
static double
get_number(flexiai_config *cfg, const char *section, const char *key)
{
    return get_number_or(cfg, section, key, 0);
}

static char *
get_string(flexiai_config *cfg, const char *section, const char *key)
{
    const char *v = raw_value(cfg, section, key, NULL);
    return (v && *v) ? fxu_strdup(v) : NULL;
}

/* A string that an empty value leaves at the schema default. */
static char *
get_string_or_default(flexiai_config *cfg, const char *section, const char *key)
{
    char *v = get_string(cfg, section, key);
    const struct key_def *d = find_def(section, key);
    if (v == NULL && d && d->def)
        v = fxu_strdup(d->def);
    return v;
}

/* A [defaults] value given on the command line beats every provider's. */
static int
flag_default(const flexiai_config *cfg, const char *key)
{
    const struct entry *e = find_entry(cfg, "defaults", key);
    return e && strcmp(e->origin, "flag") == 0;
}

/* Params for `section`, each unset one inherited from `base`. */
static void
read_params(flexiai_config *cfg, const char *section,
            const struct fx_params *base, struct fx_params *p)
{
#define NUM_PARAM(field, key, unset)                                           \
    do {                                                                       \
        const struct entry *e_;                                                \
        const char *v_ = raw_value(cfg, section, key, &e_);                    \
        if (base && (e_ == NULL || flag_default(cfg, key)))                    \
            p->field = base->field;                                            \
        else if (v_ == NULL)                                                   \
            p->field = unset;                                                  \
        else                                                                   \
            p->field = get_number_or(cfg, section, key, unset);                \
    } while (0)
    NUM_PARAM(temperature, "temperature", -1);
    NUM_PARAM(max_tokens, "max_tokens", 0);
    NUM_PARAM(top_p, "top_p", -1);
    NUM_PARAM(top_k, "top_k", 0);
    NUM_PARAM(timeout, "timeout", 120);
    NUM_PARAM(connect_timeout, "connect_timeout", 10);
    NUM_PARAM(idle_timeout, "idle_timeout", 60);
    NUM_PARAM(max_response_bytes, "max_response_bytes", 0);
#undef NUM_PARAM
    const struct entry *e;
    const char *sys = raw_value(cfg, section, "system", &e);
    if (base && (e == NULL || flag_default(cfg, "system")))
        p->system = fxu_strdup(base->system);
    else
        p->system = (sys && *sys) ? fxu_strdup(sys) : NULL;
    const char *stop = raw_value(cfg, section, "stop", &e);
    if (base && (e == NULL || flag_default(cfg, "stop"))) {
        p->stop = NULL;
        if (base->stop) {
            size_t n = 0;
            while (base->stop[n])
                n++;
            p->stop = fxu_xcalloc(n + 1, sizeof(char *));
            for (size_t i = 0; i < n; i++)
                p->stop[i] = fxu_strdup(base->stop[i]);
        }
    } else {
        p->stop = split_list(stop);
    }
}

/* The highest database number redis_url and redis_db accept (Redis's own
 * default is 16 databases; servers configured with more are rare, and a
 * number above this is a typo). */
#define REDIS_DB_MAX 100000

/*
 * redis://[[user]:password@]host[:port][/db], rediss://... (TLS),
 * unix:///path[?db=N].  Rejected: no host (redis://, redis://u:p@), an
 * unclosed IPv6 bracket, a port or database that is not a number in
 * range, anything after the database number.  *why never holds the URL
 * (it may hold a password).
 */
static int
parse_redis_url(const char *url, struct fx_sync *y, char **why)
{
    const char *rest;
    if (strncmp(url, "unix://", 7) == 0) {
        rest = url + 7;
        const char *q = strchr(rest, '?');
        size_t n = q ? (size_t)(q - rest) : strlen(rest);
        if (n == 0 || rest[0] != '/') {
            *why = fxu_strdup("unix:// needs an absolute socket path");
            return -1;
        }
        free(y->redis_unix);
        y->redis_unix = fxu_strndup(rest, n);
        if (q) {
            long db;
            if (strncmp(q, "?db=", 4) != 0 || fxu_parse_long(q + 4, &db) != 0 ||
                db < 0 || db > REDIS_DB_MAX) {
                *why = fxu_asprintf("unix:// query must be ?db=N (0 to %d)",
                                    REDIS_DB_MAX);
                return -1;
            }
            y->redis_db = db;
        }
        return 0;
    }
    if (strncmp(url, "redis://", 8) == 0) {
        rest = url + 8;
    } else if (strncmp(url, "rediss://", 9) == 0) {
        rest = url + 9;
        y->redis_ssl = 1;
    } else {
        *why = fxu_strdup("scheme must be redis://, rediss:// or unix://");
        return -1;
    }
    /* the authority ends at the first '/' after the last '@' */
    const char *at = strrchr(rest, '@');
    const char *hostpart = at ? at + 1 : rest;
    const char *slash = strchr(hostpart, '/');
    size_t hlen = slash ? (size_t)(slash - hostpart) : strlen(hostpart);
    char *hp = fxu_strndup(hostpart, hlen);
    char *host = hp, *portstr = NULL;
    if (hp[0] == '[') {
        char *close = strchr(hp, ']');
        if (close == NULL || close == hp + 1) {
            free(hp);
            *why = fxu_strdup(close ? "empty IPv6 address"
                                    : "unclosed '[' in the host");
            return -1;
        }
        if (close[1] != '\0' && close[1] != ':') {
            free(hp);
            *why = fxu_strdup("unexpected text after ']'");
            return -1;
        }
        *close = '\0';
        host = hp + 1;
        portstr = close[1] == ':' ? close + 2 : NULL;
    } else {
        char *colon = strchr(hp, ':');
        if (colon && strchr(colon + 1, ':')) {
            free(hp);
            *why = fxu_strdup("an IPv6 address must be written in [brackets]");
            return -1;
        }
        if (colon) {
            *colon = '\0';
            portstr = colon + 1;
        }
    }
    if (*host == '\0') {
        free(hp);
        *why = fxu_strdup("no host");
        return -1;
    }
    if (strpbrk(host, " \t[]@?#")) {
        free(hp);
        *why = fxu_strdup("bad character in the host");
        return -1;
    }
    if (portstr) {
        long port;
        if (fxu_parse_long(portstr, &port) != 0 || port < 1 || port > 65535) {
            free(hp);
            *why = fxu_strdup("bad port (1 to 65535)");
            return -1;
        }
        y->redis_port = port;
    }
    free(y->redis_host);
    y->redis_host = fxu_strdup(host);
    free(hp);
    if (at) {
        const char *colon = memchr(rest, ':', (size_t)(at - rest));
        if (colon) {
            if (colon > rest) {
                free(y->redis_username);
                y->redis_username = fxu_strndup(rest, (size_t)(colon - rest));
            }
            free(y->redis_password);
            y->redis_password =
                fxu_strndup(colon + 1, (size_t)(at - colon - 1));
        } else {
            /* redis://password@host is how some clients write it */
            free(y->redis_password);
            y->redis_password = fxu_strndup(rest, (size_t)(at - rest));
        }
    }
    if (slash && slash[1]) {
        long db;
        if (fxu_parse_long(slash + 1, &db) != 0 || db < 0 ||
            db > REDIS_DB_MAX) {
            *why = fxu_asprintf("bad database number (0 to %d)", REDIS_DB_MAX);
            return -1;
        }
        y->redis_db = db;
    }
    return 0;
}

static char *
default_state_dir(void)
{
    const char *xdg = getenv("XDG_STATE_HOME");
    const char *home = getenv("HOME");
    if (xdg && *xdg == '/')
        return fxu_asprintf("%s/flexiai", xdg);
    if (home && *home)
        return fxu_asprintf("%s/.local/state/flexiai", home);
    return fxu_asprintf("/tmp/flexiai-%ld", (long)getuid());
}

static char *
default_worker_id(void)
{
    char host[256];
    if (gethostname(host, sizeof(host)) != 0)
        snprintf(host, sizeof(host), "localhost");
    host[sizeof(host) - 1] = '\0';
    return fxu_asprintf("%s:%ld:%lld", host, (long)getpid(),
                        (long long)(fxu_wallclock() * 1000.0));
}

/* The one wait bounding every Redis step: redis_timeout when given, else
 * the larger of the Python FlexiAI's two timeouts when either is given,
 * else the schema's default. */
static double
sync_timeout(flexiai_config *cfg, struct fx_sync *y)
{
    y->redis_socket_timeout =
        get_number_or(cfg, "sync", "redis_socket_timeout", 0);
    y->redis_socket_connect_timeout =
        get_number_or(cfg, "sync", "redis_socket_connect_timeout", 0);
    double t = get_number(cfg, "sync", "redis_timeout");
    if (find_entry(cfg, "sync", "redis_timeout") == NULL &&
        (y->redis_socket_timeout > 0 || y->redis_socket_connect_timeout > 0))
        t = y->redis_socket_timeout > y->redis_socket_connect_timeout
                ? y->redis_socket_timeout
                : y->redis_socket_connect_timeout;
    return t;
}

/* TLS and Sentinel: checked here so `config check` names the line. */
static void
read_sync_production(flexiai_config *cfg, struct fx_sync *y)
{
    y->redis_tls_ca = get_string(cfg, "sync", "redis_tls_ca");
    y->redis_tls_cert = get_string(cfg, "sync", "redis_tls_cert");
    y->redis_tls_key = get_string(cfg, "sync", "redis_tls_key");
    y->redis_tls_server_name = get_string(cfg, "sync", "redis_tls_server_name");
    y->redis_tls_insecure = (int)get_number(cfg, "sync", "redis_tls_insecure");
    y->redis_sentinels =
        split_list(raw_value(cfg, "sync", "redis_sentinels", NULL));
    y->redis_sentinel_master = get_string(cfg, "sync", "redis_sentinel_master");
    y->redis_sentinel_user = get_string(cfg, "sync", "redis_sentinel_user");
    y->redis_sentinel_password =
        get_string(cfg, "sync", "redis_sentinel_password");

    const struct entry *e;
    if ((y->redis_tls_cert != NULL) != (y->redis_tls_key != NULL)) {
        e = find_entry(cfg, "sync",
                       y->redis_tls_cert ? "redis_tls_cert" : "redis_tls_key");
        add_diag(cfg, 1,
                 "%s: sync: redis_tls_cert and redis_tls_key go together "
                 "(a client certificate and its key)",
                 where_of(e));
    }
    const char *const paths[] = {"redis_tls_ca", "redis_tls_cert",
                                 "redis_tls_key"};
    for (size_t i = 0; i < 3; i++) {
        const char *v = raw_value(cfg, "sync", paths[i], &e);
        if (v && *v && access(v, R_OK) != 0)
            add_diag(cfg, y->backend == FX_BACKEND_REDIS,
                     "%s: sync.%s: cannot read %s: %s", where_of(e), paths[i],
                     v, strerror(errno));
    }
    if (y->redis_tls_insecure && y->backend == FX_BACKEND_REDIS &&
        (y->redis_ssl || y->redis_sentinels)) {
        e = find_entry(cfg, "sync", "redis_tls_insecure");
        add_diag(cfg, 0,
                 "%s: sync.redis_tls_insecure: the Redis server's certificate "
                 "is not verified",
                 where_of(e));
    }
    if (y->redis_sentinels && y->redis_sentinel_master == NULL) {
        e = find_entry(cfg, "sync", "redis_sentinels");
        add_diag(cfg, 1,
                 "%s: sync: redis_sentinels needs redis_sentinel_master",
                 where_of(e));
    } else if (y->redis_sentinels == NULL && y->redis_sentinel_master) {
        e = find_entry(cfg, "sync", "redis_sentinel_master");
        add_diag(cfg, 1,
                 "%s: sync: redis_sentinel_master needs redis_sentinels",
                 where_of(e));
    }
    for (char **a = y->redis_sentinels; a && *a; a++) {
        const char *v = *a, *colon = NULL;
        int ok = 1;
        if (v[0] == '[') {
            const char *close = strchr(v, ']');
            ok =
                close && close > v + 1 && (close[1] == '\0' || close[1] == ':');
            colon = ok && close[1] == ':' ? close + 1 : NULL;
        } else {
            colon = strrchr(v, ':');
            ok = colon != v && strchr(v, ':') == colon;
        }
        long port = 26379;
        if (ok && colon)
            ok = fxu_parse_long(colon + 1, &port) == 0 && port >= 1 &&
                 port <= 65535;
        if (!ok) {
            e = find_entry(cfg, "sync", "redis_sentinels");
            add_diag(cfg, 1,
                     "%s: sync.redis_sentinels: '%s' is not HOST:PORT "
                     "([IPv6]:PORT)",
                     where_of(e), v);
        }
    }
}

static void
read_sync(flexiai_config *cfg, struct fx_sync *y)
{
    y->backend = (int)get_number(cfg, "sync", "backend");
    if (y->backend > FX_BACKEND_REDIS) /* "memory": the Python one-process
                                          store; ours is the file */
        y->backend = FX_BACKEND_FILE;
    /* the Python FlexiAI's switch: enabled with no backend given means
     * Redis (its default); disabled means no shared state */
    const struct entry *en = find_entry(cfg, "sync", "enabled");
    if (en && en->value && *en->value) {
        int on = (int)get_number_or(cfg, "sync", "enabled", 0);
        if (!on)
            y->backend = FX_BACKEND_FILE;
        else if (find_entry(cfg, "sync", "backend") == NULL)
            y->backend = FX_BACKEND_REDIS;
    }
    y->redis_host = get_string_or_default(cfg, "sync", "redis_host");
    y->redis_port = (long)get_number(cfg, "sync", "redis_port");
    y->redis_db = (long)get_number(cfg, "sync", "redis_db");
    y->redis_password = get_string(cfg, "sync", "redis_password");
    y->redis_username = get_string(cfg, "sync", "redis_username");
    y->redis_ssl = (int)get_number(cfg, "sync", "redis_ssl");
    y->redis_timeout = sync_timeout(cfg, y);
    y->key_prefix = get_string_or_default(cfg, "sync", "key_prefix");
    y->channel = get_string_or_default(cfg, "sync", "channel");
    y->state_ttl = (long)get_number(cfg, "sync", "state_ttl");
    y->worker_id = get_string(cfg, "sync", "worker_id");
    if (y->worker_id == NULL)
        y->worker_id = default_worker_id();
    y->publish_outcomes = (int)get_number(cfg, "sync", "publish_outcomes");
    y->state_dir = default_state_dir();

    const struct entry *e;
    const char *url = raw_value(cfg, "sync", "redis_url", &e);
    if (url && *url) {
        char *why = NULL;
        y->redis_url = fxu_strdup(url);
        if (parse_redis_url(url, y, &why) != 0) {
            /* never echo the URL: it may hold the password */
            add_diag(cfg, 1, "%s: sync.redis_url: malformed (%s)", where_of(e),
                     why);
            free(why);
        }
    }
    read_sync_production(cfg, y);
}

/* Check every entry of the fixed sections for type and range. */
static void
check_all_entries(flexiai_config *cfg)
{
    for (size_t i = 0; i < cfg->nentries; i++) {
        const struct entry *e = &cfg->entries[i];
        const struct key_def *d = find_def(e->section, e->key);
        double num;
        if (d)
            check_value(cfg, d, e->section, e->value, e, &num);
    }
}

static int
provider_cmp(const void *a, const void *b)
{
    const struct fx_provider *x = a, *y = b;
    /* providers with a priority first, lower number first; then file order */
    int xp = x->priority != 0, yp = y->priority != 0;
    if (xp != yp)
        return yp - xp;
    if (xp && x->priority != y->priority)
        return x->priority < y->priority ? -1 : 1;
    return x->file_order - y->file_order;
}

/* [provider.*] schema_mode as enum fx_schema_mode (checked elsewhere). */
static int
read_schema_mode(flexiai_config *cfg, const char *sec)
{
    static const char *const modes[] = {"native", "tool", "json", "prompt"};
    const char *v = raw_value(cfg, sec, "schema_mode", NULL);
    for (int i = 0; v && i < 4; i++)
        if (strcmp(v, modes[i]) == 0)
            return i;
    return FX_SCHEMA_NATIVE;
}

/* http:// or https://, then a host (a name, an address or [v6]) */
static int
base_url_ok(const char *url)
{
    const char *h;
    if (strncmp(url, "http://", 7) == 0)
        h = url + 7;
    else if (strncmp(url, "https://", 8) == 0)
        h = url + 8;
    else
        return 0;
    for (const unsigned char *c = (const unsigned char *)url; *c; c++)
        if (*c <= 0x20 || *c == 0x7f)
            return 0; /* blanks and control characters: never a URL */
    const char *at = h + strcspn(h, "/?#");
    const char *cred = memchr(h, '@', (size_t)(at - h));
    if (cred)
        h = cred + 1; /* user:password@ */
    if (h == at || *h == ':')
        return 0; /* no host */
    if (*h == '[') {
        const char *close = memchr(h, ']', (size_t)(at - h));
        if (close == NULL || close == h + 1)
            return 0;
        h = close + 1;
        if (h != at && *h != ':')
            return 0;
    }
    const char *colon = *h == ':' ? h : memchr(h, ':', (size_t)(at - h));
    if (colon) { /* a port: digits, 1 to 65535 */
        long port = 0;
        if (colon + 1 == at)
            return 0;
        for (const char *c = colon + 1; c < at; c++) {
            if (!isdigit((unsigned char)*c) || port > 65535)
                return 0;
            port = port * 10 + (*c - '0');
        }
        if (port < 1 || port > 65535)
            return 0;
    }
    return 1;
}

static void
read_providers(flexiai_config *cfg, struct fx_settings *s)
{
    s->providers = fxu_xcalloc(cfg->nsections + 1, sizeof(struct fx_provider));
    for (size_t i = 0; i < cfg->nsections; i++) {
        const char *sec = cfg->sections[i].name;
        struct fx_provider *p = &s->providers[s->nproviders++];
        p->name = fxu_strdup(sec + 9);
        p->file_order = (int)i;
        p->type = get_string(cfg, sec, "type");
        p->model = get_string(cfg, sec, "model");
        p->priority = (long)get_number_or(cfg, sec, "priority", 0);
        p->base_url = get_string(cfg, sec, "base_url");
        p->api_version = get_string(cfg, sec, "api_version");
        p->project = get_string(cfg, sec, "project");
        p->location = get_string(cfg, sec, "location");
        p->insecure = (int)get_number_or(cfg, sec, "insecure", 0);
        p->tls_ca = get_string(cfg, sec, "tls_ca");
        p->rpm = (long)get_number_or(cfg, sec, "rpm", 0);
        p->tpm = (long)get_number_or(cfg, sec, "tpm", 0);
        p->max_concurrency =
            (long)get_number_or(cfg, sec, "max_concurrency", 0);
        p->schema_mode = read_schema_mode(cfg, sec);
        p->api_key_env = get_string(cfg, sec, "api_key_env");
        p->api_key_cmd = get_string(cfg, sec, "api_key_cmd");
        p->api_key_timeout = get_number(cfg, sec, "api_key_timeout");
        p->api_key = get_string(cfg, sec, "api_key");
        read_params(cfg, sec, &s->defaults, &p->params);
        p->ops = fx_provider_ops_find(p->type);
        if (p->type == NULL) {
            add_diag(cfg, 1, "%s: [%s] has no type (one of %s)",
                     cfg->sections[i].where, sec, fx_provider_type_list());
        }
        if (p->model == NULL)
            add_diag(cfg, 1, "%s: [%s] has no model", cfg->sections[i].where,
                     sec);
        if (p->tls_ca && *p->tls_ca && access(p->tls_ca, R_OK) != 0) {
            const struct entry *ce = find_entry(cfg, sec, "tls_ca");
            add_diag(cfg, 1, "%s: [%s] tls_ca: cannot read %s: %s",
                     where_of(ce), sec, p->tls_ca, strerror(errno));
        }
        if (p->insecure) {
            const struct entry *ie = find_entry(cfg, sec, "insecure");
            add_diag(cfg, 0,
                     "%s: warning: [%s] insecure = yes: TLS certificates are "
                     "not verified",
                     where_of(ie), sec);
        }
        for (int k = 0; p->ops && p->ops->required && p->ops->required[k];
             k++) {
            const char *v = raw_value(cfg, sec, p->ops->required[k], NULL);
            if (v == NULL || *v == '\0')
                add_diag(cfg, 1, "%s: [%s] %s needs %s", cfg->sections[i].where,
                         sec, p->type, p->ops->required[k]);
        }
        int ctl = 0;
        for (const unsigned char *c = (const unsigned char *)p->name; *c; c++)
            if (*c < 0x20 || *c == 0x7f)
                ctl = 1;
        if (ctl)
            /* the name is not echoed: it would reach a terminal raw */
            add_diag(cfg, 1,
                     "%s: a provider name may not contain control characters",
                     cfg->sections[i].where);
        else if (strchr(p->name, '/') || p->name[0] == '.' ||
                 p->name[0] == '\0')
            add_diag(cfg, 1,
                     "%s: [%s]: provider names may not contain '/' "
                     "or start with '.'",
                     cfg->sections[i].where, sec);
        if (p->base_url && !base_url_ok(p->base_url))
            add_diag(cfg, 1,
                     "%s: %s.base_url: '%s' is not an http:// or https:// URL "
                     "with a host",
                     where_of(find_entry(cfg, sec, "base_url")), sec,
                     p->base_url);
    }
    qsort(s->providers, s->nproviders, sizeof(*s->providers), provider_cmp);

    /* [failover] order: the named providers first, in that order. */
    const struct entry *oe;
    const char *order = raw_value(cfg, "failover", "order", &oe);
    char **names = split_list(order);
    size_t placed = 0;
    for (size_t k = 0; names && names[k]; k++) {
        size_t j;
        for (j = placed; j < s->nproviders; j++)
            if (strcmp(s->providers[j].name, names[k]) == 0)
                break;
        if (j == s->nproviders) {
            int earlier = 0;
            for (size_t m = 0; m < placed; m++)
                if (strcmp(s->providers[m].name, names[k]) == 0)
                    earlier = 1;
            if (!earlier)
                add_diag(cfg, 1, "%s: failover.order: no provider named '%s'",
                         where_of(oe), names[k]);
            continue;
        }
        struct fx_provider tmp = s->providers[j];
        memmove(&s->providers[placed + 1], &s->providers[placed],
                (j - placed) * sizeof(tmp));
        s->providers[placed++] = tmp;
    }
    free_list(names);
}

static unsigned
read_count_mask(flexiai_config *cfg)
{
    const struct entry *e;
    const char *v = raw_value(cfg, "breaker", "count", &e);
    char **names = split_list(v);
    unsigned mask = 0;
    for (size_t i = 0; names && names[i]; i++) {
        flexiai_errclass cls = FLEXIAI_E_NONE;
        flexiai_errclass_from_name(names[i], &cls);
        /* invalid_output (a model's mistake, not an outage) counts only
         * when listed here */
        if (cls == FLEXIAI_E_NONE ||
            (cls >= FLEXIAI_E_BREAKER_OPEN && cls != FLEXIAI_E_INVALID_OUTPUT))
            add_diag(cfg, 1, "%s: breaker.count: unknown error class '%s'",
                     where_of(e), names[i]);
        else
            mask |= 1u << cls;
    }
    free_list(names);
    return mask;
}

/* "FILE:LINE: ..." -> FILE length and LINE; 0 when not of that form */
static size_t
diag_place(const char *text, long *line)
{
    for (const char *p = text; *p; p++) {
        if (*p != ':' || p[1] < '0' || p[1] > '9')
            continue;
        char *end;
        long n = strtol(p + 1, &end, 10);
        if (*end == ':') {
            *line = n;
            return (size_t)(p - text);
        }
    }
    return 0;
}

static int
diag_before(const flexiai_diag *a, const flexiai_diag *b)
{
    long la = 0, lb = 0;
    size_t fa = diag_place(a->text, &la), fb = diag_place(b->text, &lb);
    if (fa == 0 || fb == 0)
        return fa != 0 && fb == 0; /* file problems before env ones */
    int c = strncmp(a->text, b->text, fa < fb ? fa : fb);
    if (c != 0 || fa != fb)
        return 0; /* different files keep their reading order */
    return la < lb;
}

/* Order problems by file and line, as a reader goes through the file. */
static void
sort_diags(flexiai_config *cfg)
{
    for (size_t i = 1; i < cfg->ndiags; i++) {
        flexiai_diag d = cfg->diags[i];
        size_t j = i;
        while (j > 0 && diag_before(&d, &cfg->diags[j - 1])) {
            cfg->diags[j] = cfg->diags[j - 1];
            j--;
        }
        cfg->diags[j] = d;
    }
}

flexiai_code
flexiai_config_validate(flexiai_config *cfg, int resolve_secrets)
{
    free_settings(&cfg->settings);
    free_shown(cfg);
    struct fx_settings *s = &cfg->settings;

    check_all_entries(cfg);
    read_params(cfg, "defaults", NULL, &s->defaults);
    s->stream_mode = (int)get_number(cfg, "defaults", "stream");
    s->on_stream_error = (int)get_number(cfg, "defaults", "on_stream_error");
    s->retries = (long)get_number(cfg, "failover", "retries");
    s->backoff_base = get_number(cfg, "failover", "backoff_base");
    s->backoff_max = get_number(cfg, "failover", "backoff_max");
    s->retry_after_max = get_number(cfg, "failover", "retry_after_max");
    s->limit_wait_max = get_number(cfg, "failover", "limit_wait_max");
    s->limit_window = get_number(cfg, "failover", "limit_window");
    s->failover_on_bad_request =
        (int)get_number(cfg, "failover", "failover_on_bad_request");
    s->failure_threshold =
        (long)get_number(cfg, "breaker", "failure_threshold");
    s->recovery_timeout = get_number(cfg, "breaker", "recovery_timeout");
    s->max_open = get_number(cfg, "breaker", "max_open");
    s->half_open_max_calls =
        (long)get_number(cfg, "breaker", "half_open_max_calls");
    s->probe_timeout =
        get_number_or(cfg, "breaker", "probe_timeout",
                      s->defaults.timeout + s->defaults.connect_timeout);
    s->count_mask = read_count_mask(cfg);
    read_sync(cfg, &s->sync);
    if (s->sync.redis_password)
        fx_secret_in_memory(); /* from the environment, say */
    read_providers(cfg, s);

    if (resolve_secrets) {
        for (size_t i = 0; i < s->nproviders; i++) {
            const char *key;
            char *err = NULL;
            struct fx_provider *p = &s->providers[i];
            if (p->ops == NULL)
                continue;
            if (fx_provider_key(p, &key, &err) != 0) {
                char sec[300];
                snprintf(sec, sizeof(sec), "provider.%s", p->name);
                const struct entry *e = find_entry(cfg, sec, "api_key_cmd");
                if (e == NULL)
                    e = find_entry(cfg, sec, "api_key_env");
                const char *where = where_of(e);
                for (size_t k = 0; e == NULL && k < cfg->nsections; k++)
                    if (strcmp(cfg->sections[k].name, sec) == 0)
                        where = cfg->sections[k].where;
                add_diag(cfg, 1, "%s: %s", where, err);
                free(err);
            }
        }
    }
    free(cfg->provider_names);
    cfg->provider_names = fxu_xcalloc(s->nproviders + 1, sizeof(char *));
    for (size_t i = 0; i < s->nproviders; i++)
        cfg->provider_names[i] = s->providers[i].name;
    cfg->nprovider_names = s->nproviders;
    cfg->validated = 1;
    sort_diags(cfg);
    return has_errors(cfg) ? FLEXIAI_ECONFIG : FLEXIAI_OK;
}

const struct fx_settings *
fx_config_settings(const flexiai_config *cfg)
{
    return &cfg->settings;
}

struct fx_provider *
fx_settings_provider(const struct fx_settings *s, const char *name)
{
    for (size_t i = 0; i < s->nproviders; i++)
        if (strcmp(s->providers[i].name, name) == 0)
            return &s->providers[i];
    return NULL;
}

size_t
flexiai_config_providers(const flexiai_config *cfg, const char *const **names)
{
    *names = (const char *const *)cfg->provider_names;
    return cfg->nprovider_names;
}

/* ---- secrets ---------------------------------------------------------- */

/* The type's key variable: the first one set, else the last one named
 * (so that a message names GOOGLE_API_KEY when neither Gemini one is set).
 * NULL for a type that has none. */
static const char *
standard_key_var(const struct fx_provider_ops *ops)
{
    if (ops == NULL || ops->key_vars == NULL || ops->key_vars[0] == NULL)
        return NULL;
    int k = 0;
    for (; ops->key_vars[k]; k++)
        if (getenv(ops->key_vars[k]))
            return ops->key_vars[k];
    return ops->key_vars[k - 1];
}

int
fx_provider_key(struct fx_provider *p, const char **key, char **err)
{
    if (p->key_state == 1) {
        *key = p->key;
        return 0;
    }
    if (p->key_state == -1) {
        *err = fxu_strdup(p->key_error);
        return -1;
    }
    char *value = NULL;
    char *why = NULL;
    if (p->api_key_cmd) {
        int status = 0;
        int rc = fx_run_key_cmd(
            p->api_key_cmd, p->api_key_timeout > 0 ? p->api_key_timeout : 10,
            &value, &status);
        if (rc == -2)
            why = fxu_asprintf(
                "provider '%s': api_key_cmd timed out after "
                "%gs (api_key_timeout)",
                p->name, p->api_key_timeout > 0 ? p->api_key_timeout : 10);
        else if (rc == -3) {
            /* not remembered: the next request may run it again */
            *err =
                fxu_asprintf("provider '%s': api_key_cmd interrupted", p->name);
            return -1;
        } else if (rc != 0)
            why = fxu_asprintf("provider '%s': api_key_cmd could not be run",
                               p->name);
        else if (status != 0)
            why = fxu_asprintf(
                "provider '%s': api_key_cmd failed (exit status %d)", p->name,
                status);
        else if (value[0] == '\0')
            why = fxu_asprintf("provider '%s': api_key_cmd printed no key",
                               p->name);
    } else if (p->api_key) {
        value = fxu_strdup(p->api_key);
    } else {
        const char *var = p->api_key_env;
        int explicit_var = var != NULL;
        if (var == NULL)
            var = standard_key_var(p->ops);
        const char *v = var ? getenv(var) : NULL;
        if (v && *v) {
            value = fxu_strdup(v);
        } else if (explicit_var) {
            why = fxu_asprintf("provider '%s': api_key_env %s is not set",
                               p->name, var);
        } else if (p->type && !(p->ops && p->ops->key_optional)) {
            /* OpenAI-compatible local servers need no key; others do. */
            if (var)
                why = fxu_asprintf("provider '%s': no API key (set %s, or "
                                   "api_key_env / api_key_cmd)",
                                   p->name, var);
            else
                why = fxu_asprintf("provider '%s': no API key (set "
                                   "api_key_cmd, api_key_env or api_key)",
                                   p->name);
        }
    }
    if (why) {
        if (value) {
            memset(value, 0, strlen(value));
            free(value);
        }
        p->key_state = -1;
        p->key_error = why;
        *err = fxu_strdup(why);
        return -1;
    }
    p->key = value; /* may be NULL: keyless server */
    p->key_state = 1;
    if (value)
        fx_secret_in_memory();
    *key = p->key;
    return 0;
}

/* ---- show ------------------------------------------------------------- */

static const char *
keep(flexiai_config *cfg, char *s)
{
    cfg->shown_strings = fxu_xrealloc(
        cfg->shown_strings, (cfg->nshown_strings + 1) * sizeof(char *));
    cfg->shown_strings[cfg->nshown_strings++] = s;
    return s;
}

static const char *
masked(flexiai_config *cfg, const char *key, const char *value)
{
    if (value == NULL || *value == '\0')
        return "";
    if (strcmp(key, "redis_url") == 0) {
        /* keep the address visible, hide the password */
        const char *scheme = strstr(value, "://");
        const char *at = strrchr(value, '@');
        if (scheme && at && at > scheme) {
            const char *colon =
                memchr(scheme + 3, ':', (size_t)(at - scheme - 3));
            fxu_buf b;
            fxu_buf_init(&b);
            if (colon) {
                fxu_buf_append(&b, value, (size_t)(colon - value) + 1);
                fxu_buf_puts(&b, "****");
            } else {
                fxu_buf_append(&b, value, (size_t)(scheme - value) + 3);
                fxu_buf_puts(&b, "****");
            }
            fxu_buf_puts(&b, at);
            return keep(cfg, fxu_buf_steal(&b));
        }
        /* no credentials in it, or not a URL we understand: then all of
         * it may be a secret */
        return strchr(value, '@') ? "****" : value;
    }
    return "****";
}

static void
show_add(flexiai_config *cfg, const char *section, const char *key,
         const char *value, const char *origin, int secret)
{
    cfg->shown =
        fxu_xrealloc(cfg->shown, (cfg->nshown + 1) * sizeof(*cfg->shown));
    flexiai_config_entry *s = &cfg->shown[cfg->nshown++];
    s->section = section;
    s->key = key;
    s->value = secret ? masked(cfg, key, value) : (value ? value : "");
    s->origin = origin;
    s->is_secret = secret;
}

/* A redis_url sets host, port, db, user and password: config show says
 * so, with the URL as their origin, instead of the unused defaults. */
static int
url_implies(const flexiai_config *cfg, const char *key, char *val, size_t vsize,
            char *origin, size_t osize)
{
    const struct entry *u = find_entry(cfg, "sync", "redis_url");
    const struct fx_sync *y = &cfg->settings.sync;
    if (!cfg->validated || u == NULL || u->value == NULL || !*u->value)
        return 0;
    if (strcmp(key, "redis_host") == 0 && y->redis_host && !y->redis_unix)
        snprintf(val, vsize, "%s", y->redis_host);
    else if (strcmp(key, "redis_port") == 0 && !y->redis_unix)
        snprintf(val, vsize, "%ld", y->redis_port);
    else if (strcmp(key, "redis_db") == 0)
        snprintf(val, vsize, "%ld", y->redis_db);
    else if (strcmp(key, "redis_password") == 0 && y->redis_password)
        snprintf(val, vsize, "%s", "(from the url)");
    else if (strcmp(key, "redis_username") == 0 && y->redis_username)
        snprintf(val, vsize, "%s", y->redis_username);
    else
        return 0;
    snprintf(origin, osize, "redis_url (%s)", where_of(u));
    return 1;
}

size_t
flexiai_config_entries(flexiai_config *cfg,
                       const flexiai_config_entry **entries)
{
    free_shown(cfg);
    for (int si = 0; fixed_sections[si]; si++) {
        for (size_t i = 0; i < NSCHEMA; i++) {
            const struct key_def *d = &schema[i];
            if (strcmp(d->section, fixed_sections[si]) != 0)
                continue;
            const struct entry *e;
            const char *v = raw_value(cfg, d->section, d->key, &e);
            if (strcmp(d->section, "sync") == 0 &&
                strcmp(d->key, "worker_id") == 0 && e == NULL)
                v = "(hostname:pid:milliseconds)";
            char implied[64], origin[600];
            if (e == NULL && strcmp(d->section, "sync") == 0 &&
                url_implies(cfg, d->key, implied, sizeof(implied), origin,
                            sizeof(origin))) {
                show_add(cfg, d->section, d->key,
                         keep(cfg, fxu_strdup(implied)),
                         keep(cfg, fxu_strdup(origin)), 0);
                continue;
            }
            show_add(cfg, d->section, d->key, v, where_of(e),
                     d->type == KT_SECRET);
        }
    }
    /* providers in failover order when validated, else file order */
    for (size_t pi = 0; pi < cfg->nsections; pi++) {
        const char *sec = cfg->sections[pi].name;
        if (cfg->validated && pi < cfg->settings.nproviders) {
            sec = keep(cfg, fxu_asprintf("provider.%s",
                                         cfg->settings.providers[pi].name));
        }
        for (size_t i = 0; i < NSCHEMA; i++) {
            const struct key_def *d = &schema[i];
            if (strcmp(d->section, "provider") != 0)
                continue;
            const struct entry *e = find_entry(cfg, sec, d->key);
            if (e == NULL)
                continue;
            show_add(cfg, sec, d->key, e->value, e->origin,
                     d->type == KT_SECRET);
        }
    }
    *entries = cfg->shown;
    return cfg->nshown;
}

/* ---- the request ledger's settings (lib/ledger-api.c) ----------------- */

const char *
fx_config_value(const flexiai_config *cfg, const char *section, const char *key)
{
    const char *v = raw_value(cfg, section, key, NULL);
    return (v && *v) ? v : NULL;
}
