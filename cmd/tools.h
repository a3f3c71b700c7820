/*
 * tools.h - the tools of one run, for the loop in complete, chat and
 * batch (issue 22): [tool.NAME] commands and [mcp.NAME] servers from the
 * configuration (flexiai_config_tools()), their definitions for a
 * request, who may run without asking, and one call run bounded.
 *
 *   tools.c       the set: names, definitions, approvals, dispatch
 *   tools-exec.c  a [tool.NAME] run: fork/exec, stdin, bounded output
 *   tools-mcp.c   the MCP client: JSON-RPC 2.0 over a server's stdio
 *
 * MCP tools are named SERVER_TOOL (provider tool names allow
 * [A-Za-z0-9_-] only: any other byte of the server's tool name becomes
 * '_', and the name is cut at 64 bytes; the first of two equal names
 * wins).
 */
#ifndef FX_TOOLS_H
#define FX_TOOLS_H

#include "flexiai.h"

#include <signal.h>
#include <stddef.h>

struct tools; /* opaque: the tools of one run */
/* The set named by `list` ("NAME,NAME", each a [tool.NAME], an [mcp.NAME]
 * server (all its tools), or "all"); MCP servers named are started (initialize
 * + tools/list) here, once per process. 0, or -1 with *err (one line: unknown
 * name, server failed to start). */
int tools_open(const flexiai_config *cfg, const char *list, struct tools **out,
               char **err);
/* The definitions for flexiai_request.tools (owned by t). MCP tools are named
 * SERVER_TOOL (provider tool names allow [A-Za-z0-9_-] only; document the
 * scheme) */
size_t tools_defs(const struct tools *t, const flexiai_tool **defs);
/* 1 when `name` may run without asking: approve = auto in its config section,
 * or named in `approve_list` (--approve NAME,...; "all"), else 0. */
int tools_auto(const struct tools *t, const char *name,
               const char *approve_list);
/* Run one call. 0 with *result (caller frees; cut at the tool's max_output with
 * a marker) and *is_error (non-zero exit, timeout, MCP isError, server died: a
 * result the model sees); -1 with *err only for an unknown tool name. Never
 * hangs: bounded by the tool's timeout; *cancel (Ctrl-C) kills it. */
int tools_call(struct tools *t, const flexiai_tool_call *call,
               volatile sig_atomic_t *cancel, char **result, int *is_error,
               char **err);
/* Stops MCP servers, kills what still runs. */
void tools_close(struct tools *t);

/* ---- beyond the shared interface -------------------------------------- */

/* Where tool `name` comes from: its [tool.NAME] or [mcp.NAME] section's
 * name ("disk", "fs"), NULL for an unknown name; *is_mcp says which. */
const char *tools_source(const struct tools *t, const char *name, int *is_mcp);
/* The description of tool `name` (may be NULL). */
const char *tools_description(const struct tools *t, const char *name);

#endif
