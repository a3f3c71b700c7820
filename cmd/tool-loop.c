/*
 * tool-loop.c - the tool loop of complete, chat and batch (tool-loop.h):
 * the options, the decision for each call (approved, asked, refused), the
 * history the next model call is sent, and the sum of every model call.
 *
 * A tool's own failure (non-zero exit, timeout, a dead MCP server) is a
 * result the model sees, never a provider failure: only the model calls
 * go through the library's failover, breakers and limits.
 */
#include "config.h"

#include "tool-loop.h"

#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

/* ---- options ------------------------------------------------------------ */

const struct tool_option tool_loop_opts[] = {
    {TOOL_LOOP_OPT_TOOLS, 0, "tools", "NAME,...|all",
     "tools the model may call: [tool.NAME] and [mcp.NAME]\nsections of the "
     "configuration (see flexiai tools list)",
     TOOL_COMP_TOOL, 0, NULL, NULL, NULL},
    {TOOL_LOOP_OPT_APPROVE, 0, "approve", "NAME,...|all",
     "tools that run without asking (besides approve = auto)", TOOL_COMP_TOOL,
     0, NULL, NULL, NULL},
    {TOOL_LOOP_OPT_MAX_ROUNDS, 0, "max-tool-rounds", "N",
     "rounds of tool calls before the model must answer\n(default 8; more: "
     "exit 65)",
     0, 0, NULL, NULL, NULL},
    {TOOL_OPT_END, 0, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL},
};

void
tool_loop_args_init(struct tool_loop_args *a)
{
    memset(a, 0, sizeof(*a));
    a->max_rounds = TOOL_LOOP_MAX_ROUNDS_DEFAULT;
}

int
tool_loop_option(struct tool_loop_args *a, int id, const char *arg)
{
    switch (id) {
    case TOOL_LOOP_OPT_TOOLS:
        if (*arg == '\0')
            tool_usage_error("--tools needs NAME,... or all");
        a->tools = arg;
        return 1;
    case TOOL_LOOP_OPT_APPROVE:
        if (*arg == '\0')
            tool_usage_error("--approve needs NAME,... or all");
        a->approve = arg;
        return 1;
    case TOOL_LOOP_OPT_MAX_ROUNDS: {
        long n;
        if (fxu_parse_long(arg, &n) || n < 0 || n > TOOL_LOOP_MAX_ROUNDS_LIMIT)
            tool_usage_error("--max-tool-rounds must be a whole number from "
                             "0 to %d",
                             TOOL_LOOP_MAX_ROUNDS_LIMIT);
        a->max_rounds = n;
        return 1;
    }
    default:
        return 0;
    }
}

/* ---- the tools of a run ----------------------------------------------------
 */

struct tool_loop *
tool_loop_open(const flexiai_config *cfg, const struct tool_loop_args *a)
{
    if (a->tools == NULL) {
        if (a->approve)
            tool_usage_error("--approve needs --tools");
        return NULL;
    }
    struct tool_loop *l = fxu_xcalloc(1, sizeof(*l));
    char *err = NULL;
    if (tools_open(cfg, a->tools, &l->tools, &err) != 0) {
        /* a name that is none is the command line's mistake, a bad
         * parameters schema the configuration's; a server that would not
         * start is unavailable */
        int code = FLEXIAI_EUNAVAILABLE;
        if (err && strncmp(err, "no tool", 7) == 0)
            code = FLEXIAI_EUSAGE;
        else if (err && strstr(err, ".parameters"))
            code = FLEXIAI_ECONFIG;
        free(l);
        tool_die(code, "--tools: %s", err ? err : "cannot open the tools");
    }
    l->ndefs = tools_defs(l->tools, &l->defs);
    l->approve = a->approve;
    l->max_rounds = a->max_rounds;
    return l;
}

void
tool_loop_free(struct tool_loop *l)
{
    if (l == NULL)
        return;
    tools_close(l->tools);
    for (size_t i = 0; i < l->nalways; i++)
        free(l->always[i]);
    free(l->always);
    free(l);
}

static int
known_tool(const struct tool_loop *l, const char *name)
{
    for (size_t i = 0; i < l->ndefs; i++)
        if (name && strcmp(l->defs[i].name, name) == 0)
            return 1;
    return 0;
}

