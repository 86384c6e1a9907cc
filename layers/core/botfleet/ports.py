"""The ports the services depend on. Adapters implement them against AWS; tests use fakes."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Protocol

from botfleet.domain.bots import Bot, UnreadableBot
from botfleet.domain.charts import Candle
from botfleet.domain.market import MarketState, OrderBook
from botfleet.domain.throttle import Counter, CounterWrite


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...
    def verify(self, stored_hash: str | None, password: str) -> bool: ...


class UserRepository(Protocol):
    def create(self, user: dict[str, Any]) -> None: ...
    def get(self, user_id: str) -> dict[str, Any] | None: ...
    def get_by_email(self, email: str) -> dict[str, Any] | None: ...
    def bump_token_version(self, user_id: str) -> int: ...


class UserAccounts(UserRepository, Protocol):
    """The users repository as account management sees it (services.accounts, services.admin)."""

    def update_fields(self, user_id: str, fields: dict[str, Any], *, revoke_tokens: bool,
                      while_admin: str | None = None) -> dict[str, Any]:
        """Set fields; with `revoke_tokens`, every token issued so far stops working at once; with `while_admin`,
        only while that user is still an admin who is not blocked, checked atomically with the write (AdminGone
        when not; WriteConflict when the user to update is gone)."""
    def delete_account(self, user: dict[str, Any]) -> int:
        """Everything in the user's own partition and their email claim; returns how many items went."""
    def another_admin(self, user_id: str) -> str | None:
        """An admin other than `user_id` who is not blocked (the last-admin check), or None."""


class ThrottleStore(Protocol):
    """Throttle counters (botfleet.domain.throttle), shared by every instance of the auth function."""

    def read(self, scope: str, key: str) -> Counter | None: ...

    def claim(self, writes: Sequence[CounterWrite]) -> bool:
        """Make every write at once, only if none of the counters changed since it was read as `seen`;
        False (nothing written) when one did."""

    def succeed(self, scope: str, key: str, counter: Counter, expires_at: int) -> None:
        """Store a counter after a success (unconditionally: a success clears what it finds)."""

    def give_back(self, scope: str, key: str) -> None:
        """Take back one failure an attempt counted before it turned out to succeed."""

    def count_in_window(self, scope: str, key: str, window_start: int, limit: int, expires_at: int) -> bool:
        """Count one event in the window; False (not counted) when `limit` are counted already."""


class BotRepository(Protocol):
    def create(self, bot: Bot, request: str | None = None) -> None:
        """Raises WriteConflict when the id exists. `request`: the fingerprint of the request that created it, kept
        with the bot (its pointer) for as long as it exists, so that an Idempotency-Key's retry can be told from a
        different request under the same key."""
        ...
    def creation_request(self, owner_id: str, bot_id: str) -> str | None:
        """The fingerprint `create` kept for the owner's bot; None when there is no such bot or none was kept."""
        ...
    def get(self, owner_id: str, bot_id: str) -> Bot | None:
        """The owner's bot; Conflict `bot_unreadable` (409) if its stored state cannot be read."""
    def list_for_owner(self, owner_id: str, limit: int, cursor: str | None) -> tuple[list[Bot], str | None]: ...
    def all_of_owner(self, owner_id: str) -> list[Bot]:
        """The owner's bots. Listings (this, list_for_owner, list_all, whole_fleet) leave out, and log, a bot whose
        stored state cannot be read: one corrupt item fails no listing."""
    def everything_of_owner(self, owner_id: str) -> list[Bot | UnreadableBot]:
        """The owner's bots, those whose stored state cannot be read included (what removing the account deletes)."""
    def list_all(self, limit: int, cursor: str | None) -> tuple[list[Bot], str | None]: ...
    def whole_fleet(self) -> list[Bot]:
        """Every bot of every owner, newest first (admin views and fleet-wide actions)."""
    def fleet_figures(self) -> list[dict[str, Any]]:
        """domain.bots.bot_figures of every bot of every owner (fleet metrics), read without the rest of the bots."""
    def save(self, bot: Bot) -> Bot: ...
    def save_with_injection(self, bot: Bot, injection: dict[str, Any]) -> Bot:
        """Atomically; AlreadyExists for a recorded injection id, WriteConflict when the bot changed."""
    def mutate(self, owner_id: str, bot_id: str, change: Any, *, attempts: int = 3) -> tuple[Bot, Bot] | None: ...
    def delete(self, bot: Bot) -> None: ...
    def running_in_shard(self, shard: int) -> list[Bot | UnreadableBot]: ...
    def remove(self, owner_id: str, bot_id: str) -> bool: ...
    def owns(self, owner_id: str, bot_id: str) -> bool: ...
    def pause_unrunnable(self, owner_id: str, bot_id: str, reason: str, message: str, ts: str) -> bool: ...
    def record_tick(self, before: Bot, after: Bot, trades: list[dict[str, Any]], events: list[dict[str, Any]],
                    tick_id: str) -> bool: ...
    def get_any(self, bot_id: str) -> Bot | None:
        """A bot by id alone, whoever owns it (admin and system use only)."""
    def purge_history(self, bot_id: str) -> int: ...
    def ids_with_history(self, owner_id: str) -> set[str]:
        """The owner's bots, current or deleted earlier, whose trades, events or models may still be stored."""
    def events(self, bot_id: str, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]: ...
    def summaries(self, owner_id: str) -> list[dict[str, Any]]:
        """The owner's trade totals per exchange and quote: the bots' books plus their deleted bots' (retired)."""

    def retired_totals(self, owner_id: str) -> list[dict[str, Any]]: ...


