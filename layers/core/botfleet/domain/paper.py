"""Paper execution, as realistic as live:

- market orders walk the order book level by level (size-dependent price) and pay the taker fee;
- limit orders that cross the book on arrival take liquidity up to their limit price (taker), the rest rests;
- resting limit orders fill at their limit price (maker fee) when the market crosses them, partially when
  less volume is available than the order's remainder;
- every fill records `slippage_bps` against mid (positive = worse than mid);
- the exchange's rules (min amount, min notional, precision) reject exactly what the exchange would.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from botfleet.domain.exchanges import FEE_QUANTUM, Exchange, SymbolRules
from botfleet.domain.market import BookLevel, OrderBook
from botfleet.domain.money import ZERO, quantize_down

BPS = Decimal(10_000)


class OrderRejected(Exception):
    """The exchange would refuse this order; `rule` names the rule (min_amount, min_notional, ...)."""

    def __init__(self, rule: str, message: str):
        super().__init__(message)
        self.rule = rule


@dataclass(frozen=True, slots=True)
class Fill:
    side: str  # "buy" | "sell"
    amount: Decimal  # base
    price: Decimal  # volume-weighted average
    cost: Decimal  # quote, before fee
    fee: Decimal
    fee_currency: str
    slippage_bps: Decimal  # against mid, positive = worse than mid
    maker: bool = False


def _walk(levels: tuple[BookLevel, ...], amount: Decimal, limit: Decimal | None, side: str):
    """Take up to `amount` from the levels, not past `limit`; returns (filled amount, quote cost)."""
    remaining, cost = amount, ZERO
    for level in levels:
        if limit is not None and (level.price > limit if side == "buy" else level.price < limit):
            break
        take = min(remaining, level.amount)
        cost += take * level.price
        remaining -= take
        if remaining <= 0:
            break
    return amount - remaining, cost


def _affordable_amount(asks: tuple[BookLevel, ...], budget: Decimal) -> Decimal:
    """How much base a quote budget buys walking the asks (before quantization)."""
    amount, remaining = ZERO, budget
    for level in asks:
        level_cost = level.amount * level.price
        if level_cost >= remaining:
            return amount + remaining / level.price
        amount += level.amount
        remaining -= level_cost
    return amount


def check_rules(rules: SymbolRules, amount: Decimal, price: Decimal) -> None:
    if amount != quantize_down(amount, rules.amount_step):
        raise OrderRejected("amount_precision", f"amount {amount} is not a multiple of {rules.amount_step}")
    if amount < rules.min_amount:
        raise OrderRejected(
            "min_amount", f"amount {amount} {rules.base} is below the minimum {rules.min_amount} {rules.base}"
        )
    if amount * price < rules.min_notional:
        raise OrderRejected(
            "min_notional", f"order value {amount * price:.2f} {rules.quote} is below the minimum notional "
            f"{rules.min_notional} {rules.quote}",
        )


def check_price(rules: SymbolRules, price: Decimal) -> None:
    if price <= 0 or price % rules.price_tick != 0:
        raise OrderRejected("price_precision", f"price {price} is not a positive multiple of {rules.price_tick}")


def make_fill(side: str, amount: Decimal, cost: Decimal, book: OrderBook, exchange: Exchange,
              rules: SymbolRules, *, maker: bool) -> Fill:
    price = cost / amount
    mid = book.mid
    slippage = (price - mid) / mid * BPS if side == "buy" else (mid - price) / mid * BPS
    fee, fee_currency = exchange.fee(side, amount, price, rules, maker=maker)
    return Fill(side=side, amount=amount, price=price.quantize(rules.price_tick / 10_000),
                cost=cost.quantize(FEE_QUANTUM), fee=fee, fee_currency=fee_currency,
                slippage_bps=slippage.quantize(Decimal("0.01")), maker=maker)


def buy_amount_for_budget(budget: Decimal, book: OrderBook, exchange: Exchange, rules: SymbolRules,
                          limit: Decimal | None = None) -> Decimal:
    """The largest amount a quote budget pays for, fee included, walking the book (or at the limit price)."""
    fee_factor = 1 + (exchange.taker_fee if exchange.fee_currency_rule == "quote" else 0)
    spendable = budget / fee_factor
    raw = spendable / limit if limit is not None else _affordable_amount(book.asks, spendable)
    return quantize_down(raw, rules.amount_step)


def market_order(side: str, amount: Decimal, book: OrderBook, exchange: Exchange, rules: SymbolRules) -> Fill:
    """Walk the whole book for `amount`; an order bigger than the visible book fills what the book holds."""
    check_rules(rules, amount, book.mid)
    filled, cost = _walk(book.asks if side == "buy" else book.bids, amount, None, side)
    filled = quantize_down(filled, rules.amount_step)
    if filled <= 0:
        raise OrderRejected("no_liquidity", "the order book is empty on that side")
    if filled != amount:
        filled, cost = _walk(book.asks if side == "buy" else book.bids, filled, None, side)
    return make_fill(side, filled, cost, book, exchange, rules, maker=False)


def take_up_to_limit(side: str, amount: Decimal, limit: Decimal, book: OrderBook, exchange: Exchange,
                     rules: SymbolRules) -> Fill | None:
    """A marketable limit order takes liquidity up to its limit price on arrival (taker)."""
    filled, cost = _walk(book.asks if side == "buy" else book.bids, amount, limit, side)
    filled = quantize_down(filled, rules.amount_step)
    if filled <= 0:
        return None
    _, cost = _walk(book.asks if side == "buy" else book.bids, filled, limit, side)
    return make_fill(side, filled, cost, book, exchange, rules, maker=False)


def match_resting(side: str, remaining: Decimal, limit: Decimal, book: OrderBook, exchange: Exchange,
                  rules: SymbolRules) -> Fill | None:
    """A resting limit order fills at its own price (maker) against the volume that crossed it this tick:
    for a buy, the asks at or below the limit; partially when that volume is smaller than the remainder."""
    levels = book.asks if side == "buy" else book.bids
    crossed = sum((lvl.amount for lvl in levels if (lvl.price <= limit if side == "buy" else lvl.price >= limit)),
                  ZERO)
    filled = quantize_down(min(remaining, crossed), rules.amount_step)
    if filled <= 0:
        return None
    return make_fill(side, filled, filled * limit, book, exchange, rules, maker=True)


def within_book(fill: Fill, book: OrderBook) -> bool:
    """A fill's price must lie within the book it traded against (a sanity check of the fill model or feed)."""
    low = min(book.bids[-1].price, book.asks[0].price)
    high = max(book.asks[-1].price, book.bids[0].price)
    return low <= fill.price <= high
