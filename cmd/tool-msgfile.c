/*
 * tool-msgfile.c - conversation files: the JSON array of {role, content}
 * objects that `complete --messages`, chat's --load, /load, /save and
 * --session read and write.  Errors are returned, never printed.
 */
#include "config.h"

#include "tool.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    m->n++;
}

static void
free_one(flexiai_message *msg)
{
    /* the list owns its strings: the const is the public struct's */
    free((char *)msg->role);
    free((char *)msg->content);
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

static char *
read_text(FILE *fp, const char *name, char **err)
{
    fxu_buf b;
    fxu_buf_init(&b);
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof(tmp), fp)) > 0)
        fxu_buf_append(&b, tmp, n);
    if (ferror(fp)) {
        *err = fxu_asprintf("cannot read %s: %s", name, strerror(errno));
        fxu_buf_free(&b);
        return NULL;
    }
    return fxu_buf_steal(&b);
}

/* A \u0000 escape in JSON text (not an escaped backslash before "u0000"):
 * cJSON would cut the string there without a word. */
static int
has_nul_escape(const char *text)
{
    for (const char *p = text; (p = strchr(p, '\\')) != NULL;) {
        if (p[1] == 'u' && strncmp(p + 2, "0000", 4) == 0)
            return 1;
        p += p[1] ? 2 : 1; /* skip the escaped character */
    }
    return 0;
}

static int
valid_role(const char *role)
{
    return strcmp(role, "system") == 0 || strcmp(role, "user") == 0 ||
           strcmp(role, "assistant") == 0;
}

int
tool_msgs_read(const char *path, struct tool_msgs *m, char **err)
{
    int is_stdin = strcmp(path, "-") == 0;
    const char *name = is_stdin ? "stdin" : path;
    char *text;
    if (is_stdin) {
        text = read_text(stdin, name, err);
    } else {
        FILE *fp = fopen(path, "re");
        if (fp == NULL) {
            *err = fxu_asprintf("%s: %s", path, strerror(errno));
            return FLEXIAI_ENOINPUT;
        }
        text = read_text(fp, name, err);
        fclose(fp);
    }
    if (text == NULL)
        return FLEXIAI_ENOINPUT;
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
    }
    cJSON_Delete(root);
    if (*err) {
        tool_msgs_free(m);
        return FLEXIAI_EDATA;
    }
    return 0;
}

int
tool_msgs_write(const char *path, const flexiai_message *v, size_t n,
                char **err)
{
    /* one message per line: readable, and diffs well */
    fxu_buf json;
    fxu_buf_init(&json);
    fxu_buf_puts(&json, "[");
    for (size_t i = 0; i < n; i++) {
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "role", v[i].role);
        cJSON_AddStringToObject(o, "content", v[i].content);
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
