/*
 * flexiai-complete - one-shot completion for scripts: the prompt from the
 * arguments and stdin (or --messages), the answer on stdout, an honest
 * exit code.
 */
#include "config.h"

#include "common.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t interrupted;

static void
on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

static void
usage(FILE *fp)
{
    fprintf(
        fp,
        "usage: flexiai complete [OPTIONS] [PROMPT...]\n"
        "\n"
        "Send one prompt and print the answer.  The prompt is the arguments "
        "joined by\nspaces, then stdin's content (when stdin is not a "
        "terminal) after a blank line.\n"
        "\n"
        "options:\n"
        "  -c, --config FILE        configuration file instead of the user's\n"
        "      --messages FILE|-    JSON array of {role, content} messages\n"
        "  -s, --system TEXT        system prompt\n"
        "  -m, --model NAME         model (for -p's provider, else the first)\n"
        "  -p, --provider NAME      use only this provider\n"
        "      --no-failover        only the first usable provider\n"
        "  -t, --temperature N      sampling temperature (0-2)\n"
        "      --max-tokens N       maximum tokens in the answer\n"
        "      --top-p N            nucleus sampling (0-1)\n"
        "      --stop TEXT          stop sequence (repeatable)\n"
        "      --stream, --no-stream  stream the answer (default: when stdout "
        "is a terminal)\n"
        "      --on-stream-error=continue|fail\n"
        "                           after a stream broke: let the next "
        "provider continue\n"
        "                           the answer (default), or stop with exit "
        "75\n"
        "      --json               print one JSON object with text, usage, "
        "attempts\n"
        "      --timeout SECONDS    per-attempt timeout\n"
        "  -v, --verbose            one stderr line per attempt\n"
        "  -q, --quiet              no warnings\n"
        "  -h, --help               this help\n"
        "  -V, --version            version and libraries\n"
        "\n"
        "Exit codes: 0 ok, 64 usage, 65 invalid input or request rejected, "
        "66 no prompt,\n69 unavailable, 75 every failure transient (try "
        "later), 77 credentials refused,\n78 configuration, 130 "
        "interrupted.  See flexiai-complete(1).\n");
}

struct opts {
    const char *config;
    const char *messages;
    const char *system;
    const char *model;
    const char *provider;
    const char *temperature;
    const char *max_tokens;
    const char *top_p;
    const char *timeout;
    fxu_buf stops;
    int nstops;
    int stream; /* -1 config, 0 no, 1 yes */
    int json;
    int no_failover;
    int on_stream_error; /* -1 config */
};

static void
apply_flags(flexiai_config *cfg, const struct opts *o)
{
    if (o->system)
        flexiai_config_set(cfg, "defaults", "system", o->system);
    if (o->temperature)
        flexiai_config_set(cfg, "defaults", "temperature", o->temperature);
    if (o->max_tokens)
        flexiai_config_set(cfg, "defaults", "max_tokens", o->max_tokens);
    if (o->top_p)
        flexiai_config_set(cfg, "defaults", "top_p", o->top_p);
    if (o->timeout)
        flexiai_config_set(cfg, "defaults", "timeout", o->timeout);
    if (o->nstops)
        flexiai_config_set(cfg, "defaults", "stop", o->stops.data);
    if (o->stream >= 0)
        flexiai_config_set(cfg, "defaults", "stream", o->stream ? "yes" : "no");
}

static char *
read_all(FILE *fp, const char *what)
{
    fxu_buf b;
    fxu_buf_init(&b);
    char tmp[65536];
    size_t n;
    while ((n = fread(tmp, 1, sizeof(tmp), fp)) > 0)
        fxu_buf_append(&b, tmp, n);
    if (ferror(fp))
        tool_die(FLEXIAI_ENOINPUT, "cannot read %s: %s", what, strerror(errno));
    return fxu_buf_steal(&b);
}

