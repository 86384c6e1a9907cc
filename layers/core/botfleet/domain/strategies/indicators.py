"""Vectorized indicators over a float64 series of closes (numpy only: the Lambda runtime has no numba).

Each returns an array as long as its input, NaN where the indicator is not defined yet, so a comparison
against it is simply False there (numpy compares NaN without warnings) and the strategy stays flat.
Recursive indicators (EMA, Wilder's smoothing) and hysteresis are computed without a Python loop over
candles: see `exponential_smoothing` and `latch`.

The live tick needs only the last candle, for many parameter sets at once (`target_positions`):
`rolling_means_at_end` and `Bands.at` compute an indicator at chosen candles with the very same floating-point
operations as the whole series, so the tick and the backtest agree bit for bit, not merely to a tolerance.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable

import numpy as np

# exponential_smoothing works in blocks in which the weights q**-k stay below this, far from float64 overflow
# (1.8e308) and with every partial sum well inside float64's relative precision.
_MAX_BLOCK_GROWTH_LOG = math.log(1e150)


def _running_sum(closes: np.ndarray) -> np.ndarray:
    """0 then the cumulative sum of the closes: the sum of closes[a:b] is running[b] - running[a]."""
    running = np.empty(len(closes) + 1)
    running[0] = 0.0
    np.add.accumulate(closes, out=running[1:])  # = np.cumsum, minus ~2 µs of overhead the live tick feels
    return running


def rolling_means(closes: np.ndarray, windows: Iterable[int]) -> dict[int, np.ndarray]:
    """Simple moving averages of the last `window` closes, for each window, from ONE cumulative sum shared by
    all of them (O(n) per window whatever its length)."""
    n = len(closes)
    running = _running_sum(closes)
    means = {}
    for window in windows:
        mean = np.empty(n)
        if window > n:
            mean.fill(np.nan)
        else:
            mean[: window - 1] = np.nan
            defined = mean[window - 1:]
            np.subtract(running[window:], running[:-window], out=defined)
            np.divide(defined, window, out=defined)
        means[window] = mean
    return means


def rolling_means_at_end(closes: np.ndarray, windows: np.ndarray) -> np.ndarray:
    """`rolling_means(closes, ...)[w][-1]` for every entry w of the int array `windows` (repeats welcome): the
    same difference of the same cumulative sums divided by w, at the last close only; NaN where w > len(closes)."""
    n = len(closes)
    running = _running_sum(closes)
    first = n - windows  # index of each window's first close
    defined = first >= 0
    means = running[n] - running[np.where(defined, first, 0)]
    np.divide(means, windows, out=means)
    means[~defined] = np.nan
    return means


def rolling_mean(closes: np.ndarray, window: int) -> np.ndarray:
    """Simple moving average of the last `window` closes."""
    return rolling_means(closes, (window,))[window]


class Bands:
    """A series' cumulative sums and sums of squares, from which the band (moving average and population standard
    deviation) of any window ending at any close is a few elementwise operations. `rolling_mean_std` evaluates it
    at every close of one window (the backtest); the live tick evaluates it at a few (window, close) pairs. Both go
    through `at`, so they see bit-identical bands.

    Sums are taken around the first close, not zero: E[x²] - E[x]² then cancels far fewer digits for prices in the
    millions (BTC/ZAR), where raw squares would eat ~6 significant digits of the variance."""

    __slots__ = ("anchor", "squares", "sums")

    def __init__(self, closes: np.ndarray) -> None:
        self.anchor = closes[0] if len(closes) else 0.0
        centered = closes - self.anchor
        self.sums = _running_sum(centered)
        self.squares = _running_sum(centered * centered)

    def mean_at(self, window: np.ndarray | int, end: np.ndarray) -> np.ndarray:
        """Mean of the `window` closes before index `end` (exclusive); needs end >= window (elementwise)."""
        return self._centered_mean(window, end) + self.anchor

    def at(self, window: np.ndarray | int, end: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and population sigma of the `window` closes before index `end` (exclusive); needs end >= window."""
        window_mean = self._centered_mean(window, end)
        variance = (self.squares[end] - self.squares[end - window]) / window - window_mean * window_mean
        np.maximum(variance, 0.0, out=variance)  # rounding can leave a flat window at -1e-17
        return window_mean + self.anchor, np.sqrt(variance)

    def _centered_mean(self, window: np.ndarray | int, end: np.ndarray) -> np.ndarray:
        return (self.sums[end] - self.sums[end - window]) / window


