"""The venue port: what one tick trades through, paper or live, and the tick's one shared scratchpad.

`domain.trading.run_tick` makes every decision (is the feed sane, is a breaker tripped, what does the strategy
want, is the bot to be paused). A venue only executes: it opens the tick at its market, works the orders it has
out, trades a side, cancels, stops out, and adds its own sanity checks. Paper (`domain.paper_venue.PaperVenue`)
fills against the simulated book, purely; live (`services.live.LiveVenue`) sends orders to an exchange and
reconciles them by client order id.

Where the two flows differed before they shared this step, the difference is kept as a named flag on the venue,
so that each one is visible (and can be decided) in one place.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any, Protocol

from botfleet.domain.bots import Bot
from botfleet.domain.exchanges import Exchange, SymbolRules, get_exchange
from botfleet.domain.ledger import Ledger
from botfleet.domain.orders import RestingOrder
from botfleet.domain.paper import Fill


@dataclass(frozen=True, slots=True)
class Execution:
    """A fill as the tick records it: which order, with the P&L it realized."""

    fill: Fill
    client_order_id: str
    order_type: str
    realized_pnl: Decimal


@dataclass(slots=True)
class StepResult:
    bot: Bot
    executions: list[Execution] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)  # {"kind", "message", ...}
    changed: bool = False


@dataclass(frozen=True, slots=True)
class Halt:
    """Why a venue cannot go on with this tick. With a `pause_reason` the bot needs a person: it is paused with
    `message`, and the pause does not count toward the quarantine ladder. Without one the failure passes: the tick
    ends with what it has booked so far (the venue's own event says why) and the next tick tries again."""

    pause_reason: str | None = None
    message: str = ""


class Tick:
    """The mutable scratchpad of one bot's tick, whichever venue executes it: the books, the open orders and what
    happened (executions, events). The decision flow and the venue change it; `finish()` turns it into the
    result the caller persists atomically."""

    __slots__ = ("bot", "events", "exchange", "executions", "ledger", "orders", "rules", "tick_id")

    def __init__(self, bot: Bot, tick_id: str):
        self.bot = bot
        self.tick_id = tick_id
        self.exchange: Exchange = get_exchange(bot.exchange)
        self.rules: SymbolRules = self.exchange.rules(bot.symbol)
        self.ledger: Ledger = bot.ledger
        # Copies: the tick works its orders in place, and the bot we were given is never changed.
        self.orders: list[RestingOrder] = [order.copy() for order in bot.orders]
        self.executions: list[Execution] = []
        self.events: list[dict[str, Any]] = []

    def record(self, fill: Fill, client_order_id: str, order_type: str, *, reserved: bool = False) -> None:
        """Book a fill: `reserved` pays from the order's reservation instead of the free balance."""
        self.ledger, realized = self.ledger.fill(fill.side, fill.amount, fill.cost, fill.fee, fill.fee_currency,
                                                 reserved=reserved, order_id=client_order_id)
        self.executions.append(Execution(fill, client_order_id, order_type, realized))

    def event(self, kind: str, message: str, **details: Any) -> None:
        self.events.append({"kind": kind, "message": message, **details})

    def release(self, order: RestingOrder) -> None:
        """Give back what `order` still holds reserved. Zeroed after, so a second release (live: after a cancel
        that booked fills) frees nothing twice."""
        currency = self.rules.quote if order.side == "buy" else self.rules.base
        self.ledger = self.ledger.release(currency, order.reserved)
        order.reserved = Decimal(0)

    def finish(self, paused: Bot | None = None) -> StepResult:
        """The tick's outcome for the bot (`paused`: the bot as the tick paused it; always worth a write)."""
        bot = self.bot if paused is None else paused
        orders = tuple(self.orders)
        updated = replace(bot, ledger=self.ledger, orders=orders, last_tick=self.tick_id)
        # Only what changed is written: a tick in which the bot just watched the market (no fill, no order
        # change, no event, books that moved only by a small new peak) leaves no write (docs/scaling.md).
        changed = paused is not None or bool(self.executions or self.events) or orders != self.bot.orders or (
            self.ledger.worth_writing(self.bot.ledger))
        return StepResult(updated, self.executions, self.events, changed)


class Venue(Protocol):
    """Where a tick's orders are executed. One instance serves one tick of one bot."""

    # --- how this venue's flow differs (kept from before paper and live were one tick; see run_tick) --------
    judges_feed: bool  # a feed whose last two closes jump pauses the bot (sanity) before any order is sent
    rebases_breakers: bool  # a bot with no last mark (new, resumed, redeployed) starts its breakers at this mark
    # True: a breach seen before trading stops out at once, and the books are not checked for a breach again
    # after marking. False: checked before and after the strategy, acted on after the sanity checks.
    stops_out_before_trading: bool
    one_order_in_flight: bool  # with any order open, the strategy is not asked this tick
    cancels_on_pause: bool  # a pause that needs a person (not a breaker trip) cancels the open orders first
    pause_event: str  # the event kind of a pause that does not count toward the ladder
    halt: Halt | None  # set when the venue cannot go on this tick (see Halt)

    def open(self, tick: Tick) -> Decimal | None:
        """Meet this tick's market; returns the mark the tick is judged at, or None when the venue halted."""

    def work_orders(self, tick: Tick) -> None:
        """Let the orders the bot has out meet this tick's market (book their fills, drop the finished)."""

    def trade(self, tick: Tick, side: str) -> None:
        """Trade toward the strategy's target: all in (buy) or all out (sell); refusals become events."""

    def cancel_all(self, tick: Tick, reason: str) -> None:
        """Take every open order off the market and release its reservation."""

    def stop_out(self, tick: Tick, amount: Decimal) -> None:
        """Sell `amount` at market to leave it after a breaker trip."""

    def problems(self, tick: Tick) -> list[str]:
        """This venue's own sanity checks of the tick's executions (beyond the books' reconciliation)."""

    def breaker_message(self, breach: str, ledger: Ledger, mark: Decimal) -> str:
        """What the risk pause event says after the stop-out (`ledger` as marked after it)."""
