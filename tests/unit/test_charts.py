"""The equity curve, derived on read by undoing fills and injections from the books as they are, reproduces
the books a bot really had at the end of every tick (checked against the Ledger that booked them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

from hypothesis import given, settings
from hypothesis import strategies as st

from botfleet.clock import iso
from botfleet.domain.charts import Candle, equity_curve
from botfleet.domain.ledger import Ledger

START = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)

# One tick of a bot's life: maybe an injection before the tick, maybe a fill in it, then the candle's close.
tick_events = st.tuples(
    st.sampled_from([None, "deposit", "withdrawal"]),
    st.integers(min_value=1, max_value=500),  # injection amount
    st.sampled_from([None, "buy", "sell"]),
    st.integers(min_value=1, max_value=90),  # percent of what is free to trade
    st.sampled_from(["ZAR", "BTC"]),  # the fee's currency
    st.integers(min_value=900_000, max_value=1_100_000),  # close
)


@settings(max_examples=150, deadline=None)
@given(st.lists(tick_events, min_size=1, max_size=25), st.integers(min_value=0, max_value=24))
def test_the_curve_reproduces_the_books_at_every_tick(ticks, since_index):
    ledger = Ledger.open("BTC", "ZAR", D(50_000))
    trades, injections, candles, truth = [], [], [], []
    for index, (flow, flow_amount, side, pct, fee_currency, close) in enumerate(ticks):
        tick = iso(START + timedelta(minutes=index))
        mark = D(close)
        if flow == "deposit" or (flow == "withdrawal" and ledger.quote_free >= flow_amount):
            signed = D(flow_amount) if flow == "deposit" else -D(flow_amount)
            ledger = ledger.flow(signed, mark)
            injections.append({"ts": iso(START + timedelta(minutes=index, seconds=-20)), "kind": flow,
                               "amount": D(flow_amount)})
        if side == "buy" and ledger.quote_free > 10:
            cost = (ledger.quote_free * pct / 100 / D("1.01")).quantize(D("0.01"))
            amount = (cost / mark).quantize(D("0.00000001"))
            fee = (cost * D("0.006")).quantize(D("0.01")) if fee_currency == "ZAR" else amount * D("0.006")
            ledger, _ = ledger.fill("buy", amount, cost, fee, fee_currency)
            trades.append({"tick_id": tick, "side": "buy", "amount": amount, "cost": cost, "fee": fee,
                           "fee_currency": fee_currency})
        elif side == "sell" and ledger.base_free > D("0.0001"):
            amount = (ledger.base_free * pct / 100 / D("1.01")).quantize(D("0.00000001"))
            cost = (amount * mark).quantize(D("0.01"))
            fee = (cost * D("0.006")).quantize(D("0.01")) if fee_currency == "ZAR" else amount * D("0.006")
            ledger, _ = ledger.fill("sell", amount, cost, fee, fee_currency)
            trades.append({"tick_id": tick, "side": "sell", "amount": amount, "cost": cost, "fee": fee,
                           "fee_currency": fee_currency})
        candles.append(Candle(tick, mark, mark, mark, mark))
        truth.append((tick, ledger.quote_total, ledger.base_total, ledger.equity(mark)))

    since = candles[min(since_index, len(candles) - 1)].ts
    curve = equity_curve(ledger.quote_total, ledger.base_total, "ZAR", "BTC", since=since, trades=trades,
                         injections=injections, candles=candles)
    expected = [row for row in truth if row[0] >= since]
    assert [(p.ts, p.cash, p.position, p.equity) for p in curve] == expected


def test_a_quiet_bot_is_flat_at_its_cash_and_the_points_are_oldest_first():
    candles = [Candle(iso(START + timedelta(minutes=i)), D(1), D(1), D(1), D(100 + i)) for i in range(3)]
    curve = equity_curve(D(500), D(0), "ZAR", "BTC", since=candles[0].ts, trades=[], injections=[],
                         candles=reversed(candles))
    assert [p.ts for p in curve] == [c.ts for c in candles]
    assert {p.equity for p in curve} == {D(500)} and [p.mark for p in curve] == [D(100), D(101), D(102)]


def test_a_position_is_valued_at_each_close():
    candles = [Candle(iso(START + timedelta(minutes=i)), D(1), D(1), D(1), close) for i, close in
               enumerate([D(100), D(110)])]
    curve = equity_curve(D(0), D(2), "ZAR", "BTC", since=candles[0].ts, trades=[], injections=[], candles=candles)
    assert [p.equity for p in curve] == [D(200), D(220)]