class TradeRepository(Protocol):
    def list_for_bot(self, bot_id: str, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]: ...
    def list_for_owner(self, owner_id: str, limit: int, cursor: str | None, *, since: str | None = None,
                       exchange: str | None = None, symbol: str | None = None,
                       bot_id: str | None = None) -> tuple[list[dict[str, Any]], str | None]: ...


class AuditLog(Protocol):
    """Append-only: who did what to what, when (entries never hold secrets)."""

    def append(self, entry: dict[str, Any]) -> None: ...
    def list(self, limit: int, cursor: str | None, *, actor: str | None = None, action: str | None = None,
             since: str | None = None) -> tuple[list[dict[str, Any]], str | None]: ...


class MarketRepository(Protocol):
    def current(self, exchange: str, symbol: str) -> MarketState: ...
    def for_tick(self, exchange: str, symbol: str, tick_id: str) -> MarketState: ...
    def candles(self, exchange: str, symbol: str, limit: int) -> list[Candle]:
        """The newest `limit` one-minute candles, oldest first."""


class MarketView(Protocol):
    closes: Sequence[Decimal]  # oldest → newest, one per tick
    book: OrderBook
    mark: Decimal


class MarketData(Protocol):
    """Where a tick's market comes from: the simulator, live public endpoints, or a replayed CSV."""

    def view(self, exchange: str, symbol: str, tick_id: str) -> MarketView: ...
    def mark(self, exchange: str, symbol: str) -> Decimal: ...


class PostRefusedForNow(Exception):
    """A ConnectionPublisher could not post now but may later: the account's @connections throttle (429), or the
    service briefly failing before anything was sent. The caller backs off and retries; `throttled` tells which."""

    def __init__(self, message: str, *, throttled: bool):
        super().__init__(message)
        self.throttled = throttled


class ConnectionPublisher(Protocol):
    """Posts to WebSocket connections. Safe to call from several threads at once (the broadcaster's pool)."""

    def send(self, connection_id: str, message: dict[str, Any]) -> bool:
        """Deliver a message, encoded as compact JSON (what the broadcaster's byte budget measures); False when
        the connection is gone. Raises PostRefusedForNow when it may be retried; other errors are failures."""

    def disconnect(self, connection_id: str) -> None:
        """Close the client's socket; an already-gone connection is fine."""


class EngineInvoker(Protocol):
    def run_shards_async(self, tick_id: str, shards: Sequence[int]) -> None:
        """Start one engine run over these shards (partitions of the running-bot index) for this tick."""


class TickLog(Protocol):
    """The fleet's one record of its ticks: which tick is the newest, and how many bots each shard ran in it.
    It replaces a per-bot write of "this bot saw tick t" (docs/scaling.md)."""

    def begin(self, tick_id: str) -> dict[int, int] | None:
        """Make `tick_id` the newest tick (the same tick again is fine: a redelivery); returns the bots each shard
        last ran, or None when a newer tick has already begun (this one is stale and must not run)."""

    def newest(self) -> str | None:
        """The newest tick begun, if any."""

    def record_sizes(self, sizes: Mapping[int, int]) -> None:
        """How many running bots each of these shards had in the tick just run (sizes the next fan-out)."""


class AssistantStore(Protocol):
    """The assistant's memory of each user, in that user's own partition: the conversation, remembered facts and
    the proposed actions with their hashed confirmation tokens."""

    def append_message(self, user_id: str, message: dict[str, Any], now_epoch: int) -> None: ...
    def messages(self, user_id: str, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]:
        """A page of the conversation, newest first; the cursor goes further back."""
    def memory(self, user_id: str) -> dict[str, Any]: ...
    def save_memory(self, user_id: str, memory: dict[str, Any]) -> None: ...
    def forget(self, user_id: str) -> int: ...
    def add_proposal(self, user_id: str, proposal: dict[str, Any], valid_until_epoch: int) -> None: ...
    def proposal(self, user_id: str, action_id: str) -> dict[str, Any] | None: ...
    def pending_proposals(self, user_id: str) -> list[dict[str, Any]]: ...
    def transition(self, user_id: str, action_id: str, *, to: str, expect: str = "pending",
                   token_hash: str | None = None, valid_after_epoch: int | None = None,
                   result: dict[str, Any] | None = None) -> bool:
        """One conditional write from `expect` to `to` (and, with them, only for this token and while unexpired);
        False when the condition did not hold: of two concurrent confirmations, exactly one wins."""
    def count_chat(self, user_id: str, window_start: int, expires_at: int) -> int:
        """Count one chat message in the window starting at `window_start`; returns the count so far."""


