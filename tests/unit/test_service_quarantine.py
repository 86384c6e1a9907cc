"""QuarantineService built from in-memory fakes: the admin's configuration and its audit, the ladder's steps on the
bot, the history per owner (filtered by bot), a redeploy that rebases the books and ends the quarantine, the
successor of a regenerated bot."""

from __future__ import annotations

from dataclasses import replace

import pytest

from botfleet.clock import FixedClock
from botfleet.domain.quarantine import LONGEST_QUARANTINE_SECONDS, MAX_EXTENSIONS, QuarantineState
from botfleet.errors import BadRequest, Conflict, NotFound, Unprocessable, WriteConflict
from botfleet.services.admin import AuditTrail
from botfleet.services.auth import Principal
from botfleet.services.bots import BotService
from botfleet.services.quarantine import QuarantineService, QuarantineSuperseded, ValidationsExhausted, execution_name
from tests.support.fakes import (
    FakeAuditLog,
    FakeBotRepository,
    FakeExecutions,
    FakeMarket,
    FakeQuarantineLog,
    FakeTradeRepository,
    a_bot,
)

ADMIN = Principal("usr_root", "root@example.com", "Root", "admin")
ANN = Principal("usr_ann", "ann@example.com", "Ann", "user")
BOB = Principal("usr_bob", "bob@example.com", "Bob", "user")
TICK = "2026-01-01T00:01:00Z"


class World:
    def __init__(self, *, time_scale: float = 1.0):
        self.clock = FixedClock()
        self.log = FakeQuarantineLog()
        self.bots = FakeBotRepository()
        self.executions = FakeExecutions()
        self.audit_log = FakeAuditLog()
        self.service = QuarantineService(self.log, self.bots, FakeMarket(), self.executions, self.clock,
                                         time_scale=time_scale, audit=AuditTrail(self.audit_log, self.clock))

    def tripped_bot(self, owner: Principal = ANN, *, pause_count: int = 1, name: str = "grid-1"):
        """A bot the engine paused at a breaker trip: its breakers started long ago and it has a losing streak."""
        bot = a_bot(owner.user_id, name=name, status="paused", pause_reason="max_drawdown", pause_count=pause_count)
        bot = replace(bot, ledger=replace(bot.ledger, rebase_pending=False, consecutive_losses=4))
        self.bots.create(bot)
        return bot

    def bot(self, bot):
        return self.bots.get(bot.owner_id, bot.id)

    def later(self, **delta):
        self.clock.advance(**(delta or {"seconds": 1}))


@pytest.fixture
def world():
    return World()


# --- configuration -------------------------------------------------------------------------------------------

def test_the_configuration_defaults_to_the_ladder_and_round_trips_with_an_audit_entry(world):
    assert world.service.config().to_json() == {"durations_seconds": [3600, 10800, 86400], "max_pauses": 4}
    saved = world.service.set_config(ADMIN, {"durations_seconds": [60, 120], "max_pauses": 3}, "req-1")
    assert saved == {"durations_seconds": [60, 120], "max_pauses": 3}
    assert world.service.config().to_json() == saved
    assert world.log.saved_config["updated_by"] == ADMIN.user_id
    [entry] = world.audit_log.entries
    assert (entry["action"], entry["actor"], entry["target"], entry["request_id"]) == (
        "quarantine.config", ADMIN.user_id, "config:quarantine", "req-1")
    assert entry["before"] == {"durations_seconds": [3600, 10800, 86400], "max_pauses": 4}
    assert entry["after"] == saved


@pytest.mark.parametrize("raw", [{"durations_seconds": [120, 60], "max_pauses": 3},
                                 {"durations_seconds": [], "max_pauses": 3},
                                 {"durations_seconds": [60], "max_pauses": 0},
                                 {"durations_seconds": [60, True], "max_pauses": 2}])
def test_a_bad_configuration_is_refused_and_neither_saved_nor_audited(world, raw):
    with pytest.raises(Unprocessable):
        world.service.set_config(ADMIN, raw)
    assert world.log.saved_config is None and world.audit_log.entries == []


# --- the trigger and the ladder ------------------------------------------------------------------------------

