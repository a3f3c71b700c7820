/* test-md-render.c - the streaming Markdown renderer: exact output for a
 * corpus of replies, each also rendered at every cut, every pair of cuts
 * (short replies) and byte by byte; what shows before a line ends. */
#include "config.h"

#include "tap.h"

#include "md-harness.h"

/* The whole output, readable, is `want`; every split gives the same. */
static void
check_n(const char *name, const char *s, size_t n, int width, unsigned flags,
        const char *want)
{
    char *whole = render_cuts(s, n, NULL, 0, width, flags);
    char *vis = visible(whole);
    char what[64] = "";
    is_str(vis, want, "%s", name);
    ok(!splits_agree(s, n, width, flags, whole, what, sizeof(what)),
       "%s: same output at every split%s%s", name, what[0] ? ", not " : "",
       what);
    free(vis);
    free(whole);
}

/* The input may hold a NUL: its length is the literal's. */
#define CASE(name, width, flags, in, want)                                     \
    check_n(name, in, sizeof(in) - 1, width, flags, want)

static void
test_corpus(void)
{
    /* headings */
    CASE("headings", 80, 0,
         "# One\n"
         "## Two\n"
         "### Three *it*\n"
         "#### Four\n"
         "####### seven\n"
         "#nospace\n"
         "#\n",
         "{1;4;35}One{0}\n"
         "{1;35}Two{0}\n"
         "{1}Three {0}{1;3}it{0}\n"
         "{1}Four{0}\n"
         "####### seven\n"
         "#nospace\n"
         "\n");
    /* emphasis */
    CASE("emphasis", 80, 0, "**bold** *it* __b__ _i_ ***both*** x\n",
         "{1}bold{0} {3}it{0} {1}b{0} {3}i{0} {1;3}both{0} x\n");
    /* emphasis nests */
    CASE("emphasis nests", 80, 0, "**a *b* c** *x **y** z*\n",
         "{1}a {0}{1;3}b{0}{1} c{0} {3}x {0}{1;3}y{0}{3} z{0}\n");
    /* strikethrough */
    CASE("strikethrough", 80, 0, "~~gone~~ ~one~ ~~~x~~~ a ~~ b\n",
         "{9}gone{0} ~one~ ~~~x~~~ a ~~ b\n");
    /* no emphasis inside words or around spaces */
    CASE("no emphasis inside words or around spaces", 80, 0,
         "snake_case_name 2 * 3 a*b*c\n", "snake_case_name 2 * 3 a{3}b{0}c\n");
    /* unclosed emphasis is literal */
    CASE("unclosed emphasis is literal", 80, 0,
         "**never closed and *this too\n", "**never closed and *this too\n");
    /* code spans keep their content */
    CASE("code spans keep their content", 80, 0,
         "use `a*b*_c_` and ``x ` y`` or `[l](u)` and `open\n",
         "use {36}a*b*_c_{0} and {36}x ` y{0} or {36}[l](u){0} and `open\n");
    /* backslash escapes */
    CASE("backslash escapes", 80, 0, "\\*not\\* \\_x\\_ a\\b end\\\n",
         "*not* _x_ a\\b end\\\n");
    /* fenced code is verbatim */
    CASE("fenced code is verbatim", 80, 0,
         "```python\n"
         "x = **y**  # [a](b)\n"
         "  `z`\n"
         "\n"
         "# not a heading\n"
         "```\n"
         "after\n",
         "{2}── python ─*30{0}\n"
         "{36}x = **y**  # [a](b){0}\n"
         "{36}  `z`{0}\n"
         "\n"
         "{36}# not a heading{0}\n"
         "{2}─*40{0}\n"
         "after\n");
    /* tilde fence, shorter and other fences inside */
    CASE("tilde fence, shorter and other fences inside", 80, 0,
         "~~~\n"
         "```\n"
         "~~\n"
         "~~~~\n"
         "out\n",
         "{2}─*40{0}\n"
         "{36}```{0}\n"
         "{36}~~{0}\n"
         "{2}─*40{0}\n"
         "out\n");
    /* unclosed fence closed at the end */
    CASE("unclosed fence closed at the end", 80, 0,
         "```sh\n"
         "ls -l",
         "{2}── sh ─*34{0}\n"
         "{36}ls -l{0}\n"
         "{2}─*40{0}\n");
    /* fence indented under a list item */
    CASE("fence indented under a list item", 80, 0,
         "- item\n"
         "  ```c\n"
         "  int x;\n"
         "    y;\n"
         "  ```\n",
         "• item\n"
         "{2}── c ─*35{0}\n"
         "{36}int x;{0}\n"
         "{36}  y;{0}\n"
         "{2}─*40{0}\n");
    /* ```a``` is a code span */
    CASE("```a``` is a code span", 80, 0, "```a``` b\n", "{36}a{0} b\n");
    /* lists nest by indent */
    CASE("lists nest by indent", 80, 0,
         "- a\n"
         "- b\n"
         "  - c\n"
         "    - d\n"
         "  - e\n"
         "- f\n"
         "* star\n"
         "+ plus\n"
         "1. one\n"
         "2) two\n"
         "10. ten\n",
         "• a\n"
         "• b\n"
         "  ◦ c\n"
         "    ▪ d\n"
         "  ◦ e\n"
         "• f\n"
         "• star\n"
         "• plus\n"
         "1. one\n"
         "2) two\n"
         "10. ten\n");
    /* a paragraph at the margin ends the lists */
    CASE("a paragraph at the margin ends the lists", 80, 0,
         "  - x\n"
         "text\n"
         "- y\n"
         "-no\n"
         "1.no\n",
         "  • x\n"
         "text\n"
         "• y\n"
         "-no\n"
         "1.no\n");
    /* block quotes */
    CASE("block quotes", 80, 0,
         "> a *b*\n"
         "> > c\n"
         ">\n"
         "> - item\n"
         "> # head\n"
         ">no space\n",
         "{2}│ {0}a {3}b{0}\n"
         "{2}│ │ {0}c\n"
         "{2}│{0}\n"
         "{2}│ {0}• item\n"
         "{2}│ {0}{1;4;35}head{0}\n"
         "{2}│ {0}no space\n");
    /* links */
    CASE("links", 80, 0,
         "[text](http://a.b/c) [u](<http://x>) [t](http://y \"t\") "
         "[http://z](http://z) [](http://e) [**b**](http://w_(x))\n",
         "{4}text{0}{2} (http://a.b/c){0} {4}u{0}{2} (http://x){0} {4}t{0}{2} "
         "(http://y){0} {4}http://z{0} {4}http://e{0} {1;4}b{0}{2} "
         "(http://w_(x)){0}\n");
    /* not links */
    CASE("not links", 80, 0, "[no link] a[0] [x] (y) [x](unclosed\n",
         "[no link] a[0] [x] (y) [x](unclosed\n");
    /* rules */
    CASE("rules", 80, 0,
         "---\n"
         "***\n"
         "_ _ _\n"
         "- - -\n"
         "--\n",
         "{2}─*40{0}\n"
         "{2}─*40{0}\n"
         "{2}─*40{0}\n"
         "{2}─*40{0}\n"
         "--\n");
    /* aligned table */
    CASE("aligned table", 80, 0,
         "| Name | Qty | Note |\n"
         "|:-----|----:|:----:|\n"
         "| apple | 3 | *fresh* |\n"
         "| kiwi | 12 | `a|b` |\n"
         "| fig |\n"
         "after\n",
         "{2}┌─*7┬─*5┬─*7┐{0}\n"
         "{2}│{0} {1}Name{0}  {2}│{0} {1}Qty{0} {2}│{0} {1}Note{0}  {2}│{0}\n"
         "{2}├─*7┼─*5┼─*7┤{0}\n"
         "{2}│{0} apple {2}│{0}   3 {2}│{0} {3}fresh{0} {2}│{0}\n"
         "{2}│{0} kiwi  {2}│{0}  12 {2}│{0}  {36}a|b{0}  {2}│{0}\n"
         "{2}│{0} fig   {2}│{0}     {2}│{0}       {2}│{0}\n"
         "{2}└─*7┴─*5┴─*7┘{0}\n"
         "after\n");
    /* table too wide: narrower columns, cells wrapped at spaces (inside
     * a word only when it is wider than its column), a style taken up
     * again on the next line */
    CASE("table too wide wraps its cells", 20, 0,
         "| Name | Description |\n"
         "|---|---|\n"
         "| x | **long** text here |\n"
         "| y | *one two* |\n",
         "{2}┌─*6┬─*11┐{0}\n"
         "{2}│{0} {1}Name{0} {2}│{0} {1}Descripti{0} {2}│{0}\n"
         "{2}│{0}      {2}│{0} {1}on{0}        {2}│{0}\n"
         "{2}├─*6┼─*11┤{0}\n"
         "{2}│{0} x    {2}│{0} {1}long{0} text {2}│{0}\n"
         "{2}│{0}      {2}│{0} here      {2}│{0}\n"
         "{2}├─*6┼─*11┤{0}\n"
         "{2}│{0} y    {2}│{0} {3}one two{0}   {2}│{0}\n"
         "{2}└─*6┴─*11┘{0}\n");
    CASE("a style goes on across a wrap", 16, 0,
         "| a | b |\n"
         "|---|---|\n"
         "| x | **bold words here** |\n",
         "{2}┌───┬─*10┐{0}\n"
         "{2}│{0} {1}a{0} {2}│{0} {1}b{0}        {2}│{0}\n"
         "{2}├───┼─*10┤{0}\n"
         "{2}│{0} x {2}│{0} {1}bold{0}     {2}│{0}\n"
         "{2}│{0}   {2}│{0} {1}words{0}    {2}│{0}\n"
         "{2}│{0}   {2}│{0} {1}here{0}     {2}│{0}\n"
         "{2}└───┴─*10┘{0}\n");
    /* not even 3 columns a cell: as it came */
    CASE("table far too wide prints as it came", 12, 0,
         "| Name | Description |\n"
         "|---|---|\n"
         "| x | **long** text here |\n",
         "| Name | Description |\n"
         "|---|---|\n"
         "| x | {1}long{0} text here |\n");
    /* not a table without the delimiter row */
    CASE("not a table without the delimiter row", 80, 0,
         "| a | b |\n"
         "plain\n",
         "| a | b |\n"
         "plain\n");
    /* table at the end of the reply */
    CASE("table at the end of the reply", 80, 0,
         "a|b\n"
         "|x|y|\n"
         "|-|-|\n"
         "|1|2|",
         "a|b\n"
         "{2}┌───┬───┐{0}\n"
         "{2}│{0} {1}x{0} {2}│{0} {1}y{0} {2}│{0}\n"
         "{2}├───┼───┤{0}\n"
         "{2}│{0} 1 {2}│{0} 2 {2}│{0}\n"
         "{2}└───┴───┘{0}\n");
    /* escaped pipe in a cell */
    CASE("escaped pipe in a cell", 80, 0,
         "|a\\|b|c|\n"
         "|---|---|\n"
         "|1|2|\n",
         "{2}┌─*5┬───┐{0}\n"
         "{2}│{0} {1}a|b{0} {2}│{0} {1}c{0} {2}│{0}\n"
         "{2}├─*5┼───┤{0}\n"
         "{2}│{0} 1   {2}│{0} 2 {2}│{0}\n"
         "{2}└─*5┴───┘{0}\n");
    /* CRLF line ends */
    CASE("CRLF line ends", 80, 0,
         "# H\r\n"
         "- a\r\n"
         "line **b**\r\n"
         "```\r\n"
         "code\r\n"
         "```\r\n"
         "| a |\r\n"
         "|---|\r\n",
         "{1;4;35}H{0}\n"
         "• a\n"
         "line {1}b{0}\n"
         "{2}─*40{0}\n"
         "{36}code{0}\n"
         "{2}─*40{0}\n"
         "{2}┌───┐{0}\n"
         "{2}│{0} {1}a{0} {2}│{0}\n"
         "{2}├───┤{0}\n"
         "{2}└───┘{0}\n");
    /* UTF-8 text and wide characters in a table */
    CASE("UTF-8 text and wide characters in a table", 80, 0,
         "**héllo** 中文 *ü*\n"
         "| é | 中文 |\n"
         "|---|---|\n"
         "| xyz | y |\n",
         "{1}héllo{0} 中文 {3}ü{0}\n"
         "{2}┌─*5┬─*6┐{0}\n"
         "{2}│{0} {1}é{0}   {2}│{0} {1}中文{0} {2}│{0}\n"
         "{2}├─*5┼─*6┤{0}\n"
         "{2}│{0} xyz {2}│{0} y    {2}│{0}\n"
         "{2}└─*5┴─*6┘{0}\n");
    /* control characters are shown, not obeyed */
    CASE("control characters are shown, not obeyed", 80, 0,
         "a\x1b[31mred\x07\x7f\x01\tz \xc2\x9b b\xff\xc3(\n"
         "```\n"
         "\x1b]0;t\x07\n"
         "```\n",
         "a^[[31mred^G^?^A\tz <U+009B> b��(\n"
         "{2}─*40{0}\n"
         "{36}^[]0;t^G{0}\n"
         "{2}─*40{0}\n");
    /* a lone CR and a NUL are shown */
    CASE("a lone CR and a NUL are shown", 80, 0,
         "a\rb\x00"
         "c\n",
         "a^Mb^@c\n");
    /* blank lines */
    CASE("blank lines", 80, 0,
         "\n"
         "\n"
         "a\n"
         "\n",
         "\n"
         "\n"
         "a\n"
         "\n");
    /* empty reply */
    CASE("empty reply", 80, 0, "", "");
    /* no colour: structure only */
    CASE("no colour: structure only", 80, MD_NO_COLOR,
         "# Head **b**\n"
         "- item `c`\n"
         "> q\n"
         "```js\n"
         "x\n"
         "```\n"
         "| a | b |\n"
         "|---|--:|\n"
         "| 1 | 22 |\n"
         "---\n",
         "# Head b\n"
         "• item `c`\n"
         "│ q\n"
         "── js ─*34\n"
         "x\n"
         "─*40\n"
         "┌───┬─*4┐\n"
         "│ a │  b │\n"
         "├───┼─*4┤\n"
         "│ 1 │ 22 │\n"
         "└───┴─*4┘\n"
         "─*40\n");
    /* narrow terminal: short rules */
    CASE("narrow terminal: short rules", 10, 0,
         "---\n"
         "```\n"
         "```\n",
         "{2}─*10{0}\n"
         "{2}─*10{0}\n"
         "{2}─*10{0}\n");
}

