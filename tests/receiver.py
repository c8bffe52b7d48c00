"""A notification receiver, run as its own process by the tests and the benchmark.

POST (any path): records the notification, then answers with the status that PUT /mode set for that path
(204 by default), after the delay set there. GET /received: what was recorded, oldest first, each with
path, headers, body, the status answered and the time it arrived (time.time()).
"""

from __future__ import annotations

import argparse
import json
import ssl
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        super().__init__((host, port), Handler)
        self.received: list[dict[str, Any]] = []
        self.modes: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    server: Receiver
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:  # noqa: N802
        arrived = time.time()
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        mode = self.server.modes.get(self.path, {})
        status = mode.get("status", 204)
        with self.server.lock:
            self.server.received.append({"path": self.path, "headers": dict(self.headers.items()),
                                         "body": json.loads(body), "status": status, "at": arrived})
        if mode.get("delay"):
            time.sleep(mode["delay"])
        self._answer(status)

    def do_GET(self) -> None:  # noqa: N802
        with self.server.lock:
            self._answer(200, json.dumps(self.server.received).encode())

    def do_PUT(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))))
        self.server.modes[body.pop("path")] = body
        self._answer(204)

    def _answer(self, status: int, body: bytes = b"") -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        if body:
            self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1", help="the loopback address to listen on")
    parser.add_argument("--certfile", help="serve HTTPS with this certificate (PEM)...")
    parser.add_argument("--keyfile", help="...and this private key")
    args = parser.parse_args()
    server = Receiver(args.port, args.host)
    if args.certfile:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(args.certfile, args.keyfile)
        server.socket = tls.wrap_socket(server.socket, server_side=True)
    print("ready", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
