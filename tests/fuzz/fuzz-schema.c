/*
 * fuzz-schema.c - libFuzzer target for the structured-output core: the
 * input is a JSON Schema and an instance, split at the first NUL or
 * newline.  The schema is compiled, the instance validated, and the
 * schema also run through the strictness check, the Gemini conversion and
 * (as text) the DSL.  No crash, no hang, every message one line.
 *
 *   ./configure CC=clang --enable-fuzzers && make tests/fuzz/fuzz-schema
 *   ./tests/fuzz/fuzz-schema tests/fuzz/corpus/schema
 */
#include "config.h"

#include "schema/schema.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
one_line(const char *msg)
{
    if (msg && (strchr(msg, '\n') || msg[0] == '\0'))
        abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t cut = 0;
    while (cut < size && data[cut] != '\0' && data[cut] != '\n')
        cut++;
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    text[cut] = '\0'; /* schema: text; instance: text + cut + 1 */

    char *err = NULL;
    cJSON *dsl = fx_schema_from_dsl(text, &err);
    one_line(err);
    if ((dsl == NULL) == (err == NULL))
        abort(); /* exactly one of a schema and an error */
    free(err);
    cJSON_Delete(dsl);

    cJSON *schema = cJSON_Parse(text);
    cJSON *instance = cut < size ? cJSON_Parse(text + cut + 1) : NULL;
    if (schema) {
        err = NULL;
        fx_schema *s = fx_schema_compile(schema, &err);
        one_line(err);
        if ((s == NULL) == (err == NULL))
            abort();
        free(err);
        if (s && instance) {
            err = NULL;
            if (fx_schema_validate(s, instance, &err) != 0 && err == NULL)
                abort(); /* invalid without saying why */
            one_line(err);
            free(err);
        }
        fx_schema_free(s);

        char *why = NULL;
        if (!fx_schema_is_strict(schema, &why) && cJSON_IsObject(schema) &&
            why == NULL)
            abort();
        one_line(why);
        free(why);

        char *note = NULL;
        cJSON *gemini = fx_schema_to_gemini(schema, &note);
        one_line(note);
        free(note);
        cJSON_Delete(gemini);
    }
    cJSON_Delete(schema);
    cJSON_Delete(instance);
    free(text);
    return 0;
}
