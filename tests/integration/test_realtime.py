"""WebSocket sessions and broadcasting, with stream records read from moto's real DynamoDB stream."""

import json
from decimal import Decimal

import boto3
import pytest

from botfleet import runtime
from botfleet.adapters.dynamo.stream import table_changes
from botfleet.services.realtime import Broadcaster, WebSocketSessions
from tests.integration.conftest import TABLE, FakePublisher, load_handler
from tests.support.events import LambdaContext, ws_event


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


def _stream_records():
    table = boto3.client("dynamodb", region_name="us-east-1").describe_table(TableName=TABLE)["Table"]
    streams = boto3.client("dynamodbstreams", region_name="us-east-1")
    shard = streams.describe_stream(StreamArn=table["LatestStreamArn"])["StreamDescription"]["Shards"][0]
    iterator = streams.get_shard_iterator(StreamArn=table["LatestStreamArn"], ShardId=shard["ShardId"],
                                          ShardIteratorType="TRIM_HORIZON")["ShardIterator"]
    return streams.get_records(ShardIterator=iterator)["Records"]


def test_connect_requires_a_valid_token(api, publisher):
    token, _ = api.register()
    assert _ws("$connect", "c1", token=token)["statusCode"] == 200
    assert runtime.connections().get("c1")["user_id"]
    assert _ws("$connect", "c2")["statusCode"] == 401
    assert _ws("$connect", "c3", token="garbage")["statusCode"] == 401
    api.call("auth", "POST", "/api/auth/logout", token=token)
    assert _ws("$connect", "c4", token=token)["statusCode"] == 401  # revoked
    assert runtime.connections().get("c4") is None


def test_a_block_between_the_token_check_and_the_record_refuses_the_handshake(api, publisher, monkeypatch):
    """ConnectionCloser revokes, then closes the sockets it finds; a connection written just after it looked is
    caught by connect's second look."""
    token, user = api.register()
    store = runtime.connections()
    add = store.add

    def add_after_a_block(*args, **kwargs):
        runtime.users().update_fields(user["id"], {"blocked": True}, revoke_tokens=True)
        add(*args, **kwargs)

    monkeypatch.setattr(store, "add", add_after_a_block)
    sessions = WebSocketSessions(runtime.auth(), store, publisher, runtime.clock())
    monkeypatch.setattr(runtime, "sessions", lambda: sessions)
    reply = _ws("$connect", "c1", token=token)
    assert (reply["statusCode"], reply["body"]) == (401, "token_revoked")
    assert runtime.connections().get("c1") is None


def test_a_socket_whose_session_was_revoked_is_closed_at_its_next_message(api, publisher):
    token, user = api.register()
    assert _ws("$connect", "c1", token=token)["statusCode"] == 200
    assert runtime.connections().get("c1")["token_version"] == 0
    _ws("$default", "c1", body=json.dumps({"action": "ping"}))
    assert [message["type"] for _, message in publisher.sent] == ["pong"] and publisher.closed == []
    # Revoked without its sockets being closed (as if the closing missed this one): the next ping closes it.
    runtime.users().bump_token_version(user["id"])
    _ws("$default", "c1", body=json.dumps({"action": "ping"}))
    assert len(publisher.sent) == 1 and publisher.closed == ["c1"] and runtime.connections().get("c1") is None
    # A connection the table does not know (expired, or closed meanwhile) is closed too, never answered.
    _ws("$default", "c9", body=json.dumps({"action": "subscribe", "topics": ["trades"]}))
    assert len(publisher.sent) == 1 and publisher.closed == ["c1", "c9"]


