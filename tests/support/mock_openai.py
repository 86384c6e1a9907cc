"""A mock OpenAI API on 127.0.0.1: just `GET /v1/models`, checking `Authorization: Bearer <key>` the way OpenAI
does, and failing on demand (`mock.fail("rate_limit" | "server_error" | "hang")`).

Like the real API, a wrong key is answered with a 401 whose message quotes the key; here it quotes all of it,
so a test catches any code path that passes a provider's error text through to users or logs.

    with MockOpenAI() as mock:   # base URL for the client: mock.url (ends in /v1)
        ...
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODELS = [
    {"id": "gpt-4o-mini", "object": "model", "created": 1721172741, "owned_by": "system"},
    {"id": "gpt-4o", "object": "model", "created": 1715367049, "owned_by": "system"},
]


class MockOpenAI:
    api_key = "sk-mock-openai-0001"

    def __init__(self, api_key: str | None = None):
        self.api_key = api_key or self.api_key
        self.requests: list[dict[str, str]] = []  # headers of each request, lower-cased names
        self.faults: list[tuple[str, float]] = []
        self._stop = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def fail(self, kind: str, *, times: int = 1, seconds: float = 3.0) -> None:
        self.faults.extend([(kind, seconds)] * times)

    def reply(self, path: str, headers: dict[str, str]) -> tuple[int, Any]:
        self.requests.append(headers)
        if self.faults:
            kind, seconds = self.faults.pop(0)
            if kind == "hang":
                self._stop.wait(seconds)
                return 0, None
            if kind == "rate_limit":
                return 429, _error("Rate limit reached for requests", "requests", "rate_limit_exceeded")
            if kind == "server_error":
                return 503, _error("The server is overloaded or not ready yet.", "server_error", None)
        scheme, _, token = headers.get("authorization", "").partition(" ")
        if scheme != "Bearer" or not token:
            return 401, _error("You didn't provide an API key.", "invalid_request_error", None)
        if token != self.api_key:
            return 401, _error(f"Incorrect API key provided: {token}.", "invalid_request_error", "invalid_api_key")
        if path.rstrip("/") != "/v1/models":
            return 404, _error(f"Invalid URL (GET {path})", "invalid_request_error", None)
        return 200, {"object": "list", "data": MODELS}

    def start(self) -> MockOpenAI:
        mock = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                status, payload = mock.reply(self.path.split("?")[0], {k.lower(): v for k, v in self.headers.items()})
                if status == 0:  # a hang: the client gave up already; just close
                    self.close_connection = True
                    return
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, name="mock-openai", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> MockOpenAI:
        return self.start() if self._server is None else self

    def __exit__(self, *exc) -> None:
        self.stop()


def _error(message: str, kind: str, code: str | None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": None, "code": code}}