class AssistantModel(Protocol):
    """A language model that answers with the tools it is offered (botfleet.adapters.llm)."""

    def run(self, api_key: str, instructions: str, conversation: list[dict[str, str]], tools: Sequence[Any],
            call_tool: Any) -> Any: ...


class TrainingRuns(Protocol):
    """Training runs (plain dicts of the run's fields), the per-bot lock and trained models."""

    def lock(self, bot_id: str, run_id: str, now_epoch: int, expires_at: int) -> bool: ...
    def unlock(self, bot_id: str, run_id: str) -> None: ...
    def create(self, run: dict[str, Any]) -> None: ...
    def get(self, owner_id: str, run_id: str) -> dict[str, Any] | None: ...
    def set_execution(self, owner_id: str, run_id: str, execution_arn: str) -> None: ...
    def for_owner(self, owner_id: str, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]: ...
    def for_bot(self, bot_id: str, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]: ...
    def advance(self, owner_id: str, run_id: str, now: str, *, set_fields: dict[str, Any] | None = None,
                add_fields: dict[str, int | set[int]] | None = None) -> bool: ...
    def finish(self, owner_id: str, run_id: str, status: str, now: str, fields: dict[str, Any]) -> bool:
        """False when it had been stopped already (a stop: when it had ended)."""
    def save_model(self, bot_id: str, run_id: str, owner_id: str, created_at: str, best: dict[str, Any]) -> None: ...


class QuarantineLog(Protocol):
    """The quarantine's history events per owner, and the admin's quarantine configuration."""

    def append(self, event: dict[str, Any]) -> None: ...
    def history(self, owner_id: str, bot_id: str | None, limit: int,
                cursor: str | None) -> tuple[list[dict[str, Any]], str | None]: ...
    def config(self) -> dict[str, Any] | None: ...
    def save_config(self, config: dict[str, Any]) -> None: ...


class Injections(Protocol):
    """Capital deposits and withdrawals; a record is written atomically with its bot (BotRepository)."""

    def get(self, owner_id: str, injection_id: str) -> dict[str, Any] | None: ...
    def for_bot(self, bot_id: str, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]: ...
    def for_owner(self, owner_id: str, limit: int, cursor: str | None) -> tuple[list[dict[str, Any]], str | None]: ...


class Counters(Protocol):
    """Counts the platform keeps as it works: ticks and errors (fleet and per user), trade summaries."""

    def fleet(self) -> dict[str, Any]: ...
    def of_user(self, user_id: str) -> dict[str, Any]: ...
    def all_retired_totals(self) -> list[dict[str, Any]]:
        """Every user's retired trade totals (what their deleted bots traded)."""
    def fleet_snapshot(self) -> dict[str, Any] | None:
        """The fleet's bot-derived metrics as last kept (services/metrics.py), with `bots_as_of`; None if none."""
    def keep_fleet_snapshot(self, snapshot: dict[str, Any]) -> bool:
        """Keep `snapshot` unless one read later is kept already (then False)."""


class StoredKeys(Protocol):
    """Users' sealed API keys (never plaintext) and the per-minute key-test counter."""

    def all_of(self, user_id: str) -> list[dict[str, Any]]: ...
    def get(self, user_id: str, provider: str) -> dict[str, Any] | None: ...
    def put(self, record: dict[str, Any]) -> None: ...
    def delete(self, user_id: str, provider: str) -> None: ...
    def remember_test(self, user_id: str, provider: str, wrapped_key: str, last_test: dict[str, Any]) -> bool:
        """Store a test result on the key that was tested only (False if it was replaced or deleted since)."""
    def count_test(self, user_id: str, minute: int, expires_at: int) -> int: ...


@dataclass(frozen=True, slots=True)
class TableChange:
    """One change of a stored item, as the table's stream reports it: `event` INSERT | MODIFY | REMOVE, the item
    before and after (plain values), and for a bot its domain object."""

    event: str
    new: dict[str, Any] | None
    old: dict[str, Any] | None
    bot: Bot | None = None

    @property
    def current(self) -> dict[str, Any]:
        return self.new or self.old or {}


class Executions(Protocol):
    """Step Functions executions of one state machine. A name starts at most one execution: starting it again
    raises AlreadyExists (how a replayed tick starts no second quarantine)."""

    def start(self, name: str, payload: dict[str, Any]) -> str: ...
    def stop(self, execution_arn: str, cause: str) -> None: ...
    def stop_by_name(self, name: str, cause: str) -> None: ...
