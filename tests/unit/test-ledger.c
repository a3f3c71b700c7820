/* test-ledger.c - the request ledger on real SQLite files in a temporary
 * directory: creation and modes, records in and out, filters, full-text
 * search, mode usage, pruning, conversations and migration from schema
 * version 1.  Usage totals and Prometheus: test-ledger-usage.c; bad files
 * and many writers: test-ledger-faults.c. */
#include "config.h"

#include "ledger-fixture.h"

#include <cjson/cJSON.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- tests --------------------------------------------------------- */

static void
test_path(void)
{
    setenv("XDG_DATA_HOME", "/x/data", 1);
    setenv("HOME", "/home/u", 1);
    char *p = fx_ledger_path(NULL, NULL);
    is_str(p, "/x/data/flexiai/logs.db", "path from XDG_DATA_HOME");
    free(p);
    p = fx_ledger_path("/srv/l.db", NULL);
    is_str(p, "/srv/l.db", "[log] path wins");
    free(p);
    setenv("XDG_DATA_HOME", "relative", 1);
    p = fx_ledger_path("", NULL);
    is_str(p, "/home/u/.local/share/flexiai/logs.db",
           "relative XDG_DATA_HOME ignored: HOME/.local/share");
    free(p);
    unsetenv("XDG_DATA_HOME");
    unsetenv("HOME");
    char *err = NULL;
    ok(fx_ledger_path(NULL, &err) == NULL && err && strstr(err, "HOME"),
       "no HOME: NULL and a reason (%s)", err ? err : "");
    free(err);
    is_int(fx_ledger_mode_from_name("usage"), FX_LEDGER_USAGE, "mode usage");
    is_int(fx_ledger_mode_from_name("loud"), -1, "unknown mode");
}

static void
test_create(void)
{
    char *path = fxu_asprintf("%s/new/share/flexiai/logs.db", root);
    char *dir = fxu_asprintf("%s/new/share/flexiai", root);
    char *err = NULL;
    ok(fx_ledger_open(path, FX_LEDGER_READ, &err) == NULL && err &&
           strstr(err, "no log database"),
       "reading a missing ledger: error (%s)", err ? err : "");
    free(err);
    mode_t old = umask(022);
    fx_ledger *l = fx_ledger_open(path, FX_LEDGER_WRITE, &err);
    umask(old);
    ok(l != NULL, "created with its directories");
    is_int(file_mode(dir), 0700, "directory 0700");
    is_int(file_mode(path), 0600, "file 0600");
    is_int(fx_ledger_schema_version(l), FX_LEDGER_SCHEMA, "schema version");
    ok(log_one(l, 0, T0, NULL, NULL, "hi", "hello", "a", 0, 0, 1, 1) > 0,
       "first record");
    char *wal = fxu_asprintf("%s-wal", path);
    is_int(file_mode(wal), 0600, "WAL file 0600 too");
    sqlite3 *db = fx_ledger_db(l);
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL);
    sqlite3_step(st);
    is_str((const char *)sqlite3_column_text(st, 0), "wal", "WAL mode");
    sqlite3_finalize(st);
    fx_ledger_close(l);
    l = fx_ledger_open(path, FX_LEDGER_READ, &err);
    ok(l != NULL, "opened again for reading");
    fx_ledger_close(l);
    free(wal);
    free(dir);
    free(path);
}

