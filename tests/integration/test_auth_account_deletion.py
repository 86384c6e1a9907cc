"""DELETE /api/auth/me through the real handlers against moto: the owner's password, everything in the account gone
(bots with their history, the history of bots deleted earlier, keys, injections, training runs, assistant data, the
email claim), sockets closed, tokens revoked, audited; the last admin stays; a training worker still running
afterwards brings nothing back."""

from __future__ import annotations

import boto3
import pytest

from botfleet import runtime
from botfleet.adapters.dynamo.bots import shard_of
from botfleet.adapters.dynamo.schema import bot_pk, user_pk
from tests.integration.conftest import FakePublisher, load_handler
from tests.support.events import LambdaContext, ws_event

PASSWORD = "correct horse 1"
BOT = {"name": "t", "exchange": "binance", "symbol": "BTC/USDT", "strategy": "sma_cross",
       "params": {"fast": 5, "slow": 20}, "capital": "1000"}
FAST_BOT = {"name": "fast", "exchange": "luno", "symbol": "BTC/ZAR", "strategy": "sma_cross",
            "params": {"fast": 2, "slow": 3}, "mode": "paper", "capital": "50000"}


class RecordingExecutions:
    def __init__(self):
        self.started = []

    def start(self, name, payload):
        self.started.append(payload)
        return f"arn:aws:states:us-east-1:123456789012:execution:training:{name}"

    def stop(self, arn, cause):
        pass


@pytest.fixture
def world(aws, monkeypatch):
    """Keys sealed with a moto KMS key, sockets closed through a fake publisher, training executions recorded."""
    key_arn = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["Arn"]
    monkeypatch.setenv("KEYS_KMS_KEY_ID", key_arn)
    runtime.reset()
    publisher = FakePublisher()
    monkeypatch.setattr(runtime, "publisher", lambda: publisher)
    executions = RecordingExecutions()
    monkeypatch.setattr(runtime.training(), "executions", executions)
    return publisher, executions


def _items(pk: str) -> list[dict]:
    return runtime.table().query_all("pk = :pk", {":pk": pk})


def _trainer(event):
    return load_handler("trainer").handler(event, LambdaContext())


def test_deleting_ones_own_account_removes_everything_in_it(api, world):
    publisher, executions = world
    token, ann = api.register()
    bob_token, _ = api.register("bob@example.com", "battery staple 9", "Bob")
    bot = api.call("bots", "POST", "/api/bots", BOT, token=token)[1]
    bobs_bot = api.call("bots", "POST", "/api/bots", BOT, token=bob_token)[1]
    assert api.call("bots", "POST", "/api/capital/injections",
                    {"bot_id": bot["id"], "amount": "100", "kind": "deposit"}, token=token)[0] == 201
    assert api.call("keys", "PUT", "/api/keys/binance", {"api_key": "ak-123456789", "api_secret": "s" * 20},
                    token=token)[0] == 200
    assert api.call("assistant", "POST", "/api/ai/chat", {"message": "status"}, token=token)[0] == 200
    run = api.call("training", "POST", "/api/training/start", {"bot_id": bot["id"], "budget": 20, "candles": 500},
                   token=token)[1]
    (payload,) = executions.started
    prepared = _trainer({"action": "prepare", **payload})  # a training worker is under way
    for connection_id, owner in (("ann-1", token), ("bob-1", bob_token)):
        assert load_handler("ws").handler(ws_event("$connect", connection_id, token=owner),
                                          LambdaContext())["statusCode"] == 200
    sorts = {item["sk"].split("#")[0] for item in _items(user_pk(ann["id"]))}
    assert {"PROFILE", "BOT", "INJECTION", "KEY", "AICHAT", "TRAINING"} <= sorts

    status, body = api.call("auth", "DELETE", "/api/auth/me", {"password": "not my password 3"}, token=token)
    assert (status, body["error"]["code"]) == (403, "wrong_password")
    status, body = api.call("auth", "DELETE", "/api/auth/me", {}, token=token)
    assert status == 422 and body["error"]["message"].startswith("password")
    assert api.call("auth", "DELETE", "/api/auth/me", token=token)[0] == 422  # no body at all
    assert api.call("auth", "GET", "/api/auth/me", token=token)[0] == 200  # nothing happened yet

    assert api.call("auth", "DELETE", "/api/auth/me", {"password": PASSWORD}, token=token) == (204, None)

    assert _items(user_pk(ann["id"])) == [] and _items(bot_pk(bot["id"])) == []
    assert runtime.table().get("EMAIL#ann@example.com", "EMAIL") is None
    assert publisher.closed == ["ann-1"] and runtime.connections().get("bob-1") is not None
    status, body = api.call("auth", "GET", "/api/auth/me", token=token)
    assert (status, body["error"]["code"]) == (401, "token_revoked")
    assert api.call("auth", "POST", "/api/auth/login", {"email": ann["email"], "password": PASSWORD})[0] == 401
    assert api.call("bots", "GET", f"/api/bots/{bobs_bot['id']}", token=bob_token)[0] == 200  # nobody else's
    (entry,) = runtime.audit().log.list(10, None, action="user.delete_self")[0]
    assert entry["actor"] == ann["id"] and entry["target"] == f"user:{ann['id']}"
    assert entry["after"]["bots_removed"] == 1 and entry["after"]["connections_closed"] == 1

    # The worker that was under way finishes after the account went: it writes nothing back.
    results = [_trainer({"action": "evaluate", "item": item}) for item in prepared["chunks"]]
    _trainer({"action": "reduce", "results": results, **payload})
    _trainer({"action": "fail", "error": {"Cause": "late"}, **payload})
    assert _items(user_pk(ann["id"])) == [] and _items(bot_pk(bot["id"])) == []
    assert run["run_id"] == payload["run_id"]
    # The email is free again.
    assert api.call("auth", "POST", "/api/auth/register",
                    {"email": ann["email"], "password": "brand new pass 5", "name": "Ann"})[0] == 201


