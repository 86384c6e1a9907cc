"""Paper execution: a market order walks the order book level by level and pays the exchange's taker fee.

The exchange's own rules are enforced exactly as the exchange would: an order below the minimum amount
or the minimum notional is rejected with the rule named.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from botfleet.domain.exchanges import Exchange, SymbolRules
from botfleet.domain.market import BookLevel, OrderBook
from botfleet.domain.money import ZERO, quantize_down

FEE_QUANTUM = Decimal("0.00000001")


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


def _walk(levels: tuple[BookLevel, ...], amount: Decimal) -> tuple[Decimal, Decimal]:
    """Take `amount` from the levels; returns (filled amount, quote cost)."""
    remaining, cost = amount, ZERO
    for level in levels:
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


def _check_rules(rules: SymbolRules, amount: Decimal, cost: Decimal) -> None:
    if amount < rules.min_amount:
        raise OrderRejected(
            "min_amount", f"amount {amount} {rules.base} is below the minimum {rules.min_amount} {rules.base}"
        )
    if cost < rules.min_notional:
        raise OrderRejected(
            "min_notional", f"order value {cost:.2f} {rules.quote} is below the minimum notional "
            f"{rules.min_notional} {rules.quote}",
        )


def _fill(side: str, amount: Decimal, cost: Decimal, book: OrderBook, exchange: Exchange, rules: SymbolRules):
    price = cost / amount
    mid = book.mid
    slippage = (price - mid) / mid * 10_000 if side == "buy" else (mid - price) / mid * 10_000
    fee = (cost * exchange.taker_fee).quantize(FEE_QUANTUM)
    return Fill(
        side=side,
        amount=amount,
        price=price.quantize(rules.price_tick / 10_000),
        cost=cost.quantize(FEE_QUANTUM),
        fee=fee,
        fee_currency=rules.quote,
        slippage_bps=slippage.quantize(Decimal("0.01")),
    )


def market_buy_with_quote(
    budget: Decimal, book: OrderBook, exchange: Exchange, rules: SymbolRules
) -> Fill:
    """Spend at most `budget` quote, fee included (all-in sizing)."""
    spendable = budget / (1 + exchange.taker_fee)
    amount = quantize_down(_affordable_amount(book.asks, spendable), rules.amount_step)
    filled, cost = _walk(book.asks, amount)
    _check_rules(rules, filled, cost)
    return _fill("buy", filled, cost, book, exchange, rules)


def market_sell(amount: Decimal, book: OrderBook, exchange: Exchange, rules: SymbolRules) -> Fill:
    amount = quantize_down(amount, rules.amount_step)
    filled, cost = _walk(book.bids, amount)
    _check_rules(rules, filled, cost)
    return _fill("sell", filled, cost, book, exchange, rules)
