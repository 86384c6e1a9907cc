"""Admin endpoints through the real handlers against moto: RBAC, the user and bot actions, the audit trail."""

from datetime import timedelta

import pytest

from botfleet import runtime
from botfleet.clock import FixedClock, iso
from botfleet.errors import Conflict
from botfleet.services.auth import Principal
from botfleet.services.metrics import MetricsService
from tests.integration.conftest import FakePublisher, load_handler
from tests.support.events import LambdaContext, rest_event, ws_event

BOT = {"name": "t", "exchange": "binance", "symbol": "BTC/USDT", "strategy": "sma_cross", "capital": "1000"}


@pytest.fixture
def admin_token(api):
    runtime.auth().ensure_admin("root@example.com", "admin passphrase 9")
    status, session = api.call("auth", "POST", "/api/auth/login",
                               {"email": "root@example.com", "password": "admin passphrase 9"})
    assert status == 200
    return session["access_token"]


@pytest.fixture
def publisher(monkeypatch, api):
    fake = FakePublisher()
    monkeypatch.setattr(runtime, "publisher", lambda: fake)
    runtime.admin.cache_clear()
    runtime.sessions.cache_clear()
    runtime.connection_closer.cache_clear()
    return fake


def test_block_takes_effect_at_once_and_is_audited(api, admin_token, publisher):
    token, user = api.register()
    load_handler("ws").handler(ws_event("$connect", "conn-1", token=token), LambdaContext())
    status, blocked = api.call("admin", "POST", f"/api/admin/users/{user['id']}/block", token=admin_token)
    assert status == 200 and blocked["blocked"] is True
    assert publisher.closed == ["conn-1"]  # the user's socket is closed
    status, body = api.call("auth", "GET", "/api/auth/me", token=token)
    assert status in (401, 403)
    login = {"email": user["email"], "password": "correct horse 1"}
    status, body = api.call("auth", "POST", "/api/auth/login", login)
    assert (status, body["error"]["code"]) == (403, "account_blocked")
    api.call("admin", "POST", f"/api/admin/users/{user['id']}/unblock", token=admin_token)
    assert api.call("auth", "POST", "/api/auth/login", login)[0] == 200
    audit = api.call("admin", "GET", "/api/admin/audit", token=admin_token)[1]["items"]
    assert [entry["action"] for entry in audit][:2] == ["user.unblock", "user.block"]
    assert audit[1]["before"] == {"blocked": False} and audit[1]["after"]["blocked"] is True
    assert all(entry["actor_email"] == "root@example.com" and entry["request_id"] for entry in audit)


def test_force_logout_and_reset_password(api, admin_token, publisher):
    token, user = api.register()
    api.call("admin", "POST", f"/api/admin/users/{user['id']}/logout", token=admin_token)
    assert api.call("auth", "GET", "/api/auth/me", token=token)[0] == 401
    status, reset = api.call("admin", "POST", f"/api/admin/users/{user['id']}/reset-password", token=admin_token)
    temporary = reset["temporary_password"]
    assert status == 200 and api.call("auth", "POST", "/api/auth/login",
                                      {"email": user["email"], "password": temporary})[0] == 200
    status, _ = api.call("admin", "POST", f"/api/admin/users/{user['id']}/reset-password",
                         {"new_password": "chosen by admin 77"}, token=admin_token)
    assert status == 200
    assert api.call("auth", "POST", "/api/auth/login", {"email": user["email"], "password": temporary})[0] == 401
    assert api.call("auth", "POST", "/api/auth/login",
                    {"email": user["email"], "password": "chosen by admin 77"})[0] == 200
    actions = [e["action"] for e in api.call("admin", "GET", "/api/admin/audit?action=user.reset_password",
                                             token=admin_token)[1]["items"]]
    assert actions == ["user.reset_password", "user.reset_password"]
    assert "chosen by admin" not in str(api.call("admin", "GET", "/api/admin/audit", token=admin_token)[1])


