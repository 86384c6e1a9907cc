"""Strategy families. One vectorized definition per strategy (`positions`) drives the live tick
(`target_positions`: its last candle, for every bot of one market and family at once) and the backtest
(`domain/backtest.py`)."""

from collections.abc import Mapping, Sequence
from typing import Any

from botfleet.domain.strategies.base import (
    LessThan,
    ParamSpec,
    Strategy,
    VectorizedStrategy,
    param_grid,
    validate_params,
)
from botfleet.domain.strategies.bollinger_breakout import BollingerBreakout
from botfleet.domain.strategies.ema_cross import EmaCross
from botfleet.domain.strategies.rsi_reversion import RsiReversion
from botfleet.domain.strategies.sma_cross import SmaCross

STRATEGIES: dict[str, VectorizedStrategy] = {
    strategy.name: strategy for strategy in (SmaCross(), EmaCross(), RsiReversion(), BollingerBreakout())
}


def get_strategy(name: str) -> VectorizedStrategy:
    from botfleet.errors import Unprocessable

    try:
        return STRATEGIES[name]
    except KeyError:
        raise Unprocessable(
            "strategy", f"unknown strategy {name!r} (one of: {', '.join(STRATEGIES)})", code="unknown_strategy"
        ) from None


def target_positions(strategy_name: str, closes: Sequence[float],
                     params_list: Sequence[Mapping[str, Any]]) -> list[int]:
    """The target position (1 long, 0 flat) after the last close for each parameter set of one family on one
    market: `[get_strategy(strategy_name).target_position(closes, p) for p in params_list]`, in one evaluation
    that computes each indicator once per distinct period."""
    return get_strategy(strategy_name).target_positions(closes, params_list)


__all__ = ["STRATEGIES", "LessThan", "ParamSpec", "Strategy", "VectorizedStrategy", "get_strategy", "param_grid",
           "target_positions", "validate_params"]
