/*
 * tools-exec.c - child processes for tools: a [tool.NAME] command run
 * once, and the start and end of an MCP server (tools-mcp.c).
 *
 * A child is started with fork and exec of its argv (never a shell), in
 * its own session (setsid: no controlling terminal, its own process
 * group), with pipes on fds 0-2 and every other fd closed, default signal
 * dispositions, and an environment of PATH, HOME, LANG and the variables
 * its section's env names.  It ends with its whole process group:
 * SIGTERM, a grace period, SIGKILL, and is always reaped.
 *
 * A [tool.NAME] run: the call's arguments (JSON) on stdin, then stdin
 * closed; stdout, up to max_output bytes, is the result (cut with a
 * marker); stderr (4 KiB kept) goes into an error result; a non-zero
 * exit, a signal, the timeout and Ctrl-C are error results.
 */
#include "config.h"

#include "tool.h"
#include "tools-int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define STDERR_KEEP 4096

void
tx_strv_free(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

static char **
env_add(char **env, size_t *n, const char *name, const char *value)
{
    for (size_t i = 0; i < *n; i++) {
        size_t len = strlen(name);
        if (strncmp(env[i], name, len) == 0 && env[i][len] == '=')
            return env; /* named twice */
    }
    env = fxu_xrealloc(env, (*n + 2) * sizeof(*env));
    env[(*n)++] = fxu_asprintf("%s=%s", name, value);
    env[*n] = NULL;
    return env;
}

char **
tx_env(const char *const *names)
{
    char **env = fxu_xcalloc(1, sizeof(*env));
    size_t n = 0;
    const char *path = getenv("PATH");
    env = env_add(env, &n, "PATH",
                  path && *path ? path : "/usr/local/bin:/usr/bin:/bin");
    static const char *const fixed[] = {"HOME", "LANG"};
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++)
        if (getenv(fixed[i]))
            env = env_add(env, &n, fixed[i], getenv(fixed[i]));
    for (size_t i = 0; names && names[i]; i++)
        if (getenv(names[i]))
            env = env_add(env, &n, names[i], getenv(names[i]));
    return env;
}

/* In the child, before exec: only fds 0-2 and `keep` (close-on-exec)
 * survive the exec. */
static void
close_others(int keep)
{
#if defined(SYS_close_range) && defined(CLOSE_RANGE_CLOEXEC)
    if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
        return;
#endif
    long max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 65536)
        max = 65536;
    for (int fd = 3; fd < max; fd++)
        if (fd != keep)
            close(fd);
}

static void
child(const char *const *argv, char **env, int in, int out, int err, int st)
{
    setsid();
    if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(err, 2) < 0)
        _exit(127);
    close_others(st);
    static const int sigs[] = {SIGPIPE, SIGINT,  SIGTERM, SIGQUIT,
                               SIGHUP,  SIGCHLD, SIGALRM, SIGTSTP,
                               SIGTTIN, SIGTTOU, SIGWINCH};
    for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        signal(sigs[i], SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execvpe(argv[0], (char *const *)argv, env);
    int e = errno;
    if (write(st, &e, sizeof(e)) < 0)
        _exit(127);
    _exit(127);
}

static void
close_pair(int p[2])
{
    if (p[0] >= 0)
        close(p[0]);
    if (p[1] >= 0)
        close(p[1]);
}

int
tx_spawn(const char *const *argv, const char *const *names, struct tx_proc *p,
         char **err)
{
    int in[2] = {-1, -1}, out[2] = {-1, -1}, er[2] = {-1, -1}, st[2] = {-1, -1};
    p->pid = 0;
    p->in = p->out = p->err = -1;
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0 ||
        pipe2(er, O_CLOEXEC) != 0 || pipe2(st, O_CLOEXEC) != 0) {
        *err = fxu_asprintf("cannot run '%s': %s", argv[0], strerror(errno));
        close_pair(in);
        close_pair(out);
        close_pair(er);
        close_pair(st);
        return -1;
    }
    char **env = tx_env(names);
    pid_t pid = fork();
    if (pid == 0)
        child(argv, env, in[0], out[1], er[1], st[1]);
    int fork_errno = errno;
    tx_strv_free(env);
    close(in[0]);
    close(out[1]);
    close(er[1]);
    close(st[1]);
    int e = 0;
    ssize_t got = -1;
    if (pid > 0)
        do
            got = read(st[0], &e, sizeof(e));
        while (got < 0 && errno == EINTR);
    close(st[0]);
    if (pid < 0 || got != 0) {
        if (pid > 0)
            waitpid(pid, NULL, 0);
        *err = fxu_asprintf("cannot run '%s': %s", argv[0],
                            strerror(pid < 0 ? fork_errno : e));
        close(in[1]);
        close(out[0]);
        close(er[0]);
        return -1;
    }
    p->pid = pid;
    p->in = in[1];
    p->out = out[0];
    p->err = er[0];
    fcntl(p->in, F_SETFL, fcntl(p->in, F_GETFL) | O_NONBLOCK);
    fcntl(p->out, F_SETFL, fcntl(p->out, F_GETFL) | O_NONBLOCK);
    fcntl(p->err, F_SETFL, fcntl(p->err, F_GETFL) | O_NONBLOCK);
    return 0;
}

