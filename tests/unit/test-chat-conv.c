/*
 * test-chat-conv.c - the chat conversation (cmd/chat-conv.c): editing the
 * messages, the provider choice, model changes, conversation and session
 * files, and whole turns against tests/mockllm (when it was built),
 * with every line the conversation says captured through struct chat_out.
 */
#include "config.h"

#include "chat-conv.h"
#include "tap.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- an output that records ---------------------------------------------- */

struct capture {
    fxu_buf text; /* replies, asides as <...>, line ends */
    fxu_buf said; /* info/notice/error lines, "I: ", "N: ", "E: " */
    int at_line_start;
    volatile sig_atomic_t *cancel_on_text; /* set it at the first text */
};

static void
cap_text(void *ud, const char *t, size_t n)
{
    struct capture *k = ud;
    fxu_buf_append(&k->text, t, n);
    k->at_line_start = t[n - 1] == '\n';
    if (k->cancel_on_text)
        *k->cancel_on_text = 1;
}

static void
cap_aside(void *ud, const char *t)
{
    struct capture *k = ud;
    fxu_buf_printf(&k->text, "<%s>", t);
    k->at_line_start = 0;
}

static void
cap_end_line(void *ud)
{
    struct capture *k = ud;
    if (!k->at_line_start)
        fxu_buf_putc(&k->text, '\n');
    k->at_line_start = 1;
}

static void
cap_info(void *ud, const char *msg)
{
    fxu_buf_printf(&((struct capture *)ud)->said, "I: %s\n", msg);
}

static void
cap_notice(void *ud, const char *msg)
{
    fxu_buf_printf(&((struct capture *)ud)->said, "N: %s\n", msg);
}

static void
cap_error(void *ud, const char *msg)
{
    fxu_buf_printf(&((struct capture *)ud)->said, "E: %s\n", msg);
}

static void
cap_log(void *ud, flexiai_log_level level, const char *msg)
{
    if (level == FLEXIAI_LOG_NOTICE)
        cap_notice(ud, msg);
}

static int
cap_render(void *ud, int want, const char **why)
{
    (void)ud;
    (void)want;
    *why = "stdout is not a terminal";
    return 0;
}

static void
cap_reset(struct capture *k)
{
    fxu_buf_reset(&k->text);
    fxu_buf_reset(&k->said);
    k->at_line_start = 1;
    k->cancel_on_text = NULL;
}

static const char *
said(struct capture *k)
{
    return k->said.data ? k->said.data : "";
}

static const char *
text(struct capture *k)
{
    return k->text.data ? k->text.data : "";
}

/* ---- set-up -------------------------------------------------------------- */

static char tmpdir[] = "/tmp/test-chat-conv.XXXXXX";

static char *
tmp_path(const char *name)
{
    return fxu_asprintf("%s/%s", tmpdir, name);
}

static void
write_text(const char *path, const char *s)
{
    FILE *fp = fopen(path, "w");
    fputs(s, fp);
    fclose(fp);
}

static char *
read_text(const char *path)
{
    FILE *fp = fopen(path, "r");
    if (fp == NULL)
        return NULL;
    fxu_buf b;
    fxu_buf_init(&b);
    char tmp[4096];
    size_t n;
    while ((n = fread(tmp, 1, sizeof(tmp), fp)) > 0)
        fxu_buf_append(&b, tmp, n);
    fclose(fp);
    return fxu_buf_steal(&b);
}

/* A configuration of three openai-type providers on mockllm routes. */
static flexiai_config *
make_config(int port)
{
    char *ini = tmp_path("config.ini");
    fxu_buf b;
    fxu_buf_init(&b);
    fxu_buf_puts(&b, "[failover]\nretries = 0\n\n");
    const char *names[] = {"bad", "good", "slow"};
    for (int i = 0; i < 3; i++)
        fxu_buf_printf(&b,
                       "[provider.%s]\ntype = openai\nmodel = %s-model\n"
                       "base_url = http://127.0.0.1:%d/p/%s/v1\n"
                       "api_key = test-key\n\n",
                       names[i], names[i], port, names[i]);
    write_text(ini, b.data);
    chmod(ini, 0600);
    fxu_buf_free(&b);
    char *sys = tmp_path("none.ini");
    flexiai_config *cfg = flexiai_config_new();
    flexiai_config_load(cfg, sys, ini);
    int rc = flexiai_config_validate(cfg, 0);
    if (rc != FLEXIAI_OK)
        for (size_t i = 0; i < flexiai_config_ndiags(cfg); i++)
            printf("# %s\n", flexiai_config_diag(cfg, i)->text);
    free(sys);
    free(ini);
    return cfg;
}

/* Start tests/mockllm: bad answers 500, slow waits between words.
 * Returns its pid and sets *port; -1 when it is not there. */
