/*
 * chat-conv.c - the conversation of flexiai chat: messages (a tool_msgs
 * list, the system prompt first when set), the provider choice, model
 * changes through the public configuration API, the session file, and one
 * turn: build the request, run it, keep the answer (or what arrived of an
 * interrupted one).  Output goes through the struct chat_out callbacks;
 * no globals, no readline.
 */
#include "config.h"

#include "chat-conv.h"
#include "chat-session.h"
#include "flexiai-ledger.h"
#include "tool-attach.h"
#include "tool-loop.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

void
chat_conv_error(struct chat_conv *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = fxu_vasprintf(fmt, ap);
    va_end(ap);
    c->out->error(c->out->ud, s);
    free(s);
}

void
chat_conv_info(struct chat_conv *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char *s = fxu_vasprintf(fmt, ap);
    va_end(ap);
    c->out->info(c->out->ud, s);
    free(s);
}

char *
chat_conv_greeting(const struct chat_conv *c)
{
    fxu_buf b;
    fxu_buf_init(&b);
    fxu_buf_puts(&b, "flexiai chat: ");
    const char *prov = chat_conv_shown_provider(c);
    if (prov == NULL) {
        fxu_buf_puts(&b, "no provider configured");
    } else {
        fxu_buf_printf(&b, "%s:%s", prov, chat_conv_model(c, prov));
        const char *const *names;
        size_t n = chat_conv_providers(c, &names);
        if (c->provider || (c->args && c->args->no_failover) || n < 2) {
            fxu_buf_puts(&b, " (no failover)");
        } else {
            fxu_buf_puts(&b, " (failover: ");
            for (size_t i = 0; i < n; i++)
                fxu_buf_printf(&b, "%s%s", i ? ", " : "", names[i]);
            fxu_buf_puts(&b, ")");
        }
    }
    fxu_buf_puts(&b, " \xe2\x80\x94 /help for commands, Ctrl-D to leave, \\ or "
                     "\"\"\" for several lines");
    return fxu_buf_steal(&b);
}

static void
new_client(struct chat_conv *c)
{
    c->client = tool_setup_client(c->cfg, c->out->log, c->out->ud, 0);
}

void
chat_conv_init(struct chat_conv *c, flexiai_config *cfg,
               const struct tool_args *args, const struct chat_out *out)
{
    memset(c, 0, sizeof(*c));
    c->cfg = cfg;
    c->args = args;
    c->out = out;
}

void
chat_conv_connect(struct chat_conv *c)
{
    flexiai_client_free(c->client);
    new_client(c);
}

void
chat_conv_free(struct chat_conv *c)
{
    tool_loop_free(c->tools);
    flexiai_client_free(c->client);
    flexiai_schema_free(c->schema);
    flexiai_config_free(c->cfg);
    tool_msgs_free(&c->msgs);
    free(c->last_question);
    free(c->provider);
    free(c->last_provider);
    free(c->last_reasoning);
    free(c->session_path);
    free(c->cid);
    chat_conv_attach_free(c);
    memset(c, 0, sizeof(*c));
}

/* ---- messages ------------------------------------------------------------ */

void
chat_conv_push(struct chat_conv *c, const char *role, const char *content)
{
    tool_msgs_push(&c->msgs, role, content);
}

void
chat_conv_pop(struct chat_conv *c)
{
    tool_msgs_pop(&c->msgs);
}

const char *
chat_conv_last_role(const struct chat_conv *c)
{
    return c->msgs.n ? c->msgs.v[c->msgs.n - 1].role : NULL;
}

static int
last_is(const struct chat_conv *c, const char *role)
{
    const char *last = chat_conv_last_role(c);
    return last && strcmp(last, role) == 0;
}

const char *
chat_conv_system(const struct chat_conv *c)
{
    if (c->msgs.n > 0 && strcmp(c->msgs.v[0].role, "system") == 0)
        return c->msgs.v[0].content;
    return NULL;
}

void
chat_conv_clear(struct chat_conv *c, int keep_system)
{
    size_t keep = keep_system && chat_conv_system(c) ? 1 : 0;
    while (c->msgs.n > keep)
        chat_conv_pop(c);
    free(c->last_question);
    c->last_question = NULL;
}

