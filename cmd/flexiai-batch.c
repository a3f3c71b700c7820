/*
 * flexiai-batch - many prompts from JSONL (or text lines), run at once in
 * one process through the library's request engine: each item fails over
 * on its own through the shared breakers and limits, its answer is one
 * JSONL line, and a second run with the same -o FILE resumes.
 */
#include "config.h"

#include "batch-deferred.h"
#include "batch.h"
#include "flexiai-ledger.h"
#include "tool-loop.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

static volatile sig_atomic_t interrupted;

static void
on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

enum {
    OPT_JOBS = TOOL_OPT_CMD,
    OPT_OUTPUT,
    OPT_INPUT,
    OPT_ORDERED,
    OPT_UNORDERED,
    OPT_TEXT,
    OPT_PROGRESS,
    OPT_SCHEMA_FILES,
    OPT_PROMPT_FIELD,
    OPT_ID_FIELD,
    OPT_TEMPLATE,
    OPT_COMPACT,
    OPT_DEFERRED,
    OPT_ATTACH_FILES,
};

static const struct tool_option batch_opts[] = {
    {OPT_INPUT, 'i', "input", "FILE|-",
     "read items from FILE (repeatable; default stdin)", TOOL_COMP_FILE_OR_DASH,
     0, NULL, NULL, NULL},
    {OPT_OUTPUT, 'o', "output", "FILE",
     "append answers to FILE; a second run resumes", TOOL_COMP_FILE, 0, NULL,
     NULL, NULL},
    {OPT_JOBS, 'j', "jobs", "N", "requests in flight at once (default 8)", 0, 0,
     NULL, NULL, NULL},
    {OPT_ORDERED, 0, "ordered", NULL, "answers in input order (default)", 0, 0,
     NULL, NULL, NULL},
    {OPT_UNORDERED, 0, "unordered", NULL, "answers as they finish", 0, 0, NULL,
     NULL, NULL},
    {OPT_TEXT, 0, "text", NULL, "each input line is a prompt, not JSON", 0, 0,
     NULL, NULL, NULL},
    {OPT_PROGRESS, 0, "progress", "no|yes",
     "progress line on stderr (default: when it is a terminal)",
     TOOL_COMP_CHOICE, TOOL_OPT_EQUALS, NULL, NULL, NULL},
    {OPT_SCHEMA_FILES, 0, "schema-files", NULL,
     "an item's \"schema\" may name a local file (default: inline JSON or "
     "the short\nform only)",
     0, 0, NULL, NULL, NULL},
    {OPT_ATTACH_FILES, 0, "attach-files", NULL,
     "an item's \"attachments\" may name local files (default: http(s)\n"
     "URLs only)",
     0, 0, NULL, NULL, NULL},
    {OPT_PROMPT_FIELD, 0, "prompt-field", "NAME",
     "the prompt is the input's member NAME (instead of \"prompt\")", 0, 0,
     NULL, NULL, NULL},
    {OPT_TEMPLATE, 0, "prompt-template", "TEXT",
     "the prompt is TEXT with each {NAME} replaced by that member", 0, 0, NULL,
     NULL, NULL},
    {OPT_ID_FIELD, 0, "id-field", "NAME",
     "the id is the input's member NAME (instead of \"id\")", 0, 0, NULL, NULL,
     NULL},
    {OPT_COMPACT, 0, "compact", "FILE",
     "rewrite the output FILE with one line per id, then exit", TOOL_COMP_FILE,
     0, NULL, NULL, NULL},
    {OPT_DEFERRED, 0, "deferred", NULL,
     "submit the items to the provider's batch API (half\nprice, answers "
     "within a day): prints the job's id;\nsee DEFERRED JOBS",
     0, 0, NULL, NULL, NULL},
    {TOOL_OPT_END, 0, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL},
};

static const struct tool_option *const batch_groups[] = {
    batch_opts,     tool_opts_schema,   tool_opts_request, tool_opts_cache,
    tool_loop_opts, tool_opts_template, tool_opts_global,  NULL};

