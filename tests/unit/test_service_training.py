"""TrainingService built from in-memory fakes: one run per bot at a time (the lock), stop wins over a late finish,
late workers cannot revive a stopped run, a trained model is applied only after success and only when asked."""

from __future__ import annotations

import json

import pytest

from botfleet.clock import FixedClock
from botfleet.domain.strategies import STRATEGIES, validate_params
from botfleet.domain.training import search_space
from botfleet.domain.training_limits import MAX_BUDGET, MAX_CANDLES
from botfleet.errors import BadRequest, Conflict, NotFound, Unprocessable
from botfleet.services.auth import Principal
from botfleet.services.training import TrainingService
from tests.support.fakes import FakeBotRepository, FakeExecutions, FakeMarket, FakeTrainingRuns, a_bot

ANN = Principal("usr_ann", "ann@example.com", "Ann", "user")
BOB = Principal("usr_bob", "bob@example.com", "Bob", "user")
BUDGET, CANDLES = 20, 500  # small: the chunk evaluation really backtests


def scored(params: dict, score: float = 1.5, *, validated: bool = True) -> dict:
    """A chunk's candidate as `evaluate` returns it."""
    out = {"total_return": 0.01 if validated else -0.5, "trades": 4, "win_rate": 0.5, "max_drawdown": 0.02,
           "sharpe": 1.0, "exposure": 0.3}
    return {"params": params, "score": score, "in_sample": dict(out), "out_of_sample": out}


class World:
    def __init__(self, *, fail_starts: bool = False):
        self.clock = FixedClock()
        self.runs = FakeTrainingRuns()
        self.bots = FakeBotRepository()
        self.executions = FakeExecutions(fail_starts=fail_starts)
        self.service = TrainingService(self.runs, self.bots, FakeMarket(), self.executions, self.clock)
        self.bot = a_bot(ANN.user_id)
        self.bots.create(self.bot)

    def start(self, bot_id: str | None = None, owner: Principal = ANN) -> dict:
        run = self.service.start(owner, bot_id or self.bot.id, BUDGET, CANDLES)
        self.clock.advance(seconds=1)
        return run

    def status(self, run_id: str, owner: Principal = ANN) -> dict:
        return self.service.status(owner, run_id)


@pytest.fixture
def world():
    return World()


def test_start_creates_a_queued_run_and_starts_its_execution(world):
    run = world.start()
    assert run["status"] == "queued" and run["bot_id"] == world.bot.id and run["progress"] == 0.0
    assert (run["budget"], run["candles"], run["strategy"]) == (BUDGET, CANDLES, "sma_cross")
    assert world.executions.started == {
        run["run_id"]: {"run_id": run["run_id"], "owner_id": ANN.user_id, "bot_id": world.bot.id}}
    assert world.runs.get(ANN.user_id, run["run_id"])["execution_arn"] == world.executions.arn_of(run["run_id"])
    assert world.runs.locks[world.bot.id]["run_id"] == run["run_id"]


@pytest.mark.parametrize(("budget", "candles", "field"), [(0, None, "budget"), (5001, None, "budget"),
                                                          (None, 499, "candles"), (None, 43_201, "candles")])
def test_out_of_range_sizes_are_refused_before_anything_is_locked(world, budget, candles, field):
    with pytest.raises(Unprocessable) as refused:
        world.service.start(ANN, world.bot.id, budget, candles)
    assert refused.value.field == field
    assert world.runs.runs == {} and world.runs.locks == {} and world.executions.started == {}


def test_defaults_apply_when_sizes_are_left_out(world):
    run = world.service.start(ANN, world.bot.id, None, None)
    assert (run["budget"], run["candles"]) == (400, 4320)


def test_someone_elses_bot_and_run_are_404s(world):
    with pytest.raises(NotFound):
        world.start(owner=BOB)
    run = world.start()
    with pytest.raises(NotFound):
        world.status(run["run_id"], owner=BOB)
    with pytest.raises(NotFound):
        world.service.stop(BOB, run["run_id"])
    with pytest.raises(NotFound):
        world.service.history(BOB, world.bot.id, 10, None)


def test_one_run_per_bot_at_a_time(world):
    first = world.start()
    with pytest.raises(Conflict) as busy:
        world.start()
    assert busy.value.code == "training_running"
    assert list(world.executions.started) == [first["run_id"]]  # no second execution
    other = a_bot(ANN.user_id, name="other")
    world.bots.create(other)
    assert world.start(other.id)["status"] == "queued"  # another bot trains at the same time


