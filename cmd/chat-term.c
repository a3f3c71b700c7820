/*
 * chat-term.c - how flexiai chat reads its input.
 *
 * At a terminal: readline's callback interface inside a poll() loop over
 * stdin, a self-pipe for signals and the pipe of the breaker-event watcher
 * (chat-watch.c), so Ctrl-C, window size changes and breaker events are
 * handled between keystrokes without corrupting the line being edited.
 * Replies stream while the line handler runs; Ctrl-C then sets the
 * request's cancel flag and the library aborts the transfer.  History and
 * tab completion live here too.  Readline's callbacks and the signal
 * handler take no user data: this file keeps the globals they need, and
 * is the only one of the chat that does.
 *
 * With stdin not a terminal: each whole input is a turn or a command.
 */
#include "config.h"

#include "chat-commands.h"
#include "chat-input.h"
#include "chat-term.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>

#define HISTORY_MAX 2000 /* lines kept in the history file */
#define BOLD "\033[1m"
#define RESET "\033[0m"

/* Set by SIGINT; the cancel flag of the running request. */
static volatile sig_atomic_t interrupted;
/* A request runs: SIGINT only cancels it, the prompt is not involved. */
static volatile sig_atomic_t in_request;
/* Self-pipe: the signal handlers write 'i' (SIGINT) or 'w' (SIGWINCH). */
static int sig_pipe[2] = {-1, -1};

/* What readline's callbacks work on. */
static struct chat_conv *term_conv;
static struct chat_screen *term_screen;
static struct chat_input term_input; /* the input being typed */
static char *main_prompt;
static char *history_path;

const char *
chat_readline_version(void)
{
    static char extra[64];
    snprintf(extra, sizeof(extra), "readline/%s", rl_library_version);
    return extra;
}

/* ---- signals ------------------------------------------------------------- */

static void
on_signal(int sig)
{
    int saved = errno;
    char ch = sig == SIGINT ? 'i' : 'w';
    if (sig == SIGINT)
        interrupted = 1;
    if (sig_pipe[1] >= 0 && !(sig == SIGINT && in_request)) {
        ssize_t r = write(sig_pipe[1], &ch, 1);
        (void)r; /* a full pipe already wakes the loop */
    }
    errno = saved;
}

void
chat_signals_init(struct chat_conv *c)
{
    if (c->interactive) {
        if (pipe(sig_pipe) != 0)
            tool_die(FLEXIAI_ESOFTWARE, "pipe: %s", strerror(errno));
        for (int i = 0; i < 2; i++) {
            fcntl(sig_pipe[i], F_SETFD, FD_CLOEXEC);
            fcntl(sig_pipe[i], F_SETFL, O_NONBLOCK);
        }
    }
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal; /* no SA_RESTART: poll() and read() wake */
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    if (c->interactive)
        sigaction(SIGWINCH, &sa, NULL);
    c->cancel = &interrupted;
    c->busy = &in_request;
}

void
chat_signals_done(void)
{
    if (sig_pipe[0] >= 0) {
        close(sig_pipe[0]);
        close(sig_pipe[1]);
        sig_pipe[0] = sig_pipe[1] = -1;
    }
}

/* ---- a whole input ------------------------------------------------------- */

/* A slash command or a user turn; returns its exit code, or `rc` when the
 * input was blank.  At a terminal a blank line parts a reply from the
 * next prompt. */
static int
handle_input(struct chat_conv *c, const struct chat_input *in, int rc)
{
    const char *text;
    switch (chat_input_text(in, &text)) {
    case CHAT_INPUT_COMMAND:
        return chat_command(c, text);
    case CHAT_INPUT_TURN: {
        /* a template's prompt, fragments (chat-template.c) */
        char *q = chat_template_question(c, text);
        rc = q ? chat_conv_turn(c, q) : FLEXIAI_EUSAGE;
        free(q);
        if (c->interactive) {
            fflush(stderr);
            fputs("\n", rl_outstream);
            fflush(rl_outstream);
        }
        return rc;
    }
    default:
        return rc;
    }
}

/* ---- scripted mode: stdin not a terminal --------------------------------- */

int
chat_run_piped(struct chat_conv *c)
{
    struct chat_input in;
    chat_input_init(&in);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc = 0;
    while (!c->quit && !interrupted) {
        errno = 0;
        len = getline(&line, &cap, stdin);
        if (len < 0)
            break;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (chat_input_feed(&in, line)) {
            rc = handle_input(c, &in, rc);
            chat_input_reset(&in);
        }
    }
    if (!c->quit && !interrupted && chat_input_pending(&in))
        rc = handle_input(c, &in, rc); /* end of input closes a block */
    free(line);
    chat_input_free(&in);
    return interrupted ? FLEXIAI_EINTR : rc;
}

/* ---- history ------------------------------------------------------------- */

