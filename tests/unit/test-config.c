/* test-config.c - precedence, env mapping, diagnostics, masking. */
#include "config.h"

#include "fx.h"
#include "http.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[] = "/tmp/fx-config-test.XXXXXX";

static char *
write_file(const char *name, const char *text, int mode)
{
    char *path = fxu_asprintf("%s/%s", dir, name);
    FILE *fp = fopen(path, "w");
    fputs(text, fp);
    fclose(fp);
    chmod(path, (mode_t)mode);
    return path;
}

static const flexiai_config_entry *
entry(flexiai_config *cfg, const char *section, const char *key)
{
    const flexiai_config_entry *e;
    size_t n = flexiai_config_entries(cfg, &e);
    for (size_t i = 0; i < n; i++)
        if (strcmp(e[i].section, section) == 0 && strcmp(e[i].key, key) == 0)
            return &e[i];
    return NULL;
}

static int
has_diag(flexiai_config *cfg, const char *needle)
{
    for (size_t i = 0; i < flexiai_config_ndiags(cfg); i++)
        if (strstr(flexiai_config_diag(cfg, i)->text, needle))
            return 1;
    return 0;
}

static void
clear_env(void)
{
    unsetenv("FLEXIAI_CONFIG");
    unsetenv("FLEXIAI_BREAKER_FAILURE_THRESHOLD");
    unsetenv("FLEXIAI_PROVIDER_MY_LOCAL_MODEL");
    unsetenv("FLEXIAI_PROVIDER_OPENAI_API_KEY_ENV");
    unsetenv("FLEXIAI_BREAKER_FAILURE_TRESHOLD");
    unsetenv("OPENAI_API_KEY");
    unsetenv("ANTHROPIC_API_KEY");
    unsetenv("GEMINI_API_KEY");
    unsetenv("GOOGLE_API_KEY");
    unsetenv("OPENAI_BASE_URL");
}

static void
test_precedence(void)
{
    char *sys = write_file("sys.ini",
                           "[breaker]\nfailure_threshold = 3\n"
                           "recovery_timeout = 30\nhalf_open_max_calls = 2\n",
                           0644);
    char *user = write_file("user.ini",
                            "[breaker]\nrecovery_timeout = 40\n"
                            "half_open_max_calls = 3\n",
                            0600);
    setenv("FLEXIAI_BREAKER_FAILURE_THRESHOLD", "9", 1);
    flexiai_config *cfg = flexiai_config_new();
    is_int(flexiai_config_load(cfg, sys, user), 0, "files load");
    flexiai_config_set(cfg, "breaker", "half_open_max_calls", "4");
    is_int(flexiai_config_validate(cfg, 0), 0, "valid");
    const struct fx_settings *s = fx_config_settings(cfg);
    is_int(s->failure_threshold, 9, "env beats the system file");
    ok(s->recovery_timeout == 40, "user file beats the system file");
    is_int(s->half_open_max_calls, 4, "flag beats the user file");
    is_str(entry(cfg, "breaker", "failure_threshold")->origin,
           "env FLEXIAI_BREAKER_FAILURE_THRESHOLD", "origin of env value");
    char *where = fxu_asprintf("%s:3", user);
    is_str(entry(cfg, "breaker", "half_open_max_calls")->origin, "flag",
           "origin of flag value");
    char *line2 = fxu_asprintf("%s:2", user);
    is_str(entry(cfg, "breaker", "recovery_timeout")->origin, line2,
           "origin of file value is FILE:LINE");
    free(line2);
    is_str(entry(cfg, "failover", "retries")->origin, "default",
           "origin of default");
    is_str(entry(cfg, "failover", "retries")->value, "1", "default value");
    free(where);
    flexiai_config_free(cfg);
    unsetenv("FLEXIAI_BREAKER_FAILURE_THRESHOLD");

    /* FLEXIAI_CONFIG replaces the user file */
    setenv("FLEXIAI_CONFIG", user, 1);
    cfg = flexiai_config_new();
    flexiai_config_load(cfg, "/nonexistent/sys.ini", NULL);
    flexiai_config_validate(cfg, 0);
    ok(fx_config_settings(cfg)->recovery_timeout == 40,
       "FLEXIAI_CONFIG names the user file");
    flexiai_config_free(cfg);
    unsetenv("FLEXIAI_CONFIG");
    free(sys);
    free(user);
}