def test_the_trigger_starts_one_execution_per_bot_and_pause(world):
    bot = replace(world.tripped_bot(), last_tick=TICK)
    world.service.trigger(bot, 1)
    world.service.trigger(bot, 1)  # a replayed tick
    world.service.trigger(bot, 2)
    assert world.executions.started == {
        execution_name(bot.id, 1, TICK): {"owner_id": ANN.user_id, "bot_id": bot.id, "pause_number": 1,
                                          "tick_id": TICK},
        execution_name(bot.id, 2, TICK): {"owner_id": ANN.user_id, "bot_id": bot.id, "pause_number": 2,
                                          "tick_id": TICK}}
    assert execution_name(bot.id, 1, TICK) == f"{bot.id}-pause-1-20260101T000100Z"  # no ':' in a name


def test_a_trip_whose_write_never_landed_leaves_the_next_trip_its_own_quarantine(world):
    # Tick T trips the bot (pause 1) and starts its execution, but T's write loses to the owner's rename: the bot
    # stays running with pause count 0, and that execution skips and closes. The trip at T+1 is pause 1 again; its
    # execution must start (Step Functions refuses a closed execution's name) and quarantine the bot.
    running = a_bot(ANN.user_id, last_tick="2026-01-01T00:00:00Z")
    world.bots.create(running)
    world.service.trigger(replace(running, status="paused", pause_count=1, last_tick=TICK), 1)
    first = execution_name(running.id, 1, TICK)
    world.service.sleep = lambda seconds: world.later(seconds=seconds)
    assert world.service.begin(ANN.user_id, running.id, 1, TICK) == {"skip": True}
    world.executions.close(first)
    later = "2026-01-01T00:02:00Z"
    tripped = world.bots.save(replace(world.bot(running), status="paused", pause_reason="max_drawdown",
                                      pause_count=1, last_tick=later))
    world.service.trigger(tripped, 1)
    second = execution_name(running.id, 1, later)
    assert second != first and second in world.executions.started
    assert world.service.begin(ANN.user_id, running.id, 1, TICK) == {"skip": True}  # T's, had it still run
    assert world.service.begin(ANN.user_id, running.id, 1, later)["skip"] is False
    assert world.bot(running).status == "quarantined" and world.bot(running).quarantine.tick == later
    world.service.release(world.bot(running))
    assert world.executions.stopped == [(world.executions.arn_of(second), "put back in the market by hand")]


def test_begin_quarantines_the_bot_for_its_rung_of_the_ladder(world):
    bot = world.tripped_bot(pause_count=2)
    assert world.service.begin(ANN.user_id, bot.id, 2) == {"skip": False, "regenerate": False,
                                                            "wait_seconds": 10800, "extension": 0}
    stored = world.bot(bot)
    assert stored.status == "quarantined"
    assert stored.quarantine == QuarantineState(stage="waiting", pause_number=2, wait_seconds=10800,
                                                reason="max_drawdown", since="2026-01-01T00:00:00.000Z")
    [event] = world.service.history(ANN, bot.id, 10, None)[0]
    assert (event["kind"], event["pause_number"], event["wait_seconds"]) == ("quarantined", 2, 10800)


def test_begin_waits_for_the_pause_it_was_started_for_to_be_written(world):
    """The tick starts the execution just before it writes the pause: the first step may see the bot still
    running. It waits for the write (here landing at the second look) instead of skipping a real pause."""
    bot = world.tripped_bot(pause_count=1)
    world.bots.save(replace(world.bot(bot), status="running", pause_reason=None))
    looks = []

    def tick_writes_meanwhile(seconds):
        looks.append(seconds)
        world.clock.advance(seconds=seconds)
        if len(looks) == 2:
            current = world.bot(bot)
            world.bots.save(replace(current, status="paused", pause_reason="max_drawdown", pause_count=2))

    world.service.sleep = tick_writes_meanwhile
    assert world.service.begin(ANN.user_id, bot.id, 2)["skip"] is False
    assert len(looks) == 2 and world.bot(bot).status == "quarantined"


def test_begin_gives_up_on_a_pause_that_never_lands(world):
    bot = world.tripped_bot(pause_count=1)
    world.bots.save(replace(world.bot(bot), status="running", pause_reason=None))
    waited = []
    world.service.sleep = lambda seconds: (waited.append(seconds), world.clock.advance(seconds=seconds))
    assert world.service.begin(ANN.user_id, bot.id, 2) == {"skip": True}
    assert 9.9 <= sum(waited) <= 10.2 and world.bot(bot).status == "running"


