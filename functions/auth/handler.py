"""REST: /api/auth — register, login, logout, me, and deleting one's own account."""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from pydantic import BaseModel, ConfigDict, Field

from botfleet import runtime
from botfleet.http import Caller, json_response, make_resolver, request_id, source_ip
from botfleet.http.fields import text
from botfleet.views import user_view

runtime.configure("auth")  # a missing or wrong setting fails the cold start, naming it
logger, metrics = Logger(), Metrics()
app = make_resolver()


class RegisterBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=1024)
    email: str
    password: str = Field(repr=False)
    name: text(100)


class LoginBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=1024)
    email: str
    password: str = Field(repr=False)


class ChangePasswordBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=1024)
    current_password: str = Field(repr=False)
    new_password: str = Field(repr=False)


class DeleteAccountBody(BaseModel):
    model_config = ConfigDict(extra="forbid", str_max_length=1024)
    password: str = Field(repr=False, description="the caller's current password")


def _session(user: dict, token: str) -> dict:
    service = runtime.auth()
    return {
        "access_token": token,
        "token_type": "bearer",
        "expires_in": int(service.tokens.lifetime.total_seconds()),
        "user": user_view(user),
    }


@app.post("/api/auth/register", responses={201: {"description": "account created"}})
def register(body: Annotated[RegisterBody, Body()]):
    user, token = runtime.auth().register(body.email, body.password, body.name, source_ip=source_ip(app.current_event))
    metrics.add_metric(name="Registrations", unit="Count", value=1)
    return json_response(201, _session(user, token))


@app.post("/api/auth/login")
def login(body: Annotated[LoginBody, Body()]):
    user, token = runtime.auth().login(body.email, body.password, source_ip=source_ip(app.current_event))
    return json_response(200, _session(user, token))


@app.post("/api/auth/logout", responses={204: {"description": "every token of the caller is revoked"}})
def logout(caller: Caller):
    runtime.auth().logout(caller)
    return json_response(204)


@app.post("/api/auth/password")
def change_password(caller: Caller, body: Annotated[ChangePasswordBody, Body()]):
    """The current password (403 `wrong_password`, throttled like logins) and a new one (422 when weak or the same).
    Every token so far is revoked and every open WebSocket closed; the answer is a fresh session, as login's."""
    event = app.current_event
    user, token = runtime.accounts().change_password(caller, body.current_password, body.new_password,
                                                     source_ip=source_ip(event), request_id=request_id(event))
    return json_response(200, _session(user, token))


@app.get("/api/auth/me")
def me(caller: Caller):
    return user_view(runtime.auth().me(caller))


@app.delete("/api/auth/me", responses={204: {"description": "the account and everything in it are deleted"}})
def delete_me(caller: Caller, body: Annotated[DeleteAccountBody, Body()]):
    """Needs the current password (403 `wrong_password`); the last admin cannot delete themselves (409)."""
    event = app.current_event
    runtime.accounts().delete_own(caller, body.password, source_ip=source_ip(event), request_id=request_id(event))
    metrics.add_metric(name="AccountsDeleted", unit="Count", value=1)
    return json_response(204)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False, clear_state=True)
@metrics.log_metrics
def handler(event, context):
    return app.resolve(event, context)
