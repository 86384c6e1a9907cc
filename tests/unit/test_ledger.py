"""The ledger under random order sequences (hypothesis) and golden cases."""

from decimal import Decimal as D

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from botfleet.domain.ledger import Ledger

MONEY = st.decimals(min_value=D("0.01"), max_value=D("100000"), places=2)
PRICE = st.decimals(min_value=D("1"), max_value=D("200000"), places=2)
FRACTION = st.decimals(min_value=D("0.01"), max_value=D("1"), places=2)
FEE_RATE = st.sampled_from([D("0"), D("0.001"), D("0.002")])
FEE_IN = st.sampled_from(["quote", "base"])


def _buy(ledger, fraction, price, fee_rate, fee_in, reserved=False):
    budget = (ledger.quote_free if not reserved else ledger.quote_reserved) * fraction
    amount = (budget / (price * (1 + fee_rate))).quantize(D("0.00000001"), rounding="ROUND_DOWN")
    if amount <= 0:
        return ledger
    fee_currency = ledger.quote if fee_in == "quote" else ledger.base
    fee = (amount * price * fee_rate) if fee_in == "quote" else amount * fee_rate
    return ledger.fill("buy", amount, amount * price, fee, fee_currency, reserved=reserved)[0]


def _sell(ledger, fraction, price, fee_rate, fee_in):
    amount = (ledger.base_free * fraction).quantize(D("0.00000001"), rounding="ROUND_DOWN")
    if fee_in == "base":
        amount = (amount / (1 + fee_rate)).quantize(D("0.00000001"), rounding="ROUND_DOWN")
    if amount <= 0:
        return ledger
    fee_currency = ledger.quote if fee_in == "quote" else ledger.base
    fee = (amount * price * fee_rate) if fee_in == "quote" else amount * fee_rate
    return ledger.fill("sell", amount, amount * price, fee, fee_currency)[0]


OPERATION = st.one_of(
    st.tuples(st.just("buy"), FRACTION, PRICE, FEE_RATE, FEE_IN),
    st.tuples(st.just("sell"), FRACTION, PRICE, FEE_RATE, FEE_IN),
    st.tuples(st.just("deposit"), MONEY, PRICE),
    st.tuples(st.just("withdraw"), FRACTION, PRICE),
    st.tuples(st.just("reserve"), FRACTION, PRICE),
)


@settings(max_examples=300, deadline=None)
@given(capital=MONEY, operations=st.lists(OPERATION, max_size=30))
def test_random_sequences_reconcile_never_go_negative_and_release_reservations(capital, operations):
    ledger = Ledger.open("BTC", "ZAR", capital)
    mark = D("100")
    for operation in operations:
        kind = operation[0]
        if kind == "buy":
            ledger, mark = _buy(ledger, *operation[1:]), operation[2]
        elif kind == "sell":
            ledger, mark = _sell(ledger, *operation[1:]), operation[2]
        elif kind == "deposit":
            ledger = ledger.flow(operation[1], mark)
        elif kind == "withdraw":
            ledger = ledger.flow(-(ledger.quote_free * operation[1]).quantize(D("0.01"), rounding="ROUND_DOWN"), mark)
        elif kind == "reserve":
            # an order reserves funds, fills part of them as a maker, and the rest is released on cancel
            reserved = (ledger.quote_free * operation[1]).quantize(D("0.01"), rounding="ROUND_DOWN")
            ledger = ledger.reserve("ZAR", reserved)
            ledger = _buy(ledger, D("0.5"), operation[2], D("0"), "quote", reserved=True)
            ledger = ledger.release("ZAR", ledger.quote_reserved)
            mark = operation[2]
        assert ledger.violations(mark) == [], ledger
        assert min(ledger.quote_free, ledger.base_free, ledger.quote_reserved, ledger.base_reserved) >= 0
    assert ledger.quote_reserved == 0 and ledger.base_reserved == 0


@settings(max_examples=200, deadline=None)
@given(capital=MONEY, deposit=MONEY, price=PRICE, move=st.decimals(min_value=D("-0.5"), max_value=D("0.5"), places=3))
def test_flows_do_not_move_returns(capital, deposit, price, move):
    ledger = _buy(Ledger.open("BTC", "ZAR", capital), D("0.5"), price, D("0.001"), "quote")
    growth_before = ledger.growth(price)
    after_deposit = ledger.flow(deposit, price)
    assert abs(after_deposit.growth(price) - growth_before) < D("1e-20")
    moved = price * (1 + move)
    # the market moves the same for both: identical returns with or without the deposit of cash
    assert abs(after_deposit.growth(moved) / growth_before - 1) <= abs(ledger.growth(moved) / growth_before - 1) + D(
        "1e-20"
    )


