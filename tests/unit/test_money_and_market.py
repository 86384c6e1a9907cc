from decimal import Decimal as D

import pytest

from botfleet.domain import market as sim
from botfleet.domain.exchanges import EXCHANGES, get_exchange
from botfleet.domain.money import money_str, quantize_down, quantize_price, to_decimal
from botfleet.errors import Unprocessable


def test_quantize_down_never_rounds_up():
    assert quantize_down(D("0.123456789"), D("0.0001")) == D("0.1234")
    assert quantize_down(D("5"), D("0.5")) == D("5")


def test_quantize_price_to_tick():
    assert quantize_price(D("1650000.6"), D("1")) == D("1650001")
    assert quantize_price(D("18.1234"), D("0.001")) == D("18.123")


@pytest.mark.parametrize(("value", "text"), [(D("1E+3"), "1000"), (D("12.500"), "12.5"), (D("-0"), "0")])
def test_money_str_is_plain_decimal(value, text):
    assert money_str(value) == text


@pytest.mark.parametrize("bad", ["abc", "NaN", "Infinity", ""])
def test_to_decimal_rejects_non_numbers_naming_the_field(bad):
    with pytest.raises(Unprocessable, match="capital"):
        to_decimal(bad, "capital")


@pytest.mark.parametrize(("exchange_id", "symbol"), [(e.id, s) for e in EXCHANGES.values() for s in e.markets])
def test_simulated_books_are_sorted_quantized_and_thicken_away_from_touch(exchange_id, symbol):
    exchange = get_exchange(exchange_id)
    rules, spec = exchange.rules(symbol), exchange.simulation(symbol)
    state = sim.initial_state("seed", spec, rules)
    book = sim.order_book(state, "seed", spec, rules)
    bids, asks = [lvl.price for lvl in book.bids], [lvl.price for lvl in book.asks]
    assert bids == sorted(bids, reverse=True) and asks == sorted(asks)
    assert bids[0] < asks[0]
    assert all(p % rules.price_tick == 0 for p in bids + asks)
    assert all(lvl.amount % rules.amount_step == 0 and lvl.amount > 0 for lvl in book.bids + book.asks)
    assert sum(lvl.amount for lvl in book.asks[-3:]) > sum(lvl.amount for lvl in book.asks[:3])
    spread_bps = (asks[0] - bids[0]) / book.mid * 10_000
    assert spread_bps < spec.spread_bps * 3 + 1


def test_price_process_is_deterministic_and_realistic():
    exchange = get_exchange("binance")
    rules, spec = exchange.rules("BTC/USDT"), exchange.simulation("BTC/USDT")
    a = sim.initial_state("s", spec, rules)
    b = sim.initial_state("s", spec, rules)
    assert a == b
    assert len(a.closes) == sim.HISTORY_LENGTH
    for _ in range(1000):
        a = sim.advance(a, "s", spec, rules)
    # a day of one-minute steps at ~60 %/yr volatility stays within a sane band of the start level
    assert D("0.8") < a.price / spec.start_price < D("1.25")
    assert a.seq == 1000 and len(a.closes) == sim.HISTORY_LENGTH


def test_market_move_shocks_the_price_and_counts_as_a_step():
    exchange = get_exchange("luno")
    rules, spec = exchange.rules("BTC/ZAR"), exchange.simulation("BTC/ZAR")
    state = sim.initial_state("s", spec, rules)
    moved = sim.move(state, D("-25"), rules)
    assert moved.price == quantize_price(state.price * D("0.75"), rules.price_tick)
    assert moved.closes[-1] == moved.price and moved.seq == state.seq + 1
