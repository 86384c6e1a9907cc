"""REST: /api/admin — users and bots under the admin role (enforced by the RBAC policy); every action audited."""

from __future__ import annotations

from typing import Annotated, Literal

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler.openapi.params import Body, Query
from aws_lambda_powertools.logging import correlation_paths
from pydantic import BaseModel, ConfigDict, Field

from botfleet import runtime
from botfleet.clock import iso, parse_iso
from botfleet.errors import Unprocessable
from botfleet.http import Admin, json_response, make_resolver, page_view
from botfleet.http.fields import Cursor, IdInPath, IdInQuery, Limit
from botfleet.views import plain_json

runtime.configure("admin")  # a missing or wrong setting fails the cold start, naming it
logger, metrics = Logger(), Metrics()
app = make_resolver()


class ResetPasswordBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    new_password: str | None = Field(default=None, repr=False, max_length=256,
                                     description="omit to get a generated temporary password")


class ModeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    mode: Literal["paper", "live"]


class ExchangeBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    exchange: str


def _request_id() -> str | None:
    return app.current_event.request_context.request_id


@app.get("/api/admin/users")
def list_users(admin: Admin, limit: Limit = 50, cursor: Cursor = None):
    items, next_cursor = runtime.admin().list_users(admin, limit, cursor, _request_id())
    return page_view(items, next_cursor)


@app.post("/api/admin/users/<user_id>/reset-password")
def reset_password(admin: Admin, user_id: IdInPath, body: Annotated[ResetPasswordBody | None, Body()] = None):
    new_password = body.new_password if body else None
    return runtime.admin().reset_password(admin, user_id, new_password, _request_id())


@app.post("/api/admin/users/<user_id>/block")
def block(admin: Admin, user_id: IdInPath):
    return runtime.admin().set_blocked(admin, user_id, True, _request_id())


@app.post("/api/admin/users/<user_id>/unblock")
def unblock(admin: Admin, user_id: IdInPath):
    return runtime.admin().set_blocked(admin, user_id, False, _request_id())


@app.post("/api/admin/users/<user_id>/logout")
def force_logout(admin: Admin, user_id: IdInPath):
    return runtime.admin().force_logout(admin, user_id, _request_id())


@app.delete("/api/admin/users/<user_id>", responses={204: {"description": "user and their data removed"}})
def delete_user(admin: Admin, user_id: IdInPath):
    runtime.admin().delete_user(admin, user_id, _request_id())
    return json_response(204)


@app.get("/api/admin/bots")
def list_bots(admin: Admin, limit: Limit = 50, cursor: Cursor = None):
    items, next_cursor = runtime.admin().list_bots(admin, limit, cursor, _request_id())
    return page_view(items, next_cursor)


@app.post("/api/admin/bots/<bot_id>/mode")
def bot_mode(admin: Admin, bot_id: IdInPath, body: Annotated[ModeBody, Body()]):
    return runtime.admin().bot_action(admin, bot_id, "mode", body.model_dump(), _request_id())


@app.post("/api/admin/bots/<bot_id>/exchange")
def bot_exchange(admin: Admin, bot_id: IdInPath, body: Annotated[ExchangeBody, Body()]):
    return runtime.admin().bot_action(admin, bot_id, "exchange", body.model_dump(), _request_id())


def _bot_action(action: str):
    def act(admin: Admin, bot_id: IdInPath):
        return runtime.admin().bot_action(admin, bot_id, action, {}, _request_id())

    act.__name__ = f"bot_{action}"
    app.post(f"/api/admin/bots/<bot_id>/{action}", summary=f"{action} any bot (admin override)")(act)


for _action in ("pause", "resume", "restart"):
    _bot_action(_action)


@app.get("/api/admin/audit")
def audit(admin: Admin, limit: Limit = 50, cursor: Cursor = None, actor: IdInQuery = None,
          action: Annotated[str | None, Query(max_length=64)] = None,
          since: Annotated[str | None, Query(max_length=40, description="ISO-8601 UTC")] = None):
    if since:
        try:
            since = iso(parse_iso(since))
        except ValueError:
            raise Unprocessable("since", "must be an ISO-8601 timestamp") from None
    items, next_cursor = runtime.admin().audit_entries(admin, limit, cursor,
                                                       {"actor": actor, "action": action, "since": since},
                                                       _request_id())
    fields = ("id", "actor", "actor_email", "action", "target", "before", "after", "request_id", "ts")
    return page_view([plain_json({key: item.get(key) for key in fields}) for item in items], next_cursor)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False, clear_state=True)
@metrics.log_metrics
def handler(event, context):
    return app.resolve(event, context)
