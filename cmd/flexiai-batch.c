/*
 * flexiai-batch - many prompts from JSONL (or text lines), run at once in
 * one process through the library's request engine: each item fails over
 * on its own through the shared breakers and limits, its answer is one
 * JSONL line, and a second run with the same -o FILE resumes.
 */
#include "config.h"

#include "batch.h"
#include "flexiai-ledger.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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
    {TOOL_OPT_END, 0, NULL, NULL, NULL, 0, 0, NULL, NULL, NULL},
};

static const struct tool_option *const batch_groups[] = {
    batch_opts, tool_opts_schema, tool_opts_request, tool_opts_global, NULL};

const struct tool_command tool_cmd_batch = {
    .name = "batch",
    .synopsis = "[OPTIONS] [PROMPT...]",
    .description =
        "Run many prompts at once.  Each input line is a JSON object with "
        "\"prompt\" or\n\"messages\" and optional \"id\", \"system\", "
        "\"model\", \"provider\", \"temperature\",\n\"max_tokens\", "
        "\"schema\" (--text: each line is a prompt).  PROMPT goes before\n"
        "every item's prompt, after a blank line.  Each answer is one JSON "
        "line with\n\"id\" and the fields of complete --json.",
    .groups = batch_groups,
    .stream_help = "ask for streamed answers (default: no, unless\n"
                   "[defaults] stream = yes)",
    .footer = "Exit codes: 0 every item answered, 65 bad input lines only, "
              "69/75/76/77 as\ncomplete for the failed items together (75: "
              "one may pass, run again to\nresume; 76: no answer matched "
              "the schema), 64/65/66 a bad --schema,\n73 cannot create -o "
              "FILE, 74 cannot write it, 130 interrupted.  See\n"
              "flexiai-batch(1).",
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
};

static void
on_option(void *ud, int id, const char *arg)
{
    struct opts *o = ud;
    char *end;
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
    case OPT_PROGRESS:
        if (strcmp(arg, "yes") == 0)
            o->progress = 1;
        else if (strcmp(arg, "no") == 0)
            o->progress = 0;
        else
            tool_usage_error("--progress must be no or yes");
        break;
    }
}

/* ---- input --------------------------------------------------------------- */

struct input {
    const struct opts *o;
    size_t next; /* index of the next file to open */
    FILE *fp;
    char *line;
    size_t cap;
    long lineno;
    int eof;
};

/* The next line (no newline): its length, or -1 at the end of all input. */
static ssize_t
read_line(struct input *in)
{
    for (;;) {
        if (in->fp == NULL) {
            if (in->next >= in->o->ninputs) {
                in->eof = 1;
                return -1;
            }
            const char *path = in->o->inputs[in->next++];
            in->fp = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
            if (in->fp == NULL)
                tool_die(FLEXIAI_ENOINPUT, "%s: %s", path, strerror(errno));
        }
        ssize_t n = getline(&in->line, &in->cap, in->fp);
        if (n >= 0) {
            in->lineno++;
            if (n > 0 && in->line[n - 1] == '\n')
                n--;
            return n;
        }
        if (ferror(in->fp))
            tool_die(FLEXIAI_ENOINPUT, "cannot read input: %s",
                     strerror(errno));
        if (in->fp != stdin)
            fclose(in->fp);
        in->fp = NULL;
    }
}

/* Items in regular input files, for the progress line; -1 when a pipe. */
static long
count_items(const struct opts *o)
{
    long total = 0;
    for (size_t i = 0; i < o->ninputs; i++) {
        struct stat st;
        int fd = strcmp(o->inputs[i], "-") == 0 ? dup(STDIN_FILENO)
                                                : open(o->inputs[i], O_RDONLY);
        if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
            lseek(fd, 0, SEEK_CUR) != 0) {
            if (fd >= 0)
                close(fd);
            return -1;
        }
        char buf[65536];
        ssize_t n;
        int blank = 1;
        while ((n = read(fd, buf, sizeof(buf))) > 0)
            for (ssize_t k = 0; k < n; k++) {
                if (buf[k] == '\n') {
                    total += !blank;
                    blank = 1;
                } else if (buf[k] != ' ' && buf[k] != '\t' && buf[k] != '\r') {
                    blank = 0;
                }
            }
        total += !blank;
        close(fd);
        if (strcmp(o->inputs[i], "-") == 0)
            lseek(STDIN_FILENO, 0, SEEK_SET);
    }
    return total;
}

