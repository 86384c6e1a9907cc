"""Exchanges ccxt serves (Binance, KuCoin, Luno), behind the ExchangeClient port.

ccxt is imported inside the constructor, never at module import: it costs ~0.5 s and ~76 MiB (every exchange
module loads), and most Lambda invocations (paper bots, the API) never trade live.

`CcxtExchangeClient` trades through ccxt's unified API alone, which serves any ccxt exchange that carries our
client order id as `clientOrderId`. What a venue does its own way (how the client order id travels, how an order
is found again by it, how it is cancelled, what ccxt reads from a market's raw info) is a subclass of it in
`ccxt_venues`, named by the exchange's descriptor; nothing here is keyed by exchange id.
"""

from __future__ import annotations

import logging
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from botfleet.adapters.exchanges.base import Credentials
from botfleet.adapters.exchanges.ccxt_markets import ccxt_markets
from botfleet.adapters.exchanges.errors import from_ccxt, is_duplicate
from botfleet.adapters.exchanges.precision import (
    PreparedOrder,
    book_from_levels,
    dec,
    dec0,
    plain,
    prepare_order,
    rules_for,
)
from botfleet.domain.exchanges import SymbolRules
from botfleet.domain.market import OrderBook
from botfleet.domain.orders import (
    Balance,
    ExchangeOrderRejected,
    ExecutionFill,
    OrderRequest,
    OrderStatus,
)

_STATUS = {"open": "open", "closed": "closed", "canceled": "canceled", "cancelled": "canceled",
           "expired": "canceled", "rejected": "rejected"}
_BALANCE_META = {"info", "free", "used", "total", "timestamp", "datetime", "debt"}


class CcxtExchangeClient:
    options: dict[str, Any] = {}  # ccxt constructor options of the venue
    book_limits: tuple[int, ...] = (100,)  # the depths the venue's order book endpoint accepts

    def __init__(self, exchange_id: str, credentials: dict, *, base_url: str | None = None, timeout_s: float = 10):
        import ccxt  # lazy on purpose, see the module docstring

        silence_ccxt_request_dumps()  # before any request: ccxt would log our credentials at DEBUG
        self.exchange_id = exchange_id
        self._ccxt = ccxt
        creds = Credentials(credentials or {})
        self.exchange = getattr(ccxt, exchange_id)({
            "apiKey": creds.api_key, "secret": creds.api_secret, "password": creds.passphrase,
            "timeout": int(timeout_s * 1000),
            "enableRateLimit": True,  # ccxt spaces requests by the venue's documented weight: never trips a ban
            "options": dict(self.options),
        })
        if base_url:
            point_at(self.exchange, base_url)
        self.exchange.set_markets(ccxt_markets(exchange_id, self.venue_info))

    def __repr__(self) -> str:
        return f"CcxtExchangeClient({self.exchange_id!r})"

    # -- the port ---------------------------------------------------------------------------------------------

    def fetch_order_book(self, symbol: str, depth: int = 20) -> OrderBook:
        rules_for(self.exchange_id, symbol)
        book = self.call(self.exchange.fetch_order_book, symbol, _smallest_at_least(depth, self.book_limits))
        return book_from_levels(book["bids"], book["asks"], depth)

    def fetch_balance(self) -> dict[str, Balance]:
        raw = self.call(self.exchange.fetch_balance)
        balances = {}
        for code, account in raw.items():
            if code in _BALANCE_META or not isinstance(account, dict):
                continue
            free, used, total = dec(account.get("free")), dec(account.get("used")), dec(account.get("total"))
            free = free if free is not None else (total or 0) - (used or 0)
            used = used if used is not None else (total or free) - free
            balances[code] = Balance(code, Decimal(free), Decimal(used))
        return balances

    def create_order(self, request: OrderRequest) -> OrderStatus:
        order = prepare_order(self.exchange_id, request)
        try:
            return self.create(order)
        except ExchangeOrderRejected as exc:
            # A re-send of an order the exchange already has (e.g. after a timeout): return that order instead
            # of failing, so a retried tick converges on one order.
            if is_duplicate(exc):
                existing = self.fetch_order(request.symbol, request.client_order_id)
                if existing is not None:
                    return existing
            raise

    def fetch_order(self, symbol: str, client_order_id: str) -> OrderStatus | None:
        rules_for(self.exchange_id, symbol)
        return self.find(symbol, client_order_id)

    def cancel_order(self, symbol: str, client_order_id: str) -> OrderStatus:
        rules_for(self.exchange_id, symbol)
        self.cancel(symbol, client_order_id)
        status = self.fetch_order(symbol, client_order_id)
        if status is None:
            raise ExchangeOrderRejected(self.exchange_id, f"order {client_order_id} not found", "order_not_found")
        return status

    def test_connection(self) -> None:
        self.call(self.exchange.fetch_balance)

    # -- beyond the port: used by live market data --------------------------------------------------------------

    def fetch_closes(self, symbol: str, limit: int = 240) -> list[Decimal]:
        """One-minute closes, oldest first."""
        return self.closes(symbol, limit)

    # -- what a venue may do its own way (ccxt_venues) --------------------------------------------------------------

    def venue_info(self, rules: SymbolRules) -> dict[str, Any]:
        """What ccxt's class for the venue reads from a market's raw `info` before sending an order."""
        return {}

    def create(self, order: PreparedOrder) -> OrderStatus:
        amount, price = self.amount_and_price(order)
        params: dict[str, Any] = {"clientOrderId": order.client_order_id}
        if order.quote_amount is not None:
            params["cost"] = plain(order.quote_amount)  # ccxt's unified quote-sized market buy
        raw = self.call(self.exchange.create_order, order.symbol, order.request.type, order.request.side,
                        amount, price, params)
        return self.find(order.symbol, order.client_order_id) or self.status_from_ccxt(
            raw, order.symbol, order.client_order_id)

    def find(self, symbol: str, client_order_id: str) -> OrderStatus | None:
        """The order among the venue's recent orders, by the client order id ccxt parses: one listing of all where
        the venue has it, else the open, the closed and the canceled ones."""
        has = self.exchange.has
        listings = [self.exchange.fetch_orders] if has.get("fetchOrders") is True else [
            getattr(self.exchange, name) for name, capability in (
                ("fetch_open_orders", "fetchOpenOrders"), ("fetch_closed_orders", "fetchClosedOrders"),
                ("fetch_canceled_orders", "fetchCanceledOrders")) if has.get(capability) is True]
        for fetch in listings:
            for raw in self.call(fetch, symbol):
                if raw.get("clientOrderId") == client_order_id:
                    return self.status_from_ccxt(raw, symbol, client_order_id)
        return None

    def cancel(self, symbol: str, client_order_id: str) -> None:
        status = self.find(symbol, client_order_id)
        if status is None or status.exchange_order_id is None:
            raise ExchangeOrderRejected(self.exchange_id, f"order {client_order_id} not found", "order_not_found")
        self.call(self.exchange.cancel_order, status.exchange_order_id, symbol)

    def closes(self, symbol: str, limit: int) -> list[Decimal]:
        candles = self.call(self.exchange.fetch_ohlcv, symbol, "1m", None, limit)
        return [dec0(candle[4]) for candle in candles[-limit:]]

    # -- helpers shared by the venues -----------------------------------------------------------------------------

    @staticmethod
    def amount_and_price(order: PreparedOrder) -> tuple[str | None, str | None]:
        return (plain(order.amount) if order.amount else None), (plain(order.price) if order.price else None)

    def call(self, method, *args, **kwargs):
        """Run a ccxt call; any ccxt exception leaves as the domain's ExchangeError."""
        try:
            return method(*args, **kwargs)
        except self._ccxt.BaseError as exc:
            raise from_ccxt(self.exchange_id, exc) from exc

    def find_or_none(self, method, *args, **kwargs):
        try:
            return self.call(method, *args, **kwargs)
        except ExchangeOrderRejected as exc:
            if exc.rule == "order_not_found":
                return None
            raise

    def status_from_ccxt(self, order: dict, symbol: str, client_order_id: str,
                         trades: list[dict] | None = None) -> OrderStatus:
        filled = dec0(order.get("filled"))
        cost = dec(order.get("cost"))
        average = dec(order.get("average"))
        if average is None and cost is not None and filled > 0:
            average = cost / filled
        amount = dec(order.get("amount")) or filled
        fills = tuple(_fill_from_trade(trade) for trade in (trades or order.get("trades") or []))
        if not fills and filled > 0 and average is not None:
            fee = order.get("fee") or {}
            fills = (ExecutionFill(average, filled, dec0(fee.get("cost")), fee.get("currency") or "", False),)
        return OrderStatus(
            client_order_id=client_order_id,
            exchange_order_id=str(order["id"]) if order.get("id") is not None else None,
            symbol=symbol,
            side=order.get("side") or "",
            type=order.get("type") or "",
            status=_STATUS.get(str(order.get("status")).lower(), "open"),
            amount=amount,
            filled=filled,
            average_price=average,
            fills=fills,
            reason=None,
        )


