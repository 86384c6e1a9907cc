"""RSI mean reversion: buy when Wilder's RSI(period) drops below `oversold`, sell when it rises above
`overbought`, and hold whatever it holds in between (hysteresis)."""

from __future__ import annotations

from decimal import Decimal as D

import numpy as np

from botfleet.domain.strategies.base import LessThan, ParamArrays, ParamSpec, VectorizedStrategy
from botfleet.domain.strategies.indicators import distinct, last_true, latch, wilder_rsi


def _enters(rsi: np.ndarray, oversold: np.ndarray | int) -> np.ndarray:
    return rsi < oversold  # NaN (warm-up) is neither an entry …


def _exits(rsi: np.ndarray, overbought: np.ndarray | int) -> np.ndarray:
    return rsi > overbought  # … nor an exit: no signal, flat


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
            latch(_enters(rsi, low), _exits(rsi, high), out=out[row])
        return out

    def _latest(self, closes: np.ndarray, params: ParamArrays) -> np.ndarray:
        # The latch's state after the last close is "the last entry came after the last exit" (exit wins a tie),
        # and the last entry depends only on (period, oversold), the last exit only on (period, overbought): so
        # each distinct period's RSI is computed once, compared with each distinct threshold once, and every set
        # reads its pair of last-signal indices. Wilder's smoothing remembers the whole history, as in _positions.
        periods, by_period = distinct(params["period"])
        lows, by_low = distinct(params["oversold"])
        highs, by_high = distinct(params["overbought"])
        rsi = np.stack([wilder_rsi(closes, p) for p in periods.tolist()])[:, None, :]  # (periods, 1, closes)
        last_entry = last_true(_enters(rsi, lows[:, None]))  # (periods, lows)
        last_exit = last_true(_exits(rsi, highs[:, None]))  # (periods, highs)
        return last_entry[by_period, by_low] > last_exit[by_period, by_high]
