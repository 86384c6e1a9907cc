"""Mock VALR API (v1). Auth: X-VALR-API-KEY, X-VALR-TIMESTAMP (ms) and X-VALR-SIGNATURE = hex HMAC-SHA512
(key: secret) of timestamp + VERB + path (with query) + body. Orders are accepted with 202 and an id and
processed at once; a refused order (e.g. insufficient balance) exists with status Failed, as on VALR."""

from __future__ import annotations

import hashlib
import hmac
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal

from tests.support.mock_exchanges.server import MockExchange, Request
from tests.support.mock_exchanges.venue import Order, Rejected

_STATUS = {"open": "Placed", "closed": "Filled", "canceled": "Cancelled", "rejected": "Failed"}


def valr_sign(secret: str, timestamp: str, verb: str, path: str, body: str) -> str:
    return hmac.new(secret.encode(), f"{timestamp}{verb}{path}{body}".encode(), hashlib.sha512).hexdigest()


def _s(value: Decimal | None) -> str:
    return format(value or Decimal(0), "f")


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _symbol(pair: str) -> str:
    return f"{pair[:-3]}/{pair[-3:]}"


class MockValr(MockExchange):
    exchange_id = "valr"
    default_balances = {"BTC": "0.5", "ZAR": "2000000", "ETH": "2"}

    def register(self) -> None:
        self.route("GET", "/v1/public/{pair}/orderbook", self.order_book, private=False)
        self.route("GET", "/v1/public/{pair}/buckets", self.buckets, private=False)
        self.route("GET", "/v1/account/balances", self.balances)
        self.route("POST", "/v1/orders/market", self.market_order)
        self.route("POST", "/v1/orders/limit", self.limit_order)
        self.route("GET", "/v1/orders/{pair}/customerorderid/{cid}", self.order_status)
        self.route("GET", "/v1/orders/history/summary/customerorderid/{cid}", self.order_summary)
        self.route("DELETE", "/v1/orders/order", self.cancel)

    def authenticate(self, request: Request):
        if request.header("X-VALR-API-KEY") != self.api_key:
            return 401, {"code": -11, "message": "API Key not found"}
        timestamp = request.header("X-VALR-TIMESTAMP")
        if not timestamp.isdigit() or abs(int(time.time() * 1000) - int(timestamp)) > 30_000:
            return 401, {"code": -11, "message": "Request has expired"}
        path = request.path + (f"?{request.query}" if request.query else "")
        expected = valr_sign(self.api_secret, timestamp, request.method, path, request.body)
        if not hmac.compare_digest(request.header("X-VALR-SIGNATURE"), expected):
            return 401, {"code": -11, "message": "Request has an invalid signature"}
        return None

    def rejected(self, exc: Rejected):
        status, message = {
            "duplicate": (400, "A customerOrderId already exists for this order"),
            "not_found": (404, "Order not found"),
            "not_open": (400, "Order is not open: cannot cancel"),
            "min_amount": (400, "Order quantity is below the minimum allowed"),
            "min_notional": (400, "Order total is below the minimum allowed"),
            "insufficient": (400, "Insufficient Balance"),
            "liquidity": (400, "Insufficient liquidity"),
        }[exc.code]
        return status, {"code": -1, "message": message}

    def rate_limited(self):
        return 429, {"code": -1, "message": "Rate limit exceeded"}

    def server_error(self):
        return 503, {"code": -1, "message": "Service unavailable"}

    # -- public ---------------------------------------------------------------------------------------------

    def order_book(self, request: Request):
        pair = request.params["pair"]
        book = self.venue.book(_symbol(pair))

        def side(levels, name):
            return [{"side": name, "quantity": _s(lv.amount), "price": _s(lv.price), "currencyPair": pair,
                     "orderCount": 2} for lv in levels]

        return 200, {"Asks": side(book.asks, "sell"), "Bids": side(book.bids, "buy"),
                     "LastChange": _iso(int(time.time() * 1000)), "SequenceNumber": 1245}

    def buckets(self, request: Request):
        pair = request.params["pair"]
        rows = self.venue.candles(_symbol(pair))
        return 200, [{"currencyPairSymbol": pair, "bucketPeriodInSeconds": 60, "startTime": _iso(ts),
                      "open": _s(o), "high": _s(h), "low": _s(lo), "close": _s(c), "volume": _s(v),
                      "quoteVolume": _s(v * c)} for ts, o, h, lo, c, v in reversed(rows)]

    # -- private --------------------------------------------------------------------------------------------

    def balances(self, request: Request):
        return 200, [{"currency": code, "available": _s(free), "reserved": _s(used), "total": _s(free + used),
                      "updatedAt": _iso(int(time.time() * 1000))} for code, (free, used) in self.venue.balances.items()]

    def market_order(self, request: Request):
        body = request.json()
        quote = body.get("quoteAmount")
        order = self.venue.market(body["customerOrderId"], _symbol(body["pair"]), body["side"].lower(),
                                  amount=None if quote else Decimal(body["baseAmount"]),
                                  quote_amount=Decimal(quote) if quote else None, order_id=str(uuid.uuid4()),
                                  record_failure=True)
        if order.status == "rejected" and "insufficient" in order.reason:
            order.reason = "Insufficient Balance"
        return 202, {"id": order.id}

    def limit_order(self, request: Request):
        body = request.json()
        order = self.venue.limit(body["customerOrderId"], _symbol(body["pair"]), body["side"].lower(),
                                 Decimal(body["quantity"]), Decimal(body["price"]), order_id=str(uuid.uuid4()),
                                 record_failure=True)
        return 202, {"id": order.id}

    def order_status(self, request: Request):
        order = self.venue.find(client_order_id=request.params["cid"])
        return 200, {
            "orderId": order.id, "orderStatusType": _STATUS[order.status],
            "currencyPair": request.params["pair"], "originalPrice": _s(order.price),
            "remainingQuantity": _s(order.amount - order.filled), "originalQuantity": _s(order.amount),
            "orderSide": order.side, "orderType": order.type, "failedReason": order.reason,
            "customerOrderId": order.client_order_id, "orderUpdatedAt": _iso(order.created_ms),
            "orderCreatedAt": _iso(order.created_ms),
        }

    def order_summary(self, request: Request):
        order: Order = self.venue.find(client_order_id=request.params["cid"])
        return 200, {
            "orderId": order.id, "customerOrderId": order.client_order_id,
            "orderStatusType": _STATUS[order.status], "currencyPair": order.symbol.replace("/", ""),
            "averagePrice": _s(order.average), "originalPrice": _s(order.price),
            "remainingQuantity": _s(order.amount - order.filled), "originalQuantity": _s(order.amount),
            "total": _s(order.cost), "totalFee": _s(order.fee), "feeCurrency": order.fee_currency,
            "orderSide": order.side, "orderType": order.type, "failedReason": order.reason,
            "orderUpdatedAt": _iso(order.created_ms), "orderCreatedAt": _iso(order.created_ms),
            "timeInForce": "GTC" if order.type == "limit" else "IOC",
        }

    def cancel(self, request: Request):
        body = request.json()
        self.venue.cancel(self.venue.find(client_order_id=body["customerOrderId"]))
        return 202, None
