/*
 * tools.c - the tools of one run (tools.h): the names of --tools resolved
 * to [tool.NAME] sections and [mcp.NAME] servers (started here), their
 * definitions for a request, who may run without asking, and a call sent
 * to tools-exec.c or tools-mcp.c.
 */
#include "config.h"

#include "tool.h"
#include "tools-int.h"
#include "tools.h"

#include <stdlib.h>
#include <string.h>

struct entry {
    const flexiai_tool_conf *conf; /* its section */
    struct mcp_server *server;     /* MCP: its server */
    const char *mcp_name;          /* MCP: the server's name for it */
};

struct tools {
    flexiai_tool *defs; /* strings owned here */
    struct entry *entries;
    size_t n;
    struct mcp_server **servers;
    size_t nservers;
};

static const struct entry *
find(const struct tools *t, const char *name, size_t *at)
{
    for (size_t i = 0; t && name && i < t->n; i++)
        if (strcmp(t->defs[i].name, name) == 0) {
            if (at)
                *at = i;
            return &t->entries[i];
        }
    return NULL;
}

static void
add(struct tools *t, const flexiai_tool_conf *c, char *name, char *desc,
    char *params, struct mcp_server *server, const char *mcp_name)
{
    if (find(t, name, NULL)) { /* the first of two equal names wins */
        free(name);
        free(desc);
        free(params);
        return;
    }
    t->defs = fxu_xrealloc(t->defs, (t->n + 1) * sizeof(*t->defs));
    t->entries = fxu_xrealloc(t->entries, (t->n + 1) * sizeof(*t->entries));
    t->defs[t->n] = (flexiai_tool){name, desc, params};
    t->entries[t->n] = (struct entry){c, server, mcp_name};
    t->n++;
}

/* SERVER_TOOL with every byte a provider refuses as '_', at most 64. */
static char *
mcp_tool_name(const char *server, const char *tool)
{
    char *n = fxu_asprintf("%s_%s", server, tool);
    for (char *p = n; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '_' || *p == '-'))
            *p = '_';
    if (strlen(n) > 64)
        n[64] = '\0';
    return n;
}

/* A [tool.NAME]'s parameters as JSON Schema text: JSON Schema or the
 * DSL compiled; an object with no properties when unset. */
static int
tool_schema(const flexiai_tool_conf *c, char **out, char **err)
{
    if (c->parameters == NULL) {
        *out = fxu_strdup("{\"type\":\"object\",\"properties\":{}}");
        return 0;
    }
    flexiai_schema *s = NULL;
    char *why = NULL;
    if (flexiai_schema_load_inline(c->parameters, 0, &s, &why) != FLEXIAI_OK) {
        *err = fxu_asprintf("%s: tool.%s.parameters: %s", c->where, c->name,
                            why ? why : "not a schema");
        free(why);
        return -1;
    }
    *out = flexiai_schema_text(s);
    flexiai_schema_free(s);
    return 0;
}

static int
open_one(struct tools *t, const flexiai_tool_conf *c, char **err)
{
    if (!c->is_mcp) {
        char *params;
        if (tool_schema(c, &params, err) != 0)
            return -1;
        add(t, c, fxu_strdup(c->name), fxu_strdup(c->description), params, NULL,
            NULL);
        return 0;
    }
    struct mcp_server *s = mcp_open(c, &tool_stop, err);
    if (s == NULL)
        return -1;
    t->servers =
        fxu_xrealloc(t->servers, (t->nservers + 1) * sizeof(*t->servers));
    t->servers[t->nservers++] = s;
    const struct mcp_tool *mt;
    size_t n = mcp_tools(s, &mt);
    for (size_t i = 0; i < n; i++)
        add(t, c, mcp_tool_name(c->name, mt[i].name),
            fxu_strdup(mt[i].description), fxu_strdup(mt[i].schema), s,
            mt[i].name);
    return 0;
}

static char *
configured_names(const flexiai_tool_conf *confs, size_t n)
{
    fxu_buf b;
    fxu_buf_init(&b);
    for (size_t i = 0; i < n; i++)
        fxu_buf_printf(&b, "%s%s", i ? ", " : "", confs[i].name);
    return n ? fxu_buf_steal(&b) : fxu_strdup("none");
}

