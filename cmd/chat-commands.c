/*
 * chat-commands.c - the slash commands of flexiai chat.
 *
 * Each command is one entry of chat_cmds[]: its name, argument usage, a
 * line of help, what tab completion offers, and the function that runs
 * it.  The dispatcher, /help and completion only walk the table, so adding
 * a command is adding a function and an entry.  Commands work on the
 * conversation (chat-conv.h) and nothing else of the chat.
 *
 * Commands print results on stdout, confirmations through chat_conv_info()
 * (terminal only, so a script's stdout stays replies) and failures as one
 * "flexiai: ..." line, returning the exit code the failure deserves.
 */
#include "config.h"

#include "chat-commands.h"

#include <ctype.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int
bad_usage(struct chat_conv *c, const char *name)
{
    const struct chat_cmd *cmd = chat_cmd_find(name, strlen(name), NULL);
    if (cmd && cmd->args[0])
        chat_conv_error(c, "usage: /%s %s", cmd->name, cmd->args);
    else
        chat_conv_error(c, "usage: /%s (takes no arguments)", name);
    return FLEXIAI_EUSAGE;
}

static int
no_args(struct chat_conv *c, const char *name, const char *args)
{
    if (args[0] == '\0')
        return 0;
    return bad_usage(c, name);
}

/* The first word of *args (NUL-terminated in place); *args moves past it. */
static char *
next_word(char **args)
{
    char *p = *args;
    while (isspace((unsigned char)*p))
        p++;
    if (*p == '\0')
        return NULL;
    char *word = p;
    while (*p && !isspace((unsigned char)*p))
        p++;
    if (*p)
        *p++ = '\0';
    while (isspace((unsigned char)*p))
        p++;
    *args = p;
    return word;
}

/* A leading ~ or ~user, as the shell expands it; caller frees. */
static char *
expand_path(const char *path)
{
    if (path[0] != '~')
        return fxu_strdup(path);
    size_t len = strcspn(path + 1, "/");
    const char *home = NULL;
    if (len == 0) {
        home = getenv("HOME");
        if (home == NULL) {
            struct passwd *pw = getpwuid(getuid());
            home = pw ? pw->pw_dir : NULL;
        }
    } else {
        char *user = fxu_strndup(path + 1, len);
        struct passwd *pw = getpwnam(user);
        free(user);
        home = pw ? pw->pw_dir : NULL;
    }
    if (home == NULL)
        return fxu_strdup(path); /* unknown user: as it was */
    return fxu_asprintf("%s%s", home, path + 1 + len);
}

/* "no provider 'nope' (did you mean 'a'?)", as the other commands say. */
static int
unknown_provider(struct chat_conv *c, const char *name)
{
    char *msg = tool_no_provider(c->cfg, name);
    chat_conv_error(c, "%s", msg);
    free(msg);
    return FLEXIAI_EUSAGE;
}

/* "/p: /provider or /providers?" for an ambiguous prefix, "unknown
 * command" otherwise; returns 64. */
static int
no_such_command(struct chat_conv *c, const char *name, size_t len)
{
    size_t n = 0;
    for (size_t i = 0; i < chat_ncmds; i++)
        if (strncmp(chat_cmds[i].name, name, len) == 0)
            n++;
    if (len == 0 || n < 2) {
        chat_conv_error(c, "unknown command '/%.*s' (try /help)", (int)len,
                        name);
        return FLEXIAI_EUSAGE;
    }
    fxu_buf list;
    fxu_buf_init(&list);
    size_t k = 0;
    for (size_t i = 0; i < chat_ncmds; i++) {
        if (strncmp(chat_cmds[i].name, name, len) != 0)
            continue;
        k++;
        fxu_buf_printf(&list, "%s/%s",
                       k == 1   ? ""
                       : k == n ? " or "
                                : ", ",
                       chat_cmds[i].name);
    }
    chat_conv_error(c, "/%.*s: %s?", (int)len, name, list.data);
    fxu_buf_free(&list);
    return FLEXIAI_EUSAGE;
}

/* ---- the commands -------------------------------------------------------- */