def test_a_lock_left_by_a_crashed_run_expires_after_an_hour(world):
    world.start()
    world.clock.advance(minutes=59)
    with pytest.raises(Conflict):
        world.start()
    world.clock.advance(minutes=2)
    assert world.start()["status"] == "queued"


def test_stop_ends_the_run_stops_its_execution_and_frees_the_bot(world):
    run = world.start()
    stopped = world.service.stop(ANN, run["run_id"])
    assert stopped["status"] == "stopped" and stopped["finished_at"] == "2026-01-01T00:00:01.000Z"
    assert world.executions.stopped == [(world.executions.arn_of(run["run_id"]), "stopped by its owner")]
    assert world.bot.id not in world.runs.locks
    with pytest.raises(Conflict) as again:
        world.service.stop(ANN, run["run_id"])
    assert again.value.code == "run_finished"
    assert world.start()["status"] == "queued"


def test_a_start_that_fails_leaves_a_failed_run_and_no_lock():
    world = World(fail_starts=True)
    with pytest.raises(ConnectionError):
        world.service.start(ANN, world.bot.id, BUDGET, CANDLES)
    [failed] = world.runs.runs.values()
    assert failed["status"] == "failed" and failed["error"] == "could not start: ConnectionError"
    assert world.runs.locks == {}


def test_the_state_machine_steps_run_a_training_to_success(world):
    run = world.start()
    prepared = world.service.prepare(run["run_id"], ANN.user_id, world.bot.id)
    assert prepared["total_chunks"] == 1 and len(world.service.chunk_sets(prepared["chunks"][0])) == BUDGET
    assert world.status(run["run_id"])["status"] == "running"
    results = [world.service.evaluate(chunk) for chunk in prepared["chunks"]]
    assert world.status(run["run_id"])["chunks"] == {"done": 1, "total": 1}
    reduced = world.service.reduce(run["run_id"], ANN.user_id, world.bot.id, results)
    done = world.status(run["run_id"])
    assert reduced["status"] == done["status"] == "succeeded" and done["progress"] == 1.0
    assert done["best"]["params"] == reduced["best"]["params"]
    assert (world.bot.id, run["run_id"]) in world.runs.models
    assert world.bot.id not in world.runs.locks


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_the_largest_run_keeps_the_state_machines_state_under_its_256_kib_limit(strategy):
    # Step Functions fails an execution whose state passes 256 KiB, and no Catch sees it: the run would stay
    # "running" with its bot locked. The state holds the prepared items and then every chunk's kept results.
    world = World()
    bot = a_bot(ANN.user_id, strategy=strategy, params=validate_params(STRATEGIES[strategy], None))
    world.bots.create(bot)
    run = world.service.start(ANN, bot.id, MAX_BUDGET, MAX_CANDLES)
    prepared = world.service.prepare(run["run_id"], ANN.user_id, bot.id)
    sets = [world.service.chunk_sets(item) for item in prepared["chunks"]]
    assert sum(map(len, sets)) == len(search_space(strategy, MAX_BUDGET, seed=run["run_id"]))
    results = [[scored(chunk[0], 1.23456789)] * 5 for chunk in sets]  # evaluate keeps 5 a chunk
    state = {"run_id": run["run_id"], "owner_id": ANN.user_id, "bot_id": bot.id, "prepared": prepared,
             "results": results}
    assert len(json.dumps(state, separators=(",", ":"))) < 200 * 1024


def test_stop_wins_over_a_late_finish(world):
    run = world.start()
    world.service.prepare(run["run_id"], ANN.user_id, world.bot.id)
    world.service.stop(ANN, run["run_id"])
    world.service.reduce(run["run_id"], ANN.user_id, world.bot.id, [[scored({"fast": 4, "slow": 30})]])
    world.service.fail(run["run_id"], ANN.user_id, world.bot.id, "a worker crashed late")
    after = world.status(run["run_id"])
    assert after["status"] == "stopped" and after["best"] is None and after["error"] is None
    with pytest.raises(Conflict) as nothing:
        world.service.apply(ANN, run["run_id"])
    assert nothing.value.code == "no_model"
    assert world.bots.get(ANN.user_id, world.bot.id).params == world.bot.params


