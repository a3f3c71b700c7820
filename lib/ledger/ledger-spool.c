/*
 * ledger-spool.c - where a request's record waits before it reaches the
 * database: one JSON line appended to <ledger>.spool (0600, in the 0700
 * directory) with a single write(2) under an flock, so a request command
 * never opens SQLite.  The readers move the lines into the database
 * (ledger-import.c).  A record's line and its parsing back live here too.
 *
 * Crash safety: a writer holds the spool's lock for one write, so an
 * importer never sees half a line from a live writer; a line torn by a
 * crash or a full disk is undone when possible, and otherwise ends at the
 * next writer's newline, so it damages only itself (the importer sets it
 * aside).  A writer that opened a spool an importer has since renamed
 * notices (another inode under the name) and opens the new one.
 */
#include "config.h"

#include "ledger-int.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

char *
fx_ledger_spool_path(const char *dbpath)
{
    return fxu_asprintf("%s.spool", dbpath);
}

/* The line is written by hand, not through a cJSON tree: a batch logs
 * every item, and building and printing a tree (its numbers above all:
 * a print, a scan back, often a second print) was most of an item's
 * logging cost.  The escaping is cJSON's, so its parser reads it back. */

static void
put_raw(fxu_buf *b, const char *s, size_t n)
{
    fxu_buf_append(b, s, n);
}

/* A JSON string: '"', '\\' and control characters escaped, other bytes
 * as they are (the importer's cJSON reads them so). */
