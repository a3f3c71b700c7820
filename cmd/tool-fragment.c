/*
 * tool-fragment.c - fragments: named pieces of text from a file, a URL,
 * stdin or the saved ones in the configuration directory, put before the
 * user's text (tool-fragment.h).  A URL is fetched with libcurl: http and
 * https only, redirects followed a few times, a timeout and the same size
 * limit as any input.
 */
#include "config.h"

#include "tool-fragment.h"
#include "curl-load.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const struct tool_fragments *tool_ledger_fragments;

char *
tool_fragment_dir(void)
{
    char *base = tool_xdg_dir("XDG_CONFIG_HOME", ".config");
    char *dir = fxu_asprintf("%s/fragments", base);
    free(base);
    return dir;
}

static int
is_url(const char *s)
{
    return strncmp(s, "http://", 7) == 0 || strncmp(s, "https://", 8) == 0;
}

/* A saved fragment's name: no path, nothing hidden. */
static int
plain_name(const char *s)
{
    return *s && *s != '.' && strchr(s, '/') == NULL;
}

/* Text in b becomes f's content: no NUL byte, invalid UTF-8 as U+FFFD. */
static int
take_text(fxu_buf *b, const char *name, struct tool_fragment *f, char **err)
{
    if (b->len && memchr(b->data, '\0', b->len)) {
        *err = fxu_asprintf("fragment %s holds a NUL byte: a fragment must be "
                            "text",
                            name);
        return FLEXIAI_EDATA;
    }
    size_t bad = 0;
    f->content = fxu_utf8_sanitize(b->data ? b->data : "", b->len, &bad);
    f->name = fxu_strdup(name);
    return 0;
}

static int
load_file(const char *path, const char *name, struct tool_fragment *f,
          char **err)
{
    char *why = NULL;
    FILE *fp = tool_open_input(path, &why);
    if (fp == NULL) {
        *err = fxu_asprintf("fragment %s", why);
        free(why);
        return FLEXIAI_ENOINPUT;
    }
    fxu_buf b;
    fxu_buf_init(&b);
    int rc = tool_read_bounded(fp, name, &b, &why);
    fclose(fp);
    if (rc != 0) {
        *err = fxu_asprintf("fragment %s", why);
        free(why);
    } else {
        rc = take_text(&b, name, f, err);
    }
    fxu_buf_free(&b);
    return rc;
}

struct fetch {
    fxu_buf b;
    int too_big;
};

static size_t
on_body(char *p, size_t size, size_t n, void *ud)
{
    struct fetch *f = ud;
    if ((long long)(f->b.len + n) > tool_max_input) {
        f->too_big = 1;
        return 0;
    }
    fxu_buf_append(&f->b, p, size * n);
    return size * n;
}

static int
load_url(const char *url, struct tool_fragment *f, char **err)
{
    CURL *h = curl_easy_init();
    if (h == NULL) {
        *err = fxu_strdup("out of memory");
        return FLEXIAI_ESOFTWARE;
    }
    struct fetch ft = {.too_big = 0};
    fxu_buf_init(&ft.b);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(h, CURLOPT_MAXREDIRS, (long)TOOL_FRAGMENT_URL_REDIRECTS);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)TOOL_FRAGMENT_URL_TIMEOUT);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)tool_max_input);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &ft);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "flexiai");
    CURLcode cc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    int rc = 0;
    if (ft.too_big || cc == CURLE_FILESIZE_EXCEEDED) {
        *err = fxu_asprintf("fragment %s: more than %lld bytes", url,
                            tool_max_input);
        rc = FLEXIAI_EDATA;
    } else if (cc != CURLE_OK) {
        *err = fxu_asprintf("fragment %s: %s", url, curl_easy_strerror(cc));
        rc = FLEXIAI_EUNAVAILABLE;
    } else if (status == 404 || status == 410) {
        *err = fxu_asprintf("fragment %s: not found (HTTP %ld)", url, status);
        rc = FLEXIAI_ENOINPUT;
    } else if (status >= 400) {
        *err = fxu_asprintf("fragment %s: HTTP %ld", url, status);
        rc = FLEXIAI_EUNAVAILABLE;
    } else {
        rc = take_text(&ft.b, url, f, err);
    }
    fxu_buf_free(&ft.b);
    return rc;
}

