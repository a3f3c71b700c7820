/*
 * test-batchapi-gemini.c - Gemini's batch mode without a server: the
 * input a writer makes (one model a job), the batch's status from real-
 * shaped Operations (int64 counts as strings, zeros left out), the
 * inlined answers cut out of a pretty-printed batch resource (and nothing
 * else that looks like them), and answer lines made into results priced
 * at the batch discount.
 */
#include "config.h"

#include "batchapi.h"
#include "tap.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static flexiai_config *cfg;

static flexiai_client *
make_client(void)
{
    cfg = flexiai_config_new();
    static const char *const v[][3] = {
        {"provider.ge", "type", "gemini"},
        {"provider.ge", "model", "gemini-x"},
        {"provider.ge", "api_key", "k"},
        {"provider.ge", "base_url", "http://127.0.0.1:9/p/ge"},
        {"provider.ge", "price_input", "2"},
        {"provider.ge", "price_output", "8"},
        {"provider.vx", "type", "vertex"},
        {"provider.vx", "project", "p"},
        {"provider.vx", "location", "us-central1"},
        {"provider.vx", "model", "gemini-x"},
        {"provider.vx", "api_key", "k"},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++)
        if (flexiai_config_set(cfg, v[i][0], v[i][1], v[i][2]) != FLEXIAI_OK)
            printf("# set %s.%s failed\n", v[i][0], v[i][1]);
    flexiai_client *c = NULL;
    if (flexiai_config_validate(cfg, 0) != FLEXIAI_OK ||
        flexiai_client_new(cfg, &c, NULL) != FLEXIAI_OK) {
        for (size_t i = 0; i < flexiai_config_ndiags(cfg); i++)
            printf("# %s\n", flexiai_config_diag(cfg, i)->text);
        printf("Bail out! client\n");
        exit(1);
    }
    return c;
}

static void
test_urls(void)
{
    char *m = fx_bgem_url_model(
        "http://h/p/ge/v1beta/models/gemini-2.5-flash:generateContent");
    is_str(m, "gemini-2.5-flash", "the model from a live URL");
    free(m);
    char *r = fx_bgem_root("http://h/v1/models/g:generateContent");
    is_str(r, "http://h/v1beta", "batch mode is v1beta's, even for api v1");
    free(r);
    ok(fx_bgem_id_ok("batches/abc-1") && fx_bgem_id_ok("files/x9"),
       "batch and file names are ids");
    ok(!fx_bgem_id_ok("batches/../x") && !fx_bgem_id_ok("batches/") &&
           !fx_bgem_id_ok("operations/x") && !fx_bgem_id_ok("batches/a?b"),
       "nothing else goes into a URL");
}

static void
test_writer(flexiai_client *c)
{
    flexiai_batchapi_limits lim;
    ok(flexiai_batchapi_supported(c, "ge", &lim) && lim.max_bytes == 20 << 20,
       "gemini: a batch API, inline requests under 20 MB");
    ok(!flexiai_batchapi_supported(c, "vx", NULL),
       "vertex: none (batch prediction is another API)");
    char *path = strdup("/tmp/fx-bgem-XXXXXX");
    int fd = mkstemp(path);
    FILE *fp = fdopen(fd, "w+");
    char *err = NULL;
    flexiai_batchapi_writer *w = flexiai_batchapi_writer_new(c, "ge", fp, &err);
    flexiai_message m = {.role = "user", .content = "hello"};
    flexiai_request req;
    flexiai_request_init(&req);
    req.messages = &m;
    req.nmessages = 1;
    is_int(flexiai_batchapi_add(w, "i0", &req, &err), FLEXIAI_OK, "item 1");
    is_int(flexiai_batchapi_add(w, "i1", &req, &err), FLEXIAI_OK, "item 2");
    req.model = "gemini-other";
    is_int(flexiai_batchapi_add(w, "i2", &req, &err), FLEXIAI_EDATA,
           "another model: refused");
    ok(err && strstr(err, "one model"), "and said why: %s", err ? err : "");
    free(err);
    is_int(flexiai_batchapi_finish(w), FLEXIAI_OK, "finished");
    flexiai_batchapi_writer_free(w);
    char *model = NULL;
    long long off = 0;
    is_int(fx_bgem_model_line(path, &model, &off, NULL), 0, "a model line");
    is_str(model, "gemini-x", "naming the job's model");
    free(model);
    fseek(fp, (long)off, SEEK_SET);
    char buf[8192];
    size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
    buf[n] = '\0';
    cJSON *j = cJSON_Parse(buf);
    const cJSON *b = cJSON_GetObjectItemCaseSensitive(j, "batch");
    const cJSON *arr = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(b, "inputConfig"), "requests"),
        "requests");
    is_int(cJSON_GetArraySize(arr), 2, "the body: two inline requests");
    const cJSON *r1 = cJSON_GetArrayItem(arr, 1);
    is_str(cJSON_GetObjectItemCaseSensitive(
               cJSON_GetObjectItemCaseSensitive(r1, "metadata"), "key")
               ->valuestring,
           "i1", "each under its key");
    ok(cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(
           cJSON_GetObjectItemCaseSensitive(r1, "request"), "contents")),
       "each request the live body");
    ok(cJSON_IsString(cJSON_GetObjectItemCaseSensitive(b, "displayName")),
       "the batch has its display name");
    cJSON_Delete(j);
    fclose(fp);
    unlink(path);
    free(path);
}

