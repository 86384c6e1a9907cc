"""The assistant's acceptance on the local cloud, over real HTTP and a real WebSocket, with no LLM key: proposals wait
for a confirmation; wrong, foreign, reused and expired tokens change nothing; the right one acts; the history, the
audit log and the WebSocket show it; an admin's fleet stop needs the unlock and the confirmation."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
import websockets

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, E2E_CONTEXT, User, decode, ws_url

# Tokens live CONFIRMATION_SECONDS here (120 by default) so the expiry can be watched without waiting 2 minutes;
# every other confirmation below follows its proposal within a second.
CONFIRMATION_SECONDS = 5
CDK_CONTEXT = {**E2E_CONTEXT, "botfleet:assistant_confirmation_seconds": CONFIRMATION_SECONDS}
BOT = {"exchange": "luno", "symbol": "BTC/ZAR", "strategy": "sma_cross", "params": {"fast": 2, "slow": 3},
       "mode": "paper", "capital": "50000"}


@pytest.fixture(scope="module")
def admin(http):
    login = http.post("/api/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert login.status_code == 200, login.text
    return User(http, ADMIN_EMAIL, ADMIN_PASSWORD, login.json()["access_token"], login.json()["user"])


def bots_of(user: User, count: int) -> list[str]:
    ids = []
    for i in range(count):
        reply = user.post("/api/bots", {**BOT, "name": f"bot-{i}"})
        assert reply.status_code == 201, reply.text
        ids.append(reply.json()["id"])
    return ids


def statuses(user: User, ids: list[str]) -> set[str]:
    return {user.get(f"/api/bots/{bot_id}").json()["status"] for bot_id in ids}


def chat(user: User, message: str) -> dict:
    reply = user.post("/api/ai/chat", {"message": message})
    assert reply.status_code == 200, reply.text
    return reply.json()


def execute(user: User, action: dict, **extra) -> httpx.Response:
    return user.post("/api/ai/action/execute", {"action_id": action["id"],
                                                "confirmation_token": action["confirmation_token"], **extra})


def audit(admin: User) -> list[dict]:
    reply = admin.get("/api/admin/audit", params={"limit": 200})
    assert reply.status_code == 200, reply.text
    return reply.json()["items"]


async def _next_assistant_message(socket, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        message = decode(await asyncio.wait_for(socket.recv(), max(0.01, deadline - time.monotonic())))
        if message.get("type") == "assistant":
            return message


def test_emergency_stop_acts_only_on_the_right_token(http, new_user, admin):
    ann, bob = new_user("Ann"), new_user("Bob")
    mine, theirs = bots_of(ann, 3), bots_of(bob, 1)

    proposal = chat(ann, "emergency stop")
    [action] = proposal["actions"]
    assert action["type"] == "emergency_stop" and action["requires_confirmation"]
    assert sorted(b["id"] for b in action["preview"]["bots"]) == sorted(mine)
    assert statuses(ann, mine) == {"running"}  # proposed, not done

    wrong = execute(ann, {**action, "confirmation_token": "not-the-token"})
    foreign = execute(bob, action)  # Bob holding Ann's action id and token
    assert (wrong.status_code, foreign.status_code) == (403, 404)
    assert statuses(ann, mine) == {"running"}

    done = execute(ann, action)
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "done" and len(done.json()["result"]["paused"]) == 3
    assert statuses(ann, mine) == {"paused"} and statuses(bob, theirs) == {"running"}

    reused = execute(ann, action)
    assert reused.status_code == 409 and reused.json()["error"]["code"] == "action_used"

    history = ann.get("/api/ai/chat/history").json()["items"]
    assert history[0]["text"] == "emergency stop" and history[-1]["text"].startswith("Done: paused 3")

    entries = [e for e in audit(admin) if e["actor"] == ann.user["id"] and e["action"].startswith("ai.")]
    kinds = {e["action"] for e in entries}
    assert {"ai.action.proposed", "ai.action.confirmed", "ai.action.executed", "ai.action.refused"} <= kinds
    refusals = {e["after"]["why"] for e in entries if e["action"] == "ai.action.refused"}
    assert {"wrong confirmation token", "already used"} <= refusals
    bob_refusals = [e for e in audit(admin) if e["actor"] == bob.user["id"] and e["action"] == "ai.action.refused"]
    assert bob_refusals and all(e["request_id"] for e in entries + bob_refusals)


def test_an_expired_token_is_refused_and_changes_nothing(new_user, admin):
    ann = new_user("Ann")
    ids = bots_of(ann, 1)
    [action] = chat(ann, "pause bot-0")["actions"]
    time.sleep(CONFIRMATION_SECONDS + 1)
    expired = execute(ann, action)
    assert expired.status_code == 410 and expired.json()["error"]["code"] == "action_expired"
    assert statuses(ann, ids) == {"running"}
    assert any(e["action"] == "ai.action.expired" and e["actor"] == ann.user["id"] for e in audit(admin))


def test_fleet_stop_is_admin_only_unlocked_by_password_and_confirmed(new_user, admin):
    ann = new_user("Ann")
    ids = bots_of(ann, 2)
    refused = chat(ann, "stop all")  # a user can't, however it is phrased
    assert refused["actions"] == [] and "admins only" in refused["reply"]
    assert chat(ann, "show admin")["actions"] == []
    assert statuses(ann, ids) == {"running"}

    assert "locked" in chat(admin, "emergency stop all")["reply"]
    [unlock] = chat(admin, "show admin")["actions"]
    assert unlock["needs_password"]
    assert execute(admin, unlock, password="wrong password 1").status_code == 403
    assert execute(admin, unlock, password=ADMIN_PASSWORD).status_code == 200

    [stop] = chat(admin, "emergency stop all")["actions"]
    assert stop["type"] == "fleet_emergency_stop"
    assert set(ids) <= {b["id"] for b in stop["preview"]["bots"]}
    assert statuses(ann, ids) == {"running"}  # not before the confirmation
    done = execute(admin, stop)
    assert done.status_code == 200, done.text
    assert statuses(ann, ids) == {"paused"}


def test_replies_and_outcomes_reach_the_owners_websocket(http, new_user):
    ann = new_user("Ann")
    bots_of(ann, 1)

    async def journey():
        async with websockets.connect(ws_url(http, ann.token)) as socket:
            await socket.send('{"action":"subscribe","topics":["assistant"]}')
            [action] = chat(ann, "pause bot-0")["actions"]
            seen = [await _next_assistant_message(socket, 10) for _ in range(2)]
            assert [m["data"]["role"] for m in seen] == ["user", "assistant"]
            assert "confirmation_token" not in str(seen)
            assert execute(ann, action).status_code == 200
            outcome = await _next_assistant_message(socket, 10)
            assert outcome["data"]["actions"] == [{"id": action["id"], "type": "pause_bot", "status": "done"}]

    asyncio.run(journey())
