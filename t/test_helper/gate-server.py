#!/usr/bin/env python3
"""A loopback HTTP server whose answers wait until the test lets them go.

    gate-server.py PORTFILE

Binds 127.0.0.1 on a free port, writes the port to PORTFILE, then answers:
  GET /gate/<name>      waits until <name> is released (at most 120 s), then
                        {"gate": name}; at once when it was released before
  GET /release/<name>   releases <name>: {"released": name}
  GET /waiting          {"waiting": [names of the gates a request waits at]}
So a workflow's service steps end when the test says, one by one.
"""
import json
import sys
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

lock = threading.Lock()
gates = {}
waiting = {}


def gate(name):
    with lock:
        return gates.setdefault(name, threading.Event())


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

    def do_GET(self):
        parts = urllib.parse.urlsplit(self.path).path.split("/", 2)
        name = urllib.parse.unquote(parts[2]) if len(parts) > 2 else ""
        if parts[1] == "gate" and name:
            with lock:
                waiting[name] = waiting.get(name, 0) + 1
            ok = gate(name).wait(120)
            with lock:
                waiting[name] -= 1
                if not waiting[name]:
                    del waiting[name]
            return self.answer(200 if ok else 504, {"gate": name})
        if parts[1] == "release" and name:
            gate(name).set()
            return self.answer(200, {"released": name})
        if parts[1] == "waiting":
            with lock:
                return self.answer(200, {"waiting": sorted(waiting)})
        return self.answer(404, {"error": "no such path"})

    do_POST = do_GET


def main():
    srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write(str(srv.server_address[1]))
    import os
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    srv.serve_forever()


if __name__ == "__main__":
    main()
