"""Bots and their trades in the state table."""

from __future__ import annotations

import logging
import zlib
from collections.abc import Callable, Iterable
from dataclasses import asdict, fields, replace
from decimal import Decimal
from typing import Any

from botfleet.adapters.dynamo.injections import injection_item
from botfleet.adapters.dynamo.schema import bot_pk, shard_pk, user_pk, user_trades_pk
from botfleet.adapters.dynamo.table import ConditionFailed, Table
from botfleet.domain.bots import Bot, UnreadableBot, merge_trade_totals, trade_totals, trade_totals_row
from botfleet.domain.ledger import Ledger
from botfleet.domain.orders import RestingOrder
from botfleet.domain.quarantine import QuarantineState
from botfleet.domain.risk import RiskLimits
from botfleet.errors import AlreadyExists, Conflict
from botfleet.settings import ConfigurationError

log = logging.getLogger("botfleet.bots")

_BOT_FIELDS = {f.name for f in fields(Bot)}
#: gsi2 partition of every user's retired trade totals (bots deleted or regenerated): one Query for the fleet view.
RETIRED_TOTALS = "RETIRED_TOTALS"
#: gsi2 partition of the admins' fleet listing, newest first. Its members are the bots' pointers (`BOT#<id>`/`META`),
#: written once when a bot is created: a bot item in an index that projects every attribute would copy each of its
#: writes (every fill) into the index, a write unit more each (docs/scaling.md, "Cost per bot-month"). Bots created
#: before that are listed by their own item until `move_fleet_listing_to_pointers` has run.
FLEET_LISTING = "BOTS"
#: What fleet metrics read of each bot (`fleet_figures`): its status, pause reason and the ledger's totals, about a
#: fifth of the bytes of the whole item to parse (the same read units). Also what a fleet-listing entry needs to be
#: followed: a pointer's owner, a not-yet-moved bot's own figures.
LEDGER_TOTALS = ("bought_quote", "sold_quote", "fees_paid", "realized_pnl")
FIGURES = ("id", "entity", "owner_id", "status", "pause_reason", "exchange", "ledger.quote", "ledger.fills",
           *(f"ledger.{name}" for name in LEDGER_TOTALS))


def retired_totals_sk(exchange: str, quote: str) -> str:
    return f"RETIRED#{exchange}#{quote}"


def shard_of(bot_id: str, shards: int) -> int:
    """Stable across processes (unlike hash()): a bot always ticks in the same shard."""
    return zlib.crc32(bot_id.encode()) % shards


def bot_key(owner_id: str, bot_id: str) -> tuple[str, str]:
    return user_pk(owner_id), bot_pk(bot_id)


def bot_key_item(owner_id: str, bot_id: str) -> dict[str, str]:
    """The bot item's key as a request's `Key`."""
    pk, sk = bot_key(owner_id, bot_id)
    return {"pk": pk, "sk": sk}


def bot_to_item(bot: Bot, shards: int | None) -> dict[str, Any]:
    pk, sk = bot_key(bot.owner_id, bot.id)
    item = {"pk": pk, "sk": sk, "entity": "bot", **asdict(bot)}
    # The typed parts are stored in their own item shapes (as they always were), not as asdict() makes them.
    item.update(ledger=bot.ledger.to_item(), risk=bot.risk.to_item(), orders=[order.to_item() for order in bot.orders],
                quarantine=bot.quarantine.to_item() if bot.quarantine else None)
    if bot.status == "running":
        if shards is None:  # settings_for() makes TICK_SHARDS required in every function that writes bots
            raise ConfigurationError("this function writes bots but was given no TICK_SHARDS")
        # Sparse index: only running bots are in a shard, so the tick reads exactly the bots it runs.
        item["gsi1pk"], item["gsi1sk"] = shard_pk(shard_of(bot.id, shards)), bot_pk(bot.id)
    return item


def pointer_item(bot: Bot) -> dict[str, Any]:
    """A bot's id → its owner, and its place in the admins' fleet listing (newest first by creation time)."""
    return {"pk": bot_pk(bot.id), "sk": "META", "entity": "bot_pointer", "owner_id": bot.owner_id,
            "gsi2pk": FLEET_LISTING, "gsi2sk": listing_sk(bot.created_at, bot.id)}


def listing_sk(created_at: str, bot_id: str) -> str:
    return f"{created_at}#{bot_id}"


