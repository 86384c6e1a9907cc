"""Password hashing (Argon2id) and access tokens (JWT, HS256, per-user token version)."""

from __future__ import annotations

import functools
import os
import secrets
from datetime import datetime, timedelta
from typing import Any

from botfleet.errors import Unauthorized

ISSUER = "botfleet"
ALGORITHM = "HS256"


class Argon2PasswordHasher:
    """Argon2id with OWASP's minimum profile (19 MiB, t=2, p=1): ~20 ms here, costly to brute-force."""

    def __init__(self, time_cost: int = 2, memory_cost: int = 19 * 1024, parallelism: int = 1):
        from argon2 import PasswordHasher

        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_cost, parallelism=parallelism)
        self._dummy = self._hasher.hash(secrets.token_urlsafe(16))

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored_hash: str | None, password: str) -> bool:
        """Constant work whether or not the user exists (no user-enumeration by timing)."""
        from argon2.exceptions import InvalidHashError, VerificationError

        try:
            return self._hasher.verify(stored_hash or self._dummy, password) and stored_hash is not None
        except (VerificationError, InvalidHashError):
            return False


class JwtTokens:
    def __init__(self, secret: str, lifetime: timedelta = timedelta(hours=1)):
        if len(secret) < 32:
            raise ValueError("the JWT signing key must be at least 32 characters")
        self._secret = secret
        self.lifetime = lifetime

    def issue(self, user: dict[str, Any], now: datetime) -> str:
        import jwt

        claims = {
            "iss": ISSUER,
            "sub": user["id"],
            "role": user["role"],
            "tv": int(user.get("token_version", 0)),
            "iat": int(now.timestamp()),
            "exp": int((now + self.lifetime).timestamp()),
            "jti": secrets.token_urlsafe(12),
        }
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def verify(self, token: str, now: datetime) -> dict[str, Any]:
        """Signature, algorithm (HS256 only: no `none`, no key confusion), issuer and expiry."""
        import jwt

        try:
            claims = jwt.decode(
                token, self._secret, algorithms=[ALGORITHM], issuer=ISSUER,
                options={"require": ["exp", "iat", "sub", "iss"], "verify_exp": False},
            )
        except jwt.PyJWTError as exc:
            raise Unauthorized("the access token is invalid", code="invalid_token") from exc
        # Expiry against the injected clock, not the system clock.
        if claims["exp"] <= int(now.timestamp()):
            raise Unauthorized("the access token has expired", code="token_expired")
        return claims


@functools.cache
def jwt_secret_from_env() -> str:
    """The signing key from Secrets Manager (cached for the life of the execution environment)."""
    return secret_string(os.environ["JWT_SECRET_ARN"])


def secret_string(arn: str) -> str:
    """A Secrets Manager secret's value (callers cache it: one read per execution environment)."""
    from botfleet.adapters.aws import client

    return client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
