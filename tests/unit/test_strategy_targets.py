"""`target_positions`: the live tick's decisions for every bot of one market and strategy family at once.

The property: for any closes and any fleet of valid parameter sets, the batch returns exactly what each bot's own
`target_position` returns, and exactly the last column of the backtest's `positions` (the one definition). Fleets
share periods the way real ones do (a few popular values, some odd ones), and the closes include short histories
(warm-up), flat prices and repeated levels (ties, zero sigma, RSI stuck at 50), spikes, and price levels from a
few cents to BTC/ZAR millions.
"""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from botfleet.domain.strategies import STRATEGIES, get_strategy, target_positions, validate_params
from botfleet.domain.strategies.indicators import (
    Bands,
    distinct,
    last_true,
    latch,
    rolling_mean_std,
    rolling_means,
    rolling_means_at_end,
)
from botfleet.errors import Unprocessable

FAMILIES = sorted(STRATEGIES)
RISING = list(np.linspace(100.0, 130.0, 300))


# --- generators ------------------------------------------------------------------------------------------------
@st.composite
def closes_of(draw, max_length: int = 260) -> list[float]:
    length = draw(st.integers(1, max_length))
    level = draw(st.sampled_from([0.0123, 1.0, 100.0, 61_500.0, 1_650_000.0]))
    shape = draw(st.sampled_from(["walk", "flat", "levels", "spikes"]))
    if shape == "flat":
        return [level] * length
    if shape == "levels":  # few distinct prices: equal averages, zero sigma, unchanged closes
        ticks = draw(st.lists(st.integers(-2, 2), min_size=length, max_size=length))
        return [level * (1 + tick / 100) for tick in ticks]
    steps = np.array(draw(st.lists(st.floats(-0.02, 0.02), min_size=length, max_size=length)))
    if shape == "spikes":
        for index in draw(st.lists(st.integers(0, length - 1), max_size=4)):
            steps[index] += draw(st.sampled_from([-0.4, -0.1, 0.1, 0.4]))
    return (level * np.exp(np.cumsum(steps))).tolist()


def value_of(spec):
    """One value in the ParamSpec's range and step, written as a bot's stored params may hold it: validated params
    are ints and decimal strings, DynamoDB hands numbers back as Decimal."""
    steps = st.integers(0, int((spec.high - spec.low) / spec.step))
    number = steps.map(lambda k: spec.low + spec.step * k)
    if spec.kind == "int":
        return number.flatmap(lambda v: st.sampled_from([int(v), Decimal(int(v))]))
    return number.flatmap(lambda v: st.sampled_from([str(v), v]))


@st.composite
def fleet_of(draw, strategy, max_size: int = 40) -> list[dict]:
    """Bots of one family: most take each parameter from a small pool of popular values (shared periods), some
    draw their own; every set satisfies the family's ranges and cross-parameter rules."""
    pools = {spec.name: draw(st.lists(value_of(spec), min_size=1, max_size=3)) for spec in strategy.params}
    size = draw(st.integers(1, max_size))
    fleet: list[dict] = []
    while len(fleet) < size:
        raw = {spec.name: draw(st.sampled_from(pools[spec.name]) if draw(st.integers(0, 4)) else value_of(spec))
               for spec in strategy.params}
        try:
            validate_params(strategy, raw)
        except Unprocessable:  # a cross-parameter rule (fast < slow, oversold < overbought) does not hold
            if draw(st.integers(0, 3)) == 0:
                fleet.append(validate_params(strategy, None))  # the defaults: the most popular bot of all
            continue
        fleet.append(raw)
    return fleet


def backtest_definition(strategy, closes, fleet) -> list[int]:
    """The last column of `positions`, the backtest's definition, for the same sets."""
    grid = {spec.name: [float(params[spec.name]) for params in fleet] for spec in strategy.params}
    return strategy.positions(np.array(closes), grid)[:, -1].tolist()


# --- the property, per family ----------------------------------------------------------------------------------
@pytest.mark.parametrize("name", FAMILIES)
@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_the_batch_decides_exactly_as_each_bot_and_as_the_backtest(name, data):
    strategy = get_strategy(name)
    closes = data.draw(closes_of(), label="closes")
    fleet = data.draw(fleet_of(strategy), label="fleet")
    batch = target_positions(name, closes, fleet)
    assert batch == [strategy.target_position(closes, params) for params in fleet]
    assert batch == backtest_definition(strategy, closes, fleet)
    assert all(type(decision) is int and decision in (0, 1) for decision in batch)


@pytest.mark.parametrize("name", FAMILIES)
@settings(max_examples=15, deadline=None)
@given(data=st.data())
def test_long_histories_too(name, data):
    # Longer than the tick's 240 closes: the EMA smoothing then runs in several blocks, and hysteresis can hold
    # a position from far back.
    strategy = get_strategy(name)
    length = data.draw(st.integers(600, 3_000))
    seed = data.draw(st.integers(0, 2**32 - 1))
    closes = (100 * np.exp(np.cumsum(np.random.default_rng(seed).normal(0, 0.01, length)))).tolist()
    fleet = data.draw(fleet_of(strategy, max_size=60))
    batch = target_positions(name, closes, fleet)
    assert batch == backtest_definition(strategy, closes, fleet)
    assert batch == [strategy.target_position(closes, params) for params in fleet]


