"""Admin on the local cloud, over real HTTP and WebSocket: every action takes effect at once and is audited."""

from __future__ import annotations

import asyncio

import pytest
import websockets

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD, ws_url


@pytest.fixture
def admin(http):
    reply = http.post("/api/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert reply.status_code == 200
    return {"Authorization": f"Bearer {reply.json()['access_token']}"}


def _audit(http, admin, action):
    return http.get(f"/api/admin/audit?action={action}", headers=admin).json()["items"]


def test_block_refuses_the_token_closes_the_socket_and_login_is_403(http, new_user, admin):
    user = new_user()

    async def blocked_while_connected():
        async with websockets.connect(ws_url(http, user.token)) as socket:
            await socket.send('{"action":"ping"}')
            assert "pong" in await asyncio.wait_for(socket.recv(), 5)
            reply = await asyncio.to_thread(http.post, f"/api/admin/users/{user.user['id']}/block", headers=admin)
            assert reply.status_code == 200 and reply.json()["blocked"] is True
            with pytest.raises(websockets.exceptions.ConnectionClosed):
                while True:  # the server closes the socket
                    await asyncio.wait_for(socket.recv(), 5)

    asyncio.run(blocked_while_connected())
    assert user.get("/api/bots").status_code in (401, 403)
    login = http.post("/api/auth/login", json={"email": user.email, "password": user.password})
    assert (login.status_code, login.json()["error"]["code"]) == (403, "account_blocked")
    assert http.post(f"/api/admin/users/{user.user['id']}/unblock", headers=admin).status_code == 200
    assert http.post("/api/auth/login", json={"email": user.email, "password": user.password}).status_code == 200
    targets = {entry["target"] for entry in _audit(http, admin, "user.block") + _audit(http, admin, "user.unblock")}
    assert f"user:{user.user['id']}" in targets


def test_force_logout_and_reset_password(http, new_user, admin):
    user = new_user()
    assert http.post(f"/api/admin/users/{user.user['id']}/logout", headers=admin).status_code == 200
    assert user.get("/api/auth/me").status_code == 401
    reset = http.post(f"/api/admin/users/{user.user['id']}/reset-password", headers=admin)
    temporary = reset.json()["temporary_password"]
    assert http.post("/api/auth/login", json={"email": user.email, "password": user.password}).status_code == 401
    assert http.post("/api/auth/login", json={"email": user.email, "password": temporary}).status_code == 200
    assert _audit(http, admin, "user.logout") and _audit(http, admin, "user.reset_password")


def test_delete_cascades(http, new_user, admin):
    user = new_user()
    bot = user.post("/api/bots", {"name": "doomed", "exchange": "kucoin", "symbol": "BTC/USDT",
                                  "strategy": "sma_cross", "capital": "500"}).json()
    assert http.delete(f"/api/admin/users/{user.user['id']}", headers=admin).status_code == 204
    assert http.post("/api/auth/login", json={"email": user.email, "password": user.password}).status_code == 401
    fleet = http.get("/api/admin/bots?limit=200", headers=admin).json()["items"]
    assert bot["id"] not in {b["id"] for b in fleet}
    assert http.post(f"/api/admin/bots/{bot['id']}/pause", headers=admin).status_code == 404
    (entry,) = [e for e in _audit(http, admin, "user.delete") if e["target"] == f"user:{user.user['id']}"]
    assert entry["after"]["bots_removed"] == 1 and entry["before"]["email"] == user.email


def test_users_cannot_reach_admin_routes_and_metrics_are_scoped(http, new_user, admin):
    user = new_user()
    assert http.get("/api/admin/users").status_code == 401
    assert user.get("/api/admin/users").status_code == 403
    mine = http.get("/api/metrics", headers={**user.headers, "Accept": "application/json"}).json()
    fleet = http.get("/api/metrics", headers={**admin, "Accept": "application/json"}).json()
    assert (mine["scope"], fleet["scope"]) == ("user", "fleet")
    text = http.get("/api/metrics", headers=admin)
    assert text.headers["content-type"].startswith("text/plain") and "botfleet_bots" in text.text
