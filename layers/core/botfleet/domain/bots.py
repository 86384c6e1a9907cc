"""A bot: its identity, configuration, lifecycle and paper balances."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from decimal import ROUND_UP, Decimal
from typing import Any

from botfleet.domain.exchanges import get_exchange
from botfleet.domain.ledger import Ledger
from botfleet.domain.money import CAPITAL, money_str
from botfleet.domain.orders import RestingOrder
from botfleet.domain.quarantine import QuarantineState
from botfleet.domain.risk import RiskLimits
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

# The pause reason of a bot an admin paused or stopped: it stays out of the market until an admin puts it back.
ADMIN_HOLD = "admin"

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
    risk: RiskLimits = field(default_factory=RiskLimits)
    initial_capital: Decimal = Decimal(0)
    order_type: str = "market"  # how the bot trades toward its target: market orders or resting limits
    limit_offset_bps: Decimal = Decimal(10)  # limit orders sit this far from mid
    limit_ttl_ticks: int = 5  # an unfilled limit order is cancelled after this many ticks
    orders: tuple[RestingOrder, ...] = ()  # open (resting) orders; a tick works on copies of them
    version: int = 0  # optimistic concurrency: every write is conditional on the version it read
    quarantine: QuarantineState | None = None  # while quarantined (or after it failed): where it stands

    @property
    def regenerating(self) -> bool:
        """Its quarantine is replacing it with its next generation: no one may start, pause, resume, stop or delete
        it meanwhile (the step would create the successor of a bot its owner had just put back)."""
        return self.status == "quarantined" and self.quarantine is not None and self.quarantine.stage == "regenerating"

    @property
    def quote_currency(self) -> str:
        return self.symbol.split("/")[1]

    @property
    def cash(self) -> Decimal:
        return self.ledger.quote_total

    @property
    def position(self) -> Decimal:
        return self.ledger.base_total

    # --- state changes: every caller (owner, admin, assistant, quarantine, engine) goes through these ---------

    def paused(self, reason: str, at: str) -> Bot:
        """Taken out of the market by a person (`manual` by its owner, `admin`); only a running bot (409)."""
        return replace(self, status=next_status(self, "pause"), pause_reason=reason, quarantine=None, updated_at=at)

    def resumed(self, at: str) -> Bot:
        """Back in the market from paused or quarantined: its quarantine ends, and after a breaker trip it takes
        the risk again from the next mark (the breakers start afresh, not from the loss that tripped them)."""
        return self._back_in_market(next_status(self, "resume"), at)

    def started(self, at: str) -> Bot:
        return self._back_in_market(next_status(self, "start"), at)

    def stopped(self, reason: str | None, at: str) -> Bot:
        """Out of the market for good until started again; a quarantine in progress ends (it would redeploy it)."""
        return replace(self, status=next_status(self, "stop"), pause_reason=reason, quarantine=None, updated_at=at)

    def restarted(self, at: str) -> Bot:
        """The admin's override: running from any state, breakers re-based, resting orders kept with their
        reservations."""
        return replace(self, status="running", pause_reason=None, ledger=self.ledger.rebase_at_next_mark(),
                       quarantine=None, updated_at=at)

    def redeployed(self, params: dict[str, Any], at: str) -> Bot:
        """The quarantine's good end: retrained parameters, back in the market from the next mark."""
        return replace(self, params=params, status="running", pause_reason=None, quarantine=None,
                       ledger=self.ledger.rebase_at_next_mark(), updated_at=at)

    def tripped(self, reason: str, *, counts: bool) -> Bot:
        """Paused by the engine. A breaker trip `counts` toward the quarantine ladder; a sanity or exchange pause
        needs a person and does not."""
        return replace(self, status="paused", pause_reason=reason, pause_count=self.pause_count + (1 if counts else 0))

    def quarantine_failed(self, at: str) -> Bot:
        """The quarantine could not finish: left paused, visibly, for a person."""
        return replace(self, status="paused", pause_reason="quarantine_failed",
                       quarantine=replace(self.quarantine or QuarantineState(), stage="failed"), updated_at=at)

    def _back_in_market(self, status: str, at: str) -> Bot:
        ledger = self.ledger.rebase_at_next_mark() if self.pause_reason in RISK_PAUSE_REASONS else self.ledger
        return replace(self, status=status, pause_reason=None, ledger=ledger, quarantine=None, updated_at=at)