def item_to_bot(item: dict[str, Any]) -> Bot:
    values = {key: value for key, value in item.items() if key in _BOT_FIELDS}
    for name, default in (("pause_count", 0), ("generation", 1), ("version", 0), ("limit_ttl_ticks", 5)):
        values[name] = int(values.get(name, default))
    values["ledger"] = Ledger.from_item(values["ledger"])
    values["risk"] = RiskLimits.parse(values.get("risk"))
    values["orders"] = tuple(RestingOrder.from_item(order) for order in values.get("orders") or ())
    values["quarantine"] = QuarantineState.from_item(values.get("quarantine"))
    values["params"] = {k: (int(v) if isinstance(v, Decimal) and v == v.to_integral_value() else v)
                        for k, v in values.get("params", {}).items()}
    return Bot(**values)


def load_bot(item: dict[str, Any]) -> Bot | UnreadableBot:
    """The bot of an item, or UnreadableBot naming the defect: one corrupt item never fails a whole read."""
    try:
        return item_to_bot(item)
    except Exception as exc:  # any defect of one stored item: reported per bot, never raised for the shard
        return _unreadable(item, exc)


def _unreadable(item: dict[str, Any], exc: Exception) -> UnreadableBot:
    owner = str(item.get("owner_id") or str(item.get("pk", "")).removeprefix("USER#"))
    bot_id = str(item.get("id") or str(item.get("sk", "")).removeprefix("BOT#"))
    return UnreadableBot(owner, bot_id, f"{type(exc).__name__}: {exc}"[:300])


def _log_unreadable(bot: UnreadableBot) -> None:
    log.error("bot cannot be read", extra={"bot_id": bot.id, "owner_id": bot.owner_id, "error": bot.error})


def readable_bots(items: Iterable[dict[str, Any]]) -> list[Bot]:
    """The bots of these items, leaving out (and logging) any whose stored state cannot be read: one corrupt item
    fails neither its owner's other bots nor a listing of everyone's. The engine pauses such a bot when it meets it
    (`engine_error`); reading it alone is a 409 `bot_unreadable`; its owner can delete it, and so does removing the
    account."""
    bots = []
    for bot in map(load_bot, items):
        if isinstance(bot, UnreadableBot):
            _log_unreadable(bot)
        else:
            bots.append(bot)
    return bots


def readable_bot(item: dict[str, Any]) -> Bot:
    readable = readable_bots([item])
    if not readable:
        raise Conflict("the bot's stored state cannot be read; it can only be deleted", code="bot_unreadable")
    return readable[0]


