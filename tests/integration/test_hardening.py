"""Bad input never reaches a 5xx, is never stored, and is never felt by another tenant (handlers against moto)."""

from __future__ import annotations

import base64
import json
import logging

import boto3
import pytest

from botfleet import runtime
from botfleet.adapters.dynamo.bots import shard_of
from tests.integration.conftest import TABLE, load_handler
from tests.integration.test_keys_api import kms_key  # noqa: F401 (a fixture: the keys function needs its key)
from tests.support.events import LambdaContext, rest_event

BOT = {"name": "trend", "exchange": "luno", "symbol": "BTC/ZAR", "strategy": "sma_cross",
       "params": {"fast": 2, "slow": 3}, "mode": "paper", "capital": "50000"}
BAD_AMOUNTS = ["1E+125", "1e1000000", "1e-200", "1e309", "1e999999999", "1_000", "١٢٣", "\uff11\uff10", "NaN",
               "Infinity", "-1", "0", "0.000000001", "1000000000001", " 10", "10 ", "+10", "0x10", "", 1.5, True,
               [], {}]


def _raw(function: str, event: dict) -> tuple[int, dict | None]:
    reply = load_handler(function).handler(event, LambdaContext())
    body = json.loads(reply["body"]) if reply.get("body") else None
    return reply["statusCode"], body


def _assert_refused(status: int, body: dict | None, expected: int, field: str | None = None) -> None:
    assert status == expected, body
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}, body
    if field:
        assert body["error"]["message"].startswith(f"{field}:"), body


@pytest.mark.parametrize("amount", BAD_AMOUNTS)
def test_every_amount_field_refuses_what_is_out_of_range_with_a_422_naming_it(api, amount):
    token, _ = api.register()
    bot = api.call("bots", "POST", "/api/bots", BOT, token=token)[1]
    cases = [
        ("POST", "/api/bots", {**BOT, "capital": amount}, "capital"),
        ("PATCH", f"/api/bots/{bot['id']}", {"capital": amount}, "capital"),
        ("POST", "/api/capital/injections", {"bot_id": bot["id"], "amount": amount, "kind": "deposit"}, "amount"),
        ("POST", "/api/bots", {**BOT, "risk": {"max_drawdown_pct": amount}}, "risk.max_drawdown_pct"),
        ("PATCH", f"/api/bots/{bot['id']}", {"risk": {"daily_loss_pct": amount}}, "risk.daily_loss_pct"),
    ]
    if amount != "0":  # 0 bps is a valid limit offset
        cases.append(("POST", "/api/bots", {**BOT, "order_type": "limit", "limit_offset_bps": amount},
                      "limit_offset_bps"))
    for method, path, body, field in cases:
        status, reply = api.call("bots", method, path, body, token=token)
        _assert_refused(status, reply, 422, field)
    # nothing was stored: the bot is as created, no injection, one bot
    assert api.call("bots", "GET", f"/api/bots/{bot['id']}", token=token)[1]["capital"] == "50000"
    assert api.call("bots", "GET", "/api/capital/injections", token=token)[1]["items"] == []
    assert len(api.call("bots", "GET", "/api/bots", token=token)[1]["items"]) == 1


def test_names_and_emails_with_control_or_invisible_characters_are_refused(api):
    token, _ = api.register()
    for name in ("bad\x00name", "tab\there", "bell\x07", "rtl\u202eoverride", "zero\u200bwidth", " ", "x" * 65):
        status, body = api.call("bots", "POST", "/api/bots", {**BOT, "name": name}, token=token)
        _assert_refused(status, body, 422, "name")
    for email in ("a\x00b@example.com", "a\x7f@example.com", "ann\u200b@example.com"):
        status, body = api.call("auth", "POST", "/api/auth/register",
                                {"email": email, "password": "correct horse 1", "name": "Ann"})
        _assert_refused(status, body, 422, "email")
    status, body = api.call("auth", "POST", "/api/auth/register",
                            {"email": "zed@example.com", "password": "correct horse 1", "name": "Z\x1bed"})
    _assert_refused(status, body, 422, "name")