def next_status(bot: Bot, action: str) -> str:
    """The status `action` leads to, or a 409 naming why it is not allowed now."""
    allowed_from, target = TRANSITIONS[action]
    if bot.regenerating:
        raise Conflict(f"cannot {action} a bot that is being replaced by its next generation; try again in a minute",
                       code="regenerating")
    if bot.status not in allowed_from:
        raise Conflict(
            f"cannot {action} a bot that is {bot.status} (allowed from: {', '.join(allowed_from)})",
            code="invalid_transition",
        )
    return target


CAPITAL_QUANTUM = Decimal(1).scaleb(-CAPITAL.places)  # the precision a capital is given in


def check_capital(exchange_id: str, symbol: str, capital: Decimal, price: Decimal | None = None) -> None:
    """Capital must cover at least one minimum order on the exchange (with its fee): its minimum notional and, at
    `price` (where the caller knows the price the bot would trade at), its minimum amount. A bot below either
    would run and never trade."""
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
    if price is None or price <= 0:
        return
    smallest_order = rules.min_amount * price * (1 + exchange.taker_fee)
    if capital < smallest_order:
        raise Unprocessable(
            "capital",
            f"{capital} {rules.quote} cannot buy the minimum amount of {exchange.name} {symbol}: "
            f"{rules.min_amount} {rules.base} at {price} costs "
            f"{money_str(smallest_order.quantize(CAPITAL_QUANTUM, rounding=ROUND_UP))} {rules.quote} with the fee",
            code="below_min_amount",
        )


def trade_totals(bots: Iterable[Bot]) -> list[dict[str, Any]]:
    """Per exchange and quote currency: the trades, volume, fees (in quote) and realized P&L of these bots, read off
    their books (the ledger counts every fill and keeps the trial balance), so no per-fill summary write is needed."""
    return merge_trade_totals(bot_trade_totals(bot) for bot in bots)


def bot_trade_totals(bot: Bot) -> dict[str, Any]:
    """One bot's trade totals, off its books: the row trade_totals adds up, and the figures of its `metrics` event."""
    ledger = bot.ledger
    return trade_totals_row(bot.exchange, ledger.quote, ledger.fills, ledger.bought_quote, ledger.sold_quote,
                            ledger.fees_paid, ledger.realized_pnl)


def trade_totals_row(exchange: str, quote: str, fills: int, bought_quote: Decimal, sold_quote: Decimal,
                     fees_paid: Decimal, realized_pnl: Decimal) -> dict[str, Any]:
    """A bot's trade totals from the ledger's figures (also read alone, without the rest of the bot: fleet
    metrics)."""
    return {"exchange": exchange, "quote_currency": quote, "trades": fills, "volume": bought_quote + sold_quote,
            "fees": fees_paid, "realized_pnl": realized_pnl}


def bot_figures(bot: Bot) -> dict[str, Any]:
    """What metrics count of one bot: its status, its pause reason and its trade totals."""
    return {"status": bot.status, "pause_reason": bot.pause_reason, **bot_trade_totals(bot)}


def merge_trade_totals(rows: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows of trade totals added up per (exchange, quote currency); rows with no trade are left out."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        key = (str(row["exchange"]), str(row["quote_currency"]))
        total = merged.setdefault(key, {"exchange": key[0], "quote_currency": key[1], "trades": 0,
                                        "volume": Decimal(0), "fees": Decimal(0), "realized_pnl": Decimal(0)})
        total["trades"] += int(row["trades"])
        for name in ("volume", "fees", "realized_pnl"):
            total[name] += Decimal(row[name])
    return [total for total in merged.values() if total["trades"]]
