"""Hardening on the local cloud, over real HTTP and WebSocket clients: hostile messages never cost a sender
their socket, lifecycle routes can't be invoked as actions, an admin can watch the fleet and a user can't,
and the control plane's `fire?wait=true` answers after the fills exist."""

from __future__ import annotations

import asyncio
import json
import time

import websockets

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, decode, fire, move_market, ws_url

BOT = {"name": "watched", "exchange": "kucoin", "symbol": "BTC/USDT", "strategy": "sma_cross",
       "params": {"fast": 2, "slow": 3}, "mode": "paper", "capital": "5000"}


async def _reply(socket, timeout=5.0):
    return decode(await asyncio.wait_for(socket.recv(), timeout))


async def _next_trade(socket, bot_id, timeout):
    deadline = time.monotonic() + timeout
    while (remaining := deadline - time.monotonic()) > 0:
        try:
            message = decode(await asyncio.wait_for(socket.recv(), remaining))
        except TimeoutError:
            break
        if message.get("type") == "trade" and message["data"]["bot_id"] == bot_id:
            return message
    return None


def test_hostile_websocket_messages_never_close_the_senders_socket(http, new_user):
    user = new_user()

    async def session():
        async with websockets.connect(ws_url(http, user.token), max_size=2**20) as socket:
            for hostile in ("[" * 5000 + "]" * 5000, "{" * 5000, '{"action":"$disconnect"}',
                            '{"action":"$connect"}', "\x00\xff", json.dumps({"action": "x" * 10_000})):
                await socket.send(hostile)
                reply = await _reply(socket)
                assert reply.get("type") == "error" or reply.get("message") == "Forbidden", reply
            await socket.send('{"action":"ping"}')
            return await _reply(socket)

    assert asyncio.run(session())["type"] == "pong"


def test_an_admin_fleet_subscription_receives_another_users_trade_and_a_user_cannot_subscribe(http, new_user):
    owner, bystander = new_user(), new_user()
    login = http.post("/api/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    admin_token = login.json()["access_token"]
    bot = owner.post("/api/bots", BOT).json()

    async def watch():
        async with websockets.connect(ws_url(http, admin_token)) as admin, \
                websockets.connect(ws_url(http, bystander.token)) as user:
            await admin.send(json.dumps({"action": "subscribe", "topics": ["trades"], "scope": "fleet"}))
            subscribed = await _reply(admin)
            await user.send(json.dumps({"action": "subscribe", "topics": ["trades"], "scope": "fleet"}))
            refused = await _reply(user)
            move_market(http, "kucoin", "BTC/USDT", 4)
            await asyncio.to_thread(fire, http)
            return subscribed, refused, await _next_trade(admin, bot["id"], 10), await _next_trade(user, bot["id"], 1)

    subscribed, refused, seen_by_admin, seen_by_user = asyncio.run(watch())
    assert subscribed["type"] == "subscribed" and subscribed["data"]["scope"] == "fleet"
    assert refused["type"] == "error" and refused["data"]["code"] == "forbidden"
    assert seen_by_admin and seen_by_admin["data"]["bot_id"] == bot["id"]
    assert seen_by_user is None


def test_fire_with_wait_answers_after_the_fills_exist(http, new_user):
    trader = new_user()
    bot = trader.post("/api/bots", {**BOT, "exchange": "binance", "symbol": "BTC/USDT"}).json()
    move_market(http, "binance", "BTC/USDT", 4)
    reply = http.post("/_local/schedules/tick/fire?wait=true")
    assert reply.status_code == 200 and reply.json()["idle"] is True
    # no polling: the engine shards the tick set off have finished, so the fill is there
    assert [t["bot_id"] for t in trader.get("/api/trades").json()["items"]] == [bot["id"]]
