"""Orders, balances and exchange failures as the domain sees them, whichever exchange (or paper) executes.

Every order carries a client order id chosen by us before it is sent, derived from (bot, tick, intent),
so a retried tick re-sends the same id and the exchange (or reconciliation) dedupes it: an order's state
is never lost between "sent" and "acknowledged".
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

SIDES = ("buy", "sell")
ORDER_TYPES = ("market", "limit")
ORDER_STATES = ("open", "closed", "canceled", "rejected")


@dataclass(frozen=True, slots=True)
class OrderRequest:
    client_order_id: str
    symbol: str  # ccxt style: BTC/ZAR
    side: str  # buy | sell
    type: str  # market | limit
    amount: Decimal  # base currency
    price: Decimal | None = None  # limit price; None for market
    quote_amount: Decimal | None = None  # market buy sized in quote instead of base, where supported


@dataclass(slots=True)
class RestingOrder:
    """An order the bot has out between ticks: a paper limit resting on the book, or a live order whose outcome
    the next tick reconciles. Mutable so one tick can work it step by step, but only ever on the tick's own
    `copy()`: a Bot's orders are never changed in place."""

    client_order_id: str
    side: str  # buy | sell
    price: Decimal  # the limit price; for a live market order, the mid it was sent at (its slippage reference)
    amount: Decimal  # base currency
    filled: Decimal
    reserved: Decimal  # what the ledger holds back for it (quote for a buy, base for a sell)
    placed_tick: str
    expires_tick_count: int  # ticks left before an unfilled paper limit is cancelled
    type: str = "limit"  # market | limit
    live: bool = False  # sent to an exchange (reconciled by client order id) rather than resting on paper

    @property
    def remaining(self) -> Decimal:
        return self.amount - self.filled

    def copy(self) -> RestingOrder:
        return replace(self)

    def to_item(self) -> dict[str, Any]:
        """The stored shape. A paper order has never carried `type` and `live`: they are written only when they
        differ from a paper limit's, so the stored items stay as they always were."""
        item: dict[str, Any] = {"client_order_id": self.client_order_id, "side": self.side, "price": self.price,
                                "amount": self.amount, "filled": self.filled, "reserved": self.reserved,
                                "placed_tick": self.placed_tick, "expires_tick_count": self.expires_tick_count}
        if self.type != "limit":
            item["type"] = self.type
        if self.live:
            item["live"] = True
        return item

    @classmethod
    def from_item(cls, item: dict[str, Any]) -> RestingOrder:
        """From the stored shape; DynamoDB gives every number back as a Decimal, the tick count included."""
        return cls(client_order_id=item["client_order_id"], side=item["side"], price=Decimal(item["price"]),
                   amount=Decimal(item["amount"]), filled=Decimal(item["filled"]),
                   reserved=Decimal(item["reserved"]), placed_tick=item["placed_tick"],
                   expires_tick_count=int(item["expires_tick_count"]), type=item.get("type", "limit"),
                   live=bool(item.get("live", False)))


@dataclass(frozen=True, slots=True)
class ExecutionFill:
    price: Decimal
    amount: Decimal
    fee: Decimal
    fee_currency: str
    maker: bool = False


@dataclass(frozen=True, slots=True)
class OrderStatus:
    client_order_id: str
    exchange_order_id: str | None
    symbol: str
    side: str
    type: str
    status: str  # open | closed | canceled | rejected
    amount: Decimal
    filled: Decimal
    average_price: Decimal | None
    fills: tuple[ExecutionFill, ...] = field(default_factory=tuple)
    reason: str | None = None  # for rejected


@dataclass(frozen=True, slots=True)
class Balance:
    currency: str
    free: Decimal
    used: Decimal

    @property
    def total(self) -> Decimal:
        return self.free + self.used


def live_client_order_id(bot_id: str, tick_id: str, side: str) -> str:
    """The id a live order of (bot, tick, side) carries to the exchange. The same inputs give the same id, so a
    retried tick sends no second order (the exchange refuses a duplicate id, and the next tick finds the first by
    it); and it fits every venue's rule: Binance's ^[a-zA-Z0-9-_]{1,36}$, KuCoin's 40 characters, alphanumerics for
    VALR, Luno and OVEX. (Our ids and ISO ticks joined were 49 characters with ':' and '.': Binance refused them.)"""
    return "bf" + hashlib.sha256(f"{bot_id}|{tick_id}|{side}".encode()).hexdigest()[:30]


class ExchangeError(Exception):
    """A failure talking to an exchange. `kind` is what the bot's event log and the API show."""

    kind = "exchange_error"
    retryable = False

    def __init__(self, exchange: str, message: str):
        super().__init__(f"{exchange}: {message}")
        self.exchange = exchange
        self.message = message


class ExchangeAuthError(ExchangeError):
    kind = "auth_failed"


class ExchangeInsufficientFunds(ExchangeError):
    kind = "insufficient_funds"


class ExchangeRateLimited(ExchangeError):
    kind = "rate_limited"
    retryable = True


class ExchangeUnavailable(ExchangeError):
    """Timeout, connection refused, 5xx: the order's fate is unknown until reconciled."""

    kind = "exchange_unavailable"
    retryable = True


class ExchangeOrderRejected(ExchangeError):
    """The exchange refused the order; `rule` names why (min_notional, precision, unknown_symbol, ...)."""

    kind = "order_rejected"

    def __init__(self, exchange: str, message: str, rule: str = "rejected"):
        super().__init__(exchange, message)
        self.rule = rule
