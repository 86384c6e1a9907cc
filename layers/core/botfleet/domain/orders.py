"""Orders, balances and exchange failures as the domain sees them, whichever exchange (or paper) executes.

Every order carries a client order id chosen by us before it is sent, derived from (bot, tick, intent),
so a retried tick re-sends the same id and the exchange (or reconciliation) dedupes it: an order's state
is never lost between "sent" and "acknowledged".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

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
