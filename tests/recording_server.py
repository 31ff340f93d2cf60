"""A real HTTP server on 127.0.0.1 that records every request and answers with scripted status codes.

It stands in for PagerDuty's Events API and Slack's incoming webhooks in the route tests: the notifier speaks
real HTTP to a real socket, and the test reads back exactly the bytes it sent.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Recorded:
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class RecordingServer:
    url: str
    requests: list[Recorded] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)  # answered in order; 202 once they run out
    default_status: int = 202
    default_body: bytes = b'{"status": "success", "message": "Event processed"}'
    headers: dict[str, str] = field(default_factory=dict)  # sent with every answer, e.g. Retry-After

    def json_bodies(self) -> list[Any]:
        return [r.json() for r in self.requests]


@contextmanager
def recording_server(default_status: int = 202, default_body: bytes | None = None) -> Iterator[RecordingServer]:
    state = RecordingServer(url="")
    state.default_status = default_status
    if default_body is not None:
        state.default_body = default_body
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length)
            with lock:
                state.requests.append(Recorded(self.path, dict(self.headers.items()), body))
                status = state.statuses.pop(0) if state.statuses else state.default_status
            payload = state.default_body if status < 300 else b'{"status": "error", "message": "scripted"}'
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            for name, value in state.headers.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:  # http.server logs to stderr otherwise
            del format, args

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
