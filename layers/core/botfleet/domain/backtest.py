"""The backtester: every parameter set of a strategy over every candle at once, in numpy float64.

Conventions (the same for every parameter set; docs/backtesting.md explains how they relate to the paper
engine and to backtesting.py):

- spot, long-only, all-in: an entry spends all cash, an exit sells the whole position;
- a position decided at a candle's close is filled AT that close (`trade_on_close`), shifted by the slippage;
- orders may be sent from candle `start` (per set; default 0) up to the second-to-last candle: the last
  candle only marks the books, as in backtesting.py, whose orders sent on the last bar never fill;
- fees are the exchange's taker fee per side, charged as the exchange charges it (`FeeModel`): a quote-currency
  fee makes an all-in buy spend cash/(1+fee) on coin; a fee in the received asset buys with all the cash and
  delivers (1-fee) of the coin; a sell always receives (1-fee) of the proceeds;
- equity is marked at each close; a position still open at the end is marked, not sold (no exit fee), and is
  not counted as a trade;
- amounts are fractional (no exchange amount step, fee quanta ignored: ≤ half of 1e-8 per fill).

The engine works in log space: the log equity is the cumulative sum of each candle's log price move while
held plus the log fee/slippage factor at each entry and exit, so drawdowns come from a running maximum and
nothing is multiplied 43,200 times over. Only this inner loop uses floats: `recheck` replays one parameter
set through the Decimal ledger (`domain/ledger.py`) and asserts the two agree to 1e-6 relative.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

import numpy as np

from botfleet.domain.exchanges import FEE_QUANTUM, Exchange, SymbolRules, get_exchange
from botfleet.domain.ledger import Ledger
from botfleet.domain.market import BOOK_LEVELS, LEVEL_SPACING_BPS
from botfleet.domain.money import quantize_down
from botfleet.domain.strategies.base import ParamArrays, VectorizedStrategy

MINUTES_PER_YEAR = 365 * 24 * 60  # the Sharpe ratio's annualization for one-minute candles (crypto never closes)
DEFAULT_CASH = 10_000.0
# Sets x candles per chunk: the chunk's float64 work arrays (~1 MB each) stay in the CPU's L2 cache.
CHUNK_ELEMENTS = 1 << 17
# The simulator's book (`market.order_book`): level i holds top_depth x (1 + 0.6·i) x U(0.7, 1.3).
BOOK_DEPTH_GROWTH_PER_LEVEL = 0.6
BPS = 10_000.0
RECHECK_TOLERANCE = 1e-6
_AMOUNT_QUANTUM = Decimal("1e-18")  # the recheck's rounding of fractional all-in amounts (always down)
_RECHECK_RULES = SymbolRules("BASE/QUOTE", Decimal("1e-8"), _AMOUNT_QUANTUM, Decimal(0), Decimal(0))


@dataclass(frozen=True, slots=True)
class FeeModel:
    """The taker fee per side and the currency it is charged in ("quote", or "received": base on a buy)."""

    rate: float = 0.001
    currency: str = "quote"

    @classmethod
    def of_exchange(cls, exchange_id: str) -> FeeModel:
        exchange = get_exchange(exchange_id)
        return cls(float(exchange.taker_fee), exchange.fee_currency_rule)

    def log_factors(self, slippage_bps: float) -> tuple[float, float]:
        """log of what an all-in entry and a full exit keep of the equity, marked at the candle's close."""
        slip = slippage_bps / BPS
        if self.currency == "quote":  # cash buys cash/(price·(1+slip)·(1+fee)) coin
            entry = -math.log1p(slip) - math.log1p(self.rate)
        else:  # all the cash buys coin, (1-fee) of it is delivered
            entry = math.log1p(-self.rate) - math.log1p(slip)
        exit_ = math.log1p(-slip) + math.log1p(-self.rate)
        return entry, exit_

    def as_exchange(self) -> Exchange:
        """An exchange charging this fee the way `domain/exchanges.py` charges it, for the Decimal recheck."""
        rate = Decimal(repr(self.rate))
        return Exchange("backtest", "Backtest", rate, rate, "backtest fee model", {}, fee_currency_rule=self.currency)


