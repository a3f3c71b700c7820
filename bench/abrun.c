/*
 * abrun - run K commands interleaved (A B A B ... or A B C A B C ...) and
 * time each run: wall time (CLOCK_MONOTONIC around posix_spawn + wait4),
 * user and system CPU and peak RSS (ru_maxrss from wait4, the same figure
 * GNU time's %M prints).  Part of `make bench`; not installed.
 *
 *   abrun [-n ROUNDS] [-w WARMUP] [-o RUNS.tsv] [-e STDERR_FILE]
 *         -- CMD1 ARGS... [::: CMD2 ARGS...]...
 *
 * Leading NAME=VALUE words of a command are set in its environment (no
 * env(1) process in between).  Commands get stdin and stdout on
 * /dev/null; their stderr goes to STDERR_FILE (default /dev/null).
 * The command to run first alternates every round, so neither command
 * always runs right after the other's warm caches.
 *
 * Output (stdout), one line per command i (0-based):
 *   cmd<i> n=N wall_med_us=.. wall_p10_us=.. wall_p90_us=.. wall_min_us=..
 *          cpu_med_us=.. rss_med_kb=.. rss_max_kb=..
 * and for i > 0 the median over rounds of wall(cmd i) / wall(cmd 0):
 *   ratio<i> pair_med=.. diff_pair_med_us=..
 * Exits 3 if any run exited non-zero or was killed (after printing).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

struct cmd {
    char **argv;
    char **envp;
    double *wall, *cpu, *rss; /* per round */
};

static double
now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* Quantile q of v[0..n) (sorted copy), linear interpolation. */
static double
quantile(const double *v, size_t n, double q)
{
    double *s = malloc(n * sizeof(*s));
    memcpy(s, v, n * sizeof(*s));
    qsort(s, n, sizeof(*s), cmp_double);
    double pos = q * (double)(n - 1);
    size_t lo = (size_t)pos;
    double r = s[lo];
    if (lo + 1 < n)
        r += (pos - (double)lo) * (s[lo + 1] - s[lo]);
    free(s);
    return r;
}

static char **
make_env(char **assign, int nassign)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **envp = calloc(n + (size_t)nassign + 1, sizeof(char *));
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int overridden = 0;
        for (int j = 0; j < nassign; j++) {
            size_t len = (size_t)(strchr(assign[j], '=') - assign[j]) + 1;
            if (strncmp(environ[i], assign[j], len) == 0)
                overridden = 1;
        }
        if (!overridden)
            envp[k++] = environ[i];
    }
    for (int j = 0; j < nassign; j++)
        envp[k++] = assign[j];
    envp[k] = NULL;
    return envp;
}

static int
run_one(struct cmd *c, const char *errfile, double *wall, double *cpu,
        double *rss)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, errfile,
                                     O_WRONLY | O_CREAT | O_APPEND, 0644);
    pid_t pid;
    double t0 = now_us();
    int rc = posix_spawn(&pid, c->argv[0], &fa, NULL, c->argv, c->envp);
    if (rc != 0) {
        fprintf(stderr, "abrun: cannot run %s: %s\n", c->argv[0], strerror(rc));
        exit(2);
    }
    int status;
    struct rusage ru;
    while (wait4(pid, &status, 0, &ru) < 0)
        if (errno != EINTR) {
            perror("abrun: wait4");
            exit(2);
        }
    double t1 = now_us();
    posix_spawn_file_actions_destroy(&fa);
    *wall = t1 - t0;
    *cpu = ru.ru_utime.tv_sec * 1e6 + ru.ru_utime.tv_usec +
           ru.ru_stime.tv_sec * 1e6 + ru.ru_stime.tv_usec;
    *rss = (double)ru.ru_maxrss;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    fprintf(stderr, "abrun: %s: %s %d\n", c->argv[0],
            WIFEXITED(status) ? "exit status" : "killed by signal",
            WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    return -1;
}

