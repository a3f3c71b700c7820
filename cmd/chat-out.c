/*
 * chat-out.c - where flexiai chat writes: replies on stdout (Markdown
 * rendered by md-render.c when stdout is a terminal), notices dim and
 * errors red on stderr at a colour terminal, confirmations only at a
 * terminal, and the newline that keeps a notice off a reply's line.  This
 * is the struct chat_out the conversation talks through.
 */
#include "config.h"

#include "chat-term.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define DIM "\033[2m"
#define RED "\033[31m"
#define RESET "\033[0m"

/* NO_COLOR set and not empty (no-color.org) */
static int
no_color(void)
{
    const char *v = getenv("NO_COLOR");
    return v != NULL && *v != '\0';
}

int
chat_colour_wanted(void)
{
    const char *term = getenv("TERM");
    if (no_color())
        return 0;
    if (term == NULL || *term == '\0' || strcmp(term, "dumb") == 0)
        return 0;
    return isatty(STDOUT_FILENO) && isatty(STDERR_FILENO);
}

static void
write_out(struct chat_screen *s, const char *t, size_t len)
{
    if (len == 0)
        return;
    tool_out(t, len);
    tool_out_flush();
    s->at_line_start = t[len - 1] == '\n';
}

/* Leave the cursor at the start of a line, a reply's rendering going on
 * after it (a notice in the middle of a reply). */
static void
break_line(struct chat_screen *s)
{
    if (!s->at_line_start) {
        tool_outs("\n");
        s->at_line_start = 1;
    }
    tool_out_flush();
}

/* The terminal's width for this reply's tables; 0: unknown. */
static int
term_width(void)
{
    struct winsize ws;
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
        return ws.ws_col;
    return 0;
}

static void
text(void *ud, const char *t, size_t len)
{
    struct chat_screen *s = ud;
    if (len == 0)
        return;
    if (s->render_ok == 0) { /* not a terminal: the exact bytes */
        write_out(s, t, len);
        return;
    }
    if (s->render_ok < 0 || !s->render_on) {
        /* a terminal without rendering: control characters shown */
        tool_out_text(t, len);
        tool_out_flush();
        s->at_line_start = t[len - 1] == '\n';
        return;
    }
    if (s->md == NULL) /* a reply begins: the width may have changed */
        s->md = md_new(term_width(), s->colour ? 0 : MD_NO_COLOR);
    fxu_buf_reset(&s->rendered);
    md_feed(s->md, t, len, &s->rendered);
    write_out(s, s->rendered.data, s->rendered.len);
}

/* The reply is complete or cut short: render what the renderer holds. */
static void
finish_reply(struct chat_screen *s)
{
    if (s->md == NULL)
        return;
    fxu_buf_reset(&s->rendered);
    md_finish(s->md, &s->rendered);
    write_out(s, s->rendered.data, s->rendered.len);
    md_free(s->md);
    s->md = NULL;
}

static void
end_line(void *ud)
{
    tool_out_text_end();
    finish_reply(ud);
    break_line(ud);
}

static void
aside(void *ud, const char *t)
{
    struct chat_screen *s = ud;
    finish_reply(s);
    if (s->interactive) {
        if (s->colour)
            tool_outs(DIM);
        tool_outs(t);
        if (s->colour)
            tool_outs(RESET);
    }
    s->at_line_start = 0;
}

static void
info(void *ud, const char *msg)
{
    struct chat_screen *s = ud;
    if (!s->interactive)
        return;
    tool_outs(msg);
    tool_outs("\n");
    tool_out_flush();
}

void
chat_screen_notice_line(const struct chat_screen *s, const char *msg)
{
    fprintf(stderr, "%sflexiai: %s%s\n", s->colour ? DIM : "", msg,
            s->colour ? RESET : "");
    fflush(stderr);
}

/* msg on one line; caller frees */
static char *
one_line(const char *msg)
{
    char *line = fxu_strdup(msg);
    for (char *p = line; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    return line;
}

static void
notice(void *ud, const char *msg)
{
    char *line = one_line(msg);
    break_line(ud);
    chat_screen_notice_line(ud, line);
    free(line);
}

static void
error(void *ud, const char *msg)
{
    struct chat_screen *s = ud;
    break_line(s);
    if (!s->colour) {
        tool_err("%s", msg);
        return;
    }
    char *line = one_line(msg);
    fprintf(stderr, RED "flexiai: %s" RESET "\n", line);
    fflush(stderr);
    free(line);
}

static int
render(void *ud, int want, const char **why)
{
    struct chat_screen *s = ud;
    if (want >= 0)
        s->render_on = want;
    *why = s->render_ok == 0  ? "stdout is not a terminal"
           : s->render_ok < 0 ? "NO_COLOR is set"
           : !s->render_on    ? "turned off"
                              : NULL;
    return *why == NULL;
}

/* A reply's reasoning on stderr: in full, or at a terminal its start on
 * one dim line with the way to see the rest. */
static void
reasoning(void *ud, const char *text, int full)
{
    struct chat_screen *s = ud;
    break_line(s);
    if (full) {
        tool_print_reasoning(text);
        return;
    }
    if (!s->interactive || tool_quiet)
        return;
    fxu_buf line;
    fxu_buf_init(&line);
    size_t chars = 0;
    int cut = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if ((*p & 0xC0) != 0x80 && ++chars > 60) {
            cut = 1;
            break;
        }
        fxu_buf_putc(&line, *p < 0x20 || *p == 0x7f ? ' ' : (char)*p);
    }
    char *clean = fxu_utf8_sanitize(line.data, line.len, NULL);
    fprintf(stderr, "%sreasoning: %s%s (/reasoning)%s\n", s->colour ? DIM : "",
            clean, cut ? "\u2026" : "", s->colour ? RESET : "");
    fflush(stderr);
    free(clean);
    fxu_buf_free(&line);
}

/* The library's log: failover notices dim, the rest as tool_log_cb. */
static void
lib_log(void *ud, flexiai_log_level level, const char *msg)
{
    if (level == FLEXIAI_LOG_NOTICE) {
        if (!tool_quiet)
            notice(ud, msg);
        return;
    }
    if ((level == FLEXIAI_LOG_WARN && !tool_quiet) ||
        (level == FLEXIAI_LOG_ATTEMPT && tool_verbose) ||
        (level == FLEXIAI_LOG_DEBUG && tool_verbose > 1))
        error(ud, msg);
}

void
chat_screen_init(struct chat_screen *s, int interactive, int colour,
                 struct chat_out *out)
{
    s->interactive = interactive;
    s->colour = colour;
    s->at_line_start = 1;
    s->render_ok = !isatty(STDOUT_FILENO) ? 0 : no_color() ? -1 : 1;
    s->render_on = 1;
    s->md = NULL;
    fxu_buf_init(&s->rendered);
    out->ud = s;
    out->text = text;
    out->aside = aside;
    out->end_line = end_line;
    out->info = info;
    out->notice = notice;
    out->error = error;
    out->log = lib_log;
    out->render = render;
    out->reasoning = reasoning;
}

void
chat_screen_free(struct chat_screen *s)
{
    md_free(s->md);
    s->md = NULL;
    fxu_buf_free(&s->rendered);
}
