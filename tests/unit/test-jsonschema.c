/*
 * test-jsonschema.c - the structured-output core as a caller sees it:
 * validation messages, compile refusals, the schema DSL, SPEC resolution,
 * the OpenAI strictness check and the Gemini responseSchema conversion.
 * The draft 7 semantics themselves are checked by test-jsonschema-suite.
 */
#include "config.h"

#include "flexiai.h"
#include "jsonschema.h"
#include "fxu.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The validation message for instance against schema, or "valid";
 * "compile: MSG" when the schema is refused.  Static, overwritten. */
static const char *
check(const char *schema, const char *instance)
{
    static char *last;
    free(last);
    cJSON *s = cJSON_Parse(schema), *x = cJSON_Parse(instance);
    if (s == NULL || x == NULL) {
        last = fxu_strdup("test bug: bad JSON");
    } else {
        char *err = NULL;
        fx_schema *c = fx_schema_compile(s, &err);
        if (c == NULL) {
            last = fxu_asprintf("compile: %s", err);
        } else if (fx_schema_validate(c, x, &err) == 0) {
            last = fxu_strdup("valid");
        } else {
            last = fxu_strdup(err);
        }
        free(err);
        fx_schema_free(c);
    }
    cJSON_Delete(s);
    cJSON_Delete(x);
    return last;
}

/* The compile error for schema, or "compiles". */
static const char *
compile_error(const char *schema)
{
    const char *r = check(schema, "null");
    return strncmp(r, "compile: ", 9) == 0 ? r + 9 : "compiles";
}

static int
starts_with(const char *s, const char *prefix)
{
    return s && strncmp(s, prefix, strlen(prefix)) == 0;
}