class DynamoBotRepository:
    def __init__(self, table: Table, shards: int | None):
        self.table = table
        self.shards = shards

    def create(self, bot: Bot, request: str | None = None) -> None:
        """The bot under its owner, and a pointer from its id to its owner (admins address bots by id), which keeps
        the creating request's fingerprint: the pointer is written once, the bot item at every change."""
        pointer = pointer_item(bot) | ({"request": request} if request else {})
        self.table.transact([
            {"Put": {"Item": bot_to_item(bot, self.shards), "ConditionExpression": "attribute_not_exists(pk)"}},
            {"Put": {"Item": pointer, "ConditionExpression": "attribute_not_exists(pk)"}},
        ])

    def creation_request(self, owner_id: str, bot_id: str) -> str | None:
        pointer = self.table.get(bot_pk(bot_id), "META", consistent=True)
        return pointer.get("request") if pointer and pointer.get("owner_id") == owner_id else None

    def get_any(self, bot_id: str) -> Bot | None:
        """A bot by id alone, whoever owns it (admin and system use only)."""
        pointer = self.table.get(bot_pk(bot_id), "META")
        return self.get(pointer["owner_id"], bot_id) if pointer else None

    def list_all(self, limit: int, cursor: str | None) -> tuple[list[Bot], str | None]:
        items, next_cursor = self.table.query("gsi2pk = :all", {":all": FLEET_LISTING}, index="gsi2", limit=limit,
                                              cursor=cursor, partition=("gsi2pk", FLEET_LISTING), newest_first=True)
        return self._listed_bots(items), next_cursor

    def whole_fleet(self) -> list[Bot]:
        return self._listed_bots(self.table.query_all(
            "gsi2pk = :all", {":all": FLEET_LISTING}, index="gsi2", newest_first=True))

    def fleet_figures(self) -> list[dict[str, Any]]:
        """Per bot of the fleet: what metrics count (domain.bots.bot_figures), read with only those attributes. A bot
        whose figures cannot be read is left out and logged, as by every listing."""
        listed = self.table.query_all("gsi2pk = :all", {":all": FLEET_LISTING}, index="gsi2", attributes=FIGURES)
        figures: dict[str, dict[str, Any]] = {}
        for item in self._listed_items(listed, attributes=FIGURES):
            bot_id = str(item.get("id") or str(item.get("sk", "")).removeprefix("BOT#"))
            try:
                ledger = item["ledger"]
                # Absent figures are zero, as Ledger.from_item reads books stored before they existed.
                total = {name: Decimal(ledger.get(name, 0)) for name in LEDGER_TOTALS}
                figures.setdefault(bot_id, {
                    "status": str(item["status"]), "pause_reason": item.get("pause_reason"),
                    **trade_totals_row(str(item["exchange"]), str(ledger["quote"]), int(ledger.get("fills", 0)),
                                       total["bought_quote"], total["sold_quote"], total["fees_paid"],
                                       total["realized_pnl"])})
            except Exception as exc:  # any defect of one stored item: that bot is left out, never the fleet
                _log_unreadable(_unreadable(item, exc))
        return list(figures.values())

    def _listed_bots(self, listed: list[dict[str, Any]]) -> list[Bot]:
        """The bots of fleet-listing entries, in their order, each once (while moving, a bot may be listed both
        ways)."""
        bots: dict[str, Bot] = {}
        for bot in readable_bots(self._listed_items(listed)):
            bots.setdefault(bot.id, bot)
        return list(bots.values())

    def _listed_items(self, listed: list[dict[str, Any]], *,
                      attributes: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
        """The bot items of fleet-listing entries, in their order: pointers read through (BatchGetItem, with only
        `attributes` if given), a bot not yet moved to its pointer taken as it is, a bot deleted since the listing
        was read left out."""
        # Each entry: the key of the bot a pointer points to, or a not-yet-moved bot item itself.
        entries = [bot_key(item["owner_id"], item["pk"].removeprefix("BOT#"))
                   if item.get("entity") == "bot_pointer" else item for item in listed]
        found = self.table.get_many((entry for entry in entries if isinstance(entry, tuple)), attributes=attributes)
        items = (found.get(entry) if isinstance(entry, tuple) else entry for entry in entries)
        return [item for item in items if item is not None]

    def move_fleet_listing_to_pointers(self) -> int:
        """Move bots created before the listing was of pointers (their own item in gsi2 `BOTS`) onto their pointers,
        each in one transaction: the pointer joins the listing and the bot item leaves it. Idempotent, and safe
        while the fleet trades (the bot's attributes and version are untouched). Returns how many moved."""
        legacy = self.table.query_all("gsi2pk = :all", {":all": FLEET_LISTING, ":bot": "bot"}, index="gsi2",
                                      filter_expression="entity = :bot")
        moved = 0
        for item in legacy:
            bot_id, owner_id = str(item["id"]), str(item["owner_id"])
            try:
                self.table.transact([
                    {"Update": {"Key": {"pk": bot_pk(bot_id), "sk": "META"},
                                "UpdateExpression": "SET entity = :pointer, owner_id = :owner, gsi2pk = :all, "
                                                    "gsi2sk = :sk",
                                "ExpressionAttributeValues": {":pointer": "bot_pointer", ":owner": owner_id,
                                                              ":all": FLEET_LISTING, ":sk": item["gsi2sk"]}}},
                    {"Update": {"Key": bot_key_item(owner_id, bot_id),
                                "UpdateExpression": "REMOVE gsi2pk, gsi2sk",
                                "ConditionExpression": "attribute_exists(pk)"}},
                ])
            except ConditionFailed:  # deleted meanwhile: nothing to list
                continue
            moved += 1
        return moved

    def all_of_owner(self, owner_id: str) -> list[Bot]:
        return readable_bots(self._items_of_owner(owner_id))

    def everything_of_owner(self, owner_id: str) -> list[Bot | UnreadableBot]:
        return [load_bot(item) for item in self._items_of_owner(owner_id)]

    def _items_of_owner(self, owner_id: str) -> list[dict[str, Any]]:
        return self.table.query_all("pk = :pk AND begins_with(sk, :bot)", {":pk": user_pk(owner_id), ":bot": "BOT#"})

    def owns(self, owner_id: str, bot_id: str) -> bool:
        return self.table.exists(*bot_key(owner_id, bot_id))

    def get(self, owner_id: str, bot_id: str) -> Bot | None:
        item = self.table.get(*bot_key(owner_id, bot_id), consistent=True)
        return readable_bot(item) if item else None

    def list_for_owner(self, owner_id: str, limit: int, cursor: str | None) -> tuple[list[Bot], str | None]:
        items, next_cursor = self.table.query(
            "pk = :pk AND begins_with(sk, :bot)", {":pk": user_pk(owner_id), ":bot": "BOT#"},
            limit=limit, cursor=cursor, partition=("pk", user_pk(owner_id)),
        )
        return readable_bots(items), next_cursor

    def save(self, bot: Bot) -> Bot:
        """Replace the bot if nobody wrote it since it was read (its `version`); returns the saved bot.
        A concurrent change (another request, the tick) raises ConditionFailed instead of being lost."""
        saved = replace(bot, version=bot.version + 1)
        self.table.put(bot_to_item(saved, self.shards), condition="attribute_exists(pk) AND version = :read",
                       values={":read": bot.version})
        return saved

    def mutate(self, owner_id: str, bot_id: str, change: Callable[[Bot], Bot], *,
               attempts: int = 3) -> tuple[Bot, Bot] | None:
        """Read the bot, apply `change`, save it if nobody wrote it meanwhile; when a tick or a request did,
        read again and re-apply. Returns (before, saved), or None when there is no such bot. Raises
        ConditionFailed when the bot kept changing for `attempts` tries."""
        for attempt in range(attempts):
            bot = self.get(owner_id, bot_id)
            if bot is None:
                return None
            try:
                return bot, self.save(change(bot))
            except ConditionFailed:
                if attempt == attempts - 1:
                    raise
        return None

    def save_with_injection(self, bot: Bot, injection: dict[str, Any]) -> Bot:
        """Save the bot (version-checked) and record a capital injection, atomically. AlreadyExists when the
        injection is there already (a retried Idempotency-Key); ConditionFailed when the bot changed meanwhile."""
        saved = replace(bot, version=bot.version + 1)
        try:
            self.table.transact([
                {"Put": {"Item": injection_item(bot.owner_id, injection),
                         "ConditionExpression": "attribute_not_exists(pk)"}},
                {"Put": {"Item": bot_to_item(saved, self.shards), "ConditionExpression": "version = :read",
                         "ExpressionAttributeValues": {":read": bot.version}}},
            ])
        except ConditionFailed as failed:
            if failed.reasons and failed.reasons[0] == "ConditionalCheckFailed":
                raise AlreadyExists(injection["id"]) from None
            raise
        return saved

    def delete(self, bot: Bot) -> None:
        self.remove(bot.owner_id, bot.id)

    def remove(self, owner_id: str, bot_id: str, *, attempts: int = 3) -> bool:
        """Delete the owner's bot and carry its trade totals into the owner's retired totals, atomically, if the bot
        is still the version read (a tick may book a fill meanwhile: then read again). A bot whose stored state is
        corrupt is deleted by its key alone. False when the owner has no such bot; ConditionFailed when it kept
        changing for `attempts` reads."""
        key = bot_key_item(owner_id, bot_id)
        for attempt in range(attempts):
            item = self.table.get(key["pk"], key["sk"], consistent=True)
            if item is None:
                return False
            bot = load_bot(item)
            operations: list[dict[str, Any]] = [{"Delete": {"Key": key, "ConditionExpression": "attribute_exists(pk)"}},
                                                {"Delete": {"Key": {"pk": bot_pk(bot_id), "sk": "META"}}}]
            if isinstance(bot, Bot):
                operations[0]["Delete"].update(ConditionExpression="version = :read",
                                               ExpressionAttributeValues={":read": bot.version})
                operations += [self._retire_totals(owner_id, row) for row in trade_totals([bot])]
            try:
                self.table.transact(operations)
            except ConditionFailed:
                if attempt == attempts - 1:
                    raise
                continue
            return True
        return False

    @staticmethod
    def _retire_totals(owner_id: str, row: dict[str, Any]) -> dict[str, Any]:
        return {"Update": {
            "Key": {"pk": user_pk(owner_id), "sk": retired_totals_sk(row["exchange"], row["quote_currency"])},
            "UpdateExpression": "SET entity = :entity, exchange = :exchange, quote_currency = :quote, "
                                "gsi2pk = :all, gsi2sk = :me "
                                "ADD trades :count, volume :volume, fees :fees, realized_pnl :pnl",
            "ExpressionAttributeValues": {
                ":all": RETIRED_TOTALS, ":me": f"{owner_id}#{row['exchange']}#{row['quote_currency']}",
                ":entity": "retired_trade_totals", ":exchange": row["exchange"], ":quote": row["quote_currency"],
                ":count": row["trades"], ":volume": row["volume"], ":fees": row["fees"], ":pnl": row["realized_pnl"],
            },
        }}

    def purge_history(self, bot_id: str) -> int:
        """Delete a bot's trades and events (account deletion). Returns how many items went."""
        items = self.table.query_all("pk = :pk", {":pk": bot_pk(bot_id)})
        self.table.delete_many([(item["pk"], item["sk"]) for item in items])
        return len(items)

    def ids_with_history(self, owner_id: str) -> set[str]:
        """The owner's bots, current or deleted, that may have left trades, events or models under their own
        partition (a deleted bot's history stays): found through the owner's trades (gsi1 `USER#<id>#TRADES`) and
        what the owner's partition records per bot (training runs, injections, quarantine events). For account
        deletion only: it reads every trade of the owner."""
        trades = self.table.query_all("gsi1pk = :pk", {":pk": user_trades_pk(owner_id)}, index="gsi1")
        records = self.table.query_all("pk = :pk", {":pk": user_pk(owner_id)})
        return {str(item["bot_id"]) for item in (*trades, *records) if item.get("bot_id")}

    def running_in_shard(self, shard: int) -> list[Bot | UnreadableBot]:
        """Every running bot of the shard; one that cannot be read comes back as UnreadableBot, so the engine
        can pause it and trade the rest of the shard."""
        items = self.table.query_all("gsi1pk = :shard", {":shard": shard_pk(shard)}, index="gsi1")
        return [load_bot(item) for item in items]

    def pause_unrunnable(self, owner_id: str, bot_id: str, reason: str, message: str, ts: str) -> bool:
        """Pause a bot the engine cannot run, touching only its status (its other attributes may be what is
        broken), with an event saying why. False when the bot is gone or no longer running."""
        pk, sk = bot_key(owner_id, bot_id)
        try:
            self.table.transact([
                {"Update": {"Key": {"pk": pk, "sk": sk},
                            "UpdateExpression": "SET #status = :paused, pause_reason = :reason, updated_at = :ts "
                                                "REMOVE gsi1pk, gsi1sk ADD version :one",
                            "ConditionExpression": "#status = :running",
                            "ExpressionAttributeNames": {"#status": "status"},
                            "ExpressionAttributeValues": {":paused": "paused", ":running": "running",
                                                          ":reason": reason, ":ts": ts, ":one": 1}}},
                {"Put": {"Item": {"pk": bot_pk(bot_id), "sk": f"EVENT#{ts}#999", "entity": "bot_event",
                                  "owner_id": owner_id, "bot_id": bot_id, "kind": "engine_pause",
                                  "reason": reason, "message": message[:500], "ts": ts}}},
            ])
        except ConditionFailed:
            return False
        return True

    def record_tick(self, before: Bot, after: Bot, trades: list[dict[str, Any]], events: list[dict[str, Any]],
                    tick_id: str) -> bool:
        """A tick's outcome for one bot, atomically and exactly once per (bot, tick): its trades, its events and
        the bot's new state (whose books carry its trade totals: see `summaries`). The bot is written only if it is
        still the version the tick read and the tick is newer than its last one.

        Returns False when this tick was already applied (a retry, a duplicate delivery) or the bot changed
        meanwhile (a pause from the API): nothing is written, the next tick starts from the new state.

        The version checked is `after`'s: the one the tick last saw, which is `before`'s unless the tick wrote the
        bot itself meanwhile (live: an order journalled before it was sent, services/live.py)."""
        saved = replace(after, version=after.version + 1)
        condition = "version = :read AND (attribute_not_exists(last_tick) OR last_tick < :tick)"
        condition_values = {":read": after.version, ":tick": tick_id}
        if not trades and not events:
            # Only the bot's own state moved (a new day's start, a new drawdown peak, an order that rested): one
            # conditional write, at half a transaction's write units.
            try:
                self.table.put(bot_to_item(saved, self.shards), condition=condition, values=condition_values)
            except ConditionFailed:
                return False
            return True
        operations: list[dict[str, Any]] = [
            {"Put": {"Item": bot_to_item(saved, self.shards), "ConditionExpression": condition,
                     "ExpressionAttributeValues": condition_values}},
        ]
        for trade in trades:
            operations.append({"Put": {"Item": {
                "pk": bot_pk(before.id), "sk": f"TRADE#{trade['ts']}#{trade['id']}", "entity": "trade",
                "gsi1pk": user_trades_pk(before.owner_id), "gsi1sk": f"{trade['ts']}#{trade['id']}", **trade,
            }, "ConditionExpression": "attribute_not_exists(pk)"}})
        for number, event in enumerate(events):
            operations.append({"Put": {"Item": {
                "pk": bot_pk(before.id), "sk": f"EVENT#{event['ts']}#{number:03d}", "entity": "bot_event",
                "owner_id": before.owner_id, "bot_id": before.id, **event,
            }}})
        errors = sum(1 for event in events if event["kind"] in ("order_rejected", "sanity_pause"))
        # Breaker trips are counted here, once per (bot, tick) with the trip itself, not summed from the bots'
        # pause counts: those go when a bot is deleted or regenerated, and a Prometheus *_total must not go down.
        trips = sum(1 for event in events if event["kind"] == "risk_pause")
        if errors or trips:
            for pk in (user_pk(before.owner_id), "FLEET"):
                operations.append({"Update": {"Key": {"pk": pk, "sk": "COUNTERS"},
                                              "UpdateExpression": "SET entity = :entity ADD errors :n, risk_pauses :t",
                                              "ExpressionAttributeValues": {":entity": "counters", ":n": errors,
                                                                            ":t": trips}}})
        try:
            self.table.transact(operations)
        except ConditionFailed as failed:
            if "ConditionalCheckFailed" in failed.reasons:
                return False
            raise  # a conflict with another transaction or a throttle, retried until now: not "already done"
        return True

    def count_tick(self, tick_id: str) -> bool:
        """Count `tick_id` once for the fleet's metrics; False when it was counted already (EventBridge delivers at
        least once, and a redelivered tick that is still the newest runs again)."""
        try:
            self.table.update("FLEET", "COUNTERS", "SET entity = :entity, counted_tick = :tick ADD ticks :one",
                              values={":entity": "counters", ":one": 1, ":tick": tick_id},
                              condition="attribute_not_exists(counted_tick) OR counted_tick < :tick")
        except ConditionFailed:
            return False
        return True

    def events(self, bot_id: str, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
        return self.table.query(
            "pk = :pk AND begins_with(sk, :event)", {":pk": bot_pk(bot_id), ":event": "EVENT#"},
            limit=limit, cursor=cursor, partition=("pk", bot_pk(bot_id)), newest_first=True,
        )

    def summaries(self, owner_id: str) -> list[dict[str, Any]]:
        """The owner's trade totals per exchange and quote currency: their bots' books plus what their deleted bots
        left (retired totals)."""
        return merge_trade_totals([*trade_totals(self.all_of_owner(owner_id)), *self.retired_totals(owner_id)])

    def retired_totals(self, owner_id: str) -> list[dict[str, Any]]:
        return self.table.query_all("pk = :pk AND begins_with(sk, :retired)",
                                    {":pk": user_pk(owner_id), ":retired": "RETIRED#"})


class DynamoTradeRepository:
    def __init__(self, table: Table):
        self.table = table

    def list_for_bot(self, bot_id: str, limit: int, cursor: str | None) -> tuple[list[dict], str | None]:
        return self.table.query(
            "pk = :pk AND begins_with(sk, :trade)", {":pk": bot_pk(bot_id), ":trade": "TRADE#"},
            limit=limit, cursor=cursor, partition=("pk", bot_pk(bot_id)), newest_first=True,
        )

    def list_for_owner(
        self, owner_id: str, limit: int, cursor: str | None, *, since: str | None = None,
        exchange: str | None = None, symbol: str | None = None, bot_id: str | None = None,
    ) -> tuple[list[dict], str | None]:
        partition = user_trades_pk(owner_id)
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
