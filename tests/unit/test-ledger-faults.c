/* test-ledger-faults.c - the ledger when things go wrong: a corrupt file,
 * a read-only file, a full disk and a lock held too long each give an
 * error string, never a crash; 50 one-shot writers and a batch at once
 * lose no record. */
#include "config.h"

#include "ledger-fixture.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void
test_corrupt(void)
{
    char *path = fxu_asprintf("%s/corrupt.db", root);
    FILE *f = fopen(path, "w");
    for (int i = 0; i < 200; i++)
        fputs("this is not a database, just some text in a file\n", f);
    fclose(f);
    for (int flags = 0; flags < 2; flags++) {
        char *err = NULL;
        fx_ledger *l = fx_ledger_open(path, flags, &err);
        ok(l == NULL && err && strstr(err, "not a database") &&
               strncmp(err, path, strlen(path)) == 0,
           "corrupt file, %s: error naming it (%s)", flags ? "write" : "read",
           err ? err : "");
        free(err);
    }
    free(path);
}

/* chmod does not stop root: the read-only case runs as nobody then. */
static int
readonly_child(const char *path)
{
    char *err = NULL;
    fx_ledger *l = fx_ledger_open(path, FX_LEDGER_WRITE, &err);
    int code = 0;
    if (l != NULL)
        code |= 1;
    if (err == NULL || strstr(err, "readonly") == NULL)
        code |= 2;
    free(err);
    fx_ledger_close(l);
    return code;
}

static void
test_readonly(void)
{
    char *dir = fxu_asprintf("%s/ro", root);
    mkdir(dir, 0755);
    chmod(root, 0755);
    char *path = fxu_asprintf("%s/logs.db", dir);
    fx_ledger *l = fx_ledger_open(path, FX_LEDGER_WRITE, NULL);
    log_one(l, 0, T0, NULL, NULL, "q", "a", "p1", 0, 0, 1, 1);
    fx_ledger_close(l);
    chmod(path, 0444);
    chmod(dir, 0555);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        if (geteuid() == 0 && (setgid(65534) < 0 || setuid(65534) < 0))
            _exit(77);
        _exit(readonly_child(path));
    }
    int status = -1;
    waitpid(pid, &status, 0);
    is_int(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0,
           "read-only file: no handle for writing, an error string");
    chmod(dir, 0700);
    chmod(root, 0700);
    free(path);
    free(dir);
}

/* A full disk, played by RLIMIT_FSIZE, then a lock held too long. */
static void
test_full_and_locked(void)
{
    fx_ledger *l = open_at("full.db", FX_LEDGER_WRITE);
    fx_ledger_close(l);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        struct rlimit rl = {65536, 65536};
        signal(SIGXFSZ, SIG_IGN);
        setrlimit(RLIMIT_FSIZE, &rl);
        fx_ledger *cl = open_at("full.db", FX_LEDGER_WRITE);
        char *big = malloc(200000);
        memset(big, 'x', 199999);
        big[199999] = '\0';
        int rc =
            cl ? (int)log_one(cl, 0, T0, NULL, NULL, "q", big, "p1", 0, 0, 1, 1)
               : 0;
        int code = rc == -1 && strstr(fx_ledger_error(cl), "full") ? 0 : 1;
        if (code)
            printf("# full: %d %s\n", rc, fx_ledger_error(cl));
        free(big);
        fx_ledger_close(cl);
        _exit(code);
    }
    int status = -1;
    waitpid(pid, &status, 0);
    is_int(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0,
           "full disk: insert fails with a message, no crash");

    l = open_at("full.db", FX_LEDGER_WRITE);
    fx_ledger *holder = open_at("full.db", FX_LEDGER_WRITE);
    fx_ledger_begin(holder);
    fx_ledger_set_timeout(l, 0.2);
    double t = fxu_monotonic();
    int64_t id = log_one(l, 0, T0, NULL, NULL, "q", "a", "p1", 0, 0, 1, 1);
    t = fxu_monotonic() - t;
    ok(id == -1 && strstr(fx_ledger_error(l), "locked"),
       "locked too long: fails with a message (%s)", fx_ledger_error(l));
    ok(t < 2.0, "after about the timeout (%.2f s)", t);
    fx_ledger_rollback(holder);
    ok(log_one(l, 0, T0, NULL, NULL, "q", "a", "p1", 0, 0, 1, 1) > 0,
       "the lock gone, the next insert works");
    fx_ledger_close(holder);
    fx_ledger_close(l);
}

#define WRITERS 50
#define PER_WRITER 20
#define BATCH 300

/* 50 one-shot processes (open, insert, close each time) and a batch (one
 * handle, a transaction per 25 items) at once. */
static void
test_concurrent(void)
{
    char *path = fxu_asprintf("%s/busy/logs.db", root);
    pid_t pids[WRITERS];
    fflush(stdout);
    for (int w = 0; w < WRITERS; w++) {
        pids[w] = fork();
        if (pids[w] == 0) {
            int bad = 0;
            for (int i = 0; i < PER_WRITER; i++) {
                char *err = NULL;
                fx_ledger *l = fx_ledger_open(path, FX_LEDGER_WRITE, &err);
                if (l == NULL || log_one(l, 0, T0 + i, "w", NULL, "concurrent",
                                         "a", "p1", 0, 0, 1, 1) < 0) {
                    printf("# writer %d: %s\n", w,
                           l ? fx_ledger_error(l) : err);
                    bad = 1;
                }
                free(err);
                fx_ledger_close(l);
            }
            fflush(stdout);
            _exit(bad);
        }
    }
    fx_ledger *b = NULL;
    while (b == NULL) /* the children may still be creating it */
        b = fx_ledger_open(path, FX_LEDGER_WRITE, NULL);
    int batch_bad = 0;
    for (int i = 0; i < BATCH; i++) {
        if (i % 25 == 0 && fx_ledger_begin(b) < 0)
            batch_bad++;
        if (log_one(b, 0, T0 + i, "batch", NULL, "batch item", "a", "p2", 0, 0,
                    1, 1) < 0)
            batch_bad++;
        if (i % 25 == 24 && fx_ledger_commit(b) < 0)
            batch_bad++;
    }
    int failed = 0;
    for (int w = 0; w < WRITERS; w++) {
        int status = -1;
        waitpid(pids[w], &status, 0);
        failed += !(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    is_int(failed, 0, "%d writers: none failed", WRITERS);
    is_int(batch_bad, 0, "the batch meanwhile: no failure");
    struct fx_ledger_filter f = {0};
    f.tag = "w";
    is_int(fx_ledger_each(b, &f, collect_none, NULL), WRITERS * PER_WRITER,
           "every writer's record is there");
    f.tag = "batch";
    is_int(fx_ledger_each(b, &f, collect_none, NULL), BATCH,
           "every batch record is there");
    fx_ledger_close(b);
    free(path);
}

int
main(void)
{
    if (mkdtemp(root) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    test_corrupt();
    test_readonly();
    test_full_and_locked();
    test_concurrent();
    char *cmd = fxu_asprintf("rm -rf '%s'", root);
    ok(system(cmd) == 0, "temporary directory removed");
    free(cmd);
    return tap_done();
}