void
chat_conv_set_system(struct chat_conv *c, const char *text)
{
    if (chat_conv_system(c)) {
        if (text) {
            /* the list owns its strings: the const is the public type's */
            free((char *)c->msgs.v[0].content);
            c->msgs.v[0].content = fxu_strdup(text);
        } else {
            tool_msgs_remove(&c->msgs, 0);
        }
        return;
    }
    if (text == NULL)
        return;
    chat_conv_push(c, "system", text); /* makes room, then moves it first */
    flexiai_message sys = c->msgs.v[c->msgs.n - 1];
    memmove(&c->msgs.v[1], &c->msgs.v[0], (c->msgs.n - 1) * sizeof(*c->msgs.v));
    c->msgs.v[0] = sys;
}

void
chat_conv_replace(struct chat_conv *c, struct tool_msgs *m)
{
    tool_msgs_free(&c->msgs);
    c->msgs = *m;
    memset(m, 0, sizeof(*m));
}

int
chat_conv_undo(struct chat_conv *c)
{
    if (c->msgs.n == 0 || last_is(c, "system"))
        return -1;
    if (last_is(c, "assistant"))
        chat_conv_pop(c);
    if (last_is(c, "user"))
        chat_conv_pop(c);
    free(c->last_question);
    c->last_question = NULL;
    return 0;
}

char *
chat_conv_take_retry(struct chat_conv *c)
{
    if (c->last_question) {
        /* the last turn failed: it never entered the conversation */
        char *question = c->last_question;
        c->last_question = NULL;
        return question;
    }
    if (last_is(c, "assistant"))
        chat_conv_pop(c);
    if (!last_is(c, "user"))
        return NULL;
    char *question = fxu_strdup(c->msgs.v[c->msgs.n - 1].content);
    chat_conv_pop(c);
    return question;
}

/* ---- providers ----------------------------------------------------------- */

size_t
chat_conv_providers(const struct chat_conv *c, const char *const **names)
{
    return flexiai_config_providers(c->cfg, names);
}

int
chat_conv_provider_known(const struct chat_conv *c, const char *name)
{
    const char *const *names;
    size_t n = chat_conv_providers(c, &names);
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return 1;
    return 0;
}

void
chat_conv_set_provider(struct chat_conv *c, const char *name)
{
    char *copy = fxu_strdup(name); /* name may be c->provider itself */
    free(c->provider);
    c->provider = copy;
    if (name == NULL) {
        /* auto: the prompt shows who failover asks first, not who answered
         * under the old choice */
        free(c->last_provider);
        c->last_provider = NULL;
    }
}

const char *
chat_conv_shown_provider(const struct chat_conv *c)
{
    if (c->provider)
        return c->provider;
    if (c->last_provider && chat_conv_provider_known(c, c->last_provider))
        return c->last_provider;
    const char *const *names;
    return chat_conv_providers(c, &names) ? names[0] : NULL;
}

const char *
chat_conv_model(const struct chat_conv *c, const char *name)
{
    const char *model = flexiai_config_provider_model(c->cfg, name);
    return model ? model : "";
}

/* A validated configuration may not change under a client: free the
 * client, change and re-validate, then build a new one. */
int
chat_conv_set_model(struct chat_conv *c, const char *provider,
                    const char *model)
{
    char *sec = fxu_asprintf("provider.%s", provider);
    char *old = fxu_strdup(chat_conv_model(c, provider));
    size_t before = flexiai_config_ndiags(c->cfg);
    flexiai_client_free(c->client);
    c->client = NULL;

    int rc = flexiai_config_set(c->cfg, sec, "model", model);
    if (rc == FLEXIAI_OK)
        rc = flexiai_config_validate(c->cfg, 0);
    if (rc != FLEXIAI_OK) {
        for (size_t i = before; i < flexiai_config_ndiags(c->cfg); i++) {
            const flexiai_diag *d = flexiai_config_diag(c->cfg, i);
            if (d->is_error) {
                chat_conv_error(c, "%s", d->text);
                break;
            }
        }
        flexiai_config_set(c->cfg, sec, "model", old);
        flexiai_config_validate(c->cfg, 0);
        rc = FLEXIAI_EUSAGE;
    }
    new_client(c);
    free(old);
    free(sec);
    return rc;
}

/* ---- files --------------------------------------------------------------- */

int
chat_conv_load(struct chat_conv *c, const char *path, char **err)
{
    struct tool_msgs m = {NULL, 0, 0, 0};
    struct tool_attach_refs refs = {NULL, 0};
    int rc = tool_msgs_read_refs(path, &m, &refs, err);
    if (rc != 0)
        return rc;
    chat_conv_replace(c, &m);
    chat_conv_attach_resume(c, &refs); /* the files its messages sent */
    tool_attach_refs_free(&refs);
    free(c->last_question);
    c->last_question = NULL;
    return 0;
}

