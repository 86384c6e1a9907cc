"""The tick engine against moto: fills are real, balanced, and happen exactly once per (bot, tick)."""

from decimal import Decimal as D

from tests.integration.conftest import load_handler, move_market, run_engine
from tests.support.events import LambdaContext

BOT = {"name": "fast", "exchange": "luno", "symbol": "BTC/ZAR", "strategy": "sma_cross",
       "params": {"fast": 2, "slow": 3}, "mode": "paper", "capital": "50000"}




def test_a_tick_fills_once_and_the_ledger_balances(api):
    token, _ = api.register()
    bot = api.call("bots", "POST", "/api/bots", BOT, token=token)[1]
    move_market(5)  # a rally: fast SMA above slow, the bot goes long on the next tick
    report = run_engine(bot["id"], "2026-11-24T10:00:00.000Z")
    assert report["fills"] == 1
    assert run_engine(bot["id"], "2026-11-24T10:00:00.000Z")["fills"] == 0  # the same tick again: no second fill

    status, trades = api.call("bots", "GET", f"/api/bots/{bot['id']}/trades", token=token)
    assert status == 200 and len(trades["items"]) == 1
    trade = trades["items"][0]
    # Luno takes its 0.6 % taker fee in the asset you receive: BTC on a buy
    assert trade["side"] == "buy" and trade["mode"] == "paper" and trade["fee_currency"] == "BTC"
    assert D(trade["fee"]) == (D(trade["amount"]) * D("0.006")).quantize(D("0.00000001"))
    assert D(trade["slippage_bps"]) > 0 and trade["liquidity"] == "taker" and trade["order_type"] == "market"
    assert trade["ts"] == "2026-11-24T10:00:00.000Z"
    after = api.call("bots", "GET", f"/api/bots/{bot['id']}", token=token)[1]
    assert D(after["cash"]) == D("50000") - D(trade["cost"])
    assert D(after["position"]) == D(trade["amount"]) - D(trade["fee"])

    move_market(-8)  # a drop: fast below slow, the bot sells everything
    assert run_engine(bot["id"], "2026-11-24T10:01:00.000Z")["fills"] == 1
    trades = api.call("bots", "GET", f"/api/bots/{bot['id']}/trades", token=token)[1]["items"]
    assert [t["side"] for t in trades] == ["sell", "buy"]  # newest first
    final = api.call("bots", "GET", f"/api/bots/{bot['id']}", token=token)[1]
    # everything sellable was sold; what's left is dust below Luno's 0.0001 BTC step (the buy fee was in BTC)
    assert D(final["position"]) < D("0.0001")
    assert trades[0]["fee_currency"] == "ZAR"  # selling, you receive ZAR
    proceeds = D(trades[0]["cost"]) - D(trades[0]["fee"])
    assert D(final["cash"]) == D(after["cash"]) + proceeds
    assert abs(D(trades[0]["realized_pnl"]) - D(final["realized_pnl"])) < D("0.00000001")


def test_paused_bots_do_not_trade(api):
    token, _ = api.register()
    bot = api.call("bots", "POST", "/api/bots", BOT, token=token)[1]
    api.call("bots", "POST", f"/api/bots/{bot['id']}/pause", token=token)
    move_market(5)
    assert run_engine(bot["id"], "2026-11-24T10:00:00.000Z")["bots"] == 0


def test_trade_filters(api):
    token, _ = api.register()
    luno = api.call("bots", "POST", "/api/bots", BOT, token=token)[1]
    move_market(5)
    run_engine(luno["id"], "2026-11-24T10:00:00.000Z")
    assert len(api.call("bots", "GET", "/api/trades?exchange=luno", token=token)[1]["items"]) == 1
    assert api.call("bots", "GET", "/api/trades?exchange=binance", token=token)[1]["items"] == []
    assert api.call("bots", "GET", "/api/trades?symbol=ETH/ZAR", token=token)[1]["items"] == []
    assert len(api.call("bots", "GET", f"/api/trades?bot_id={luno['id']}", token=token)[1]["items"]) == 1
    assert api.call("bots", "GET", "/api/trades?since=2026-11-24T11:00:00Z", token=token)[1]["items"] == []
    assert api.call("bots", "GET", "/api/trades?since=yesterday", token=token)[0] == 422
    other, _ = api.register("bob@example.com", "battery staple 9", "Bob")
    assert api.call("bots", "GET", "/api/trades", token=other)[1]["items"] == []


def test_tick_fans_out_one_async_invoke_per_engine_run():
    from botfleet.services.trading import fan_out

    class RecordingInvoker:
        def __init__(self):
            self.calls = []

        def run_shards_async(self, tick_id, shards):
            self.calls.append((tick_id, shards))

    invoker = RecordingInvoker()
    assert fan_out(invoker, "t1", [(0, 1), (2,), (3,)]) == 3
    assert invoker.calls == [("t1", [0, 1]), ("t1", [2]), ("t1", [3])]


def test_tick_ids_are_canonical_so_they_order_as_strings(aws, monkeypatch):
    class RecordingInvoker:
        calls: list = []

        def __init__(self, name):
            pass

        def run_shards_async(self, tick_id, shards):
            self.calls.append(tick_id)

    tick = load_handler("tick")
    monkeypatch.setattr(tick, "LambdaEngineInvoker", RecordingInvoker)
    reply = tick.handler({"time": "2026-11-24T10:00:00Z", "detail-type": "Scheduled Event"}, LambdaContext())
    assert reply["tick_id"] == "2026-11-24T10:00:00.000Z"
    assert "2026-11-24T10:00:00.000Z" < "2026-11-24T10:00:00.500Z"
    assert set(RecordingInvoker.calls) == {"2026-11-24T10:00:00.000Z"}


def test_a_redelivered_tick_is_counted_once_in_the_fleets_metrics(aws):
    # EventBridge delivers at least once; a redelivered tick that is still the newest runs again (harmlessly), and
    # must not count twice in botfleet_ticks_total.
    from botfleet import runtime

    engine = load_handler("engine")
    for tick in ("2026-11-24T10:00:00.000Z", "2026-11-24T10:00:00.000Z", "2026-11-24T10:01:00.000Z"):
        engine.handler({"tick_id": tick, "shards": [0]}, LambdaContext())
    assert runtime.bots().table.get("FLEET", "COUNTERS")["ticks"] == 2
