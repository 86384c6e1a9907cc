"""Training runs through the real handlers against moto, with the state machine's steps driven directly (the
local cloud e2e runs them in Step Functions): start → prepare → evaluate chunks → reduce; 409; stop; apply."""

from __future__ import annotations

import pytest

from botfleet import runtime
from tests.integration.conftest import load_handler
from tests.support.events import LambdaContext

BOT = {"name": "t", "exchange": "binance", "symbol": "BTC/USDT", "strategy": "sma_cross",
       "params": {"fast": 5, "slow": 20}, "capital": "1000"}


class RecordingExecutions:
    def __init__(self):
        self.started, self.stopped = [], []

    def start(self, name, payload):
        self.started.append((name, payload))
        return f"arn:aws:states:us-east-1:123456789012:execution:training:{name}"

    def stop(self, arn, cause):
        self.stopped.append(arn)


@pytest.fixture
def executions(api, monkeypatch):
    fake = RecordingExecutions()
    service = runtime.training()
    monkeypatch.setattr(service, "executions", fake)
    return fake


def _trainer(event):
    return load_handler("trainer").handler(event, LambdaContext())


def _run_state_machine(payload):
    prepared = _trainer({"action": "prepare", **payload})
    results = [_trainer({"action": "evaluate", "item": item}) for item in prepared["chunks"]]
    return prepared, _trainer({"action": "reduce", "results": results, **payload})


def test_a_run_trains_reports_progress_and_its_model_is_applied_explicitly(api, executions):
    token, _ = api.register()
    bot = api.call("bots", "POST", "/api/bots", BOT, token=token)[1]
    status, run = api.call("training", "POST", "/api/training/start", {"bot_id": bot["id"], "budget": 120,
                                                                       "candles": 3000}, token=token)
    assert status == 202 and run["status"] == "queued" and run["bot_id"] == bot["id"]
    status, again = api.call("training", "POST", "/api/training/start", {"bot_id": bot["id"]}, token=token)
    assert (status, again["error"]["code"]) == (409, "training_running")
    ((name, payload),) = executions.started
    assert name == run["run_id"]

    prepared = _trainer({"action": "prepare", **payload})
    assert prepared["total_chunks"] == 2 and [c["chunk"] for c in prepared["chunks"]] == [0, 1]
    first = _trainer({"action": "evaluate", "item": prepared["chunks"][0]})
    assert _trainer({"action": "evaluate", "item": prepared["chunks"][0]}) == first  # a retry: same sets, same result
    halfway = api.call("training", "GET", f"/api/training/status/{run['run_id']}", token=token)[1]
    assert halfway["status"] == "running" and halfway["progress"] == 0.5  # the retried chunk counted once
    second = _trainer({"action": "evaluate", "item": prepared["chunks"][1]})
    _trainer({"action": "reduce", "results": [first, second], **payload})

    done = api.call("training", "GET", f"/api/training/status/{run['run_id']}", token=token)[1]
    assert done["status"] == "succeeded" and done["progress"] == 1.0
    best = done["best"]
    assert set(best["params"]) == {"fast", "slow"} and best["params"]["fast"] < best["params"]["slow"]
    assert best["in_sample"]["trades"] >= 3 and "total_return" in best["out_of_sample"]
    # the contract's shape, {params, metrics}: the in/out-of-sample metrics and the score behind the choice
    assert best["metrics"] == {key: best[key] for key in ("score", "in_sample", "out_of_sample", "validated")}
    # training never changes the bot by itself
    assert api.call("bots", "GET", f"/api/bots/{bot['id']}", token=token)[1]["params"] == BOT["params"]
    applied = api.call("training", "POST", "/api/training/apply", {"run_id": run["run_id"]}, token=token)[1]
    assert applied["params"] == best["params"]
    # the bot is free to train again, and history lists the runs newest first
    assert api.call("training", "POST", "/api/training/start", {"bot_id": bot["id"]}, token=token)[0] == 202
    history = api.call("training", "GET", f"/api/training/history?bot_id={bot['id']}", token=token)[1]["items"]
    assert [r["status"] for r in history] == ["queued", "succeeded"]
    # A stop that read the run as running before it succeeded must not turn the saved model's run "stopped".
    runs = runtime.training().runs
    assert runs.finish(payload["owner_id"], run["run_id"], "stopped", "2030-01-01T00:00:00.000Z", {}) is False
    assert api.call("training", "GET", f"/api/training/status/{run['run_id']}", token=token)[1]["status"] == "succeeded"


def test_stop_turns_a_run_stopped_and_late_workers_cannot_revive_it(api, executions):
    token, _ = api.register()
    bot = api.call("bots", "POST", "/api/bots", BOT, token=token)[1]
    run = api.call("training", "POST", "/api/training/start", {"bot_id": bot["id"]}, token=token)[1]
    stopped = api.call("training", "POST", "/api/training/stop", {"run_id": run["run_id"]}, token=token)[1]
    assert stopped["status"] == "stopped" and executions.stopped
    ((_, payload),) = executions.started
    _run_state_machine(payload)  # a worker that was already running finishes after the stop
    assert api.call("training", "GET", f"/api/training/status/{run['run_id']}", token=token)[1]["status"] == "stopped"
    assert api.call("training", "POST", "/api/training/stop", {"run_id": run["run_id"]}, token=token)[0] == 409


def test_runs_are_private_and_inputs_validated(api, executions):
    ann, _ = api.register()
    bob, _ = api.register("bob@example.com", "battery staple 9", "Bob")
    bot = api.call("bots", "POST", "/api/bots", BOT, token=ann)[1]
    run = api.call("training", "POST", "/api/training/start", {"bot_id": bot["id"]}, token=ann)[1]
    assert api.call("training", "GET", f"/api/training/status/{run['run_id']}", token=bob)[0] == 404
    assert api.call("training", "POST", "/api/training/stop", {"run_id": run["run_id"]}, token=bob)[0] == 404
    assert api.call("training", "POST", "/api/training/start", {"bot_id": bot["id"]}, token=bob)[0] == 404
    assert api.call("training", "GET", "/api/training/history", token=bob)[1]["items"] == []
    other = api.call("bots", "POST", "/api/bots", BOT, token=ann)[1]
    status, body = api.call("training", "POST", "/api/training/start", {"bot_id": other["id"], "budget": 0},
                            token=ann)
    assert (status, body["error"]["code"]) == (422, "validation_error") and "budget" in body["error"]["message"]


def test_a_failed_step_marks_the_run_failed_and_frees_the_bot(api, executions):
    token, _ = api.register()
    bot = api.call("bots", "POST", "/api/bots", BOT, token=token)[1]
    run = api.call("training", "POST", "/api/training/start", {"bot_id": bot["id"]}, token=token)[1]
    ((_, payload),) = executions.started
    _trainer({"action": "fail", "error": {"Error": "Lambda.Unknown", "Cause": "boom"}, **payload})
    failed = api.call("training", "GET", f"/api/training/status/{run['run_id']}", token=token)[1]
    assert failed["status"] == "failed" and "boom" in failed["error"]
    assert api.call("training", "POST", "/api/training/start", {"bot_id": bot["id"]}, token=token)[0] == 202
