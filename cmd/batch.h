/*
 * batch.h - what the parts of `flexiai batch` share: an input line made
 * into a request (batch-input.c), the ids already answered in the output
 * file (batch-input.c), and the output: lines written whole, the reorder
 * window, progress and summary (batch-out.c).
 */
#ifndef FX_BATCH_H
#define FX_BATCH_H

#include "tool-attach.h"
#include "tool-template.h"
#include "tool.h"

#include <stddef.h>

/* ---- one item (batch-input.c) ------------------------------------------ */

struct batch_item {
    long seq;    /* output order, from 0 */
    long lineno; /* in the input, from 1 */
    char *id;    /* the id as JSON text: "\"t-1\"" or "42" */
    struct tool_msgs msgs;
    char *model, *provider, *system;
    char *tag; /* the ledger's tag for this item (else --tag) */
    int has_temperature;
    double temperature;
    long max_tokens;
    int reasoning; /* enum flexiai_reasoning; 0: the configuration's */
    /* the line's own "schema": a SPEC as --schema takes (inline JSON for
     * an object), loaded by the caller into `schema` (else --schema) */
    char *schema_spec;
    flexiai_schema *schema;
    char *error;   /* a bad line: why (then nothing is sent) */
    int no_prompt; /* the error is that the line has no prompt */
    char *fp;      /* the request's fingerprint (batch_fingerprint) */
    /* "attachments": [...], on the last message (tool-attach.h) */
    struct tool_attach att;
    /* att.v[att_tmpl..] are its template's `attachments` (a saved
     * template's, trusted as complete trusts them), checked once per run
     * through tfiles (batch-template.c); tfiles NULL: none */
    size_t att_tmpl;
    struct batch_tmpl_files *tfiles;
    /* --tools: the item's conversation with its tool calls, and the
     * request to send again with it (batch-tools.c); NULL: no tools */
    struct tool_conv *conv;
    flexiai_request req;
    struct tool_fragments frags; /* its fragments, for the ledger */
};

/* How input lines become items. */
struct batch_parse {
    int text;                 /* --text: each line is a prompt */
    const char *prefix;       /* PROMPT... before each prompt; may be NULL */
    const char *prompt_field; /* --prompt-field NAME */
    const char *id_field;     /* --id-field NAME (else "id") */
    const char *template;     /* --prompt-template '{subject}: {body}' */
    const struct tool_template_args *tmpl; /* --template, -P; may be NULL */
};

/* Make an item of one input line (no newline).  A line that is not a
 * JSON object with a prompt becomes an item with `error` set.  With
 * bp->text, the line is the prompt.  bp->prefix goes before the prompt,
 * with a blank line between. */
void batch_item_parse(struct batch_item *it, const char *line, size_t len,
                      const struct batch_parse *bp);
/* The top-level member names of a JSON object line, "a, b, c" (at most a
 * dozen; "none"), safe for a terminal.  Caller frees. */
char *batch_line_fields(const char *line, size_t len);
void batch_item_free(struct batch_item *it);
/* Does an item's schema SPEC look like a file name (a '/', ".json")? */
int batch_looks_like_path(const char *spec);
/* Is this line blank (skipped, no output)? */
int batch_line_blank(const char *line, size_t len);

/* The JSON text of a top-level member of the object on this line (which
 * cJSON has parsed), not NUL-terminated: *vlen bytes; NULL when absent. */
const char *batch_member_text(const char *line, size_t len, const char *name,
                              size_t *vlen);
/* The id's text as given (`id` is the parsed member): a string, or an
 * integer written as digits; NULL for anything else.  Caller frees. */
struct cJSON;
char *batch_id_text(const char *line, size_t len, const struct cJSON *id);
/* The same for the member `name` (--id-field). */
char *batch_field_text(const char *line, size_t len, const char *name,
                       const struct cJSON *id);

/* ---- templates and fragments (batch-template.c) ------------------------- */