static void
test_messages(void)
{
    const char *report = "{\"type\":\"object\",\"properties\":{"
                         "\"severity\":{\"enum\":[\"low\",\"high\"]},"
                         "\"summary\":{\"type\":\"string\"},"
                         "\"count\":{\"type\":\"integer\"},"
                         "\"tags\":{\"type\":\"array\",\"items\":{\"type\":"
                         "\"string\"}}},"
                         "\"required\":[\"summary\"],"
                         "\"additionalProperties\":false}";
    is_str(check(report, "{\"summary\":\"s\",\"severity\":\"low\"}"), "valid",
           "a valid report");
    is_str(check(report, "{\"summary\":\"s\",\"severity\":\"urgent\"}"),
           "$.severity: \"urgent\" is not one of [\"low\",\"high\"]",
           "enum message");
    is_str(check(report, "{\"severity\":\"low\"}"),
           "$: missing required property \"summary\"", "required message");
    is_str(check(report, "{\"summary\":\"s\",\"count\":\"3\"}"),
           "$.count: expected integer, got string", "type message");
    is_str(check(report, "{\"summary\":\"s\",\"count\":2.5}"),
           "$.count: expected integer, got number", "2.5 is no integer");
    is_str(check(report, "{\"summary\":\"s\",\"count\":2.0}"), "valid",
           "2.0 is an integer");
    is_str(check(report, "{\"summary\":\"s\",\"tags\":[\"a\",7]}"),
           "$.tags[1]: expected string, got integer", "path into an array");
    is_str(check(report, "{\"summary\":\"s\",\"extra\":1}"),
           "$: property \"extra\" is not allowed",
           "additionalProperties false names the property");
    is_str(check(report, "[]"), "$: expected object, got array", "root type");
    is_str(
        check("{\"properties\":{\"a b\":{\"type\":\"null\"}}}", "{\"a b\":0}"),
        "$[\"a b\"]: expected null, got integer",
        "a key that is no identifier is quoted");
    is_str(check("{\"type\":[\"string\",\"null\"]}", "3"),
           "$: expected null or string, got integer", "type array");
    is_str(check("{\"minimum\":5}", "3"), "$: 3 is less than the minimum 5",
           "minimum");
    is_str(check("{\"exclusiveMaximum\":5}", "5"),
           "$: 5 is not less than the exclusiveMaximum 5", "exclusiveMaximum");
    is_str(check("{\"multipleOf\":2}", "7"), "$: 7 is not a multiple of 2",
           "multipleOf");
    is_str(check("{\"multipleOf\":0.01}", "0.07"), "valid",
           "multipleOf with a binary fraction");
    is_str(check("{\"maxLength\":5}", "\"h\\u00e9llo\""), "valid",
           "maxLength counts code points, not bytes");
    is_str(check("{\"minLength\":6}", "\"h\\u00e9llo\""),
           "$: string of 5 characters is shorter than 6", "minLength");
    is_str(check("{\"maxLength\":1}", "\"\\ud83d\\ude00\""), "valid",
           "a surrogate pair is one code point");
    is_str(check("{\"pattern\":\"^[a-z]+-[0-9]{2,}$\"}", "\"abc-123\""),
           "valid", "ERE pattern");
    is_str(check("{\"pattern\":\"^[a-z]+$\"}", "\"ab1\""),
           "$: \"ab1\" does not match the pattern \"^[a-z]+$\"",
           "pattern message");
    is_str(check("{\"const\":1}", "1.0"), "valid", "const: 1 == 1.0");
    is_str(check("{\"const\":{\"a\":[1,{\"b\":null}]}}",
                 "{\"a\":[1.0,{\"b\":null}]}"),
           "valid", "const: deep equality");
    is_str(check("{\"const\":\"x\"}", "\"y\""),
           "$: \"y\" is not the constant \"x\"", "const message");
    is_str(check("{\"uniqueItems\":true}", "[1,{\"a\":1},{\"a\":1.0}]"),
           "$: items 1 and 2 are equal (uniqueItems)", "uniqueItems");
    is_str(check("{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":0}]}", "3"),
           "$: matches 2 of the 2 schemas of oneOf, not exactly one",
           "oneOf message");
    is_str(
        check("{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"null\"}]}", "3"),
        "$: matches none of the 2 schemas of anyOf", "anyOf message");
    is_str(check("{\"items\":{\"contains\":{\"const\":1}}}", "[[1],[2]]"),
           "$[1]: no item matches \"contains\"", "contains");
    is_str(check("{\"propertyNames\":{\"maxLength\":2}}", "{\"abc\":1}"),
           "$: property name \"abc\" does not match propertyNames",
           "propertyNames");
    is_str(check("{\"if\":{\"minimum\":10},\"then\":{\"multipleOf\":5}}", "12"),
           "$: 12 is not a multiple of 5", "if/then reports the then error");
    is_str(check("{\"items\":[{\"type\":\"string\"}],"
                 "\"additionalItems\":false}",
                 "[\"a\",2]"),
           "$: array has 2 items, the schema allows at most 1",
           "additionalItems false");
    is_str(check("false", "1"), "$: no value is allowed here (false schema)",
           "false schema");
    is_str(check("{\"properties\":{\"a\":{\"not\":{}}}}", "{\"a\":1}"),
           "$.a: matches the schema of \"not\"", "not");
    is_str(check("{\"patternProperties\":{\"^x-\":{\"type\":\"string\"}}}",
                 "{\"x-a\":\"ok\",\"x-b\":1}"),
           "$.x-b: expected string, got integer", "patternProperties");
}

