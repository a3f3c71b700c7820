/*
 * tool-msgfile.c - conversation files: the JSON array of {role, content}
 * objects that `complete --messages`, chat's --load, /load, /save and
 * --session read and write.  A user message may carry "attachments": the
 * files it sent, by reference (path or URL, type, name, size, SHA-256),
 * never their bytes.  Errors are returned, never printed.
 */
#include "config.h"

#include "tool-attach.h"
#include "tool.h"

#include <cjson/cJSON.h>
#include <limits.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

void
tool_msgs_push(struct tool_msgs *m, const char *role, const char *content)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 8;
        m->v = fxu_xrealloc(m->v, m->cap * sizeof(*m->v));
    }
    memset(&m->v[m->n], 0, sizeof(m->v[m->n])); /* reasoning_state too */
    m->v[m->n].role = fxu_strdup(role);
    m->v[m->n].content = fxu_strdup(content);
    m->v[m->n].reasoning_state = NULL;
    m->n++;
}

void
tool_msgs_set_state(struct tool_msgs *m, size_t i, const char *state)
{
    if (i >= m->n)
        return;
    free((char *)m->v[i].reasoning_state);
    m->v[i].reasoning_state = fxu_strdup(state);
}

static void
free_one(flexiai_message *msg)
{
    /* the list owns its strings: the const is the public struct's */
    free((char *)msg->role);
    free((char *)msg->content);
    free((char *)msg->reasoning_state);
}

void
tool_msgs_remove(struct tool_msgs *m, size_t i)
{
    if (i >= m->n)
        return;
    free_one(&m->v[i]);
    memmove(&m->v[i], &m->v[i + 1], (m->n - i - 1) * sizeof(*m->v));
    m->n--;
}

void
tool_msgs_pop(struct tool_msgs *m)
{
    if (m->n)
        tool_msgs_remove(m, m->n - 1);
}

void
tool_msgs_free(struct tool_msgs *m)
{
    for (size_t i = 0; i < m->n; i++)
        free_one(&m->v[i]);
    free(m->v);
    memset(m, 0, sizeof(*m));
}

long long tool_max_input = TOOL_MAX_INPUT_DEFAULT;

int
tool_read_bounded(FILE *fp, const char *name, fxu_buf *b, char **err)
{
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof(tmp), fp)) > 0) {
        if ((long long)(b->len + n) > tool_max_input) {
            *err = fxu_asprintf("%s: more than max_input_bytes (%lld bytes; "
                                "[defaults] max_input_bytes)",
                                name, tool_max_input);
            return FLEXIAI_EDATA;
        }
        fxu_buf_append(b, tmp, n);
    }
    if (ferror(fp)) {
        *err = fxu_asprintf("cannot read %s: %s", name, strerror(errno));
        return FLEXIAI_ENOINPUT;
    }
    return 0;
}

FILE *
tool_open_input(const char *path, char **err)
{
    /* O_NONBLOCK: opening a FIFO with no writer must not hang */
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        *err = fxu_asprintf("%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        *err = fxu_asprintf("%s: %s", path,
                            S_ISDIR(st.st_mode) ? "is a directory"
                                                : "not a regular file");
        close(fd);
        return NULL;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    FILE *fp = fdopen(fd, "r");
    if (fp == NULL) {
        *err = fxu_asprintf("%s: %s", path, strerror(errno));
        close(fd);
    }
    return fp;
}

static char *
read_text(FILE *fp, const char *name, char **err, int *rc)
{
    fxu_buf b;
    fxu_buf_init(&b);
    *rc = tool_read_bounded(fp, name, &b, err);
    if (*rc != 0) {
        fxu_buf_free(&b);
        return NULL;
    }
    fxu_buf_putc(&b, '\0'); /* an empty file is an empty text */
    return fxu_buf_steal(&b);
}

