"""AuthService against in-memory fakes and an injected clock: throttling windows, revocation, expiry."""

from datetime import timedelta

import pytest

from botfleet.adapters.security import Argon2PasswordHasher, JwtTokens
from botfleet.clock import FixedClock
from botfleet.errors import Conflict, Forbidden, RateLimited, Unauthorized, Unprocessable
from botfleet.services.auth import LOGIN_WINDOW_SECONDS, MAX_LOGIN_FAILURES, AuthService


class InMemoryUsers:
    def __init__(self):
        self.users, self.emails, self.throttle = {}, {}, {}

    def create(self, user):
        if user["email"] in self.emails:
            raise Conflict("exists", code="email_taken")
        self.emails[user["email"]] = user["id"]
        self.users[user["id"]] = dict(user)

    def get(self, user_id):
        return self.users.get(user_id)

    def get_by_email(self, email):
        return self.users.get(self.emails.get(email, ""))

    def bump_token_version(self, user_id):
        self.users[user_id]["token_version"] += 1
        return self.users[user_id]["token_version"]

    def login_failures(self, email):
        return self.throttle.get(email)

    def record_login_failure(self, email, window_start, expires_at):
        current = self.throttle.get(email)
        if current and current["window_start"] == window_start:
            current["failures"] += 1
        else:
            self.throttle[email] = current = {"window_start": window_start, "failures": 1}
        return current["failures"]

    def reset_login_failures(self, email):
        self.throttle.pop(email, None)


@pytest.fixture
def clock():
    return FixedClock()


@pytest.fixture
def service(clock):
    return AuthService(InMemoryUsers(), Argon2PasswordHasher(time_cost=1, memory_cost=1024),
                       JwtTokens("k" * 40, timedelta(hours=1)), clock)


def test_register_then_authenticate(service):
    user, token = service.register("Ann@Example.com ", "correct horse 1", "Ann")
    assert user["email"] == "ann@example.com"
    assert "correct horse" not in str(user["password_hash"])
    assert service.authenticate(token).user_id == user["id"]


@pytest.mark.parametrize(("password", "field"), [("short1", "password"), ("aaaaaaaaaaaa", "password"),
                                                 ("onlyletterspassword", "password")])
def test_weak_passwords_are_422_naming_the_field(service, password, field):
    with pytest.raises(Unprocessable, match=field):
        service.register("bob@example.com", password, "Bob")


def test_failed_logins_are_throttled_until_the_window_passes(service, clock):
    service.register("ann@example.com", "correct horse 1", "Ann")
    for _ in range(MAX_LOGIN_FAILURES):
        with pytest.raises(Unauthorized):
            service.login("ann@example.com", "wrong password 1")
    with pytest.raises(RateLimited) as limited:
        service.login("ann@example.com", "correct horse 1")  # even the right password waits
    assert int(limited.value.headers["Retry-After"]) > 0
    clock.advance(seconds=LOGIN_WINDOW_SECONDS + 1)
    user, _ = service.login("ann@example.com", "correct horse 1")
    assert user["email"] == "ann@example.com"


def test_logout_revokes_every_token(service):
    _, first = service.register("ann@example.com", "correct horse 1", "Ann")
    _, second = service.login("ann@example.com", "correct horse 1")
    service.logout(service.authenticate(second))
    for token in (first, second):
        with pytest.raises(Unauthorized, match="revoked"):
            service.authenticate(token)
    _, fresh = service.login("ann@example.com", "correct horse 1")
    assert service.authenticate(fresh)


def test_tokens_expire_on_the_injected_clock(service, clock):
    _, token = service.register("ann@example.com", "correct horse 1", "Ann")
    clock.advance(hours=1, seconds=1)
    with pytest.raises(Unauthorized) as expired:
        service.authenticate(token)
    assert expired.value.code == "token_expired"


def test_blocked_users_cannot_log_in_or_use_tokens(service):
    user, token = service.register("ann@example.com", "correct horse 1", "Ann")
    service.users.users[user["id"]]["blocked"] = True
    with pytest.raises(Forbidden):
        service.login("ann@example.com", "correct horse 1")
    with pytest.raises(Forbidden):
        service.authenticate(token)


def test_unknown_email_and_wrong_password_look_the_same(service):
    service.register("ann@example.com", "correct horse 1", "Ann")
    with pytest.raises(Unauthorized) as unknown:
        service.login("nobody@example.com", "correct horse 1")
    with pytest.raises(Unauthorized) as wrong:
        service.login("ann@example.com", "wrong password 1")
    assert unknown.value.message == wrong.value.message