# --- examples --------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("name", FAMILIES)
def test_no_bots_no_decisions_and_no_closes_means_flat(name):
    strategy = get_strategy(name)
    defaults = validate_params(strategy, None)
    assert target_positions(name, RISING, []) == []
    assert target_positions(name, [], []) == []
    assert target_positions(name, [], [defaults, defaults]) == [0, 0]
    assert strategy.target_position([], defaults) == 0


def test_one_bot():
    params = {"fast": 3, "slow": 10}
    assert target_positions("sma_cross", RISING, [params]) == [1]
    assert target_positions("ema_cross", RISING, [params]) == [1]
    assert target_positions("sma_cross", RISING[::-1], [params]) == [0]
    assert target_positions("sma_cross", [1, 2, 3, 4, 5], [{"fast": 2, "slow": 4}]) == [1]  # int closes read as floats


@pytest.mark.parametrize(("name", "params", "needs"), [
    ("sma_cross", {"fast": 3, "slow": 10}, 10),
    ("ema_cross", {"fast": 3, "slow": 10}, 10),
    ("bollinger_breakout", {"window": 10, "width": "0.5"}, 10),
])
def test_warm_up_is_flat_until_the_history_is_long_enough(name, params, needs):
    climbing = [101.0 + i for i in range(needs)]
    assert target_positions(name, climbing[: needs - 1], [params]) == [0]  # one close short: no decision yet
    assert target_positions(name, climbing, [params]) == [1]  # enough: long


def test_rsi_warm_up_needs_period_plus_one_closes():
    falling = [100.0 - i for i in range(20)]
    params = {"period": 14, "oversold": 30, "overbought": 70}
    assert target_positions("rsi_reversion", falling[:14], [params]) == [0]  # 13 changes: no RSI yet
    assert target_positions("rsi_reversion", falling[:15], [params]) == [1]  # RSI 0 < 30: enter
    flat = [100.0] * 40  # RSI exactly 50: neither below 50 nor above 50
    assert target_positions("rsi_reversion", flat, [{"period": 14, "oversold": 50, "overbought": 51}]) == [0]


def test_a_fleet_mixing_how_params_are_written_decides_like_the_validated_form():
    closes = (100 * np.exp(np.cumsum(np.random.default_rng(5).normal(0, 0.01, 240)))).tolist()
    written = [{"window": 20, "width": "2"}, {"window": Decimal(20), "width": Decimal("2.0")},
               {"window": 20, "width": "0.5"}, {"window": Decimal(7), "width": Decimal("0.5")}]
    validated = [validate_params(get_strategy("bollinger_breakout"), params) for params in written]
    assert target_positions("bollinger_breakout", closes, written) == target_positions(
        "bollinger_breakout", closes, validated)


def test_an_unknown_family_is_refused():
    with pytest.raises(Unprocessable, match="unknown strategy"):
        target_positions("martingale", RISING, [{}])


# --- the helpers the batch is built from -----------------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(enter=st.lists(st.booleans(), min_size=1, max_size=50), data=st.data())
def test_latch_state_at_the_end_is_the_last_entry_after_the_last_exit(enter, data):
    exit_ = data.draw(st.lists(st.booleans(), min_size=len(enter), max_size=len(enter)))
    enter, exit_ = np.array(enter), np.array(exit_)
    assert latch(enter, exit_)[-1] == int(last_true(enter) > last_true(exit_))
    assert last_true(np.zeros((2, 0), bool)).tolist() == [-1, -1]


def test_end_only_indicators_are_the_last_value_of_the_series_bit_for_bit():
    closes = 1_650_000 * np.exp(np.cumsum(np.random.default_rng(6).normal(0, 0.001, 240)))
    windows = np.array([2, 5, 5, 200, 240, 241, 500])
    series = rolling_means(closes, set(windows.tolist()))
    ends = rolling_means_at_end(closes, windows)
    assert np.isnan(ends[windows > 240]).all()
    assert [series[w][-1] for w in windows[:5].tolist()] == ends[:5].tolist()  # ==, not approximately
    bands = Bands(closes)
    for window in (5, 20, 200):
        mean, std = rolling_mean_std(closes, window)
        at = bands.at(np.full(3, window), np.array([window, 220, 240]))
        assert at[0].tolist() == mean[[window - 1, 219, 239]].tolist()
        assert at[1].tolist() == std[[window - 1, 219, 239]].tolist()
        assert bands.mean_at(window, np.array([240])).tolist() == [mean[-1]]


def test_distinct_is_np_unique_with_inverse():
    for values in (np.array([7]), np.array([26, 12]), np.array([3, 3, 1, 9, 1]), np.arange(40) % 7,
                   np.array([2.5, 0.5, 2.5])):
        unique, inverse = distinct(values)
        expected_unique, expected_inverse = np.unique(values, return_inverse=True)
        assert unique.tolist() == expected_unique.tolist() and inverse.tolist() == expected_inverse.tolist()
