"""The chart endpoints through the deployed REST API (API Gateway's /api/markets route included)."""

from __future__ import annotations

from decimal import Decimal as D

from tests.e2e.conftest import fire, move_market

BOT = {"name": "e2e chart", "exchange": "binance", "symbol": "SOL/USDT", "strategy": "sma_cross",
       "params": {"fast": 2, "slow": 3}, "mode": "paper", "capital": "2000"}


def test_candles_and_equity_over_http(http, new_user):
    user = new_user()
    bot = user.post("/api/bots", BOT).json()
    for pct in (0, 5, -7):
        if pct:
            move_market(http, "binance", "SOL/USDT", pct)
        fire(http)

    candles = user.get("/api/markets/binance/SOL-USDT/candles?limit=3")
    assert candles.status_code == 200, candles.text
    items = candles.json()["items"]
    assert len(items) == 3 and items == sorted(items, key=lambda c: c["ts"])

    curve = user.get(f"/api/bots/{bot['id']}/equity")
    assert curve.status_code == 200, curve.text
    points = curve.json()["items"]
    assert points and points[-1]["ts"] == items[-1]["ts"]
    now = user.get(f"/api/bots/{bot['id']}").json()
    assert (points[-1]["cash"], points[-1]["position"]) == (now["cash"], now["position"])
    assert D(points[-1]["equity"]) == D(now["cash"]) + D(now["position"]) * D(items[-1]["close"])
    assert user.get("/api/markets/binance/BTC-ZAR/candles").status_code == 404
