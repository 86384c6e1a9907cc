"""REST: /api/quarantine — the caller's quarantined bots with their countdowns, the history of every pause,
retrain, redeploy and regeneration, and the ladder's configuration (changing it is admin-only)."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from pydantic import BaseModel, ConfigDict, Field

from botfleet import runtime
from botfleet.http import Admin, Caller, make_resolver, page_view
from botfleet.http.fields import Cursor, IdInQuery, Limit, whole

runtime.configure("quarantine")  # a missing or wrong setting fails the cold start, naming it
logger = Logger()
app = make_resolver()


class ConfigBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    durations_seconds: Annotated[list[whole(1, 30 * 86400)], Field(min_length=1, max_length=20)]
    max_pauses: whole(1, 100)


@app.get("/api/quarantine/status")
def status(caller: Caller):
    return page_view(runtime.quarantine().status(caller), None)  # whole: the caller's quarantined bots


@app.get("/api/quarantine/history")
def history(caller: Caller, bot_id: IdInQuery = None,
            limit: Limit = 50, cursor: Cursor = None):
    items, next_cursor = runtime.quarantine().history(caller, bot_id, limit, cursor)
    return page_view(items, next_cursor)


@app.get("/api/quarantine/config")
def get_config(caller: Caller):
    return runtime.quarantine().config().to_json()


@app.put("/api/quarantine/config")
def put_config(admin: Admin, body: Annotated[ConfigBody, Body()]):
    request_id = app.current_event.request_context.request_id
    return runtime.quarantine().set_config(admin, body.model_dump(), request_id)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False, clear_state=True)
def handler(event, context):
    return app.resolve(event, context)
