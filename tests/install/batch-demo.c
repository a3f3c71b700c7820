/*
 * batch-demo.c - many requests at once through the installed flexiai.h
 * alone (flexiai_batch_*), built by tests/install.bats with `pkg-config
 * flexiai` against a staged install.
 *
 * usage: batch-demo CONFIG N J   submits prompts "item 0".."item N-1",
 * at most J unfinished at a time, and prints "I CODE TEXT" per result in
 * the order they finished, then "done N".
 */
#include <flexiai.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int
main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: batch-demo CONFIG N J\n");
        return FLEXIAI_EUSAGE;
    }
    long n = atol(argv[2]), jobs = atol(argv[3]);
    flexiai_config *cfg = flexiai_config_new();
    flexiai_config_load(cfg, "/nonexistent/flexiai.ini", argv[1]);
    if (flexiai_config_validate(cfg, 0) != FLEXIAI_OK) {
        flexiai_config_free(cfg);
        return FLEXIAI_ECONFIG;
    }
    flexiai_client *c = NULL;
    char *err = NULL;
    if (flexiai_client_new(cfg, &c, &err) != FLEXIAI_OK) {
        fprintf(stderr, "batch-demo: %s\n", err);
        free(err);
        return FLEXIAI_ESOFTWARE;
    }
    flexiai_batch *b = flexiai_batch_new(c);
    long next = 0, got = 0;
    flexiai_code worst = FLEXIAI_OK;
    while (got < n) {
        while (next < n && (long)flexiai_batch_pending(b) < jobs) {
            char prompt[64];
            snprintf(prompt, sizeof(prompt), "item %ld", next);
            flexiai_message msg = {.role = "user", .content = prompt};
            flexiai_request req;
            flexiai_request_init(&req);
            req.messages = &msg;
            req.nmessages = 1;
            /* the request is copied: prompt may go out of scope */
            if (flexiai_batch_submit(b, &req, (void *)(intptr_t)next) !=
                FLEXIAI_OK) {
                fprintf(stderr, "batch-demo: %s\n", flexiai_client_error(c));
                return FLEXIAI_ESOFTWARE;
            }
            next++;
        }
        flexiai_batch_run(b, -1);
        flexiai_result res;
        flexiai_code code;
        void *tag;
        flexiai_result_init(&res);
        while (flexiai_batch_next(b, &res, &code, &tag)) {
            printf("%ld %d %s\n", (long)(intptr_t)tag, code,
                   res.text ? res.text : "-");
            if (code > worst)
                worst = code;
            flexiai_result_free(&res);
            got++;
        }
    }
    printf("done %ld\n", got);
    flexiai_batch_free(b);
    flexiai_client_free(c);
    flexiai_config_free(cfg);
    return worst;
}
