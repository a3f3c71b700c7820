/*
 * flexiai-complete - one-shot completion for scripts: the prompt from the
 * arguments and stdin (or --messages), the answer on stdout, an honest
 * exit code.
 */
#include "config.h"

#include "flexiai-ledger.h"
#include "tool-attach.h"
#include "tool-loop.h"
#include "tool-template.h"
#include "tool.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static volatile sig_atomic_t interrupted;

static void
on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

enum {
    OPT_MESSAGES = TOOL_OPT_CMD,
    OPT_JSON,
    OPT_NO_STDIN,
    OPT_CONTINUE,
    OPT_CID
};

static const struct tool_option complete_opts[] = {
    {OPT_MESSAGES, 0, "messages", "FILE|-",
     "JSON array of {role, content} messages", TOOL_COMP_FILE_OR_DASH, 0, NULL,
     NULL, NULL},
    {OPT_JSON, 0, "json", NULL,
     "print one JSON object with text, usage, "
     "attempts",
     0, 0, NULL, NULL, NULL},
    {OPT_NO_STDIN, 'n', "no-stdin", NULL,
     "do not read stdin (in a `while read` loop)", 0, 0, NULL, NULL, NULL},
    {OPT_CONTINUE, 'C', "continue", NULL,
     "continue the latest complete or chat conversation\nof the ledger", 0, 0,
     NULL, NULL, NULL},
    {OPT_CID, 0, "cid", "ID", "continue conversation ID of the ledger", 0, 0,
     NULL, NULL, NULL},
    {TOOL_OPT_END, 0, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL},
};

static const struct tool_option *const complete_groups[] = {complete_opts,
                                                            tool_opts_attach,
                                                            tool_opts_schema,
                                                            tool_opts_request,
                                                            tool_opts_cache,
                                                            tool_opts_reasoning,
                                                            tool_opts_template,
                                                            tool_opts_fragment,
                                                            tool_loop_opts,
                                                            tool_opts_global,
                                                            NULL};

const struct tool_command tool_cmd_complete = {
    .name = "complete",
    .synopsis = "[OPTIONS] [PROMPT...]",
    .description =
        "Send one prompt and print the answer.  The prompt is the arguments "
        "joined by\nspaces, then stdin's content (when stdin is not a "
        "terminal) after a blank line.",
    .groups = complete_groups,
    .footer = "Exit codes: 0 ok, 64 usage, 65 invalid input or request "
              "rejected, 66 no prompt,\n69 unavailable, 75 a provider failed "
              "transiently (try later), 76 no answer\nmatched --schema, 77 "
              "credentials refused, 78 configuration, 130 interrupted;\n66 "
              "also for an unknown conversation (-C, --cid).  See\n"
              "flexiai-complete(1).",
};

struct opts {
    const char *messages;
    int json;
    int no_stdin;
    const char *schema; /* --schema or --schema-multi SPEC */
    int multi;
    int schema_show;
    int cont;        /* -C */
    const char *cid; /* --cid */
    /* -a, --attach-type */
    struct tool_attach att;
    /* --tools, --approve, --max-tool-rounds */
    struct tool_loop_args tl;
    struct tool_template_args tmpl; /* --template, -P */
    struct tool_fragments frags;    /* -f */
};

static void
on_option(void *ud, int id, const char *arg)
{
    struct opts *o = ud;
    if (tool_attach_option(&o->att, id, arg) ||
        tool_loop_option(&o->tl, id, arg) ||
        tool_template_option(&o->tmpl, &o->frags, id, arg))
        return;
    if (id == OPT_MESSAGES)
        o->messages = arg;
    else if (id == OPT_JSON)
        o->json = 1;
    else if (id == OPT_NO_STDIN)
        o->no_stdin = 1;
    else if (id == TOOL_OPT_SCHEMA || id == TOOL_OPT_SCHEMA_MULTI) {
        o->schema = arg;
        o->multi = id == TOOL_OPT_SCHEMA_MULTI;
    } else if (id == TOOL_OPT_SCHEMA_SHOW)
        o->schema_show = 1;
    else if (id == OPT_CONTINUE)
        o->cont = 1;
    else if (id == OPT_CID) {
        if (*arg == '\0')
            tool_usage_error("--cid needs a conversation id");
        o->cid = arg;
    }
}