def test_delete_cascades_and_the_audit_trail_stays(api, admin_token, publisher):
    token, user = api.register()
    bot = api.call("bots", "POST", "/api/bots", BOT, token=token)[1]
    assert api.call("admin", "DELETE", f"/api/admin/users/{user['id']}", token=admin_token)[0] == 204
    login = {"email": user["email"], "password": "correct horse 1"}
    assert api.call("auth", "POST", "/api/auth/login", login)[0] == 401
    assert runtime.bots().get_any(bot["id"]) is None
    ids = [b["id"] for b in api.call("admin", "GET", "/api/admin/bots", token=admin_token)[1]["items"]]
    assert bot["id"] not in ids
    users = [u["id"] for u in api.call("admin", "GET", "/api/admin/users", token=admin_token)[1]["items"]]
    assert user["id"] not in users
    (entry,) = api.call("admin", "GET", "/api/admin/audit?action=user.delete", token=admin_token)[1]["items"]
    assert entry["target"] == f"user:{user['id']}" and entry["after"]["bots_removed"] == 1
    # the email is free again
    assert api.call("auth", "POST", "/api/auth/register",
                    {"email": user["email"], "password": "brand new pass 5", "name": "Again"})[0] == 201


def test_admins_cannot_block_or_delete_themselves(api, admin_token):
    me = api.call("auth", "GET", "/api/auth/me", token=admin_token)[1]
    assert api.call("admin", "POST", f"/api/admin/users/{me['id']}/block", token=admin_token)[0] == 409
    assert api.call("admin", "DELETE", f"/api/admin/users/{me['id']}", token=admin_token)[0] == 409


def _acting_admin_blocked_after_the_target_is_read(monkeypatch, acting_id, target_id):
    """Another admin blocks the acting one between the service's read of the target and its write: the window two
    admins blocking (or deleting) each other at the same instant race in."""
    from botfleet.adapters.dynamo.users import DynamoUserRepository

    read = DynamoUserRepository.get
    pending = [acting_id]

    def get(self, user_id):
        found = read(self, user_id)
        if user_id == target_id and pending:
            self.update_fields(pending.pop(), {"blocked": True}, revoke_tokens=True)
        return found

    monkeypatch.setattr(DynamoUserRepository, "get", get)


@pytest.mark.parametrize("action", ["block", "delete"])
def test_two_admins_ending_each_others_access_at_once_leave_one(api, admin_token, publisher, monkeypatch, action):
    root = api.call("auth", "GET", "/api/auth/me", token=admin_token)[1]
    runtime.auth().register("deputy@example.com", "another admin pass 4", "Deputy", role="admin")
    deputy = runtime.users().get_by_email("deputy@example.com")
    _acting_admin_blocked_after_the_target_is_read(monkeypatch, root["id"], deputy["id"])
    method, path = ("POST", f"/api/admin/users/{deputy['id']}/block") if action == "block" else (
        "DELETE", f"/api/admin/users/{deputy['id']}")
    status, body = api.call("admin", method, path, token=admin_token)
    assert (status, body["error"]["code"]) == (401, "token_revoked")
    kept = runtime.users().get(deputy["id"])
    assert kept["role"] == "admin" and not kept.get("blocked") and kept["token_version"] == deputy["token_version"]
    assert runtime.users().another_admin(root["id"]) == deputy["id"]  # the one left in charge


def test_a_user_deleted_while_an_admin_blocks_them_is_404(api, admin_token, publisher, monkeypatch):
    from botfleet.adapters.dynamo.users import DynamoUserRepository

    _, user = api.register()
    read = DynamoUserRepository.get

    def get(self, user_id):  # the account goes between the service's read and its write
        found = read(self, user_id)
        if user_id == user["id"] and found:
            self.table.delete_many([(f"USER#{user_id}", "PROFILE")])
        return found

    monkeypatch.setattr(DynamoUserRepository, "get", get)
    status, body = api.call("admin", "POST", f"/api/admin/users/{user['id']}/block", token=admin_token)
    assert (status, body["error"]["code"]) == (404, "not_found")


