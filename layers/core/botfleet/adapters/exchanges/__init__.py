"""Live exchanges behind one port (`ExchangeClient`): ccxt for Binance, KuCoin and Luno; own clients for VALR
and OVEX. Importing this package is cheap: ccxt and httpx load only when `make_client` builds a client.
See docs/exchanges.md.
"""

from __future__ import annotations

from botfleet.adapters.exchanges.base import Credentials, ExchangeClient

CCXT_EXCHANGES = ("binance", "kucoin", "luno")
OWN_CLIENT_EXCHANGES = ("valr", "ovex")
SUPPORTED_EXCHANGES = CCXT_EXCHANGES + OWN_CLIENT_EXCHANGES

__all__ = ["SUPPORTED_EXCHANGES", "Credentials", "ExchangeClient", "make_client"]


def make_client(exchange_id: str, credentials: dict | None, *, base_url: str | None = None,
                timeout_s: float = 10) -> ExchangeClient:
    """A client for one exchange and one set of keys. `base_url` replaces the API host (tests aim clients at
    mock servers with it); empty credentials give a client that can only use public endpoints."""
    # Modules are imported here, not at the top, so a handler that never trades live never pays for them.
    if exchange_id in CCXT_EXCHANGES:
        from botfleet.adapters.exchanges.ccxt_client import CcxtExchangeClient

        return CcxtExchangeClient(exchange_id, credentials or {}, base_url=base_url, timeout_s=timeout_s)
    if exchange_id == "valr":
        from botfleet.adapters.exchanges.valr import ValrClient

        return ValrClient(credentials, base_url=base_url, timeout_s=timeout_s)
    if exchange_id == "ovex":
        from botfleet.adapters.exchanges.ovex import OvexClient

        return OvexClient(credentials, base_url=base_url, timeout_s=timeout_s)
    raise ValueError(f"unknown exchange {exchange_id!r} (one of: {', '.join(SUPPORTED_EXCHANGES)})")