static void
test_round_trip(void)
{
    fx_ledger *l = open_at("trip.db", FX_LEDGER_WRITE);
    int64_t id = log_one(l, 0, T0 + 0.25, "nightly", "c1", "Why is the sky?",
                         "Rayleigh.\nScattering.", "openai,claude", 0,
                         FLEXIAI_E_TIMEOUT, 11, 22);
    ok(id > 0, "inserted, id %lld", (long long)id);
    struct fx_ledger_record r;
    is_int(fx_ledger_get(l, id, &r), 0, "read back by id");
    is_str(r.command, "complete", "command");
    is_str(r.tag, "nightly", "tag");
    is_str(r.conversation_id, "c1", "conversation id");
    is_str(r.provider, "claude", "provider that answered");
    is_str(r.first_provider, "openai", "first provider tried");
    is_str(r.system, "Be brief.", "system prompt taken from the messages");
    ok(r.nmessages == 1 && strcmp(r.messages[0].role, "user") == 0 &&
           strcmp(r.messages[0].content, "Why is the sky?") == 0,
       "messages without the system one");
    is_str(r.text, "Rayleigh.\nScattering.", "answer");
    ok(r.has_usage && r.prompt_tokens == 11 && r.completion_tokens == 22,
       "usage");
    is_int(r.nattempts, 2, "two attempts");
    is_str(r.attempts[0].error_class, "timeout", "attempt 1 class");
    is_int(r.attempts[1].http_status, 200, "attempt 2 status");
    char *json = fx_ledger_record_json(&r);
    cJSON *o = cJSON_Parse(json);
    ok(o && !strchr(json, '\n'), "one JSON line");
    const char *keys[] = {"id",
                          "time",
                          "command",
                          "tag",
                          "conversation_id",
                          "provider",
                          "model",
                          "system",
                          "messages",
                          "text",
                          "finish_reason",
                          "usage",
                          "latency_ms",
                          "exit_code",
                          "attempts"};
    int have = 0;
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        have += cJSON_HasObjectItem(o, keys[i]);
    is_int(have, 15, "every documented key present");
    is_str(cJSON_GetStringValue(cJSON_GetObjectItem(o, "time")),
           "2026-09-21T14:13:20.250Z", "time in ISO 8601 UTC");
    cJSON *a0 = cJSON_GetArrayItem(cJSON_GetObjectItem(o, "attempts"), 0);
    is_str(cJSON_GetStringValue(cJSON_GetObjectItem(a0, "name")), "openai",
           "attempt shape of complete --json: name");
    ok(cJSON_IsNull(cJSON_GetObjectItem(a0, "http_status")) &&
           cJSON_IsBool(cJSON_GetObjectItem(a0, "probe")),
       "attempt shape: http_status null, probe boolean");
    is_int(cJSON_GetObjectItem(cJSON_GetObjectItem(o, "usage"), "total_tokens")
               ->valueint,
           33, "usage.total_tokens");
    cJSON_Delete(o);
    free(json);
    char *text = fx_ledger_record_text(&r, 1);
    ok(strstr(text, "failover from openai") &&
           strstr(text, "attempt 1: openai m-1 error timeout") &&
           strstr(text, "  > Why is the sky?\n") &&
           strstr(text, "  Rayleigh.\n  Scattering.\n"),
       "readable text: failover, attempts, prompt, answer");
    free(text);
    fx_ledger_record_free(&r);
    is_int(fx_ledger_get(l, 999, &r), 1, "no such id: 1");
    fx_ledger_close(l);
}

