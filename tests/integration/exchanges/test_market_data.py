"""Market data sources: replay from CSV candles, live from the exchanges' public endpoints (mock servers)."""

from __future__ import annotations

from decimal import Decimal

import pytest

from botfleet.adapters.market_data import MarketData, MarketView, make_market_data
from botfleet.adapters.market_data.live import LiveMarketData
from botfleet.adapters.market_data.replay import NoCandle, ReplayMarketData
from botfleet.domain.market import BOOK_LEVELS, HISTORY_LENGTH
from tests.integration.exchanges.conftest import SYMBOL
from tests.support.mock_exchanges import start_mock

CANDLES = """ts,open,high,low,close,volume
2026-11-24T10:00:00Z,1650000,1651000,1649000,1650500,1.2
1795514460000,1650500,1652000,1650000,1651800,0.9
2026-11-24T10:02:00Z,1651800,1653000,1651000,1652900,1.1
2026-11-24T10:03:00.000Z,1652900,1654000,1652000,1653400,0.4
"""


@pytest.fixture
def replay_dir(tmp_path):
    (tmp_path / "valr_BTC-ZAR.csv").write_text(CANDLES)
    return tmp_path


def test_replay_picks_the_latest_candle_at_or_before_the_tick(replay_dir):
    replay = make_market_data("replay", csv_dir=str(replay_dir), simulator=object())
    assert isinstance(replay, ReplayMarketData)

    view = replay.view("valr", "BTC/ZAR", "2026-11-24T10:02:59.999Z")
    assert view.closes == [Decimal("1650500"), Decimal("1651800"), Decimal("1652900")]  # epoch-ms row included
    on_the_minute = replay.view("valr", "BTC/ZAR", "2026-11-24T10:03:00.000Z")
    assert on_the_minute.closes[-1] == Decimal("1653400")
    with pytest.raises(NoCandle):
        replay.view("valr", "BTC/ZAR", "2026-11-24T09:59:59.000Z")


def test_replay_book_is_the_simulator_shape_around_the_close_and_walks_depth(replay_dir):
    replay = ReplayMarketData(csv_dir=replay_dir)
    view = replay.view("valr", "BTC/ZAR", "2026-11-24T10:02:30.000Z")
    close = Decimal("1652900")
    assert isinstance(view, MarketView)
    assert len(view.book.bids) == len(view.book.asks) == BOOK_LEVELS
    assert view.book.bids[0].price < close < view.book.asks[0].price
    assert view.mark == view.book.mid and abs(view.mark - close) <= 1
    # Depth grows away from the touch, so a large order walks several levels.
    assert sum(level.amount for level in view.book.asks[:3]) > view.book.asks[0].amount * 3
    assert replay.view("valr", "BTC/ZAR", "2026-11-24T10:02:30.000Z") == view  # repeatable
    assert replay.mark("valr", "BTC/ZAR") == view.mark


def test_replay_keeps_the_last_240_closes(tmp_path):
    rows = ["ts,open,high,low,close,volume"] + [
        f"{1795500000000 + i * 60_000},1,1,1,{100 + i},1" for i in range(300)]
    (tmp_path / "binance_BTC-USDT.csv").write_text("\n".join(rows))
    view = ReplayMarketData(csv_dir=tmp_path).view("binance", "BTC/USDT", "1795500000000")
    assert view.closes == [Decimal(100)]
    last = ReplayMarketData(csv_dir=tmp_path).view("binance", "BTC/USDT", str(1795500000000 + 299 * 60_000))
    assert len(last.closes) == HISTORY_LENGTH and last.closes[-1] == Decimal(399)


def test_factory_passes_the_simulator_through_and_refuses_unknown_kinds():
    class Simulator:
        def view(self, exchange, symbol, tick_id): ...
        def mark(self, exchange, symbol): ...

    simulator = Simulator()
    assert make_market_data("simulator", simulator=simulator, csv_dir="") is simulator
    assert isinstance(simulator, MarketData)
    with pytest.raises(ValueError):
        make_market_data("crystal-ball")
    with pytest.raises(ValueError):
        make_market_data("replay", csv_dir="")


def test_live_market_data_from_public_endpoints(mock, exchange_id):
    live = make_market_data("live", base_urls={exchange_id: mock.url}, timeout_s=1, simulator=object())
    assert isinstance(live, LiveMarketData)
    symbol = SYMBOL[exchange_id]
    view = live.view(exchange_id, symbol, "2026-11-24T10:00:00.000Z")

    assert view.mark == view.book.mid and view.book.bids[0].price < view.mark < view.book.asks[0].price
    assert all(isinstance(close, Decimal) for close in view.closes)
    if exchange_id == "ovex":
        assert view.closes == [view.mark]  # OVEX publishes no candles
    else:
        assert len(view.closes) == HISTORY_LENGTH
        assert view.closes == mock.venue.state(symbol).closes  # oldest -> newest, exactly the venue's
    assert not any(r.header("Authorization") or r.header("X-MBX-APIKEY") or r.header("KC-API-KEY")
                   for r in mock.requests), "public data needs no keys"
    assert live.mark(exchange_id, symbol) == view.mark


def test_live_luno_candles_with_a_key():
    """Luno keeps its candles behind an API key; with one, the closes come from them (not from trades)."""
    with start_mock("luno") as mock:
        live = LiveMarketData(base_urls={"luno": mock.url}, credentials={"luno": mock.credentials}, timeout_s=1)
        view = live.view("luno", "BTC/ZAR", "2026-11-24T10:00:00.000Z")
        assert view.closes == mock.venue.state("BTC/ZAR").closes
        assert mock.calls("GET", "/api/exchange/1/candles")
