"""Capital injections and the portfolio: money moved in and out of a bot is never profit or loss."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal
from typing import Any

from botfleet.clock import Clock, iso
from botfleet.domain.bots import Bot, check_capital
from botfleet.domain.money import CAPITAL, INJECTION, money_str, parse_amount
from botfleet.domain.orders import ExchangeError
from botfleet.errors import AlreadyExists, Conflict, NotFound, Unprocessable, WriteConflict
from botfleet.ids import derived_id, new_id
from botfleet.ports import BotRepository, Injections, MarketData
from botfleet.services.auth import Principal

KINDS = ("deposit", "withdrawal")


def price_for_capital_check(market_data: MarketData | None, mode: str, exchange: str, symbol: str) -> Decimal | None:
    """The price a paper bot would buy at now, to check that its capital covers the market's minimum amount (Luno's
    0.0005 BTC is ~R 825: a R 500 bot would run and never trade). None for a live bot (this market data is the
    simulator's unless the deployment trades paper on a live feed, and refusing a live bot on a price that is not
    its exchange's would be wrong) or when the feed cannot say now: the minimum notional still applies."""
    if market_data is None or mode != "paper":
        return None
    try:
        return market_data.mark(exchange, symbol)
    except (ExchangeError, LookupError):  # a live feed that is down; a replay with no candle for the market
        return None


class CapitalService:
    def __init__(self, bots: BotRepository, injections: Injections, market_data: MarketData, clock: Clock):
        self.bots = bots
        self.injections = injections
        self.market_data = market_data
        self.clock = clock

    def inject(self, owner: Principal, bot_id: str, raw_amount: Any, kind: str,
               idempotency_key: str | None = None) -> dict[str, Any]:
        """Record a deposit or withdrawal for a bot, atomically with the bot's books. With an Idempotency-Key
        a retried request returns the first result instead of moving the money twice."""
        if kind not in KINDS:
            raise Unprocessable("kind", "must be deposit or withdrawal")
        amount = parse_amount(raw_amount, "amount", INJECTION)  # positive: `kind` says which way it moves
        injection_id = derived_id("inj", owner.user_id, idempotency_key) if idempotency_key else new_id("inj")
        # What the key promises: the same request. A retry returns the first result; the same key sent with
        # another bot, amount or kind is a client bug that must not silently answer with the first one.
        request = derived_id("req", bot_id, money_str(amount), kind)
        existing = self.injections.get(owner.user_id, injection_id)
        if existing:
            return _replayed(existing, request)
        signed = amount if kind == "deposit" else -amount
        return self._move(owner, bot_id, injection_id, request, lambda bot: signed)

    def reallocate(self, owner: Principal, bot_id: str, raw_capital: Any) -> dict[str, Any] | None:
        """Set the bot's allocated capital: the difference moves as a deposit or withdrawal (None: it was already
        that). The difference is taken from the bot as each attempt reads it, so two overlapping requests for the
        same capital (a double click, a retry) move the money once: the second finds nothing left to move."""
        bot = self.bots.get(owner.user_id, bot_id)
        if bot is None:
            raise NotFound(f"bot {bot_id} not found")
        target = parse_amount(raw_capital, "capital", CAPITAL)
        check_capital(bot.exchange, bot.symbol, target,
                      price_for_capital_check(self.market_data, bot.mode, bot.exchange, bot.symbol))
        return self._move(owner, bot_id, new_id("inj"), derived_id("req", bot_id, "capital", money_str(target)),
                          lambda bot: target - bot.capital)

    def _move(self, owner: Principal, bot_id: str, injection_id: str, request: str,
              signed_for: Callable[[Bot], Decimal]) -> dict[str, Any] | None:
        """Move `signed_for(bot)` (positive in, negative out) into the bot's books with its injection record, in one
        write; re-read and retried when the tick writes the bot in between. None when there is nothing to move."""
        for _ in range(5):
            bot = self.bots.get(owner.user_id, bot_id)
            if bot is None:
                raise NotFound(f"bot {bot_id} not found")
            signed = signed_for(bot)
            if not signed:
                return None
            mark = self.market_data.mark(bot.exchange, bot.symbol)
            try:
                ledger = bot.ledger.flow(signed, mark)
            except ValueError as exc:
                raise Unprocessable("amount", str(exc), code="insufficient_funds") from None
            now = iso(self.clock.now())
            updated = replace(bot, ledger=ledger, capital=bot.capital + signed, updated_at=now)
            record = {
                "id": injection_id, "bot_id": bot.id, "kind": "deposit" if signed > 0 else "withdrawal",
                "amount": abs(signed), "currency": bot.quote_currency, "mark": mark, "ts": now,
                "equity_after": ledger.equity(mark), "request": request,
            }
            try:
                self.bots.save_with_injection(updated, record)
            except AlreadyExists:  # the same key, raced by a concurrent retry: answer with its result
                return _replayed(self.injections.get(owner.user_id, injection_id), request)
            except WriteConflict:
                continue
            return injection_view(record)
        raise Conflict("the bot is busy; try again", code="concurrent_update")

    def list(self, owner: Principal, bot_id: str | None, limit: int, cursor: str | None):
        if bot_id:
            if self.bots.get(owner.user_id, bot_id) is None:
                raise NotFound(f"bot {bot_id} not found")
            items, next_cursor = self.injections.for_bot(bot_id, limit, cursor)
        else:
            items, next_cursor = self.injections.for_owner(owner.user_id, limit, cursor)
        return [injection_view(item) for item in items], next_cursor

    def portfolio(self, owner: Principal) -> dict[str, Any]:
        bots, rows = self.bots.all_of_owner(owner.user_id), []
        marks: dict[tuple[str, str], Decimal] = {}
        totals: dict[str, dict[str, Decimal]] = {}
        for bot in bots:
            key = (bot.exchange, bot.symbol)
            if key not in marks:
                marks[key] = self.market_data.mark(*key)
            row = position_view(bot, marks[key])
            rows.append(row)
            total = totals.setdefault(bot.quote_currency, {k: Decimal(0) for k in (
                "cash", "equity", "realized_pnl", "unrealized_pnl", "total_pnl", "net_injections", "fees_paid")})
            for name in total:
                total[name] += Decimal(row[name])
        return {
            "bots": rows,
            # Different quote currencies don't add up: one total per currency.
            "totals": [{"currency": currency, **{k: money_str(v) for k, v in values.items()}}
                       for currency, values in sorted(totals.items())],
        }


def position_view(bot, mark: Decimal) -> dict[str, Any]:
    ledger = bot.ledger
    equity = ledger.equity(mark)
    return {
        "bot_id": bot.id, "name": bot.name, "exchange": bot.exchange, "symbol": bot.symbol,
        "status": bot.status, "currency": bot.quote_currency, "mark": money_str(mark),
        "cash": money_str(ledger.quote_total), "cash_free": money_str(ledger.quote_free),
        "cash_reserved": money_str(ledger.quote_reserved), "position": money_str(ledger.base_total),
        "equity": money_str(equity.quantize(Decimal("0.00000001"))),
        "realized_pnl": money_str(ledger.realized_pnl.quantize(Decimal("0.00000001"))),
        "unrealized_pnl": money_str(ledger.unrealized_pnl(mark).quantize(Decimal("0.00000001"))),
        "total_pnl": money_str((equity - ledger.contributed).quantize(Decimal("0.00000001"))),
        "net_injections": money_str(ledger.contributed - bot.initial_capital),
        "initial_capital": money_str(bot.initial_capital),
        "fees_paid": money_str(ledger.fees_paid.quantize(Decimal("0.00000001"))),
        "return_pct": money_str(((ledger.growth(mark) - 1) * 100).quantize(Decimal("0.0001"))),
        "drawdown_pct": money_str(ledger.drawdown_pct(mark).quantize(Decimal("0.0001"))),
    }


def _replayed(existing: dict[str, Any], request: str) -> dict[str, Any]:
    # Records from before the fingerprint existed carry none: they replay as before.
    if existing.get("request", request) != request:
        raise Conflict("this Idempotency-Key was already used for a different request",
                       code="idempotency_key_reused")
    return injection_view(existing)


def injection_view(item: dict[str, Any]) -> dict[str, Any]:
    return {key: money_str(item[key]) if isinstance(item.get(key), Decimal) else item.get(key)
            for key in ("id", "bot_id", "kind", "amount", "currency", "mark", "equity_after", "ts")}
