"""In-memory fakes of the ports in botfleet.ports (and of the few collaborators services take that have no Protocol
there yet), for unit tests of the services. No boto3, no moto, no network.

Each fake mirrors one adapter and keeps its semantics, not its storage: a conditional write becomes a check that
raises the domain error the adapter raises (`WriteConflict`, `AlreadyExists`) or returns False exactly where the
adapter does. Everything that goes in or comes out is copied, as a round trip through a table would. Listings
page with an opaque cursor bound to their partition (a foreign or made-up cursor is a 400 `invalid_cursor`, as
`decode_cursor` answers), in the adapter's order; unlike DynamoDB they hand out a cursor only when more is left.

The clock is botfleet.clock.FixedClock; ThrottleStore and a cheap PasswordHasher are in tests/support/throttle.py
(re-exported here).
"""

from __future__ import annotations

import copy
import itertools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from botfleet.clock import FixedClock
from botfleet.domain import market as sim
from botfleet.domain.assistant import ModelError, ModelTurn, ToolCall
from botfleet.domain.bots import Bot
from botfleet.domain.exchanges import get_exchange
from botfleet.domain.ledger import Ledger
from botfleet.errors import AlreadyExists, BadRequest, Conflict, SecretUnreadable, WriteConflict
from botfleet.ids import new_id
from tests.support.throttle import InMemoryThrottleStore, PlainHasher

__all__ = [
    "FakeAssistantModel", "FakeAssistantStore", "FakeAuditLog", "FakeBotRepository", "FakeExecutions",
    "FakeInjections", "FakeKeyTester", "FakeMarket", "FakeQuarantineLog", "FakeStoredKeys", "FakeTradeRepository",
    "FakeTrainingRuns", "FakeUsers", "FakeVault", "FixedClock", "InMemoryThrottleStore", "PlainHasher", "a_bot",
]


def _copy(value):
    return copy.deepcopy(value)


def _page(items: Sequence[Any], limit: int | None, cursor: str | None, partition: str) -> tuple[list[Any], str | None]:
    """One page of an already ordered listing (Table.query: no limit means everything)."""
    start = 0
    if cursor:
        where, _, offset = cursor.rpartition("@")
        if where != f"fake:{partition}" or not offset.isdigit():
            raise BadRequest("cursor is not valid for this listing", code="invalid_cursor")
        start = int(offset)
    page = list(items[start:start + limit] if limit else items[start:])
    end = start + len(page)
    return [_copy(item) for item in page], (f"fake:{partition}@{end}" if limit and end < len(items) else None)


# --- bots, trades, injections ---------------------------------------------------------------------------------