static int
said_always(const struct tool_loop *l, const char *name)
{
    for (size_t i = 0; i < l->nalways; i++)
        if (strcmp(l->always[i], name) == 0)
            return 1;
    return 0;
}

int
tool_loop_approved(const struct tool_loop *l, const char *name)
{
    return tools_auto(l->tools, name, l->approve) || said_always(l, name);
}

/* ---- the conversation ---------------------------------------------------- */

void
tool_conv_init(struct tool_conv *cv, const flexiai_message *msgs, size_t n)
{
    memset(cv, 0, sizeof(*cv));
    cv->cap = n + 8;
    cv->v = fxu_xcalloc(cv->cap, sizeof(*cv->v));
    if (n)
        memcpy(cv->v, msgs, n * sizeof(*msgs));
    cv->n = n;
    flexiai_result_init(&cv->total);
}

static void
free_calls(flexiai_tool_call *calls, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        free(calls[i].id);
        free(calls[i].name);
        free(calls[i].arguments);
    }
    free(calls);
}

void
tool_conv_free(struct tool_conv *cv)
{
    free(cv->v);
    for (size_t i = 0; i < cv->nowned; i++)
        free(cv->owned[i]);
    free(cv->owned);
    for (size_t i = 0; i < cv->nturns; i++)
        free_calls(cv->turns[i], cv->nturn[i]);
    free(cv->turns);
    free(cv->nturn);
    for (size_t i = 0; i < cv->ncalls; i++) {
        free(cv->calls[i].id);
        free(cv->calls[i].name);
        free(cv->calls[i].arguments);
        free(cv->calls[i].result);
    }
    free(cv->calls);
    flexiai_result_free(&cv->total);
    memset(cv, 0, sizeof(*cv));
}

/* Keep s (taken over) for as long as the conversation; returns it. */
static const char *
own(struct tool_conv *cv, char *s)
{
    if (s == NULL)
        return NULL;
    if (cv->nowned == cv->capowned) {
        cv->capowned = cv->capowned ? cv->capowned * 2 : 16;
        cv->owned = realloc(cv->owned, cv->capowned * sizeof(*cv->owned));
        if (cv->owned == NULL)
            abort();
    }
    cv->owned[cv->nowned++] = s;
    return s;
}

static flexiai_message *
add_message(struct tool_conv *cv, const char *role)
{
    if (cv->n == cv->cap) {
        cv->cap *= 2;
        cv->v = realloc(cv->v, cv->cap * sizeof(*cv->v));
        if (cv->v == NULL)
            abort();
    }
    flexiai_message *m = &cv->v[cv->n++];
    memset(m, 0, sizeof(*m));
    m->role = role;
    return m;
}

void
tool_conv_request(const struct tool_loop *l, struct tool_conv *cv,
                  flexiai_request *req)
{
    req->messages = cv->v;
    req->nmessages = cv->n;
    req->tools = l ? l->defs : NULL;
    req->ntools = l ? l->ndefs : 0;
}

/* ---- the sum of the model calls ------------------------------------------ */

static void
take_str(char **to, char **from)
{
    free(*to);
    *to = *from;
    *from = NULL;
}

/* Add what round cost and tried to the total; with `last`, its answer
 * becomes the total's. */
static void
add_round(flexiai_result *t, flexiai_result *r, int last)
{
    if (r->has_usage) {
        t->has_usage = 1;
        t->prompt_tokens += r->prompt_tokens;
        t->completion_tokens += r->completion_tokens;
        t->total_tokens += r->total_tokens;
        t->cached_tokens += r->cached_tokens;
        t->cache_write_tokens += r->cache_write_tokens;
        t->reasoning_tokens += r->reasoning_tokens;
    }
    if (r->has_cost) {
        t->has_cost = 1;
        t->cost += r->cost;
    }
    t->latency_ms += r->latency_ms;
    t->streamed_output |= r->streamed_output;
    if (r->nattempts) {
        t->attempts = realloc(t->attempts, (t->nattempts + r->nattempts) *
                                               sizeof(*t->attempts));
        if (t->attempts == NULL)
            abort();
        memcpy(t->attempts + t->nattempts, r->attempts,
               r->nattempts * sizeof(*r->attempts));
        t->nattempts += r->nattempts;
        free(r->attempts); /* the strings are the total's now */
        r->attempts = NULL;
        r->nattempts = 0;
    }
    if (!last)
        return;
    take_str(&t->text, &r->text);
    take_str(&t->provider, &r->provider);
    take_str(&t->model, &r->model);
    take_str(&t->finish_reason, &r->finish_reason);
    take_str(&t->error, &r->error);
    take_str(&t->json, &r->json);
    take_str(&t->reasoning, &r->reasoning);
    take_str(&t->reasoning_state, &r->reasoning_state);
    t->schema_valid = r->schema_valid;
    t->cached = r->cached;
}

