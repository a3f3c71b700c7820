/*
 * attempt.c - one attempt at one provider: build the request, perform it
 * (streamed through the provider's event parser or buffered), and turn
 * what came back into a response or a classified error (with a schema,
 * an answer that does not match is invalid_output).  Decides nothing
 * about what follows (failover.c does) and touches no breaker (engine.c).
 * fx_attempt_begin() and fx_attempt_end() are the two halves, apart so the
 * engine can run the transfer in between on its own multi handle;
 * fx_attempt_run() is both around one blocking transfer.
 */
#include "config.h"

#include "fx.h"
#include "http.h"
#include "schema/schema.h"

#include <stdlib.h>
#include <string.h>

int
fx_attempt_begin(struct fx_attempt_io *io, const struct fx_call *call,
                 const flexiai_request *req, flexiai_text_fn on_text, void *ud,
                 struct fx_outcome *out)
{
    const struct fx_provider *p = call->prov;
    memset(out, 0, sizeof(*out));
    memset(io, 0, sizeof(*io));
    fx_response_init(&out->resp);
    out->err.retry_after = -1;
    io->stream = call->stream;
    io->cancel = req->cancel;
    io->schema = call->schema;
    io->key = call->key;
    io->tools = call->ntools > 0;

    char *berr = NULL;
    if (p->ops->build_request(call, &io->hreq, &berr) != 0) {
        fx_error_set(&out->err, FLEXIAI_E_CONFIG, "%s",
                     berr ? berr : "cannot build request");
        free(berr);
        fx_http_req_free(&io->hreq);
        return -1;
    }
    out->url = fxu_strdup(io->hreq.url);

    io->st.resp = &out->resp;
    io->st.on_text = on_text;
    io->st.ud = ud;
    io->st.err.retry_after = -1;

    io->ho.timeout = call->params->timeout;
    io->ho.connect_timeout = call->params->connect_timeout;
    io->ho.idle_timeout = call->params->idle_timeout;
    io->ho.insecure = p->insecure;
    io->ho.tls_ca = p->tls_ca;
    io->ho.cancel = req->cancel;
    io->ho.ops = p->ops;
    io->ho.stream = call->stream ? &io->st : NULL;
    io->ho.max_response = call->params->max_response_bytes > 0
                              ? (size_t)call->params->max_response_bytes
                              : 0;
    return 0;
}

/* A provider that echoes the key it refused ("Incorrect API key provided:
 * KEY") must not have it kept: the message goes to the breaker state
 * (file and Redis), stderr and the ledger.  Every occurrence of the
 * call's own key becomes "[redacted]", here, before any of those. */
static void
redact_key(char *msg, size_t cap, const char *key)
{
    size_t klen = key ? strlen(key) : 0;
    if (klen < 4 || strstr(msg, key) == NULL)
        return;
    fxu_buf b;
    fxu_buf_init(&b);
    const char *p = msg, *hit;
    while ((hit = strstr(p, key)) != NULL) {
        fxu_buf_append(&b, p, (size_t)(hit - p));
        fxu_buf_puts(&b, "[redacted]");
        p = hit + klen;
    }
    fxu_buf_puts(&b, p);
    size_t n = b.len < cap - 1 ? b.len : cap - 1;
    while (n > 0 && ((unsigned char)b.data[n] & 0xC0) == 0x80)
        n--; /* cut on a character boundary */
    memcpy(msg, b.data, n);
    msg[n] = '\0';
    fxu_buf_free(&b);
}

void
fx_attempt_end(struct fx_attempt_io *io, const struct fx_provider *p, int rc,
               struct fx_outcome *out)
{
    struct fx_http_result *hr = &io->hr;
    struct fx_stream *st = &io->st;
    out->latency_ms = hr->elapsed_ms;
    out->emitted = st->emitted;
    double now = fxu_wallclock();

    if (hr->transport_cls == FLEXIAI_E_CANCELLED ||
        (io->cancel && *io->cancel)) {
        fx_error_set(&out->err, FLEXIAI_E_CANCELLED, "interrupted");
    } else if (hr->status >= 200 && hr->status < 300) {
        if (io->stream) {
            if (st->err.cls != FLEXIAI_E_NONE) {
                out->err = st->err;
            } else if (st->stop_requested) {
                fx_error_set(&out->err, FLEXIAI_E_CANCELLED, "stopped");
            } else if (rc != 0) {
                fx_error_set(&out->err,
                             hr->transport_cls ? hr->transport_cls
                                               : FLEXIAI_E_STREAM_ERROR,
                             "%s",
                             hr->transport_msg[0] ? hr->transport_msg
                                                  : "stream broken");
            } else if (hr->stream_incomplete ||
                       (p->ops->finish_ends_stream &&
                        out->resp.finish_reason == NULL)) {
                /* Gemini has no end marker: its last event carries the
                 * finish reason, so a stream without one was cut short */
                fx_error_set(&out->err, FLEXIAI_E_STREAM_ERROR,
                             "stream ended before the end marker");
            } else {
                out->ok = 1;
            }
        } else if (rc != 0) {
            fx_error_set(&out->err,
                         hr->transport_cls ? hr->transport_cls
                                           : FLEXIAI_E_STREAM_ERROR,
                         "%s", hr->transport_msg);
        } else if (p->ops->parse_response(hr->body.data ? hr->body.data : "",
                                          hr->body.len, &out->resp,
                                          &out->err) == 0) {
            out->ok = 1;
        }
        if (out->ok && !io->tools) { /* calls nobody offered */
            fx_tool_calls_free(out->resp.tool_calls, out->resp.ntool_calls);
            out->resp.tool_calls = NULL;
            out->resp.ntool_calls = 0;
        }
        /* an answer that calls tools is checked when it answers */
        if (out->ok && io->schema && out->resp.ntool_calls == 0 &&
            fx_schema_check(io->schema, &out->resp, &out->json, &out->verr) !=
                0) {
            out->ok = 0;
            fx_error_set(&out->err, FLEXIAI_E_INVALID_OUTPUT, "%s", out->verr);
        }
        out->err.status = hr->status; /* the real 2xx (201...) too */
    } else if (rc != 0 && hr->status == 0) {
        fx_error_set(&out->err,
                     hr->transport_cls ? hr->transport_cls : FLEXIAI_E_CONNECT,
                     "%s", hr->transport_msg);
    } else {
        p->ops->classify(hr->status, hr->body.data ? hr->body.data : "",
                         hr->body.len, &hr->headers, now, &out->err);
        out->err.status = hr->status;
    }
    redact_key(out->err.msg, sizeof(out->err.msg), io->key);
    fx_http_result_free(hr);
    fx_http_req_free(&io->hreq);
}
