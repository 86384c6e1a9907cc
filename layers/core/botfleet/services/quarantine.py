"""Quarantine: a risk-paused bot is taken out of the market, retrained and put back, on a ladder of waits;
at the last rung it is deleted and a new generation replaces it. One Step Functions execution per
(bot, pause number), named after both so the trigger is idempotent (a replayed tick starts nothing new).

State: the bot's own `quarantine` field (stage, wait, times); the history events and the admin's configuration
behind the QuarantineLog port (adapters/dynamo/quarantine.py).
"""

from __future__ import annotations

import contextlib
import logging
import re
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from typing import Any

import numpy as np

from botfleet.clock import Clock, iso, parse_iso
from botfleet.domain import training
from botfleet.domain.bots import RISK_PAUSE_REASONS, Bot
from botfleet.domain.exchanges import get_exchange
from botfleet.domain.ledger import Ledger
from botfleet.domain.market import history_closes
from botfleet.domain.quarantine import MAX_EXTENSIONS, QuarantineConfig, QuarantineState, countdown
from botfleet.errors import AlreadyExists, NotFound, WriteConflict
from botfleet.ids import derived_id
from botfleet.ports import BotRepository, Executions, MarketRepository, QuarantineLog
from botfleet.services.auth import Principal
from botfleet.views import plain_json, quarantine_event_view

log = logging.getLogger(__name__)

RETRAIN_BUDGET = 150  # parameter sets: a retrain is one Lambda call, bounded to a few seconds
RETRAIN_CANDLES = 3000
#: How long the first step waits for the pause it was started for to be written (see `_pause_landed`).
PAUSE_LANDING_SECONDS = 10


class ValidationsExhausted(Exception):
    """A quarantine's retrained models kept failing validation: it ends, and the bot waits for a person."""


class QuarantineSuperseded(Exception):
    """The bot left this quarantine (its owner or an admin put it back, paused or stopped it) while a step of it
    was running: the step changes nothing, and the execution ends."""


def in_quarantine(bot: Bot, pause_number: int, *, beginning: bool = False) -> bool:
    """Whether `bot` is still in the quarantine of risk pause `pause_number`. A late step of an execution that was
    stopped (StopExecution does not halt a running Lambda) must not retrain, redeploy or replace a bot its owner
    has since resumed or paused by hand. `beginning`: before Begin marks it, the bot is risk-paused at that number."""
    if bot.pause_count != pause_number:
        return False
    if bot.status == "quarantined":
        return bot.quarantine is not None and bot.quarantine.pause_number == pause_number
    return beginning and bot.status == "paused" and bot.pause_reason in RISK_PAUSE_REASONS


def execution_name(bot_id: str, pause_number: int, tick_id: str | None = None) -> str:
    """(bot, pause number, the tick that paused it). A retried tick's second start is refused as a duplicate; a
    trip whose write never landed (its execution skipped; the bot kept the pause number before it) leaves the name
    of the next trip free: Step Functions refuses a closed execution's name for 90 days, whatever the input."""
    base = f"{bot_id}-pause-{pause_number}"
    return f"{base}-{re.sub(r'[^0-9A-Za-z]', '', tick_id)}" if tick_id else base  # ':' is not allowed in a name


