"""The broadcaster's fan-out on the local cloud: many open sockets, one tick, every one of them gets its owner's
trade (docs/websocket.md, "Fan-out at scale"; `make bench-ws` measures the same path at 1,000 sockets)."""

from __future__ import annotations

import asyncio
import json
import resource
import time
from decimal import Decimal

from websockets.asyncio.client import connect

from tests.e2e.conftest import fire, move_market, ws_url

USERS = 8
SOCKETS_PER_USER = 25  # 200 sockets: tabs, devices; each one is a connection the broadcaster posts to
MARKETS = [("luno", "BTC/ZAR", "50000"), ("binance", "ETH/USDT", "1000")]


def _raise_descriptor_limit(need: int) -> None:
    # Both ends of every socket live in this process (the local cloud's gateway runs in it).
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (need if hard == resource.RLIM_INFINITY else min(need, hard), hard))


def test_every_socket_of_every_owner_gets_its_trade(http, new_user):
    _raise_descriptor_limit(4096)
    fire(http)  # the engine's workers warm, before any of these bots exists
    owners = []
    for i in range(USERS):
        trader = new_user(f"Fan {i}")
        exchange, symbol, capital = MARKETS[i % len(MARKETS)]
        bot = trader.post("/api/bots", {"name": f"fan {i}", "exchange": exchange, "symbol": symbol,
                                        "strategy": "sma_cross", "params": {"fast": 2, "slow": 3}, "mode": "paper",
                                        "capital": capital})
        assert bot.status_code == 201, bot.text
        owners.append((trader, bot.json()["id"]))

    async def journey() -> dict[int, list[dict]]:
        received: dict[int, list[dict]] = {}
        sockets = []
        gate = asyncio.Semaphore(16)

        async def open_one(index: int, token: str):
            async with gate:
                socket = await connect(ws_url(http, token), ping_interval=None, open_timeout=30)
                await socket.send(json.dumps({"action": "subscribe", "topics": ["trades", "bots"]}))
                while json.loads(await asyncio.wait_for(socket.recv(), 30)).get("type") != "subscribed":
                    pass
                return socket

        async def read(index: int, socket) -> None:
            async for frame in socket:
                message = json.loads(frame)
                events = message["data"] if message.get("type") == "batch" else [message]
                received.setdefault(index, []).extend(e for e in events if e.get("type") == "trade")

        plan = [(i, trader.token) for i, (trader, _) in enumerate(owners) for _ in range(SOCKETS_PER_USER)]
        sockets = await asyncio.gather(*(open_one(n, token) for n, (_, token) in enumerate(plan)))
        readers = [asyncio.create_task(read(n, s)) for n, s in enumerate(sockets)]
        for exchange, symbol, _ in MARKETS:
            await asyncio.to_thread(move_market, http, exchange, symbol, 4)  # a rally: every bot buys
        await asyncio.to_thread(fire, http)  # returns once every broadcast of the tick has finished
        deadline = time.monotonic() + 10
        while len(received) < len(plan) and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for task in readers:
            task.cancel()
        await asyncio.gather(*(s.close() for s in sockets), return_exceptions=True)
        return {n: [t["data"]["bot_id"] for t in received.get(n, [])] for n in range(len(plan))}

    got = asyncio.run(journey())
    expected = {n: [owners[n // SOCKETS_PER_USER][1]] for n in range(USERS * SOCKETS_PER_USER)}
    missing = [n for n in expected if got[n] != expected[n]]
    assert not missing, f"{len(missing)} of {len(expected)} sockets missed their trade or got another's: " \
                        f"{[(n, got[n]) for n in missing[:5]]}"



def test_a_fill_brings_its_trade_and_the_bots_figures_and_only_batching_sockets_get_batches(http, new_user):
    """A fill makes two events for its owner: the trade, and the bot's figures (the "metrics" message, from the bot's
    own stream record). The contract's clients (API.md) know no batch message, so a socket that did not subscribe
    with "batch": true gets every event as its own message; one that did gets the same events, batched or not."""
    fire(http)
    trader = new_user("Figures")
    bot_ids = []
    for n in range(2):
        bot = trader.post("/api/bots", {"name": f"figures {n}", "exchange": "luno", "symbol": "BTC/ZAR",
                                        "strategy": "sma_cross", "params": {"fast": 2, "slow": 3}, "mode": "paper",
                                        "capital": "50000"})
        assert bot.status_code == 201, bot.text
        bot_ids.append(bot.json()["id"])

    async def journey() -> dict[bool, list[dict]]:
        frames: dict[bool, list[dict]] = {True: [], False: []}
        sockets = {}
        for batch in (True, False):
            socket = await connect(ws_url(http, trader.token), ping_interval=None, open_timeout=30)
            await socket.send(json.dumps({"action": "subscribe", "topics": ["trades", "metrics"], "batch": batch}))
            while (reply := json.loads(await asyncio.wait_for(socket.recv(), 30)))["type"] != "subscribed":
                pass
            assert reply["data"]["batch"] is batch
            sockets[batch] = socket

        async def read(batch: bool) -> None:
            async for frame in sockets[batch]:
                frames[batch].append(json.loads(frame))

        def events(batch: bool) -> list[dict]:
            return [e for f in frames[batch] for e in (f["data"] if f["type"] == "batch" else [f])]

        readers = [asyncio.create_task(read(batch)) for batch in sockets]
        await asyncio.to_thread(move_market, http, "luno", "BTC/ZAR", 4)  # a rally: both bots buy
        await asyncio.to_thread(fire, http)
        deadline = time.monotonic() + 10
        while min(len(events(True)), len(events(False))) < 4 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await asyncio.sleep(0.3)  # anything more would come now
        for task in readers:
            task.cancel()
        await asyncio.gather(*(s.close() for s in sockets.values()), return_exceptions=True)
        return {batch: events(batch) for batch in frames} | {"frames": frames[False]}

    got = asyncio.run(journey())
    assert all(frame["type"] != "batch" for frame in got["frames"])
    for batch in (True, False):
        kinds = sorted((e["type"], e["data"]["bot_id"]) for e in got[batch])
        assert kinds == sorted((kind, bot_id) for kind in ("metrics", "trade") for bot_id in bot_ids), kinds
    for figures in (e["data"] for e in got[False] if e["type"] == "metrics"):
        listed = trader.get(f"/api/bots/{figures['bot_id']}").json()
        assert figures["trades"] == 1 and Decimal(figures["position"]) > 0
        assert (figures["cash"], figures["position"], figures["realized_pnl"]) == (
            listed["cash"], listed["position"], listed["realized_pnl"])
