#!/usr/bin/env python3
"""An OTLP/HTTP sink for bench/run.sh: answers every POST of an OTLP protobuf body with 200 {}
and counts its spans (GET /stats answers {"requests": N, "spans": M, "malformed": K}); a body
that is not an ExportTraceServiceRequest is answered 400, as a collector would, so that the
gateway counts its spans as dropped. Loopback only.

It shares the load core with wrk and the fake model server, so it must cost little: spans are
counted by walking the length-delimited fields down to ScopeSpans (ExportTraceServiceRequest
resource_spans 1 > ResourceSpans scope_spans 2 > ScopeSpans spans 2), stepping over each span
by its length, never parsing one."""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

counts = {"requests": 0, "spans": 0, "malformed": 0}


def varint(body, at, end):
    value = shift = 0
    while True:
        if at >= end or shift > 63:
            raise ValueError("truncated varint")
        byte = body[at]
        at += 1
        value |= (byte & 0x7F) << shift
        if byte < 0x80:
            return value, at
        shift += 7


def fields(body, at, end):
    """(field number, start, end) of each length-delimited field in body[at:end]; the other
    wire types are stepped over."""
    while at < end:
        key, at = varint(body, at, end)
        wire = key & 7
        if wire == 2:
            size, at = varint(body, at, end)
            if at + size > end:
                raise ValueError("field past its message")
            yield key >> 3, at, at + size
            at += size
        elif wire == 0:
            _, at = varint(body, at, end)
        elif wire in (1, 5):
            at += 8 if wire == 1 else 4
        else:
            raise ValueError("wire type %d" % wire)
    if at != end:
        raise ValueError("field past its message")


def count_spans(body):
    spans = 0
    for number, start, end in fields(body, 0, len(body)):
        if number != 1:
            continue
        for number, start, end in fields(body, start, end):
            if number != 2:
                continue
            spans += sum(1 for number, _, _ in fields(body, start, end) if number == 2)
    return spans


class Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        counts["requests"] += 1
        try:
            if self.headers.get("content-type") != "application/x-protobuf":
                raise ValueError("not protobuf")
            spans = count_spans(body)
        except ValueError:
            counts["malformed"] += 1
            self.reply(400, {"code": 3})
            return
        counts["spans"] += spans
        self.reply(200, {})

    def do_GET(self):
        self.reply(200, counts)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Sink).serve_forever()
