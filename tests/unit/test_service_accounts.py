"""AccountService and AccountRemoval on in-memory fakes: deleting one's own account needs the current password
(throttled like a login), stops and removes the bots, closes the sockets, frees the email, is audited, and the last
admin cannot go."""

from __future__ import annotations

from datetime import timedelta

import pytest

from botfleet.adapters.security import JwtTokens
from botfleet.errors import Conflict, Forbidden, RateLimited, Unauthorized
from botfleet.services.accounts import ACCOUNT_DELETED, AccountRemoval, AccountService
from botfleet.services.admin import AuditTrail
from botfleet.services.auth import AuthService
from tests.support.fakes import (
    FakeAuditLog,
    FakeBotRepository,
    FakeUsers,
    FixedClock,
    InMemoryThrottleStore,
    PlainHasher,
    a_bot,
)

PASSWORD = "correct horse 1"


class RecordingBots(FakeBotRepository):
    """Remembers the status of every bot saved and the order of removals, to see a bot stopped before it goes."""

    def __init__(self):
        super().__init__()
        self.log: list[tuple[str, str, str]] = []

    def save(self, bot):
        saved = super().save(bot)
        self.log.append(("save", bot.id, bot.status))
        return saved

    def delete(self, bot):
        self.log.append(("delete", bot.id, ""))
        super().delete(bot)


class World:
    def __init__(self):
        self.clock = FixedClock()
        self.users = FakeUsers()
        self.bots = RecordingBots()
        self.audit_log = FakeAuditLog()
        self.closed: list[str] = []
        self.auth = AuthService(self.users, PlainHasher(), JwtTokens("k" * 40, timedelta(hours=1)), self.clock,
                                InMemoryThrottleStore())
        removal = AccountRemoval(self.users, self.bots, self.clock,
                                 lambda user_id: self.closed.append(user_id) or 2)
        self.accounts = AccountService(self.auth, self.users, removal, AuditTrail(self.audit_log, self.clock).record)

    def sign_up(self, email: str, role: str = "user"):
        _, token = self.auth.register(email, PASSWORD, "Someone", role=role)
        return self.auth.authenticate(token), token


@pytest.fixture
def world():
    return World()


def test_deleting_ones_account_removes_it_and_everything_in_it(world):
    ann, token = world.sign_up("ann@example.com")
    running, paused, stopped = (a_bot(ann.user_id, name=n, status=s)
                                for n, s in (("a", "running"), ("b", "paused"), ("c", "stopped")))
    for bot in (running, paused, stopped):
        world.bots.create(bot)
    retired = a_bot(ann.user_id, name="retired")  # deleted earlier: its events stayed
    world.bots.create(retired)
    world.bots.events_of[retired.id] = [{"ts": "2026-01-01T00:00:00.000Z", "kind": "paused"}]
    world.bots.remove(ann.user_id, retired.id)
    bob, _ = world.sign_up("bob@example.com")
    bobs = a_bot(bob.user_id)
    world.bots.create(bobs)
    world.bots.events_of[bobs.id] = [{"ts": "2026-01-01T00:00:00.000Z", "kind": "paused"}]

    removed = world.accounts.delete_own(ann, PASSWORD, source_ip="198.51.100.7", request_id="req-1")

    assert removed == {"bots_removed": 3, "items_removed": 2, "connections_closed": 2}
    assert world.users.get(ann.user_id) is None and world.users.get_by_email("ann@example.com") is None
    assert world.bots.all_of_owner(ann.user_id) == [] and world.bots.get_any(running.id) is None
    assert retired.id not in world.bots.events_of  # the history a bot deleted earlier left goes too
    assert world.bots.get(bob.user_id, bobs.id) is not None and bobs.id in world.bots.events_of  # nobody else's
    # Every bot not stopped yet was stopped before it went, so no tick trades it meanwhile.
    for bot in (running, paused):
        assert world.bots.log.index(("save", bot.id, "stopped")) < world.bots.log.index(("delete", bot.id, ""))
    assert not any(entry[:2] == ("save", stopped.id) for entry in world.bots.log)
    assert world.closed == [ann.user_id]
    with pytest.raises(Unauthorized):
        world.auth.authenticate(token)
    (entry,) = world.audit_log.entries
    assert (entry["actor"], entry["action"], entry["target"]) == (ann.user_id, "user.delete_self",
                                                                   f"user:{ann.user_id}")
    assert entry["before"]["email"] == "ann@example.com" and entry["after"]["bots_removed"] == 3
    assert entry["request_id"] == "req-1"
    # The email is free again.
    world.auth.register("ann@example.com", "another pass 22", "Ann again")


