/* redis-servers.c - starts and stops the redis-server and sentinel
 * processes of the Redis unit tests, and makes their TLS certificates with
 * the openssl command (keys live in the temporary directory only). */
#include "config.h"

#include "fxu.h"
#include "redis-servers.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#ifdef __linux__
#include <sys/prctl.h>
#endif
#include <sys/wait.h>
#include <unistd.h>

#define MAX_SERVERS 16

static const char *redis_bin;
static char tmpdir[] = "/tmp/fx-redis-conn-XXXXXX";
static pid_t parent_pid;
static struct rs_server *servers[MAX_SERVERS];
static int nservers;

static void
bail(const char *what)
{
    printf("Bail out! %s\n", what);
    exit(1);
}

void
rs_stop(struct rs_server *sv)
{
    if (sv->pid > 0) {
        kill(sv->pid, SIGKILL);
        waitpid(sv->pid, NULL, 0);
        sv->pid = 0;
    }
}

static void
cleanup(void)
{
    if (getpid() != parent_pid)
        return;
    for (int i = 0; i < nservers; i++)
        rs_stop(servers[i]);
    char *cmd = fxu_asprintf("rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) {
        /* nothing to do about it */
    }
    free(cmd);
}

static void
on_signal(int sig)
{
    exit(128 + sig); /* runs cleanup: no redis-server left behind */
}

static const char *
find_redis_server(void)
{
    const char *env = getenv("REDIS_SERVER");
    if (env && *env && strcmp(env, "no") != 0)
        return access(env, X_OK) == 0 ? env : NULL;
    const char *path = getenv("PATH");
    char *copy = fxu_strdup(path ? path : "/usr/bin:/bin");
    static char found[4096];
    const char *result = NULL;
    for (char *dir = strtok(copy, ":"); dir; dir = strtok(NULL, ":")) {
        snprintf(found, sizeof(found), "%s/redis-server", dir);
        if (access(found, X_OK) == 0) {
            result = found;
            break;
        }
    }
    free(copy);
    return result;
}

void
rs_init(void)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    redis_bin = find_redis_server();
    if (redis_bin == NULL)
        bail("redis-server not found");
    if (mkdtemp(tmpdir) == NULL)
        bail("mkdtemp failed");
    parent_pid = getpid();
    atexit(cleanup);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    signal(SIGPIPE, SIG_DFL); /* the connection must cope on its own */
}

const char *
rs_tmpdir(void)
{
    return tmpdir;
}

const char *
rs_path(const char *name)
{
    static char buf[8][512];
    static int next;
    char *p = buf[next++ % 8];
    snprintf(p, sizeof(buf[0]), "%s/%s", tmpdir, name);
    return p;
}

int
rs_free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa;
    socklen_t len = sizeof(sa);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
        bail("cannot find a free port");
    close(fd);
    return ntohs(sa.sin_port);
}

static int
port_accepts(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa;
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons((unsigned short)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int up = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    if (fd >= 0)
        close(fd);
    return up;
}

static void
spawn(struct rs_server *sv, const char **argv)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        bail("fork failed");
    if (pid == 0) {
#ifdef __linux__
        prctl(PR_SET_PDEATHSIG, SIGKILL);
#endif
        int fd = open("/dev/null", O_RDWR);
        dup2(fd, 0);
        dup2(fd, 1);
        dup2(fd, 2);
        execv(redis_bin, (char *const *)argv);
        _exit(127);
    }
    sv->pid = pid;
    int known = 0;
    for (int i = 0; i < nservers; i++)
        known |= servers[i] == sv;
    if (!known && nservers < MAX_SERVERS)
        servers[nservers++] = sv;
    for (int i = 0; i < 500; i++) {
        if (port_accepts(sv->port))
            return;
        if (waitpid(pid, NULL, WNOHANG) == pid) {
            sv->pid = 0;
            break;
        }
        usleep(10000);
    }
    printf("Bail out! %s on port %d did not start (see %s)\n", sv->name,
           sv->port, sv->log);
    exit(1);
}

