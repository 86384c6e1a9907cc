"""Mock Luno API (api/1 and api/exchange/1) as ccxt's luno calls it for our port. Auth: HTTP Basic with the
API key id and secret. Luno spells bitcoin XBT."""

from __future__ import annotations

import base64
import time
from decimal import Decimal

from tests.support.mock_exchanges.server import MockExchange, Request
from tests.support.mock_exchanges.venue import Order, Rejected

_PAIRS = {"XBTZAR": "BTC/ZAR", "ETHZAR": "ETH/ZAR", "XRPZAR": "XRP/ZAR"}
_LUNO_CODES = {"BTC": "XBT"}


def _s(value: Decimal | None) -> str:
    return format(value or Decimal(0), "f")


def _pair(symbol: str) -> str:
    return next(pair for pair, known in _PAIRS.items() if known == symbol)


class MockLuno(MockExchange):
    exchange_id = "luno"
    default_balances = {"BTC": "0.5", "ZAR": "2000000", "ETH": "2"}

    def register(self) -> None:
        self.route("GET", "/api/1/orderbook_top", self.order_book, private=False)
        self.route("GET", "/api/1/orderbook", self.order_book, private=False)
        self.route("GET", "/api/1/trades", self.trades, private=False)
        self.route("GET", "/api/exchange/1/candles", self.candles)
        self.route("GET", "/api/1/balance", self.balance)
        self.route("POST", "/api/1/marketorder", self.market_order)
        self.route("POST", "/api/1/postorder", self.post_order)
        self.route("GET", "/api/1/orders/{id}", self.get_order)
        self.route("GET", "/api/1/listorders", self.list_orders)
        self.route("POST", "/api/1/stoporder", self.stop_order)

    def authenticate(self, request: Request):
        expected = "Basic " + base64.b64encode(f"{self.api_key}:{self.api_secret}".encode()).decode()
        if request.header("Authorization") != expected:
            return 401, {"error": "Unauthorised", "error_code": "ErrUnauthorised", "error_action": {}}
        return None

    def rejected(self, exc: Rejected):
        status, code, message = {
            "insufficient": (400, "ErrInsufficientBalance", "Insufficient balance."),
            "duplicate": (409, "ErrDuplicateClientOrderID", "Duplicate client order id"),
            "min_amount": (400, "ErrVolumeTooLow", "Volume is below the minimum"),
            "min_notional": (400, "ErrValueTooLow", "Order value is below the minimum"),
            "not_found": (404, "ErrOrderNotFound", "Order not found"),
            "not_open": (400, "ErrCannotStopUnknownOrNonPendingOrder", "Cannot stop unknown or non-pending order"),
            "liquidity": (400, "ErrNotEnoughLiquidity", "Not enough liquidity"),
        }[exc.code]
        return status, {"error": message, "error_code": code, "error_action": {}}

    def rate_limited(self):
        return 429, {"error": "Too many requests", "error_code": "ErrTooManyRequests", "error_action": {}}

    def server_error(self):
        return 503, {"error": "Service unavailable", "error_code": "ErrUnderMaintenance", "error_action": {}}

    # -- public ---------------------------------------------------------------------------------------------

    def order_book(self, request: Request):
        book = self.venue.book(_PAIRS[request.query_params["pair"]])
        return 200, {"timestamp": int(time.time() * 1000),
                     "bids": [{"price": _s(lv.price), "volume": _s(lv.amount)} for lv in book.bids],
                     "asks": [{"price": _s(lv.price), "volume": _s(lv.amount)} for lv in book.asks]}

    def trades(self, request: Request):
        rows = self.venue.candles(_PAIRS[request.query_params["pair"]])
        return 200, {"trades": [{"sequence": i, "timestamp": ts + 30_000, "price": _s(c), "volume": "0.01",
                                 "is_buy": i % 2 == 0} for i, (ts, _o, _h, _lo, c, _v) in enumerate(reversed(rows))]}

    def candles(self, request: Request):
        query = request.query_params
        rows = [row for row in self.venue.candles(_PAIRS[query["pair"]]) if row[0] >= int(query.get("since", 0))]
        return 200, {"candles": [{"timestamp": ts, "open": _s(o), "close": _s(c), "high": _s(h), "low": _s(lo),
                                  "volume": _s(v)} for ts, o, h, lo, c, v in rows],
                     "duration": int(query.get("duration", 60)), "pair": query["pair"]}

    # -- private --------------------------------------------------------------------------------------------

    def balance(self, request: Request):
        return 200, {"balance": [{"account_id": f"{1000 + i}", "asset": _LUNO_CODES.get(code, code),
                                  "balance": _s(free + used), "reserved": _s(used), "unconfirmed": "0.00"}
                                 for i, (code, (free, used)) in enumerate(self.venue.balances.items())]}

    def _params(self, request: Request) -> dict[str, str]:
        return {**request.query_params, **request.form}

    def market_order(self, request: Request):
        params = self._params(request)
        symbol, side = _PAIRS[params["pair"]], params["type"].lower()
        cid = params.get("client_order_id") or f"auto-{self.venue.next_id()}"
        order_id = f"BXMC2CJ7HNB{self.venue.next_id()}"
        if side == "buy":  # Luno: market buys are sized in the counter currency
            order = self.venue.market(cid, symbol, side, quote_amount=Decimal(params["counter_volume"]),
                                      order_id=order_id)
        else:
            order = self.venue.market(cid, symbol, side, amount=Decimal(params["base_volume"]), order_id=order_id)
        return 200, {"order_id": order.id}

    def post_order(self, request: Request):
        params = self._params(request)
        side = "buy" if params["type"] == "BID" else "sell"
        order = self.venue.limit(params.get("client_order_id") or f"auto-{self.venue.next_id()}",
                                 _PAIRS[params["pair"]], side, Decimal(params["volume"]), Decimal(params["price"]),
                                 order_id=f"BXHW6PFRRXKFSB4{self.venue.next_id()}")
        return 200, {"order_id": order.id}

    def get_order(self, request: Request):
        return 200, self._order(self.venue.find(order_id=request.params["id"]))

    def list_orders(self, request: Request):
        query = request.query_params
        orders = [o for o in self.venue.orders.values()
                  if ("pair" not in query or _pair(o.symbol) == query["pair"])
                  and ("state" not in query or self._state(o) == query["state"])]
        return 200, {"orders": [self._order(o) for o in sorted(orders, key=lambda o: -o.created_ms)]}

    def stop_order(self, request: Request):
        order = self.venue.find(order_id=self._params(request)["order_id"])
        if order.status != "open":
            raise Rejected("not_open")
        self.venue.cancel(order)
        return 200, {"success": True}

    @staticmethod
    def _state(order: Order) -> str:
        return "PENDING" if order.status == "open" else "COMPLETE"

    def _order(self, order: Order) -> dict:
        types = {("market", "buy"): "BUY", ("market", "sell"): "SELL", ("limit", "buy"): "BID",
                 ("limit", "sell"): "ASK"}
        fee_base = order.fee if order.fee_currency == order.base else Decimal(0)
        fee_counter = order.fee if order.fee_currency == order.quote else Decimal(0)
        return {
            "order_id": order.id, "client_order_id": order.client_order_id,
            "creation_timestamp": order.created_ms, "expiration_timestamp": 0,
            "completed_timestamp": 0 if order.status == "open" else order.created_ms,
            "type": types[(order.type, order.side)], "state": self._state(order),
            "limit_price": _s(order.price), "limit_volume": _s(order.amount if order.type == "limit" else 0),
            "base": _s(order.filled), "counter": _s(order.cost), "fee_base": _s(fee_base),
            "fee_counter": _s(fee_counter), "pair": _pair(order.symbol),
        }
