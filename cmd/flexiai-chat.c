/*
 * flexiai-chat - an interactive conversation with failover, on GNU
 * Readline.
 *
 * At a terminal: readline's callback interface inside a poll() loop over
 * stdin, a self-pipe for signals and a pipe fed by the breaker-event
 * watcher thread, so Ctrl-C, window size changes and breaker events are
 * handled between keystrokes without corrupting the line being edited.
 * Replies stream while the line handler runs; Ctrl-C then sets the
 * request's cancel flag and the library aborts the transfer.
 *
 * With stdin not a terminal: each input line is a user turn, each reply is
 * followed by a blank line, no prompts or colours, so it can be scripted.
 *
 * The slash commands live in chat-commands.c.
 */
#include "config.h"

#include "chat.h"

#include <cjson/cJSON.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <readline/history.h>
#include <readline/readline.h>
#include <readline/tilde.h>

#define HISTORY_MAX 2000 /* lines kept in the history file */
#define INTERRUPTED_MARK " [interrupted]"
#define DIM "\033[2m"
#define BOLD "\033[1m"
#define RESET "\033[0m"

/* Set by SIGINT; the cancel flag of the running request. */
static volatile sig_atomic_t interrupted;
/* A request runs: SIGINT only cancels it, the prompt is not involved. */
static volatile sig_atomic_t in_request;
/* Self-pipe: the signal handlers write 'i' (SIGINT) or 'w' (SIGWINCH). */
static int sig_pipe[2] = {-1, -1};

/* Readline's callbacks take no user data. */
static struct chat *g_chat;

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

enum { OPT_SESSION = TOOL_OPT_CMD, OPT_LOAD };

static const struct tool_option chat_opts[] = {
    {OPT_SESSION, 0, "session", "NAME",
     "keep the conversation as session NAME and resume it", 0, 0, NULL, NULL,
     NULL},
    {OPT_LOAD, 0, "load", "FILE",
     "start from a saved conversation (JSON messages)", TOOL_COMP_FILE, 0, NULL,
     NULL, NULL},
    {TOOL_OPT_END, 0, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL},
};

static const struct tool_option *const chat_groups[] = {
    chat_opts, tool_opts_request, tool_opts_global, NULL};

static const char *
readline_version(void)
{
    static char extra[64];
    snprintf(extra, sizeof(extra), "readline/%s", rl_library_version);
    return extra;
}

static const struct tool_command chat_command_desc = {
    .name = "chat",
    .synopsis = "[OPTIONS]",
    .description =
        "Talk with a model.  Replies stream as they arrive; a provider that "
        "fails is\nreplaced by the next one (-p fixes one; /provider auto "
        "undoes it).  Type /help\nfor the slash commands.",
    .groups = chat_groups,
    .footer =
        "With stdin not a terminal each line is one turn and each reply is "
        "followed by\na blank line; the exit code is then that of the last "
        "turn or command.\nSee flexiai-chat(1).",
    .version_extra = readline_version,
};

struct chat_opts {
    const char *session, *load;
};

static void
on_option(void *ud, int id, const char *arg)
{
    struct chat_opts *o = ud;
    if (id == OPT_SESSION)
        o->session = arg;
    else if (id == OPT_LOAD)
        o->load = arg;
}

/* ---- paths ------------------------------------------------------------ */

static char *
home_dir(void)
{
    const char *home = getenv("HOME");
    if (home && *home)
        return fxu_strdup(home);
    struct passwd *pw = getpwuid(getuid());
    return fxu_strdup(pw ? pw->pw_dir : "/");
}

/* ${VAR:-~/fallback}/flexiai; relative values are ignored, as XDG says. */
static char *
xdg_dir(const char *var, const char *fallback)
{
    const char *v = getenv(var);
    if (v && v[0] == '/')
        return fxu_asprintf("%s/flexiai", v);
    char *home = home_dir();
    char *dir = fxu_asprintf("%s/%s/flexiai", home, fallback);
    free(home);
    return dir;
}

