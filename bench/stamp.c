/*
 * stamp - wall-clock time stamps for the watch-latency benchmark.
 *
 *   stamp now            print CLOCK_REALTIME in ns
 *   stamp run CMD ARGS   take CLOCK_REALTIME, run CMD (stdin/stdout on
 *                        /dev/null, stderr inherited), print the stamp taken
 *                        just before the spawn; exit with CMD's status
 *   stamp freeport       print a free TCP port on 127.0.0.1 (bound, then
 *                        closed: nothing listens on it afterwards)
 *   stamp lines          read lines from stdin; print each as
 *                        "ARRIVAL_NS EVENT_NS LINE" as soon as it arrives,
 *                        where EVENT_NS is the line's JSON "timestamp"
 *                        (naive UTC, datetime.isoformat()) in ns, or -1
 *
 * Part of `make bench`; not installed.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static long long
realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* "timestamp": "2026-11-23T11:39:52.123456" -> ns since the epoch (UTC). */
static long long
event_ns(const char *line)
{
    const char *p = strstr(line, "\"timestamp\": \"");
    if (p == NULL)
        return -1;
    p += strlen("\"timestamp\": \"");
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    int n = 0;
    if (sscanf(p, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon,
               &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    long long ns = (long long)timegm(&tm) * 1000000000LL;
    p += n;
    if (*p == '.') {
        long long frac = 0;
        int digits = 0;
        for (p++; *p >= '0' && *p <= '9' && digits < 9; p++, digits++)
            frac = frac * 10 + (*p - '0');
        while (digits++ < 9)
            frac *= 10;
        ns += frac;
    }
    return ns;
}

static int
do_lines(void)
{
    char buf[65536];
    size_t have = 0;
    for (;;) {
        ssize_t r = read(0, buf + have, sizeof(buf) - 1 - have);
        if (r <= 0)
            break;
        long long arrival = realtime_ns();
        have += (size_t)r;
        buf[have] = '\0';
        char *start = buf, *nl;
        while ((nl = memchr(start, '\n', have - (size_t)(start - buf)))) {
            *nl = '\0';
            printf("%lld %lld %s\n", arrival, event_ns(start), start);
            start = nl + 1;
        }
        fflush(stdout);
        have -= (size_t)(start - buf);
        memmove(buf, start, have);
        if (have == sizeof(buf) - 1)
            have = 0; /* absurdly long line: drop it */
    }
    return 0;
}

static int
do_run(char **argv)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    long long t0 = realtime_ns();
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    if (rc != 0) {
        fprintf(stderr, "stamp: cannot run %s: %s\n", argv[0], strerror(rc));
        return 127;
    }
    int status;
    if (waitpid(pid, &status, 0) < 0)
        return 127;
    printf("%lld\n", t0);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int
do_freeport(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) != 0) {
        perror("stamp: freeport");
        return 1;
    }
    printf("%d\n", ntohs(sa.sin_port));
    close(fd);
    return 0;
}

int
main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "freeport") == 0)
        return do_freeport();
    if (argc >= 2 && strcmp(argv[1], "now") == 0) {
        printf("%lld\n", realtime_ns());
        return 0;
    }
    if (argc >= 3 && strcmp(argv[1], "run") == 0)
        return do_run(argv + 2);
    if (argc == 2 && strcmp(argv[1], "lines") == 0)
        return do_lines();
    fprintf(stderr,
            "usage: stamp now | run CMD [ARGS...] | lines | freeport\n");
    return 2;
}