int
main(int argc, char **argv)
{
    long rounds = 100, warmup = 5;
    const char *out = NULL, *errfile = "/dev/null";
    int opt;
    while ((opt = getopt(argc, argv, "+n:w:o:e:")) != -1) {
        switch (opt) {
        case 'n':
            rounds = atol(optarg);
            break;
        case 'w':
            warmup = atol(optarg);
            break;
        case 'o':
            out = optarg;
            break;
        case 'e':
            errfile = optarg;
            break;
        default:
            fprintf(stderr, "usage: abrun [-n ROUNDS] [-w WARMUP] [-o TSV] "
                            "[-e ERRFILE] -- CMD... [::: CMD...]...\n");
            return 2;
        }
    }
    if (rounds < 1 || optind >= argc) {
        fprintf(stderr, "abrun: no command\n");
        return 2;
    }

    struct cmd cmds[16];
    int ncmd = 0;
    for (int i = optind; i < argc && ncmd < 16;) {
        int start = i, nassign = 0;
        while (i < argc && strcmp(argv[i], ":::") != 0)
            i++;
        argv[i < argc ? i : argc] = NULL; /* terminate this command */
        while (argv[start + nassign] && strchr(argv[start + nassign], '=') &&
               argv[start + nassign][0] != '/')
            nassign++;
        struct cmd *c = &cmds[ncmd++];
        c->envp = make_env(argv + start, nassign);
        c->argv = argv + start + nassign;
        if (c->argv[0] == NULL) {
            fprintf(stderr, "abrun: empty command\n");
            return 2;
        }
        c->wall = calloc((size_t)rounds, sizeof(double));
        c->cpu = calloc((size_t)rounds, sizeof(double));
        c->rss = calloc((size_t)rounds, sizeof(double));
        i++;
    }

    int failed = 0;
    double w, cp, r;
    for (long k = 0; k < warmup; k++)
        for (int j = 0; j < ncmd; j++)
            if (run_one(&cmds[j], errfile, &w, &cp, &r) != 0)
                failed = 1;
    if (failed) {
        fprintf(stderr, "abrun: a warm-up run failed (stderr in %s)\n",
                errfile);
        return 3;
    }

    FILE *tsv = out ? fopen(out, "w") : NULL;
    if (tsv)
        fprintf(tsv, "round\tcmd\twall_us\tcpu_us\tmaxrss_kb\n");
    for (long k = 0; k < rounds; k++) {
        for (int jj = 0; jj < ncmd; jj++) {
            /* rotate the starting command every round */
            int j = (int)((jj + k) % ncmd);
            struct cmd *c = &cmds[j];
            if (run_one(c, errfile, &c->wall[k], &c->cpu[k], &c->rss[k]) != 0)
                failed++;
            if (tsv)
                fprintf(tsv, "%ld\t%d\t%.1f\t%.1f\t%.0f\n", k, j, c->wall[k],
                        c->cpu[k], c->rss[k]);
        }
    }
    if (tsv)
        fclose(tsv);

    for (int j = 0; j < ncmd; j++) {
        struct cmd *c = &cmds[j];
        printf("cmd%d n=%ld wall_med_us=%.1f wall_p10_us=%.1f wall_p90_us=%.1f "
               "wall_min_us=%.1f cpu_med_us=%.1f rss_med_kb=%.0f "
               "rss_max_kb=%.0f\n",
               j, rounds, quantile(c->wall, (size_t)rounds, 0.5),
               quantile(c->wall, (size_t)rounds, 0.1),
               quantile(c->wall, (size_t)rounds, 0.9),
               quantile(c->wall, (size_t)rounds, 0.0),
               quantile(c->cpu, (size_t)rounds, 0.5),
               quantile(c->rss, (size_t)rounds, 0.5),
               quantile(c->rss, (size_t)rounds, 1.0));
        if (j > 0) {
            double *ratio = calloc((size_t)rounds, sizeof(double));
            for (long k = 0; k < rounds; k++)
                ratio[k] = c->wall[k] / cmds[0].wall[k];
            double med = quantile(ratio, (size_t)rounds, 0.5);
            for (long k = 0; k < rounds; k++)
                ratio[k] = c->wall[k] - cmds[0].wall[k];
            printf("ratio%d pair_med=%.4f diff_pair_med_us=%.1f\n", j, med,
                   quantile(ratio, (size_t)rounds, 0.5));
            free(ratio);
        }
    }
    fflush(stdout);
    if (failed) {
        fprintf(stderr, "abrun: %d run(s) failed (stderr in %s)\n", failed,
                errfile);
        return 3;
    }
    return 0;
}
