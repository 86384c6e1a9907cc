from dataclasses import replace
from decimal import Decimal as D

import pytest

from botfleet.domain import market as sim
from botfleet.domain.bots import Bot, check_capital, next_status
from botfleet.domain.exchanges import EXCHANGES, SymbolRules, get_exchange
from botfleet.domain.ledger import Ledger
from botfleet.domain.market import BookLevel, OrderBook
from botfleet.domain.paper import (
    OrderRejected,
    buy_amount_for_budget,
    market_order,
    match_resting,
    take_up_to_limit,
)
from botfleet.domain.strategies import get_strategy, validate_params
from botfleet.errors import Conflict, Unprocessable

BOOK = OrderBook(
    bids=(BookLevel(D("99"), D("1")), BookLevel(D("98"), D("2"))),
    asks=(BookLevel(D("101"), D("1")), BookLevel(D("102"), D("2")), BookLevel(D("105"), D("10"))),
)
RULES = SymbolRules("BTC/USDT", D("1"), D("0.001"), D("0.001"), D("5"))


def test_market_buy_walks_the_book_level_by_level():
    fill = market_order("buy", D("2.5"), BOOK, get_exchange("kucoin"), RULES)
    # 1 @ 101 + 1.5 @ 102 = 254 -> average 101.6 against mid 100: 160 bps of slippage
    assert (fill.amount, fill.cost, fill.price, fill.slippage_bps) == (D("2.5"), D("254"), D("101.6"), D("160.00"))
    assert (fill.fee, fill.fee_currency, fill.maker) == (D("0.254"), "USDT", False)


def test_market_sell_walks_the_bids():
    fill = market_order("sell", D("2"), BOOK, get_exchange("kucoin"), RULES)
    assert fill.cost == D("197") and fill.slippage_bps == D("150.00")  # average 98.5 vs mid 100


def test_an_order_larger_than_the_book_fills_what_the_book_holds():
    fill = market_order("sell", D("50"), BOOK, get_exchange("kucoin"), RULES)
    assert fill.amount == D("3")


def test_budget_sizing_leaves_room_for_a_quote_fee():
    kucoin = get_exchange("kucoin")  # fee in quote: the budget must cover cost + fee
    amount = buy_amount_for_budget(D("254.254"), BOOK, kucoin, RULES)
    assert amount == D("2.5")
    binance = get_exchange("binance")  # fee in base: the whole budget buys coin, the fee comes out of it
    assert buy_amount_for_budget(D("254"), BOOK, binance, RULES) == D("2.5")


def test_marketable_limit_takes_up_to_its_price_only():
    fill = take_up_to_limit("buy", D("5"), D("102"), BOOK, get_exchange("kucoin"), RULES)
    assert fill.amount == D("3") and fill.cost == D("305")  # 1 @ 101 + 2 @ 102, nothing at 105
    assert take_up_to_limit("buy", D("1"), D("100"), BOOK, get_exchange("kucoin"), RULES) is None


def test_resting_limit_fills_at_its_price_partially_by_crossed_volume():
    fill = match_resting("buy", D("5"), D("102"), BOOK, get_exchange("kucoin"), RULES)
    assert (fill.amount, fill.cost, fill.maker) == (D("3"), D("306"), True)  # at the limit, maker fee
    assert fill.fee == D("0.306")
    assert match_resting("sell", D("1"), D("100"), BOOK, get_exchange("kucoin"), RULES) is None


@pytest.mark.parametrize(("exchange_id", "symbol"), [(e.id, s) for e in EXCHANGES.values() for s in e.markets])
def test_each_exchange_rejects_below_its_own_minimums_naming_the_rule(exchange_id, symbol):
    exchange = get_exchange(exchange_id)
    rules, spec = exchange.rules(symbol), exchange.simulation(symbol)
    book = sim.order_book(sim.initial_state("s", spec, rules), "s", spec, rules)
    with pytest.raises(OrderRejected) as tiny:
        market_order("buy", rules.min_amount - rules.amount_step, book, exchange, rules)
    assert tiny.value.rule in ("min_amount", "min_notional")
    below_notional = (rules.min_notional / book.mid * D("0.9"))
    below_notional = (below_notional // rules.amount_step) * rules.amount_step
    if below_notional >= rules.min_amount:
        with pytest.raises(OrderRejected) as small:
            market_order("buy", below_notional, book, exchange, rules)
        assert small.value.rule == "min_notional"
    if rules.amount_step < D(1):
        with pytest.raises(OrderRejected) as precision:
            market_order("buy", rules.min_amount * 50 + rules.amount_step / 2, book, exchange, rules)
        assert precision.value.rule == "amount_precision"


# Golden slippage per exchange: a 2x-top-of-book market buy on the simulator's first book (seed "golden").
@pytest.mark.parametrize(("exchange_id", "symbol"), [(e.id, s) for e in EXCHANGES.values() for s in e.markets])
def test_golden_slippage_grows_with_size_and_never_beats_mid(exchange_id, symbol):
    exchange = get_exchange(exchange_id)
    rules, spec = exchange.rules(symbol), exchange.simulation(symbol)
    book = sim.order_book(sim.initial_state("golden", spec, rules), "golden", spec, rules)
    small = market_order("buy", max(rules.min_amount, (rules.min_notional * 2 / book.mid // rules.amount_step)
                                    * rules.amount_step), book, exchange, rules)
    big = market_order("buy", (book.asks[0].amount * 4 // rules.amount_step) * rules.amount_step, book, exchange,
                       rules)
    assert D(0) < small.slippage_bps <= spec.spread_bps  # half the spread, give or take the tick
    assert big.slippage_bps > small.slippage_bps  # size costs: the order walked deeper levels


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
              params={"fast": 2, "slow": 4}, mode="paper", capital=D("1000"),
              ledger=Ledger.open("BTC", "USDT", D("1000")), created_at="t", updated_at="t")
    return replace(bot, **changes)


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


def test_capital_that_cannot_buy_the_minimum_amount_at_the_price_names_it():
    # Luno's BTC/ZAR minimum order is 0.0005 BTC: R 825 at R 1,650,000 (R 829.95 with the 0.6 % fee), so R 500
    # clears the R 10 notional and would never trade.
    with pytest.raises(Unprocessable, match=r"0.0005 BTC at 1650000 costs 829.95 ZAR with the fee") as error:
        check_capital("luno", "BTC/ZAR", D("500"), D("1650000"))
    assert error.value.code == "below_min_amount"
    check_capital("luno", "BTC/ZAR", D("829.95"), D("1650000"))
    check_capital("luno", "BTC/ZAR", D("500"))  # no price known: only the notional is checked
