"""Golden fee arithmetic per exchange, and the fee table checked against its named source (ccxt describe())."""

from decimal import Decimal as D

import pytest

from botfleet.domain.exchanges import EXCHANGES, get_exchange


@pytest.mark.parametrize("exchange_id", ["binance", "kucoin", "luno"])
def test_fee_table_matches_ccxt_describe(exchange_id):
    ccxt = pytest.importorskip("ccxt")
    trading = getattr(ccxt, exchange_id)().describe()["fees"]["trading"]
    exchange = get_exchange(exchange_id)
    assert exchange.maker_fee == D(str(trading["maker"]))
    assert exchange.taker_fee == D(str(trading["taker"]))


# (exchange, side, amount, price, maker) -> (fee, currency)
GOLDEN = [
    ("binance", "buy", "0.01", "90000", False, "0.00001", "BTC"),  # received asset on a buy
    ("binance", "sell", "0.01", "90000", False, "0.9", "USDT"),
    ("kucoin", "buy", "0.01", "90000", False, "0.9", "USDT"),  # always quote
    ("kucoin", "sell", "0.01", "90000", True, "0.9", "USDT"),
    ("luno", "buy", "0.02", "1600000", False, "0.00012", "BTC"),  # 0.6 % taker, in BTC
    ("luno", "sell", "0.02", "1600000", True, "128", "ZAR"),  # 0.4 % maker, in ZAR
    ("valr", "buy", "0.02", "1600000", False, "0.00002", "BTC"),
    ("valr", "sell", "0.02", "1600000", True, "0", "ZAR"),  # zero maker fee
    ("ovex", "buy", "1000", "18.1", False, "36.2", "ZAR"),  # 0.2 % on the quote value
]


@pytest.mark.parametrize(("exchange_id", "side", "amount", "price", "maker", "fee", "currency"), GOLDEN)
def test_golden_fees(exchange_id, side, amount, price, maker, fee, currency):
    exchange = get_exchange(exchange_id)
    symbol = next(s for s in exchange.markets if s.startswith(currency) or s.endswith(currency))
    rules = exchange.rules(symbol)
    assert exchange.fee(side, D(amount), D(price), rules, maker=maker) == (D(fee), currency)


def test_every_exchange_names_its_fee_source_and_rule():
    for exchange in EXCHANGES.values():
        assert exchange.fee_source and exchange.fee_currency_rule in ("received", "quote")
