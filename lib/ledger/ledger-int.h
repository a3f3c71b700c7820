/*
 * ledger-int.h - the request ledger: one SQLite database (WAL) holding a record
 * of every completion, chat turn and batch item, with full-text search,
 * usage totals and Prometheus counters.  Internal to libflexiai; the
 * commands (complete, chat, batch, logs, usage) are its callers.
 *
 *   ledger-record.c   records built from a flexiai_result, path (no SQLite)
 *   ledger-spool.c    the spool where records wait: append, lines (no SQLite)
 *   ledger-import.c   the spool moved into the database by readers
 *   ledger-open.c     open, schema versions and migration, prune
 *   ledger-write.c    records inserted
 *   ledger-query.c    filtered reads, conversations, text and JSON lines
 *   ledger-time.c     dates and durations as users type them
 *   ledger-tally.c    one pass over the records, counters per key tuple
 *   ledger-usage.c    usage totals with cost, as rows or JSON
 *   ledger-prometheus.c  the same counters in the Prometheus text format
 *   ledger-fragments.c   fragments stored once by SHA-256, linked to records
 *
 * Like the rest of the library it never prints: a failing call returns -1
 * (or NULL) and fx_ledger_error() says why in one line.  Logging must never
 * cost an answer, so callers treat every error here as a warning.
 *
 * Schema (PRAGMA user_version = FX_LEDGER_SCHEMA) is documented in
 * ledger-open.c; an older database is migrated forward when opened for
 * writing.
 */
#ifndef FX_LEDGER_H
#define FX_LEDGER_H

#include "cost.h"
#include "flexiai-ledger.h"
#include "fxu.h"

#include <stddef.h>
#include <stdint.h>

#define FX_LEDGER_SCHEMA 5

/* [log] mode */
enum fx_ledger_mode {
    FX_LEDGER_FULL = 0, /* everything */
    FX_LEDGER_USAGE,    /* no system prompt, messages or answer text */
    FX_LEDGER_OFF       /* callers do not open the ledger at all */
};
/* "full" | "usage" | "off" -> enum, -1 when unknown */
int fx_ledger_mode_from_name(const char *name);

typedef struct fx_ledger fx_ledger;

/* ---- open, close, prune (ledger-open.c) ------------------------------ */

/*
 * The database path: `configured` ([log] path) when not NULL or empty,
 * else $XDG_DATA_HOME/flexiai/logs.db, else $HOME/.local/share/flexiai/
 * logs.db.  Returns a malloc'ed path, or NULL with *err set (no HOME).
 */
char *fx_ledger_path(const char *configured, char **err);

enum fx_ledger_open_flags {
    FX_LEDGER_READ = 0,  /* read only; a missing file is an error */
    FX_LEDGER_WRITE = 1, /* create (dir 0700, file 0600), migrate */
};

/* Open (for writing, create) the database at `path`, migrating an older
 * schema forward whenever the file is writable.
 * Returns NULL with *err (caller frees) set on failure: missing, corrupt,
 * unwritable, or made by a newer flexiai. */
fx_ledger *fx_ledger_open(const char *path, int flags, char **err);
void fx_ledger_close(fx_ledger *l);
/* The last error on this handle, "" when none. */
const char *fx_ledger_error(const fx_ledger *l);
/* How long a write waits for another writer's lock before it fails
 * (default 5 s).  Logging must not hold up an answer for long. */
void fx_ledger_set_timeout(fx_ledger *l, double seconds);
/* PRAGMA user_version of the open database. */
int fx_ledger_schema_version(fx_ledger *l);

/* Delete records with time < before (epoch seconds).  Returns the number
 * deleted, or -1. */
long fx_ledger_prune(fx_ledger *l, double before);
/* [log] keep: delete records older than now - keep_seconds, at most once
 * a day (the last run is kept in the meta table).  Returns the number
 * deleted (0 when not due), or -1. */
