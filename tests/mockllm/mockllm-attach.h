/*
 * mockllm-attach.h - attachments in requests (mockllm-attach.c): image,
 * document and file parts checked in all four wire formats, recorded per
 * route, then taken out of the body so the text checks see text only.
 */
#ifndef MOCKLLM_ATTACH_H
#define MOCKLLM_ATTACH_H

#include <cjson/cJSON.h>
#include <stddef.h>

/* Script items: no_images, no_pdf (the route's model takes none: 400). */
struct mock_attach_script {
    int no_images, no_pdf;
};

enum mock_attach_wire {
    MOCK_ATTACH_CHAT,
    MOCK_ATTACH_RESPONSES,
    MOCK_ATTACH_ANTHROPIC,
    MOCK_ATTACH_GEMINI
};

/* Check and record body's attachments for route `route`, then replace
 * them by nothing (their text parts stay).  0, or -1 with msg (a 400 in
 * the provider's shape). */
int mock_attach_take(cJSON *body, enum mock_attach_wire wire, const char *route,
                     const struct mock_attach_script *sc, char *msg,
                     size_t cap);
/* The route's records as a JSON array (GET /_control/attach/NAME):
 * {"part", "mime", "bytes", "sha256", "url", "name"} each. */
cJSON *mock_attach_log(const char *route);
/* Forget every record (POST /_control/reset). */
void mock_attach_reset(void);

#endif