int
tool_has_nul_escape(const char *text, size_t len)
{
    const char *end = text + len;
    for (const char *p = text; (p = memchr(p, '\\', (size_t)(end - p)));) {
        if (end - p >= 6 && p[1] == 'u' && memcmp(p + 2, "0000", 4) == 0)
            return 1;
        p += end - p >= 2 ? 2 : 1; /* skip the escaped character */
    }
    return 0;
}

static int
has_nul_escape(const char *text)
{
    return tool_has_nul_escape(text, strlen(text));
}

static int
valid_role(const char *role)
{
    return strcmp(role, "system") == 0 || strcmp(role, "user") == 0 ||
           strcmp(role, "assistant") == 0;
}

void
tool_attach_refs_free(struct tool_attach_refs *refs)
{
    for (size_t i = 0; i < refs->n; i++) {
        free(refs->v[i].path);
        free(refs->v[i].url);
        free(refs->v[i].mime);
        free(refs->v[i].name);
    }
    free(refs->v);
    memset(refs, 0, sizeof(*refs));
}

static int
is_sha256(const char *s)
{
    return strlen(s) == 64 && strspn(s, "0123456789abcdef") == 64;
}

/* An optional string member: 0 (absent: *out NULL, else a copy), -1 when
 * it is there but not a non-empty string. */
static int
opt_string(const cJSON *o, const char *key, char **out)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    *out = NULL;
    if (v == NULL)
        return 0;
    if (!cJSON_IsString(v) || v->valuestring[0] == '\0')
        return -1;
    *out = fxu_strdup(v->valuestring);
    return 0;
}

/* One entry of a message's "attachments" into r: NULL, or why not. */
static const char *
read_ref(const cJSON *o, struct tool_attach_ref *r)
{
    if (!cJSON_IsObject(o))
        return "not an object";
    if (opt_string(o, "path", &r->path) || opt_string(o, "url", &r->url))
        return "\"path\" and \"url\" are non-empty strings";
    if (r->path && r->url)
        return "a \"path\" or a \"url\", not both";
    if (r->url && strncasecmp(r->url, "http://", 7) != 0 &&
        strncasecmp(r->url, "https://", 8) != 0)
        return "\"url\" is an http or https URL";
    if (opt_string(o, "mime", &r->mime) || (r->mime && !strchr(r->mime, '/')))
        return "\"mime\" is a type like image/png";
    if (opt_string(o, "name", &r->name))
        return "\"name\" is a non-empty string";
    const cJSON *size = cJSON_GetObjectItemCaseSensitive(o, "size");
    r->size = -1;
    if (size && (!cJSON_IsNumber(size) || size->valuedouble < 0 ||
                 size->valuedouble > (double)LLONG_MAX / 2 ||
                 size->valuedouble != (double)(long long)size->valuedouble))
        return "\"size\" is a number of bytes";
    if (size)
        r->size = (long long)size->valuedouble;
    const cJSON *sha = cJSON_GetObjectItemCaseSensitive(o, "sha256");
    if (sha && !(cJSON_IsString(sha) && is_sha256(sha->valuestring)))
        return "\"sha256\" is 64 lower-case hex digits";
    if (sha)
        memcpy(r->sha256, sha->valuestring, 65);
    return NULL;
}

/* Message m->n - 1's "attachments" (o's), onto refs (NULL: checked only).
 * NULL, or the error line. */
