"""SMA crossover: long while the fast simple moving average is above the slow one, flat otherwise."""

from __future__ import annotations

from decimal import Decimal as D

import numpy as np

from botfleet.domain.strategies.base import LessThan, ParamArrays, ParamSpec, VectorizedStrategy
from botfleet.domain.strategies.indicators import rolling_means, rolling_means_at_end


class SmaCross(VectorizedStrategy):
    name = "sma_cross"
    description = "Trend following: long while SMA(fast) > SMA(slow), flat otherwise."
    params = (
        ParamSpec("fast", "int", D(2), D(50), D(1), D(5), "fast moving-average window, in candles"),
        ParamSpec("slow", "int", D(3), D(200), D(1), D(20), "slow moving-average window, in candles"),
    )
    rules = (LessThan("fast", "slow"),)

    def _warmups(self, params: ParamArrays) -> np.ndarray:
        return params["slow"]

    def _positions(self, closes: np.ndarray, params: ParamArrays) -> np.ndarray:
        fast, slow = params["fast"].tolist(), params["slow"].tolist()
        # One moving average per distinct window, shared by every parameter set that uses it.
        means = rolling_means(closes, set(fast) | set(slow))
        out = np.empty((len(fast), len(closes)), dtype=np.int8)
        for row, (f, s) in enumerate(zip(fast, slow, strict=True)):
            # Row by row: a (sets x candles) float temporary would be 8x the int8 result in memory.
            # Before the slow window fills, its mean is NaN and the comparison is False: flat.
            np.greater(means[f], means[s], out=out[row])
        return out

    def _latest(self, closes: np.ndarray, params: ParamArrays) -> np.ndarray:
        # Only the last candle's two averages matter (no state carries over), from one cumulative sum.
        fast, slow = params["fast"], params["slow"]
        means = rolling_means_at_end(closes, np.concatenate((fast, slow)))
        return np.greater(means[: len(fast)], means[len(fast):])