char *
chat_expand_path(const char *path)
{
    return path[0] == '~' ? tilde_expand(path) : fxu_strdup(path);
}

/* ---- output ----------------------------------------------------------- */

void
chat_end_line(struct chat *c)
{
    if (!c->at_line_start) {
        tool_outs("\n");
        c->at_line_start = 1;
    }
    tool_out_flush();
}

void
chat_info(struct chat *c, const char *fmt, ...)
{
    if (!c->interactive)
        return;
    va_list ap;
    va_start(ap, fmt);
    char *s = fxu_vasprintf(fmt, ap);
    va_end(ap);
    tool_outs(s);
    tool_outs("\n");
    tool_out_flush();
    free(s);
}

static void
notice_line(const struct chat *c, const char *msg)
{
    fprintf(stderr, "%sflexiai: %s%s\n", c->colour ? DIM : "", msg,
            c->colour ? RESET : "");
    fflush(stderr);
}

void
chat_notice(struct chat *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = fxu_vasprintf(fmt, ap);
    va_end(ap);
    for (char *p = s; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    chat_end_line(c);
    notice_line(c, s);
    free(s);
}

/* The library's log: failover notices dim, the rest as common.c does. */
static void
chat_log(void *ud, int level, const char *msg)
{
    struct chat *c = ud;
    if (level == FLEXIAI_LOG_NOTICE) {
        if (!tool_quiet)
            chat_notice(c, "%s", msg);
        return;
    }
    if ((level == FLEXIAI_LOG_WARN && !tool_quiet) ||
        (level == FLEXIAI_LOG_ATTEMPT && tool_verbose) ||
        (level == FLEXIAI_LOG_DEBUG && tool_verbose > 1)) {
        chat_end_line(c);
        tool_err("%s", msg);
    }
}

/* ---- configuration and client ----------------------------------------- */

static int
provider_in(flexiai_config *cfg, const char *name)
{
    const char *const *names;
    size_t n = flexiai_config_providers(cfg, &names);
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return 1;
    return 0;
}

static flexiai_client *
new_client(struct chat *c)
{
    char *err = NULL;
    flexiai_client *client = flexiai_client_new(c->cfg, &err);
    if (client == NULL)
        tool_die(FLEXIAI_ESOFTWARE, "%s", err ? err : "cannot start");
    flexiai_client_set_log(client, chat_log, c);
    return client;
}

size_t
chat_providers(const struct chat *c, const char *const **names)
{
    return flexiai_config_providers(c->cfg, names);
}

int
chat_provider_known(const struct chat *c, const char *name)
{
    return provider_in(c->cfg, name);
}

const char *
chat_shown_provider(const struct chat *c)
{
    if (c->provider)
        return c->provider;
    if (c->last_provider && provider_in(c->cfg, c->last_provider))
        return c->last_provider;
    const char *const *names;
    return flexiai_config_providers(c->cfg, &names) ? names[0] : NULL;
}

const char *
chat_provider_model(const struct chat *c, const char *name)
{
    const char *model = flexiai_config_provider_model(c->cfg, name);
    return model ? model : "";
}

/* A validated configuration may not change under a client: free the
 * client, change and re-validate, then build a new one. */
int
chat_set_model(struct chat *c, const char *provider, const char *model)
{
    char *sec = fxu_asprintf("provider.%s", provider);
    char *old = fxu_strdup(chat_provider_model(c, provider));
    size_t before = flexiai_config_ndiags(c->cfg);
    flexiai_client_free(c->client);
    c->client = NULL;

    int rc = flexiai_config_set(c->cfg, sec, "model", model);
    if (rc == FLEXIAI_OK)
        rc = flexiai_config_validate(c->cfg, 0);
    if (rc != FLEXIAI_OK) {
        for (size_t i = before; i < flexiai_config_ndiags(c->cfg); i++) {
            const flexiai_diag *d = flexiai_config_diag(c->cfg, i);
            if (d->is_error) {
                tool_err("%s", d->text);
                break;
            }
        }
        flexiai_config_set(c->cfg, sec, "model", old);
        flexiai_config_validate(c->cfg, 0);
        rc = FLEXIAI_EUSAGE;
    }
    c->client = new_client(c);
    free(old);
    free(sec);
    return rc;
}

/* ---- the conversation ------------------------------------------------- */

void
chat_push(struct chat *c, const char *role, const char *content)
{
    if (c->nmsgs == c->cap) {
        c->cap = c->cap ? c->cap * 2 : 16;
        c->msgs = fxu_xrealloc(c->msgs, c->cap * sizeof(*c->msgs));
    }
    c->msgs[c->nmsgs].role = fxu_strdup(role);
    c->msgs[c->nmsgs].content = fxu_strdup(content);
    c->nmsgs++;
}

static void
free_msgs(struct chat_msg *msgs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(msgs[i].role);
        free(msgs[i].content);
    }
    free(msgs);
}

