/*
 * test-template.c - templates without a request (cmd/tool-template.c):
 * the file read line by line (continuations, comments, [params], the
 * FILE:LINE of a mistake), parameters put in ($input, $name, ${name},
 * $$, a missing one), the prompt made around the input, and the
 * fragments' rendering (cmd/tool-fragment.c).
 */
#include "config.h"

#include "tap.h"
#include "tool-template.h"

#include <stdlib.h>
#include <string.h>

static int
parse(const char *text, struct tool_template *t, char **err)
{
    *err = NULL;
    return tool_template_parse(text, "t.ini", t, err);
}

static void
test_parse(void)
{
    struct tool_template t;
    char *err;
    is_int(parse("# comment\n"
                 "; another\n"
                 "system = You are $who.\n"
                 "prompt = first line\n"
                 "    second line\n"
                 "\n"
                 "\tafter a blank\n"
                 "model = m1\n"
                 "temperature = 0.5\n"
                 "fragments = a, b ,, c\n"
                 "attachments = x.png\n"
                 "[params]\n"
                 "who = a cat\n",
                 &t, &err),
           0, "a full template parses");
    is_str(t.system, "You are $who.", "system");
    is_str(t.prompt, "first line\nsecond line\n\nafter a blank",
           "a value goes on over indented lines, blank lines between kept");
    is_str(t.model, "m1", "model");
    is_str(t.temperature, "0.5", "temperature");
    is_int((long)t.nfragments, 3, "fragments split at commas, empty dropped");
    ok(t.nfragments == 3 && strcmp(t.fragments[1], "b") == 0,
       "... and trimmed");
    ok(t.nattachments == 1 && strcmp(t.attachments[0], "x.png") == 0,
       "attachments kept for the -a code path");
    ok(t.ndefaults == 1 && strcmp(t.defaults[0].value, "a cat") == 0,
       "[params] defaults");
    tool_template_free(&t);

    is_int(parse("prompt = x\n\n\nmodel = m\n", &t, &err), 0,
           "trailing blank lines end a value");
    is_str(t.prompt, "x", "... and are not part of it");
    tool_template_free(&t);

    static const struct {
        const char *text, *err;
    } bad[] = {
        {"system = a\nnonsense\n", "t.ini:2: expected KEY = VALUE"},
        {"systm = a\n", "t.ini:1: unknown key"},
        {"temperature = 3\n", "t.ini:1: temperature must be a number"},
        {"max_tokens = 0\n", "t.ini:1: max_tokens must be a positive"},
        {"reasoning = lots\n", "t.ini:1: reasoning must be none"},
        {"model =\n", "t.ini:1: an empty value"},
        {"[defaults]\n", "t.ini:1: the one section is [params]"},
        {"  indented = x\n", "t.ini:1: an indented line"},
        {"[params]\nbad-name = x\n", "t.ini:2: a parameter name"},
        {"= x\n", "t.ini:1: a value with no key"},
        {"prompt = a\n  more\nmodel =\n", "t.ini:3: an empty value"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = parse(bad[i].text, &t, &err);
        is_int(rc, FLEXIAI_ECONFIG, "a bad template is 78: %s", bad[i].err);
        ok(err && strncmp(err, bad[i].err, strlen(bad[i].err)) == 0,
           "... with FILE:LINE (%s)", err ? err : "no message");
        free(err);
    }
}

static void
test_subst(void)
{
    struct tool_template t;
    char *err, *out;
    parse("prompt = x\n[params]\nlang = C\nlevel = 2\n", &t, &err);
    struct tool_kv p[] = {{"level", "9"}, {"who", "Ann"}, {"level", "10"}};
    is_int(tool_template_subst("$lang ${who}s level $level, $$5, $ 1, $$input, "
                               "${in, $input.",
                               "IN", &t, p, 3, &out, &err),
           0, "parameters are put in");
    is_str(out, "C Anns level 10, $5, $ 1, $input, ${in, IN.",
           "-P over [params], the last -P wins, $$ and lone $ kept");
    free(out);
    is_int(tool_template_subst("a $missing b", NULL, &t, NULL, 0, &out, &err),
           FLEXIAI_EUSAGE, "a parameter with no value is 64");
    ok(err && strstr(err, "'missing'") && strstr(err, "-P missing VALUE"),
       "... and the line says how to give it (%s)", err ? err : "");
    free(err);
    tool_template_free(&t);

    parse("prompt = Review:\n    $input\n    done\n", &t, &err);
    is_int(tool_template_prompt(&t, "diff\n", NULL, 0, &out, &err), 0,
           "the prompt around the input");
    is_str(out, "Review:\ndiff\ndone", "stdin's last newline is dropped");
    free(out);
    tool_template_free(&t);

    parse("prompt = Summarise.\n", &t, &err);
    tool_template_prompt(&t, "text", NULL, 0, &out, &err);
    is_str(out, "Summarise.\n\ntext",
           "without $input the input follows after a blank line");
    free(out);
    tool_template_prompt(&t, "", NULL, 0, &out, &err);
    is_str(out, "Summarise.", "... and no input leaves the prompt alone");
    free(out);
    tool_template_free(&t);

    parse("system = a role\n", &t, &err);
    tool_template_prompt(&t, "question", NULL, 0, &out, &err);
    is_str(out, "question", "a role's prompt is the input");
    free(out);
    tool_template_free(&t);
}

static void
test_fragments(void)
{
    struct tool_fragment f[] = {{"notes", "one\n"}, {"a\"b", "two"}};
    struct tool_fragments fs = {f, 2};
    char *p = tool_fragments_prompt(&fs, "q");
    is_str(p,
           "<fragment name=\"notes\">\none\n</fragment>\n\n"
           "<fragment name=\"a'b\">\ntwo\n</fragment>\n\nq",
           "fragments before the text, named, each ending its line");
    free(p);
    p = tool_fragments_prompt(&fs, "");
    ok(p[strlen(p) - 1] == '>', "fragments alone end with their last tag");
    free(p);
    struct tool_fragments none = {NULL, 0};
    p = tool_fragments_prompt(&none, "q");
    is_str(p, "q", "no fragments: the text alone");
    free(p);
}

int
main(void)
{
    test_parse();
    test_subst();
    test_fragments();
    return tap_done();
}
