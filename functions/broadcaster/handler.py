"""DynamoDB stream → WebSocket: each trade and bot status change goes to its owner's connections."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics

from botfleet import runtime

runtime.configure("broadcaster")  # a missing or wrong setting fails the cold start, naming it
logger, metrics = Logger(), Metrics()


@logger.inject_lambda_context(log_event=False, clear_state=True)
@metrics.log_metrics
def handler(event, context):
    report = runtime.broadcaster().broadcast(event.get("Records", []))
    metrics.add_metric(name="EventsDelivered", unit="Count", value=report.delivered)
    metrics.add_metric(name="ConnectionPosts", unit="Count", value=report.posts)
    # Throttled posts say the account's @connections quota is near (docs/websocket.md, "Fan-out at scale").
    metrics.add_metric(name="ConnectionPostsThrottled", unit="Count", value=report.throttled)
    metrics.add_metric(name="ConnectionPostsFailed", unit="Count", value=report.failed)
    metrics.add_metric(name="ConnectionsGone", unit="Count", value=report.gone)
    metrics.add_metric(name="EventsOversize", unit="Count", value=report.oversize)
    if report.failed or report.oversize:
        logger.warning("broadcast incomplete", extra={"failed": report.failed, "oversize": report.oversize,
                                                      "connections": report.connections})
    # Delivery is best effort per connection (a client that misses an event re-reads over REST), so a
    # failing connection never makes the stream retry the whole batch.
    return {"batchItemFailures": []}
