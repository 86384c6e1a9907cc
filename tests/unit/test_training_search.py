"""The parameter search's results on markets where nothing can be scored: a search that finds no candidate says
so (score None) instead of ranking sentinels, and every result is storable as DynamoDB numbers."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from botfleet.adapters.dynamo.table import storable, to_dynamo
from botfleet.domain.training import evaluate, objective, reduce_chunks, search_space


def _result(trades, total_return, sharpe) -> SimpleNamespace:
    """The three columns of a BacktestResult the objective reads."""
    return SimpleNamespace(trades=np.array(trades), total_return=np.array(total_return, dtype=float),
                           sharpe=np.array(sharpe, dtype=float))


def test_unscorable_sets_score_minus_infinity_not_the_lowest_float():
    scores = objective(_result(trades=[10, 1, 10, 10], total_return=[0.1, 0.1, -1.0, 0.1],
                               sharpe=[1.5, 2.0, 3.0, np.nan]))
    assert scores[0] == 1.5
    assert np.isneginf(scores[1:]).all()  # too few trades, ruined, no Sharpe: never a finite number to rank


@pytest.mark.parametrize("closes", [np.full(600, 100.0), 100.0 + np.arange(600) * 0.01],
                         ids=["flat", "steady-climb"])
def test_a_market_without_a_scorable_set_finds_no_winner_and_stores(closes):
    sets = search_space("sma_cross", budget=30, seed="no-winner")
    results = evaluate("sma_cross", closes, sets, "luno", "BTC/ZAR", 1000.0)
    assert results and all(result["score"] is None for result in results)
    assert reduce_chunks([results]) is None
    to_dynamo({"results": storable(results)})  # as the run's results are written: no number out of DynamoDB's range