const struct tool_command tool_cmd_batch = {
    .name = "batch",
    .synopsis = "[OPTIONS] [PROMPT...]",
    .description =
        "Run many prompts at once.  Each input line is a JSON object with "
        "\"prompt\" or\n\"messages\" and optional \"id\", \"system\", "
        "\"model\", \"provider\", \"temperature\",\n\"max_tokens\", "
        "\"reasoning\", \"schema\" (--text: each line is a prompt).\n"
        "PROMPT goes before every item's prompt, after a blank line.  Each "
        "answer is one\nJSON line with \"id\" and the fields of complete "
        "--json.",
    .groups = batch_groups,
    .subs = deferred_subs,
    .stream_help = "ask for streamed answers (default: no, unless\n"
                   "[defaults] stream = yes)",
    .footer = "Exit codes: 0 every item answered, 65 bad input lines only, "
              "69/75/76/77 as\ncomplete for the failed items together (75: "
              "one may pass, run again to\nresume; 76: no answer matched "
              "the schema), 64/65/66 a bad --schema,\n65/66 a bad file of "
              "--template, 73 cannot create -o FILE, 74 cannot write\nit, "
              "75 also: another batch is writing -o FILE, 130 interrupted.  "
              "See\nflexiai-batch(1).",
};

#define MAX_INPUTS 64

struct opts {
    long jobs;
    const char *output;
    const char *inputs[MAX_INPUTS];
    size_t ninputs;
    int ordered;
    int text;
    int progress;       /* -1 auto */
    const char *schema; /* --schema or --schema-multi SPEC */
    int multi;
    int schema_files; /* --schema-files: items' schemas may name files */
    int attach_files; /* --attach-files: items' attachments may too */
    struct batch_parse parse;
    const char *compact;    /* --compact FILE */
    int deferred;           /* --deferred */
    struct deferred_opts d; /* the deferred jobs' subcommands */
    int schema_show;        /* --schema-show: print the compiled schema, exit */
    struct tool_loop_args tl;       /* --tools, --approve, --max-tool-rounds */
    struct tool_template_args tmpl; /* --template, -P (batch-template.c) */
};

static void
on_option(void *ud, int id, const char *arg)
{
    struct opts *o = ud;
    char *end;
    if (tool_loop_option(&o->tl, id, arg))
        return;
    switch (id) {
    case OPT_JOBS:
        errno = 0;
        o->jobs = strtol(arg, &end, 10);
        if (errno || *end || end == arg || o->jobs < 1 || o->jobs > 4096)
            tool_usage_error("-j must be a whole number from 1 to 4096");
        break;
    case OPT_OUTPUT:
        o->output = arg;
        break;
    case OPT_INPUT:
        if (o->ninputs == MAX_INPUTS)
            tool_usage_error("at most %d input files", MAX_INPUTS);
        o->inputs[o->ninputs++] = arg;
        break;
    case OPT_ORDERED:
        o->ordered = 1;
        break;
    case OPT_UNORDERED:
        o->ordered = 0;
        break;
    case OPT_TEXT:
        o->text = 1;
        break;
    case TOOL_OPT_SCHEMA:
    case TOOL_OPT_SCHEMA_MULTI:
        o->schema = arg;
        o->multi = id == TOOL_OPT_SCHEMA_MULTI;
        break;
    case OPT_SCHEMA_FILES:
        o->schema_files = 1;
        break;
    case OPT_ATTACH_FILES:
        o->attach_files = 1;
        break;
    case OPT_PROMPT_FIELD:
        if (*arg == '\0')
            tool_usage_error("--prompt-field needs a NAME");
        o->parse.prompt_field = arg;
        break;
    case OPT_ID_FIELD:
        if (*arg == '\0')
            tool_usage_error("--id-field needs a NAME");
        o->parse.id_field = arg;
        break;
    case OPT_TEMPLATE:
        if (strchr(arg, '{') == NULL)
            tool_usage_error("--prompt-template needs at least one {NAME}");
        o->parse.template = arg;
        break;
    case OPT_COMPACT:
        o->compact = arg;
        break;
    case OPT_DEFERRED:
        o->deferred = 1;
        break;
    case TOOL_OPT_SCHEMA_SHOW:
        o->schema_show = 1;
        break;
    case OPT_PROGRESS:
        if (strcmp(arg, "yes") == 0)
            o->progress = 1;
        else if (strcmp(arg, "no") == 0)
            o->progress = 0;
        else
            tool_usage_error("--progress must be no or yes");
        break;
    default:
        if (id >= DEFERRED_OPT_BASE)
            deferred_option(&o->d, id, arg);
        else
            tool_template_option(&o->tmpl, NULL, id, arg);
    }
}

