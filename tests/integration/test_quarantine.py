"""The quarantine flow through the real handlers against moto, with the state machine's steps driven directly
(the e2e runs them in Step Functions on the local cloud)."""

from __future__ import annotations

import pytest

from botfleet import runtime
from botfleet.adapters.dynamo.bots import shard_of
from botfleet.errors import AlreadyExists
from tests.integration.conftest import load_handler
from tests.support.events import LambdaContext

BOT = {"name": "nervous", "exchange": "luno", "symbol": "BTC/ZAR", "strategy": "sma_cross",
       "params": {"fast": 2, "slow": 3}, "capital": "50000", "risk": {"max_drawdown_pct": "2"}}


class Executions:
    """Step Functions as the engine sees it: a name is started once; a second start is refused."""

    def __init__(self):
        self.started, self.stopped = {}, []

    def start(self, name, payload):
        if name in self.started:
            raise AlreadyExists(name)
        self.started[name] = payload
        return name

    def stop_by_name(self, name, cause):
        self.stopped.append(name)


@pytest.fixture
def executions(api, monkeypatch):
    fake = Executions()
    monkeypatch.setattr(runtime.quarantine(), "executions", fake)
    return fake


def _move(pct):
    load_handler("provision").handler({"action": "market_move", "exchange": "luno", "symbol": "BTC/ZAR",
                                       "move_pct": pct}, LambdaContext())


def _tick(bot_id, minute):
    shard = shard_of(bot_id, runtime.settings().tick_shards)
    return load_handler("engine").handler({"tick_id": f"2026-11-24T12:{minute:02d}:00.000Z", "shard": shard},
                                          LambdaContext())


def _step(action, payload, **extra):
    if action == "begin":  # the state machine hands its first step the execution's input, whole
        extra = {"started": payload, **extra}
    return load_handler("quarantiner").handler({"action": action, **payload, **extra}, LambdaContext())


def _trip(api, token, bot_id, minute):
    _move(4)
    _tick(bot_id, minute)
    _move(-6)
    return _tick(bot_id, minute + 1)


def test_a_trip_starts_one_quarantine_which_retrains_and_redeploys(api, executions):
    token, _ = api.register()
    bot = api.call("bots", "POST", "/api/bots", BOT, token=token)[1]
    report = _trip(api, token, bot["id"], 0)
    assert report["quarantined"] == 1
    ((name, payload),) = executions.started.items()
    assert payload["pause_number"] == 1 and payload["tick_id"]  # named after (bot, pause, the tick that tripped it)
    assert name == f"{bot['id']}-pause-1-" + "".join(ch for ch in payload["tick_id"] if ch.isalnum())
    assert _tick(bot["id"], 1)["quarantined"] == 0  # the same tick replayed: nothing new starts

    ladder = _step("begin", payload)
    assert ladder == {"skip": False, "regenerate": False, "wait_seconds": 3600, "extension": 0}
    status = api.call("quarantine", "GET", "/api/quarantine/status", token=token)[1]["items"]
    (row,) = status
    assert row["stage"] == "waiting" and row["reason"] == "max_drawdown" and row["pause_count"] == 1
    assert 3500 < row["seconds_remaining"] <= 3600 and row["release_at"]

    retrained = _step("retrain", payload)
    assert set(retrained) == {"validated", "params"}
    if not retrained["validated"]:
        ladder = _step("extend", payload, extension=0)
        assert ladder["wait_seconds"] == 10800
        retrained = {"params": {"fast": 3, "slow": 9}}
    _step("redeploy", payload, params=retrained["params"])
    back = api.call("bots", "GET", f"/api/bots/{bot['id']}", token=token)[1]
    assert back["status"] == "running" and back["params"] == retrained["params"] and back["quarantine"] is None
    kinds = [e["kind"] for e in api.call("quarantine", "GET", f"/api/quarantine/history?bot_id={bot['id']}",
                                         token=token)[1]["items"]]
    assert kinds[0] == "redeployed" and kinds[-1] == "quarantined" and "retraining" in kinds


def test_the_last_rung_regenerates_the_bot(api, executions):
    token, _ = api.register()
    bot = api.call("bots", "POST", "/api/bots", BOT, token=token)[1]
    admin = runtime.auth().ensure_admin("root@example.com", "admin passphrase 9")[0]
    from botfleet.services.auth import Principal

    runtime.quarantine().set_config(Principal(admin["id"], admin["email"], "A", "admin"),
                                    {"durations_seconds": [60], "max_pauses": 1})
    _trip(api, token, bot["id"], 0)
    ((_, payload),) = executions.started.items()
    assert _step("begin", payload)["regenerate"] is True
    successor_id = _step("regenerate", payload)["successor_id"]
    assert api.call("bots", "GET", f"/api/bots/{bot['id']}", token=token)[0] == 404
    successor = api.call("bots", "GET", f"/api/bots/{successor_id}", token=token)[1]
    assert (successor["generation"], successor["parent_id"], successor["status"]) == (2, bot["id"], "running")
    assert (successor["exchange"], successor["symbol"]) == ("luno", "BTC/ZAR") and successor["pause_count"] == 0
    # the parent's trades stay in its history
    assert api.call("bots", "GET", f"/api/trades?bot_id={bot['id']}", token=token)[1]["items"]


def test_resuming_a_quarantined_bot_stops_its_execution_and_a_stale_one_is_skipped(api, executions):
    token, _ = api.register()
    bot = api.call("bots", "POST", "/api/bots", BOT, token=token)[1]
    _trip(api, token, bot["id"], 0)
    ((name, payload),) = executions.started.items()
    _step("begin", payload)
    resumed = api.call("bots", "POST", f"/api/bots/{bot['id']}/resume", token=token)[1]
    assert resumed["status"] == "running" and executions.stopped == [name]
    assert _step("begin", payload) == {"skip": True}  # a late step of the stopped execution does nothing


def test_config_is_public_to_read_and_admin_only_to_change(api, executions):
    token, _ = api.register()
    assert api.call("quarantine", "GET", "/api/quarantine/config", token=token)[1] == {
        "durations_seconds": [3600, 10800, 86400], "max_pauses": 4}
    body = {"durations_seconds": [600, 1200], "max_pauses": 3}
    assert api.call("quarantine", "PUT", "/api/quarantine/config", body, token=token)[0] == 403
    runtime.auth().ensure_admin("root@example.com", "admin passphrase 9")
    admin = api.call("auth", "POST", "/api/auth/login", {"email": "root@example.com",
                                                         "password": "admin passphrase 9"})[1]["access_token"]
    assert api.call("quarantine", "PUT", "/api/quarantine/config", body, token=admin)[1] == body
    status, error = api.call("quarantine", "PUT", "/api/quarantine/config",
                             {"durations_seconds": [600, 300], "max_pauses": 3}, token=admin)
    assert status == 422 and "ascending" in error["error"]["message"]
    (entry,) = runtime.audit().log.list(10, None, action="quarantine.config")[0]
    assert entry["after"] == {"durations_seconds": [600, 1200], "max_pauses": 3}
