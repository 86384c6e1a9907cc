"""EMA crossover: long while the fast exponential moving average is above the slow one, flat otherwise."""

from __future__ import annotations

from decimal import Decimal as D

import numpy as np

from botfleet.domain.strategies.base import LessThan, ParamArrays, ParamSpec, VectorizedStrategy
from botfleet.domain.strategies.indicators import distinct, ema


class EmaCross(VectorizedStrategy):
    name = "ema_cross"
    description = ("Trend following: long while EMA(fast) > EMA(slow), flat otherwise (EMAs seeded with the "
                   "first close; no decision before `slow` closes).")
    params = (
        ParamSpec("fast", "int", D(2), D(50), D(1), D(12), "fast EMA span, in candles (alpha = 2/(span+1))"),
        # At most 60: the tick decides on its last 240 closes, where an EMA(60) has forgotten its first close
        # (weight (1 - 2/61)^240 ≈ 4e-4) and so agrees with the backtest over the whole history.
        ParamSpec("slow", "int", D(3), D(60), D(1), D(26), "slow EMA span, in candles"),
    )
    rules = (LessThan("fast", "slow"),)

    def _warmups(self, params: ParamArrays) -> np.ndarray:
        return params["slow"]

    def _positions(self, closes: np.ndarray, params: ParamArrays) -> np.ndarray:
        fast, slow = params["fast"].tolist(), params["slow"].tolist()
        averages = {span: ema(closes, span) for span in set(fast) | set(slow)}  # one per distinct span
        out = np.empty((len(fast), len(closes)), dtype=np.int8)
        for row, (f, s) in enumerate(zip(fast, slow, strict=True)):
            np.greater(averages[f], averages[s], out=out[row])
            out[row, : s - 1] = 0  # an EMA is defined from the first close, but means little before `slow` closes
        return out

    def _latest(self, closes: np.ndarray, params: ParamArrays) -> np.ndarray:
        # An EMA's last value depends on every close, so each distinct span is smoothed over the whole history,
        # as in `_positions` (the same call, so the same bits), but once for all the sets that share it.
        fast, slow = params["fast"], params["slow"]
        spans, which = distinct(np.concatenate((fast, slow)))
        last = np.array([ema(closes, span)[-1] for span in spans.tolist()])
        long = np.greater(last[which[: len(fast)]], last[which[len(fast):]])
        long &= len(closes) - 1 >= slow - 1  # `_positions`' warm-up: flat at close indices below slow - 1
        return long