/* --schema / --schema-multi: refused up front (64 unsupported keyword or
 * malformed, 66 missing file, 65 a file that is no JSON Schema);
 * --schema-show prints it and exits. */
static flexiai_schema *
load_schema(const struct opts *o)
{
    if (o->schema == NULL) {
        if (o->schema_show)
            tool_die(FLEXIAI_EUSAGE, "--schema-show needs --schema SPEC or "
                                     "--schema-multi SPEC");
        return NULL;
    }
    flexiai_schema *schema = NULL;
    char *err = NULL;
    int rc = flexiai_schema_load(o->schema, o->multi, &schema, &err);
    if (rc != FLEXIAI_OK)
        tool_die(rc, "%s", err ? err : "schema refused");
    if (o->schema_show) {
        char *text = flexiai_schema_text(schema);
        tool_outs(text);
        tool_outs("\n");
        tool_out_flush();
        free(text);
        flexiai_schema_free(schema);
        exit(FLEXIAI_OK);
    }
    return schema;
}

static int
flag_system(const struct tool_args *a)
{
    for (size_t i = 0; i < a->nover; i++)
        if (strcmp(a->over[i].key, "system") == 0)
            return 1;
    return 0;
}

#ifndef FX_COMPLETE_BUILTIN
/* -C, --cid: the conversation's messages from the ledger go before this
 * prompt (its system prompt too, unless -s gives one).  An unknown
 * conversation is exit 66, like a missing input; *cid is its id. */
static void
continue_conversation(const flexiai_config *cfg, const struct opts *o,
                      const struct tool_args *a, struct tool_msgs *msgs,
                      char **cid, flexiai_ledger_message **kept, size_t *nkept)
{
    char *err = NULL;
    flexiai_ledger *l = NULL;
    if (flexiai_ledger_open(cfg, 0, &l, &err) != FLEXIAI_OK)
        tool_die(FLEXIAI_ENOINPUT, "no conversation to continue: %s", err);
    tool_ledger_import_over(cfg);
    if (flexiai_ledger_warning(l))
        tool_warn("%s", flexiai_ledger_warning(l));
    if (o->cid) {
        *cid = strdup(o->cid);
    } else {
        flexiai_code rc = flexiai_ledger_latest_cid(l, cid);
        if (rc != FLEXIAI_OK)
            tool_die(FLEXIAI_ENOINPUT, "no conversation to continue%s%s",
                     rc != FLEXIAI_ENOINPUT ? ": " : " in the ledger",
                     rc != FLEXIAI_ENOINPUT ? flexiai_ledger_error(l) : "");
    }
    flexiai_ledger_message *v;
    size_t n;
    flexiai_code rc = flexiai_ledger_conversation(l, *cid, &v, &n);
    if (rc == FLEXIAI_ENOINPUT)
        tool_die(FLEXIAI_ENOINPUT,
                 "no conversation '%s' in the ledger (see flexiai logs)", *cid);
    if (rc != FLEXIAI_OK)
        tool_die(FLEXIAI_ENOINPUT, "cannot continue conversation '%s': %s",
                 *cid, flexiai_ledger_error(l));
    struct tool_msgs all = {NULL, 0, 0, 0};
    for (size_t i = 0; i < n; i++)
        if (!(flag_system(a) && strcmp(v[i].role, "system") == 0)) {
            tool_msgs_push(&all, v[i].role, v[i].content);
            tool_msgs_set_state(&all, all.n - 1, v[i].reasoning_state);
            /* its files again, by path (tool-attach.c says if changed) */
            tool_attach_again(cfg, &v[i], &all.v[all.n - 1]);
        }
    for (size_t i = 0; i < msgs->n; i++) {
        tool_msgs_push(&all, msgs->v[i].role, msgs->v[i].content);
        tool_msgs_set_state(&all, all.n - 1, msgs->v[i].reasoning_state);
        /* a --messages file's files (borrowed) */
        all.v[all.n - 1].attachments = msgs->v[i].attachments;
        all.v[all.n - 1].nattachments = msgs->v[i].nattachments;
    }
    all.replaced = msgs->replaced;
    tool_msgs_free(msgs);
    *msgs = all;
    *kept = v; /* the attachments' strings: freed after the request */
    *nkept = n;
    flexiai_ledger_close(l);
}
#endif