def test_bot_overrides(api, admin_token):
    token, _ = api.register()
    bot = api.call("bots", "POST", "/api/bots", BOT, token=token)[1]
    url = f"/api/admin/bots/{bot['id']}"
    paused = api.call("admin", "POST", f"{url}/pause", token=admin_token)[1]
    assert (paused["status"], paused["pause_reason"]) == ("paused", "admin")
    assert api.call("admin", "POST", f"{url}/resume", token=admin_token)[1]["status"] == "running"
    assert api.call("admin", "POST", f"{url}/restart", token=admin_token)[1]["status"] == "running"
    status, body = api.call("admin", "POST", f"{url}/mode", {"mode": "live"}, token=admin_token)
    assert (status, body["error"]["code"]) == (409, "api_key_required")
    moved = api.call("admin", "POST", f"{url}/exchange", {"exchange": "kucoin"}, token=admin_token)[1]
    assert moved["exchange"] == "kucoin"
    status, body = api.call("admin", "POST", f"{url}/exchange", {"exchange": "luno"}, token=admin_token)
    assert status == 422 and "BTC/USDT" in body["error"]["message"]
    assert api.call("admin", "POST", "/api/admin/bots/nope/pause", token=admin_token)[0] == 404
    listed = api.call("admin", "GET", "/api/admin/bots", token=admin_token)[1]["items"]
    assert listed[0]["id"] == bot["id"] and listed[0]["owner_id"]
    actions = [e["action"] for e in api.call("admin", "GET", "/api/admin/audit?since=2000-01-01T00:00:00Z",
                                             token=admin_token)[1]["items"]]
    assert actions[:5] == ["admin.bots.list", "bot.exchange", "bot.restart", "bot.resume", "bot.pause"]


def test_an_admins_reads_are_audited_too(api, admin_token):
    # The contract: every admin call. Who looked through every user's email, every bot, the log itself.
    api.call("admin", "GET", "/api/admin/users?limit=5", token=admin_token)
    api.call("admin", "GET", "/api/admin/bots", token=admin_token)
    first = api.call("admin", "GET", "/api/admin/audit?action=user.block", token=admin_token)[1]["items"]
    assert first == []  # a read of the log does not list itself
    entries = api.call("admin", "GET", "/api/admin/audit", token=admin_token)[1]["items"]
    assert [e["action"] for e in entries[:3]] == ["admin.audit.read", "admin.bots.list", "admin.users.list"]
    assert entries[0]["after"] == {"action": "user.block", "count": 0, "page": False}
    assert all(e["actor_email"] == "root@example.com" and e["request_id"] for e in entries[:3])


def test_metrics_user_and_fleet(api, admin_token):
    token, _ = api.register()
    api.call("bots", "POST", "/api/bots", BOT, token=token)
    status, body = api.call("ops", "GET", "/api/metrics", token=token, headers={"Accept": "application/json"})
    assert status == 200 and body["scope"] == "user" and body["bots_by_status"]["running"] == 1
    reply = load_handler("ops").handler(rest_event("GET", "/api/metrics", token=admin_token), LambdaContext())
    assert reply["statusCode"] == 200 and "botfleet_bots{status=\"running\"} 1.0" in reply["body"]
    assert reply["multiValueHeaders"]["Content-Type"][0].startswith("text/plain")
    assert api.call("ops", "GET", "/api/metrics")[0] == 401