long fx_ledger_autoprune(fx_ledger *l, double keep_seconds, double now);

/* ---- times (ledger-time.c) ------------------------------------------ */

/* --since, --until, prune --before: "2026-11-01", "2026-11-01 14:30[:05]",
 * "2026-11-01T14:30:05Z" (without Z: local time), a duration back from
 * `now` ("2h", "90d", "1w", "1h30m") or "@EPOCH".  0 or -1. */
int fx_ledger_parse_when(const char *s, double now, double *out);
/* [log] keep: a duration with a unit ("90d", "12w", "36h").  0 or -1. */
int fx_ledger_parse_keep(const char *s, double *seconds);

/* ---- records (ledger-write.c) ---------------------------------------- */

struct fx_ledger_message {
    char *role;
    char *content;
    char *reasoning_state; /* an assistant message's; may be NULL */
    /* fx_ledger_conversation(): what it carried (ledger-attach.c) */
    struct fx_ledger_attach *att;
    size_t natt;
};

/* One attempt, in the shape `complete --json` prints. */
struct fx_ledger_attempt {
    char *provider;
    char *model;
    char *outcome;      /* success | error | skipped | retry | interrupted */
    char *error_class;  /* flexiai_errclass_name(), NULL when none */
    long http_status;   /* 0 when no HTTP answer */
    double retry_after; /* seconds, -1 when none */
    double latency_ms;
    char *message; /* may be NULL */
    int probe;
    int continuation;
    long text_bytes; /* answer text the attempt delivered */
    /* what the attempt was billed, when the provider said (has_usage):
     * cached and cache_write are parts of prompt_tokens, reasoning of
     * completion_tokens */
    int has_usage;
    long prompt_tokens, completion_tokens;
    long cached_tokens, cache_write_tokens, reasoning_tokens;
};

struct fx_ledger_record {
    int64_t id;            /* 0 until inserted */
    double time;           /* epoch seconds */
    char *command;         /* "complete", "chat", "batch", ... */
    char *tag;             /* may be NULL */
    char *conversation_id; /* may be NULL */
    char *provider;        /* that answered; NULL when none did */
    char *model;
    char *system;                       /* NULL when none or not kept */
    struct fx_ledger_message *messages; /* sent, without the system one */
    size_t nmessages;
    int has_messages; /* 0: not kept (mode usage) */
    char *text;       /* the answer; NULL when none or not kept */
    char *finish_reason;
    int has_usage; /* the sum over the billed attempts */
    long prompt_tokens, completion_tokens;
    long cached_tokens, cache_write_tokens, reasoning_tokens;
    char *reasoning; /* reasoning text; NULL when none or not kept */
    double latency_ms;
    int exit_code;
    char *error;          /* one line when the request failed */
    char *error_class;    /* class of the failure, NULL on success */
    char *first_provider; /* first provider tried (failovers) */
    struct fx_ledger_attempt *attempts;
    size_t nattempts;
    char *reasoning_state; /* the answer's (full mode); may be NULL */
    int deferred;          /* answered by a provider's batch job */
    int cached;            /* answered from the response cache */
    /* what the messages carried (ledger-attach.c; full mode) */
    struct fx_ledger_attach *attachments;
    size_t nattachments;
    /* the tool calls and results (full mode), a JSON array of {id, name,
     * arguments, result, is_error}; NULL when none (ledger-tools.c) */
    char *tool_calls;
    struct fx_ledger_fragment *fragments; /* used (ledger-fragments.c) */
    size_t nfragments;
};

/* What the command knows that the result does not. */
struct fx_ledger_meta {
    double time;                 /* 0: now */
    const char *command;         /* required */
    const char *tag;             /* may be NULL */
    const char *conversation_id; /* may be NULL */
    const char *system;          /* system prompt sent; NULL: take a "system"
                                    message from msgs if there is one */
    int exit_code;
};