int
tools_open(const flexiai_config *cfg, const char *list, struct tools **out,
           char **err)
{
    const flexiai_tool_conf *confs;
    size_t nc = flexiai_config_tools(cfg, &confs);
    struct tools *t = fxu_xcalloc(1, sizeof(*t));
    *out = NULL;
    *err = NULL;
    char *copy = fxu_strdup(list ? list : "");
    char *save = NULL;
    unsigned char *used = fxu_xcalloc(nc + 1, 1);
    int rc = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok && rc == 0;
         tok = strtok_r(NULL, ",", &save)) {
        fxu_trim(tok);
        if (*tok == '\0')
            continue;
        int all = strcmp(tok, "all") == 0, found = 0;
        for (size_t i = 0; i < nc && rc == 0; i++) {
            if (!all && strcmp(confs[i].name, tok) != 0)
                continue;
            found = 1;
            if (!used[i]++)
                rc = open_one(t, &confs[i], err);
        }
        if (!found && !all) {
            char *names = configured_names(confs, nc);
            const char **v = fxu_xcalloc(nc + 1, sizeof(*v));
            for (size_t i = 0; i < nc; i++)
                v[i] = confs[i].name;
            const char *sugg = tool_suggest(tok, v, nc);
            char *shown = tool_printable(tok);
            if (sugg)
                *err = fxu_asprintf("no tool or MCP server '%s' (did you mean "
                                    "'%s'?)",
                                    shown, sugg);
            else
                *err = fxu_asprintf("no tool or MCP server '%s' in the "
                                    "configuration (configured: %s)",
                                    shown, names);
            free(shown);
            free(v);
            free(names);
            rc = -1;
        }
    }
    free(used);
    free(copy);
    if (rc != 0) {
        tools_close(t);
        return -1;
    }
    *out = t;
    return 0;
}

size_t
tools_defs(const struct tools *t, const flexiai_tool **defs)
{
    *defs = t ? t->defs : NULL;
    return t ? t->n : 0;
}

static int
in_list(const char *list, const char *name)
{
    if (list == NULL || name == NULL)
        return 0;
    size_t len = strlen(name);
    for (const char *p = list; *p;) {
        p += strspn(p, ", \t");
        size_t w = strcspn(p, ",");
        size_t end = w;
        while (end > 0 && (p[end - 1] == ' ' || p[end - 1] == '\t'))
            end--;
        if ((end == len && strncmp(p, name, len) == 0) ||
            (end == 3 && strncmp(p, "all", 3) == 0))
            return 1;
        p += w;
    }
    return 0;
}

int
tools_auto(const struct tools *t, const char *name, const char *approve_list)
{
    const struct entry *e = find(t, name, NULL);
    if (e == NULL)
        return 0;
    return e->conf->approve_auto || in_list(approve_list, name) ||
           (e->server && in_list(approve_list, e->conf->name));
}

int
tools_call(struct tools *t, const flexiai_tool_call *call,
           volatile sig_atomic_t *cancel, char **result, int *is_error,
           char **err)
{
    const struct entry *e = find(t, call->name, NULL);
    *result = NULL;
    *is_error = 0;
    if (e == NULL) {
        char *shown = tool_printable(call->name ? call->name : "");
        *err = fxu_asprintf("no tool '%s' in this run", shown);
        free(shown);
        return -1;
    }
    if (e->server)
        return mcp_call(e->server, e->mcp_name, call->arguments, cancel, result,
                        is_error);
    return tx_run(e->conf, call->arguments ? call->arguments : "", cancel,
                  result, is_error);
}

void
tools_close(struct tools *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n; i++) {
        free((char *)t->defs[i].name);
        free((char *)t->defs[i].description);
        free((char *)t->defs[i].parameters);
    }
    free(t->defs);
    free(t->entries);
    for (size_t i = 0; i < t->nservers; i++)
        mcp_close(t->servers[i]);
    free(t->servers);
    free(t);
}

const char *
tools_source(const struct tools *t, const char *name, int *is_mcp)
{
    const struct entry *e = find(t, name, NULL);
    if (is_mcp)
        *is_mcp = e && e->server;
    return e ? e->conf->name : NULL;
}

const char *
tools_description(const struct tools *t, const char *name)
{
    size_t at;
    return find(t, name, &at) ? t->defs[at].description : NULL;
}
