#!/usr/bin/env python3
"""An OTLP/HTTP sink for bench/run.sh: answers every POST with 200 {} and counts the spans
of the JSON bodies (GET /stats answers {"requests": N, "spans": M}). Loopback only."""
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
        try:
            for resource in json.loads(body)["resourceSpans"]:
                for scope in resource["scopeSpans"]:
                    counts["spans"] += len(scope["spans"])
        except (ValueError, KeyError):
            pass
        self.reply({})

    def do_GET(self):
        self.reply(counts)

    def log_message(self, *args):
        pass


ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Sink).serve_forever()