/* ---- output lines ----------------------------------------------------------
 */

/* The line of a finished item: {"id": ..., complete --json's fields}. */
static char *
result_line(const struct batch_item *it, const flexiai_result *r, int code,
            size_t *len)
{
    cJSON *j = tool_result_json(r, code, 0);
    cJSON *id = cJSON_Parse(it->id);
    if (id == NULL)
        id = cJSON_CreateNumber((double)it->lineno);
    id->string = fxu_strdup("id");
    cJSON_InsertItemInArray(j, 0, id);
    char *s = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    size_t n = strlen(s);
    char *line = fxu_xrealloc(s, n + 2);
    line[n] = '\n';
    line[n + 1] = '\0';
    *len = n + 1;
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
    int stream;
    flexiai_stream_error_mode on_stream_error;
    int ioerr;
};

/* The line's own schema, with --schema-multi's mode: a bad one makes the
 * item a bad line (65) that is never sent. */
static void
item_schema(const struct run *r, struct batch_item *it)
{
    char *err = NULL;
    if (flexiai_schema_load(it->schema_spec, r->o->multi, &it->schema, &err) !=
        FLEXIAI_OK) {
        it->error = fxu_asprintf("schema: %s", err ? err : "refused");
        it->schema = NULL;
    }
    free(err);
}

/* Start items until -j are in flight (or the reorder window is full). */
static void
fill(struct run *r, struct input *in, long *seq)
{
    while (!in->eof && !interrupted && !r->ioerr &&
           (long)flexiai_batch_pending(r->b) < r->o->jobs &&
           batch_out_room(r->out, *seq)) {
        ssize_t n = read_line(in);
        if (n < 0)
            break;
        if (batch_line_blank(in->line, (size_t)n))
            continue;
        struct batch_item *it = fxu_xcalloc(1, sizeof(*it));
        it->lineno = in->lineno;
        batch_item_parse(it, in->line, (size_t)n, r->o->text, r->prefix);
        if (it->error == NULL && r->done && batch_idset_has(r->done, it->id)) {
            r->st.skipped++;
            batch_item_free(it);
            free(it);
            continue;
        }
        it->seq = (*seq)++;
        if (it->error == NULL && it->schema_spec)
            item_schema(r, it);
        if (it->error) {
            flexiai_result res;
            flexiai_result_init(&res);
            res.error = fxu_asprintf("line %ld: %s", it->lineno, it->error);
            size_t len;
            char *line = result_line(it, &res, FLEXIAI_EDATA, &len);
            if (!tool_quiet && !show_progress)
                tool_warn("%s", res.error);
            free(res.error);
            r->st.bad++;
            if (batch_out_put(r->out, it->seq, line, len) != 0)
                r->ioerr = 1;
            batch_item_free(it);
            free(it);
            continue;
        }
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
        /* kept by reference: lives with the item until collected */
        req.schema = it->schema ? it->schema : r->schema;
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
    ledger_warn(r, flexiai_ledger_writer_add(r->ledger, &e));
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
        batch_stats_add(&r->st, &res, code);
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
        if (batch_out_put(r->out, it->seq, line, len) != 0)
            r->ioerr = 1;
        flexiai_result_free(&res);
        batch_item_free(it);
        free(it);
    }
}

