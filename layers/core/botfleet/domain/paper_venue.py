"""The paper venue: orders fill against the tick's (simulated or real) order book, purely.

Market orders walk the book; limit orders take what crosses on arrival and rest for the rest, holding a
reservation until they fill, expire or are cancelled. Order ids derive from (bot, tick, sequence, intent), so a
retried tick re-creates the same ids and nothing doubles.
"""

from __future__ import annotations

from decimal import Decimal

from botfleet.domain import paper
from botfleet.domain.ledger import Ledger
from botfleet.domain.market import OrderBook
from botfleet.domain.money import quantize_down, quantize_price
from botfleet.domain.orders import RestingOrder
from botfleet.domain.paper import OrderRejected
from botfleet.domain.venue import Halt, Tick


class PaperVenue:
    judges_feed = True
    rebases_breakers = True
    stops_out_before_trading = False  # a breach is acted on after marking, once the books are known to be sane
    one_order_in_flight = False  # resting limits on the wanted side simply keep working
    cancels_on_pause = True  # resting orders must not fill while a person looks at the bot
    pause_event = "sanity_pause"
    halt: Halt | None = None  # paper always can go on

    def __init__(self, book: OrderBook, mark: Decimal):
        self.book = book
        self.mark = mark
        self.sequence = 0

    def order_id(self, tick: Tick, intent: str) -> str:
        # Derived from (bot, tick, intent): a retried tick re-creates the same ids, so nothing doubles.
        self.sequence += 1
        return f"{tick.bot.id}-{tick.tick_id}-{self.sequence}-{intent}"

    def open(self, tick: Tick) -> Decimal:
        return self.mark

    # --- resting orders -------------------------------------------------------------------------------
    def work_orders(self, tick: Tick) -> None:
        """Resting limits fill at their price (maker) against what crossed them; the filled and the expired go."""
        rules = tick.rules
        still_open = []
        for order in tick.orders:
            side, price = order.side, order.price
            remaining = order.remaining
            fill = paper.match_resting(side, remaining, price, self.book, tick.exchange, rules)
            if fill:
                tick.record(fill, order.client_order_id, "limit", reserved=True)
                order.filled += fill.amount
                remaining -= fill.amount
                if side == "buy":  # the reservation covered price x amount (+ quote fee) of what filled
                    spent = fill.cost + (fill.fee if fill.fee_currency == rules.quote else 0)
                    order.reserved = max(order.reserved - spent, Decimal(0))
                else:
                    order.reserved = max(order.reserved - fill.amount, Decimal(0))
            expired = order.expires_tick_count <= 1
            if remaining < rules.min_amount or expired:
                tick.release(order)
                if expired and remaining >= rules.min_amount:
                    tick.event("order_expired", f"limit {side} {remaining} @ {price} expired unfilled",
                               client_order_id=order.client_order_id)
                continue
            order.expires_tick_count -= 1
            still_open.append(order)
        tick.orders = still_open

    def cancel_all(self, tick: Tick, reason: str) -> None:
        for order in tick.orders:
            tick.release(order)
            tick.event("order_canceled", f"{order.side} limit canceled: {reason}",
                       client_order_id=order.client_order_id)
        tick.orders = []

    # --- new orders -----------------------------------------------------------------------------------
    def trade(self, tick: Tick, side: str) -> None:
        try:
            if tick.bot.order_type == "limit":
                self._place_limit(tick, side)
            else:
                amount = (paper.buy_amount_for_budget(tick.ledger.quote_free, self.book, tick.exchange, tick.rules)
                          if side == "buy" else quantize_down(tick.ledger.base_free, tick.rules.amount_step))
                fill = paper.market_order(side, amount, self.book, tick.exchange, tick.rules)
                tick.record(fill, self.order_id(tick, side), "market")
        except OrderRejected as rejected:
            tick.event("order_rejected", str(rejected), rule=rejected.rule)

    def _place_limit(self, tick: Tick, side: str) -> None:
        exchange, rules = tick.exchange, tick.rules
        offset = tick.bot.limit_offset_bps / paper.BPS
        mid = self.book.mid
        price = quantize_price(mid * (1 - offset) if side == "buy" else mid * (1 + offset), rules.price_tick)
        paper.check_price(rules, price)
        if side == "buy":
            amount = paper.buy_amount_for_budget(tick.ledger.quote_free, self.book, exchange, rules, price)
        else:
            amount = quantize_down(tick.ledger.base_free, rules.amount_step)
        paper.check_rules(rules, amount, price)
        client_order_id = self.order_id(tick, f"limit-{side}")
        taken = paper.take_up_to_limit(side, amount, price, self.book, exchange, rules)
        if taken:
            tick.record(taken, client_order_id, "limit")
        remaining = amount - (taken.amount if taken else 0)
        if remaining < rules.min_amount:
            return
        if side == "buy":
            fee_factor = 1 + (exchange.maker_fee if exchange.fee_currency_rule == "quote" else 0)
            reserve = min(remaining * price * fee_factor, tick.ledger.quote_free)
            tick.ledger = tick.ledger.reserve(rules.quote, reserve)
        else:
            reserve = remaining
            tick.ledger = tick.ledger.reserve(rules.base, reserve)
        tick.orders.append(RestingOrder(client_order_id=client_order_id, side=side, price=price, amount=remaining,
                                        filled=Decimal(0), reserved=reserve, placed_tick=tick.tick_id,
                                        expires_tick_count=tick.bot.limit_ttl_ticks))

    def stop_out(self, tick: Tick, amount: Decimal) -> None:
        try:
            fill = paper.market_order("sell", amount, self.book, tick.exchange, tick.rules)
            tick.record(fill, self.order_id(tick, "stop-out"), "market")
        except OrderRejected as rejected:
            tick.event("order_rejected", f"stop-out: {rejected}", rule=rejected.rule)

    # --- checks ---------------------------------------------------------------------------------------
    def problems(self, tick: Tick) -> list[str]:
        """A taker fill priced outside the book it traded against means the fill model or the feed is wrong."""
        outside = [e for e in tick.executions if not e.fill.maker and not paper.within_book(e.fill, self.book)]
        return [f"fill at {outside[0].fill.price} outside the book"] if outside else []

    def breaker_message(self, breach: str, ledger: Ledger, mark: Decimal) -> str:
        return (f"circuit breaker {breach}: drawdown {ledger.drawdown_pct(mark):.2f} %, "
                f"daily loss {ledger.daily_loss_pct(mark):.2f} %, {ledger.consecutive_losses} losing sells in a row")

