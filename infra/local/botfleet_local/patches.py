"""Patches to moto 5.2.5 internals, so that a deployed template behaves like the real services.

Every patch here touches a private moto API; moto is pinned to 5.2.5 in requirements-dev.txt
for that reason. `install()` is idempotent and process-wide (moto's backends are process-wide
too); each patch forwards to the `Hooks` of the LocalCloud that is currently running, and
falls back to moto's own behaviour when no cloud is running.

What is patched, and why:

1. `LambdaFunction._invoke_lambda` - moto runs Lambdas in Docker (unavailable here). Every
   invocation path ends in this method (lambda.invoke, Step Functions tasks, SQS/stream
   mappings), so it is where invocations are routed to our worker processes.
2. `LambdaFunction.invoke` - moto runs InvocationType=Event synchronously and answers 202 only
   after the function returned, and it marks function errors "Handled". AWS queues Event
   invocations and answers 202 at once; Python exceptions are "Unhandled".
3. `StreamShard.add` (DynamoDB streams) - moto calls the stream's Lambda inside the writer's
   PutItem (so the writer waits for the consumer), sends the whole shard each time, then
   clears the shard (which breaks GetRecords and restarts sequence numbers). We keep the
   records and hand each new one to an asynchronous, ordered, batching dispatcher instead.
4. `Rule.send_to_targets` (EventBridge) - moto raises NotImplementedError for Lambda and
   Step Functions targets, and a schedule rule (no event pattern) matches every event, so a
   single schedule rule with a Lambda target breaks every put_events on its bus. In AWS a
   schedule rule never matches put_events; Lambda/Step Functions targets of pattern rules are
   delivered through the hooks.
5. `WaitFunction._wait_interval` and the retrier's `time.sleep` (Step Functions interpreter) -
   scaled by the cloud's time scale, so a 1 h quarantine wait passes in 1 h / N.
6. `moto.stepfunctions.models.stepfunctions_backends` - CloudFormation creates state machines
   in this (non-executing) backend; point it at the parser backend that really executes.
   And `default_user_config["stepfunctions"]["execute_state_machine"] = True`.
7. `Table.query` / `Table.all_items` (queries.py) - moto sorts the whole table for every Query;
   a Query reads only its partition here, as in DynamoDB (an index's partitions from a map that
   `Table.put_item`, `Table.delete_item` and the backend's `update_item` keep up to date).
   And TransactWriteItems (transactions.py).
8. `moto.backends.list_of_moto_modules` - moto's server lists its own package directory (a
   listdir and ~170 isdir calls) for every request, while holding the one lock every request
   takes to find its backend; the list cannot change in a running process, so it is read once.
9. `DynamoHandler.parse_parameters` / `serialized` (wire.py) - DynamoDB's item calls read and
   answered as the plain JSON they are, instead of through botocore's shape model.
10. `DynamoDBBackend` writes (put, update, delete, transact, batch write) - one at a time, as DynamoDB applies
   the writes of an item: moto changes items in place with no lock, so two concurrent updates of one item could
   interleave and emit their stream records out of order.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import threading
import time
from typing import Any, Protocol

from botfleet_local import queries, transactions, wire

log = logging.getLogger("botfleet_local.patches")


class Hooks(Protocol):
    """What a running LocalCloud provides to the patched moto code."""

    time_scale: float

    def lambda_invoke(self, function_name: str, payload: bytes) -> tuple[bytes, bool, str]:
        """Run one invocation synchronously: (response payload, errored, log tail)."""
        ...

    def lambda_invoke_async(self, function_name: str, payload: bytes) -> None:
        """Queue one invocation (InvocationType=Event) and return at once."""
        ...

    def stream_record(self, table: Any, record: dict) -> None:
        """A new DynamoDB stream record was written to `table`."""
        ...

    def event_target(self, rule: Any, target: dict, event: dict) -> bool:
        """Deliver an EventBridge event to one target; False = not handled (let moto try)."""
        ...


_hooks: Hooks | None = None
_installed = False
_lock = threading.Lock()


def activate(hooks: Hooks | None) -> None:
    """Route the patched moto code to `hooks` (None: back to moto's own behaviour).

    The method patches stay installed but are inert without hooks; the two Step Functions globals
    are restored, so other tests in the same process (mock_aws) see moto's defaults again."""
    global _hooks
    install()
    _hooks = hooks
    set_sfn_execution(hooks is not None)


def install() -> None:
    global _installed
    with _lock:
        if _installed:
            return
        _patch_lambda()
        _patch_dynamodb_streams()
        _patch_events()
        _patch_stepfunctions()
        transactions.install()  # DynamoDB's transaction semantics without moto's whole-table deepcopy
        queries.install()  # a Query reads its partition, not the whole table sorted
        _patch_server_dispatch()
        wire.install()  # item calls read and answered as plain JSON, not through the shape model
        _serialize_dynamodb_writes()  # last: around the patched methods too
        _installed = True


# --- 10: DynamoDB writes, one at a time ------------------------------------------------------------

_WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")
_write_lock = threading.RLock()  # re-entrant: a transaction's own puts and updates go through the same methods


def _serialize_dynamodb_writes() -> None:
    """DynamoDB applies the writes to an item one after another, each with its stream record in that order. moto
    changes the stored item in place with no lock, and the local cloud serves requests on many threads: two
    updates of one item at once (training chunks counting themselves done) could interleave, and their stream
    records come out of order (a run's progress went 2/3, 3/3, 2/3 on the socket). Writes are serialized here;
    reads are not."""
    from moto.dynamodb.models import DynamoDBBackend

    for name in _WRITES:
        original = getattr(DynamoDBBackend, name)

        def serialized(self: Any, *args: Any, __original: Any = original, **kwargs: Any) -> Any:
            with _write_lock:
                return __original(self, *args, **kwargs)

        setattr(DynamoDBBackend, name, functools.wraps(original)(serialized))


# --- 8: the server's dispatch ---------------------------------------------------------------------

def _patch_server_dispatch() -> None:
    from moto import backends

    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules  # werkzeug_app calls it as backends.list_of_moto_modules()


# --- 1 + 2: Lambda -------------------------------------------------------------------------------

def _patch_lambda() -> None:
    from moto.awslambda.models import LambdaFunction

    original_invoke_lambda = LambdaFunction._invoke_lambda

    def _invoke_lambda(self: Any, event: Any = None) -> tuple[str, bool, str]:
        if _hooks is None:
            return original_invoke_lambda(self, event)
        if event is None:
            event = {}
        payload = event.encode() if isinstance(event, str) else json.dumps(event).encode()
        result, errored, logs = _hooks.lambda_invoke(self.function_name, payload)
        return result.decode("utf-8", "replace"), errored, logs

    def invoke(self: Any, body: str, request_headers: Any, response_headers: Any) -> str | bytes:
        if _hooks is None:
            return original_invoke(self, body, request_headers, response_headers)
        # moto json-decodes the body then re-encodes it; keep the caller's bytes as they are.
        raw = body.encode() if isinstance(body, str) else (body or b"")
        inv_type = (request_headers or {}).get("x-amz-invocation-type", "RequestResponse")
        if inv_type == "Event":
            _hooks.lambda_invoke_async(self.function_name, raw or b"{}")
            return b""
        if inv_type == "DryRun":
            return b""
        result, errored, logs = _hooks.lambda_invoke(self.function_name, raw or b"{}")
        if errored:
            response_headers["x-amz-function-error"] = "Unhandled"
        response_headers["x-amz-log-result"] = base64.b64encode(logs[-4096:].encode()).decode()
        return result

    original_invoke = LambdaFunction.invoke
    LambdaFunction._invoke_lambda = _invoke_lambda
    LambdaFunction.invoke = invoke


# --- 3: DynamoDB streams -------------------------------------------------------------------------

def _patch_dynamodb_streams() -> None:
    from moto.dynamodb.models.table import StreamRecord, StreamShard

    original_add = StreamShard.add

    def add(self: Any, old: Any, new: Any) -> None:
        if _hooks is None:
            return original_add(self, old, new)
        view = self.table.stream_specification["StreamViewType"]
        event_name = "INSERT" if old is None else ("REMOVE" if new is None else "MODIFY")
        seq = len(self.items) + self.starting_sequence_number
        record = StreamRecord(self.table, view, event_name, old, new, seq)
        record.record["awsRegion"] = self.table.region_name  # moto hard-codes us-east-1
        self.items.append(record)
        # Only enqueue here: the consumer runs on the dispatcher's thread, not the writer's.
        _hooks.stream_record(self.table, record.to_json())

    StreamShard.add = add


# --- 4: EventBridge ------------------------------------------------------------------------------

def _patch_events() -> None:
    import copy

    from moto.events.models import Rule

    original_send = Rule.send_to_targets

    def send_to_targets(self: Any, original_event: Any, transform_input: bool = True) -> None:
        if _hooks is None:
            return original_send(self, original_event, transform_input)
        if self.scheduled_expression and not self.event_pattern.get_pattern():
            return  # a schedule rule is fired by our scheduler, never by put_events
        if not self.event_pattern.matches_event(original_event):
            return
        rest = [t for t in self.targets if not _hooks.event_target(self, t, original_event)]
        if rest:
            shallow = copy.copy(self)
            shallow.targets = rest
            original_send(shallow, original_event, transform_input)

    Rule.send_to_targets = send_to_targets


# --- 5 + 6: Step Functions -----------------------------------------------------------------------

_sfn_originals: dict[str, Any] = {}


def set_sfn_execution(on: bool) -> None:
    """Executing Step Functions backend + config on (before deploying a template) or back to moto's."""
    import moto.stepfunctions.models as sfn_models
    from moto.core.config import default_user_config

    cfg = default_user_config.setdefault("stepfunctions", {})
    if on:
        cfg["execute_state_machine"] = True
        sfn_models.stepfunctions_backends = _sfn_originals["parser_backends"]
    else:
        cfg["execute_state_machine"] = _sfn_originals["execute"]
        sfn_models.stepfunctions_backends = _sfn_originals["backends"]


class _ScaledTime:
    """Stands in for the `time` module inside the retrier: only `sleep` is scaled."""

    def __getattr__(self, name: str) -> Any:
        return getattr(time, name)

    @staticmethod
    def sleep(seconds: float) -> None:
        time.sleep(seconds / _time_scale())


def _time_scale() -> float:
    scale = getattr(_hooks, "time_scale", 1.0) or 1.0
    return max(float(scale), 1e-6)


def _patch_stepfunctions() -> None:
    import moto.stepfunctions.models as sfn_models
    from moto.core.config import default_user_config
    from moto.stepfunctions.parser.asl.component.common.retry import retrier_decl
    from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import (
        WaitFunction,
    )
    from moto.stepfunctions.parser.models import stepfunctions_parser_backends

    _sfn_originals.update(
        backends=sfn_models.stepfunctions_backends, parser_backends=stepfunctions_parser_backends,
        execute=default_user_config.get("stepfunctions", {}).get("execute_state_machine", False))

    def _wait_interval(self: Any, env: Any, wait_seconds: int) -> None:
        # moto's version waits on the execution's stop event, re-entering on spurious wake-ups;
        # same here, for wait_seconds / time_scale of wall time.
        deadline = time.monotonic() + max(wait_seconds, 0) / _time_scale()
        while env.is_running():
            left = deadline - time.monotonic()
            if left <= 0:
                return
            env.program_state_event.wait(left)

    WaitFunction._wait_interval = _wait_interval
    retrier_decl.time = _ScaledTime()
