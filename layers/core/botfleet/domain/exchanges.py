"""The exchanges botfleet trades on: the catalogue the rest of the code reads (listed symbols, their trading
rules, fees, and the simulator's market parameters for each symbol).

Nothing is defined here: each exchange is one descriptor module in `botfleet.domain.exchange_descriptors`
(rules and their source, fees and their source, credential fields, client, demo bot), and this module derives
the lookups from them. The value types live in `botfleet.domain.exchange_model` and are re-exported here, where
the code has always imported them from. Simulator prices are realistic levels, not live quotes.
"""

from __future__ import annotations

from botfleet.domain.exchange_descriptors import DESCRIPTORS
from botfleet.domain.exchange_model import (
    FEE_QUANTUM,
    Exchange,
    ExchangeDescriptor,
    SimulatedMarketSpec,
    SymbolRules,
)
from botfleet.errors import NotFound, Unprocessable

__all__ = [
    "EXCHANGES",
    "EXCHANGE_DESCRIPTORS",
    "FEE_QUANTUM",
    "Exchange",
    "ExchangeDescriptor",
    "SimulatedMarketSpec",
    "SymbolRules",
    "get_descriptor",
    "get_exchange",
    "get_rules",
    "require_market",
]

#: Every exchange's descriptor, in listing order: id -> descriptor.
EXCHANGE_DESCRIPTORS: dict[str, ExchangeDescriptor] = {descriptor.id: descriptor for descriptor in DESCRIPTORS}

#: Rules, fees and simulator parameters per exchange, in listing order (the order /api/config shows).
EXCHANGES: dict[str, Exchange] = {exchange_id: descriptor.exchange
                                  for exchange_id, descriptor in EXCHANGE_DESCRIPTORS.items()}


def _unknown_exchange(exchange_id: str) -> Unprocessable:
    return Unprocessable(
        "exchange", f"unknown exchange {exchange_id!r} (one of: {', '.join(EXCHANGES)})", code="unknown_exchange",
    )


def get_descriptor(exchange_id: str) -> ExchangeDescriptor:
    try:
        return EXCHANGE_DESCRIPTORS[exchange_id]
    except KeyError:
        raise _unknown_exchange(exchange_id) from None


def get_exchange(exchange_id: str) -> Exchange:
    try:
        return EXCHANGES[exchange_id]
    except KeyError:
        raise _unknown_exchange(exchange_id) from None


def get_rules(exchange_id: str, symbol: str) -> SymbolRules:
    return get_exchange(exchange_id).rules(symbol)


def require_market(exchange_id: str, symbol: str) -> None:
    """Raise NotFound-style errors the control plane can report for an unknown market."""
    try:
        get_rules(exchange_id, symbol)
    except Unprocessable as exc:
        raise NotFound(exc.message) from None
