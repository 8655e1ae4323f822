#!/usr/bin/env python3
"""An OTLP/HTTP sink for bench/run.sh: answers every POST with 200 {} and counts the spans
of the JSON bodies (GET /stats answers {"requests": N, "spans": M}). Loopback only.

It shares the load core with wrk and the fake model server, so it must cost little: spans
are counted by their "spanId" keys (a byte search in C), not by parsing each body, which at
sample_ratio 1 took enough of that core to cap the proxy's throughput."""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

counts = {"requests": 0, "spans": 0}


class Sink(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def reply(self, body):
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        counts["requests"] += 1
        counts["spans"] += body.count(b'"spanId":')
        self.reply({})

    def do_GET(self):
        self.reply(counts)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Sink).serve_forever()