/* An item's "template" (else --template) with its "params" (after -P)
 * and its "fragments": options it does not set itself, and its prompt
 * made from the template's.  NULL, or why the line is bad (caller
 * frees). */
struct cJSON;
char *batch_item_template(struct batch_item *it, const struct cJSON *o,
                          const struct batch_parse *bp);
/* Does the item name a template (or --template) whose prompt makes one
 * (an item without "prompt" is then fine)? */
int batch_item_template_prompts(const struct cJSON *o,
                                const struct batch_parse *bp);
/* Check an item's files before it is sent: the line's own each time,
 * its template's once per run (the same answer for every item using that
 * template).  0, or the exit code (66 unreadable, 65 too large or of an
 * unknown type) with *err, one line. */
int batch_item_attach_check(const flexiai_config *cfg, struct batch_item *it,
                            char **err);
/* An item's attachments (its own, then its template's) checked and put on
 * its last message: an input line names no local file unless
 * attach_files (its saved template's files are the user's).  0, or the
 * exit code with *err: the line's mistake. */
int batch_item_attach_ready(const flexiai_config *cfg, struct batch_item *it,
                            int attach_files, char **err);
/* The files of --template NAME, checked before any input is read or any
 * output written: 0, or the exit code with *err. */
int batch_template_files_check(const flexiai_config *cfg, const char *name,
                               char **err);
/* Forget the templates and fragments read (at the end of a run). */
void batch_templates_free(void);

/* ---- earlier runs (batch-resume.c) -------------------------------------- */

/* A short fingerprint (16 hex digits) of the request an item makes: its
 * messages, system, model, provider, schema and options, with `salt`
 * standing for what the command line adds to every item.  Caller frees. */
char *batch_fingerprint(const struct batch_item *it, const char *salt);

/* Ids with a successful line in an output file (resume), each with the
 * fingerprint its line carries (NULL: none). */
struct batch_idset;
struct batch_idset *batch_idset_new(void);
void batch_idset_free(struct batch_idset *s);
int batch_idset_has(const struct batch_idset *s, const char *id);
const char *batch_idset_fp(const struct batch_idset *s, const char *id);
void batch_idset_add(struct batch_idset *s, const char *id, const char *fp);
size_t batch_idset_count(const struct batch_idset *s);
/* Read an output file of an earlier run: ids of lines with exit_code 0.
 * *ends_nl is 0 when the file does not end with a newline.  0, or -1
 * with errno (ENOENT: no earlier run). */
int batch_idset_load(struct batch_idset *s, const char *path, int *ends_nl);
/* Open -o FILE for appending under an exclusive lock (another batch
 * holding it: exit 75), after reading what an earlier run answered into
 * `done`; exits on error (73, 74, 66). */
int batch_open_output(const char *path, struct batch_idset *done);
/* What the command line adds to every item's request (-m, -p, --stop, the
 * request options, the schema), for batch_fingerprint().  Caller frees. */
char *batch_salt(const char *schema, int multi, const struct tool_args *a);
/* `flexiai batch --compact FILE`: one line per id (its last successful
 * line, else its last), in place, under the file's lock; exits on error. */
int batch_compact(const char *path);

/* ---- input files (batch-read.c) ---------------------------------------- */

struct batch_input {
    const char *const *paths; /* "-": stdin */
    size_t npaths;
    size_t next; /* index of the next file to open */
    FILE *fp;
    const char *name; /* of fp, for messages */
    fxu_buf line;
    long long over; /* the line was longer than max_input_bytes: its size */
    long lineno;
    int eof;
};
/* The next line (no newline) in in->line: its length, or -1 at the end of
 * all input.  A file that cannot be opened or read exits 66. */
ssize_t batch_read_line(struct batch_input *in);
/* Items in regular input files, for the progress line; -1 when a pipe. */
long batch_count_items(const char *const *paths, size_t n);