/* ---- output lines ----------------------------------------------------------
 */

/* The line of a finished item: {"id": ..., complete --json's fields}. */
static char *
result_line(const struct batch_item *it, const flexiai_result *r, int code,
            size_t *len)
{
    cJSON *j = tool_result_json(r, code, 0);
    batch_tools_json(it, j);
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    /* the id's own text (a number is never printed back as a double),
     * then the fingerprint of the request this answers (for a resume to
     * compare with), then complete --json's members */
    fxu_buf b;
    fxu_buf_init(&b);
    fxu_buf_printf(&b, "{\"id\":%s", it->id);
    if (it->fp)
        fxu_buf_printf(&b, ",\"fingerprint\":\"%s\"", it->fp);
    if (s[1] != '}')
        fxu_buf_putc(&b, ',');
    fxu_buf_puts(&b, s + 1); /* the answer may be megabytes: no printf */
    fxu_buf_putc(&b, '\n');
    free(s);
    size_t n = b.len;
    char *line = fxu_buf_steal(&b);
    *len = n;
    return line;
}

static int show_progress;

static void
log_line(void *ud, flexiai_log_level level, const char *msg)
{
    (void)ud;
    if (tool_log_shown(level) && show_progress)
        batch_progress_clear();
    tool_log_cb(NULL, level, msg);
}

/* Lines without a prompt at the start that stop a batch early. */
#define EARLY_LINES 5

struct run {
    struct opts *o;
    struct tool_args *a;
    const flexiai_config *cfg;     /* for the ledger */
    flexiai_ledger_writer *ledger; /* records, many per write */
    int ledger_warned;
    const char *prefix;
    const flexiai_schema *schema; /* --schema, for items without their own */
    flexiai_batch *b;
    struct batch_out *out;
    struct batch_idset *done;
    struct batch_stats st;
    struct tool_budget bud; /* [budget], --budget */
    int budget_stop;        /* a budget is reached: no more items start */
    int stream;
    flexiai_stream_error_mode on_stream_error;
    int ioerr;
    /* what the command line adds to every item's request (fingerprint) */
    char *salt;
    /* skipped items whose request differs from the answered one */
    long changed;
    char *changed_id;
    /* lines without a prompt while no line had one (early stop) */
    struct batch_item *held[EARLY_LINES];
    int nheld, prompt_seen;
    char *fields;
    struct tool_loop *tl; /* --tools; NULL: none */
};

/* The line's own schema, with --schema-multi's mode: a bad one makes the
 * item a bad line (65) that is never sent.  An input line is not trusted
 * to read local files (and send them, or learn whether they exist):
 * inline JSON or the short form only, unless --schema-files. */
