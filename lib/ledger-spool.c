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

#include "ledger.h"

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

static void
add_str(cJSON *o, const char *k, const char *v)
{
    if (v)
        cJSON_AddStringToObject(o, k, v);
}

/* A number with a fixed count of decimals: one snprintf, where cJSON's
 * exact printing takes a print, a scan back and often a second print (a
 * batch logs every item: this is its hot path).  Times keep
 * microseconds, latencies a thousandth of a millisecond. */
static void
add_fixed(cJSON *o, const char *name, double v, int decimals)
{
    char buf[64];
    if (!(v == v) || v > 1e15 || v < -1e15)
        v = 0;
    snprintf(buf, sizeof(buf), "%.*f", decimals, v);
    cJSON_AddRawToObject(o, name, buf);
}

char *
fx_ledger_spool_line(const struct fx_ledger_record *r, int mode)
{
    int full = mode == FX_LEDGER_FULL;
    cJSON *o = cJSON_CreateObject();
    add_fixed(o, "time", r->time, 6);
    add_str(o, "mode", full ? "full" : "usage");
    add_str(o, "command", r->command);
    add_str(o, "tag", r->tag);
    add_str(o, "conversation_id", r->conversation_id);
    add_str(o, "provider", r->provider);
    add_str(o, "model", r->model);
    if (full) {
        add_str(o, "system", r->system);
        add_str(o, "text", r->text);
        cJSON *m = cJSON_AddArrayToObject(o, "messages");
        for (size_t i = 0; i < r->nmessages; i++) {
            cJSON *p = cJSON_CreateArray();
            cJSON_AddItemToArray(p, cJSON_CreateString(r->messages[i].role));
            cJSON_AddItemToArray(p, cJSON_CreateString(r->messages[i].content));
            cJSON_AddItemToArray(m, p);
        }
    }
    add_str(o, "finish_reason", r->finish_reason);
    if (r->has_usage) {
        cJSON_AddNumberToObject(o, "prompt_tokens", (double)r->prompt_tokens);
        cJSON_AddNumberToObject(o, "completion_tokens",
                                (double)r->completion_tokens);
    }
    add_fixed(o, "latency_ms", r->latency_ms, 3);
    cJSON_AddNumberToObject(o, "exit_code", r->exit_code);
    add_str(o, "error", r->error);
    add_str(o, "error_class", r->error_class);
    add_str(o, "first_provider", r->first_provider);
    cJSON *at = cJSON_AddArrayToObject(o, "attempts");
    for (size_t i = 0; i < r->nattempts; i++) {
        const struct fx_ledger_attempt *a = &r->attempts[i];
        cJSON *x = cJSON_CreateObject();
        add_str(x, "provider", a->provider);
        add_str(x, "model", a->model);
        add_str(x, "outcome", a->outcome);
        add_str(x, "error_class", a->error_class);
        cJSON_AddNumberToObject(x, "http_status", (double)a->http_status);
        add_fixed(x, "retry_after", a->retry_after, 3);
        add_fixed(x, "latency_ms", a->latency_ms, 3);
        add_str(x, "message", a->message);
        cJSON_AddNumberToObject(x, "probe", a->probe);
        cJSON_AddNumberToObject(x, "continuation", a->continuation);
        cJSON_AddNumberToObject(x, "text_bytes", (double)a->text_bytes);
        cJSON_AddItemToArray(at, x);
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (s == NULL)
        return NULL;
    char *line = fxu_asprintf("%s\n", s);
    cJSON_free(s);
    return line;
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
        r->messages[r->nmessages].role = fxu_strdup(role->valuestring);
        r->messages[r->nmessages++].content = fxu_strdup(content->valuestring);
    }
    r->finish_reason = get_str(o, "finish_reason");
    r->has_usage =
        cJSON_IsNumber(cJSON_GetObjectItemCaseSensitive(o, "prompt_tokens"));
    r->prompt_tokens = (long)get_num(o, "prompt_tokens", 0);
    r->completion_tokens = (long)get_num(o, "completion_tokens", 0);
    r->latency_ms = get_num(o, "latency_ms", 0);
    r->exit_code = (int)get_num(o, "exit_code", 0);
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
    for (int i = 0; rc == 0 && i < 100; i++)
        if ((rc = append_once(sp, lines, len, err)) != 1)
            break;
    if (rc == 1) {
        *err = fxu_asprintf("%s: replaced too often", sp);
        rc = -1;
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
    if (line == NULL) {
        *err = fxu_strdup("out of memory");
        return -1;
    }
    char *sp = fx_ledger_spool_path(dbpath);
    int rc = fx_ledger_make_parent(sp, err);
    for (int i = 0; rc == 0 && i < 100; i++)
        if ((rc = append_once(sp, line, strlen(line), err)) != 1)
            break;
    if (rc == 1) {
        *err = fxu_asprintf("%s: replaced too often", sp);
        rc = -1;
    }
    free(sp);
    free(line);
    return rc;
}