def test_bad_bytes_are_refused_in_the_contracts_shape_on_every_json_route(api, kms_key):  # noqa: F811
    token, _ = api.register()
    deep = "[" * 1000 + "]" * 1000
    routes = [("bots", "POST", "/api/bots"), ("bots", "POST", "/api/capital/injections"),
              ("auth", "POST", "/api/auth/login"), ("keys", "PUT", "/api/keys/luno"),
              ("training", "POST", "/api/training/start")]
    for function, method, path in routes:
        cases = [
            (rest_event(method, path, token=token, raw_body="capital=1", headers={"Content-Type": "text/plain"}),
             415),
            (rest_event(method, path, token=token, raw_body="--x\r\n",
                        headers={"Content-Type": "multipart/form-data"}), 415),
            (rest_event(method, path, token=token, raw_body=deep), 400),
            (rest_event(method, path, token=token, raw_body=json.dumps({"name": json.loads("[" * 50 + "]" * 50)})),
             400),
            (rest_event(method, path, token=token, raw_body="{" + "1" * 5000), 400),
            (rest_event(method, path, token=token, raw_body='{"capital": ' + "9" * 5000 + "}"), 400),
            (rest_event(method, path, token=token, raw_body="x" * (65 * 1024)), 413),
            (rest_event(method, path, token=token, raw_body="{not json"), 400),
        ]
        not_utf8 = rest_event(method, path, token=token, raw_body=base64.b64encode(b"\xff\xfe\x00{").decode())
        not_utf8["isBase64Encoded"] = True
        cases.append((not_utf8, 400))
        for event, expected in cases:
            status, body = _raw(function, event)
            _assert_refused(status, body, expected)


@pytest.mark.parametrize("cursor", [
    "eyJwayI6ICJ4In0=",  # {"pk": "x"}: the review's example
    "not base64 at all!", "AAAA", base64.urlsafe_b64encode(b"[1,2]").decode(),
    base64.urlsafe_b64encode(json.dumps({"pk": {"S": "USER#someone-else"}, "sk": {"S": "BOT#x"}}).encode()).decode(),
    base64.urlsafe_b64encode(json.dumps({"pk": {"N": "1"}, "sk": {"S": "BOT#x"}}).encode()).decode(),
    base64.urlsafe_b64encode(json.dumps({"pk": {"S": "x"}, "sk": {"S": "y"}, "extra": {"S": "z"}}).encode()).decode(),
    "x" * 5000,
], ids=lambda cursor: cursor[:24])
def test_a_tampered_or_foreign_cursor_is_a_400(api, cursor):
    token, _ = api.register()
    for path in ("/api/bots", "/api/trades", "/api/capital/injections"):
        status, body = api.call("bots", "GET", f"{path}?cursor={cursor}", token=token)
        _assert_refused(status, body, 422 if len(cursor) > 1024 else 400)  # too long: the schema's bound


def test_a_cursor_for_the_right_partition_but_another_listing_is_a_400_not_a_500(api):
    token, user = api.register()
    # A key of the caller's own partition without the index keys the trades listing (gsi1) needs.
    own = {"gsi1pk": {"S": f"USER#{user['id']}#TRADES"}, "pk": {"S": "x"}, "sk": {"S": "y"}}
    cursor = base64.urlsafe_b64encode(json.dumps(own).encode()).decode()
    status, body = api.call("bots", "GET", f"/api/trades?cursor={cursor}", token=token)
    assert status in (200, 400), body


def test_an_idempotency_key_reused_for_another_request_is_a_409(api):
    token, _ = api.register()
    bot = api.call("bots", "POST", "/api/bots", BOT, token=token)[1]
    deposit = {"bot_id": bot["id"], "amount": "100", "kind": "deposit"}
    key = {"Idempotency-Key": "dep-1"}
    first = api.call("bots", "POST", "/api/capital/injections", deposit, token=token, headers=key)
    again = api.call("bots", "POST", "/api/capital/injections", deposit, token=token, headers=key)
    assert first[0] == again[0] == 201 and first[1] == again[1]
    for changed in ({**deposit, "amount": "200"}, {**deposit, "kind": "withdrawal"}):
        status, body = api.call("bots", "POST", "/api/capital/injections", changed, token=token, headers=key)
        _assert_refused(status, body, 409)
        assert body["error"]["code"] == "idempotency_key_reused"
    assert len(api.call("bots", "GET", "/api/capital/injections", token=token)[1]["items"]) == 1
    assert api.call("bots", "GET", f"/api/bots/{bot['id']}", token=token)[1]["capital"] == "50100"


