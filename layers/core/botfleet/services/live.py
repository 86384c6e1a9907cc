"""Live mode: the same decision as paper (domain.trading.run_tick), executed by the exchange with the owner's
stored keys through the live venue.

Order state is never lost between "sent" and "known": every order's client order id is derived from
(bot, tick, side), and the order is written on the bot *before* it is sent (the journal: a version-checked write,
funds reserved). Whatever happens next (the exchange times out, the function dies, the tick's own write loses to
the owner's edit), the bot carries the order, and the next tick reconciles it with
`fetch_order(client_order_id)`: found → its fills are booked; never seen → dropped (safe: the exchange has nothing
under that id), and the strategy decides afresh. Once an order has been sent, any failure but a rejection or a
refused key is an unknown outcome, kept for reconciliation. Exchange failures become bot events; a rejected key
pauses the bot (it needs its owner), other failures retry next tick.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import replace
from decimal import Decimal
from typing import Any

from botfleet.clock import Clock, iso
from botfleet.domain import paper
from botfleet.domain.bots import Bot
from botfleet.domain.ledger import Ledger
from botfleet.domain.money import quantize_down
from botfleet.domain.orders import (
    ExchangeAuthError,
    ExchangeError,
    ExchangeOrderRejected,
    OrderRequest,
    OrderStatus,
    RestingOrder,
    live_client_order_id,
)
from botfleet.domain.paper import Fill
from botfleet.domain.trading import run_tick
from botfleet.domain.venue import Execution, Halt, StepResult, Tick

log = logging.getLogger(__name__)
FINISHED = ("closed", "canceled", "rejected")


# journal(bot as read, the bot with its order added, tick, the tick's executions and events so far) → the version
# the bot now has, or None when it changed since it was read (nothing is then sent): the write-ahead of an order.
Journal = Callable[[Bot, Bot, str, list[Execution], list[dict[str, Any]]], int | None]


def journal_to(bots: Any, clock: Clock) -> Journal:
    """The journal on the bots' table (BotRepository.record_tick): the bot with its new order, and what the tick
    booked before it (a reconciled order's fills, their events), in one version-checked write. The books and the
    trade history stay one: a journalled bot never carries a fill whose trade is not written."""
    from botfleet.services.trading import trade_record  # the engine's own trade record (no import cycle at load)

    def journal(before: Bot, intent: Bot, tick_id: str, executions: list[Execution],
                events: list[dict[str, Any]]) -> int | None:
        ts = iso(clock.now())
        booked = StepResult(replace(intent, last_tick=tick_id), list(executions))
        trades = [trade_record(booked, execution, ts) for execution in executions]
        written = bots.record_tick(before, intent, trades, [dict(event, ts=ts) for event in events], tick_id)
        return intent.version + 1 if written else None

    return journal


class LiveTrader:
    def __init__(self, client_for: Callable[[Bot], Any], journal: Journal | None = None):
        """`client_for(bot)` returns an ExchangeClient holding the owner's keys (raises ExchangeAuthError when
        the owner has none stored). Without a `journal` (unit tests of the flow alone) orders are sent unjournalled."""
        self.client_for = client_for
        self.journal = journal

    def step(self, bot: Bot, closes: Sequence[float], tick_id: str) -> StepResult:
        result = run_tick(bot, closes, tick_id, LiveVenue(self.client_for, self.journal))
        for event in result.events:
            if event["kind"] in ("risk_pause", LiveVenue.pause_event):
                log.warning("live bot paused", extra={"bot_id": bot.id, "reason": event["reason"],
                                                      "detail": event["message"]})
        return result


def _refused_key(exc: ExchangeAuthError) -> Halt:
    return Halt("exchange_auth", f"{exc.exchange} refused the API key: {exc.message}")


class LiveVenue:
    """The exchange behind the owner's keys: one market order in flight at a time, under a client order id."""

    # How live's flow differs from paper's (see domain.venue.Venue): kept as it was before the two were one tick.
    judges_feed = False  # the exchange's own book is traded; the feed's closes are not judged
    # A bot with no last mark (new, resumed, redeployed) starts its breakers at this mark, as on paper: without it a
    # live bot resumed after a trip measured its drawdown from the old peak and tripped again at once.
    rebases_breakers = True
    stops_out_before_trading = True  # a breach leaves the market before the strategy is asked
    one_order_in_flight = True  # wait until the pending order is known before deciding again
    cancels_on_pause = False  # an order in flight stays recorded, to be reconciled when the bot is resumed
    pause_event = "live_pause"

    def __init__(self, client_for: Callable[[Bot], Any], journal: Journal | None = None):
        self.client_for = client_for
        self.journal = journal
        self.client: Any = None
        self.book = None
        self.halt: Halt | None = None

    def open(self, tick: Tick) -> Decimal | None:
        """Reconcile what is in flight, then read the book: the mark is its mid."""
        try:
            self.client = self.client_for(tick.bot)
            self._reconcile(tick)
            self.book = self.client.fetch_order_book(tick.bot.symbol)
        except ExchangeAuthError as exc:
            self.halt = _refused_key(exc)
            return None
        except ExchangeError as exc:
            tick.event(exc.kind, f"{exc.message}; retrying next tick")
            self.halt = Halt()
            return None
        return self.book.mid

    def work_orders(self, tick: Tick) -> None:
        """Nothing more: what was in flight was reconciled before the book was read (`open`)."""

    def _reconcile(self, tick: Tick) -> None:
        """Book what happened to every order we sent whose outcome we don't know yet."""
        still_open = []
        for order in tick.orders:
            status = self.client.fetch_order(tick.bot.symbol, order.client_order_id)
            if status is None:
                tick.release(order)
                tick.event("order_not_received", f"the exchange never received {order.client_order_id}; "
                           "the strategy decides again", client_order_id=order.client_order_id)
                continue
            self._book(tick, order, status)
            if status.status in FINISHED:
                tick.release(order)
            else:
                still_open.append(order)
        tick.orders = still_open

    def trade(self, tick: Tick, side: str) -> None:
        if side == "buy":
            # Sized in quote: the exchange spends at most the free cash less its fee, whatever the book does
            # between our read and its match (sized in base from our read, a tick up made it cost more than the
            # bot had: negative free cash, and a sanity pause). `amount` is what the book we read says it buys.
            amount = paper.buy_amount_for_budget(tick.ledger.quote_free, self.book, tick.exchange, tick.rules)
            self._send(tick, side, amount, quote_amount=tick.ledger.quote_free / (1 + tick.exchange.taker_fee))
        else:
            self._send(tick, side, quantize_down(tick.ledger.base_free, tick.rules.amount_step))

    def stop_out(self, tick: Tick, amount: Decimal) -> None:
        self._send(tick, "sell", amount)

    def cancel_all(self, tick: Tick, reason: str) -> None:
        kept = []
        for order in tick.orders:
            try:
                self._book(tick, order, self.client.cancel_order(tick.bot.symbol, order.client_order_id))
            except ExchangeError as exc:
                # The order may have filled meanwhile (a cancel of a filled order is "unknown order"): kept, so the
                # next tick (or the resume) fetches it and books what it did, instead of forgetting a fill.
                tick.event(exc.kind, f"cancel {order.client_order_id}: {exc.message}; it will be reconciled",
                           client_order_id=order.client_order_id)
                kept.append(order)
                continue
            tick.release(order)
        tick.orders = kept

    def problems(self, tick: Tick) -> list[str]:
        return []  # the exchange's fills are its own: only the books' reconciliation judges them

    def breaker_message(self, breach: str, ledger: Ledger, mark: Decimal) -> str:
        return f"circuit breaker {breach} on live trading; position closed"

    # --- one order ------------------------------------------------------------------------------------
    def _send(self, tick: Tick, side: str, amount: Decimal, quote_amount: Decimal | None = None) -> None:
        rules, book = tick.rules, self.book
        client_order_id = live_client_order_id(tick.bot.id, tick.tick_id, side)
        try:
            paper.check_rules(rules, amount, book.mid)  # the exchange's own rules, before a request
        except paper.OrderRejected as rejected:
            tick.event("order_rejected", str(rejected), rule=rejected.rule)
            return
        order = RestingOrder(client_order_id=client_order_id, side=side, price=book.mid, amount=amount,
                             filled=Decimal(0), reserved=Decimal(0), placed_tick=tick.tick_id, expires_tick_count=1,
                             type="market", live=True)
        # Reserve what the order can spend until the exchange tells us what it did.
        if side == "buy":
            order.reserved = tick.ledger.quote_free
            tick.ledger = tick.ledger.reserve(rules.quote, order.reserved)
        else:
            order.reserved = amount
            tick.ledger = tick.ledger.reserve(rules.base, amount)
        if self.journal is not None:
            # Written before it is sent: from here on the bot carries the order, whatever becomes of this tick.
            intent = replace(tick.bot, ledger=tick.ledger, orders=(*tick.orders, order))
            version = self.journal(tick.bot, intent, tick.tick_id, tick.executions, tick.events)
            if version is None:  # the owner (or another run) changed the bot meanwhile: send nothing
                tick.release(order)
                tick.event("bot_changed", "the bot changed while the tick ran; no order was sent, the next tick "
                           "decides again")
                self.halt = Halt()
                return
            tick.bot = replace(tick.bot, version=version)  # the tick's own write is checked against this one
            tick.executions.clear()  # written with the journal: the tick's own write carries only what follows
            tick.events.clear()
        try:
            status = self.client.create_order(OrderRequest(client_order_id, tick.bot.symbol, side, "market", amount,
                                                           quote_amount=quote_amount))
        except ExchangeOrderRejected as exc:
            tick.release(order)
            tick.event("order_rejected", exc.message, rule=exc.rule, client_order_id=client_order_id)
            return
        except ExchangeAuthError as exc:  # refused before anything was placed
            tick.release(order)
            tick.event(exc.kind, exc.message, client_order_id=client_order_id)
            self.halt = _refused_key(exc)
            return
        except ExchangeError as exc:
            # Unavailable, rate limited, a read-back after the create that failed: the exchange may have the order.
            # Kept, the next tick reconciles it by its client order id (never seen: dropped).
            tick.orders.append(order)
            tick.event(exc.kind, f"{exc.message}; order {client_order_id} will be reconciled next tick",
                       client_order_id=client_order_id)
            return
        self._book(tick, order, status)
        if status.status in FINISHED:
            tick.release(order)
        else:
            tick.orders.append(order)

    def _book(self, tick: Tick, order: RestingOrder, status: OrderStatus) -> None:
        """Apply the fills of `status` not booked yet (fetch may return fills we already have)."""
        rules = tick.rules
        new_amount = status.filled - order.filled
        if new_amount <= 0:
            return
        fills = status.fills or ()
        cost = sum((f.price * f.amount for f in fills), Decimal(0)) if fills else new_amount * (
            status.average_price or order.price)
        fee = sum((f.fee for f in fills), Decimal(0))
        fee_currency = fills[0].fee_currency if fills else rules.quote
        if fee_currency not in (rules.base, rules.quote):
            tick.event("fee_outside_books", f"fee of {fee} {fee_currency} is not in {tick.bot.symbol}'s currencies")
            fee, fee_currency = Decimal(0), rules.quote
        if new_amount != status.filled:  # a partial booked before: take the new part proportionally
            share = new_amount / status.filled
            cost, fee = cost * share, fee * share
        tick.release(order)
        mid = order.price
        price = cost / new_amount
        slippage = ((price - mid) if order.side == "buy" else (mid - price)) / mid * paper.BPS
        fill = Fill(order.side, new_amount, price, cost, fee, fee_currency, slippage.quantize(Decimal("0.01")),
                    maker=bool(fills and all(f.maker for f in fills)))
        tick.record(fill, order.client_order_id, order.type)
        order.filled = status.filled
        if status.status not in FINISHED:  # still working: reserve again what it may still spend
            self._reserve_rest(tick, order)

    @staticmethod
    def _reserve_rest(tick: Tick, order: RestingOrder) -> None:
        rules = tick.rules
        if order.side == "buy":
            order.reserved = tick.ledger.quote_free
            tick.ledger = tick.ledger.reserve(rules.quote, order.reserved)
        else:
            rest = min(order.remaining, tick.ledger.base_free)
            order.reserved = rest
            tick.ledger = tick.ledger.reserve(rules.base, rest)
