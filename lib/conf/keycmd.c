/*
 * keycmd.c - secrets in a process: api_key_cmd run bounded and alone (its
 * own process group, only fds 0-2, a timeout, 64 KiB of output at most,
 * killed on SIGINT/SIGTERM), and no core dumps once a secret is in memory.
 */
#include "config.h"

#include "conf.h"
#include "fx.h"
#include "providers/providers.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif

/* Once a secret is in memory, no core dump may hold it (unless
 * FLEXIAI_ALLOW_CORE=1, for debugging). */
void
fx_secret_in_memory(void)
{
#ifdef __linux__
    const char *allow = getenv("FLEXIAI_ALLOW_CORE");
    if (allow == NULL || strcmp(allow, "1") != 0)
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
#endif
}

#define KEY_CMD_OUTPUT_MAX (64 * 1024) /* read no more of its output */

/* SIGINT/SIGTERM while a key command runs: noted here, the command is
 * killed, then the signal is raised again for the program's own handler */
static volatile sig_atomic_t key_cmd_signal;

static void
on_key_cmd_signal(int sig)
{
    key_cmd_signal = sig;
}

/* In the child: only fds 0-2 survive exec (the Redis socket, the ledger,
 * lock files stay ours), default signal handling, a process group of its
 * own so that a timeout kills everything it started. */
static void
key_cmd_child(const char *cmd, int out_fd)
{
    setpgid(0, 0);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out_fd, 1) < 0)
        _exit(127);
#if defined(__linux__) && defined(SYS_close_range)
    if (syscall(SYS_close_range, 3U, ~0U, 0U) != 0)
#endif
    {
        long max = sysconf(_SC_OPEN_MAX);
        if (max < 0 || max > 65536)
            max = 65536;
        for (int fd = 3; fd < max; fd++)
            close(fd);
    }
    struct sigaction dfl;
    memset(&dfl, 0, sizeof(dfl));
    dfl.sa_handler = SIG_DFL;
    sigaction(SIGPIPE, &dfl, NULL);
    sigaction(SIGINT, &dfl, NULL);
    sigaction(SIGTERM, &dfl, NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
    _exit(127);
}

/* Run `cmd` with /bin/sh; its first line of stdout, read up to the first
 * newline and KEY_CMD_OUTPUT_MAX bytes, within `timeout` seconds.  Returns
 * 0 (*status: exit status), -1 could not run, -2 timed out, -3 a signal
 * came.  The output is never put in a message: it may be the key. */
int
fx_run_key_cmd(const char *cmd, double timeout, char **out, int *status)
{
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0)
        return -1;
    struct sigaction sa, old_int, old_term;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_key_cmd_signal;
    key_cmd_signal = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    pid_t pid = fork();
    if (pid < 0) {
        close(pfd[0]);
        close(pfd[1]);
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        return -1;
    }
    if (pid == 0)
        key_cmd_child(cmd, pfd[1]);
    setpgid(pid, pid); /* also here: no race with the kill below */
    close(pfd[1]);

    fxu_buf b;
    fxu_buf_init(&b);
    double deadline = fxu_monotonic() + timeout;
    int rc = 0, st = 0, reaped = 0, reading = 1, closed_early = 0;
    while (rc == 0 && !reaped) {
        if (key_cmd_signal) {
            rc = -3;
            break;
        }
        double left = deadline - fxu_monotonic();
        if (left <= 0) {
            rc = -2;
            break;
        }
        if (reading) {
            struct pollfd p = {.fd = pfd[0], .events = POLLIN};
            int ms = left > 0.1 ? 100 : (int)(left * 1000) + 1;
            int n = poll(&p, 1, ms);
            if (n < 0 && errno != EINTR)
                reading = 0;
            if (n > 0) {
                char tmp[4096];
                ssize_t got = read(pfd[0], tmp, sizeof(tmp));
                if (got > 0 && b.len < KEY_CMD_OUTPUT_MAX)
                    fxu_buf_append(&b, tmp,
                                   (size_t)got < KEY_CMD_OUTPUT_MAX - b.len
                                       ? (size_t)got
                                       : KEY_CMD_OUTPUT_MAX - b.len);
                if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN))
                    reading = 0;
                if ((b.len && memchr(b.data, '\n', b.len)) ||
                    b.len >= KEY_CMD_OUTPUT_MAX)
                    reading = 0; /* a line, or all we would take */
                if (got > 0 && !reading)
                    closed_early = 1;
            }
            if (!reading) {
                close(pfd[0]);
                pfd[0] = -1;
            }
            continue;
        }
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid)
            reaped = 1;
        else if (w < 0 && errno != EINTR)
            break;
        else
            fxu_sleep(0.01, NULL);
    }
    if (pfd[0] >= 0)
        close(pfd[0]);
    if (!reaped) {
        kill(-pid, SIGKILL); /* the whole group: no orphan "sleep 1000" */
        while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
            ;
    } else {
        kill(-pid, SIGKILL); /* what it left running in the background */
    }
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    if (rc == -3)
        raise(key_cmd_signal); /* the program's own handling, or death */
    if (rc != 0) {
        if (b.data)
            memset(b.data, 0, b.len);
        fxu_buf_free(&b);
        return rc;
    }
    *status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
    /* it was still writing when we had our line and closed the pipe */
    if (closed_early && WIFSIGNALED(st) && WTERMSIG(st) == SIGPIPE)
        *status = 0;
    if (closed_early && WIFEXITED(st) && WEXITSTATUS(st) == 128 + SIGPIPE)
        *status = 0; /* sh reports its child's SIGPIPE so */
    fxu_buf_putc(&b, '\0');
    char *s = fxu_buf_steal(&b);
    char *nl = strpbrk(s, "\r\n");
    if (nl)
        *nl = '\0';
    *out = s;
    return 0;
}
