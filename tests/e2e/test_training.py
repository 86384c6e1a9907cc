"""Training on the local cloud: a real Step Functions execution (prepare → Map over Lambda workers → reduce)
started and stopped over HTTP, with `training` events on the WebSocket."""

from __future__ import annotations

import asyncio
import json
import time

import websockets

from tests.e2e.conftest import wait_for, ws_url

BOT = {"name": "to train", "exchange": "binance", "symbol": "ETH/USDT", "strategy": "sma_cross",
       "params": {"fast": 5, "slow": 20}, "capital": "2000"}


def test_start_progress_succeed_conflict_history_and_websocket_events(http, new_user):
    trader = new_user()
    bot = trader.post("/api/bots", BOT).json()

    async def run_and_listen():
        async with websockets.connect(ws_url(http, trader.token)) as socket:
            await socket.send(json.dumps({"action": "subscribe", "topics": ["training"]}))
            started = await asyncio.to_thread(trader.post, "/api/training/start",
                                              {"bot_id": bot["id"], "budget": 300, "candles": 4000})
            assert started.status_code == 202, started.text
            conflict = await asyncio.to_thread(trader.post, "/api/training/start", {"bot_id": bot["id"]})
            assert conflict.status_code == 409 and conflict.json()["error"]["code"] == "training_running"
            seen = []
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                message = json.loads(await asyncio.wait_for(socket.recv(), deadline - time.monotonic()))
                if message.get("type") == "training":
                    seen.append(message["data"])
                    if message["data"]["status"] in ("succeeded", "failed"):
                        break
            return started.json(), seen

    run, events = asyncio.run(run_and_listen())
    statuses = [event["status"] for event in events]
    assert statuses[-1] == "succeeded", events[-1:]
    assert "running" in statuses
    progress = [event["progress"] for event in events]
    assert progress == sorted(progress) and min(p for p in progress if p) > 0 and progress[-1] == 1.0

    final = trader.get(f"/api/training/status/{run['run_id']}").json()
    assert final["status"] == "succeeded" and final["best"]["params"]["fast"] < final["best"]["params"]["slow"]
    assert final["chunks"] == {"done": 3, "total": 3}
    history = trader.get(f"/api/training/history?bot_id={bot['id']}").json()["items"]
    assert [r["run_id"] for r in history] == [run["run_id"]]
    applied = trader.post("/api/training/apply", {"run_id": run["run_id"]})
    assert applied.status_code == 200 and applied.json()["params"] == final["best"]["params"]


def test_stop_turns_a_run_stopped(http, new_user):
    trader = new_user()
    bot = trader.post("/api/bots", BOT).json()
    run = trader.post("/api/training/start", {"bot_id": bot["id"], "budget": 5000, "candles": 43200}).json()
    assert wait_for(lambda: trader.get(f"/api/training/status/{run['run_id']}").json()["status"] == "running",
                    timeout=30)
    stopped = trader.post("/api/training/stop", {"run_id": run["run_id"]})
    assert stopped.status_code == 200 and stopped.json()["status"] == "stopped"
    time.sleep(1.0)  # workers still running must not revive it
    assert trader.get(f"/api/training/status/{run['run_id']}").json()["status"] == "stopped"
    assert trader.post("/api/training/start", {"bot_id": bot["id"], "budget": 10}).status_code == 202
