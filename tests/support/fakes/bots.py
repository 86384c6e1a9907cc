"""Bots, their trades and their capital injections."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

from botfleet.domain.bots import Bot, UnreadableBot, bot_figures, merge_trade_totals, trade_totals
from botfleet.domain.exchanges import get_exchange
from botfleet.domain.ledger import Ledger
from botfleet.errors import AlreadyExists, WriteConflict
from botfleet.ids import new_id
from tests.support.fakes._common import copied, paged


class FakeInjections:
    """Mirrors adapters/dynamo/injections.py (DynamoInjections). Records are written only by
    FakeBotRepository.save_with_injection, atomically with their bot, as in DynamoDB."""

    def __init__(self):
        self.records: dict[tuple[str, str], dict[str, Any]] = {}  # (owner_id, injection id) -> record

    def get(self, owner_id: str, injection_id: str) -> dict[str, Any] | None:
        return copied(self.records.get((owner_id, injection_id)))

    def for_bot(self, bot_id: str, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """gsi1 `BOT#<bot>#INJECTIONS`, newest first by `ts#id`."""
        mine = [r for r in self.records.values() if r["bot_id"] == bot_id]
        mine.sort(key=lambda r: f"{r['ts']}#{r['id']}", reverse=True)
        return paged(mine, limit, cursor, f"injections-of-bot:{bot_id}")

    def for_owner(self, owner_id: str, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """The owner's partition, by sort key `INJECTION#<id>` ascending (the adapter does not ask newest first)."""
        mine = sorted((r for (owner, _), r in self.records.items() if owner == owner_id), key=lambda r: r["id"])
        return paged(mine, limit, cursor, f"injections-of-owner:{owner_id}")