static void
put_quoted(fxu_buf *b, const char *s)
{
    static const char hex[] = "0123456789abcdef";
    /* the short escapes, by the byte they stand for */
    static const char *const from = "\"\\\b\f\n\r\t", *const to = "\"\\bfnrt";
    const unsigned char *p = (const unsigned char *)s, *run = p;
    put_raw(b, "\"", 1);
    for (; *p; p++) {
        if (*p >= 0x20 && *p != '"' && *p != '\\')
            continue;
        char esc[6] = {'\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 15]};
        const char *short_esc = strchr(from, *p);
        size_t n = 6;
        if (short_esc) {
            esc[1] = to[short_esc - from];
            n = 2;
        }
        put_raw(b, (const char *)run, (size_t)(p - run));
        put_raw(b, esc, n);
        run = p + 1;
    }
    put_raw(b, (const char *)run, (size_t)(p - run));
    put_raw(b, "\"", 1);
}

/* ,"name": (the first member of an object has no comma) */
static void
put_name(fxu_buf *b, const char *name)
{
    if (b->len > 0 && b->data[b->len - 1] != '{')
        put_raw(b, ",", 1);
    put_raw(b, "\"", 1);
    fxu_buf_puts(b, name);
    put_raw(b, "\":", 2);
}

static void
put_str(fxu_buf *b, const char *name, const char *v)
{
    if (v) {
        put_name(b, name);
        put_quoted(b, v);
    }
}

/* Digits of |v| into the end of buf; returns where they start. */
static char *
digits(char *end, unsigned long long v)
{
    do
        *--end = (char)('0' + v % 10);
    while (v /= 10);
    return end;
}

static void
put_long(fxu_buf *b, const char *name, long v)
{
    char buf[24], *end = buf + sizeof(buf);
    unsigned long long u =
        v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
    char *p = digits(end, u);
    if (v < 0)
        *--p = '-';
    put_name(b, name);
    put_raw(b, p, (size_t)(end - p));
}

/* A number with a fixed count of decimals (times keep microseconds,
 * latencies a thousandth of a millisecond), rounded, with no printf:
 * what cannot be a sane value (NaN, beyond 1e12) is written as 0. */
static void
put_fixed(fxu_buf *b, const char *name, double v, int decimals)
{
    static const double scale[] = {1, 10, 100, 1e3, 1e4, 1e5, 1e6};
    if (!(v == v) || v > 1e12 || v < -1e12)
        v = 0;
    int neg = v < 0;
    double x = (neg ? -v : v) * scale[decimals] + 0.5;
    unsigned long long u = (unsigned long long)x;
    int nonzero = u > 0;
    char buf[48], *end = buf + sizeof(buf), *p = end;
    for (int i = 0; i < decimals; i++, u /= 10)
        *--p = (char)('0' + u % 10);
    if (decimals > 0)
        *--p = '.';
    p = digits(p, u);
    if (neg && nonzero)
        *--p = '-';
    put_name(b, name);
    put_raw(b, p, (size_t)(end - p));
}

void
fx_ledger_spool_put(fxu_buf *b, const struct fx_ledger_record *r, int mode)
{
    int full = mode == FX_LEDGER_FULL;
    put_raw(b, "{", 1);
    put_fixed(b, "time", r->time, 6);
    put_str(b, "mode", full ? "full" : "usage");
    put_str(b, "command", r->command);
    put_str(b, "tag", r->tag);
    put_str(b, "conversation_id", r->conversation_id);
    put_str(b, "provider", r->provider);
    put_str(b, "model", r->model);
    if (full) {
        put_str(b, "system", r->system);
        put_str(b, "text", r->text);
        put_str(b, "reasoning", r->reasoning);
        put_name(b, "messages");
        put_raw(b, "[", 1);
        for (size_t i = 0; i < r->nmessages; i++) {
            put_raw(b, i ? ",[" : "[", i ? 2 : 1);
            put_quoted(b, r->messages[i].role ? r->messages[i].role : "");
            put_raw(b, ",", 1);
            put_quoted(b, r->messages[i].content ? r->messages[i].content : "");
            if (r->messages[i].reasoning_state) { /* [role, content, state] */
                put_raw(b, ",", 1);
                put_quoted(b, r->messages[i].reasoning_state);
            }
            put_raw(b, "]", 1);
        }
        put_raw(b, "]", 1);
        put_str(b, "reasoning_state", r->reasoning_state);
        if (r->nattachments) { /* ledger-attach.c */
            char *att = fx_ledger_attach_json(r);
            put_name(b, "attachments");
            put_raw(b, att, strlen(att));
            free(att);
        }
        put_str(b, "tool_calls", r->tool_calls);
    }
    put_str(b, "finish_reason", r->finish_reason);
    if (r->has_usage) {
        put_long(b, "prompt_tokens", r->prompt_tokens);
        put_long(b, "completion_tokens", r->completion_tokens);
        put_long(b, "cached_tokens", r->cached_tokens);
        put_long(b, "cache_write_tokens", r->cache_write_tokens);
        put_long(b, "reasoning_tokens", r->reasoning_tokens);
    }
    if (r->cached)
        put_long(b, "cached", 1);
    put_fixed(b, "latency_ms", r->latency_ms, 3);
    put_long(b, "exit_code", r->exit_code);
    if (r->deferred)
        put_long(b, "deferred", 1);
    put_str(b, "error", r->error);
    put_str(b, "error_class", r->error_class);
    put_str(b, "first_provider", r->first_provider);
    put_name(b, "attempts");
    put_raw(b, "[", 1);
    for (size_t i = 0; i < r->nattempts; i++) {
        const struct fx_ledger_attempt *a = &r->attempts[i];
        put_raw(b, i ? ",{" : "{", i ? 2 : 1);
        put_str(b, "provider", a->provider);
        put_str(b, "model", a->model);
        put_str(b, "outcome", a->outcome);
        put_str(b, "error_class", a->error_class);
        put_long(b, "http_status", a->http_status);
        put_fixed(b, "retry_after", a->retry_after, 3);
        put_fixed(b, "latency_ms", a->latency_ms, 3);
        put_str(b, "message", a->message);
        put_long(b, "probe", a->probe);
        put_long(b, "continuation", a->continuation);
        put_long(b, "text_bytes", a->text_bytes);
        if (a->has_usage) {
            put_long(b, "prompt_tokens", a->prompt_tokens);
            put_long(b, "completion_tokens", a->completion_tokens);
            put_long(b, "cached_tokens", a->cached_tokens);
            put_long(b, "cache_write_tokens", a->cache_write_tokens);
            put_long(b, "reasoning_tokens", a->reasoning_tokens);
        }
        put_raw(b, "}", 1);
    }
    put_raw(b, "]", 1);
    if (r->nfragments) { /* [name, sha256, content (full mode)] */
        put_name(b, "fragments");
        for (size_t i = 0; i < r->nfragments; i++) {
            const struct fx_ledger_fragment *f = &r->fragments[i];
            put_raw(b, i ? ",[" : "[[", 2);
            put_quoted(b, f->name ? f->name : "");
            put_raw(b, ",", 1);
            put_quoted(b, f->hash);
            if (full && f->content) {
                put_raw(b, ",", 1);
                put_quoted(b, f->content);
            }
            put_raw(b, "]", 1);
        }
        put_raw(b, "]", 1);
    }
    put_raw(b, "}\n", 2);
}

char *
fx_ledger_spool_line(const struct fx_ledger_record *r, int mode)
{
    fxu_buf b;
    fxu_buf_init(&b);
    fx_ledger_spool_put(&b, r, mode);
    return fxu_buf_steal(&b);
}

static char *
get_str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? fxu_strdup(v->valuestring) : NULL;
}

