/*
 * redis-socket.c - the sockets under redis-conn.c: a non-blocking,
 * close-on-exec TCP (every address of a name in turn, IPv4 or IPv6) or
 * unix-socket connect bounded by a deadline, and the poll() wait that every
 * deadline in the connection layer goes through.
 */
#include "config.h"

#include "fx.h"
#include "redis-conn.h"

#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define STOP_CHECK_MS 100

/*
 * Wait until fd is ready for `events` or the deadline passes.  1 ready,
 * 0 timed out, -1 error (errno).  With stop, wakes every STOP_CHECK_MS to
 * look at it and returns 0 when set.
 */
int
fx_rsock_wait(int fd, short events, double deadline,
              volatile sig_atomic_t *stop)
{
    for (;;) {
        if (stop && *stop)
            return 0;
        int ms = -1;
        if (deadline > 0) {
            double left = deadline - fxu_monotonic();
            if (left <= 0)
                return 0;
            ms = (int)ceil(left * 1e3);
        }
        if (stop && (ms < 0 || ms > STOP_CHECK_MS))
            ms = STOP_CHECK_MS;
        struct pollfd pfd = {fd, events, 0};
        int n = poll(&pfd, 1, ms);
        if (n > 0)
            return 1; /* POLLERR / POLLHUP too: the next I/O says what */
        if (n < 0 && errno != EINTR)
            return -1;
        if (n < 0 && stop && *stop)
            return 0;
    }
}

/* Start a non-blocking connect to one address; wait for it.  The socket,
 * or -1 with *why. */
static int
connect_addr(const struct sockaddr *sa, socklen_t salen, double deadline,
             char **why)
{
    int fd =
        socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        *why = fxu_strdup(strerror(errno));
        return -1;
    }
    if (connect(fd, sa, salen) < 0) {
        if (errno != EINPROGRESS && errno != EAGAIN) {
            *why = fxu_strdup(strerror(errno));
            close(fd);
            return -1;
        }
        int w = fx_rsock_wait(fd, POLLOUT, deadline, NULL);
        int soerr = 0;
        socklen_t len = sizeof(soerr);
        if (w > 0 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len) < 0)
            soerr = errno;
        if (w <= 0 || soerr != 0) {
            *why = w == 0 ? fxu_strdup("connect timed out")
                          : fxu_strdup(strerror(w < 0 ? errno : soerr));
            close(fd);
            return -1;
        }
    }
    if (sa->sa_family != AF_UNIX) {
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    }
    return fd;
}

int
fx_rsock_connect_unix(const char *path, double deadline, char **why)
{
    struct sockaddr_un sun;
    memset(&sun, 0, sizeof(sun));
    sun.sun_family = AF_UNIX;
    if (strlen(path) >= sizeof(sun.sun_path)) {
        *why = fxu_strdup("socket path too long");
        return -1;
    }
    strcpy(sun.sun_path, path);
    return connect_addr((struct sockaddr *)&sun, sizeof(sun), deadline, why);
}

/* Each address of host in turn, within one deadline. */
int
fx_rsock_connect_tcp(const char *host, int port, double deadline, char **why)
{
    struct addrinfo hints, *res = NULL;
    char service[16];
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV | AI_ADDRCONFIG;
    snprintf(service, sizeof(service), "%d", port);
    int gai = getaddrinfo(host, service, &hints, &res);
    if (gai == EAI_NONAME || gai == EAI_ADDRFAMILY) {
        hints.ai_flags &= ~AI_ADDRCONFIG; /* ::1 on a host without IPv6 */
        gai = getaddrinfo(host, service, &hints, &res);
    }
    if (gai != 0) {
        *why = fxu_asprintf("cannot resolve %s: %s", host, gai_strerror(gai));
        return -1;
    }
    int fd = -1;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next) {
        free(*why);
        *why = NULL;
        fd = connect_addr(ai->ai_addr, ai->ai_addrlen, deadline, why);
    }
    freeaddrinfo(res);
    return fd;
}
