/*
 * flexiai-ledger.h - the request ledger: every request a program runs can
 * be kept in one SQLite database (WAL), searched, added up and exported
 * as Prometheus counters.  The conventions of flexiai.h hold here (return
 * codes, messages, ownership, threads); this header adds the ledger's.
 *
 * Where it lives: [log] path, default $XDG_DATA_HOME/flexiai/logs.db.
 * What it keeps: [log] mode = full | usage (no prompt or answer text) |
 * off, for [log] keep (e.g. 90d).  The schema is documented in
 * flexiai-logs(1).
 *
 * Writing costs no SQLite: flexiai_ledger_log() appends one record to the
 * ledger's spool, <path>.spool, with one locked write, and the next
 * flexiai_ledger_open() moves what waits there into the database.  When
 * to move a large spool without waiting for a reader is the program's
 * decision; flexiai_ledger_spool_size() gives it the facts.
 * flexiai_complete() never logs by itself: the program appends the record
 * once the request is over.  Logging should never cost an answer: treat
 * every failure to log as a warning.
 *
 * A flexiai_ledger handle (a database connection) and a
 * flexiai_ledger_writer belong to one thread at a time; any number of
 * processes may append and read at once.
 */
#ifndef FLEXIAI_LEDGER_H
#define FLEXIAI_LEDGER_H

#include "flexiai.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct flexiai_ledger flexiai_ledger;

/* ---- appending -------------------------------------------------------- */

/* A tool call a request ran (--tools) and its result, for the record;
 * borrowed like the entry. */
typedef struct flexiai_ledger_tool_call {
    const char *id, *name, *arguments, *result;
    int is_error;
} flexiai_ledger_tool_call;
/* A named piece of text put into the prompt (flexiai complete -f): the
 * ledger stores its content once, by SHA-256, and the records that used
 * it refer to it; where the content occurs in a message, the record keeps
 * a reference instead (expanded again for -C). */
typedef struct flexiai_ledger_fragment {
    const char *name;
    const char *content;
} flexiai_ledger_fragment;

/* What a program knows of a finished request.  Borrowed by the calls that
 * take it; start with flexiai_ledger_entry_init(). */
typedef struct flexiai_ledger_entry {
    const char *command;             /* "complete", "chat", "batch" */
    const char *tag;                 /* may be NULL */
    const char *conversation_id;     /* may be NULL */
    const flexiai_message *messages; /* as sent, a system message included */
    size_t nmessages;
    const flexiai_result *result;
    int exit_code; /* what the program exits with for it: the request's
                      flexiai_code, or its own (0: success) */
    int deferred;  /* 1: answered by a provider's batch job (priced with
                      its price_batch_factor; `usage` tells them apart) */
    /* The tool calls the model made and their results, in order, kept in
     * [log] mode = full (flexiai logs show); NULL / 0: none.  messages
     * are then the ones the conversation started from. */
    const flexiai_ledger_tool_call *tool_calls;
    size_t ntool_calls;
    const flexiai_ledger_fragment *fragments; /* used by it; may be NULL */
    size_t nfragments;
} flexiai_ledger_entry;

void flexiai_ledger_entry_init(flexiai_ledger_entry *e);

/* 1 unless [log] mode = off. */
int flexiai_ledger_enabled(const flexiai_config *cfg);

/* Append one record as the configuration says (nothing with mode = off)
 * to the spool.  FLEXIAI_OK, or with *errmsg: FLEXIAI_ECONFIG ([log] keep
 * unreadable, no path: HOME unset), FLEXIAI_EIO (the spool could not be
 * written). */
flexiai_code flexiai_ledger_log(const flexiai_config *cfg,
                                const flexiai_ledger_entry *e, char **errmsg);

/* For many requests in one process (batch): records are kept in memory
 * and appended to the spool together, one locked write per 256 records or
 * 256 KiB (and at flush and free); records not yet flushed are lost if
 * the process is killed.  cfg must outlive the writer. */
typedef struct flexiai_ledger_writer flexiai_ledger_writer;
/* Never NULL; with [log] mode = off the writer keeps nothing. */
flexiai_ledger_writer *flexiai_ledger_writer_new(const flexiai_config *cfg);
/* FLEXIAI_OK, or FLEXIAI_ECONFIG / FLEXIAI_EIO as flexiai_ledger_log(),
 * with the message on w: the record, or records added before it, may be
 * lost. */