static void
test_status(void)
{
    flexiai_batchapi_status st;
    const char *running =
        "{\n  \"name\": \"batches/b1\",\n  \"metadata\": {\n    \"@type\": "
        "\"type.googleapis.com/google.ai.generativelanguage.v1beta."
        "GenerateContentBatch\",\n    \"state\": \"BATCH_STATE_RUNNING\",\n"
        "    \"batchStats\": {\"requestCount\": \"5\", "
        "\"successfulRequestCount\": \"2\", \"pendingRequestCount\": \"3\"}"
        "\n  }\n}\n";
    memset(&st, 0, sizeof(st));
    fx_bgem_status("batches/b1", running, strlen(running), &st);
    is_str(st.status, "running", "state word");
    ok(!st.ended && st.total == 5 && st.succeeded == 2 && st.failed == 0 &&
           st.processing == 3 && st.results == NULL,
       "running: counts from the int64 strings, a missing one is 0");
    flexiai_batchapi_status_free(&st);
    const char *done =
        "{\"name\":\"batches/b1\",\"metadata\":{\"state\":"
        "\"BATCH_STATE_SUCCEEDED\",\"batchStats\":{\"requestCount\":\"3\","
        "\"successfulRequestCount\":\"2\",\"failedRequestCount\":\"1\"},"
        "\"output\":{\"inlinedResponses\":{\"inlinedResponses\":[]}}},"
        "\"done\":true}";
    fx_bgem_status("batches/b1", done, strlen(done), &st);
    ok(st.ended && st.succeeded == 2 && st.failed == 1 && st.processing == 0,
       "succeeded: ended, counts");
    is_str(st.results, "batches/b1", "the answers are in the batch");
    flexiai_batchapi_status_free(&st);
    const char *file = "{\"metadata\":{\"state\":\"BATCH_STATE_SUCCEEDED\","
                       "\"output\":{\"responsesFile\":\"files/out1\"}}}";
    fx_bgem_status("batches/b2", file, strlen(file), &st);
    is_str(st.results, "files/out1", "or in a responses file");
    flexiai_batchapi_status_free(&st);
    const char *expired = "{\"metadata\":{\"state\":\"BATCH_STATE_EXPIRED\","
                          "\"batchStats\":{\"requestCount\":\"4\"}}}";
    fx_bgem_status("batches/b3", expired, strlen(expired), &st);
    ok(st.ended && st.total == 4 && st.failed == 4 && st.results == NULL,
       "expired: ended, nothing answered, no answers to fetch");
    is_str(st.status, "expired", "expired word");
    flexiai_batchapi_status_free(&st);
}

/* fx_bgem_inline over text: its lines joined, or "ERR". */
static char *
cut(const char *text, long *n)
{
    FILE *in = tmpfile(), *out = tmpfile();
    fputs(text, in);
    rewind(in);
    *n = fx_bgem_inline(in, out, NULL);
    long len = ftell(out);
    rewind(out);
    char *s = calloc(1, (size_t)len + 1);
    if (fread(s, 1, (size_t)len, out) != (size_t)len)
        s[0] = '\0';
    fclose(in);
    fclose(out);
    return s;
}

