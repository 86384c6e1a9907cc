"""Mock KuCoin spot API (v1), as ccxt's kucoin calls it for our port, signed like KuCoin (API key v2).

Auth headers: KC-API-KEY, KC-API-TIMESTAMP (ms), KC-API-KEY-VERSION "2", KC-API-PASSPHRASE = base64
HMAC-SHA256(secret, passphrase), KC-API-SIGN = base64 HMAC-SHA256(secret, timestamp + METHOD + endpoint + body),
the endpoint being the path with its query string.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from decimal import Decimal

from tests.support.mock_exchanges.server import MockExchange, Request
from tests.support.mock_exchanges.venue import Order, Rejected


def kucoin_sign(secret: str, payload: str) -> str:
    return base64.b64encode(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest()).decode()


def _s(value: Decimal | None) -> str:
    return format(value or Decimal(0), "f")


def _ok(data):
    return 200, {"code": "200000", "data": data}


class MockKuCoin(MockExchange):
    exchange_id = "kucoin"
    default_balances = {"BTC": "0.5", "USDT": "100000", "ETH": "2"}
    fee_in = "quote"  # KuCoin spot charges its fee in the quote currency

    def register(self) -> None:
        self.route("GET", "/api/v1/market/orderbook/level2_{depth}", self.order_book, private=False)
        self.route("GET", "/api/v1/market/candles", self.candles, private=False)
        self.route("GET", "/api/v1/accounts", self.accounts)
        self.route("POST", "/api/v1/orders", self.create)
        self.route("GET", "/api/v1/order/client-order/{cid}", self.get_order)
        self.route("DELETE", "/api/v1/order/client-order/{cid}", self.cancel)

    def authenticate(self, request: Request):
        if request.header("KC-API-KEY") != self.api_key:
            return 401, {"code": "400003", "msg": "KC-API-KEY not exists"}
        if request.header("KC-API-KEY-VERSION") != "2" or request.header("KC-API-PASSPHRASE") != kucoin_sign(
                self.api_secret, self.passphrase):
            return 401, {"code": "400004", "msg": "Invalid KC-API-PASSPHRASE"}
        timestamp = request.header("KC-API-TIMESTAMP")
        if not timestamp.isdigit() or abs(int(time.time() * 1000) - int(timestamp)) > 5000:
            return 401, {"code": "400002", "msg": "KC-API-TIMESTAMP Invalid -- time breaks out of 5000 milliseconds"}
        endpoint = request.path + (f"?{request.query}" if request.query else "")
        expected = kucoin_sign(self.api_secret, timestamp + request.method + endpoint + request.body)
        if not hmac.compare_digest(request.header("KC-API-SIGN"), expected):
            return 401, {"code": "400005", "msg": "Invalid KC-API-SIGN"}
        return None

    def rejected(self, exc: Rejected):
        code, msg = {
            "insufficient": ("200004", "Balance insufficient!"),
            "duplicate": ("126044", "clientOid duplicate"),
            "min_amount": ("400100", "Order size below the minimum requirement."),
            "min_notional": ("400100", "Order funds below the minimum requirement."),
            "not_found": ("400100", "order not exist."),
            "not_open": ("400100", "order not exist."),
            "liquidity": ("400100", "Insufficient liquidity."),
        }[exc.code]
        return 200, {"code": code, "msg": msg}  # KuCoin reports business errors inside an HTTP 200

    def rate_limited(self):
        return 429, {"code": "429000", "msg": "Too many requests. System-level rate limit exceeded."}

    def server_error(self):
        return 503, {"code": "503000", "msg": "Service unavailable"}

    # -- public ---------------------------------------------------------------------------------------------

    def order_book(self, request: Request):
        depth = int(request.params["depth"])
        book = self.venue.book(request.query_params["symbol"].replace("-", "/"))
        return _ok({"time": int(time.time() * 1000), "sequence": "3262786978",
                    "bids": [[_s(lv.price), _s(lv.amount)] for lv in book.bids[:depth]],
                    "asks": [[_s(lv.price), _s(lv.amount)] for lv in book.asks[:depth]]})

    def candles(self, request: Request):
        query = request.query_params
        rows = self.venue.candles(query["symbol"].replace("-", "/"))
        start, end = int(query.get("startAt", 0)) * 1000, int(query.get("endAt", 1 << 62)) * 1000
        rows = [row for row in rows if start <= row[0] <= end]
        # newest first: [time (s), open, close, high, low, volume, turnover]
        return _ok([[str(ts // 1000), _s(o), _s(c), _s(h), _s(lo), _s(v), _s(v * c)]
                    for ts, o, h, lo, c, v in reversed(rows)])

    # -- private --------------------------------------------------------------------------------------------

    def accounts(self, request: Request):
        return _ok([{"id": f"5bd6e9286d99522a52e458{i:02d}", "currency": code, "type": "trade",
                     "balance": _s(free + used), "available": _s(free), "holds": _s(used)}
                    for i, (code, (free, used)) in enumerate(self.venue.balances.items())])

    def create(self, request: Request):
        body = request.json()
        symbol, side, cid = body["symbol"].replace("-", "/"), body["side"], body["clientOid"]
        if body["type"] == "market":
            funds = body.get("funds")
            order = self.venue.market(cid, symbol, side, amount=None if funds else Decimal(body["size"]),
                                      quote_amount=Decimal(funds) if funds else None,
                                      order_id=f"5c35c02703aa673ceec{self.venue.next_id()}")
        else:
            order = self.venue.limit(cid, symbol, side, Decimal(body["size"]), Decimal(body["price"]),
                                     order_id=f"5c35c02703aa673ceec{self.venue.next_id()}")
        return _ok({"orderId": order.id})

    def get_order(self, request: Request):
        order = self.venue.orders.get(request.params["cid"])
        return _ok(None if order is None else self._order(order))  # unknown clientOid: data null

    def cancel(self, request: Request):
        order = self.venue.find(client_order_id=request.params["cid"])
        self.venue.cancel(order)
        return _ok({"cancelledOrderId": order.id, "clientOid": order.client_order_id})

    @staticmethod
    def _order(order: Order) -> dict:
        return {
            "id": order.id, "symbol": order.symbol.replace("/", "-"), "opType": "DEAL", "type": order.type,
            "side": order.side, "price": _s(order.price), "size": _s(order.amount if not order.quote_amount else 0),
            "funds": _s(order.quote_amount), "dealFunds": _s(order.cost), "dealSize": _s(order.filled),
            "fee": _s(order.fee), "feeCurrency": order.fee_currency or order.quote, "stp": "", "stop": "",
            "stopTriggered": False, "stopPrice": "0", "timeInForce": "GTC", "postOnly": False, "hidden": False,
            "iceberg": False, "visibleSize": "0", "cancelAfter": 0, "channel": "API",
            "clientOid": order.client_order_id, "remark": None, "tags": None,
            "isActive": order.status == "open", "cancelExist": order.status == "canceled",
            "createdAt": order.created_ms, "tradeType": "TRADE",
        }
