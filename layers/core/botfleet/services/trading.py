"""The tick: fan out in engine runs sized by the fleet, then for each running bot of a run's shards: market view,
one pure step, and a write only when something changed (docs/scaling.md)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from botfleet.clock import iso
from botfleet.domain.bots import ENGINE_PAUSE_REASON, Bot, UnreadableBot
from botfleet.ids import derived_id
from botfleet.ports import BotRepository, EngineInvoker, MarketData, TickLog
from botfleet.views import bot_metrics_view

if TYPE_CHECKING:
    from botfleet.domain.venue import StepResult

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
    failed: int = 0  # bots paused because the engine could not load or step them
    skipped: int = 0  # bots whose market had no view this tick (tried again next tick)
    rejected: dict[str, int] = field(default_factory=dict)
    stale: bool = False  # a newer tick had begun: nothing ran

    def add(self, other: ShardReport) -> None:
        for name in ("bots", "fills", "written", "already_done", "paused", "quarantined", "failed", "skipped"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for rule, count in other.rejected.items():
            self.rejected[rule] = self.rejected.get(rule, 0) + count


#: The documented target of bots per engine run (docs/scaling.md): a run of this many quiet bots takes a few seconds
#: of one Lambda core, so ten thousand bots finish a tick in parallel runs well inside the minute.
BOTS_PER_RUN = 1000
#: Shards whose size is not known yet (a new deployment's first tick) are run this many to a run: parallel enough for a
#: big fleet, few enough invocations for a small one.
UNKNOWN_SHARDS_PER_RUN = 8
#: Bot writes in flight per engine run: boto3's default pool holds 10 connections per client, and DynamoDB's per-item
#: writes are independent (each bot is its own item, its trades their own).
WRITERS = 8
#: Shard reads in flight per engine run (Queries of the running-bot index), ahead of the stepping.
READERS = 8


def plan_runs(last_sizes: Mapping[int, int], shards: int, bots_per_run: int = BOTS_PER_RUN) -> list[tuple[int, ...]]:
    """Group the shards (partitions of the running-bot index) into engine runs of about `bots_per_run` bots each,
    by how many bots each shard ran in the last tick. Shards not seen yet (a new deployment) go UNKNOWN_SHARDS_PER_RUN
    to a run: nothing is known about them, and parallel is the safe guess. Contiguous groups, so a run's shards
    are easy to read in its logs."""
    runs: list[tuple[int, ...]] = []
    unknown = [shard for shard in range(shards) if shard not in last_sizes]
    runs += [tuple(unknown[i:i + UNKNOWN_SHARDS_PER_RUN]) for i in range(0, len(unknown), UNKNOWN_SHARDS_PER_RUN)]
    group: list[int] = []
    load = 0
    for shard in range(shards):
        size = last_sizes.get(shard)
        if size is None:
            continue
        if group and load + size > bots_per_run:
            runs.append(tuple(group))
            group, load = [], 0
        group.append(shard)
        load += size
    if group:
        runs.append(tuple(group))
    return runs


def fan_out(invoker: EngineInvoker, tick_id: str, runs: Sequence[Sequence[int]]) -> int:
    """One asynchronous engine run per group of shards; returns how many runs were started."""
    for shards in runs:
        invoker.run_shards_async(tick_id, list(shards))
    return len(runs)


def begin_tick(tick_log: TickLog, invoker: EngineInvoker, tick_id: str, shards: int,
               bots_per_run: int = BOTS_PER_RUN) -> int | None:
    """The tick function: make `tick_id` the newest tick and fan it out, or None when a newer tick has already
    begun (a delayed redelivery: running it would act on an old market)."""
    sizes = tick_log.begin(tick_id)
    if sizes is None:
        return None
    return fan_out(invoker, tick_id, plan_runs(sizes, shards, bots_per_run))


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
        # The bot's figures after the tick, for the `metrics` event: sent from the trade's own stream record, it
        # needs no lookup of the owner's connections of its own and travels in the trade's batch.
        "bot_figures": bot_metrics_view(bot),
    }


def _pool(workers: int, name: str) -> AbstractContextManager[ThreadPoolExecutor | None]:
    """A pool of `workers` threads for the run, or None when there is one worker: then the work is done in the
    stepping thread, in order."""
    return ThreadPoolExecutor(workers, thread_name_prefix=name) if workers > 1 else nullcontext()


class TradingEngine:
    def __init__(self, bots: BotRepository, market_data: MarketData, live=None, quarantine=None,
                 tick_log: TickLog | None = None, writers: int = WRITERS, readers: int = READERS):
        self.bots = bots
        self.market_data = market_data
        self.live = live  # LiveTrader, when this engine may trade live (it has the key vault)
        self.quarantine = quarantine  # QuarantineService: a risk pause starts the bot's quarantine
        self.tick_log = tick_log
        self.writers = writers  # 1: every write in the stepping thread, in order (benchmarks that time compute)
        self._writers: ThreadPoolExecutor | None = None  # during run(): the bots' writes, `writers` at a time
        self.readers = readers  # 1: each shard read in the stepping thread when its turn comes (the same benchmarks)

    def run(self, shards: Sequence[int], tick_id: str, now: datetime) -> ShardReport:
        """One engine run: these shards (read ahead, stepped in order) for one tick, unless a newer tick has begun (then
        nothing runs: see adapters/dynamo/ticks.py). Records each shard's size for the next tick's fan-out."""
        report = ShardReport(tick_id, shards[0] if shards else -1)
        if self.tick_log is not None:
            newest = self.tick_log.newest()
            if newest is not None and newest > tick_id:
                report.stale = True
                log.warning("stale tick: a newer one has begun", extra={"tick_id": tick_id, "newest": newest})
                return report
        sizes = {}
        views: dict[tuple[str, str], tuple | None] = {}  # one view per market for the whole run, not per shard
        with _pool(self.readers, "shard-reader") as readers, _pool(self.writers, "bot-writer") as writers:
            self._writers = writers
            # Every shard's read starts now, `readers` at a time, while the first shards are stepped: one after
            # another, a small fleet's single run would wait a round trip per shard (64 of them) before its last
            # bots were even read.
            loading = [readers.submit(self.bots.running_in_shard, shard) if readers else None for shard in shards]
            try:
                for shard, loaded in zip(shards, loading, strict=True):
                    shard_report = self.run_shard(shard, tick_id, now, views, loaded)
                    sizes[shard] = shard_report.bots
                    report.add(shard_report)
            finally:
                self._writers = None
        if self.tick_log is not None:
            self.tick_log.record_sizes(sizes)
        return report

    def run_shard(self, shard: int, tick_id: str, now: datetime,
                  views: dict[tuple[str, str], tuple | None] | None = None,
                  loaded: Future[list[Bot | UnreadableBot]] | None = None) -> ShardReport:
        """Every running bot of the shard, each on its own: a bot that cannot be loaded or stepped is paused
        with the reason `engine_error` and an event, and the rest of the shard trades on. A market whose view
        cannot be had this tick (a feed outage) skips its bots until the next tick, without pausing them."""
        report = ShardReport(tick_id, shard)
        views = {} if views is None else views
        ts = iso(now)
        runnable: list[Bot] = []
        for bot in loaded.result() if loaded is not None else self.bots.running_in_shard(shard):
            report.bots += 1
            if isinstance(bot, UnreadableBot):
                log.error("bot cannot be loaded", extra={"bot_id": bot.id, "error": bot.error})
                self._pause_unrunnable(bot.owner_id, bot.id, f"its stored state cannot be read ({bot.error})",
                                       ts, report)
                continue
            if bot.last_tick and bot.last_tick >= tick_id:
                report.already_done += 1
                continue
            if bot.mode == "live" and self.live is None:
                log.error("live bot but no key vault configured", extra={"bot_id": bot.id})
                continue
            key = (bot.exchange, bot.symbol)
            if key not in views:
                views[key] = self._market_view(bot.exchange, bot.symbol, tick_id)
            if views[key] is None:
                report.skipped += 1
                continue
            runnable.append(bot)
        targets = self._decide(runnable, views)
        pending: list[tuple[Bot, Callable[[], tuple[bool, int, bool]]]] = []
        for bot in runnable:
            try:
                write = self._run_bot(bot, views[(bot.exchange, bot.symbol)], tick_id, ts, report,
                                      targets.get(bot.id))
            except Exception as exc:  # a defect in one bot never stops its shard
                log.exception("bot failed in the tick", extra={"bot_id": bot.id})
                self._pause_unrunnable(bot.owner_id, bot.id, f"the engine failed on it ({type(exc).__name__})",
                                       ts, report)
                continue
            if write is not None:
                # Written from the run's pool while the next bots are stepped: a fill's write is a round trip of
                # ~10 ms, and a hundred of them one after another would delay the last owner's news by a second.
                pending.append((bot, self._writers.submit(write).result if self._writers else write))
        for bot, write in pending:
            self._account(bot, write, ts, report)
        return report

    def _decide(self, bots: list[Bot], views: dict[tuple[str, str], tuple | None]) -> dict[str, int]:
        """The strategies' decisions for the paper bots, made at once for every bot of one market and strategy
        family (strategies.target_positions: the same decision each bot would make alone, ~10x faster). A group
        whose batch fails (one bot's stored parameters are broken) is left to decide bot by bot, so the failure
        stays that one bot's."""
        from botfleet.domain.strategies import target_positions  # numpy: see _run_bot

        groups: dict[tuple[str, str, str], list[Bot]] = {}
        for bot in bots:
            if bot.mode == "paper":
                groups.setdefault((bot.exchange, bot.symbol, bot.strategy), []).append(bot)
        targets: dict[str, int] = {}
        for (exchange, symbol, strategy), group in groups.items():
            closes = views[(exchange, symbol)][1]
            try:
                decided = target_positions(strategy, closes, [bot.params for bot in group])
            except Exception:
                log.warning("batch decision failed; deciding bot by bot",
                            extra={"exchange": exchange, "symbol": symbol, "strategy": strategy}, exc_info=True)
                continue
            targets.update(zip((bot.id for bot in group), decided, strict=True))
        return targets

    def _market_view(self, exchange: str, symbol: str, tick_id: str) -> tuple | None:
        try:
            view = self.market_data.view(exchange, symbol, tick_id)
        except Exception:
            log.exception("no market view this tick", extra={"exchange": exchange, "symbol": symbol})
            return None
        return view, [float(close) for close in view.closes]

    def _pause_unrunnable(self, owner_id: str, bot_id: str, why: str, ts: str, report: ShardReport) -> None:
        try:
            if self.bots.pause_unrunnable(owner_id, bot_id, ENGINE_PAUSE_REASON, f"paused: {why}", ts):
                report.failed += 1
        except Exception:  # the table itself is failing: nothing more to do for this bot this tick
            log.exception("could not pause a failing bot", extra={"bot_id": bot_id})

    def _run_bot(self, bot: Bot, market: tuple, tick_id: str, ts: str, report: ShardReport,
                 target: int | None = None) -> Callable[[], tuple[bool, int, bool]] | None:
        """Step the bot (pure, in this thread); returns its write, to run now or in the run's writer pool, or None
        when the tick changed nothing worth writing."""
        # Here, not at the top: the tick function imports this module only to fan out, and the strategies
        # behind `step` bring numpy (~50 ms of a cold start it doesn't need).
        from botfleet.domain.trading import step

        view, closes = market
        if bot.mode == "live":
            result = self.live.step(bot, closes, tick_id)
        else:
            result = step(bot, closes, view.book, view.mark, tick_id, target)
        for event in result.events:
            if event["kind"] == "order_rejected":
                report.rejected[event["rule"]] = report.rejected.get(event["rule"], 0) + 1
            if event["kind"] in ("risk_pause", "sanity_pause", "live_pause"):
                report.paused += 1
                log.warning("bot paused", extra={"bot_id": bot.id, "reason": event.get("reason"),
                                                 "detail": event["message"]})
        if not result.changed:
            return None
        trades = [trade_record(result, execution, ts) for execution in result.executions]
        events = [dict(event, ts=ts) for event in result.events]
        tripped = self.quarantine is not None and any(event["kind"] == "risk_pause" for event in result.events)

        def write() -> tuple[bool, int, bool]:
            if tripped:
                # Before the write: if we crash after it, the retried tick finds the bot no longer running and
                # would never start the quarantine. Started first, the name (bot, pause number) makes the
                # retry's second start a no-op, and a pause that never lands is skipped by its first step.
                self.quarantine.trigger(result.bot, result.bot.pause_count)
            return self.bots.record_tick(bot, result.bot, trades, events, tick_id), len(trades), tripped

        return write

    def _account(self, bot: Bot, write: Callable[[], tuple[bool, int, bool]], ts: str, report: ShardReport) -> None:
        """The outcome of one bot's write into the report; a write that fails pauses that bot, no other."""
        try:
            written, fills, tripped = write()
        except Exception as exc:
            log.exception("bot failed in the tick", extra={"bot_id": bot.id})
            self._pause_unrunnable(bot.owner_id, bot.id, f"the engine failed on it ({type(exc).__name__})", ts,
                                   report)
            return
        report.quarantined += tripped
        if written:
            report.written += 1
            report.fills += fills
        else:
            report.already_done += 1
