"""The quarantine state machine's worker: begin, retrain, extend, redeploy, regenerate, safe (the Catch)."""

from __future__ import annotations

from aws_lambda_powertools import Logger

from botfleet import runtime

runtime.configure("quarantiner")  # a missing or wrong setting fails the cold start, naming it
logger = Logger()


@logger.inject_lambda_context(log_event=False, clear_state=True)
def handler(event, context):
    service = runtime.quarantine()
    owner_id, bot_id, number = event["owner_id"], event["bot_id"], int(event["pause_number"])
    action = event.get("action")
    logger.info("quarantine step", extra={"action": action, "bot_id": bot_id, "pause_number": number})
    if action == "begin":
        # The execution's input, whole: an execution started before it carried tick_id has none (a path to a
        # missing field would fail the step with States.Runtime, which no Catch sees).
        return service.begin(owner_id, bot_id, number, (event.get("started") or {}).get("tick_id"))
    if action == "retrain":
        return service.retrain(owner_id, bot_id, number)
    if action == "extend":
        return service.extend(owner_id, bot_id, number, int(event.get("extension", 0)))
    if action == "redeploy":
        return service.redeploy(owner_id, bot_id, number, event["params"])
    if action == "regenerate":
        return service.regenerate(owner_id, bot_id, number)
    if action == "safe":
        return service.safe_state(owner_id, bot_id, number, event.get("error"))
    raise ValueError(f"unknown quarantine action {action!r}")
