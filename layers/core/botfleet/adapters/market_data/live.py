"""Live market data from the exchanges' public endpoints: ccxt for Binance, KuCoin and Luno (`fetch_ohlcv` 1m x
240 and `fetch_order_book`), the own clients' public endpoints for VALR (price buckets, order book) and OVEX
(quotes only: the closes are just the current mid, OVEX publishes no candles).

The view is always "now": `tick_id` only names the tick. One client per exchange is kept for the life of the
object (a warm Lambda reuses it), built on first use so ccxt loads only if a ccxt venue is asked for.
"""

from __future__ import annotations

from decimal import Decimal

from botfleet.adapters.exchanges import make_client
from botfleet.adapters.market_data.base import MarketView
from botfleet.domain.market import HISTORY_LENGTH


class LiveMarketData:
    def __init__(self, *, base_urls: dict[str, str] | None = None, credentials: dict[str, dict] | None = None,
                 timeout_s: float = 10, depth: int = 20):
        """`base_urls` per exchange replace the API host (tests); `credentials` per exchange are optional and
        only used where a venue keeps candles behind a key (Luno)."""
        self._base_urls = base_urls or {}
        self._credentials = credentials or {}
        self._timeout_s = timeout_s
        self._depth = depth
        self._clients: dict[str, object] = {}

    def view(self, exchange: str, symbol: str, tick_id: str) -> MarketView:
        client = self._client(exchange)
        book = client.fetch_order_book(symbol, self._depth)
        closes = client.fetch_closes(symbol, HISTORY_LENGTH)
        return MarketView.of(closes or [book.mid], book)

    def mark(self, exchange: str, symbol: str) -> Decimal:
        return self._client(exchange).fetch_order_book(symbol, 1).mid

    def _client(self, exchange: str):
        if exchange not in self._clients:
            self._clients[exchange] = make_client(exchange, self._credentials.get(exchange),
                                                  base_url=self._base_urls.get(exchange), timeout_s=self._timeout_s)
        return self._clients[exchange]
