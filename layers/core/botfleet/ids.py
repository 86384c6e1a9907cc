"""Opaque, URL-safe, sortable-enough identifiers."""

from __future__ import annotations

import hashlib
import secrets


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(8)}"


def derived_id(prefix: str, *parts: str) -> str:
    """The same inputs always give the same id: how retried writes stay idempotent."""
    return f"{prefix}_{hashlib.sha256(':'.join(parts).encode()).hexdigest()[:20]}"
