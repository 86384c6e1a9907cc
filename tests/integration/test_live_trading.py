"""Live mode through the tick: the owner's keys from the vault (moto KMS), a signed order on a mock Binance that
verifies signatures, a lost reply reconciled by client order id on the next tick, and a rejected key."""

from __future__ import annotations

import json
from decimal import Decimal as D

import boto3
import pytest

from botfleet import runtime
from botfleet.adapters.dynamo.bots import shard_of
from botfleet.domain.orders import live_client_order_id
from tests.integration.conftest import load_handler
from tests.support.events import LambdaContext
from tests.support.mock_exchanges import start_mock

BOT = {"name": "live", "exchange": "binance", "symbol": "BTC/USDT", "strategy": "sma_cross",
       "params": {"fast": 2, "slow": 3}, "mode": "live", "capital": "1000"}


@pytest.fixture
def binance(aws, monkeypatch):
    key = boto3.client("kms", region_name="us-east-1").create_key()["KeyMetadata"]["Arn"]
    monkeypatch.setenv("KEYS_KMS_KEY_ID", key)
    with start_mock("binance") as mock:
        monkeypatch.setenv("BOTFLEET_PROVIDER_URLS", json.dumps({"binance": mock.url}))
        monkeypatch.setenv("EXCHANGE_TIMEOUT_S", "1")
        runtime.reset()
        yield mock


def _tick(bot_id, minute):
    shard = shard_of(bot_id, runtime.settings().tick_shards)
    return load_handler("engine").handler({"tick_id": f"2026-11-24T11:{minute:02d}:00.000Z", "shard": shard},
                                          LambdaContext())


def _move(pct):
    load_handler("provision").handler({"action": "market_move", "exchange": "binance", "symbol": "BTC/USDT",
                                       "move_pct": pct}, LambdaContext())


def test_live_bot_needs_a_key_then_trades_on_the_exchange(api, binance):
    token, _ = api.register()
    status, body = api.call("bots", "POST", "/api/bots", BOT, token=token)
    assert (status, body["error"]["code"]) == (409, "api_key_required")
    credentials = {k: v for k, v in binance.credentials.items() if k in ("api_key", "api_secret")}
    assert api.call("keys", "PUT", "/api/keys/binance", credentials, token=token)[0] == 200
    status, bot = api.call("bots", "POST", "/api/bots", BOT, token=token)
    assert status == 201 and bot["mode"] == "live"

    _move(5)  # the strategy wants to be long
    report = _tick(bot["id"], 0)
    assert report["fills"] == 1
    (order,) = binance.venue.orders.values()
    # Signed, accepted (under an id Binance's rule allows: the mock checks it as Binance does), filled.
    assert order.client_order_id == live_client_order_id(bot["id"], "2026-11-24T11:00:00.000Z", "buy")
    assert order.side == "buy"
    (trade,) = api.call("bots", "GET", f"/api/bots/{bot['id']}/trades", token=token)[1]["items"]
    assert trade["mode"] == "live" and trade["client_order_id"] == order.client_order_id
    live = api.call("bots", "GET", f"/api/bots/{bot['id']}", token=token)[1]
    assert D(live["position"]) > 0 and D(live["cash"]) < D("1000")

    # the exchange takes the sell but the reply never arrives: the order is kept, then reconciled
    binance.fail("hang_after", method="POST", path="/api/v3/order", seconds=3)
    _move(-8)
    assert _tick(bot["id"], 1)["fills"] == 0
    pending = api.call("bots", "GET", f"/api/bots/{bot['id']}", token=token)[1]
    assert len(pending["open_orders"]) == 1
    events = api.call("bots", "GET", f"/api/bots/{bot['id']}/events", token=token)[1]["items"]
    assert events[0]["kind"] == "exchange_unavailable" and "reconciled" in events[0]["message"]
    _tick(bot["id"], 2)
    trades = api.call("bots", "GET", f"/api/bots/{bot['id']}/trades", token=token)[1]["items"]
    sells = [t for t in trades if t["side"] == "sell"]
    assert len(sells) == 1 and sells[0]["client_order_id"] == live_client_order_id(  # found by its id, booked once
        bot["id"], "2026-11-24T11:01:00.000Z", "sell")
    sent = [o for o in binance.venue.orders.values() if o.client_order_id == sells[0]["client_order_id"]]
    assert len(sent) == 1  # and never re-sent
    final = api.call("bots", "GET", f"/api/bots/{bot['id']}", token=token)[1]
    assert all(o["client_order_id"] != sells[0]["client_order_id"] for o in final["open_orders"])
    audit = runtime.audit().log.list(10, None, action="bot.live_mode")[0]
    assert audit and audit[0]["target"] == f"bot:{bot['id']}"


def test_a_rejected_key_pauses_the_live_bot(api, binance):
    token, _ = api.register()
    api.call("keys", "PUT", "/api/keys/binance", {"api_key": binance.credentials["api_key"],
                                                  "api_secret": "not-the-secret"}, token=token)
    bot = api.call("bots", "POST", "/api/bots", BOT, token=token)[1]
    _move(5)
    _tick(bot["id"], 0)
    paused = api.call("bots", "GET", f"/api/bots/{bot['id']}", token=token)[1]
    assert (paused["status"], paused["pause_reason"], paused["pause_count"]) == ("paused", "exchange_auth", 0)
    assert "not-the-secret" not in json.dumps(api.call("bots", "GET", f"/api/bots/{bot['id']}/events",
                                                       token=token)[1])


def _live_bot(api, binance):
    token, _ = api.register()
    credentials = {k: v for k, v in binance.credentials.items() if k in ("api_key", "api_secret")}
    api.call("keys", "PUT", "/api/keys/binance", credentials, token=token)
    return token, api.call("bots", "POST", "/api/bots", BOT, token=token)[1]


