#!/usr/bin/env python3
"""A loopback HTTP server for the workflow tests.

    wf-server.py PORTFILE LOGFILE

Binds 127.0.0.1 on a free port, writes the port to PORTFILE, then answers:
  GET  /hit/<key>       appends "<key>" to LOGFILE (a line per call) and
                        answers {"key": key, "n": calls of key so far}
  GET  /echo/<path>?q   {"method", "path", "query": {name: value}, "headers"}
  POST /echo/<path>     the same with "body": the JSON body it was sent
  *    /status/<code>   answers that status with {"status": code}
"""
import json
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
counts = {}


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def answer(self, code, obj):
        data = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self, method):
        url = urllib.parse.urlsplit(self.path)
        parts = url.path.split("/")
        body = None
        n = int(self.headers.get("Content-Length") or 0)
        if n:
            raw = self.rfile.read(n)
            try:
                body = json.loads(raw)
            except ValueError:
                body = raw.decode("utf-8", "replace")
        if len(parts) >= 3 and parts[1] == "hit":
            key = urllib.parse.unquote("/".join(parts[2:]))
            with lock:
                counts[key] = counts.get(key, 0) + 1
                n = counts[key]
                with open(sys.argv[2], "a") as f:
                    f.write(key + "\n")
            return self.answer(200, {"key": key, "n": n})
        if len(parts) >= 2 and parts[1] == "echo":
            return self.answer(200, {
                "method": method,
                "path": url.path,
                "query": dict(urllib.parse.parse_qsl(url.query)),
                "headers": {k.lower(): v for k, v in self.headers.items()},
                "body": body,
            })
        if len(parts) == 3 and parts[1] == "status":
            return self.answer(int(parts[2]), {"status": int(parts[2])})
        return self.answer(404, {"error": "no such path"})

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
import os
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
server.serve_forever()
