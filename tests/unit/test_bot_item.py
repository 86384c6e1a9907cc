"""A bot's typed state (risk limits, quarantine, resting orders) is stored in the item shapes it always had: items
written before the types existed still load, and what is written now reads back the same."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

from botfleet.adapters.dynamo.bots import bot_to_item, item_to_bot
from botfleet.domain.orders import RestingOrder
from botfleet.domain.quarantine import QuarantineState
from botfleet.domain.risk import RiskLimits
from botfleet.domain.venue import Tick
from botfleet.views import bot_view
from tests.support.fakes import a_bot

# As the code before the types wrote them, and DynamoDB gives them back (every number a Decimal).
PAPER_ORDER = {"client_order_id": "bot_1-t-1-limit-buy", "side": "buy", "price": D("99"), "amount": D("9.9"),
               "filled": D("0"), "reserved": D("981.1"), "placed_tick": "2026-01-01T00:00:00.000Z",
               "expires_tick_count": D("5")}
LIVE_ORDER = {"client_order_id": "bot_1-t-sell", "side": "sell", "type": "market", "amount": D("0.5"),
              "filled": D("0.2"), "reserved": D("0.3"), "placed_tick": "2026-01-01T00:00:00.000Z", "live": True,
              "price": D("100.5"), "expires_tick_count": D("1")}
QUARANTINE = {"stage": "waiting", "pause_number": D("2"), "wait_seconds": D("10800"), "reason": "max_drawdown",
              "since": "2026-01-01T00:00:00.000Z"}
RISK = {"max_drawdown_pct": D("15"), "daily_loss_pct": D("10"), "max_consecutive_losses": D("5")}


def stored(**state) -> dict:
    return bot_to_item(replace(a_bot("usr_1", status="paused"), **state), shards=4)


def test_an_item_written_before_the_types_loads_into_them():
    item = {**stored(), "risk": RISK, "orders": [PAPER_ORDER, LIVE_ORDER], "quarantine": QUARANTINE}
    bot = item_to_bot(item)
    assert bot.risk == RiskLimits(max_drawdown_pct=D("15"))
    assert bot.quarantine == QuarantineState(stage="waiting", pause_number=2, wait_seconds=10800,
                                             reason="max_drawdown", since="2026-01-01T00:00:00.000Z")
    paper, live = bot.orders
    assert (paper.type, paper.live, paper.expires_tick_count, paper.remaining) == ("limit", False, 5, D("9.9"))
    assert (live.type, live.live, live.price, live.remaining) == ("market", True, D("100.5"), D("0.3"))


def test_what_is_written_keeps_the_old_item_shapes():
    bot = item_to_bot({**stored(), "risk": RISK, "orders": [PAPER_ORDER, LIVE_ORDER], "quarantine": QUARANTINE})
    item = bot_to_item(bot, shards=4)
    assert item["risk"] == RISK
    assert item["orders"] == [PAPER_ORDER, LIVE_ORDER]  # a paper order has no `type` and `live`, as before
    assert item["quarantine"] == QUARANTINE
    assert item_to_bot(item) == bot


def test_missing_and_partial_state_loads_as_it_did():
    item = {key: value for key, value in stored().items() if key not in ("risk", "orders", "quarantine")}
    bot = item_to_bot(item)
    assert (bot.risk, bot.orders, bot.quarantine) == (RiskLimits(), (), None)
    assert item_to_bot({**item, "risk": {}, "quarantine": {}}).quarantine is None  # an empty map means none
    partial = item_to_bot({**item, "quarantine": {"stage": "regenerating", "pause_number": D("4")}})
    assert partial.quarantine == QuarantineState(stage="regenerating", pause_number=4)
    assert bot_to_item(partial, shards=4)["quarantine"] == {"stage": "regenerating", "pause_number": 4}


def test_the_bot_view_shows_orders_and_quarantine_as_stored():
    bot = item_to_bot({**stored(), "orders": [PAPER_ORDER, LIVE_ORDER], "quarantine": QUARANTINE})
    view = bot_view(bot)
    assert view["open_orders"] == [
        {"client_order_id": "bot_1-t-1-limit-buy", "side": "buy", "price": "99", "amount": "9.9", "filled": "0",
         "reserved": "981.1", "placed_tick": "2026-01-01T00:00:00.000Z", "expires_tick_count": 5},
        {"client_order_id": "bot_1-t-sell", "side": "sell", "type": "market", "amount": "0.5", "filled": "0.2",
         "reserved": "0.3", "placed_tick": "2026-01-01T00:00:00.000Z", "live": True, "price": "100.5",
         "expires_tick_count": 1},
    ]
    assert view["quarantine"] == {"stage": "waiting", "pause_number": 2, "wait_seconds": 10800,
                                  "reason": "max_drawdown", "since": "2026-01-01T00:00:00.000Z"}
    assert view["risk"] == {"max_drawdown_pct": "20", "daily_loss_pct": "10", "max_consecutive_losses": 5}


def test_a_tick_works_on_copies_of_the_bots_orders():
    bot = a_bot("usr_1")
    bot = replace(bot, orders=(RestingOrder.from_item(PAPER_ORDER),), ledger=bot.ledger.reserve("USDT", D("981.1")))
    tick = Tick(bot, "2026-01-01T00:01:00.000Z")
    tick.release(tick.orders[0])
    tick.orders[0].expires_tick_count -= 1
    assert bot.orders[0] == RestingOrder.from_item(PAPER_ORDER)  # the bot it was given is unchanged
    finished = tick.finish().bot
    assert (finished.orders[0].reserved, finished.ledger.quote_reserved, finished.ledger.quote_free) == (0, 0, 1000)


def test_a_quarantine_stage_sets_only_what_it_knows_and_a_wait_starts_now():
    waiting = QuarantineState().at_stage("waiting", "2026-01-01T00:00:00.000Z", pause_number=1, wait_seconds=3600)
    assert waiting.since == "2026-01-01T00:00:00.000Z"
    retraining = waiting.at_stage("retraining", "2026-01-01T01:00:00.000Z")
    assert (retraining.stage, retraining.since, retraining.wait_seconds) == ("retraining", waiting.since, 3600)
    extended = retraining.at_stage("waiting", "2026-01-01T01:05:00.000Z", wait_seconds=10800, extension=1)
    assert (extended.since, extended.wait_seconds, extended.extension) == ("2026-01-01T01:05:00.000Z", 10800, 1)