static int
cmd_help(struct chat_conv *c, char *args)
{
    if (args[0]) {
        const char *name = args[0] == '/' ? args + 1 : args;
        const struct chat_cmd *cmd = chat_cmd_find(name, strlen(name), NULL);
        if (cmd == NULL)
            return no_such_command(c, name, strlen(name));
        printf("usage: /%s%s%s\n%s\n", cmd->name, cmd->args[0] ? " " : "",
               cmd->args, cmd->help);
        fflush(stdout);
        return 0;
    }
    size_t width = 0;
    for (size_t i = 0; i < chat_ncmds; i++) {
        size_t w = strlen(chat_cmds[i].name) + 1 +
                   (chat_cmds[i].args[0] ? strlen(chat_cmds[i].args) + 1 : 0);
        if (w > width)
            width = w;
    }
    for (size_t i = 0; i < chat_ncmds; i++) {
        char head[128];
        snprintf(head, sizeof(head), "/%s%s%s", chat_cmds[i].name,
                 chat_cmds[i].args[0] ? " " : "", chat_cmds[i].args);
        printf("  %-*s  %s\n", (int)width, head, chat_cmds[i].help);
    }
    printf("\nA line ending in \\ continues on the next line; \"\"\" opens "
           "and closes a block.\nA line starting with // sends the rest "
           "starting with /.  Ctrl-C stops a reply,\nCtrl-D or /exit "
           "leaves.  Commands may be shortened to a unique prefix.\n");
    fflush(stdout);
    return 0;
}

static int
cmd_system(struct chat_conv *c, char *args)
{
    if (args[0] == '\0') {
        const char *sys = chat_conv_system(c);
        if (sys == NULL) {
            sys = flexiai_config_system(c->cfg);
            if (sys && *sys) {
                printf("%s\n", sys);
                chat_conv_info(c, "(from the configuration)");
            } else {
                chat_conv_info(c, "no system prompt");
            }
        } else {
            printf("%s\n", sys);
        }
        fflush(stdout);
        return 0;
    }
    if (strcmp(args, "-") == 0) {
        chat_conv_set_system(c, NULL);
        chat_conv_info(c, "system prompt removed");
    } else {
        chat_conv_set_system(c, args);
        chat_conv_info(c, "system prompt set");
    }
    chat_conv_save_session(c);
    return 0;
}

static int
cmd_model(struct chat_conv *c, char *args)
{
    const char *prov = chat_conv_shown_provider(c);
    if (prov == NULL) {
        chat_conv_error(c, "no provider is configured");
        return FLEXIAI_ECONFIG;
    }
    if (args[0] == '\0') {
        printf("%s:%s\n", prov, chat_conv_model(c, prov));
        fflush(stdout);
        return 0;
    }
    if (strpbrk(args, " \t\n"))
        return bad_usage(c, "model");
    /* the provider name may go away when the client is rebuilt */
    char *name = fxu_strdup(prov);
    int rc = chat_conv_set_model(c, name, args);
    if (rc == 0)
        chat_conv_info(c, "model of %s: %s", name, args);
    free(name);
    return rc;
}

static int
cmd_provider(struct chat_conv *c, char *args)
{
    if (args[0] == '\0') {
        if (c->provider) {
            printf("%s\n", c->provider);
        } else {
            const char *const *names;
            size_t n = chat_conv_providers(c, &names);
            printf("auto (failover order:");
            for (size_t i = 0; i < n; i++)
                printf("%s %s", i ? "," : "", names[i]);
            printf(")\n");
        }
        fflush(stdout);
        return 0;
    }
    if (strpbrk(args, " \t\n"))
        return bad_usage(c, "provider");
    if (strcmp(args, "auto") == 0) {
        chat_conv_set_provider(c, NULL);
        chat_conv_info(c, "provider: auto (failover in configured order)");
        chat_conv_save_session(c); /* the session keeps the choice */
        return 0;
    }
    if (!chat_conv_provider_known(c, args))
        return unknown_provider(c, args);
    chat_conv_set_provider(c, args);
    chat_conv_info(c, "provider: %s (no failover)", args);
    chat_conv_save_session(c);
    return 0;
}