/* -s with a --messages file that has its own system message: the flag is
 * the more explicit, so it replaces the file's (the same for every
 * provider type), and a warning says so. */
static void
drop_file_system(struct tool_msgs *msgs, const struct tool_args *a,
                 const char *path)
{
    if (!flag_system(a))
        return;
    size_t dropped = 0;
    for (size_t i = msgs->n; i-- > 0;)
        if (strcmp(msgs->v[i].role, "system") == 0) {
            tool_msgs_remove(msgs, i);
            dropped++;
        }
    if (dropped)
        tool_warn("-s replaces the system message of %s",
                  strcmp(path, "-") == 0 ? "stdin" : path);
}

/* stdin, whole.  A NUL byte cannot travel in a prompt (the providers take
 * JSON text): refuse it rather than cut the prompt short. */
static void
read_stdin(fxu_buf *b)
{
    char *err = NULL;
    int rc = tool_read_bounded(stdin, "stdin", b, &err);
    if (rc == FLEXIAI_EDATA)
        tool_die(rc, "%s: nothing was sent", err);
    if (rc != 0)
        tool_die(rc, "%s", err);
    if (b->len && memchr(b->data, '\0', b->len))
        tool_die(FLEXIAI_EDATA, "stdin holds a NUL byte: a prompt must be "
                                "text (nothing was sent)");
}

struct out_state {
    int print;
    char last;
    /* stderr lines held while the answer's line is open on a shared
     * screen, each ending in '\n' */
    fxu_buf held;
};

/* stdout and stderr end up in one place (a terminal, one file, one pipe:
 * `2>&1`): a stderr line then must not land inside the answer's line. */
static int shared_screen;

static int
same_place(void)
{
    struct stat out, err;
    if (isatty(STDOUT_FILENO) && isatty(STDERR_FILENO))
        return 1;
    if (fstat(STDOUT_FILENO, &out) != 0 || fstat(STDERR_FILENO, &err) != 0)
        return 0;
    return out.st_dev == err.st_dev && out.st_ino == err.st_ino;
}

/* The lines held back, now that the answer's line has ended. */
static void
release_held(struct out_state *o)
{
    if (o->held.len == 0)
        return;
    tool_out_flush();
    fwrite(o->held.data, 1, o->held.len, stderr);
    fflush(stderr);
    o->held.len = 0;
}

static int
on_text(void *ud, const char *text, size_t len)
{
    struct out_state *o = ud;
    if (o->print && len) {
        /* held lines go out after the line they would have cut */
        const char *nl = o->held.len ? memrchr(text, '\n', len) : NULL;
        size_t head = nl ? (size_t)(nl - text) + 1 : 0;
        if (head) {
            tool_out_text(text, head);
            release_held(o);
        }
        tool_out_text(text + head, len - head);
        tool_out_flush();
        o->last = text[len - 1];
    }
    return 0;
}

/*
 * -v lines while a streamed answer is on a shared screen: the answer reads
 * as one answer, so a line is held until the answer's line has ended
 * (never glued to its text, never cutting it in two).
 */
static void
log_line(void *ud, flexiai_log_level level, const char *msg)
{
    struct out_state *o = ud;
    if (tool_log_shown(level) && shared_screen && o->print && o->last != '\n') {
        char *clean = tool_printable(msg);
        fxu_buf_printf(&o->held, "flexiai: %s\n", clean);
        free(clean);
        return;
    }
    tool_log_cb(NULL, level, msg);
}

