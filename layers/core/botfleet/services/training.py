"""Training runs: one Step Functions execution per run (prepare → Map of chunk evaluations → reduce), at most
one running per bot, with progress, stop, history and an explicit apply of the trained model.

Runs, the per-bot lock and trained models are stored behind the TrainingRuns port (adapters/dynamo/training.py).
"""

from __future__ import annotations

import secrets
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any

from botfleet.clock import Clock, iso
from botfleet.domain import training
from botfleet.domain.exchanges import get_exchange
from botfleet.domain.market import history_closes
from botfleet.domain.training_limits import DEFAULT_BUDGET, DEFAULT_CANDLES, MAX_BUDGET, MAX_CANDLES, MIN_CANDLES
from botfleet.errors import Conflict, NotFound, Unprocessable, WriteConflict
from botfleet.ports import BotRepository, Executions, MarketRepository, TrainingRuns
from botfleet.services.auth import Principal
from botfleet.views import plain_json, training_run_view

LOCK_TTL = timedelta(hours=1)
FINAL = ("succeeded", "failed", "stopped")


def new_run_id(clock: Clock) -> str:
    # Time first, so a user's runs sort newest-last by key and history reads come back in order.
    return f"run_{int(clock.now().timestamp() * 1000):013d}{secrets.token_hex(4)}"


