"""Turning a domain OrderRequest into exactly what an exchange accepts, with the same rules paper trading uses
(botfleet.domain.exchanges), plus the Decimal conversions every client needs.

Checking the rules here, before the network, means a bad order is refused the same way in paper and live and
costs no request; the exchange's own refusal is still mapped (errors.py) for rules our catalogue does not know.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from botfleet.domain.exchanges import SymbolRules, get_rules
from botfleet.domain.market import BookLevel, OrderBook
from botfleet.domain.money import quantize_down, quantize_price
from botfleet.domain.orders import ORDER_TYPES, SIDES, ExchangeOrderRejected, OrderRequest
from botfleet.errors import Unprocessable

# Quote-sized market buys ("spend 500 ZAR") are rounded down to cents: every quote currency we list (ZAR, USDT)
# is accepted to two decimals by all five venues, and rounding down never spends more than asked.
QUOTE_STEP = Decimal("0.01")


def dec(value: object) -> Decimal | None:
    """ccxt and JSON give floats or strings; str() first so 0.1 stays 0.1 and never 0.1000000000000000055."""
    if value is None or value == "":
        return None
    return Decimal(str(value))


def dec0(value: object) -> Decimal:
    return dec(value) or Decimal(0)


def plain(value: Decimal) -> str:
    """The wire form of an amount or price: fixed point, no exponent, no trailing zeros."""
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


@dataclass(frozen=True, slots=True)
class PreparedOrder:
    request: OrderRequest
    rules: SymbolRules
    amount: Decimal  # base amount, quantized down to the step; 0 when the order is sized by quote_amount
    price: Decimal | None  # limit price on the tick; None for market orders
    quote_amount: Decimal | None  # quote-sized market buy, rounded down to QUOTE_STEP

    @property
    def symbol(self) -> str:
        return self.request.symbol

    @property
    def client_order_id(self) -> str:
        return self.request.client_order_id


def rules_for(exchange_id: str, symbol: str) -> SymbolRules:
    try:
        return get_rules(exchange_id, symbol)
    except Unprocessable as exc:
        raise ExchangeOrderRejected(exchange_id, exc.message, rule="unknown_symbol") from None


def prepare_order(exchange_id: str, request: OrderRequest) -> PreparedOrder:
    """Quantize and validate; raises ExchangeOrderRejected(rule=...) with the same rule names paper uses."""
    if request.side not in SIDES:
        raise ExchangeOrderRejected(exchange_id, f"side must be one of {SIDES}", rule="side")
    if request.type not in ORDER_TYPES:
        raise ExchangeOrderRejected(exchange_id, f"type must be one of {ORDER_TYPES}", rule="order_type")
    rules = rules_for(exchange_id, request.symbol)

    if request.type == "market" and request.side == "buy" and request.quote_amount is not None:
        quote_amount = quantize_down(request.quote_amount, QUOTE_STEP)
        if quote_amount < rules.min_notional:
            raise ExchangeOrderRejected(
                exchange_id, f"order value {quote_amount} is below the minimum {rules.min_notional}", "min_notional"
            )
        return PreparedOrder(request, rules, Decimal(0), None, quote_amount)

    amount = quantize_down(request.amount, rules.amount_step)
    if amount < rules.min_amount or amount <= 0:
        raise ExchangeOrderRejected(
            exchange_id, f"amount {amount} is below the minimum {rules.min_amount} {rules.base}", "min_amount"
        )
    price = None
    if request.type == "limit":
        if request.price is None or request.price <= 0:
            raise ExchangeOrderRejected(exchange_id, "a limit order needs a positive price", rule="price")
        price = max(quantize_price(request.price, rules.price_tick), rules.price_tick)
        if amount * price < rules.min_notional:
            raise ExchangeOrderRejected(
                exchange_id, f"order value {amount * price} is below the minimum {rules.min_notional}", "min_notional"
            )
    return PreparedOrder(request, rules, amount, price, None)


def book_from_levels(bids: Iterable, asks: Iterable, depth: int) -> OrderBook:
    """An OrderBook from [price, amount] pairs (strings or floats), best first, empty levels dropped."""

    def side(levels: Iterable, best_first_key) -> tuple[BookLevel, ...]:
        parsed = [BookLevel(dec0(level[0]), dec0(level[1])) for level in levels]
        parsed = [level for level in parsed if level.amount > 0]
        return tuple(sorted(parsed, key=best_first_key)[:depth])

    return OrderBook(bids=side(bids, lambda lv: -lv.price), asks=side(asks, lambda lv: lv.price))
