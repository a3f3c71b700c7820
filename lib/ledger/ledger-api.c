/*
 * ledger-api.c - the public face of the request ledger's database
 * (flexiai-ledger.h): opening it (moving the records waiting in
 * the spool in first), what `flexiai logs`, `flexiai usage` and complete
 * -C/--cid read, and appending into an open ledger (a batch), over the
 * internal fx_ledger_* of ledger-int.h.  It owns the prices of
 * [provider.NAME] and [price.MODEL].  Appending to the spool, the [log]
 * settings and the cutting of secrets are ledger-log.c's (no SQLite).
 */
#include "config.h"

#include "conf/conf.h"
#include "fx.h"
#include "ledger-int.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct flexiai_ledger {
    fx_ledger *l;
    char *err;
    char *warning; /* the spool could not be imported, or had torn lines */
    long imported; /* records moved in from the spool when opened */
};

/* A failed call: its message kept on l (flexiai_ledger_error()). */
static flexiai_code
ledger_failed(flexiai_ledger *l, flexiai_code code, const char *msg)
{
    char *m = fxu_strdup(msg && *msg ? msg : "the ledger failed");
    free(l->err);
    l->err = m;
    return code;
}

/* The fx_ledger handle's own error, for a failure of SQLite or the file. */
static flexiai_code
db_failed(flexiai_ledger *l)
{
    return ledger_failed(l, FLEXIAI_EIO, fx_ledger_error(l->l));
}

flexiai_code
flexiai_ledger_append(flexiai_ledger *l, const flexiai_config *cfg,
                      const flexiai_ledger_entry *e)
{
    struct fx_ledger_record rec;
    int mode;
    double keep;
    char *err = fx_ledger_entry_record(cfg, e, &rec, &mode, &keep);
    if (err) {
        flexiai_code rc = ledger_failed(l, FLEXIAI_ECONFIG, err);
        free(err);
        return rc;
    }
    if (mode == FX_LEDGER_OFF)
        return FLEXIAI_OK;
    flexiai_code rc = FLEXIAI_OK;
    if (fx_ledger_insert(l->l, &rec, mode) != 0 ||
        fx_ledger_autoprune(l->l, keep, fxu_wallclock()) < 0)
        rc = db_failed(l);
    fx_ledger_record_free(&rec);
    return rc;
}

/* ---- reading ----------------------------------------------------------------
 */

/* Records waiting in the spool moved into a database opened for writing
 * (*fl, NULL when it could not be opened); a warning when not all were. */
static char *
import_spool(const flexiai_config *cfg, const char *path, fx_ledger **fl,
             long *imported)
{
    char *warning = NULL;
    double keep = 0;
    const char *k = fx_config_value(cfg, "log", "keep");
    if (k && fx_ledger_parse_keep(k, &keep) != 0)
        keep = 0;
    long damaged = 0;
    *fl = fx_ledger_open(path, FX_LEDGER_WRITE, &warning);
    if (*fl && (*imported = fx_ledger_import(*fl, path, keep, &damaged)) < 0)
        warning = fxu_strdup(fx_ledger_error(*fl));
    else if (*fl && damaged > 0)
        warning = fxu_asprintf("%ld damaged record%s in the spool (a "
                               "crash while writing? too big to store?) set "
                               "aside in "
                               "%s.spool.damaged",
                               damaged, damaged == 1 ? "" : "s", path);
    if (warning) {
        char *w =
            fxu_asprintf("records waiting in %s.spool: %s", path, warning);
        free(warning);
        warning = w;
    }
    return warning;
}

