/* test-ledger-parts.c - the usage parts in the ledger (schema version 4):
 * a version-3 database (tests/unit/ledger-v3.sql) migrated forward and
 * still read, records and attempts keeping cached, cache-write and
 * reasoning tokens and the reasoning text (full mode only), and usage
 * totals counting each provider what its attempts were billed. */
#include "config.h"

#include "ledger-fixture.h"

#include <math.h>
#include <unistd.h>

static char *
read_fixture(const char *name)
{
    char *path = fxu_asprintf(
        "%s/tests/unit/%s",
        getenv("FX_TEST_SRCDIR") ? getenv("FX_TEST_SRCDIR") : ".", name);
    FILE *fp = fopen(path, "r");
    ok(fp != NULL, "fixture %s", path);
    free(path);
    if (fp == NULL)
        return NULL;
    fxu_buf b;
    fxu_buf_init(&b);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        fxu_buf_append(&b, chunk, n);
    fclose(fp);
    return fxu_buf_steal(&b);
}

static int
fixed_price(void *ud, const char *provider, const char *model,
            struct fx_prices *p)
{
    (void)ud, (void)model;
    if (strcmp(provider, "a") == 0)
        *p = (struct fx_prices){2, 8, 0.5, 2};
    else if (strcmp(provider, "b") == 0)
        *p = (struct fx_prices){3, 15, 0.3, 3.75};
    else
        return -1;
    return 0;
}

static void
test_migration_v3(void)
{
    char *sql = read_fixture("ledger-v3.sql");
    if (sql == NULL)
        return;
    char *path = fxu_asprintf("%s/v3.db", root);
    sqlite3 *db = NULL;
    sqlite3_open(path, &db);
    is_int(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK,
           "version 3 database made");
    sqlite3_close(db);
    free(sql);
    fx_ledger *l = open_at("v3.db", FX_LEDGER_WRITE);
    ok(l != NULL, "opened for writing");
    is_int(fx_ledger_schema_version(l), FX_LEDGER_SCHEMA,
           "migrated to the current version");
    struct fx_ledger_record r;
    is_int(fx_ledger_get(l, 1, &r), 0, "old record 1");
    ok(r.has_usage && r.prompt_tokens == 12 && r.completion_tokens == 7 &&
           r.cached_tokens == 0 && r.reasoning_tokens == 0 &&
           r.reasoning == NULL,
       "its usage kept, no parts");
    ok(r.nattempts == 1 && !r.attempts[0].has_usage,
       "its attempt: no usage known");
    is_str(r.text, "Old logs fill /var.", "its answer kept");
    fx_ledger_record_free(&r);
    struct fx_ledger_filter f = {0};
    f.words = "disk";
    is_str(ids(l, &f), "1", "old records still searchable");
    /* totals over old records: their tokens under their provider */
    struct fx_ledger_usage_query q = {FX_LEDGER_BY_PROVIDER, 0,   0, 0,
                                      fixed_price,           NULL};
    struct fx_ledger_usage *rows = NULL;
    size_t n = 0;
    is_int(fx_ledger_usage(l, &q, &rows, &n), 0, "usage over version 3");
    ok(n == 2 && rows[1].provider && strcmp(rows[1].provider, "openai") == 0 &&
           rows[1].prompt_tokens == 12 && rows[1].calls == 2 &&
           rows[1].failed_calls == 1 && rows[0].failures == 1,
       "old records: their tokens, and their failed attempts as calls");
    fx_ledger_usage_free(rows, n);
    fx_ledger_close(l);
    l = open_at("v3.db", FX_LEDGER_READ);
    is_int(fx_ledger_schema_version(l), FX_LEDGER_SCHEMA,
           "opening again leaves it");
    fx_ledger_close(l);
    free(path);
}

/* a failed schema on a (twice), the answer from b: each attempt billed */
static void
split_result(flexiai_result *r)
{
    memset(r, 0, sizeof(*r));
    add_attempt(r, "a", "retry", FLEXIAI_E_INVALID_OUTPUT, 200, 10);
    add_attempt(r, "a", "error", FLEXIAI_E_INVALID_OUTPUT, 200, 10);
    add_attempt(r, "b", "success", 0, 200, 10);
    for (int i = 0; i < 3; i++) {
        flexiai_attempt *a = &r->attempts[i];
        a->has_usage = 1;
        a->prompt_tokens = i < 2 ? 1000 : 1100;
        a->completion_tokens = i < 2 ? 500 : 300;
        a->cached_tokens = i < 2 ? 400 : 800;
        a->cache_write_tokens = i < 2 ? 0 : 200;
        a->reasoning_tokens = i < 2 ? 300 : 120;
    }
    r->provider = strdup("b");
    r->model = strdup("m-1");
    r->text = strdup("{}");
    r->reasoning = strdup("thought about it");
    r->has_usage = 1;
    r->prompt_tokens = 3100;
    r->completion_tokens = 1300;
    r->cached_tokens = 1600;
    r->cache_write_tokens = 200;
    r->reasoning_tokens = 720;
}