/* --messages: a JSON array of {role, content}. */
static flexiai_message *
load_messages(const char *path, size_t *n, cJSON **keep)
{
    char *text;
    if (strcmp(path, "-") == 0) {
        text = read_all(stdin, "stdin");
    } else {
        FILE *fp = fopen(path, "r");
        if (fp == NULL)
            tool_die(FLEXIAI_ENOINPUT, "%s: %s", path, strerror(errno));
        text = read_all(fp, path);
        fclose(fp);
    }
    const char *name = strcmp(path, "-") == 0 ? "stdin" : path;
    cJSON *root = cJSON_Parse(text);
    free(text);
    if (root == NULL)
        tool_die(FLEXIAI_EDATA, "%s: messages are not valid JSON", name);
    if (!cJSON_IsArray(root))
        tool_die(FLEXIAI_EDATA, "%s: messages must be a JSON array", name);
    size_t count = (size_t)cJSON_GetArraySize(root);
    flexiai_message *msgs = fxu_xcalloc(count + 1, sizeof(*msgs));
    size_t i = 0;
    const cJSON *m;
    cJSON_ArrayForEach(m, root)
    {
        const cJSON *role = cJSON_GetObjectItemCaseSensitive(m, "role");
        const cJSON *content = cJSON_GetObjectItemCaseSensitive(m, "content");
        if (!cJSON_IsObject(m) || !cJSON_IsString(role) ||
            !cJSON_IsString(content))
            tool_die(FLEXIAI_EDATA,
                     "%s: message %zu needs string \"role\" and \"content\"",
                     name, i + 1);
        if (strcmp(role->valuestring, "system") != 0 &&
            strcmp(role->valuestring, "user") != 0 &&
            strcmp(role->valuestring, "assistant") != 0)
            tool_die(
                FLEXIAI_EDATA,
                "%s: message %zu has role '%s' (system, user or assistant)",
                name, i + 1, role->valuestring);
        msgs[i].role = role->valuestring;
        msgs[i].content = content->valuestring;
        i++;
    }
    *n = i;
    *keep = root;
    return msgs;
}

struct out_state {
    int print;
    char last;
};

static int
on_text(void *ud, const char *text, size_t len)
{
    struct out_state *o = ud;
    if (o->print && len) {
        tool_out(text, len);
        tool_out_flush();
        o->last = text[len - 1];
    }
    return 0;
}

/* milliseconds to one decimal (no libm: see bench/run.sh) */
static double
ms_tenths(double ms)
{
    return (double)(long long)(ms * 10 + 0.5) / 10;
}

/* -v lines while a streamed answer is on the same terminal: start them on
 * a line of their own instead of after the half-printed text. */
static int stdout_err_same_tty;

static void
log_line(void *ud, int level, const char *msg)
{
    const struct out_state *o = ud;
    int shown = (level == FLEXIAI_LOG_WARN && !tool_quiet) ||
                (level == FLEXIAI_LOG_ATTEMPT && tool_verbose) ||
                (level == FLEXIAI_LOG_DEBUG && tool_verbose > 1);
    if (shown && stdout_err_same_tty && o->print && o->last != '\n') {
        tool_out_flush();
        fputc('\n', stderr);
    }
    tool_log_cb(NULL, level, msg);
}

