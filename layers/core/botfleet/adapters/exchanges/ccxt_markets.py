"""ccxt market structures built from our catalogue (botfleet.domain.exchanges), for `exchange.set_markets`.

Why: `load_markets()` is a network round trip per cold start (KuCoin with keys makes several), and the precision
it would load could drift from what paper trading enforces. Building the markets from the catalogue makes live
and paper quantize identically and needs no request at all.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from botfleet.domain.exchanges import EXCHANGE_DESCRIPTORS, SymbolRules, get_exchange


def currency_id(exchange_id: str, code: str) -> str:
    return EXCHANGE_DESCRIPTORS[exchange_id].market_ids.currency(code)


def market_id(exchange_id: str, symbol: str) -> str:
    return EXCHANGE_DESCRIPTORS[exchange_id].market_ids.market(symbol)


def ccxt_market(exchange_id: str, rules: SymbolRules, maker_fee, taker_fee,
                venue_info: dict[str, Any] | None = None) -> dict[str, Any]:
    """`venue_info`: what ccxt's exchange class reads from the raw market (`info`) beyond the unified fields."""
    info: dict[str, Any] = {"symbol": market_id(exchange_id, rules.symbol), **(venue_info or {})}
    return {
        "id": market_id(exchange_id, rules.symbol),
        "symbol": rules.symbol,
        "base": rules.base,
        "quote": rules.quote,
        "baseId": currency_id(exchange_id, rules.base),
        "quoteId": currency_id(exchange_id, rules.quote),
        "type": "spot", "spot": True, "margin": False, "swap": False, "future": False, "option": False,
        "contract": False, "linear": None, "inverse": None, "active": True,
        # ccxt's TICK_SIZE precision mode (all three venues): the step itself, as a string so no float creeps in.
        "precision": {"amount": str(rules.amount_step), "price": str(rules.price_tick)},
        "limits": {
            "amount": {"min": float(rules.min_amount), "max": None},
            "price": {"min": None, "max": None},
            "cost": {"min": float(rules.min_notional), "max": None},
            "leverage": {"min": None, "max": None},
        },
        "maker": float(maker_fee), "taker": float(taker_fee),
        "info": info,
    }


def ccxt_markets(exchange_id: str, venue_info: Callable[[SymbolRules], dict[str, Any]] | None = None,
                 ) -> list[dict[str, Any]]:
    exchange = get_exchange(exchange_id)
    return [ccxt_market(exchange_id, rules, exchange.maker_fee, exchange.taker_fee,
                        venue_info(rules) if venue_info else None)
            for rules, _spec in exchange.markets.values()]
