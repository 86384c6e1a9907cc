"""RSI mean reversion: buy when Wilder's RSI(period) drops below `oversold`, sell when it rises above
`overbought`, and hold whatever it holds in between (hysteresis)."""

from __future__ import annotations

from decimal import Decimal as D

import numpy as np

from botfleet.domain.strategies.base import LessThan, ParamArrays, ParamSpec, VectorizedStrategy
from botfleet.domain.strategies.indicators import latch, wilder_rsi


class RsiReversion(VectorizedStrategy):
    name = "rsi_reversion"
    description = ("Mean reversion: long from RSI(period) < oversold until RSI(period) > overbought, "
                   "flat from then until the next oversold reading.")
    params = (
        # At most 30: Wilder's smoothing over the tick's 240 closes then forgets its start ((1 - 1/30)^240 ≈ 3e-4).
        ParamSpec("period", "int", D(2), D(30), D(1), D(14), "RSI lookback (Wilder's smoothing), in candles"),
        ParamSpec("oversold", "int", D(1), D(50), D(1), D(30), "enter long when RSI falls below this"),
        ParamSpec("overbought", "int", D(50), D(99), D(1), D(70), "exit when RSI rises above this"),
    )
    rules = (LessThan("oversold", "overbought"),)

    def _warmups(self, params: ParamArrays) -> np.ndarray:
        return params["period"] + 1  # period changes need period+1 closes

    def _positions(self, closes: np.ndarray, params: ParamArrays) -> np.ndarray:
        period, oversold, overbought = (params[name].tolist() for name in ("period", "oversold", "overbought"))
        rsi_by_period = {p: wilder_rsi(closes, p) for p in set(period)}  # one RSI per distinct period
        out = np.empty((len(period), len(closes)), dtype=np.int8)
        for row, (p, low, high) in enumerate(zip(period, oversold, overbought, strict=True)):
            rsi = rsi_by_period[p]
            latch(rsi < low, rsi > high, out=out[row])  # NaN (warm-up) is neither: no signal, flat
        return out