void
chat_pop(struct chat *c)
{
    if (c->nmsgs == 0)
        return;
    c->nmsgs--;
    free(c->msgs[c->nmsgs].role);
    free(c->msgs[c->nmsgs].content);
}

void
chat_clear(struct chat *c, int keep_system)
{
    size_t keep = keep_system && chat_system(c) ? 1 : 0;
    while (c->nmsgs > keep)
        chat_pop(c);
}

const char *
chat_system(const struct chat *c)
{
    if (c->nmsgs > 0 && strcmp(c->msgs[0].role, "system") == 0)
        return c->msgs[0].content;
    return NULL;
}

void
chat_set_system(struct chat *c, const char *text)
{
    if (chat_system(c)) {
        if (text) {
            free(c->msgs[0].content);
            c->msgs[0].content = fxu_strdup(text);
            return;
        }
        free(c->msgs[0].role);
        free(c->msgs[0].content);
        memmove(&c->msgs[0], &c->msgs[1], (c->nmsgs - 1) * sizeof(*c->msgs));
        c->nmsgs--;
        return;
    }
    if (text == NULL)
        return;
    chat_push(c, "system", text); /* makes room, then moves it first */
    struct chat_msg sys = c->msgs[c->nmsgs - 1];
    memmove(&c->msgs[1], &c->msgs[0], (c->nmsgs - 1) * sizeof(*c->msgs));
    c->msgs[0] = sys;
}

void
chat_replace(struct chat *c, struct chat_msg *msgs, size_t n)
{
    free_msgs(c->msgs, c->nmsgs);
    c->msgs = msgs;
    c->nmsgs = n;
    c->cap = n;
}

/* ---- conversation files ----------------------------------------------- */

int
chat_read_file(const char *path, struct chat_msg **out, size_t *nout,
               char **err)
{
    struct tool_msgs m = {NULL, 0, 0, 0};
    int rc = tool_msgs_read(path, &m, err);
    if (rc != 0)
        return rc;
    /* the strings move over to the chat's own messages */
    struct chat_msg *msgs = fxu_xcalloc(m.n + 1, sizeof(*msgs));
    for (size_t i = 0; i < m.n; i++) {
        msgs[i].role = (char *)m.v[i].role;
        msgs[i].content = (char *)m.v[i].content;
    }
    *out = msgs;
    *nout = m.n;
    free(m.v);
    return 0;
}

int
chat_write_file(const char *path, const struct chat *c, char **err)
{
    flexiai_message *v = fxu_xcalloc(c->nmsgs + 1, sizeof(*v));
    for (size_t i = 0; i < c->nmsgs; i++) {
        v[i].role = c->msgs[i].role;
        v[i].content = c->msgs[i].content;
    }
    int rc = tool_msgs_write(path, v, c->nmsgs, err);
    free(v);
    return rc;
}

void
chat_save_session(struct chat *c)
{
    if (c->session_path == NULL)
        return;
    char *dir = fxu_strdup(c->session_path);
    *strrchr(dir, '/') = '\0';
    char *err = NULL;
    if (fxu_make_dirs(dir) != 0)
        err = fxu_asprintf("%s: %s", dir, strerror(errno));
    else
        chat_write_file(c->session_path, c, &err);
    if (err) {
        chat_end_line(c);
        tool_err("cannot save the session: %s", err);
        free(err);
    }
    free(dir);
}