static void
test_env_providers(void)
{
    char *f = write_file("prov.ini",
                         "[provider.my-local]\ntype = openai\nmodel = a\n"
                         "[provider.openai]\ntype = openai\nmodel = b\n",
                         0600);
    setenv("FLEXIAI_PROVIDER_MY_LOCAL_MODEL", "llama3", 1);
    setenv("FLEXIAI_PROVIDER_OPENAI_API_KEY_ENV", "MY_KEY", 1);
    flexiai_config *cfg = flexiai_config_new();
    flexiai_config_load(cfg, "/nonexistent", f);
    is_int(flexiai_config_validate(cfg, 0), 0, "valid with env providers");
    const struct fx_settings *s = fx_config_settings(cfg);
    struct fx_provider *p = fx_settings_provider(s, "my-local");
    ok(p && strcmp(p->model, "llama3") == 0,
       "FLEXIAI_PROVIDER_MY_LOCAL_MODEL reaches [provider.my-local]");
    p = fx_settings_provider(s, "openai");
    ok(p && p->api_key_env && strcmp(p->api_key_env, "MY_KEY") == 0,
       "longest key wins: API_KEY_ENV, not API_KEY");
    flexiai_config_free(cfg);
    unsetenv("FLEXIAI_PROVIDER_MY_LOCAL_MODEL");
    unsetenv("FLEXIAI_PROVIDER_OPENAI_API_KEY_ENV");
    free(f);

    /* no [provider.*]: the standard variables */
    setenv("ANTHROPIC_API_KEY", "sk-ant-secret", 1);
    setenv("OPENAI_API_KEY", "sk-openai-secret", 1);
    cfg = flexiai_config_new();
    flexiai_config_load(cfg, "/nonexistent", "/dev/null");
    is_int(flexiai_config_validate(cfg, 0), 0, "implicit providers valid");
    s = fx_config_settings(cfg);
    is_int(s->nproviders, 2, "two implicit providers");
    is_str(s->providers[0].name, "openai", "openai first");
    is_str(s->providers[1].name, "anthropic", "anthropic second");
    const flexiai_config_entry *e;
    size_t n = flexiai_config_entries(cfg, &e);
    int leaked = 0;
    for (size_t i = 0; i < n; i++)
        if (strstr(e[i].value, "secret"))
            leaked = 1;
    ok(!leaked, "no key value among the shown entries");
    flexiai_config_free(cfg);
    unsetenv("ANTHROPIC_API_KEY");
    unsetenv("OPENAI_API_KEY");
}

