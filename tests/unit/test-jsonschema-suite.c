/*
 * test-jsonschema-suite.c - runs the official JSON-Schema-Test-Suite
 * (Debian package json-schema-test-suite) draft 7 files against the
 * validator.  The directory comes from argv[1] or JSON_SCHEMA_SUITE
 * (Makefile.am sets it); a missing suite is a failure, not a skip.
 *
 * Files of keywords we do not implement are skipped whole, with the reason
 * printed; in the files we run, every case must pass, except the groups
 * listed in skipped_groups, which compile must refuse (checked).
 */
#include "config.h"

#include "schema/schema.h"
#include "fxu.h"
#include "tap.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct {
    const char *file, *reason;
} skipped_files[] = {
    {"refRemote.json", "remote $ref (compile refuses it)"},
    {"dependencies.json", "\"dependencies\" is not supported"},
    {"optional/format", "format is an annotation, not asserted"},
    {"optional/ecmascript-regex.json",
     "format \"regex\" is not asserted; patterns are POSIX ERE"},
    {"optional/content.json",
     "contentMediaType/contentEncoding are not asserted"},
};

/* Groups in files we run whose schemas compile must refuse. */
static const struct {
    const char *file, *group, *reason;
} skipped_groups[] = {
    {"definitions.json", "valid definition",
     "$ref to the draft-07 meta-schema is a remote $ref"},
    {"definitions.json", "invalid definition",
     "$ref to the draft-07 meta-schema is a remote $ref"},
    {"ref.json", "remote ref, containing refs itself",
     "$ref to the draft-07 meta-schema is a remote $ref"},
    {"ref.json", "Recursive references between schemas",
     "$id-relative $ref (\"node\", \"tree\") needs base-URI resolution"},
};

static int cases_run, cases_skipped;

static const char *
file_skip_reason(const char *name)
{
    for (size_t i = 0; i < sizeof(skipped_files) / sizeof(skipped_files[0]);
         i++)
        if (strcmp(skipped_files[i].file, name) == 0)
            return skipped_files[i].reason;
    return NULL;
}

static const char *
group_skip_reason(const char *file, const char *group)
{
    for (size_t i = 0; i < sizeof(skipped_groups) / sizeof(skipped_groups[0]);
         i++)
        if (strcmp(skipped_groups[i].file, file) == 0 &&
            strcmp(skipped_groups[i].group, group) == 0)
            return skipped_groups[i].reason;
    return NULL;
}

static cJSON *
read_json(const char *path)
{
    FILE *fp = fopen(path, "rb");
    if (fp == NULL)
        return NULL;
    fxu_buf text;
    fxu_buf_init(&text);
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        fxu_buf_append(&text, chunk, n);
    fclose(fp);
    cJSON *doc = text.data ? cJSON_Parse(text.data) : NULL;
    fxu_buf_free(&text);
    return doc;
}

static void
run_group(const char *file, const cJSON *group)
{
    const char *desc = cJSON_GetStringValue(
        cJSON_GetObjectItemCaseSensitive(group, "description"));
    const cJSON *schema = cJSON_GetObjectItemCaseSensitive(group, "schema");
    const cJSON *tests = cJSON_GetObjectItemCaseSensitive(group, "tests");
    desc = desc ? desc : "?";
    char *err = NULL;
    fx_schema *s = fx_schema_compile(schema, &err);
    const char *skip = group_skip_reason(file, desc);
    if (skip) {
        ok(s == NULL, "%s: %s: compile refuses it (%s)", file, desc,
           err ? err : "compiled");
        printf("# skipped group %s: %s: %s\n", file, desc, skip);
        for (const cJSON *t = tests ? tests->child : NULL; t; t = t->next) {
            cases_skipped++;
            printf("ok %d - %s: %s # SKIP %s\n", ++tap_n, file, desc, skip);
        }
        free(err);
        fx_schema_free(s);
        return;
    }
    if (s == NULL) {
        ok(0, "%s: %s: compiles", file, desc);
        printf("#   %s\n", err);
        free(err);
        return;
    }
    for (const cJSON *t = tests ? tests->child : NULL; t; t = t->next) {
        const char *what = cJSON_GetStringValue(
            cJSON_GetObjectItemCaseSensitive(t, "description"));
        int want = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(t, "valid"));
        const cJSON *data = cJSON_GetObjectItemCaseSensitive(t, "data");
        char *why = NULL;
        int got = fx_schema_validate(s, data, &why) == 0;
        cases_run++;
        ok(got == want, "%s: %s: %s", file, desc, what ? what : "?");
        if (got != want)
            printf("#   expected %s; validator said: %s\n",
                   want ? "valid" : "invalid", why ? why : "valid");
        else if (why && strchr(why, '\n'))
            ok(0, "%s: %s: %s: message is one line", file, desc, what);
        free(why);
    }
    fx_schema_free(s);
}

static void
run_file(const char *dir, const char *name)
{
    const char *skip = file_skip_reason(name);
    if (skip) {
        printf("# skipped file %s: %s\n", name, skip);
        return;
    }
    char *path = fxu_asprintf("%s/%s", dir, name);
    cJSON *doc = read_json(path);
    ok(cJSON_IsArray(doc), "%s parses", name);
    int before = cases_run;
    for (const cJSON *g = doc ? doc->child : NULL; g; g = g->next)
        run_group(name, g);
    printf("# ran file %s: %d cases\n", name, cases_run - before);
    cJSON_Delete(doc);
    free(path);
}

static int
by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The *.json files of dir/sub (sub "" for dir itself), and subdirectories
 * as "sub/name" so that a skipped one is reported; sorted. */
static size_t
list_dir(const char *dir, const char *sub, char ***names)
{
    char *path = fxu_asprintf("%s%s%s", dir, sub[0] ? "/" : "", sub);
    DIR *d = opendir(path);
    free(path);
    size_t n = 0;
    *names = NULL;
    if (d == NULL)
        return 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        *names = fxu_xrealloc(*names, (n + 1) * sizeof(**names));
        (*names)[n++] =
            fxu_asprintf("%s%s%s", sub, sub[0] ? "/" : "", e->d_name);
    }
    closedir(d);
    qsort(*names, n, sizeof(**names), by_name);
    return n;
}

static void
run_dir(const char *dir, const char *sub)
{
    char **names;
    size_t n = list_dir(dir, sub, &names);
    for (size_t i = 0; i < n; i++) {
        size_t len = strlen(names[i]);
        if (len > 5 && strcmp(names[i] + len - 5, ".json") == 0)
            run_file(dir, names[i]);
        else if (file_skip_reason(names[i]))
            printf("# skipped %s: %s\n", names[i], file_skip_reason(names[i]));
        else if (sub[0] == '\0')
            run_dir(dir, names[i]);
        free(names[i]);
    }
    free(names);
}

int
main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : getenv("JSON_SCHEMA_SUITE");
    if (dir == NULL || dir[0] == '\0')
        dir = "/usr/share/json-schema-test-suite/tests/draft7";
    char **names;
    size_t n = list_dir(dir, "", &names);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    if (n == 0) {
        printf("Bail out! no JSON Schema test suite in %s (install the "
               "Debian package json-schema-test-suite)\n",
               dir);
        return 1;
    }
    printf("# suite: %s\n", dir);
    run_dir(dir, "");
    printf("# cases run: %d, skipped: %d\n", cases_run, cases_skipped);
    ok(cases_run > 300, "ran more than 300 cases (%d)", cases_run);
    return tap_done();
}