/* Length of s without trailing white space. */
static size_t
rtrim_len(const char *s)
{
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    return n;
}

/* ---- one turn --------------------------------------------------------- */

static int
on_text(void *ud, const char *text, size_t len)
{
    struct chat *c = ud;
    if (len) {
        tool_out(text, len);
        tool_out_flush();
        c->at_line_start = text[len - 1] == '\n';
    }
    return 0;
}

static void
remember_provider(struct chat *c, const char *name)
{
    if (name == NULL)
        return;
    free(c->last_provider);
    c->last_provider = fxu_strdup(name);
}

static void
turn_interrupted(struct chat *c, const char *question, flexiai_result *res)
{
    if (res->text && res->text[0]) {
        /* keep what arrived, marked, so the model and a resumed session
         * know the answer was cut short */
        if (c->interactive)
            tool_outs(c->colour ? DIM INTERRUPTED_MARK RESET
                                : INTERRUPTED_MARK);
        c->at_line_start = 0;
        chat_end_line(c);
        char *content = fxu_asprintf("%.*s%s", (int)rtrim_len(res->text),
                                     res->text, INTERRUPTED_MARK);
        chat_push(c, "assistant", content);
        free(content);
        remember_provider(c, res->provider);
    } else {
        /* nothing arrived: the question is dropped, /retry asks again */
        chat_pop(c);
        c->last_question = fxu_strdup(question);
        chat_end_line(c);
        if (c->interactive)
            chat_notice(c, "interrupted (nothing received; /retry asks "
                           "again)");
    }
    if (!c->interactive)
        tool_err("interrupted");
    chat_save_session(c);
}

int
chat_turn(struct chat *c, const char *text)
{
    free(c->last_question);
    c->last_question = NULL;
    chat_push(c, "user", text);

    flexiai_message *msgs = fxu_xcalloc(c->nmsgs, sizeof(*msgs));
    for (size_t i = 0; i < c->nmsgs; i++) {
        msgs[i].role = c->msgs[i].role;
        msgs[i].content = c->msgs[i].content;
    }
    flexiai_request req = {
        .messages = msgs,
        .nmessages = c->nmsgs,
        .provider = c->provider,
        .no_failover = c->args.no_failover,
        /* a chat streams unless told stream = no */
        .stream = flexiai_config_stream_mode(c->cfg) != FLEXIAI_STREAM_NEVER,
        .on_stream_error = tool_on_stream_error(c->cfg, &c->args),
        .on_text = on_text,
        .ud = c,
        .cancel = &interrupted,
    };
    flexiai_result res;
    c->at_line_start = 1;
    if (c->interactive)
        interrupted = 0; /* scripted, a SIGINT between turns still ends it */
    in_request = 1;
    int rc = flexiai_complete(c->client, &req, &res);
    in_request = 0;
    free(msgs);

    if (rc == FLEXIAI_OK) {
        if (!res.streamed_output && res.text)
            on_text(c, res.text, strlen(res.text));
        chat_end_line(c);
        if (!c->interactive)
            tool_outs("\n"); /* a blank line after each reply */
        tool_out_flush();
        chat_push(c, "assistant", res.text ? res.text : "");
        remember_provider(c, res.provider);
        chat_save_session(c);
    } else if (rc == FLEXIAI_EINTR) {
        turn_interrupted(c, text, &res);
    } else {
        int printed = !c->at_line_start || res.streamed_output;
        chat_end_line(c);
        if (printed && !c->interactive)
            tool_outs("\n");
        tool_out_flush();
        chat_pop(c);
        c->last_question = fxu_strdup(text);
        tool_err("%s", res.error ? res.error : "request failed");
    }
    flexiai_result_free(&res);
    return rc;
}

/* ---- input: continuation lines and """ blocks ------------------------- */

