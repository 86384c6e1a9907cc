"""LocalCloud: synthesize, deploy into moto, run the functions, serve one HTTP port.

    with LocalCloud("/work/main", port=0, tick_seconds=0) as cloud:
        httpx.get(cloud.url + "/api/health")

Start-up: bind the port -> synthesize (cached; moto starts meanwhile) -> deploy the template into
moto's CloudFormation -> one worker pool per function -> gateway up -> the profile's accounts (the
first admin, and the demo trader with `demo`) -> schedules start -> ready.

What this generic runtime needs to know about the product comes from `profile` (profile.py), imported
here and nowhere else in the package, and handed to the parts that need it.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from . import patches, profile
from .deploy import Deployer, Deployment
from .moto_runtime import ACCOUNT_ID, MotoRuntime
from .schedules import Schedule, Scheduler, local_name, target_input
from .streams import StreamDispatcher
from .synth import outdir_name, synthesize
from .websocket import CONNECTIONS_ENDPOINT
from .workers import FunctionPool, InvokeResult, base_worker_env

log = logging.getLogger("botfleet_local")

DEFAULT_MAX_CONCURRENCY = 4


def _error_result(error_type: str, message: str) -> InvokeResult:
    return InvokeResult(payload=json.dumps({"errorType": error_type, "errorMessage": message}).encode(),
                        error=True, error_type=error_type)


class LocalCloud:
    def __init__(self, repo_root: str | Path, port: int = 8000, tick_seconds: float | None = None,
                 time_scale: float = 1.0, admin_email: str | None = None, admin_password: str | None = None,
                 demo: bool = False, app_command: str | list[str] | None = None, quiet: bool = False, *,
                 stack_name: str = profile.STACK_NAME, watched: tuple[str, ...] | None = None,
                 work_dir: str | Path | None = None, region: str = "us-east-1",
                 max_concurrency: int = DEFAULT_MAX_CONCURRENCY, demo_password: str | None = None,
                 context: dict | None = None, public_url: str | None = None):
        self.repo_root = Path(repo_root).resolve()
        # Where people reach this cloud through a reverse proxy (docs/websocket.md): /api/config then hands
        # out the WebSocket URL on that host (wss:// behind https) instead of this machine's port.
        self.public_url = public_url.rstrip("/") if public_url else None
        self.requested_port = port
        self.port = 0
        self.tick_seconds = tick_seconds
        self.time_scale = float(time_scale) if time_scale else 1.0
        admin = profile.admin_account(admin_email, admin_password)
        self.admin_email, self.admin_password = admin.email, admin.password
        self.admin_password_generated = admin.generated
        self.demo = demo
        demo_account = profile.demo_account(demo_password)
        self.demo_email, self.demo_password = demo_account.email, demo_account.password
        self.app_command = app_command or profile.app_command()
        self.quiet = quiet
        self.stack_name = stack_name
        self.watched = watched or profile.WATCHED
        self.context = dict(context or {})  # extra CDK context for the synth (e.g. a higher registration limit)
        self.work_dir = Path(work_dir) if work_dir else self.repo_root / ".local"
        self.region = region
        self.max_concurrency = max_concurrency
        self.timings: dict[str, float] = {}
        self.deployment: Deployment | None = None
        self.pools: dict[str, FunctionPool] = {}
        self.schedules: Scheduler | None = None
        self.streams: StreamDispatcher | None = None
        self.moto = MotoRuntime()
        self._async = ThreadPoolExecutor(max_workers=32, thread_name_prefix="lambda-async")
        self._inflight = threading.Condition()
        self._inflight_count = 0
        self._server: Any = None
        self._server_thread: threading.Thread | None = None
        self._sock: socket.socket | None = None
        self._log_lock = threading.Lock()
        self._log_file: Any = None
        self._started = False
        self._stopping = False

    # --- public ---------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> LocalCloud:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> LocalCloud:
        t0 = time.monotonic()
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        self.timings["ready"] = time.monotonic() - t0
        self._started = True
        return self

    def stop(self) -> None:
        self._stopping = True
        if self.schedules:
            self.schedules.stop()
        self._stop_executions()
        if self.streams:
            self.streams.stop()
        patches.activate(None)
        for pool in self.pools.values():
            pool.close()
        self._async.shutdown(wait=False, cancel_futures=True)
        if self._server is not None:
            self._server.should_exit = True
            if self._server_thread:
                self._server_thread.join(timeout=5)
            self._server = None
        if self._sock is not None:
            self._sock.close()
            self._sock = None
        self.moto.stop()
        if self._log_file:
            self._log_file.close()
            self._log_file = None

    def recycle(self, function_name: str) -> None:
        """Stop the function's workers, so that its next invocation is a cold start."""
        self.pools[function_name].recycle()

    def function_name(self, logical_prefix: str) -> str:
        """The deployed name of the function whose logical id starts with `logical_prefix`."""
        for name, pool in self.pools.items():
            if pool.spec.logical_id.startswith(logical_prefix):
                return name
        raise KeyError(logical_prefix)

    def invoke(self, function_name: str, event: Any) -> InvokeResult:
        """Invoke a deployed function synchronously (the control plane and start-up use this)."""
        return self._invoke(function_name, json.dumps(event).encode())

    # --- start-up -------------------------------------------------------------------------------
    def _mark(self, name: str, since: float) -> float:
        now = time.monotonic()
        self.timings[name] = now - since
        return now

    def _start(self) -> None:
        t = time.monotonic()
        self.work_dir.mkdir(parents=True, exist_ok=True)
        (self.work_dir / "logs").mkdir(exist_ok=True)
        self._log_file = open(self.work_dir / "logs" / "functions.log", "a", buffering=1)  # noqa: SIM115
        # proto=IPPROTO_TCP matters: asyncio sets TCP_NODELAY on accepted connections only when the
        # listening socket says TCP; without it keep-alive clients wait ~40 ms (Nagle + delayed ACK).
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", self.requested_port))
        self.port = self._sock.getsockname()[1]

        # moto's import + server start (~1.3 s) overlaps the synth subprocess.
        with ThreadPoolExecutor(1) as ex:
            moto_started = ex.submit(self.moto.start)
            assembly = synthesize(self.repo_root, app_command=self.app_command,
                                  outdir=self.work_dir / outdir_name(self.context), stack_name=self.stack_name,
                                  watched=self.watched, local_context=profile.SYNTH_CONTEXT, context=self.context)
            t = self._mark("synth", t)
            moto_started.result()
            t = self._mark("moto_wait", t)
        self.timings["synthesized"] = float(assembly.synthesized)

        deployer = Deployer(assembly, endpoint_url=self.moto.url, region=self.region, account_id=ACCOUNT_ID,
                            work_dir=self.work_dir)
        self.deployment = dep = deployer.deploy()
        self._deployer = deployer
        t = self._mark("deploy", t)

        base_env = base_worker_env(region=self.region, account_id=ACCOUNT_ID, moto_url=self.moto.url,
                                   extra=profile.worker_env(self.time_scale))
        for name, spec in dep.functions.items():
            spec.env = {k: self._rewrite_url(v) for k, v in spec.env.items()}
            spec.max_concurrency = spec.max_concurrency or self.max_concurrency
            self.pools[name] = FunctionPool(spec, sys.executable, base_env, self._log_line)
        dep.outputs = {k: self._rewrite_url(v) for k, v in dep.outputs.items()}

        self.streams = StreamDispatcher(self._invoke)
        patches.activate(self)
        self.schedules = Scheduler(self._load_schedules(), self._deliver_target, account=ACCOUNT_ID,
                                   region=self.region, tick_seconds=self.tick_seconds)
        self._start_gateway()
        t = self._mark("gateway", t)
        self._create_accounts()
        self._mark("provision", t)
        self.schedules.start()

    def _start_gateway(self) -> None:
        import uvicorn

        from .gateway import Gateway

        assert self.deployment is not None
        gateway = Gateway(self.deployment, self._invoke, self._invoke_async, cloud=self,
                          web_dir=self.repo_root / profile.WEB_DIR, websocket_path=profile.WEBSOCKET_PATH,
                          error_body=profile.error_body, control_actions=profile.CONTROL_ACTIONS)
        config = uvicorn.Config(gateway.app, log_level="warning", access_log=False, lifespan="off",
                                ws_ping_interval=None, timeout_graceful_shutdown=1)
        self._server = uvicorn.Server(config)
        self._server_thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]},
                                               daemon=True, name="gateway")
        self._server_thread.start()
        deadline = time.monotonic() + 15
        while not self._server.started:
            if time.monotonic() > deadline or not self._server_thread.is_alive():
                raise RuntimeError("the gateway did not start")
            time.sleep(0.01)

    def _create_accounts(self) -> None:
        """The profile's start-up accounts, through the function its output names; a stack without that
        function (another app) starts without them."""
        assert self.deployment is not None
        fn = self.deployment.outputs.get(profile.PROVISION_OUTPUT)
        if not fn or fn not in self.pools:
            return
        admin = profile.Account(self.admin_email, self.admin_password, self.admin_password_generated)
        demo = profile.Account(self.demo_email, self.demo_password, generated=False) if self.demo else None
        profile.create_accounts(lambda event: self.invoke(fn, event), admin, demo)

    def _rewrite_url(self, value: str) -> str:
        """Point execute-api URLs of the stack's APIs at this machine's port."""
        if not isinstance(value, str) or ".execute-api." not in value:
            return value
        dep = self.deployment
        assert dep is not None
        local = f"127.0.0.1:{self.port}"
        for lid, rtype in dep.dropped.items():
            if rtype != "AWS::ApiGatewayV2::Api":
                continue
            api_id = re.escape(dep.local_values[lid]["Ref"])
            host = rf"{api_id}\.execute-api\.[A-Za-z0-9.-]+"
            value = re.sub(rf"wss://{host}(/[^/\s\"']*)?", self._websocket_url(local), value)
            value = re.sub(rf"https://{host}(/[^/\s\"'@]*)?", f"http://{local}{CONNECTIONS_ENDPOINT}", value)
        for lid, _ in dep.resources("AWS::ApiGateway::RestApi"):
            api_id = re.escape(dep.physical.get(lid, lid))
            value = re.sub(rf"https://{api_id}\.execute-api\.[A-Za-z0-9.-]+/[^/\s\"']+/?", f"http://{local}/",
                           value)
        return value

    def _websocket_url(self, local: str) -> str:
        if not self.public_url:
            return f"ws://{local}{profile.WEBSOCKET_PATH}"
        public = urlsplit(self.public_url)
        scheme = "wss" if public.scheme == "https" else "ws"
        return f"{scheme}://{public.netloc}{public.path}{profile.WEBSOCKET_PATH}"

    def _load_schedules(self) -> list[Schedule]:
        dep = self.deployment
        assert dep is not None
        events = self._deployer.client("events")
        by_name = {dep.physical.get(lid): (lid, res) for lid, res in dep.resources("AWS::Events::Rule")}
        out = []
        for rule in events.list_rules().get("Rules", []):
            if not rule.get("ScheduleExpression") or rule.get("State") == "DISABLED":
                continue
            lid, res = by_name.get(rule["Name"], (rule["Name"], {}))
            targets = events.list_targets_by_rule(Rule=rule["Name"]).get("Targets", [])
            out.append(Schedule(name=local_name(lid, res), rule_name=rule["Name"], rule_arn=rule["Arn"],
                                expression=rule["ScheduleExpression"], targets=targets))
        return out

    # --- invocation (also the patches.Hooks protocol) -------------------------------------------
    def _invoke(self, function_name: str, payload: bytes) -> InvokeResult:
        pool = self.pools.get(function_name)
        if pool is None:
            return _error_result("ResourceNotFoundException", f"Function not found: {function_name}")
        try:
            return pool.invoke(payload)
        except RuntimeError as e:
            return _error_result("ServiceException", str(e))

    def _invoke_async(self, function_name: str, payload: bytes) -> None:
        def run() -> None:
            try:
                result = self._invoke(function_name, payload)
                if result.error and not self._stopping:  # workers killed by stop() are not news
                    log.warning("async invocation of %s failed: %s", function_name, result.payload[:300])
            finally:
                with self._inflight:
                    self._inflight_count -= 1
                    self._inflight.notify_all()

        with self._inflight:
            self._inflight_count += 1
        try:
            self._async.submit(run)
        except RuntimeError:  # executor shut down: the cloud is stopping
            with self._inflight:
                self._inflight_count -= 1
                self._inflight.notify_all()

    def wait_idle(self, timeout: float = 60.0) -> bool:
        """Until nothing set off is still running: no asynchronous invocation in flight (and so none they set
        off in turn) and no stream record undelivered. What the control plane's `?wait=true` waits for; Step
        Functions executions are not included (a quarantine waits out its ladder). False on timeout."""
        deadline = time.monotonic() + timeout
        quiet_checks = 0
        while quiet_checks < 2:  # twice in a row: a stream delivery may set off an invocation and vice versa
            with self._inflight:
                while self._inflight_count:
                    if not self._inflight.wait(timeout=max(deadline - time.monotonic(), 0)):
                        return False
            streams_idle = self.streams is None or self.streams.wait_idle(max(deadline - time.monotonic(), 0))
            if not streams_idle:
                return False
            with self._inflight:
                quiet_checks = quiet_checks + 1 if self._inflight_count == 0 else 0
            if time.monotonic() > deadline:
                return False
        return True

    def lambda_invoke(self, function_name: str, payload: bytes) -> tuple[bytes, bool, str]:
        result = self._invoke(function_name, payload)
        return result.payload, result.error, result.logs

    def lambda_invoke_async(self, function_name: str, payload: bytes) -> None:
        self._invoke_async(function_name, payload)

    def stream_record(self, table: Any, record: dict) -> None:
        if self.streams is not None:
            self.streams.record(table, record)

    def event_target(self, rule: Any, target: dict, event: dict) -> bool:
        arn = target.get("Arn", "")
        if ":function:" not in arn and ":stateMachine:" not in arn:
            return False
        self._deliver_target(None, target, event, False)
        return True

    def _deliver_target(self, schedule: Schedule | None, target: dict, event: dict, wait: bool) -> dict:
        arn = target.get("Arn", "")
        payload = target_input(target, event)
        if ":function:" in arn:
            name = arn.split(":function:", 1)[1].split(":", 1)[0]
            if not wait:
                self._invoke_async(name, json.dumps(payload).encode())
                return {"target": arn, "function": name, "queued": True}
            result = self._invoke(name, json.dumps(payload).encode())
            try:
                body = json.loads(result.payload or b"null")
            except ValueError:
                body = result.payload.decode("utf-8", "replace")
            return {"target": arn, "function": name, "error": result.error, "result": body}
        if ":stateMachine:" in arn:
            sfn = self._deployer.client("stepfunctions")
            r = sfn.start_execution(stateMachineArn=arn, input=json.dumps(payload))
            return {"target": arn, "executionArn": r["executionArn"]}
        log.warning("schedule target %s is not emulated", arn)
        return {"target": arn, "error": True, "result": "target type not emulated"}

    # --- shutdown helpers -----------------------------------------------------------------------
    def _stop_executions(self) -> None:
        if not self.moto.port or self.deployment is None:
            return
        try:
            sfn = self._deployer.client("stepfunctions")
            for sm in sfn.list_state_machines().get("stateMachines", []):
                running = sfn.list_executions(stateMachineArn=sm["stateMachineArn"], statusFilter="RUNNING")
                for ex in running.get("executions", []):
                    sfn.stop_execution(executionArn=ex["executionArn"], cause="local cloud stopping")
        except Exception as e:
            log.debug("stopping executions: %s", e)

    def _log_line(self, function: str, line: str) -> None:
        spec = self.pools[function].spec if function in self.pools else None
        short = re.sub(r"[0-9A-F]{8}$", "", spec.logical_id) if spec and spec.logical_id else function
        text = f"[{short}] {line}"
        with self._log_lock:
            if self._log_file:
                self._log_file.write(text + "\n")
            if not self.quiet:
                print(text, file=sys.stderr, flush=True)

    def info(self) -> dict:
        dep = self.deployment
        assert dep is not None
        return {
            "url": self.url,
            "stack": dep.stack_name,
            "outputs": dep.outputs,
            "functions": {n: {"logical_id": p.spec.logical_id, "workers": p.size} for n, p in self.pools.items()},
            "schedules": [{"name": s.name, "rule": s.rule_name, "expression": s.expression}
                          for s in (self.schedules.schedules if self.schedules else [])],
            "not_emulated": {lid: t for lid, t in dep.dropped.items()
                             if not t.startswith(("AWS::ApiGateway", "AWS::SecretsManager::Secret"))},
            "time_scale": self.time_scale,
            "timings": self.timings,
        }
