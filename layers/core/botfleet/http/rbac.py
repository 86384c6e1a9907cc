"""Who may call what, in one place. Every REST function's resolver enforces this table through one
middleware; handlers never check roles themselves.

- public: no token needed;
- admin: the `admin` role (401 without a valid token, 403 for a user);
- everything else: any signed-in, unblocked user with a current token (one signed in with a temporary password
  from an admin's reset: only PASSWORD_CHANGE_ROUTES until they choose their own).
"""

from __future__ import annotations

PUBLIC = frozenset({
    ("POST", "/api/auth/register"),
    ("POST", "/api/auth/login"),
    ("GET", "/api/health"),
    ("GET", "/api/config"),
})
ADMIN_PREFIXES = ("/api/admin/", "/api/admin")
# All a user signed in with an admin reset's temporary password may do until they choose their own.
PASSWORD_CHANGE_ROUTES = frozenset({
    ("POST", "/api/auth/password"),
    ("GET", "/api/auth/me"),
    ("POST", "/api/auth/logout"),
})
ADMIN_ROUTES = frozenset({("PUT", "/api/quarantine/config")})


def allowed_before_password_change(method: str, path: str) -> bool:
    return (method.upper(), path) in PASSWORD_CHANGE_ROUTES


def required_role(method: str, path: str) -> str | None:
    """None for public routes, else the role needed: "user" (any signed-in user) or "admin"."""
    method = method.upper()
    if (method, path) in PUBLIC or method == "OPTIONS":
        return None
    if path == "/api/admin" or path.startswith("/api/admin/") or (method, path) in ADMIN_ROUTES:
        return "admin"
    return "user"
