"""The tick: fan out by shard, then for each running bot of a shard: market view, one pure step, one write."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from botfleet.clock import iso
from botfleet.ids import derived_id
from botfleet.ports import BotRepository, EngineInvoker, MarketData

if TYPE_CHECKING:
    from botfleet.domain.trading import StepResult

log = logging.getLogger(__name__)


@dataclass(slots=True)
class ShardReport:
    tick_id: str
    shard: int
    bots: int = 0
    fills: int = 0
    written: int = 0
    already_done: int = 0
    paused: int = 0
    quarantined: int = 0
    rejected: dict[str, int] = field(default_factory=dict)


def fan_out(invoker: EngineInvoker, tick_id: str, shards: int) -> int:
    for shard in range(shards):
        invoker.run_shard_async(tick_id, shard)
    return shards


def trade_record(result: StepResult, execution, ts: str) -> dict:
    bot, fill = result.bot, execution.fill
    return {
        # One execution per order per tick: (bot, tick, order) names it, so a replayed tick collides with itself.
        "id": derived_id("trd", bot.id, bot.last_tick, execution.client_order_id),
        "bot_id": bot.id, "owner_id": bot.owner_id, "exchange": bot.exchange, "symbol": bot.symbol,
        "side": fill.side, "price": fill.price, "amount": fill.amount, "cost": fill.cost, "fee": fill.fee,
        "fee_currency": fill.fee_currency, "slippage_bps": fill.slippage_bps,
        "liquidity": "maker" if fill.maker else "taker", "order_type": execution.order_type,
        "client_order_id": execution.client_order_id,
        "realized_pnl": execution.realized_pnl.quantize(Decimal("0.00000001")),
        "mode": bot.mode, "ts": ts, "tick_id": bot.last_tick,
    }


class TradingEngine:
    def __init__(self, bots: BotRepository, market_data: MarketData, live=None, quarantine=None):
        self.bots = bots
        self.market_data = market_data
        self.live = live  # LiveTrader, when this engine may trade live (it has the key vault)
        self.quarantine = quarantine  # QuarantineService: a risk pause starts the bot's quarantine

    def run_shard(self, shard: int, tick_id: str, now: datetime) -> ShardReport:
        # Here, not at the top: the tick function imports this module only to fan out, and the strategies
        # behind `step` bring numpy (~50 ms of a cold start it doesn't need).
        from botfleet.domain.trading import step

        report = ShardReport(tick_id, shard)
        views = {}
        ts = iso(now)
        for bot in self.bots.running_in_shard(shard):
            report.bots += 1
            if bot.last_tick and bot.last_tick >= tick_id:
                report.already_done += 1
                continue
            if bot.mode == "live" and self.live is None:
                log.error("live bot but no key vault configured", extra={"bot_id": bot.id})
                continue
            key = (bot.exchange, bot.symbol)
            if key not in views:
                view = self.market_data.view(bot.exchange, bot.symbol, tick_id)
                views[key] = (view, [float(close) for close in view.closes])
            view, closes = views[key]
            if bot.mode == "live":
                result = self.live.step(bot, closes, tick_id)
            else:
                result = step(bot, closes, view.book, view.mark, tick_id)
            for event in result.events:
                if event["kind"] == "order_rejected":
                    report.rejected[event["rule"]] = report.rejected.get(event["rule"], 0) + 1
                if event["kind"] in ("risk_pause", "sanity_pause", "live_pause"):
                    report.paused += 1
                    log.warning("bot paused", extra={"bot_id": bot.id, "reason": event.get("reason"),
                                                     "detail": event["message"]})
            if not result.changed:
                continue
            trades = [trade_record(result, execution, ts) for execution in result.executions]
            events = [dict(event, ts=ts) for event in result.events]
            if self.quarantine and any(event["kind"] == "risk_pause" for event in result.events):
                # Before the write: if we crash after it, the retried tick finds the bot no longer running and
                # would never start the quarantine. Started first, the name (bot, pause number) makes the
                # retry's second start a no-op, and a pause that never lands is skipped by its first step.
                self.quarantine.trigger(result.bot, result.bot.pause_count)
                report.quarantined += 1
            if self.bots.record_tick(bot, result.bot, trades, events, tick_id):
                report.written += 1
                report.fills += len(trades)
            else:
                report.already_done += 1
        return report