int
tool_fragment_load(const char *spec, struct tool_fragment *f, char **err)
{
    memset(f, 0, sizeof(*f));
    *err = NULL;
    if (*spec == '\0') {
        *err = fxu_strdup("--fragment needs a file, URL or name");
        return FLEXIAI_EUSAGE;
    }
    if (strcmp(spec, "-") == 0) {
        fxu_buf b;
        fxu_buf_init(&b);
        char *why = NULL;
        int rc = tool_read_bounded(stdin, "stdin", &b, &why);
        if (rc != 0)
            *err = fxu_asprintf("fragment %s", why);
        else
            rc = take_text(&b, "stdin", f, err);
        free(why);
        fxu_buf_free(&b);
        return rc;
    }
    if (is_url(spec))
        return load_url(spec, f, err);
    struct stat st;
    if (stat(spec, &st) == 0 || !plain_name(spec))
        return load_file(spec, spec, f, err);
    /* a saved fragment: NAME, NAME.txt, NAME.md */
    char *dir = tool_fragment_dir();
    static const char *const ext[] = {"", ".txt", ".md"};
    for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
        char *path = fxu_asprintf("%s/%s%s", dir, spec, ext[i]);
        if (stat(path, &st) == 0) {
            int rc = load_file(path, spec, f, err);
            free(path);
            free(dir);
            return rc;
        }
        free(path);
    }
    *err = fxu_asprintf("fragment '%s': no such file, URL or saved fragment "
                        "(in %s)",
                        spec, dir);
    free(dir);
    return FLEXIAI_ENOINPUT;
}

void
tool_fragments_copy(struct tool_fragments *fs, const struct tool_fragment *f)
{
    fs->v = fxu_xrealloc(fs->v, (fs->n + 1) * sizeof(*fs->v));
    fs->v[fs->n].name = fxu_strdup(f->name);
    fs->v[fs->n].content = fxu_strdup(f->content);
    fs->n++;
}

void
tool_fragments_add(struct tool_fragments *fs, const char *spec)
{
    struct tool_fragment f;
    char *err = NULL;
    int rc = tool_fragment_load(spec, &f, &err);
    if (rc != 0)
        tool_die(rc, "%s", err);
    fs->v = fxu_xrealloc(fs->v, (fs->n + 1) * sizeof(*fs->v));
    fs->v[fs->n++] = f;
}

void
tool_fragments_free(struct tool_fragments *fs)
{
    for (size_t i = 0; i < fs->n; i++) {
        free(fs->v[i].name);
        free(fs->v[i].content);
    }
    free(fs->v);
    fs->v = NULL;
    fs->n = 0;
}

void
tool_fragments_render(const struct tool_fragments *fs, fxu_buf *b)
{
    for (size_t i = 0; fs && i < fs->n; i++) {
        const char *c = fs->v[i].content;
        size_t len = strlen(c);
        fxu_buf_puts(b, "<fragment name=\"");
        for (const char *p = fs->v[i].name; *p; p++)
            fxu_buf_putc(b, *p == '"' ? '\'' : *p);
        fxu_buf_puts(b, "\">\n");
        fxu_buf_append(b, c, len);
        if (len == 0 || c[len - 1] != '\n')
            fxu_buf_putc(b, '\n');
        fxu_buf_puts(b, "</fragment>\n\n");
    }
}

char *
tool_fragments_prompt(const struct tool_fragments *fs, const char *text)
{
    fxu_buf b;
    fxu_buf_init(&b);
    tool_fragments_render(fs, &b);
    if (text && *text)
        fxu_buf_puts(&b, text);
    else if (b.len >= 2) /* fragments alone: no blank line after them */
        b.data[b.len -= 2] = '\0';
    return fxu_buf_steal(&b);
}

flexiai_ledger_fragment *
tool_fragments_for_ledger(const struct tool_fragments *fs)
{
    if (fs == NULL || fs->n == 0)
        return NULL;
    flexiai_ledger_fragment *v = fxu_xmalloc(fs->n * sizeof(*v));
    for (size_t i = 0; i < fs->n; i++) {
        v[i].name = fs->v[i].name;
        v[i].content = fs->v[i].content;
    }
    return v;
}

static int
by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void
tool_dir_names(const char *dir, const char *const *exts, int only_ext, FILE *fp)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        size_t len = strlen(e->d_name), keep = len;
        for (const char *const *x = exts; x && *x && keep == len; x++) {
            size_t xl = strlen(*x);
            if (len > xl && strcmp(e->d_name + len - xl, *x) == 0)
                keep = len - xl;
        }
        if (only_ext && keep == len)
            continue;
        names = fxu_xrealloc(names, (n + 1) * sizeof(*names));
        names[n++] = fxu_strndup(e->d_name, keep);
    }
    closedir(d);
    qsort(names, n, sizeof(*names), by_name);
    for (size_t i = 0; i < n; i++)
        if (i == 0 || strcmp(names[i], names[i - 1]) != 0)
            fprintf(fp, "%s\n", names[i]);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
}

void
tool_fragment_names(FILE *fp)
{
    static const char *const exts[] = {".txt", ".md", NULL};
    char *dir = tool_fragment_dir();
    tool_dir_names(dir, exts, 0, fp);
    free(dir);
}
