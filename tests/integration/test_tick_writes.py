"""A tick writes only what changed (docs/scaling.md): the tick function and the engine, through their handlers,
against moto, with every DynamoDB call metered in write units as AWS bills them (tests/support/dynamo_meter.py)."""

from __future__ import annotations

import pytest

from botfleet import runtime
from tests.integration.conftest import load_handler
from tests.support.dynamo_meter import DynamoMeter
from tests.support.events import LambdaContext

MARKETS = [("luno", "BTC/ZAR", "50000"), ("binance", "ETH/USDT", "3000"), ("valr", "BTC/ZAR", "50000")]
# RSI below 1 never happens on these markets: bots that watch and never trade.
WATCHER = {"strategy": "rsi_reversion", "params": {"period": 30, "oversold": 1, "overbought": 99}, "mode": "paper"}


class SynchronousInvoker:
    """The tick's fan-out, run at once through the engine's handler (Lambda's async invoke, minus the wait)."""

    runs: list = []

    def __init__(self, function_name):
        pass

    def run_shards_async(self, tick_id, shards):
        self.runs.append(shards)
        load_handler("engine").handler({"tick_id": tick_id, "shards": list(shards)}, LambdaContext())


@pytest.fixture
def tick(aws, monkeypatch):
    handler = load_handler("tick")
    monkeypatch.setattr(handler, "LambdaEngineInvoker", SynchronousInvoker)
    SynchronousInvoker.runs = []

    def fire(minute: int) -> dict:
        return handler.handler({"time": f"2026-11-24T10:{minute:02d}:00Z"}, LambdaContext())

    return fire


def _fleet(api, count: int, **overrides) -> tuple[str, list[dict]]:
    token, _ = api.register()
    bots = []
    for i in range(count):
        exchange, symbol, capital = MARKETS[i % len(MARKETS)]
        body = {**WATCHER, "name": f"w{i}", "exchange": exchange, "symbol": symbol, "capital": capital, **overrides}
        status, bot = api.call("bots", "POST", "/api/bots", body, token=token)
        assert status == 201, bot
        bots.append(bot)
    return token, bots


def test_a_quiet_fleet_writes_nothing_per_bot_after_its_first_tick(api, tick):
    _, bots = _fleet(api, 30)
    tick(0)  # the first mark of a new bot starts its breakers: one write each
    meter = DynamoMeter().attach(runtime.table().client)
    reply = tick(1)
    assert reply["runs"] >= 1
    assert meter.calls["TransactWriteItems"] == 0, meter.calls
    bot_items = {entity: n for entity, n in meter.written_entities.items() if entity in ("bot", "trade", "bot_event")}
    assert bot_items == {}, meter.written_entities  # what is written is per market and per fleet, not per bot
    # What is left is per market (its state and its candle) and per tick (the tick log, the tick counter), the
    # same for 30 bots as for 10,000: `make bench-cost` gives it per bot at fleet sizes.
    assert set(meter.written_entities) <= {"market", "candle", "tick_log", "counters"}, meter.written_entities
    assert meter.written_entities["tick_log"] == 2  # the tick begun, the shards' sizes recorded
    assert len(bots) == 30


def test_the_next_fan_out_is_sized_by_the_bots_each_shard_ran(api, tick, monkeypatch):
    _fleet(api, 12)
    shards = runtime.settings().tick_shards
    tick(0)
    assert SynchronousInvoker.runs == [list(range(shards))]  # a new deployment: nothing known, a few shards a run
    SynchronousInvoker.runs = []
    tick(1)
    assert SynchronousInvoker.runs == [list(range(shards))]  # 12 bots: one run takes every shard
    assert runtime.tick_log().begin("2026-11-24T10:02:00.000Z") is not None


def test_a_tick_older_than_the_newest_runs_nothing(api, tick):
    from tests.integration.conftest import move_market

    token, bots = _fleet(api, 3, strategy="sma_cross", params={"fast": 2, "slow": 3})
    tick(5)

    def trades() -> list[int]:
        return [len(api.call("bots", "GET", f"/api/bots/{b['id']}/trades", token=token)[1]["items"]) for b in bots]

    before = trades()
    move_market(5)  # the bots would buy on the next tick they run
    reply = tick(4)  # a redelivery that arrives after a newer tick began
    assert reply == {"tick_id": "2026-11-24T10:04:00.000Z", "runs": 0, "stale": True}
    # An engine run of the old tick that was already under way (a delayed retry) runs nothing either.
    report = load_handler("engine").handler({"tick_id": "2026-11-24T10:04:00.000Z", "shards": [0, 1]},
                                            LambdaContext())
    assert report["stale"] and report["bots"] == 0
    assert trades() == before


def test_a_redelivered_tick_runs_again_without_filling_twice(api, tick):
    from tests.integration.conftest import move_market

    token, bots = _fleet(api, 4, strategy="sma_cross", params={"fast": 2, "slow": 3}, exchange="luno",
                         symbol="BTC/ZAR", capital="50000")
    move_market(5)  # a rally: every bot buys on the next tick
    tick(0)
    first = [len(api.call("bots", "GET", f"/api/bots/{b['id']}/trades", token=token)[1]["items"]) for b in bots]
    assert all(count == 1 for count in first)
    assert tick(0)["runs"] >= 1  # the same tick again (EventBridge delivers at least once)
    again = [len(api.call("bots", "GET", f"/api/bots/{b['id']}/trades", token=token)[1]["items"]) for b in bots]
    assert again == first
