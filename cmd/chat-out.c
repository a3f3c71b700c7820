/*
 * chat-out.c - where flexiai chat writes: replies on stdout, notices and
 * errors on stderr (dim at a colour terminal), confirmations only at a
 * terminal, and the newline that keeps a notice off a reply's line.  This
 * is the struct chat_out the conversation talks through.
 */
#include "config.h"

#include "chat-term.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DIM "\033[2m"
#define RESET "\033[0m"

int
chat_colour_wanted(void)
{
    const char *term = getenv("TERM");
    if (getenv("NO_COLOR") != NULL)
        return 0;
    if (term == NULL || *term == '\0' || strcmp(term, "dumb") == 0)
        return 0;
    return isatty(STDOUT_FILENO) && isatty(STDERR_FILENO);
}

static void
end_line(void *ud)
{
    struct chat_screen *s = ud;
    if (!s->at_line_start) {
        tool_outs("\n");
        s->at_line_start = 1;
    }
    tool_out_flush();
}

static void
text(void *ud, const char *t, size_t len)
{
    struct chat_screen *s = ud;
    if (len == 0)
        return;
    tool_out(t, len);
    tool_out_flush();
    s->at_line_start = t[len - 1] == '\n';
}

static void
aside(void *ud, const char *t)
{
    struct chat_screen *s = ud;
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

static void
notice(void *ud, const char *msg)
{
    char *line = fxu_strdup(msg);
    for (char *p = line; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    end_line(ud);
    chat_screen_notice_line(ud, line);
    free(line);
}

static void
error(void *ud, const char *msg)
{
    end_line(ud);
    tool_err("%s", msg);
}

/* The library's log: failover notices dim, the rest as tool_log_cb. */
static void
lib_log(void *ud, int level, const char *msg)
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
    out->ud = s;
    out->text = text;
    out->aside = aside;
    out->end_line = end_line;
    out->info = info;
    out->notice = notice;
    out->error = error;
    out->log = lib_log;
}