class QuarantineService:
    def __init__(self, log: QuarantineLog, bots: BotRepository, markets: MarketRepository,
                 executions: Executions | None, clock: Clock, *,
                 time_scale: float = 1.0, audit: Any = None, market_seed: str = "botfleet",
                 sleep: Callable[[float], None] = time.sleep):
        self.log = log
        self.sleep = sleep
        self.bots = bots
        self.markets = markets
        self.executions = executions
        self.clock = clock
        self.time_scale = time_scale or 1.0
        self.audit = audit
        self.market_seed = market_seed

    # --- configuration ---------------------------------------------------------------------------
    def config(self) -> QuarantineConfig:
        item = self.log.config()
        if not item:
            return QuarantineConfig()
        return QuarantineConfig(tuple(int(d) for d in item["durations_seconds"]), int(item["max_pauses"]))

    def set_config(self, admin: Principal, raw: dict[str, Any], request_id: str | None = None) -> dict[str, Any]:
        before = self.config().to_json()
        config = QuarantineConfig.parse(raw)
        self.log.save_config({**config.to_json(), "updated_at": iso(self.clock.now()), "updated_by": admin.user_id})
        if self.audit:
            self.audit.record(admin, "quarantine.config", "config:quarantine", before, config.to_json(), request_id)
        return config.to_json()

    # --- the trigger (the tick) ------------------------------------------------------------------
    def trigger(self, bot: Bot, pause_number: int) -> None:
        """Start the bot's quarantine for this pause. The execution's name is (bot, pause number): a second
        start for the same pause — a retried or replayed tick — is refused by Step Functions, and ignored."""
        if self.executions is None:  # a function not wired to the state machine (tests of the tick alone)
            return
        payload = {"owner_id": bot.owner_id, "bot_id": bot.id, "pause_number": pause_number, "tick_id": bot.last_tick}
        with contextlib.suppress(AlreadyExists):  # this pause's quarantine is running already
            self.executions.start(execution_name(bot.id, pause_number, bot.last_tick), payload)

    def release(self, bot: Bot, why: str = "put back in the market by hand") -> None:
        """An owner or admin took a quarantined bot out of it by hand (resumed, paused, stopped, deleted): its
        quarantine execution stops, and its history says why."""
        recorded = bot.quarantine.pause_number if bot.quarantine else None
        number = bot.pause_count if recorded is None else recorded
        # The tick that paused it: as its first step recorded it, or (before that step ran) the bot's last tick,
        # which only the engine moves, and it ticks running bots only.
        tick = bot.quarantine.tick if bot.quarantine and bot.quarantine.tick else bot.last_tick
        with contextlib.suppress(Exception):  # already finished (or never started): nothing to stop
            self.executions.stop_by_name(execution_name(bot.id, number, tick), why)
        self._event(bot, number, "released", why, stage=None)

    # --- the state machine's steps ----------------------------------------------------------------
    def begin(self, owner_id: str, bot_id: str, pause_number: int, tick_id: str | None = None) -> dict[str, Any]:
        """`tick_id`: the tick whose pause started this execution (None from an execution started before the
        name carried it)."""
        bot = self._pause_landed(owner_id, bot_id, pause_number)
        if bot is None or bot.pause_count != pause_number or bot.status not in ("paused", "quarantined"):
            return {"skip": True}  # the pause this execution was started for didn't happen (or was resumed)
        if tick_id is not None and bot.last_tick != tick_id:
            return {"skip": True}  # this pause number came from a later tick (this one's write never landed)
        config = self.config()
        if config.regenerates(pause_number):
            self._set(bot, pause_number, status="quarantined", stage="regenerating", tick=tick_id)
            self._event(bot, pause_number, "regenerating", f"risk pause {pause_number} of {config.max_pauses}: "
                        "the bot will be replaced by a new generation", stage="regenerating")
            return {"skip": False, "regenerate": True, "wait_seconds": 0, "extension": 0}
        wait = config.wait_seconds(pause_number)
        self._set(bot, pause_number, status="quarantined", stage="waiting", wait_seconds=wait,
                  reason=bot.pause_reason, tick=tick_id)
        self._event(bot, pause_number, "quarantined", f"{bot.pause_reason}: out of the market for {wait} s, then "
                    "retrained", stage="waiting", wait_seconds=wait)
        return {"skip": False, "regenerate": False, "wait_seconds": wait, "extension": 0}

    def retrain(self, owner_id: str, bot_id: str, pause_number: int) -> dict[str, Any]:
        bot = self._bot(owner_id, bot_id)
        self._set(bot, pause_number, stage="retraining")
        self._event(bot, pause_number, "retraining", "retraining on recent market data", stage="retraining")
        best = self._train(bot, seed=f"{execution_name(bot.id, pause_number)}-{iso(self.clock.now())}")
        bot = self._bot(owner_id, bot_id)
        self._set(bot, pause_number, stage="validating")
        validated = bool(best and best["validated"])
        self._event(bot, pause_number, "validated" if validated else "validation_failed",
                    "the retrained model passed out-of-sample validation" if validated else
                    "the retrained model failed out-of-sample validation", stage="validating",
                    metrics=best["out_of_sample"] if best else None)
        return {"validated": validated, "params": best["params"] if best else None}

    def extend(self, owner_id: str, bot_id: str, pause_number: int, extension: int) -> dict[str, Any]:
        """Validation failed: another rung of waiting before the next retrain, up to MAX_EXTENSIONS; then this
        raises, and the state machine's Catch leaves the bot paused for a person (safe_state) with the reason."""
        bot = self._bot(owner_id, bot_id)
        if extension >= MAX_EXTENSIONS:
            raise ValidationsExhausted(f"{extension + 1} retrained models in a row failed out-of-sample validation")
        extension += 1
        wait = self.config().wait_seconds(pause_number, extension)
        self._set(bot, pause_number, stage="waiting", wait_seconds=wait, extension=extension)
        self._event(bot, pause_number, "extended", f"staying quarantined another {wait} s", stage="waiting",
                    wait_seconds=wait)
        return {"skip": False, "regenerate": False, "wait_seconds": wait, "extension": extension}

    def redeploy(self, owner_id: str, bot_id: str, pause_number: int, params: dict[str, Any]) -> dict[str, Any]:
        from botfleet.domain.strategies import get_strategy, validate_params

        def change(bot: Bot) -> Bot:
            if not in_quarantine(bot, pause_number):
                raise QuarantineSuperseded(f"bot {bot.id} left quarantine {pause_number} before its redeploy")
            return bot.redeployed(validate_params(get_strategy(bot.strategy), params), iso(self.clock.now()))

        # A failure to save raises (a write conflict, or NotFound when the bot is gone): the state machine
        # retries or catches it, instead of reporting a redeploy that didn't happen.
        redeployed = self._mutate(owner_id, bot_id, change, attempts=3)
        self._event(redeployed, pause_number, "redeployed", f"back in the market with {redeployed.params}",
                    stage=None, params=redeployed.params)
        return {"status": "running", "params": redeployed.params}

    def regenerate(self, owner_id: str, bot_id: str, pause_number: int) -> dict[str, Any]:
        """Delete the bot (its trades and events stay) and create its successor: generation + 1, parent_id,
        the same owner, exchange, symbol and strategy, the capital it has left, freshly trained parameters."""
        parent = self._bot(owner_id, bot_id)
        if not in_quarantine(parent, pause_number):
            raise QuarantineSuperseded(f"bot {bot_id} left quarantine {pause_number} before its regeneration")
        best = self._train(parent, seed=f"{execution_name(parent.id, pause_number)}-regenerate")
        from botfleet.domain.strategies import get_strategy, validate_params

        params = validate_params(get_strategy(parent.strategy), best["params"] if best else None)
        parent = self._bot(owner_id, bot_id)  # again after the training's seconds: its account may be gone
        if not in_quarantine(parent, pause_number):
            raise QuarantineSuperseded(f"bot {bot_id} left quarantine {pause_number} during its regeneration")
        capital = parent.ledger.quote_total  # stopped out at the trip: what's left is cash (dust aside)
        now = iso(self.clock.now())
        successor = replace(
            # Derived from (parent, pause): a retried step (a crash between the two writes below) creates no second
            # successor, and finds the one it made. Owners cannot resume, stop or delete a regenerating bot.
            parent, id=derived_id("bot", parent.id, "generation", str(parent.generation + 1)),
            generation=parent.generation + 1, parent_id=parent.id, params=params,
            capital=capital, initial_capital=capital, ledger=Ledger.open(parent.ledger.base, parent.ledger.quote,
                                                                         capital),
            status="running", pause_reason=None, pause_count=0, quarantine=None, orders=(), last_tick=None,
            created_at=now, updated_at=now, version=0, name=_generation_name(parent.name, parent.generation + 1),
        )
        try:
            self.bots.create(successor)
        except WriteConflict:  # a retry: the first attempt created it
            existing = self.bots.get(owner_id, successor.id)
            if existing is None:
                raise
            successor = existing
        self.bots.delete(parent)
        self._event(parent, pause_number, "regenerated", f"replaced by generation {successor.generation} "
                    f"({successor.id})", stage=None, successor_id=successor.id)
        return {"successor_id": successor.id, "generation": successor.generation}

    def safe_state(self, owner_id: str, bot_id: str, pause_number: int, error: dict[str, Any] | None):
        """The Catch: leave the bot out of the market, visibly, for a human."""
        bot = self.bots.get(owner_id, bot_id)
        if bot is None:
            return {"status": "gone"}
        if not in_quarantine(bot, pause_number, beginning=True):
            # Put back, paused or stopped by a person meanwhile (a late step failed on that): theirs to keep.
            return {"status": "superseded"}
        cause = str((error or {}).get("Cause") or (error or {}).get("Error") or "unknown error")[:300]
        def change(current: Bot) -> Bot:
            if not in_quarantine(current, pause_number, beginning=True):
                raise QuarantineSuperseded(f"bot {bot_id} left quarantine {pause_number}")
            return current.quarantine_failed(iso(self.clock.now()))

        # Retried over concurrent writes (an owner's rename, a deposit): a single versioned save that lost one
        # left the bot "quarantined" with no execution behind it, while the event below said it was paused.
        try:
            result = self.bots.mutate(owner_id, bot_id, change, attempts=5)
        except QuarantineSuperseded:
            return {"status": "superseded"}
        except Exception:  # the Catch's own step must still say what happened, and not fail
            log.exception("the quarantine's safe state could not be written", extra={"bot_id": bot_id})
            result = None
        if result is None:
            self._event(bot, pause_number, "failed", f"the quarantine failed, and so did pausing the bot: {cause}",
                        stage="failed")
            return {"status": "unknown"}
        self._event(bot, pause_number, "failed", f"the quarantine failed and the bot stays paused: {cause}",
                    stage="failed")
        return {"status": "paused"}

    # --- API ---------------------------------------------------------------------------------------
    def status(self, owner: Principal) -> list[dict[str, Any]]:
        now = self.clock.now()
        rows = []
        for bot in self.bots.all_of_owner(owner.user_id):
            if bot.status != "quarantined" or not bot.quarantine:
                continue
            q = bot.quarantine
            row = {"bot_id": bot.id, "name": bot.name, "pause_count": bot.pause_count, "stage": q.stage,
                   "reason": q.reason or bot.pause_reason, "quarantined_at": q.since,
                   "release_at": None, "seconds_remaining": 0, "progress": None}
            if q.is_counting_down:
                clock = countdown(parse_iso(q.since), int(q.wait_seconds), self.time_scale, now)
                row.update(release_at=iso(clock["release_at"]), seconds_remaining=clock["seconds_remaining"],
                           progress=clock["progress"])
            rows.append(plain_json(row))
        return rows

    def history(self, owner: Principal, bot_id: str | None, limit: int, cursor: str | None):
        items, next_cursor = self.log.history(owner.user_id, bot_id, limit, cursor)
        if bot_id and not items and not cursor and self.bots.get(owner.user_id, bot_id) is None:
            # Someone else's bot (or none) is a 404 like everywhere else; an own bot that was regenerated away
            # still shows its history, since that lives in the owner's partition.
            raise NotFound(f"bot {bot_id} not found")
        return [quarantine_event_view(item) for item in items], next_cursor

    # --- internals -----------------------------------------------------------------------------------
    def _pause_landed(self, owner_id: str, bot_id: str, pause_number: int) -> Bot | None:
        """The bot, once the pause this execution was started for is written. The tick starts the quarantine
        just *before* it writes the pause (so a crash between the two cannot lose the quarantine), so on a busy
        machine this first step can read the bot while it is still running with the previous pause count: wait
        a little for the write. A pause that never lands (the tick failed) is then skipped as before."""
        deadline = self.clock.now() + timedelta(seconds=PAUSE_LANDING_SECONDS)
        while True:
            bot = self.bots.get(owner_id, bot_id)
            in_flight = bot is not None and bot.status == "running" and bot.pause_count == pause_number - 1
            if not in_flight or self.clock.now() >= deadline:
                return bot
            self.sleep(0.1)

    def _bot(self, owner_id: str, bot_id: str) -> Bot:
        bot = self.bots.get(owner_id, bot_id)
        if bot is None:
            raise NotFound(f"bot {bot_id} is gone")
        return bot

    def _set(self, bot: Bot, pause_number: int, *, status: str | None = None, stage: str, **fields: Any) -> None:
        """Record the quarantine's stage on the bot (and its status), retrying over concurrent writes; raises
        QuarantineSuperseded when the bot has left this quarantine (Begin: when it is not risk-paused at it)."""

        def change(current: Bot) -> Bot:
            if not in_quarantine(current, pause_number, beginning=status == "quarantined"):
                raise QuarantineSuperseded(f"bot {current.id} is not in quarantine {pause_number}")
            now = iso(self.clock.now())
            quarantine = (current.quarantine or QuarantineState()).at_stage(stage, now, pause_number=pause_number,
                                                                             **fields)
            return replace(current, quarantine=quarantine, status=status or current.status, updated_at=now)

        self._mutate(bot.owner_id, bot.id, change, attempts=5)

    def _mutate(self, owner_id: str, bot_id: str, change, *, attempts: int) -> Bot:
        result = self.bots.mutate(owner_id, bot_id, change, attempts=attempts)
        if result is None:
            raise NotFound(f"bot {bot_id} is gone")
        return result[1]

    def _event(self, bot: Bot, pause_number: int, kind: str, message: str, **details: Any) -> None:
        ts = iso(self.clock.now())
        self.log.append({"owner_id": bot.owner_id, "bot_id": bot.id, "generation": bot.generation,
                         "pause_number": pause_number, "kind": kind, "message": message, "ts": ts, **details})

    def _train(self, bot: Bot, seed: str) -> dict[str, Any] | None:
        """A bounded retrain on recent market history (the simulator's, ending at the current price)."""
        exchange = get_exchange(bot.exchange)
        end_price = self.markets.current(bot.exchange, bot.symbol).price
        closes = np.asarray(history_closes(f"{self.market_seed}:{bot.exchange}:{bot.symbol}:{seed}",
                                           exchange.simulation(bot.symbol), RETRAIN_CANDLES, end_price))
        sets = training.search_space(bot.strategy, RETRAIN_BUDGET, seed=seed)
        results = training.evaluate(bot.strategy, closes, sets, bot.exchange, bot.symbol, float(bot.capital))
        return training.reduce_chunks([results])


def _generation_name(name: str, generation: int) -> str:
    base = name.rsplit(" · gen ", 1)[0]
    return f"{base} · gen {generation}"[:64]