def paper_slippage_bps(exchange_id: str, symbol: str, notional: float) -> float:
    """Slippage per side, in bps against mid, that the paper engine's market order of `notional` quote would
    see on the simulator's book for this market: half the quoted spread, plus the size-dependent walk down the
    levels (LEVEL_SPACING_BPS apart, depth growing 60 % per level), at the book's expected depth (the ±30 %
    noise averaged out) and the symbol's simulated price level. What exceeds the visible book is charged the
    worst visible level (paper would leave it unfilled)."""
    spec = get_exchange(exchange_id).simulation(symbol)
    amount = notional / float(spec.start_price)
    if amount <= 0:
        return float(spec.spread_bps) / 2
    remaining, weighted = amount, 0.0
    offset = 0.0
    for level in range(BOOK_LEVELS):
        offset = float(spec.spread_bps) / 2 + float(LEVEL_SPACING_BPS) * level
        take = min(remaining, float(spec.top_depth) * (1 + BOOK_DEPTH_GROWTH_PER_LEVEL * level))
        weighted += take * offset
        remaining -= take
        if remaining <= 0:
            break
    weighted += max(remaining, 0.0) * offset
    return weighted / amount


@dataclass(frozen=True)
class BacktestResult:
    """One entry per parameter set; `params` (when run through `backtest_strategy`) says which set is which."""

    total_return: np.ndarray  # final equity / cash - 1
    final_equity: np.ndarray  # in quote currency
    trades: np.ndarray  # closed round trips
    wins: np.ndarray  # round trips that made money after fees and slippage
    win_rate: np.ndarray  # wins / trades (0 without trades)
    max_drawdown: np.ndarray  # worst fall from a peak of the marked equity, as a fraction (0.25 = -25 %)
    sharpe: np.ndarray  # annualized mean / std of the per-candle log returns of equity
    exposure: np.ndarray  # fraction of candles ending with a position
    open_at_end: np.ndarray  # a position still held (marked, not sold) at the last close
    cash: float
    fee: FeeModel
    slippage_bps: float
    start: np.ndarray
    params: dict[str, np.ndarray] = field(default_factory=dict)
    strategy: str | None = None

    def __len__(self) -> int:
        return len(self.total_return)

    def row(self, index: int) -> dict[str, Any]:
        """One parameter set's parameters and results as plain Python values."""
        names = ("total_return", "final_equity", "trades", "wins", "win_rate", "max_drawdown", "sharpe",
                 "exposure", "open_at_end")
        out: dict[str, Any] = {name: column[index].item() for name, column in self.params.items()}
        out.update({name: getattr(self, name)[index].item() for name in names})
        return out

    def best(self, count: int = 10, by: str = "total_return") -> list[dict[str, Any]]:
        order = np.argsort(-getattr(self, by), kind="stable")[:count]
        return [self.row(int(i)) for i in order]


def held_positions(positions: np.ndarray, start: np.ndarray) -> np.ndarray:
    """The positions actually held after each close: flat before `start` (per set), and the last candle keeps
    the previous one's position (an order sent at the last close would never fill in backtesting.py)."""
    held = np.array(positions, dtype=np.int8, copy=True)
    for row, first in enumerate(start.tolist()):
        if first > 0:
            held[row, :first] = 0
    if held.shape[1] >= 2:
        held[:, -1] = held[:, -2]
    return held


