"""Users: email normalization and the password policy."""

from __future__ import annotations

import re

from botfleet.errors import Unprocessable

ROLES = ("user", "admin")
# The local part: printable ASCII without spaces or "@" (no control or invisible characters, no lookalikes).
_EMAIL = re.compile(r"^[!-?A-~]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9-]{1,63})+$")
MIN_PASSWORD_LENGTH = 10
MIN_EMAIL_NAME_CHECKED = 3  # an email name shorter than this may appear in the password


def generate_password(email: str = "") -> str:
    """A random password that satisfies the policy for `email`'s account (letters mixed with digits and a symbol,
    and drawn again in the rare case it holds the email's name)."""
    import secrets

    while True:
        password = f"{secrets.token_urlsafe(12)}-{secrets.randbelow(900) + 100}"
        try:
            check_password_strength(password, email)
        except Unprocessable:
            continue
        return password


def normalize_email(email: str) -> str:
    email = email.strip().lower()
    if len(email) > 254 or not _EMAIL.match(email):
        raise Unprocessable("email", "is not a valid email address")
    return email


def check_password_strength(password: str, email: str = "", field: str = "password") -> None:
    """NIST 800-63B style: length over composition rules, plus the obvious no-gos. `field` is the request's name for
    the password (a password change sends `new_password`), which the 422 names."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise Unprocessable(field, f"must be at least {MIN_PASSWORD_LENGTH} characters", code="weak_password")
    if len(password) > 256:
        raise Unprocessable(field, "must be at most 256 characters")
    if len(set(password)) < 4:
        raise Unprocessable(field, "is too repetitive", code="weak_password")
    if not (re.search(r"[A-Za-z]", password) and re.search(r"[^A-Za-z]", password)):
        raise Unprocessable(field, "must mix letters with digits or symbols", code="weak_password")
    # A name of one or two characters ("a@...") is no guess worth refusing, and would refuse most passwords.
    name = email.split("@")[0].lower()
    if len(name) >= MIN_EMAIL_NAME_CHECKED and name in password.lower():
        raise Unprocessable(field, "must not contain your email name", code="weak_password")