static void
test_inline(void)
{
    /* pretty-printed; a string that looks like the path; the same keys at
     * another path (the Operation's response) */
    const char *op =
        "{\n  \"name\": \"batches/b1\",\n  \"metadata\": {\n"
        "    \"displayName\": \"x \\\"inlinedResponses\\\": [{}] }\",\n"
        "    \"output\": {\n      \"inlinedResponses\": {\n"
        "        \"inlinedResponses\": [\n          {\n"
        "            \"response\": {\"candidates\": [{\"content\": "
        "{\"parts\": [{\"text\": \"a b  } ] \\\\\"}]}}]},\n"
        "            \"metadata\": {\"key\": \"i0\"}\n          },\n"
        "          {\"error\": {\"code\": 13, \"message\": \"m\"}, "
        "\"metadata\": {\"key\": \"i1\"}}\n        ]\n      }\n    }\n  },\n"
        "  \"response\": {\"output\": {\"inlinedResponses\": "
        "{\"inlinedResponses\": [{\"metadata\": {\"key\": \"dup\"}}]}}}\n}\n";
    long n;
    char *s = cut(op, &n);
    is_int(n, 2, "two answers, once each");
    is_str(s,
           "{\"response\":{\"candidates\":[{\"content\":{\"parts\":[{\"text\":"
           "\"a b  } ] \\\\\"}]}}]},\"metadata\":{\"key\":\"i0\"}}\n"
           "{\"error\":{\"code\":13,\"message\":\"m\"},\"metadata\":{\"key\":"
           "\"i1\"}}\n",
           "one a line, spaces only inside strings kept");
    free(s);
    /* the rest: the resource with its answers' array empty, for status */
    FILE *in = tmpfile();
    fputs(op, in);
    rewind(in);
    fxu_buf rest;
    fxu_buf_init(&rest);
    is_int(fx_bgem_inline(in, NULL, &rest), 2, "the rest kept");
    fxu_buf_putc(&rest, '\0');
    is_str(rest.data,
           "{\"name\":\"batches/b1\",\"metadata\":{\"displayName\":\"x "
           "\\\"inlinedResponses\\\": [{}] }\",\"output\":{"
           "\"inlinedResponses\":{\"inlinedResponses\":[]}}},\"response\":"
           "{\"output\":{\"inlinedResponses\":{\"inlinedResponses\":[{"
           "\"metadata\":{\"key\":\"dup\"}}]}}}}",
           "the rest: everything but the answers, valid JSON");
    flexiai_batchapi_status st;
    memset(&st, 0, sizeof(st));
    fx_bgem_status("batches/b1", rest.data, strlen(rest.data), &st);
    is_str(st.results, "batches/b1", "whose status still finds the answers");
    flexiai_batchapi_status_free(&st);
    fxu_buf_free(&rest);
    fclose(in);
    s = cut("{\"metadata\":{\"output\":{\"inlinedResponses\":{"
            "\"inlinedResponses\":[{\"a\":1}",
            &n);
    is_int(n, -1, "a cut-off resource is refused");
    free(s);
    s = cut("{\"metadata\":{\"state\":\"BATCH_STATE_EXPIRED\"}}", &n);
    is_int(n, 0, "no answers: no lines");
    free(s);
}

static void
test_results(flexiai_client *c)
{
    char *cid = NULL;
    flexiai_result res;
    const char *okl =
        "{\"response\":{\"candidates\":[{\"content\":{\"parts\":[{\"text\":"
        "\"hi there\"}],\"role\":\"model\"},\"finishReason\":\"STOP\"}],"
        "\"usageMetadata\":{\"promptTokenCount\":2,\"candidatesTokenCount\":2,"
        "\"totalTokenCount\":4},\"modelVersion\":\"gemini-x\"},\"metadata\":"
        "{\"key\":\"i4\"}}";
    is_int(flexiai_batchapi_result(c, "ge", okl, strlen(okl), &cid, &res),
           FLEXIAI_OK, "an answer");
    is_str(cid, "i4", "its key from metadata");
    is_str(res.text, "hi there", "its text by the provider's parser");
    ok(res.has_cost && llround(res.cost * 1e8) == llround(1e-5 * 1e8),
       "priced at half: (2*2 + 2*8) / 1e6 / 2");
    free(cid);
    flexiai_result_free(&res);
    const char *errl = "{\"error\":{\"code\":3,\"message\":\"bad field\"},"
                       "\"metadata\":{\"key\":\"i5\"}}";
    is_int(flexiai_batchapi_result(c, "ge", errl, strlen(errl), &cid, &res),
           FLEXIAI_EDATA, "INVALID_ARGUMENT: a refused request, 65");
    ok(res.error && strstr(res.error, "bad field"), "says why: %s",
       res.error ? res.error : "");
    free(cid);
    flexiai_result_free(&res);
    const char *gone = "{\"key\":\"i6\",\"error\":{\"code\":1}}";
    is_int(flexiai_batchapi_result(c, "ge", gone, strlen(gone), &cid, &res),
           FLEXIAI_ETEMPFAIL, "CANCELLED: may run again, 75");
    is_str(cid, "i6", "a responses file's line: its key on top");
    free(cid);
    flexiai_result_free(&res);
    const char *none = "{\"metadata\":{\"key\":\"i7\"}}";
    is_int(flexiai_batchapi_result(c, "ge", none, strlen(none), &cid, &res),
           FLEXIAI_EPROTOCOL, "neither answer nor error: not a result");
    free(cid);
    flexiai_result_free(&res);
}

int
main(void)
{
    flexiai_client *c = make_client();
    test_urls();
    test_writer(c);
    test_status();
    test_inline();
    test_results(c);
    flexiai_client_free(c);
    flexiai_config_free(cfg);
    return tap_done();
}
