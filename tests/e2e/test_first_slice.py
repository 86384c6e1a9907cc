"""The foundation's acceptance journey, over real HTTP and a real WebSocket client:
register → login → create a paper bot → fire the tick → the trade over REST and on the WebSocket."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal as D

import pytest
import websockets

from tests.e2e.conftest import decode, fire, move_market, read_secret, tick_function, wait_for, ws_url

BOT = {"name": "e2e trend", "exchange": "luno", "symbol": "BTC/ZAR", "strategy": "sma_cross",
       "params": {"fast": 2, "slow": 3}, "mode": "paper", "capital": "50000"}


async def _next_of_type(socket, kind, timeout):
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"no {kind!r} message within {timeout} s")
        message = decode(await asyncio.wait_for(socket.recv(), remaining))
        if message.get("type") == kind:
            return message


def test_register_login_create_tick_trade_rest_and_websocket(http, new_user):
    registered = new_user()
    login = http.post("/api/auth/login", json={"email": registered.email, "password": registered.password})
    assert login.status_code == 200 and login.json()["token_type"] == "bearer"
    registered.token = login.json()["access_token"]
    # The latency below is the warm path's: the engine's four shard workers are started by a tick before this
    # user has a bot (their cold starts, ~0.5 s each on this 2-core machine, are `make bench`'s to measure).
    fire(http)

    created = registered.post("/api/bots", BOT)
    assert created.status_code == 201, created.text
    bot = created.json()
    assert bot["status"] == "running" and bot["mode"] == "paper"

    async def journey():
        async with websockets.connect(ws_url(http, registered.token)) as socket:
            await socket.send('{"action":"ping"}')
            assert (await _next_of_type(socket, "pong", 5))["type"] == "pong"
            move_market(http, "luno", "BTC/ZAR", 4)  # a rally: fast SMA crosses above slow
            started = time.monotonic()
            await asyncio.to_thread(fire, http, "tick", False)  # measured from the fire, not from its end
            trade = await _next_of_type(socket, "trade", 10)
            return trade, time.monotonic() - started

    trade, latency = asyncio.run(journey())
    assert trade["data"]["bot_id"] == bot["id"] and trade["data"]["side"] == "buy"
    assert latency < 2.0, f"trade reached the WebSocket {latency:.2f} s after the tick"

    trades = registered.get(f"/api/bots/{bot['id']}/trades").json()["items"]
    assert [t["id"] for t in trades] == [trade["data"]["id"]]
    rest = trades[0]
    for field in ("id", "bot_id", "exchange", "symbol", "side", "price", "amount", "cost", "fee", "fee_currency",
                  "slippage_bps", "mode", "ts"):
        assert rest[field] is not None, field
    assert D(rest["fee"]) > 0 and D(rest["slippage_bps"]) > 0 and rest["mode"] == "paper"
    after = registered.get(f"/api/bots/{bot['id']}").json()
    assert rest["fee_currency"] == "BTC"  # Luno takes the fee in the asset you receive
    assert D(after["cash"]) == D("50000") - D(rest["cost"])
    assert D(after["position"]) == D(rest["amount"]) - D(rest["fee"])
    assert registered.get("/api/trades?exchange=luno").json()["items"][0]["id"] == rest["id"]


def test_a_redelivered_tick_event_fills_once(http, new_user, cloud):
    """EventBridge may deliver a scheduled event more than once: the same event must not trade twice."""
    import json

    import boto3

    trader = new_user()
    bot = trader.post("/api/bots", {**BOT, "capital": "40000"}).json()
    move_market(http, "luno", "BTC/ZAR", 4)
    lam = boto3.client("lambda", endpoint_url=cloud.moto.url, region_name=cloud.region)
    from datetime import UTC, datetime, timedelta

    # EventBridge's whole-second time, and newer than every tick fired before (a tick older than the newest one
    # begun is stale and runs nothing): the next whole second.
    at = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=1)
    event = {"version": "0", "id": "evt-1", "detail-type": "Scheduled Event", "source": "aws.events",
             "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"), "region": cloud.region, "resources": [], "detail": {}}
    for _ in range(3):  # the same event, three deliveries
        reply = lam.invoke(FunctionName=tick_function(cloud), Payload=json.dumps(event).encode())
        assert "FunctionError" not in reply, reply["Payload"].read()

    def fills():
        return trader.get(f"/api/bots/{bot['id']}/trades").json()["items"]

    assert len(wait_for(fills)) == 1
    time.sleep(1.0)  # let every shard of every delivery finish: still exactly one fill (and `at` is past)
    (fill,) = fills()
    assert fill["tick_id"] == at.strftime("%Y-%m-%dT%H:%M:%S.000Z") and fill["side"] == "buy"


@pytest.mark.parametrize("token", [None, "", "not-a-jwt", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."])
def test_websocket_refuses_missing_or_malformed_tokens(http, token):
    url = http.get("/api/config").json()["ws_url"] + (f"?token={token}" if token is not None else "")

    async def attempt():
        async with websockets.connect(url):
            pass

    with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
        asyncio.run(attempt())
    assert refused.value.response.status_code == 401


def test_websocket_refuses_expired_and_revoked_tokens(http, new_user, cloud):
    import jwt

    trader = new_user()
    secret = read_secret(cloud, "JwtSecret")
    now = int(time.time())
    expired = jwt.encode({"iss": "botfleet", "sub": trader.user["id"], "role": "user", "tv": 0,
                          "iat": now - 7200, "exp": now - 3600}, secret, algorithm="HS256")
    assert trader.post("/api/auth/logout").status_code == 204  # revokes trader.token

    async def attempt(token):
        async with websockets.connect(ws_url(http, token)):
            pass

    for token in (expired, trader.token):
        with pytest.raises(websockets.exceptions.InvalidStatus) as refused:
            asyncio.run(attempt(token))
        assert refused.value.response.status_code == 401
