/*
 * batch-tools.c - tools in flexiai batch (--tools): an item whose answer
 * calls tools has them run (approved ones only: approve = auto or
 * --approve; the others are answered "not allowed") and is sent again
 * with the longer history, until it answers or --max-tool-rounds.  Its
 * line and ledger record carry every call and result, and the usage and
 * cost of every model call it made.
 *
 * The tools run in the batch's own thread, between two turns of the
 * engine: each is bounded by its timeout, and Ctrl-C kills it.
 */
#include "config.h"

#include "batch.h"
#include "tool-loop.h"

#include <cjson/cJSON.h>
#include <stdlib.h>

void
batch_tools_submit(struct tool_loop *l, struct batch_item *it,
                   flexiai_request *req)
{
    if (l == NULL)
        return;
    it->conv = fxu_xcalloc(1, sizeof(*it->conv));
    tool_conv_init(it->conv, req->messages, req->nmessages);
    tool_conv_request(l, it->conv, req);
    it->req = *req; /* what it borrows lives with the item */
}

int
batch_tools_collect(struct tool_loop *l, flexiai_batch *b,
                    struct batch_item *it, flexiai_result *res,
                    flexiai_code *code)
{
    if (it->conv == NULL)
        return 0;
    int rc = (int)*code;
    if (tool_conv_step(l, it->conv, res, &rc)) {
        flexiai_request req = it->req;
        tool_conv_request(l, it->conv, &req);
        flexiai_batch_submit(b, &req, it); /* copied */
        return 1;
    }
    *code = (flexiai_code)rc;
    return 0;
}

void
batch_tools_json(const struct batch_item *it, struct cJSON *line)
{
    if (it->conv)
        tool_conv_json(it->conv, line);
}

flexiai_ledger_tool_call *
batch_tools_ledger(const struct batch_item *it, size_t *n)
{
    *n = it->conv ? it->conv->ncalls : 0;
    return it->conv ? tool_conv_ledger_calls(it->conv) : NULL;
}

void
batch_tools_free(struct batch_item *it)
{
    if (it->conv == NULL)
        return;
    tool_conv_free(it->conv);
    free(it->conv);
    it->conv = NULL;
}
