/*
 * test-schema-output.c - structured output as requests see it
 * (lib/schema-output.c and the providers' parts): flexiai_schema_load's
 * exit codes, the check of an answer (fences, non-JSON, a tool of another
 * name, multi), and what each provider type's body carries in each
 * schema_mode, with the forced tool's input read back as the answer.
 */
#include "config.h"

#include "fx.h"
#include "http.h"
#include "schema/schema.h"
#include "tap.h"

#include <cjson/cJSON.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static flexiai_schema *
load(const char *spec, int multi)
{
    flexiai_schema *s = NULL;
    char *err = NULL;
    int rc = flexiai_schema_load(spec, multi, &s, &err);
    if (rc != 0)
        printf("# load %s: %d %s\n", spec, rc, err ? err : "");
    free(err);
    return s;
}

static void
test_load(void)
{
    flexiai_schema *s = NULL;
    char *err = NULL;
    is_int(flexiai_schema_load("{\"type\":\"object\",\"dependencies\":{}}", 0,
                               &s, &err),
           FLEXIAI_EUSAGE, "inline unsupported keyword: 64");
    ok(err && strstr(err, "\"dependencies\""), "the keyword is named: %s",
       err ? err : "");
    free(err);
    char path[] = "/tmp/test-schema-output-XXXXXX";
    int fd = mkstemp(path);
    ok(fd >= 0, "temporary file");
    const char *doc = "{\"type\":\"object\",\"$recursiveRef\":\"#\"}";
    ok(write(fd, doc, strlen(doc)) == (ssize_t)strlen(doc), "written");
    close(fd);
    err = NULL;
    is_int(flexiai_schema_load(path, 0, &s, &err), FLEXIAI_EUSAGE,
           "unsupported keyword in a file: 64 too");
    free(err);
    fd = open(path, O_WRONLY | O_TRUNC);
    ok(write(fd, "{nope", 5) == 5, "malformed file written");
    close(fd);
    err = NULL;
    is_int(flexiai_schema_load(path, 0, &s, &err), FLEXIAI_EDATA,
           "a file that is not JSON: 65");
    free(err);
    unlink(path);
    err = NULL;
    is_int(flexiai_schema_load("/nonexistent/schema.json", 0, &s, &err),
           FLEXIAI_ENOINPUT, "a missing file: 66");
    free(err);
    err = NULL;
    is_int(flexiai_schema_load("", 0, &s, &err), FLEXIAI_EUSAGE,
           "an empty SPEC: 64");
    free(err);

    s = load("a, b int", 1);
    char *text = flexiai_schema_text(s);
    cJSON *j = cJSON_Parse(text);
    ok(j != NULL, "--schema-show text is JSON");
    is_str(
        cJSON_GetObjectItem(
            cJSON_GetObjectItem(cJSON_GetObjectItem(j, "properties"), "items"),
            "type")
            ->valuestring,
        "array", "multi wraps the schema in items");
    ok(strstr(text, "\n  \"properties\": {") != NULL, "indented by two spaces");
    cJSON_Delete(j);
    free(text);
    ok(s->strict, "the DSL is strict");
    flexiai_schema_free(s);
}

static int
check(const flexiai_schema *s, const char *answer, const char *tool,
      char **json, char **verr)
{
    struct fx_response r;
    fx_response_init(&r);
    fxu_buf_puts(&r.text, answer);
    r.tool_name = tool ? fxu_strdup(tool) : NULL;
    int rc = fx_schema_check(s, &r, json, verr);
    fx_response_free(&r);
    return rc;
}

