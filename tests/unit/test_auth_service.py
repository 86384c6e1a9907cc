"""AuthService against in-memory fakes and an injected clock: throttling, registration limits, revocation, expiry,
logout closing sockets."""

from datetime import timedelta

import pytest

from botfleet.adapters.security import Argon2PasswordHasher, JwtTokens
from botfleet.clock import FixedClock
from botfleet.domain.throttle import ACCOUNT, ADDRESS, PAIR, LoginPolicy, RegistrationPolicy
from botfleet.errors import Conflict, Forbidden, RateLimited, Unauthorized, Unprocessable
from botfleet.services.auth import AuthService
from tests.support.throttle import InMemoryThrottleStore, PlainHasher

OWNER_IP, STRANGER_IP, OTHER_IP = "198.51.100.7", "203.0.113.9", "192.0.2.44"
PASSWORD = "correct horse 1"


class InMemoryUsers:
    def __init__(self):
        self.users, self.emails = {}, {}

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


@pytest.fixture
def clock():
    return FixedClock()


@pytest.fixture
def closed():
    return []


@pytest.fixture
def service(clock, closed):
    return AuthService(InMemoryUsers(), Argon2PasswordHasher(time_cost=1, memory_cost=1024),
                       JwtTokens("k" * 40, timedelta(hours=1)), clock, InMemoryThrottleStore(),
                       close_connections=lambda user_id: closed.append(user_id) or 1)


@pytest.fixture
def fast(clock):
    """The same service with a plain hasher, for tests that make many attempts."""
    return AuthService(InMemoryUsers(), PlainHasher(), JwtTokens("k" * 40, timedelta(hours=1)), clock,
                       InMemoryThrottleStore())


def attempt(service, email, password, ip):
    """401, 429 (with Retry-After) or 200, as the handler would answer."""
    try:
        service.login(email, password, source_ip=ip)
    except RateLimited as exc:
        return 429, int(exc.headers["Retry-After"])
    except Unauthorized:
        return 401, None
    return 200, None


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


def test_failed_logins_of_a_pair_wait_longer_and_longer_and_success_resets(service, clock):
    service.register("ann@example.com", PASSWORD, "Ann", source_ip=OWNER_IP)
    rule = service.login_policy.rules[PAIR]
    for _ in range(rule.threshold):
        assert attempt(service, "ann@example.com", "wrong password 1", STRANGER_IP) == (401, None)
    waits = []
    for _ in range(5):
        status, wait = attempt(service, "ann@example.com", PASSWORD, STRANGER_IP)  # even the right one waits
        assert status == 429
        waits.append(wait)
        clock.advance(seconds=wait)
        assert attempt(service, "ann@example.com", "wrong password 1", STRANGER_IP) == (401, None)
    assert waits == [1, 2, 4, 8, 16]
    clock.advance(seconds=32)
    assert attempt(service, "ann@example.com", PASSWORD, STRANGER_IP) == (200, None)
    # The pair starts afresh after a success: the next mistake is free again.
    assert attempt(service, "ann@example.com", "wrong password 1", STRANGER_IP) == (401, None)
    assert attempt(service, "ann@example.com", PASSWORD, STRANGER_IP) == (200, None)


def test_the_pair_delay_is_capped_at_15_minutes(fast, clock):
    fast.register("ann@example.com", PASSWORD, "Ann", source_ip=OWNER_IP)
    waits = []
    for _ in range(30):
        status, wait = attempt(fast, "ann@example.com", "wrong password 1", STRANGER_IP)
        if status == 429:
            waits.append(wait)
            clock.advance(seconds=wait)
    assert max(waits) == 900 and waits[-1] == 900


