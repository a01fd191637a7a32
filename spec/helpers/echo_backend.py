#!/usr/bin/env python3
"""A backend for the host specs and bench: answers every GET with what it
received that matters to a gateway, one line each:

    x-remote-user: <each X-Remote-User value, joined by ", "; (none) if absent>
    authorization: <present | absent>

Usage: echo_backend.py PORTFILE -- listens on 127.0.0.1:<free port>, writes
the port to PORTFILE when ready, serves until killed (HTTP/1.1, keep-alive,
one thread per connection)."""
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Echo(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        users = self.headers.get_all("X-Remote-User") or []
        body = ("x-remote-user: %s\nauthorization: %s\n" % (
            ", ".join(users) if users else "(none)",
            "present" if self.headers.get("Authorization") is not None else "absent")).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def main():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    server.daemon_threads = True
    with open(sys.argv[1] + ".tmp", "w") as f:
        f.write("%d\n" % server.server_address[1])
    import os
    os.rename(sys.argv[1] + ".tmp", sys.argv[1])
    server.serve_forever()


if __name__ == "__main__":
    main()