struct input {
    fxu_buf text;
    int state; /* 0 idle, 1 after a trailing backslash, 2 inside """ */
    int block; /* the input is a """ block: never a command */
    int hide;  /* first line started with a space: not in history */
};

static void
input_reset(struct input *in)
{
    fxu_buf_reset(&in->text);
    in->state = 0;
    in->block = 0;
    in->hide = 0;
}

static int
input_pending(const struct input *in)
{
    return in->state != 0;
}

static int
ends_with_quotes(const char *s, size_t n)
{
    return n >= 3 && memcmp(s + n - 3, "\"\"\"", 3) == 0;
}

/* Add one physical line; returns 1 when in->text holds a whole input. */
static int
input_feed(struct input *in, const char *line)
{
    if (in->state == 2) {
        size_t n = rtrim_len(line);
        if (ends_with_quotes(line, n)) {
            fxu_buf_append(&in->text, line, n - 3);
            if (n == 3 && in->text.len > 0 &&
                in->text.data[in->text.len - 1] == '\n')
                in->text.data[--in->text.len] = '\0';
            in->state = 0;
            return 1;
        }
        fxu_buf_puts(&in->text, line);
        fxu_buf_putc(&in->text, '\n');
        return 0;
    }
    if (in->state == 0) {
        in->hide = line[0] == ' ';
        const char *p = line;
        while (isspace((unsigned char)*p))
            p++;
        if (strncmp(p, "\"\"\"", 3) == 0) {
            in->block = 1;
            p += 3;
            size_t n = rtrim_len(p);
            if (ends_with_quotes(p, n)) { /* """one line""" */
                fxu_buf_append(&in->text, p, n - 3);
                return 1;
            }
            if (n > 0) {
                fxu_buf_puts(&in->text, p);
                fxu_buf_putc(&in->text, '\n');
            }
            in->state = 2;
            return 0;
        }
    }
    size_t n = strlen(line);
    if (n > 0 && line[n - 1] == '\\') {
        fxu_buf_append(&in->text, line, n - 1);
        fxu_buf_putc(&in->text, '\n');
        in->state = 1;
        return 0;
    }
    fxu_buf_puts(&in->text, line);
    in->state = 0;
    return 1;
}

/* A whole input: a slash command, or a user turn. */
static void
handle_input(struct chat *c, const struct input *in)
{
    const char *text = in->text.data ? in->text.data : "";
    if (!in->block) {
        while (isspace((unsigned char)*text))
            text++;
        if (text[0] == '/' && text[1] != '/') {
            c->last_rc = chat_command(c, text);
            return;
        }
        if (text[0] == '/')
            text++; /* "//..." sends "/..." */
    }
    if (rtrim_len(text) == 0)
        return;
    c->last_rc = chat_turn(c, text);
}

/* ---- scripted mode: stdin not a terminal ------------------------------ */

static int
run_piped(struct chat *c)
{
    struct input in = {0};
    fxu_buf_init(&in.text);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    while (!c->quit && !interrupted) {
        errno = 0;
        len = getline(&line, &cap, stdin);
        if (len < 0)
            break;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (input_feed(&in, line)) {
            handle_input(c, &in);
            input_reset(&in);
        }
    }
    if (!c->quit && !interrupted && input_pending(&in))
        handle_input(c, &in); /* end of input closes an open block */
    free(line);
    fxu_buf_free(&in.text);
    if (interrupted)
        return FLEXIAI_EINTR;
    return c->last_rc;
}

/* ---- history ---------------------------------------------------------- */

static char *history_path;

static void
history_init(void)
{
    char *dir = xdg_dir("XDG_STATE_HOME", ".local/state");
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

/* ---- tab completion --------------------------------------------------- */

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
    size_t n = chat_providers(g_chat, &names);
    for (size_t i = 0; i < n; i++)
        compl_add(names[i]);
    if (with_auto)
        compl_add("auto");
}

static struct input g_input; /* the input being typed at the terminal */