static double
get_num(const cJSON *o, const char *k, double dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsNumber(v) ? v->valuedouble : dflt;
}

int
fx_ledger_spool_parse(const char *line, size_t len, struct fx_ledger_record *r,
                      int *mode)
{
    memset(r, 0, sizeof(*r));
    cJSON *o = cJSON_ParseWithLength(line, len);
    const cJSON *tm = cJSON_GetObjectItemCaseSensitive(o, "time");
    const cJSON *cmd = cJSON_GetObjectItemCaseSensitive(o, "command");
    if (!cJSON_IsObject(o) || !cJSON_IsNumber(tm) || !cJSON_IsString(cmd)) {
        cJSON_Delete(o);
        return -1;
    }
    char *m = get_str(o, "mode");
    *mode = m && strcmp(m, "full") == 0 ? FX_LEDGER_FULL : FX_LEDGER_USAGE;
    free(m);
    r->time = tm->valuedouble;
    r->command = get_str(o, "command");
    r->tag = get_str(o, "tag");
    r->conversation_id = get_str(o, "conversation_id");
    r->provider = get_str(o, "provider");
    r->model = get_str(o, "model");
    r->system = get_str(o, "system");
    r->text = get_str(o, "text");
    r->reasoning = get_str(o, "reasoning");
    const cJSON *msgs = cJSON_GetObjectItemCaseSensitive(o, "messages");
    int n = cJSON_GetArraySize(msgs);
    r->messages = fxu_xcalloc((size_t)n + 1, sizeof(*r->messages));
    r->has_messages = cJSON_IsArray(msgs);
    for (int i = 0; i < n; i++) {
        const cJSON *p = cJSON_GetArrayItem(msgs, i);
        const cJSON *role = cJSON_GetArrayItem(p, 0);
        const cJSON *content = cJSON_GetArrayItem(p, 1);
        if (!cJSON_IsString(role) || !cJSON_IsString(content))
            continue;
        const cJSON *state = cJSON_GetArrayItem(p, 2);
        r->messages[r->nmessages].role = fxu_strdup(role->valuestring);
        r->messages[r->nmessages].reasoning_state =
            cJSON_IsString(state) ? fxu_strdup(state->valuestring) : NULL;
        r->messages[r->nmessages++].content = fxu_strdup(content->valuestring);
    }
    r->reasoning_state = get_str(o, "reasoning_state");
    fx_ledger_attach_from_json(
        r, cJSON_GetObjectItemCaseSensitive(o, "attachments"));
    r->tool_calls = get_str(o, "tool_calls");
    r->finish_reason = get_str(o, "finish_reason");
    r->has_usage =
        cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, "prompt_tokens"));
    r->prompt_tokens = (long)get_num(o, "prompt_tokens", 0);
    r->completion_tokens = (long)get_num(o, "completion_tokens", 0);
    /* lines of an older flexiai have no parts: 0 */
    r->cached_tokens = (long)get_num(o, "cached_tokens", 0);
    r->cache_write_tokens = (long)get_num(o, "cache_write_tokens", 0);
    r->reasoning_tokens = (long)get_num(o, "reasoning_tokens", 0);
    r->cached = get_num(o, "cached", 0) != 0;
    r->latency_ms = get_num(o, "latency_ms", 0);
    r->exit_code = (int)get_num(o, "exit_code", 0);
    r->deferred = get_num(o, "deferred", 0) != 0;
    r->error = get_str(o, "error");
    r->error_class = get_str(o, "error_class");
    r->first_provider = get_str(o, "first_provider");
    const cJSON *at = cJSON_GetObjectItemCaseSensitive(o, "attempts");
    n = cJSON_GetArraySize(at);
    r->attempts = fxu_xcalloc((size_t)n + 1, sizeof(*r->attempts));
    for (int i = 0; i < n; i++) {
        const cJSON *x = cJSON_GetArrayItem(at, i);
        if (!cJSON_IsObject(x))
            continue;
        struct fx_ledger_attempt *a = &r->attempts[r->nattempts++];
        a->provider = get_str(x, "provider");
        a->model = get_str(x, "model");
        a->outcome = get_str(x, "outcome");
        a->error_class = get_str(x, "error_class");
        a->http_status = (long)get_num(x, "http_status", 0);
        a->retry_after = get_num(x, "retry_after", -1);
        a->latency_ms = get_num(x, "latency_ms", 0);
        a->message = get_str(x, "message");
        a->probe = (int)get_num(x, "probe", 0);
        a->continuation = (int)get_num(x, "continuation", 0);
        a->text_bytes = (long)get_num(x, "text_bytes", 0);
        a->has_usage = cJSON_IsNumber(
            cJSON_GetObjectItemCaseSensitive(x, "prompt_tokens"));
        a->prompt_tokens = (long)get_num(x, "prompt_tokens", 0);
        a->completion_tokens = (long)get_num(x, "completion_tokens", 0);
        a->cached_tokens = (long)get_num(x, "cached_tokens", 0);
        a->cache_write_tokens = (long)get_num(x, "cache_write_tokens", 0);
        a->reasoning_tokens = (long)get_num(x, "reasoning_tokens", 0);
    }
    const cJSON *fr = cJSON_GetObjectItemCaseSensitive(o, "fragments");
    n = cJSON_GetArraySize(fr);
    r->fragments = n > 0 ? fxu_xcalloc((size_t)n, sizeof(*r->fragments)) : NULL;
    for (int i = 0; i < n; i++) {
        const cJSON *x = cJSON_GetArrayItem(fr, i);
        const cJSON *name = cJSON_GetArrayItem(x, 0);
        const cJSON *hash = cJSON_GetArrayItem(x, 1);
        const cJSON *content = cJSON_GetArrayItem(x, 2);
        if (!cJSON_IsString(name) || !cJSON_IsString(hash))
            continue;
        struct fx_ledger_fragment *f = &r->fragments[r->nfragments++];
        f->name = fxu_strdup(name->valuestring);
        f->hash = fxu_strdup(hash->valuestring);
        f->content =
            cJSON_IsString(content) ? fxu_strdup(content->valuestring) : NULL;
        f->size = f->content ? (long long)strlen(f->content) : -1;
    }
    cJSON_Delete(o);
    return 0;
}