class FakeBotRepository:
    """Mirrors adapters/dynamo/bots.py (DynamoBotRepository): version-checked saves bump `version` and raise
    WriteConflict when the bot changed (or went) since it was read; `mutate` re-reads and retries like the
    adapter's; `save_with_injection` writes bot and injection together (AlreadyExists for a recorded injection
    id, checked first like the transaction's first item). Owners' listings are by bot id, the fleet's newest first.

    `interfere(change)` plays another writer (a tick, a second request): before the next version-checked write,
    the stored bot gets `change` and a new version, so that write finds it changed. Not faked: the tick's writes
    (record_tick, running_in_shard, pause_unrunnable), which no service tested here uses."""

    def __init__(self, injections: FakeInjections | None = None):
        self.bots: dict[tuple[str, str], Bot] = {}  # (owner_id, bot_id) -> bot as stored
        self.owners: dict[str, str] = {}  # bot id -> owner id: the adapter's `BOT#<id>` / META pointer
        self.requests: dict[str, str | None] = {}  # bot id -> the creating request's fingerprint (the pointer's)
        self.ever_owned: dict[str, str] = {}  # bot id -> owner id, kept after removal (as the trades' owner index)
        self.injections = injections if injections is not None else FakeInjections()
        self.events_of: dict[str, list[dict[str, Any]]] = {}  # bot id -> events (the tick writes them)
        self.retired_of: dict[str, list[dict[str, Any]]] = {}  # owner id -> deleted bots' trade totals
        self.saves = 0  # successful version-checked writes
        self._others: list[Callable[[Bot], Bot]] = []

    def interfere(self, change: Callable[[Bot], Bot] = lambda bot: bot, times: int = 1) -> None:
        self._others.extend([change] * times)

    def create(self, bot: Bot, request: str | None = None) -> None:
        if (bot.owner_id, bot.id) in self.bots or bot.id in self.owners:
            raise WriteConflict(f"bot {bot.id} exists already")
        self.bots[(bot.owner_id, bot.id)] = copied(bot)
        self.owners[bot.id] = bot.owner_id
        self.ever_owned[bot.id] = bot.owner_id
        self.requests[bot.id] = request

    def creation_request(self, owner_id: str, bot_id: str) -> str | None:
        return self.requests.get(bot_id) if self.owners.get(bot_id) == owner_id else None

    def get(self, owner_id: str, bot_id: str) -> Bot | None:
        return copied(self.bots.get((owner_id, bot_id)))

    def get_any(self, bot_id: str) -> Bot | None:
        owner_id = self.owners.get(bot_id)
        return self.get(owner_id, bot_id) if owner_id else None

    def owns(self, owner_id: str, bot_id: str) -> bool:
        return (owner_id, bot_id) in self.bots

    def all_of_owner(self, owner_id: str) -> list[Bot]:
        return [copied(bot) for bot in self._of_owner(owner_id)]

    def fleet_figures(self) -> list[dict[str, Any]]:
        return [bot_figures(bot) for bot in self.whole_fleet()]

    def everything_of_owner(self, owner_id: str) -> list[Bot | UnreadableBot]:
        return self.all_of_owner(owner_id)  # the fake keeps Bot objects: nothing it holds is unreadable

    def list_for_owner(self, owner_id: str, limit: int, cursor: str | None) -> tuple[list[Bot], str | None]:
        return paged(self._of_owner(owner_id), limit, cursor, f"bots-of:{owner_id}")

    def list_all(self, limit: int, cursor: str | None) -> tuple[list[Bot], str | None]:
        """gsi2 `BOTS`, newest first by `created_at#id`."""
        fleet = sorted(self.bots.values(), key=lambda bot: f"{bot.created_at}#{bot.id}", reverse=True)
        return paged(fleet, limit, cursor, "fleet")

    def whole_fleet(self) -> list[Bot]:
        return [copied(bot) for bot in sorted(self.bots.values(), key=lambda bot: f"{bot.created_at}#{bot.id}",
                                             reverse=True)]

    def save(self, bot: Bot) -> Bot:
        self._check_version(bot)
        return self._store(bot)

    def mutate(self, owner_id: str, bot_id: str, change: Callable[[Bot], Bot], *,
               attempts: int = 3) -> tuple[Bot, Bot] | None:
        for attempt in range(attempts):
            bot = self.get(owner_id, bot_id)
            if bot is None:
                return None
            try:
                return bot, self.save(change(bot))
            except WriteConflict:
                if attempt == attempts - 1:
                    raise
        return None

    def save_with_injection(self, bot: Bot, injection: dict[str, Any]) -> Bot:
        if (bot.owner_id, injection["id"]) in self.injections.records:
            raise AlreadyExists(injection["id"])
        self._check_version(bot)
        self.injections.records[(bot.owner_id, injection["id"])] = copied(injection)
        return self._store(bot)

    def delete(self, bot: Bot) -> None:
        self.remove(bot.owner_id, bot.id)

    def remove(self, owner_id: str, bot_id: str) -> bool:
        bot = self.bots.pop((owner_id, bot_id), None)
        if bot is None:
            return False
        self.owners.pop(bot_id, None)
        self.requests.pop(bot_id, None)
        self.retired_of.setdefault(owner_id, []).extend(trade_totals([bot]))
        return True

    def purge_history(self, bot_id: str) -> int:
        return len(self.events_of.pop(bot_id, []))

    def ids_with_history(self, owner_id: str) -> set[str]:
        """Bots of the owner, current or removed, that still have events (a removed bot's history stays)."""
        return {bot_id for bot_id in self.events_of if self.ever_owned.get(bot_id) == owner_id}

    def events(self, bot_id: str, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        events = sorted(self.events_of.get(bot_id, []), key=lambda event: event["ts"], reverse=True)
        return paged(events, limit, cursor, f"events-of:{bot_id}")

    def summaries(self, owner_id: str) -> list[dict[str, Any]]:
        return merge_trade_totals([*trade_totals(self._of_owner(owner_id)), *self.retired_totals(owner_id)])

    def retired_totals(self, owner_id: str) -> list[dict[str, Any]]:
        return merge_trade_totals(copied(self.retired_of.get(owner_id, [])))

    def _of_owner(self, owner_id: str) -> list[Bot]:
        return sorted((bot for (owner, _), bot in self.bots.items() if owner == owner_id), key=lambda bot: bot.id)

    def _check_version(self, bot: Bot) -> None:
        key = (bot.owner_id, bot.id)
        if self._others and key in self.bots:
            current = self.bots[key]
            self.bots[key] = replace(self._others.pop(0)(copied(current)), version=current.version + 1)
        current = self.bots.get(key)
        if current is None or current.version != bot.version:
            raise WriteConflict(f"bot {bot.id} changed since it was read")

    def _store(self, bot: Bot) -> Bot:
        saved = replace(copied(bot), version=bot.version + 1)
        self.bots[(bot.owner_id, bot.id)] = saved
        self.saves += 1
        return copied(saved)


class FakeTradeRepository:
    """Mirrors DynamoTradeRepository (adapters/dynamo/bots.py): a bot's and an owner's fills, newest first; the
    owner's listing takes `since` (on `ts#id`, as the index key) and filters applied before the limit. Tests put
    trades in with `add` (the tick writes them in DynamoDB)."""

    def __init__(self):
        self.trades: list[tuple[str, dict[str, Any]]] = []  # (owner_id, trade)

    def add(self, owner_id: str, trade: dict[str, Any]) -> None:
        self.trades.append((owner_id, copied(trade)))

    def list_for_bot(self, bot_id: str, limit: int, cursor: str | None):
        mine = self._newest_first(trade for _, trade in self.trades if trade["bot_id"] == bot_id)
        return paged(mine, limit, cursor, f"trades-of-bot:{bot_id}")

    def list_for_owner(self, owner_id: str, limit: int, cursor: str | None, *, since: str | None = None,
                       exchange: str | None = None, symbol: str | None = None, bot_id: str | None = None):
        wanted = {"exchange": exchange, "symbol": symbol, "bot_id": bot_id}
        mine = self._newest_first(
            trade for owner, trade in self.trades
            if owner == owner_id and (not since or f"{trade['ts']}#{trade['id']}" >= since)
            and all(value is None or trade.get(name) == value for name, value in wanted.items()))
        return paged(mine, limit, cursor, f"trades-of-owner:{owner_id}")

    @staticmethod
    def _newest_first(trades) -> list[dict[str, Any]]:
        return sorted(trades, key=lambda trade: f"{trade['ts']}#{trade['id']}", reverse=True)


def a_bot(owner_id: str, *, name: str = "grid-1", exchange: str = "binance", symbol: str = "BTC/USDT",
          strategy: str = "sma_cross", capital: str = "1000", at: str = "2026-01-01T00:00:00.000Z",
          **changes: Any) -> Bot:
    """Test data: a fresh paper bot as BotService.create makes it (an open ledger), with `changes` on top."""
    rules = get_exchange(exchange).rules(symbol)
    money = Decimal(capital)
    bot = Bot(id=new_id("bot"), owner_id=owner_id, name=name, exchange=exchange, symbol=symbol, strategy=strategy,
              params={"fast": 3, "slow": 8}, mode="paper", capital=money,
              ledger=Ledger.open(rules.base, rules.quote, money), created_at=at, updated_at=at,
              initial_capital=money)
    return replace(bot, **changes)
