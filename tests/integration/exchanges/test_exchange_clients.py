"""Every exchange through the one port: signing, orders, fills, errors and reconciliation."""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from botfleet.adapters.exchanges import make_client
from botfleet.domain.money import quantize_down
from botfleet.domain.orders import (
    ExchangeAuthError,
    ExchangeInsufficientFunds,
    ExchangeOrderRejected,
    ExchangeRateLimited,
    ExchangeUnavailable,
    OrderRequest,
)
from tests.integration.exchanges.conftest import LIMIT_VENUES, ORDER_PATH, SYMBOL, TIMEOUT_S, fast
from tests.support.mock_exchanges import start_mock

D = Decimal


def market(cid: str, symbol: str, side: str, amount: str = "0.01", **kw) -> OrderRequest:
    return OrderRequest(cid, symbol, side, "market", D(amount), **kw)


def test_signed_requests_are_accepted(mock, client):
    client.test_connection()
    balances = client.fetch_balance()
    assert balances["BTC"].free == D("0.5") and isinstance(balances["BTC"].free, Decimal)
    assert balances["BTC"].used == 0
    assert mock.requests, "the client reached the mock"


def test_a_wrong_secret_is_refused(mock):
    bad = fast(make_client(mock.exchange_id, mock.wrong_credentials(), base_url=mock.url, timeout_s=TIMEOUT_S))
    with pytest.raises(ExchangeAuthError):
        bad.test_connection()
    with pytest.raises(ExchangeAuthError):
        bad.create_order(market("cid-bad", SYMBOL[mock.exchange_id], "buy"))
    assert not mock.venue.orders


def test_order_book_is_decimal_sorted_and_limited(client, symbol):
    book = client.fetch_order_book(symbol, depth=2 if client.exchange_id == "ovex" else 5)
    assert book.bids and book.asks
    assert all(isinstance(level.price, Decimal) and isinstance(level.amount, Decimal)
               for level in book.bids + book.asks)
    assert [lv.price for lv in book.bids] == sorted((lv.price for lv in book.bids), reverse=True)
    assert [lv.price for lv in book.asks] == sorted(lv.price for lv in book.asks)
    assert book.bids[0].price < book.asks[0].price
    assert len(book.bids) <= 5 and len(book.asks) <= 5


def test_market_buy_and_sell_round_trip(mock, client, symbol):
    base, quote = symbol.split("/")
    before = client.fetch_balance()

    bought = client.create_order(market("rt-buy", symbol, "buy"))
    sold = client.create_order(market("rt-sell", symbol, "sell"))

    for status, cid in ((bought, "rt-buy"), (sold, "rt-sell")):
        venue_order = mock.venue.orders[cid]
        assert status.status == "closed" and status.client_order_id == cid
        assert status.filled == D("0.01") and status.exchange_order_id
        assert isinstance(status.average_price, Decimal)
        assert status.average_price == venue_order.average  # parsed exactly, no float drift
        assert sum(fill.amount for fill in status.fills) == status.filled
        assert sum(fill.fee for fill in status.fills) == venue_order.fee
        assert all(isinstance(fill.fee, Decimal) for fill in status.fills)
    assert bought.side == "buy" and sold.side == "sell"
    assert bought.average_price > sold.average_price  # bought at the ask, sold at the bid

    after = client.fetch_balance()
    assert after[quote].free < before[quote].free  # the spread and fees cost something
    assert after[base].free <= before[base].free
    assert client.fetch_order(symbol, "rt-buy") == bought  # found again by client order id, same parse


def test_market_buy_sized_in_quote(mock, client, symbol):
    status = client.create_order(OrderRequest("q-buy", symbol, "buy", "market", D(0), quote_amount=D("2000.129")))
    assert status.status == "closed" and status.filled > 0
    spent = status.filled * status.average_price
    assert spent <= D("2000.12") + D("0.01")  # rounded down to cents, never more than asked


def test_amounts_are_quantized_to_the_exchange_step_before_sending(mock, client, symbol):
    client.create_order(market("q-step", symbol, "sell", "0.0123456789123"))
    step = {"binance": "0.00001", "kucoin": "0.00000001", "luno": "0.0001", "valr": "0.00000001",
            "ovex": "0.000001"}[mock.exchange_id]
    assert mock.venue.orders["q-step"].filled == quantize_down(D("0.0123456789123"), D(step))


def test_below_minimum_is_rejected_without_a_request(mock, client, symbol):
    sent = len(mock.requests)
    with pytest.raises(ExchangeOrderRejected) as caught:
        client.create_order(market("tiny", symbol, "buy", "0.000000001"))
    assert caught.value.rule == "min_amount"
    assert len(mock.requests) == sent


def test_unknown_order_is_none_so_it_is_safe_to_send(client, symbol):
    assert client.fetch_order(symbol, "never-sent") is None


@pytest.mark.parametrize("exchange_id", LIMIT_VENUES)
def test_limit_order_create_fetch_cancel(mock, client, symbol):
    quote = symbol.split("/")[1]
    price = client.fetch_order_book(symbol, 5).bids[0].price * D("0.9")
    created = client.create_order(OrderRequest("lim-1", symbol, "buy", "limit", D("0.01"), price=price))
    assert created.status == "open" and created.type == "limit" and created.filled == 0
    assert client.fetch_balance()[quote].used > 0  # funds reserved on the exchange

    fetched = client.fetch_order(symbol, "lim-1")
    assert fetched.status == "open" and fetched.exchange_order_id == created.exchange_order_id
    assert fetched.amount == D("0.01")

    canceled = client.cancel_order(symbol, "lim-1")
    assert canceled.status == "canceled" and canceled.filled == 0
    assert client.fetch_balance()[quote].used == 0


