"""Login and registration throttling (pure policy: no storage, no clock; `now` is epoch seconds passed in).

Why not a lock: the old rule (5 wrong passwords lock the account for 15 minutes) let anyone lock anyone out,
admins included, from any address, while one address could try unlimited accounts. Here an attempt is slowed
by three counters, each keyed by what an attacker controls least:

| scope | key | free failures | then waits | cap | forgets one failure every |
|---|---|---|---|---|---|
| pair | (source address, account) | 5 | 1 s, 2 s, 4 s ... | 15 min | 1 h (and all of them on success) |
| address | source address, any account | 20 | 1 s, 2 s, 4 s ... | 15 min | 3 min |
| account | account, any unknown address | 10 | 1 s, 2 s, 4 s ... | 60 s | 6 min |

- A stranger's failures only land on *their* address's counters and on the account counter, whose cap is
  60 s: they can slow the owner down for at most a minute at a time, never lock them out.
- A *known* pair (a success, i.e. a login or the registration, from that address for that account within
  30 days) skips the address and account scopes altogether: the owner at home or at work is never slowed
  by anyone else. The pair scope still applies to it, since someone behind the same NAT is indistinguishable.
- Counters leak (a leaky bucket) rather than reset at a window's edge: an attacker gains nothing by timing
  a window, and the long-run rate one address can sustain is the faster of the leak and the cap (per pair
  4/h, across accounts 20/h, per account from everywhere 60/h); bursts beyond the free failures are
  slowed exponentially.
- A throttled attempt is not a failure: its password is never checked and nothing is counted, so hammering
  a closed door neither extends the wait nor learns anything. The delay runs from the last *counted*
  failure.
- Each attempt counts as a failure *before* its password is checked (and is given back on success), so a
  burst of concurrent attempts cannot all pass the check before the first failure is recorded.

Registrations: at most `limit` per source address per fixed hour window (atomic counter), counting every
attempt that reaches the store, including "email taken" answers, so registration cannot enumerate emails
faster than that either.

IPv6 clients are keyed by their /64 network: one subscriber usually holds a whole /64, so per-address keys
on full IPv6 addresses would give an attacker 2^64 fresh budgets.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from botfleet.errors import RateLimited

PAIR, ADDRESS, ACCOUNT = "login-pair", "login-address", "login-account"
REGISTER = "register-address"
LOGIN_SCOPES = (PAIR, ADDRESS, ACCOUNT)
UNKNOWN_ADDRESS = "unknown"


@dataclass(frozen=True, slots=True)
class Rule:
    """One scope's policy: `threshold` failures are free; after that the next attempt waits
    `base_delay * 2 ** (failures - threshold)` seconds (capped at `max_delay`) from the last failure, where
    `failures` is the score rounded up. The score forgets one failure every `leak_seconds`."""

    threshold: int
    base_delay: float
    max_delay: float
    leak_seconds: float

    def delay(self, score: float) -> float:
        failures = whole_failures(score)
        if failures < self.threshold:
            return 0.0
        # The exponent is bounded so that a huge score cannot overflow the float before the cap applies.
        exponent = min(failures - self.threshold, 64)
        return min(self.max_delay, self.base_delay * 2.0 ** exponent)

    def forget_seconds(self, score: float) -> float:
        """How long until a score has leaked away entirely (when its record may expire)."""
        return score * self.leak_seconds


@dataclass(frozen=True, slots=True)
class Counter:
    """A counter as stored: the failure score right after the last counted failure, when that was, and (pair
    scope) until when the pair counts as known. `revision` is the store's: it detects a concurrent change."""

    score: float = 0.0
    last_failure_at: float | None = None
    known_until: float | None = None
    revision: int = 0


def whole_failures(score: float) -> int:
    """The score in whole failures, rounded up: five failures in a row are five even though the first ones
    have leaked a little meanwhile. (The millionth is storage rounding, not a failure.)"""
    return max(0, math.ceil(score - 1e-6))


class CounterWrite(NamedTuple):
    """Counter `key` of `scope` goes from `seen` (None: absent) to `new`; the record may expire at `expires_at`."""

    scope: str
    key: str
    seen: Counter | None
    new: Counter
    expires_at: int


def score_at(rule: Rule, counter: Counter | None, now: float) -> float:
    """The score with the leak since the last failure taken off."""
    if counter is None or counter.last_failure_at is None or counter.score <= 0:
        return 0.0
    elapsed = max(0.0, now - counter.last_failure_at)
    return max(0.0, counter.score - elapsed / rule.leak_seconds)


