"""Training runs, the quarantine log, Step Functions executions and the market."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from botfleet.domain import market as sim
from botfleet.domain.charts import Candle
from botfleet.domain.exchanges import get_exchange
from botfleet.errors import AlreadyExists, WriteConflict
from botfleet.ids import new_id
from tests.support.fakes._common import copied, paged


class FakeTrainingRuns:
    """Mirrors adapters/dynamo/training.py (DynamoTrainingRuns): one lock per bot, taken only when free or
    expired (`expires_at < now`) and dropped only by the run holding it; `create` refuses an existing run
    (WriteConflict); `advance` moves only a run that is not stopped or failed, `finish` only one not stopped
    (False otherwise, and False for a run that isn't there: the condition cannot hold on a missing item).
    The owner's runs are newest first by run id, a bot's newest first by `created_at#run_id`."""

    def __init__(self):
        self.runs: dict[tuple[str, str], dict[str, Any]] = {}  # (owner_id, run_id) -> run
        self.locks: dict[str, dict[str, Any]] = {}  # bot_id -> {"run_id", "expires_at"}
        self.models: dict[tuple[str, str], dict[str, Any]] = {}  # (bot_id, run_id) -> trained model

    def lock(self, bot_id: str, run_id: str, now_epoch: int, expires_at: int) -> bool:
        held = self.locks.get(bot_id)
        if held is not None and not held["expires_at"] < now_epoch:
            return False
        self.locks[bot_id] = {"run_id": run_id, "expires_at": expires_at}
        return True

    def unlock(self, bot_id: str, run_id: str) -> None:
        if self.locks.get(bot_id, {}).get("run_id") == run_id:
            del self.locks[bot_id]

    def create(self, run: dict[str, Any]) -> None:
        key = (run["owner_id"], run["run_id"])
        if key in self.runs:
            raise WriteConflict(f"run {run['run_id']} exists already")
        self.runs[key] = copied(run)

    def get(self, owner_id: str, run_id: str) -> dict[str, Any] | None:
        return copied(self.runs.get((owner_id, run_id)))

    def set_execution(self, owner_id: str, run_id: str, execution_arn: str) -> None:
        self.runs.setdefault((owner_id, run_id), {})["execution_arn"] = execution_arn  # an update upserts

    def for_owner(self, owner_id: str, limit: int, cursor: str | None):
        runs = sorted((r for (owner, _), r in self.runs.items() if owner == owner_id), key=lambda r: r["run_id"],
                      reverse=True)
        return paged(runs, limit, cursor, f"runs-of-owner:{owner_id}")

    def for_bot(self, bot_id: str, limit: int, cursor: str | None):
        runs = sorted((r for r in self.runs.values() if r.get("bot_id") == bot_id),
                      key=lambda r: f"{r['created_at']}#{r['run_id']}", reverse=True)
        return paged(runs, limit, cursor, f"runs-of-bot:{bot_id}")

    def advance(self, owner_id: str, run_id: str, now: str, *, set_fields: dict[str, Any] | None = None,
                add_fields: dict[str, int | set[int]] | None = None) -> bool:
        run = self.runs.get((owner_id, run_id))
        if run is None or run.get("status") in ("stopped", "failed"):
            return False
        run.update(copied(set_fields or {}), updated_at=now)
        for name, amount in (add_fields or {}).items():  # DynamoDB's ADD: a number counts up, a set joins
            run[name] = run.get(name, set()) | amount if isinstance(amount, set) else run.get(name, 0) + amount
        return True

    def finish(self, owner_id: str, run_id: str, status: str, now: str, fields: dict[str, Any]) -> bool:
        run = self.runs.get((owner_id, run_id))
        if run is None or run.get("status") == "stopped" or (
                status == "stopped" and run.get("status") not in ("queued", "running")):
            return False
        run.update(copied(fields), status=status, updated_at=now, finished_at=now)
        return True

    def save_model(self, bot_id: str, run_id: str, owner_id: str, created_at: str, best: dict[str, Any]) -> None:
        if (owner_id, run_id) not in self.runs:  # the adapter's condition: only while the run is there
            return
        self.models[(bot_id, run_id)] = {"run_id": run_id, "owner_id": owner_id, "created_at": created_at,
                                         **copied(best)}


class FakeQuarantineLog:
    """Mirrors adapters/dynamo/quarantine.py (DynamoQuarantineLog): events in the owner's partition under
    `<ts>#<bot>#<random id>` (so events of one bot at the same instant come back in no promised order), history
    newest first with the bot filter applied before the limit; one configuration item."""

    def __init__(self):
        self.events: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}  # owner -> (sort key) -> event
        self.saved_config: dict[str, Any] | None = None

    def append(self, event: dict[str, Any]) -> None:
        key = (event["ts"], f"{event['bot_id']}#{new_id('q')}")
        self.events.setdefault(event["owner_id"], {})[key] = copied(event)

    def history(self, owner_id: str, bot_id: str | None, limit: int, cursor: str | None):
        mine = self.events.get(owner_id, {})
        items = [mine[key] for key in sorted(mine, reverse=True) if bot_id is None or mine[key]["bot_id"] == bot_id]
        return paged(items, limit, cursor, f"quarantine-of:{owner_id}")

    def config(self) -> dict[str, Any] | None:
        return copied(self.saved_config)

    def save_config(self, config: dict[str, Any]) -> None:
        self.saved_config = copied(config)


class FakeExecutions:
    """Mirrors adapters/stepfunctions.py (StepFunctionsExecutions) with nothing running: a start is recorded and
    idempotent by name as Step Functions' standard workflows are (while the execution runs, the same name and
    input give the first ARN; another input, or any start after it closed (`close`), ExecutionAlreadyExists);
    stops are recorded, an unknown one ignored like ExecutionDoesNotExist. `fail_starts` makes starts raise."""

    ARN = "arn:aws:states:us-east-1:000000000000:stateMachine:fake"

    def __init__(self, *, fail_starts: bool = False):
        self.started: dict[str, dict[str, Any]] = {}  # name -> payload
        self.closed: set[str] = set()  # names of executions that have ended
        self.stopped: list[tuple[str, str]] = []  # (execution arn, cause)
        self.fail_starts = fail_starts

    def start(self, name: str, payload: dict[str, Any]) -> str:
        if self.fail_starts:
            raise ConnectionError("step functions is unreachable")
        if name in self.closed or (name in self.started and self.started[name] != payload):
            raise AlreadyExists(name)  # what the adapter raises for Step Functions' ExecutionAlreadyExists
        self.started[name] = copied(payload)
        return self.arn_of(name)

    def close(self, name: str) -> None:
        """The execution ended (succeeded, skipped, failed): its name cannot start another for 90 days."""
        self.closed.add(name)

    def stop(self, execution_arn: str, cause: str) -> None:
        self.stopped.append((execution_arn, cause[:256]))

    def stop_by_name(self, name: str, cause: str) -> None:
        self.stop(self.arn_of(name), cause)

    def arn_of(self, name: str) -> str:
        return self.ARN.replace(":stateMachine:", ":execution:") + f":{name}"


@dataclass(frozen=True, slots=True)
class _View:
    closes: list[Decimal]
    book: sim.OrderBook
    mark: Decimal


class FakeMarket:
    """The market ports at a price that only moves when a test says so (`set_price`): MarketData (mirrors
    SimulatedMarketData: `mark` is the current price, `view` its history and a book around it) and the
    MarketRepository that training and quarantine read (`current`, `for_tick`; DynamoMarketRepository).
    Without a price set, a market starts at its simulator's start price, as the simulator does."""

    def __init__(self, prices: Mapping[tuple[str, str], Decimal] | None = None):
        self.prices: dict[tuple[str, str], Decimal] = dict(prices or {})
        self.seqs: dict[tuple[str, str], int] = {}
        self.candle_log: dict[tuple[str, str], list[Candle]] = {}

    def set_price(self, exchange: str, symbol: str, price: Decimal | str) -> None:
        self.prices[(exchange, symbol)] = Decimal(price)
        self.seqs[(exchange, symbol)] = self.seqs.get((exchange, symbol), 0) + 1

    def mark(self, exchange: str, symbol: str) -> Decimal:
        return self.current(exchange, symbol).price

    def current(self, exchange: str, symbol: str) -> sim.MarketState:
        key = (exchange, symbol)
        if key not in self.prices:
            self.prices[key] = get_exchange(exchange).simulation(symbol).start_price
        return sim.MarketState(price=self.prices[key], seq=self.seqs.get(key, 0), closes=[self.prices[key]])

    def for_tick(self, exchange: str, symbol: str, tick_id: str) -> sim.MarketState:
        return self.current(exchange, symbol)

    def candles(self, exchange: str, symbol: str, limit: int) -> list[Candle]:
        """What `add_candle` recorded, oldest first (the adapter writes one per tick)."""
        return list(self.candle_log.get((exchange, symbol), []))[-limit:]

    def add_candle(self, exchange: str, symbol: str, candle: Candle) -> None:
        self.candle_log.setdefault((exchange, symbol), []).append(candle)

    def view(self, exchange: str, symbol: str, tick_id: str) -> _View:
        state = self.current(exchange, symbol)
        ex = get_exchange(exchange)
        book = sim.order_book(state, f"fake:{exchange}:{symbol}", ex.simulation(symbol), ex.rules(symbol))
        return _View(list(state.closes), book, book.mid)
