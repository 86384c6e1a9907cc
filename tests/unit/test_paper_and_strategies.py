from dataclasses import replace
from decimal import Decimal as D

import pytest

from botfleet.domain.bots import Bot, check_capital, next_status
from botfleet.domain.exchanges import get_exchange
from botfleet.domain.market import BookLevel, OrderBook
from botfleet.domain.paper import OrderRejected, market_buy_with_quote, market_sell
from botfleet.domain.strategies import get_strategy, validate_params
from botfleet.domain.trading import apply_fill, decide
from botfleet.errors import Conflict, Unprocessable

BOOK = OrderBook(
    bids=(BookLevel(D("99"), D("1")), BookLevel(D("98"), D("2"))),
    asks=(BookLevel(D("101"), D("1")), BookLevel(D("102"), D("2")), BookLevel(D("105"), D("10"))),
)


def _rules(min_amount="0.001", min_notional="5", step="0.001"):
    from botfleet.domain.exchanges import SymbolRules

    return SymbolRules("BTC/USDT", D("1"), D(step), D(min_amount), D(min_notional))


def test_market_buy_walks_the_book_and_pays_taker_fee():
    binance = get_exchange("binance")
    # 2.5 BTC: 1 @ 101 + 1.5 @ 102 = 254; fee 0.1 % = 0.254; budget covers it exactly
    fill = market_buy_with_quote(D("254.254"), BOOK, binance, _rules())
    assert fill.amount == D("2.5")
    assert fill.cost == D("254")
    assert fill.fee == D("0.254")
    assert fill.price == D("101.6")
    assert fill.slippage_bps == D("160.00")  # (101.6 - 100) / 100 * 1e4 against mid 100


def test_market_sell_walks_bids_with_slippage_against_mid():
    fill = market_sell(D("2"), BOOK, get_exchange("binance"), _rules())
    assert fill.cost == D("99") + D("98")
    assert fill.slippage_bps == D("150.00")  # avg 98.5 vs mid 100


def test_orders_below_exchange_minimums_are_rejected_naming_the_rule():
    with pytest.raises(OrderRejected) as small:
        market_buy_with_quote(D("4"), BOOK, get_exchange("binance"), _rules())
    assert small.value.rule == "min_notional"
    with pytest.raises(OrderRejected) as tiny:
        market_sell(D("0.0005"), BOOK, get_exchange("binance"), _rules(min_amount="0.001", step="0.0001"))
    assert tiny.value.rule == "min_amount"


def test_params_validation_names_the_field():
    sma = get_strategy("sma_cross")
    assert validate_params(sma, None) == {"fast": 5, "slow": 20}
    with pytest.raises(Unprocessable, match=r"params.fast: must be smaller"):
        validate_params(sma, {"fast": 30, "slow": 20})
    with pytest.raises(Unprocessable, match=r"params.slow: must be between"):
        validate_params(sma, {"slow": 1000})
    with pytest.raises(Unprocessable, match=r"params.bogus"):
        validate_params(sma, {"bogus": 1})
    with pytest.raises(Unprocessable, match=r"params.fast: must be an integer"):
        validate_params(sma, {"fast": "2.5"})


def test_sma_cross_is_long_in_an_uptrend_and_flat_in_a_downtrend():
    sma = get_strategy("sma_cross")
    params = {"fast": 2, "slow": 4}
    assert sma.target_position([1, 2, 3, 4, 5], params) == 1
    assert sma.target_position([5, 4, 3, 2, 1], params) == 0
    assert sma.target_position([1, 2], params) == 0  # not enough history: stay flat


def _bot(**changes):
    bot = Bot(id="b", owner_id="u", name="n", exchange="binance", symbol="BTC/USDT", strategy="sma_cross",
              params={"fast": 2, "slow": 4}, mode="paper", capital=D("1000"), cash=D("1000"), position=D(0),
              created_at="t", updated_at="t")
    return replace(bot, **changes)


def test_decide_buys_all_in_then_sells_everything():
    binance = get_exchange("binance")
    rules = binance.rules("BTC/USDT")
    book = OrderBook(bids=(BookLevel(D("99.99"), D("100")),), asks=(BookLevel(D("100.01"), D("100")),))
    buy = decide(_bot(), [1, 2, 3, 4, 5], book).fill
    assert buy.side == "buy"
    after = apply_fill(_bot(), buy)
    assert after.cash >= 0 and after.cash < D("0.2")  # all-in: leftover is rounding dust only
    assert after.position % rules.amount_step == 0
    sell = decide(after, [5, 4, 3, 2, 1], book).fill
    assert sell.side == "sell" and sell.amount == after.position
    flat = apply_fill(after, sell)
    assert flat.position == 0
    assert flat.cash < D("1000")  # two taker fees and the spread were paid


def test_lifecycle_transitions_and_conflicts():
    assert next_status(_bot(status="running"), "pause") == "paused"
    assert next_status(_bot(status="paused"), "resume") == "running"
    assert next_status(_bot(status="stopped"), "start") == "running"
    with pytest.raises(Conflict):
        next_status(_bot(status="running"), "resume")
    with pytest.raises(Conflict):
        next_status(_bot(status="stopped"), "pause")


def test_capital_below_min_notional_names_it():
    with pytest.raises(Unprocessable, match="min notional") as error:
        check_capital("luno", "BTC/ZAR", D("9"))
    assert error.value.code == "below_min_notional"
    check_capital("luno", "BTC/ZAR", D("11"))