@pytest.mark.parametrize("exchange_id", LIMIT_VENUES)
def test_limit_price_is_put_on_the_tick(mock, client, symbol):
    client.create_order(OrderRequest("lim-tick", symbol, "buy", "limit", D("0.01"), price=D("50000.123456")))
    tick = {"binance": "0.01", "kucoin": "0.1", "luno": "1", "valr": "1"}[mock.exchange_id]
    assert mock.venue.orders["lim-tick"].price == D("50000.123456").quantize(D(tick))


@pytest.mark.parametrize("exchange_id", ["ovex"])
def test_ovex_refuses_limit_orders_with_a_rule(mock, client, symbol):
    with pytest.raises(ExchangeOrderRejected) as caught:
        client.create_order(OrderRequest("lim-ovex", symbol, "buy", "limit", D("0.01"), price=D("1000000")))
    assert caught.value.rule == "order_type"
    assert not mock.venue.orders


def test_insufficient_funds(exchange_id):
    symbol = SYMBOL[exchange_id]
    with start_mock(exchange_id, balances={"BTC": "0.001", "USDT": "10", "ZAR": "100"}) as poor:
        client = fast(make_client(exchange_id, poor.credentials, base_url=poor.url, timeout_s=TIMEOUT_S))
        with pytest.raises(ExchangeInsufficientFunds):
            client.create_order(market("too-big", symbol, "buy", "0.5"))
        with pytest.raises(ExchangeInsufficientFunds):
            client.create_order(market("too-big-sell", symbol, "sell", "0.5"))


def test_rate_limit_429(mock, client):
    mock.fail("rate_limit")
    with pytest.raises(ExchangeRateLimited) as caught:
        client.fetch_balance()
    assert caught.value.retryable
    client.fetch_balance()  # the next call goes through


def test_server_error_is_unavailable(mock, client):
    mock.fail("server_error")
    with pytest.raises(ExchangeUnavailable):
        client.fetch_balance()


def test_a_hang_is_unavailable_within_the_timeout(mock, client):
    mock.fail("hang", seconds=5)
    started = time.monotonic()
    with pytest.raises(ExchangeUnavailable):
        client.fetch_balance()
    assert time.monotonic() - started < TIMEOUT_S + 1.0


def test_timeout_after_the_exchange_accepted_the_order_is_reconciled(mock, client, symbol):
    """The reply to the order is lost: the outcome is unknown, reconciliation finds the order, and re-sending
    the same client order id does not trade twice."""
    mock.fail("hang_after", method="POST", path=ORDER_PATH[mock.exchange_id], seconds=5)
    with pytest.raises(ExchangeUnavailable):
        client.create_order(market("lost-reply", symbol, "buy"))

    found = client.fetch_order(symbol, "lost-reply")
    assert found is not None and found.status == "closed" and found.filled == D("0.01")

    base_after_first = client.fetch_balance()[symbol.split("/")[0]].free
    resent = client.create_order(market("lost-reply", symbol, "buy"))
    assert resent.exchange_order_id == found.exchange_order_id
    assert len(mock.venue.orders) == 1
    assert client.fetch_balance()[symbol.split("/")[0]].free == base_after_first


def test_credentials_never_show_in_a_repr(mock, client):
    assert mock.api_secret not in repr(client)


# -- the generic ccxt client: what a sixth exchange that ccxt serves as is gets ------------------------------------

@pytest.mark.parametrize("exchange_id", ["binance"])
def test_the_generic_ccxt_client_trades_through_the_unified_api_alone(mock, symbol):
    """`CcxtExchangeClient` without a venue subclass (what a new ccxt exchange's descriptor names with
    CCXT_CLIENT) places, finds by client order id and cancels through ccxt's unified calls only. The one thing
    borrowed from BinanceClient is the market info ccxt's binance class checks order types against."""
    from botfleet.adapters.exchanges.ccxt_client import CcxtExchangeClient
    from botfleet.adapters.exchanges.ccxt_venues import BinanceClient

    unified = type("UnifiedOnly", (CcxtExchangeClient,), {"venue_info": BinanceClient.venue_info})
    client = fast(unified("binance", mock.credentials, base_url=mock.url, timeout_s=TIMEOUT_S))
    bought = client.create_order(OrderRequest("generic-mkt", symbol, "buy", "market", D("0.01")))
    assert bought.status == "closed" and bought.filled == D("0.01") and bought.average_price > 0
    assert mock.venue.orders["generic-mkt"].client_order_id == "generic-mkt"  # our id travelled as the venue's

    price = client.fetch_order_book(symbol, 5).bids[0].price * D("0.9")
    resting = client.create_order(OrderRequest("generic-lim", symbol, "buy", "limit", D("0.01"), price=price))
    assert resting.status == "open" and resting.exchange_order_id == mock.venue.orders["generic-lim"].id
    assert client.fetch_order(symbol, "generic-mkt").status == "closed"  # found among the closed
    assert client.fetch_order(symbol, "never-sent") is None

    canceled = client.cancel_order(symbol, "generic-lim")
    assert canceled.status == "canceled" and mock.venue.orders["generic-lim"].status == "canceled"
