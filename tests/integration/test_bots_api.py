import pytest

BOT = {"name": "trend", "exchange": "binance", "symbol": "BTC/USDT", "strategy": "sma_cross",
       "params": {"fast": 3, "slow": 8}, "mode": "paper", "capital": "1000"}


def test_bot_crud_and_lifecycle(api):
    token, _ = api.register()
    status, bot = api.call("bots", "POST", "/api/bots", BOT, token=token)
    assert status == 201, bot
    assert bot["status"] == "running" and bot["capital"] == "1000" and bot["generation"] == 1
    for field in ("id", "name", "exchange", "symbol", "strategy", "params", "mode", "status", "pause_reason",
                  "pause_count", "generation", "parent_id", "capital", "created_at"):
        assert field in bot
    url = f"/api/bots/{bot['id']}"
    assert api.call("bots", "GET", url, token=token)[1]["name"] == "trend"
    status, patched = api.call("bots", "PATCH", url, {"name": "renamed", "params": {"fast": 4, "slow": 9},
                                                      "capital": "1500"}, token=token)
    assert status == 200 and patched["name"] == "renamed" and patched["params"] == {"fast": 4, "slow": 9}
    assert patched["capital"] == "1500" and patched["cash"] == "1500"

    status, paused = api.call("bots", "POST", f"{url}/pause", token=token)
    assert (status, paused["status"], paused["pause_reason"]) == (200, "paused", "manual")
    status, body = api.call("bots", "POST", f"{url}/pause", token=token)
    assert (status, body["error"]["code"]) == (409, "invalid_transition")
    assert api.call("bots", "POST", f"{url}/resume", token=token)[1]["status"] == "running"
    assert api.call("bots", "POST", f"{url}/stop", token=token)[1]["status"] == "stopped"
    assert api.call("bots", "POST", f"{url}/start", token=token)[1]["status"] == "running"

    assert api.call("bots", "DELETE", url, token=token)[0] == 204
    assert api.call("bots", "GET", url, token=token)[0] == 404


def test_another_users_bot_is_404_everywhere(api):
    ann, _ = api.register()
    bob, _ = api.register("bob@example.com", "battery staple 9", "Bob")
    bot = api.call("bots", "POST", "/api/bots", BOT, token=ann)[1]
    url = f"/api/bots/{bot['id']}"
    for method, path, body in [("GET", url, None), ("PATCH", url, {"name": "mine"}), ("DELETE", url, None),
                               ("POST", f"{url}/pause", None), ("GET", f"{url}/trades", None)]:
        status, reply = api.call("bots", method, path, body, token=bob)
        assert (status, reply["error"]["code"]) == (404, "not_found"), (method, path)
    assert api.call("bots", "GET", "/api/bots", token=bob)[1]["items"] == []
    assert api.call("bots", "GET", url, token=ann)[1]["name"] == "trend"


@pytest.mark.parametrize(
    ("change", "status", "message"),
    [
        ({"capital": "1"}, 422, "min notional"),
        # Luno's 0.0005 BTC costs ~R 830 at the simulator's price: R 500 clears the R 10 notional, never trades.
        ({"exchange": "luno", "symbol": "BTC/ZAR", "capital": "500"}, 422, "cannot buy the minimum amount"),
        ({"capital": 12.5}, 422, "capital"),
        ({"capital": "lots"}, 422, "capital"),
        ({"exchange": "ftx"}, 422, "exchange"),
        ({"symbol": "BTC/ZAR"}, 422, "symbol"),
        ({"strategy": "martingale"}, 422, "strategy"),
        ({"params": {"fast": 50, "slow": 10}}, 422, "params.fast"),
        ({"mode": "yolo"}, 422, "mode"),
        ({"mode": "live"}, 409, "API key"),
        ({"name": ""}, 422, "name"),
    ],
)
def test_bad_bots_are_refused_with_the_field_named(api, change, status, message):
    token, _ = api.register()
    got, body = api.call("bots", "POST", "/api/bots", {**BOT, **change}, token=token)
    assert got == status, body
    assert message in body["error"]["message"]


def test_listing_pages_with_cursor_and_rejects_foreign_cursors(api):
    ann, _ = api.register()
    bob, _ = api.register("bob@example.com", "battery staple 9", "Bob")
    created = {api.call("bots", "POST", "/api/bots", {**BOT, "name": f"b{i}"}, token=ann)[1]["id"] for i in range(5)}
    api.call("bots", "POST", "/api/bots", BOT, token=bob)
    seen, cursor = [], None
    while True:
        query = "?limit=2" + (f"&cursor={cursor}" if cursor else "")
        status, page = api.call("bots", "GET", f"/api/bots{query}", token=ann)
        assert status == 200 and len(page["items"]) <= 2
        seen += [bot["id"] for bot in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert set(seen) == created and len(seen) == 5
    first = api.call("bots", "GET", "/api/bots?limit=1", token=ann)[1]["next_cursor"]
    status, body = api.call("bots", "GET", f"/api/bots?limit=1&cursor={first}", token=bob)
    assert (status, body["error"]["code"]) == (400, "invalid_cursor")
    assert api.call("bots", "GET", "/api/bots?limit=500", token=ann)[0] == 422
    assert api.call("bots", "GET", "/api/bots?cursor=%%%", token=ann)[0] == 400


def test_strategies_list_the_parameter_space(api):
    token, _ = api.register()
    status, body = api.call("bots", "GET", "/api/strategies", token=token)
    assert status == 200
    sma = next(s for s in body["items"] if s["name"] == "sma_cross")
    assert {p["name"] for p in sma["params"]} == {"fast", "slow"}


def test_a_create_retried_with_its_idempotency_key_makes_one_bot(api):
    """A client that timed out and sends the same request again (a live bot twice would trade the capital twice)."""
    token, _ = api.register()
    spec = {"name": "once", "exchange": "luno", "symbol": "BTC/ZAR", "strategy": "sma_cross",
            "params": {"fast": 2, "slow": 3}, "mode": "paper", "capital": "50000"}
    first = api.call("bots", "POST", "/api/bots", spec, token=token, headers={"Idempotency-Key": "create-1"})
    again = api.call("bots", "POST", "/api/bots", spec, token=token, headers={"idempotency-key": "create-1"})
    assert first[0] == again[0] == 201 and first[1]["id"] == again[1]["id"]
    other = api.call("bots", "POST", "/api/bots", {**spec, "capital": "60000"}, token=token,
                     headers={"Idempotency-Key": "create-1"})
    assert (other[0], other[1]["error"]["code"]) == (409, "idempotency_key_reused")
    assert [bot["id"] for bot in api.call("bots", "GET", "/api/bots", token=token)[1]["items"]] == [first[1]["id"]]
    # Keys are the caller's own: another user's same key makes their own bot.
    bob, _ = api.register("bob@example.com", "battery staple 9", "Bob")
    theirs = api.call("bots", "POST", "/api/bots", spec, token=bob, headers={"Idempotency-Key": "create-1"})
    assert theirs[0] == 201 and theirs[1]["id"] != first[1]["id"]
    # Without a key every request is a new bot.
    assert api.call("bots", "POST", "/api/bots", spec, token=token)[1]["id"] != first[1]["id"]