static void
history_init(void)
{
    char *dir = tool_xdg_dir("XDG_STATE_HOME", ".local/state");
    history_path = fxu_asprintf("%s/history", dir);
    int fd = -1;
    if (fxu_make_dirs(dir) == 0)
        fd =
            open(history_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) {
        tool_warn("history not kept: %s: %s", history_path, strerror(errno));
        free(history_path);
        history_path = NULL;
    } else {
        fchmod(fd, 0600); /* what you typed is nobody else's business */
        close(fd);
        read_history(history_path);
    }
    free(dir);
}

/* As bash with ignorespace and ignoredups. */
static void
history_add(const char *line, int hide)
{
    if (hide || line[0] == '\0' || line[0] == ' ')
        return;
    HIST_ENTRY *last = history_length > 0
                           ? history_get(history_base + history_length - 1)
                           : NULL;
    if (last && strcmp(last->line, line) == 0)
        return;
    add_history(line);
    if (history_path)
        append_history(1, history_path);
}

static void
history_done(void)
{
    if (history_path)
        history_truncate_file(history_path, HISTORY_MAX);
    free(history_path);
    history_path = NULL;
}

/* ---- tab completion ------------------------------------------------------ */

static char **compl_words; /* candidates of the current completion */
static size_t compl_n;

static void
compl_add(const char *word)
{
    compl_words = fxu_xrealloc(compl_words, (compl_n + 1) * sizeof(char *));
    compl_words[compl_n++] = fxu_strdup(word);
}

static void
compl_reset(void)
{
    for (size_t i = 0; i < compl_n; i++)
        free(compl_words[i]);
    free(compl_words);
    compl_words = NULL;
    compl_n = 0;
}

static char *
compl_generator(const char *text, int state)
{
    static size_t next, len;
    if (state == 0) {
        next = 0;
        len = strlen(text);
    }
    while (next < compl_n) {
        const char *w = compl_words[next++];
        if (strncmp(w, text, len) == 0)
            return strdup(w); /* readline frees it */
    }
    return NULL;
}

static void
compl_providers(int with_auto)
{
    const char *const *names;
    size_t n = chat_conv_providers(term_conv, &names);
    for (size_t i = 0; i < n; i++)
        compl_add(names[i]);
    if (with_auto)
        compl_add("auto");
}

/* The candidates for argument number `arg` of a command. */
static void
compl_args(const struct chat_cmd *cmd, int arg)
{
    switch (cmd->complete) {
    case CHAT_COMPLETE_FILE:
        if (arg == 0)
            rl_attempted_completion_over = 0; /* readline's file names */
        break;
    case CHAT_COMPLETE_PROVIDER:
        if (arg == 0)
            compl_providers(1);
        break;
    case CHAT_COMPLETE_COMMAND:
        if (arg == 0)
            for (size_t k = 0; k < chat_ncmds; k++)
                compl_add(chat_cmds[k].name);
        break;
    case CHAT_COMPLETE_RENDER:
        if (arg == 0) {
            compl_add("on");
            compl_add("off");
        }
        break;
    case CHAT_COMPLETE_BREAKER:
        if (arg == 0)
            compl_add("reset");
        else if (arg == 1)
            compl_providers(0);
        break;
    default:
        break;
    }
}

static char **
chat_completion(const char *text, int start, int end)
{
    (void)end;
    rl_attempted_completion_over = 1; /* no file names in a question */
    compl_reset();
    if (chat_input_pending(&term_input))
        return NULL;
    const char *line = rl_line_buffer;
    int i = 0;
    while (line[i] == ' ' || line[i] == '\t')
        i++;
    if (i == start) {
        if (text[0] != '/')
            return NULL;
        for (size_t k = 0; k < chat_ncmds; k++) {
            char *w = fxu_asprintf("/%s", chat_cmds[k].name);
            compl_add(w);
            free(w);
        }
        return rl_completion_matches(text, compl_generator);
    }
    if (line[i] != '/')
        return NULL;
    const char *name = line + i + 1;
    size_t len = strcspn(name, " \t");
    const struct chat_cmd *cmd = chat_cmd_find(name, len, NULL);
    if (cmd == NULL)
        return NULL;
    /* which argument: words between the command and the cursor's word */
    int arg = 0;
    for (int k = (int)(name - line) + (int)len; k < start; k++)
        if (!isspace((unsigned char)line[k]) &&
            (k == 0 || isspace((unsigned char)line[k - 1])))
            arg++;
    compl_args(cmd, arg);
    if (compl_n == 0)
        return NULL;
    return rl_completion_matches(text, compl_generator);
}

/* ---- the terminal: readline in a poll loop ------------------------------- */

static void
update_prompt(void)
{
    struct chat_conv *c = term_conv;
    const char *prov = chat_conv_shown_provider(c);
    char *label = prov ? fxu_asprintf("%s:%s", prov, chat_conv_model(c, prov))
                       : fxu_strdup("flexiai");
    free(main_prompt);
    /* \001 \002 tell readline the escapes take no room */
    if (term_screen->colour)
        main_prompt =
            fxu_asprintf("\001" BOLD "\002%s\001" RESET "\002> ", label);
    else
        main_prompt = fxu_asprintf("%s> ", label);
    free(label);
    rl_set_prompt(chat_input_pending(&term_input) ? "... " : main_prompt);
}

