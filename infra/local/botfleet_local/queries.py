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

An index's partitions are found through a map of that index (partition value → items), built by one walk of the
table on the index's first Query and then kept up to date by every write: `Table.put_item`, `Table.delete_item`
and the backend's `update_item` (which changes an item in place, so its index keys may move it) re-file the one
item they touched. Every other path that changes items goes through these three (batch writes, transactions and
their rollback here).

Installed by the local cloud (patches.install).
"""

from __future__ import annotations

import threading
from typing import Any

_lock = threading.Lock()
_installed = False
_scope = threading.local()  # (table, index partition attribute | None, value) while a query runs
_INDEX_MAPS = "_botfleet_index_maps"  # on a moto Table: attribute -> _IndexMap, for the attributes queried
_maps_lock = threading.Lock()


def install() -> None:
    global _installed
    with _lock:
        if _installed:
            return
        from moto.dynamodb.models import DynamoDBBackend
        from moto.dynamodb.models.table import Table

        original_query, original_all_items = Table.query, Table.all_items
        original_put, original_delete = Table.put_item, Table.delete_item
        original_update = DynamoDBBackend.update_item

        def put_item(self: Any, *args: Any, **kwargs: Any) -> Any:
            item = original_put(self, *args, **kwargs)
            _refile(self, item)
            return item

        def delete_item(self: Any, *args: Any, **kwargs: Any) -> Any:
            item = original_delete(self, *args, **kwargs)
            if item is not None:
                _forget(self, item)
            return item

        def update_item(self: Any, table_name: str, *args: Any, **kwargs: Any) -> Any:
            item = original_update(self, table_name, *args, **kwargs)
            if item is not None:
                _refile(self.get_table(table_name), item)
            return item

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
                items = _index_partition(self, attribute, value)
            return sorted(items, key=lambda x: (x.hash_key, x.range_key) if x.range_key else x.hash_key)

        Table.query = query
        Table.all_items = all_items
        Table.put_item, Table.delete_item = put_item, delete_item
        DynamoDBBackend.update_item = update_item
        _installed = True


class _IndexMap:
    """One index's partitions: (type, value) of the partition attribute → {item identity: item}, and each filed
    item's partition, so that a write can move or remove it without knowing its previous values."""

    def __init__(self, attribute: str):
        self.attribute = attribute
        self.partitions: dict[tuple[str, Any], dict[tuple, Any]] = {}
        self.filed: dict[tuple, tuple[str, Any]] = {}

    def refile(self, item: Any) -> None:
        self.forget(item)
        found = item.attrs.get(self.attribute)
        if found is not None:
            identity, partition = _identity(item), (found.type, found.value)
            self.partitions.setdefault(partition, {})[identity] = item
            self.filed[identity] = partition

    def forget(self, item: Any) -> None:
        identity = _identity(item)
        partition = self.filed.pop(identity, None)
        if partition is not None:
            members = self.partitions[partition]
            members.pop(identity, None)
            if not members:
                del self.partitions[partition]


def _identity(item: Any) -> tuple:
    return (item.hash_key, item.range_key)


def _maps(table: Any) -> dict[str, _IndexMap]:
    return table.__dict__.setdefault(_INDEX_MAPS, {})


def _refile(table: Any, item: Any) -> None:
    with _maps_lock:
        for index_map in _maps(table).values():
            index_map.refile(item)


def _forget(table: Any, item: Any) -> None:
    with _maps_lock:
        for index_map in _maps(table).values():
            index_map.forget(item)


def _index_partition(table: Any, attribute: str, value: Any) -> list:
    """The items whose `attribute` is `value`: from the index's map, made on its first use by one walk."""
    with _maps_lock:
        maps = _maps(table)
        index_map = maps.get(attribute)
        if index_map is None:
            index_map = maps[attribute] = _IndexMap(attribute)
            # list(): one C-level copy under the GIL, so a moto thread adding a partition meanwhile cannot break
            # the walk (a write made during it is re-filed by its writer once this lock is free).
            for partition in list(table.items.values()):
                for item in list(partition.values()) if table.range_key_attr else (partition,):
                    index_map.refile(item)
        return list(index_map.partitions.get((value.type, value.value), {}).values())