static void
test_diagnostics(void)
{
    char *f = write_file("bad.ini",
                         "[breaker]\n"
                         "failure_treshold = 3\n"    /* 2: did you mean */
                         "recovery_timeout = soon\n" /* 3: not a number */
                         "[failover]\n"
                         "failover_on_bad_request = maybe\n" /* 5: boolean */
                         "retries = 1000\n"                  /* 6: range */
                         "[provider.x]\n"                    /* 7: no model */
                         "type = cohere\n" /* 8: unknown type */
                         "[provder.y]\n"   /* 9: unknown section */
                         "model = m\n"
                         "[provider.z]\n"
                         "type = openai\n"
                         "model = m\n"
                         "api_key_cmd = exit 3\n", /* 14: cmd fails */
                         0600);
    flexiai_config *cfg = flexiai_config_new();
    flexiai_config_load(cfg, "/nonexistent", f);
    is_int(flexiai_config_validate(cfg, 1), FLEXIAI_ECONFIG, "exit 78");
    char buf[512];
#define EXPECT(line, want)                                                     \
    do {                                                                       \
        snprintf(buf, sizeof(buf), "%s:%d: ", f, line);                        \
        int found_ = 0;                                                        \
        for (size_t i_ = 0; i_ < flexiai_config_ndiags(cfg); i_++) {           \
            const char *t_ = flexiai_config_diag(cfg, i_)->text;               \
            if (strncmp(t_, buf, strlen(buf)) == 0 && strstr(t_, want))        \
                found_ = 1;                                                    \
        }                                                                      \
        ok(found_, "line %d: %s", line, want);                                 \
    } while (0)
    EXPECT(2, "did you mean 'failure_threshold'");
    EXPECT(3, "'soon' is not a number");
    EXPECT(5, "not a boolean");
    EXPECT(6, "out of range");
    EXPECT(7, "has no model");
    EXPECT(8, "unknown provider type 'cohere'");
    EXPECT(9, "unknown section [provder.y]");
    EXPECT(14, "api_key_cmd failed (exit status 3)");
#undef EXPECT
    flexiai_config_free(cfg);
    free(f);

    setenv("FLEXIAI_BREAKER_FAILURE_TRESHOLD", "3", 1);
    cfg = flexiai_config_new();
    flexiai_config_load(cfg, "/nonexistent", "/dev/null");
    flexiai_config_validate(cfg, 0);
    ok(has_diag(cfg, "env FLEXIAI_BREAKER_FAILURE_TRESHOLD: unknown key") &&
           has_diag(cfg, "FLEXIAI_BREAKER_FAILURE_THRESHOLD?"),
       "a misspelt env variable gets a suggestion");
    flexiai_config_free(cfg);
    unsetenv("FLEXIAI_BREAKER_FAILURE_TRESHOLD");

    cfg = flexiai_config_new();
    ok(flexiai_config_load(cfg, "/nonexistent", "/nonexistent/x.ini") ==
           FLEXIAI_ECONFIG,
       "a missing -c file is an error");
    flexiai_config_free(cfg);
}

static void
test_secrets(void)
{
    char *f =
        write_file("sec.ini",
                   "[sync]\nredis_url = redis://alice:hunter2@10.0.0.1:6380/2\n"
                   "[provider.p]\ntype = anthropic\nmodel = m\n"
                   "api_key = sk-very-secret\n",
                   0644);
    flexiai_config *cfg = flexiai_config_new();
    flexiai_config_load(cfg, "/nonexistent", f);
    is_int(flexiai_config_validate(cfg, 0), 0, "valid with a warning only");
    ok(has_diag(cfg, "readable by group or others"),
       "api_key in a 0644 file warns");
    const struct fx_settings *s = fx_config_settings(cfg);
    is_str(s->sync.redis_host, "10.0.0.1", "redis_url host");
    is_int(s->sync.redis_port, 6380, "redis_url port");
    is_int(s->sync.redis_db, 2, "redis_url db");
    is_str(s->sync.redis_username, "alice", "redis_url user");
    is_str(s->sync.redis_password, "hunter2", "redis_url password");
    is_str(entry(cfg, "sync", "redis_url")->value,
           "redis://alice:****@10.0.0.1:6380/2", "redis_url masked");
    is_str(entry(cfg, "provider.p", "api_key")->value, "****",
           "api_key masked");
    const char *key;
    char *err = NULL;
    ok(fx_provider_key(fx_settings_provider(s, "p"), &key, &err) == 0 &&
           strcmp(key, "sk-very-secret") == 0,
       "api_key resolves");
    for (size_t i = 0; i < flexiai_config_ndiags(cfg); i++)
        ok(strstr(flexiai_config_diag(cfg, i)->text, "sk-very") == NULL,
           "diagnostic %zu shows no key", i);
    flexiai_config_free(cfg);
    free(f);

    f = write_file("cmd.ini",
                   "[provider.p]\ntype = openai\nmodel = m\n"
                   "api_key_cmd = printf 'from-cmd\\nsecond\\n'\n"
                   "[provider.q]\ntype = openai\nmodel = m\n"
                   "api_key_cmd = echo leaked-key; exit 1\n",
                   0600);
    cfg = flexiai_config_new();
    flexiai_config_load(cfg, "/nonexistent", f);
    flexiai_config_validate(cfg, 0);
    s = fx_config_settings(cfg);
    ok(fx_provider_key(fx_settings_provider(s, "p"), &key, &err) == 0 &&
           strcmp(key, "from-cmd") == 0,
       "api_key_cmd: first line of stdout");
    ok(fx_provider_key(fx_settings_provider(s, "q"), &key, &err) != 0 &&
           strstr(err, "provider 'q'") && strstr(err, "leaked") == NULL,
       "failing api_key_cmd names the provider, not its output");
    free(err);
    flexiai_config_free(cfg);
    free(f);

    f = write_file("url.ini", "[sync]\nredis_url = http://x:pw@h\n", 0600);
    cfg = flexiai_config_new();
    flexiai_config_load(cfg, "/nonexistent", f);
    is_int(flexiai_config_validate(cfg, 0), FLEXIAI_ECONFIG,
           "bad redis_url scheme is an error");
    ok(has_diag(cfg, "redis_url: malformed") && !has_diag(cfg, "pw@"),
       "the error does not echo the URL");
    flexiai_config_free(cfg);
    free(f);
}

