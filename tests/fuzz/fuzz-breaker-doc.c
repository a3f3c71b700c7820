/*
 * fuzz-breaker-doc.c - libFuzzer target for the breaker state document parser
 * and the event JSON parser/encoder: any bytes, no crash, and every
 * accepted document survives a round trip unchanged.
 *
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -I. -Ilib \
 *       tests/fuzz/fuzz-breaker-doc.c lib/breaker.c lib/event.c lib/util.c \
 *       -lcjson -lm -o fuzz-breaker-doc
 *   ./fuzz-breaker-doc tests/fuzz/corpus/breaker-doc
 */
#include "config.h"

#include "fx.h"
#include "http.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
check_roundtrip(const struct fx_breaker_doc *d)
{
    struct fx_breaker_doc again;
    char *js = fx_breaker_doc_to_json(d);
    if (fx_breaker_doc_from_json(js, strlen(js), &again) != 0)
        abort(); /* we wrote something we cannot read */
    char *js2 = fx_breaker_doc_to_json(&again);
    if (strcmp(js, js2) != 0)
        abort();
    free(js);
    free(js2);
}

/* Every operation on whatever was accepted keeps the document sane. */
static void
check_ops(const struct fx_breaker_doc *d, uint8_t seed)
{
    static const double nows[] = {0, 1795000000.0, 1795000060.0, 1e12};
    for (int kind = FX_BREAKER_ADMIT; kind <= FX_BREAKER_FORCE_OPEN; kind++) {
        struct fx_breaker_doc copy = *d;
        struct fx_breaker_op op;
        int admit, changed;
        memset(&op, 0, sizeof(op));
        op.kind = kind;
        op.now = nows[seed & 3];
        op.until = op.now + 30;
        op.worker = "fuzz";
        op.was_probe = (seed >> 2) & 1;
        op.failure_threshold = 1 + (seed >> 3 & 7);
        op.recovery_timeout = 60;
        op.half_open_max_calls = 1 + (seed >> 6);
        op.probe_timeout = 30;
        int ev = fx_breaker_apply(&copy, &op, &admit, &changed);
        if (ev < FX_EV_NONE || ev > FX_EV_HALF_OPEN)
            abort();
        if (copy.nprobes < 0 || copy.nprobes > FX_MAX_PROBES)
            abort();
        if (copy.state < FX_CLOSED || copy.state > FX_HALF_OPEN)
            abort();
        (void)fx_breaker_usable(&copy, op.now, op.half_open_max_calls);
        check_roundtrip(&copy);
    }
}

static void
check_event(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';

    flexiai_event ev;
    void *owned;
    if (fx_event_parse(text, &ev, &owned) == 0) {
        if (ev.provider == NULL || ev.event_type == NULL || ev.json == NULL)
            abort();
        free(owned);
    }

    /* whatever the names hold, the event we publish is valid JSON */
    char *js = fx_event_json(text, FX_EV_OPENED, text, 1795427239.873279, 1, 0);
    cJSON *root = cJSON_Parse(js);
    if (root == NULL)
        abort();
    cJSON_Delete(root);
    if (fx_event_parse(js, &ev, &owned) != 0)
        abort();
    free(owned);
    free(js);
    free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fx_breaker_doc d;
    if (fx_breaker_doc_from_json((const char *)data, size, &d) == 0) {
        check_roundtrip(&d);
        check_ops(&d, size ? data[size - 1] : 0);
    } else {
        struct fx_breaker_doc def;
        fx_breaker_doc_init(&def);
        if (memcmp(&d, &def, sizeof(d)) != 0)
            abort(); /* rejected documents leave the closed default */
    }
    check_event(data, size);
    return 0;
}
