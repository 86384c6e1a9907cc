"""Strategy families: known answers, the indicators against plain loops, parameter spaces and their errors,
and the property that makes one definition serve both the live tick and the backtest."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from botfleet.domain.strategies import STRATEGIES, get_strategy, param_grid, validate_params
from botfleet.domain.strategies.indicators import (
    ema,
    exponential_smoothing,
    latch,
    rolling_mean,
    rolling_mean_std,
    wilder_rsi,
)
from botfleet.errors import Unprocessable

RISING = np.linspace(100.0, 130.0, 300)
FALLING = RISING[::-1].copy()


# --- reference loops: the textbook definitions, one candle at a time ------------------------------------------
def loop_ema(values, alpha, seed):
    out, previous = [], seed
    for value in values:
        previous = alpha * value + (1 - alpha) * previous
        out.append(previous)
    return np.array(out)


def loop_rsi(closes, period):
    rsi = [math.nan] * len(closes)
    changes = [b - a for a, b in itertools.pairwise(closes)]
    if len(changes) < period:
        return np.array(rsi)
    gain = sum(max(c, 0) for c in changes[:period]) / period
    loss = sum(max(-c, 0) for c in changes[:period]) / period
    for t in range(period, len(closes)):
        if t > period:
            change = changes[t - 1]
            gain = (gain * (period - 1) + max(change, 0)) / period
            loss = (loss * (period - 1) + max(-change, 0)) / period
        rsi[t] = 50.0 if gain + loss == 0 else 100 * gain / (gain + loss)
    return np.array(rsi)


def loop_latch(enter, exit_):
    state, out = 0, []
    for e, x in zip(enter, exit_, strict=True):
        state = 0 if x else (1 if e else state)
        out.append(state)
    return np.array(out, dtype=np.int8)


# --- indicators ------------------------------------------------------------------------------------------------
def test_rolling_mean_and_std_match_the_direct_computation():
    closes = 1_650_000 * np.exp(np.cumsum(np.random.default_rng(1).normal(0, 0.001, 2_000)))  # BTC/ZAR levels
    mean, std = rolling_mean_std(closes, 20)
    windows = np.lib.stride_tricks.sliding_window_view(closes, 20)
    assert np.isnan(mean[:19]).all() and np.isnan(std[:19]).all()
    np.testing.assert_allclose(mean[19:], windows.mean(axis=1), rtol=1e-12)
    np.testing.assert_allclose(std[19:], windows.std(axis=1), rtol=1e-6)
    np.testing.assert_allclose(rolling_mean(closes, 20), mean, rtol=1e-12)
    assert np.isnan(rolling_mean(closes[:5], 20)).all()


@pytest.mark.parametrize("alpha", [2 / 3, 2 / 27, 1 / 14, 2 / 201, 0.001])
def test_exponential_smoothing_matches_the_recursion_across_its_blocks(alpha):
    values = 100 * np.exp(np.cumsum(np.random.default_rng(2).normal(0, 0.002, 5_000)))
    np.testing.assert_allclose(exponential_smoothing(values, alpha), loop_ema(values, alpha, values[0]), rtol=1e-12)
    np.testing.assert_allclose(exponential_smoothing(values, alpha, seed=50.0), loop_ema(values, alpha, 50.0),
                               rtol=1e-12)


def test_ema_is_pandas_ewm_adjust_false():
    values = np.array([10.0, 11.0, 12.0, 11.0, 13.0])
    alpha = 2 / (3 + 1)
    np.testing.assert_allclose(ema(values, 3), [10.0, 10.5, 11.25, 11.125, 12.0625], rtol=1e-15)
    assert ema(values, 3)[1] == pytest.approx(alpha * 11 + (1 - alpha) * 10)


def test_wilder_rsi_matches_the_textbook_loop():
    closes = 100 * np.exp(np.cumsum(np.random.default_rng(3).normal(0, 0.003, 1_000)))
    for period in (2, 14, 50):
        ours, reference = wilder_rsi(closes, period), loop_rsi(list(closes), period)
        assert np.isnan(ours[:period]).all()
        np.testing.assert_allclose(ours[period:], reference[period:], rtol=1e-9)
    assert wilder_rsi(np.full(30, 7.0), 14)[14:].tolist() == [50.0] * 16  # no movement at all: neutral
    assert wilder_rsi(np.arange(1.0, 31.0), 14)[-1] == 100.0  # only gains


def test_latch_holds_between_enter_and_exit_without_a_loop():
    rng = np.random.default_rng(4)
    enter, exit_ = rng.random(500) < 0.05, rng.random(500) < 0.05
    np.testing.assert_array_equal(latch(enter, exit_), loop_latch(enter, exit_))
    # exit wins a tie, and nothing before the first signal
    assert latch(np.array([0, 1, 0, 1, 0], bool), np.array([0, 0, 0, 1, 0], bool)).tolist() == [0, 1, 1, 0, 0]


# --- known answers per family ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", ["sma_cross", "ema_cross"])
def test_trend_followers_are_long_in_a_rising_market_and_flat_in_a_falling_one(name):
    strategy = get_strategy(name)
    params = validate_params(strategy, {"fast": 3, "slow": 10})
    positions = strategy.positions(RISING, strategy.as_arrays(params))[0]
    assert positions[:9].tolist() == [0] * 9  # warm-up: fewer than `slow` closes, flat
    assert positions[9:].all()
    assert not strategy.positions(FALLING, strategy.as_arrays(params)).any()
    assert strategy.target_position(list(RISING), params) == 1
    assert strategy.target_position(list(FALLING), params) == 0
    assert strategy.target_position([1.0, 2.0], params) == 0  # not enough history
    assert strategy.target_position([], params) == 0


def test_sma_cross_keeps_its_original_answers():
    sma = get_strategy("sma_cross")
    assert sma.target_position([1, 2, 3, 4, 5], {"fast": 2, "slow": 4}) == 1
    assert sma.target_position([5, 4, 3, 2, 1], {"fast": 2, "slow": 4}) == 0
    assert sma.warmup({"fast": 2, "slow": 4}) == 4


def test_rsi_reversion_enters_below_oversold_and_exits_above_overbought():
    # RSI(2) of a crafted oscillation, by hand: changes +1 +1 +1 -2 -2 …; the seed at close 2 is gain 1, loss 0
    # (RSI 100); close 4: gain (1+0)/2 = 0.5, loss (0+2)/2 = 1 → 33.3; close 5: gain 0.25, loss 1.5 → 14.3 < 30:
    # enter. It then chops between 29 and 59 (held: hysteresis, a second dip under 30 changes nothing) until
    # close 11's rally to 87.9 > 70: exit, and later readings above 70 while flat change nothing either.
    closes = np.array([100, 101, 102, 103, 101, 99, 97, 98, 97.5, 98.2, 97.9, 100, 102, 104, 103.5, 104, 103.8])
    strategy = get_strategy("rsi_reversion")
    params = {"period": 2, "oversold": 30, "overbought": 70}
    rsi = loop_rsi(list(closes), 2)
    positions = strategy.positions(closes, strategy.as_arrays(params))[0]
    first_oversold = int(np.argmax(rsi < 30))
    first_overbought_after = first_oversold + int(np.argmax(rsi[first_oversold:] > 70))
    assert first_oversold == 5 and first_overbought_after == 11  # the crafted series does what it says
    assert positions.tolist() == [0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0]
    assert positions[:first_oversold].tolist() == [0] * first_oversold
    assert positions[first_oversold:first_overbought_after].all()  # held through the 30…70 chop
    assert not positions[first_overbought_after:].any()  # RSI > 70 again later while flat: stays flat
    between = rsi[first_oversold + 1:first_overbought_after]
    assert ((between >= 30) & (between <= 70)).any()  # the hold really was hysteresis, not a fresh signal
    assert strategy.warmup(params) == 3


def test_bollinger_breakout_enters_on_the_upper_band_and_exits_at_the_mean():
    quiet = 100 + 0.1 * np.sin(np.arange(40))  # a narrow band
    breakout = np.array([103.0, 104.0, 104.5, 104.8, 105.0])
    fall_back = np.array([99.0, 98.0])
    closes = np.concatenate((quiet, breakout, fall_back))
    strategy = get_strategy("bollinger_breakout")
    params = validate_params(strategy, {"window": 20, "width": "2"})
    positions = strategy.positions(closes, strategy.as_arrays(params))[0]
    assert not positions[:40].any()
    assert positions[40] == 1  # the first close above mean + 2sigma
    assert positions[40:45].all()  # stays long while above the mean, even inside the band
    assert positions[45] == 0 and positions[46] == 0  # below the mean: out
    assert strategy.target_position(list(closes[:45]), params) == 1


# --- parameter spaces ------------------------------------------------------------------------------------------
def test_there_are_at_least_four_families_each_with_a_documented_parameter_space():
    assert {"sma_cross", "ema_cross", "rsi_reversion", "bollinger_breakout"} <= set(STRATEGIES)
    for strategy in STRATEGIES.values():
        assert strategy.description and strategy.params
        defaults = validate_params(strategy, None)
        strategy.check(defaults)
        for spec in strategy.params:
            assert spec.low <= spec.default <= spec.high and spec.description
            assert spec.to_json()["name"] == spec.name


@pytest.mark.parametrize(("name", "params", "field", "message"), [
    ("sma_cross", {"fast": 30, "slow": 20}, "params.fast", "must be smaller than params.slow"),
    ("ema_cross", {"fast": 26, "slow": 26}, "params.fast", "must be smaller than params.slow"),
    ("ema_cross", {"slow": 500}, "params.slow", "must be between"),
    ("rsi_reversion", {"oversold": 50, "overbought": 50}, "params.oversold",
     "must be smaller than params.overbought"),
    ("rsi_reversion", {"period": 1}, "params.period", "must be between"),
    ("rsi_reversion", {"period": "14.5"}, "params.period", "must be an integer"),
    ("bollinger_breakout", {"width": "9"}, "params.width", "must be between"),
    ("bollinger_breakout", {"width": 2.5}, "params.width", "must be a decimal string"),
    ("bollinger_breakout", {"sigma": "2"}, "params.sigma", "unknown parameter"),
])
def test_parameter_errors_name_the_field(name, params, field, message):
    with pytest.raises(Unprocessable) as error:
        validate_params(get_strategy(name), params)
    assert f"{field}: {message}" in str(error.value)


def test_param_grid_applies_the_cross_parameter_rules_and_ranges():
    sma = get_strategy("sma_cross")
    grid = param_grid(sma, fast=range(5, 51, 5), slow=range(20, 201, 20))
    assert len(grid["fast"]) == 90 and (grid["fast"] < grid["slow"]).all()
    assert grid["fast"].dtype == np.int64
    rsi = param_grid(get_strategy("rsi_reversion"), period=[7, 14])  # the others take their defaults
    assert rsi["oversold"].tolist() == [30, 30] and rsi["overbought"].tolist() == [70, 70]
    with pytest.raises(Unprocessable, match=r"params.slow: must be between"):
        param_grid(sma, slow=[20, 400])
    with pytest.raises(Unprocessable, match=r"params.speed"):
        param_grid(sma, speed=[1])


# --- one definition for the tick and the backtest --------------------------------------------------------------
def random_params(strategy, draw):
    """A valid parameter set, as `validate_params` would store it for a bot."""
    while True:
        raw = {}
        for spec in strategy.params:
            if spec.kind == "int":
                raw[spec.name] = draw(st.integers(int(spec.low), min(int(spec.high), 60)))
            else:
                tenths = draw(st.integers(int(spec.low * 10), int(spec.high * 10)))
                raw[spec.name] = str(tenths / 10)
        try:
            return validate_params(strategy, raw)
        except Unprocessable:
            continue


@settings(max_examples=100, deadline=None)
@given(data=st.data())
def test_target_position_is_the_last_column_of_positions(data):
    strategy = STRATEGIES[data.draw(st.sampled_from(sorted(STRATEGIES)))]
    length = data.draw(st.integers(1, 240))
    steps = data.draw(st.lists(st.floats(-0.02, 0.02), min_size=length, max_size=length))
    closes = 100 * np.exp(np.cumsum(steps))
    one = random_params(strategy, data.draw)
    others = [random_params(strategy, data.draw) for _ in range(data.draw(st.integers(0, 3)))]
    sets = [*others, one]
    grid = {spec.name: [float(s[spec.name]) for s in sets] for spec in strategy.params}
    positions = strategy.positions(closes, grid)  # the whole batch, the live set among them
    assert positions.shape == (len(sets), length) and positions.dtype == np.int8
    assert strategy.target_position(list(closes), one) == positions[-1, -1]
    warmup = strategy.warmup(one)
    assert not positions[-1, : warmup - 1].any()  # nothing before the strategy has its history
