"""The admins' fleet listing (gsi2 `BOTS`) is of the bots' pointers, written once at creation, so that a bot's own
writes are not copied into an index that projects every attribute (docs/scaling.md, "Cost per bot-month"); bots
stored before that are listed by their own item until `migrate` moves them (docs/deployment.md)."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal as D

from botfleet import runtime
from botfleet.adapters.dynamo.bots import FLEET_LISTING, bot_key, bot_to_item, listing_sk
from botfleet.adapters.dynamo.schema import bot_pk
from botfleet.domain.bots import bot_figures
from botfleet.services.auth import Principal
from tests.integration.conftest import load_handler
from tests.support.dynamo_meter import DynamoMeter
from tests.support.events import LambdaContext

OWNERS = [Principal(f"usr_{n}", f"o{n}@example.com", "Owner", "user") for n in range(3)]


def _fleet(count: int) -> list[str]:
    service, ids = runtime.bot_service(), []
    for n in range(count):
        bot = service.create(OWNERS[n % len(OWNERS)], {
            "name": f"b{n}", "exchange": "luno", "symbol": "BTC/ZAR", "strategy": "sma_cross",
            "params": {"fast": 2, "slow": 3}, "mode": "paper", "capital": "50000"})
        ids.append(bot.id)
    return ids


def _pages(limit: int) -> list[list[str]]:
    pages, cursor = [], None
    while True:
        bots, cursor = runtime.bots().list_all(limit, cursor)
        pages.append([bot.id for bot in bots])
        if not cursor:
            return pages


def test_the_fleet_is_listed_newest_first_in_pages_through_the_pointers(aws):
    ids = _fleet(7)
    newest_first = [bot.id for bot in sorted((runtime.bots().get_any(i) for i in ids),
                                             key=lambda bot: (bot.created_at, bot.id), reverse=True)]
    assert [i for page in _pages(3) for i in page] == newest_first
    assert [bot.id for bot in runtime.bots().whole_fleet()] == newest_first
    item = runtime.table().get(*_bot_item_key(ids[0]))
    assert "gsi2pk" not in item and "gsi2sk" not in item  # the bot item itself is in no listing index
    runtime.bots().remove(OWNERS[0].user_id, ids[0])
    assert ids[0] not in [bot.id for bot in runtime.bots().whole_fleet()]


def test_a_bot_write_is_copied_into_its_shard_index_only(aws):
    (bot_id,) = _fleet(1)
    repository, meter = runtime.bots(), DynamoMeter().attach(runtime.table().client)
    bot = repository.get_any(bot_id)
    repository.save(replace(bot, status="running"))
    assert meter.write_units == 2  # 1 for the ~1 KB item, 1 for its copy in gsi1 (its shard); none in gsi2


def test_bots_stored_before_the_pointers_are_listed_and_then_moved_once(aws):
    ids = _fleet(4)
    table = runtime.table()
    legacy = ids[:2]
    for bot_id in legacy:  # as a version before this one stored them: the bot item listed, the pointer not
        bot = runtime.bots().get_any(bot_id)
        table.put({**bot_to_item(bot, runtime.settings().tick_shards), "gsi2pk": FLEET_LISTING,
                   "gsi2sk": listing_sk(bot.created_at, bot.id)})
        table.put({"pk": bot_pk(bot_id), "sk": "META", "entity": "bot_pointer", "owner_id": bot.owner_id})
    before = [bot.id for bot in runtime.bots().whole_fleet()]
    assert sorted(before) == sorted(ids)
    _figures_agree_with_the_bots()

    reply = load_handler("provision").handler({"action": "migrate"}, LambdaContext())
    assert reply == {"ok": True, "fleet_listing_moved": 2}
    assert [bot.id for bot in runtime.bots().whole_fleet()] == before  # same bots, same order
    for bot_id in legacy:
        assert "gsi2pk" not in table.get(*_bot_item_key(bot_id))
        assert table.get(bot_pk(bot_id), "META")["gsi2pk"] == FLEET_LISTING
    again = load_handler("provision").handler({"action": "migrate"}, LambdaContext())
    assert again == {"ok": True, "fleet_listing_moved": 0}


def _bot_item_key(bot_id: str) -> tuple[str, str]:
    return bot_key(runtime.bots().get_any(bot_id).owner_id, bot_id)


def _figures_agree_with_the_bots() -> None:
    """Fleet metrics read only a bot's status, pause reason and ledger totals: the same figures as the whole bots."""
    figures = runtime.bots().fleet_figures()
    expected = [bot_figures(bot) for bot in runtime.bots().whole_fleet()]
    assert len(figures) == len(expected) and all(row in expected for row in figures)


def test_fleet_figures_are_the_bots_own(aws):
    ids = _fleet(3)
    repository = runtime.bots()
    bot = repository.get_any(ids[0])
    repository.save(replace(bot, status="paused", pause_reason="max_drawdown", ledger=replace(
        bot.ledger, fills=3, bought_quote=D("1000.5"), sold_quote=D("990.25"), fees_paid=D("2.5"),
        realized_pnl=D("-12.75"))))
    _figures_agree_with_the_bots()
    (row,) = [row for row in repository.fleet_figures() if row["trades"]]
    assert (row["status"], row["pause_reason"], row["volume"], row["realized_pnl"]) == (
        "paused", "max_drawdown", D("1990.75"), D("-12.75"))
    # Books stored before a total existed read it as zero, both ways.
    runtime.table().update(*_bot_item_key(ids[1]), "REMOVE ledger.fees_paid, ledger.realized_pnl")
    _figures_agree_with_the_bots()