static void
test_parts(void)
{
    fx_ledger *l = open_at("parts.db", FX_LEDGER_WRITE);
    flexiai_result res;
    split_result(&res);
    flexiai_message msg = {.role = "user", .content = "classify"};
    struct fx_ledger_meta meta = {T0, "complete", NULL, NULL, NULL, 0};
    int64_t ids_[2];
    for (int mode = 0; mode < 2; mode++) {
        struct fx_ledger_record rec;
        fx_ledger_record_from_result(&rec, &res, &msg, 1, &meta);
        is_int(fx_ledger_insert(l, &rec, mode), 0, "inserted, mode %d", mode);
        ids_[mode] = rec.id;
        fx_ledger_record_free(&rec);
    }
    flexiai_result_free(&res);
    struct fx_ledger_record r;
    is_int(fx_ledger_get(l, ids_[0], &r), 0, "read back");
    ok(r.prompt_tokens == 3100 && r.cached_tokens == 1600 &&
           r.cache_write_tokens == 200 && r.reasoning_tokens == 720,
       "the record's parts");
    is_str(r.reasoning, "thought about it", "full mode keeps the reasoning");
    ok(r.nattempts == 3 && r.attempts[0].has_usage &&
           r.attempts[0].prompt_tokens == 1000 &&
           r.attempts[2].cache_write_tokens == 200 &&
           r.attempts[2].reasoning_tokens == 120,
       "each attempt's usage");
    char *line = fx_ledger_spool_line(&r, FX_LEDGER_FULL);
    struct fx_ledger_record back;
    int mode = -1;
    is_int(fx_ledger_spool_parse(line, strlen(line) - 1, &back, &mode), 0,
           "a spool line of it parses");
    ok(back.cached_tokens == 1600 && back.reasoning_tokens == 720 &&
           back.attempts[1].has_usage &&
           back.attempts[1].completion_tokens == 500 && back.reasoning &&
           strcmp(back.reasoning, "thought about it") == 0,
       "the spool carries the parts, the attempts' usage, the reasoning");
    fx_ledger_record_free(&back);
    free(line);
    char *text = fx_ledger_record_text(&r, 1);
    ok(strstr(text, "3100+1300 tokens (1600 cached, 200 cache write, 720 "
                    "reasoning)") != NULL,
       "logs show: the parts");
    ok(strstr(text, "reasoning: thought about it") != NULL,
       "logs show: the reasoning");
    free(text);
    fx_ledger_record_free(&r);
    is_int(fx_ledger_get(l, ids_[1], &r), 0, "read back, usage mode");
    ok(r.reasoning == NULL && r.cached_tokens == 1600,
       "usage mode: parts kept, no reasoning text");
    fx_ledger_record_free(&r);

    /* totals: a failed 2 calls (billed), b answered; both records alike */
    struct fx_ledger_usage_query q = {FX_LEDGER_BY_PROVIDER, 0,   0, 0,
                                      fixed_price,           NULL};
    struct fx_ledger_usage *rows = NULL;
    size_t n = 0;
    is_int(fx_ledger_usage(l, &q, &rows, &n), 0, "usage by provider");
    ok(n == 2, "two providers (%zu rows)", n);
    if (n == 2) {
        const struct fx_ledger_usage *a = &rows[0], *b = &rows[1];
        ok(a->requests == 0 && a->calls == 4 && a->failed_calls == 4 &&
               a->prompt_tokens == 4000 && a->cached_tokens == 1600 &&
               a->reasoning_tokens == 1200,
           "a: no answer, 4 failed calls, their tokens");
        ok(b->requests == 2 && b->answers == 2 && b->failovers == 2 &&
               b->calls == 2 && b->failed_calls == 0 &&
               b->prompt_tokens == 2200 && b->cache_write_tokens == 400,
           "b: the answers and their tokens");
        /* a: 2 x 2 x (600 x 2 + 400 x 0.5 + 500 x 8) = 21600 per million */
        ok(a->cost_known && llround(a->cost * 1e8) == 2160000, "a's cost: %.8f",
           a->cost);
        /* b: 2 x (100 x 3 + 800 x 0.3 + 200 x 3.75 + 300 x 15) = 11580 */
        ok(b->cost_known && llround(b->cost * 1e8) == 1158000, "b's cost: %.8f",
           b->cost);
    }
    fx_ledger_usage_free(rows, n);
    q.by = 0;
    is_int(fx_ledger_usage(l, &q, &rows, &n), 0, "usage, one total");
    ok(n == 1 && rows[0].requests == 2 && rows[0].prompt_tokens == 6200 &&
           llround(rows[0].cost * 1e8) == 3318000,
       "the total is the sum of every billed attempt");
    fx_ledger_usage_free(rows, n);
    fx_ledger_close(l);
}

int
main(void)
{
    if (mkdtemp(root) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    test_migration_v3();
    test_parts();
    char *cmd = fxu_asprintf("rm -rf '%s'", root);
    ok(system(cmd) == 0, "temporary directory removed");
    free(cmd);
    return tap_done();
}
