"""Mock OVEX API (v2 RFQ). Auth: `Authorization: Bearer <api key>`. A quote is firm until `expires_at`; the
price is the book walked and worsened by OVEX's spread (the catalogue's taker fee), all inclusive."""

from __future__ import annotations

import secrets
import time
from decimal import Decimal

from botfleet.domain.money import quantize_down
from tests.support.mock_exchanges.server import MockExchange, Request
from tests.support.mock_exchanges.venue import Order, Rejected

QUOTE_TTL_S = 10
_MARKETS = {"btczar": "BTC/ZAR", "usdtzar": "USDT/ZAR"}


def _s(value: Decimal | None) -> str:
    return format(value or Decimal(0), "f")


class MockOvex(MockExchange):
    exchange_id = "ovex"
    default_balances = {"BTC": "0.5", "ZAR": "2000000", "USDT": "1000"}

    def __init__(self, balances=None):
        super().__init__(balances)
        self.quotes: dict[str, dict] = {}

    def register(self) -> None:
        self.route("GET", "/api/v2/rfq/get_quote", self.get_quote, private=False)
        self.route("POST", "/api/v2/rfq/accept_quote", self.accept_quote)
        self.route("GET", "/api/v2/rfq/trades", self.trades)
        self.route("GET", "/api/v2/accounts", self.accounts)

    def _authorized(self, request: Request) -> bool:
        return request.header("Authorization") == f"Bearer {self.api_key}"

    def authenticate(self, request: Request):
        return None if self._authorized(request) else (401, {"errors": ["authz.invalid_api_key"]})

    def rejected(self, exc: Rejected):
        return 422, {"errors": [{
            "insufficient": "rfq.trade.insufficient_balance",
            "duplicate": "rfq.trade.duplicate_reference",
            "min_amount": "rfq.quote.amount_too_small",
            "min_notional": "rfq.quote.amount_too_small",
            "liquidity": "rfq.quote.insufficient_liquidity",
            "not_found": "rfq.quote.not_found",
            "expired": "rfq.quote.expired",
        }[exc.code]]}

    def rate_limited(self):
        return 429, {"errors": ["server.rate_limit_exceeded"]}

    def server_error(self):
        return 503, {"errors": ["server.internal_error"]}

    def get_quote(self, request: Request):
        query = request.query_params
        symbol, side = _MARKETS[query["market"]], query.get("side", "buy")
        base_code, quote_code = (code.lower() for code in symbol.split("/"))
        spread = self.venue.exchange.taker_fee
        if side == "buy" and "from_amount" in query:  # spend this much quote
            spend = Decimal(query["from_amount"])
            base = self._walk_quote(symbol, spend / (1 + spread))
            from_amount, to_amount = spend, base
        elif side == "buy":  # receive this much base
            base = Decimal(query["to_amount"])
            from_amount, to_amount = self._walk(symbol, "buy", base) * (1 + spread), base
        else:  # give this much base
            base = Decimal(query["from_amount"])
            from_amount, to_amount = base, self._walk(symbol, "sell", base) * (1 - spread)
        now = time.time()
        quote = {
            "market": query["market"], "side": side,
            "from_currency": quote_code if side == "buy" else base_code, "from_amount": _s(from_amount),
            "to_currency": base_code if side == "buy" else quote_code, "to_amount": _s(to_amount),
            "rate": _s((from_amount / to_amount) if side == "buy" else (to_amount / from_amount)),
            "rate_is_from_currency": side == "buy", "requested_at": now, "expires_at": now + QUOTE_TTL_S,
            "is_prefunded": False, "sn": None, "message": None,
        }
        if self._authorized(request):
            quote["quote_token"] = secrets.token_hex(16)
            self.quotes[quote["quote_token"]] = quote
        else:
            quote["message"] = "You must be authenticated and fully KYC verified to receive a quote token."
        return 200, quote

    def accept_quote(self, request: Request):
        body = request.json() or request.query_params
        quote = self.quotes.pop(body.get("quote_token", ""), None)
        if quote is None:
            raise Rejected("not_found")
        if quote["expires_at"] < time.time():
            raise Rejected("expired")
        symbol = _MARKETS[quote["market"]]
        base, counter = (quote["to_amount"], quote["from_amount"]) if quote["side"] == "buy" else (
            quote["from_amount"], quote["to_amount"])
        order = self.venue.transfer(body.get("reference", ""), symbol, quote["side"], Decimal(base), Decimal(counter))
        return 201, self._trade(order, quote)

    def trades(self, request: Request):
        limit = int(request.query_params.get("limit", 50))
        orders = sorted(self.venue.orders.values(), key=lambda o: -int(o.id))[:limit]
        return 200, [self._trade(order) for order in orders]

    def accounts(self, request: Request):
        return 200, [{"currency": code.lower(), "balance": _s(free), "locked": _s(used)}
                     for code, (free, used) in self.venue.balances.items()]

    # -- pricing ----------------------------------------------------------------------------------------------

    def _walk(self, symbol: str, side: str, base: Decimal) -> Decimal:
        book = self.venue.book(symbol)
        remaining, cost = base, Decimal(0)
        for level in book.asks if side == "buy" else book.bids:
            take = min(remaining, level.amount)
            cost += take * level.price
            remaining -= take
            if remaining <= 0:
                return cost
        raise Rejected("liquidity")

    def _walk_quote(self, symbol: str, spend: Decimal) -> Decimal:
        step = self.venue.exchange.rules(symbol).amount_step
        remaining, base = spend, Decimal(0)
        for level in self.venue.book(symbol).asks:
            take = min(level.amount, quantize_down(remaining / level.price, step))
            base += take
            remaining -= take * level.price
            if take < level.amount:
                return base
        raise Rejected("liquidity")

    @staticmethod
    def _trade(order: Order, quote: dict | None = None) -> dict:
        base_code, quote_code = order.base.lower(), order.quote.lower()
        buy = order.side == "buy"
        cost = order.quote_amount if order.quote_amount is not None else order.cost  # the quoted amount, exactly
        return {
            "id": int(order.id), "market": (order.base + order.quote).lower(), "side": order.side,
            "from_currency": quote_code if buy else base_code, "from_amount": _s(cost if buy else order.filled),
            "to_currency": base_code if buy else quote_code, "to_amount": _s(order.filled if buy else cost),
            "rate": _s(order.average), "state": "completed", "reference": order.reference,
            "quote_token": (quote or {}).get("quote_token"), "created_at": order.created_ms // 1000,
        }