def test_ping_subscribe_and_errors(api, publisher):
    token, _ = api.register()
    _ws("$connect", "c1", token=token)
    _ws("$default", "c1", body=json.dumps({"action": "ping"}))
    _ws("$default", "c1", body=json.dumps({"action": "subscribe", "topics": ["trades"]}))
    _ws("$default", "c1", body=json.dumps({"action": "subscribe", "topics": ["gossip"]}))
    _ws("$default", "c1", body="not json")
    _ws("$default", "c1", body=json.dumps({"action": "subscribe", "topics": ["trades"], "batch": "yes"}))
    types = [message["type"] for _, message in publisher.sent]
    assert types == ["pong", "subscribed", "error", "error", "error"]
    assert publisher.sent[1][1]["data"] == {"topics": ["trades"], "scope": "own", "batch": False}
    assert publisher.sent[4][1]["data"]["code"] == "validation_error"
    assert runtime.connections().get("c1")["topics"] == ["trades"]
    assert runtime.connections().get("c1")["batches"] is False
    _ws("$default", "c1", body=json.dumps({"action": "subscribe", "topics": ["trades", "metrics"], "batch": True}))
    assert publisher.sent[5][1]["data"] == {"topics": ["metrics", "trades"], "scope": "own", "batch": True}
    assert runtime.connections().get("c1")["batches"] is True
    _ws("$disconnect", "c1")
    assert runtime.connections().get("c1") is None


def test_trades_and_status_changes_reach_only_their_owner(api, publisher):
    ann, _ = api.register()
    bob, _ = api.register("bob@example.com", "battery staple 9", "Bob")
    _ws("$connect", "ann-1", token=ann)
    _ws("$connect", "bob-1", token=bob)
    bot = api.call("bots", "POST", "/api/bots", {"name": "t", "exchange": "luno", "symbol": "BTC/ZAR",
                                                 "strategy": "sma_cross", "params": {"fast": 2, "slow": 3},
                                                 "capital": "50000"}, token=ann)[1]
    load_handler("provision").handler({"action": "market_move", "exchange": "luno", "symbol": "BTC/ZAR",
                                       "move_pct": 5}, LambdaContext())
    from botfleet.adapters.dynamo.bots import shard_of

    load_handler("engine").handler({"tick_id": "2026-11-24T10:00:00.000Z",
                                    "shard": shard_of(bot["id"], 2)}, LambdaContext())
    api.call("bots", "POST", f"/api/bots/{bot['id']}/pause", token=ann)

    load_handler("broadcaster").handler({"Records": _stream_records()}, LambdaContext())
    to_ann = [m for cid, m in publisher.sent if cid == "ann-1"]
    # created (a status and its first figures), the fill (the trade, with the figures it left), paused (a status)
    assert [m["type"] for m in to_ann] == ["bot_status", "metrics", "trade", "metrics", "bot_status"]
    trade = to_ann[2]["data"]
    assert trade["bot_id"] == bot["id"] and trade["side"] == "buy" and isinstance(trade["price"], str)
    assert "bot_figures" not in trade  # the trade's view is the contract's; the figures are their own message
    created, filled = to_ann[1]["data"], to_ann[3]["data"]
    assert (created["bot_id"], created["trades"], created["cash"], created["position"]) == (bot["id"], 0, "50000", "0")
    assert filled["trades"] == 1 and filled["quote_currency"] == "ZAR" and Decimal(filled["fees"]) > 0  # in quote
    assert filled["volume"] == trade["cost"] and Decimal(filled["position"]) > 0 > Decimal(filled["cash"]) - 50000
    assert to_ann[4]["data"]["status"] == "paused"
    assert not [m for cid, m in publisher.sent if cid == "bob-1"]


def test_gone_connections_are_cleaned_up(api, publisher):
    ann, _ = api.register()
    _ws("$connect", "stale", token=ann)
    publisher.gone.add("stale")
    api.call("bots", "POST", "/api/bots", {"name": "t", "exchange": "luno", "symbol": "BTC/ZAR",
                                           "strategy": "sma_cross", "capital": "50000"}, token=ann)
    load_handler("broadcaster").handler({"Records": _stream_records()}, LambdaContext())
    assert runtime.connections().get("stale") is None
