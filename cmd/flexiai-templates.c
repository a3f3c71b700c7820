/*
 * flexiai-templates - the saved prompt templates (tool-template.h): list
 * them with what each is for, show one, say where they live.  A template
 * is used with --template NAME on complete, chat and batch.
 */
#include "config.h"

#include "tool-template.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct tool_option *const templates_groups[] = {tool_opts_global,
                                                             NULL};

/* The first line of s, at most 60 bytes (whole UTF-8 characters). */
static void
put_summary(fxu_buf *b, const char *s)
{
    size_t len = strcspn(s, "\n");
    if (len > 60) {
        len = 60;
        while (len > 0 && ((unsigned char)s[len] & 0xC0) == 0x80)
            len--;
    }
    fxu_buf_append(b, s, len);
    if (len < strcspn(s, "\n") || s[len] == '\n')
        fxu_buf_puts(b, "\xe2\x80\xa6");
}

static int
cmd_list(void *ctx, struct tool_args *a, int argc, char **argv)
{
    (void)ctx;
    (void)a;
    (void)argv;
    if (argc > 1)
        tool_usage_error("list takes no argument");
    char *names = NULL;
    size_t size = 0;
    FILE *mem = open_memstream(&names, &size);
    if (mem == NULL)
        tool_die(FLEXIAI_ESOFTWARE, "out of memory");
    tool_template_names(mem);
    fclose(mem);
    int rc = 0;
    for (char *name = names, *nl; name && *name; name = nl + 1) {
        nl = strchr(name, '\n');
        *nl = '\0';
        struct tool_template t;
        char *err = NULL;
        fxu_buf b;
        fxu_buf_init(&b);
        fxu_buf_printf(&b, "%-16s ", name);
        if (tool_template_load(name, &t, &err) != 0) {
            /* listed, and the command says so in its exit code */
            fxu_buf_printf(&b, "(not usable: %s)", err);
            free(err);
            rc = FLEXIAI_ECONFIG;
        } else {
            const char *what = t.system ? t.system : t.prompt ? t.prompt : "";
            if (t.system && !t.prompt)
                fxu_buf_puts(&b, "role: ");
            put_summary(&b, what);
            tool_template_free(&t);
        }
        char *clean = tool_printable(b.data);
        tool_outs(clean);
        tool_outs("\n");
        free(clean);
        fxu_buf_free(&b);
    }
    free(names);
    return rc;
}

static int
cmd_show(void *ctx, struct tool_args *a, int argc, char **argv)
{
    (void)ctx;
    (void)a;
    if (argc != 2)
        tool_usage_error("show needs one template NAME");
    struct tool_template t;
    char *err = NULL;
    int rc = tool_template_load(argv[1], &t, &err);
    if (rc != 0)
        tool_die(rc, "%s", err);
    char *why = NULL;
    FILE *fp = tool_open_input(t.path, &why);
    if (fp == NULL)
        tool_die(FLEXIAI_ENOINPUT, "%s", why);
    fxu_buf b;
    fxu_buf_init(&b);
    rc = tool_read_bounded(fp, t.path, &b, &why);
    fclose(fp);
    if (rc != 0)
        tool_die(rc, "%s", why);
    tool_out_text(b.data ? b.data : "", b.len);
    tool_out_text_end();
    if (b.len && b.data[b.len - 1] != '\n')
        tool_outs("\n");
    fxu_buf_free(&b);
    tool_template_free(&t);
    return 0;
}

static int
cmd_path(void *ctx, struct tool_args *a, int argc, char **argv)
{
    (void)ctx;
    (void)a;
    if (argc > 2)
        tool_usage_error("path takes at most one template NAME");
    char *p = argc == 2 ? tool_template_path(argv[1]) : tool_template_dir();
    tool_outs(p);
    tool_outs("\n");
    free(p);
    return 0;
}

static const struct tool_subcommand templates_subs[] = {
    {"list", "", "each template and the first line of what it says", NULL,
     cmd_list, TOOL_COMP_NONE},
    {"show", "NAME", "print template NAME's file", NULL, cmd_show,
     TOOL_COMP_TEMPLATE},
    {"path", "[NAME]", "the directory templates live in (or NAME's file)", NULL,
     cmd_path, TOOL_COMP_TEMPLATE},
    {NULL, NULL, NULL, NULL, NULL, 0},
};

static const struct tool_command templates_cmd = {
    .name = "templates",
    .synopsis = "COMMAND [NAME]",
    .description =
        "Prompt templates: ${XDG_CONFIG_HOME:-~/.config}/flexiai/templates/"
        "NAME.ini,\nused with --template NAME on complete, chat and batch.",
    .groups = templates_groups,
    .subs = templates_subs,
    .footer = "Exit codes: 0 ok, 64 usage, 66 no such template, 78 a template "
              "file is not\nusable (FILE:LINE says why).  See "
              "flexiai-templates(1).",
};

int
main(int argc, char **argv)
{
    struct tool_args a;
    tool_args_init(&a);
    tool_cmd_init("flexiai templates");
    int first = tool_parse(&templates_cmd, NULL, argc, argv, 1, &a, NULL, NULL);
    char *names = tool_sub_names(&templates_cmd);
    if (first >= argc)
        tool_usage_error("missing command (%s)", names);
    const struct tool_subcommand *sub =
        tool_find_sub(&templates_cmd, argv[first]);
    if (sub == NULL)
        tool_usage_error("unknown command '%s' (%s)", argv[first], names);
    free(names);
    int n = argc - first;
    char **v = argv + first;
    int rest = tool_parse(&templates_cmd, sub, n, v, 0, &a, NULL, NULL);
    int rc = sub->run(NULL, &a, 1 + n - rest, v + rest - 1);
    tool_out_flush();
    tool_args_free(&a);
    return rc;
}
