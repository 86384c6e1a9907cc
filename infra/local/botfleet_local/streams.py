"""DynamoDB stream -> Lambda delivery (event source mappings), asynchronous and in order.

The patched `StreamShard.add` (see patches.py) hands every new stream record to
`StreamDispatcher.record`, on the writer's thread, which only enqueues it. Each event source
mapping has ParallelizationFactor lanes (1 unless set; at most 10, as on AWS), and a record goes
to the lane its item's partition key hashes to, so one key's records always share a lane. One
thread per lane drains its queue: it takes what has arrived (up to BatchSize, after waiting
MaximumBatchingWindowInSeconds if set), builds the Lambda DynamoDB event and invokes the
function synchronously, as Lambda's stream poller does, so a lane's batches stay in order and a
batch is not delivered before the previous one of its lane finished: records of one partition key
in order, different keys' batches at once, as Lambda processes one shard with a parallelization
factor. There is no polling delay: a record is delivered as soon as its lane's previous batch is
done.

The mappings are read from moto at delivery time (the table's `lambda_event_source_mappings`),
so mappings created at run time through the Lambda API work too; a mapping's lanes are made when
its first record arrives, so a later change of its ParallelizationFactor takes effect only after a
restart.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
import zlib
from collections.abc import Callable
from datetime import datetime
from typing import Any

from .workers import InvokeResult

log = logging.getLogger("botfleet_local.streams")

# Lambda's bounds for an event source mapping's ParallelizationFactor.
MAX_PARALLELIZATION = 10

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
        self._invoke = invoke
        self.stop = stop
        self._filters = self._load_filters(esm)
        factor = int(getattr(esm, "parallelization_factor", None) or 1)
        self.lanes = [_Lane(self, i) for i in range(min(max(factor, 1), MAX_PARALLELIZATION))]

    @staticmethod
    def _load_filters(esm: Any) -> list:
        from moto.events.models import EventPattern

        filters = (getattr(esm, "filter_criteria", None) or {}).get("Filters") or []
        return [EventPattern.load(f["Pattern"]) for f in filters if f.get("Pattern")]

    def put(self, record: dict, partition_key: str) -> None:
        """Queue `record` on the lane of its item's partition key (the attribute named `partition_key`)."""
        lane = 0
        if len(self.lanes) > 1:
            value = record.get("dynamodb", {}).get("Keys", {}).get(partition_key)
            # crc32, not hash(): the same key takes the same lane in every process and run.
            lane = zlib.crc32(json.dumps(value, sort_keys=True, default=str).encode()) % len(self.lanes)
        self.lanes[lane].queue.put(record)

    def idle(self) -> bool:
        return all(lane.queue.unfinished_tasks == 0 for lane in self.lanes)

    def join(self, timeout: float) -> None:
        for lane in self.lanes:
            lane.thread.join(timeout=timeout)

    def deliver(self, batch: list[dict]) -> None:
        records = [lambda_record(r, self.esm.event_source_arn) for r in batch]
        if self._filters:
            records = [r for r in records if any(f.matches_event(r) for f in self._filters)]
            if not records:
                return
        payload = json.dumps({"Records": records}).encode()
        retries = getattr(self.esm, "max_retry_attempts", None)
        retries = LOCAL_MAX_RETRIES if retries is None or int(retries) < 0 else int(retries)
        for attempt in range(retries + 1):
            if self.stop.is_set():
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
            self.stop.wait(min(0.2 * 2 ** attempt, 2.0))


class _Lane:
    """One of a mapping's ParallelizationFactor lanes: its own queue, delivered in order by its own thread."""

    def __init__(self, mapping: _Mapping, index: int):
        self.mapping = mapping
        self.queue: queue.Queue[dict] = queue.Queue()  # task_done() after delivery: join-able
        self.thread = threading.Thread(target=self._run, daemon=True,
                                       name=f"stream-{mapping.function}-{index}")
        self.thread.start()

    def _run(self) -> None:
        esm, stop = self.mapping.esm, self.mapping.stop
        while not stop.is_set():
            try:
                first = self.queue.get(timeout=0.5)
            except queue.Empty:
                continue
            batch = [first]
            size = int(esm.batch_size or 100)
            window = float(getattr(esm, "max_batch_window", None) or 0)
            deadline = time.monotonic() + window
            while len(batch) < size:
                try:
                    batch.append(self.queue.get(timeout=max(deadline - time.monotonic(), 0))
                                 if window else self.queue.get_nowait())
                except queue.Empty:
                    break
            try:
                self.mapping.deliver(batch)
            finally:
                for _ in batch:
                    self.queue.task_done()


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
            m.put(record, getattr(table, "hash_key_attr", ""))

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
            m.join(timeout=2)
