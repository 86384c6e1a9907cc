"""Live mode: the same decision as paper, executed by the exchange with the owner's stored keys.

Order state is never lost between "sent" and "known": every order's client order id is derived from
(bot, tick, intent) and recorded on the bot before the outcome is known when the exchange doesn't answer.
The next tick reconciles it with `fetch_order(client_order_id)`: found → its fills are booked; never seen →
dropped (safe: the exchange has nothing under that id), and the strategy decides afresh. Exchange failures
become bot events; a rejected key pauses the bot (it needs its owner), other failures retry next tick.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

from botfleet.domain import paper
from botfleet.domain.bots import Bot
from botfleet.domain.exchanges import get_exchange
from botfleet.domain.money import quantize_down
from botfleet.domain.orders import (
    ExchangeAuthError,
    ExchangeError,
    ExchangeOrderRejected,
    ExchangeUnavailable,
    OrderRequest,
    OrderStatus,
)
from botfleet.domain.paper import Fill
from botfleet.domain.risk import RiskLimits
from botfleet.domain.strategies import get_strategy
from botfleet.domain.trading import Execution, StepResult

log = logging.getLogger(__name__)
FINISHED = ("closed", "canceled", "rejected")


class LiveTrader:
    def __init__(self, client_for: Callable[[Bot], Any]):
        """`client_for(bot)` returns an ExchangeClient holding the owner's keys (raises ExchangeAuthError when
        the owner has none stored)."""
        self.client_for = client_for

    def step(self, bot: Bot, closes: Sequence[float], tick_id: str) -> StepResult:
        run = _LiveTick(bot, tick_id)
        try:
            client = self.client_for(bot)
            run.reconcile(client)
            book = client.fetch_order_book(bot.symbol)
        except ExchangeAuthError as exc:
            return run.pause("exchange_auth", f"{exc.exchange} refused the API key: {exc.message}")
        except ExchangeError as exc:
            run.event(exc.kind, f"{exc.message}; retrying next tick")
            return run.finish()
        mark = book.mid
        limits = RiskLimits.parse(bot.risk)
        breach = limits.breach(run.ledger, mark)
        if breach:
            run.flatten(client, book)
            run.ledger = run.ledger.marked(mark, tick_id[:10])
            return run.pause(breach, f"circuit breaker {breach} on live trading; position closed", risk=True)
        if not run.orders:  # one order in flight at a time: wait for the pending one to be known
            target = get_strategy(bot.strategy).target_position(closes, bot.params)
            holding = run.ledger.base_total >= run.rules.min_amount
            if target == 1 and not holding:
                amount = paper.buy_amount_for_budget(run.ledger.quote_free, book, run.exchange, run.rules)
                run.send(client, "buy", amount, book)
            elif target == 0 and holding:
                run.send(client, "sell", quantize_down(run.ledger.base_free, run.rules.amount_step), book)
        if run.auth_failure:
            failure = run.auth_failure
            return run.pause("exchange_auth", f"{failure.exchange} refused the API key: {failure.message}")
        run.ledger = run.ledger.marked(mark, tick_id[:10])
        problems = run.ledger.violations(mark)
        if problems:
            return run.pause("sanity_check", "; ".join(problems))
        return run.finish()


class _LiveTick:
    def __init__(self, bot: Bot, tick_id: str):
        self.bot = bot
        self.tick_id = tick_id
        self.exchange = get_exchange(bot.exchange)
        self.rules = self.exchange.rules(bot.symbol)
        self.ledger = bot.ledger
        self.orders = [dict(order) for order in bot.orders]
        self.executions: list[Execution] = []
        self.events: list[dict[str, Any]] = []
        self.auth_failure: ExchangeAuthError | None = None

    def event(self, kind: str, message: str, **details: Any) -> None:
        self.events.append({"kind": kind, "message": message, **details})

    def reconcile(self, client) -> None:
        """Book what happened to every order we sent whose outcome we don't know yet."""
        still_open = []
        for order in self.orders:
            status = client.fetch_order(self.bot.symbol, order["client_order_id"])
            if status is None:
                self._release(order)
                self.event("order_not_received", f"the exchange never received {order['client_order_id']}; "
                           "the strategy decides again", client_order_id=order["client_order_id"])
                continue
            self._book(order, status)
            if status.status in FINISHED:
                self._release(order)
            else:
                still_open.append(order)
        self.orders = still_open

    def send(self, client, side: str, amount: Decimal, book) -> None:
        client_order_id = f"{self.bot.id}-{self.tick_id}-{side}"[-64:]
        try:
            paper.check_rules(self.rules, amount, book.mid)  # the exchange's own rules, before a request
        except paper.OrderRejected as rejected:
            self.event("order_rejected", str(rejected), rule=rejected.rule)
            return
        order = {"client_order_id": client_order_id, "side": side, "type": "market", "amount": amount,
                 "filled": Decimal(0), "reserved": Decimal(0), "placed_tick": self.tick_id, "live": True,
                 "price": book.mid, "expires_tick_count": 1}
        # Reserve what the order can spend until the exchange tells us what it did.
        if side == "buy":
            order["reserved"] = self.ledger.quote_free
            self.ledger = self.ledger.reserve(self.rules.quote, order["reserved"])
        else:
            order["reserved"] = amount
            self.ledger = self.ledger.reserve(self.rules.base, amount)
        try:
            status = client.create_order(OrderRequest(client_order_id, self.bot.symbol, side, "market", amount))
        except ExchangeUnavailable as exc:
            # The outcome is unknown: keep the order, the next tick reconciles it by its client order id.
            self.orders.append(order)
            self.event(exc.kind, f"{exc.message}; order {client_order_id} will be reconciled next tick",
                       client_order_id=client_order_id)
            return
        except ExchangeOrderRejected as exc:
            self._release(order)
            self.event("order_rejected", exc.message, rule=exc.rule, client_order_id=client_order_id)
            return
        except ExchangeError as exc:
            self._release(order)
            self.event(exc.kind, exc.message, client_order_id=client_order_id)
            if isinstance(exc, ExchangeAuthError):
                self.auth_failure = exc
            return
        self._book(order, status)
        if status.status in FINISHED:
            self._release(order)
        else:
            self.orders.append(order)

    def flatten(self, client, book) -> None:
        for order in self.orders:
            try:
                self._book(order, client.cancel_order(self.bot.symbol, order["client_order_id"]))
            except ExchangeError as exc:
                self.event(exc.kind, f"cancel {order['client_order_id']}: {exc.message}")
            self._release(order)
        self.orders = []
        amount = quantize_down(self.ledger.base_free, self.rules.amount_step)
        if amount >= self.rules.min_amount:
            self.send(client, "sell", amount, book)

    def _book(self, order: dict[str, Any], status: OrderStatus) -> None:
        """Apply the fills of `status` not booked yet (fetch may return fills we already have)."""
        new_amount = status.filled - Decimal(order["filled"])
        if new_amount <= 0:
            return
        fills = status.fills or ()
        cost = sum((f.price * f.amount for f in fills), Decimal(0)) if fills else new_amount * (
            status.average_price or Decimal(order["price"]))
        fee = sum((f.fee for f in fills), Decimal(0))
        fee_currency = fills[0].fee_currency if fills else self.rules.quote
        if fee_currency not in (self.rules.base, self.rules.quote):
            self.event("fee_outside_books", f"fee of {fee} {fee_currency} is not in {self.bot.symbol}'s currencies")
            fee, fee_currency = Decimal(0), self.rules.quote
        if new_amount != status.filled:  # a partial booked before: take the new part proportionally
            share = new_amount / status.filled
            cost, fee = cost * share, fee * share
        self._release(order)
        self.ledger, realized = self.ledger.fill(order["side"], new_amount, cost, fee, fee_currency)
        mid = Decimal(order["price"])
        price = cost / new_amount
        slippage = ((price - mid) if order["side"] == "buy" else (mid - price)) / mid * paper.BPS
        fill = Fill(order["side"], new_amount, price, cost, fee, fee_currency, slippage.quantize(Decimal("0.01")),
                    maker=bool(fills and all(f.maker for f in fills)))
        self.executions.append(Execution(fill, order["client_order_id"], order["type"], realized))
        order["filled"] = status.filled
        if status.status not in FINISHED:  # still working: reserve again what it may still spend
            self._reserve_rest(order)

    def _reserve_rest(self, order: dict[str, Any]) -> None:
        if order["side"] == "buy":
            order["reserved"] = self.ledger.quote_free
            self.ledger = self.ledger.reserve(self.rules.quote, order["reserved"])
        else:
            rest = min(Decimal(order["amount"]) - Decimal(order["filled"]), self.ledger.base_free)
            order["reserved"] = rest
            self.ledger = self.ledger.reserve(self.rules.base, rest)

    def _release(self, order: dict[str, Any]) -> None:
        currency = self.rules.quote if order["side"] == "buy" else self.rules.base
        self.ledger = self.ledger.release(currency, Decimal(order["reserved"]))
        order["reserved"] = Decimal(0)

    def pause(self, reason: str, message: str, *, risk: bool = False) -> StepResult:
        self.event("risk_pause" if risk else "live_pause", message, reason=reason)
        log.warning("live bot paused", extra={"bot_id": self.bot.id, "reason": reason, "detail": message})
        bot = replace(self.bot, status="paused", pause_reason=reason,
                      pause_count=self.bot.pause_count + (1 if risk else 0))
        return self.finish(bot, force=True)

    def finish(self, bot: Bot | None = None, *, force: bool = False) -> StepResult:
        updated = replace(bot or self.bot, ledger=self.ledger, orders=self.orders, last_tick=self.tick_id)
        changed = force or bool(self.executions or self.events) or self.ledger != self.bot.ledger or (
            self.orders != self.bot.orders)
        return StepResult(updated, self.executions, self.events, changed)
