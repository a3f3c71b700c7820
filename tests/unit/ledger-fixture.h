/* ledger-fixture.h - what the ledger tests share: a temporary directory,
 * requests logged from built flexiai_results, and small readers. */
#ifndef LEDGER_FIXTURE_H
#define LEDGER_FIXTURE_H

#include "ledger/ledger-int.h"

#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <sys/stat.h>

#define T0 1790000000.0 /* a fixed "now": 2026-09-21 */
#define DAY 86400.0

static char root[] = "/tmp/fx-ledger-test-XXXXXX";

/* ---- building results ---------------------------------------------- */

static inline void
add_attempt(flexiai_result *r, const char *provider, const char *outcome,
            int errclass, long status, double ms)
{
    r->attempts =
        realloc(r->attempts, (r->nattempts + 1) * sizeof(*r->attempts));
    flexiai_attempt *a = &r->attempts[r->nattempts++];
    memset(a, 0, sizeof(*a));
    a->provider = strdup(provider);
    a->model = strdup("m-1");
    a->outcome = strdup(outcome);
    a->errclass = errclass;
    a->http_status = status;
    a->retry_after = -1;
    a->latency_ms = ms;
    if (errclass)
        a->message = strdup("went wrong");
}

/* Log one request: `chain` names the providers tried in order, the last
 * one answering unless exit_code is not 0 (then all failed with
 * `errclass`).  Returns the record id. */
static inline int64_t
log_one(fx_ledger *l, int mode, double t, const char *tag, const char *cid,
        const char *prompt, const char *answer, const char *chain,
        int exit_code, int errclass, long tokens_in, long tokens_out)
{
    flexiai_result r;
    memset(&r, 0, sizeof(r));
    char *names = strdup(chain), *save = NULL, *tried[8];
    size_t n = 0;
    for (char *p = strtok_r(names, ",", &save); p && n < 8;
         p = strtok_r(NULL, ",", &save))
        tried[n++] = p;
    const char *last = tried[n - 1];
    for (size_t i = 0; i < n; i++) {
        int answered = exit_code == 0 && i == n - 1;
        add_attempt(&r, tried[i], answered ? "success" : "error",
                    answered ? 0 : errclass, answered ? 200 : 0,
                    answered ? 800 : 30000);
    }
    if (exit_code == 0) {
        r.provider = strdup(last);
        r.model = strdup("m-1");
        r.text = answer ? strdup(answer) : NULL;
        r.finish_reason = strdup("stop");
        r.has_usage = tokens_in >= 0;
        r.prompt_tokens = tokens_in;
        r.completion_tokens = tokens_out;
    } else {
        r.error = strdup("every provider failed");
    }
    r.latency_ms = exit_code == 0 ? 830.25 : 60000;
    flexiai_message msgs[2] = {{.role = "system", .content = "Be brief."},
                               {.role = "user", .content = prompt}};
    struct fx_ledger_meta meta = {t, "complete", tag, cid, NULL, exit_code};
    struct fx_ledger_record rec;
    fx_ledger_record_from_result(&rec, &r, msgs, 2, &meta);
    int rc = fx_ledger_insert(l, &rec, mode);
    int64_t id = rc == 0 ? rec.id : -1;
    fx_ledger_record_free(&rec);
    flexiai_result_free(&r);
    free(names);
    return id;
}

static inline fx_ledger *
open_at(const char *name, int flags)
{
    char *path = fxu_asprintf("%s/%s", root, name);
    char *err = NULL;
    fx_ledger *l = fx_ledger_open(path, flags, &err);
    if (l == NULL)
        printf("# open %s: %s\n", path, err ? err : "?");
    free(err);
    free(path);
    return l;
}

/* Ids of the records a filter returns, "1,2,3" (oldest first). */
static inline int
collect(void *ud, const struct fx_ledger_record *r)
{
    fxu_buf *b = ud;
    fxu_buf_printf(b, "%s%lld", b->len ? "," : "", (long long)r->id);
    return 0;
}

static inline int
collect_none(void *ud, const struct fx_ledger_record *r)
{
    return 0;
}

static char ids_out[256] __attribute__((unused));

static inline const char *
ids(fx_ledger *l, const struct fx_ledger_filter *f)
{
    fxu_buf b;
    fxu_buf_init(&b);
    long n = fx_ledger_each(l, f, collect, &b);
    snprintf(ids_out, sizeof(ids_out), "%s",
             n < 0    ? fx_ledger_error(l)
             : b.data ? b.data
                      : "");
    fxu_buf_free(&b);
    return ids_out;
}

static inline int
file_mode(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int)(st.st_mode & 07777) : -1;
}

/* 1 when `needle` occurs anywhere in the bytes of file `path`. */
static inline int
file_has(const char *path, const char *needle)
{
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return 0;
    fxu_buf b;
    fxu_buf_init(&b);
    char chunk[65536];
    size_t got;
    while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
        fxu_buf_append(&b, chunk, got);
    fclose(f);
    int found = b.len && memmem(b.data, b.len, needle, strlen(needle));
    fxu_buf_free(&b);
    return found;
}

#endif