static void
test_refs(void)
{
    const char *tree = "{\"type\":\"object\",\"properties\":{"
                       "\"name\":{\"type\":\"string\"},"
                       "\"kids\":{\"type\":\"array\",\"items\":{\"$ref\":"
                       "\"#\"}}}}";
    is_str(check(tree, "{\"name\":\"a\",\"kids\":[{\"name\":\"b\",\"kids\":[]"
                       "}]}"),
           "valid", "recursive $ref to the root");
    is_str(check(tree, "{\"kids\":[{\"kids\":[{\"name\":5}]}]}"),
           "$.kids[0].kids[0].name: expected string, got integer",
           "recursive $ref: path of the failure");
    const char *escapes =
        "{\"$defs\":{\"a/b\":{\"type\":\"integer\"},\"c~d\":{\"type\":"
        "\"string\"},\"e%f\":{\"type\":\"boolean\"}},"
        "\"properties\":{\"x\":{\"$ref\":\"#/$defs/a~1b\"},"
        "\"y\":{\"$ref\":\"#/$defs/c~0d\"},\"z\":{\"$ref\":\"#/$defs/"
        "e%25f\"}}}";
    is_str(check(escapes, "{\"x\":1,\"y\":\"s\",\"z\":true}"), "valid",
           "$ref with ~1, ~0 and %%25");
    is_str(check(escapes, "{\"z\":1}"), "$.z: expected boolean, got integer",
           "$ref with %%25: failure");
    is_str(check("{\"my-defs\":{\"n\":{\"type\":\"integer\"}},"
                 "\"items\":{\"$ref\":\"#/my-defs/n\"}}",
                 "[1,\"2\"]"),
           "$[1]: expected integer, got string",
           "a member that is no keyword may hold $ref targets");
    is_str(compile_error("{\"my-defs\":{\"n\":{}},\"other\":{}}"),
           "unsupported keyword \"my-defs\" at $",
           "unreferenced, it is refused");
    is_str(compile_error("{\"dependencies\":{\"a\":{\"required\":[\"b\"]}},"
                         "\"not\":{\"$ref\":\"#/dependencies/a\"}}"),
           "unsupported keyword \"dependencies\" at $",
           "a keyword we do not assert is refused even when referenced");
    is_str(check("{\"definitions\":{\"n\":{\"type\":\"integer\"}},"
                 "\"items\":{\"$ref\":\"#/definitions/n\"}}",
                 "[1,\"2\"]"),
           "$[1]: expected integer, got string", "definitions");
    is_str(compile_error("{\"$ref\":\"#\"}"), "$ref cycle at $",
           "a $ref to itself is refused");
    is_str(compile_error("{\"definitions\":{\"a\":{\"$ref\":\"#/definitions/"
                         "b\"},\"b\":{\"$ref\":\"#/definitions/a\"}}}"),
           "$ref cycle at $.definitions.b", "a $ref cycle is refused");
    /* a loop through allOf consumes no input: stopped, not hung */
    const char *loop = check("{\"definitions\":{\"a\":{\"allOf\":[{\"$ref\":"
                             "\"#/definitions/a\"}]}},"
                             "\"properties\":{\"p\":{\"$ref\":\"#/"
                             "definitions/a\"}}}",
                             "{\"p\":1}");
    ok(strstr(loop, "loops without consuming input") != NULL,
       "a $ref loop through allOf stops: %s", loop);
    /* anyOf branches that both recurse double the work per level */
    fxu_buf deep;
    fxu_buf_init(&deep);
    for (int i = 0; i < 40; i++)
        fxu_buf_putc(&deep, '[');
    fxu_buf_puts(&deep, "\"x\"");
    for (int i = 0; i < 40; i++)
        fxu_buf_putc(&deep, ']');
    time_t started = time(NULL);
    const char *huge = check("{\"type\":\"array\",\"anyOf\":["
                             "{\"items\":{\"$ref\":\"#\"}},"
                             "{\"items\":{\"$ref\":\"#\"}}]}",
                             deep.data);
    ok(strstr(huge, "too large to check") != NULL,
       "exponential work is cut off: %s", huge);
    ok(time(NULL) - started < 30, "and quickly");
    fxu_buf_free(&deep);
}