def test_the_history_a_bot_deleted_earlier_left_goes_with_the_account(api, world):
    token, ann = api.register()
    bot = api.call("bots", "POST", "/api/bots", FAST_BOT, token=token)[1]
    assert load_handler("provision").handler({"action": "market_move", "exchange": "luno", "symbol": "BTC/ZAR",
                                              "move_pct": 5}, LambdaContext())["ok"]
    shard = shard_of(bot["id"], runtime.settings().tick_shards)
    load_handler("engine").handler({"tick_id": "2026-11-24T10:00:00.000Z", "shard": shard}, LambdaContext())
    (trade,) = api.call("bots", "GET", f"/api/bots/{bot['id']}/trades", token=token)[1]["items"]
    assert api.call("bots", "DELETE", f"/api/bots/{bot['id']}", token=token)[0] == 204
    # Deleting a bot keeps its fills (the owner's trade history); deleting the account does not.
    assert [t["id"] for t in api.call("bots", "GET", "/api/trades", token=token)[1]["items"]] == [trade["id"]]
    assert _items(bot_pk(bot["id"]))

    assert api.call("auth", "DELETE", "/api/auth/me", {"password": PASSWORD}, token=token)[0] == 204
    assert _items(bot_pk(bot["id"])) == [] and _items(user_pk(ann["id"])) == []


def test_the_last_admin_cannot_delete_their_account(api):
    runtime.auth().ensure_admin("root@example.com", "admin passphrase 9")
    token = api.call("auth", "POST", "/api/auth/login",
                     {"email": "root@example.com", "password": "admin passphrase 9"})[1]["access_token"]
    status, body = api.call("auth", "DELETE", "/api/auth/me", {"password": "admin passphrase 9"}, token=token)
    assert (status, body["error"]["code"]) == (409, "last_admin")
    assert api.call("auth", "GET", "/api/auth/me", token=token)[0] == 200

    runtime.auth().register("deputy@example.com", "another admin pass 4", "Second", role="admin")
    assert api.call("auth", "DELETE", "/api/auth/me", {"password": "admin passphrase 9"}, token=token)[0] == 204
    assert runtime.users().get_by_email("root@example.com") is None


def test_deleting_an_account_needs_a_token(api):
    status, body = api.call("auth", "DELETE", "/api/auth/me", {"password": PASSWORD})
    assert (status, body["error"]["code"]) == (401, "not_authenticated")