static void
item_schema(const struct run *r, struct batch_item *it)
{
    char *err = NULL;
    flexiai_code rc =
        r->o->schema_files
            ? flexiai_schema_load(it->schema_spec, r->o->multi, &it->schema,
                                  &err)
            : flexiai_schema_load_inline(it->schema_spec, r->o->multi,
                                         &it->schema, &err);
    if (rc != FLEXIAI_OK && !r->o->schema_files &&
        batch_looks_like_path(it->schema_spec)) {
        free(err);
        err = fxu_strdup("a file name is not taken from the input (inline "
                         "JSON or the short form; --schema-files allows "
                         "files)");
    }
    if (rc != FLEXIAI_OK) {
        it->error = fxu_asprintf("schema: %s", err ? err : "refused");
        it->schema = NULL;
    }
    free(err);
}

/* A bad line's own output line (65); the item is freed. */
static void
put_bad(struct run *r, struct batch_item *it, long *seq)
{
    it->seq = (*seq)++;
    flexiai_result res;
    flexiai_result_init(&res);
    res.error = fxu_asprintf("line %ld: %s", it->lineno, it->error);
    size_t len;
    char *line = result_line(it, &res, FLEXIAI_EDATA, &len);
    if (!tool_quiet && !show_progress)
        tool_warn("%s", res.error);
    free(res.error);
    struct batch_tally t = {.code = FLEXIAI_EDATA, .bad = 1};
    if (batch_out_put(r->out, it->seq, line, len, &t) != 0)
        r->ioerr = 1;
    batch_item_free(it);
    free(it);
}

/* Input whose first lines all lack a prompt is most likely JSONL with
 * other member names: say which names there are, before anything is
 * sent or written, rather than write a bad line for each of 5 000. */
static void
early_stop(struct run *r)
{
    tool_die(FLEXIAI_EDATA,
             "%s %d line%s: %s; fields found: %s (use --prompt-field NAME "
             "or --prompt-template '{NAME}: {NAME}'); nothing was sent",
             r->nheld == 1 ? "the only" : "the first", r->nheld,
             r->nheld == 1 ? "" : "s", r->held[0]->error,
             r->fields ? r->fields : "none");
}

/* Hold a line without a prompt while no line had one (0), else 1: the
 * held ones are written and this one goes on as usual. */
static int
hold(struct run *r, struct batch_item *it, const char *line, size_t len,
     long *seq)
{
    if (!r->prompt_seen && it->no_prompt) {
        if (r->nheld == 0)
            r->fields = batch_line_fields(line, len);
        r->held[r->nheld++] = it;
        if (r->nheld == EARLY_LINES)
            early_stop(r);
        return 0;
    }
    r->prompt_seen = 1;
    for (int i = 0; i < r->nheld; i++)
        put_bad(r, r->held[i], seq);
    r->nheld = 0;
    return 1;
}