def test_a_stranger_cannot_lock_the_owner_out(fast, clock):
    fast.register("ann@example.com", PASSWORD, "Ann", source_ip=OWNER_IP)
    for _ in range(200):  # a persistent stranger who honours every Retry-After
        status, wait = attempt(fast, "ann@example.com", "wrong password 1", STRANGER_IP)
        clock.advance(seconds=wait or 0.1)
    attempt(fast, "ann@example.com", "wrong password 1", STRANGER_IP)
    assert attempt(fast, "ann@example.com", "wrong password 1", STRANGER_IP) == (429, 900)  # the stranger waits
    # The owner where they registered (a known pair) is not slowed at all ...
    assert attempt(fast, "ann@example.com", PASSWORD, OWNER_IP) == (200, None)
    # ... and from a new address at most by the account scope's cap.
    status, wait = attempt(fast, "ann@example.com", PASSWORD, OTHER_IP)
    assert status == 200 or wait <= fast.login_policy.rules[ACCOUNT].max_delay


def test_throttled_attempts_check_no_password_and_do_not_extend_the_wait(fast, clock):
    fast.register("ann@example.com", PASSWORD, "Ann", source_ip=OWNER_IP)
    for _ in range(12):
        status, wait = attempt(fast, "ann@example.com", "wrong password 1", STRANGER_IP)
        clock.advance(seconds=wait or 0.01)
    attempt(fast, "ann@example.com", "wrong password 1", STRANGER_IP)
    status, first = attempt(fast, "ann@example.com", "wrong password 1", STRANGER_IP)
    assert status == 429 and first >= 8
    verified = fast.hasher.verified
    waits = []
    for _ in range(20):
        clock.advance(seconds=first / 25)
        waits.append(attempt(fast, "ann@example.com", "wrong password 1", STRANGER_IP)[1])
    assert fast.hasher.verified == verified, "a throttled attempt never reaches the password check"
    assert waits == sorted(waits, reverse=True) and waits[-1] < first, "hammering does not push the wait out"


def test_every_attempt_counts_before_its_password_is_checked(fast):
    """So a burst of parallel attempts cannot all pass the check before the first failure is stored."""
    fast.register("ann@example.com", PASSWORD, "Ann", source_ip=OWNER_IP)
    seen = []
    verify = fast.hasher.verify

    def spying_verify(stored, password):
        seen.append(fast.throttles.read(PAIR, f"{STRANGER_IP}#ann@example.com").score)
        return verify(stored, password)

    fast.hasher.verify = spying_verify
    for _ in range(3):
        attempt(fast, "ann@example.com", "wrong password 1", STRANGER_IP)
    assert seen == [pytest.approx(1), pytest.approx(2), pytest.approx(3)]


def test_an_attempt_that_keeps_losing_the_race_is_429_and_checks_nothing(fast):
    fast.register("ann@example.com", PASSWORD, "Ann", source_ip=OWNER_IP)
    fast.throttles.claim = lambda writes: False  # some other attempt changed the counters every time
    assert attempt(fast, "ann@example.com", PASSWORD, STRANGER_IP) == (429, 1)
    assert fast.hasher.verified == 0


def test_one_address_trying_many_accounts_is_slowed(fast, clock):
    rule = fast.login_policy.rules[ADDRESS]
    for n in range(rule.threshold):
        assert attempt(fast, f"user{n}@example.com", "guess guess 1", STRANGER_IP) == (401, None)
    status, wait = attempt(fast, "one-more@example.com", "guess guess 1", STRANGER_IP)
    assert status == 429 and wait >= 1
    # Another address is not affected, nor is an account this address has logged in to before.
    assert attempt(fast, "one-more@example.com", "guess guess 1", OTHER_IP) == (401, None)
    fast.register("mine@example.com", PASSWORD, "Me", source_ip=STRANGER_IP)
    assert attempt(fast, "mine@example.com", PASSWORD, STRANGER_IP) == (200, None)


def test_a_successful_login_gives_its_count_back(fast, clock):
    fast.register("ann@example.com", PASSWORD, "Ann", source_ip=OWNER_IP)
    for n in range(5):
        attempt(fast, f"user{n}@example.com", "guess guess 1", OTHER_IP)
    assert attempt(fast, "ann@example.com", PASSWORD, OTHER_IP) == (200, None)  # a new pair: counted, given back
    assert fast.throttles.read(ADDRESS, OTHER_IP).score == pytest.approx(5, abs=0.01)
    assert fast.throttles.read(ACCOUNT, "ann@example.com").score == pytest.approx(0, abs=0.01)


