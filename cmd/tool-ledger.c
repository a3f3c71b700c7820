/*
 * tool-ledger.c - the request ledger as the request commands see it: one
 * call after every request (complete, each chat turn) appends its record
 * through flexiai_ledger_log(), honouring --no-log and --tag, under the
 * process's conversation id.  Logging never costs an answer: a failure is
 * one warning line per process and changes no exit code, and the ledger is
 * opened (SQLite reading its schema and WAL, most of the cost) in a thread
 * while the request is on the network.
 */
#include "config.h"

#include "tool.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

static char *process_cid;
static int warned;

/* the ledger being opened ahead of the request */
static struct {
    pthread_t thread;
    int started;
    const flexiai_config *cfg;
    flexiai_ledger *l;
    char *err;
} ahead;

static void *
open_ahead(void *unused)
{
    (void)unused;
    ahead.l = flexiai_ledger_open(ahead.cfg, 1, &ahead.err);
    return NULL;
}

void
tool_ledger_prepare(const flexiai_config *cfg, const struct tool_args *a)
{
    if (a->no_log || ahead.started || !flexiai_ledger_enabled(cfg))
        return;
    ahead.cfg = cfg;
    ahead.started = pthread_create(&ahead.thread, NULL, open_ahead, NULL) == 0;
}

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
    char *err;
    if (ahead.started && ahead.cfg == cfg) {
        pthread_join(ahead.thread, NULL);
        ahead.started = 0;
        err = ahead.l ? flexiai_ledger_append(ahead.l, cfg, &e) : ahead.err;
        ahead.err = NULL;
        flexiai_ledger_close(ahead.l);
        ahead.l = NULL;
    } else {
        err = flexiai_ledger_log(cfg, &e);
    }
    if (err && !warned) {
        warned = 1;
        tool_warn("request not logged: %s", err);
    }
    free(err);
    free(tag);
}
