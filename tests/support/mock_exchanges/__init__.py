"""Mock exchange servers for tests: Binance, KuCoin, Luno, VALR and OVEX on 127.0.0.1, each implementing just
the endpoints our clients use, verifying request signatures the way the real exchange does, keeping orders by
client order id, and failing on demand (`mock.fail("rate_limit" | "server_error" | "hang" | "hang_after")`).

    with start_mock("valr") as mock:
        client = make_client("valr", mock.credentials, base_url=mock.url, timeout_s=1)
"""

from __future__ import annotations

from tests.support.mock_exchanges.binance import MockBinance
from tests.support.mock_exchanges.kucoin import MockKuCoin
from tests.support.mock_exchanges.luno import MockLuno
from tests.support.mock_exchanges.ovex import MockOvex
from tests.support.mock_exchanges.server import MockExchange
from tests.support.mock_exchanges.valr import MockValr

MOCKS: dict[str, type[MockExchange]] = {
    "binance": MockBinance, "kucoin": MockKuCoin, "luno": MockLuno, "valr": MockValr, "ovex": MockOvex,
}

__all__ = ["MOCKS", "MockExchange", "start_mock"]


def start_mock(exchange_id: str, balances: dict[str, str] | None = None) -> MockExchange:
    """A started mock server (also a context manager that stops it)."""
    return MOCKS[exchange_id](balances).start()
