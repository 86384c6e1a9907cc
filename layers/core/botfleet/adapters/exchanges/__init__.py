"""Live exchanges behind one port (`ExchangeClient`): ccxt for Binance, KuCoin and Luno; own clients for VALR
and OVEX. Which client serves an exchange is part of its descriptor (`botfleet.domain.exchange_descriptors`);
this package only resolves it. Importing it is cheap: ccxt and httpx load only when `make_client` builds a
client. See docs/exchanges.md.
"""

from __future__ import annotations

import importlib

from botfleet.adapters.exchanges.base import Credentials, ExchangeClient
from botfleet.domain.exchange_model import ClientFactory
from botfleet.domain.exchanges import EXCHANGE_DESCRIPTORS

SUPPORTED_EXCHANGES = tuple(EXCHANGE_DESCRIPTORS)
CCXT_EXCHANGES = tuple(exchange_id for exchange_id, descriptor in EXCHANGE_DESCRIPTORS.items()
                       if descriptor.client.via_ccxt)
OWN_CLIENT_EXCHANGES = tuple(exchange_id for exchange_id in SUPPORTED_EXCHANGES if exchange_id not in CCXT_EXCHANGES)

__all__ = ["SUPPORTED_EXCHANGES", "Credentials", "ExchangeClient", "make_client"]


def make_client(exchange_id: str, credentials: dict | None, *, base_url: str | None = None,
                timeout_s: float = 10) -> ExchangeClient:
    """A client for one exchange and one set of keys. `base_url` replaces the API host (tests aim clients at
    mock servers with it); empty credentials give a client that can only use public endpoints."""
    descriptor = EXCHANGE_DESCRIPTORS.get(exchange_id)
    if descriptor is None:
        raise ValueError(f"unknown exchange {exchange_id!r} (one of: {', '.join(SUPPORTED_EXCHANGES)})")
    client_class = _client_class(descriptor.client)
    if descriptor.client.via_ccxt:
        return client_class(exchange_id, credentials or {}, base_url=base_url, timeout_s=timeout_s)
    return client_class(credentials, base_url=base_url, timeout_s=timeout_s)


def _client_class(factory: ClientFactory) -> type:
    # Imported here, not at the top, so a handler that never trades live never pays for ccxt or httpx.
    return getattr(importlib.import_module(factory.module), factory.class_name)
