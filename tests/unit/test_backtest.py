"""The vectorized backtester: a hand-computed golden example, its conventions, agreement with a plain
candle-by-candle loop for many parameter sets at once, and the Decimal ledger recheck."""

from __future__ import annotations

from decimal import Decimal as D

import numpy as np
import pytest

from botfleet.domain import backtest as engine
from botfleet.domain import market as sim
from botfleet.domain.backtest import (
    FeeModel,
    RecheckMismatch,
    backtest,
    backtest_strategy,
    paper_slippage_bps,
    params_of,
    recheck,
)
from botfleet.domain.exchanges import get_exchange
from botfleet.domain.paper import market_order
from botfleet.domain.strategies import STRATEGIES, get_strategy, param_grid

CLOSES = np.array([100.0, 101, 102, 104, 103, 101, 100, 102, 105, 106])
HELD = np.array([0, 1, 1, 1, 0, 0, 1, 1, 1, 1], dtype=np.int8)


def test_golden_ten_bars_with_fees_by_hand():
    fee = 0.001
    result = backtest(CLOSES, HELD, cash=1_000.0, fee=FeeModel(fee, "quote"))
    # Buy at 101 with all the cash, the quote fee on top: 1000 / (101 · 1.001) coin. Sell at 103, keep 0.999 of
    # the proceeds. Buy again at 100 and hold: the last close (106) marks the open position, no exit fee.
    first_trip = (103 / 101) * (1 - fee) / (1 + fee)
    final = 1_000 * first_trip * (106 / 100) / (1 + fee)
    assert result.final_equity[0] == pytest.approx(final, rel=1e-12)
    assert result.total_return[0] == pytest.approx(final / 1_000 - 1, rel=1e-12)
    assert (result.trades[0], result.wins[0], result.win_rate[0]) == (1, 1, 1.0)  # 103·0.999 > 101·1.001
    assert result.open_at_end[0] and result.exposure[0] == pytest.approx(0.7)
    # The peak is at 104 in the first trade (entry fee paid), the trough just after the second entry fee.
    peak = 1_000 * (104 / 101) / (1 + fee)
    trough = 1_000 * first_trip / (1 + fee)
    assert result.max_drawdown[0] == pytest.approx(1 - trough / peak, rel=1e-12)
    assert result.sharpe[0] > 0


def test_golden_ten_bars_with_a_fee_in_the_received_asset_and_slippage():
    fee, slip = 0.006, 5.0 / 10_000  # Luno's taker fee, 5 bps per side
    result = backtest(CLOSES, HELD, cash=1_000.0, fee=FeeModel(fee, "received"), slippage_bps=5.0)
    # Buy at 101·(1+slip) with all the cash, receive (1-fee) of the coin; sell at 103·(1-slip), keep (1-fee).
    first_trip = (103 * (1 - slip)) / (101 * (1 + slip)) * (1 - fee) ** 2
    final = 1_000 * first_trip * (1 - fee) / (1 + slip) * (106 / 100)
    assert result.final_equity[0] == pytest.approx(final, rel=1e-12)
    assert (result.trades[0], result.wins[0]) == (1, 1)


def test_fee_model_follows_the_exchange():
    assert FeeModel.of_exchange("binance") == FeeModel(0.001, "received")
    assert FeeModel.of_exchange("kucoin") == FeeModel(0.001, "quote")
    assert FeeModel.of_exchange("luno") == FeeModel(0.006, "received")
    assert FeeModel.of_exchange("ovex") == FeeModel(0.002, "quote")


def test_the_last_candle_only_marks_and_nothing_trades_before_start():
    closes = np.array([10.0, 11, 12, 13, 14])
    late_entry = backtest(closes, np.array([0, 0, 0, 0, 1]), fee=FeeModel(0.01))
    assert late_entry.trades[0] == 0 and late_entry.total_return[0] == 0.0  # an order at the last close: no fill
    late_exit = backtest(closes, np.array([0, 1, 1, 1, 0]), fee=FeeModel(0.0))
    assert late_exit.trades[0] == 0 and late_exit.open_at_end[0]  # still held, marked at 14
    assert late_exit.total_return[0] == pytest.approx(14 / 11 - 1)
    early = backtest(closes, np.array([[1, 1, 1, 1, 1], [1, 1, 1, 1, 1]]), fee=FeeModel(0.0), start=[0, 2])
    assert early.total_return.tolist() == pytest.approx([14 / 10 - 1, 14 / 12 - 1])


def loop_backtest(closes, held, cash, fee, slippage_bps):
    """The same conventions, one candle at a time in plain floats: the reference for the vectorized engine."""
    slip = slippage_bps / 10_000
    quote, coin, basis, trades, wins, equity = cash, 0.0, 0.0, 0, 0, []
    previous = 0
    for close, position in zip(closes, held, strict=True):
        if position != previous:
            if position:
                price = close * (1 + slip)
                coin = quote / (price * (1 + fee.rate)) if fee.currency == "quote" else quote / price * (1 - fee.rate)
                basis, quote = quote, 0.0
            else:
                quote, coin = coin * close * (1 - slip) * (1 - fee.rate), 0.0
                trades, wins = trades + 1, wins + (quote > basis)
            previous = position
        equity.append(quote + coin * close)
    equity = np.array(equity)
    peaks = np.maximum.accumulate(np.concatenate(([cash], equity)))[1:]
    return equity[-1], trades, wins, float(np.max(1 - equity / peaks))


