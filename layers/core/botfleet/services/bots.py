"""Bot configuration and lifecycle for their owner; trades, events and per-exchange summaries."""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from typing import Any

from botfleet.clock import Clock, iso, parse_iso
from botfleet.domain.bots import ADMIN_HOLD, MODES, ORDER_TYPES, Bot, check_capital
from botfleet.domain.exchanges import get_exchange
from botfleet.domain.ledger import Ledger
from botfleet.domain.money import BASIS_POINTS, CAPITAL, money_str, parse_amount
from botfleet.domain.risk import RiskLimits
from botfleet.domain.strategies import get_strategy, validate_params
from botfleet.domain.text import clean_text
from botfleet.errors import Conflict, Forbidden, NotFound, Unprocessable, WriteConflict
from botfleet.ids import derived_id, new_id
from botfleet.ports import BotRepository, MarketData, TradeRepository
from botfleet.services.auth import Principal
from botfleet.services.capital import price_for_capital_check


def _name(raw: str) -> str:
    return clean_text(raw, "name", max_length=64)


def _execution(spec: dict[str, Any], bot: Bot | None = None) -> dict[str, Any]:
    """How a bot trades toward its target: market orders, or resting limit orders `offset_bps` from mid that
    are cancelled after `ttl_ticks` ticks unfilled."""
    values: dict[str, Any] = {}
    if spec.get("order_type") is not None:
        if spec["order_type"] not in ORDER_TYPES:
            raise Unprocessable("order_type", f"must be one of {', '.join(ORDER_TYPES)}")
        values["order_type"] = spec["order_type"]
    if spec.get("limit_offset_bps") is not None:
        values["limit_offset_bps"] = parse_amount(spec["limit_offset_bps"], "limit_offset_bps", BASIS_POINTS)
    if spec.get("limit_ttl_ticks") is not None:
        ttl = spec["limit_ttl_ticks"]
        if isinstance(ttl, bool) or not isinstance(ttl, int) or not 1 <= ttl <= 1440:
            raise Unprocessable("limit_ttl_ticks", "must be a whole number of ticks from 1 to 1440")
        values["limit_ttl_ticks"] = ttl
    return values


# What a quarantined bot's history says when its owner takes it out of the quarantine by hand.
RELEASED_BY = {"resume": "put back in the market by hand", "start": "put back in the market by hand",
               "pause": "paused by hand", "stop": "stopped by hand"}