def test_quarantine_history_of_someone_elses_bot_is_a_404(api):
    ann, _ = api.register()
    bob, _ = api.register("bob@example.com", "battery staple 9", "Bob")
    bot = api.call("bots", "POST", "/api/bots", BOT, token=ann)[1]
    assert api.call("quarantine", "GET", f"/api/quarantine/history?bot_id={bot['id']}", token=ann)[0] == 200
    status, body = api.call("quarantine", "GET", f"/api/quarantine/history?bot_id={bot['id']}", token=bob)
    _assert_refused(status, body, 404)
    _assert_refused(*api.call("quarantine", "GET", "/api/quarantine/history?bot_id=bot_nope", token=ann), 404)


def test_the_logger_forgets_the_previous_callers_user_id(api, caplog):
    token, user = api.register()
    with caplog.at_level(logging.INFO):
        api.call("bots", "GET", "/api/bots", token=token)
        caplog.clear()
        api.call("bots", "GET", "/api/bots/bot_nope")  # anonymous: 401, and logs nothing of the last caller
        api.call("ops", "GET", "/api/health")
    assert user["id"] not in caplog.text


def _poison(bot_id: str, owner_id: str, **attributes: dict) -> None:
    """What a store written before the edge bounded amounts can hold: numbers the table can't read back."""
    dynamodb = boto3.client("dynamodb", region_name="us-east-1")
    names = {f"#a{i}": name for i, name in enumerate(attributes)}
    values = {f":v{i}": value for i, value in enumerate(attributes.values())}
    dynamodb.update_item(TableName=TABLE, Key={"pk": {"S": f"USER#{owner_id}"}, "sk": {"S": f"BOT#{bot_id}"}},
                         UpdateExpression="SET " + ", ".join(f"#a{i} = :v{i}" for i in range(len(attributes))),
                         ExpressionAttributeNames=names, ExpressionAttributeValues=values)


def test_a_poisoned_or_failing_bot_is_paused_and_the_rest_of_its_shard_trades_on(api):
    token, user = api.register()
    shards = runtime.settings().tick_shards
    bots = []
    while len(bots) < 5:  # five bots in one shard
        bot = api.call("bots", "POST", "/api/bots", {**BOT, "name": f"b{len(bots)}"}, token=token)[1]
        bots = [b for b in [*bots, bot] if shard_of(b["id"], shards) == shard_of(bots[0]["id"] if bots else
                                                                                bot["id"], shards)]
    poisoned, broken, huge, healthy = bots[0], bots[1], bots[2], bots[3:]
    # What a store written before the edge bounded amounts can hold. 40 significant digits: more than DynamoDB
    # keeps, so the bot's next write would be refused (the engine must not even try to write it back).
    _poison(poisoned["id"], user["id"], capital={"N": "1234567890123456789012345678901234567890"})
    _poison(broken["id"], user["id"], ledger={"S": "not a ledger"})  # a bug's worth of corrupt state
    # 126 digits: boto3's own reader raised decimal.Rounded on it (and stopped the whole shard); read exactly
    # now, and storable, so this bot simply trades.
    _poison(huge["id"], user["id"], capital={"N": "1" + "0" * 125})
    load_handler("provision").handler({"action": "market_move", "exchange": "luno", "symbol": "BTC/ZAR",
                                       "move_pct": 5}, LambdaContext())
    shard = shard_of(healthy[0]["id"], shards)
    report = load_handler("engine").handler({"tick_id": "2026-11-24T10:00:00.000Z", "shard": shard},
                                            LambdaContext())
    assert report["failed"] == 2 and report["fills"] == len(healthy) + 1, report
    for bot in [huge, *healthy]:
        assert len(api.call("bots", "GET", f"/api/bots/{bot['id']}/trades", token=token)[1]["items"]) == 1
    status, current = api.call("bots", "GET", f"/api/bots/{poisoned['id']}", token=token)
    assert (status, current["status"], current["pause_reason"]) == (200, "paused", "engine_error")
    for bot in (poisoned, broken):
        events = api.call("bots", "GET", f"/api/bots/{bot['id']}/events", token=token)[1]["items"]
        assert events[0]["kind"] == "engine_pause" and events[0]["reason"] == "engine_error"
        # the owner can always get rid of it
        assert api.call("bots", "DELETE", f"/api/bots/{bot['id']}", token=token)[0] == 204
    # the next tick runs only the bots that can run
    report = load_handler("engine").handler({"tick_id": "2026-11-24T10:01:00.000Z", "shard": shard},
                                            LambdaContext())
    assert report["failed"] == 0 and report["bots"] == len(healthy) + 1, report


