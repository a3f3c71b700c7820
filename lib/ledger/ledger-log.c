/*
 * ledger-log.c - what a program calls after a request (flexiai-ledger.h):
 * the record of the request, with every configured secret cut out,
 * appended to the ledger's spool under the [log] settings (path, mode,
 * keep), and the spool's size.  No SQLite here: the readers
 * (ledger-api.c) move the spool into the database.
 */
#include "config.h"

#include "conf/conf.h"
#include "fx.h"
#include "ledger-int.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>
#include <string.h>

/* ---- settings ---------------------------------------------------------- */

/* [log] mode, else full */
static int
log_mode(const flexiai_config *cfg)
{
    const char *m = fx_config_value(cfg, "log", "mode");
    int mode = m ? fx_ledger_mode_from_name(m) : FX_LEDGER_FULL;
    return mode < 0 ? FX_LEDGER_FULL : mode;
}

flexiai_code
flexiai_ledger_path(const flexiai_config *cfg, char **path, char **errmsg)
{
    char *err = NULL;
    *path = fx_ledger_path(fx_config_value(cfg, "log", "path"), &err);
    if (errmsg)
        *errmsg = err;
    else
        free(err);
    return *path ? FLEXIAI_OK : FLEXIAI_ECONFIG;
}

/* ---- secrets ------------------------------------------------------------ */

/* Replace every occurrence of secret in *s with "[redacted]". */
static void
cut_secret(char **s, const char *secret)
{
    size_t n = secret ? strlen(secret) : 0;
    if (*s == NULL || n < 4 || strstr(*s, secret) == NULL)
        return;
    fxu_buf b;
    fxu_buf_init(&b);
    const char *p = *s, *hit;
    while ((hit = strstr(p, secret)) != NULL) {
        fxu_buf_append(&b, p, (size_t)(hit - p));
        fxu_buf_puts(&b, "[redacted]");
        p = hit + n;
    }
    fxu_buf_puts(&b, p);
    free(*s);
    *s = fxu_buf_steal(&b);
}

static void
cut_everywhere(struct fx_ledger_record *r, const char *secret)
{
    if (secret == NULL || strlen(secret) < 4)
        return;
    cut_secret(&r->system, secret);
    cut_secret(&r->text, secret);
    cut_secret(&r->error, secret);
    cut_secret(&r->tag, secret);
    for (size_t i = 0; i < r->nmessages; i++)
        cut_secret(&r->messages[i].content, secret);
    for (size_t i = 0; i < r->nattempts; i++)
        cut_secret(&r->attempts[i].message, secret);
    cut_secret(&r->tool_calls, secret);
    for (size_t i = 0; i < r->nfragments; i++)
        cut_secret(&r->fragments[i].content, secret);
}

static void
cut_secrets(const flexiai_config *cfg, struct fx_ledger_record *r)
{
    const struct fx_settings *s = fx_config_settings(cfg);
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->nproviders; i++) {
        cut_everywhere(r, s->providers[i].key);
        cut_everywhere(r, s->providers[i].api_key);
    }
    cut_everywhere(r, s->sync.redis_password);
}

/* ---- appending ----------------------------------------------------- */

int
flexiai_ledger_enabled(const flexiai_config *cfg)
{
    return log_mode(cfg) != FX_LEDGER_OFF;
}

/* [log] mode and keep; an unreadable keep turns logging off with an
 * error (caller frees). */
static char *
log_settings(const flexiai_config *cfg, int *mode, double *keep)
{
    *mode = log_mode(cfg);
    *keep = 0;
    if (*mode == FX_LEDGER_OFF)
        return NULL;
    const char *k = fx_config_value(cfg, "log", "keep");
    if (k && fx_ledger_parse_keep(k, keep) != 0) {
        *mode = FX_LEDGER_OFF;
        return fxu_asprintf("[log] keep '%s' is not a duration like 90d "
                            "(nothing logged)",
                            k);
    }
    return NULL;
}

/* The record of e with every secret cut out. */
static void
build_record(const flexiai_config *cfg, const flexiai_ledger_entry *e,
             struct fx_ledger_record *rec)
{
    /* the system prompt sent: a "system" message, else the configured
     * one (-s sets it) */
    const char *system = flexiai_config_system(cfg);
    for (size_t i = 0; i < e->nmessages; i++)
        if (strcmp(e->messages[i].role, "system") == 0)
            system = NULL;
    struct fx_ledger_meta meta = {.system = system,
                                  .command = e->command,
                                  .tag = e->tag,
                                  .conversation_id = e->conversation_id,
                                  .exit_code = e->exit_code};
    fx_ledger_record_from_result(rec, e->result, e->messages, e->nmessages,
                                 &meta);
    rec->deferred = e->deferred;
    rec->tool_calls = fx_ledger_tools_json(e->tool_calls, e->ntool_calls);
    fx_ledger_fragments_from_entry(rec, e);
    cut_secrets(cfg, rec);
}

char *
fx_ledger_entry_record(const flexiai_config *cfg, const flexiai_ledger_entry *e,
                       struct fx_ledger_record *rec, int *mode, double *keep)
{
    memset(rec, 0, sizeof(*rec));
    char *err = log_settings(cfg, mode, keep);
    if (err == NULL && *mode != FX_LEDGER_OFF)
        build_record(cfg, e, rec);
    return err;
}

void
flexiai_ledger_entry_init(flexiai_ledger_entry *e)
{
    memset(e, 0, sizeof(*e));
}