flexiai_code
flexiai_ledger_open(const flexiai_config *cfg, int write, flexiai_ledger **out,
                    char **errmsg)
{
    *out = NULL;
    if (errmsg)
        *errmsg = NULL;
    char *path = NULL, *err = NULL;
    flexiai_code rc = flexiai_ledger_path(cfg, &path, errmsg);
    if (rc != FLEXIAI_OK)
        return rc;
    char *warning = NULL;
    fx_ledger *fl = NULL;
    long imported = 0;
    /* records waiting in the spool go into the database first */
    if (fx_ledger_spool_pending(path))
        warning = import_spool(cfg, path, &fl, &imported);
    else if (!write && access(path, F_OK) != 0)
        rc = FLEXIAI_ENOINPUT; /* nothing logged yet */
    if (fl == NULL)
        fl = fx_ledger_open(path, write ? FX_LEDGER_WRITE : FX_LEDGER_READ,
                            &err);
    free(path);
    if (fl == NULL) {
        free(warning);
        if (errmsg)
            *errmsg = err ? err : fxu_strdup("cannot open the ledger");
        else
            free(err);
        return rc != FLEXIAI_OK ? rc : FLEXIAI_EIO;
    }
    flexiai_ledger *l = fxu_xcalloc(1, sizeof(*l));
    l->l = fl;
    l->warning = warning;
    l->imported = imported > 0 ? imported : 0;
    *out = l;
    return FLEXIAI_OK;
}

void
flexiai_ledger_close(flexiai_ledger *l)
{
    if (l == NULL)
        return;
    fx_ledger_close(l->l);
    free(l->err);
    free(l->warning);
    free(l);
}

const char *
flexiai_ledger_error(const flexiai_ledger *l)
{
    return l->err ? l->err : "";
}

int
flexiai_ledger_exists(const flexiai_config *cfg)
{
    char *path = NULL;
    if (flexiai_ledger_path(cfg, &path, NULL) != FLEXIAI_OK)
        return 0;
    int exists = access(path, F_OK) == 0 || fx_ledger_spool_pending(path);
    free(path);
    return exists;
}

const char *
flexiai_ledger_warning(const flexiai_ledger *l)
{
    return l->warning;
}

long
flexiai_ledger_imported(const flexiai_ledger *l)
{
    return l->imported;
}

flexiai_code
flexiai_ledger_latest_cid(flexiai_ledger *l, char **cid)
{
    int rc = fx_ledger_latest_cid(l->l, NULL, cid);
    if (rc > 0)
        return ledger_failed(l, FLEXIAI_ENOINPUT,
                             "no conversation in the ledger");
    return rc < 0 ? db_failed(l) : FLEXIAI_OK;
}

flexiai_code
flexiai_ledger_conversation(flexiai_ledger *l, const char *cid,
                            flexiai_ledger_message **msgs, size_t *n)
{
    struct fx_ledger_message *m = NULL;
    size_t nm = 0;
    char *system = NULL;
    *msgs = NULL;
    *n = 0;
    int rc = fx_ledger_conversation(l->l, cid, &m, &nm, &system);
    if (rc > 0) {
        char *msg = fxu_asprintf("no conversation '%s' in the ledger", cid);
        ledger_failed(l, FLEXIAI_ENOINPUT, msg);
        free(msg);
        return FLEXIAI_ENOINPUT;
    }
    if (rc < 0)
        return db_failed(l);
    flexiai_ledger_message *v = fxu_xcalloc(nm + 1, sizeof(*v));
    size_t k = 0;
    if (system) {
        v[k].role = fxu_strdup("system");
        v[k++].content = system;
    }
    for (size_t i = 0; i < nm; i++) {
        v[k].role = m[i].role;
        v[k].reasoning_state = m[i].reasoning_state;
        v[k++].content = m[i].content;
        m[i].role = m[i].content = m[i].reasoning_state = NULL;
    }
    fx_ledger_messages_free(m, nm);
    *msgs = v;
    *n = k;
    return FLEXIAI_OK;
}

void
flexiai_ledger_messages_free(flexiai_ledger_message *msgs, size_t n)
{
    for (size_t i = 0; msgs && i < n; i++) {
        free(msgs[i].role);
        free(msgs[i].content);
        free(msgs[i].reasoning_state);
    }
    free(msgs);
}

struct each_ctx {
    flexiai_ledger_format format;
    flexiai_ledger_line_fn fn;
    void *ud;
};

static char *
format_record(const struct fx_ledger_record *r, flexiai_ledger_format format)
{
    if (format == FLEXIAI_LEDGER_JSON)
        return fx_ledger_record_json(r);
    return fx_ledger_record_text(r, format == FLEXIAI_LEDGER_ATTEMPTS);
}

