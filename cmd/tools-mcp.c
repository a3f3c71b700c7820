/*
 * tools-mcp.c - the MCP client: one server per [mcp.NAME] per process,
 * started when a run first names it, spoken to with newline-delimited
 * JSON-RPC 2.0 over its stdin and stdout (PROTOCOLS.md, "MCP over
 * stdio").
 *
 * Start: initialize with protocolVersion 2025-11-25 (the server may answer
 * 2025-06-18, 2025-03-26 or 2024-11-05, which we speak as well; any other
 * version ends it), notifications/initialized, then tools/list page by
 * page (nextCursor, at most MAX_PAGES pages).  A call: tools/call; the
 * text content items joined by newlines, other items described in one
 * line each; isError makes an error result.
 *
 * Every wait is bounded by the server's timeout.  A server that does not
 * answer in time, exits, or writes something that is not JSON-RPC for us
 * (a line that is no JSON object, an answer to an id never sent) is
 * stopped: that call, and every later one, is an error result of one
 * line.  Ctrl-C ends the wait with notifications/cancelled and keeps the
 * server.  Its stderr is kept (the last LOG_KEEP bytes), shown with -v
 * when it fails.  Stop: stdin closed, a grace period, then the process
 * group's SIGTERM and SIGKILL (tools-exec.c).
 */
#include "config.h"

#include "tool.h"
#include "tools-int.h"

#include <cjson/cJSON.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MCP_VERSION "2025-11-25"
#define LOG_KEEP 8192
#define LINE_MAX_BYTES (16 * 1024 * 1024)
#define MAX_PAGES 100

static const char *const versions[] = {MCP_VERSION, "2025-06-18", "2025-03-26",
                                       "2024-11-05", NULL};

struct mcp_server {
    char *name;
    double timeout;
    long max_output;
    struct tx_proc p;
    fxu_buf line; /* stdout not yet a whole line */
    fxu_buf log;  /* stderr, the last LOG_KEEP bytes or so */
    long next_id;
    char *dead; /* why it stopped; NULL while it runs */
    struct mcp_tool *tools;
    size_t ntools;
    int refs;
    struct mcp_server *next;
};

static struct mcp_server *servers;

/* ---- the wire ---------------------------------------------------------- */

/* Stop the server for good, saying why (kept for later calls). */
static void
fail(struct mcp_server *s, const char *why)
{
    if (s->dead == NULL)
        s->dead = fxu_strdup(why);
    tx_stop(&s->p, 1.0);
    for (char *line = s->log.data; tool_verbose && line && *line;) {
        size_t len = strcspn(line, "\n");
        char *one = fxu_strndup(line, len);
        char *shown = tool_printable(one);
        tool_warn("mcp %s: stderr: %s", s->name, shown);
        free(shown);
        free(one);
        line += len + (line[len] == '\n');
    }
}

static void
keep_log(struct mcp_server *s)
{
    size_t total = 0;
    if (s->p.err >= 0)
        tx_drain(&s->p.err, &s->log, 4 * LOG_KEEP, &total);
    if (s->log.len > 2 * LOG_KEEP) {
        size_t drop = s->log.len - LOG_KEEP;
        memmove(s->log.data, s->log.data + drop, s->log.len - drop + 1);
        s->log.len -= drop;
    }
}

static int
send_msg(struct mcp_server *s, cJSON *msg, double deadline)
{
    char *text = cJSON_PrintUnformatted(msg);
    size_t len = strlen(text), off = 0;
    text[len] = '\n'; /* the NUL was there: one line, its newline */
    int rc = 0;
    while (off < len + 1) {
        if (s->p.in < 0 || tx_write_some(s->p.in, text, len + 1, &off) != 0) {
            rc = -1;
            break;
        }
        if (off == len + 1)
            break;
        double left = deadline - fxu_monotonic();
        if (left <= 0) {
            rc = -1;
            break;
        }
        struct pollfd pf = {.fd = s->p.in, .events = POLLOUT};
        poll(&pf, 1, left > 0.1 ? 100 : (int)(left * 1000) + 1);
        keep_log(s);
    }
    free(text);
    return rc;
}

