"""Throttle counters in the state table: `THROTTLE#<scope>#<key>`, self-expiring through the TTL attribute.

Login counters (sk `COUNTER`) change by compare-and-set on a `revision` that every write ADDs one to: the new
score depends on the leak since the last failure (botfleet.domain.throttle), which an update expression
cannot compute, and the condition on the revision read makes concurrent attempts serialize exactly as an
atomic counter would — the loser re-reads and decides again. Registration counters (sk `WINDOW#<start>`)
are a plain atomic ADD whose condition refuses the count past the limit.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from botfleet.adapters.dynamo.table import ConditionFailed, Table
from botfleet.domain.throttle import Counter, CounterWrite

ENTITY = "throttle"
LOGIN_SK = "COUNTER"


def throttle_pk(scope: str, key: str) -> str:
    return f"THROTTLE#{scope}#{key}"


def _seconds(value: float) -> Decimal:
    return Decimal(f"{value:.3f}")  # milliseconds are plenty for delays of a second and more


def _score(value: float) -> Decimal:
    return Decimal(f"{value:.6f}")


def _counter(item: dict[str, Any]) -> Counter:
    def number(name: str) -> float | None:
        value = item.get(name)
        return None if value is None else float(value)

    return Counter(score=number("score") or 0.0, last_failure_at=number("last_failure_at"),
                   known_until=number("known_until"), revision=int(item.get("revision", 0)))


class DynamoThrottleStore:
    def __init__(self, table: Table):
        self.table = table

    def read(self, scope: str, key: str) -> Counter | None:
        # Strongly consistent: an eventually consistent read could miss the failure just counted next door.
        item = self.table.get(throttle_pk(scope, key), LOGIN_SK, consistent=True)
        return _counter(item) if item else None

    def claim(self, writes: Sequence[CounterWrite]) -> bool:
        operations = [{"Update": self._update(write)} for write in writes]
        try:
            self.table.transact(operations)
        except ConditionFailed:
            return False  # a concurrent attempt changed a counter (or the transaction conflicted): re-read
        return True

    def succeed(self, scope: str, key: str, counter: Counter, expires_at: int) -> None:
        expression, values = _set_counter(counter, expires_at)
        if counter.last_failure_at is None:
            expression += " REMOVE last_failure_at"
        self.table.update(throttle_pk(scope, key), LOGIN_SK, expression, values=values)

    def give_back(self, scope: str, key: str) -> None:
        # Conditional: a counter a success finds below one (a restart with a fresh score) has nothing to give.
        with contextlib.suppress(ConditionFailed):
            self.table.update(throttle_pk(scope, key), LOGIN_SK, "ADD score :minus, revision :one",
                              values={":minus": -1, ":one": 1, ":floor": 1}, condition="score >= :floor")

    def count_in_window(self, scope: str, key: str, window_start: int, limit: int, expires_at: int) -> bool:
        try:
            self.table.update(
                throttle_pk(scope, key), f"WINDOW#{window_start}",
                "SET entity = :e, expires_at = :x ADD events :one",
                values={":e": ENTITY, ":x": expires_at, ":one": 1, ":limit": limit},
                condition="attribute_not_exists(events) OR events < :limit",
            )
        except ConditionFailed:
            return False
        return True

    @staticmethod
    def _update(write: CounterWrite) -> dict[str, Any]:
        expression, values = _set_counter(write.new, write.expires_at)
        update: dict[str, Any] = {
            "Key": {"pk": throttle_pk(write.scope, write.key), "sk": LOGIN_SK},
            "UpdateExpression": expression,
            "ExpressionAttributeValues": values,
        }
        if write.seen is None:
            update["ConditionExpression"] = "attribute_not_exists(pk)"
        else:
            update["ConditionExpression"] = "revision = :rev"
            values[":rev"] = write.seen.revision
        return update


def _set_counter(counter: Counter, expires_at: int) -> tuple[str, dict[str, Any]]:
    """The update expression storing `counter` (and bumping its revision) with its values."""
    values: dict[str, Any] = {":e": ENTITY, ":s": _score(counter.score), ":x": expires_at, ":one": 1}
    sets = ["entity = :e", "score = :s", "expires_at = :x"]
    for name, value in (("last_failure_at", counter.last_failure_at), ("known_until", counter.known_until)):
        if value is not None:
            sets.append(f"{name} = :{name}")
            values[f":{name}"] = _seconds(value)
    return "SET " + ", ".join(sets) + " ADD revision :one", values
