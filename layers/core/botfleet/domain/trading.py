"""One bot on one tick, paper or live: the feed is judged, the venue meets the market, circuit breakers are
checked, the strategy trades toward its target position, the books are marked and reconciled, and a breaker trip
leaves the market and pauses the bot.

`run_tick()` is that decision, once, for both modes; what executes it is a venue (domain.venue). `step()` is paper
trading: the same decision against the tick's order book, as a pure function. Both return what happened (fills,
events, the bot's new state); the caller persists it atomically.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal

from botfleet.domain.bots import Bot
from botfleet.domain.market import OrderBook
from botfleet.domain.money import quantize_down
from botfleet.domain.paper_venue import PaperVenue
from botfleet.domain.strategies import get_strategy
from botfleet.domain.venue import Execution, StepResult, Tick, Venue

__all__ = ["MAX_MARK_JUMP", "Execution", "StepResult", "feed_jump", "run_tick", "step"]

# A feed whose consecutive observations move more than this is treated as broken, not as a market: no real spot
# market halves or doubles in a minute without a halt. (A -25 % crash is a market; the breakers handle it.)
MAX_MARK_JUMP = 0.5


def feed_jump(closes: Sequence[float]) -> str | None:
    """Judge the feed by its own consecutive observations (its last two closes), never by what a bot last saw:
    a bot paused for a week while its market moved 69 % must trade again when resumed, while a feed that jumps
    69 % between two observations is broken. (A book that disagrees with the feed shows as a fill outside the
    book, the other sanity check.)"""
    if len(closes) < 2 or closes[-2] <= 0:
        return None
    before, after = closes[-2], closes[-1]
    if abs(after / before - 1) > MAX_MARK_JUMP:
        return (f"the feed moved {after / before - 1:.0%} between two consecutive observations "
                f"({before:g} → {after:g}): treating the feed as broken")
    return None


def step(bot: Bot, closes: Sequence[float], book: OrderBook, mark: Decimal, tick_id: str,
         target: int | None = None) -> StepResult:
    """Paper trading: run `bot` for one tick against the market (closes up to now, the book, the mark price)."""
    return run_tick(bot, closes, tick_id, PaperVenue(book, mark), target)


def run_tick(bot: Bot, closes: Sequence[float], tick_id: str, venue: Venue, target: int | None = None) -> StepResult:
    """Run `bot` for one tick, trading through `venue`. `target` is the strategy's decision when the caller has
    already made it for many bots at once (strategies.target_positions, the same decision); else it is made here."""
    tick = Tick(bot, tick_id)
    if venue.judges_feed:
        jump = feed_jump(closes)
        if jump:  # before any order meets a book that cannot be trusted
            return _pause(tick, venue, "sanity_check", jump, counts=False)
    mark = venue.open(tick)
    if venue.halt:  # the venue could not meet the market (live: the exchange failed or refused the key)
        return _halted(tick, venue)
    if venue.rebases_breakers and tick.ledger.rebase_pending:
        tick.ledger = tick.ledger.rebased(mark)  # a new, resumed or redeployed bot: the breakers start here
    tick.ledger = tick.ledger.day_rolled(mark, tick_id[:10])
    venue.work_orders(tick)

    limits = bot.risk
    breach = limits.breach(tick.ledger, mark)
    if breach and venue.stops_out_before_trading:
        return _stop_out(tick, venue, breach, mark)
    if breach is None and not (venue.one_order_in_flight and tick.orders):
        _trade_toward_target(tick, venue, closes, target)
    if venue.halt:  # the venue could not send (live: the exchange refused the key)
        return _halted(tick, venue)

    tick.ledger = tick.ledger.marked(mark, tick_id[:10])
    if not venue.stops_out_before_trading:
        breach = breach or limits.breach(tick.ledger, mark)
    problems = tick.ledger.violations(mark) + venue.problems(tick)
    if problems:  # before a breaker acts: books that do not reconcile need a person, not a stop-out
        return _pause(tick, venue, "sanity_check", "; ".join(problems), counts=False)
    if breach:
        return _stop_out(tick, venue, breach, mark)
    return tick.finish()


def _trade_toward_target(tick: Tick, venue: Venue, closes: Sequence[float], target: int | None) -> None:
    """The strategy says long (1) or flat (0); the bot goes all in or all out, unless an order on the wanted
    side is already working. Orders on the other side are cancelled first."""
    bot = tick.bot
    if target is None:
        target = get_strategy(bot.strategy).target_position(closes, bot.params)
    holding = tick.ledger.base_total >= tick.rules.min_amount
    working_sides = {order.side for order in tick.orders}
    wanted = "buy" if target == 1 else "sell"
    if working_sides - {wanted}:
        venue.cancel_all(tick, "the strategy changed its mind")
    if target == 1 and not holding and "buy" not in working_sides:
        venue.trade(tick, "buy")
    elif target == 0 and holding and "sell" not in working_sides:
        venue.trade(tick, "sell")


def _stop_out(tick: Tick, venue: Venue, breach: str, mark: Decimal) -> StepResult:
    """A breaker tripped: leave the market (cancel everything, sell the position at market if the exchange allows
    it), mark the books again, and pause; the pause counts toward the quarantine ladder."""
    venue.cancel_all(tick, "risk pause")
    amount = quantize_down(tick.ledger.base_free, tick.rules.amount_step)
    if amount >= tick.rules.min_amount:
        venue.stop_out(tick, amount)
    tick.ledger = tick.ledger.marked(mark, tick.tick_id[:10])
    return _pause(tick, venue, breach, venue.breaker_message(breach, tick.ledger, mark), counts=True)


def _halted(tick: Tick, venue: Venue) -> StepResult:
    halt = venue.halt
    if halt.pause_reason:
        return _pause(tick, venue, halt.pause_reason, halt.message, counts=False)
    return tick.finish()  # a passing failure: keep what was booked, try again next tick


def _pause(tick: Tick, venue: Venue, reason: str, message: str, *, counts: bool) -> StepResult:
    """A breaker trip `counts` toward the quarantine ladder; a sanity or exchange pause needs a person and does
    not. (A breaker trip has already left the market, which cancelled its orders.)"""
    if not counts and venue.cancels_on_pause:
        venue.cancel_all(tick, reason)
    tick.event("risk_pause" if counts else venue.pause_event, message, reason=reason)
    return tick.finish(tick.bot.tripped(reason, counts=counts))