void
rs_start(struct rs_server *sv, const char *const *extra)
{
    char port[16];
    const char *argv[64];
    int n = 0;

    if (sv->port == 0)
        sv->port = rs_free_port();
    snprintf(port, sizeof(port), "%d", sv->port);
    snprintf(sv->log, sizeof(sv->log), "%s/%s-%d.log", tmpdir, sv->name,
             sv->port);
    argv[n++] = redis_bin;
    argv[n++] = "--port";
    argv[n++] = port;
    argv[n++] = "--bind";
    argv[n++] = "127.0.0.1 ::1";
    argv[n++] = "--save";
    argv[n++] = "";
    argv[n++] = "--appendonly";
    argv[n++] = "no";
    argv[n++] = "--daemonize";
    argv[n++] = "no";
    argv[n++] = "--dir";
    argv[n++] = tmpdir;
    argv[n++] = "--logfile";
    argv[n++] = sv->log;
    for (int i = 0; extra && extra[i] && n < 62; i++) {
        /* a TLS server: --tls-port replaces --port, given as "TLS" */
        if (strcmp(extra[i], "TLS") == 0) {
            argv[2] = "0";
            argv[n++] = "--tls-port";
            argv[n++] = port;
            continue;
        }
        argv[n++] = extra[i];
    }
    argv[n] = NULL;
    spawn(sv, argv);
}

void
rs_start_sentinel(struct rs_server *sv, int master_port,
                  const char *master_name)
{
    char conf[512];
    if (sv->port == 0)
        sv->port = rs_free_port();
    snprintf(sv->log, sizeof(sv->log), "%s/sentinel-%d.log", tmpdir, sv->port);
    snprintf(conf, sizeof(conf), "%s/sentinel-%d.conf", tmpdir, sv->port);
    FILE *f = fopen(conf, "w");
    if (f == NULL)
        bail("cannot write a sentinel config");
    fprintf(f,
            "port %d\nbind 127.0.0.1\ndaemonize no\ndir %s\nlogfile %s\n"
            "sentinel monitor %s 127.0.0.1 %d 2\n"
            "sentinel down-after-milliseconds %s 500\n"
            "sentinel failover-timeout %s 2000\n"
            "sentinel parallel-syncs %s 1\n",
            sv->port, tmpdir, sv->log, master_name, master_port, master_name,
            master_name, master_name);
    fclose(f);
    const char *argv[] = {redis_bin, conf, "--sentinel", NULL};
    spawn(sv, argv);
}

/* ---- certificates ----------------------------------------------------- */

static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int
sh(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *cmd = fxu_vasprintf(fmt, ap);
    va_end(ap);
    char *full =
        fxu_asprintf("cd '%s' && (%s) >>openssl.log 2>&1", tmpdir, cmd);
    int rc = system(full);
    free(cmd);
    free(full);
    return rc == 0 ? 0 : -1;
}

#define EC_KEY "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"

static int
make_ca(const char *name, const char *cn)
{
    return sh("openssl req -x509 " EC_KEY " -keyout %s.key -out %s.crt "
              "-days 2 -subj /CN=%s -addext basicConstraints=critical,CA:TRUE "
              "-addext keyUsage=critical,keyCertSign,cRLSign",
              name, name, cn);
}

static int
make_leaf(const char *name, const char *cn, const char *ext)
{
    char ext_name[64];
    snprintf(ext_name, sizeof(ext_name), "%s.ext", name);
    FILE *f = fopen(rs_path(ext_name), "w");
    if (f == NULL)
        return -1;
    fprintf(f, "%s\n", ext);
    fclose(f);
    return sh("openssl req " EC_KEY " -keyout %s.key -out %s.csr -subj /CN=%s"
              " && openssl x509 -req -in %s.csr -CA ca.crt -CAkey ca.key "
              "-CAcreateserial -days 2 -out %s.crt -extfile %s.ext",
              name, name, cn, name, name, name);
}

int
rs_make_certs(void)
{
    if (make_ca("ca", "flexiai-test-ca") < 0 ||
        make_ca("other-ca", "someone-else-ca") < 0 ||
        make_leaf("server", "localhost",
                  "subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1\n"
                  "extendedKeyUsage=serverAuth") < 0 ||
        make_leaf("client", "flexiai-client", "extendedKeyUsage=clientAuth") <
            0)
        return -1;
    /* the server sends its chain with the root, as many do */
    return sh("cat server.crt ca.crt > server-chain.crt && mkdir -p cadir && "
              "cp ca.crt cadir/ && openssl rehash cadir");
}