/* How much of a request a record keeps (flexiai-logs(1)): the answer,
 * the system prompt and the error up to FX_LEDGER_TEXT_MAX bytes each,
 * each message up to that and all messages together up to
 * FX_LEDGER_MESSAGES_MAX (the newest first), an attempt's message up to
 * FX_LEDGER_NOTE_MAX.  A cut text ends in a mark that gives its full
 * length.  A spool line longer than FX_LEDGER_LINE_MAX (more than any
 * record can be, even with every byte escaped) is not read: it is set
 * aside like a damaged one. */
#define FX_LEDGER_TEXT_MAX (1024 * 1024)
#define FX_LEDGER_MESSAGES_MAX (4 * 1024 * 1024)
#define FX_LEDGER_NOTE_MAX (4 * 1024)
#define FX_LEDGER_LINE_MAX (64 * 1024 * 1024)
/* s, or its first `max` bytes (a whole UTF-8 character) and the mark
 * "\n[flexiai: cut to N of M bytes]"; NULL for NULL.  Caller frees. */
char *fx_ledger_capped(const char *s, size_t max);

/* Fill *rec (all copies; nothing borrowed) from a finished request.  The
 * "system" message, if any, goes to rec->system, the rest to messages.
 * Texts are capped as above. */
void fx_ledger_record_from_result(struct fx_ledger_record *rec,
                                  const flexiai_result *res,
                                  const flexiai_message *msgs, size_t nmsgs,
                                  const struct fx_ledger_meta *meta);
void fx_ledger_record_free(struct fx_ledger_record *rec); /* its contents */

/* Append one record (rec->id is set).  With mode FX_LEDGER_USAGE the
 * system prompt, messages and text are not stored.  Outside a
 * transaction the insert is its own transaction.  0 or -1. */
int fx_ledger_insert(fx_ledger *l, struct fx_ledger_record *rec, int mode);
/*
 * What a one-shot command (complete, a chat turn) calls after a request:
 * open (creating) the ledger at `path`, insert `rec` in `mode`, apply
 * [log] keep (autoprune; keep_seconds <= 0: never) and close.  0, or -1
 * with *err (caller frees): a warning for the user, never a reason to
 * withhold the answer or change the exit code.
 */
int fx_ledger_append(const char *path, struct fx_ledger_record *rec, int mode,
                     double keep_seconds, char **err);
/* Group inserts (batch): one write transaction until commit.  Other
 * writers wait meanwhile, so commit at least every second or so. */
int fx_ledger_begin(fx_ledger *l);
int fx_ledger_commit(fx_ledger *l);
int fx_ledger_rollback(fx_ledger *l);

/* A new conversation id: 16 random hex digits.  Caller frees. */
char *fx_ledger_new_cid(void);

/* mkdir -p of the directory holding `path`, new components 0700.  0 or
 * -1 with *err. */
int fx_ledger_make_parent(const char *path, char **err);

/* ---- the spool (ledger-spool.c, ledger-import.c) --------------------- */

/* <dbpath>.spool, where the request commands append; caller frees. */
char *fx_ledger_spool_path(const char *dbpath);
/* The record as one JSON line ending in a newline (mode usage: without
 * system prompt, messages and answer).  Caller frees. */
char *fx_ledger_spool_line(const struct fx_ledger_record *r, int mode);
/* The same line appended to b (a batch gathers many). */
void fx_ledger_spool_put(fxu_buf *b, const struct fx_ledger_record *r,
                         int mode);
/* Append whole lines (each ending in a newline) in one locked write. */
int fx_ledger_spool_append_lines(const char *dbpath, const char *lines,
                                 size_t len, char **err);
/* A line (without its newline) back into *r and its mode.  0 or -1. */
int fx_ledger_spool_parse(const char *line, size_t len,
                          struct fx_ledger_record *r, int *mode);
/* Append the record to the spool of the ledger at dbpath with one locked
 * write, creating the spool 0600 (directory 0700).  No SQLite: what a
 * one-shot command calls.  0, or -1 with *err (caller frees). */