def backtest(closes: np.ndarray, positions: np.ndarray, *, cash: float = DEFAULT_CASH, fee: FeeModel = FeeModel(),
             slippage_bps: float = 0.0, start: int | np.ndarray = 0,
             periods_per_year: float = MINUTES_PER_YEAR) -> BacktestResult:
    """Simulate every row of `positions` (int8/bool, sets x candles: 1 long / 0 flat after each close)."""
    closes = np.ascontiguousarray(closes, dtype=np.float64)
    positions = np.asarray(positions)
    if positions.ndim == 1:
        positions = positions[None, :]
    sets, candles = positions.shape
    if candles != len(closes) or candles == 0:
        raise ValueError(f"positions cover {candles} candles, closes {len(closes)}")
    if not np.all(closes > 0):
        raise ValueError("closes must be positive")
    start = np.broadcast_to(np.asarray(start, dtype=np.int64), (sets,))
    log_moves = np.zeros(candles)
    np.log(closes[1:] / closes[:-1], out=log_moves[1:])
    entry_log, exit_log = fee.log_factors(slippage_bps)

    columns = {name: np.empty(sets) for name in ("final_log", "drawdown_log", "sum_squares", "exposure")}
    trades, wins = np.zeros(sets, dtype=np.int64), np.zeros(sets, dtype=np.int64)
    open_at_end = np.zeros(sets, dtype=bool)
    rows_per_chunk = max(1, CHUNK_ELEMENTS // candles)
    for low in range(0, sets, rows_per_chunk):
        high = min(sets, low + rows_per_chunk)
        _simulate(held_positions(positions[low:high], start[low:high]), log_moves, entry_log, exit_log,
                  {name: column[low:high] for name, column in columns.items()},
                  trades[low:high], wins[low:high], open_at_end[low:high])

    final_log = columns["final_log"]
    mean = final_log / candles
    variance = np.maximum(columns["sum_squares"] / candles - mean * mean, 0.0)
    std = np.sqrt(variance)
    sharpe = np.zeros(sets)
    np.divide(mean * math.sqrt(periods_per_year), std, out=sharpe, where=std > 1e-15)
    win_rate = np.zeros(sets)
    np.divide(wins, trades, out=win_rate, where=trades > 0)
    return BacktestResult(
        total_return=np.expm1(final_log), final_equity=cash * np.exp(final_log), trades=trades, wins=wins,
        win_rate=win_rate, max_drawdown=-np.expm1(-columns["drawdown_log"]), sharpe=sharpe,
        exposure=columns["exposure"], open_at_end=open_at_end, cash=cash, fee=fee, slippage_bps=slippage_bps,
        start=np.array(start),
    )


def _simulate(held: np.ndarray, log_moves: np.ndarray, entry_log: float, exit_log: float,
              out: dict[str, np.ndarray], trades: np.ndarray, wins: np.ndarray, open_at_end: np.ndarray) -> None:
    """One chunk of parameter sets: held positions (int8, sets x candles) → the per-set statistics."""
    sets, candles = held.shape
    change = np.empty_like(held)  # +1 entry, -1 exit, at the candle whose close fills it
    change[:, 0] = held[:, 0]
    np.subtract(held[:, 1:], held[:, :-1], out=change[:, 1:])
    # log_equity[:, 0] is the starting cash; column t+1 is the equity after close t. Candle t's price move
    # belongs to whoever held the coin after close t-1.
    log_equity = np.empty((sets, candles + 1))
    log_equity[:, :2] = 0.0
    np.multiply(held[:, :-1], log_moves[1:], out=log_equity[:, 2:])
    set_index, candle_index = np.nonzero(change)
    is_entry = change[set_index, candle_index] > 0
    log_equity[set_index, candle_index + 1] += np.where(is_entry, entry_log, exit_log)
    out["sum_squares"][:] = np.einsum("ij,ij->i", log_equity, log_equity)
    np.add.accumulate(log_equity, axis=1, out=log_equity)
    out["final_log"][:] = log_equity[:, -1]
    peak = np.maximum.accumulate(log_equity, axis=1)
    np.subtract(peak, log_equity, out=peak)
    out["drawdown_log"][:] = peak.max(axis=1)
    out["exposure"][:] = np.count_nonzero(held, axis=1) / candles
    open_at_end[:] = held[:, -1] == 1

    # Each set's changes alternate entry, exit, entry, … (it starts flat), so an entry's exit is the next change
    # of the same set. A round trip's log return is the equity after its exit over the equity before its entry.
    entries = np.flatnonzero(is_entry)
    exits = entries + 1
    closed = exits < len(set_index)
    closed[closed] = set_index[exits[closed]] == set_index[entries[closed]]
    entries, exits = entries[closed], exits[closed]
    owner = set_index[exits]
    round_trip_log = (log_equity[owner, candle_index[exits] + 1] - log_equity[owner, candle_index[entries]])
    trades[:] = np.bincount(owner, minlength=sets)
    wins[:] = np.bincount(owner[round_trip_log > 0], minlength=sets)


def backtest_strategy(strategy: VectorizedStrategy, closes: np.ndarray, params: ParamArrays,
                      **options: Any) -> BacktestResult:
    """`backtest` of the strategy's own `positions` for every parameter set of `params` (e.g. a `param_grid`)."""
    arrays = strategy.as_arrays(params)
    result = backtest(closes, strategy.positions(closes, arrays), **options)
    return replace(result, params=arrays, strategy=strategy.name)


class RecheckMismatch(AssertionError):
    """The float engine and the Decimal ledger disagree about one parameter set."""


@dataclass(frozen=True, slots=True)
class LedgerReplay:
    final_equity: Decimal
    trades: int
    wins: int
    ledger: Ledger


def recheck(closes: np.ndarray, positions: np.ndarray, result: BacktestResult, index: int,
            tolerance: float = RECHECK_TOLERANCE) -> LedgerReplay:
    """Replay parameter set `index` (its row of positions) fill by fill through the Decimal ledger, with the
    result's cash, fee model and slippage, and assert the float engine got the same final equity (to
    `tolerance` relative), the same number of round trips and of winners, and books that reconcile."""
    closes = np.asarray(closes, dtype=np.float64)
    row = np.asarray(positions)
    row = row[index] if row.ndim == 2 else row
    held = held_positions(row[None, :], result.start[index: index + 1])[0]
    changes = np.diff(held, prepend=np.int8(0))
    exchange = result.fee.as_exchange()
    slip = Decimal(repr(result.slippage_bps)) / 10_000
    ledger = Ledger.open("BASE", "QUOTE", Decimal(repr(result.cash)))
    trades = wins = 0
    for candle in np.flatnonzero(changes).tolist():
        close = Decimal(float(closes[candle]))  # the float's exact binary value: no rounding on the way in
        if changes[candle] > 0:
            price = close * (1 + slip)
            amount = _all_in_amount(ledger.quote_free, price, exchange)
            fee, currency = exchange.fee("buy", amount, price, _RECHECK_RULES, maker=False)
            ledger, _ = ledger.fill("buy", amount, amount * price, fee, currency)
        else:
            price = close * (1 - slip)
            amount = ledger.base_free
            fee, currency = exchange.fee("sell", amount, price, _RECHECK_RULES, maker=False)
            ledger, realized = ledger.fill("sell", amount, amount * price, fee, currency)
            trades += 1
            wins += realized > 0
    mark = Decimal(float(closes[-1]))
    replay = LedgerReplay(ledger.equity(mark), trades, wins, ledger)
    problems = ledger.violations(mark)
    expected = float(result.final_equity[index])
    relative = abs(float(replay.final_equity) / expected - 1) if expected else abs(float(replay.final_equity))
    if relative > tolerance:
        problems.append(f"final equity {replay.final_equity} (ledger) vs {expected!r} (engine): "
                        f"{relative:.3g} relative")
    if (trades, wins) != (int(result.trades[index]), int(result.wins[index])):
        problems.append(f"ledger has {trades} trades / {wins} wins, engine {int(result.trades[index])} / "
                        f"{int(result.wins[index])}")
    if problems:
        raise RecheckMismatch(f"parameter set {index}: " + "; ".join(problems))
    return replay


def _all_in_amount(budget: Decimal, price: Decimal, exchange: Exchange) -> Decimal:
    """The coin an all-in buy gets, as `paper.buy_amount_for_budget` sizes it without a book: a quote-currency
    fee must fit in the budget too. One fee quantum is kept back because the exchange rounds the fee to it."""
    quote_fee = exchange.fee_currency_rule == "quote"
    spendable = (budget - FEE_QUANTUM) / (1 + exchange.taker_fee) if quote_fee else budget
    return quantize_down(max(spendable, Decimal(0)) / price, _AMOUNT_QUANTUM)


def params_of(result: BacktestResult, index: int) -> Mapping[str, Any]:
    """Parameter set `index` of a strategy backtest, as a bot would hold it."""
    return {name: column[index].item() for name, column in result.params.items()}
