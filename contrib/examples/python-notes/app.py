"""python-notes: a small note board served with python3's http.server only.

GET /            the notes as an HTML page with a form
GET /notes       the notes as JSON
POST /notes      add a note (form field or JSON {"text": "..."})
GET /healthz     ok
"""

import html
import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

MAX_BODY = 16 * 1024
MAX_NOTES = 200

_notes = []
_lock = threading.Lock()

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Notes</title>
<style>body{{font:16px/1.5 sans-serif;max-width:36rem;margin:3rem auto}}
li{{margin:.3rem 0}}</style></head>
<body><h1>Notes</h1>
<form method="post" action="/notes"><input name="text" maxlength="500" autofocus>
<button>Add</button></form>
<ul>{items}</ul></body></html>
"""


class Handler(BaseHTTPRequestHandler):
    server_version = "python-notes/1.0"

    def _send(self, status, body, ctype):
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def do_GET(self):
        with _lock:
            notes = list(_notes)
        if self.path == "/":
            items = "".join("<li>%s</li>" % html.escape(n) for n in notes)
            self._send(200, PAGE.format(items=items), "text/html; charset=utf-8")
        elif self.path == "/notes":
            self._send(200, json.dumps({"notes": notes}) + "\n", "application/json")
        elif self.path == "/healthz":
            self._send(200, "ok\n", "text/plain")
        else:
            self._send(404, "not found\n", "text/plain")

    do_HEAD = do_GET

    def do_POST(self):
        if self.path != "/notes":
            self._send(404, "not found\n", "text/plain")
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._send(413, "too large\n", "text/plain")
            return
        raw = self.rfile.read(length).decode("utf-8", "replace")
        if self.headers.get("Content-Type", "").startswith("application/json"):
            try:
                text = str(json.loads(raw).get("text", ""))
            except (ValueError, AttributeError):
                self._send(400, "bad json\n", "text/plain")
                return
        else:
            text = parse_qs(raw).get("text", [""])[0]
        text = text.strip()[:500]
        if not text:
            self._send(400, "empty note\n", "text/plain")
            return
        with _lock:
            _notes.append(text)
            del _notes[:-MAX_NOTES]
        if "text/html" in self.headers.get("Accept", ""):
            self.send_response(303)
            self.send_header("Location", "/")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self._send(201, json.dumps({"text": text}) + "\n", "application/json")


def main():
    port = int(os.environ.get("PORT", "8000"))
    httpd = ThreadingHTTPServer(("0.0.0.0", port), Handler)
    print("python-notes listening on port %d" % port, flush=True)
    try:
        httpd.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