def test_begin_skips_a_pause_that_did_not_happen_or_was_resumed(world):
    bot = world.tripped_bot(pause_count=1)
    assert world.service.begin(ANN.user_id, bot.id, 2) == {"skip": True}
    world.bots.save(replace(world.bot(bot), status="running", pause_reason=None))
    assert world.service.begin(ANN.user_id, bot.id, 1) == {"skip": True}
    assert world.service.begin(ANN.user_id, "bot_gone", 1) == {"skip": True}
    assert world.log.events == {}


def test_the_last_rung_regenerates(world):
    bot = world.tripped_bot(pause_count=4)
    assert world.service.begin(ANN.user_id, bot.id, 4)["regenerate"] is True
    assert world.bot(bot).quarantine.stage == "regenerating"


def test_status_counts_down_a_waiting_quarantine_in_scaled_time():
    world = World(time_scale=60.0)  # an emulator running the ladder 60 times faster
    bot = world.tripped_bot()
    world.service.begin(ANN.user_id, bot.id, 1)
    world.clock.advance(seconds=30)  # half of the 3600 ladder-seconds, at 60x
    [row] = world.service.status(ANN)
    assert row["bot_id"] == bot.id and row["stage"] == "waiting" and row["reason"] == "max_drawdown"
    assert row["seconds_remaining"] == 1800.0 and row["progress"] == 0.5
    assert row["release_at"] == "2026-01-01T00:01:00.000Z"
    assert world.service.status(BOB) == []


def test_a_failed_validation_extends_the_wait_up_the_ladder(world):
    bot = world.tripped_bot()
    world.service.begin(ANN.user_id, bot.id, 1)
    world.later()
    step = world.service.extend(ANN.user_id, bot.id, 1, 0)
    assert step == {"skip": False, "regenerate": False, "wait_seconds": 10800, "extension": 1}
    assert world.bot(bot).quarantine.since == "2026-01-01T00:00:01.000Z"
    assert world.service.extend(ANN.user_id, bot.id, 1, 4)["wait_seconds"] == 86400  # beyond the ladder: longest


def test_a_quarantine_whose_models_keep_failing_validation_ends_and_leaves_the_bot_paused_for_a_person(world):
    # Unbounded, the waits would outlast the execution's timeout, which no Catch sees: "quarantined" for good.
    bot = world.tripped_bot()
    world.service.begin(ANN.user_id, bot.id, 1)
    world.later()
    with pytest.raises(ValidationsExhausted) as exhausted:
        world.service.extend(ANN.user_id, bot.id, 1, MAX_EXTENSIONS)
    error = {"Error": "ValidationsExhausted", "Cause": str(exhausted.value)}
    assert world.service.safe_state(ANN.user_id, bot.id, 1, error) == {"status": "paused"}
    stored = world.bot(bot)
    assert (stored.status, stored.pause_reason) == ("paused", "quarantine_failed")
    failed = world.service.history(ANN, bot.id, 1, None)[0][0]
    assert failed["kind"] == "failed" and "6 retrained models in a row failed" in failed["message"]
    assert LONGEST_QUARANTINE_SECONDS == 30 * 86400 * (1 + MAX_EXTENSIONS)


def test_the_safe_state_lands_over_a_concurrent_write(world):
    # The owner renames the bot just as the Catch runs: a single versioned save lost, leaving it "quarantined".
    bot = world.tripped_bot()
    world.service.begin(ANN.user_id, bot.id, 1)
    save, renamed = world.bots.save, []

    def save_after_the_owners_rename(changed):
        if not renamed:
            renamed.append(save(replace(world.bot(bot), name="renamed")))  # lands first, with the next version
        return save(changed)

    world.bots.save = save_after_the_owners_rename
    assert world.service.safe_state(ANN.user_id, bot.id, 1, {"Error": "States.TaskFailed"}) == {"status": "paused"}
    stored = world.bot(bot)
    assert (stored.status, stored.pause_reason, stored.name) == ("paused", "quarantine_failed", "renamed")


def test_retrain_moves_through_its_stages_and_reports_the_validation(world):
    bot = world.tripped_bot()
    world.service.begin(ANN.user_id, bot.id, 1)
    world.later()
    result = world.service.retrain(ANN.user_id, bot.id, 1)
    assert set(result) == {"validated", "params"} and isinstance(result["validated"], bool)
    assert world.bot(bot).quarantine.stage == "validating"
    kinds = {event["kind"] for event in world.service.history(ANN, bot.id, 10, None)[0]}
    assert {"quarantined", "retraining"} <= kinds and kinds & {"validated", "validation_failed"}
    with pytest.raises(NotFound):
        world.service.retrain(ANN.user_id, "bot_gone", 1)


