"""A round-robin HTTP load balancer for the multi-instance tests: each request goes to the next
instance; an instance that refuses the connection (stopped, killed) is skipped."""

from __future__ import annotations

import http.client
import itertools
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Balancer:
    def __init__(self, backends: list[tuple[str, int]]) -> None:
        self.backends = backends
        self.turn = itertools.count()
        self.lock = threading.Lock()
        self.server: ThreadingHTTPServer | None = None
        self.forwarded: list[int] = []  # index of the instance that answered each request

    @property
    def url(self) -> str:
        assert self.server is not None
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def forward(self, method: str, path: str, headers: dict[str, str], body: bytes) -> tuple[int, bytes]:
        with self.lock:
            start = next(self.turn)
        for step in range(len(self.backends)):
            index = (start + step) % len(self.backends)
            host, port = self.backends[index]
            connection = http.client.HTTPConnection(host, port, timeout=10)
            try:
                connection.request(method, path, body=body or None, headers=headers)
                response = connection.getresponse()
                payload = response.read()
            except OSError:
                continue  # that instance is down: the next one
            finally:
                connection.close()
            with self.lock:
                self.forwarded.append(index)
            return response.status, payload
        return 502, b"no instance available"

    def start(self) -> Balancer:
        balancer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                return None

            def _proxy(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                headers = {name: value for name, value in self.headers.items()
                           if name.lower() in ("content-type", "x-telegram-bot-api-secret-token")}
                status, payload = balancer.forward(self.command, self.path, headers, body)
                self.send_response(status)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = _proxy

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
