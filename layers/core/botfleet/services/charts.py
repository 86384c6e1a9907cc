"""The dashboard's chart data: a market's candles, and a bot's equity curve derived from its books (see
domain/charts.py for why the curve is computed on read rather than stored)."""

from __future__ import annotations

from typing import Any

from botfleet.domain.charts import MAX_CANDLES, equity_curve
from botfleet.domain.exchanges import get_exchange
from botfleet.errors import BotfleetError, NotFound
from botfleet.ports import BotRepository, Injections, MarketRepository, TradeRepository
from botfleet.services.auth import Principal
from botfleet.views import candle_view, equity_point_view

_PAGE = 200


class ChartService:
    def __init__(self, bots: BotRepository, trades: TradeRepository, injections: Injections,
                 markets: MarketRepository):
        self.bots = bots
        self.trades = trades
        self.injections = injections
        self.markets = markets

    def candles(self, exchange: str, symbol: str, limit: int) -> dict[str, Any]:
        """The market's newest `limit` one-minute candles, oldest first (404 for a market no exchange lists)."""
        _listed(exchange, symbol)
        return {"items": [candle_view(candle) for candle in self.markets.candles(exchange, symbol, limit)]}

    def equity(self, owner: Principal, bot_id: str, since: str | None, limit: int) -> dict[str, Any]:
        """The bot's equity at the end of each of its market's last `limit` candles (at or after `since`, and
        never before the bot existed), oldest first."""
        bot = self.bots.get(owner.user_id, bot_id)
        if bot is None:
            raise NotFound(f"bot {bot_id} not found")
        candles = self.markets.candles(bot.exchange, bot.symbol, min(limit, MAX_CANDLES))
        start = max(since or "", bot.created_at)
        if not candles or candles[-1].ts < start:
            return {"items": []}
        oldest = candles[0].ts
        curve = equity_curve(bot.ledger.quote_total, bot.ledger.base_total, bot.ledger.quote, bot.ledger.base,
                             since=start, trades=self._trades_after(bot.id, oldest),
                             injections=self._injections_after(bot.id, oldest), candles=candles)
        return {"items": [equity_point_view(point) for point in curve]}

    def _trades_after(self, bot_id: str, oldest: str) -> list[dict[str, Any]]:
        """Every trade of a tick after `oldest` (newest first, so reading stops at the first older one)."""
        return _newest_until(lambda cursor: self.trades.list_for_bot(bot_id, _PAGE, cursor),
                             lambda trade: trade["tick_id"] > oldest)

    def _injections_after(self, bot_id: str, oldest: str) -> list[dict[str, Any]]:
        return _newest_until(lambda cursor: self.injections.for_bot(bot_id, _PAGE, cursor),
                             lambda injection: injection["ts"] > oldest)


def _listed(exchange: str, symbol: str) -> None:
    try:
        get_exchange(exchange).rules(symbol)
    except BotfleetError:  # an exchange we do not know, or a symbol it does not list
        raise NotFound(f"no market {symbol} on {exchange}", code="unknown_market") from None


def _newest_until(page, keep) -> list[dict[str, Any]]:
    kept, cursor = [], None
    while True:
        items, cursor = page(cursor)
        for item in items:
            if not keep(item):
                return kept
            kept.append(item)
        if not cursor:
            return kept