/* write(2) without a SIGPIPE for a reader that is gone (EPIPE instead). */
int
tx_write_some(int fd, const char *buf, size_t len, size_t *off)
{
    sigset_t pipe_set, old;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigprocmask(SIG_BLOCK, &pipe_set, &old);
    ssize_t n = write(fd, buf + *off, len - *off);
    int e = errno;
    if (n < 0 && e == EPIPE) {
        struct timespec zero = {0, 0};
        sigtimedwait(&pipe_set, NULL, &zero);
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (n > 0)
        *off += (size_t)n;
    if (n < 0 && (e == EAGAIN || e == EINTR))
        return 0;
    errno = e;
    return n < 0 ? -1 : 0;
}

int
tx_drain(int *fd, fxu_buf *b, size_t cap, size_t *total)
{
    char chunk[16384];
    for (;;) {
        ssize_t n = read(*fd, chunk, sizeof(chunk));
        if (n > 0) {
            size_t room = b->len < cap ? cap - b->len : 0;
            fxu_buf_append(b, chunk, (size_t)n < room ? (size_t)n : room);
            *total += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return 1;
        close(*fd);
        *fd = -1;
        return 0;
    }
}

/* 1 when the child has exited (still a zombie: its group stays reserved) */
static int
exited(pid_t pid)
{
    siginfo_t si;
    memset(&si, 0, sizeof(si));
    if (waitid(P_PID, (id_t)pid, &si, WEXITED | WNOHANG | WNOWAIT) != 0)
        return errno == ECHILD;
    return si.si_pid == pid;
}

/* Kill what is left of the group, reap the leader; its wait status. */
static int
reap(struct tx_proc *p)
{
    int status = 0;
    kill(-p->pid, SIGKILL);
    while (waitpid(p->pid, &status, 0) < 0 && errno == EINTR)
        ;
    p->pid = 0;
    return status;
}

void
tx_stop(struct tx_proc *p, double grace)
{
    if (p->in >= 0)
        close(p->in);
    if (p->out >= 0)
        close(p->out);
    if (p->err >= 0)
        close(p->err);
    p->in = p->out = p->err = -1;
    if (p->pid <= 0)
        return;
    if (!exited(p->pid)) {
        kill(-p->pid, SIGTERM);
        double until = fxu_monotonic() + grace;
        while (!exited(p->pid) && fxu_monotonic() < until)
            fxu_sleep(0.01, NULL);
    }
    reap(p);
}

void
tx_cut_marker(fxu_buf *b, size_t kept, size_t total)
{
    if (total > kept)
        fxu_buf_printf(b, "\n[flexiai: output cut at %zu of %zu bytes]", kept,
                       total);
}

/* Text the model can read: NUL bytes and invalid UTF-8 as U+FFFD. */
static char *
as_text(const fxu_buf *b)
{
    char *copy = fxu_strndup(b->data ? b->data : "", b->len);
    for (size_t i = 0; i < b->len; i++)
        if (copy[i] == '\0')
            copy[i] = (char)0x80; /* never valid alone: replaced below */
    char *text = fxu_utf8_sanitize(copy, b->len, NULL);
    free(copy);
    return text;
}

enum run_end { RUN_DONE, RUN_TIMEOUT, RUN_CANCEL };

/* Feed stdin, read stdout and stderr until both end and the child exits,
 * the deadline passes or *cancel is set. */
static enum run_end
pump(struct tx_proc *p, const char *input, double deadline,
     volatile sig_atomic_t *cancel, fxu_buf *out, size_t out_cap,
     size_t *out_total, fxu_buf *err, size_t *err_total)
{
    size_t in_len = strlen(input), in_off = 0;
    if (in_len == 0) {
        close(p->in);
        p->in = -1;
    }
    for (;;) {
        if (cancel && *cancel)
            return RUN_CANCEL;
        double left = deadline - fxu_monotonic();
        if (left <= 0)
            return RUN_TIMEOUT;
        if (p->out < 0 && p->err < 0 && exited(p->pid))
            return RUN_DONE;
        struct pollfd fds[3];
        nfds_t n = 0;
        if (p->out >= 0)
            fds[n++] = (struct pollfd){.fd = p->out, .events = POLLIN};
        if (p->err >= 0)
            fds[n++] = (struct pollfd){.fd = p->err, .events = POLLIN};
        if (p->in >= 0)
            fds[n++] = (struct pollfd){.fd = p->in, .events = POLLOUT};
        int ms = left > 0.1 ? 100 : (int)(left * 1000) + 1;
        if (n == 0) { /* both closed, the child still runs */
            fxu_sleep(0.01, cancel);
            continue;
        }
        if (poll(fds, n, ms) <= 0)
            continue;
        if (p->in >= 0 && (tx_write_some(p->in, input, in_len, &in_off) != 0 ||
                           in_off == in_len)) {
            close(p->in); /* written, or the tool does not read it */
            p->in = -1;
        }
        if (p->out >= 0)
            tx_drain(&p->out, out, out_cap, out_total);
        if (p->err >= 0)
            tx_drain(&p->err, err, STDERR_KEEP, err_total);
    }
}

int
tx_run(const flexiai_tool_conf *c, const char *input,
       volatile sig_atomic_t *cancel, char **result, int *is_error)
{
    struct tx_proc p;
    char *why = NULL;
    *is_error = 1;
    if (tx_spawn(c->argv, c->env, &p, &why) != 0) {
        *result = fxu_asprintf("[flexiai: tool %s: %s]", c->name, why);
        free(why);
        return 0;
    }
    fxu_buf out, err;
    fxu_buf_init(&out);
    fxu_buf_init(&err);
    size_t out_total = 0, err_total = 0;
    enum run_end end =
        pump(&p, input ? input : "", fxu_monotonic() + c->timeout, cancel, &out,
             (size_t)c->max_output, &out_total, &err, &err_total);
    int status = 0;
    if (end == RUN_DONE) {
        status = reap(&p);
        tx_stop(&p, 0);
    } else {
        tx_stop(&p, 1.0);
    }
    fxu_buf res;
    fxu_buf_init(&res);
    if (end == RUN_CANCEL)
        fxu_buf_printf(&res, "[flexiai: tool %s was cancelled]", c->name);
    else if (end == RUN_TIMEOUT)
        fxu_buf_printf(&res,
                       "[flexiai: tool %s timed out after %g s and was "
                       "killed]",
                       c->name, c->timeout);
    else if (WIFSIGNALED(status))
        fxu_buf_printf(&res, "[flexiai: tool %s was killed by signal %d]",
                       c->name, WTERMSIG(status));
    else if (WEXITSTATUS(status) != 0)
        fxu_buf_printf(&res, "[flexiai: tool %s exited with status %d]",
                       c->name, WEXITSTATUS(status));
    else
        *is_error = 0;
    char *text = as_text(&out);
    fxu_buf shown;
    fxu_buf_init(&shown);
    fxu_buf_puts(&shown, text);
    free(text);
    tx_cut_marker(&shown, out.len, out_total);
    if (*is_error && err.len > 0) {
        char *etext = as_text(&err);
        fxu_buf_puts(&res, "\n");
        fxu_buf_puts(&res, etext);
        free(etext);
        tx_cut_marker(&res, err.len, err_total);
    }
    if (*is_error && shown.len > 0) {
        fxu_buf_puts(&res, "\n");
        fxu_buf_append(&res, shown.data, shown.len);
    } else if (!*is_error) {
        fxu_buf_append(&res, shown.data ? shown.data : "", shown.len);
    }
    fxu_buf_free(&shown);
    fxu_buf_free(&out);
    fxu_buf_free(&err);
    *result = fxu_buf_steal(&res);
    return 0;
}
