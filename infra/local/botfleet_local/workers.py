"""Lambda workers: one process per execution environment, driven through the Lambda Runtime API.

Each worker is `python -m awslambdaric handler.handler` - the AWS Lambda Runtime Interface
Client, the same loop that runs a Python function in AWS - pointed at a Runtime API that we
serve for that worker alone (`AWS_LAMBDA_RUNTIME_API=127.0.0.1:<port>`). So module state,
environment variables, the context object, cold starts and crashes behave as in Lambda.

A `FunctionPool` per function keeps warm idle workers, starts another one (a cold start) when all
are busy, up to the function's concurrency limit, kills a worker whose invocation exceeds the
function timeout, and replaces a worker whose process died. Workers start lazily, on the first
invocation: READY comes sooner, and the first call pays the cold start as in AWS.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

log = logging.getLogger("botfleet_local.workers")

# How long a new worker may take to start and import its handler before its first invocation is
# failed. Lambda allows 10 s of init; a loaded 2-core laptop starting several workers needs more.
INIT_GRACE_SECONDS = 30.0


@dataclass
class FunctionSpec:
    """A deployed function, as the workers need it."""

    name: str
    arn: str
    handler: str
    runtime: str
    code_dir: Path
    layer_dirs: list[Path]
    env: dict[str, str]
    timeout: float = 3.0
    memory: int = 128
    max_concurrency: int = 4
    logical_id: str = ""


@dataclass
class InvokeResult:
    payload: bytes
    error: bool = False
    error_type: str | None = None
    logs: str = ""
    cold: bool = False
    duration_ms: float = 0.0

    def json(self):
        return json.loads(self.payload or b"null")


@dataclass
class _Invocation:
    payload: bytes
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    deadline_ms: int = 0
    picked: threading.Event = field(default_factory=threading.Event)
    done: threading.Event = field(default_factory=threading.Event)
    result: InvokeResult | None = None

    def finish(self, result: InvokeResult) -> None:
        if not self.done.is_set():
            self.result = result
            self.done.set()


def _error_payload(error_type: str, message: str, request_id: str = "") -> bytes:
    body = {"errorType": error_type, "errorMessage": message}
    if request_id:
        body["requestId"] = request_id
    return json.dumps(body).encode()


class _RuntimeApiHandler(BaseHTTPRequestHandler):
    """The Runtime API endpoints awslambdaric calls (2018-06-01)."""

    protocol_version = "HTTP/1.1"  # keep-alive, as the Lambda service does
    server: _RuntimeApiServer

    def setup(self) -> None:
        super().setup()
        # http.server writes headers and body in separate sends: without TCP_NODELAY, Nagle plus
        # delayed ACK add ~40 ms to every invocation.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args) -> None:
        pass

    def _reply(self, status: int, body: bytes = b'{"status":"OK"}', headers: dict | None = None) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _body(self) -> bytes:
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def do_GET(self) -> None:
        if not self.path.startswith("/2018-06-01/runtime/invocation/next"):
            return self._reply(404, b'{"errorMessage":"not found"}')
        inv = self.server.next_invocation()
        if inv is None:  # shutting down: leave the runtime blocked until it is killed
            self.close_connection = True
            return
        self._reply(200, inv.payload, {
            "Lambda-Runtime-Aws-Request-Id": inv.request_id,
            "Lambda-Runtime-Deadline-Ms": str(inv.deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": self.server.spec.arn,
            # awslambdaric 4.2.2 segfaults when the trace id header is missing.
            "Lambda-Runtime-Trace-Id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};"
                                       f"Parent={uuid.uuid4().hex[:16]};Sampled=0",
        })

    def do_POST(self) -> None:
        body = self._body()
        parts = self.path.strip("/").split("/")
        # /2018-06-01/runtime/invocation/{id}/response|error  and  /2018-06-01/runtime/init/error
        if parts[1:3] == ["runtime", "init"]:
            self.server.init_error(body)
            return self._reply(202)
        if len(parts) == 5 and parts[1:3] == ["runtime", "invocation"] and parts[4] in ("response", "error"):
            ok = self.server.complete(parts[3], body, parts[4] == "error",
                                      self.headers.get("Lambda-Runtime-Function-Error-Type"))
            return self._reply(202) if ok else self._reply(400, b'{"errorMessage":"unknown request id"}')
        self._reply(404, b'{"errorMessage":"not found"}')


class _RuntimeApiServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, spec: FunctionSpec):
        super().__init__(("127.0.0.1", 0), _RuntimeApiHandler)
        self.spec = spec
        self.inbox: queue.Queue[_Invocation | None] = queue.Queue()
        self.current: _Invocation | None = None
        self.closed = False

    def handle_error(self, request, client_address) -> None:
        # A killed worker (timeout, stop) resets its keep-alive connection: expected, not worth a traceback.
        if not isinstance(sys.exc_info()[1], (ConnectionError, OSError)):
            super().handle_error(request, client_address)

    def next_invocation(self) -> _Invocation | None:
        inv = self.inbox.get()
        if inv is not None:
            self.current = inv
            inv.deadline_ms = int((time.time() + self.spec.timeout) * 1000)
            inv.picked.set()
        return inv

    def complete(self, request_id: str, body: bytes, is_error: bool, error_type: str | None) -> bool:
        inv = self.current
        if inv is None or inv.request_id != request_id:
            return False
        if is_error and not error_type:
            try:
                error_type = json.loads(body).get("errorType")
            except ValueError:
                error_type = "Unhandled"
        inv.finish(InvokeResult(payload=body, error=is_error, error_type=error_type if is_error else None))
        self.current = None
        return True

    def init_error(self, body: bytes) -> None:
        try:
            error_type = json.loads(body).get("errorType") or "Runtime.InitError"
        except ValueError:
            error_type = "Runtime.InitError"
        inv = self.current or self._take_pending()
        if inv is not None:
            inv.finish(InvokeResult(payload=body, error=True, error_type=error_type))

    def _take_pending(self) -> _Invocation | None:
        try:
            return self.inbox.get_nowait()
        except queue.Empty:
            return None


class Worker:
    """One execution environment: a runtime process plus its private Runtime API."""

    def __init__(self, spec: FunctionSpec, python: str, base_env: dict[str, str],
                 log_sink: Callable[[str, str], None], number: int):
        self.spec = spec
        self.number = number
        self.server = _RuntimeApiServer(spec)
        self._thread = threading.Thread(target=self.server.serve_forever, args=(0.1,), daemon=True,
                                        name=f"runtime-api-{spec.name}-{number}")
        self._thread.start()
        port = self.server.server_address[1]
        env = {**base_env, **spec.env}
        env.update({
            "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
            "_HANDLER": spec.handler,
            "LAMBDA_TASK_ROOT": str(spec.code_dir),
            "AWS_LAMBDA_FUNCTION_NAME": spec.name,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(spec.memory),
            "AWS_LAMBDA_FUNCTION_TIMEOUT": str(int(spec.timeout)),
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{spec.name}",
            "AWS_LAMBDA_LOG_STREAM_NAME": f"local/[$LATEST]{uuid.uuid4().hex}",
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{spec.runtime}",
            # The function code first, then each layer's python/ (what /opt/python is in Lambda).
            "PYTHONPATH": os.pathsep.join([str(spec.code_dir)] + [str(d / "python") for d in spec.layer_dirs]
                                          + [str(d) for d in spec.layer_dirs]),
        })
        env.pop("PYTHONDONTWRITEBYTECODE", None)  # .pyc files make cold starts ~3x faster
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(
            [python, "-m", "awslambdaric", spec.handler], cwd=spec.code_dir, env=env,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True,  # own process group: killed as a whole, never orphaned
        )
        self.invocations = 0
        self._lines: list[str] | None = None
        threading.Thread(target=self._pump, args=(log_sink,), daemon=True,
                         name=f"worker-log-{spec.name}-{number}").start()
        threading.Thread(target=self._watch, daemon=True, name=f"worker-watch-{spec.name}-{number}").start()

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def _pump(self, log_sink: Callable[[str, str], None]) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            if self._lines is not None:
                self._lines.append(line)
            log_sink(self.spec.name, line)

    def _watch(self) -> None:
        code = self.proc.wait()
        inv = self.server.current or self.server._take_pending()
        if inv is not None:
            inv.finish(InvokeResult(
                payload=_error_payload("Runtime.ExitError",
                                       f"RequestId: {inv.request_id} Error: Runtime exited with error: "
                                       f"exit status {code}", inv.request_id),
                error=True, error_type="Runtime.ExitError"))

    def invoke(self, payload: bytes) -> InvokeResult:
        cold = self.invocations == 0
        self.invocations += 1
        inv = _Invocation(payload=payload)
        self._lines = []
        t0 = time.monotonic()
        self.server.inbox.put(inv)
        # Init (process start + imports) is not part of the function timeout, as in Lambda.
        # (The result is set before the kill: the watcher would otherwise report an exit error.)
        if not inv.picked.wait(INIT_GRACE_SECONDS) and not inv.done.is_set():
            inv.finish(InvokeResult(payload=_error_payload(
                "Runtime.InitTimeout", f"worker did not start within {INIT_GRACE_SECONDS:.0f} s"),
                error=True, error_type="Runtime.InitTimeout"))
            self.kill()
        if not inv.done.wait(self.spec.timeout + 0.05):
            inv.finish(InvokeResult(payload=_error_payload(
                "Sandbox.Timedout",
                f"RequestId: {inv.request_id} Error: Task timed out after {self.spec.timeout:.2f} seconds",
                inv.request_id), error=True, error_type="Sandbox.Timedout"))
            self.kill()
        result = inv.result or InvokeResult(payload=b"null")
        result.cold = cold
        result.duration_ms = (time.monotonic() - t0) * 1000
        result.logs = "\n".join(self._lines or [])
        self._lines = None
        return result

    def kill(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            log.warning("worker %s/%d did not exit", self.spec.name, self.number)
        if not self.server.closed:
            self.server.closed = True
            self.server.inbox.put(None)  # wakes a handler blocked in GET /next
            # shutdown() waits for the serve loop to notice; do not make the caller wait for it.
            threading.Thread(target=self._close_server, daemon=True).start()

    def _close_server(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class FunctionPool:
    """Warm workers of one function, started on demand up to `spec.max_concurrency`."""

    def __init__(self, spec: FunctionSpec, python: str, base_env: dict[str, str],
                 log_sink: Callable[[str, str], None]):
        self.spec = spec
        self._python = python
        self._base_env = base_env
        self._log_sink = log_sink
        self._idle: list[Worker] = []
        self._all: list[Worker] = []
        self._cond = threading.Condition()
        self._started = 0
        self._closed = False

    def _acquire(self) -> Worker:
        with self._cond:
            while True:
                if self._closed:
                    raise RuntimeError("local cloud is stopping")
                while self._idle:
                    w = self._idle.pop()  # LIFO: the most recently used worker is the warmest
                    if w.alive:
                        return w
                    self._forget(w)
                if len(self._all) < self.spec.max_concurrency:
                    self._started += 1
                    w = Worker(self.spec, self._python, self._base_env, self._log_sink, self._started)
                    self._all.append(w)
                    return w
                self._cond.wait()

    def _forget(self, w: Worker) -> None:
        if w in self._all:
            self._all.remove(w)
        w.kill()

    def _release(self, w: Worker) -> None:
        with self._cond:
            if w.alive and not self._closed:
                self._idle.append(w)
            else:
                self._forget(w)
            self._cond.notify()

    def invoke(self, payload: bytes) -> InvokeResult:
        if not self.spec.runtime.startswith("python"):
            return InvokeResult(payload=_error_payload(
                "Runtime.Unsupported", f"the local cloud runs only Python functions, not {self.spec.runtime}"),
                error=True, error_type="Runtime.Unsupported")
        w = self._acquire()
        try:
            return w.invoke(payload)
        finally:
            self._release(w)

    def recycle(self) -> None:
        """Kill the idle workers (busy ones finish their invocation, then are replaced)."""
        with self._cond:
            idle, self._idle = self._idle, []
            for w in idle:
                self._forget(w)

    @property
    def size(self) -> int:
        return len(self._all)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            workers = list(self._all)
            self._all.clear()
            self._idle.clear()
            self._cond.notify_all()
        for w in workers:
            w.kill()


def base_worker_env(*, region: str, account_id: str, moto_url: str, extra: dict[str, str]) -> dict[str, str]:
    """The environment every worker gets before the function's own variables; `extra` is the profile's."""
    env = {k: v for k, v in os.environ.items()
           if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT", "VIRTUAL_ENV")}
    env.update({
        "TZ": ":UTC",
        "PYTHONUNBUFFERED": "1",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_SESSION_TOKEN": "local",
        "AWS_ENDPOINT_URL": moto_url,
        # boto3 >= 1.37 derives endpoints from the account id; moto's DynamoDB Streams 404s on it.
        "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
        **extra,
    })
    return env


def default_python() -> str:
    return sys.executable
