/*
 * batch-resume.c - what an output file of `flexiai batch` tells a later
 * run: the ids answered (with the fingerprint of the request each answer
 * was for, so that a resume with other prompts, schemas or options is
 * noticed), and its compaction to one line per id.
 */
#include "config.h"

#include "batch.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- a request's fingerprint -------------------------------------------- */

static uint64_t
fnv(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

/* a string and its end (so that "ab","c" and "a","bc" differ) */
static uint64_t
fnv_str(uint64_t h, const char *s)
{
    if (s)
        h = fnv(h, s, strlen(s));
    return fnv(h, s ? "\1" : "\2", 1);
}

char *
batch_fingerprint(const struct batch_item *it, const char *salt)
{
    uint64_t h = fnv_str(1469598103934665603ull, salt);
    for (size_t i = 0; i < it->msgs.n; i++) {
        h = fnv_str(h, it->msgs.v[i].role);
        h = fnv_str(h, it->msgs.v[i].content);
    }
    h = fnv_str(h, it->system);
    h = fnv_str(h, it->model);
    h = fnv_str(h, it->provider);
    h = fnv_str(h, it->schema_spec);
    /* the files by name (none: the same fingerprint as before them) */
    for (size_t i = 0; i < it->att.n; i++)
        h = fnv_str(h,
                    it->att.v[i].path ? it->att.v[i].path : it->att.v[i].url);
    char num[64];
    snprintf(num, sizeof(num), "%d %.17g %ld", it->has_temperature,
             it->has_temperature ? it->temperature : 0.0, it->max_tokens);
    h = fnv_str(h, num);
    return fxu_asprintf("%016llx", (unsigned long long)h);
}

/* The request options, not the way it is carried out (--timeout,
 * --stream, --on-stream-error): a resume with a longer timeout is the
 * same batch. */
char *
batch_salt(const char *schema, int multi, const struct tool_args *a)
{
    fxu_buf b;
    fxu_buf_init(&b);
    fxu_buf_printf(&b, "schema=%s multi=%d model=%s provider=%s stops=%s",
                   schema ? schema : "", multi, a->model ? a->model : "",
                   a->provider ? a->provider : "",
                   a->stops.data ? a->stops.data : "");
    for (size_t i = 0; i < a->nover; i++) {
        /* how long to wait, whether to stream: not what is asked */
        const char *k = a->over[i].key;
        if (strstr(k, "timeout") || strstr(k, "stream"))
            continue;
        fxu_buf_printf(&b, " %s.%s=%s", a->over[i].section, k,
                       a->over[i].value);
    }
    fxu_buf_putc(&b, '\0');
    return fxu_buf_steal(&b);
}

/* ---- ids already answered --------------------------------------------- */

struct slot {
    char *id;
    char *fp; /* NULL: the line had none (an older version wrote it) */
};

struct batch_idset {
    struct slot *slots;
    size_t cap, n;
};

static uint64_t
hash(const char *s)
{
    return fnv(1469598103934665603ull, s, strlen(s));
}

struct batch_idset *
batch_idset_new(void)
{
    struct batch_idset *s = fxu_xcalloc(1, sizeof(*s));
    s->cap = 64;
    s->slots = fxu_xcalloc(s->cap, sizeof(*s->slots));
    return s;
}

void
batch_idset_free(struct batch_idset *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->cap; i++) {
        free(s->slots[i].id);
        free(s->slots[i].fp);
    }
    free(s->slots);
    free(s);
}

static struct slot *
find(const struct batch_idset *s, const char *id)
{
    for (size_t i = hash(id) & (s->cap - 1); s->slots[i].id;
         i = (i + 1) & (s->cap - 1))
        if (strcmp(s->slots[i].id, id) == 0)
            return &s->slots[i];
    return NULL;
}

int
batch_idset_has(const struct batch_idset *s, const char *id)
{
    return find(s, id) != NULL;
}

const char *
batch_idset_fp(const struct batch_idset *s, const char *id)
{
    const struct slot *sl = find(s, id);
    return sl ? sl->fp : NULL;
}

static void
insert(struct slot *slots, size_t cap, struct slot v)
{
    size_t i = hash(v.id) & (cap - 1);
    while (slots[i].id)
        i = (i + 1) & (cap - 1);
    slots[i] = v;
}

void
batch_idset_add(struct batch_idset *s, const char *id, const char *fp)
{
    struct slot *old = find(s, id);
    if (old) {
        /* the latest answer is the one a resume compares with */
        free(old->fp);
        old->fp = fp ? fxu_strdup(fp) : NULL;
        return;
    }
    if ((s->n + 1) * 2 > s->cap) {
        size_t cap = s->cap * 2;
        struct slot *slots = fxu_xcalloc(cap, sizeof(*slots));
        for (size_t i = 0; i < s->cap; i++)
            if (s->slots[i].id)
                insert(slots, cap, s->slots[i]);
        free(s->slots);
        s->slots = slots;
        s->cap = cap;
    }
    struct slot v = {fxu_strdup(id), fp ? fxu_strdup(fp) : NULL};
    insert(s->slots, s->cap, v);
    s->n++;
}

size_t
batch_idset_count(const struct batch_idset *s)
{
    return s->n;
}

/* The id's text and the exit code of one output line; NULL when the line
 * is not one of ours (torn by a crash, say). */