static char **
chat_completion(const char *text, int start, int end)
{
    (void)end;
    rl_attempted_completion_over = 1; /* no file names in a question */
    compl_reset();
    if (input_pending(&g_input))
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
    switch (cmd->complete) {
    case CHAT_COMPLETE_FILE:
        if (arg == 0)
            rl_attempted_completion_over = 0; /* readline's file names */
        return NULL;
    case CHAT_COMPLETE_PROVIDER:
        if (arg == 0)
            compl_providers(1);
        break;
    case CHAT_COMPLETE_COMMAND:
        if (arg == 0)
            for (size_t k = 0; k < chat_ncmds; k++)
                compl_add(chat_cmds[k].name);
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
    if (compl_n == 0)
        return NULL;
    return rl_completion_matches(text, compl_generator);
}

/* ---- the terminal: readline in a poll loop ---------------------------- */

static char *main_prompt;

static void
update_prompt(struct chat *c)
{
    const char *prov = chat_shown_provider(c);
    char *label =
        prov ? fxu_asprintf("%s:%s", prov, chat_provider_model(c, prov))
             : fxu_strdup("flexiai");
    free(main_prompt);
    /* \001 \002 tell readline the escapes take no room */
    if (c->colour)
        main_prompt =
            fxu_asprintf("\001" BOLD "\002%s\001" RESET "\002> ", label);
    else
        main_prompt = fxu_asprintf("%s> ", label);
    free(label);
    rl_set_prompt(input_pending(&g_input) ? "... " : main_prompt);
}

static void
on_line(char *line)
{
    struct chat *c = g_chat;
    if (line == NULL) { /* Ctrl-D on an empty line */
        fputs("\n", rl_outstream);
        fflush(rl_outstream);
        if (input_pending(&g_input))
            handle_input(c, &g_input);
        c->quit = 1;
    } else {
        if (!input_pending(&g_input))
            g_input.hide = line[0] == ' ';
        history_add(line, g_input.hide);
        if (input_feed(&g_input, line)) {
            handle_input(c, &g_input);
            input_reset(&g_input);
        }
        free(line);
    }
    if (c->quit) {
        /* no new prompt */
        rl_callback_handler_remove();
        return;
    }
    update_prompt(c);
}

/* Ctrl-C at the prompt: drop the line (and any unfinished multi-line
 * input), print a newline and a fresh prompt, as bash does. */
static void
prompt_sigint(struct chat *c)
{
    rl_free_line_state();
    rl_callback_sigcleanup();
    rl_echo_signal_char(SIGINT);
    rl_cleanup_after_signal();
    input_reset(&g_input);
    rl_replace_line("", 0);
    rl_point = rl_end = rl_mark = 0;
    fputs("\n", rl_outstream);
    fflush(rl_outstream);
    if (rl_editing_mode == 0) /* vi: back to insert mode */
        rl_vi_insertion_mode(1, 0);
    update_prompt(c);
    rl_reset_after_signal();
    rl_on_new_line();
    rl_redisplay();
}

/* A line from elsewhere (breaker events) while the user edits: clear the
 * visible input, print above it, redraw prompt and input as they were. */
static void
print_above_prompt(struct chat *c, const char *msg)
{
    rl_clear_visible_line();
    fflush(rl_outstream); /* before stderr, or the clearing comes after */
    notice_line(c, msg);
    rl_forced_update_display();
}

static void
drain_signals(struct chat *c)
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
        prompt_sigint(c);
    }
}

/* Lines from the watcher thread; a partial line waits for its end. */
static void
drain_events(struct chat *c, int fd, fxu_buf *pending)
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
            print_above_prompt(c, start);
        start = nl + 1;
    }
    size_t rest = pending->len - (size_t)(start - pending->data);
    memmove(pending->data, start, rest);
    pending->len = rest;
    pending->data[rest] = '\0';
}