static void
test_check(void)
{
    flexiai_schema *s = load("severity, n int", 0);
    char *json, *verr;
    is_int(check(s, " {\"severity\": \"low\", \"n\": 2}\n", NULL, &json, &verr),
           0, "a matching answer");
    is_str(json, "{\"severity\":\"low\",\"n\":2}", "printed on one line");
    free(json);
    is_int(check(s, "```json\n{\"severity\":\"x\",\"n\":1}\n```", NULL, &json,
                 &verr),
           0, "a code fence is removed");
    free(json);
    is_int(check(s, "Sure! Here is\nthe answer you asked for, as JSON below.",
                 NULL, &json, &verr),
           -1, "prose is invalid");
    is_str(verr,
           "the answer is not JSON: \"Sure! Here is the answer you "
           "asked for, ...\"",
           "quoted on one line, cut");
    free(verr);
    is_int(check(s, "{\"severity\":\"x\"}", NULL, &json, &verr), -1,
           "a missing property is invalid");
    ok(verr && strstr(verr, "\"n\""), "named: %s", verr ? verr : "");
    free(verr);
    is_int(check(s, "", "other", &json, &verr), -1, "another tool's call");
    is_str(verr, "the model called tool \"other\", not \"answer\"",
           "says which tool");
    free(verr);
    is_int(check(s, "  ", NULL, &json, &verr), -1, "an empty answer");
    free(verr);
    flexiai_schema_free(s);

    s = load("name", 1);
    is_int(check(s, "{\"items\":[{\"name\":\"a\"}]}", NULL, &json, &verr), 0,
           "multi: the wrapper matches");
    is_str(json, "[{\"name\":\"a\"}]", "multi: the array is the answer");
    free(json);
    is_int(check(s, "[{\"name\":\"a\"}]", NULL, &json, &verr), -1,
           "multi: a bare array does not match the wrapper");
    free(verr);
    flexiai_schema_free(s);
}

/* ---- provider bodies ---------------------------------------------------- */

static cJSON *
body_of(const char *type, int mode, const flexiai_schema *s,
        const char *api_version, char **header)
{
    struct fx_provider p;
    memset(&p, 0, sizeof p);
    p.name = p.type = (char *)type;
    p.ops = fx_provider_ops_find(type);
    p.model = "m";
    p.project = "proj";
    p.api_version = (char *)api_version;
    p.schema_mode = mode;
    p.params.temperature = p.params.top_p = -1;
    flexiai_message msg = {.role = "user", .content = "hi"};
    struct fx_call call = {.prov = &p,
                           .key = "k",
                           .model = "m",
                           .messages = &msg,
                           .nmessages = 1,
                           .params = &p.params,
                           .schema = s};
    struct fx_http_req req;
    char *err = NULL;
    if (p.ops->build_request(&call, &req, &err) != 0) {
        if (header)
            *header = err;
        else
            free(err);
        return NULL;
    }
    if (header) {
        *header = NULL;
        for (size_t i = 0; req.headers && req.headers[i]; i++)
            if (strncmp(req.headers[i], "anthropic-version:", 18) == 0)
                *header = fxu_strdup(req.headers[i]);
    }
    cJSON *j = cJSON_Parse(req.body);
    fx_http_req_free(&req);
    return j;
}

static const char *
at(const cJSON *j, const char *path)
{
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    const cJSON *x = j;
    for (char *tok = strtok(buf, "."); tok && x; tok = strtok(NULL, "."))
        x = cJSON_IsArray(x) ? cJSON_GetArrayItem(x, atoi(tok))
                             : cJSON_GetObjectItem(x, tok);
    if (cJSON_IsString(x))
        return x->valuestring;
    if (cJSON_IsBool(x))
        return cJSON_IsTrue(x) ? "true" : "false";
    return x ? "(other)" : "(none)";
}