static int
cmd_providers(struct chat_conv *c, char *args)
{
    if (no_args(c, "providers", args))
        return FLEXIAI_EUSAGE;
    flexiai_breaker_info *info = NULL;
    size_t n = 0;
    int rc = flexiai_breaker_status(c->client, NULL, 0, &info, &n);
    if (rc != 0 && n == 0) {
        chat_conv_error(c, "cannot read breaker state: %s",
                        flexiai_client_error(c->client));
        return rc;
    }
    size_t wname = 4, wmodel = 5;
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(info[i].provider);
        if (l > wname)
            wname = l;
        l = strlen(chat_conv_model(c, info[i].provider));
        if (l > wmodel)
            wmodel = l;
    }
    const char *shown = chat_conv_shown_provider(c);
    double now = fxu_wallclock();
    printf("  %-*s  %-*s  %s\n", (int)wname, "NAME", (int)wmodel, "MODEL",
           "BREAKER");
    for (size_t i = 0; i < n; i++) {
        char state[256];
        tool_breaker_describe(&info[i], now, state, sizeof(state));
        int active = shown && strcmp(shown, info[i].provider) == 0;
        printf("%c %-*s  %-*s  %s\n", active ? '*' : ' ', (int)wname,
               info[i].provider, (int)wmodel,
               chat_conv_model(c, info[i].provider), state);
    }
    fflush(stdout);
    if (rc != 0)
        chat_conv_error(c, "breaker store unreachable; state from the %s store",
                        n ? flexiai_backend_name(info[0].backend) : "fallback");
    flexiai_breaker_info_free(info, n);
    return 0;
}

static int
cmd_breaker(struct chat_conv *c, char *args)
{
    char *verb = next_word(&args);
    char *name = next_word(&args);
    if (verb == NULL || strcmp(verb, "reset") != 0 || name == NULL ||
        args[0] != '\0')
        return bad_usage(c, "breaker");
    if (!chat_conv_provider_known(c, name))
        return unknown_provider(c, name);
    /* before: the event may reach the watcher before the call returns */
    if (c->on_reset)
        c->on_reset(c->on_reset_ud, name);
    int rc = flexiai_breaker_reset(c->client, name);
    if (rc != 0) {
        if (c->on_reset)
            c->on_reset(c->on_reset_ud, NULL);
        chat_conv_error(c, "cannot reset %s: %s", name,
                        flexiai_client_error(c->client));
        return rc;
    }
    chat_conv_info(c, "breaker of %s reset (closed)", name);
    return 0;
}

static int
cmd_retry(struct chat_conv *c, char *args)
{
    if (no_args(c, "retry", args))
        return FLEXIAI_EUSAGE;
    char *question = chat_conv_take_retry(c);
    if (question == NULL) {
        chat_conv_error(c, "nothing to retry");
        return FLEXIAI_ENOINPUT;
    }
    int rc = chat_conv_turn(c, question);
    free(question);
    return rc;
}

/* /show: the conversation so far, each message after its role, with the
 * conversation id the ledger keeps it under (flexiai logs --cid). */
static int
cmd_show(struct chat_conv *c, char *args)
{
    if (no_args(c, "show", args))
        return FLEXIAI_EUSAGE;
    chat_conv_info(c, "conversation %s, %zu message%s", chat_conv_cid(c),
                   c->msgs.n, c->msgs.n == 1 ? "" : "s");
    for (size_t i = 0; i < c->msgs.n; i++) {
        const flexiai_message *m = &c->msgs.v[i];
        const char *who = strcmp(m->role, "user") == 0        ? "you"
                          : strcmp(m->role, "assistant") == 0 ? "answer"
                                                              : m->role;
        printf("%s%s", i ? "\n" : "", who);
        chat_conv_attach_names(m, stdout);
        printf(":\n%s\n", m->content);
    }
    chat_conv_attach_list(c, stdout);
    fflush(stdout);
    return 0;
}

static int
cmd_undo(struct chat_conv *c, char *args)
{
    if (no_args(c, "undo", args))
        return FLEXIAI_EUSAGE;
    if (chat_conv_undo(c) != 0) {
        chat_conv_error(c, "nothing to undo");
        return FLEXIAI_ENOINPUT;
    }
    chat_conv_info(c, "dropped the last exchange");
    chat_conv_save_session(c);
    return 0;
}

