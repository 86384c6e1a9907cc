"""Bollinger breakout: buy when the close breaks above the upper band (mean + width·std over `window`
closes), hold until it falls back below the middle band (the moving average)."""

from __future__ import annotations

from decimal import Decimal as D

import numpy as np

from botfleet.domain.strategies.base import ParamArrays, ParamSpec, VectorizedStrategy
from botfleet.domain.strategies.indicators import Bands, distinct, last_true, latch, rolling_mean_std


def _enters(closes: np.ndarray, mean: np.ndarray, std: np.ndarray, width: np.ndarray | float) -> np.ndarray:
    return closes > mean + width * std  # NaN (a band not defined yet) is neither an entry …


def _exits(closes: np.ndarray, mean: np.ndarray) -> np.ndarray:
    return closes < mean  # … nor an exit: no signal, flat


class BollingerBreakout(VectorizedStrategy):
    name = "bollinger_breakout"
    description = ("Volatility breakout: long from a close above SMA(window) + width·sigma until a close below "
                   "SMA(window), flat otherwise.")
    params = (
        ParamSpec("window", "int", D(5), D(200), D(1), D(20), "band window, in candles"),
        ParamSpec("width", "decimal", D("0.5"), D("4"), D("0.1"), D("2"),
                  "upper band distance from the mean, in standard deviations (population sigma)"),
    )
    rules = ()  # any window with any width is a valid band

    def _warmups(self, params: ParamArrays) -> np.ndarray:
        return params["window"]

    def _positions(self, closes: np.ndarray, params: ParamArrays) -> np.ndarray:
        window, width = params["window"].tolist(), params["width"].tolist()
        bands = {w: rolling_mean_std(closes, w) for w in set(window)}  # one band per distinct window
        out = np.empty((len(window), len(closes)), dtype=np.int8)
        for row, (w, k) in enumerate(zip(window, width, strict=True)):
            mean, std = bands[w]
            latch(_enters(closes, mean, std, k), _exits(closes, mean), out=out[row])
        return out

    def _latest(self, closes: np.ndarray, params: ParamArrays) -> np.ndarray:
        # The latch is long after the last close iff some entry came after the last exit (exit wins a tie). The
        # exit depends on the window only: find each distinct window's last exit over the whole history. Then
        # each distinct (window, width) pair needs its entry rule only on the closes after that exit. Bands come
        # from `Bands.at`, as in `_positions`, and the rules are the same functions: the same bits, the same ties.
        n = len(closes)
        windows, by_window = distinct(params["window"])
        widths, by_width = distinct(params["width"])
        pairs, by_pair = distinct(by_window * len(widths) + by_width)
        pair_window, pair_width = pairs // len(widths), widths[pairs % len(widths)]

        bands = Bands(closes)
        ends = np.arange(1, n + 1)  # one past each close: where a band ends
        spans = np.minimum(windows, n)[:, None]  # (a window longer than the history is never defined)
        defined = ends >= spans  # (windows, closes); where False, the band is a placeholder, never used
        last_exit = last_true(_exits(closes, bands.mean_at(spans, np.maximum(ends, spans))) & defined)

        first = np.maximum(last_exit + 1, windows - 1)  # per window: the first close whose entry could count
        start = int(first.min())
        if start >= n:  # no window has a close left that could hold an entry
            return np.zeros(len(by_pair), dtype=bool)
        # Every pair over the closes from the earliest such close on, each masked from its own first close.
        mean, std = bands.at(spans, np.maximum(ends[start:], spans))  # (windows, closes from `start`)
        entered = _enters(closes[start:], mean[pair_window], std[pair_window], pair_width[:, None])
        entered &= ends[start:] > first[pair_window][:, None]  # close index (end - 1) >= first
        return entered.any(axis=1)[by_pair]