static void
test_filters(void)
{
    fx_ledger *l = open_at("filters.db", FX_LEDGER_WRITE);
    /* ids 1..6 */
    log_one(l, 0, T0, "a", NULL, "disk full on web1", "rotate the logs", "p1",
            0, 0, 1, 1);
    log_one(l, 0, T0 + 60, "b", NULL, "penguins", "they swim", "p2", 0, 0, 1,
            1);
    log_one(l, 0, T0 + 120, "a", NULL, "disk usage?", NULL, "p1,p2", 75,
            FLEXIAI_E_RATE_LIMIT, 0, 0);
    log_one(l, 0, T0 + DAY, NULL, NULL, "foo-bar: \"quoted\" OR", "x", "p2", 0,
            0, 1, 1);
    log_one(l, 0, T0 + DAY + 1, "a", NULL, "café", "naïve answer", "p1", 0, 0,
            1, 1);
    log_one(l, 0, T0 + DAY + 2, "b", NULL, "nothing", "disk answer", "p1", 0, 0,
            1, 1);
    struct fx_ledger_filter f = {0};
    is_str(ids(l, &f), "1,2,3,4,5,6", "all, oldest first");
    f.limit = 3;
    is_str(ids(l, &f), "4,5,6", "latest 3");
    f.limit = 0;
    f.provider = "p1";
    is_str(ids(l, &f), "1,5,6", "--provider (the one that answered)");
    f.provider = NULL;
    f.tag = "a";
    is_str(ids(l, &f), "1,3,5", "--tag");
    f.tag = NULL;
    f.failed = 1;
    is_str(ids(l, &f), "3", "--failed");
    f.failed = 0;
    f.since = T0 + 60;
    f.until = T0 + DAY + 1;
    is_str(ids(l, &f), "2,3,4", "--since (inclusive) --until (exclusive)");
    f.since = f.until = 0;
    f.model = "m-1";
    f.tag = "b";
    is_str(ids(l, &f), "2,6", "--model and --tag together");
    memset(&f, 0, sizeof(f));
    f.words = "disk";
    is_str(ids(l, &f), "1,3,6", "search: prompt or answer");
    f.words = "disk logs";
    is_str(ids(l, &f), "1", "search: every word");
    f.words = "DISK";
    is_str(ids(l, &f), "1,3,6", "search ignores case");
    f.words = "pengu*";
    is_str(ids(l, &f), "2", "search: prefix");
    f.words = "cafe naive";
    is_str(ids(l, &f), "5", "search ignores accents");
    f.words = "foo-bar: \"quoted\" OR";
    is_str(ids(l, &f), "4", "search: punctuation is not query syntax");
    f.words = "disk";
    f.limit = 2;
    is_str(ids(l, &f), "3,6", "search: latest 2");
    f.provider = "p1";
    is_str(ids(l, &f), "1,6", "search with --provider");
    f.limit = 0;
    f.provider = NULL;
    f.words = "absent";
    is_str(ids(l, &f), "", "search: no match");
    f.words = "  ";
    is_int(fx_ledger_each(l, &f, collect, NULL), -1, "blank search: error");
    fx_ledger_close(l);
}

static void
test_mode_usage(void)
{
    fx_ledger *l = open_at("usage-mode.db", FX_LEDGER_WRITE);
    int64_t id = log_one(l, FX_LEDGER_USAGE, T0, "t", "c9", "secretprompt",
                         "secretanswer", "p1", 0, 0, 5, 6);
    struct fx_ledger_record r;
    fx_ledger_get(l, id, &r);
    ok(r.text == NULL && r.system == NULL && !r.has_messages,
       "mode usage: no text, system or messages");
    ok(r.has_usage && r.completion_tokens == 6 && r.nattempts == 1 &&
           strcmp(r.provider, "p1") == 0 && strcmp(r.tag, "t") == 0,
       "mode usage: usage, provider, tag and attempts kept");
    char *json = fx_ledger_record_json(&r);
    ok(strstr(json, "\"text\":null") && strstr(json, "\"messages\":null"),
       "mode usage JSON: text and messages null");
    free(json);
    char *text = fx_ledger_record_text(&r, 0);
    ok(strstr(text, "(text not kept)") != NULL, "mode usage text says so");
    free(text);
    fx_ledger_record_free(&r);
    struct fx_ledger_filter f = {0};
    f.words = "secretprompt";
    is_str(ids(l, &f), "", "mode usage: not searchable");
    struct fx_ledger_message *m;
    size_t n;
    char *sys;
    is_int(fx_ledger_conversation(l, "c9", &m, &n, &sys), -1,
           "mode usage: conversation cannot continue");
    ok(strstr(fx_ledger_error(l), "not kept") != NULL, "and says why");
    fx_ledger_close(l);
    char *path = fxu_asprintf("%s/usage-mode.db", root);
    char *wal = fxu_asprintf("%s-wal", path);
    ok(!file_has(path, "secretprompt") && !file_has(wal, "secretprompt") &&
           !file_has(path, "secretanswer") && !file_has(wal, "secretanswer"),
       "mode usage: prompt and answer nowhere in the files");
    free(wal);
    free(path);
}

