"""EventBridge schedule → engine runs sized by the fleet (services.trading.plan_runs), each invoked asynchronously.

The tick id is the schedule's own event time, so a redelivered event is the same tick (idempotent fills); a
redelivery that arrives after a newer tick has begun runs nothing."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics

from botfleet import runtime
from botfleet.adapters.invoker import LambdaEngineInvoker
from botfleet.clock import iso, parse_iso
from botfleet.services.trading import begin_tick

runtime.configure("tick")  # a missing or wrong setting fails the cold start, naming it
logger, metrics = Logger(), Metrics()


@logger.inject_lambda_context(log_event=False, clear_state=True)
@metrics.log_metrics
def handler(event, context):
    # Canonical form (milliseconds, Z): tick ids are compared as strings for idempotency, and EventBridge's
    # "2026-11-24T10:00:00Z" would otherwise sort after "2026-11-24T10:00:00.500Z".
    tick_id = iso(parse_iso(event["time"])) if event.get("time") else iso(runtime.clock().now())
    settings = runtime.settings()
    runs = begin_tick(runtime.tick_log(), LambdaEngineInvoker(settings.engine_function_name), tick_id,
                      settings.tick_shards, settings.bots_per_run)
    if runs is None:
        logger.warning("stale tick: a newer one has begun", extra={"tick_id": tick_id})
        return {"tick_id": tick_id, "runs": 0, "stale": True}
    metrics.add_metric(name="Ticks", unit="Count", value=1)
    metrics.add_metric(name="EngineRuns", unit="Count", value=runs)
    logger.info("tick fanned out", extra={"tick_id": tick_id, "runs": runs})
    return {"tick_id": tick_id, "runs": runs}
