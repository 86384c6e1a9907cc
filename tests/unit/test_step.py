"""One bot, one tick (pure): market and limit execution, reservations, breakers and sanity checks."""

from dataclasses import replace
from decimal import Decimal as D

from botfleet.domain.bots import Bot
from botfleet.domain.ledger import Ledger
from botfleet.domain.market import BookLevel, OrderBook
from botfleet.domain.risk import RiskLimits
from botfleet.domain.trading import step

UP = [1.0, 2.0, 3.0, 4.0, 5.0]  # fast SMA above slow: be long
DOWN = [5.0, 4.0, 3.0, 2.0, 1.0]  # be flat


def book(mid: str, depth: str = "100") -> OrderBook:
    m = D(mid)
    return OrderBook(bids=(BookLevel(m - D("0.5"), D(depth)), BookLevel(m - D("1"), D(depth))),
                     asks=(BookLevel(m + D("0.5"), D(depth)), BookLevel(m + D("1"), D(depth))))


def bot(**changes) -> Bot:
    base = Bot(id="bot_1", owner_id="u", name="n", exchange="kucoin", symbol="ETH/USDT", strategy="sma_cross",
               params={"fast": 2, "slow": 4}, mode="paper", capital=D("1000"),
               ledger=Ledger.open("ETH", "USDT", D("1000")), created_at="t", updated_at="t",
               initial_capital=D("1000"))
    return replace(base, **changes)


def run(b, closes, mid, tick, depth="100"):
    result = step(b, closes, book(mid, depth), D(mid), tick)
    return result, result.bot


def test_market_bot_buys_all_in_then_sells_and_the_books_reconcile():
    result, b = run(bot(), UP, "100", "2026-11-24T10:00:00.000Z")
    (buy,) = result.executions
    assert buy.fill.side == "buy" and buy.order_type == "market" and b.ledger.quote_free < D("1")
    result, b = run(b, DOWN, "110", "2026-11-24T10:01:00.000Z")
    (sell,) = result.executions
    assert sell.fill.side == "sell" and sell.realized_pnl > 0 and b.ledger.base_total == 0
    assert b.ledger.violations(D("110")) == []
    assert b.ledger.equity(D("110")) - b.ledger.contributed == b.ledger.realized_pnl


def test_limit_bot_reserves_rests_fills_partially_then_expires_and_releases():
    b = bot(order_type="limit", limit_offset_bps=D("100"), limit_ttl_ticks=2)
    result, b = run(b, UP, "100", "2026-11-24T10:00:00.000Z")
    assert result.executions == []  # 1 % below mid does not cross the book: it rests
    (order,) = b.orders
    assert order.price == D("99") and b.ledger.quote_reserved > 0
    assert b.ledger.quote_free + b.ledger.quote_reserved == D("1000")
    # the market dips through the limit, but only 3 ETH are offered at or below 99: a partial, maker fill
    result, b = run(b, UP, "98", "2026-11-24T10:01:00.000Z", depth="3")
    (partial,) = result.executions
    assert partial.fill.maker and partial.fill.price == D("99") and partial.fill.amount == D("6")  # 2 levels x 3
    assert b.orders and b.orders[0].filled == D("6")
    # nothing crosses any more and the order's time is up: cancelled, reservation released
    result, b = run(b, UP, "105", "2026-11-24T10:02:00.000Z")
    assert b.orders == () and b.ledger.quote_reserved == 0
    assert any(event["kind"] == "order_expired" for event in result.events)
    assert b.ledger.violations(D("105")) == []


def test_drawdown_breaker_flattens_and_risk_pauses():
    result, b = run(bot(), UP, "100", "2026-11-24T10:00:00.000Z")
    result, b = run(b, UP, "75", "2026-11-24T10:01:00.000Z")  # -25 %: beyond the default 20 % drawdown
    assert (b.status, b.pause_reason, b.pause_count) == ("paused", "max_drawdown", 1)
    assert b.ledger.base_total == 0  # stopped out at market
    assert result.executions[-1].client_order_id.endswith("stop-out")
    assert result.events[-1]["kind"] == "risk_pause"


def test_custom_limits_and_consecutive_losses():
    b = bot(risk=RiskLimits(max_drawdown_pct=D("50"), daily_loss_pct=D("50"), max_consecutive_losses=2))
    prices = ["100", "99", "100", "99"]
    for minute, mid in enumerate(prices):
        closes = UP if minute % 2 == 0 else DOWN
        _, b = run(b, closes, mid, f"2026-11-24T10:0{minute}:00.000Z")
    assert (b.status, b.pause_reason) == ("paused", "consecutive_losses")


def test_a_broken_feed_is_a_sanity_pause_that_does_not_count_as_a_risk_pause():
    _, b = run(bot(), UP, "100", "2026-11-24T10:00:00.000Z")
    result, b = run(b, [*UP, 50.0], "1000", "2026-11-24T10:01:00.000Z")  # the feed 10x in one minute
    assert (b.status, b.pause_reason, b.pause_count) == ("paused", "sanity_check", 0)
    assert result.events[-1]["kind"] == "sanity_pause" and "consecutive observations" in result.events[-1]["message"]
    assert not result.executions  # no order met a book that cannot be trusted


def test_a_bot_resumed_after_its_market_moved_69_percent_trades_instead_of_sanity_pausing():
    """The feed moved step by step while the bot was paused: nothing broken, nothing stale to compare with."""
    from botfleet.domain.bots import next_status  # the same transition every resume path uses

    _, b = run(bot(), UP, "100", "2026-11-24T10:00:00.000Z")
    assert b.ledger.base_total > 0
    paused = replace(b, status=next_status(b, "pause"), pause_reason="manual")
    resumed = replace(paused, status=next_status(paused, "resume"), pause_reason=None)
    rally = [100.0 * 1.1**i for i in range(12)]  # +185 % in twelve 10 % steps, none of them a jump
    result, b = run(resumed, rally, "285", "2026-11-24T12:00:00.000Z")
    assert b.status == "running" and not [e for e in result.events if e["kind"] == "sanity_pause"]
    crash = [100.0 * 0.9**i for i in range(12)]  # -69 %: the breakers judge it, not the feed check
    result, b = run(resumed, crash, "31", "2026-11-24T12:00:00.000Z")
    assert b.pause_reason != "sanity_check"


def test_a_risk_resume_rebases_the_breakers_at_the_next_mark_not_the_last_one_seen():
    tripped = bot(ledger=Ledger.open("ETH", "USDT", D("1000")).marked(D("100"), "2026-11-24"))
    resumed = replace(tripped, ledger=tripped.ledger.rebase_at_next_mark())
    assert resumed.ledger.rebase_pending and resumed.ledger.consecutive_losses == 0
    _, b = run(resumed, DOWN, "40", "2026-11-25T10:00:00.000Z")
    assert not b.ledger.rebase_pending and b.status == "running"


def test_books_that_do_not_reconcile_pause_the_bot():
    broken = bot(ledger=replace(Ledger.open("ETH", "USDT", D("1000")), quote_free=D("1500")))  # money from nowhere
    result, b = run(broken, DOWN, "100", "2026-11-24T10:00:00.000Z")
    assert b.pause_reason == "sanity_check" and "trial balance" in result.events[-1]["message"]


def test_nothing_to_do_changes_nothing():
    result, _ = run(bot(), DOWN, "100", "2026-11-24T10:00:00.000Z")
    assert result.executions == [] and result.events == []
