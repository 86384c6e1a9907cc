"""Runs every running bot of one shard for one tick (invoked asynchronously by the tick)."""

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
    tick_id, shard = event["tick_id"], int(event["shard"])
    # The fill time is the tick's time, not "now": a retried tick records the same trade.
    report = runtime.engine().run_shard(shard, tick_id, parse_iso(tick_id))
    if shard == 0:
        runtime.bots().count_tick()  # one count per tick for the fleet's metrics
    metrics.add_metric(name="BotDecisions", unit="Count", value=report.bots)
    metrics.add_metric(name="Fills", unit="Count", value=report.fills)
    logger.info("shard done", extra=asdict(report))
    return asdict(report)
