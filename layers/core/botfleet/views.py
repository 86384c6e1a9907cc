"""How domain objects look on the wire (REST replies and WebSocket events alike): one place, so the
two never drift. Decimals travel as strings."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from botfleet.domain.bots import Bot
from botfleet.domain.money import money_str

TRADE_FIELDS = ("id", "bot_id", "exchange", "symbol", "side", "price", "amount", "cost", "fee",
                "fee_currency", "slippage_bps", "mode", "ts", "tick_id")


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return money_str(value)
    return value


def user_view(user: dict[str, Any]) -> dict[str, Any]:
    return {key: user.get(key) for key in ("id", "email", "name", "role", "created_at")}


def bot_view(bot: Bot) -> dict[str, Any]:
    return {
        "id": bot.id,
        "name": bot.name,
        "exchange": bot.exchange,
        "symbol": bot.symbol,
        "strategy": bot.strategy,
        "params": bot.params,
        "mode": bot.mode,
        "status": bot.status,
        "pause_reason": bot.pause_reason,
        "pause_count": bot.pause_count,
        "generation": bot.generation,
        "parent_id": bot.parent_id,
        "capital": money_str(bot.capital),
        "cash": money_str(bot.cash),
        "position": money_str(bot.position),
        "quote_currency": bot.quote_currency,
        "risk": {key: _plain(value) for key, value in bot.risk.items()},
        "last_tick": bot.last_tick,
        "created_at": bot.created_at,
        "updated_at": bot.updated_at,
    }


def trade_view(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _plain(item.get(key)) for key in TRADE_FIELDS}
