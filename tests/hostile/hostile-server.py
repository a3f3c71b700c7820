#!/usr/bin/env python3
"""hostile-server.py - an HTTP server that misbehaves on purpose.

Used by tests/hostile.bats to check that flexiai answers every hostile
response with one line and the documented exit code.  Listens on 127.0.0.1
only, on a free port written to PORTFILE (via PORTFILE.tmp and a rename).

    hostile-server.py PORTFILE

The first path component names the misbehaviour; the rest is ignored, so
base_url = http://127.0.0.1:PORT/MODE/v1 works for an openai provider:

  endless-line    200 event stream: "data: aaaa..." that never ends its line
  endless-json    200 application/json body of endless bytes, no newline
  huge-event      200 event stream: data lines forever, no blank line
  flood           200 event stream: valid small events forever, no [DONE]
  redirect        302 with a Location holding an escape sequence
  continue        "100 Continue", then silence (never a final answer)
  retry-big       429 with Retry-After: 1e308
  retry-digits    429 with Retry-After: 99999999999999999999
  retry-date      429 with Retry-After: Fri, 31 Dec 9999 23:59:59 GMT
  no-choices      200 {"choices": []} (or a stream with no choice and [DONE])
  created         201 with a proper answer
  bad-events      200 stream: 50 malformed events, then a proper answer
  absurd-headers  200 answer after 200 headers of 8 KiB each, control bytes
  html            200 text/html login page (a captive portal, a proxy)
"""
import json
import os
import socket
import socketserver
import sys
import time

ANSWER = {"id": "x", "object": "chat.completion", "model": "m",
          "choices": [{"index": 0, "message": {"role": "assistant",
                                               "content": "fine"},
                       "finish_reason": "stop"}]}


def chunk_event(text, finish=None):
    return ("data: " + json.dumps({"choices": [{"index": 0, "delta": {
        "content": text}, "finish_reason": finish}]}) + "\n\n").encode()


class Handler(socketserver.BaseRequestHandler):
    def send(self, data):
        self.request.sendall(data)

    def head(self, status, reason, ctype, extra=b"", length=None):
        h = b"HTTP/1.1 %d %s\r\n" % (status, reason)
        h += b"Content-Type: " + ctype + b"\r\n"
        if length is not None:
            h += b"Content-Length: %d\r\n" % length
        else:
            h += b"Connection: close\r\n"
        self.send(h + extra + b"\r\n")

    def json_answer(self, status, reason, obj, extra=b""):
        body = json.dumps(obj).encode()
        self.head(status, reason, b"application/json", extra, len(body))
        self.send(body)

    def forever(self, piece):
        try:
            while True:
                self.send(piece)
        except OSError:
            pass

    def handle(self):
        f = self.request.makefile("rb")
        line = f.readline(65536)
        if not line:
            return
        parts = line.split()
        path = parts[1].decode("latin-1") if len(parts) > 1 else "/"
        length = 0
        while True:
            h = f.readline(65536)
            if h in (b"\r\n", b"\n", b""):
                break
            name, _, value = h.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        body = f.read(length) if length else b""
        try:
            stream = bool(json.loads(body or b"{}").get("stream"))
        except ValueError:
            stream = False
        mode = path.strip("/").split("/")[0]
        sse = b"text/event-stream"
        if mode == "endless-line":
            self.head(200, b"OK", sse)
            self.send(b"data: ")
            self.forever(b"a" * 65536)
        elif mode == "endless-json":
            self.head(200, b"OK", b"application/json")
            self.forever(b"{" * 65536)
        elif mode == "huge-event":
            self.head(200, b"OK", sse)
            self.forever(b"data: " + b"b" * 1000 + b"\n")
        elif mode == "flood":
            self.head(200, b"OK", sse)
            self.forever(chunk_event("x" * 4000))
        elif mode == "redirect":
            self.head(302, b"Found", b"text/html",
                      b"Location: http://127.0.0.1:1/\x1b[31mnew/v1\r\n", 0)
        elif mode == "continue":
            self.send(b"HTTP/1.1 100 Continue\r\n\r\n")
            time.sleep(30)
        elif mode.startswith("retry-"):
            value = {"retry-big": b"1e308",
                     "retry-digits": b"99999999999999999999",
                     "retry-date": b"Fri, 31 Dec 9999 23:59:59 GMT"}[mode]
            self.json_answer(429, b"Too Many Requests",
                             {"error": {"message": "slow down",
                                        "code": "rate_limit_exceeded"}},
                             b"Retry-After: " + value + b"\r\n")
        elif mode == "no-choices":
            if stream:
                self.head(200, b"OK", sse)
                self.send(b'data: {"id":"x","model":"m"}\n\ndata: [DONE]\n\n')
            else:
                self.json_answer(200, b"OK", {"id": "x", "choices": []})
        elif mode == "created":
            if stream:
                self.head(201, b"Created", sse)
                self.send(chunk_event("fine", "stop") + b"data: [DONE]\n\n")
            else:
                self.json_answer(201, b"Created", ANSWER)
        elif mode == "bad-events":
            self.head(200, b"OK", sse)
            self.send(b"data: {not json\x1b[2J\n\n" * 50)
            self.send(chunk_event("fine", "stop") + b"data: [DONE]\n\n")
        elif mode == "absurd-headers":
            extra = b"".join(b"X-Junk-%d: \x1b]0;pwned\x07%s\r\n" % (i, b"z" * 8000)
                             for i in range(200))
            self.json_answer(200, b"OK", ANSWER, extra)
        elif mode == "html":
            page = b"<html><body>Please log in</body></html>"
            self.head(200, b"OK", b"text/html", b"", len(page))
            self.send(page)
        else:
            self.json_answer(404, b"Not Found", {"error": {"message": "no"}})


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    srv = Server(("127.0.0.1", 0), Handler)
    port = srv.server_address[1]
    tmp = sys.argv[1] + ".tmp"
    with open(tmp, "w") as out:
        out.write("%d\n" % port)
    os.rename(tmp, sys.argv[1])
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