static cJSON *
message(const char *method, cJSON *params, long id)
{
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "jsonrpc", "2.0");
    if (id > 0)
        cJSON_AddNumberToObject(m, "id", (double)id);
    cJSON_AddStringToObject(m, "method", method);
    if (params)
        cJSON_AddItemToObject(m, "params", params);
    return m;
}

/* A request from the server: ping answered, anything else refused. */
static void
answer_server(struct mcp_server *s, cJSON *req, double deadline)
{
    cJSON *m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "jsonrpc", "2.0");
    cJSON_AddItemToObject(m, "id",
                          cJSON_Duplicate(cJSON_GetObjectItem(req, "id"), 1));
    const cJSON *method = cJSON_GetObjectItem(req, "method");
    if (cJSON_IsString(method) && strcmp(method->valuestring, "ping") == 0) {
        cJSON_AddObjectToObject(m, "result");
    } else {
        cJSON *e = cJSON_AddObjectToObject(m, "error");
        cJSON_AddNumberToObject(e, "code", -32601);
        cJSON_AddStringToObject(e, "message", "method not found");
    }
    send_msg(s, m, deadline);
    cJSON_Delete(m);
}

enum wait_rc { MW_OK = 0, MW_FATAL = -1, MW_CANCEL = -2, MW_TIMEOUT = -3 };

/* One whole line from stdout; 1 when *msg, 0 when none yet, -1 junk. */
static int
next_line(struct mcp_server *s, char **why, cJSON **msg)
{
    char *nl = s->line.data ? memchr(s->line.data, '\n', s->line.len) : NULL;
    if (nl == NULL) {
        if (s->line.len > LINE_MAX_BYTES) {
            *why = fxu_strdup("wrote a line over 16 MiB");
            return -1;
        }
        return 0;
    }
    size_t len = (size_t)(nl - s->line.data);
    char *text = fxu_strndup(s->line.data, len);
    memmove(s->line.data, nl + 1, s->line.len - len - 1);
    s->line.len -= len + 1;
    s->line.data[s->line.len] = '\0';
    if (text[strspn(text, " \t\r")] == '\0') {
        free(text);
        return next_line(s, why, msg);
    }
    *msg = cJSON_Parse(text);
    if (*msg == NULL || !cJSON_IsObject(*msg)) {
        if (strlen(text) > 60)
            strcpy(text + 57, "...");
        char *shown = tool_printable(text);
        *why = fxu_asprintf("wrote something that is not JSON-RPC: %s", shown);
        free(shown);
        free(text);
        cJSON_Delete(*msg);
        *msg = NULL;
        return -1;
    }
    free(text);
    return 1;
}

/* Wait for the answer to request `id`. */
static enum wait_rc
wait_answer(struct mcp_server *s, long id, double deadline,
            volatile sig_atomic_t *cancel, cJSON **out, char **why)
{
    *out = NULL;
    for (;;) {
        cJSON *msg = NULL;
        int got = next_line(s, why, &msg);
        if (got < 0)
            return MW_FATAL;
        if (got > 0) {
            const cJSON *mid = cJSON_GetObjectItem(msg, "id");
            if (cJSON_GetObjectItem(msg, "method")) {
                if (mid)
                    answer_server(s, msg, deadline);
                cJSON_Delete(msg); /* notifications: logs, progress */
                continue;
            }
            if (cJSON_IsNumber(mid) && (long)mid->valuedouble == id) {
                *out = msg;
                return MW_OK;
            }
            if (cJSON_IsNumber(mid) && mid->valuedouble >= 1 &&
                (long)mid->valuedouble < id) {
                cJSON_Delete(msg); /* a call given up on (Ctrl-C) */
                continue;
            }
            char *idtext = mid ? cJSON_PrintUnformatted(mid) : NULL;
            *why = fxu_asprintf("answered a request never sent (id %s)",
                                idtext ? idtext : "missing");
            free(idtext);
            cJSON_Delete(msg);
            return MW_FATAL;
        }
        if (cancel && *cancel)
            return MW_CANCEL;
        double left = deadline - fxu_monotonic();
        if (left <= 0)
            return MW_TIMEOUT;
        if (s->p.out < 0) {
            *why = fxu_strdup("exited");
            return MW_FATAL;
        }
        struct pollfd fds[2] = {{.fd = s->p.out, .events = POLLIN},
                                {.fd = s->p.err, .events = POLLIN}};
        poll(fds, s->p.err >= 0 ? 2 : 1,
             left > 0.1 ? 100 : (int)(left * 1000) + 1);
        size_t total = 0;
        tx_drain(&s->p.out, &s->line, LINE_MAX_BYTES + 2, &total);
        keep_log(s);
    }
}