static char *
line_id(const char *line, size_t n, int *code, char **fp)
{
    cJSON *o = cJSON_ParseWithLength(line, n);
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(o, "exit_code");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(o, "id");
    const cJSON *f = cJSON_GetObjectItemCaseSensitive(o, "fingerprint");
    char *text = NULL;
    if (cJSON_IsNumber(c) && id)
        text = batch_id_text(line, n, id);
    *code = cJSON_IsNumber(c) ? (int)c->valuedouble : -1;
    if (fp)
        *fp = cJSON_IsString(f) ? fxu_strdup(f->valuestring) : NULL;
    cJSON_Delete(o);
    return text;
}

int
batch_idset_load(struct batch_idset *s, const char *path, int *ends_nl)
{
    FILE *fp = fopen(path, "re");
    *ends_nl = 1;
    if (fp == NULL)
        return -1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, fp)) > 0) {
        *ends_nl = line[n - 1] == '\n';
        /* a line that is not whole JSON is not an answer: retried */
        int code;
        char *f = NULL;
        char *text = line_id(line, (size_t)n, &code, &f);
        if (text && code == 0)
            batch_idset_add(s, text, f);
        free(text);
        free(f);
    }
    int err = ferror(fp) ? errno : 0;
    free(line);
    fclose(fp);
    if (err) {
        errno = err;
        return -1;
    }
    return 0;
}

int
batch_open_output(const char *path, struct batch_idset *done)
{
    int ends_nl = 1;
    struct stat st;
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    if (fd < 0)
        tool_die(FLEXIAI_ECANTCREAT, "%s: %s", path, strerror(errno));
    /* one writer per file: a second batch on it would answer (and pay
     * for) the same items again.  The lock goes with the process, however
     * it ends. */
    int regular = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
    if (regular && flock(fd, LOCK_EX | LOCK_NB) != 0)
        tool_die(errno == EWOULDBLOCK ? FLEXIAI_ETEMPFAIL : FLEXIAI_EIO,
                 "%s: %s", path,
                 errno == EWOULDBLOCK
                     ? "another flexiai batch is writing it (try later)"
                     : strerror(errno));
    /* only a regular file holds earlier answers (not /dev/full, a fifo) */
    if (regular && batch_idset_load(done, path, &ends_nl) != 0)
        tool_die(FLEXIAI_ENOINPUT, "%s: %s", path, strerror(errno));
    /* a line an earlier process could not finish stays apart */
    if (!ends_nl && write(fd, "\n", 1) != 1)
        tool_die(FLEXIAI_EIO, "%s: %s", path, strerror(errno));
    return fd;
}

/* ---- compaction -----------------------------------------------------------
 */

/* Rewrite an output file with one line per id: its last successful line,
 * else its last line; lines that are not ours (torn) go. */
int
batch_compact(const char *path)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0)
        tool_die(FLEXIAI_ENOINPUT, "%s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        tool_die(FLEXIAI_ENOINPUT, "%s: not a regular file", path);
    /* no batch may append while the file is rewritten */
    if (flock(fd, LOCK_EX | LOCK_NB) != 0)
        tool_die(errno == EWOULDBLOCK ? FLEXIAI_ETEMPFAIL : FLEXIAI_EIO,
                 "%s: %s", path,
                 errno == EWOULDBLOCK
                     ? "a flexiai batch is writing it (try later)"
                     : strerror(errno));
    FILE *in = fdopen(fd, "r");
    if (in == NULL)
        tool_die(FLEXIAI_EIO, "%s: %s", path, strerror(errno));

    /* first pass: for each id the line that stays (its number as text) */
    struct batch_idset *best = batch_idset_new(), *ok = batch_idset_new();
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    long lineno = 0;
    char num[32];
    while ((n = getline(&line, &cap, in)) > 0) {
        lineno++;
        int code;
        char *id = line_id(line, (size_t)n, &code, NULL);
        if (id == NULL)
            continue;
        snprintf(num, sizeof(num), "%ld", lineno);
        if (code == 0) {
            batch_idset_add(ok, id, num);
            batch_idset_add(best, id, num);
        } else if (!batch_idset_has(ok, id)) {
            batch_idset_add(best, id, num);
        }
        free(id);
    }
    if (ferror(in))
        tool_die(FLEXIAI_EIO, "%s: %s", path, strerror(errno));

    /* second pass: those lines, in their order, into a file beside it */
    char *tmp = fxu_asprintf("%s.XXXXXX", path);
    int out = mkstemp(tmp);
    if (out < 0)
        tool_die(FLEXIAI_ECANTCREAT, "%s: %s", tmp, strerror(errno));
    fchmod(out, st.st_mode & 0777);
    rewind(in);
    lineno = 0;
    long kept = 0;
    int werr = 0;
    while (!werr && (n = getline(&line, &cap, in)) > 0) {
        lineno++;
        int code;
        char *id = line_id(line, (size_t)n, &code, NULL);
        const char *keep = id ? batch_idset_fp(best, id) : NULL;
        snprintf(num, sizeof(num), "%ld", lineno);
        if (keep && strcmp(keep, num) == 0) {
            if (line[n - 1] != '\n')
                line[n++] = '\n'; /* getline left room for its NUL */
            werr = fxu_write_all(out, line, (size_t)n) != 0;
            kept++;
        }
        free(id);
    }
    if (werr || ferror(in) || fsync(out) != 0 || close(out) != 0 ||
        rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        tool_die(FLEXIAI_EIO, "%s: %s", path, strerror(e));
    }
    if (!tool_quiet)
        tool_err("%s: %ld line%s, one for each of %ld id%s (%ld dropped)", path,
                 lineno, lineno == 1 ? "" : "s", kept, kept == 1 ? "" : "s",
                 lineno - kept);
    free(tmp);
    free(line);
    fclose(in); /* and the lock */
    batch_idset_free(best);
    batch_idset_free(ok);
    return FLEXIAI_OK;
}
