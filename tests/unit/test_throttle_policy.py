"""The throttle policy (botfleet.domain.throttle): properties of one scope's rule, of the combined login decision,
and the figures an attacker can reach, simulated through the auth service on fakes and an injected clock."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from botfleet.adapters.security import JwtTokens
from botfleet.clock import FixedClock
from botfleet.domain.throttle import (
    ACCOUNT,
    ADDRESS,
    PAIR,
    Counter,
    LoginPolicy,
    RegistrationPolicy,
    address_key,
    after_failure,
    expires_at,
    retry_after,
    score_at,
    wait_seconds,
)
from botfleet.errors import RateLimited, Unauthorized
from botfleet.services.auth import AuthService
from tests.support.throttle import InMemoryThrottleStore, PlainHasher
from tests.unit.test_auth_service import InMemoryUsers

POLICY = LoginPolicy()
RULES = st.sampled_from(list(POLICY.rules.values()))
NOW = 1_800_000_000.0
scores = st.floats(min_value=0, max_value=10_000, allow_nan=False)
gaps = st.floats(min_value=0, max_value=7 * 86400, allow_nan=False)


last_failures = st.floats(min_value=NOW - 86400, max_value=NOW, allow_nan=False)


def counters():
    return st.builds(Counter, score=scores, last_failure_at=last_failures)


# --- one rule ------------------------------------------------------------------------------------------------
@given(RULES, scores, scores)
def test_the_delay_grows_with_the_score_and_stays_under_the_cap(rule, a, b):
    low, high = sorted((a, b))
    assert 0 <= rule.delay(low) <= rule.delay(high) <= rule.max_delay


@given(RULES, st.integers(min_value=0, max_value=200))
def test_failures_below_the_threshold_are_free_then_the_delay_doubles(rule, failures):
    if failures < rule.threshold:
        assert rule.delay(failures) == 0
    else:
        assert rule.delay(failures) == min(rule.max_delay, rule.base_delay * 2 ** (failures - rule.threshold))


@given(RULES, counters(), gaps, gaps)
def test_the_wait_only_shrinks_as_time_passes_and_never_exceeds_the_cap(rule, counter, a, b):
    early, late = sorted((a, b))
    assert rule.max_delay >= wait_seconds(rule, counter, NOW + early) >= wait_seconds(rule, counter, NOW + late) >= 0


@given(RULES, counters(), gaps)
def test_a_failure_adds_one_to_the_leaked_score_and_starts_the_delay_from_now(rule, counter, gap):
    now = NOW + gap
    after = after_failure(rule, counter, now)
    assert after.score == pytest.approx(score_at(rule, counter, now) + 1)
    assert after.last_failure_at == now
    assert wait_seconds(rule, after, now) == pytest.approx(rule.delay(after.score))
    assert expires_at(rule, after) >= now + rule.forget_seconds(after.score) - 1


@given(RULES, counters())
def test_the_score_leaks_away_completely(rule, counter):
    assert score_at(rule, counter, NOW + rule.forget_seconds(counter.score) + 1) == 0


@given(st.floats(min_value=-10, max_value=10_000, allow_nan=False))
def test_retry_after_is_whole_seconds_and_at_least_one(wait):
    value = retry_after(wait)
    assert isinstance(value, int) and value >= 1 and value >= wait


# --- the combined decision -----------------------------------------------------------------------------------
@given(counters(), counters(), counters())
def test_a_known_pair_is_judged_by_the_pair_scope_alone(pair, address, account):
    known = Counter(pair.score, pair.last_failure_at, known_until=NOW + 1)
    decision = POLICY.decide({PAIR: known, ADDRESS: address, ACCOUNT: account}, NOW)
    assert decision.scopes == (PAIR,)
    assert decision.wait == wait_seconds(POLICY.rules[PAIR], known, NOW)


@given(counters(), counters(), counters())
def test_an_unknown_pair_waits_for_the_slowest_scope(pair, address, account):
    counters_ = {PAIR: pair, ADDRESS: address, ACCOUNT: account}
    decision = POLICY.decide(counters_, NOW)
    assert decision.scopes == (PAIR, ADDRESS, ACCOUNT)
    assert decision.wait == max(wait_seconds(POLICY.rules[s], counters_[s], NOW) for s in counters_)


@given(counters())
def test_the_account_scope_alone_never_holds_anyone_back_for_more_than_a_minute(account):
    assert POLICY.decide({ACCOUNT: account}, NOW).wait <= 60


def test_registration_windows_are_whole_hours():
    assert RegistrationPolicy().window(7200.5) == (7200, 10800)


@pytest.mark.parametrize(("ip", "key"), [
    ("203.0.113.9", "203.0.113.9"),
    (" 203.0.113.9 ", "203.0.113.9"),
    ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
    ("::ffff:203.0.113.9", "203.0.113.9"),
    ("", "unknown"), (None, "unknown"), ("not an address", "unknown"),
])
def test_address_keys(ip, key):
    assert address_key(ip) == key


# --- through the service: strangers and figures --------------------------------------------------------------
OWNER_IP = "198.51.100.7"
PASSWORD = "correct horse 1"


def _service():
    clock = FixedClock()
    service = AuthService(InMemoryUsers(), PlainHasher(), JwtTokens("k" * 40, timedelta(hours=1)), clock,
                          InMemoryThrottleStore())
    service.register("ann@example.com", PASSWORD, "Ann", source_ip=OWNER_IP)
    return service, clock


def _login(service, email, password, ip):
    try:
        service.login(email, password, source_ip=ip)
    except RateLimited as exc:
        return 429, int(exc.headers["Retry-After"])
    except Unauthorized:
        return 401, 0
    return 200, 0


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.floats(0, 120, allow_nan=False)), max_size=150))
def test_whatever_strangers_do_the_owner_is_never_held_back_long(moves):
    """Strangers at up to six other addresses guess at any pace; the owner at their own address logs in at once,
    and from a brand-new address waits a minute at most."""
    service, clock = _service()
    for stranger, pause in moves:
        _login(service, "ann@example.com", "wrong password 1", f"203.0.113.{stranger}")
        clock.advance(seconds=pause)
    assert _login(service, "ann@example.com", PASSWORD, OWNER_IP) == (200, 0)
    status, wait = _login(service, "ann@example.com", PASSWORD, "192.0.2.200")
    assert status == 200 or wait <= 60


def _attack(target, address, hours=24):
    """A patient attacker who guesses as fast as allowed (honouring Retry-After); the times of counted guesses."""
    service, clock = _service()
    start = clock.now().timestamp()
    guesses = []
    for n in itertools.count():
        elapsed = clock.now().timestamp() - start
        if elapsed >= hours * 3600:
            return guesses
        status, wait = _login(service, target(n), "wrong password 1", address(n))
        if status == 401:
            guesses.append(elapsed)
        clock.advance(seconds=wait or 0.05)


def _per_hour(guesses, hour):
    return sum(1 for t in guesses if hour * 3600 <= t < (hour + 1) * 3600)


def test_figures_one_address_against_one_account():
    guesses = _attack(lambda n: "ann@example.com", lambda n: "203.0.113.9")
    # 5 free, then 1 s, 2 s ... 512 s, then one every 15 minutes.
    assert _per_hour(guesses, 0) == 17
    assert _per_hour(guesses, 23) == 4
    assert len(guesses) <= 110


def test_figures_one_address_against_many_accounts():
    guesses = _attack(lambda n: f"user{n}@example.com", lambda n: "203.0.113.9")
    # 20 free, a doubling ramp, then the 3-minute leak sets the pace.
    assert _per_hour(guesses, 0) <= 50
    assert _per_hour(guesses, 23) <= 21
    assert len(guesses) <= 520


def test_figures_a_botnet_against_one_account():
    guesses = _attack(lambda n: "ann@example.com", lambda n: f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}")
    # Every guess from a fresh address: only the account scope applies, one guess a minute once it is warm.
    assert _per_hour(guesses, 0) <= 75
    assert _per_hour(guesses, 23) <= 61
