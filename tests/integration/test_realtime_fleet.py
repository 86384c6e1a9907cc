"""Fleet-scope subscriptions: an admin may watch every user's events; a user asking for it is refused and keeps
their own. Also: hostile messages get an error reply, never a failed invocation."""

from __future__ import annotations

import json

import pytest

from botfleet import runtime
from botfleet.adapters.dynamo.bots import shard_of
from botfleet.adapters.dynamo.stream import table_changes
from botfleet.services.realtime import Broadcaster, WebSocketSessions
from tests.integration.conftest import FakePublisher, load_handler
from tests.integration.test_realtime import _stream_records
from tests.support.events import LambdaContext, ws_event

BOT = {"name": "t", "exchange": "luno", "symbol": "BTC/ZAR", "strategy": "sma_cross",
       "params": {"fast": 2, "slow": 3}, "capital": "50000"}


@pytest.fixture
def publisher(api, monkeypatch):
    fake = FakePublisher()
    sessions = WebSocketSessions(runtime.auth(), runtime.connections(), fake, runtime.clock())
    broadcaster = Broadcaster(runtime.connections(), fake, runtime.clock(), table_changes)
    monkeypatch.setattr(runtime, "sessions", lambda: sessions)
    monkeypatch.setattr(runtime, "broadcaster", lambda: broadcaster)
    return fake


def _ws(route, connection_id, **kwargs):
    return load_handler("ws").handler(ws_event(route, connection_id, **kwargs), LambdaContext())


def _say(connection_id, message):
    return _ws("$default", connection_id, body=message if isinstance(message, str) else json.dumps(message))


def test_an_admin_fleet_subscription_receives_another_users_trade_and_a_users_does_not(api, publisher):
    runtime.auth().ensure_admin("root@example.com", "admin passphrase 9")
    admin = api.call("auth", "POST", "/api/auth/login",
                     {"email": "root@example.com", "password": "admin passphrase 9"})[1]["access_token"]
    ann, _ = api.register()
    bob, _ = api.register("bob@example.com", "battery staple 9", "Bob")
    for connection, token in (("admin-1", admin), ("ann-1", ann), ("bob-1", bob)):
        assert _ws("$connect", connection, token=token)["statusCode"] == 200
    _say("admin-1", {"action": "subscribe", "topics": ["trades"], "scope": "fleet"})
    _say("bob-1", {"action": "subscribe", "topics": ["trades"], "scope": "fleet"})
    replies = {cid: m for cid, m in publisher.sent}
    assert replies["admin-1"]["type"] == "subscribed" and replies["admin-1"]["data"]["scope"] == "fleet"
    assert replies["bob-1"] == {"type": "error", "data": replies["bob-1"]["data"], "error": replies["bob-1"]["data"]}
    assert replies["bob-1"]["data"]["code"] == "forbidden"
    assert runtime.connections().get("bob-1")["topics"] == ["trades"]  # keeps their own
    publisher.sent.clear()

    bot = api.call("bots", "POST", "/api/bots", BOT, token=ann)[1]
    load_handler("provision").handler({"action": "market_move", "exchange": "luno", "symbol": "BTC/ZAR",
                                       "move_pct": 5}, LambdaContext())
    load_handler("engine").handler({"tick_id": "2026-11-24T10:00:00.000Z",
                                    "shard": shard_of(bot["id"], runtime.settings().tick_shards)}, LambdaContext())
    load_handler("broadcaster").handler({"Records": _stream_records()}, LambdaContext())
    trades = [(cid, m["data"]["bot_id"]) for cid, m in publisher.sent if m["type"] == "trade"]
    assert sorted(trades) == [("admin-1", bot["id"]), ("ann-1", bot["id"])]  # once each; never to bob
    # a fleet watcher subscribed to trades only gets no bot_status events
    assert not [m for cid, m in publisher.sent if cid == "admin-1" and m["type"] != "trade"]

    _say("admin-1", {"action": "subscribe", "topics": ["trades"]})  # back to its own events only
    assert runtime.connections().fleet_watchers() == []


@pytest.mark.parametrize("message", [
    "[" * 5000 + "]" * 5000, "{" * 5000, "x" * 100_000, "", "null", "[]", '"ping"', '{"action": ["ping"]}',
    '{"action": "subscribe", "topics": [[]]}', '{"action": "subscribe", "topics": ["trades"], "scope": ["fleet"]}',
    '{"action": "$disconnect"}',
])
def test_hostile_messages_get_an_error_reply_and_the_connection_stays(api, publisher, message):
    token, _ = api.register()
    _ws("$connect", "c1", token=token)
    assert _say("c1", message)["statusCode"] == 200
    assert publisher.sent[-1][1]["type"] == "error"
    assert runtime.connections().get("c1") is not None
    _say("c1", {"action": "ping"})
    assert publisher.sent[-1][1]["type"] == "pong"
