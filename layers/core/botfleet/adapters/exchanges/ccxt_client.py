"""Binance, KuCoin and Luno through ccxt, behind the ExchangeClient port.

ccxt is imported inside the constructor, never at module import: it costs ~0.5 s and ~76 MiB (every exchange
module loads), and most Lambda invocations (paper bots, the API) never trade live.

What differs per venue (how the client order id travels, how an order is found again by it, how it is
cancelled) lives in one small `_Venue` subclass each, so the client itself stays venue-neutral.
"""

from __future__ import annotations

import logging
from decimal import ROUND_UP, Decimal
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from botfleet.adapters.exchanges.base import Credentials
from botfleet.adapters.exchanges.ccxt_markets import ccxt_markets, market_id
from botfleet.adapters.exchanges.errors import from_ccxt, is_duplicate
from botfleet.adapters.exchanges.precision import (
    QUOTE_STEP,
    PreparedOrder,
    book_from_levels,
    dec,
    dec0,
    plain,
    prepare_order,
    rules_for,
)
from botfleet.domain.market import OrderBook
from botfleet.domain.orders import (
    Balance,
    ExchangeError,
    ExchangeOrderRejected,
    ExecutionFill,
    OrderRequest,
    OrderStatus,
)

_STATUS = {"open": "open", "closed": "closed", "canceled": "canceled", "cancelled": "canceled",
           "expired": "canceled", "rejected": "rejected"}
_BALANCE_META = {"info", "free", "used", "total", "timestamp", "datetime", "debt"}


class CcxtExchangeClient:
    def __init__(self, exchange_id: str, credentials: dict, *, base_url: str | None = None, timeout_s: float = 10):
        import ccxt  # lazy on purpose, see the module docstring

        silence_ccxt_request_dumps()  # before any request: ccxt would log our credentials at DEBUG
        self.exchange_id = exchange_id
        self._ccxt = ccxt
        self._venue = _VENUES[exchange_id]()
        creds = Credentials(credentials or {})
        self.exchange = getattr(ccxt, exchange_id)({
            "apiKey": creds.api_key, "secret": creds.api_secret, "password": creds.passphrase,
            "timeout": int(timeout_s * 1000),
            "enableRateLimit": True,  # ccxt spaces requests by the venue's documented weight: never trips a ban
            "options": dict(self._venue.options),
        })
        if base_url:
            point_at(self.exchange, base_url)
        self.exchange.set_markets(ccxt_markets(exchange_id))

    def __repr__(self) -> str:
        return f"CcxtExchangeClient({self.exchange_id!r})"

    # -- the port ---------------------------------------------------------------------------------------------

    def fetch_order_book(self, symbol: str, depth: int = 20) -> OrderBook:
        rules_for(self.exchange_id, symbol)
        book = self.call(self.exchange.fetch_order_book, symbol, self._venue.book_limit(depth))
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
            return self._venue.create(self, order)
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
        return self._venue.find(self, symbol, client_order_id)

    def cancel_order(self, symbol: str, client_order_id: str) -> OrderStatus:
        rules_for(self.exchange_id, symbol)
        self._venue.cancel(self, symbol, client_order_id)
        status = self.fetch_order(symbol, client_order_id)
        if status is None:
            raise ExchangeOrderRejected(self.exchange_id, f"order {client_order_id} not found", "order_not_found")
        return status

    def test_connection(self) -> None:
        self.call(self.exchange.fetch_balance)

    # -- beyond the port: used by live market data --------------------------------------------------------------

    def fetch_closes(self, symbol: str, limit: int = 240) -> list[Decimal]:
        """One-minute closes, oldest first."""
        return self._venue.closes(self, symbol, limit)

    # -- helpers shared by the venues -----------------------------------------------------------------------------

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


