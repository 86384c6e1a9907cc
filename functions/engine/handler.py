"""Runs every running bot of a group of shards for one tick (invoked asynchronously by the tick)."""

from __future__ import annotations

from dataclasses import asdict

from aws_lambda_powertools import Logger, Metrics

from botfleet import runtime
from botfleet.clock import parse_iso

runtime.configure("engine")  # a missing or wrong setting fails the cold start, naming it
logger, metrics = Logger(), Metrics()


@logger.inject_lambda_context(log_event=False, clear_state=True)
@metrics.log_metrics
def handler(event, context):
    tick_id = event["tick_id"]
    # {"shards": [...]} from the tick; {"shard": n} runs one shard (operators and older tick functions).
    shards = [int(shard) for shard in event["shards"]] if "shards" in event else [int(event["shard"])]
    # The fill time is the tick's time, not "now": a retried tick records the same trade.
    report = runtime.engine().run(shards, tick_id, parse_iso(tick_id))
    if 0 in shards and not report.stale:
        runtime.bots().count_tick(tick_id)  # one count per tick for the fleet's metrics, a redelivery or not
    metrics.add_metric(name="BotDecisions", unit="Count", value=report.bots)
    metrics.add_metric(name="BotWrites", unit="Count", value=report.written)
    metrics.add_metric(name="Fills", unit="Count", value=report.fills)
    logger.info("engine run done", extra={**asdict(report), "shards": shards})
    return asdict(report)