static void
run_terminal(struct chat *c, int event_fd)
{
    fxu_buf pending;
    fxu_buf_init(&pending);
    fxu_buf_init(&g_input.text);
    update_prompt(c);
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
            drain_signals(c);
        if (event_fd >= 0 && (fds[2].revents & POLLIN))
            drain_events(c, event_fd, &pending);
        if (fds[0].revents & POLLNVAL)
            break;
        if (fds[0].revents & (POLLIN | POLLHUP | POLLERR))
            rl_callback_read_char();
    }
    if (!c->quit)
        rl_callback_handler_remove();
    fxu_buf_free(&pending);
    fxu_buf_free(&g_input.text);
    compl_reset();
    free(main_prompt);
    main_prompt = NULL;
}

/* ---- breaker events (Redis): a thread writes lines into a pipe -------- */

struct watcher {
    pthread_t thread;
    flexiai_config *cfg; /* its own: the main one is re-validated */
    flexiai_client *client;
    int fd[2];
    volatile sig_atomic_t stop;
};

static void
watcher_say(struct watcher *w, const char *line)
{
    char buf[512];
    int n = snprintf(buf, sizeof(buf), "%s\n", line);
    if (n > (int)sizeof(buf) - 1) {
        n = (int)sizeof(buf) - 1;
        buf[n - 1] = '\n';
    }
    /* non-blocking: when the main loop is busy and the pipe is full, a
     * notice is dropped rather than the watcher stalled */
    ssize_t r = write(w->fd[1], buf, (size_t)n);
    (void)r;
}

static int
watcher_event(void *ud, const flexiai_event *ev)
{
    struct watcher *w = ud;
    if (strcmp(ev->event_type, "opened") != 0 &&
        strcmp(ev->event_type, "closed") != 0)
        return 0;
    if (!provider_in(w->cfg, ev->provider))
        return 0;
    char line[400];
    snprintf(line, sizeof(line), "breaker of %.100s %s%s%.150s%s", ev->provider,
             ev->event_type, ev->worker_id[0] ? " (by " : "", ev->worker_id,
             ev->worker_id[0] ? ")" : "");
    watcher_say(w, line);
    return 0;
}

static void
watcher_log(void *ud, int level, const char *msg)
{
    if (level == FLEXIAI_LOG_WARN ||
        (level == FLEXIAI_LOG_ATTEMPT && tool_verbose))
        watcher_say(ud, msg);
}

static void *
watcher_main(void *ud)
{
    struct watcher *w = ud;
    flexiai_breaker_watch(w->client, watcher_event, w, &w->stop);
    return NULL;
}

/* Start watching when [sync] backend = redis; NULL otherwise. */
static struct watcher *
watcher_start(struct chat *c)
{
    if (strcmp(flexiai_config_backend(c->cfg), "redis") != 0)
        return NULL;
    struct watcher *w = fxu_xcalloc(1, sizeof(*w));
    int rc;
    w->cfg = tool_setup_config(&c->args,
                               TOOL_SETUP_KEEP_ERRORS | TOOL_SETUP_SILENT, &rc);
    char *err = NULL;
    if (rc != FLEXIAI_OK || pipe(w->fd) != 0 ||
        (w->client = flexiai_client_new(w->cfg, &err)) == NULL) {
        tool_warn("breaker events not shown: %s", err ? err : "cannot start");
        free(err);
        flexiai_config_free(w->cfg);
        free(w);
        return NULL;
    }
    fcntl(w->fd[0], F_SETFD, FD_CLOEXEC);
    fcntl(w->fd[1], F_SETFD, FD_CLOEXEC);
    fcntl(w->fd[0], F_SETFL, O_NONBLOCK);
    fcntl(w->fd[1], F_SETFL, O_NONBLOCK);
    flexiai_client_set_log(w->client, watcher_log, w);
    /* the thread must not take SIGINT/SIGWINCH meant for the main loop */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, &old);
    rc = pthread_create(&w->thread, NULL, watcher_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        tool_warn("breaker events not shown: %s", strerror(rc));
        flexiai_client_free(w->client);
        flexiai_config_free(w->cfg);
        close(w->fd[0]);
        close(w->fd[1]);
        free(w);
        return NULL;
    }
    return w;
}

