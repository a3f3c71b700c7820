/*
 * api-demo.c - a program that uses only the installed flexiai.h, built by
 * tests/install.bats with `pkg-config flexiai` against a staged install:
 * proof that the public API is enough to write a command.
 *
 * usage: api-demo CONFIG PROMPT   prints the answer, then "provider model"
 */
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

int
main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: api-demo CONFIG PROMPT\n");
        return FLEXIAI_EUSAGE;
    }
    flexiai_config *cfg = flexiai_config_new();
    flexiai_config_load(cfg, "/nonexistent/flexiai.ini", argv[1]);
    int rc = flexiai_config_validate(cfg, 0);
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
    flexiai_client *c = flexiai_client_new(cfg, &err);
    if (c == NULL) {
        fprintf(stderr, "api-demo: %s\n", err ? err : "no client");
        free(err);
        flexiai_config_free(cfg);
        return FLEXIAI_ESOFTWARE;
    }
    flexiai_message msg = {"user", argv[2]};
    flexiai_request req = {
        .messages = &msg,
        .nmessages = 1,
        .stream = flexiai_config_stream_mode(cfg) == FLEXIAI_STREAM_ALWAYS,
        .on_stream_error = flexiai_config_on_stream_error(cfg),
        .on_text = on_text,
    };
    flexiai_result res;
    rc = flexiai_complete(c, &req, &res);
    if (rc == FLEXIAI_OK && !res.streamed_output)
        fputs(res.text, stdout);
    printf("\n%s %s %s %s\n", res.provider ? res.provider : "-",
           n ? flexiai_config_provider_model(cfg, names[0]) : "-",
           flexiai_config_backend(cfg),
           flexiai_config_has_provider(cfg, "nobody") ? "yes" : "no");
    if (rc != FLEXIAI_OK)
        fprintf(stderr, "api-demo: %s\n", res.error ? res.error : "failed");
    flexiai_result_free(&res);
    flexiai_client_free(c);
    flexiai_config_free(cfg);
    return rc;
}