/* What is on screen after feeding `s` without finishing the reply. */
static char *
so_far(const char *s)
{
    md_render *md = md_new(W, 0);
    fxu_buf out;
    char *vis;
    fxu_buf_init(&out);
    md_feed(md, s, strlen(s), &out);
    md_free(md);
    vis = visible(out.data ? out.data : "");
    fxu_buf_free(&out);
    return vis;
}

static void
latency(const char *s, const char *want, const char *name)
{
    char *got = so_far(s);
    is_str(got, want, "before the line ends: %s", name);
    free(got);
}

static void
test_latency(void)
{
    latency("Hello wor", "Hello wor", "plain text is written at once");
    latency("- it", "• it", "a list item's bullet and text");
    latency("## He", "{1;35}He", "a heading");
    latency("> q", "{2}│ {0}q", "a quote");
    latency("say **bo", "say ", "an open ** waits for its closer");
    latency("say **bold** and", "say {1}bold{0} and", "a closed span");
    latency("a `x", "a ", "an open code span waits");
    latency("see [a](", "see ", "a link waits for its ')'");
    latency("caf\xc3", "caf", "half a UTF-8 character waits");
    latency("line\r", "line", "a CR waits for what follows");
    latency("-", "", "'-' could still be a rule");
    latency("| a |", "", "a table row waits for the table");
    latency("```py", "", "a fence waits for its info string");
    latency("```py\nco", "{2}── py " RULE "*34{0}\n{36}co",
            "code is written at once");
    latency("```\n``", "{2}" RULE "*40{0}\n", "what may close a fence waits");
    latency(
        "| a |\n|---|\ntext",
        "{2}┌───┐{0}\n{2}│{0} {1}a{0} {2}│{0}\n{2}├───┤{0}\n{2}└───┘{0}\ntext",
        "the first line after a table ends it");
}

static void
test_reuse(void)
{
    /* md_finish leaves the renderer ready for the next reply */
    md_render *md = md_new(W, 0);
    fxu_buf out;
    fxu_buf_init(&out);
    md_feed(md, "```\nx", 5, &out);
    md_finish(md, &out);
    fxu_buf_reset(&out);
    md_feed(md, "# a\n", 4, &out);
    md_finish(md, &out);
    char *v = visible(out.data);
    is_str(v, "{1;4;35}a{0}\n", "a new reply starts outside the old fence");
    free(v);
    fxu_buf_free(&out);
    md_free(md);
    md_free(NULL);
}

int
main(void)
{
    test_corpus();
    test_latency();
    test_reuse();
    return tap_done();
}
