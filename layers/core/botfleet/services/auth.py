"""Accounts: register, log in (throttled, see botfleet.domain.throttle), authenticate requests, log out everywhere."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from botfleet.clock import Clock, iso
from botfleet.domain.text import clean_text
from botfleet.domain.throttle import (
    ACCOUNT,
    ADDRESS,
    PAIR,
    REGISTER,
    Counter,
    CounterWrite,
    LoginPolicy,
    RegistrationPolicy,
    address_key,
    after_failure,
    expires_at,
    pair_key,
    retry_after,
)
from botfleet.domain.users import check_password_strength, normalize_email
from botfleet.errors import Conflict, Forbidden, RateLimited, Unauthorized, Unprocessable
from botfleet.ids import new_id
from botfleet.ports import PasswordHasher, ThrottleStore, UserRepository

#: How often an attempt re-reads its counters when concurrent attempts keep changing them before giving up
#: with a 429: a burst on one counter is exactly what the throttle is there to slow down.
CLAIM_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, as established from a verified token and a fresh read of the user."""

    user_id: str
    email: str
    name: str
    role: str
    # Signed in with a temporary password an admin's reset gave out: only choosing a password of one's own (and
    # reading oneself, logging out) is allowed until then (http/rbac.py, PASSWORD_CHANGE_ROUTES).
    must_change_password: bool = False
    # The user's token version the token carried (and still matches): a WebSocket remembers it, so its later
    # messages can tell whether the session was revoked since (services.realtime).
    token_version: int = 0

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class AuthService:
    def __init__(self, users: UserRepository, hasher: PasswordHasher, tokens: Any, clock: Clock,
                 throttles: ThrottleStore, *, login_policy: LoginPolicy | None = None,
                 registration_policy: RegistrationPolicy | None = None,
                 close_connections: Callable[[str], int] | None = None):
        self.users = users
        self.hasher = hasher
        self.tokens = tokens
        self.clock = clock
        self.throttles = throttles
        self.login_policy = login_policy or LoginPolicy()
        self.registration_policy = registration_policy or RegistrationPolicy()
        # Closes the user's open WebSockets at logout; None where this function cannot reach @connections.
        self.close_connections = close_connections

    def register(self, email: str, password: str, name: str, role: str = "user",
                 source_ip: str | None = None) -> tuple[dict, str]:
        """`source_ip` is the caller's address for a request from the internet, which is limited per address;
        None only for operators' own provisioning (ensure_admin, seed data), which is not."""
        email = normalize_email(email)
        name = clean_text(name, "name", max_length=100)
        check_password_strength(password, email)
        address = None if source_ip is None else address_key(source_ip)
        if address is not None:
            # Counted before the account is created, so "email taken" answers count too (no free enumeration).
            self._count_registration(address)
        user = {
            "id": new_id("usr"),
            "email": email,
            "name": name,
            "role": role,
            "password_hash": self.hasher.hash(password),
            "token_version": 0,
            "blocked": False,
            "created_at": iso(self.clock.now()),
        }
        self.users.create(user)
        if address is not None:
            self._remember_pair(pair_key(address, email), None, self._now())  # the new owner's own address
        return user, self.tokens.issue(user, self.clock.now())

    def login(self, email: str, password: str, source_ip: str | None = None) -> tuple[dict, str]:
        try:
            email = normalize_email(email)
        except Unprocessable:
            raise Unauthorized("email or password is wrong", code="invalid_credentials") from None
        user = self._check_password(email, password, source_ip)
        if user.get("blocked"):
            raise Forbidden("this account is blocked", code="account_blocked")
        return user, self.tokens.issue(user, self.clock.now())

    def confirm_password(self, principal: Principal, password: str, source_ip: str | None = None) -> None:
        """A signed-in user re-enters their password (the assistant's `show admin`). Wrong: 403, counted by the
        same throttle as logins, so a stolen token is no faster an oracle for the password than the login form."""
        try:
            self._check_password(principal.email, password, source_ip)
        except Unauthorized:
            raise Forbidden("the password is wrong", code="wrong_password") from None

    def change_password(self, principal: Principal, current: str, new: str,
                        source_ip: str | None = None) -> tuple[dict, str]:
        """The caller's own new password, after the current one (403 `wrong_password`, counted by the login
        throttle). Every token issued so far is revoked and every open WebSocket closed (a session elsewhere may be
        the reason for the change); the caller gets a fresh token. Clears an admin reset's must-change flag."""
        self.confirm_password(principal, current, source_ip)
        check_password_strength(new, principal.email, field="new_password")
        if new == current:
            raise Unprocessable("new_password", "must differ from the current password")
        user = self.users.update_fields(principal.user_id, {"password_hash": self.hasher.hash(new),
                                                            "must_change_password": False}, revoke_tokens=True)
        if self.close_connections is not None:
            self.close_connections(principal.user_id)
        return user, self.tokens.issue(user, self.clock.now())

    def _check_password(self, email: str, password: str, source_ip: str | None) -> dict:
        """The account behind `email` if `password` is its password; every attempt goes through the throttle
        first (429 while it says wait), and a success forgives what this attempt counted."""
        address = address_key(source_ip)
        keys = {PAIR: pair_key(address, email), ADDRESS: address, ACCOUNT: email}
        now = self._now()
        pair, scopes = self._claim_attempt(keys, now)
        user = self.users.get_by_email(email)
        if not self.hasher.verify(user["password_hash"] if user else None, password):
            raise Unauthorized("email or password is wrong", code="invalid_credentials")  # already counted
        self._remember_pair(keys[PAIR], pair, now)
        for scope in scopes:
            if scope != PAIR:
                self.throttles.give_back(scope, keys[scope])
        return user

    def _claim_attempt(self, keys: dict[str, str], now: float) -> tuple[Counter, tuple[str, ...]]:
        """Count this attempt as a failure in every scope that applies, unless one of them says wait (429, and
        nothing counted). Counting first, and only if no counter moved since it was read, is what keeps a burst
        of concurrent attempts from all passing the check before the first failure lands.
        Returns the pair counter as claimed and the scopes counted in."""
        policy = self.login_policy
        for _ in range(CLAIM_ATTEMPTS):
            counters = {PAIR: self.throttles.read(PAIR, keys[PAIR])}
            known = policy.is_known(counters[PAIR], now)
            for scope in policy.scopes(known):
                if scope not in counters:
                    counters[scope] = self.throttles.read(scope, keys[scope])
            decision = policy.decide(counters, now)
            if not decision.allowed:
                seconds = retry_after(decision.wait)
                raise RateLimited(f"too many failed logins; try again in {seconds} s", code="too_many_attempts",
                                  headers={"Retry-After": str(seconds)})
            writes = []
            for scope in decision.scopes:
                rule = policy.rules[scope]
                new = after_failure(rule, counters[scope], now)
                writes.append(CounterWrite(scope, keys[scope], counters[scope], new, expires_at(rule, new)))
            if self.throttles.claim(writes):
                return writes[0].new, decision.scopes
        raise RateLimited("too many simultaneous logins; try again in 1 s", code="too_many_attempts",
                          headers={"Retry-After": "1"})

    def _remember_pair(self, key: str, pair: Counter | None, now: float) -> None:
        """A success: the pair starts afresh and is known (skips the address and account scopes) for a while."""
        cleared = self.login_policy.after_success(pair, now)
        self.throttles.succeed(PAIR, key, cleared, expires_at(self.login_policy.rules[PAIR], cleared))

    def _count_registration(self, address: str) -> None:
        policy = self.registration_policy
        now = self._now()
        start, end = policy.window(now)
        if not self.throttles.count_in_window(REGISTER, address, start, policy.limit, end + 60):
            seconds = retry_after(end - now)
            raise RateLimited(f"at most {policy.limit} registrations an hour from one address; try again in "
                              f"{seconds} s", code="too_many_registrations", headers={"Retry-After": str(seconds)})

    def _now(self) -> float:
        return self.clock.now().timestamp()

    def authenticate(self, token: str | None) -> Principal:
        """A valid signature is not enough: the user must exist, not be blocked, and the token's version
        must be the user's current one (logout and admin force-logout bump it)."""
        if not token:
            raise Unauthorized("an access token is required", code="not_authenticated")
        claims = self.tokens.verify(token, self.clock.now())
        user = self._current(claims["sub"], int(claims.get("tv", -1)))
        return Principal(user["id"], user["email"], user["name"], user["role"],
                         must_change_password=bool(user.get("must_change_password")),
                         token_version=int(user.get("token_version", 0)))

    def still_signed_in(self, user_id: str, token_version: int) -> bool:
        """Whether a session authenticated earlier with this token version still stands: the user is there, not
        blocked, the version is current (no logout, force logout, password change or reset since)."""
        try:
            self._current(user_id, token_version)
        except (Unauthorized, Forbidden):
            return False
        return True

    def _current(self, user_id: str, token_version: int) -> dict:
        user = self.users.get(user_id)
        if user is None:
            raise Unauthorized("the access token is revoked", code="token_revoked")
        if token_version != int(user.get("token_version", 0)):
            raise Unauthorized("the access token is revoked", code="token_revoked")
        if user.get("blocked"):
            raise Forbidden("this account is blocked", code="account_blocked")
        return user

    def logout(self, principal: Principal) -> None:
        """Every token of the caller stops working, then their open WebSockets are closed (revoking first, so a
        socket cannot reconnect with a token that is about to be revoked)."""
        self.users.bump_token_version(principal.user_id)
        if self.close_connections is not None:
            self.close_connections(principal.user_id)

    def me(self, principal: Principal) -> dict:
        user = self.users.get(principal.user_id)
        if user is None:
            raise Unauthorized("the access token is revoked", code="token_revoked")
        return user

    def ensure_admin(self, email: str, password: str) -> tuple[dict, bool]:
        """Create the first admin if that email has no account yet; idempotent across restarts.
        Returns (user, created)."""
        existing = self.users.get_by_email(normalize_email(email))
        if existing is not None:
            if existing.get("role") != "admin":
                # Someone registered the admin's address first: say so, rather than report an admin that is not one.
                raise Conflict(f"{email} is already a user's account, not an admin's: provision another address",
                               code="admin_email_taken")
            return existing, False
        user, _ = self.register(email, password, "Administrator", role="admin")
        return user, True

    def ensure_user(self, email: str, password: str, name: str) -> tuple[dict, bool]:
        existing = self.users.get_by_email(normalize_email(email))
        if existing is not None:
            return existing, False
        user, _ = self.register(email, password, name)
        return user, True