static char *
read_refs(const char *name, const cJSON *o, const struct tool_msgs *m,
          struct tool_attach_refs *refs)
{
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(o, "attachments");
    if (arr == NULL || cJSON_IsNull(arr))
        return NULL;
    if (!cJSON_IsArray(arr))
        return fxu_asprintf("%s: message %zu: \"attachments\" must be an "
                            "array",
                            name, m->n);
    if (cJSON_GetArraySize(arr) > 0 && strcmp(m->v[m->n - 1].role, "user") != 0)
        return fxu_asprintf("%s: message %zu: only a user message carries "
                            "\"attachments\"",
                            name, m->n);
    size_t k = 0;
    const cJSON *e;
    cJSON_ArrayForEach(e, arr)
    {
        struct tool_attach_ref r;
        memset(&r, 0, sizeof(r));
        r.msg = m->n - 1;
        const char *why = read_ref(e, &r);
        k++;
        if (why == NULL && refs) {
            refs->v = fxu_xrealloc(refs->v, (refs->n + 1) * sizeof(*refs->v));
            refs->v[refs->n++] = r;
            continue;
        }
        free(r.path); /* refused, or only checked (refs NULL) */
        free(r.url);
        free(r.mime);
        free(r.name);
        if (why)
            return fxu_asprintf("%s: message %zu: attachment %zu: %s", name,
                                m->n, k, why);
    }
    return NULL;
}

int
tool_msgs_read(const char *path, struct tool_msgs *m, char **err)
{
    return tool_msgs_read_refs(path, m, NULL, err);
}