/* Open -o FILE for appending, after reading what an earlier run answered. */
static int
open_output(struct run *r)
{
    int ends_nl = 1;
    struct stat st;
    r->done = batch_idset_new();
    /* only a regular file holds earlier answers (not /dev/full, a fifo) */
    if (stat(r->o->output, &st) == 0 && S_ISREG(st.st_mode) &&
        batch_idset_load(r->done, r->o->output, &ends_nl) != 0)
        tool_die(FLEXIAI_ENOINPUT, "%s: %s", r->o->output, strerror(errno));
    int fd =
        open(r->o->output, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
    if (fd < 0)
        tool_die(FLEXIAI_ECANTCREAT, "%s: %s", r->o->output, strerror(errno));
    /* a line an earlier process could not finish stays apart */
    if (!ends_nl && write(fd, "\n", 1) != 1)
        tool_die(FLEXIAI_EIO, "%s: %s", r->o->output, strerror(errno));
    return fd;
}

int
main(int argc, char **argv)
{
    struct opts o = {.jobs = 8, .ordered = 1, .progress = -1};
    struct tool_args a;
    tool_args_init(&a);
    tool_cmd_init("flexiai batch");
    int first =
        tool_parse(&tool_cmd_batch, NULL, argc, argv, 0, &a, on_option, &o);
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

    flexiai_config *cfg = tool_setup_config(&a, 0, NULL);
    const char *const *names;
    if (flexiai_config_providers(cfg, &names) == 0)
        tool_die(FLEXIAI_ECONFIG, "no providers configured (add a "
                                  "[provider.NAME] section or set "
                                  "OPENAI_API_KEY)");
    flexiai_client *client = tool_setup_client(cfg, log_line, NULL, 0);

    struct run r = {
        .o = &o, .a = &a, .cfg = cfg, .prefix = prefix.data, .schema = schema};
    batch_stats_init(&r.st);
    r.stream = tool_stream_wanted(cfg, &a, 1);
    r.ledger = a.no_log || !flexiai_ledger_enabled(cfg)
                   ? NULL
                   : flexiai_ledger_writer_new(cfg);
    r.on_stream_error = tool_on_stream_error(cfg, &a);
    int fd = o.output ? open_output(&r) : STDOUT_FILENO;
    size_t window = (size_t)o.jobs * 16 < 256 ? 256 : (size_t)o.jobs * 16;
    r.out =
        batch_out_new(fd, o.output ? o.output : "stdout", o.ordered, window);
    show_progress = o.progress >= 0 ? o.progress : isatty(STDERR_FILENO);
    if (show_progress)
        r.st.total = count_items(&o);

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGXFSZ, SIG_IGN); /* a file size limit is a write error */

    r.b = flexiai_batch_new(client);
    struct input in = {.o = &o};
    long seq = 0;
    for (;;) {
        fill(&r, &in, &seq);
        if (flexiai_batch_pending(r.b) == 0 &&
            (in.eof || interrupted || r.ioerr))
            break;
        if (interrupted || r.ioerr)
            flexiai_batch_cancel(r.b);
        flexiai_batch_run(r.b, 100);
        collect(&r);
        if (show_progress)
            batch_progress(&r.st, 0);
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

    int rc = FLEXIAI_OK;
    if (r.ioerr)
        rc = FLEXIAI_EIO;
    else if (interrupted)
        rc = FLEXIAI_EINTR;
    else if (r.st.failed)
        rc = r.st.worst;
    else if (r.st.bad)
        rc = FLEXIAI_EDATA;

    flexiai_batch_free(r.b);
    free(in.line);
    if (in.fp && in.fp != stdin)
        fclose(in.fp);
    batch_out_free(r.out);
    if (o.output && close(fd) != 0 && rc == FLEXIAI_OK) {
        tool_err("%s: %s", o.output, strerror(errno));
        rc = FLEXIAI_EIO;
    }
    batch_idset_free(r.done);
    batch_stats_free(&r.st);
    fxu_buf_free(&prefix);
    flexiai_client_free(client);
    flexiai_schema_free(schema);
    flexiai_config_free(cfg);
    tool_args_free(&a);
    return rc;
}