/* Start items until -j are in flight (or the reorder window is full). */
static void
fill(struct run *r, struct batch_input *in, long *seq)
{
    while (!in->eof && !interrupted && !r->ioerr && !r->budget_stop &&
           (long)flexiai_batch_pending(r->b) < r->o->jobs &&
           batch_out_room(r->out, *seq)) {
        /* what the budgets leave, before the next item is read */
        flexiai_request left;
        flexiai_request_init(&left);
        if (!tool_budget_check(&r->bud, &left)) {
            r->budget_stop = 1;
            break;
        }
        ssize_t n = batch_read_line(in);
        if (n < 0) {
            if (r->nheld)
                early_stop(r); /* every line lacked a prompt */
            break;
        }
        if (!in->over && batch_line_blank(in->line.data, (size_t)n))
            continue;
        struct batch_item *it = fxu_xcalloc(1, sizeof(*it));
        it->lineno = in->lineno;
        if (in->over) {
            /* its own line with the real reason, nothing parsed */
            it->id = fxu_asprintf("%ld", it->lineno);
            it->error = fxu_asprintf(
                "the line has %lld bytes, more than max_input_bytes (%lld)",
                in->over, tool_max_input);
        } else {
            batch_item_parse(it, in->line.data, (size_t)n, &r->o->parse);
        }
        if (!hold(r, it, in->line.data, (size_t)n, seq))
            continue;
        if (it->error == NULL && r->done && batch_idset_has(r->done, it->id)) {
            /* answered before: for this same request? */
            const char *was = batch_idset_fp(r->done, it->id);
            char *now = batch_fingerprint(it, r->salt);
            if (was && strcmp(was, now) != 0 && r->changed++ == 0)
                r->changed_id = fxu_strdup(it->id);
            free(now);
            r->st.skipped++;
            batch_item_free(it);
            free(it);
            continue;
        }
        if (it->error == NULL && it->schema_spec)
            item_schema(r, it);
        if (it->error == NULL && it->att.n) {
            /* a missing or unsendable file is the line's mistake */
            char *aerr = NULL;
            if (batch_item_attach_ready(r->cfg, it, r->o->attach_files,
                                        &aerr) != 0)
                it->error = aerr;
        }
        /* a provider the configuration does not name is the line's
         * mistake (65), as a bad schema is: never sent */
        if (it->error == NULL && it->provider &&
            !flexiai_config_has_provider(r->cfg, it->provider))
            it->error = tool_no_provider(r->cfg, it->provider);
        if (it->error) {
            put_bad(r, it, seq);
            continue;
        }
        it->seq = (*seq)++;
        it->fp = batch_fingerprint(it, r->salt);
        flexiai_request req;
        flexiai_request_init(&req);
        req.messages = it->msgs.v;
        req.nmessages = it->msgs.n;
        req.provider = it->provider ? it->provider : r->a->provider;
        req.no_failover = r->a->no_failover;
        req.stream = r->stream;
        req.on_stream_error = r->on_stream_error;
        req.cancel = &interrupted;
        req.model = it->model;
        req.system = it->system;
        req.has_temperature = it->has_temperature;
        req.temperature = it->temperature;
        req.max_tokens = it->max_tokens;
        req.reasoning = (flexiai_reasoning)it->reasoning;
        req.wait_limits = 1; /* a throughput job: paced, never failed */
        req.has_budget = left.has_budget;
        req.budget = left.budget;
        /* kept by reference: lives with the item until collected */
        req.schema = it->schema ? it->schema : r->schema;
        batch_tools_submit(r->tl, it, &req);
        flexiai_batch_submit(r->b, &req, it);
        /* it->msgs stay until the item is collected: its ledger record
         * needs them (memory bounded by the items in flight) */
    }
}

static void
ledger_warn(struct run *r, flexiai_code rc)
{
    if (rc != FLEXIAI_OK && !r->ledger_warned) {
        r->ledger_warned = 1;
        tool_warn("items not logged: %s",
                  flexiai_ledger_writer_error(r->ledger));
    }
}

/* One ledger record per item, under its own tag if it has one; each item
 * is a conversation of its own. */
static void
ledger_add(struct run *r, const struct batch_item *it,
           const flexiai_result *res, int code)
{
    if (r->ledger == NULL)
        return;
    const char *tag = it->tag ? it->tag : r->a->tag;
    /* a tag is text in a database and on terminals: valid UTF-8 */
    char *clean = tag ? fxu_utf8_sanitize(tag, strlen(tag), NULL) : NULL;
    char *cid = flexiai_ledger_new_cid();
    flexiai_ledger_entry e;
    flexiai_ledger_entry_init(&e);
    e.command = "batch";
    e.tag = clean;
    e.conversation_id = cid;
    e.messages = it->msgs.v;
    e.nmessages = it->msgs.n;
    e.result = res;
    e.exit_code = code;
    flexiai_ledger_tool_call *calls = batch_tools_ledger(it, &e.ntool_calls);
    e.tool_calls = calls;
    flexiai_ledger_fragment *frags = tool_fragments_for_ledger(&it->frags);
    e.fragments = frags; /* stored once each */
    e.nfragments = frags ? it->frags.n : 0;
    ledger_warn(r, flexiai_ledger_writer_add(r->ledger, &e));
    free(calls);
    free(frags);
    free(cid);
    free(clean);
}