/* A request and its answer's result.  0 with *result; else *why: 1 a
 * JSON-RPC error, -1 the server was stopped, MW_CANCEL Ctrl-C came. */
static int
request(struct mcp_server *s, const char *method, cJSON *params,
        volatile sig_atomic_t *cancel, cJSON **result, char **why)
{
    double deadline = fxu_monotonic() + s->timeout;
    long id = s->next_id++;
    cJSON *m = message(method, params, id);
    int sent = send_msg(s, m, deadline);
    cJSON_Delete(m);
    *result = NULL;
    *why = NULL;
    if (sent != 0) {
        *why = fxu_strdup("stopped reading its input");
        fail(s, *why);
        return -1;
    }
    cJSON *ans;
    enum wait_rc rc = wait_answer(s, id, deadline, cancel, &ans, why);
    if (rc == MW_CANCEL) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddNumberToObject(p, "requestId", (double)id);
        cJSON_AddStringToObject(p, "reason", "cancelled by the user");
        cJSON *n = message("notifications/cancelled", p, 0);
        send_msg(s, n, fxu_monotonic() + 1);
        cJSON_Delete(n);
        *why = fxu_strdup("cancelled");
        return MW_CANCEL;
    }
    if (rc == MW_TIMEOUT)
        *why = fxu_asprintf("no answer to %s within %g s", method, s->timeout);
    if (rc != MW_OK) {
        fail(s, *why);
        return -1;
    }
    const cJSON *err = cJSON_GetObjectItem(ans, "error");
    cJSON *res = cJSON_DetachItemFromObject(ans, "result");
    if (err || !cJSON_IsObject(res)) {
        const cJSON *msg = cJSON_GetObjectItem(err, "message");
        const cJSON *code = cJSON_GetObjectItem(err, "code");
        char *shown = tool_printable(cJSON_IsString(msg) ? msg->valuestring
                                                         : "no result");
        *why = fxu_asprintf("error %ld: %s",
                            cJSON_IsNumber(code) ? (long)code->valuedouble : 0,
                            shown);
        free(shown);
        cJSON_Delete(res);
        cJSON_Delete(ans);
        return 1;
    }
    cJSON_Delete(ans);
    *result = res;
    return 0;
}

/* ---- start, list, call, stop ------------------------------------------ */