flexiai_code flexiai_ledger_writer_add(flexiai_ledger_writer *w,
                                       const flexiai_ledger_entry *e);
flexiai_code flexiai_ledger_writer_flush(flexiai_ledger_writer *w);
/* The last failure's message, "" when none; owned by w. */
const char *flexiai_ledger_writer_error(const flexiai_ledger_writer *w);
/* Flushes (a failure then is lost: flush first to hear of it). */
void flexiai_ledger_writer_free(flexiai_ledger_writer *w);

/* The same straight into a ledger opened for writing.  FLEXIAI_OK,
 * FLEXIAI_ECONFIG or FLEXIAI_EIO with the message on l. */
flexiai_code flexiai_ledger_append(flexiai_ledger *l, const flexiai_config *cfg,
                                   const flexiai_ledger_entry *e);

/* ---- where it is ------------------------------------------------------ */

/* The database path, in *path (caller frees); FLEXIAI_ECONFIG with
 * *errmsg when there is none (HOME and XDG_DATA_HOME unset). */
flexiai_code flexiai_ledger_path(const flexiai_config *cfg, char **path,
                                 char **errmsg);
/* 1 when there is something to read: the database, or records waiting in
 * its spool; 0 when nothing was logged yet (or there is no path). */
int flexiai_ledger_exists(const flexiai_config *cfg);
/* The spool's facts: *bytes waiting in it now (0 when there is none or
 * logging is off), *max the [log] spool_max it should not outgrow (0: no
 * limit).  FLEXIAI_ECONFIG with *errmsg when there is no path. */
flexiai_code flexiai_ledger_spool_size(const flexiai_config *cfg,
                                       long long *bytes, long long *max,
                                       char **errmsg);

/* ---- the database ----------------------------------------------------- */

/* Open the ledger, after moving the records waiting in the spool into it
 * (and applying [log] keep, at most once a day); `write`: create it and
 * migrate an older schema.  FLEXIAI_OK with *out (close it with
 * flexiai_ledger_close()), else with *errmsg: FLEXIAI_ENOINPUT nothing
 * to read yet (reading), FLEXIAI_ECONFIG no path, FLEXIAI_EIO missing,
 * corrupt, unwritable or made by a newer flexiai. */
flexiai_code flexiai_ledger_open(const flexiai_config *cfg, int write,
                                 flexiai_ledger **out, char **errmsg);
void flexiai_ledger_close(flexiai_ledger *l);
/* The last failed call's message, "" when none; owned by l. */
const char *flexiai_ledger_error(const flexiai_ledger *l);
/* A warning from opening (records waiting in the spool could not all be
 * moved into the database), NULL when none; owned by l. */
const char *flexiai_ledger_warning(const flexiai_ledger *l);
/* How many waiting records opening moved into the database. */
long flexiai_ledger_imported(const flexiai_ledger *l);

/* ---- conversations ---------------------------------------------------- */

/* A new conversation id: 16 hex digits; caller frees. */
char *flexiai_ledger_new_cid(void);
/* The latest conversation's id in *cid (caller frees): of a complete or a
 * chat, never a batch item.  FLEXIAI_OK,
 * FLEXIAI_ENOINPUT when the ledger holds none, FLEXIAI_EIO. */
flexiai_code flexiai_ledger_latest_cid(flexiai_ledger *l, char **cid);
/* A message read back from the ledger.  Unlike flexiai_message (whose
 * strings the caller lends), these are the caller's: free the array with
 * flexiai_ledger_messages_free(), which frees the strings too (set one to
 * NULL first to keep it). */
typedef struct flexiai_ledger_message {
    char *role; /* "system", "user" or "assistant" */
    char *content;
    /* an assistant message's reasoning state, as flexiai_message's (kept
     * in [log] mode = full); NULL when none */
    char *reasoning_state;
    /* the files it carried (a file by its absolute path, or a URL), as
     * they were sent; sha256[i] is the SHA-256 file i had then ("" for a
     * URL), to tell whether it changed since */
    flexiai_attachment *attachments;
    char **sha256;
    size_t nattachments;
} flexiai_ledger_message;

/* The messages that continue conversation `cid` (its system prompt first
 * when it had one, its last answer last): *msgs, an array of *n.
 * FLEXIAI_OK, FLEXIAI_ENOINPUT no such conversation, FLEXIAI_EIO (also
 * when its text was not kept). */