static void
test_compile_errors(void)
{
    is_str(compile_error("{\"properties\":{\"x\":{\"dependencies\":{}}}}"),
           "unsupported keyword \"dependencies\" at $.properties.x",
           "unsupported keyword, with its place");
    is_str(compile_error("{\"items\":[true,{\"unevaluatedItems\":false}]}"),
           "unsupported keyword \"unevaluatedItems\" at $.items[1]",
           "unsupported keyword inside items");
    is_str(compile_error("{\"propertiez\":{}}"),
           "unsupported keyword \"propertiez\" at $", "a typo is refused");
    ok(starts_with(compile_error("{\"properties\":{\"a\":{\"$ref\":"
                                 "\"http://example.com/s.json\"}}}"),
                   "unsupported remote $ref \"http://example.com/s.json\" "
                   "at $.properties.a"),
       "remote $ref refused: %s", compile_error("{\"$ref\":\"other.json\"}"));
    ok(starts_with(compile_error("{\"$ref\":\"#foo\"}"),
                   "unsupported remote $ref \"#foo\" at $"),
       "plain-name fragment refused");
    is_str(compile_error("{\"$ref\":\"#/definitions/nope\"}"),
           "$ref \"#/definitions/nope\" at $ points to nothing in the schema",
           "dangling $ref");
    ok(starts_with(compile_error("{\"pattern\":\"(\"}"),
                   "bad regular expression \"(\" in pattern at $: "),
       "bad regex: %s", compile_error("{\"pattern\":\"(\"}"));
    ok(starts_with(compile_error("{\"patternProperties\":{\"[\":{}}}"),
                   "bad regular expression \"[\" in patternProperties at "
                   "$.patternProperties: "),
       "bad patternProperties regex");
    ok(strstr(compile_error("{\"pattern\":\"(a)\\\\1\"}"),
              "back-references are not supported") != NULL,
       "back-references refused");
    ok(strstr(compile_error("{\"pattern\":\"((a{1000}){1000}){1000}\"}"),
              "repetitions make it too large") != NULL,
       "nested repetitions refused");
    ok(strstr(compile_error("{\"pattern\":\"a*++++++++++++\"}"),
              "stacked repetition operators") != NULL,
       "stacked quantifiers refused (found by fuzz-schema: minutes in "
       "regcomp)");
    ok(strstr(compile_error("{\"pattern\":\"x((a*)+){2000}\"}"),
              "a group that can match the empty string is repeated") != NULL,
       "a repeated group that can match nothing refused");
    ok(strstr(compile_error("{\"pattern\":\"(b|)*\"}"),
              "a group that can match the empty string is repeated") != NULL,
       "an empty alternative makes a group match nothing");
    is_str(
        compile_error("{\"pattern\":\"^([a-z0-9]+(-[a-z0-9]+)*\\\\.)+[a-z]{2,"
                      "}$\"}"),
        "compiles", "a host name pattern is fine");
    ok(strstr(compile_error("{\"pattern\":\"((((((((((((((((((((((a+)+)+)+)+)+"
                            ")+)+)+)+)+)+)+)+)+)+)+)+)+)+)+)+\"}"),
              "repetitions make it too large") != NULL,
       "nested + refused (found by fuzz-schema: 2 GB in regcomp)");
    is_str(compile_error("{\"pattern\":\"^[a-z]+-[0-9]+ [A-Z]+ [a-z]+-[0-9]+ "
                         "[A-Z]+ [a-z]+-[0-9]+ [A-Z]+ [a-z]+-[0-9]+ [A-Z]+ "
                         "[a-z]+-[0-9]+ [A-Z]+ [a-z]+-[0-9]+ [A-Z]+ [0-9]{1,"
                         "900}[[:alpha:]+]+$\"}"),
           "compiles", "a long flat pattern with many + is fine");
    is_str(compile_error("{\"minimum\":\"1\"}"),
           "\"minimum\" at $ must be a number", "minimum must be a number");
    is_str(compile_error("{\"maxLength\":-1}"),
           "\"maxLength\" at $ must be a non-negative integer",
           "maxLength must be a count");
    is_str(compile_error("{\"multipleOf\":0}"),
           "\"multipleOf\" at $ must be greater than 0", "multipleOf > 0");
    is_str(compile_error("{\"required\":[\"a\",1]}"),
           "\"required\" at $ must be an array of strings", "required");
    is_str(compile_error("{\"type\":\"str\"}"), "unknown type \"str\" at $",
           "unknown type");
    is_str(compile_error("{\"properties\":{\"x\":3}}"),
           "schema at $.properties.x must be an object or a boolean",
           "a schema must be an object");
    is_str(compile_error("{\"anyOf\":[]}"),
           "\"anyOf\" at $.anyOf must be a non-empty array of schemas",
           "empty anyOf");
    is_str(compile_error("{\"title\":\"t\",\"description\":\"d\",\"format\":"
                         "\"date\",\"default\":1,\"examples\":[],"
                         "\"$schema\":\"http://json-schema.org/draft-07/"
                         "schema#\",\"$id\":\"x\",\"$comment\":\"c\","
                         "\"readOnly\":true,\"writeOnly\":false,"
                         "\"contentMediaType\":\"text/plain\","
                         "\"contentEncoding\":\"base64\"}"),
           "compiles", "annotations are accepted");
    is_str(check("{\"format\":\"email\"}", "\"not an email\""), "valid",
           "format is not asserted");
}