int fx_ledger_spool_append(const char *dbpath, const struct fx_ledger_record *r,
                           int mode, char **err);
/* 1 when records wait in the spool of the ledger at dbpath. */
int fx_ledger_spool_pending(const char *dbpath);
/* Move the waiting records into l (opened for writing on dbpath) in one
 * transaction, then apply [log] keep (keep_seconds <= 0: never).  Returns
 * the number imported, or -1; *damaged counts torn lines set aside in
 * <spool>.damaged. */
long fx_ledger_import(fx_ledger *l, const char *dbpath, double keep_seconds,
                      long *damaged);

/* The record of e, secrets cut out, with mode and keep (ledger-log.c);
 * NULL or an error (caller frees). */
char *fx_ledger_entry_record(const flexiai_config *cfg,
                             const flexiai_ledger_entry *e,
                             struct fx_ledger_record *rec, int *mode,
                             double *keep);

/* ---- queries (ledger-query.c) ---------------------------------------- */

struct fx_ledger_filter {
    double since, until; /* epoch seconds; 0: unbounded; until exclusive */
    const char *provider, *model, *tag, *command;
    const char *conversation_id;
    const char *words; /* full-text search: every word must occur (in the
                          prompt or the answer); NULL: none */
    int failed;        /* 1: exit code not 0 only */
    long limit;        /* the latest `limit` records; <= 0: all */
};

/* Called per record, oldest first (by time; with words by id, which is
 * the order of writing); return non-zero to stop. */
typedef int (*fx_ledger_record_fn)(void *ud, const struct fx_ledger_record *r);

/* The latest f->limit records matching f, delivered oldest first.
 * Returns the number delivered, or -1. */
long fx_ledger_each(fx_ledger *l, const struct fx_ledger_filter *f,
                    fx_ledger_record_fn fn, void *ud);
/* One record with its attempts.  0, 1 when there is no such id, -1. */
int fx_ledger_get(fx_ledger *l, int64_t id, struct fx_ledger_record *out);

/* Id of the conversation of the latest record that has one (command NULL:
 * of complete or chat, never a batch item).  0 (*cid malloc'ed), 1 when there
 * is none, -1. */
int fx_ledger_latest_cid(fx_ledger *l, const char *command, char **cid);
/*
 * The messages to send to continue conversation `cid`: those of its latest
 * answered turn followed by that answer as an "assistant" message, and the
 * system prompt (may be NULL).  0, 1 when the conversation is unknown, -1
 * (also when its text was not kept, mode usage).  Free with
 * fx_ledger_messages_free().
 */
int fx_ledger_conversation(fx_ledger *l, const char *cid,
                           struct fx_ledger_message **msgs, size_t *n,
                           char **system);
void fx_ledger_messages_free(struct fx_ledger_message *msgs, size_t n);

/* One JSON object on one line (no newline): id, time (ISO 8601 UTC),
 * command, tag, conversation_id, provider, model, system, messages, text,
 * finish_reason, usage, latency_ms, exit_code, error, attempts (the
 * `complete --json` shape).  Caller frees. */
char *fx_ledger_record_json(const struct fx_ledger_record *r);
/* Readable text, ending in a newline: a header line, the attempt trail
 * when `attempts` is set, the prompt and the answer.  Times are local.
 * Caller frees. */
char *fx_ledger_record_text(const struct fx_ledger_record *r, int attempts);

/* ---- usage and Prometheus (ledger-usage.c) --------------------------- */

enum fx_ledger_by {
    FX_LEDGER_BY_DAY = 1,
    FX_LEDGER_BY_PROVIDER = 2,
    FX_LEDGER_BY_MODEL = 4,
    FX_LEDGER_BY_TAG = 8
};
/* "day" | "provider" | "model" | "tag" -> bit, 0 when unknown */
int fx_ledger_by_from_name(const char *name);

