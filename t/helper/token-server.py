#!/usr/bin/env python3
"""A registry token service (the Docker/OCI bearer-token flow) for tests.

    token-server.py PORTFILE KEY CERT ISSUER USER:PASS LOG

Listens on a free loopback port (written to PORTFILE) and answers
GET /token?service=...&scope=repository:NAME:ACTIONS with a JWT (RS256,
signed with KEY through openssl, CERT in its x5c header) that the
registry, trusting CERT, verifies. USER:PASS (HTTP basic) gets the
actions asked for; anonymous callers get pull only; wrong credentials
get 401. Each request is logged to LOG as "user scope".
"""
import base64
import json
import os
import secrets
import subprocess
import sys
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, HTTPServer


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def main():
    portfile, key, cert, issuer, creds, log = sys.argv[1:7]
    with open(cert) as f:
        pem = f.read()
    body = pem.split("-----BEGIN CERTIFICATE-----")[1].split("-----END CERTIFICATE-----")[0]
    x5c = "".join(body.split())

    def sign(claims):
        header = {"alg": "RS256", "typ": "JWT", "x5c": [x5c]}
        data = (b64url(json.dumps(header).encode()) + "." +
                b64url(json.dumps(claims).encode())).encode()
        sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key], input=data,
                             capture_output=True, check=True).stdout
        return data.decode() + "." + b64url(sig)

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            url = urllib.parse.urlsplit(self.path)
            if url.path != "/token":
                self.send_error(404)
                return
            q = urllib.parse.parse_qs(url.query)
            user = ""
            auth = self.headers.get("Authorization", "")
            if auth.startswith("Basic "):
                given = base64.b64decode(auth[6:]).decode()
                if given != creds:
                    with open(log, "a") as f:
                        f.write("refused %s\n" % " ".join(q.get("scope", [])))
                    self.send_error(401)
                    return
                user = given.split(":")[0]
            access = []
            for scope in q.get("scope", []):
                kind, name, actions = scope.split(":")
                actions = actions.split(",")
                if not user:
                    actions = [a for a in actions if a == "pull"]
                access.append({"type": kind, "name": name, "actions": actions})
            now = int(time.time())
            token = sign({"iss": issuer, "sub": user, "aud": q.get("service", [""])[0],
                          "exp": now + 300, "nbf": now - 10, "iat": now,
                          "jti": secrets.token_hex(8), "access": access})
            with open(log, "a") as f:
                f.write("%s %s\n" % (user or "anonymous", " ".join(q.get("scope", [])) or "-"))
            out = json.dumps({"token": token, "expires_in": 300}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(out)))
            self.end_headers()
            self.wfile.write(out)

    server = HTTPServer(("127.0.0.1", 0), Handler)
    tmp = portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write(str(server.server_address[1]))
    os.rename(tmp, portfile)
    server.serve_forever()


if __name__ == "__main__":
    main()
