/*
 * api-demo.c - a program that uses only the installed flexiai.h and
 * flexiai-ledger.h, built by tests/install.bats with `pkg-config flexiai`
 * against a staged install: proof that the public API is enough to write
 * a command.
 *
 * usage: api-demo CONFIG PROMPT   prints the answer, then "provider model
 * backend has-nobody", then "ledger N" (the records it can read back
 * after logging this one)
 */
#include <flexiai-ledger.h>
#include <flexiai.h>
#include <stdio.h>
#include <stdlib.h>

static int
on_text(void *ud, const char *text, size_t len)
{
    (void)ud;
    fwrite(text, 1, len, stdout);
    return 0;
}

static int
on_record(void *ud, const char *line)
{
    (void)ud;
    (void)line;
    return 0;
}

/* Log the request, then count what the ledger holds. */
static long
ledger_round_trip(const flexiai_config *cfg, const flexiai_message *msg,
                  const flexiai_result *res, flexiai_code rc)
{
    flexiai_ledger_entry e;
    flexiai_ledger_entry_init(&e);
    e.command = "api-demo";
    e.messages = msg;
    e.nmessages = 1;
    e.result = res;
    e.exit_code = rc;
    char *err = NULL;
    if (flexiai_ledger_log(cfg, &e, &err) != FLEXIAI_OK) {
        fprintf(stderr, "api-demo: not logged: %s\n", err);
        free(err);
        return -1;
    }
    flexiai_ledger *l = NULL;
    if (flexiai_ledger_open(cfg, 0, &l, &err) != FLEXIAI_OK) {
        fprintf(stderr, "api-demo: %s\n", err);
        free(err);
        return -1;
    }
    flexiai_ledger_query q;
    flexiai_ledger_query_init(&q);
    long n = -1;
    if (flexiai_ledger_each(l, &q, FLEXIAI_LEDGER_JSON, on_record, NULL, &n) !=
        FLEXIAI_OK)
        fprintf(stderr, "api-demo: %s\n", flexiai_ledger_error(l));
    flexiai_ledger_close(l);
    return n;
}

int
main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: api-demo CONFIG PROMPT\n");
        return FLEXIAI_EUSAGE;
    }
    /* the header it was built with is the library it runs with */
    if (flexiai_version_number() != FLEXIAI_VERSION_NUMBER) {
        fprintf(stderr, "api-demo: built with flexiai.h %s, runs with %s\n",
                FLEXIAI_VERSION, flexiai_version());
        return FLEXIAI_ESOFTWARE;
    }
    flexiai_config *cfg = flexiai_config_new();
    flexiai_config_load(cfg, "/nonexistent/flexiai.ini", argv[1]);
    flexiai_code rc = flexiai_config_validate(cfg, 0);
    if (rc == FLEXIAI_OK)
        rc = flexiai_config_set_model(cfg, NULL, "picked-by-api");
    for (size_t i = 0; i < flexiai_config_ndiags(cfg); i++)
        fprintf(stderr, "api-demo: %s\n", flexiai_config_diag(cfg, i)->text);
    if (rc != FLEXIAI_OK) {
        flexiai_config_free(cfg);
        return rc;
    }
    const char *const *names;
    size_t n = flexiai_config_providers(cfg, &names);
    char *err = NULL;
    flexiai_client *c = NULL;
    rc = flexiai_client_new(cfg, &c, &err);
    if (rc != FLEXIAI_OK) {
        fprintf(stderr, "api-demo: %s\n", err);
        free(err);
        flexiai_config_free(cfg);
        return rc;
    }
    flexiai_message msg = {.role = "user", .content = argv[2]};
    flexiai_request req;
    flexiai_request_init(&req);
    req.messages = &msg;
    req.nmessages = 1;
    req.stream = flexiai_config_stream_mode(cfg) == FLEXIAI_STREAM_ALWAYS;
    req.on_stream_error = flexiai_config_on_stream_error(cfg);
    req.on_text = on_text;
    flexiai_result res;
    flexiai_result_init(&res);
    rc = flexiai_complete(c, &req, &res);
    if (rc == FLEXIAI_OK && !res.streamed_output)
        fputs(res.text, stdout);
    printf("\n%s %s %s %s\n", res.provider ? res.provider : "-",
           n ? flexiai_config_provider_model(cfg, names[0]) : "-",
           flexiai_backend_name(flexiai_config_backend(cfg)),
           flexiai_config_has_provider(cfg, "nobody") ? "yes" : "no");
    if (rc != FLEXIAI_OK)
        fprintf(stderr, "api-demo: %s\n", res.error ? res.error : "failed");
    printf("ledger %ld\n", ledger_round_trip(cfg, &msg, &res, rc));
    flexiai_result_free(&res);
    flexiai_client_free(c);
    flexiai_config_free(cfg);
    return rc;
}
