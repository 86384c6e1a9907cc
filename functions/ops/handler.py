"""REST: /api/health (the boot self-test), /api/config, and the JSON 404 for every unknown /api route."""

from __future__ import annotations

import os

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths

import botfleet
from botfleet import runtime
from botfleet.domain.exchanges import EXCHANGES
from botfleet.domain.providers import PROVIDERS
from botfleet.http import Caller, json_response, make_resolver

runtime.configure("ops")  # a missing or wrong setting fails the cold start, naming it
logger = Logger()
app = make_resolver()



def _check_table() -> str:
    description = runtime.table().describe()
    status = description.get("TableStatus")
    return "ok" if status == "ACTIVE" else f"table status is {status}"


def _check_signing_key() -> str:
    from botfleet.adapters.security import jwt_secret_from_env

    return "ok" if len(jwt_secret_from_env()) >= 32 else "the JWT signing key is too short"


@app.get("/api/health")
def health():
    checks: dict[str, str] = {}
    for name, check in (("table", _check_table), ("jwt_secret", _check_signing_key)):
        try:
            checks[name] = check()
        except Exception as exc:  # a health check reports failures, it doesn't raise them
            logger.warning("health check failed", extra={"check": name, "error": type(exc).__name__})
            checks[name] = f"{type(exc).__name__}: unreachable"
    healthy = all(value == "ok" for value in checks.values())
    return json_response(200 if healthy else 503, {"status": "ok" if healthy else "degraded", "checks": checks})


@app.get("/api/config")
def config():
    return {
        "ws_url": runtime.settings().ws_url,
        "exchanges": list(EXCHANGES),
        "markets": {
            exchange.id: {
                "name": exchange.name,
                "maker_fee": str(exchange.maker_fee),
                "taker_fee": str(exchange.taker_fee),
                "symbols": sorted(exchange.markets),
            }
            for exchange in EXCHANGES.values()
        },
        "providers": list(PROVIDERS),
        "version": botfleet.__version__,
        "region": os.environ.get("AWS_REGION", ""),
    }


@app.get("/api/metrics")
def metrics(caller: Caller):
    """Prometheus text exposition; JSON with `Accept: application/json`. Users see their own series, admins
    the fleet's."""
    from botfleet.services.metrics import json_view, prometheus_text

    snapshot = runtime.metrics().snapshot(caller)
    if "application/json" in (app.current_event.headers.get("Accept") or app.current_event.headers.get("accept")
                              or ""):
        return json_view(snapshot)
    from aws_lambda_powertools.event_handler import Response

    return Response(status_code=200, content_type="text/plain; version=0.0.4; charset=utf-8",
                    body=prometheus_text(snapshot).decode())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False, clear_state=True)
def handler(event, context):
    return app.resolve(event, context)
