"""The local cloud's stream delivery honours an event source mapping's ParallelizationFactor as Lambda does:
one partition key's records in order, different keys' batches at once, at most 10 lanes.

Driven through `StreamDispatcher` with a recording invoke, no moto: what is under test is the dispatch.
"""

from __future__ import annotations

import json
import threading
import time
from types import SimpleNamespace

import pytest

from botfleet_local.streams import MAX_PARALLELIZATION, StreamDispatcher
from botfleet_local.workers import InvokeResult


def _mapping(factor):
    esm = SimpleNamespace(uuid="esm-1", enabled=True, function_arn="arn:aws:lambda:us-east-1:1:function:consumer",
                          event_source_arn="arn:aws:dynamodb:us-east-1:1:table/t/stream/x", batch_size=5,
                          max_batch_window=None, parallelization_factor=factor, max_retry_attempts=0,
                          filter_criteria=None)
    return SimpleNamespace(hash_key_attr="pk", lambda_event_source_mappings={"esm-1": esm})


def _record(pk: str, n: int) -> dict:
    return {"eventID": f"{pk}-{n}", "eventName": "INSERT", "awsRegion": "us-east-1",
            "dynamodb": {"Keys": {"pk": {"S": pk}, "sk": {"N": str(n)}}, "SequenceNumber": str(n)}}


class Recorder:
    """A consumer that records each batch, and can hold the first `hold` batches until that many run at once."""

    def __init__(self, hold: int = 0):
        self.batches: list[list[str]] = []
        self.running = self.most_at_once = self.calls = 0
        self.hold = hold
        self.lock = threading.Lock()
        self.together = threading.Barrier(hold) if hold else None

    def __call__(self, function: str, payload: bytes) -> InvokeResult:
        ids = [r["eventID"] for r in json.loads(payload)["Records"]]
        with self.lock:
            self.running += 1
            self.calls += 1
            held = self.calls <= self.hold
            self.most_at_once = max(self.most_at_once, self.running)
        if held:
            self.together.wait(timeout=5)  # BrokenBarrierError (a failure) if the lanes ran one at a time
        time.sleep(0.01)
        with self.lock:
            self.running -= 1
            self.batches.append(ids)
        return InvokeResult(payload=b"null")

    def delivered(self) -> list[str]:
        return [i for batch in self.batches for i in batch]


def _dispatch(factor, records, consumer) -> None:
    table, dispatcher = _mapping(factor), StreamDispatcher(consumer)
    try:
        for record in records:
            dispatcher.record(table, record)
        assert dispatcher.wait_idle(10)
    finally:
        dispatcher.stop()


def _per_key(ids: list[str]) -> dict[str, list[int]]:
    keys: dict[str, list[int]] = {}
    for event_id in ids:
        pk, n = event_id.rsplit("-", 1)
        keys.setdefault(pk, []).append(int(n))
    return keys


def test_without_a_factor_one_lane_delivers_everything_in_order():
    consumer = Recorder()
    records = [_record(f"bot{i % 7}", i) for i in range(40)]
    _dispatch(None, records, consumer)
    assert consumer.delivered() == [r["eventID"] for r in records]
    assert consumer.most_at_once == 1 and max(len(b) for b in consumer.batches) <= 5


def test_a_factor_runs_different_keys_at_once_and_each_key_in_order():
    # Two batches are held until both run: that only happens if two lanes deliver at once.
    consumer = Recorder(hold=2)
    records = [_record(f"bot{i % 20}", i) for i in range(200)]
    _dispatch(4, records, consumer)
    assert sorted(consumer.delivered()) == sorted(r["eventID"] for r in records)  # each exactly once
    assert all(ns == sorted(ns) for ns in _per_key(consumer.delivered()).values())
    assert 2 <= consumer.most_at_once <= 4


@pytest.mark.parametrize("factor, lanes", [(1, 1), (3, 3), (10, 10), (50, MAX_PARALLELIZATION), (0, 1)])
def test_lanes_are_bounded_like_lambda(factor, lanes):
    table, dispatcher = _mapping(factor), StreamDispatcher(Recorder())
    try:
        dispatcher.record(table, _record("bot", 1))
        assert dispatcher.wait_idle(5)
        (mapping,) = dispatcher._mappings.values()
        assert len(mapping.lanes) == lanes
    finally:
        dispatcher.stop()