/* The conversation is over: *round becomes the total. */
static int
finish(struct tool_conv *cv, flexiai_result *round, int rc)
{
    add_round(&cv->total, round, 1);
    flexiai_result_free(round);
    *round = cv->total;
    flexiai_result_init(&cv->total);
    return rc;
}

/* ---- one call -------------------------------------------------------------
 */

static void
say_call(const struct tool_loop *l, const struct tool_loop_call *c)
{
    if (l->log == NULL || !tool_log_shown(FLEXIAI_LOG_ATTEMPT))
        return;
    char *name = tool_printable(c->name ? c->name : "?");
    char *line = fxu_asprintf(
        "tool %s: %zu bytes of arguments, %zu bytes of result%s", name,
        c->arguments ? strlen(c->arguments) : 0,
        c->result ? strlen(c->result) : 0, c->is_error ? ", error" : "");
    l->log(l->log_ud, FLEXIAI_LOG_ATTEMPT, line);
    free(line);
    free(name);
}

/* Run call (or refuse it) into *rec. */
static void
run_call(struct tool_loop *l, const flexiai_tool_call *call,
         struct tool_loop_call *rec)
{
    rec->id = fxu_strdup(call->id ? call->id : "");
    rec->name = fxu_strdup(call->name ? call->name : "");
    rec->arguments = fxu_strdup(call->arguments ? call->arguments : "{}");
    if (!known_tool(l, call->name)) {
        rec->result =
            fxu_asprintf("error: there is no tool named '%s' "
                         "(this run has %zu tool%s)",
                         rec->name, l->ndefs, l->ndefs == 1 ? "" : "s");
        rec->is_error = 1;
        return;
    }
    int allowed = tool_loop_approved(l, call->name);
    if (!allowed && l->ask) {
        int answer = l->ask(l->ask_ud, call);
        if (answer == TOOL_LOOP_ALWAYS) {
            l->always =
                realloc(l->always, (l->nalways + 1) * sizeof(*l->always));
            if (l->always == NULL)
                abort();
            l->always[l->nalways++] = fxu_strdup(call->name);
        }
        if (answer != TOOL_LOOP_NO)
            allowed = 1;
        else {
            rec->result = fxu_strdup("not allowed: the user refused this call");
            rec->is_error = 1;
            return;
        }
    }
    if (!allowed) {
        rec->result = fxu_asprintf(
            "not allowed: %s is not approved for this run (approve = auto "
            "in its configuration, or --approve %s)",
            rec->name, rec->name);
        rec->is_error = 1;
        return;
    }
    char *result = NULL, *err = NULL;
    int is_error = 0;
    if (tools_call(l->tools, call, l->cancel, &result, &is_error, &err) != 0) {
        rec->result = fxu_asprintf("error: %s", err ? err : "cannot run it");
        rec->is_error = 1;
        free(err);
        return;
    }
    rec->result = result ? result : fxu_strdup("");
    rec->is_error = is_error;
}

