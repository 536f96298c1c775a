#!/usr/bin/env python3
# A stand-in for bsdpd's /api/v1 (policy-contract.md), for bsdpctl's tests
# before and besides the daemon: canned replies in the contract's shapes,
# some hostile strings (escape sequences, newlines) that bsdpctl must
# escape, the contract's error bodies, and an SSE stream of two events.
# Every request is appended to LOG as "METHOD PATH BODY" (one line).
#   fake_api.py ADDRESS PORT TOKEN LOG
import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer

ADDRESS, PORT, TOKEN, LOG = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
MAC = "52:54:00:12:34:56"
MACHINE = {"mac": MAC, "hostname": "lab-101\x1b[2J", "profile": "local", "next_boot": None,
           "labels": {"room": "101"}, "model": "MacPro6,1\nFAKE", "arch": "x86_64",
           "uuid": "", "ip": "198.18.0.2", "first_seen": "2026-12-01T22:00:00Z",
           "last_seen": "2026-12-01T22:05:00Z"}
EVENT = {"id": 1, "time": "2026-12-01T22:00:00.123456Z", "mac": MAC, "kind": "tftp",
         "detail": "ipxe.efi", "rule": "machine", "bytes": 1024, "duration_ms": 3, "ok": True}
GET = {
    "/api/v1/machines": {"machines": [MACHINE]},
    "/api/v1/machines/" + MAC: MACHINE,
    "/api/v1/profiles": {"profiles": [{"name": "local", "kind": "local", "local": "exit"},
                                      {"name": "install", "kind": "linux",
                                       "description": "Debian 12", "kernel": "vmlinuz"}]},
    "/api/v1/groups": {"groups": [{"name": "lab", "selector": {"mac_prefix": "52:54:00"},
                                   "profile": "local", "priority": 10, "local": "auto"}]},
    "/api/v1/default": {"profile": "local"},
    "/api/v1/catalog": {"images": [{"id": 16777317, "name": "iPXE", "kind": "netboot",
                                    "arch": ["i386"], "default": True, "booter": "i386/booter"}],
                        "problems": [{"bundle": "Broken.nbi", "error": "no booter"}]},
}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, obj=None, ctype="application/json"):
        body = b"" if obj is None else (json.dumps(obj) + "\n").encode()
        self.send_response(status)
        if status == 401:
            self.send_header("WWW-Authenticate", "Bearer")
        if body:
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n).decode() if n else ""
        with open(LOG, "a") as f:
            f.write("%s %s %s\n" % (self.command, self.path, json.dumps(body)))
        if self.headers.get("Authorization") != "Bearer " + TOKEN:
            return self.reply(401, {"error": "missing or wrong token"})
        path = self.path
        if self.command == "GET" and path == "/api/v1/events/stream":
            return self.stream()
        if self.command == "GET" and path.startswith("/api/v1/events"):
            return self.reply(200, {"events": [EVENT]})
        if self.command == "GET" and path in GET:
            return self.reply(200, GET[path])
        if self.command == "PUT" and "missing" in body:
            return self.reply(422, {"error": 'profile "missing" does not exist',
                                    "field": "profile"})
        if self.command in ("PUT", "DELETE") and path.startswith("/api/v1/"):
            return self.reply(204 if self.command == "DELETE" else 200,
                              None if self.command == "DELETE" else json.loads(body or "{}"))
        return self.reply(404, {"error": "no such thing"})

    def stream(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Connection", "close")
        self.end_headers()
        for i, kind in ((1, "tftp"), (2, "script"), (3, "file")):
            ev = dict(EVENT, id=i, kind=kind, mac=MAC if i != 3 else "52:54:00:00:00:99")
            self.wfile.write(("id: %d\nevent: %s\ndata: %s\n\n" % (i, kind, json.dumps(ev))).encode())
            self.wfile.flush()
        self.close_connection = True

    do_GET = do_PUT = do_DELETE = do_POST = handle_any


HTTPServer((ADDRESS, PORT), Handler).serve_forever()