/* Write the lines of the items that finished. */
static void
collect(struct run *r)
{
    flexiai_result res;
    flexiai_code code;
    void *tag;
    flexiai_result_init(&res);
    while (flexiai_batch_next(r->b, &res, &code, &tag)) {
        struct batch_item *it = tag;
        /* --tools: an item that called tools goes round again */
        if (batch_tools_collect(r->tl, r->b, it, &res, &code))
            continue;
        struct batch_tally t;
        batch_tally_of(&t, &res, code);
        if (tool_budget_after(&r->bud, &res))
            r->budget_stop = 1;
        /* a provider skipped for its key: said once per run */
        tool_warn_broken_providers(&res,
                                   show_progress ? batch_progress_clear : NULL);
        char *line = NULL;
        size_t len = 0;
        /* an item stopped by an interrupt is not written: it runs again */
        if (code != FLEXIAI_EINTR) {
            line = result_line(it, &res, code, &len);
            ledger_add(r, it, &res, code);
        }
        if (batch_out_put(r->out, it->seq, line, len, &t) != 0)
            r->ioerr = 1;
        flexiai_result_free(&res);
        batch_item_free(it);
        free(it);
    }
}

int
main(int argc, char **argv)
{
    struct opts o = {.jobs = 8, .ordered = 1, .progress = -1};
    o.tmpl.argc = argc;
    o.tmpl.argv = argv;
    struct tool_args a;
    tool_args_init(&a);
    tool_loop_args_init(&o.tl);
    tool_cmd_init("flexiai batch");
    /* `flexiai batch [OPTIONS] status|wait|fetch|cancel|resubmit ...`:
     * the deferred jobs (batch-deferred-cmds.c) */
    int sub_at =
        tool_parse(&tool_cmd_batch, NULL, argc, argv, 1, &a, on_option, &o);
    /* a prompt that is such a word comes after "--" */
    const struct tool_subcommand *sub =
        sub_at < argc && strcmp(argv[sub_at - 1], "--") != 0
            ? tool_find_sub(&tool_cmd_batch, argv[sub_at])
            : NULL;
    if (sub) {
        int rest = tool_parse(&tool_cmd_batch, sub, argc - sub_at,
                              argv + sub_at, 0, &a, on_option, &o);
        if (o.d.output == NULL)
            o.d.output = o.output;
        int drc = deferred_run(sub, &o.d, &a, argc - sub_at - rest + 1,
                               argv + sub_at + rest - 1);
        tool_args_free(&a);
        return drc;
    }
    tool_args_free(&a);
    tool_args_init(&a);
    tool_template_args_free(&o.tmpl);
    o = (struct opts){.jobs = 8, .ordered = 1, .progress = -1};
    o.tmpl.argc = argc;
    o.tmpl.argv = argv;
    tool_loop_args_init(&o.tl);
    int first =
        tool_parse(&tool_cmd_batch, NULL, argc, argv, 0, &a, on_option, &o);
    if (o.compact) {
        if (first < argc || o.output || o.ninputs)
            tool_usage_error("--compact FILE takes no other input or output");
        int crc = batch_compact(o.compact);
        tool_args_free(&a);
        return crc;
    }
    if (o.parse.prompt_field && o.parse.template)
        tool_usage_error("--prompt-field and --prompt-template: one or the "
                         "other");
    if (o.text &&
        (o.parse.prompt_field || o.parse.template || o.parse.id_field))
        tool_usage_error("--text lines have no fields");
    /* --template: read once (66, 78), under the command line's options */
    struct tool_template *tmpl = tool_template_apply(&o.tmpl, &a, NULL);
    if (tmpl && tmpl->schema && o.schema == NULL)
        o.schema = tmpl->schema;
    o.parse.tmpl = &o.tmpl;
    if (o.ninputs == 0)
        o.inputs[o.ninputs++] = "-";
    fxu_buf prefix;
    fxu_buf_init(&prefix);
    for (int i = first; i < argc; i++) {
        if (i > first)
            fxu_buf_putc(&prefix, ' ');
        fxu_buf_puts(&prefix, argv[i]);
    }

    /* a bad --schema is refused before anything is read or sent (64
     * unsupported keyword or malformed, 66 missing file, 65 no schema) */
    flexiai_schema *schema = NULL;
    if (o.schema) {
        char *err = NULL;
        int src = flexiai_schema_load(o.schema, o.multi, &schema, &err);
        if (src != FLEXIAI_OK)
            tool_die(src, "%s", err ? err : "schema refused");
    }
    if (o.schema_show) {
        if (schema == NULL)
            tool_die(FLEXIAI_EUSAGE, "--schema-show needs --schema SPEC or "
                                     "--schema-multi SPEC");
        char *text = flexiai_schema_text(schema);
        tool_outs(text);
        tool_outs("\n");
        tool_out_flush();
        free(text);
        flexiai_schema_free(schema);
        return FLEXIAI_OK;
    }

    flexiai_config *cfg = tool_setup_config(&a, 0, NULL);
    const char *const *names;
    if (flexiai_config_providers(cfg, &names) == 0)
        tool_die(FLEXIAI_ECONFIG, "no providers configured (add a "
                                  "[provider.NAME] section or set "
                                  "OPENAI_API_KEY)");
    /* --template's files: checked once, before any input is read or any
     * output written (66 unreadable, 65 too large or of another type) */
    char *terr = NULL;
    int trc = batch_template_files_check(cfg, o.tmpl.name, &terr);
    if (trc != 0)
        tool_die(trc, "%s", terr);
    flexiai_client *client = tool_setup_client(cfg, log_line, NULL, 0);
    o.jobs = batch_cap_jobs(o.jobs);
    if (o.deferred && o.tl.tools) /* a batch job cannot wait for our tools */
        tool_usage_error("--tools is not sent with --deferred (run the items "
                         "live)");
    struct tool_loop *tl = tool_loop_open(cfg, &o.tl); /* MCP servers start */
    if (tl) {
        tl->cancel = &interrupted;
        tl->log = log_line;
    }

    o.parse.prefix = prefix.data;
    o.parse.text = o.text;
    if (o.deferred) {
        if (schema)
            tool_usage_error("--schema is not sent with --deferred (run the "
                             "items live)");
        struct deferred_in din = {.inputs = o.inputs,
                                  .ninputs = o.ninputs,
                                  .output = o.output,
                                  .parse = &o.parse,
                                  .attach_files = o.attach_files};
        int drc = deferred_submit(cfg, client, &a, &din, NULL);
        fxu_buf_free(&prefix);
        tool_loop_free(tl);
        flexiai_client_free(client);
        flexiai_config_free(cfg);
        batch_templates_free();
        tool_template_free(tmpl);
        free(tmpl);
        tool_template_args_free(&o.tmpl);
        tool_args_free(&a);
        return drc;
    }
    struct run r = {
        .o = &o, .a = &a, .cfg = cfg, .prefix = prefix.data, .schema = schema};
    r.salt = batch_salt(o.schema, o.multi, &a);
    r.tl = tl;
    if (tl) { /* an answer made with tools is another request's */
        char *salt = fxu_asprintf("%s|tools=%s|approve=%s|rounds=%ld", r.salt,
                                  o.tl.tools, o.tl.approve ? o.tl.approve : "",
                                  o.tl.max_rounds);
        free(r.salt);
        r.salt = salt;
    }
    batch_stats_init(&r.st);
    r.stream = tool_stream_wanted(cfg, &a, 1);
    r.ledger = a.no_log || !flexiai_ledger_enabled(cfg)
                   ? NULL
                   : flexiai_ledger_writer_new(cfg);
    r.on_stream_error = tool_on_stream_error(cfg, &a);
    if (o.output)
        r.done = batch_idset_new();
    int fd = o.output ? batch_open_output(o.output, r.done) : STDOUT_FILENO;
    size_t window = (size_t)o.jobs * 16 < 256 ? 256 : (size_t)o.jobs * 16;
    r.out = batch_out_new(fd, o.output ? o.output : "stdout", o.ordered, window,
                          &r.st);
    show_progress = o.progress >= 0 ? o.progress : isatty(STDERR_FILENO);
    if (show_progress)
        r.st.total = batch_count_items(o.inputs, o.ninputs);

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGXFSZ, SIG_IGN); /* a file size limit is a write error */

    tool_budget_init(&r.bud, cfg, client, &a);
    r.b = flexiai_batch_new(client);
    struct batch_input in = {.paths = o.inputs, .npaths = o.ninputs};
    long seq = 0;
    for (;;) {
        fill(&r, &in, &seq);
        if (flexiai_batch_pending(r.b) == 0 &&
            (in.eof || interrupted || r.ioerr || r.budget_stop))
            break;
        if (interrupted || r.ioerr)
            flexiai_batch_cancel(r.b);
        flexiai_batch_run(r.b, 100);
        collect(&r);
        if (show_progress) {
            const char *wp, *wl;
            double ws;
            r.st.waiting[0] = '\0';
            if (flexiai_batch_waiting(r.b, &wp, &wl, &ws))
                snprintf(r.st.waiting, sizeof(r.st.waiting),
                         "%s %s, next slot in %.1f s", wp, wl, ws);
            batch_progress(&r.st, 0);
        }
    }
    if (interrupted && batch_out_flush_all(r.out) != 0)
        r.ioerr = 1;
    if (r.ledger)
        ledger_warn(&r, flexiai_ledger_writer_flush(r.ledger));
    int logged = r.ledger != NULL;
    flexiai_ledger_writer_free(r.ledger);
    if (logged)
        tool_ledger_import_if_due(cfg, &a);
    if (show_progress) {
        batch_progress(&r.st, 1);
        batch_progress_clear();
    }
    if (!tool_quiet)
        batch_summary(&r.st);
    if (r.budget_stop)
        tool_err("%s: no more items started (run again to go on)", r.bud.line);
    if (r.changed && !tool_quiet)
        tool_warn("%ld item%s skipped as answered (id %s%s) had another "
                  "prompt, schema or options in the run that wrote %s: "
                  "their old answers are kept; to start fresh, give another "
                  "-o FILE (or remove this one)",
                  r.changed, r.changed == 1 ? "" : "s", r.changed_id,
                  r.changed == 1 ? "" : ", ...", o.output);
    int rc = FLEXIAI_OK;
    if (r.ioerr)
        rc = FLEXIAI_EIO;
    else if (interrupted)
        rc = FLEXIAI_EINTR;
    else if (r.budget_stop)
        rc = FLEXIAI_ETEMPFAIL;
    else if (r.st.failed)
        rc = r.st.worst;
    else if (r.st.bad)
        rc = FLEXIAI_EDATA;

    flexiai_batch_free(r.b);
    fxu_buf_free(&in.line);
    if (in.fp && in.fp != stdin)
        fclose(in.fp);
    batch_out_free(r.out);
    if (o.output && close(fd) != 0 && rc == FLEXIAI_OK) {
        tool_err("%s: %s", o.output, strerror(errno));
        rc = FLEXIAI_EIO;
    }
    batch_idset_free(r.done);
    free(r.salt);
    free(r.changed_id);
    free(r.fields);
    batch_stats_free(&r.st);
    tool_budget_free(&r.bud);
    fxu_buf_free(&prefix);
    tool_loop_free(tl);
    flexiai_client_free(client);
    flexiai_schema_free(schema);
    flexiai_config_free(cfg);
    batch_templates_free();
    tool_template_free(tmpl);
    free(tmpl);
    tool_template_args_free(&o.tmpl);
    tool_args_free(&a);
    return rc;
}