static cJSON *
result_json(const flexiai_result *r, int code)
{
    cJSON *root = cJSON_CreateObject();
    if (r->text && code == 0)
        cJSON_AddStringToObject(root, "text", r->text);
    else if (r->text && *r->text)
        cJSON_AddStringToObject(root, "text", r->text);
    else
        cJSON_AddNullToObject(root, "text");
    if (r->provider)
        cJSON_AddStringToObject(root, "provider", r->provider);
    else
        cJSON_AddNullToObject(root, "provider");
    if (r->model)
        cJSON_AddStringToObject(root, "model", r->model);
    else
        cJSON_AddNullToObject(root, "model");
    if (r->finish_reason)
        cJSON_AddStringToObject(root, "finish_reason", r->finish_reason);
    else
        cJSON_AddNullToObject(root, "finish_reason");
    if (r->has_usage) {
        cJSON *u = cJSON_AddObjectToObject(root, "usage");
        cJSON_AddNumberToObject(u, "prompt_tokens", (double)r->prompt_tokens);
        cJSON_AddNumberToObject(u, "completion_tokens",
                                (double)r->completion_tokens);
        cJSON_AddNumberToObject(u, "total_tokens", (double)r->total_tokens);
    } else {
        cJSON_AddNullToObject(root, "usage");
    }
    cJSON_AddNumberToObject(root, "latency_ms", ms_tenths(r->latency_ms));
    cJSON *arr = cJSON_AddArrayToObject(root, "attempts");
    for (size_t i = 0; i < r->nattempts; i++) {
        const flexiai_attempt *a = &r->attempts[i];
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "name", a->provider);
        cJSON_AddStringToObject(o, "model", a->model ? a->model : "");
        cJSON_AddStringToObject(o, "outcome", a->outcome);
        if (a->http_status)
            cJSON_AddNumberToObject(o, "http_status", (double)a->http_status);
        else
            cJSON_AddNullToObject(o, "http_status");
        if (a->errclass)
            cJSON_AddStringToObject(o, "error_class",
                                    flexiai_errclass_name(a->errclass));
        else
            cJSON_AddNullToObject(o, "error_class");
        if (a->retry_after >= 0)
            cJSON_AddNumberToObject(o, "retry_after",
                                    (double)(long)(a->retry_after * 1000) /
                                        1000.0);
        else
            cJSON_AddNullToObject(o, "retry_after");
        cJSON_AddNumberToObject(o, "latency_ms", ms_tenths(a->latency_ms));
        if (a->message)
            cJSON_AddStringToObject(o, "message", a->message);
        cJSON_AddBoolToObject(o, "probe", a->probe);
        cJSON_AddBoolToObject(o, "continuation", a->continuation);
        cJSON_AddItemToArray(arr, o);
    }
    if (code != 0) {
        cJSON_AddStringToObject(root, "error", r->error ? r->error : "");
    }
    cJSON_AddNumberToObject(root, "exit_code", code);
    return root;
}

#ifdef FX_COMPLETE_BUILTIN
/* Built into the front command too (as git builds in its own commands):
 * `flexiai complete` then costs one program start, not two. */