/*
 * An answer spliced from two providers is never silent: one line says
 * where it joins.  An answer from another provider than the first tried
 * is said on a terminal only (scripts have -v and --json for that).
 */
static void
say_who_answered(const flexiai_result *res)
{
    /* no silent fallback from a broken provider; that line also says who
     * answered */
    int warned = tool_warn_broken_providers(res, NULL);
    if (res->nattempts < 2 || res->provider == NULL)
        return;
    const flexiai_attempt *last = &res->attempts[res->nattempts - 1];
    if (last->continuation) {
        size_t shown = 0;
        const flexiai_attempt *broke = NULL;
        for (size_t i = 0; i + 1 < res->nattempts; i++) {
            shown += res->attempts[i].text_bytes;
            if (res->attempts[i].text_bytes)
                broke = &res->attempts[i];
        }
        if (broke)
            tool_err("%s broke off after %zu bytes (%s); %s continued the "
                     "answer",
                     broke->provider, shown,
                     flexiai_errclass_name(broke->errclass), res->provider);
        return;
    }
    const flexiai_attempt *first = &res->attempts[0];
    if (warned || !isatty(STDERR_FILENO) ||
        strcmp(first->provider, res->provider) == 0)
        return;
    tool_err("answered by %s (%s: %s)", res->provider, first->provider,
             first->errclass ? flexiai_errclass_name(first->errclass)
                             : first->outcome);
}

#ifdef FX_COMPLETE_BUILTIN
/* Built into the front command too (as git builds in its own commands):
 * `flexiai complete` then costs one program start, not two. */
