"""Bots and their trades in the state table."""

from __future__ import annotations

import zlib
from dataclasses import asdict, fields
from decimal import Decimal
from typing import Any

from botfleet.adapters.dynamo.table import ConditionFailed, Table
from botfleet.domain.bots import Bot
from botfleet.domain.paper import Fill

_BOT_FIELDS = {f.name for f in fields(Bot)}


def shard_of(bot_id: str, shards: int) -> int:
    """Stable across processes (unlike hash()): a bot always ticks in the same shard."""
    return zlib.crc32(bot_id.encode()) % shards


def bot_key(owner_id: str, bot_id: str) -> tuple[str, str]:
    return f"USER#{owner_id}", f"BOT#{bot_id}"


def bot_to_item(bot: Bot, shards: int) -> dict[str, Any]:
    pk, sk = bot_key(bot.owner_id, bot.id)
    item = {"pk": pk, "sk": sk, "entity": "bot", "gsi2pk": f"BOT#{bot.id}", "gsi2sk": "BOT", **asdict(bot)}
    if bot.status == "running":
        # Sparse index: only running bots are in a shard, so the tick reads exactly the bots it runs.
        item["gsi1pk"], item["gsi1sk"] = f"SHARD#{shard_of(bot.id, shards)}", f"BOT#{bot.id}"
    return item


def item_to_bot(item: dict[str, Any]) -> Bot:
    values = {key: value for key, value in item.items() if key in _BOT_FIELDS}
    values["pause_count"] = int(values.get("pause_count", 0))
    values["generation"] = int(values.get("generation", 1))
    values["params"] = {k: (int(v) if isinstance(v, Decimal) and v == v.to_integral_value() else v)
                        for k, v in values.get("params", {}).items()}
    return Bot(**values)


class DynamoBotRepository:
    def __init__(self, table: Table, shards: int):
        self.table = table
        self.shards = shards

    def create(self, bot: Bot) -> None:
        self.table.put(bot_to_item(bot, self.shards), condition="attribute_not_exists(pk)")

    def get(self, owner_id: str, bot_id: str) -> Bot | None:
        item = self.table.get(*bot_key(owner_id, bot_id), consistent=True)
        return item_to_bot(item) if item else None

    def list_for_owner(self, owner_id: str, limit: int, cursor: str | None) -> tuple[list[Bot], str | None]:
        items, next_cursor = self.table.query(
            "pk = :pk AND begins_with(sk, :bot)", {":pk": f"USER#{owner_id}", ":bot": "BOT#"},
            limit=limit, cursor=cursor, partition=("pk", f"USER#{owner_id}"),
        )
        return [item_to_bot(item) for item in items], next_cursor

    def save(self, bot: Bot, *, expected_status: str | None = None) -> None:
        """Replace the bot (configuration or lifecycle change); optionally only if its status is unchanged,
        so a concurrent lifecycle change is a conflict, not a lost update."""
        condition, values, names = "attribute_exists(pk)", None, None
        if expected_status:
            condition += " AND #status = :expected"
            names, values = {"#status": "status"}, {":expected": expected_status}
        self.table.put(bot_to_item(bot, self.shards), condition=condition, names=names, values=values)

    def delete(self, bot: Bot) -> None:
        self.table.delete(*bot_key(bot.owner_id, bot.id))

    def running_in_shard(self, shard: int) -> list[Bot]:
        items = self.table.query_all("gsi1pk = :shard", {":shard": f"SHARD#{shard}"}, index="gsi1")
        return [item_to_bot(item) for item in items]

    def record_fill(self, bot: Bot, fill: Fill, trade: dict[str, Any], tick_id: str) -> bool:
        """The trade and the bot's new balances, atomically and exactly once per (bot, tick).

        Returns False when this tick was already applied (a retried tick, or a duplicate delivery)."""
        pk, sk = bot_key(bot.owner_id, bot.id)
        trade_item = {
            "pk": f"BOT#{bot.id}", "sk": f"TRADE#{trade['ts']}#{trade['id']}", "entity": "trade",
            "gsi1pk": f"USER#{bot.owner_id}#TRADES", "gsi1sk": f"{trade['ts']}#{trade['id']}", **trade,
        }
        try:
            self.table.transact([
                {"Put": {"Item": trade_item, "ConditionExpression": "attribute_not_exists(pk)"}},
                {"Update": {
                    "Key": {"pk": pk, "sk": sk},
                    "UpdateExpression": "SET cash = :cash, #position = :position, last_tick = :tick, "
                                        "updated_at = :now",
                    "ConditionExpression": "#status = :running AND "
                                           "(attribute_not_exists(last_tick) OR last_tick < :tick)",
                    "ExpressionAttributeNames": {"#position": "position", "#status": "status"},
                    "ExpressionAttributeValues": {":cash": bot.cash, ":position": bot.position,
                                                  ":tick": tick_id, ":now": trade["ts"],
                                                  ":running": "running"},
                }},
            ])
        except ConditionFailed:
            return False
        return True


class DynamoTradeRepository:
    def __init__(self, table: Table):
        self.table = table

    def list_for_bot(self, bot_id: str, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
        return self.table.query(
            "pk = :pk AND begins_with(sk, :trade)", {":pk": f"BOT#{bot_id}", ":trade": "TRADE#"},
            limit=limit, cursor=cursor, partition=("pk", f"BOT#{bot_id}"), newest_first=True,
        )

    def list_for_owner(
        self, owner_id: str, limit: int, cursor: str | None, *, since: str | None = None,
        exchange: str | None = None, symbol: str | None = None, bot_id: str | None = None,
    ) -> tuple[list[dict], str | None]:
        partition = f"USER#{owner_id}#TRADES"
        key_condition, values = "gsi1pk = :pk", {":pk": partition}
        if since:
            key_condition += " AND gsi1sk >= :since"
            values[":since"] = since
        filters, names = [], {}
        for attr, value in (("exchange", exchange), ("symbol", symbol), ("bot_id", bot_id)):
            if value:
                filters.append(f"#{attr} = :{attr}")
                names[f"#{attr}"] = attr
                values[f":{attr}"] = value
        return self.table.query(
            key_condition, values, index="gsi1", names=names or None,
            filter_expression=" AND ".join(filters) or None, limit=limit, cursor=cursor,
            partition=("gsi1pk", partition), newest_first=True,
        )
