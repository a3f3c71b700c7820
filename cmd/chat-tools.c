/*
 * chat-tools.c - tools in flexiai chat (--tools): at a terminal each call
 * that no rule approves is put to the person first (its name and
 * arguments, control characters made visible): yes, no, or always (this
 * tool, for the rest of the session); /tools lists what is on.  A chat
 * reading a script asks nobody: it runs what approve = auto or --approve
 * allow, as complete does.
 */
#include "config.h"

#include "chat-conv.h"
#include "tool-loop.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Arguments shown in the question: enough to judge, not a screenful. */
#define ASK_ARGS_MAX 2000

/* One line from stdin, without its newline, at most size - 1 bytes; -1 at
 * the end of input or on an interrupt. */
static int
read_answer(char *buf, size_t size)
{
    size_t n = 0;
    for (;;) {
        char ch;
        ssize_t r = read(STDIN_FILENO, &ch, 1);
        if (r < 0 && errno == EINTR)
            return -1; /* Ctrl-C: no */
        if (r <= 0)
            return n ? 0 : -1;
        if (ch == '\n')
            break;
        if (n + 1 < size)
            buf[n++] = ch;
    }
    buf[n] = '\0';
    return 0;
}

static int
ask(void *ud, const flexiai_tool_call *call)
{
    struct chat_conv *c = ud;
    c->out->end_line(c->out->ud);
    fflush(stdout);
    const char *args = call->arguments ? call->arguments : "";
    size_t len = strlen(args);
    fxu_buf b;
    fxu_buf_init(&b);
    fxu_buf_puts(&b, "flexiai: the model calls ");
    tool_term_escape(&b, call->name ? call->name : "?",
                     call->name ? strlen(call->name) : 1);
    fxu_buf_puts(&b, " with ");
    size_t shown = len > ASK_ARGS_MAX ? ASK_ARGS_MAX : len;
    /* escaped whole: a lone 0xC2 at the cut is shown as it is */
    size_t used = tool_term_escape(&b, args, shown);
    if (used < shown)
        fxu_buf_puts(&b, "\\xC2");
    if (shown < len)
        fxu_buf_printf(&b, "... (%zu bytes)", len);
    fxu_buf_putc(&b, '\n');
    for (;;) {
        fputs(b.data, stderr);
        fputs("run it? [y]es, [n]o, [a]lways for this tool: ", stderr);
        fflush(stderr);
        char answer[64];
        if (read_answer(answer, sizeof(answer)) < 0) {
            fputs("\n", stderr);
            fxu_buf_free(&b);
            return TOOL_LOOP_NO;
        }
        char *a = fxu_trim(answer);
        int r = -1;
        if (strcmp(a, "y") == 0 || strcmp(a, "yes") == 0)
            r = TOOL_LOOP_YES;
        else if (strcmp(a, "n") == 0 || strcmp(a, "no") == 0)
            r = TOOL_LOOP_NO;
        else if (strcmp(a, "a") == 0 || strcmp(a, "always") == 0)
            r = TOOL_LOOP_ALWAYS;
        if (r >= 0) {
            fxu_buf_free(&b);
            return r;
        }
    }
}

void
chat_tools_open(struct chat_conv *c, const struct tool_loop_args *a)
{
    c->tools = tool_loop_open(c->cfg, a);
    if (c->tools == NULL)
        return;
    c->tools->log = c->out->log;
    c->tools->log_ud = c->out->ud;
    if (c->interactive) {
        c->tools->ask = ask;
        c->tools->ask_ud = c;
    }
}

int
chat_tools_show(struct chat_conv *c, char *args)
{
    if (args[0] != '\0') {
        chat_conv_error(c, "usage: /tools (tools are chosen with --tools)");
        return FLEXIAI_EUSAGE;
    }
    const struct tool_loop *l = c->tools;
    if (l == NULL || l->ndefs == 0) {
        printf("no tools (start the chat with --tools NAME,...)\n");
        fflush(stdout);
        return 0;
    }
    for (size_t i = 0; i < l->ndefs; i++) {
        const char *how = tool_loop_approved(l, l->defs[i].name)
                              ? "runs without asking"
                          : c->interactive ? "asks first"
                                           : "not allowed (no terminal)";
        char *name = tool_printable(l->defs[i].name);
        char *desc = tool_printable(
            l->defs[i].description ? l->defs[i].description : "");
        printf("%s: %s%s%s\n", name, how, *desc ? " - " : "", desc);
        free(name);
        free(desc);
    }
    printf("at most %ld round%s of tool calls per turn\n", l->max_rounds,
           l->max_rounds == 1 ? "" : "s");
    fflush(stdout);
    return 0;
}