class _Venue:
    options: dict[str, Any] = {}
    book_limits: tuple[int, ...] = (100,)

    def book_limit(self, depth: int) -> int:
        return _smallest_at_least(depth, self.book_limits)

    def create(self, client: CcxtExchangeClient, order: PreparedOrder) -> OrderStatus:
        raise NotImplementedError

    def find(self, client: CcxtExchangeClient, symbol: str, client_order_id: str) -> OrderStatus | None:
        raise NotImplementedError

    def cancel(self, client: CcxtExchangeClient, symbol: str, client_order_id: str) -> None:
        raise NotImplementedError

    def closes(self, client: CcxtExchangeClient, symbol: str, limit: int) -> list[Decimal]:
        candles = client.call(client.exchange.fetch_ohlcv, symbol, "1m", None, limit)
        return [dec0(candle[4]) for candle in candles[-limit:]]

    @staticmethod
    def amount_and_price(order: PreparedOrder) -> tuple[str | None, str | None]:
        return (plain(order.amount) if order.amount else None), (plain(order.price) if order.price else None)


class _Binance(_Venue):
    # Spot only, and no margin/currency endpoints: nothing beyond the calls we make.
    options = {"defaultType": "spot", "fetchMarkets": {"types": ["spot"]}, "fetchMargins": False,
               "fetchCurrencies": False, "newOrderRespType": {"market": "FULL", "limit": "FULL"}}
    book_limits = (5, 10, 20, 50, 100, 500, 1000, 5000)

    def create(self, client, order):
        amount, price = self.amount_and_price(order)
        params: dict[str, Any] = {"newClientOrderId": order.client_order_id}
        if order.quote_amount is not None:
            params["quoteOrderQty"] = plain(order.quote_amount)
        raw = client.call(client.exchange.create_order, order.symbol, order.request.type, order.request.side,
                          amount, price, params)
        # newOrderRespType FULL: the reply already carries the fills with their commissions.
        return client.status_from_ccxt(raw, order.symbol, order.client_order_id)

    def find(self, client, symbol, client_order_id):
        raw = client.find_or_none(client.exchange.fetch_order, None, symbol, {"origClientOrderId": client_order_id})
        if raw is None:
            return None
        trades = None
        if dec0(raw.get("filled")) > 0:
            # GET /api/v3/order has no commissions; the order's trades do.
            trades = client.call(client.exchange.fetch_my_trades, symbol, None, None, {"orderId": raw["id"]})
        return client.status_from_ccxt(raw, symbol, client_order_id, trades)

    def cancel(self, client, symbol, client_order_id):
        client.call(client.exchange.cancel_order, None, symbol, {"origClientOrderId": client_order_id})


class _KuCoin(_Venue):
    # uta False: otherwise ccxt asks /api/ua/v1/account/mode before the first order.
    options = {"uta": False, "fetchCurrencies": False}
    book_limits = (20, 100)

    def create(self, client, order):
        amount, price = self.amount_and_price(order)
        params: dict[str, Any] = {"clientOid": order.client_order_id}
        if order.quote_amount is not None:
            params["funds"] = plain(order.quote_amount)
        client.call(client.exchange.create_order, order.symbol, order.request.type, order.request.side,
                    amount, price, params)
        # KuCoin answers with the order id only; the fills, fee and average are on the order itself.
        status = self.find(client, order.symbol, order.client_order_id)
        if status is None:
            raise ExchangeError(client.exchange_id, f"order {order.client_order_id} accepted but not found")
        return status

    def find(self, client, symbol, client_order_id):
        raw = client.find_or_none(client.exchange.fetch_order, None, symbol, {"clientOid": client_order_id})
        # KuCoin answers an unknown clientOid with data: null, which ccxt parses into an order without an id.
        if raw is None or raw.get("id") is None:
            return None
        return client.status_from_ccxt(raw, symbol, client_order_id)

    def cancel(self, client, symbol, client_order_id):
        client.call(client.exchange.cancel_order, None, symbol, {"clientOid": client_order_id})