/* Append rec to the spool of the ledger at the configured path; *err set
 * on failure. */
static flexiai_code
spool_record(const flexiai_config *cfg, const struct fx_ledger_record *rec,
             int mode, char **err)
{
    char *path = NULL;
    flexiai_code rc = flexiai_ledger_path(cfg, &path, err);
    if (rc != FLEXIAI_OK)
        return rc;
    if (fx_ledger_spool_append(path, rec, mode, err) != 0) {
        if (*err == NULL)
            *err = fxu_strdup("cannot write the request ledger's spool");
        rc = FLEXIAI_EIO;
    }
    free(path);
    return rc;
}

flexiai_code
flexiai_ledger_log(const flexiai_config *cfg, const flexiai_ledger_entry *e,
                   char **errmsg)
{
    struct fx_ledger_record rec;
    int mode;
    double keep;
    flexiai_code rc = FLEXIAI_OK;
    char *err = fx_ledger_entry_record(cfg, e, &rec, &mode, &keep);
    if (err)
        rc = FLEXIAI_ECONFIG;
    else if (mode != FX_LEDGER_OFF)
        rc = spool_record(cfg, &rec, mode, &err);
    fx_ledger_record_free(&rec);
    if (errmsg)
        *errmsg = err;
    else
        free(err);
    return rc;
}

char *
flexiai_ledger_new_cid(void)
{
    return fx_ledger_new_cid();
}

/* ---- the spool's size --------------------------------------------------- */

flexiai_code
flexiai_ledger_spool_size(const flexiai_config *cfg, long long *bytes,
                          long long *max, char **errmsg)
{
    const char *v = fx_config_value(cfg, "log", "spool_max");
    *bytes = 0;
    *max = v ? strtoll(v, NULL, 10) : 0;
    if (*max < 0)
        *max = 0;
    if (errmsg)
        *errmsg = NULL;
    if (log_mode(cfg) == FX_LEDGER_OFF)
        return FLEXIAI_OK;
    char *path = NULL;
    flexiai_code rc = flexiai_ledger_path(cfg, &path, errmsg);
    if (rc != FLEXIAI_OK)
        return rc;
    char *sp = fx_ledger_spool_path(path);
    struct stat st;
    if (stat(sp, &st) == 0)
        *bytes = (long long)st.st_size;
    free(sp);
    free(path);
    return FLEXIAI_OK;
}

/* ---- many records, one write (batch) ---------------------------------- */

#define WRITER_RECORDS 256
#define WRITER_BYTES (256 * 1024)

struct flexiai_ledger_writer {
    const flexiai_config *cfg;
    int mode;       /* [log] mode, read once */
    char *settings; /* why nothing is logged ([log] keep), or NULL */
    char *path;
    char *err; /* the last failure's message */
    fxu_buf lines;
    size_t n;
};

flexiai_ledger_writer *
flexiai_ledger_writer_new(const flexiai_config *cfg)
{
    int mode;
    double keep;
    flexiai_ledger_writer *w = fxu_xcalloc(1, sizeof(*w));
    w->cfg = cfg;
    w->settings = log_settings(cfg, &mode, &keep);
    w->mode = mode;
    fxu_buf_init(&w->lines);
    return w;
}

/* A failure: its message on w, taken over. */
static flexiai_code
writer_failed(flexiai_ledger_writer *w, flexiai_code code, char *msg)
{
    free(w->err);
    w->err = msg ? msg : fxu_strdup("cannot write the request ledger's spool");
    return code;
}

const char *
flexiai_ledger_writer_error(const flexiai_ledger_writer *w)
{
    return w->err ? w->err : "";
}

flexiai_code
flexiai_ledger_writer_flush(flexiai_ledger_writer *w)
{
    char *err = NULL;
    if (w == NULL || w->lines.len == 0)
        return FLEXIAI_OK;
    flexiai_code rc = FLEXIAI_OK;
    if (w->path == NULL)
        rc = flexiai_ledger_path(w->cfg, &w->path, &err);
    if (rc == FLEXIAI_OK &&
        fx_ledger_spool_append_lines(w->path, w->lines.data, w->lines.len,
                                     &err) != 0)
        rc = FLEXIAI_EIO;
    fxu_buf_reset(&w->lines);
    w->n = 0;
    return rc == FLEXIAI_OK ? rc : writer_failed(w, rc, err);
}

flexiai_code
flexiai_ledger_writer_add(flexiai_ledger_writer *w,
                          const flexiai_ledger_entry *e)
{
    if (w->settings)
        return writer_failed(w, FLEXIAI_ECONFIG, fxu_strdup(w->settings));
    if (w->mode == FX_LEDGER_OFF)
        return FLEXIAI_OK;
    struct fx_ledger_record rec;
    build_record(w->cfg, e, &rec);
    fx_ledger_spool_put(&w->lines, &rec, w->mode);
    fx_ledger_record_free(&rec);
    if (++w->n >= WRITER_RECORDS || w->lines.len >= WRITER_BYTES)
        return flexiai_ledger_writer_flush(w);
    return FLEXIAI_OK;
}

void
flexiai_ledger_writer_free(flexiai_ledger_writer *w)
{
    if (w == NULL)
        return;
    flexiai_ledger_writer_flush(w); /* the caller flushed to hear */
    fxu_buf_free(&w->lines);
    free(w->settings);
    free(w->path);
    free(w->err);
    free(w);
}
