"""Turning an OrderRequest into what the exchange accepts: the same quantization and rules paper trading uses."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from botfleet.adapters.exchanges.ccxt_markets import ccxt_markets, market_id
from botfleet.adapters.exchanges.precision import book_from_levels, dec, plain, prepare_order
from botfleet.domain.exchanges import EXCHANGES, get_rules
from botfleet.domain.orders import ExchangeOrderRejected, OrderRequest

D = Decimal


def order(amount="0.01", *, symbol="BTC/USDT", side="buy", type_="market", price=None, quote=None):
    return OrderRequest("cid", symbol, side, type_, D(amount), D(price) if price else None,
                        D(quote) if quote else None)


def test_amount_rounds_down_to_the_step_and_price_to_the_tick():
    prepared = prepare_order("binance", order("0.0123456789", type_="limit", price="91234.5678"))
    assert prepared.amount == D("0.01234") and prepared.price == D("91234.57")
    assert prepared.quote_amount is None


def test_quote_sized_buy_rounds_down_to_cents():
    prepared = prepare_order("valr", order("0", symbol="BTC/ZAR", quote="500.999"))
    assert prepared.quote_amount == D("500.99") and prepared.amount == 0


@pytest.mark.parametrize(("request_", "rule"), [
    (order("0.000001"), "min_amount"),
    (order("0.0001", type_="limit", price="10"), "min_notional"),
    (order(quote="1", symbol="BTC/ZAR"), "min_notional"),
    (order(symbol="DOGE/USDT"), "unknown_symbol"),
    (order(type_="stop"), "order_type"),
    (order(side="hold"), "side"),
    (order(type_="limit"), "price"),
])
def test_rules_are_refused_with_their_names(request_, rule):
    exchange = "valr" if request_.symbol == "BTC/ZAR" else "binance"
    with pytest.raises(ExchangeOrderRejected) as caught:
        prepare_order(exchange, request_)
    assert caught.value.rule == rule and caught.value.kind == "order_rejected"


@given(st.decimals(min_value=D("0.00001"), max_value=D("50"), places=12))
def test_prepared_amount_never_exceeds_the_request_and_sits_on_the_step(amount):
    rules = get_rules("kucoin", "BTC/USDT")
    try:
        prepared = prepare_order("kucoin", order(str(amount)))
    except ExchangeOrderRejected:
        assert amount < rules.min_amount
        return
    assert prepared.amount <= amount and prepared.amount % rules.amount_step == 0
    assert amount - prepared.amount < rules.amount_step


def test_ccxt_rounds_exactly_like_the_catalogue():
    """set_markets from the catalogue: ccxt's own precision functions agree with paper's quantization."""
    import ccxt

    for exchange_id in ("binance", "kucoin", "luno"):
        exchange = getattr(ccxt, exchange_id)()
        exchange.set_markets(ccxt_markets(exchange_id))
        for symbol in EXCHANGES[exchange_id].markets:
            rules = get_rules(exchange_id, symbol)
            prepared = prepare_order(exchange_id, order("1.23456789123", symbol=symbol, type_="limit",
                                                        price=str(rules.price_tick * 1234567 + rules.price_tick / 3)))
            assert exchange.amount_to_precision(symbol, plain(prepared.amount)) == plain(prepared.amount)
            assert D(exchange.price_to_precision(symbol, plain(prepared.price))) == prepared.price
            assert exchange.market(symbol)["id"] == market_id(exchange_id, symbol)


def test_market_ids_follow_each_venue():
    assert market_id("binance", "BTC/USDT") == "BTCUSDT"
    assert market_id("kucoin", "BTC/USDT") == "BTC-USDT"
    assert market_id("luno", "BTC/ZAR") == "XBTZAR"


def test_decimal_helpers():
    assert dec(0.1) == D("0.1") and dec("1e-8") == D("0.00000001") and dec(None) is None and dec("") is None
    assert plain(D("1E+3")) == "1000" and plain(D("0.00001000")) == "0.00001" and plain(D("5")) == "5"


def test_book_from_levels_sorts_best_first_and_drops_empty_levels():
    book = book_from_levels([["99", "1"], ["100", "2"], ["98", "0"]], [[101.5, 1.0], [101.0, 3.0]], depth=5)
    assert [lv.price for lv in book.bids] == [D("100"), D("99")]
    assert [lv.price for lv in book.asks] == [D("101.0"), D("101.5")]
    assert book.mid == D("100.5")
