/* redis-servers.h - real redis-server and sentinel processes for the unit
 * tests, on free loopback ports, with TLS certificates made at run time by
 * the openssl command in a temporary directory.  Every process started is
 * killed at exit (and dies with the test through PR_SET_PDEATHSIG). */
#ifndef REDIS_SERVERS_H
#define REDIS_SERVERS_H

#include <sys/types.h>

struct rs_server {
    pid_t pid;
    int port;
    const char *name; /* for log file names */
    char log[512];
};

/* Find redis-server, make the temporary directory, register the cleanup.
 * Prints "Bail out!" and exits when impossible. */
void rs_init(void);
const char *rs_tmpdir(void);
/* A loopback TCP port nobody listens on right now. */
int rs_free_port(void);
/* Start redis-server with these extra arguments (NULL-terminated) on
 * sv->port (0: a free one) and wait until its port accepts.  `tls`: the
 * port is a TLS port (readiness is then a TCP connect only).  Bails out
 * when it does not come up. */
void rs_start(struct rs_server *sv, const char *const *extra);
/* A sentinel from a config file written here. */
void rs_start_sentinel(struct rs_server *sv, int master_port,
                       const char *master_name);
void rs_stop(struct rs_server *sv);

/* Make a CA, a server certificate for localhost/127.0.0.1/::1 signed by
 * it, a client certificate, and a second unrelated CA.  0 ok. */
int rs_make_certs(void);
/* paths inside the temporary directory: "ca.crt", "server.crt", ... */
const char *rs_path(const char *name);

#endif