static void
on_line(char *line)
{
    struct chat_conv *c = term_conv;
    if (line == NULL) { /* Ctrl-D on an empty line */
        fputs("\n", rl_outstream);
        fflush(rl_outstream);
        if (chat_input_pending(&term_input))
            handle_input(c, &term_input, 0);
        c->quit = 1;
    } else {
        if (!chat_input_pending(&term_input))
            term_input.hide = line[0] == ' ';
        history_add(line, term_input.hide);
        if (chat_input_feed(&term_input, line)) {
            handle_input(c, &term_input, 0);
            chat_input_reset(&term_input);
        }
        free(line);
    }
    if (c->quit) {
        /* no new prompt */
        rl_callback_handler_remove();
        return;
    }
    update_prompt();
}

/* Ctrl-C at the prompt: drop the line (and any unfinished multi-line
 * input), print a newline and a fresh prompt, as bash does. */
static void
prompt_sigint(void)
{
    rl_free_line_state();
    rl_callback_sigcleanup();
    rl_echo_signal_char(SIGINT);
    rl_cleanup_after_signal();
    chat_input_reset(&term_input);
    rl_replace_line("", 0);
    rl_point = rl_end = rl_mark = 0;
    fputs("\n", rl_outstream);
    fflush(rl_outstream);
    if (rl_editing_mode == 0) /* vi: back to insert mode */
        rl_vi_insertion_mode(1, 0);
    update_prompt();
    rl_reset_after_signal();
    rl_on_new_line();
    rl_redisplay();
}

/* A line from elsewhere (breaker events) while the user edits: clear the
 * visible input, print above it, redraw prompt and input as they were. */
static void
print_above_prompt(const char *msg)
{
    rl_clear_visible_line();
    fflush(rl_outstream); /* before stderr, or the clearing comes after */
    chat_screen_notice_line(term_screen, msg);
    rl_forced_update_display();
}

static void
drain_signals(void)
{
    char buf[64];
    ssize_t n = read(sig_pipe[0], buf, sizeof(buf));
    int sigint = 0, winch = 0;
    for (ssize_t i = 0; i < n; i++) {
        if (buf[i] == 'i')
            sigint = 1;
        else
            winch = 1;
    }
    if (winch)
        rl_resize_terminal();
    if (sigint) {
        interrupted = 0;
        prompt_sigint();
    }
}

/* Lines from the watcher thread; a partial line waits for its end. */
static void
drain_events(int fd, fxu_buf *pending)
{
    char buf[4096];
    ssize_t n = read(fd, buf, sizeof(buf));
    if (n <= 0)
        return;
    fxu_buf_append(pending, buf, (size_t)n);
    char *start = pending->data, *nl;
    while ((nl = memchr(start, '\n',
                        pending->len - (size_t)(start - pending->data)))) {
        *nl = '\0';
        if (!tool_quiet)
            print_above_prompt(start);
        start = nl + 1;
    }
    size_t rest = pending->len - (size_t)(start - pending->data);
    memmove(pending->data, start, rest);
    pending->len = rest;
    pending->data[rest] = '\0';
}

static void
init_readline(void)
{
    rl_readline_name = "flexiai"; /* for $if flexiai in inputrc */
    rl_catch_signals = 0;         /* SIGINT and SIGWINCH are ours */
    rl_catch_sigwinch = 0;
    rl_change_environment = 0; /* no LINES/COLUMNS for api_key_cmd */
    rl_attempted_completion_function = chat_completion;
    if (!isatty(STDOUT_FILENO) && isatty(STDERR_FILENO))
        rl_outstream = stderr; /* stdout is a pipe: prompts stay visible */
}

void
chat_term_init(struct chat_conv *c, struct chat_screen *s)
{
    term_conv = c;
    term_screen = s;
    init_readline();
    history_init();
}

void
chat_term_run(int event_fd)
{
    struct chat_conv *c = term_conv;
    fxu_buf pending;
    fxu_buf_init(&pending);
    chat_input_init(&term_input);
    update_prompt();
    rl_callback_handler_install(main_prompt, on_line);
    while (!c->quit) {
        struct pollfd fds[3] = {
            {STDIN_FILENO, POLLIN, 0},
            {sig_pipe[0], POLLIN, 0},
            {event_fd, POLLIN, 0},
        };
        int n = poll(fds, event_fd >= 0 ? 3 : 2, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            tool_err("poll: %s", strerror(errno));
            break;
        }
        if (fds[1].revents & POLLIN)
            drain_signals();
        if (event_fd >= 0 && (fds[2].revents & POLLIN))
            drain_events(event_fd, &pending);
        if (fds[0].revents & POLLNVAL)
            break;
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR))
            rl_callback_read_char();
    }
    if (!c->quit)
        rl_callback_handler_remove();
    fxu_buf_free(&pending);
    chat_input_free(&term_input);
    compl_reset();
    free(main_prompt);
    main_prompt = NULL;
}

void
chat_term_done(void)
{
    history_done();
    term_conv = NULL;
    term_screen = NULL;
}