def wait_seconds(rule: Rule, counter: Counter | None, now: float) -> float:
    """How long from `now` until this scope allows the next attempt (0: now)."""
    if counter is None or counter.last_failure_at is None:
        return 0.0
    return max(0.0, counter.last_failure_at + rule.delay(counter.score) - now)


def after_failure(rule: Rule, counter: Counter | None, now: float) -> Counter:
    """The counter once one more failure (at `now`) is counted."""
    base = counter or Counter()
    return replace(base, score=score_at(rule, counter, now) + 1.0, last_failure_at=now)


def expires_at(rule: Rule, counter: Counter) -> int:
    """When the stored counter is of no more use (the table's TTL): its score has leaked away and, for a
    pair, it is no longer known."""
    end = (counter.last_failure_at or 0.0) + rule.forget_seconds(counter.score)
    return math.ceil(max(end, counter.known_until or 0.0))


def retry_after(wait: float) -> int:
    """The Retry-After header value: whole seconds, at least 1 (0 would invite an immediate retry storm)."""
    return max(1, math.ceil(wait))


@dataclass(frozen=True, slots=True)
class LoginDecision:
    wait: float  # seconds; 0 means the attempt may proceed
    scope: str | None  # the scope that imposes the wait
    scopes: tuple[str, ...]  # the scopes this attempt is counted in

    @property
    def allowed(self) -> bool:
        return self.wait <= 0


@dataclass(frozen=True)
class LoginPolicy:
    rules: Mapping[str, Rule] = field(default_factory=lambda: {
        PAIR: Rule(threshold=5, base_delay=1.0, max_delay=15 * 60.0, leak_seconds=3600.0),
        ADDRESS: Rule(threshold=20, base_delay=1.0, max_delay=15 * 60.0, leak_seconds=180.0),
        ACCOUNT: Rule(threshold=10, base_delay=1.0, max_delay=60.0, leak_seconds=360.0),
    })
    known_for: float = 30 * 86400.0

    def is_known(self, pair: Counter | None, now: float) -> bool:
        return pair is not None and pair.known_until is not None and now < pair.known_until

    def scopes(self, known: bool) -> tuple[str, ...]:
        return (PAIR,) if known else LOGIN_SCOPES

    def decide(self, counters: Mapping[str, Counter | None], now: float) -> LoginDecision:
        """The wait before this attempt may proceed: the longest over the scopes that apply to it."""
        scopes = self.scopes(self.is_known(counters.get(PAIR), now))
        wait, worst = 0.0, None
        for scope in scopes:
            scope_wait = wait_seconds(self.rules[scope], counters.get(scope), now)
            if scope_wait > wait:
                wait, worst = scope_wait, scope
        return LoginDecision(wait, worst, scopes)

    def after_success(self, pair: Counter | None, now: float) -> Counter:
        """A success clears the pair and makes it known (the other scopes give back the attempt's count)."""
        return replace(pair or Counter(), score=0.0, last_failure_at=None, known_until=now + self.known_for)


@dataclass(frozen=True, slots=True)
class RegistrationPolicy:
    limit: int = 20  # per source address per window
    window_seconds: int = 3600

    def window(self, now: float) -> tuple[int, int]:
        """The fixed window `now` falls in: (start, end) in epoch seconds."""
        start = int(now // self.window_seconds) * self.window_seconds
        return start, start + self.window_seconds


def address_key(source_ip: str | None) -> str:
    """The key a source address is throttled under: IPv4 as is, IPv6 by its /64 (see the module doc)."""
    if not source_ip:
        return UNKNOWN_ADDRESS
    try:
        address = ipaddress.ip_address(source_ip.strip())
    except ValueError:
        return UNKNOWN_ADDRESS
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network(f"{address}/64", strict=False))
    return str(address)


def pair_key(address: str, email: str) -> str:
    return f"{address}#{email}"


@dataclass(frozen=True, slots=True)
class MinuteWindow:
    """A fixed one-minute window for per-user limits on costly calls (key tests, chat messages), counted in a
    self-expiring counter that outlives the window by a minute so a late increment never lands in a fresh item.
    Unlike the login throttle this is about cost, not guessing: a window's edge is good enough."""

    start: int  # epoch seconds, a multiple of 60

    @classmethod
    def containing(cls, now: int) -> MinuteWindow:
        return cls(now // 60 * 60)

    @property
    def minute(self) -> int:
        return self.start // 60

    @property
    def expires_at(self) -> int:
        return self.start + 120

    def refusal(self, now: int, limit: int, what: str, code: str) -> RateLimited:
        retry_after = max(1, self.start + 60 - now)
        return RateLimited(f"at most {limit} {what} a minute; try again in {retry_after} s", code=code,
                           headers={"Retry-After": str(retry_after)})
