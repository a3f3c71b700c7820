/* test-ledger-faults.c - the ledger when things go wrong: a corrupt file,
 * a read-only file, a full disk and a lock held too long each give an
 * error string, never a crash; 50 one-shot writers and a batch at once
 * lose no record. */
#include "config.h"

#include "ledger-fixture.h"
#include <cjson/cJSON.h>

#include <signal.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
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
                /* what is tested is that nothing is lost, not how long 50
                 * writers wait on a loaded machine: no lock wait gives up */
                if (l)
                    fx_ledger_set_timeout(l, 120);
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

/* The spool: a record's line parses back to the same line; mode usage
 * keeps no text in it; import moves every line once and deletes the
 * spool; a torn line is set aside. */
static void
test_spool(void)
{
    char *path = fxu_asprintf("%s/spool.db", root);
    flexiai_result r;
    memset(&r, 0, sizeof(r));
    add_attempt(&r, "p1", "error", FLEXIAI_E_RATE_LIMIT, 429, 12.5);
    add_attempt(&r, "p2", "success", 0, 200, 800);
    r.provider = strdup("p2");
    r.model = strdup("m-1");
    r.text = strdup("line one\nline \"two\" \xc3\xa9");
    r.finish_reason = strdup("stop");
    r.has_usage = 1;
    r.prompt_tokens = 12;
    r.completion_tokens = 34;
    flexiai_message msgs[2] = {{.role = "system", .content = "Be brief."},
                               {.role = "user", .content = "q?"}};
    struct fx_ledger_meta meta = {T0 + 0.125, "chat", "t", "c1", NULL, 0};
    struct fx_ledger_record rec, back;
    fx_ledger_record_from_result(&rec, &r, msgs, 2, &meta);
    char *line = fx_ledger_spool_line(&rec, FX_LEDGER_FULL);
    ok(line && strchr(line, '\n') == line + strlen(line) - 1,
       "a record is one line");
    int mode = -1;
    is_int(fx_ledger_spool_parse(line, strlen(line) - 1, &back, &mode), 0,
           "the line parses");
    is_int(mode, FX_LEDGER_FULL, "with its mode");
    char *again = fx_ledger_spool_line(&back, mode);
    is_str(again, line, "and back to the same line");
    is_str(back.first_provider, "p1", "first provider kept");
    fx_ledger_record_free(&back);
    free(again);
    char *usage = fx_ledger_spool_line(&rec, FX_LEDGER_USAGE);
    ok(strstr(usage, "line one") == NULL && strstr(usage, "q?") == NULL &&
           strstr(usage, "Be brief") == NULL,
       "mode usage: no text in the spool");
    free(usage);
    is_int(fx_ledger_spool_parse("{\"time\":1", 10, &back, &mode), -1,
           "a torn line does not parse");
    char *err = NULL;
    is_int(fx_ledger_spool_append(path, &rec, FX_LEDGER_FULL, &err), 0,
           "appended");
    is_int(fx_ledger_spool_append(path, &rec, FX_LEDGER_USAGE, &err), 0,
           "appended in mode usage");
    char *sp = fx_ledger_spool_path(path);
    is_int(file_mode(sp), 0600, "the spool is 0600");
    FILE *f = fopen(sp, "a");
    fputs("{\"time\":1,\"comm", f);
    fclose(f);
    /* a full disk (here: a file size limit) mid-record: an error, and
     * the spool as it was, no half record */
    struct stat before, after;
    stat(sp, &before);
    struct rlimit was, lim;
    getrlimit(RLIMIT_FSIZE, &was);
    lim = was;
    lim.rlim_cur = (rlim_t)before.st_size + 20;
    signal(SIGXFSZ, SIG_IGN);
    setrlimit(RLIMIT_FSIZE, &lim);
    is_int(fx_ledger_spool_append(path, &rec, FX_LEDGER_FULL, &err), -1,
           "a full disk is an error");
    setrlimit(RLIMIT_FSIZE, &was);
    ok(err && strstr(err, ".spool"), "naming the spool: %s", err ? err : "");
    free(err);
    err = NULL;
    stat(sp, &after);
    is_int((int)after.st_size, (int)before.st_size, "no half record left");
    is_int(fx_ledger_spool_pending(path), 1, "records are pending");
    fx_ledger *l = fx_ledger_open(path, FX_LEDGER_WRITE, &err);
    long damaged = -1;
    is_int(fx_ledger_import(l, path, 0, &damaged), 2, "two imported");
    is_int(damaged, 1, "one torn line set aside");
    is_int(fx_ledger_spool_pending(path), 0, "nothing pending");
    is_int(fx_ledger_import(l, path, 0, &damaged), 0, "nothing twice");
    struct fx_ledger_filter fl = {0};
    fl.words = "line";
    is_int(fx_ledger_each(l, &fl, collect_none, NULL), 1,
           "the full record is searchable, the usage one not");
    fx_ledger_close(l);
    fx_ledger_record_free(&rec);
    flexiai_result_free(&r);
    free(line);
    free(sp);
    free(path);
}

/* The hand-written spool line: every byte a provider may send comes
 * back as it was (control characters, quotes, backslashes, bytes that
 * are not UTF-8), every line is valid JSON for cJSON, and numbers that
 * cannot be sane are written as 0 rather than as something unreadable. */