def test_late_workers_cannot_revive_a_stopped_run(world):
    run = world.start()
    prepared = world.service.prepare(run["run_id"], ANN.user_id, world.bot.id)
    world.service.stop(ANN, run["run_id"])
    world.service.evaluate(prepared["chunks"][0])  # a chunk still in flight reports its progress
    world.service.prepare(run["run_id"], ANN.user_id, world.bot.id)  # a retried prepare
    after = world.status(run["run_id"])
    assert after["status"] == "stopped" and after["chunks"]["done"] == 0


def test_a_late_end_of_a_stopped_run_does_not_unlock_the_next_run(world):
    old = world.start()
    world.service.stop(ANN, old["run_id"])
    new = world.start()
    world.service.reduce(old["run_id"], ANN.user_id, world.bot.id, [[scored({"fast": 4, "slow": 30})]])
    assert world.runs.locks[world.bot.id]["run_id"] == new["run_id"]
    with pytest.raises(Conflict):
        world.start()


def test_a_run_where_nothing_traded_enough_fails_and_has_nothing_to_apply(world):
    run = world.start()
    reduced = world.service.reduce(run["run_id"], ANN.user_id, world.bot.id,
                                   [[{**scored({"fast": 4, "slow": 30}), "score": None}]])
    assert reduced == {"status": "failed"}
    failed = world.status(run["run_id"])
    assert failed["status"] == "failed" and "no parameter set made 3 trades" in failed["error"]
    with pytest.raises(Conflict, match="no trained model"):
        world.service.apply(ANN, run["run_id"])


def test_apply_only_after_success_and_then_gives_the_bot_the_best_parameters(world):
    run = world.start()
    with pytest.raises(Conflict):
        world.service.apply(ANN, run["run_id"])  # queued: nothing trained yet
    world.service.reduce(run["run_id"], ANN.user_id, world.bot.id,
                         [[scored({"fast": 4, "slow": 30}, 0.5)], [scored({"fast": 7, "slow": 40}, 2.0)]])
    assert world.bots.get(ANN.user_id, world.bot.id).params == {"fast": 3, "slow": 8}  # never applied silently
    applied = world.service.apply(ANN, run["run_id"])
    assert applied.params == {"fast": 7, "slow": 40}  # the best of every chunk
    stored = world.bots.get(ANN.user_id, world.bot.id)
    assert stored.params == {"fast": 7, "slow": 40} and stored.version == world.bot.version + 1
    with pytest.raises(NotFound):
        world.service.apply(BOB, run["run_id"])


def test_apply_retries_over_a_concurrent_write_and_gives_up_when_the_bot_keeps_changing(world):
    run = world.start()
    world.service.reduce(run["run_id"], ANN.user_id, world.bot.id, [[scored({"fast": 7, "slow": 40})]])
    world.bots.interfere(lambda bot: bot)  # a tick wrote the bot between the read and the save
    assert world.service.apply(ANN, run["run_id"]).params == {"fast": 7, "slow": 40}
    world.bots.interfere(lambda bot: bot, times=3)
    with pytest.raises(Conflict) as busy:
        world.service.apply_params(ANN.user_id, world.bot.id, {"fast": 5, "slow": 9})
    assert busy.value.code == "concurrent_update"
    with pytest.raises(NotFound):
        world.service.apply_params(ANN.user_id, "bot_gone", {"fast": 5, "slow": 9})


def test_apply_refuses_parameters_the_strategy_does_not_allow(world):
    with pytest.raises(Unprocessable):
        world.service.apply_params(ANN.user_id, world.bot.id, {"fast": 40, "slow": 9})  # fast must be faster


def test_history_is_newest_first_per_bot_or_for_the_owner_and_pages(world):
    other = a_bot(ANN.user_id, name="other")
    world.bots.create(other)
    runs = []
    for _ in range(3):
        runs.append(world.start())
        world.service.stop(ANN, runs[-1]["run_id"])
    runs.append(world.start(other.id))
    page, cursor = world.service.history(ANN, world.bot.id, 2, None)
    assert [r["run_id"] for r in page] == [runs[2]["run_id"], runs[1]["run_id"]] and cursor
    rest, end = world.service.history(ANN, world.bot.id, 2, cursor)
    assert [r["run_id"] for r in rest] == [runs[0]["run_id"]] and end is None
    everything, _ = world.service.history(ANN, None, 10, None)
    assert [r["run_id"] for r in everything] == [r["run_id"] for r in reversed(runs)]
    assert world.service.history(BOB, None, 10, None) == ([], None)
    with pytest.raises(BadRequest):
        world.service.history(ANN, other.id, 2, cursor)  # a cursor of another listing
