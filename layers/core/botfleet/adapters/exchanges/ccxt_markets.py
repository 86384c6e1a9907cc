"""ccxt market structures built from our catalogue (botfleet.domain.exchanges), for `exchange.set_markets`.

Why: `load_markets()` is a network round trip per cold start (KuCoin with keys makes several), and the precision
it would load could drift from what paper trading enforces. Building the markets from the catalogue makes live
and paper quantize identically and needs no request at all.
"""

from __future__ import annotations

from typing import Any

from botfleet.adapters.exchanges.precision import QUOTE_STEP
from botfleet.domain.exchanges import SymbolRules, get_exchange

# How each venue spells a market id, and its own currency codes where they differ from ours.
_CURRENCY_IDS = {"luno": {"BTC": "XBT"}}
_ID_SEPARATOR = {"binance": "", "kucoin": "-", "luno": ""}

# Binance refuses order types a market does not list in info.orderTypes (ccxt checks it before sending).
_BINANCE_ORDER_TYPES = ["LIMIT", "LIMIT_MAKER", "MARKET", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"]


def currency_id(exchange_id: str, code: str) -> str:
    return _CURRENCY_IDS.get(exchange_id, {}).get(code, code)


def market_id(exchange_id: str, symbol: str) -> str:
    base, quote = symbol.split("/")
    return currency_id(exchange_id, base) + _ID_SEPARATOR[exchange_id] + currency_id(exchange_id, quote)


def ccxt_market(exchange_id: str, rules: SymbolRules, maker_fee, taker_fee) -> dict[str, Any]:
    info: dict[str, Any] = {"symbol": market_id(exchange_id, rules.symbol)}
    if exchange_id == "binance":
        info["orderTypes"] = _BINANCE_ORDER_TYPES
    if exchange_id == "kucoin":  # ccxt reads these from info to round a market buy's funds and sizes
        info |= {"baseIncrement": str(rules.amount_step), "priceIncrement": str(rules.price_tick),
                 "quoteIncrement": str(QUOTE_STEP)}
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


def ccxt_markets(exchange_id: str) -> list[dict[str, Any]]:
    exchange = get_exchange(exchange_id)
    return [ccxt_market(exchange_id, rules, exchange.maker_fee, exchange.taker_fee)
            for rules, _spec in exchange.markets.values()]