static void
test_prune(void)
{
    fx_ledger *l = open_at("prune.db", FX_LEDGER_WRITE);
    for (int i = 0; i < 10; i++)
        log_one(l, 0, T0 - (10 - i) * DAY, NULL, NULL, "old question",
                "old answer", "p1,p2", 0, FLEXIAI_E_SERVER, 1, 1);
    is_int(fx_ledger_prune(l, T0 - 5 * DAY), 5, "prune --before: 5 deleted");
    struct fx_ledger_filter f = {0};
    f.words = "old";
    is_str(ids(l, &f), "6,7,8,9,10", "search index follows the prune");
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(fx_ledger_db(l), "SELECT count(*) FROM attempts", -1,
                       &st, NULL);
    sqlite3_step(st);
    is_int(sqlite3_column_int(st, 0), 10, "their attempts went with them");
    sqlite3_finalize(st);
    is_int(fx_ledger_autoprune(l, 2 * DAY, T0), 3, "keep = 2d: 3 more deleted");
    log_one(l, 0, T0 - 9 * DAY, NULL, NULL, "q", "a", "p1", 0, 0, 1, 1);
    is_int(fx_ledger_autoprune(l, 2 * DAY, T0 + 3600), 0,
           "not again the same day");
    is_int(fx_ledger_autoprune(l, 2 * DAY, T0 + DAY), 2, "again a day later");
    is_int(fx_ledger_autoprune(l, 0, T0 + 9 * DAY), 0, "keep 0: never");
    fx_ledger_close(l);
}

static void
test_conversations(void)
{
    char *a = fx_ledger_new_cid(), *b = fx_ledger_new_cid();
    ok(strlen(a) == 16 && strspn(a, "0123456789abcdef") == 16 &&
           strcmp(a, b) != 0,
       "conversation ids: 16 hex digits, distinct (%s)", a);
    free(a);
    free(b);
    fx_ledger *l = open_at("conv.db", FX_LEDGER_WRITE);
    char *cid = NULL;
    is_int(fx_ledger_latest_cid(l, NULL, &cid), 1, "no conversation yet");
    flexiai_result r;
    memset(&r, 0, sizeof(r));
    r.text = "Paris.";
    struct fx_ledger_meta meta = {T0, "chat", NULL, "k1", "Be brief.", 0};
    flexiai_message turn1[] = {
        {.role = "user", .content = "Capital of France?"}};
    struct fx_ledger_record rec;
    fx_ledger_record_from_result(&rec, &r, turn1, 1, &meta);
    fx_ledger_insert(l, &rec, FX_LEDGER_FULL);
    fx_ledger_record_free(&rec);
    log_one(l, 0, T0 + 1, NULL, "other", "unrelated", "x", "p1", 0, 0, 1, 1);
    flexiai_message turn2[] = {
        {.role = "user", .content = "Capital of France?"},
        {.role = "assistant", .content = "Paris."},
        {.role = "user", .content = "And of Spain?"}};
    r.text = "Madrid.";
    meta.time = T0 + 2;
    fx_ledger_record_from_result(&rec, &r, turn2, 3, &meta);
    fx_ledger_insert(l, &rec, FX_LEDGER_FULL);
    fx_ledger_record_free(&rec);
    /* a failed third turn is not what gets continued */
    flexiai_message turn3[] = {
        {.role = "user", .content = "Capital of France?"},
        {.role = "assistant", .content = "Paris."},
        {.role = "user", .content = "And of Spain?"},
        {.role = "assistant", .content = "Madrid."},
        {.role = "user", .content = "And of Mars?"}};
    r.text = NULL;
    meta.time = T0 + 3;
    meta.exit_code = 75;
    fx_ledger_record_from_result(&rec, &r, turn3, 5, &meta);
    fx_ledger_insert(l, &rec, FX_LEDGER_FULL);
    fx_ledger_record_free(&rec);

    is_int(fx_ledger_latest_cid(l, NULL, &cid), 0, "latest conversation");
    is_str(cid, "k1", "is the chat's");
    free(cid);
    is_int(fx_ledger_latest_cid(l, "complete", &cid), 0, "latest of complete");
    is_str(cid, "other", "is the complete's");
    free(cid);
    struct fx_ledger_message *m;
    size_t n;
    char *sys;
    is_int(fx_ledger_conversation(l, "k1", &m, &n, &sys), 0, "continue k1");
    is_int(n, 4, "three messages of the last answered turn and its answer");
    ok(n == 4 && strcmp(m[2].content, "And of Spain?") == 0 &&
           strcmp(m[3].role, "assistant") == 0 &&
           strcmp(m[3].content, "Madrid.") == 0,
       "ends with the last answer");
    is_str(sys, "Be brief.", "system prompt kept");
    fx_ledger_messages_free(m, n);
    free(sys);
    is_int(fx_ledger_conversation(l, "nope", &m, &n, &sys), 1,
           "unknown conversation: 1");
    struct fx_ledger_filter f = {0};
    f.conversation_id = "k1";
    is_str(ids(l, &f), "1,3,4", "logs --cid: the whole conversation");
    f.words = "Spain";
    is_str(ids(l, &f), "3", "search sees a turn's own question only");
    fx_ledger_close(l);
}

