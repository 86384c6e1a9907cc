"""Strategy families. One vectorized definition per strategy (`positions`) drives the live tick
(`target_position`, the same function read at the last candle) and the backtest (`domain/backtest.py`)."""

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


__all__ = ["STRATEGIES", "LessThan", "ParamSpec", "Strategy", "VectorizedStrategy", "get_strategy", "param_grid",
           "validate_params"]
