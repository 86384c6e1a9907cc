"""DynamoDB capacity units counted from the requests and replies of a real boto3 client (against moto or AWS).

The rules are AWS's own: item sizes as "Item sizes and formats" (DynamoDB Developer Guide, read 2026-12-02)
defines them, write units as "Read/write capacity mode" and the on-demand pricing page do:
- a standard write is one write unit per 1 KB of the item (rounded up); an UpdateItem is charged for the larger of
  the item before and after; a transactional write costs two units per 1 KB;
- an eventually consistent read is half a read unit per 4 KB (a Query sums its items' sizes before rounding), a
  strongly consistent read one unit, a transactional read two.
- a write also writes each global secondary index the item is in ("Global secondary indexes: provisioned throughput
  considerations"): one standard write unit per 1 KB of the projected item (botfleet's indexes project ALL), for
  transactional writes too.
Deletes and updates are charged on the item before them, which the client does not see: this meter takes the
item after an update (ReturnValues ALL_NEW, as every botfleet update asks) and 1 KB for a delete, and it counts an
index write only where the written item has the index's keys (an item leaving an index is not counted).
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

KB = 1024
# The table's global secondary indexes, by their key attributes (adapters/dynamo/schema.py GLOBAL_INDEXES).
INDEX_KEYS = {"gsi1": ("gsi1pk", "gsi1sk"), "gsi2": ("gsi2pk", "gsi2sk")}


def _number_size(text: str) -> int:
    digits = text.lstrip("-").replace(".", "").lstrip("0")
    if "e" in digits.lower():
        digits = str(Decimal(text).normalize()).lstrip("-").replace(".", "").lstrip("0")
    digits = digits.rstrip("0") or "0"
    return 1 + (len(digits) + 1) // 2


def value_size(value: dict[str, Any]) -> int:
    """The size DynamoDB counts for one attribute value in its wire form ({"S": ...}, {"N": ...}, ...)."""
    (kind, payload), = value.items()
    if kind == "S":
        return len(payload.encode())
    if kind == "N":
        return _number_size(payload)
    if kind == "B":
        return len(payload)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(item.encode()) for item in payload)
    if kind == "NS":
        return sum(_number_size(item) for item in payload)
    if kind == "L":
        return 3 + sum(value_size(item) + 1 for item in payload)
    if kind == "M":
        return 3 + sum(len(name.encode()) + value_size(item) + 1 for name, item in payload.items())
    raise ValueError(f"unknown DynamoDB type {kind}")


def item_size(item: dict[str, dict[str, Any]]) -> int:
    return sum(len(name.encode()) + value_size(value) for name, value in item.items())


def write_units(size: int, *, transactional: bool = False) -> int:
    return max(1, math.ceil(size / KB)) * (2 if transactional else 1)


def read_units(size: int, *, consistent: bool = False) -> float:
    return max(1, math.ceil(size / (4 * KB))) * (1.0 if consistent else 0.5)


@dataclass
class DynamoMeter:
    """Counts calls, write units and read units of every DynamoDB call a client makes. `attach(client)`."""

    calls: Counter = field(default_factory=Counter)
    write_units: float = 0.0
    read_units: float = 0.0
    written_items: int = 0
    written_bytes: int = 0
    written_entities: Counter = field(default_factory=Counter)  # by the items' `entity` (puts and updates)
    write_units_by_entity: Counter = field(default_factory=Counter)
    read_units_by_operation: Counter = field(default_factory=Counter)
    _consistent: bool = False  # the last GetItem's ConsistentRead (calls on one client are sequential here)

    def attach(self, client) -> DynamoMeter:
        client.meta.events.register("before-parameter-build.dynamodb", self._request)
        client.meta.events.register("after-call.dynamodb", self._reply)
        return self

    def reset(self) -> None:
        self.calls.clear()
        self.write_units = self.read_units = 0.0
        self.written_items = self.written_bytes = 0
        self.written_entities.clear()
        self.write_units_by_entity.clear()
        self.read_units_by_operation.clear()

    def _write(self, size: int, *, transactional: bool = False, item: dict | None = None) -> None:
        entity = (item.get("entity") or {}).get("S", "?") if item is not None else "?"
        units = write_units(size, transactional=transactional)
        for keys in INDEX_KEYS.values():
            if item is not None and all(key in item for key in keys):
                units += write_units(size)  # the index's copy (projection ALL)
        self.written_entities[entity] += 1
        self.write_units_by_entity[entity] += units
        self.write_units += units
        self.written_items += 1
        self.written_bytes += size

    def _request(self, params: dict[str, Any], event_name: str, **_: Any) -> None:
        operation = event_name.rsplit(".", 1)[-1]
        self.calls[operation] += 1
        if operation == "GetItem":
            self._consistent = bool(params.get("ConsistentRead"))
        elif operation == "PutItem":
            self._write(item_size(params["Item"]), item=params["Item"])
        elif operation == "DeleteItem":
            self._write(KB)
        elif operation == "BatchWriteItem":
            for requests in params["RequestItems"].values():
                for request in requests:
                    put = request.get("PutRequest")
                    self._write(item_size(put["Item"]) if put else KB, item=put["Item"] if put else None)
        elif operation == "TransactWriteItems":
            for entry in params["TransactItems"]:
                if "Put" in entry:
                    self._write(item_size(entry["Put"]["Item"]), transactional=True, item=entry["Put"]["Item"])
                elif "Update" in entry or "Delete" in entry:
                    self._write(KB, transactional=True)  # the item is not in the request: counted as 1 KB
                # ConditionCheck: a read unit pair, negligible here and not used on the tick's path

    def _reply(self, parsed: dict[str, Any], event_name: str, **kwargs: Any) -> None:
        operation = event_name.rsplit(".", 1)[-1]
        units = 0.0
        if operation == "UpdateItem":
            attributes = parsed.get("Attributes") or {}
            self._write(item_size(attributes), item=attributes)
        elif operation == "GetItem":
            units = read_units(item_size(parsed.get("Item") or {}), consistent=self._consistent)
        elif operation in ("Query", "Scan"):
            units = read_units(sum(item_size(item) for item in parsed.get("Items", [])))
        elif operation == "BatchGetItem":
            for items in parsed.get("Responses", {}).values():
                units += sum(read_units(item_size(item)) for item in items)
        self.read_units += units
        self.read_units_by_operation[operation] += units