/* Prices in money per million tokens for what `provider` answered with
 * `model`.  Return 0 when known, -1 when not ([price.MODEL] section, else
 * the provider's price_input/price_output: fx_conf_prices()). */
typedef int (*fx_ledger_price_fn)(void *ud, const char *provider,
                                  const char *model, struct fx_prices *p);

struct fx_ledger_count {
    char *name;
    long n;
};

struct fx_ledger_usage {
    /* grouping keys; NULL when not grouped by it (or no value: a failed
     * request has no provider, a record may have no tag) */
    char *day; /* YYYY-MM-DD */
    char *provider, *model, *tag;
    long requests;
    long answers;   /* exit code 0 */
    long failovers; /* answers not from the first provider tried */
    long failures;  /* exit code not 0 */
    struct fx_ledger_count *failures_by_class;
    size_t nclasses;
    long prompt_tokens, completion_tokens;
    long cached_tokens, cache_write_tokens, reasoning_tokens;
    /* attempts sent (not skipped), and those of them that failed (an error,
     * a retry: also an answer that failed the schema or broke off), under
     * the provider and model tried; the tokens of each count there too */
    long calls, failed_calls;
    long cache_hits; /* answers from the response cache */
    int cost_known;  /* 0: some answer had no price or no token counts */
    double cost;
    /* answers of provider batch jobs (batch --deferred), and their part of
     * cost, priced with each provider's price_batch_factor */
    long deferred;
    double deferred_cost;
};

struct fx_ledger_usage_query {
    unsigned by;         /* FX_LEDGER_BY_* bits; 0: one total row */
    double since, until; /* epoch seconds; 0: unbounded */
    long utc_offset;     /* seconds east of UTC for days (tm_gmtoff) */
    fx_ledger_price_fn price;
    void *price_ud;
    /* a provider's price_batch_factor for deferred answers (price_ud
     * passed); NULL: 1 */
    double (*batch_factor)(void *ud, const char *provider);
};

/* Totals per group, sorted by the grouping keys.  0 or -1. */
int fx_ledger_usage(fx_ledger *l, const struct fx_ledger_usage_query *q,
                    struct fx_ledger_usage **rows, size_t *nrows);
void fx_ledger_usage_free(struct fx_ledger_usage *rows, size_t n);
/* A JSON array of objects: the grouping keys asked for, requests, answers,
 * failovers, failures, failures_by_class, prompt_tokens,
 * completion_tokens, cost (null when unknown).  Caller frees. */
char *fx_ledger_usage_json(const struct fx_ledger_usage *rows, size_t n,
                           unsigned by);

/* Counters over every record in the Prometheus text format (0.0.4):
 * flexiai_requests_total{provider,outcome}, flexiai_failovers_total{from,
 * to}, flexiai_tokens_total{provider,model,direction},
 * flexiai_cost_total{provider,model} (only where a price is known) and the
 * histogram flexiai_request_latency_seconds.  0 (*out malloc'ed) or -1. */
int fx_ledger_prometheus(fx_ledger *l, fx_ledger_price_fn price, void *ud,
                         char **out);

/* ---- attachments (ledger-attach.c) ------------------------------------ */

/* One file a message carried: what it was, never its bytes. */
struct fx_ledger_attach {
    long message; /* index in the record's messages */
    char *name;   /* the name the model saw */
    char *mime;
    long long size; /* -1 for a URL not fetched */
    char *sha256;   /* hex; "" for a URL */
    char *source;   /* the file's absolute path, or the URL */
};

/* ledger-attach-record.c: one more attachment on rec (zeroed). */
struct fx_ledger_attach *fx_ledger_attach_grow(struct fx_ledger_record *rec);
/* The attachments of msgs (system messages not counted) into rec. */
void fx_ledger_attach_from_msgs(struct fx_ledger_record *rec,
                                const flexiai_message *msgs, size_t n);
