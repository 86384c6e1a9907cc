"""Paper and live share one tick (domain.trading.run_tick): the same scenario through the paper venue and through
the live venue on an in-memory exchange must take the same risk, pause and finish decisions."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

import pytest

from botfleet.domain import paper
from botfleet.domain.bots import Bot
from botfleet.domain.exchanges import get_exchange
from botfleet.domain.ledger import Ledger
from botfleet.domain.market import BookLevel, OrderBook
from botfleet.domain.orders import ExecutionFill, OrderRequest, OrderStatus
from botfleet.domain.paper_venue import PaperVenue
from botfleet.domain.trading import step
from botfleet.services.live import LiveTrader, LiveVenue

UP = [1.0, 2.0, 3.0, 4.0, 5.0]  # fast SMA above slow: be long
DOWN = [5.0, 4.0, 3.0, 2.0, 1.0]  # be flat


def book(mid: str) -> OrderBook:
    m = D(mid)
    return OrderBook(bids=(BookLevel(m - D("0.5"), D(100)), BookLevel(m - D(1), D(100))),
                     asks=(BookLevel(m + D("0.5"), D(100)), BookLevel(m + D(1), D(100))))


def bot(**changes) -> Bot:
    base = Bot(id="bot_1", owner_id="u", name="n", exchange="kucoin", symbol="ETH/USDT", strategy="sma_cross",
               params={"fast": 2, "slow": 4}, mode="paper", capital=D(1000),
               ledger=Ledger.open("ETH", "USDT", D(1000)), created_at="t", updated_at="t", initial_capital=D(1000))
    return replace(base, **changes)


class InMemoryExchange:
    """An ExchangeClient that fills every market order at once against the book it shows, with paper's fill
    model (so both venues see the same prices and fees)."""

    exchange_id = "kucoin"

    def __init__(self):
        self.book = book("100")
        self.orders: dict[str, OrderStatus] = {}

    def fetch_order_book(self, symbol: str, depth: int = 20) -> OrderBook:
        return self.book

    def fetch_balance(self):
        return {}

    def create_order(self, request: OrderRequest) -> OrderStatus:
        exchange = get_exchange(self.exchange_id)
        fill = paper.market_order(request.side, request.amount, self.book, exchange, exchange.rules(request.symbol))
        status = OrderStatus(request.client_order_id, f"x{len(self.orders)}", request.symbol, request.side,
                             request.type, "closed", request.amount, fill.amount, fill.price,
                             (ExecutionFill(fill.price, fill.amount, fill.fee, fill.fee_currency),))
        self.orders[request.client_order_id] = status
        return status

    def fetch_order(self, symbol: str, client_order_id: str) -> OrderStatus | None:
        return self.orders.get(client_order_id)

    def cancel_order(self, symbol: str, client_order_id: str) -> OrderStatus:
        status = replace(self.orders[client_order_id], status="canceled")
        self.orders[client_order_id] = status
        return status

    def test_connection(self) -> None:
        return None


class Venues:
    """Runs a bot one tick at a time through the named venue, at a market whose mid the test sets."""

    def __init__(self, kind: str):
        self.kind = kind
        self.exchange = InMemoryExchange()
        self.pause_event = (PaperVenue if kind == "paper" else LiveVenue).pause_event

    def run(self, b: Bot, closes: list[float], mid: str, tick_id: str):
        self.exchange.book = book(mid)
        if self.kind == "paper":
            result = step(b, closes, self.exchange.book, D(mid), tick_id)
        else:
            result = LiveTrader(lambda _: self.exchange).step(replace(b, mode="live"), closes, tick_id)
        return result, result.bot


@pytest.fixture(params=["paper", "live"])
def venue(request) -> Venues:
    return Venues(request.param)


def test_a_breaker_trip_leaves_the_market_and_counts_toward_the_quarantine_ladder(venue):
    _, b = venue.run(bot(pause_count=2), UP, "100", "2026-11-24T10:00:00.000Z")
    assert b.status == "running" and b.ledger.base_total > 0
    result, b = venue.run(b, UP, "75", "2026-11-24T10:01:00.000Z")  # -25 %: beyond the default 20 % drawdown
    assert (b.status, b.pause_reason, b.pause_count) == ("paused", "max_drawdown", 3)
    stop_out = result.executions[-1]
    assert (stop_out.fill.side, stop_out.order_type) == ("sell", "market") and b.ledger.base_total == 0
    assert result.events[-1]["kind"] == "risk_pause" and result.events[-1]["reason"] == "max_drawdown"
    assert result.changed and b.orders == () and b.last_tick == "2026-11-24T10:01:00.000Z"
    assert not b.ledger.rebase_pending and b.ledger.violations(D(75)) == []


def test_books_that_do_not_reconcile_pause_without_counting_toward_the_ladder(venue):
    broken = bot(pause_count=2, ledger=replace(Ledger.open("ETH", "USDT", D(1000)), quote_free=D(1500)))
    result, b = venue.run(broken, DOWN, "100", "2026-11-24T10:00:00.000Z")
    assert (b.status, b.pause_reason, b.pause_count) == ("paused", "sanity_check", 2)
    assert result.events[-1]["kind"] == venue.pause_event and "trial balance" in result.events[-1]["message"]
    assert result.changed and result.executions == []


def test_a_tick_that_only_watches_the_market_writes_nothing(venue):
    result, b = venue.run(bot(), DOWN, "100", "2026-11-24T10:00:00.000Z")  # flat and told to be flat
    assert result.executions == [] and result.events == [] and b.status == "running"
    assert result.changed and not b.ledger.rebase_pending  # a new bot's first mark starts its breakers: written
    result, b = venue.run(b, DOWN, "100", "2026-11-24T10:01:00.000Z")
    assert not result.changed
    result, b = venue.run(b, DOWN, "93", "2026-11-24T10:02:00.000Z")  # another mark, the same day, flat
    assert not result.changed


def test_the_same_market_gives_both_venues_the_same_fills_and_books():
    """A round trip at the same prices: the only differences are the order ids each venue gives its orders."""
    outcomes = {}
    for kind in ("paper", "live"):
        venue = Venues(kind)
        bought, b = venue.run(bot(), UP, "100", "2026-11-24T10:00:00.000Z")
        sold, b = venue.run(b, DOWN, "110", "2026-11-24T10:01:00.000Z")
        fills = [(e.fill.side, e.fill.amount, e.fill.price, e.fill.cost, e.fill.fee, e.realized_pnl)
                 for e in (*bought.executions, *sold.executions)]
        outcomes[kind] = (fills, b.ledger, b.status)
    assert outcomes["paper"] == outcomes["live"]
    assert [side for side, *_ in outcomes["paper"][0]] == ["buy", "sell"]


@pytest.mark.parametrize("kind", ["paper", "live"])
def test_a_bot_resumed_after_a_trip_takes_the_risk_again_from_the_next_mark(kind):
    """Resuming re-bases the breakers on both venues (live used to measure from the old peak and trip again)."""
    venues = Venues(kind)
    _, tripped = venues.run(bot(), UP, "100", "2026-11-24T10:00:00.000Z")
    _, tripped = venues.run(tripped, UP, "75", "2026-11-24T10:01:00.000Z")
    assert (tripped.status, tripped.pause_reason, tripped.pause_count) == ("paused", "max_drawdown", 1)
    result, resumed = venues.run(tripped.resumed("2026-11-25T10:00:00.000Z"), DOWN, "75", "2026-11-25T10:02:00.000Z")
    assert (resumed.status, resumed.pause_count) == ("running", 1), result.events
