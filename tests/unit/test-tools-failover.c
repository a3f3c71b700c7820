/* test-tools-failover.c - a tool conversation across provider types,
 * through flexiai_complete() against mockllm: an OpenAI answer calls two
 * tools at once; the history with those calls and their results (one
 * failed) goes to Anthropic, Gemini and the Responses API, whole and
 * streamed, and to a failing provider that fails over to Anthropic.
 * mockllm checks each format's shapes and pairing (400 otherwise) and
 * logs the results it got; the answers are read. */
#include "config.h"

#include "fx.h"

#include "tap.h"

#include <curl/curl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char dir[] = "/tmp/fx-tools-XXXXXX";
static pid_t mock_pid;
static int mock_port;

static void
start_mock(void)
{
    const char *b = getenv("FX_TEST_BUILDDIR");
    char *mock = fxu_asprintf("%s/tests/mockllm/mockllm", b ? b : ".");
    char *portfile = fxu_asprintf("%s/port", dir);
    const char *answer = "tool_calls=get_time:{},reply=It is noon.";
    mock_pid = fork();
    if (mock_pid == 0) {
        char s1[256], s2[256], s3[256];
        snprintf(s1, sizeof s1, "an=%s", answer);
        snprintf(s2, sizeof s2, "ge=%s", answer);
        snprintf(s3, sizeof s3, "rs=%s", answer);
        if (freopen("/dev/null", "w", stdout) == NULL)
            _exit(127);
        execl(mock, mock, "--quiet", "--port-file", portfile, "--script",
              "oa=tool_calls=get_time:{\"tz\":\"UTC\"};"
              "read_file:{\"path\":\"a.txt\"%2C\"max\":10}",
              "--script", s1, "--script", s2, "--script", s3, "--script",
              "down=status=503", (char *)NULL);
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

static flexiai_client *
make_client(flexiai_config **cfgp)
{
    char *path = fxu_asprintf("%s/config.ini", dir);
    FILE *fp = fopen(path, "w");
    fprintf(fp, "[failover]\nretries = 0\n\n[breaker]\nfailure_threshold = "
                "1000000\n\n");
    /* failover order: down (fails), then an */
    static const char *const p[][3] = {
        {"down", "openai", "/v1"}, {"an", "anthropic", ""},
        {"oa", "openai", "/v1"},   {"ge", "gemini", ""},
        {"rs", "openai", "/v1"},
    };
    for (int i = 0; i < 5; i++)
        fprintf(fp,
                "[provider.%s]\ntype = %s\nmodel = %s-model\n"
                "base_url = http://127.0.0.1:%d/p/%s%s\napi_key = k\n%s\n",
                p[i][0], p[i][1], p[i][1], mock_port, p[i][0], p[i][2],
                strcmp(p[i][0], "rs") == 0 ? "api = responses\n" : "");
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

static const flexiai_tool tools[] = {
    {"get_time", "The time in a zone",
     "{\"type\":\"object\",\"properties\":{\"tz\":{\"type\":\"string\"}}}"},
    {"read_file", "A file's text",
     "{\"type\":\"object\",\"properties\":{\"path\":{\"type\":\"string\"}}}"},
};

static flexiai_code
ask(flexiai_client *c, const char *provider, const flexiai_message *m, size_t n,
    int stream, flexiai_result *res)
{
    flexiai_request req;
    flexiai_request_init(&req);
    req.messages = m;
    req.nmessages = n;
    req.provider = provider;
    req.stream = stream;
    req.tools = tools;
    req.ntools = 2;
    return flexiai_complete(c, &req, res);
}

int
main(void)
{
    if (mkdtemp(dir) == NULL)
        return 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    start_mock();
    flexiai_config *cfg;
    flexiai_client *c = make_client(&cfg);

    /* round 1 at OpenAI: two calls at once, whole and streamed */
    flexiai_message q = {.role = "user", .content = "Time, and a.txt?"};
    flexiai_result r1, rs;
    flexiai_result_init(&r1);
    flexiai_result_init(&rs);
    is_int(ask(c, "oa", &q, 1, 0, &r1), FLEXIAI_OK, "openai: answered");
    is_str(r1.finish_reason, "tool_calls", "openai: finish tool_calls");
    is_int((long)r1.ntool_calls, 2, "openai: two parallel calls");
    is_int(ask(c, "oa", &q, 1, 1, &rs), FLEXIAI_OK, "openai stream: answered");
    is_int((long)rs.ntool_calls, 2, "openai stream: two calls");
    if (r1.ntool_calls != 2 || rs.ntool_calls != 2) {
        printf("Bail out! no calls to go on with\n");
        return 1;
    }
    is_str(rs.tool_calls[1].arguments, r1.tool_calls[1].arguments,
           "openai stream: the same arguments, joined by index");
    is_str(r1.tool_calls[1].arguments, "{\"path\":\"a.txt\",\"max\":10}",
           "openai: arguments as the model wrote them");

    /* the history as the loop builds it: the calls, then the results */
    flexiai_message h[4] = {
        q,
        {.role = "assistant",
         .content = r1.text,
         .tool_calls = r1.tool_calls,
         .ntool_calls = r1.ntool_calls},
        {.role = "tool",
         .content = "12:00",
         .tool_call_id = r1.tool_calls[0].id,
         .tool_name = r1.tool_calls[0].name},
        {.role = "tool",
         .content = "a.txt: no such file",
         .tool_call_id = r1.tool_calls[1].id,
         .tool_name = r1.tool_calls[1].name,
         .is_error = 1},
    };
    static const char *const routes[] = {"an", "ge", "rs"};
    for (int i = 0; i < 3; i++)
        for (int stream = 0; stream < 2; stream++) {
            flexiai_result r;
            flexiai_result_init(&r);
            flexiai_code rc = ask(c, routes[i], h, 4, stream, &r);
            is_int(rc, FLEXIAI_OK, "%s%s: the converted history accepted",
                   routes[i], stream ? " (stream)" : "");
            if (rc != FLEXIAI_OK)
                printf("#   %s\n", r.error ? r.error : "?");
            is_str(r.text, "It is noon.", "%s%s: the answer read", routes[i],
                   stream ? " (stream)" : "");
            is_int((long)r.ntool_calls, 0, "%s%s: no more calls", routes[i],
                   stream ? " (stream)" : "");
            char *log = mock_log(routes[i]);
            ok(strstr(log, "\"content\":\"12:00\"") &&
                   strstr(log, "a.txt: no such file"),
               "%s%s: both results reached the model", routes[i],
               stream ? " (stream)" : "");
            if (strcmp(routes[i], "an") == 0)
                ok(strstr(log, "\"is_error\":true") != NULL,
                   "an: the failed result is flagged");
            free(log);
            flexiai_result_free(&r);
        }

    /* a result that answers no call is refused (mockllm checks) */
    flexiai_message bad[4] = {h[0], h[1], h[2], h[3]};
    bad[3].tool_call_id = "call_nope"; /* Gemini matches by name */
    bad[3].tool_name = "no_such_tool";
    for (int i = 0; i < 3; i++) {
        flexiai_result r;
        flexiai_result_init(&r);
        ok(ask(c, routes[i], bad, 4, 0, &r) != FLEXIAI_OK,
           "%s: a result for no call is refused", routes[i]);
        flexiai_result_free(&r);
    }

    /* failover inside the tool conversation: down fails, an answers */
    flexiai_result r;
    flexiai_result_init(&r);
    is_int(ask(c, NULL, h, 4, 0, &r), FLEXIAI_OK, "failover: answered");
    is_str(r.provider, "an", "failover: by the next provider (anthropic)");
    is_str(r.text, "It is noon.", "failover: the answer");
    char *log = mock_log("down");
    ok(strstr(log, "\"count\":1") != NULL, "failover: down was tried once");
    free(log);
    flexiai_result_free(&r);

    /* a round-one answer at Anthropic and Gemini: their calls, with ids */
    for (int i = 0; i < 2; i++) {
        flexiai_result_init(&r);
        is_int(ask(c, routes[i], &q, 1, i, &r), FLEXIAI_OK, "%s: round one",
               routes[i]);
        ok(r.ntool_calls == 1 && r.tool_calls[0].id && *r.tool_calls[0].id &&
               strcmp(r.tool_calls[0].name, "get_time") == 0,
           "%s: a call with an id and its name", routes[i]);
        flexiai_result_free(&r);
    }

    flexiai_result_free(&r1);
    flexiai_result_free(&rs);
    flexiai_client_free(c);
    flexiai_config_free(cfg);
    kill(mock_pid, SIGTERM);
    waitpid(mock_pid, NULL, 0);
    char *cmd = fxu_asprintf("rm -rf %s", dir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", dir);
    free(cmd);
    curl_global_cleanup();
    return tap_done();
}
