"""The providers a user can store API keys for, and the fields each one needs (pure data)."""

from __future__ import annotations

PROVIDERS: dict[str, tuple[str, ...]] = {
    "openai": ("api_key",),
    "luno": ("api_key", "api_secret"),
    "binance": ("api_key", "api_secret"),
    "kucoin": ("api_key", "api_secret", "passphrase"),
    "valr": ("api_key", "api_secret"),
    "ovex": ("api_key",),  # OVEX authenticates with a bearer token only
}
CREDENTIAL_FIELDS = ("api_key", "api_secret", "passphrase")