/* /reasoning: the last reply's reasoning in full (shown folded). */
static int
cmd_reasoning(struct chat_conv *c, char *args)
{
    if (no_args(c, "reasoning", args))
        return FLEXIAI_EUSAGE;
    if (c->last_reasoning == NULL || c->out->reasoning == NULL) {
        chat_conv_error(c, "the last reply came without reasoning");
        return FLEXIAI_ENOINPUT;
    }
    c->out->reasoning(c->out->ud, c->last_reasoning, 1);
    return 0;
}

/* /schema SPEC: answers are JSON matching SPEC (as complete --schema);
 * /schema off ends it; /schema alone shows it. */
static int
cmd_schema(struct chat_conv *c, char *args)
{
    if (args[0] == '\0') {
        if (c->schema == NULL) {
            chat_conv_info(c, "no schema: answers are text");
            return 0;
        }
        char *text = flexiai_schema_text(c->schema);
        printf("%s\n", text);
        fflush(stdout);
        free(text);
        return 0;
    }
    if (strcmp(args, "off") == 0) {
        flexiai_schema_free(c->schema);
        c->schema = NULL;
        chat_conv_info(c, "schema off: answers are text");
        return 0;
    }
    flexiai_schema *s = NULL;
    char *err = NULL;
    int rc = flexiai_schema_load(args, 0, &s, &err);
    if (rc != FLEXIAI_OK) {
        tool_err("%s", err ? err : "schema refused");
        free(err);
        return rc;
    }
    flexiai_schema_free(c->schema);
    c->schema = s;
    chat_conv_info(c, "schema set: answers are JSON matching it");
    return 0;
}

static int
cmd_clear(struct chat_conv *c, char *args)
{
    if (no_args(c, "clear", args))
        return FLEXIAI_EUSAGE;
    chat_conv_clear(c, 1);
    chat_conv_info(c, "conversation cleared%s",
                   chat_conv_system(c) ? " (the system prompt stays)" : "");
    chat_conv_save_session(c);
    return 0;
}

static int
cmd_save(struct chat_conv *c, char *args)
{
    if (args[0] == '\0')
        return bad_usage(c, "save");
    char *path = expand_path(args);
    char *err = NULL;
    int rc = chat_conv_save(c, path, &err);
    if (rc != 0) {
        chat_conv_error(c, "%s", err);
        free(err);
    } else {
        chat_conv_info(c, "saved %zu message%s to %s", c->msgs.n,
                       c->msgs.n == 1 ? "" : "s", path);
    }
    free(path);
    return rc;
}

static int
cmd_load(struct chat_conv *c, char *args)
{
    if (args[0] == '\0')
        return bad_usage(c, "load");
    char *path = expand_path(args);
    char *err = NULL;
    int rc = chat_conv_load(c, path, &err);
    if (rc != 0) {
        c->load_failed = rc;
        chat_conv_error(c, "%s", err);
        free(err);
        free(path);
        return rc;
    }
    chat_conv_info(c, "loaded %zu message%s from %s", c->msgs.n,
                   c->msgs.n == 1 ? "" : "s", path);
    free(path);
    chat_conv_save_session(c);
    return 0;
}

static int
cmd_render(struct chat_conv *c, char *args)
{
    const char *why = NULL;
    if (args[0] == '\0') {
        if (c->out->render(c->out->ud, -1, &why))
            printf("on\n");
        else
            printf("off (%s)\n", why);
        fflush(stdout);
        return 0;
    }
    int want = strcmp(args, "on") == 0 ? 1 : strcmp(args, "off") == 0 ? 0 : -1;
    if (want < 0)
        return bad_usage(c, "render");
    if (c->out->render(c->out->ud, want, &why))
        chat_conv_info(c, "Markdown rendering on");
    else if (want)
        chat_conv_info(c, "Markdown rendering stays off: %s", why);
    else
        chat_conv_info(c, "Markdown rendering off: replies as they come");
    return 0;
}

/* /attach FILE|URL, /detach [NAME] (chat-attach.c) */
static int
cmd_attach(struct chat_conv *c, char *args)
{
    return chat_conv_attach(c, args, NULL);
}

static int
cmd_detach(struct chat_conv *c, char *args)
{
    return chat_conv_detach(c, args);
}