# --- redeploy, release, failure, regeneration ----------------------------------------------------------------

def test_redeploy_rebases_the_books_ends_the_quarantine_and_is_recorded(world):
    bot = world.tripped_bot()
    world.service.begin(ANN.user_id, bot.id, 1)
    world.later()
    result = world.service.redeploy(ANN.user_id, bot.id, 1, {"fast": 6, "slow": 30})
    assert result == {"status": "running", "params": {"fast": 6, "slow": 30}}
    stored = world.bot(bot)
    assert (stored.status, stored.pause_reason, stored.quarantine) == ("running", None, None)
    assert stored.params == {"fast": 6, "slow": 30}
    assert stored.ledger.rebase_pending and stored.ledger.consecutive_losses == 0  # the breakers start afresh
    assert stored.ledger.quote_free == bot.ledger.quote_free and stored.pause_count == 1  # money and count stay
    newest = world.service.history(ANN, bot.id, 1, None)[0][0]
    assert newest["kind"] == "redeployed" and newest["params"] == {"fast": 6, "slow": 30}


def test_redeploy_retries_over_a_concurrent_write_and_fails_loudly_when_it_cannot_save(world):
    bot = world.tripped_bot()
    world.service.begin(ANN.user_id, bot.id, 1)
    world.later()
    world.bots.interfere(lambda b: replace(b, name="renamed meanwhile"))
    world.service.redeploy(ANN.user_id, bot.id, 1, {"fast": 6, "slow": 30})
    assert world.bot(bot).name == "renamed meanwhile" and world.bot(bot).status == "running"
    other = world.tripped_bot(name="grid-2")
    world.service.begin(ANN.user_id, other.id, 1)
    world.bots.interfere(times=3)
    with pytest.raises(WriteConflict):
        world.service.redeploy(ANN.user_id, other.id, 1, {"fast": 7, "slow": 30})
    with pytest.raises(NotFound):
        world.service.redeploy(ANN.user_id, "bot_gone", 1, {"fast": 6, "slow": 30})
    assert [e["kind"] for e in world.service.history(ANN, bot.id, 10, None)[0]] == ["redeployed", "quarantined"]


def test_release_stops_the_execution_of_that_pause_and_says_so(world):
    bot = world.tripped_bot()
    world.service.begin(ANN.user_id, bot.id, 1)
    world.later()
    world.service.release(world.bot(bot))
    assert world.executions.stopped == [(world.executions.arn_of(execution_name(bot.id, 1)),
                                         "put back in the market by hand")]
    assert world.service.history(ANN, bot.id, 1, None)[0][0]["kind"] == "released"


def test_a_failed_quarantine_leaves_the_bot_paused_for_a_person(world):
    bot = world.tripped_bot()
    world.service.begin(ANN.user_id, bot.id, 1)
    world.later()
    assert world.service.safe_state(ANN.user_id, bot.id, 1, {"Error": "States.Timeout"}) == {"status": "paused"}
    stored = world.bot(bot)
    assert (stored.status, stored.pause_reason, stored.quarantine.stage) == ("paused", "quarantine_failed", "failed")
    newest = world.service.history(ANN, bot.id, 1, None)[0][0]
    assert newest["kind"] == "failed" and "States.Timeout" in newest["message"]
    assert world.service.safe_state(ANN.user_id, "bot_gone", 1, None) == {"status": "gone"}


def test_regenerate_replaces_the_bot_with_its_next_generation(world):
    bot = world.tripped_bot(pause_count=4, name="grid-1")
    world.service.begin(ANN.user_id, bot.id, 4)
    world.later()
    result = world.service.regenerate(ANN.user_id, bot.id, 4)
    assert world.bot(bot) is None
    successor = world.bots.get(ANN.user_id, result["successor_id"])
    assert result["generation"] == successor.generation == 2 and successor.parent_id == bot.id
    assert (successor.status, successor.pause_count, successor.quarantine, successor.version) == ("running", 0, None, 0)
    assert successor.name == "grid-1 · gen 2" and successor.capital == bot.ledger.quote_total
    assert (successor.exchange, successor.symbol, successor.strategy) == (bot.exchange, bot.symbol, bot.strategy)
    # The parent's history stays in the owner's partition, and its id still finds it.
    kinds = [event["kind"] for event in world.service.history(ANN, bot.id, 10, None)[0]]
    assert kinds[0] == "regenerated" and "regenerating" in kinds


