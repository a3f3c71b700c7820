/* test-engine.c - the request engine (lib/engine.c) through the public
 * flexiai_batch_* calls against mockllm: many requests at once, all in
 * flight together, per-request failover and overrides, cancellation, and
 * flexiai_complete() as the one-request case on the same client. */
#include "config.h"

#include "fx.h"
#include "http.h"

#include "tap.h"

#include <curl/curl.h>
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[] = "/tmp/fx-engine-XXXXXX";
static pid_t mock_pid;
static int mock_port;

static void
start_mock(void)
{
    const char *b = getenv("FX_TEST_BUILDDIR");
    char *mock = fxu_asprintf("%s/tests/mockllm/mockllm", b ? b : ".");
    char *portfile = fxu_asprintf("%s/port", dir);
    mock_pid = fork();
    if (mock_pid == 0) {
        /* it prints its port on stdout: keep that out of the TAP stream */
        if (freopen("/dev/null", "w", stdout) == NULL)
            _exit(127);
        execl(mock, mock, "--quiet", "--port-file", portfile, "--script",
              "slow=wait_ms=300", "--script", "fail=status=503", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 250 && mock_port == 0; i++) {
        FILE *fp = fopen(portfile, "r");
        if (fp) {
            if (fscanf(fp, "%d", &mock_port) != 1)
                mock_port = 0;
            fclose(fp);
        }
        if (mock_port == 0)
            usleep(20000);
    }
    if (mock_port == 0) {
        printf("Bail out! mockllm did not start (%s)\n", mock);
        exit(1);
    }
    free(mock);
    free(portfile);
}

static size_t
collect(void *p, size_t size, size_t n, void *ud)
{
    fxu_buf_append(ud, p, size * n);
    return size * n;
}

/* GET /_control/log/ROUTE: the log as text */
static char *
mock_log(const char *route)
{
    fxu_buf b;
    fxu_buf_init(&b);
    char *url =
        fxu_asprintf("http://127.0.0.1:%d/_control/log/%s", mock_port, route);
    CURL *e = curl_easy_init();
    curl_easy_setopt(e, CURLOPT_URL, url);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, &b);
    curl_easy_perform(e);
    curl_easy_cleanup(e);
    free(url);
    return fxu_buf_steal(&b);
}

static long
mock_count(const char *route)
{
    char *log = mock_log(route);
    const char *c = strstr(log, "\"count\":");
    long n = c ? atol(c + 8) : -1;
    free(log);
    return n;
}

static flexiai_client *
make_client(flexiai_config **cfgp)
{
    char *path = fxu_asprintf("%s/config.ini", dir);
    FILE *fp = fopen(path, "w");
    fprintf(fp, "[failover]\nretries = 0\n\n[breaker]\nfailure_threshold = "
                "1000000\n\n");
    const char *names[] = {"fail", "fast", "slow"};
    for (int i = 0; i < 3; i++)
        fprintf(fp,
                "[provider.%s]\ntype = openai\nmodel = m-%s\n"
                "base_url = http://127.0.0.1:%d/p/%s/v1\napi_key = k\n\n",
                names[i], names[i], mock_port, names[i]);
    fclose(fp);
    flexiai_config *cfg = flexiai_config_new();
    flexiai_config_load(cfg, "/nonexistent", path);
    if (flexiai_config_validate(cfg, 0) != FLEXIAI_OK) {
        printf("Bail out! configuration\n");
        exit(1);
    }
    free(path);
    *cfgp = cfg;
    flexiai_client *c = NULL;
    if (flexiai_client_new(cfg, &c, NULL) != FLEXIAI_OK) {
        printf("Bail out! client\n");
        exit(1);
    }
    return c;
}

/* A request for one user message, everything else as configured. */
static void
request(flexiai_request *req, const flexiai_message *m)
{
    flexiai_request_init(req);
    req->messages = m;
    req->nmessages = 1;
}

static void
test_many(flexiai_client *c)
{
    flexiai_batch *b = flexiai_batch_new(c);
    char prompt[32];
    for (intptr_t i = 0; i < 100; i++) {
        snprintf(prompt, sizeof(prompt), "item %ld", (long)i);
        flexiai_message m = {.role = "user", .content = prompt};
        flexiai_request req;
        request(&req, &m);
        flexiai_batch_submit(b, &req, (void *)i);
    }
    is_int((long)flexiai_batch_pending(b), 100, "100 submitted, 100 pending");
    int seen[100] = {0}, good = 0, fast = 0;
    while (flexiai_batch_pending(b) > 0) {
        flexiai_batch_run(b, -1);
        flexiai_result res;
        flexiai_code code;
        void *tag;
        flexiai_result_init(&res);
        while (flexiai_batch_next(b, &res, &code, &tag)) {
            intptr_t i = (intptr_t)tag;
            snprintf(prompt, sizeof(prompt), "item %ld", (long)i);
            if (i >= 0 && i < 100 && !seen[i] && code == 0 && res.text &&
                strcmp(res.text, prompt) == 0)
                good++;
            if (res.provider && strcmp(res.provider, "fast") == 0 &&
                res.nattempts == 2 &&
                res.attempts[0].errclass == FLEXIAI_E_OVERLOADED)
                fast++;
            if (i >= 0 && i < 100)
                seen[i] = 1;
            flexiai_result_free(&res);
        }
    }
    is_int(good, 100, "every request answered once with its own prompt");
    is_int(fast, 100, "each failed over on its own: fail (503), then fast");
    is_int(mock_count("fail"), 100, "the failing provider saw each once");
    flexiai_batch_free(b);
}