static void
test_migration(void)
{
    char *sql_path =
        fxu_asprintf("%s/tests/unit/ledger-v1.sql",
                     getenv("FX_TEST_SRCDIR") ? getenv("FX_TEST_SRCDIR") : ".");
    FILE *fp = fopen(sql_path, "r");
    ok(fp != NULL, "version 1 fixture %s", sql_path);
    free(sql_path);
    if (fp == NULL)
        return;
    char sql[4096];
    size_t len = fread(sql, 1, sizeof(sql) - 1, fp);
    sql[len] = '\0';
    fclose(fp);
    char *path = fxu_asprintf("%s/v1.db", root);
    sqlite3 *db = NULL;
    sqlite3_open(path, &db);
    is_int(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK,
           "version 1 database made");
    sqlite3_close(db);
    fx_ledger *l = open_at("v1.db", FX_LEDGER_WRITE);
    ok(l != NULL, "opened for writing");
    is_int(fx_ledger_schema_version(l), FX_LEDGER_SCHEMA, "migrated forward");
    sqlite3_stmt *st = NULL;
    sqlite3_prepare_v2(fx_ledger_db(l), "PRAGMA journal_mode", -1, &st, NULL);
    sqlite3_step(st);
    is_str((const char *)sqlite3_column_text(st, 0), "wal", "in WAL mode now");
    sqlite3_finalize(st);
    struct fx_ledger_record r;
    is_int(fx_ledger_get(l, 1, &r), 0, "old record 1");
    ok(r.has_messages && r.nmessages == 1 &&
           strcmp(r.messages[0].content, "Why is the disk full?") == 0,
       "its prompt became a user message");
    is_str(r.text, "Old logs fill /var.", "its answer kept");
    is_str(r.first_provider, "openai", "first provider: the answering one");
    fx_ledger_record_free(&r);
    struct fx_ledger_filter f = {0};
    f.words = "disk";
    is_str(ids(l, &f), "1", "old records are searchable");
    f.words = NULL;
    f.failed = 1;
    is_str(ids(l, &f), "2", "old failure found by --failed");
    is_int(log_one(l, 0, T0 + 9, "t", "c", "new disk question", "a", "p1", 0, 0,
                   1, 1),
           4, "a new record after the old ones");
    f.failed = 0;
    f.words = "disk";
    is_str(ids(l, &f), "1,4", "new and old searchable together");
    fx_ledger_close(l);
    l = open_at("v1.db", FX_LEDGER_WRITE);
    is_int(fx_ledger_schema_version(l), FX_LEDGER_SCHEMA,
           "opening again leaves it as it is");
    fx_ledger_close(l);
    sqlite3_open(path, &db);
    sqlite3_exec(db, "PRAGMA user_version = 99", NULL, NULL, NULL);
    sqlite3_close(db);
    char *err = NULL;
    ok(fx_ledger_open(path, FX_LEDGER_READ, &err) == NULL && err &&
           strstr(err, "newer"),
       "a newer schema: error (%s)", err ? err : "");
    free(err);
    free(path);
}

