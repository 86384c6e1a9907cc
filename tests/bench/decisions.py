"""Strategy decisions per second, one core: `.venv/bin/python tests/bench/decisions.py`.

For each family, a fleet of 2,000 bots on ONE market (the same 240 closes, as the tick keeps them: a list of
floats), each bot's params drawn at random from the family's declared grid (every ParamSpec from low to high by its
step, the cross-parameter rules applied; repeats allowed, so popular periods are shared as in a real fleet):
  batch   = `target_positions(family, closes, params_list)`, the whole fleet in one call (what the engine calls);
  per_bot = `[strategy.target_position(closes, p) for p in params_list]`, one bot at a time (the strategy part of
            the per-bot decision `tests/bench/paper.py` times).
Both include reading the stored params (ints, decimal strings); each is the best of several runs, and the two must
agree bot for bot. One line per family: `decisions_per_s family=... batch=... per_bot=... goal=200000 PASS|MISS`.
"""

from __future__ import annotations

import os

# Before numpy is imported: one core, as the goal is per core (and the machine may be shared).
os.environ["OMP_NUM_THREADS"] = "1"
os.environ["MKL_NUM_THREADS"] = "1"
os.environ["OPENBLAS_NUM_THREADS"] = "1"

import argparse
import time
from decimal import Decimal

import numpy as np

from botfleet.domain.strategies import STRATEGIES, param_grid, target_positions, validate_params

GOAL_DECISIONS = 200_000


def random_walk(closes: int, seed: int) -> list[float]:
    """Seeded one-minute closes at BTC/ZAR levels with BTC-like volatility (0.1 % per minute)."""
    rng = np.random.default_rng(seed)
    return (1_650_000 * np.exp(np.cumsum(rng.normal(0, 0.001, closes)))).tolist()


def fleet(strategy, bots: int, seed: int) -> list[dict]:
    """`bots` parameter sets drawn (with repeats) from the family's full grid, stored as a bot stores them."""
    axes = {spec.name: _axis(spec) for spec in strategy.params}
    grid = param_grid(strategy, **axes)
    size = len(next(iter(grid.values())))
    rng = np.random.default_rng(seed)
    kinds = {spec.name: spec.kind for spec in strategy.params}
    chosen = rng.integers(0, size, bots)
    return [validate_params(strategy, {name: int(column[i]) if kinds[name] == "int" else str(Decimal(str(column[i])))
                                       for name, column in grid.items()}) for i in chosen]


def _axis(spec) -> list[Decimal]:
    return [spec.low + spec.step * i for i in range(int((spec.high - spec.low) / spec.step) + 1)]


def best_seconds(function, runs: int) -> float:
    best = float("inf")
    for _ in range(runs):
        started = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - started)
    return best


def measure(name: str, bots: int, closes: list[float], seed: int, runs: int) -> tuple[float, float]:
    strategy = STRATEGIES[name]
    params_list = fleet(strategy, bots, seed)
    batch = target_positions(name, closes, params_list)
    one_by_one = [strategy.target_position(closes, params) for params in params_list]
    if batch != one_by_one:
        raise AssertionError(f"{name}: the batch disagrees with the per-bot decisions")
    batch_seconds = best_seconds(lambda: target_positions(name, closes, params_list), runs)
    per_bot_seconds = best_seconds(lambda: [strategy.target_position(closes, p) for p in params_list],
                                   max(2, runs // 3))
    return bots / batch_seconds, bots / per_bot_seconds


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--bots", type=int, default=2_000)
    parser.add_argument("--closes", type=int, default=240)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--seed", type=int, default=240)
    args = parser.parse_args()
    closes = random_walk(args.closes, args.seed)
    for index, name in enumerate(sorted(STRATEGIES)):
        batch, per_bot = measure(name, args.bots, closes, args.seed + index, args.runs)
        verdict = "PASS" if batch >= GOAL_DECISIONS else "MISS"
        print(f"decisions_per_s family={name} batch={batch:.0f} per_bot={per_bot:.0f} goal={GOAL_DECISIONS} "
              f"{verdict}")


if __name__ == "__main__":
    main()
