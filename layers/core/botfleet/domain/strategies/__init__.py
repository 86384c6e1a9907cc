"""Strategy families. One definition per strategy drives the live tick (and, later, the backtest)."""

from botfleet.domain.strategies.base import ParamSpec, Strategy, validate_params
from botfleet.domain.strategies.sma_cross import SmaCross

STRATEGIES: dict[str, Strategy] = {strategy.name: strategy for strategy in (SmaCross(),)}


def get_strategy(name: str) -> Strategy:
    from botfleet.errors import Unprocessable

    try:
        return STRATEGIES[name]
    except KeyError:
        raise Unprocessable(
            "strategy", f"unknown strategy {name!r} (one of: {', '.join(STRATEGIES)})", code="unknown_strategy"
        ) from None


__all__ = ["STRATEGIES", "ParamSpec", "Strategy", "get_strategy", "validate_params"]
