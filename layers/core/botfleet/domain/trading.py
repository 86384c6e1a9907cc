"""One bot on one tick, as a pure function: resting orders meet the market, the books are marked and
reconciled, circuit breakers are checked, then the strategy trades toward its target position.

`step()` returns what happened (fills, events, the bot's new state); the caller persists it atomically.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from botfleet.domain import paper
from botfleet.domain.bots import Bot
from botfleet.domain.exchanges import Exchange, SymbolRules, get_exchange
from botfleet.domain.ledger import Ledger
from botfleet.domain.market import OrderBook
from botfleet.domain.money import quantize_down, quantize_price
from botfleet.domain.paper import Fill, OrderRejected
from botfleet.domain.risk import RiskLimits
from botfleet.domain.strategies import get_strategy

# A feed whose consecutive observations move more than this is treated as broken, not as a market: no real spot
# market halves or doubles in a minute without a halt. (A -25 % crash is a market; the breakers handle it.)
MAX_MARK_JUMP = 0.5


def feed_jump(closes: Sequence[float]) -> str | None:
    """Judge the feed by its own consecutive observations (its last two closes), never by what a bot last saw:
    a bot paused for a week while its market moved 69 % must trade again when resumed, while a feed that jumps
    69 % between two observations is broken. (A book that disagrees with the feed shows as a fill outside the
    book, the other sanity check.)"""
    if len(closes) < 2 or closes[-2] <= 0:
        return None
    before, after = closes[-2], closes[-1]
    if abs(after / before - 1) > MAX_MARK_JUMP:
        return (f"the feed moved {after / before - 1:.0%} between two consecutive observations "
                f"({before:g} → {after:g}): treating the feed as broken")
    return None


@dataclass(frozen=True, slots=True)
class Execution:
    """A fill as the tick records it: which order, with the P&L it realized."""

    fill: Fill
    client_order_id: str
    order_type: str
    realized_pnl: Decimal


@dataclass(slots=True)
class StepResult:
    bot: Bot
    executions: list[Execution] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)  # {"kind", "message", ...}
    changed: bool = False


class _Tick:
    """The mutable scratchpad of one step; `step()` is the only user."""

    def __init__(self, bot: Bot, book: OrderBook, tick_id: str):
        self.bot = bot
        self.book = book
        self.tick_id = tick_id
        self.exchange: Exchange = get_exchange(bot.exchange)
        self.rules: SymbolRules = self.exchange.rules(bot.symbol)
        self.ledger: Ledger = bot.ledger
        self.orders = [dict(order) for order in bot.orders]
        self.executions: list[Execution] = []
        self.events: list[dict[str, Any]] = []
        self.sequence = 0

    def order_id(self, intent: str) -> str:
        # Derived from (bot, tick, intent): a retried tick re-creates the same ids, so nothing doubles.
        self.sequence += 1
        return f"{self.bot.id}-{self.tick_id}-{self.sequence}-{intent}"

    def record(self, fill: Fill, client_order_id: str, order_type: str, *, reserved: bool) -> None:
        self.ledger, realized = self.ledger.fill(fill.side, fill.amount, fill.cost, fill.fee, fill.fee_currency,
                                                 reserved=reserved)
        self.executions.append(Execution(fill, client_order_id, order_type, realized))

    def event(self, kind: str, message: str, **details: Any) -> None:
        self.events.append({"kind": kind, "message": message, **details})

    # --- resting orders -------------------------------------------------------------------------------
    def work_resting_orders(self) -> None:
        still_open = []
        for order in self.orders:
            side, price = order["side"], Decimal(order["price"])
            remaining = Decimal(order["amount"]) - Decimal(order["filled"])
            fill = paper.match_resting(side, remaining, price, self.book, self.exchange, self.rules)
            if fill:
                self.record(fill, order["client_order_id"], "limit", reserved=True)
                order["filled"] = Decimal(order["filled"]) + fill.amount
                remaining -= fill.amount
                if side == "buy":  # the reservation covered price x amount (+ quote fee) of what filled
                    spent = fill.cost + (fill.fee if fill.fee_currency == self.rules.quote else 0)
                    order["reserved"] = max(Decimal(order["reserved"]) - spent, Decimal(0))
                else:
                    order["reserved"] = max(Decimal(order["reserved"]) - fill.amount, Decimal(0))
            expired = order["expires_tick_count"] <= 1
            if remaining < self.rules.min_amount or expired:
                self.release(order)
                if expired and remaining >= self.rules.min_amount:
                    self.event("order_expired", f"limit {side} {remaining} @ {price} expired unfilled",
                               client_order_id=order["client_order_id"])
                continue
            order["expires_tick_count"] -= 1
            still_open.append(order)
        self.orders = still_open

    def release(self, order: dict[str, Any]) -> None:
        currency = self.rules.quote if order["side"] == "buy" else self.rules.base
        self.ledger = self.ledger.release(currency, Decimal(order["reserved"]))

    def cancel_all(self, reason: str) -> None:
        for order in self.orders:
            self.release(order)
            self.event("order_canceled", f"{order['side']} limit canceled: {reason}",
                       client_order_id=order["client_order_id"])
        self.orders = []

    # --- new orders -----------------------------------------------------------------------------------
    def trade(self, side: str) -> None:
        try:
            if self.bot.order_type == "limit":
                self.place_limit(side)
            else:
                amount = (paper.buy_amount_for_budget(self.ledger.quote_free, self.book, self.exchange, self.rules)
                          if side == "buy" else quantize_down(self.ledger.base_free, self.rules.amount_step))
                fill = paper.market_order(side, amount, self.book, self.exchange, self.rules)
                self.record(fill, self.order_id(side), "market", reserved=False)
        except OrderRejected as rejected:
            self.event("order_rejected", str(rejected), rule=rejected.rule)

    def place_limit(self, side: str) -> None:
        offset = self.bot.limit_offset_bps / paper.BPS
        mid = self.book.mid
        price = quantize_price(mid * (1 - offset) if side == "buy" else mid * (1 + offset), self.rules.price_tick)
        paper.check_price(self.rules, price)
        if side == "buy":
            amount = paper.buy_amount_for_budget(self.ledger.quote_free, self.book, self.exchange, self.rules, price)
        else:
            amount = quantize_down(self.ledger.base_free, self.rules.amount_step)
        paper.check_rules(self.rules, amount, price)
        client_order_id = self.order_id(f"limit-{side}")
        taken = paper.take_up_to_limit(side, amount, price, self.book, self.exchange, self.rules)
        if taken:
            self.record(taken, client_order_id, "limit", reserved=False)
        remaining = amount - (taken.amount if taken else 0)
        if remaining < self.rules.min_amount:
            return
        if side == "buy":
            fee_factor = 1 + (self.exchange.maker_fee if self.exchange.fee_currency_rule == "quote" else 0)
            reserve = min(remaining * price * fee_factor, self.ledger.quote_free)
            self.ledger = self.ledger.reserve(self.rules.quote, reserve)
        else:
            reserve = remaining
            self.ledger = self.ledger.reserve(self.rules.base, reserve)
        self.orders.append({"client_order_id": client_order_id, "side": side, "price": price, "amount": remaining,
                            "filled": Decimal(0), "reserved": reserve, "placed_tick": self.tick_id,
                            "expires_tick_count": self.bot.limit_ttl_ticks})

    def flatten(self) -> None:
        """Leave the market: cancel resting orders and sell the position at market (if the exchange allows)."""
        self.cancel_all("risk pause")
        amount = quantize_down(self.ledger.base_free, self.rules.amount_step)
        if amount >= self.rules.min_amount:
            try:
                fill = paper.market_order("sell", amount, self.book, self.exchange, self.rules)
                self.record(fill, self.order_id("stop-out"), "market", reserved=False)
            except OrderRejected as rejected:
                self.event("order_rejected", f"stop-out: {rejected}", rule=rejected.rule)


def step(bot: Bot, closes: Sequence[float], book: OrderBook, mark: Decimal, tick_id: str) -> StepResult:
    """Run `bot` for one tick against the market (closes up to now, the book, the mark price)."""
    tick = _Tick(bot, book, tick_id)
    jump = feed_jump(closes)
    if jump:  # before any order meets a book that cannot be trusted
        return _pause(tick, "sanity_check", jump, risk=False)
    if not tick.ledger.last_mark:  # a new, resumed or redeployed bot: the breakers start from this mark
        tick.ledger = tick.ledger.rebased(mark)
    tick.work_resting_orders()

    limits = RiskLimits.parse(bot.risk)
    breach = limits.breach(tick.ledger, mark)
    if breach is None:
        target = get_strategy(bot.strategy).target_position(closes, bot.params)
        holding = tick.ledger.base_total >= tick.rules.min_amount
        resting_sides = {order["side"] for order in tick.orders}
        wanted = "buy" if target == 1 else "sell"
        if resting_sides - {wanted}:
            tick.cancel_all("the strategy changed its mind")
        if target == 1 and not holding and "buy" not in resting_sides:
            tick.trade("buy")
        elif target == 0 and holding and "sell" not in resting_sides:
            tick.trade("sell")

    tick.ledger = tick.ledger.marked(mark, tick_id[:10])
    breach = breach or limits.breach(tick.ledger, mark)

    problems = tick.ledger.violations(mark)
    outside = [e for e in tick.executions if not e.fill.maker and not paper.within_book(e.fill, book)]
    if outside:
        problems.append(f"fill at {outside[0].fill.price} outside the book")
    if problems:
        return _pause(tick, "sanity_check", "; ".join(problems), risk=False)
    if breach:
        tick.flatten()
        tick.ledger = tick.ledger.marked(mark, tick_id[:10])
        return _pause(tick, breach, f"circuit breaker {breach}: drawdown {tick.ledger.drawdown_pct(mark):.2f} %, "
                      f"daily loss {tick.ledger.daily_loss_pct(mark):.2f} %, "
                      f"{tick.ledger.consecutive_losses} losing trades in a row", risk=True)
    return _finish(tick, bot)


def _pause(tick: _Tick, reason: str, message: str, *, risk: bool) -> StepResult:
    """A risk pause counts toward the quarantine ladder; a sanity pause needs a human and does not."""
    if not risk:  # (a risk pause has already flattened, which cancels its orders)
        tick.cancel_all(reason)
    tick.event("risk_pause" if risk else "sanity_pause", message, reason=reason)
    bot = replace(tick.bot, status="paused", pause_reason=reason,
                  pause_count=tick.bot.pause_count + (1 if risk else 0))
    return _finish(tick, bot, force=True)


def _finish(tick: _Tick, bot: Bot, *, force: bool = False) -> StepResult:
    updated = replace(bot, ledger=tick.ledger, orders=tick.orders, last_tick=tick.tick_id)
    changed = force or bool(tick.executions or tick.events) or tick.ledger != tick.bot.ledger or (
        tick.orders != tick.bot.orders)
    return StepResult(updated, tick.executions, tick.events, changed)
