"""Chart data against moto: the simulator writes one candle per market and tick, and a bot's equity curve,
derived from its books, trades and injections, ends exactly at its books and starts at what it was given."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from botfleet import runtime
from botfleet.clock import iso, parse_iso
from botfleet.domain.charts import CANDLE_RETENTION_SECONDS
from tests.integration.conftest import load_handler, move_market, run_engine
from tests.support.events import LambdaContext

BOT = {"name": "charted", "exchange": "luno", "symbol": "BTC/ZAR", "strategy": "sma_cross",
       "params": {"fast": 2, "slow": 3}, "mode": "paper", "capital": "50000"}


def _ticks_ahead() -> list[str]:
    """Four ticks just ahead of now, taken when the test runs (after its bot was created, so the bot exists
    before its first candle; a suite can run for many minutes after collection)."""
    now = datetime.now(UTC)
    return [iso((now + timedelta(minutes=minute)).replace(second=0, microsecond=0)) for minute in range(1, 5)]




def test_candles_and_the_equity_curve_agree_with_the_books(api):
    token, _ = api.register()
    bot = api.call("bots", "POST", "/api/bots", BOT, token=token)[1]
    status, _ = api.call("bots", "POST", "/api/capital/injections",
                         {"bot_id": bot["id"], "amount": "1000", "kind": "deposit"}, token=token)
    assert status == 201
    ticks = _ticks_ahead()

    books = []  # what the bot really held at the end of each tick

    def tick(index):
        fills = run_engine(bot["id"], ticks[index])["fills"]
        held = api.call("bots", "GET", f"/api/bots/{bot['id']}", token=token)[1]
        books.append((held["cash"], held["position"]))
        return fills

    tick(0)
    move_market(6)  # a rally between two ticks: the next candle's high shows it; the bot is long after it
    tick(1)
    move_market(-9)  # and a drop: the bot is flat after it
    assert tick(2) == 1
    tick(3)

    status, body = api.call("bots", "GET", "/api/markets/luno/BTC-ZAR/candles?limit=1000", token=token)
    assert status == 200
    candles = [c for c in body["items"] if c["ts"] in ticks]
    assert [c["ts"] for c in candles] == ticks  # one per tick, oldest first
    for earlier, later in itertools.pairwise(candles):
        assert later["open"] == earlier["close"]  # each candle opens where the last closed
    for candle in candles:
        assert D(candle["low"]) <= min(D(candle["open"]), D(candle["close"]))
        assert D(candle["high"]) >= max(D(candle["open"]), D(candle["close"])) and candle["volume"] == "0"
    rally = candles[1]
    assert D(rally["high"]) > D(rally["open"]) * D("1.05")  # the +6 % move is inside the candle

    status, curve = api.call("bots", "GET", f"/api/bots/{bot['id']}/equity", token=token)
    assert status == 200
    points = curve["items"]
    assert [p["ts"] for p in points] == ticks
    assert [(p["cash"], p["position"]) for p in points] == books  # the curve is the books, tick by tick
    for point, candle in zip(points, candles, strict=True):
        assert point["mark"] == candle["close"]
        assert D(point["equity"]) == D(point["cash"]) + D(point["position"]) * D(candle["close"])
    # long after the rally, flat after the drop (but for dust below Luno's 0.0001 BTC step: the buy fee was in BTC)
    assert D(points[1]["position"]) > D("0.0001") > D(points[2]["position"])
    trades = api.call("bots", "GET", f"/api/bots/{bot['id']}/trades", token=token)[1]["items"]
    first_tick = min(trade["tick_id"] for trade in trades)
    before_trading = [p for p in points if p["ts"] < first_tick]
    assert all(p["equity"] == "51000" for p in before_trading)  # what it was given: capital plus the deposit

    since = api.call("bots", "GET", f"/api/bots/{bot['id']}/equity?since={ticks[2]}", token=token)[1]["items"]
    assert [p["ts"] for p in since] == ticks[2:]


def test_candles_expire_after_a_week(api):
    api.register()
    load_handler("provision").handler({"action": "market_move", "exchange": "luno", "symbol": "ETH/ZAR",
                                       "move_pct": 1}, LambdaContext())
    tick = _ticks_ahead()[0]
    runtime.markets().for_tick("luno", "ETH/ZAR", tick)
    (item,) = runtime.table().query_all("pk = :pk AND begins_with(sk, :c)",
                                        {":pk": "MARKET#luno#ETH/ZAR", ":c": "CANDLE#"})
    assert item["expires_at"] == int(parse_iso(tick).timestamp()) + CANDLE_RETENTION_SECONDS


def test_chart_requests_are_bounded_and_private(api):
    token, _ = api.register()
    other, _ = api.register(email="bob@example.com")
    bot = api.call("bots", "POST", "/api/bots", BOT, token=token)[1]
    assert api.call("bots", "GET", f"/api/bots/{bot['id']}/equity", token=other)[0] == 404
    assert api.call("bots", "GET", "/api/markets/luno/DOGE-ZAR/candles", token=token)[0] == 404
    assert api.call("bots", "GET", "/api/markets/nowhere/BTC-ZAR/candles", token=token)[0] == 404
    assert api.call("bots", "GET", "/api/markets/luno/BTC-ZAR/candles?limit=1001", token=token)[0] == 422
    assert api.call("bots", "GET", "/api/markets/luno/BTC-ZAR/candles?timeframe=1h", token=token)[0] == 422
    assert api.call("bots", "GET", "/api/markets/luno/BTC-ZAR/candles")[0] == 401
    assert api.call("bots", "GET", f"/api/bots/{bot['id']}/equity", token=token)[1] == {"items": []}  # no tick yet
