/*
 * attempt.c - one attempt at one provider: build the request, perform it
 * (streamed through the provider's event parser or buffered), and turn
 * what came back into a response or a classified error.  Decides nothing
 * about what follows (failover.c does) and touches no breaker (client.c).
 */
#include "config.h"

#include "fx.h"

#include <stdlib.h>
#include <string.h>

void
fx_attempt_run(struct fx_http **http, const struct fx_provider *p,
               const char *key, const flexiai_message *msgs, size_t nmsgs,
               const flexiai_request *req, flexiai_text_fn on_text, void *ud,
               struct fx_outcome *out)
{
    memset(out, 0, sizeof(*out));
    fx_response_init(&out->resp);
    out->err.retry_after = -1;

    struct fx_call call = {
        .prov = p,
        .key = key,
        .model = p->model,
        .messages = msgs,
        .nmessages = nmsgs,
        .params = &p->params,
        .stream = req->stream,
    };
    struct fx_http_req hreq;
    memset(&hreq, 0, sizeof(hreq));
    char *berr = NULL;
    if (p->ops->build_request(&call, &hreq, &berr) != 0) {
        fx_error_set(&out->err, FLEXIAI_E_CONFIG, "%s",
                     berr ? berr : "cannot build request");
        free(berr);
        fx_http_req_free(&hreq);
        return;
    }
    out->url = fxu_strdup(hreq.url);
    if (*http == NULL)
        *http = fx_http_new();

    struct fx_stream st;
    memset(&st, 0, sizeof(st));
    st.resp = &out->resp;
    st.on_text = on_text;
    st.ud = ud;
    st.err.retry_after = -1;

    struct fx_http_opts ho = {
        .timeout = p->params.timeout,
        .connect_timeout = p->params.connect_timeout,
        .idle_timeout = p->params.idle_timeout,
        .insecure = p->insecure,
        .cancel = req->cancel,
        .ops = p->ops,
        .stream = req->stream ? &st : NULL,
        .max_response = p->params.max_response_bytes > 0
                            ? (size_t)p->params.max_response_bytes
                            : 0,
    };
    struct fx_http_result hr;
    memset(&hr, 0, sizeof(hr));
    int rc = fx_http_perform(*http, &hreq, &ho, &hr);
    out->latency_ms = hr.elapsed_ms;
    out->emitted = st.emitted;
    double now = fxu_wallclock();

    if (hr.transport_cls == FLEXIAI_E_CANCELLED ||
        (req->cancel && *req->cancel)) {
        fx_error_set(&out->err, FLEXIAI_E_CANCELLED, "interrupted");
    } else if (hr.status >= 200 && hr.status < 300) {
        if (req->stream) {
            if (st.err.cls != FLEXIAI_E_NONE) {
                out->err = st.err;
            } else if (st.stop_requested) {
                fx_error_set(&out->err, FLEXIAI_E_CANCELLED, "stopped");
            } else if (rc != 0) {
                fx_error_set(&out->err,
                             hr.transport_cls ? hr.transport_cls
                                              : FLEXIAI_E_STREAM_ERROR,
                             "%s",
                             hr.transport_msg[0] ? hr.transport_msg
                                                 : "stream broken");
            } else if (hr.stream_incomplete ||
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
                         hr.transport_cls ? hr.transport_cls
                                          : FLEXIAI_E_STREAM_ERROR,
                         "%s", hr.transport_msg);
        } else if (p->ops->parse_response(hr.body.data ? hr.body.data : "",
                                          hr.body.len, &out->resp,
                                          &out->err) == 0) {
            out->ok = 1;
        }
        out->err.status = hr.status; /* the real 2xx (201...) too */
    } else if (rc != 0 && hr.status == 0) {
        fx_error_set(&out->err,
                     hr.transport_cls ? hr.transport_cls : FLEXIAI_E_CONNECT,
                     "%s", hr.transport_msg);
    } else {
        p->ops->classify(hr.status, hr.body.data ? hr.body.data : "",
                         hr.body.len, &hr.headers, now, &out->err);
        out->err.status = hr.status;
    }
    fx_http_result_free(&hr);
    fx_http_req_free(&hreq);
}
