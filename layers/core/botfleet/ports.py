"""The ports the services depend on. Adapters implement them against AWS; tests use fakes."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Any, Protocol

from botfleet.domain.bots import Bot, UnreadableBot
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
    def create(self, bot: Bot) -> None: ...
    def get(self, owner_id: str, bot_id: str) -> Bot | None: ...
    def list_for_owner(self, owner_id: str, limit: int, cursor: str | None) -> tuple[list[Bot], str | None]: ...
    def all_of_owner(self, owner_id: str) -> list[Bot]: ...
    def list_all(self, limit: int, cursor: str | None) -> tuple[list[Bot], str | None]: ...
    def save(self, bot: Bot) -> Bot: ...
    def mutate(self, owner_id: str, bot_id: str, change: Any, *, attempts: int = 3) -> tuple[Bot, Bot] | None: ...
    def delete(self, bot: Bot) -> None: ...
    def running_in_shard(self, shard: int) -> list[Bot | UnreadableBot]: ...
    def remove(self, owner_id: str, bot_id: str) -> bool: ...
    def owns(self, owner_id: str, bot_id: str) -> bool: ...
    def pause_unrunnable(self, owner_id: str, bot_id: str, reason: str, message: str, ts: str) -> bool: ...
    def record_tick(self, before: Bot, after: Bot, trades: list[dict[str, Any]], events: list[dict[str, Any]],
                    tick_id: str) -> bool: ...


class MarketRepository(Protocol):
    def current(self, exchange: str, symbol: str) -> MarketState: ...
    def for_tick(self, exchange: str, symbol: str, tick_id: str) -> MarketState: ...


class MarketView(Protocol):
    closes: Sequence[Decimal]  # oldest → newest, one per tick
    book: OrderBook
    mark: Decimal


class MarketData(Protocol):
    """Where a tick's market comes from: the simulator, live public endpoints, or a replayed CSV."""

    def view(self, exchange: str, symbol: str, tick_id: str) -> MarketView: ...
    def mark(self, exchange: str, symbol: str) -> Decimal: ...


class ConnectionPublisher(Protocol):
    def send(self, connection_id: str, message: dict[str, Any]) -> bool:
        """Deliver a message; False when the connection is gone."""

    def disconnect(self, connection_id: str) -> None:
        """Close the client's socket; an already-gone connection is fine."""


class EngineInvoker(Protocol):
    def run_shard_async(self, tick_id: str, shard: int) -> None: ...


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
