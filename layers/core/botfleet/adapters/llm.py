"""The assistant's model: OpenAI's Responses API, called with the caller's own key and the tools the server offers.

The model only *proposes*. Each function call it makes is handed to `call_tool` (the service's code, which decides
scope and turns actions into proposals the user must confirm), and the result goes back to the model as data, in a
`function_call_output` item of the next request. Nothing a tool returns (bot names, facts the user asked us to
remember, trade data) is ever appended to `instructions`: there it would read as the operator's orders.

Failures become `ModelError(kind, message)` with our own fixed phrases. OpenAI's error text can quote the key, so it
is never passed on, logged or chained to the error we raise; the log line holds the kind and the exception's class.

The openai package is imported only inside `run` (about 0.3 s): a cold start for a caller without a key, or for any
other function sharing this layer, does not pay for it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from aws_lambda_powertools import Logger

from botfleet.adapters.providers import make_openai_client
from botfleet.domain.assistant import ModelError, ModelTurn, Tool, ToolCall

logger = Logger(child=True)

#: The final text when the model was still calling tools at its last allowed round and said nothing.
ROUNDS_EXHAUSTED = "I could not finish looking that up; please ask again, perhaps more specifically."
BAD_ARGUMENTS = {"error": "arguments were not valid JSON"}
UNKNOWN_TOOL = {"error": "unknown tool"}


class OpenAIAssistantModel:
    """`run(...) -> ModelTurn`: at most `max_rounds` requests to the model, each within `timeout_s`.

    The function calls of the last allowed response are not run: their results could never reach the model, and
    an action would leave a proposal behind that the model never mentions."""

    def __init__(self, *, base_url: str | None = None, model: str = "gpt-4o-mini", timeout_s: float = 10.0,
                 max_rounds: int = 4, client_factory: Callable[..., Any] | None = None):
        if max_rounds < 1:
            raise ValueError("max_rounds must be at least 1")
        self.base_url = base_url
        self.model = model
        self.timeout_s = timeout_s
        self.max_rounds = max_rounds
        # Injectable so the loop and the error mapping can be driven without a network.
        self._client_factory = client_factory or make_openai_client

    def run(self, api_key: str, instructions: str, conversation: list[dict], tools: Sequence[Tool],
            call_tool: Callable[[ToolCall], dict]) -> ModelTurn:
        """Answer the last message of `conversation` (`{"role": "user" | "assistant", "text": ...}`, oldest first).
        Raises ModelError when OpenAI does not answer usefully; `call_tool`'s own exceptions propagate."""
        if not api_key:  # an empty key is no key; refuse it here rather than let the client look for another
            raise ModelError("auth", "no openai key is stored")
        inputs: list[dict[str, Any]] = [_message(entry) for entry in conversation]
        request = {"model": self.model, "instructions": instructions, "tools": [tool.to_openai() for tool in tools],
                   "store": False}  # the caller's data stays out of OpenAI's stored responses
        offered = {tool.name for tool in tools}
        made: list[ToolCall] = []
        client = self._guarded(lambda: self._client_factory(api_key=api_key, base_url=self.base_url,
                                                            timeout_s=self.timeout_s))
        try:
            rounds = 0
            while True:
                rounds += 1
                text, calls = self._guarded(lambda: _read_reply(client.responses.create(**request, input=inputs)))
                if not calls:
                    return ModelTurn(text, made)
                if rounds == self.max_rounds:
                    return ModelTurn(text or ROUNDS_EXHAUSTED, made)
                for call_id, name, raw_arguments in calls:
                    result = _answer(call_id, name, raw_arguments, offered, call_tool, made)
                    # The call as the model made it, then its result, as data. No item id: with store=False
                    # OpenAI keeps no items, and it refuses an id it cannot find.
                    inputs.append({"type": "function_call", "call_id": call_id, "name": name,
                                   "arguments": raw_arguments})
                    inputs.append({"type": "function_call_output", "call_id": call_id,
                                   "output": json.dumps(result, default=str)})
        finally:
            client.close()

    def _guarded(self, step: Callable[[], Any]) -> Any:
        """Runs one step that talks to OpenAI; any failure becomes a ModelError with our own message. It is raised
        outside the `except` block so it carries no context: a traceback logged upstream cannot show the
        provider's text."""
        try:
            return step()
        except Exception as exc:
            failure = self._failure(exc)
        raise failure

    def _failure(self, exc: Exception) -> ModelError:
        import openai

        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            kind, message = "auth", "openai refused the stored key"
        elif isinstance(exc, openai.RateLimitError):
            kind, message = "rate_limit", "openai is rate limiting this key (or it is out of quota)"
        elif isinstance(exc, openai.APITimeoutError):  # before APIConnectionError, its base class
            kind, message = "timeout", f"openai did not answer within {self.timeout_s:g} s"
        elif isinstance(exc, openai.APIConnectionError):
            kind, message = "unavailable", "could not connect to openai"
        elif isinstance(exc, openai.APIStatusError) and exc.status_code >= 500:
            kind, message = "unavailable", "openai is having trouble (server error)"
        elif isinstance(exc, openai.APIStatusError):
            kind, message = "bad_reply", f"openai refused the request (HTTP {exc.status_code})"
        else:
            kind, message = "bad_reply", "openai answered in a way we did not understand"
        logger.warning("assistant model call failed", extra={"kind": kind, "error": type(exc).__name__})
        return ModelError(kind, message)


def _message(entry: dict) -> dict[str, Any]:
    """A conversation entry as an input message. Only user and assistant: a stored message must never become a
    system or developer message, which outranks the user."""
    role, text = entry["role"], entry["text"]
    if role not in ("user", "assistant") or not isinstance(text, str):
        raise ValueError(f"a conversation entry needs role user or assistant and a text, not role {role!r}")
    return {"type": "message", "role": role, "content": text}


def _read_reply(response: Any) -> tuple[str, list[tuple[str, str, str]]]:
    """The reply's text and its function calls as (call_id, name, arguments JSON). The client does not validate
    what it parses, so the types are checked here: a malformed reply is a bad reply, not a crash later on."""
    calls = []
    for item in response.output:
        if getattr(item, "type", None) != "function_call":  # other items (messages, reasoning) carry no call
            continue
        call = (item.call_id, item.name, item.arguments)
        if not all(isinstance(part, str) for part in call):
            raise TypeError("a function call without call_id, name or arguments")
        calls.append(call)
    text = response.output_text
    if not isinstance(text, str):
        raise TypeError("output text is not a string")
    return text, calls


def _answer(call_id: str, name: str, raw_arguments: str, offered: set[str],
            call_tool: Callable[[ToolCall], dict], made: list[ToolCall]) -> Any:
    """One function call's result. Only a call to an offered tool, with a JSON object for arguments, reaches
    `call_tool` (and is recorded in `made`); anything else is answered with an error the model can read."""
    arguments = _arguments(raw_arguments)
    if arguments is None:
        return BAD_ARGUMENTS
    if name not in offered:
        return UNKNOWN_TOOL
    call = ToolCall(call_id, name, arguments)
    made.append(call)
    return call_tool(call)


def _arguments(raw: str) -> dict[str, Any] | None:
    """The call's arguments, or None unless they are a JSON object (strict tools should guarantee one; the
    reply is still the model's output, not ours)."""
    try:
        arguments = json.loads(raw)
    except ValueError:
        return None
    return arguments if isinstance(arguments, dict) else None