static void
test_times(void)
{
    double t = 0;
    setenv("TZ", "UTC", 1);
    tzset();
    ok(fx_ledger_parse_when("2026-09-21", T0, &t) == 0 && t == 1789948800,
       "a date: local midnight");
    ok(fx_ledger_parse_when("2026-09-21 14:13:20", T0, &t) == 0 && t == T0,
       "date and time");
    ok(fx_ledger_parse_when("2026-09-21T14:13", T0, &t) == 0 && t == T0 - 20,
       "date T hours:minutes");
    setenv("TZ", "EST5", 1);
    tzset();
    ok(fx_ledger_parse_when("2026-09-21", T0, &t) == 0 &&
           t == 1789948800 + 5 * 3600,
       "local time is the TZ's");
    ok(fx_ledger_parse_when("2026-09-21T14:13:20Z", T0, &t) == 0 && t == T0,
       "Z: UTC whatever the TZ");
    unsetenv("TZ");
    tzset();
    ok(fx_ledger_parse_when("2h", T0, &t) == 0 && t == T0 - 7200,
       "2h: two hours ago");
    ok(fx_ledger_parse_when("1w", T0, &t) == 0 && t == T0 - 7 * DAY,
       "1w: a week ago");
    ok(fx_ledger_parse_when("1h30m", T0, &t) == 0 && t == T0 - 5400, "1h30m");
    ok(fx_ledger_parse_when("@1790000000", 0, &t) == 0 && t == T0, "@EPOCH");
    const char *bad[] = {"2026",        "yesterday", "2026-13-01", "2026-1-1",
                         "2026-09-21x", "2h later",  "",           "-2h"};
    int rejected = 0;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        rejected += fx_ledger_parse_when(bad[i], T0, &t) < 0;
    is_int(rejected, 8, "malformed times rejected (a bare number too)");
    ok(fx_ledger_parse_keep("90d", &t) == 0 && t == 90 * DAY, "keep = 90d");
    ok(fx_ledger_parse_keep("90", &t) < 0, "keep = 90: a unit is needed");
}

/* The one call a one-shot command makes. */
static void
test_append(void)
{
    flexiai_result r;
    memset(&r, 0, sizeof(r));
    r.text = "an answer";
    flexiai_message msg = {.role = "user", .content = "a question"};
    struct fx_ledger_meta meta = {0, "complete", NULL, NULL, NULL, 0};
    struct fx_ledger_record rec;
    fx_ledger_record_from_result(&rec, &r, &msg, 1, &meta);
    char *path = fxu_asprintf("%s/append/logs.db", root);
    char *err = NULL;
    is_int(fx_ledger_append(path, &rec, FX_LEDGER_OFF, 0, &err), 0,
           "mode off: nothing to do");
    ok(access(path, F_OK) < 0, "mode off: no file made");
    is_int(fx_ledger_append(path, &rec, FX_LEDGER_FULL, 90 * DAY, &err), 0,
           "append: created and written");
    ok(rec.id == 1 && err == NULL, "append: id 1, no error");
    char *bad = fxu_asprintf("%s/append/logs.db/below-a-file.db", root);
    is_int(fx_ledger_append(bad, &rec, FX_LEDGER_FULL, 0, &err), -1,
           "append below a file: -1");
    ok(err && strstr(err, "Not a directory"), "and a reason (%s)",
       err ? err : "");
    free(err);
    free(bad);
    free(path);
    fx_ledger_record_free(&rec);
}

int
main(void)
{
    if (mkdtemp(root) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    test_path();
    test_create();
    test_round_trip();
    test_filters();
    test_mode_usage();
    test_prune();
    test_conversations();
    test_migration();
    test_times();
    test_append();
    char *cmd = fxu_asprintf("rm -rf '%s'", root);
    ok(system(cmd) == 0, "temporary directory removed");
    free(cmd);
    return tap_done();
}
