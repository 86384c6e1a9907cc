"""REST: /api/ai — the AI assistant: chat, the caller's history and memory, confirming or cancelling a proposal.

The openai client is imported only when a caller with a stored openai key chats (botfleet.adapters.llm), so the
cold start of every other request stays that of a plain resolver.
"""

from __future__ import annotations

from typing import Annotated

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.event_handler.openapi.params import Body
from aws_lambda_powertools.logging import correlation_paths
from pydantic import BaseModel, ConfigDict, Field

from botfleet import runtime
from botfleet.domain.assistant import MAX_MESSAGE_CHARS
from botfleet.http import Caller, json_response, make_resolver, request_id, source_ip
from botfleet.http.fields import Cursor, Identifier, Limit

runtime.configure("assistant")  # a missing or wrong setting fails the cold start, naming it
logger, metrics = Logger(), Metrics()
app = make_resolver()


class ChatBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    message: str = Field(min_length=1, max_length=MAX_MESSAGE_CHARS,
                         description="a question or a plain command, e.g. \"status\" or \"pause grid-1\"")


class ExecuteBody(BaseModel):
    model_config = ConfigDict(extra="forbid", hide_input_in_errors=True)
    action_id: Identifier
    confirmation_token: str = Field(min_length=1, max_length=128, repr=False)
    password: str | None = Field(default=None, max_length=256, repr=False,
                                 description="show_admin only: the admin's password, re-entered")


class CancelBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    action_id: Identifier


@app.post("/api/ai/chat")
def chat(caller: Caller, body: Annotated[ChatBody, Body()]):
    """`{reply, actions, note, source}`: a state-changing action comes back as a proposal with a preview and a
    single-use `confirmation_token` (valid 2 minutes); nothing has happened until it is executed."""
    reply = runtime.assistant().chat(caller, body.message, request_id(app.current_event))
    metrics.add_metric(name="AssistantMessages", unit="Count", value=1)
    if reply["actions"]:
        metrics.add_metric(name="AssistantProposals", unit="Count", value=len(reply["actions"]))
    return reply


@app.get("/api/ai/chat/history")
def history(caller: Caller, limit: Limit = 50, cursor: Cursor = None):
    """The caller's own conversation, newest last (`next_cursor` pages back), and what it remembers of them."""
    return runtime.assistant().history(caller, limit, cursor)


@app.delete("/api/ai/chat/history", responses={204: {"description": "conversation and memory erased"}})
def forget(caller: Caller):
    runtime.assistant().forget(caller, request_id(app.current_event))
    return json_response(204)


@app.post("/api/ai/action/execute")
def execute(caller: Caller, body: Annotated[ExecuteBody, Body()]):
    """Runs a proposal after checking its token: 404 unknown (or another user's), 403 wrong token or password,
    409 used or cancelled, 410 expired; a refusal changes nothing."""
    result = runtime.assistant().execute(caller, body.action_id, body.confirmation_token, body.password,
                                         request_id(app.current_event), source_ip(app.current_event))
    metrics.add_metric(name="AssistantActionsExecuted", unit="Count", value=1)
    return result


@app.post("/api/ai/action/cancel")
def cancel(caller: Caller, body: Annotated[CancelBody, Body()]):
    return runtime.assistant().cancel(caller, body.action_id, request_id(app.current_event))


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_REST, log_event=False, clear_state=True)
@metrics.log_metrics
def handler(event, context):
    return app.resolve(event, context)