static int
cmd_exit(struct chat_conv *c, char *args)
{
    if (no_args(c, "exit", args))
        return FLEXIAI_EUSAGE;
    c->quit = 1;
    return 0;
}

const struct chat_cmd chat_cmds[] = {
    {"help", "[COMMAND]", "list the commands, or explain one",
     CHAT_COMPLETE_COMMAND, cmd_help},
    {"system", "[TEXT|-]", "show the system prompt, set it, or remove it (-)",
     CHAT_COMPLETE_NONE, cmd_system},
    {"model", "[NAME]", "show or set the model of the provider in the prompt",
     CHAT_COMPLETE_NONE, cmd_model},
    {"provider", "[NAME|auto]",
     "show or choose the provider (auto: failover in configured order)",
     CHAT_COMPLETE_PROVIDER, cmd_provider},
    {"providers", "", "list the configured providers with breaker state",
     CHAT_COMPLETE_NONE, cmd_providers},
    {"breaker", "reset NAME", "close a provider's circuit breaker",
     CHAT_COMPLETE_BREAKER, cmd_breaker},
    {"schema", "[SPEC|off]",
     "answer with JSON matching SPEC (as complete --schema), or text again",
     CHAT_COMPLETE_FILE, cmd_schema},
    {"show", "", "show the conversation so far and its id", CHAT_COMPLETE_NONE,
     cmd_show},
    {"retry", "", "ask the last question again", CHAT_COMPLETE_NONE, cmd_retry},
    {"undo", "", "drop the last exchange", CHAT_COMPLETE_NONE, cmd_undo},
    {"reasoning", "", "show the last reply's reasoning in full",
     CHAT_COMPLETE_NONE, cmd_reasoning},
    {"tools", "", "list the tools of this chat (--tools), which ask first",
     CHAT_COMPLETE_NONE, chat_tools_show},
    {"clear", "", "start the conversation afresh (keeps the system prompt)",
     CHAT_COMPLETE_NONE, cmd_clear},
    {"save", "FILE", "write the conversation as JSON", CHAT_COMPLETE_FILE,
     cmd_save},
    {"load", "FILE", "replace the conversation with a saved one",
     CHAT_COMPLETE_FILE, cmd_load},
    {"render", "[on|off]",
     "show or switch Markdown rendering of replies (a terminal only)",
     CHAT_COMPLETE_RENDER, cmd_render},
    {"exit", "", "leave (as Ctrl-D does)", CHAT_COMPLETE_NONE, cmd_exit},
    {"attach", "FILE|URL",
     "send a file with your next message (image, PDF, text)",
     CHAT_COMPLETE_FILE, cmd_attach},
    {"detach", "[NAME]", "take back an attached file (all without NAME)",
     CHAT_COMPLETE_NONE, cmd_detach},
    {"fragment", "[FILE|URL|NAME]",
     "put a fragment before the next question (none: list them)",
     CHAT_COMPLETE_FILE, chat_cmd_fragment},
};
const size_t chat_ncmds = sizeof(chat_cmds) / sizeof(chat_cmds[0]);

const struct chat_cmd *
chat_cmd_find(const char *name, size_t len, int *ambiguous)
{
    const struct chat_cmd *found = NULL;
    int matches = 0;
    if (ambiguous)
        *ambiguous = 0;
    if (len == 0)
        return NULL;
    for (size_t i = 0; i < chat_ncmds; i++) {
        if (strncmp(chat_cmds[i].name, name, len) != 0)
            continue;
        if (chat_cmds[i].name[len] == '\0')
            return &chat_cmds[i];
        found = &chat_cmds[i];
        matches++;
    }
    if (matches == 1)
        return found;
    if (matches > 1 && ambiguous)
        *ambiguous = 1;
    return NULL;
}

int
chat_command(struct chat_conv *c, const char *line)
{
    const char *p = line;
    while (isspace((unsigned char)*p))
        p++;
    p++; /* the slash */
    size_t len = strcspn(p, " \t\n");
    const struct chat_cmd *cmd = chat_cmd_find(p, len, NULL);
    if (cmd == NULL)
        return no_such_command(c, p, len);
    char *args = fxu_strdup(p + len);
    int rc = cmd->exec(c, fxu_trim(args));
    free(args);
    return rc;
}
