/*
 * flexiai-chat - an interactive conversation with failover, on GNU
 * Readline.  This file is main: the options, the set-up (configuration,
 * the conversation to start from, the session file), then the terminal or
 * the scripted loop.
 *
 * The conversation and one turn are chat-conv.c, the input parser
 * chat-input.c, the slash commands chat-commands.c, the input loops with
 * readline, signals, history and completion chat-term.c, output
 * chat-out.c, breaker events chat-watch.c.
 */
#include "config.h"

#include "chat-commands.h"
#include "chat-conv.h"
#include "chat-term.h"
#include "tool-attach.h"
#include "tool-loop.h"
#include "tool-template.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "flexiai-ledger.h"

enum { OPT_SESSION = TOOL_OPT_CMD, OPT_LOAD, OPT_NO_RENDER, OPT_CID };

static const struct tool_option chat_opts[] = {
    {OPT_SESSION, 0, "session", "NAME",
     "keep the conversation as session NAME and resume it", 0, 0, NULL, NULL,
     NULL},
    {OPT_LOAD, 0, "load", "FILE",
     "start from a saved conversation (JSON messages)", TOOL_COMP_FILE, 0, NULL,
     NULL, NULL},
    {OPT_CID, 0, "cid", "ID",
     "continue conversation ID of the ledger (flexiai logs)", 0, 0, NULL, NULL,
     NULL},
    {OPT_NO_RENDER, 0, "no-render", NULL,
     "show replies as they come, without rendering their Markdown", 0, 0, NULL,
     NULL, NULL},
    {TOOL_OPT_END, 0, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL},
};

static const struct tool_option *const chat_groups[] = {
    chat_opts,           tool_opts_attach,
    tool_opts_request,   tool_opts_cache,
    tool_opts_reasoning, tool_opts_template,
    tool_opts_fragment,  tool_loop_opts,
    tool_opts_global,    NULL};

static const struct tool_command chat_command_desc = {
    .name = "chat",
    .synopsis = "[OPTIONS]",
    .description =
        "Talk with a model.  Replies stream as they arrive; a provider that "
        "fails is\nreplaced by the next one (-p fixes one; /provider auto "
        "undoes it).  Type /help\nfor the slash commands.",
    .groups = chat_groups,
    .footer =
        "With stdin not a terminal each line is one turn and each reply is "
        "followed by\na blank line; the exit code is then that of the last "
        "turn or command\n(a failed /load: its code).  See flexiai-chat(1).",
    .version_extra = chat_readline_version,
    .stream_help = "stream replies as they arrive (the default,\n"
                   "unless [defaults] stream = no)",
};

struct chat_opts {
    const char *session, *load, *cid;
    int no_render;
    /* -a: files for the first message */
    struct tool_attach att;
    struct tool_loop_args tl;       /* --tools, --approve, --max-tool-rounds */
    struct tool_template_args tmpl; /* --template, -P */
    struct tool_fragments frags;    /* -f: before the first question */
};

static void
on_option(void *ud, int id, const char *arg)
{
    struct chat_opts *o = ud;
    if (tool_attach_option(&o->att, id, arg) ||
        tool_loop_option(&o->tl, id, arg) ||
        tool_template_option(&o->tmpl, &o->frags, id, arg))
        return;
    if (id == OPT_SESSION)
        o->session = arg;
    else if (id == OPT_LOAD)
        o->load = arg;
    else if (id == OPT_NO_RENDER)
        o->no_render = 1;
    else if (id == OPT_CID) {
        if (*arg == '\0')
            tool_usage_error("--cid needs a conversation id");
        o->cid = arg;
    }
}

/* --cid: the conversation's messages from the ledger, and its id for the
 * turns to come.  An unknown one is exit 66, as for complete --cid. */
static void
from_ledger(struct chat_conv *c, const char *cid)
{
    char *err = NULL;
    flexiai_ledger *l = NULL;
    if (flexiai_ledger_open(c->cfg, 0, &l, &err) != FLEXIAI_OK)
        tool_die(FLEXIAI_ENOINPUT, "no conversation to continue: %s", err);
    tool_ledger_import_over(c->cfg);
    if (flexiai_ledger_warning(l))
        tool_warn("%s", flexiai_ledger_warning(l));
    flexiai_ledger_message *v;
    size_t n;
    flexiai_code rc = flexiai_ledger_conversation(l, cid, &v, &n);
    if (rc == FLEXIAI_ENOINPUT)
        tool_die(FLEXIAI_ENOINPUT,
                 "no conversation '%s' in the ledger (see flexiai logs)", cid);
    if (rc != FLEXIAI_OK)
        tool_die(FLEXIAI_ENOINPUT, "cannot continue conversation '%s': %s", cid,
                 flexiai_ledger_error(l));
    struct tool_msgs m = {NULL, 0, 0, 0};
    for (size_t i = 0; i < n; i++)
        tool_msgs_push(&m, v[i].role, v[i].content);
    chat_conv_replace(c, &m);
    chat_conv_attach_from_ledger(c, v, n); /* its files again, by path */
    flexiai_ledger_messages_free(v, n);
    flexiai_ledger_close(l);
    free(c->cid);
    c->cid = fxu_strdup(cid);
}

static void
check_session_name(const char *name)
{
    if (name[0] == '\0' || name[0] == '.' || strchr(name, '/'))
        tool_usage_error("bad session name '%s' (no '/', no leading '.')",
                         name);
}