static void
test_order(void)
{
    char *f =
        write_file("order.ini",
                   "[failover]\norder = c\n"
                   "[provider.a]\ntype = openai\nmodel = m\n"
                   "[provider.b]\ntype = openai\nmodel = m\npriority = 1\n"
                   "[provider.c]\ntype = openai\nmodel = m\n",
                   0600);
    flexiai_config *cfg = flexiai_config_new();
    flexiai_config_load(cfg, "/nonexistent", f);
    is_int(flexiai_config_validate(cfg, 0), 0, "order config valid");
    const char *const *names;
    size_t n = flexiai_config_providers(cfg, &names);
    ok(n == 3 && strcmp(names[0], "c") == 0 && strcmp(names[1], "b") == 0 &&
           strcmp(names[2], "a") == 0,
       "order first, then priority, then file order");
    flexiai_config_free(cfg);
    free(f);
}

/* Providers described by their ops tables: zero-config, key variables,
 * required settings. */
static void
test_provider_tables(void)
{
    setenv("OPENAI_API_KEY", "sk-o", 1);
    setenv("ANTHROPIC_API_KEY", "sk-a", 1);
    setenv("GEMINI_API_KEY", "g-1", 1);
    setenv("GOOGLE_API_KEY", "g-2", 1);
    setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1", 1);
    setenv("XDG_CONFIG_HOME", dir, 1); /* no user file: zero-config */
    flexiai_config *cfg = flexiai_config_new();
    flexiai_config_load(cfg, "/nonexistent/sys.ini", NULL);
    is_int(flexiai_config_validate(cfg, 0), 0, "zero-config is valid");
    const char *const *names;
    size_t n = flexiai_config_providers(cfg, &names);
    ok(n == 3 && strcmp(names[0], "openai") == 0 &&
           strcmp(names[1], "anthropic") == 0 &&
           strcmp(names[2], "gemini") == 0,
       "zero-config: openai, anthropic, gemini, in table order");
    const struct fx_settings *s = fx_config_settings(cfg);
    const struct fx_provider *p = fx_settings_provider(s, "gemini");
    ok(p && strcmp(p->model, "gemini-3.5-flash-lite") == 0 &&
           strcmp(p->api_key_env, "GEMINI_API_KEY") == 0 &&
           p->ops == &fx_provider_gemini,
       "gemini: default model, GEMINI_API_KEY preferred, ops set");
    is_str(entry(cfg, "provider.gemini", "type")->origin, "env GEMINI_API_KEY",
           "origin names the variable");
    p = fx_settings_provider(s, "openai");
    ok(p && p->base_url && strcmp(p->base_url, "http://127.0.0.1:9/v1") == 0,
       "OPENAI_BASE_URL reaches the zero-config openai provider");
    is_str(entry(cfg, "provider.openai", "base_url")->origin,
           "env OPENAI_BASE_URL", "...with its origin");
    flexiai_config_free(cfg);
    unsetenv("GEMINI_API_KEY");
    unsetenv("OPENAI_API_KEY");
    unsetenv("ANTHROPIC_API_KEY");
    unsetenv("OPENAI_BASE_URL");

    cfg = flexiai_config_new();
    flexiai_config_load(cfg, "/nonexistent/sys.ini", NULL);
    flexiai_config_validate(cfg, 0);
    p = fx_settings_provider(fx_config_settings(cfg), "gemini");
    ok(p && strcmp(p->api_key_env, "GOOGLE_API_KEY") == 0,
       "GOOGLE_API_KEY alone makes the gemini provider");
    flexiai_config_free(cfg);
    unsetenv("GOOGLE_API_KEY");
    unsetenv("XDG_CONFIG_HOME");

    char *f = write_file("types.ini",
                         "[provider.g]\ntype = gemini\nmodel = m\n"
                         "[provider.v]\ntype = vertex\nmodel = m\n"
                         "[provider.local]\ntype = openai\nmodel = m\n",
                         0600);
    cfg = flexiai_config_new();
    flexiai_config_load(cfg, "/nonexistent/sys.ini", f);
    is_int(flexiai_config_validate(cfg, 0), FLEXIAI_ECONFIG,
           "vertex without project is an error");
    ok(has_diag(cfg, "[provider.v] vertex needs project"),
       "...that says what is missing");
    s = fx_config_settings(cfg);
    const char *key = NULL;
    char *err = NULL;
    ok(fx_provider_key(fx_settings_provider(s, "g"), &key, &err) != 0 && err &&
           strstr(err, "set GOOGLE_API_KEY"),
       "gemini without a key names GOOGLE_API_KEY");
    free(err);
    err = NULL;
    ok(fx_provider_key(fx_settings_provider(s, "local"), &key, &err) == 0 &&
           key == NULL,
       "openai works without a key");
    free(err);
    flexiai_config_free(cfg);
    free(f);
}