class FakeInjections:
    """Mirrors adapters/dynamo/injections.py (DynamoInjections). Records are written only by
    FakeBotRepository.save_with_injection, atomically with their bot, as in DynamoDB."""

    def __init__(self):
        self.records: dict[tuple[str, str], dict[str, Any]] = {}  # (owner_id, injection id) -> record

    def get(self, owner_id: str, injection_id: str) -> dict[str, Any] | None:
        return _copy(self.records.get((owner_id, injection_id)))

    def for_bot(self, bot_id: str, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """gsi1 `BOT#<bot>#INJECTIONS`, newest first by `ts#id`."""
        mine = [r for r in self.records.values() if r["bot_id"] == bot_id]
        mine.sort(key=lambda r: f"{r['ts']}#{r['id']}", reverse=True)
        return _page(mine, limit, cursor, f"injections-of-bot:{bot_id}")

    def for_owner(self, owner_id: str, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """The owner's partition, by sort key `INJECTION#<id>` ascending (the adapter does not ask newest first)."""
        mine = sorted((r for (owner, _), r in self.records.items() if owner == owner_id), key=lambda r: r["id"])
        return _page(mine, limit, cursor, f"injections-of-owner:{owner_id}")


class FakeBotRepository:
    """Mirrors adapters/dynamo/bots.py (DynamoBotRepository): version-checked saves bump `version` and raise
    WriteConflict when the bot changed (or went) since it was read; `mutate` re-reads and retries like the
    adapter's; `save_with_injection` writes bot and injection together (AlreadyExists for a recorded injection
    id, checked first like the transaction's first item). Owners' listings are by bot id, the fleet's newest first.

    `interfere(change)` plays another writer (a tick, a second request): before the next version-checked write,
    the stored bot gets `change` and a new version, so that write finds it changed. Not faked: the tick's writes
    (record_tick, running_in_shard, pause_unrunnable), which no service tested here uses."""

    def __init__(self, injections: FakeInjections | None = None):
        self.bots: dict[tuple[str, str], Bot] = {}  # (owner_id, bot_id) -> bot as stored
        self.owners: dict[str, str] = {}  # bot id -> owner id: the adapter's `BOT#<id>` / META pointer
        self.injections = injections if injections is not None else FakeInjections()
        self.events_of: dict[str, list[dict[str, Any]]] = {}  # bot id -> events (the tick writes them)
        self.summaries_of: dict[str, list[dict[str, Any]]] = {}  # owner id -> per-exchange trade summaries
        self.saves = 0  # successful version-checked writes
        self._others: list[Callable[[Bot], Bot]] = []

    def interfere(self, change: Callable[[Bot], Bot] = lambda bot: bot, times: int = 1) -> None:
        self._others.extend([change] * times)

    def create(self, bot: Bot) -> None:
        if (bot.owner_id, bot.id) in self.bots or bot.id in self.owners:
            raise WriteConflict(f"bot {bot.id} exists already")
        self.bots[(bot.owner_id, bot.id)] = _copy(bot)
        self.owners[bot.id] = bot.owner_id

    def get(self, owner_id: str, bot_id: str) -> Bot | None:
        return _copy(self.bots.get((owner_id, bot_id)))

    def get_any(self, bot_id: str) -> Bot | None:
        owner_id = self.owners.get(bot_id)
        return self.get(owner_id, bot_id) if owner_id else None

    def owns(self, owner_id: str, bot_id: str) -> bool:
        return (owner_id, bot_id) in self.bots

    def all_of_owner(self, owner_id: str) -> list[Bot]:
        return [_copy(bot) for bot in self._of_owner(owner_id)]

    def list_for_owner(self, owner_id: str, limit: int, cursor: str | None) -> tuple[list[Bot], str | None]:
        return _page(self._of_owner(owner_id), limit, cursor, f"bots-of:{owner_id}")

    def list_all(self, limit: int, cursor: str | None) -> tuple[list[Bot], str | None]:
        """gsi2 `BOTS`, newest first by `created_at#id`."""
        fleet = sorted(self.bots.values(), key=lambda bot: f"{bot.created_at}#{bot.id}", reverse=True)
        return _page(fleet, limit, cursor, "fleet")

    def save(self, bot: Bot) -> Bot:
        self._check_version(bot)
        return self._store(bot)

    def mutate(self, owner_id: str, bot_id: str, change: Callable[[Bot], Bot], *,
               attempts: int = 3) -> tuple[Bot, Bot] | None:
        for attempt in range(attempts):
            bot = self.get(owner_id, bot_id)
            if bot is None:
                return None
            try:
                return bot, self.save(change(bot))
            except WriteConflict:
                if attempt == attempts - 1:
                    raise
        return None

    def save_with_injection(self, bot: Bot, injection: dict[str, Any]) -> Bot:
        if (bot.owner_id, injection["id"]) in self.injections.records:
            raise AlreadyExists(injection["id"])
        self._check_version(bot)
        self.injections.records[(bot.owner_id, injection["id"])] = _copy(injection)
        return self._store(bot)

    def delete(self, bot: Bot) -> None:
        self.remove(bot.owner_id, bot.id)

    def remove(self, owner_id: str, bot_id: str) -> bool:
        if self.bots.pop((owner_id, bot_id), None) is None:
            return False
        self.owners.pop(bot_id, None)
        return True

    def purge_history(self, bot_id: str) -> int:
        return len(self.events_of.pop(bot_id, []))

    def events(self, bot_id: str, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        events = sorted(self.events_of.get(bot_id, []), key=lambda event: event["ts"], reverse=True)
        return _page(events, limit, cursor, f"events-of:{bot_id}")

    def summaries(self, owner_id: str) -> list[dict[str, Any]]:
        return _copy(self.summaries_of.get(owner_id, []))

    def _of_owner(self, owner_id: str) -> list[Bot]:
        return sorted((bot for (owner, _), bot in self.bots.items() if owner == owner_id), key=lambda bot: bot.id)

    def _check_version(self, bot: Bot) -> None:
        key = (bot.owner_id, bot.id)
        if self._others and key in self.bots:
            current = self.bots[key]
            self.bots[key] = replace(self._others.pop(0)(_copy(current)), version=current.version + 1)
        current = self.bots.get(key)
        if current is None or current.version != bot.version:
            raise WriteConflict(f"bot {bot.id} changed since it was read")

    def _store(self, bot: Bot) -> Bot:
        saved = replace(_copy(bot), version=bot.version + 1)
        self.bots[(bot.owner_id, bot.id)] = saved
        self.saves += 1
        return _copy(saved)


class FakeTradeRepository:
    """Mirrors DynamoTradeRepository (adapters/dynamo/bots.py): a bot's and an owner's fills, newest first; the
    owner's listing takes `since` (on `ts#id`, as the index key) and filters applied before the limit. Tests put
    trades in with `add` (the tick writes them in DynamoDB)."""

    def __init__(self):
        self.trades: list[tuple[str, dict[str, Any]]] = []  # (owner_id, trade)

    def add(self, owner_id: str, trade: dict[str, Any]) -> None:
        self.trades.append((owner_id, _copy(trade)))

    def list_for_bot(self, bot_id: str, limit: int, cursor: str | None):
        mine = self._newest_first(trade for _, trade in self.trades if trade["bot_id"] == bot_id)
        return _page(mine, limit, cursor, f"trades-of-bot:{bot_id}")

    def list_for_owner(self, owner_id: str, limit: int, cursor: str | None, *, since: str | None = None,
                       exchange: str | None = None, symbol: str | None = None, bot_id: str | None = None):
        wanted = {"exchange": exchange, "symbol": symbol, "bot_id": bot_id}
        mine = self._newest_first(
            trade for owner, trade in self.trades
            if owner == owner_id and (not since or f"{trade['ts']}#{trade['id']}" >= since)
            and all(value is None or trade.get(name) == value for name, value in wanted.items()))
        return _page(mine, limit, cursor, f"trades-of-owner:{owner_id}")

    @staticmethod
    def _newest_first(trades) -> list[dict[str, Any]]:
        return sorted(trades, key=lambda trade: f"{trade['ts']}#{trade['id']}", reverse=True)


def a_bot(owner_id: str, *, name: str = "grid-1", exchange: str = "binance", symbol: str = "BTC/USDT",
          strategy: str = "sma_cross", capital: str = "1000", at: str = "2026-01-01T00:00:00.000Z",
          **changes: Any) -> Bot:
    """Test data: a fresh paper bot as BotService.create makes it (an open ledger), with `changes` on top."""
    rules = get_exchange(exchange).rules(symbol)
    money = Decimal(capital)
    bot = Bot(id=new_id("bot"), owner_id=owner_id, name=name, exchange=exchange, symbol=symbol, strategy=strategy,
              params={"fast": 3, "slow": 8}, mode="paper", capital=money,
              ledger=Ledger.open(rules.base, rules.quote, money), created_at=at, updated_at=at,
              initial_capital=money)
    return replace(bot, **changes)


# --- training, quarantine, executions, markets ---------------------------------------------------------------


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
        self.runs[key] = _copy(run)

    def get(self, owner_id: str, run_id: str) -> dict[str, Any] | None:
        return _copy(self.runs.get((owner_id, run_id)))

    def set_execution(self, owner_id: str, run_id: str, execution_arn: str) -> None:
        self.runs.setdefault((owner_id, run_id), {})["execution_arn"] = execution_arn  # an update upserts

    def for_owner(self, owner_id: str, limit: int, cursor: str | None):
        runs = sorted((r for (owner, _), r in self.runs.items() if owner == owner_id), key=lambda r: r["run_id"],
                      reverse=True)
        return _page(runs, limit, cursor, f"runs-of-owner:{owner_id}")

    def for_bot(self, bot_id: str, limit: int, cursor: str | None):
        runs = sorted((r for r in self.runs.values() if r.get("bot_id") == bot_id),
                      key=lambda r: f"{r['created_at']}#{r['run_id']}", reverse=True)
        return _page(runs, limit, cursor, f"runs-of-bot:{bot_id}")

    def advance(self, owner_id: str, run_id: str, now: str, *, set_fields: dict[str, Any] | None = None,
                add_fields: dict[str, int] | None = None) -> bool:
        run = self.runs.get((owner_id, run_id))
        if run is None or run.get("status") in ("stopped", "failed"):
            return False
        run.update(_copy(set_fields or {}), updated_at=now)
        for name, amount in (add_fields or {}).items():
            run[name] = run.get(name, 0) + amount
        return True

    def finish(self, owner_id: str, run_id: str, status: str, now: str, fields: dict[str, Any]) -> bool:
        run = self.runs.get((owner_id, run_id))
        if run is None or run.get("status") == "stopped":
            return False
        run.update(_copy(fields), status=status, updated_at=now, finished_at=now)
        return True

    def save_model(self, bot_id: str, run_id: str, owner_id: str, created_at: str, best: dict[str, Any]) -> None:
        self.models[(bot_id, run_id)] = {"run_id": run_id, "owner_id": owner_id, "created_at": created_at,
                                         **_copy(best)}


class FakeQuarantineLog:
    """Mirrors adapters/dynamo/quarantine.py (DynamoQuarantineLog): events in the owner's partition under
    `<ts>#<bot>#<random id>` (so events of one bot at the same instant come back in no promised order), history
    newest first with the bot filter applied before the limit; one configuration item."""

    def __init__(self):
        self.events: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}  # owner -> (sort key) -> event
        self.saved_config: dict[str, Any] | None = None

    def append(self, event: dict[str, Any]) -> None:
        key = (event["ts"], f"{event['bot_id']}#{new_id('q')}")
        self.events.setdefault(event["owner_id"], {})[key] = _copy(event)

    def history(self, owner_id: str, bot_id: str | None, limit: int, cursor: str | None):
        mine = self.events.get(owner_id, {})
        items = [mine[key] for key in sorted(mine, reverse=True) if bot_id is None or mine[key]["bot_id"] == bot_id]
        return _page(items, limit, cursor, f"quarantine-of:{owner_id}")

    def config(self) -> dict[str, Any] | None:
        return _copy(self.saved_config)

    def save_config(self, config: dict[str, Any]) -> None:
        self.saved_config = _copy(config)


class FakeExecutions:
    """Mirrors adapters/stepfunctions.py (StepFunctionsExecutions) with nothing running: a start is recorded and
    idempotent by name (the same name and input give the first ARN, another input ExecutionAlreadyExists);
    stops are recorded, an unknown one ignored like ExecutionDoesNotExist. `fail_starts` makes starts raise."""

    ARN = "arn:aws:states:us-east-1:000000000000:stateMachine:fake"

    def __init__(self, *, fail_starts: bool = False):
        self.started: dict[str, dict[str, Any]] = {}  # name -> payload
        self.stopped: list[tuple[str, str]] = []  # (execution arn, cause)
        self.fail_starts = fail_starts

    def start(self, name: str, payload: dict[str, Any]) -> str:
        if self.fail_starts:
            raise ConnectionError("step functions is unreachable")
        if name in self.started and self.started[name] != payload:
            raise AlreadyExists(name)  # what the adapter raises for Step Functions' ExecutionAlreadyExists
        self.started[name] = _copy(payload)
        return self.arn_of(name)

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

    def view(self, exchange: str, symbol: str, tick_id: str) -> _View:
        state = self.current(exchange, symbol)
        ex = get_exchange(exchange)
        book = sim.order_book(state, f"fake:{exchange}:{symbol}", ex.simulation(symbol), ex.rules(symbol))
        return _View(list(state.closes), book, book.mid)


# --- keys -------------------------------------------------------------------------------------------------------


class FakeStoredKeys:
    """Mirrors adapters/dynamo/api_keys.py (DynamoStoredKeys): one record per (user, provider), listed by
    provider; `remember_test` writes only onto the record still holding the tested `wrapped_key` (False when it
    was replaced or deleted); `count_test` counts up per (user, minute) and returns the count."""

    def __init__(self):
        self.records: dict[tuple[str, str], dict[str, Any]] = {}
        self.test_counts: dict[tuple[str, int], int] = {}

    def all_of(self, user_id: str) -> list[dict[str, Any]]:
        return [_copy(self.records[key]) for key in sorted(self.records) if key[0] == user_id]

    def get(self, user_id: str, provider: str) -> dict[str, Any] | None:
        return _copy(self.records.get((user_id, provider)))

    def put(self, record: dict[str, Any]) -> None:
        self.records[(record["user_id"], record["provider"])] = _copy(record)

    def delete(self, user_id: str, provider: str) -> None:
        self.records.pop((user_id, provider), None)

    def remember_test(self, user_id: str, provider: str, wrapped_key: str, last_test: dict[str, Any]) -> bool:
        record = self.records.get((user_id, provider))
        if record is None or record.get("wrapped_key") != wrapped_key:
            return False
        record["last_test"] = _copy(last_test)
        return True

    def count_test(self, user_id: str, minute: int, expires_at: int) -> int:
        self.test_counts[(user_id, minute)] = self.test_counts.get((user_id, minute), 0) + 1
        return self.test_counts[(user_id, minute)]


class FakeVault:
    """Mirrors adapters/vault.py (KeyVault) without cryptography: `seal` hands out an opaque ciphertext and a
    fresh wrapped key per call (never the secret: that stays inside the fake), bound to the user and provider as
    KMS binds its encryption context. `open` gives the secret back only for the same user, provider, wrapped key
    and ciphertext; anything else raises SecretUnreadable, like VaultError."""

    def __init__(self):
        # wrapped key -> (user, provider, ciphertext, secret)
        self._sealed: dict[str, tuple[str, str, str, dict[str, str]]] = {}
        self._numbers = itertools.count(1)

    def seal(self, user_id: str, provider: str, secret: Mapping[str, str]) -> dict[str, str]:
        number = next(self._numbers)
        wrapped, ciphertext = f"wrapped-{number}-{new_id('dk')}", f"sealed-{number}-{new_id('ct')}"
        self._sealed[wrapped] = (user_id, provider, ciphertext, dict(secret))
        return {"ciphertext": ciphertext, "wrapped_key": wrapped}

    def open(self, user_id: str, provider: str, sealed: Mapping[str, Any]) -> dict[str, str]:
        found = self._sealed.get(sealed.get("wrapped_key", ""))
        if found is None or found[:3] != (user_id, provider, sealed.get("ciphertext")):
            raise SecretUnreadable("the sealed secret cannot be opened (tampered, or another user's)")
        return dict(found[3])


class FakeKeyTester:
    """Stands in for adapters/providers.py (ProviderTester): accepts exactly the api keys in `valid`, records each
    call's provider and credentials, and runs `during` (if given) while the "provider" is being called, for
    things that happen meanwhile."""

    def __init__(self, valid: Sequence[str] = (), *, during: Callable[[], Any] | None = None):
        self.valid = set(valid)
        self.calls: list[tuple[str, dict[str, str]]] = []
        self.during = during

    def test(self, provider: str, credentials: Mapping[str, str]) -> tuple[bool, str]:
        self.calls.append((provider, dict(credentials)))
        if self.during is not None:
            self.during()
        if credentials.get("api_key") in self.valid:
            return True, f"{provider} accepted the key"
        return False, f"{provider} rejected the key (401)"


# --- users, audit, assistant ---------------------------------------------------------------------------------


class FakeUsers:
    """Mirrors adapters/dynamo/users.py (DynamoUserRepository): an email belongs to one account (Conflict
    email_taken), updates need the user to exist (WriteConflict, as the adapter's condition), `list_all` is newest
    first by `created_at#id`."""

    def __init__(self):
        self.users: dict[str, dict[str, Any]] = {}
        self.emails: dict[str, str] = {}

    def create(self, user: dict[str, Any]) -> None:
        if user["email"] in self.emails or user["id"] in self.users:
            raise Conflict("an account with this email already exists", code="email_taken")
        self.users[user["id"]] = _copy(user)
        self.emails[user["email"]] = user["id"]

    def get(self, user_id: str) -> dict[str, Any] | None:
        return _copy(self.users.get(user_id))

    def get_by_email(self, email: str) -> dict[str, Any] | None:
        return self.get(self.emails[email]) if email in self.emails else None

    def bump_token_version(self, user_id: str) -> int:
        return int(self.update_fields(user_id, {}, revoke_tokens=True)["token_version"])

    def list_all(self, limit: int, cursor: str | None):
        users = sorted(self.users.values(), key=lambda u: f"{u['created_at']}#{u['id']}", reverse=True)
        return _page(users, limit, cursor, "users")

    def update_fields(self, user_id: str, fields: dict[str, Any], *, revoke_tokens: bool) -> dict[str, Any]:
        user = self.users.get(user_id)
        if user is None:
            raise WriteConflict(f"user {user_id} is not there")
        user.update(_copy(fields))
        if revoke_tokens:
            user["token_version"] = int(user.get("token_version", 0)) + 1
        return _copy(user)

    def delete_account(self, user: dict[str, Any]) -> int:
        removed = self.users.pop(user["id"], None) is not None
        self.emails.pop(user["email"], None)
        return int(removed) + 1


class FakeAuditLog:
    """Mirrors adapters/dynamo/audit.py (DynamoAuditLog), the log under services.admin.AuditTrail: append-only
    (an entry with the same `ts#id` is refused: WriteConflict), listed newest first with optional filters."""

    def __init__(self):
        self.entries: list[dict[str, Any]] = []  # in the order appended

    def append(self, entry: dict[str, Any]) -> None:
        if any(f"{e['ts']}#{e['id']}" == f"{entry['ts']}#{entry['id']}" for e in self.entries):
            raise WriteConflict(f"audit entry {entry['id']} exists already")
        self.entries.append(_copy(entry))

    def list(self, limit: int, cursor: str | None, *, actor: str | None = None, action: str | None = None,
             since: str | None = None):
        found = [e for e in sorted(self.entries, key=lambda e: f"{e['ts']}#{e['id']}", reverse=True)
                 if (not since or f"{e['ts']}#{e['id']}" >= since) and (not actor or e["actor"] == actor)
                 and (not action or e["action"] == action)]
        return _page(found, limit, cursor, "audit")

    def actions(self) -> list[str]:
        return [entry["action"] for entry in self.entries]


class FakeAssistantStore:
    """Mirrors adapters/dynamo/assistant.py (DynamoAssistantStore): messages under `<ts>#<id>` listed newest
    first (and read back with the adapter's fields only: no `note`); memory `{facts, admin_unlocked_until}`;
    `forget` erases messages and memory, not proposals; a proposal id is written once (WriteConflict) and
    `transition` is the one conditional write: from `expect`, with the token hash and unexpired when asked,
    False when the condition fails (or there is no such proposal)."""

    MESSAGE_FIELDS = ("id", "role", "text", "actions", "ts", "source")

    def __init__(self):
        self.messages_of: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
        self.memories: dict[str, dict[str, Any]] = {}
        self.proposals: dict[str, dict[str, dict[str, Any]]] = {}
        self.chat_counts: dict[tuple[str, int], int] = {}

    def append_message(self, user_id: str, message: dict[str, Any], now_epoch: int) -> None:
        self.messages_of.setdefault(user_id, {})[(message["ts"], message["id"])] = _copy(message)

    def messages(self, user_id: str, limit: int, cursor: str | None):
        mine = self.messages_of.get(user_id, {})
        items = [{k: mine[key][k] for k in self.MESSAGE_FIELDS if k in mine[key]} for key in sorted(mine, reverse=True)]
        return _page(items, limit, cursor, f"chat-of:{user_id}")

    def memory(self, user_id: str) -> dict[str, Any]:
        item = self.memories.get(user_id, {})
        return {"facts": list(item.get("facts") or []), "admin_unlocked_until": item.get("admin_unlocked_until")}

    def save_memory(self, user_id: str, memory: dict[str, Any]) -> None:
        self.memories[user_id] = {"facts": list(memory["facts"]),
                                  "admin_unlocked_until": memory.get("admin_unlocked_until")}

    def forget(self, user_id: str) -> int:
        erased = len(self.messages_of.pop(user_id, {}))
        self.memories.pop(user_id, None)
        return erased

    def count_chat(self, user_id: str, window_start: int, expires_at: int) -> int:
        self.chat_counts[(user_id, window_start)] = self.chat_counts.get((user_id, window_start), 0) + 1
        return self.chat_counts[(user_id, window_start)]

    def add_proposal(self, user_id: str, proposal: dict[str, Any], valid_until_epoch: int) -> None:
        mine = self.proposals.setdefault(user_id, {})
        if proposal["id"] in mine:
            raise WriteConflict(f"proposal {proposal['id']} exists already")
        mine[proposal["id"]] = {**_copy(proposal), "owner_id": user_id, "expires_at": valid_until_epoch + 86400}

    def proposal(self, user_id: str, action_id: str) -> dict[str, Any] | None:
        return _copy(self.proposals.get(user_id, {}).get(action_id))

    def pending_proposals(self, user_id: str) -> list[dict[str, Any]]:
        mine = self.proposals.get(user_id, {})
        return [_copy(mine[key]) for key in sorted(mine) if mine[key].get("status") == "pending"]

    def transition(self, user_id: str, action_id: str, *, to: str, expect: str = "pending",
                   token_hash: str | None = None, valid_after_epoch: int | None = None,
                   result: dict[str, Any] | None = None) -> bool:
        item = self.proposals.get(user_id, {}).get(action_id)
        if (item is None or item.get("status") != expect
                or (token_hash is not None and item.get("token_hash") != token_hash)
                or (valid_after_epoch is not None and not item["valid_until"] > valid_after_epoch)):
            return False
        item["status"] = to
        if result is not None:
            item["result"] = _copy(result)
        return True


@dataclass
class FakeAssistantModel:
    """Stands in for adapters/llm.py (OpenAIAssistantModel): plays a script instead of asking OpenAI. Each
    `(tool name, arguments)` in `calls` goes to the service's `call_tool`, like the adapter does for an offered
    tool (an unoffered one is answered `unknown tool` without reaching it); then it answers `text`. With `error`
    it raises that ModelError instead. Records what it was given."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    text: str = "Done looking."
    error: ModelError | None = None
    runs: list[dict[str, Any]] = field(default_factory=list)
    results: list[Any] = field(default_factory=list)

    def run(self, api_key: str, instructions: str, conversation: list[dict[str, str]], tools: Sequence[Any],
            call_tool: Callable[[ToolCall], Any]) -> ModelTurn:
        offered = {tool.name for tool in tools}
        self.runs.append({"api_key": api_key, "conversation": _copy(conversation), "tools": sorted(offered)})
        if self.error is not None:
            raise self.error
        made = []
        for number, (name, arguments) in enumerate(self.calls):
            if name not in offered:
                self.results.append({"error": "unknown tool"})
                continue
            call = ToolCall(f"call_{number}", name, dict(arguments))
            made.append(call)
            self.results.append(call_tool(call))
        return ModelTurn(self.text, made)