def test_a_distributed_guesser_is_slowed_per_account_but_never_for_more_than_a_minute(fast, clock):
    fast.register("ann@example.com", PASSWORD, "Ann", source_ip=OWNER_IP)
    rule = fast.login_policy.rules[ACCOUNT]
    answers = []
    for n in range(60):  # a botnet: every guess from a new address
        status, wait = attempt(fast, "ann@example.com", "wrong password 1", f"10.0.{n // 250}.{n % 250}")
        answers.append((status, wait))
        clock.advance(seconds=0.5)
    assert answers[:rule.threshold] == [(401, None)] * rule.threshold
    waits = [wait for status, wait in answers if status == 429]
    assert waits and max(waits) <= 60
    assert attempt(fast, "ann@example.com", PASSWORD, OWNER_IP) == (200, None)  # the owner's own address


def test_ipv6_clients_are_throttled_by_their_64(fast):
    fast.register("ann@example.com", PASSWORD, "Ann", source_ip=OWNER_IP)
    for host in range(1, 6):
        assert attempt(fast, "ann@example.com", "wrong password 1", f"2001:db8:1:2::{host}")[0] == 401
    assert attempt(fast, "ann@example.com", "wrong password 1", "2001:db8:1:2:ffff::9")[0] == 429
    assert attempt(fast, "ann@example.com", "wrong password 1", "2001:db8:1:3::1")[0] == 401  # another /64


def test_registrations_are_limited_per_address_and_window(clock):
    service = AuthService(InMemoryUsers(), PlainHasher(), JwtTokens("k" * 40), clock, InMemoryThrottleStore(),
                          registration_policy=RegistrationPolicy(limit=3))
    clock.advance(minutes=20)
    for n in range(3):
        service.register(f"user{n}@example.com", PASSWORD, "U", source_ip=STRANGER_IP)
    with pytest.raises(RateLimited) as limited:
        service.register("user9@example.com", PASSWORD, "U", source_ip=STRANGER_IP)
    assert limited.value.code == "too_many_registrations"
    assert limited.value.headers["Retry-After"] == str(40 * 60)  # until the hour's window ends
    service.register("user9@example.com", PASSWORD, "U", source_ip=OTHER_IP)  # another address
    service.ensure_user("seeded@example.com", PASSWORD, "Seed")  # an operator's provisioning is not limited
    clock.advance(minutes=40)
    service.register("user10@example.com", PASSWORD, "U", source_ip=STRANGER_IP)


def test_email_taken_answers_count_towards_the_registration_limit(clock):
    service = AuthService(InMemoryUsers(), PlainHasher(), JwtTokens("k" * 40), clock, InMemoryThrottleStore(),
                          registration_policy=RegistrationPolicy(limit=2))
    service.register("ann@example.com", PASSWORD, "Ann", source_ip=OWNER_IP)
    with pytest.raises(Conflict):
        service.register("ann@example.com", PASSWORD, "Ann", source_ip=STRANGER_IP)
    service.register("bob@example.com", PASSWORD, "Bob", source_ip=STRANGER_IP)
    with pytest.raises(RateLimited):  # probing which emails exist costs the same budget
        service.register("ann@example.com", PASSWORD, "Ann", source_ip=STRANGER_IP)


def test_registration_makes_the_pair_known(fast):
    fast.register("ann@example.com", PASSWORD, "Ann", source_ip=OWNER_IP)
    pair = fast.throttles.read(PAIR, f"{OWNER_IP}#ann@example.com")
    assert LoginPolicy().is_known(pair, fast.clock.now().timestamp())


def test_logout_revokes_every_token_and_then_closes_the_sockets(service, closed):
    user, first = service.register("ann@example.com", "correct horse 1", "Ann")
    _, second = service.login("ann@example.com", "correct horse 1")

    def close(user_id):
        with pytest.raises(Unauthorized):  # revoked first: a socket cannot reconnect with these tokens
            service.authenticate(second)
        closed.append(user_id)
        return 1

    service.close_connections = close
    service.logout(service.authenticate(second))
    assert closed == [user["id"]]
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