def test_golden_round_trip_with_fee_in_base_like_binance():
    ledger = Ledger.open("BTC", "USDT", D("1000"))
    # buy 0.01 BTC at 50,000: pay 500 USDT, 0.1 % fee taken in BTC -> receive 0.00999 BTC
    ledger, _ = ledger.fill("buy", D("0.01"), D("500"), D("0.00001"), "BTC")
    assert (ledger.quote_free, ledger.base_free, ledger.cost_basis) == (D("500"), D("0.00999"), D("500"))
    # sell it all at 55,000 with the fee in USDT: 549.45 - 0.54945
    ledger, realized = ledger.fill("sell", D("0.00999"), D("549.45"), D("0.54945"), "USDT")
    assert realized == D("549.45") - D("0.54945") - D("500")
    assert ledger.base_total == 0 and ledger.cost_basis == 0
    assert ledger.equity(D("55000")) - ledger.contributed == realized
    assert ledger.violations(D("55000")) == []


def test_withdrawing_more_than_free_is_refused():
    ledger = Ledger.open("BTC", "ZAR", D("100")).reserve("ZAR", D("60"))
    with pytest.raises(ValueError, match="only 40"):
        ledger.flow(D("-50"), D("1"))


def test_drawdown_and_daily_loss_follow_growth_not_flows():
    ledger = Ledger.open("BTC", "ZAR", D("1000"))
    ledger, _ = ledger.fill("buy", D("10"), D("1000"), D("0"), "ZAR")
    ledger = ledger.marked(D("120"), "2026-11-24")  # a new peak
    assert ledger.drawdown_pct(D("120")) == 0
    assert ledger.drawdown_pct(D("90")) == D("25")  # 900 / 1200
    ledger = ledger.flow(D("5000"), D("90"))  # a deposit neither deepens nor heals the drawdown
    assert ledger.drawdown_pct(D("90")) == D("25")
    ledger = ledger.marked(D("90"), "2026-11-25")  # next day starts from here
    assert ledger.daily_loss_pct(D("90")) == 0


def test_a_tick_that_only_marks_is_worth_a_write_only_for_a_new_day_or_a_peak_beyond_the_resolution():
    from botfleet.domain.ledger import PEAK_RESOLUTION

    held, _ = Ledger.open("ETH", "USDT", D(1000)).fill("buy", D(10), D(1000), D(0), "USDT")
    stored = held.rebased(D(100)).marked(D(100), "2026-11-24")
    assert not stored.marked(D(99), "2026-11-24").worth_writing(stored)  # below the peak, the same day
    small_rise = stored.marked(D(100) * (1 + PEAK_RESOLUTION / 2), "2026-11-24")
    assert small_rise.peak_growth > stored.peak_growth and not small_rise.worth_writing(stored)
    assert stored.marked(D(100) * (1 + PEAK_RESOLUTION * 2), "2026-11-24").worth_writing(stored)
    assert stored.marked(D(99), "2026-11-25").worth_writing(stored)  # a new day starts the daily loss afresh
    assert stored.rebase_at_next_mark().worth_writing(stored)


def test_books_stored_with_a_last_mark_read_as_rebase_pending_or_not():
    item = Ledger.open("ETH", "USDT", D(1000)).to_item()
    del item["rebase_pending"]
    assert Ledger.from_item({**item, "last_mark": D(0)}).rebase_pending
    assert not Ledger.from_item({**item, "last_mark": D("2000.5")}).rebase_pending
    assert Ledger.from_item(item).rebase_pending  # a bot that never saw a mark