class BotService:
    def __init__(self, bots: BotRepository, trades: TradeRepository, clock: Clock, *, keys: Any = None,
                 audit: Any = None, quarantine: Any = None, market_data: MarketData | None = None):
        self.bots = bots
        self.market_data = market_data  # a paper bot's capital is checked against the minimum amount's cost now
        self.trade_repo = trades
        self.clock = clock
        self.keys = keys  # the key vault (None where this function has none): live mode needs the owner's key
        self.audit = audit
        self.quarantine = quarantine  # a quarantined bot put back by hand stops its quarantine

    def create(self, owner: Principal, spec: dict[str, Any], idempotency_key: str | None = None) -> Bot:
        """A new running bot. With an Idempotency-Key a retried request (a timeout, a double click) answers with the
        bot the first one created instead of creating a second: two live bots on one exchange key would each
        trade the full capital. The same key with another request is refused, as for injections."""
        name = _name(spec["name"])
        exchange = get_exchange(spec["exchange"])
        rules = exchange.rules(spec["symbol"])
        strategy = get_strategy(spec["strategy"])
        params = validate_params(strategy, spec.get("params"))
        risk = RiskLimits.parse(spec.get("risk"))
        execution = _execution(spec)
        if spec["mode"] not in MODES:
            raise Unprocessable("mode", f"must be one of {', '.join(MODES)}")
        if spec["mode"] == "live" and not (self.keys and self.keys.is_configured(owner.user_id, exchange.id)):
            # Live orders need the owner's exchange keys; until a key is stored there is nothing to sign with.
            raise Conflict(
                f"live trading on {exchange.name} needs your API key: store it with PUT /api/keys/{exchange.id}",
                code="api_key_required",
            )
        capital = parse_amount(spec["capital"], "capital", CAPITAL)
        check_capital(exchange.id, spec["symbol"], capital,
                      price_for_capital_check(self.market_data, spec["mode"], exchange.id, spec["symbol"]))
        now = iso(self.clock.now())
        request = derived_id("req", json.dumps(spec, sort_keys=True, default=str)) if idempotency_key else None
        bot = Bot(
            id=derived_id("bot", owner.user_id, idempotency_key) if idempotency_key else new_id("bot"),
            owner_id=owner.user_id, name=name, exchange=exchange.id, symbol=spec["symbol"],
            strategy=strategy.name, params=params, mode=spec["mode"], capital=capital,
            ledger=Ledger.open(rules.base, rules.quote, capital), created_at=now, updated_at=now,
            status="running", risk=risk, initial_capital=capital, **execution,
        )
        try:
            self.bots.create(bot, request)
        except WriteConflict:
            if not idempotency_key:
                raise
            if self.bots.creation_request(owner.user_id, bot.id) != request:
                raise Conflict("this Idempotency-Key was already used for a different request",
                               code="idempotency_key_reused") from None
            return self.get(owner, bot.id)  # the first request's bot, as it is now
        if bot.mode == "live" and self.audit:  # real money: a sensitive action, on the record
            self.audit.record(owner, "bot.live_mode", f"bot:{bot.id}", None,
                              {"mode": "live", "exchange": bot.exchange, "symbol": bot.symbol,
                               "capital": str(bot.capital)})
        return bot

    def get(self, owner: Principal, bot_id: str) -> Bot:
        bot = self.bots.get(owner.user_id, bot_id)
        if bot is None:
            raise NotFound(f"bot {bot_id} not found")
        return bot

    def list(self, owner: Principal, limit: int, cursor: str | None) -> tuple[list[Bot], str | None]:
        return self.bots.list_for_owner(owner.user_id, limit, cursor)

    def update(self, owner: Principal, bot_id: str, changes: dict[str, Any]) -> Bot:
        """Configuration only: name, params, risk limits, execution. Capital moves go through injections."""
        return self._mutate(owner, bot_id, lambda bot: self._configured(bot, changes))[1]

    def check_update(self, owner: Principal, bot_id: str, changes: dict[str, Any]) -> None:
        """Refuse what `update` would refuse, writing nothing: a change that also moves capital is judged whole
        before the money moves, so a refused request has changed nothing."""
        bot = self.bots.get(owner.user_id, bot_id)
        if bot is None:
            raise NotFound(f"bot {bot_id} not found")
        self._configured(bot, changes)

    def _configured(self, bot: Bot, changes: dict[str, Any]) -> Bot:
        updated = bot
        if changes.get("name") is not None:
            updated = replace(updated, name=_name(changes["name"]))
        if changes.get("params") is not None:
            updated = replace(updated, params=validate_params(get_strategy(bot.strategy), changes["params"]))
        if changes.get("risk") is not None:
            updated = replace(updated, risk=bot.risk.updated(changes["risk"]))
        return replace(updated, **_execution(changes), updated_at=iso(self.clock.now()))

    def delete(self, owner: Principal, bot_id: str) -> None:
        try:
            bot = self.bots.get(owner.user_id, bot_id)
        except Exception:  # corrupt state (any defect, as the engine's load_bot): its owner can always delete it
            bot = None
        # Regenerating: its quarantine is creating its successor with its capital (delete that one after).
        if bot is not None and bot.regenerating:
            raise Conflict("the bot is being replaced by its next generation; try again in a minute",
                           code="regenerating")
        if not self.bots.remove(owner.user_id, bot_id):
            raise NotFound(f"bot {bot_id} not found")
        if bot is not None and bot.status == "quarantined" and self.quarantine:
            self.quarantine.release(bot, "deleted by its owner")  # its next steps would only find it gone

    def lifecycle(self, owner: Principal, bot_id: str, action: str) -> Bot:
        """The owner's start, pause, resume and stop. A bot an admin took out of the market (paused or stopped,
        reason `admin`) stays out until an admin puts it back: its owner may stop it, and the hold stays."""

        def change(bot: Bot) -> Bot:
            now = iso(self.clock.now())
            held = bot.pause_reason == ADMIN_HOLD and bot.status in ("paused", "stopped")
            if held and action in ("resume", "start"):
                raise Forbidden("an admin took this bot out of the market; only an admin can put it back",
                                code="admin_hold")
            if action == "pause":
                return bot.paused("manual", now)
            if action == "stop":
                return bot.stopped(ADMIN_HOLD if held else None, now)
            return bot.resumed(now) if action == "resume" else bot.started(now)

        before, saved = self._mutate(owner, bot_id, change)
        if before.status == "quarantined" and self.quarantine:
            self.quarantine.release(before, RELEASED_BY[action])
        return saved

    def trades(self, owner: Principal, bot_id: str, limit: int, cursor: str | None):
        self._check_owner(owner, bot_id)
        return self.trade_repo.list_for_bot(bot_id, limit, cursor)

    def events(self, owner: Principal, bot_id: str, limit: int, cursor: str | None):
        self._check_owner(owner, bot_id)
        return self.bots.events(bot_id, limit, cursor)

    def _check_owner(self, owner: Principal, bot_id: str) -> None:
        """Another user's bot is a 404. Only the key is read: a bot whose state is corrupt still shows its
        history (the event that says why the engine paused it)."""
        if not self.bots.owns(owner.user_id, bot_id):
            raise NotFound(f"bot {bot_id} not found")

    def all_trades(self, owner: Principal, limit: int, cursor: str | None, **filters: str | None):
        if filters.get("since"):
            try:
                filters["since"] = iso(parse_iso(filters["since"]))
            except ValueError:
                raise Unprocessable("since", "must be an ISO-8601 timestamp") from None
        return self.trade_repo.list_for_owner(owner.user_id, limit, cursor, **filters)

    def trade_summary(self, owner: Principal) -> list[dict[str, Any]]:
        return [
            {"exchange": item["exchange"], "quote_currency": item["quote_currency"], "trades": int(item["trades"]),
             "volume": money_str(item["volume"]), "fees": money_str(Decimal(item["fees"]).quantize(Decimal("1e-8"))),
             "realized_pnl": money_str(Decimal(item["realized_pnl"]).quantize(Decimal("1e-8")))}
            for item in self.bots.summaries(owner.user_id)
        ]

    def _mutate(self, owner: Principal, bot_id: str, change) -> tuple[Bot, Bot]:
        try:
            result = self.bots.mutate(owner.user_id, bot_id, change)
        except WriteConflict:
            raise Conflict("the bot keeps changing (a tick or another request); try again",
                           code="concurrent_update") from None
        if result is None:
            raise NotFound(f"bot {bot_id} not found")
        return result