/* In a child, resolve a key from the file; the child's exit status is
 * PR_GET_DUMPABLE afterwards. */
static int
dumpable_after_key(const char *path)
{
    pid_t pid = fork();
    if (pid == 0) {
        flexiai_config *cfg = flexiai_config_new();
        flexiai_config_load(cfg, "/nonexistent", path);
        flexiai_config_validate(cfg, 1);
        int d = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
        flexiai_config_free(cfg);
        _exit(d);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* Runs first: dumpable state is inherited, and the other tests read keys. */
static void
test_dumpable(void)
{
    char *f = write_file("dump.ini",
                         "[provider.p]\ntype = anthropic\nmodel = m\n"
                         "api_key = sk-core\n",
                         0600);
    is_int(prctl(PR_GET_DUMPABLE, 0, 0, 0, 0), 1, "dumpable before any key");
    setenv("FLEXIAI_ALLOW_CORE", "1", 1);
    is_int(dumpable_after_key(f), 1, "FLEXIAI_ALLOW_CORE=1 keeps core dumps");
    unsetenv("FLEXIAI_ALLOW_CORE");
    is_int(dumpable_after_key(f), 0, "a process holding a key is not dumpable");
    free(f);
}

int
main(void)
{
    if (mkdtemp(dir) == NULL)
        return 1;
    clear_env();
    test_dumpable();
    test_precedence();
    test_env_providers();
    test_diagnostics();
    test_secrets();
    test_order();
    test_provider_tables();
    char *cmd = fxu_asprintf("rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "cleanup failed\n");
    free(cmd);
    return tap_done();
}