def rolling_mean_std(closes: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Moving average and population standard deviation over `window` closes (see `Bands`)."""
    n = len(closes)
    mean, std = np.full(n, np.nan), np.full(n, np.nan)
    if window > n:
        return mean, std
    mean[window - 1:], std[window - 1:] = Bands(closes).at(window, np.arange(window, n + 1))
    return mean, std


@functools.lru_cache(maxsize=32)
def _block_weights(alpha: float, block: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """q^(-k), alpha·q^k and q^(k+1) for k < block (q = 1 - alpha). Cached: the live tick asks for the same
    few (alpha, block) pairs on every bot, and a grid shares them across parameter sets."""
    q = 1.0 - alpha
    k = np.arange(block, dtype=np.float64)
    weights = (q**-k, alpha * q**k, q ** (k + 1))
    for array in weights:
        array.setflags(write=False)
    return weights


def exponential_smoothing(values: np.ndarray, alpha: float, seed: float | np.ndarray | None = None) -> np.ndarray:
    """y[t] = alpha·x[t] + (1 - alpha)·y[t-1] along the last axis, with y[-1] = seed (default x[0], so that
    y[0] = x[0]); leading axes are independent series (seed: one per series).

    Vectorized with the closed form inside blocks: with q = 1 - alpha, y[s+k] = q^(k+1)·y[s-1] +
    alpha·q^k·Σ_{j≤k} x[s+j]·q^(-j), one cumulative sum per block. A block is as long as q^(-k) stays below
    1e150 (~300 candles even for alpha = 2/3; the whole series for slow averages); the carry into each block is
    one vector operation per block, never a Python step per candle."""
    values = np.asarray(values, dtype=np.float64)
    n = values.shape[-1]
    q = 1.0 - alpha
    if n == 0 or q <= 0.0:
        return values.copy()
    start = values[..., 0] if seed is None else np.asarray(seed, dtype=np.float64)
    if start.shape != values.shape[:-1]:  # (np.broadcast_to costs microseconds the live tick would feel)
        start = np.broadcast_to(start, values.shape[:-1])
    block = max(1, min(n, int(_MAX_BLOCK_GROWTH_LOG / -math.log(q)))) if q < 1.0 else n
    grow, scale, carry = _block_weights(alpha, block)
    if n <= block:  # one block: the live tick's 240 closes, and any slow average
        smoothed = np.multiply(values, grow[:n])
        np.add.accumulate(smoothed, axis=-1, out=smoothed)
        smoothed *= scale[:n]
        smoothed += carry[:n] * start[..., None]
        return smoothed
    blocks = -(-n // block)
    padded = np.zeros((*values.shape[:-1], blocks * block))
    padded[..., :n] = values
    grid = padded.reshape(*values.shape[:-1], blocks, block)
    grid *= grow
    np.add.accumulate(grid, axis=-1, out=grid)
    grid *= scale  # each block's EMA as if it had started from zero …
    previous = start
    for index in range(blocks):
        grid[..., index, :] += carry * previous[..., None]  # … plus what the previous block carried in
        previous = grid[..., index, -1]
    return padded[..., :n]


def ema(closes: np.ndarray, span: int) -> np.ndarray:
    """Exponential moving average with alpha = 2/(span+1), seeded with the first close (pandas'
    `ewm(span=span, adjust=False).mean()`)."""
    return exponential_smoothing(closes, 2.0 / (span + 1.0))


def wilder_rsi(closes: np.ndarray, period: int) -> np.ndarray:
    """Wilder's RSI: average gain and loss seeded with the mean of the first `period` changes, then smoothed
    with alpha = 1/period; RSI = 100·gain/(gain+loss), 50 when the price has not moved at all. Defined from
    close index `period` on (it needs period+1 closes)."""
    n = len(closes)
    rsi = np.full(n, np.nan)
    if n <= period:
        return rsi
    moves = np.empty((2, n - 1))  # row 0 the gains, row 1 the losses: smoothed together in one call
    gains, losses = moves
    np.subtract(closes[1:], closes[:-1], out=losses)  # the change, for a moment
    np.maximum(losses, 0.0, out=gains)
    np.subtract(gains, losses, out=losses)  # max(change, 0) - change = max(-change, 0)
    averages = np.empty((2, n - period))
    np.divide(np.add.reduce(moves[:, :period], axis=1), period, out=averages[:, 0])
    averages[:, 1:] = exponential_smoothing(moves[:, period:], 1.0 / period, averages[:, 0])
    avg_gain, avg_loss = averages
    total = avg_gain + avg_loss
    rsi[period:] = 50.0
    np.multiply(avg_gain, 100.0, out=avg_gain)
    np.divide(avg_gain, total, out=rsi[period:], where=total > 0)
    return rsi


@functools.lru_cache(maxsize=8)
def _one_based_indices(n: int) -> np.ndarray:
    indices = np.arange(1, n + 1, dtype=np.int32)
    indices.setflags(write=False)
    return indices


def latch(enter: np.ndarray, exit: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
    """Hysteresis without a loop over candles: 1 from a candle where `enter` fires until the next candle where
    `exit` fires (exit wins when both fire), 0 before any signal. Each candle that fires stamps its index; a
    running maximum carries the index of the last signal forward, and that signal's kind is the state. So the
    state after the last candle is `last_true(enter) > last_true(exit)` (see `target_positions`)."""
    n = len(enter)
    state = np.empty(n + 1, dtype=bool)  # index 0: "no signal yet" -> flat
    state[0] = False
    np.greater(enter, exit, out=state[1:])  # enter and not exit
    last_signal = _one_based_indices(n) * (enter | exit)
    np.maximum.accumulate(last_signal, out=last_signal)
    if out is None:
        out = np.empty(n, dtype=np.int8)
    np.take(state, last_signal, out=out.view(bool))
    return out


def last_true(mask: np.ndarray) -> np.ndarray:
    """Index of the last True along the last axis, -1 where there is none (for `latch`'s state at the end)."""
    n = mask.shape[-1]
    if n == 0:
        return np.full(mask.shape[:-1], -1, dtype=np.int64)
    last = n - 1 - np.argmax(mask[..., ::-1], axis=-1)  # argmax finds the first True from the end (0 if none)
    return np.where(mask.any(axis=-1), last, -1)


_FIRST = np.zeros(1, dtype=np.intp)
_FIRST.setflags(write=False)


def distinct(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """`np.unique(values, return_inverse=True)`, without its ~8 µs for the one or two values of a single bot."""
    if len(values) == 1:
        return values, _FIRST
    if len(values) <= 16 and values.dtype.kind == "i":  # (integers only: a set would not collapse NaNs)
        unique = np.array(sorted(set(values.tolist())), dtype=values.dtype)
        return unique, np.searchsorted(unique, values)
    return np.unique(values, return_inverse=True)