def test_a_bot_is_stopped_with_the_reason_it_goes(world):
    ann, _ = world.sign_up("ann@example.com")
    bot = a_bot(ann.user_id)
    world.bots.create(bot)
    seen = []
    original = world.bots.save
    world.bots.save = lambda b: seen.append(b.pause_reason) or original(b)
    world.accounts.delete_own(ann, PASSWORD)
    assert seen == [ACCOUNT_DELETED]


def test_a_wrong_password_is_403_and_changes_nothing(world):
    ann, token = world.sign_up("ann@example.com")
    world.bots.create(a_bot(ann.user_id))
    with pytest.raises(Forbidden) as refused:
        world.accounts.delete_own(ann, "not my password 9", source_ip="198.51.100.7")
    assert refused.value.code == "wrong_password"
    assert world.users.get(ann.user_id) is not None and len(world.bots.all_of_owner(ann.user_id)) == 1
    assert world.auth.authenticate(token).user_id == ann.user_id
    assert world.closed == [] and world.audit_log.entries == []


def test_password_guesses_through_a_stolen_token_are_throttled_like_logins(world):
    ann, _ = world.sign_up("ann@example.com")
    outcomes = []
    for number in range(8):
        try:
            world.accounts.delete_own(ann, f"guess number {number}", source_ip="203.0.113.9")
        except Forbidden:
            outcomes.append(403)
        except RateLimited:
            outcomes.append(429)
    assert outcomes[0] == 403 and outcomes[-1] == 429
    assert world.users.get(ann.user_id) is not None


def test_the_last_admin_cannot_delete_themselves_but_one_of_two_can(world):
    root, root_token = world.sign_up("root@example.com", role="admin")
    with pytest.raises(Conflict) as refused:
        world.accounts.delete_own(root, PASSWORD)
    assert refused.value.code == "last_admin"
    assert world.auth.authenticate(root_token).user_id == root.user_id  # nothing changed

    other, _ = world.sign_up("other-admin@example.com", role="admin")
    world.users.update_fields(other.user_id, {"blocked": True}, revoke_tokens=True)
    with pytest.raises(Conflict):  # a blocked admin cannot manage anything: still the last one who can
        world.accounts.delete_own(root, PASSWORD)

    world.users.update_fields(other.user_id, {"blocked": False}, revoke_tokens=False)
    world.accounts.delete_own(root, PASSWORD)
    assert world.users.get(root.user_id) is None


def _keeper_leaves_after_being_found(world, leaves):
    """The admin `another_admin` names is blocked by a concurrent request between the look and the write: what two
    admins deleting their accounts (or blocking each other) at the same instant look like to either of them."""
    find = world.users.another_admin

    def another_admin(user_id):
        keeper = find(user_id)
        if keeper in leaves:
            leaves.remove(keeper)
            world.users.users[keeper]["blocked"] = True
        return keeper

    world.users.another_admin = another_admin


def test_two_admins_going_at_the_same_instant_leave_one(world):
    root, root_token = world.sign_up("root@example.com", role="admin")
    other, _ = world.sign_up("other-admin@example.com", role="admin")
    _keeper_leaves_after_being_found(world, [other.user_id])
    with pytest.raises(Conflict) as refused:
        world.accounts.delete_own(root, PASSWORD)
    assert refused.value.code == "last_admin"
    assert world.auth.authenticate(root_token).user_id == root.user_id  # nothing changed: still in charge
    assert not world.users.get(root.user_id).get("blocked") and world.audit_log.entries == []


def test_an_admin_whose_deputy_left_meanwhile_goes_if_a_third_admin_stays(world):
    root, _ = world.sign_up("root@example.com", role="admin")
    deputy, _ = world.sign_up("deputy@example.com", role="admin")
    third, _ = world.sign_up("third@example.com", role="admin")
    _keeper_leaves_after_being_found(world, [deputy.user_id])
    world.accounts.delete_own(root, PASSWORD)
    assert world.users.get(root.user_id) is None and not world.users.get(third.user_id).get("blocked")


def test_an_account_deleted_meanwhile_is_a_revoked_token(world):
    ann, _ = world.sign_up("ann@example.com")
    user = world.users.get(ann.user_id)
    original = world.users.get
    # The password check reads the account by email; by the time the service reads it by id, it has gone.
    world.users.get = lambda user_id: None if user_id == ann.user_id else original(user_id)
    world.users.get_by_email = lambda email: user if email == "ann@example.com" else None
    with pytest.raises(Unauthorized) as refused:
        world.accounts.delete_own(ann, PASSWORD)
    assert refused.value.code == "token_revoked"