/* All requests are on the wire before the first answer comes back. */
static void
test_in_flight_together(flexiai_client *c)
{
    flexiai_batch *b = flexiai_batch_new(c);
    flexiai_message m = {.role = "user", .content = "slowly"};
    flexiai_request req;
    request(&req, &m);
    req.provider = "slow";
    for (int i = 0; i < 10; i++)
        flexiai_batch_submit(b, &req, NULL);
    size_t done = flexiai_batch_run(b, -1);
    ok(done >= 1, "run returns once one is finished (%zu)", done);
    is_int(mock_count("slow"), 10,
           "all 10 reached the server before the first answer");
    flexiai_batch_cancel(b);
    flexiai_batch_free(b);
}

static void
test_cancel_and_overrides(flexiai_client *c)
{
    flexiai_batch *b = flexiai_batch_new(c);
    flexiai_message m = {.role = "user", .content = "x"};
    char stop0[] = "END", stop1[] = "STOP HERE";
    const char *stop[] = {stop0, stop1};
    flexiai_request req;
    request(&req, &m);
    req.provider = "slow";
    req.model = "per-request-model";
    req.has_temperature = 1;
    req.temperature = 0.25;
    req.has_top_p = 1;
    req.top_p = 0.5;
    req.max_tokens = 7;
    req.stop = stop;
    req.nstop = 2;
    for (int i = 0; i < 3; i++)
        flexiai_batch_submit(b, &req, NULL);
    /* copied: what the caller had is not read again */
    stop0[0] = stop1[0] = 'X';
    flexiai_batch_run(b, 100);
    flexiai_batch_cancel(b);
    int interrupted = 0, n = 0;
    while (flexiai_batch_pending(b) > 0) {
        flexiai_batch_run(b, -1);
        flexiai_result res;
        flexiai_code code;
        flexiai_result_init(&res);
        while (flexiai_batch_next(b, &res, &code, NULL)) {
            n++;
            interrupted += code == FLEXIAI_EINTR && res.nattempts > 0 &&
                           strcmp(res.attempts[res.nattempts - 1].outcome,
                                  "interrupted") == 0;
            flexiai_result_free(&res);
        }
    }
    is_int(interrupted, 3, "cancel: every request ends with 130, interrupted");
    char *log = mock_log("slow");
    ok(strstr(log, "per-request-model") &&
           strstr(log, "\\\"temperature\\\":0.25") &&
           strstr(log, "\\\"max_tokens\\\":7"),
       "per-request model, temperature and max_tokens were sent");
    ok(strstr(log, "\\\"top_p\\\":0.5") &&
           strstr(log, "\\\"stop\\\":[\\\"END\\\",\\\"STOP HERE\\\"]"),
       "per-request top_p and stop were sent, as submitted");
    free(log);
    flexiai_message none = {.role = "user", .content = "y"};
    flexiai_request empty;
    request(&empty, &none);
    empty.nmessages = 0;
    is_int(flexiai_batch_submit(b, &empty, NULL), FLEXIAI_EUSAGE,
           "a request without messages is refused");
    ok(strstr(flexiai_client_error(c), "messages") != NULL,
       "and the client says why: %s", flexiai_client_error(c));
    flexiai_batch_free(b);
}

static void
test_complete(flexiai_client *c)
{
    flexiai_message m = {.role = "user", .content = "one at a time"};
    flexiai_request req;
    request(&req, &m);
    req.provider = "fast";
    flexiai_result res;
    flexiai_result_init(&res);
    is_int(flexiai_complete(c, &req, &res), 0, "flexiai_complete answers");
    is_str(res.text, "one at a time", "with the echo");
    flexiai_result_free(&res);
    req.provider = "nope";
    is_int(flexiai_complete(c, &req, &res), FLEXIAI_EUSAGE,
           "an unknown provider is 64");
    flexiai_result_free(&res);
}

int
main(void)
{
    if (mkdtemp(dir) == NULL) {
        printf("Bail out! mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    setenv("XDG_STATE_HOME", dir, 1);
    start_mock();
    flexiai_config *cfg;
    flexiai_client *c = make_client(&cfg);
    test_many(c);
    test_in_flight_together(c);
    test_cancel_and_overrides(c);
    test_complete(c);
    flexiai_client_free(c);
    flexiai_config_free(cfg);
    kill(mock_pid, SIGTERM);
    waitpid(mock_pid, NULL, 0);
    char *cmd = fxu_asprintf("rm -rf %s", dir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", dir);
    free(cmd);
    return tap_done();
}
