"""Users: email normalization and the password policy."""

from __future__ import annotations

import re

from botfleet.errors import Unprocessable

ROLES = ("user", "admin")
# The local part: printable ASCII without spaces or "@" (no control or invisible characters, no lookalikes).
_EMAIL = re.compile(r"^[!-?A-~]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+$")
MIN_PASSWORD_LENGTH = 10


def generate_password() -> str:
    """A random password that always satisfies the policy (letters mixed with digits and a symbol)."""
    import secrets

    return f"{secrets.token_urlsafe(12)}-{secrets.randbelow(900) + 100}"


def normalize_email(email: str) -> str:
    email = email.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise Unprocessable("email", "is not a valid email address")
    return email


def check_password_strength(password: str, email: str = "") -> None:
    """NIST 800-63B style: length over composition rules, plus the obvious no-gos."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Unprocessable("password", f"must be at least {MIN_PASSWORD_LENGTH} characters", code="weak_password")
    if len(password) > 256:
        raise Unprocessable("password", "must be at most 256 characters")
    if len(set(password)) < 4:
        raise Unprocessable("password", "is too repetitive", code="weak_password")
    if not (re.search(r"[A-Za-z]", password) and re.search(r"[^A-Za-z]", password)):
        raise Unprocessable("password", "must mix letters with digits or symbols", code="weak_password")
    if email and email.split("@")[0].lower() in password.lower():
        raise Unprocessable("password", "must not contain your email name", code="weak_password")