def test_a_fill_whose_tick_write_loses_to_the_owners_edit_is_booked_by_the_next_tick(api, binance):
    """The order is journalled on the bot before it is sent; the owner renames the bot while the exchange fills it,
    so the tick's own write finds another version and writes nothing. The next tick reconciles the journalled
    order: the fill is booked once, and nothing is bought twice (it used to be forgotten, and bought again)."""
    token, bot = _live_bot(api, binance)
    market = binance.venue.market

    def fill_then_the_owner_edits(*args, **kwargs):
        order = market(*args, **kwargs)
        assert api.call("bots", "PATCH", f"/api/bots/{bot['id']}", {"name": "renamed meanwhile"}, token=token)[0] == 200
        return order

    binance.venue.market = fill_then_the_owner_edits
    _move(5)  # the strategy wants to be long
    assert _tick(bot["id"], 0)["fills"] == 0  # filled on the exchange; the tick's write lost to the rename
    binance.venue.market = market
    journalled = api.call("bots", "GET", f"/api/bots/{bot['id']}", token=token)[1]
    assert journalled["name"] == "renamed meanwhile" and len(journalled["open_orders"]) == 1
    assert _tick(bot["id"], 1)["fills"] == 1
    (sent,) = binance.venue.orders.values()
    (trade,) = api.call("bots", "GET", f"/api/bots/{bot['id']}/trades", token=token)[1]["items"]
    assert trade["client_order_id"] == sent.client_order_id and D(trade["amount"]) == sent.filled
    booked = api.call("bots", "GET", f"/api/bots/{bot['id']}", token=token)[1]
    assert booked["open_orders"] == [] and D(booked["position"]) > 0 and D(booked["cash_reserved"]) == 0
    _tick(bot["id"], 2)
    assert len(binance.venue.orders) == 1  # long already: no second buy


def test_an_order_the_exchange_took_before_answering_429_is_kept_and_booked(api, binance):
    token, bot = _live_bot(api, binance)
    binance.fail("rate_limit_after", method="POST", path="/api/v3/order")
    _move(5)
    assert _tick(bot["id"], 0)["fills"] == 0
    kept = api.call("bots", "GET", f"/api/bots/{bot['id']}", token=token)[1]
    assert len(kept["open_orders"]) == 1
    assert _tick(bot["id"], 1)["fills"] == 1
    assert len(binance.venue.orders) == 1
    (trade,) = api.call("bots", "GET", f"/api/bots/{bot['id']}/trades", token=token)[1]["items"]
    assert trade["client_order_id"] == next(iter(binance.venue.orders.values())).client_order_id


def test_an_all_in_live_buy_never_spends_more_than_the_free_cash_when_the_ask_moves(api, binance):
    """The book moves up between our read and the exchange's match. Sized in base from our read, the buy cost more
    than the bot had (negative free cash: a sanity pause); sized in quote, the exchange spends at most what is
    free less its fee."""
    token, bot = _live_bot(api, binance)
    market = binance.venue.market

    def the_ask_moves_up_first(*args, **kwargs):
        state = binance.venue.state("BTC/USDT")
        state.price = state.price * D("1.02")
        return market(*args, **kwargs)

    binance.venue.market = the_ask_moves_up_first
    _move(5)
    assert _tick(bot["id"], 0)["fills"] == 1
    binance.venue.market = market
    after = api.call("bots", "GET", f"/api/bots/{bot['id']}", token=token)[1]
    assert after["status"] == "running" and D(after["cash"]) >= 0 and D(after["position"]) > 0
    (sent,) = binance.venue.orders.values()
    assert sent.cost + (sent.fee if sent.fee_currency == "USDT" else 0) <= D(BOT["capital"])


def test_a_reconciled_fill_journalled_with_the_next_order_stays_in_the_history(api, binance):
    """Tick 1 books the buy that tick 0 could not confirm, then sells; the sell's journal write carries the buy's
    trade with the books that hold it, so when the tick's own write then loses to the owner's edit, the history
    still has every fill the books have."""
    token, bot = _live_bot(api, binance)
    binance.fail("hang_after", method="POST", path="/api/v3/order", seconds=3)
    _move(5)
    _tick(bot["id"], 0)  # the buy's outcome is unknown: kept
    market = binance.venue.market

    def sell_then_the_owner_edits(*args, **kwargs):
        order = market(*args, **kwargs)
        api.call("bots", "PATCH", f"/api/bots/{bot['id']}", {"name": "renamed meanwhile"}, token=token)
        return order

    binance.venue.market = sell_then_the_owner_edits
    _move(-8)  # the strategy wants out
    _tick(bot["id"], 1)
    binance.venue.market = market
    mid = api.call("bots", "GET", f"/api/bots/{bot['id']}", token=token)[1]
    trades = api.call("bots", "GET", f"/api/bots/{bot['id']}/trades", token=token)[1]["items"]
    assert [t["side"] for t in trades] == ["buy"] and len(mid["open_orders"]) == 1  # the buy booked, the sell kept
    _tick(bot["id"], 2)  # books the sell (and may trade again: the strategy decides afresh)
    trades = api.call("bots", "GET", f"/api/bots/{bot['id']}/trades", token=token)[1]["items"]
    filled = {o.client_order_id for o in binance.venue.orders.values() if o.filled > 0}
    assert sorted(t["client_order_id"] for t in trades) == sorted(filled)  # every exchange fill once, no other
    (summary,) = api.call("bots", "GET", "/api/trades/summary", token=token)[1]["items"]
    assert summary["trades"] == len(trades)  # the books count exactly the fills the history holds