/* ---- output (batch-out.c) -------------------------------------------------
 */

struct batch_out;
struct batch_stats;
/* How an item ended, counted in the stats once its line is written. */
struct batch_tally {
    int code;             /* its exit code */
    int bad;              /* a bad input line (65, never sent) */
    int cls;              /* error class of a failure */
    const char *provider; /* who answered (copied) */
};
/* fd: the output (stdout or -o FILE opened O_APPEND); window: how many
 * items may be finished ahead of the oldest unfinished one (ordered);
 * st: counted into as lines are written. */
struct batch_out *batch_out_new(int fd, const char *name, int ordered,
                                size_t window, struct batch_stats *st);
void batch_out_free(struct batch_out *o);
/* May an item with this seq be started (ordered: inside the window)? */
int batch_out_room(const struct batch_out *o, long seq);
/* An item finished with this line (ending in '\n'; taken over), or with
 * no line (line NULL: interrupted, not written).  It counts as answered
 * (failed, bad) when its line is written; a line that cannot be written
 * counts as unwritten.  Returns 0, or FLEXIAI_EIO after a write error
 * (reported once). */
int batch_out_put(struct batch_out *o, long seq, char *line, size_t len,
                  const struct batch_tally *t);
/* Write whatever finished, in order or not (at an interrupt). */
int batch_out_flush_all(struct batch_out *o);

/* Room for the library's error classes, with some to spare for classes a
 * newer library adds (flexiai.h gives no count: it would grow). */
#define BATCH_CLASSES 64

/* Counts for progress and the summary. */
struct batch_stats {
    long answered, failed, bad, skipped, interrupted;
    long unwritten; /* finished, but the line could not be written */
    long total;     /* -1: unknown */
    double started;
    /* failures by error class (the last slot: none recorded, or a class
     * beyond BATCH_CLASSES), answers by provider */
    long by_class[BATCH_CLASSES + 1];
    char **prov_names;
    long *prov_counts;
    size_t nprov;
    int worst; /* exit code of the failed items taken together */
    /* "lim rpm, next slot in 0.9 s" while items wait for a local limit */
    char waiting[96];
};
void batch_stats_init(struct batch_stats *st);
void batch_stats_free(struct batch_stats *st);
/* How a finished item ended (its error class from its attempts). */
void batch_tally_of(struct batch_tally *t, const flexiai_result *r, int code);
void batch_stats_add(struct batch_stats *st, const struct batch_tally *t);
/* The progress line on stderr, at most 10 times a second unless `force`;
 * `clear` removes it. */
void batch_progress(struct batch_stats *st, int force);
void batch_progress_clear(void);
/* "flexiai: 9 998 answered, 2 failed (rate_limit), 0 skipped in 41.2 s" */
void batch_summary(const struct batch_stats *st);

/* ---- tools (batch-tools.c) ------------------------------------------------
 */

struct tool_loop;
struct cJSON;
/* Before an item is first submitted (l NULL: nothing): its conversation
 * starts from req's messages, req gets the tools. */
void batch_tools_submit(struct tool_loop *l, struct batch_item *it,
                        flexiai_request *req);
/* A finished item: 1 when its tool calls ran and it was submitted again
 * (*res taken, left empty); 0 when it is done, *res and *code then being
 * the whole of it. */
void batch_tools_json(const struct batch_item *it, struct cJSON *line);
int batch_tools_collect(struct tool_loop *l, flexiai_batch *b,
                        struct batch_item *it, flexiai_result *res,
                        flexiai_code *code);
/* The item's calls for its ledger entry (*n of them; free() the array). */
struct flexiai_ledger_tool_call *batch_tools_ledger(const struct batch_item *it,
                                                    size_t *n);
void batch_tools_free(struct batch_item *it);

/* batch-jobs.c: -j capped by the open-file limit (raised to its hard
 * value where allowed), with one warning when it is cut. */
long batch_cap_jobs(long jobs);

#endif
