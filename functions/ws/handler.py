"""WebSocket API: $connect (JWT from ?token=), $disconnect, $default (ping, subscribe)."""

from __future__ import annotations

from aws_lambda_powertools import Logger

from botfleet import runtime
from botfleet.errors import BotfleetError

runtime.configure("ws")  # a missing or wrong setting fails the cold start, naming it
logger = Logger()


@logger.inject_lambda_context(log_event=False, clear_state=True)
def handler(event, context):
    request = event.get("requestContext", {})
    route, connection_id = request.get("routeKey"), request.get("connectionId")
    service = runtime.sessions()
    if route == "$connect":
        token = (event.get("queryStringParameters") or {}).get("token")
        try:
            principal = service.connect(connection_id, token)
        except BotfleetError as exc:
            # A non-2xx reply makes API Gateway refuse the handshake with that status.
            logger.info("connection refused", extra={"code": exc.code})
            return {"statusCode": exc.status, "body": exc.code}
        logger.info("connected", extra={"user_id": principal.user_id})
        return {"statusCode": 200}
    if route == "$disconnect":
        service.disconnect(connection_id)
        return {"statusCode": 200}
    service.message(connection_id, event.get("body"))
    return {"statusCode": 200}