static int
write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* One locked append to the spool that is under `sp` now.  0, 1 when an
 * importer renamed it away meanwhile (try again), -1 with *err. */
static int
append_once(const char *sp, const char *line, size_t len, char **err)
{
    int fd =
        open(sp, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0) {
        *err = fxu_asprintf("%s: %s", sp, strerror(errno));
        return -1;
    }
    while (flock(fd, LOCK_EX) < 0 && errno == EINTR)
        ;
    struct stat mine, now;
    if (fstat(fd, &mine) < 0 || stat(sp, &now) < 0 ||
        mine.st_ino != now.st_ino || mine.st_dev != now.st_dev) {
        close(fd);
        return 1;
    }
    /* a line torn by a crash must not swallow this record */
    char last = '\n';
    if (mine.st_size > 0 && pread(fd, &last, 1, mine.st_size - 1) != 1)
        last = '\n';
    int rc = 0;
    if ((last != '\n' && write_all(fd, "\n", 1) < 0) ||
        write_all(fd, line, len) < 0) {
        *err = fxu_asprintf("%s: %s", sp, strerror(errno ? errno : EIO));
        /* no half record left behind (full disk) */
        if (ftruncate(fd, mine.st_size) < 0) {
            /* the importer sets a torn line aside */
        }
        rc = -1;
    }
    close(fd); /* and the lock */
    return rc;
}

int
fx_ledger_spool_append_lines(const char *dbpath, const char *lines, size_t len,
                             char **err)
{
    *err = NULL;
    if (len == 0)
        return 0;
    char *sp = fx_ledger_spool_path(dbpath);
    int rc = fx_ledger_make_parent(sp, err);
    /* an importer renaming the spool between our open and our lock sends
     * us round again, to the new one (importers take turns, so this ends) */
    for (int i = 0; rc == 0; i++) {
        rc = append_once(sp, lines, len, err);
        if (rc != 1)
            break;
        if (i == 100) {
            *err = fxu_asprintf("%s: replaced too often", sp);
            rc = -1;
        } else {
            rc = 0;
        }
    }
    free(sp);
    return rc;
}

int
fx_ledger_spool_append(const char *dbpath, const struct fx_ledger_record *r,
                       int mode, char **err)
{
    *err = NULL;
    if (mode == FX_LEDGER_OFF)
        return 0;
    char *line = fx_ledger_spool_line(r, mode);
    int rc = fx_ledger_spool_append_lines(dbpath, line, strlen(line), err);
    free(line);
    return rc;
}