int
tool_complete_main(int argc, char **argv)
#else
int
main(int argc, char **argv)
#endif
{
    struct opts o;
    memset(&o, 0, sizeof(o));
    o.tmpl.argc = argc;
    o.tmpl.argv = argv;
    struct tool_args a;
    tool_attach_init(&o.att);
    tool_args_init(&a);
    tool_cmd_init("flexiai complete");
    tool_loop_args_init(&o.tl);
#ifdef FX_COMPLETE_BUILTIN
    char **given = calloc((size_t)argc + 1, sizeof(*given));
    if (given == NULL)
        tool_die(FLEXIAI_ESOFTWARE, "out of memory");
    memcpy(given, argv, (size_t)argc * sizeof(*argv));
#endif
    /* --json anywhere: even a bad option or configuration prints one JSON
     * object (tool_exit) */
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
        if (strcmp(argv[i], "--json") == 0)
            tool_json_failures = 1;
    int first =
        tool_parse(&tool_cmd_complete, NULL, argc, argv, 0, &a, on_option, &o);
#ifdef FX_COMPLETE_BUILTIN
    /* -C/--cid read the ledger's database, and SQLite is not linked into
     * the front (what a plain complete starts): flexiai-complete does it */
    if (o.cont || o.cid)
        return tool_exec_command("complete", argc, given);
    free(given);
#endif
    /* the template under the command line's options */
    struct tool_template *tmpl = tool_template_apply(&o.tmpl, &a, &o.frags);
    if (tmpl && tmpl->schema && o.schema == NULL)
        o.schema = tmpl->schema;
    /* the template's attachments after the command line's -a files */
    for (size_t i = 0; tmpl && i < tmpl->nattachments; i++)
        tool_attach_add(&o.att, tmpl->attachments[i], NULL);
    flexiai_schema *schema = load_schema(&o);
    /* configuration: files, env, then flags (first: it sets how much
     * input may be read) */
    flexiai_config *cfg = tool_setup_config(&a, 0, NULL);
    /* every attachment checked before anything is sent ("-" is stdin) */
    char *aerr = NULL;
    int arc = tool_attach_check(cfg, &o.att, &aerr);
    if (arc != 0)
        tool_die(arc, "%s", aerr);
    if (tool_attach_uses_stdin(&o.att))
        o.no_stdin = 1;

    /* the prompt */
    struct tool_msgs msgs = {NULL, 0, 0, 0};
    struct tool_attach *msg_files = NULL; /* --messages files' files */
    size_t nmsg_files = 0;
    size_t replaced = 0;
    fxu_buf p;
    fxu_buf_init(&p);
    for (int i = first; i < argc; i++) {
        if (i > first)
            fxu_buf_putc(&p, ' ');
        fxu_buf_puts(&p, argv[i]);
    }
    if (o.messages && (tmpl || o.frags.n))
        tool_usage_error("--messages cannot be combined with --template or "
                         "-f");
    if (o.messages) {
        char *err = NULL;
        struct tool_attach_refs refs = {NULL, 0};
        int mrc = tool_msgs_read_refs(o.messages, &msgs, &refs, &err);
        if (mrc != 0)
            tool_die(mrc, "%s", err);
        /* its messages' files again, by path, each checked anew */
        msg_files = tool_attach_refs_onto(cfg, &refs, &msgs, &nmsg_files);
        tool_attach_refs_free(&refs);
        if (p.len) {
            char *clean = fxu_utf8_sanitize(p.data, p.len, &replaced);
            tool_msgs_push(&msgs, "user", clean);
            free(clean);
        }
        replaced += msgs.replaced;
        if (msgs.n == 0)
            tool_die(FLEXIAI_ENOINPUT, "%s: no messages", o.messages);
        drop_file_system(&msgs, &a, o.messages);
    } else {
        if (!o.no_stdin && !isatty(STDIN_FILENO)) {
            fxu_buf in;
            fxu_buf_init(&in);
            read_stdin(&in);
            if (in.len) {
                if (p.len)
                    fxu_buf_puts(&p, "\n\n");
                fxu_buf_append(&p, in.data, in.len);
            }
            fxu_buf_free(&in);
        }
        if (p.len == 0 && (tmpl == NULL || tmpl->prompt == NULL) &&
            o.frags.n == 0)
            tool_die(FLEXIAI_ENOINPUT,
                     "no prompt (give it as arguments or on stdin)");
        /* invalid UTF-8 would make the request invalid JSON: U+FFFD */
        char *clean = fxu_utf8_sanitize(p.data, p.len, &replaced);
        char *prompt = NULL, *err = NULL;
        int trc = tool_template_prompt(tmpl, clean, o.tmpl.params,
                                       o.tmpl.nparams, &prompt, &err);
        if (trc != 0)
            tool_die(trc, "%s", err);
        char *full = tool_fragments_prompt(&o.frags, prompt);
        tool_msgs_push(&msgs, "user", full);
        free(full);
        free(prompt);
        free(clean);
    }
    fxu_buf_free(&p);

    char *cid = NULL;
#ifndef FX_COMPLETE_BUILTIN
    flexiai_ledger_message *kept = NULL;
    size_t nkept = 0;
    if (o.cont || o.cid)
        continue_conversation(cfg, &o, &a, &msgs, &cid, &kept, &nkept);
#endif
    /* the files go with this prompt, the last message */
    if (o.att.n)
        tool_attach_to(&o.att, &msgs.v[msgs.n - 1]);
    struct out_state out = {.print = 0, .last = '\n'};
    fxu_buf_init(&out.held);
    flexiai_client *client = tool_setup_client(cfg, log_line, &out, 0);

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, NULL);

    /* an answer checked against a schema is checked whole */
    int stream = schema ? 0 : tool_stream_wanted(cfg, &a, o.json);
    out.print = stream && !o.json;
    shared_screen = same_place();
    flexiai_request req;
    flexiai_request_init(&req);
    req.messages = msgs.v;
    req.nmessages = msgs.n;
    req.provider = a.provider;
    req.no_failover = a.no_failover;
    req.stream = stream;
    req.on_stream_error = tool_on_stream_error(cfg, &a);
    req.on_text = on_text;
    req.ud = &out;
    req.cancel = &interrupted;
    req.schema = schema;
    /* a summary only when it is shown: some accounts may not ask */
    req.want_reasoning = a.show_reasoning;
    /* --tools: the model's calls run (approved ones) until it answers */
    struct tool_loop *tl = tool_loop_open(cfg, &o.tl);
    if (tl) {
        tl->cancel = &interrupted;
        tl->log = log_line;
        tl->log_ud = &out;
    }
    struct tool_conv conv;
    tool_conv_init(&conv, msgs.v, msgs.n);
    flexiai_result res;
    flexiai_result_init(&res);
    struct tool_budget bud;
    tool_budget_init(&bud, cfg, client, &a);
    if (!tool_budget_check(&bud, &req))
        tool_die(FLEXIAI_ETEMPFAIL, "%s", bud.line);
    int rc = tool_loop_complete(tl, client, &req, &conv, &res);
    int over_budget = tool_budget_after(&bud, &res);
    if (res.text) {
        /* an answer in invalid UTF-8 is printed with U+FFFD, so that
         * --json is always valid JSON */
        size_t bad = 0;
        char *clean = fxu_utf8_sanitize(res.text, strlen(res.text), &bad);
        free(res.text);
        res.text = clean;
        replaced += bad;
    }
    /* the reasoning came first: before the answer, unless that is out */
    if (a.show_reasoning && !res.streamed_output)
        tool_show_reasoning(&res);
    if (o.json) {
        tool_json_failures = 0; /* this is the one object */
        cJSON *j = tool_result_json(&res, rc, replaced);
        if (tl)
            tool_conv_json(&conv, j);
        char *s = cJSON_PrintUnformatted(j);
        tool_outs(s);
        tool_outs("\n");
        free(s);
        cJSON_Delete(j);
    } else if (rc == FLEXIAI_OK && res.json) {
        /* exactly the validated JSON, on one line */
        tool_out_text(res.json, strlen(res.json));
        tool_outs("\n");
    } else if (rc == FLEXIAI_OK && !res.streamed_output) {
        tool_out_text(res.text ? res.text : "",
                      res.text ? strlen(res.text) : 0);
        if (res.text == NULL || res.text[0] == '\0' ||
            res.text[strlen(res.text) - 1] != '\n')
            tool_outs("\n");
    } else if (res.streamed_output || out.last != '\n') {
        /* streamed (fully or partly): end the line */
        tool_out_text_end();
        if (out.last != '\n')
            tool_outs("\n");
    }
    release_held(&out); /* after the answer's last line */
    fxu_buf_free(&out.held);
    tool_out_flush();
    if (a.show_reasoning && res.streamed_output)
        tool_show_reasoning(&res);
    if (rc == FLEXIAI_OK && !tool_quiet)
        say_who_answered(&res);
    if (rc != FLEXIAI_OK) {
        if (rc == FLEXIAI_EINTR)
            tool_err("interrupted");
        else if (over_budget)
            tool_err("%s", bud.line);
        else
            tool_err("%s", res.error ? res.error : "request failed");
    }
    /* the answer is out: now its record (a failure is only a warning) */
    flexiai_ledger_tool_call *calls = tool_conv_ledger_calls(&conv);
    tool_ledger_fragments = &o.frags;
    tool_ledger_log_calls(cfg, &a, "complete", cid, msgs.v, msgs.n, &res, rc,
                          calls, conv.ncalls);
    free(calls);
    tool_conv_free(&conv);
    tool_loop_free(tl);
    free(cid);
    tool_budget_free(&bud);
    flexiai_result_free(&res);
    flexiai_schema_free(schema);
    flexiai_client_free(client);
    flexiai_config_free(cfg);
    tool_msgs_free(&msgs);
#ifndef FX_COMPLETE_BUILTIN
    flexiai_ledger_messages_free(kept, nkept);
#endif
    tool_attach_free(&o.att);
    tool_attach_lists_free(msg_files, nmsg_files);
    tool_fragments_free(&o.frags);
    tool_template_free(tmpl);
    free(tmpl);
    tool_template_args_free(&o.tmpl);
    tool_args_free(&a);
    return rc;
}
