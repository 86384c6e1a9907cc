"""A bot: its identity, configuration, lifecycle and paper balances."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from botfleet.domain.exchanges import get_exchange
from botfleet.domain.ledger import Ledger
from botfleet.errors import Conflict, Unprocessable

STATUSES = ("running", "paused", "quarantined", "stopped")
MODES = ("paper", "live")
ORDER_TYPES = ("market", "limit")
RISK_PAUSE_REASONS = ("max_drawdown", "daily_loss", "consecutive_losses")
#: The engine could not load or step the bot (corrupt state, a bug): paused so its shard trades on. Not a risk
#: pause, so it never climbs the quarantine ladder; the owner sees the reason and an event, and may resume.
ENGINE_PAUSE_REASON = "engine_error"


@dataclass(frozen=True, slots=True)
class UnreadableBot:
    """A stored bot the engine cannot turn into a Bot: enough to pause it and say why."""

    owner_id: str
    id: str
    error: str

# action -> (statuses it may start from, status it leads to)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "start": (("stopped",), "running"),
    "pause": (("running",), "paused"),
    "resume": (("paused", "quarantined"), "running"),
    "stop": (("running", "paused", "quarantined"), "stopped"),
}


@dataclass(slots=True)
class Bot:
    id: str
    owner_id: str
    name: str
    exchange: str
    symbol: str
    strategy: str
    params: dict[str, Any]
    mode: str
    capital: Decimal  # allocated: initial capital plus deposits minus withdrawals
    ledger: Ledger
    created_at: str
    updated_at: str
    status: str = "running"
    pause_reason: str | None = None
    pause_count: int = 0
    generation: int = 1
    parent_id: str | None = None
    last_tick: str | None = None
    risk: dict[str, Any] = field(default_factory=dict)
    initial_capital: Decimal = Decimal(0)
    order_type: str = "market"  # how the bot trades toward its target: market orders or resting limits
    limit_offset_bps: Decimal = Decimal(10)  # limit orders sit this far from mid
    limit_ttl_ticks: int = 5  # an unfilled limit order is cancelled after this many ticks
    orders: list[dict[str, Any]] = field(default_factory=list)  # open (resting) orders
    version: int = 0  # optimistic concurrency: every write is conditional on the version it read
    quarantine: dict[str, Any] | None = None  # while quarantined: pause_number, stage, wait_seconds, since

    @property
    def quote_currency(self) -> str:
        return self.symbol.split("/")[1]

    @property
    def cash(self) -> Decimal:
        return self.ledger.quote_total

    @property
    def position(self) -> Decimal:
        return self.ledger.base_total


def next_status(bot: Bot, action: str) -> str:
    """The status `action` leads to, or a 409 naming why it is not allowed now."""
    allowed_from, target = TRANSITIONS[action]
    if bot.status not in allowed_from:
        raise Conflict(
            f"cannot {action} a bot that is {bot.status} (allowed from: {', '.join(allowed_from)})",
            code="invalid_transition",
        )
    return target


def check_capital(exchange_id: str, symbol: str, capital: Decimal) -> None:
    """Capital must cover at least one minimum order on the exchange (with its fee)."""
    exchange = get_exchange(exchange_id)
    rules = exchange.rules(symbol)
    if capital <= 0:
        raise Unprocessable("capital", "must be positive")
    minimum = rules.min_notional * (1 + exchange.taker_fee)
    if capital < minimum:
        raise Unprocessable(
            "capital",
            f"{capital} {rules.quote} is below the min notional of {exchange.name} {symbol} "
            f"({rules.min_notional} {rules.quote} plus fee)",
            code="below_min_notional",
        )
