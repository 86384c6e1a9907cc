"""The fleet's tick log: one item (FLEET / TICK) holding the newest tick begun and each shard's bot count.

Why one item and not a write per bot: a bot that did nothing in a tick is not written at all (docs/scaling.md), so
"has this tick run?" can no longer be read off every bot's `last_tick`. Replays stay safe without it: a bot that
traded in a tick carries that tick as its `last_tick`, and its write is conditional on it, so a replayed tick never
fills it twice. What the log adds is order: a tick older than the newest one begun is stale and runs nothing, so a
delayed retry cannot act on an old market for bots that were quiet since.
"""

from __future__ import annotations

from collections.abc import Mapping

from botfleet.adapters.dynamo.table import ConditionFailed, Table

PK, SK = "FLEET", "TICK"


def _size_attribute(shard: int) -> str:
    return f"bots_{shard:03d}"


class DynamoTickLog:
    def __init__(self, table: Table):
        self.table = table

    def begin(self, tick_id: str) -> dict[int, int] | None:
        try:
            item = self.table.update(
                PK, SK, "SET entity = :entity, newest = :tick",
                condition="attribute_not_exists(newest) OR newest <= :tick",
                values={":entity": "tick_log", ":tick": tick_id},
            )
        except ConditionFailed:
            return None
        return {int(name.removeprefix("bots_")): int(value) for name, value in item.items()
                if name.startswith("bots_")}

    def newest(self) -> str | None:
        item = self.table.get(PK, SK, consistent=True)
        return str(item["newest"]) if item and item.get("newest") else None

    def record_sizes(self, sizes: Mapping[int, int]) -> None:
        if not sizes:
            return
        names = {f"#s{shard}": _size_attribute(shard) for shard in sizes}
        values = {f":s{shard}": count for shard, count in sizes.items()}
        assignments = ", ".join(f"#s{shard} = :s{shard}" for shard in sizes)
        self.table.update(PK, SK, f"SET entity = :entity, {assignments}", names=names,
                          values={":entity": "tick_log", **values})
