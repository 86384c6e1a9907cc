"""CapitalService built from in-memory fakes: deposits and withdrawals move the bot's books atomically with their
record, an Idempotency-Key replays the first result and refuses another body, a withdrawal beyond the free cash is
a 422, concurrent writers are retried, and money moved in or out is never profit."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest

from botfleet.clock import FixedClock
from botfleet.errors import Conflict, NotFound, Unprocessable
from botfleet.services.auth import Principal
from botfleet.services.capital import CapitalService
from tests.support.fakes import FakeBotRepository, FakeInjections, FakeMarket, a_bot

ANN = Principal("usr_ann", "ann@example.com", "Ann", "user")
BOB = Principal("usr_bob", "bob@example.com", "Bob", "user")


class World:
    def __init__(self, market: FakeMarket | None = None):
        self.clock = FixedClock()
        self.injections = FakeInjections()
        self.bots = FakeBotRepository(self.injections)
        self.market = market or FakeMarket()
        self.service = CapitalService(self.bots, self.injections, self.market, self.clock)
        self.bot = a_bot(ANN.user_id)
        self.bots.create(self.bot)

    def stored(self, bot_id: str | None = None):
        return self.bots.get(ANN.user_id, bot_id or self.bot.id)


@pytest.fixture
def world():
    return World()


def test_a_deposit_moves_cash_and_capital_and_is_recorded_with_the_bot(world):
    result = world.service.inject(ANN, world.bot.id, "250.5", "deposit")
    assert result == {"id": result["id"], "bot_id": world.bot.id, "kind": "deposit", "amount": "250.5",
                      "currency": "USDT", "mark": "92000", "equity_after": "1250.5", "ts": "2026-01-01T00:00:00.000Z"}
    bot = world.stored()
    assert bot.capital == Decimal("1250.5") and bot.cash == Decimal("1250.5")
    assert bot.ledger.contributed == Decimal("1250.5") and bot.initial_capital == Decimal(1000)
    assert bot.version == world.bot.version + 1
    assert world.injections.get(ANN.user_id, result["id"])["amount"] == Decimal("250.5")


def test_a_withdrawal_takes_out_free_cash(world):
    result = world.service.inject(ANN, world.bot.id, 400, "withdrawal")  # a JSON whole number is fine too
    assert result["kind"] == "withdrawal" and result["equity_after"] == "600"
    assert world.stored().capital == Decimal(600) and world.stored().cash == Decimal(600)


def test_withdrawing_more_than_the_free_cash_is_a_422_and_changes_nothing(world):
    with pytest.raises(Unprocessable) as refused:
        world.service.inject(ANN, world.bot.id, "1000.01", "withdrawal")
    assert refused.value.status == 422 and refused.value.code == "insufficient_funds"
    assert refused.value.field == "amount"
    assert world.stored() == world.bot and world.injections.records == {}


def test_reserved_cash_cannot_be_withdrawn(world):
    ledger = replace(world.bot.ledger, quote_free=Decimal(300), quote_reserved=Decimal(700))
    world.bots.save(replace(world.bot, ledger=ledger))
    with pytest.raises(Unprocessable, match="only 300 is free"):
        world.service.inject(ANN, world.bot.id, "301", "withdrawal")
    assert world.service.inject(ANN, world.bot.id, "300", "withdrawal")["equity_after"] == "700"


@pytest.mark.parametrize(("amount", "kind", "field"), [
    ("100", "transfer", "kind"), ("0", "deposit", "amount"), ("-5", "deposit", "amount"),
    ("1.123456789", "deposit", "amount"), (10.5, "deposit", "amount"), ("1e3", "deposit", "amount"),
    ("NaN", "deposit", "amount"), ("1000000000000.01", "deposit", "amount"),
])
def test_bad_requests_are_422s_naming_the_field(world, amount, kind, field):
    with pytest.raises(Unprocessable) as refused:
        world.service.inject(ANN, world.bot.id, amount, kind)
    assert refused.value.field == field
    assert world.stored() == world.bot and world.injections.records == {}


def test_someone_elses_bot_is_a_404(world):
    with pytest.raises(NotFound):
        world.service.inject(BOB, world.bot.id, "10", "deposit")
    with pytest.raises(NotFound):
        world.service.list(BOB, world.bot.id, 10, None)
    assert world.stored() == world.bot


# --- idempotency ---------------------------------------------------------------------------------------------

def test_a_retried_request_with_its_idempotency_key_moves_the_money_once(world):
    first = world.service.inject(ANN, world.bot.id, "100", "deposit", idempotency_key="k-1")
    world.clock.advance(seconds=30)
    again = world.service.inject(ANN, world.bot.id, "100.00", "deposit", idempotency_key="k-1")
    assert again == first
    assert world.stored().capital == Decimal(1100) and len(world.injections.records) == 1


@pytest.mark.parametrize("change", [{"amount": "101"}, {"kind": "withdrawal"}, {"bot": "other"}])
def test_the_same_key_with_another_request_is_a_409(world, change):
    other = a_bot(ANN.user_id, name="other")
    world.bots.create(other)
    world.service.inject(ANN, world.bot.id, "100", "deposit", idempotency_key="k-1")
    request = {"amount": "100", "kind": "deposit", "bot": world.bot.id} | change
    bot_id = other.id if request["bot"] == "other" else world.bot.id
    with pytest.raises(Conflict) as reused:
        world.service.inject(ANN, bot_id, request["amount"], request["kind"], idempotency_key="k-1")
    assert reused.value.status == 409 and reused.value.code == "idempotency_key_reused"
    assert world.stored().capital == Decimal(1100) and world.stored(other.id).capital == Decimal(1000)
    assert len(world.injections.records) == 1


def test_keys_are_per_user_and_no_key_means_a_new_injection_each_time(world):
    theirs = a_bot(BOB.user_id)
    world.bots.create(theirs)
    mine = world.service.inject(ANN, world.bot.id, "100", "deposit", idempotency_key="same")
    bobs = world.service.inject(BOB, theirs.id, "100", "deposit", idempotency_key="same")
    assert mine["id"] != bobs["id"]
    world.service.inject(ANN, world.bot.id, "100", "deposit")
    world.service.inject(ANN, world.bot.id, "100", "deposit")
    assert world.stored().capital == Decimal(1300) and len(world.injections.records) == 4


def test_a_concurrent_retry_that_lands_first_is_answered_with_its_result():
    class RacingMarket(FakeMarket):
        """The same request, retried by the client, completes while the first one is reading the market."""

        raced = False

        def mark(self, exchange, symbol):
            if not self.raced:
                self.raced = True
                world.service.inject(ANN, world.bot.id, "100", "deposit", idempotency_key="k-race")
            return super().mark(exchange, symbol)

    world = World(RacingMarket())
    result = world.service.inject(ANN, world.bot.id, "100", "deposit", idempotency_key="k-race")
    assert result["amount"] == "100" and len(world.injections.records) == 1
    assert world.stored().capital == Decimal(1100)  # moved once


# --- concurrency ---------------------------------------------------------------------------------------------

def test_a_tick_writing_the_bot_meanwhile_is_retried_on_the_new_state(world):
    tick_time = "2026-01-01T00:00:30.000Z"
    world.bots.interfere(lambda bot: replace(bot, last_tick=tick_time), times=2)
    world.service.inject(ANN, world.bot.id, "100", "deposit")
    bot = world.stored()
    assert bot.last_tick == tick_time and bot.capital == Decimal(1100)  # neither write was lost
    assert bot.version == world.bot.version + 3  # two ticks and the injection


def test_a_bot_that_keeps_changing_is_a_409_and_nothing_is_recorded(world):
    world.bots.interfere(times=5)
    with pytest.raises(Conflict) as busy:
        world.service.inject(ANN, world.bot.id, "100", "deposit")
    assert busy.value.code == "concurrent_update" and world.injections.records == {}
    assert world.stored().capital == Decimal(1000)


# --- listing, reallocation, portfolio ------------------------------------------------------------------------

def test_a_bots_injections_are_listed_newest_first_and_page(world):
    ids = []
    for amount in ("10", "20", "30"):
        ids.append(world.service.inject(ANN, world.bot.id, amount, "deposit")["id"])
        world.clock.advance(seconds=1)
    page, cursor = world.service.list(ANN, world.bot.id, 2, None)
    assert [item["amount"] for item in page] == ["30", "20"] and cursor
    rest, end = world.service.list(ANN, world.bot.id, 2, cursor)
    assert [item["amount"] for item in rest] == ["10"] and end is None
    everything, _ = world.service.list(ANN, None, 10, None)
    assert sorted(item["id"] for item in everything) == sorted(ids)
    assert world.service.list(BOB, None, 10, None) == ([], None)


@pytest.mark.parametrize(("target", "kind", "amount"), [("1500", "deposit", "500"), ("600", "withdrawal", "400")])
def test_reallocate_moves_the_difference(world, target, kind, amount):
    world.service.reallocate(ANN, world.bot.id, target)
    [record] = world.injections.records.values()
    assert (record["kind"], record["amount"]) == (kind, Decimal(amount))
    assert world.stored().capital == Decimal(target)


def test_reallocating_to_the_same_capital_moves_nothing_and_a_target_below_the_minimum_is_refused(world):
    world.service.reallocate(ANN, world.bot.id, "1000")
    assert world.injections.records == {}
    with pytest.raises(Unprocessable) as tiny:
        world.service.reallocate(ANN, world.bot.id, "1")
    assert tiny.value.code == "below_min_notional" and world.stored().capital == Decimal(1000)


def test_the_portfolio_totals_per_currency_and_injections_are_not_profit(world):
    holding = replace(world.bot.ledger, quote_free=Decimal(500), base_free=Decimal("0.01"),
                      cost_basis=Decimal(500), bought_quote=Decimal(500), bought_base=Decimal("0.01"))
    world.bots.save(replace(world.bot, ledger=holding))
    zar = a_bot(ANN.user_id, name="rand", exchange="luno", symbol="BTC/ZAR", capital="20000")
    world.bots.create(zar)
    world.bots.create(a_bot(BOB.user_id, name="not-mine"))
    world.market.set_price("binance", "BTC/USDT", "60000")
    world.service.inject(ANN, zar.id, "5000", "deposit")

    portfolio = world.service.portfolio(ANN)
    assert {row["name"] for row in portfolio["bots"]} == {"grid-1", "rand"}
    usdt, zar_total = portfolio["totals"]
    assert usdt["currency"] == "USDT" and usdt["equity"] == "1100"  # 500 cash + 0.01 BTC at 60000
    assert usdt["unrealized_pnl"] == "100" and usdt["total_pnl"] == "100"
    assert zar_total["currency"] == "ZAR" and zar_total["equity"] == "25000"
    assert zar_total["total_pnl"] == "0" and zar_total["net_injections"] == "5000"  # a deposit is not a gain


def test_two_overlapping_reallocations_to_the_same_capital_move_the_money_once(world):
    """A double click or a client's retry: the second request read the bot before the first one saved. Its save
    loses on the version, it reads the bot again and finds the capital already there (it used to move the
    difference it computed from its first read: capital 2,000 became 3,000)."""
    save = world.bots.save_with_injection
    raced: list = []

    def save_after_the_other_request(bot, injection):
        if not raced:
            raced.append(None)  # once: the other request's own save goes straight through
            raced[0] = world.service.reallocate(ANN, world.bot.id, "2000")  # the other request wins the race
        return save(bot, injection)

    world.bots.save_with_injection = save_after_the_other_request
    assert world.service.reallocate(ANN, world.bot.id, "2000") is None  # nothing left to move
    [record] = world.injections.records.values()
    assert (record["kind"], record["amount"]) == ("deposit", Decimal(1000)) and raced[0]["amount"] == "1000"
    assert world.stored().capital == Decimal(2000) and world.stored().cash == Decimal(2000)


def test_a_paper_target_that_cannot_buy_the_minimum_amount_at_the_price_is_refused():
    # Luno's 0.0005 BTC minimum costs R 829.95 with the fee at this price: R 500 would never trade.
    world = World(FakeMarket({("luno", "BTC/ZAR"): Decimal("1650000")}))
    luno = a_bot(ANN.user_id, exchange="luno", symbol="BTC/ZAR", capital="1000")
    world.bots.create(luno)
    with pytest.raises(Unprocessable) as small:
        world.service.reallocate(ANN, luno.id, "500")
    assert small.value.code == "below_min_amount" and world.injections.records == {}
    world.service.reallocate(ANN, luno.id, "900")
    assert world.stored(luno.id).capital == Decimal(900)
