/*
 * test-schema-dsl.c - how a --schema SPEC becomes a schema and what the
 * providers get from it: the DSL and its one-line errors, the multi
 * wrapper, SPEC resolution (file, inline JSON, DSL, missing file), the
 * OpenAI strictness check and the Gemini responseSchema conversion.
 */
#include "config.h"

#include "flexiai.h"
#include "schema/schema.h"
#include "fxu.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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
                      "(use str, int, float, bool, enum(A,B) or [T])"},
        {"x [[str]]", "schema DSL: unknown type \"[str]\" for field \"x\" "
                      "(use str, int, float, bool, enum(A,B) or [T])"},
        {"tags [str", "schema DSL: field \"tags\": missing ']' in \"[str\""},
        {"a, b int, a", "schema DSL: field \"a\" appears twice"},
        {"caf\xc3\xa9",
         "schema DSL: unknown type \"\xc3\xa9\" for field "
         "\"caf\" (use str, int, float, bool, enum(A,B) or [T])"},
        {"?x", "schema DSL: field 1: a name is letters, digits, '_' and "
               "'-', not \"?x\""},
        {"a int\nb", "schema DSL: unknown type \"int\\nb\" for field \"a\" "
                     "(use str, int, float, bool, enum(A,B) or [T])"},
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
    test_dsl();
    test_spec();
    test_strict();
    test_gemini();
    return tap_done();
}
