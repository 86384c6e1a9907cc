"""The built-in market simulator: a seeded, mean-reverting geometric random walk per symbol, and an
order book around mid whose depth grows away from the touch, so fills can walk it.

Pure: the caller owns the state (persisted by an adapter) and decides when a step happens.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass, field
from decimal import Decimal

from botfleet.domain.exchanges import SimulatedMarketSpec, SymbolRules
from botfleet.domain.money import quantize_down, quantize_price

HISTORY_LENGTH = 240  # closes kept for strategies: four hours of one-minute ticks
BOOK_LEVELS = 12
LEVEL_SPACING_BPS = Decimal(4)  # each level further from the touch is this much worse
MEAN_REVERSION = 0.002  # pulls the log price back towards its start level, keeps levels realistic


@dataclass(slots=True)
class MarketState:
    price: Decimal
    seq: int = 0
    closes: list[Decimal] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class BookLevel:
    price: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class OrderBook:
    bids: tuple[BookLevel, ...]  # best (highest) first
    asks: tuple[BookLevel, ...]  # best (lowest) first

    @property
    def mid(self) -> Decimal:
        return (self.bids[0].price + self.asks[0].price) / 2


def _rng(seed: str, *parts: object) -> random.Random:
    digest = hashlib.sha256(":".join([seed, *map(str, parts)]).encode()).digest()
    return random.Random(int.from_bytes(digest[:8], "big"))


def _step(price: Decimal, spec: SimulatedMarketSpec, rules: SymbolRules, rng: random.Random) -> Decimal:
    drift = -MEAN_REVERSION * math.log(float(price / spec.start_price))
    log_return = drift + spec.volatility_per_step * rng.gauss(0.0, 1.0)
    moved = quantize_price(price * Decimal(repr(math.exp(log_return))), rules.price_tick)
    return max(moved, rules.price_tick)


def initial_state(seed: str, spec: SimulatedMarketSpec, rules: SymbolRules) -> MarketState:
    """A market with a full history already behind it, so strategies can decide on the first tick."""
    price = quantize_price(spec.start_price, rules.price_tick)
    closes = []
    for i in range(HISTORY_LENGTH):
        price = _step(price, spec, rules, _rng(seed, "warmup", i))
        closes.append(price)
    return MarketState(price=price, seq=0, closes=closes)


def advance(state: MarketState, seed: str, spec: SimulatedMarketSpec, rules: SymbolRules) -> MarketState:
    """One tick of the price process; deterministic for a given seed and sequence number."""
    price = _step(state.price, spec, rules, _rng(seed, state.seq + 1))
    closes = [*state.closes, price][-HISTORY_LENGTH:]
    return MarketState(price=price, seq=state.seq + 1, closes=closes)


def move(state: MarketState, move_pct: Decimal, rules: SymbolRules) -> MarketState:
    """An external shock (the control plane's crash or rally): the price jumps and that is a close.
    It counts as a step, so optimistic writers keyed on `seq` see it."""
    price = max(quantize_price(state.price * (1 + move_pct / 100), rules.price_tick), rules.price_tick)
    return MarketState(price=price, seq=state.seq + 1, closes=[*state.closes, price][-HISTORY_LENGTH:])


def order_book(state: MarketState, seed: str, spec: SimulatedMarketSpec, rules: SymbolRules) -> OrderBook:
    """Levels around the current price: the quoted spread at the touch, then LEVEL_SPACING_BPS per level,
    with amounts growing ~60 % per level (real books thicken away from the touch) and some noise."""
    rng = _rng(seed, "book", state.seq)
    mid = state.price
    half_spread = spec.spread_bps / 2 / 10_000
    bids, asks = [], []
    for level in range(BOOK_LEVELS):
        offset = half_spread + LEVEL_SPACING_BPS * level / 10_000
        size = spec.top_depth * Decimal(repr((1 + 0.6 * level) * rng.uniform(0.7, 1.3)))
        amount = max(quantize_down(size, rules.amount_step), rules.amount_step)
        bid = quantize_price(mid * (1 - offset), rules.price_tick)
        ask = quantize_price(mid * (1 + offset), rules.price_tick)
        # Keep the book strictly sorted even when the tick is coarse relative to the spread.
        if bids and bid >= bids[-1].price:
            bid = bids[-1].price - rules.price_tick
        if asks and ask <= asks[-1].price:
            ask = asks[-1].price + rules.price_tick
        if not asks and ask <= bid:
            ask = bid + rules.price_tick
        bids.append(BookLevel(bid, amount))
        asks.append(BookLevel(ask, amount))
    return OrderBook(tuple(bids), tuple(asks))


def history_closes(seed: str, spec: SimulatedMarketSpec, count: int, end_price: Decimal) -> list[float]:
    """`count` one-minute closes of the simulator's price process ending at `end_price`: the market history a
    training run learns from when the market is simulated. Floats: this feeds the backtester, not the books.
    (The same process as `advance`, drawn from its own seeded stream so history never replays the live path.)"""
    rng = _rng(seed, "history")
    start = float(spec.start_price)
    log_price, logs = 0.0, []
    for _ in range(count):
        log_price += -MEAN_REVERSION * log_price + spec.volatility_per_step * rng.gauss(0.0, 1.0)
        logs.append(log_price)
    shift = math.log(float(end_price) / start) - logs[-1]  # anchor the path's last close at the market's price
    return [start * math.exp(value + shift) for value in logs]
