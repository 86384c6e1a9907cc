"""Bollinger breakout: buy when the close breaks above the upper band (mean + width·std over `window`
closes), hold until it falls back below the middle band (the moving average)."""

from __future__ import annotations

from decimal import Decimal as D

import numpy as np

from botfleet.domain.strategies.base import ParamArrays, ParamSpec, VectorizedStrategy
from botfleet.domain.strategies.indicators import latch, rolling_mean_std


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
            latch(closes > mean + k * std, closes < mean, out=out[row])
        return out