/* tool_msgs_write() names its temporary file "PATH.XXXXXX" when writing
 * it fails; the person asked for PATH, so say PATH. */
static void
name_the_target(const char *path, char **err)
{
    size_t len = strlen(path);
    const char *msg = *err;
    if (strncmp(msg, path, len) != 0 || msg[len] != '.')
        return;
    const char *why = strstr(msg + len, ": ");
    char *fixed = fxu_asprintf("%s%s", path, why ? why : "");
    free(*err);
    *err = fixed;
}

int
chat_conv_save(const struct chat_conv *c, const char *path, char **err)
{
    /* the files by reference: what each was sent as */
    const flexiai_attachment_info **infos =
        fxu_xcalloc(c->msgs.n ? c->msgs.n : 1, sizeof(*infos));
    for (size_t i = 0; i < c->msgs.n; i++)
        infos[i] = chat_conv_attach_info(c, &c->msgs.v[i]);
    int rc = tool_msgs_write_att(path, c->msgs.v, c->msgs.n, infos, err);
    free(infos);
    if (rc == 0)
        return 0;
    name_the_target(path, err);
    return FLEXIAI_ECANTCREAT;
}

int
chat_conv_save_session(struct chat_conv *c)
{
    if (c->session_path == NULL)
        return 0;
    char *dir = fxu_strdup(c->session_path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    char *err = NULL;
    if (slash && fxu_make_dirs(dir) != 0)
        err = fxu_asprintf("%s: %s", c->session_path, strerror(errno));
    else if (chat_conv_save(c, c->session_path, &err) == 0) {
        char *state = chat_session_state_path(c->session_path);
        chat_session_write(state, chat_conv_cid(c), c->provider, &err);
        free(state);
    }
    int rc = 0;
    if (err) {
        chat_conv_error(c, "cannot save the session: %s", err);
        free(err);
        rc = c->save_failed = FLEXIAI_ECANTCREAT;
    }
    free(dir);
    return rc;
}

void
chat_conv_resume_session(struct chat_conv *c, int keep_provider)
{
    if (c->session_path == NULL)
        return;
    char *state = chat_session_state_path(c->session_path);
    char *cid = NULL, *provider = NULL;
    chat_session_read(state, &cid, &provider);
    free(state);
    if (cid == NULL)
        cid = flexiai_ledger_new_cid();
    free(c->cid);
    c->cid = cid;
    /* a provider no longer configured: auto again */
    if (!keep_provider && provider && chat_conv_provider_known(c, provider))
        chat_conv_set_provider(c, provider);
    free(provider);
}

const char *
chat_conv_cid(const struct chat_conv *c)
{
    return c->cid ? c->cid : tool_ledger_cid();
}

/* ---- one turn ------------------------------------------------------------ */

static int
on_text(void *ud, const char *text, size_t len)
{
    struct chat_conv *c = ud;
    if (len)
        c->out->text(c->out->ud, text, len);
    return 0;
}

static void
remember_provider(struct chat_conv *c, const char *name)
{
    if (name == NULL)
        return;
    free(c->last_provider);
    c->last_provider = fxu_strdup(name);
}

/* Length of s without trailing white space. */
static size_t
rtrim_len(const char *s)
{
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        n--;
    return n;
}

static void
turn_interrupted(struct chat_conv *c, const char *question,
                 const flexiai_result *res)
{
    const struct chat_out *o = c->out;
    if (res->text && res->text[0]) {
        /* keep what arrived, marked, so the model and a resumed session
         * know the answer was cut short */
        o->aside(o->ud, CHAT_INTERRUPTED_MARK);
        o->end_line(o->ud);
        char *content = fxu_asprintf("%.*s%s", (int)rtrim_len(res->text),
                                     res->text, CHAT_INTERRUPTED_MARK);
        chat_conv_push(c, "assistant", content);
        free(content);
        /* the question stays in the conversation: its files with it */
        chat_conv_attach_done(c, 1);
        remember_provider(c, res->provider);
    } else {
        /* nothing arrived: the question is dropped, /retry asks again */
        chat_conv_pop(c);
        c->last_question = fxu_strdup(question);
        o->end_line(o->ud);
        if (c->interactive)
            o->notice(o->ud, "interrupted (nothing received; /retry asks "
                             "again)");
    }
    if (!c->interactive)
        o->error(o->ud, "interrupted");
    chat_conv_save_session(c);
}

int
chat_conv_turn(struct chat_conv *c, const char *text)
{
    const struct chat_out *o = c->out;
    /* text may be the failed question itself (/retry) */
    char *question = fxu_strdup(text);
    free(c->last_question);
    c->last_question = NULL;
    chat_conv_push(c, "user", question);
    chat_conv_attach_turn(c); /* the files attached for it */

    flexiai_request req;
    flexiai_request_init(&req);
    req.messages = c->msgs.v;
    req.nmessages = c->msgs.n;
    req.provider = c->provider;
    req.no_failover = c->args->no_failover;
    /* a chat streams unless told stream = no */
    req.stream = flexiai_config_stream_mode(c->cfg) != FLEXIAI_STREAM_NEVER;
    req.on_stream_error = tool_on_stream_error(c->cfg, c->args);
    req.on_text = on_text;
    req.ud = c;
    req.cancel = c->cancel;
    req.schema = c->schema; /* (turns streaming off) */
    req.want_reasoning = 1; /* shown folded, /reasoning unfolds it */
    flexiai_result res;
    if (c->interactive && c->cancel)
        *c->cancel = 0; /* scripted, a SIGINT between turns still ends it */
    /* budgets: the day's and month's from the ledger each turn, --budget
     * over the whole session */
    static double session_spent;
    struct tool_budget bud;
    tool_budget_init(&bud, c->cfg, c->client, c->args);
    bud.run_spent = session_spent;
    if (!tool_budget_check(&bud, &req)) {
        chat_conv_pop(c);
        c->last_question = question;
        chat_conv_error(c, "%s", bud.line);
        tool_budget_free(&bud);
        return FLEXIAI_ETEMPFAIL;
    }
    if (c->busy)
        *c->busy = 1;
    /* --tools: the model's calls run (or are refused) inside the turn */
    if (c->tools)
        c->tools->cancel = c->cancel;
    struct tool_conv tc;
    tool_conv_init(&tc, c->msgs.v, c->msgs.n);
    int rc = tool_loop_complete(c->tools, c->client, &req, &tc, &res);
    if (c->busy)
        *c->busy = 0;
    int over_budget = tool_budget_after(&bud, &res);
    session_spent = bud.run_spent;
    /* one ledger record per turn, the session's conversation id */
    flexiai_ledger_tool_call *calls = tool_conv_ledger_calls(&tc);
    tool_ledger_log_calls(c->cfg, c->args, "chat", chat_conv_cid(c), c->msgs.v,
                          c->msgs.n, &res, rc, calls, tc.ncalls);
    free(calls);
    tool_conv_free(&tc);
    chat_conv_attach_done(c, rc == FLEXIAI_OK);

    if (rc == FLEXIAI_OK && res.json) {
        /* /schema: the validated JSON is the reply, on one line */
        free(res.text);
        res.text = fxu_strdup(res.json);
    }
    if (rc == FLEXIAI_OK) {
        if (!res.streamed_output && res.text && res.text[0])
            o->text(o->ud, res.text, strlen(res.text));
        o->end_line(o->ud);
        /* no silent fallback: a broken key, once per provider per run */
        tool_warn_broken_providers(&res, NULL);
        if (!c->interactive)
            o->text(o->ud, "\n", 1); /* a blank line after each reply */
        chat_conv_push(c, "assistant", res.text ? res.text : "");
        /* the provider's state goes back with this turn (store:false
         * reasoning items) */
        tool_msgs_set_state(&c->msgs, c->msgs.n - 1, res.reasoning_state);
        remember_provider(c, res.provider);
        free(c->last_reasoning);
        c->last_reasoning = fxu_strdup(res.reasoning);
        if (res.reasoning && o->reasoning)
            o->reasoning(o->ud, res.reasoning, c->args->show_reasoning);
        chat_conv_save_session(c);
    } else if (rc == FLEXIAI_EINTR) {
        turn_interrupted(c, question, &res);
    } else {
        o->end_line(o->ud);
        if (res.streamed_output && !c->interactive)
            o->text(o->ud, "\n", 1);
        chat_conv_pop(c);
        c->last_question = fxu_strdup(question);
        chat_conv_error(c, "%s",
                        over_budget
                            ? bud.line
                            : (res.error ? res.error : "request failed"));
    }
    tool_budget_free(&bud);
    flexiai_result_free(&res);
    free(question);
    return rc;
}