static int
each_record(void *ud, const struct fx_ledger_record *r)
{
    struct each_ctx *x = ud;
    char *line = format_record(r, x->format);
    int stop = x->fn(x->ud, line);
    free(line);
    return stop;
}

void
flexiai_ledger_query_init(flexiai_ledger_query *q)
{
    memset(q, 0, sizeof(*q));
}

flexiai_code
flexiai_ledger_each(flexiai_ledger *l, const flexiai_ledger_query *q,
                    flexiai_ledger_format format, flexiai_ledger_line_fn fn,
                    void *ud, long *count)
{
    struct fx_ledger_filter f = {.since = q->since,
                                 .until = q->until,
                                 .provider = q->provider,
                                 .model = q->model,
                                 .tag = q->tag,
                                 .conversation_id = q->conversation_id,
                                 .words = q->words,
                                 .failed = q->failed,
                                 .limit = q->limit};
    struct each_ctx x = {format, fn, ud};
    long n = fx_ledger_each(l->l, &f, each_record, &x);
    if (count)
        *count = n > 0 ? n : 0;
    return n < 0 ? db_failed(l) : FLEXIAI_OK;
}

flexiai_code
flexiai_ledger_show(flexiai_ledger *l, long long id,
                    flexiai_ledger_format format, char **out)
{
    struct fx_ledger_record r;
    *out = NULL;
    int rc = fx_ledger_get(l->l, (int64_t)id, &r);
    if (rc > 0) {
        char *msg = fxu_asprintf("no record %lld in the ledger", id);
        ledger_failed(l, FLEXIAI_ENOINPUT, msg);
        free(msg);
        return FLEXIAI_ENOINPUT;
    }
    if (rc < 0)
        return db_failed(l);
    *out = format_record(&r, format);
    fx_ledger_record_free(&r);
    return FLEXIAI_OK;
}

flexiai_code
flexiai_ledger_prune(flexiai_ledger *l, double before, long *deleted)
{
    long n = fx_ledger_prune(l->l, before);
    if (deleted)
        *deleted = n > 0 ? n : 0;
    return n < 0 ? db_failed(l) : FLEXIAI_OK;
}

/* ---- usage, cost, Prometheus ----------------------------------------------
 */

flexiai_code
flexiai_ledger_by_from_name(const char *name, flexiai_ledger_by *by)
{
    int bit = fx_ledger_by_from_name(name);
    if (bit == 0)
        return FLEXIAI_EUSAGE;
    *by = (flexiai_ledger_by)bit;
    return FLEXIAI_OK;
}

/* [provider.NAME] price_batch_factor (fx_conf_batch_factor). */
static double
batch_factor_of(void *ud, const char *provider)
{
    return fx_conf_batch_factor(ud, provider);
}

/* [price.MODEL], else the provider's prices (fx_conf_prices). */
static int
price_of(void *ud, const char *provider, const char *model, struct fx_prices *p)
{
    return fx_conf_prices(ud, provider, model, p);
}

flexiai_code
flexiai_ledger_usage(flexiai_ledger *l, const flexiai_config *cfg, unsigned by,
                     double since, double until, char **json)
{
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    struct fx_ledger_usage_query q = {.by = by,
                                      .since = since,
                                      .until = until,
                                      .utc_offset = tm.tm_gmtoff,
                                      .price = price_of,
                                      .price_ud = (void *)cfg,
                                      .batch_factor = batch_factor_of};
    struct fx_ledger_usage *rows = NULL;
    size_t n = 0;
    *json = NULL;
    if (fx_ledger_usage(l->l, &q, &rows, &n) != 0)
        return db_failed(l);
    *json = fx_ledger_usage_json(rows, n, by);
    fx_ledger_usage_free(rows, n);
    return FLEXIAI_OK;
}

flexiai_code
flexiai_ledger_prometheus(flexiai_ledger *l, const flexiai_config *cfg,
                          char **out)
{
    if (fx_ledger_prometheus(l->l, price_of, (void *)cfg, out) != 0)
        return db_failed(l);
    return FLEXIAI_OK;
}