int tool_complete_main(int argc, char **argv);
int
tool_complete_main(int argc, char **argv)
#else
int
main(int argc, char **argv)
#endif
{
    enum {
        OPT_MESSAGES = 256,
        OPT_MAX_TOKENS,
        OPT_TOP_P,
        OPT_STOP,
        OPT_STREAM,
        OPT_NO_STREAM,
        OPT_JSON,
        OPT_TIMEOUT,
        OPT_NO_FAILOVER,
        OPT_ON_STREAM_ERROR
    };
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"messages", required_argument, NULL, OPT_MESSAGES},
        {"system", required_argument, NULL, 's'},
        {"model", required_argument, NULL, 'm'},
        {"provider", required_argument, NULL, 'p'},
        {"temperature", required_argument, NULL, 't'},
        {"max-tokens", required_argument, NULL, OPT_MAX_TOKENS},
        {"top-p", required_argument, NULL, OPT_TOP_P},
        {"stop", required_argument, NULL, OPT_STOP},
        {"stream", no_argument, NULL, OPT_STREAM},
        {"no-stream", no_argument, NULL, OPT_NO_STREAM},
        {"json", no_argument, NULL, OPT_JSON},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"no-failover", no_argument, NULL, OPT_NO_FAILOVER},
        {"on-stream-error", required_argument, NULL, OPT_ON_STREAM_ERROR},
        {"verbose", no_argument, NULL, 'v'},
        {"quiet", no_argument, NULL, 'q'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    struct opts o;
    memset(&o, 0, sizeof(o));
    o.stream = -1;
    o.on_stream_error = -1;
    fxu_buf_init(&o.stops);
    tool_cmd_init("flexiai complete");

    int c;
    while ((c = getopt_long(argc, argv, "c:s:m:p:t:vqhV", longopts, NULL)) !=
           -1) {
        switch (c) {
        case 'c':
            o.config = optarg;
            break;
        case OPT_MESSAGES:
            o.messages = optarg;
            break;
        case 's':
            o.system = optarg;
            break;
        case 'm':
            o.model = optarg;
            break;
        case 'p':
            o.provider = optarg;
            break;
        case 't':
            o.temperature = optarg;
            break;
        case OPT_MAX_TOKENS:
            o.max_tokens = optarg;
            break;
        case OPT_TOP_P:
            o.top_p = optarg;
            break;
        case OPT_STOP:
            if (strchr(optarg, ',') || strchr(optarg, '\n'))
                tool_usage_error("--stop text may not contain ',' or newline");
            if (o.nstops++)
                fxu_buf_putc(&o.stops, ',');
            fxu_buf_puts(&o.stops, optarg);
            break;
        case OPT_STREAM:
            o.stream = 1;
            break;
        case OPT_NO_STREAM:
            o.stream = 0;
            break;
        case OPT_JSON:
            o.json = 1;
            break;
        case OPT_TIMEOUT:
            o.timeout = optarg;
            break;
        case OPT_NO_FAILOVER:
            o.no_failover = 1;
            break;
        case OPT_ON_STREAM_ERROR:
            if (strcmp(optarg, "continue") == 0)
                o.on_stream_error = FLEXIAI_STREAM_CONTINUE;
            else if (strcmp(optarg, "fail") == 0)
                o.on_stream_error = FLEXIAI_STREAM_FAIL;
            else
                tool_usage_error("--on-stream-error must be continue or fail");
            break;
        case 'v':
            tool_verbose++;
            break;
        case 'q':
            tool_quiet = 1;
            break;
        case 'h':
            usage(stdout);
            return 0;
        case 'V':
            tool_print_version(NULL);
            return 0;
        default:
            tool_bad_option(argv);
        }
    }
    /* Numeric flags are checked like config values, but a bad flag is a
     * usage error, not a configuration error. */
    tool_check_param_flags(o.temperature, o.max_tokens, o.top_p, o.timeout);

    /* the prompt */
    cJSON *keep = NULL;
    flexiai_message *msgs = NULL;
    size_t nmsgs = 0;
    char *prompt = NULL;
    fxu_buf p;
    fxu_buf_init(&p);
    for (int i = optind; i < argc; i++) {
        if (i > optind)
            fxu_buf_putc(&p, ' ');
        fxu_buf_puts(&p, argv[i]);
    }
    if (o.messages) {
        msgs = load_messages(o.messages, &nmsgs, &keep);
        if (p.len) {
            msgs = fxu_xrealloc(msgs, (nmsgs + 1) * sizeof(*msgs));
            msgs[nmsgs].role = "user";
            msgs[nmsgs].content = p.data;
            nmsgs++;
        }
        if (nmsgs == 0)
            tool_die(FLEXIAI_ENOINPUT, "%s: no messages", o.messages);
    } else {
        if (!isatty(STDIN_FILENO)) {
            char *in = read_all(stdin, "stdin");
            if (*in) {
                if (p.len)
                    fxu_buf_puts(&p, "\n\n");
                fxu_buf_puts(&p, in);
            }
            free(in);
        }
        if (p.len == 0)
            tool_die(FLEXIAI_ENOINPUT,
                     "no prompt (give it as arguments or on stdin)");
        prompt = p.data;
        msgs = fxu_xcalloc(1, sizeof(*msgs));
        msgs[0].role = "user";
        msgs[0].content = prompt;
        nmsgs = 1;
    }

    /* configuration: files, env, then flags */
    flexiai_config *cfg = flexiai_config_new();
    flexiai_config_load(cfg, getenv("FX_TEST_SYSCONF"), o.config);
    apply_flags(cfg, &o);
    int rc = flexiai_config_validate(cfg, 0);
    if (rc == FLEXIAI_OK && o.model) {
        const char *const *names;
        size_t np = flexiai_config_providers(cfg, &names);
        const char *target = o.provider ? o.provider : (np ? names[0] : NULL);
        if (target) {
            char sec[300];
            snprintf(sec, sizeof(sec), "provider.%s", target);
            int known = 0;
            for (size_t i = 0; i < np; i++)
                if (strcmp(names[i], target) == 0)
                    known = 1;
            if (known) {
                flexiai_config_set(cfg, sec, "model", o.model);
                rc = flexiai_config_validate(cfg, 0);
            }
        }
    }
    tool_print_diags(cfg, 1);
    if (rc != FLEXIAI_OK) {
        flexiai_config_free(cfg);
        free(msgs);
        cJSON_Delete(keep);
        fxu_buf_free(&p);
        fxu_buf_free(&o.stops);
        return FLEXIAI_ECONFIG;
    }
    if (o.provider) {
        const char *const *names;
        size_t np = flexiai_config_providers(cfg, &names);
        int known = 0;
        for (size_t i = 0; i < np; i++)
            if (strcmp(names[i], o.provider) == 0)
                known = 1;
        if (!known)
            tool_usage_error("no provider named '%s'", o.provider);
    }

    char *err = NULL;
    flexiai_client *client = flexiai_client_new(cfg, &err);
    if (client == NULL)
        tool_die(FLEXIAI_ESOFTWARE, "%s", err ? err : "cannot start");

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_sigint;
    sigaction(SIGINT, &sa, NULL);

    /* stream mode from config (a --stream/--no-stream flag is in it) */
    const struct fx_settings *set = fx_config_settings(cfg);
    int stream = set->stream_mode == FX_STREAM_YES ||
                 (set->stream_mode == FX_STREAM_AUTO && isatty(STDOUT_FILENO) &&
                  !o.json);
    if (o.on_stream_error < 0)
        o.on_stream_error = set->on_stream_error;

    struct out_state out = {.print = stream && !o.json, .last = '\n'};
    stdout_err_same_tty = isatty(STDOUT_FILENO) && isatty(STDERR_FILENO);
    flexiai_client_set_log(client, log_line, &out);
    flexiai_request req = {
        .messages = msgs,
        .nmessages = nmsgs,
        .provider = o.provider,
        .no_failover = o.no_failover,
        .stream = stream,
        .on_stream_error = o.on_stream_error,
        .on_text = on_text,
        .ud = &out,
        .cancel = &interrupted,
    };
    flexiai_result res;
    rc = flexiai_complete(client, &req, &res);

    if (o.json) {
        cJSON *j = result_json(&res, rc);
        char *s = cJSON_PrintUnformatted(j);
        tool_outs(s);
        tool_outs("\n");
        free(s);
        cJSON_Delete(j);
    } else if (rc == FLEXIAI_OK && !res.streamed_output) {
        tool_outs(res.text ? res.text : "");
        if (res.text == NULL || res.text[0] == '\0' ||
            res.text[strlen(res.text) - 1] != '\n')
            tool_outs("\n");
    } else if (res.streamed_output || out.last != '\n') {
        /* streamed (fully or partly): end the line */
        if (out.last != '\n')
            tool_outs("\n");
    }
    tool_out_flush();
    if (rc != FLEXIAI_OK) {
        if (rc == FLEXIAI_EINTR)
            tool_err("interrupted");
        else
            tool_err("%s", res.error ? res.error : "request failed");
    }
    flexiai_result_free(&res);
    flexiai_client_free(client);
    flexiai_config_free(cfg);
    free(msgs);
    cJSON_Delete(keep);
    fxu_buf_free(&p);
    fxu_buf_free(&o.stops);
    return rc;
}
