"""OVEX (https://www.ovex.io), our own client: ccxt has no OVEX, and OVEX trades by request-for-quote.

Sources: OVEX's public API as used by its community SDK (`ovex-py`) and public integrations — base
`https://www.ovex.io/api/v2`, `GET /rfq/get_quote?market=btczar&side=buy&from_amount=..|to_amount=..` returning
`{market, side, from_currency, from_amount, to_currency, to_amount, rate, rate_is_from_currency, requested_at,
expires_at, quote_token, ...}` (the token only for an authenticated, verified account), `POST /rfq/accept_quote`
with the `quote_token`, `GET /rfq/trades` and `GET /accounts` (`[{currency, balance, locked}]`). Auth is the API
key as a bearer token. Choices where those sources are silent are marked CHOICE below and in docs/exchanges.md.

- A market order is a quote then its acceptance; the quote is all-inclusive (OVEX's spread is its fee), so fills
  report a zero fee and the price already net of it.
- Limit orders do not exist in RFQ: rejected with rule "order_type" before any request.
- CHOICE: OVEX has no client order id. We send ours as `reference` when accepting and find a trade again by it
  in `/rfq/trades`; `create_order` looks there first, so a re-sent order never trades twice.
- CHOICE: OVEX has no public order book: `fetch_order_book` builds two levels per side from quotes for a small
  and a large size (the catalogue's top depth and ten times it), so walking the book reproduces both quotes.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from botfleet.adapters.exchanges.base import Credentials
from botfleet.adapters.exchanges.errors import is_duplicate
from botfleet.adapters.exchanges.http import JsonHttp
from botfleet.adapters.exchanges.precision import PreparedOrder, dec0, plain, prepare_order, rules_for
from botfleet.domain.exchanges import get_exchange
from botfleet.domain.market import BookLevel, OrderBook
from botfleet.domain.money import quantize_down
from botfleet.domain.orders import (
    Balance,
    ExchangeAuthError,
    ExchangeOrderRejected,
    ExecutionFill,
    OrderRequest,
    OrderStatus,
)

OVEX_API = "https://www.ovex.io"
_LARGE_QUOTE_FACTOR = 10
_TRADES_LOOKBACK = 100  # recent RFQ trades searched for a reference; a tick re-sends within minutes


def ovex_market(symbol: str) -> str:
    return symbol.replace("/", "").lower()


def _message(payload: Any) -> str:
    if isinstance(payload, dict):
        errors = payload.get("errors")
        if isinstance(errors, list) and errors:
            return "; ".join(map(str, errors))
        return str(payload.get("error") or payload.get("message") or payload)
    return str(payload or "")


class OvexClient:
    exchange_id = "ovex"

    def __init__(self, credentials: dict | None = None, *, base_url: str | None = None, timeout_s: float = 10):
        self._creds = Credentials(credentials or {})
        self._http = JsonHttp(self.exchange_id, base_url or OVEX_API, timeout_s, _message)

    def __repr__(self) -> str:
        return "OvexClient()"

    # -- the port ---------------------------------------------------------------------------------------------

    def fetch_order_book(self, symbol: str, depth: int = 20) -> OrderBook:
        rules = rules_for(self.exchange_id, symbol)
        small = get_exchange(self.exchange_id).simulation(symbol).top_depth
        small = max(quantize_down(small, rules.amount_step), rules.min_amount)
        large = small * _LARGE_QUOTE_FACTOR
        asks = _levels_from_quotes(*(self._base_and_quote(self._quote(symbol, "buy", base=size)) for size in
                                     (small, large)))
        bids = _levels_from_quotes(*(self._base_and_quote(self._quote(symbol, "sell", base=size)) for size in
                                     (small, large)))
        return OrderBook(bids=bids[:depth], asks=asks[:depth])

    def fetch_balance(self) -> dict[str, Balance]:
        _, accounts = self._http.request("GET", "/api/v2/accounts", signer=self._auth)
        balances = {}
        for account in accounts:
            code = str(account["currency"]).upper()
            balances[code] = Balance(code, dec0(account.get("balance")), dec0(account.get("locked")))
        return balances

    def create_order(self, request: OrderRequest) -> OrderStatus:
        if request.type != "market":
            raise ExchangeOrderRejected(self.exchange_id, "OVEX trades by request-for-quote: market orders only",
                                        rule="order_type")
        order = prepare_order(self.exchange_id, request)
        existing = self.fetch_order(request.symbol, request.client_order_id)
        if existing is not None:
            return existing
        for attempt in range(2):
            quote = self._quote_for(order)
            token = quote.get("quote_token")
            if not token:
                raise ExchangeAuthError(self.exchange_id, quote.get("message") or "no quote token for this key")
            try:
                _, trade = self._http.request("POST", "/api/v2/rfq/accept_quote", signer=self._auth,
                                              body={"quote_token": token, "reference": request.client_order_id})
            except ExchangeOrderRejected as exc:
                if exc.rule == "quote_expired" and attempt == 0:
                    continue  # the quote lapsed between asking and accepting: ask once more
                if is_duplicate(exc):
                    found = self.fetch_order(request.symbol, request.client_order_id)
                    if found is not None:
                        return found
                raise
            return self._status_from_trade(trade, request.symbol, request.client_order_id)
        raise AssertionError("unreachable")  # pragma: no cover

    def fetch_order(self, symbol: str, client_order_id: str) -> OrderStatus | None:
        rules_for(self.exchange_id, symbol)
        _, trades = self._http.request("GET", "/api/v2/rfq/trades", signer=self._auth,
                                       query={"limit": _TRADES_LOOKBACK, "order_by": "desc"})
        trade = next((t for t in trades or [] if t.get("reference") == client_order_id), None)
        return None if trade is None else self._status_from_trade(trade, symbol, client_order_id)

    def cancel_order(self, symbol: str, client_order_id: str) -> OrderStatus:
        if self.fetch_order(symbol, client_order_id) is None:
            raise ExchangeOrderRejected(self.exchange_id, f"order {client_order_id} not found", "order_not_found")
        raise ExchangeOrderRejected(self.exchange_id, "an accepted OVEX quote settles at once; nothing to cancel",
                                    rule="not_cancelable")

    def test_connection(self) -> None:
        self._http.request("GET", "/api/v2/accounts", signer=self._auth)

    # -- beyond the port: live market data ------------------------------------------------------------------------

    def fetch_closes(self, symbol: str, limit: int = 240) -> list[Decimal]:
        """OVEX publishes no candles: the only close we can know is the current mid."""
        return [self.fetch_order_book(symbol).mid]

    # -- plumbing -------------------------------------------------------------------------------------------------

    def _auth(self, verb: str, path: str, body: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._creds.api_key}"}

    def _quote(self, symbol: str, side: str, *, base: Decimal | None = None,
               quote_amount: Decimal | None = None) -> dict:
        query: dict[str, Any] = {"market": ovex_market(symbol), "side": side}
        if quote_amount is not None:  # buy, spending this much quote currency
            query["from_amount"] = plain(quote_amount)
        elif side == "buy":  # buy this much base: the amount we receive
            query["to_amount"] = plain(base)
        else:  # sell this much base: the amount we give
            query["from_amount"] = plain(base)
        signer = self._auth if self._creds.api_key else None
        _, quote = self._http.request("GET", "/api/v2/rfq/get_quote", query=query, signer=signer)
        return quote

    def _quote_for(self, order: PreparedOrder) -> dict:
        return self._quote(order.symbol, order.request.side, base=order.amount, quote_amount=order.quote_amount)

    @staticmethod
    def _base_and_quote(quote_or_trade: dict) -> tuple[Decimal, Decimal]:
        """(base amount, quote amount) of a quote or a trade, whichever way round it was asked."""
        from_amount, to_amount = dec0(quote_or_trade["from_amount"]), dec0(quote_or_trade["to_amount"])
        return (to_amount, from_amount) if quote_or_trade["side"] == "buy" else (from_amount, to_amount)

    def _status_from_trade(self, trade: dict, symbol: str, client_order_id: str) -> OrderStatus:
        base_amount, quote_amount = self._base_and_quote(trade)
        average = quote_amount / base_amount if base_amount > 0 else None
        fills = (ExecutionFill(average, base_amount, Decimal(0), symbol.split("/")[1]),) if average else ()
        return OrderStatus(
            client_order_id=client_order_id, exchange_order_id=str(trade.get("id")) if trade.get("id") else None,
            symbol=symbol, side=trade["side"], type="market", status="closed", amount=base_amount,
            filled=base_amount, average_price=average, fills=fills,
        )


def _levels_from_quotes(small: tuple[Decimal, Decimal], large: tuple[Decimal, Decimal]) -> tuple[BookLevel, ...]:
    """Two book levels that reproduce both quotes when walked: the small quote's price for the small size, then
    the marginal price of the rest of the large size."""
    (small_base, small_quote), (large_base, large_quote) = small, large
    levels = [BookLevel(small_quote / small_base, small_base)]
    if large_base > small_base:
        levels.append(BookLevel((large_quote - small_quote) / (large_base - small_base), large_base - small_base))
    return tuple(levels)