int
tool_msgs_read_refs(const char *path, struct tool_msgs *m,
                    struct tool_attach_refs *refs, char **err)
{
    int is_stdin = strcmp(path, "-") == 0;
    const char *name = is_stdin ? "stdin" : path;
    char *text;
    int rc = 0;
    if (is_stdin) {
        text = read_text(stdin, name, err, &rc);
    } else {
        /* a regular file only: /dev/zero would never end, a FIFO hang */
        FILE *fp = tool_open_input(path, err);
        if (fp == NULL)
            return FLEXIAI_ENOINPUT;
        text = read_text(fp, name, err, &rc);
        fclose(fp);
    }
    if (text == NULL)
        return rc;
    if (has_nul_escape(text)) {
        free(text);
        *err = fxu_asprintf("%s: a message contains \\u0000 (a NUL "
                            "character cannot be sent)",
                            name);
        return FLEXIAI_EDATA;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithOpts(text, &end, 0);
    int trailing = root && end && end[strspn(end, " \t\r\n")] != '\0';
    free(text);
    if (root == NULL) {
        *err = fxu_asprintf("%s: messages are not valid JSON", name);
        return FLEXIAI_EDATA;
    }
    if (trailing) {
        cJSON_Delete(root);
        *err = fxu_asprintf("%s: something follows the JSON array", name);
        return FLEXIAI_EDATA;
    }
    if (!cJSON_IsArray(root)) {
        cJSON_Delete(root);
        *err = fxu_asprintf("%s: messages must be a JSON array", name);
        return FLEXIAI_EDATA;
    }
    const cJSON *o;
    cJSON_ArrayForEach(o, root)
    {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(o, "role");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(o, "content");
        if (!cJSON_IsObject(o) || !cJSON_IsString(role) ||
            !cJSON_IsString(content)) {
            *err = fxu_asprintf(
                "%s: message %zu needs string \"role\" and \"content\"", name,
                m->n + 1);
            break;
        }
        if (!valid_role(role->valuestring)) {
            *err = fxu_asprintf(
                "%s: message %zu has role '%s' (system, user or assistant)",
                name, m->n + 1, role->valuestring);
            break;
        }
        size_t bad = 0;
        char *clean = fxu_utf8_sanitize(content->valuestring,
                                        strlen(content->valuestring), &bad);
        tool_msgs_push(m, role->valuestring, clean);
        m->replaced += bad;
        free(clean);
        /* an assistant turn's provider state, kept as the API gave it */
        const cJSON *state =
            cJSON_GetObjectItemCaseSensitive(o, "reasoning_state");
        if (cJSON_IsString(state))
            tool_msgs_set_state(m, m->n - 1, state->valuestring);
        /* the files it sent, by reference */
        if ((*err = read_refs(name, o, m, refs)) != NULL)
            break;
    }
    cJSON_Delete(root);
    if (*err) {
        tool_msgs_free(m);
        if (refs)
            tool_attach_refs_free(refs);
        return FLEXIAI_EDATA;
    }
    return 0;
}

/* Message v's files by reference (info: as they were sent, or NULL). */
static void
write_refs(cJSON *o, const flexiai_message *v,
           const flexiai_attachment_info *info)
{
    if (v->nattachments == 0)
        return;
    cJSON *arr = cJSON_AddArrayToObject(o, "attachments");
    for (size_t k = 0; k < v->nattachments; k++) {
        const flexiai_attachment *a = &v->attachments[k];
        const flexiai_attachment_info *in = info ? &info[k] : NULL;
        cJSON *e = cJSON_CreateObject();
        const char *name = a->name;
        if (a->path) {
            /* absolute: a session resumes from any directory */
            char *abs = realpath(a->path, NULL);
            cJSON_AddStringToObject(e, "path", abs ? abs : a->path);
            free(abs);
            if (name == NULL) {
                const char *slash = strrchr(a->path, '/');
                name = slash ? slash + 1 : a->path;
            }
        } else if (a->url) {
            cJSON_AddStringToObject(e, "url", a->url);
        } else if (name == NULL) {
            name = "stdin"; /* its bytes are not kept: size and hash */
        }
        const char *mime = in && in->mime[0] ? in->mime : a->mime;
        if (mime)
            cJSON_AddStringToObject(e, "mime", mime);
        if (name && *name)
            cJSON_AddStringToObject(e, "name", name);
        long long size = in ? in->size : a->data ? (long long)a->len : -1;
        if (size >= 0)
            cJSON_AddNumberToObject(e, "size", (double)size);
        if (in && in->sha256[0])
            cJSON_AddStringToObject(e, "sha256", in->sha256);
        cJSON_AddItemToArray(arr, e);
    }
}

int
tool_msgs_write(const char *path, const flexiai_message *v, size_t n,
                char **err)
{
    return tool_msgs_write_att(path, v, n, NULL, err);
}

int
tool_msgs_write_att(const char *path, const flexiai_message *v, size_t n,
                    const flexiai_attachment_info *const *infos, char **err)
{
    /* one message per line: readable, and diffs well */
    fxu_buf json;
    fxu_buf_init(&json);
    fxu_buf_puts(&json, "[");
    for (size_t i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "role", v[i].role);
        cJSON_AddStringToObject(o, "content", v[i].content);
        if (v[i].reasoning_state)
            cJSON_AddStringToObject(o, "reasoning_state", v[i].reasoning_state);
        write_refs(o, &v[i], infos ? infos[i] : NULL);
        char *s = cJSON_PrintUnformatted(o);
        fxu_buf_printf(&json, "%s\n  %s", i ? "," : "", s);
        free(s);
        cJSON_Delete(o);
    }
    fxu_buf_puts(&json, n ? "\n]\n" : "]\n");

    /* a temporary file next to the target, then rename(): a reader sees
     * the old conversation or the new one, never half of one */
    char *tmp = fxu_asprintf("%s.XXXXXX", path);
    int fd = mkstemp(tmp); /* mode 0600 */
    int rc = 0;
    if (fd < 0) {
        *err = fxu_asprintf("%s: %s", path, strerror(errno));
        rc = FLEXIAI_ENOINPUT;
    } else if (fxu_write_all(fd, json.data, json.len) != 0 || fsync(fd) != 0) {
        *err = fxu_asprintf("%s: %s", tmp, strerror(errno));
        rc = FLEXIAI_ENOINPUT;
        close(fd);
        unlink(tmp);
    } else if (close(fd) != 0 || rename(tmp, path) != 0) {
        *err = fxu_asprintf("%s: %s", path, strerror(errno));
        rc = FLEXIAI_ENOINPUT;
        unlink(tmp);
    }
    free(tmp);
    fxu_buf_free(&json);
    return rc;
}
