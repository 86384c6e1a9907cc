"""Exchange tier: our real clients (ccxt's signing and parsing included) against mock exchange servers on
127.0.0.1 that verify signatures the way each exchange does."""

from __future__ import annotations

import pytest

from botfleet.adapters.exchanges import SUPPORTED_EXCHANGES, make_client
from tests.support.mock_exchanges import start_mock

TIMEOUT_S = 1.0  # the clients' timeout in this tier: a hang must surface as ExchangeUnavailable within it
SYMBOL = {"binance": "BTC/USDT", "kucoin": "BTC/USDT", "luno": "BTC/ZAR", "valr": "BTC/ZAR", "ovex": "BTC/ZAR"}
# The request that places an order on each venue (where "accepted, then the reply is lost" is injected).
ORDER_PATH = {"binance": "/api/v3/order", "kucoin": "/api/v1/orders", "luno": "/api/1/marketorder",
              "valr": "/v1/orders/market", "ovex": "/api/v2/rfq/accept_quote"}
LIMIT_VENUES = ("binance", "kucoin", "luno", "valr")


def fast(client):
    """ccxt spaces requests by each venue's documented rate limit (Luno: 200 ms); a mock needs no spacing."""
    if hasattr(client, "exchange"):
        client.exchange.enableRateLimit = False
    return client


@pytest.fixture(params=SUPPORTED_EXCHANGES)
def exchange_id(request) -> str:
    return request.param


@pytest.fixture
def mock(exchange_id):
    with start_mock(exchange_id) as server:
        yield server


@pytest.fixture
def client(mock):
    return fast(make_client(mock.exchange_id, mock.credentials, base_url=mock.url, timeout_s=TIMEOUT_S))


@pytest.fixture
def symbol(exchange_id) -> str:
    return SYMBOL[exchange_id]
