"""REST /api/ai through the real handlers against moto, without an LLM key: the deterministic assistant, proposals
and their confirmation (wrong, foreign, reused, expired tokens), memory and erasure, the audit trail."""

from __future__ import annotations

import pytest

from botfleet import runtime
from botfleet.clock import FixedClock
from tests.integration.conftest import TABLE

BOT = {"name": "grid-1", "exchange": "binance", "symbol": "BTC/USDT", "strategy": "sma_cross",
       "params": {"fast": 3, "slow": 8}, "mode": "paper", "capital": "1000"}
ADMIN_EMAIL, ADMIN_PASSWORD = "root@example.com", "admin passphrase 9"


@pytest.fixture
def admin_token(api):
    runtime.auth().ensure_admin(ADMIN_EMAIL, ADMIN_PASSWORD)
    status, session = api.call("auth", "POST", "/api/auth/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert status == 200
    return session["access_token"]


def bot(api, token, **changes):
    status, body = api.call("bots", "POST", "/api/bots", {**BOT, **changes}, token=token)
    assert status == 201, body
    return body


def status_of(api, token, bot_id):
    return api.call("bots", "GET", f"/api/bots/{bot_id}", token=token)[1]["status"]


def chat(api, token, message):
    status, body = api.call("assistant", "POST", "/api/ai/chat", {"message": message}, token=token)
    assert status == 200, body
    return body


def execute(api, token, action, **extra):
    body = {"action_id": action["id"], "confirmation_token": action["confirmation_token"], **extra}
    return api.call("assistant", "POST", "/api/ai/action/execute", body, token=token)


def audit_actions(api, admin_token, prefix="ai."):
    status, page = api.call("admin", "GET", "/api/admin/audit?limit=200", token=admin_token)
    assert status == 200, page
    return [entry for entry in page["items"] if entry["action"].startswith(prefix)]


def test_status_answers_from_the_callers_own_bots_only(api):
    ann, _ = api.register("ann@example.com")
    bob, _ = api.register("bob@example.com")
    bot(api, ann, name="ann-trend")
    bot(api, bob, name="bob-secret")
    reply = chat(api, ann, "how are my bots doing?")
    assert "1 running" in reply["reply"] and "ann-trend" in reply["reply"]
    assert "bob-secret" not in reply["reply"]
    assert reply["actions"] == [] and reply["source"] == "rules"
    assert "nothing to stop" not in chat(api, bob, "status")["reply"]


def test_emergency_stop_waits_for_the_confirmation_then_pauses_every_bot_of_the_caller(api, admin_token):
    ann, _ = api.register("ann@example.com")
    bob, _ = api.register("bob@example.com")
    mine = [bot(api, ann, name=f"a{i}")["id"] for i in range(3)]
    theirs = bot(api, bob, name="b0")["id"]

    reply = chat(api, ann, "emergency stop")
    [action] = reply["actions"]
    assert action["type"] == "emergency_stop" and action["requires_confirmation"] is True
    assert {entry["id"] for entry in action["preview"]["bots"]} == set(mine)
    assert all(entry["will"] == "pause" for entry in action["preview"]["bots"])
    assert all(status_of(api, ann, bot_id) == "running" for bot_id in mine)  # nothing happened yet

    wrong = execute(api, ann, {**action, "confirmation_token": "x" * 43})
    assert wrong[0] == 403 and wrong[1]["error"]["code"] == "invalid_confirmation"
    foreign = execute(api, bob, action)  # Bob has Ann's id and token: her proposal is not his to see
    assert foreign[0] == 404
    assert all(status_of(api, ann, bot_id) == "running" for bot_id in mine)

    status, done = execute(api, ann, action)
    assert status == 200, done
    assert done["status"] == "done" and {b["id"] for b in done["result"]["paused"]} == set(mine)
    assert all(status_of(api, ann, bot_id) == "paused" for bot_id in mine)
    assert status_of(api, bob, theirs) == "running"

    reused = execute(api, ann, action)
    assert reused[0] == 409 and reused[1]["error"]["code"] == "action_used"

    history = api.call("assistant", "GET", "/api/ai/chat/history", token=ann)[1]["items"]
    assert [m["role"] for m in history] == ["user", "assistant", "assistant"]
    assert history[0]["text"] == "emergency stop" and history[-1]["text"].startswith("Done: paused 3")
    assert "confirmation_token" not in str(history)

    log = audit_actions(api, admin_token)
    kinds = [entry["action"] for entry in log]
    for kind in ("ai.action.proposed", "ai.action.confirmed", "ai.action.executed", "ai.action.refused"):
        assert kind in kinds, kinds
    refusals = [entry["after"]["why"] for entry in log if entry["action"] == "ai.action.refused"]
    assert "wrong confirmation token" in refusals and "already used" in refusals
    assert "unknown action (or another user's)" in refusals
    assert all(entry["request_id"] for entry in log)


def test_an_expired_token_is_refused_and_changes_nothing(api, admin_token, monkeypatch):
    ann, _ = api.register("ann@example.com")
    bot_id = bot(api, ann)["id"]
    clock = FixedClock()
    clock._now = runtime.clock().now()
    monkeypatch.setattr(runtime.assistant(), "clock", clock)
    monkeypatch.setattr(runtime.assistant().confirmations, "clock", clock)
    [action] = chat(api, ann, "pause grid-1")["actions"]
    clock.advance(seconds=121)
    status, body = execute(api, ann, action)
    assert status == 410 and body["error"]["code"] == "action_expired"
    assert status_of(api, ann, bot_id) == "running"
    assert "ai.action.expired" in [entry["action"] for entry in audit_actions(api, admin_token)]


def test_a_token_confirms_only_its_own_action(api):
    ann, _ = api.register("ann@example.com")
    first, second = bot(api, ann, name="one")["id"], bot(api, ann, name="two")["id"]
    [pause_one] = chat(api, ann, "pause one")["actions"]
    [pause_two] = chat(api, ann, "pause two")["actions"]
    swapped = {"id": pause_two["id"], "confirmation_token": pause_one["confirmation_token"]}
    assert execute(api, ann, swapped)[0] == 403
    assert status_of(api, ann, first) == status_of(api, ann, second) == "running"


def test_of_two_racing_confirmations_only_one_conditional_write_wins(api):
    """Two confirmations that both read the proposal as pending meet at DynamoDB's conditional write: exactly one
    moves it on; the other changes nothing, and a confirmation after it is refused as used."""
    ann, user = api.register("ann@example.com")
    bot_id = bot(api, ann)["id"]
    [action] = chat(api, ann, "pause grid-1")["actions"]
    store = runtime.assistant().store
    proposal = store.proposal(user["id"], action["id"])
    now = int(runtime.clock().now().timestamp())
    race = [store.transition(user["id"], action["id"], to="executing", token_hash=proposal["token_hash"],
                             valid_after_epoch=now) for _ in range(2)]
    assert race == [True, False]
    assert execute(api, ann, action)[0] == 409
    assert status_of(api, ann, bot_id) == "running"  # the winner here was the test, which ran no action


def test_cancel_ends_a_proposal(api, admin_token):
    ann, _ = api.register("ann@example.com")
    bot_id = bot(api, ann)["id"]
    [action] = chat(api, ann, "pause grid-1")["actions"]
    status, body = api.call("assistant", "POST", "/api/ai/action/cancel", {"action_id": action["id"]}, token=ann)
    assert status == 200 and body == {"action_id": action["id"], "status": "cancelled"}
    assert execute(api, ann, action)[0] == 409
    assert status_of(api, ann, bot_id) == "running"
    assert "ai.action.cancelled" in [entry["action"] for entry in audit_actions(api, admin_token)]


def test_resume_and_the_quarantine_question(api):
    ann, _ = api.register("ann@example.com")
    bot_id = bot(api, ann)["id"]
    assert "not quarantined: it is running" in chat(api, ann, "why is grid-1 quarantined?")["reply"]
    assert api.call("bots", "POST", f"/api/bots/{bot_id}/pause", token=ann)[0] == 200
    [action] = chat(api, ann, "resume grid-1")["actions"]
    assert execute(api, ann, action)[0] == 200
    assert status_of(api, ann, bot_id) == "running"
    assert "no bot called 'nope'" in chat(api, ann, "pause nope")["reply"]


def test_show_admin_is_refused_to_a_user_and_needs_the_password_from_an_admin(api, admin_token):
    ann, _ = api.register("ann@example.com")
    reply = chat(api, ann, "show admin")
    assert reply["actions"] == [] and "admins only" in reply["reply"]
    assert chat(api, ann, "stop all")["actions"] == []

    [unlock] = chat(api, admin_token, "show admin")["actions"]
    assert unlock["type"] == "show_admin" and unlock["needs_password"] is True
    assert execute(api, admin_token, unlock)[0] == 422  # no password
    assert execute(api, admin_token, unlock, password="not it at all")[0] == 403
    status, done = execute(api, admin_token, unlock, password=ADMIN_PASSWORD)
    assert status == 200 and "fleet_emergency_stop" in done["result"]["admin_tools"]
    assert "ai.refused" in [entry["action"] for entry in audit_actions(api, admin_token)]


def test_an_admins_fleet_stop_pauses_other_users_bots_only_after_confirmation(api, admin_token):
    ann, _ = api.register("ann@example.com")
    bots = [bot(api, ann, name=f"a{i}")["id"] for i in range(2)]
    assert "locked" in chat(api, admin_token, "stop all")["reply"]  # not unlocked yet
    [unlock] = chat(api, admin_token, "show admin")["actions"]
    assert execute(api, admin_token, unlock, password=ADMIN_PASSWORD)[0] == 200
    [stop] = chat(api, admin_token, "emergency stop all")["actions"]
    assert stop["type"] == "fleet_emergency_stop" and stop["preview"]["pause"] == 2
    assert all(status_of(api, ann, bot_id) == "running" for bot_id in bots)
    status, done = execute(api, admin_token, stop)
    assert status == 200 and len(done["result"]["paused"]) == 2
    assert all(status_of(api, ann, bot_id) == "paused" for bot_id in bots)


def test_memory_is_per_user_readable_and_erasable(api, admin_token):
    ann, _ = api.register("ann@example.com")
    bob, _ = api.register("bob@example.com")
    bot(api, ann)
    chat(api, ann, "remember I only trade on Luno")
    assert "I only trade on Luno" in chat(api, ann, "what do you remember?")["reply"]
    assert "Luno" not in chat(api, bob, "what do you remember?")["reply"]
    [pending] = chat(api, ann, "pause grid-1")["actions"]
    status, page = api.call("assistant", "GET", "/api/ai/chat/history", token=ann)
    assert status == 200 and page["memory"]["facts"] == ["I only trade on Luno"] and len(page["items"]) == 6

    assert api.call("assistant", "DELETE", "/api/ai/chat/history", token=ann)[0] == 204
    status, page = api.call("assistant", "GET", "/api/ai/chat/history", token=ann)
    assert status == 200 and page == {"items": [], "next_cursor": None, "memory": {"facts": []}}
    assert execute(api, ann, pending)[0] == 409  # erased with the conversation: cancelled
    assert api.call("assistant", "GET", "/api/ai/chat/history", token=bob)[1]["items"]  # Bob's is untouched
    assert "ai.memory.erased" in [entry["action"] for entry in audit_actions(api, admin_token)]


def test_history_pages_back_newest_last(api):
    ann, _ = api.register("ann@example.com")
    for i in range(3):
        chat(api, ann, f"remember fact {i}")
    status, first = api.call("assistant", "GET", "/api/ai/chat/history?limit=2", token=ann)
    assert status == 200 and [m["role"] for m in first["items"]] == ["user", "assistant"]
    assert first["items"][0]["text"] == "remember fact 2" and first["next_cursor"]
    status, older = api.call("assistant", "GET", f"/api/ai/chat/history?limit=2&cursor={first['next_cursor']}",
                             token=ann)
    assert older["items"][0]["text"] == "remember fact 1"


@pytest.mark.parametrize("body", [
    {"message": ""}, {"message": "x" * 2001}, {"message": "status\u0000"}, {"message": 5}, {},
    {"message": "hi", "extra": 1},
])
def test_bad_chat_input_is_a_4xx_and_stores_nothing(api, aws, body):
    ann, user = api.register("ann@example.com")
    status, reply = api.call("assistant", "POST", "/api/ai/chat", body, token=ann)
    assert status in (400, 422) and "error" in reply
    items = aws.query(TableName=TABLE, KeyConditionExpression="pk = :pk",
                      ExpressionAttributeValues={":pk": {"S": f"USER#{user['id']}"}})["Items"]
    assert not [item for item in items if item["sk"]["S"].startswith("AICHAT#")]


def test_chat_is_rate_limited_per_user(api, monkeypatch):
    ann, _ = api.register("ann@example.com")
    bob, _ = api.register("bob@example.com")
    monkeypatch.setattr(runtime.assistant(), "chats_per_minute", 2)
    chat(api, ann, "help")
    chat(api, ann, "help")
    status, body = api.call("assistant", "POST", "/api/ai/chat", {"message": "help"}, token=ann)
    assert status == 429 and body["error"]["code"] == "too_many_messages"
    chat(api, bob, "help")  # another user is not felt


def test_anonymous_callers_get_401(api):
    for method, path in (("POST", "/api/ai/chat"), ("GET", "/api/ai/chat/history"),
                         ("DELETE", "/api/ai/chat/history"), ("POST", "/api/ai/action/execute"),
                         ("POST", "/api/ai/action/cancel")):
        assert api.call("assistant", method, path, {})[0] == 401