static char *
printed(const cJSON *j)
{
    static char *last;
    cJSON_free(last);
    last = j ? cJSON_PrintUnformatted(j) : NULL;
    return last;
}

static void
test_dsl(void)
{
    char *err = NULL;
    cJSON *s = fx_schema_from_dsl("severity, summary: one sentence, count "
                                  "int, score float, ok bool, tags [str]",
                                  &err);
    is_str(printed(s),
           "{\"type\":\"object\",\"properties\":{"
           "\"severity\":{\"type\":\"string\"},"
           "\"summary\":{\"type\":\"string\",\"description\":\"one "
           "sentence\"},"
           "\"count\":{\"type\":\"integer\"},"
           "\"score\":{\"type\":\"number\"},"
           "\"ok\":{\"type\":\"boolean\"},"
           "\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}},"
           "\"required\":[\"severity\",\"summary\",\"count\",\"score\","
           "\"ok\",\"tags\"],\"additionalProperties\":false}",
           "the DSL example");
    ok(fx_schema_is_strict(s, NULL), "DSL schemas are strict");
    cJSON *multi = fx_schema_multi(s);
    is_str(printed(multi),
           "{\"type\":\"object\",\"properties\":{\"items\":{\"type\":"
           "\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
           "\"severity\":{\"type\":\"string\"},"
           "\"summary\":{\"type\":\"string\",\"description\":\"one "
           "sentence\"},"
           "\"count\":{\"type\":\"integer\"},"
           "\"score\":{\"type\":\"number\"},"
           "\"ok\":{\"type\":\"boolean\"},"
           "\"tags\":{\"type\":\"array\",\"items\":{\"type\":\"string\"}}},"
           "\"required\":[\"severity\",\"summary\",\"count\",\"score\","
           "\"ok\",\"tags\"],\"additionalProperties\":false}}},"
           "\"required\":[\"items\"],\"additionalProperties\":false}",
           "the multi wrapper");
    ok(fx_schema_is_strict(multi, NULL), "the multi wrapper is strict");
    cJSON_Delete(multi);

    s = fx_schema_from_dsl("  n [ int ] : how many: at most , flag boolean",
                           &err);
    is_str(printed(s),
           "{\"type\":\"object\",\"properties\":{\"n\":{\"type\":\"array\","
           "\"items\":{\"type\":\"integer\"},\"description\":\"how many: at "
           "most\"},\"flag\":{\"type\":\"boolean\"}},\"required\":[\"n\","
           "\"flag\"],\"additionalProperties\":false}",
           "spaces, long type names, a colon in the description");
    cJSON_Delete(s);

    static const struct {
        const char *dsl, *err;
    } bad[] = {
        {"", "schema DSL: no fields"},
        {"  ", "schema DSL: no fields"},
        {"a,,b", "schema DSL: field 2 has no name"},
        {"a,", "schema DSL: field 2 has no name"},
        {": text", "schema DSL: field 1 has no name"},
        {"when date", "schema DSL: unknown type \"date\" for field \"when\" "
                      "(use str, int, float, bool or [T])"},
        {"x [[str]]", "schema DSL: unknown type \"[str]\" for field \"x\" "
                      "(use str, int, float, bool or [T])"},
        {"tags [str", "schema DSL: field \"tags\": missing ']' in \"[str\""},
        {"a, b int, a", "schema DSL: field \"a\" appears twice"},
        {"caf\xc3\xa9", "schema DSL: unknown type \"\xc3\xa9\" for field "
                        "\"caf\" (use str, int, float, bool or [T])"},
        {"?x", "schema DSL: field 1: a name is letters, digits, '_' and "
               "'-', not \"?x\""},
        {"a int\nb", "schema DSL: unknown type \"int\\nb\" for field \"a\" "
                     "(use str, int, float, bool or [T])"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err = NULL;
        s = fx_schema_from_dsl(bad[i].dsl, &err);
        ok(s == NULL, "bad DSL %zu refused", i);
        is_str(err, bad[i].err, "bad DSL %zu message", i);
        cJSON_Delete(s);
        free(err);
    }
}

static int
write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    if (fp == NULL)
        return -1;
    fputs(text, fp);
    return fclose(fp);
}

