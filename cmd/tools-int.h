/*
 * tools-int.h - what cmd/tools.c, tools-exec.c and tools-mcp.c share and
 * nothing else uses: child processes (tools-exec.c) and MCP servers
 * (tools-mcp.c).
 */
#ifndef FX_TOOLS_INT_H
#define FX_TOOLS_INT_H

#include "flexiai.h"
#include "fxu.h"

#include <signal.h>
#include <sys/types.h>

/* ---- child processes (tools-exec.c) ----------------------------------- */

/* A child in its own session (no terminal, its own process group) with
 * pipes on fds 0-2 and nothing else open. */
struct tx_proc {
    pid_t pid;        /* 0: none */
    int in, out, err; /* our ends, non-blocking; -1 when closed */
};

/* The environment a tool gets: PATH, HOME and LANG as ours are (PATH
 * "/usr/local/bin:/usr/bin:/bin" when unset), and each variable `names`
 * lists that is set here.  NULL-ended; free with tx_strv_free(). */
char **tx_env(const char *const *names);
void tx_strv_free(char **v);
/* Start argv.  0, or -1 with *err ("cannot run 'x': No such file..."). */
int tx_spawn(const char *const *argv, const char *const *names,
             struct tx_proc *p, char **err);
/* Write what fd takes now of buf[*off..len) (advancing *off), without a
 * SIGPIPE; 0, or -1 with errno (EPIPE: the reader is gone). */
int tx_write_some(int fd, const char *buf, size_t len, size_t *off);
/* Close our ends, then end the child's process group: SIGTERM, up to
 * `grace` seconds to go, SIGKILL; reaped either way. */
void tx_stop(struct tx_proc *p, double grace);
/* Append what is readable on fd (up to `cap` kept in b; *total counts it
 * all).  1 more may come, 0 at EOF (fd closed, set to -1). */
int tx_drain(int *fd, fxu_buf *b, size_t cap, size_t *total);
/* Run a [tool.NAME] once: `input` on its stdin; 0 with *result and
 * *is_error (see tools_call()). */
int tx_run(const flexiai_tool_conf *c, const char *input,
           volatile sig_atomic_t *cancel, char **result, int *is_error);
/* Append "\n[flexiai: output cut at KEPT of TOTAL bytes]" when
 * total > kept. */
void tx_cut_marker(fxu_buf *b, size_t kept, size_t total);

/* ---- MCP servers (tools-mcp.c) ---------------------------------------- */

struct mcp_server;
struct mcp_tool {
    char *name;        /* the server's own name for it */
    char *description; /* may be NULL */
    char *schema;      /* inputSchema as JSON text */
};
/* The server of conf c, started once per process (initialize, tools/list);
 * NULL with *err (one line).  Each open adds a reference. */
struct mcp_server *mcp_open(const flexiai_tool_conf *c,
                            volatile sig_atomic_t *cancel, char **err);
size_t mcp_tools(const struct mcp_server *s, const struct mcp_tool **tools);
/* tools/call: 0 with *result and *is_error, as tools_call(). */
int mcp_call(struct mcp_server *s, const char *tool, const char *arguments,
             volatile sig_atomic_t *cancel, char **result, int *is_error);
/* Drop a reference; the last stops the server. */
void mcp_close(struct mcp_server *s);

#endif
