"""How domain objects look on the wire (REST replies and WebSocket events alike): one place, so the
two never drift. Decimals travel as strings."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from botfleet.clock import iso
from botfleet.domain.bots import Bot, bot_trade_totals
from botfleet.domain.charts import Candle, EquityPoint
from botfleet.domain.money import money_str
from botfleet.ports import TableChange

TRADE_FIELDS = ("id", "bot_id", "exchange", "symbol", "side", "price", "amount", "cost", "fee",
                "fee_currency", "slippage_bps", "liquidity", "order_type", "client_order_id", "realized_pnl", "mode",
                "ts", "tick_id")
EVENT_FIELDS = ("kind", "message", "reason", "rule", "client_order_id", "ts")


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return money_str(value)
    return value


def plain_json(value: Any) -> Any:
    """A value read back from DynamoDB, JSON-ready: whole numbers as ints, other Decimals as strings."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else money_str(value)
    if isinstance(value, dict):
        return {key: plain_json(inner) for key, inner in value.items()}
    if isinstance(value, list):
        return [plain_json(inner) for inner in value]
    return value


def user_view(user: dict[str, Any]) -> dict[str, Any]:
    """`must_change_password`: signed in with a temporary password from an admin's reset (POST /api/auth/password
    first)."""
    return {**{key: user.get(key) for key in ("id", "email", "name", "role", "created_at")},
            "must_change_password": bool(user.get("must_change_password"))}


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
        "initial_capital": money_str(bot.initial_capital),
        "cash": money_str(bot.cash),
        "cash_reserved": money_str(bot.ledger.quote_reserved),
        "position": money_str(bot.position),
        "quote_currency": bot.quote_currency,
        "realized_pnl": money_str(bot.ledger.realized_pnl.quantize(Decimal("1e-8"))),
        "risk": {key: _plain(value) for key, value in bot.risk.to_item().items()},
        "order_type": bot.order_type,
        "limit_offset_bps": money_str(bot.limit_offset_bps),
        "limit_ttl_ticks": bot.limit_ttl_ticks,
        "open_orders": [{key: _plain(value) for key, value in order.to_item().items()} for order in bot.orders],
        "quarantine": plain_json(bot.quarantine.to_item()) if bot.quarantine else None,
        "last_tick": bot.last_tick,
        "created_at": bot.created_at,
        "updated_at": bot.updated_at,
    }


def trade_view(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _plain(item.get(key)) for key in TRADE_FIELDS}


def candle_view(candle: Candle) -> dict[str, Any]:
    """Prices as decimal strings, like every amount in the API."""
    return {"ts": candle.ts, "open": money_str(candle.open), "high": money_str(candle.high),
            "low": money_str(candle.low), "close": money_str(candle.close), "volume": money_str(candle.volume)}


def equity_point_view(point: EquityPoint) -> dict[str, Any]:
    return {"ts": point.ts, "equity": money_str(point.equity), "cash": money_str(point.cash),
            "position": money_str(point.position), "mark": money_str(point.mark)}


def event_view(item: dict[str, Any]) -> dict[str, Any]:
    return {key: _plain(item.get(key)) for key in EVENT_FIELDS if item.get(key) is not None}


def bot_summary_view(bot: Bot) -> dict[str, Any]:
    """A bot in a few fields, as the assistant shows and previews it."""
    view = bot_view(bot)
    return {key: view[key] for key in ("id", "name", "exchange", "symbol", "mode", "status", "pause_reason",
                                       "position", "cash", "realized_pnl", "quote_currency")} | {
        "open_orders": len(view["open_orders"])}


AI_MESSAGE_FIELDS = ("id", "role", "text", "actions", "note", "source", "ts")


def assistant_message_view(item: dict[str, Any]) -> dict[str, Any]:
    """A message of the assistant's conversation, as the history and the WebSocket show it."""
    return {key: plain_json(item[key]) for key in AI_MESSAGE_FIELDS if item.get(key) is not None}


def assistant_action_view(item: dict[str, Any]) -> dict[str, Any]:
    """A proposed action without its secret parts (the token is shown once, by the chat reply only)."""
    return {
        "id": item["id"], "type": item["type"], "description": item["description"],
        "requires_confirmation": True, "needs_password": bool(item.get("needs_password")),
        "status": item.get("status", "pending"),
        "expires_at": iso(datetime.fromtimestamp(int(item["valid_until"]), UTC)),
        "preview": plain_json(item.get("preview")),
    }


def quarantine_event_view(item: dict[str, Any]) -> dict[str, Any]:
    keys = ("bot_id", "generation", "pause_number", "kind", "message", "stage", "wait_seconds", "successor_id",
            "params", "metrics", "ts")
    return plain_json({key: item.get(key) for key in keys if item.get(key) is not None})


