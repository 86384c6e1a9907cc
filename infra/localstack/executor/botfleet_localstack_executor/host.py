"""A LocalStack runtime executor that runs each execution environment as a host process.

In a Docker-backed LocalStack, an execution environment is a container whose init binary serves the Lambda Runtime
API (port 9001 inside the container) and relays invocations from LocalStack. Here the executor plays that part
itself: every environment gets a small Runtime API server on 127.0.0.1 (an ephemeral port) and one process,
`<python> -m awslambdaric <handler>`, started with the function's environment from LocalStack. LocalStack hands
invocations to `invoke()` directly (no HTTP hop to a container), so the whole protocol is:

    LocalStack ── invoke(payload) ──► Runtime API server ◄── GET .../invocation/next ── awslambdaric
                 ◄── InvocationResult ──                  ◄── POST .../response|error ──

The interpreter is the project's own venv (BOTFLEET_LAMBDA_PYTHON): the functions' dependencies live there, not in
a layer (LIGHT synth), and it is Python 3.11 while the template says python3.13 (the code is kept 3.11-compatible).
Function timeouts, init errors and crashes are reported the way Lambda reports them, and an environment whose
process died (timeout, crash) starts a fresh one on its next invocation, as Lambda re-initialises a sandbox.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import select
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from localstack import config
from localstack.services.lambda_.invocation.executor_endpoint import StatusErrorException
from localstack.services.lambda_.invocation.lambda_models import FunctionVersion, InvocationResult
from localstack.services.lambda_.invocation.runtime_executor import LambdaRuntimeException, RuntimeExecutor

LOG = logging.getLogger(__name__)

#: The interpreter that runs the functions (required): the project venv's python, which has awslambdaric and
#: every dependency of the functions.
PYTHON_ENV = "BOTFLEET_LAMBDA_PYTHON"
#: Optional: a directory where each function's output is appended to `<function name>.log`.
LOG_DIR_ENV = "BOTFLEET_LAMBDA_LOG_DIR"
#: Optional: a directory holding one `<pid>.pid` file per live runtime process, so whoever started LocalStack can
#: end stragglers by id if LocalStack itself dies without stopping its environments.
PID_DIR_ENV = "BOTFLEET_LAMBDA_PID_DIR"

#: What a runtime process inherits from LocalStack's own environment; everything else comes from LocalStack's
#: per-function variables, as in a Lambda sandbox.
HOST_ENV_KEYS = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "TMP")

RUNTIME_API_PREFIX = "/2018-06-01/runtime"


def _error_body(error_type: str, message: str) -> bytes:
    return json.dumps({"errorType": error_type, "errorMessage": message}).encode()


class _Invocation:
    """One invocation in flight; the first `finish` wins (response, error, timeout or process exit)."""

    def __init__(self, payload: dict[str, str]):
        self.request_id = payload["invoke-id"]
        self.invoked_arn = payload["invoked-function-arn"]
        self.body = (payload.get("payload") or "").encode()
        # awslambdaric 4.2.2 segfaults on a `next` reply without Lambda-Runtime-Trace-Id: always send one.
        self.trace_id = payload.get("trace-id") or (
            f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Parent={uuid.uuid4().hex[:16]};Sampled=0")
        self.deadline_ms = 0
        self.done = threading.Event()
        self.result = b""
        self.is_error = False
        self._lock = threading.Lock()

    def finish(self, body: bytes, is_error: bool) -> bool:
        with self._lock:
            if self.done.is_set():
                return False
            self.result, self.is_error = body, is_error
            self.done.set()
            return True


class _RuntimeApiHandler(BaseHTTPRequestHandler):
    """The Runtime API endpoints awslambdaric calls (2018-06-01)."""

    protocol_version = "HTTP/1.1"  # keep-alive, as the Lambda service does
    server: _RuntimeApiServer

    def setup(self) -> None:
        super().setup()
        # http.server writes headers and body in separate sends: without TCP_NODELAY, Nagle plus delayed ACK add
        # ~40 ms to every invocation.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args) -> None:
        pass

    def _reply(self, status: int, body: bytes = b'{"status":"OK"}', headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if not self.path.startswith(f"{RUNTIME_API_PREFIX}/invocation/next"):
            return self._reply(404, _error_body("NotFound", self.path))
        inv = self.server.next_invocation()
        if inv is None:  # closing: leave the runtime blocked until it is killed
            self.close_connection = True
            return None
        return self._reply(200, inv.body, {
            "Lambda-Runtime-Aws-Request-Id": inv.request_id,
            "Lambda-Runtime-Deadline-Ms": str(inv.deadline_ms),
            "Lambda-Runtime-Invoked-Function-Arn": inv.invoked_arn,
            "Lambda-Runtime-Trace-Id": inv.trace_id,
        })

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = self.path[len(RUNTIME_API_PREFIX):].strip("/").split("/")
        if parts == ["init", "error"]:
            self.server.report_init_error(body)
            return self._reply(202)
        if len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error"):
            if self.server.complete(parts[1], body, is_error=parts[2] == "error"):
                return self._reply(202)
            return self._reply(400, _error_body("InvalidRequestID", f"unknown request id {parts[1]}"))
        return self._reply(404, _error_body("NotFound", self.path))


class _RuntimeApiServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _RuntimeApiHandler)
        self.inbox: queue.Queue[_Invocation | None] = queue.Queue()
        self.current: _Invocation | None = None
        self.timeout_seconds = 3.0
        self.ready = threading.Event()  # the runtime asked for its first invocation: init is over
        self.init_error: bytes | None = None
        self.changed = threading.Event()  # ready, init error or process exit

    def handle_error(self, request, client_address) -> None:
        # A killed runtime (timeout, stop) resets its keep-alive connection: expected, not worth a traceback.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)

    def next_invocation(self) -> _Invocation | None:
        self.ready.set()
        self.changed.set()
        inv = self.inbox.get()
        if inv is not None:
            inv.deadline_ms = int((time.time() + self.timeout_seconds) * 1000)
            self.current = inv
        return inv

    def complete(self, request_id: str, body: bytes, *, is_error: bool) -> bool:
        inv = self.current
        if inv is None or inv.request_id != request_id:
            return False
        self.current = None
        inv.finish(body, is_error)
        return True

    def report_init_error(self, body: bytes) -> None:
        self.init_error = body or _error_body("Runtime.InitError", "init failed")
        self.changed.set()


class _RuntimeProcess:
    """One runtime process and its private Runtime API server (never reused after the process dies)."""

    def __init__(self, *, python: str, handler: str, code_dir: str, env: dict[str, str], function_name: str):
        self.function_name = function_name
        self.server = _RuntimeApiServer()
        threading.Thread(target=self.server.serve_forever, args=(0.2,), daemon=True,
                         name=f"lambda-runtime-api-{function_name}").start()
        env = {**env, "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{self.server.server_address[1]}"}
        self.lines: list[str] = []
        self._lines_lock = threading.Lock()
        self._log_file = None
        if log_dir := os.environ.get(LOG_DIR_ENV):
            Path(log_dir).mkdir(parents=True, exist_ok=True)
            self._log_file = open(Path(log_dir) / f"{function_name}.log", "a", buffering=1)  # noqa: SIM115
        self.proc = subprocess.Popen(
            [python, "-m", "awslambdaric", handler], cwd=code_dir, env=env,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: killed as a whole
        )
        self._pid_file = None
        if pid_dir := os.environ.get(PID_DIR_ENV):
            Path(pid_dir).mkdir(parents=True, exist_ok=True)
            self._pid_file = Path(pid_dir) / f"{self.proc.pid}.pid"
            self._pid_file.write_text(function_name)
        self.exit_code: int | None = None
        self._closed = False
        threading.Thread(target=self._pump, daemon=True, name=f"lambda-log-{function_name}").start()
        threading.Thread(target=self._watch, daemon=True, name=f"lambda-watch-{function_name}").start()

    @property
    def alive(self) -> bool:
        return self.proc.poll() is None

    def _pump(self) -> None:
        assert self.proc.stdout is not None
        for raw in self.proc.stdout:
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self._lines_lock:
                self.lines.append(line)
            if self._log_file:
                self._log_file.write(line + "\n")
        if self._log_file:
            self._log_file.close()

    def _watch(self) -> None:
        self.exit_code = self.proc.wait()
        inv = self.server.current
        if inv is not None:
            inv.finish(_error_body("Runtime.ExitError", f"RequestId: {inv.request_id} Error: Runtime exited with "
                                   f"error: exit status {self.exit_code}"), is_error=True)
        self.server.changed.set()
        self._close()

    def lines_since(self, mark: int) -> list[str]:
        # The handler's last lines reach the pipe before its response reaches us; give the pump a moment to read
        # them, as long as the pipe still has data.
        assert self.proc.stdout is not None
        for _ in range(50):
            with contextlib.suppress(ValueError, OSError):
                if not select.select([self.proc.stdout], [], [], 0)[0]:
                    break
            time.sleep(0.002)
        with self._lines_lock:
            return self.lines[mark:]

    def kill(self) -> None:
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout=5)
        self._close()

    def _close(self) -> None:
        if self._pid_file is not None:
            with contextlib.suppress(FileNotFoundError):
                self._pid_file.unlink()
            self._pid_file = None
        if self._closed:
            return
        self._closed = True
        self.server.inbox.put(None)  # wakes a handler blocked in GET /next
        # shutdown() waits for the serve loop; nobody needs to wait for that.
        threading.Thread(target=self._close_server, daemon=True).start()

    def _close_server(self) -> None:
        with contextlib.suppress(Exception):
            self.server.shutdown()
            self.server.server_close()


class HostRuntimeExecutor(RuntimeExecutor):
    """One LocalStack execution environment = one `python -m awslambdaric` process on this machine."""

    def __init__(self, id: str, function_version: FunctionVersion) -> None:
        super().__init__(id=id, function_version=function_version)
        self._runtime: _RuntimeProcess | None = None
        self._env: dict[str, str] = {}
        self._stopped = threading.Event()
        self._spawn_lock = threading.Lock()

    # --- lifecycle -------------------------------------------------------------------------------------------
    def start(self, env_vars: dict[str, str]) -> None:
        runtime = self.function_version.config.runtime or ""
        if not runtime.startswith("python"):
            raise LambdaRuntimeException(f"the botfleet-host executor runs Python functions only, not {runtime!r}")
        self._env = self._process_env(env_vars)
        self._spawn()

    def stop(self) -> None:
        self._stopped.set()
        if self._runtime is not None:
            self._runtime.kill()

    def _spawn(self) -> _RuntimeProcess:
        """Start a runtime process and wait until its init is over (its first GET /next)."""
        with self._spawn_lock:
            if self._stopped.is_set():
                raise LambdaRuntimeException(f"execution environment {self.id} is stopped")
            code = self.function_version.config.code
            runtime = _RuntimeProcess(
                python=_python(), handler=self.function_version.config.handler,
                code_dir=str(code.get_unzipped_code_location()), env=self._env,
                function_name=self.function_version.id.function_name,
            )
            runtime.server.timeout_seconds = float(self.function_version.config.timeout)
            self._runtime = runtime
            # LocalStack's startup timer (LAMBDA_RUNTIME_ENVIRONMENT_TIMEOUT) calls stop() if init takes too long.
            while not (runtime.server.ready.is_set() or self._stopped.is_set()):
                runtime.server.changed.wait(0.2)
                runtime.server.changed.clear()
                if runtime.server.init_error is not None:
                    runtime.kill()
                    # As the Docker executor's init does: LocalStack turns this into the invocation's error reply.
                    raise StatusErrorException("Environment startup failed", payload=runtime.server.init_error)
                if not runtime.alive and not runtime.server.ready.is_set():
                    runtime.kill()
                    tail = "\n".join(runtime.lines[-20:])
                    raise StatusErrorException("Environment startup failed", payload=_error_body(
                        "Runtime.ExitError", f"Runtime exited with error: exit status {runtime.exit_code}\n{tail}"))
            if self._stopped.is_set():
                runtime.kill()
                raise LambdaRuntimeException(f"execution environment {self.id} stopped during startup")
            return runtime

    # --- invocation ------------------------------------------------------------------------------------------
    def invoke(self, payload: dict[str, str]) -> InvocationResult:
        runtime = self._runtime
        if runtime is None or not runtime.alive:
            runtime = self._spawn()  # the last process timed out or crashed: a fresh sandbox, as in Lambda
        inv = _Invocation(payload)
        mark = len(runtime.lines)
        started = time.monotonic()
        runtime.server.inbox.put(inv)
        timeout = float(self.function_version.config.timeout)
        if not inv.done.wait(timeout) and inv.finish(
                _error_body("Sandbox.Timedout",
                            f"RequestId: {inv.request_id} Error: Task timed out after {timeout:.2f} seconds"),
                is_error=True):
            runtime.kill()
        duration_ms = (time.monotonic() - started) * 1000
        lines = runtime.lines_since(mark)
        logs = "\n".join([
            f"START RequestId: {inv.request_id} Version: {self.function_version.id.qualifier}",
            *lines,
            f"END RequestId: {inv.request_id}",
            f"REPORT RequestId: {inv.request_id}\tDuration: {duration_ms:.2f} ms\t"
            f"Memory Size: {self.function_version.config.memory_size} MB",
        ]) + "\n"
        return InvocationResult(request_id=inv.request_id, payload=inv.result, is_error=inv.is_error, logs=logs)

    # --- addresses -------------------------------------------------------------------------------------------
    def get_address(self) -> str:
        return "127.0.0.1"

    def get_endpoint_from_executor(self) -> str:
        # The functions run on this host: they reach LocalStack where it listens (AWS_ENDPOINT_URL is built from it).
        host = config.GATEWAY_LISTEN[0].host
        return "127.0.0.1" if host in ("", "0.0.0.0", "::") else host

    def get_runtime_endpoint(self) -> str:
        # Only passed on as LOCALSTACK_RUNTIME_ENDPOINT (read by the Docker init binary, which is not used here).
        port = config.GATEWAY_LISTEN[0].port
        return f"http://{self.get_endpoint_from_executor()}:{port}/_localstack_lambda/{self.id}"

    def get_logs(self) -> str:
        return "\n".join(self._runtime.lines) if self._runtime else ""

    # --- versions --------------------------------------------------------------------------------------------
    @classmethod
    def prepare_version(cls, function_version: FunctionVersion) -> None:
        # Unzip the function's code and its layers' contents where `_process_env` points PYTHONPATH (LocalStack
        # caches each archive under <tmp>/lambda/<bucket>/<id>/code).
        if function_version.config.code:
            function_version.config.code.prepare_for_execution()
        for layer in function_version.config.layers or []:
            if layer.code:
                layer.code.prepare_for_execution()

    @classmethod
    def cleanup_version(cls, function_version: FunctionVersion) -> None:
        pass

    @classmethod
    def validate_environment(cls) -> bool:
        try:
            _python()
        except LambdaRuntimeException as e:
            LOG.warning("%s", e)
            return False
        return True

    def _process_env(self, env_vars: dict[str, str]) -> dict[str, str]:
        config_ = self.function_version.config
        code_dir = str(config_.code.get_unzipped_code_location())
        layer_dirs = [str(layer.code.get_unzipped_code_location()) for layer in config_.layers or [] if layer.code]
        env = {key: os.environ[key] for key in HOST_ENV_KEYS if key in os.environ}
        env.update({key: str(value) for key, value in env_vars.items()})
        env.update({
            # Where Lambda would have /var/task and /opt/python.
            "LAMBDA_TASK_ROOT": code_dir,
            "PYTHONPATH": os.pathsep.join([code_dir, *(os.path.join(d, "python") for d in layer_dirs)]),
            # What the python runtime's own bootstrap sets in Lambda (LocalStack leaves it to the image).
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{config_.runtime}",
            "PYTHONUNBUFFERED": "1",
        })
        return env


def _python() -> str:
    python = os.environ.get(PYTHON_ENV, "")
    if not python or not os.access(python, os.X_OK):
        raise LambdaRuntimeException(
            f"{PYTHON_ENV} must name the Python interpreter that runs the functions (with awslambdaric installed); "
            f"got {python!r}")
    return python
