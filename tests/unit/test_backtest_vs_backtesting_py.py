"""Our vectorized backtester against an independent peer, backtesting.py, on the same SMA crossover grid.

Conventions aligned (docs/backtesting.md, "Agreement with backtesting.py"):
- fills at the signal bar's close: `trade_on_close=True`; ours fills at the close of the deciding candle;
- backtesting.py calls `next()` only from bar 1 + (the last indicator's first valid index) = `slow`, one bar
  after SMA(slow) exists; ours is told the same with `start=slow` (its own strategy could decide at slow - 1);
- an order sent at the last bar never fills there, and an open trade at the end is marked, not closed
  (`finalize_trades=False`): ours holds the last candle's position from the one before and marks it;
- all-in with commission on both sides in cash: backtesting.py buys int(cash·(1-eps) / (price·(1+fee))) units of
  `fractional_unit` (a satoshi), pays fee·size·price on entry and on exit — our `FeeModel(0.001, "quote")`; the
  unit rounding leaves < 1 satoshi of price in cash (~1e-6 of 10,000 at a price of ~100: ~1e-10 relative);
- `Return [%]` is (final equity - first equity)/first equity with the open trade marked at the last close;
  `# Trades` counts closed trades only — ours reports the same.
"""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest

from botfleet.domain.backtest import FeeModel, backtest_strategy, recheck
from botfleet.domain.strategies import get_strategy, param_grid

os.environ.setdefault("TQDM_DISABLE", "1")  # backtesting.py draws a progress bar per run
backtesting = pytest.importorskip(
    "backtesting", reason="backtesting.py is a dev/bench peer (requirements-bench.txt), not a runtime dependency")
pd = pytest.importorskip("pandas", reason="backtesting.py needs pandas")
from backtesting import Strategy  # noqa: E402
from backtesting.lib import FractionalBacktest  # noqa: E402

CANDLES = 3_000
CASH = 10_000
FEE = 0.001


def seeded_gbm(candles: int, seed: int = 20261124) -> np.ndarray:
    """One-minute closes of a geometric Brownian motion around 100 (BTC-like 0.09 % per-minute volatility);
    continuous prices make an exact tie of two moving averages (where float rounding could decide) unlikely."""
    rng = np.random.default_rng(seed)
    return 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.0009, candles)))


class PeerSmaCross(Strategy):
    """The crossover written the way a backtesting.py user writes it: pandas rolling means, buy all-in when
    SMA(fast) > SMA(slow) while flat, close the trade on the opposite signal."""

    fast = 5
    slow = 20

    def init(self):
        close = pd.Series(self.data.Close)
        self.fast_sma = self.I(lambda: close.rolling(self.fast).mean().to_numpy(), name="fast")
        self.slow_sma = self.I(lambda: close.rolling(self.slow).mean().to_numpy(), name="slow")

    def next(self):
        if self.fast_sma[-1] > self.slow_sma[-1]:
            if not self.position:
                self.buy()  # size defaults to all-in: 1 - eps of the available cash
        elif self.position:
            self.position.close()


def test_sma_grid_matches_backtesting_py_trade_for_trade():
    closes = seeded_gbm(CANDLES)
    frame = pd.DataFrame({"Open": closes, "High": closes, "Low": closes, "Close": closes, "Volume": 1.0},
                         index=pd.date_range("2026-11-01", periods=CANDLES, freq="1min"))
    strategy = get_strategy("sma_cross")
    grid = param_grid(strategy, fast=range(5, 51, 5), slow=range(20, 201, 20))
    assert len(grid["fast"]) == 90  # fast < slow leaves 90 of the 100 combinations
    ours = backtest_strategy(strategy, closes, grid, cash=CASH, fee=FeeModel(FEE, "quote"), start=grid["slow"])

    peer = FractionalBacktest(frame, PeerSmaCross, cash=CASH, commission=FEE, trade_on_close=True)
    mismatches, worst = [], 0.0
    for index in range(len(ours)):
        fast, slow = int(grid["fast"][index]), int(grid["slow"][index])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "some trades remain open": intended, the open trade is marked
            stats = peer.run(fast=fast, slow=slow)
        peer_return = stats["Return [%]"] / 100
        worst = max(worst, abs(peer_return - ours.total_return[index]))
        if stats["# Trades"] != ours.trades[index] or abs(peer_return - ours.total_return[index]) > 1e-6:
            mismatches.append((fast, slow, stats["# Trades"], int(ours.trades[index]), peer_return,
                               float(ours.total_return[index])))
        # Winners agree too: a backtesting.py trade's PnL includes both commissions, like our round trips.
        if stats["# Trades"]:
            assert stats["Win Rate [%]"] == pytest.approx(ours.win_rate[index] * 100, abs=1e-9)
    assert not mismatches, f"(fast, slow, peer trades, our trades, peer return, our return): {mismatches}"
    assert worst < 1e-6
    assert ours.trades.sum() > 1_000  # the comparison exercised many round trips, not a handful

    # And the float engine agrees with the Decimal ledger on a few of the same parameter sets.
    positions = strategy.positions(closes, grid)
    for index in (0, len(ours) // 2, len(ours) - 1):
        recheck(closes, positions, ours, index)