def point_at(exchange: Any, base_url: str) -> None:
    """Send every API group of a ccxt exchange to base_url's scheme and host, keeping each group's path —
    how tests aim real ccxt signing and parsing at a mock server."""
    target = urlsplit(base_url)

    def rewrite(value):
        if isinstance(value, str):
            parts = urlsplit(value)
            return urlunsplit((target.scheme, target.netloc, parts.path, parts.query, parts.fragment))
        if isinstance(value, dict):
            return {key: rewrite(item) for key, item in value.items()}
        return value

    exchange.urls["api"] = rewrite(exchange.urls["api"])


def _fill_from_trade(trade: dict) -> ExecutionFill:
    fee = trade.get("fee") or {}
    return ExecutionFill(
        price=dec0(trade.get("price")), amount=dec0(trade.get("amount")), fee=dec0(fee.get("cost")),
        fee_currency=fee.get("currency") or "", maker=trade.get("takerOrMaker") == "maker",
    )


def _smallest_at_least(depth: int, allowed: tuple[int, ...]) -> int:
    return next((limit for limit in allowed if limit >= depth), allowed[-1])


class _NoRequestDumps(logging.Filter):
    """ccxt logs every request at DEBUG with its headers: the API key, Luno's Basic credentials (key:secret),
    KuCoin's signed passphrase. Those records never reach a handler, whatever level logging is set to."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


_CCXT_REQUEST_LOGGER = logging.getLogger("ccxt.base.exchange")


def silence_ccxt_request_dumps() -> None:
    """Idempotent; called by every ccxt client before it is used (key tests and live trading alike)."""
    if not any(isinstance(existing, _NoRequestDumps) for existing in _CCXT_REQUEST_LOGGER.filters):
        _CCXT_REQUEST_LOGGER.addFilter(_NoRequestDumps())
