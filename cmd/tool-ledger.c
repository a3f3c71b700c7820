/*
 * tool-ledger.c - the request ledger as the request commands see it: one
 * call after every request (complete, each chat turn) appends its record
 * through flexiai_ledger_log(), honouring --no-log and --tag, under the
 * process's conversation id.  Logging never costs an answer: a failure is
 * one warning line per process and changes no exit code.  The record goes
 * to the ledger's spool with one write (no SQLite in this process); the
 * readers (logs, usage, -C/--cid) move it into the database.
 */
#include "config.h"

#include "tool.h"

#include <stdlib.h>
#include <string.h>

static char *process_cid;
static int warned;

const char *
tool_ledger_cid(void)
{
    if (process_cid == NULL)
        process_cid = flexiai_ledger_new_cid();
    return process_cid;
}

void
tool_ledger_log(const flexiai_config *cfg, const struct tool_args *a,
                const char *command, const char *cid,
                const flexiai_message *msgs, size_t n,
                const flexiai_result *res, int rc)
{
    if (a->no_log)
        return;
    char *tag = NULL;
    if (a->tag) {
        /* a tag is text in a database and on terminals: valid UTF-8 */
        size_t bad = 0;
        tag = fxu_utf8_sanitize(a->tag, strlen(a->tag), &bad);
    }
    flexiai_ledger_entry e = {
        .command = command,
        .tag = tag,
        .conversation_id = cid ? cid : tool_ledger_cid(),
        .messages = msgs,
        .nmessages = n,
        .result = res,
        .exit_code = rc,
    };
    char *err = flexiai_ledger_log(cfg, &e);
    if (err && !warned) {
        warned = 1;
        tool_warn("request not logged: %s", err);
    }
    free(err);
    free(tag);
}