static const char *
str_item(const cJSON *o, const char *key)
{
    const cJSON *v = cJSON_GetObjectItem(o, key);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static int
list_tools(struct mcp_server *s, volatile sig_atomic_t *cancel, char **why)
{
    char *cursor = NULL;
    for (int page = 0; page < MAX_PAGES; page++) {
        cJSON *params = cJSON_CreateObject();
        if (cursor)
            cJSON_AddStringToObject(params, "cursor", cursor);
        free(cursor);
        cursor = NULL;
        cJSON *res;
        if (request(s, "tools/list", params, cancel, &res, why) != 0)
            return -1;
        const cJSON *t;
        cJSON_ArrayForEach(t, cJSON_GetObjectItem(res, "tools"))
        {
            const char *name = str_item(t, "name");
            if (name == NULL)
                continue;
            const cJSON *schema = cJSON_GetObjectItem(t, "inputSchema");
            s->tools =
                fxu_xrealloc(s->tools, (s->ntools + 1) * sizeof(*s->tools));
            struct mcp_tool *mt = &s->tools[s->ntools++];
            mt->name = fxu_strdup(name);
            mt->description = fxu_strdup(str_item(t, "description"));
            mt->schema = cJSON_IsObject(schema)
                             ? cJSON_PrintUnformatted(schema)
                             : fxu_strdup("{\"type\":\"object\"}");
        }
        cursor = fxu_strdup(str_item(res, "nextCursor"));
        cJSON_Delete(res);
        if (cursor == NULL || *cursor == '\0') {
            free(cursor);
            return 0;
        }
    }
    free(cursor);
    return 0; /* a cursor that never ends: what came so far */
}

static int
start(struct mcp_server *s, const flexiai_tool_conf *c,
      volatile sig_atomic_t *cancel, char **why)
{
    if (tx_spawn(c->argv, c->env, &s->p, why) != 0)
        return -1;
    cJSON *params = cJSON_CreateObject();
    cJSON_AddStringToObject(params, "protocolVersion", MCP_VERSION);
    cJSON_AddObjectToObject(params, "capabilities");
    cJSON *info = cJSON_AddObjectToObject(params, "clientInfo");
    cJSON_AddStringToObject(info, "name", "flexiai");
    cJSON_AddStringToObject(info, "version", flexiai_version());
    cJSON *res;
    if (request(s, "initialize", params, cancel, &res, why) != 0)
        return -1;
    const char *v = str_item(res, "protocolVersion");
    int known = 0;
    for (int i = 0; v && versions[i]; i++)
        known |= strcmp(v, versions[i]) == 0;
    if (!known) {
        char *shown = tool_printable(v ? v : "none");
        *why = fxu_asprintf("speaks protocol version %s (flexiai: %s, "
                            "2025-06-18, 2025-03-26, 2024-11-05)",
                            shown, MCP_VERSION);
        free(shown);
        cJSON_Delete(res);
        fail(s, *why);
        return -1;
    }
    cJSON_Delete(res);
    cJSON *n = message("notifications/initialized", NULL, 0);
    int sent = send_msg(s, n, fxu_monotonic() + s->timeout);
    cJSON_Delete(n);
    if (sent != 0) {
        *why = fxu_strdup("stopped reading its input");
        fail(s, *why);
        return -1;
    }
    return list_tools(s, cancel, why);
}

static void
free_server(struct mcp_server *s)
{
    for (size_t i = 0; i < s->ntools; i++) {
        free(s->tools[i].name);
        free(s->tools[i].description);
        free(s->tools[i].schema);
    }
    free(s->tools);
    fxu_buf_free(&s->line);
    fxu_buf_free(&s->log);
    free(s->dead);
    free(s->name);
    free(s);
}

/* Stop politely: stdin closed, a moment to exit, then the group killed. */
static void
stop(struct mcp_server *s, double grace)
{
    if (s->p.in >= 0) {
        close(s->p.in);
        s->p.in = -1;
    }
    double until = fxu_monotonic() + grace;
    while (s->p.pid > 0 && fxu_monotonic() < until) {
        struct pollfd pf = {.fd = s->p.out, .events = POLLIN};
        if (s->p.out < 0)
            break;
        poll(&pf, 1, 20);
        size_t total = 0;
        fxu_buf_reset(&s->line); /* nothing more is read */
        tx_drain(&s->p.out, &s->line, LINE_MAX_BYTES, &total);
    }
    tx_stop(&s->p, 1.0);
}

static void
stop_all_at_exit(void)
{
    for (struct mcp_server *s = servers; s; s = s->next)
        stop(s, 0.2);
}

struct mcp_server *
mcp_open(const flexiai_tool_conf *c, volatile sig_atomic_t *cancel, char **err)
{
    static int registered;
    for (struct mcp_server *s = servers; s; s = s->next)
        if (strcmp(s->name, c->name) == 0) {
            if (s->dead) {
                *err = fxu_asprintf("mcp %s: %s", c->name, s->dead);
                return NULL;
            }
            s->refs++;
            return s;
        }
    if (!registered++)
        atexit(stop_all_at_exit);
    struct mcp_server *s = fxu_xcalloc(1, sizeof(*s));
    s->name = fxu_strdup(c->name);
    s->timeout = c->timeout;
    s->max_output = c->max_output > 0 ? c->max_output : 65536;
    s->next_id = 1;
    s->p.pid = 0;
    s->p.in = s->p.out = s->p.err = -1;
    fxu_buf_init(&s->line);
    fxu_buf_init(&s->log);
    s->refs = 1;
    s->next = servers;
    servers = s;
    char *why = NULL;
    if (start(s, c, cancel, &why) != 0) {
        *err = fxu_asprintf("mcp %s: %s", c->name, why ? why : "failed");
        if (s->dead == NULL)
            fail(s, why ? why : "failed");
        free(why);
        return NULL; /* kept, dead: the next open says the same */
    }
    return s;
}

size_t
mcp_tools(const struct mcp_server *s, const struct mcp_tool **tools)
{
    *tools = s->tools;
    return s->ntools;
}

/* One content item as text for the model. */
static void
describe_item(fxu_buf *b, const cJSON *item)
{
    const char *type = str_item(item, "type");
    const char *text = str_item(item, "text");
    const char *mime = str_item(item, "mimeType");
    const char *data = str_item(item, "data");
    if (type && strcmp(type, "text") == 0 && text) {
        fxu_buf_puts(b, text);
    } else if (type &&
               (strcmp(type, "image") == 0 || strcmp(type, "audio") == 0)) {
        fxu_buf_printf(b, "[%s: %s, %zu bytes of base64]", type,
                       mime ? mime : "unknown type",
                       data ? strlen(data) : (size_t)0);
    } else if (type && strcmp(type, "resource_link") == 0) {
        fxu_buf_printf(b, "[resource link: %s]",
                       str_item(item, "uri") ? str_item(item, "uri") : "?");
    } else if (type && strcmp(type, "resource") == 0) {
        const cJSON *r = cJSON_GetObjectItem(item, "resource");
        if (str_item(r, "text"))
            fxu_buf_puts(b, str_item(r, "text"));
        else
            fxu_buf_printf(b, "[resource: %s, binary]",
                           str_item(r, "uri") ? str_item(r, "uri") : "?");
    } else {
        fxu_buf_printf(b, "[content of type %s]", type ? type : "unknown");
    }
}

int
mcp_call(struct mcp_server *s, const char *tool, const char *arguments,
         volatile sig_atomic_t *cancel, char **result, int *is_error)
{
    *is_error = 1;
    if (s->dead) {
        *result = fxu_asprintf("[flexiai: MCP server %s is not running: %s]",
                               s->name, s->dead);
        return 0;
    }
    const char *a = arguments ? arguments + strspn(arguments, " \t\r\n") : "";
    cJSON *args = *a ? cJSON_Parse(a) : cJSON_CreateObject();
    if (!cJSON_IsObject(args)) {
        cJSON_Delete(args);
        *result = fxu_strdup("[flexiai: the arguments are not a JSON object; "
                             "the tool was not called]");
        return 0;
    }
    cJSON *params = cJSON_CreateObject();
    cJSON_AddStringToObject(params, "name", tool);
    cJSON_AddItemToObject(params, "arguments", args);
    cJSON *res;
    char *why;
    int rc = request(s, "tools/call", params, cancel, &res, &why);
    if (rc != 0) {
        *result = fxu_asprintf("[flexiai: MCP server %s: %s]", s->name, why);
        free(why);
        return 0;
    }
    fxu_buf b;
    fxu_buf_init(&b);
    const cJSON *item;
    int first = 1;
    cJSON_ArrayForEach(item, cJSON_GetObjectItem(res, "content"))
    {
        if (!first)
            fxu_buf_putc(&b, '\n');
        first = 0;
        describe_item(&b, item);
    }
    const cJSON *sc = cJSON_GetObjectItem(res, "structuredContent");
    if (first && sc) {
        char *j = cJSON_PrintUnformatted(sc);
        fxu_buf_puts(&b, j);
        free(j);
    }
    *is_error = cJSON_IsTrue(cJSON_GetObjectItem(res, "isError"));
    cJSON_Delete(res);
    size_t total = b.len;
    fxu_buf out;
    fxu_buf_init(&out);
    size_t kept = total > (size_t)s->max_output ? (size_t)s->max_output : total;
    char *text = fxu_utf8_sanitize(b.data ? b.data : "", kept, NULL);
    fxu_buf_puts(&out, text);
    free(text);
    tx_cut_marker(&out, kept, total);
    fxu_buf_free(&b);
    *result = fxu_buf_steal(&out);
    return 0;
}

void
mcp_close(struct mcp_server *s)
{
    if (s == NULL || --s->refs > 0)
        return;
    stop(s, 2.0);
    for (struct mcp_server **pp = &servers; *pp; pp = &(*pp)->next)
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    free_server(s);
}
