"""SMA crossover: long while the fast simple moving average is above the slow one, flat otherwise."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal as D
from typing import Any

from botfleet.domain.strategies.base import ParamSpec
from botfleet.errors import Unprocessable


class SmaCross:
    name = "sma_cross"
    description = "Trend following: long while SMA(fast) > SMA(slow), flat otherwise."
    params = (
        ParamSpec("fast", "int", D(2), D(50), D(1), D(5), "fast moving-average window, in candles"),
        ParamSpec("slow", "int", D(3), D(200), D(1), D(20), "slow moving-average window, in candles"),
    )

    def check(self, params: Mapping[str, Any]) -> None:
        if params["fast"] >= params["slow"]:
            raise Unprocessable("params.fast", "must be smaller than params.slow")

    def warmup(self, params: Mapping[str, Any]) -> int:
        return int(params["slow"])

    def target_position(self, closes: Sequence[float], params: Mapping[str, Any]) -> int:
        fast, slow = int(params["fast"]), int(params["slow"])
        if len(closes) < slow:
            return 0
        fast_sma = sum(closes[-fast:]) / fast
        slow_sma = sum(closes[-slow:]) / slow
        return 1 if fast_sma > slow_sma else 0