static pid_t
start_mockllm(int *port)
{
    const char *builddir = getenv("FX_TEST_BUILDDIR");
    char *bin =
        fxu_asprintf("%s/tests/mockllm/mockllm", builddir ? builddir : ".");
    char *port_file = tmp_path("mock.port");
    pid_t pid = -1;
    if (access(bin, X_OK) == 0 && (pid = fork()) == 0) {
        freopen("/dev/null", "w", stdout);
        execl(bin, "mockllm", "--quiet", "--port-file", port_file, "--script",
              "bad=status=500", "--script", "slow=delay_ms=300", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; pid > 0 && i < 500; i++) {
        char *s = read_text(port_file);
        if (s && (*port = atoi(s)) > 0) {
            free(s);
            break;
        }
        free(s);
        usleep(10000);
    }
    free(port_file);
    free(bin);
    return pid;
}

/* ---- the tests ----------------------------------------------------------- */

static void
test_messages(struct chat_conv *c)
{
    ok(chat_conv_last_role(c) == NULL, "a new conversation is empty");
    ok(chat_conv_system(c) == NULL, "... without a system prompt");
    chat_conv_push(c, "user", "q1");
    chat_conv_push(c, "assistant", "a1");
    chat_conv_set_system(c, "be brief");
    is_int(c->msgs.n, 3, "a system prompt set later ...");
    is_str(c->msgs.v[0].role, "system", "... goes first");
    is_str(c->msgs.v[1].content, "q1", "... the rest keeps its order");
    is_str(chat_conv_system(c), "be brief", "... and reads back");
    chat_conv_set_system(c, "be briefer");
    is_int(c->msgs.n, 3, "setting it again replaces it");
    is_str(chat_conv_system(c), "be briefer", "... with the new text");

    is_int(chat_conv_undo(c), 0, "undo");
    is_int(c->msgs.n, 1, "... drops the last question and answer");
    is_int(chat_conv_undo(c), -1, "undo stops at the system prompt");

    chat_conv_push(c, "user", "q2");
    c->last_question = fxu_strdup("failed");
    chat_conv_clear(c, 1);
    is_int(c->msgs.n, 1, "clear keeps the system prompt");
    ok(c->last_question == NULL, "... and forgets a failed question");
    chat_conv_set_system(c, NULL);
    is_int(c->msgs.n, 0, "removing the system prompt");
    chat_conv_set_system(c, NULL);
    is_int(c->msgs.n, 0, "removing none changes nothing");

    chat_conv_push(c, "user", "q3");
    chat_conv_push(c, "assistant", "a3");
    c->last_question = fxu_strdup("failed");
    char *q = chat_conv_take_retry(c);
    is_str(q, "failed", "retry takes a failed question first");
    is_int(c->msgs.n, 2, "... leaving the conversation alone");
    free(q);
    q = chat_conv_take_retry(c);
    is_str(q, "q3", "else the last question");
    is_int(c->msgs.n, 0, "... dropped with its answer");
    free(q);
    ok(chat_conv_take_retry(c) == NULL, "nothing to retry: NULL");
    chat_conv_push(c, "user", "only");
    chat_conv_clear(c, 0);
    is_int(c->msgs.n, 0, "clear without keeping drops everything");
}

static void
test_files(struct chat_conv *c, struct capture *k)
{
    char *path = tmp_path("conv.json");
    chat_conv_set_system(c, "sys");
    chat_conv_push(c, "user", "line 1\nline 2 \"quoted\" \xc3\xa9");
    chat_conv_push(c, "assistant", "");
    char *err = NULL;
    is_int(chat_conv_save(c, path, &err), 0, "save");
    struct stat st;
    ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600,
       "... a file of mode 0600");
    chat_conv_clear(c, 0);
    c->last_question = fxu_strdup("failed");
    is_int(chat_conv_load(c, path, &err), 0, "load it back");
    is_int(c->msgs.n, 3, "... every message");
    is_str(chat_conv_system(c), "sys", "... the system prompt first");
    is_str(c->msgs.v[1].content, "line 1\nline 2 \"quoted\" \xc3\xa9",
           "... contents byte for byte");
    is_str(c->msgs.v[2].role, "assistant", "... roles too");
    ok(c->last_question == NULL, "loading forgets a failed question");

    char *missing = tmp_path("missing.json");
    is_int(chat_conv_load(c, missing, &err), FLEXIAI_ENOINPUT,
           "a missing file: 66");
    ok(err && strstr(err, "missing.json"), "... naming it");
    free(err);
    err = NULL;
    is_int(c->msgs.n, 3, "... and the conversation stays");
    write_text(path, "[{\"role\": \"robot\", \"content\": \"x\"}]");
    is_int(chat_conv_load(c, path, &err), FLEXIAI_EDATA, "a bad role: 65");
    free(err);
    err = NULL;

    /* the session file: written where it says, directories made */
    c->session_path = tmp_path("sessions/deep/s1.json");
    cap_reset(k);
    chat_conv_save_session(c);
    char *saved = read_text(c->session_path);
    ok(saved && strstr(saved, "\"sys\""), "the session is saved, "
                                          "directories made");
    is_str(said(k), "", "... silently");
    free(saved);
    free(c->session_path);
    c->session_path = fxu_asprintf("%s/sub/s.json", path); /* under a file */
    chat_conv_save_session(c);
    ok(strncmp(said(k), "E: cannot save the session: ", 28) == 0,
       "a session that cannot be saved is one error line");
    free(c->session_path);
    c->session_path = NULL;
    chat_conv_clear(c, 0);
    free(missing);
    free(path);
}

