"""Bad input everywhere gets the contract's error shape and status, never a 5xx."""

import pytest

from tests.e2e.conftest import ADMIN_EMAIL, ADMIN_PASSWORD


def _error(reply, status, code=None):
    assert reply.status_code == status, reply.text
    body = reply.json()
    assert set(body) == {"error"} and set(body["error"]) == {"code", "message"}
    if code:
        assert body["error"]["code"] == code
    return body["error"]


@pytest.mark.parametrize(("method", "path"), [("GET", "/api/nope"), ("POST", "/api/bots/x/teleport"),
                                              ("GET", "/api"), ("DELETE", "/api/strategies/sma")])
def test_unknown_routes_answer_json_404(http, new_user, method, path):
    trader = new_user()
    _error(http.request(method, path, headers=trader.headers), 404)


def test_public_endpoints(http, cloud):
    health = http.get("/api/health")
    assert health.status_code == 200 and health.json()["status"] == "ok"
    assert all(value == "ok" for value in health.json()["checks"].values())
    config = http.get("/api/config").json()
    assert config["ws_url"].startswith("ws://127.0.0.1:") and config["ws_url"].endswith("/api/ws")
    assert set(config["exchanges"]) == {"luno", "binance", "kucoin", "valr", "ovex"}
    assert set(config["providers"]) == {"openai", "luno", "binance", "kucoin", "valr", "ovex"}


def test_the_first_admin_exists(http):
    login = http.post("/api/auth/login", json={"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD})
    assert login.status_code == 200 and login.json()["user"]["role"] == "admin"


def test_error_statuses(http, new_user):
    trader, other = new_user(), new_user()
    _error(http.get("/api/bots"), 401, "not_authenticated")
    _error(http.get("/api/bots", headers={"Authorization": "Bearer nope"}), 401, "invalid_token")
    _error(http.post("/api/auth/register", content=b"{oops", headers={"Content-Type": "application/json"}), 400)
    _error(http.post("/api/auth/register", json={"email": trader.email, "password": "whatever 123",
                                                  "name": "Again"}), 409, "email_taken")
    message = _error(trader.post("/api/bots", {"name": "x", "exchange": "binance", "symbol": "BTC/USDT",
                                               "strategy": "sma_cross", "capital": "1"}), 422)["message"]
    assert "min notional" in message
    bot = trader.post("/api/bots", {"name": "x", "exchange": "binance", "symbol": "BTC/USDT",
                                    "strategy": "sma_cross", "capital": "100"}).json()
    _error(other.get(f"/api/bots/{bot['id']}"), 404, "not_found")
    _error(trader.post(f"/api/bots/{bot['id']}/resume"), 409, "invalid_transition")
    _error(trader.get("/api/bots?limit=0"), 422)
    for _ in range(5):
        http.post("/api/auth/login", json={"email": other.email, "password": "wrong password 1"})
    _error(http.post("/api/auth/login", json={"email": other.email, "password": other.password}), 429)
