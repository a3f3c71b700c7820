/*
 * test-jsonschema.c - the validator as a caller sees it: one-line
 * validation messages with their paths, $refs and the guards that keep
 * validation finite, and compile refusals naming keyword and place.  The
 * draft 7 semantics themselves are checked by test-jsonschema-suite; the
 * DSL, SPEC resolution and conversions by test-schema-dsl.
 */
#include "config.h"

#include "schema/schema.h"
#include "fxu.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

int
main(void)
{
    test_messages();
    test_refs();
    test_compile_errors();
    return tap_done();
}