def test_the_books_count_fills_and_give_the_trade_totals():
    from botfleet.domain.bots import merge_trade_totals

    ledger = Ledger.open("ETH", "USDT", D(1000))
    ledger, _ = ledger.fill("buy", D(2), D(200), D("0.2"), "USDT")
    ledger, realized = ledger.fill("sell", D(2), D(220), D("0.22"), "USDT")
    assert ledger.fills == 2 and ledger.bought_quote + ledger.sold_quote == D(420)
    assert ledger.fees_paid == D("0.42") and ledger.realized_pnl == realized
    rows = merge_trade_totals([
        {"exchange": "binance", "quote_currency": "USDT", "trades": 2, "volume": D(420), "fees": D("0.42"),
         "realized_pnl": realized},
        {"exchange": "binance", "quote_currency": "USDT", "trades": 1, "volume": D(10), "fees": D(0),
         "realized_pnl": D(0)},
        {"exchange": "luno", "quote_currency": "ZAR", "trades": 0, "volume": D(0), "fees": D(0), "realized_pnl": D(0)},
    ])
    assert rows == [{"exchange": "binance", "quote_currency": "USDT", "trades": 3, "volume": D(430),
                     "fees": D("0.42"), "realized_pnl": realized}]


def test_withdrawing_everything_leaves_the_growth_as_it_was_and_a_redeposit_carries_on_from_it():
    from botfleet.domain.risk import RiskLimits

    ledger = Ledger.open("BTC", "ZAR", D(1000)).rebased(D(100))
    ledger = _buy(ledger, D(1), D(100), D(0), "quote")
    ledger = _sell(ledger, D(1), D(110), D(0), "quote")  # +10 %: growth 1.1
    grown = ledger.growth(D(110))
    emptied = ledger.flow(-ledger.quote_free, D(110))
    assert emptied.equity(D(110)) == 0 and emptied.growth(D(110)) == grown  # not a 100 % loss
    assert RiskLimits().breach(emptied.marked(D(110), "2026-01-01"), D(110)) is None
    refilled = emptied.flow(D(500), D(110))
    assert refilled.growth(D(110)) == grown and refilled.growth(D(121)) == grown  # flat: cash only
    assert refilled.twr_index > 0 and refilled.drawdown_pct(D(110)) <= 0


def test_a_new_days_first_tick_measures_todays_loss_from_its_own_start():
    """Yesterday lost 8.5 % (under the 10 % limit); at midnight the loss since yesterday's start is 10.1 %: the
    daily-loss breaker must not trip on a day that has lost nothing yet."""
    from botfleet.domain.risk import RiskLimits

    ledger = Ledger.open("BTC", "ZAR", D(1000))
    ledger = _buy(ledger, D(1), D(100), D(0), "quote").rebased(D(100))  # all in at 100: growth follows the price
    ledger = ledger.marked(D(100), "2026-01-01")
    late = ledger.marked(D("91.5"), "2026-01-01")
    assert RiskLimits().breach(late, D("91.5")) is None  # 8.5 % down today
    assert RiskLimits().breach(late, D("89.9")) == "daily_loss"  # the same day: 10.1 % down
    assert RiskLimits().breach(late.day_rolled(D("89.9"), "2026-01-02"), D("89.9")) is None  # a new day: 0 %


def test_a_losing_sell_order_filled_in_parts_is_one_loss_of_the_streak():
    # A resting sell filling over three ticks (or a live order matched in three parts) is one losing order: with
    # max_consecutive_losses=3 it must not trip the breaker on its own.
    ledger = Ledger.open("BTC", "USDT", D("1000")).fill("buy", D("3"), D("300"), D("0"), "USDT")[0]

    def sell(books, amount, price, order):
        return books.fill("sell", D(amount), D(amount) * D(price), D("0"), "USDT", order_id=order)[0]

    for _ in range(3):
        ledger = sell(ledger, "0.5", "90", "order-a")
    assert ledger.consecutive_losses == 1
    ledger = sell(ledger, "0.5", "80", "order-b")
    assert ledger.consecutive_losses == 2
    ledger = sell(ledger, "0.5", "150", "order-b")  # a later part of a losing order in profit: the streak stands
    assert ledger.consecutive_losses == 2
    assert Ledger.from_item(ledger.to_item()) == ledger  # the order it knows survives a write and a read
    ledger = sell(ledger, "0.25", "150", "order-c")  # a winning order ends it
    assert (ledger.consecutive_losses, ledger.loss_order) == (0, "")
    # Without an order id (the backtester's single-fill orders) every losing fill counts, as before.
    assert sell(sell(ledger, "0.1", "50", ""), "0.1", "50", "").consecutive_losses == 2
