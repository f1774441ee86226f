#!/usr/bin/env python3
"""The far end of t/5020-workflow-http-call.bats: a loopback HTTP server
on a free port (written to PORTFILE) with one route per case."""
import json
import os
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, status, body, ctype="application/json", extra=()):
        data = body if isinstance(body, bytes) else body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        for k, v in extra:
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def route(self):
        path, _, query = self.path.partition("?")
        n = int(query[2:]) if query.startswith("n=") else 0
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode() if length else ""
        if path == "/json":
            self.reply(200, json.dumps({"ok": True, "items": [1, 2, 3]}), extra=[("X-Trace", "t1")])
        elif path == "/echo":
            self.reply(200, json.dumps({"method": self.command, "body": body,
                                        "contentType": self.headers.get("Content-Type"),
                                        "token": self.headers.get("X-Token")}))
        elif path == "/text":
            self.reply(200, "hello, world", "text/plain")
        elif path == "/fail":
            self.reply(500, json.dumps({"error": "boom"}))
        elif path == "/big":
            # chunked, so the cap is met while reading, not from Content-Length
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Transfer-Encoding", "chunked")
            self.end_headers()
            chunk = b"x" * 1024
            try:
                for _ in range(n // 1024):
                    self.wfile.write(b"400\r\n" + chunk + b"\r\n")
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass
        elif path == "/redirect":
            self.reply(302, "", extra=[("Location", "/json")])
        elif path == "/loop":
            self.reply(302, "", extra=[("Location", "/loop")])
        elif path == "/to-file":
            self.reply(302, "", extra=[("Location", "file:///etc/passwd")])
        elif path == "/slow":
            time.sleep(3)
            self.reply(200, "{}")
        else:
            self.reply(404, "not found", "text/plain")

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = route


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
with open(sys.argv[1] + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(sys.argv[1] + ".tmp", sys.argv[1])
server.serve_forever()
