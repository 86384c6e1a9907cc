"""The exchange port: the one small interface the engine trades through, whichever venue is behind it.

Every call is synchronous and bounded by the client's timeout. Money is Decimal. Failures are always one of
the domain's `ExchangeError` subclasses (botfleet.domain.orders), never a library's own exception.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from botfleet.domain.market import OrderBook
from botfleet.domain.orders import Balance, OrderRequest, OrderStatus


@runtime_checkable
class ExchangeClient(Protocol):
    exchange_id: str

    def fetch_order_book(self, symbol: str, depth: int = 20) -> OrderBook:
        """Best levels first on both sides, at most `depth` per side."""

    def fetch_balance(self) -> dict[str, Balance]:
        """Balances by currency code (BTC, not Luno's XBT)."""

    def create_order(self, request: OrderRequest) -> OrderStatus:
        """Send an order under `request.client_order_id`. Re-sending the same id never trades twice: the
        exchange's duplicate answer is turned into the existing order's status. Raises ExchangeUnavailable when
        the outcome is unknown (timeout after sending): reconcile with `fetch_order`."""

    def fetch_order(self, symbol: str, client_order_id: str) -> OrderStatus | None:
        """The order as the exchange knows it; None when the exchange never saw it (safe to re-send)."""

    def cancel_order(self, symbol: str, client_order_id: str) -> OrderStatus:
        """Cancel an open order and return its final status (fills so far included)."""

    def test_connection(self) -> None:
        """A cheap authenticated call; raises ExchangeAuthError for bad keys."""


class Credentials(dict):
    """{"api_key", "api_secret", "passphrase"?} as stored by the key vault. A plain dict subclass only so the
    repr never shows the secret when a client or a log line prints it."""

    def __repr__(self) -> str:
        return f"Credentials(api_key={'***' if self.get('api_key') else None})"

    @property
    def api_key(self) -> str:
        return self.get("api_key") or ""

    @property
    def api_secret(self) -> str:
        return self.get("api_secret") or ""

    @property
    def passphrase(self) -> str:
        return self.get("passphrase") or ""
