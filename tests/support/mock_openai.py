"""A mock OpenAI API on 127.0.0.1: `GET /v1/models` and `POST /v1/responses`, checking `Authorization: Bearer
<key>` the way OpenAI does, and failing on demand (`mock.fail("rate_limit" | "server_error" | "hang")`).

Like the real API, a wrong key is answered with a 401 whose message quotes the key; here it quotes all of it,
so a test catches any code path that passes a provider's error text through to users or logs.

`POST /v1/responses` speaks the Responses API closely enough for the official client to parse, and refuses, as
OpenAI does, an input whose function calls and function call outputs don't pair up. Its replies follow a script:

    with MockOpenAI() as mock:   # base URL for the client: mock.url (ends in /v1)
        mock.plan({"call": "list_bots", "arguments": {}},   # a reply with one function call
                  {"text": "You have two bots."})          # then a reply with one assistant message
        ...
        mock.bodies   # the JSON body of each POST, in order; mock.requests: the headers of every request

A turn may also be `{"calls": [{"call": ..., "arguments": ...}, ...]}` (parallel calls in one reply); arguments
given as a string are sent as they are (to play a model that writes invalid JSON). With no planned turn left, the
reply is the text "(mock) <the last user message>", or "(mock) done" after function call outputs.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
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
        self.bodies: list[Any] = []  # the JSON body of each POST (None when it was not JSON)
        self.faults: list[tuple[str, float]] = []
        self.turns: list[dict[str, Any]] = []  # planned replies of POST /v1/responses, first first
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def fail(self, kind: str, *, times: int = 1, seconds: float = 3.0) -> None:
        self.faults.extend([(kind, seconds)] * times)

    def plan(self, *turns: dict[str, Any]) -> None:
        """Queue the model's next replies (see the module docstring)."""
        for turn in turns:
            shapes = [key for key in ("text", "call", "calls") if key in turn]
            if len(shapes) != 1:  # a typo in a test's script should fail the test, not answer "(mock) ..."
                raise ValueError(f"a turn is {{'text': ...}}, {{'call': ...}} or {{'calls': [...]}}, not {turn!r}")
        self.turns.extend(turns)

    def reset(self) -> None:
        """Forget requests, bodies, faults and planned turns (for a mock shared by several tests)."""
        with self._lock:
            for recorded in (self.requests, self.bodies, self.faults, self.turns):
                recorded.clear()

    def reply(self, method: str, path: str, headers: dict[str, str], body: bytes = b"") -> tuple[int, Any]:
        with self._lock:
            self.requests.append(headers)
            payload = _json_or_none(body) if method == "POST" else None
            if method == "POST":
                self.bodies.append(payload)
            fault = self.faults.pop(0) if self.faults else None
        if fault:
            kind, seconds = fault
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
        route = (method, path.rstrip("/"))
        if route == ("GET", "/v1/models"):
            return 200, {"object": "list", "data": MODELS}
        if route == ("POST", "/v1/responses"):
            return self._respond(payload)
        return 404, _error(f"Invalid URL ({method} {path})", "invalid_request_error", None)

    # -- POST /v1/responses -----------------------------------------------------------------------------------

    def _respond(self, body: Any) -> tuple[int, Any]:
        if not isinstance(body, dict):
            return 400, _error("We could not parse the JSON body of your request.", "invalid_request_error", None)
        if not body.get("model"):
            return 400, _error("Missing required parameter: 'model'.", "invalid_request_error",
                               "missing_required_parameter", param="model")
        items = body.get("input", [])
        items = [{"role": "user", "content": items}] if isinstance(items, str) else items
        refusal = _unpaired_call(items)
        if refusal:
            return 400, _error(refusal, "invalid_request_error", None, param="input")
        with self._lock:
            turn = self.turns.pop(0) if self.turns else {"text": _default_text(items)}
        if "text" in turn:
            output = [_message_item(turn["text"])]
        else:
            output = [_function_call_item(call) for call in turn.get("calls", [turn])]
        return 200, _response(body, output)

    def start(self) -> MockOpenAI:
        mock = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                self._answer(b"")

            def do_POST(self):
                self._answer(self.rfile.read(int(self.headers.get("Content-Length") or 0)))

            def _answer(self, body: bytes):
                headers = {k.lower(): v for k, v in self.headers.items()}
                status, payload = mock.reply(self.command, self.path.split("?")[0], headers, body)
                if status == 0:  # a hang: the client gave up already; just close
                    self.close_connection = True
                    return
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.send_header("x-request-id", f"req_{secrets.token_hex(16)}")
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


