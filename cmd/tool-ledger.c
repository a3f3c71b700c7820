/*
 * tool-ledger.c - the request ledger as the request commands see it: one
 * call after every request (complete, each chat turn) appends its record
 * through flexiai_ledger_log(), honouring --no-log and --tag, under the
 * process's conversation id.  Logging never costs an answer: a failure is
 * one warning line per process and changes no exit code.  The record goes
 * to the ledger's spool with one write (no SQLite in this process); the
 * readers (logs, usage, -C/--cid) move it into the database.  When to do
 * that without waiting for a reader is the commands' policy, decided
 * here: once the spool has passed [log] spool_max the request commands
 * start `flexiai logs import` in the background, as git starts gc --auto.
 */
#include "config.h"

#include "flexiai-ledger.h"
#include "tool-fragment.h"
#include "tool.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char *process_cid;
static int warned;

const char *
tool_ledger_cid(void)
{
    if (process_cid == NULL)
        process_cid = flexiai_ledger_new_cid();
    return process_cid;
}

double
tool_when(const char *opt, const char *arg)
{
    double t;
    if (flexiai_ledger_parse_when(arg, &t) != FLEXIAI_OK)
        tool_usage_error("%s needs a date (2026-11-01, 2026-11-01 14:30) or a "
                         "duration back from now (2h, 90d), not '%s'",
                         opt, arg);
    return t;
}

/* <path>.spool.importing: when a background import was last started (its
 * mtime), NULL when the ledger has no path.  Caller frees. */
static char *
import_stamp(const flexiai_config *cfg)
{
    char *path = NULL;
    if (flexiai_ledger_path(cfg, &path, NULL) != FLEXIAI_OK)
        return NULL;
    char *stamp = fxu_asprintf("%s.spool.importing", path);
    free(path);
    return stamp;
}

/* The spool has passed [log] spool_max (0: never) and no import was
 * started in the last minute: one that fails (a corrupt database) is not
 * started again by every request.  Claims the minute when due. */
static int
import_due(const flexiai_config *cfg)
{
    long long bytes = 0, max = 0;
    if (!flexiai_ledger_enabled(cfg) ||
        flexiai_ledger_spool_size(cfg, &bytes, &max, NULL) != FLEXIAI_OK ||
        max <= 0 || bytes < max)
        return 0;
    char *stamp = import_stamp(cfg);
    if (stamp == NULL)
        return 0;
    struct stat st;
    int due =
        !(stat(stamp, &st) == 0 && fxu_wallclock() - (double)st.st_mtime < 60);
    int fd =
        due ? open(stamp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW,
                   0600)
            : -1;
    if (fd >= 0) {
        if (futimens(fd, NULL) < 0) {
            /* the stamp is a hint: created, it is new enough */
        }
        close(fd);
    }
    free(stamp);
    return due;
}

void
tool_ledger_import_over(const flexiai_config *cfg)
{
    long long bytes = 0, max = 0;
    if (flexiai_ledger_spool_size(cfg, &bytes, &max, NULL) != FLEXIAI_OK ||
        (max > 0 && bytes >= max))
        return; /* still due: the hold stays until its minute is over */
    char *stamp = import_stamp(cfg);
    if (stamp)
        unlink(stamp); /* the next full spool may start one at once */
    free(stamp);
}

void
tool_ledger_import_if_due(const flexiai_config *cfg, const struct tool_args *a)
{
    if (a->no_log || !import_due(cfg))
        return;
    char *path = tool_sibling("flexiai-logs");
    pid_t pid = fork();
    if (pid == 0) {
        /* the grandchild imports; this child ends at once, so nobody
         * waits for the import and no zombie is left */
        if (fork() != 0)
            _exit(0);
        setsid();
        int fd = open("/dev/null", O_RDWR | O_CLOEXEC);
        if (fd < 0 || dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0)
            _exit(71);
        /* nothing of the parent's stays open: a pipe held here would keep
         * a caller (cron, $(...)) waiting for the import */
        closefrom(3);
        sigset_t none;
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        signal(SIGPIPE, SIG_DFL);
        char *argv[] = {"flexiai-logs",          "import",          "--quiet",
                        a->config ? "-c" : NULL, (char *)a->config, NULL};
        if (path)
            execv(path, argv);
        else
            execvp(argv[0], argv);
        _exit(127);
    }
    if (pid > 0)
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
    free(path);
}

void
tool_ledger_log(const flexiai_config *cfg, const struct tool_args *a,
                const char *command, const char *cid,
                const flexiai_message *msgs, size_t n,
                const flexiai_result *res, int rc)
{
    tool_ledger_log_calls(cfg, a, command, cid, msgs, n, res, rc, NULL, 0);
}

void
tool_ledger_log_calls(const flexiai_config *cfg, const struct tool_args *a,
                      const char *command, const char *cid,
                      const flexiai_message *msgs, size_t n,
                      const flexiai_result *res, int rc,
                      const flexiai_ledger_tool_call *calls, size_t ncalls)
{
    if (a->no_log)
        return;
    char *tag = NULL;
    if (a->tag) {
        /* a tag is text in a database and on terminals: valid UTF-8 */
        size_t bad = 0;
        tag = fxu_utf8_sanitize(a->tag, strlen(a->tag), &bad);
    }
    flexiai_ledger_entry e;
    flexiai_ledger_entry_init(&e);
    e.command = command;
    e.tag = tag;
    e.conversation_id = cid ? cid : tool_ledger_cid();
    e.messages = msgs;
    e.nmessages = n;
    e.result = res;
    e.exit_code = rc;
    e.tool_calls = calls;
    e.ntool_calls = ncalls;
    flexiai_ledger_fragment *frags = tool_fragments_for_ledger(
        tool_ledger_fragments); /* stored once each (tool-fragment.h) */
    e.fragments = frags;
    e.nfragments = frags ? tool_ledger_fragments->n : 0;
    char *err = NULL;
    if (flexiai_ledger_log(cfg, &e, &err) != FLEXIAI_OK && !warned) {
        warned = 1;
        tool_warn("request not logged: %s", err);
    }
    free(frags);
    free(err);
    free(tag);
    tool_ledger_import_if_due(cfg, a);
}
