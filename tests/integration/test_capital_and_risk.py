"""Capital injections, the portfolio, per-exchange summaries, bot events and the circuit breakers, through
the real handlers against moto."""

from decimal import Decimal as D

from tests.integration.conftest import move_market, run_engine

BOT = {"name": "fast", "exchange": "luno", "symbol": "BTC/ZAR", "strategy": "sma_cross",
       "params": {"fast": 2, "slow": 3}, "mode": "paper", "capital": "50000"}


def _tick(bot_id, minute):
    return run_engine(bot_id, f"2026-11-24T10:{minute:02d}:00.000Z")


def _portfolio_row(api, token, bot_id):
    portfolio = api.call("bots", "GET", "/api/portfolio", token=token)[1]
    return next(row for row in portfolio["bots"] if row["bot_id"] == bot_id), portfolio


def test_a_deposit_leaves_pnl_and_returns_unchanged(api):
    token, _ = api.register()
    bot = api.call("bots", "POST", "/api/bots", BOT, token=token)[1]
    move_market(5)
    _tick(bot["id"], 0)
    before, _ = _portfolio_row(api, token, bot["id"])
    status, injection = api.call("bots", "POST", "/api/capital/injections",
                                 {"bot_id": bot["id"], "amount": "10000", "kind": "deposit"}, token=token)
    assert status == 201 and injection["kind"] == "deposit" and injection["currency"] == "ZAR"
    after, portfolio = _portfolio_row(api, token, bot["id"])
    assert D(after["equity"]) == D(before["equity"]) + 10000
    assert after["total_pnl"] == before["total_pnl"] and after["return_pct"] == before["return_pct"]
    assert after["net_injections"] == "10000"
    (zar,) = [t for t in portfolio["totals"] if t["currency"] == "ZAR"]
    assert zar["net_injections"] == "10000"
    listed = api.call("bots", "GET", f"/api/capital/injections?bot_id={bot['id']}", token=token)[1]["items"]
    assert [i["id"] for i in listed] == [injection["id"]]


def test_withdrawals_are_limited_to_free_cash_and_idempotent_with_a_key(api):
    token, _ = api.register()
    bot = api.call("bots", "POST", "/api/bots", BOT, token=token)[1]
    status, body = api.call("bots", "POST", "/api/capital/injections",
                            {"bot_id": bot["id"], "amount": "60000", "kind": "withdrawal"}, token=token)
    assert (status, body["error"]["code"]) == (422, "insufficient_funds")
    payload = {"bot_id": bot["id"], "amount": "1000", "kind": "withdrawal"}
    first = api.call("bots", "POST", "/api/capital/injections", payload, token=token,
                     headers={"Idempotency-Key": "k-1"})[1]
    again = api.call("bots", "POST", "/api/capital/injections", payload, token=token,
                     headers={"Idempotency-Key": "k-1"})[1]
    assert first["id"] == again["id"]
    assert api.call("bots", "GET", f"/api/bots/{bot['id']}", token=token)[1]["capital"] == "49000"


def test_patching_capital_is_a_recorded_flow(api):
    token, _ = api.register()
    bot = api.call("bots", "POST", "/api/bots", BOT, token=token)[1]
    status, patched = api.call("bots", "PATCH", f"/api/bots/{bot['id']}", {"capital": "60000"}, token=token)
    assert status == 200 and patched["capital"] == "60000" and patched["cash"] == "60000"
    (flow,) = api.call("bots", "GET", "/api/capital/injections", token=token)[1]["items"]
    assert (flow["kind"], flow["amount"]) == ("deposit", "10000")
    # The same request again (a retry) finds the capital there: no second flow.
    status, again = api.call("bots", "PATCH", f"/api/bots/{bot['id']}", {"capital": "60000"}, token=token)
    assert status == 200 and again["capital"] == "60000"
    assert len(api.call("bots", "GET", "/api/capital/injections", token=token)[1]["items"]) == 1


def test_a_patch_refused_for_its_params_moves_no_capital(api):
    token, _ = api.register()
    bot = api.call("bots", "POST", "/api/bots", BOT, token=token)[1]
    status, body = api.call("bots", "PATCH", f"/api/bots/{bot['id']}",
                            {"capital": "60000", "params": {"fast": 5, "slow": 2}}, token=token)  # fast < slow
    assert status == 422, body
    assert api.call("bots", "GET", f"/api/bots/{bot['id']}", token=token)[1]["capital"] == "50000"
    assert api.call("bots", "GET", "/api/capital/injections", token=token)[1]["items"] == []


def test_injections_into_someone_elses_bot_are_404(api):
    ann, _ = api.register()
    bob, _ = api.register("bob@example.com", "battery staple 9", "Bob")
    bot = api.call("bots", "POST", "/api/bots", BOT, token=ann)[1]
    status, _ = api.call("bots", "POST", "/api/capital/injections",
                         {"bot_id": bot["id"], "amount": "1", "kind": "deposit"}, token=bob)
    assert status == 404