flexiai_code flexiai_ledger_conversation(flexiai_ledger *l, const char *cid,
                                         flexiai_ledger_message **msgs,
                                         size_t *n);
void flexiai_ledger_messages_free(flexiai_ledger_message *msgs, size_t n);

/* ---- reading ---------------------------------------------------------- */

/* "2026-11-01", "2026-11-01 14:30", "2h", "90d", "@EPOCH" -> epoch
 * seconds in *out.  FLEXIAI_OK or FLEXIAI_EUSAGE. */
flexiai_code flexiai_ledger_parse_when(const char *s, double *out);

/* Which records; start with flexiai_ledger_query_init() (everything). */
typedef struct flexiai_ledger_query {
    double since, until; /* epoch seconds; 0: unbounded */
    const char *provider, *model, *tag, *conversation_id; /* NULL: any */
    const char *words; /* full-text search; NULL: none */
    int failed;        /* only records with exit code not 0 */
    long limit;        /* the latest `limit`; <= 0: all */
} flexiai_ledger_query;

void flexiai_ledger_query_init(flexiai_ledger_query *q);

typedef enum flexiai_ledger_format {
    FLEXIAI_LEDGER_TEXT = 0,    /* readable text, ends with a newline */
    FLEXIAI_LEDGER_JSON = 1,    /* one JSON object, no newline */
    FLEXIAI_LEDGER_ATTEMPTS = 2 /* text with the attempt trail */
} flexiai_ledger_format;
/* Called per record (line valid during the call only), oldest first;
 * return non-zero to stop. */
typedef int (*flexiai_ledger_line_fn)(void *ud, const char *line);
/* Records matching q, formatted; *count (may be NULL) is the number
 * delivered.  FLEXIAI_OK or FLEXIAI_EIO. */
flexiai_code flexiai_ledger_each(flexiai_ledger *l,
                                 const flexiai_ledger_query *q,
                                 flexiai_ledger_format format,
                                 flexiai_ledger_line_fn fn, void *ud,
                                 long *count);
/* One record by id in *out (caller frees).  FLEXIAI_OK, FLEXIAI_ENOINPUT
 * no such id, FLEXIAI_EIO. */
flexiai_code flexiai_ledger_show(flexiai_ledger *l, long long id,
                                 flexiai_ledger_format format, char **out);
/* Delete records older than `before` (epoch seconds); *deleted (may be
 * NULL) is their number.  FLEXIAI_OK or FLEXIAI_EIO. */
flexiai_code flexiai_ledger_prune(flexiai_ledger *l, double before,
                                  long *deleted);

/* ---- usage ------------------------------------------------------------ */

/* Grouping keys, combined with | into the `by` of flexiai_ledger_usage(). */
typedef enum flexiai_ledger_by {
    FLEXIAI_LEDGER_BY_DAY = 1,
    FLEXIAI_LEDGER_BY_PROVIDER = 2,
    FLEXIAI_LEDGER_BY_MODEL = 4,
    FLEXIAI_LEDGER_BY_TAG = 8
} flexiai_ledger_by;
/* "day" | "provider" | "model" | "tag": FLEXIAI_OK with *by, or
 * FLEXIAI_EUSAGE. */
flexiai_code flexiai_ledger_by_from_name(const char *name,
                                         flexiai_ledger_by *by);
/* Usage totals grouped by `by` (flexiai_ledger_by values or'ed; 0: one
 * total) over [since, until) as a JSON array of objects (grouping keys,
 * requests, answers, failovers, failures, failures_by_class,
 * prompt_tokens, completion_tokens, cost: null when unknown), costs from
 * the configured prices, in *json (caller frees).  FLEXIAI_OK or
 * FLEXIAI_EIO. */
flexiai_code flexiai_ledger_usage(flexiai_ledger *l, const flexiai_config *cfg,
                                  unsigned by, double since, double until,
                                  char **json);
/* Counters in the Prometheus text format in *out (caller frees).
 * FLEXIAI_OK or FLEXIAI_EIO. */
flexiai_code flexiai_ledger_prometheus(flexiai_ledger *l,
                                       const flexiai_config *cfg, char **out);

#ifdef __cplusplus
}
#endif
#endif
