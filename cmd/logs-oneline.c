/*
 * logs-oneline.c - `flexiai logs --oneline`: one line per record, the
 * prompt and the answer cut to the terminal's width, made from the
 * record's JSON form (the library's public output) so that the listing
 * and --json never disagree on what a record holds.
 */
#include "config.h"

#include "logs.h"
#include "tool.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#define ELLIPSIS "\xe2\x80\xa6"

size_t
logs_width(void)
{
    struct winsize ws;
    if (isatty(STDOUT_FILENO) && ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 &&
        ws.ws_col > 0)
        return ws.ws_col;
    const char *cols = getenv("COLUMNS");
    long n;
    if (cols && fxu_parse_long(cols, &n) == 0 && n >= 20 && n <= 10000)
        return (size_t)n;
    return 80;
}

/* Columns of UTF-8 text: one per character (continuation bytes take
 * none). */
static size_t
columns(const char *s, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xC0) != 0x80;
    return n;
}

/* s flattened onto one line: every run of whitespace one space, other
 * control characters shown (^[), so that the columns counted are the
 * columns a terminal shows. */
static char *
flat(const char *s)
{
    fxu_buf b, shown;
    fxu_buf_init(&b);
    fxu_buf_init(&shown);
    int space = 0;
    for (; s && *s; s++) {
        if (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r') {
            space = b.len > 0;
            continue;
        }
        if (space)
            fxu_buf_putc(&b, ' ');
        space = 0;
        fxu_buf_putc(&b, *s);
    }
    size_t used = tool_term_escape(&shown, b.data ? b.data : "", b.len);
    if (used < b.len) /* a last 0xC2 */
        fxu_buf_append(&shown, b.data + used, b.len - used);
    fxu_buf_free(&b);
    return shown.data ? fxu_buf_steal(&shown) : fxu_strdup("");
}

/* Append s, cut to at most cols columns (the last one "…" when cut). */
static void
put_cut(fxu_buf *out, const char *s, size_t cols)
{
    size_t len = strlen(s);
    if (columns(s, len) <= cols) {
        fxu_buf_append(out, s, len);
        return;
    }
    if (cols == 0)
        return;
    size_t i = 0, used = 0;
    while (i < len && used < cols - 1) {
        i++;
        while (i < len && ((unsigned char)s[i] & 0xC0) == 0x80)
            i++;
        used++;
    }
    fxu_buf_append(out, s, i);
    fxu_buf_puts(out, ELLIPSIS);
}

/* "2026-12-06T02:35:03.123Z" as local "12-06 02:35". */
static void
local_time(const char *iso, char *out, size_t size)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    const char *end = iso ? strptime(iso, "%Y-%m-%dT%H:%M:%S", &tm) : NULL;
    if (end == NULL) {
        snprintf(out, size, "?");
        return;
    }
    time_t t = timegm(&tm);
    localtime_r(&t, &tm);
    strftime(out, size, "%m-%d %H:%M", &tm);
}

static const char *
str(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* The turn's question: the last user message. */
static const char *
prompt_of(const cJSON *rec)
{
    const char *last = NULL;
    const cJSON *m;
    cJSON_ArrayForEach(m, cJSON_GetObjectItemCaseSensitive(rec, "messages"))
    {
        const char *role = str(m, "role");
        if (role && strcmp(role, "user") == 0)
            last = str(m, "content");
    }
    return last;
}

char *
logs_oneline(const char *json_line, size_t width)
{
    cJSON *rec = cJSON_Parse(json_line);
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(rec, "id");
    const cJSON *code = cJSON_GetObjectItemCaseSensitive(rec, "exit_code");
    if (!cJSON_IsNumber(id) || !cJSON_IsNumber(code)) {
        cJSON_Delete(rec);
        return NULL;
    }
    char when[32];
    local_time(str(rec, "time"), when, sizeof(when));
    fxu_buf head, line;
    fxu_buf_init(&head);
    fxu_buf_init(&line);
    if (code->valueint == 0)
        fxu_buf_printf(&head, "#%.0f  %s  %s  ", id->valuedouble, when,
                       str(rec, "provider") ? str(rec, "provider") : "?");
    else
        fxu_buf_printf(&head, "#%.0f  %s  exit %d  ", id->valuedouble, when,
                       code->valueint);
    const char *answer_mark = code->valueint == 0 ? "< " : "! ";
    char *question = flat(prompt_of(rec));
    char *answer =
        flat(code->valueint == 0 ? str(rec, "text") : str(rec, "error"));
    if (*question == '\0' && str(rec, "text") == NULL &&
        cJSON_IsNull(cJSON_GetObjectItemCaseSensitive(rec, "messages"))) {
        free(question);
        question = fxu_strdup("(text not kept)");
    }
    /* "> Q  < A": the width left is shared, the shorter giving its slack
     * to the longer */
    size_t fixed = columns(head.data, head.len) + 2 + 2 + 2;
    size_t avail = width > fixed ? width - fixed : 0;
    size_t q = columns(question, strlen(question));
    size_t a = columns(answer, strlen(answer));
    size_t qcols = q, acols = a;
    if (q + a > avail) {
        size_t half = avail / 2;
        if (q <= half)
            acols = avail - q;
        else if (a <= avail - half)
            qcols = avail - a;
        else {
            qcols = half;
            acols = avail - half;
        }
    }
    fxu_buf_append(&line, head.data, head.len);
    fxu_buf_puts(&line, "> ");
    put_cut(&line, question, qcols);
    fxu_buf_puts(&line, "  ");
    fxu_buf_puts(&line, answer_mark);
    put_cut(&line, answer, acols);
    fxu_buf_putc(&line, '\n');
    free(question);
    free(answer);
    fxu_buf_free(&head);
    cJSON_Delete(rec);
    return fxu_buf_steal(&line);
}
