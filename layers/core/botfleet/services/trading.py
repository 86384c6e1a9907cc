"""The tick: fan out by shard, then for each running bot of a shard: market data, decision, fill."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from botfleet.clock import iso
from botfleet.domain import market as sim
from botfleet.domain.exchanges import get_exchange
from botfleet.domain.trading import apply_fill, decide
from botfleet.ids import derived_id
from botfleet.ports import BotRepository, EngineInvoker, MarketRepository

log = logging.getLogger(__name__)


@dataclass(slots=True)
class ShardReport:
    tick_id: str
    shard: int
    bots: int = 0
    fills: int = 0
    already_done: int = 0
    rejected: dict[str, int] = field(default_factory=dict)


def fan_out(invoker: EngineInvoker, tick_id: str, shards: int) -> int:
    for shard in range(shards):
        invoker.run_shard_async(tick_id, shard)
    return shards


class TradingEngine:
    def __init__(self, bots: BotRepository, markets: MarketRepository, seed: str):
        self.bots = bots
        self.markets = markets
        self.seed = seed

    def run_shard(self, shard: int, tick_id: str, now: datetime) -> ShardReport:
        report = ShardReport(tick_id, shard)
        markets: dict[tuple[str, str], tuple[list[float], sim.OrderBook]] = {}
        for bot in self.bots.running_in_shard(shard):
            report.bots += 1
            if bot.mode != "paper" or (bot.last_tick and bot.last_tick >= tick_id):
                report.already_done += bot.mode == "paper"
                continue
            key = (bot.exchange, bot.symbol)
            if key not in markets:
                markets[key] = self._market_view(bot.exchange, bot.symbol, tick_id)
            closes, book = markets[key]
            decision = decide(bot, closes, book)
            if decision.rejected:
                rule = decision.rejected.rule
                report.rejected[rule] = report.rejected.get(rule, 0) + 1
                log.info("order rejected", extra={"bot_id": bot.id, "rule": rule, "reason": str(decision.rejected)})
            if decision.fill is None:
                continue
            fill = decision.fill
            trade = {
                "id": derived_id("trd", bot.id, tick_id),
                "bot_id": bot.id, "owner_id": bot.owner_id, "exchange": bot.exchange, "symbol": bot.symbol,
                "side": fill.side, "price": fill.price, "amount": fill.amount, "cost": fill.cost,
                "fee": fill.fee, "fee_currency": fill.fee_currency, "slippage_bps": fill.slippage_bps,
                "mode": bot.mode, "ts": iso(now), "tick_id": tick_id,
            }
            if self.bots.record_fill(apply_fill(bot, fill), fill, trade, tick_id):
                report.fills += 1
            else:
                report.already_done += 1
        return report

    def _market_view(self, exchange_id: str, symbol: str, tick_id: str):
        exchange = get_exchange(exchange_id)
        state = self.markets.for_tick(exchange_id, symbol, tick_id)
        book = sim.order_book(state, f"{self.seed}:{exchange_id}:{symbol}", exchange.simulation(symbol),
                              exchange.rules(symbol))
        return [float(close) for close in state.closes], book
