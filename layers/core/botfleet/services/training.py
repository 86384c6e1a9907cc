"""Training runs: one Step Functions execution per run (prepare → Map of chunk evaluations → reduce), at most
one running per bot, with progress, stop, history and an explicit apply of the trained model.

Items (single table): the run `USER#<owner>` / `TRAINING#<run_id>` (gsi1 `BOT#<bot>#TRAINING` for a bot's
history), the bot's lock `BOT#<bot>` / `TRAINING_LOCK` (TTL: a crashed run can't block the bot forever), and
each trained model `BOT#<bot>` / `MODEL#<run_id>`.
"""

from __future__ import annotations

import contextlib
import secrets
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from typing import Any, Protocol

from botfleet.adapters.dynamo.table import ConditionFailed, Table, storable
from botfleet.clock import Clock, iso
from botfleet.domain import training
from botfleet.domain.exchanges import get_exchange
from botfleet.domain.market import history_closes
from botfleet.domain.training_limits import DEFAULT_BUDGET, DEFAULT_CANDLES, MAX_BUDGET, MAX_CANDLES, MIN_CANDLES
from botfleet.errors import Conflict, NotFound, Unprocessable
from botfleet.services.auth import Principal
from botfleet.views import plain_json

LOCK_TTL = timedelta(hours=1)
FINAL = ("succeeded", "failed", "stopped")


class Executions(Protocol):
    """Where runs execute: Step Functions in AWS (and on the local cloud)."""

    def start(self, name: str, payload: dict[str, Any]) -> str: ...
    def stop(self, execution_arn: str, cause: str) -> None: ...


def new_run_id(clock: Clock) -> str:
    # Time first, so a user's runs sort newest-last by key and history reads come back in order.
    return f"run_{int(clock.now().timestamp() * 1000):013d}{secrets.token_hex(4)}"