/* -s is the conversation's system message, not a setting: take it out of
 * the overrides.  NULL when not given. */
static const char *
take_system(struct tool_args *a)
{
    for (size_t i = 0; i < a->nover; i++)
        if (strcmp(a->over[i].key, "system") == 0) {
            const char *system = a->over[i].value;
            a->over[i] = a->over[--a->nover];
            return system;
        }
    return NULL;
}

/* The conversation to start from: --load, else the session's file. */
static const char *
start_from(struct chat_conv *c, const char *load)
{
    const char *from = load;
    if (from == NULL && c->session_path && access(c->session_path, F_OK) == 0)
        from = c->session_path;
    if (from) {
        char *err = NULL;
        int rc = chat_conv_load(c, from, &err);
        if (rc != 0)
            tool_die(rc, "%s", err);
    }
    return from;
}

int
main(int argc, char **argv)
{
    struct tool_args args;
    struct chat_opts o;
    memset(&o, 0, sizeof(o));
    tool_attach_init(&o.att);
    o.tmpl.argc = argc;
    o.tmpl.argv = argv;
    tool_args_init(&args);
    tool_loop_args_init(&o.tl);
    tool_cmd_init("flexiai chat");
    int first = tool_parse(&chat_command_desc, NULL, argc, argv, 0, &args,
                           on_option, &o);
    if (first < argc)
        tool_usage_error("unexpected argument '%s'", argv[first]);
    /* --template: its system prompt and options under the command line's */
    struct tool_template *tmpl = tool_template_apply(&o.tmpl, &args, &o.frags);
    chat_template_start(tmpl, &o.tmpl, &o.frags);
    /* the template's attachments after the command line's -a files */
    for (size_t i = 0; tmpl && i < tmpl->nattachments; i++)
        tool_attach_add(&o.att, tmpl->attachments[i], NULL);
    const char *system = take_system(&args);
    if (o.session)
        check_session_name(o.session);
    if (o.cid && o.load)
        tool_usage_error("--cid and --load exclude each other");

    /* configuration, as every command loads it */
    flexiai_config *cfg = tool_setup_config(&args, 0, NULL);

    int interactive = isatty(STDIN_FILENO);
    struct chat_screen screen;
    struct chat_out out;
    chat_screen_init(&screen, interactive, interactive && chat_colour_wanted(),
                     &out);
    screen.render_on = !o.no_render;
    struct chat_conv conv;
    struct chat_conv *c = &conv;
    chat_conv_init(c, cfg, &args, &out);
    c->interactive = interactive;
    chat_conv_set_provider(c, args.provider);
    if (tmpl && tmpl->schema) { /* the template's, as /schema sets it */
        char *err = NULL;
        int src = flexiai_schema_load(tmpl->schema, 0, &c->schema, &err);
        if (src != FLEXIAI_OK)
            tool_die(src, "%s: schema: %s", tmpl->path, err ? err : "refused");
    }
    if (o.session) {
        char *dir = tool_xdg_dir("XDG_DATA_HOME", ".local/share");
        c->session_path = fxu_asprintf("%s/sessions/%s.json", dir, o.session);
        free(dir);
        /* one conversation id however often it is resumed, and its
         * /provider choice (-p wins) */
        chat_conv_resume_session(c, args.provider != NULL);
    }
    const char *from = o.cid ? NULL : start_from(c, o.load);
    if (o.cid) {
        from_ledger(c, o.cid);
        from = o.cid;
    }
    if (system)
        chat_conv_set_system(c, system);
    for (size_t i = 0; i < o.att.n; i++) {
        const flexiai_attachment *a = &o.att.v[i];
        int arc = chat_conv_attach(c, a->path ? a->path : a->url, a->mime);
        if (arc != 0)
            exit(arc == FLEXIAI_EUSAGE ? FLEXIAI_EUSAGE : arc);
    }
    tool_attach_free(&o.att);
    if (c->session_path && (o.load || o.cid || system))
        chat_conv_save_session(c); /* the session starts from there */

    chat_conv_connect(c);
    chat_tools_open(c, &o.tl); /* MCP servers start here */
    chat_signals_init(c);
    int rc = 0;
    if (interactive) {
        chat_term_init(c, &screen);
        struct chat_watcher *w = chat_watch_start(c->cfg, &args);
        c->on_reset = chat_watch_reset_done;
        c->on_reset_ud = w;
        if (isatty(STDOUT_FILENO)) { /* not into a file of replies */
            char *hello = chat_conv_greeting(c);
            chat_conv_info(c, "%s", hello);
            free(hello);
        }
        if (from && c->msgs.n)
            chat_conv_info(c, "%zu message%s from %s", c->msgs.n,
                           c->msgs.n == 1 ? "" : "s", from);
        chat_term_run(chat_watch_fd(w));
        c->on_reset = NULL;
        chat_watch_stop(w);
        chat_term_done();
    } else {
        rc = chat_run_piped(c);
        /* a script must learn that the session it relies on is not kept */
        if (c->save_failed && rc != FLEXIAI_EINTR)
            rc = c->save_failed;
        /* nor that the conversation it loaded is not there */
        if (c->load_failed && rc == FLEXIAI_OK)
            rc = c->load_failed;
    }

    chat_conv_free(c);
    chat_template_done();
    tool_template_free(tmpl);
    free(tmpl);
    tool_template_args_free(&o.tmpl);
    chat_screen_free(&screen);
    chat_signals_done();
    tool_args_free(&args);
    tool_out_flush();
    return rc;
}
