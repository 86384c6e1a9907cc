"""A bot: its identity, configuration, lifecycle and paper balances."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from botfleet.domain.exchanges import get_exchange
from botfleet.errors import Conflict, Unprocessable

STATUSES = ("running", "paused", "quarantined", "stopped")
MODES = ("paper", "live")

# action -> (statuses it may start from, status it leads to)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "start": (("stopped",), "running"),
    "pause": (("running",), "paused"),
    "resume": (("paused",), "running"),
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
    capital: Decimal
    cash: Decimal
    position: Decimal
    created_at: str
    updated_at: str
    status: str = "running"
    pause_reason: str | None = None
    pause_count: int = 0
    generation: int = 1
    parent_id: str | None = None
    last_tick: str | None = None
    risk: dict[str, Any] = field(default_factory=dict)

    @property
    def quote_currency(self) -> str:
        return self.symbol.split("/")[1]


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