/* rec's attachments as a JSON array text (spool), and back. */
char *fx_ledger_attach_json(const struct fx_ledger_record *rec);
struct cJSON;
void fx_ledger_attach_from_json(struct fx_ledger_record *rec,
                                const struct cJSON *arr);
/* Kept in the attachments table / read back for record rec->id. */
int fx_ledger_attach_put(fx_ledger *l, const struct fx_ledger_record *rec);
int fx_ledger_attach_get(fx_ledger *l, struct fx_ledger_record *rec);
/* The lines `logs` shows for messages from `from` on (full: whole
 * hashes), and the JSON member "attachments". */
void fx_ledger_attach_text(fxu_buf *b, const struct fx_ledger_record *rec,
                           size_t from, int full);
void fx_ledger_attach_add_json(struct cJSON *o,
                               const struct fx_ledger_record *rec);
void fx_ledger_attach_free(struct fx_ledger_record *rec);
/* Record `id`'s attachments onto the messages they went with. */
void fx_ledger_attach_to_messages(fx_ledger *l, int64_t id,
                                  struct fx_ledger_message *msgs, size_t n);
/* A message's attachments as the public API gives them (moved from m),
 * and freed. */
void fx_ledger_attach_public(struct fx_ledger_message *m,
                             flexiai_ledger_message *out);
void fx_ledger_attach_public_free(flexiai_ledger_message *m);

/* ---- reasoning states (ledger-state.c) ------------------------------- */

/* Keep the state of request `request_id`'s answer (nothing for NULL).
 * 0 or -1. */
int fx_ledger_state_put(fx_ledger *l, int64_t request_id, const char *state);
/* It back, NULL when none was kept; caller frees. */
char *fx_ledger_state_get(fx_ledger *l, int64_t request_id);

/* ---- tool calls (ledger-tools.c) ------------------------------------- */

/* An entry's tool calls as the JSON array a record keeps, each text
 * capped as a message is, all of them at FX_LEDGER_MESSAGES_MAX; NULL
 * for none.  Caller frees. */
char *fx_ledger_tools_json(const flexiai_ledger_tool_call *v, size_t n);
/* Keep request `request_id`'s calls (nothing for NULL).  0 or -1. */
int fx_ledger_tools_put(fx_ledger *l, int64_t request_id, const char *calls);
/* Them back, NULL when none were kept; caller frees. */
char *fx_ledger_tools_get(fx_ledger *l, int64_t request_id);
/* `logs show`: each call, its arguments and its result, indented. */
void fx_ledger_tools_text(fxu_buf *b, const char *calls);
/* "tool_calls": the array, into a record's JSON object (nothing for
 * NULL). */
struct cJSON;
void fx_ledger_tools_add_json(struct cJSON *o, const char *calls);
/* ---- fragments (ledger-fragments.c) --------------------------------- */

/* A fragment a record used: stored once by its SHA-256 (64 hex digits);
 * content NULL when not kept (mode usage) or not read back. */
struct fx_ledger_fragment {
    char *hash;
    char *name;
    char *content;
    long long size; /* content bytes */
};
/* What a message holds instead of a fragment's content. */
#define FX_LEDGER_FRAGMENT_REF "[flexiai fragment sha256:"
/* rec->fragments from e's, each hashed; in each of rec's messages the
 * first occurrence of a fragment's content becomes its reference
 * (ledger-record.c: no SQLite). */
void fx_ledger_fragments_from_entry(struct fx_ledger_record *rec,
                                    const flexiai_ledger_entry *e);
/* (fx_ledger_record_free() frees rec->fragments) */
/* Store rec's fragments once each (content only when full) and link them
 * to rec->id.  0 or -1. */
int fx_ledger_fragments_put(fx_ledger *l, const struct fx_ledger_record *rec,
                            int full);
/* rec->fragments of record rec->id (hash, name, size; no content).  0 or
 * -1. */
int fx_ledger_fragments_get(fx_ledger *l, struct fx_ledger_record *rec);
/* s with each reference replaced by the fragment's content (a reference
 * not found stays); caller frees. */