class _Luno(_Venue):
    book_limits = (100,)  # <= 100 uses /orderbook_top

    def create(self, client, order):
        params = {"client_order_id": order.client_order_id}
        request = order.request
        if request.type == "market" and request.side == "buy":
            # Luno sizes market buys in the counter currency only (counter_volume).
            spend = order.quote_amount if order.quote_amount is not None else self._cost_to_buy(client, order)
            raw = client.call(client.exchange.create_order, order.symbol, "market", "buy", plain(spend), None, params)
        else:
            amount, price = self.amount_and_price(order)
            raw = client.call(client.exchange.create_order, order.symbol, request.type, request.side,
                              amount, price, params)
        details = client.call(client.exchange.privateGetOrdersId, {"id": raw["id"]})
        return self.status_from_raw(details, order.symbol, order.client_order_id)

    def find(self, client, symbol, client_order_id):
        raw = self._find_raw(client, symbol, client_order_id)
        return None if raw is None else self.status_from_raw(raw, symbol, client_order_id)

    def cancel(self, client, symbol, client_order_id):
        raw = self._find_raw(client, symbol, client_order_id)
        if raw is None:
            raise ExchangeOrderRejected(client.exchange_id, f"order {client_order_id} not found", "order_not_found")
        client.call(client.exchange.cancel_order, raw["order_id"], symbol)

    def closes(self, client, symbol, limit):
        if client.exchange.apiKey:
            return super().closes(client, symbol, limit)
        # Luno's candles need an API key; without one, one-minute closes from the public trades (last 24 h).
        trades = client.call(client.exchange.fetch_trades, symbol)
        by_minute: dict[int, Decimal] = {}
        for trade in sorted(trades, key=lambda t: t["timestamp"]):
            by_minute[trade["timestamp"] // 60_000] = dec0(trade["price"])
        return [by_minute[minute] for minute in sorted(by_minute)][-limit:]

    @staticmethod
    def _find_raw(client, symbol, client_order_id) -> dict | None:
        # Luno lists recent orders with their client_order_id; there is no v1 lookup by it.
        listing = client.call(client.exchange.privateGetListorders, {"pair": market_id("luno", symbol)})
        return next((o for o in listing.get("orders") or [] if o.get("client_order_id") == client_order_id), None)

    @staticmethod
    def _cost_to_buy(client, order: PreparedOrder) -> Decimal:
        """What buying `order.amount` costs walking the current asks, rounded up to cents."""
        book = client.fetch_order_book(order.symbol, 100)
        remaining, cost = order.amount, Decimal(0)
        for level in book.asks:
            take = min(remaining, level.amount)
            cost += take * level.price
            remaining -= take
            if remaining <= 0:
                break
        if remaining > 0:
            raise ExchangeOrderRejected("luno", "not enough liquidity for a market buy of this size", "liquidity")
        return (cost / QUOTE_STEP).to_integral_value(rounding=ROUND_UP) * QUOTE_STEP

    @staticmethod
    def status_from_raw(raw: dict, symbol: str, client_order_id: str) -> OrderStatus:
        # ccxt's Luno parser leaves type, average and a stopped order's state open, and takes a zero
        # fee_counter over a real fee_base, so the raw order is read directly.
        limit_order = raw.get("type") in ("BID", "ASK")
        filled, counter = dec0(raw.get("base")), dec0(raw.get("counter"))
        amount = dec0(raw.get("limit_volume")) if limit_order else filled
        average = counter / filled if filled > 0 else None
        base, quote = symbol.split("/")
        fee_base, fee_counter = dec0(raw.get("fee_base")), dec0(raw.get("fee_counter"))
        fee, fee_currency = (fee_base, base) if fee_base > 0 else (fee_counter, quote)
        if raw.get("state") == "PENDING":
            status = "open"
        elif limit_order and filled < amount:
            status = "canceled"  # Luno marks a stopped order COMPLETE; unfilled volume means it was stopped
        else:
            status = "closed"
        fills = (ExecutionFill(average, filled, fee, fee_currency, limit_order),) if average is not None else ()
        return OrderStatus(
            client_order_id=client_order_id, exchange_order_id=raw.get("order_id"), symbol=symbol,
            side="buy" if raw.get("type") in ("BUY", "BID") else "sell",
            type="limit" if limit_order else "market", status=status, amount=amount, filled=filled,
            average_price=average, fills=fills,
        )


_VENUES: dict[str, type[_Venue]] = {"binance": _Binance, "kucoin": _KuCoin, "luno": _Luno}


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