static void
test_spec(void)
{
    const char *tmp = getenv("TMPDIR");
    char *dir = fxu_asprintf("%s/fx-test-jsonschema.XXXXXX",
                             tmp && tmp[0] ? tmp : "/tmp");
    ok(mkdtemp(dir) != NULL, "temporary directory");
    char *good = fxu_asprintf("%s/good.json", dir);
    char *bad = fxu_asprintf("%s/bad.json", dir);
    char *odd = fxu_asprintf("%s/odd.json", dir);
    char *missing = fxu_asprintf("%s/missing.json", dir);
    write_file(good, "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":"
                     "\"integer\"}}}\n");
    write_file(bad, "{\"type\":");
    write_file(odd, "{\"dependencies\":{}}");

    cJSON *out = NULL;
    char *err = NULL;
    is_int(fx_schema_load_spec(good, &out, &err), 0, "a schema file");
    is_str(printed(out),
           "{\"type\":\"object\",\"properties\":{\"a\":{\"type\":"
           "\"integer\"}}}",
           "read from the file");
    cJSON_Delete(out);

    is_int(fx_schema_load_spec(missing, &out, &err), FLEXIAI_ENOINPUT,
           "a missing file is ENOINPUT (66)");
    ok(out == NULL, "and gives no schema");
    char *want = fxu_asprintf("%s: No such file or directory", missing);
    is_str(err, want, "missing file message");
    free(want);
    free(err);
    is_int(fx_schema_load_spec("schemas/report.json", &out, &err),
           FLEXIAI_ENOINPUT, "a relative path is a path");
    free(err);
    is_int(fx_schema_load_spec("report.json", &out, &err), FLEXIAI_ENOINPUT,
           "NAME.json is a path");
    free(err);
    is_int(fx_schema_load_spec(dir, &out, &err), FLEXIAI_ENOINPUT,
           "a directory is no schema file");
    free(err);

    is_int(fx_schema_load_spec(bad, &out, &err), FLEXIAI_EDATA,
           "malformed JSON in a file is EDATA (65)");
    want = fxu_asprintf("%s: not valid JSON (near byte 8)", bad);
    is_str(err, want, "malformed file message");
    free(want);
    free(err);
    is_int(fx_schema_load_spec(odd, &out, &err), FLEXIAI_EDATA,
           "an unsupported schema file is EDATA");
    want = fxu_asprintf("%s: unsupported keyword \"dependencies\" at $", odd);
    is_str(err, want, "unsupported schema file message");
    free(want);
    free(err);

    is_int(fx_schema_load_spec(" {\"type\":\"string\"}", &out, &err), 0,
           "inline JSON Schema");
    is_str(printed(out), "{\"type\":\"string\"}", "inline schema parsed");
    cJSON_Delete(out);
    is_int(fx_schema_load_spec("{\"type\":", &out, &err), FLEXIAI_EUSAGE,
           "malformed inline JSON is EUSAGE (64)");
    is_str(err, "inline schema: not valid JSON (near byte 8)",
           "inline JSON message");
    free(err);
    is_int(fx_schema_load_spec("{\"type\":\"date\"}", &out, &err),
           FLEXIAI_EUSAGE, "an inline schema that does not compile");
    is_str(err, "inline schema: unknown type \"date\" at $",
           "inline compile message");
    free(err);

    is_int(fx_schema_load_spec("summary: see a/b.json, n int", &out, &err), 0,
           "DSL with a '/' in a description is DSL");
    cJSON_Delete(out);
    is_int(fx_schema_load_spec("severity", &out, &err), 0, "one-word DSL");
    cJSON_Delete(out);
    is_int(fx_schema_load_spec("n integr", &out, &err), FLEXIAI_EUSAGE,
           "bad DSL is EUSAGE");
    free(err);

    unlink(good);
    unlink(bad);
    unlink(odd);
    rmdir(dir);
    free(dir);
    free(good);
    free(bad);
    free(odd);
    free(missing);
}