static void
test_providers(struct chat_conv *c, struct capture *k)
{
    const char *const *names;
    is_int(chat_conv_providers(c, &names), 3, "three providers");
    ok(chat_conv_provider_known(c, "good"), "good is known");
    ok(!chat_conv_provider_known(c, "nope"), "nope is not");
    is_str(chat_conv_shown_provider(c), "bad",
           "auto, nobody answered yet: the first is shown");
    c->last_provider = fxu_strdup("good");
    is_str(chat_conv_shown_provider(c), "good", "then who answered last");
    chat_conv_set_provider(c, "slow");
    is_str(chat_conv_shown_provider(c), "slow", "a fixed one wins");
    chat_conv_set_provider(c, c->provider);
    is_str(c->provider, "slow", "setting it to itself is safe");
    chat_conv_set_provider(c, NULL);
    ok(c->provider == NULL, "auto again");
    is_str(chat_conv_shown_provider(c), "bad",
           "the prompt follows /provider auto: the first in failover order, "
           "not who answered under the old choice");
    free(c->last_provider);
    c->last_provider = fxu_strdup("gone");
    is_str(chat_conv_shown_provider(c), "bad",
           "who answered last but is no longer configured is not shown");

    is_str(chat_conv_model(c, "good"), "good-model", "a provider's model");
    is_str(chat_conv_model(c, "nope"), "", "an unknown provider's: \"\"");
    cap_reset(k);
    is_int(chat_conv_set_model(c, "good", "other-model"), 0, "set a model");
    is_str(chat_conv_model(c, "good"), "other-model", "... it is used");
    ok(c->client != NULL, "... with a new client");
    is_int(chat_conv_set_model(c, "good", ""), FLEXIAI_EUSAGE,
           "a model the configuration refuses: 64");
    is_str(chat_conv_model(c, "good"), "other-model", "... the old one stays");
    ok(strncmp(said(k), "E: ", 3) == 0, "... after one error line");
    chat_conv_set_model(c, "good", "good-model");
    cap_reset(k);
    chat_conv_info(c, "%d message%s", 2, "s");
    is_str(said(k), "I: 2 messages\n", "info goes to the output");

    const char *help = " \xe2\x80\x94 /help for commands, Ctrl-D to leave, "
                       "\\ or \"\"\" for several lines";
    char *want = fxu_asprintf(
        "flexiai chat: bad:bad-model (failover: bad, good, slow)%s", help);
    char *hello = chat_conv_greeting(c);
    is_str(hello, want, "greeting: model, failover order, how to go on");
    free(hello);
    free(want);
    chat_conv_set_provider(c, "slow");
    want = fxu_asprintf("flexiai chat: slow:slow-model (no failover)%s", help);
    hello = chat_conv_greeting(c);
    is_str(hello, want, "greeting with a fixed provider: no failover");
    free(hello);
    free(want);
    chat_conv_set_provider(c, NULL);
}