def test_fleet_metrics_are_read_once_a_minute_and_counters_always(api):
    """A scrape does not read every bot: the fleet's bot-derived figures are kept for a minute (read units and time
    proportional to the fleet, once a minute however often Prometheus and the dashboard ask); the counters are one
    item and always fresh; an older read never replaces a newer one."""
    token, owner = api.register()
    api.call("bots", "POST", "/api/bots", BOT, token=token)
    built, clock = runtime.metrics(), FixedClock()
    service = MetricsService(built.bots, built.counters, clock)
    admin = Principal("usr_admin", "root@example.com", "root", "admin")
    first = service.snapshot(admin)
    assert first["bots_by_status"]["running"] == 1 and first["bots_as_of"] == iso(clock.now())
    api.call("bots", "POST", "/api/bots", {**BOT, "name": "second"}, token=token)
    runtime.table().update("FLEET", "COUNTERS", "ADD ticks :one", values={":one": 1})
    clock.advance(seconds=60)
    kept = service.snapshot(admin)
    assert kept["bots_by_status"] == first["bots_by_status"] and kept["bots_as_of"] == first["bots_as_of"]
    assert kept["ticks_total"] == first["ticks_total"] + 1  # counters are read each time
    clock.advance(seconds=1)
    fresh = service.snapshot(admin)
    assert fresh["bots_by_status"]["running"] == 2 and fresh["bots_as_of"] == iso(clock.now())
    # A slower request that read the fleet earlier does not put its older figures back.
    stale = MetricsService(built.bots, built.counters, FixedClock(clock.now() - timedelta(seconds=30)))
    assert stale.snapshot(admin)["bots_by_status"]["running"] == 2
    assert built.counters.fleet_snapshot()["bots_as_of"] == fresh["bots_as_of"]
    # The user's own figures are read each time.
    user = Principal(owner["id"], owner["email"], owner["name"], "user")
    assert service.snapshot(user)["bots_by_status"]["running"] == 2


def test_prometheus_types_follow_what_the_series_do(api, admin_token):
    token, _ = api.register()
    api.call("bots", "POST", "/api/bots", BOT, token=token)
    reply = load_handler("ops").handler(rest_event("GET", "/api/metrics", token=admin_token), LambdaContext())
    types = dict(line.split()[2:4] for line in reply["body"].splitlines() if line.startswith("# TYPE"))
    grows = ("trades", "volume", "fees", "ticks", "errors", "risk_pauses")
    assert {types[f"botfleet_{name}_total"] for name in grows} == {"counter"}
    assert types["botfleet_bots"] == types["botfleet_realized_pnl"] == types["botfleet_realized_pnl_total"] == "gauge"
    assert "botfleet_ticks_total 0.0" in reply["body"] and "botfleet_bots_read_timestamp_seconds " in reply["body"]


def test_a_bot_an_admin_paused_stays_out_until_an_admin_puts_it_back(api, admin_token):
    token, _ = api.register()
    bot = api.call("bots", "POST", "/api/bots", BOT, token=token)[1]
    api.call("admin", "POST", f"/api/admin/bots/{bot['id']}/pause", token=admin_token)
    for action in ("resume", "start"):
        status, body = api.call("bots", "POST", f"/api/bots/{bot['id']}/{action}", token=token)
        assert (status, body["error"]["code"]) == (403, "admin_hold"), body
    # Its owner may stop it; stopped, it is still held (a stop and a start must not get round the pause).
    stopped = api.call("bots", "POST", f"/api/bots/{bot['id']}/stop", token=token)[1]
    assert (stopped["status"], stopped["pause_reason"]) == ("stopped", "admin")
    status, body = api.call("bots", "POST", f"/api/bots/{bot['id']}/start", token=token)
    assert (status, body["error"]["code"]) == (403, "admin_hold")
    assert api.call("bots", "GET", f"/api/bots/{bot['id']}", token=token)[1]["status"] == "stopped"
    # A pause of the owner's own is theirs to undo.
    other = api.call("bots", "POST", "/api/bots", BOT, token=token)[1]
    api.call("bots", "POST", f"/api/bots/{other['id']}/pause", token=token)
    assert api.call("bots", "POST", f"/api/bots/{other['id']}/resume", token=token)[1]["status"] == "running"