def test_a_regeneration_retried_after_a_crash_between_its_writes_makes_one_successor(world):
    bot = world.tripped_bot(pause_count=4)
    world.service.begin(ANN.user_id, bot.id, 4)
    delete = world.bots.delete
    world.bots.delete = lambda parent: (_ for _ in ()).throw(ConnectionError("the Lambda died here"))
    with pytest.raises(ConnectionError):
        world.service.regenerate(ANN.user_id, bot.id, 4)
    world.bots.delete = delete
    result = world.service.regenerate(ANN.user_id, bot.id, 4)  # Step Functions retries the step
    assert world.bot(bot) is None
    assert [b.id for b in world.bots.all_of_owner(ANN.user_id)] == [result["successor_id"]]


def test_a_regenerating_bot_cannot_be_resumed_stopped_or_deleted_by_its_owner(world):
    # The step would create the successor of a bot its owner had just put back: two bots on one capital.
    bot = world.tripped_bot(pause_count=4)
    world.service.begin(ANN.user_id, bot.id, 4)
    bots = BotService(world.bots, FakeTradeRepository(), world.clock, quarantine=world.service)
    for action in ("resume", "stop", "pause"):
        with pytest.raises(Conflict) as refused:
            bots.lifecycle(ANN, bot.id, action)
        assert refused.value.code == "regenerating"
    with pytest.raises(Conflict):
        bots.delete(ANN, bot.id)
    assert world.bot(bot).quarantine.stage == "regenerating" and world.executions.stopped == []


@pytest.mark.parametrize("by_hand", ["resume", "stop", "delete"])
def test_a_late_step_of_a_quarantine_its_owner_ended_changes_nothing(world, by_hand):
    # StopExecution does not halt a Lambda already running: its step must not redeploy (or pause) the bot the
    # owner resumed, stopped or deleted meanwhile.
    bot = world.tripped_bot()
    world.service.begin(ANN.user_id, bot.id, 1)
    bots = BotService(world.bots, FakeTradeRepository(), world.clock, quarantine=world.service)
    if by_hand == "delete":
        bots.delete(ANN, bot.id)
    else:
        bots.lifecycle(ANN, bot.id, by_hand)
    left = world.bot(bot)
    with pytest.raises((QuarantineSuperseded, NotFound)):
        world.service.redeploy(ANN.user_id, bot.id, 1, {"fast": 6, "slow": 30})
    with pytest.raises((QuarantineSuperseded, NotFound)):
        world.service.retrain(ANN.user_id, bot.id, 1)
    outcome = world.service.safe_state(ANN.user_id, bot.id, 1, {"Error": "QuarantineSuperseded"})
    assert outcome == {"status": "gone" if by_hand == "delete" else "superseded"}
    assert world.bot(bot) == left  # as the owner left it
    assert world.executions.stopped  # and its execution was stopped


# --- history -------------------------------------------------------------------------------------------------

def test_history_is_the_owners_newest_first_filtered_by_bot_and_paged(world):
    first, second = world.tripped_bot(name="one"), world.tripped_bot(name="two")
    theirs = world.tripped_bot(BOB, name="bobs")
    for bot in (first, second, first, theirs):
        world.service.begin(bot.owner_id, bot.id, 1)  # (begin twice for `first`: each is an event)
        world.later()
    everything, _ = world.service.history(ANN, None, 10, None)
    assert [e["bot_id"] for e in everything] == [first.id, second.id, first.id]
    page, cursor = world.service.history(ANN, first.id, 1, None)
    assert [e["bot_id"] for e in page] == [first.id] and cursor
    rest, end = world.service.history(ANN, first.id, 1, cursor)
    assert [e["bot_id"] for e in rest] == [first.id] and end is None
    assert page[0]["ts"] > rest[0]["ts"]
    assert [e["bot_id"] for e in world.service.history(BOB, None, 10, None)[0]] == [theirs.id]
    with pytest.raises(NotFound):
        world.service.history(ANN, theirs.id, 10, None)  # someone else's bot
    with pytest.raises(BadRequest):
        world.service.history(BOB, None, 10, cursor)  # someone else's cursor
