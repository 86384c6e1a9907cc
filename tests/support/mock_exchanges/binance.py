"""Mock Binance spot API (api/v3): the endpoints ccxt's binance uses for our port, signed like Binance.

Auth: X-MBX-APIKEY header, and `signature` = hex HMAC-SHA256 (key: secret) of totalParams — the query string
concatenated with the request body, without the signature parameter itself; `timestamp` within recvWindow.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from decimal import Decimal

from tests.support.mock_exchanges.server import MockExchange, Request
from tests.support.mock_exchanges.venue import Order, Rejected

_SYMBOLS = {"BTCUSDT": "BTC/USDT", "ETHUSDT": "ETH/USDT", "SOLUSDT": "SOL/USDT"}
_STATUS = {"open": "NEW", "closed": "FILLED", "canceled": "CANCELED", "rejected": "REJECTED"}
_SIGNATURE = re.compile(r"&?signature=([0-9a-fA-F]*)")


def binance_signature(secret: str, total_params: str) -> str:
    return hmac.new(secret.encode(), total_params.encode(), hashlib.sha256).hexdigest()


def _s(value: Decimal | None) -> str:
    return format(value or Decimal(0), "f")


_CLIENT_ORDER_ID = re.compile(r"[a-zA-Z0-9-_]{1,36}")

class MockBinance(MockExchange):
    exchange_id = "binance"
    default_balances = {"BTC": "0.5", "USDT": "100000", "ETH": "2"}

    def register(self) -> None:
        self.route("GET", "/api/v3/depth", self.depth, private=False)
        self.route("GET", "/api/v3/klines", self.klines, private=False)
        self.route("GET", "/api/v3/account", self.account)
        self.route("POST", "/api/v3/order", self.create)
        self.route("GET", "/api/v3/order", self.get_order)
        self.route("DELETE", "/api/v3/order", self.cancel)
        self.route("GET", "/api/v3/myTrades", self.my_trades)
        # Listings: what ccxt's unified fetch_open_orders / fetch_closed_orders read (the generic ccxt client).
        self.route("GET", "/api/v3/openOrders", self.open_orders)
        self.route("GET", "/api/v3/allOrders", self.all_orders)

    def authenticate(self, request: Request):
        if request.header("X-MBX-APIKEY") != self.api_key:
            return 401, {"code": -2015, "msg": "Invalid API-key, IP, or permissions for action."}
        signatures = _SIGNATURE.findall(request.query) + _SIGNATURE.findall(request.body)
        total = _SIGNATURE.sub("", request.query) + _SIGNATURE.sub("", request.body)
        if len(signatures) != 1 or not hmac.compare_digest(signatures[0], binance_signature(self.api_secret, total)):
            return 401, {"code": -1022, "msg": "Signature for this request is not valid."}
        params = {**request.query_params, **request.form}
        window = int(params.get("recvWindow", 5000))
        if abs(int(time.time() * 1000) - int(params.get("timestamp", 0))) > window:
            return 400, {"code": -1021, "msg": "Timestamp for this request is outside of the recvWindow."}
        return None

    def rejected(self, exc: Rejected):
        code, msg = {
            "insufficient": (-2010, "Account has insufficient balance for requested action."),
            "duplicate": (-2010, "Duplicate order sent."),
            "min_amount": (-1013, "Filter failure: LOT_SIZE"),
            "min_notional": (-1013, "Filter failure: NOTIONAL"),
            "not_found": (-2013, "Order does not exist."),
            "not_open": (-2011, "Unknown order sent."),
            "liquidity": (-2010, "Order would immediately match and take."),
        }[exc.code]
        return 400, {"code": code, "msg": msg}

    def rate_limited(self):
        return 429, {"code": -1003, "msg": "Too much request weight used; current limit is 6000 request weight "
                                           "per 1 MINUTE. Please use WebSocket Streams for live updates."}

    def server_error(self):
        return 503, {"code": -1001, "msg": "Internal error; unable to process your request. Please try again."}

    # -- public ---------------------------------------------------------------------------------------------

    def depth(self, request: Request):
        query = request.query_params
        book = self.venue.book(_SYMBOLS[query["symbol"]])
        limit = int(query.get("limit", 100))
        return 200, {"lastUpdateId": 1027024,
                     "bids": [[_s(lv.price), _s(lv.amount)] for lv in book.bids[:limit]],
                     "asks": [[_s(lv.price), _s(lv.amount)] for lv in book.asks[:limit]]}

    def klines(self, request: Request):
        query = request.query_params
        rows = self.venue.candles(_SYMBOLS[query["symbol"]])[-int(query.get("limit", 500)):]
        return 200, [[ts, _s(o), _s(h), _s(lo), _s(c), _s(v), ts + 59_999, _s(v * c), 12, "0.7", "1.1", "0"]
                     for ts, o, h, lo, c, v in rows]

    # -- private --------------------------------------------------------------------------------------------

    def account(self, request: Request):
        return 200, {
            "makerCommission": 10, "takerCommission": 10, "buyerCommission": 0, "sellerCommission": 0,
            "canTrade": True, "canWithdraw": True, "canDeposit": True, "brokered": False,
            "requireSelfTradePrevention": False, "preventSor": False, "updateTime": int(time.time() * 1000),
            "accountType": "SPOT", "permissions": ["SPOT"], "uid": 354937868,
            "balances": [{"asset": code, "free": _s(free), "locked": _s(used)}
                         for code, (free, used) in self.venue.balances.items()],
        }

    def create(self, request: Request):
        params = {**request.query_params, **request.form}
        symbol, side = _SYMBOLS[params["symbol"]], params["side"].lower()
        cid = params.get("newClientOrderId") or f"auto-{self.venue.next_id()}"
        if not _CLIENT_ORDER_ID.fullmatch(cid):  # Binance's own rule for newClientOrderId
            return 400, {"code": -1100, "msg": "Illegal characters found in parameter 'newClientOrderId'; legal range "
                                               "is '^[a-zA-Z0-9-_]{1,36}$'."}
        if params["type"] == "MARKET":
            quote = params.get("quoteOrderQty")
            order = self.venue.market(cid, symbol, side, amount=None if quote else Decimal(params["quantity"]),
                                      quote_amount=Decimal(quote) if quote else None)
        else:
            order = self.venue.limit(cid, symbol, side, Decimal(params["quantity"]), Decimal(params["price"]))
        reply = self._order(order)
        reply["transactTime"] = order.created_ms
        reply["fills"] = [{"price": _s(f.price), "qty": _s(f.amount), "commission": _s(f.fee),
                           "commissionAsset": f.fee_currency, "tradeId": f.trade_id} for f in order.fills]
        return 200, reply

    def get_order(self, request: Request):
        return 200, self._order(self._find(request), detail=True)

    def cancel(self, request: Request):
        order = self._find(request, missing="not_open")
        self.venue.cancel(order)
        reply = self._order(order)
        reply["origClientOrderId"] = reply["clientOrderId"]
        return 200, reply

    def open_orders(self, request: Request):
        return 200, [self._order(order, detail=True) for order in self._listed(request) if order.status == "open"]

    def all_orders(self, request: Request):
        return 200, [self._order(order, detail=True) for order in self._listed(request)]

    def _listed(self, request: Request) -> list[Order]:
        symbol = _SYMBOLS[request.query_params["symbol"]]
        return [order for order in self.venue.orders.values() if order.symbol == symbol]

    def my_trades(self, request: Request):
        query = request.query_params
        order = self.venue.find(order_id=query["orderId"])
        return 200, [{"symbol": query["symbol"], "id": f.trade_id, "orderId": int(order.id), "orderListId": -1,
                      "price": _s(f.price), "qty": _s(f.amount), "quoteQty": _s(f.price * f.amount),
                      "commission": _s(f.fee), "commissionAsset": f.fee_currency, "time": order.created_ms,
                      "isBuyer": order.side == "buy", "isMaker": f.maker, "isBestMatch": True}
                     for f in order.fills]

    def _find(self, request: Request, missing: str = "not_found") -> Order:
        params = request.query_params
        try:
            return self.venue.find(client_order_id=params.get("origClientOrderId"), order_id=params.get("orderId"))
        except Rejected:
            raise Rejected(missing) from None

    @staticmethod
    def _order(order: Order, detail: bool = False) -> dict:
        reply = {
            "symbol": order.symbol.replace("/", ""), "orderId": int(order.id), "orderListId": -1,
            "clientOrderId": order.client_order_id, "price": _s(order.price), "origQty": _s(order.amount),
            "executedQty": _s(order.filled), "origQuoteOrderQty": _s(order.quote_amount),
            "cummulativeQuoteQty": _s(order.cost), "status": _STATUS[order.status], "timeInForce": "GTC",
            "type": order.type.upper(), "side": order.side.upper(), "workingTime": order.created_ms,
            "selfTradePreventionMode": "EXPIRE_MAKER",
        }
        if detail:
            reply |= {"stopPrice": "0.00000000", "icebergQty": "0.00000000", "time": order.created_ms,
                      "updateTime": order.created_ms, "isWorking": True}
        return reply
