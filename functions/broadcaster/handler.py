"""DynamoDB stream → WebSocket: each trade and bot status change goes to its owner's connections."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics

from botfleet import runtime

runtime.configure("broadcaster")  # a missing or wrong setting fails the cold start, naming it
logger, metrics = Logger(), Metrics()


@logger.inject_lambda_context(log_event=False, clear_state=True)
@metrics.log_metrics
def handler(event, context):
    delivered = runtime.broadcaster().broadcast(event.get("Records", []))
    metrics.add_metric(name="EventsDelivered", unit="Count", value=delivered)
    # Delivery is best effort per connection (a client that misses an event re-reads over REST), so a
    # failing connection never makes the stream retry the whole batch.
    return {"batchItemFailures": []}
