"""The quarantine ladder on the local cloud (the seed's "quarantine cycle" and "auto-regeneration"): real Step
Functions executions with a time scale, driven and observed only over HTTP and the WebSocket."""

from __future__ import annotations

import json
import time
from decimal import Decimal as D

import boto3

from botfleet.clock import parse_iso
from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, fire, move_market, tick_function, wait_for

TIME_SCALE = 120  # the ladder below, 120 s / 240 s / 360 s, passes in 1 s / 2 s / 3 s
LADDER = {"durations_seconds": [120, 240, 360], "max_pauses": 4}
EXCHANGE, SYMBOL = "kucoin", "BTC/USDT"


def _admin(http):
    token = http.post("/api/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}).json()
    return {"Authorization": f"Bearer {token['access_token']}"}


def _trip(http, trader, bot_id):
    """Get the bot long, then crash the market through its 2 % drawdown limit."""
    for _ in range(8):
        move_market(http, EXCHANGE, SYMBOL, 4)
        fire(http)
        if wait_for(lambda: D(trader.get(f"/api/bots/{bot_id}").json()["position"]) > 0, timeout=8):
            break
    else:
        raise AssertionError("the bot never went long")
    move_market(http, EXCHANGE, SYMBOL, -6)
    return fire(http)["results"][0]["result"]["tick_id"]  # the tick that tripped it


def _current(trader, bot_id):
    return trader.get(f"/api/bots/{bot_id}").json()


def test_the_ladder_then_regeneration(http, new_user, cloud):
    assert http.put("/api/quarantine/config", json=LADDER, headers=_admin(http)).json() == LADDER
    trader = new_user()
    bot = trader.post("/api/bots", {"name": "nervous", "exchange": EXCHANGE, "symbol": SYMBOL,
                                    "strategy": "sma_cross", "params": {"fast": 2, "slow": 3}, "capital": "5000",
                                    "risk": {"max_drawdown_pct": "2"}}).json()
    for pause in (1, 2, 3):
        tripping_tick = _trip(http, trader, bot["id"])
        quarantined = wait_for(lambda: _current(trader, bot["id"])["status"] == "quarantined", timeout=60)
        current = _current(trader, bot["id"])
        assert quarantined, (pause, {k: current[k] for k in ("status", "pause_reason", "pause_count", "position",
                                                             "quarantine")},
                             trader.get(f"/api/bots/{bot['id']}/events").json()["items"][:3])
        (row,) = [r for r in trader.get("/api/quarantine/status").json()["items"] if r["bot_id"] == bot["id"]]
        assert row["pause_count"] == pause and row["reason"] == "max_drawdown"
        if row["stage"] == "waiting":
            assert 0 < row["seconds_remaining"] <= LADDER["durations_seconds"][pause - 1] and row["release_at"]
        running = wait_for(lambda: _current(trader, bot["id"])["status"] == "running", timeout=40)
        assert running, trader.get(f"/api/quarantine/history?bot_id={bot['id']}").json()
        if pause == 1:  # redelivering the very tick that tripped it starts no second execution
            lam = boto3.client("lambda", endpoint_url=cloud.moto.url, region_name=cloud.region)
            lam.invoke(FunctionName=tick_function(cloud), Payload=json.dumps({"time": tripping_tick}).encode())
            time.sleep(1.0)
            executions = boto3.client("stepfunctions", endpoint_url=cloud.moto.url, region_name=cloud.region)
            machine = next(m["stateMachineArn"] for m in executions.list_state_machines()["stateMachines"]
                           if "Quarantine" in m["name"])
            names = [e["name"] for e in executions.list_executions(stateMachineArn=machine)["executions"]]
            assert sum(name.startswith(f"{bot['id']}-pause-1-") for name in names) == 1
    history = trader.get(f"/api/quarantine/history?bot_id={bot['id']}&limit=200").json()["items"]
    kinds = [event["kind"] for event in history]
    assert kinds.count("quarantined") == 3 and kinds.count("redeployed") == 3 and "retraining" in kinds
    # Each rung waits longer, and the wait really passes before the retrain. Read from the events' own clock, not
    # from how long this test saw the bot quarantined: that also counts the retrain and the polling, which a busy
    # machine stretches by seconds.
    for pause, duration in enumerate(LADDER["durations_seconds"], start=1):
        events = sorted((e for e in history if e["pause_number"] == pause), key=lambda e: e["ts"])
        quarantined = next(e for e in events if e["kind"] == "quarantined")
        retraining = next(e for e in events if e["kind"] == "retraining")
        assert quarantined["wait_seconds"] == duration
        waited = (parse_iso(retraining["ts"]) - parse_iso(quarantined["ts"])).total_seconds()
        assert waited >= duration / TIME_SCALE, (pause, waited)

    _trip(http, trader, bot["id"])  # the fourth trip: regenerate
    assert wait_for(lambda: trader.get(f"/api/bots/{bot['id']}").status_code == 404, timeout=30)
    successors = [b for b in trader.get("/api/bots").json()["items"] if b.get("parent_id") == bot["id"]]
    (successor,) = successors
    assert (successor["generation"], successor["status"], successor["pause_count"]) == (2, "running", 0)
    assert (successor["exchange"], successor["symbol"], successor["strategy"]) == (EXCHANGE, SYMBOL, "sma_cross")
    assert D(successor["capital"]) > 0
    regenerated = trader.get(f"/api/quarantine/history?bot_id={bot['id']}").json()["items"][0]
    assert regenerated["kind"] == "regenerated" and regenerated["successor_id"] == successor["id"]


def test_quarantine_events_reach_the_websocket(http, new_user):
    import asyncio

    import websockets

    from tests.e2e.conftest import ws_url

    trader = new_user()
    bot = trader.post("/api/bots", {"name": "watched", "exchange": EXCHANGE, "symbol": SYMBOL,
                                    "strategy": "sma_cross", "params": {"fast": 2, "slow": 3}, "capital": "5000",
                                    "risk": {"max_drawdown_pct": "2"}}).json()

    async def watch():
        async with websockets.connect(ws_url(http, trader.token)) as socket:
            await socket.send(json.dumps({"action": "subscribe", "topics": ["quarantine"]}))
            await asyncio.to_thread(_trip, http, trader, bot["id"])
            kinds, deadline = [], time.monotonic() + 40
            while "redeployed" not in kinds and time.monotonic() < deadline:
                message = json.loads(await asyncio.wait_for(socket.recv(), deadline - time.monotonic()))
                if message.get("type") == "quarantine" and message["data"]["bot_id"] == bot["id"]:
                    kinds.append(message["data"]["kind"])
            return kinds

    kinds = asyncio.run(watch())
    assert kinds[0] == "quarantined" and "retraining" in kinds and kinds[-1] == "redeployed"