def test_a_bot_whose_state_cannot_be_read_fails_no_listing_and_can_still_go(api, caplog):
    """One corrupt bot item (a bug's worth of state) used to make its owner's bot list, their metrics and account
    deletion, and every admin's fleet list and fleet metrics, a 500: one tenant's item felt by everyone. Listings now
    leave it out (and log it), reading it alone is a 409 naming the problem, and it can still be deleted."""
    runtime.auth().ensure_admin("root@example.com", "admin passphrase 9")
    admin = api.call("auth", "POST", "/api/auth/login", {"email": "root@example.com",
                                                          "password": "admin passphrase 9"})[1]["access_token"]
    token, user = api.register()
    other_token, _ = api.register("bob@example.com", name="Bob")
    broken, fine = (api.call("bots", "POST", "/api/bots", {**BOT, "name": name}, token=token)[1]
                    for name in ("broken", "fine"))
    theirs = api.call("bots", "POST", "/api/bots", {**BOT, "name": "theirs"}, token=other_token)[1]
    _poison(broken["id"], user["id"], ledger={"S": "not a ledger"})
    json_accept = {"Accept": "application/json"}

    with caplog.at_level(logging.ERROR, logger="botfleet.bots"):
        status, page = api.call("bots", "GET", "/api/bots", token=token)
        assert status == 200 and [bot["id"] for bot in page["items"]] == [fine["id"]]
    assert any(getattr(record, "bot_id", None) == broken["id"] for record in caplog.records)
    status, error = api.call("bots", "GET", f"/api/bots/{broken['id']}", token=token)
    assert status == 409 and error["error"]["code"] == "bot_unreadable"
    assert api.call("bots", "POST", f"/api/bots/{broken['id']}/pause", token=token)[0] == 409
    assert api.call("ops", "GET", "/api/metrics", token=token, headers=json_accept)[1]["bots_by_status"][
        "running"] == 1
    status, fleet = api.call("admin", "GET", "/api/admin/bots", token=admin)
    assert status == 200 and {bot["id"] for bot in fleet["items"]} == {fine["id"], theirs["id"]}
    assert api.call("ops", "GET", "/api/metrics", token=admin, headers=json_accept)[1]["bots_by_status"][
        "running"] == 2

    # Its owner can delete it, or their whole account with it: nothing of it stays behind.
    assert api.call("auth", "DELETE", "/api/auth/me", {"password": "correct horse 1"}, token=token)[0] == 204
    table = boto3.client("dynamodb", region_name="us-east-1")
    left = table.scan(TableName=TABLE, FilterExpression="contains(pk, :id) OR contains(sk, :id)",
                      ExpressionAttributeValues={":id": {"S": broken["id"]}})["Items"]
    assert left == []


def test_a_filter_that_matches_little_reads_a_bounded_part_and_hands_back_a_cursor(api):
    """A filtered listing (trades by symbol, audit by actor, ...) over a long history: each request reads at most
    FILTERED_PAGES pages and answers with what matched so far and a cursor; following the cursors finds the match."""
    from botfleet.adapters.dynamo.table import FILTERED_PAGES

    table = runtime.table()
    pk = "FILTERTEST"
    for n in range(400):  # newest first: the one match is the oldest item
        table.put({"pk": pk, "sk": f"ITEM#{n:04d}", "kind": "match" if n == 0 else "other"})
    calls = []
    original = table.client.query
    table.client.query = lambda **kwargs: calls.append(1) or original(**kwargs)
    try:
        page, cursor, found, requests = [], None, [], 0
        while True:
            calls.clear()
            page, cursor = table.query("pk = :pk", {":pk": pk, ":kind": "match"}, filter_expression="kind = :kind",
                                       limit=1, cursor=cursor, partition=("pk", pk), newest_first=True)
            requests += 1
            assert len(calls) <= FILTERED_PAGES
            found += page
            if not cursor:
                break
    finally:
        table.client.query = original
    # 400 items at 25 a read: the first request reads 250 and finds nothing, the second finds the match (a full
    # page of 1, so a cursor after it), the third reads the end.
    assert [item["sk"] for item in found] == ["ITEM#0000"] and requests == 3
    # The server's own question (no partition: no cursor to hand out, e.g. "is there another admin?") reads on to
    # the answer.
    answer, _ = table.query("pk = :pk", {":pk": pk, ":kind": "match"}, filter_expression="kind = :kind", limit=1,
                            newest_first=True)
    assert [item["sk"] for item in answer] == ["ITEM#0000"]