def test_a_crash_trips_the_drawdown_breaker(api):
    token, _ = api.register()
    bot = api.call("bots", "POST", "/api/bots", {**BOT, "risk": {"max_drawdown_pct": "15"}}, token=token)[1]
    assert bot["risk"] == {"max_drawdown_pct": "15", "daily_loss_pct": "10", "max_consecutive_losses": 5}
    move_market(5)
    _tick(bot["id"], 0)
    move_market(-25)
    report = _tick(bot["id"], 1)
    assert report["paused"] == 1
    paused = api.call("bots", "GET", f"/api/bots/{bot['id']}", token=token)[1]
    assert (paused["status"], paused["pause_reason"], paused["pause_count"]) == ("paused", "max_drawdown", 1)
    assert D(paused["position"]) < D("0.0001")  # stopped out: only dust below Luno's amount step is left
    events = api.call("bots", "GET", f"/api/bots/{bot['id']}/events", token=token)[1]["items"]
    assert events[0]["kind"] == "risk_pause" and events[0]["reason"] == "max_drawdown"
    # the owner puts it back: breakers start afresh, it does not trip again on the next tick
    assert api.call("bots", "POST", f"/api/bots/{bot['id']}/resume", token=token)[1]["status"] == "running"
    _tick(bot["id"], 2)
    assert api.call("bots", "GET", f"/api/bots/{bot['id']}", token=token)[1]["status"] == "running"


def test_breaker_trips_are_counted_once_and_stay_counted_when_the_bot_goes(api):
    token, _ = api.register()
    bot = api.call("bots", "POST", "/api/bots", {**BOT, "risk": {"max_drawdown_pct": "15"}}, token=token)[1]
    move_market(5)
    _tick(bot["id"], 0)
    move_market(-25)
    assert _tick(bot["id"], 1)["paused"] == 1
    _tick(bot["id"], 1)  # the same tick delivered again: the trip is not counted twice

    def risk_pauses():
        reply = api.call("ops", "GET", "/api/metrics", token=token, headers={"Accept": "application/json"})[1]
        return reply["risk_pauses_total"]

    assert risk_pauses() == 1
    assert api.call("bots", "DELETE", f"/api/bots/{bot['id']}", token=token)[0] == 204
    assert risk_pauses() == 1  # a Prometheus *_total never goes down


def test_summary_per_exchange(api):
    token, _ = api.register()
    bot = api.call("bots", "POST", "/api/bots", BOT, token=token)[1]
    move_market(5)
    _tick(bot["id"], 0)
    move_market(-8)
    _tick(bot["id"], 1)
    (summary,) = api.call("bots", "GET", "/api/trades/summary", token=token)[1]["items"]
    trades = api.call("bots", "GET", "/api/trades", token=token)[1]["items"]
    assert summary["exchange"] == "luno" and summary["trades"] == 2 == len(trades)
    assert D(summary["volume"]) == sum(D(t["cost"]) for t in trades)
    assert D(summary["realized_pnl"]) == sum(D(t["realized_pnl"]) for t in trades)
    # A deleted bot's trades still count: its totals were carried into the owner's retired totals as it went.
    second = api.call("bots", "POST", "/api/bots", {**BOT, "name": "second"}, token=token)[1]
    assert api.call("bots", "DELETE", f"/api/bots/{bot['id']}", token=token)[0] == 204
    assert api.call("bots", "GET", "/api/trades/summary", token=token)[1]["items"] == [summary]
    move_market(5)
    _tick(second["id"], 2)
    (both,) = api.call("bots", "GET", "/api/trades/summary", token=token)[1]["items"]
    assert both["trades"] == 3 and D(both["volume"]) > D(summary["volume"])
    status, metrics = api.call("ops", "GET", "/api/metrics", token=token, headers={"Accept": "application/json"})
    assert status == 200 and [(row["trades"], D(row["volume"])) for row in metrics["trades"]] == [
        (3, D(both["volume"]))]


def test_limit_order_bots_rest_and_reserve(api):
    token, _ = api.register()
    bot = api.call("bots", "POST", "/api/bots", {**BOT, "order_type": "limit", "limit_offset_bps": "50"},
                   token=token)[1]
    move_market(5)
    _tick(bot["id"], 0)
    resting = api.call("bots", "GET", f"/api/bots/{bot['id']}", token=token)[1]
    assert len(resting["open_orders"]) == 1 and D(resting["cash_reserved"]) > 0
    assert api.call("bots", "GET", f"/api/bots/{bot['id']}/trades", token=token)[1]["items"] == []
