"""DynamoDB stream -> Lambda delivery (event source mappings), asynchronous and in order.

The patched `StreamShard.add` (see patches.py) hands every new stream record to
`StreamDispatcher.record`, on the writer's thread, which only enqueues it. One thread per event
source mapping drains its queue: it takes what has arrived (up to BatchSize, after waiting
MaximumBatchingWindowInSeconds if set), builds the Lambda DynamoDB event and invokes the
function synchronously, as Lambda's stream poller does, so batches stay in order and a batch is
not delivered before the previous one finished. There is no polling delay: a record is
delivered as soon as the previous batch is done.

The mappings are read from moto at delivery time (the table's `lambda_event_source_mappings`),
so mappings created at run time through the Lambda API work too.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from .workers import InvokeResult

log = logging.getLogger("botfleet_local.streams")

# Lambda retries a failed stream batch until it succeeds or the record expires (24 h) unless
# MaximumRetryAttempts is set; locally a bug would then block the stream, so cap the retries.
LOCAL_MAX_RETRIES = 2


def lambda_record(record: dict, source_arn: str) -> dict:
    """A stream record in the shape Lambda delivers it (ApproximateCreationDateTime in epoch s)."""
    dyn = dict(record["dynamodb"])
    created = dyn.get("ApproximateCreationDateTime")
    if isinstance(created, datetime):
        dyn["ApproximateCreationDateTime"] = float(int(created.timestamp()))
    return {
        "eventID": record["eventID"],
        "eventName": record["eventName"],
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": record.get("awsRegion"),
        "dynamodb": dyn,
        "eventSourceARN": source_arn,
    }


class _Mapping:
    def __init__(self, esm: Any, invoke: Callable[[str, bytes], InvokeResult], stop: threading.Event):
        self.esm = esm
        self.function = esm.function_arn.split(":function:", 1)[1].split(":", 1)[0]
        self.queue: queue.Queue[dict] = queue.Queue()  # task_done() after delivery: join-able
        self._invoke = invoke
        self._stop = stop
        self._filters = self._load_filters(esm)
        self.thread = threading.Thread(target=self._run, daemon=True, name=f"stream-{self.function}")
        self.thread.start()

    @staticmethod
    def _load_filters(esm: Any) -> list:
        from moto.events.models import EventPattern

        filters = (getattr(esm, "filter_criteria", None) or {}).get("Filters") or []
        return [EventPattern.load(f["Pattern"]) for f in filters if f.get("Pattern")]

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                first = self.queue.get(timeout=0.5)
            except queue.Empty:
                continue
            batch = [first]
            size = int(self.esm.batch_size or 100)
            window = float(getattr(self.esm, "max_batch_window", None) or 0)
            deadline = time.monotonic() + window
            while len(batch) < size:
                try:
                    batch.append(self.queue.get(timeout=max(deadline - time.monotonic(), 0))
                                 if window else self.queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self._deliver(batch)
            finally:
                for _ in batch:
                    self.queue.task_done()

    def idle(self) -> bool:
        return self.queue.unfinished_tasks == 0

    def _deliver(self, batch: list[dict]) -> None:
        records = [lambda_record(r, self.esm.event_source_arn) for r in batch]
        if self._filters:
            records = [r for r in records if any(f.matches_event(r) for f in self._filters)]
            if not records:
                return
        payload = json.dumps({"Records": records}).encode()
        retries = getattr(self.esm, "max_retry_attempts", None)
        retries = LOCAL_MAX_RETRIES if retries is None or int(retries) < 0 else int(retries)
        for attempt in range(retries + 1):
            if self._stop.is_set():
                return
            try:
                result = self._invoke(self.function, payload)
            except Exception as e:  # the cloud is stopping
                log.debug("stream delivery to %s failed: %s", self.function, e)
                return
            if not result.error:
                return
            log.warning("stream batch to %s failed (attempt %d): %s", self.function, attempt + 1,
                        result.payload[:300])
            self._stop.wait(min(0.2 * 2 ** attempt, 2.0))


class StreamDispatcher:
    def __init__(self, invoke: Callable[[str, bytes], InvokeResult]):
        self._invoke = invoke
        self._mappings: dict[str, _Mapping] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()

    def record(self, table: Any, record: dict) -> None:
        for esm in list(table.lambda_event_source_mappings.values()):
            if not getattr(esm, "enabled", True) or self._stop.is_set():
                continue
            with self._lock:
                m = self._mappings.get(esm.uuid)
                if m is None:
                    m = self._mappings[esm.uuid] = _Mapping(esm, self._invoke, self._stop)
            m.queue.put(record)

    def wait_idle(self, timeout: float) -> bool:
        """Until every record handed to a mapping has been delivered (or given up on)."""
        deadline = time.monotonic() + timeout
        while not all(m.idle() for m in list(self._mappings.values())):
            if time.monotonic() > deadline or self._stop.is_set():
                return False
            time.sleep(0.005)
        return True

    def stop(self) -> None:
        self._stop.set()
        for m in list(self._mappings.values()):
            m.thread.join(timeout=2)