static int
strict(const char *schema, const char **why)
{
    static char *last;
    free(last);
    last = NULL;
    cJSON *s = cJSON_Parse(schema);
    int r = fx_schema_is_strict(s, &last);
    cJSON_Delete(s);
    *why = last ? last : "(none)";
    return r;
}

static void
test_strict(void)
{
    const char *why;
    ok(strict("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":"
              "\"string\"}},\"required\":[\"a\"],\"additionalProperties\":"
              "false}",
              &why),
       "strict object");
    ok(!strict("{\"type\":\"object\",\"properties\":{\"a\":{},\"b\":{}},"
               "\"required\":[\"a\"],\"additionalProperties\":false}",
               &why),
       "a property not required");
    is_str(why, "$: property \"b\" is not required", "why: not required");
    ok(!strict("{\"type\":\"object\",\"properties\":{\"o\":{\"type\":"
               "\"object\",\"properties\":{}}},\"required\":[\"o\"],"
               "\"additionalProperties\":false}",
               &why),
       "a nested object without additionalProperties false");
    is_str(why, "$.properties.o: additionalProperties is not false",
           "why: nested");
    ok(!strict("{\"type\":\"array\",\"items\":{\"type\":\"object\"}}", &why),
       "an object in items");
    is_str(why, "$.items: additionalProperties is not false", "why: items");
    ok(!strict("{\"anyOf\":[{\"type\":\"null\"},{\"$ref\":\"#/$defs/o\"}],"
               "\"$defs\":{\"o\":{\"type\":[\"object\",\"null\"],"
               "\"additionalProperties\":true}}}",
               &why),
       "an object in $defs");
    is_str(why, "$.$defs.o: additionalProperties is not false", "why: $defs");
    ok(strict("{\"type\":\"string\"}", &why), "no object, nothing to say");
}

static const char *
gemini(const char *schema, const char **note)
{
    static char *last, *last_note;
    cJSON_free(last);
    free(last_note);
    last_note = NULL;
    cJSON *s = cJSON_Parse(schema);
    cJSON *g = fx_schema_to_gemini(s, &last_note);
    last = cJSON_PrintUnformatted(g);
    cJSON_Delete(g);
    cJSON_Delete(s);
    *note = last_note ? last_note : "(none)";
    return last;
}