static void
test_spool_bytes(void)
{
    char text[300];
    size_t n = 0;
    for (int c = 1; c < 256; c++)
        text[n++] = (char)c;
    text[n] = '\0';
    flexiai_result r;
    memset(&r, 0, sizeof(r));
    add_attempt(&r, "p\"1\\", "error", FLEXIAI_E_SERVER, 503, -0.0001);
    r.attempts[0].retry_after = 1e300;
    r.text = strdup(text);
    r.has_usage = 1;
    r.prompt_tokens = -5;
    r.completion_tokens = 2147483647L;
    r.latency_ms = 0.0 / 0.0;
    flexiai_message msgs[1] = {
        {.role = "user", .content = "tab\there, nul-free \x01\x1f"}};
    struct fx_ledger_meta meta = {T0 + 0.125, "batch", "t\n", NULL, NULL, 70};
    struct fx_ledger_record rec, back;
    fx_ledger_record_from_result(&rec, &r, msgs, 1, &meta);
    rec.latency_ms = -2.5;
    char *line = fx_ledger_spool_line(&rec, FX_LEDGER_FULL);
    ok(line && strchr(line, '\n') == line + strlen(line) - 1,
       "every byte escaped into one line");
    cJSON *o = cJSON_Parse(line);
    ok(cJSON_IsObject(o), "the line is JSON for cJSON");
    cJSON_Delete(o);
    int mode = -1;
    is_int(fx_ledger_spool_parse(line, strlen(line) - 1, &back, &mode), 0,
           "the line parses back");
    is_str(back.text, text, "all 255 byte values come back");
    is_str(back.tag, "t\n", "a tag with a newline comes back");
    is_str(back.messages[0].content, msgs[0].content, "a message comes back");
    is_str(back.attempts[0].provider, "p\"1\\", "quotes and backslashes");
    ok(back.prompt_tokens == -5 && back.completion_tokens == 2147483647L,
       "token counts as integers");
    ok(strstr(line, "\"latency_ms\":-2.500,") != NULL,
       "a negative number keeps its sign");
    ok(strstr(line, "\"latency_ms\":0.000,") != NULL,
       "a number rounding to zero has no sign");
    ok(strstr(line, "\"retry_after\":0.000") != NULL,
       "an absurd number is written as 0");
    ok(strstr(line, "{\"time\":1790000000.125000,") != NULL,
       "the time in microseconds");
    char *again = fx_ledger_spool_line(&back, mode);
    is_str(again, line, "and back to the same line");
    free(again);
    fx_ledger_record_free(&back);
    fx_ledger_record_free(&rec);
    flexiai_result_free(&r);
    free(line);
}

/* A writer waiting for the spool's lock while an importer renames the
 * spool away goes round to the new spool: its record is neither lost nor
 * left in the renamed file the importer has already read. */
static void
test_spool_renamed(void)
{
    char *path = fxu_asprintf("%s/renamed/logs.db", root);
    char *err = NULL;
    is_int(fx_ledger_make_parent(path, &err), 0, "directory made");
    char *sp = fx_ledger_spool_path(path);
    char *taken = fxu_asprintf("%s.0123456789abcdef", sp);
    int fd = open(sp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    ok(fd >= 0 && flock(fd, LOCK_EX) == 0, "the importer holds the lock");
    flexiai_result r;
    memset(&r, 0, sizeof(r));
    add_attempt(&r, "p1", "success", 0, 200, 5);
    r.text = strdup("late record");
    flexiai_message msgs[1] = {{.role = "user", .content = "q"}};
    struct fx_ledger_meta meta = {T0, "complete", NULL, NULL, NULL, 0};
    struct fx_ledger_record rec;
    fx_ledger_record_from_result(&rec, &r, msgs, 1, &meta);
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        close(fd); /* the lock stays the parent's */
        char *e = NULL;
        int rc = fx_ledger_spool_append(path, &rec, FX_LEDGER_FULL, &e);
        if (rc != 0)
            printf("# append: %s\n", e ? e : "?");
        fflush(stdout);
        _exit(rc != 0);
    }
    usleep(200000); /* the writer is waiting for the lock by now */
    ok(rename(sp, taken) == 0, "the importer renames the spool");
    close(fd); /* and lets go */
    int status = -1;
    waitpid(pid, &status, 0);
    is_int(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0,
           "the writer's append succeeds");
    struct stat st;
    ok(stat(taken, &st) == 0 && st.st_size == 0,
       "nothing went into the renamed spool");
    fxu_buf b;
    fxu_buf_init(&b);
    FILE *f = fopen(sp, "r");
    char chunk[4096];
    size_t n;
    while (f && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        fxu_buf_append(&b, chunk, n);
    if (f)
        fclose(f);
    ok(b.data && strstr(b.data, "late record"), "the record is in the new one");
    fxu_buf_free(&b);
    fx_ledger_record_free(&rec);
    flexiai_result_free(&r);
    free(taken);
    free(sp);
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
    test_spool();
    test_spool_bytes();
    test_spool_renamed();
    char *cmd = fxu_asprintf("rm -rf '%s'", root);
    ok(system(cmd) == 0, "temporary directory removed");
    free(cmd);
    return tap_done();
}