def training_run_view(item: dict[str, Any]) -> dict[str, Any]:
    total = int(item.get("total_chunks", 0))
    # chunks_done: the evaluated chunks' indexes (a retry counts once); done_chunks: a count, in older runs
    done = len(item["chunks_done"]) if "chunks_done" in item else int(item.get("done_chunks", 0))
    status = item["status"]
    progress = 1.0 if status == "succeeded" else (round(min(done / total, 1.0), 4) if total else 0.0)
    view = {key: item.get(key) for key in ("run_id", "bot_id", "status", "strategy", "exchange", "symbol",
                                           "budget", "candles", "created_at", "updated_at", "finished_at",
                                           "error")}
    view.update(progress=progress, chunks={"done": done, "total": total})
    view["best"] = None
    if item.get("best"):
        best = plain_json(item["best"])
        # The contract's shape is {params, metrics}; the parts stay at the top too for existing readers.
        best["metrics"] = {key: best.get(key) for key in ("score", "in_sample", "out_of_sample", "validated")}
        view["best"] = best
    return plain_json(view)


# --- realtime: which table changes become which WebSocket events --------------------------------------------

@dataclass(frozen=True, slots=True)
class LiveEvent:
    """How one entity's changes reach the dashboard: the subscription topic, the message type, which changes
    count, and the view of the item. `private` events go to their owner only, never to fleet watchers."""

    topic: str
    type: str
    view: Callable[[TableChange], dict[str, Any] | None]
    inserts_only: bool = False
    private: bool = False


def _bot_status(change: TableChange) -> dict[str, Any] | None:
    old, new = change.old, change.new
    changed = old is None or new is None or any(
        old.get(k) != new.get(k) for k in ("status", "pause_reason", "pause_count", "mode", "generation"))
    if not changed or change.bot is None:
        return None  # a tick that only moved the books is not a status change
    return {**bot_view(change.bot), "deleted": new is None}


# The stored books' fields whose change, other than a fill's, is news for a bot's figures: an order reserving or
# releasing funds, a deposit or withdrawal. (A drawdown peak or a new day's start moves other fields, and no figure a
# client shows; a fill's figures come with its trade.)
_BOOK_FIGURES = ("quote_free", "quote_reserved", "base_free", "base_reserved", "realized_pnl", "fees_paid",
                 "contributed")


def bot_metrics_view(bot: Bot) -> dict[str, Any]:
    """A bot's figures as its books hold them: what GET /api/metrics adds up per exchange, for one bot."""
    totals = bot_trade_totals(bot)
    return {"bot_id": bot.id, "exchange": bot.exchange, "symbol": bot.symbol, "quote_currency": bot.quote_currency,
            "status": bot.status, "capital": money_str(bot.capital), "cash": money_str(bot.cash),
            "cash_reserved": money_str(bot.ledger.quote_reserved), "position": money_str(bot.position),
            "realized_pnl": money_str(totals["realized_pnl"].quantize(Decimal("1e-8"))), "trades": totals["trades"],
            "volume": money_str(totals["volume"]), "fees": money_str(totals["fees"])}


def _bot_metrics(change: TableChange) -> dict[str, Any] | None:
    """From the bot's own record: a change of its books that is not a fill (created, a deposit or withdrawal, an
    order reserving or releasing funds). A fill's figures come with its trade (`_trade_metrics`), in the trade's
    stream batch, with no lookup of the owner's connections of their own."""
    old, new = change.old, change.new
    if new is None or change.bot is None:
        return None  # a deleted bot has no figures; its bot_status says it is gone
    if old is not None:
        before, after = old.get("ledger") or {}, new.get("ledger") or {}
        if before.get("fills") != after.get("fills"):
            return None  # a fill: its trade carries the figures
        if all(before.get(k) == after.get(k) for k in _BOOK_FIGURES) and old.get("capital") == new.get("capital"):
            return None
    return bot_metrics_view(change.bot)


def _trade_metrics(change: TableChange) -> dict[str, Any] | None:
    figures = change.current.get("bot_figures")
    return plain_json(figures) if figures else None  # trades written before the figures were carry none


# Per stored entity, the events its changes may make, in the order a client receives them.
LIVE_EVENTS: dict[str, tuple[LiveEvent, ...]] = {
    "trade": (LiveEvent("trades", "trade", lambda change: trade_view(change.current), inserts_only=True),
              LiveEvent("metrics", "metrics", _trade_metrics, inserts_only=True)),
    "quarantine_event": (LiveEvent("quarantine", "quarantine", lambda change: quarantine_event_view(change.current),
                                   inserts_only=True),),
    "training_run": (LiveEvent("training", "training", lambda change: training_run_view(change.current)),),
    "bot": (LiveEvent("bots", "bot_status", _bot_status), LiveEvent("metrics", "metrics", _bot_metrics)),
    "ai_message": (LiveEvent("assistant", "assistant", lambda change: assistant_message_view(change.current),
                             inserts_only=True, private=True),),
}