class TrainingService:
    def __init__(self, table: Table, bots: Any, markets: Any, executions: Executions | None, clock: Clock,
                 market_seed: str = "botfleet"):
        self.table = table
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
            "pk": f"USER#{owner.user_id}", "sk": f"TRAINING#{run_id}", "entity": "training_run",
            "gsi1pk": f"BOT#{bot_id}#TRAINING", "gsi1sk": f"{iso(now)}#{run_id}",
            "run_id": run_id, "bot_id": bot_id, "owner_id": owner.user_id, "status": "queued",
            "strategy": bot.strategy, "exchange": bot.exchange, "symbol": bot.symbol,
            "budget": budget, "candles": candles, "done_chunks": 0, "total_chunks": 0,
            "created_at": iso(now), "updated_at": iso(now),
        }
        self.table.put(run, condition="attribute_not_exists(pk)")
        payload = {"run_id": run_id, "owner_id": owner.user_id, "bot_id": bot_id}
        try:
            arn = self.executions.start(run_id, payload)
        except Exception as exc:  # the run never started: don't leave the bot locked
            self._finish(owner.user_id, run_id, bot_id, "failed", error=f"could not start: {type(exc).__name__}")
            raise
        self.table.update(f"USER#{owner.user_id}", f"TRAINING#{run_id}", "SET execution_arn = :arn",
                          values={":arn": arn})
        return run_view({**run, "execution_arn": arn})

    def status(self, owner: Principal, run_id: str) -> dict[str, Any]:
        return run_view(self._run(owner.user_id, run_id))

    def stop(self, owner: Principal, run_id: str) -> dict[str, Any]:
        run = self._run(owner.user_id, run_id)
        if run["status"] in FINAL:
            raise Conflict(f"run {run_id} already {run['status']}", code="run_finished")
        if run.get("execution_arn"):
            self.executions.stop(run["execution_arn"], "stopped by its owner")
        self._finish(owner.user_id, run_id, run["bot_id"], "stopped")
        return run_view(self._run(owner.user_id, run_id))

    def history(self, owner: Principal, bot_id: str | None, limit: int, cursor: str | None):
        if bot_id:
            if self.bots.get(owner.user_id, bot_id) is None:
                raise NotFound(f"bot {bot_id} not found")
            partition = f"BOT#{bot_id}#TRAINING"
            items, next_cursor = self.table.query("gsi1pk = :pk", {":pk": partition}, index="gsi1", limit=limit,
                                                  cursor=cursor, partition=("gsi1pk", partition), newest_first=True)
        else:
            items, next_cursor = self.table.query(
                "pk = :pk AND begins_with(sk, :runs)", {":pk": f"USER#{owner.user_id}", ":runs": "TRAINING#"},
                limit=limit, cursor=cursor, partition=("pk", f"USER#{owner.user_id}"), newest_first=True)
        return [run_view(item) for item in items], next_cursor

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
        except ConditionFailed:
            raise Conflict("the bot keeps changing; try again", code="concurrent_update") from None
        if result is None:
            raise NotFound(f"bot {bot_id} not found")
        return result[1]

    # --- the state machine's steps (the trainer function) ------------------------------------------
    def prepare(self, run_id: str, owner_id: str, bot_id: str) -> dict[str, Any]:
        run = self.table.get(f"USER#{owner_id}", f"TRAINING#{run_id}", consistent=True)
        bot = self.bots.get(owner_id, bot_id)
        if run is None or bot is None:
            raise LookupError(f"run {run_id} or its bot is gone")
        sets = training.search_space(bot.strategy, int(run["budget"]), seed=run_id)
        end_price = self.markets.current(bot.exchange, bot.symbol).price
        history = {"seed": f"{self.market_seed}:{bot.exchange}:{bot.symbol}:{run_id}", "count": int(run["candles"]),
                   "end_price": str(end_price)}
        parts = training.chunks(sets)
        self._progress(owner_id, run_id, "SET #status = :running, total_chunks = :total, started_at = :now",
                       {":running": "running", ":total": len(parts)})
        common = {"run_id": run_id, "owner_id": owner_id, "bot_id": bot_id, "strategy": bot.strategy,
                  "exchange": bot.exchange, "symbol": bot.symbol, "capital": str(bot.capital), "history": history}
        return {"chunks": [{**common, "sets": part} for part in parts], "total_chunks": len(parts)}

    def evaluate(self, item: dict[str, Any]) -> list[dict[str, Any]]:
        exchange = get_exchange(item["exchange"])
        closes = history_closes(item["history"]["seed"], exchange.simulation(item["symbol"]),
                                int(item["history"]["count"]), Decimal(item["history"]["end_price"]))
        import numpy as np

        results = training.evaluate(item["strategy"], np.asarray(closes), item["sets"], item["exchange"],
                                    item["symbol"], float(item["capital"]))
        self._progress(item["owner_id"], item["run_id"], "ADD done_chunks :one", {":one": 1})
        return results

    def reduce(self, run_id: str, owner_id: str, bot_id: str, results: list[list[dict[str, Any]]]):
        best = training.reduce_chunks(results)
        if best is None:
            self._finish(owner_id, run_id, bot_id, "failed",
                         error=f"no parameter set made {training.MIN_TRADES} trades in the training window")
            return {"status": "failed"}
        now = iso(self.clock.now())
        self.table.put({"pk": f"BOT#{bot_id}", "sk": f"MODEL#{run_id}", "entity": "model", "run_id": run_id,
                        "owner_id": owner_id, "created_at": now, **storable(best)})
        self._finish(owner_id, run_id, bot_id, "succeeded", best=storable(best))
        return {"status": "succeeded", "best": best}

    def fail(self, run_id: str, owner_id: str, bot_id: str, error: str) -> dict[str, Any]:
        self._finish(owner_id, run_id, bot_id, "failed", error=error[:500])
        return {"status": "failed"}

    # --- internals -----------------------------------------------------------------------------------
    def _lock(self, bot_id: str, run_id: str, now) -> None:
        try:
            self.table.put({"pk": f"BOT#{bot_id}", "sk": "TRAINING_LOCK", "entity": "training_lock",
                            "run_id": run_id, "expires_at": int((now + LOCK_TTL).timestamp())},
                           condition="attribute_not_exists(pk) OR expires_at < :now",
                           values={":now": int(now.timestamp())})
        except ConditionFailed:
            raise Conflict("a training run is already going for this bot", code="training_running") from None

    def _unlock(self, bot_id: str, run_id: str) -> None:
        """Release the bot's lock if this run still holds it (a newer run's lock is not ours to drop)."""
        with contextlib.suppress(ConditionFailed):
            self.table.delete(f"BOT#{bot_id}", "TRAINING_LOCK", condition="run_id = :run", values={":run": run_id})

    def _progress(self, owner_id: str, run_id: str, expression: str, values: dict[str, Any]) -> None:
        """Only a running (or queued) run moves forward: a stopped run ignores late workers."""
        values = {**values, ":now": iso(self.clock.now()), ":final1": "stopped", ":final2": "failed"}
        expression += ", updated_at = :now" if expression.startswith("SET") else " SET updated_at = :now"
        with contextlib.suppress(ConditionFailed):
            self.table.update(f"USER#{owner_id}", f"TRAINING#{run_id}", expression, names={"#status": "status"},
                              values=values, condition="#status <> :final1 AND #status <> :final2")

    def _finish(self, owner_id: str, run_id: str, bot_id: str, status: str, **fields: Any) -> None:
        names = {"#status": "status"}
        values = {":status": status, ":now": iso(self.clock.now()), ":stopped": "stopped"}
        sets = ["#status = :status", "updated_at = :now", "finished_at = :now"]
        for key, value in fields.items():
            names[f"#{key}"] = key
            values[f":{key}"] = value
            sets.append(f"#{key} = :{key}")
        with contextlib.suppress(ConditionFailed):  # a stop wins over a late success or failure
            self.table.update(f"USER#{owner_id}", f"TRAINING#{run_id}", "SET " + ", ".join(sets), names=names,
                              values=values, condition="#status <> :stopped")
        self._unlock(bot_id, run_id)

    def _run(self, owner_id: str, run_id: str) -> dict[str, Any]:
        run = self.table.get(f"USER#{owner_id}", f"TRAINING#{run_id}", consistent=True)
        if run is None:
            raise NotFound(f"training run {run_id} not found")
        return run


def run_view(item: dict[str, Any]) -> dict[str, Any]:
    total, done = int(item.get("total_chunks", 0)), int(item.get("done_chunks", 0))
    status = item["status"]
    progress = 1.0 if status == "succeeded" else (round(min(done / total, 1.0), 4) if total else 0.0)
    view = {key: item.get(key) for key in ("run_id", "bot_id", "status", "strategy", "exchange", "symbol",
                                           "budget", "candles", "created_at", "updated_at", "finished_at",
                                           "error")}
    view.update(progress=progress, chunks={"done": done, "total": total})
    view["best"] = None
    if item.get("best"):
        best = plain_json(item["best"])
        # The contract's shape is {params, metrics}; the parts stay at the top too for existing readers.
        best["metrics"] = {key: best.get(key) for key in ("score", "in_sample", "out_of_sample", "validated")}
        view["best"] = best
    return plain_json(view)