def test_a_temporary_password_from_a_reset_only_lets_its_user_choose_their_own(api, admin_token):
    _, user = api.register()
    temporary = api.call("admin", "POST", f"/api/admin/users/{user['id']}/reset-password",
                         token=admin_token)[1]["temporary_password"]
    session = api.call("auth", "POST", "/api/auth/login", {"email": user["email"], "password": temporary})[1]
    token = session["access_token"]
    assert session["user"]["must_change_password"] is True
    status, body = api.call("bots", "GET", "/api/bots", token=token)
    assert (status, body["error"]["code"]) == (403, "password_change_required")
    assert api.call("auth", "GET", "/api/auth/me", token=token)[1]["must_change_password"] is True
    # nor a socket, which would stream the account's trades and its private assistant replies
    refused = load_handler("ws").handler(ws_event("$connect", "conn-temp", token=token), LambdaContext())
    assert refused == {"statusCode": 403, "body": "password_change_required"}
    change = "/api/auth/password"
    refused = [api.call("auth", "POST", change, {"current_password": "guess", "new_password": "my own pass 42"},
                        token=token),
               api.call("auth", "POST", change, {"current_password": temporary, "new_password": "short"}, token=token),
               api.call("auth", "POST", change, {"current_password": temporary, "new_password": temporary},
                        token=token)]
    assert [(status, body["error"]["code"]) for status, body in refused] == [
        (403, "wrong_password"), (422, "weak_password"), (422, "validation_error")]
    assert refused[1][1]["error"]["message"].startswith("new_password: ")  # the field the request named
    status, fresh = api.call("auth", "POST", change, {"current_password": temporary, "new_password": "my own pass 42"},
                             token=token)
    assert status == 200 and fresh["user"]["must_change_password"] is False
    assert api.call("auth", "GET", "/api/auth/me", token=token)[0] == 401  # every earlier token is revoked
    assert api.call("bots", "GET", "/api/bots", token=fresh["access_token"])[0] == 200
    assert api.call("auth", "POST", "/api/auth/login", {"email": user["email"], "password": temporary})[0] == 401
    assert api.call("auth", "POST", "/api/auth/login", {"email": user["email"], "password": "my own pass 42"})[0] == 200
    (entry,) = api.call("admin", "GET", "/api/admin/audit?action=user.change_password", token=admin_token)[1]["items"]
    assert entry["after"] == {"was_temporary": True, "sessions_revoked": True} and entry["actor"] == user["id"]
    assert "my own pass" not in str(entry) and temporary not in str(entry)


def test_a_user_changes_their_password_and_their_other_sessions_end(api):
    token, user = api.register()
    elsewhere = api.call("auth", "POST", "/api/auth/login", {"email": user["email"], "password": "correct horse 1"})
    status, fresh = api.call("auth", "POST", "/api/auth/password",
                             {"current_password": "correct horse 1", "new_password": "battery staple 42"}, token=token)
    assert status == 200 and fresh["user"]["id"] == user["id"] and fresh["user"]["must_change_password"] is False
    assert api.call("auth", "GET", "/api/auth/me", token=elsewhere[1]["access_token"])[0] == 401
    assert api.call("auth", "GET", "/api/auth/me", token=fresh["access_token"])[0] == 200


def test_an_admin_cannot_reset_their_own_password_and_a_short_email_name_gets_a_temporary_one(api, admin_token):
    # Their own: a token alone (stolen, left open) would set the password for good, past the current password.
    me = api.call("auth", "GET", "/api/auth/me", token=admin_token)[1]
    status, body = api.call("admin", "POST", f"/api/admin/users/{me['id']}/reset-password",
                            {"new_password": "attacker pass 123"}, token=admin_token)
    assert (status, body["error"]["code"]) == (409, "self_action")
    assert api.call("auth", "POST", "/api/auth/login",
                    {"email": "root@example.com", "password": "admin passphrase 9"})[0] == 200
    # "a@...": a one-letter email name refused ~40 % of generated passwords (and most of a user's own).
    _, user = api.register("a@example.com", "a strong pass 1", "A")
    for _ in range(20):
        status, body = api.call("admin", "POST", f"/api/admin/users/{user['id']}/reset-password", token=admin_token)
        assert status == 200, body


def test_provisioning_an_admin_on_an_address_a_user_took_is_refused(api):
    api.register("boss@example.com", "correct horse 1", "Squatter")
    with pytest.raises(Conflict) as taken:
        runtime.auth().ensure_admin("boss@example.com", "admin passphrase 9")
    assert taken.value.code == "admin_email_taken"