class TrainingService:
    def __init__(self, runs: TrainingRuns, bots: BotRepository, markets: MarketRepository,
                 executions: Executions | None, clock: Clock,
                 market_seed: str = "botfleet"):
        self.runs = runs
        self.bots = bots
        self.markets = markets
        self.executions = executions
        self.clock = clock
        self.market_seed = market_seed

    # --- API -------------------------------------------------------------------------------------
    def start(self, owner: Principal, bot_id: str, budget: int | None, candles: int | None) -> dict[str, Any]:
        bot = self.bots.get(owner.user_id, bot_id)
        if bot is None:
            raise NotFound(f"bot {bot_id} not found")
        budget = DEFAULT_BUDGET if budget is None else budget  # (0 is an error, not "the default")
        candles = DEFAULT_CANDLES if candles is None else candles
        if not 1 <= budget <= MAX_BUDGET:
            raise Unprocessable("budget", f"must be from 1 to {MAX_BUDGET} parameter sets")
        if not MIN_CANDLES <= candles <= MAX_CANDLES:
            raise Unprocessable("candles", f"must be from {MIN_CANDLES} to {MAX_CANDLES} one-minute candles")
        now = self.clock.now()
        run_id = new_run_id(self.clock)
        self._lock(bot_id, run_id, now)
        run = {
            "run_id": run_id, "bot_id": bot_id, "owner_id": owner.user_id, "status": "queued",
            "strategy": bot.strategy, "exchange": bot.exchange, "symbol": bot.symbol,
            "budget": budget, "candles": candles, "total_chunks": 0,
            "created_at": iso(now), "updated_at": iso(now),
        }
        self.runs.create(run)
        payload = {"run_id": run_id, "owner_id": owner.user_id, "bot_id": bot_id}
        try:
            arn = self.executions.start(run_id, payload)
        except Exception as exc:  # the run never started: don't leave the bot locked
            self._finish(owner.user_id, run_id, bot_id, "failed", error=f"could not start: {type(exc).__name__}")
            raise
        self.runs.set_execution(owner.user_id, run_id, arn)
        return training_run_view({**run, "execution_arn": arn})

    def status(self, owner: Principal, run_id: str) -> dict[str, Any]:
        return training_run_view(self._run(owner.user_id, run_id))

    def stop(self, owner: Principal, run_id: str) -> dict[str, Any]:
        run = self._run(owner.user_id, run_id)
        if run["status"] in FINAL:
            raise Conflict(f"run {run_id} already {run['status']}", code="run_finished")
        if run.get("execution_arn"):
            self.executions.stop(run["execution_arn"], "stopped by its owner")
        self._finish(owner.user_id, run_id, run["bot_id"], "stopped")
        return training_run_view(self._run(owner.user_id, run_id))

    def history(self, owner: Principal, bot_id: str | None, limit: int, cursor: str | None):
        if bot_id:
            if self.bots.get(owner.user_id, bot_id) is None:
                raise NotFound(f"bot {bot_id} not found")
            items, next_cursor = self.runs.for_bot(bot_id, limit, cursor)
        else:
            items, next_cursor = self.runs.for_owner(owner.user_id, limit, cursor)
        return [training_run_view(item) for item in items], next_cursor

    def apply(self, owner: Principal, run_id: str):
        """Explicitly give the bot the run's best parameters (a trained model is never applied silently)."""
        run = self._run(owner.user_id, run_id)
        if run["status"] != "succeeded" or not run.get("best"):
            raise Conflict(f"run {run_id} has no trained model to apply ({run['status']})", code="no_model")
        return self.apply_params(owner.user_id, run["bot_id"], plain_json(run["best"]["params"]))

    def apply_params(self, owner_id: str, bot_id: str, params: dict[str, Any]):
        from botfleet.domain.strategies import get_strategy, validate_params

        def change(bot):
            return replace(bot, params=validate_params(get_strategy(bot.strategy), params),
                           updated_at=iso(self.clock.now()))

        try:
            result = self.bots.mutate(owner_id, bot_id, change)
        except WriteConflict:
            raise Conflict("the bot keeps changing; try again", code="concurrent_update") from None
        if result is None:
            raise NotFound(f"bot {bot_id} not found")
        return result[1]

    # --- the state machine's steps (the trainer function) ------------------------------------------
    def prepare(self, run_id: str, owner_id: str, bot_id: str) -> dict[str, Any]:
        run = self.runs.get(owner_id, run_id)
        bot = self.bots.get(owner_id, bot_id)
        if run is None or bot is None:
            raise LookupError(f"run {run_id} or its bot is gone")
        sets = training.search_space(bot.strategy, int(run["budget"]), seed=run_id)
        end_price = self.markets.current(bot.exchange, bot.symbol).price
        history = {"seed": f"{self.market_seed}:{bot.exchange}:{bot.symbol}:{run_id}", "count": int(run["candles"]),
                   "end_price": str(end_price)}
        parts = training.chunks(sets)
        now = iso(self.clock.now())
        self.runs.advance(owner_id, run_id, now,
                          set_fields={"status": "running", "total_chunks": len(parts), "started_at": now})
        common = {"run_id": run_id, "owner_id": owner_id, "bot_id": bot_id, "strategy": bot.strategy,
                  "budget": int(run["budget"]), "exchange": bot.exchange, "symbol": bot.symbol,
                  "capital": str(bot.capital), "history": history}
        # Each Map item names its chunk; the evaluation re-draws the same sets from the run's seed. The sets
        # themselves in the state (5,000 of rsi_reversion are ~340 KB) broke Step Functions' 256 KiB limit, which
        # no Catch can handle: the run would stay "running" with its bot locked.
        return {"chunks": [{**common, "chunk": index} for index in range(len(parts))], "total_chunks": len(parts)}

    @staticmethod
    def chunk_sets(item: dict[str, Any]) -> list[dict[str, Any]]:
        """The parameter sets of a Map item's chunk: drawn again from the run's seed, the same every time."""
        sets = training.search_space(item["strategy"], int(item["budget"]), seed=item["run_id"])
        return training.chunks(sets)[int(item["chunk"])]

    def evaluate(self, item: dict[str, Any]) -> list[dict[str, Any]]:
        exchange = get_exchange(item["exchange"])
        closes = history_closes(item["history"]["seed"], exchange.simulation(item["symbol"]),
                                int(item["history"]["count"]), Decimal(item["history"]["end_price"]))
        import numpy as np

        results = training.evaluate(item["strategy"], np.asarray(closes), self.chunk_sets(item), item["exchange"],
                                    item["symbol"], float(item["capital"]))
        # The chunk's index into a set: a retried evaluation (Step Functions retries a failed Lambda) counts once.
        self.runs.advance(item["owner_id"], item["run_id"], iso(self.clock.now()),
                          add_fields={"chunks_done": {int(item["chunk"])}})
        return results

    def reduce(self, run_id: str, owner_id: str, bot_id: str, results: list[list[dict[str, Any]]]):
        best = training.reduce_chunks(results)
        if best is None:
            self._finish(owner_id, run_id, bot_id, "failed",
                         error=f"no parameter set made {training.MIN_TRADES} trades in the training window")
            return {"status": "failed"}
        self.runs.save_model(bot_id, run_id, owner_id, iso(self.clock.now()), best)
        self._finish(owner_id, run_id, bot_id, "succeeded", best=best)
        return {"status": "succeeded", "best": best}

    def fail(self, run_id: str, owner_id: str, bot_id: str, error: str) -> dict[str, Any]:
        self._finish(owner_id, run_id, bot_id, "failed", error=error[:500])
        return {"status": "failed"}

    # --- internals -----------------------------------------------------------------------------------
    def _lock(self, bot_id: str, run_id: str, now) -> None:
        if not self.runs.lock(bot_id, run_id, int(now.timestamp()), int((now + LOCK_TTL).timestamp())):
            raise Conflict("a training run is already going for this bot", code="training_running")

    def _finish(self, owner_id: str, run_id: str, bot_id: str, status: str, **fields: Any) -> None:
        self.runs.finish(owner_id, run_id, status, iso(self.clock.now()), fields)  # a stop wins over a late end
        self.runs.unlock(bot_id, run_id)

    def _run(self, owner_id: str, run_id: str) -> dict[str, Any]:
        run = self.runs.get(owner_id, run_id)
        if run is None:
            raise NotFound(f"training run {run_id} not found")
        return run