static void
test_gemini(void)
{
    const char *note;
    is_str(gemini("{\"type\":\"object\",\"properties\":{"
                  "\"b\":{\"type\":\"string\",\"description\":\"d\"},"
                  "\"a\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"},"
                  "\"maxItems\":3}},"
                  "\"required\":[\"b\",\"a\"],\"additionalProperties\":false,"
                  "\"$schema\":\"http://json-schema.org/draft-07/schema#\"}",
                  &note),
           "{\"type\":\"OBJECT\",\"properties\":{"
           "\"b\":{\"type\":\"STRING\",\"description\":\"d\"},"
           "\"a\":{\"type\":\"ARRAY\",\"items\":{\"type\":\"INTEGER\"},"
           "\"maxItems\":3}},\"propertyOrdering\":[\"b\",\"a\"],"
           "\"required\":[\"b\",\"a\"]}",
           "a strict object schema converts exactly");
    is_str(note, "(none)", "with no note");
    is_str(gemini("{\"definitions\":{\"lvl\":{\"enum\":[\"lo\",\"hi\"]}},"
                  "\"type\":\"object\",\"properties\":{\"l\":{\"$ref\":"
                  "\"#/definitions/lvl\"},\"n\":{\"type\":[\"integer\","
                  "\"null\"]},\"c\":{\"const\":\"x\"}}}",
                  &note),
           "{\"type\":\"OBJECT\",\"properties\":{"
           "\"l\":{\"enum\":[\"lo\",\"hi\"]},"
           "\"n\":{\"nullable\":true,\"type\":\"INTEGER\"},"
           "\"c\":{\"enum\":[\"x\"]}},"
           "\"propertyOrdering\":[\"l\",\"n\",\"c\"]}",
           "$ref inlined, nullable, const as enum");
    is_str(note, "(none)", "no note for what Gemini can say");
    is_str(gemini("{\"type\":\"object\",\"properties\":{"
                  "\"x\":{\"type\":\"number\",\"exclusiveMinimum\":0},"
                  "\"y\":{\"oneOf\":[{\"type\":\"string\"},{\"type\":"
                  "\"integer\"}]},"
                  "\"z\":{\"enum\":[1,2]}},"
                  "\"additionalProperties\":{\"type\":\"string\"}}",
                  &note),
           "{\"type\":\"OBJECT\",\"properties\":{"
           "\"x\":{\"type\":\"NUMBER\"},"
           "\"y\":{\"anyOf\":[{\"type\":\"STRING\"},{\"type\":\"INTEGER\"}]},"
           "\"z\":{}},\"propertyOrdering\":[\"x\",\"y\",\"z\"]}",
           "what Gemini cannot say is dropped");
    is_str(note,
           "gemini responseSchema: exclusiveMinimum at $.properties.x "
           "dropped; oneOf at $.properties.y loosened to anyOf; enum at "
           "$.properties.z dropped (Gemini enums are strings); "
           "additionalProperties at $ dropped",
           "and listed in one line");
    is_str(gemini("{\"type\":\"object\",\"properties\":{\"kid\":{\"$ref\":"
                  "\"#\"}}}",
                  &note),
           "{\"type\":\"OBJECT\",\"properties\":{\"kid\":{\"type\":"
           "\"OBJECT\",\"properties\":{\"kid\":{}},\"propertyOrdering\":["
           "\"kid\"]}},\"propertyOrdering\":[\"kid\"]}",
           "a recursive $ref is inlined once, then cut");
    is_str(note,
           "gemini responseSchema: recursive $ref at "
           "$.properties.kid.properties.kid cut",
           "and noted");
    is_str(gemini("{\"allOf\":[{\"type\":\"object\",\"properties\":{\"a\":"
                  "{}}},{\"properties\":{\"b\":{}},\"required\":[\"b\"]}]}",
                  &note),
           "{\"type\":\"OBJECT\",\"properties\":{\"a\":{},\"b\":{}},"
           "\"propertyOrdering\":[\"a\",\"b\"],\"required\":[\"b\"]}",
           "allOf merged");
    is_str(note, "(none)", "allOf merging needs no note");
    gemini("{\"a\\nb\":1,\"multipleOf\":2}", &note);
    is_str(note,
           "gemini responseSchema: \"a\\nb\" at $ dropped; multipleOf at $ "
           "dropped",
           "an odd member name is quoted in the note (found by fuzz-schema)");
}

int
main(void)
{
    test_messages();
    test_refs();
    test_compile_errors();
    test_dsl();
    test_spec();
    test_strict();
    test_gemini();
    return tap_done();
}