static void
test_turns(struct chat_conv *c, struct capture *k)
{
    volatile sig_atomic_t cancel = 0, busy = 0;
    c->cancel = &cancel;
    c->busy = &busy;
    c->session_path = tmp_path("session.json");

    cap_reset(k);
    is_int(chat_conv_turn(c, "hello there"), 0, "a turn");
    is_str(text(k), "hello there\n\n",
           "... the reply, then (scripted) a blank line");
    /* the library words the notice; that it is one notice line naming
     * both providers is the conversation's part */
    ok(strncmp(said(k), "N: ", 3) == 0 && strstr(said(k), "bad") &&
           strstr(said(k), "good") && strchr(said(k), '\n')[1] == '\0',
       "... after one failover notice");
    is_int(c->msgs.n, 2, "... question and answer kept");
    is_str(c->msgs.v[1].content, "hello there", "... the answer");
    is_str(chat_conv_shown_provider(c), "good", "... who answered is shown");
    ok(!busy, "... not busy after it");
    char *saved = read_text(c->session_path);
    ok(saved && strstr(saved, "\"hello there\""), "... the session is saved");
    free(saved);

    chat_conv_set_provider(c, "bad");
    cap_reset(k);
    int rc = chat_conv_turn(c, "fails");
    ok(rc != 0, "a turn that fails: %d", rc);
    is_int(c->msgs.n, 2, "... leaves the conversation as it was");
    is_str(c->last_question, "fails", "... and keeps the question for /retry");
    ok(strncmp(said(k), "E: ", 3) == 0 && strchr(said(k), '\n')[1] == '\0',
       "... with one error line");
    is_str(text(k), "", "... and no reply text");

    chat_conv_set_provider(c, "slow");
    /* a file with the question that is interrupted, but kept */
    char *note = tmp_path("note.txt");
    FILE *fp = fopen(note, "w");
    fputs("a note\n", fp);
    fclose(fp);
    is_int(chat_conv_attach(c, note, NULL), 0, "a file attached");
    cap_reset(k);
    k->cancel_on_text = &cancel;
    rc = chat_conv_turn(c, "one two three");
    is_int(rc, FLEXIAI_EINTR, "a turn interrupted after some text: 130");
    is_str(text(k), "one <" CHAT_INTERRUPTED_MARK ">\n",
           "... shows what came and the mark");
    is_str(said(k), "E: interrupted\n", "... scripted, one error line");
    ok(c->last_question == NULL, "... nothing to retry");
    is_int(c->msgs.n, 4, "... question and partial answer kept");
    is_str(c->msgs.v[3].content, "one" CHAT_INTERRUPTED_MARK,
           "... the answer marked");
    is_int(c->msgs.v[2].nattachments, 1, "... the question keeps its file");
    ok(c->attach_next == NULL, "... which no longer waits for the next one");
    free(note);

    cap_reset(k);
    cancel = 1; /* a SIGINT before the turn: scripted, it still counts */
    c->interactive = 0;
    rc = chat_conv_turn(c, "never sent");
    is_int(rc, FLEXIAI_EINTR, "a turn interrupted before any text: 130");
    is_int(c->msgs.n, 4, "... drops its question");
    is_str(c->last_question, "never sent", "... keeping it for /retry");
    is_str(text(k), "", "... no text");

    cap_reset(k);
    cancel = 1;
    c->interactive = 1;
    chat_conv_set_provider(c, NULL);
    rc = chat_conv_turn(c, "at a terminal");
    is_int(rc, 0, "at a terminal an earlier Ctrl-C does not cancel a turn");
    is_str(text(k), "at a terminal\n", "... and no blank line follows");
    chat_conv_clear(c, 0);
    c->cancel = c->busy = NULL;
}

int
main(void)
{
    if (mkdtemp(tmpdir) == NULL) {
        perror("mkdtemp");
        return 1;
    }
    /* nothing of the user's is read or written */
    setenv("HOME", tmpdir, 1);
    char *state = tmp_path("state");
    setenv("XDG_STATE_HOME", state, 1);
    setenv("XDG_CONFIG_HOME", tmpdir, 1);
    free(state);

    int port = 1; /* no server: turns are skipped */
    pid_t mock = start_mockllm(&port);

    struct capture k = {.at_line_start = 1};
    fxu_buf_init(&k.text);
    fxu_buf_init(&k.said);
    struct chat_out out = {.ud = &k,
                           .text = cap_text,
                           .aside = cap_aside,
                           .end_line = cap_end_line,
                           .info = cap_info,
                           .notice = cap_notice,
                           .error = cap_error,
                           .log = cap_log,
                           .render = cap_render};
    struct tool_args args;
    tool_args_init(&args);
    tool_cmd_init("test-chat-conv");
    struct chat_conv conv;
    chat_conv_init(&conv, make_config(port), &args, &out);
    chat_conv_connect(&conv);

    test_messages(&conv);
    test_files(&conv, &k);
    test_providers(&conv, &k);
    if (mock > 0 && port > 1) {
        test_turns(&conv, &k);
    } else {
        /* CI always builds mockllm: without it the turns went untested,
         * which is a failure, not a skip */
        ok(0, "turns: tests/mockllm/mockllm not built or did not start");
    }

    chat_conv_free(&conv);
    tool_args_free(&args);
    fxu_buf_free(&k.text);
    fxu_buf_free(&k.said);
    if (mock > 0) {
        kill(mock, SIGTERM);
        waitpid(mock, NULL, 0);
    }
    char *cmd = fxu_asprintf("rm -rf '%s'", tmpdir);
    if (system(cmd) != 0)
        printf("# could not remove %s\n", tmpdir);
    free(cmd);
    return tap_done();
}