/* Append the answer's assistant turn and one result per call. */
static void
run_calls(struct tool_loop *l, struct tool_conv *cv, flexiai_result *round)
{
    flexiai_message *m = add_message(cv, "assistant");
    m->content = own(cv, round->text ? round->text : fxu_strdup(""));
    round->text = NULL;
    m->reasoning_state = own(cv, round->reasoning_state);
    round->reasoning_state = NULL;
    /* the calls go back as the model made them */
    flexiai_tool_call *calls = round->tool_calls;
    size_t ncalls = round->ntool_calls;
    round->tool_calls = NULL;
    round->ntool_calls = 0;
    cv->turns = realloc(cv->turns, (cv->nturns + 1) * sizeof(*cv->turns));
    cv->nturn = realloc(cv->nturn, (cv->nturns + 1) * sizeof(*cv->nturn));
    if (cv->turns == NULL || cv->nturn == NULL)
        abort();
    cv->turns[cv->nturns] = calls;
    cv->nturn[cv->nturns++] = ncalls;
    m->tool_calls = calls;
    m->ntool_calls = ncalls;

    cv->calls = realloc(cv->calls, (cv->ncalls + ncalls) * sizeof(*cv->calls));
    if (cv->calls == NULL)
        abort();
    for (size_t i = 0; i < ncalls; i++) {
        struct tool_loop_call *rec = &cv->calls[cv->ncalls++];
        memset(rec, 0, sizeof(*rec));
        if (l->cancel && *l->cancel) {
            rec->id = fxu_strdup(calls[i].id ? calls[i].id : "");
            rec->name = fxu_strdup(calls[i].name ? calls[i].name : "");
            rec->arguments = fxu_strdup(calls[i].arguments);
            rec->result = fxu_strdup("interrupted");
            rec->is_error = 1;
        } else {
            run_call(l, &calls[i], rec);
        }
        say_call(l, rec);
        flexiai_message *t = add_message(cv, "tool");
        t->content = rec->result;
        t->tool_call_id = calls[i].id;
        t->tool_name = calls[i].name;
        t->is_error = rec->is_error;
    }
}

int
tool_conv_step(struct tool_loop *l, struct tool_conv *cv, flexiai_result *round,
               int *rc)
{
    if (*rc != FLEXIAI_OK || round->ntool_calls == 0 || l == NULL) {
        finish(cv, round, *rc);
        return 0;
    }
    if (cv->rounds >= l->max_rounds) {
        *rc = FLEXIAI_EDATA;
        free(round->error);
        round->error =
            fxu_asprintf("the model still called tools after %ld round%s "
                         "(--max-tool-rounds %ld)",
                         cv->rounds, cv->rounds == 1 ? "" : "s", l->max_rounds);
        finish(cv, round, *rc);
        return 0;
    }
    add_round(&cv->total, round, 0);
    run_calls(l, cv, round);
    cv->rounds++;
    if (l->cancel && *l->cancel) {
        *rc = FLEXIAI_EINTR;
        free(round->error);
        round->error = fxu_strdup("interrupted while tools ran");
        finish(cv, round, *rc);
        return 0;
    }
    flexiai_result_free(round);
    return 1;
}

int
tool_loop_complete(struct tool_loop *l, flexiai_client *c, flexiai_request *req,
                   struct tool_conv *cv, flexiai_result *res)
{
    int rc;
    do {
        tool_conv_request(l, cv, req);
        flexiai_result_init(res);
        rc = flexiai_complete(c, req, res);
    } while (tool_conv_step(l, cv, res, &rc));
    return rc;
}

/* ---- the record ------------------------------------------------------------
 */

void
tool_conv_json(const struct tool_conv *cv, struct cJSON *obj)
{
    cJSON *arr = cJSON_AddArrayToObject(obj, "tool_calls");
    for (size_t i = 0; i < cv->ncalls; i++) {
        const struct tool_loop_call *c = &cv->calls[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "id", c->id);
        cJSON_AddStringToObject(o, "name", c->name);
        cJSON_AddStringToObject(o, "arguments", c->arguments);
        cJSON_AddStringToObject(o, "result", c->result);
        cJSON_AddBoolToObject(o, "is_error", c->is_error);
        cJSON_AddItemToArray(arr, o);
    }
    cJSON_AddNumberToObject(obj, "tool_rounds", (double)cv->rounds);
}

flexiai_ledger_tool_call *
tool_conv_ledger_calls(const struct tool_conv *cv)
{
    if (cv->ncalls == 0)
        return NULL;
    flexiai_ledger_tool_call *v = fxu_xcalloc(cv->ncalls, sizeof(*v));
    for (size_t i = 0; i < cv->ncalls; i++) {
        v[i].id = cv->calls[i].id;
        v[i].name = cv->calls[i].name;
        v[i].arguments = cv->calls[i].arguments;
        v[i].result = cv->calls[i].result;
        v[i].is_error = cv->calls[i].is_error;
    }
    return v;
}