def _error(message: str, kind: str, code: str | None, param: str | None = None) -> dict[str, Any]:
    return {"error": {"message": message, "type": kind, "param": param, "code": code}}


def _json_or_none(body: bytes) -> Any:
    try:
        return json.loads(body)
    except ValueError:
        return None


def _unpaired_call(items: list[Any]) -> str | None:
    """OpenAI's refusal when a function call output answers no call in the input, or a call has no output."""
    calls = {item.get("call_id") for item in items if isinstance(item, dict) and item.get("type") == "function_call"}
    outputs = {item.get("call_id") for item in items
               if isinstance(item, dict) and item.get("type") == "function_call_output"}
    if outputs - calls:
        return f"No tool call found for function call output with call_id {min(outputs - calls, key=str)}."
    if calls - outputs:
        return f"No tool output found for function call {min(calls - outputs, key=str)}."
    return None


def _default_text(items: list[Any]) -> str:
    last = items[-1] if items else {}
    if isinstance(last, dict) and last.get("role") == "user" and last.get("type", "message") == "message":
        content = last.get("content")
        if isinstance(content, list):  # content parts: [{"type": "input_text", "text": ...}, ...]
            content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
        return f"(mock) {content}"
    return "(mock) done"


def _message_item(text: str) -> dict[str, Any]:
    return {"id": f"msg_{secrets.token_hex(24)}", "type": "message", "status": "completed", "role": "assistant",
            "content": [{"type": "output_text", "text": text, "annotations": [], "logprobs": []}]}


def _function_call_item(turn: dict[str, Any]) -> dict[str, Any]:
    arguments = turn.get("arguments", {})
    return {"id": f"fc_{secrets.token_hex(24)}", "type": "function_call", "status": "completed",
            "call_id": f"call_{secrets.token_hex(12)}", "name": turn["call"],
            "arguments": arguments if isinstance(arguments, str) else json.dumps(arguments)}


def _response(body: dict[str, Any], output: list[dict[str, Any]]) -> dict[str, Any]:
    """A completed response as OpenAI returns it: the request's settings echoed, the output, a token estimate."""
    now = int(time.time())
    input_tokens = max(1, len(json.dumps(body.get("input", ""))) // 4)
    output_tokens = max(1, len(json.dumps(output)) // 8)
    return {
        "id": f"resp_{secrets.token_hex(24)}", "object": "response", "created_at": now, "status": "completed",
        "background": False, "completed_at": now, "error": None, "incomplete_details": None,
        "instructions": body.get("instructions"), "max_output_tokens": body.get("max_output_tokens"),
        "max_tool_calls": None, "model": body["model"], "output": output,
        "parallel_tool_calls": body.get("parallel_tool_calls", True), "previous_response_id": None,
        "prompt_cache_key": None, "reasoning": {"effort": None, "summary": None}, "safety_identifier": None,
        "service_tier": "default", "store": body.get("store", True), "temperature": 1.0,
        "text": {"format": {"type": "text"}, "verbosity": "medium"}, "tool_choice": body.get("tool_choice", "auto"),
        "tools": body.get("tools", []), "top_logprobs": 0, "top_p": 1.0, "truncation": "disabled",
        "usage": {"input_tokens": input_tokens,
                  "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                  "output_tokens": output_tokens, "output_tokens_details": {"reasoning_tokens": 0},
                  "total_tokens": input_tokens + output_tokens},
        "user": None, "metadata": body.get("metadata") or {},
    }