char *fx_ledger_fragments_expand(fx_ledger *l, const char *s);

/* ---- shared by the ledger files (not for callers) -------------------- */

struct sqlite3;
struct sqlite3 *fx_ledger_db(fx_ledger *l);
/* Record the error (printf format) and return -1. */
int fx_ledger_fail(fx_ledger *l, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* sqlite3_exec with retries on SQLITE_BUSY; 0 or -1 (error recorded). */
int fx_ledger_exec(fx_ledger *l, const char *sql);
/* sqlite3_prepare_v2; NULL with the error recorded. */
struct sqlite3_stmt *fx_ledger_prepare(fx_ledger *l, const char *sql);
/* sqlite3_step retrying SQLITE_BUSY a while; the sqlite3 result code. */
int fx_ledger_step(fx_ledger *l, struct sqlite3_stmt *st);
/* A statement prepared once per handle (slot < FX_LEDGER_NSTMT), reset and
 * unbound, finalized by fx_ledger_close(); NULL with the error recorded. */
#define FX_LEDGER_NSTMT 8
struct sqlite3_stmt *fx_ledger_cached(fx_ledger *l, int slot, const char *sql);
int fx_ledger_in_transaction(fx_ledger *l);

/* ledger-tally.c: interned strings (id 0 is NULL) and counters per key */
#define FX_TALLY_KEY 8
#define FX_TALLY_BUCKETS 12
struct fx_tally;
struct fx_tally_acc {
    long requests, answers, failovers, failures, no_usage;
    int64_t prompt_tokens, completion_tokens;
    int64_t cached_tokens, cache_write_tokens, reasoning_tokens;
    long calls, failed_calls;
    long cache_hits; /* answers from the response cache */
    long buckets[FX_TALLY_BUCKETS];
    double latency_sum;
    size_t row; /* free for the caller */
};
struct fx_tally *fx_tally_new(void);
void fx_tally_free(struct fx_tally *t);
int fx_tally_intern(struct fx_tally *t, const char *s);
const char *fx_tally_name(const struct fx_tally *t, int id);
/* The counters of `key`, zeroed when new; valid until the next get. */
struct fx_tally_acc *fx_tally_get(struct fx_tally *t,
                                  const int64_t key[FX_TALLY_KEY]);
size_t fx_tally_count(const struct fx_tally *t);
const int64_t *fx_tally_key(const struct fx_tally *t, size_t i);
struct fx_tally_acc *fx_tally_at(struct fx_tally *t, size_t i);

/* What a tally reads of one record; strings as interned ids. */
struct fx_ledger_row {
    double time;
    int provider, model, tag, first, error_class;
    int exit_code;
    int has_usage;
    int64_t prompt_tokens, completion_tokens;
    int64_t cached_tokens, cache_write_tokens, reasoning_tokens;
    double latency_ms;
    /* not 0: some attempt failed: its attempts come in rows of their own
     * (fx_ledger_scan()); 3: with the tokens, not the record's row */
    int usage_split;
    /* in those rows: 1 (attempt), and whether that attempt failed; 0 in a
     * record's row */
    int attempt, failed;
    int deferred; /* answered by a provider's batch job */
    int cached;   /* answered from the response cache */
};
typedef void (*fx_ledger_row_fn)(void *ud, const struct fx_ledger_row *r);
/* Every record with since <= time < until (0: unbounded), in one read of
 * the requests_usage index; then, for the records with a failed attempt
 * (usage_split), one row per attempt sent (not skipped) with `attempt`
 * set: its provider and model, whether it failed, its tokens when it has
 * usage (has_usage), and the record's time, tag and exit code.  0 or -1. */
int fx_ledger_scan(fx_ledger *l, struct fx_tally *t, double since, double until,
                   fx_ledger_row_fn fn, void *ud);
void fx_ledger_set_in_transaction(fx_ledger *l, int on);

#endif
