"""The training state machine's worker: `prepare` (history + search space → chunks), `evaluate` (one chunk,
in a Map iteration), `reduce` (the best model), `fail` (the Catch). Invoked by Step Functions only."""

from __future__ import annotations

from aws_lambda_powertools import Logger

from botfleet import runtime

runtime.configure("trainer")  # a missing or wrong setting fails the cold start, naming it
logger = Logger()


@logger.inject_lambda_context(log_event=False, clear_state=True)
def handler(event, context):
    service = runtime.training()
    action = event.get("action")
    if action == "prepare":
        return service.prepare(event["run_id"], event["owner_id"], event["bot_id"])
    if action == "evaluate":
        return service.evaluate(event["item"])
    if action == "reduce":
        return service.reduce(event["run_id"], event["owner_id"], event["bot_id"], event["results"])
    if action == "fail":
        error = event.get("error") or {}
        cause = error.get("Cause") or error.get("Error") or "the run failed"
        logger.warning("training run failed", extra={"run_id": event["run_id"], "cause": cause[:300]})
        return service.fail(event["run_id"], event["owner_id"], event["bot_id"], str(cause))
    raise ValueError(f"unknown trainer action {action!r}")
