"""A tiny threaded HTTP server on 127.0.0.1 (free port) that each mock exchange builds on: routing, the
exchange's own authentication check, and injected failures (429, 5xx, hangs) for the error tests."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.support.mock_exchanges.venue import Rejected, Venue

Reply = tuple[int, Any]  # (HTTP status, JSON-able payload or None)


@dataclass
class Request:
    method: str
    path: str
    query: str  # raw, as sent (signatures cover it byte for byte)
    body: str  # raw, as sent
    headers: dict[str, str]
    params: dict[str, str] = field(default_factory=dict)  # path parameters from the route

    @property
    def query_params(self) -> dict[str, str]:
        return dict(parse_qsl(self.query, keep_blank_values=True))

    @property
    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body, keep_blank_values=True))

    def json(self) -> Any:
        return json.loads(self.body) if self.body else {}

    def header(self, name: str) -> str:
        return self.headers.get(name.lower(), "")


@dataclass
class Fault:
    kind: str  # rate_limit | server_error | hang | hang_after | rate_limit_after
    method: str | None
    path: str | None  # a substring of the path
    times: int
    seconds: float


class MockExchange:
    """Subclasses set `exchange_id`, build `routes` and implement `authenticate` and the error renderers."""

    exchange_id = ""
    api_key = "mock-key-0001"
    api_secret = "mock-secret-0001"
    passphrase = "mock-pass-0001"
    default_balances: dict[str, str] = {}
    fee_in = "received"

    def __init__(self, balances: dict[str, str] | None = None):
        self.venue = Venue(self.exchange_id, balances or self.default_balances, fee_in=self.fee_in)
        self.routes: list[tuple[str, re.Pattern[str], Callable[[Request], Reply], bool]] = []
        self.requests: list[Request] = []
        self.faults: list[Fault] = []
        self._stop = threading.Event()
        self._server: ThreadingHTTPServer | None = None
        self.register()

    @property
    def credentials(self) -> dict[str, str]:
        return {"api_key": self.api_key, "api_secret": self.api_secret, "passphrase": self.passphrase}

    def wrong_credentials(self) -> dict[str, str]:
        """The right key with a wrong secret: only the signature (or basic auth / bearer) can tell."""
        if self.exchange_id == "ovex":  # bearer auth has no secret: a wrong key is the only wrong credential
            return {"api_key": "not-" + self.api_key, "api_secret": "", "passphrase": ""}
        return {"api_key": self.api_key, "api_secret": "wrong-" + self.api_secret, "passphrase": self.passphrase}

    # -- to implement ---------------------------------------------------------------------------------------

    def register(self) -> None:
        raise NotImplementedError

    def authenticate(self, request: Request) -> Reply | None:
        """None when the request is signed correctly; otherwise the exchange's own 401 reply."""
        raise NotImplementedError

    def rejected(self, exc: Rejected) -> Reply:
        raise NotImplementedError

    def rate_limited(self) -> Reply:
        return 429, {"error": "rate limited"}

    def server_error(self) -> Reply:
        return 503, {"error": "service unavailable"}

    # -- configuration ---------------------------------------------------------------------------------------

    def route(self, method: str, pattern: str, handler: Callable[[Request], Reply], *, private: bool = True) -> None:
        regex = re.compile("^" + re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + "$")
        self.routes.append((method, regex, handler, private))

    def fail(self, kind: str, *, method: str | None = None, path: str | None = None, times: int = 1,
             seconds: float = 3.0) -> None:
        self.faults.append(Fault(kind, method, path, times, seconds))

    def calls(self, method: str, path_part: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and path_part in r.path]

    # -- lifecycle --------------------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> MockExchange:
        mock = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self):
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length).decode() if length else ""
                parts = urlsplit(self.path)
                request = Request(self.command, parts.path, parts.query, body,
                                  {k.lower(): v for k, v in self.headers.items()})
                status, payload = mock.dispatch(request)
                if status == 0:  # a hang: the client has given up; just close the connection
                    self.close_connection = True
                    return
                data = b"" if payload is None else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            do_GET = do_POST = do_DELETE = do_PUT = _handle

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True  # a hung handler must not hold up shutdown
        # A short poll interval: shutdown() waits for the serve loop's next poll (0.5 s by default).
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02},
                         name=f"mock-{self.exchange_id}", daemon=True).start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> MockExchange:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # -- dispatch ---------------------------------------------------------------------------------------------

    def dispatch(self, request: Request) -> Reply:
        self.requests.append(request)
        for method, regex, handler, private in self.routes:
            match = regex.match(request.path)
            if method != request.method or not match:
                continue
            request.params = match.groupdict()
            fault = self._take_fault(request)
            if fault and fault.kind == "rate_limit":
                return self.rate_limited()
            if fault and fault.kind == "server_error":
                return self.server_error()
            if fault and fault.kind == "hang":
                self._stop.wait(fault.seconds)
                return 0, None
            if private:
                refused = self.authenticate(request)
                if refused is not None:
                    return refused
            try:
                reply = handler(request)
            except Rejected as exc:
                reply = self.rejected(exc)
            if fault and fault.kind == "hang_after":  # the exchange did the work, the reply never arrives
                self._stop.wait(fault.seconds)
                return 0, None
            if fault and fault.kind == "rate_limit_after":  # the exchange did the work, then answers 429
                return self.rate_limited()
            return reply
        return 404, {"error": f"no route {request.method} {request.path}"}

    def _take_fault(self, request: Request) -> Fault | None:
        for fault in self.faults:
            if fault.times > 0 and fault.method in (None, request.method) and (
                    fault.path is None or fault.path in request.path):
                fault.times -= 1
                return fault
        return None
