"""Training: a parameter search over a strategy's declared space with walk-forward validation. Pure.

A run takes market history, splits it into a training window (the first `TRAIN_FRACTION`) and an
out-of-sample window (the rest), backtests every candidate parameter set on the training window, ranks them by
the objective, and reports the winner's in- and out-of-sample metrics. The work is split into chunks so a
Step Functions Map can spread it over Lambda workers; `reduce_chunks` picks the winner from their results.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from botfleet.domain.backtest import FeeModel, backtest, paper_slippage_bps
from botfleet.domain.strategies import get_strategy
from botfleet.domain.strategies.base import param_grid

TRAIN_FRACTION = 0.7
MIN_TRADES = 3  # fewer round trips in the training window is luck, not evidence
CHUNK_SIZE = 100  # parameter sets per Map item: ~0.1 s of backtesting on 4,320 candles
# Out-of-sample thresholds a trained model must meet before it is deployed by the quarantine flow.
VALIDATION = {"min_trades": 1, "max_drawdown": 0.25, "min_return": -0.05}


@dataclass(frozen=True, slots=True)
class Windows:
    train: np.ndarray  # closes of the training window
    test: np.ndarray  # a warm-up prefix from the training window, then the out-of-sample closes
    test_start: int  # where out-of-sample trading may begin inside `test`


def split(closes: np.ndarray, warmup: int) -> Windows:
    """Walk-forward: train on the first 70 %, test on the rest; the test window carries `warmup` candles of
    the training window in front so indicators are warm, and trading starts after them."""
    cut = int(len(closes) * TRAIN_FRACTION)
    prefix = min(warmup, cut)
    return Windows(closes[:cut], closes[cut - prefix:], prefix)


def search_space(strategy_name: str, budget: int, seed: str) -> list[dict[str, Any]]:
    """Every parameter set of the declared grid when it fits the budget, else a seeded random sample of it
    (without repeats), always respecting the strategy's cross-parameter rules."""
    strategy = get_strategy(strategy_name)
    axes = {spec.name: _axis(spec) for spec in strategy.params}
    full = math.prod(len(values) for values in axes.values())
    if full <= budget * 4:  # small enough to enumerate, then thin out if the rules leave too many
        grid = param_grid(strategy, **axes)
        sets = _rows(grid)
        if len(sets) <= budget:
            return sets
        rng = np.random.default_rng(_seed(seed))
        return [sets[i] for i in sorted(rng.choice(len(sets), size=budget, replace=False))]
    rng = np.random.default_rng(_seed(seed))
    chosen: dict[tuple, dict[str, Any]] = {}
    for _ in range(50):  # draw in batches until the budget is filled with valid, distinct sets
        draw = {name: rng.choice(values, size=budget * 2) for name, values in axes.items()}
        ok = strategy.valid(draw)
        for i in np.flatnonzero(ok):
            row = {name: _plain(draw[name][i]) for name in axes}
            chosen.setdefault(tuple(row.values()), row)
            if len(chosen) == budget:
                return list(chosen.values())
    return list(chosen.values())


def chunks(sets: Sequence[dict[str, Any]], size: int = CHUNK_SIZE) -> list[list[dict[str, Any]]]:
    return [list(sets[i:i + size]) for i in range(0, len(sets), size)]


def evaluate(strategy_name: str, closes: np.ndarray, sets: Sequence[dict[str, Any]], exchange: str,
             symbol: str, capital: float, keep: int = 5) -> list[dict[str, Any]]:
    """Backtest `sets` on the training window and the out-of-sample window; return the `keep` best by the
    objective, each with its in- and out-of-sample metrics (plain Python values)."""
    strategy = get_strategy(strategy_name)
    params = strategy.as_arrays({name: [s[name] for s in sets] for name in sets[0]})
    warmup = int(np.max(strategy.warmups(params))) + 1
    windows = split(closes, warmup)
    fee = FeeModel.of_exchange(exchange)
    slippage = paper_slippage_bps(exchange, symbol, capital)
    train = backtest(windows.train, strategy.positions(windows.train, params), cash=capital, fee=fee,
                     slippage_bps=slippage)
    test = backtest(windows.test, strategy.positions(windows.test, params), cash=capital, fee=fee,
                    slippage_bps=slippage, start=np.full(len(sets), windows.test_start))
    scores = objective(train)
    order = np.argsort(-scores, kind="stable")[:keep]
    return [{"params": dict(sets[i]), "score": _finite(scores[i]), "in_sample": _metrics(train, i),
             "out_of_sample": _metrics(test, i)} for i in order]


def objective(result) -> np.ndarray:
    """Risk-adjusted return after fees: the annualized Sharpe ratio of the training window, and -inf for sets
    with fewer than MIN_TRADES round trips, that lost everything or whose Sharpe ratio is undefined."""
    scorable = (result.trades >= MIN_TRADES) & (result.total_return > -1) & ~np.isnan(result.sharpe)
    # Not np.nan_to_num: it also turns -inf into the lowest finite float, which then ranks as a real score,
    # reaches the run's results and is refused by the table (1.8E+308 is beyond DynamoDB's numbers).
    return np.where(scorable, result.sharpe, -np.inf)


def reduce_chunks(chunk_results: Iterable[Sequence[dict[str, Any]]]) -> dict[str, Any] | None:
    """The best candidate over every chunk (None when no set traded enough to be scored)."""
    candidates = [c for results in chunk_results for c in results if c["score"] is not None]
    if not candidates:
        return None
    best = max(candidates, key=lambda c: c["score"])
    return {**best, "validated": passes_validation(best["out_of_sample"])}


def passes_validation(metrics: dict[str, Any]) -> bool:
    return (metrics["trades"] >= VALIDATION["min_trades"] and metrics["max_drawdown"] <= VALIDATION["max_drawdown"]
            and metrics["total_return"] >= VALIDATION["min_return"])


def _metrics(result, index: int) -> dict[str, Any]:
    return {name: _finite(getattr(result, name)[index].item()) for name in (
        "total_return", "trades", "win_rate", "max_drawdown", "sharpe", "exposure")}


def _axis(spec) -> list:
    if spec.kind == "int":
        return list(range(int(spec.low), int(spec.high) + 1, max(int(spec.step), 1)))
    count = int((spec.high - spec.low) / spec.step) + 1
    return [str(spec.low + spec.step * i) for i in range(count)]


def _rows(grid: dict[str, np.ndarray]) -> list[dict[str, Any]]:
    names = list(grid)
    return [{name: _plain(grid[name][i]) for name in names} for i in range(len(grid[names[0]]))]


def _plain(value: Any) -> Any:
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    return value.item() if hasattr(value, "item") else value


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _seed(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:8], "big")
