"""Bot configuration and lifecycle for their owner; trades."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal
from typing import Any

from botfleet.adapters.dynamo.table import ConditionFailed
from botfleet.clock import Clock, iso, parse_iso
from botfleet.domain.bots import MODES, Bot, check_capital, next_status
from botfleet.domain.exchanges import get_exchange
from botfleet.domain.money import to_decimal
from botfleet.domain.strategies import get_strategy, validate_params
from botfleet.errors import Conflict, NotFound, Unprocessable
from botfleet.ids import new_id
from botfleet.ports import BotRepository
from botfleet.services.auth import Principal


class BotService:
    def __init__(self, bots: BotRepository, trades: Any, clock: Clock):
        self.bots = bots
        self.trade_repo = trades
        self.clock = clock

    def create(self, owner: Principal, spec: dict[str, Any]) -> Bot:
        name = spec["name"].strip()
        if not 1 <= len(name) <= 64:
            raise Unprocessable("name", "must be 1 to 64 characters")
        exchange = get_exchange(spec["exchange"])
        exchange.rules(spec["symbol"])
        strategy = get_strategy(spec["strategy"])
        params = validate_params(strategy, spec.get("params"))
        if spec["mode"] not in MODES:
            raise Unprocessable("mode", f"must be one of {', '.join(MODES)}")
        if spec["mode"] == "live":
            # Live orders need the owner's exchange keys; until a key is stored there is nothing to sign with.
            raise Conflict(
                f"live trading on {exchange.name} needs your API key: store it with PUT /api/keys/{exchange.id}",
                code="api_key_required",
            )
        capital = to_decimal(spec["capital"], "capital")
        check_capital(exchange.id, spec["symbol"], capital)
        now = iso(self.clock.now())
        bot = Bot(
            id=new_id("bot"), owner_id=owner.user_id, name=name, exchange=exchange.id, symbol=spec["symbol"],
            strategy=strategy.name, params=params, mode=spec["mode"], capital=capital, cash=capital,
            position=Decimal(0), created_at=now, updated_at=now, status="running",
        )
        self.bots.create(bot)
        return bot

    def get(self, owner: Principal, bot_id: str) -> Bot:
        bot = self.bots.get(owner.user_id, bot_id)
        if bot is None:
            raise NotFound(f"bot {bot_id} not found")
        return bot

    def list(self, owner: Principal, limit: int, cursor: str | None) -> tuple[list[Bot], str | None]:
        return self.bots.list_for_owner(owner.user_id, limit, cursor)

    def update(self, owner: Principal, bot_id: str, changes: dict[str, Any]) -> Bot:
        bot = self.get(owner, bot_id)
        updated = bot
        if changes.get("name") is not None:
            name = changes["name"].strip()
            if not 1 <= len(name) <= 64:
                raise Unprocessable("name", "must be 1 to 64 characters")
            updated = replace(updated, name=name)
        if changes.get("params") is not None:
            updated = replace(updated, params=validate_params(get_strategy(bot.strategy), changes["params"]))
        if changes.get("capital") is not None:
            capital = to_decimal(changes["capital"], "capital")
            check_capital(bot.exchange, bot.symbol, capital)
            # Re-allocating capital moves cash by the difference; the bot can't hand back cash it spent.
            cash = bot.cash + (capital - bot.capital)
            if cash < 0:
                raise Unprocessable(
                    "capital", f"the bot holds only {bot.cash} in cash; sell first or allocate more",
                    code="insufficient_cash",
                )
            updated = replace(updated, capital=capital, cash=cash)
        updated = replace(updated, updated_at=iso(self.clock.now()))
        self._save(updated, bot.status)
        return updated

    def delete(self, owner: Principal, bot_id: str) -> None:
        self.bots.delete(self.get(owner, bot_id))

    def lifecycle(self, owner: Principal, bot_id: str, action: str) -> Bot:
        bot = self.get(owner, bot_id)
        status = next_status(bot, action)
        reason = "manual" if action == "pause" else None
        updated = replace(bot, status=status, pause_reason=reason, updated_at=iso(self.clock.now()))
        self._save(updated, bot.status)
        return updated

    def trades(self, owner: Principal, bot_id: str, limit: int, cursor: str | None):
        self.get(owner, bot_id)  # ownership: another user's bot is a 404
        return self.trade_repo.list_for_bot(bot_id, limit, cursor)

    def all_trades(self, owner: Principal, limit: int, cursor: str | None, **filters: str | None):
        if filters.get("since"):
            try:
                filters["since"] = iso(parse_iso(filters["since"]))
            except ValueError:
                raise Unprocessable("since", "must be an ISO-8601 timestamp") from None
        return self.trade_repo.list_for_owner(owner.user_id, limit, cursor, **filters)

    def _save(self, bot: Bot, expected_status: str) -> None:
        try:
            self.bots.save(bot, expected_status=expected_status)
        except ConditionFailed:
            raise Conflict("the bot changed meanwhile; reload and try again", code="concurrent_update") from None
