"""An in-process HTTP server on 127.0.0.1 that serves recorded API pages and scripted faults.

Routes map a path to a handler `fn(request) -> Reply` (or a list of replies served in turn,
the last one repeating). Recorded pages under tests/connectors/fixtures may contain `{base}`,
replaced by the server's own address so next links point back at it.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

FIXTURES = Path(__file__).parent / "fixtures"


@dataclass
class Reply:
    status: int = 200
    body: bytes | str | dict | list = b""
    headers: dict = field(default_factory=dict)
    delay: float = 0.0
    content_type: str = "application/json"


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    body: bytes

    def q(self, name: str, default: str | None = None) -> str | None:
        return self.query.get(name, [default])[0]


class FakeApi:
    def __init__(self):
        self.routes: dict[str, object] = {}
        self.requests: list[Request] = []
        api = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # quiet
                pass

            def _serve(self, method: str):
                parts = urlsplit(self.path)
                length = int(self.headers.get("Content-Length") or 0)
                req = Request(method, parts.path, parse_qs(parts.query), dict(self.headers), self.rfile.read(length))
                api.requests.append(req)
                route = api.routes.get(parts.path)
                if route is None:
                    reply = Reply(404, {"error": f"no route {parts.path}"})
                elif isinstance(route, list):
                    reply = route.pop(0) if len(route) > 1 else route[0]
                else:
                    reply = route(req)
                if reply.delay:
                    time.sleep(reply.delay)
                body = reply.body
                if isinstance(body, dict | list):
                    body = json.dumps(body)
                if isinstance(body, str):
                    body = body.replace("{base}", api.base).encode()
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.content_type)
                    self.send_header("Content-Length", str(len(body)))
                    for k, v in reply.headers.items():
                        self.send_header(k, v.replace("{base}", api.base))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

            def do_GET(self):
                self._serve("GET")

            def do_POST(self):
                self._serve("POST")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def route(self, path: str, handler) -> None:
        self.routes[path] = handler

    def hits(self, path: str) -> list[Request]:
        return [r for r in self.requests if r.path == path]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def recorded(relative: str) -> str:
    """A recorded page as text (with `{base}` still in it)."""
    return (FIXTURES / relative).read_text(encoding="utf-8")


def free_port() -> int:
    """A loopback port with nothing listening (for connection-refused tests)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
