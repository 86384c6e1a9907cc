"""moto 5.2.5 patch: a Query reads only its partition, as DynamoDB does, instead of sorting the whole table.

moto's `Table.query` starts from `Table.all_items()` — every item of the table, sorted — and only then keeps
those of the queried partition, for the base table and for a global secondary index alike. That is ~10 µs an
item per Query: on a table of a few thousand items (a thousand open WebSocket connections are a thousand items)
each Query costs tens of milliseconds of the one interpreter that moto, the gateway and the stream dispatcher
share. The broadcaster queries the connections index once per owner per stream batch, so a tick that fills a
hundred bots spent seconds there and starved the engine's writes (tests/bench/ws.py).

DynamoDB reads a Query's partition through the index, whatever the table's size. Here the patched query tells
`all_items` (for the duration of that one call, on that thread) which partition it wants: the base table's own
items under the hash key, or the items whose index partition attribute equals the condition's value. moto's own
code then checks, sorts, pages and projects them exactly as before; it is handed a subset that still holds every
item it would have kept. Scans and everything else still see the whole table.

Installed by the local cloud (patches.install).
"""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
_installed = False
_scope = threading.local()  # (table, index partition attribute | None, value) while a query runs


def install() -> None:
    global _installed
    with _lock:
        if _installed:
            return
        from moto.dynamodb.models.table import Table

        original_query, original_all_items = Table.query, Table.all_items

        def query(self: Any, hash_key: Any, *args: Any, **kwargs: Any) -> Any:
            index_name = kwargs.get("index_name", args[6] if len(args) > 6 else None)
            conditions = kwargs.get("hash_key_conditions")
            if index_name:
                # One partition attribute (every index of ours); a multi-attribute key keeps moto's full walk.
                wanted = (self, *conditions[0]) if conditions and len(conditions) == 1 else None
            else:
                wanted = (self, None, hash_key) if hash_key is not None else None
            _scope.value = wanted
            try:
                return original_query(self, hash_key, *args, **kwargs)
            finally:
                _scope.value = None

        def all_items(self: Any) -> list:
            wanted = getattr(_scope, "value", None)
            if wanted is None or wanted[0] is not self:
                return original_all_items(self)
            _, attribute, value = wanted
            if attribute is None:
                partition = self.items.get(value)  # never self.items[value]: a defaultdict would grow an entry
                if partition is None:
                    return []
                items = list(partition.values()) if self.range_key_attr else [partition]
            else:
                items = []
                for partition in self.items.values():
                    for item in (partition.values() if self.range_key_attr else (partition,)):
                        found = item.attrs.get(attribute)
                        if found is not None and found.type == value.type and found.value == value.value:
                            items.append(item)
            return sorted(items, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)

        Table.query = query
        Table.all_items = all_items
        _installed = True