static void
watcher_stop(struct watcher *w)
{
    if (w == NULL)
        return;
    w->stop = 1;
    pthread_join(w->thread, NULL);
    flexiai_client_free(w->client);
    flexiai_config_free(w->cfg);
    close(w->fd[0]);
    close(w->fd[1]);
    free(w);
}

/* ---- main ------------------------------------------------------------- */

static int
colour_wanted(void)
{
    const char *term = getenv("TERM");
    if (getenv("NO_COLOR") != NULL)
        return 0;
    if (term == NULL || *term == '\0' || strcmp(term, "dumb") == 0)
        return 0;
    return isatty(STDOUT_FILENO) && isatty(STDERR_FILENO);
}

static void
check_session_name(const char *name)
{
    if (name[0] == '\0' || name[0] == '.' || strchr(name, '/'))
        tool_usage_error("bad session name '%s' (no '/', no leading '.')",
                         name);
}

static void
install_signals(int interactive)
{
    if (interactive) {
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
    if (interactive)
        sigaction(SIGWINCH, &sa, NULL);
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

int
main(int argc, char **argv)
{
    struct chat chat;
    struct chat *c = &chat;
    memset(c, 0, sizeof(*c));
    g_chat = c;
    struct chat_opts o = {NULL, NULL};
    tool_args_init(&c->args);
    tool_cmd_init("flexiai chat");
    int first = tool_parse(&chat_command_desc, NULL, argc, argv, 0, &c->args,
                           on_option, &o);
    if (first < argc)
        tool_usage_error("unexpected argument '%s'", argv[first]);
    const char *session = o.session, *load = o.load;
    const char *system = NULL, *provider = c->args.provider;
    /* -s is the conversation's system message, not a setting */
    for (size_t i = 0; i < c->args.nover; i++)
        if (strcmp(c->args.over[i].key, "system") == 0) {
            system = c->args.over[i].value;
            c->args.over[i] = c->args.over[--c->args.nover];
            break;
        }
    if (session)
        check_session_name(session);

    /* configuration, as every command loads it */
    c->cfg = tool_setup_config(&c->args, 0, NULL);
    int rc;
    c->provider = fxu_strdup(provider);

    c->interactive = isatty(STDIN_FILENO);
    c->colour = c->interactive && colour_wanted();
    c->at_line_start = 1;

    /* the conversation to start from */
    if (session) {
        char *dir = xdg_dir("XDG_DATA_HOME", ".local/share");
        c->session_path = fxu_asprintf("%s/sessions/%s.json", dir, session);
        free(dir);
    }
    const char *from = load ? load : NULL;
    if (from == NULL && c->session_path && access(c->session_path, F_OK) == 0)
        from = c->session_path;
    if (from) {
        struct chat_msg *msgs;
        size_t n;
        char *err = NULL;
        rc = chat_read_file(from, &msgs, &n, &err);
        if (rc != 0)
            tool_die(rc, "%s", err);
        chat_replace(c, msgs, n);
    }
    if (system)
        chat_set_system(c, system);
    if (c->session_path && (load || system))
        chat_save_session(c); /* the session starts from there */

    c->client = new_client(c);
    install_signals(c->interactive);

    if (c->interactive) {
        init_readline();
        history_init();
        struct watcher *w = watcher_start(c);
        if (from && c->nmsgs)
            chat_info(c, "%zu message%s from %s", c->nmsgs,
                      c->nmsgs == 1 ? "" : "s", from);
        run_terminal(c, w ? w->fd[0] : -1);
        watcher_stop(w);
        history_done();
        rc = 0;
    } else {
        rc = run_piped(c);
    }

    flexiai_client_free(c->client);
    flexiai_config_free(c->cfg);
    free_msgs(c->msgs, c->nmsgs);
    free(c->last_question);
    free(c->provider);
    free(c->last_provider);
    free(c->session_path);
    if (sig_pipe[0] >= 0) {
        close(sig_pipe[0]);
        close(sig_pipe[1]);
    }
    tool_out_flush();
    return rc;
}