static void
test_bodies(void)
{
    flexiai_schema *s = load("a, b int", 0);
    cJSON *j = body_of("openai", FX_SCHEMA_NATIVE, s, NULL, NULL);
    is_str(at(j, "response_format.type"), "json_schema", "openai native");
    is_str(at(j, "response_format.json_schema.strict"), "true", "strict");
    is_str(at(j, "response_format.json_schema.schema.type"), "object",
           "with the schema");
    cJSON_Delete(j);
    j = body_of("openai", FX_SCHEMA_TOOL, s, NULL, NULL);
    is_str(at(j, "tool_choice.function.name"), "answer", "openai tool forced");
    is_str(at(j, "tools.0.function.parameters.type"), "object",
           "its parameters are the schema");
    is_str(at(j, "response_format"), "(none)", "no response_format");
    cJSON_Delete(j);
    j = body_of("openai", FX_SCHEMA_JSON, s, NULL, NULL);
    is_str(at(j, "response_format.type"), "json_object", "openai json");
    ok(strstr(at(j, "messages.0.content"), "JSON Schema") != NULL,
       "the schema in a system message");
    cJSON_Delete(j);
    j = body_of("openai", FX_SCHEMA_NATIVE, NULL, NULL, NULL);
    is_str(at(j, "response_format"), "(none)", "no schema, nothing added");
    cJSON_Delete(j);

    char *h = NULL;
    j = body_of("anthropic", FX_SCHEMA_NATIVE, s, NULL, &h);
    is_str(at(j, "output_config.format.type"), "json_schema",
           "anthropic native");
    is_str(h, "anthropic-version: 2026-10-21", "default api_version");
    free(h);
    cJSON_Delete(j);
    j = body_of("anthropic", FX_SCHEMA_TOOL, s, "2025-01-01", &h);
    is_str(at(j, "tool_choice.type"), "tool", "anthropic tool forced");
    is_str(at(j, "tools.0.input_schema.type"), "object", "input_schema");
    is_str(h, "anthropic-version: 2025-01-01", "api_version is the header");
    free(h);
    cJSON_Delete(j);
    j = body_of("anthropic", FX_SCHEMA_PROMPT, s, "2025\r\nX: y", &h);
    ok(j == NULL && h && strstr(h, "api_version"),
       "an api_version that would break the header is refused");
    free(h);
    j = body_of("anthropic", FX_SCHEMA_PROMPT, s, NULL, NULL);
    ok(strstr(at(j, "system"), "JSON Schema") != NULL,
       "anthropic prompt: the schema in system");
    cJSON_Delete(j);

    j = body_of("gemini", FX_SCHEMA_NATIVE, s, NULL, NULL);
    is_str(at(j, "generationConfig.responseMimeType"), "application/json",
           "gemini native: JSON");
    is_str(at(j, "generationConfig.responseSchema.type"), "OBJECT",
           "the converted schema");
    cJSON_Delete(j);
    j = body_of("vertex", FX_SCHEMA_JSON, s, NULL, NULL);
    is_str(at(j, "generationConfig.responseMimeType"), "application/json",
           "vertex json: JSON");
    is_str(at(j, "generationConfig.responseSchema"), "(none)",
           "without the schema");
    ok(strstr(at(j, "systemInstruction.parts.0.text"), "JSON Schema") != NULL,
       "which is in the system instruction");
    cJSON_Delete(j);
    flexiai_schema_free(s);
}

static void
test_tool_answers(void)
{
    struct fx_response r;
    struct fx_error e;
    const char *ob = "{\"choices\":[{\"message\":{\"role\":\"assistant\","
                     "\"content\":null,\"tool_calls\":[{\"id\":\"c\",\"type\":"
                     "\"function\",\"function\":{\"name\":\"answer\","
                     "\"arguments\":\"{\\\"a\\\":1}\"}}]},\"finish_reason\":"
                     "\"tool_calls\"}]}";
    fx_response_init(&r);
    is_int(fx_provider_openai.parse_response(ob, strlen(ob), &r, &e), 0,
           "openai tool call parsed");
    is_str(r.text.data, "{\"a\":1}", "its arguments are the text");
    fx_response_free(&r);
    const char *ab = "{\"content\":[{\"type\":\"tool_use\",\"id\":\"t\","
                     "\"name\":\"lookup\",\"input\":{\"a\":1}}],"
                     "\"stop_reason\":\"tool_use\"}";
    fx_response_init(&r);
    is_int(fx_provider_anthropic.parse_response(ab, strlen(ab), &r, &e), 0,
           "anthropic tool_use parsed");
    is_int((int)r.text.len, 0, "another tool's input is no answer");
    is_str(r.tool_name, "lookup", "its name is kept for the message");
    fx_response_free(&r);
}

int
main(void)
{
    test_load();
    test_check();
    test_bodies();
    test_tool_answers();
    return tap_done();
}