@pytest.mark.parametrize("fee", [FeeModel(0.001, "quote"), FeeModel(0.006, "received")])
def test_every_parameter_set_matches_a_candle_by_candle_loop(fee, monkeypatch):
    monkeypatch.setattr(engine, "CHUNK_ELEMENTS", 5_000)  # several chunks, so chunk boundaries are exercised
    rng = np.random.default_rng(5)
    closes = 100 * np.exp(np.cumsum(rng.normal(0, 0.002, 1_500)))
    positions = (rng.random((40, 1_500)) < 0.5).astype(np.int8)
    positions = np.where(rng.random((40, 1_500)) < 0.9, 0, positions)  # runs of flat with scattered trades
    positions = np.maximum.accumulate(positions * np.arange(1_500), axis=1) % 7 < 4  # and longer holdings
    start = rng.integers(0, 50, 40)
    result = backtest(closes, positions, cash=10_000.0, fee=fee, slippage_bps=2.5, start=start)
    held = engine.held_positions(positions, start)
    for row in range(40):
        equity, trades, wins, drawdown = loop_backtest(closes, held[row], 10_000.0, fee, 2.5)
        assert result.final_equity[row] == pytest.approx(equity, rel=1e-11)
        assert (result.trades[row], result.wins[row]) == (trades, wins)
        assert result.max_drawdown[row] == pytest.approx(drawdown, rel=1e-9, abs=1e-12)
        assert result.exposure[row] == pytest.approx(held[row].mean())


@pytest.mark.parametrize("fee", [FeeModel(0.001, "quote"), FeeModel(0.006, "received")])
def test_the_decimal_ledger_agrees_with_the_float_engine(fee):
    closes = 100 * np.exp(np.cumsum(np.random.default_rng(6).normal(0, 0.001, 3_000)))
    strategy = get_strategy("sma_cross")
    grid = param_grid(strategy, fast=[3, 5, 10], slow=[20, 50])
    result = backtest_strategy(strategy, closes, grid, fee=fee, slippage_bps=1.5)
    positions = strategy.positions(closes, grid)
    for index in range(len(result)):
        replay = recheck(closes, positions, result, index)
        assert isinstance(replay.final_equity, D) and replay.trades == result.trades[index] > 10
        assert replay.ledger.violations(D(float(closes[-1]))) == []
    assert params_of(result, 0) == {"fast": 3, "slow": 20}


def test_the_recheck_catches_an_engine_that_drifted():
    closes = 100 * np.exp(np.cumsum(np.random.default_rng(7).normal(0, 0.001, 500)))
    strategy = get_strategy("ema_cross")
    grid = param_grid(strategy, fast=[5], slow=[30])
    result = backtest_strategy(strategy, closes, grid)
    positions = strategy.positions(closes, grid)
    recheck(closes, positions, result, 0)
    result.final_equity[0] *= 1 + 2e-6  # the kind of error a wrong fee factor would leave
    with pytest.raises(RecheckMismatch, match="final equity"):
        recheck(closes, positions, result, 0)


@pytest.mark.parametrize("name", sorted(STRATEGIES))
def test_every_family_backtests_and_rechecks(name):
    closes = 100 * np.exp(np.cumsum(np.random.default_rng(8).normal(0, 0.002, 2_000)))
    strategy = STRATEGIES[name]
    defaults = {spec.name: [float(spec.default)] for spec in strategy.params}
    result = backtest_strategy(strategy, closes, defaults, fee=FeeModel.of_exchange("binance"))
    assert len(result) == 1 and result.trades[0] > 0
    recheck(closes, strategy.positions(closes, defaults), result, 0)
    assert result.best(1)[0]["trades"] == result.trades[0]


def test_slippage_approximates_the_paper_engines_book_walk():
    exchange, symbol = get_exchange("binance"), "BTC/USDT"
    rules, spec = exchange.rules(symbol), exchange.simulation(symbol)
    assert paper_slippage_bps("binance", symbol, 10.0) == pytest.approx(float(spec.spread_bps) / 2)
    for notional in (50_000.0, 1_500_000.0):  # inside the first level, and several levels deep
        model = paper_slippage_bps("binance", symbol, notional)
        observed = []
        for seed in range(40):
            state = sim.initial_state(f"slip:{seed}", spec, rules)
            book = sim.order_book(state, f"slip:{seed}", spec, rules)
            amount = (D(notional) / book.mid).quantize(rules.amount_step)
            observed.append(float(market_order("buy", amount, book, exchange, rules).slippage_bps))
        assert model == pytest.approx(np.mean(observed), rel=0.15), (notional, model, np.mean(observed))
    assert paper_slippage_bps("binance", symbol, 1_500_000.0) > paper_slippage_bps("binance", symbol, 50_000.0)
