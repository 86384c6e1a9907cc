"""Accounts: register, log in (with throttling), authenticate requests, log out everywhere."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botfleet.clock import Clock, iso
from botfleet.domain.users import check_password_strength, normalize_email
from botfleet.errors import Forbidden, RateLimited, Unauthorized, Unprocessable
from botfleet.ids import new_id
from botfleet.ports import PasswordHasher, UserRepository

MAX_LOGIN_FAILURES = 5
LOGIN_WINDOW_SECONDS = 15 * 60


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling, as established from a verified token and a fresh read of the user."""

    user_id: str
    email: str
    name: str
    role: str

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class AuthService:
    def __init__(self, users: UserRepository, hasher: PasswordHasher, tokens: Any, clock: Clock):
        self.users = users
        self.hasher = hasher
        self.tokens = tokens
        self.clock = clock

    def register(self, email: str, password: str, name: str, role: str = "user") -> tuple[dict, str]:
        email = normalize_email(email)
        name = name.strip()
        if not 1 <= len(name) <= 100:
            raise Unprocessable("name", "must be 1 to 100 characters")
        check_password_strength(password, email)
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
        return user, self.tokens.issue(user, self.clock.now())

    def login(self, email: str, password: str) -> tuple[dict, str]:
        try:
            email = normalize_email(email)
        except Unprocessable:
            raise Unauthorized("email or password is wrong", code="invalid_credentials") from None
        now = int(self.clock.now().timestamp())
        throttle = self.users.login_failures(email)
        window_open = throttle is not None and now < int(throttle["window_start"]) + LOGIN_WINDOW_SECONDS
        if window_open and int(throttle["failures"]) >= MAX_LOGIN_FAILURES:
            retry_after = int(throttle["window_start"]) + LOGIN_WINDOW_SECONDS - now
            raise RateLimited(
                f"too many failed logins; try again in {retry_after} s", code="too_many_attempts",
                headers={"Retry-After": str(retry_after)},
            )
        user = self.users.get_by_email(email)
        if not self.hasher.verify(user["password_hash"] if user else None, password):
            window_start = int(throttle["window_start"]) if window_open else now
            self.users.record_login_failure(email, window_start, window_start + LOGIN_WINDOW_SECONDS)
            raise Unauthorized("email or password is wrong", code="invalid_credentials")
        if throttle is not None:
            self.users.reset_login_failures(email)
        if user.get("blocked"):
            raise Forbidden("this account is blocked", code="account_blocked")
        return user, self.tokens.issue(user, self.clock.now())

    def authenticate(self, token: str | None) -> Principal:
        """A valid signature is not enough: the user must exist, not be blocked, and the token's version
        must be the user's current one (logout and admin force-logout bump it)."""
        if not token:
            raise Unauthorized("an access token is required", code="not_authenticated")
        claims = self.tokens.verify(token, self.clock.now())
        user = self.users.get(claims["sub"])
        if user is None:
            raise Unauthorized("the access token is revoked", code="token_revoked")
        if int(claims.get("tv", -1)) != int(user.get("token_version", 0)):
            raise Unauthorized("the access token is revoked", code="token_revoked")
        if user.get("blocked"):
            raise Forbidden("this account is blocked", code="account_blocked")
        return Principal(user["id"], user["email"], user["name"], user["role"])

    def logout(self, principal: Principal) -> None:
        self.users.bump_token_version(principal.user_id)

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
            return existing, False
        user, _ = self.register(email, password, "Administrator", role="admin")
        return user, True

    def ensure_user(self, email: str, password: str, name: str) -> tuple[dict, bool]:
        existing = self.users.get_by_email(normalize_email(email))
        if existing is not None:
            return existing, False
        user, _ = self.register(email, password, name)
        return user, True
